/*
 * retention: periodic pruning of old reports on its own thread. The cut-off and when the next
 * run is due are read on the collector's clock (clock.h); only the sleep between looks is on
 * the system's monotonic clock, so a step of the wall clock neither delays nor hurries a run.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include "retention.h"

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "alloc.h"
#include "clock.h"
#include "log.h"

#define RETENTION_PERIOD_MS 3600000u
#define RETENTION_DAY_S 86400

struct col_retention {
    struct col_store *st;
    unsigned long days;
    pthread_t thread;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    bool stopping;
};

static void retention_prune_once(struct col_retention *r)
{
    int64_t deleted = 0;
    int64_t before = col_clock_now_s() - (int64_t)r->days * RETENTION_DAY_S;
    enum proto_rc rc = col_store_prune(r->st, before, &deleted);
    if (rc) {
        col_log(COL_LOG_WARN, "retention: pruning failed: %s", proto_rc_str(rc));
    } else if (deleted > 0) {
        col_log(COL_LOG_INFO, "retention: removed %lld reports older than %lu days",
                (long long)deleted, r->days);
    }
}

/* Sleeps up to `ms` of real time, or until stop signals (r->mutex held). */
static void retention_sleep(struct col_retention *r, uint64_t ms)
{
    uint64_t at = col_clock_system_monotonic_ms() + ms;
    struct timespec until = {(time_t)(at / 1000u), (long)(at % 1000u) * 1000000L};
    while (!r->stopping && pthread_cond_timedwait(&r->wake, &r->mutex, &until) == 0) {
    }
}

static void *retention_main(void *arg)
{
    (void)pthread_setname_np(pthread_self(), "rras-retention"); /* top -H, perf, gdb */
    struct col_retention *r = arg;
    pthread_mutex_lock(&r->mutex);
    while (!r->stopping) {
        pthread_mutex_unlock(&r->mutex);
        retention_prune_once(r);
        pthread_mutex_lock(&r->mutex);
        uint64_t due_ms = col_clock_monotonic_ms() + RETENTION_PERIOD_MS;
        for (uint64_t now_ms = col_clock_monotonic_ms(); !r->stopping && now_ms < due_ms;
             now_ms = col_clock_monotonic_ms()) {
            retention_sleep(r, due_ms - now_ms);
        }
    }
    pthread_mutex_unlock(&r->mutex);
    return NULL;
}

enum proto_rc col_retention_start(struct col_store *st, unsigned long days,
                                  struct col_retention **out)
{
    *out = NULL;
    if (days == 0) {
        return PROTO_OK;
    }
    struct col_retention *r = proto_calloc(1, sizeof(*r));
    if (r == NULL) {
        return PROTO_ENOMEM;
    }
    r->st = st;
    r->days = days;
    if (pthread_mutex_init(&r->mutex, NULL) != 0) {
        proto_free(r);
        return PROTO_ENOMEM;
    }
    /* Its sleeps are on the monotonic clock (retention_sleep). */
    pthread_condattr_t attr;
    bool wake_ok = pthread_condattr_init(&attr) == 0;
    if (wake_ok) {
        wake_ok = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
                  pthread_cond_init(&r->wake, &attr) == 0;
        pthread_condattr_destroy(&attr);
    }
    if (!wake_ok) {
        pthread_mutex_destroy(&r->mutex);
        proto_free(r);
        return PROTO_ENOMEM;
    }
    if (pthread_create(&r->thread, NULL, retention_main, r) != 0) {
        pthread_cond_destroy(&r->wake);
        pthread_mutex_destroy(&r->mutex);
        proto_free(r);
        return PROTO_EUNAVAILABLE;
    }
    *out = r;
    return PROTO_OK;
}

void col_retention_stop(struct col_retention *r)
{
    if (r == NULL) {
        return;
    }
    pthread_mutex_lock(&r->mutex);
    r->stopping = true;
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->mutex);
    pthread_join(r->thread, NULL);
    pthread_cond_destroy(&r->wake);
    pthread_mutex_destroy(&r->mutex);
    proto_free(r);
}
