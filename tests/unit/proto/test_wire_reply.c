/*
 * test_wire_reply: the collector's answers (proto/wire_reply.c): the acknowledgement of a report
 * and the error body, against schema/json/reply.schema.json and error.schema.json.
 *
 * Round trips, byte equality with what the collector writes today, every required member
 * missing, wrong types, ranges, strict JSON, unknown members ignored (forward compatibility) but
 * no member twice, caps, OOM. With RRAS_WRITE_WIRE=dir set, only writes encoded answers there
 * (tests/integration/test_schema.sh validates them against the schemas).
 */
#include "wire_test.h"

#include "caps.h"
#include "wire_reply.h"

#define TEST_UUID "0f8fad5b-d9cb-469f-a165-70867728950e"
#define TEST_UUID_2 "7c9e6679-7425-40de-944b-e07fc1f90ae7"

static struct proto_reply full_reply(void)
{
    struct proto_reply reply = {true, false, TEST_UUID, 300, 2, TEST_UUID_2};
    return reply;
}

static char *encode_reply(const struct proto_reply *reply)
{
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(proto_wire_encode_reply(reply, &text, &len), PROTO_OK);
    assert_int_equal(strlen(text), len);
    return text;
}

static char *encode_error(const struct proto_error_body *error)
{
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(proto_wire_encode_error(error, &text, &len), PROTO_OK);
    assert_int_equal(strlen(text), len);
    return text;
}

static void expect_reply_refused(const char *doc, enum proto_rc rc, const char *field)
{
    struct proto_reply reply;
    struct proto_json_error err;
    memset(&reply, 0x55, sizeof(reply));
    enum proto_rc got = proto_wire_decode_reply(doc, strlen(doc), &reply, &err);
    if (got != rc || strcmp(err.field, field) != 0) {
        fail_msg("%s: got %s at \"%s\" (%s), expected %s at \"%s\"", doc, proto_rc_str(got),
                 err.field, err.message, proto_rc_str(rc), field);
    }
    assert_true(testutil_all_zero((const unsigned char *)&reply, sizeof(reply)));
}

static void expect_error_refused(const char *doc, enum proto_rc rc, const char *field)
{
    struct proto_error_body body;
    struct proto_json_error err;
    enum proto_rc got = proto_wire_decode_error(doc, strlen(doc), &body, &err);
    if (got != rc || strcmp(err.field, field) != 0) {
        fail_msg("%s: got %s at \"%s\" (%s), expected %s at \"%s\"", doc, proto_rc_str(got),
                 err.field, err.message, proto_rc_str(rc), field);
    }
}

/* The edited reply is refused with rc, naming field. */
static void expect_edit_refused(const char *doc, const char *path, const char *raw,
                                enum proto_rc rc, const char *field)
{
    char *edited = wire_test_edit(doc, path, raw);
    expect_reply_refused(edited, rc, field);
    proto_free(edited);
}

/* ---- the acknowledgement ------------------------------------------------------------------- */

static void test_reply_round_trips_field_for_field(void **state)
{
    (void)state;
    struct proto_reply reply = full_reply();
    char *text = encode_reply(&reply);
    struct proto_reply back;
    struct proto_json_error err;
    assert_int_equal(proto_wire_decode_reply(text, strlen(text), &back, &err), PROTO_OK);
    assert_true(back.accepted);
    assert_false(back.duplicate);
    assert_string_equal(back.report_id, TEST_UUID);
    assert_int_equal(back.next_interval_s, 300);
    assert_int_equal(back.findings, 2);
    assert_string_equal(back.pending_profile, TEST_UUID_2);
    char *again = encode_reply(&back);
    assert_string_equal(again, text);
    proto_free(again);
    proto_free(text);
}

/* The encoder writes, byte for byte, what collector/api_reports.c builds with snprintf today,
 * so the collector can switch to it without any agent noticing. */
static void test_reply_is_byte_identical_to_what_the_collector_writes_today(void **state)
{
    (void)state;
    struct proto_reply reply = {true, true, TEST_UUID, 86400, 0, ""};
    char *text = encode_reply(&reply);
    assert_string_equal(text, "{\"accepted\":true,\"duplicate\":true,\"report_id\":\"" TEST_UUID
                              "\",\"next_interval_s\":86400,\"findings\":0}");
    proto_free(text);
}

static void test_reply_without_a_pending_profile_leaves_the_member_out(void **state)
{
    (void)state;
    struct proto_reply reply = full_reply();
    reply.pending_profile[0] = '\0';
    char *text = encode_reply(&reply);
    assert_null(strstr(text, "pending_profile"));
    struct proto_reply back;
    assert_int_equal(proto_wire_decode_reply(text, strlen(text), &back, NULL), PROTO_OK);
    assert_string_equal(back.pending_profile, "");
    proto_free(text);
}

static void test_reply_each_missing_required_member_is_named(void **state)
{
    (void)state;
    static const char *const required[] = {"accepted", "duplicate", "report_id", "next_interval_s",
                                           "findings"};
    struct proto_reply reply = full_reply();
    char *text = encode_reply(&reply);
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        expect_edit_refused(text, required[i], NULL, PROTO_EMISSING, required[i]);
    }
    proto_free(text);
}

static void test_reply_wrong_member_types_are_named(void **state)
{
    (void)state;
    struct proto_reply reply = full_reply();
    char *text = encode_reply(&reply);
    expect_edit_refused(text, "accepted", "1", PROTO_ETYPE, "accepted");
    expect_edit_refused(text, "duplicate", "\"false\"", PROTO_ETYPE, "duplicate");
    expect_edit_refused(text, "duplicate", "null", PROTO_ETYPE, "duplicate");
    expect_edit_refused(text, "report_id", "42", PROTO_ETYPE, "report_id");
    expect_edit_refused(text, "next_interval_s", "\"300\"", PROTO_ETYPE, "next_interval_s");
    expect_edit_refused(text, "findings", "[]", PROTO_ETYPE, "findings");
    expect_edit_refused(text, "findings", "1.5", PROTO_ETYPE, "findings");
    expect_edit_refused(text, "pending_profile", "null", PROTO_ETYPE, "pending_profile");
    expect_reply_refused("[]", PROTO_ETYPE, "");
    expect_reply_refused("\"accepted\"", PROTO_ETYPE, "");
    proto_free(text);
}

static void test_reply_numbers_outside_their_range_are_refused(void **state)
{
    (void)state;
    struct proto_reply reply = full_reply();
    char *text = encode_reply(&reply);
    expect_edit_refused(text, "next_interval_s", "0", PROTO_ELIMIT, "next_interval_s");
    expect_edit_refused(text, "next_interval_s", "86401", PROTO_ELIMIT, "next_interval_s");
    expect_edit_refused(text, "next_interval_s", "-1", PROTO_ELIMIT, "next_interval_s");
    expect_edit_refused(text, "findings", "4097", PROTO_ELIMIT, "findings");
    expect_edit_refused(text, "findings", "1e300", PROTO_ELIMIT, "findings");
    char *edited = wire_test_edit(text, "findings", "4096");
    struct proto_reply back;
    assert_int_equal(proto_wire_decode_reply(edited, strlen(edited), &back, NULL), PROTO_OK);
    assert_int_equal(back.findings, PROTO_MAX_FINDINGS);
    proto_free(edited);
    proto_free(text);
}

static void test_reply_ids_must_be_uuids_and_are_lower_cased(void **state)
{
    (void)state;
    struct proto_reply reply = full_reply();
    char *text = encode_reply(&reply);
    expect_edit_refused(text, "report_id", "\"\"", PROTO_EPARSE, "report_id");
    expect_edit_refused(text, "report_id", "\"0f8fad5b-d9cb-469f-a165-70867728950\"", PROTO_EPARSE,
                        "report_id");
    expect_edit_refused(text, "report_id", "\"0f8fad5bxd9cb-469f-a165-70867728950e\"", PROTO_EPARSE,
                        "report_id");
    expect_edit_refused(text, "pending_profile", "\"nope\"", PROTO_EPARSE, "pending_profile");

    char *upper = wire_test_edit(text, "report_id", "\"0F8FAD5B-D9CB-469F-A165-70867728950E\"");
    struct proto_reply back;
    assert_int_equal(proto_wire_decode_reply(upper, strlen(upper), &back, NULL), PROTO_OK);
    assert_string_equal(back.report_id, TEST_UUID);
    proto_free(upper);

    /* The encoder writes lower-case whatever it is given. */
    struct proto_reply shouting = full_reply();
    memcpy(shouting.report_id, "0F8FAD5B-D9CB-469F-A165-70867728950E", 37);
    char *lowered = encode_reply(&shouting);
    assert_string_equal(lowered, text);
    proto_free(lowered);
    proto_free(text);
}

static void test_reply_unknown_members_are_ignored_for_forward_compatibility(void **state)
{
    (void)state;
    struct proto_reply reply = full_reply();
    char *text = encode_reply(&reply);
    char *edited = wire_test_edit(text, "campaign", "{\"id\":[1,2,{\"x\":null}],\"y\":\"z\"}");
    struct proto_reply back;
    assert_int_equal(proto_wire_decode_reply(edited, strlen(edited), &back, NULL), PROTO_OK);
    assert_string_equal(back.report_id, TEST_UUID);
    /* Unknown, but given twice: refused all the same, since a later reader that knows the
     * member could take either value (decision 017). */
    char *twice = wire_test_prepend(edited, "\"campaign\":0,");
    struct proto_json_error err;
    assert_int_equal(proto_wire_decode_reply(twice, strlen(twice), &back, &err), PROTO_EPARSE);
    assert_string_equal(err.field, "campaign");
    free(twice);
    proto_free(edited);
    proto_free(text);
}

static void test_reply_member_given_twice_is_refused(void **state)
{
    (void)state;
    struct proto_reply reply = full_reply();
    char *text = encode_reply(&reply);
    /* Which of the two would a reader take? Neither: the document is refused. */
    char *twice = wire_test_prepend(text, "\"duplicate\":true,");
    expect_reply_refused(twice, PROTO_EPARSE, "duplicate");
    free(twice);
    proto_free(text);
}

static void test_reply_oversize_is_refused_before_parsing(void **state)
{
    (void)state;
    struct proto_reply reply = full_reply();
    char *text = encode_reply(&reply);
    size_t pad = PROTO_MAX_REPLY_BYTES - strlen(text) + 1;
    char *spaces = wire_test_repeat(' ', pad);
    char *big = malloc(strlen(text) + pad + 1);
    assert_non_null(big);
    memcpy(big, text, strlen(text));
    memcpy(big + strlen(text), spaces, pad + 1);
    assert_int_equal(strlen(big), PROTO_MAX_REPLY_BYTES + 1);
    /* Not one allocation: the size is checked first. */
    proto_alloc_fail_after(1);
    expect_reply_refused(big, PROTO_ELIMIT, "");
    proto_alloc_fail_after(0);
    big[PROTO_MAX_REPLY_BYTES] = '\0';
    struct proto_reply back;
    assert_int_equal(proto_wire_decode_reply(big, strlen(big), &back, NULL), PROTO_OK);
    free(big);
    free(spaces);
    proto_free(text);
}

static void test_reply_text_that_is_not_strict_json_is_refused(void **state)
{
    (void)state;
    static const char head[] = "{\"accepted\":true,\"duplicate\":false,\"report_id\":\"" TEST_UUID
                               "\",\"next_interval_s\":";
    struct {
        const char *tail;
        enum proto_rc rc;
        const char *field; /* the member the error names */
    } cases[] = {
        {"0300,\"findings\":1}", PROTO_EPARSE, "next_interval_s"}, /* leading zero */
        {"300.,\"findings\":1}", PROTO_EPARSE, "next_interval_s"}, /* fraction without digits */
        {"300,\"findings\":-.5}", PROTO_EPARSE, "findings"},       /* no integer part */
        {"300,\"findings\":1e}", PROTO_EPARSE, "findings"},        /* exponent without digits */
        {"300,\"findings\":+1}", PROTO_EPARSE, "findings"},        /* plus sign */
        {"300,\"findings\":1}x", PROTO_EPARSE, ""},                /* trailing text */
        {"300,\"findings\":1,}", PROTO_EPARSE, ""},                /* trailing comma */
        {"300,\"findings\":1\v}", PROTO_EPARSE, "findings"},       /* not JSON whitespace */
        {"300,\"findings\":1,\"x\":\"a\tb\"}", PROTO_EPARSE, "x"}, /* raw tab in a string */
        {"300,\"findings\":1,\"x\":\"a\\u0000b\"}", PROTO_EPARSE, "x"},       /* escaped NUL */
        {"300,\"findings\":1,\"x\":\"\xC0\xAF\"}", PROTO_EENCODING, "x"},     /* overlong UTF-8 */
        {"300,\"findings\":1,\"x\":\"\xED\xA0\x80\"}", PROTO_EENCODING, "x"}, /* a surrogate */
        {"300,\"findings\":1,\"x\":\"\xF4\x90\x80\x80\"}", PROTO_EENCODING, "x"}, /* > U+10FFFF */
        {"300,\"findings\":1,\"x\":\"\xE2\x82\"}", PROTO_EENCODING, "x"},         /* cut short */
        {"300,\"findings\":1,\"x\":[[[[[[[[1]]]]]]]]}", PROTO_ELIMIT,
         "x[0][0][0][0][0][0][0]"},                       /* 9 deep */
        {"300,\"findings\":1", PROTO_EPARSE, "findings"}, /* unterminated */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char doc[512];
        int n = snprintf(doc, sizeof(doc), "%s%s", head, cases[i].tail);
        assert_true(n > 0 && (size_t)n < sizeof(doc));
        expect_reply_refused(doc, cases[i].rc, cases[i].field);
    }
    /* What stays valid: escapes, exponents, fractions of integers, depth 8, whitespace. */
    char ok[512];
    int n = snprintf(ok, sizeof(ok),
                     " \r\n\t%s3e2 , \"findings\" : 1.0,\"x\":[[[[[[[1]]]]]]],"
                     "\"y\":\"\\u00e9\\ud83d\\ude00\xC3\xA9\"}\n",
                     head);
    assert_true(n > 0 && (size_t)n < sizeof(ok));
    struct proto_reply back;
    struct proto_json_error err;
    assert_int_equal(proto_wire_decode_reply(ok, strlen(ok), &back, &err), PROTO_OK);
    assert_int_equal(back.next_interval_s, 300);
    assert_int_equal(back.findings, 1);

    expect_reply_refused("", PROTO_EPARSE, "");
    /* A byte order mark: cJSON would skip it, other readers refuse it. */
    char bom[600];
    n = snprintf(bom, sizeof(bom), "\xEF\xBB\xBF%s300,\"findings\":1}", head);
    assert_true(n > 0 && (size_t)n < sizeof(bom));
    expect_reply_refused(bom, PROTO_EPARSE, "");
    assert_int_equal(proto_wire_decode_reply(NULL, 0, &back, NULL), PROTO_EPARSE);
    assert_int_equal(proto_wire_decode_reply(NULL, 1, &back, NULL), PROTO_EINVAL);
    assert_int_equal(proto_wire_decode_reply("{}", 2, NULL, NULL), PROTO_EINVAL);
    /* A NUL inside the length is refused, not read as the end. */
    assert_int_equal(proto_wire_decode_reply("{}\0{}", 5, &back, NULL), PROTO_EPARSE);
}

static void test_reply_encoder_refuses_what_the_decoder_would_refuse(void **state)
{
    (void)state;
    char *text = (char *)"unchanged";
    size_t len = 7;
    struct proto_reply reply = full_reply();
    reply.next_interval_s = 0;
    assert_int_equal(proto_wire_encode_reply(&reply, &text, &len), PROTO_EINVAL);
    assert_null(text);
    assert_int_equal(len, 0);
    reply = full_reply();
    reply.next_interval_s = PROTO_MAX_NEXT_INTERVAL_S + 1;
    assert_int_equal(proto_wire_encode_reply(&reply, &text, &len), PROTO_EINVAL);
    reply = full_reply();
    reply.findings = PROTO_MAX_FINDINGS + 1;
    assert_int_equal(proto_wire_encode_reply(&reply, &text, &len), PROTO_EINVAL);
    reply = full_reply();
    memcpy(reply.report_id, "not-a-uuid", 11);
    assert_int_equal(proto_wire_encode_reply(&reply, &text, &len), PROTO_EINVAL);
    reply = full_reply();
    memcpy(reply.pending_profile, "x", 2);
    assert_int_equal(proto_wire_encode_reply(&reply, &text, &len), PROTO_EINVAL);
    assert_int_equal(proto_wire_encode_reply(NULL, &text, &len), PROTO_EINVAL);
    assert_int_equal(proto_wire_encode_reply(&reply, NULL, &len), PROTO_EINVAL);
}

/* ---- the error body ------------------------------------------------------------------------ */

static void test_error_body_round_trips_and_matches_the_collector(void **state)
{
    (void)state;
    struct proto_error_body error = {"invalid_report", "expected a string",
                                     "snapshot.certs[3].sha1"};
    char *text = encode_error(&error);
    /* collector/http.c col_http_response_error writes the same bytes. */
    assert_string_equal(text, "{\"error\":{\"code\":\"invalid_report\",\"message\":\"expected a "
                              "string\",\"field\":\"snapshot.certs[3].sha1\"}}");
    struct proto_error_body back;
    assert_int_equal(proto_wire_decode_error(text, strlen(text), &back, NULL), PROTO_OK);
    assert_string_equal(back.code, error.code);
    assert_string_equal(back.message, error.message);
    assert_string_equal(back.field, error.field);
    proto_free(text);

    struct proto_error_body no_field = {"busy", "the collector is busy: retry later", ""};
    text = encode_error(&no_field);
    assert_string_equal(text, "{\"error\":{\"code\":\"busy\",\"message\":\"the collector is busy: "
                              "retry later\"}}");
    assert_int_equal(proto_wire_decode_error(text, strlen(text), &back, NULL), PROTO_OK);
    assert_string_equal(back.field, "");
    proto_free(text);
}

static void test_error_body_missing_and_mistyped_members_are_named(void **state)
{
    (void)state;
    struct proto_error_body error = {"forbidden", "not your host", "host.fqdn"};
    char *text = encode_error(&error);
    struct {
        const char *path;
        const char *raw;
        enum proto_rc rc;
        const char *field;
    } cases[] = {
        {"error", NULL, PROTO_EMISSING, "error"},
        {"error.code", NULL, PROTO_EMISSING, "error.code"},
        {"error.message", NULL, PROTO_EMISSING, "error.message"},
        {"error", "\"forbidden\"", PROTO_ETYPE, "error"},
        {"error.code", "403", PROTO_ETYPE, "error.code"},
        {"error.message", "null", PROTO_ETYPE, "error.message"},
        {"error.field", "[\"host\"]", PROTO_ETYPE, "error.field"},
        {"error.code", "\"\"", PROTO_EPARSE, "error.code"},
        {"error.code", "\"Forbidden\"", PROTO_EPARSE, "error.code"},
        {"error.code", "\"not found\"", PROTO_EPARSE, "error.code"},
        {"error.code", "\"_x\"", PROTO_EPARSE, "error.code"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *edited = wire_test_edit(text, cases[i].path, cases[i].raw);
        expect_error_refused(edited, cases[i].rc, cases[i].field);
        proto_free(edited);
    }
    char *twice = wire_test_prepend(text, "\"error\":{},");
    expect_error_refused(twice, PROTO_EPARSE, "error");
    free(twice);
    proto_free(text);
}

static void test_error_body_strings_longer_than_their_cap_are_refused(void **state)
{
    (void)state;
    struct proto_error_body error = {"invalid_report", "m", "f"};
    char *text = encode_error(&error);
    struct {
        const char *path;
        size_t cap;
    } caps[] = {
        {"error.code", PROTO_MAX_ERROR_CODE},
        {"error.message", PROTO_MAX_ERROR_MESSAGE},
        {"error.field", PROTO_MAX_ERROR_FIELD},
    };
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        for (size_t extra = 0; extra <= 1; extra++) {
            char *s = wire_test_repeat('a', caps[i].cap + extra);
            char *raw = malloc(strlen(s) + 3);
            assert_non_null(raw);
            int n = snprintf(raw, strlen(s) + 3, "\"%s\"", s);
            assert_true(n > 0);
            char *edited = wire_test_edit(text, caps[i].path, raw);
            struct proto_error_body back;
            struct proto_json_error err;
            enum proto_rc rc = proto_wire_decode_error(edited, strlen(edited), &back, &err);
            if (extra == 0) {
                assert_int_equal(rc, PROTO_OK);
            } else {
                assert_int_equal(rc, PROTO_ELIMIT);
                assert_string_equal(err.field, caps[i].path);
            }
            proto_free(edited);
            free(raw);
            free(s);
        }
    }
    proto_free(text);
}

static void test_error_body_unknown_members_are_ignored(void **state)
{
    (void)state;
    static const char doc[] = "{\"trace\":\"abc\",\"error\":{\"code\":\"busy\",\"retry\":[1],"
                              "\"message\":\"later\"}}";
    struct proto_error_body back;
    assert_int_equal(proto_wire_decode_error(doc, strlen(doc), &back, NULL), PROTO_OK);
    assert_string_equal(back.code, "busy");
    assert_string_equal(back.message, "later");
}

/* An error body must always go out: the encoder repairs text instead of refusing it. */
static void test_error_encoder_makes_any_text_fit(void **state)
{
    (void)state;
    struct proto_error_body error;
    memset(&error, 0, sizeof(error));
    memcpy(error.code, "invalid_report", 15);
    /* An invalid byte, a valid two-byte character, a sequence cut short at the very end. */
    memcpy(error.message,
           "a\xFF"
           "b\xC3\xA9"
           "c\xE2\x82",
           9);
    /* A field filled to its cap with 2-byte characters, then one cut: the array is full. */
    for (size_t i = 0; i + 1 < PROTO_MAX_ERROR_FIELD; i += 2) {
        error.field[i] = (char)0xC3;
        error.field[i + 1] = (char)0xA9;
    }
    error.field[PROTO_MAX_ERROR_FIELD] = (char)0xC3; /* no NUL at all */
    char *text = encode_error(&error);
    struct proto_error_body back;
    assert_int_equal(proto_wire_decode_error(text, strlen(text), &back, NULL), PROTO_OK);
    assert_string_equal(back.message, "a\xEF\xBF\xBD"
                                      "b\xC3\xA9"
                                      "c\xEF\xBF\xBD\xEF\xBF\xBD");
    assert_int_equal(strlen(back.field), PROTO_MAX_ERROR_FIELD);
    proto_free(text);

    /* Replacements that would pass the cap are dropped at a character boundary. */
    memset(error.message, 0xFF, PROTO_MAX_ERROR_MESSAGE);
    error.message[PROTO_MAX_ERROR_MESSAGE] = '\0';
    text = encode_error(&error);
    assert_int_equal(proto_wire_decode_error(text, strlen(text), &back, NULL), PROTO_OK);
    assert_int_equal(strlen(back.message), PROTO_MAX_ERROR_MESSAGE / 3 * 3);
    proto_free(text);

    char *out = NULL;
    memcpy(error.code, "Not Valid", 10);
    assert_int_equal(proto_wire_encode_error(&error, &out, NULL), PROTO_EINVAL);
    memset(error.code, 'a', sizeof(error.code)); /* no NUL */
    assert_int_equal(proto_wire_encode_error(&error, &out, NULL), PROTO_EINVAL);
    assert_null(out);
}

/* ---- out of memory ------------------------------------------------------------------------- */

static void test_every_allocation_failure_is_reported_without_leaks(void **state)
{
    (void)state;
    struct proto_reply reply = full_reply();
    struct proto_error_body error = {"invalid_report", "expected a string", "report_id"};
    char *reply_text = encode_reply(&reply);
    char *error_text = encode_error(&error);
    unsigned long n;

    for (n = 1; n < 10000; n++) {
        struct proto_reply back;
        struct proto_json_error err;
        proto_alloc_fail_after(n);
        enum proto_rc rc = proto_wire_decode_reply(reply_text, strlen(reply_text), &back, &err);
        proto_alloc_fail_after(0);
        if (rc == PROTO_OK) {
            break;
        }
        assert_int_equal(rc, PROTO_ENOMEM);
        assert_string_equal(err.message, "out of memory");
    }
    assert_true(n > 1 && n < 10000);
    for (n = 1; n < 10000; n++) {
        struct proto_error_body back;
        proto_alloc_fail_after(n);
        enum proto_rc rc = proto_wire_decode_error(error_text, strlen(error_text), &back, NULL);
        proto_alloc_fail_after(0);
        if (rc == PROTO_OK) {
            break;
        }
        assert_int_equal(rc, PROTO_ENOMEM);
    }
    assert_true(n > 1 && n < 10000);
    for (n = 1; n < 10000; n++) {
        char *out = NULL;
        proto_alloc_fail_after(n);
        enum proto_rc rc = proto_wire_encode_reply(&reply, &out, NULL);
        proto_alloc_fail_after(0);
        if (rc == PROTO_OK) {
            assert_string_equal(out, reply_text);
            proto_free(out);
            break;
        }
        assert_int_equal(rc, PROTO_ENOMEM);
        assert_null(out);
    }
    assert_true(n > 1 && n < 10000);
    for (n = 1; n < 10000; n++) {
        char *out = NULL;
        proto_alloc_fail_after(n);
        enum proto_rc rc = proto_wire_encode_error(&error, &out, NULL);
        proto_alloc_fail_after(0);
        if (rc == PROTO_OK) {
            assert_string_equal(out, error_text);
            proto_free(out);
            break;
        }
        assert_int_equal(rc, PROTO_ENOMEM);
        assert_null(out);
    }
    assert_true(n > 1 && n < 10000);
    proto_free(error_text);
    proto_free(reply_text);
}

/* ---- the schema files ---------------------------------------------------------------------- */

static void test_schemas_repeat_the_caps_of_caps_h(void **state)
{
    (void)state;
    const struct wire_test_cap reply_caps[] = {
        {"properties/next_interval_s/minimum", 1},
        {"properties/next_interval_s/maximum", PROTO_MAX_NEXT_INTERVAL_S},
        {"properties/findings/maximum", PROTO_MAX_FINDINGS},
    };
    const struct wire_test_cap error_caps[] = {
        {"properties/error/properties/code/maxLength", PROTO_MAX_ERROR_CODE},
        {"properties/error/properties/message/maxLength", PROTO_MAX_ERROR_MESSAGE},
        {"properties/error/properties/field/maxLength", PROTO_MAX_ERROR_FIELD},
    };
    wire_test_schema_caps("reply.schema.json", reply_caps,
                          sizeof(reply_caps) / sizeof(reply_caps[0]));
    wire_test_schema_caps("error.schema.json", error_caps,
                          sizeof(error_caps) / sizeof(error_caps[0]));
}

static void refuse_reply_file(const char *name, const char *text, size_t len)
{
    struct proto_reply back;
    struct proto_json_error err;
    if (proto_wire_decode_reply(text, len, &back, &err) == PROTO_OK) {
        fail_msg("reply/%s decodes, but the schema refuses it", name);
    }
}

static void refuse_error_file(const char *name, const char *text, size_t len)
{
    struct proto_error_body back;
    struct proto_json_error err;
    if (proto_wire_decode_error(text, len, &back, &err) == PROTO_OK) {
        fail_msg("error/%s decodes, but the schema refuses it", name);
    }
}

/* Every document the schemas call invalid, the decoders refuse too. */
static void test_schema_counterexamples_are_refused_by_the_decoders(void **state)
{
    (void)state;
    assert_true(wire_test_each_counterexample("reply", refuse_reply_file) >= 3);
    assert_true(wire_test_each_counterexample("error", refuse_error_file) >= 3);
}

/* ---- documents for tests/integration/test_schema.sh ---------------------------------------- */

static void test_encoded_answers_are_written_for_the_schema_check(void **state)
{
    (void)state;
    struct proto_reply reply = full_reply();
    char *text = encode_reply(&reply);
    wire_test_write("reply.json", text);
    proto_free(text);
    reply.pending_profile[0] = '\0';
    reply.duplicate = true;
    reply.findings = PROTO_MAX_FINDINGS;
    reply.next_interval_s = PROTO_MAX_NEXT_INTERVAL_S;
    text = encode_reply(&reply);
    wire_test_write("reply-duplicate.json", text);
    proto_free(text);

    struct proto_error_body error = {"invalid_report", "expected a string",
                                     "snapshot.certs[3].sha1"};
    text = encode_error(&error);
    wire_test_write("error.json", text);
    proto_free(text);
    struct proto_error_body no_field = {"busy", "", ""};
    text = encode_error(&no_field);
    wire_test_write("error-no-field.json", text);
    proto_free(text);
}

int main(void)
{
    const struct CMUnitTest write_only[] = {
        cmocka_unit_test(test_encoded_answers_are_written_for_the_schema_check),
    };
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_round_trips_field_for_field),
        cmocka_unit_test(test_reply_is_byte_identical_to_what_the_collector_writes_today),
        cmocka_unit_test(test_reply_without_a_pending_profile_leaves_the_member_out),
        cmocka_unit_test(test_reply_each_missing_required_member_is_named),
        cmocka_unit_test(test_reply_wrong_member_types_are_named),
        cmocka_unit_test(test_reply_numbers_outside_their_range_are_refused),
        cmocka_unit_test(test_reply_ids_must_be_uuids_and_are_lower_cased),
        cmocka_unit_test(test_reply_unknown_members_are_ignored_for_forward_compatibility),
        cmocka_unit_test(test_reply_member_given_twice_is_refused),
        cmocka_unit_test(test_reply_oversize_is_refused_before_parsing),
        cmocka_unit_test(test_reply_text_that_is_not_strict_json_is_refused),
        cmocka_unit_test(test_reply_encoder_refuses_what_the_decoder_would_refuse),
        cmocka_unit_test(test_error_body_round_trips_and_matches_the_collector),
        cmocka_unit_test(test_error_body_missing_and_mistyped_members_are_named),
        cmocka_unit_test(test_error_body_strings_longer_than_their_cap_are_refused),
        cmocka_unit_test(test_error_body_unknown_members_are_ignored),
        cmocka_unit_test(test_error_encoder_makes_any_text_fit),
        cmocka_unit_test(test_every_allocation_failure_is_reported_without_leaks),
        cmocka_unit_test(test_schemas_repeat_the_caps_of_caps_h),
        cmocka_unit_test(test_schema_counterexamples_are_refused_by_the_decoders),
        cmocka_unit_test(test_encoded_answers_are_written_for_the_schema_check),
    };
    /* The tests edit documents with cJSON; route it through the seam like the library does. */
    proto_alloc_install_cjson_hooks();
    if (getenv("RRAS_WRITE_WIRE") != NULL) {
        return cmocka_run_group_tests_name("wire_reply_write", write_only, NULL, NULL);
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
