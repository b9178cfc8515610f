/*
 * netsh_sslcert: reads `netsh http show sslcert` text into http.sys SSL bindings.
 *
 * A binding is a block of indented `Label : value` lines; the label ends at the first colon
 * followed by a blank (or the line end), so "IP:port" and values such as "[::]:443" keep
 * their colons. Only the endpoint, Certificate Hash, Application ID and Certificate Store Name
 * are kept; " Extended Properties:" sub-blocks and other labels are skipped. A hash that is not
 * 40 hex digits is stored as "" with one summary error entry ("(null)" or empty is simply "no
 * hash"); a store name of "(null)" is stored as NULL. Past a cap the parse fails and the
 * bindings it added are discarded.
 */
#include "netsh_sslcert.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "caps.h"
#include "text.h"

#define SSLCERT_QUOTE_MAX 120

struct sslcert_parser {
    struct proto_snapshot *snap;
    size_t first_binding; /* snap->ssl_binding_count on entry, for rollback */
    bool in_binding;      /* lines belong to the last binding */
    bool in_extended;     /* inside an Extended Properties sub-block */
    bool header;          /* "SSL Certificate bindings:" seen */
    bool too_many;
    size_t bad_hashes;
    char bad_hash_endpoint[SSLCERT_QUOTE_MAX + 1];
    char first_junk[SSLCERT_QUOTE_MAX + 1]; /* first unindented line we did not understand */
};

static bool sslcert_is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static void sslcert_trim(const char **s, size_t *len)
{
    while (*len > 0 && sslcert_is_blank((*s)[0])) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && sslcert_is_blank((*s)[*len - 1])) {
        (*len)--;
    }
}

static bool sslcert_equals_ci(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

static bool sslcert_all_char(const char *s, size_t len, char c)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] != c) {
            return false;
        }
    }
    return len > 0;
}

/* Copies at most SSLCERT_QUOTE_MAX bytes of s into dst, replacing control bytes. */
static void sslcert_quote(char *dst, const char *s, size_t len)
{
    if (len > SSLCERT_QUOTE_MAX) {
        len = SSLCERT_QUOTE_MAX;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[i] = (char)(c < 0x20 || c == 0x7F ? '?' : c);
    }
    dst[len] = '\0';
}

static enum proto_rc sslcert_set(char **member, const char *value, size_t len, size_t max)
{
    if (len > max) {
        return PROTO_ELIMIT;
    }
    char *copy = proto_strndup(value, len);
    if (copy == NULL) {
        return PROTO_ENOMEM;
    }
    proto_free(*member);
    *member = copy;
    return PROTO_OK;
}

static struct proto_ssl_binding *sslcert_current(struct sslcert_parser *p)
{
    return &p->snap->ssl_bindings[p->snap->ssl_binding_count - 1];
}

static enum proto_rc sslcert_new_binding(struct sslcert_parser *p, const char *kind,
                                         const char *endpoint, size_t endpoint_len)
{
    struct proto_ssl_binding *b = NULL;
    enum proto_rc result;

    if (endpoint_len > PROTO_MAX_NAME) {
        return PROTO_ELIMIT;
    }
    result = proto_snapshot_add_ssl_binding(p->snap, &b);
    if (result) {
        p->too_many = result == PROTO_ELIMIT;
        return result;
    }
    p->in_binding = true;
    p->in_extended = false;
    b->kind = proto_strdup(kind);
    b->endpoint = proto_strndup(endpoint, endpoint_len);
    if (b->kind == NULL || b->endpoint == NULL) {
        return PROTO_ENOMEM;
    }
    return PROTO_OK;
}

static void sslcert_set_hash(struct sslcert_parser *p, struct proto_ssl_binding *b,
                             const char *value, size_t len)
{
    bool ok = len == PROTO_SHA1_HEX_LEN;
    for (size_t i = 0; ok && i < len; i++) {
        ok = isxdigit((unsigned char)value[i]) != 0;
    }
    if (ok) {
        for (size_t i = 0; i < len; i++) {
            b->cert_hash[i] = (char)toupper((unsigned char)value[i]);
        }
        b->cert_hash[len] = '\0';
        return;
    }
    b->cert_hash[0] = '\0';
    if (len == 0 || sslcert_equals_ci(value, len, "(null)")) {
        return;
    }
    if (p->bad_hashes++ == 0) {
        sslcert_quote(p->bad_hash_endpoint, b->endpoint, strlen(b->endpoint));
    }
}

/* One indented `Label : value` line. */
static enum proto_rc sslcert_pair(struct sslcert_parser *p, const char *label, size_t label_len,
                                  const char *value, size_t value_len)
{
    enum proto_rc result = PROTO_OK;
    const char *kind = NULL;

    if (sslcert_equals_ci(label, label_len, "Extended Properties")) {
        p->in_extended = true;
        return PROTO_OK;
    }
    if (sslcert_equals_ci(label, label_len, "IP:port")) {
        kind = "ipport";
    } else if (sslcert_equals_ci(label, label_len, "Hostname:port")) {
        kind = "hostnameport";
    } else if (sslcert_equals_ci(label, label_len, "Central Certificate Store")) {
        kind = "ccs";
    }
    if (kind != NULL) {
        return sslcert_new_binding(p, kind, value, value_len);
    }
    if (!p->in_binding) {
        if (p->in_extended) {
            return PROTO_OK; /* a further property block of the same binding */
        }
        return sslcert_new_binding(p, "other", value, value_len);
    }
    if (p->in_extended) {
        return PROTO_OK;
    }
    struct proto_ssl_binding *b = sslcert_current(p);
    if (sslcert_equals_ci(label, label_len, "Certificate Hash")) {
        sslcert_set_hash(p, b, value, value_len);
    } else if (sslcert_equals_ci(label, label_len, "Application ID")) {
        result = sslcert_set(&b->app_id, value, value_len, PROTO_MAX_STRING);
        for (char *c = b->app_id; result == PROTO_OK && *c != '\0'; c++) {
            *c = (char)tolower((unsigned char)*c);
        }
    } else if (sslcert_equals_ci(label, label_len, "Certificate Store Name")) {
        if (sslcert_equals_ci(value, value_len, "(null)")) {
            proto_free(b->store_name);
            b->store_name = NULL;
        } else {
            result = sslcert_set(&b->store_name, value, value_len, PROTO_MAX_STRING);
        }
    }
    return result;
}

static enum proto_rc sslcert_line(struct sslcert_parser *p, const char *line, size_t len)
{
    const char *t = line;
    size_t t_len = len;

    sslcert_trim(&t, &t_len);
    if (t_len == 0) {
        p->in_binding = false;
        return PROTO_OK;
    }
    if (sslcert_equals_ci(t, t_len, "SSL Certificate bindings:")) {
        p->header = true;
        return PROTO_OK;
    }
    if (sslcert_all_char(t, t_len, '-')) {
        return PROTO_OK;
    }
    if (!sslcert_is_blank(line[0])) {
        if (p->first_junk[0] == '\0') {
            sslcert_quote(p->first_junk, t, t_len);
        }
        return PROTO_OK;
    }
    size_t colon = t_len;
    for (size_t i = 0; i < t_len; i++) {
        if (t[i] == ':' && (i + 1 == t_len || t[i + 1] == ' ' || t[i + 1] == '\t')) {
            colon = i;
            break;
        }
    }
    if (colon == t_len) {
        return PROTO_OK; /* an indented line without a label: nothing we use */
    }
    const char *label = t, *value = t + colon + 1;
    size_t label_len = colon, value_len = t_len - colon - 1;
    sslcert_trim(&label, &label_len);
    sslcert_trim(&value, &value_len);
    return sslcert_pair(p, label, label_len, value, value_len);
}

enum proto_rc proto_netsh_sslcert_parse(const char *text, size_t len, const char *source,
                                        struct proto_snapshot *snap)
{
    enum proto_rc result = PROTO_OK;
    struct sslcert_parser p;
    size_t pos = 0, line_len = 0, line_no = 0;
    const char *line;
    bool blank = true;

    if (snap == NULL || source == NULL || (text == NULL && len > 0)) {
        return PROTO_EINVAL;
    }
    memset(&p, 0, sizeof(p));
    p.snap = snap;
    p.first_binding = snap->ssl_binding_count;

    for (size_t i = 0; i < len && blank; i++) {
        blank = sslcert_is_blank(text[i]);
    }
    if (blank) {
        result = PROTO_EUNAVAILABLE;
        (void)proto_snapshot_add_error(snap, source, result,
                                       "netsh produced no output (source unavailable)");
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
        result = sslcert_line(&p, line, line_len);
        if (result == PROTO_ELIMIT) {
            if (p.too_many) {
                (void)proto_snapshot_add_error(snap, source, result, "more than %u SSL bindings",
                                               PROTO_MAX_SSL_BINDINGS);
            } else {
                (void)proto_snapshot_add_error(snap, source, result,
                                               "value at line %zu is longer than the cap", line_no);
            }
            goto out;
        }
        if (result) {
            goto out;
        }
    }
    if (!p.header && snap->ssl_binding_count == p.first_binding) {
        result = PROTO_EPARSE;
        (void)proto_snapshot_add_error(snap, source, result, "not an SSL binding listing: \"%s\"",
                                       p.first_junk);
        goto out;
    }
    snap->ssl_bindings_available = true;
    if (p.bad_hashes > 0) {
        (void)proto_snapshot_add_error(snap, source, PROTO_EPARSE,
                                       "%zu binding(s) with a certificate hash that is not %d "
                                       "hex digits (first: %s)",
                                       p.bad_hashes, PROTO_SHA1_HEX_LEN, p.bad_hash_endpoint);
    }
out:
    if (result) {
        if (result == PROTO_ENOMEM) {
            (void)proto_snapshot_add_error(snap, source, result, "out of memory");
        }
        while (snap->ssl_binding_count > p.first_binding) {
            proto_ssl_binding_clear(&snap->ssl_bindings[snap->ssl_binding_count - 1]);
            snap->ssl_binding_count--;
        }
    }
    return result;
}
