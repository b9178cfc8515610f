/*
 * test_base64: the strict base64 decoder (proto/base64.c): RFC 4648 vectors, every rejection,
 * the size computed before decoding, and a differential check against the check the report
 * decoder used before (its own alphabet scan, then mbedtls_base64_decode), so that no report
 * accepted before is refused now or the other way round.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include <mbedtls/base64.h>

#include "base64.h"

/* ---- helpers ----------------------------------------------------------------------------- */

/* Decodes a C string; returns the result and fills out/out_len on success. */
static enum proto_rc decode_text(const char *text, unsigned char *out, size_t size, size_t *len)
{
    *len = (size_t)-1;
    return proto_base64_decode(text, strlen(text), out, size, len);
}

static void assert_rejected(const char *text, size_t len)
{
    unsigned char out[64];
    size_t got = 12345;
    assert_true(len <= 4 * (sizeof(out) / 3));
    assert_int_equal(proto_base64_validate(text, len), PROTO_EPARSE);
    assert_int_equal(proto_base64_decode(text, len, out, sizeof(out), &got), PROTO_EPARSE);
    assert_int_equal(got, 12345); /* untouched on failure */
}

/*
 * The check proto/json.c dec_der made before proto_base64 existed, verbatim in logic: its own
 * alphabet and padding scan, then mbedtls_base64_decode for the size and for the bytes.
 */
static bool old_dec_der_accepts(const char *s, size_t len, unsigned char *out, size_t size,
                                size_t *out_len)
{
    bool ok = len % 4 == 0;
    for (size_t i = 0; ok && i < len; i++) {
        char c = s[i];
        bool pad_ok = c == '=' && i + 2 >= len && (i + 1 == len || s[i + 1] == '=');
        ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
             c == '+' || c == '/' || pad_ok;
    }
    size_t need = 0;
    if (ok && len > 0) {
        int rc = mbedtls_base64_decode(NULL, 0, &need, (const unsigned char *)s, len);
        ok = rc == 0 || rc == MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL;
    }
    if (!ok) {
        return false;
    }
    *out_len = 0;
    if (need == 0) {
        return true;
    }
    assert_true(need <= size);
    return mbedtls_base64_decode(out, need, out_len, (const unsigned char *)s, len) == 0;
}

/* Both decoders on one input: same verdict, same size, same bytes. */
static void assert_same_as_before(const char *s, size_t len)
{
    unsigned char old_out[512];
    unsigned char new_out[512];
    size_t old_len = 0;
    size_t new_len = 0;
    size_t size = 0;
    assert_true(len <= 4 * (sizeof(old_out) / 3));

    bool old_ok = old_dec_der_accepts(s, len, old_out, sizeof(old_out), &old_len);
    enum proto_rc rc = proto_base64_decode(s, len, new_out, sizeof(new_out), &new_len);
    if (old_ok != (rc == PROTO_OK)) {
        fail_msg("verdicts differ on '%.*s' (%zu bytes): before %s, now %s", (int)len, s, len,
                 old_ok ? "accepted" : "refused", proto_rc_str(rc));
    }
    assert_int_equal(proto_base64_validate(s, len), rc);
    if (old_ok) {
        assert_int_equal(proto_base64_decoded_size(s, len, &size), PROTO_OK);
        assert_int_equal(size, old_len);
        assert_int_equal(new_len, old_len);
        assert_memory_equal(new_out, old_out, old_len);
    }
}

/* xorshift64*: deterministic, so a failure reproduces. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1du) >> 32);
}

/* ---- vectors ----------------------------------------------------------------------------- */

static void test_rfc4648_section_10_vectors_decode_to_their_text(void **state)
{
    (void)state;
    static const char *const pairs[][2] = {
        {"", ""},
        {"Zg==", "f"},
        {"Zm8=", "fo"},
        {"Zm9v", "foo"},
        {"Zm9vYg==", "foob"},
        {"Zm9vYmE=", "fooba"},
        {"Zm9vYmFy", "foobar"},
    };
    for (size_t k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++) {
        unsigned char out[16];
        size_t len = 0;
        assert_int_equal(decode_text(pairs[k][0], out, sizeof(out), &len), PROTO_OK);
        assert_int_equal(len, strlen(pairs[k][1]));
        assert_memory_equal(out, pairs[k][1], len);
        assert_int_equal(proto_base64_validate(pairs[k][0], strlen(pairs[k][0])), PROTO_OK);
    }
}

static void test_every_alphabet_character_decodes_to_its_index(void **state)
{
    (void)state;
    /* 64 characters = 48 bytes 0x00 0x10 0x83 0x10 0x51 0x87 ... (RFC 4648 table 1 in order). */
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char out[48];
    size_t len = 0;
    assert_int_equal(decode_text(alphabet, out, sizeof(out), &len), PROTO_OK);
    assert_int_equal(len, 48);
    for (unsigned k = 0; k < 64; k++) {
        unsigned bit = k * 6;
        unsigned v = 0;
        for (unsigned b = 0; b < 6; b++) {
            unsigned byte = out[(bit + b) / 8];
            v = v << 1 | ((byte >> (7u - (bit + b) % 8u)) & 1u);
        }
        assert_int_equal(v, k);
    }
}

static void test_decoded_size_follows_from_length_and_padding_alone(void **state)
{
    (void)state;
    size_t size = 99;
    assert_int_equal(proto_base64_decoded_size("", 0, &size), PROTO_OK);
    assert_int_equal(size, 0);
    assert_int_equal(proto_base64_decoded_size("Zg==", 4, &size), PROTO_OK);
    assert_int_equal(size, 1);
    assert_int_equal(proto_base64_decoded_size("Zm8=", 4, &size), PROTO_OK);
    assert_int_equal(size, 2);
    assert_int_equal(proto_base64_decoded_size("Zm9vYmFy", 8, &size), PROTO_OK);
    assert_int_equal(size, 6);
    /* Only the length and the last characters are read: the bad '!' is decode's to find. */
    assert_int_equal(proto_base64_decoded_size("!!!!Zg==", 8, &size), PROTO_OK);
    assert_int_equal(size, 4);
    assert_int_equal(proto_base64_validate("!!!!Zg==", 8), PROTO_EPARSE);
    /* Not NUL-terminated: a length inside a larger buffer. */
    assert_int_equal(proto_base64_decoded_size("Zm8=Zm9v", 4, &size), PROTO_OK);
    assert_int_equal(size, 2);

    size = 99;
    assert_int_equal(proto_base64_decoded_size("Zg=", 3, &size), PROTO_EPARSE);
    assert_int_equal(size, 0);
    assert_int_equal(proto_base64_decoded_size("A===", 4, &size), PROTO_EPARSE);
    assert_int_equal(proto_base64_decoded_size("AB=C", 4, &size), PROTO_EPARSE);
}

/* ---- rejections -------------------------------------------------------------------------- */

static void test_characters_outside_the_alphabet_are_rejected(void **state)
{
    (void)state;
    assert_rejected("Zm9v!A==", 8);
    assert_rejected("Zm9vYm-y", 8); /* base64url's '-' and '_' are another alphabet */
    assert_rejected("Zm9vYm_y", 8);
    assert_rejected("Zm9v\0mFy", 8);
    assert_rejected("Zm9vY\xc3\xa9y", 8);
    assert_rejected("Zm9vYmF.", 8);
}

static void test_whitespace_anywhere_is_rejected(void **state)
{
    (void)state;
    assert_rejected(" Zm9vYmE", 8);
    assert_rejected("Zm9vYmE ", 8);
    assert_rejected("Zm9v\nZm9", 8);
    assert_rejected("Zm\r\nYmFy", 8);
    assert_rejected("Zm\t9vYmF", 8);
    assert_rejected("Zm9vYg= ", 8);
}

static void test_missing_padding_is_rejected(void **state)
{
    (void)state;
    assert_rejected("Zg", 2);
    assert_rejected("Zm8", 3);
    assert_rejected("Zm9vYg", 6);
    assert_rejected("Zm9vYmE", 7);
}

static void test_equals_sign_before_the_last_two_characters_is_rejected(void **state)
{
    (void)state;
    assert_rejected("=m9v", 4);
    assert_rejected("Z=9v", 4);
    assert_rejected("Zm=v", 4);
    assert_rejected("Zg==Zm9v", 8);
    assert_rejected("Zm8=Zm9v", 8);
    assert_rejected("Zm9v=A==", 8);
}

static void test_length_not_a_multiple_of_four_is_rejected(void **state)
{
    (void)state;
    assert_rejected("Zm9vY", 5);
    assert_rejected("Zm9vYg=", 7);
    assert_rejected("Zm9vYg===", 9);
    assert_rejected("Zm9vYmFyZ", 9);
}

static void test_four_or_three_equals_signs_in_a_group_are_rejected(void **state)
{
    (void)state;
    assert_rejected("====", 4);
    assert_rejected("A===", 4);
    assert_rejected("Zm9v====", 8);
    assert_rejected("Zm9vA===", 8);
}

static void test_too_short_inputs_are_rejected(void **state)
{
    (void)state;
    assert_rejected("Z", 1);
    assert_rejected("=", 1);
    assert_rejected("==", 2);
    assert_rejected("Z=", 2);
    assert_rejected("===", 3);
}

static void test_non_zero_trailing_bits_are_accepted_and_dropped_as_before(void **state)
{
    (void)state;
    /* "Zh==" and "Zm9=" carry spare bits after 'f' / "fo": mbedTLS 2.28 dropped them, and the
     * report decoder accepted such certificates, so this one must as well. */
    unsigned char out[8];
    size_t len = 0;
    assert_int_equal(decode_text("Zh==", out, sizeof(out), &len), PROTO_OK);
    assert_int_equal(len, 1);
    assert_int_equal(out[0], 'f');
    assert_int_equal(decode_text("Zm9=", out, sizeof(out), &len), PROTO_OK);
    assert_int_equal(len, 2);
    assert_memory_equal(out, "fo", 2);
    assert_int_equal(decode_text("Zm9vZ/==", out, sizeof(out), &len), PROTO_OK);
    assert_int_equal(len, 4);
    assert_memory_equal(out, "foog", 4);
    assert_same_as_before("Zh==", 4);
    assert_same_as_before("Zm9=", 4);
    assert_same_as_before("////", 4);
    assert_same_as_before("//==", 4);
    assert_same_as_before("///=", 4);
}

static void test_a_destination_smaller_than_the_decoded_size_is_refused_untouched(void **state)
{
    (void)state;
    unsigned char out[6];
    size_t len = 77;
    memset(out, 0xAA, sizeof(out));
    assert_int_equal(proto_base64_decode("Zm9vYmFy", 8, out, 5, &len), PROTO_EINVAL);
    assert_int_equal(len, 77);
    for (size_t k = 0; k < sizeof(out); k++) {
        assert_int_equal(out[k], 0xAA);
    }
    assert_int_equal(proto_base64_decode("Zm9vYmFy", 8, NULL, 0, &len), PROTO_EINVAL);
    assert_int_equal(proto_base64_decode("", 0, NULL, 0, &len), PROTO_OK);
    assert_int_equal(len, 0);
    /* Exactly the decoded size is enough, and nothing past it is written. */
    assert_int_equal(proto_base64_decode("Zm9vYg==", 8, out, 4, &len), PROTO_OK);
    assert_int_equal(len, 4);
    assert_int_equal(out[4], 0xAA);
}

/* ---- differential against what dec_der did before ---------------------------------------- */

static void test_random_bytes_encoded_by_mbedtls_decode_back_to_the_same_bytes(void **state)
{
    (void)state;
    for (int round = 0; round < 4000; round++) {
        unsigned char data[300];
        unsigned char text[404];
        unsigned char back[300];
        size_t n = rng_next() % (sizeof(data) + 1);
        for (size_t k = 0; k < n; k++) {
            data[k] = (unsigned char)rng_next();
        }
        size_t tlen = 0;
        assert_int_equal(mbedtls_base64_encode(text, sizeof(text), &tlen, data, n), 0);
        size_t size = 0;
        assert_int_equal(proto_base64_decoded_size((const char *)text, tlen, &size), PROTO_OK);
        assert_int_equal(size, n);
        size_t len = 0;
        assert_int_equal(proto_base64_decode((const char *)text, tlen, back, n, &len), PROTO_OK);
        assert_int_equal(len, n);
        if (n > 0) {
            assert_memory_equal(back, data, n);
        }
        assert_same_as_before((const char *)text, tlen);
    }
}

static void test_random_strings_are_accepted_exactly_when_dec_der_accepted_them_before(void **state)
{
    (void)state;
    /* Mostly alphabet and '=', with a little of what the old scan refused, so both verdicts
     * come up often; lengths around multiples of 4. */
    static const char pool[] = "ABQZgaz09+/=======  \n\r-_.\x01\xff";
    unsigned accepted = 0;
    for (int round = 0; round < 20000; round++) {
        char s[40];
        size_t len = rng_next() % (sizeof(s) + 1);
        for (size_t k = 0; k < len; k++) {
            uint32_t r = rng_next();
            /* 15 in 16: alphabet only; else anything in the pool. */
            s[k] = (r & 15u) != 0 ? pool[(r >> 4) % 11u] : pool[(r >> 4) % (sizeof(pool) - 1)];
        }
        if (rng_next() % 4 == 0 && len >= 2) {
            s[len - 1] = '=';
            if (rng_next() % 2 == 0) {
                s[len - 2] = '=';
            }
        }
        assert_same_as_before(s, len);
        unsigned char out[40];
        size_t got = 0;
        accepted += proto_base64_decode(s, len, out, sizeof(out), &got) == PROTO_OK;
    }
    print_message("%u of 20000 accepted\n", accepted);
    assert_true(accepted > 1000); /* the acceptance side was really exercised */
}

static void test_every_short_string_over_a_small_alphabet_gets_the_old_verdict(void **state)
{
    (void)state;
    /* Exhaustive over "AQ/=" plus a space, lengths 0 to 8: every placement of '='. */
    static const char pool[] = "AQ/= ";
    char s[8];
    for (size_t len = 0; len <= sizeof(s); len++) {
        size_t combos = 1;
        for (size_t k = 0; k < len; k++) {
            combos *= sizeof(pool) - 1;
        }
        for (size_t c = 0; c < combos; c++) {
            size_t v = c;
            for (size_t k = 0; k < len; k++) {
                s[k] = pool[v % (sizeof(pool) - 1)];
                v /= sizeof(pool) - 1;
            }
            assert_same_as_before(s, len);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_section_10_vectors_decode_to_their_text),
        cmocka_unit_test(test_every_alphabet_character_decodes_to_its_index),
        cmocka_unit_test(test_decoded_size_follows_from_length_and_padding_alone),
        cmocka_unit_test(test_characters_outside_the_alphabet_are_rejected),
        cmocka_unit_test(test_whitespace_anywhere_is_rejected),
        cmocka_unit_test(test_missing_padding_is_rejected),
        cmocka_unit_test(test_equals_sign_before_the_last_two_characters_is_rejected),
        cmocka_unit_test(test_length_not_a_multiple_of_four_is_rejected),
        cmocka_unit_test(test_four_or_three_equals_signs_in_a_group_are_rejected),
        cmocka_unit_test(test_too_short_inputs_are_rejected),
        cmocka_unit_test(test_non_zero_trailing_bits_are_accepted_and_dropped_as_before),
        cmocka_unit_test(test_a_destination_smaller_than_the_decoded_size_is_refused_untouched),
        cmocka_unit_test(test_random_bytes_encoded_by_mbedtls_decode_back_to_the_same_bytes),
        cmocka_unit_test(
            test_random_strings_are_accepted_exactly_when_dec_der_accepted_them_before),
        cmocka_unit_test(test_every_short_string_over_a_small_alphabet_gets_the_old_verdict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
