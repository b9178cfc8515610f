/*
 * sha256: one-shot SHA-256 (FIPS 180-4) for content hashing, fast where the CPU allows.
 *
 * On x86-64 CPUs with the SHA extensions (plus SSSE3 and SSE4.1) the 64-byte block compression
 * runs on SHA-NI instructions, chosen at run time; everywhere else (other CPUs, other
 * architectures, compilers without target attributes) it is mbedtls_sha256_ret. Both give the
 * standard digest, bit for bit: callers use it as a content address and a cache key. Owns no
 * memory and never allocates; the CPU check is cached in one atomic int. It must never be
 * used where constant-time behaviour matters beyond what SHA-256 itself gives (no keys, no
 * MACs built on it here), and never return anything but the real SHA-256.
 */
#ifndef PROTO_SHA256_H
#define PROTO_SHA256_H

#include <stdbool.h>
#include <stddef.h>

#define PROTO_SHA256_DIGEST_LEN 32

/*
 * SHA-256 of data[0..len) into digest. data is borrowed, may be unaligned, and may be NULL when
 * len is 0. No cap: linear time, constant stack; callers cap their inputs (the body limits).
 */
void proto_sha256(const void *data, size_t len, unsigned char digest[PROTO_SHA256_DIGEST_LEN]);

/* True when proto_sha256 uses the SHA-NI path on this CPU and in this build. */
bool proto_sha256_accelerated(void);

/*
 * Test hook: the same digest always computed by the fallback (mbedtls_sha256_ret), so tests
 * and the fuzz target can compare both paths on a machine where the fast one is taken.
 */
void proto_sha256_portable(const void *data, size_t len,
                           unsigned char digest[PROTO_SHA256_DIGEST_LEN]);

#endif
