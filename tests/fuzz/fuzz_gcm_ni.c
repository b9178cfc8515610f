/*
 * fuzz_gcm_ni: col_gcm_ni_seal (collector/gcm_ni.c) against mbedtls_gcm_crypt_and_tag on keys,
 * IVs, additional data and plaintexts the input chooses; the sealed message must open (in place
 * or not, as the input says) to the plaintext, and with one input-chosen byte of ciphertext ||
 * tag || AAD changed it must be FORGED, with the output wiped, as mbedTLS refuses it too.
 * abort() on any mismatch. Every buffer is its own exact-size allocation, so ASan sees any
 * access past one. Does nothing on a CPU without AES-NI.
 *
 * Input: [0] key size (% 3) and in-place (bit 0 of / 3), [1] AAD length, [2..3] which byte to
 * change, [4] the XOR mask for it, then the key (16, 24 or 32 bytes), the IV (12), the AAD, and
 * the rest is the plaintext.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/aes.h>
#include <mbedtls/gcm.h>

#include "alloc.h"
#include "gcm_ni.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_GCM_HEAD 5

static void fuzz_gcm_check(bool ok)
{
    if (!ok) {
        abort();
    }
}

/* Exact size (one byte for an empty buffer, never read). */
static unsigned char *fuzz_gcm_alloc(size_t n)
{
    unsigned char *p = proto_malloc(n == 0 ? 1 : n);
    fuzz_gcm_check(p != NULL);
    return p;
}

static unsigned char *fuzz_gcm_copy(const uint8_t *p, size_t n)
{
    unsigned char *copy = fuzz_gcm_alloc(n);
    if (n > 0) {
        memcpy(copy, p, n);
    }
    return copy;
}

static bool fuzz_gcm_all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0) {
            return false;
        }
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned key_bits[3] = {128, 192, 256};
    if (!col_gcm_ni_supported() || size < FUZZ_GCM_HEAD) {
        return 0;
    }
    unsigned bits = key_bits[data[0] % 3];
    bool in_place = ((data[0] / 3) & 1) != 0;
    size_t key_len = bits / 8;
    size_t pick = (size_t)data[2] << 8 | data[3];
    unsigned char mask = data[4] != 0 ? data[4] : 0x01;
    if (size < FUZZ_GCM_HEAD + key_len + COL_GCM_NI_IV_LEN) {
        return 0;
    }
    const uint8_t *key = data + FUZZ_GCM_HEAD;
    const uint8_t *iv = key + key_len;
    size_t rest = size - FUZZ_GCM_HEAD - key_len - COL_GCM_NI_IV_LEN;
    size_t aad_len = data[1] < rest ? data[1] : rest;
    size_t len = rest - aad_len;
    unsigned char *aad = fuzz_gcm_copy(iv + COL_GCM_NI_IV_LEN, aad_len);
    unsigned char *in = fuzz_gcm_copy(iv + COL_GCM_NI_IV_LEN + aad_len, len);
    unsigned char *want = fuzz_gcm_alloc(len);
    unsigned char *out = fuzz_gcm_alloc(len);
    unsigned char want_tag[COL_GCM_NI_TAG_LEN];
    unsigned char tag[COL_GCM_NI_TAG_LEN];

    mbedtls_gcm_context gcm;
    mbedtls_gcm_init(&gcm);
    fuzz_gcm_check(mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, key, bits) == 0);
    fuzz_gcm_check(mbedtls_gcm_crypt_and_tag(&gcm, MBEDTLS_GCM_ENCRYPT, len, iv, COL_GCM_NI_IV_LEN,
                                             aad, aad_len, in, want, COL_GCM_NI_TAG_LEN,
                                             want_tag) == 0);
    mbedtls_aes_context aes;
    mbedtls_aes_init(&aes);
    fuzz_gcm_check(mbedtls_aes_setkey_enc(&aes, key, bits) == 0);
    struct col_gcm_ni_key nk = {(const unsigned char *)aes.rk, aes.nr};

    /* Seal: mbedTLS's ciphertext and tag, byte for byte. */
    const unsigned char *src = in;
    if (in_place) {
        memcpy(out, in, len);
        src = out;
    }
    fuzz_gcm_check(col_gcm_ni_seal(&nk, iv, aad, aad_len, src, len, out, tag));
    fuzz_gcm_check(memcmp(out, want, len) == 0);
    fuzz_gcm_check(memcmp(tag, want_tag, sizeof(tag)) == 0);

    /* Open: the plaintext back. */
    src = want;
    if (in_place) {
        memcpy(out, want, len);
        src = out;
    }
    fuzz_gcm_check(col_gcm_ni_open(&nk, iv, aad, aad_len, src, len, out, want_tag) ==
                   COL_GCM_NI_OPENED);
    fuzz_gcm_check(memcmp(out, in, len) == 0);

    /* One changed byte of ciphertext || tag || AAD: refused, output wiped, like mbedTLS. */
    size_t pos = pick % (len + COL_GCM_NI_TAG_LEN + aad_len);
    if (pos < len) {
        want[pos] ^= mask;
    } else if (pos < len + COL_GCM_NI_TAG_LEN) {
        want_tag[pos - len] ^= mask;
    } else {
        aad[pos - len - COL_GCM_NI_TAG_LEN] ^= mask;
    }
    memset(out, 0xa5, len);
    src = want;
    if (in_place) {
        memcpy(out, want, len);
        src = out;
    }
    fuzz_gcm_check(col_gcm_ni_open(&nk, iv, aad, aad_len, src, len, out, want_tag) ==
                   COL_GCM_NI_FORGED);
    fuzz_gcm_check(fuzz_gcm_all_zero(out, len));
    fuzz_gcm_check(mbedtls_gcm_auth_decrypt(&gcm, len, iv, COL_GCM_NI_IV_LEN, aad, aad_len,
                                            want_tag, COL_GCM_NI_TAG_LEN, want,
                                            out) == MBEDTLS_ERR_GCM_AUTH_FAILED);

    mbedtls_aes_free(&aes);
    mbedtls_gcm_free(&gcm);
    proto_free(out);
    proto_free(want);
    proto_free(in);
    proto_free(aad);
    return 0;
}
