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
 * Concurrency model and timeouts: docs/internals/collector.md. Its parts: listen.c (sockets),
 * pool.c (connection threads), conn.c (one connection's requests), events.c (the event thread).
 */
#ifndef COL_SERVER_H
#define COL_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "rc.h"
#include "server_config.h" /* struct col_server_config, the handler types */

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
/* Requests whose first bytes the event thread has read (tests, diagnostics): a test that drives
 * the clock waits for it before it moves the clock past such a request's deadline. */
unsigned long col_server_events_requests_seen(const struct col_server *server);
void col_server_destroy(struct col_server *server); /* accepts NULL; not while running */

#endif
