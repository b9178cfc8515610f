/* Unit tests of proto/json_span: locating a top-level member's value in raw JSON text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "json_span.h"

/* The located value as a string, or the rc's name. */
static const char *span_of(const char *text, const char *key, char *out, size_t out_size)
{
    size_t off = 0;
    size_t len = 0;
    enum proto_rc rc = proto_json_member_span(text, strlen(text), key, &off, &len);
    if (rc != PROTO_OK) {
        snprintf(out, out_size, "<%s>", proto_rc_str(rc));
        return out;
    }
    assert_true(off + len <= strlen(text));
    snprintf(out, out_size, "%.*s", (int)len, text + off);
    return out;
}

static void test_object_value_is_found_with_its_exact_bytes(void **state)
{
    (void)state;
    char buf[256];
    assert_string_equal(
        span_of("{\"a\":1,\"snapshot\":{ \"b\" : [1, 2] },\"c\":2}", "snapshot", buf, sizeof(buf)),
        "{ \"b\" : [1, 2] }");
}

static void test_whitespace_around_keys_and_values_is_skipped(void **state)
{
    (void)state;
    char buf[256];
    assert_string_equal(
        span_of(" \n{ \"x\" : \"y\" ,\r\n \"snapshot\"\t:\t{} \n}", "snapshot", buf, sizeof(buf)),
        "{}");
}

static void test_control_bytes_are_whitespace_as_for_cjson(void **state)
{
    (void)state;
    char buf[256];
    assert_string_equal(span_of("{\"snapshot\":\001{}\002}", "snapshot", buf, sizeof(buf)), "{}");
}

static void test_strings_holding_braces_quotes_and_the_key_do_not_confuse_it(void **state)
{
    (void)state;
    char buf[256];
    assert_string_equal(span_of("{\"a\":\"\\\"snapshot\\\":{\",\"b\":[\"]}\"],"
                                "\"snapshot\":{\"k\":\"}\\\\\"}}",
                                "snapshot", buf, sizeof(buf)),
                        "{\"k\":\"}\\\\\"}");
}

static void test_nested_member_of_that_name_is_not_top_level(void **state)
{
    (void)state;
    char buf[256];
    assert_string_equal(span_of("{\"a\":{\"snapshot\":1}}", "snapshot", buf, sizeof(buf)),
                        "<not found>");
    assert_string_equal(
        span_of("{\"a\":{\"snapshot\":1},\"snapshot\":2}", "snapshot", buf, sizeof(buf)), "2");
}

static void test_first_of_duplicate_keys_wins_as_in_cjson(void **state)
{
    (void)state;
    char buf[256];
    assert_string_equal(
        span_of("{\"snapshot\":true,\"snapshot\":{}}", "snapshot", buf, sizeof(buf)), "true");
}

static void test_escaped_key_before_the_match_makes_it_ambiguous(void **state)
{
    (void)state;
    char buf[256];
    /* "sn\u0061pshot" decodes to "snapshot": a decoding reader would take that member. */
    assert_string_equal(
        span_of("{\"sn\\u0061pshot\":1,\"snapshot\":2}", "snapshot", buf, sizeof(buf)),
        "<not found>");
    /* An escaped key after the match does not matter. */
    assert_string_equal(
        span_of("{\"snapshot\":2,\"sn\\u0061pshot\":1}", "snapshot", buf, sizeof(buf)), "2");
}

static void test_text_it_cannot_walk_is_a_parse_error(void **state)
{
    (void)state;
    char buf[256];
    const char *bad[] = {"",
                         "[]",
                         "{",
                         "{\"snapshot\"",
                         "{\"snapshot\":",
                         "{\"snapshot\":{}",
                         "{\"a\" 1}",
                         "{a:1}",
                         "{\"a\":1 \"snapshot\":2}",
                         "{\"a\":\"unterminated"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_string_equal(span_of(bad[i], "snapshot", buf, sizeof(buf)), "<malformed input>");
    }
    assert_string_equal(span_of("{}", "snapshot", buf, sizeof(buf)), "<not found>");
}

static void test_never_reads_past_the_given_length(void **state)
{
    (void)state;
    const char text[] = "{\"snapshot\":{\"a\":1}}";
    size_t off = 0;
    size_t len = 0;
    /* Cut before the closing brace of the object: the value does not end inside the buffer. */
    assert_int_equal(proto_json_member_span(text, strlen(text) - 2, "snapshot", &off, &len),
                     PROTO_EPARSE);
    assert_int_equal(proto_json_member_span(text, strlen(text), "snapshot", &off, &len), PROTO_OK);
    assert_int_equal(off, 12);
    assert_int_equal(len, 7);
    assert_int_equal(proto_json_member_span(NULL, 0, "snapshot", &off, &len), PROTO_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_object_value_is_found_with_its_exact_bytes),
        cmocka_unit_test(test_whitespace_around_keys_and_values_is_skipped),
        cmocka_unit_test(test_control_bytes_are_whitespace_as_for_cjson),
        cmocka_unit_test(test_strings_holding_braces_quotes_and_the_key_do_not_confuse_it),
        cmocka_unit_test(test_nested_member_of_that_name_is_not_top_level),
        cmocka_unit_test(test_first_of_duplicate_keys_wins_as_in_cjson),
        cmocka_unit_test(test_escaped_key_before_the_match_makes_it_ambiguous),
        cmocka_unit_test(test_text_it_cannot_walk_is_a_parse_error),
        cmocka_unit_test(test_never_reads_past_the_given_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
