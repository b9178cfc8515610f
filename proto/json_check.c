/*
 * json_check: RFC 8259 conformance of outside JSON text, and unique member names of its tree
 * (see json_check.h).
 *
 * The text check is a loop over three states (a value is expected, a member name is expected,
 * a value has ended) with an explicit stack of open containers, so nothing recurses on input.
 * The stack also keeps the path of the member being read, so that an error names it. The name
 * check walks a parsed tree whose depth the text check has already bounded.
 */
#include "json_check.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "printf_like.h"
#include "text.h"

/* Objects with up to this many members are checked pair by pair; larger ones are sorted. */
#define CHECK_PAIRWISE_MAX 8u

enum check_state { CHECK_VALUE, CHECK_NAME, CHECK_AFTER };

struct check {
    const unsigned char *t;
    size_t len;
    size_t i;
    size_t depth;
    char kind[PROTO_JSON_CHECK_MAX_DEPTH + 1];    /* '{' or '[' per open container */
    size_t index[PROTO_JSON_CHECK_MAX_DEPTH + 1]; /* of the current element, in an array */
    size_t saved[PROTO_JSON_CHECK_MAX_DEPTH + 1]; /* path length when the container opened */
    struct proto_json_check_error *err;
    size_t path_len;
};

static enum proto_rc check_fail(struct proto_json_check_error *err, enum proto_rc rc, size_t offset,
                                const char *fmt, ...) PROTO_PRINTF_LIKE(4, 5);

static enum proto_rc check_fail(struct proto_json_check_error *err, enum proto_rc rc, size_t offset,
                                const char *fmt, ...)
{
    va_list ap;
    err->offset = offset;
    va_start(ap, fmt);
    int n = vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    if (n < 0) {
        err->message[0] = '\0';
    }
    return rc;
}

/* ---- the path ---------------------------------------------------------------------------- */

/* Appends raw bytes, cutting at the buffer's end. */
static void check_path_append(struct check *c, const char *s, size_t n)
{
    size_t room = sizeof(c->err->member) - 1 - c->path_len;
    if (n > room) {
        n = room;
    }
    memcpy(c->err->member + c->path_len, s, n);
    c->path_len += n;
    c->err->member[c->path_len] = '\0';
}

static void check_path_cut(struct check *c, size_t len)
{
    c->path_len = len;
    c->err->member[len] = '\0';
}

static void check_path_index(struct check *c, size_t index)
{
    char step[32];
    int n = snprintf(step, sizeof(step), "[%zu]", index);
    check_path_cut(c, c->saved[c->depth]);
    if (n > 0) {
        check_path_append(c, step, (size_t)n);
    }
}

/* ---- tokens ------------------------------------------------------------------------------ */

static bool check_is_ws(unsigned char b)
{
    return b == ' ' || b == '\t' || b == '\n' || b == '\r';
}

static void check_skip_ws(struct check *c)
{
    while (c->i < c->len && check_is_ws(c->t[c->i])) {
        c->i++;
    }
}

static bool check_is_digit(unsigned char b)
{
    return b >= '0' && b <= '9';
}

static int check_hex(unsigned char b)
{
    if (b >= '0' && b <= '9') {
        return b - '0';
    }
    if (b >= 'a' && b <= 'f') {
        return b - 'a' + 10;
    }
    if (b >= 'A' && b <= 'F') {
        return b - 'A' + 10;
    }
    return -1;
}

/* The code unit of "\uXXXX" at t[at] (the backslash), or -1 when it is not one. */
static long check_u_escape(const struct check *c, size_t at)
{
    if (c->len - at < 6 || c->t[at] != '\\' || c->t[at + 1] != 'u') {
        return -1;
    }
    long v = 0;
    for (size_t k = 2; k < 6; k++) {
        int h = check_hex(c->t[at + k]);
        if (h < 0) {
            return -1;
        }
        v = v * 16 + h;
    }
    return v;
}

/* The escape at t[i] (a backslash inside a string); advances past it. */
static enum proto_rc check_escape(struct check *c)
{
    size_t at = c->i;
    if (at + 1 >= c->len) {
        return check_fail(c->err, PROTO_EPARSE, at, "unterminated string at offset %zu", at);
    }
    switch (c->t[at + 1]) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
        c->i += 2;
        return PROTO_OK;
    case 'u':
        break;
    default:
        return check_fail(c->err, PROTO_EPARSE, at, "invalid escape at offset %zu", at);
    }
    long unit = check_u_escape(c, at);
    if (unit < 0) {
        return check_fail(c->err, PROTO_EPARSE, at,
                          "invalid \\u escape (four hexadecimal digits) at offset %zu", at);
    }
    if (unit == 0) {
        /* It would end the C string cJSON makes: two readers, two texts. */
        return check_fail(c->err, PROTO_EPARSE, at, "escaped NUL (\\u0000) at offset %zu", at);
    }
    if (unit >= 0xDC00 && unit <= 0xDFFF) {
        return check_fail(c->err, PROTO_EPARSE, at, "lone low surrogate at offset %zu", at);
    }
    if (unit >= 0xD800 && unit <= 0xDBFF) {
        long low = check_u_escape(c, at + 6);
        if (low < 0xDC00 || low > 0xDFFF) {
            return check_fail(c->err, PROTO_EPARSE, at, "lone high surrogate at offset %zu", at);
        }
        c->i += 12;
        return PROTO_OK;
    }
    c->i += 6;
    return PROTO_OK;
}

/* The string whose opening quote is t[i]; advances past the closing quote. */
static enum proto_rc check_string(struct check *c)
{
    size_t start = c->i;
    c->i++;
    while (c->i < c->len) {
        unsigned char b = c->t[c->i];
        if (b == '"') {
            c->i++;
            return PROTO_OK;
        }
        if (b == '\\') {
            enum proto_rc result = check_escape(c);
            if (result) {
                return result;
            }
        } else if (b < 0x20) {
            return check_fail(c->err, PROTO_EPARSE, c->i,
                              "unescaped control character 0x%02X in a string at offset %zu",
                              (unsigned)b, c->i);
        } else if (b >= 0x80) {
            size_t n = proto_utf8_decode(c->t + c->i, c->len - c->i, NULL);
            if (n == 0) {
                return check_fail(c->err, PROTO_EENCODING, c->i, "invalid UTF-8 at offset %zu",
                                  c->i);
            }
            c->i += n;
        } else {
            c->i++;
        }
    }
    return check_fail(c->err, PROTO_EPARSE, start, "unterminated string from offset %zu", start);
}

/* Digits at t[i]: at least one. */
static bool check_digits(struct check *c)
{
    size_t from = c->i;
    while (c->i < c->len && check_is_digit(c->t[c->i])) {
        c->i++;
    }
    return c->i > from;
}

/* The number starting at t[i] ('-' or a digit); advances past it. */
static enum proto_rc check_number(struct check *c)
{
    size_t start = c->i;
    if (c->t[c->i] == '-') {
        c->i++;
    }
    if (c->i >= c->len || !check_is_digit(c->t[c->i])) {
        return check_fail(c->err, PROTO_EPARSE, start,
                          "malformed number (a digit must follow '-') at offset %zu", start);
    }
    if (c->t[c->i] == '0') {
        c->i++;
        if (c->i < c->len && check_is_digit(c->t[c->i])) {
            return check_fail(c->err, PROTO_EPARSE, start,
                              "malformed number (leading zero) at offset %zu", start);
        }
    } else {
        (void)check_digits(c);
    }
    if (c->i < c->len && c->t[c->i] == '.') {
        c->i++;
        if (!check_digits(c)) {
            return check_fail(c->err, PROTO_EPARSE, start,
                              "malformed number (a digit must follow '.') at offset %zu", start);
        }
    }
    if (c->i < c->len && (c->t[c->i] == 'e' || c->t[c->i] == 'E')) {
        c->i++;
        if (c->i < c->len && (c->t[c->i] == '+' || c->t[c->i] == '-')) {
            c->i++;
        }
        if (!check_digits(c)) {
            return check_fail(c->err, PROTO_EPARSE, start,
                              "malformed number (a digit must follow the exponent) at offset %zu",
                              start);
        }
    }
    if (c->i - start > PROTO_JSON_MAX_NUMBER_CHARS) {
        return check_fail(c->err, PROTO_ELIMIT, start,
                          "number longer than %u characters at offset %zu",
                          PROTO_JSON_MAX_NUMBER_CHARS, start);
    }
    return PROTO_OK;
}

static enum proto_rc check_literal(struct check *c, const char *word)
{
    size_t n = strlen(word);
    if (c->len - c->i < n || memcmp(c->t + c->i, word, n) != 0) {
        return check_fail(c->err, PROTO_EPARSE, c->i, "unexpected text at offset %zu", c->i);
    }
    c->i += n;
    return PROTO_OK;
}

/* What an unexpected byte is called in a message. */
static enum proto_rc check_unexpected(struct check *c, const char *expected)
{
    if (c->i >= c->len) {
        return check_fail(c->err, PROTO_EPARSE, c->i,
                          "unexpected end of the document at offset %zu"
                          " (expected %s)",
                          c->i, expected);
    }
    unsigned char b = c->t[c->i];
    if (b < 0x20 || b >= 0x7f) {
        return check_fail(c->err, PROTO_EPARSE, c->i,
                          "unexpected byte 0x%02X at offset %zu (expected %s)", (unsigned)b, c->i,
                          expected);
    }
    return check_fail(c->err, PROTO_EPARSE, c->i, "unexpected '%c' at offset %zu (expected %s)",
                      (char)b, c->i, expected);
}

/* ---- the document ------------------------------------------------------------------------ */

static enum proto_rc check_open(struct check *c, size_t max_depth)
{
    if (c->depth + 1 > max_depth) {
        return check_fail(c->err, PROTO_ELIMIT, c->i,
                          "nesting deeper than %zu levels at offset %zu", max_depth, c->i);
    }
    c->depth++;
    c->kind[c->depth] = (char)c->t[c->i];
    c->index[c->depth] = 0;
    c->saved[c->depth] = c->path_len;
    c->i++;
    return PROTO_OK;
}

static void check_close(struct check *c)
{
    check_path_cut(c, c->saved[c->depth]);
    c->depth--;
    c->i++;
}

/* A member name at t[i] and its ':'; the path then names the member. */
static enum proto_rc check_name(struct check *c)
{
    check_skip_ws(c);
    if (c->i >= c->len || c->t[c->i] != '"') {
        return check_unexpected(c, "a member name");
    }
    size_t start = c->i;
    enum proto_rc result = check_string(c);
    if (result) {
        return result;
    }
    check_path_cut(c, c->saved[c->depth]);
    if (c->path_len > 0) {
        check_path_append(c, ".", 1);
    }
    check_path_append(c, (const char *)c->t + start + 1, c->i - start - 2);
    check_skip_ws(c);
    if (c->i >= c->len || c->t[c->i] != ':') {
        return check_unexpected(c, "':'");
    }
    c->i++;
    return PROTO_OK;
}

/* One value at t[i]. Sets *state to what comes next. */
static enum proto_rc check_value(struct check *c, size_t max_depth, enum check_state *state)
{
    check_skip_ws(c);
    if (c->i >= c->len) {
        return check_unexpected(c, "a value");
    }
    enum proto_rc result = PROTO_OK;
    *state = CHECK_AFTER;
    switch (c->t[c->i]) {
    case '{':
    case '[': {
        char open = (char)c->t[c->i];
        result = check_open(c, max_depth);
        if (result) {
            return result;
        }
        check_skip_ws(c);
        if (c->i < c->len && c->t[c->i] == (open == '{' ? '}' : ']')) {
            check_close(c);
        } else if (open == '{') {
            *state = CHECK_NAME;
        } else {
            check_path_index(c, 0);
            *state = CHECK_VALUE;
        }
        return PROTO_OK;
    }
    case '"':
        return check_string(c);
    case 't':
        return check_literal(c, "true");
    case 'f':
        return check_literal(c, "false");
    case 'n':
        return check_literal(c, "null");
    default:
        if (c->t[c->i] == '-' || check_is_digit(c->t[c->i])) {
            return check_number(c);
        }
        return check_unexpected(c, "a value");
    }
}

/* After a value: a ',' or the end of its container, or the end of the document. */
static enum proto_rc check_after(struct check *c, enum check_state *state, bool *done)
{
    check_skip_ws(c);
    if (c->depth == 0) {
        if (c->i != c->len) {
            return check_fail(c->err, PROTO_EPARSE, c->i,
                              "unexpected text after the document at offset %zu", c->i);
        }
        *done = true;
        return PROTO_OK;
    }
    bool object = c->kind[c->depth] == '{';
    if (c->i < c->len && c->t[c->i] == ',') {
        c->i++;
        if (object) {
            check_path_cut(c, c->saved[c->depth]); /* the next name is not read yet */
            *state = CHECK_NAME;
        } else {
            c->index[c->depth]++;
            check_path_index(c, c->index[c->depth]);
            *state = CHECK_VALUE;
        }
        return PROTO_OK;
    }
    if (c->i < c->len && c->t[c->i] == (object ? '}' : ']')) {
        check_close(c);
        *state = CHECK_AFTER;
        return PROTO_OK;
    }
    return check_unexpected(c, object ? "',' or '}'" : "',' or ']'");
}

enum proto_rc proto_json_check(const char *text, size_t len, size_t max_depth,
                               struct proto_json_check_error *err)
{
    struct proto_json_check_error ignored;
    struct check c;
    if (err == NULL) {
        err = &ignored;
    }
    memset(err, 0, sizeof(*err));
    if (text == NULL && len > 0) {
        return check_fail(err, PROTO_EINVAL, 0, "no text");
    }
    if (max_depth > PROTO_JSON_CHECK_MAX_DEPTH) {
        max_depth = PROTO_JSON_CHECK_MAX_DEPTH;
    }
    memset(&c, 0, sizeof(c));
    c.t = (const unsigned char *)text;
    c.len = len;
    c.err = err;
    enum check_state state = CHECK_VALUE;
    bool done = false;
    enum proto_rc result = PROTO_OK;
    while (!result && !done) {
        switch (state) {
        case CHECK_VALUE:
            result = check_value(&c, max_depth, &state);
            break;
        case CHECK_NAME:
            result = check_name(&c);
            state = CHECK_VALUE;
            break;
        case CHECK_AFTER:
            result = check_after(&c, &state, &done);
            break;
        }
    }
    if (!result) {
        memset(err, 0, sizeof(*err));
    }
    return result;
}

/* ---- unique names ------------------------------------------------------------------------ */

static const char *check_name_of(const cJSON *item)
{
    return item->string != NULL ? item->string : "";
}

static int check_cmp_names(const void *a, const void *b)
{
    const cJSON *const *x = a;
    const cJSON *const *y = b;
    return strcmp(check_name_of(*x), check_name_of(*y));
}

struct check_walk {
    struct proto_json_check_error *err;
    size_t path_len;
};

static void check_walk_enter(struct check_walk *w, const char *name, bool index, size_t i)
{
    char step[32];
    size_t room = sizeof(w->err->member) - 1 - w->path_len;
    int n = index ? snprintf(step, sizeof(step), "[%zu]", i)
                  : snprintf(w->err->member + w->path_len, room + 1, "%s%s",
                             w->path_len > 0 ? "." : "", name);
    if (n < 0) {
        return;
    }
    if (index) {
        size_t k = (size_t)n < room ? (size_t)n : room;
        memcpy(w->err->member + w->path_len, step, k);
        w->path_len += k;
    } else {
        w->path_len += (size_t)n < room ? (size_t)n : room;
    }
    w->err->member[w->path_len] = '\0';
}

static void check_walk_leave(struct check_walk *w, size_t saved)
{
    w->path_len = saved;
    w->err->member[saved] = '\0';
}

/* The first repeated name of obj's members, or NULL; PROTO_ENOMEM in *result. */
static const char *check_repeated_name(const cJSON *obj, enum proto_rc *result)
{
    size_t n = 0;
    *result = PROTO_OK;
    for (const cJSON *m = obj->child; m != NULL; m = m->next) {
        n++;
    }
    if (n <= CHECK_PAIRWISE_MAX) {
        for (const cJSON *m = obj->child; m != NULL; m = m->next) {
            for (const cJSON *k = obj->child; k != m; k = k->next) {
                if (strcmp(check_name_of(k), check_name_of(m)) == 0) {
                    return check_name_of(m);
                }
            }
        }
        return NULL;
    }
    const cJSON **sorted = proto_malloc(n * sizeof(*sorted));
    if (sorted == NULL) {
        *result = PROTO_ENOMEM;
        return NULL;
    }
    size_t k = 0;
    for (const cJSON *m = obj->child; m != NULL; m = m->next) {
        sorted[k++] = m;
    }
    qsort(sorted, n, sizeof(*sorted), check_cmp_names);
    const char *repeated = NULL;
    for (k = 1; k < n && repeated == NULL; k++) {
        if (strcmp(check_name_of(sorted[k - 1]), check_name_of(sorted[k])) == 0) {
            repeated = check_name_of(sorted[k]);
        }
    }
    proto_free(sorted);
    return repeated;
}

static enum proto_rc check_walk(struct check_walk *w, const cJSON *node, size_t depth)
{
    if (!cJSON_IsObject(node) && !cJSON_IsArray(node)) {
        return PROTO_OK;
    }
    if (depth > PROTO_JSON_CHECK_MAX_DEPTH) {
        return check_fail(w->err, PROTO_ELIMIT, 0, "nesting deeper than %u levels",
                          PROTO_JSON_CHECK_MAX_DEPTH);
    }
    bool object = cJSON_IsObject(node);
    enum proto_rc result = PROTO_OK;
    if (object) {
        const char *repeated = check_repeated_name(node, &result);
        if (result) {
            return check_fail(w->err, result, 0, "out of memory");
        }
        if (repeated != NULL) {
            check_walk_enter(w, repeated, false, 0);
            return check_fail(w->err, PROTO_EPARSE, 0, "member appears more than once");
        }
    }
    size_t i = 0;
    for (const cJSON *m = node->child; m != NULL && !result; m = m->next, i++) {
        if (!cJSON_IsObject(m) && !cJSON_IsArray(m)) {
            continue;
        }
        size_t saved = w->path_len;
        check_walk_enter(w, check_name_of(m), !object, i);
        result = check_walk(w, m, depth + 1);
        if (!result) {
            check_walk_leave(w, saved);
        }
    }
    return result;
}

enum proto_rc proto_json_check_unique_names(const cJSON *root, struct proto_json_check_error *err)
{
    struct proto_json_check_error ignored;
    if (err == NULL) {
        err = &ignored;
    }
    memset(err, 0, sizeof(*err));
    struct check_walk w = {err, 0};
    enum proto_rc result = root != NULL ? check_walk(&w, root, 1) : PROTO_EINVAL;
    if (!result) {
        memset(err, 0, sizeof(*err));
    }
    return result;
}

enum proto_rc proto_json_parse_checked(const char *text, size_t len, size_t max_depth, cJSON **root,
                                       struct proto_json_check_error *err)
{
    struct proto_json_check_error ignored;
    if (err == NULL) {
        err = &ignored;
    }
    if (root == NULL) {
        memset(err, 0, sizeof(*err));
        return check_fail(err, PROTO_EINVAL, 0, "no output");
    }
    *root = NULL;
    enum proto_rc result = proto_json_check(text, len, max_depth, err);
    if (result) {
        return result;
    }
    cJSON *doc = cJSON_ParseWithLength(text, len);
    if (doc == NULL) {
        return check_fail(err, PROTO_ENOMEM, 0, "out of memory");
    }
    result = proto_json_check_unique_names(doc, err);
    if (result) {
        cJSON_Delete(doc);
        return result;
    }
    *root = doc;
    return PROTO_OK;
}
