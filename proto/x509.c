/*
 * x509: certificate facts from DER through mbedTLS 2.28 (DESIGN §4).
 *
 * Owns the translation from mbedTLS structures into a proto_cert: thumbprints, serial, names
 * (string types decoded to UTF-8), SAN DNS names, EKU, key usage, validity, CA and self-signed
 * flags. Trusts nothing in the DER: every count and string is capped, a NUL inside a name is a
 * parse error, and on any failure the certificate keeps only its hashes and bytes so it can
 * still be named. Never builds chains or checks trust; self-signed is about one certificate.
 */
#include "x509.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/asn1.h>
#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha1.h>
#include <mbedtls/x509.h>
#include <mbedtls/x509_crt.h>

#include "alloc.h"
#include "buf.h"
#include "caps.h"
#include "digest.h"
#include "hex.h"
#include "printf_like.h"
#include "text.h"
#include "timefmt.h"

/* Longest dotted OID text kept; real ones are under 64 characters. */
#define X509_MAX_OID_TEXT 200u

static void x509_why(char *why, size_t why_size, const char *fmt, ...) PROTO_PRINTF_LIKE(3, 4);

static void x509_why(char *why, size_t why_size, const char *fmt, ...)
{
    if (why == NULL || why_size == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
    if (n < 0) {
        why[0] = '\0';
    }
}

static enum proto_rc x509_hashes(const unsigned char *der, size_t len, struct proto_cert *cert)
{
    unsigned char sha1[20];
    unsigned char sha256[32];

    if (proto_sha1(der, len, sha1) != PROTO_OK || proto_sha256(der, len, sha256) != PROTO_OK) {
        return PROTO_ECRYPTO;
    }
    proto_hex_encode(sha1, sizeof(sha1), true, cert->sha1);
    proto_hex_encode(sha256, sizeof(sha256), true, cert->sha256);
    return PROTO_OK;
}

static enum proto_rc x509_put_codepoint(struct proto_buf *b, unsigned long cp)
{
    unsigned char u[4];
    size_t n;

    if (cp == 0) {
        return PROTO_EPARSE; /* a NUL would silently cut the name short */
    }
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
        cp = 0xFFFD;
    }
    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xC0 | (cp >> 6));
        u[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xE0 | (cp >> 12));
        u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (unsigned char)(0xF0 | (cp >> 18));
        u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return proto_buf_append(b, u, n);
}

static bool x509_is_utf8(const unsigned char *p, size_t len)
{
    uint32_t cp;
    for (size_t i = 0; i < len;) {
        size_t n = proto_utf8_decode(p + i, len - i, &cp);
        if (n == 0) {
            return false;
        }
        i += n;
    }
    return true;
}

/* UTF-8 as Windows shows it: ill-formed bytes become U+FFFD instead of failing the name. */
static enum proto_rc x509_utf8_lenient(struct proto_buf *b, const unsigned char *p, size_t len)
{
    enum proto_rc result = PROTO_OK;
    for (size_t i = 0; i < len && result == PROTO_OK;) {
        uint32_t cp;
        size_t n = proto_utf8_decode(p + i, len - i, &cp);
        if (n == 0) {
            cp = 0xFFFD;
            n = 1;
        }
        result = x509_put_codepoint(b, cp);
        i += n;
    }
    return result;
}

static enum proto_rc x509_bmp(struct proto_buf *b, const unsigned char *p, size_t len)
{
    enum proto_rc result = PROTO_OK;
    if (len % 2 != 0) {
        return PROTO_EPARSE;
    }
    for (size_t i = 0; i < len && result == PROTO_OK; i += 2) {
        unsigned long cp = ((unsigned long)p[i] << 8) | p[i + 1];
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 3 < len) {
            unsigned long low = ((unsigned long)p[i + 2] << 8) | p[i + 3];
            if (low >= 0xDC00 && low <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                i += 2;
            }
        }
        result = x509_put_codepoint(b, cp); /* a lone surrogate becomes U+FFFD */
    }
    return result;
}

static enum proto_rc x509_universal(struct proto_buf *b, const unsigned char *p, size_t len)
{
    enum proto_rc result = PROTO_OK;
    if (len % 4 != 0) {
        return PROTO_EPARSE;
    }
    for (size_t i = 0; i < len && result == PROTO_OK; i += 4) {
        unsigned long cp = ((unsigned long)p[i] << 24) | ((unsigned long)p[i + 1] << 16) |
                           ((unsigned long)p[i + 2] << 8) | p[i + 3];
        result = x509_put_codepoint(b, cp);
    }
    return result;
}

/* Anything that is not a string: RFC 4514's "#" + hex of the whole TLV. */
static enum proto_rc x509_hex_tlv(struct proto_buf *b, const mbedtls_x509_buf *val)
{
    unsigned char head[6];
    size_t n = 0;
    enum proto_rc result;

    head[n++] = (unsigned char)val->tag;
    if (val->len < 0x80) {
        head[n++] = (unsigned char)val->len;
    } else {
        size_t bytes = 0;
        for (size_t l = val->len; l > 0; l >>= 8) {
            bytes++;
        }
        if (bytes > 4) {
            return PROTO_ELIMIT;
        }
        head[n++] = (unsigned char)(0x80 | bytes);
        for (size_t k = bytes; k > 0; k--) {
            head[n++] = (unsigned char)(val->len >> (8 * (k - 1)));
        }
    }
    result = proto_buf_append_byte(b, '#');
    for (size_t i = 0; i < n && result == PROTO_OK; i++) {
        result = proto_buf_appendf(b, "%02X", (unsigned)head[i]);
    }
    for (size_t i = 0; i < val->len && result == PROTO_OK; i++) {
        result = proto_buf_appendf(b, "%02X", (unsigned)val->p[i]);
    }
    return result;
}

static enum proto_rc x509_value_text(struct proto_buf *b, const mbedtls_x509_buf *val)
{
    unsigned char empty = 0;
    const unsigned char *p = val->len > 0 ? val->p : &empty;

    switch (val->tag) {
    case MBEDTLS_ASN1_UTF8_STRING:
    case MBEDTLS_ASN1_PRINTABLE_STRING:
    case MBEDTLS_ASN1_IA5_STRING:
        return x509_utf8_lenient(b, p, val->len);
    case MBEDTLS_ASN1_T61_STRING:
        /* Like Windows: UTF-8 when it decodes as UTF-8, else one byte per character. */
        if (x509_is_utf8(p, val->len)) {
            return x509_utf8_lenient(b, p, val->len);
        }
        for (size_t i = 0; i < val->len; i++) {
            enum proto_rc result = x509_put_codepoint(b, p[i]);
            if (result) {
                return result;
            }
        }
        return PROTO_OK;
    case MBEDTLS_ASN1_BMP_STRING:
        return x509_bmp(b, p, val->len);
    case MBEDTLS_ASN1_UNIVERSAL_STRING:
        return x509_universal(b, p, val->len);
    default:
        return x509_hex_tlv(b, val);
    }
}

static enum proto_rc x509_oid_text(const mbedtls_x509_buf *oid, char *out, size_t size)
{
    int n = mbedtls_oid_get_numeric_string(out, size, oid);
    if (n <= 0 || (size_t)n >= size) {
        out[0] = '\0';
        return PROTO_EPARSE;
    }
    return PROTO_OK;
}

/* Walks an mbedTLS name (DER order); next_merged marks the following attr as the same RDN. */
static enum proto_rc x509_name_to_dn(const mbedtls_x509_name *name, struct proto_dn *dn,
                                     const char *which, char *why, size_t why_size)
{
    enum proto_rc result = PROTO_OK;
    struct proto_buf value;
    char oid[X509_MAX_OID_TEXT + 1];
    bool same_rdn = false;

    proto_buf_init(&value, PROTO_MAX_STRING);
    for (const mbedtls_x509_name *n = name; n != NULL; n = n->next) {
        if (n->oid.p == NULL) {
            continue; /* an empty name leaves the head node unused */
        }
        result = x509_oid_text(&n->oid, oid, sizeof(oid));
        if (result) {
            x509_why(why, why_size, "%s: malformed attribute type", which);
            goto out;
        }
        proto_buf_reset(&value);
        result = x509_value_text(&value, &n->val);
        if (result == PROTO_EPARSE) {
            x509_why(why, why_size, "%s: %s value is not a valid string", which, oid);
            goto out;
        } else if (result == PROTO_ELIMIT) {
            x509_why(why, why_size, "%s: %s value longer than %u bytes", which, oid,
                     PROTO_MAX_STRING);
            goto out;
        } else if (result) {
            goto out;
        }
        if (dn->count >= PROTO_MAX_DN_ATTRS) {
            x509_why(why, why_size, "%s: more than %u attributes", which, PROTO_MAX_DN_ATTRS);
            result = PROTO_ELIMIT;
            goto out;
        }
        result = proto_dn_append(dn, oid, proto_buf_str(&value), same_rdn);
        if (result && result != PROTO_ENOMEM) {
            x509_why(why, why_size, "%s: attribute %s not usable", which, oid);
            goto out;
        } else if (result) {
            goto out;
        }
        same_rdn = n->next_merged != 0;
    }
out:
    proto_buf_free(&value);
    return result;
}

static enum proto_rc x509_san_dns(const mbedtls_x509_crt *crt, struct proto_cert *cert, char *why,
                                  size_t why_size)
{
    enum proto_rc result = PROTO_OK;
    struct proto_buf name;
    const int dns_tag = MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME;

    proto_buf_init(&name, PROTO_MAX_STRING);
    for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s != NULL; s = s->next) {
        if (s->buf.p == NULL || s->buf.tag != dns_tag) {
            continue;
        }
        proto_buf_reset(&name);
        result = x509_utf8_lenient(&name, s->buf.p, s->buf.len);
        if (result == PROTO_OK) {
            result = proto_strv_push(&cert->san_dns, proto_buf_str(&name), PROTO_MAX_SAN_NAMES);
        }
        if (result == PROTO_EPARSE) {
            x509_why(why, why_size, "subjectAltName: dNSName contains NUL");
        } else if (result == PROTO_ELIMIT) {
            x509_why(why, why_size, "subjectAltName: more than %u DNS names or one too long",
                     PROTO_MAX_SAN_NAMES);
        }
        if (result) {
            break;
        }
    }
    proto_buf_free(&name);
    return result;
}

static enum proto_rc x509_eku(const mbedtls_x509_crt *crt, struct proto_cert *cert, char *why,
                              size_t why_size)
{
    char oid[X509_MAX_OID_TEXT + 1];

    cert->has_eku = (crt->ext_types & MBEDTLS_X509_EXT_EXTENDED_KEY_USAGE) != 0;
    if (!cert->has_eku) {
        return PROTO_OK;
    }
    for (const mbedtls_x509_sequence *s = &crt->ext_key_usage; s != NULL; s = s->next) {
        if (s->buf.p == NULL) {
            continue;
        }
        enum proto_rc result = x509_oid_text(&s->buf, oid, sizeof(oid));
        if (result) {
            x509_why(why, why_size, "extKeyUsage: malformed OID");
            return result;
        }
        result = proto_strv_push(&cert->eku, oid, PROTO_MAX_EKUS);
        if (result == PROTO_ELIMIT) {
            x509_why(why, why_size, "extKeyUsage: more than %u purposes", PROTO_MAX_EKUS);
        }
        if (result) {
            return result;
        }
    }
    return PROTO_OK;
}

static enum proto_rc x509_time(const mbedtls_x509_time *t, int64_t *out)
{
    char text[32];
    int n = snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02dZ", t->year, t->mon, t->day,
                     t->hour, t->min, t->sec);
    if (n != 20) {
        return PROTO_EPARSE;
    }
    return proto_time_parse_rfc3339(text, out);
}

/*
 * Self-signed as Windows means it: issuer name bytes equal subject name bytes and the signature
 * verifies with the certificate's own key. When the check cannot run (digest or key type this
 * mbedTLS lacks) the name test alone decides.
 */
static bool x509_self_signed(mbedtls_x509_crt *crt)
{
    unsigned char hash[MBEDTLS_MD_MAX_SIZE];

    if (crt->subject_raw.len != crt->issuer_raw.len ||
        memcmp(crt->subject_raw.p, crt->issuer_raw.p, crt->subject_raw.len) != 0) {
        return false;
    }
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(crt->sig_md);
    if (md == NULL) {
        return true;
    }
    if (mbedtls_md(md, crt->tbs.p, crt->tbs.len, hash) != 0) {
        return true;
    }
    int ret = mbedtls_pk_verify_ext(crt->sig_pk, crt->sig_opts, &crt->pk, crt->sig_md, hash,
                                    mbedtls_md_get_size(md), crt->sig.p, crt->sig.len);
    return ret == 0 || ret == MBEDTLS_ERR_PK_FEATURE_UNAVAILABLE;
}

static enum proto_rc x509_fill(mbedtls_x509_crt *crt, struct proto_cert *cert, char *why,
                               size_t why_size)
{
    enum proto_rc result;

    if (crt->serial.len > PROTO_MAX_STRING / 2) {
        x509_why(why, why_size, "serial number longer than %u bytes", PROTO_MAX_STRING / 2);
        return PROTO_ELIMIT;
    }
    cert->serial = proto_malloc(crt->serial.len * 2 + 1);
    if (cert->serial == NULL) {
        return PROTO_ENOMEM;
    }
    proto_hex_encode(crt->serial.p, crt->serial.len, true, cert->serial);

    result = x509_name_to_dn(&crt->subject, &cert->subject, "subject", why, why_size);
    if (result == PROTO_OK) {
        result = x509_name_to_dn(&crt->issuer, &cert->issuer, "issuer", why, why_size);
    }
    if (result == PROTO_OK) {
        result = x509_san_dns(crt, cert, why, why_size);
    }
    if (result == PROTO_OK) {
        result = x509_eku(crt, cert, why, why_size);
    }
    if (result) {
        return result;
    }

    cert->wildcard = false;
    for (size_t i = 0; i < cert->san_dns.count; i++) {
        if (strncmp(cert->san_dns.items[i], "*.", 2) == 0) {
            cert->wildcard = true;
        }
    }
    if (cert->san_dns.count == 0) {
        const char *cn = proto_dn_get(&cert->subject, "CN");
        cert->wildcard = cn != NULL && strncmp(cn, "*.", 2) == 0;
    }

    cert->has_key_usage = (crt->ext_types & MBEDTLS_X509_EXT_KEY_USAGE) != 0;
    cert->key_usage = cert->has_key_usage ? (crt->key_usage & 0x80FFu) : 0;
    cert->is_ca = crt->ca_istrue != 0;

    if (x509_time(&crt->valid_from, &cert->not_before) != PROTO_OK ||
        x509_time(&crt->valid_to, &cert->not_after) != PROTO_OK) {
        x509_why(why, why_size, "validity dates out of range");
        return PROTO_EPARSE;
    }
    cert->self_signed = x509_self_signed(crt);
    return PROTO_OK;
}

/* Back to "hashes and bytes only", keeping what the caller owns (store_index, private key). */
static void x509_keep_identity_only(struct proto_cert *cert)
{
    struct proto_cert kept;
    memset(&kept, 0, sizeof(kept));
    kept.store_index = cert->store_index;
    kept.has_private_key = cert->has_private_key;
    memcpy(kept.sha1, cert->sha1, sizeof(kept.sha1));
    memcpy(kept.sha256, cert->sha256, sizeof(kept.sha256));
    kept.der = cert->der;
    kept.der_len = cert->der_len;
    cert->der = NULL;
    proto_cert_clear(cert);
    *cert = kept;
}

enum proto_rc proto_x509_facts(const unsigned char *der, size_t len, struct proto_cert *cert,
                               char *why, size_t why_size)
{
    static const unsigned char empty = 0;
    enum proto_rc result = PROTO_OK;
    mbedtls_x509_crt crt;

    if (cert == NULL || (der == NULL && len > 0) || cert->der != NULL || cert->serial != NULL ||
        cert->subject.count != 0 || cert->issuer.count != 0 || cert->san_dns.count != 0 ||
        cert->eku.count != 0) {
        return PROTO_EINVAL;
    }
    if (why != NULL && why_size > 0) {
        why[0] = '\0';
    }
    if (der == NULL) {
        der = &empty;
    }
    cert->parsed = false;
    result = x509_hashes(der, len, cert);
    if (result) {
        x509_why(why, why_size, "hashing failed");
        return result;
    }
    if (len > PROTO_MAX_CERT_DER_BYTES) {
        x509_why(why, why_size, "certificate is %zu bytes, more than the %u allowed", len,
                 PROTO_MAX_CERT_DER_BYTES);
        return PROTO_ELIMIT;
    }
    if (len > 0) {
        cert->der = proto_malloc(len);
        if (cert->der == NULL) {
            x509_why(why, why_size, "%s", proto_rc_str(PROTO_ENOMEM));
            return PROTO_ENOMEM;
        }
        memcpy(cert->der, der, len);
        cert->der_len = len;
    }

    mbedtls_x509_crt_init(&crt);
    int ret = mbedtls_x509_crt_parse_der(&crt, der, len);
    if (ret != 0) {
        char reason[160];
        mbedtls_strerror(ret, reason, sizeof(reason));
        x509_why(why, why_size, "not a certificate mbedTLS can parse: %s (-0x%04X)", reason,
                 (unsigned)-ret);
        /* mbedTLS allocates outside our seam; its own failure is still out-of-memory. */
        result = ret == MBEDTLS_ERR_X509_ALLOC_FAILED ? PROTO_ENOMEM : PROTO_EPARSE;
        goto out;
    }
    if (crt.raw.len != len) {
        /* The thumbprint covers the whole input, so trailing bytes would name another cert. */
        x509_why(why, why_size, "%zu bytes after the end of the certificate", len - crt.raw.len);
        result = PROTO_EPARSE;
        goto out;
    }
    result = x509_fill(&crt, cert, why, why_size);
out:
    mbedtls_x509_crt_free(&crt);
    if (result) {
        if (why != NULL && why_size > 0 && why[0] == '\0') {
            x509_why(why, why_size, "%s", proto_rc_str(result));
        }
        x509_keep_identity_only(cert);
    } else {
        cert->parsed = true;
    }
    return result;
}
