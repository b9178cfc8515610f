/* Unit tests of collector/store/sqlite/profiles.c: creating profiles with per-host serials, the
 * allowed state changes and their audit rows, the pending lookup and results stored
 * idempotently. The seal callback stands in for signing; the clock is the test's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "clock.h"
#include "store.h"
#include "testutil.h"

#define HOST_A "a.example.org"
#define HOST_B "b.example.org"
#define T0 1800000000

static int64_t fake_now = T0;

static int64_t fake_now_s(void *ctx)
{
    (void)ctx;
    return fake_now;
}

static uint64_t fake_mono_ms(void *ctx)
{
    (void)ctx;
    return (uint64_t)fake_now * 1000u;
}

static const struct col_clock fake_clock = {fake_now_s, fake_mono_ms, NULL};

struct fx {
    char dir[64];
    char db[128];
    struct col_store *st;
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_store_profiles-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof(f->db), "%s/collector.db", f->dir);
    fake_now = T0;
    col_clock_set(&fake_clock);
    char err[256];
    assert_int_equal(col_store_open(f->db, &f->st, err, sizeof(err)), PROTO_OK);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    col_store_close(f->st);
    col_clock_set(NULL);
    testutil_remove_flat_dir(f->dir);
    free(f);
    return 0;
}

struct seal_ctx {
    int calls;
    int64_t serial;
    enum proto_rc fail;
};

static enum proto_rc fake_seal(void *ctx, int64_t serial, char **envelope, size_t *len)
{
    struct seal_ctx *s = ctx;
    s->calls++;
    s->serial = serial;
    if (s->fail) {
        return s->fail;
    }
    char text[64];
    int n = snprintf(text, sizeof(text), "{\"serial\":%lld}", (long long)serial);
    *envelope = proto_strndup(text, (size_t)n);
    *len = (size_t)n;
    return *envelope != NULL ? PROTO_OK : PROTO_ENOMEM;
}

static enum proto_rc create(struct fx *f, const char *id, const char *host, int64_t *serial)
{
    struct seal_ctx s = {0, 0, PROTO_OK};
    struct col_profile_new in = {
        id, host, "apply", "[\"L2TP_CERT_WILDCARD\"]", fake_now, fake_now + 3600, "token:op"};
    return col_store_profile_create(f->st, &in, fake_seal, &s, serial);
}

static int64_t audit_count(struct fx *f, const char *action)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE action = '%s'", action);
    return testutil_sql_int(f->db, sql);
}

#define P1 "11111111-1111-4111-8111-111111111111"
#define P2 "22222222-2222-4222-8222-222222222222"
#define P3 "33333333-3333-4333-8333-333333333333"
#define R1 "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"

static void test_serials_increase_per_host_and_are_never_reused(void **state)
{
    struct fx *f = *state;
    int64_t serial = 0;
    assert_int_equal(create(f, P1, HOST_A, &serial), PROTO_OK);
    assert_int_equal(serial, 1);
    /* One active profile per host: a second is a conflict and takes no serial. */
    assert_int_equal(create(f, P2, HOST_A, &serial), PROTO_ECHANGED);
    assert_int_equal(create(f, P3, HOST_B, &serial), PROTO_OK);
    assert_int_equal(serial, 1); /* per host */
    assert_int_equal(col_store_profile_transition(f->st, P1, COL_PROFILE_CANCELLED, "token:op"),
                     PROTO_OK);
    assert_int_equal(create(f, P2, HOST_A, &serial), PROTO_OK);
    assert_int_equal(serial, 2); /* the cancelled profile's serial is not given again */

    struct col_profile_detail *d = NULL;
    assert_int_equal(col_store_profile_get(f->st, P2, true, &d), PROTO_OK);
    assert_string_equal(d->profile.host, HOST_A);
    assert_int_equal(d->profile.serial, 2);
    assert_int_equal(d->profile.state, COL_PROFILE_CREATED);
    assert_string_equal(d->profile.envelope, "{\"serial\":2}");
    assert_string_equal(d->profile.reason_json, "[\"L2TP_CERT_WILDCARD\"]");
    assert_string_equal(d->profile.created_by, "token:op");
    assert_false(d->profile.assigned);
    col_store_profile_detail_destroy(d);
    assert_int_equal(col_store_profile_get(f->st, P1, false, &d), PROTO_OK);
    assert_null(d->profile.envelope); /* only when asked */
    assert_int_equal(d->profile.state, COL_PROFILE_CANCELLED);
    assert_true(d->profile.cancelled);
    col_store_profile_detail_destroy(d);
    assert_int_equal(col_store_profile_get(f->st, R1, false, &d), PROTO_ENOTFOUND);
    assert_int_equal(audit_count(f, "profile.create"), 3);
    assert_int_equal(audit_count(f, "profile.cancel"), 1);
}

static void test_a_failed_seal_stores_nothing_and_keeps_the_serial(void **state)
{
    struct fx *f = *state;
    struct seal_ctx s = {0, 0, PROTO_ECRYPTO};
    struct col_profile_new in = {P1,       HOST_A,          "dry_run", "[]",
                                 fake_now, fake_now + 3600, "token:op"};
    assert_int_equal(col_store_profile_create(f->st, &in, fake_seal, &s, NULL), PROTO_ECRYPTO);
    assert_int_equal(s.serial, 1);
    int64_t serial = 0;
    assert_int_equal(create(f, P2, HOST_A, &serial), PROTO_OK);
    assert_int_equal(serial, 1);
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM profiles"), 1);
}

static void test_only_the_allowed_transitions_happen(void **state)
{
    struct fx *f = *state;
    assert_int_equal(create(f, P1, HOST_A, NULL), PROTO_OK);
    assert_int_equal(col_store_profile_transition(f->st, P1, COL_PROFILE_APPLIED, "token:op"),
                     PROTO_EINVAL);
    assert_int_equal(col_store_profile_transition(f->st, P2, COL_PROFILE_ASSIGNED, "token:ap"),
                     PROTO_ENOTFOUND);
    assert_int_equal(col_store_profile_transition(f->st, P1, COL_PROFILE_ASSIGNED, "token:ap"),
                     PROTO_OK);
    assert_int_equal(col_store_profile_transition(f->st, P1, COL_PROFILE_ASSIGNED, "token:ap"),
                     PROTO_ECHANGED); /* assigned only from created */
    assert_int_equal(col_store_profile_transition(f->st, P1, COL_PROFILE_CANCELLED, "token:op"),
                     PROTO_OK);
    assert_int_equal(col_store_profile_transition(f->st, P1, COL_PROFILE_CANCELLED, "token:op"),
                     PROTO_ECHANGED);
    assert_int_equal(audit_count(f, "profile.assign"), 1);
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM audit WHERE action = "
                                             "'profile.assign' AND actor = 'token:ap'"),
                     1);
}

static void test_pending_is_the_assigned_unexpired_profile_without_a_result(void **state)
{
    struct fx *f = *state;
    char id[37];
    assert_int_equal(create(f, P1, HOST_A, NULL), PROTO_OK);
    assert_int_equal(col_store_profile_pending(f->st, HOST_A, fake_now, id), PROTO_ENOTFOUND);
    assert_int_equal(col_store_profile_transition(f->st, P1, COL_PROFILE_ASSIGNED, "token:ap"),
                     PROTO_OK);
    assert_int_equal(col_store_profile_pending(f->st, HOST_A, fake_now, id), PROTO_OK);
    assert_string_equal(id, P1);
    assert_int_equal(col_store_profile_pending(f->st, "A.EXAMPLE.ORG", fake_now, id), PROTO_OK);
    assert_int_equal(col_store_profile_pending(f->st, HOST_B, fake_now, id), PROTO_ENOTFOUND);
    assert_string_equal(id, "");
    /* Past its expiry it is no longer offered. */
    assert_int_equal(col_store_profile_pending(f->st, HOST_A, fake_now + 3600, id),
                     PROTO_ENOTFOUND);

    /* A reopened store rebuilds the set from the table. */
    col_store_close(f->st);
    char err[256];
    assert_int_equal(col_store_open(f->db, &f->st, err, sizeof(err)), PROTO_OK);
    assert_int_equal(col_store_profile_pending(f->st, HOST_A, fake_now, id), PROTO_OK);

    struct col_result_new r = {R1,       HOST_A,   P1,   "applied", "",
                               fake_now, fake_now, "{}", 2,         "agent:" HOST_A};
    bool duplicate = true;
    assert_int_equal(col_store_result_insert(f->st, &r, &duplicate), PROTO_OK);
    assert_false(duplicate);
    assert_int_equal(col_store_profile_pending(f->st, HOST_A, fake_now, id), PROTO_ENOTFOUND);
}

static void test_results_are_idempotent_and_bound_to_their_host(void **state)
{
    struct fx *f = *state;
    bool duplicate = false;
    assert_int_equal(create(f, P1, HOST_A, NULL), PROTO_OK);
    assert_int_equal(create(f, P2, HOST_B, NULL), PROTO_OK);
    assert_int_equal(col_store_profile_transition(f->st, P1, COL_PROFILE_ASSIGNED, "token:ap"),
                     PROTO_OK);
    struct col_result_new r = {R1,       HOST_A,      P1, "rolled_back",  "step 2 failed", fake_now,
                               fake_now, "{\"x\":1}", 7,  "agent:" HOST_A};
    /* Another host's profile is as unknown to it as a profile that does not exist. */
    r.profile_id = P2;
    assert_int_equal(col_store_result_insert(f->st, &r, &duplicate), PROTO_ENOTFOUND);
    r.profile_id = P3;
    assert_int_equal(col_store_result_insert(f->st, &r, &duplicate), PROTO_ENOTFOUND);
    r.profile_id = P1;
    assert_int_equal(col_store_result_insert(f->st, &r, &duplicate), PROTO_OK);
    assert_false(duplicate);
    assert_int_equal(col_store_result_insert(f->st, &r, &duplicate), PROTO_OK);
    assert_true(duplicate);
    r.host = HOST_B;
    r.profile_id = P2;
    assert_int_equal(col_store_result_insert(f->st, &r, &duplicate), PROTO_ECHANGED);

    struct col_profile_detail *d = NULL;
    assert_int_equal(col_store_profile_get(f->st, P1, false, &d), PROTO_OK);
    assert_int_equal(d->profile.state, COL_PROFILE_ROLLED_BACK);
    assert_int_equal(d->result_count, 1);
    assert_string_equal(d->results[0].result_id, R1);
    assert_string_equal(d->results[0].outcome, "rolled_back");
    assert_string_equal(d->results[0].reason, "step 2 failed");
    assert_string_equal(d->results[0].body, "{\"x\":1}");
    col_store_profile_detail_destroy(d);
    assert_int_equal(audit_count(f, "profile.result"), 1);
    /* A result for a profile that was never assigned is kept; the state stays. */
    struct col_result_new r2 = {"bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb",
                                HOST_B,
                                P2,
                                "refused",
                                "",
                                fake_now,
                                fake_now,
                                "{}",
                                2,
                                "agent:" HOST_B};
    assert_int_equal(col_store_result_insert(f->st, &r2, &duplicate), PROTO_OK);
    assert_int_equal(col_store_profile_get(f->st, P2, false, &d), PROTO_OK);
    assert_int_equal(d->profile.state, COL_PROFILE_CREATED);
    assert_int_equal(d->result_count, 1);
    col_store_profile_detail_destroy(d);
}

static void test_list_filters_by_host_and_state_and_shows_the_outcome(void **state)
{
    struct fx *f = *state;
    bool duplicate = false;
    assert_int_equal(create(f, P1, HOST_A, NULL), PROTO_OK);
    fake_now += 10;
    assert_int_equal(create(f, P2, HOST_B, NULL), PROTO_OK);
    assert_int_equal(col_store_profile_transition(f->st, P1, COL_PROFILE_ASSIGNED, "token:ap"),
                     PROTO_OK);
    struct col_result_new r = {R1,       HOST_A,       P1,   "applied", "",
                               fake_now, fake_now + 5, "{}", 2,         "agent:" HOST_A};
    assert_int_equal(col_store_result_insert(f->st, &r, &duplicate), PROTO_OK);

    struct col_table *t = NULL;
    struct col_profile_query q = {NULL, -1, 100, 0};
    assert_int_equal(col_store_profile_list(f->st, &q, &t), PROTO_OK);
    assert_int_equal(t->nrows, 2);
    assert_int_equal(t->total, 2);
    assert_int_equal(t->ncols, 12);
    assert_string_equal(t->cells[0], P2); /* newest first */
    col_table_destroy(t);

    q.host = "A.example.org";
    assert_int_equal(col_store_profile_list(f->st, &q, &t), PROTO_OK);
    assert_int_equal(t->nrows, 1);
    assert_string_equal(t->columns[4].name, "state");
    assert_string_equal(t->cells[4], "applied");
    assert_string_equal(t->columns[10].name, "outcome");
    assert_string_equal(t->cells[10], "applied");
    col_table_destroy(t);

    q.host = NULL;
    q.state = COL_PROFILE_CREATED;
    assert_int_equal(col_store_profile_list(f->st, &q, &t), PROTO_OK);
    assert_int_equal(t->nrows, 1);
    assert_string_equal(t->cells[0], P2);
    assert_null(t->cells[10]);
    col_table_destroy(t);

    q.state = -1;
    q.offset = 5;
    assert_int_equal(col_store_profile_list(f->st, &q, &t), PROTO_OK);
    assert_int_equal(t->nrows, 0);
    assert_int_equal(t->total, 2);
    col_table_destroy(t);

    struct col_profile_detail *list = NULL;
    size_t count = 0;
    assert_int_equal(col_store_profiles_of_host(f->st, HOST_A, 10, &list, &count), PROTO_OK);
    assert_int_equal(count, 1);
    assert_int_equal(list[0].result_count, 1);
    col_store_profile_list_destroy(list, count);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

int main(void)
{
    proto_alloc_install_cjson_hooks();
    const struct CMUnitTest tests[] = {
        T(test_serials_increase_per_host_and_are_never_reused),
        T(test_a_failed_seal_stores_nothing_and_keeps_the_serial),
        T(test_only_the_allowed_transitions_happen),
        T(test_pending_is_the_assigned_unexpired_profile_without_a_result),
        T(test_results_are_idempotent_and_bound_to_their_host),
        T(test_list_filters_by_host_and_state_and_shows_the_outcome),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
