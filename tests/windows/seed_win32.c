/*
 * seed_win32: rrasfleet-seed.exe, a test helper that makes a Wine prefix hold what a capture
 * bundle describes, so the agent's live Windows source can be checked against its bundle source
 * on the same data (tests/integration/test_wine_collect.sh; usage in tests/windows/README.md).
 *
 * It reads the bundle with proto's own reader, adds each certificate to LocalMachine\My (with a
 * key association when the bundle lists its thumbprint in private-keys.txt), writes the bundle's
 * RasMan/SstpSvc registry values, and can import a PFX with its key for mutual TLS. It writes
 * nothing outside LocalMachine\My, the two services' Parameters keys and the key containers
 * --pfx makes (SEED_CONTAINER_PREFIX + thumbprint), so --clear undoes all of it. It must never
 * touch a real server: it refuses to run outside Wine unless told to.
 */
#include <windows.h>
#include <wincrypt.h>

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "alloc.h"
#include "bundle.h"
#include "caps.h"
#include "model.h"

#define SEED_EXIT_OK 0
#define SEED_EXIT_FAIL 1
#define SEED_EXIT_USAGE 2

#define SEED_MAX_PFX_BYTES (64u * 1024u)
#define SEED_MAX_PFX_KEYS 8
#define SEED_MAX_KEY_BLOB (16u * 1024u)   /* an RSA-4096 PRIVATEKEYBLOB is ~2.3 KB */
#define SEED_MAX_PROP_BYTES (64u * 1024u) /* a key association or a public key info */
#define SEED_MAX_PASSWORD 256
#define SEED_CONTAINER_PREFIX "rrasfleet-seed-"

/* The only registry keys the tool writes, below HKEY_LOCAL_MACHINE; --clear deletes them. */
static const char *const seed_reg_roots[] = {
    "System\\CurrentControlSet\\Services\\RasMan\\Parameters",
    "System\\CurrentControlSet\\Services\\SstpSvc\\Parameters",
};
#define SEED_REG_ROOT_COUNT (sizeof(seed_reg_roots) / sizeof(seed_reg_roots[0]))

struct seed_options {
    const char *bundle;
    const char *pfx;
    const char *pfx_password;
    bool clear;
    bool list;
    bool allow_windows;
};

static void seed_usage(FILE *to)
{
    fputs("usage: rrasfleet-seed.exe [--clear] [--bundle DIR] [--pfx FILE [--pfx-password PW]]\n"
          "                          [--list] [--allow-windows]\n"
          "  --clear            empty LocalMachine\\My and delete the RasMan and SstpSvc\n"
          "                     Parameters keys first\n"
          "  --bundle DIR       add the bundle's certificates (key association for those in\n"
          "                     private-keys.txt) and write its RasMan/SstpSvc registry values\n"
          "  --pfx FILE         import an RSA PFX with its private key into LocalMachine\\My\n"
          "  --pfx-password PW  the PFX's password (default: empty)\n"
          "  --list             print LocalMachine\\My in enumeration order, last:\n"
          "                     <index> <SHA-1> key|nokey\n"
          "  --allow-windows    run even when not under Wine (it changes the machine store!)\n",
          to);
}

/* Returns 0 to run, -1 after printing the help, or SEED_EXIT_USAGE after printing why. */
static int seed_parse_args(int argc, char **argv, struct seed_options *opts)
{
    memset(opts, 0, sizeof(*opts));
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char **value = NULL;
        if (strcmp(arg, "--bundle") == 0) {
            value = &opts->bundle;
        } else if (strcmp(arg, "--pfx") == 0) {
            value = &opts->pfx;
        } else if (strcmp(arg, "--pfx-password") == 0) {
            value = &opts->pfx_password;
        } else if (strcmp(arg, "--clear") == 0) {
            opts->clear = true;
        } else if (strcmp(arg, "--list") == 0) {
            opts->list = true;
        } else if (strcmp(arg, "--allow-windows") == 0) {
            opts->allow_windows = true;
        } else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            seed_usage(stdout);
            return -1;
        } else {
            fprintf(stderr, "rrasfleet-seed: unknown argument '%s'\n", arg);
            seed_usage(stderr);
            return SEED_EXIT_USAGE;
        }
        if (value != NULL) {
            if (i + 1 >= argc) {
                fprintf(stderr, "rrasfleet-seed: %s needs a value\n", arg);
                return SEED_EXIT_USAGE;
            }
            *value = argv[++i];
        }
    }
    if (opts->pfx_password != NULL && opts->pfx == NULL) {
        fputs("rrasfleet-seed: --pfx-password without --pfx\n", stderr);
        return SEED_EXIT_USAGE;
    }
    if (opts->pfx_password != NULL && strlen(opts->pfx_password) >= SEED_MAX_PASSWORD) {
        fputs("rrasfleet-seed: --pfx-password is too long\n", stderr);
        return SEED_EXIT_USAGE;
    }
    if (!opts->clear && !opts->list && opts->bundle == NULL && opts->pfx == NULL) {
        fputs("rrasfleet-seed: nothing to do\n", stderr);
        seed_usage(stderr);
        return SEED_EXIT_USAGE;
    }
    return 0;
}

/* Wine's ntdll exports wine_get_version; Windows' does not. */
static bool seed_is_wine(void)
{
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    return ntdll != NULL && GetProcAddress(ntdll, "wine_get_version") != NULL;
}

/* UTF-8 (or the ANSI code page) to a new NUL-terminated wide string; caller frees with
 * proto_free. NULL on bad input or allocation failure; *count_out gets the length in wchar_t
 * without the NUL. */
static wchar_t *seed_widen(UINT codepage, const char *s, size_t *count_out)
{
    size_t len = strlen(s);
    if (len >= (size_t)INT_MAX / 2) {
        return NULL;
    }
    DWORD flags = codepage == CP_UTF8 ? MB_ERR_INVALID_CHARS : 0;
    int n = len == 0 ? 0 : MultiByteToWideChar(codepage, flags, s, (int)len, NULL, 0);
    if (len > 0 && n <= 0) {
        return NULL;
    }
    wchar_t *w = proto_malloc(((size_t)n + 1) * sizeof(wchar_t));
    if (w == NULL) {
        return NULL;
    }
    if (n > 0 && MultiByteToWideChar(codepage, flags, s, (int)len, w, n) != n) {
        proto_free(w);
        return NULL;
    }
    w[n] = L'\0';
    if (count_out != NULL) {
        *count_out = (size_t)n;
    }
    return w;
}

static void seed_win_error(const char *what, DWORD err)
{
    fprintf(stderr, "rrasfleet-seed: %s failed (error 0x%08lX)\n", what, (unsigned long)err);
}

static HCERTSTORE seed_open_my(void)
{
    HCERTSTORE store =
        CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0, CERT_SYSTEM_STORE_LOCAL_MACHINE, L"MY");
    if (store == NULL) {
        seed_win_error("CertOpenStore(LocalMachine\\My)", GetLastError());
    }
    return store;
}

/* Upper-case SHA-1 thumbprint of ctx into out (41 bytes); "" when Windows cannot compute it. */
static void seed_thumbprint(PCCERT_CONTEXT ctx, char out[PROTO_SHA1_HEX_LEN + 1])
{
    BYTE hash[20];
    DWORD cb = sizeof(hash);
    out[0] = '\0';
    if (!CertGetCertificateContextProperty(ctx, CERT_SHA1_HASH_PROP_ID, hash, &cb) ||
        cb != sizeof(hash)) {
        return;
    }
    for (DWORD i = 0; i < cb; i++) {
        snprintf(out + 2 * i, 3, "%02X", hash[i]);
    }
}

static bool seed_has_key_info(PCCERT_CONTEXT ctx)
{
    DWORD cb = 0;
    return CertGetCertificateContextProperty(ctx, CERT_KEY_PROV_INFO_PROP_ID, NULL, &cb) != 0;
}

/* A certificate's CERT_KEY_PROV_INFO_PROP_ID as a new buffer (the strings point into it) the
 * caller frees with proto_free; NULL when it has none or on allocation failure. */
static CRYPT_KEY_PROV_INFO *seed_key_prov_info(PCCERT_CONTEXT ctx)
{
    DWORD cb = 0;
    if (!CertGetCertificateContextProperty(ctx, CERT_KEY_PROV_INFO_PROP_ID, NULL, &cb) ||
        cb < sizeof(CRYPT_KEY_PROV_INFO) || cb > SEED_MAX_PROP_BYTES) {
        return NULL;
    }
    CRYPT_KEY_PROV_INFO *info = proto_malloc(cb);
    if (info != NULL &&
        !CertGetCertificateContextProperty(ctx, CERT_KEY_PROV_INFO_PROP_ID, info, &cb)) {
        proto_free(info);
        info = NULL;
    }
    return info;
}

/* Deletes a key container of the given keyset (0 or CRYPT_MACHINE_KEYSET). Returns 1 when one
 * was deleted, 0 when there was none, -1 (after printing why) when it could not be deleted. */
static int seed_delete_container(const wchar_t *container, const wchar_t *provider, DWORD type,
                                 DWORD keyset)
{
    HCRYPTPROV prov = 0;
    if (CryptAcquireContextW(&prov, container, provider, type, keyset | CRYPT_DELETEKEYSET)) {
        return 1;
    }
    DWORD err = GetLastError();
    if (err == (DWORD)NTE_BAD_KEYSET || err == (DWORD)NTE_KEYSET_NOT_DEF) {
        return 0;
    }
    seed_win_error("CryptAcquireContextW(CRYPT_DELETEKEYSET)", err);
    return -1;
}

/* Deletes the key container a certificate's key association names when this tool made it
 * (its name starts with SEED_CONTAINER_PREFIX; --pfx creates those, --bundle only names
 * them). Returns as seed_delete_container. */
static int seed_delete_own_key(PCCERT_CONTEXT ctx)
{
    static const wchar_t prefix[] = L"" SEED_CONTAINER_PREFIX;
    CRYPT_KEY_PROV_INFO *info = seed_key_prov_info(ctx);
    int rc = 0;
    if (info != NULL && info->pwszContainerName != NULL &&
        wcsncmp(info->pwszContainerName, prefix, wcslen(prefix)) == 0) {
        rc = seed_delete_container(info->pwszContainerName, info->pwszProvName, info->dwProvType,
                                   info->dwFlags & CRYPT_MACHINE_KEYSET);
    }
    proto_free(info);
    return rc;
}

/* Deletes every certificate of the store, and the key containers --pfx made for them.
 * Enumeration restarts after each deletion, so the loop is bounded in case a deletion is
 * silently ignored. */
static int seed_clear_store(HCERTSTORE store)
{
    size_t deleted = 0;
    size_t keys = 0;
    PCCERT_CONTEXT ctx;
    while ((ctx = CertEnumCertificatesInStore(store, NULL)) != NULL) {
        if (deleted > 2u * PROTO_MAX_CERTS) {
            CertFreeCertificateContext(ctx);
            fputs("rrasfleet-seed: LocalMachine\\My does not empty\n", stderr);
            return SEED_EXIT_FAIL;
        }
        int key_rc = seed_delete_own_key(ctx);
        if (key_rc < 0) {
            CertFreeCertificateContext(ctx);
            return SEED_EXIT_FAIL;
        }
        keys += (size_t)key_rc;
        /* CertDeleteCertificateFromStore frees ctx whether it succeeds or not. */
        if (!CertDeleteCertificateFromStore(ctx)) {
            seed_win_error("CertDeleteCertificateFromStore", GetLastError());
            return SEED_EXIT_FAIL;
        }
        deleted++;
    }
    printf("cleared %zu certificate(s) from LocalMachine\\My\n", deleted);
    if (keys > 0) {
        printf("deleted %zu key container(s) made by --pfx\n", keys);
    }
    return SEED_EXIT_OK;
}

/* Deletes the keys of seed_reg_roots (each with everything below it); absent keys are fine. */
static int seed_clear_registry(void)
{
    for (size_t i = 0; i < SEED_REG_ROOT_COUNT; i++) {
        wchar_t *path = seed_widen(CP_UTF8, seed_reg_roots[i], NULL);
        if (path == NULL) {
            fputs("rrasfleet-seed: out of memory\n", stderr);
            return SEED_EXIT_FAIL;
        }
        wchar_t *leaf = wcsrchr(path, L'\\');
        *leaf++ = L'\0';
        HKEY parent = NULL;
        LSTATUS rc = RegOpenKeyExW(HKEY_LOCAL_MACHINE, path, 0,
                                   KEY_READ | KEY_WRITE | DELETE | KEY_WOW64_64KEY, &parent);
        if (rc == ERROR_SUCCESS) {
            rc = RegDeleteTreeW(parent, leaf);
            RegCloseKey(parent);
        }
        proto_free(path);
        if (rc != ERROR_SUCCESS && rc != ERROR_FILE_NOT_FOUND) {
            fprintf(stderr, "rrasfleet-seed: cannot delete HKLM\\%s (error %ld)\n",
                    seed_reg_roots[i], (long)rc);
            return SEED_EXIT_FAIL;
        }
    }
    printf("cleared the RasMan and SstpSvc Parameters keys\n");
    return SEED_EXIT_OK;
}

/* Gives ctx a key association naming a machine-keyset container, or removes it. The agent
 * checks that the property is there; no container is created (Wine 8 cannot acquire machine
 * keys through the certificate anyway: README). */
static int seed_set_key_info(PCCERT_CONTEXT ctx, const char *sha1, bool has_key)
{
    if (!has_key) {
        /* A certificate replaced in the store may keep the property from an earlier seed. */
        if (!CertSetCertificateContextProperty(ctx, CERT_KEY_PROV_INFO_PROP_ID, 0, NULL) &&
            seed_has_key_info(ctx)) {
            seed_win_error("removing CERT_KEY_PROV_INFO_PROP_ID", GetLastError());
            return SEED_EXIT_FAIL;
        }
        return SEED_EXIT_OK;
    }
    char name[64];
    wchar_t provider[] = MS_ENHANCED_PROV_W;
    int n = snprintf(name, sizeof(name), "%s%s", SEED_CONTAINER_PREFIX, sha1);
    wchar_t *container = n > 0 && (size_t)n < sizeof(name) ? seed_widen(CP_UTF8, name, NULL) : NULL;
    if (container == NULL) {
        fputs("rrasfleet-seed: cannot make the key container name\n", stderr);
        return SEED_EXIT_FAIL;
    }
    CRYPT_KEY_PROV_INFO info;
    memset(&info, 0, sizeof(info));
    info.pwszContainerName = container;
    info.pwszProvName = provider;
    info.dwProvType = PROV_RSA_FULL;
    info.dwFlags = CRYPT_MACHINE_KEYSET;
    info.dwKeySpec = AT_KEYEXCHANGE;
    BOOL ok = CertSetCertificateContextProperty(ctx, CERT_KEY_PROV_INFO_PROP_ID, 0, &info);
    DWORD err = GetLastError();
    proto_free(container);
    if (!ok) {
        seed_win_error("setting CERT_KEY_PROV_INFO_PROP_ID", err);
        return SEED_EXIT_FAIL;
    }
    return SEED_EXIT_OK;
}

static int seed_certs(HCERTSTORE store, const struct proto_snapshot *snap)
{
    size_t keyed = 0;
    for (size_t i = 0; i < snap->cert_count; i++) {
        const struct proto_cert *cert = &snap->certs[i];
        PCCERT_CONTEXT ctx = NULL;
        if (cert->der == NULL || cert->der_len == 0 || cert->der_len > PROTO_MAX_CERT_DER_BYTES) {
            fprintf(stderr, "rrasfleet-seed: certificate %zu (%s) has no DER to add\n", i,
                    cert->sha1);
            return SEED_EXIT_FAIL;
        }
        if (!CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, cert->der,
                                              (DWORD)cert->der_len, CERT_STORE_ADD_REPLACE_EXISTING,
                                              &ctx)) {
            fprintf(stderr,
                    "rrasfleet-seed: CertAddEncodedCertificateToStore failed for certificate "
                    "%zu (%s) (error 0x%08lX)\n",
                    i, cert->sha1, (unsigned long)GetLastError());
            return SEED_EXIT_FAIL;
        }
        int rc = seed_set_key_info(ctx, cert->sha1, cert->has_private_key);
        CertFreeCertificateContext(ctx);
        if (rc != SEED_EXIT_OK) {
            return rc;
        }
        keyed += cert->has_private_key ? 1u : 0u;
    }
    printf("added %zu certificate(s) to LocalMachine\\My, %zu with a key association\n",
           snap->cert_count, keyed);
    return SEED_EXIT_OK;
}

/* The path below HKEY_LOCAL_MACHINE of a key as reg.exe prints it, or NULL when the key is not
 * under one of seed_reg_roots (borrowed from `key`). */
static const char *seed_reg_subpath(const char *key)
{
    static const char *const prefixes[] = {"HKEY_LOCAL_MACHINE\\", "HKLM\\"};
    const char *rest = NULL;
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]) && rest == NULL; i++) {
        size_t n = strlen(prefixes[i]);
        if (_strnicmp(key, prefixes[i], n) == 0) {
            rest = key + n;
        }
    }
    if (rest == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < SEED_REG_ROOT_COUNT; i++) {
        size_t n = strlen(seed_reg_roots[i]);
        if (_strnicmp(rest, seed_reg_roots[i], n) == 0 && (rest[n] == '\0' || rest[n] == '\\')) {
            return rest;
        }
    }
    return NULL;
}

/* The registry bytes of a value: *data is a new buffer the caller frees with proto_free. */
static int seed_reg_data(const struct proto_reg_value *v, DWORD *type, BYTE **data, DWORD *size)
{
    *data = NULL;
    *size = 0;
    switch (v->type) {
    case PROTO_REG_SZ:
    case PROTO_REG_EXPAND_SZ: {
        size_t count = 0;
        wchar_t *w = seed_widen(CP_UTF8, v->data != NULL ? v->data : "", &count);
        if (w == NULL) {
            return SEED_EXIT_FAIL;
        }
        *type = v->type == PROTO_REG_SZ ? REG_SZ : REG_EXPAND_SZ;
        *data = (BYTE *)w;
        *size = (DWORD)((count + 1) * sizeof(wchar_t));
        return SEED_EXIT_OK;
    }
    case PROTO_REG_MULTI_SZ: {
        size_t total = 1; /* the list's closing NUL */
        for (size_t i = 0; i < v->multi.count; i++) {
            total += strlen(v->multi.items[i]) + 1; /* wide length <= UTF-8 length */
        }
        wchar_t *w = proto_malloc(total * sizeof(wchar_t));
        if (w == NULL) {
            return SEED_EXIT_FAIL;
        }
        size_t at = 0;
        for (size_t i = 0; i < v->multi.count; i++) {
            size_t count = 0;
            wchar_t *item = seed_widen(CP_UTF8, v->multi.items[i], &count);
            if (item == NULL) {
                proto_free(w);
                return SEED_EXIT_FAIL;
            }
            memcpy(w + at, item, (count + 1) * sizeof(wchar_t));
            at += count + 1;
            proto_free(item);
        }
        w[at++] = L'\0';
        *type = REG_MULTI_SZ;
        *data = (BYTE *)w;
        *size = (DWORD)(at * sizeof(wchar_t));
        return SEED_EXIT_OK;
    }
    case PROTO_REG_DWORD: {
        DWORD dw = (DWORD)v->number;
        *data = proto_malloc(sizeof(dw));
        if (*data == NULL) {
            return SEED_EXIT_FAIL;
        }
        memcpy(*data, &dw, sizeof(dw));
        *type = REG_DWORD;
        *size = sizeof(dw);
        return SEED_EXIT_OK;
    }
    case PROTO_REG_QWORD: {
        ULONGLONG qw = v->number;
        *data = proto_malloc(sizeof(qw));
        if (*data == NULL) {
            return SEED_EXIT_FAIL;
        }
        memcpy(*data, &qw, sizeof(qw));
        *type = REG_QWORD;
        *size = sizeof(qw);
        return SEED_EXIT_OK;
    }
    case PROTO_REG_BINARY:
        if (v->bytes_len > 0) {
            *data = proto_malloc(v->bytes_len);
            if (*data == NULL) {
                return SEED_EXIT_FAIL;
            }
            memcpy(*data, v->bytes, v->bytes_len);
        }
        *type = REG_BINARY;
        *size = (DWORD)v->bytes_len;
        return SEED_EXIT_OK;
    case PROTO_REG_NONE:
        *type = REG_NONE;
        return SEED_EXIT_OK;
    case PROTO_REG_OTHER:
        break;
    }
    return SEED_EXIT_USAGE; /* a type this tool cannot write */
}

static int seed_reg_value(const struct proto_reg_value *v)
{
    int result = SEED_EXIT_FAIL;
    wchar_t *path = NULL;
    wchar_t *name = NULL;
    BYTE *data = NULL;
    DWORD type = REG_NONE, size = 0;
    HKEY key = NULL;

    const char *sub = v->key != NULL ? seed_reg_subpath(v->key) : NULL;
    if (sub == NULL) {
        fprintf(stderr, "rrasfleet-seed: registry key '%s' is not one this tool writes\n",
                v->key != NULL ? v->key : "(none)");
        goto out;
    }
    int rc = seed_reg_data(v, &type, &data, &size);
    if (rc == SEED_EXIT_USAGE) {
        fprintf(stderr, "rrasfleet-seed: %s\\%s: type %s cannot be written\n", v->key, v->name,
                proto_reg_type_str(v->type));
        goto out;
    }
    path = seed_widen(CP_UTF8, sub, NULL);
    /* reg.exe prints the unnamed value as "(Default)". */
    name = seed_widen(CP_UTF8, strcmp(v->name, "(Default)") == 0 ? "" : v->name, NULL);
    if (rc != SEED_EXIT_OK || path == NULL || name == NULL) {
        fprintf(stderr, "rrasfleet-seed: %s\\%s: not valid UTF-8, or out of memory\n", v->key,
                v->name);
        goto out;
    }
    LSTATUS st = RegCreateKeyExW(HKEY_LOCAL_MACHINE, path, 0, NULL, REG_OPTION_NON_VOLATILE,
                                 KEY_SET_VALUE | KEY_WOW64_64KEY, NULL, &key, NULL);
    if (st != ERROR_SUCCESS) {
        fprintf(stderr, "rrasfleet-seed: RegCreateKeyExW(%s) failed (error %ld)\n", v->key,
                (long)st);
        goto out;
    }
    st = RegSetValueExW(key, name, 0, type, data, size);
    if (st != ERROR_SUCCESS) {
        fprintf(stderr, "rrasfleet-seed: RegSetValueExW(%s\\%s) failed (error %ld)\n", v->key,
                v->name, (long)st);
        goto out;
    }
    result = SEED_EXIT_OK;
out:
    if (key != NULL) {
        RegCloseKey(key);
    }
    proto_free(data);
    proto_free(name);
    proto_free(path);
    return result;
}

static int seed_registry(const struct proto_snapshot *snap)
{
    for (size_t i = 0; i < snap->registry_count; i++) {
        int rc = seed_reg_value(&snap->registry[i]);
        if (rc != SEED_EXIT_OK) {
            return rc;
        }
    }
    printf("wrote %zu registry value(s)\n", snap->registry_count);
    return SEED_EXIT_OK;
}

static int seed_bundle(HCERTSTORE store, const char *dir)
{
    struct proto_snapshot *snap = NULL;
    enum proto_rc rc = proto_bundle_read(dir, &snap);
    if (rc) {
        fprintf(stderr, "rrasfleet-seed: cannot read bundle %s: %s\n", dir,
                rc == PROTO_ENOTFOUND ? "no such folder" : proto_rc_str(rc));
        return SEED_EXIT_FAIL;
    }
    /* What the bundle lacks is not seeded; say so, since the agent will then see less. */
    for (size_t i = 0; i < snap->error_count; i++) {
        fprintf(stderr, "rrasfleet-seed: note: bundle %s: %s\n", snap->errors[i].source,
                snap->errors[i].message != NULL ? snap->errors[i].message : "");
    }
    int result = seed_certs(store, snap);
    if (result == SEED_EXIT_OK) {
        result = seed_registry(snap);
    }
    proto_snapshot_destroy(snap);
    return result;
}

/*
 * --pfx: the PFX's certificates that carry a private key (not its CA certificates, which would
 * change what the agent reports) go into `store`, each key moved into a container of its own,
 * SEED_CONTAINER_PREFIX + thumbprint, which the certificate's key association names.
 *
 * Why the move: a certificate added as Wine 8's PFXImportCertStore(CRYPT_MACHINE_KEYSET) left
 * it fails in Schannel with SEC_E_UNKNOWN_CREDENTIALS. That import puts every key of the file
 * in one container named after the user and records dwKeySpec 3 (both pairs, which
 * CryptGetUserKey refuses), and Wine's CryptAcquireCertificatePrivateKey ignores
 * CRYPT_MACHINE_KEYSET. So the PFX is imported (exportable) into the user keyset, each key is
 * exported as a PRIVATEKEYBLOB, imported as the AT_KEYEXCHANGE key of its own container and
 * checked against the certificate's public key, and the import's containers are deleted. Under
 * Wine the containers are in the user keyset (key association dwFlags 0), the only place Wine
 * looks; on Windows (--allow-windows) in the machine keyset, where a service finds them.
 */

/* The keyset --pfx puts keys in: 0 (the user's) or CRYPT_MACHINE_KEYSET. */
static DWORD seed_pfx_keyset(void)
{
    return seed_is_wine() ? 0 : CRYPT_MACHINE_KEYSET;
}

/* Exports the private key `info` names as a PRIVATEKEYBLOB into a new buffer the caller wipes
 * and frees with proto_free. */
static int seed_pfx_export_key(const CRYPT_KEY_PROV_INFO *info, const char *sha1, BYTE **blob,
                               DWORD *blob_len)
{
    int result = SEED_EXIT_FAIL;
    HCRYPTPROV prov = 0;
    HCRYPTKEY key = 0;
    *blob = NULL;
    *blob_len = 0;

    if (!CryptAcquireContextW(&prov, info->pwszContainerName, info->pwszProvName, info->dwProvType,
                              info->dwFlags & CRYPT_MACHINE_KEYSET)) {
        seed_win_error("CryptAcquireContextW (the PFX import's key container)", GetLastError());
        goto out;
    }
    /* Wine records dwKeySpec 3, which CryptGetUserKey refuses: try the named pair, then each. */
    DWORD specs[] = {info->dwKeySpec, AT_KEYEXCHANGE, AT_SIGNATURE};
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]) && key == 0; i++) {
        if ((specs[i] == AT_KEYEXCHANGE || specs[i] == AT_SIGNATURE) &&
            !CryptGetUserKey(prov, specs[i], &key)) {
            key = 0;
        }
    }
    if (key == 0) {
        fprintf(stderr, "rrasfleet-seed: the PFX import kept no key pair for %s\n", sha1);
        goto out;
    }
    DWORD len = 0;
    if (!CryptExportKey(key, 0, PRIVATEKEYBLOB, 0, NULL, &len)) {
        seed_win_error("CryptExportKey (size)", GetLastError());
        goto out;
    }
    if (len < sizeof(BLOBHEADER) || len > SEED_MAX_KEY_BLOB) {
        fprintf(stderr, "rrasfleet-seed: the key of %s is %lu bytes as a blob (at most %u)\n", sha1,
                (unsigned long)len, SEED_MAX_KEY_BLOB);
        goto out;
    }
    *blob = proto_malloc(len);
    if (*blob == NULL) {
        fputs("rrasfleet-seed: out of memory\n", stderr);
        goto out;
    }
    *blob_len = len;
    if (!CryptExportKey(key, 0, PRIVATEKEYBLOB, 0, *blob, blob_len)) {
        seed_win_error("CryptExportKey", GetLastError());
        goto out;
    }
    result = SEED_EXIT_OK;
out:
    if (key != 0) {
        CryptDestroyKey(key);
    }
    if (prov != 0) {
        CryptReleaseContext(prov, 0);
    }
    return result;
}

/* Makes `container` (replacing one left by an earlier seed) hold the key of `blob` as its
 * AT_KEYEXCHANGE pair, and checks that it is the key of `ctx`. The blob's header is changed. */
static int seed_pfx_store_key(PCCERT_CONTEXT ctx, const wchar_t *container, DWORD keyset,
                              BYTE *blob, DWORD blob_len)
{
    int result = SEED_EXIT_FAIL;
    HCRYPTPROV prov = 0;
    HCRYPTKEY key = 0;
    CERT_PUBLIC_KEY_INFO *pub = NULL;

    BLOBHEADER *header = (BLOBHEADER *)blob;
    if (header->bType != PRIVATEKEYBLOB) {
        fputs("rrasfleet-seed: the exported key is not a PRIVATEKEYBLOB\n", stderr);
        goto out;
    }
    /* Whichever pair the PFX import kept it as, Schannel's client credential signs with the
     * exchange pair. */
    header->aiKeyAlg = CALG_RSA_KEYX;
    if (seed_delete_container(container, MS_ENHANCED_PROV_W, PROV_RSA_FULL, keyset) < 0) {
        goto out;
    }
    if (!CryptAcquireContextW(&prov, container, MS_ENHANCED_PROV_W, PROV_RSA_FULL,
                              keyset | CRYPT_NEWKEYSET)) {
        seed_win_error("CryptAcquireContextW(CRYPT_NEWKEYSET)", GetLastError());
        goto out;
    }
    if (!CryptImportKey(prov, blob, blob_len, 0, 0, &key)) {
        seed_win_error("CryptImportKey", GetLastError());
        goto out;
    }
    /* Wine's one shared import container would hand a later certificate an earlier key. */
    DWORD cb = 0;
    if (!CryptExportPublicKeyInfo(prov, AT_KEYEXCHANGE, X509_ASN_ENCODING, NULL, &cb) ||
        cb > SEED_MAX_PROP_BYTES || (pub = proto_malloc(cb)) == NULL ||
        !CryptExportPublicKeyInfo(prov, AT_KEYEXCHANGE, X509_ASN_ENCODING, pub, &cb)) {
        seed_win_error("CryptExportPublicKeyInfo", GetLastError());
        goto out;
    }
    if (!CertComparePublicKeyInfo(X509_ASN_ENCODING, &ctx->pCertInfo->SubjectPublicKeyInfo, pub)) {
        fputs("rrasfleet-seed: the PFX import handed back a key that is not the "
              "certificate's\n",
              stderr);
        goto out;
    }
    result = SEED_EXIT_OK;
out:
    proto_free(pub);
    if (key != 0) {
        CryptDestroyKey(key);
    }
    if (prov != 0) {
        CryptReleaseContext(prov, 0);
    }
    if (result != SEED_EXIT_OK && prov != 0) {
        (void)seed_delete_container(container, MS_ENHANCED_PROV_W, PROV_RSA_FULL, keyset);
    }
    return result;
}

/* Adds ctx's certificate (without the PFX import's properties) to `store`, its key association
 * naming `container`. */
static int seed_pfx_add_cert(HCERTSTORE store, PCCERT_CONTEXT ctx, wchar_t *container, DWORD keyset)
{
    PCCERT_CONTEXT added = NULL;
    if (!CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, ctx->pbCertEncoded,
                                          ctx->cbCertEncoded, CERT_STORE_ADD_REPLACE_EXISTING,
                                          &added)) {
        seed_win_error("CertAddEncodedCertificateToStore (PFX)", GetLastError());
        return SEED_EXIT_FAIL;
    }
    wchar_t provider[] = MS_ENHANCED_PROV_W;
    CRYPT_KEY_PROV_INFO info;
    memset(&info, 0, sizeof(info));
    info.pwszContainerName = container;
    info.pwszProvName = provider;
    info.dwProvType = PROV_RSA_FULL;
    info.dwFlags = keyset;
    info.dwKeySpec = AT_KEYEXCHANGE;
    BOOL ok = CertSetCertificateContextProperty(added, CERT_KEY_PROV_INFO_PROP_ID, 0, &info);
    DWORD err = GetLastError();
    CertFreeCertificateContext(added);
    if (!ok) {
        seed_win_error("setting CERT_KEY_PROV_INFO_PROP_ID (PFX)", err);
        return SEED_EXIT_FAIL;
    }
    return SEED_EXIT_OK;
}

/* Moves the key of one PFX certificate (import key association `info`) into its own container
 * and adds the certificate to `store`. */
static int seed_pfx_one(HCERTSTORE store, PCCERT_CONTEXT ctx, const CRYPT_KEY_PROV_INFO *info,
                        const char *file)
{
    int result = SEED_EXIT_FAIL;
    BYTE *blob = NULL;
    DWORD blob_len = 0;
    wchar_t *container = NULL;
    DWORD keyset = seed_pfx_keyset();
    char sha1[PROTO_SHA1_HEX_LEN + 1];
    char name[64];

    seed_thumbprint(ctx, sha1);
    int n = snprintf(name, sizeof(name), "%s%s", SEED_CONTAINER_PREFIX, sha1);
    if (sha1[0] == '\0' || n <= 0 || (size_t)n >= sizeof(name) ||
        (container = seed_widen(CP_UTF8, name, NULL)) == NULL) {
        fputs("rrasfleet-seed: cannot name the key container of a PFX certificate\n", stderr);
        goto out;
    }
    result = seed_pfx_export_key(info, sha1, &blob, &blob_len);
    if (result == SEED_EXIT_OK) {
        result = seed_pfx_store_key(ctx, container, keyset, blob, blob_len);
    }
    if (result == SEED_EXIT_OK) {
        result = seed_pfx_add_cert(store, ctx, container, keyset);
        if (result != SEED_EXIT_OK) {
            (void)seed_delete_container(container, MS_ENHANCED_PROV_W, PROV_RSA_FULL, keyset);
        }
    }
    if (result == SEED_EXIT_OK) {
        printf("imported %s from %s with its private key (container %s, %s keyset)\n", sha1, file,
               name, keyset != 0 ? "machine" : "user");
    }
out:
    if (blob != NULL) {
        SecureZeroMemory(blob, blob_len);
    }
    proto_free(blob);
    proto_free(container);
    return result;
}

static int seed_pfx(HCERTSTORE store, const char *file, const char *password)
{
    int result = SEED_EXIT_FAIL;
    unsigned char *bytes = NULL;
    size_t len = 0;
    wchar_t *wpassword = NULL;
    size_t wpassword_len = 0;
    HCERTSTORE pfx = NULL;
    size_t imported = 0;
    /* The import's own containers, deleted once their keys have moved (Wine: one for all). */
    CRYPT_KEY_PROV_INFO *import_keys[SEED_MAX_PFX_KEYS] = {NULL};
    size_t import_key_count = 0;

    enum proto_rc rc = proto_file_read(file, SEED_MAX_PFX_BYTES, &bytes, &len);
    if (rc) {
        fprintf(stderr, "rrasfleet-seed: cannot read %s: %s\n", file,
                rc == PROTO_ELIMIT ? "larger than 64 KiB" : proto_rc_str(rc));
        goto out;
    }
    CRYPT_DATA_BLOB blob = {(DWORD)len, bytes};
    if (!PFXIsPFXBlob(&blob)) {
        fprintf(stderr, "rrasfleet-seed: %s is not a PFX (PKCS #12) file\n", file);
        goto out;
    }
    wpassword = seed_widen(CP_ACP, password != NULL ? password : "", &wpassword_len);
    if (wpassword == NULL) {
        fputs("rrasfleet-seed: cannot convert the PFX password\n", stderr);
        goto out;
    }
    /* The user keyset, exportable: the keys only pass through it (seed_pfx_one moves them). */
    pfx = PFXImportCertStore(&blob, wpassword, CRYPT_EXPORTABLE | CRYPT_USER_KEYSET);
    if (pfx == NULL && password == NULL) {
        pfx = PFXImportCertStore(&blob, NULL, CRYPT_EXPORTABLE | CRYPT_USER_KEYSET);
    }
    if (pfx == NULL) {
        fprintf(stderr,
                "rrasfleet-seed: PFXImportCertStore(%s) failed (error 0x%08lX): wrong password, "
                "or a key Wine 8 cannot import (it takes RSA keys only, no EC)\n",
                file, (unsigned long)GetLastError());
        goto out;
    }
    PCCERT_CONTEXT ctx = NULL;
    while ((ctx = CertEnumCertificatesInStore(pfx, ctx)) != NULL) {
        CRYPT_KEY_PROV_INFO *info = seed_key_prov_info(ctx);
        if (info == NULL) {
            continue; /* a CA certificate of the file */
        }
        if (import_key_count == SEED_MAX_PFX_KEYS) {
            proto_free(info);
            CertFreeCertificateContext(ctx);
            fprintf(stderr, "rrasfleet-seed: %s holds more than %d keys\n", file,
                    SEED_MAX_PFX_KEYS);
            goto out;
        }
        import_keys[import_key_count++] = info;
        if (seed_pfx_one(store, ctx, info, file) != SEED_EXIT_OK) {
            CertFreeCertificateContext(ctx);
            goto out;
        }
        imported++;
    }
    if (imported == 0) {
        fprintf(stderr, "rrasfleet-seed: %s holds no certificate with a private key\n", file);
        goto out;
    }
    result = SEED_EXIT_OK;
out:
    if (pfx != NULL) {
        CertCloseStore(pfx, 0);
    }
    for (size_t i = 0; i < import_key_count; i++) {
        const CRYPT_KEY_PROV_INFO *info = import_keys[i];
        /* Several entries name the same container under Wine: the first deletes it. */
        if (seed_delete_container(info->pwszContainerName, info->pwszProvName, info->dwProvType,
                                  info->dwFlags & CRYPT_MACHINE_KEYSET) < 0) {
            result = SEED_EXIT_FAIL;
        }
        proto_free(import_keys[i]);
    }
    if (wpassword != NULL) {
        SecureZeroMemory(wpassword, wpassword_len * sizeof(wchar_t));
    }
    proto_free(wpassword);
    proto_free(bytes);
    return result;
}

static void seed_list(HCERTSTORE store)
{
    size_t index = 0;
    PCCERT_CONTEXT ctx = NULL;
    while ((ctx = CertEnumCertificatesInStore(store, ctx)) != NULL) {
        char sha1[PROTO_SHA1_HEX_LEN + 1];
        seed_thumbprint(ctx, sha1);
        printf("%zu %s %s\n", index++, sha1[0] != '\0' ? sha1 : "?",
               seed_has_key_info(ctx) ? "key" : "nokey");
    }
}

int main(int argc, char **argv)
{
    struct seed_options opts;
    HCERTSTORE store = NULL;

    int result = seed_parse_args(argc, argv, &opts);
    if (result != 0) {
        return result < 0 ? SEED_EXIT_OK : result;
    }
    if (!seed_is_wine() && !opts.allow_windows) {
        fputs("rrasfleet-seed: not running under Wine: this test helper rewrites "
              "LocalMachine\\My and the RasMan/SstpSvc keys; pass --allow-windows on a "
              "throwaway test machine\n",
              stderr);
        return SEED_EXIT_USAGE;
    }
    store = seed_open_my();
    if (store == NULL) {
        return SEED_EXIT_FAIL;
    }
    if (opts.clear) {
        result = seed_clear_store(store);
        if (result == SEED_EXIT_OK) {
            result = seed_clear_registry();
        }
    }
    if (result == SEED_EXIT_OK && opts.bundle != NULL) {
        result = seed_bundle(store, opts.bundle);
    }
    if (result == SEED_EXIT_OK && opts.pfx != NULL) {
        result = seed_pfx(store, opts.pfx, opts.pfx_password);
    }
    if (result == SEED_EXIT_OK && opts.list) {
        seed_list(store);
    }
    /* The registry-backed system store writes its changes when it is closed, but Wine 8 leaks
     * a reference to it when a certificate is deleted through the collection (after --clear,
     * CertCloseStore returns TRUE and writes nothing), so commit explicitly. */
    bool changed = opts.clear || opts.bundle != NULL || opts.pfx != NULL;
    if (changed && result == SEED_EXIT_OK &&
        !CertControlStore(store, 0, CERT_STORE_CTRL_COMMIT, NULL)) {
        seed_win_error("CertControlStore(LocalMachine\\My, COMMIT)", GetLastError());
        result = SEED_EXIT_FAIL;
    }
    if (!CertCloseStore(store, 0) && result == SEED_EXIT_OK) {
        seed_win_error("CertCloseStore(LocalMachine\\My)", GetLastError());
        result = SEED_EXIT_FAIL;
    }
    fflush(stdout);
    return result;
}
