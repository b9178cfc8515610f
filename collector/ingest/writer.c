/*
 * writer: the thread that commits reports in batches, and the one module that writes (writer.h).
 *
 * Owns the job queue (a linked list of jobs on the heap, bounded by queue_max; the writer
 * notifies and frees each when its batch has ended: col_writer_submit is a wait for that) and
 * the thread. The thread opens one BEGIN IMMEDIATE transaction, ingests each
 * queued job under its own savepoint, and while reports keep arriving (the linger below) goes
 * on ingesting them into the same transaction, up to batch_max; it then commits once (one
 * fsync for the batch: group commit) and only then notifies each submitter of its own result.
 * While the writer waits idle in that linger, a submitter ingests its own report into the open
 * transaction itself (on the writer's connection, which is idle then; `combining` hands it
 * back) instead of waking the writer for it: every store call goes through writer_conn, which
 * checks that the caller is the connection's one holder (writer.h states the rule). A job
 * that fails alone does not fail the batch; a failed COMMIT fails every job of it; if SQLite
 * itself rolled the transaction back mid-batch, the jobs already ingested in it fail too and
 * the rest go on in a new transaction. Destroy stops new submissions and drains the queue.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include "writer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "clock.h"
#include "facts.h"
#include "log.h"
#include "writer_int.h"

struct writer_job {
    const struct col_ingest *in;
    /* When the submitter brought no facts: `in` points at own_in, whose facts are own_facts,
     * computed on the submitter's thread (the store requires them). */
    struct col_ingest own_in;
    struct col_ingest_facts own_facts;
    bool owns_facts;
    bool duplicate;
    enum proto_rc result;
    /* Called once the job's batch has ended; then the writer frees the job. */
    col_writer_notify_fn notify;
    void *notify_ctx;
    struct writer_job *next;
};

/* Group commit under load: when the previous batch held more than one report, the writer waits
 * for the queue to fill before it commits, so one fsync serves more reports: as long as reports
 * keep arriving less than WRITER_LINGER_GAP_NS apart, and not past WRITER_LINGER_MS after BEGIN.
 * Once the arrivals pause (every request in flight is queued) waiting longer gains nothing.
 * An idle collector (batches of one) commits at once and pays no extra latency. The limit is a
 * decision on the collector's clock (clock.h), which counts whole milliseconds, so it falls 1 to
 * 2 ms after BEGIN; the gap is a wait of real time, shorter than the clock's resolution. */
#define WRITER_LINGER_MS 2u
#define WRITER_LINGER_GAP_NS 250000L
/* At most 500 x 0.5 ms = 250 ms without a transaction while another connection wants the lock. */
#define WRITER_YIELD_POLLS 500
#define WRITER_YIELD_POLL_NS 500000L

struct writer_batch;
struct writer_hold;

struct col_writer {
    struct col_store *st; /* its write connection only through writer_conn */
    size_t queue_max;
    size_t batch_max;

    pthread_mutex_t mu;
    pthread_cond_t work;
    pthread_cond_t idle; /* destroy waits here until every job taken was notified */
    size_t inside;       /* jobs taken but not yet notified */
    struct writer_job *head;
    struct writer_job *tail;
    size_t depth;
    bool stopping;
    uint64_t transactions;
    uint64_t jobs;
    size_t last_batch; /* reports in the previous batch */
    /* While the writer lingers idle with a transaction open, a submitter ingests its own report
     * into it (on its own thread, the writer's connection being idle) instead of waking the
     * writer: open_batch is that batch, combining says a submitter is at it right now. */
    struct writer_batch *open_batch;
    bool combining;
    uint64_t arrivals;       /* reports ingested by submitters into open_batch */
    uint64_t combined_jobs;  /* all of them, since start (col_writer_combined) */
    pthread_cond_t combined; /* signalled when a submitter stops combining */
    /* Who may use the store's write connection right now (writer_conn): set and cleared at each
     * handover, which the mutex protocol above orders; NULL while nobody does. */
    _Atomic(const struct writer_hold *) holder;

    pthread_t thread;
    bool thread_started;
};

/*
 * The write connection's holder: the writer thread for its batch (lent while it lingers idle) or
 * a submitter while `combining`. Each keeps one on its stack, publishes it in w->holder when the
 * protocol gives it the connection and withdraws it when it hands the connection back. Every
 * call on the write connection (begin, ingest, in_transaction, rollback, commit) takes the store
 * from writer_conn(hold), which checks that `hold` is the one published (only
 * col_store_other_writer_waiting, an atomic counter for any thread, is called on w->st): a broken
 * handover would let two threads share one SQLite connection's transaction, so it stops the process
 * rather than corrupt a batch.
 */
struct writer_hold {
    struct col_writer *w;
};

static void writer_protocol_broken(const char *what)
{
    col_log(COL_LOG_ERROR, "writer: %s: the write connection's protocol is broken", what);
    abort();
}

static void writer_conn_acquire(const struct writer_hold *h)
{
    const struct writer_hold *none = NULL;
    if (!atomic_compare_exchange_strong(&h->w->holder, &none, h)) {
        writer_protocol_broken("acquired while held");
    }
}

static void writer_conn_release(const struct writer_hold *h)
{
    const struct writer_hold *mine = h;
    if (!atomic_compare_exchange_strong(&h->w->holder, &mine, NULL)) {
        writer_protocol_broken("released by a thread that did not hold it");
    }
}

/* The only way to the write connection (writer.h's rule). */
static struct col_store *writer_conn(const struct writer_hold *h)
{
    if (atomic_load_explicit(&h->w->holder, memory_order_relaxed) != h) {
        writer_protocol_broken("used without holding it");
    }
    return h->w->st;
}

/* Fails every job from `from` up to (not including) `to` that had succeeded. */
static void writer_fail_range(struct writer_job *from, struct writer_job *to, enum proto_rc rc)
{
    for (struct writer_job *j = from; j != to; j = j->next) {
        if (j->result == PROTO_OK) {
            j->result = rc;
            j->duplicate = false;
        }
    }
}

/* The transaction being filled: the jobs ingested in it so far, in queue order. */
struct writer_batch {
    struct writer_job *first;
    struct writer_job *last;
    struct writer_job *tx_first; /* first job of the open transaction (NULL: none yet) */
    size_t count;
    enum proto_rc result; /* not OK: no transaction is open, and later jobs fail with this */
};

static void writer_batch_start(const struct writer_hold *h, struct writer_batch *b)
{
    memset(b, 0, sizeof(*b));
    b->result = col_store_begin(writer_conn(h));
}

/* Ingests one job into the open transaction under its own savepoint (by the writer thread, or
 * by a submitter while `combining`: whoever holds the connection). */
static void writer_batch_ingest(const struct writer_hold *h, struct writer_batch *b,
                                struct writer_job *j)
{
    j->next = NULL;
    if (b->last != NULL) {
        b->last->next = j;
    } else {
        b->first = j;
    }
    b->last = j;
    b->count++;
    if (b->result) {
        j->result = b->result;
        return;
    }
    if (b->tx_first == NULL) {
        b->tx_first = j;
    }
    j->result = col_store_ingest(writer_conn(h), j->in, &j->duplicate);
    if (j->result && !col_store_in_transaction(writer_conn(h))) {
        /* SQLite ended the transaction on its own (I/O error, disk full, out of memory): what
         * this batch ingested before is gone. Start over for the jobs after it. */
        writer_fail_range(b->tx_first, j, j->result);
        col_store_rollback(writer_conn(h));
        b->tx_first = NULL;
        b->result = col_store_begin(writer_conn(h));
    }
}

/* Returns true when the transaction committed; otherwise its jobs carry the failure. */
static bool writer_batch_commit(const struct writer_hold *h, struct writer_batch *b)
{
    if (b->result) {
        return false;
    }
    enum proto_rc result = col_store_commit(writer_conn(h));
    if (result) {
        writer_fail_range(b->tx_first, NULL, result);
        return false;
    }
    return true;
}

/* Another connection waits for the write lock: leave it free for a moment (bounded) before the
 * next BEGIN, so that its busy handler, which sleeps between tries, finds it free. */
static void writer_yield(struct col_writer *w)
{
    for (int i = 0; i < WRITER_YIELD_POLLS && col_store_other_writer_waiting(w->st); i++) {
        pthread_mutex_lock(&w->mu);
        bool stopping = w->stopping;
        pthread_mutex_unlock(&w->mu);
        if (stopping) {
            return; /* drain without pausing */
        }
        struct timespec pause = {0, WRITER_YIELD_POLL_NS};
        nanosleep(&pause, NULL);
    }
}

/* Takes up to `room` jobs off the queue, in order (w->mu held). */
static struct writer_job *writer_take(struct col_writer *w, size_t room)
{
    struct writer_job *first = w->head;
    if (first == NULL || room == 0) {
        return NULL;
    }
    struct writer_job *last = first;
    size_t n = 1;
    while (n < room && last->next != NULL) {
        last = last->next;
        n++;
    }
    w->head = last->next;
    if (w->head == NULL) {
        w->tail = NULL;
    }
    last->next = NULL;
    w->depth -= n;
    return first;
}

/* Whether to keep the transaction open for more reports (w->mu held; may wait on it). Never
 * past the limit (`until_ms`, on the collector's clock), never while another connection waits
 * for the write lock, and not when the transaction could not begin: the next batch tries BEGIN
 * again. While it waits idle, the writer lends its connection (`h`) to submitters. */
static bool writer_linger(struct col_writer *w, const struct writer_hold *h, struct writer_batch *b,
                          uint64_t until_ms)
{
    if (b->result || b->count >= w->batch_max || w->stopping ||
        col_store_other_writer_waiting(w->st) || col_clock_monotonic_ms() >= until_ms) {
        return false;
    }
    if (w->head != NULL) {
        return true; /* arrived while the batch was being ingested */
    }
    struct timespec gap = col_clock_system_deadline_ns(WRITER_LINGER_GAP_NS);
    uint64_t arrivals = w->arrivals;
    /* Submitters may ingest into the open batch while we wait (writer_enqueue). */
    writer_conn_release(h);
    w->open_batch = b;
    while (w->head == NULL && !w->stopping) {
        if (pthread_cond_timedwait(&w->work, &w->mu, &gap) != 0) {
            break; /* a whole gap without an arrival */
        }
    }
    while (w->combining) {
        pthread_cond_wait(&w->combined, &w->mu);
    }
    w->open_batch = NULL;
    writer_conn_acquire(h);
    bool more = w->head != NULL || w->arrivals != arrivals;
    return more && !w->stopping && !col_store_other_writer_waiting(w->st);
}

/* A submission is over (w->mu held): destroy may go on once none is left. */
static void writer_leave(struct col_writer *w)
{
    w->inside--;
    if (w->inside == 0 && w->stopping) {
        pthread_cond_signal(&w->idle);
    }
}

/* Hands an asynchronous job's outcome to its submitter and frees the job. */
static void writer_notify(struct col_writer *w, struct writer_job *j)
{
    j->notify(j->notify_ctx, j->result, j->duplicate);
    if (j->owns_facts) {
        col_ingest_facts_release(&j->own_facts);
    }
    proto_free(j);
    pthread_mutex_lock(&w->mu);
    writer_leave(w);
    pthread_mutex_unlock(&w->mu);
}

static void *writer_main(void *arg)
{
    (void)pthread_setname_np(pthread_self(), "rras-writer"); /* top -H, perf, gdb */
    struct col_writer *w = arg;
    const struct writer_hold hold = {w};
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->head == NULL && !w->stopping) {
            pthread_cond_wait(&w->work, &w->mu);
        }
        if (w->head == NULL) {
            break; /* stopping and drained */
        }
        bool linger = w->last_batch > 1 && !w->stopping;
        /* Taken before BEGIN, which may wait for the lock: the queue has room meanwhile. */
        struct writer_job *jobs = writer_take(w, w->batch_max);
        pthread_mutex_unlock(&w->mu);

        struct writer_batch batch;
        writer_yield(w);
        writer_conn_acquire(&hold);
        writer_batch_start(&hold, &batch);
        /* The linger's clock starts once the transaction is open. */
        uint64_t linger_until_ms = col_clock_monotonic_ms() + WRITER_LINGER_MS;
        /* Reports are ingested as they arrive, so when the batch closes only COMMIT is left. */
        for (;;) {
            for (struct writer_job *j = jobs, *next = NULL; j != NULL; j = next) {
                next = j->next;
                writer_batch_ingest(&hold, &batch, j);
            }
            pthread_mutex_lock(&w->mu);
            if (!linger || !writer_linger(w, &hold, &batch, linger_until_ms)) {
                break;
            }
            jobs = writer_take(w, w->batch_max - batch.count);
            pthread_mutex_unlock(&w->mu);
        }
        w->last_batch = batch.count;
        pthread_mutex_unlock(&w->mu);

        bool committed = writer_batch_commit(&hold, &batch);
        writer_conn_release(&hold);

        /* The counters first, so a submitter that returns sees its batch counted. */
        pthread_mutex_lock(&w->mu);
        if (committed) {
            w->transactions++;
        }
        w->jobs += batch.count;
        pthread_mutex_unlock(&w->mu);
        /* Read `next` first: the notified job is freed. */
        for (struct writer_job *j = batch.first, *next = NULL; j != NULL; j = next) {
            next = j->next;
            writer_notify(w, j);
        }
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

enum proto_rc col_writer_create(struct col_store *st, const struct col_writer_config *cfg,
                                struct col_writer **out)
{
    if (st == NULL || cfg == NULL || out == NULL || cfg->queue_max == 0 || cfg->batch_max == 0) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    struct col_writer *w = proto_calloc(1, sizeof(*w));
    if (w == NULL) {
        return PROTO_ENOMEM;
    }
    w->st = st;
    w->queue_max = cfg->queue_max;
    w->batch_max = cfg->batch_max;
    atomic_init(&w->holder, NULL);
    if (pthread_mutex_init(&w->mu, NULL) != 0) {
        proto_free(w);
        return PROTO_ENOMEM;
    }
    /* The linger's deadlines are on the monotonic clock: a step of the wall clock must not
     * hold a batch (and every agent waiting in it) for as long as the step. */
    pthread_condattr_t attr;
    bool work_ok = pthread_condattr_init(&attr) == 0;
    if (work_ok) {
        work_ok = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
                  pthread_cond_init(&w->work, &attr) == 0;
        pthread_condattr_destroy(&attr);
    }
    if (!work_ok) {
        pthread_mutex_destroy(&w->mu);
        proto_free(w);
        return PROTO_ENOMEM;
    }
    if (pthread_cond_init(&w->idle, NULL) != 0) {
        pthread_cond_destroy(&w->work);
        pthread_mutex_destroy(&w->mu);
        proto_free(w);
        return PROTO_ENOMEM;
    }
    if (pthread_cond_init(&w->combined, NULL) != 0) {
        pthread_cond_destroy(&w->idle);
        pthread_cond_destroy(&w->work);
        pthread_mutex_destroy(&w->mu);
        proto_free(w);
        return PROTO_ENOMEM;
    }
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        pthread_cond_destroy(&w->combined);
        pthread_cond_destroy(&w->idle);
        pthread_cond_destroy(&w->work);
        pthread_mutex_destroy(&w->mu);
        proto_free(w);
        return PROTO_ENOMEM;
    }
    w->thread_started = true;
    *out = w;
    return PROTO_OK;
}

void col_writer_destroy(struct col_writer *w)
{
    if (w == NULL) {
        return;
    }
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
    if (w->thread_started) {
        pthread_join(w->thread, NULL);
    }
    /* A submitter woken by the last batch still has to take the mutex once more to leave. */
    pthread_mutex_lock(&w->mu);
    while (w->inside > 0) {
        pthread_cond_wait(&w->idle, &w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    pthread_cond_destroy(&w->combined);
    pthread_cond_destroy(&w->idle);
    pthread_cond_destroy(&w->work);
    pthread_mutex_destroy(&w->mu);
    proto_free(w);
}

/*
 * Puts a job into the writer's hands (w->mu held, w->inside already counted): ingested right
 * here into the batch the writer keeps open while it lingers idle, else queued. True when the
 * job was taken (its outcome comes when its batch ends); false with the reason otherwise.
 */
static bool writer_enqueue(struct col_writer *w, struct writer_job *job, enum proto_rc *refused)
{
    if (w->stopping) {
        *refused = PROTO_EUNAVAILABLE;
        return false;
    }
    if (w->open_batch != NULL && !w->combining && w->head == NULL &&
        w->open_batch->count < w->batch_max && w->open_batch->result == PROTO_OK) {
        /* The writer lingers idle with a transaction open and has lent its connection: ingest
         * this report into it here, on this thread, instead of waking the writer to do it (one
         * wake-up and context switch less per report, writer.h). The writer waits for
         * `combining` to clear before it takes its connection back. */
        struct writer_batch *b = w->open_batch;
        const struct writer_hold hold = {w};
        w->combining = true;
        writer_conn_acquire(&hold);
        pthread_mutex_unlock(&w->mu);
        writer_batch_ingest(&hold, b, job);
        pthread_mutex_lock(&w->mu);
        writer_conn_release(&hold);
        w->combining = false;
        w->arrivals++;
        w->combined_jobs++;
        pthread_cond_signal(&w->combined);
        return true;
    }
    if (w->depth >= w->queue_max) {
        *refused = PROTO_ELIMIT;
        return false;
    }
    if (w->tail != NULL) {
        w->tail->next = job;
    } else {
        w->head = job;
    }
    w->tail = job;
    w->depth++;
    pthread_cond_signal(&w->work);
    return true;
}

/* The blocking form waits on its own mutex and condition variable for the notification. */
struct writer_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    enum proto_rc result;
    bool duplicate;
};

static void writer_wait_notify(void *ctx, enum proto_rc result, bool duplicate)
{
    struct writer_wait *wt = ctx;
    pthread_mutex_lock(&wt->mu);
    wt->result = result;
    wt->duplicate = duplicate;
    wt->done = true;
    pthread_cond_signal(&wt->cv);
    pthread_mutex_unlock(&wt->mu);
}

enum proto_rc col_writer_submit(struct col_writer *w, const struct col_ingest *in, bool *duplicate)
{
    if (w == NULL || in == NULL || duplicate == NULL) {
        return PROTO_EINVAL;
    }
    *duplicate = false;
    struct writer_wait wt = {.done = false, .result = PROTO_OK};
    if (pthread_mutex_init(&wt.mu, NULL) != 0) {
        return PROTO_ENOMEM;
    }
    if (pthread_cond_init(&wt.cv, NULL) != 0) {
        pthread_mutex_destroy(&wt.mu);
        return PROTO_ENOMEM;
    }
    enum proto_rc result = col_writer_submit_async(w, in, writer_wait_notify, &wt);
    if (result == PROTO_OK) {
        pthread_mutex_lock(&wt.mu);
        while (!wt.done) {
            pthread_cond_wait(&wt.cv, &wt.mu);
        }
        pthread_mutex_unlock(&wt.mu);
        result = wt.result;
        *duplicate = wt.duplicate;
    }
    pthread_cond_destroy(&wt.cv);
    pthread_mutex_destroy(&wt.mu);
    return result;
}

enum proto_rc col_writer_submit_async(struct col_writer *w, const struct col_ingest *in,
                                      col_writer_notify_fn notify, void *ctx)
{
    if (w == NULL || in == NULL || notify == NULL) {
        return PROTO_EINVAL;
    }
    struct writer_job *job = proto_calloc(1, sizeof(*job));
    if (job == NULL) {
        return PROTO_ENOMEM;
    }
    job->in = in;
    if (in->facts == NULL) {
        enum proto_rc result = col_ingest_facts_compute(in, &job->own_facts);
        if (result != PROTO_OK) {
            proto_free(job);
            return result;
        }
        job->own_in = *in;
        job->own_in.facts = &job->own_facts;
        job->in = &job->own_in;
        job->owns_facts = true;
    }
    job->notify = notify;
    job->notify_ctx = ctx;
    enum proto_rc refused = PROTO_OK;
    pthread_mutex_lock(&w->mu);
    w->inside++; /* until the writer has notified (writer_notify) */
    bool queued = writer_enqueue(w, job, &refused);
    if (!queued) {
        writer_leave(w);
    }
    pthread_mutex_unlock(&w->mu);
    if (!queued) {
        if (job->owns_facts) {
            col_ingest_facts_release(&job->own_facts);
        }
        proto_free(job);
        return refused;
    }
    return PROTO_OK;
}

size_t col_writer_queue_depth(struct col_writer *w)
{
    if (w == NULL) {
        return 0;
    }
    pthread_mutex_lock(&w->mu);
    size_t depth = w->depth;
    pthread_mutex_unlock(&w->mu);
    return depth;
}

uint64_t col_writer_transactions(struct col_writer *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t n = w->transactions;
    pthread_mutex_unlock(&w->mu);
    return n;
}

uint64_t col_writer_jobs(struct col_writer *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t n = w->jobs;
    pthread_mutex_unlock(&w->mu);
    return n;
}

uint64_t col_writer_combined(struct col_writer *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t n = w->combined_jobs;
    pthread_mutex_unlock(&w->mu);
    return n;
}

bool col_writer_stopping(struct col_writer *w)
{
    pthread_mutex_lock(&w->mu);
    bool stopping = w->stopping;
    pthread_mutex_unlock(&w->mu);
    return stopping;
}
