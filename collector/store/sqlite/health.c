/*
 * health: what the store knows of its own state, for /healthz and /metrics (see store.h).
 *
 * Owns three facts: why the latest write on the write connection failed (full, I/O, corrupt;
 * cleared by the next commit that succeeds), when the latest commit happened, and the integrity
 * check (PRAGMA quick_check) with its thread and connection. Every reader takes them without
 * waiting for the writer: atomics, and a mutex held only to copy the check's state. It never
 * decides what is healthy: the API judges the facts (decision 016).
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "store_int.h"

const char *col_store_fault_str(enum col_store_fault fault)
{
    switch (fault) {
    case COL_STORE_FAULT_NONE:
    case COL_STORE_FAULT_COUNT:
        break;
    case COL_STORE_FAULT_FULL:
        return "full";
    case COL_STORE_FAULT_IO:
        return "io";
    case COL_STORE_FAULT_CORRUPT:
        return "corrupt";
    }
    return "none";
}

const char *col_store_check_str(enum col_store_check check)
{
    switch (check) {
    case COL_STORE_CHECK_NONE:
        break;
    case COL_STORE_CHECK_RUNNING:
        return "running";
    case COL_STORE_CHECK_OK:
        return "ok";
    case COL_STORE_CHECK_FAILED:
        return "failed";
    }
    return "none";
}

void col_store_set_metrics(struct col_store *st, struct col_metrics *m)
{
    if (st != NULL) {
        atomic_store(&st->metrics, m);
    }
}

void col_store_note_write_error(struct col_store *st, int sqlite_rc)
{
    enum col_store_fault fault = COL_STORE_FAULT_NONE;
    enum col_store_error_kind kind = COL_STORE_ERROR_IO;
    switch (sqlite_rc & 0xff) {
    case SQLITE_FULL:
        fault = COL_STORE_FAULT_FULL;
        kind = COL_STORE_ERROR_FULL;
        break;
    case SQLITE_IOERR:
        fault = COL_STORE_FAULT_IO;
        kind = COL_STORE_ERROR_IO;
        break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        fault = COL_STORE_FAULT_CORRUPT;
        kind = COL_STORE_ERROR_CORRUPT;
        break;
    default:
        return; /* not the store's health: a constraint, a busy lock, memory */
    }
    int before = atomic_exchange(&st->fault, (int)fault);
    col_metrics_store_write_error(atomic_load(&st->metrics), kind);
    if (before != (int)fault) {
        col_log(COL_LOG_ERROR, "database %s: writes fail: %s (%s)", st->path,
                sqlite3_errstr(sqlite_rc), col_store_fault_str(fault));
    }
}

void col_store_note_commit(struct col_store *st)
{
    atomic_store_explicit(&st->last_commit_ms, col_clock_monotonic_ms(), memory_order_relaxed);
    atomic_store_explicit(&st->has_commit, true, memory_order_release);
    int before = atomic_exchange(&st->fault, COL_STORE_FAULT_NONE);
    if (before != COL_STORE_FAULT_NONE) {
        col_log(COL_LOG_INFO, "database %s: writes succeed again", st->path);
    }
}

void col_store_health(struct col_store *st, struct col_store_health *out)
{
    memset(out, 0, sizeof(*out));
    if (st == NULL) {
        out->fault = COL_STORE_FAULT_IO;
        return;
    }
    out->fault = (enum col_store_fault)atomic_load(&st->fault);
    out->has_commit = atomic_load_explicit(&st->has_commit, memory_order_acquire);
    out->last_commit_ms = atomic_load_explicit(&st->last_commit_ms, memory_order_relaxed);
    pthread_mutex_lock(&st->check_mu);
    out->check = (enum col_store_check)st->check;
    memcpy(out->check_message, st->check_message, sizeof(out->check_message));
    pthread_mutex_unlock(&st->check_mu);
}

/* ---- the integrity check -------------------------------------------------------------------- */

/* Runs quick_check on `db`: SQLITE_OK with "ok", SQLITE_CORRUPT with the first complaint in
 * `message`, or the error that stopped it (SQLITE_INTERRUPT at close). */
static int health_quick_check(sqlite3 *db, char *message, size_t message_size)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db, COL_SQL_QUICK_CHECK, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW) {
            const char *text = (const char *)sqlite3_column_text(stmt, 0);
            if (text != NULL && strcmp(text, "ok") == 0) {
                rc = SQLITE_OK;
            } else {
                proto_errf(message, message_size, "%s", text != NULL ? text : "(no answer)");
                rc = SQLITE_CORRUPT;
            }
        }
    }
    if (rc != SQLITE_OK && rc != SQLITE_CORRUPT) {
        /* Reading the database itself failed: SQLite's message says where. */
        proto_errf(message, message_size, "%s", sqlite3_errmsg(db));
        rc = (rc & 0xff) == SQLITE_NOTADB ? SQLITE_CORRUPT : rc;
    }
    sqlite3_finalize(stmt);
    return rc;
}

enum proto_rc col_store_quick_check(struct col_store *st, char *message, size_t message_size)
{
    if (st == NULL) {
        return PROTO_EINVAL;
    }
    proto_errf(message, message_size, "%s", "");
    sqlite3 *db = NULL;
    enum proto_rc result = col_store_connect_extra(st, &db);
    if (result) {
        proto_errf(message, message_size, "cannot open a connection for the check");
        return result;
    }
    int rc = health_quick_check(db, message, message_size);
    sqlite3_close(db);
    return rc == SQLITE_OK ? PROTO_OK : PROTO_EIO;
}

static void *health_check_main(void *arg)
{
    (void)pthread_setname_np(pthread_self(), "rras-dbcheck");
    struct col_store *st = arg;
    char message[sizeof(st->check_message)] = "";
    uint64_t started = col_clock_monotonic_ms();
    int rc = health_quick_check(st->check_db, message, sizeof(message));
    pthread_mutex_lock(&st->check_mu);
    bool interrupted = st->check_interrupted || (rc & 0xff) == SQLITE_INTERRUPT;
    if (!interrupted) {
        st->check = rc == SQLITE_OK ? COL_STORE_CHECK_OK : COL_STORE_CHECK_FAILED;
        memcpy(st->check_message, message, sizeof(st->check_message));
    }
    sqlite3_close(st->check_db);
    st->check_db = NULL;
    pthread_mutex_unlock(&st->check_mu);
    if (interrupted) {
        return NULL;
    }
    if (rc == SQLITE_OK) {
        col_log(COL_LOG_INFO, "database %s: integrity check passed in %llu ms", st->path,
                (unsigned long long)(col_clock_monotonic_ms() - started));
    }
    if (st->check_done != NULL) {
        st->check_done(st->check_ctx, rc == SQLITE_OK);
    }
    return NULL;
}

enum proto_rc col_store_check_start(struct col_store *st, col_store_check_fn done, void *ctx)
{
    if (st == NULL) {
        return PROTO_EINVAL;
    }
    sqlite3 *db = NULL;
    pthread_mutex_lock(&st->check_mu);
    enum proto_rc result = st->check_started ? PROTO_EINVAL : PROTO_OK;
    if (!result) {
        result = col_store_connect_extra(st, &db);
    }
    if (!result) {
        st->check_db = db;
        st->check_done = done;
        st->check_ctx = ctx;
        st->check = COL_STORE_CHECK_RUNNING;
        st->check_message[0] = '\0';
        if (pthread_create(&st->check_thread, NULL, health_check_main, st) != 0) {
            sqlite3_close(db);
            st->check_db = NULL;
            st->check = COL_STORE_CHECK_NONE;
            result = PROTO_ENOMEM;
        } else {
            st->check_started = true;
        }
    }
    pthread_mutex_unlock(&st->check_mu);
    return result;
}

void col_store_check_stop(struct col_store *st)
{
    pthread_mutex_lock(&st->check_mu);
    bool started = st->check_started;
    if (st->check_db != NULL) {
        st->check_interrupted = true;
        sqlite3_interrupt(st->check_db);
    }
    st->check_started = false;
    pthread_mutex_unlock(&st->check_mu);
    if (started) {
        pthread_join(st->check_thread, NULL);
    }
}
