/*
 * bench_common: what the benchmark programs (loadgen, sqlite_baseline) share: the report bodies,
 * made up front in memory from one agent report template, one distinct fqdn per simulated host
 * and a unique report_id per body, and small helpers (clock, number parsing, percentiles).
 * Owns the bodies it makes. Never talks to the network or a database; benchmark tooling only,
 * not part of any shipped program.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rc.h"

#define BENCH_MAX_HOSTS 10000u
#define BENCH_MAX_COUNT 1000000u
#define BENCH_MAX_TEMPLATE_BYTES (4u * 1024u * 1024u)
#define BENCH_HOST_NAME_MAX 64u

struct bench_body {
    char *json; /* NUL-terminated, owned by the set */
    size_t len;
    unsigned host; /* 0 .. hosts-1 */
};

/* Bodies grouped by host: host h has bodies[first[h] .. first[h] + per_host[h]). */
struct bench_bodies {
    struct bench_body *bodies;
    size_t count;
    unsigned hosts;
    size_t *first;
    size_t *per_host;
};

/* The simulated host h's fqdn, e.g. "rras-b0042.bench.contoso.com". */
enum proto_rc bench_host_name(unsigned h, char *out, size_t out_size);

/*
 * Makes `count` bodies from the report JSON in `template_path`, spread over `hosts` hosts
 * round-robin (host.fqdn and host.hostname rewritten), each with a unique report_id built from
 * `nonce` (different per run and mode, so nothing is a duplicate) and its index.
 * On success the caller frees with bench_bodies_free.
 */
/* `new_snapshots`: every body's snapshot differs from all others (its first certificate's
 * serial is made unique), so no report repeats its host's snapshot; else the snapshot is the
 * template's in every body, as for agents whose machines did not change. */
enum proto_rc bench_bodies_make(const char *template_path, unsigned hosts, size_t count,
                                uint32_t nonce, bool new_snapshots, struct bench_bodies *out);
void bench_bodies_free(struct bench_bodies *b); /* accepts a zeroed or freed set */

double bench_now(void); /* CLOCK_MONOTONIC seconds */

/* Decimal unsigned in [min, max]; PROTO_EPARSE or PROTO_ELIMIT otherwise. */
enum proto_rc bench_parse_uint(const char *s, unsigned long min, unsigned long max,
                               unsigned long *out);

/* The p-th percentile (0..100, nearest rank) of `n` values; sorts `v` in place. 0 if n == 0. */
double bench_percentile(double *v, size_t n, double p);

/* A nonce from the clock and the pid; enough to keep report_ids unique across runs. */
uint32_t bench_nonce(void);

#endif
