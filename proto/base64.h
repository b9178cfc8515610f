/*
 * base64: a strict, table-driven RFC 4648 base64 decoder for the certificate DER in reports.
 *
 * Accepts only the standard alphabet with padding: length a multiple of 4, no whitespace or
 * line breaks, '=' only as the last one or two characters. The decoded size follows from the
 * length and the padding alone, so callers can check it against a cap and allocate once before
 * the single decoding pass. Owns nothing and never allocates. It is not constant-time: it
 * decodes public certificates, never secrets, and must never be used for keys.
 *
 * Non-zero bits left over before the padding ("QR==" has 4 spare bits set) are ACCEPTED and
 * discarded, exactly as mbedTLS 2.28's mbedtls_base64_decode did behind the alphabet check that
 * the report decoder used before this module, so no report changes from accepted to refused or
 * back. tests/unit/proto/test_base64.c and tests/fuzz/fuzz_base64.c check that equivalence.
 */
#ifndef PROTO_BASE64_H
#define PROTO_BASE64_H

#include <stddef.h>

#include "rc.h"

/*
 * Exact decoded size of the `len` characters at src, from the length and the last three
 * characters only (constant time; the rest is checked by proto_base64_decode). PROTO_EPARSE
 * when len is not a multiple of 4 or the padding is malformed ("A===", "AB=C"). "" is valid and
 * decodes to 0 bytes. src is borrowed and need not be NUL-terminated.
 */
enum proto_rc proto_base64_decoded_size(const char *src, size_t len, size_t *size);

/* The whole check of proto_base64_decode without writing anything: PROTO_OK or PROTO_EPARSE. */
enum proto_rc proto_base64_validate(const char *src, size_t len);

/*
 * Decodes src[0..len) into dst, which must hold proto_base64_decoded_size() bytes (else
 * PROTO_EINVAL, nothing written). *out_len receives the decoded size on PROTO_OK only.
 * PROTO_EPARSE on any character outside the alphabet or misplaced '='; dst then holds garbage.
 * dst may be NULL when the decoded size is 0.
 */
enum proto_rc proto_base64_decode(const char *src, size_t len, unsigned char *dst, size_t dst_size,
                                  size_t *out_len);

#endif
