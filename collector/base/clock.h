/*
 * clock: the collector's one seam for time (STYLE rule 15, curl's TIME-KEEPING): every module
 * reads the wall clock and the monotonic clock through it, never clock_gettime() or time() on
 * its own, so tests can drive time instead of sleeping and asserting wall-clock bounds.
 *
 * The clock is process-wide: the system's until a test installs its own with col_clock_set
 * (before it creates the objects that read time, and restored after). It owns nothing.
 */
#ifndef COL_CLOCK_H
#define COL_CLOCK_H

#include <stdint.h>
#include <time.h>

struct col_clock {
    int64_t (*now_s)(void *ctx);         /* wall clock, Unix seconds: received_at, expiry, audit */
    uint64_t (*monotonic_ms)(void *ctx); /* deadlines, timeouts, durations */
    void *ctx;
};

/* Installs `clock` (borrowed; must outlive its use), or the system clock again for NULL. Not
 * thread-safe against concurrent readers: call it while nothing else runs (test set-up). */
void col_clock_set(const struct col_clock *clock);

int64_t col_clock_now_s(void);
uint64_t col_clock_monotonic_ms(void);

/* The system clock's readings, for waits that must use real time (pthread_cond_timedwait,
 * poll): a test's clock decides when a deadline has passed, the system clock how long a
 * thread sleeps before it looks again. */
int64_t col_clock_system_now_s(void);
uint64_t col_clock_system_monotonic_ms(void);
/* The real wall clock in milliseconds, for log timestamps: a log line says when it was written,
 * whatever clock a test has installed. */
int64_t col_clock_system_now_ms(void);
/* The real CLOCK_MONOTONIC time `ns` nanoseconds from now, as pthread_cond_timedwait wants it
 * on a condition variable set to that clock: for waits shorter than a millisecond. */
struct timespec col_clock_system_deadline_ns(long ns);

#endif
