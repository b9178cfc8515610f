/*
 * gcm_ni: one AES-GCM message (NIST SP 800-38D) with a 96-bit IV and a 128-bit tag, sealed or
 * opened with the x86-64 AES-NI and PCLMULQDQ instructions. It exists because mbedTLS 2.28's
 * GCM runs at ~150 MB/s (one 16-byte block per call, byte-wise XOR) and was a quarter of the
 * collector's CPU per report; see tls_gcm.h for how the TLS records reach it.
 * Takes round keys already expanded by mbedTLS (the FIPS-197 5.2 schedule, 16 bytes per
 * round key); never allocates; never returns plaintext whose tag did not match.
 */
#ifndef RRAS_COLLECTOR_GCM_NI_H
#define RRAS_COLLECTOR_GCM_NI_H

#include <stdbool.h>
#include <stddef.h>

#define COL_GCM_NI_IV_LEN 12
#define COL_GCM_NI_TAG_LEN 16
/* Messages and additional data above this are left to mbedTLS (TLS records are <= 16 KiB + 2 KiB);
 * it keeps every length, in bits, far from the 64-bit fields of the length block. */
#define COL_GCM_NI_MAX_LEN ((size_t)1 << 30)

/* The encryption schedule of one AES key: `rounds` + 1 round keys of 16 bytes (borrowed). */
struct col_gcm_ni_key {
    const unsigned char *round_keys;
    int rounds; /* 10, 12 or 14 */
};

/* True when this CPU has AES-NI, PCLMULQDQ, SSSE3 and SSE4.1 (and the build targets x86-64).
 * The functions below must not be called otherwise. */
bool col_gcm_ni_supported(void);

/* Encrypts in[0..len) into out (equal to in or not overlapping it) and writes the tag.
 * False (nothing written) only for lengths above COL_GCM_NI_MAX_LEN or a bad key. */
bool col_gcm_ni_seal(const struct col_gcm_ni_key *key, const unsigned char iv[COL_GCM_NI_IV_LEN],
                     const unsigned char *aad, size_t aad_len, const unsigned char *in, size_t len,
                     unsigned char *out, unsigned char tag[COL_GCM_NI_TAG_LEN]);

enum col_gcm_ni_open_result {
    COL_GCM_NI_OPENED = 0,
    COL_GCM_NI_FORGED,     /* the tag does not match: out[0..len) has been wiped */
    COL_GCM_NI_UNSUITABLE, /* a length above COL_GCM_NI_MAX_LEN or a bad key: nothing written */
};

/* Decrypts in[0..len) into out (equal to in or not overlapping it) and checks the tag in
 * constant time. */
enum col_gcm_ni_open_result col_gcm_ni_open(const struct col_gcm_ni_key *key,
                                            const unsigned char iv[COL_GCM_NI_IV_LEN],
                                            const unsigned char *aad, size_t aad_len,
                                            const unsigned char *in, size_t len, unsigned char *out,
                                            const unsigned char tag[COL_GCM_NI_TAG_LEN]);

#endif
