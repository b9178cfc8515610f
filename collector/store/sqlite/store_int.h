/*
 * store_int: what the store's own files (store.c, ingest.c, query.c, tokens.c) and the
 * checkpointer share, and nothing else may include. migrate.c does not include it: what it
 * shares with them is in conn_int.h.
 *
 * Owns the layout of struct col_store: the write connection (writer thread only, with its
 * statement cache), the admin connection (tokens, audit, prune; serialized by admin_mu) and the
 * read-only pool. Never exposes a connection to code outside the store and the writer.
 */
#ifndef COL_STORE_INT_H
#define COL_STORE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "conn_int.h"
#include "store.h"
#include "store_sql_int.h"

#define COL_STORE_READERS 4
#define COL_TABLE_MAX_ROWS 100000u
/* WAL size (pages) at which the write connection checkpoints in line, as SQLite's own
 * autocheckpoint would, while no checkpointer listens (tools, tests). */
#define COL_STORE_WAL_INLINE_PAGES 1000u
/* With a checkpointer listening: the hard cap, as a multiple of its threshold, past which the
 * write connection copies what is left in line, and the checkpointer tries a RESTART when
 * readers keep pages from being copied. */
#define COL_STORE_WAL_CAP_FACTOR 16u

/* Called on the writer thread, inside the write connection's WAL hook: must only wake. */
typedef void (*col_store_wal_fn)(void *ctx);

#define COL_WSQL_ENUM(name, sql) COL_WSQL_##name,
enum col_wsql { COL_WRITE_SQL(COL_WSQL_ENUM) COL_WSQL_COUNT };
#undef COL_WSQL_ENUM

struct col_store {
    char *path;

    sqlite3 *wdb; /* the writer thread's connection */
    sqlite3_stmt *wstmt[COL_WSQL_COUNT];
    bool in_tx;
    bool tx_wrote; /* a report was stored in the open transaction (its commit proves room) */

    sqlite3 *adb; /* tokens, audit and prune; every use holds admin_mu */
    pthread_mutex_t admin_mu;

    sqlite3 *rdb[COL_STORE_READERS]; /* read-only; handed out under pool_mu */
    bool rbusy[COL_STORE_READERS];
    pthread_mutex_t pool_mu;
    pthread_cond_t pool_cv;
    bool mutexes_ready;

    /* WAL bookkeeping, written by the write connection's WAL hook after every commit. */
    _Atomic uint64_t wal_pages;     /* pages in the WAL after the latest commit */
    _Atomic uint64_t wal_commits;   /* commits on the write connection so far */
    _Atomic uint64_t wal_wake_at;   /* wal_pages at which the hook calls wal_fn */
    _Atomic uint64_t wal_inline_at; /* wal_pages at which the hook checkpoints in line */
    pthread_mutex_t wal_mu;         /* guards wal_fn/wal_ctx against col_store_wal_listen */
    col_store_wal_fn wal_fn;
    void *wal_ctx;

    _Atomic int others_waiting; /* connections other than wdb waiting for the write lock */

    /* Health (health.c): the latest write failure, the latest commit, the integrity check. */
    uint64_t max_pages;                  /* PRAGMA max_page_count of rw connections; 0: none */
    _Atomic int fault;                   /* enum col_store_fault */
    _Atomic bool has_commit;             /* a commit succeeded on wdb since open */
    _Atomic uint64_t last_commit_ms;     /* col_clock_monotonic_ms() at that commit */
    struct col_metrics *_Atomic metrics; /* counts write failures; NULL: not counted */
    pthread_mutex_t check_mu;            /* guards the fields below */
    int check;                           /* enum col_store_check */
    char check_message[256];
    sqlite3 *check_db; /* the running check's connection (interrupted by close) */
    bool check_interrupted;
    col_store_check_fn check_done;
    void *check_ctx;
    pthread_t check_thread;
    bool check_started;

    /* Hosts (lower-case, sorted) that have an assigned profile (profiles.c), so that a report
     * from any other host learns "no pending profile" without SQL. Rebuilt from the table
     * after every change of an assigned profile, under admin_mu; read under pend_mu. */
    pthread_mutex_t pend_mu;
    char **pend_hosts;
    size_t pend_count;
};

/* health.c: records why a write on the write connection failed (an SQLite result code, extended
 * or not): full, I/O or corrupt become the store's fault and count in its metrics; other codes
 * are not the store's health. col_store_note_commit: a commit succeeded. */
void col_store_note_write_error(struct col_store *st, int sqlite_rc);
void col_store_note_commit(struct col_store *st);
/* health.c: interrupts a running check and waits for its thread (col_store_close). */
void col_store_check_stop(struct col_store *st);

/* Blocks until a read connection is free; borrowed until col_store_reader_release. */
sqlite3 *col_store_reader_acquire(struct col_store *st);
void col_store_reader_release(struct col_store *st, sqlite3 *db);

/* The cached writer statement `which`, reset and with bindings cleared; NULL on failure. */
sqlite3_stmt *col_store_wstmt(struct col_store *st, enum col_wsql which);
/* Steps a cached writer statement that returns no row (SQLITE_DONE). */
enum proto_rc col_store_wexec(struct col_store *st, enum col_wsql which);

/*
 * A connection other than the writer's (prune, tokens, a RESTART checkpoint) about to wait for
 * the write lock says so between _begin and _end. The writer keeps its transaction open for
 * more reports only while nobody waits, and begins its next one only when nobody waits (or
 * after a bounded pause): otherwise, under steady load, the lock would be free for only a few
 * microseconds between COMMIT and the next BEGIN, and SQLite's busy handler (which sleeps
 * 1, 2, 5 ... ms between tries) would almost never find it free.
 */
void col_store_other_writer_begin(struct col_store *st);
void col_store_other_writer_end(struct col_store *st);

/* BEGIN IMMEDIATE on `db` (not the writer's), announced as above. */
int col_store_begin_other(struct col_store *st, sqlite3 *db);

/*
 * Steps `stmt` to completion and turns the rows into a table with these columns; column
 * `total_col` (if < SIZE_MAX) of the first row gives t->total, else total = rows. Caller
 * destroys *out with col_table_destroy.
 */
enum proto_rc col_store_table_from_stmt(sqlite3_stmt *stmt, const struct col_column *cols,
                                        size_t ncols, size_t total_col, struct col_table **out);

/* Current Unix time for rows the store stamps itself (tokens, audit): the collector's clock
 * (clock.h), so tests can set it. */
int64_t col_store_now(void);

/* profiles.c: rebuilds the set of hosts with an assigned profile from the admin connection
 * (the caller holds admin_mu, or is col_store_open); frees it at close. */
enum proto_rc col_store_pending_refresh(struct col_store *st);
void col_store_pending_free(struct col_store *st);

/* ---- WAL checkpoints (checkpoint.c) --------------------------------------------------------- */

/* Opens one more read-write connection to the store's file, set up as every connection is
 * (busy timeout, foreign keys, synchronous=FULL). Caller closes it with sqlite3_close. */
enum proto_rc col_store_connect_extra(struct col_store *st, sqlite3 **out);

/* Sets (fn != NULL) or clears the one listener that the write connection's WAL hook calls after
 * a commit leaves at least `wake_pages` pages in the WAL; past COL_STORE_WAL_CAP_FACTOR times
 * that, the hook checkpoints in line instead. Any thread. Once it returns, the previous listener
 * is not running and will not be called again. Without a listener the write connection
 * checkpoints in line at COL_STORE_WAL_INLINE_PAGES. */
void col_store_wal_listen(struct col_store *st, uint64_t wake_pages, col_store_wal_fn fn,
                          void *ctx);

/* Pages in the WAL after the latest commit on the write connection, and commits so far (either
 * pointer may be NULL). Any thread. */
void col_store_wal_state(struct col_store *st, uint64_t *pages, uint64_t *commits);

#endif
