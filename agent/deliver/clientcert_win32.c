/*
 * clientcert_win32: the facts of every certificate in LocalMachine\My, for the rule in
 * clientcert.c, and the path Schannel is given for the one chosen.
 *
 * Opens the store read-only, and for each certificate: proto/x509 facts from its DER, the EKU
 * as Windows applies it (CertGetEnhancedKeyUsage: no EKU at all, CRYPT_E_NOT_FOUND, is every
 * use), whether a private key is associated (CERT_KEY_PROV_INFO_PROP_ID: present, not proved
 * usable, since Wine 8 cannot acquire machine keys that Schannel still uses), and the template
 * extensions. Never touches a private key and never exports anything: curl opens the store
 * itself by thumbprint. At most PROTO_MAX_CERTS certificates are looked at.
 */
#include "clientcert.h"

#include <stdio.h>
#include <string.h>

#include <windows.h>

#include <wincrypt.h>

#include "alloc.h"
#include "x509.h"

#define CLIENTCERT_FQDN_CHARS 256u /* DNS names are at most 253 characters */

/* The host's DNS name as Windows knows it (UTF-8); "" when it cannot say. */
static void clientcert_host_fqdn(char *out, size_t out_size)
{
    WCHAR name[CLIENTCERT_FQDN_CHARS];
    DWORD len = CLIENTCERT_FQDN_CHARS;
    out[0] = '\0';
    if (!GetComputerNameExW(ComputerNameDnsFullyQualified, name, &len) || len == 0) {
        return;
    }
    int n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, name, (int)len, out,
                                (int)out_size - 1, NULL, NULL);
    out[n > 0 ? n : 0] = '\0';
}

/* "WHAT" or "WHAT (error CODE)" into why (which may be NULL). */
static void clientcert_why(char *why, size_t why_size, const char *what, DWORD code)
{
    if (why == NULL || why_size == 0) {
        return;
    }
    int n = code != 0 ? snprintf(why, why_size, "%s (error 0x%08lx)", what, (unsigned long)code)
                      : snprintf(why, why_size, "%s", what);
    if (n < 0) {
        why[0] = '\0';
    }
}

/* The system clock as Unix seconds: the clock Schannel and the collector judge validity by. */
static int64_t clientcert_now(void)
{
    FILETIME ft;
    GetSystemTimeAsFileTime(&ft);
    uint64_t t = ((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime;
    return (int64_t)(t / 10000000u) - INT64_C(11644473600); /* 1601 -> 1970 */
}

/* Replaces the DER's EKU view with Windows' (extension narrowed by the EKU property). Leaves
 * the DER's view when Windows cannot answer. */
static enum proto_rc clientcert_eku(PCCERT_CONTEXT ctx, struct proto_cert *cert)
{
    enum proto_rc result = PROTO_OK;
    DWORD cb = 0;
    if (!CertGetEnhancedKeyUsage(ctx, 0, NULL, &cb) || cb == 0) {
        if (GetLastError() == (DWORD)CRYPT_E_NOT_FOUND) {
            proto_strv_clear(&cert->eku);
            cert->has_eku = false;
        }
        return PROTO_OK;
    }
    CERT_ENHKEY_USAGE *usage = proto_malloc(cb);
    if (usage == NULL) {
        return PROTO_ENOMEM;
    }
    SetLastError(0);
    if (!CertGetEnhancedKeyUsage(ctx, 0, usage, &cb)) {
        goto out; /* keep the DER's view */
    }
    proto_strv_clear(&cert->eku);
    if (usage->cUsageIdentifier == 0) {
        /* Zero identifiers: every use when the last error is CRYPT_E_NOT_FOUND, else none. */
        cert->has_eku = GetLastError() != (DWORD)CRYPT_E_NOT_FOUND;
        goto out;
    }
    cert->has_eku = true;
    for (DWORD i = 0; i < usage->cUsageIdentifier && result == PROTO_OK; i++) {
        if (usage->rgpszUsageIdentifier[i] != NULL) {
            result = proto_strv_push(&cert->eku, usage->rgpszUsageIdentifier[i], PROTO_MAX_EKUS);
        }
    }
    if (result == PROTO_ELIMIT) {
        result = PROTO_OK; /* past the cap: the first PROTO_MAX_EKUS decide */
    }
out:
    proto_free(usage);
    return result;
}

/* The two template extensions, when present and readable. */
static void clientcert_template(PCCERT_CONTEXT ctx, struct agent_clientcert_candidate *c)
{
    const CERT_INFO *info = ctx->pCertInfo;
    PCERT_EXTENSION ext =
        CertFindExtension(AGENT_CLIENTCERT_OID_TEMPLATE, info->cExtension, info->rgExtension);
    if (ext != NULL &&
        agent_clientcert_template_oid(ext->Value.pbData, ext->Value.cbData, c->template_oid,
                                      sizeof(c->template_oid)) != PROTO_OK) {
        c->template_oid[0] = '\0';
    }
    ext =
        CertFindExtension(AGENT_CLIENTCERT_OID_TEMPLATE_NAME, info->cExtension, info->rgExtension);
    if (ext != NULL &&
        agent_clientcert_template_name(ext->Value.pbData, ext->Value.cbData, c->template_name,
                                       sizeof(c->template_name)) != PROTO_OK) {
        c->template_name[0] = '\0';
    }
}

/* One candidate from one certificate context. PROTO_ENOMEM only: a certificate that cannot
 * be read is a candidate that the rule refuses, with its reason. */
static enum proto_rc clientcert_candidate(PCCERT_CONTEXT ctx, struct agent_clientcert_candidate *c)
{
    memset(c, 0, sizeof(*c));
    enum proto_rc rc = proto_x509_facts(ctx->pbCertEncoded, ctx->cbCertEncoded, &c->cert, NULL, 0);
    if (rc == PROTO_ENOMEM) {
        return rc;
    }
    if (rc != PROTO_OK) {
        c->cert.parsed = false;
    }
    DWORD cb = 0;
    c->cert.has_private_key =
        CertGetCertificateContextProperty(ctx, CERT_KEY_PROV_INFO_PROP_ID, NULL, &cb) != FALSE;
    if (!c->cert.parsed) {
        return PROTO_OK;
    }
    rc = clientcert_eku(ctx, &c->cert);
    if (rc) {
        return rc;
    }
    clientcert_template(ctx, c);
    return PROTO_OK;
}

enum proto_rc agent_clientcert_pick(const struct agent_config *cfg,
                                    char path[AGENT_CLIENTCERT_PATH_BYTES], char *why,
                                    size_t why_size)
{
    enum proto_rc result = PROTO_OK;
    struct agent_clientcert_want want;
    struct agent_clientcert_candidate *c = NULL;
    size_t n = 0;
    HCERTSTORE store = NULL;
    char fqdn[3 * CLIENTCERT_FQDN_CHARS + 1];
    path[0] = '\0';
    if (why != NULL && why_size > 0) {
        why[0] = '\0';
    }
    clientcert_host_fqdn(fqdn, sizeof(fqdn));
    result = agent_clientcert_want_init(&want, cfg, fqdn, clientcert_now());
    if (result) {
        clientcert_why(why, why_size, "client certificate settings do not parse", 0);
        return result;
    }
    store = CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0,
                          CERT_SYSTEM_STORE_LOCAL_MACHINE | CERT_STORE_READONLY_FLAG |
                              CERT_STORE_OPEN_EXISTING_FLAG,
                          L"MY");
    if (store == NULL && GetLastError() != ERROR_FILE_NOT_FOUND) {
        clientcert_why(why, why_size, "cannot open " AGENT_CLIENTCERT_STORE, GetLastError());
        result = PROTO_EIO;
        goto out;
    }
    /* A machine that never held a certificate has no My store yet: that is an empty store. */
    size_t cap = 0;
    PCCERT_CONTEXT ctx = NULL;
    while (store != NULL && n < PROTO_MAX_CERTS &&
           (ctx = CertEnumCertificatesInStore(store, ctx)) != NULL) {
        if (n == cap) {
            size_t more = cap == 0 ? 16 : 2 * cap;
            struct agent_clientcert_candidate *grown = proto_realloc(c, more * sizeof(*c));
            if (grown == NULL) {
                CertFreeCertificateContext(ctx);
                result = PROTO_ENOMEM;
                goto out;
            }
            c = grown;
            cap = more;
        }
        result = clientcert_candidate(ctx, &c[n]);
        n++;
        if (result) {
            CertFreeCertificateContext(ctx);
            goto out;
        }
    }
    if (ctx != NULL) {
        CertFreeCertificateContext(ctx); /* stopped at the cap */
    }
    size_t chosen = 0;
    result = agent_clientcert_choose(&want, c, n, &chosen, why, why_size);
    if (result == PROTO_OK) {
        int k = snprintf(path, AGENT_CLIENTCERT_PATH_BYTES, "%s\\%s", AGENT_CLIENTCERT_STORE,
                         c[chosen].cert.sha1);
        if (k < 0 || (size_t)k >= AGENT_CLIENTCERT_PATH_BYTES) {
            path[0] = '\0';
            result = PROTO_ELIMIT;
        }
    }
out:
    for (size_t i = 0; c != NULL && i < n; i++) {
        agent_clientcert_candidate_clear(&c[i]);
    }
    proto_free(c);
    if (store != NULL) {
        CertCloseStore(store, 0);
    }
    agent_clientcert_want_clear(&want);
    return result;
}
