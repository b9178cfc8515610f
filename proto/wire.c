/*
 * wire: the strict JSON reader and the writer shared by the wire_* codecs (DESIGN §7).
 *
 * The text is checked against RFC 8259 (json_check.h) before cJSON parses it, because cJSON is
 * lenient where JSON is not ("01", "-.5", control characters as whitespace or inside strings,
 * invalid UTF-8, bad \u escapes, repeated names) and a strict peer (the schema check, another
 * language) must read every accepted document the same way. Everything else is member-by-member
 * checks with a path.
 */
#include "wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "caps.h"
#include "json_check.h"
#include "timefmt.h"

/* The RFC 3339 parser refuses anything longer. */
#define WIRE_MAX_TIME_TEXT 64u
/* The range proto_time_format_rfc3339 can print: years 0000-9999. */
#define WIRE_MIN_TIME (-62167219200LL)
#define WIRE_MAX_TIME 253402300799LL
#define WIRE_UUID_LEN 36u
#define WIRE_MAX_LABEL 63u
/* Members proto_wire_dec_members can tell apart (one bit each). */
#define WIRE_MAX_KNOWN 64u

/* ---- text checks --------------------------------------------------------------------------- */

static bool wire_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool wire_is_hex(char c)
{
    return wire_is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool wire_is_alnum(char c)
{
    return wire_is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char wire_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Length (1-4) of the well-formed UTF-8 sequence at p (RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF), or 0. */
static size_t wire_utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    unsigned char lo = 0x80, hi = 0xBF;
    size_t n;
    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi) {
        return 0;
    }
    for (size_t i = 2; i < n; i++) {
        if (p[i] < 0x80 || p[i] > 0xBF) {
            return 0;
        }
    }
    return n;
}

bool proto_wire_utf8_ok(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *end = p + len;
    while (p < end) {
        size_t n = wire_utf8_seq(p, end);
        if (n == 0) {
            return false;
        }
        p += n;
    }
    return true;
}

bool proto_wire_no_controls(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    for (; *p != '\0'; p++) {
        /* U+0080..U+009F are C2 80..C2 9F in UTF-8. */
        if (*p < 0x20 || *p == 0x7F || (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)) {
            return false;
        }
    }
    return true;
}

bool proto_wire_text_ok(const struct proto_wire_text *kind, const char *s)
{
    if (s == NULL) {
        return false;
    }
    size_t len = strnlen(s, kind->max_len + 1);
    return len >= kind->min_len && len <= kind->max_len && proto_wire_utf8_ok(s, len) &&
           (kind->valid == NULL || kind->valid(s));
}

bool proto_wire_uuid_ok(const char *s)
{
    if (strnlen(s, WIRE_UUID_LEN + 1) != WIRE_UUID_LEN) {
        return false;
    }
    for (size_t i = 0; i < WIRE_UUID_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !wire_is_hex(s[i])) {
            return false;
        }
    }
    return true;
}

bool proto_wire_fqdn_ok(const char *s)
{
    size_t len = strnlen(s, PROTO_MAX_FQDN + 1);
    if (len == 0 || len > PROTO_MAX_FQDN) {
        return false;
    }
    size_t label = 0;
    for (size_t i = 0; i <= len; i++) {
        char c = s[i];
        if (c == '.' || c == '\0') {
            /* Empty labels (leading, trailing or double dots) and '-' at either end are out. */
            if (label == 0 || label > WIRE_MAX_LABEL || s[i - 1] == '-' || s[i - label] == '-') {
                return false;
            }
            label = 0;
        } else if (wire_is_alnum(c) || c == '-' || c == '_') {
            label++;
        } else {
            return false;
        }
    }
    return true;
}

bool proto_wire_finding_id_ok(const char *s)
{
    if (!(s[0] >= 'A' && s[0] <= 'Z')) {
        return false;
    }
    for (const char *p = s + 1; *p != '\0'; p++) {
        if (!((*p >= 'A' && *p <= 'Z') || wire_is_digit(*p) || *p == '_')) {
            return false;
        }
    }
    return true;
}

bool proto_wire_time_ok(int64_t t)
{
    return t >= WIRE_MIN_TIME && t <= WIRE_MAX_TIME;
}

bool proto_wire_lower_copy(const char *s, char *out, size_t size)
{
    size_t len = strnlen(s, size);
    if (len >= size) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        out[i] = wire_lower(s[i]);
    }
    out[len] = '\0';
    return true;
}

const struct proto_wire_text proto_wire_fqdn_text = {
    1, PROTO_MAX_FQDN, proto_wire_fqdn_ok,
    "expected a DNS host name: labels of letters, digits, '-' and '_' joined by dots"};

const struct proto_wire_text proto_wire_finding_id_text = {
    1, PROTO_MAX_FINDING_ID, proto_wire_finding_id_ok,
    "expected a finding id: an upper-case letter, then A-Z, 0-9 or '_'"};

static const struct proto_wire_text wire_uuid_text = {
    WIRE_UUID_LEN, WIRE_UUID_LEN, proto_wire_uuid_ok,
    "expected a UUID like 0f8fad5b-d9cb-469f-a165-70867728950e"};

static const struct proto_wire_text wire_time_text = {1, WIRE_MAX_TIME_TEXT, NULL, ""};

/* ---- errors and the path ------------------------------------------------------------------- */

void proto_wire_dec_init(struct proto_wire_dec *d, struct proto_json_error *err)
{
    memset(d, 0, sizeof(*d));
    d->err = err != NULL ? err : &d->scratch;
    memset(d->err, 0, sizeof(*d->err));
}

static enum proto_rc wire_vfail(struct proto_wire_dec *d, enum proto_rc rc, const char *fmt,
                                va_list ap) PROTO_PRINTF_LIKE(3, 0);

static enum proto_rc wire_vfail(struct proto_wire_dec *d, enum proto_rc rc, const char *fmt,
                                va_list ap)
{
    memcpy(d->err->field, d->path, sizeof(d->err->field));
    d->err->field[sizeof(d->err->field) - 1] = '\0';
    int n = vsnprintf(d->err->message, sizeof(d->err->message), fmt, ap);
    if (n < 0) {
        d->err->message[0] = '\0';
    }
    return rc;
}

enum proto_rc proto_wire_dec_fail(struct proto_wire_dec *d, enum proto_rc rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rc = wire_vfail(d, rc, fmt, ap);
    va_end(ap);
    return rc;
}

enum proto_rc proto_wire_dec_fail_at(struct proto_wire_dec *d, const char *key, enum proto_rc rc,
                                     const char *fmt, ...)
{
    va_list ap;
    size_t saved = proto_wire_dec_enter_key(d, key);
    va_start(ap, fmt);
    rc = wire_vfail(d, rc, fmt, ap);
    va_end(ap);
    proto_wire_dec_leave(d, saved);
    return rc;
}

enum proto_rc proto_wire_dec_nomem(struct proto_wire_dec *d)
{
    return proto_wire_dec_fail(d, PROTO_ENOMEM, "out of memory");
}

/* A path too long for the buffer is cut; the error still names where it starts. */
static void wire_path_advance(struct proto_wire_dec *d, int n)
{
    if (n > 0) {
        d->len += (size_t)n;
        if (d->len >= sizeof(d->path)) {
            d->len = sizeof(d->path) - 1;
        }
    }
}

size_t proto_wire_dec_enter_key(struct proto_wire_dec *d, const char *key)
{
    size_t saved = d->len;
    int n = snprintf(d->path + d->len, sizeof(d->path) - d->len, "%s%s", d->len ? "." : "", key);
    wire_path_advance(d, n);
    return saved;
}

size_t proto_wire_dec_enter_index(struct proto_wire_dec *d, size_t index)
{
    size_t saved = d->len;
    int n = snprintf(d->path + d->len, sizeof(d->path) - d->len, "[%zu]", index);
    wire_path_advance(d, n);
    return saved;
}

void proto_wire_dec_leave(struct proto_wire_dec *d, size_t saved)
{
    d->len = saved;
    d->path[saved] = '\0';
}

enum proto_rc proto_wire_dec_parse(struct proto_wire_dec *d, const char *text, size_t len,
                                   size_t max_bytes, cJSON **root)
{
    enum proto_rc result;

    if (root == NULL || (text == NULL && len > 0)) {
        return proto_wire_dec_fail(d, PROTO_EINVAL, "no output or no text");
    }
    *root = NULL;
    if (len > max_bytes) {
        return proto_wire_dec_fail(d, PROTO_ELIMIT, "expected a document of at most %zu bytes",
                                   max_bytes);
    }
    if (len == 0) {
        return proto_wire_dec_fail(d, PROTO_EPARSE, "expected a JSON object, got an empty body");
    }
    /* RFC 8259, UTF-8, no \u0000, the depth cap and one value per name (json_check.h). */
    struct proto_json_check_error check;
    cJSON *doc = NULL;
    result = proto_json_parse_checked(text, len, PROTO_MAX_WIRE_DEPTH, &doc, &check);
    if (result == PROTO_ENOMEM) {
        return proto_wire_dec_nomem(d);
    }
    if (result) {
        size_t saved = check.member[0] != '\0' ? proto_wire_dec_enter_key(d, check.member) : d->len;
        result = proto_wire_dec_fail(d, result, "%s", check.message);
        proto_wire_dec_leave(d, saved);
        return result;
    }
    result = proto_wire_check_object(d, doc);
    if (result) {
        cJSON_Delete(doc);
        return result;
    }
    *root = doc;
    return PROTO_OK;
}

/* ---- members ------------------------------------------------------------------------------- */

enum proto_rc proto_wire_dec_members(struct proto_wire_dec *d, const cJSON *obj,
                                     const char *const *known, size_t count, bool strict)
{
    uint64_t seen = 0;
    if (count > WIRE_MAX_KNOWN) {
        return proto_wire_dec_fail(d, PROTO_EINVAL, "too many known members");
    }
    for (const cJSON *m = obj->child; m != NULL; m = m->next) {
        const char *name = m->string != NULL ? m->string : "";
        size_t k = 0;
        while (k < count && strcmp(known[k], name) != 0) {
            k++;
        }
        if (k == count) {
            if (strict) {
                return proto_wire_dec_fail_at(d, name, PROTO_EUNSUPPORTED, "unknown member");
            }
            continue;
        }
        if (seen & ((uint64_t)1 << k)) {
            return proto_wire_dec_fail_at(d, name, PROTO_EPARSE, "member appears more than once");
        }
        seen |= (uint64_t)1 << k;
    }
    return PROTO_OK;
}

/* Looks key up; absent and required is PROTO_EMISSING. */
static enum proto_rc wire_member(struct proto_wire_dec *d, const cJSON *obj, const char *key,
                                 unsigned flags, const cJSON **item)
{
    *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (*item == NULL && (flags & PROTO_WIRE_REQUIRED)) {
        return proto_wire_dec_fail_at(d, key, PROTO_EMISSING, "required member is missing");
    }
    return PROTO_OK;
}

/* ---- value checks -------------------------------------------------------------------------- */

enum proto_rc proto_wire_check_object(struct proto_wire_dec *d, const cJSON *item)
{
    if (!cJSON_IsObject(item)) {
        return proto_wire_dec_fail(d, PROTO_ETYPE, "expected an object");
    }
    return PROTO_OK;
}

enum proto_rc proto_wire_check_text(struct proto_wire_dec *d, const cJSON *item,
                                    const struct proto_wire_text *kind, const char **out)
{
    if (!cJSON_IsString(item) || item->valuestring == NULL) {
        return proto_wire_dec_fail(d, PROTO_ETYPE, "expected a string");
    }
    const char *s = item->valuestring;
    size_t len = strnlen(s, kind->max_len + 1);
    if (len > kind->max_len) {
        return proto_wire_dec_fail(d, PROTO_ELIMIT, "expected a string of at most %zu bytes",
                                   kind->max_len);
    }
    if (len < kind->min_len) {
        return proto_wire_dec_fail(d, PROTO_EPARSE, "expected a string of at least %zu bytes",
                                   kind->min_len);
    }
    /* The scan checked the text's UTF-8; escapes cJSON decoded are UTF-8 by construction. */
    if (kind->valid != NULL && !kind->valid(s)) {
        return proto_wire_dec_fail(d, PROTO_EPARSE, "%s", kind->expected);
    }
    *out = s;
    return PROTO_OK;
}

static enum proto_rc wire_check_uint(struct proto_wire_dec *d, const cJSON *item, uint64_t min,
                                     uint64_t max, uint64_t *out)
{
    if (!cJSON_IsNumber(item)) {
        return proto_wire_dec_fail(d, PROTO_ETYPE, "expected an integer");
    }
    double v = item->valuedouble;
    /* Above 2^53 - 1 a double cannot tell neighbours apart ("9007199254740993" reads as 2^53):
     * one text could mean two values to two readers. */
    if (max > PROTO_WIRE_MAX_INTEGER) {
        max = PROTO_WIRE_MAX_INTEGER;
    }
    if (!(v >= (double)min && v <= (double)max)) {
        return proto_wire_dec_fail(d, PROTO_ELIMIT, "expected an integer from %llu to %llu",
                                   (unsigned long long)min, (unsigned long long)max);
    }
    uint64_t u = (uint64_t)v;
    if ((double)u != v) {
        return proto_wire_dec_fail(d, PROTO_ETYPE, "expected an integer, not a fraction");
    }
    *out = u;
    return PROTO_OK;
}

/* ---- keyed getters ------------------------------------------------------------------------- */

enum proto_rc proto_wire_dec_text(struct proto_wire_dec *d, const cJSON *obj, const char *key,
                                  unsigned flags, const struct proto_wire_text *kind,
                                  const char **out)
{
    const cJSON *item = NULL;
    enum proto_rc result = wire_member(d, obj, key, flags, &item);
    if (result || item == NULL) {
        return result;
    }
    size_t saved = proto_wire_dec_enter_key(d, key);
    result = proto_wire_check_text(d, item, kind, out);
    proto_wire_dec_leave(d, saved);
    return result;
}

enum proto_rc proto_wire_dec_text_copy(struct proto_wire_dec *d, const cJSON *obj, const char *key,
                                       unsigned flags, const struct proto_wire_text *kind,
                                       char **out)
{
    const char *s = NULL;
    enum proto_rc result = proto_wire_dec_text(d, obj, key, flags, kind, &s);
    if (result || s == NULL) {
        return result;
    }
    *out = proto_strdup(s);
    if (*out == NULL) {
        return proto_wire_dec_nomem(d);
    }
    return PROTO_OK;
}

enum proto_rc proto_wire_dec_text_into(struct proto_wire_dec *d, const cJSON *obj, const char *key,
                                       unsigned flags, const struct proto_wire_text *kind,
                                       char *out, size_t size)
{
    const char *s = NULL;
    if (kind->max_len >= size) {
        return proto_wire_dec_fail(d, PROTO_EINVAL, "no room for the member");
    }
    enum proto_rc result = proto_wire_dec_text(d, obj, key, flags, kind, &s);
    if (result || s == NULL) {
        return result;
    }
    memcpy(out, s, strlen(s) + 1);
    return PROTO_OK;
}

enum proto_rc proto_wire_dec_bool(struct proto_wire_dec *d, const cJSON *obj, const char *key,
                                  unsigned flags, bool *out)
{
    const cJSON *item = NULL;
    enum proto_rc result = wire_member(d, obj, key, flags, &item);
    if (result || item == NULL) {
        return result;
    }
    if (!cJSON_IsBool(item)) {
        return proto_wire_dec_fail_at(d, key, PROTO_ETYPE, "expected true or false");
    }
    *out = cJSON_IsTrue(item);
    return PROTO_OK;
}

enum proto_rc proto_wire_dec_uint(struct proto_wire_dec *d, const cJSON *obj, const char *key,
                                  unsigned flags, uint64_t min, uint64_t max, uint64_t *out)
{
    const cJSON *item = NULL;
    enum proto_rc result = wire_member(d, obj, key, flags, &item);
    if (result || item == NULL) {
        return result;
    }
    size_t saved = proto_wire_dec_enter_key(d, key);
    result = wire_check_uint(d, item, min, max, out);
    proto_wire_dec_leave(d, saved);
    return result;
}

enum proto_rc proto_wire_dec_uuid(struct proto_wire_dec *d, const cJSON *obj, const char *key,
                                  unsigned flags, char out[37])
{
    const char *s = NULL;
    enum proto_rc result = proto_wire_dec_text(d, obj, key, flags, &wire_uuid_text, &s);
    if (result || s == NULL) {
        return result;
    }
    /* One spelling per id, whatever case the sender wrote. */
    (void)proto_wire_lower_copy(s, out, WIRE_UUID_LEN + 1);
    return PROTO_OK;
}

enum proto_rc proto_wire_dec_time(struct proto_wire_dec *d, const cJSON *obj, const char *key,
                                  unsigned flags, int64_t *out)
{
    const char *s = NULL;
    char check[32];
    int64_t t = 0;
    enum proto_rc result = proto_wire_dec_text(d, obj, key, flags, &wire_time_text, &s);
    if (result || s == NULL) {
        return result;
    }
    /* The second step refuses offsets that push a time past 9999, which could not be sent on. */
    if (proto_time_parse_rfc3339(s, &t) != PROTO_OK ||
        proto_time_format_rfc3339(t, check, sizeof(check)) != PROTO_OK || !proto_wire_time_ok(t)) {
        return proto_wire_dec_fail_at(
            d, key, PROTO_EPARSE,
            "expected an RFC 3339 time like 2024-01-31T12:00:00Z (years 0000-9999)");
    }
    *out = t;
    return PROTO_OK;
}

/* `expected "a" or "b"` / `expected one of "a", "b", "c"` into buf. */
static void wire_expected_names(const char *const *names, size_t count, char *buf, size_t size)
{
    size_t used = 0;
    int n = snprintf(buf, size, "expected %s", count > 2 ? "one of " : "");
    for (size_t i = 0; n >= 0 && i < count; i++) {
        used += (size_t)n;
        if (used >= size) {
            return;
        }
        const char *sep = i == 0 ? "" : count == 2 ? " or " : ", ";
        n = snprintf(buf + used, size - used, "%s\"%s\"", sep, names[i]);
    }
}

enum proto_rc proto_wire_dec_enum(struct proto_wire_dec *d, const cJSON *obj, const char *key,
                                  unsigned flags, const char *const *names, size_t count,
                                  size_t *out)
{
    static const struct proto_wire_text any = {0, PROTO_MAX_NAME, NULL, ""};
    const char *s = NULL;
    enum proto_rc result = proto_wire_dec_text(d, obj, key, flags, &any, &s);
    if (result || s == NULL) {
        return result;
    }
    for (size_t i = 0; i < count; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return PROTO_OK;
        }
    }
    char expected[sizeof(d->err->message)];
    wire_expected_names(names, count, expected, sizeof(expected));
    return proto_wire_dec_fail_at(d, key, PROTO_EUNSUPPORTED, "%s", expected);
}

enum proto_rc proto_wire_dec_const(struct proto_wire_dec *d, const cJSON *obj, const char *key,
                                   const char *value)
{
    size_t index = 0;
    return proto_wire_dec_enum(d, obj, key, PROTO_WIRE_REQUIRED, &value, 1, &index);
}

enum proto_rc proto_wire_dec_object(struct proto_wire_dec *d, const cJSON *obj, const char *key,
                                    unsigned flags, const cJSON **out)
{
    enum proto_rc result = wire_member(d, obj, key, flags, out);
    if (result || *out == NULL) {
        return result;
    }
    if (!cJSON_IsObject(*out)) {
        return proto_wire_dec_fail_at(d, key, PROTO_ETYPE, "expected an object");
    }
    return PROTO_OK;
}

enum proto_rc proto_wire_dec_array(struct proto_wire_dec *d, const cJSON *obj, const char *key,
                                   unsigned flags, size_t min, size_t max, const cJSON **out,
                                   size_t *count)
{
    const cJSON *item = NULL;
    *out = NULL;
    *count = 0;
    enum proto_rc result = wire_member(d, obj, key, flags, &item);
    if (result || item == NULL) {
        return result;
    }
    if (!cJSON_IsArray(item)) {
        return proto_wire_dec_fail_at(d, key, PROTO_ETYPE, "expected an array");
    }
    size_t n = 0;
    for (const cJSON *el = item->child; el != NULL && n <= max; el = el->next) {
        n++;
    }
    if (n > max) {
        return proto_wire_dec_fail_at(d, key, PROTO_ELIMIT, "expected at most %zu items", max);
    }
    if (n < min) {
        return proto_wire_dec_fail_at(d, key, PROTO_ELIMIT, "expected at least %zu items", min);
    }
    *out = item;
    *count = n;
    return PROTO_OK;
}

enum proto_rc proto_wire_dec_each(struct proto_wire_dec *d, const cJSON *obj, const char *key,
                                  unsigned flags, size_t min, size_t max, proto_wire_element_fn fn,
                                  void *ctx)
{
    const cJSON *array = NULL;
    size_t count = 0;
    enum proto_rc result = proto_wire_dec_array(d, obj, key, flags, min, max, &array, &count);
    if (result || array == NULL) {
        return result;
    }
    size_t saved = proto_wire_dec_enter_key(d, key);
    size_t index = 0;
    for (const cJSON *el = array->child; el != NULL && !result; el = el->next, index++) {
        size_t saved_index = proto_wire_dec_enter_index(d, index);
        result = fn(d, el, index, ctx);
        proto_wire_dec_leave(d, saved_index);
    }
    proto_wire_dec_leave(d, saved);
    return result;
}

struct wire_strv_ctx {
    const struct proto_wire_text *kind;
    struct proto_strv *v;
    size_t max;
};

static enum proto_rc wire_strv_el(struct proto_wire_dec *d, const cJSON *el, size_t index,
                                  void *ctx)
{
    struct wire_strv_ctx *c = ctx;
    const char *s = NULL;
    (void)index;
    enum proto_rc result = proto_wire_check_text(d, el, c->kind, &s);
    if (result) {
        return result;
    }
    result = proto_strv_push(c->v, s, c->max);
    if (result == PROTO_ENOMEM) {
        return proto_wire_dec_nomem(d);
    }
    if (result) {
        return proto_wire_dec_fail(d, result, "could not store the item");
    }
    return PROTO_OK;
}

enum proto_rc proto_wire_dec_strv(struct proto_wire_dec *d, const cJSON *obj, const char *key,
                                  size_t min, size_t max, const struct proto_wire_text *kind,
                                  struct proto_strv *v)
{
    struct wire_strv_ctx ctx = {kind, v, max};
    return proto_wire_dec_each(d, obj, key, PROTO_WIRE_REQUIRED, min, max, wire_strv_el, &ctx);
}

/* ---- encoding ------------------------------------------------------------------------------ */

bool proto_wire_enc_add(cJSON *obj, const char *key, cJSON *item)
{
    if (item == NULL) {
        return false;
    }
    if (!cJSON_AddItemToObject(obj, key, item)) {
        cJSON_Delete(item);
        return false;
    }
    return true;
}

bool proto_wire_enc_str(cJSON *obj, const char *key, const char *s)
{
    return proto_wire_enc_add(obj, key, cJSON_CreateString(s != NULL ? s : ""));
}

bool proto_wire_enc_bool(cJSON *obj, const char *key, bool b)
{
    return proto_wire_enc_add(obj, key, cJSON_CreateBool(b));
}

bool proto_wire_enc_uint(cJSON *obj, const char *key, uint64_t v)
{
    char digits[24];
    int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)v);
    if (n <= 0 || (size_t)n >= sizeof(digits)) {
        return false;
    }
    return proto_wire_enc_add(obj, key, cJSON_CreateRaw(digits));
}

bool proto_wire_enc_time(cJSON *obj, const char *key, int64_t t)
{
    char text[32];
    if (proto_time_format_rfc3339(t, text, sizeof(text)) != PROTO_OK) {
        text[0] = '\0';
    }
    return proto_wire_enc_str(obj, key, text);
}

bool proto_wire_enc_strv(cJSON *obj, const char *key, const struct proto_strv *v)
{
    cJSON *array = cJSON_CreateArray();
    if (!proto_wire_enc_add(obj, key, array)) {
        return false;
    }
    for (size_t i = 0; i < v->count; i++) {
        cJSON *item = cJSON_CreateString(v->items[i] != NULL ? v->items[i] : "");
        if (item == NULL || !cJSON_AddItemToArray(array, item)) {
            cJSON_Delete(item);
            return false;
        }
    }
    return true;
}

cJSON *proto_wire_enc_push_object(cJSON *array)
{
    cJSON *obj = cJSON_CreateObject();
    if (obj != NULL && !cJSON_AddItemToArray(array, obj)) {
        cJSON_Delete(obj);
        obj = NULL;
    }
    return obj;
}

enum proto_rc proto_wire_enc_print(const cJSON *root, size_t max_bytes, char **out, size_t *out_len)
{
    char *text = cJSON_PrintUnformatted(root);
    if (text == NULL) {
        return PROTO_ENOMEM;
    }
    size_t len = strlen(text);
    if (len > max_bytes) {
        /* cJSON allocates through the hooks proto_alloc_install_cjson_hooks sets: proto_free. */
        proto_free(text);
        return PROTO_ELIMIT;
    }
    *out = text;
    if (out_len != NULL) {
        *out_len = len;
    }
    return PROTO_OK;
}
