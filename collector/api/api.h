/*
 * api: the HTTP API handlers. The router has already checked the listener, the method and the
 * caller (client certificate or bearer token); a handler validates its input, calls the store
 * or the writer, and fills the response. Handlers never see sockets and never build SQL.
 */
#ifndef COL_API_H
#define COL_API_H

#include "api_ctx.h"
#include "http.h"
#include "peer.h"
#include "store.h"

struct col_api_call {
    struct col_api_ctx *app;
    const struct col_http_request *req;
    const struct col_peer *peer;
    const char *path_arg; /* the {id} part of the path, "" when none */
    enum col_role role;   /* of the bearer token; COL_ROLE_NONE on the agent listener */
    char actor[272];      /* "token:<name>" or "agent:<identity>", for the audit trail */
};

typedef void (*col_api_handler_fn)(struct col_api_call *call, struct col_http_response *resp);

/* api_reports.c */
void col_api_reports_post(struct col_api_call *call, struct col_http_response *resp);

/*
 * POST /v1/reports without blocking, for the server's event thread: the same checks and
 * answers as col_api_reports_post, split where it would wait for the writer.
 *   COL_API_ANSWERED  resp holds the answer (an error, or the writer refused at once).
 *   COL_API_PENDING   *op is set and the report is with the writer: `done(done_arg)` is called
 *                     once, on the writer's thread, when its batch has ended; then call
 *                     col_api_reports_finish on any one thread.
 *   COL_API_NOT_HERE  not returned by this handler; a router's answer for a route without a
 *                     non-blocking form.
 * call->req and call->peer stay borrowed until the op is finished; the op copies the rest of
 * `call`.
 */
typedef void (*col_api_done_fn)(void *done_arg);
struct col_api_report_op;
enum col_api_begin_result { COL_API_ANSWERED, COL_API_PENDING, COL_API_NOT_HERE };
typedef enum col_api_begin_result (*col_api_begin_fn)(const struct col_api_call *call,
                                                      struct col_http_response *resp,
                                                      col_api_done_fn done, void *done_arg,
                                                      struct col_api_report_op **op);
enum col_api_begin_result col_api_reports_begin(const struct col_api_call *call,
                                                struct col_http_response *resp,
                                                col_api_done_fn done, void *done_arg,
                                                struct col_api_report_op **op);
/* After done: fills resp and frees op (true), or, when the known-snapshot shortcut did not hold
 * in the store (decision 005), hands the report to the writer again after the full decode and
 * returns false: done comes once more, then finish again. */
bool col_api_reports_finish(struct col_api_report_op *op, struct col_http_response *resp);
void col_api_profiles_get(struct col_api_call *call, struct col_http_response *resp);
void col_api_results_post(struct col_api_call *call, struct col_http_response *resp);

/* api_query.c */
void col_api_summary(struct col_api_call *call, struct col_http_response *resp);
void col_api_hosts_list(struct col_api_call *call, struct col_http_response *resp);
void col_api_host_detail(struct col_api_call *call, struct col_http_response *resp);
void col_api_certs_list(struct col_api_call *call, struct col_http_response *resp);

/* api_admin.c */
void col_api_tokens_create(struct col_api_call *call, struct col_http_response *resp);
void col_api_tokens_list(struct col_api_call *call, struct col_http_response *resp);
void col_api_tokens_revoke(struct col_api_call *call, struct col_http_response *resp);
void col_api_healthz(struct col_api_call *call, struct col_http_response *resp);
void col_api_metrics(struct col_api_call *call, struct col_http_response *resp);

/* Sends a cJSON document (deletes it) as the body with `status`; 500 on allocation failure. */
void col_api_send_json(struct col_http_response *resp, int status, cJSON *doc);

#endif
