/*
 * metrics: lock-free counters, two gauges and the ingest latency histogram, rendered in the
 * Prometheus text exposition format (version 0.0.4) for GET /metrics.
 *
 * Owns only its counters. Every update is a relaxed atomic add, so connection threads and the
 * writer thread never contend on a lock; render reads each value once and may mix values from
 * slightly different instants, which Prometheus tolerates. Every function accepts a NULL
 * metrics pointer (tests and tools that do not collect metrics).
 */
#include "metrics.h"

#include <stdatomic.h>

#include "alloc.h"

/* Upper bounds in seconds; an implicit +Inf bucket follows. Ingest waits for an fsync. */
static const double col_metrics_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                            0.25,  0.5,    1.0,   2.5,  5.0,   10.0};
#define COL_METRICS_BUCKETS (sizeof(col_metrics_bounds) / sizeof(col_metrics_bounds[0]) + 1)

static const char *const col_metrics_reasons[COL_REJECT_REASON_COUNT] = {
    "bad_request", "invalid_report", "forbidden", "too_large", "busy", "internal"};

struct col_metrics {
    _Atomic uint64_t accepted_new;
    _Atomic uint64_t accepted_duplicate;
    _Atomic uint64_t snapshot_decoded; /* accepted reports whose snapshot was decoded */
    _Atomic uint64_t snapshot_known;   /* ... and whose snapshot bytes were known (decision 005) */
    _Atomic uint64_t rejected[COL_REJECT_REASON_COUNT];
    _Atomic uint64_t ingest_bucket[COL_METRICS_BUCKETS]; /* per bucket, not cumulative */
    _Atomic uint64_t ingest_sum_us;
    _Atomic uint64_t handshakes_full;
    _Atomic uint64_t handshakes_resumed;
    _Atomic uint64_t handshakes_failed;
    _Atomic int64_t connections_open;
    _Atomic uint64_t connections_total;
    _Atomic uint64_t connections_refused;
    _Atomic uint64_t threads_started; /* connection threads created */
    _Atomic uint64_t threads_pooled;  /* connections given to an idle pooled thread */
    _Atomic uint64_t wal_checkpoints;
    _Atomic uint64_t wal_pages;
    _Atomic uint64_t requests_event;      /* answered on the event thread */
    _Atomic uint64_t requests_connection; /* answered on a connection thread */
    _Atomic uint64_t store_errors[COL_STORE_ERROR_KIND_COUNT];
};

static const char *const col_metrics_store_kinds[COL_STORE_ERROR_KIND_COUNT] = {"full", "io",
                                                                                "corrupt"};

static void col_metrics_add(_Atomic uint64_t *counter, uint64_t n)
{
    atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

static uint64_t col_metrics_get(_Atomic uint64_t *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

struct col_metrics *col_metrics_create(void)
{
    struct col_metrics *m = proto_calloc(1, sizeof(*m));
    if (m == NULL) {
        return NULL;
    }
    atomic_init(&m->accepted_new, 0);
    atomic_init(&m->accepted_duplicate, 0);
    atomic_init(&m->snapshot_decoded, 0);
    atomic_init(&m->snapshot_known, 0);
    for (size_t k = 0; k < COL_REJECT_REASON_COUNT; k++) {
        atomic_init(&m->rejected[k], 0);
    }
    for (size_t k = 0; k < COL_METRICS_BUCKETS; k++) {
        atomic_init(&m->ingest_bucket[k], 0);
    }
    atomic_init(&m->ingest_sum_us, 0);
    atomic_init(&m->handshakes_full, 0);
    atomic_init(&m->handshakes_resumed, 0);
    atomic_init(&m->handshakes_failed, 0);
    atomic_init(&m->connections_open, 0);
    atomic_init(&m->connections_total, 0);
    atomic_init(&m->connections_refused, 0);
    atomic_init(&m->threads_started, 0);
    atomic_init(&m->threads_pooled, 0);
    atomic_init(&m->wal_checkpoints, 0);
    atomic_init(&m->wal_pages, 0);
    return m;
}

void col_metrics_destroy(struct col_metrics *m)
{
    proto_free(m);
}

void col_metrics_report_accepted(struct col_metrics *m, int duplicate, double ingest_seconds)
{
    if (m == NULL) {
        return;
    }
    col_metrics_add(duplicate ? &m->accepted_duplicate : &m->accepted_new, 1);
    if (!(ingest_seconds > 0.0)) { /* negative or NaN: a clock step; count it as instant */
        ingest_seconds = 0.0;
    }
    size_t k = 0;
    while (k + 1 < COL_METRICS_BUCKETS && ingest_seconds > col_metrics_bounds[k]) {
        k++;
    }
    col_metrics_add(&m->ingest_bucket[k], 1);
    double us = ingest_seconds * 1e6;
    col_metrics_add(&m->ingest_sum_us, us >= 1.8e19 ? (uint64_t)1.8e19 : (uint64_t)(us + 0.5));
}

void col_metrics_snapshot_reused(struct col_metrics *m, bool known)
{
    if (m != NULL) {
        col_metrics_add(known ? &m->snapshot_known : &m->snapshot_decoded, 1);
    }
}

void col_metrics_report_rejected(struct col_metrics *m, enum col_reject_reason reason)
{
    if (m == NULL || (int)reason < 0 || reason >= COL_REJECT_REASON_COUNT) {
        return;
    }
    col_metrics_add(&m->rejected[reason], 1);
}

void col_metrics_handshake(struct col_metrics *m, int ok, int resumed)
{
    if (m == NULL) {
        return;
    }
    if (!ok) {
        col_metrics_add(&m->handshakes_failed, 1);
    } else if (resumed) {
        col_metrics_add(&m->handshakes_resumed, 1);
    } else {
        col_metrics_add(&m->handshakes_full, 1);
    }
}

void col_metrics_connection(struct col_metrics *m, int delta)
{
    if (m == NULL) {
        return;
    }
    atomic_fetch_add_explicit(&m->connections_open, (int64_t)delta, memory_order_relaxed);
    if (delta > 0) {
        col_metrics_add(&m->connections_total, (uint64_t)delta);
    }
}

void col_metrics_connection_refused(struct col_metrics *m)
{
    if (m == NULL) {
        return;
    }
    col_metrics_add(&m->connections_refused, 1);
}

void col_metrics_connection_thread(struct col_metrics *m, bool pooled)
{
    if (m != NULL) {
        col_metrics_add(pooled ? &m->threads_pooled : &m->threads_started, 1);
    }
}

void col_metrics_request_served(struct col_metrics *m, bool event_thread)
{
    if (m != NULL) {
        col_metrics_add(event_thread ? &m->requests_event : &m->requests_connection, 1);
    }
}

void col_metrics_wal_checkpoint(struct col_metrics *m)
{
    if (m == NULL) {
        return;
    }
    col_metrics_add(&m->wal_checkpoints, 1);
}

void col_metrics_wal_pages(struct col_metrics *m, uint64_t pages)
{
    if (m == NULL) {
        return;
    }
    atomic_store_explicit(&m->wal_pages, pages, memory_order_relaxed);
}

static enum proto_rc col_metrics_header(struct proto_buf *out, const char *name, const char *type,
                                        const char *help)
{
    return proto_buf_appendf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static enum proto_rc col_metrics_render_reports(struct col_metrics *m, struct proto_buf *out)
{
    enum proto_rc result =
        col_metrics_header(out, "rrasfleet_reports_accepted_total", "counter",
                           "Reports acknowledged (202 new, 200 duplicate report_id) after commit.");
    if (result == PROTO_OK) {
        result = proto_buf_appendf(out,
                                   "rrasfleet_reports_accepted_total{duplicate=\"false\"} %llu\n"
                                   "rrasfleet_reports_accepted_total{duplicate=\"true\"} %llu\n",
                                   (unsigned long long)col_metrics_get(&m->accepted_new),
                                   (unsigned long long)col_metrics_get(&m->accepted_duplicate));
    }
    if (result == PROTO_OK) {
        result = col_metrics_header(
            out, "rrasfleet_report_snapshots_total", "counter",
            "Accepted reports by how their snapshot was read: decoded in full, or known by its "
            "SHA-256 from an earlier report so only the envelope was decoded.");
    }
    if (result == PROTO_OK) {
        result = proto_buf_appendf(out,
                                   "rrasfleet_report_snapshots_total{path=\"decoded\"} %llu\n"
                                   "rrasfleet_report_snapshots_total{path=\"known\"} %llu\n",
                                   (unsigned long long)col_metrics_get(&m->snapshot_decoded),
                                   (unsigned long long)col_metrics_get(&m->snapshot_known));
    }
    if (result == PROTO_OK) {
        result = col_metrics_header(out, "rrasfleet_reports_rejected_total", "counter",
                                    "Reports refused, by reason.");
    }
    for (size_t k = 0; result == PROTO_OK && k < COL_REJECT_REASON_COUNT; k++) {
        result = proto_buf_appendf(out, "rrasfleet_reports_rejected_total{reason=\"%s\"} %llu\n",
                                   col_metrics_reasons[k],
                                   (unsigned long long)col_metrics_get(&m->rejected[k]));
    }
    if (result == PROTO_OK) {
        result = col_metrics_header(out, "rrasfleet_ingest_seconds", "histogram",
                                    "Time from a report's arrival to its committed answer.");
    }
    uint64_t cumulative = 0;
    for (size_t k = 0; result == PROTO_OK && k < COL_METRICS_BUCKETS; k++) {
        cumulative += col_metrics_get(&m->ingest_bucket[k]);
        if (k + 1 < COL_METRICS_BUCKETS) {
            result = proto_buf_appendf(out, "rrasfleet_ingest_seconds_bucket{le=\"%g\"} %llu\n",
                                       col_metrics_bounds[k], (unsigned long long)cumulative);
        } else {
            result = proto_buf_appendf(out, "rrasfleet_ingest_seconds_bucket{le=\"+Inf\"} %llu\n",
                                       (unsigned long long)cumulative);
        }
    }
    if (result == PROTO_OK) {
        result = proto_buf_appendf(out,
                                   "rrasfleet_ingest_seconds_sum %.6f\n"
                                   "rrasfleet_ingest_seconds_count %llu\n",
                                   (double)col_metrics_get(&m->ingest_sum_us) / 1e6,
                                   (unsigned long long)cumulative);
    }
    return result;
}

static enum proto_rc col_metrics_render_transport(struct col_metrics *m, struct proto_buf *out)
{
    enum proto_rc result =
        col_metrics_header(out, "rrasfleet_tls_handshakes_total", "counter",
                           "TLS handshakes: full, resumed (session ticket or cache) and failed.");
    if (result == PROTO_OK) {
        result = proto_buf_appendf(out,
                                   "rrasfleet_tls_handshakes_total{result=\"full\"} %llu\n"
                                   "rrasfleet_tls_handshakes_total{result=\"resumed\"} %llu\n"
                                   "rrasfleet_tls_handshakes_total{result=\"failed\"} %llu\n",
                                   (unsigned long long)col_metrics_get(&m->handshakes_full),
                                   (unsigned long long)col_metrics_get(&m->handshakes_resumed),
                                   (unsigned long long)col_metrics_get(&m->handshakes_failed));
    }
    if (result == PROTO_OK) {
        result = col_metrics_header(
            out, "rrasfleet_tls_ticket_key_save_failures_total", "counter",
            "Failed saves of rotated session-ticket keys (decision 007): while it grows, a restart "
            "would cost every agent a full handshake.");
    }
    if (result == PROTO_OK) {
        result = proto_buf_appendf(out, "rrasfleet_tls_ticket_key_save_failures_total %llu\n",
                                   (unsigned long long)col_metrics_ticket_key_save_failures());
    }
    if (result == PROTO_OK) {
        result = col_metrics_header(out, "rrasfleet_connections_open", "gauge",
                                    "Connections currently open.");
    }
    if (result == PROTO_OK) {
        result = proto_buf_appendf(
            out, "rrasfleet_connections_open %lld\n",
            (long long)atomic_load_explicit(&m->connections_open, memory_order_relaxed));
    }
    if (result == PROTO_OK) {
        result = col_metrics_header(out, "rrasfleet_connections_total", "counter",
                                    "Connections accepted and served.");
    }
    if (result == PROTO_OK) {
        result = proto_buf_appendf(out, "rrasfleet_connections_total %llu\n",
                                   (unsigned long long)col_metrics_get(&m->connections_total));
    }
    if (result == PROTO_OK) {
        result =
            col_metrics_header(out, "rrasfleet_connections_refused_total", "counter",
                               "Connections closed at once because max_connections were open.");
    }
    if (result == PROTO_OK) {
        result = proto_buf_appendf(out, "rrasfleet_connections_refused_total %llu\n",
                                   (unsigned long long)col_metrics_get(&m->connections_refused));
    }
    if (result == PROTO_OK) {
        result = col_metrics_header(
            out, "rrasfleet_connection_threads_total", "counter",
            "Connections by the thread that took them: a new thread, or an idle pooled one.");
    }
    if (result == PROTO_OK) {
        result = proto_buf_appendf(out,
                                   "rrasfleet_connection_threads_total{thread=\"new\"} %llu\n"
                                   "rrasfleet_connection_threads_total{thread=\"pooled\"} %llu\n",
                                   (unsigned long long)col_metrics_get(&m->threads_started),
                                   (unsigned long long)col_metrics_get(&m->threads_pooled));
    }
    if (result == PROTO_OK) {
        result = col_metrics_header(out, "rrasfleet_http_requests_total", "counter",
                                    "Requests answered, by the thread that answered them: the "
                                    "event thread (keep-alive reports) or a connection thread.");
    }
    if (result == PROTO_OK) {
        result = proto_buf_appendf(out,
                                   "rrasfleet_http_requests_total{thread=\"event\"} %llu\n"
                                   "rrasfleet_http_requests_total{thread=\"connection\"} %llu\n",
                                   (unsigned long long)col_metrics_get(&m->requests_event),
                                   (unsigned long long)col_metrics_get(&m->requests_connection));
    }
    return result;
}

static atomic_uint_fast64_t metrics_ticket_key_save_failures;

void col_metrics_ticket_key_save_failed(void)
{
    atomic_fetch_add(&metrics_ticket_key_save_failures, 1);
}

uint64_t col_metrics_ticket_key_save_failures(void)
{
    return (uint64_t)atomic_load(&metrics_ticket_key_save_failures);
}

void col_metrics_store_write_error(struct col_metrics *m, enum col_store_error_kind kind)
{
    if (m != NULL && kind < COL_STORE_ERROR_KIND_COUNT) {
        col_metrics_add(&m->store_errors[kind], 1);
    }
}

static enum proto_rc col_metrics_render_store(struct col_metrics *m, struct proto_buf *out)
{
    enum proto_rc result = col_metrics_header(
        out, "rrasfleet_store_write_errors_total", "counter",
        "Writes to the database that failed: full (disk or db_max_mb), io, corrupt. Reports they "
        "held were answered 503 with Retry-After.");
    for (size_t k = 0; result == PROTO_OK && k < COL_STORE_ERROR_KIND_COUNT; k++) {
        result = proto_buf_appendf(out, "rrasfleet_store_write_errors_total{reason=\"%s\"} %llu\n",
                                   col_metrics_store_kinds[k],
                                   (unsigned long long)col_metrics_get(&m->store_errors[k]));
    }
    return result;
}

enum proto_rc col_metrics_render(struct col_metrics *m, uint64_t writer_queue_depth,
                                 int64_t db_size_bytes, struct proto_buf *out)
{
    if (m == NULL || out == NULL) {
        return PROTO_EINVAL;
    }
    enum proto_rc result = col_metrics_render_reports(m, out);
    if (result == PROTO_OK) {
        result = col_metrics_header(out, "rrasfleet_writer_queue_depth", "gauge",
                                    "Reports waiting for the writer thread.");
    }
    if (result == PROTO_OK) {
        result = proto_buf_appendf(out, "rrasfleet_writer_queue_depth %llu\n",
                                   (unsigned long long)writer_queue_depth);
    }
    if (result == PROTO_OK && db_size_bytes >= 0) {
        result = col_metrics_header(out, "rrasfleet_db_size_bytes", "gauge",
                                    "Size of the SQLite database file and its WAL.");
        if (result == PROTO_OK) {
            result =
                proto_buf_appendf(out, "rrasfleet_db_size_bytes %lld\n", (long long)db_size_bytes);
        }
    }
    if (result == PROTO_OK) {
        result = col_metrics_header(out, "rrasfleet_wal_checkpoints_total", "counter",
                                    "WAL checkpoints run by the checkpointer thread.");
    }
    if (result == PROTO_OK) {
        result = proto_buf_appendf(out, "rrasfleet_wal_checkpoints_total %llu\n",
                                   (unsigned long long)col_metrics_get(&m->wal_checkpoints));
    }
    if (result == PROTO_OK) {
        result = col_metrics_header(out, "rrasfleet_wal_pages", "gauge",
                                    "Pages in the write-ahead log after the latest commit.");
    }
    if (result == PROTO_OK) {
        result = proto_buf_appendf(out, "rrasfleet_wal_pages %llu\n",
                                   (unsigned long long)col_metrics_get(&m->wal_pages));
    }
    if (result == PROTO_OK) {
        result = col_metrics_render_store(m, out);
    }
    if (result == PROTO_OK) {
        result = col_metrics_render_transport(m, out);
    }
    return result;
}
