/*
 * server_int: what server.c and server_events.c share: the server and connection structs, the
 * limits both apply, and the request helpers both run (defined in server.c). Nothing outside
 * those two files includes it; a connection's fields are only ever touched by the one thread
 * that owns it at the time (its connection thread, or the event thread while it is parked).
 */
#ifndef COL_SERVER_INT_H
#define COL_SERVER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "server.h"
#include "tls.h"

#define COL_SERVER_LISTENERS 2
#define COL_SERVER_RBUF (COL_HTTP_MAX_HEAD + 1024u) /* > MAX_HEAD so 431 can be told apart */
#define COL_SERVER_ACCEPT_BURST 64                  /* accepts per wake-up, per listener */
#define COL_SERVER_LINGER_MS 1000u                  /* drain after an error answer */
#define COL_SERVER_LINGER_BYTES (256u * 1024u)
#define COL_SERVER_OUT_MAX (COL_HTTP_MAX_HEAD + 64u * 1024u * 1024u)
/* Per-connection body and response buffers live across keep-alive requests (a large malloc per
 * request made glibc consolidate its fastbins every time); the body buffer starts at BODY_MIN and
 * doubles. Either buffer is freed after a request that grew it past KEEP_MAX, so thousands of
 * idle connections hold small buffers only. */
#define COL_SERVER_BODY_MIN 4096u
#define COL_SERVER_KEEP_MAX (256u * 1024u)
/* A pooled thread waiting for its next connection keeps smaller buffers still: 64 idle threads
 * then hold at most a few MB (a typical report needs a 16 KiB body buffer). */
#define COL_SERVER_IDLE_KEEP_MAX (64u * 1024u)
/* A connection is parked with the event thread (decision 008) once it has carried this many
 * requests on its own thread. Agents that report once per connection (a 5-minute interval
 * outlives the idle timeout) close it after their one request: parking those would only add a
 * hand-off and two epoll calls per report (measured: ~5% more CPU per report in mode (a)). */
#define COL_SERVER_PARK_AFTER 2u
/* How long a close_notify may take to leave before the socket is closed anyway. */
#define COL_SERVER_CLOSE_NOTIFY_MS 1000u

#if defined(__SANITIZE_ADDRESS__)
#define COL_SERVER_THREAD_STACK (1024u * 1024u) /* ASan's redzones triple frame sizes */
#else
#define COL_SERVER_THREAD_STACK COL_SERVER_STACK_BYTES
#endif

/*
 * One connection thread and what it keeps between connections. The per-connection fields (fd,
 * kind, accepted_ms, peer, rlen) are set by the acceptor before the thread sees them: before
 * pthread_create, or under srv->lock when it hands the struct to an idle pooled thread.
 */
struct col_conn {
    struct col_server *srv;
    int fd; /* -1 between connections */
    enum col_listener_kind kind;
    uint64_t accepted_ms;
    struct col_peer peer;
    struct col_tls_conn *tls;
    char *rbuf; /* COL_SERVER_RBUF bytes: the head being read, then pipelined bytes */
    size_t rlen;
    struct col_http_request *req;
    char *body;            /* body_cap bytes reused by each request's body (req->body); or NULL */
    size_t body_cap;       /* <= max_body_bytes + 1 */
    struct proto_buf out;  /* the serialized response, reused; max COL_SERVER_OUT_MAX */
    struct col_conn *prev; /* in srv->conns, under srv->lock */
    struct col_conn *next;
    /* While parked with the event thread (server_events.c): the thread waits on park.cv. */
    struct col_events_park park;
    pthread_cond_t wake;        /* the acceptor's hand-off or the stop, under srv->lock */
    bool wake_ready;            /* wake was initialized */
    bool assigned;              /* under srv->lock: a connection was handed to this idle thread */
    struct col_conn *idle_next; /* in srv->idle_conns, under srv->lock */
};

struct col_server {
    struct col_server_config cfg; /* strings are not used after create */
    struct col_tls *tls;
    int listen_fd[COL_SERVER_LISTENERS]; /* by enum col_listener_kind; -1 when disabled */
    unsigned port[COL_SERVER_LISTENERS];
    int stop_pipe[2];
    atomic_bool stopping;
    atomic_ulong active;
    pthread_mutex_t lock;
    pthread_cond_t idle; /* broadcast when a connection ends and when a connection thread exits */
    pthread_attr_t thread_attr;
    bool attr_ready;
    bool sync_ready;
    struct col_conn *conns;      /* serving a connection (fd open), under lock */
    struct col_conn *idle_conns; /* idle pooled threads, most recently idle first, under lock */
    unsigned long idle_count;    /* entries of idle_conns, under lock */
    unsigned long threads;       /* connection threads alive (serving or idle), under lock */
    atomic_ulong threads_started;
    atomic_ulong handoffs;
    struct col_events *events; /* NULL: connection threads wait for their next request */
};

/* Makes c->body hold at least `need` bytes (need <= max_body_bytes + 1); drops its contents. */
bool col_server_conn_body_reserve(struct col_conn *c, size_t need);
/* After a request: the handler's view of the body ends, and buffers that one big request grew
 * are given back so an idle keep-alive connection stays small. */
void col_server_conn_recycle(struct col_conn *c);
/*
 * Serializes the handler's answer into c->out (a handler that set no valid status gets a 500)
 * and frees resp. *keep: whether the connection stays open after it; *send_len: the bytes of
 * c->out to send (a HEAD answer has no body). False when it could not be serialized.
 */
bool col_server_conn_serialize_answer(struct col_conn *c, struct col_http_response *resp,
                                      bool *keep, size_t *send_len, int *status, size_t *body_len);
/* What follows an answer, decided the same way on the connection thread and the event thread. */
enum col_server_after {
    COL_SERVER_AFTER_CLOSE,        /* it was not sent: close */
    COL_SERVER_AFTER_CLOSE_NOTIFY, /* Connection: close: send close_notify, close */
    COL_SERVER_AFTER_READ,         /* kept, and the next request's bytes are already here */
    COL_SERVER_AFTER_WAIT          /* kept, nothing waits: wait for the next request */
};
enum col_server_after col_server_conn_after_answer(struct col_conn *c, bool sent, bool keep);
/* The debug access line of one request. */
void col_server_conn_log_access(const struct col_conn *c, int status, size_t body_len,
                                uint64_t started_ms, bool written);

#endif
