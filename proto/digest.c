/*
 * digest: SHA-256 and SHA-1 through mbedTLS's public API (see digest.h). The only reason this
 * file exists is that callers have one spelling, one error convention and one place to audit.
 */
#include "digest.h"

#include <string.h>

#include <mbedtls/sha1.h>

enum proto_rc proto_sha256(const void *data, size_t len,
                           unsigned char digest[PROTO_SHA256_DIGEST_LEN])
{
    static const unsigned char empty = 0;
    const unsigned char *p = data != NULL ? data : &empty;
    if (mbedtls_sha256_ret(p, data != NULL ? len : 0, digest, 0) != 0) {
        memset(digest, 0, PROTO_SHA256_DIGEST_LEN);
        return PROTO_ECRYPTO;
    }
    return PROTO_OK;
}

enum proto_rc proto_sha1(const void *data, size_t len, unsigned char digest[PROTO_SHA1_DIGEST_LEN])
{
    static const unsigned char empty = 0;
    const unsigned char *p = data != NULL ? data : &empty;
    if (mbedtls_sha1_ret(p, data != NULL ? len : 0, digest) != 0) {
        memset(digest, 0, PROTO_SHA1_DIGEST_LEN);
        return PROTO_ECRYPTO;
    }
    return PROTO_OK;
}

void proto_sha256_init(struct proto_sha256_stream *s)
{
    mbedtls_sha256_init(&s->ctx);
    s->failed = mbedtls_sha256_starts_ret(&s->ctx, 0) != 0;
}

void proto_sha256_update(struct proto_sha256_stream *s, const void *data, size_t len)
{
    if (!s->failed && data != NULL && len > 0) {
        s->failed = mbedtls_sha256_update_ret(&s->ctx, data, len) != 0;
    }
}

enum proto_rc proto_sha256_final(struct proto_sha256_stream *s,
                                 unsigned char digest[PROTO_SHA256_DIGEST_LEN])
{
    if (!s->failed) {
        s->failed = mbedtls_sha256_finish_ret(&s->ctx, digest) != 0;
    }
    mbedtls_sha256_free(&s->ctx);
    if (s->failed) {
        memset(digest, 0, PROTO_SHA256_DIGEST_LEN);
        return PROTO_ECRYPTO;
    }
    return PROTO_OK;
}
