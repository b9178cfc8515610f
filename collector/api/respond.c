/*
 * respond: the JSON helpers every handler shares: a cJSON document as the answer, and a request
 * body read as outside JSON (json_check.h), refused with a 400 naming the member otherwise.
 */
#include "alloc.h"
#include "api.h"
#include "caps.h"
#include "json_check.h"

void col_api_send_json(struct col_http_response *resp, int status, cJSON *doc)
{
    char *text = doc != NULL ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    if (text == NULL || col_http_response_json(resp, status, text) != PROTO_OK) {
        col_http_response_error(resp, 500, "internal", "out of memory", NULL);
    }
    proto_free(text);
}

cJSON *col_api_read_json_body(const struct col_http_request *req, size_t max_bytes,
                              struct col_http_response *resp)
{
    if (req->body_len > max_bytes) {
        col_http_response_error(resp, 413, "too_large", "the request body is too large", NULL);
        return NULL;
    }
    if (req->body == NULL || req->body_len == 0) {
        col_http_response_error(resp, 400, "invalid_json", "expected a JSON object, got no body",
                                NULL);
        return NULL;
    }
    struct proto_json_check_error err;
    cJSON *root = NULL;
    enum proto_rc rc =
        proto_json_parse_checked(req->body, req->body_len, PROTO_MAX_WIRE_DEPTH, &root, &err);
    if (rc == PROTO_ENOMEM) {
        col_http_response_error(resp, 503, "busy", "out of memory", NULL);
        resp->retry_after_s = 1;
        return NULL;
    }
    if (rc) {
        col_http_response_error(resp, 400, "invalid_json", err.message, err.member);
        return NULL;
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        col_http_response_error(resp, 400, "invalid_json", "expected a JSON object", NULL);
        return NULL;
    }
    return root;
}
