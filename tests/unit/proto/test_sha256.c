/*
 * test_sha256: proto_sha256 (proto/sha256.c) gives the standard SHA-256 digest on the FIPS
 * 180-4 / NIST example messages, on every length around the padding boundaries, on large and
 * unaligned inputs, and agrees byte for byte with mbedtls_sha256_ret and with its own fallback
 * (proto_sha256_portable). On a CPU whose /proc/cpuinfo lists sha_ni it must take the fast path.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/sha256.h>

#include "alloc.h"
#include "sha256.h"

/* ---- helpers ----------------------------------------------------------------------------- */

static void to_hex(const unsigned char digest[32], char out[65])
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 0x0f];
    }
    out[64] = '\0';
}

/* Both paths of proto_sha256 must give the expected lower-case hex digest. */
static void assert_digest(const void *data, size_t len, const char *expected)
{
    unsigned char digest[32];
    char hex[65];

    proto_sha256(data, len, digest);
    to_hex(digest, hex);
    assert_string_equal(hex, expected);
    proto_sha256_portable(data, len, digest);
    to_hex(digest, hex);
    assert_string_equal(hex, expected);
}

/* proto_sha256 and proto_sha256_portable against mbedtls_sha256_ret called directly. */
static void assert_matches_mbedtls(const unsigned char *data, size_t len)
{
    unsigned char want[32];
    unsigned char got[32];

    assert_int_equal(mbedtls_sha256_ret(data, len, want, 0), 0);
    memset(got, 0xa5, sizeof(got));
    proto_sha256(data, len, got);
    assert_memory_equal(got, want, sizeof(want));
    memset(got, 0x5a, sizeof(got));
    proto_sha256_portable(data, len, got);
    assert_memory_equal(got, want, sizeof(want));
}

/* Deterministic bytes with every bit pattern (xorshift32), so 0x80..0xff are exercised too. */
static void fill_pattern(unsigned char *buf, size_t len, uint32_t seed)
{
    uint32_t x = seed != 0 ? seed : 1u;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (unsigned char)(x >> 24);
    }
}

static unsigned char *alloc_pattern(size_t len, uint32_t seed)
{
    unsigned char *buf = proto_malloc(len);
    assert_non_null(buf);
    fill_pattern(buf, len, seed);
    return buf;
}

/* 1 = the CPU flags list sha_ni, ssse3 and sse4_1; 0 = a flags line without them; -1 = no
 * /proc/cpuinfo flags line to tell (not Linux, or not x86). */
static int cpuinfo_has_sha_ni(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[8192];
    int answer = -1;

    if (f == NULL) {
        return -1;
    }
    while (fgets(line, (int)sizeof(line), f) != NULL) {
        if (strncmp(line, "flags", 5) != 0) {
            continue;
        }
        answer = strstr(line, " sha_ni") != NULL && strstr(line, " ssse3") != NULL &&
                 strstr(line, " sse4_1") != NULL;
        break;
    }
    fclose(f);
    return answer;
}

/* ---- FIPS 180-4 / NIST example messages -------------------------------------------------- */

static void test_abc_gives_the_fips_example_digest(void **state)
{
    (void)state;
    assert_digest("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_empty_input_gives_the_known_digest_even_with_a_null_pointer(void **state)
{
    (void)state;
    const char *empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    assert_digest("", 0, empty);
    assert_digest(NULL, 0, empty);
}

static void test_448_bit_message_gives_the_fips_example_digest(void **state)
{
    (void)state;
    const char *msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assert_int_equal(strlen(msg) * 8, 448);
    assert_digest(msg, strlen(msg),
                  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_896_bit_message_gives_the_nist_example_digest(void **state)
{
    (void)state;
    const char *msg = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                      "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    assert_int_equal(strlen(msg) * 8, 896);
    assert_digest(msg, strlen(msg),
                  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void test_one_million_a_gives_the_fips_example_digest(void **state)
{
    (void)state;
    size_t len = 1000000;
    unsigned char *buf = proto_malloc(len);
    assert_non_null(buf);
    memset(buf, 'a', len);
    assert_digest(buf, len, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    proto_free(buf);
}

/* ---- differential against mbedTLS -------------------------------------------------------- */

/* Covers every padding case: tails of 0..63 bytes, the 55/56 split between one and two padding
 * blocks, and 0..4 whole blocks before the tail. */
static void test_every_length_up_to_300_matches_mbedtls(void **state)
{
    (void)state;
    unsigned char *buf = alloc_pattern(300, 0x12345678u);
    for (size_t len = 0; len <= 300; len++) {
        assert_matches_mbedtls(buf, len);
    }
    memset(buf, 0xff, 300); /* all high bits set: no sign or carry slip in the length bytes */
    for (size_t len = 0; len <= 300; len++) {
        assert_matches_mbedtls(buf, len);
    }
    proto_free(buf);
}

static void test_large_inputs_match_mbedtls(void **state)
{
    (void)state;
    static const size_t lens[] = {9500, 65536, 65536 + 55, 1048576 + 3};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        unsigned char *buf = alloc_pattern(lens[i], (uint32_t)(i + 7));
        assert_matches_mbedtls(buf, lens[i]);
        proto_free(buf);
    }
}

/* The block loads must not assume alignment: the snapshot starts anywhere inside a body. */
static void test_unaligned_pointers_give_the_same_digest_as_aligned_copies(void **state)
{
    (void)state;
    static const size_t lens[] = {0, 1, 55, 56, 63, 64, 65, 127, 128, 200, 1000, 9500};
    size_t cap = 9500 + 16;
    unsigned char *src = alloc_pattern(cap, 0xdeadbeefu);
    unsigned char *aligned = proto_malloc(cap); /* malloc alignment, at least 16 on x86-64 */
    assert_non_null(aligned);

    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        for (size_t off = 0; off < 16; off++) {
            unsigned char want[32];
            unsigned char got[32];
            memcpy(aligned, src + off, lens[i]);
            proto_sha256(aligned, lens[i], want);
            proto_sha256(src + off, lens[i], got);
            assert_memory_equal(got, want, sizeof(want));
            assert_matches_mbedtls(src + off, lens[i]);
        }
    }
    proto_free(aligned);
    proto_free(src);
}

/* A changed bit anywhere (first block, last full block, tail) changes the digest. */
static void test_one_flipped_bit_changes_the_digest(void **state)
{
    (void)state;
    size_t len = 9500;
    unsigned char *buf = alloc_pattern(len, 99u);
    unsigned char before[32];
    static const size_t positions[] = {0, 63, 64, 9471, 9472, 9499};

    proto_sha256(buf, len, before);
    for (size_t i = 0; i < sizeof(positions) / sizeof(positions[0]); i++) {
        unsigned char after[32];
        buf[positions[i]] ^= 0x01;
        proto_sha256(buf, len, after);
        assert_memory_not_equal(after, before, sizeof(before));
        assert_matches_mbedtls(buf, len);
        buf[positions[i]] ^= 0x01;
    }
    proto_free(buf);
}

/* ---- which path runs --------------------------------------------------------------------- */

static void test_cpu_with_sha_ni_takes_the_fast_path(void **state)
{
    (void)state;
    int has = cpuinfo_has_sha_ni();
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (has < 0) {
        skip();
    }
    assert_int_equal(proto_sha256_accelerated(), has == 1);
#else
    (void)has;
    assert_false(proto_sha256_accelerated());
#endif
    /* Asked twice (the probe result is cached), the answer does not change. */
    assert_int_equal(proto_sha256_accelerated(), proto_sha256_accelerated());
}

static void test_fast_path_and_fallback_agree_on_a_snapshot_sized_sweep(void **state)
{
    (void)state;
    size_t cap = 12000;
    unsigned char *buf = alloc_pattern(cap, 0x0badcafeu);
    for (size_t len = 8000; len <= cap; len += 37) {
        unsigned char fast[32];
        unsigned char portable[32];
        proto_sha256(buf, len, fast);
        proto_sha256_portable(buf, len, portable);
        assert_memory_equal(fast, portable, sizeof(fast));
    }
    proto_free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_abc_gives_the_fips_example_digest),
        cmocka_unit_test(test_empty_input_gives_the_known_digest_even_with_a_null_pointer),
        cmocka_unit_test(test_448_bit_message_gives_the_fips_example_digest),
        cmocka_unit_test(test_896_bit_message_gives_the_nist_example_digest),
        cmocka_unit_test(test_one_million_a_gives_the_fips_example_digest),
        cmocka_unit_test(test_every_length_up_to_300_matches_mbedtls),
        cmocka_unit_test(test_large_inputs_match_mbedtls),
        cmocka_unit_test(test_unaligned_pointers_give_the_same_digest_as_aligned_copies),
        cmocka_unit_test(test_one_flipped_bit_changes_the_digest),
        cmocka_unit_test(test_cpu_with_sha_ni_takes_the_fast_path),
        cmocka_unit_test(test_fast_path_and_fallback_agree_on_a_snapshot_sized_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
