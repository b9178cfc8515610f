/*
 * health: GET /healthz (liveness) and GET /metrics (Prometheus text: the counters of
 * metrics.c plus what is read at render time: the writer's queue depth and the database size).
 */
#include "api.h"
#include "writer.h"

void col_api_healthz(struct col_api_call *call, struct col_http_response *resp)
{
    (void)call;
    col_http_response_json(resp, 200, "{\"status\":\"ok\"}");
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
