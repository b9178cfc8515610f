/*
 * text: decodes captured text files (UTF-16LE+BOM, UTF-8, OEM cp437/cp850) into UTF-8 with LF.
 *
 * Owns the two OEM code page tables and the UTF-8 validator. Decisions: a UTF-8 BOM is
 * stripped and the rest is tested as UTF-8 (falling back to the OEM page); UTF-8 that holds a
 * C1 control (U+0080..U+009F) is taken as OEM bytes, because that is what mis-labelled console
 * output looks like; U+0000 is dropped in every encoding so the result is a clean C string (and
 * BOM-less UTF-16LE ASCII comes out readable). Never interprets the text beyond line ends.
 */
#include "text.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "caps.h"

/* Code points of bytes 0x80..0xFF, written from the IBM code page 437 definition. */
static const uint16_t text_cp437[128] = {
    0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x00E0, 0x00E5, 0x00E7, /* 80 */
    0x00EA, 0x00EB, 0x00E8, 0x00EF, 0x00EE, 0x00EC, 0x00C4, 0x00C5, /* 88 */
    0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2, 0x00FB, 0x00F9, /* 90 */
    0x00FF, 0x00D6, 0x00DC, 0x00A2, 0x00A3, 0x00A5, 0x20A7, 0x0192, /* 98 */
    0x00E1, 0x00ED, 0x00F3, 0x00FA, 0x00F1, 0x00D1, 0x00AA, 0x00BA, /* A0 */
    0x00BF, 0x2310, 0x00AC, 0x00BD, 0x00BC, 0x00A1, 0x00AB, 0x00BB, /* A8 */
    0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556, /* B0 */
    0x2555, 0x2563, 0x2551, 0x2557, 0x255D, 0x255C, 0x255B, 0x2510, /* B8 */
    0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x255E, 0x255F, /* C0 */
    0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x2567, /* C8 */
    0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256B, /* D0 */
    0x256A, 0x2518, 0x250C, 0x2588, 0x2584, 0x258C, 0x2590, 0x2580, /* D8 */
    0x03B1, 0x00DF, 0x0393, 0x03C0, 0x03A3, 0x03C3, 0x00B5, 0x03C4, /* E0 */
    0x03A6, 0x0398, 0x03A9, 0x03B4, 0x221E, 0x03C6, 0x03B5, 0x2229, /* E8 */
    0x2261, 0x00B1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00F7, 0x2248, /* F0 */
    0x00B0, 0x2219, 0x00B7, 0x221A, 0x207F, 0x00B2, 0x25A0, 0x00A0, /* F8 */
};

/* Code points of bytes 0x80..0xFF, written from the IBM code page 850 (Latin-1 DOS) definition. */
static const uint16_t text_cp850[128] = {
    0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x00E0, 0x00E5, 0x00E7, /* 80 */
    0x00EA, 0x00EB, 0x00E8, 0x00EF, 0x00EE, 0x00EC, 0x00C4, 0x00C5, /* 88 */
    0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2, 0x00FB, 0x00F9, /* 90 */
    0x00FF, 0x00D6, 0x00DC, 0x00F8, 0x00A3, 0x00D8, 0x00D7, 0x0192, /* 98 */
    0x00E1, 0x00ED, 0x00F3, 0x00FA, 0x00F1, 0x00D1, 0x00AA, 0x00BA, /* A0 */
    0x00BF, 0x00AE, 0x00AC, 0x00BD, 0x00BC, 0x00A1, 0x00AB, 0x00BB, /* A8 */
    0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x00C1, 0x00C2, 0x00C0, /* B0 */
    0x00A9, 0x2563, 0x2551, 0x2557, 0x255D, 0x00A2, 0x00A5, 0x2510, /* B8 */
    0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x00E3, 0x00C3, /* C0 */
    0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x00A4, /* C8 */
    0x00F0, 0x00D0, 0x00CA, 0x00CB, 0x00C8, 0x0131, 0x00CD, 0x00CE, /* D0 */
    0x00CF, 0x2518, 0x250C, 0x2588, 0x2584, 0x00A6, 0x00CC, 0x2580, /* D8 */
    0x00D3, 0x00DF, 0x00D4, 0x00D2, 0x00F5, 0x00D5, 0x00B5, 0x00FE, /* E0 */
    0x00DE, 0x00DA, 0x00DB, 0x00D9, 0x00FD, 0x00DD, 0x00AF, 0x00B4, /* E8 */
    0x00AD, 0x00B1, 0x2017, 0x00BE, 0x00B6, 0x00A7, 0x00F7, 0x00B8, /* F0 */
    0x00B0, 0x00A8, 0x00B7, 0x00B9, 0x00B3, 0x00B2, 0x25A0, 0x00A0, /* F8 */
};

/* Output state: the buffer plus whether the previous code point was a CR, so CRLF and lone
 * CR both become one LF whatever encoding the code points came from. */
struct text_out {
    struct proto_buf buf;
    bool prev_cr;
};

static enum proto_rc text_emit(struct text_out *o, uint32_t cp)
{
    unsigned char u[4];
    size_t n;

    if (cp == 0) {
        return PROTO_OK; /* dropped; does not break a CR..LF pair either */
    }
    if (cp == '\r') {
        o->prev_cr = true;
        return proto_buf_append_byte(&o->buf, '\n');
    }
    if (cp == '\n' && o->prev_cr) {
        o->prev_cr = false;
        return PROTO_OK;
    }
    o->prev_cr = false;
    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xC0 | (cp >> 6));
        u[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xE0 | (cp >> 12));
        u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (unsigned char)(0xF0 | (cp >> 18));
        u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return proto_buf_append(&o->buf, u, n);
}

size_t proto_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t need;
    uint32_t v, min;

    if (len == 0) {
        return 0;
    }
    if (c < 0x80) {
        if (cp != NULL) {
            *cp = c;
        }
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
        v = c & 0x1Fu;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        v = c & 0x0Fu;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        v = c & 0x07u;
        min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < need; i++) {
        if (i >= len || (s[i] & 0xC0) != 0x80) {
            return 0;
        }
        v = (v << 6) | (s[i] & 0x3Fu);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        return 0;
    }
    if (cp != NULL) {
        *cp = v;
    }
    return need;
}

/* A sequence as proto_utf8_decode reads it, but C1 controls (U+0080..U+009F) do not count:
 * in a capture they mean the bytes were an OEM code page, not UTF-8. */
static size_t text_utf8_seq(const unsigned char *s, size_t len, uint32_t *cp)
{
    size_t n = proto_utf8_decode(s, len, cp);
    return n > 0 && *cp >= 0x80 && *cp <= 0x9F ? 0 : n;
}

static bool text_is_utf8(const unsigned char *s, size_t len)
{
    size_t i = 0;
    uint32_t cp;

    while (i < len) {
        if (s[i] < 0x80) { /* the common case, without a call */
            i++;
            continue;
        }
        size_t n = text_utf8_seq(s + i, len - i, &cp);
        if (n == 0) {
            return false;
        }
        i += n;
    }
    return true;
}

static enum proto_rc text_decode_utf8(struct text_out *o, const unsigned char *s, size_t len)
{
    enum proto_rc result = PROTO_OK;
    size_t i = 0;

    /* Already validated by text_is_utf8, so runs without CR or NUL are copied as they are;
     * only CR, NUL and the LF of a CR LF pair go through text_emit. */
    while (i < len && result == PROTO_OK) {
        size_t start = i;
        if (!(s[i] == '\n' && o->prev_cr)) {
            while (i < len && s[i] != '\r' && s[i] != '\0') {
                i++;
            }
        }
        if (i > start) {
            o->prev_cr = false;
            result = proto_buf_append(&o->buf, s + start, i - start);
        } else {
            result = text_emit(o, s[i]);
            i++;
        }
    }
    return result;
}

static enum proto_rc text_decode_oem(struct text_out *o, const unsigned char *s, size_t len,
                                     const uint16_t *table)
{
    enum proto_rc result = PROTO_OK;

    for (size_t i = 0; i < len && result == PROTO_OK; i++) {
        uint32_t cp = s[i] < 0x80 ? s[i] : table[s[i] - 0x80];
        result = text_emit(o, cp);
    }
    return result;
}

static enum proto_rc text_decode_utf16le(struct text_out *o, const unsigned char *s, size_t len)
{
    enum proto_rc result = PROTO_OK;
    size_t i = 0;

    if (len % 2 != 0) {
        return PROTO_EENCODING;
    }
    while (i < len && result == PROTO_OK) {
        uint32_t unit = (uint32_t)s[i] | ((uint32_t)s[i + 1] << 8);
        uint32_t cp = unit;
        i += 2;
        if (unit >= 0xDC00 && unit <= 0xDFFF) {
            return PROTO_EENCODING; /* low surrogate without a high one */
        }
        if (unit >= 0xD800 && unit <= 0xDBFF) {
            if (i >= len) {
                return PROTO_EENCODING;
            }
            uint32_t low = (uint32_t)s[i] | ((uint32_t)s[i + 1] << 8);
            if (low < 0xDC00 || low > 0xDFFF) {
                return PROTO_EENCODING;
            }
            i += 2;
            cp = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
        }
        result = text_emit(o, cp);
    }
    return result;
}

enum proto_rc proto_text_decode(const unsigned char *bytes, size_t len, unsigned oem_codepage,
                                char **out, size_t *out_len, const char **encoding_out)
{
    enum proto_rc result = PROTO_OK;
    struct text_out o;
    const char *encoding = NULL;
    char *text = NULL;
    size_t text_len = 0;

    if (out == NULL || out_len == NULL || (bytes == NULL && len > 0)) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    *out_len = 0;
    if (len > PROTO_MAX_TEXT_FILE_BYTES) {
        return PROTO_ELIMIT;
    }
    /* Worst case growth is 3 output bytes per input byte (cp437 box drawing). */
    proto_buf_init(&o.buf, 3u * PROTO_MAX_TEXT_FILE_BYTES);
    o.prev_cr = false;

    if (len >= 2 && bytes[0] == 0xFF && bytes[1] == 0xFE) {
        encoding = "utf-16le";
        result = text_decode_utf16le(&o, bytes + 2, len - 2);
    } else {
        const unsigned char *body = bytes;
        size_t body_len = len;
        if (len >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF) {
            body += 3;
            body_len -= 3;
        }
        if (text_is_utf8(body, body_len)) {
            encoding = "utf-8";
            result = text_decode_utf8(&o, body, body_len);
        } else if (oem_codepage == 850u) {
            encoding = "cp850";
            result = text_decode_oem(&o, body, body_len, text_cp850);
        } else {
            encoding = "cp437";
            result = text_decode_oem(&o, body, body_len, text_cp437);
        }
    }
    if (result) {
        goto out;
    }
    text = proto_buf_detach(&o.buf, &text_len);
    if (text == NULL) {
        result = PROTO_ENOMEM;
        goto out;
    }
    *out = text;
    *out_len = text_len;
    if (encoding_out != NULL) {
        *encoding_out = encoding;
    }
out:
    proto_buf_free(&o.buf);
    return result;
}

/* The byte of `table` (0x80..0xFF) for code point cp, or '?'. */
static unsigned char text_oem_byte(const uint16_t *table, uint32_t cp)
{
    for (size_t i = 0; i < 128; i++) {
        if (table[i] == cp) {
            return (unsigned char)(0x80 + i);
        }
    }
    return '?';
}

static enum proto_rc text_encode_cp(struct proto_buf *b, const char *encoding,
                                    const uint16_t *table, uint32_t cp)
{
    if (strcmp(encoding, "utf-16le") == 0) {
        unsigned char u[4];
        if (cp >= 0x10000) {
            uint32_t v = cp - 0x10000;
            uint32_t hi = 0xD800 + (v >> 10), lo = 0xDC00 + (v & 0x3FF);
            u[0] = (unsigned char)(hi & 0xFF);
            u[1] = (unsigned char)(hi >> 8);
            u[2] = (unsigned char)(lo & 0xFF);
            u[3] = (unsigned char)(lo >> 8);
            return proto_buf_append(b, u, 4);
        }
        u[0] = (unsigned char)(cp & 0xFF);
        u[1] = (unsigned char)(cp >> 8);
        return proto_buf_append(b, u, 2);
    }
    return proto_buf_append_byte(b, cp < 0x80 ? (unsigned char)cp : text_oem_byte(table, cp));
}

enum proto_rc proto_text_encode(const char *text, size_t len, const char *encoding, bool crlf,
                                unsigned char **out, size_t *out_len)
{
    enum proto_rc result = PROTO_OK;
    struct proto_buf b;
    const uint16_t *table = NULL;
    const unsigned char *s = (const unsigned char *)text;

    if (out == NULL || out_len == NULL || (text == NULL && len > 0)) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    *out_len = 0;
    if (encoding == NULL) {
        encoding = "utf-8";
    }
    if (strcmp(encoding, "cp437") == 0) {
        table = text_cp437;
    } else if (strcmp(encoding, "cp850") == 0) {
        table = text_cp850;
    } else if (strcmp(encoding, "utf-8") != 0 && strcmp(encoding, "utf-16le") != 0) {
        return PROTO_EINVAL;
    }
    bool utf8 = strcmp(encoding, "utf-8") == 0;
    proto_buf_init(&b, PROTO_MAX_TEXT_FILE_BYTES);
    if (strcmp(encoding, "utf-16le") == 0) {
        result = proto_buf_append(&b, "\xFF\xFE", 2);
    }
    for (size_t i = 0; i < len && result == PROTO_OK;) {
        uint32_t cp = 0;
        size_t n = proto_utf8_decode(s + i, len - i, &cp);
        if (n == 0) {
            result = PROTO_EENCODING;
            break;
        }
        if (cp == '\n' && crlf) {
            result =
                utf8 ? proto_buf_append_byte(&b, '\r') : text_encode_cp(&b, encoding, table, '\r');
            if (result) {
                break;
            }
        }
        result = utf8 ? proto_buf_append(&b, s + i, n) : text_encode_cp(&b, encoding, table, cp);
        i += n;
    }
    if (result == PROTO_OK) {
        *out = (unsigned char *)proto_buf_detach(&b, out_len);
        result = *out == NULL ? PROTO_ENOMEM : PROTO_OK;
    }
    proto_buf_free(&b);
    return result;
}

const char *proto_text_next_line(const char *text, size_t len, size_t *pos, size_t *line_len)
{
    if (text == NULL || pos == NULL || line_len == NULL || *pos >= len) {
        return NULL;
    }
    const char *line = text + *pos;
    size_t rest = len - *pos;
    const char *lf = memchr(line, '\n', rest);
    if (lf == NULL) {
        *line_len = rest;
        *pos = len;
    } else {
        *line_len = (size_t)(lf - line);
        *pos += *line_len + 1;
    }
    return line;
}
