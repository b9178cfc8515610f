/* testutil: shared helpers for the unit tests. */
#define TESTUTIL_IMPLEMENTATION /* the real fflush and fclose below */
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef _WIN32
#include <windows.h>
#endif

#include <cmocka.h>

#ifdef RRAS_TESTUTIL_SQLITE
#include <sqlite3.h>
#endif

#include "alloc.h"
#include "bundle.h"
#include "diagnose.h"
#include "fix.h"
#include "json.h"
#include "uuid.h"

/* lstat(2); Windows has no lstat, and the test folders removed there hold no links. */
static int testutil_lstat(const char *path, struct stat *st)
{
#ifdef _WIN32
    return stat(path, st);
#else
    return lstat(path, st);
#endif
}

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

static void testutil_copy_file(const char *from, const char *to)
{
    size_t len = 0;
    char *data = testutil_read(from, &len);
    FILE *f = fopen(to, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    free(data);
}

static void testutil_copy_level(const char *from, const char *to, int depth)
{
    DIR *d = opendir(from);
    assert_non_null(d);
    assert_int_equal(mkdir(to, 0700), 0);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char a[4096], b[4096];
        struct stat st;
        if (e->d_name[0] == '.') {
            continue;
        }
        int na = snprintf(a, sizeof(a), "%s/%s", from, e->d_name);
        int nb = snprintf(b, sizeof(b), "%s/%s", to, e->d_name);
        assert_true(na > 0 && (size_t)na < sizeof(a) && nb > 0 && (size_t)nb < sizeof(b));
        assert_int_equal(stat(a, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            assert_true(depth < 2);
            testutil_copy_level(a, b, depth + 1);
        } else {
            testutil_copy_file(a, b);
        }
    }
    closedir(d);
}

void testutil_copy_tree(const char *from, const char *to)
{
    testutil_copy_level(from, to, 0);
}

void testutil_remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char a[4096];
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        int n = snprintf(a, sizeof(a), "%s/%s", dir, e->d_name);
        if (n <= 0 || (size_t)n >= sizeof(a)) {
            continue;
        }
        if (testutil_lstat(a, &st) == 0 && S_ISDIR(st.st_mode)) {
            testutil_remove_tree(a);
        } else {
            unlink(a);
        }
    }
    closedir(d);
    rmdir(dir);
}

#ifdef RRAS_TESTUTIL_SQLITE
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
#endif

void testutil_report_make(struct testutil_report *m, const char *bundle, const char *fqdn,
                          uint64_t seq, int64_t collected_at, int64_t now)
{
    char rel[256];
    struct proto_snapshot *snap = NULL;
    struct proto_policy policy = {0};
    memset(m, 0, sizeof(*m));
    snprintf(rel, sizeof(rel), "bundles/%s", bundle);
    assert_int_equal(proto_bundle_read(testutil_fixture(rel), &snap), PROTO_OK);
    proto_free(snap->host.fqdn);
    snap->host.fqdn = proto_strdup(fqdn);
    if (collected_at != 0) {
        snap->host.collected_at = collected_at;
    }
    m->rep = proto_report_create();
    assert_non_null(m->rep);
    proto_snapshot_destroy(m->rep->snapshot);
    m->rep->snapshot = snap;
    m->rep->seq = seq;
    assert_int_equal(proto_uuid_v4(m->rep->report_id), PROTO_OK);
    policy.has_expected_ca = true;
    assert_int_equal(
        proto_dn_parse("DC=com, DC=contoso, DC=corp, CN=corp-DC1-CA", &policy.expected_ca),
        PROTO_OK);
    policy.now = now;
    policy.expiry_days = 30;
    assert_int_equal(proto_diagnose(snap, &policy, &m->diag), PROTO_OK);
    proto_policy_clear(&policy);
    assert_int_equal(proto_json_encode_report(m->rep, 0, &m->body, &m->len), PROTO_OK);
}

struct proto_profile *testutil_fix_profile(const char *bundle, int mode, const char *profile_id,
                                           uint64_t serial, int64_t now)
{
    struct proto_snapshot *snap = NULL;
    struct proto_policy policy;
    struct proto_profile *profile = NULL;
    assert_int_equal(proto_bundle_read(bundle, &snap), PROTO_OK);
    memset(&policy, 0, sizeof(policy));
    assert_int_equal(
        proto_dn_parse("DC=com, DC=contoso, DC=corp, CN=corp-DC1-CA", &policy.expected_ca),
        PROTO_OK);
    policy.has_expected_ca = true;
    policy.now = now;
    policy.expiry_days = 30;
    struct proto_fix_params params = {
        .server_address = "131.107.0.2",
        .mode = (enum proto_profile_mode)mode,
        .profile_id = profile_id,
        .serial = serial,
        .not_before = now - 3600,
        .expires = now + 72 * 3600,
    };
    assert_int_equal(proto_fix_build(snap, &policy, &params, &profile), PROTO_OK);
    proto_policy_clear(&policy);
    proto_snapshot_destroy(snap);
    return profile;
}

void testutil_report_free(struct testutil_report *m)
{
    proto_diagnosis_destroy(m->diag);
    proto_report_destroy(m->rep);
    proto_free(m->body);
    memset(m, 0, sizeof(*m));
}

unsigned char *testutil_xalloc(size_t n)
{
    unsigned char *p = proto_malloc(n == 0 ? 1 : n);
    assert_non_null(p);
    return p;
}

bool testutil_all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0) {
            return false;
        }
    }
    return true;
}

#ifdef _WIN32
char *testutil_mkdtemp(char *tmpl)
{
    static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    static unsigned long counter;
    size_t len = strlen(tmpl);
    if (len < 6 || strcmp(tmpl + len - 6, "XXXXXX") != 0) {
        errno = EINVAL;
        return NULL;
    }
    for (int attempt = 0; attempt < 100; attempt++) {
        /* Unique enough between the tests of one run; _mkdir refuses a name taken meanwhile. */
        unsigned long v =
            (GetCurrentProcessId() * 2654435761u) ^ (GetTickCount() + counter++ * 7919u);
        for (size_t i = len - 6; i < len; i++) {
            tmpl[i] = chars[v % (sizeof(chars) - 1)];
            v /= sizeof(chars) - 1;
        }
        if (_mkdir(tmpl) == 0) {
            return tmpl;
        }
        if (errno != EEXIST) {
            return NULL;
        }
    }
    return NULL;
}

char *testutil_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *copy = malloc(len + 1);
    if (copy != NULL) {
        memcpy(copy, s, len);
        copy[len] = '\0';
    }
    return copy;
}

int testutil_rename(const char *from, const char *to)
{
    return MoveFileExA(from, to, MOVEFILE_REPLACE_EXISTING) ? 0 : -1;
}

int testutil_setenv(const char *name, const char *value, int overwrite)
{
    if (!overwrite && getenv(name) != NULL) {
        return 0;
    }
    return _putenv_s(name, value) == 0 ? 0 : -1;
}

int testutil_unsetenv(const char *name)
{
    /* An empty value removes the variable. */
    return _putenv_s(name, "") == 0 ? 0 : -1;
}

/* open_memstream(3) for the Windows build: a temporary file whose whole content is copied into
 * the caller's buffer at every fflush and at fclose, which is when POSIX updates it too. */
#define TESTUTIL_MEMSTREAMS 16
static struct {
    FILE *f;
    char **buf;
    size_t *size;
} testutil_memstreams[TESTUTIL_MEMSTREAMS];

static int testutil_memstream_slot(FILE *f)
{
    for (int i = 0; f != NULL && i < TESTUTIL_MEMSTREAMS; i++) {
        if (testutil_memstreams[i].f == f) {
            return i;
        }
    }
    return -1;
}

FILE *testutil_open_memstream(char **buf, size_t *size)
{
    int slot = testutil_memstream_slot(NULL);
    for (int i = 0; i < TESTUTIL_MEMSTREAMS && slot < 0; i++) {
        if (testutil_memstreams[i].f == NULL) {
            slot = i;
        }
    }
    FILE *f = slot >= 0 ? tmpfile() : NULL;
    if (f == NULL) {
        return NULL;
    }
    testutil_memstreams[slot].f = f;
    testutil_memstreams[slot].buf = buf;
    testutil_memstreams[slot].size = size;
    *buf = NULL;
    *size = 0;
    return f;
}

static int testutil_memstream_sync(int slot)
{
    FILE *f = testutil_memstreams[slot].f;
    if (fflush(f) != 0) {
        return -1;
    }
    long pos = ftell(f);
    if (pos < 0 || fseek(f, 0, SEEK_END) != 0) {
        return -1;
    }
    long end = ftell(f);
    if (end < 0 || fseek(f, 0, SEEK_SET) != 0) {
        return -1;
    }
    char *grown = realloc(*testutil_memstreams[slot].buf, (size_t)end + 1);
    if (grown == NULL) {
        return -1;
    }
    size_t got = fread(grown, 1, (size_t)end, f);
    grown[got] = '\0';
    *testutil_memstreams[slot].buf = grown;
    *testutil_memstreams[slot].size = got;
    return fseek(f, pos, SEEK_SET) == 0 ? 0 : -1;
}

int testutil_fflush(FILE *f)
{
    int slot = testutil_memstream_slot(f);
    return slot >= 0 ? testutil_memstream_sync(slot) : fflush(f);
}

int testutil_fclose(FILE *f)
{
    int slot = testutil_memstream_slot(f);
    int rc = slot >= 0 ? testutil_memstream_sync(slot) : 0;
    if (slot >= 0) {
        testutil_memstreams[slot].f = NULL;
    }
    return fclose(f) == 0 && rc == 0 ? 0 : -1;
}
#endif
