/*
 * fuzz_base64: proto_base64 against the check proto/json.c dec_der made before it existed (its
 * own alphabet and padding scan, then mbedtls_base64_decode). Both must accept and refuse the
 * same inputs and produce the same bytes, and the size reported before decoding must be the
 * size decoded; abort() if not. The output buffer is exactly that size, so ASan sees any
 * overrun.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/base64.h>

#include "alloc.h"
#include "base64.h"
#include "caps.h"

#define FUZZ_BASE64_MAX (4u * ((PROTO_MAX_CERT_DER_BYTES + 2u) / 3u)) /* as dec_der caps it */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The old dec_der check, logic unchanged. *out is allocated (caller frees) when accepted. */
static bool fuzz_base64_old(const char *s, size_t len, unsigned char **out, size_t *out_len)
{
    bool ok = len % 4 == 0;
    for (size_t i = 0; ok && i < len; i++) {
        char c = s[i];
        bool pad_ok = c == '=' && i + 2 >= len && (i + 1 == len || s[i + 1] == '=');
        ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
             c == '+' || c == '/' || pad_ok;
    }
    size_t need = 0;
    if (ok && len > 0) {
        int rc = mbedtls_base64_decode(NULL, 0, &need, (const unsigned char *)s, len);
        ok = rc == 0 || rc == MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL;
    }
    *out = NULL;
    *out_len = 0;
    if (!ok || need == 0) {
        return ok;
    }
    *out = proto_malloc(need);
    if (*out == NULL) {
        abort();
    }
    return mbedtls_base64_decode(*out, need, out_len, (const unsigned char *)s, len) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    unsigned char *old_out = NULL;
    unsigned char *new_out = NULL;
    size_t old_len = 0;
    size_t new_len = 0;
    size_t need = 0;

    if (size > FUZZ_BASE64_MAX) {
        return 0;
    }
    bool old_ok = fuzz_base64_old(s, size, &old_out, &old_len);
    enum proto_rc rc = proto_base64_decoded_size(s, size, &need);
    if (rc == PROTO_OK) {
        new_out = need > 0 ? proto_malloc(need) : NULL;
        if (need > 0 && new_out == NULL) {
            abort();
        }
        rc = proto_base64_decode(s, size, new_out, need, &new_len);
    }
    if (old_ok != (rc == PROTO_OK) || proto_base64_validate(s, size) != rc) {
        abort();
    }
    if (old_ok && (new_len != need || new_len != old_len ||
                   (new_len > 0 && memcmp(new_out, old_out, new_len) != 0))) {
        abort();
    }
    proto_free(old_out);
    proto_free(new_out);
    return 0;
}
