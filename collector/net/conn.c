/*
 * conn: one connection's request loop and the helpers the event thread shares (see conn.h).
 *
 * Every deadline is a reading of the collector's clock (clock.h) plus a timeout; the TLS layer
 * waits for it. It never reads a body without a Content-Length within max_body_bytes, never
 * logs bodies, queries or header values, and never answers bad input with a 5xx.
 */
#include "conn.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "clock.h"
#include "log.h"

static const char *const col_conn_kind_names[] = {"agent", "admin"};

static uint64_t col_conn_deadline(unsigned long ms)
{
    return col_clock_monotonic_ms() + ms;
}

struct col_conn *col_conn_create(const struct col_server_config *cfg, const atomic_bool *stopping)
{
    struct col_conn *c = proto_calloc(1, sizeof(*c));

    if (c == NULL) {
        return NULL;
    }
    c->cfg = cfg;
    c->stopping = stopping;
    c->fd = -1;
    proto_buf_init(&c->out, COL_CONN_OUT_MAX);
    c->rbuf = proto_malloc(COL_CONN_RBUF);
    c->req = proto_malloc(sizeof(*c->req));
    c->park.cv_ready = pthread_cond_init(&c->park.cv, NULL) == 0;
    if (c->rbuf == NULL || c->req == NULL || !c->park.cv_ready) {
        col_conn_destroy(c);
        return NULL;
    }
    return c;
}

void col_conn_destroy(struct col_conn *c)
{
    if (c == NULL) {
        return;
    }
    col_tls_conn_destroy(c->tls);
    if (c->fd >= 0) {
        close(c->fd);
    }
    proto_free(c->rbuf);
    proto_free(c->req);
    proto_free(c->body);
    proto_buf_free(&c->out);
    if (c->park.cv_ready) {
        pthread_cond_destroy(&c->park.cv);
    }
    proto_free(c);
}

/* Everything else a previous connection left was cleared when it ended (col_conn_detach). */
void col_conn_attach(struct col_conn *c, enum col_listener_kind kind, int fd,
                     const char *remote_addr)
{
    c->fd = fd;
    c->kind = kind;
    c->accepted_ms = col_clock_monotonic_ms();
    c->rlen = 0;
    c->served = 0;
    memset(&c->peer, 0, sizeof(c->peer));
    c->peer.listener = kind;
    (void)snprintf(c->peer.remote_addr, sizeof(c->peer.remote_addr), "%s", remote_addr);
}

/* The thread keeps its buffers and TLS context, but nothing of the peer: the TLS session
 * (certificate, keys, buffered records) is wiped now, not when the next connection comes, so an
 * idle thread holds none of it. */
void col_conn_detach(struct col_conn *c)
{
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    c->rlen = 0;
    col_conn_recycle(c);
    if (c->body_cap > COL_CONN_IDLE_KEEP_MAX) {
        proto_free(c->body);
        c->body = NULL;
        c->body_cap = 0;
    }
    if (c->out.cap > COL_CONN_IDLE_KEEP_MAX) {
        proto_buf_free(&c->out);
    }
    memset(&c->peer, 0, sizeof(c->peer));
    if (c->tls != NULL && col_tls_conn_reset(c->tls, c->kind, -1) != PROTO_OK) {
        col_tls_conn_destroy(c->tls);
        c->tls = NULL;
    }
}

bool col_conn_handshake(struct col_conn *c)
{
    char why[160];
    bool resumed = false;
    struct col_metrics *metrics = c->cfg->metrics;

    enum col_tls_io io =
        col_tls_conn_handshake(c->tls, c->accepted_ms + c->cfg->handshake_timeout_ms, true,
                               &c->peer, &resumed, why, sizeof(why));
    if (io != COL_TLS_IO_OK) {
        if (io != COL_TLS_IO_STOPPED) {
            col_metrics_handshake(metrics, 0, 0);
            col_log(COL_LOG_DEBUG, "%s: %s handshake failed: %s", c->peer.remote_addr,
                    col_conn_kind_names[c->kind], why);
        }
        return false;
    }
    col_metrics_handshake(metrics, 1, resumed);
    col_log(COL_LOG_DEBUG, "%s: %s handshake ok%s, identity '%s'", c->peer.remote_addr,
            col_conn_kind_names[c->kind], resumed ? " (resumed)" : "", c->peer.identity);
    return true;
}

static const char *col_conn_error_code(int status)
{
    switch (status) {
    case 408:
        return "request_timeout";
    case 411:
        return "length_required";
    case 413:
        return "body_too_large";
    case 414:
        return "target_too_long";
    case 417:
        return "expectation_failed";
    case 431:
        return "header_too_large";
    case 501:
        return "not_implemented";
    case 503:
        return "unavailable";
    case 505:
        return "http_version_not_supported";
    default:
        return "bad_request";
    }
}

static void col_conn_say_goodbye(struct col_conn *c)
{
    col_tls_conn_close_notify(c->tls, col_conn_deadline(COL_CONN_CLOSE_NOTIFY_MS));
}

/*
 * Answers with an error and closes. `linger`: the client may still be sending (a body we
 * refused), and closing a socket with unread data makes the kernel send RST, which can destroy
 * our answer in flight; so half-close and drain for a bounded time first.
 */
static void col_conn_fail(struct col_conn *c, int status, const char *message, bool linger)
{
    struct col_http_response resp;
    struct proto_buf out;

    col_http_response_init(&resp);
    proto_buf_init(&out, COL_HTTP_MAX_HEAD);
    if (col_http_response_error(&resp, status, col_conn_error_code(status), message, NULL) ==
            PROTO_OK &&
        col_http_serialize(&resp, false, &out) == PROTO_OK) {
        (void)col_tls_conn_write(c->tls, out.data, out.len,
                                 col_conn_deadline(c->cfg->body_timeout_ms));
    }
    col_http_response_free(&resp);
    proto_buf_free(&out);
    col_conn_say_goodbye(c);
    if (!linger) {
        return;
    }
    (void)shutdown(c->fd, SHUT_WR);
    uint64_t deadline = col_conn_deadline(COL_CONN_LINGER_MS);
    size_t drained = 0;
    char scratch[4096];
    while (drained < COL_CONN_LINGER_BYTES) {
        uint64_t now = col_clock_monotonic_ms();
        if (now >= deadline) {
            break;
        }
        /* Real time, a slice at most: the deadline is the clock's, which a test may move. */
        uint64_t left = deadline - now;
        if (left > c->cfg->clock_recheck_ms) {
            left = c->cfg->clock_recheck_ms;
        }
        struct pollfd p = {.fd = c->fd, .events = POLLIN, .revents = 0};
        int rc = poll(&p, 1, (int)left);
        if (rc == 0 || (rc < 0 && errno == EINTR)) {
            continue;
        }
        if (rc < 0) {
            break;
        }
        ssize_t n = recv(c->fd, scratch, sizeof(scratch), 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        drained += (size_t)n;
    }
}

/* Reads until a whole head is parsed: CLOSE when the connection has been answered if needed. */
static enum col_conn_next col_conn_read_head(struct col_conn *c, size_t *head_len)
{
    const struct col_server_config *cfg = c->cfg;
    bool first = c->served == 0;
    uint64_t idle_deadline = col_conn_deadline(cfg->idle_timeout_ms);
    uint64_t head_deadline = first || c->rlen > 0 ? col_conn_deadline(cfg->header_timeout_ms) : 0;
    if (c->park.head_deadline_ms != 0) {
        /* The event thread held this request's first bytes since before now. */
        head_deadline = c->park.head_deadline_ms;
        c->park.head_deadline_ms = 0;
    }
    for (;;) {
        if (c->rlen > 0) {
            int status = 0;
            const char *why = NULL;
            enum col_http_parse_result r =
                col_http_parse_head(c->rbuf, c->rlen, c->req, head_len, &status, &why);
            if (r == COL_HTTP_COMPLETE) {
                return COL_CONN_SERVE;
            }
            if (r == COL_HTTP_INVALID) {
                col_log(COL_LOG_DEBUG, "%s: %d %s", c->peer.remote_addr, status, why);
                if (c->kind == COL_LISTENER_AGENT) {
                    col_metrics_report_rejected(cfg->metrics, COL_REJECT_BAD_REQUEST);
                }
                col_conn_fail(c, status, why, true);
                return COL_CONN_CLOSE;
            }
        }
        bool waiting = c->rlen == 0;
        if (waiting && atomic_load(c->stopping)) {
            return COL_CONN_CLOSE;
        }
        uint64_t deadline = waiting && !first ? idle_deadline : head_deadline;
        size_t got = 0;
        enum col_tls_io io = col_tls_conn_read(c->tls, c->rbuf + c->rlen, COL_CONN_RBUF - c->rlen,
                                               &got, deadline, waiting);
        if (io != COL_TLS_IO_OK) {
            if (io == COL_TLS_IO_TIMEOUT && !waiting) {
                col_log(COL_LOG_DEBUG, "%s: request head timed out", c->peer.remote_addr);
                col_conn_fail(c, 408, "the request head did not arrive in time", false);
            } else if (io == COL_TLS_IO_TIMEOUT || io == COL_TLS_IO_STOPPED) {
                col_conn_say_goodbye(c);
            }
            return COL_CONN_CLOSE;
        }
        if (waiting && !first) {
            head_deadline = col_conn_deadline(cfg->header_timeout_ms);
        }
        c->rlen += got;
    }
}

bool col_conn_body_reserve(struct col_conn *c, size_t need)
{
    unsigned long max_body = c->cfg->max_body_bytes;
    size_t limit = max_body >= SIZE_MAX ? SIZE_MAX : (size_t)max_body + 1;

    if (need <= c->body_cap) {
        return true;
    }
    size_t cap = c->body_cap > 0 ? c->body_cap : COL_CONN_BODY_MIN;
    while (cap < need) {
        cap = cap > limit / 2 ? limit : cap * 2;
    }
    if (cap > limit) {
        cap = limit; /* still >= need */
    }
    /* free, then malloc: the old bytes are not needed, so realloc's copy would be wasted. */
    proto_free(c->body);
    c->body = proto_malloc(cap);
    c->body_cap = c->body != NULL ? cap : 0;
    return c->body != NULL;
}

void col_conn_recycle(struct col_conn *c)
{
    c->req->body = NULL;
    c->req->body_len = 0;
    if (c->body_cap > COL_CONN_KEEP_MAX) {
        proto_free(c->body);
        c->body = NULL;
        c->body_cap = 0;
    }
    if (c->out.cap > COL_CONN_KEEP_MAX) {
        proto_buf_free(&c->out);
    } else {
        proto_buf_reset(&c->out);
    }
}

/* Reads the body announced by Content-Length into c->body; sets req->body / req->body_len. */
static enum col_conn_next col_conn_read_body(struct col_conn *c, size_t head_len)
{
    const struct col_server_config *cfg = c->cfg;
    struct col_http_request *req = c->req;
    uint64_t length = req->has_content_length ? req->content_length : 0;
    size_t have = c->rlen - head_len;

    const char *expect = col_http_header_get(req, "Expect");
    if (expect != NULL && strcasecmp(expect, "100-continue") != 0) {
        col_conn_fail(c, 417, "only 'Expect: 100-continue' is supported", true);
        return COL_CONN_CLOSE;
    }
    if (length > cfg->max_body_bytes) {
        char message[96];
        int n = snprintf(message, sizeof(message), "request body larger than %lu bytes",
                         cfg->max_body_bytes);
        col_log(COL_LOG_DEBUG, "%s: 413 %s %s (%llu bytes)", c->peer.remote_addr, req->method,
                req->path, (unsigned long long)length);
        if (c->kind == COL_LISTENER_AGENT && strcmp(req->path, "/v1/reports") == 0) {
            col_metrics_report_rejected(cfg->metrics, COL_REJECT_TOO_LARGE);
        }
        col_conn_fail(c, 413, n > 0 ? message : "request body too large", true);
        return COL_CONN_CLOSE;
    }
    size_t len = (size_t)length;
    size_t copied = have < len ? have : len;
    if (len > 0) {
        if (!col_conn_body_reserve(c, len + 1)) {
            col_conn_fail(c, 503, "out of memory", true);
            return COL_CONN_CLOSE;
        }
        char *body = c->body;
        memcpy(body, c->rbuf + head_len, copied);
        if (expect != NULL && copied < len && req->version_minor == 1) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            if (col_tls_conn_write(c->tls, cont, sizeof(cont) - 1,
                                   col_conn_deadline(cfg->body_timeout_ms)) != COL_TLS_IO_OK) {
                return COL_CONN_CLOSE;
            }
        }
        uint64_t deadline = col_conn_deadline(cfg->body_timeout_ms);
        while (copied < len) {
            size_t got = 0;
            enum col_tls_io io =
                col_tls_conn_read(c->tls, body + copied, len - copied, &got, deadline, false);
            if (io == COL_TLS_IO_TIMEOUT) {
                col_conn_fail(c, 408, "the request body did not arrive in time", false);
                return COL_CONN_CLOSE;
            }
            if (io != COL_TLS_IO_OK) {
                return COL_CONN_CLOSE;
            }
            copied += got;
        }
        body[len] = '\0';
        req->body = body;
        req->body_len = len;
    }
    /* Keep pipelined bytes of the next request at the start of the buffer. */
    size_t consumed = head_len + (have < len ? have : len);
    memmove(c->rbuf, c->rbuf + consumed, c->rlen - consumed);
    c->rlen -= consumed;
    return COL_CONN_SERVE;
}

bool col_conn_serialize_answer(struct col_conn *c, struct col_http_response *resp, bool *keep,
                               size_t *send_len, int *status, size_t *body_len)
{
    struct col_http_request *req = c->req;
    struct proto_buf *out = &c->out; /* empty: col_conn_recycle ran after the last request */
    bool ok = false;

    if (resp->status < 100 || resp->status > 599) {
        col_log(COL_LOG_ERROR, "handler for %s %s returned status %d", req->method, req->path,
                resp->status);
        (void)col_http_response_error(resp, 500, "internal", "internal error", NULL);
    }
    *status = resp->status;
    *body_len = resp->body.len;
    *keep = req->keep_alive && !resp->close && !atomic_load(c->stopping);
    if (col_http_serialize(resp, *keep, out) != PROTO_OK) {
        col_log(COL_LOG_ERROR, "response to %s %s could not be serialized", req->method, req->path);
        goto out;
    }
    /* HEAD: the same head (Content-Length included), no body. */
    bool has_body = resp->status >= 200 && resp->status != 204 && resp->status != 304;
    *send_len = out->len;
    if (has_body && strcmp(req->method, "HEAD") == 0) {
        *send_len -= resp->body.len;
    }
    ok = true;
out:
    col_http_response_free(resp);
    return ok;
}

void col_conn_log_access(const struct col_conn *c, int status, size_t body_len, uint64_t started_ms,
                         bool written)
{
    if (col_log_enabled(COL_LOG_DEBUG)) {
        col_log(COL_LOG_DEBUG, "%s %s %s %s -> %d, %zu bytes, %llu ms%s", c->peer.remote_addr,
                c->peer.identity[0] != '\0' ? c->peer.identity : "-", c->req->method, c->req->path,
                status, body_len, (unsigned long long)(col_clock_monotonic_ms() - started_ms),
                written ? "" : " (write failed)");
    }
}

enum col_conn_after col_conn_after_answer(struct col_conn *c, bool sent, bool keep)
{
    if (!sent) {
        return COL_CONN_AFTER_CLOSE;
    }
    if (!keep) {
        return COL_CONN_AFTER_CLOSE_NOTIFY;
    }
    if (c->rlen > 0 || col_tls_conn_pending(c->tls)) {
        return COL_CONN_AFTER_READ; /* pipelined */
    }
    return COL_CONN_AFTER_WAIT;
}

/* Runs the handler and writes its answer. True when it was sent; *keep: whether the connection
 * stays open after it. */
static bool col_conn_respond(struct col_conn *c, uint64_t started_ms, bool *keep)
{
    const struct col_server_config *cfg = c->cfg;
    struct col_http_response resp;
    size_t send_len = 0;
    int status = 0;
    size_t body_len = 0;

    col_http_response_init(&resp);
    cfg->handler(cfg->handler_ctx, c->req, &c->peer, &resp);
    if (!col_conn_serialize_answer(c, &resp, keep, &send_len, &status, &body_len)) {
        return false;
    }
    col_metrics_request_served(cfg->metrics, false); /* before: the client may be quick */
    enum col_tls_io io =
        col_tls_conn_write(c->tls, c->out.data, send_len, col_conn_deadline(cfg->body_timeout_ms));
    col_conn_log_access(c, status, body_len, started_ms, io == COL_TLS_IO_OK);
    return io == COL_TLS_IO_OK;
}

/* The next step after an answer: `wait` is what becomes of a kept, idle connection. */
static enum col_conn_next col_conn_next_after(struct col_conn *c, enum col_conn_after after,
                                              enum col_conn_next wait)
{
    switch (after) {
    case COL_CONN_AFTER_CLOSE:
        return COL_CONN_CLOSE;
    case COL_CONN_AFTER_CLOSE_NOTIFY:
        col_conn_say_goodbye(c);
        return COL_CONN_CLOSE;
    case COL_CONN_AFTER_READ:
        return COL_CONN_SERVE;
    case COL_CONN_AFTER_WAIT:
        return wait;
    }
    return COL_CONN_CLOSE;
}

enum col_conn_next col_conn_serve(struct col_conn *c, bool may_park)
{
    for (;;) {
        size_t head_len = 0;
        if (col_conn_read_head(c, &head_len) != COL_CONN_SERVE) {
            return COL_CONN_CLOSE;
        }
        uint64_t started = col_clock_monotonic_ms();
        if (col_conn_read_body(c, head_len) != COL_CONN_SERVE) {
            return COL_CONN_CLOSE;
        }
        bool keep = false;
        bool sent = col_conn_respond(c, started, &keep);
        col_conn_recycle(c);
        if (c->served < COL_CONN_PARK_AFTER) {
            c->served++;
        }
        bool park = may_park && c->served >= COL_CONN_PARK_AFTER;
        enum col_conn_next next = col_conn_next_after(c, col_conn_after_answer(c, sent, keep),
                                                      park ? COL_CONN_PARK : COL_CONN_SERVE);
        if (next != COL_CONN_SERVE) {
            return next;
        }
    }
}

enum col_conn_next col_conn_unparked(struct col_conn *c, enum col_conn_park_outcome outcome)
{
    switch (outcome) {
    case COL_CONN_PARK_NOT_PARKED:
    case COL_CONN_PARK_DATA:
        return COL_CONN_SERVE;
    case COL_CONN_PARK_WRITE: {
        struct col_conn_park *park = &c->park;
        enum col_tls_io io =
            col_tls_conn_write(c->tls, c->out.data + park->sent, park->len - park->sent,
                               col_conn_deadline(c->cfg->body_timeout_ms));
        col_conn_log_access(c, park->status, park->body_len, park->started_ms, io == COL_TLS_IO_OK);
        col_conn_recycle(c);
        /* Answered: a kept, idle connection goes back to the event thread. */
        return col_conn_next_after(c, col_conn_after_answer(c, io == COL_TLS_IO_OK, park->keep),
                                   COL_CONN_PARK);
    }
    case COL_CONN_PARK_CLOSE_NOTIFY:
        col_conn_say_goodbye(c);
        return COL_CONN_CLOSE;
    case COL_CONN_PARK_END:
        return COL_CONN_CLOSE;
    }
    return COL_CONN_CLOSE;
}
