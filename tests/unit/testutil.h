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
 * database file (so it sees only what was committed). Fails the test on any error. */
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

/* proto_malloc(n) (at least 1 byte); fails the test when it returns NULL. */
unsigned char *testutil_xalloc(size_t n);

/* Whether p[0..n) are all zero bytes. */
bool testutil_all_zero(const unsigned char *p, size_t n);

#endif
