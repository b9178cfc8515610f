/*
 * cacert_win32: finds the collector's CA by its thumbprint in LocalMachine\Root and writes it
 * as PEM for curl (cacert.h).
 *
 * The store is opened read-only and only as it exists (never created); the certificate is
 * looked up by its SHA-1 hash (CERT_FIND_SHA1_HASH), so a name that happens to match another
 * certificate can never select it. The PEM comes from CryptBinaryToStringA, the encoding Windows
 * itself writes.
 */
#include "cacert.h"

#include <stdio.h>
#include <string.h>

#include <windows.h>

#include <wincrypt.h>

#include "agent_config.h"
#include "alloc.h"

static void cacert_whyf(char *why, size_t why_size, const char *what, const char *thumbprint,
                        unsigned long code)
{
    if (why == NULL || why_size == 0) {
        return;
    }
    char tail[32] = "";
    if (code != 0 && snprintf(tail, sizeof(tail), " (error 0x%08lX)", code) < 0) {
        tail[0] = '\0';
    }
    int n = snprintf(why, why_size, "ca_thumbprint %.40s: %s%s", thumbprint, what, tail);
    if (n < 0) {
        why[0] = '\0';
    }
}

static int cacert_nibble(char c)
{
    return c <= '9' ? c - '0' : c - 'A' + 10; /* agent_config_thumbprint gives upper-case hex */
}

enum proto_rc agent_cacert_root_pem(const char *thumbprint, char **pem, size_t *len, char *why,
                                    size_t why_size)
{
    enum proto_rc result = PROTO_EIO;
    HCERTSTORE store = NULL;
    PCCERT_CONTEXT cert = NULL;
    char *text = NULL;
    char hex[41];
    BYTE hash[20];
    *pem = NULL;
    *len = 0;
    if (why != NULL && why_size > 0) {
        why[0] = '\0';
    }
    if (agent_config_thumbprint(thumbprint, hex) != PROTO_OK) {
        cacert_whyf(why, why_size, "not 40 hex digits", "(as given)", 0);
        return PROTO_EPARSE;
    }
    for (size_t i = 0; i < sizeof(hash); i++) {
        hash[i] = (BYTE)(cacert_nibble(hex[2 * i]) << 4 | cacert_nibble(hex[2 * i + 1]));
    }
    store = CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0,
                          CERT_SYSTEM_STORE_LOCAL_MACHINE | CERT_STORE_READONLY_FLAG |
                              CERT_STORE_OPEN_EXISTING_FLAG,
                          L"Root");
    if (store == NULL) {
        cacert_whyf(why, why_size, "cannot open LocalMachine\\Root", hex, GetLastError());
        return PROTO_EIO;
    }
    CRYPT_HASH_BLOB blob = {sizeof(hash), hash};
    cert = CertFindCertificateInStore(store, X509_ASN_ENCODING | PKCS_7_ASN_ENCODING, 0,
                                      CERT_FIND_SHA1_HASH, &blob, NULL);
    if (cert == NULL) {
        cacert_whyf(why, why_size, "no such certificate in LocalMachine\\Root", hex,
                    GetLastError());
        result = PROTO_ENOTFOUND;
        goto out;
    }
    DWORD n = 0;
    if (!CryptBinaryToStringA(cert->pbCertEncoded, cert->cbCertEncoded, CRYPT_STRING_BASE64HEADER,
                              NULL, &n) ||
        n == 0) {
        cacert_whyf(why, why_size, "cannot encode the certificate as PEM", hex, GetLastError());
        goto out;
    }
    if (n > AGENT_CACERT_MAX_PEM) {
        cacert_whyf(why, why_size, "certificate too large", hex, n);
        result = PROTO_ELIMIT;
        goto out;
    }
    text = proto_malloc((size_t)n + 1);
    if (text == NULL) {
        result = PROTO_ENOMEM;
        goto out;
    }
    if (!CryptBinaryToStringA(cert->pbCertEncoded, cert->cbCertEncoded, CRYPT_STRING_BASE64HEADER,
                              text, &n)) {
        cacert_whyf(why, why_size, "cannot encode the certificate as PEM", hex, GetLastError());
        goto out;
    }
    text[n] = '\0'; /* n counts the characters written, without the NUL */
    *len = strlen(text);
    *pem = text;
    text = NULL;
    result = PROTO_OK;
out:
    proto_free(text);
    if (cert != NULL) {
        CertFreeCertificateContext(cert);
    }
    CertCloseStore(store, 0);
    return result;
}
