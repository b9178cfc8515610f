/*
 * text: turns the bytes of a captured text file into UTF-8 with LF line ends.
 *
 * Windows tools write three encodings we meet: UTF-16LE with a BOM (PowerShell `>`), UTF-8 (with
 * or without BOM), and the console OEM code page (cmd `>` redirection of netsh/reg: 437 or 850).
 * Bytes that are valid UTF-8 are taken as UTF-8; anything else is decoded with the OEM code page
 * the capture recorded. Never fails on odd bytes; fails only past the size cap or on an odd-length
 * or unpaired-surrogate UTF-16 input (PROTO_EENCODING).
 */
#ifndef PROTO_TEXT_H
#define PROTO_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rc.h"

#define PROTO_CODEPAGE_DEFAULT_OEM 437u

/*
 * Decodes `len` bytes. `oem_codepage` is 437 or 850 (others fall back to 437). On success
 * *out is a NUL-terminated UTF-8 string with CRLF and lone CR turned into LF (caller frees with
 * proto_free), *out_len its length, and *encoding_out (may be NULL) a borrowed static name:
 * "utf-8", "utf-16le", "cp437" or "cp850". PROTO_ELIMIT past PROTO_MAX_TEXT_FILE_BYTES.
 */
enum proto_rc proto_text_decode(const unsigned char *bytes, size_t len, unsigned oem_codepage,
                                char **out, size_t *out_len, const char **encoding_out);

/* Length (1..4) of the well-formed UTF-8 sequence at s[0..len) with its code point in *cp (may
 * be NULL), or 0 when the bytes there are not one: overlong, surrogate, past U+10FFFF or
 * truncated. Reads no byte after the first one that breaks the sequence, so on a
 * NUL-terminated string len may be 4. C1 controls are well-formed; callers that refuse them
 * look at *cp. The one UTF-8 validator of the project. */
size_t proto_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);

/*
 * The inverse of proto_text_decode, for writers of captured text (the simulated host rewrites
 * a bundle's files exactly as the tool would print them): UTF-8 text with LF line ends into
 * `encoding` ("utf-8", "utf-16le" (written with its BOM), "cp437" or "cp850"; NULL means
 * "utf-8"), each LF as CRLF when `crlf`. A code point the OEM page has no byte for becomes '?'
 * (as the console does). *out is caller-freed with proto_free. PROTO_EENCODING when text is
 * not UTF-8, PROTO_EINVAL for an unknown encoding, PROTO_ELIMIT past PROTO_MAX_TEXT_FILE_BYTES
 * of output.
 */
enum proto_rc proto_text_encode(const char *text, size_t len, const char *encoding, bool crlf,
                                unsigned char **out, size_t *out_len);

/* Line iterator over decoded text: returns the next line (without the LF) as a borrowed
 * pointer + length, or NULL at the end. *pos starts at 0. */
const char *proto_text_next_line(const char *text, size_t len, size_t *pos, size_t *line_len);

#endif
