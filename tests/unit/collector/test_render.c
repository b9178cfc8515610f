/* test_render: query results as the API's JSON list document and as guarded RFC 4180 CSV.
 * Tables are built by hand and freed by table_free() here: col_table_destroy belongs to the
 * store and this test must not depend on it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "alloc.h"
#include "buf.h"
#include "render.h"

static const struct col_column columns[] = {
    {"fqdn", COL_CELL_TEXT},
    {"certs", COL_CELL_INT},
    {"at_risk", COL_CELL_BOOL},
    {"last_seen", COL_CELL_TIME},
};
#define NCOLS (sizeof(columns) / sizeof(columns[0]))

/* A table of `nrows` rows from a flat cell list (NULL entries are SQL NULL). */
static struct col_table *table_make(const char *const *cells, size_t nrows, size_t total)
{
    struct col_table *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    t->columns = columns;
    t->ncols = NCOLS;
    t->nrows = nrows;
    t->total = total;
    t->cells = calloc(nrows * NCOLS + 1, sizeof(char *));
    assert_non_null(t->cells);
    for (size_t i = 0; i < nrows * NCOLS; i++) {
        t->cells[i] = cells[i] != NULL ? strdup(cells[i]) : NULL;
    }
    return t;
}

static void table_free(struct col_table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++) {
        free(t->cells[i]);
    }
    free(t->cells);
    free(t);
}

static char *json_of(const char *const *cells, size_t nrows, size_t total, size_t limit,
                     size_t offset)
{
    struct col_table *t = table_make(cells, nrows, total);
    struct proto_buf out;
    proto_buf_init(&out, 1u << 20);
    assert_int_equal(col_table_render_json(t, limit, offset, &out), PROTO_OK);
    table_free(t);
    char *text = proto_buf_detach(&out, NULL);
    assert_non_null(text);
    return text;
}

static char *csv_of(const char *const *cells, size_t nrows)
{
    struct col_table *t = table_make(cells, nrows, nrows);
    struct proto_buf out;
    proto_buf_init(&out, 1u << 20);
    assert_int_equal(col_table_render_csv(t, &out), PROTO_OK);
    table_free(t);
    char *text = proto_buf_detach(&out, NULL);
    assert_non_null(text);
    return text;
}

static void test_json_types_each_cell_by_its_column(void **state)
{
    (void)state;
    static const char *const cells[] = {
        "vpn1.corp.example", "12", "1", "1700000000", /* row 1 */
        "vpn2.corp.example", "0",  "0", NULL,         /* row 2: never seen */
    };
    char *text = json_of(cells, 2, 57, 2, 10);
    assert_string_equal(text, "{\"items\":["
                              "{\"fqdn\":\"vpn1.corp.example\",\"certs\":12,\"at_risk\":true,"
                              "\"last_seen\":\"2023-11-14T22:13:20Z\"},"
                              "{\"fqdn\":\"vpn2.corp.example\",\"certs\":0,\"at_risk\":false,"
                              "\"last_seen\":null}"
                              "],\"total\":57,\"limit\":2,\"offset\":10}");
    proto_free(text);
}

static void test_json_of_an_empty_result_still_carries_total_and_paging(void **state)
{
    (void)state;
    char *text = json_of(NULL, 0, 0, 50, 0);
    assert_string_equal(text, "{\"items\":[],\"total\":0,\"limit\":50,\"offset\":0}");
    proto_free(text);
}

static void test_json_null_in_every_type_is_null(void **state)
{
    (void)state;
    static const char *const cells[] = {NULL, NULL, NULL, NULL};
    char *text = json_of(cells, 1, 1, 1, 0);
    assert_string_equal(text, "{\"items\":[{\"fqdn\":null,\"certs\":null,\"at_risk\":null,"
                              "\"last_seen\":null}],\"total\":1,\"limit\":1,\"offset\":0}");
    proto_free(text);
}

static void test_json_keeps_every_digit_of_large_integers(void **state)
{
    (void)state;
    static const char *const cells[] = {"h", "9007199254740993", "1", "-1"};
    char *text = json_of(cells, 1, 1, 1, 0);
    assert_non_null(strstr(text, "\"certs\":9007199254740993,"));
    assert_non_null(strstr(text, "\"last_seen\":\"1969-12-31T23:59:59Z\""));
    proto_free(text);
}

static void test_json_writes_cells_that_do_not_fit_their_type_as_strings(void **state)
{
    (void)state;
    static const char *const cells[] = {"h", "12abc", "yes", "soon"};
    char *text = json_of(cells, 1, 1, 1, 0);
    assert_non_null(strstr(text, "\"certs\":\"12abc\""));
    assert_non_null(strstr(text, "\"at_risk\":\"yes\""));
    assert_non_null(strstr(text, "\"last_seen\":\"soon\""));
    static const char *const zeros[] = {"h", "007", "1", "99999999999999999"};
    proto_free(text);
    text = json_of(zeros, 1, 1, 1, 0);
    assert_non_null(strstr(text, "\"certs\":\"007\""));                   /* not a JSON number */
    assert_non_null(strstr(text, "\"last_seen\":\"99999999999999999\"")); /* past year 9999 */
    proto_free(text);
}

static void test_json_escapes_quotes_controls_and_html_characters(void **state)
{
    (void)state;
    static const char *const cells[] = {"a\"b\\c\nd\te\x01<script>&", "1", "1", "0"};
    char *text = json_of(cells, 1, 1, 1, 0);
    assert_non_null(
        strstr(text, "\"fqdn\":\"a\\\"b\\\\c\\nd\\te\\u0001\\u003cscript\\u003e\\u0026\""));
    proto_free(text);
}

static void test_json_replaces_invalid_utf8_and_keeps_valid_utf8(void **state)
{
    (void)state;
    /* valid: u-umlaut, euro sign, U+1F600; invalid: lone continuation, overlong '/',
     * a surrogate, a truncated sequence at the end */
    static const char *const cells[] = {"\xC3\xBC\xE2\x82\xAC\xF0\x9F\x98\x80|\x80|\xC0\xAF|"
                                        "\xED\xA0\x80|\xE2\x82",
                                        "1", "1", "0"};
    char *text = json_of(cells, 1, 1, 1, 0);
    assert_non_null(strstr(text, "\"fqdn\":\"\xC3\xBC\xE2\x82\xAC\xF0\x9F\x98\x80|\\ufffd|"
                                 "\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd\""));
    proto_free(text);
}

static void test_json_output_parses_back_with_the_same_values(void **state)
{
    (void)state;
    static const char *const cells[] = {
        "x\xFFy", "3", "0", "0", /* */
        "\"q\"",  "4", "1", "86400",
    };
    char *text = json_of(cells, 2, 2, 100, 0);
    cJSON *doc = cJSON_Parse(text);
    assert_non_null(doc);
    cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, "items");
    assert_int_equal(cJSON_GetArraySize(items), 2);
    cJSON *second = cJSON_GetArrayItem(items, 1);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(second, "fqdn")->valuestring, "\"q\"");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(second, "at_risk")));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(second, "last_seen")->valuestring,
                        "1970-01-02T00:00:00Z");
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(items, 0), "fqdn")->valuestring,
        "x\xEF\xBF\xBDy");
    cJSON_Delete(doc);
    proto_free(text);
}

static void test_json_stops_with_elimit_at_the_buffer_cap(void **state)
{
    (void)state;
    static const char *const cells[] = {"a-long-host-name.example", "1", "1", "0"};
    struct col_table *t = table_make(cells, 1, 1);
    struct proto_buf out;
    proto_buf_init(&out, 40);
    assert_int_equal(col_table_render_json(t, 1, 0, &out), PROTO_ELIMIT);
    assert_true(out.len <= 40);
    proto_buf_free(&out);
    table_free(t);
}

static void test_json_reports_allocation_failure(void **state)
{
    (void)state;
    static const char *const cells[] = {"h", "1", "1", "0"};
    struct col_table *t = table_make(cells, 1, 1);
    struct proto_buf out;
    proto_buf_init(&out, 1024);
    proto_alloc_fail_after(1);
    enum proto_rc rc = col_table_render_json(t, 1, 0, &out);
    proto_alloc_fail_after(0);
    assert_int_equal(rc, PROTO_ENOMEM);
    proto_buf_free(&out);
    table_free(t);
}

static void test_csv_has_header_row_and_crlf_line_ends(void **state)
{
    (void)state;
    static const char *const cells[] = {
        "vpn1", "12", "1", "1700000000", /* */
        "vpn2", "0",  "0", NULL,
    };
    char *text = csv_of(cells, 2);
    assert_string_equal(text, "fqdn,certs,at_risk,last_seen\r\n"
                              "vpn1,12,true,2023-11-14T22:13:20Z\r\n"
                              "vpn2,0,false,\r\n");
    proto_free(text);
}

static void test_csv_of_an_empty_result_is_the_header_row(void **state)
{
    (void)state;
    char *text = csv_of(NULL, 0);
    assert_string_equal(text, "fqdn,certs,at_risk,last_seen\r\n");
    proto_free(text);
}

static void test_csv_quotes_fields_with_comma_quote_cr_or_lf(void **state)
{
    (void)state;
    static const char *const cells[] = {
        "CN=a, O=b",    "1", "1", "0", /* */
        "say \"hi\"",   "1", "1", "0", /* */
        "two\r\nlines", "1", "1", "0", /* */
        "lf\nonly",     "1", "1", "0",
    };
    char *text = csv_of(cells, 4);
    assert_string_equal(text, "fqdn,certs,at_risk,last_seen\r\n"
                              "\"CN=a, O=b\",1,true,1970-01-01T00:00:00Z\r\n"
                              "\"say \"\"hi\"\"\",1,true,1970-01-01T00:00:00Z\r\n"
                              "\"two\r\nlines\",1,true,1970-01-01T00:00:00Z\r\n"
                              "\"lf\nonly\",1,true,1970-01-01T00:00:00Z\r\n");
    proto_free(text);
}

/* Excel in a locale whose list separator is ';' splits an unquoted "a;b" into two cells (and
 * the second may start a formula); tab is the separator of pasted and .txt exports. */
static void test_csv_quotes_fields_with_a_semicolon_or_a_tab(void **state)
{
    (void)state;
    static const char *const cells[] = {
        "a;b",       "1", "1", "0", /* */
        "x;=1+1",    "1", "1", "0", /* */
        "tab\there", "1", "1", "0", /* */
        "=1;2",      "1", "1", "0", /* */
        "plain",     "1", "1", "0",
    };
    char *text = csv_of(cells, 5);
    assert_string_equal(text, "fqdn,certs,at_risk,last_seen\r\n"
                              "\"a;b\",1,true,1970-01-01T00:00:00Z\r\n"
                              "\"x;=1+1\",1,true,1970-01-01T00:00:00Z\r\n"
                              "\"tab\there\",1,true,1970-01-01T00:00:00Z\r\n"
                              "\"'=1;2\",1,true,1970-01-01T00:00:00Z\r\n"
                              "plain,1,true,1970-01-01T00:00:00Z\r\n");
    proto_free(text);
}

/* Each character that starts a formula, alone and after a separator of another locale. */
static void test_csv_guards_each_formula_character_and_quotes_when_needed(void **state)
{
    (void)state;
    static const char *const cells[] = {
        "=",    "1", "1", "0", /* */
        "+",    "1", "1", "0", /* */
        "-",    "1", "1", "0", /* */
        "@",    "1", "1", "0", /* */
        "\r=1", "1", "1", "0", /* */
        "=a,b", "1", "1", "0",
    };
    char *text = csv_of(cells, 6);
    assert_string_equal(text, "fqdn,certs,at_risk,last_seen\r\n"
                              "'=,1,true,1970-01-01T00:00:00Z\r\n"
                              "'+,1,true,1970-01-01T00:00:00Z\r\n"
                              "'-,1,true,1970-01-01T00:00:00Z\r\n"
                              "'@,1,true,1970-01-01T00:00:00Z\r\n"
                              "\"'\r=1\",1,true,1970-01-01T00:00:00Z\r\n"
                              "\"'=a,b\",1,true,1970-01-01T00:00:00Z\r\n");
    proto_free(text);
}

static void test_csv_guards_text_cells_that_could_start_a_formula(void **state)
{
    (void)state;
    static const char *const cells[] = {
        "=HYPERLINK(\"x\")",
        "1",
        "1",
        "0", /* */
        "+1",
        "1",
        "1",
        "0", /* */
        "-2+3",
        "1",
        "1",
        "0", /* */
        "@SUM(A1)",
        "1",
        "1",
        "0", /* */
        "\tx",
        "1",
        "1",
        "0", /* */
        "a=b",
        "1",
        "1",
        "0",
    };
    char *text = csv_of(cells, 6);
    assert_string_equal(text, "fqdn,certs,at_risk,last_seen\r\n"
                              "\"'=HYPERLINK(\"\"x\"\")\",1,true,1970-01-01T00:00:00Z\r\n"
                              "'+1,1,true,1970-01-01T00:00:00Z\r\n"
                              "'-2+3,1,true,1970-01-01T00:00:00Z\r\n"
                              "'@SUM(A1),1,true,1970-01-01T00:00:00Z\r\n"
                              "\"'\tx\",1,true,1970-01-01T00:00:00Z\r\n"
                              "a=b,1,true,1970-01-01T00:00:00Z\r\n");
    proto_free(text);
}

static void test_csv_leaves_negative_numbers_alone_but_guards_bad_ones(void **state)
{
    (void)state;
    static const char *const cells[] = {"h", "-5", "0", "0", /* */
                                        "h", "-x", "0", "0"};
    char *text = csv_of(cells, 2);
    assert_string_equal(text, "fqdn,certs,at_risk,last_seen\r\n"
                              "h,-5,false,1970-01-01T00:00:00Z\r\n"
                              "h,'-x,false,1970-01-01T00:00:00Z\r\n");
    proto_free(text);
}

static void test_csv_stops_with_elimit_at_the_buffer_cap(void **state)
{
    (void)state;
    static const char *const cells[] = {"h", "1", "1", "0"};
    struct col_table *t = table_make(cells, 1, 1);
    struct proto_buf out;
    proto_buf_init(&out, 20);
    assert_int_equal(col_table_render_csv(t, &out), PROTO_ELIMIT);
    proto_buf_free(&out);
    table_free(t);
}

static void test_render_refuses_a_table_without_cells(void **state)
{
    (void)state;
    struct col_table t = {columns, NCOLS, NULL, 1, 1};
    struct proto_buf out;
    proto_buf_init(&out, 1024);
    assert_int_equal(col_table_render_json(&t, 1, 0, &out), PROTO_EINVAL);
    assert_int_equal(col_table_render_csv(&t, &out), PROTO_EINVAL);
    assert_int_equal(col_table_render_json(NULL, 1, 0, &out), PROTO_EINVAL);
    proto_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_types_each_cell_by_its_column),
        cmocka_unit_test(test_json_of_an_empty_result_still_carries_total_and_paging),
        cmocka_unit_test(test_json_null_in_every_type_is_null),
        cmocka_unit_test(test_json_keeps_every_digit_of_large_integers),
        cmocka_unit_test(test_json_writes_cells_that_do_not_fit_their_type_as_strings),
        cmocka_unit_test(test_json_escapes_quotes_controls_and_html_characters),
        cmocka_unit_test(test_json_replaces_invalid_utf8_and_keeps_valid_utf8),
        cmocka_unit_test(test_json_output_parses_back_with_the_same_values),
        cmocka_unit_test(test_json_stops_with_elimit_at_the_buffer_cap),
        cmocka_unit_test(test_json_reports_allocation_failure),
        cmocka_unit_test(test_csv_has_header_row_and_crlf_line_ends),
        cmocka_unit_test(test_csv_of_an_empty_result_is_the_header_row),
        cmocka_unit_test(test_csv_quotes_fields_with_comma_quote_cr_or_lf),
        cmocka_unit_test(test_csv_quotes_fields_with_a_semicolon_or_a_tab),
        cmocka_unit_test(test_csv_guards_each_formula_character_and_quotes_when_needed),
        cmocka_unit_test(test_csv_guards_text_cells_that_could_start_a_formula),
        cmocka_unit_test(test_csv_leaves_negative_numbers_alone_but_guards_bad_ones),
        cmocka_unit_test(test_csv_stops_with_elimit_at_the_buffer_cap),
        cmocka_unit_test(test_render_refuses_a_table_without_cells),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
