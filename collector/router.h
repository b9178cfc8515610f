/*
 * router: maps (listener, method, path) to a handler and enforces who may call it.
 *
 * Agent endpoints (/v1/reports, /v1/profiles/{id}, /v1/results) exist only on the agent
 * listener and need a client identity; everything else lives on the admin listener and needs a
 * bearer token of the route's minimum role. Unknown path: 404; known path, wrong method: 405
 * with Allow. Handlers fill the response; the router never touches the socket.
 */
#ifndef COL_ROUTER_H
#define COL_ROUTER_H

#include "app.h"
#include "http.h"
#include "peer.h"

void col_router_handle(struct col_app *app, const struct col_http_request *req,
                       const struct col_peer *peer, struct col_http_response *resp);

#endif
