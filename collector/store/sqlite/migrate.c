/*
 * migrate: applies schema/sql migrations by PRAGMA user_version (see migrate_int.h).
 *
 * Owns the backup-before and restore-on-failure around a migration run. Each migration runs in
 * its own BEGIN IMMEDIATE transaction that also sets user_version, so a crash between two
 * migrations leaves a consistent, resumable database. Never edits the data of a migrated table
 * itself: what a migration does is in its .sql file.
 */
#include "migrate_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn_int.h"
#include "schema_sql.h"
#include "store_sql_int.h"

static void mig_err(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void mig_err(char *err, size_t err_size, const char *fmt, ...)
{
    if (err == NULL || err_size == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
    if (n < 0) {
        err[0] = '\0';
    }
}

static enum proto_rc mig_int(sqlite3 *db, const char *sql, int *out)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int(stmt, 0);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(stmt);
    return col_store_rc(rc);
}

/* Copies the whole of `from` into `to` (both "main"), page by page, in one step. */
static int mig_copy(sqlite3 *to, sqlite3 *from)
{
    sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
    if (b == NULL) {
        return sqlite3_errcode(to);
    }
    int rc = sqlite3_backup_step(b, -1);
    int frc = sqlite3_backup_finish(b);
    if (rc == SQLITE_DONE) {
        rc = frc;
    }
    return rc;
}

/* The backup holds what the database holds (token hashes, the audit trail): made 0600 before
 * SQLite opens it, and an older one of another mode made so (decision 016). */
static int mig_backup_file(const char *bak_path)
{
    int fd = open(bak_path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return SQLITE_CANTOPEN;
    }
    int rc = fchmod(fd, 0600) == 0 ? SQLITE_OK : SQLITE_PERM;
    close(fd);
    return rc;
}

static enum proto_rc mig_backup(sqlite3 *db, const char *bak_path, bool restore, char *err,
                                size_t err_size)
{
    sqlite3 *bak = NULL;
    if (!restore) {
        int frc = mig_backup_file(bak_path);
        if (frc != SQLITE_OK) {
            mig_err(err, err_size, "backing up to %s: %s", bak_path, strerror(errno));
            return PROTO_EIO;
        }
    }
    int flags = restore ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    int rc = sqlite3_open_v2(bak_path, &bak, flags, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(bak, COL_STORE_BUSY_TIMEOUT_MS);
        rc = restore ? mig_copy(db, bak) : mig_copy(bak, db);
    }
    if (rc != SQLITE_OK) {
        mig_err(err, err_size, "%s %s: %s", restore ? "restoring from" : "backing up to", bak_path,
                bak != NULL ? sqlite3_errmsg(bak) : sqlite3_errstr(rc));
    }
    sqlite3_close(bak);
    return col_store_rc(rc);
}

static enum proto_rc mig_apply(sqlite3 *db, const struct col_migration *m, char *err,
                               size_t err_size)
{
    char setver[64];
    int n = snprintf(setver, sizeof(setver), COL_SQL_USER_VERSION_SET_FMT, m->version);
    if (n < 0 || (size_t)n >= sizeof(setver)) {
        return PROTO_EINVAL;
    }
    int rc = sqlite3_exec(db, COL_SQL_BEGIN_IMMEDIATE, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        mig_err(err, err_size, "migration %s: cannot begin: %s", m->name, sqlite3_errmsg(db));
        return col_store_rc(rc);
    }
    rc = sqlite3_exec(db, m->sql, NULL, NULL, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(db, setver, NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(db, COL_SQL_COMMIT, NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        mig_err(err, err_size, "migration %s failed: %s", m->name, sqlite3_errmsg(db));
        if (!sqlite3_get_autocommit(db)) {
            sqlite3_exec(db, COL_SQL_ROLLBACK, NULL, NULL, NULL);
        }
        return col_store_rc(rc) == PROTO_OK ? PROTO_EIO : col_store_rc(rc);
    }
    return PROTO_OK;
}

enum proto_rc col_store_migrate_with(sqlite3 *db, const struct col_migration *list, size_t count,
                                     const char *path, char *err, size_t err_size)
{
    if (db == NULL || (list == NULL && count > 0)) {
        return PROTO_EINVAL;
    }
    for (size_t i = 0; i < count; i++) {
        if (list[i].version <= 0 || (i > 0 && list[i].version <= list[i - 1].version)) {
            mig_err(err, err_size, "migration list out of order at %s", list[i].name);
            return PROTO_EINVAL;
        }
    }
    int current = 0;
    enum proto_rc result = mig_int(db, COL_SQL_USER_VERSION_GET, &current);
    if (result) {
        mig_err(err, err_size, "reading user_version: %s", sqlite3_errmsg(db));
        return result;
    }
    int target = count > 0 ? list[count - 1].version : 0;
    if (current > target) {
        mig_err(err, err_size,
                "database schema version %d is newer than this collector's %d; refusing to "
                "downgrade",
                current, target);
        return PROTO_EUNSUPPORTED;
    }
    if (current == target) {
        return PROTO_OK;
    }

    int objects = 0;
    result = mig_int(db, COL_SQL_SCHEMA_OBJECTS, &objects);
    if (result) {
        mig_err(err, err_size, "reading the schema: %s", sqlite3_errmsg(db));
        return result;
    }
    char bak_path[4096];
    bool backed_up = false;
    if (path != NULL && strcmp(path, ":memory:") != 0 && (current > 0 || objects > 0)) {
        int n = snprintf(bak_path, sizeof(bak_path), "%s.bak-v%d", path, current);
        if (n < 0 || (size_t)n >= sizeof(bak_path)) {
            mig_err(err, err_size, "database path too long for a backup name");
            return PROTO_ELIMIT;
        }
        result = mig_backup(db, bak_path, false, err, err_size);
        if (result) {
            return result;
        }
        backed_up = true;
    }

    for (size_t i = 0; i < count; i++) {
        if (list[i].version <= current) {
            continue;
        }
        result = mig_apply(db, &list[i], err, err_size);
        if (result) {
            if (backed_up) {
                /* Keep the migration's reason: a restore failure is then appended to it. */
                char why[512];
                enum proto_rc rrc = mig_backup(db, bak_path, true, why, sizeof(why));
                if (rrc && err != NULL) {
                    size_t used = strlen(err);
                    if (used < err_size) {
                        mig_err(err + used, err_size - used, "; %s", why);
                    }
                }
            }
            return result;
        }
    }
    return PROTO_OK;
}

enum proto_rc col_store_migrate(sqlite3 *db, const char *path, char *err, size_t err_size)
{
    return col_store_migrate_with(db, col_migrations, COL_MIGRATION_COUNT, path, err, err_size);
}
