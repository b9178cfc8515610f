/*
 * capture_win32: fills a capture from the live Windows host (see capture.h).
 *
 * Host facts from GetComputerNameExW, the registry and RtlGetVersion; LocalMachine\My through
 * crypt32 in enumeration order, with what only crypt32 knows (the key association, the
 * effective EKU, the chain to a root in the machine's stores, the template); the registry keys
 * of DESIGN §5 read as values and rendered as `reg query` text; netsh through the runner. Only
 * reads: opens the store and keys read-only, never fetches URLs for a chain. Everything it
 * cannot read becomes a state or note in the capture; it interprets no text itself.
 */
#include <winsock2.h>
#include <windows.h>

#include <ncrypt.h>
#include <wincrypt.h>

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "caps.h"
#include "capture.h"

#define LIVE_OID_TEMPLATE "1.3.6.1.4.1.311.21.7"    /* szOID_CERTIFICATE_TEMPLATE (v2) */
#define LIVE_OID_TEMPLATE_V1 "1.3.6.1.4.1.311.20.2" /* szOID_ENROLL_CERTTYPE_EXTENSION */
#define LIVE_REG_DATA_MAX (64u * 1024u)             /* larger values cannot be printed anyway */
#define LIVE_REG_NAME_MAX 16384u                    /* the registry's own limit, in UTF-16 units */
#define LIVE_NAME_UNITS 1024u

static const wchar_t live_key_rasman[] = L"SYSTEM\\CurrentControlSet\\Services\\Rasman\\Parameters";
static const wchar_t live_key_sstpsvc[] =
    L"SYSTEM\\CurrentControlSet\\Services\\SstpSvc\\Parameters";
static const wchar_t live_key_policyagent[] = L"SYSTEM\\CurrentControlSet\\Services\\PolicyAgent";

/* UTF-8 of `units` UTF-16 units (-1: NUL-terminated), proto_malloc'd; *len_out (may be NULL)
 * its length without the NUL. NULL on failure. Embedded NULs are kept. */
static char *live_utf8(const wchar_t *w, int units, size_t *len_out)
{
    if (units == 0) {
        char *empty = proto_malloc(1);
        if (empty != NULL) {
            empty[0] = '\0';
            if (len_out != NULL) {
                *len_out = 0;
            }
        }
        return empty;
    }
    int n = WideCharToMultiByte(CP_UTF8, 0, w, units, NULL, 0, NULL, NULL);
    if (n <= 0) {
        return NULL;
    }
    char *s = proto_malloc((size_t)n + 1);
    if (s == NULL) {
        return NULL;
    }
    if (WideCharToMultiByte(CP_UTF8, 0, w, units, s, n, NULL, NULL) != n) {
        proto_free(s);
        return NULL;
    }
    size_t len = units < 0 ? (size_t)n - 1 : (size_t)n;
    s[len] = '\0';
    if (len_out != NULL) {
        *len_out = len;
    }
    return s;
}

/* ---- host -------------------------------------------------------------------------------- */

static char *live_computer_name(COMPUTER_NAME_FORMAT format)
{
    wchar_t name[LIVE_NAME_UNITS];
    DWORD n = LIVE_NAME_UNITS;
    if (!GetComputerNameExW(format, name, &n) || n == 0) {
        return NULL;
    }
    return live_utf8(name, (int)n, NULL);
}

typedef LONG(WINAPI *live_rtl_get_version_fn)(RTL_OSVERSIONINFOW *info);

/* "Microsoft <ProductName> <major>.<minor>.<build>", as capture.ps1's Caption and Version. */
static char *live_os(void)
{
    wchar_t product[256];
    DWORD cb = sizeof(product);
    char *name = NULL;
    if (RegGetValueW(HKEY_LOCAL_MACHINE, L"SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion",
                     L"ProductName", RRF_RT_REG_SZ | RRF_SUBKEY_WOW6464KEY, NULL, product,
                     &cb) == ERROR_SUCCESS) {
        name = live_utf8(product, -1, NULL);
    }
    /* RtlGetVersion tells the truth where GetVersionEx is shimmed to an older version. */
    RTL_OSVERSIONINFOW info;
    memset(&info, 0, sizeof(info));
    info.dwOSVersionInfoSize = sizeof(info);
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    FARPROC proc = ntdll != NULL ? GetProcAddress(ntdll, "RtlGetVersion") : NULL;
    live_rtl_get_version_fn get_version = NULL;
    memcpy(&get_version, &proc, sizeof(get_version));
    bool have_version = get_version != NULL && get_version(&info) == 0;

    char text[512];
    /* ProductName is "Windows Server 2019 Datacenter" (Wine's says "Microsoft Windows 7"). */
    bool prefix = name != NULL && strncmp(name, "Microsoft ", 10) != 0;
    int n = snprintf(text, sizeof(text), "%s%s", prefix ? "Microsoft " : "",
                     name != NULL ? name : "Windows");
    if (n > 0 && have_version && (size_t)n < sizeof(text)) {
        snprintf(text + n, sizeof(text) - (size_t)n, " %lu.%lu.%lu",
                 (unsigned long)info.dwMajorVersion, (unsigned long)info.dwMinorVersion,
                 (unsigned long)info.dwBuildNumber);
    }
    proto_free(name);
    return proto_strdup(text);
}

static enum proto_rc live_host(struct agent_capture *cap, int64_t now)
{
    struct proto_host host;
    memset(&host, 0, sizeof(host));
    host.hostname = live_computer_name(ComputerNameNetBIOS);
    host.fqdn = live_computer_name(ComputerNameDnsFullyQualified);
    host.os = live_os();
    host.agent_version = proto_strdup(RRAS_VERSION);
    host.collected_at = now;
    enum proto_rc result = agent_capture_set_host(cap, &host, GetOEMCP());
    proto_host_clear(&host);
    if (result != PROTO_OK && result != PROTO_ENOMEM) {
        result = agent_capture_fail(&cap->files[AGENT_CAPTURE_HOST].state, result,
                                    "host facts not rendered: %s", proto_rc_str(result));
    }
    return result;
}

/* ---- certificates ------------------------------------------------------------------------ */

static bool live_has_key(PCCERT_CONTEXT c)
{
    DWORD cb = 0;
    return CertGetCertificateContextProperty(c, CERT_KEY_PROV_INFO_PROP_ID, NULL, &cb) != FALSE;
}

/* CertGetEnhancedKeyUsage with flag 0: the extension intersected with the EKU property. */
static enum proto_rc live_eku(PCCERT_CONTEXT c, struct agent_capture_cert *cc)
{
    DWORD cb = 0;
    if (!CertGetEnhancedKeyUsage(c, 0, NULL, &cb) || cb == 0) {
        return PROTO_OK; /* unknown: the DER's extension stands */
    }
    PCERT_ENHKEY_USAGE usage = proto_malloc(cb);
    if (usage == NULL) {
        return PROTO_ENOMEM;
    }
    enum proto_rc result = PROTO_OK;
    SetLastError(0);
    if (!CertGetEnhancedKeyUsage(c, 0, usage, &cb)) {
        goto out;
    }
    if (usage->cUsageIdentifier == 0) {
        /* No identifiers: CRYPT_E_NOT_FOUND means neither extension nor property (good for
         * every use); no error means the two leave nothing (good for none). */
        cc->win_eku_any = GetLastError() == (DWORD)CRYPT_E_NOT_FOUND;
        cc->win_eku_known = true;
        goto out;
    }
    if (usage->cUsageIdentifier > PROTO_MAX_EKUS) {
        goto out;
    }
    for (DWORD i = 0; i < usage->cUsageIdentifier && result == PROTO_OK; i++) {
        const char *oid = usage->rgpszUsageIdentifier[i];
        if (oid == NULL || strlen(oid) > PROTO_MAX_NAME) {
            proto_strv_clear(&cc->win_eku);
            goto out;
        }
        result = proto_strv_push(&cc->win_eku, oid, PROTO_MAX_EKUS);
    }
    cc->win_eku_known = result == PROTO_OK;
out:
    proto_free(usage);
    return result == PROTO_ENOMEM ? result : PROTO_OK;
}

/* Whether the private key opens, silently (never a prompt); CNG keys too. */
static enum proto_tristate live_key_confirmed(PCCERT_CONTEXT c)
{
    HCRYPTPROV_OR_NCRYPT_KEY_HANDLE key = 0;
    DWORD spec = 0;
    BOOL must_free = FALSE;
    if (!CryptAcquireCertificatePrivateKey(
            c, CRYPT_ACQUIRE_SILENT_FLAG | CRYPT_ACQUIRE_ALLOW_NCRYPT_KEY_FLAG, NULL, &key, &spec,
            &must_free)) {
        return PROTO_TRI_NO;
    }
    if (must_free) {
        if (spec == CERT_NCRYPT_KEY_SPEC) {
            NCryptFreeObject(key);
        } else {
            CryptReleaseContext(key, 0);
        }
    }
    return PROTO_TRI_YES;
}

/*
 * A name as netsh prints a CA name: "DC=com, DC=contoso, DC=corp, CN=corp-DC1-CA", the RDNs in
 * the order they are encoded, which is CertNameToStr's own order. CERT_NAME_STR_REVERSE_FLAG
 * would give the dialogs' "CN=corp-DC1-CA, DC=corp, ..." (Wine 8 does as the documentation
 * says: "reversed after decoding").
 */
static char *live_name_str(PCERT_NAME_BLOB name)
{
    DWORD flags = CERT_X500_NAME_STR;
    DWORD n = CertNameToStrW(X509_ASN_ENCODING, name, flags, NULL, 0);
    if (n <= 1 || n > PROTO_MAX_NAME) {
        return NULL;
    }
    wchar_t *w = proto_malloc(n * sizeof(wchar_t));
    if (w == NULL) {
        return NULL;
    }
    char *s = NULL;
    if (CertNameToStrW(X509_ASN_ENCODING, name, flags, w, n) == n) {
        s = live_utf8(w, -1, NULL);
    }
    proto_free(w);
    if (s != NULL && strlen(s) > PROTO_MAX_NAME) {
        proto_free(s);
        s = NULL;
    }
    return s;
}

/* The chain the machine's engine builds from its own stores (no URL is fetched, no revocation
 * checked): its error status and the subject of its top certificate. */
static enum proto_rc live_chain(PCCERT_CONTEXT c, struct proto_cert_win *win)
{
    CERT_CHAIN_PARA para;
    PCCERT_CHAIN_CONTEXT chain = NULL;
    memset(&para, 0, sizeof(para));
    para.cbSize = sizeof(para);
    if (!CertGetCertificateChain(HCCE_LOCAL_MACHINE, c, NULL, NULL, &para,
                                 CERT_CHAIN_CACHE_ONLY_URL_RETRIEVAL, NULL, &chain) ||
        chain == NULL) {
        return PROTO_OK;
    }
    win->has_chain_status = true;
    win->chain_error_status = (uint32_t)chain->TrustStatus.dwErrorStatus;
    if (chain->cChain > 0 && chain->rgpChain[0]->cElement > 0) {
        PCERT_SIMPLE_CHAIN simple = chain->rgpChain[0];
        PCCERT_CONTEXT top = simple->rgpElement[simple->cElement - 1]->pCertContext;
        win->chain_root = live_name_str(&top->pCertInfo->Subject);
    }
    CertFreeCertificateChain(chain);
    return PROTO_OK;
}

/* The template: a v2 template's OID and version, else a v1 template's name. */
static enum proto_rc live_template(PCCERT_CONTEXT c, struct proto_cert_win *win)
{
    PCERT_INFO info = c->pCertInfo;
    PCERT_EXTENSION ext = CertFindExtension(LIVE_OID_TEMPLATE, info->cExtension, info->rgExtension);
    if (ext != NULL) {
        CERT_TEMPLATE_EXT *tmpl = NULL;
        DWORD cb = 0;
        if (CryptDecodeObjectEx(X509_ASN_ENCODING, X509_CERTIFICATE_TEMPLATE, ext->Value.pbData,
                                ext->Value.cbData, CRYPT_DECODE_ALLOC_FLAG, NULL, &tmpl, &cb) &&
            tmpl != NULL) {
            if (tmpl->pszObjId != NULL && strlen(tmpl->pszObjId) <= PROTO_MAX_NAME) {
                win->template_name = proto_strdup(tmpl->pszObjId);
                win->has_template_version = win->template_name != NULL;
                win->template_major = (uint32_t)tmpl->dwMajorVersion;
                win->template_minor = tmpl->fMinorVersion ? (uint32_t)tmpl->dwMinorVersion : 0;
            }
            LocalFree(tmpl);
            return PROTO_OK;
        }
    }
    ext = CertFindExtension(LIVE_OID_TEMPLATE_V1, info->cExtension, info->rgExtension);
    if (ext != NULL) {
        CERT_NAME_VALUE *value = NULL;
        DWORD cb = 0;
        if (CryptDecodeObjectEx(X509_ASN_ENCODING, X509_UNICODE_ANY_STRING, ext->Value.pbData,
                                ext->Value.cbData, CRYPT_DECODE_ALLOC_FLAG, NULL, &value, &cb) &&
            value != NULL) {
            DWORD units = value->Value.cbData / sizeof(wchar_t);
            if (units > 0 && units <= PROTO_MAX_NAME) {
                win->template_name =
                    live_utf8((const wchar_t *)value->Value.pbData, (int)units, NULL);
            }
            LocalFree(value);
        }
    }
    return PROTO_OK;
}

static enum proto_rc live_cert_facts(PCCERT_CONTEXT c, struct agent_capture_cert *cc,
                                     bool confirm_keys)
{
    cc->win.present = true;
    enum proto_rc result = live_eku(c, cc);
    if (result == PROTO_OK && confirm_keys && cc->has_private_key) {
        cc->win.key_confirmed = live_key_confirmed(c);
    }
    if (result == PROTO_OK) {
        result = live_chain(c, &cc->win);
    }
    if (result == PROTO_OK) {
        result = live_template(c, &cc->win);
    }
    return result;
}

static enum proto_rc live_store(struct agent_capture *cap, bool confirm_keys)
{
    enum proto_rc result = PROTO_OK;
    HCERTSTORE store = CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0,
                                     CERT_SYSTEM_STORE_LOCAL_MACHINE | CERT_STORE_READONLY_FLAG |
                                         CERT_STORE_OPEN_EXISTING_FLAG,
                                     L"MY");
    if (store == NULL) {
        DWORD error = GetLastError();
        /* A machine whose My store was never created has no certificate in it. */
        if (error == ERROR_FILE_NOT_FOUND) {
            agent_capture_store_read(cap);
            return PROTO_OK;
        }
        return agent_capture_fail(&cap->store, PROTO_EIO,
                                  "cannot open LocalMachine\\My (Windows error %lu)",
                                  (unsigned long)error);
    }
    agent_capture_store_read(cap);
    PCCERT_CONTEXT c = NULL;
    size_t index = 0;
    while ((c = CertEnumCertificatesInStore(store, c)) != NULL) {
        struct agent_capture_cert *cc = NULL;
        result =
            agent_capture_add_cert(cap, c->pbCertEncoded, c->cbCertEncoded, live_has_key(c), &cc);
        if (result == PROTO_ELIMIT) {
            bool full = cap->cert_count >= PROTO_MAX_CERTS;
            result = full ? agent_capture_note(cap, AGENT_CAPTURE_STORE_DIR, PROTO_ELIMIT,
                                               "more than %u certificates; the rest were not read",
                                               PROTO_MAX_CERTS)
                          : agent_capture_note(cap, AGENT_CAPTURE_STORE_DIR, PROTO_ELIMIT,
                                               "certificate %zu is larger than %u bytes; skipped",
                                               index, PROTO_MAX_CERT_DER_BYTES);
            if (result == PROTO_ELIMIT) {
                result = PROTO_OK;
            }
            if (full || result) {
                CertFreeCertificateContext(c);
                break;
            }
            index++;
            continue;
        }
        if (result == PROTO_OK) {
            result = live_cert_facts(c, cc, confirm_keys);
        }
        if (result) {
            CertFreeCertificateContext(c);
            break;
        }
        index++;
    }
    CertCloseStore(store, 0);
    return result;
}

/* ---- registry ---------------------------------------------------------------------------- */

static enum proto_reg_type live_reg_type(DWORD type)
{
    switch (type) {
    case REG_SZ:
        return PROTO_REG_SZ;
    case REG_EXPAND_SZ:
        return PROTO_REG_EXPAND_SZ;
    case REG_MULTI_SZ:
        return PROTO_REG_MULTI_SZ;
    case REG_DWORD:
        return PROTO_REG_DWORD;
    case REG_QWORD:
        return PROTO_REG_QWORD;
    case REG_BINARY:
        return PROTO_REG_BINARY;
    case REG_NONE:
        return PROTO_REG_NONE;
    default:
        return PROTO_REG_OTHER;
    }
}

/* One value read from the registry into `v`, strings turned from UTF-16 into UTF-8. */
static enum proto_rc live_reg_value(const char *key, const wchar_t *name, DWORD type,
                                    const unsigned char *data, DWORD len, struct proto_reg_value *v)
{
    enum proto_reg_type t = live_reg_type(type);
    char *name8 = live_utf8(name, -1, NULL);
    char *text = NULL;
    size_t text_len = 0;
    enum proto_rc result = PROTO_ENOMEM;
    if (name8 == NULL) {
        goto out;
    }
    if (t == PROTO_REG_SZ || t == PROTO_REG_EXPAND_SZ || t == PROTO_REG_MULTI_SZ) {
        /* The UTF-16 is copied out: registry data need not be aligned for wchar_t. */
        DWORD units = len / (DWORD)sizeof(wchar_t);
        wchar_t *w = proto_malloc(((size_t)units + 1) * sizeof(wchar_t));
        if (w == NULL) {
            goto out;
        }
        memcpy(w, data, (size_t)units * sizeof(wchar_t));
        text = live_utf8(w, (int)units, &text_len);
        proto_free(w);
        if (text == NULL) {
            goto out;
        }
        result = agent_capture_reg_value(key, name8, t, (const unsigned char *)text, text_len, v);
    } else {
        result = agent_capture_reg_value(key, name8, t, data, len, v);
    }
out:
    proto_free(name8);
    proto_free(text);
    return result;
}

struct live_values {
    struct proto_reg_value *items;
    size_t count;
};

static void live_values_clear(struct live_values *vals)
{
    for (size_t i = 0; i < vals->count; i++) {
        proto_reg_value_clear(&vals->items[i]);
    }
    proto_free(vals->items);
    vals->items = NULL;
    vals->count = 0;
}

/* Reads one value (by enumeration index, or by `only` name) into vals; skips, with a note, a
 * value too large to print. *done when there are no more. */
static enum proto_rc live_read_value(struct agent_capture *cap, enum agent_capture_file_id id,
                                     HKEY key, const char *key_text, DWORD index,
                                     const wchar_t *only, wchar_t *name, unsigned char *data,
                                     struct live_values *vals, bool *done)
{
    DWORD name_units = LIVE_REG_NAME_MAX;
    DWORD type = 0;
    DWORD len = LIVE_REG_DATA_MAX;
    LSTATUS st;
    *done = false;
    if (only != NULL) {
        st = RegQueryValueExW(key, only, NULL, &type, data, &len);
        size_t n = wcslen(only);
        memcpy(name, only, (n + 1) * sizeof(wchar_t));
        *done = true;
        if (st == ERROR_FILE_NOT_FOUND) {
            return PROTO_OK;
        }
    } else {
        st = RegEnumValueW(key, index, name, &name_units, NULL, &type, data, &len);
        if (st == ERROR_NO_MORE_ITEMS) {
            *done = true;
            return PROTO_OK;
        }
    }
    const char *file = agent_capture_file_name(id);
    if (st == ERROR_MORE_DATA) {
        return agent_capture_note(cap, file, PROTO_ELIMIT,
                                  "registry value %lu is larger than %u bytes; skipped",
                                  (unsigned long)index, LIVE_REG_DATA_MAX) == PROTO_ENOMEM
                   ? PROTO_ENOMEM
                   : PROTO_OK;
    }
    if (st != ERROR_SUCCESS) {
        return agent_capture_note(cap, file, PROTO_EIO,
                                  "registry value %lu could not be read (Windows error %lu)",
                                  (unsigned long)index, (unsigned long)st) == PROTO_ENOMEM
                   ? PROTO_ENOMEM
                   : PROTO_OK;
    }
    if (vals->count >= PROTO_MAX_REG_VALUES) {
        *done = true;
        return agent_capture_note(cap, file, PROTO_ELIMIT, "more than %u registry values",
                                  PROTO_MAX_REG_VALUES) == PROTO_ENOMEM
                   ? PROTO_ENOMEM
                   : PROTO_OK;
    }
    struct proto_reg_value v;
    memset(&v, 0, sizeof(v));
    enum proto_rc result = live_reg_value(key_text, name, type, data, len, &v);
    if (result == PROTO_ELIMIT) {
        proto_reg_value_clear(&v);
        return agent_capture_note(cap, file, PROTO_ELIMIT,
                                  "registry value %lu is too long to print; skipped",
                                  (unsigned long)index) == PROTO_ENOMEM
                   ? PROTO_ENOMEM
                   : PROTO_OK;
    }
    if (result == PROTO_OK) {
        void *grown = proto_realloc(vals->items, (vals->count + 1) * sizeof(*vals->items));
        if (grown == NULL) {
            result = PROTO_ENOMEM;
        } else {
            vals->items = grown;
            vals->items[vals->count++] = v;
            return PROTO_OK;
        }
    }
    proto_reg_value_clear(&v);
    return result;
}

/* `reg query` of one key (or of one value of it, `only`), into the capture. */
static enum proto_rc live_registry_key(struct agent_capture *cap, enum agent_capture_file_id id,
                                       const wchar_t *subkey, const char *key_text,
                                       const wchar_t *only)
{
    enum proto_rc result = PROTO_OK;
    struct live_values vals = {NULL, 0};
    wchar_t *name = NULL;
    unsigned char *data = NULL;
    HKEY key = NULL;

    LSTATUS st = RegOpenKeyExW(HKEY_LOCAL_MACHINE, subkey, 0, KEY_READ | KEY_WOW64_64KEY, &key);
    if (st == ERROR_FILE_NOT_FOUND) {
        return agent_capture_set_registry(cap, id, key_text, NULL, 0, AGENT_CAPTURE_REG_NOT_FOUND);
    }
    if (st != ERROR_SUCCESS) {
        char line[128];
        snprintf(line, sizeof(line), "ERROR: %s (Windows error %lu)",
                 st == ERROR_ACCESS_DENIED ? "Access is denied." : "The key could not be opened.",
                 (unsigned long)st);
        return agent_capture_set_registry(cap, id, key_text, NULL, 0, line);
    }
    name = proto_malloc((LIVE_REG_NAME_MAX + 1) * sizeof(wchar_t));
    data = proto_malloc(LIVE_REG_DATA_MAX);
    if (name == NULL || data == NULL) {
        result = PROTO_ENOMEM;
        goto out;
    }
    bool done = false;
    for (DWORD index = 0; !done && result == PROTO_OK; index++) {
        result = live_read_value(cap, id, key, key_text, index, only, name, data, &vals, &done);
    }
    if (result == PROTO_OK) {
        result = agent_capture_set_registry(cap, id, key_text, vals.items, vals.count, NULL);
    }
out:
    live_values_clear(&vals);
    proto_free(name);
    proto_free(data);
    RegCloseKey(key);
    return result;
}

/* A key that could not be rendered is recorded as such; only memory failure stops the capture. */
static enum proto_rc live_registry_settle(struct agent_capture *cap, enum agent_capture_file_id id,
                                          enum proto_rc result)
{
    if (result == PROTO_OK || result == PROTO_ENOMEM) {
        return result;
    }
    return agent_capture_fail(&cap->files[id].state, result, "registry values not rendered: %s",
                              proto_rc_str(result));
}

static enum proto_rc live_registry(struct agent_capture *cap)
{
    enum proto_rc result =
        live_registry_settle(cap, AGENT_CAPTURE_REG_RASMAN,
                             live_registry_key(cap, AGENT_CAPTURE_REG_RASMAN, live_key_rasman,
                                               AGENT_CAPTURE_KEY_RASMAN, NULL));
    if (result == PROTO_OK) {
        result =
            live_registry_settle(cap, AGENT_CAPTURE_REG_SSTPSVC,
                                 live_registry_key(cap, AGENT_CAPTURE_REG_SSTPSVC, live_key_sstpsvc,
                                                   AGENT_CAPTURE_KEY_SSTPSVC, NULL));
    }
    if (result == PROTO_OK) {
        result = live_registry_settle(
            cap, AGENT_CAPTURE_REG_POLICYAGENT,
            live_registry_key(cap, AGENT_CAPTURE_REG_POLICYAGENT, live_key_policyagent,
                              AGENT_CAPTURE_KEY_POLICYAGENT, L"" AGENT_CAPTURE_VALUE_NAT_T));
    }
    return result;
}

/* ---- the whole capture ------------------------------------------------------------------- */

enum proto_rc agent_capture_live(const struct agent_capture_live_options *opts,
                                 struct agent_capture **out)
{
    enum proto_rc result = PROTO_OK;
    struct agent_capture *cap = NULL;

    if (opts == NULL || out == NULL) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    cap = agent_capture_create();
    if (cap == NULL) {
        return PROTO_ENOMEM;
    }
    const struct agent_netsh_runner *runner =
        opts->netsh != NULL ? opts->netsh : agent_netsh_system_runner();
    if ((result = live_host(cap, opts->now)) == PROTO_OK &&
        (result = live_store(cap, opts->confirm_keys)) == PROTO_OK &&
        (result = live_registry(cap)) == PROTO_OK) {
        result = agent_capture_run_netsh(cap, runner, opts->netsh_timeout_ms);
    }
    if (result) {
        agent_capture_destroy(cap);
        return result;
    }
    *out = cap;
    return PROTO_OK;
}
