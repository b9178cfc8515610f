/*
 * wire_result: the result of a profile, rrasfleet.result/1: lifetime, encoder, strict decoder.
 *
 * Owns the mapping between struct proto_result and schema/json/result.schema.json; they change
 * together. The same checks serve both directions (result_valid mirrors the decoder), so the
 * encoder refuses exactly what the decoder would.
 */
#include "wire_result.h"

#include <string.h>

#include "alloc.h"
#include "wire.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const outcome_names[PROTO_OUTCOME_COUNT] = {
    [PROTO_OUTCOME_APPLIED] = "applied",
    [PROTO_OUTCOME_PLANNED] = "planned",
    [PROTO_OUTCOME_REFUSED] = "refused",
    [PROTO_OUTCOME_ROLLED_BACK] = "rolled_back",
};

static const char *const status_names[PROTO_STEP_STATUS_COUNT] = {
    [PROTO_STEP_OK] = "ok",
    [PROTO_STEP_FAILED] = "failed",
    [PROTO_STEP_SKIPPED] = "skipped",
    [PROTO_STEP_UNDONE] = "undone",
};

static const char *const result_members[] = {
    "schema", "result_id",   "profile_id", "serial",          "host",           "outcome",
    "reason", "finished_at", "steps",      "findings_before", "findings_after",
};

static const char *const step_members[] = {"action", "before", "after", "status"};

static const struct proto_wire_text free_text = {0, PROTO_MAX_STRING, NULL, ""};

/* ---- lifetime ------------------------------------------------------------------------------ */

struct proto_result *proto_wire_result_create(void)
{
    return proto_calloc(1, sizeof(struct proto_result));
}

void proto_wire_result_destroy(struct proto_result *res)
{
    if (res == NULL) {
        return;
    }
    for (size_t i = 0; i < res->step_count; i++) {
        proto_free(res->steps[i].before);
        proto_free(res->steps[i].after);
    }
    proto_free(res->steps);
    proto_free(res->reason);
    proto_strv_clear(&res->findings_before);
    proto_strv_clear(&res->findings_after);
    proto_free(res);
}

enum proto_rc proto_wire_result_add_step(struct proto_result *res, struct proto_result_step **out)
{
    if (res == NULL || out == NULL) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    if (res->step_count >= PROTO_MAX_RESULT_STEPS) {
        return PROTO_ELIMIT;
    }
    /* Room for the cap at once: the array is small, and *out stays valid. */
    if (res->steps == NULL) {
        res->steps = proto_calloc(PROTO_MAX_RESULT_STEPS, sizeof(*res->steps));
        if (res->steps == NULL) {
            return PROTO_ENOMEM;
        }
    }
    struct proto_result_step *step = &res->steps[res->step_count++];
    memset(step, 0, sizeof(*step));
    *out = step;
    return PROTO_OK;
}

const char *proto_wire_outcome_str(enum proto_result_outcome outcome)
{
    return (unsigned)outcome < PROTO_OUTCOME_COUNT ? outcome_names[outcome] : "";
}

const char *proto_wire_step_status_str(enum proto_step_status status)
{
    return (unsigned)status < PROTO_STEP_STATUS_COUNT ? status_names[status] : "";
}

/* ---- checks shared by both directions ------------------------------------------------------ */

/* NULL reads as "" (the encoder writes it so). */
static bool result_text_ok(const char *s)
{
    return s == NULL || proto_wire_text_ok(&free_text, s);
}

static bool result_ids_ok(const struct proto_strv *v)
{
    if (v->count > PROTO_MAX_FINDINGS) {
        return false;
    }
    for (size_t i = 0; i < v->count; i++) {
        if (!proto_wire_text_ok(&proto_wire_finding_id_text, v->items[i])) {
            return false;
        }
    }
    return true;
}

/* Serial 0 says "the profile could not be read", which only a refusal can say. */
static bool result_serial_ok(uint64_t serial, enum proto_result_outcome outcome)
{
    return serial <= PROTO_WIRE_MAX_INTEGER && (serial > 0 || outcome == PROTO_OUTCOME_REFUSED);
}

static bool result_valid(const struct proto_result *r)
{
    if (!proto_wire_uuid_ok(r->result_id) || !proto_wire_uuid_ok(r->profile_id) ||
        (unsigned)r->outcome >= PROTO_OUTCOME_COUNT || !result_serial_ok(r->serial, r->outcome) ||
        !proto_wire_fqdn_ok(r->host) || !result_text_ok(r->reason) ||
        !proto_wire_time_ok(r->finished_at) || r->step_count > PROTO_MAX_RESULT_STEPS ||
        (r->step_count > 0 && r->steps == NULL) || !result_ids_ok(&r->findings_before) ||
        !result_ids_ok(&r->findings_after)) {
        return false;
    }
    for (size_t i = 0; i < r->step_count; i++) {
        const struct proto_result_step *step = &r->steps[i];
        if ((unsigned)step->action >= PROTO_ACTION_TYPE_COUNT ||
            (unsigned)step->status >= PROTO_STEP_STATUS_COUNT || !result_text_ok(step->before) ||
            !result_text_ok(step->after)) {
            return false;
        }
    }
    return true;
}

/* ---- encoder ------------------------------------------------------------------------------- */

enum proto_rc proto_wire_encode_result(const struct proto_result *res, char **out, size_t *out_len)
{
    char result_id[37], profile_id[37], host[PROTO_MAX_FQDN + 1];
    cJSON *root = NULL;
    cJSON *steps = NULL;
    enum proto_rc result = PROTO_ENOMEM;

    if (out == NULL) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    if (out_len != NULL) {
        *out_len = 0;
    }
    if (res == NULL || !result_valid(res)) {
        return PROTO_EINVAL;
    }
    (void)proto_wire_lower_copy(res->result_id, result_id, sizeof(result_id));
    (void)proto_wire_lower_copy(res->profile_id, profile_id, sizeof(profile_id));
    (void)proto_wire_lower_copy(res->host, host, sizeof(host));
    root = cJSON_CreateObject();
    if (root == NULL || !proto_wire_enc_str(root, "schema", PROTO_RESULT_SCHEMA) ||
        !proto_wire_enc_str(root, "result_id", result_id) ||
        !proto_wire_enc_str(root, "profile_id", profile_id) ||
        !proto_wire_enc_uint(root, "serial", res->serial) ||
        !proto_wire_enc_str(root, "host", host) ||
        !proto_wire_enc_str(root, "outcome", outcome_names[res->outcome]) ||
        !proto_wire_enc_str(root, "reason", res->reason) ||
        !proto_wire_enc_time(root, "finished_at", res->finished_at)) {
        goto out;
    }
    steps = cJSON_CreateArray();
    if (!proto_wire_enc_add(root, "steps", steps)) {
        goto out;
    }
    for (size_t i = 0; i < res->step_count; i++) {
        const struct proto_result_step *step = &res->steps[i];
        cJSON *obj = proto_wire_enc_push_object(steps);
        if (obj == NULL ||
            !proto_wire_enc_str(obj, "action", proto_wire_action_type_str(step->action)) ||
            !proto_wire_enc_str(obj, "before", step->before) ||
            !proto_wire_enc_str(obj, "after", step->after) ||
            !proto_wire_enc_str(obj, "status", status_names[step->status])) {
            goto out;
        }
    }
    if (!proto_wire_enc_strv(root, "findings_before", &res->findings_before) ||
        !proto_wire_enc_strv(root, "findings_after", &res->findings_after)) {
        goto out;
    }
    result = proto_wire_enc_print(root, PROTO_MAX_RESULT_BYTES, out, out_len);
out:
    cJSON_Delete(root);
    return result;
}

/* ---- decoder ------------------------------------------------------------------------------- */

static enum proto_rc dec_step_el(struct proto_wire_dec *d, const cJSON *el, size_t index, void *ctx)
{
    struct proto_result *r = ctx;
    struct proto_result_step *step = NULL;
    const char *action_names[PROTO_ACTION_TYPE_COUNT];
    size_t action = 0, status = 0;
    (void)index;
    for (size_t i = 0; i < PROTO_ACTION_TYPE_COUNT; i++) {
        action_names[i] = proto_wire_action_type_str((enum proto_action_type)i);
    }
    enum proto_rc result = proto_wire_check_object(d, el);
    if (result) {
        return result;
    }
    result = proto_wire_result_add_step(r, &step);
    if (result) {
        return result == PROTO_ENOMEM ? proto_wire_dec_nomem(d)
                                      : proto_wire_dec_fail(d, result, "too many steps");
    }
    if ((result = proto_wire_dec_members(d, el, step_members, COUNT(step_members), true)) ||
        (result = proto_wire_dec_enum(d, el, "action", PROTO_WIRE_REQUIRED, action_names,
                                      PROTO_ACTION_TYPE_COUNT, &action)) ||
        (result = proto_wire_dec_text_copy(d, el, "before", PROTO_WIRE_REQUIRED, &free_text,
                                           &step->before)) ||
        (result = proto_wire_dec_text_copy(d, el, "after", PROTO_WIRE_REQUIRED, &free_text,
                                           &step->after)) ||
        (result = proto_wire_dec_enum(d, el, "status", PROTO_WIRE_REQUIRED, status_names,
                                      PROTO_STEP_STATUS_COUNT, &status))) {
        return result;
    }
    step->action = (enum proto_action_type)action;
    step->status = (enum proto_step_status)status;
    return PROTO_OK;
}

static enum proto_rc dec_result(struct proto_wire_dec *d, const cJSON *root, struct proto_result *r)
{
    size_t outcome = 0;
    enum proto_rc result;
    /* The version first: a later schema gets "unsupported", not a confusing member error. */
    if ((result = proto_wire_dec_const(d, root, "schema", PROTO_RESULT_SCHEMA)) ||
        (result = proto_wire_dec_members(d, root, result_members, COUNT(result_members), true)) ||
        (result = proto_wire_dec_uuid(d, root, "result_id", PROTO_WIRE_REQUIRED, r->result_id)) ||
        (result = proto_wire_dec_uuid(d, root, "profile_id", PROTO_WIRE_REQUIRED, r->profile_id)) ||
        (result = proto_wire_dec_uint(d, root, "serial", PROTO_WIRE_REQUIRED, 0,
                                      PROTO_WIRE_MAX_INTEGER, &r->serial)) ||
        (result = proto_wire_dec_text_into(d, root, "host", PROTO_WIRE_REQUIRED,
                                           &proto_wire_fqdn_text, r->host, sizeof(r->host))) ||
        (result = proto_wire_dec_enum(d, root, "outcome", PROTO_WIRE_REQUIRED, outcome_names,
                                      PROTO_OUTCOME_COUNT, &outcome))) {
        return result;
    }
    r->outcome = (enum proto_result_outcome)outcome;
    if (!result_serial_ok(r->serial, r->outcome)) {
        return proto_wire_dec_fail_at(d, "serial", PROTO_ELIMIT,
                                      "expected 1 or more: 0 is only for a refused profile that "
                                      "could not be read");
    }
    /* Host names compare without case; keep one spelling. */
    (void)proto_wire_lower_copy(r->host, r->host, sizeof(r->host));
    if ((result = proto_wire_dec_text_copy(d, root, "reason", PROTO_WIRE_REQUIRED, &free_text,
                                           &r->reason)) ||
        (result =
             proto_wire_dec_time(d, root, "finished_at", PROTO_WIRE_REQUIRED, &r->finished_at)) ||
        (result = proto_wire_dec_each(d, root, "steps", PROTO_WIRE_REQUIRED, 0,
                                      PROTO_MAX_RESULT_STEPS, dec_step_el, r)) ||
        (result = proto_wire_dec_strv(d, root, "findings_before", 0, PROTO_MAX_FINDINGS,
                                      &proto_wire_finding_id_text, &r->findings_before)) ||
        (result = proto_wire_dec_strv(d, root, "findings_after", 0, PROTO_MAX_FINDINGS,
                                      &proto_wire_finding_id_text, &r->findings_after))) {
        return result;
    }
    return PROTO_OK;
}

enum proto_rc proto_wire_decode_result(const char *text, size_t len, struct proto_result **out,
                                       struct proto_json_error *err)
{
    struct proto_wire_dec dec;
    struct proto_result *res = NULL;
    cJSON *root = NULL;
    enum proto_rc result;

    proto_wire_dec_init(&dec, err);
    if (out == NULL) {
        return proto_wire_dec_fail(&dec, PROTO_EINVAL, "no output");
    }
    *out = NULL;
    result = proto_wire_dec_parse(&dec, text, len, PROTO_MAX_RESULT_BYTES, &root);
    if (result) {
        goto out;
    }
    res = proto_wire_result_create();
    if (res == NULL) {
        result = proto_wire_dec_nomem(&dec);
        goto out;
    }
    result = dec_result(&dec, root, res);
    if (result) {
        goto out;
    }
    *out = res;
    res = NULL;
out:
    proto_wire_result_destroy(res);
    cJSON_Delete(root);
    return result;
}
