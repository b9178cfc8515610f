/*
 * clock: the system clock by default, or the one a test installed (see clock.h).
 */
#include "clock.h"

#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

static _Atomic(const struct col_clock *) clock_installed;

void col_clock_set(const struct col_clock *clock)
{
    clock_installed = clock;
}

int64_t col_clock_system_now_s(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
        return 0;
    }
    return (int64_t)ts.tv_sec;
}

uint64_t col_clock_system_monotonic_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        return 0;
    }
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int64_t col_clock_system_now_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
        return 0;
    }
    return (int64_t)ts.tv_sec * 1000 + (int64_t)(ts.tv_nsec / 1000000L);
}

struct timespec col_clock_system_deadline_ns(long ns)
{
    struct timespec t = {0, 0};
    (void)clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += ns / 1000000000L;
    t.tv_nsec += ns % 1000000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

int64_t col_clock_now_s(void)
{
    const struct col_clock *c = clock_installed;
    return c != NULL && c->now_s != NULL ? c->now_s(c->ctx) : col_clock_system_now_s();
}

uint64_t col_clock_monotonic_ms(void)
{
    const struct col_clock *c = clock_installed;
    return c != NULL && c->monotonic_ms != NULL ? c->monotonic_ms(c->ctx)
                                                : col_clock_system_monotonic_ms();
}
