/*
 * server_config: what the server is given (struct col_server_config) and the contract of the
 * handlers it calls. Every part of net/ reads it: server.c and pool.c (listeners, threads),
 * conn.c (limits, timeouts, the blocking handler), events.c (begin/finish). It lives apart from
 * server.h so that those parts need not include the server's own header (no include cycle).
 * It owns nothing: strings and pointers in the config are borrowed.
 */
#ifndef COL_SERVER_CONFIG_H
#define COL_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "collector_config.h"
#include "http.h"
#include "metrics.h"
#include "peer.h"

#define COL_SERVER_STACK_BYTES (256u * 1024u) /* per connection thread (1 MiB under ASan) */
#define COL_SERVER_DEFAULT_STOP_GRACE_MS 10000u
/* A connection thread whose connection ended waits this long for the acceptor to hand it the
 * next one before it exits; at most COL_SERVER_DEFAULT_IDLE_THREADS wait at a time, so a burst
 * does not leave thousands of idle threads behind. Not configuration keys: fixed defaults. */
#define COL_SERVER_DEFAULT_IDLE_THREAD_MS 10000u
#define COL_SERVER_DEFAULT_IDLE_THREADS 64u
/* Deadlines are decided on the collector's clock (clock.h), which a test may drive; a thread
 * blocked in poll() or a timed wait sleeps at most this long in real time before it reads that
 * clock again, so a clock moved forward is noticed within it. Not a configuration key. */
#define COL_SERVER_DEFAULT_CLOCK_RECHECK_MS 1000u

/*
 * Called on a connection thread for each complete request (head parsed, body read). `req` and
 * `peer` are borrowed for the call. The handler fills resp (initialized with status 200 and no
 * body); leaving status outside 100..599 yields a 500. Must be thread-safe and should keep its
 * stack use well under COL_SERVER_STACK_BYTES.
 */
typedef void (*col_server_handler_fn)(void *ctx, const struct col_http_request *req,
                                      const struct col_peer *peer, struct col_http_response *resp);

/*
 * Optional, for the event thread (events.h): starts a request without blocking. Returns
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
    unsigned long clock_recheck_ms;     /* 0: COL_SERVER_DEFAULT_CLOCK_RECHECK_MS */
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

/* Replaces the zero fields of cfg by their defaults (max_connections, max_body_bytes, the
 * timeouts, the pool's and the clock's fixed defaults). */
void col_server_config_defaults(struct col_server_config *cfg);

#endif
