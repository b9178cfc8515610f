/*
 * conn: what every SQLite connection of the store shares, whoever opens it: the busy timeout
 * and the one mapping of SQLite result codes to enum proto_rc.
 *
 * A leaf of the store: store.c, migrate.c, checkpoint.c and the query, ingest and token files
 * include it, and it includes nothing of theirs, so migrate.c needs nothing from store.c (the
 * dependency runs one way: store.c calls the migrations). Owns nothing.
 */
#ifndef COL_STORE_CONN_INT_H
#define COL_STORE_CONN_INT_H

#include "rc.h"

#define COL_STORE_BUSY_TIMEOUT_MS 10000

/* Maps an SQLite result code (extended codes too) to enum proto_rc: OK, DONE and ROW are
 * PROTO_OK. */
enum proto_rc col_store_rc(int sqlite_rc);

#endif
