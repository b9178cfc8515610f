/* test_text: decoding of captured text (UTF-16LE, UTF-8, cp437/cp850) and the line iterator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "caps.h"
#include "testutil.h"
#include "text.h"

static char *decode(const char *bytes, size_t len, unsigned cp, const char **encoding)
{
    char *out = NULL;
    size_t out_len = 0;
    assert_int_equal(
        proto_text_decode((const unsigned char *)bytes, len, cp, &out, &out_len, encoding),
        PROTO_OK);
    assert_non_null(out);
    assert_int_equal(strlen(out), out_len);
    return out;
}

static void expect_decode_fails(const char *bytes, size_t len, enum proto_rc rc)
{
    char *out = (char *)1;
    size_t out_len = 99;
    assert_int_equal(
        proto_text_decode((const unsigned char *)bytes, len, 437, &out, &out_len, NULL), rc);
    assert_null(out);
    assert_int_equal(out_len, 0);
}

static void test_utf16le_with_bom_becomes_utf8_with_lf(void **state)
{
    (void)state;
    /* BOM, "A", CR LF, u-umlaut, U+1F600 as a surrogate pair, lone CR, "z" */
    static const char in[] = "\xFF\xFE"
                             "A\x00\r\x00\n\x00\xFC\x00\x3D\xD8\x00\xDE\r\x00z\x00";
    const char *encoding = NULL;
    char *out = decode(in, sizeof(in) - 1, 437, &encoding);
    assert_string_equal(out, "A\n\xC3\xBC\xF0\x9F\x98\x80\nz");
    assert_string_equal(encoding, "utf-16le");
    proto_free(out);
}

static void test_utf16le_odd_length_is_an_encoding_error(void **state)
{
    (void)state;
    expect_decode_fails("\xFF\xFE"
                        "A\x00"
                        "B",
                        5, PROTO_EENCODING);
}

static void test_utf16le_unpaired_surrogates_are_encoding_errors(void **state)
{
    (void)state;
    expect_decode_fails("\xFF\xFE\x3D\xD8", 4, PROTO_EENCODING); /* high at end */
    expect_decode_fails("\xFF\xFE\x3D\xD8"
                        "A\x00",
                        6, PROTO_EENCODING); /* high + 'A' */
    expect_decode_fails("\xFF\xFE\x00\xDE"
                        "A\x00",
                        6, PROTO_EENCODING); /* low alone */
}

static void test_utf8_bom_is_stripped_and_text_kept(void **state)
{
    (void)state;
    const char *encoding = NULL;
    char *out = decode("\xEF\xBB\xBFGr\xC3\xBC\xC3\x9F"
                       "e\r\n",
                       12, 850, &encoding);
    assert_string_equal(out, "Gr\xC3\xBC\xC3\x9F"
                             "e\n");
    assert_string_equal(encoding, "utf-8");
    proto_free(out);
}

static void test_ascii_is_reported_as_utf8(void **state)
{
    (void)state;
    const char *encoding = NULL;
    char *out = decode("Ok.\r\n", 5, 437, &encoding);
    assert_string_equal(out, "Ok.\n");
    assert_string_equal(encoding, "utf-8");
    proto_free(out);
}

static void test_cp850_and_cp437_differ_at_0x9b(void **state)
{
    (void)state;
    const char *encoding = NULL;
    char *out = decode("\x81\x9B", 2, 850, &encoding);
    assert_string_equal(out, "\xC3\xBC\xC3\xB8"); /* u-umlaut, o-slash */
    assert_string_equal(encoding, "cp850");
    proto_free(out);

    out = decode("\x81\x9B", 2, 437, &encoding);
    assert_string_equal(out, "\xC3\xBC\xC2\xA2"); /* u-umlaut, cent sign */
    assert_string_equal(encoding, "cp437");
    proto_free(out);
}

static void test_unknown_codepage_falls_back_to_cp437(void **state)
{
    (void)state;
    const char *encoding = NULL;
    char *out = decode("\x9B", 1, 1252, &encoding);
    assert_string_equal(out, "\xC2\xA2");
    assert_string_equal(encoding, "cp437");
    proto_free(out);
}

static void check_table(unsigned cp, const char *expected_fixture)
{
    size_t in_len = 0, want_len = 0;
    char *in = testutil_read(testutil_fixture("text/oem-high.bin"), &in_len);
    char *want = testutil_read(testutil_fixture(expected_fixture), &want_len);
    assert_int_equal(in_len, 128);
    char *out = decode(in, in_len, cp, NULL);
    assert_int_equal(strlen(out), want_len);
    assert_memory_equal(out, want, want_len);
    proto_free(out);
    free(in);
    free(want);
}

static void test_cp437_table_matches_iconv_for_every_high_byte(void **state)
{
    (void)state;
    check_table(437, "text/oem-high-cp437.utf8");
}

static void test_cp850_table_matches_iconv_for_every_high_byte(void **state)
{
    (void)state;
    check_table(850, "text/oem-high-cp850.utf8");
}

static void test_overlong_utf8_is_decoded_as_oem(void **state)
{
    (void)state;
    const char *encoding = NULL;
    char *out = decode("\xC0\xAF", 2, 437, &encoding); /* overlong '/' */
    assert_string_equal(encoding, "cp437");
    assert_string_equal(out, "\xE2\x94\x94\xC2\xBB"); /* box-drawing corner, guillemet */
    proto_free(out);
}

static void test_utf8_encoded_surrogate_is_decoded_as_oem(void **state)
{
    (void)state;
    const char *encoding = NULL;
    char *out = decode("\xED\xA0\x80", 3, 437, &encoding);
    assert_string_equal(encoding, "cp437");
    assert_string_equal(out, "\xCF\x86\xC3\xA1\xC3\x87"); /* U+03C6, U+00E1, U+00C7 */
    proto_free(out);
}

static void test_utf8_c1_control_counts_as_not_utf8(void **state)
{
    (void)state;
    const char *encoding = NULL;
    char *out = decode("\xC2\x85", 2, 850, &encoding); /* U+0085 NEL: console noise */
    assert_string_equal(encoding, "cp850");
    assert_string_equal(out, "\xE2\x94\xAC\xC3\xA0"); /* cp850 0xC2, 0x85 */
    proto_free(out);
}

static void test_truncated_utf8_sequence_is_decoded_as_oem(void **state)
{
    (void)state;
    const char *encoding = NULL;
    char *out = decode("a\xC3", 2, 437, &encoding);
    assert_string_equal(encoding, "cp437");
    assert_string_equal(out, "a\xE2\x94\x9C");
    proto_free(out);
}

static void test_crlf_and_lone_cr_become_single_lf(void **state)
{
    (void)state;
    char *out = decode("a\r\nb\rc\r\r\nd\n\re", 13, 437, NULL);
    assert_string_equal(out, "a\nb\nc\n\nd\n\ne");
    proto_free(out);
}

static void test_nul_bytes_are_dropped_even_inside_crlf(void **state)
{
    (void)state;
    /* BOM-less UTF-16LE ASCII reads as plain text once the NULs are gone. */
    static const char in[] = "O\x00k\x00.\x00\r\x00\n\x00";
    char *out = decode(in, sizeof(in) - 1, 437, NULL);
    assert_string_equal(out, "Ok.\n");
    proto_free(out);

    static const char oem[] = "\x81\x00\x9B";
    out = decode(oem, sizeof(oem) - 1, 850, NULL);
    assert_string_equal(out, "\xC3\xBC\xC3\xB8");
    proto_free(out);
}

static void test_empty_input_gives_empty_string(void **state)
{
    (void)state;
    const char *encoding = NULL;
    char *out = decode(NULL, 0, 437, &encoding);
    assert_string_equal(out, "");
    assert_string_equal(encoding, "utf-8");
    proto_free(out);
    out = decode("\xFF\xFE", 2, 437, &encoding);
    assert_string_equal(out, "");
    assert_string_equal(encoding, "utf-16le");
    proto_free(out);
}

static void test_input_over_the_file_cap_is_refused(void **state)
{
    (void)state;
    size_t len = PROTO_MAX_TEXT_FILE_BYTES + 1u;
    char *big = calloc(len, 1);
    assert_non_null(big);
    expect_decode_fails(big, len, PROTO_ELIMIT);
    free(big);
}

static void test_input_at_the_file_cap_with_worst_growth_decodes(void **state)
{
    (void)state;
    size_t len = PROTO_MAX_TEXT_FILE_BYTES;
    char *big = malloc(len);
    assert_non_null(big);
    memset(big, 0xB0, len); /* U+2591: three bytes each */
    char *out = NULL;
    size_t out_len = 0;
    assert_int_equal(proto_text_decode((unsigned char *)big, len, 437, &out, &out_len, NULL),
                     PROTO_OK);
    assert_int_equal(out_len, 3 * len);
    proto_free(out);
    free(big);
}

static void test_invalid_arguments_are_refused(void **state)
{
    (void)state;
    size_t out_len = 0;
    char *out = NULL;
    assert_int_equal(proto_text_decode(NULL, 3, 437, &out, &out_len, NULL), PROTO_EINVAL);
    assert_int_equal(proto_text_decode((const unsigned char *)"a", 1, 437, NULL, &out_len, NULL),
                     PROTO_EINVAL);
}

static void test_every_allocation_failure_is_reported_without_leaks(void **state)
{
    (void)state;
    static const char in[] = "\xFF\xFE"
                             "A\x00\r\x00\n\x00";
    for (unsigned long n = 1; n < 20; n++) {
        char *out = NULL;
        size_t out_len = 0;
        proto_alloc_fail_after(n);
        enum proto_rc rc =
            proto_text_decode((const unsigned char *)in, sizeof(in) - 1, 437, &out, &out_len, NULL);
        proto_alloc_fail_after(0);
        if (rc == PROTO_OK) {
            assert_string_equal(out, "A\n");
            proto_free(out);
            return;
        }
        assert_int_equal(rc, PROTO_ENOMEM);
        assert_null(out);
    }
    fail_msg("decode never succeeded");
}

static void test_line_iterator_returns_each_line_without_lf(void **state)
{
    (void)state;
    const char text[] = "a\nbc\n\nd";
    size_t pos = 0, n = 0;
    const char *line = proto_text_next_line(text, 7, &pos, &n);
    assert_non_null(line);
    assert_int_equal(n, 1);
    assert_memory_equal(line, "a", 1);
    line = proto_text_next_line(text, 7, &pos, &n);
    assert_int_equal(n, 2);
    assert_memory_equal(line, "bc", 2);
    line = proto_text_next_line(text, 7, &pos, &n);
    assert_non_null(line);
    assert_int_equal(n, 0);
    line = proto_text_next_line(text, 7, &pos, &n);
    assert_int_equal(n, 1);
    assert_memory_equal(line, "d", 1);
    assert_null(proto_text_next_line(text, 7, &pos, &n));
    assert_null(proto_text_next_line(text, 7, &pos, &n));
}

static void test_line_iterator_does_not_invent_a_line_after_final_lf(void **state)
{
    (void)state;
    size_t pos = 0, n = 0;
    assert_non_null(proto_text_next_line("x\n", 2, &pos, &n));
    assert_null(proto_text_next_line("x\n", 2, &pos, &n));
    pos = 0;
    assert_null(proto_text_next_line("", 0, &pos, &n));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf16le_with_bom_becomes_utf8_with_lf),
        cmocka_unit_test(test_utf16le_odd_length_is_an_encoding_error),
        cmocka_unit_test(test_utf16le_unpaired_surrogates_are_encoding_errors),
        cmocka_unit_test(test_utf8_bom_is_stripped_and_text_kept),
        cmocka_unit_test(test_ascii_is_reported_as_utf8),
        cmocka_unit_test(test_cp850_and_cp437_differ_at_0x9b),
        cmocka_unit_test(test_unknown_codepage_falls_back_to_cp437),
        cmocka_unit_test(test_cp437_table_matches_iconv_for_every_high_byte),
        cmocka_unit_test(test_cp850_table_matches_iconv_for_every_high_byte),
        cmocka_unit_test(test_overlong_utf8_is_decoded_as_oem),
        cmocka_unit_test(test_utf8_encoded_surrogate_is_decoded_as_oem),
        cmocka_unit_test(test_utf8_c1_control_counts_as_not_utf8),
        cmocka_unit_test(test_truncated_utf8_sequence_is_decoded_as_oem),
        cmocka_unit_test(test_crlf_and_lone_cr_become_single_lf),
        cmocka_unit_test(test_nul_bytes_are_dropped_even_inside_crlf),
        cmocka_unit_test(test_empty_input_gives_empty_string),
        cmocka_unit_test(test_input_over_the_file_cap_is_refused),
        cmocka_unit_test(test_input_at_the_file_cap_with_worst_growth_decodes),
        cmocka_unit_test(test_invalid_arguments_are_refused),
        cmocka_unit_test(test_every_allocation_failure_is_reported_without_leaks),
        cmocka_unit_test(test_line_iterator_returns_each_line_without_lf),
        cmocka_unit_test(test_line_iterator_does_not_invent_a_line_after_final_lf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
