/* Unit tests of collector/writer: submit blocks until commit, group commit under concurrency,
 * a full queue refuses at once, a failing job fails alone, destroy drains the queue; reports
 * arriving while a transaction is open join it (up to batch_max), another connection that
 * announces itself gets the write lock under steady load, and a failed BEGIN ends its batch.
 * Asynchronous submissions are notified once, on the writer's thread, after their commit.
 * The database is held locked from a second connection where a test needs the writer stuck;
 * a test waits for the events it needs (the writer stuck in BEGIN, a queue depth, destroy
 * begun) rather than sleeping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
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
#include "store_int.h"
#include "testutil.h"
#include "uuid.h"
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

/* Waits until the writer's queue holds `depth` jobs (a generous cap: 10 s). */
static void wait_depth(struct col_writer *w, size_t depth)
{
    for (int i = 0; i < 10000 && col_writer_queue_depth(w) != depth; i++) {
        sleep_ms(1);
    }
    assert_int_equal(col_writer_queue_depth(w), depth);
}

/* Waits until col_writer_destroy, on another thread, has begun (a generous cap: 10 s). */
static void wait_stopping(struct col_writer *w)
{
    for (int i = 0; i < 10000 && !col_writer_stopping(w); i++) {
        sleep_ms(1);
    }
    assert_true(col_writer_stopping(w));
}

/* Sees the writer stuck in BEGIN IMMEDIATE behind a lock_db: a busy handler on the write
 * connection, in place of the store's busy timeout, counts the writer's tries and retries like
 * the timeout would (every millisecond, as long). Installed while the writer is idle; removed
 * (the store's timeout back) once the writer is idle again or destroyed. */
struct busy_watch {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int tries;
};

#define BUSY_WATCH_RETRY_NS 1000000L

static int busy_watch_handler(void *arg, int tries)
{
    struct busy_watch *bw = arg;
    pthread_mutex_lock(&bw->mu);
    bw->tries++;
    pthread_cond_broadcast(&bw->cv);
    pthread_mutex_unlock(&bw->mu);
    if ((long)tries * BUSY_WATCH_RETRY_NS >= COL_STORE_BUSY_TIMEOUT_MS * 1000000L) {
        return 0; /* give up, as the busy timeout would */
    }
    struct timespec ts = {0, BUSY_WATCH_RETRY_NS};
    nanosleep(&ts, NULL);
    return 1;
}

static void busy_watch_install(struct busy_watch *bw, struct fx *f)
{
    memset(bw, 0, sizeof(*bw));
    assert_int_equal(pthread_mutex_init(&bw->mu, NULL), 0);
    assert_int_equal(pthread_cond_init(&bw->cv, NULL), 0);
    assert_int_equal(sqlite3_busy_handler(f->st->wdb, busy_watch_handler, bw), SQLITE_OK);
}

static void busy_watch_remove(struct busy_watch *bw, struct fx *f)
{
    assert_int_equal(sqlite3_busy_timeout(f->st->wdb, COL_STORE_BUSY_TIMEOUT_MS), SQLITE_OK);
    pthread_cond_destroy(&bw->cv);
    pthread_mutex_destroy(&bw->mu);
}

/* Waits until the writer has tried BEGIN at least `tries` times since the watch was installed,
 * each time finding the lock taken (a generous cap: 10 s). Returns the count. */
static int busy_watch_wait(struct busy_watch *bw, int tries)
{
    struct timespec cap;
    clock_gettime(CLOCK_REALTIME, &cap);
    cap.tv_sec += 10;
    pthread_mutex_lock(&bw->mu);
    while (bw->tries < tries) {
        if (pthread_cond_timedwait(&bw->cv, &bw->mu, &cap) != 0) {
            break;
        }
    }
    int seen = bw->tries;
    pthread_mutex_unlock(&bw->mu);
    assert_true(seen >= tries);
    return seen;
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

/* One submitter thread: `count` distinct reports (25 hosts), encoded before the start barrier,
 * submitted one after another, each once it is committed. With `stop`, it keeps going until
 * the flag is set, submitting the same reports again once it has run out (duplicates). With
 * `pause_max_us`, it pauses 0..pause_max_us between reports, so reports arrive spread out
 * rather than all queued at once. */
struct load {
    struct col_writer *w;
    struct testutil_report m; /* made on the main thread: fixture paths are not thread-safe */
    pthread_barrier_t *start;
    int index;
    int count;
    long pause_max_us;
    atomic_bool *stop;
    int submitted;
    int failures;
    int duplicates;
};

static void load_init(struct load *l, struct col_writer *w, pthread_barrier_t *start, int index,
                      int count)
{
    memset(l, 0, sizeof(*l));
    l->w = w;
    l->start = start;
    l->index = index;
    l->count = count;
    make_report(&l->m, index % 2 ? "kb-787-wildcard-first" : "cert-zoo", "x", 0);
}

static void *load_main(void *arg)
{
    struct load *l = arg;
    struct testutil_report m = l->m;
    size_t n = (size_t)l->count;
    char **bodies = calloc(n, sizeof(*bodies));
    size_t *lens = calloc(n, sizeof(*lens));
    char(*ids)[37] = calloc(n, sizeof(*ids));
    char fqdns[HOSTS_PER_THREAD][64];
    char *original = NULL;
    uint64_t pause_state = UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t)(unsigned)l->index;
    assert_non_null(bodies);
    assert_non_null(lens);
    assert_non_null(ids);
    original = m.rep->snapshot->host.fqdn;
    for (int h = 0; h < HOSTS_PER_THREAD; h++) {
        snprintf(fqdns[h], sizeof(fqdns[h]), "rras-%d-%d.corp.contoso.com", l->index, h);
    }
    /* Bodies are made before the clock starts: the test measures the writer. */
    for (size_t i = 0; i < n; i++) {
        m.rep->snapshot->host.fqdn = fqdns[i % HOSTS_PER_THREAD];
        m.rep->seq = (uint64_t)i;
        assert_int_equal(proto_uuid_v4(m.rep->report_id), PROTO_OK);
        memcpy(ids[i], m.rep->report_id, sizeof(ids[i]));
        assert_int_equal(proto_json_encode_report(m.rep, 0, &bodies[i], &lens[i]), PROTO_OK);
    }
    pthread_barrier_wait(l->start);
    for (size_t k = 0;; k++) {
        if (l->stop != NULL ? atomic_load(l->stop) : k >= n) {
            break;
        }
        size_t i = k % n;
        bool dup = false;
        m.rep->snapshot->host.fqdn = fqdns[i % HOSTS_PER_THREAD];
        m.rep->seq = (uint64_t)i;
        memcpy(m.rep->report_id, ids[i], sizeof(ids[i]));
        struct col_ingest in = {bodies[i], lens[i], m.rep, m.diag, NOW + (int64_t)i, NULL};
        if (col_writer_submit(l->w, &in, &dup) != PROTO_OK) {
            l->failures++;
        }
        l->submitted++;
        l->duplicates += dup;
        if (l->pause_max_us > 0) {
            pause_state =
                pause_state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
            long us = (long)((pause_state >> 33) % (uint64_t)(l->pause_max_us + 1));
            struct timespec ts = {0, us * 1000L};
            nanosleep(&ts, NULL);
        }
    }
    for (size_t i = 0; i < n; i++) {
        proto_free(bodies[i]);
    }
    free(ids);
    free(lens);
    free(bodies);
    m.rep->snapshot->host.fqdn = original;
    testutil_report_free(&m);
    return NULL;
}

/* Starts `nthreads` loads held at the barrier (which counts the caller too). */
static void loads_start(struct load *loads, pthread_t *threads, int nthreads)
{
    for (int i = 0; i < nthreads; i++) {
        assert_int_equal(pthread_create(&threads[i], NULL, load_main, &loads[i]), 0);
    }
}

/* Joins the loads; returns the reports they submitted, and how many of them failed. */
static int loads_join(struct load *loads, pthread_t *threads, int nthreads, int *failures)
{
    int submitted = 0;
    *failures = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(threads[i], NULL);
        submitted += loads[i].submitted;
        *failures += loads[i].failures;
    }
    return submitted;
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
        struct col_summary *summary = NULL;
        if (col_store_query_hosts(r->st, &q, &t) != PROTO_OK ||
            col_store_summary(r->st, &summary) != PROTO_OK) {
            r->failures++;
        }
        col_table_destroy(t);
        col_store_summary_destroy(summary);
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
        load_init(&loads[i], w, &start, i, PER_THREAD);
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
    struct busy_watch bw;
    busy_watch_install(&bw, f);
    sqlite3 *lock = lock_db(f->db);
    start_submit(&a, w, &m[0]);
    busy_watch_wait(&bw, 1); /* the writer has taken a and waits for the lock */
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
    busy_watch_remove(&bw, f);
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
    struct busy_watch bw;
    busy_watch_install(&bw, f);
    sqlite3 *lock = lock_db(f->db);
    start_submit(&s[0], w, &m[0]);
    busy_watch_wait(&bw, 1);
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
    busy_watch_remove(&bw, f);
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
    struct busy_watch bw;
    busy_watch_install(&bw, f);
    sqlite3 *lock = lock_db(f->db);
    start_submit(&s[0], w, &m[0]);
    busy_watch_wait(&bw, 1);
    start_submit(&s[1], w, &m[1]);
    wait_depth(w, 1);
    d.w = w;
    assert_int_equal(pthread_create(&d.thread, NULL, destroy_main, &d), 0);
    wait_stopping(w); /* destroy has marked the writer stopping and waits in join */
    bool dup = false;
    struct col_ingest in = {m[2].body, m[2].len, m[2].rep, m[2].diag, NOW, NULL};
    assert_int_equal(col_writer_submit(w, &in, &dup), PROTO_EUNAVAILABLE);
    unlock_db(lock);
    pthread_join(s[0].thread, NULL);
    pthread_join(s[1].thread, NULL);
    pthread_join(d.thread, NULL);
    busy_watch_remove(&bw, f);
    assert_int_equal(s[0].rc, PROTO_OK);
    assert_int_equal(s[1].rc, PROTO_OK);
    assert_int_equal(reports_in(f->st), 2);
    for (int i = 0; i < 3; i++) {
        testutil_report_free(&m[i]);
    }
}

/* What an asynchronous submitter sees: each notification once, with its result and the
 * thread it came on, and how many reports the store held at that moment. */
struct async_seen {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct col_store *st;
    int notified;
    int ok;
    int duplicates;
    int on_caller_thread;
    int64_t stored_at_first_notice;
    pthread_t caller;
};

static void async_seen_notify(void *ctx, enum proto_rc result, bool duplicate)
{
    struct async_seen *a = ctx;
    pthread_mutex_lock(&a->mu);
    if (a->notified == 0) {
        a->stored_at_first_notice = reports_in(a->st);
    }
    a->notified++;
    a->ok += result == PROTO_OK;
    a->duplicates += duplicate;
    a->on_caller_thread += pthread_equal(pthread_self(), a->caller) != 0;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

static void async_seen_wait(struct async_seen *a, int count)
{
    pthread_mutex_lock(&a->mu);
    while (a->notified < count) {
        pthread_cond_wait(&a->cv, &a->mu);
    }
    pthread_mutex_unlock(&a->mu);
}

static void test_async_submissions_are_notified_on_the_writer_thread_after_commit(void **state)
{
    struct fx *f = *state;
    struct col_writer *w = NULL;
    struct col_writer_config cfg = {2, 8};
    struct testutil_report m[4];
    struct col_ingest in[4];
    struct async_seen a = {.st = f->st, .caller = pthread_self()};
    assert_int_equal(pthread_mutex_init(&a.mu, NULL), 0);
    assert_int_equal(pthread_cond_init(&a.cv, NULL), 0);
    make_report(&m[0], "resolution1-single-cert", "rras-a.corp.contoso.com", 1);
    make_report(&m[1], "resolution1-single-cert", "rras-b.corp.contoso.com", 1);
    make_report(&m[2], "resolution1-single-cert", "rras-c.corp.contoso.com", 1);
    make_report(&m[3], "resolution1-single-cert", "rras-d.corp.contoso.com", 1);
    for (int i = 0; i < 4; i++) {
        in[i] = (struct col_ingest){m[i].body, m[i].len, m[i].rep, m[i].diag, NOW, NULL};
    }
    assert_int_equal(col_writer_create(f->st, &cfg, &w), PROTO_OK);
    assert_int_equal(col_writer_submit_async(w, &in[0], NULL, &a), PROTO_EINVAL);

    /* With the store locked, the writer holds the first report; two more fill the queue and a
     * fourth is refused at once, without a notification. */
    struct busy_watch bw;
    busy_watch_install(&bw, f);
    sqlite3 *lock = lock_db(f->db);
    assert_int_equal(col_writer_submit_async(w, &in[0], async_seen_notify, &a), PROTO_OK);
    int tries = busy_watch_wait(&bw, 1);
    assert_int_equal(col_writer_submit_async(w, &in[1], async_seen_notify, &a), PROTO_OK);
    assert_int_equal(col_writer_submit_async(w, &in[2], async_seen_notify, &a), PROTO_OK);
    assert_int_equal(col_writer_submit_async(w, &in[3], async_seen_notify, &a), PROTO_ELIMIT);
    busy_watch_wait(&bw, tries + 2); /* the writer looked again since, and is still stuck */
    pthread_mutex_lock(&a.mu);
    assert_int_equal(a.notified, 0); /* nothing is answered before its commit */
    pthread_mutex_unlock(&a.mu);
    unlock_db(lock);
    async_seen_wait(&a, 3);
    assert_int_equal(a.ok, 3);
    assert_int_equal(a.duplicates, 0);
    assert_int_equal(a.on_caller_thread, 0);
    assert_true(a.stored_at_first_notice >= 1); /* the first batch committed before its notice */
    assert_int_equal(reports_in(f->st), 3);

    /* A repeated report is a duplicate; queued reports are still notified when destroy drains. */
    lock = lock_db(f->db);
    assert_int_equal(col_writer_submit_async(w, &in[0], async_seen_notify, &a), PROTO_OK);
    assert_int_equal(col_writer_submit_async(w, &in[3], async_seen_notify, &a), PROTO_OK);
    struct destroyer d = {.w = w};
    assert_int_equal(pthread_create(&d.thread, NULL, destroy_main, &d), 0);
    wait_stopping(w);
    unlock_db(lock);
    pthread_join(d.thread, NULL);
    busy_watch_remove(&bw, f);
    assert_int_equal(a.notified, 5);
    assert_int_equal(a.ok, 5);
    assert_int_equal(a.duplicates, 1);
    assert_int_equal(reports_in(f->st), 4);
    pthread_cond_destroy(&a.cv);
    pthread_mutex_destroy(&a.mu);
    for (int i = 0; i < 4; i++) {
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

/* ---- the linger: reports taken into an open transaction ----------------------------------- */

#define SPREAD_THREADS 6
#define SPREAD_PER_THREAD 200
#define SPREAD_PAUSE_US 200

/* Submitters pause up to 200 us between reports, so arrivals are spread out instead of all
 * queued when a batch starts: most reports arrive while a transaction is already open, and
 * they join it rather than wait for one of their own. */
static void test_reports_arriving_while_a_batch_is_open_join_it(void **state)
{
    struct fx *f = *state;
    struct col_writer *w = NULL;
    struct col_writer_config cfg = {4096, 64};
    struct load loads[SPREAD_THREADS];
    pthread_t threads[SPREAD_THREADS];
    pthread_barrier_t start;
    assert_int_equal(col_writer_create(f->st, &cfg, &w), PROTO_OK);
    assert_int_equal(pthread_barrier_init(&start, NULL, SPREAD_THREADS + 1), 0);
    for (int i = 0; i < SPREAD_THREADS; i++) {
        load_init(&loads[i], w, &start, i, SPREAD_PER_THREAD);
        loads[i].pause_max_us = SPREAD_PAUSE_US;
    }
    loads_start(loads, threads, SPREAD_THREADS);
    pthread_barrier_wait(&start);
    double t0 = now_seconds();
    int failures = 0;
    int submitted = loads_join(loads, threads, SPREAD_THREADS, &failures);
    double elapsed = now_seconds() - t0;
    pthread_barrier_destroy(&start);

    const int total = SPREAD_THREADS * SPREAD_PER_THREAD;
    uint64_t tx = col_writer_transactions(w);
    uint64_t combined = col_writer_combined(w);
    print_message("spread arrivals: %d reports in %.2f s, %llu transactions (%.1f reports each), "
                  "%llu ingested by their submitter\n",
                  total, elapsed, (unsigned long long)tx, (double)total / (double)tx,
                  (unsigned long long)combined);
    assert_int_equal(submitted, total);
    assert_int_equal(failures, 0);
    for (int i = 0; i < SPREAD_THREADS; i++) {
        assert_int_equal(loads[i].duplicates, 0);
    }
    assert_int_equal(reports_in(f->st), total);
    assert_int_equal(col_writer_jobs(w), total);
    /* Group commit still happens: at least four reports per transaction on average (about six
     * here; about three when each batch commits with what was queued when it began). */
    assert_true(tx > 0);
    assert_true(tx * 4 <= (uint64_t)total);
    /* Reports that arrive while the writer waits idle in its linger are ingested by their own
     * submitter (and stored: counted above like every other). */
    assert_true(combined > 0);
    assert_true(combined < (uint64_t)total);
    col_writer_destroy(w);
}

#define SMALL_BATCH 3
#define SMALL_PER_THREAD 60
/* Not a multiple of SMALL_BATCH: when a batch of 3 commits, 2 reports are left queued; the next
 * batch starts with those and lingers while the 3 just answered submit again, so it may take
 * only 1 of them. */
#define SMALL_THREADS 5

/* batch_max counts every report of the transaction, those taken while it lingers too. */
static void test_batch_max_holds_across_reports_taken_while_lingering(void **state)
{
    struct fx *f = *state;
    struct col_writer *w = NULL;
    struct col_writer_config cfg = {4096, SMALL_BATCH};
    struct load loads[SMALL_THREADS];
    pthread_t threads[SMALL_THREADS];
    pthread_barrier_t start;
    assert_int_equal(col_writer_create(f->st, &cfg, &w), PROTO_OK);
    assert_int_equal(pthread_barrier_init(&start, NULL, SMALL_THREADS + 1), 0);
    for (int i = 0; i < SMALL_THREADS; i++) {
        load_init(&loads[i], w, &start, i, SMALL_PER_THREAD);
    }
    loads_start(loads, threads, SMALL_THREADS);
    pthread_barrier_wait(&start);
    int failures = 0;
    int submitted = loads_join(loads, threads, SMALL_THREADS, &failures);
    pthread_barrier_destroy(&start);

    const int total = SMALL_THREADS * SMALL_PER_THREAD;
    uint64_t tx = col_writer_transactions(w);
    print_message("batch_max %d: %d reports, %llu transactions (%.2f reports each)\n", SMALL_BATCH,
                  total, (unsigned long long)tx, (double)total / (double)tx);
    assert_int_equal(submitted, total);
    assert_int_equal(failures, 0);
    assert_int_equal(reports_in(f->st), total);
    assert_int_equal(col_writer_jobs(w), total);
    assert_true(tx >= (uint64_t)(total + SMALL_BATCH - 1) / SMALL_BATCH);
    assert_true(tx < (uint64_t)total); /* and batches did hold more than one report */
    col_writer_destroy(w);
}

/* ---- other connections that want the write lock ------------------------------------------ */

#define STEADY_PER_THREAD 1000
#define OTHER_BUSY_TIMEOUT_MS 2000
/* Each is granted within a few ms here; a writer that ignores the announcement lets a few
 * through, most near the busy timeout, and the others time out (SQLITE_BUSY): the busy timeout
 * is the bound, and the first refusal ends the attempts. */
#define OTHER_ATTEMPTS 60
#define OTHER_PAUSE_MS 20

/* Under steady load the write lock is free only for moments between COMMIT and the next BEGIN;
 * a connection that announces itself (col_store_begin_other, as prune and the token calls do)
 * must still get it, well within its busy timeout. */
static void test_another_connection_gets_the_write_lock_under_steady_load(void **state)
{
    struct fx *f = *state;
    struct col_writer *w = NULL;
    struct col_writer_config cfg = {4096, 64};
    struct load loads[THREADS];
    pthread_t threads[THREADS];
    pthread_barrier_t start;
    atomic_bool stop = false;
    sqlite3 *other = NULL;
    assert_int_equal(sqlite3_open(f->db, &other), SQLITE_OK);
    assert_int_equal(sqlite3_busy_timeout(other, OTHER_BUSY_TIMEOUT_MS), SQLITE_OK);
    assert_int_equal(col_writer_create(f->st, &cfg, &w), PROTO_OK);
    assert_int_equal(pthread_barrier_init(&start, NULL, THREADS + 1), 0);
    for (int i = 0; i < THREADS; i++) {
        load_init(&loads[i], w, &start, i, STEADY_PER_THREAD);
        loads[i].stop = &stop;
    }
    loads_start(loads, threads, THREADS);
    pthread_barrier_wait(&start);

    /* No assert until the submitters are stopped: a failed one would leave them running. */
    uint64_t tx_before = col_writer_transactions(w);
    int attempts = 0;
    int granted = 0;
    int first_refusal = SQLITE_OK;
    double worst = 0.0;
    double total_wait = 0.0;
    while (attempts < OTHER_ATTEMPTS && first_refusal == SQLITE_OK) {
        double a = now_seconds();
        int rc = col_store_begin_other(f->st, other);
        double waited = now_seconds() - a;
        attempts++;
        total_wait += waited;
        worst = waited > worst ? waited : worst;
        if (rc == SQLITE_OK) {
            rc = sqlite3_exec(other, "COMMIT", NULL, NULL, NULL);
        }
        if (rc == SQLITE_OK) {
            granted++;
        } else if (first_refusal == SQLITE_OK) {
            first_refusal = rc;
        }
        if (!sqlite3_get_autocommit(other)) {
            sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
        }
        sleep_ms(OTHER_PAUSE_MS); /* pacing: the writer runs alone in between */
    }
    uint64_t tx_during = col_writer_transactions(w) - tx_before;
    atomic_store(&stop, true);
    int failures = 0;
    int submitted = loads_join(loads, threads, THREADS, &failures);
    pthread_barrier_destroy(&start);
    int duplicates = 0;
    for (int i = 0; i < THREADS; i++) {
        duplicates += loads[i].duplicates;
    }
    sqlite3_close(other);

    print_message("other connection under load: %d of %d BEGIN IMMEDIATE granted (first "
                  "refusal: %s), wait %.1f ms on average, %.1f ms at worst; the writer committed "
                  "%llu transactions, %d reports (%d duplicates) meanwhile\n",
                  granted, attempts,
                  first_refusal == SQLITE_OK ? "none" : sqlite3_errstr(first_refusal),
                  1000.0 * total_wait / (attempts > 0 ? attempts : 1), 1000.0 * worst,
                  (unsigned long long)tx_during, submitted, duplicates);
    assert_int_equal(first_refusal, SQLITE_OK);
    assert_int_equal(granted, OTHER_ATTEMPTS);
    /* The load was steady: the writer kept committing while the other connection came in. */
    assert_true(tx_during >= 50);
    assert_int_equal(failures, 0);
    assert_int_equal(reports_in(f->st), submitted - duplicates);
    assert_int_equal(col_writer_jobs(w), submitted);
    col_writer_destroy(w);
}

/* ---- a BEGIN that fails ------------------------------------------------------------------- */

/* Installed as the write connection's busy handler: the first time BEGIN finds the lock taken,
 * it waits until the next report is queued, releases the lock held by the other connection
 * and gives up (BEGIN fails with SQLITE_BUSY) with that report already waiting. */
struct failing_begin {
    struct col_writer *w;
    sqlite3 *lock;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool busy;       /* the writer's BEGIN has found the lock taken */
    bool saw_queued; /* the next report was queued before BEGIN gave up */
    int calls;
};

static int failing_begin_busy(void *arg, int tries)
{
    struct failing_begin *fb = arg;
    (void)tries;
    pthread_mutex_lock(&fb->mu);
    fb->calls++;
    bool first = fb->calls == 1;
    fb->busy = true;
    pthread_cond_signal(&fb->cv);
    pthread_mutex_unlock(&fb->mu);
    if (first) {
        bool queued = false;
        for (int i = 0; i < 100000 && !queued; i++) {
            queued = col_writer_queue_depth(fb->w) == 1;
            if (!queued) {
                struct timespec ts = {0, 50000L};
                nanosleep(&ts, NULL);
            }
        }
        fb->saw_queued = queued;
        sqlite3_exec(fb->lock, "ROLLBACK", NULL, NULL, NULL);
    }
    return 0;
}

/* A transaction that could not begin takes no more reports into its batch: the report that
 * arrived meanwhile gets a BEGIN of its own (which succeeds) instead of the failure. */
static void test_a_failed_begin_does_not_hold_reports_for_the_linger(void **state)
{
    struct fx *f = *state;
    struct col_writer *w = NULL;
    struct col_writer_config cfg = {16, 16};
    struct testutil_report m[5];
    struct submitter s[5];
    static const char *const hosts[5] = {"rras-a.corp.contoso.com", "rras-b.corp.contoso.com",
                                         "rras-c.corp.contoso.com", "rras-d.corp.contoso.com",
                                         "rras-e.corp.contoso.com"};
    for (int i = 0; i < 5; i++) {
        make_report(&m[i], "resolution1-single-cert", hosts[i], 1);
    }
    assert_int_equal(col_writer_create(f->st, &cfg, &w), PROTO_OK);

    /* First a batch of two (a alone, then b and c together), so the writer lingers next. */
    struct busy_watch bw;
    busy_watch_install(&bw, f);
    sqlite3 *lock = lock_db(f->db);
    start_submit(&s[0], w, &m[0]);
    busy_watch_wait(&bw, 1); /* the writer has taken a and waits for the lock */
    start_submit(&s[1], w, &m[1]);
    wait_depth(w, 1);
    start_submit(&s[2], w, &m[2]);
    wait_depth(w, 2);
    unlock_db(lock);
    for (int i = 0; i < 3; i++) {
        pthread_join(s[i].thread, NULL);
        assert_int_equal(s[i].rc, PROTO_OK);
    }
    assert_int_equal(col_writer_transactions(w), 2);
    busy_watch_remove(&bw, f);

    /* The writer is idle: its connection may be changed from this thread. */
    struct failing_begin fb = {.w = w};
    assert_int_equal(pthread_mutex_init(&fb.mu, NULL), 0);
    assert_int_equal(pthread_cond_init(&fb.cv, NULL), 0);
    fb.lock = lock_db(f->db);
    assert_int_equal(sqlite3_busy_handler(f->st->wdb, failing_begin_busy, &fb), SQLITE_OK);
    start_submit(&s[3], w, &m[3]);
    pthread_mutex_lock(&fb.mu);
    while (!fb.busy) {
        pthread_cond_wait(&fb.cv, &fb.mu);
    }
    pthread_mutex_unlock(&fb.mu);
    start_submit(&s[4], w, &m[4]);
    pthread_join(s[3].thread, NULL);
    pthread_join(s[4].thread, NULL);
    sqlite3_close(fb.lock);
    assert_int_equal(sqlite3_busy_timeout(f->st->wdb, COL_STORE_BUSY_TIMEOUT_MS), SQLITE_OK);

    assert_true(fb.saw_queued);
    assert_int_equal(fb.calls, 1); /* only d's BEGIN found the lock taken */
    assert_int_equal(s[3].rc, PROTO_EUNAVAILABLE);
    assert_int_equal(s[4].rc, PROTO_OK);
    assert_int_equal(reports_in(f->st), 4);
    assert_int_equal(col_writer_transactions(w), 3);
    assert_int_equal(col_writer_jobs(w), 5);
    col_writer_destroy(w);
    pthread_cond_destroy(&fb.cv);
    pthread_mutex_destroy(&fb.mu);
    for (int i = 0; i < 5; i++) {
        testutil_report_free(&m[i]);
    }
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
        T(test_async_submissions_are_notified_on_the_writer_thread_after_commit),
        T(test_reports_arriving_while_a_batch_is_open_join_it),
        T(test_batch_max_holds_across_reports_taken_while_lingering),
        T(test_another_connection_gets_the_write_lock_under_steady_load),
        T(test_a_failed_begin_does_not_hold_reports_for_the_linger),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
