/*
 * health: GET /healthz (readiness: 200 when the collector can take reports, 503 with the reasons
 * when it cannot) and GET /metrics (Prometheus text: the counters of metrics.c plus what is read
 * at render time: the writer's queue depth and the database size).
 *
 * /healthz judges the store's own facts (store.h: col_store_health) and the writer's queue
 * (decision 016): unhealthy while the integrity check runs or after it failed, while writes fail
 * (disk full, I/O error, corruption), and while the writer's queue is full. The last commit's
 * age is shown, not judged: an idle fleet commits nothing.
 */
#include "api.h"
#include "clock.h"
#include "writer.h"

void col_api_healthz(struct col_api_call *call, struct col_http_response *resp)
{
    struct col_api_ctx *app = call->app;
    struct col_store_health h;
    col_store_health(app->store, &h);
    size_t depth = col_writer_queue_depth(app->writer);
    size_t queue_max = app->config != NULL ? (size_t)app->config->writer_queue_max : 0;

    cJSON *doc = cJSON_CreateObject();
    cJSON *store = cJSON_AddObjectToObject(doc, "store");
    cJSON *writer = cJSON_AddObjectToObject(doc, "writer");
    cJSON *reasons = cJSON_AddArrayToObject(doc, "reasons");
    if (store == NULL || writer == NULL || reasons == NULL) {
        cJSON_Delete(doc);
        col_http_response_error(resp, 500, "internal", "out of memory", NULL);
        return;
    }
    if (h.check == COL_STORE_CHECK_RUNNING) {
        cJSON_AddItemToArray(reasons, cJSON_CreateString("database integrity check running"));
    } else if (h.check == COL_STORE_CHECK_FAILED) {
        cJSON_AddItemToArray(reasons, cJSON_CreateString("database integrity check failed"));
    }
    if (h.fault != COL_STORE_FAULT_NONE) {
        cJSON_AddItemToArray(reasons, cJSON_CreateString(h.fault == COL_STORE_FAULT_FULL
                                                             ? "database full: writes fail"
                                                             : "database writes fail"));
    }
    if (queue_max > 0 && depth >= queue_max) {
        cJSON_AddItemToArray(reasons, cJSON_CreateString("writer queue full"));
    }
    bool healthy = cJSON_GetArraySize(reasons) == 0;
    cJSON_AddStringToObject(doc, "status", healthy ? "ok" : "unhealthy");
    cJSON_AddStringToObject(store, "check", col_store_check_str(h.check));
    if (h.check_message[0] != '\0') {
        cJSON_AddStringToObject(store, "check_message", h.check_message);
    }
    cJSON_AddBoolToObject(store, "writable", h.fault == COL_STORE_FAULT_NONE);
    cJSON_AddStringToObject(store, "fault", col_store_fault_str(h.fault));
    if (h.has_commit) {
        uint64_t now = col_clock_monotonic_ms();
        uint64_t age_ms = now > h.last_commit_ms ? now - h.last_commit_ms : 0;
        cJSON_AddNumberToObject(store, "last_commit_age_s", (double)(age_ms / 1000u));
    } else {
        cJSON_AddNullToObject(store, "last_commit_age_s");
    }
    cJSON_AddNumberToObject(writer, "queue_depth", (double)depth);
    cJSON_AddNumberToObject(writer, "queue_max", (double)queue_max);
    if (!healthy) {
        resp->retry_after_s = 30;
    }
    col_api_send_json(resp, healthy ? 200 : 503, doc);
}

void col_api_metrics(struct col_api_call *call, struct col_http_response *resp)
{
    int64_t db_size = 0;
    if (col_store_db_size(call->app->store, &db_size) != PROTO_OK) {
        db_size = -1;
    }
    proto_buf_reset(&resp->body);
    if (col_metrics_render(call->app->metrics, col_writer_queue_depth(call->app->writer), db_size,
                           &resp->body) != PROTO_OK) {
        col_http_response_error(resp, 500, "internal", "out of memory", NULL);
        return;
    }
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4";
}
