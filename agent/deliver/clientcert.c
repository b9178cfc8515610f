/*
 * clientcert: the rule that picks the machine's client certificate, over facts only.
 *
 * The rule mirrors what an administrator would check by hand in certlm.msc: a private key, in
 * its validity period, usable for client authentication, naming this host, from the expected
 * CA and template, and the newest of those. Keeping it here, away from crypt32, lets the Linux
 * tests feed it made-up certificates; clientcert_win32.c only gathers the facts. The template
 * extensions are read with mbedTLS's ASN.1 reader, whose bounds checks make the DER harmless.
 */
#include "clientcert.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <mbedtls/asn1.h>
#include <mbedtls/oid.h>

#include "dn.h"

#define CLIENTCERT_SHOWN_HEX 8u /* thumbprint digits quoted per certificate in a refusal */

enum proto_rc agent_clientcert_want_init(struct agent_clientcert_want *want,
                                         const struct agent_config *cfg, const char *host_fqdn,
                                         int64_t now)
{
    memset(want, 0, sizeof(*want));
    want->now = now;
    if (cfg->client_cert_thumbprint[0] != '\0' &&
        agent_config_thumbprint(cfg->client_cert_thumbprint, want->thumbprint) != PROTO_OK) {
        return PROTO_EINVAL;
    }
    if (cfg->client_cert_issuer[0] != '\0') {
        enum proto_rc rc = proto_dn_parse(cfg->client_cert_issuer, &want->issuer);
        if (rc) {
            return rc == PROTO_ENOMEM ? rc : PROTO_EINVAL;
        }
    }
    int n = snprintf(want->template_id, sizeof(want->template_id), "%s", cfg->client_cert_template);
    const char *fqdn = cfg->fqdn_override[0] != '\0' ? cfg->fqdn_override : host_fqdn;
    int m = snprintf(want->fqdn, sizeof(want->fqdn), "%s", fqdn != NULL ? fqdn : "");
    if (n < 0 || (size_t)n >= sizeof(want->template_id) || m < 0 ||
        (size_t)m >= sizeof(want->fqdn)) {
        agent_clientcert_want_clear(want);
        return PROTO_EINVAL;
    }
    return PROTO_OK;
}

void agent_clientcert_want_clear(struct agent_clientcert_want *want)
{
    if (want != NULL) {
        proto_dn_clear(&want->issuer);
    }
}

void agent_clientcert_candidate_clear(struct agent_clientcert_candidate *c)
{
    if (c != NULL) {
        proto_cert_clear(&c->cert);
        c->template_oid[0] = '\0';
        c->template_name[0] = '\0';
    }
}

/* Host names compare without case and without one final '.' (an absolute name). */
static bool clientcert_same_host(const char *a, const char *b)
{
    size_t la = strlen(a);
    size_t lb = strlen(b);
    la -= la > 0 && a[la - 1] == '.' ? 1 : 0;
    lb -= lb > 0 && b[lb - 1] == '.' ? 1 : 0;
    return la > 0 && la == lb && strncasecmp(a, b, la) == 0;
}

static bool clientcert_client_auth(const struct proto_cert *cert)
{
    return !cert->has_eku || proto_strv_contains(&cert->eku, PROTO_OID_CLIENT_AUTH) ||
           proto_strv_contains(&cert->eku, PROTO_OID_ANY_PURPOSE);
}

static bool clientcert_names_host(const struct proto_cert *cert, const char *fqdn)
{
    for (size_t i = 0; i < cert->san_dns.count; i++) {
        if (clientcert_same_host(cert->san_dns.items[i], fqdn)) {
            return true;
        }
    }
    return false;
}

/* A v2+ template by its OID, a v1 template by its name (names ignore case, as AD does). */
static bool clientcert_template_matches(const struct agent_clientcert_candidate *c,
                                        const char *want)
{
    return (c->template_oid[0] != '\0' && strcmp(c->template_oid, want) == 0) ||
           (c->template_name[0] != '\0' && strcasecmp(c->template_name, want) == 0);
}

const char *agent_clientcert_refusal(const struct agent_clientcert_want *want,
                                     const struct agent_clientcert_candidate *c)
{
    const struct proto_cert *cert = &c->cert;
    if (!cert->parsed) {
        return "cannot be parsed";
    }
    if (!cert->has_private_key) {
        return "no private key";
    }
    if (want->now < cert->not_before) {
        return "not yet valid";
    }
    if (want->now > cert->not_after) {
        return "expired";
    }
    if (!clientcert_client_auth(cert)) {
        return "not for client authentication (EKU)";
    }
    if (want->issuer.count > 0 && !proto_dn_equal(&want->issuer, &cert->issuer)) {
        return "issuer is not client_cert_issuer";
    }
    if (want->template_id[0] != '\0' && !clientcert_template_matches(c, want->template_id)) {
        return "template is not client_cert_template";
    }
    if (want->thumbprint[0] == '\0') {
        if (want->fqdn[0] == '\0') {
            return "this host's FQDN is unknown (set fqdn_override)";
        }
        if (!clientcert_names_host(cert, want->fqdn)) {
            return "no SAN DNS name equal to this host's FQDN";
        }
    }
    return NULL;
}

/* True when a should be preferred over b. */
static bool clientcert_newer(const struct proto_cert *a, const struct proto_cert *b)
{
    if (a->not_before != b->not_before) {
        return a->not_before > b->not_before;
    }
    if (a->not_after != b->not_after) {
        return a->not_after > b->not_after;
    }
    return strcmp(a->sha1, b->sha1) < 0;
}

/* Appends printf-style text to why[*used..], keeping it NUL-terminated and truncated. */
static void clientcert_append(char *why, size_t why_size, size_t *used, const char *text)
{
    if (why == NULL || why_size == 0 || *used >= why_size - 1) {
        return;
    }
    int n = snprintf(why + *used, why_size - *used, "%s", text);
    if (n < 0) {
        why[*used] = '\0';
        return;
    }
    *used += (size_t)n < why_size - *used ? (size_t)n : why_size - *used - 1;
}

enum proto_rc agent_clientcert_choose(const struct agent_clientcert_want *want,
                                      const struct agent_clientcert_candidate *c, size_t n,
                                      size_t *chosen, char *why, size_t why_size)
{
    char line[PROTO_MAX_NAME + 128];
    size_t used = 0;
    if (why != NULL && why_size > 0) {
        why[0] = '\0';
    }
    if (want == NULL || (c == NULL && n > 0) || chosen == NULL) {
        return PROTO_EINVAL;
    }
    if (want->thumbprint[0] != '\0') {
        for (size_t i = 0; i < n; i++) {
            if (strcmp(c[i].cert.sha1, want->thumbprint) != 0) {
                continue;
            }
            const char *refusal = agent_clientcert_refusal(want, &c[i]);
            if (refusal == NULL) {
                *chosen = i;
                return PROTO_OK;
            }
            int k = snprintf(line, sizeof(line), "certificate %s in %s: %s", want->thumbprint,
                             AGENT_CLIENTCERT_STORE, refusal);
            clientcert_append(why, why_size, &used, k > 0 ? line : refusal);
            return PROTO_ENOTFOUND;
        }
        int k = snprintf(line, sizeof(line), "certificate %s (client_cert_thumbprint) is not in %s",
                         want->thumbprint, AGENT_CLIENTCERT_STORE);
        clientcert_append(why, why_size, &used, k > 0 ? line : "no such certificate");
        return PROTO_ENOTFOUND;
    }
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        if (agent_clientcert_refusal(want, &c[i]) == NULL &&
            (!found || clientcert_newer(&c[i].cert, &c[*chosen].cert))) {
            *chosen = i;
            found = true;
        }
    }
    if (found) {
        return PROTO_OK;
    }
    int k = snprintf(line, sizeof(line),
                     "no certificate in %s qualifies as the client certificate of '%s' (%zu "
                     "examined)",
                     AGENT_CLIENTCERT_STORE, want->fqdn, n);
    clientcert_append(why, why_size, &used, k > 0 ? line : "no certificate qualifies");
    for (size_t i = 0; i < n; i++) {
        k = snprintf(line, sizeof(line), "%s %.*s: %s", i == 0 ? ":" : ";",
                     (int)CLIENTCERT_SHOWN_HEX, c[i].cert.sha1,
                     agent_clientcert_refusal(want, &c[i]));
        clientcert_append(why, why_size, &used, k > 0 ? line : "");
    }
    return PROTO_ENOTFOUND;
}

enum proto_rc agent_clientcert_template_oid(const unsigned char *der, size_t len, char *out,
                                            size_t out_size)
{
    if (out_size == 0) {
        return PROTO_ELIMIT;
    }
    out[0] = '\0';
    if (der == NULL) {
        return PROTO_EPARSE;
    }
    unsigned char *p = (unsigned char *)der; /* mbedTLS 2.28 takes non-const cursors */
    const unsigned char *end = der + len;
    size_t seq_len = 0;
    mbedtls_asn1_buf oid;
    if (mbedtls_asn1_get_tag(&p, end, &seq_len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) !=
            0 ||
        p + seq_len != end) {
        return PROTO_EPARSE;
    }
    if (mbedtls_asn1_get_tag(&p, end, &oid.len, MBEDTLS_ASN1_OID) != 0 || oid.len == 0) {
        return PROTO_EPARSE;
    }
    oid.tag = MBEDTLS_ASN1_OID;
    oid.p = p;
    int n = mbedtls_oid_get_numeric_string(out, out_size, &oid);
    if (n < 0) {
        out[0] = '\0';
        return n == MBEDTLS_ERR_OID_BUF_TOO_SMALL ? PROTO_ELIMIT : PROTO_EPARSE;
    }
    return PROTO_OK;
}

/* Appends code point cp as UTF-8; false when out is full. */
static bool clientcert_put_utf8(char *out, size_t out_size, size_t *n, unsigned cp)
{
    unsigned char b[3];
    size_t k = 0;
    if (cp < 0x80) {
        b[k++] = (unsigned char)cp;
    } else if (cp < 0x800) {
        b[k++] = (unsigned char)(0xC0 | (cp >> 6));
        b[k++] = (unsigned char)(0x80 | (cp & 0x3F));
    } else {
        b[k++] = (unsigned char)(0xE0 | (cp >> 12));
        b[k++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[k++] = (unsigned char)(0x80 | (cp & 0x3F));
    }
    if (*n + k >= out_size) {
        return false;
    }
    memcpy(out + *n, b, k);
    *n += k;
    return true;
}

enum proto_rc agent_clientcert_template_name(const unsigned char *der, size_t len, char *out,
                                             size_t out_size)
{
    if (out_size == 0) {
        return PROTO_ELIMIT;
    }
    out[0] = '\0';
    if (der == NULL || len < 2) {
        return PROTO_EPARSE;
    }
    unsigned char *p = (unsigned char *)der + 1; /* past the tag */
    const unsigned char *end = der + len;
    size_t body = 0;
    if (mbedtls_asn1_get_len(&p, end, &body) != 0 || p + body != end) {
        return PROTO_EPARSE;
    }
    size_t n = 0;
    switch (der[0]) {
    case MBEDTLS_ASN1_BMP_STRING:
        if (body % 2 != 0) {
            return PROTO_EPARSE;
        }
        for (size_t i = 0; i < body; i += 2) {
            unsigned cp = ((unsigned)p[i] << 8) | p[i + 1];
            /* Control characters and surrogates have no place in a template name. */
            if (cp < 0x20 || cp == 0x7F || (cp >= 0xD800 && cp <= 0xDFFF)) {
                out[0] = '\0';
                return PROTO_EPARSE;
            }
            if (!clientcert_put_utf8(out, out_size, &n, cp)) {
                out[0] = '\0';
                return PROTO_ELIMIT;
            }
        }
        break;
    case MBEDTLS_ASN1_UTF8_STRING:
    case MBEDTLS_ASN1_PRINTABLE_STRING:
    case MBEDTLS_ASN1_IA5_STRING:
        if (body >= out_size) {
            return PROTO_ELIMIT;
        }
        for (size_t i = 0; i < body; i++) {
            if (p[i] < 0x20 || p[i] == 0x7F) {
                return PROTO_EPARSE;
            }
        }
        memcpy(out, p, body);
        n = body;
        break;
    default:
        return PROTO_EPARSE;
    }
    out[n] = '\0';
    return PROTO_OK;
}
