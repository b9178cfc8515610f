/*
 * test_backoff: exponential backoff with full jitter (agent/backoff.c).
 *
 * A fixed random source returns a chosen share of the bound it is asked for, so each test
 * knows exactly which delay to expect: share 0 gives the bottom of the jitter range, share 1
 * the top (the ceiling itself), and the bounds requested show the ceiling per attempt.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "backoff.h"

struct fixed_random {
    uint64_t numerator; /* returns bound / denominator * numerator (0 or 1) */
    uint64_t denominator;
    uint64_t last_bound;
    unsigned calls;
};

static uint64_t fixed_random(void *ctx, uint64_t bound)
{
    struct fixed_random *r = ctx;
    r->last_bound = bound;
    r->calls++;
    return r->numerator == 0 ? 0 : bound / r->denominator * r->numerator;
}

static uint64_t overshooting_random(void *ctx, uint64_t bound)
{
    (void)ctx;
    return bound + 12345;
}

static void test_ceiling_doubles_from_base_until_the_cap(void **state)
{
    (void)state;
    struct agent_backoff b;
    agent_backoff_init(&b, 1000, 300000, NULL, NULL);
    const uint64_t expected[] = {1000,  2000,   4000,   8000,   16000,  32000,
                                 64000, 128000, 256000, 300000, 300000, 300000};
    for (unsigned i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        assert_int_equal(agent_backoff_ceiling(&b, i), expected[i]);
    }
}

static void test_ceiling_never_overflows_for_huge_attempts(void **state)
{
    (void)state;
    struct agent_backoff b;
    agent_backoff_init(&b, UINT64_MAX / 3, UINT64_MAX, NULL, NULL);
    assert_int_equal(agent_backoff_ceiling(&b, 1), UINT64_MAX / 3 * 2);
    assert_int_equal(agent_backoff_ceiling(&b, 2), UINT64_MAX);
    assert_int_equal(agent_backoff_ceiling(&b, 4000000000u), UINT64_MAX);
    agent_backoff_init(&b, 1, 86400000, NULL, NULL);
    assert_int_equal(agent_backoff_ceiling(&b, 1000), 86400000);
}

static void test_full_jitter_asks_for_the_whole_range_from_zero_to_the_ceiling(void **state)
{
    (void)state;
    struct fixed_random low = {0, 1, 0, 0};
    struct agent_backoff b;
    agent_backoff_init(&b, 1000, 300000, fixed_random, &low);
    for (unsigned attempt = 0; attempt < 12; attempt++) {
        assert_int_equal(agent_backoff_next(&b, 0), 0); /* the bottom of the range is 0 */
        assert_int_equal(low.last_bound, agent_backoff_ceiling(&b, attempt));
    }
    assert_int_equal(low.calls, 12);

    struct fixed_random high = {1, 1, 0, 0};
    agent_backoff_init(&b, 1000, 300000, fixed_random, &high);
    const uint64_t top[] = {1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000, 300000};
    for (unsigned i = 0; i < sizeof(top) / sizeof(top[0]); i++) {
        assert_int_equal(agent_backoff_next(&b, 0), top[i]);
    }
    assert_int_equal(agent_backoff_next(&b, 0), 300000); /* capped from here on */
}

static void test_jitter_lands_inside_the_range_with_the_real_random_source(void **state)
{
    (void)state;
    struct agent_backoff b;
    agent_backoff_init(&b, 100, 1600, NULL, NULL);
    uint64_t seen_low = UINT64_MAX, seen_high = 0;
    for (int round = 0; round < 200; round++) {
        agent_backoff_reset(&b);
        for (unsigned attempt = 0; attempt < 6; attempt++) {
            uint64_t ceiling = agent_backoff_ceiling(&b, attempt);
            uint64_t d = agent_backoff_next(&b, 0);
            assert_true(d <= ceiling);
            if (attempt == 4) {
                seen_low = d < seen_low ? d : seen_low;
                seen_high = d > seen_high ? d : seen_high;
            }
        }
    }
    /* 200 draws from 0..1600 spread out: neither all low nor all high. */
    assert_true(seen_low < 400);
    assert_true(seen_high > 1200);
}

static void test_default_random_stays_within_its_bound(void **state)
{
    (void)state;
    for (int i = 0; i < 1000; i++) {
        assert_true(agent_backoff_random(NULL, 6) <= 6);
    }
    assert_int_equal(agent_backoff_random(NULL, 0), 0);
    (void)agent_backoff_random(NULL, UINT64_MAX); /* the whole range, no division by zero */
}

static void test_retry_after_is_a_floor_under_the_jittered_delay(void **state)
{
    (void)state;
    struct fixed_random half = {1, 2, 0, 0};
    struct agent_backoff b;
    agent_backoff_init(&b, 1000, 300000, fixed_random, &half);
    /* attempt 0: jitter gives 500, Retry-After 7 s wins */
    assert_int_equal(agent_backoff_next(&b, 7000), 7000);
    /* attempt 1: jitter gives 1000, a Retry-After below it does not shorten the wait */
    assert_int_equal(agent_backoff_next(&b, 200), 1000);
    /* the floor may exceed the cap: the server knows when it will be ready */
    struct agent_backoff small;
    agent_backoff_init(&small, 10, 50, fixed_random, &half);
    assert_int_equal(agent_backoff_next(&small, 5000), 5000);
}

static void test_retry_after_beyond_an_hour_is_capped_at_an_hour(void **state)
{
    (void)state;
    struct fixed_random low = {0, 1, 0, 0};
    struct agent_backoff b;
    agent_backoff_init(&b, 1000, 300000, fixed_random, &low);
    assert_int_equal(agent_backoff_next(&b, 86400000), AGENT_BACKOFF_MAX_RETRY_AFTER_MS);
}

static void test_reset_starts_again_from_the_base(void **state)
{
    (void)state;
    struct fixed_random high = {1, 1, 0, 0};
    struct agent_backoff b;
    agent_backoff_init(&b, 250, 10000, fixed_random, &high);
    assert_int_equal(agent_backoff_next(&b, 0), 250);
    assert_int_equal(agent_backoff_next(&b, 0), 500);
    assert_int_equal(agent_backoff_next(&b, 0), 1000);
    agent_backoff_reset(&b);
    assert_int_equal(b.attempt, 0);
    assert_int_equal(agent_backoff_next(&b, 0), 250);
}

static void test_a_random_source_that_overshoots_is_clamped_to_the_ceiling(void **state)
{
    (void)state;
    struct agent_backoff b;
    agent_backoff_init(&b, 1000, 4000, overshooting_random, NULL);
    assert_int_equal(agent_backoff_next(&b, 0), 1000);
    assert_int_equal(agent_backoff_next(&b, 0), 2000);
}

static void test_zero_base_and_cap_below_base_are_made_sane(void **state)
{
    (void)state;
    struct agent_backoff b;
    agent_backoff_init(&b, 0, 0, NULL, NULL);
    assert_int_equal(b.base_ms, 1);
    assert_int_equal(b.cap_ms, 1);
    agent_backoff_init(&b, 5000, 10, NULL, NULL);
    assert_int_equal(agent_backoff_ceiling(&b, 3), 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ceiling_doubles_from_base_until_the_cap),
        cmocka_unit_test(test_ceiling_never_overflows_for_huge_attempts),
        cmocka_unit_test(test_full_jitter_asks_for_the_whole_range_from_zero_to_the_ceiling),
        cmocka_unit_test(test_jitter_lands_inside_the_range_with_the_real_random_source),
        cmocka_unit_test(test_default_random_stays_within_its_bound),
        cmocka_unit_test(test_retry_after_is_a_floor_under_the_jittered_delay),
        cmocka_unit_test(test_retry_after_beyond_an_hour_is_capped_at_an_hour),
        cmocka_unit_test(test_reset_starts_again_from_the_base),
        cmocka_unit_test(test_a_random_source_that_overshoots_is_clamped_to_the_ceiling),
        cmocka_unit_test(test_zero_base_and_cap_below_base_are_made_sane),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
