/*
 * digest: the one entry point for the hashes the project uses (STYLE rule 16): SHA-256 for
 * content addresses, cache keys, token hashes and checksums, SHA-1 only for the certificate
 * thumbprint Windows shows. Every byte is hashed by mbedTLS (on Windows too, by the same
 * library); nothing here implements a primitive. Owns no memory and never allocates.
 */
#ifndef PROTO_DIGEST_H
#define PROTO_DIGEST_H

#include <stddef.h>

#include <mbedtls/sha256.h>

#include "rc.h"

#define PROTO_SHA256_DIGEST_LEN 32u
#define PROTO_SHA1_DIGEST_LEN 20u

/*
 * SHA-256 of data[0..len) into digest. data is borrowed and may be NULL when len is 0.
 * PROTO_ECRYPTO only if mbedTLS fails (its C implementation never does; an accelerator might):
 * digest is then zeroed and must not be used.
 */
enum proto_rc proto_sha256(const void *data, size_t len,
                           unsigned char digest[PROTO_SHA256_DIGEST_LEN]);

/* SHA-1 of data[0..len), for certificate thumbprints only (never for integrity). */
enum proto_rc proto_sha1(const void *data, size_t len, unsigned char digest[PROTO_SHA1_DIGEST_LEN]);

/*
 * Streaming SHA-256 for data that arrives in parts. init, any number of updates, then final,
 * which also frees the context (always call it, even after an error: a failed step is
 * remembered and reported by final). The context lives on the caller's stack.
 */
struct proto_sha256_stream {
    mbedtls_sha256_context ctx;
    int failed;
};
void proto_sha256_init(struct proto_sha256_stream *s);
void proto_sha256_update(struct proto_sha256_stream *s, const void *data, size_t len);
enum proto_rc proto_sha256_final(struct proto_sha256_stream *s,
                                 unsigned char digest[PROTO_SHA256_DIGEST_LEN]);

#endif
