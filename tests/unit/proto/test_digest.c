/* Unit tests of proto/digest: the FIPS 180 example digests through the one-shot and streaming
 * forms, and the streaming form equal to the one-shot at every split of a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "digest.h"
#include "hex.h"

static void sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char d[PROTO_SHA256_DIGEST_LEN];
    assert_int_equal(proto_sha256(data, len, d), PROTO_OK);
    proto_hex_encode(d, sizeof(d), false, out);
}

static void test_sha256_gives_the_fips_180_example_digests(void **state)
{
    (void)state;
    char hex[65];
    sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    static const char two_blocks[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_hex(two_blocks, sizeof(two_blocks) - 1, hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_sha256_of_null_and_no_bytes_is_the_empty_digest(void **state)
{
    (void)state;
    char hex[65];
    sha256_hex(NULL, 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_sha1_gives_the_fips_180_example_digest(void **state)
{
    (void)state;
    unsigned char d[PROTO_SHA1_DIGEST_LEN];
    char hex[41];
    assert_int_equal(proto_sha1("abc", 3, d), PROTO_OK);
    proto_hex_encode(d, sizeof(d), false, hex);
    assert_string_equal(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
}

static void test_streaming_equals_one_shot_at_every_split(void **state)
{
    (void)state;
    unsigned char msg[200];
    for (size_t i = 0; i < sizeof(msg); i++) {
        msg[i] = (unsigned char)(i * 7u + 3u);
    }
    unsigned char want[PROTO_SHA256_DIGEST_LEN];
    assert_int_equal(proto_sha256(msg, sizeof(msg), want), PROTO_OK);
    for (size_t cut = 0; cut <= sizeof(msg); cut++) {
        struct proto_sha256_stream s;
        unsigned char got[PROTO_SHA256_DIGEST_LEN];
        proto_sha256_init(&s);
        proto_sha256_update(&s, msg, cut);
        proto_sha256_update(&s, NULL, 0);
        proto_sha256_update(&s, msg + cut, sizeof(msg) - cut);
        assert_int_equal(proto_sha256_final(&s, got), PROTO_OK);
        assert_memory_equal(got, want, sizeof(want));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_gives_the_fips_180_example_digests),
        cmocka_unit_test(test_sha256_of_null_and_no_bytes_is_the_empty_digest),
        cmocka_unit_test(test_sha1_gives_the_fips_180_example_digest),
        cmocka_unit_test(test_streaming_equals_one_shot_at_every_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
