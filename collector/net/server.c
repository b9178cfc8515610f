/*
 * server: listeners, the accept loop, a pool of detached connection threads and the HTTP/1.1
 * request loop (see server.h; the model is described in docs/internals/collector.md).
 *
 * Owns the listening sockets, the stop pipe, every accepted socket and connection thread (with
 * its read, body and response buffers and TLS context, reused across keep-alive requests and,
 * when the thread is pooled, across connections), and the TLS state. Shared state is the
 * read-only config, the TLS configuration (internally locked), an atomic connection count and,
 * under one mutex, the list of open connections (walked only at the end of a stop) and the stack
 * of idle pooled threads. Kept-alive agent connections wait between requests on the event thread
 * (server_events.c, decision 008), which serves the reports that arrive whole on them. It never
 * reads a body without a Content-Length within max_body_bytes, never logs bodies, queries or header
 * values, and never answers bad input with a 5xx.
 */
#define _GNU_SOURCE /* accept4, pthread_setname_np */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "caps.h"
#include "log.h"
#include "tls.h"
#include "server_events.h"
#include "server_int.h"

static const char *const col_server_kind_names[COL_SERVER_LISTENERS] = {"agent", "admin"};

void col_server_config_from(struct col_server_config *out, const struct col_config *cfg)
{
    memset(out, 0, sizeof(*out));
    out->agent_listen = cfg->listen;
    out->admin_listen = cfg->admin_listen;
    out->tls_cert = cfg->tls_cert;
    out->tls_key = cfg->tls_key;
    out->client_ca = cfg->client_ca;
    out->session_tickets = cfg->session_tickets;
    out->event_keepalive = cfg->event_keepalive;
    /* Next to the database by default: a directory only the collector's user writes. */
    int n =
        cfg->ticket_key_file[0] != '\0'
            ? snprintf(out->ticket_key_file, sizeof(out->ticket_key_file), "%s",
                       cfg->ticket_key_file)
            : snprintf(out->ticket_key_file, sizeof(out->ticket_key_file), "%s-tickets", cfg->db);
    if (n < 0 || (size_t)n >= sizeof(out->ticket_key_file)) {
        out->ticket_key_file[0] = '\0'; /* cannot happen: both sources are shorter */
    }
    out->max_connections = cfg->max_connections;
    out->max_body_bytes = cfg->max_body_bytes;
    out->handshake_timeout_ms = cfg->handshake_timeout_ms;
    out->header_timeout_ms = cfg->header_timeout_ms;
    out->body_timeout_ms = cfg->body_timeout_ms;
    out->idle_timeout_ms = cfg->idle_timeout_ms;
    out->stop_grace_ms = COL_SERVER_DEFAULT_STOP_GRACE_MS;
}

static void col_server_errf(char *err, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void col_server_errf(char *err, size_t size, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && size > 0) {
        va_start(ap, fmt);
        int n = vsnprintf(err, size, fmt, ap);
        va_end(ap);
        if (n < 0) {
            err[0] = '\0';
        }
    }
}

static unsigned long col_server_or(unsigned long value, unsigned long fallback)
{
    return value != 0 ? value : fallback;
}

static int col_server_set_nonblock(int fd)
{
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
        return -1;
    }
    return 0;
}

/* "host:port", "[v6]:port" or ":port" into host (NULL for any) and port text. */
static bool col_server_split_addr(const char *addr, char *host, size_t host_size, char *port,
                                  size_t port_size, bool *any)
{
    const char *colon;
    const char *host_start = addr;
    size_t host_len;

    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (close == NULL || close[1] != ':') {
            return false;
        }
        host_start = addr + 1;
        host_len = (size_t)(close - host_start);
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (colon == NULL) {
            return false;
        }
        host_len = (size_t)(colon - addr);
    }
    size_t port_len = strlen(colon + 1);
    if (host_len >= host_size || port_len == 0 || port_len >= port_size) {
        return false;
    }
    memcpy(host, host_start, host_len);
    host[host_len] = '\0';
    memcpy(port, colon + 1, port_len + 1);
    *any = host_len == 0;
    return true;
}

static enum proto_rc col_server_listen(struct col_server *srv, enum col_listener_kind kind,
                                       const char *addr, char *err, size_t err_size)
{
    char host[128];
    char port[16];
    bool any = false;
    struct addrinfo hints;
    struct addrinfo *res = NULL;
    int fd = -1;
    int saved = 0;

    if (!col_server_split_addr(addr, host, sizeof(host), port, sizeof(port), &any)) {
        col_server_errf(err, err_size, "listen address '%s': expected HOST:PORT", addr);
        return PROTO_EINVAL;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(any ? NULL : host, port, &hints, &res);
    if (gai != 0) {
        col_server_errf(err, err_size, "listen address '%s': %s", addr, gai_strerror(gai));
        return PROTO_EINVAL;
    }
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1;
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0) {
            break;
        }
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        col_server_errf(err, err_size, "listen on '%s': %s", addr, strerror(saved));
        return PROTO_EIO;
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    unsigned bound = 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET) {
            bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            bound = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
    }
    srv->listen_fd[kind] = fd;
    srv->port[kind] = bound;
    return PROTO_OK;
}

/* Each connection holds a socket; make sure the soft fd limit does not refuse them first. */
static void col_server_raise_fd_limit(unsigned long max_connections)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)max_connections + 64;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need) {
        return;
    }
    rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
    rlim_t old = rl.rlim_cur;
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || want < need) {
        col_log(COL_LOG_WARN,
                "open-file limit %llu (was %llu) is below max_connections + 64 = %llu",
                (unsigned long long)want, (unsigned long long)old, (unsigned long long)need);
    }
}

/* A condition variable whose timed waits use CLOCK_MONOTONIC, like every deadline here. */
static bool col_server_cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t cattr;

    if (pthread_condattr_init(&cattr) != 0) {
        return false;
    }
    (void)pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
    bool ok = pthread_cond_init(cond, &cattr) == 0;
    pthread_condattr_destroy(&cattr);
    return ok;
}

/* The absolute CLOCK_MONOTONIC time `ms` from now, for pthread_cond_timedwait. */
static struct timespec col_server_abstime(uint64_t ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000u);
    ts.tv_nsec += (long)(ms % 1000u) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

enum proto_rc col_server_create(const struct col_server_config *cfg, struct col_server **out,
                                char *err, size_t err_size)
{
    enum proto_rc result = PROTO_OK;
    struct col_server *srv = NULL;
    bool agent = cfg->agent_listen != NULL && cfg->agent_listen[0] != '\0';
    bool admin = cfg->admin_listen != NULL && cfg->admin_listen[0] != '\0';

    *out = NULL;
    if (err != NULL && err_size > 0) {
        err[0] = '\0';
    }
    if (cfg->handler == NULL || (!agent && !admin)) {
        col_server_errf(err, err_size, "no handler or no listener configured");
        return PROTO_EINVAL;
    }
    if (agent && (cfg->client_ca == NULL || cfg->client_ca[0] == '\0')) {
        col_server_errf(err, err_size, "the agent listener needs client_ca");
        return PROTO_EINVAL;
    }
    srv = proto_calloc(1, sizeof(*srv));
    if (srv == NULL) {
        return PROTO_ENOMEM;
    }
    srv->cfg = *cfg;
    srv->cfg.agent_listen = NULL;
    srv->cfg.admin_listen = NULL;
    srv->cfg.tls_cert = NULL;
    srv->cfg.tls_key = NULL;
    srv->cfg.client_ca = NULL;
    srv->cfg.max_connections = col_server_or(cfg->max_connections, 1024);
    srv->cfg.max_body_bytes = col_server_or(cfg->max_body_bytes, PROTO_MAX_REPORT_BYTES);
    srv->cfg.handshake_timeout_ms = col_server_or(cfg->handshake_timeout_ms, 10000);
    srv->cfg.header_timeout_ms = col_server_or(cfg->header_timeout_ms, 10000);
    srv->cfg.body_timeout_ms = col_server_or(cfg->body_timeout_ms, 30000);
    srv->cfg.idle_timeout_ms = col_server_or(cfg->idle_timeout_ms, 60000);
    srv->cfg.stop_grace_ms = col_server_or(cfg->stop_grace_ms, COL_SERVER_DEFAULT_STOP_GRACE_MS);
    srv->cfg.idle_thread_ms = col_server_or(cfg->idle_thread_ms, COL_SERVER_DEFAULT_IDLE_THREAD_MS);
    srv->cfg.idle_threads_max =
        col_server_or(cfg->idle_threads_max, COL_SERVER_DEFAULT_IDLE_THREADS);
    srv->listen_fd[0] = srv->listen_fd[1] = -1;
    srv->stop_pipe[0] = srv->stop_pipe[1] = -1;
    atomic_init(&srv->stopping, false);
    atomic_init(&srv->active, 0);
    atomic_init(&srv->threads_started, 0);
    atomic_init(&srv->handoffs, 0);

    if (pthread_mutex_init(&srv->lock, NULL) != 0) {
        result = PROTO_ENOMEM;
        goto out;
    }
    if (!col_server_cond_init(&srv->idle)) {
        pthread_mutex_destroy(&srv->lock);
        result = PROTO_ENOMEM;
        goto out;
    }
    srv->sync_ready = true;
    if (pthread_attr_init(&srv->thread_attr) != 0) {
        result = PROTO_ENOMEM;
        goto out;
    }
    srv->attr_ready = true;
    if (pthread_attr_setstacksize(&srv->thread_attr, COL_SERVER_THREAD_STACK) != 0 ||
        pthread_attr_setdetachstate(&srv->thread_attr, PTHREAD_CREATE_DETACHED) != 0) {
        result = PROTO_EINVAL;
        goto out;
    }
    if (pipe(srv->stop_pipe) != 0 || col_server_set_nonblock(srv->stop_pipe[1]) != 0 ||
        fcntl(srv->stop_pipe[0], F_SETFD, FD_CLOEXEC) != 0 ||
        fcntl(srv->stop_pipe[1], F_SETFD, FD_CLOEXEC) != 0) {
        col_server_errf(err, err_size, "stop pipe: %s", strerror(errno));
        result = PROTO_EIO;
        goto out;
    }

    struct col_tls_settings ts = {
        .cert_file = cfg->tls_cert,
        .key_file = cfg->tls_key,
        .client_ca_file = agent ? cfg->client_ca : NULL,
        .session_tickets = cfg->session_tickets,
        .ticket_key_file = cfg->ticket_key_file,
        .session_cache_max = 0,
        .session_lifetime_s = 0,
    };
    result = col_tls_create(&ts, &srv->tls, err, err_size);
    if (result != PROTO_OK) {
        goto out;
    }
    if (agent) {
        result = col_server_listen(srv, COL_LISTENER_AGENT, cfg->agent_listen, err, err_size);
        if (result != PROTO_OK) {
            goto out;
        }
    }
    if (admin) {
        result = col_server_listen(srv, COL_LISTENER_ADMIN, cfg->admin_listen, err, err_size);
        if (result != PROTO_OK) {
            goto out;
        }
    }
    if (agent && cfg->begin != NULL && cfg->finish != NULL && cfg->event_keepalive) {
        srv->events = col_events_create(srv); /* NULL: the threads wait for themselves */
    }
    col_server_raise_fd_limit(srv->cfg.max_connections);
    col_log(COL_LOG_INFO,
            "listening: agent port %u (mutual TLS), admin port %u; max %lu connections, "
            "session tickets %s",
            srv->port[COL_LISTENER_AGENT], srv->port[COL_LISTENER_ADMIN], srv->cfg.max_connections,
            cfg->session_tickets ? "on" : "off");
out:
    if (result != PROTO_OK) {
        col_server_destroy(srv);
        srv = NULL;
    }
    *out = srv;
    return result;
}

unsigned col_server_port(const struct col_server *srv, enum col_listener_kind kind)
{
    if (srv == NULL || (kind != COL_LISTENER_AGENT && kind != COL_LISTENER_ADMIN)) {
        return 0;
    }
    return srv->port[kind];
}

unsigned long col_server_connections(const struct col_server *srv)
{
    return srv == NULL ? 0 : atomic_load(&((struct col_server *)srv)->active);
}

void col_server_pool_stats(const struct col_server *server, struct col_server_pool_stats *out)
{
    struct col_server *srv = (struct col_server *)server; /* the lock is not const */

    memset(out, 0, sizeof(*out));
    if (srv == NULL) {
        return;
    }
    out->threads_started = atomic_load(&srv->threads_started);
    out->handoffs = atomic_load(&srv->handoffs);
    pthread_mutex_lock(&srv->lock);
    out->threads_alive = srv->threads;
    out->threads_idle = srv->idle_count;
    pthread_mutex_unlock(&srv->lock);
}

unsigned long col_server_events_handed_back(const struct col_server *srv,
                                            enum col_server_handback why)
{
    enum col_events_outcome outcome = COL_EVENTS_END;
    switch (why) {
    case COL_SERVER_HANDBACK_DATA:
        outcome = COL_EVENTS_DATA;
        break;
    case COL_SERVER_HANDBACK_WRITE:
        outcome = COL_EVENTS_WRITE;
        break;
    case COL_SERVER_HANDBACK_CLOSE:
        outcome = COL_EVENTS_CLOSE_NOTIFY;
        break;
    case COL_SERVER_HANDBACK_END:
        outcome = COL_EVENTS_END;
        break;
    default:
        return 0;
    }
    return srv == NULL ? 0 : (unsigned long)col_events_handed_back(srv->events, outcome);
}

void col_server_stop(struct col_server *srv)
{
    int saved = errno;
    atomic_store(&srv->stopping, true);
    ssize_t n = write(srv->stop_pipe[1], "s", 1); /* full pipe: a byte is already there */
    (void)n;
    errno = saved;
}

void col_server_destroy(struct col_server *srv)
{
    if (srv == NULL) {
        return;
    }
    /* Not while running: so every connection thread has ended and nothing is parked. */
    col_events_destroy(srv->events);
    for (int k = 0; k < COL_SERVER_LISTENERS; k++) {
        if (srv->listen_fd[k] >= 0) {
            close(srv->listen_fd[k]);
        }
    }
    for (int k = 0; k < 2; k++) {
        if (srv->stop_pipe[k] >= 0) {
            close(srv->stop_pipe[k]);
        }
    }
    col_tls_destroy(srv->tls);
    if (srv->attr_ready) {
        pthread_attr_destroy(&srv->thread_attr);
    }
    if (srv->sync_ready) {
        pthread_cond_destroy(&srv->idle);
        pthread_mutex_destroy(&srv->lock);
    }
    proto_free(srv);
}

/* ---- one connection ---------------------------------------------------------------------- */

static const char *col_server_error_code(int status)
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

static uint64_t col_server_deadline(unsigned long ms)
{
    return col_tls_now_ms() + ms;
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
    struct col_server *srv = c->srv;

    col_http_response_init(&resp);
    proto_buf_init(&out, COL_HTTP_MAX_HEAD);
    if (col_http_response_error(&resp, status, col_server_error_code(status), message, NULL) ==
            PROTO_OK &&
        col_http_serialize(&resp, false, &out) == PROTO_OK) {
        (void)col_tls_conn_write(c->tls, out.data, out.len,
                                 col_server_deadline(srv->cfg.body_timeout_ms));
    }
    col_http_response_free(&resp);
    proto_buf_free(&out);
    col_tls_conn_close_notify(c->tls, col_server_deadline(COL_SERVER_CLOSE_NOTIFY_MS));
    if (!linger) {
        return;
    }
    (void)shutdown(c->fd, SHUT_WR);
    uint64_t deadline = col_server_deadline(COL_SERVER_LINGER_MS);
    size_t drained = 0;
    char scratch[4096];
    while (drained < COL_SERVER_LINGER_BYTES) {
        uint64_t now = col_tls_now_ms();
        if (now >= deadline) {
            break;
        }
        struct pollfd p = {.fd = c->fd, .events = POLLIN, .revents = 0};
        int rc = poll(&p, 1, (int)(deadline - now));
        if (rc < 0 && errno == EINTR) {
            continue;
        }
        if (rc <= 0) {
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

enum col_conn_next { COL_CONN_CONTINUE, COL_CONN_CLOSE };

/* Reads until a whole head is parsed. On CLOSE the connection has been answered if needed. */
static enum col_conn_next col_conn_read_head(struct col_conn *c, bool first, size_t *head_len)
{
    struct col_server *srv = c->srv;
    uint64_t idle_deadline = col_server_deadline(srv->cfg.idle_timeout_ms);
    uint64_t head_deadline =
        first || c->rlen > 0 ? col_server_deadline(srv->cfg.header_timeout_ms) : 0;
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
                return COL_CONN_CONTINUE;
            }
            if (r == COL_HTTP_INVALID) {
                col_log(COL_LOG_DEBUG, "%s: %d %s", c->peer.remote_addr, status, why);
                if (c->kind == COL_LISTENER_AGENT) {
                    col_metrics_report_rejected(srv->cfg.metrics, COL_REJECT_BAD_REQUEST);
                }
                col_conn_fail(c, status, why, true);
                return COL_CONN_CLOSE;
            }
        }
        bool waiting = c->rlen == 0;
        if (waiting && atomic_load(&srv->stopping)) {
            return COL_CONN_CLOSE;
        }
        uint64_t deadline = waiting && !first ? idle_deadline : head_deadline;
        size_t got = 0;
        enum col_tls_io io = col_tls_conn_read(c->tls, c->rbuf + c->rlen, COL_SERVER_RBUF - c->rlen,
                                               &got, deadline, waiting);
        if (io != COL_TLS_IO_OK) {
            if (io == COL_TLS_IO_TIMEOUT && !waiting) {
                col_log(COL_LOG_DEBUG, "%s: request head timed out", c->peer.remote_addr);
                col_conn_fail(c, 408, "the request head did not arrive in time", false);
            } else if (io == COL_TLS_IO_TIMEOUT || io == COL_TLS_IO_STOPPED) {
                col_tls_conn_close_notify(c->tls, col_server_deadline(COL_SERVER_CLOSE_NOTIFY_MS));
            }
            return COL_CONN_CLOSE;
        }
        if (waiting && !first) {
            head_deadline = col_server_deadline(srv->cfg.header_timeout_ms);
        }
        c->rlen += got;
    }
}

bool col_server_conn_body_reserve(struct col_conn *c, size_t need)
{
    unsigned long max_body = c->srv->cfg.max_body_bytes;
    size_t limit = max_body >= SIZE_MAX ? SIZE_MAX : (size_t)max_body + 1;

    if (need <= c->body_cap) {
        return true;
    }
    size_t cap = c->body_cap > 0 ? c->body_cap : COL_SERVER_BODY_MIN;
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

void col_server_conn_recycle(struct col_conn *c)
{
    c->req->body = NULL;
    c->req->body_len = 0;
    if (c->body_cap > COL_SERVER_KEEP_MAX) {
        proto_free(c->body);
        c->body = NULL;
        c->body_cap = 0;
    }
    if (c->out.cap > COL_SERVER_KEEP_MAX) {
        proto_buf_free(&c->out);
    } else {
        proto_buf_reset(&c->out);
    }
}

/* Reads the body announced by Content-Length into c->body; sets req->body / req->body_len. */
static enum col_conn_next col_conn_read_body(struct col_conn *c, size_t head_len)
{
    struct col_server *srv = c->srv;
    struct col_http_request *req = c->req;
    uint64_t length = req->has_content_length ? req->content_length : 0;
    size_t have = c->rlen - head_len;

    const char *expect = col_http_header_get(req, "Expect");
    if (expect != NULL && strcasecmp(expect, "100-continue") != 0) {
        col_conn_fail(c, 417, "only 'Expect: 100-continue' is supported", true);
        return COL_CONN_CLOSE;
    }
    if (length > srv->cfg.max_body_bytes) {
        char message[96];
        int n = snprintf(message, sizeof(message), "request body larger than %lu bytes",
                         srv->cfg.max_body_bytes);
        col_log(COL_LOG_DEBUG, "%s: 413 %s %s (%llu bytes)", c->peer.remote_addr, req->method,
                req->path, (unsigned long long)length);
        if (c->kind == COL_LISTENER_AGENT && strcmp(req->path, "/v1/reports") == 0) {
            col_metrics_report_rejected(srv->cfg.metrics, COL_REJECT_TOO_LARGE);
        }
        col_conn_fail(c, 413, n > 0 ? message : "request body too large", true);
        return COL_CONN_CLOSE;
    }
    size_t len = (size_t)length;
    size_t copied = have < len ? have : len;
    if (len > 0) {
        if (!col_server_conn_body_reserve(c, len + 1)) {
            col_conn_fail(c, 503, "out of memory", true);
            return COL_CONN_CLOSE;
        }
        char *body = c->body;
        memcpy(body, c->rbuf + head_len, copied);
        if (expect != NULL && copied < len && req->version_minor == 1) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            if (col_tls_conn_write(c->tls, cont, sizeof(cont) - 1,
                                   col_server_deadline(srv->cfg.body_timeout_ms)) !=
                COL_TLS_IO_OK) {
                return COL_CONN_CLOSE;
            }
        }
        uint64_t deadline = col_server_deadline(srv->cfg.body_timeout_ms);
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
    return COL_CONN_CONTINUE;
}

bool col_server_conn_serialize_answer(struct col_conn *c, struct col_http_response *resp,
                                      bool *keep, size_t *send_len, int *status, size_t *body_len)
{
    struct col_server *srv = c->srv;
    struct col_http_request *req = c->req;
    struct proto_buf *out = &c->out; /* empty: col_server_conn_recycle ran after the last request */
    bool ok = false;

    if (resp->status < 100 || resp->status > 599) {
        col_log(COL_LOG_ERROR, "handler for %s %s returned status %d", req->method, req->path,
                resp->status);
        (void)col_http_response_error(resp, 500, "internal", "internal error", NULL);
    }
    *status = resp->status;
    *body_len = resp->body.len;
    *keep = req->keep_alive && !resp->close && !atomic_load(&srv->stopping);
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

void col_server_conn_log_access(const struct col_conn *c, int status, size_t body_len,
                                uint64_t started_ms, bool written)
{
    if (col_log_enabled(COL_LOG_DEBUG)) {
        col_log(COL_LOG_DEBUG, "%s %s %s %s -> %d, %zu bytes, %llu ms%s", c->peer.remote_addr,
                c->peer.identity[0] != '\0' ? c->peer.identity : "-", c->req->method, c->req->path,
                status, body_len, (unsigned long long)(col_tls_now_ms() - started_ms),
                written ? "" : " (write failed)");
    }
}

enum col_server_after col_server_conn_after_answer(struct col_conn *c, bool sent, bool keep)
{
    if (!sent) {
        return COL_SERVER_AFTER_CLOSE;
    }
    if (!keep) {
        return COL_SERVER_AFTER_CLOSE_NOTIFY;
    }
    if (c->rlen > 0 || col_tls_conn_pending(c->tls)) {
        return COL_SERVER_AFTER_READ; /* pipelined */
    }
    return COL_SERVER_AFTER_WAIT;
}

/* Runs the handler and writes its answer. True when it was sent; *keep: whether the connection
 * stays open after it. */
static bool col_conn_respond(struct col_conn *c, uint64_t started_ms, bool *keep)
{
    struct col_server *srv = c->srv;
    struct col_http_response resp;
    size_t send_len = 0;
    int status = 0;
    size_t body_len = 0;

    col_http_response_init(&resp);
    srv->cfg.handler(srv->cfg.handler_ctx, c->req, &c->peer, &resp);
    if (!col_server_conn_serialize_answer(c, &resp, keep, &send_len, &status, &body_len)) {
        return false;
    }
    col_metrics_request_served(srv->cfg.metrics, false); /* before: the client may be quick */
    enum col_tls_io io = col_tls_conn_write(c->tls, c->out.data, send_len,
                                            col_server_deadline(srv->cfg.body_timeout_ms));
    col_server_conn_log_access(c, status, body_len, started_ms, io == COL_TLS_IO_OK);
    return io == COL_TLS_IO_OK;
}

static void col_conn_say_goodbye(struct col_conn *c)
{
    col_tls_conn_close_notify(c->tls, col_server_deadline(COL_SERVER_CLOSE_NOTIFY_MS));
}

/*
 * Between two requests on a kept agent connection: hands it to the event thread, which serves
 * the reports that come whole, until something needs this thread. CONTINUE: read and serve the
 * next request here (its bytes may already be in c->rbuf); CLOSE: the connection is over.
 */
static enum col_conn_next col_conn_park(struct col_conn *c)
{
    struct col_server *srv = c->srv;

    for (;;) {
        switch (col_events_park(srv->events, c)) {
        case COL_EVENTS_NOT_PARKED:
        case COL_EVENTS_DATA:
            return COL_CONN_CONTINUE;
        case COL_EVENTS_WRITE: {
            enum col_tls_io io =
                col_tls_conn_write(c->tls, c->out.data + c->park.sent, c->park.len - c->park.sent,
                                   col_server_deadline(srv->cfg.body_timeout_ms));
            col_server_conn_log_access(c, c->park.status, c->park.body_len, c->park.started_ms,
                                       io == COL_TLS_IO_OK);
            col_server_conn_recycle(c);
            switch (col_server_conn_after_answer(c, io == COL_TLS_IO_OK, c->park.keep)) {
            case COL_SERVER_AFTER_CLOSE:
                return COL_CONN_CLOSE;
            case COL_SERVER_AFTER_CLOSE_NOTIFY:
                col_conn_say_goodbye(c);
                return COL_CONN_CLOSE;
            case COL_SERVER_AFTER_READ:
                return COL_CONN_CONTINUE;
            case COL_SERVER_AFTER_WAIT:
                continue; /* answered: back to the event thread */
            }
            return COL_CONN_CLOSE;
        }
        case COL_EVENTS_CLOSE_NOTIFY:
            col_conn_say_goodbye(c);
            return COL_CONN_CLOSE;
        case COL_EVENTS_END:
            return COL_CONN_CLOSE;
        }
        return COL_CONN_CLOSE;
    }
}

/* A TLS context for this connection: the one the thread kept (reset), else a new one. */
static bool col_conn_tls_prepare(struct col_conn *c)
{
    struct col_server *srv = c->srv;

    if (c->tls != NULL) {
        if (col_tls_conn_reset(c->tls, c->kind, c->fd) == PROTO_OK) {
            return true;
        }
        col_tls_conn_destroy(c->tls);
        c->tls = NULL;
    }
    c->tls = col_tls_conn_create(srv->tls, c->kind, c->fd, srv->stop_pipe[0]);
    return c->tls != NULL;
}

static void col_conn_serve(struct col_conn *c)
{
    struct col_server *srv = c->srv;
    char why[160];
    bool resumed = false;

    if (!col_conn_tls_prepare(c)) {
        col_metrics_connection_refused(srv->cfg.metrics);
        col_log(COL_LOG_WARN, "%s: no TLS context for the connection: out of memory",
                c->peer.remote_addr);
        return;
    }
    enum col_tls_io io =
        col_tls_conn_handshake(c->tls, c->accepted_ms + srv->cfg.handshake_timeout_ms, true,
                               &c->peer, &resumed, why, sizeof(why));
    if (io != COL_TLS_IO_OK) {
        if (io != COL_TLS_IO_STOPPED) {
            col_metrics_handshake(srv->cfg.metrics, 0, 0);
            col_log(COL_LOG_DEBUG, "%s: %s handshake failed: %s", c->peer.remote_addr,
                    col_server_kind_names[c->kind], why);
        }
        return;
    }
    col_metrics_handshake(srv->cfg.metrics, 1, resumed);
    col_log(COL_LOG_DEBUG, "%s: %s handshake ok%s, identity '%s'", c->peer.remote_addr,
            col_server_kind_names[c->kind], resumed ? " (resumed)" : "", c->peer.identity);

    unsigned served = 0;
    for (bool first = true;; first = false) {
        size_t head_len = 0;
        if (col_conn_read_head(c, first, &head_len) != COL_CONN_CONTINUE) {
            return;
        }
        uint64_t started = col_tls_now_ms();
        if (col_conn_read_body(c, head_len) != COL_CONN_CONTINUE) {
            return;
        }
        bool keep = false;
        bool sent = col_conn_respond(c, started, &keep);
        col_server_conn_recycle(c);
        if (served < COL_SERVER_PARK_AFTER) {
            served++;
        }
        switch (col_server_conn_after_answer(c, sent, keep)) {
        case COL_SERVER_AFTER_CLOSE:
            return;
        case COL_SERVER_AFTER_CLOSE_NOTIFY:
            col_conn_say_goodbye(c);
            return;
        case COL_SERVER_AFTER_READ:
            break;
        case COL_SERVER_AFTER_WAIT:
            if (srv->events != NULL && c->kind == COL_LISTENER_AGENT &&
                served >= COL_SERVER_PARK_AFTER && col_conn_park(c) != COL_CONN_CONTINUE) {
                return;
            }
            break;
        }
    }
}

static void col_conn_free(struct col_conn *c)
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
    if (c->wake_ready) {
        pthread_cond_destroy(&c->wake);
    }
    col_events_park_free(&c->park);
    proto_free(c);
}

/* A thread's connection struct without a connection yet (fd -1, no TLS context). */
static struct col_conn *col_conn_new(struct col_server *srv)
{
    struct col_conn *c = proto_calloc(1, sizeof(*c));

    if (c == NULL) {
        return NULL;
    }
    c->srv = srv;
    c->fd = -1;
    proto_buf_init(&c->out, COL_SERVER_OUT_MAX);
    c->rbuf = proto_malloc(COL_SERVER_RBUF);
    c->req = proto_malloc(sizeof(*c->req));
    c->wake_ready = col_server_cond_init(&c->wake);
    bool park_ready = col_events_park_init(&c->park);
    if (c->rbuf == NULL || c->req == NULL || !c->wake_ready || !park_ready) {
        col_conn_free(c);
        return NULL;
    }
    return c;
}

/* The per-connection fields; everything else a previous connection left was cleared when it
 * ended (col_conn_end). */
static void col_conn_attach(struct col_conn *c, enum col_listener_kind kind, int fd,
                            const char *remote_addr)
{
    c->fd = fd;
    c->kind = kind;
    c->accepted_ms = col_tls_now_ms();
    c->rlen = 0;
    memset(&c->peer, 0, sizeof(c->peer));
    c->peer.listener = kind;
    (void)snprintf(c->peer.remote_addr, sizeof(c->peer.remote_addr), "%s", remote_addr);
}

/* Under srv->lock. */
static void col_server_link(struct col_server *srv, struct col_conn *c)
{
    c->prev = NULL;
    c->next = srv->conns;
    if (srv->conns != NULL) {
        srv->conns->prev = c;
    }
    srv->conns = c;
}

/* Under srv->lock. */
static void col_server_unlink(struct col_server *srv, struct col_conn *c)
{
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        srv->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    c->prev = NULL;
    c->next = NULL;
}

/* Under srv->lock: takes c off the idle stack (at most idle_threads_max entries). */
static void col_server_idle_remove(struct col_server *srv, struct col_conn *c)
{
    for (struct col_conn **p = &srv->idle_conns; *p != NULL; p = &(*p)->idle_next) {
        if (*p == c) {
            *p = c->idle_next;
            c->idle_next = NULL;
            srv->idle_count--;
            return;
        }
    }
}

/*
 * The connection is over. Leave the list before closing the fd, so the stopper can never shut
 * down a reused fd number. The thread keeps its buffers and TLS context, but nothing of the
 * peer: the TLS session (certificate, keys, buffered records) is wiped now, not when the next
 * connection comes, so an idle thread holds none of it.
 */
static void col_conn_end(struct col_conn *c)
{
    struct col_server *srv = c->srv;

    pthread_mutex_lock(&srv->lock);
    col_server_unlink(srv, c);
    pthread_mutex_unlock(&srv->lock);
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    c->rlen = 0;
    col_server_conn_recycle(c);
    if (c->body_cap > COL_SERVER_IDLE_KEEP_MAX) {
        proto_free(c->body);
        c->body = NULL;
        c->body_cap = 0;
    }
    if (c->out.cap > COL_SERVER_IDLE_KEEP_MAX) {
        proto_buf_free(&c->out);
    }
    memset(&c->peer, 0, sizeof(c->peer));
    if (c->tls != NULL && col_tls_conn_reset(c->tls, c->kind, -1) != PROTO_OK) {
        col_tls_conn_destroy(c->tls);
        c->tls = NULL;
    }
    col_metrics_connection(srv->cfg.metrics, -1);
}

/*
 * Between connections: the connection is no longer counted, and the thread offers itself to the
 * acceptor for up to idle_thread_ms. True when a connection was handed over (its fields are
 * set); false when the thread should exit: the pool is full, nothing came, or the server stops.
 */
static bool col_conn_wait_next(struct col_conn *c)
{
    struct col_server *srv = c->srv;
    bool handed = false;

    pthread_mutex_lock(&srv->lock);
    atomic_fetch_sub(&srv->active, 1);
    pthread_cond_broadcast(&srv->idle);
    if (!atomic_load(&srv->stopping) && srv->idle_count < srv->cfg.idle_threads_max) {
        c->idle_next = srv->idle_conns;
        srv->idle_conns = c;
        srv->idle_count++;
        struct timespec until = col_server_abstime(srv->cfg.idle_thread_ms);
        while (!c->assigned && !atomic_load(&srv->stopping)) {
            if (pthread_cond_timedwait(&c->wake, &srv->lock, &until) != 0) {
                break; /* ETIMEDOUT */
            }
        }
        if (c->assigned) { /* even if stopping: it is counted and listed, serve it */
            c->assigned = false;
            handed = true;
        } else {
            col_server_idle_remove(srv, c);
        }
    }
    pthread_mutex_unlock(&srv->lock);
    return handed;
}

static void *col_conn_main(void *arg)
{
    (void)pthread_setname_np(pthread_self(), "rras-conn"); /* top -H, perf, gdb */
    struct col_conn *c = arg;
    struct col_server *srv = c->srv;

    do {
        col_conn_serve(c);
        col_conn_end(c);
    } while (col_conn_wait_next(c));

    /* Free first: once `threads` reaches 0 col_server_run returns and the TLS configuration the
     * context points into may be destroyed. Then touch the server only under the lock, last. */
    col_conn_free(c);
    pthread_mutex_lock(&srv->lock);
    srv->threads--;
    pthread_cond_broadcast(&srv->idle);
    pthread_mutex_unlock(&srv->lock);
    return NULL;
}

static void col_server_format_addr(const struct sockaddr_storage *ss, char *out, size_t size)
{
    char host[INET6_ADDRSTRLEN];
    unsigned port = 0;
    int n = -1;

    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        if (inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host)) != NULL) {
            port = ntohs(in->sin_port);
            n = snprintf(out, size, "%s:%u", host, port);
        }
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        if (inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host)) != NULL) {
            port = ntohs(in6->sin6_port);
            n = snprintf(out, size, "[%s]:%u", host, port);
        }
    }
    if (n < 0 || (size_t)n >= size) {
        snprintf(out, size, "?");
    }
}

/*
 * Takes ownership of fd: hands it to an idle pooled thread (the most recently idle one, whose
 * caches are warm), else serves it on a new thread, or closes it.
 */
static void col_server_start_conn(struct col_server *srv, enum col_listener_kind kind, int fd,
                                  const struct sockaddr_storage *ss)
{
    struct col_conn *c = NULL;
    char addr[sizeof(c->peer.remote_addr)];

    if (atomic_load(&srv->active) >= srv->cfg.max_connections) {
        col_metrics_connection_refused(srv->cfg.metrics);
        col_log(COL_LOG_DEBUG, "refusing a connection: %lu open", srv->cfg.max_connections);
        close(fd);
        return;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    col_server_format_addr(ss, addr, sizeof(addr));

    pthread_mutex_lock(&srv->lock);
    c = srv->idle_conns;
    if (c != NULL) {
        srv->idle_conns = c->idle_next;
        c->idle_next = NULL;
        srv->idle_count--;
        col_conn_attach(c, kind, fd, addr);
        col_server_link(srv, c);
        atomic_fetch_add(&srv->active, 1);
        col_metrics_connection(srv->cfg.metrics, +1); /* before the thread can count it closed */
        c->assigned = true;
        pthread_cond_signal(&c->wake);
        pthread_mutex_unlock(&srv->lock);
        atomic_fetch_add(&srv->handoffs, 1);
        col_metrics_connection_thread(srv->cfg.metrics, true);
        return;
    }
    pthread_mutex_unlock(&srv->lock);

    c = col_conn_new(srv);
    if (c == NULL) {
        goto fail;
    }
    col_conn_attach(c, kind, fd, addr);
    c->tls = col_tls_conn_create(srv->tls, kind, fd, srv->stop_pipe[0]);
    if (c->tls == NULL) {
        goto fail;
    }
    pthread_mutex_lock(&srv->lock);
    col_server_link(srv, c);
    atomic_fetch_add(&srv->active, 1);
    srv->threads++;
    pthread_mutex_unlock(&srv->lock);
    col_metrics_connection(srv->cfg.metrics, +1);

    pthread_t thread;
    int rc = pthread_create(&thread, &srv->thread_attr, col_conn_main, c);
    if (rc != 0) {
        col_log(COL_LOG_WARN, "cannot start a connection thread: %s", strerror(rc));
        pthread_mutex_lock(&srv->lock);
        col_server_unlink(srv, c);
        atomic_fetch_sub(&srv->active, 1);
        srv->threads--;
        pthread_cond_broadcast(&srv->idle);
        pthread_mutex_unlock(&srv->lock);
        col_metrics_connection(srv->cfg.metrics, -1);
        goto fail;
    }
    atomic_fetch_add(&srv->threads_started, 1);
    col_metrics_connection_thread(srv->cfg.metrics, false);
    return;
fail:
    col_metrics_connection_refused(srv->cfg.metrics);
    if (c != NULL) {
        col_conn_free(c); /* attached: closes fd */
    } else {
        close(fd);
    }
}

/* Accepts what is pending on one listener. Returns false on fd exhaustion (back off). */
static bool col_server_accept_burst(struct col_server *srv, enum col_listener_kind kind)
{
    for (int k = 0; k < COL_SERVER_ACCEPT_BURST; k++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int fd = accept4(srv->listen_fd[kind], (struct sockaddr *)&ss, &len,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                col_log(COL_LOG_WARN, "accept on the %s listener: %s", col_server_kind_names[kind],
                        strerror(errno));
                return false;
            }
            return true; /* EAGAIN, or a connection that died in the queue */
        }
        col_server_start_conn(srv, kind, fd, &ss);
    }
    return true;
}

/*
 * After the accept loop: idle pooled threads exit at once; in-flight requests get a bounded
 * wait, then the rest are forced closed; returns when every connection thread has ended.
 */
static void col_server_drain(struct col_server *srv)
{
    uint64_t deadline = col_server_deadline(srv->cfg.stop_grace_ms);
    unsigned long open = atomic_load(&srv->active);

    atomic_store(&srv->stopping, true); /* also on the poll-error path */
    col_events_stop(srv->events);       /* parked connections come back to their threads */
    if (open > 0) {
        col_log(COL_LOG_INFO, "stopping: %lu connections open, waiting up to %lu ms", open,
                srv->cfg.stop_grace_ms);
    }
    pthread_mutex_lock(&srv->lock);
    /* A thread that becomes idle from now on sees `stopping` under this lock and exits. */
    for (struct col_conn *c = srv->idle_conns; c != NULL; c = c->idle_next) {
        pthread_cond_signal(&c->wake);
    }
    while (atomic_load(&srv->active) > 0) {
        uint64_t now = col_tls_now_ms();
        if (now >= deadline) {
            break;
        }
        struct timespec until = col_server_abstime(deadline - now);
        (void)pthread_cond_timedwait(&srv->idle, &srv->lock, &until);
    }
    if (atomic_load(&srv->active) > 0) {
        col_log(COL_LOG_WARN, "stopping: closing %lu connections still busy after %lu ms",
                (unsigned long)atomic_load(&srv->active), srv->cfg.stop_grace_ms);
        for (struct col_conn *c = srv->conns; c != NULL; c = c->next) {
            (void)shutdown(c->fd, SHUT_RDWR);
        }
    }
    while (atomic_load(&srv->active) > 0 || srv->threads > 0) {
        (void)pthread_cond_wait(&srv->idle, &srv->lock);
    }
    pthread_mutex_unlock(&srv->lock);
}

enum proto_rc col_server_run(struct col_server *srv)
{
    enum proto_rc result = PROTO_OK;
    uint64_t backoff_until = 0;

    while (!atomic_load(&srv->stopping)) {
        struct pollfd fds[COL_SERVER_LISTENERS + 1];
        enum col_listener_kind kinds[COL_SERVER_LISTENERS];
        nfds_t n = 0;
        bool backoff = col_tls_now_ms() < backoff_until;
        for (int k = 0; k < COL_SERVER_LISTENERS && !backoff; k++) {
            if (srv->listen_fd[k] >= 0) {
                fds[n].fd = srv->listen_fd[k];
                fds[n].events = POLLIN;
                fds[n].revents = 0;
                kinds[n] = (enum col_listener_kind)k;
                n++;
            }
        }
        fds[n].fd = srv->stop_pipe[0];
        fds[n].events = POLLIN;
        fds[n].revents = 0;
        int rc = poll(fds, n + 1, backoff ? 100 : -1);
        if (rc < 0) {
            if (errno == EINTR) {
                continue;
            }
            col_log(COL_LOG_ERROR, "poll on the listeners: %s", strerror(errno));
            result = PROTO_EIO; /* still stop cleanly: threads must end before destroy */
            break;
        }
        if ((fds[n].revents & POLLIN) != 0) {
            break;
        }
        for (nfds_t k = 0; k < n; k++) {
            if ((fds[k].revents & POLLIN) != 0 && !col_server_accept_burst(srv, kinds[k])) {
                backoff_until = col_tls_now_ms() + 100;
            }
        }
    }
    for (int k = 0; k < COL_SERVER_LISTENERS; k++) {
        if (srv->listen_fd[k] >= 0) {
            close(srv->listen_fd[k]);
            srv->listen_fd[k] = -1;
        }
    }
    col_server_drain(srv);
    col_log(COL_LOG_INFO, "stopped");
    return result;
}
