/*
 * writer: the single thread that commits reports to the store, in batches (group commit).
 *
 * A report is submitted without blocking and its submitter is notified once the batch holding
 * it has committed (then it may answer 202) or failed (col_writer_submit_async; the API's
 * blocking handler and the event thread both use it, decision 008); col_writer_submit is the
 * same with a wait, for tools and tests. The queue is bounded: when it is full, submit fails at
 * once with PROTO_ELIMIT so the caller can answer 429 with Retry-After instead of piling up.
 *
 * The rule: only this module writes, only on the store's write connection, and one thread at a
 * time under the writer's mutex protocol: the writer thread, or, while the writer lingers idle
 * with a transaction open, the one submitter that has set `combining` to ingest its own report
 * into that transaction (instead of waking the writer for it). writer_conn() in writer.c is the
 * only way to the connection and checks that protocol on every call (it aborts when broken).
 * Why not the writer thread alone: the submitter's ingest saves a wake-up and a context switch
 * per report that arrives while the writer lingers, measurably less CPU per keep-alive report
 * (docs/benchmarks.md, "ingested by its own connection thread"); the check costs an atomic load
 * per store call.
 */
#ifndef COL_WRITER_H
#define COL_WRITER_H

#include <stdbool.h>
#include <stddef.h>

#include "store.h"

struct col_writer;

struct col_writer_config {
    size_t queue_max; /* jobs waiting, beyond which submit refuses */
    size_t batch_max; /* jobs per transaction */
};

enum proto_rc col_writer_create(struct col_store *st, const struct col_writer_config *cfg,
                                struct col_writer **out);
/* Stops accepting, commits what is queued, joins the thread. Accepts NULL. */
void col_writer_destroy(struct col_writer *w);

/* Blocks until committed. PROTO_OK (with *duplicate), PROTO_ELIMIT (queue full),
 * PROTO_EUNAVAILABLE (shutting down) or the store's error. `in` is borrowed until return. */
enum proto_rc col_writer_submit(struct col_writer *w, const struct col_ingest *in, bool *duplicate);

/*
 * The outcome of an asynchronous submission, called once on the writer's thread after the
 * batch holding the report has committed or failed (never inside col_writer_submit_async):
 * result and duplicate as col_writer_submit returns them. It must be quick and must not call
 * into the writer.
 */
typedef void (*col_writer_notify_fn)(void *ctx, enum proto_rc result, bool duplicate);

/*
 * Submits without blocking. PROTO_OK: `notify(ctx, ...)` will be called exactly once, and `in`
 * (borrowed) must stay valid until then. Otherwise (PROTO_ELIMIT, PROTO_EUNAVAILABLE,
 * PROTO_ENOMEM, PROTO_EINVAL) nothing was taken and notify is never called.
 */
enum proto_rc col_writer_submit_async(struct col_writer *w, const struct col_ingest *in,
                                      col_writer_notify_fn notify, void *ctx);

size_t col_writer_queue_depth(struct col_writer *w);

#endif
