/*
 * regquery: reads `reg query <key> [/s]` text into registry values.
 *
 * Key lines start in column 0 (HKEY_..., or an abbreviation such as HKLM\); each later key line
 * (a subkey) becomes the key of the values under it. A value line is four spaces, the name,
 * then "    REG_<TYPE>" at its first occurrence, then four spaces and the data as printed. The
 * printed data is always kept; DWORD/QWORD/BINARY/MULTI_SZ are also decoded. A value line that
 * does not decode (no key yet, bad hex, DWORD over 32 bits) is skipped and counted into one
 * error entry; the parse still succeeds. An "ERROR:" line fails the parse and discards values.
 * proto_regquery_print writes values back in the same layout (the simulated host's writer).
 */
#include "regquery.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "caps.h"
#include "text.h"

#define REGQUERY_TYPE_MAX 32u
#define REGQUERY_QUOTE_MAX 160u

static const char regquery_not_found[] = "unable to find the specified registry key or value";

struct regquery_parser {
    struct proto_snapshot *snap;
    size_t first_value; /* snap->registry_count on entry, for rollback */
    char *key;          /* current key line, owned */
    bool key_seen;
    bool too_many;
    size_t malformed;
    size_t first_malformed_line;
};

static bool regquery_is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static void regquery_trim(const char **s, size_t *len)
{
    while (*len > 0 && regquery_is_blank((*s)[0])) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && regquery_is_blank((*s)[*len - 1])) {
        (*len)--;
    }
}

static bool regquery_starts_ci(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && strncasecmp(s, prefix, n) == 0;
}

static bool regquery_is_key_line(const char *s, size_t len)
{
    static const char *const roots[] = {"HKEY_", "HKLM\\", "HKCU\\", "HKCR\\", "HKU\\", "HKCC\\"};
    for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
        if (regquery_starts_ci(s, len, roots[i])) {
            return true;
        }
    }
    return false;
}

/* First offset of needle in s[0..len), or len. */
static size_t regquery_find(const char *s, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++) {
        if (memcmp(s + i, needle, n) == 0) {
            return i;
        }
    }
    return len;
}

static int regquery_hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* "0x" followed by 1+ hex digits, value <= max. */
static bool regquery_parse_hex(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (len < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) {
        return false;
    }
    for (size_t i = 2; i < len; i++) {
        int d = regquery_hex_digit(s[i]);
        if (d < 0 || v > (max >> 4)) {
            return false;
        }
        v = (v << 4) | (uint64_t)d;
    }
    if (v > max) {
        return false;
    }
    *out = v;
    return true;
}

/* Decodes the typed members of v from v->data. PROTO_EPARSE when the data does not decode. */
static enum proto_rc regquery_decode(struct proto_reg_value *v, size_t data_len)
{
    enum proto_rc result = PROTO_OK;
    const char *d = v->data;

    switch (v->type) {
    case PROTO_REG_DWORD:
        return regquery_parse_hex(d, data_len, UINT32_MAX, &v->number) ? PROTO_OK : PROTO_EPARSE;
    case PROTO_REG_QWORD:
        return regquery_parse_hex(d, data_len, UINT64_MAX, &v->number) ? PROTO_OK : PROTO_EPARSE;
    case PROTO_REG_BINARY:
        if (data_len % 2 != 0) {
            return PROTO_EPARSE;
        }
        if (data_len == 0) {
            return PROTO_OK;
        }
        v->bytes = proto_malloc(data_len / 2);
        if (v->bytes == NULL) {
            return PROTO_ENOMEM;
        }
        for (size_t i = 0; i < data_len; i += 2) {
            int hi = regquery_hex_digit(d[i]), lo = regquery_hex_digit(d[i + 1]);
            if (hi < 0 || lo < 0) {
                return PROTO_EPARSE;
            }
            v->bytes[i / 2] = (unsigned char)((hi << 4) | lo);
        }
        v->bytes_len = data_len / 2;
        return PROTO_OK;
    case PROTO_REG_MULTI_SZ: {
        size_t start = 0;
        while (data_len > 0 && result == PROTO_OK) {
            size_t sep = regquery_find(d + start, data_len - start, "\\0");
            result = proto_strv_pushn(&v->multi, d + start, sep, PROTO_MAX_LIST_ITEMS);
            if (start + sep == data_len) {
                break;
            }
            start += sep + 2;
        }
        return result == PROTO_ELIMIT ? PROTO_EPARSE : result;
    }
    default:
        return PROTO_OK;
    }
}

/*
 * Builds a value from a line starting with four spaces. Returns PROTO_EPARSE for a line that
 * does not have the value shape or whose data does not decode.
 */
static enum proto_rc regquery_value(struct regquery_parser *p, const char *line, size_t len)
{
    enum proto_rc result = PROTO_OK;
    struct proto_reg_value v;
    struct proto_reg_value *slot = NULL;
    char type[REGQUERY_TYPE_MAX];

    memset(&v, 0, sizeof(v));
    const char *body = line + 4;
    size_t body_len = len - 4;
    size_t sep = regquery_find(body, body_len, "    REG_");
    if (p->key == NULL || sep == 0 || sep == body_len || sep > PROTO_MAX_NAME) {
        result = PROTO_EPARSE;
        goto out;
    }
    const char *type_start = body + sep + 4;
    size_t rest = body_len - sep - 4;
    size_t type_len = regquery_find(type_start, rest, "    ");
    const char *data = type_start + type_len;
    size_t data_len = rest - type_len;
    if (data_len >= 4) {
        data += 4;
        data_len -= 4;
    } else {
        data_len = 0; /* trailing blanks after the type: empty data */
    }
    if (type_len >= sizeof(type) || data_len > PROTO_MAX_REG_DATA) {
        result = PROTO_EPARSE;
        goto out;
    }
    for (size_t i = 0; i < type_len; i++) {
        char c = type_start[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
            result = PROTO_EPARSE;
            goto out;
        }
    }
    memcpy(type, type_start, type_len);
    type[type_len] = '\0';
    v.type = proto_reg_type_from_str(type);
    v.key = proto_strdup(p->key);
    v.name = proto_strndup(body, sep);
    v.data = proto_strndup(data, data_len);
    if (v.key == NULL || v.name == NULL || v.data == NULL) {
        result = PROTO_ENOMEM;
        goto out;
    }
    result = regquery_decode(&v, strlen(v.data));
    if (result) {
        goto out;
    }
    result = proto_snapshot_add_reg_value(p->snap, &slot);
    if (result) {
        p->too_many = result == PROTO_ELIMIT;
        goto out;
    }
    *slot = v;
    memset(&v, 0, sizeof(v));
out:
    proto_reg_value_clear(&v);
    return result;
}

static enum proto_rc regquery_set_key(struct regquery_parser *p, const char *s, size_t len)
{
    if (len > PROTO_MAX_STRING) {
        return PROTO_ELIMIT;
    }
    char *copy = proto_strndup(s, len);
    if (copy == NULL) {
        return PROTO_ENOMEM;
    }
    proto_free(p->key);
    p->key = copy;
    p->key_seen = true;
    return PROTO_OK;
}

/* Copies at most REGQUERY_QUOTE_MAX bytes of s into dst, replacing control bytes. */
static void regquery_quote(char *dst, const char *s, size_t len)
{
    if (len > REGQUERY_QUOTE_MAX) {
        len = REGQUERY_QUOTE_MAX;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[i] = (char)(c < 0x20 || c == 0x7F ? '?' : c);
    }
    dst[len] = '\0';
}

enum proto_rc proto_regquery_parse(const char *text, size_t len, const char *source,
                                   struct proto_snapshot *snap)
{
    enum proto_rc result = PROTO_OK;
    struct regquery_parser p;
    size_t pos = 0, line_len = 0, line_no = 0;
    const char *line;
    bool blank = true;
    char quote[REGQUERY_QUOTE_MAX + 1];

    if (snap == NULL || source == NULL || (text == NULL && len > 0)) {
        return PROTO_EINVAL;
    }
    memset(&p, 0, sizeof(p));
    p.snap = snap;
    p.first_value = snap->registry_count;

    for (size_t i = 0; i < len && blank; i++) {
        blank = regquery_is_blank(text[i]);
    }
    if (blank) {
        result = PROTO_EUNAVAILABLE;
        (void)proto_snapshot_add_error(snap, source, result,
                                       "reg produced no output (source unavailable)");
        goto out;
    }
    while ((line = proto_text_next_line(text, len, &pos, &line_len)) != NULL) {
        line_no++;
        if (line_len > PROTO_MAX_LINE_BYTES) {
            result = PROTO_ELIMIT;
            (void)proto_snapshot_add_error(snap, source, result, "line %zu is longer than %u bytes",
                                           line_no, PROTO_MAX_LINE_BYTES);
            goto out;
        }
        if (line_len > 0 && line[line_len - 1] == '\r') {
            line_len--;
        }
        const char *t = line;
        size_t t_len = line_len;
        regquery_trim(&t, &t_len);
        if (t_len == 0) {
            continue;
        }
        if (regquery_starts_ci(t, t_len, "ERROR:")) {
            regquery_quote(quote, t, t_len);
            if (regquery_find(t, t_len, regquery_not_found) < t_len) {
                result = PROTO_ENOTFOUND;
                (void)proto_snapshot_add_error(snap, source, result, "%s", quote);
            } else {
                result = PROTO_EPARSE;
                (void)proto_snapshot_add_error(snap, source, result, "reg reported: %s", quote);
            }
            goto out;
        }
        if (regquery_is_key_line(line, line_len)) {
            result = regquery_set_key(&p, t, t_len);
            if (result == PROTO_ELIMIT) {
                (void)proto_snapshot_add_error(snap, source, result,
                                               "key at line %zu is longer than %u bytes", line_no,
                                               PROTO_MAX_STRING);
            }
        } else if (line_len > 4 && memcmp(line, "    ", 4) == 0) {
            result = regquery_value(&p, line, line_len);
            if (result == PROTO_EPARSE) {
                if (p.malformed++ == 0) {
                    p.first_malformed_line = line_no;
                }
                result = PROTO_OK;
            } else if (result == PROTO_ELIMIT && p.too_many) {
                (void)proto_snapshot_add_error(snap, source, result, "more than %u registry values",
                                               PROTO_MAX_REG_VALUES);
            }
        }
        /* Anything else ("End of search: ...", stray text) carries nothing we use. */
        if (result) {
            goto out;
        }
    }
    if (!p.key_seen) {
        result = PROTO_EPARSE;
        (void)proto_snapshot_add_error(snap, source, result,
                                       "no registry key line: not reg "
                                       "query output");
        goto out;
    }
    snap->registry_available = true;
    if (p.malformed > 0) {
        (void)proto_snapshot_add_error(snap, source, PROTO_EPARSE,
                                       "%zu malformed value line(s) skipped (first at line %zu)",
                                       p.malformed, p.first_malformed_line);
    }
out:
    if (result) {
        if (result == PROTO_ENOMEM) {
            (void)proto_snapshot_add_error(snap, source, result, "out of memory");
        }
        while (snap->registry_count > p.first_value) {
            proto_reg_value_clear(&snap->registry[snap->registry_count - 1]);
            snap->registry_count--;
        }
    }
    proto_free(p.key);
    return result;
}

enum proto_rc proto_regquery_print(const char *empty_key, const struct proto_reg_value *values,
                                   size_t count, struct proto_buf *out)
{
    enum proto_rc result = PROTO_OK;
    const char *key = NULL;

    if (out == NULL || (values == NULL && count > 0)) {
        return PROTO_EINVAL;
    }
    if (count == 0) {
        return empty_key == NULL ? proto_buf_append_str(out, "\n\n")
                                 : proto_buf_appendf(out, "\n%s\n\n", empty_key);
    }
    for (size_t i = 0; i < count && result == PROTO_OK; i++) {
        const struct proto_reg_value *v = &values[i];
        const char *data = v->data != NULL ? v->data : "";
        if (v->key == NULL || v->name == NULL) {
            return PROTO_EINVAL;
        }
        if (key == NULL || strcmp(key, v->key) != 0) {
            result = proto_buf_appendf(out, "%s\n%s\n", key == NULL ? "" : "\n", v->key);
            key = v->key;
        }
        if (result == PROTO_OK) {
            bool bare = data[0] == '\0' && v->type == PROTO_REG_MULTI_SZ;
            result = proto_buf_appendf(out, "    %s    %s%s%s\n", v->name,
                                       proto_reg_type_str(v->type), bare ? "" : "    ", data);
        }
    }
    return result ? result : proto_buf_append_str(out, "\n");
}
