/*
 * router: maps (listener, method, path) to a route and enforces who may call it. A route
 * answers with a handler, or with a begin/finish pair (api.h) that the router runs blocking
 * (col_router_handle) or not (col_router_begin/finish, for the server's event thread).
 *
 * Agent endpoints (/v1/reports, /v1/profiles/{id}, /v1/results) exist only on the agent
 * listener and need a client identity; everything else lives on the admin listener and needs a
 * bearer token of the route's minimum role. Unknown path: 404; known path, wrong method: 405
 * with Allow. Handlers fill the response; the router never touches the socket.
 */
#ifndef COL_ROUTER_H
#define COL_ROUTER_H

#include "api.h"
#include "api_ctx.h"
#include "http.h"
#include "peer.h"

/* Answers the request on this thread: a route's handler, or its begin and finish with a wait
 * for done in between. */
void col_router_handle(struct col_api_ctx *app, const struct col_http_request *req,
                       const struct col_peer *peer, struct col_http_response *resp);

/*
 * The non-blocking form, for the server's event thread: a route with a `begin` is started
 * (api.h explains the results and the calls that follow); anything else is COL_API_NOT_HERE,
 * with nothing answered, and must go through col_router_handle. PENDING: *op is set,
 * done(done_arg) comes once, then col_router_finish.
 */
enum col_api_begin_result col_router_begin(struct col_api_ctx *app,
                                           const struct col_http_request *req,
                                           const struct col_peer *peer,
                                           struct col_http_response *resp, col_api_done_fn done,
                                           void *done_arg, struct col_api_op **op);
/* Calls the finish of the route that began `op`: true when resp holds the answer (op is freed);
 * false when op is pending again. */
bool col_router_finish(struct col_api_op *op, struct col_http_response *resp);

#endif
