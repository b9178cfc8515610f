/*
 * events: the event thread for idle keep-alive agent connections (see events.h).
 *
 * Owns the epoll descriptor, an eventfd that wakes the thread (completed requests, stop, exit),
 * the thread, and under one mutex the list of parked connections and the list of connections
 * whose pending request has completed. While a connection is parked, only the event thread
 * touches it (its socket is registered one-shot, so one event at a time); its own thread sleeps
 * on park.cv and takes it back only when `parked` is false again. The event thread never
 * waits on a socket: every TLS call it makes is non-blocking, and whatever would need waiting
 * goes back to the connection's thread with its deadlines. Deadlines are decided on the
 * collector's clock (clock.h); how often they are looked at (COL_EVENTS_SCAN_MS) is real time,
 * so a test's clock that jumps forward is seen within one scan.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include "events.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "clock.h"
#include "log.h"

#define COL_EVENTS_BATCH 64     /* epoll events taken per wake-up */
#define COL_EVENTS_SCAN_MS 100u /* how often deadlines are checked (their resolution) */
#define COL_EVENTS_ERROR_PAUSE_NS (10 * 1000000L) /* after a failed epoll_wait: no busy loop */

struct col_events {
    const struct col_server_config *cfg;
    int epfd;
    int wakefd;
    pthread_t thread;
    pthread_mutex_t mu;
    bool stopping;              /* under mu: nothing parks any more */
    bool exiting;               /* under mu: the thread returns */
    struct col_conn *parked;    /* under mu */
    struct col_conn *done_head; /* under mu: pending requests whose commit has ended, FIFO */
    struct col_conn *done_tail;
    atomic_uint_fast64_t handed_back[COL_CONN_PARK_END + 1]; /* by outcome */
    atomic_uint_fast64_t requests_seen; /* requests whose first bytes were read here */
};

static void events_wake(struct col_events *ev)
{
    uint64_t one = 1;
    ssize_t n = write(ev->wakefd, &one, sizeof(one)); /* a full counter is already a wake-up */
    (void)n;
}

/* Under ev->mu. */
static void events_unlink(struct col_events *ev, struct col_conn *c)
{
    if (c->park.prev != NULL) {
        c->park.prev->park.next = c->park.next;
    } else {
        ev->parked = c->park.next;
    }
    if (c->park.next != NULL) {
        c->park.next->park.prev = c->park.prev;
    }
    c->park.prev = NULL;
    c->park.next = NULL;
}

/* Hands c back to its thread: from here on only the thread touches it. */
static void events_hand_back(struct col_events *ev, struct col_conn *c,
                             enum col_conn_park_outcome outcome)
{
    (void)epoll_ctl(ev->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    col_tls_conn_set_nonblocking(c->tls, false);
    atomic_fetch_add(&ev->handed_back[outcome], 1);
    pthread_mutex_lock(&ev->mu);
    events_unlink(ev, c);
    c->park.outcome = outcome;
    c->park.parked = false;
    pthread_cond_signal(&c->park.cv);
    pthread_mutex_unlock(&ev->mu);
}

/* Waits for the next request on c (one event: the registration is one-shot). */
static void events_arm(struct col_events *ev, struct col_conn *c)
{
    struct epoll_event e = {.events = EPOLLIN | EPOLLONESHOT, .data.ptr = c};
    if (epoll_ctl(ev->epfd, EPOLL_CTL_MOD, c->fd, &e) != 0) {
        events_hand_back(ev, c, COL_CONN_PARK_DATA); /* its thread waits with poll() instead */
    }
}

/* The server's done callback (any thread, usually the writer's): queue c for the event thread. */
static void events_done(void *arg)
{
    struct col_conn *c = arg;
    struct col_events *ev = c->park.events;
    pthread_mutex_lock(&ev->mu);
    bool was_empty = ev->done_head == NULL;
    c->park.done_next = NULL;
    if (ev->done_tail != NULL) {
        ev->done_tail->park.done_next = c;
    } else {
        ev->done_head = c;
    }
    ev->done_tail = c;
    if (was_empty) {
        /* One wake-up for all the requests of a commit. Under the mutex: once it is released the
         * event thread may answer c, the server may stop and col_events_destroy free ev. */
        events_wake(ev);
    }
    pthread_mutex_unlock(&ev->mu);
}

/* Sends the answer in c->park.resp (frees it) and decides what becomes of the connection. */
static void events_answer(struct col_events *ev, struct col_conn *c)
{
    const struct col_server_config *cfg = ev->cfg;
    bool keep = false;
    size_t send_len = 0;
    int status = 0;
    size_t body_len = 0;

    if (!col_conn_serialize_answer(c, &c->park.resp, &keep, &send_len, &status, &body_len)) {
        col_conn_recycle(c);
        events_hand_back(ev, c, COL_CONN_PARK_END);
        return;
    }
    /* Counted before it is sent, so a client that has the answer sees it counted. */
    col_metrics_request_served(cfg->metrics, true);
    size_t sent = 0;
    enum col_tls_io io = col_tls_conn_write_nb(c->tls, c->out.data, send_len, &sent);
    if (io == COL_TLS_IO_AGAIN) {
        c->park.sent = sent;
        c->park.len = send_len;
        c->park.keep = keep;
        c->park.status = status;
        c->park.body_len = body_len;
        events_hand_back(ev, c, COL_CONN_PARK_WRITE); /* its thread finishes it, with a deadline */
        return;
    }
    col_conn_log_access(c, status, body_len, c->park.started_ms, io == COL_TLS_IO_OK);
    col_conn_recycle(c);
    switch (col_conn_after_answer(c, io == COL_TLS_IO_OK, keep)) {
    case COL_CONN_AFTER_CLOSE:
        events_hand_back(ev, c, COL_CONN_PARK_END);
        break;
    case COL_CONN_AFTER_CLOSE_NOTIFY:
        events_hand_back(ev, c, COL_CONN_PARK_CLOSE_NOTIFY);
        break;
    case COL_CONN_AFTER_READ:
        events_hand_back(ev, c, COL_CONN_PARK_DATA); /* pipelined: the thread reads on */
        break;
    case COL_CONN_AFTER_WAIT:
        c->park.deadline_ms = col_clock_monotonic_ms() + cfg->idle_timeout_ms;
        events_arm(ev, c);
        break;
    }
}

/*
 * c->rbuf holds c->rlen bytes of a request. Serves it here when it is whole and `begin` takes
 * it; waits for more when it may still become so; gives it back otherwise.
 */
static void events_try_request(struct col_events *ev, struct col_conn *c)
{
    const struct col_server_config *cfg = ev->cfg;
    struct col_http_request *req = c->req;
    size_t head_len = 0;
    int status = 0;
    const char *why = NULL;

    enum col_http_parse_result r =
        col_http_parse_head(c->rbuf, c->rlen, req, &head_len, &status, &why);
    if (r == COL_HTTP_INVALID) {
        events_hand_back(ev, c, COL_CONN_PARK_DATA); /* its thread parses it again and answers */
        return;
    }
    if (r == COL_HTTP_INCOMPLETE) {
        if (c->rlen >= COL_CONN_RBUF) {
            events_hand_back(ev, c, COL_CONN_PARK_DATA);
        } else {
            events_arm(ev, c);
        }
        return;
    }
    uint64_t length = req->has_content_length ? req->content_length : 0;
    /* 100-continue, a body over the limit or too big for the buffer: the thread's way. */
    if (col_http_header_get(req, "Expect") != NULL || length > cfg->max_body_bytes ||
        length > COL_CONN_RBUF - head_len) {
        events_hand_back(ev, c, COL_CONN_PARK_DATA);
        return;
    }
    size_t need = head_len + (size_t)length;
    if (c->rlen < need) {
        events_arm(ev, c); /* the body is on its way; the deadline covers it */
        return;
    }
    if (length > 0) {
        if (!col_conn_body_reserve(c, (size_t)length + 1)) {
            events_hand_back(ev, c, COL_CONN_PARK_DATA); /* its thread answers 503 */
            return;
        }
        memcpy(c->body, c->rbuf + head_len, (size_t)length);
        c->body[length] = '\0';
        req->body = c->body;
        req->body_len = (size_t)length;
    }
    c->park.started_ms = col_clock_monotonic_ms();
    col_http_response_init(&c->park.resp);
    void *op = NULL;
    enum col_server_begin_result begun =
        cfg->begin(cfg->handler_ctx, req, &c->peer, &c->park.resp, events_done, c, &op);
    if (begun == COL_SERVER_BEGIN_NOT_HERE) {
        col_http_response_free(&c->park.resp);
        req->body = NULL;
        req->body_len = 0;
        events_hand_back(ev, c, COL_CONN_PARK_DATA);
        return;
    }
    /* The request is consumed; any pipelined bytes move to the front. */
    memmove(c->rbuf, c->rbuf + need, c->rlen - need);
    c->rlen -= need;
    if (begun == COL_SERVER_BEGIN_PENDING) {
        c->park.op = op; /* events_done queues c when it completes */
        return;
    }
    events_answer(ev, c);
}

/* A parked socket is readable (or closed): take what TLS has for us. */
static void events_readable(struct col_events *ev, struct col_conn *c)
{
    const struct col_server_config *cfg = ev->cfg;

    while (c->rlen < COL_CONN_RBUF) {
        size_t got = 0;
        enum col_tls_io io =
            col_tls_conn_read_nb(c->tls, c->rbuf + c->rlen, COL_CONN_RBUF - c->rlen, &got);
        if (io == COL_TLS_IO_AGAIN) {
            break;
        }
        if (io != COL_TLS_IO_OK) {
            /* A whole request may have come just before the close: its thread answers it (as it
             * would have) and then sees the end. */
            events_hand_back(ev, c, c->rlen > 0 ? COL_CONN_PARK_DATA : COL_CONN_PARK_END);
            return;
        }
        if (c->rlen == 0) {
            /* A request's first bytes: from now on it has the header timeout to arrive whole. */
            c->park.deadline_ms = col_clock_monotonic_ms() + cfg->header_timeout_ms;
            atomic_fetch_add(&ev->requests_seen, 1);
        }
        c->rlen += got;
    }
    if (c->rlen == 0) {
        events_arm(ev, c); /* part of a TLS record so far */
        return;
    }
    events_try_request(ev, c);
}

/* The completed list, emptied (NULL when none). */
static struct col_conn *events_take_done(struct col_events *ev)
{
    pthread_mutex_lock(&ev->mu);
    struct col_conn *done = ev->done_head;
    ev->done_head = NULL;
    ev->done_tail = NULL;
    pthread_mutex_unlock(&ev->mu);
    return done;
}

/* Pending requests whose commit has ended: finish and answer them. */
static void events_finish_done(struct col_events *ev, struct col_conn *list)
{
    const struct col_server_config *cfg = ev->cfg;

    for (struct col_conn *c = list, *next = NULL; c != NULL; c = next) {
        next = c->park.done_next;
        c->park.done_next = NULL;
        if (!cfg->finish(cfg->handler_ctx, c->park.op, &c->park.resp)) {
            continue; /* submitted again: done comes once more */
        }
        c->park.op = NULL;
        events_answer(ev, c);
    }
}

/*
 * Connections past their deadline (or, when stopping, every one without a pending request) go
 * back: an idle one to be closed, one with part of a request to have it timed out (408) or,
 * when stopping, finished by its thread.
 */
static void events_release(struct col_events *ev, bool stopping)
{
    uint64_t now = col_clock_monotonic_ms();
    struct col_conn *list = NULL;

    pthread_mutex_lock(&ev->mu);
    for (struct col_conn *c = ev->parked; c != NULL; c = c->park.next) {
        if (c->park.op == NULL && (stopping || now >= c->park.deadline_ms)) {
            c->park.done_next = list; /* not in the done list: no pending request */
            list = c;
        }
    }
    pthread_mutex_unlock(&ev->mu);
    for (struct col_conn *c = list, *next = NULL; c != NULL; c = next) {
        next = c->park.done_next;
        c->park.done_next = NULL;
        /* Idle (timed out, or the stop): close_notify, as the thread does; part of a request:
         * the thread answers it (408 at once when its time is up). */
        enum col_conn_park_outcome outcome = COL_CONN_PARK_CLOSE_NOTIFY;
        if (c->rlen > 0) {
            outcome = COL_CONN_PARK_DATA;
            c->park.head_deadline_ms = stopping ? 0 : c->park.deadline_ms;
        }
        events_hand_back(ev, c, outcome);
    }
}

static void *events_main(void *arg)
{
    (void)pthread_setname_np(pthread_self(), "rras-events"); /* top -H, perf, gdb */
    struct col_events *ev = arg;
    struct epoll_event events[COL_EVENTS_BATCH];
    uint64_t next_scan = col_clock_system_monotonic_ms() + COL_EVENTS_SCAN_MS;

    for (;;) {
        int n = epoll_wait(ev->epfd, events, COL_EVENTS_BATCH, (int)COL_EVENTS_SCAN_MS);
        if (n < 0 && errno != EINTR) {
            col_log(COL_LOG_ERROR, "event thread: epoll_wait: %s", strerror(errno));
            struct timespec pause = {0, COL_EVENTS_ERROR_PAUSE_NS};
            nanosleep(&pause, NULL);
        }
        /* The wake-up is consumed before the completed list is taken, never after: a commit that
         * ends in between writes the eventfd again, so its answers cannot wait for a timeout. */
        uint64_t count = 0;
        ssize_t got = read(ev->wakefd, &count, sizeof(count));
        (void)got;
        /* Taking the mutex also orders this thread after each parking thread's set-up. */
        pthread_mutex_lock(&ev->mu);
        bool stopping = ev->stopping;
        bool exiting = ev->exiting;
        pthread_mutex_unlock(&ev->mu);

        /* Answers first, and again after each request read: a commit's answers then wait for
         * at most one request's decoding, not for a whole burst of them (measured: ~0.4 ms of
         * the ~1.5 ms a report spent in the collector under load, before this order). */
        events_finish_done(ev, events_take_done(ev));
        for (int i = 0; i < n; i++) {
            if (events[i].data.ptr != NULL) { /* NULL: the eventfd, read above */
                events_readable(ev, events[i].data.ptr);
                events_finish_done(ev, events_take_done(ev));
            }
        }
        uint64_t now = col_clock_system_monotonic_ms(); /* the scan's pace, not a deadline */
        if (stopping || now >= next_scan) {
            events_release(ev, stopping);
            next_scan = now + COL_EVENTS_SCAN_MS;
        }
        if (exiting) {
            return NULL;
        }
    }
}

enum col_conn_park_outcome col_events_park(struct col_events *ev, struct col_conn *c)
{
    const struct col_server_config *cfg = ev->cfg;

    pthread_mutex_lock(&ev->mu);
    if (ev->stopping) {
        pthread_mutex_unlock(&ev->mu);
        return COL_CONN_PARK_NOT_PARKED;
    }
    c->park.parked = true;
    c->park.events = ev;
    c->park.op = NULL;
    c->park.head_deadline_ms = 0;
    c->park.deadline_ms = col_clock_monotonic_ms() + cfg->idle_timeout_ms;
    c->park.prev = NULL;
    c->park.next = ev->parked;
    if (ev->parked != NULL) {
        ev->parked->park.prev = c;
    }
    ev->parked = c;
    col_tls_conn_set_nonblocking(c->tls, true);
    /* Registered under the mutex: the event thread takes it before it looks at any event. */
    struct epoll_event e = {.events = EPOLLIN | EPOLLONESHOT, .data.ptr = c};
    if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, c->fd, &e) != 0) {
        events_unlink(ev, c);
        c->park.parked = false;
        col_tls_conn_set_nonblocking(c->tls, false);
        pthread_mutex_unlock(&ev->mu);
        return COL_CONN_PARK_NOT_PARKED;
    }
    while (c->park.parked) {
        pthread_cond_wait(&c->park.cv, &ev->mu);
    }
    enum col_conn_park_outcome outcome = c->park.outcome;
    pthread_mutex_unlock(&ev->mu);
    return outcome;
}

struct col_events *col_events_create(const struct col_server_config *cfg)
{
    const char *failed = NULL;
    int err = 0;
    bool mu_ready = false;
    struct col_events *ev = proto_calloc(1, sizeof(*ev));
    if (ev == NULL) {
        return NULL;
    }
    ev->cfg = cfg;
    ev->epfd = epoll_create1(EPOLL_CLOEXEC);
    ev->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    for (size_t k = 0; k <= COL_CONN_PARK_END; k++) {
        atomic_init(&ev->handed_back[k], 0);
    }
    atomic_init(&ev->requests_seen, 0);
    if (ev->epfd < 0 || ev->wakefd < 0) {
        failed = ev->epfd < 0 ? "epoll_create1" : "eventfd";
        err = errno;
        goto out;
    }
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, ev->wakefd, &e) != 0) {
        failed = "epoll_ctl";
        err = errno;
        goto out;
    }
    err = pthread_mutex_init(&ev->mu, NULL);
    mu_ready = err == 0;
    if (mu_ready) {
        err = pthread_create(&ev->thread, NULL, events_main, ev); /* returns the error */
    }
    if (err != 0) {
        failed = mu_ready ? "pthread_create" : "pthread_mutex_init";
    }
out:
    if (failed == NULL) {
        return ev;
    }
    col_log(COL_LOG_WARN, "no event thread (%s: %s): keep-alive connections wait on their own",
            failed, strerror(err));
    if (mu_ready) {
        pthread_mutex_destroy(&ev->mu);
    }
    if (ev->epfd >= 0) {
        close(ev->epfd);
    }
    if (ev->wakefd >= 0) {
        close(ev->wakefd);
    }
    proto_free(ev);
    return NULL;
}

void col_events_stop(struct col_events *ev)
{
    if (ev == NULL) {
        return;
    }
    pthread_mutex_lock(&ev->mu);
    ev->stopping = true;
    pthread_mutex_unlock(&ev->mu);
    events_wake(ev);
}

void col_events_destroy(struct col_events *ev)
{
    if (ev == NULL) {
        return;
    }
    pthread_mutex_lock(&ev->mu);
    ev->stopping = true;
    ev->exiting = true;
    pthread_mutex_unlock(&ev->mu);
    events_wake(ev);
    pthread_join(ev->thread, NULL);
    pthread_mutex_destroy(&ev->mu);
    close(ev->epfd);
    close(ev->wakefd);
    proto_free(ev);
}

uint64_t col_events_handed_back(struct col_events *ev, enum col_conn_park_outcome outcome)
{
    return ev == NULL ? 0 : atomic_load(&ev->handed_back[outcome]);
}

uint64_t col_events_requests_seen(struct col_events *ev)
{
    return ev == NULL ? 0 : atomic_load(&ev->requests_seen);
}
