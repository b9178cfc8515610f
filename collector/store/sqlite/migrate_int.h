/*
 * migrate: brings a database to the schema this collector was built with.
 *
 * Applies the embedded migrations (generated schema_sql.h) whose version is above
 * PRAGMA user_version, each in its own transaction. Before touching a non-empty database it
 * copies it with the backup API to "<db>.bak-v<N>" and, if any migration fails, copies that
 * back so the database is exactly as it was. Never downgrades: a newer database is refused.
 */
#ifndef COL_STORE_MIGRATE_INT_H
#define COL_STORE_MIGRATE_INT_H

#include <stddef.h>

#include <sqlite3.h>

#include "rc.h"

struct col_migration; /* defined by the generated schema_sql.h */

/* Applies the built-in migrations (col_migrations[]). `path` is the database file (for the
 * backup name); `err` gets a one-line reason on failure. */
enum proto_rc col_store_migrate(sqlite3 *db, const char *path, char *err, size_t err_size);

/* The same with an injected list (tests use it to make a migration fail). `list` must be in
 * increasing version order; `path` NULL skips the backup. */
enum proto_rc col_store_migrate_with(sqlite3 *db, const struct col_migration *list, size_t count,
                                     const char *path, char *err, size_t err_size);

#endif
