/*
 * hex: table-free hexadecimal encoding and strict lower-case decoding (see hex.h).
 */
#include "hex.h"

void proto_hex_encode(const void *bytes, size_t len, bool upper, char *out)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    const unsigned char *b = bytes;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 0x0f];
    }
    out[2 * len] = '\0';
}

static int hex_lower_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

bool proto_hex_decode_lower(const char *text, unsigned char *out, size_t len)
{
    if (text == NULL) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[2 * i] == '\0') {
            return false;
        }
        int hi = hex_lower_value(text[2 * i]);
        int lo = hex_lower_value(text[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return true;
}
