/*
 * fuzz_sha256: proto_sha256 (the SHA-NI path on CPUs that have it) against mbedtls_sha256_ret
 * and against proto_sha256_portable, on the whole input and on the input one byte in (an
 * unaligned pointer and a different length); abort() on any mismatch. Hashing reads only, so
 * ASan sees any read outside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha256.h>

#include "sha256.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_sha256_check(const uint8_t *data, size_t size)
{
    unsigned char want[32];
    unsigned char got[32];

    if (mbedtls_sha256_ret(data, size, want, 0) != 0) {
        abort();
    }
    proto_sha256(data, size, got);
    if (memcmp(got, want, sizeof(want)) != 0) {
        abort();
    }
    proto_sha256_portable(data, size, got);
    if (memcmp(got, want, sizeof(want)) != 0) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_sha256_check(data, size);
    if (size > 0) {
        fuzz_sha256_check(data + 1, size - 1);
    }
    return 0;
}
