/*
 * checkpoint: WAL checkpoints on their own thread and connection (see checkpoint.h).
 *
 * The store's WAL hook calls checkpoint_wake after a commit that leaves `wake_pages` or more in
 * the WAL; a one-second tick covers the rest. A run is skipped when no commit came since the
 * last complete checkpoint. A PASSIVE run that copies nothing (readers pin the WAL, or another
 * connection is checkpointing) marks the checkpointer stalled: it then waits for the tick instead
 * of running again on every commit. When the WAL is past cap_pages and readers still keep pages
 * from being copied, it tries a RESTART, which holds off the writer while it waits up to
 * CKPT_RESTART_BUSY_MS for them; after one that failed, it waits CKPT_RESTART_EVERY_MS before the
 * next. (A WAL past the cap that is wholly copied is the store's hook to restart: see store.c.)
 * That pause is a deadline on the collector's clock (clock.h), which a test can drive; the tick
 * is a real wait (pthread_cond_timedwait on CLOCK_MONOTONIC), so it reads the system clock.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include "checkpoint.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "alloc.h"
#include "clock.h"
#include "log.h"
#include "store_int.h"

#define CKPT_TICK_MS 1000u
#define CKPT_RESTART_BUSY_MS 250
#define CKPT_RESTART_EVERY_MS (10u * 1000u)
#define CKPT_NEVER_CLEAN UINT64_MAX

struct col_checkpoint {
    struct col_store *st;
    struct col_metrics *metrics;
    sqlite3 *db;
    uint64_t wake_pages;
    uint64_t cap_pages;

    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    bool woken;
    bool stopping;
    uint64_t clean_at; /* the store's commit count covered by the latest complete checkpoint */

    /* The thread's own. */
    bool stalled;
    bool failing;
    int prev_log;
    int prev_done;
    uint64_t next_restart_ms; /* col_clock_monotonic_ms() before which no RESTART is tried */
};

/* The store's WAL hook, on the writer thread: wake only. */
static void checkpoint_wake(void *ctx)
{
    struct col_checkpoint *c = ctx;
    pthread_mutex_lock(&c->mu);
    c->woken = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* A WAL whose pages readers keep from being copied grows without bound: wait briefly for them. */
static void checkpoint_restart(struct col_checkpoint *c, int log_pages, uint64_t commits)
{
    if (col_clock_monotonic_ms() < c->next_restart_ms) {
        return;
    }
    int log = 0, done = 0;
    sqlite3_busy_timeout(c->db, CKPT_RESTART_BUSY_MS);
    col_store_other_writer_begin(c->st); /* RESTART waits for the write lock too */
    int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_RESTART, &log, &done);
    col_store_other_writer_end(c->st);
    sqlite3_busy_timeout(c->db, COL_STORE_BUSY_TIMEOUT_MS);
    if (rc != SQLITE_OK) {
        /* Readers still hold it: do not stall the writer again on every commit. */
        c->next_restart_ms = col_clock_monotonic_ms() + CKPT_RESTART_EVERY_MS;
        col_log(COL_LOG_WARN,
                "checkpoint: the WAL holds %d pages (cap %llu) and cannot restart: %s; a "
                "long-running reader is holding it",
                log_pages, (unsigned long long)c->cap_pages, sqlite3_errstr(rc));
        return;
    }
    col_metrics_wal_checkpoint(c->metrics);
    col_log(COL_LOG_DEBUG, "checkpoint: restarted a WAL of %d pages", log_pages);
    c->stalled = false;
    if (done == log) {
        pthread_mutex_lock(&c->mu);
        c->clean_at = commits;
        pthread_mutex_unlock(&c->mu);
    }
}

static void checkpoint_run(struct col_checkpoint *c)
{
    uint64_t pages = 0, commits = 0;
    col_store_wal_state(c->st, &pages, &commits);
    col_metrics_wal_pages(c->metrics, pages);
    pthread_mutex_lock(&c->mu);
    bool dirty = c->clean_at != commits;
    pthread_mutex_unlock(&c->mu);
    if (!dirty) {
        c->stalled = false;
        return;
    }
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    c->stalled = rc != SQLITE_OK || (done < log && done == c->prev_done && log >= c->prev_log);
    c->prev_log = log;
    c->prev_done = done;
    if (rc != SQLITE_OK) {
        /* BUSY: another connection is checkpointing right now; the tick tries again. */
        if (rc != SQLITE_BUSY && !c->failing) {
            col_log(COL_LOG_WARN, "checkpoint: %s", sqlite3_errmsg(c->db));
        }
        c->failing = rc != SQLITE_BUSY;
        return;
    }
    c->failing = false;
    col_metrics_wal_checkpoint(c->metrics);
    if (done == log) {
        pthread_mutex_lock(&c->mu);
        c->clean_at = commits;
        pthread_mutex_unlock(&c->mu);
    }
    if ((uint64_t)log >= c->cap_pages && done < log) {
        checkpoint_restart(c, log, commits);
    }
}

static void *checkpoint_main(void *arg)
{
    (void)pthread_setname_np(pthread_self(), "rras-checkpoint"); /* top -H, perf, gdb */
    struct col_checkpoint *c = arg;
    pthread_mutex_lock(&c->mu);
    while (!c->stopping) {
        /* The condition variable waits on CLOCK_MONOTONIC, as the system clock reads it. */
        uint64_t due = col_clock_system_monotonic_ms() + CKPT_TICK_MS;
        struct timespec until = {(time_t)(due / 1000u), (long)(due % 1000u) * 1000000L};
        while (!c->stopping && !(c->woken && !c->stalled)) {
            if (pthread_cond_timedwait(&c->cv, &c->mu, &until) == ETIMEDOUT) {
                break;
            }
        }
        if (c->stopping) {
            break;
        }
        c->woken = false;
        pthread_mutex_unlock(&c->mu);
        checkpoint_run(c);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    /* The writer has stopped: whatever it committed last goes into the database file now. */
    if (sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) ==
        SQLITE_OK) {
        col_metrics_wal_checkpoint(c->metrics);
    }
    return NULL;
}

static enum proto_rc checkpoint_init_sync(struct col_checkpoint *c)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0) {
        return PROTO_ENOMEM;
    }
    enum proto_rc result = PROTO_OK;
    if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&c->cv, &attr) != 0) {
        result = PROTO_ENOMEM;
    } else if (pthread_mutex_init(&c->mu, NULL) != 0) {
        pthread_cond_destroy(&c->cv);
        result = PROTO_ENOMEM;
    }
    pthread_condattr_destroy(&attr);
    return result;
}

enum proto_rc col_checkpoint_start(struct col_store *st, unsigned long wal_pages,
                                   struct col_metrics *metrics, struct col_checkpoint **out)
{
    if (out == NULL) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    if (st == NULL || wal_pages == 0 || wal_pages > UINT64_MAX / COL_STORE_WAL_CAP_FACTOR) {
        return PROTO_EINVAL;
    }
    struct col_checkpoint *c = proto_calloc(1, sizeof(*c));
    if (c == NULL) {
        return PROTO_ENOMEM;
    }
    c->st = st;
    c->metrics = metrics;
    c->wake_pages = wal_pages;
    c->cap_pages = (uint64_t)wal_pages * COL_STORE_WAL_CAP_FACTOR;
    c->clean_at = CKPT_NEVER_CLEAN;
    c->woken = true; /* a first run at start: the WAL may hold pages from before */
    enum proto_rc result = checkpoint_init_sync(c);
    if (result) {
        proto_free(c);
        return result;
    }
    result = col_store_connect_extra(st, &c->db);
    if (result == PROTO_OK && pthread_create(&c->thread, NULL, checkpoint_main, c) != 0) {
        result = PROTO_EUNAVAILABLE;
    }
    if (result) {
        sqlite3_close(c->db);
        pthread_mutex_destroy(&c->mu);
        pthread_cond_destroy(&c->cv);
        proto_free(c);
        return result;
    }
    col_store_wal_listen(st, c->wake_pages, checkpoint_wake, c);
    *out = c;
    return PROTO_OK;
}

void col_checkpoint_stop(struct col_checkpoint *c)
{
    if (c == NULL) {
        return;
    }
    /* First: once this returns the writer's hook no longer calls into c. */
    col_store_wal_listen(c->st, 0, NULL, NULL);
    pthread_mutex_lock(&c->mu);
    c->stopping = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    sqlite3_close(c->db);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    proto_free(c);
}

bool col_checkpoint_caught_up(struct col_checkpoint *c)
{
    if (c == NULL) {
        return false;
    }
    uint64_t commits = 0;
    col_store_wal_state(c->st, NULL, &commits);
    pthread_mutex_lock(&c->mu);
    bool clean = c->clean_at == commits;
    pthread_mutex_unlock(&c->mu);
    return clean;
}
