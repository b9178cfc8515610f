/*
 * render: turns a query result (struct col_table from store.h) into the API's two list
 * formats, JSON {"items": [...], "total", "limit", "offset"} and CSV (RFC 4180).
 *
 * Cells are typed by their column: TEXT a string, INT a number, BOOL true/false, TIME (Unix
 * seconds as decimal text) an RFC 3339 string, NULL null (empty in CSV). A cell whose text
 * does not fit its type is written as a string, so the output is always well-formed. Owns
 * nothing: it appends to the caller's buffer, whose max bounds the output. Never queries.
 */
#ifndef COL_TABLE_RENDER_H
#define COL_TABLE_RENDER_H

#include <stddef.h>

#include "buf.h"
#include "rc.h"
#include "store.h"

/* Appends the JSON document to `out`. Strings are escaped so that the document is valid
 * UTF-8 JSON (invalid bytes become U+FFFD) and safe to embed in HTML (<, >, & as \u00XX).
 * PROTO_ELIMIT (out->max reached) or PROTO_ENOMEM leave `out` holding a partial document. */
enum proto_rc col_table_render_json(const struct col_table *t, size_t limit, size_t offset,
                                    struct proto_buf *out);

/* Appends a header row of column names, then one row per result row; CRLF line ends. A field
 * holding , ; TAB " CR or LF (the separators of every common locale) is quoted with ""
 * doubling. CSV-injection guard: a text cell beginning
 * with = + - @ TAB or CR gets a leading single quote, so spreadsheets do not run it as a
 * formula (numbers, booleans and times are not touched). */
enum proto_rc col_table_render_csv(const struct col_table *t, struct proto_buf *out);

#endif
