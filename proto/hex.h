/*
 * hex: bytes to hexadecimal text and back, for thumbprints, content hashes and token ids.
 *
 * One place for what several modules did by hand. Never allocates: the caller gives room for
 * 2 * len digits and a NUL.
 */
#ifndef PROTO_HEX_H
#define PROTO_HEX_H

#include <stdbool.h>
#include <stddef.h>

/* Writes 2 * len digits and a NUL to out: lower-case, or upper-case when `upper`. */
void proto_hex_encode(const void *bytes, size_t len, bool upper, char *out);

/* Reads exactly 2 * len lower-case digits of `text` into out; false (out undefined) when
 * `text` is shorter or holds anything else. Upper-case is refused: keys must have one spelling. */
bool proto_hex_decode_lower(const char *text, unsigned char *out, size_t len);

#endif
