/*
 * bundle: capture bundle folder -> snapshot (DESIGN §5).
 *
 * Owns file access for the offline source: each file is read whole under a cap, decoded by
 * text, handed to its parser, and any failure becomes an errors entry naming the file. The
 * same parsers serve the live Win32 source; this module must never interpret their text itself.
 */
#include "bundle.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "alloc.h"
#include "caps.h"
#include "derive.h"
#include "hostinfo.h"
#include "netsh_consec.h"
#include "netsh_sslcert.h"
#include "regquery.h"
#include "text.h"
#include "x509.h"

#define BUNDLE_STORE_DIR "LocalMachine-My"
#define BUNDLE_KEYS_FILE "private-keys.txt"
#define BUNDLE_PATH_MAX 4096

enum proto_rc proto_file_read(const char *path, size_t max, unsigned char **out, size_t *out_len)
{
    enum proto_rc result = PROTO_OK;
    unsigned char *data = NULL;
    size_t len = 0;
    *out = NULL;
    *out_len = 0;

    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return errno == ENOENT ? PROTO_ENOTFOUND : PROTO_EIO;
    }
    /* One byte more than allowed tells "exactly max" from "too big" without trusting stat. */
    data = proto_malloc(max + 2);
    if (data == NULL) {
        result = PROTO_ENOMEM;
        goto out;
    }
    while (len <= max) {
        size_t n = fread(data + len, 1, max + 1 - len, f);
        if (n == 0) {
            break;
        }
        len += n;
    }
    if (ferror(f)) {
        result = PROTO_EIO;
        goto out;
    }
    if (len > max) {
        result = PROTO_ELIMIT;
        goto out;
    }
    data[len] = '\0';
    *out = data;
    *out_len = len;
    data = NULL;
out:
    proto_free(data);
    fclose(f);
    return result;
}

static int bundle_path(char *buf, size_t size, const char *dir, const char *a, const char *b)
{
    int n = b ? snprintf(buf, size, "%s/%s/%s", dir, a, b) : snprintf(buf, size, "%s/%s", dir, a);
    return n > 0 && (size_t)n < size ? 0 : -1;
}

/* Reads and decodes one text file; on failure records an error for `name` and returns NULL. */
static char *bundle_read_text(struct proto_snapshot *snap, const char *dir, const char *name,
                              unsigned oem_codepage, size_t *len_out, enum proto_rc *rc_out)
{
    char path[BUNDLE_PATH_MAX];
    unsigned char *raw = NULL;
    size_t raw_len = 0;
    char *text = NULL;
    enum proto_rc result;

    if (bundle_path(path, sizeof(path), dir, name, NULL) != 0) {
        result = PROTO_ELIMIT;
        proto_snapshot_add_error(snap, name, result, "path too long");
        goto out;
    }
    result = proto_file_read(path, PROTO_MAX_TEXT_FILE_BYTES, &raw, &raw_len);
    if (result == PROTO_ENOTFOUND) {
        proto_snapshot_add_error(snap, name, result, "file not in the bundle");
        goto out;
    }
    if (result) {
        proto_snapshot_add_error(snap, name, result, "cannot read file: %s",
                                 result == PROTO_ELIMIT ? "larger than the size limit"
                                                        : proto_rc_str(result));
        goto out;
    }
    result = proto_text_decode(raw, raw_len, oem_codepage, &text, len_out, NULL);
    if (result) {
        proto_snapshot_add_error(snap, name, result, "cannot decode text: %s",
                                 proto_rc_str(result));
    }
out:
    proto_free(raw);
    *rc_out = result;
    return text;
}

/* A store file name is NNN-<40 hex>.cer; returns NNN or -1. */
static long bundle_store_order(const char *name)
{
    char *end = NULL;
    if (!isdigit((unsigned char)name[0])) {
        return -1;
    }
    errno = 0;
    long order = strtol(name, &end, 10);
    if (errno != 0 || end == name || *end != '-' || order < 0) {
        return -1;
    }
    const char *hex = end + 1;
    for (int i = 0; i < PROTO_SHA1_HEX_LEN; i++) {
        if (!isxdigit((unsigned char)hex[i])) {
            return -1;
        }
    }
    if (strcasecmp(hex + PROTO_SHA1_HEX_LEN, ".cer") != 0) {
        return -1;
    }
    return order;
}

struct bundle_store_entry {
    long order;
    char name[256];
};

static int bundle_entry_cmp(const void *a, const void *b)
{
    const struct bundle_store_entry *ea = a, *eb = b;
    if (ea->order != eb->order) {
        return ea->order < eb->order ? -1 : 1;
    }
    return strcmp(ea->name, eb->name);
}

/* The thumbprints of private-keys.txt, upper-cased and sorted for bsearch. */
struct bundle_keys {
    char (*sha1)[PROTO_SHA1_HEX_LEN + 1];
    size_t count;
};

static int bundle_key_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Collects the 40-hex-digit lines of the decoded key list; others are ignored. */
static enum proto_rc bundle_keys_load(const char *text, size_t len, struct bundle_keys *keys)
{
    size_t pos = 0, line_len = 0, cap = 0;
    const char *line;
    while ((line = proto_text_next_line(text, len, &pos, &line_len)) != NULL) {
        while (line_len > 0 && isspace((unsigned char)*line)) {
            line++;
            line_len--;
        }
        while (line_len > 0 && isspace((unsigned char)line[line_len - 1])) {
            line_len--;
        }
        if (line_len != PROTO_SHA1_HEX_LEN || keys->count >= PROTO_MAX_CERTS) {
            continue;
        }
        if (keys->count == cap) {
            cap = cap ? cap * 2 : 64;
            void *grown = proto_realloc(keys->sha1, cap * sizeof(*keys->sha1));
            if (grown == NULL) {
                return PROTO_ENOMEM;
            }
            keys->sha1 = grown;
        }
        char *out = keys->sha1[keys->count++];
        for (size_t i = 0; i < line_len; i++) {
            out[i] = (char)toupper((unsigned char)line[i]);
        }
        out[line_len] = '\0';
    }
    if (keys->count > 1) {
        qsort(keys->sha1, keys->count, sizeof(*keys->sha1), bundle_key_cmp);
    }
    return PROTO_OK;
}

/* True when the certificate's upper-case thumbprint is in the key list. */
static bool bundle_has_key(const struct bundle_keys *keys, const char *sha1)
{
    return keys->count > 0 &&
           bsearch(sha1, keys->sha1, keys->count, sizeof(*keys->sha1), bundle_key_cmp) != NULL;
}

static enum proto_rc bundle_read_store(struct proto_snapshot *snap, const char *dir)
{
    enum proto_rc result = PROTO_OK;
    struct bundle_store_entry *entries = NULL;
    size_t count = 0;
    char *keys_text = NULL;
    size_t keys_len = 0;
    struct bundle_keys keys = {NULL, 0};
    char path[BUNDLE_PATH_MAX];
    DIR *store = NULL;

    if (bundle_path(path, sizeof(path), dir, BUNDLE_STORE_DIR, NULL) != 0 ||
        (store = opendir(path)) == NULL) {
        proto_snapshot_add_error(snap, BUNDLE_STORE_DIR, PROTO_ENOTFOUND,
                                 "certificate store folder not in the bundle");
        return PROTO_OK;
    }
    snap->certs_available = true;
    entries = proto_calloc(PROTO_MAX_CERTS, sizeof(*entries));
    if (entries == NULL) {
        result = PROTO_ENOMEM;
        goto out;
    }
    struct dirent *de;
    while ((de = readdir(store)) != NULL) {
        long order = bundle_store_order(de->d_name);
        if (order < 0 || strlen(de->d_name) >= sizeof(entries[0].name)) {
            continue;
        }
        if (count == PROTO_MAX_CERTS) {
            proto_snapshot_add_error(snap, BUNDLE_STORE_DIR, PROTO_ELIMIT,
                                     "more than %u certificates; the rest were not read",
                                     PROTO_MAX_CERTS);
            break;
        }
        entries[count].order = order;
        snprintf(entries[count].name, sizeof(entries[count].name), "%s", de->d_name);
        count++;
    }
    qsort(entries, count, sizeof(*entries), bundle_entry_cmp);

    enum proto_rc keys_rc;
    keys_text = bundle_read_text(snap, dir, BUNDLE_STORE_DIR "/" BUNDLE_KEYS_FILE,
                                 PROTO_CODEPAGE_DEFAULT_OEM, &keys_len, &keys_rc);
    if (keys_rc == PROTO_ENOMEM) {
        result = keys_rc;
        goto out;
    }
    if (keys_text != NULL) {
        result = bundle_keys_load(keys_text, keys_len, &keys);
        if (result) {
            goto out;
        }
    }

    for (size_t i = 0; i < count; i++) {
        char source[300];
        snprintf(source, sizeof(source), "%s/%s", BUNDLE_STORE_DIR, entries[i].name);
        unsigned char *der = NULL;
        size_t der_len = 0;
        if (bundle_path(path, sizeof(path), dir, BUNDLE_STORE_DIR, entries[i].name) != 0) {
            continue;
        }
        enum proto_rc rc = proto_file_read(path, PROTO_MAX_CERT_DER_BYTES, &der, &der_len);
        if (rc) {
            proto_snapshot_add_error(snap, source, rc, "cannot read certificate: %s",
                                     proto_rc_str(rc));
            continue;
        }
        struct proto_cert *cert = NULL;
        result = proto_snapshot_add_cert(snap, &cert);
        if (result) {
            proto_free(der);
            goto out;
        }
        char why[256] = "";
        rc = proto_x509_facts(der, der_len, cert, why, sizeof(why));
        proto_free(der);
        if (rc == PROTO_ENOMEM) {
            result = rc;
            goto out;
        }
        if (rc) {
            proto_snapshot_add_error(snap, source, rc, "certificate not parsed: %s", why);
        }
        cert->store_index = snap->cert_count - 1;
        cert->has_private_key = bundle_has_key(&keys, cert->sha1);
        /* The file name carries the thumbprint Windows showed; a mismatch means a damaged or
         * hand-edited bundle, worth telling but not fatal. */
        const char *name_hex = strchr(entries[i].name, '-') + 1;
        if (cert->sha1[0] != '\0' && strncasecmp(name_hex, cert->sha1, PROTO_SHA1_HEX_LEN) != 0) {
            proto_snapshot_add_error(snap, source, PROTO_EPARSE,
                                     "file name thumbprint differs from the content's SHA-1 %s",
                                     cert->sha1);
        }
    }
out:
    proto_free(keys_text);
    proto_free(keys.sha1);
    proto_free(entries);
    closedir(store);
    return result;
}

typedef enum proto_rc (*bundle_parser_fn)(const char *text, size_t len, const char *source,
                                          struct proto_snapshot *snap);

/* Reads one capture file and runs its parser; parser failures are already recorded by the
 * parser itself, so only allocation failure is passed up. */
static enum proto_rc bundle_parse_file(struct proto_snapshot *snap, const char *dir,
                                       const char *name, unsigned oem_codepage,
                                       bundle_parser_fn parse)
{
    size_t len = 0;
    enum proto_rc rc;
    char *text = bundle_read_text(snap, dir, name, oem_codepage, &len, &rc);
    if (text == NULL) {
        return rc == PROTO_ENOMEM ? rc : PROTO_OK;
    }
    rc = parse(text, len, name, snap);
    proto_free(text);
    return rc == PROTO_ENOMEM ? rc : PROTO_OK;
}

enum proto_rc proto_bundle_read(const char *dir, struct proto_snapshot **out)
{
    enum proto_rc result = PROTO_OK;
    struct proto_snapshot *snap = NULL;
    char *host_text = NULL;
    struct stat st;
    *out = NULL;

    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return PROTO_ENOTFOUND;
    }
    snap = proto_snapshot_create();
    if (snap == NULL) {
        return PROTO_ENOMEM;
    }

    unsigned oem_codepage = PROTO_CODEPAGE_DEFAULT_OEM;
    size_t host_len = 0;
    enum proto_rc rc;
    host_text = bundle_read_text(snap, dir, "host.txt", oem_codepage, &host_len, &rc);
    if (host_text != NULL) {
        rc = proto_hostinfo_parse(host_text, host_len, &snap->host, &oem_codepage);
        if (rc == PROTO_ENOMEM) {
            result = rc;
            goto out;
        }
        if (rc) {
            proto_snapshot_add_error(snap, "host.txt", rc, "host.txt not understood: %s",
                                     proto_rc_str(rc));
        }
    } else if (rc == PROTO_ENOMEM) {
        result = rc;
        goto out;
    }

    result = bundle_read_store(snap, dir);
    if (result) {
        goto out;
    }
    struct {
        const char *name;
        bundle_parser_fn parse;
        bool optional; /* added after the first bundles: absent is not an error */
    } captures[] = {
        {"netsh-consec.txt", proto_netsh_consec_parse, false},
        {"netsh-http-sslcert.txt", proto_netsh_sslcert_parse, false},
        {"reg-rasman.txt", proto_regquery_parse, false},
        {"reg-sstpsvc.txt", proto_regquery_parse, false},
        {"reg-policyagent.txt", proto_regquery_parse, true},
    };
    for (size_t i = 0; i < sizeof(captures) / sizeof(captures[0]); i++) {
        char path[BUNDLE_PATH_MAX];
        if (captures[i].optional &&
            (bundle_path(path, sizeof(path), dir, captures[i].name, NULL) != 0 ||
             stat(path, &st) != 0)) {
            continue;
        }
        result = bundle_parse_file(snap, dir, captures[i].name, oem_codepage, captures[i].parse);
        if (result) {
            goto out;
        }
    }
    proto_snapshot_derive(snap);
    *out = snap;
    snap = NULL;
out:
    proto_free(host_text);
    proto_snapshot_destroy(snap);
    return result;
}
