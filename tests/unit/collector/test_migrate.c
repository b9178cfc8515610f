/* Unit tests of collector/store_migrate: schema versions by PRAGMA user_version, the backup
 * taken before migrating a non-empty database and its restore when a migration fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "alloc.h"
#include "migrate_int.h"
#include "schema_sql.h"
#include "store.h"

struct fx {
    char dir[64];
    char db[128];
    char bak[160];
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_migrate-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof(f->db), "%s/collector.db", f->dir);
    snprintf(f->bak, sizeof(f->bak), "%s.bak-v%d", f->db,
             col_migrations[COL_MIGRATION_COUNT - 1].version);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    testutil_remove_flat_dir(f->dir);
    free(f);
    return 0;
}

static int64_t sql_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
}

/* Opens (making it, as an older collector would have) a database file of the owner's only: the
 * store refuses one that others may read (decision 016). */
static sqlite3 *raw_open(const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(chmod(path, 0600), 0);
    sqlite3_busy_timeout(db, 5000);
    return db;
}

static bool exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* A store at the built-in schema with one token (and so one audit row) in it. */
static void make_populated(const struct fx *f)
{
    struct col_store *st = NULL;
    char err[256];
    char token[COL_TOKEN_MAX];
    assert_int_equal(col_store_open(f->db, &st, err, sizeof(err)), PROTO_OK);
    assert_int_equal(col_store_token_create(st, COL_ROLE_VIEWER, "keep-me", "admin", token, NULL),
                     PROTO_OK);
    col_store_close(st);
}

static void test_empty_database_is_migrated_to_the_latest_version(void **state)
{
    struct fx *f = *state;
    make_populated(f);
    sqlite3 *db = raw_open(f->db);
    assert_int_equal(sql_int(db, "PRAGMA user_version"),
                     col_migrations[COL_MIGRATION_COUNT - 1].version);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                                 "name IN ('hosts', 'reports', 'report_bodies', 'certs', "
                                 "'rules', 'findings', 'finding_history', 'tokens', 'audit')"),
                     9);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"), 2);
    sqlite3_close(db);
    /* A new database has nothing worth a backup. */
    char bak0[200];
    snprintf(bak0, sizeof(bak0), "%s.bak-v0", f->db);
    assert_false(exists(bak0));
}

static void test_database_is_left_in_wal_mode(void **state)
{
    struct fx *f = *state;
    make_populated(f);
    sqlite3 *db = raw_open(f->db);
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "wal");
    sqlite3_finalize(stmt);
    sqlite3_close(db);
}

static void test_reopening_keeps_the_version_and_takes_no_backup(void **state)
{
    struct fx *f = *state;
    make_populated(f);
    struct col_store *st = NULL;
    char err[256];
    assert_int_equal(col_store_open(f->db, &st, err, sizeof(err)), PROTO_OK);
    col_store_close(st);
    assert_int_equal(col_store_open(f->db, &st, err, sizeof(err)), PROTO_OK);
    col_store_close(st);
    sqlite3 *db = raw_open(f->db);
    assert_int_equal(sql_int(db, "PRAGMA user_version"),
                     col_migrations[COL_MIGRATION_COUNT - 1].version);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM tokens WHERE name = 'keep-me'"), 1);
    sqlite3_close(db);
    assert_false(exists(f->bak));
}

static void test_new_migration_is_applied_after_a_backup(void **state)
{
    struct fx *f = *state;
    make_populated(f);
    struct col_migration list[COL_MIGRATION_COUNT + 1];
    memcpy(list, col_migrations, sizeof(col_migrations));
    int next = col_migrations[COL_MIGRATION_COUNT - 1].version + 1;
    list[COL_MIGRATION_COUNT] =
        (struct col_migration){next, "999_extra", "CREATE TABLE extra (x INTEGER);"};
    sqlite3 *db = raw_open(f->db);
    char err[256] = "";
    assert_int_equal(
        col_store_migrate_with(db, list, COL_MIGRATION_COUNT + 1, f->db, err, sizeof(err)),
        PROTO_OK);
    assert_int_equal(sql_int(db, "PRAGMA user_version"), next);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM extra"), 0);
    sqlite3_close(db);
    assert_true(exists(f->bak));
    /* It holds what the database holds (token hashes, the audit trail): the owner's only. */
    struct stat sb;
    assert_int_equal(stat(f->bak, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    /* The backup is the database as it was before. */
    db = raw_open(f->bak);
    assert_int_equal(sql_int(db, "PRAGMA user_version"), next - 1);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'extra'"), 0);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM tokens WHERE name = 'keep-me'"), 1);
    sqlite3_close(db);
}

static void test_failing_migration_restores_the_backup_and_old_data(void **state)
{
    struct fx *f = *state;
    make_populated(f);
    struct col_migration list[COL_MIGRATION_COUNT + 2];
    memcpy(list, col_migrations, sizeof(col_migrations));
    int next = col_migrations[COL_MIGRATION_COUNT - 1].version + 1;
    /* The first new migration succeeds and destroys data; the second fails. Only the backup
     * can bring the first one's damage back. */
    list[COL_MIGRATION_COUNT] = (struct col_migration){
        next, "998_destructive", "DELETE FROM tokens; CREATE TABLE extra (x INTEGER);"};
    list[COL_MIGRATION_COUNT + 1] =
        (struct col_migration){next + 1, "999_broken", "INSERT INTO no_such_table VALUES (1);"};
    sqlite3 *db = raw_open(f->db);
    sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
    char err[256] = "";
    enum proto_rc rc =
        col_store_migrate_with(db, list, COL_MIGRATION_COUNT + 2, f->db, err, sizeof(err));
    assert_int_not_equal(rc, PROTO_OK);
    assert_non_null(strstr(err, "999_broken"));
    assert_int_equal(sql_int(db, "PRAGMA user_version"), next - 1);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM tokens WHERE name = 'keep-me'"), 1);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM audit"), 1);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'extra'"), 0);
    sqlite3_close(db);
    assert_true(exists(f->bak));

    /* The restored database still opens and works. */
    struct col_store *st = NULL;
    assert_int_equal(col_store_open(f->db, &st, err, sizeof(err)), PROTO_OK);
    char token[COL_TOKEN_MAX];
    assert_int_equal(col_store_token_create(st, COL_ROLE_VIEWER, "after", "admin", token, NULL),
                     PROTO_OK);
    col_store_close(st);
}

static void test_newer_database_is_refused(void **state)
{
    struct fx *f = *state;
    make_populated(f);
    sqlite3 *db = raw_open(f->db);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    struct col_store *st = NULL;
    char err[256] = "";
    assert_int_equal(col_store_open(f->db, &st, err, sizeof(err)), PROTO_EUNSUPPORTED);
    assert_null(st);
    assert_non_null(strstr(err, "newer"));
}

static void test_migration_list_out_of_order_is_rejected(void **state)
{
    struct fx *f = *state;
    const struct col_migration list[] = {
        {2, "002_b", "CREATE TABLE b (x);"},
        {1, "001_a", "CREATE TABLE a (x);"},
    };
    sqlite3 *db = raw_open(f->db);
    char err[256] = "";
    assert_int_equal(col_store_migrate_with(db, list, 2, NULL, err, sizeof(err)), PROTO_EINVAL);
    assert_int_equal(sql_int(db, "PRAGMA user_version"), 0);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM sqlite_master"), 0);
    sqlite3_close(db);
}

static void test_failing_first_migration_of_an_empty_database_leaves_it_empty(void **state)
{
    struct fx *f = *state;
    const struct col_migration list[] = {
        {1, "001_half", "CREATE TABLE a (x); CREATE TABLE a (y);"},
    };
    sqlite3 *db = raw_open(f->db);
    char err[256] = "";
    assert_int_not_equal(col_store_migrate_with(db, list, 1, f->db, err, sizeof(err)), PROTO_OK);
    assert_non_null(strstr(err, "001_half"));
    assert_int_equal(sql_int(db, "PRAGMA user_version"), 0);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM sqlite_master"), 0);
    sqlite3_close(db);
}

/* 002_snapshot_dedup rebuilds `reports`: what version 1 stored must read the same after it. */
static void test_version_1_reports_survive_the_snapshot_migration(void **state)
{
    struct fx *f = *state;
    char err[256];
    sqlite3 *db = raw_open(f->db);
    assert_int_equal(col_migrations[0].version, 1);
    assert_int_equal(col_store_migrate_with(db, col_migrations, 1, f->db, err, sizeof(err)),
                     PROTO_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "INSERT INTO report_bodies VALUES ('h1', "
                     "'{\"report_id\":\"r1\",\"snapshot\":{\"certs\":[],\"errors\":[]}}', 58);"
                     "INSERT INTO hosts (fqdn, first_seen, last_seen, collected_at, "
                     "last_report_id, last_seq, automatic_policy, latest_body_hash) VALUES "
                     "('legacy.example.org', 100, 200, 150, 'r1', 7, 1, 'h1');"
                     "INSERT INTO reports (report_id, host_id, seq, collected_at, received_at, "
                     "body_hash) VALUES ('r1', 1, 7, 150, 200, 'h1');",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);

    struct col_store *st = NULL;
    assert_int_equal(col_store_open(f->db, &st, err, sizeof(err)), PROTO_OK);
    struct col_host_detail *d = NULL;
    assert_int_equal(col_store_host_detail(st, "legacy.example.org", &d), PROTO_OK);
    /* The snapshot is the "snapshot" member of the whole version 1 body, byte for byte. */
    assert_string_equal(d->snapshot_json, "{\"certs\":[],\"errors\":[]}");
    assert_int_equal(d->snapshot_len, strlen(d->snapshot_json));
    assert_int_equal(d->spool_dropped, 0);
    assert_int_equal(d->last_seq, 7);
    assert_int_equal(d->collected_at, 150);
    col_store_host_detail_destroy(d);
    int64_t deleted = -1;
    assert_int_equal(col_store_prune(st, 1000, &deleted), PROTO_OK);
    assert_int_equal(deleted, 0); /* the host's latest report */
    col_store_close(st);

    db = raw_open(f->db);
    assert_int_equal(sql_int(db, "PRAGMA user_version"),
                     col_migrations[COL_MIGRATION_COUNT - 1].version);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM reports WHERE report_id = 'r1' AND "
                                 "body_hash = 'h1' AND seq = 7 AND envelope IS NULL"),
                     1);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM report_bodies"), 1);
    /* A row with neither a version 1 body nor an envelope is refused. */
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO reports (report_id, host_id, seq, collected_at, "
                                  "received_at) VALUES ('r2', 1, 8, 151, 201)",
                                  NULL, NULL, NULL),
                     SQLITE_CONSTRAINT);
    sqlite3_close(db);
}

/* 003_remediation adds tables beside version 2's: a version 2 database keeps its rows, gains
 * empty profile tables, and their constraints hold (one active profile per host, unique serial
 * per host, a result_id once across hosts). */
static void test_version_2_database_gains_the_remediation_tables(void **state)
{
    struct fx *f = *state;
    char err[256];
    sqlite3 *db = raw_open(f->db);
    assert_int_equal(col_migrations[1].version, 2);
    assert_int_equal(col_store_migrate_with(db, col_migrations, 2, f->db, err, sizeof(err)),
                     PROTO_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO hosts (fqdn, first_seen, last_seen, collected_at, "
                                  "last_report_id, last_seq, automatic_policy) VALUES "
                                  "('v2.example.org', 100, 200, 150, 'r1', 7, 1)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);

    struct col_store *st = NULL;
    assert_int_equal(col_store_open(f->db, &st, err, sizeof(err)), PROTO_OK);
    col_store_close(st);

    db = raw_open(f->db);
    assert_int_equal(sql_int(db, "PRAGMA user_version"), 3);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM hosts WHERE fqdn = 'v2.example.org'"), 1);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM profiles"), 0);
    static const char profile_fmt[] =
        "INSERT INTO profiles (id, host, serial, mode, state, reason, envelope, not_before, "
        "expires, created_at, created_by) VALUES ('%s', '%s', %d, 'apply', '%s', '[]', '{}', 1, "
        "2, 1, 'test')";
    char sql[512];
    snprintf(sql, sizeof(sql), profile_fmt, "p1", "v2.example.org", 1, "created");
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    /* A second active profile for the host (any case) is refused; a cancelled one is not. */
    snprintf(sql, sizeof(sql), profile_fmt, "p2", "V2.example.org", 2, "assigned");
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_CONSTRAINT);
    snprintf(sql, sizeof(sql), profile_fmt, "p2", "v2.example.org", 2, "cancelled");
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    snprintf(sql, sizeof(sql), profile_fmt, "p3", "v2.example.org", 2, "cancelled");
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_CONSTRAINT); /* serial */
    snprintf(sql, sizeof(sql), profile_fmt, "p4", "v2.example.org", 3, "expired");
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_CONSTRAINT); /* state */
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO profile_results VALUES ('r1', 'v2.example.org', "
                                  "'p1', 'applied', '', 1, 2, '{}')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO profile_results VALUES ('r1', 'other.example.org', "
                                  "'p1', 'applied', '', 1, 2, '{}')",
                                  NULL, NULL, NULL),
                     SQLITE_CONSTRAINT);
    sqlite3_close(db);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

int main(void)
{
    proto_alloc_install_cjson_hooks();
    const struct CMUnitTest tests[] = {
        T(test_empty_database_is_migrated_to_the_latest_version),
        T(test_database_is_left_in_wal_mode),
        T(test_reopening_keeps_the_version_and_takes_no_backup),
        T(test_new_migration_is_applied_after_a_backup),
        T(test_failing_migration_restores_the_backup_and_old_data),
        T(test_newer_database_is_refused),
        T(test_migration_list_out_of_order_is_rejected),
        T(test_failing_first_migration_of_an_empty_database_leaves_it_empty),
        T(test_version_1_reports_survive_the_snapshot_migration),
        T(test_version_2_database_gains_the_remediation_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
