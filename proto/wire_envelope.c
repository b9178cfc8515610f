/*
 * wire_envelope: the signed profile envelope: encoder and strict decoder, no cryptography.
 *
 * Owns the mapping between the envelope and schema/json/envelope.schema.json. Base64 must be
 * canonical (the bits after the last full byte are zero), so one payload has exactly one
 * envelope text per signature; proto/base64.c alone would accept "QR==" as well as "QQ==".
 */
#include "wire_envelope.h"

#include <string.h>

#include <mbedtls/base64.h>

#include "alloc.h"
#include "base64.h"
#include "wire.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
/* Base64 text of the largest payload and signature. */
#define ENVELOPE_MAX_PAYLOAD_B64 (4u * ((PROTO_MAX_PROFILE_BYTES + 2u) / 3u))
#define ENVELOPE_MAX_SIG_B64 (4u * ((PROTO_MAX_SIG_BYTES + 2u) / 3u))
/* Everything else: {"payload":"","alg":"ES256","key_id":"0123456789abcdef","sig":""}. */
#define ENVELOPE_OVERHEAD 128u

_Static_assert(ENVELOPE_MAX_PAYLOAD_B64 + ENVELOPE_MAX_SIG_B64 + ENVELOPE_OVERHEAD <=
                   PROTO_MAX_ENVELOPE_BYTES,
               "an envelope of the largest profile and signature must fit its cap");

static const char *const envelope_members[] = {"payload", "alg", "key_id", "sig"};

static bool envelope_key_id_ok(const char *s)
{
    for (; *s != '\0'; s++) {
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'))) {
            return false;
        }
    }
    return true;
}

static const struct proto_wire_text key_id_text = {PROTO_KEY_ID_HEX_LEN, PROTO_KEY_ID_HEX_LEN,
                                                   envelope_key_id_ok,
                                                   "expected 16 lower-case hexadecimal digits"};
static const struct proto_wire_text payload_text = {4, ENVELOPE_MAX_PAYLOAD_B64, NULL, ""};
static const struct proto_wire_text sig_text = {4, ENVELOPE_MAX_SIG_B64, NULL, ""};

void proto_wire_envelope_clear(struct proto_envelope *env)
{
    if (env == NULL) {
        return;
    }
    proto_free(env->payload);
    memset(env, 0, sizeof(*env));
}

/* ---- encoder ------------------------------------------------------------------------------- */

static cJSON *enc_base64(const unsigned char *data, size_t len)
{
    size_t need = 0;
    size_t written = 0;
    cJSON *item = NULL;
    /* Asking with no buffer returns the size needed, terminating NUL included. */
    (void)mbedtls_base64_encode(NULL, 0, &need, data, len);
    unsigned char *text = proto_malloc(need);
    if (text == NULL) {
        return NULL;
    }
    if (mbedtls_base64_encode(text, need, &written, data, len) == 0) {
        item = cJSON_CreateString((const char *)text);
    }
    proto_free(text);
    return item;
}

enum proto_rc proto_wire_encode_envelope(const unsigned char *payload, size_t payload_len,
                                         const char *key_id, const unsigned char *sig,
                                         size_t sig_len, char **out, size_t *out_len)
{
    cJSON *root = NULL;
    enum proto_rc result = PROTO_ENOMEM;

    if (out == NULL) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    if (out_len != NULL) {
        *out_len = 0;
    }
    if (payload == NULL || payload_len == 0 || payload_len > PROTO_MAX_PROFILE_BYTES ||
        key_id == NULL || !proto_wire_text_ok(&key_id_text, key_id) || sig == NULL ||
        sig_len == 0 || sig_len > PROTO_MAX_SIG_BYTES) {
        return PROTO_EINVAL;
    }
    root = cJSON_CreateObject();
    if (root == NULL || !proto_wire_enc_add(root, "payload", enc_base64(payload, payload_len)) ||
        !proto_wire_enc_str(root, "alg", PROTO_ENVELOPE_ALG) ||
        !proto_wire_enc_str(root, "key_id", key_id) ||
        !proto_wire_enc_add(root, "sig", enc_base64(sig, sig_len))) {
        goto out;
    }
    result = proto_wire_enc_print(root, PROTO_MAX_ENVELOPE_BYTES, out, out_len);
out:
    cJSON_Delete(root);
    return result;
}

/* ---- decoder ------------------------------------------------------------------------------- */

static int envelope_b64_value(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Padded text whose spare bits before the padding are zero (valid base64 of 4+ characters). */
static bool envelope_b64_canonical(const char *s, size_t len)
{
    if (s[len - 1] != '=') {
        return true;
    }
    if (s[len - 2] == '=') {
        return (envelope_b64_value(s[len - 3]) & 0x0F) == 0;
    }
    return (envelope_b64_value(s[len - 2]) & 0x03) == 0;
}

/*
 * Member `key`: canonical base64 of 1..max_bytes bytes, decoded into `fixed` (which holds
 * max_bytes) or, when heap is not NULL, into a new buffer with a NUL after the data.
 */
static enum proto_rc dec_base64(struct proto_wire_dec *d, const cJSON *obj, const char *key,
                                const struct proto_wire_text *kind, size_t max_bytes,
                                unsigned char **heap, unsigned char *fixed, size_t *out_len)
{
    const char *s = NULL;
    size_t need = 0;
    enum proto_rc result = proto_wire_dec_text(d, obj, key, PROTO_WIRE_REQUIRED, kind, &s);
    if (result) {
        return result;
    }
    size_t len = strlen(s);
    if (proto_base64_decoded_size(s, len, &need) != PROTO_OK ||
        proto_base64_validate(s, len) != PROTO_OK || !envelope_b64_canonical(s, len)) {
        return proto_wire_dec_fail_at(d, key, PROTO_EPARSE,
                                      "expected canonical padded base64 (RFC 4648)");
    }
    if (need == 0 || need > max_bytes) {
        return proto_wire_dec_fail_at(d, key, PROTO_ELIMIT, "expected 1 to %zu bytes", max_bytes);
    }
    unsigned char *dst = fixed;
    if (heap != NULL) {
        dst = proto_malloc(need + 1);
        if (dst == NULL) {
            return proto_wire_dec_nomem(d);
        }
        dst[need] = '\0';
    }
    if (proto_base64_decode(s, len, dst, need, out_len) != PROTO_OK) {
        /* Not reached: the text was validated above. */
        if (heap != NULL) {
            proto_free(dst);
        }
        return proto_wire_dec_fail_at(d, key, PROTO_EPARSE, "expected padded base64 (RFC 4648)");
    }
    if (heap != NULL) {
        *heap = dst;
    }
    return PROTO_OK;
}

static enum proto_rc dec_envelope(struct proto_wire_dec *d, const cJSON *root,
                                  struct proto_envelope *env)
{
    enum proto_rc result;
    /* The algorithm first: a later one gets "unsupported", not a confusing member error. */
    if ((result = proto_wire_dec_const(d, root, "alg", PROTO_ENVELOPE_ALG)) ||
        (result =
             proto_wire_dec_members(d, root, envelope_members, COUNT(envelope_members), true)) ||
        (result = proto_wire_dec_text_into(d, root, "key_id", PROTO_WIRE_REQUIRED, &key_id_text,
                                           env->key_id, sizeof(env->key_id))) ||
        (result = dec_base64(d, root, "sig", &sig_text, PROTO_MAX_SIG_BYTES, NULL, env->sig,
                             &env->sig_len))) {
        return result;
    }
    return dec_base64(d, root, "payload", &payload_text, PROTO_MAX_PROFILE_BYTES, &env->payload,
                      NULL, &env->payload_len);
}

enum proto_rc proto_wire_decode_envelope(const char *text, size_t len, struct proto_envelope *out,
                                         struct proto_json_error *err)
{
    struct proto_wire_dec dec;
    cJSON *root = NULL;
    proto_wire_dec_init(&dec, err);
    if (out == NULL) {
        return proto_wire_dec_fail(&dec, PROTO_EINVAL, "no output");
    }
    memset(out, 0, sizeof(*out));
    enum proto_rc result = proto_wire_dec_parse(&dec, text, len, PROTO_MAX_ENVELOPE_BYTES, &root);
    if (!result) {
        result = dec_envelope(&dec, root, out);
    }
    if (result) {
        proto_wire_envelope_clear(out);
    }
    cJSON_Delete(root);
    return result;
}
