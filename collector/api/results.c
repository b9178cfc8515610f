/*
 * api_results: POST /v1/results, what an agent did with a profile (docs/remediation.md
 * "Online"). The body is decoded strictly (proto/wire_result.h), bound to the caller's
 * certificate identity (a host reports only its own results, for its own profiles) and stored
 * idempotently by result_id, which moves the profile's state. A blocking handler: a result is
 * rare and small, so it does not go through the report writer.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "alloc.h"
#include "api.h"
#include "caps.h"
#include "clock.h"
#include "log.h"
#include "wire_result.h"

static bool res_is_json(const struct col_http_request *req)
{
    const char *type = col_http_header_get(req, "Content-Type");
    return type != NULL && strncasecmp(type, "application/json", 16) == 0 &&
           (type[16] == '\0' || type[16] == ';' || type[16] == ' ');
}

static void res_answer(struct col_http_response *resp, int status, bool duplicate,
                       const char *result_id)
{
    cJSON *doc = cJSON_CreateObject();
    if (doc == NULL || cJSON_AddBoolToObject(doc, "accepted", true) == NULL ||
        cJSON_AddBoolToObject(doc, "duplicate", duplicate) == NULL ||
        cJSON_AddStringToObject(doc, "result_id", result_id) == NULL) {
        cJSON_Delete(doc);
        col_http_response_error(resp, 500, "internal", "out of memory", NULL);
        return;
    }
    col_api_send_json(resp, status, doc);
}

void col_api_results_post(struct col_api_call *call, struct col_http_response *resp)
{
    const struct col_http_request *req = call->req;
    struct proto_result *res = NULL;
    struct proto_json_error err = {"", ""};
    if (call->peer->identity[0] == '\0') {
        col_http_response_error(resp, 403, "forbidden",
                                "the client certificate names no single host", NULL);
        return;
    }
    if (!res_is_json(req)) {
        col_http_response_error(resp, 415, "unsupported_media_type", "results are application/json",
                                NULL);
        return;
    }
    enum proto_rc rc = proto_wire_decode_result(req->body, req->body_len, &res, &err);
    if (rc == PROTO_ENOMEM) {
        col_http_response_error(resp, 503, "busy", "out of memory", NULL);
        resp->retry_after_s = 5;
        return;
    }
    if (rc) {
        col_http_response_error(resp, rc == PROTO_ELIMIT ? 413 : 400, "invalid_result",
                                err.message[0] ? err.message : proto_rc_str(rc),
                                err.field[0] ? err.field : NULL);
        return;
    }
    if (strcasecmp(res->host, call->peer->identity) != 0) {
        col_log(COL_LOG_WARN, "result for %s refused: client certificate is %s", res->host,
                call->peer->identity);
        col_http_response_error(resp, 403, "forbidden",
                                "this certificate speaks for another host than the result's",
                                "host");
        goto out;
    }
    struct col_result_new in = {
        .result_id = res->result_id,
        .host = call->peer->identity,
        .profile_id = res->profile_id,
        .outcome = proto_wire_outcome_str(res->outcome),
        .reason = res->reason != NULL ? res->reason : "",
        .finished_at = res->finished_at,
        .received_at = col_clock_now_s(),
        .body = req->body,
        .body_len = req->body_len,
        .actor = call->actor,
    };
    bool duplicate = false;
    rc = col_store_result_insert(call->app->store, &in, &duplicate);
    if (rc == PROTO_ENOTFOUND) {
        col_http_response_error(resp, 404, "not_found", "no such profile for this host",
                                "profile_id");
        goto out;
    }
    if (rc == PROTO_ECHANGED) {
        col_http_response_error(resp, 409, "result_id_conflict",
                                "another host already sent a result with this result_id",
                                "result_id");
        goto out;
    }
    if (rc) {
        col_log(COL_LOG_ERROR, "storing result %s failed: %s", res->result_id, proto_rc_str(rc));
        col_http_response_error(resp, 500, "internal", "the result was not stored", NULL);
        goto out;
    }
    res_answer(resp, duplicate ? 200 : 202, duplicate, res->result_id);
out:
    proto_wire_result_destroy(res);
}
