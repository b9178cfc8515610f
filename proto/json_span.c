/*
 * json_span: locates a top-level member's value in raw JSON text (see json_span.h).
 *
 * A structural walk only: strings (with backslash escapes skipped), nesting of objects and
 * arrays by a counter, and scalars up to the next delimiter. Everything it cannot walk is
 * PROTO_EPARSE; the caller has validated the text with a real parser first.
 */
#include "json_span.h"

#include <stdbool.h>
#include <string.h>

/* Whitespace as cJSON reads it: every byte up to 0x20, not only JSON's four, so that both
 * readers see the same tokens (the decoder has already refused NUL bytes). */
static bool span_is_ws(char c)
{
    return (unsigned char)c <= 0x20;
}

static size_t span_skip_ws(const char *t, size_t len, size_t i)
{
    while (i < len && span_is_ws(t[i])) {
        i++;
    }
    return i;
}

/* t[i] is the opening quote; returns the index after the closing quote, or len when none.
 * memchr finds each candidate quote (strings are most of a report: base64 certificates); a
 * quote after an odd run of backslashes is escaped and the search goes on. */
static size_t span_skip_string(const char *t, size_t len, size_t i, bool *escaped)
{
    size_t from = i + 1;
    while (from < len) {
        const char *q = memchr(t + from, '"', len - from);
        if (q == NULL) {
            return len;
        }
        size_t at = (size_t)(q - t);
        size_t slashes = 0;
        while (at - slashes > from && t[at - slashes - 1] == '\\') {
            slashes++;
        }
        if (escaped != NULL && memchr(t + from, '\\', at - from) != NULL) {
            *escaped = true;
        }
        if (slashes % 2 == 0) {
            return at + 1;
        }
        from = at + 1;
    }
    return len;
}

/* Returns the index after the value starting at t[i], or len when it does not end. */
static size_t span_skip_value(const char *t, size_t len, size_t i)
{
    if (i >= len) {
        return len;
    }
    if (t[i] == '"') {
        return span_skip_string(t, len, i, NULL);
    }
    if (t[i] == '{' || t[i] == '[') {
        size_t depth = 0;
        while (i < len) {
            char c = t[i];
            if (c == '"') {
                i = span_skip_string(t, len, i, NULL);
                continue;
            }
            if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                if (--depth == 0) {
                    return i + 1;
                }
            }
            i++;
        }
        return len;
    }
    while (i < len && t[i] != ',' && t[i] != '}' && t[i] != ']' && !span_is_ws(t[i])) {
        i++;
    }
    return i;
}

enum proto_rc proto_json_member_span(const char *text, size_t len, const char *key, size_t *off,
                                     size_t *span_len)
{
    if (text == NULL || key == NULL || off == NULL || span_len == NULL) {
        return PROTO_EINVAL;
    }
    size_t key_len = strlen(key);
    bool escaped_before = false;
    size_t i = span_skip_ws(text, len, 0);
    if (i >= len || text[i] != '{') {
        return PROTO_EPARSE;
    }
    i = span_skip_ws(text, len, i + 1);
    if (i < len && text[i] == '}') {
        return PROTO_ENOTFOUND;
    }
    while (i < len) {
        if (text[i] != '"') {
            return PROTO_EPARSE;
        }
        bool escaped = false;
        size_t key_start = i + 1;
        size_t key_end = span_skip_string(text, len, i, &escaped);
        if (key_end >= len) {
            return PROTO_EPARSE;
        }
        bool match = !escaped && key_end - 1 - key_start == key_len &&
                     memcmp(text + key_start, key, key_len) == 0;
        i = span_skip_ws(text, len, key_end);
        if (i >= len || text[i] != ':') {
            return PROTO_EPARSE;
        }
        size_t value = span_skip_ws(text, len, i + 1);
        size_t value_end = span_skip_value(text, len, value);
        if (value_end >= len || value_end == value) {
            return PROTO_EPARSE; /* a member value is never the last byte of an object */
        }
        if (match) {
            if (escaped_before) {
                return PROTO_ENOTFOUND;
            }
            *off = value;
            *span_len = value_end - value;
            return PROTO_OK;
        }
        escaped_before = escaped_before || escaped;
        i = span_skip_ws(text, len, value_end);
        if (i < len && text[i] == '}') {
            return PROTO_ENOTFOUND;
        }
        if (i >= len || text[i] != ',') {
            return PROTO_EPARSE;
        }
        i = span_skip_ws(text, len, i + 1);
    }
    return PROTO_EPARSE;
}
