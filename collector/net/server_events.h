/*
 * server_events: one event thread that holds the idle keep-alive connections of the agent
 * listener and serves the report requests that arrive whole on them, so that a steady stream of
 * reports on kept-alive connections wakes neither their connection threads nor one thread per
 * report (decision 008, docs/internals/collector.md).
 *
 * A connection thread that has answered its second (COL_SERVER_PARK_AFTER) or a later request on
 * a kept-alive agent connection parks the connection here (col_events_park) and sleeps until the
 * event thread hands it back. The event thread waits
 * on every parked socket with one epoll. When a request arrives whole in the connection's read
 * buffer and the server's non-blocking `begin` takes it (POST /v1/reports), the event thread
 * starts it, writes the answer once the writer's commit has completed it, and keeps the
 * connection parked. Everything else goes back to the connection's own thread, which handles it
 * as it handles any request: another endpoint, a malformed head, a body that does not fit the
 * buffer, a request still incomplete at its deadline, an answer the socket cannot take at once,
 * the peer closing, the idle timeout and the stop. It owns its epoll and wake descriptors and
 * its thread; it borrows parked connections, never closes their sockets and never blocks on one.
 */
#ifndef COL_SERVER_EVENTS_H
#define COL_SERVER_EVENTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "rc.h"

struct col_conn;
struct col_server;
struct col_events;

/* Why the event thread gave a connection back to its thread. */
enum col_events_outcome {
    COL_EVENTS_NOT_PARKED,   /* stopping, or epoll refused the socket: go on as if off */
    COL_EVENTS_DATA,         /* request bytes wait in c->rbuf or in TLS: read and serve them */
    COL_EVENTS_WRITE,        /* an answer is half sent: finish c->out[park.sent, park.len) */
    COL_EVENTS_CLOSE_NOTIFY, /* idle timeout, the stop, or an answer with Connection: close */
    COL_EVENTS_END           /* the peer closed, or an error: close */
};

/* The part of a connection the event thread uses while it is parked (in struct col_conn). */
struct col_events_park {
    pthread_cond_t cv; /* the thread waits here, under the events' mutex, while parked */
    bool cv_ready;
    bool parked;                     /* under the events' mutex */
    enum col_events_outcome outcome; /* set when handed back */
    uint64_t deadline_ms;            /* idle, or from a request's first byte: the whole request */
    uint64_t head_deadline_ms;       /* with DATA: when the head must be in (0: header timeout) */
    uint64_t started_ms;             /* the request being served */
    void *op;                        /* the handler's pending request, or NULL */
    struct col_http_response resp;   /* its answer, while op is pending */
    size_t sent;                     /* with WRITE: bytes of c->out already sent ... */
    size_t len;                      /* ... of len */
    bool keep;                       /* ... and whether the connection stays open after it */
    int status;                      /* ... its status and body size, for the access log */
    size_t body_len;
    struct col_conn *prev; /* in the parked list, under the events' mutex */
    struct col_conn *next;
    struct col_conn *done_next; /* in the completed list, under the events' mutex */
};

/* Starts the event thread for srv (borrowed; must outlive it). NULL on failure (no epoll,
 * no thread): the server then runs without it. */
struct col_events *col_events_create(struct col_server *srv);
/* From now on nothing is parked: idle connections go back (CLOSE_NOTIFY), partly received
 * requests go back (DATA), pending answers are written with Connection: close when their commit
 * ends. */
void col_events_stop(struct col_events *ev);
/* Joins the thread and frees. Only once no connection is parked (every connection thread has
 * ended). Accepts NULL. */
void col_events_destroy(struct col_events *ev);

/* Initializes / frees c->park. */
bool col_events_park_init(struct col_events_park *park);
void col_events_park_free(struct col_events_park *park);

/*
 * Called by c's thread after it answered a request and kept the connection (c->rlen == 0, no
 * TLS bytes pending): hands c to the event thread and sleeps until it comes back. Returns why.
 * The event thread decodes whatever report it takes, a new snapshot's full decode and diagnosis
 * included (~0.4 ms): handing those back to run on connection threads in parallel was measured
 * slower (decision 008).
 */
enum col_events_outcome col_events_park(struct col_events *ev, struct col_conn *c);

/* Connections handed back with `outcome` so far (for tests and diagnostics). */
uint64_t col_events_handed_back(struct col_events *ev, enum col_events_outcome outcome);

#endif
