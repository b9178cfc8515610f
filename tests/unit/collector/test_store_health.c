/* Unit tests of the store's health (collector/store/sqlite/health.c, decision 016): a write that
 * fails because the database is full (SQLite's own PRAGMA max_page_count, on the write
 * connection or through db_max_mb) is classified, counted and cleared by the next commit; the
 * integrity check finds a deliberately corrupted page, now or on its own thread; a database that
 * group or others may read is refused unless allowed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "alloc.h"
#include "facts.h"
#include "json.h"
#include "metrics.h"
#include "store.h"
#include "store_int.h"
#include "testutil.h"
#include "writer.h"

#define NOW 1795564800 /* 2026-11-25T00:00:00Z, the fixtures' policy time */

struct fx {
    char dir[64];
    char db[128];
    struct col_store *st;
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char err[256];
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_store_health-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof(f->db), "%s/collector.db", f->dir);
    assert_int_equal(col_store_open(f->db, &f->st, err, sizeof(err)), PROTO_OK);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    col_store_close(f->st);
    testutil_remove_flat_dir(f->dir);
    free(f);
    return 0;
}

/* Ingests one report of host `fqdn` in its own transaction; returns the first failure. */
static enum proto_rc put(struct col_store *st, const char *fqdn, uint64_t seq)
{
    struct testutil_report m;
    testutil_report_make(&m, "kb-787-wildcard-first", fqdn, seq, NOW, NOW);
    struct col_ingest in = {m.body, m.len, m.rep, m.diag, NOW, NULL};
    struct col_ingest_facts facts;
    bool dup = false;
    enum proto_rc rc = col_ingest_facts_compute(&in, &facts);
    assert_int_equal(rc, PROTO_OK);
    in.facts = &facts;
    rc = col_store_begin(st);
    if (!rc) {
        rc = col_store_ingest(st, &in, &dup);
        if (rc) {
            col_store_rollback(st);
        } else {
            rc = col_store_commit(st);
        }
    }
    col_ingest_facts_release(&facts);
    testutil_report_free(&m);
    return rc;
}

static int64_t page_count(struct col_store *st)
{
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(st->wdb, "PRAGMA page_count", -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
}

/* The database "full" at its current size, by SQLite's own limit on the write connection, and
 * without free pages (migrations leave some), so the next new row needs a page it cannot have. */
static void fill_up(struct col_store *st)
{
    char sql[64];
    assert_int_equal(sqlite3_exec(st->wdb, "VACUUM", NULL, NULL, NULL), SQLITE_OK);
    snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld", (long long)page_count(st));
    assert_int_equal(sqlite3_exec(st->wdb, sql, NULL, NULL, NULL), SQLITE_OK);
}

static uint64_t metric_value(struct col_metrics *m, const char *line_start)
{
    struct proto_buf out;
    proto_buf_init(&out, 1 << 20);
    assert_int_equal(col_metrics_render(m, 0, -1, &out), PROTO_OK);
    const char *at = strstr(proto_buf_str(&out), line_start);
    assert_non_null(at);
    unsigned long long v = strtoull(at + strlen(line_start), NULL, 10);
    proto_buf_free(&out);
    return (uint64_t)v;
}

/* ---- disk full ------------------------------------------------------------------------------ */

static void test_a_full_database_fails_the_write_and_says_so_until_a_commit_succeeds(void **state)
{
    struct fx *f = *state;
    struct col_metrics *m = col_metrics_create();
    assert_non_null(m);
    col_store_set_metrics(f->st, m);
    struct col_store_health h;
    col_store_health(f->st, &h);
    assert_int_equal(h.fault, COL_STORE_FAULT_NONE);
    assert_false(h.has_commit);

    assert_int_equal(put(f->st, "rras-a.corp.contoso.com", 1), PROTO_OK);
    col_store_health(f->st, &h);
    assert_true(h.has_commit);
    fill_up(f->st);
    /* New hosts need new pages: once the free ones are used, SQLITE_FULL, not a silent loss. */
    enum proto_rc rc = PROTO_OK;
    int stored = 1;
    char fqdn[64];
    for (int i = 0; i < 100 && rc == PROTO_OK; i++) {
        snprintf(fqdn, sizeof(fqdn), "rras-%03d.corp.contoso.com", i);
        rc = put(f->st, fqdn, 1);
        stored += rc == PROTO_OK;
    }
    assert_int_equal(rc, PROTO_EIO);
    assert_false(col_store_in_transaction(f->st));
    col_store_health(f->st, &h);
    assert_int_equal(h.fault, COL_STORE_FAULT_FULL);
    assert_string_equal(col_store_fault_str(h.fault), "full");
    assert_int_equal(metric_value(m, "rrasfleet_store_write_errors_total{reason=\"full\"} "), 1);
    assert_int_equal(metric_value(m, "rrasfleet_store_write_errors_total{reason=\"io\"} "), 0);
    int64_t n = 0;
    assert_int_equal(col_store_count_reports(f->st, &n), PROTO_OK);
    assert_int_equal(n, stored);

    /* Room again (the operator freed space): the next commit clears the fault. */
    assert_int_equal(
        sqlite3_exec(f->st->wdb, "PRAGMA max_page_count = 1073741823", NULL, NULL, NULL),
        SQLITE_OK);
    assert_int_equal(put(f->st, fqdn, 1), PROTO_OK);
    col_store_health(f->st, &h);
    assert_int_equal(h.fault, COL_STORE_FAULT_NONE);
    col_store_set_metrics(f->st, NULL);
    col_metrics_destroy(m);
}

static void test_a_full_database_fails_every_report_of_the_writers_batch(void **state)
{
    struct fx *f = *state;
    struct col_writer *w = NULL;
    struct col_writer_config cfg = {16, 16};
    assert_int_equal(put(f->st, "rras-a.corp.contoso.com", 1), PROTO_OK);
    fill_up(f->st);
    enum proto_rc rc = PROTO_OK;
    char fqdn[64];
    for (int i = 0; i < 100 && rc == PROTO_OK; i++) {
        snprintf(fqdn, sizeof(fqdn), "rras-%03d.corp.contoso.com", i);
        rc = put(f->st, fqdn, 1);
    }
    assert_int_equal(rc, PROTO_EIO);
    assert_int_equal(col_writer_create(f->st, &cfg, &w), PROTO_OK);
    struct testutil_report r;
    testutil_report_make(&r, "kb-787-wildcard-first", "rras-zzz.corp.contoso.com", 1, NOW, NOW);
    struct col_ingest in = {r.body, r.len, r.rep, r.diag, NOW, NULL};
    bool dup = true;
    assert_int_equal(col_writer_submit(w, &in, &dup), PROTO_EIO);
    assert_false(dup);
    col_writer_destroy(w);
    testutil_report_free(&r);
    struct col_store_health h;
    /* The writer committed the (empty) rest of its batch: that proves nothing about room. */
    col_store_health(f->st, &h);
    assert_int_equal(h.fault, COL_STORE_FAULT_FULL);
}

static void test_db_max_bytes_makes_the_database_full_at_that_size(void **state)
{
    struct fx *f = *state;
    char err[256];
    col_store_close(f->st);
    f->st = NULL;
    struct col_store_options opt = {false, 256u * 1024u};
    assert_int_equal(col_store_open_with(f->db, &opt, &f->st, err, sizeof(err)), PROTO_OK);
    enum proto_rc rc = PROTO_OK;
    char fqdn[64];
    for (int i = 0; i < 200 && rc == PROTO_OK; i++) {
        snprintf(fqdn, sizeof(fqdn), "rras-%03d.corp.contoso.com", i);
        rc = put(f->st, fqdn, 1);
    }
    assert_int_equal(rc, PROTO_EIO);
    struct col_store_health h;
    col_store_health(f->st, &h);
    assert_int_equal(h.fault, COL_STORE_FAULT_FULL);
    assert_true(page_count(f->st) * 4096 <= 256 * 1024);
}

/* ---- the integrity check -------------------------------------------------------------------- */

/* Overwrites the first bytes of the b-tree page of `table` (its root page) with garbage. */
static void corrupt_table(const char *db_path, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT rootpage FROM sqlite_master WHERE name = '%s'", table);
    int64_t root = testutil_sql_int(db_path, sql);
    int64_t page_size = testutil_sql_int(db_path, "PRAGMA page_size");
    assert_true(root > 1);
    int fd = open(db_path, O_WRONLY);
    assert_true(fd >= 0);
    unsigned char junk[64];
    memset(junk, 0xA5, sizeof(junk));
    assert_int_equal(pwrite(fd, junk, sizeof(junk), (off_t)((root - 1) * page_size)),
                     (ssize_t)sizeof(junk));
    close(fd);
}

static void test_quick_check_passes_a_sound_database(void **state)
{
    struct fx *f = *state;
    char message[256];
    assert_int_equal(put(f->st, "rras-a.corp.contoso.com", 1), PROTO_OK);
    assert_int_equal(col_store_quick_check(f->st, message, sizeof(message)), PROTO_OK);
    assert_string_equal(message, "");
}

static void test_quick_check_finds_a_corrupted_page(void **state)
{
    struct fx *f = *state;
    char err[256];
    char message[256];
    assert_int_equal(put(f->st, "rras-a.corp.contoso.com", 1), PROTO_OK);
    col_store_close(f->st); /* checkpoints: the rows are in the database file */
    f->st = NULL;
    corrupt_table(f->db, "certs");
    /* Opening reads only the schema, so it succeeds: the check is what finds the damage. */
    assert_int_equal(col_store_open(f->db, &f->st, err, sizeof(err)), PROTO_OK);
    assert_int_equal(col_store_quick_check(f->st, message, sizeof(message)), PROTO_EIO);
    assert_true(message[0] != '\0');
}

struct check_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int calls;
    bool ok;
};

static void check_done(void *ctx, bool ok)
{
    struct check_wait *cw = ctx;
    pthread_mutex_lock(&cw->mu);
    cw->calls++;
    cw->ok = ok;
    pthread_cond_signal(&cw->cv);
    pthread_mutex_unlock(&cw->mu);
}

static bool run_check_thread(struct col_store *st, struct col_store_health *h)
{
    struct check_wait cw = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false};
    assert_int_equal(col_store_check_start(st, check_done, &cw), PROTO_OK);
    assert_int_equal(col_store_check_start(st, check_done, &cw), PROTO_EINVAL); /* once */
    pthread_mutex_lock(&cw.mu);
    while (cw.calls == 0) {
        pthread_cond_wait(&cw.cv, &cw.mu);
    }
    pthread_mutex_unlock(&cw.mu);
    col_store_health(st, h);
    assert_int_equal(cw.calls, 1);
    return cw.ok;
}

static void test_the_check_thread_reports_a_sound_database(void **state)
{
    struct fx *f = *state;
    struct col_store_health h;
    col_store_health(f->st, &h);
    assert_int_equal(h.check, COL_STORE_CHECK_NONE);
    assert_true(run_check_thread(f->st, &h));
    assert_int_equal(h.check, COL_STORE_CHECK_OK);
    assert_string_equal(col_store_check_str(h.check), "ok");
}

static void test_the_check_thread_reports_a_corrupted_database(void **state)
{
    struct fx *f = *state;
    char err[256];
    assert_int_equal(put(f->st, "rras-a.corp.contoso.com", 1), PROTO_OK);
    col_store_close(f->st);
    f->st = NULL;
    corrupt_table(f->db, "findings");
    assert_int_equal(col_store_open(f->db, &f->st, err, sizeof(err)), PROTO_OK);
    struct col_store_health h;
    assert_false(run_check_thread(f->st, &h));
    assert_int_equal(h.check, COL_STORE_CHECK_FAILED);
    assert_true(h.check_message[0] != '\0');
}

/* ---- file permissions ----------------------------------------------------------------------- */

static void test_a_database_readable_by_others_is_refused_unless_allowed(void **state)
{
    struct fx *f = *state;
    char err[512];
    col_store_close(f->st);
    f->st = NULL;
    assert_int_equal(chmod(f->db, 0644), 0);
    assert_int_equal(col_store_open(f->db, &f->st, err, sizeof(err)), PROTO_EUNSUPPORTED);
    assert_null(f->st);
    assert_non_null(strstr(err, "allow_readable_db"));
    assert_non_null(strstr(err, "0644"));
    assert_int_equal(chmod(f->db, 0640), 0);
    assert_int_equal(col_store_open(f->db, &f->st, err, sizeof(err)), PROTO_EUNSUPPORTED);
    struct col_store_options opt = {true, 0};
    assert_int_equal(col_store_open_with(f->db, &opt, &f->st, err, sizeof(err)), PROTO_OK);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

int main(void)
{
    proto_alloc_install_cjson_hooks();
    const struct CMUnitTest tests[] = {
        T(test_a_full_database_fails_the_write_and_says_so_until_a_commit_succeeds),
        T(test_a_full_database_fails_every_report_of_the_writers_batch),
        T(test_db_max_bytes_makes_the_database_full_at_that_size),
        T(test_quick_check_passes_a_sound_database),
        T(test_quick_check_finds_a_corrupted_page),
        T(test_the_check_thread_reports_a_sound_database),
        T(test_the_check_thread_reports_a_corrupted_database),
        T(test_a_database_readable_by_others_is_refused_unless_allowed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
