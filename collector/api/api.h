/*
 * api: the HTTP API handlers. The router has already checked the listener, the method and the
 * caller (client certificate or bearer token); a handler validates its input, calls the store
 * or the writer, and fills the response. Handlers never see sockets and never build SQL.
 */
#ifndef COL_API_H
#define COL_API_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "api_ctx.h"
#include "http.h"
#include "peer.h"
#include "store.h"

/* Caps on query parameters, in decoded bytes (the router refuses longer ones with a 400). */
#define COL_API_PARAM_MAX_NAME 63u  /* a parameter's name, as an error names it */
#define COL_API_PARAM_MAX_WORD 15u  /* a keyword or a number: severity, order, limit, format */
#define COL_API_PARAM_MAX_ID 63u    /* an identifier or a time: finding, sort, last_seen_before */
#define COL_API_PARAM_MAX_TEXT 255u /* a name pattern, an issuer, a host */

struct col_api_call {
    struct col_api_ctx *app;
    const struct col_http_request *req;
    const struct col_peer *peer;
    const char *path_arg; /* the {id} part of the path, "" when none */
    enum col_role role;   /* of the bearer token; COL_ROLE_NONE on the agent listener */
    char actor[272];      /* "token:<name>" or "agent:<identity>", for the audit trail */
    /* Holds the {id} when the route's path goes on after it ("/v1/profiles/{id}/assign"):
     * path_arg then points here, so a copy of the call must not outlive this one. */
    char path_id[128];
};

/* The blocking form of a route: fills resp before it returns. */
typedef void (*col_api_handler_fn)(struct col_api_call *call, struct col_http_response *resp);

/*
 * The non-blocking form of a route, for a route whose answer waits for something (the writer's
 * commit): the same checks and answers, split where the handler would wait. A route that has
 * it fills `begin` and `finish` in the router's table (router.c) and needs no handler: the
 * router runs the pair with a wait for the blocking path, and the server's event thread runs it
 * without one (router.h).
 *
 * An op is the request in flight, of the route's own type behind the opaque struct col_api_op
 * (api_op_int.h: the route's type starts with it; the router remembers the route in it).
 *
 * begin:
 *   COL_API_ANSWERED  resp holds the answer (an error, or refused at once); *op stays NULL.
 *   COL_API_PENDING   *op is set and the work is under way: `done(done_arg)` is called once,
 *                     on any thread (the writer's), possibly before begin has returned; after
 *                     it, call finish on any one thread.
 *   COL_API_NOT_HERE  never returned by a route; the router's answer for a request whose route
 *                     has no begin.
 * finish: fills resp and frees op (true), or starts the work again (a route's own reason: for
 *   reports, the known-snapshot shortcut did not hold in the store, decision 005) and returns
 *   false: done comes once more, then finish again.
 * call->req and call->peer stay borrowed until finish has returned true; begin copies the rest
 * of `call` into its op.
 */
struct col_api_op;
typedef void (*col_api_done_fn)(void *done_arg);
enum col_api_begin_result { COL_API_ANSWERED, COL_API_PENDING, COL_API_NOT_HERE };
typedef enum col_api_begin_result (*col_api_begin_fn)(const struct col_api_call *call,
                                                      struct col_http_response *resp,
                                                      col_api_done_fn done, void *done_arg,
                                                      struct col_api_op **op);
typedef bool (*col_api_finish_fn)(struct col_api_op *op, struct col_http_response *resp);

/* reports.c: POST /v1/reports (non-blocking form only), and the other agent endpoints. */
enum col_api_begin_result col_api_reports_begin(const struct col_api_call *call,
                                                struct col_http_response *resp,
                                                col_api_done_fn done, void *done_arg,
                                                struct col_api_op **op);
bool col_api_reports_finish(struct col_api_op *op, struct col_http_response *resp);

/* profiles.c: the agent's GET /v1/profiles/{id} (the envelope), and the admin endpoints. */
void col_api_profiles_get(struct col_api_call *call, struct col_http_response *resp);
void col_api_profiles_create(struct col_api_call *call, struct col_http_response *resp);
void col_api_profiles_list(struct col_api_call *call, struct col_http_response *resp);
void col_api_profiles_show(struct col_api_call *call, struct col_http_response *resp);
void col_api_profiles_assign(struct col_api_call *call, struct col_http_response *resp);
void col_api_profiles_cancel(struct col_api_call *call, struct col_http_response *resp);
/* The host's profiles (newest first, each with "results") as a JSON array for its detail;
 * NULL on failure. Caller deletes. */
cJSON *col_api_profiles_of_host_doc(struct col_store *st, const char *host, int64_t now);

/* results.c: the agent's POST /v1/results. */
void col_api_results_post(struct col_api_call *call, struct col_http_response *resp);

/* query.c */
void col_api_summary(struct col_api_call *call, struct col_http_response *resp);
void col_api_hosts_list(struct col_api_call *call, struct col_http_response *resp);
void col_api_host_detail(struct col_api_call *call, struct col_http_response *resp);
void col_api_certs_list(struct col_api_call *call, struct col_http_response *resp);

/* tokens.c, health.c */
void col_api_tokens_create(struct col_api_call *call, struct col_http_response *resp);
void col_api_tokens_list(struct col_api_call *call, struct col_http_response *resp);
void col_api_tokens_revoke(struct col_api_call *call, struct col_http_response *resp);
void col_api_healthz(struct col_api_call *call, struct col_http_response *resp);
void col_api_metrics(struct col_api_call *call, struct col_http_response *resp);

/* Sends a cJSON document (deletes it) as the body with `status`; 500 on allocation failure. */
void col_api_send_json(struct col_http_response *resp, int status, cJSON *doc);

/* The request body as a JSON object, checked as outside JSON (json_check.h: RFC 8259, UTF-8,
 * no \u0000, depth PROTO_MAX_WIRE_DEPTH, one value per member name). Caller deletes the tree.
 * NULL after answering: 413 past max_bytes, 400 "invalid_json" naming the member, 503 when out
 * of memory. */
cJSON *col_api_read_json_body(const struct col_http_request *req, size_t max_bytes,
                              struct col_http_response *resp);

#endif
