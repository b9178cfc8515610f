/*
 * test_json_check: the RFC 8259 validator and the unique-name check (proto/json_check.c) that
 * every decoder of outside JSON runs before it reads a member.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "json_check.h"

static enum proto_rc check(const char *text, struct proto_json_check_error *err)
{
    return proto_json_check(text, strlen(text), PROTO_JSON_CHECK_MAX_DEPTH, err);
}

static void test_valid_documents_of_every_kind_are_accepted(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "{}",
        "[]",
        " \t\r\n{ \"a\" : [ 1 , -0 , 0.5 , -12.25e+3 , 2E-7 , 1e400 ] }\r\n",
        "\"a string alone\"",
        "0",
        "-1",
        "true",
        "null",
        "[false,null,{},[],\"\"]",
        "{\"esc\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\\udbff\\udfff\"}",
        "{\"utf8\":\"Z\xc3\xbcrich \xe2\x82\xac \xf0\x9f\x98\x80 \x7f\"}",
        "{\"a\":1,\"A\":2,\"a \":3}",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        struct proto_json_check_error err;
        if (check(docs[i], &err) != PROTO_OK) {
            fail_msg("%s: refused: %s", docs[i], err.message);
        }
        assert_string_equal(err.member, "");
    }
}

static void test_each_violation_is_refused_with_its_offset_and_member(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        enum proto_rc rc;
        size_t offset;
        const char *member;
    } cases[] = {
        {"{\"a\":01}", PROTO_EPARSE, 5, "a"},
        {"{\"a\":-01}", PROTO_EPARSE, 5, "a"},
        {"{\"a\":2.}", PROTO_EPARSE, 5, "a"},
        {"{\"a\":-2.}", PROTO_EPARSE, 5, "a"},
        {"{\"a\":.5}", PROTO_EPARSE, 5, "a"},
        {"{\"a\":-.5}", PROTO_EPARSE, 5, "a"},
        {"{\"a\":\"x\ny\"}", PROTO_EPARSE, 7, "a"},
        {"{\"a\":\"x\ty\"}", PROTO_EPARSE, 7, "a"},
        {"{\"a\":\"x\x1fy\"}", PROTO_EPARSE, 7, "a"},
        {"{\"a\":\"\\u00G1\"}", PROTO_EPARSE, 6, "a"},
        {"{\"a\":\"\\uD800\"}", PROTO_EPARSE, 6, "a"},
        {"{\"a\":\"\\uDC00x\"}", PROTO_EPARSE, 6, "a"},
        {"{\"a\":\"\\uD800\\u0041\"}", PROTO_EPARSE, 6, "a"},
        {"\f{\"a\":1}", PROTO_EPARSE, 0, ""},
        {"{\"a\":\f1}", PROTO_EPARSE, 5, "a"},
        {"{\"a\":\"\\u0000\"}", PROTO_EPARSE, 6, "a"},
        {"{\"a\":\"\\x\"}", PROTO_EPARSE, 6, "a"},
        {"{\"a\":\"\xc0\xaf\"}", PROTO_EENCODING, 6, "a"},
        {"{\"a\":\"\xed\xa0\x80\"}", PROTO_EENCODING, 6, "a"},
        {"\xef\xbb\xbf{}", PROTO_EPARSE, 0, ""},
        {"{\"a\":[1,{\"b\":[true,nul]}]}", PROTO_EPARSE, 19, "a[1].b[1]"},
        {"{\"a\":1,}", PROTO_EPARSE, 7, ""},
        {"[1,]", PROTO_EPARSE, 3, "[1]"},
        {"{\"a\" 1}", PROTO_EPARSE, 5, "a"},
        {"{\"a\":1 \"b\":2}", PROTO_EPARSE, 7, "a"},
        {"{} {}", PROTO_EPARSE, 3, ""},
        {"{\"a\":\"open", PROTO_EPARSE, 5, "a"},
        {"", PROTO_EPARSE, 0, ""},
        {"  ", PROTO_EPARSE, 2, ""},
        {"{\"a\":1e}", PROTO_EPARSE, 5, "a"},
        {"{\"a\":+1}", PROTO_EPARSE, 5, "a"},
        {"{\"a\":0x1}", PROTO_EPARSE, 6, "a"},
        {"{\"a\":NaN}", PROTO_EPARSE, 5, "a"},
        {"{\"a\":'x'}", PROTO_EPARSE, 5, "a"},
        {"{a:1}", PROTO_EPARSE, 1, ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct proto_json_check_error err;
        enum proto_rc rc = check(cases[i].text, &err);
        if (rc != cases[i].rc || err.offset != cases[i].offset ||
            strcmp(err.member, cases[i].member) != 0) {
            fail_msg("case %zu: got %s at %zu \"%s\" (%s), want %s at %zu \"%s\"", i,
                     proto_rc_str(rc), err.offset, err.member, err.message,
                     proto_rc_str(cases[i].rc), cases[i].offset, cases[i].member);
        }
        assert_non_null(strstr(err.message, "offset"));
    }
}

static void test_depth_and_number_length_are_capped(void **state)
{
    (void)state;
    char text[256];
    struct proto_json_check_error err;
    for (size_t depth = 1; depth <= 10; depth++) {
        memset(text, '[', depth);
        memset(text + depth, ']', depth);
        enum proto_rc rc = proto_json_check(text, 2 * depth, 8, &err);
        assert_int_equal(rc, depth <= 8 ? PROTO_OK : PROTO_ELIMIT);
    }
    /* A depth past the module's own cap is lowered to it. */
    memset(text, '[', 65);
    memset(text + 65, ']', 65);
    assert_int_equal(proto_json_check(text, 130, 1000, &err), PROTO_ELIMIT);
    assert_int_equal(proto_json_check(text + 1, 128, 1000, &err), PROTO_OK);

    char number[PROTO_JSON_MAX_NUMBER_CHARS + 2];
    memset(number, '1', sizeof(number) - 1);
    number[sizeof(number) - 1] = '\0';
    assert_int_equal(proto_json_check(number, sizeof(number) - 2, 1, &err), PROTO_OK);
    assert_int_equal(proto_json_check(number, sizeof(number) - 1, 1, &err), PROTO_ELIMIT);
}

static void test_a_member_name_given_twice_is_named_at_any_depth(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *member;
    } cases[] = {
        {"{\"a\":1,\"a\":2}", "a"},
        {"{\"x\":{\"b\":1,\"c\":2,\"b\":3}}", "x.b"},
        {"{\"x\":[{},{\"b\":1,\"b\":1}]}", "x[1].b"},
        {"{\"k\":1,\"\\u006b\":2}", "k"},
        /* Past the pairwise limit the members are sorted. */
        {"{\"m1\":1,\"m2\":1,\"m3\":1,\"m4\":1,\"m5\":1,\"m6\":1,\"m7\":1,\"m8\":1,\"m9\":1,"
         "\"m3\":2}",
         "m3"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct proto_json_check_error err;
        cJSON *root = NULL;
        enum proto_rc rc =
            proto_json_parse_checked(cases[i].text, strlen(cases[i].text), 8, &root, &err);
        if (rc != PROTO_EPARSE || strcmp(err.member, cases[i].member) != 0) {
            fail_msg("case %zu: got %s \"%s\" (%s)", i, proto_rc_str(rc), err.member, err.message);
        }
        assert_null(root);
    }
    static const char many[] = "{\"m1\":1,\"m2\":1,\"m3\":1,\"m4\":1,\"m5\":1,\"m6\":1,\"m7\":1,"
                               "\"m8\":1,\"m9\":[{\"m1\":1}],\"M1\":1}";
    cJSON *root = NULL;
    assert_int_equal(proto_json_parse_checked(many, strlen(many), 8, &root, NULL), PROTO_OK);
    assert_non_null(root);
    cJSON_Delete(root);
}

static void test_every_allocation_failure_is_reported_without_leaks(void **state)
{
    (void)state;
    static const char text[] = "{\"m1\":1,\"m2\":1,\"m3\":1,\"m4\":1,\"m5\":1,\"m6\":1,\"m7\":1,"
                               "\"m8\":1,\"m9\":[{\"m1\":\"x\"}]}";
    for (unsigned long n = 1;; n++) {
        cJSON *root = NULL;
        proto_alloc_fail_after(n);
        enum proto_rc rc = proto_json_parse_checked(text, strlen(text), 8, &root, NULL);
        (void)proto_alloc_fail_after(0);
        if (rc == PROTO_OK) {
            assert_true(n > 2);
            cJSON_Delete(root);
            break;
        }
        assert_int_equal(rc, PROTO_ENOMEM);
        assert_null(root);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_documents_of_every_kind_are_accepted),
        cmocka_unit_test(test_each_violation_is_refused_with_its_offset_and_member),
        cmocka_unit_test(test_depth_and_number_length_are_capped),
        cmocka_unit_test(test_a_member_name_given_twice_is_named_at_any_depth),
        cmocka_unit_test(test_every_allocation_failure_is_reported_without_leaks),
    };
    proto_alloc_install_cjson_hooks();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
