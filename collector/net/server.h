/*
 * server: the collector's HTTPS front end: two TLS listeners, one thread per connection (threads
 * are pooled: a thread that finished its connection waits a while for the next one), the
 * HTTP/1.1 keep-alive request loop with its limits and timeouts, and graceful stop.
 *
 * The agent listener requires mutual TLS; the admin listener is server-auth TLS (the router
 * checks bearer tokens). Each request is handed, with the peer the TLS layer established, to
 * the handler in the config: `serve` passes a wrapper around col_router_handle, tests pass
 * their own. The server owns sockets, threads and the TLS state; it never interprets a body,
 * never logs one, and answers bad input with a 4xx (never a 5xx).
 * Concurrency model and timeouts: docs/internals/collector.md.
 */
#ifndef COL_SERVER_H
#define COL_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "collector_config.h"
#include "http.h"
#include "metrics.h"
#include "peer.h"
#include "rc.h"

#define COL_SERVER_STACK_BYTES (256u * 1024u) /* per connection thread (1 MiB under ASan) */
#define COL_SERVER_DEFAULT_STOP_GRACE_MS 10000u
/* A connection thread whose connection ended waits this long for the acceptor to hand it the
 * next one before it exits; at most COL_SERVER_DEFAULT_IDLE_THREADS wait at a time, so a burst
 * does not leave thousands of idle threads behind. Not configuration keys: fixed defaults. */
#define COL_SERVER_DEFAULT_IDLE_THREAD_MS 10000u
#define COL_SERVER_DEFAULT_IDLE_THREADS 64u

/*
 * Called on a connection thread for each complete request (head parsed, body read). `req` and
 * `peer` are borrowed for the call. The handler fills resp (initialized with status 200 and no
 * body); leaving status outside 100..599 yields a 500. Must be thread-safe and should keep its
 * stack use well under COL_SERVER_STACK_BYTES.
 */
typedef void (*col_server_handler_fn)(void *ctx, const struct col_http_request *req,
                                      const struct col_peer *peer, struct col_http_response *resp);

/*
 * Optional, for the event thread (server_events.h): starts a request without blocking. Returns
 * NOT_HERE when this request needs the blocking `handler` (then resp is left untouched), ANSWERED
 * when resp holds the answer, or PENDING: *op is set and the handler calls done(done_arg) once,
 * from any thread, when `finish` may be called for it, and once more after each `finish` that
 * returns false. `req` and `peer` stay valid until `finish` returns true.
 */
enum col_server_begin_result {
    COL_SERVER_BEGIN_NOT_HERE,
    COL_SERVER_BEGIN_ANSWERED,
    COL_SERVER_BEGIN_PENDING
};
typedef void (*col_server_done_fn)(void *done_arg);
typedef enum col_server_begin_result (*col_server_begin_fn)(
    void *ctx, const struct col_http_request *req, const struct col_peer *peer,
    struct col_http_response *resp, col_server_done_fn done, void *done_arg, void **op);
/* After done: fills resp and ends op (true), or false when op is pending again (done comes
 * once more). */
typedef bool (*col_server_finish_fn)(void *ctx, void *op, struct col_http_response *resp);

struct col_server_config {
    const char *agent_listen; /* "127.0.0.1:8443", "[::1]:8443", ":8443"; NULL/"" disables */
    const char *admin_listen; /* same forms; NULL/"" disables */
    const char *tls_cert;     /* PEM files, read once by col_server_create */
    const char *tls_key;
    const char *client_ca; /* required when agent_listen is set */
    bool session_tickets;
    char ticket_key_file[600];     /* "": ticket keys in memory only (a restart forgets them) */
    unsigned long max_connections; /* beyond it: accepted and closed at once */
    unsigned long max_body_bytes;  /* larger Content-Length: 413 before reading */
    unsigned long handshake_timeout_ms; /* from accept to the end of the TLS handshake */
    unsigned long header_timeout_ms;    /* the whole head, from its first byte */
    unsigned long body_timeout_ms;      /* the whole body; also each response write */
    unsigned long idle_timeout_ms;      /* between keep-alive requests */
    unsigned long stop_grace_ms;        /* in-flight requests get this long after stop */
    unsigned long idle_thread_ms;       /* 0: COL_SERVER_DEFAULT_IDLE_THREAD_MS */
    unsigned long idle_threads_max;     /* 0: COL_SERVER_DEFAULT_IDLE_THREADS */
    col_server_handler_fn handler;
    void *handler_ctx;
    /* Both NULL, or both set: requests on idle keep-alive agent connections are then read and,
     * where `begin` takes them, served by the event thread (with handler_ctx). */
    col_server_begin_fn begin;
    col_server_finish_fn finish;
    bool event_keepalive;        /* false: no event thread even with begin/finish (config key) */
    struct col_metrics *metrics; /* borrowed, may be NULL; must outlive the server */
};

/* Fills out from the collector config; strings stay borrowed from cfg. handler, handler_ctx
 * and metrics are left NULL for the caller to set. */
void col_server_config_from(struct col_server_config *out, const struct col_config *cfg);

struct col_server;

/*
 * Loads the TLS material, binds and listens (so the ports are known before col_server_run).
 * On failure *out is NULL and err says what (file, address). Caller destroys the server with
 * col_server_destroy after col_server_run has returned (or instead of running it).
 */
enum proto_rc col_server_create(const struct col_server_config *cfg, struct col_server **out,
                                char *err, size_t err_size);

/* The bound port of a listener (useful with port 0); 0 when that listener is disabled. */
unsigned col_server_port(const struct col_server *server, enum col_listener_kind kind);

/*
 * Accepts and serves until col_server_stop: then closes the listeners, lets in-flight requests
 * finish for up to stop_grace_ms (idle keep-alive connections close at once, idle pooled
 * threads exit at once), shuts down what is left and returns when every connection thread has
 * ended. Call once, from one thread.
 */
enum proto_rc col_server_run(struct col_server *server);

/* Asks col_server_run to stop. Async-signal-safe (an atomic store and a write(2) to a pipe),
 * so a SIGTERM handler may call it; any thread may too, any number of times. */
void col_server_stop(struct col_server *server);

/* Connections open right now (a snapshot). */
unsigned long col_server_connections(const struct col_server *server);

/* The connection-thread pool, a snapshot (for tests and diagnostics). */
struct col_server_pool_stats {
    unsigned long threads_started; /* connection threads created since col_server_create */
    unsigned long threads_alive;   /* serving a connection or idle in the pool */
    unsigned long threads_idle;    /* waiting in the pool for a connection */
    unsigned long handoffs;        /* connections given to an idle thread instead of a new one */
};
void col_server_pool_stats(const struct col_server *server, struct col_server_pool_stats *out);

/* Connections the event thread gave back to their own threads, by why (tests, diagnostics). */
enum col_server_handback {
    COL_SERVER_HANDBACK_DATA,  /* a request it does not serve, or one not whole in time */
    COL_SERVER_HANDBACK_WRITE, /* an answer the socket could not take at once */
    COL_SERVER_HANDBACK_CLOSE, /* idle timeout, the stop, or an answer with Connection: close */
    COL_SERVER_HANDBACK_END    /* the peer closed, or an error */
};
unsigned long col_server_events_handed_back(const struct col_server *server,
                                            enum col_server_handback why);
void col_server_destroy(struct col_server *server); /* accepts NULL; not while running */

#endif
