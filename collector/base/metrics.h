/*
 * metrics: counters and the ingest latency histogram, rendered in the Prometheus text format.
 * Thread-safe (atomics). Owns no other state; gauges that live elsewhere (writer queue depth,
 * database size) are passed in at render time, except the WAL's, which the checkpointer sets.
 */
#ifndef COL_METRICS_H
#define COL_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

enum col_reject_reason {
    COL_REJECT_BAD_REQUEST,
    COL_REJECT_INVALID_REPORT,
    COL_REJECT_FORBIDDEN,
    COL_REJECT_TOO_LARGE,
    COL_REJECT_BUSY,
    COL_REJECT_INTERNAL,
    COL_REJECT_REASON_COUNT
};

/* Why a write to the database failed, as the store counts it (store.h: enum col_store_fault). */
enum col_store_error_kind {
    COL_STORE_ERROR_FULL,
    COL_STORE_ERROR_IO,
    COL_STORE_ERROR_CORRUPT,
    COL_STORE_ERROR_KIND_COUNT
};

struct col_metrics;

struct col_metrics *col_metrics_create(void); /* NULL on allocation failure */
void col_metrics_destroy(struct col_metrics *m);

void col_metrics_report_accepted(struct col_metrics *m, int duplicate, double ingest_seconds);
void col_metrics_report_rejected(struct col_metrics *m, enum col_reject_reason reason);
/* One accepted report: `known` when only its envelope was decoded (decision 005). */
void col_metrics_snapshot_reused(struct col_metrics *m, bool known);
void col_metrics_handshake(struct col_metrics *m, int ok, int resumed);
void col_metrics_connection(struct col_metrics *m, int delta); /* +1 open, -1 closed */
/* A connection accepted and closed at once because max_connections were open. */
void col_metrics_connection_refused(struct col_metrics *m);
/* A connection was given to a new thread, or (`pooled`) to an idle pooled one. */
void col_metrics_connection_thread(struct col_metrics *m, bool pooled);
/* A request answered, on the event thread (decision 008) or on its connection's thread. */
void col_metrics_request_served(struct col_metrics *m, bool event_thread);

/* From the store: a write (a report, a commit) failed because the database is full, an I/O
 * error, or corruption (decision 016). Any thread. */
void col_metrics_store_write_error(struct col_metrics *m, enum col_store_error_kind kind);

/* From the checkpointer thread: one checkpoint run, and the WAL's size after the latest commit. */
void col_metrics_wal_checkpoint(struct col_metrics *m);
void col_metrics_wal_pages(struct col_metrics *m, uint64_t pages);

/* Process-wide, because the ticket-key store has no metrics of its own to hold: a save of
 * rotated session-ticket keys failed (the file no longer holds the keys in use, so the next
 * restart will cost every agent a full handshake). Any thread. */
void col_metrics_ticket_key_save_failed(void);
uint64_t col_metrics_ticket_key_save_failures(void);

enum proto_rc col_metrics_render(struct col_metrics *m, uint64_t writer_queue_depth,
                                 int64_t db_size_bytes, struct proto_buf *out);

#endif
