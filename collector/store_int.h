/*
 * store_int: what the store's own files (store.c, store_ingest.c, store_query.c,
 * store_tokens.c, store_migrate.c) and the writer share, and nothing else may include.
 *
 * Owns the layout of struct col_store: the write connection (writer thread only, with its
 * statement cache), the admin connection (tokens, audit, prune; serialized by admin_mu) and the
 * read-only pool. Never exposes a connection to code outside the store and the writer.
 */
#ifndef COL_STORE_INT_H
#define COL_STORE_INT_H

#include <pthread.h>
#include <stdbool.h>

#include <sqlite3.h>

#include "store.h"
#include "store_sql.h"

#define COL_STORE_READERS 4
#define COL_STORE_BUSY_TIMEOUT_MS 10000
#define COL_TABLE_MAX_ROWS 100000u

#define COL_WSQL_ENUM(name, sql) COL_WSQL_##name,
enum col_wsql { COL_WRITE_SQL(COL_WSQL_ENUM) COL_WSQL_COUNT };
#undef COL_WSQL_ENUM

struct col_store {
    char *path;

    sqlite3 *wdb; /* the writer thread's connection */
    sqlite3_stmt *wstmt[COL_WSQL_COUNT];
    bool in_tx;

    sqlite3 *adb; /* tokens, audit and prune; every use holds admin_mu */
    pthread_mutex_t admin_mu;

    sqlite3 *rdb[COL_STORE_READERS]; /* read-only; handed out under pool_mu */
    bool rbusy[COL_STORE_READERS];
    pthread_mutex_t pool_mu;
    pthread_cond_t pool_cv;
    bool mutexes_ready;
};

/* Maps an SQLite result code to enum proto_rc. */
enum proto_rc col_store_rc(int sqlite_rc);

/* Blocks until a read connection is free; borrowed until col_store_reader_release. */
sqlite3 *col_store_reader_acquire(struct col_store *st);
void col_store_reader_release(struct col_store *st, sqlite3 *db);

/* The cached writer statement `which`, reset and with bindings cleared; NULL on failure. */
sqlite3_stmt *col_store_wstmt(struct col_store *st, enum col_wsql which);
/* Steps a cached writer statement that returns no row (SQLITE_DONE). */
enum proto_rc col_store_wexec(struct col_store *st, enum col_wsql which);

/* True while the write connection holds an open transaction. SQLite rolls a transaction back
 * by itself on some errors (I/O, disk full, out of memory); the writer checks this after a
 * failed ingest to learn whether the batch so far is lost. */
bool col_store_in_transaction(struct col_store *st);

/*
 * Steps `stmt` to completion and turns the rows into a table with these columns; column
 * `total_col` (if < SIZE_MAX) of the first row gives t->total, else total = rows. Caller
 * destroys *out with col_table_destroy.
 */
enum proto_rc col_store_table_from_stmt(sqlite3_stmt *stmt, const struct col_column *cols,
                                        size_t ncols, size_t total_col, struct col_table **out);

/* Current Unix time for rows the store stamps itself (tokens, audit). */
int64_t col_store_now(void);

#endif
