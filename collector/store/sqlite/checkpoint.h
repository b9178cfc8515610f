/*
 * checkpoint: the thread that copies the store's write-ahead log back into the database file.
 *
 * SQLite's automatic checkpoint runs inside COMMIT on the connection that crosses its threshold,
 * which for the collector is the writer thread: the serial bottleneck of ingest. The store turns
 * that off on its write connection and wakes this thread instead. It owns its thread and its own
 * read-write connection, and runs PASSIVE checkpoints (never waiting for readers or writers);
 * only when the WAL has grown past a hard cap does it try one short RESTART. It never writes
 * rows and never touches the store's other connections.
 */
#ifndef COL_CHECKPOINT_H
#define COL_CHECKPOINT_H

#include <stdbool.h>

#include "metrics.h"
#include "store.h"

struct col_checkpoint;

/*
 * Starts the checkpointer of `st` (borrowed until stop). It checkpoints when a commit leaves at
 * least `wal_pages` pages in the WAL, at least once a second while the WAL holds commits not yet
 * checkpointed, and once at start. `metrics` (may be NULL) is borrowed until stop. PROTO_EINVAL
 * for a NULL store or wal_pages 0; the store's error when the connection cannot be opened.
 */
enum proto_rc col_checkpoint_start(struct col_store *st, unsigned long wal_pages,
                                   struct col_metrics *metrics, struct col_checkpoint **out);

/* Stops listening to the store, runs a final PASSIVE checkpoint, joins the thread and closes its
 * connection. Accepts NULL. Call it after the writer has stopped and before the store closes. */
void col_checkpoint_stop(struct col_checkpoint *c);

/* True when the latest checkpoint copied the whole WAL and no commit has come since (tests and
 * diagnostics). */
bool col_checkpoint_caught_up(struct col_checkpoint *c);

#endif
