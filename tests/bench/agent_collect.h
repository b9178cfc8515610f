/*
 * agent_collect: what the portable half of the agent benchmark (agent_collect.c) and its OS
 * halves share. agent_collect.c holds the cycle (read a snapshot, diagnose, encode), the timing
 * and the POSIX clock and peak-memory reading; agent_collect_win32.c holds the Windows ones and
 * the live source (crypt32, registry, netsh), which exists only there. Benchmark tooling only,
 * never run by ctest, never shipped.
 */
#ifndef AGENT_COLLECT_H
#define AGENT_COLLECT_H

#include <stddef.h>
#include <stdio.h>

#include "model.h"

#define AGENT_BENCH_MAX_ITERATIONS 10000L
#define AGENT_BENCH_MAX_EXTRA 8
/* The policy's and the live capture's "now": 2026-11-25T00:00:00Z, the bundles' CollectedAt. */
#define AGENT_BENCH_NOW 1795564800

/* Where a cycle's snapshot comes from. `read` makes a new snapshot (caller destroys it) and
 * adds the milliseconds of its own sub-phases to extra_ms[0 .. extra_count); 0 or -1. */
struct agent_bench_source {
    int (*read)(void *ctx, struct proto_snapshot **out, double *extra_ms);
    void *ctx;
    const char *const *extra_keys; /* printed as KEY=<mean ms>; borrowed */
    size_t extra_count;            /* at most AGENT_BENCH_MAX_EXTRA */
};

struct agent_bench_result {
    size_t certs, rules, report_bytes; /* of the last cycle */
    long iterations;
    double first_ms, median_ms, max_ms;     /* whole cycles */
    double read_ms, diagnose_ms, encode_ms; /* means over the cycles */
    double extra_ms[AGENT_BENCH_MAX_EXTRA]; /* means over the cycles */
    unsigned long long peak_kb;             /* the process's peak, read after the last cycle */
};

/* Runs `iterations` cycles of read + diagnose + encode. 0, or -1 after a message on stderr. */
int agent_bench_run(const struct agent_bench_source *src, long iterations,
                    struct agent_bench_result *res);

/* Prints the result as one line of key=value words, without the line's end. */
void agent_bench_print(FILE *to, const struct agent_bench_source *src,
                       const struct agent_bench_result *res);

/* ---- provided by the OS half (POSIX: agent_collect.c itself; Windows: *_win32.c) ---------- */

/* A monotonic clock in milliseconds. */
double agent_bench_now_ms(void);

/* The process's peak memory in KiB so far, and the key it is printed under: peak_rss_kb
 * (getrusage ru_maxrss) or peak_ws_kb (GetProcessMemoryInfo PeakWorkingSetSize). */
unsigned long long agent_bench_peak_kb(void);
extern const char agent_bench_peak_key[];

/* mkdir with mode 0755 where there are modes. 0 or -1 (errno set). */
int agent_bench_mkdir(const char *path);

/* `agent_collect live ITERATIONS`: the live source; an exit status. Windows builds only (the
 * POSIX half says so and returns 2). */
int agent_bench_live(long iterations);

#endif
