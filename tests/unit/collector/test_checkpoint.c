/* Unit tests of collector/checkpoint and the store's WAL hook: with the checkpointer running,
 * many small commits keep the -wal file bounded; rows stay readable from a fresh connection;
 * start/stop/start works; a reader pinning the WAL past the cap is reported; a store without a
 * checkpointer still checkpoints in line. Reports are built from the capture-bundle fixtures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "alloc.h"
#include "bundle.h"
#include "checkpoint.h"
#include "diagnose.h"
#include "facts.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "store_int.h"
#include "testutil.h"

#define NOW 1795564800 /* 2026-11-25T00:00:00Z */
#define THRESHOLD 100u /* the smallest wal_checkpoint_pages allowed */
#define CAP (16u * THRESHOLD)
#define WAL_HEADER 32
#define FRAME_HEADER 24
#define DEADLINE_MS 5000

struct fx {
    char dir[64];
    char db[128];
    char wal[136];
    struct col_store *st;
    struct col_metrics *metrics;
    struct col_checkpoint *ckpt;
    long page_size;
    uint64_t seq;
    uint64_t max_commit_pages; /* the most pages one commit added to the WAL */
    uint64_t pages_written;    /* WAL pages of all commits so far */
};

/* ---- helpers ------------------------------------------------------------------------------ */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

static int64_t wal_bytes(const struct fx *f)
{
    struct stat sb;
    return stat(f->wal, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

/* The largest -wal file that `pages` frames make. */
static int64_t wal_bytes_for(const struct fx *f, uint64_t pages)
{
    return WAL_HEADER + (int64_t)pages * (f->page_size + FRAME_HEADER);
}

static uint64_t wal_pages(struct fx *f)
{
    uint64_t pages = 0;
    col_store_wal_state(f->st, &pages, NULL);
    return pages;
}

/* One report for its own host, committed in its own transaction through the writer's API. */
static void commit_one(struct fx *f)
{
    char fqdn[64];
    struct testutil_report r;
    bool duplicate = true;

    f->seq++;
    snprintf(fqdn, sizeof(fqdn), "rras-%llu.corp.contoso.com", (unsigned long long)f->seq);
    testutil_report_make(&r, "kb-787-wildcard-first", fqdn, f->seq, 0, NOW);

    struct col_ingest in = {.body = r.body,
                            .body_len = r.len,
                            .report = r.rep,
                            .diagnosis = r.diag,
                            .received_at = NOW};
    struct col_ingest_facts facts;
    assert_int_equal(col_ingest_facts_compute(&in, &facts), PROTO_OK);
    in.facts = &facts;
    uint64_t before = wal_pages(f);
    assert_int_equal(col_store_begin(f->st), PROTO_OK);
    assert_int_equal(col_store_ingest(f->st, &in, &duplicate), PROTO_OK);
    assert_false(duplicate);
    assert_int_equal(col_store_commit(f->st), PROTO_OK);
    uint64_t after = wal_pages(f);
    uint64_t added = after > before ? after - before : after; /* else it restarted the WAL */
    f->max_commit_pages = added > f->max_commit_pages ? added : f->max_commit_pages;
    f->pages_written += added;

    col_ingest_facts_release(&facts);
    testutil_report_free(&r);
}

static bool wait_caught_up(struct col_checkpoint *c)
{
    int64_t deadline = now_ms() + DEADLINE_MS;
    while (!col_checkpoint_caught_up(c)) {
        if (now_ms() > deadline) {
            return false;
        }
        pause_ms(2);
    }
    return true;
}

static bool file_contains(const char *path, const char *needle)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        return false;
    }
    char buf[8192];
    size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    return strstr(buf, needle) != NULL;
}

static uint64_t metric_value(struct col_metrics *m, const char *name)
{
    struct proto_buf out;
    char needle[128];
    proto_buf_init(&out, 1 << 20);
    assert_int_equal(col_metrics_render(m, 0, -1, &out), PROTO_OK);
    snprintf(needle, sizeof(needle), "\n%s ", name);
    const char *at = strstr(proto_buf_str(&out), needle);
    assert_non_null(at);
    char *end = NULL;
    unsigned long long v = strtoull(at + strlen(needle), &end, 10);
    assert_true(end != at + strlen(needle) && *end == '\n');
    proto_buf_free(&out);
    return (uint64_t)v;
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char err[256];
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    assert_non_null(f);
    /* On disk, not tmpfs, where possible: checkpoints are about the cost of fsync. */
    snprintf(f->dir, sizeof(f->dir), "%s/test_checkpoint-XXXXXX",
             access("/var/tmp", W_OK) == 0 ? "/var/tmp" : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof(f->db), "%s/collector.db", f->dir);
    snprintf(f->wal, sizeof(f->wal), "%s-wal", f->db);
    assert_int_equal(col_store_open(f->db, &f->st, err, sizeof(err)), PROTO_OK);
    f->metrics = col_metrics_create();
    assert_non_null(f->metrics);
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    f->page_size = (long)sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    assert_true(f->page_size >= 512);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    col_checkpoint_stop(f->ckpt);
    col_store_close(f->st);
    col_metrics_destroy(f->metrics);
    testutil_remove_flat_dir(f->dir);
    free(f);
    return 0;
}

/* ---- tests -------------------------------------------------------------------------------- */

static void
test_wal_stays_within_the_threshold_and_one_commit_when_the_checkpointer_keeps_up(void **state)
{
    struct fx *f = *state;
    int64_t largest = 0;
    assert_int_equal(col_checkpoint_start(f->st, THRESHOLD, f->metrics, &f->ckpt), PROTO_OK);
    for (int i = 0; i < 150; i++) {
        commit_one(f);
        int64_t bytes = wal_bytes(f);
        largest = bytes > largest ? bytes : largest;
        if (wal_pages(f) >= THRESHOLD) {
            /* The hook has woken the checkpointer: give it its moment. */
            assert_true(wait_caught_up(f->ckpt));
        }
    }
    assert_true(f->max_commit_pages > 0);
    /* Far more pages went through the WAL than the bound: it started over again and again. */
    assert_true(f->pages_written > 3 * (THRESHOLD + f->max_commit_pages));
    assert_true(largest <= wal_bytes_for(f, THRESHOLD + f->max_commit_pages));
    assert_true(metric_value(f->metrics, "rrasfleet_wal_checkpoints_total") >= 2);
}

/* Back to back, a checkpointer on another thread is always a commit behind, and SQLite only
 * starts a WAL over when a transaction begins on a wholly copied one: the store's hook copies
 * the rest in line at the cap. The margin over the cap covers the commits that come while the
 * checkpointer holds the checkpoint lock (the hook then gets BUSY and tries again next commit). */
static void test_back_to_back_commits_keep_the_wal_near_the_hard_cap(void **state)
{
    struct fx *f = *state;
    int64_t largest = 0;
    assert_int_equal(col_checkpoint_start(f->st, THRESHOLD, f->metrics, &f->ckpt), PROTO_OK);
    for (int i = 0; i < 400; i++) {
        commit_one(f);
        int64_t bytes = wal_bytes(f);
        largest = bytes > largest ? bytes : largest;
    }
    assert_true(f->pages_written > 3 * 2 * CAP); /* the WAL must have started over */
    assert_true(largest <= wal_bytes_for(f, 2 * CAP));
    assert_true(wait_caught_up(f->ckpt));
    assert_true(metric_value(f->metrics, "rrasfleet_wal_checkpoints_total") >= 2);
}

static void test_every_committed_row_is_readable_from_a_fresh_connection(void **state)
{
    struct fx *f = *state;
    assert_int_equal(col_checkpoint_start(f->st, THRESHOLD, f->metrics, &f->ckpt), PROTO_OK);
    for (int i = 0; i < 60; i++) {
        commit_one(f);
    }
    assert_true(wait_caught_up(f->ckpt));
    col_checkpoint_stop(f->ckpt);
    f->ckpt = NULL;
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM reports"), 60);
    col_store_close(f->st);
    f->st = NULL;
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM reports"), 60);
}

static void test_the_checkpointer_starts_again_after_a_stop(void **state)
{
    struct fx *f = *state;
    for (int round = 0; round < 3; round++) {
        assert_int_equal(col_checkpoint_start(f->st, THRESHOLD, f->metrics, &f->ckpt), PROTO_OK);
        for (int i = 0; i < 20; i++) {
            commit_one(f);
        }
        assert_true(wait_caught_up(f->ckpt));
        col_checkpoint_stop(f->ckpt);
        f->ckpt = NULL;
    }
    int64_t n = -1;
    assert_int_equal(col_store_count_reports(f->st, &n), PROTO_OK);
    assert_int_equal(n, 60);
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM reports"), 60);
}

static void test_stopping_with_an_empty_wal_is_fine(void **state)
{
    struct fx *f = *state;
    assert_int_equal(col_checkpoint_start(f->st, THRESHOLD, f->metrics, &f->ckpt), PROTO_OK);
    assert_true(wait_caught_up(f->ckpt));
    col_checkpoint_stop(f->ckpt);
    f->ckpt = NULL;
    assert_int_equal(col_checkpoint_start(f->st, THRESHOLD, NULL, &f->ckpt), PROTO_OK);
    col_checkpoint_stop(f->ckpt); /* at once, before its first run may have finished */
    f->ckpt = NULL;
    col_checkpoint_stop(NULL);
    assert_false(col_checkpoint_caught_up(NULL));
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM reports"), 0);
}

static void test_start_refuses_a_missing_store_or_a_zero_threshold(void **state)
{
    struct fx *f = *state;
    struct col_checkpoint *c = (struct col_checkpoint *)(void *)f; /* not NULL: start clears it */
    assert_int_equal(col_checkpoint_start(NULL, THRESHOLD, NULL, &c), PROTO_EINVAL);
    assert_null(c);
    assert_int_equal(col_checkpoint_start(f->st, 0, NULL, &c), PROTO_EINVAL);
    assert_null(c);
    assert_int_equal(col_checkpoint_start(f->st, THRESHOLD, NULL, NULL), PROTO_EINVAL);
}

static void test_a_reader_pinning_the_wal_past_the_cap_is_logged_as_a_warning(void **state)
{
    struct fx *f = *state;
    char log_path[96];
    sqlite3 *reader = NULL;
    sqlite3_stmt *stmt = NULL;
    snprintf(log_path, sizeof(log_path), "%s/log.txt", f->dir);
    int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    int old_fd = col_log_set_fd(fd);

    assert_int_equal(col_checkpoint_start(f->st, THRESHOLD, f->metrics, &f->ckpt), PROTO_OK);
    commit_one(f);
    assert_true(wait_caught_up(f->ckpt));
    /* A read transaction left open pins the snapshot it started on. */
    assert_int_equal(sqlite3_open_v2(f->db, &reader, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(reader, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(reader, "SELECT count(*) FROM reports", -1, &stmt, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    sqlite3_finalize(stmt);
    while (wal_pages(f) < CAP) {
        commit_one(f);
    }
    int64_t deadline = now_ms() + DEADLINE_MS;
    while (!file_contains(log_path, "cannot restart") && now_ms() < deadline) {
        pause_ms(10);
    }
    assert_true(file_contains(log_path, "cannot restart"));
    assert_true(file_contains(log_path, " warn "));

    /* Once the reader is gone the WAL is checkpointed, and the next commit restarts it. */
    assert_int_equal(sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(reader);
    assert_true(wait_caught_up(f->ckpt));
    commit_one(f);
    assert_true(wal_pages(f) <= f->max_commit_pages);

    col_log_set_fd(old_fd);
    close(fd);
}

static void test_a_store_without_a_checkpointer_checkpoints_in_line(void **state)
{
    struct fx *f = *state;
    uint64_t largest = 0;
    for (int i = 0; i < 200 && f->max_commit_pages * (uint64_t)i < 2 * COL_STORE_WAL_INLINE_PAGES;
         i++) {
        commit_one(f);
        uint64_t pages = wal_pages(f);
        largest = pages > largest ? pages : largest;
    }
    assert_true(f->max_commit_pages * 200 > 2 * COL_STORE_WAL_INLINE_PAGES);
    assert_true(largest >= COL_STORE_WAL_INLINE_PAGES);
    assert_true(largest <= COL_STORE_WAL_INLINE_PAGES + f->max_commit_pages);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_wal_stays_within_the_threshold_and_one_commit_when_the_checkpointer_keeps_up,
            fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_back_to_back_commits_keep_the_wal_near_the_hard_cap,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_every_committed_row_is_readable_from_a_fresh_connection, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_the_checkpointer_starts_again_after_a_stop, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_stopping_with_an_empty_wal_is_fine, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_start_refuses_a_missing_store_or_a_zero_threshold,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(
            test_a_reader_pinning_the_wal_past_the_cap_is_logged_as_a_warning, fx_setup,
            fx_teardown),
        cmocka_unit_test_setup_teardown(test_a_store_without_a_checkpointer_checkpoints_in_line,
                                        fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
