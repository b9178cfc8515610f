/*
 * hostinfo: reads a bundle's host.txt (`Key: value` lines) into proto_host and the OEM page.
 *
 * Known keys: Hostname, FQDN, OS, AgentVersion, OEMCodePage (437 or 850 only: the pages
 * proto_text_decode knows), CollectedAt (RFC 3339). Blank lines and '#' comments are skipped,
 * unknown keys ignored. All or nothing: the result is built aside and copied into `host` and
 * `*oem_codepage` only when every line parsed, so a bad file leaves the caller's data intact.
 */
#include "hostinfo.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "caps.h"
#include "text.h"
#include "timefmt.h"
#include "x509.h"

#define HOSTINFO_NUMBER_MAX 16u
#define HOSTINFO_TIME_MAX 64u

struct hostinfo_result {
    struct proto_host host; /* members set by the file; NULL = not present */
    bool have_collected_at;
    bool have_codepage;
    unsigned codepage;
};

static bool hostinfo_is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static void hostinfo_trim(const char **s, size_t *len)
{
    while (*len > 0 && hostinfo_is_blank((*s)[0])) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && hostinfo_is_blank((*s)[*len - 1])) {
        (*len)--;
    }
}

static bool hostinfo_key_is(const char *s, size_t len, const char *key)
{
    return strlen(key) == len && strncasecmp(s, key, len) == 0;
}

static enum proto_rc hostinfo_set(char **member, const char *value, size_t len)
{
    char *copy = proto_strndup(value, len);
    if (copy == NULL) {
        return PROTO_ENOMEM;
    }
    proto_free(*member);
    *member = copy;
    return PROTO_OK;
}

static enum proto_rc hostinfo_codepage(const char *value, size_t len, unsigned *out)
{
    char digits[HOSTINFO_NUMBER_MAX];
    char *end = NULL;

    if (len == 0 || len >= sizeof(digits)) {
        return PROTO_EPARSE;
    }
    for (size_t i = 0; i < len; i++) {
        if (value[i] < '0' || value[i] > '9') {
            return PROTO_EPARSE;
        }
    }
    memcpy(digits, value, len);
    digits[len] = '\0';
    errno = 0;
    unsigned long n = strtoul(digits, &end, 10);
    if (errno != 0 || end != digits + len || (n != 437 && n != 850)) {
        return PROTO_EPARSE;
    }
    *out = (unsigned)n;
    return PROTO_OK;
}

static enum proto_rc hostinfo_collected_at(const char *value, size_t len, int64_t *out)
{
    char stamp[HOSTINFO_TIME_MAX];

    if (len == 0 || len >= sizeof(stamp) || memchr(value, '\0', len) != NULL) {
        return PROTO_EPARSE;
    }
    memcpy(stamp, value, len);
    stamp[len] = '\0';
    return proto_time_parse_rfc3339(stamp, out) == PROTO_OK ? PROTO_OK : PROTO_EPARSE;
}

static enum proto_rc hostinfo_pair(struct hostinfo_result *r, const char *key, size_t key_len,
                                   const char *value, size_t value_len)
{
    if (hostinfo_key_is(key, key_len, "Hostname")) {
        return hostinfo_set(&r->host.hostname, value, value_len);
    }
    if (hostinfo_key_is(key, key_len, "FQDN")) {
        return hostinfo_set(&r->host.fqdn, value, value_len);
    }
    if (hostinfo_key_is(key, key_len, "OS")) {
        return hostinfo_set(&r->host.os, value, value_len);
    }
    if (hostinfo_key_is(key, key_len, "AgentVersion")) {
        return hostinfo_set(&r->host.agent_version, value, value_len);
    }
    if (hostinfo_key_is(key, key_len, "OEMCodePage")) {
        r->have_codepage = true;
        return hostinfo_codepage(value, value_len, &r->codepage);
    }
    if (hostinfo_key_is(key, key_len, "CollectedAt")) {
        r->have_collected_at = true;
        return hostinfo_collected_at(value, value_len, &r->host.collected_at);
    }
    return PROTO_OK; /* unknown keys: newer capture scripts may add some */
}

static void hostinfo_move(char **dst, char **src)
{
    if (*src != NULL) {
        proto_free(*dst);
        *dst = *src;
        *src = NULL;
    }
}

enum proto_rc proto_hostinfo_parse(const char *text, size_t len, struct proto_host *host,
                                   unsigned *oem_codepage)
{
    enum proto_rc result = PROTO_OK;
    struct hostinfo_result r;
    size_t pos = 0, line_len = 0;
    const char *line;

    if (host == NULL || (text == NULL && len > 0)) {
        return PROTO_EINVAL;
    }
    memset(&r, 0, sizeof(r));
    while ((line = proto_text_next_line(text, len, &pos, &line_len)) != NULL) {
        if (line_len > PROTO_MAX_LINE_BYTES) {
            result = PROTO_ELIMIT;
            goto out;
        }
        const char *t = line;
        size_t t_len = line_len;
        hostinfo_trim(&t, &t_len);
        if (t_len == 0 || t[0] == '#') {
            continue;
        }
        const char *colon = memchr(t, ':', t_len);
        if (colon == NULL) {
            result = PROTO_EPARSE;
            goto out;
        }
        const char *key = t, *value = colon + 1;
        size_t key_len = (size_t)(colon - t), value_len = t_len - key_len - 1;
        hostinfo_trim(&key, &key_len);
        hostinfo_trim(&value, &value_len);
        if (value_len > PROTO_MAX_NAME) {
            result = PROTO_ELIMIT;
            goto out;
        }
        result = hostinfo_pair(&r, key, key_len, value, value_len);
        if (result) {
            goto out;
        }
    }
    hostinfo_move(&host->hostname, &r.host.hostname);
    hostinfo_move(&host->fqdn, &r.host.fqdn);
    hostinfo_move(&host->os, &r.host.os);
    hostinfo_move(&host->agent_version, &r.host.agent_version);
    if (r.have_collected_at) {
        host->collected_at = r.host.collected_at;
    }
    if (r.have_codepage && oem_codepage != NULL) {
        *oem_codepage = r.codepage;
    }
out:
    proto_host_clear(&r.host);
    return result;
}
