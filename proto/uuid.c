/*
 * uuid: random version-4 UUIDs (RFC 4122 §4.4) for report ids.
 *
 * Owns only the choice of randomness source. Never falls back to a weak generator (rand(),
 * the clock): a report id is an idempotency key, so without real randomness it fails with
 * PROTO_EIO. On Windows the bytes come from mbedTLS's platform entropy source (CryptGenRandom),
 * which keeps windows.h out of proto (STYLE rule 16: the dependency reaches the OS's CSPRNG).
 */
#include "uuid.h"

#include <stdio.h>

#ifdef _WIN32
#include <mbedtls/entropy_poll.h>
#endif

#define UUID_BYTES 16u

/* Fills buf with len bytes from the operating system's CSPRNG. */
static enum proto_rc uuid_random(unsigned char *buf, size_t len)
{
#ifdef _WIN32
    size_t got = 0;
    if (mbedtls_platform_entropy_poll(NULL, buf, len, &got) != 0) {
        return PROTO_EIO;
    }
    return got == len ? PROTO_OK : PROTO_EIO;
#else
    FILE *f = fopen("/dev/urandom", "rb");
    if (f == NULL) {
        return PROTO_EIO;
    }
    size_t got = fread(buf, 1, len, f);
    fclose(f);
    return got == len ? PROTO_OK : PROTO_EIO;
#endif
}

enum proto_rc proto_uuid_v4(char out[37])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[UUID_BYTES];

    out[0] = '\0';
    enum proto_rc result = uuid_random(b, sizeof(b));
    if (result) {
        return result;
    }
    b[6] = (unsigned char)((b[6] & 0x0fu) | 0x40u); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3fu) | 0x80u); /* variant 10xx */
    size_t pos = 0;
    for (size_t i = 0; i < UUID_BYTES; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out[pos++] = '-';
        }
        out[pos++] = hex[b[i] >> 4];
        out[pos++] = hex[b[i] & 0x0fu];
    }
    out[pos] = '\0';
    return PROTO_OK;
}
