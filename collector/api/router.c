/*
 * router: the route table and the caller checks (DESIGN §7, §8).
 *
 * A route names its listener, method, path (exact, or a prefix that takes one {id} segment),
 * on the admin listener the least role allowed, and the query parameters it takes. The router
 * answers 404/405/401/403, and 400 for a query parameter that is unknown, repeated, too long or
 * cannot be decoded, itself so handlers start from a caller and parameters they can use. A route
 * answers with its handler, or with its begin/finish pair (api.h), which the router also runs for
 * the blocking path: a route that waits for something fills only `begin` and `finish`.
 */
#include "router.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "api_op_int.h"
#include "caps.h"
#include "log.h"

/* Each route has a handler, or a begin and a finish (never both forms, never half a pair). */
struct col_api_route {
    enum col_listener_kind listener;
    const char *method;
    const char *path;           /* exact path, or a prefix ending in '/' that takes one segment */
    bool takes_id;              /* path is a prefix followed by {id} */
    enum col_role min_role;     /* admin listener only; COL_ROLE_NONE = no token needed */
    col_api_handler_fn handler; /* the blocking form, or NULL */
    col_api_begin_fn begin;     /* the non-blocking form, or NULL */
    col_api_finish_fn finish;
    const char *suffix; /* with takes_id: the exact text after {id} ("/assign"), or NULL */
    /* The query parameters the route takes; any other, or one that cannot be read, is a 400
     * naming it before the handler runs. NULL: none at all. */
    const struct col_http_query_param *params;
    size_t param_count;
};

/* Retry-After when the blocking path cannot set up its wait (out of memory). */
#define ROUTER_RETRY_SOON_S 5

/* The filters of the host and certificate lists (query.c parses them). */
static const struct col_http_query_param router_list_params[] = {
    {"finding", COL_API_PARAM_MAX_ID},
    {"severity", COL_API_PARAM_MAX_WORD},
    {"name", COL_API_PARAM_MAX_TEXT},
    {"issuer", COL_API_PARAM_MAX_TEXT},
    {"expiring_within_days", COL_API_PARAM_MAX_WORD},
    {"last_seen_before", COL_API_PARAM_MAX_ID},
    {"sort", COL_API_PARAM_MAX_ID},
    {"order", COL_API_PARAM_MAX_WORD},
    {"limit", COL_API_PARAM_MAX_WORD},
    {"offset", COL_API_PARAM_MAX_WORD},
    {"format", COL_API_PARAM_MAX_WORD},
};

/* GET /v1/profiles (profiles.c). */
static const struct col_http_query_param router_profile_list_params[] = {
    {"host", PROTO_MAX_FQDN},           {"state", COL_API_PARAM_MAX_WORD},
    {"limit", COL_API_PARAM_MAX_WORD},  {"offset", COL_API_PARAM_MAX_WORD},
    {"format", COL_API_PARAM_MAX_WORD},
};

/* GET /v1/profiles/{id} on the admin listener (profiles.c). */
static const struct col_http_query_param router_profile_show_params[] = {
    {"envelope", COL_API_PARAM_MAX_WORD},
};

#define ROUTER_PARAMS(table) table, (sizeof(table) / sizeof(table[0]))
#define ROUTER_NO_PARAMS NULL, 0

static const struct col_api_route routes[] = {
    {COL_LISTENER_AGENT, "POST", "/v1/reports", false, COL_ROLE_NONE, NULL, col_api_reports_begin,
     col_api_reports_finish, NULL, ROUTER_NO_PARAMS},
    {COL_LISTENER_AGENT, "GET", "/v1/profiles/", true, COL_ROLE_NONE, col_api_profiles_get, NULL,
     NULL, NULL, ROUTER_NO_PARAMS},
    {COL_LISTENER_AGENT, "POST", "/v1/results", false, COL_ROLE_NONE, col_api_results_post, NULL,
     NULL, NULL, ROUTER_NO_PARAMS},
    {COL_LISTENER_AGENT, "GET", "/healthz", false, COL_ROLE_NONE, col_api_healthz, NULL, NULL, NULL,
     ROUTER_NO_PARAMS},
    {COL_LISTENER_ADMIN, "GET", "/healthz", false, COL_ROLE_NONE, col_api_healthz, NULL, NULL, NULL,
     ROUTER_NO_PARAMS},
    {COL_LISTENER_ADMIN, "GET", "/metrics", false, COL_ROLE_VIEWER, col_api_metrics, NULL, NULL,
     NULL, ROUTER_NO_PARAMS},
    {COL_LISTENER_ADMIN, "GET", "/v1/fleet/summary", false, COL_ROLE_VIEWER, col_api_summary, NULL,
     NULL, NULL, ROUTER_NO_PARAMS},
    {COL_LISTENER_ADMIN, "GET", "/v1/hosts", false, COL_ROLE_VIEWER, col_api_hosts_list, NULL, NULL,
     NULL, ROUTER_PARAMS(router_list_params)},
    {COL_LISTENER_ADMIN, "GET", "/v1/hosts/", true, COL_ROLE_VIEWER, col_api_host_detail, NULL,
     NULL, NULL, ROUTER_NO_PARAMS},
    {COL_LISTENER_ADMIN, "GET", "/v1/certs", false, COL_ROLE_VIEWER, col_api_certs_list, NULL, NULL,
     NULL, ROUTER_PARAMS(router_list_params)},
    {COL_LISTENER_ADMIN, "POST", "/v1/profiles", false, COL_ROLE_OPERATOR, col_api_profiles_create,
     NULL, NULL, NULL, ROUTER_NO_PARAMS},
    {COL_LISTENER_ADMIN, "GET", "/v1/profiles", false, COL_ROLE_VIEWER, col_api_profiles_list, NULL,
     NULL, NULL, ROUTER_PARAMS(router_profile_list_params)},
    {COL_LISTENER_ADMIN, "GET", "/v1/profiles/", true, COL_ROLE_VIEWER, col_api_profiles_show, NULL,
     NULL, NULL, ROUTER_PARAMS(router_profile_show_params)},
    {COL_LISTENER_ADMIN, "POST", "/v1/profiles/", true, COL_ROLE_APPROVER, col_api_profiles_assign,
     NULL, NULL, "/assign", ROUTER_NO_PARAMS},
    {COL_LISTENER_ADMIN, "POST", "/v1/profiles/", true, COL_ROLE_OPERATOR, col_api_profiles_cancel,
     NULL, NULL, "/cancel", ROUTER_NO_PARAMS},
    {COL_LISTENER_ADMIN, "POST", "/v1/tokens", false, COL_ROLE_APPROVER, col_api_tokens_create,
     NULL, NULL, NULL, ROUTER_NO_PARAMS},
    {COL_LISTENER_ADMIN, "GET", "/v1/tokens", false, COL_ROLE_APPROVER, col_api_tokens_list, NULL,
     NULL, NULL, ROUTER_NO_PARAMS},
    {COL_LISTENER_ADMIN, "DELETE", "/v1/tokens/", true, COL_ROLE_APPROVER, col_api_tokens_revoke,
     NULL, NULL, NULL, ROUTER_NO_PARAMS},
};

#define ROUTER_ROUTE_COUNT (sizeof(routes) / sizeof(routes[0]))

/* Does `path` match the route's path? Sets *arg to the {id} segment for prefix routes. */
static bool router_path_matches(const struct col_api_route *r, const char *path, const char **arg)
{
    if (!r->takes_id) {
        *arg = "";
        return strcmp(path, r->path) == 0;
    }
    size_t n = strlen(r->path);
    if (strncmp(path, r->path, n) != 0 || path[n] == '\0') {
        return false;
    }
    const char *slash = strchr(path + n, '/');
    if (r->suffix == NULL ? slash != NULL
                          : slash == NULL || slash == path + n || strcmp(slash, r->suffix) != 0) {
        return false;
    }
    *arg = path + n;
    return true;
}

/* Checks the bearer token. Returns false after filling resp with 401 or 403. */
static bool router_authorize(struct col_api_call *call, const struct col_api_route *r,
                             struct col_http_response *resp)
{
    if (r->min_role == COL_ROLE_NONE) {
        return true;
    }
    const char *auth = col_http_header_get(call->req, "Authorization");
    const char *prefix = "Bearer ";
    if (auth == NULL || strncmp(auth, prefix, strlen(prefix)) != 0) {
        resp->bearer_challenge = true;
        col_http_response_error(resp, 401, "unauthorized",
                                "this endpoint needs an Authorization: Bearer token", NULL);
        return false;
    }
    char name[128] = "";
    enum col_role role = COL_ROLE_NONE;
    enum proto_rc rc = col_store_token_verify(call->app->store, auth + strlen(prefix), &role, name);
    if (rc == PROTO_ENOTFOUND) {
        resp->bearer_challenge = true;
        col_http_response_error(resp, 401, "unauthorized", "unknown or revoked token", NULL);
        return false;
    }
    if (rc) {
        col_http_response_error(resp, 500, "internal", "token check failed", NULL);
        return false;
    }
    if (role < r->min_role) {
        char message[160];
        snprintf(message, sizeof(message), "this endpoint needs the %s role; the token has %s",
                 col_role_str(r->min_role), col_role_str(role));
        col_http_response_error(resp, 403, "forbidden", message, NULL);
        return false;
    }
    call->role = role;
    snprintf(call->actor, sizeof(call->actor), "token:%s", name);
    return true;
}

/* The route for the request, or NULL; then resp, when given, is answered 404 or 405 (Allow: the
 * methods the path takes). *arg gets the {id} segment. */
static const struct col_api_route *router_match(const struct col_http_request *req,
                                                const struct col_peer *peer, const char **arg,
                                                struct col_http_response *resp)
{
    char allow[COL_HTTP_ALLOW_MAX] = "";
    for (size_t i = 0; i < ROUTER_ROUTE_COUNT; i++) {
        const struct col_api_route *r = &routes[i];
        const char *candidate_arg = "";
        if (r->listener != peer->listener || !router_path_matches(r, req->path, &candidate_arg)) {
            continue;
        }
        if (strcmp(r->method, req->method) == 0) {
            *arg = candidate_arg;
            return r;
        }
        size_t used = strlen(allow);
        snprintf(allow + used, sizeof(allow) - used, "%s%s", used ? ", " : "", r->method);
    }
    if (resp == NULL) {
        return NULL;
    }
    if (allow[0] != '\0') {
        snprintf(resp->allow, sizeof(resp->allow), "%s", allow);
        col_http_response_error(resp, 405, "method_not_allowed",
                                "this path does not take that method", NULL);
    } else {
        col_http_response_error(resp, 404, "not_found", "no such endpoint", NULL);
    }
    return NULL;
}

/* Checks the query string against the route's parameters. Returns false after answering 400
 * with the parameter named. */
static bool router_check_query(const struct col_api_route *r, const struct col_http_request *req,
                               struct col_http_response *resp)
{
    char bad[COL_API_PARAM_MAX_NAME + 1];
    const char *why = NULL;
    if (col_http_query_check(req, r->params, r->param_count, bad, sizeof(bad), &why)) {
        return true;
    }
    col_http_response_error(resp, 400, "invalid_parameter", why, bad);
    return false;
}

static void router_call_init(struct col_api_call *call, struct col_api_ctx *app,
                             const struct col_http_request *req, const struct col_peer *peer,
                             const char *arg)
{
    struct col_api_call init = {app, req, peer, arg, COL_ROLE_NONE, "", ""};
    *call = init;
    const char *slash = strchr(arg, '/');
    if (slash != NULL) {
        /* A route with a suffix: the {id} is what comes before it (router_path_matches). */
        size_t n = (size_t)(slash - arg);
        if (n >= sizeof(call->path_id)) {
            n = 0; /* longer than any id: matches nothing */
        }
        memcpy(call->path_id, arg, n);
        call->path_id[n] = '\0';
        call->path_arg = call->path_id;
    }
    if (peer->listener == COL_LISTENER_AGENT) {
        snprintf(call->actor, sizeof(call->actor), "agent:%s", peer->identity);
    }
}

/* Starts the route's op and remembers the route in it, for col_router_finish. */
static enum col_api_begin_result router_begin(const struct col_api_route *r,
                                              const struct col_api_call *call,
                                              struct col_http_response *resp, col_api_done_fn done,
                                              void *done_arg, struct col_api_op **op)
{
    *op = NULL;
    enum col_api_begin_result result = r->begin(call, resp, done, done_arg, op);
    if (result == COL_API_PENDING) {
        (*op)->route = r;
    }
    return result;
}

/* The blocking path's wait for a route's done, on this thread's own condition variable. */
struct router_waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
};

static void router_waiter_wake(void *arg)
{
    struct router_waiter *wt = arg;
    pthread_mutex_lock(&wt->mu);
    wt->done = true;
    pthread_cond_signal(&wt->cv);
    pthread_mutex_unlock(&wt->mu);
}

/* A begin/finish route on the calling thread: begin, then wait for each done and finish until
 * finish holds the answer. */
static void router_run_op(const struct col_api_route *r, const struct col_api_call *call,
                          struct col_http_response *resp)
{
    struct router_waiter wt = {.done = false};
    bool mu_ready = pthread_mutex_init(&wt.mu, NULL) == 0;
    if (!mu_ready || pthread_cond_init(&wt.cv, NULL) != 0) {
        if (mu_ready) {
            pthread_mutex_destroy(&wt.mu);
        }
        col_http_response_error(resp, 503, "busy", "out of memory", NULL);
        resp->retry_after_s = ROUTER_RETRY_SOON_S;
        return;
    }
    struct col_api_op *op = NULL;
    if (router_begin(r, call, resp, router_waiter_wake, &wt, &op) == COL_API_PENDING) {
        for (;;) {
            pthread_mutex_lock(&wt.mu);
            while (!wt.done) {
                pthread_cond_wait(&wt.cv, &wt.mu);
            }
            wt.done = false;
            pthread_mutex_unlock(&wt.mu);
            if (col_router_finish(op, resp)) {
                break;
            }
        }
    }
    pthread_cond_destroy(&wt.cv);
    pthread_mutex_destroy(&wt.mu);
}

void col_router_handle(struct col_api_ctx *app, const struct col_http_request *req,
                       const struct col_peer *peer, struct col_http_response *resp)
{
    const char *arg = "";
    const struct col_api_route *match = router_match(req, peer, &arg, resp);
    if (match == NULL) {
        return;
    }
    struct col_api_call call;
    router_call_init(&call, app, req, peer, arg);
    if (!router_authorize(&call, match, resp) || !router_check_query(match, req, resp)) {
        return;
    }
    if (match->handler != NULL) {
        match->handler(&call, resp);
    } else {
        router_run_op(match, &call, resp);
    }
}

enum col_api_begin_result col_router_begin(struct col_api_ctx *app,
                                           const struct col_http_request *req,
                                           const struct col_peer *peer,
                                           struct col_http_response *resp, col_api_done_fn done,
                                           void *done_arg, struct col_api_op **op)
{
    *op = NULL;
    /* Unknown paths and wrong methods are answered by the blocking router (they are rare). */
    const char *arg = "";
    const struct col_api_route *match = router_match(req, peer, &arg, NULL);
    if (match == NULL || match->begin == NULL) {
        return COL_API_NOT_HERE;
    }
    struct col_api_call call;
    router_call_init(&call, app, req, peer, arg);
    if (!router_authorize(&call, match, resp) || !router_check_query(match, req, resp)) {
        return COL_API_ANSWERED;
    }
    return router_begin(match, &call, resp, done, done_arg, op);
}

bool col_router_finish(struct col_api_op *op, struct col_http_response *resp)
{
    return op->route->finish(op, resp);
}
