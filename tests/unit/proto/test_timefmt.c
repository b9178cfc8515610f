/*
 * test_timefmt: RFC 3339 timestamps to Unix seconds and back, checked against values computed
 * independently (GNU date) and against the calendar's edges.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "timefmt.h"
#include "x509.h"

static int64_t parse_ok(const char *s)
{
    int64_t t = -1;
    enum proto_rc rc = proto_time_parse_rfc3339(s, &t);
    if (rc != PROTO_OK) {
        fail_msg("parse of \"%s\": %s", s, proto_rc_str(rc));
    }
    return t;
}

static enum proto_rc parse_rc(const char *s)
{
    int64_t t = 12345;
    enum proto_rc rc = proto_time_parse_rfc3339(s, &t);
    if (rc != PROTO_OK) {
        assert_int_equal(t, 12345); /* untouched on failure */
    }
    return rc;
}

static void test_utc_z_times_parse_to_unix_seconds(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parse_ok("2024-02-29T12:34:56Z"), 1709210096);
    assert_int_equal(parse_ok("2038-01-19T03:14:08Z"), 2147483648LL);
    assert_int_equal(parse_ok("2060-01-01T00:00:00Z"), 2840140800LL);
    assert_int_equal(parse_ok("1969-12-31T23:59:59Z"), -1);
    assert_int_equal(parse_ok("1900-03-01T00:00:00Z"), -2203891200LL);
    assert_int_equal(parse_ok("9999-12-31T23:59:59Z"), 253402300799LL);
    assert_int_equal(parse_ok("0000-01-01T00:00:00Z"), -62167219200LL);
}

static void test_lower_case_t_and_z_are_accepted(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2024-02-29t12:34:56z"), 1709210096);
}

static void test_fractional_seconds_are_dropped(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2024-02-29T12:34:56.999Z"), 1709210096);
    assert_int_equal(parse_ok("2024-02-29T12:34:56.1234567890Z"), 1709210096);
}

static void test_offsets_are_converted_to_utc(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2024-02-29T14:34:56+02:00"), 1709210096);
    assert_int_equal(parse_ok("2024-02-29T07:04:56-05:30"), 1709210096);
    assert_int_equal(parse_ok("2024-02-29T12:34:56-00:00"), 1709210096);
    assert_int_equal(parse_ok("2024-03-01T00:00:00+23:59"), 1709164860);
}

static void test_malformed_or_out_of_range_times_are_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "2024-02-29",
        "2024-02-29T12:34:56",  /* no zone */
        "2024-02-29 12:34:56Z", /* space separator */
        "2024-02-29T12:34Z",    /* no seconds */
        "24-02-29T12:34:56Z",   /* short year */
        "+2024-02-29T12:34:56Z",
        "2024-2-29T12:34:56Z",
        "2024-13-01T00:00:00Z",
        "2024-00-01T00:00:00Z",
        "2024-01-00T00:00:00Z",
        "2024-04-31T00:00:00Z",
        "2023-02-29T00:00:00Z", /* not a leap year */
        "1900-02-29T00:00:00Z", /* nor is 1900 */
        "2024-02-29T24:00:00Z",
        "2024-02-29T12:60:00Z",
        "2024-02-29T12:34:60Z", /* leap seconds are refused */
        "2024-02-29T12:34:56.Z",
        "2024-02-29T12:34:56+2:00",
        "2024-02-29T12:34:56+02",
        "2024-02-29T12:34:56+0200",
        "2024-02-29T12:34:56+24:00",
        "2024-02-29T12:34:56+02:60",
        "2024-02-29T12:34:56Zjunk",
        "2024-02-29T12:34:56Z ",
        " 2024-02-29T12:34:56Z",
        "2024-02-29T12:34:56ZZ",
        "2024-02-29T12:34:56.00000000000000000000000000000000000000000000000000Z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse_rc(bad[i]) != PROTO_EPARSE) {
            fail_msg("\"%s\" was accepted", bad[i]);
        }
    }
    int64_t t;
    assert_int_equal(proto_time_parse_rfc3339(NULL, &t), PROTO_EINVAL);
}

static void test_format_writes_utc_with_z(void **state)
{
    (void)state;
    char buf[21];
    assert_int_equal(proto_time_format_rfc3339(0, buf, sizeof(buf)), PROTO_OK);
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    assert_int_equal(proto_time_format_rfc3339(1709210096, buf, sizeof(buf)), PROTO_OK);
    assert_string_equal(buf, "2024-02-29T12:34:56Z");
    assert_int_equal(proto_time_format_rfc3339(-1, buf, sizeof(buf)), PROTO_OK);
    assert_string_equal(buf, "1969-12-31T23:59:59Z");
    assert_int_equal(proto_time_format_rfc3339(253402300799LL, buf, sizeof(buf)), PROTO_OK);
    assert_string_equal(buf, "9999-12-31T23:59:59Z");
    assert_int_equal(proto_time_format_rfc3339(-62167219200LL, buf, sizeof(buf)), PROTO_OK);
    assert_string_equal(buf, "0000-01-01T00:00:00Z");
}

static void test_format_refuses_small_buffers_and_unwritable_years(void **state)
{
    (void)state;
    char buf[32];
    assert_int_equal(proto_time_format_rfc3339(0, buf, 20), PROTO_EINVAL);
    assert_int_equal(proto_time_format_rfc3339(0, NULL, 32), PROTO_EINVAL);
    assert_int_equal(proto_time_format_rfc3339(253402300800LL, buf, sizeof(buf)), PROTO_EINVAL);
    assert_string_equal(buf, "");
    assert_int_equal(proto_time_format_rfc3339(-62167219201LL, buf, sizeof(buf)), PROTO_EINVAL);
    assert_int_equal(proto_time_format_rfc3339(INT64_MIN, buf, sizeof(buf)), PROTO_EINVAL);
    assert_int_equal(proto_time_format_rfc3339(INT64_MAX, buf, sizeof(buf)), PROTO_EINVAL);
}

static void test_format_then_parse_round_trips_across_the_range(void **state)
{
    (void)state;
    char buf[21];
    /* A stride that is prime and not a whole number of days visits every time of day. */
    for (int64_t t = -62167219200LL; t <= 253402300799LL; t += 86399LL * 37 + 13) {
        int64_t back = 0;
        assert_int_equal(proto_time_format_rfc3339(t, buf, sizeof(buf)), PROTO_OK);
        assert_int_equal(proto_time_parse_rfc3339(buf, &back), PROTO_OK);
        assert_int_equal(back, t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utc_z_times_parse_to_unix_seconds),
        cmocka_unit_test(test_lower_case_t_and_z_are_accepted),
        cmocka_unit_test(test_fractional_seconds_are_dropped),
        cmocka_unit_test(test_offsets_are_converted_to_utc),
        cmocka_unit_test(test_malformed_or_out_of_range_times_are_refused),
        cmocka_unit_test(test_format_writes_utc_with_z),
        cmocka_unit_test(test_format_refuses_small_buffers_and_unwritable_years),
        cmocka_unit_test(test_format_then_parse_round_trips_across_the_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
