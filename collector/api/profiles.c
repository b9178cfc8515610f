/*
 * api_profiles: the remediation profile endpoints (docs/remediation.md "Online"). On the admin
 * listener: create (the offline `profile build` flow run on the host's latest stored snapshot:
 * proto/fix.h builds and judges, proto/sign.h seals, the store gives the serial), list, show,
 * assign, cancel. On the agent listener: the envelope exactly as signed, to its target host
 * only. Without a signing key (profile_signing_key) every profile endpoint answers 503. Turns
 * the store's structs into the documents; never builds SQL, never decides a state change the
 * store would refuse.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "alloc.h"
#include "api.h"
#include "caps.h"
#include "clock.h"
#include "fix.h"
#include "json.h"
#include "log.h"
#include "render.h"
#include "sign.h"
#include "timefmt.h"
#include "uuid.h"

#define PROF_DEFAULT_EXPIRES_S 259200
#define PROF_MIN_EXPIRES_S 60
#define PROF_MAX_EXPIRES_S 7776000
#define PROF_MAX_BODY_BYTES (16u * 1024u)
#define PROF_DEFAULT_LIMIT 100u
#define PROF_MAX_LIMIT 1000u
#define PROF_MAX_LIST_BYTES (32u * 1024u * 1024u)
#define PROF_HOST_PROFILES_MAX 50u /* profiles shown in a host's detail */

/* ---- documents ---------------------------------------------------------------------------- */

static bool prof_add_time(cJSON *obj, const char *name, int64_t when)
{
    char buf[32];
    if (proto_time_format_rfc3339(when, buf, sizeof(buf)) != PROTO_OK) {
        return cJSON_AddNullToObject(obj, name) != NULL;
    }
    return cJSON_AddStringToObject(obj, name, buf) != NULL;
}

static bool prof_add_text(cJSON *obj, const char *name, const char *text)
{
    if (text == NULL) {
        return cJSON_AddNullToObject(obj, name) != NULL;
    }
    return cJSON_AddStringToObject(obj, name, text) != NULL;
}

/* Stored JSON text as a value; `fallback` (an empty array) when absent or unparseable. */
static bool prof_add_stored(cJSON *obj, const char *name, const char *text)
{
    cJSON *v = text != NULL ? cJSON_Parse(text) : NULL;
    if (v == NULL) {
        v = cJSON_CreateArray();
    }
    if (v == NULL || !cJSON_AddItemToObject(obj, name, v)) {
        cJSON_Delete(v);
        return false;
    }
    return true;
}

/* The state as the API shows it: an assigned profile past its expiry is "expired". */
static const char *prof_shown_state(const struct col_profile *p, int64_t now)
{
    if (p->state == COL_PROFILE_ASSIGNED && p->expires <= now) {
        return "expired";
    }
    return col_profile_state_str(p->state);
}

/* P of the contract; NULL on allocation failure. */
static cJSON *prof_doc(const struct col_profile *p, int64_t now)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL || !prof_add_text(o, "profile_id", p->profile_id) ||
        !prof_add_text(o, "host", p->host) ||
        cJSON_AddNumberToObject(o, "serial", (double)p->serial) == NULL ||
        !prof_add_text(o, "mode", p->mode) ||
        !prof_add_text(o, "state", prof_shown_state(p, now)) ||
        !prof_add_stored(o, "reason", p->reason_json) ||
        !prof_add_time(o, "created_at", p->created_at) ||
        !prof_add_text(o, "created_by", p->created_by) ||
        !(p->assigned ? prof_add_time(o, "assigned_at", p->assigned_at)
                      : cJSON_AddNullToObject(o, "assigned_at") != NULL) ||
        !prof_add_time(o, "not_before", p->not_before) ||
        !prof_add_time(o, "expires", p->expires)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* A member of the stored result body, or an empty array. */
static bool prof_add_body_member(cJSON *o, const cJSON *body, const char *name)
{
    const cJSON *m = body != NULL ? cJSON_GetObjectItemCaseSensitive(body, name) : NULL;
    cJSON *copy = m != NULL ? cJSON_Duplicate(m, 1) : cJSON_CreateArray();
    if (copy == NULL || !cJSON_AddItemToObject(o, name, copy)) {
        cJSON_Delete(copy);
        return false;
    }
    return true;
}

/* R of the contract; NULL on allocation failure. */
static cJSON *prof_result_doc(const struct col_profile_result *r)
{
    cJSON *body = r->body != NULL ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL && prof_add_text(o, "result_id", r->result_id) &&
              prof_add_text(o, "outcome", r->outcome) && prof_add_text(o, "reason", r->reason) &&
              prof_add_time(o, "finished_at", r->finished_at) &&
              prof_add_time(o, "received_at", r->received_at) &&
              prof_add_body_member(o, body, "steps") &&
              prof_add_body_member(o, body, "findings_before") &&
              prof_add_body_member(o, body, "findings_after");
    cJSON_Delete(body);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static bool prof_add_results(cJSON *obj, const struct col_profile_detail *d)
{
    cJSON *arr = cJSON_AddArrayToObject(obj, "results");
    if (arr == NULL) {
        return false;
    }
    for (size_t i = 0; i < d->result_count; i++) {
        cJSON *r = prof_result_doc(&d->results[i]);
        if (r == NULL || !cJSON_AddItemToArray(arr, r)) {
            cJSON_Delete(r);
            return false;
        }
    }
    return true;
}

cJSON *col_api_profiles_of_host_doc(struct col_store *st, const char *host, int64_t now)
{
    struct col_profile_detail *list = NULL;
    size_t count = 0;
    if (col_store_profiles_of_host(st, host, PROF_HOST_PROFILES_MAX, &list, &count) != PROTO_OK) {
        return NULL;
    }
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr != NULL && i < count; i++) {
        cJSON *p = prof_doc(&list[i].profile, now);
        if (p == NULL || !prof_add_results(p, &list[i]) || !cJSON_AddItemToArray(arr, p)) {
            cJSON_Delete(p);
            cJSON_Delete(arr);
            arr = NULL;
        }
    }
    col_store_profile_list_destroy(list, count);
    return arr;
}

static bool prof_add_ids(cJSON *obj, const char *name, const struct proto_diagnosis *d)
{
    cJSON *arr = cJSON_AddArrayToObject(obj, name);
    if (arr == NULL) {
        return false;
    }
    for (size_t i = 0; d != NULL && i < d->finding_count; i++) {
        cJSON *s = cJSON_CreateString(d->findings[i].id);
        if (s == NULL || !cJSON_AddItemToArray(arr, s)) {
            cJSON_Delete(s);
            return false;
        }
    }
    return true;
}

/* ---- common checks ------------------------------------------------------------------------ */

static bool prof_enabled(const struct col_api_call *call, struct col_http_response *resp)
{
    if (call->app->signing_key != NULL) {
        return true;
    }
    col_http_response_error(resp, 503, "remediation_disabled",
                            "profile_signing_key is not set: remediation is off", NULL);
    return false;
}

static bool prof_is_json(const struct col_http_request *req)
{
    const char *type = col_http_header_get(req, "Content-Type");
    return type != NULL && strncasecmp(type, "application/json", 16) == 0 &&
           (type[16] == '\0' || type[16] == ';' || type[16] == ' ');
}

static bool prof_valid_fqdn(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > PROTO_MAX_FQDN) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.') {
            return false;
        }
    }
    return true;
}

/* Answers the profile as {"profile": P} (+ results and envelope when asked). */
static void prof_send_detail(struct col_http_response *resp, int status,
                             const struct col_profile_detail *d, bool results, bool envelope)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *p = prof_doc(&d->profile, col_clock_now_s());
    if (doc == NULL || p == NULL || !cJSON_AddItemToObject(doc, "profile", p)) {
        cJSON_Delete(p);
        cJSON_Delete(doc);
        col_http_response_error(resp, 500, "internal", "out of memory", NULL);
        return;
    }
    if ((results && !prof_add_results(doc, d)) ||
        (envelope && !prof_add_text(doc, "envelope", d->profile.envelope))) {
        cJSON_Delete(doc);
        col_http_response_error(resp, 500, "internal", "out of memory", NULL);
        return;
    }
    col_api_send_json(resp, status, doc);
}

/* ---- POST /v1/profiles -------------------------------------------------------------------- */

struct prof_request {
    char host[PROTO_MAX_FQDN + 1];
    char server_address[64];
    enum proto_profile_mode mode;
    long long expires_in_s;
};

static bool prof_bad(struct col_http_response *resp, const char *field, const char *message)
{
    col_http_response_error(resp, 400, "invalid_request", message, field);
    return false;
}

/* Strict: every member known, each of its type and range; false after answering 400. */
static bool prof_parse_request(const struct col_http_request *req, struct prof_request *out,
                               struct col_http_response *resp)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->server_address, sizeof(out->server_address), "Any");
    out->mode = PROTO_PROFILE_APPLY;
    out->expires_in_s = PROF_DEFAULT_EXPIRES_S;
    if (req->body_len > PROF_MAX_BODY_BYTES) {
        return prof_bad(resp, NULL, "the request body is too large");
    }
    cJSON *root = col_api_read_json_body(req, PROF_MAX_BODY_BYTES, resp);
    bool ok = false;
    if (root == NULL) {
        goto out;
    }
    bool have_host = false;
    for (const cJSON *m = root->child; m != NULL; m = m->next) {
        if (strcmp(m->string, "host") == 0) {
            if (!cJSON_IsString(m) || !prof_valid_fqdn(m->valuestring)) {
                prof_bad(resp, "host", "expected a host name");
                goto out;
            }
            snprintf(out->host, sizeof(out->host), "%s", m->valuestring);
            have_host = true;
        } else if (strcmp(m->string, "server_address") == 0) {
            if (!cJSON_IsString(m) || m->valuestring[0] == '\0' ||
                strlen(m->valuestring) >= sizeof(out->server_address)) {
                prof_bad(resp, "server_address", "expected an IP address or \"Any\"");
                goto out;
            }
            snprintf(out->server_address, sizeof(out->server_address), "%s", m->valuestring);
        } else if (strcmp(m->string, "mode") == 0) {
            if (cJSON_IsString(m) && strcmp(m->valuestring, "apply") == 0) {
                out->mode = PROTO_PROFILE_APPLY;
            } else if (cJSON_IsString(m) && strcmp(m->valuestring, "dry_run") == 0) {
                out->mode = PROTO_PROFILE_DRY_RUN;
            } else {
                prof_bad(resp, "mode", "expected \"apply\" or \"dry_run\"");
                goto out;
            }
        } else if (strcmp(m->string, "expires_in_s") == 0) {
            double v = cJSON_IsNumber(m) ? m->valuedouble : -1;
            if (v < PROF_MIN_EXPIRES_S || v > PROF_MAX_EXPIRES_S || v != (double)(long long)v) {
                prof_bad(resp, "expires_in_s", "expected whole seconds from 60 to 7776000");
                goto out;
            }
            out->expires_in_s = (long long)v;
        } else {
            prof_bad(resp, m->string, "unknown member");
            goto out;
        }
    }
    if (!have_host) {
        prof_bad(resp, "host", "host is required");
        goto out;
    }
    ok = true;
out:
    cJSON_Delete(root);
    return ok;
}

/* The host's latest snapshot as a struct, with the host filled from its row. */
static enum proto_rc prof_snapshot_of(const struct col_host_detail *d, struct proto_snapshot **out)
{
    struct proto_json_error err;
    *out = NULL;
    if (d->snapshot_json == NULL) {
        return PROTO_EMISSING;
    }
    struct proto_snapshot *snap = NULL;
    enum proto_rc result =
        proto_json_decode_snapshot(d->snapshot_json, d->snapshot_len, &snap, &err);
    if (result) {
        col_log(COL_LOG_ERROR, "the stored snapshot of %s does not decode: %s: %s", d->fqdn,
                err.field, err.message);
        return result;
    }
    snap->host.fqdn = proto_strdup(d->fqdn);
    snap->host.hostname = d->hostname != NULL ? proto_strdup(d->hostname) : NULL;
    snap->host.os = d->os != NULL ? proto_strdup(d->os) : NULL;
    snap->host.collected_at = d->collected_at;
    if (snap->host.fqdn == NULL || (d->hostname != NULL && snap->host.hostname == NULL) ||
        (d->os != NULL && snap->host.os == NULL)) {
        proto_snapshot_destroy(snap);
        return PROTO_ENOMEM;
    }
    *out = snap;
    return PROTO_OK;
}

/* The seal callback's context: the judged profile, to be signed with the store's serial. */
struct prof_seal {
    const struct proto_sign_key *key;
    struct proto_profile *profile;
};

static enum proto_rc prof_seal(void *ctx, int64_t serial, char **envelope, size_t *envelope_len)
{
    struct prof_seal *s = ctx;
    s->profile->serial = (uint64_t)serial;
    return proto_envelope_seal(s->key, s->profile, envelope, envelope_len);
}

/* The reason as the store keeps it: a JSON array of ids. Caller frees with cJSON_free. */
static char *prof_reason_json(const struct proto_profile *profile)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr != NULL && i < profile->reason.count; i++) {
        cJSON *s = cJSON_CreateString(profile->reason.items[i]);
        if (s == NULL || !cJSON_AddItemToArray(arr, s)) {
            cJSON_Delete(s);
            cJSON_Delete(arr);
            arr = NULL;
        }
    }
    char *text = arr != NULL ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    return text;
}

static void prof_refused(struct col_http_response *resp, const struct proto_fix_verdict *v)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *err = doc != NULL ? cJSON_AddObjectToObject(doc, "error") : NULL;
    if (err == NULL || !prof_add_text(err, "code", "whatif_refused") ||
        !prof_add_text(err, "message", v->reason[0] ? v->reason : "the what-if refuses it") ||
        !prof_add_text(err, "field", "host") || !prof_add_ids(doc, "findings_after", v->after)) {
        cJSON_Delete(doc);
        col_http_response_error(resp, 500, "internal", "out of memory", NULL);
        return;
    }
    col_api_send_json(resp, 422, doc);
}

void col_api_profiles_create(struct col_api_call *call, struct col_http_response *resp)
{
    struct prof_request rq;
    struct col_host_detail *host = NULL;
    struct proto_snapshot *snap = NULL;
    struct proto_profile *profile = NULL;
    struct proto_fix_verdict verdict;
    struct col_profile_detail *stored = NULL;
    char *reason = NULL;
    char profile_id[37];
    memset(&verdict, 0, sizeof(verdict));
    if (!prof_enabled(call, resp)) {
        return;
    }
    if (!prof_is_json(call->req)) {
        col_http_response_error(resp, 415, "unsupported_media_type",
                                "the request is application/json", NULL);
        return;
    }
    if (!prof_parse_request(call->req, &rq, resp)) {
        return;
    }
    if (!call->app->policy.has_expected_ca) {
        col_http_response_error(resp, 503, "remediation_disabled",
                                "expected_ca is not set: there is no CA to pin the rule to", NULL);
        return;
    }
    enum proto_rc rc = col_store_host_detail(call->app->store, rq.host, &host);
    if (rc == PROTO_ENOTFOUND) {
        col_http_response_error(resp, 404, "not_found", "no report from that host", "host");
        goto out;
    }
    if (!rc) {
        rc = prof_snapshot_of(host, &snap);
    }
    if (rc) {
        col_http_response_error(resp, 500, "internal", "the host's latest snapshot is unusable",
                                NULL);
        goto out;
    }
    if (proto_uuid_v4(profile_id) != PROTO_OK) {
        col_http_response_error(resp, 500, "internal", "no randomness for the profile id", NULL);
        goto out;
    }
    struct proto_policy policy = call->app->policy;
    policy.now = col_clock_now_s();
    struct proto_fix_params params = {
        .server_address = rq.server_address,
        .mode = rq.mode,
        .profile_id = profile_id,
        .serial = 1, /* judged before the store gives the real one; the what-if ignores it */
        .not_before = policy.now,
        .expires = policy.now + rq.expires_in_s,
    };
    rc = proto_fix_build(snap, &policy, &params, &profile);
    if (rc == PROTO_EINVAL) {
        col_http_response_error(resp, 400, "invalid_request",
                                "the fix cannot be built with this server_address",
                                "server_address");
        goto out;
    }
    if (!rc) {
        rc = proto_fix_judge(snap, &policy, profile, &verdict);
    }
    if (rc) {
        col_http_response_error(resp, 500, "internal", "the fix or its what-if failed", NULL);
        goto out;
    }
    if (!verdict.acceptable) {
        prof_refused(resp, &verdict);
        goto out;
    }
    reason = prof_reason_json(profile);
    if (reason == NULL) {
        col_http_response_error(resp, 500, "internal", "out of memory", NULL);
        goto out;
    }
    struct col_profile_new in = {
        .profile_id = profile_id,
        .host = profile->target,
        .mode = proto_wire_profile_mode_str(rq.mode),
        .reason_json = reason,
        .not_before = params.not_before,
        .expires = params.expires,
        .actor = call->actor,
    };
    struct prof_seal seal = {call->app->signing_key, profile};
    rc = col_store_profile_create(call->app->store, &in, prof_seal, &seal, NULL);
    if (rc == PROTO_ECHANGED) {
        col_http_response_error(resp, 409, "profile_active",
                                "the host already has a created or assigned profile: cancel it "
                                "first",
                                "host");
        goto out;
    }
    if (!rc) {
        rc = col_store_profile_get(call->app->store, profile_id, false, &stored);
    }
    if (rc) {
        col_log(COL_LOG_ERROR, "storing a profile for %s failed: %s", rq.host, proto_rc_str(rc));
        col_http_response_error(resp, 500, "internal", "the profile was not stored", NULL);
        goto out;
    }
    cJSON *doc = cJSON_CreateObject();
    cJSON *p = prof_doc(&stored->profile, params.not_before);
    if (doc == NULL || p == NULL || !cJSON_AddItemToObject(doc, "profile", p)) {
        cJSON_Delete(p);
        cJSON_Delete(doc);
        col_http_response_error(resp, 500, "internal", "out of memory", NULL);
        goto out;
    }
    if (!prof_add_ids(doc, "findings_before", verdict.before) ||
        !prof_add_ids(doc, "findings_after", verdict.after)) {
        cJSON_Delete(doc);
        col_http_response_error(resp, 500, "internal", "out of memory", NULL);
        goto out;
    }
    col_api_send_json(resp, 201, doc);
out:
    col_store_profile_detail_destroy(stored);
    cJSON_free(reason);
    proto_fix_verdict_clear(&verdict);
    proto_wire_profile_destroy(profile);
    proto_snapshot_destroy(snap);
    col_store_host_detail_destroy(host);
}

/* ---- GET /v1/profiles --------------------------------------------------------------------- */

static bool prof_parse_uint(const char *text, unsigned long max, unsigned long *out)
{
    if (!isdigit((unsigned char)text[0])) {
        return false;
    }
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || v > max) {
        return false;
    }
    *out = v;
    return true;
}

static bool prof_wants_csv(const struct col_http_request *req)
{
    char format[COL_API_PARAM_MAX_WORD + 1];
    if (col_http_query_get(req, "format", format, sizeof(format))) {
        return strcmp(format, "csv") == 0;
    }
    const char *accept = col_http_header_get(req, "Accept");
    return accept != NULL && strstr(accept, "text/csv") != NULL;
}

void col_api_profiles_list(struct col_api_call *call, struct col_http_response *resp)
{
    char host[PROTO_MAX_FQDN + 1]; /* the router's cap on "host" */
    char value[COL_API_PARAM_MAX_WORD + 1];
    unsigned long n = 0;
    struct col_profile_query q = {NULL, -1, PROF_DEFAULT_LIMIT, 0};
    struct col_table *table = NULL;
    bool csv = prof_wants_csv(call->req);
    if (!prof_enabled(call, resp)) {
        return;
    }
    if (col_http_query_get(call->req, "format", value, sizeof(value)) &&
        strcmp(value, "csv") != 0 && strcmp(value, "json") != 0) {
        col_http_response_error(resp, 400, "invalid_parameter", "json or csv", "format");
        return;
    }
    if (col_http_query_get(call->req, "host", host, sizeof(host))) {
        if (!prof_valid_fqdn(host)) {
            col_http_response_error(resp, 400, "invalid_parameter", "not a host name", "host");
            return;
        }
        q.host = host;
    }
    if (col_http_query_get(call->req, "state", value, sizeof(value))) {
        enum col_profile_state state;
        if (!col_profile_state_from_str(value, &state)) {
            col_http_response_error(resp, 400, "invalid_parameter",
                                    "one of created, assigned, applied, planned, refused, "
                                    "rolled_back, cancelled",
                                    "state");
            return;
        }
        q.state = (int)state;
    }
    if (col_http_query_get(call->req, "limit", value, sizeof(value))) {
        if (!prof_parse_uint(value, PROF_MAX_LIMIT, &n) || n == 0) {
            col_http_response_error(resp, 400, "invalid_parameter", "1 to 1000", "limit");
            return;
        }
        q.limit = n;
    } else if (csv) {
        q.limit = COL_QUERY_MAX_LIMIT; /* an export takes the whole selection */
    }
    if (col_http_query_get(call->req, "offset", value, sizeof(value))) {
        if (!prof_parse_uint(value, 100000000ul, &n)) {
            col_http_response_error(resp, 400, "invalid_parameter", "a non-negative number",
                                    "offset");
            return;
        }
        q.offset = n;
    }
    if (col_store_profile_list(call->app->store, &q, &table) != PROTO_OK) {
        col_http_response_error(resp, 500, "internal", "the query failed", NULL);
        return;
    }
    proto_buf_reset(&resp->body);
    resp->body.max = PROF_MAX_LIST_BYTES;
    enum proto_rc rc = csv ? col_table_render_csv(table, &resp->body)
                           : col_table_render_json(table, q.limit, q.offset, &resp->body);
    col_table_destroy(table);
    if (rc) {
        col_http_response_error(resp, 500, "internal", "the result is too large", NULL);
        return;
    }
    resp->status = 200;
    resp->content_type = csv ? "text/csv; charset=utf-8" : "application/json";
}

/* ---- GET /v1/profiles/{id}, assign, cancel ------------------------------------------------- */

static bool prof_get(struct col_api_call *call, struct col_http_response *resp, bool envelope,
                     struct col_profile_detail **out)
{
    enum proto_rc rc = col_store_profile_get(call->app->store, call->path_arg, envelope, out);
    if (rc == PROTO_ENOTFOUND) {
        col_http_response_error(resp, 404, "not_found", "no such profile", "profile_id");
        return false;
    }
    if (rc) {
        col_http_response_error(resp, 500, "internal", "the profile query failed", NULL);
        return false;
    }
    return true;
}

void col_api_profiles_show(struct col_api_call *call, struct col_http_response *resp)
{
    struct col_profile_detail *d = NULL;
    char value[COL_API_PARAM_MAX_WORD + 1];
    if (!prof_enabled(call, resp)) {
        return;
    }
    bool envelope = false;
    if (col_http_query_get(call->req, "envelope", value, sizeof(value))) {
        if (strcmp(value, "1") != 0 && strcmp(value, "true") != 0 && strcmp(value, "0") != 0 &&
            strcmp(value, "false") != 0) {
            col_http_response_error(resp, 400, "invalid_parameter", "1, true, 0 or false",
                                    "envelope");
            return;
        }
        envelope = strcmp(value, "1") == 0 || strcmp(value, "true") == 0;
    }
    if (!prof_get(call, resp, envelope, &d)) {
        return;
    }
    prof_send_detail(resp, 200, d, true, envelope);
    col_store_profile_detail_destroy(d);
}

static void prof_transition(struct col_api_call *call, struct col_http_response *resp,
                            enum col_profile_state to)
{
    struct col_profile_detail *d = NULL;
    if (!prof_enabled(call, resp)) {
        return;
    }
    enum proto_rc rc =
        col_store_profile_transition(call->app->store, call->path_arg, to, call->actor);
    if (rc == PROTO_ENOTFOUND) {
        col_http_response_error(resp, 404, "not_found", "no such profile", "profile_id");
        return;
    }
    if (rc == PROTO_ECHANGED) {
        col_http_response_error(resp, 409, "profile_state",
                                to == COL_PROFILE_ASSIGNED
                                    ? "only a created profile can be assigned"
                                    : "only a created or assigned profile can be cancelled",
                                NULL);
        return;
    }
    if (rc) {
        col_http_response_error(resp, 500, "internal", "the change was not stored", NULL);
        return;
    }
    if (!prof_get(call, resp, false, &d)) {
        return;
    }
    prof_send_detail(resp, 200, d, false, false);
    col_store_profile_detail_destroy(d);
}

void col_api_profiles_assign(struct col_api_call *call, struct col_http_response *resp)
{
    prof_transition(call, resp, COL_PROFILE_ASSIGNED);
}

void col_api_profiles_cancel(struct col_api_call *call, struct col_http_response *resp)
{
    prof_transition(call, resp, COL_PROFILE_CANCELLED);
}

/* ---- agent: GET /v1/profiles/{id} ---------------------------------------------------------- */

void col_api_profiles_get(struct col_api_call *call, struct col_http_response *resp)
{
    struct col_profile_detail *d = NULL;
    if (!prof_enabled(call, resp)) {
        return;
    }
    enum proto_rc rc = col_store_profile_get(call->app->store, call->path_arg, true, &d);
    if (rc && rc != PROTO_ENOTFOUND) {
        col_http_response_error(resp, 500, "internal", "the profile query failed", NULL);
        return;
    }
    /* Only to its target, and only while it is offered or was: one answer for every "no", so a
     * host learns nothing about another host's profiles. */
    const struct col_profile *p = d != NULL ? &d->profile : NULL;
    if (p == NULL || call->peer->identity[0] == '\0' || p->host == NULL ||
        strcasecmp(p->host, call->peer->identity) != 0 || p->state == COL_PROFILE_CREATED ||
        p->state == COL_PROFILE_CANCELLED || p->expires <= col_clock_now_s() ||
        p->envelope == NULL) {
        col_store_profile_detail_destroy(d);
        col_http_response_error(resp, 404, "not_found", "no such profile for this host", NULL);
        return;
    }
    if (col_http_response_json(resp, 200, p->envelope) != PROTO_OK) {
        col_http_response_error(resp, 500, "internal", "out of memory", NULL);
    }
    col_store_profile_detail_destroy(d);
}
