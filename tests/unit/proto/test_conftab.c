/* test_conftab: the declarative configuration table: defaults, values, files, flags, output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "conftab.h"
#include "testutil.h"

struct settings {
    char name[8];
    unsigned long count;
    bool enabled;
    char path[64];
};

static const struct proto_conf_entry table[] = {
    {"name", PROTO_CONF_STRING, "abc", 0, 0, offsetof(struct settings, name),
     sizeof(((struct settings *)0)->name), "A short name"},
    {"count", PROTO_CONF_UINT, "10", 1, 100, offsetof(struct settings, count), 0,
     "How many | of them"},
    {"enabled", PROTO_CONF_BOOL, "true", 0, 0, offsetof(struct settings, enabled), 0, "Switch"},
    {"path", PROTO_CONF_STRING, "", 0, 0, offsetof(struct settings, path),
     sizeof(((struct settings *)0)->path), "A file"},
};
#define TABLE_COUNT (sizeof(table) / sizeof(table[0]))

struct fixture {
    struct settings s;
    struct proto_conf conf;
    char err[256];
    char path[64];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(proto_conf_init(&f->conf, table, TABLE_COUNT, &f->s), PROTO_OK);
    int n = snprintf(f->path, sizeof(f->path), "/tmp/test_conftab.%ld.conf", (long)getpid());
    assert_true(n > 0 && (size_t)n < sizeof(f->path));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    proto_conf_free(&f->conf);
    unlink(f->path);
    free(f);
    return 0;
}

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static enum proto_rc load_text(struct fixture *f, const char *text)
{
    write_file(f->path, text, strlen(text));
    return proto_conf_load_file(&f->conf, f->path, f->err, sizeof(f->err));
}

static enum proto_rc set(struct fixture *f, const char *key, const char *value)
{
    return proto_conf_set(&f->conf, key, value, PROTO_CONF_FROM_REGISTRY, f->err, sizeof(f->err));
}

/* The error message after the "PATH:" prefix, so tests need not spell out the temp path. */
static const char *after_path(struct fixture *f)
{
    size_t n = strlen(f->path);
    assert_memory_equal(f->err, f->path, n);
    return f->err + n;
}

/* ---- defaults and single values ---------------------------------------------------------- */

static void test_init_applies_every_default_with_default_origin(void **state)
{
    struct fixture *f = *state;
    assert_string_equal(f->s.name, "abc");
    assert_int_equal(f->s.count, 10);
    assert_true(f->s.enabled);
    assert_string_equal(f->s.path, "");
    for (size_t i = 0; i < TABLE_COUNT; i++) {
        assert_int_equal(f->conf.origins[i], PROTO_CONF_FROM_DEFAULT);
    }
}

static void test_init_refuses_a_default_that_does_not_parse(void **state)
{
    (void)state;
    static const struct proto_conf_entry bad[] = {
        {"count", PROTO_CONF_UINT, "1000", 1, 100, offsetof(struct settings, count), 0, "x"},
    };
    struct settings s;
    struct proto_conf conf;
    assert_int_equal(proto_conf_init(&conf, bad, 1, &s), PROTO_EINVAL);
    assert_null(conf.origins);
    proto_conf_free(&conf); /* still safe */
}

static void test_init_reports_allocation_failure(void **state)
{
    (void)state;
    struct settings s;
    struct proto_conf conf;
    proto_alloc_fail_after(1);
    enum proto_rc rc = proto_conf_init(&conf, table, TABLE_COUNT, &s);
    proto_alloc_fail_after(0);
    assert_int_equal(rc, PROTO_ENOMEM);
}

static void test_set_records_value_and_origin(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(set(f, "count", "42"), PROTO_OK);
    assert_int_equal(f->s.count, 42);
    assert_int_equal(f->conf.origins[1], PROTO_CONF_FROM_REGISTRY);
    assert_string_equal(f->err, "");
}

static void test_set_names_an_unknown_key(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(set(f, "colour", "red"), PROTO_ENOTFOUND);
    assert_string_equal(f->err, "unknown key 'colour'");
}

static void test_values_are_trimmed_and_quotes_stripped(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(set(f, "count", "  7\t"), PROTO_OK);
    assert_int_equal(f->s.count, 7);
    assert_int_equal(set(f, "count", "\"8\""), PROTO_OK);
    assert_int_equal(f->s.count, 8);
    assert_int_equal(set(f, "path", " \" a b \" "), PROTO_OK);
    assert_string_equal(f->s.path, " a b "); /* quotes keep inner blanks */
    assert_int_equal(set(f, "path", "\"\""), PROTO_OK);
    assert_string_equal(f->s.path, "");
    assert_int_equal(set(f, "path", "\""), PROTO_OK); /* a lone quote is just a character */
    assert_string_equal(f->s.path, "\"");
}

static void test_uint_out_of_range_names_the_range(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(set(f, "count", "0"), PROTO_ELIMIT);
    assert_string_equal(f->err, "'count': expected 1..100, got 0");
    assert_int_equal(set(f, "count", "101"), PROTO_ELIMIT);
    assert_int_equal(set(f, "count", "100"), PROTO_OK);
    assert_int_equal(set(f, "count", "1"), PROTO_OK);
    assert_int_equal(f->s.count, 1);
}

static void test_uint_refuses_signs_blanks_garbage_and_overflow(void **state)
{
    struct fixture *f = *state;
    static const char *const bad[] = {"-1", "+5", "", "5x", "0x10", "1 2", "1.5", "ten", "\"\""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(set(f, "count", bad[i]), PROTO_EPARSE);
        assert_non_null(strstr(f->err, "expected an unsigned integer"));
    }
    assert_int_equal(set(f, "count", "99999999999999999999999999"), PROTO_ELIMIT);
    assert_int_equal(f->s.count, 10); /* nothing stored by any failure */
    assert_int_equal(f->conf.origins[1], PROTO_CONF_FROM_DEFAULT);
}

static void test_uint_accepts_the_full_unsigned_long_range_when_allowed(void **state)
{
    (void)state;
    static const struct proto_conf_entry wide[] = {
        {"count", PROTO_CONF_UINT, "0", 0, ULONG_MAX, offsetof(struct settings, count), 0, "x"},
    };
    struct settings s;
    struct proto_conf conf;
    char err[128];
    char max[32];
    assert_int_equal(proto_conf_init(&conf, wide, 1, &s), PROTO_OK);
    snprintf(max, sizeof(max), "%lu", ULONG_MAX);
    assert_int_equal(proto_conf_set(&conf, "count", max, PROTO_CONF_FROM_FLAG, err, sizeof(err)),
                     PROTO_OK);
    assert_true(s.count == ULONG_MAX);
    proto_conf_free(&conf);
}

static void test_bool_accepts_every_word_in_any_case(void **state)
{
    struct fixture *f = *state;
    static const char *const yes[] = {"true", "YES", "1", "On"};
    static const char *const no[] = {"false", "No", "0", "OFF"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(set(f, "enabled", no[i]), PROTO_OK);
        assert_false(f->s.enabled);
        assert_int_equal(set(f, "enabled", yes[i]), PROTO_OK);
        assert_true(f->s.enabled);
    }
    assert_int_equal(set(f, "enabled", "maybe"), PROTO_EPARSE);
    assert_non_null(strstr(f->err, "'enabled': expected true/false"));
    assert_int_equal(set(f, "enabled", "2"), PROTO_EPARSE);
}

static void test_string_longer_than_its_array_is_refused_and_fitting_one_stored(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(set(f, "name", "1234567"), PROTO_OK); /* size 8: 7 chars + NUL */
    assert_string_equal(f->s.name, "1234567");
    assert_int_equal(set(f, "name", "12345678"), PROTO_ELIMIT);
    assert_string_equal(f->err, "'name': longer than 7 bytes");
    assert_string_equal(f->s.name, "1234567");
}

static void test_error_messages_quote_values_safely(void **state)
{
    struct fixture *f = *state;
    char value[200];
    memset(value, '9', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    value[0] = 'x';
    value[1] = '\x1b'; /* an escape sequence must not reach the terminal */
    assert_int_equal(set(f, "count", value), PROTO_EPARSE);
    assert_null(strchr(f->err, '\x1b'));
    assert_non_null(strstr(f->err, "x?999"));
    assert_non_null(strstr(f->err, "...'"));
}

/* ---- files --------------------------------------------------------------------------------- */

static void test_file_sets_values_with_file_origin(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_text(f, "# comment\n"
                                  "\n"
                                  "   # indented comment\n"
                                  "count = 55\n"
                                  "name=xyz\n"
                                  "  enabled   =   off  \n"
                                  "path = \"/etc/some file\"\n"),
                     PROTO_OK);
    assert_int_equal(f->s.count, 55);
    assert_string_equal(f->s.name, "xyz");
    assert_false(f->s.enabled);
    assert_string_equal(f->s.path, "/etc/some file");
    for (size_t i = 0; i < TABLE_COUNT; i++) {
        assert_int_equal(f->conf.origins[i], PROTO_CONF_FROM_FILE);
    }
}

static void test_file_keeps_unmentioned_defaults(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_text(f, "count = 3\n"), PROTO_OK);
    assert_string_equal(f->s.name, "abc");
    assert_int_equal(f->conf.origins[0], PROTO_CONF_FROM_DEFAULT);
    assert_int_equal(f->conf.origins[1], PROTO_CONF_FROM_FILE);
}

static void test_duplicate_key_in_file_takes_the_later_value(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_text(f, "count = 3\ncount = 4\n"), PROTO_OK);
    assert_int_equal(f->s.count, 4);
}

static void test_crlf_lines_bom_and_missing_final_newline_are_read(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_text(f, "\xEF\xBB\xBF"
                                  "count = 12\r\nname = win\r\npath = C:\\x"),
                     PROTO_OK);
    assert_int_equal(f->s.count, 12);
    assert_string_equal(f->s.name, "win");
    assert_string_equal(f->s.path, "C:\\x");
}

static void test_trailing_comments_are_cut_but_hash_inside_values_kept(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_text(f, "count = 9   # nine\n"
                                  "name = a#b\n"
                                  "path = \"x # y\"  # quoted keeps the hash\n"),
                     PROTO_OK);
    assert_int_equal(f->s.count, 9);
    assert_string_equal(f->s.name, "a#b");
    assert_string_equal(f->s.path, "x # y");
}

static void test_quoted_value_may_hold_quotes(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_text(f, "path = \"say \"hi\" now\"\n"), PROTO_OK);
    assert_string_equal(f->s.path, "say \"hi\" now");
}

static void test_unterminated_quote_is_an_error_with_line_number(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_text(f, "count = 1\npath = \"open\n"), PROTO_EPARSE);
    assert_string_equal(after_path(f),
                        ":2: 'path': unterminated quote, or text after the closing quote");
}

static void test_unknown_key_in_file_names_file_and_line(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_text(f, "count = 1\n\n# x\ncolour = red\n"), PROTO_EPARSE);
    assert_string_equal(after_path(f), ":4: unknown key 'colour'");
}

static void test_line_without_equals_or_key_is_an_error(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_text(f, "count 5\n"), PROTO_EPARSE);
    assert_string_equal(after_path(f), ":1: expected 'key = value'");
    assert_int_equal(load_text(f, " = 5\n"), PROTO_EPARSE);
    assert_string_equal(after_path(f), ":1: missing key before '='");
}

static void test_bad_value_in_file_carries_line_and_reason(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_text(f, "name = ok\ncount = -3\n"), PROTO_EPARSE);
    assert_string_equal(after_path(f), ":2: 'count': expected an unsigned integer, got '-3'");
    assert_int_equal(load_text(f, "count = 500\n"), PROTO_ELIMIT);
    assert_string_equal(after_path(f), ":1: 'count': expected 1..100, got 500");
}

static void test_file_stops_at_the_first_bad_line(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_text(f, "count = 2\nbogus\ncount = 3\n"), PROTO_EPARSE);
    assert_int_equal(f->s.count, 2);
}

static void test_line_longer_than_4096_bytes_is_refused_with_its_number(void **state)
{
    struct fixture *f = *state;
    size_t n = 4096;
    char *text = malloc(n + 64);
    assert_non_null(text);
    int head = snprintf(text, n + 64, "count = 1\npath = ");
    assert_true(head > 0);
    memset(text + head, 'a', n - 7 + 1); /* "path = " + filler = 4097 bytes */
    memcpy(text + head + n - 7 + 1, "\n", 2);
    assert_int_equal(load_text(f, text), PROTO_ELIMIT);
    assert_string_equal(after_path(f), ":2: line longer than 4096 bytes");
    /* exactly 4096 is a line like any other (here a too-long string, so ELIMIT for another
     * reason, which the message tells apart) */
    memcpy(text + head + n - 7, "\n", 2);
    assert_int_equal(load_text(f, text), PROTO_ELIMIT);
    assert_string_equal(after_path(f), ":2: 'path': longer than 63 bytes");
    free(text);
}

static void test_file_larger_than_one_mebibyte_is_refused(void **state)
{
    struct fixture *f = *state;
    size_t n = 1024 * 1024 + 1;
    char *text = malloc(n);
    assert_non_null(text);
    memset(text, '\n', n);
    write_file(f->path, text, n);
    assert_int_equal(proto_conf_load_file(&f->conf, f->path, f->err, sizeof(f->err)), PROTO_ELIMIT);
    assert_string_equal(after_path(f), ": larger than 1048576 bytes");
    write_file(f->path, text, n - 1); /* exactly the cap is fine */
    assert_int_equal(proto_conf_load_file(&f->conf, f->path, f->err, sizeof(f->err)), PROTO_OK);
    free(text);
}

static void test_nul_byte_in_file_is_an_error(void **state)
{
    struct fixture *f = *state;
    write_file(f->path, "count = 1\nname = a\0b\n", 22);
    assert_int_equal(proto_conf_load_file(&f->conf, f->path, f->err, sizeof(f->err)), PROTO_EPARSE);
    assert_string_equal(after_path(f), ":2: NUL byte in line");
}

static void test_missing_file_is_not_found(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(
        proto_conf_load_file(&f->conf, "/nonexistent/rrasfleet.conf", f->err, sizeof(f->err)),
        PROTO_ENOTFOUND);
    assert_non_null(strstr(f->err, "/nonexistent/rrasfleet.conf"));
}

static void test_empty_file_changes_nothing(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_text(f, ""), PROTO_OK);
    assert_int_equal(f->s.count, 10);
}

static void test_file_load_reports_allocation_failure_and_changes_nothing(void **state)
{
    struct fixture *f = *state;
    write_file(f->path, "count = 5\n", 10);
    proto_alloc_fail_after(1);
    enum proto_rc rc = proto_conf_load_file(&f->conf, f->path, f->err, sizeof(f->err));
    proto_alloc_fail_after(0);
    assert_int_equal(rc, PROTO_ENOMEM);
    assert_int_equal(f->s.count, 10);
}

/* ---- flags --------------------------------------------------------------------------------- */

static void test_flags_in_both_forms_and_spellings_are_consumed(void **state)
{
    struct fixture *f = *state;
    char *argv[] = {"prog", "serve", "--count", "10", "--name=q", "--enabled", "no", NULL};
    int argc_out = -1;
    assert_int_equal(
        proto_conf_apply_flags(&f->conf, 7, argv, 1, &argc_out, f->err, sizeof(f->err)), PROTO_OK);
    assert_int_equal(argc_out, 2);
    assert_string_equal(argv[1], "serve");
    assert_null(argv[2]);
    assert_int_equal(f->s.count, 10);
    assert_int_equal(f->conf.origins[1], PROTO_CONF_FROM_FLAG);
    assert_string_equal(f->s.name, "q");
    assert_false(f->s.enabled);
}

static void test_flag_accepts_dashes_or_underscores(void **state)
{
    (void)state;
    static const struct proto_conf_entry t[] = {
        {"max_connections", PROTO_CONF_UINT, "1", 1, 100, offsetof(struct settings, count), 0, "x"},
    };
    struct settings s;
    struct proto_conf conf;
    char err[128];
    assert_int_equal(proto_conf_init(&conf, t, 1, &s), PROTO_OK);
    char *a1[] = {"p", "--max-connections", "10"};
    int n = 0;
    assert_int_equal(proto_conf_apply_flags(&conf, 3, a1, 1, &n, err, sizeof(err)), PROTO_OK);
    assert_int_equal(n, 1);
    assert_int_equal(s.count, 10);
    char *a2[] = {"p", "--max_connections=11"};
    assert_int_equal(proto_conf_apply_flags(&conf, 2, a2, 1, &n, err, sizeof(err)), PROTO_OK);
    assert_int_equal(s.count, 11);
    char *a3[] = {"p", "--max-connections=0"};
    assert_int_equal(proto_conf_apply_flags(&conf, 2, a3, 1, &n, err, sizeof(err)), PROTO_ELIMIT);
    assert_string_equal(err, "--max-connections: 'max_connections': expected 1..100, got 0");
    proto_conf_free(&conf);
}

static void test_flag_without_value_is_an_error(void **state)
{
    struct fixture *f = *state;
    char *argv[] = {"prog", "--count"};
    int n = 0;
    assert_int_equal(proto_conf_apply_flags(&f->conf, 2, argv, 1, &n, f->err, sizeof(f->err)),
                     PROTO_EPARSE);
    assert_string_equal(f->err, "--count: missing value");
    /* another flag is not taken as the value */
    char *argv2[] = {"prog", "--path", "--count", "3"};
    assert_int_equal(proto_conf_apply_flags(&f->conf, 4, argv2, 1, &n, f->err, sizeof(f->err)),
                     PROTO_EPARSE);
    assert_string_equal(f->err, "--path: missing value");
}

static void test_unknown_flag_is_an_error(void **state)
{
    struct fixture *f = *state;
    char *argv[] = {"prog", "x", "--colour=red"};
    int n = 0;
    assert_int_equal(proto_conf_apply_flags(&f->conf, 3, argv, 1, &n, f->err, sizeof(f->err)),
                     PROTO_ENOTFOUND);
    assert_string_equal(f->err, "unknown flag '--colour=red'");
}

static void test_non_flag_arguments_are_compacted_in_order(void **state)
{
    struct fixture *f = *state;
    char *argv[] = {"prog", "a", "--count", "5", "b", "-v", "--name=n", "c", "-", NULL};
    int n = 0;
    assert_int_equal(proto_conf_apply_flags(&f->conf, 9, argv, 1, &n, f->err, sizeof(f->err)),
                     PROTO_OK);
    assert_int_equal(n, 6);
    assert_string_equal(argv[0], "prog");
    assert_string_equal(argv[1], "a");
    assert_string_equal(argv[2], "b");
    assert_string_equal(argv[3], "-v");
    assert_string_equal(argv[4], "c");
    assert_string_equal(argv[5], "-");
    assert_null(argv[6]);
}

static void test_flags_before_first_are_left_alone(void **state)
{
    struct fixture *f = *state;
    char *argv[] = {"prog", "--weird", "cmd", "--count=4"};
    int n = 0;
    assert_int_equal(proto_conf_apply_flags(&f->conf, 4, argv, 2, &n, f->err, sizeof(f->err)),
                     PROTO_OK);
    assert_int_equal(n, 3);
    assert_string_equal(argv[1], "--weird");
    assert_string_equal(argv[2], "cmd");
    assert_int_equal(f->s.count, 4);
}

static void test_double_dash_ends_flags(void **state)
{
    struct fixture *f = *state;
    char *argv[] = {"prog", "--count", "6", "--", "--name=x", "y"};
    int n = 0;
    assert_int_equal(proto_conf_apply_flags(&f->conf, 6, argv, 1, &n, f->err, sizeof(f->err)),
                     PROTO_OK);
    assert_int_equal(n, 3);
    assert_string_equal(argv[1], "--name=x");
    assert_string_equal(argv[2], "y");
    assert_string_equal(f->s.name, "abc");
    assert_int_equal(f->s.count, 6);
}

static void test_flag_with_empty_value_sets_empty_string(void **state)
{
    struct fixture *f = *state;
    char *argv[] = {"prog", "--name="};
    int n = 0;
    assert_int_equal(proto_conf_apply_flags(&f->conf, 2, argv, 1, &n, f->err, sizeof(f->err)),
                     PROTO_OK);
    assert_string_equal(f->s.name, "");
    assert_int_equal(n, 1);
}

static void test_flags_override_file_values(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_text(f, "count = 20\nname = file\n"), PROTO_OK);
    char *argv[] = {"prog", "--count", "30"};
    int n = 0;
    assert_int_equal(proto_conf_apply_flags(&f->conf, 3, argv, 1, &n, f->err, sizeof(f->err)),
                     PROTO_OK);
    assert_int_equal(f->s.count, 30);
    assert_string_equal(f->s.name, "file");
    assert_int_equal(f->conf.origins[0], PROTO_CONF_FROM_FILE);
    assert_int_equal(f->conf.origins[1], PROTO_CONF_FROM_FLAG);
}

/* ---- output ------------------------------------------------------------------------------- */

static struct fixture *print_fixture;

static void print_to(FILE *to)
{
    proto_conf_print(&print_fixture->conf, to);
}

static void markdown_to(FILE *to)
{
    proto_conf_markdown(table, TABLE_COUNT, to);
}

/* What `fn` writes, as a string; caller frees with free(). */
static char *capture(void (*fn)(FILE *))
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    assert_non_null(mem);
    fn(mem);
    assert_int_equal(fclose(mem), 0);
    return text;
}

static void test_print_lists_every_key_with_value_and_origin_aligned(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(set(f, "count", "77"), PROTO_OK);
    print_fixture = f;
    char *text = capture(print_to);
    assert_string_equal(text, "name = \"abc\"     # default\n"
                              "count = 77       # registry\n"
                              "enabled = true   # default\n"
                              "path = \"\"        # default\n");
    free(text);
}

static void test_printed_configuration_loads_back_unchanged(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(set(f, "path", "has # hash and \"quotes\""), PROTO_OK);
    assert_int_equal(set(f, "enabled", "off"), PROTO_OK);
    print_fixture = f;
    char *text = capture(print_to);
    struct settings before = f->s;
    memset(&f->s, 0, sizeof(f->s));
    assert_int_equal(load_text(f, text), PROTO_OK);
    assert_string_equal(f->s.path, before.path);
    assert_string_equal(f->s.name, before.name);
    assert_int_equal(f->s.count, before.count);
    assert_int_equal(f->s.enabled, before.enabled);
    free(text);
}

static void test_markdown_has_a_row_per_entry_with_type_default_and_limits(void **state)
{
    (void)state;
    char *text = capture(markdown_to);
    assert_non_null(strstr(text, "| Key | Flag | Type | Default | Limits | Description |\n"));
    assert_non_null(
        strstr(text, "| `name` | `--name` | string | `abc` | at most 7 bytes | A short name |\n"));
    assert_non_null(strstr(
        text, "| `count` | `--count` | unsigned | `10` | 1..100 | How many \\| of them |\n"));
    assert_non_null(strstr(text, "| `enabled` | `--enabled` | boolean | `true` |"));
    assert_non_null(strstr(text, "| `path` | `--path` | string | (empty) | at most 63 bytes |"));
    free(text);
}

static void test_origin_names(void **state)
{
    (void)state;
    assert_string_equal(proto_conf_origin_str(PROTO_CONF_FROM_DEFAULT), "default");
    assert_string_equal(proto_conf_origin_str(PROTO_CONF_FROM_FILE), "file");
    assert_string_equal(proto_conf_origin_str(PROTO_CONF_FROM_REGISTRY), "registry");
    assert_string_equal(proto_conf_origin_str(PROTO_CONF_FROM_FLAG), "flag");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init_applies_every_default_with_default_origin, setup,
                                        teardown),
        cmocka_unit_test(test_init_refuses_a_default_that_does_not_parse),
        cmocka_unit_test(test_init_reports_allocation_failure),
        cmocka_unit_test_setup_teardown(test_set_records_value_and_origin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_names_an_unknown_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_values_are_trimmed_and_quotes_stripped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_uint_out_of_range_names_the_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uint_refuses_signs_blanks_garbage_and_overflow, setup,
                                        teardown),
        cmocka_unit_test(test_uint_accepts_the_full_unsigned_long_range_when_allowed),
        cmocka_unit_test_setup_teardown(test_bool_accepts_every_word_in_any_case, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_string_longer_than_its_array_is_refused_and_fitting_one_stored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_messages_quote_values_safely, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_sets_values_with_file_origin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_keeps_unmentioned_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_key_in_file_takes_the_later_value, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_crlf_lines_bom_and_missing_final_newline_are_read,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_trailing_comments_are_cut_but_hash_inside_values_kept,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_quoted_value_may_hold_quotes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unterminated_quote_is_an_error_with_line_number, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unknown_key_in_file_names_file_and_line, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_line_without_equals_or_key_is_an_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_value_in_file_carries_line_and_reason, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_file_stops_at_the_first_bad_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_longer_than_4096_bytes_is_refused_with_its_number,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_larger_than_one_mebibyte_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_nul_byte_in_file_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file_is_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_file_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_file_load_reports_allocation_failure_and_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flags_in_both_forms_and_spellings_are_consumed, setup,
                                        teardown),
        cmocka_unit_test(test_flag_accepts_dashes_or_underscores),
        cmocka_unit_test_setup_teardown(test_flag_without_value_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_flag_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_non_flag_arguments_are_compacted_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_flags_before_first_are_left_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_double_dash_ends_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flag_with_empty_value_sets_empty_string, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_flags_override_file_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_print_lists_every_key_with_value_and_origin_aligned,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_printed_configuration_loads_back_unchanged, setup,
                                        teardown),
        cmocka_unit_test(test_markdown_has_a_row_per_entry_with_type_default_and_limits),
        cmocka_unit_test(test_origin_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
