/*
 * api_query: the dashboard queries (DESIGN §10b): fleet summary, hosts and certificates with
 * composable filters (JSON by default, CSV on request), and one host's detail. Turns query
 * parameters into a struct col_query, validating each and naming the bad one in a 400, and the
 * store's structs into the JSON documents (the store renders nothing).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "api.h"
#include "caps.h"
#include "clock.h"
#include "render.h"
#include "timefmt.h"
#include "x509.h"

#define API_DEFAULT_LIMIT 100u
#define API_MAX_LIMIT 1000u
#define API_MAX_LIST_BYTES (32u * 1024u * 1024u)

/* Storage for the strings a struct col_query points to, sized by the caps the router holds
 * every parameter to (router.c), so that a value it let through always fits. */
struct api_query_text {
    char finding[COL_API_PARAM_MAX_ID + 1];
    char name[COL_API_PARAM_MAX_TEXT + 1];
    char issuer[COL_API_PARAM_MAX_TEXT + 1];
    char sort[COL_API_PARAM_MAX_ID + 1];
};

static bool api_parse_uint(const char *text, unsigned long max, unsigned long *out)
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

static bool api_bad(struct col_http_response *resp, const char *field, const char *message)
{
    col_http_response_error(resp, 400, "invalid_parameter", message, field);
    return false;
}

/* Fills q from the query string; false after answering 400 naming the parameter. */
static bool api_parse_query(const struct col_http_request *req, struct col_query *q,
                            struct api_query_text *text, struct col_http_response *resp)
{
    char value[COL_API_PARAM_MAX_ID + 1];
    unsigned long n = 0;
    memset(q, 0, sizeof(*q));
    q->min_severity = -1;
    q->expiring_within_days = -1;
    q->limit = API_DEFAULT_LIMIT;
    q->now = col_clock_now_s();

    if (col_http_query_get(req, "finding", text->finding, sizeof(text->finding))) {
        for (const char *p = text->finding; *p; p++) {
            if (!isupper((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_') {
                return api_bad(resp, "finding", "a finding id such as L2TP_CERT_WILDCARD");
            }
        }
        q->finding = text->finding;
    }
    if (col_http_query_get(req, "severity", value, sizeof(value))) {
        enum proto_severity sev;
        if (proto_severity_from_str(value, &sev) != PROTO_OK) {
            return api_bad(resp, "severity", "one of info, low, medium, high, critical");
        }
        q->min_severity = (int)sev;
    }
    if (col_http_query_get(req, "name", text->name, sizeof(text->name))) {
        q->name_pattern = text->name;
    }
    if (col_http_query_get(req, "issuer", text->issuer, sizeof(text->issuer))) {
        q->issuer = text->issuer;
    }
    if (col_http_query_get(req, "expiring_within_days", value, sizeof(value))) {
        if (!api_parse_uint(value, 36500, &n)) {
            return api_bad(resp, "expiring_within_days", "a number of days, 0 to 36500");
        }
        q->expiring_within_days = (int)n;
    }
    if (col_http_query_get(req, "last_seen_before", value, sizeof(value))) {
        if (proto_time_parse_rfc3339(value, &q->last_seen_before) != PROTO_OK) {
            return api_bad(resp, "last_seen_before", "an RFC 3339 time, e.g. 2026-11-25T00:00:00Z");
        }
    }
    if (col_http_query_get(req, "sort", text->sort, sizeof(text->sort))) {
        q->sort = text->sort;
    }
    if (col_http_query_get(req, "order", value, sizeof(value))) {
        if (strcmp(value, "asc") != 0 && strcmp(value, "desc") != 0) {
            return api_bad(resp, "order", "asc or desc");
        }
        q->descending = strcmp(value, "desc") == 0;
    }
    if (col_http_query_get(req, "limit", value, sizeof(value))) {
        if (!api_parse_uint(value, API_MAX_LIMIT, &n) || n == 0) {
            return api_bad(resp, "limit", "1 to 1000");
        }
        q->limit = n;
    }
    if (col_http_query_get(req, "offset", value, sizeof(value))) {
        if (!api_parse_uint(value, 100000000ul, &n)) {
            return api_bad(resp, "offset", "a non-negative number");
        }
        q->offset = n;
    }
    /* Read by api_wants_csv; checked here so that a misspelt format is not JSON by default. */
    if (col_http_query_get(req, "format", value, sizeof(value)) && strcmp(value, "csv") != 0 &&
        strcmp(value, "json") != 0) {
        return api_bad(resp, "format", "json or csv");
    }
    return true;
}

static bool api_wants_csv(const struct col_http_request *req)
{
    char format[COL_API_PARAM_MAX_WORD + 1];
    if (col_http_query_get(req, "format", format, sizeof(format))) {
        return strcmp(format, "csv") == 0;
    }
    const char *accept = col_http_header_get(req, "Accept");
    return accept != NULL && strstr(accept, "text/csv") != NULL;
}

typedef enum proto_rc (*api_list_fn)(struct col_store *st, const struct col_query *q,
                                     struct col_table **out);

static void api_list(struct col_api_call *call, struct col_http_response *resp, api_list_fn list)
{
    struct col_query q;
    struct api_query_text text;
    struct col_table *table = NULL;
    if (!api_parse_query(call->req, &q, &text, resp)) {
        return;
    }
    if (api_wants_csv(call->req)) {
        /* CSV exports the whole selection (up to COL_QUERY_MAX_LIMIT rows) unless the caller
         * pages explicitly: pagination is for screens. */
        char given[COL_API_PARAM_MAX_WORD + 1];
        if (!col_http_query_get(call->req, "limit", given, sizeof(given))) {
            q.limit = COL_QUERY_MAX_LIMIT;
        }
    }
    enum proto_rc rc = list(call->app->store, &q, &table);
    if (rc == PROTO_EINVAL) {
        col_http_response_error(resp, 400, "invalid_parameter", "not a column of this list",
                                "sort");
        return;
    }
    if (rc) {
        col_http_response_error(resp, 500, "internal", "the query failed", NULL);
        return;
    }
    bool csv = api_wants_csv(call->req);
    proto_buf_reset(&resp->body);
    resp->body.max = API_MAX_LIST_BYTES;
    rc = csv ? col_table_render_csv(table, &resp->body)
             : col_table_render_json(table, q.limit, q.offset, &resp->body);
    col_table_destroy(table);
    if (rc) {
        col_http_response_error(resp, 500, "internal", "the result is too large", NULL);
        return;
    }
    resp->status = 200;
    resp->content_type = csv ? "text/csv; charset=utf-8" : "application/json";
}

void col_api_hosts_list(struct col_api_call *call, struct col_http_response *resp)
{
    api_list(call, resp, col_store_query_hosts);
}

void col_api_certs_list(struct col_api_call *call, struct col_http_response *resp)
{
    api_list(call, resp, col_store_query_certs);
}

/* ---- JSON documents from the store's structs --------------------------------------------- */

/* An RFC 3339 string, or null when the time cannot be written as one. */
static bool api_add_time(cJSON *obj, const char *name, int64_t when)
{
    char buf[32];
    if (proto_time_format_rfc3339(when, buf, sizeof(buf)) != PROTO_OK) {
        return cJSON_AddNullToObject(obj, name) != NULL;
    }
    return cJSON_AddStringToObject(obj, name, buf) != NULL;
}

static bool api_add_text(cJSON *obj, const char *name, const char *text)
{
    if (text == NULL) {
        return cJSON_AddNullToObject(obj, name) != NULL;
    }
    return cJSON_AddStringToObject(obj, name, text) != NULL;
}

static bool api_add_int(cJSON *obj, const char *name, int64_t v)
{
    return cJSON_AddNumberToObject(obj, name, (double)v) != NULL;
}

/* The severity's name, or null when unknown. */
static bool api_add_severity(cJSON *obj, const char *name, int v)
{
    if (v < PROTO_SEV_INFO || v > PROTO_SEV_CRITICAL) {
        return cJSON_AddNullToObject(obj, name) != NULL;
    }
    return cJSON_AddStringToObject(obj, name, proto_severity_str((enum proto_severity)v)) != NULL;
}

/* JSON text the store kept (it wrote it itself, or took it from a validated report) as a value;
 * null when absent or unparseable. */
static bool api_add_stored_json(cJSON *obj, const char *name, const char *text, size_t len)
{
    cJSON *v = text != NULL ? cJSON_ParseWithLength(text, len) : NULL;
    if (v == NULL) {
        return cJSON_AddNullToObject(obj, name) != NULL;
    }
    if (!cJSON_AddItemToObject(obj, name, v)) {
        cJSON_Delete(v);
        return false;
    }
    return true;
}

static bool api_add_stored_json_str(cJSON *obj, const char *name, const char *text)
{
    return api_add_stored_json(obj, name, text, text != NULL ? strlen(text) : 0);
}

/* {"hosts", "hosts_at_risk", "by_severity": {"critical" .. "info", "none"}, "by_finding":
 * {id: hosts}, "reports", "last_report_at"}; NULL on allocation failure. */
static cJSON *api_summary_doc(const struct col_summary *s)
{
    cJSON *doc = cJSON_CreateObject();
    if (doc == NULL || !api_add_int(doc, "hosts", s->hosts) ||
        !api_add_int(doc, "hosts_at_risk", s->hosts_at_risk)) {
        goto fail;
    }
    cJSON *by_sev = cJSON_AddObjectToObject(doc, "by_severity");
    if (by_sev == NULL) {
        goto fail;
    }
    for (int sev = PROTO_SEV_CRITICAL; sev >= PROTO_SEV_INFO; sev--) {
        if (!api_add_int(by_sev, proto_severity_str((enum proto_severity)sev),
                         s->by_severity[sev])) {
            goto fail;
        }
    }
    if (!api_add_int(by_sev, "none", s->without_findings)) {
        goto fail;
    }
    cJSON *by_finding = cJSON_AddObjectToObject(doc, "by_finding");
    if (by_finding == NULL) {
        goto fail;
    }
    for (size_t i = 0; i < s->by_finding_count; i++) {
        if (!api_add_int(by_finding, s->by_finding[i].id, s->by_finding[i].hosts)) {
            goto fail;
        }
    }
    if (!api_add_int(doc, "reports", s->reports)) {
        goto fail;
    }
    if (!(s->has_last_report ? api_add_time(doc, "last_report_at", s->last_report_at)
                             : cJSON_AddNullToObject(doc, "last_report_at") != NULL)) {
        goto fail;
    }
    return doc;
fail:
    cJSON_Delete(doc);
    return NULL;
}

static bool api_host_object(cJSON *doc, const struct col_host_detail *d)
{
    cJSON *h = cJSON_AddObjectToObject(doc, "host");
    return h != NULL && api_add_text(h, "fqdn", d->fqdn) &&
           api_add_text(h, "hostname", d->hostname) && api_add_text(h, "os", d->os) &&
           api_add_text(h, "agent_version", d->agent_version) &&
           api_add_time(h, "first_seen", d->first_seen) &&
           api_add_time(h, "last_seen", d->last_seen) &&
           api_add_time(h, "collected_at", d->collected_at) &&
           api_add_text(h, "last_report_id", d->last_report_id) &&
           api_add_int(h, "last_seq", d->last_seq) &&
           (d->has_prohibit_ipsec ? api_add_int(h, "prohibit_ipsec", d->prohibit_ipsec)
                                  : cJSON_AddNullToObject(h, "prohibit_ipsec") != NULL) &&
           cJSON_AddBoolToObject(h, "automatic_policy", d->automatic_policy) != NULL &&
           api_add_text(h, "predicted_sha1", d->predicted_sha1) &&
           api_add_text(h, "predicted_cn", d->predicted_cn) &&
           api_add_severity(h, "max_severity", d->max_severity) &&
           api_add_int(h, "finding_count", d->finding_count) &&
           api_add_int(h, "spool_dropped", d->spool_dropped) &&
           api_add_int(h, "spool_quarantined", d->spool_quarantined);
}

static bool api_host_findings(cJSON *doc, const struct col_host_detail *d)
{
    cJSON *arr = cJSON_AddArrayToObject(doc, "findings");
    if (arr == NULL) {
        return false;
    }
    for (size_t i = 0; i < d->finding_rows; i++) {
        const struct col_host_finding *f = &d->findings[i];
        cJSON *o = cJSON_CreateObject();
        if (o == NULL || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            return false;
        }
        if (!api_add_text(o, "id", f->id) || !api_add_severity(o, "severity", f->severity) ||
            !api_add_text(o, "message", f->message) ||
            !api_add_stored_json_str(o, "certs", f->certs_json) ||
            !api_add_stored_json_str(o, "rules", f->rules_json) ||
            !api_add_time(o, "first_seen", f->first_seen) ||
            !api_add_time(o, "last_seen", f->last_seen)) {
            return false;
        }
    }
    return true;
}

static bool api_host_history(cJSON *doc, const struct col_host_detail *d)
{
    cJSON *arr = cJSON_AddArrayToObject(doc, "history");
    if (arr == NULL) {
        return false;
    }
    for (size_t i = 0; i < d->history_rows; i++) {
        const struct col_host_history *h = &d->history[i];
        cJSON *o = cJSON_CreateObject();
        if (o == NULL || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            return false;
        }
        if (!api_add_text(o, "id", h->id) || !api_add_text(o, "key", h->key) ||
            !api_add_severity(o, "severity", h->severity) ||
            !api_add_time(o, "first_seen", h->first_seen) ||
            !api_add_time(o, "last_seen", h->last_seen) ||
            !(h->resolved ? api_add_time(o, "resolved_at", h->resolved_at)
                          : cJSON_AddNullToObject(o, "resolved_at") != NULL)) {
            return false;
        }
    }
    return true;
}

/* {"host": {...}, "snapshot": <the latest snapshot> or null, "findings": [...], "history":
 * [...]} (the handler adds "profiles"); NULL on allocation failure. */
static cJSON *api_host_doc(const struct col_host_detail *d)
{
    cJSON *doc = cJSON_CreateObject();
    if (doc == NULL || !api_host_object(doc, d) ||
        !api_add_stored_json(doc, "snapshot", d->snapshot_json, d->snapshot_len) ||
        !api_host_findings(doc, d) || !api_host_history(doc, d)) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

void col_api_summary(struct col_api_call *call, struct col_http_response *resp)
{
    struct col_summary *summary = NULL;
    if (col_store_summary(call->app->store, &summary) != PROTO_OK) {
        col_http_response_error(resp, 500, "internal", "the summary query failed", NULL);
        return;
    }
    cJSON *doc = api_summary_doc(summary);
    col_store_summary_destroy(summary);
    col_api_send_json(resp, 200, doc);
}

/* A host name as DNS allows it: letters, digits, '-', '.', at most 253 characters. */
static bool api_valid_fqdn(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.') {
            return false;
        }
    }
    return true;
}

void col_api_host_detail(struct col_api_call *call, struct col_http_response *resp)
{
    struct col_host_detail *detail = NULL;
    if (!api_valid_fqdn(call->path_arg)) {
        col_http_response_error(resp, 400, "invalid_parameter", "not a host name", "fqdn");
        return;
    }
    enum proto_rc rc = col_store_host_detail(call->app->store, call->path_arg, &detail);
    if (rc == PROTO_ENOTFOUND) {
        col_http_response_error(resp, 404, "not_found", "no report from that host", "fqdn");
        return;
    }
    if (rc) {
        col_http_response_error(resp, 500, "internal", "the host query failed", NULL);
        return;
    }
    cJSON *doc = api_host_doc(detail);
    /* The host's remediation profiles, each with its results (docs/remediation.md). */
    cJSON *profiles = doc != NULL ? col_api_profiles_of_host_doc(call->app->store, detail->fqdn,
                                                                 col_clock_now_s())
                                  : NULL;
    col_store_host_detail_destroy(detail);
    if (doc != NULL && (profiles == NULL || !cJSON_AddItemToObject(doc, "profiles", profiles))) {
        cJSON_Delete(profiles);
        cJSON_Delete(doc);
        doc = NULL;
    }
    col_api_send_json(resp, 200, doc);
}
