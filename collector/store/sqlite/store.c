/*
 * store: opening and closing the collector's database and its connections (see store.h).
 *
 * Owns the three kinds of connection: the write connection (the writer thread's, with the
 * statement cache and the transaction calls), the admin connection (tokens, audit, prune, each
 * use under admin_mu) and a pool of COL_STORE_READERS read-only connections handed out under a
 * mutex and condition variable. WAL lets readers run beside the single writer; busy_timeout
 * covers the moments the writer and the admin connection contend for the write lock. The write
 * connection does not checkpoint inside COMMIT: its WAL hook records the WAL size and wakes the
 * checkpointer thread (checkpoint.c), and copies pages itself only as a backstop (see
 * store_wal_hook). Ingest, queries and tokens live in ingest.c, query.c and tokens.c; the
 * migrations, which this file runs at open, in migrate.c (which needs nothing from here).
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "clock.h"
#include "migrate_int.h"
#include "store_int.h"

#define WSQL_TEXT(name, sql) sql,
static const char *const store_wsql_text[COL_WSQL_COUNT] = {COL_WRITE_SQL(WSQL_TEXT)};
#undef WSQL_TEXT

int64_t col_store_now(void)
{
    return col_clock_now_s();
}

static void store_err(char *err, size_t err_size, const char *what, sqlite3 *db)
{
    if (err != NULL && err_size > 0) {
        int n = snprintf(err, err_size, "%s: %s", what,
                         db != NULL ? sqlite3_errmsg(db) : "cannot allocate a connection");
        if (n < 0) {
            err[0] = '\0';
        }
    }
}

/* Opens one connection with the settings every connection needs. */
static enum proto_rc store_connect(const char *path, bool readonly, sqlite3 **out, char *err,
                                   size_t err_size)
{
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_NOMUTEX |
                (readonly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE));
    int rc = sqlite3_open_v2(path, &db, flags, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_busy_timeout(db, COL_STORE_BUSY_TIMEOUT_MS);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(db, COL_SQL_PRAGMA_FOREIGN_KEYS, NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK && !readonly) {
        rc = sqlite3_exec(db, COL_SQL_PRAGMA_SYNC_FULL, NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        store_err(err, err_size, path, db);
        sqlite3_close(db);
        return col_store_rc(rc) == PROTO_OK ? PROTO_EIO : col_store_rc(rc);
    }
    *out = db;
    return PROTO_OK;
}

/* PRAGMA max_page_count on a read-write connection, when the store has a size limit. */
static int store_limit_pages(sqlite3 *db, uint64_t max_pages)
{
    if (max_pages == 0) {
        return SQLITE_OK;
    }
    char sql[64];
    int n = snprintf(sql, sizeof(sql), COL_SQL_MAX_PAGE_COUNT_FMT, (unsigned long long)max_pages);
    if (n < 0 || (size_t)n >= sizeof(sql)) {
        return SQLITE_MISUSE;
    }
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/*
 * The database holds token hashes and the audit trail (decision 016): it is created 0600 before
 * SQLite opens it (SQLite gives -wal and -shm the database's mode), and a file that group or
 * others may read (or its -wal/-shm) is refused unless `allow_readable`.
 */
static enum proto_rc store_prepare_file(const char *path, bool allow_readable, char *err,
                                        size_t err_size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
        close(fd);
    } else if (errno != EEXIST) {
        proto_errf(err, err_size, "cannot create %s: %s", path, strerror(errno));
        return PROTO_EIO;
    }
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; !allow_readable && i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        char file[4096];
        struct stat sb;
        int n = snprintf(file, sizeof(file), "%s%s", path, suffixes[i]);
        if (n < 0 || (size_t)n >= sizeof(file)) {
            proto_errf(err, err_size, "database path too long");
            return PROTO_ELIMIT;
        }
        if (stat(file, &sb) != 0) {
            continue; /* -wal and -shm come and go with connections */
        }
        if ((sb.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
            proto_errf(err, err_size,
                       "%s is readable by group or others (mode %04o) and holds token hashes "
                       "and the audit trail: chmod 600 it, or set allow_readable_db = true",
                       file, (unsigned)(sb.st_mode & 07777));
            return PROTO_EUNSUPPORTED;
        }
    }
    return PROTO_OK;
}

/* The write connection's page size turns a byte limit into max_page_count. */
static uint64_t store_pages_for(sqlite3 *db, uint64_t max_bytes)
{
    if (max_bytes == 0) {
        return 0;
    }
    sqlite3_stmt *stmt = NULL;
    uint64_t page_size = 4096;
    if (sqlite3_prepare_v2(db, COL_SQL_PAGE_SIZE, -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_int64(stmt, 0) > 0) {
        page_size = (uint64_t)sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    uint64_t pages = max_bytes / page_size;
    return pages > 0 ? pages : 1;
}

/*
 * Runs on the writer thread after every commit on the write connection: records the WAL size,
 * wakes the checkpointer past wal_wake_at and checkpoints in line past wal_inline_at. Without a
 * checkpointer (tools, tests) the latter is SQLite's own autocheckpoint at 1000 pages. With one
 * it is a backstop at COL_STORE_WAL_CAP_FACTOR times its threshold: SQLite restarts the WAL only
 * when a transaction begins on a wholly copied WAL, which back-to-back batches never let a
 * checkpointer on another thread achieve. Copying here what is left (the last batch or so; the
 * checkpointer has copied the rest) lets the next commit start the WAL over.
 */
static int store_wal_hook(void *arg, sqlite3 *db, const char *schema, int pages)
{
    struct col_store *st = arg;
    uint64_t n = pages > 0 ? (uint64_t)pages : 0;
    atomic_store_explicit(&st->wal_pages, n, memory_order_relaxed);
    atomic_fetch_add_explicit(&st->wal_commits, 1, memory_order_relaxed);
    if (n >= atomic_load_explicit(&st->wal_inline_at, memory_order_relaxed)) {
        /* Errors (BUSY: another connection is checkpointing) leave the WAL for the next one. */
        sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    } else if (n >= atomic_load_explicit(&st->wal_wake_at, memory_order_relaxed)) {
        pthread_mutex_lock(&st->wal_mu);
        if (st->wal_fn != NULL) {
            st->wal_fn(st->wal_ctx);
        }
        pthread_mutex_unlock(&st->wal_mu);
    }
    return SQLITE_OK;
}

static enum proto_rc store_install_wal_hook(struct col_store *st, char *err, size_t err_size)
{
    int rc = sqlite3_exec(st->wdb, COL_SQL_PRAGMA_NO_AUTOCHECKPOINT, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        store_err(err, err_size, "cannot turn off autocheckpoint", st->wdb);
        return PROTO_EIO;
    }
    /* After the pragma: the pragma installs (or clears) SQLite's own hook in this slot. */
    sqlite3_wal_hook(st->wdb, store_wal_hook, st);
    return PROTO_OK;
}

/* journal_mode answers with the mode in force; anything but "wal" is a failure here. */
static enum proto_rc store_enable_wal(sqlite3 *db, char *err, size_t err_size)
{
    sqlite3_stmt *stmt = NULL;
    enum proto_rc result = PROTO_EIO;
    int rc = sqlite3_prepare_v2(db, COL_SQL_PRAGMA_WAL, -1, &stmt, NULL);
    if (rc == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
        const unsigned char *mode = sqlite3_column_text(stmt, 0);
        if (mode != NULL && strcmp((const char *)mode, "wal") == 0) {
            result = PROTO_OK;
        }
    }
    if (result) {
        store_err(err, err_size, "cannot switch to WAL", db);
    }
    sqlite3_finalize(stmt);
    return result;
}

enum proto_rc col_store_open(const char *path, struct col_store **out, char *err, size_t err_size)
{
    return col_store_open_with(path, NULL, out, err, err_size);
}

enum proto_rc col_store_open_with(const char *path, const struct col_store_options *opt,
                                  struct col_store **out, char *err, size_t err_size)
{
    static const struct col_store_options defaults = {false, 0};
    enum proto_rc result = PROTO_OK;
    struct col_store *st = NULL;
    if (opt == NULL) {
        opt = &defaults;
    }
    if (err != NULL && err_size > 0) {
        err[0] = '\0';
    }
    if (path == NULL || out == NULL || path[0] == '\0' || strcmp(path, ":memory:") == 0) {
        /* Readers need to see the writer's file: an in-memory database cannot be shared. */
        store_err(err, err_size, "a database file path is required", NULL);
        return PROTO_EINVAL;
    }
    *out = NULL;
    result = store_prepare_file(path, opt->allow_readable, err, err_size);
    if (result) {
        return result;
    }
    st = proto_calloc(1, sizeof(*st));
    if (st == NULL) {
        return PROTO_ENOMEM;
    }
    st->path = proto_strdup(path);
    if (st->path == NULL) {
        result = PROTO_ENOMEM;
        goto out;
    }
    if (pthread_mutex_init(&st->admin_mu, NULL) != 0) {
        result = PROTO_ENOMEM;
        goto out;
    }
    if (pthread_mutex_init(&st->pool_mu, NULL) != 0) {
        pthread_mutex_destroy(&st->admin_mu);
        result = PROTO_ENOMEM;
        goto out;
    }
    if (pthread_cond_init(&st->pool_cv, NULL) != 0) {
        pthread_mutex_destroy(&st->pool_mu);
        pthread_mutex_destroy(&st->admin_mu);
        result = PROTO_ENOMEM;
        goto out;
    }
    if (pthread_mutex_init(&st->pend_mu, NULL) != 0) {
        pthread_cond_destroy(&st->pool_cv);
        pthread_mutex_destroy(&st->pool_mu);
        pthread_mutex_destroy(&st->admin_mu);
        result = PROTO_ENOMEM;
        goto out;
    }
    if (pthread_mutex_init(&st->wal_mu, NULL) != 0) {
        pthread_mutex_destroy(&st->pend_mu);
        pthread_cond_destroy(&st->pool_cv);
        pthread_mutex_destroy(&st->pool_mu);
        pthread_mutex_destroy(&st->admin_mu);
        result = PROTO_ENOMEM;
        goto out;
    }
    if (pthread_mutex_init(&st->check_mu, NULL) != 0) {
        pthread_mutex_destroy(&st->wal_mu);
        pthread_mutex_destroy(&st->pend_mu);
        pthread_cond_destroy(&st->pool_cv);
        pthread_mutex_destroy(&st->pool_mu);
        pthread_mutex_destroy(&st->admin_mu);
        result = PROTO_ENOMEM;
        goto out;
    }
    st->mutexes_ready = true;
    atomic_init(&st->fault, COL_STORE_FAULT_NONE);
    atomic_init(&st->has_commit, false);
    atomic_init(&st->last_commit_ms, 0);
    atomic_init(&st->metrics, NULL);
    atomic_init(&st->wal_pages, 0);
    atomic_init(&st->wal_commits, 0);
    atomic_init(&st->wal_wake_at, UINT64_MAX);
    atomic_init(&st->wal_inline_at, COL_STORE_WAL_INLINE_PAGES);

    result = store_connect(path, false, &st->wdb, err, err_size);
    if (result) {
        goto out;
    }
    result = store_enable_wal(st->wdb, err, err_size);
    if (result) {
        goto out;
    }
    result = store_install_wal_hook(st, err, err_size);
    if (result) {
        goto out;
    }
    result = col_store_migrate(st->wdb, path, err, err_size);
    if (result) {
        goto out;
    }
    st->max_pages = store_pages_for(st->wdb, opt->max_bytes);
    if (store_limit_pages(st->wdb, st->max_pages) != SQLITE_OK) {
        store_err(err, err_size, "cannot limit the database size", st->wdb);
        result = PROTO_EIO;
        goto out;
    }
    result = store_connect(path, false, &st->adb, err, err_size);
    if (result) {
        goto out;
    }
    if (store_limit_pages(st->adb, st->max_pages) != SQLITE_OK) {
        store_err(err, err_size, "cannot limit the database size", st->adb);
        result = PROTO_EIO;
        goto out;
    }
    result = col_store_pending_refresh(st);
    if (result) {
        store_err(err, err_size, "cannot read the assigned profiles", st->adb);
        goto out;
    }
    for (size_t i = 0; i < COL_STORE_READERS; i++) {
        result = store_connect(path, true, &st->rdb[i], err, err_size);
        if (result) {
            goto out;
        }
    }
    *out = st;
    st = NULL;
out:
    col_store_close(st);
    return result;
}

void col_store_close(struct col_store *st)
{
    if (st == NULL) {
        return;
    }
    if (st->mutexes_ready) {
        col_store_check_stop(st);
    }
    for (size_t i = 0; i < COL_WSQL_COUNT; i++) {
        sqlite3_finalize(st->wstmt[i]);
    }
    if (st->wdb != NULL && st->in_tx) {
        sqlite3_exec(st->wdb, COL_SQL_ROLLBACK, NULL, NULL, NULL);
    }
    for (size_t i = 0; i < COL_STORE_READERS; i++) {
        sqlite3_close(st->rdb[i]);
    }
    sqlite3_close(st->adb);
    /* The write connection goes last so that its close checkpoints the WAL. */
    sqlite3_close(st->wdb);
    if (st->mutexes_ready) {
        pthread_mutex_destroy(&st->check_mu);
        pthread_mutex_destroy(&st->wal_mu);
        pthread_mutex_destroy(&st->pend_mu);
        pthread_cond_destroy(&st->pool_cv);
        pthread_mutex_destroy(&st->pool_mu);
        pthread_mutex_destroy(&st->admin_mu);
    }
    col_store_pending_free(st);
    proto_free(st->path);
    proto_free(st);
}

/* ---- read pool ---------------------------------------------------------------------------- */

sqlite3 *col_store_reader_acquire(struct col_store *st)
{
    pthread_mutex_lock(&st->pool_mu);
    for (;;) {
        for (size_t i = 0; i < COL_STORE_READERS; i++) {
            if (!st->rbusy[i]) {
                st->rbusy[i] = true;
                pthread_mutex_unlock(&st->pool_mu);
                return st->rdb[i];
            }
        }
        pthread_cond_wait(&st->pool_cv, &st->pool_mu);
    }
}

void col_store_reader_release(struct col_store *st, sqlite3 *db)
{
    pthread_mutex_lock(&st->pool_mu);
    for (size_t i = 0; i < COL_STORE_READERS; i++) {
        if (st->rdb[i] == db) {
            st->rbusy[i] = false;
        }
    }
    pthread_cond_signal(&st->pool_cv);
    pthread_mutex_unlock(&st->pool_mu);
}

/* ---- write connection --------------------------------------------------------------------- */

sqlite3_stmt *col_store_wstmt(struct col_store *st, enum col_wsql which)
{
    sqlite3_stmt *stmt = st->wstmt[which];
    if (stmt == NULL) {
        int rc = sqlite3_prepare_v3(st->wdb, store_wsql_text[which], -1, SQLITE_PREPARE_PERSISTENT,
                                    &stmt, NULL);
        if (rc != SQLITE_OK) {
            sqlite3_finalize(stmt);
            return NULL;
        }
        st->wstmt[which] = stmt;
        return stmt;
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return stmt;
}

enum proto_rc col_store_wexec(struct col_store *st, enum col_wsql which)
{
    sqlite3_stmt *stmt = col_store_wstmt(st, which);
    if (stmt == NULL) {
        return col_store_rc(sqlite3_errcode(st->wdb));
    }
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    return rc == SQLITE_DONE ? PROTO_OK : col_store_rc(rc);
}

void col_store_other_writer_begin(struct col_store *st)
{
    atomic_fetch_add(&st->others_waiting, 1);
}

void col_store_other_writer_end(struct col_store *st)
{
    atomic_fetch_sub(&st->others_waiting, 1);
}

bool col_store_other_writer_waiting(struct col_store *st)
{
    return atomic_load_explicit(&st->others_waiting, memory_order_relaxed) > 0;
}

int col_store_begin_other(struct col_store *st, sqlite3 *db)
{
    col_store_other_writer_begin(st);
    int rc = sqlite3_exec(db, COL_SQL_BEGIN_IMMEDIATE, NULL, NULL, NULL);
    col_store_other_writer_end(st);
    return rc;
}

bool col_store_in_transaction(struct col_store *st)
{
    return st != NULL && st->wdb != NULL && !sqlite3_get_autocommit(st->wdb);
}

enum proto_rc col_store_begin(struct col_store *st)
{
    if (st == NULL || st->in_tx) {
        return PROTO_EINVAL;
    }
    enum proto_rc result = col_store_wexec(st, COL_WSQL_BEGIN);
    st->in_tx = result == PROTO_OK;
    st->tx_wrote = false;
    if (result == PROTO_EIO) {
        col_store_note_write_error(st, sqlite3_extended_errcode(st->wdb));
    }
    return result;
}

enum proto_rc col_store_commit(struct col_store *st)
{
    if (st == NULL || !st->in_tx) {
        return PROTO_EINVAL;
    }
    enum proto_rc result = col_store_wexec(st, COL_WSQL_COMMIT);
    if (result == PROTO_EIO) {
        col_store_note_write_error(st, sqlite3_extended_errcode(st->wdb));
    } else if (result == PROTO_OK && st->tx_wrote) {
        col_store_note_commit(st);
    }
    if (result && col_store_in_transaction(st)) {
        /* A failed COMMIT may leave the transaction open (e.g. SQLITE_BUSY): end it, so the
         * caller's contract "commit failed = nothing of the batch is stored" holds. */
        col_store_wexec(st, COL_WSQL_ROLLBACK);
    }
    st->in_tx = false;
    return result;
}

void col_store_rollback(struct col_store *st)
{
    if (st == NULL || !st->in_tx) {
        return;
    }
    if (col_store_in_transaction(st)) {
        col_store_wexec(st, COL_WSQL_ROLLBACK);
    }
    st->in_tx = false;
}

/* ---- WAL checkpoints ---------------------------------------------------------------------- */

enum proto_rc col_store_connect_extra(struct col_store *st, sqlite3 **out)
{
    if (st == NULL || out == NULL) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    enum proto_rc result = store_connect(st->path, false, out, NULL, 0);
    if (!result && store_limit_pages(*out, st->max_pages) != SQLITE_OK) {
        sqlite3_close(*out);
        *out = NULL;
        result = PROTO_EIO;
    }
    return result;
}

void col_store_wal_listen(struct col_store *st, uint64_t wake_pages, col_store_wal_fn fn, void *ctx)
{
    if (st == NULL) {
        return;
    }
    bool on = fn != NULL && wake_pages > 0 && wake_pages <= UINT64_MAX / COL_STORE_WAL_CAP_FACTOR;
    pthread_mutex_lock(&st->wal_mu);
    st->wal_fn = on ? fn : NULL;
    st->wal_ctx = on ? ctx : NULL;
    atomic_store_explicit(&st->wal_wake_at, on ? wake_pages : UINT64_MAX, memory_order_relaxed);
    atomic_store_explicit(&st->wal_inline_at,
                          on ? wake_pages * COL_STORE_WAL_CAP_FACTOR : COL_STORE_WAL_INLINE_PAGES,
                          memory_order_relaxed);
    pthread_mutex_unlock(&st->wal_mu);
}

void col_store_wal_state(struct col_store *st, uint64_t *pages, uint64_t *commits)
{
    if (pages != NULL) {
        *pages = st != NULL ? atomic_load_explicit(&st->wal_pages, memory_order_relaxed) : 0;
    }
    if (commits != NULL) {
        *commits = st != NULL ? atomic_load_explicit(&st->wal_commits, memory_order_relaxed) : 0;
    }
}

/* ---- small reads -------------------------------------------------------------------------- */

static enum proto_rc store_read_int64(struct col_store *st, const char *sql, int64_t *out)
{
    if (st == NULL || out == NULL) {
        return PROTO_EINVAL;
    }
    sqlite3 *db = col_store_reader_acquire(st);
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(stmt, 0);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(stmt);
    col_store_reader_release(st, db);
    return col_store_rc(rc);
}

enum proto_rc col_store_count_reports(struct col_store *st, int64_t *count)
{
    return store_read_int64(st, COL_SQL_COUNT_REPORTS, count);
}

enum proto_rc col_store_db_size(struct col_store *st, int64_t *bytes)
{
    return store_read_int64(st, COL_SQL_DB_SIZE, bytes);
}
