/*
 * wire_reply: the collector's acknowledgement of a report and its error body (DESIGN §7).
 *
 * Owns the mapping between struct proto_reply / struct proto_error_body and the documents that
 * schema/json/reply.schema.json and schema/json/error.schema.json describe; they change
 * together. Unknown members are skipped on purpose (forward compatibility), but a known member
 * given twice is refused so that no two readers see different answers.
 */
#include "wire_reply.h"

#include <string.h>

#include "alloc.h"
#include "wire.h"

static const char *const reply_members[] = {
    "accepted", "duplicate", "report_id", "next_interval_s", "findings", "pending_profile",
};

static const char *const error_members[] = {"code", "message", "field"};
static const char *const error_root_members[] = {"error"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the acknowledgement ------------------------------------------------------------------- */

static bool reply_valid(const struct proto_reply *reply)
{
    return proto_wire_uuid_ok(reply->report_id) && reply->next_interval_s >= 1 &&
           reply->next_interval_s <= PROTO_MAX_NEXT_INTERVAL_S &&
           reply->findings <= PROTO_MAX_FINDINGS &&
           (reply->pending_profile[0] == '\0' || proto_wire_uuid_ok(reply->pending_profile));
}

enum proto_rc proto_wire_encode_reply(const struct proto_reply *reply, char **out, size_t *out_len)
{
    char report_id[37], pending[37];
    cJSON *root = NULL;
    enum proto_rc result = PROTO_ENOMEM;

    if (out == NULL) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    if (out_len != NULL) {
        *out_len = 0;
    }
    if (reply == NULL || !reply_valid(reply)) {
        return PROTO_EINVAL;
    }
    (void)proto_wire_lower_copy(reply->report_id, report_id, sizeof(report_id));
    (void)proto_wire_lower_copy(reply->pending_profile, pending, sizeof(pending));
    root = cJSON_CreateObject();
    if (root == NULL || !proto_wire_enc_bool(root, "accepted", reply->accepted) ||
        !proto_wire_enc_bool(root, "duplicate", reply->duplicate) ||
        !proto_wire_enc_str(root, "report_id", report_id) ||
        !proto_wire_enc_uint(root, "next_interval_s", reply->next_interval_s) ||
        !proto_wire_enc_uint(root, "findings", reply->findings) ||
        (pending[0] != '\0' && !proto_wire_enc_str(root, "pending_profile", pending))) {
        goto out;
    }
    result = proto_wire_enc_print(root, PROTO_MAX_REPLY_BYTES, out, out_len);
out:
    cJSON_Delete(root);
    return result;
}

static enum proto_rc reply_decode(struct proto_wire_dec *d, const cJSON *root,
                                  struct proto_reply *reply)
{
    uint64_t interval = 0, findings = 0;
    enum proto_rc result;
    if ((result = proto_wire_dec_members(d, root, reply_members, COUNT(reply_members), false)) ||
        (result =
             proto_wire_dec_bool(d, root, "accepted", PROTO_WIRE_REQUIRED, &reply->accepted)) ||
        (result =
             proto_wire_dec_bool(d, root, "duplicate", PROTO_WIRE_REQUIRED, &reply->duplicate)) ||
        (result =
             proto_wire_dec_uuid(d, root, "report_id", PROTO_WIRE_REQUIRED, reply->report_id)) ||
        (result = proto_wire_dec_uint(d, root, "next_interval_s", PROTO_WIRE_REQUIRED, 1,
                                      PROTO_MAX_NEXT_INTERVAL_S, &interval)) ||
        (result = proto_wire_dec_uint(d, root, "findings", PROTO_WIRE_REQUIRED, 0,
                                      PROTO_MAX_FINDINGS, &findings)) ||
        (result = proto_wire_dec_uuid(d, root, "pending_profile", PROTO_WIRE_OPTIONAL,
                                      reply->pending_profile))) {
        return result;
    }
    reply->next_interval_s = (unsigned long)interval;
    reply->findings = (size_t)findings;
    return PROTO_OK;
}

enum proto_rc proto_wire_decode_reply(const char *text, size_t len, struct proto_reply *out,
                                      struct proto_json_error *err)
{
    struct proto_wire_dec dec;
    cJSON *root = NULL;
    proto_wire_dec_init(&dec, err);
    if (out == NULL) {
        return proto_wire_dec_fail(&dec, PROTO_EINVAL, "no output");
    }
    memset(out, 0, sizeof(*out));
    enum proto_rc result = proto_wire_dec_parse(&dec, text, len, PROTO_MAX_REPLY_BYTES, &root);
    if (!result) {
        result = reply_decode(&dec, root, out);
    }
    if (result) {
        memset(out, 0, sizeof(*out));
    }
    cJSON_Delete(root);
    return result;
}

/* ---- the error body ------------------------------------------------------------------------ */

static bool error_code_ok(const char *s)
{
    if (!(s[0] >= 'a' && s[0] <= 'z')) {
        return false;
    }
    for (const char *p = s + 1; *p != '\0'; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) {
            return false;
        }
    }
    return true;
}

static const struct proto_wire_text error_code_text = {
    1, PROTO_MAX_ERROR_CODE, error_code_ok,
    "expected a code of lower-case letters, digits and '_', starting with a letter"};
static const struct proto_wire_text error_message_text = {0, PROTO_MAX_ERROR_MESSAGE, NULL, ""};
static const struct proto_wire_text error_field_text = {0, PROTO_MAX_ERROR_FIELD, NULL, ""};

/* Copies at most max bytes of src (read up to src_size) into dst[max + 1] as valid UTF-8:
 * each invalid byte becomes U+FFFD, and the copy stops before a character that would not fit. */
static void error_fit_text(const char *src, size_t src_size, char *dst, size_t max)
{
    static const char replacement[] = "\xEF\xBF\xBD";
    size_t len = strnlen(src, src_size);
    size_t used = 0;
    for (size_t i = 0; i < len;) {
        const char *piece = src + i;
        size_t n = 1;
        while (n <= 4 && i + n <= len && !proto_wire_utf8_ok(piece, n)) {
            n++;
        }
        if (n > 4 || i + n > len) {
            piece = replacement;
            n = 1;
        }
        size_t piece_len = piece == replacement ? sizeof(replacement) - 1 : n;
        if (used + piece_len > max) {
            break;
        }
        memcpy(dst + used, piece, piece_len);
        used += piece_len;
        i += n;
    }
    dst[used] = '\0';
}

enum proto_rc proto_wire_encode_error(const struct proto_error_body *error, char **out,
                                      size_t *out_len)
{
    struct proto_error_body fit;
    cJSON *root = NULL;
    cJSON *body = NULL;
    enum proto_rc result = PROTO_ENOMEM;

    if (out == NULL) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    if (out_len != NULL) {
        *out_len = 0;
    }
    if (error == NULL || strnlen(error->code, sizeof(error->code)) == sizeof(error->code) ||
        !proto_wire_text_ok(&error_code_text, error->code)) {
        return PROTO_EINVAL;
    }
    memcpy(fit.code, error->code, sizeof(fit.code));
    error_fit_text(error->message, sizeof(error->message), fit.message, PROTO_MAX_ERROR_MESSAGE);
    error_fit_text(error->field, sizeof(error->field), fit.field, PROTO_MAX_ERROR_FIELD);

    root = cJSON_CreateObject();
    body = cJSON_CreateObject();
    if (root == NULL || !proto_wire_enc_add(root, "error", body)) {
        goto out;
    }
    if (!proto_wire_enc_str(body, "code", fit.code) ||
        !proto_wire_enc_str(body, "message", fit.message) ||
        (fit.field[0] != '\0' && !proto_wire_enc_str(body, "field", fit.field))) {
        goto out;
    }
    result = proto_wire_enc_print(root, PROTO_MAX_ERROR_BYTES, out, out_len);
out:
    cJSON_Delete(root);
    return result;
}

static enum proto_rc error_decode(struct proto_wire_dec *d, const cJSON *root,
                                  struct proto_error_body *error)
{
    const cJSON *body = NULL;
    enum proto_rc result;
    if ((result = proto_wire_dec_members(d, root, error_root_members, COUNT(error_root_members),
                                         false)) ||
        (result = proto_wire_dec_object(d, root, "error", PROTO_WIRE_REQUIRED, &body))) {
        return result;
    }
    size_t saved = proto_wire_dec_enter_key(d, "error");
    if (!(result = proto_wire_dec_members(d, body, error_members, COUNT(error_members), false)) &&
        !(result = proto_wire_dec_text_into(d, body, "code", PROTO_WIRE_REQUIRED, &error_code_text,
                                            error->code, sizeof(error->code))) &&
        !(result =
              proto_wire_dec_text_into(d, body, "message", PROTO_WIRE_REQUIRED, &error_message_text,
                                       error->message, sizeof(error->message)))) {
        result = proto_wire_dec_text_into(d, body, "field", PROTO_WIRE_OPTIONAL, &error_field_text,
                                          error->field, sizeof(error->field));
    }
    proto_wire_dec_leave(d, saved);
    return result;
}

enum proto_rc proto_wire_decode_error(const char *text, size_t len, struct proto_error_body *out,
                                      struct proto_json_error *err)
{
    struct proto_wire_dec dec;
    cJSON *root = NULL;
    proto_wire_dec_init(&dec, err);
    if (out == NULL) {
        return proto_wire_dec_fail(&dec, PROTO_EINVAL, "no output");
    }
    memset(out, 0, sizeof(*out));
    enum proto_rc result = proto_wire_dec_parse(&dec, text, len, PROTO_MAX_ERROR_BYTES, &root);
    if (!result) {
        result = error_decode(&dec, root, out);
    }
    if (result) {
        memset(out, 0, sizeof(*out));
    }
    cJSON_Delete(root);
    return result;
}
