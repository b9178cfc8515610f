/*
 * api_reports: the agent endpoints. POST /v1/reports validates the body strictly, binds the
 * report to the caller's certificate identity (an agent writes only its own host), recomputes
 * the findings with the fleet policy and answers only after the writer has committed.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "alloc.h"
#include "api.h"
#include "json.h"
#include "limits.h"
#include "log.h"
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

void col_api_reports_post(struct col_api_call *call, struct col_http_response *resp)
{
    struct proto_report *report = NULL;
    struct proto_diagnosis *diag = NULL;
    struct proto_json_error jerr = {"", ""};
    double started = api_now_seconds();
    const struct col_http_request *req = call->req;

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
    enum proto_rc rc = proto_json_decode_report(req->body, req->body_len, &report, &jerr);
    if (rc == PROTO_ENOMEM) {
        api_reject(call, resp, COL_REJECT_INTERNAL, 503, "busy", "out of memory", NULL);
        resp->retry_after_s = 5;
        goto out;
    }
    if (rc) {
        api_reject(call, resp, COL_REJECT_INVALID_REPORT, 400, "invalid_report",
                   jerr.message[0] ? jerr.message : proto_rc_str(rc),
                   jerr.field[0] ? jerr.field : NULL);
        goto out;
    }
    const char *fqdn = report->snapshot->host.fqdn;
    if (fqdn == NULL || strcasecmp(fqdn, call->peer->identity) != 0) {
        char message[512];
        snprintf(message, sizeof(message),
                 "this certificate speaks for %s only, not for the host in the report",
                 call->peer->identity);
        col_log(COL_LOG_WARN, "report for %s refused: client certificate is %s",
                fqdn ? fqdn : "(none)", call->peer->identity);
        api_reject(call, resp, COL_REJECT_FORBIDDEN, 403, "forbidden", message, "host.fqdn");
        goto out;
    }

    /* The collector's own diagnosis with the fleet policy: agents may run older rules. */
    struct proto_policy policy = call->app->policy;
    policy.now = (int64_t)time(NULL);
    rc = proto_diagnose(report->snapshot, &policy, &diag);
    if (rc) {
        api_reject(call, resp, COL_REJECT_INTERNAL, 503, "busy", "diagnosis failed", NULL);
        resp->retry_after_s = 5;
        goto out;
    }
    struct col_ingest in = {req->body, req->body_len, report, diag, policy.now};
    bool duplicate = false;
    rc = col_writer_submit(call->app->writer, &in, &duplicate);
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
    col_metrics_report_accepted(call->app->metrics, duplicate, api_now_seconds() - started);

    cJSON *doc = cJSON_CreateObject();
    if (doc != NULL) {
        cJSON_AddBoolToObject(doc, "accepted", true);
        cJSON_AddBoolToObject(doc, "duplicate", duplicate);
        cJSON_AddStringToObject(doc, "report_id", report->report_id);
        cJSON_AddNumberToObject(doc, "next_interval_s", (double)call->app->config->next_interval_s);
        cJSON_AddNumberToObject(doc, "findings", (double)diag->finding_count);
    }
    col_api_send_json(resp, duplicate ? 200 : 202, doc);
out:
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
