/*
 * dn: distinguished names as attribute lists: text parsing, RFC 4514-style formatting and
 * structural comparison (DESIGN §6: either order, case- and space-insensitive values).
 *
 * Owns the attribute type table (short names, aliases, OIDs), so every attr stored through this
 * module carries one canonical type: proto_dn_append and proto_dn_parse canonicalize, and x509
 * hands in dotted OIDs. Values are kept exactly as unescaped UTF-8; only comparison folds case
 * (ASCII only) and whitespace. Never recurses, never reads past PROTO_MAX_NAME bytes of text.
 */
#include "dn.h"

#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "caps.h"

/* Longest attribute type kept (a dotted OID may be long; anything longer is refused). */
#define DN_MAX_TYPE 128u
/* Bytes of a type read before giving up: the longest type plus "OID." plus one. */
#define DN_MAX_TYPE_TEXT (DN_MAX_TYPE + 5u)
/* Largest formatted DN: every value byte may become a three-byte \XX escape. */
#define DN_MAX_FORMAT (PROTO_MAX_DN_ATTRS * (3u * PROTO_MAX_STRING + DN_MAX_TYPE + 8u))

struct dn_type {
    const char *name; /* canonical short name */
    const char *oid;
};

/* Short names as Windows (CertNameToStr) and RFC 4514 print them. */
static const struct dn_type dn_types[] = {
    {"CN", "2.5.4.3"},
    {"SN", "2.5.4.4"},
    {"SERIALNUMBER", "2.5.4.5"},
    {"C", "2.5.4.6"},
    {"L", "2.5.4.7"},
    {"ST", "2.5.4.8"},
    {"STREET", "2.5.4.9"},
    {"O", "2.5.4.10"},
    {"OU", "2.5.4.11"},
    {"T", "2.5.4.12"},
    {"DESCRIPTION", "2.5.4.13"},
    {"POSTALCODE", "2.5.4.17"},
    {"POBOX", "2.5.4.18"},
    {"PHONE", "2.5.4.20"},
    {"NAME", "2.5.4.41"},
    {"G", "2.5.4.42"},
    {"I", "2.5.4.43"},
    {"GENERATIONQUALIFIER", "2.5.4.44"},
    {"X500UNIQUEIDENTIFIER", "2.5.4.45"},
    {"DNQUALIFIER", "2.5.4.46"},
    {"PSEUDONYM", "2.5.4.65"},
    {"ORGANIZATIONIDENTIFIER", "2.5.4.97"},
    {"DC", "0.9.2342.19200300.100.1.25"},
    {"UID", "0.9.2342.19200300.100.1.1"},
    {"E", "1.2.840.113549.1.9.1"},
    {"UNSTRUCTUREDNAME", "1.2.840.113549.1.9.2"},
    {"UNSTRUCTUREDADDRESS", "1.2.840.113549.1.9.8"},
};

struct dn_alias {
    const char *alias;
    const char *name;
};

/* Other spellings accepted on input (upper case); the canonical name is stored. */
static const struct dn_alias dn_aliases[] = {
    {"EMAIL", "E"},
    {"EMAILADDRESS", "E"},
    {"S", "ST"},
    {"STATEORPROVINCENAME", "ST"},
    {"TITLE", "T"},
    {"GN", "G"},
    {"GIVENNAME", "G"},
    {"SURNAME", "SN"},
    {"INITIALS", "I"},
    {"USERID", "UID"},
    {"COMMONNAME", "CN"},
    {"COUNTRYNAME", "C"},
    {"LOCALITYNAME", "L"},
    {"STREETADDRESS", "STREET"},
    {"ORGANIZATIONNAME", "O"},
    {"ORGANIZATIONALUNITNAME", "OU"},
    {"DOMAINCOMPONENT", "DC"},
};

static bool dn_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool dn_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool dn_is_alpha(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* ASCII only on purpose: locale-dependent case mapping must not change what compares equal. */
static char dn_upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static char dn_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int dn_hex_value(char c)
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

static bool dn_streq_nocase(const char *a, const char *b)
{
    while (*a != '\0' && dn_upper(*a) == dn_upper(*b)) {
        a++;
        b++;
    }
    return dn_upper(*a) == dn_upper(*b);
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
static bool dn_utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t need;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0) {
                lo = 0xA0;
            } else if (c == 0xED) {
                hi = 0x9F;
            }
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0) {
                lo = 0x90;
            } else if (c == 0xF4) {
                hi = 0x8F;
            }
        } else {
            return false;
        }
        if (len - i <= need) {
            return false;
        }
        if (s[i + 1] < lo || s[i + 1] > hi) {
            return false;
        }
        for (size_t k = 2; k <= need; k++) {
            if (s[i + k] < 0x80 || s[i + k] > 0xBF) {
                return false;
            }
        }
        i += need + 1;
    }
    return true;
}

/* Dotted decimal with at least two arcs and no leading zeros, so each OID has one spelling. */
static bool dn_is_dotted_oid(const char *s, size_t len)
{
    size_t arcs = 0, i = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && dn_is_digit(s[i])) {
            i++;
        }
        if (i == start || (s[start] == '0' && i - start > 1)) {
            return false;
        }
        arcs++;
        if (i < len) {
            if (s[i] != '.' || i + 1 == len) {
                return false;
            }
            i++;
        }
    }
    return arcs >= 2;
}

/*
 * Canonical form of an attribute type written as `len` bytes at `type`: a known short name, an
 * alias, `OID.x.y` or `x.y` become the short name; an unknown OID stays dotted (without "OID.");
 * an unknown name is upper-cased. out has DN_MAX_TYPE + 1 bytes.
 */
static enum proto_rc dn_canonical_type(const char *type, size_t len, char *out)
{
    if (len == 0) {
        return PROTO_EPARSE;
    }
    if (len > 4 && dn_upper(type[0]) == 'O' && dn_upper(type[1]) == 'I' &&
        dn_upper(type[2]) == 'D' && type[3] == '.') {
        type += 4;
        len -= 4;
        if (!dn_is_digit(type[0])) {
            return PROTO_EPARSE;
        }
    }
    /* Measured without "OID.", which format adds back: whatever was stored must parse again. */
    if (len > DN_MAX_TYPE) {
        return PROTO_ELIMIT;
    }
    if (dn_is_digit(type[0])) {
        if (!dn_is_dotted_oid(type, len)) {
            return PROTO_EPARSE;
        }
        memcpy(out, type, len);
        out[len] = '\0';
        for (size_t i = 0; i < sizeof(dn_types) / sizeof(dn_types[0]); i++) {
            if (strcmp(out, dn_types[i].oid) == 0) {
                size_t n = strlen(dn_types[i].name);
                memcpy(out, dn_types[i].name, n + 1);
                break;
            }
        }
        return PROTO_OK;
    }
    if (!dn_is_alpha(type[0])) {
        return PROTO_EPARSE;
    }
    for (size_t i = 0; i < len; i++) {
        char c = type[i];
        if (!dn_is_alpha(c) && !dn_is_digit(c) && c != '-') {
            return PROTO_EPARSE;
        }
        out[i] = dn_upper(c);
    }
    out[len] = '\0';
    for (size_t i = 0; i < sizeof(dn_aliases) / sizeof(dn_aliases[0]); i++) {
        if (strcmp(out, dn_aliases[i].alias) == 0) {
            size_t n = strlen(dn_aliases[i].name);
            memcpy(out, dn_aliases[i].name, n + 1);
            break;
        }
    }
    return PROTO_OK;
}

void proto_dn_clear(struct proto_dn *dn)
{
    if (dn == NULL) {
        return;
    }
    for (size_t i = 0; i < dn->count; i++) {
        proto_free(dn->attrs[i].type);
        proto_free(dn->attrs[i].value);
    }
    proto_free(dn->attrs);
    dn->attrs = NULL;
    dn->count = 0;
}

/* Appends an already canonical type and a validated value of `value_len` bytes. */
static enum proto_rc dn_append_raw(struct proto_dn *dn, const char *type, const char *value,
                                   size_t value_len, bool same_rdn_as_prev)
{
    enum proto_rc result = PROTO_ENOMEM;
    char *type_copy = NULL;
    char *value_copy = NULL;

    if (dn->count >= PROTO_MAX_DN_ATTRS) {
        return PROTO_ELIMIT;
    }
    type_copy = proto_strdup(type);
    value_copy = proto_strndup(value, value_len);
    if (type_copy == NULL || value_copy == NULL) {
        goto out;
    }
    struct proto_dn_attr *grown = proto_realloc(dn->attrs, (dn->count + 1) * sizeof(*grown));
    if (grown == NULL) {
        goto out;
    }
    dn->attrs = grown;
    dn->attrs[dn->count].type = type_copy;
    dn->attrs[dn->count].value = value_copy;
    /* The first attr always opens an RDN, whatever the caller says. */
    dn->attrs[dn->count].same_rdn_as_prev = dn->count > 0 && same_rdn_as_prev;
    dn->count++;
    type_copy = NULL;
    value_copy = NULL;
    result = PROTO_OK;
out:
    proto_free(type_copy);
    proto_free(value_copy);
    return result;
}

enum proto_rc proto_dn_append(struct proto_dn *dn, const char *type, const char *value,
                              bool same_rdn_as_prev)
{
    char canonical[DN_MAX_TYPE + 1];

    if (dn == NULL || type == NULL || value == NULL) {
        return PROTO_EINVAL;
    }
    if (dn->count >= PROTO_MAX_DN_ATTRS) {
        return PROTO_ELIMIT;
    }
    enum proto_rc result = dn_canonical_type(type, strnlen(type, DN_MAX_TYPE_TEXT), canonical);
    if (result) {
        return result;
    }
    size_t value_len = strlen(value);
    if (!dn_utf8_valid((const unsigned char *)value, value_len)) {
        return PROTO_EENCODING;
    }
    return dn_append_raw(dn, canonical, value, value_len, same_rdn_as_prev);
}

/* Reads one escape at *pp (pointing at the backslash) into *byte and moves past it. */
static enum proto_rc dn_unescape(const char **pp, const char *end, char *byte)
{
    const char *p = *pp + 1;
    if (p == end) {
        return PROTO_EPARSE;
    }
    int hi = dn_hex_value(*p);
    if (hi >= 0) {
        int lo = (p + 1 < end) ? dn_hex_value(p[1]) : -1;
        /* \00 would cut the C string short, so it is refused like any bad escape. */
        if (lo < 0 || (hi == 0 && lo == 0)) {
            return PROTO_EPARSE;
        }
        *byte = (char)(unsigned char)(hi * 16 + lo);
        *pp = p + 2;
        return PROTO_OK;
    }
    if (*p == '\0' || strchr(",+\"\\<>;=# ", *p) == NULL) {
        return PROTO_EPARSE;
    }
    *byte = *p;
    *pp = p + 1;
    return PROTO_OK;
}

static bool dn_is_separator(char c)
{
    return c == ',' || c == ';' || c == '+';
}

/*
 * Reads a value starting at *pp (leading whitespace already skipped) into out, stopping at a
 * separator or the end. Quoted values keep their spaces and take both `\"` and Windows' `""`
 * for a quote; unquoted values lose unescaped trailing whitespace.
 */
static enum proto_rc dn_parse_value(const char **pp, const char *end, char *out, size_t *out_len)
{
    const char *p = *pp;
    size_t n = 0;
    enum proto_rc result;

    if (p < end && *p == '"') {
        p++;
        for (;;) {
            if (p == end) {
                return PROTO_EPARSE; /* unterminated quote */
            }
            if (*p == '"') {
                if (p + 1 < end && p[1] == '"') {
                    out[n++] = '"';
                    p += 2;
                    continue;
                }
                p++;
                break;
            }
            if (*p == '\\') {
                result = dn_unescape(&p, end, &out[n]);
                if (result) {
                    return result;
                }
                n++;
                continue;
            }
            out[n++] = *p++;
        }
        while (p < end && dn_is_space(*p)) {
            p++;
        }
        if (p < end && !dn_is_separator(*p)) {
            return PROTO_EPARSE; /* garbage after the closing quote */
        }
    } else {
        size_t keep = 0;
        while (p < end && !dn_is_separator(*p)) {
            if (*p == '\\') {
                result = dn_unescape(&p, end, &out[n]);
                if (result) {
                    return result;
                }
                keep = ++n;
                continue;
            }
            out[n++] = *p;
            if (!dn_is_space(*p)) {
                keep = n;
            }
            p++;
        }
        n = keep;
    }
    out[n] = '\0';
    *out_len = n;
    *pp = p;
    return PROTO_OK;
}

static bool dn_is_type_char(char c)
{
    return dn_is_alpha(c) || dn_is_digit(c) || c == '.' || c == '-';
}

enum proto_rc proto_dn_parse(const char *text, struct proto_dn *out)
{
    enum proto_rc result = PROTO_OK;
    /* Each output byte comes from at least one input byte, so text-sized buffers suffice. */
    char value[PROTO_MAX_NAME + 1];
    char type[DN_MAX_TYPE + 1];
    bool same_rdn = false;

    if (text == NULL || out == NULL || out->count != 0 || out->attrs != NULL) {
        return PROTO_EINVAL;
    }
    size_t len = strnlen(text, PROTO_MAX_NAME + 1);
    if (len > PROTO_MAX_NAME) {
        return PROTO_ELIMIT;
    }
    const char *p = text;
    const char *end = text + len;
    while (p < end && dn_is_space(*p)) {
        p++;
    }
    if (p == end) {
        return PROTO_EPARSE;
    }
    for (;;) {
        while (p < end && dn_is_space(*p)) {
            p++;
        }
        const char *type_start = p;
        while (p < end && dn_is_type_char(*p)) {
            p++;
        }
        result = dn_canonical_type(type_start, (size_t)(p - type_start), type);
        if (result) {
            goto out;
        }
        while (p < end && dn_is_space(*p)) {
            p++;
        }
        if (p == end || *p != '=') {
            result = PROTO_EPARSE;
            goto out;
        }
        p++;
        while (p < end && dn_is_space(*p)) {
            p++;
        }
        size_t value_len = 0;
        result = dn_parse_value(&p, end, value, &value_len);
        if (result) {
            goto out;
        }
        if (!dn_utf8_valid((const unsigned char *)value, value_len)) {
            result = PROTO_EENCODING;
            goto out;
        }
        result = dn_append_raw(out, type, value, value_len, same_rdn);
        if (result) {
            goto out;
        }
        if (p == end) {
            break;
        }
        same_rdn = *p == '+';
        p++;
    }
out:
    if (result) {
        proto_dn_clear(out);
    }
    return result;
}

static enum proto_rc dn_format_value(struct proto_buf *b, const char *value)
{
    enum proto_rc result = PROTO_OK;
    size_t len = strlen(value);

    for (size_t i = 0; i < len && result == PROTO_OK; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c < 0x20 || c == 0x7F) {
            /* Control bytes (tab, CR, LF included) as hex, so trimming can never eat them. */
            result = proto_buf_appendf(b, "\\%02X", (unsigned)c);
        } else if (strchr(",+\"\\<>;=", c) != NULL || (c == '#' && i == 0) ||
                   (c == ' ' && (i == 0 || i + 1 == len))) {
            char esc[2] = {'\\', (char)c};
            result = proto_buf_append(b, esc, sizeof(esc));
        } else {
            result = proto_buf_append_byte(b, c);
        }
    }
    return result;
}

enum proto_rc proto_dn_format(const struct proto_dn *dn, bool reverse, char **out)
{
    enum proto_rc result = PROTO_OK;
    struct proto_buf b;

    if (dn == NULL || out == NULL) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    proto_buf_init(&b, DN_MAX_FORMAT);
    for (size_t k = 0; k < dn->count && result == PROTO_OK; k++) {
        size_t i = reverse ? dn->count - 1 - k : k;
        const struct proto_dn_attr *attr = &dn->attrs[i];
        if (k > 0) {
            bool joined = reverse ? dn->attrs[i + 1].same_rdn_as_prev : attr->same_rdn_as_prev;
            result = proto_buf_append_str(&b, joined ? "+" : ", ");
        }
        if (result == PROTO_OK && dn_is_digit(attr->type[0])) {
            result = proto_buf_append_str(&b, "OID.");
        }
        if (result == PROTO_OK) {
            result = proto_buf_append_str(&b, attr->type);
        }
        if (result == PROTO_OK) {
            result = proto_buf_append_byte(&b, '=');
        }
        if (result == PROTO_OK) {
            result = dn_format_value(&b, attr->value);
        }
    }
    if (result == PROTO_OK) {
        *out = proto_buf_detach(&b, NULL);
        if (*out == NULL) {
            result = PROTO_ENOMEM;
        }
    }
    proto_buf_free(&b);
    return result;
}

/* Next character of a value as compared: ASCII case folded, whitespace runs as one space,
 * nothing for trailing whitespace; -1 at the end. Leading whitespace is skipped by the caller. */
static int dn_norm_next(const char **pp)
{
    const char *p = *pp;
    if (*p == '\0') {
        return -1;
    }
    if (dn_is_space(*p)) {
        while (dn_is_space(*p)) {
            p++;
        }
        *pp = p;
        return *p == '\0' ? -1 : ' ';
    }
    *pp = p + 1;
    return (unsigned char)dn_lower(*p);
}

static bool dn_value_equal(const char *a, const char *b)
{
    while (dn_is_space(*a)) {
        a++;
    }
    while (dn_is_space(*b)) {
        b++;
    }
    for (;;) {
        int ca = dn_norm_next(&a);
        int cb = dn_norm_next(&b);
        if (ca != cb) {
            return false;
        }
        if (ca < 0) {
            return true;
        }
    }
}

static bool dn_attr_equal(const struct proto_dn_attr *a, const struct proto_dn_attr *b)
{
    return dn_streq_nocase(a->type, b->type) && dn_value_equal(a->value, b->value);
}

/* Start index of every RDN, plus count at the end; returns the number of RDNs. */
static size_t dn_rdn_starts(const struct proto_dn *dn, size_t *starts)
{
    size_t n = 0;
    for (size_t i = 0; i < dn->count; i++) {
        if (i == 0 || !dn->attrs[i].same_rdn_as_prev) {
            starts[n++] = i;
        }
    }
    starts[n] = dn->count;
    return n;
}

/* The attrs of a multi-valued RDN form a set, so they match in any order. */
static bool dn_rdn_equal(const struct proto_dn *a, size_t a_start, size_t a_end,
                         const struct proto_dn *b, size_t b_start, size_t b_end)
{
    bool used[PROTO_MAX_DN_ATTRS] = {false};

    if (a_end - a_start != b_end - b_start) {
        return false;
    }
    for (size_t i = a_start; i < a_end; i++) {
        bool found = false;
        for (size_t j = b_start; j < b_end && !found; j++) {
            if (!used[j - b_start] && dn_attr_equal(&a->attrs[i], &b->attrs[j])) {
                used[j - b_start] = true;
                found = true;
            }
        }
        if (!found) {
            return false;
        }
    }
    return true;
}

bool proto_dn_equal(const struct proto_dn *a, const struct proto_dn *b)
{
    size_t sa[PROTO_MAX_DN_ATTRS + 1];
    size_t sb[PROTO_MAX_DN_ATTRS + 1];

    if (a == NULL || b == NULL) {
        return false;
    }
    if (a->count != b->count) {
        return false;
    }
    if (a->count == 0) {
        return true;
    }
    /* Defensive: only hand-built DNs can exceed the cap; they never compare equal. */
    if (a->count > PROTO_MAX_DN_ATTRS) {
        return false;
    }
    size_t na = dn_rdn_starts(a, sa);
    size_t nb = dn_rdn_starts(b, sb);
    if (na != nb) {
        return false;
    }
    bool forward = true;
    for (size_t i = 0; i < na && forward; i++) {
        forward = dn_rdn_equal(a, sa[i], sa[i + 1], b, sb[i], sb[i + 1]);
    }
    if (forward) {
        return true;
    }
    for (size_t i = 0; i < na; i++) {
        size_t j = na - 1 - i;
        if (!dn_rdn_equal(a, sa[i], sa[i + 1], b, sb[j], sb[j + 1])) {
            return false;
        }
    }
    return true;
}

enum proto_rc proto_dn_copy(const struct proto_dn *src, struct proto_dn *dst)
{
    enum proto_rc result = PROTO_OK;

    if (src == NULL || dst == NULL || dst->count != 0 || dst->attrs != NULL) {
        return PROTO_EINVAL;
    }
    if (src->count == 0) {
        return PROTO_OK;
    }
    dst->attrs = proto_calloc(src->count, sizeof(*dst->attrs));
    if (dst->attrs == NULL) {
        return PROTO_ENOMEM;
    }
    for (size_t i = 0; i < src->count; i++) {
        struct proto_dn_attr *d = &dst->attrs[i];
        d->type = proto_strdup(src->attrs[i].type);
        d->value = proto_strdup(src->attrs[i].value);
        d->same_rdn_as_prev = src->attrs[i].same_rdn_as_prev;
        dst->count = i + 1;
        if (d->type == NULL || d->value == NULL) {
            result = PROTO_ENOMEM;
            break;
        }
    }
    if (result) {
        proto_dn_clear(dst);
    }
    return result;
}

const char *proto_dn_get(const struct proto_dn *dn, const char *type)
{
    char canonical[DN_MAX_TYPE + 1];

    if (dn == NULL || type == NULL) {
        return NULL;
    }
    if (dn_canonical_type(type, strnlen(type, DN_MAX_TYPE_TEXT), canonical) != PROTO_OK) {
        return NULL;
    }
    for (size_t i = dn->count; i > 0; i--) {
        if (dn_streq_nocase(dn->attrs[i - 1].type, canonical)) {
            return dn->attrs[i - 1].value;
        }
    }
    return NULL;
}
