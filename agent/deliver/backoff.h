/*
 * backoff: retry delays with exponential growth and FULL jitter (DESIGN §10a).
 *
 * delay = random(0, min(cap, base * 2^attempt)), then raised to the collector's Retry-After
 * when that is larger. Full jitter spreads a fleet that failed together across the whole
 * window, so a recovering collector does not see the fleet return in lockstep. Owns only the
 * attempt counter; the random source is injected (tests pass a fixed one). Never sleeps.
 */
#ifndef AGENT_BACKOFF_H
#define AGENT_BACKOFF_H

#include <stdint.h>

/* A uniformly distributed integer in [0, bound] (bound inclusive). */
typedef uint64_t (*agent_random_fn)(void *ctx, uint64_t bound);

/* Retry-After values above this are treated as this (a misbehaving server must not park the
 * agent for days). */
#define AGENT_BACKOFF_MAX_RETRY_AFTER_MS (3600u * 1000u)

struct agent_backoff {
    uint64_t base_ms; /* >= 1 */
    uint64_t cap_ms;  /* >= base_ms */
    unsigned attempt; /* failed attempts since the last success */
    agent_random_fn random;
    void *random_ctx;
};

/* random may be NULL: agent_backoff_random (seeded on first use). base 0 counts as 1, a cap
 * below the base counts as the base. */
void agent_backoff_init(struct agent_backoff *b, uint64_t base_ms, uint64_t cap_ms,
                        agent_random_fn random, void *random_ctx);

/* min(cap, base * 2^attempt), without overflow for any attempt. */
uint64_t agent_backoff_ceiling(const struct agent_backoff *b, unsigned attempt);

/* The delay before the next attempt, and counts one more failed attempt. retry_after_ms is
 * the server's Retry-After (0: none), a floor capped at AGENT_BACKOFF_MAX_RETRY_AFTER_MS. */
uint64_t agent_backoff_next(struct agent_backoff *b, uint64_t retry_after_ms);

/* After a success: the next failure starts again from base. */
void agent_backoff_reset(struct agent_backoff *b);

/* The default random source: a small non-cryptographic generator seeded from the OS
 * (/dev/urandom) or, failing that, the clock. Jitter needs spread, not secrecy. ctx unused. */
uint64_t agent_backoff_random(void *ctx, uint64_t bound);

#endif
