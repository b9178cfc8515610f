/* Unit tests of collector/snapcache: the map from a snapshot's SHA-256 to its diagnosis
 * summary that lets the collector skip decoding a snapshot it has seen (decision 005). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "snapcache.h"

#define NOW 1795564800

/* A distinct, well-formed key per n. */
static struct col_snapcache_entry entry(unsigned n, int64_t stable_until)
{
    struct col_snapcache_entry e;
    memset(&e, 0, sizeof(e));
    for (size_t i = 0; i < 64; i += 8) {
        snprintf(e.snapshot_hash + i, 9, "%08x", n * 2654435761u + (unsigned)i);
    }
    memset(e.diagnosis_hash, 'a' + (int)(n % 6), 64);
    e.finding_count = n;
    e.computed_at = NOW - 10;
    e.stable_until = stable_until;
    return e;
}

static void test_entry_put_is_found_with_its_summary(void **state)
{
    (void)state;
    struct col_snapcache *c = NULL;
    assert_int_equal(col_snapcache_create(1024, &c), PROTO_OK);
    struct col_snapcache_entry e = entry(7, NOW + 100);
    struct col_snapcache_entry got;
    assert_false(col_snapcache_get(c, e.snapshot_hash, NOW, &got));
    col_snapcache_put(c, &e);
    assert_true(col_snapcache_get(c, e.snapshot_hash, NOW, &got));
    assert_string_equal(got.snapshot_hash, e.snapshot_hash);
    assert_string_equal(got.diagnosis_hash, e.diagnosis_hash);
    assert_int_equal(got.finding_count, 7);
    assert_int_equal(got.stable_until, NOW + 100);
    struct col_snapcache_entry other = entry(8, NOW + 100);
    assert_false(col_snapcache_get(c, other.snapshot_hash, NOW, &got));
    col_snapcache_destroy(c);
}

static void test_entry_is_not_used_before_it_was_made(void **state)
{
    (void)state;
    struct col_snapcache *c = NULL;
    assert_int_equal(col_snapcache_create(64, &c), PROTO_OK);
    struct col_snapcache_entry e = entry(1, INT64_MAX);
    struct col_snapcache_entry got;
    col_snapcache_put(c, &e);
    /* A clock stepped back before the diagnosis was made: it may not hold then. */
    assert_false(col_snapcache_get(c, e.snapshot_hash, NOW - 11, &got));
    assert_true(col_snapcache_get(c, e.snapshot_hash, NOW - 10, &got));
    assert_int_equal(got.computed_at, NOW - 10);
    col_snapcache_destroy(c);
}

static void test_entry_is_not_used_from_its_stable_until_on(void **state)
{
    (void)state;
    struct col_snapcache *c = NULL;
    assert_int_equal(col_snapcache_create(64, &c), PROTO_OK);
    struct col_snapcache_entry e = entry(1, NOW + 100);
    struct col_snapcache_entry got;
    col_snapcache_put(c, &e);
    assert_true(col_snapcache_get(c, e.snapshot_hash, NOW + 99, &got));
    assert_false(col_snapcache_get(c, e.snapshot_hash, NOW + 100, &got));
    /* A new diagnosis of the same snapshot refreshes the entry in place. */
    e.stable_until = NOW + 1000;
    e.finding_count = 3;
    col_snapcache_put(c, &e);
    assert_true(col_snapcache_get(c, e.snapshot_hash, NOW + 100, &got));
    assert_int_equal(got.finding_count, 3);
    col_snapcache_destroy(c);
}

static void test_full_set_replaces_one_entry_and_keeps_the_others(void **state)
{
    (void)state;
    struct col_snapcache *c = NULL;
    assert_int_equal(col_snapcache_create(4, &c), PROTO_OK); /* one set of four */
    struct col_snapcache_entry got;
    for (unsigned n = 0; n < 5; n++) {
        struct col_snapcache_entry e = entry(n, NOW + 10);
        col_snapcache_put(c, &e);
    }
    unsigned found = 0;
    for (unsigned n = 0; n < 5; n++) {
        struct col_snapcache_entry e = entry(n, NOW + 10);
        found += col_snapcache_get(c, e.snapshot_hash, NOW, &got);
    }
    assert_int_equal(found, 4);
    struct col_snapcache_entry last = entry(4, NOW + 10);
    assert_true(col_snapcache_get(c, last.snapshot_hash, NOW, &got));
    col_snapcache_destroy(c);
}

static void test_disabled_cache_and_malformed_keys_always_miss(void **state)
{
    (void)state;
    struct col_snapcache *c = NULL;
    struct col_snapcache_entry got;
    assert_int_equal(col_snapcache_create(3, &c), PROTO_OK);
    assert_null(c);
    struct col_snapcache_entry e = entry(1, NOW + 10);
    col_snapcache_put(c, &e); /* a NULL cache takes nothing and fails nothing */
    assert_false(col_snapcache_get(c, e.snapshot_hash, NOW, &got));

    assert_int_equal(col_snapcache_create(16, &c), PROTO_OK);
    struct col_snapcache_entry bad = entry(2, NOW + 10);
    bad.snapshot_hash[5] = 'G';
    col_snapcache_put(c, &bad);
    assert_false(col_snapcache_get(c, bad.snapshot_hash, NOW, &got));
    assert_false(col_snapcache_get(c, "abc", NOW, &got));
    assert_false(col_snapcache_get(c, NULL, NOW, &got));
    struct col_snapcache_entry upper = entry(3, NOW + 10);
    col_snapcache_put(c, &upper);
    for (char *p = upper.snapshot_hash; *p; p++) {
        *p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
    }
    assert_false(col_snapcache_get(c, upper.snapshot_hash, NOW, &got)); /* keys are lower-case */
    col_snapcache_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entry_put_is_found_with_its_summary),
        cmocka_unit_test(test_entry_is_not_used_from_its_stable_until_on),
        cmocka_unit_test(test_entry_is_not_used_before_it_was_made),
        cmocka_unit_test(test_full_set_replaces_one_entry_and_keeps_the_others),
        cmocka_unit_test(test_disabled_cache_and_malformed_keys_always_miss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
