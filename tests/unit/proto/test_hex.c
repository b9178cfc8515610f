/* Unit tests of proto/hex: bytes to hex digits and back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "hex.h"

static void test_bytes_encode_to_lower_or_upper_digits(void **state)
{
    (void)state;
    const unsigned char bytes[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    char out[2 * sizeof(bytes) + 1];
    proto_hex_encode(bytes, sizeof(bytes), false, out);
    assert_string_equal(out, "00017f80abff");
    proto_hex_encode(bytes, sizeof(bytes), true, out);
    assert_string_equal(out, "00017F80ABFF");
    proto_hex_encode(bytes, 0, false, out);
    assert_string_equal(out, "");
}

static void test_every_byte_round_trips(void **state)
{
    (void)state;
    unsigned char all[256];
    unsigned char back[256];
    char text[513];
    for (size_t i = 0; i < sizeof(all); i++) {
        all[i] = (unsigned char)i;
    }
    proto_hex_encode(all, sizeof(all), false, text);
    assert_true(proto_hex_decode_lower(text, back, sizeof(back)));
    assert_memory_equal(all, back, sizeof(all));
}

static void test_decoding_refuses_short_upper_case_and_foreign_text(void **state)
{
    (void)state;
    unsigned char out[4];
    assert_true(proto_hex_decode_lower("0a1b2c3d", out, 4));
    assert_int_equal(out[3], 0x3d);
    assert_false(proto_hex_decode_lower("0a1b2c", out, 4));   /* too short */
    assert_false(proto_hex_decode_lower("0a1b2c3", out, 4));  /* odd */
    assert_false(proto_hex_decode_lower("0A1B2C3D", out, 4)); /* one spelling only */
    assert_false(proto_hex_decode_lower("0a1b2g3d", out, 4));
    assert_false(proto_hex_decode_lower("0a1b 2c3", out, 4));
    assert_false(proto_hex_decode_lower(NULL, out, 4));
    assert_true(proto_hex_decode_lower("0a1b2c3d99", out, 4)); /* reads exactly 2 * len */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes_encode_to_lower_or_upper_digits),
        cmocka_unit_test(test_every_byte_round_trips),
        cmocka_unit_test(test_decoding_refuses_short_upper_case_and_foreign_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
