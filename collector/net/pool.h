/*
 * pool: the connection threads. Each accepted connection is served by one detached thread that
 * runs its requests (conn.h) and, between requests on a kept agent connection, parks it with the
 * event thread (events.h). A thread whose connection ended waits up to idle_thread_ms for the
 * next one (at most idle_threads_max wait), so a new connection usually costs a hand-off instead
 * of a thread. Owns the threads, their connection structs (each with its socket and TLS
 * session) and, under one mutex, the list of open connections and the stack of idle threads.
 * Borrows the config, the TLS configuration, the stop pipe and flag, and the event thread. It
 * never accepts, listens or decides to stop: the server (server.c) does.
 */
#ifndef COL_POOL_H
#define COL_POOL_H

#include <stdatomic.h>

#include "rc.h"
#include "server_config.h"
#include "tls.h"

struct col_events;
struct col_pool;

/* What the pool borrows; each must outlive it. */
struct col_pool_deps {
    const struct col_server_config *cfg; /* with its defaults filled in */
    struct col_tls *tls;                 /* for each connection's TLS session */
    int stop_fd;                         /* readable once the server stops */
    const atomic_bool *stopping;
    struct col_events *events; /* or NULL: threads wait for their connections' next request */
};

/* *out is NULL on failure. Caller destroys with col_pool_destroy, after col_pool_drain. */
enum proto_rc col_pool_create(const struct col_pool_deps *deps, struct col_pool **out);
void col_pool_destroy(struct col_pool *pool); /* accepts NULL; not while threads run */

/*
 * Takes ownership of fd, accepted on a `kind` listener from remote_addr (text, copied): hands
 * it to the most recently idle thread (its caches are warm), else to a new thread; or closes it
 * and counts it refused, at max_connections or when no thread can be had.
 */
void col_pool_start(struct col_pool *pool, enum col_listener_kind kind, int fd,
                    const char *remote_addr);

/*
 * Once the server's stop flag is set: idle threads exit at once; in-flight requests get
 * stop_grace_ms, then the sockets still open are shut down; returns when every thread has ended.
 */
void col_pool_drain(struct col_pool *pool);

/* Connections open right now (a snapshot). */
unsigned long col_pool_connections(const struct col_pool *pool);

struct col_pool_stats {
    unsigned long threads_started; /* connection threads created since col_pool_create */
    unsigned long threads_alive;   /* serving a connection or idle in the pool */
    unsigned long threads_idle;    /* waiting in the pool for a connection */
    unsigned long handoffs;        /* connections given to an idle thread instead of a new one */
};
void col_pool_stats(const struct col_pool *pool, struct col_pool_stats *out);

#endif
