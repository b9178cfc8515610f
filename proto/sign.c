/*
 * sign: ES256 keys, signatures and the signed envelope through mbedTLS's pk API (see sign.h).
 *
 * Owns the mbedTLS contexts of the keys it loads (each behind a pointer, so a const key can still
 * be handed to mbedTLS's non-const 2.28 signatures) and the copies of key files it reads, which it
 * wipes. Every random number comes from a CTR-DRBG seeded from mbedTLS's entropy sources for that
 * one call, so no generator state is shared between threads. It never implements a primitive,
 * never parses a payload whose signature has not verified, and never chooses the trusted keys.
 */
#include "sign.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>

#include "alloc.h"
#include "digest.h"
#include "hex.h"
#include "wire_envelope.h"

/* A P-256 SubjectPublicKeyInfo is 91 bytes of DER; room to spare for any key mbedTLS parses. */
#define SIGN_PUB_DER_MAX 1024u
/* A P-256 key as PEM: the SEC1 private key is about 230 bytes, the public one about 180. */
#define SIGN_PEM_OUT_MAX 1024u
#define SIGN_PEM_NAME "<pem>"

_Static_assert(PROTO_KEY_ID_LEN == PROTO_KEY_ID_HEX_LEN, "sign.h and wire_envelope.h agree");
_Static_assert(PROTO_KEY_ID_LEN % 2 == 0 && PROTO_KEY_ID_LEN / 2 <= PROTO_SHA256_DIGEST_LEN,
               "a key_id is a prefix of a SHA-256 digest");

struct proto_sign_key {
    mbedtls_pk_context *pk; /* owned (proto_malloc); mbedtls_pk_free wipes the private scalar */
    char key_id[PROTO_KEY_ID_LEN + 1];
};

struct proto_verify_key {
    mbedtls_pk_context *pk; /* owned (proto_malloc) */
    char key_id[PROTO_KEY_ID_LEN + 1];
};

static void sign_pk_destroy(mbedtls_pk_context *pk)
{
    if (pk == NULL) {
        return;
    }
    mbedtls_pk_free(pk); /* frees the key's numbers (wiping them) and wipes the context */
    proto_free(pk);
}

static void sign_wipe_free(void *p, size_t len)
{
    if (p != NULL) {
        mbedtls_platform_zeroize(p, len);
        proto_free(p);
    }
}

/* A CTR-DRBG for one operation; the caller frees both contexts whatever the result. */
static int sign_drbg_seed(mbedtls_entropy_context *entropy, mbedtls_ctr_drbg_context *drbg)
{
    static const unsigned char personalization[] = "rrasfleet proto/sign";
    mbedtls_entropy_init(entropy);
    mbedtls_ctr_drbg_init(drbg);
    return mbedtls_ctr_drbg_seed(drbg, mbedtls_entropy_func, entropy, personalization,
                                 sizeof(personalization) - 1);
}

static void sign_drbg_free(mbedtls_entropy_context *entropy, mbedtls_ctr_drbg_context *drbg)
{
    mbedtls_ctr_drbg_free(drbg);
    mbedtls_entropy_free(entropy);
}

/* ---- keys ---------------------------------------------------------------------------------- */

/* First PROTO_KEY_ID_LEN lower-case hex digits of SHA-256(DER SubjectPublicKeyInfo). */
static enum proto_rc sign_key_id_of(mbedtls_pk_context *pk, char out[PROTO_KEY_ID_LEN + 1])
{
    unsigned char der[SIGN_PUB_DER_MAX];
    unsigned char digest[PROTO_SHA256_DIGEST_LEN];

    /* mbedTLS writes the DER at the END of the buffer and returns its length. */
    int n = mbedtls_pk_write_pubkey_der(pk, der, sizeof(der));
    if (n <= 0 || proto_sha256(der + sizeof(der) - (size_t)n, (size_t)n, digest) != PROTO_OK) {
        return PROTO_ECRYPTO;
    }
    proto_hex_encode(digest, PROTO_KEY_ID_LEN / 2, false, out);
    return PROTO_OK;
}

/* ECDSA on P-256 (secp256r1/prime256v1) and nothing else. */
static enum proto_rc sign_require_p256(const mbedtls_pk_context *pk, const char *name, char *err,
                                       size_t err_size)
{
    if (!mbedtls_pk_can_do(pk, MBEDTLS_PK_ECDSA)) {
        proto_errf(err, err_size, "%s: a key of type %s; only ECDSA P-256 keys are accepted", name,
                   mbedtls_pk_get_name(pk));
        return PROTO_EPARSE;
    }
    mbedtls_ecp_group_id curve = mbedtls_pk_ec(*pk)->grp.id;
    if (curve != MBEDTLS_ECP_DP_SECP256R1) {
        const mbedtls_ecp_curve_info *info = mbedtls_ecp_curve_info_from_grp_id(curve);
        proto_errf(err, err_size, "%s: an EC key on curve %s; only P-256 (prime256v1) is accepted",
                   name, info != NULL ? info->name : "(unknown)");
        return PROTO_EPARSE;
    }
    return PROTO_OK;
}

/*
 * Parses NUL-terminated PEM text (text[len] == '\0') into a new context in *out, checked to be a
 * P-256 ECDSA key (private: with a matching public half), and computes its key_id.
 */
static enum proto_rc sign_parse(const unsigned char *text, size_t len, bool private_key,
                                const char *name, mbedtls_pk_context **out,
                                char key_id[PROTO_KEY_ID_LEN + 1], char *err, size_t err_size)
{
    enum proto_rc result = PROTO_EPARSE;
    mbedtls_pk_context *pk = NULL;
    int ret;

    *out = NULL;
    if (strstr((const char *)text, "-----BEGIN ") == NULL) {
        proto_errf(err, err_size, "%s: not PEM text (no \"-----BEGIN\" line)", name);
        goto out;
    }
    pk = proto_malloc(sizeof(*pk));
    if (pk == NULL) {
        result = PROTO_ENOMEM;
        proto_errf(err, err_size, "%s: out of memory", name);
        goto out;
    }
    mbedtls_pk_init(pk);
    /* For PEM, mbedTLS wants the length including the terminating NUL. */
    ret = private_key ? mbedtls_pk_parse_key(pk, text, len + 1, NULL, 0)
                      : mbedtls_pk_parse_public_key(pk, text, len + 1);
    if (ret != 0) {
        char why[128];
        mbedtls_strerror(ret, why, sizeof(why));
        if (ret == MBEDTLS_ERR_PK_PASSWORD_REQUIRED) {
            proto_errf(err, err_size, "%s: an encrypted private key; give it unencrypted", name);
        } else {
            proto_errf(err, err_size, "%s: not a %s key in PEM (%s)", name,
                       private_key ? "private" : "public", why);
        }
        goto out;
    }
    if ((result = sign_require_p256(pk, name, err, err_size)) != PROTO_OK) {
        goto out;
    }
    /* A SEC1 key carries its public point; one that is not d*G would sign under a wrong key_id. */
    if (private_key && mbedtls_pk_check_pair(pk, pk) != 0) {
        result = PROTO_EPARSE;
        proto_errf(err, err_size, "%s: the public half does not match the private key", name);
        goto out;
    }
    if ((result = sign_key_id_of(pk, key_id)) != PROTO_OK) {
        proto_errf(err, err_size, "%s: cannot encode the public key", name);
        goto out;
    }
    *out = pk;
    pk = NULL;
out:
    sign_pk_destroy(pk);
    return result;
}

/*
 * The whole file, NUL-terminated, in a new buffer of *cap bytes (wipe it with sign_wipe_free).
 * Unbuffered, so that no copy of a private key stays behind in a stdio buffer.
 */
static enum proto_rc sign_read_file(const char *path, unsigned char **out, size_t *out_len,
                                    size_t *cap, char *err, size_t err_size)
{
    enum proto_rc result = PROTO_OK;
    size_t len = 0;
    /* One byte more than allowed tells "exactly the cap" from "too big", and one for the NUL. */
    size_t size = PROTO_MAX_KEY_PEM_BYTES + 2u;
    unsigned char *data = NULL;

    *out = NULL;
    *out_len = 0;
    *cap = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        int e = errno;
        proto_errf(err, err_size, "%s: %s", path, strerror(e));
        return e == ENOENT ? PROTO_ENOTFOUND : PROTO_EIO;
    }
    if (setvbuf(f, NULL, _IONBF, 0) != 0) {
        result = PROTO_EIO;
        proto_errf(err, err_size, "%s: cannot read unbuffered", path);
        goto out;
    }
    data = proto_malloc(size);
    if (data == NULL) {
        result = PROTO_ENOMEM;
        proto_errf(err, err_size, "%s: out of memory", path);
        goto out;
    }
    while (len < size - 1) {
        size_t n = fread(data + len, 1, size - 1 - len, f);
        if (n == 0) {
            break;
        }
        len += n;
    }
    if (ferror(f)) {
        result = PROTO_EIO;
        proto_errf(err, err_size, "%s: read error", path);
        goto out;
    }
    if (len > PROTO_MAX_KEY_PEM_BYTES) {
        result = PROTO_ELIMIT;
        proto_errf(err, err_size, "%s: larger than %u bytes, not a key file", path,
                   PROTO_MAX_KEY_PEM_BYTES);
        goto out;
    }
    data[len] = '\0';
    *out = data;
    *out_len = len;
    *cap = size;
    data = NULL;
out:
    sign_wipe_free(data, size);
    fclose(f);
    return result;
}

/* Loads a key file (private or public) into a context and its key_id. */
static enum proto_rc sign_load(const char *path, bool private_key, mbedtls_pk_context **out,
                               char key_id[PROTO_KEY_ID_LEN + 1], char *err, size_t err_size)
{
    unsigned char *text = NULL;
    size_t len = 0, cap = 0;
    enum proto_rc result = sign_read_file(path, &text, &len, &cap, err, err_size);
    if (result == PROTO_OK) {
        result = sign_parse(text, len, private_key, path, out, key_id, err, err_size);
    }
    sign_wipe_free(text, cap);
    return result;
}

enum proto_rc proto_sign_key_load(const char *path, struct proto_sign_key **out, char *err,
                                  size_t err_size)
{
    struct proto_sign_key *key = NULL;
    enum proto_rc result;

    if (out == NULL || path == NULL) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    proto_errf(err, err_size, "%s", "");
    key = proto_calloc(1, sizeof(*key));
    if (key == NULL) {
        proto_errf(err, err_size, "%s: out of memory", path);
        return PROTO_ENOMEM;
    }
    result = sign_load(path, true, &key->pk, key->key_id, err, err_size);
    if (result != PROTO_OK) {
        proto_sign_key_destroy(key);
        return result;
    }
    *out = key;
    return PROTO_OK;
}

void proto_sign_key_destroy(struct proto_sign_key *key)
{
    if (key == NULL) {
        return;
    }
    sign_pk_destroy(key->pk);
    mbedtls_platform_zeroize(key, sizeof(*key));
    proto_free(key);
}

enum proto_rc proto_verify_key_load(const char *path, struct proto_verify_key **out, char *err,
                                    size_t err_size)
{
    struct proto_verify_key *key = NULL;
    enum proto_rc result;

    if (out == NULL || path == NULL) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    proto_errf(err, err_size, "%s", "");
    key = proto_calloc(1, sizeof(*key));
    if (key == NULL) {
        proto_errf(err, err_size, "%s: out of memory", path);
        return PROTO_ENOMEM;
    }
    result = sign_load(path, false, &key->pk, key->key_id, err, err_size);
    if (result != PROTO_OK) {
        proto_verify_key_destroy(key);
        return result;
    }
    *out = key;
    return PROTO_OK;
}

enum proto_rc proto_verify_key_from_pem(const char *pem, size_t len, struct proto_verify_key **out,
                                        char *err, size_t err_size)
{
    struct proto_verify_key *key = NULL;
    unsigned char *text = NULL;
    enum proto_rc result = PROTO_ENOMEM;

    if (out == NULL || (pem == NULL && len > 0)) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    proto_errf(err, err_size, "%s", "");
    if (len > PROTO_MAX_KEY_PEM_BYTES) {
        proto_errf(err, err_size, "%s: larger than %u bytes, not a key", SIGN_PEM_NAME,
                   PROTO_MAX_KEY_PEM_BYTES);
        return PROTO_ELIMIT;
    }
    key = proto_calloc(1, sizeof(*key));
    text = proto_malloc(len + 1);
    if (key == NULL || text == NULL) {
        proto_errf(err, err_size, "%s: out of memory", SIGN_PEM_NAME);
        goto out;
    }
    if (len > 0) {
        memcpy(text, pem, len);
    }
    text[len] = '\0';
    result = sign_parse(text, len, false, SIGN_PEM_NAME, &key->pk, key->key_id, err, err_size);
    if (result == PROTO_OK) {
        *out = key;
        key = NULL;
    }
out:
    proto_free(text);
    proto_verify_key_destroy(key);
    return result;
}

void proto_verify_key_destroy(struct proto_verify_key *key)
{
    if (key == NULL) {
        return;
    }
    sign_pk_destroy(key->pk);
    proto_free(key);
}

void proto_sign_key_id(const struct proto_sign_key *key, char out[PROTO_KEY_ID_LEN + 1])
{
    memcpy(out, key->key_id, PROTO_KEY_ID_LEN + 1);
}

void proto_verify_key_id(const struct proto_verify_key *key, char out[PROTO_KEY_ID_LEN + 1])
{
    memcpy(out, key->key_id, PROTO_KEY_ID_LEN + 1);
}

enum proto_rc proto_sign_key_generate(char **private_pem, char **public_pem)
{
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_pk_context pk;
    unsigned char *private_text = NULL;
    unsigned char *public_text = NULL;
    enum proto_rc result = PROTO_ECRYPTO;

    if (private_pem == NULL || public_pem == NULL) {
        return PROTO_EINVAL;
    }
    *private_pem = NULL;
    *public_pem = NULL;
    mbedtls_pk_init(&pk);
    if (sign_drbg_seed(&entropy, &drbg) != 0 ||
        mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0 ||
        mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(pk), mbedtls_ctr_drbg_random,
                            &drbg) != 0) {
        goto out;
    }
    private_text = proto_malloc(SIGN_PEM_OUT_MAX);
    public_text = proto_malloc(SIGN_PEM_OUT_MAX);
    if (private_text == NULL || public_text == NULL) {
        result = PROTO_ENOMEM;
        goto out;
    }
    /* Both write NUL-terminated PEM from the start of the buffer. */
    if (mbedtls_pk_write_key_pem(&pk, private_text, SIGN_PEM_OUT_MAX) != 0 ||
        mbedtls_pk_write_pubkey_pem(&pk, public_text, SIGN_PEM_OUT_MAX) != 0) {
        goto out;
    }
    *private_pem = (char *)private_text;
    *public_pem = (char *)public_text;
    private_text = NULL;
    public_text = NULL;
    result = PROTO_OK;
out:
    sign_wipe_free(private_text, SIGN_PEM_OUT_MAX);
    proto_free(public_text);
    mbedtls_pk_free(&pk);
    sign_drbg_free(&entropy, &drbg);
    return result;
}

void proto_sign_pem_free(char *pem)
{
    if (pem != NULL) {
        sign_wipe_free(pem, strlen(pem));
    }
}

/* ---- signatures ---------------------------------------------------------------------------- */

enum proto_rc proto_sign(const struct proto_sign_key *key, const void *data, size_t len,
                         unsigned char *sig, size_t *sig_len)
{
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    unsigned char hash[PROTO_SHA256_DIGEST_LEN];
    /* mbedtls_pk_sign of 2.28 takes no output size: give it the most any key type can need. */
    unsigned char der[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
    size_t n = 0;
    enum proto_rc result = PROTO_ECRYPTO;

    if (key == NULL || (data == NULL && len > 0) || sig == NULL || sig_len == NULL) {
        return PROTO_EINVAL;
    }
    *sig_len = 0;
    if (proto_sha256(data, len, hash) != PROTO_OK) {
        return PROTO_ECRYPTO;
    }
    if (sign_drbg_seed(&entropy, &drbg) == 0 &&
        mbedtls_pk_sign(key->pk, MBEDTLS_MD_SHA256, hash, sizeof(hash), der, &n,
                        mbedtls_ctr_drbg_random, &drbg) == 0 &&
        n > 0 && n <= PROTO_MAX_SIG_BYTES) {
        memcpy(sig, der, n);
        *sig_len = n;
        result = PROTO_OK;
    }
    sign_drbg_free(&entropy, &drbg);
    return result;
}

enum proto_rc proto_verify(const struct proto_verify_key *key, const void *data, size_t len,
                           const unsigned char *sig, size_t sig_len)
{
    unsigned char hash[PROTO_SHA256_DIGEST_LEN];

    if (key == NULL || (data == NULL && len > 0) || (sig == NULL && sig_len > 0)) {
        return PROTO_EINVAL;
    }
    if (sig_len == 0 || sig_len > PROTO_MAX_SIG_BYTES ||
        proto_sha256(data, len, hash) != PROTO_OK) {
        return PROTO_ECRYPTO;
    }
    /* Non-zero for a wrong key or data, malformed DER, and DER with bytes after it alike. */
    if (mbedtls_pk_verify(key->pk, MBEDTLS_MD_SHA256, hash, sizeof(hash), sig, sig_len) != 0) {
        return PROTO_ECRYPTO;
    }
    return PROTO_OK;
}

/* ---- the envelope -------------------------------------------------------------------------- */

enum proto_rc proto_envelope_seal(const struct proto_sign_key *key,
                                  const struct proto_profile *profile, char **out, size_t *out_len)
{
    char *payload = NULL;
    size_t payload_len = 0;
    unsigned char sig[PROTO_MAX_SIG_BYTES];
    size_t sig_len = 0;
    enum proto_rc result;

    if (out == NULL) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    if (out_len != NULL) {
        *out_len = 0;
    }
    if (key == NULL || profile == NULL) {
        return PROTO_EINVAL;
    }
    if ((result = proto_wire_encode_profile(profile, &payload, &payload_len)) != PROTO_OK ||
        (result = proto_sign(key, payload, payload_len, sig, &sig_len)) != PROTO_OK) {
        goto out;
    }
    result = proto_wire_encode_envelope((const unsigned char *)payload, payload_len, key->key_id,
                                        sig, sig_len, out, out_len);
out:
    proto_free(payload);
    return result;
}

const char *proto_open_refusal_str(enum proto_open_refusal why)
{
    switch (why) {
    case PROTO_OPEN_OK:
        return "ok";
    case PROTO_OPEN_MALFORMED:
        return "malformed envelope";
    case PROTO_OPEN_UNKNOWN_KEY:
        return "unknown signing key";
    case PROTO_OPEN_BAD_SIGNATURE:
        return "bad signature";
    case PROTO_OPEN_BAD_PAYLOAD:
        return "invalid profile";
    case PROTO_OPEN_ERROR:
        return "could not open";
    }
    return "unknown refusal";
}

/* "where: field: message", or "where: message" for the document itself. */
static void sign_json_why(char *err, size_t err_size, const char *where,
                          const struct proto_json_error *jerr)
{
    if (jerr->field[0] != '\0') {
        proto_errf(err, err_size, "%s: %s: %s", where, jerr->field, jerr->message);
    } else {
        proto_errf(err, err_size, "%s: %s", where, jerr->message);
    }
}

enum proto_rc proto_envelope_open(const struct proto_verify_key *const *trusted, size_t n,
                                  const char *text, size_t len, struct proto_profile **out,
                                  enum proto_open_refusal *why, char *err, size_t err_size)
{
    struct proto_envelope env;
    struct proto_json_error jerr;
    enum proto_open_refusal refusal = PROTO_OPEN_ERROR;
    enum proto_rc result = PROTO_EINVAL;
    bool known = false, verified = false;

    memset(&env, 0, sizeof(env));
    proto_errf(err, err_size, "%s", "");
    if (out != NULL) {
        *out = NULL;
    }
    if (out == NULL || why == NULL || (trusted == NULL && n > 0) || (text == NULL && len > 0)) {
        proto_errf(err, err_size, "invalid arguments");
        goto out;
    }
    result = proto_wire_decode_envelope(text, len, &env, &jerr);
    if (result != PROTO_OK) {
        refusal = result == PROTO_ENOMEM ? PROTO_OPEN_ERROR : PROTO_OPEN_MALFORMED;
        sign_json_why(err, err_size, "envelope", &jerr);
        goto out;
    }
    /* Only the signature is checked here: nothing in the payload is looked at before it holds. */
    for (size_t i = 0; i < n && !verified; i++) {
        if (strcmp(trusted[i]->key_id, env.key_id) == 0) {
            known = true;
            verified = proto_verify(trusted[i], env.payload, env.payload_len, env.sig,
                                    env.sig_len) == PROTO_OK;
        }
    }
    if (!known) {
        result = PROTO_ENOTFOUND;
        refusal = PROTO_OPEN_UNKNOWN_KEY;
        proto_errf(err, err_size, "key_id: %s is not a trusted key", env.key_id);
        goto out;
    }
    if (!verified) {
        result = PROTO_ECRYPTO;
        refusal = PROTO_OPEN_BAD_SIGNATURE;
        proto_errf(err, err_size, "sig: does not verify with trusted key %s", env.key_id);
        goto out;
    }
    result = proto_wire_decode_profile((const char *)env.payload, env.payload_len, out, &jerr);
    if (result != PROTO_OK) {
        refusal = result == PROTO_ENOMEM ? PROTO_OPEN_ERROR : PROTO_OPEN_BAD_PAYLOAD;
        sign_json_why(err, err_size, "payload", &jerr);
        goto out;
    }
    refusal = PROTO_OPEN_OK;
out:
    proto_wire_envelope_clear(&env);
    if (why != NULL) {
        *why = refusal;
    }
    return result;
}
