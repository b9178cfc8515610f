/*
 * test_gcm_ni: col_gcm_ni_seal / col_gcm_ni_open (collector/gcm_ni.c) give the published
 * AES-GCM answers (the GCM specification's test cases as mbedTLS's self-test carries them and
 * CAVS 14.0 vectors from mbedTLS's PSA test data, all with 96-bit IVs), agree byte for byte with
 * mbedtls_gcm_crypt_and_tag on thousands of seeded random messages (unaligned and in place too),
 * refuse every changed byte with the output wiped, and write nothing for keys or lengths they
 * cannot take. Assertions that need AES-NI are skipped, with a message, on a CPU without it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/aes.h>
#include <mbedtls/gcm.h>

#include "alloc.h"
#include "gcm_ni.h"
#include "testutil.h"

/* ---- helpers ----------------------------------------------------------------------------- */

#define KAT_MAX 64 /* bytes in the longest known-answer field */

/* False (and a message) when the AES-NI assertions of a test cannot run on this CPU. */
static bool have_ni(const char *test)
{
    if (col_gcm_ni_supported()) {
        return true;
    }
    print_message("skipped %s: this CPU has no AES-NI/PCLMULQDQ/SSE4.1\n", test);
    return false;
}

static unsigned hex_nibble(char c)
{
    if (c >= '0' && c <= '9') {
        return (unsigned)(c - '0');
    }
    if (c >= 'a' && c <= 'f') {
        return (unsigned)(c - 'a' + 10);
    }
    fail_msg("bad hex digit '%c'", c);
    return 0;
}

static size_t hex_decode(const char *hex, unsigned char *out, size_t cap)
{
    size_t n = strlen(hex);
    assert_int_equal(n % 2, 0);
    assert_true(n / 2 <= cap);
    for (size_t i = 0; i < n / 2; i++) {
        out[i] = (unsigned char)(hex_nibble(hex[2 * i]) << 4 | hex_nibble(hex[2 * i + 1]));
    }
    return n / 2;
}

/* The expanded key must stay where mbedTLS put it: round_keys points into `aes`, so a
 * struct ni_key is set up in place and never copied. */
struct ni_key {
    mbedtls_aes_context aes;
    struct col_gcm_ni_key key;
};

static void ni_key_set(struct ni_key *k, const unsigned char *key, unsigned bits)
{
    mbedtls_aes_init(&k->aes);
    assert_int_equal(mbedtls_aes_setkey_enc(&k->aes, key, bits), 0);
    k->key.round_keys = (const unsigned char *)k->aes.rk;
    k->key.rounds = k->aes.nr;
}

static void ni_key_free(struct ni_key *k)
{
    mbedtls_aes_free(&k->aes);
}

/* mbedTLS's own GCM, called directly: the reference every differential case is held to. */
static void reference_seal(const unsigned char *key, unsigned bits, const unsigned char *iv,
                           const unsigned char *aad, size_t aad_len, const unsigned char *in,
                           size_t len, unsigned char *out, unsigned char tag[16])
{
    mbedtls_gcm_context gcm;
    mbedtls_gcm_init(&gcm);
    assert_int_equal(mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, key, bits), 0);
    assert_int_equal(mbedtls_gcm_crypt_and_tag(&gcm, MBEDTLS_GCM_ENCRYPT, len, iv,
                                               COL_GCM_NI_IV_LEN, aad, aad_len, in, out,
                                               COL_GCM_NI_TAG_LEN, tag),
                     0);
    mbedtls_gcm_free(&gcm);
}

/* xorshift64*: the same cases on every run and every machine. */
struct rng {
    uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1DULL;
}

static size_t rng_below(struct rng *r, size_t n)
{
    return (size_t)(rng_next(r) % n);
}

static void rng_fill(struct rng *r, unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (unsigned char)(rng_next(r) >> 56);
    }
}

/* ---- known answers ----------------------------------------------------------------------- */

/* Every field is hex. tag_len < 16 marks a CAVS vector published with a truncated tag (GCM's
 * truncated tag is the leading bytes of the full one). */
struct kat {
    const char *name;
    unsigned bits;
    const char *key, *iv, *aad, *pt, *ct, *tag;
    size_t tag_len;
};

#define GCM_SPEC_KEY "feffe9928665731c6d6a8f9467308308"
#define GCM_SPEC_IV "cafebabefacedbaddecaf888"
#define GCM_SPEC_AAD "feedfacedeadbeeffeedfacedeadbeefabaddad2"
#define GCM_SPEC_PT60                                                                              \
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e24"     \
    "49a6b525b16aedf5aa0de657ba637b39"

static const struct kat kats[] = {
    {"spec test case 1: AES-128, nothing to encrypt or authenticate", 128,
     "00000000000000000000000000000000", "000000000000000000000000", "", "", "",
     "58e2fccefa7e3061367f1d57a4e7455a", 16},
    {"spec test case 2: AES-128, one zero block", 128, "00000000000000000000000000000000",
     "000000000000000000000000", "", "00000000000000000000000000000000",
     "0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf", 16},
    {"spec test case 4: AES-128, 60 bytes, 20 bytes of AAD", 128, GCM_SPEC_KEY, GCM_SPEC_IV,
     GCM_SPEC_AAD, GCM_SPEC_PT60,
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84"
     "aa051ba30b396a0aac973d58e091",
     "5bc94fbc3221a5db94fae95ae7121a47", 16},
    {"spec test case 13: AES-256, nothing to encrypt or authenticate", 256,
     "0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000",
     "", "", "", "530f8afbc74536b9a963b4f1c4cb738b", 16},
    {"spec test case 16: AES-256, 60 bytes, 20 bytes of AAD", 256, GCM_SPEC_KEY GCM_SPEC_KEY,
     GCM_SPEC_IV, GCM_SPEC_AAD, GCM_SPEC_PT60,
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828"
     "8"
     "38c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b", 16},
    {"CAVS 14.0: AES-256, no plaintext, 20 bytes of AAD", 256,
     "886cff5f3e6b8d0e1ad0a38fcdb26de97e8acbe79f6bed66959a598fa5047d65", "3a8efa1cd74bbab5448f9945",
     "519fee519d25c7a304d6c6aa1897ee1eb8c59655", "", "", "f6d47505ec96c98a42dc3ae719877b87", 16},
    {"CAVS 14.0: AES-256, one block, no AAD", 256,
     "4c8ebfe1444ec1b2d503c6986659af2c94fafe945f72c1e8486a5acfedb8a0f8", "473360e0ad24889959858995",
     "", "7789b41cb3ee548814ca0b388c10b343", "d2c78110ac7e8f107c0df0570bd7c90c",
     "c26a379b6d98ef2852ead8ce83a833a7", 16},
    {"CAVS 14.0: AES-256, 13 bytes, 20 bytes of AAD, 15-byte tag", 256,
     "e67590da399cbcdcddcc56110562ade8665b50287a8ab38e8b9ee7520531b560", "2c36ab6b686a66fba1805196",
     "823493d42f4f60b2d1433ad75eccaafd7e7c7d12", "da1c61fbfcdb73445ad4c7d889",
     "cff6b6f03c67152f3ce1030653", "d9bd9a6559f5b04b48d77c2a1fc364", 15},
};

#define KAT_COUNT (sizeof(kats) / sizeof(kats[0]))

struct kat_bytes {
    unsigned char key[32], iv[12], aad[KAT_MAX], pt[KAT_MAX], ct[KAT_MAX], tag[16];
    size_t aad_len, len, tag_len;
};

static void kat_decode(const struct kat *k, struct kat_bytes *b)
{
    memset(b, 0, sizeof(*b));
    assert_int_equal(hex_decode(k->key, b->key, sizeof(b->key)), k->bits / 8);
    assert_int_equal(hex_decode(k->iv, b->iv, sizeof(b->iv)), COL_GCM_NI_IV_LEN);
    b->aad_len = hex_decode(k->aad, b->aad, sizeof(b->aad));
    b->len = hex_decode(k->pt, b->pt, sizeof(b->pt));
    assert_int_equal(hex_decode(k->ct, b->ct, sizeof(b->ct)), b->len);
    b->tag_len = hex_decode(k->tag, b->tag, sizeof(b->tag));
    assert_int_equal(b->tag_len, k->tag_len);
}

/* The vector's whole 16-byte tag. A vector published with a truncated tag gives its leading
 * bytes only: the rest comes from mbedTLS's GCM, the independent implementation, never from
 * gcm_ni's own seal, and mbedTLS must first agree with the published bytes. */
static void kat_full_tag(const struct kat *k, const struct kat_bytes *b, unsigned char tag[16])
{
    memcpy(tag, b->tag, b->tag_len);
    if (b->tag_len < COL_GCM_NI_TAG_LEN) {
        unsigned char ct[KAT_MAX];
        unsigned char full[16];
        reference_seal(b->key, k->bits, b->iv, b->aad, b->aad_len, b->pt, b->len, ct, full);
        assert_memory_equal(full, b->tag, b->tag_len);
        memcpy(tag + b->tag_len, full + b->tag_len, COL_GCM_NI_TAG_LEN - b->tag_len);
    }
}

static void test_published_vectors_seal_to_the_expected_ciphertext_and_tag(void **state)
{
    (void)state;
    if (!have_ni(__func__)) {
        skip();
    }
    for (size_t i = 0; i < KAT_COUNT; i++) {
        struct kat_bytes b;
        kat_decode(&kats[i], &b);
        struct ni_key k;
        ni_key_set(&k, b.key, kats[i].bits);
        unsigned char out[KAT_MAX];
        unsigned char tag[16];
        print_message("  %s\n", kats[i].name);
        assert_true(col_gcm_ni_seal(&k.key, b.iv, b.aad, b.aad_len, b.pt, b.len, out, tag));
        assert_memory_equal(out, b.ct, b.len);
        assert_memory_equal(tag, b.tag, b.tag_len);
        ni_key_free(&k);
    }
}

static void test_published_vectors_open_to_the_plaintext(void **state)
{
    (void)state;
    if (!have_ni(__func__)) {
        skip();
    }
    for (size_t i = 0; i < KAT_COUNT; i++) {
        struct kat_bytes b;
        kat_decode(&kats[i], &b);
        struct ni_key k;
        ni_key_set(&k, b.key, kats[i].bits);
        unsigned char tag[16];
        unsigned char out[KAT_MAX];
        kat_full_tag(&kats[i], &b, tag);
        memset(out, 0xa5, sizeof(out));
        assert_int_equal(col_gcm_ni_open(&k.key, b.iv, b.aad, b.aad_len, b.ct, b.len, out, tag),
                         COL_GCM_NI_OPENED);
        assert_memory_equal(out, b.pt, b.len);
        ni_key_free(&k);
    }
}

/* Opens after b's byte `pos` of ct || tag || aad is changed: FORGED, out[0..len) all zero, the
 * byte after it untouched. */
static void assert_forged_after_change(const struct col_gcm_ni_key *key, const struct kat_bytes *b,
                                       const unsigned char tag[16], size_t pos)
{
    unsigned char ct[KAT_MAX];
    unsigned char t[16];
    unsigned char aad[KAT_MAX];
    memcpy(ct, b->ct, sizeof(ct));
    memcpy(t, tag, sizeof(t));
    memcpy(aad, b->aad, sizeof(aad));
    if (pos < b->len) {
        ct[pos] ^= 0x80;
    } else if (pos < b->len + 16) {
        t[pos - b->len] ^= 0x01;
    } else {
        aad[pos - b->len - 16] ^= 0x40;
    }
    unsigned char out[KAT_MAX + 1];
    memset(out, 0xa5, sizeof(out));
    assert_int_equal(col_gcm_ni_open(key, b->iv, aad, b->aad_len, ct, b->len, out, t),
                     COL_GCM_NI_FORGED);
    assert_true(testutil_all_zero(out, b->len));
    assert_int_equal(out[b->len], 0xa5);
}

static void test_any_changed_tag_ciphertext_or_aad_byte_is_forged_and_wiped(void **state)
{
    (void)state;
    if (!have_ni(__func__)) {
        skip();
    }
    for (size_t i = 0; i < KAT_COUNT; i++) {
        struct kat_bytes b;
        kat_decode(&kats[i], &b);
        struct ni_key k;
        ni_key_set(&k, b.key, kats[i].bits);
        unsigned char tag[16];
        unsigned char out[KAT_MAX];
        /* The published tag (completed by mbedTLS), not gcm_ni's: unchanged, it opens, so each
         * FORGED below is the change's doing. */
        kat_full_tag(&kats[i], &b, tag);
        assert_int_equal(col_gcm_ni_open(&k.key, b.iv, b.aad, b.aad_len, b.ct, b.len, out, tag),
                         COL_GCM_NI_OPENED);
        for (size_t pos = 0; pos < b.len + 16 + b.aad_len; pos++) {
            assert_forged_after_change(&k.key, &b, tag, pos);
        }
        /* Another IV is another message: the tag no longer fits. */
        unsigned char wipe[KAT_MAX];
        memset(wipe, 0xa5, sizeof(wipe));
        b.iv[11] ^= 0x01;
        assert_int_equal(col_gcm_ni_open(&k.key, b.iv, b.aad, b.aad_len, b.ct, b.len, wipe, tag),
                         COL_GCM_NI_FORGED);
        assert_true(testutil_all_zero(wipe, b.len));
        ni_key_free(&k);
    }
}

/* ---- against mbedTLS ---------------------------------------------------------------------- */

/* One random message of `len` bytes and `aad_len` bytes of AAD, each buffer at a random
 * offset from its allocation (unaligned loads), sealed both ways and opened by gcm_ni; every
 * fourth one also has a random bit of ct || tag || aad flipped and must be refused. */
static void differential_case(struct rng *r, unsigned bits, size_t len, size_t aad_len)
{
    unsigned char key[32];
    unsigned char iv[12];
    rng_fill(r, key, sizeof(key));
    rng_fill(r, iv, sizeof(iv));
    size_t in_off = rng_below(r, 16);
    size_t out_off = rng_below(r, 16);
    size_t aad_off = rng_below(r, 16);
    unsigned char *in_buf = testutil_xalloc(in_off + len);
    unsigned char *out_buf = testutil_xalloc(out_off + len);
    unsigned char *aad_buf = testutil_xalloc(aad_off + aad_len);
    unsigned char *want = testutil_xalloc(len);
    unsigned char *in = in_buf + in_off;
    unsigned char *out = out_buf + out_off;
    unsigned char *aad = aad_buf + aad_off;
    rng_fill(r, in, len);
    rng_fill(r, aad, aad_len);

    unsigned char want_tag[16];
    unsigned char tag[16];
    reference_seal(key, bits, iv, aad, aad_len, in, len, want, want_tag);
    struct ni_key k;
    ni_key_set(&k, key, bits);
    assert_true(col_gcm_ni_seal(&k.key, iv, aad, aad_len, in, len, out, tag));
    if (len > 0) {
        assert_memory_equal(out, want, len);
    }
    assert_memory_equal(tag, want_tag, sizeof(tag));

    /* mbedTLS's ciphertext opens to the plaintext. */
    assert_int_equal(col_gcm_ni_open(&k.key, iv, aad, aad_len, want, len, out, want_tag),
                     COL_GCM_NI_OPENED);
    if (len > 0) {
        assert_memory_equal(out, in, len);
    }

    if (rng_below(r, 4) == 0) {
        size_t pos = rng_below(r, len + 16 + aad_len);
        unsigned char bit = (unsigned char)(1u << rng_below(r, 8));
        if (pos < len) {
            want[pos] ^= bit;
        } else if (pos < len + 16) {
            want_tag[pos - len] ^= bit;
        } else {
            aad[pos - len - 16] ^= bit;
        }
        assert_int_equal(col_gcm_ni_open(&k.key, iv, aad, aad_len, want, len, out, want_tag),
                         COL_GCM_NI_FORGED);
        assert_true(testutil_all_zero(out, len));
    }
    ni_key_free(&k);
    proto_free(want);
    proto_free(aad_buf);
    proto_free(out_buf);
    proto_free(in_buf);
}

static const unsigned key_bits[] = {128, 192, 256};

static void test_every_length_up_to_300_matches_mbedtls_gcm_for_every_key_size(void **state)
{
    (void)state;
    if (!have_ni(__func__)) {
        skip();
    }
    struct rng r = {0x9e3779b97f4a7c15ULL};
    for (size_t b = 0; b < 3; b++) {
        for (size_t len = 0; len <= 300; len++) {
            differential_case(&r, key_bits[b], len, rng_below(&r, 65));
        }
    }
}

static void test_three_thousand_random_messages_match_mbedtls_gcm(void **state)
{
    (void)state;
    if (!have_ni(__func__)) {
        skip();
    }
    struct rng r = {0x0123456789abcdefULL};
    for (int i = 0; i < 3000; i++) {
        unsigned bits = key_bits[rng_below(&r, 3)];
        differential_case(&r, bits, rng_below(&r, 301), rng_below(&r, 65));
    }
}

static void test_record_sized_messages_up_to_17_kib_match_mbedtls_gcm(void **state)
{
    (void)state;
    if (!have_ni(__func__)) {
        skip();
    }
    static const size_t lengths[] = {511,  512,   1023,  1024,  4095,  4096,  4097,
                                     8191, 16383, 16384, 16385, 16400, 17407, 17408};
    struct rng r = {0xdeadbeefcafef00dULL};
    for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
        differential_case(&r, key_bits[i % 3], lengths[i], rng_below(&r, 65));
    }
    for (int i = 0; i < 30; i++) {
        differential_case(&r, key_bits[rng_below(&r, 3)], 301 + rng_below(&r, 17408 - 300),
                          rng_below(&r, 65));
    }
}

static void test_in_place_seal_and_open_match_mbedtls_gcm(void **state)
{
    (void)state;
    if (!have_ni(__func__)) {
        skip();
    }
    static const size_t lengths[] = {0, 1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 1000, 16384};
    struct rng r = {0x5eed5eed5eed5eedULL};
    for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
        size_t len = lengths[i];
        unsigned bits = key_bits[i % 3];
        unsigned char key[32];
        unsigned char iv[12];
        unsigned char aad[13];
        rng_fill(&r, key, sizeof(key));
        rng_fill(&r, iv, sizeof(iv));
        rng_fill(&r, aad, sizeof(aad));
        unsigned char *plain = testutil_xalloc(len);
        unsigned char *want = testutil_xalloc(len);
        unsigned char *buf = testutil_xalloc(len);
        rng_fill(&r, plain, len);
        unsigned char want_tag[16];
        unsigned char tag[16];
        reference_seal(key, bits, iv, aad, sizeof(aad), plain, len, want, want_tag);

        struct ni_key k;
        ni_key_set(&k, key, bits);
        memcpy(buf, plain, len);
        assert_true(col_gcm_ni_seal(&k.key, iv, aad, sizeof(aad), buf, len, buf, tag));
        assert_memory_equal(tag, want_tag, sizeof(tag));
        if (len > 0) {
            assert_memory_equal(buf, want, len);
        }
        assert_int_equal(col_gcm_ni_open(&k.key, iv, aad, sizeof(aad), buf, len, buf, tag),
                         COL_GCM_NI_OPENED);
        if (len > 0) {
            assert_memory_equal(buf, plain, len);
        }

        /* A forged message opened in place leaves zeros, not ciphertext or plaintext. */
        memcpy(buf, want, len);
        tag[15] ^= 0x80;
        assert_int_equal(col_gcm_ni_open(&k.key, iv, aad, sizeof(aad), buf, len, buf, tag),
                         COL_GCM_NI_FORGED);
        assert_true(testutil_all_zero(buf, len));
        ni_key_free(&k);
        proto_free(buf);
        proto_free(want);
        proto_free(plain);
    }
}

/* ---- what it refuses ---------------------------------------------------------------------- */

/* Seal must answer false and open UNSUITABLE for `key`, with out and tag untouched. The
 * lengths above COL_GCM_NI_MAX_LEN are checked before any byte is read (gcm_ni.h: "nothing
 * written"), so small buffers stand in for the huge ones. */
static void assert_unsuitable(const struct col_gcm_ni_key *key, size_t aad_len, size_t len)
{
    static const unsigned char iv[12] = {1, 2, 3};
    unsigned char in[32];
    unsigned char aad[32];
    unsigned char out[32];
    unsigned char tag[16];
    unsigned char fill[32];
    memset(in, 0x11, sizeof(in));
    memset(aad, 0x22, sizeof(aad));
    memset(fill, 0x5c, sizeof(fill));
    memcpy(out, fill, sizeof(out));
    memcpy(tag, fill, sizeof(tag));
    assert_false(col_gcm_ni_seal(key, iv, aad, aad_len, in, len, out, tag));
    assert_memory_equal(out, fill, sizeof(out));
    assert_memory_equal(tag, fill, sizeof(tag));
    assert_int_equal(col_gcm_ni_open(key, iv, aad, aad_len, in, len, out, tag),
                     COL_GCM_NI_UNSUITABLE);
    assert_memory_equal(out, fill, sizeof(out));
}

static void test_unsuitable_rounds_or_missing_round_keys_write_nothing(void **state)
{
    (void)state;
    if (!have_ni(__func__)) {
        skip();
    }
    static const unsigned char raw[32] = {0x42};
    struct ni_key k;
    ni_key_set(&k, raw, 256);
    static const int bad_rounds[] = {0, 9, 11, 13, 15, -1, 14 + 256};
    for (size_t i = 0; i < sizeof(bad_rounds) / sizeof(bad_rounds[0]); i++) {
        struct col_gcm_ni_key bad = {k.key.round_keys, bad_rounds[i]};
        assert_unsuitable(&bad, 13, 32);
    }
    struct col_gcm_ni_key no_keys = {NULL, 10};
    assert_unsuitable(&no_keys, 13, 32);
    assert_unsuitable(&no_keys, 0, 0);
    assert_unsuitable(NULL, 13, 32);
    /* A good key with a length the header leaves to mbedTLS. */
    assert_unsuitable(&k.key, 0, COL_GCM_NI_MAX_LEN + 1);
    assert_unsuitable(&k.key, COL_GCM_NI_MAX_LEN + 1, 16);
    assert_unsuitable(&k.key, SIZE_MAX, SIZE_MAX);
    ni_key_free(&k);
}

/* ---- which CPUs ------------------------------------------------------------------------- */

/* 1 when every flag gcm_ni needs is in /proc/cpuinfo, 0 when one is missing, -1 unreadable. */
static int cpuinfo_has_gcm_flags(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL) {
        return -1;
    }
    char line[8192];
    int result = -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "flags", 5) != 0) {
            continue;
        }
        /* Whole words only: " aes " must not be found inside " vaes " or " aes_foo ". */
        char *nl = strchr(line, '\n');
        if (nl != NULL) {
            *nl = ' ';
        }
        static const char *const need[] = {" aes ", " pclmulqdq ", " ssse3 ", " sse4_1 "};
        result = 1;
        for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
            if (strstr(line, need[i]) == NULL) {
                result = 0;
            }
        }
        break;
    }
    fclose(f);
    return result;
}

static void test_cpu_support_matches_the_flags_in_proc_cpuinfo(void **state)
{
    (void)state;
    int has = cpuinfo_has_gcm_flags();
#if defined(__x86_64__)
    if (has < 0) {
        print_message("skipped: /proc/cpuinfo has no flags line\n");
        skip();
    }
    assert_int_equal(col_gcm_ni_supported(), has == 1);
#else
    (void)has;
    assert_false(col_gcm_ni_supported());
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpu_support_matches_the_flags_in_proc_cpuinfo),
        cmocka_unit_test(test_published_vectors_seal_to_the_expected_ciphertext_and_tag),
        cmocka_unit_test(test_published_vectors_open_to_the_plaintext),
        cmocka_unit_test(test_any_changed_tag_ciphertext_or_aad_byte_is_forged_and_wiped),
        cmocka_unit_test(test_every_length_up_to_300_matches_mbedtls_gcm_for_every_key_size),
        cmocka_unit_test(test_three_thousand_random_messages_match_mbedtls_gcm),
        cmocka_unit_test(test_record_sized_messages_up_to_17_kib_match_mbedtls_gcm),
        cmocka_unit_test(test_in_place_seal_and_open_match_mbedtls_gcm),
        cmocka_unit_test(test_unsuitable_rounds_or_missing_round_keys_write_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
