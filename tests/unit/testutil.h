/*
 * testutil: helpers shared by the cmocka unit tests (fixture paths, whole-file reads).
 * Test-only code; aborts the test on failure rather than returning errors.
 */
#ifndef RRAS_TESTUTIL_H
#define RRAS_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Absolute path of a file under tests/fixtures; borrowed static buffer, valid until next call. */
const char *testutil_fixture(const char *relative);

/* Whole file, NUL-terminated; caller frees with free(). Fails the test if unreadable. */
char *testutil_read(const char *path, size_t *len);

/* Removes the plain files directly inside `dir`, then `dir` itself (test temp folders are flat).
 * Errors are ignored: cleanup must not fail a test. */
void testutil_remove_flat_dir(const char *dir);

/* Copies a folder of files and subfolders (a capture bundle: at most two levels) to `to`, which
 * must not exist (made 0700). Fails the test on any error. */
void testutil_copy_tree(const char *from, const char *to);

/* Removes `dir` with everything in it, without following symbolic links. Errors are ignored:
 * cleanup must not fail a test. */
void testutil_remove_tree(const char *dir);

/* The first column of the first row of `sql`, read through a fresh read-only connection to the
 * database file (so it sees only what was committed). Fails the test on any error. Only in
 * builds with the collector (RRAS_TESTUTIL_SQLITE), which brings SQLite. */
int64_t testutil_sql_int(const char *db_path, const char *sql);

/* An agent report as the collector receives it, built from a capture-bundle fixture: the
 * bundle's snapshot as host `fqdn`, a fresh report_id, `seq`, diagnosed at `now` with the fixture
 * policy (expected CA corp-DC1-CA, 30-day horizon) and encoded compactly. A `collected_at` of 0
 * keeps the bundle's. Release with testutil_report_free. */
struct proto_report;
struct proto_diagnosis;
struct testutil_report {
    struct proto_report *rep;
    struct proto_diagnosis *diag;
    char *body;
    size_t len;
};
void testutil_report_make(struct testutil_report *m, const char *bundle, const char *fqdn,
                          uint64_t seq, int64_t collected_at, int64_t now);
void testutil_report_free(struct testutil_report *m);

/* The KB 2855053 fix (proto_fix_build) for the capture bundle at `bundle` under the fixture
 * policy (expected CA corp-DC1-CA, 30-day horizon) at `now`: server 131.107.0.2, valid from an
 * hour before `now` for 72 hours. Caller destroys with proto_wire_profile_destroy. */
struct proto_profile;
struct proto_profile *testutil_fix_profile(const char *bundle, int mode, const char *profile_id,
                                           uint64_t serial, int64_t now);

/* proto_malloc(n) (at least 1 byte); fails the test when it returns NULL. */
unsigned char *testutil_xalloc(size_t n);

/* Whether p[0..n) are all zero bytes. */
bool testutil_all_zero(const unsigned char *p, size_t n);

#ifdef _WIN32
/* The POSIX calls the tests use, for the Windows build (mingw-w64, run under Wine, where "/tmp/"
 * is Z:\tmp). The headers that declare mkdir (one argument on mingw) and rename come first, so
 * the macros cannot meet those declarations later. Test-only: the agent has agent/os. */
#include <direct.h>
#include <io.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* mkdtemp(3): replaces the trailing XXXXXX of `tmpl` and creates that folder; NULL on failure. */
char *testutil_mkdtemp(char *tmpl);
/* rename(2): replaces an existing `to`, which the C runtime's rename refuses. */
int testutil_rename(const char *from, const char *to);
/* setenv(3) and unsetenv(3) over _putenv_s; 0 on success, -1 on failure. */
int testutil_setenv(const char *name, const char *value, int overwrite);
int testutil_unsetenv(const char *name);

/* open_memstream(3); the buffer is updated at every fflush and at fclose, as on POSIX (both
 * are redirected here in test files). */
FILE *testutil_open_memstream(char **buf, size_t *size);
int testutil_fflush(FILE *f);
int testutil_fclose(FILE *f);

#ifndef TESTUTIL_IMPLEMENTATION
#define open_memstream(buf, size) testutil_open_memstream(buf, size)
#define fflush(f) testutil_fflush(f)
#define fclose(f) testutil_fclose(f)
#endif
/* strndup(3). */
char *testutil_strndup(const char *s, size_t n);
#define strndup(s, n) testutil_strndup(s, n)
/* lstat(2): the test folders hold no links on Windows. */
#define lstat(path, st) stat(path, st)
#define mkdtemp(tmpl) testutil_mkdtemp(tmpl)
#define mkdir(path, mode) ((void)(mode), _mkdir(path))
#define rename(from, to) testutil_rename(from, to)
#define setenv(name, value, overwrite) testutil_setenv(name, value, overwrite)
#define unsetenv(name) testutil_unsetenv(name)
#endif

#endif
