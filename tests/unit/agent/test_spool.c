/*
 * test_spool: the agent's durable outbox (agent/spool.c) on real folders under /tmp: order,
 * persistence of next_seq and the loss counters, overflow by count and bytes, quarantine of
 * every kind of damaged record, the lock between processes, the record checker on every
 * malformed header, and out-of-memory at each allocation of open, append and peek.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifndef _WIN32
#include <sys/wait.h>
#endif
#include <unistd.h>

#include "alloc.h"
#include "spool.h"
#include "testutil.h"

#define HDR AGENT_SPOOL_HEADER_BYTES

struct fixture {
    char root[64];
    char dir[128];
    char path[512]; /* scratch for fx_path */
};

/* ---- helpers ---- */

static void remove_tree(const char *path, int depth)
{
    DIR *d = depth < 4 ? opendir(path) : NULL;
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
                continue;
            }
            char child[512];
            int n = snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
            if (n > 0 && (size_t)n < sizeof(child)) {
                remove_tree(child, depth + 1);
            }
        }
        closedir(d);
        rmdir(path);
        return;
    }
    unlink(path);
}

static int fx_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        return -1;
    }
    snprintf(f->root, sizeof(f->root), "/tmp/rras-spool-XXXXXX");
    if (mkdtemp(f->root) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->dir, sizeof(f->dir), "%s/spool", f->root);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fixture *f = *state;
    remove_tree(f->root, 0);
    free(f);
    return 0;
}

/* "<spool>/<name>", or "<spool>/quarantine/<name>"; valid until the next call. */
static const char *fx_path(struct fixture *f, const char *sub, const char *name)
{
    int n = sub != NULL ? snprintf(f->path, sizeof(f->path), "%s/%s/%s", f->dir, sub, name)
                        : snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
    assert_true(n > 0 && (size_t)n < sizeof(f->path));
    return f->path;
}

static const char *fx_record(struct fixture *f, const char *sub, uint64_t seq)
{
    char name[32];
    snprintf(name, sizeof(name), "%020llu.rec", (unsigned long long)seq);
    return fx_path(f, sub, name);
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    unsigned char *buf = malloc(AGENT_SPOOL_MAX_RECORD_BYTES + HDR + 1);
    assert_non_null(buf);
    *len = fread(buf, 1, AGENT_SPOOL_MAX_RECORD_BYTES + HDR + 1, fp);
    fclose(fp);
    return buf;
}

/* Flips one byte of a file in place (a negative offset counts from the end). */
static void flip_byte(const char *path, long offset)
{
    size_t len = 0;
    unsigned char *buf = read_file(path, &len);
    size_t at = offset < 0 ? len - (size_t)(-offset) : (size_t)offset;
    assert_true(at < len);
    buf[at] ^= 0x40;
    write_file(path, buf, len);
    free(buf);
}

/* Writes a well-formed record file straight into the folder (no fsync: fast set-up). */
static void put_record(struct fixture *f, uint64_t seq, const char *body)
{
    unsigned char *rec = NULL;
    size_t len = 0;
    mkdir(f->dir, 0700);
    assert_int_equal(agent_spool_record_encode(seq, body, strlen(body), &rec, &len), PROTO_OK);
    write_file(fx_record(f, NULL, seq), rec, len);
    proto_free(rec);
}

static struct agent_spool *open_spool(struct fixture *f, size_t max_records, uint64_t max_bytes)
{
    struct agent_spool_limits limits = {.max_records = max_records, .max_bytes = max_bytes};
    struct agent_spool *sp = NULL;
    assert_int_equal(agent_spool_open(f->dir, &limits, &sp), PROTO_OK);
    assert_non_null(sp);
    return sp;
}

static struct agent_spool *open_default(struct fixture *f)
{
    return open_spool(f, 100, 1024 * 1024);
}

static uint64_t append_text(struct agent_spool *sp, const char *text)
{
    uint64_t seq = 0;
    assert_int_equal(agent_spool_append(sp, text, strlen(text), &seq), PROTO_OK);
    return seq;
}

/* Peeks and checks the oldest record is `seq` with body `text`. */
static void expect_peek(struct agent_spool *sp, uint64_t seq, const char *text)
{
    uint64_t got_seq = 0;
    char *body = NULL;
    size_t len = 0;
    assert_int_equal(agent_spool_peek(sp, &got_seq, &body, &len), PROTO_OK);
    assert_int_equal(got_seq, seq);
    assert_int_equal(len, strlen(text));
    assert_memory_equal(body, text, len);
    assert_int_equal(body[len], '\0');
    proto_free(body);
}

static void expect_empty(struct agent_spool *sp)
{
    uint64_t seq = 99;
    char *body = (char *)"untouched";
    size_t len = 99;
    assert_int_equal(agent_spool_peek(sp, &seq, &body, &len), PROTO_ENOTFOUND);
    assert_null(body);
    assert_int_equal(len, 0);
}

static struct agent_spool_stats stats_of(const struct agent_spool *sp)
{
    struct agent_spool_stats st;
    agent_spool_stats(sp, &st);
    return st;
}

static size_t count_entries(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    if (d == NULL) {
        return 0;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name), slen = strlen(suffix);
        if (e->d_name[0] != '.' && len >= slen && strcmp(e->d_name + len - slen, suffix) == 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

/* ---- order, acknowledgement, persistence ---- */

static void test_records_come_back_in_append_order_and_leave_only_when_acknowledged(void **state)
{
    struct fixture *f = *state;
    struct agent_spool *sp = open_default(f);

    assert_int_equal(agent_spool_next_seq(sp), 1);
    assert_int_equal(append_text(sp, "first"), 1);
    assert_int_equal(append_text(sp, "second"), 2);
    assert_int_equal(append_text(sp, "third"), 3);
    assert_int_equal(stats_of(sp).records, 3);
    assert_int_equal(stats_of(sp).bytes, 3 * HDR + 5 + 6 + 5);

    expect_peek(sp, 1, "first");
    expect_peek(sp, 1, "first"); /* peeking does not consume */
    assert_int_equal(agent_spool_ack(sp, 1), PROTO_OK);
    assert_false(exists(fx_record(f, NULL, 1)));
    expect_peek(sp, 2, "second");
    assert_int_equal(agent_spool_ack(sp, 2), PROTO_OK);
    expect_peek(sp, 3, "third");
    assert_int_equal(agent_spool_ack(sp, 3), PROTO_OK);
    expect_empty(sp);
    assert_int_equal(stats_of(sp).records, 0);
    assert_int_equal(stats_of(sp).bytes, 0);
    assert_int_equal(count_entries(f->dir, ".rec"), 0);
    agent_spool_close(sp);
}

static void test_an_empty_body_is_a_valid_record(void **state)
{
    struct fixture *f = *state;
    struct agent_spool *sp = open_default(f);
    uint64_t seq = 0;
    assert_int_equal(agent_spool_append(sp, NULL, 0, &seq), PROTO_OK);
    assert_int_equal(seq, 1);
    expect_peek(sp, 1, "");
    agent_spool_close(sp);
}

static void test_reopening_keeps_the_records_and_the_next_sequence_number(void **state)
{
    struct fixture *f = *state;
    struct agent_spool *sp = open_default(f);
    append_text(sp, "{\"a\":1}");
    append_text(sp, "{\"b\":2}");
    agent_spool_close(sp);

    sp = open_default(f);
    assert_int_equal(stats_of(sp).records, 2);
    assert_int_equal(agent_spool_next_seq(sp), 3);
    expect_peek(sp, 1, "{\"a\":1}");
    assert_int_equal(agent_spool_ack(sp, 1), PROTO_OK);
    assert_int_equal(append_text(sp, "{\"c\":3}"), 3);
    agent_spool_close(sp);
}

static void test_sequence_numbers_are_not_reused_after_every_record_was_acknowledged(void **state)
{
    struct fixture *f = *state;
    struct agent_spool *sp = open_default(f);
    for (int i = 0; i < 3; i++) {
        uint64_t seq = append_text(sp, "x");
        assert_int_equal(agent_spool_ack(sp, seq), PROTO_OK);
    }
    agent_spool_close(sp);

    sp = open_default(f);
    assert_int_equal(stats_of(sp).records, 0);
    assert_int_equal(agent_spool_next_seq(sp), 4);
    assert_int_equal(append_text(sp, "y"), 4);
    agent_spool_close(sp);
}

static void test_a_lost_state_file_resumes_after_the_highest_record_with_zero_counts(void **state)
{
    struct fixture *f = *state;
    struct agent_spool *sp = open_spool(f, 3, 1024 * 1024);
    for (int i = 0; i < 5; i++) {
        append_text(sp, "r");
    }
    assert_int_equal(stats_of(sp).dropped, 2);
    assert_int_equal(agent_spool_ack(sp, 3), PROTO_OK);
    agent_spool_close(sp);

    assert_int_equal(unlink(fx_path(f, NULL, "state")), 0);
    sp = open_spool(f, 3, 1024 * 1024);
    assert_int_equal(agent_spool_next_seq(sp), 6);
    assert_int_equal(stats_of(sp).dropped, 0);
    assert_int_equal(stats_of(sp).quarantined, 0);
    assert_int_equal(stats_of(sp).records, 2);
    assert_true(exists(fx_path(f, NULL, "state"))); /* rewritten at open */
    agent_spool_close(sp);
}

static void test_a_lost_state_file_with_an_empty_spool_restarts_at_one(void **state)
{
    /* Documented limit: with neither state nor records there is nothing to resume from (the
     * collector deduplicates by report_id, so a reused seq cannot merge two reports). */
    struct fixture *f = *state;
    struct agent_spool *sp = open_default(f);
    uint64_t seq = append_text(sp, "x");
    assert_int_equal(agent_spool_ack(sp, seq), PROTO_OK);
    agent_spool_close(sp);

    assert_int_equal(unlink(fx_path(f, NULL, "state")), 0);
    sp = open_default(f);
    assert_int_equal(agent_spool_next_seq(sp), 1);
    agent_spool_close(sp);
}

static void test_a_corrupt_state_file_is_not_fatal(void **state)
{
    struct fixture *f = *state;
    struct agent_spool *sp = open_default(f);
    append_text(sp, "a");
    append_text(sp, "b");
    agent_spool_close(sp);

    flip_byte(fx_path(f, NULL, "state"), 14); /* inside next_seq: the checksum catches it */
    sp = open_default(f);
    assert_int_equal(agent_spool_next_seq(sp), 3);
    assert_int_equal(stats_of(sp).records, 2);
    agent_spool_close(sp);

    write_file(fx_path(f, NULL, "state"), "garbage", 7);
    sp = open_default(f);
    assert_int_equal(agent_spool_next_seq(sp), 3);
    agent_spool_close(sp);
}

static void test_the_state_never_puts_next_seq_below_the_records_on_disk(void **state)
{
    struct fixture *f = *state;
    struct agent_spool *sp = open_default(f);
    append_text(sp, "a");
    agent_spool_close(sp);

    put_record(f, 40, "written by an older run"); /* a valid record the state never saw */
    sp = open_default(f);
    assert_int_equal(agent_spool_next_seq(sp), 41);
    expect_peek(sp, 1, "a");
    assert_int_equal(agent_spool_ack(sp, 1), PROTO_OK);
    expect_peek(sp, 40, "written by an older run");
    agent_spool_close(sp);
}

/* ---- overflow ---- */

static void test_overflow_by_count_drops_the_oldest_and_counts_them(void **state)
{
    struct fixture *f = *state;
    struct agent_spool *sp = open_spool(f, 3, 1024 * 1024);
    for (int i = 1; i <= 5; i++) {
        assert_int_equal(append_text(sp, "body"), (uint64_t)i);
    }
    struct agent_spool_stats st = stats_of(sp);
    assert_int_equal(st.records, 3);
    assert_int_equal(st.dropped, 2);
    assert_int_equal(st.bytes, 3 * (HDR + 4));
    assert_false(exists(fx_record(f, NULL, 1)));
    assert_false(exists(fx_record(f, NULL, 2)));
    expect_peek(sp, 3, "body");
    agent_spool_close(sp);
}

static void test_overflow_by_bytes_drops_as_many_of_the_oldest_as_needed(void **state)
{
    struct fixture *f = *state;
    struct agent_spool *sp = open_spool(f, 100, 3 * (HDR + 10));
    append_text(sp, "0123456789");
    append_text(sp, "0123456789");
    append_text(sp, "0123456789");
    assert_int_equal(stats_of(sp).dropped, 0);
    assert_int_equal(stats_of(sp).bytes, 3 * (HDR + 10));

    append_text(sp, "0123456789"); /* one must go */
    assert_int_equal(stats_of(sp).dropped, 1);
    expect_peek(sp, 2, "0123456789");

    char big[HDR + 20 + 1];
    memset(big, 'B', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(append_text(sp, big), 5); /* HDR + 80 bytes: two more must go */
    struct agent_spool_stats st = stats_of(sp);
    assert_int_equal(st.dropped, 3);
    assert_int_equal(st.records, 2);
    assert_int_equal(st.bytes, (HDR + 10) + (HDR + sizeof(big) - 1));
    assert_true(st.bytes <= 3 * (HDR + 10));
    expect_peek(sp, 4, "0123456789");
    agent_spool_close(sp);
}

static void test_a_body_over_the_caps_is_refused_and_changes_nothing(void **state)
{
    struct fixture *f = *state;
    struct agent_spool *sp = open_spool(f, 10, 100);
    uint64_t seq = 0;
    char body[41];
    memset(body, 'x', sizeof(body));
    append_text(sp, "kept");
    assert_int_equal(agent_spool_append(sp, body, 41, &seq), PROTO_ELIMIT); /* HDR + 41 > 100 */
    assert_int_equal(agent_spool_append(sp, body, 40, &seq), PROTO_OK);     /* exactly 100 */
    assert_int_equal(seq, 2);
    assert_int_equal(stats_of(sp).dropped, 1);
    agent_spool_close(sp);

    sp = open_spool(f, 10, UINT64_MAX);
    char *huge = malloc(AGENT_SPOOL_MAX_RECORD_BYTES + 1);
    assert_non_null(huge);
    memset(huge, 'h', AGENT_SPOOL_MAX_RECORD_BYTES + 1);
    assert_int_equal(agent_spool_append(sp, huge, AGENT_SPOOL_MAX_RECORD_BYTES + 1, &seq),
                     PROTO_ELIMIT);
    assert_int_equal(stats_of(sp).records, 1);
    assert_int_equal(agent_spool_next_seq(sp), 3);
    free(huge);
    agent_spool_close(sp);
}

static void test_records_beyond_the_caps_at_open_are_dropped_oldest_first_and_counted(void **state)
{
    struct fixture *f = *state;
    struct agent_spool *sp = open_spool(f, 10, 1024 * 1024);
    for (int i = 0; i < 6; i++) {
        append_text(sp, "0123456789");
    }
    agent_spool_close(sp);

    sp = open_spool(f, 4, 1024 * 1024); /* the operator lowered the count cap */
    assert_int_equal(stats_of(sp).records, 4);
    assert_int_equal(stats_of(sp).dropped, 2);
    expect_peek(sp, 3, "0123456789");
    agent_spool_close(sp);

    sp = open_spool(f, 4, 2 * (HDR + 10)); /* ... and then the byte cap */
    assert_int_equal(stats_of(sp).records, 2);
    assert_int_equal(stats_of(sp).dropped, 4);
    expect_peek(sp, 5, "0123456789");
    assert_int_equal(agent_spool_next_seq(sp), 7);
    agent_spool_close(sp);
}

static void test_a_folder_of_many_records_is_trimmed_while_scanning(void **state)
{
    struct fixture *f = *state;
    for (uint64_t seq = 1; seq <= 600; seq++) {
        put_record(f, seq, "many");
    }
    struct agent_spool *sp = open_spool(f, 2, 1024 * 1024);
    struct agent_spool_stats st = stats_of(sp);
    assert_int_equal(st.records, 2);
    assert_int_equal(st.dropped, 598);
    assert_int_equal(st.next_seq, 601);
    assert_int_equal(count_entries(f->dir, ".rec"), 2);
    expect_peek(sp, 599, "many");
    agent_spool_close(sp);
}

/* ---- damaged records ---- */

static void
test_a_corrupt_body_byte_is_quarantined_on_peek_and_the_next_record_returned(void **state)
{
    struct fixture *f = *state;
    struct agent_spool *sp = open_default(f);
    append_text(sp, "will be damaged");
    append_text(sp, "intact");
    flip_byte(fx_record(f, NULL, 1), -1);

    expect_peek(sp, 2, "intact");
    struct agent_spool_stats st = stats_of(sp);
    assert_int_equal(st.quarantined, 1);
    assert_int_equal(st.records, 1);
    assert_int_equal(st.bytes, HDR + 6);
    assert_false(exists(fx_record(f, NULL, 1)));
    assert_true(exists(fx_record(f, "quarantine", 1)));
    agent_spool_close(sp);

    sp = open_default(f); /* the count is persisted */
    assert_int_equal(stats_of(sp).quarantined, 1);
    agent_spool_close(sp);
}

static void test_a_damaged_body_that_passes_open_is_caught_by_peek_after_a_restart(void **state)
{
    struct fixture *f = *state;
    struct agent_spool *sp = open_default(f);
    append_text(sp, "only");
    agent_spool_close(sp);
    flip_byte(fx_record(f, NULL, 1), HDR); /* open checks headers only */

    sp = open_default(f);
    assert_int_equal(stats_of(sp).records, 1);
    expect_empty(sp);
    assert_int_equal(stats_of(sp).quarantined, 1);
    assert_int_equal(stats_of(sp).records, 0);
    agent_spool_close(sp);
}

static void test_truncated_records_are_quarantined_at_open(void **state)
{
    struct fixture *f = *state;
    struct agent_spool *sp = open_default(f);
    append_text(sp, "cut inside the header");
    append_text(sp, "cut inside the body");
    append_text(sp, "whole");
    agent_spool_close(sp);
    assert_int_equal(truncate(fx_record(f, NULL, 1), 30), 0);
    assert_int_equal(truncate(fx_record(f, NULL, 2), HDR + 3), 0);

    sp = open_default(f);
    assert_int_equal(stats_of(sp).quarantined, 2);
    assert_int_equal(stats_of(sp).records, 1);
    assert_true(exists(fx_record(f, "quarantine", 1)));
    assert_true(exists(fx_record(f, "quarantine", 2)));
    expect_peek(sp, 3, "whole");
    agent_spool_close(sp);
}

static void test_an_empty_record_file_is_quarantined(void **state)
{
    struct fixture *f = *state;
    mkdir(f->dir, 0700);
    write_file(fx_record(f, NULL, 9), "", 0);
    struct agent_spool *sp = open_default(f);
    assert_int_equal(stats_of(sp).quarantined, 1);
    assert_int_equal(agent_spool_next_seq(sp), 1); /* its name is not trusted */
    agent_spool_close(sp);
}

static void test_a_record_with_the_wrong_magic_is_quarantined_by_peek(void **state)
{
    struct fixture *f = *state;
    struct agent_spool *sp = open_default(f);
    append_text(sp, "a");
    append_text(sp, "b");
    flip_byte(fx_record(f, NULL, 1), 0); /* damaged while the spool is open */

    expect_peek(sp, 2, "b");
    assert_int_equal(stats_of(sp).quarantined, 1);
    assert_true(exists(fx_record(f, "quarantine", 1)));
    agent_spool_close(sp);
}

static void test_a_record_whose_name_and_header_disagree_is_quarantined(void **state)
{
    struct fixture *f = *state;
    struct agent_spool *sp = open_default(f);
    append_text(sp, "a");
    append_text(sp, "b");
    agent_spool_close(sp);
    char from[512];
    snprintf(from, sizeof(from), "%s", fx_record(f, NULL, 1));
    assert_int_equal(rename(from, fx_record(f, NULL, 7)), 0);

    sp = open_default(f);
    assert_int_equal(stats_of(sp).quarantined, 1);
    assert_int_equal(agent_spool_next_seq(sp), 3); /* the bogus name 7 is not believed */
    assert_true(exists(fx_record(f, "quarantine", 7)));
    expect_peek(sp, 2, "b");
    agent_spool_close(sp);
}

static void test_a_record_renamed_while_open_is_quarantined_by_peek(void **state)
{
    struct fixture *f = *state;
    struct agent_spool *sp = open_default(f);
    append_text(sp, "a");
    append_text(sp, "b");
    /* Record 2's bytes under record 1's name: the header check at peek catches it. */
    char from[512];
    snprintf(from, sizeof(from), "%s", fx_record(f, NULL, 2));
    size_t len = 0;
    unsigned char *bytes = read_file(from, &len);
    write_file(fx_record(f, NULL, 1), bytes, len);
    free(bytes);

    expect_peek(sp, 2, "b");
    assert_int_equal(stats_of(sp).quarantined, 1);
    agent_spool_close(sp);
}

static void test_a_record_removed_behind_the_spools_back_is_counted_and_skipped(void **state)
{
    struct fixture *f = *state;
    struct agent_spool *sp = open_default(f);
    append_text(sp, "a");
    append_text(sp, "b");
    assert_int_equal(unlink(fx_record(f, NULL, 1)), 0);

    expect_peek(sp, 2, "b");
    assert_int_equal(stats_of(sp).quarantined, 1);
    assert_int_equal(stats_of(sp).records, 1);
    agent_spool_close(sp);
}

static void test_quarantine_keeps_only_the_newest_hundred_files(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(mkdir(f->dir, 0700), 0);
    assert_int_equal(mkdir(fx_path(f, NULL, "quarantine"), 0700), 0);
    for (uint64_t seq = 10; seq < 10 + AGENT_SPOOL_MAX_QUARANTINE + 5; seq++) {
        write_file(fx_record(f, "quarantine", seq), "old", 3);
    }
    write_file(fx_path(f, "quarantine", "README"), "not a record", 12);
    put_record(f, 500, "newest");
    flip_byte(fx_record(f, NULL, 500), -1);

    struct agent_spool *sp = open_default(f);
    expect_empty(sp);
    assert_int_equal(stats_of(sp).quarantined, 1);
    char qdir[512];
    snprintf(qdir, sizeof(qdir), "%s", fx_path(f, NULL, "quarantine"));
    assert_int_equal(count_entries(qdir, ".rec"), AGENT_SPOOL_MAX_QUARANTINE);
    assert_true(exists(fx_record(f, "quarantine", 500)));
    assert_false(exists(fx_record(f, "quarantine", 15)));
    assert_true(exists(fx_record(f, "quarantine", 16)));
    assert_true(exists(fx_path(f, "quarantine", "README")));
    agent_spool_close(sp);
}

/* ---- the folder ---- */

static void test_leftover_temporary_files_are_removed_at_open(void **state)
{
    struct fixture *f = *state;
    struct agent_spool *sp = open_default(f);
    append_text(sp, "a");
    agent_spool_close(sp);
    write_file(fx_path(f, NULL, "tmp-2"), "half a rec", 10);
    write_file(fx_path(f, NULL, "tmp-state"), "half a state", 12);

    sp = open_default(f);
    assert_false(exists(fx_path(f, NULL, "tmp-2")));
    assert_false(exists(fx_path(f, NULL, "tmp-state")));
    assert_int_equal(stats_of(sp).records, 1);
    assert_int_equal(stats_of(sp).quarantined, 0);
    assert_int_equal(append_text(sp, "b"), 2);
    agent_spool_close(sp);
}

static void test_files_that_are_not_records_are_left_alone(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(mkdir(f->dir, 0700), 0);
    write_file(fx_path(f, NULL, "notes.txt"), "x", 1);
    write_file(fx_path(f, NULL, "123.rec"), "x", 1);
    write_file(fx_path(f, NULL, "0000000000000000000x.rec"), "x", 1);
    write_file(fx_path(f, NULL, "99999999999999999999.rec"), "x", 1); /* over UINT64_MAX */
    assert_int_equal(mkdir(fx_record(f, NULL, 3), 0700), 0);          /* a folder */

    struct agent_spool *sp = open_default(f);
    assert_int_equal(stats_of(sp).records, 0);
    assert_int_equal(stats_of(sp).quarantined, 0);
    assert_true(exists(fx_path(f, NULL, "notes.txt")));
    assert_true(exists(fx_path(f, NULL, "123.rec")));
    assert_true(exists(fx_path(f, NULL, "99999999999999999999.rec")));
    assert_true(exists(fx_record(f, NULL, 3)));
    agent_spool_close(sp);
}

static void test_open_creates_missing_parent_folders(void **state)
{
    struct fixture *f = *state;
    snprintf(f->dir, sizeof(f->dir), "%s/a/b/spool", f->root);
    struct agent_spool *sp = open_default(f);
    assert_int_equal(append_text(sp, "deep"), 1);
    agent_spool_close(sp);
}

static void test_open_rejects_invalid_arguments(void **state)
{
    struct fixture *f = *state;
    struct agent_spool *sp = (struct agent_spool *)f; /* must be reset to NULL */
    struct agent_spool_limits ok = {.max_records = 1, .max_bytes = 1};
    struct agent_spool_limits no_records = {.max_records = 0, .max_bytes = 100};
    struct agent_spool_limits no_bytes = {.max_records = 1, .max_bytes = 0};
    struct agent_spool_limits too_many = {.max_records = AGENT_SPOOL_MAX_RECORDS + 1,
                                          .max_bytes = 100};
    assert_int_equal(agent_spool_open(f->dir, &no_records, &sp), PROTO_EINVAL);
    assert_null(sp);
    assert_int_equal(agent_spool_open(f->dir, &no_bytes, &sp), PROTO_EINVAL);
    assert_int_equal(agent_spool_open(f->dir, &too_many, &sp), PROTO_EINVAL);
    assert_int_equal(agent_spool_open(NULL, &ok, &sp), PROTO_EINVAL);
    assert_int_equal(agent_spool_open("", &ok, &sp), PROTO_EINVAL);
    assert_int_equal(agent_spool_open(f->dir, NULL, &sp), PROTO_EINVAL);
    assert_int_equal(agent_spool_open(f->dir, &ok, NULL), PROTO_EINVAL);
    write_file(f->dir, "file", 4);
    assert_int_equal(agent_spool_open(f->dir, &ok, &sp), PROTO_EIO); /* a file, not a folder */
    assert_null(sp);
    agent_spool_close(NULL);
}

static void test_ack_of_a_sequence_number_not_in_the_spool_is_not_found(void **state)
{
    struct fixture *f = *state;
    struct agent_spool *sp = open_default(f);
    append_text(sp, "a");
    append_text(sp, "b");
    assert_int_equal(agent_spool_ack(sp, 7), PROTO_ENOTFOUND);
    assert_int_equal(agent_spool_ack(sp, 2), PROTO_OK); /* out of order is allowed */
    assert_int_equal(agent_spool_ack(sp, 2), PROTO_ENOTFOUND);
    expect_peek(sp, 1, "a");
    agent_spool_close(sp);
}

#ifndef _WIN32
/* fcntl locks belong to a process, so the second opener runs in a child. */
static int open_elsewhere(const char *dir)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct agent_spool_limits limits = {.max_records = 10, .max_bytes = 1024};
        struct agent_spool *sp = NULL;
        enum proto_rc rc = agent_spool_open(dir, &limits, &sp);
        agent_spool_close(sp);
        _exit((int)rc);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}
#else
/* LockFileEx locks belong to a handle: a second opener in this process is refused as another
 * process would be (Windows has no fork). */
static int open_elsewhere(const char *dir)
{
    struct agent_spool_limits limits = {.max_records = 10, .max_bytes = 1024};
    struct agent_spool *sp = NULL;
    enum proto_rc rc = agent_spool_open(dir, &limits, &sp);
    agent_spool_close(sp);
    return (int)rc;
}
#endif

static void test_a_second_process_cannot_open_the_spool_while_it_is_open(void **state)
{
    struct fixture *f = *state;
    struct agent_spool *sp = open_default(f);
    append_text(sp, "mine");
    assert_int_equal(open_elsewhere(f->dir), PROTO_EUNAVAILABLE);
    expect_peek(sp, 1, "mine"); /* the refused opener changed nothing */
    agent_spool_close(sp);
    assert_int_equal(open_elsewhere(f->dir), PROTO_OK); /* released by close */
}

/* ---- loss counters ---- */

static void test_reset_loss_subtracts_the_reported_counts_and_persists(void **state)
{
    struct fixture *f = *state;
    struct agent_spool *sp = open_spool(f, 2, 1024 * 1024);
    for (int i = 0; i < 5; i++) {
        append_text(sp, "r");
    }
    flip_byte(fx_record(f, NULL, 4), -1);
    expect_peek(sp, 5, "r");
    assert_int_equal(stats_of(sp).dropped, 3);
    assert_int_equal(stats_of(sp).quarantined, 1);

    /* A report carried dropped=2, quarantined=1; one more drop happened since. */
    assert_int_equal(agent_spool_reset_loss(sp, 2, 1), PROTO_OK);
    assert_int_equal(stats_of(sp).dropped, 1);
    assert_int_equal(stats_of(sp).quarantined, 0);
    agent_spool_close(sp);

    sp = open_spool(f, 2, 1024 * 1024);
    assert_int_equal(stats_of(sp).dropped, 1);
    assert_int_equal(stats_of(sp).quarantined, 0);
    assert_int_equal(agent_spool_reset_loss(sp, 9, 9), PROTO_OK); /* never below zero */
    assert_int_equal(stats_of(sp).dropped, 0);
    assert_int_equal(agent_spool_reset_loss(sp, 0, 0), PROTO_OK);
    agent_spool_close(sp);
}

/* ---- the record format ---- */

static void test_an_encoded_record_has_the_documented_little_endian_layout(void **state)
{
    (void)state;
    static const unsigned char sha_abc[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
                                              0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
                                              0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
                                              0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    static const unsigned char head[28] = {'R', 'R', 'S',  'P',  'O',  'O',  'L',  '1',  1,    0,
                                           0,   0,   0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
                                           3,   0,   0,    0,    0,    0,    0,    0};
    unsigned char *rec = NULL;
    size_t len = 0, off = 0, body_len = 0;
    uint64_t seq = 0;

    assert_int_equal(agent_spool_record_encode(0x0102030405060708ull, "abc", 3, &rec, &len),
                     PROTO_OK);
    assert_int_equal(len, HDR + 3);
    assert_memory_equal(rec, head, sizeof(head));
    assert_memory_equal(rec + 28, sha_abc, sizeof(sha_abc));
    assert_memory_equal(rec + HDR, "abc", 3);
    assert_int_equal(agent_spool_record_check(rec, len, &seq, &off, &body_len), PROTO_OK);
    assert_int_equal(seq, 0x0102030405060708ull);
    assert_int_equal(off, HDR);
    assert_int_equal(body_len, 3);
    proto_free(rec);
}

/* Expects `want` from the record checker for these bytes. */
static void expect_record_check(const unsigned char *data, size_t len, enum proto_rc want)
{
    uint64_t seq = 0;
    size_t off = 0, body_len = 0;
    assert_int_equal(agent_spool_record_check(data, len, &seq, &off, &body_len), want);
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static void test_record_check_rejects_every_malformed_header(void **state)
{
    (void)state;
    unsigned char *rec = NULL;
    size_t len = 0;
    assert_int_equal(agent_spool_record_encode(5, "hello", 5, &rec, &len), PROTO_OK);
    unsigned char *bad = malloc(len + 1);
    assert_non_null(bad);
    uint64_t seq;
    size_t off, body_len;

    expect_record_check(rec, len, PROTO_OK);
    expect_record_check(rec, 0, PROTO_EPARSE);
    expect_record_check(NULL, 0, PROTO_EPARSE);
    expect_record_check(rec, HDR - 1, PROTO_EPARSE); /* shorter than a header */
    expect_record_check(rec, HDR, PROTO_EPARSE); /* header that promises a body that is missing */
    expect_record_check(rec, len - 1, PROTO_EPARSE);

    struct {
        size_t at;
        unsigned char value;
        enum proto_rc want;
    } bytes[] = {
        {0, 'X', PROTO_EPARSE},   /* magic */
        {7, '2', PROTO_EPARSE},   /* magic's version digit */
        {8, 0, PROTO_EPARSE},     /* version 0 */
        {8, 2, PROTO_EPARSE},     /* version 2 */
        {11, 1, PROTO_EPARSE},    /* version 0x01000001 */
        {28, 0x00, PROTO_EPARSE}, /* first checksum byte */
        {59, 0x00, PROTO_EPARSE}, /* last checksum byte */
        {HDR, 'H', PROTO_EPARSE}, /* body byte */
        {len - 1, 'O', PROTO_EPARSE},
    };
    for (size_t i = 0; i < sizeof(bytes) / sizeof(bytes[0]); i++) {
        memcpy(bad, rec, len);
        if (bad[bytes[i].at] == bytes[i].value) {
            bad[bytes[i].at] ^= 0xff;
        } else {
            bad[bytes[i].at] = bytes[i].value;
        }
        expect_record_check(bad, len, bytes[i].want);
    }

    struct {
        size_t at;
        uint64_t value;
        enum proto_rc want;
    } fields[] = {
        {12, 0, PROTO_EPARSE},                                   /* seq 0 is never handed out */
        {12, UINT64_MAX, PROTO_EPARSE},                          /* has no successor */
        {20, 4, PROTO_EPARSE},                                   /* length too short */
        {20, 6, PROTO_EPARSE},                                   /* length too long */
        {20, 0, PROTO_EPARSE},                                   /* length zero */
        {20, AGENT_SPOOL_MAX_RECORD_BYTES + 1ull, PROTO_ELIMIT}, /* over the cap */
        {20, UINT64_MAX, PROTO_ELIMIT},                          /* absurd */
        {20, (uint64_t)1 << 32 | 5, PROTO_ELIMIT},               /* right low bits, high set */
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        memcpy(bad, rec, len);
        put_le64(bad + fields[i].at, fields[i].value);
        expect_record_check(bad, len, fields[i].want);
    }

    /* A trailing byte the length does not cover. */
    memcpy(bad, rec, len);
    bad[len] = '!';
    expect_record_check(bad, len + 1, PROTO_EPARSE);

    /* A different seq with a valid checksum is fine for the checker (the spool compares the
     * seq with the file name). */
    memcpy(bad, rec, len);
    put_le64(bad + 12, 6);
    expect_record_check(bad, len, PROTO_OK);

    assert_int_equal(agent_spool_record_check(rec, len, NULL, &off, &body_len), PROTO_EINVAL);
    assert_int_equal(agent_spool_record_check(rec, len, &seq, NULL, &body_len), PROTO_EINVAL);
    assert_int_equal(agent_spool_record_check(rec, len, &seq, &off, NULL), PROTO_EINVAL);
    assert_int_equal(agent_spool_record_check(NULL, HDR, &seq, &off, &body_len), PROTO_EINVAL);
    free(bad);
    proto_free(rec);
}

static void test_record_encode_rejects_what_the_checker_would_refuse(void **state)
{
    (void)state;
    unsigned char *rec = (unsigned char *)"sentinel";
    size_t len = 1;
    assert_int_equal(agent_spool_record_encode(0, "a", 1, &rec, &len), PROTO_EINVAL);
    assert_int_equal(agent_spool_record_encode(UINT64_MAX, "a", 1, &rec, &len), PROTO_EINVAL);
    assert_int_equal(agent_spool_record_encode(1, NULL, 1, &rec, &len), PROTO_EINVAL);
    assert_int_equal(agent_spool_record_encode(1, "a", 1, NULL, &len), PROTO_EINVAL);
    assert_int_equal(
        agent_spool_record_encode(1, "a", AGENT_SPOOL_MAX_RECORD_BYTES + 1, &rec, &len),
        PROTO_ELIMIT);
    assert_null(rec);
    assert_int_equal(len, 0);
}

/* ---- out of memory ---- */

static void test_out_of_memory_in_open_append_and_peek_fails_cleanly(void **state)
{
    struct fixture *f = *state;
    struct agent_spool_limits limits = {.max_records = 20, .max_bytes = 1024 * 1024};
    enum proto_rc rc = PROTO_ENOMEM;
    unsigned long n;

    for (n = 1; rc != PROTO_OK && n < 1000; n++) {
        /* 20 records: the index outgrows its first allocation, and append must drop one. */
        remove_tree(f->dir, 0);
        for (uint64_t seq = 1; seq <= 20; seq++) {
            put_record(f, seq, "{\"report\":true}");
        }
        struct agent_spool *sp = NULL;
        uint64_t seq = 0;
        char *body = NULL;
        size_t len = 0;

        proto_alloc_fail_after(n);
        rc = agent_spool_open(f->dir, &limits, &sp);
        if (rc == PROTO_OK) {
            rc = agent_spool_append(sp, "new", 3, &seq);
            if (rc != PROTO_OK) {
                proto_alloc_fail_after(0);
                assert_int_equal(stats_of(sp).records, 20);
                assert_int_equal(stats_of(sp).dropped, 0);
                assert_int_equal(agent_spool_next_seq(sp), 21);
                assert_false(exists(fx_record(f, NULL, 21)));
            }
        } else {
            assert_null(sp);
        }
        if (rc == PROTO_OK) {
            rc = agent_spool_peek(sp, &seq, &body, &len);
            if (rc != PROTO_OK) {
                assert_null(body);
                assert_int_equal(stats_of(sp).quarantined, 0);
                assert_int_equal(stats_of(sp).records, 20);
            }
        }
        proto_alloc_fail_after(0);
        if (rc != PROTO_OK) {
            assert_int_equal(rc, PROTO_ENOMEM);
        } else {
            assert_int_equal(seq, 2);
            assert_string_equal(body, "{\"report\":true}");
        }
        proto_free(body);
        agent_spool_close(sp);
    }
    assert_int_equal(rc, PROTO_OK);
    print_message("spool open/append/peek survived %lu failing allocation points\n", n - 1);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_records_come_back_in_append_order_and_leave_only_when_acknowledged),
        T(test_an_empty_body_is_a_valid_record),
        T(test_reopening_keeps_the_records_and_the_next_sequence_number),
        T(test_sequence_numbers_are_not_reused_after_every_record_was_acknowledged),
        T(test_a_lost_state_file_resumes_after_the_highest_record_with_zero_counts),
        T(test_a_lost_state_file_with_an_empty_spool_restarts_at_one),
        T(test_a_corrupt_state_file_is_not_fatal),
        T(test_the_state_never_puts_next_seq_below_the_records_on_disk),
        T(test_overflow_by_count_drops_the_oldest_and_counts_them),
        T(test_overflow_by_bytes_drops_as_many_of_the_oldest_as_needed),
        T(test_a_body_over_the_caps_is_refused_and_changes_nothing),
        T(test_records_beyond_the_caps_at_open_are_dropped_oldest_first_and_counted),
        T(test_a_folder_of_many_records_is_trimmed_while_scanning),
        T(test_a_corrupt_body_byte_is_quarantined_on_peek_and_the_next_record_returned),
        T(test_a_damaged_body_that_passes_open_is_caught_by_peek_after_a_restart),
        T(test_truncated_records_are_quarantined_at_open),
        T(test_an_empty_record_file_is_quarantined),
        T(test_a_record_with_the_wrong_magic_is_quarantined_by_peek),
        T(test_a_record_whose_name_and_header_disagree_is_quarantined),
        T(test_a_record_renamed_while_open_is_quarantined_by_peek),
        T(test_a_record_removed_behind_the_spools_back_is_counted_and_skipped),
        T(test_quarantine_keeps_only_the_newest_hundred_files),
        T(test_leftover_temporary_files_are_removed_at_open),
        T(test_files_that_are_not_records_are_left_alone),
        T(test_open_creates_missing_parent_folders),
        T(test_open_rejects_invalid_arguments),
        T(test_ack_of_a_sequence_number_not_in_the_spool_is_not_found),
        T(test_a_second_process_cannot_open_the_spool_while_it_is_open),
        T(test_reset_loss_subtracts_the_reported_counts_and_persists),
        T(test_an_encoded_record_has_the_documented_little_endian_layout),
        T(test_record_check_rejects_every_malformed_header),
        T(test_record_encode_rejects_what_the_checker_would_refuse),
        T(test_out_of_memory_in_open_append_and_peek_fails_cleanly),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
