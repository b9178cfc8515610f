/*
 * gcm_speed: the collector's AES-GCM (collector/gcm_ni.c, decision 006) against mbedTLS 2.28's
 * GCM, sealing messages of TLS-record sizes with AES-128, both in this one run: µs per message,
 * MB/s and the ratio. Run by hand after a build:
 *   build/tests/gcm_speed [milliseconds per measurement, default 400]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/aes.h>
#include <mbedtls/gcm.h>

#include "bench_common.h"
#include "gcm_ni.h"

static double gcm_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds per message: runs `fn` in rounds of 64 until `budget` seconds have passed. */
static double gcm_time(int (*fn)(void *arg, size_t len), void *arg, size_t len, double budget)
{
    unsigned long n = 0;
    double start = gcm_now();
    double elapsed = 0;
    do {
        for (int k = 0; k < 64; k++) {
            if (fn(arg, len) != 0) {
                fprintf(stderr, "gcm_speed: a seal failed\n");
                exit(1);
            }
        }
        n += 64;
        elapsed = gcm_now() - start;
    } while (elapsed < budget);
    return elapsed / (double)n;
}

struct gcm_job {
    mbedtls_gcm_context gcm;
    struct col_gcm_ni_key key;
    unsigned char iv[COL_GCM_NI_IV_LEN];
    unsigned char aad[13];
    unsigned char *in;
    unsigned char *out;
    unsigned char tag[COL_GCM_NI_TAG_LEN];
};

static int gcm_seal_mbedtls(void *arg, size_t len)
{
    struct gcm_job *j = arg;
    return mbedtls_gcm_crypt_and_tag(&j->gcm, MBEDTLS_GCM_ENCRYPT, len, j->iv, sizeof(j->iv),
                                     j->aad, sizeof(j->aad), j->in, j->out, sizeof(j->tag), j->tag);
}

static int gcm_seal_ni(void *arg, size_t len)
{
    struct gcm_job *j = arg;
    return col_gcm_ni_seal(&j->key, j->iv, j->aad, sizeof(j->aad), j->in, len, j->out, j->tag) ? 0
                                                                                               : 1;
}

int main(int argc, char **argv)
{
    double budget = (argc > 1 ? strtod(argv[1], NULL) : 400.0) / 1000.0;
    static const size_t sizes[] = {300, 9700, 16384};
    static const unsigned char key_bytes[16] = {1, 2,  3,  4,  5,  6,  7,  8,
                                                9, 10, 11, 12, 13, 14, 15, 16};
    struct gcm_job j;
    mbedtls_aes_context aes;

    if (!col_gcm_ni_supported()) {
        printf("gcm_speed: this CPU has no AES-NI/PCLMULQDQ: nothing to compare\n");
        return 0;
    }
    memset(&j, 0, sizeof(j));
    j.in = calloc(1, 16384);
    j.out = calloc(1, 16384);
    if (j.in == NULL || j.out == NULL) {
        return 1;
    }
    for (size_t i = 0; i < 16384; i++) {
        j.in[i] = (unsigned char)(i * 13u);
    }
    mbedtls_gcm_init(&j.gcm);
    mbedtls_aes_init(&aes);
    if (mbedtls_gcm_setkey(&j.gcm, MBEDTLS_CIPHER_ID_AES, key_bytes, 128) != 0 ||
        mbedtls_aes_setkey_enc(&aes, key_bytes, 128) != 0) {
        return 1;
    }
    j.key.round_keys = (const unsigned char *)aes.rk;
    j.key.rounds = aes.nr;

    printf("AES-128-GCM seal, one message at a time (%.0f ms per figure)\n", budget * 1000);
    printf("%8s %12s %12s %12s %12s %8s\n", "bytes", "mbedTLS us", "mbedTLS MB/s", "gcm_ni us",
           "gcm_ni MB/s", "ratio");
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        double base = gcm_time(gcm_seal_mbedtls, &j, sizes[k], budget);
        double ni = gcm_time(gcm_seal_ni, &j, sizes[k], budget);
        printf("%8zu %12.2f %12.0f %12.2f %12.0f %7.1fx\n", sizes[k], base * 1e6,
               (double)sizes[k] / base / 1e6, ni * 1e6, (double)sizes[k] / ni / 1e6, base / ni);
    }
    mbedtls_aes_free(&aes);
    mbedtls_gcm_free(&j.gcm);
    free(j.in);
    free(j.out);
    return 0;
}
