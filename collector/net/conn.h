/*
 * conn: one HTTP/1.1 connection over TLS and the request logic both of its threads run: reading
 * a head and a body within their deadlines, calling the blocking handler, serializing an answer,
 * deciding what follows it, the error answers with their lingering close, and the access log.
 * A connection thread (pool.c) runs col_conn_serve and col_conn_unparked; the event thread
 * (events.c) uses the same buffers and helpers while the connection is parked with it.
 *
 * A struct col_conn owns its socket while attached, its TLS session, its read, body and answer
 * buffers (reused across keep-alive requests and, on a pooled thread, across connections). It
 * borrows the server's config and stop flag. Its fields are only ever touched by the one thread
 * that holds it at the time. It never calls into the server, the pool or the event thread.
 */
#ifndef COL_CONN_H
#define COL_CONN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "http.h"
#include "server_config.h"
#include "tls.h"

#define COL_CONN_RBUF (COL_HTTP_MAX_HEAD + 1024u) /* > MAX_HEAD so 431 can be told apart */
#define COL_CONN_LINGER_MS 1000u                  /* drain after an error answer */
#define COL_CONN_LINGER_BYTES (256u * 1024u)
#define COL_CONN_OUT_MAX (COL_HTTP_MAX_HEAD + 64u * 1024u * 1024u)
/* Per-connection body and response buffers live across keep-alive requests (a large malloc per
 * request made glibc consolidate its fastbins every time); the body buffer starts at BODY_MIN and
 * doubles. Either buffer is freed after a request that grew it past KEEP_MAX, so thousands of
 * idle connections hold small buffers only. */
#define COL_CONN_BODY_MIN 4096u
#define COL_CONN_KEEP_MAX (256u * 1024u)
/* A pooled thread waiting for its next connection keeps smaller buffers still: 64 idle threads
 * then hold at most a few MB (a typical report needs a 16 KiB body buffer). */
#define COL_CONN_IDLE_KEEP_MAX (64u * 1024u)
/* A connection is parked with the event thread (decision 008) once it has carried this many
 * requests on its own thread. Agents that report once per connection (a 5-minute interval
 * outlives the idle timeout) close it after their one request: parking those would only add a
 * hand-off and two epoll calls per report (measured: ~5% more CPU per report in mode (a)). */
#define COL_CONN_PARK_AFTER 2u
/* How long a close_notify may take to leave before the socket is closed anyway. */
#define COL_CONN_CLOSE_NOTIFY_MS 1000u

struct col_events;

/* Why the event thread gave a connection back to its thread. */
enum col_conn_park_outcome {
    COL_CONN_PARK_NOT_PARKED,   /* stopping, or epoll refused the socket: go on as if off */
    COL_CONN_PARK_DATA,         /* request bytes wait in c->rbuf or in TLS: read and serve them */
    COL_CONN_PARK_WRITE,        /* an answer is half sent: finish c->out[park.sent, park.len) */
    COL_CONN_PARK_CLOSE_NOTIFY, /* idle timeout, the stop, or an answer with Connection: close */
    COL_CONN_PARK_END           /* the peer closed, or an error: close */
};

/* The part of a connection the event thread uses while it is parked (events.c). Of it, conn.c
 * reads only head_deadline_ms and, after a WRITE hand-back, the fields marked "with WRITE". */
struct col_conn_park {
    pthread_cond_t cv; /* the thread waits here, under the events' mutex, while parked */
    bool cv_ready;
    bool parked;                        /* under the events' mutex */
    struct col_events *events;          /* who holds it while parked */
    enum col_conn_park_outcome outcome; /* set when handed back */
    uint64_t deadline_ms;          /* idle, or from a request's first byte: the whole request */
    uint64_t head_deadline_ms;     /* with DATA: when the head must be in (0: header timeout) */
    uint64_t started_ms;           /* the request being served; with WRITE: for the access log */
    void *op;                      /* the handler's pending request, or NULL */
    struct col_http_response resp; /* its answer, while op is pending */
    size_t sent;                   /* with WRITE: bytes of c->out already sent ... */
    size_t len;                    /* ... of len */
    bool keep;                     /* ... and whether the connection stays open after it */
    int status;                    /* ... its status and body size, for the access log */
    size_t body_len;
    struct col_conn *prev; /* in the parked list, under the events' mutex */
    struct col_conn *next;
    struct col_conn *done_next; /* in the completed list, under the events' mutex */
};

struct col_conn {
    const struct col_server_config *cfg; /* borrowed: the server's (limits, handler, metrics) */
    const atomic_bool *stopping;         /* borrowed: the server's stop flag */
    int fd;                              /* -1 between connections */
    enum col_listener_kind kind;
    uint64_t accepted_ms;
    struct col_peer peer;
    struct col_tls_conn *tls; /* kept across connections (reset), or NULL */
    char *rbuf;               /* COL_CONN_RBUF bytes: the head being read, then pipelined bytes */
    size_t rlen;
    struct col_http_request *req;
    char *body;           /* body_cap bytes reused by each request's body (req->body); or NULL */
    size_t body_cap;      /* <= max_body_bytes + 1 */
    struct proto_buf out; /* the serialized response, reused; max COL_CONN_OUT_MAX */
    unsigned served;      /* requests answered on this connection, up to COL_CONN_PARK_AFTER */
    struct col_conn_park park;
};

/* A connection struct without a connection yet (fd -1, no TLS session); cfg and stopping are
 * borrowed and must outlive it. NULL on allocation failure. Caller destroys. */
struct col_conn *col_conn_create(const struct col_server_config *cfg, const atomic_bool *stopping);
/* Destroys the TLS session, closes the socket if one is attached, frees. Accepts NULL. */
void col_conn_destroy(struct col_conn *c);

/* Takes ownership of fd (a connection accepted on a `kind` listener from remote_addr) and sets
 * the per-connection fields; c->tls must then be made ready for fd (col_tls_conn_reset/create). */
void col_conn_attach(struct col_conn *c, enum col_listener_kind kind, int fd,
                     const char *remote_addr);
/* The connection is over: closes the socket, wipes the peer and the TLS session (so nothing of
 * the peer outlives it), trims the buffers for an idle thread. c->tls is NULL afterwards when
 * its reset failed. */
void col_conn_detach(struct col_conn *c);

/* Runs the TLS handshake (c->tls ready for c->fd) within handshake_timeout_ms of the accept;
 * counts and logs it. False: the connection is over (close it). */
bool col_conn_handshake(struct col_conn *c);

/* What the connection's thread does next. */
enum col_conn_next {
    COL_CONN_CLOSE, /* the connection is over (answered and said goodbye as needed): close it */
    COL_CONN_SERVE, /* read and serve the next request (its bytes may already be in c->rbuf) */
    COL_CONN_PARK   /* kept and idle, with nothing pending: it may wait on the event thread */
};

/*
 * Serves requests until the connection ends (CLOSE) or, when `may_park`, until it has served
 * COL_CONN_PARK_AFTER requests and waits for the next one (PARK).
 */
enum col_conn_next col_conn_serve(struct col_conn *c, bool may_park);

/* After the event thread gave c back with `outcome`: finishes what it left (a half-sent answer,
 * close_notify) and says what comes next (SERVE, PARK again, or CLOSE). */
enum col_conn_next col_conn_unparked(struct col_conn *c, enum col_conn_park_outcome outcome);

/* ---- shared with the event thread -------------------------------------------------------- */

/* Makes c->body hold at least `need` bytes (need <= max_body_bytes + 1); drops its contents. */
bool col_conn_body_reserve(struct col_conn *c, size_t need);
/* After a request: the handler's view of the body ends, and buffers that one big request grew
 * are given back so an idle keep-alive connection stays small. */
void col_conn_recycle(struct col_conn *c);
/*
 * Serializes the handler's answer into c->out (a handler that set no valid status gets a 500)
 * and frees resp. *keep: whether the connection stays open after it; *send_len: the bytes of
 * c->out to send (a HEAD answer has no body). False when it could not be serialized.
 */
bool col_conn_serialize_answer(struct col_conn *c, struct col_http_response *resp, bool *keep,
                               size_t *send_len, int *status, size_t *body_len);
/* What follows an answer, decided the same way on the connection thread and the event thread. */
enum col_conn_after {
    COL_CONN_AFTER_CLOSE,        /* it was not sent: close */
    COL_CONN_AFTER_CLOSE_NOTIFY, /* Connection: close: send close_notify, close */
    COL_CONN_AFTER_READ,         /* kept, and the next request's bytes are already here */
    COL_CONN_AFTER_WAIT          /* kept, nothing waits: wait for the next request */
};
enum col_conn_after col_conn_after_answer(struct col_conn *c, bool sent, bool keep);
/* The debug access line of one request. */
void col_conn_log_access(const struct col_conn *c, int status, size_t body_len, uint64_t started_ms,
                         bool written);

#endif
