/* testutil: shared helpers for the unit tests. */
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>

#include <sqlite3.h>

const char *testutil_fixture(const char *relative)
{
    static char path[4096];
    int n = snprintf(path, sizeof(path), "%s/%s", RRAS_FIXTURES_DIR, relative);
    assert_true(n > 0 && (size_t)n < sizeof(path));
    return path;
}

char *testutil_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fail_msg("cannot open %s", path);
    }
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    assert_true(size >= 0);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    char *data = malloc((size_t)size + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    data[size] = '\0';
    if (len != NULL) {
        *len = (size_t)size;
    }
    return data;
}

void testutil_remove_flat_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d != NULL) {
        struct dirent *e;
        char path[4096];
        while ((e = readdir(d)) != NULL) {
            int n = snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            if (e->d_name[0] != '.' && n > 0 && (size_t)n < sizeof(path)) {
                unlink(path);
            }
        }
        closedir(d);
    }
    rmdir(dir);
}

int64_t testutil_sql_int(const char *db_path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return v;
}
