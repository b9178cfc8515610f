/*
 * server: creates the parts, runs the accept loop and stops (see server.h; the model is
 * described in docs/internals/collector.md).
 *
 * Owns the listening sockets, the stop pipe and flag, the TLS state, the pool of connection
 * threads (pool.c, which serves each connection with conn.c) and the event thread (events.c,
 * decision 008). The accept loop runs on the caller of col_server_run: it polls the listeners
 * and the stop pipe, accepts in bursts and hands each socket to the pool. It never touches a
 * connection itself.
 */
#define _GNU_SOURCE /* accept4 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "clock.h"
#include "events.h"
#include "listen.h"
#include "log.h"
#include "pool.h"
#include "tls.h"

#define COL_SERVER_LISTENERS 2
#define COL_SERVER_ACCEPT_BURST 64        /* accepts per wake-up, per listener */
#define COL_SERVER_ACCEPT_BACKOFF_MS 100u /* after fd exhaustion */

static const char *const col_server_kind_names[COL_SERVER_LISTENERS] = {"agent", "admin"};

struct col_server {
    struct col_server_config cfg; /* strings are not used after create; defaults filled in */
    struct col_tls *tls;
    int listen_fd[COL_SERVER_LISTENERS]; /* by enum col_listener_kind; -1 when disabled */
    unsigned port[COL_SERVER_LISTENERS];
    int stop_pipe[2];
    atomic_bool stopping;
    struct col_pool *pool;
    struct col_events *events; /* NULL: connection threads wait for their next request */
};

static int col_server_set_nonblock(int fd)
{
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
        return -1;
    }
    return 0;
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
        proto_errf(err, err_size, "no handler or no listener configured");
        return PROTO_EINVAL;
    }
    if (agent && (cfg->client_ca == NULL || cfg->client_ca[0] == '\0')) {
        proto_errf(err, err_size, "the agent listener needs client_ca");
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
    col_server_config_defaults(&srv->cfg);
    srv->listen_fd[0] = srv->listen_fd[1] = -1;
    srv->stop_pipe[0] = srv->stop_pipe[1] = -1;
    atomic_init(&srv->stopping, false);

    if (pipe(srv->stop_pipe) != 0 || col_server_set_nonblock(srv->stop_pipe[1]) != 0 ||
        fcntl(srv->stop_pipe[0], F_SETFD, FD_CLOEXEC) != 0 ||
        fcntl(srv->stop_pipe[1], F_SETFD, FD_CLOEXEC) != 0) {
        proto_errf(err, err_size, "stop pipe: %s", strerror(errno));
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
        .clock_recheck_ms = srv->cfg.clock_recheck_ms,
    };
    result = col_tls_create(&ts, &srv->tls, err, err_size);
    if (result != PROTO_OK) {
        goto out;
    }
    for (int k = 0; k < COL_SERVER_LISTENERS; k++) {
        const char *addr = k == COL_LISTENER_AGENT ? cfg->agent_listen : cfg->admin_listen;
        if (addr != NULL && addr[0] != '\0') {
            result = col_listen_open(addr, &srv->listen_fd[k], &srv->port[k], err, err_size);
            if (result != PROTO_OK) {
                goto out;
            }
        }
    }
    if (agent && cfg->begin != NULL && cfg->finish != NULL && cfg->event_keepalive) {
        srv->events = col_events_create(&srv->cfg); /* NULL: the threads wait for themselves */
    }
    struct col_pool_deps deps = {
        .cfg = &srv->cfg,
        .tls = srv->tls,
        .stop_fd = srv->stop_pipe[0],
        .stopping = &srv->stopping,
        .events = srv->events,
    };
    result = col_pool_create(&deps, &srv->pool);
    if (result != PROTO_OK) {
        goto out;
    }
    col_listen_raise_fd_limit(srv->cfg.max_connections);
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
    return srv == NULL ? 0 : col_pool_connections(srv->pool);
}

void col_server_pool_stats(const struct col_server *srv, struct col_server_pool_stats *out)
{
    struct col_pool_stats st;

    col_pool_stats(srv == NULL ? NULL : srv->pool, &st);
    out->threads_started = st.threads_started;
    out->threads_alive = st.threads_alive;
    out->threads_idle = st.threads_idle;
    out->handoffs = st.handoffs;
}

unsigned long col_server_events_handed_back(const struct col_server *srv,
                                            enum col_server_handback why)
{
    enum col_conn_park_outcome outcome = COL_CONN_PARK_END;
    switch (why) {
    case COL_SERVER_HANDBACK_DATA:
        outcome = COL_CONN_PARK_DATA;
        break;
    case COL_SERVER_HANDBACK_WRITE:
        outcome = COL_CONN_PARK_WRITE;
        break;
    case COL_SERVER_HANDBACK_CLOSE:
        outcome = COL_CONN_PARK_CLOSE_NOTIFY;
        break;
    case COL_SERVER_HANDBACK_END:
        outcome = COL_CONN_PARK_END;
        break;
    default:
        return 0;
    }
    return srv == NULL ? 0 : (unsigned long)col_events_handed_back(srv->events, outcome);
}

unsigned long col_server_events_requests_seen(const struct col_server *srv)
{
    return srv == NULL ? 0 : (unsigned long)col_events_requests_seen(srv->events);
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
    col_pool_destroy(srv->pool);
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
    proto_free(srv);
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
        char addr[sizeof(((struct col_peer *)NULL)->remote_addr)];
        col_listen_format_addr(&ss, addr, sizeof(addr));
        col_pool_start(srv->pool, kind, fd, addr);
    }
    return true;
}

enum proto_rc col_server_run(struct col_server *srv)
{
    enum proto_rc result = PROTO_OK;
    uint64_t backoff_until = 0;

    while (!atomic_load(&srv->stopping)) {
        struct pollfd fds[COL_SERVER_LISTENERS + 1];
        enum col_listener_kind kinds[COL_SERVER_LISTENERS];
        nfds_t n = 0;
        /* A pause, not a deadline: real time, so a test's stopped clock cannot stall accepts. */
        bool backoff = col_clock_system_monotonic_ms() < backoff_until;
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
        int rc = poll(fds, n + 1, backoff ? (int)COL_SERVER_ACCEPT_BACKOFF_MS : -1);
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
                backoff_until = col_clock_system_monotonic_ms() + COL_SERVER_ACCEPT_BACKOFF_MS;
            }
        }
    }
    for (int k = 0; k < COL_SERVER_LISTENERS; k++) {
        if (srv->listen_fd[k] >= 0) {
            close(srv->listen_fd[k]);
            srv->listen_fd[k] = -1;
        }
    }
    atomic_store(&srv->stopping, true); /* also on the poll-error path */
    col_events_stop(srv->events);       /* parked connections come back to their threads */
    col_pool_drain(srv->pool);
    col_log(COL_LOG_INFO, "stopped");
    return result;
}
