/*
 * json_text: the little JSON the store writes into its own rows (a finding's certificate and
 * rule lists, an audit detail), built as text without a JSON library.
 *
 * Strings are escaped exactly as the rows written by earlier versions were ('"', '\\', \b \f \n
 * \r \t, other controls as \u00xx, everything else byte for byte), so old and new rows compare
 * equal.
 * Owns nothing: it appends to the caller's buffer, whose max bounds the output. Never parses.
 */
#ifndef COL_STORE_JSON_TEXT_INT_H
#define COL_STORE_JSON_TEXT_INT_H

#include <stddef.h>

#include "buf.h"
#include "rc.h"

/* Appends `s` as a quoted JSON string. */
enum proto_rc col_store_json_string(struct proto_buf *b, const char *s);

/* A JSON array of the `count` strings (NULL items are written as ""). Caller frees *out with
 * proto_free. */
enum proto_rc col_store_json_string_array(const char *const *items, size_t count, char **out);

#endif
