/* Unit tests of collector/writer: submit blocks until commit, group commit under concurrency,
 * a full queue refuses at once, a failing job fails alone, destroy drains the queue.
 * The database is held locked from a second connection where a test needs the writer stuck. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "alloc.h"
#include "bundle.h"
#include "diagnose.h"
#include "json.h"
#include "store.h"
#include "testutil.h"
#include "writer.h"
#include "writer_int.h"

#define NOW 1795564800 /* 2026-11-25T00:00:00Z */
#define THREADS 8
#define PER_THREAD 250
#define HOSTS_PER_THREAD 25

struct fx {
    char dir[64];
    char db[128];
    struct col_store *st;
};

static void make_report(struct testutil_report *m, const char *bundle, const char *fqdn,
                        uint64_t seq)
{
    testutil_report_make(m, bundle, fqdn, seq, 0, NOW);
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char err[256];
    assert_non_null(f);
    /* On disk, not tmpfs, where possible: group commit is about the cost of fsync. */
    snprintf(f->dir, sizeof(f->dir), "%s/test_writer-XXXXXX",
             access("/var/tmp", W_OK) == 0 ? "/var/tmp" : "/tmp");
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

static int64_t reports_in(struct col_store *st)
{
    int64_t n = -1;
    assert_int_equal(col_store_count_reports(st, &n), PROTO_OK);
    return n;
}

/* A second connection holding the write lock, so the writer blocks in BEGIN IMMEDIATE. */
static sqlite3 *lock_db(const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    return db;
}

static void unlock_db(sqlite3 *db)
{
    assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits until the writer's queue holds `depth` jobs. */
static void wait_depth(struct col_writer *w, size_t depth)
{
    for (int i = 0; i < 5000 && col_writer_queue_depth(w) != depth; i++) {
        sleep_ms(1);
    }
    assert_int_equal(col_writer_queue_depth(w), depth);
}

struct submitter {
    struct col_writer *w;
    struct col_ingest in;
    enum proto_rc rc;
    bool dup;
    pthread_t thread;
};

static void *submit_main(void *arg)
{
    struct submitter *s = arg;
    s->rc = col_writer_submit(s->w, &s->in, &s->dup);
    return NULL;
}

static void start_submit(struct submitter *s, struct col_writer *w, const struct testutil_report *m)
{
    memset(s, 0, sizeof(*s));
    s->w = w;
    s->in = (struct col_ingest){m->body, m->len, m->rep, m->diag, NOW, NULL};
    s->rc = PROTO_EIO;
    assert_int_equal(pthread_create(&s->thread, NULL, submit_main, s), 0);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_submit_returns_after_commit_and_flags_duplicates(void **state)
{
    struct fx *f = *state;
    struct col_writer *w = NULL;
    struct col_writer_config cfg = {16, 8};
    struct testutil_report m;
    bool dup = true;
    make_report(&m, "kb-787-wildcard-first", "rras01.corp.contoso.com", 1);
    assert_int_equal(col_writer_create(f->st, &cfg, &w), PROTO_OK);
    struct col_ingest in = {m.body, m.len, m.rep, m.diag, NOW, NULL};
    assert_int_equal(col_writer_submit(w, &in, &dup), PROTO_OK);
    assert_false(dup);
    assert_int_equal(reports_in(f->st), 1); /* committed before submit returned */
    assert_int_equal(col_writer_submit(w, &in, &dup), PROTO_OK);
    assert_true(dup);
    assert_int_equal(reports_in(f->st), 1);
    assert_int_equal(col_writer_transactions(w), 2);
    assert_int_equal(col_writer_queue_depth(w), 0);
    col_writer_destroy(w);
    testutil_report_free(&m);
}

struct load {
    struct col_writer *w;
    struct testutil_report m; /* made on the main thread: fixture paths are not thread-safe */
    pthread_barrier_t *start;
    int index;
    int failures;
    int duplicates;
};

static void *load_main(void *arg)
{
    struct load *l = arg;
    struct testutil_report m = l->m;
    char *bodies[PER_THREAD];
    size_t lens[PER_THREAD];
    char ids[PER_THREAD][37];
    char fqdns[HOSTS_PER_THREAD][64];
    char *original = NULL;
    original = m.rep->snapshot->host.fqdn;
    for (int h = 0; h < HOSTS_PER_THREAD; h++) {
        snprintf(fqdns[h], sizeof(fqdns[h]), "rras-%d-%d.corp.contoso.com", l->index, h);
    }
    /* Bodies are made before the clock starts: the test measures the writer. */
    for (int i = 0; i < PER_THREAD; i++) {
        m.rep->snapshot->host.fqdn = fqdns[i % HOSTS_PER_THREAD];
        m.rep->seq = (uint64_t)i;
        assert_int_equal(proto_uuid_v4(m.rep->report_id), PROTO_OK);
        memcpy(ids[i], m.rep->report_id, sizeof(ids[i]));
        assert_int_equal(proto_json_encode_report(m.rep, 0, &bodies[i], &lens[i]), PROTO_OK);
    }
    pthread_barrier_wait(l->start);
    for (int i = 0; i < PER_THREAD; i++) {
        bool dup = false;
        m.rep->snapshot->host.fqdn = fqdns[i % HOSTS_PER_THREAD];
        m.rep->seq = (uint64_t)i;
        memcpy(m.rep->report_id, ids[i], sizeof(ids[i]));
        struct col_ingest in = {bodies[i], lens[i], m.rep, m.diag, NOW + i, NULL};
        if (col_writer_submit(l->w, &in, &dup) != PROTO_OK) {
            l->failures++;
        }
        l->duplicates += dup;
        proto_free(bodies[i]);
    }
    m.rep->snapshot->host.fqdn = original;
    testutil_report_free(&m);
    return NULL;
}

/* Queries the store while the writer writes: WAL readers must never fail or block it. */
struct reader {
    struct col_store *st;
    pthread_mutex_t mu;
    bool stop;
    int queries;
    int failures;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        bool stop = r->stop;
        pthread_mutex_unlock(&r->mu);
        if (stop) {
            break;
        }
        struct col_query q = {0};
        q.min_severity = PROTO_SEV_MEDIUM;
        q.expiring_within_days = -1;
        q.limit = 50;
        q.now = NOW;
        struct col_table *t = NULL;
        cJSON *doc = NULL;
        if (col_store_query_hosts(r->st, &q, &t) != PROTO_OK ||
            col_store_summary(r->st, &doc) != PROTO_OK) {
            r->failures++;
        }
        col_table_destroy(t);
        cJSON_Delete(doc);
        r->queries++;
        sleep_ms(10); /* a busy dashboard, not a second CPU-bound load on two cores */
    }
    return NULL;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_concurrent_submitters_share_transactions(void **state)
{
    struct fx *f = *state;
    struct col_writer *w = NULL;
    struct col_writer_config cfg = {4096, 64};
    struct load loads[THREADS];
    pthread_t threads[THREADS];
    pthread_barrier_t start;
    assert_int_equal(col_writer_create(f->st, &cfg, &w), PROTO_OK);
    struct reader rd = {.st = f->st};
    pthread_t reader_thread;
    assert_int_equal(pthread_mutex_init(&rd.mu, NULL), 0);
    assert_int_equal(pthread_barrier_init(&start, NULL, THREADS + 1), 0);
    for (int i = 0; i < THREADS; i++) {
        loads[i] = (struct load){w, {0}, &start, i, 0, 0};
        make_report(&loads[i].m, i % 2 ? "kb-787-wildcard-first" : "cert-zoo", "x", 0);
        assert_int_equal(pthread_create(&threads[i], NULL, load_main, &loads[i]), 0);
    }
    pthread_barrier_wait(&start);
    double t0 = now_seconds();
    assert_int_equal(pthread_create(&reader_thread, NULL, reader_main, &rd), 0);
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(loads[i].failures, 0);
        assert_int_equal(loads[i].duplicates, 0);
    }
    double elapsed = now_seconds() - t0;
    pthread_barrier_destroy(&start);
    pthread_mutex_lock(&rd.mu);
    rd.stop = true;
    pthread_mutex_unlock(&rd.mu);
    pthread_join(reader_thread, NULL);
    pthread_mutex_destroy(&rd.mu);
    assert_int_equal(rd.failures, 0);
    assert_true(rd.queries > 0);

    const int total = THREADS * PER_THREAD;
    uint64_t tx = col_writer_transactions(w);
    assert_int_equal(reports_in(f->st), total);
    assert_int_equal(col_writer_jobs(w), total);
    assert_true(tx < (uint64_t)total);
    print_message("group commit (%s): %d reports from %d threads in %.2f s = %.0f reports/s, "
                  "%llu transactions (%.1f reports each); %d queries alongside\n",
                  f->dir, total, THREADS, elapsed, (double)total / elapsed, (unsigned long long)tx,
                  (double)total / (double)tx, rd.queries);
    col_writer_destroy(w);
}

static void test_full_queue_refuses_at_once(void **state)
{
    struct fx *f = *state;
    struct col_writer *w = NULL;
    struct col_writer_config cfg = {1, 8};
    struct testutil_report m[3];
    struct submitter a;
    struct submitter b;
    make_report(&m[0], "resolution1-single-cert", "rras-a.corp.contoso.com", 1);
    make_report(&m[1], "resolution1-single-cert", "rras-b.corp.contoso.com", 1);
    make_report(&m[2], "resolution1-single-cert", "rras-c.corp.contoso.com", 1);
    assert_int_equal(col_writer_create(f->st, &cfg, &w), PROTO_OK);
    sqlite3 *lock = lock_db(f->db);
    start_submit(&a, w, &m[0]);
    wait_depth(w, 0);
    sleep_ms(100); /* the writer has taken a and waits for the lock */
    start_submit(&b, w, &m[1]);
    wait_depth(w, 1);
    bool dup = false;
    struct col_ingest in = {m[2].body, m[2].len, m[2].rep, m[2].diag, NOW, NULL};
    assert_int_equal(col_writer_submit(w, &in, &dup), PROTO_ELIMIT);
    unlock_db(lock);
    pthread_join(a.thread, NULL);
    pthread_join(b.thread, NULL);
    assert_int_equal(a.rc, PROTO_OK);
    assert_int_equal(b.rc, PROTO_OK);
    assert_int_equal(reports_in(f->st), 2);
    col_writer_destroy(w);
    for (int i = 0; i < 3; i++) {
        testutil_report_free(&m[i]);
    }
}

static void test_failing_job_does_not_fail_its_batch(void **state)
{
    struct fx *f = *state;
    struct col_writer *w = NULL;
    struct col_writer_config cfg = {16, 16};
    struct testutil_report m[4];
    struct submitter s[4];
    make_report(&m[0], "resolution1-single-cert", "rras-a.corp.contoso.com", 1);
    make_report(&m[1], "kb-787-wildcard-first", "rras-b.corp.contoso.com", 1);
    make_report(&m[2], "kb-787-wildcard-first", "", 1); /* invalid: no host name */
    make_report(&m[3], "cert-zoo", "rras-d.corp.contoso.com", 1);
    assert_int_equal(col_writer_create(f->st, &cfg, &w), PROTO_OK);
    sqlite3 *lock = lock_db(f->db);
    start_submit(&s[0], w, &m[0]);
    wait_depth(w, 0);
    sleep_ms(100);
    for (int i = 1; i < 4; i++) {
        start_submit(&s[i], w, &m[i]);
        wait_depth(w, (size_t)i);
    }
    unlock_db(lock);
    for (int i = 0; i < 4; i++) {
        pthread_join(s[i].thread, NULL);
    }
    assert_int_equal(s[0].rc, PROTO_OK);
    assert_int_equal(s[1].rc, PROTO_OK);
    assert_int_equal(s[2].rc, PROTO_EINVAL);
    assert_int_equal(s[3].rc, PROTO_OK);
    assert_int_equal(reports_in(f->st), 3);
    /* Job 0 alone, then 1-3 together. */
    assert_int_equal(col_writer_transactions(w), 2);
    col_writer_destroy(w);
    for (int i = 0; i < 4; i++) {
        testutil_report_free(&m[i]);
    }
}

struct destroyer {
    struct col_writer *w;
    pthread_t thread;
};

static void *destroy_main(void *arg)
{
    struct destroyer *d = arg;
    col_writer_destroy(d->w);
    return NULL;
}

static void test_destroy_drains_queued_jobs_and_refuses_new_ones(void **state)
{
    struct fx *f = *state;
    struct col_writer *w = NULL;
    struct col_writer_config cfg = {16, 1};
    struct testutil_report m[3];
    struct submitter s[3];
    struct destroyer d;
    make_report(&m[0], "resolution1-single-cert", "rras-a.corp.contoso.com", 1);
    make_report(&m[1], "resolution1-single-cert", "rras-b.corp.contoso.com", 1);
    make_report(&m[2], "resolution1-single-cert", "rras-c.corp.contoso.com", 1);
    assert_int_equal(col_writer_create(f->st, &cfg, &w), PROTO_OK);
    sqlite3 *lock = lock_db(f->db);
    start_submit(&s[0], w, &m[0]);
    wait_depth(w, 0);
    sleep_ms(100);
    start_submit(&s[1], w, &m[1]);
    wait_depth(w, 1);
    d.w = w;
    assert_int_equal(pthread_create(&d.thread, NULL, destroy_main, &d), 0);
    sleep_ms(100); /* destroy has marked the writer stopping and waits in join */
    bool dup = false;
    struct col_ingest in = {m[2].body, m[2].len, m[2].rep, m[2].diag, NOW, NULL};
    assert_int_equal(col_writer_submit(w, &in, &dup), PROTO_EUNAVAILABLE);
    unlock_db(lock);
    pthread_join(s[0].thread, NULL);
    pthread_join(s[1].thread, NULL);
    pthread_join(d.thread, NULL);
    assert_int_equal(s[0].rc, PROTO_OK);
    assert_int_equal(s[1].rc, PROTO_OK);
    assert_int_equal(reports_in(f->st), 2);
    for (int i = 0; i < 3; i++) {
        testutil_report_free(&m[i]);
    }
}

static void test_bad_configuration_is_refused(void **state)
{
    struct fx *f = *state;
    struct col_writer *w = NULL;
    struct col_writer_config zero_queue = {0, 8};
    struct col_writer_config zero_batch = {8, 0};
    assert_int_equal(col_writer_create(f->st, &zero_queue, &w), PROTO_EINVAL);
    assert_int_equal(col_writer_create(f->st, &zero_batch, &w), PROTO_EINVAL);
    assert_null(w);
    col_writer_destroy(NULL);
    assert_int_equal(col_writer_queue_depth(NULL), 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

int main(void)
{
    proto_alloc_install_cjson_hooks();
    const struct CMUnitTest tests[] = {
        T(test_submit_returns_after_commit_and_flags_duplicates),
        T(test_concurrent_submitters_share_transactions),
        T(test_full_queue_refuses_at_once),
        T(test_failing_job_does_not_fail_its_batch),
        T(test_destroy_drains_queued_jobs_and_refuses_new_ones),
        T(test_bad_configuration_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
