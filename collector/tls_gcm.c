/*
 * tls_gcm: the AES-GCM record path of decision 006 (see tls_gcm.h).
 *
 * mbedTLS 2.28's record layer (ssl_msg.c) seals and opens AEAD records with
 * mbedtls_cipher_auth_{en,de}crypt_ext, a call from libmbedtls into libmbedcrypto, so it goes
 * through the PLT and binds to the executable's definition first. Those calls come here; what
 * this file does not serve it forwards, unchanged, to the library's definition (the "next" one).
 * The AES key comes from the cipher context as mbedTLS expanded it (public struct fields in
 * 2.28: cipher context -> mbedtls_gcm_context -> inner cipher context -> mbedtls_aes_context);
 * each piece is checked before it is used, and the self-test proves on this very library build
 * that the keys found there give mbedTLS's own ciphertext and tags, or the path stays off.
 */
#define _GNU_SOURCE /* RTLD_NEXT */
#include "tls_gcm.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/aes.h>
#include <mbedtls/cipher.h>
#include <mbedtls/gcm.h>
#include <mbedtls/version.h>

#include "gcm_ni.h"

/* The context layout read below is the 2.28 LTS one (3.x made these fields private). */
#if MBEDTLS_VERSION_MAJOR != 2 || MBEDTLS_VERSION_MINOR != 28
#error "tls_gcm reads mbedTLS 2.28 context structures: check them before using another version"
#endif

typedef int (*tls_gcm_aead_fn)(mbedtls_cipher_context_t *ctx, const unsigned char *iv,
                               size_t iv_len, const unsigned char *ad, size_t ad_len,
                               const unsigned char *input, size_t ilen, unsigned char *output,
                               size_t output_len, size_t *olen, size_t tag_len);

static pthread_once_t tls_gcm_resolve_once = PTHREAD_ONCE_INIT;
static tls_gcm_aead_fn tls_gcm_library_encrypt;
static tls_gcm_aead_fn tls_gcm_library_decrypt;
static atomic_bool tls_gcm_on = false;
static atomic_uint_fast64_t tls_gcm_served = 0;

static void tls_gcm_resolve(void)
{
    /* POSIX's way to turn dlsym's object pointer into a function pointer. */
    *(void **)(&tls_gcm_library_encrypt) = dlsym(RTLD_NEXT, "mbedtls_cipher_auth_encrypt_ext");
    *(void **)(&tls_gcm_library_decrypt) = dlsym(RTLD_NEXT, "mbedtls_cipher_auth_decrypt_ext");
}

static bool tls_gcm_resolved(void)
{
    pthread_once(&tls_gcm_resolve_once, tls_gcm_resolve);
    return tls_gcm_library_encrypt != NULL && tls_gcm_library_decrypt != NULL;
}

/* The AES encryption schedule behind an AES-GCM cipher context, or false when `ctx` is not
 * exactly that (another cipher or mode, no key yet, a PSA-backed context). */
static bool tls_gcm_key_of(const mbedtls_cipher_context_t *ctx, struct col_gcm_ni_key *key)
{
    if (ctx == NULL || ctx->cipher_info == NULL || ctx->cipher_ctx == NULL ||
        ctx->cipher_info->mode != MBEDTLS_MODE_GCM) {
        return false;
    }
#if defined(MBEDTLS_USE_PSA_CRYPTO)
    if (ctx->psa_enabled != 0) {
        return false;
    }
#endif
    int rounds = 0;
    mbedtls_cipher_type_t inner = MBEDTLS_CIPHER_NONE;
    switch (ctx->cipher_info->type) {
    case MBEDTLS_CIPHER_AES_128_GCM:
        rounds = 10;
        inner = MBEDTLS_CIPHER_AES_128_ECB;
        break;
    case MBEDTLS_CIPHER_AES_192_GCM:
        rounds = 12;
        inner = MBEDTLS_CIPHER_AES_192_ECB;
        break;
    case MBEDTLS_CIPHER_AES_256_GCM:
        rounds = 14;
        inner = MBEDTLS_CIPHER_AES_256_ECB;
        break;
    default:
        return false;
    }
    const mbedtls_gcm_context *gcm = ctx->cipher_ctx;
    if (gcm->cipher_ctx.cipher_info == NULL || gcm->cipher_ctx.cipher_info->type != inner ||
        gcm->cipher_ctx.cipher_ctx == NULL) {
        return false;
    }
    const mbedtls_aes_context *aes = gcm->cipher_ctx.cipher_ctx;
    /* nr is 0 until a key is set; rk points into the context's own buffer (2.28 aes.c). */
    size_t words = sizeof(aes->buf) / sizeof(aes->buf[0]);
    size_t need = 4 * ((size_t)rounds + 1);
    if (aes->nr != rounds || aes->rk == NULL || aes->rk < aes->buf ||
        (size_t)(aes->rk - aes->buf) > words - need) {
        return false;
    }
    key->round_keys = (const unsigned char *)aes->rk;
    key->rounds = rounds;
    return true;
}

/* in and out may be the same buffer (the record layer works in place) but not overlap
 * otherwise. */
static bool tls_gcm_disjoint_or_same(const unsigned char *in, const unsigned char *out, size_t len)
{
    if (in == out || len == 0) {
        return true;
    }
    uintptr_t a = (uintptr_t)in;
    uintptr_t b = (uintptr_t)out;
    return a >= b ? a - b >= len : b - a >= len;
}

static bool tls_gcm_serves(const mbedtls_cipher_context_t *ctx, const unsigned char *iv,
                           size_t iv_len, const unsigned char *ad, size_t ad_len, size_t *olen,
                           size_t tag_len, struct col_gcm_ni_key *key)
{
    return atomic_load_explicit(&tls_gcm_on, memory_order_relaxed) && iv != NULL &&
           iv_len == COL_GCM_NI_IV_LEN && tag_len == COL_GCM_NI_TAG_LEN && olen != NULL &&
           (ad != NULL || ad_len == 0) && ad_len <= COL_GCM_NI_MAX_LEN && tls_gcm_key_of(ctx, key);
}

/* The same contract as mbedTLS's (mbedtls/cipher.h): output gets ilen bytes and the tag. */
int mbedtls_cipher_auth_encrypt_ext(mbedtls_cipher_context_t *ctx, const unsigned char *iv,
                                    size_t iv_len, const unsigned char *ad, size_t ad_len,
                                    const unsigned char *input, size_t ilen, unsigned char *output,
                                    size_t output_len, size_t *olen, size_t tag_len)
{
    struct col_gcm_ni_key key;
    if (tls_gcm_serves(ctx, iv, iv_len, ad, ad_len, olen, tag_len, &key) && output != NULL &&
        (input != NULL || ilen == 0) && ilen <= COL_GCM_NI_MAX_LEN &&
        tls_gcm_disjoint_or_same(input, output, ilen)) {
        if (output_len < ilen + tag_len) {
            return MBEDTLS_ERR_CIPHER_BAD_INPUT_DATA; /* as mbedTLS answers it */
        }
        if (col_gcm_ni_seal(&key, iv, ad, ad_len, input, ilen, output, output + ilen)) {
            *olen = ilen + tag_len;
            atomic_fetch_add_explicit(&tls_gcm_served, 1, memory_order_relaxed);
            return 0;
        }
    }
    if (!tls_gcm_resolved()) {
        return MBEDTLS_ERR_CIPHER_FEATURE_UNAVAILABLE; /* setup refuses to start without them */
    }
    return tls_gcm_library_encrypt(ctx, iv, iv_len, ad, ad_len, input, ilen, output, output_len,
                                   olen, tag_len);
}

/* The same contract as mbedTLS's: input is ciphertext || tag; output gets ilen - tag_len bytes,
 * wiped when the tag does not match. */
int mbedtls_cipher_auth_decrypt_ext(mbedtls_cipher_context_t *ctx, const unsigned char *iv,
                                    size_t iv_len, const unsigned char *ad, size_t ad_len,
                                    const unsigned char *input, size_t ilen, unsigned char *output,
                                    size_t output_len, size_t *olen, size_t tag_len)
{
    struct col_gcm_ni_key key;
    if (tls_gcm_serves(ctx, iv, iv_len, ad, ad_len, olen, tag_len, &key) && input != NULL &&
        ilen >= tag_len && ilen - tag_len <= COL_GCM_NI_MAX_LEN &&
        (output != NULL || ilen == tag_len) &&
        /* The tag is input too: mbedTLS compares it after writing the output, so an output
         * that covers it is mbedTLS's to answer (it refuses the record). */
        tls_gcm_disjoint_or_same(input, output, ilen)) {
        size_t len = ilen - tag_len;
        if (output_len < len) {
            return MBEDTLS_ERR_CIPHER_BAD_INPUT_DATA;
        }
        enum col_gcm_ni_open_result opened =
            col_gcm_ni_open(&key, iv, ad, ad_len, input, len, output, input + len);
        if (opened != COL_GCM_NI_UNSUITABLE) {
            *olen = len; /* mbedTLS sets it before it checks the tag, too */
            atomic_fetch_add_explicit(&tls_gcm_served, 1, memory_order_relaxed);
            return opened == COL_GCM_NI_OPENED ? 0 : MBEDTLS_ERR_CIPHER_AUTH_FAILED;
        }
    }
    if (!tls_gcm_resolved()) {
        return MBEDTLS_ERR_CIPHER_FEATURE_UNAVAILABLE;
    }
    return tls_gcm_library_decrypt(ctx, iv, iv_len, ad, ad_len, input, ilen, output, output_len,
                                   olen, tag_len);
}

/* ---- self-test ------------------------------------------------------------------------------ */

#define TLS_GCM_TEST_MAX 1100 /* bytes of plaintext in the longest self-test message */

/* One key size, several lengths: mbedTLS's ciphertext and tag must be ours byte for byte, ours
 * must open mbedTLS's, and a changed tag must be refused with the plaintext wiped. */
static bool tls_gcm_selftest_key(mbedtls_cipher_type_t type, int key_bits)
{
    static const size_t lengths[] = {0, 1, 15, 16, 17, 63, 64, 65, 100, 1024, TLS_GCM_TEST_MAX};
    unsigned char key[32];
    unsigned char iv[COL_GCM_NI_IV_LEN];
    unsigned char aad[18]; /* 13 bytes for a TLS record, 18 for a session ticket */
    unsigned char plain[TLS_GCM_TEST_MAX];
    unsigned char theirs[TLS_GCM_TEST_MAX + COL_GCM_NI_TAG_LEN];
    unsigned char ours[TLS_GCM_TEST_MAX + COL_GCM_NI_TAG_LEN];
    unsigned char opened[TLS_GCM_TEST_MAX];
    for (size_t i = 0; i < sizeof(key); i++) {
        key[i] = (unsigned char)(0x5a ^ (i * 29));
    }
    for (size_t i = 0; i < sizeof(iv); i++) {
        iv[i] = (unsigned char)(i * 7 + 3);
    }
    for (size_t i = 0; i < sizeof(aad); i++) {
        aad[i] = (unsigned char)(0xa0 + i);
    }
    for (size_t i = 0; i < sizeof(plain); i++) {
        plain[i] = (unsigned char)(i * 131 + 17);
    }

    bool ok = false;
    mbedtls_cipher_context_t ctx;
    mbedtls_cipher_init(&ctx);
    struct col_gcm_ni_key nk;
    if (mbedtls_cipher_setup(&ctx, mbedtls_cipher_info_from_type(type)) != 0 ||
        mbedtls_cipher_setkey(&ctx, key, key_bits, MBEDTLS_ENCRYPT) != 0 ||
        !tls_gcm_key_of(&ctx, &nk)) {
        goto out;
    }
    for (size_t t = 0; t < sizeof(lengths) / sizeof(lengths[0]); t++) {
        size_t len = lengths[t];
        size_t aad_len = t % 2 == 0 ? 13 : sizeof(aad);
        size_t olen = 0;
        if (tls_gcm_library_encrypt(&ctx, iv, sizeof(iv), aad, aad_len, plain, len, theirs,
                                    sizeof(theirs), &olen, COL_GCM_NI_TAG_LEN) != 0 ||
            olen != len + COL_GCM_NI_TAG_LEN ||
            !col_gcm_ni_seal(&nk, iv, aad, aad_len, plain, len, ours, ours + len) ||
            memcmp(ours, theirs, olen) != 0 ||
            col_gcm_ni_open(&nk, iv, aad, aad_len, theirs, len, opened, theirs + len) !=
                COL_GCM_NI_OPENED ||
            memcmp(opened, plain, len) != 0) {
            goto out;
        }
        theirs[len + t % COL_GCM_NI_TAG_LEN] ^= 0x01;
        if (col_gcm_ni_open(&nk, iv, aad, aad_len, theirs, len, opened, theirs + len) !=
            COL_GCM_NI_FORGED) {
            goto out;
        }
        for (size_t i = 0; i < len; i++) {
            if (opened[i] != 0) {
                goto out;
            }
        }
    }
    ok = true;
out:
    mbedtls_cipher_free(&ctx);
    return ok;
}

static void tls_gcm_why(char *why, size_t why_size, const char *text)
{
    if (why != NULL && why_size > 0) {
        int n = snprintf(why, why_size, "%s", text);
        if (n < 0) {
            why[0] = '\0';
        }
    }
}

enum proto_rc col_tls_gcm_setup(bool accelerate, char *why, size_t why_size)
{
    atomic_store(&tls_gcm_on, false);
    if (!tls_gcm_resolved()) {
        tls_gcm_why(why, why_size,
                    "mbedTLS's mbedtls_cipher_auth_*_ext not found next to the collector's "
                    "(linked statically?)");
        return PROTO_ECRYPTO;
    }
    if (!accelerate) {
        tls_gcm_why(why, why_size, "mbedTLS (tls_gcm_accel is off)");
        return PROTO_OK;
    }
    /* The library loaded at run time must be the 2.28 this was built against, and libmbedtls
     * must bind to these definitions (it would not with a hidden or static mbedTLS). */
    if (mbedtls_version_get_number() >> 16 != (MBEDTLS_VERSION_NUMBER >> 16)) {
        tls_gcm_why(why, why_size, "mbedTLS (the library loaded is not the 2.28 built against)");
        return PROTO_OK;
    }
    void *bound = dlsym(RTLD_DEFAULT, "mbedtls_cipher_auth_decrypt_ext");
    if (bound == NULL || bound != (void *)(uintptr_t)mbedtls_cipher_auth_decrypt_ext) {
        tls_gcm_why(why, why_size, "mbedTLS (libmbedtls does not bind to the collector's path)");
        return PROTO_OK;
    }
    if (!col_gcm_ni_supported()) {
        tls_gcm_why(why, why_size, "mbedTLS (this CPU has no AES-NI/PCLMULQDQ)");
        return PROTO_OK;
    }
    if (!tls_gcm_selftest_key(MBEDTLS_CIPHER_AES_128_GCM, 128) ||
        !tls_gcm_selftest_key(MBEDTLS_CIPHER_AES_192_GCM, 192) ||
        !tls_gcm_selftest_key(MBEDTLS_CIPHER_AES_256_GCM, 256)) {
        tls_gcm_why(why, why_size,
                    "mbedTLS (the AES-NI path disagreed with mbedTLS in its self-test: left off)");
        return PROTO_OK;
    }
    atomic_store(&tls_gcm_on, true);
    tls_gcm_why(why, why_size, "AES-GCM by AES-NI + PCLMULQDQ (self-test against mbedTLS passed)");
    return PROTO_OK;
}

bool col_tls_gcm_accelerated(void)
{
    return atomic_load(&tls_gcm_on);
}

uint64_t col_tls_gcm_records(void)
{
    return (uint64_t)atomic_load(&tls_gcm_served);
}
