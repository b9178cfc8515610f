/*
 * api_reports: the agent endpoints. POST /v1/reports validates the body strictly, binds the
 * report to the caller's certificate identity (an agent writes only its own host), recomputes
 * the findings with the fleet policy and answers only after the writer has committed. A
 * snapshot whose bytes the collector has decoded and diagnosed before is not decoded again
 * (decision 005): only the envelope is, and the writer checks the shortcut against the store.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "alloc.h"
#include "api.h"
#include "json.h"
#include "json_span.h"
#include "limits.h"
#include "log.h"
#include "snapcache.h"
#include "writer.h"

static double api_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool api_is_json(const struct col_http_request *req)
{
    const char *type = col_http_header_get(req, "Content-Type");
    return type != NULL && strncasecmp(type, "application/json", 16) == 0 &&
           (type[16] == '\0' || type[16] == ';' || type[16] == ' ');
}

static void api_reject(struct col_api_call *call, struct col_http_response *resp,
                       enum col_reject_reason reason, int status, const char *code,
                       const char *message, const char *field)
{
    col_metrics_report_rejected(call->app->metrics, reason);
    col_http_response_error(resp, status, code, message, field);
}

/*
 * The shortcut of decision 005: when the snapshot's bytes are ones this collector decoded and
 * diagnosed before (the cache), decode only the envelope, with the snapshot's content left out.
 * False, with nothing allocated, when it does not apply; the full path then decides, and gives
 * any error message about the body as it is (offsets included).
 */
static bool api_decode_known_snapshot(const struct col_api_call *call, int64_t now,
                                      struct proto_report **report, struct col_ingest_facts *facts,
                                      size_t *finding_count)
{
    const struct col_http_request *req = call->req;
    size_t off = 0;
    size_t len = 0;
    struct col_snapcache_entry known;
    /* Over the document limit: the full path answers it as too large. */
    if (call->app->snapshots == NULL || req->body_len > PROTO_MAX_REPORT_BYTES ||
        proto_json_member_span(req->body, req->body_len, "snapshot", &off, &len) != PROTO_OK ||
        req->body[off] != '{') {
        return false;
    }
    col_ingest_facts_of_span(req->body, off, len, facts);
    if (!col_snapcache_get(call->app->snapshots, facts->snapshot_hash, now, &known)) {
        return false;
    }
    /* The envelope: the body with the snapshot's bytes replaced by an empty object. */
    size_t env_len = req->body_len - len + 2;
    char *envelope = proto_malloc(env_len + 1);
    if (envelope == NULL) {
        return false;
    }
    memcpy(envelope, req->body, off);
    memcpy(envelope + off, "{}", 2);
    memcpy(envelope + off + 2, req->body + off + len, req->body_len - off - len);
    envelope[env_len] = '\0';
    enum proto_rc rc = proto_json_decode_envelope(envelope, env_len, report, NULL);
    proto_free(envelope);
    if (rc) {
        return false;
    }
    memcpy(facts->diagnosis_hash, known.diagnosis_hash, sizeof(facts->diagnosis_hash));
    *finding_count = known.finding_count;
    return true;
}

/* The full path: strict decode of the whole body and the collector's own diagnosis. Answers
 * the error itself and returns false when the report cannot be taken. */
static bool api_decode_full(struct col_api_call *call, struct col_http_response *resp, int64_t now,
                            struct proto_report **report, struct proto_diagnosis **diag,
                            struct col_ingest_facts *facts)
{
    const struct col_http_request *req = call->req;
    struct proto_json_error jerr = {"", ""};
    enum proto_rc rc = proto_json_decode_report(req->body, req->body_len, report, &jerr);
    if (rc == PROTO_ENOMEM) {
        api_reject(call, resp, COL_REJECT_INTERNAL, 503, "busy", "out of memory", NULL);
        resp->retry_after_s = 5;
        return false;
    }
    if (rc) {
        api_reject(call, resp, COL_REJECT_INVALID_REPORT, 400, "invalid_report",
                   jerr.message[0] ? jerr.message : proto_rc_str(rc),
                   jerr.field[0] ? jerr.field : NULL);
        return false;
    }
    /* The collector's own diagnosis with the fleet policy: agents may run older rules. */
    struct proto_policy policy = call->app->policy;
    policy.now = now;
    rc = proto_diagnose((*report)->snapshot, &policy, diag);
    if (!rc) {
        struct col_ingest in = {req->body, req->body_len, *report, *diag, now, NULL};
        if (facts->snapshot != NULL && facts->snapshot_offset >= 0) {
            /* The snapshot was located and hashed when the cache was asked: not twice. */
            col_ingest_facts_add_diagnosis(*diag, facts);
        } else {
            col_ingest_facts_release(facts);
            rc = col_ingest_facts_compute(&in, facts); /* hashing here keeps the writer free */
        }
    }
    if (rc) {
        api_reject(call, resp, COL_REJECT_INTERNAL, 503, "busy", "out of memory", NULL);
        resp->retry_after_s = 5;
        return false;
    }
    return true;
}

static bool api_is_own_host(struct col_api_call *call, struct col_http_response *resp,
                            const struct proto_report *report)
{
    const char *fqdn = report->snapshot->host.fqdn;
    if (fqdn != NULL && strcasecmp(fqdn, call->peer->identity) == 0) {
        return true;
    }
    char message[512];
    snprintf(message, sizeof(message),
             "this certificate speaks for %s only, not for the host in the report",
             call->peer->identity);
    col_log(COL_LOG_WARN, "report for %s refused: client certificate is %s", fqdn ? fqdn : "(none)",
            call->peer->identity);
    api_reject(call, resp, COL_REJECT_FORBIDDEN, 403, "forbidden", message, "host.fqdn");
    return false;
}

void col_api_reports_post(struct col_api_call *call, struct col_http_response *resp)
{
    struct proto_report *report = NULL;
    struct proto_diagnosis *diag = NULL;
    struct col_ingest_facts facts;
    size_t finding_count = 0;
    double started = api_now_seconds();
    const struct col_http_request *req = call->req;
    int64_t now = (int64_t)time(NULL);
    memset(&facts, 0, sizeof(facts));

    if (call->peer->identity[0] == '\0') {
        api_reject(call, resp, COL_REJECT_FORBIDDEN, 403, "forbidden",
                   "the client certificate names no single host (wildcard or no name)", NULL);
        goto out;
    }
    if (!api_is_json(req)) {
        api_reject(call, resp, COL_REJECT_BAD_REQUEST, 415, "unsupported_media_type",
                   "reports are application/json", NULL);
        goto out;
    }
    bool known = api_decode_known_snapshot(call, now, &report, &facts, &finding_count);
    enum proto_rc rc = PROTO_OK;
    bool duplicate = false;
    for (;;) {
        if (!known) {
            if (!api_decode_full(call, resp, now, &report, &diag, &facts)) {
                goto out;
            }
            finding_count = diag->finding_count;
        }
        if (!api_is_own_host(call, resp, report)) {
            goto out;
        }
        struct col_ingest in = {req->body, req->body_len, report, diag, now, &facts};
        rc = col_writer_submit(call->app->writer, &in, &duplicate);
        if (rc != PROTO_ECHANGED || !known) {
            break;
        }
        /* The host's latest state is not what the cache assumed: do the full work. */
        proto_report_destroy(report);
        report = NULL;
        known = false;
    }
    if (rc == PROTO_ELIMIT || rc == PROTO_EUNAVAILABLE) {
        api_reject(call, resp, COL_REJECT_BUSY, rc == PROTO_ELIMIT ? 429 : 503, "busy",
                   rc == PROTO_ELIMIT ? "the collector is busy: retry later"
                                      : "the collector is shutting down: retry later",
                   NULL);
        resp->retry_after_s = call->app->config->next_interval_s > 60 ? 30 : 5;
        goto out;
    }
    if (rc) {
        col_log(COL_LOG_ERROR, "storing report %s failed: %s", report->report_id, proto_rc_str(rc));
        api_reject(call, resp, COL_REJECT_INTERNAL, 500, "internal", "the report was not stored",
                   NULL);
        goto out;
    }
    if (diag != NULL) {
        struct col_snapcache_entry entry = {"", "", diag->finding_count, now, diag->stable_until};
        memcpy(entry.snapshot_hash, facts.snapshot_hash, sizeof(entry.snapshot_hash));
        memcpy(entry.diagnosis_hash, facts.diagnosis_hash, sizeof(entry.diagnosis_hash));
        col_snapcache_put(call->app->snapshots, &entry);
    }
    col_metrics_report_accepted(call->app->metrics, duplicate, api_now_seconds() - started);
    col_metrics_snapshot_reused(call->app->metrics, known);

    /* report_id was checked to be a lower-case UUID, so it needs no escaping. */
    char answer[256];
    int n = snprintf(answer, sizeof(answer),
                     "{\"accepted\":true,\"duplicate\":%s,\"report_id\":\"%s\","
                     "\"next_interval_s\":%lu,\"findings\":%zu}",
                     duplicate ? "true" : "false", report->report_id,
                     call->app->config->next_interval_s, finding_count);
    if (n < 0 || (size_t)n >= sizeof(answer) ||
        col_http_response_json(resp, duplicate ? 200 : 202, answer) != PROTO_OK) {
        col_http_response_error(resp, 500, "internal", "the answer could not be written", NULL);
    }
out:
    col_ingest_facts_release(&facts);
    proto_diagnosis_destroy(diag);
    proto_report_destroy(report);
}

void col_api_profiles_get(struct col_api_call *call, struct col_http_response *resp)
{
    (void)call;
    col_http_response_error(resp, 404, "not_found",
                            "no such profile: remediation profiles are not issued yet", NULL);
}

void col_api_results_post(struct col_api_call *call, struct col_http_response *resp)
{
    (void)call;
    col_http_response_error(resp, 404, "not_found",
                            "no profile was assigned, so there is no result to take", NULL);
}
