/*
 * respond: the JSON answer helper every handler shares (a cJSON document as the body).
 */
#include "alloc.h"
#include "api.h"

void col_api_send_json(struct col_http_response *resp, int status, cJSON *doc)
{
    char *text = doc != NULL ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    if (text == NULL || col_http_response_json(resp, status, text) != PROTO_OK) {
        col_http_response_error(resp, 500, "internal", "out of memory", NULL);
    }
    proto_free(text);
}
