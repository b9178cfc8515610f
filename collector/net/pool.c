/*
 * pool: detached connection threads, pooled (see pool.h; the model is described in
 * docs/internals/collector.md).
 *
 * A thread's struct col_pool_thread holds its connection struct and the hand-off state. The
 * acceptor sets a connection's fields before the thread sees them: before pthread_create, or
 * under the pool's lock when it hands the struct to an idle thread. Timed waits decide on the
 * collector's clock and sleep at most clock_recheck_ms of real time between two looks at it.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include "pool.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "clock.h"
#include "conn.h"
#include "events.h"
#include "log.h"

#if defined(__SANITIZE_ADDRESS__)
#define COL_POOL_THREAD_STACK (1024u * 1024u) /* ASan's redzones triple frame sizes */
#else
#define COL_POOL_THREAD_STACK COL_SERVER_STACK_BYTES
#endif

struct col_pool_thread {
    struct col_pool *pool;
    struct col_conn *conn;
    pthread_cond_t wake; /* the acceptor's hand-off or the stop, under pool->lock */
    bool wake_ready;
    bool assigned;                /* under pool->lock: a connection was handed over */
    struct col_pool_thread *prev; /* in pool->serving, under pool->lock */
    struct col_pool_thread *next;
    struct col_pool_thread *idle_next; /* in pool->idle_threads, under pool->lock */
};

struct col_pool {
    struct col_pool_deps deps;
    atomic_ulong active; /* connections open */
    pthread_mutex_t lock;
    pthread_cond_t idle; /* broadcast when a connection ends and when a thread exits */
    pthread_attr_t thread_attr;
    bool attr_ready;
    bool sync_ready;
    struct col_pool_thread *serving;      /* serving a connection (fd open), under lock */
    struct col_pool_thread *idle_threads; /* most recently idle first, under lock */
    unsigned long idle_count;             /* entries of idle_threads, under lock */
    unsigned long threads;                /* alive (serving or idle), under lock */
    atomic_ulong threads_started;
    atomic_ulong handoffs;
};

/* A condition variable whose timed waits use CLOCK_MONOTONIC, like col_pool_wait below. */
static bool col_pool_cond_init(pthread_cond_t *cond)
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

/*
 * Waits on cond (under pool->lock) for a signal, or until deadline_ms on the collector's clock,
 * sleeping at most clock_recheck_ms of real time. The caller looks at its condition and the
 * clock again after it returns.
 */
static void col_pool_wait(struct col_pool *pool, pthread_cond_t *cond, uint64_t deadline_ms)
{
    uint64_t now = col_clock_monotonic_ms();
    uint64_t left = deadline_ms > now ? deadline_ms - now : 0;
    if (left > pool->deps.cfg->clock_recheck_ms) {
        left = pool->deps.cfg->clock_recheck_ms;
    }
    uint64_t until = col_clock_system_monotonic_ms() + left;
    struct timespec ts = {.tv_sec = (time_t)(until / 1000u),
                          .tv_nsec = (long)(until % 1000u) * 1000000L};
    (void)pthread_cond_timedwait(cond, &pool->lock, &ts);
}

enum proto_rc col_pool_create(const struct col_pool_deps *deps, struct col_pool **out)
{
    enum proto_rc result = PROTO_OK;
    struct col_pool *pool = proto_calloc(1, sizeof(*pool));

    *out = NULL;
    if (pool == NULL) {
        return PROTO_ENOMEM;
    }
    pool->deps = *deps;
    atomic_init(&pool->active, 0);
    atomic_init(&pool->threads_started, 0);
    atomic_init(&pool->handoffs, 0);
    if (pthread_mutex_init(&pool->lock, NULL) != 0) {
        result = PROTO_ENOMEM;
        goto out;
    }
    if (!col_pool_cond_init(&pool->idle)) {
        pthread_mutex_destroy(&pool->lock);
        result = PROTO_ENOMEM;
        goto out;
    }
    pool->sync_ready = true;
    if (pthread_attr_init(&pool->thread_attr) != 0) {
        result = PROTO_ENOMEM;
        goto out;
    }
    pool->attr_ready = true;
    if (pthread_attr_setstacksize(&pool->thread_attr, COL_POOL_THREAD_STACK) != 0 ||
        pthread_attr_setdetachstate(&pool->thread_attr, PTHREAD_CREATE_DETACHED) != 0) {
        result = PROTO_EINVAL;
        goto out;
    }
out:
    if (result != PROTO_OK) {
        col_pool_destroy(pool);
        return result;
    }
    *out = pool;
    return PROTO_OK;
}

void col_pool_destroy(struct col_pool *pool)
{
    if (pool == NULL) {
        return;
    }
    if (pool->attr_ready) {
        pthread_attr_destroy(&pool->thread_attr);
    }
    if (pool->sync_ready) {
        pthread_cond_destroy(&pool->idle);
        pthread_mutex_destroy(&pool->lock);
    }
    proto_free(pool);
}

unsigned long col_pool_connections(const struct col_pool *pool)
{
    return pool == NULL ? 0 : atomic_load(&((struct col_pool *)pool)->active);
}

void col_pool_stats(const struct col_pool *cpool, struct col_pool_stats *out)
{
    struct col_pool *pool = (struct col_pool *)cpool; /* the lock is not const */

    memset(out, 0, sizeof(*out));
    if (pool == NULL) {
        return;
    }
    out->threads_started = atomic_load(&pool->threads_started);
    out->handoffs = atomic_load(&pool->handoffs);
    pthread_mutex_lock(&pool->lock);
    out->threads_alive = pool->threads;
    out->threads_idle = pool->idle_count;
    pthread_mutex_unlock(&pool->lock);
}

/* Under pool->lock. */
static void col_pool_link(struct col_pool *pool, struct col_pool_thread *t)
{
    t->prev = NULL;
    t->next = pool->serving;
    if (pool->serving != NULL) {
        pool->serving->prev = t;
    }
    pool->serving = t;
}

/* Under pool->lock. */
static void col_pool_unlink(struct col_pool *pool, struct col_pool_thread *t)
{
    if (t->prev != NULL) {
        t->prev->next = t->next;
    } else {
        pool->serving = t->next;
    }
    if (t->next != NULL) {
        t->next->prev = t->prev;
    }
    t->prev = NULL;
    t->next = NULL;
}

/* Under pool->lock: takes t off the idle stack (at most idle_threads_max entries). */
static void col_pool_idle_remove(struct col_pool *pool, struct col_pool_thread *t)
{
    for (struct col_pool_thread **p = &pool->idle_threads; *p != NULL; p = &(*p)->idle_next) {
        if (*p == t) {
            *p = t->idle_next;
            t->idle_next = NULL;
            pool->idle_count--;
            return;
        }
    }
}

static void col_pool_thread_free(struct col_pool_thread *t)
{
    if (t == NULL) {
        return;
    }
    col_conn_destroy(t->conn); /* attached: closes its fd */
    if (t->wake_ready) {
        pthread_cond_destroy(&t->wake);
    }
    proto_free(t);
}

/* A thread's struct with its connection struct, without a connection yet. */
static struct col_pool_thread *col_pool_thread_new(struct col_pool *pool)
{
    struct col_pool_thread *t = proto_calloc(1, sizeof(*t));

    if (t == NULL) {
        return NULL;
    }
    t->pool = pool;
    t->conn = col_conn_create(pool->deps.cfg, pool->deps.stopping);
    t->wake_ready = col_pool_cond_init(&t->wake);
    if (t->conn == NULL || !t->wake_ready) {
        col_pool_thread_free(t);
        return NULL;
    }
    return t;
}

/* A TLS session for the connection: the one the thread kept (reset), else a new one. */
static bool col_pool_tls_prepare(struct col_pool *pool, struct col_conn *c)
{
    if (c->tls != NULL) {
        if (col_tls_conn_reset(c->tls, c->kind, c->fd) == PROTO_OK) {
            return true;
        }
        col_tls_conn_destroy(c->tls);
        c->tls = NULL;
    }
    c->tls = col_tls_conn_create(pool->deps.tls, c->kind, c->fd, pool->deps.stop_fd);
    return c->tls != NULL;
}

/* One connection: the handshake, then requests on this thread and, between them, on the event
 * thread, until it is over. */
static void col_pool_serve(struct col_pool *pool, struct col_conn *c)
{
    if (!col_pool_tls_prepare(pool, c)) {
        col_metrics_connection_refused(pool->deps.cfg->metrics);
        col_log(COL_LOG_WARN, "%s: no TLS context for the connection: out of memory",
                c->peer.remote_addr);
        return;
    }
    if (!col_conn_handshake(c)) {
        return;
    }
    struct col_events *events = pool->deps.events;
    bool may_park = events != NULL && c->kind == COL_LISTENER_AGENT;
    enum col_conn_next next = COL_CONN_SERVE;
    while (next != COL_CONN_CLOSE) {
        next = next == COL_CONN_PARK ? col_conn_unparked(c, col_events_park(events, c))
                                     : col_conn_serve(c, may_park);
    }
}

/* The connection is over. Leave the list before closing the fd, so the drain can never shut
 * down a reused fd number. */
static void col_pool_end(struct col_pool *pool, struct col_pool_thread *t)
{
    pthread_mutex_lock(&pool->lock);
    col_pool_unlink(pool, t);
    pthread_mutex_unlock(&pool->lock);
    col_conn_detach(t->conn);
    col_metrics_connection(pool->deps.cfg->metrics, -1);
}

/*
 * Between connections: the connection is no longer counted, and the thread offers itself to the
 * acceptor for up to idle_thread_ms. True when a connection was handed over (its fields are
 * set); false when the thread should exit: the pool is full, nothing came, or the server stops.
 */
static bool col_pool_wait_next(struct col_pool *pool, struct col_pool_thread *t)
{
    const atomic_bool *stopping = pool->deps.stopping;
    bool handed = false;

    pthread_mutex_lock(&pool->lock);
    atomic_fetch_sub(&pool->active, 1);
    pthread_cond_broadcast(&pool->idle);
    if (!atomic_load(stopping) && pool->idle_count < pool->deps.cfg->idle_threads_max) {
        t->idle_next = pool->idle_threads;
        pool->idle_threads = t;
        pool->idle_count++;
        uint64_t until = col_clock_monotonic_ms() + pool->deps.cfg->idle_thread_ms;
        while (!t->assigned && !atomic_load(stopping) && col_clock_monotonic_ms() < until) {
            col_pool_wait(pool, &t->wake, until);
        }
        if (t->assigned) { /* even if stopping: it is counted and listed, serve it */
            t->assigned = false;
            handed = true;
        } else {
            col_pool_idle_remove(pool, t);
        }
    }
    pthread_mutex_unlock(&pool->lock);
    return handed;
}

static void *col_pool_thread_main(void *arg)
{
    (void)pthread_setname_np(pthread_self(), "rras-conn"); /* top -H, perf, gdb */
    struct col_pool_thread *t = arg;
    struct col_pool *pool = t->pool;

    do {
        col_pool_serve(pool, t->conn);
        col_pool_end(pool, t);
    } while (col_pool_wait_next(pool, t));

    /* Free first: once `threads` reaches 0 the server's run returns and the TLS configuration
     * the context points into may be destroyed. Then touch the pool only under the lock, last. */
    col_pool_thread_free(t);
    pthread_mutex_lock(&pool->lock);
    pool->threads--;
    pthread_cond_broadcast(&pool->idle);
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

void col_pool_start(struct col_pool *pool, enum col_listener_kind kind, int fd,
                    const char *remote_addr)
{
    const struct col_server_config *cfg = pool->deps.cfg;
    struct col_pool_thread *t = NULL;

    if (atomic_load(&pool->active) >= cfg->max_connections) {
        col_metrics_connection_refused(cfg->metrics);
        col_log(COL_LOG_DEBUG, "refusing a connection: %lu open", cfg->max_connections);
        close(fd);
        return;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    pthread_mutex_lock(&pool->lock);
    t = pool->idle_threads;
    if (t != NULL) {
        pool->idle_threads = t->idle_next;
        t->idle_next = NULL;
        pool->idle_count--;
        col_conn_attach(t->conn, kind, fd, remote_addr);
        col_pool_link(pool, t);
        atomic_fetch_add(&pool->active, 1);
        col_metrics_connection(cfg->metrics, +1); /* before the thread can count it closed */
        t->assigned = true;
        pthread_cond_signal(&t->wake);
        pthread_mutex_unlock(&pool->lock);
        atomic_fetch_add(&pool->handoffs, 1);
        col_metrics_connection_thread(cfg->metrics, true);
        return;
    }
    pthread_mutex_unlock(&pool->lock);

    t = col_pool_thread_new(pool);
    if (t == NULL) {
        goto fail;
    }
    col_conn_attach(t->conn, kind, fd, remote_addr);
    t->conn->tls = col_tls_conn_create(pool->deps.tls, kind, fd, pool->deps.stop_fd);
    if (t->conn->tls == NULL) {
        goto fail;
    }
    pthread_mutex_lock(&pool->lock);
    col_pool_link(pool, t);
    atomic_fetch_add(&pool->active, 1);
    pool->threads++;
    pthread_mutex_unlock(&pool->lock);
    col_metrics_connection(cfg->metrics, +1);

    pthread_t thread;
    int rc = pthread_create(&thread, &pool->thread_attr, col_pool_thread_main, t);
    if (rc != 0) {
        col_log(COL_LOG_WARN, "cannot start a connection thread: %s", strerror(rc));
        pthread_mutex_lock(&pool->lock);
        col_pool_unlink(pool, t);
        atomic_fetch_sub(&pool->active, 1);
        pool->threads--;
        pthread_cond_broadcast(&pool->idle);
        pthread_mutex_unlock(&pool->lock);
        col_metrics_connection(cfg->metrics, -1);
        goto fail;
    }
    atomic_fetch_add(&pool->threads_started, 1);
    col_metrics_connection_thread(cfg->metrics, false);
    return;
fail:
    col_metrics_connection_refused(cfg->metrics);
    if (t != NULL) {
        col_pool_thread_free(t); /* attached: closes fd */
    } else {
        close(fd);
    }
}

void col_pool_drain(struct col_pool *pool)
{
    const struct col_server_config *cfg = pool->deps.cfg;
    uint64_t deadline = col_clock_monotonic_ms() + cfg->stop_grace_ms;
    unsigned long open = atomic_load(&pool->active);

    if (open > 0) {
        col_log(COL_LOG_INFO, "stopping: %lu connections open, waiting up to %lu ms", open,
                cfg->stop_grace_ms);
    }
    pthread_mutex_lock(&pool->lock);
    /* A thread that becomes idle from now on sees `stopping` under this lock and exits. */
    for (struct col_pool_thread *t = pool->idle_threads; t != NULL; t = t->idle_next) {
        pthread_cond_signal(&t->wake);
    }
    while (atomic_load(&pool->active) > 0 && col_clock_monotonic_ms() < deadline) {
        col_pool_wait(pool, &pool->idle, deadline);
    }
    if (atomic_load(&pool->active) > 0) {
        col_log(COL_LOG_WARN, "stopping: closing %lu connections still busy after %lu ms",
                (unsigned long)atomic_load(&pool->active), cfg->stop_grace_ms);
        for (struct col_pool_thread *t = pool->serving; t != NULL; t = t->next) {
            (void)shutdown(t->conn->fd, SHUT_RDWR);
        }
    }
    while (atomic_load(&pool->active) > 0 || pool->threads > 0) {
        (void)pthread_cond_wait(&pool->idle, &pool->lock);
    }
    pthread_mutex_unlock(&pool->lock);
}
