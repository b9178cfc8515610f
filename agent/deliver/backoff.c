/*
 * backoff: exponential backoff with full jitter and a Retry-After floor.
 *
 * The ceiling doubles per attempt until the cap; the shift is bounded so that no attempt count
 * overflows. The default random source is splitmix64 (one 64-bit state, good spread, tiny),
 * seeded once per process; it is not thread-safe, which the single-threaded agent loop does
 * not need.
 */
#include "backoff.h"

#include <stdbool.h>

#include "agent_os.h"

void agent_backoff_init(struct agent_backoff *b, uint64_t base_ms, uint64_t cap_ms,
                        agent_random_fn random, void *random_ctx)
{
    b->base_ms = base_ms > 0 ? base_ms : 1;
    b->cap_ms = cap_ms >= b->base_ms ? cap_ms : b->base_ms;
    b->attempt = 0;
    b->random = random != NULL ? random : agent_backoff_random;
    b->random_ctx = random_ctx;
}

uint64_t agent_backoff_ceiling(const struct agent_backoff *b, unsigned attempt)
{
    uint64_t ceiling = b->base_ms;
    for (unsigned i = 0; i < attempt && ceiling < b->cap_ms; i++) {
        ceiling = ceiling > b->cap_ms / 2 ? b->cap_ms : ceiling * 2;
    }
    return ceiling < b->cap_ms ? ceiling : b->cap_ms;
}

uint64_t agent_backoff_next(struct agent_backoff *b, uint64_t retry_after_ms)
{
    uint64_t ceiling = agent_backoff_ceiling(b, b->attempt);
    uint64_t delay = b->random(b->random_ctx, ceiling);
    if (delay > ceiling) {
        delay = ceiling; /* a random source that overshoots must not stretch the wait */
    }
    if (b->attempt < 64) {
        b->attempt++;
    }
    if (retry_after_ms > AGENT_BACKOFF_MAX_RETRY_AFTER_MS) {
        retry_after_ms = AGENT_BACKOFF_MAX_RETRY_AFTER_MS;
    }
    return delay > retry_after_ms ? delay : retry_after_ms;
}

void agent_backoff_reset(struct agent_backoff *b)
{
    b->attempt = 0;
}

static uint64_t backoff_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t agent_backoff_random(void *ctx, uint64_t bound)
{
    static bool seeded = false;
    static uint64_t state = 0;
    (void)ctx;
    if (!seeded) {
        state = agent_os_random_seed();
        seeded = true;
    }
    uint64_t r = backoff_splitmix64(&state);
    if (bound == UINT64_MAX) {
        return r;
    }
    /* Rejection sampling: the modulo alone would favour small values. */
    uint64_t span = bound + 1;
    uint64_t limit = UINT64_MAX - (UINT64_MAX % span);
    while (r >= limit) {
        r = backoff_splitmix64(&state);
    }
    return r % span;
}
