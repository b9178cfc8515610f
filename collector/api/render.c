/*
 * render: a col_table as the API's JSON list document or as RFC 4180 CSV.
 *
 * Writes by hand rather than through cJSON so that integers keep every digit (cJSON holds
 * numbers as doubles) and large result sets need no second tree. Each cell is judged against
 * its column type; a cell that does not fit is written as text rather than refused, because the
 * text came from the database and a list must always render. Owns nothing.
 */
#include "render.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "timefmt.h"
#include "x509.h"

#define RENDER_TIME_TEXT 32u /* "YYYY-MM-DDTHH:MM:SSZ" and then some */

/* "-?[0-9]+" without leading zeros and of a length an int64 can hold: text that can be written
 * as a JSON number unchanged. */
static bool render_is_integer(const char *s)
{
    const char *p = s[0] == '-' ? s + 1 : s;
    size_t n = strlen(p);
    if (n == 0 || n > 19 || (n > 1 && p[0] == '0')) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return false;
        }
    }
    return true;
}

/* Unix seconds (decimal text) as RFC 3339; false when the text is not a representable time. */
static bool render_time(const char *s, char out[RENDER_TIME_TEXT])
{
    if (!render_is_integer(s)) {
        return false;
    }
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        return false;
    }
    return proto_time_format_rfc3339((int64_t)v, out, RENDER_TIME_TEXT) == PROTO_OK;
}

static enum proto_rc render_json_string(struct proto_buf *out, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    enum proto_rc result = proto_buf_append_byte(out, '"');
    const unsigned char *p = (const unsigned char *)s;
    while (result == PROTO_OK && *p != '\0') {
        unsigned char c = *p;
        if (c >= 0x80) {
            size_t n = proto_utf8_decode(p, 4, NULL);
            if (n == 0) {
                result = proto_buf_append_str(out, "\\ufffd");
                p++;
            } else {
                result = proto_buf_append(out, p, n);
                p += n;
            }
            continue;
        }
        p++;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            result = proto_buf_append(out, esc, 2);
        } else if (c == '\n') {
            result = proto_buf_append_str(out, "\\n");
        } else if (c == '\r') {
            result = proto_buf_append_str(out, "\\r");
        } else if (c == '\t') {
            result = proto_buf_append_str(out, "\\t");
        } else if (c < 0x20 || c == 0x7f || c == '<' || c == '>' || c == '&') {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0x0f]};
            result = proto_buf_append(out, esc, sizeof(esc));
        } else {
            result = proto_buf_append_byte(out, c);
        }
    }
    if (result == PROTO_OK) {
        result = proto_buf_append_byte(out, '"');
    }
    return result;
}

static enum proto_rc render_json_cell(struct proto_buf *out, enum col_cell_type type,
                                      const char *cell)
{
    char when[RENDER_TIME_TEXT];
    if (cell == NULL) {
        return proto_buf_append_str(out, "null");
    }
    switch (type) {
    case COL_CELL_TEXT:
        break;
    case COL_CELL_INT:
        if (render_is_integer(cell)) {
            return proto_buf_append_str(out, cell);
        }
        break;
    case COL_CELL_BOOL:
        if (render_is_integer(cell)) {
            return proto_buf_append_str(out, strcmp(cell, "0") == 0 ? "false" : "true");
        }
        break;
    case COL_CELL_TIME:
        if (render_time(cell, when)) {
            return render_json_string(out, when);
        }
        break;
    }
    return render_json_string(out, cell);
}

enum proto_rc col_table_render_json(const struct col_table *t, size_t limit, size_t offset,
                                    struct proto_buf *out)
{
    if (t == NULL || out == NULL || (t->nrows > 0 && (t->cells == NULL || t->columns == NULL))) {
        return PROTO_EINVAL;
    }
    enum proto_rc result = proto_buf_append_str(out, "{\"items\":[");
    for (size_t r = 0; result == PROTO_OK && r < t->nrows; r++) {
        result = proto_buf_append_str(out, r == 0 ? "{" : ",{");
        for (size_t c = 0; result == PROTO_OK && c < t->ncols; c++) {
            if (c > 0) {
                result = proto_buf_append_byte(out, ',');
            }
            if (result == PROTO_OK) {
                result = render_json_string(out, t->columns[c].name);
            }
            if (result == PROTO_OK) {
                result = proto_buf_append_byte(out, ':');
            }
            if (result == PROTO_OK) {
                result = render_json_cell(out, t->columns[c].type, t->cells[r * t->ncols + c]);
            }
        }
        if (result == PROTO_OK) {
            result = proto_buf_append_byte(out, '}');
        }
    }
    if (result == PROTO_OK) {
        result = proto_buf_appendf(out, "],\"total\":%zu,\"limit\":%zu,\"offset\":%zu}", t->total,
                                   limit, offset);
    }
    return result;
}

/* Bytes that make a field quoted: RFC 4180's comma, quote, CR and LF, and the list separators
 * of other locales, ';' (Excel where the decimal mark is a comma) and tab (pasted or .txt
 * exports), so that no spreadsheet splits a field into cells. */
#define RENDER_CSV_QUOTE_CHARS ",;\t\"\r\n"

/* One CSV field: guarded if `guard` and it could start a formula, quoted if it must be. */
static enum proto_rc render_csv_field(struct proto_buf *out, const char *s, bool guard)
{
    bool formula = guard && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' ||
                             s[0] == '\t' || s[0] == '\r');
    bool quote = strpbrk(s, RENDER_CSV_QUOTE_CHARS) != NULL;
    enum proto_rc result = PROTO_OK;
    if (quote) {
        result = proto_buf_append_byte(out, '"');
    }
    if (result == PROTO_OK && formula) {
        result = proto_buf_append_byte(out, '\'');
    }
    for (const char *p = s; result == PROTO_OK && *p != '\0'; p++) {
        if (*p == '"') {
            result = proto_buf_append_byte(out, '"');
        }
        if (result == PROTO_OK) {
            result = proto_buf_append_byte(out, (unsigned char)*p);
        }
    }
    if (result == PROTO_OK && quote) {
        result = proto_buf_append_byte(out, '"');
    }
    return result;
}

static enum proto_rc render_csv_cell(struct proto_buf *out, enum col_cell_type type,
                                     const char *cell)
{
    char when[RENDER_TIME_TEXT];
    if (cell == NULL) {
        return PROTO_OK;
    }
    switch (type) {
    case COL_CELL_TEXT:
        break;
    case COL_CELL_INT:
        if (render_is_integer(cell)) {
            return proto_buf_append_str(out, cell);
        }
        break;
    case COL_CELL_BOOL:
        if (render_is_integer(cell)) {
            return proto_buf_append_str(out, strcmp(cell, "0") == 0 ? "false" : "true");
        }
        break;
    case COL_CELL_TIME:
        if (render_time(cell, when)) {
            return proto_buf_append_str(out, when);
        }
        break;
    }
    return render_csv_field(out, cell, true);
}

enum proto_rc col_table_render_csv(const struct col_table *t, struct proto_buf *out)
{
    if (t == NULL || out == NULL || (t->ncols > 0 && t->columns == NULL) ||
        (t->nrows > 0 && t->cells == NULL)) {
        return PROTO_EINVAL;
    }
    enum proto_rc result = PROTO_OK;
    for (size_t c = 0; result == PROTO_OK && c < t->ncols; c++) {
        if (c > 0) {
            result = proto_buf_append_byte(out, ',');
        }
        if (result == PROTO_OK) {
            result = render_csv_field(out, t->columns[c].name, true);
        }
    }
    if (result == PROTO_OK) {
        result = proto_buf_append_str(out, "\r\n");
    }
    for (size_t r = 0; result == PROTO_OK && r < t->nrows; r++) {
        for (size_t c = 0; result == PROTO_OK && c < t->ncols; c++) {
            if (c > 0) {
                result = proto_buf_append_byte(out, ',');
            }
            if (result == PROTO_OK) {
                result = render_csv_cell(out, t->columns[c].type, t->cells[r * t->ncols + c]);
            }
        }
        if (result == PROTO_OK) {
            result = proto_buf_append_str(out, "\r\n");
        }
    }
    return result;
}
