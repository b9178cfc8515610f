/*
 * test_tls_gcm: the interposed mbedtls_cipher_auth_{en,de}crypt_ext (collector/tls_gcm.c). With
 * the path on, AES-GCM calls with a 12-byte IV and a 16-byte tag are served by gcm_ni and give
 * exactly mbedTLS's bytes and error codes; every other call (ChaCha20-Poly1305, CCM, other IV or
 * tag lengths, overlapping buffers, a short output buffer, a context without a key) answers
 * byte for byte what mbedTLS answers with the path off, and is not counted. A real TLS 1.2
 * session between an mbedTLS client and server in this process (a socketpair, AES-128-GCM forced)
 * carries 10 KB both ways through gcm_ni. This file references col_tls_gcm_setup, so the
 * interposer is linked into this executable and libmbedtls binds to it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mbedtls/cipher.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/gcm.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "alloc.h"
#include "gcm_ni.h"
#include "testutil.h"
#include "tls_gcm.h"

/* ---- helpers ----------------------------------------------------------------------------- */

#define AAD_LEN 13 /* a TLS 1.2 record's additional data */
#define SCRATCH 512

static const unsigned char test_iv[16] = {0xca, 0xfe, 0xba, 0xbe, 0xfa, 0xce, 0xdb, 0xad,
                                          0xde, 0xca, 0xf8, 0x88, 0x01, 0x02, 0x03, 0x04};
static const unsigned char test_aad[AAD_LEN] = {0, 0, 0, 0, 0, 0, 0, 7, 0x17, 3, 3, 0, 100};

static void path_set(bool accelerate)
{
    char why[160];
    assert_int_equal(col_tls_gcm_setup(accelerate, why, sizeof(why)), PROTO_OK);
}

/* Turns the path on and asserts it is on: a comparison of "on" with "off" proves nothing when
 * setup quietly left it off. Skips the test only when this CPU cannot have it on at all; on a
 * CPU with AES-NI a path that stays off (a failed self-test, a lost binding) fails the test. */
static void path_on_or_skip(void)
{
    char why[160];
    assert_int_equal(col_tls_gcm_setup(true, why, sizeof(why)), PROTO_OK);
    if (!col_gcm_ni_supported()) {
        assert_false(col_tls_gcm_accelerated());
        print_message("skipped: this CPU has no AES-NI, the path cannot be on (%s)\n", why);
        skip();
    }
    if (!col_tls_gcm_accelerated()) {
        fail_msg("the path stayed off on a CPU with AES-NI: %s", why);
    }
}

static void key_bytes(unsigned char key[32])
{
    for (size_t i = 0; i < 32; i++) {
        key[i] = (unsigned char)(i * 13 + 7);
    }
}

static void pattern(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (unsigned char)(i * 131 + seed);
    }
}

/* A keyed context as the TLS record layer keeps one per direction (ENCRYPT or DECRYPT). */
static void cipher_open(mbedtls_cipher_context_t *ctx, mbedtls_cipher_type_t type,
                        mbedtls_operation_t op)
{
    const mbedtls_cipher_info_t *info = mbedtls_cipher_info_from_type(type);
    assert_non_null(info);
    unsigned char key[32];
    key_bytes(key);
    mbedtls_cipher_init(ctx);
    assert_int_equal(mbedtls_cipher_setup(ctx, info), 0);
    assert_int_equal(mbedtls_cipher_setkey(ctx, key, (int)info->key_bitlen, op), 0);
}

/* mbedTLS's GCM called directly: out gets ciphertext || tag. */
static void reference_seal(unsigned bits, const unsigned char *in, size_t len, unsigned char *out)
{
    unsigned char key[32];
    key_bytes(key);
    mbedtls_gcm_context gcm;
    mbedtls_gcm_init(&gcm);
    assert_int_equal(mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, key, bits), 0);
    assert_int_equal(mbedtls_gcm_crypt_and_tag(&gcm, MBEDTLS_GCM_ENCRYPT, len, test_iv, 12,
                                               test_aad, AAD_LEN, in, out, 16, out + len),
                     0);
    mbedtls_gcm_free(&gcm);
}

static const struct {
    mbedtls_cipher_type_t type;
    unsigned bits;
} gcm_types[] = {{MBEDTLS_CIPHER_AES_128_GCM, 128},
                 {MBEDTLS_CIPHER_AES_192_GCM, 192},
                 {MBEDTLS_CIPHER_AES_256_GCM, 256}};

static const size_t record_lengths[] = {0, 1, 13, 16, 17, 100, 1000, 16384};

/* ---- served calls ------------------------------------------------------------------------ */

/* One AES-GCM record of `len` bytes through the interposed pair with the path on: mbedTLS's
 * bytes, counted once per call; a flipped tag bit gets mbedTLS's own error and wipe. */
static void served_record(mbedtls_cipher_type_t type, unsigned bits, size_t len)
{
    mbedtls_cipher_context_t enc;
    mbedtls_cipher_context_t dec;
    cipher_open(&enc, type, MBEDTLS_ENCRYPT);
    cipher_open(&dec, type, MBEDTLS_DECRYPT);
    size_t full = len + 16;
    unsigned char *plain = testutil_xalloc(len + 1);
    unsigned char *want = testutil_xalloc(full);
    unsigned char *out = testutil_xalloc(full + 16);
    unsigned char *rec = testutil_xalloc(full);
    unsigned char *rec_off = testutil_xalloc(full);
    pattern(plain, len, (unsigned)len);
    reference_seal(bits, plain, len, want);

    memset(out, 0xee, full + 16);
    size_t olen = 0;
    uint64_t before = col_tls_gcm_records();
    assert_int_equal(mbedtls_cipher_auth_encrypt_ext(&enc, test_iv, 12, test_aad, AAD_LEN, plain,
                                                     len, out, full, &olen, 16),
                     0);
    assert_int_equal(col_tls_gcm_records(), before + 1);
    assert_int_equal(olen, full);
    assert_memory_equal(out, want, full);
    for (size_t i = full; i < full + 16; i++) {
        assert_int_equal(out[i], 0xee);
    }

    /* In place, as ssl_msg.c opens a record. */
    memcpy(rec, want, full);
    assert_int_equal(mbedtls_cipher_auth_decrypt_ext(&dec, test_iv, 12, test_aad, AAD_LEN, rec,
                                                     full, rec, full, &olen, 16),
                     0);
    assert_int_equal(col_tls_gcm_records(), before + 2);
    assert_int_equal(olen, len);
    if (len > 0) {
        assert_memory_equal(rec, plain, len);
    }

    /* A flipped tag bit: the answer of the accelerated path, then mbedTLS's, must agree. */
    memcpy(rec, want, full);
    rec[len + len % 16] ^= 0x04;
    memcpy(rec_off, rec, full);
    size_t olen_off = 0;
    int ret = mbedtls_cipher_auth_decrypt_ext(&dec, test_iv, 12, test_aad, AAD_LEN, rec, full, rec,
                                              full, &olen, 16);
    assert_int_equal(ret, MBEDTLS_ERR_CIPHER_AUTH_FAILED);
    assert_int_equal(col_tls_gcm_records(), before + 3);
    assert_true(testutil_all_zero(rec, len));
    path_set(false);
    assert_int_equal(mbedtls_cipher_auth_decrypt_ext(&dec, test_iv, 12, test_aad, AAD_LEN, rec_off,
                                                     full, rec_off, full, &olen_off, 16),
                     ret);
    path_set(true);
    assert_int_equal(olen, olen_off);
    assert_memory_equal(rec, rec_off, full);

    if (len == 0) {
        /* An empty record may have no output buffer at all. */
        assert_int_equal(mbedtls_cipher_auth_decrypt_ext(&dec, test_iv, 12, test_aad, AAD_LEN, want,
                                                         16, NULL, 0, &olen, 16),
                         0);
        assert_int_equal(olen, 0);
        assert_int_equal(col_tls_gcm_records(), before + 4);
    }
    proto_free(rec_off);
    proto_free(rec);
    proto_free(out);
    proto_free(want);
    proto_free(plain);
    mbedtls_cipher_free(&dec);
    mbedtls_cipher_free(&enc);
}

static void test_accelerated_path_seals_and_opens_aes_gcm_exactly_as_mbedtls_does(void **state)
{
    (void)state;
    char why[160];
    assert_int_equal(col_tls_gcm_setup(true, why, sizeof(why)), PROTO_OK);
    if (!col_gcm_ni_supported()) {
        assert_false(col_tls_gcm_accelerated());
        assert_non_null(strstr(why, "mbedTLS"));
        print_message("skipped the served records: this CPU has no AES-NI (%s)\n", why);
        skip();
    }
    assert_true(col_tls_gcm_accelerated());
    assert_non_null(strstr(why, "AES-NI"));
    for (size_t t = 0; t < sizeof(gcm_types) / sizeof(gcm_types[0]); t++) {
        for (size_t i = 0; i < sizeof(record_lengths) / sizeof(record_lengths[0]); i++) {
            served_record(gcm_types[t].type, gcm_types[t].bits, record_lengths[i]);
        }
    }
}

/* ---- calls left to mbedTLS --------------------------------------------------------------- */

/* One call on a scratch buffer: input at in_off, output at out_off. */
struct call {
    bool decrypt;
    size_t iv_len, tag_len, ilen, in_off, out_off, output_len;
};

struct answer {
    int ret;
    size_t olen;
    uint64_t served;
    unsigned char buf[SCRATCH];
};

static void call_run(mbedtls_cipher_context_t *ctx, const struct call *c,
                     const unsigned char scratch[SCRATCH], struct answer *a)
{
    memcpy(a->buf, scratch, SCRATCH);
    a->olen = 0x5555;
    uint64_t before = col_tls_gcm_records();
    if (c->decrypt) {
        a->ret = mbedtls_cipher_auth_decrypt_ext(ctx, test_iv, c->iv_len, test_aad, AAD_LEN,
                                                 a->buf + c->in_off, c->ilen, a->buf + c->out_off,
                                                 c->output_len, &a->olen, c->tag_len);
    } else {
        a->ret = mbedtls_cipher_auth_encrypt_ext(ctx, test_iv, c->iv_len, test_aad, AAD_LEN,
                                                 a->buf + c->in_off, c->ilen, a->buf + c->out_off,
                                                 c->output_len, &a->olen, c->tag_len);
    }
    a->served = col_tls_gcm_records() - before;
}

/* The call with the path on (checked: the caller skipped the test where it cannot be) and with
 * it off: not served, and the same answer, olen and bytes. `off` keeps mbedTLS's answer. */
static void assert_left_to_mbedtls(mbedtls_cipher_context_t *ctx, const struct call *c,
                                   const unsigned char scratch[SCRATCH], struct answer *off)
{
    struct answer on;
    path_set(true);
    assert_true(col_tls_gcm_accelerated());
    call_run(ctx, c, scratch, &on);
    path_set(false);
    call_run(ctx, c, scratch, off);
    assert_int_equal(on.served, 0);
    assert_int_equal(off->served, 0);
    assert_int_equal(on.ret, off->ret);
    assert_int_equal(on.olen, off->olen);
    assert_memory_equal(on.buf, off->buf, SCRATCH);
}

/* A 100-byte message sealed and then opened in place with these lengths on a context of
 * `type`: both calls left to mbedTLS, and mbedTLS's open gives the message back. */
static void assert_pair_left_to_mbedtls(mbedtls_cipher_type_t type, size_t iv_len, size_t tag_len)
{
    mbedtls_cipher_context_t enc;
    mbedtls_cipher_context_t dec;
    cipher_open(&enc, type, MBEDTLS_ENCRYPT);
    cipher_open(&dec, type, MBEDTLS_DECRYPT);
    unsigned char scratch[SCRATCH];
    pattern(scratch, sizeof(scratch), 3);
    struct answer sealed;
    struct answer opened;
    struct call seal = {false, iv_len, tag_len, 100, 0, 200, 100 + tag_len};
    assert_left_to_mbedtls(&enc, &seal, scratch, &sealed);
    assert_int_equal(sealed.ret, 0);
    assert_int_equal(sealed.olen, 100 + tag_len);
    struct call open = {true, iv_len, tag_len, 100 + tag_len, 200, 200, 100 + tag_len};
    assert_left_to_mbedtls(&dec, &open, sealed.buf, &opened);
    assert_int_equal(opened.ret, 0);
    assert_int_equal(opened.olen, 100);
    assert_memory_equal(opened.buf + 200, scratch, 100);
    mbedtls_cipher_free(&dec);
    mbedtls_cipher_free(&enc);
}

static void test_chacha20_poly1305_and_ccm_records_are_left_to_mbedtls(void **state)
{
    (void)state;
    path_on_or_skip();
    assert_pair_left_to_mbedtls(MBEDTLS_CIPHER_CHACHA20_POLY1305, 12, 16);
    assert_pair_left_to_mbedtls(MBEDTLS_CIPHER_AES_128_CCM, 12, 16);
}

static void test_gcm_with_a_16_byte_iv_or_a_12_byte_tag_is_left_to_mbedtls(void **state)
{
    (void)state;
    path_on_or_skip();
    assert_pair_left_to_mbedtls(MBEDTLS_CIPHER_AES_128_GCM, 16, 16);
    assert_pair_left_to_mbedtls(MBEDTLS_CIPHER_AES_256_GCM, 16, 16);
    assert_pair_left_to_mbedtls(MBEDTLS_CIPHER_AES_128_GCM, 12, 12);
    assert_pair_left_to_mbedtls(MBEDTLS_CIPHER_AES_256_GCM, 12, 8);
}

static void test_partially_overlapping_buffers_are_left_to_mbedtls(void **state)
{
    (void)state;
    path_on_or_skip();
    mbedtls_cipher_context_t ctx;
    cipher_open(&ctx, MBEDTLS_CIPHER_AES_128_GCM, MBEDTLS_ENCRYPT);
    unsigned char scratch[SCRATCH];
    pattern(scratch, sizeof(scratch), 9);
    struct answer a;
    /* The output starts inside the input, or the input inside the output. */
    static const struct call seals[] = {
        {false, 12, 16, 100, 100, 105, 116},
        {false, 12, 16, 100, 100, 95, 116},
        {false, 12, 16, 100, 100, 199, 116},
        {false, 12, 16, 100, 100, 1, 116},
    };
    for (size_t i = 0; i < sizeof(seals) / sizeof(seals[0]); i++) {
        assert_left_to_mbedtls(&ctx, &seals[i], scratch, &a);
    }

    /* The records to open are genuine: mbedTLS's seal of bytes 300..400 at 100..216. */
    struct answer sealed;
    struct call seal = {false, 12, 16, 100, 300, 100, 116};
    path_set(false);
    call_run(&ctx, &seal, scratch, &sealed);
    assert_int_equal(sealed.ret, 0);
    static const struct call opens[] = {
        {true, 12, 16, 116, 100, 107, 100},
        {true, 12, 16, 116, 100, 93, 100},
        {true, 12, 16, 116, 100, 199, 100},
    };
    for (size_t i = 0; i < sizeof(opens) / sizeof(opens[0]); i++) {
        assert_left_to_mbedtls(&ctx, &opens[i], sealed.buf, &a);
    }
    /* The plaintext lands on the tag but not on the ciphertext: mbedTLS then compares its tag
     * with plaintext and refuses the record, so gcm_ni must not open it either. */
    static const struct call over_tag[] = {
        {true, 12, 16, 116, 100, 200, 100},
        {true, 12, 16, 116, 100, 210, 100},
    };
    for (size_t i = 0; i < sizeof(over_tag) / sizeof(over_tag[0]); i++) {
        assert_left_to_mbedtls(&ctx, &over_tag[i], sealed.buf, &a);
        assert_int_equal(a.ret, MBEDTLS_ERR_CIPHER_AUTH_FAILED);
    }
    mbedtls_cipher_free(&ctx);
}

static void test_too_small_output_buffer_is_bad_input_data_like_mbedtls(void **state)
{
    (void)state;
    path_on_or_skip();
    mbedtls_cipher_context_t ctx;
    cipher_open(&ctx, MBEDTLS_CIPHER_AES_256_GCM, MBEDTLS_ENCRYPT);
    unsigned char scratch[SCRATCH];
    pattern(scratch, sizeof(scratch), 5);
    struct answer a;
    static const struct call calls[] = {
        {false, 12, 16, 100, 0, 200, 115}, {false, 12, 16, 100, 0, 200, 100},
        {false, 12, 16, 0, 0, 200, 15},    {true, 12, 16, 116, 0, 200, 99},
        {true, 12, 16, 116, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        assert_left_to_mbedtls(&ctx, &calls[i], scratch, &a);
        assert_int_equal(a.ret, MBEDTLS_ERR_CIPHER_BAD_INPUT_DATA);
    }
    mbedtls_cipher_free(&ctx);
}

static void test_gcm_context_without_a_key_is_left_to_mbedtls(void **state)
{
    (void)state;
    path_on_or_skip();
    mbedtls_cipher_context_t ctx;
    mbedtls_cipher_init(&ctx);
    assert_int_equal(
        mbedtls_cipher_setup(&ctx, mbedtls_cipher_info_from_type(MBEDTLS_CIPHER_AES_128_GCM)), 0);
    unsigned char scratch[SCRATCH];
    pattern(scratch, sizeof(scratch), 1);
    struct answer a;
    struct call seal = {false, 12, 16, 100, 0, 200, 116};
    assert_left_to_mbedtls(&ctx, &seal, scratch, &a);
    assert_int_not_equal(a.ret, 0);
    mbedtls_cipher_free(&ctx);
}

/* ---- the switch --------------------------------------------------------------------------- */

static void test_switched_off_path_leaves_every_record_to_mbedtls(void **state)
{
    (void)state;
    char why[160];
    assert_int_equal(col_tls_gcm_setup(false, why, sizeof(why)), PROTO_OK);
    assert_false(col_tls_gcm_accelerated());
    assert_non_null(strstr(why, "mbedTLS"));
    uint64_t before = col_tls_gcm_records();
    for (size_t t = 0; t < sizeof(gcm_types) / sizeof(gcm_types[0]); t++) {
        mbedtls_cipher_context_t enc;
        mbedtls_cipher_context_t dec;
        cipher_open(&enc, gcm_types[t].type, MBEDTLS_ENCRYPT);
        cipher_open(&dec, gcm_types[t].type, MBEDTLS_DECRYPT);
        unsigned char plain[1000];
        unsigned char want[1016];
        unsigned char rec[1016];
        size_t olen = 0;
        pattern(plain, sizeof(plain), 77);
        reference_seal(gcm_types[t].bits, plain, sizeof(plain), want);
        assert_int_equal(mbedtls_cipher_auth_encrypt_ext(&enc, test_iv, 12, test_aad, AAD_LEN,
                                                         plain, sizeof(plain), rec, sizeof(rec),
                                                         &olen, 16),
                         0);
        assert_memory_equal(rec, want, sizeof(want));
        assert_int_equal(mbedtls_cipher_auth_decrypt_ext(&dec, test_iv, 12, test_aad, AAD_LEN, rec,
                                                         sizeof(rec), rec, sizeof(rec), &olen, 16),
                         0);
        assert_memory_equal(rec, plain, sizeof(plain));
        mbedtls_cipher_free(&dec);
        mbedtls_cipher_free(&enc);
    }
    assert_int_equal(col_tls_gcm_records(), before);
}

static void test_setup_takes_no_why_buffer_or_a_short_one(void **state)
{
    (void)state;
    assert_int_equal(col_tls_gcm_setup(false, NULL, 0), PROTO_OK);
    char why[8];
    memset(why, 'x', sizeof(why));
    assert_int_equal(col_tls_gcm_setup(true, why, sizeof(why)), PROTO_OK);
    assert_int_equal(strlen(why), sizeof(why) - 1);
    assert_int_equal(col_tls_gcm_accelerated(), col_gcm_ni_supported());
    assert_int_equal(col_tls_gcm_setup(true, NULL, 0), PROTO_OK);
    assert_int_equal(col_tls_gcm_accelerated(), col_gcm_ni_supported());
}

/* ---- a real TLS 1.2 session -------------------------------------------------------------- */

struct session {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_pk_context key;
    mbedtls_x509_crt crt;
    mbedtls_ssl_config server_conf, client_conf;
    mbedtls_ssl_context server, client;
    int fds[2];
};

static int sock_send(void *ctx, const unsigned char *buf, size_t len)
{
    ssize_t n = send(*(const int *)ctx, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
        return errno == EAGAIN || errno == EWOULDBLOCK ? MBEDTLS_ERR_SSL_WANT_WRITE
                                                       : MBEDTLS_ERR_NET_SEND_FAILED;
    }
    return (int)n;
}

static int sock_recv(void *ctx, unsigned char *buf, size_t len)
{
    ssize_t n = recv(*(const int *)ctx, buf, len, MSG_DONTWAIT);
    if (n < 0) {
        return errno == EAGAIN || errno == EWOULDBLOCK ? MBEDTLS_ERR_SSL_WANT_READ
                                                       : MBEDTLS_ERR_NET_RECV_FAILED;
    }
    return (int)n;
}

/* A throwaway P-256 key and a self-signed certificate for it. */
static void session_identity(struct session *s)
{
    assert_int_equal(mbedtls_pk_setup(&s->key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)), 0);
    assert_int_equal(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(s->key),
                                         mbedtls_ctr_drbg_random, &s->drbg),
                     0);
    mbedtls_x509write_cert w;
    mbedtls_mpi serial;
    mbedtls_x509write_crt_init(&w);
    mbedtls_mpi_init(&serial);
    mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&w, &s->key);
    mbedtls_x509write_crt_set_issuer_key(&w, &s->key);
    assert_int_equal(mbedtls_mpi_lset(&serial, 1), 0);
    assert_int_equal(mbedtls_x509write_crt_set_serial(&w, &serial), 0);
    assert_int_equal(mbedtls_x509write_crt_set_subject_name(&w, "CN=tls-gcm.test"), 0);
    assert_int_equal(mbedtls_x509write_crt_set_issuer_name(&w, "CN=tls-gcm.test"), 0);
    assert_int_equal(mbedtls_x509write_crt_set_validity(&w, "20200101000000", "20500101000000"), 0);
    unsigned char der[1024];
    int n = mbedtls_x509write_crt_der(&w, der, sizeof(der), mbedtls_ctr_drbg_random, &s->drbg);
    assert_true(n > 0);
    assert_int_equal(mbedtls_x509_crt_parse_der(&s->crt, der + sizeof(der) - (size_t)n, (size_t)n),
                     0);
    mbedtls_mpi_free(&serial);
    mbedtls_x509write_crt_free(&w);
}

static const int session_suites[] = {MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, 0};

static void session_end(struct session *s, mbedtls_ssl_config *conf, mbedtls_ssl_context *ssl,
                        int endpoint, int *fd)
{
    assert_int_equal(mbedtls_ssl_config_defaults(conf, endpoint, MBEDTLS_SSL_TRANSPORT_STREAM,
                                                 MBEDTLS_SSL_PRESET_DEFAULT),
                     0);
    mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, &s->drbg);
    mbedtls_ssl_conf_ciphersuites(conf, session_suites);
    mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_max_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    if (endpoint == MBEDTLS_SSL_IS_SERVER) {
        assert_int_equal(mbedtls_ssl_conf_own_cert(conf, &s->crt, &s->key), 0);
    } else {
        /* The self-signed certificate is the client's only trust anchor. */
        mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_REQUIRED);
        mbedtls_ssl_conf_ca_chain(conf, &s->crt, NULL);
    }
    assert_int_equal(mbedtls_ssl_setup(ssl, conf), 0);
    mbedtls_ssl_set_bio(ssl, fd, sock_send, sock_recv, NULL);
}

static void session_open(struct session *s)
{
    mbedtls_entropy_init(&s->entropy);
    mbedtls_ctr_drbg_init(&s->drbg);
    mbedtls_pk_init(&s->key);
    mbedtls_x509_crt_init(&s->crt);
    mbedtls_ssl_config_init(&s->server_conf);
    mbedtls_ssl_config_init(&s->client_conf);
    mbedtls_ssl_init(&s->server);
    mbedtls_ssl_init(&s->client);
    assert_int_equal(mbedtls_ctr_drbg_seed(&s->drbg, mbedtls_entropy_func, &s->entropy, NULL, 0),
                     0);
    session_identity(s);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, s->fds), 0);
    session_end(s, &s->server_conf, &s->server, MBEDTLS_SSL_IS_SERVER, &s->fds[0]);
    session_end(s, &s->client_conf, &s->client, MBEDTLS_SSL_IS_CLIENT, &s->fds[1]);
    assert_int_equal(mbedtls_ssl_set_hostname(&s->client, "tls-gcm.test"), 0);
}

static void session_close(struct session *s)
{
    close(s->fds[0]);
    close(s->fds[1]);
    mbedtls_ssl_free(&s->client);
    mbedtls_ssl_free(&s->server);
    mbedtls_ssl_config_free(&s->client_conf);
    mbedtls_ssl_config_free(&s->server_conf);
    mbedtls_x509_crt_free(&s->crt);
    mbedtls_pk_free(&s->key);
    mbedtls_ctr_drbg_free(&s->drbg);
    mbedtls_entropy_free(&s->entropy);
}

static bool want_more(int ret)
{
    return ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE;
}

/* Both ends step in turn (non-blocking) until both have finished or one fails. */
static void session_handshake(struct session *s)
{
    int c = MBEDTLS_ERR_SSL_WANT_READ;
    int v = MBEDTLS_ERR_SSL_WANT_READ;
    for (int i = 0; i < 1000 && (c != 0 || v != 0); i++) {
        if (c != 0) {
            c = mbedtls_ssl_handshake(&s->client);
            assert_true(c == 0 || want_more(c));
        }
        if (v != 0) {
            v = mbedtls_ssl_handshake(&s->server);
            assert_true(v == 0 || want_more(v));
        }
    }
    assert_int_equal(c, 0);
    assert_int_equal(v, 0);
}

/* len bytes written by `from` arrive at `to` unchanged; returns how many arrived intact. */
static size_t session_carry(mbedtls_ssl_context *from, mbedtls_ssl_context *to,
                            const unsigned char *msg, unsigned char *got, size_t len)
{
    size_t sent = 0;
    size_t received = 0;
    memset(got, 0, len);
    for (int i = 0; i < 10000 && received < len; i++) {
        if (sent < len) {
            int n = mbedtls_ssl_write(from, msg + sent, len - sent);
            assert_true(n > 0 || want_more(n));
            sent += n > 0 ? (size_t)n : 0;
        }
        int n = mbedtls_ssl_read(to, got + received, len - received);
        assert_true(n > 0 || want_more(n));
        received += n > 0 ? (size_t)n : 0;
    }
    assert_int_equal(received, len);
    assert_memory_equal(got, msg, len);
    return memcmp(got, msg, len) == 0 ? received : 0;
}

enum { SESSION_MESSAGE = 10 * 1024 };

/* What one session did: records gcm_ni served, application bytes that arrived intact (both
 * ways together) and whether the path was on while the records flowed. */
struct session_outcome {
    uint64_t served;
    size_t carried;
    bool accelerated;
};

/* A whole session with the path on or off. */
static struct session_outcome session_run(bool accelerate)
{
    struct session_outcome o = {0, 0, false};
    path_set(accelerate);
    struct session s;
    session_open(&s);
    uint64_t before = col_tls_gcm_records();
    session_handshake(&s);
    assert_string_equal(mbedtls_ssl_get_version(&s.client), "TLSv1.2");
    assert_string_equal(mbedtls_ssl_get_ciphersuite(&s.client),
                        "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256");
    assert_int_equal(mbedtls_ssl_get_verify_result(&s.client), 0);
    unsigned char *up = testutil_xalloc(SESSION_MESSAGE);
    unsigned char *down = testutil_xalloc(SESSION_MESSAGE);
    unsigned char *got = testutil_xalloc(SESSION_MESSAGE);
    pattern(up, SESSION_MESSAGE, 11);
    pattern(down, SESSION_MESSAGE, 201);
    o.carried += session_carry(&s.client, &s.server, up, got, SESSION_MESSAGE);
    o.carried += session_carry(&s.server, &s.client, down, got, SESSION_MESSAGE);
    o.accelerated = col_tls_gcm_accelerated();
    proto_free(got);
    proto_free(down);
    proto_free(up);
    session_close(&s);
    o.served = col_tls_gcm_records() - before;
    return o;
}

static void test_tls_1_2_session_carries_10_kb_both_ways_through_gcm_ni(void **state)
{
    (void)state;
    path_on_or_skip();
    /* At least both Finished messages and one 10 KB record each way, each sealed and opened. */
    struct session_outcome o = session_run(true);
    print_message("records served by gcm_ni: %llu\n", (unsigned long long)o.served);
    assert_true(o.accelerated);
    assert_int_equal(o.carried, 2 * SESSION_MESSAGE);
    assert_true(o.served >= 8);
}

static void test_tls_1_2_session_with_the_path_off_never_reaches_gcm_ni(void **state)
{
    (void)state;
    /* The same session through mbedTLS alone: it still works, and gcm_ni never sees a record. */
    struct session_outcome o = session_run(false);
    assert_false(o.accelerated);
    assert_false(col_tls_gcm_accelerated());
    assert_int_equal(o.carried, 2 * SESSION_MESSAGE);
    assert_int_equal(o.served, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accelerated_path_seals_and_opens_aes_gcm_exactly_as_mbedtls_does),
        cmocka_unit_test(test_chacha20_poly1305_and_ccm_records_are_left_to_mbedtls),
        cmocka_unit_test(test_gcm_with_a_16_byte_iv_or_a_12_byte_tag_is_left_to_mbedtls),
        cmocka_unit_test(test_partially_overlapping_buffers_are_left_to_mbedtls),
        cmocka_unit_test(test_too_small_output_buffer_is_bad_input_data_like_mbedtls),
        cmocka_unit_test(test_gcm_context_without_a_key_is_left_to_mbedtls),
        cmocka_unit_test(test_switched_off_path_leaves_every_record_to_mbedtls),
        cmocka_unit_test(test_setup_takes_no_why_buffer_or_a_short_one),
        cmocka_unit_test(test_tls_1_2_session_carries_10_kb_both_ways_through_gcm_ni),
        cmocka_unit_test(test_tls_1_2_session_with_the_path_off_never_reaches_gcm_ni),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
