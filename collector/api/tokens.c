/*
 * tokens: the bearer-token resource on the admin listener (approver only; every change audited
 * by the store): create (the secret shown once), list, revoke.
 */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "api.h"
#include "render.h"

#define API_MAX_TOKEN_NAME 120u
#define API_MAX_TOKEN_BODY 4096u

void col_api_tokens_create(struct col_api_call *call, struct col_http_response *resp)
{
    cJSON *body = col_api_read_json_body(call->req, API_MAX_TOKEN_BODY, resp);
    if (body == NULL) {
        return;
    }
    const cJSON *role_item = cJSON_GetObjectItemCaseSensitive(body, "role");
    const cJSON *name_item = cJSON_GetObjectItemCaseSensitive(body, "name");
    enum col_role role =
        cJSON_IsString(role_item) ? col_role_from_str(role_item->valuestring) : COL_ROLE_NONE;
    if (role == COL_ROLE_NONE) {
        cJSON_Delete(body);
        col_http_response_error(resp, 400, "invalid_parameter",
                                "role must be viewer, operator or approver", "role");
        return;
    }
    if (!cJSON_IsString(name_item) || name_item->valuestring[0] == '\0' ||
        strlen(name_item->valuestring) > API_MAX_TOKEN_NAME) {
        cJSON_Delete(body);
        col_http_response_error(resp, 400, "invalid_parameter",
                                "name must be a non-empty string of at most 120 bytes", "name");
        return;
    }
    char token[COL_TOKEN_MAX];
    char id[32];
    enum proto_rc rc = col_store_token_create(call->app->store, role, name_item->valuestring,
                                              call->actor, token, id);
    if (rc) {
        cJSON_Delete(body);
        col_http_response_error(resp, 500, "internal", "the token was not created", NULL);
        return;
    }
    cJSON *doc = cJSON_CreateObject();
    if (doc != NULL) {
        cJSON_AddStringToObject(doc, "id", id);
        cJSON_AddStringToObject(doc, "token", token);
        cJSON_AddStringToObject(doc, "role", col_role_str(role));
        cJSON_AddStringToObject(doc, "name", name_item->valuestring);
    }
    cJSON_Delete(body);
    memset(token, 0, sizeof(token));
    col_api_send_json(resp, 201, doc);
}

void col_api_tokens_list(struct col_api_call *call, struct col_http_response *resp)
{
    struct col_table *table = NULL;
    if (col_store_token_list(call->app->store, &table) != PROTO_OK) {
        col_http_response_error(resp, 500, "internal", "the token list failed", NULL);
        return;
    }
    proto_buf_reset(&resp->body);
    enum proto_rc rc =
        col_table_render_json(table, table->nrows ? table->nrows : 1, 0, &resp->body);
    col_table_destroy(table);
    if (rc) {
        col_http_response_error(resp, 500, "internal", "out of memory", NULL);
        return;
    }
    resp->status = 200;
    resp->content_type = "application/json";
}

void col_api_tokens_revoke(struct col_api_call *call, struct col_http_response *resp)
{
    enum proto_rc rc = col_store_token_revoke(call->app->store, call->path_arg, call->actor);
    if (rc == PROTO_ENOTFOUND) {
        col_http_response_error(resp, 404, "not_found", "no active token with that id", "id");
        return;
    }
    if (rc) {
        col_http_response_error(resp, 500, "internal", "the token was not revoked", NULL);
        return;
    }
    cJSON *doc = cJSON_CreateObject();
    if (doc != NULL) {
        cJSON_AddStringToObject(doc, "revoked", call->path_arg);
    }
    col_api_send_json(resp, 200, doc);
}
