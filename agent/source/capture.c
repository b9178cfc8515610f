/*
 * capture: the in-memory capture bundle and its two consumers (see capture.h).
 *
 * The snapshot is derived the way proto/bundle.c derives a bundle's, step for step and with the
 * same error wording, so a capture read from a bundle gives the same snapshot as the bundle
 * itself (tests/unit/agent/test_capture.c holds the two together on every fixture). Text the
 * live host has as values (host facts, registry values) is first rendered into the text the
 * tools print, then parsed like any capture: this module never interprets netsh or reg text.
 */
#include "capture.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "agent_os.h"
#include "alloc.h"
#include "bundle.h"
#include "buf.h"
#include "caps.h"
#include "derive.h"
#include "digest.h"
#include "hostinfo.h"
#include "netsh_consec.h"
#include "netsh_sslcert.h"
#include "regquery.h"
#include "text.h"
#include "timefmt.h"
#include "x509.h"

#define CAPTURE_VERSION "1.0" /* the bundle layout capture.ps1 writes */
#define CAPTURE_WHY_MAX 512u
#define CAPTURE_CERT_NAME_MAX 80u /* "NNN-<40 hex>.cer" with any size_t */

/* The bundle reader's wording for what is missing (proto/bundle.c). */
#define CAPTURE_MSG_NO_FILE "file not in the bundle"
#define CAPTURE_MSG_NO_STORE "certificate store folder not in the bundle"
#define CAPTURE_MSG_TOO_BIG "cannot read file: larger than the size limit"

typedef enum proto_rc (*capture_parser_fn)(const char *text, size_t len, const char *source,
                                           struct proto_snapshot *snap);

static const struct {
    const char *name;
    capture_parser_fn parse; /* NULL: host.txt, read on its own */
} capture_files[AGENT_CAPTURE_FILE_COUNT] = {
    [AGENT_CAPTURE_HOST] = {"host.txt", NULL},
    [AGENT_CAPTURE_NETSH_CONSEC] = {"netsh-consec.txt", proto_netsh_consec_parse},
    [AGENT_CAPTURE_NETSH_SSLCERT] = {"netsh-http-sslcert.txt", proto_netsh_sslcert_parse},
    [AGENT_CAPTURE_REG_RASMAN] = {"reg-rasman.txt", proto_regquery_parse},
    [AGENT_CAPTURE_REG_SSTPSVC] = {"reg-sstpsvc.txt", proto_regquery_parse},
    [AGENT_CAPTURE_REG_POLICYAGENT] = {"reg-policyagent.txt", proto_regquery_parse},
};

/* The two netsh commands of DESIGN §5, as argument vectors. */
static const char *const capture_consec_args[] = {"advfirewall", "consec",   "show",
                                                  "rule",        "name=all", "verbose"};
static const char *const capture_sslcert_args[] = {"http", "show", "sslcert"};

/* ---- lifetime and small setters ---------------------------------------------------------- */

static void capture_state_reset(struct agent_capture_state *state, enum proto_rc status)
{
    proto_free(state->why);
    state->why = NULL;
    state->status = status;
}

static void capture_file_clear(struct agent_capture_file *f)
{
    proto_free(f->bytes);
    f->bytes = NULL;
    f->len = 0;
    f->has_exit_code = false;
    f->exit_code = 0;
}

struct agent_capture *agent_capture_create(void)
{
    struct agent_capture *cap = proto_calloc(1, sizeof(*cap));
    if (cap == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < AGENT_CAPTURE_FILE_COUNT; i++) {
        cap->files[i].state.status = PROTO_ENOTFOUND;
    }
    cap->store.status = PROTO_ENOTFOUND;
    cap->keys.status = PROTO_ENOTFOUND;
    return cap;
}

void agent_capture_destroy(struct agent_capture *cap)
{
    if (cap == NULL) {
        return;
    }
    for (size_t i = 0; i < AGENT_CAPTURE_FILE_COUNT; i++) {
        capture_file_clear(&cap->files[i]);
        proto_free(cap->files[i].state.why);
    }
    proto_free(cap->store.why);
    proto_free(cap->keys.why);
    for (size_t i = 0; i < cap->cert_count; i++) {
        proto_free(cap->certs[i].der);
        proto_strv_clear(&cap->certs[i].win_eku);
        proto_cert_win_clear(&cap->certs[i].win);
    }
    proto_free(cap->certs);
    for (size_t i = 0; i < cap->note_count; i++) {
        proto_free(cap->notes[i].source);
        proto_free(cap->notes[i].message);
    }
    proto_free(cap->notes);
    proto_free(cap);
}

const char *agent_capture_file_name(enum agent_capture_file_id id)
{
    return (size_t)id < AGENT_CAPTURE_FILE_COUNT ? capture_files[id].name : "";
}

static enum proto_rc capture_vfail(struct agent_capture_state *state, enum proto_rc status,
                                   const char *fmt, va_list ap) PROTO_PRINTF_LIKE(3, 0);

static enum proto_rc capture_vfail(struct agent_capture_state *state, enum proto_rc status,
                                   const char *fmt, va_list ap)
{
    char why[CAPTURE_WHY_MAX];
    if (vsnprintf(why, sizeof(why), fmt, ap) < 0) {
        why[0] = '\0';
    }
    capture_state_reset(state, status == PROTO_OK ? PROTO_EIO : status);
    state->why = proto_strdup(why);
    return state->why != NULL ? PROTO_OK : PROTO_ENOMEM;
}

enum proto_rc agent_capture_fail(struct agent_capture_state *state, enum proto_rc status,
                                 const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum proto_rc result = capture_vfail(state, status, fmt, ap);
    va_end(ap);
    return result;
}

/* A file's state is the first member of its struct: failing it also drops its bytes. */
static enum proto_rc capture_file_fail(struct agent_capture_file *f, enum proto_rc status,
                                       const char *fmt, ...) PROTO_PRINTF_LIKE(3, 4);

static enum proto_rc capture_file_fail(struct agent_capture_file *f, enum proto_rc status,
                                       const char *fmt, ...)
{
    va_list ap;
    capture_file_clear(f);
    va_start(ap, fmt);
    enum proto_rc result = capture_vfail(&f->state, status, fmt, ap);
    va_end(ap);
    return result;
}

enum proto_rc agent_capture_note(struct agent_capture *cap, const char *source, enum proto_rc code,
                                 const char *fmt, ...)
{
    char message[CAPTURE_WHY_MAX];
    va_list ap;
    if (cap->note_count >= PROTO_MAX_ERRORS) {
        return PROTO_ELIMIT;
    }
    va_start(ap, fmt);
    int n = vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    if (n < 0) {
        message[0] = '\0';
    }
    struct proto_error *grown =
        proto_realloc(cap->notes, (cap->note_count + 1) * sizeof(*cap->notes));
    if (grown == NULL) {
        return PROTO_ENOMEM;
    }
    cap->notes = grown;
    struct proto_error *e = &cap->notes[cap->note_count];
    e->source = proto_strdup(source);
    e->code = code;
    e->message = proto_strdup(message);
    if (e->source == NULL || e->message == NULL) {
        proto_free(e->source);
        proto_free(e->message);
        return PROTO_ENOMEM;
    }
    cap->note_count++;
    return PROTO_OK;
}

/* Takes ownership of bytes (proto_malloc'd, may be NULL when len is 0). */
static enum proto_rc capture_file_take(struct agent_capture_file *f, unsigned char *bytes,
                                       size_t len)
{
    capture_file_clear(f);
    if (len > PROTO_MAX_TEXT_FILE_BYTES) {
        proto_free(bytes);
        enum proto_rc result = capture_file_fail(f, PROTO_ELIMIT, CAPTURE_MSG_TOO_BIG);
        return result == PROTO_OK ? PROTO_ELIMIT : result;
    }
    capture_state_reset(&f->state, PROTO_OK);
    f->bytes = bytes;
    f->len = len;
    return PROTO_OK;
}

enum proto_rc agent_capture_set_file(struct agent_capture *cap, enum agent_capture_file_id id,
                                     const unsigned char *bytes, size_t len)
{
    if (cap == NULL || (size_t)id >= AGENT_CAPTURE_FILE_COUNT || (bytes == NULL && len > 0)) {
        return PROTO_EINVAL;
    }
    unsigned char *copy = NULL;
    if (len > 0 && len <= PROTO_MAX_TEXT_FILE_BYTES) {
        copy = proto_malloc(len);
        if (copy == NULL) {
            return PROTO_ENOMEM;
        }
        memcpy(copy, bytes, len);
    }
    return capture_file_take(&cap->files[id], copy, len);
}

/* ---- rendering host facts and registry values as the tools print them --------------------- */

/*
 * Appends s[0..len) as text every reader takes back unchanged: invalid UTF-8 and control
 * characters (C0, DEL and C1, which the text decoder reads as a sign of OEM bytes) become '?',
 * and the result is cut at `max` bytes on a character boundary.
 */
static enum proto_rc capture_append_clean(struct proto_buf *out, const char *s, size_t len,
                                          size_t max)
{
    enum proto_rc result = PROTO_OK;
    size_t used = 0;
    size_t i = 0;
    while (i < len && result == PROTO_OK) {
        uint32_t cp = 0;
        size_t n = proto_utf8_decode((const unsigned char *)s + i, len - i, &cp);
        bool bad = n == 0 || cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F);
        size_t width = bad ? 1 : n;
        if (used + width > max) {
            break;
        }
        result = bad ? proto_buf_append_byte(out, '?') : proto_buf_append(out, s + i, n);
        used += width;
        i += bad ? (n == 0 ? 1 : n) : n;
    }
    return result;
}

static enum proto_rc capture_host_line(struct proto_buf *out, const char *key, const char *value)
{
    if (value == NULL) {
        return PROTO_OK;
    }
    enum proto_rc result = proto_buf_appendf(out, "%s: ", key);
    if (result == PROTO_OK) {
        result = capture_append_clean(out, value, strlen(value), PROTO_MAX_NAME);
    }
    return result == PROTO_OK ? proto_buf_append_str(out, "\n") : result;
}

/* Turns UTF-8 text with LF ends into the bytes of a CRLF file and stores them. */
static enum proto_rc capture_store_text(struct agent_capture_file *f, const struct proto_buf *text)
{
    unsigned char *bytes = NULL;
    size_t len = 0;
    const char *s = proto_buf_str(text);
    enum proto_rc result = proto_text_encode(s, strlen(s), "utf-8", true, &bytes, &len);
    if (result) {
        return result;
    }
    return capture_file_take(f, bytes, len);
}

enum proto_rc agent_capture_set_host(struct agent_capture *cap, const struct proto_host *host,
                                     unsigned oem_codepage)
{
    enum proto_rc result = PROTO_OK;
    struct proto_buf text;
    char stamp[64];

    if (cap == NULL || host == NULL) {
        return PROTO_EINVAL;
    }
    proto_buf_init(&text, PROTO_MAX_TEXT_FILE_BYTES);
    cap->oem_codepage = oem_codepage;
    if ((result = capture_host_line(&text, "Hostname", host->hostname)) != PROTO_OK ||
        (result = capture_host_line(&text, "FQDN", host->fqdn)) != PROTO_OK ||
        (result = capture_host_line(&text, "OS", host->os)) != PROTO_OK) {
        goto out;
    }
    if (oem_codepage != 0) {
        /* As capture.ps1: the reader decodes 437 and 850 and refuses another OEMCodePage, so
         * another code page goes under a key it ignores (and the files are read as 437). */
        bool known = oem_codepage == 437u || oem_codepage == 850u;
        result =
            proto_buf_appendf(&text, "%sOEMCodePage: %u\n", known ? "" : "System", oem_codepage);
    }
    if (result == PROTO_OK && host->collected_at != 0 &&
        proto_time_format_rfc3339(host->collected_at, stamp, sizeof(stamp)) == PROTO_OK) {
        result = capture_host_line(&text, "CollectedAt", stamp);
    }
    if (result == PROTO_OK) {
        result = capture_host_line(&text, "CaptureVersion", CAPTURE_VERSION);
    }
    if (result == PROTO_OK) {
        result = capture_host_line(&text, "AgentVersion", host->agent_version);
    }
    if (result == PROTO_OK) {
        result = capture_store_text(&cap->files[AGENT_CAPTURE_HOST], &text);
    }
out:
    proto_buf_free(&text);
    return result;
}

static enum proto_rc capture_hex(struct proto_buf *out, const unsigned char *data, size_t len)
{
    static const char digits[] = "0123456789ABCDEF";
    enum proto_rc result = PROTO_OK;
    for (size_t i = 0; i < len && result == PROTO_OK; i++) {
        char pair[2] = {digits[data[i] >> 4], digits[data[i] & 0x0F]};
        result = proto_buf_append(out, pair, 2);
    }
    return result;
}

/* Little-endian number of up to 8 bytes (fewer: zero-extended; more: ignored). */
static uint64_t capture_le(const unsigned char *data, size_t len, size_t width)
{
    uint64_t v = 0;
    for (size_t i = 0; i < width && i < len; i++) {
        v |= (uint64_t)data[i] << (8 * i);
    }
    return v;
}

/* The data text of a value as reg.exe prints it. */
static enum proto_rc capture_reg_data(struct proto_buf *out, enum proto_reg_type type,
                                      const unsigned char *data, size_t len)
{
    const char *s = (const char *)data;
    switch (type) {
    case PROTO_REG_SZ:
    case PROTO_REG_EXPAND_SZ: {
        const char *nul = len > 0 ? memchr(s, '\0', len) : NULL;
        size_t n = nul != NULL ? (size_t)(nul - s) : len;
        return capture_append_clean(out, s, n, PROTO_MAX_REG_DATA);
    }
    case PROTO_REG_MULTI_SZ: {
        enum proto_rc result = PROTO_OK;
        size_t start = 0;
        bool first = true;
        while (start < len && result == PROTO_OK) {
            const char *nul = memchr(s + start, '\0', len - start);
            size_t n = nul != NULL ? (size_t)(nul - (s + start)) : len - start;
            if (n == 0) {
                break; /* the empty string that ends the list */
            }
            if (!first) {
                result = proto_buf_append_str(out, "\\0");
            }
            if (result == PROTO_OK) {
                result = capture_append_clean(out, s + start, n, PROTO_MAX_REG_DATA);
            }
            first = false;
            start += n + 1;
        }
        return result;
    }
    case PROTO_REG_DWORD:
        return proto_buf_appendf(out, "0x%lx", (unsigned long)capture_le(data, len, 4));
    case PROTO_REG_QWORD:
        return proto_buf_appendf(out, "0x%llx", (unsigned long long)capture_le(data, len, 8));
    default:
        return capture_hex(out, data, len);
    }
}

enum proto_rc agent_capture_reg_value(const char *key, const char *name, enum proto_reg_type type,
                                      const unsigned char *data, size_t len,
                                      struct proto_reg_value *v)
{
    enum proto_rc result = PROTO_OK;
    struct proto_buf name_text, data_text;

    if (key == NULL || name == NULL || v == NULL || (data == NULL && len > 0)) {
        return PROTO_EINVAL;
    }
    proto_buf_init(&name_text, PROTO_MAX_NAME);
    /* Twice the line cap holds any value that can be printed on one line; longer is refused. */
    proto_buf_init(&data_text, 2u * PROTO_MAX_LINE_BYTES);
    result = name[0] == '\0' ? proto_buf_append_str(&name_text, "(Default)")
                             : capture_append_clean(&name_text, name, strlen(name), PROTO_MAX_NAME);
    if (result == PROTO_OK) {
        if (type == PROTO_REG_BINARY || type == PROTO_REG_NONE || type == PROTO_REG_OTHER) {
            result = len > PROTO_MAX_LINE_BYTES ? PROTO_ELIMIT : capture_hex(&data_text, data, len);
        } else {
            result = capture_reg_data(&data_text, type, data, len);
        }
    }
    /* "    NAME    TYPE    DATA": longer lines fail the parser's whole file. */
    if (result == PROTO_OK &&
        12u + name_text.len + strlen(proto_reg_type_str(type)) + data_text.len >
            PROTO_MAX_LINE_BYTES) {
        result = PROTO_ELIMIT;
    }
    if (result == PROTO_OK) {
        v->key = proto_strdup(key);
        v->name = proto_buf_detach(&name_text, NULL);
        v->data = proto_buf_detach(&data_text, NULL);
        v->type = type;
        if (v->key == NULL || v->name == NULL || v->data == NULL) {
            result = PROTO_ENOMEM;
        }
    }
    proto_buf_free(&name_text);
    proto_buf_free(&data_text);
    return result;
}

enum proto_rc agent_capture_set_registry(struct agent_capture *cap, enum agent_capture_file_id id,
                                         const char *key, const struct proto_reg_value *values,
                                         size_t count, const char *error_line)
{
    enum proto_rc result = PROTO_OK;
    struct proto_buf text;

    if (cap == NULL || (size_t)id >= AGENT_CAPTURE_FILE_COUNT || capture_files[id].parse == NULL ||
        key == NULL || (values == NULL && count > 0)) {
        return PROTO_EINVAL;
    }
    proto_buf_init(&text, PROTO_MAX_TEXT_FILE_BYTES);
    if (error_line != NULL) {
        result = capture_append_clean(&text, error_line, strlen(error_line), PROTO_MAX_NAME);
        if (result == PROTO_OK) {
            result = proto_buf_append_str(&text, "\n");
        }
    } else {
        result = proto_regquery_print(key, values, count, &text);
    }
    if (result == PROTO_OK) {
        result = capture_store_text(&cap->files[id], &text);
    } else if (result == PROTO_ELIMIT) {
        result = capture_file_fail(&cap->files[id], PROTO_ELIMIT, CAPTURE_MSG_TOO_BIG);
    }
    proto_buf_free(&text);
    return result;
}

/* ---- netsh ------------------------------------------------------------------------------- */

static enum proto_rc capture_run_one(struct agent_capture_file *f,
                                     const struct agent_netsh_runner *runner,
                                     const char *const *args, size_t arg_count, uint32_t timeout_ms)
{
    struct agent_netsh_output output = {NULL, 0, 0};
    char why[CAPTURE_WHY_MAX] = "";
    char command[128] = "netsh";
    size_t used = strlen(command);
    for (size_t i = 0; i < arg_count && used < sizeof(command); i++) {
        int n = snprintf(command + used, sizeof(command) - used, " %s", args[i]);
        used = n < 0 ? sizeof(command) : used + (size_t)n;
    }
    if (runner == NULL || runner->run == NULL) {
        return capture_file_fail(f, PROTO_EUNSUPPORTED, "%s: no way to run netsh here", command);
    }
    enum proto_rc rc = runner->run(runner->ctx, args, arg_count, PROTO_MAX_TEXT_FILE_BYTES,
                                   timeout_ms, &output, why, sizeof(why));
    if (rc == PROTO_ENOMEM) {
        proto_free(output.bytes);
        return rc;
    }
    if (rc != PROTO_OK) {
        proto_free(output.bytes);
        return capture_file_fail(f, rc, "%s: %s", command, why[0] != '\0' ? why : proto_rc_str(rc));
    }
    rc = capture_file_take(f, output.bytes, output.len);
    if (rc == PROTO_OK) {
        f->has_exit_code = true;
        f->exit_code = output.exit_code;
    }
    return rc == PROTO_ENOMEM ? rc : PROTO_OK;
}

enum proto_rc agent_capture_run_netsh(struct agent_capture *cap,
                                      const struct agent_netsh_runner *runner, uint32_t timeout_ms)
{
    if (cap == NULL) {
        return PROTO_EINVAL;
    }
    if (timeout_ms == 0) {
        timeout_ms = AGENT_NETSH_TIMEOUT_MS;
    }
    enum proto_rc result =
        capture_run_one(&cap->files[AGENT_CAPTURE_NETSH_CONSEC], runner, capture_consec_args,
                        sizeof(capture_consec_args) / sizeof(capture_consec_args[0]), timeout_ms);
    if (result == PROTO_OK) {
        result = capture_run_one(
            &cap->files[AGENT_CAPTURE_NETSH_SSLCERT], runner, capture_sslcert_args,
            sizeof(capture_sslcert_args) / sizeof(capture_sslcert_args[0]), timeout_ms);
    }
    return result;
}

/* ---- certificates ------------------------------------------------------------------------ */

void agent_capture_store_read(struct agent_capture *cap)
{
    capture_state_reset(&cap->store, PROTO_OK);
    capture_state_reset(&cap->keys, PROTO_OK);
}

enum proto_rc agent_capture_add_cert(struct agent_capture *cap, const unsigned char *der,
                                     size_t der_len, bool has_private_key,
                                     struct agent_capture_cert **out)
{
    if (cap == NULL || (der == NULL && der_len > 0)) {
        return PROTO_EINVAL;
    }
    if (cap->cert_count >= PROTO_MAX_CERTS || der_len > PROTO_MAX_CERT_DER_BYTES) {
        return PROTO_ELIMIT;
    }
    if (cap->cert_count == cap->cert_cap) {
        size_t cap_new = cap->cert_cap ? cap->cert_cap * 2 : 16;
        void *grown = proto_realloc(cap->certs, cap_new * sizeof(*cap->certs));
        if (grown == NULL) {
            return PROTO_ENOMEM;
        }
        cap->certs = grown;
        cap->cert_cap = cap_new;
    }
    struct agent_capture_cert *c = &cap->certs[cap->cert_count];
    memset(c, 0, sizeof(*c));
    if (der_len > 0) {
        c->der = proto_malloc(der_len);
        if (c->der == NULL) {
            return PROTO_ENOMEM;
        }
        memcpy(c->der, der, der_len);
    }
    c->der_len = der_len;
    c->has_private_key = has_private_key;
    cap->cert_count++;
    if (out != NULL) {
        *out = c;
    }
    return PROTO_OK;
}

/* ---- capture -> snapshot ----------------------------------------------------------------- */

/* Adds the notes of `source` (exactly, or every source under it with `prefix`). */
static void capture_emit_notes(const struct agent_capture *cap, struct proto_snapshot *snap,
                               const char *source, bool prefix)
{
    size_t n = strlen(source);
    for (size_t i = 0; i < cap->note_count; i++) {
        const struct proto_error *e = &cap->notes[i];
        bool match = prefix ? strncmp(e->source, source, n) == 0 && e->source[n] == '/'
                            : strcmp(e->source, source) == 0;
        if (match) {
            (void)proto_snapshot_add_error(snap, e->source, e->code, "%s", e->message);
        }
    }
}

static void capture_state_error(struct proto_snapshot *snap, const char *source,
                                const struct agent_capture_state *state, const char *default_why)
{
    (void)proto_snapshot_add_error(snap, source, state->status, "%s",
                                   state->why != NULL ? state->why : default_why);
}

/* The decoded text of a file, as proto/bundle.c's bundle_read_text: NULL with an error entry
 * when it was not captured or does not decode; *rc_out says which. */
static char *capture_text(const struct agent_capture *cap, struct proto_snapshot *snap,
                          enum agent_capture_file_id id, unsigned oem_codepage, size_t *len_out,
                          enum proto_rc *rc_out)
{
    const struct agent_capture_file *f = &cap->files[id];
    const char *name = capture_files[id].name;
    char *text = NULL;
    *len_out = 0;
    if (f->state.status != PROTO_OK) {
        capture_state_error(snap, name, &f->state, CAPTURE_MSG_NO_FILE);
        *rc_out = f->state.status;
        return NULL;
    }
    *rc_out = proto_text_decode(f->bytes, f->len, oem_codepage, &text, len_out, NULL);
    if (*rc_out) {
        (void)proto_snapshot_add_error(snap, name, *rc_out, "cannot decode text: %s",
                                       proto_rc_str(*rc_out));
    }
    return text;
}

/* Overlays crypt32's facts on the certificate proto_x509_facts made of the DER. */
static enum proto_rc capture_apply_win(const struct agent_capture_cert *c, struct proto_cert *cert)
{
    if (!c->win.present && !c->win_eku_known) {
        return PROTO_OK;
    }
    enum proto_rc result = proto_cert_win_copy(&c->win, &cert->win);
    cert->win.present = true;
    cert->win.eku_effective = c->win_eku_known;
    if (result == PROTO_OK && c->win_eku_known) {
        proto_strv_clear(&cert->eku);
        cert->has_eku = !c->win_eku_any;
        if (cert->has_eku) {
            result = proto_strv_copy(&c->win_eku, &cert->eku);
        }
    }
    return result;
}

static enum proto_rc capture_snapshot_store(const struct agent_capture *cap,
                                            struct proto_snapshot *snap)
{
    if (cap->store.status != PROTO_OK) {
        capture_state_error(snap, AGENT_CAPTURE_STORE_DIR, &cap->store, CAPTURE_MSG_NO_STORE);
        return PROTO_OK;
    }
    snap->certs_available = true;
    capture_emit_notes(cap, snap, AGENT_CAPTURE_STORE_DIR, false);
    bool keys_known = cap->keys.status == PROTO_OK;
    if (!keys_known) {
        capture_state_error(snap, AGENT_CAPTURE_KEYS_FILE, &cap->keys, CAPTURE_MSG_NO_FILE);
    }
    capture_emit_notes(cap, snap, AGENT_CAPTURE_STORE_DIR, true);
    for (size_t i = 0; i < cap->cert_count; i++) {
        const struct agent_capture_cert *c = &cap->certs[i];
        struct proto_cert *cert = NULL;
        enum proto_rc result = proto_snapshot_add_cert(snap, &cert);
        if (result) {
            return result == PROTO_ENOMEM ? result : PROTO_OK;
        }
        char why[256] = "";
        enum proto_rc rc = proto_x509_facts(c->der, c->der_len, cert, why, sizeof(why));
        if (rc == PROTO_ENOMEM) {
            return rc;
        }
        if (rc) {
            char source[CAPTURE_CERT_NAME_MAX + sizeof(AGENT_CAPTURE_STORE_DIR)];
            snprintf(source, sizeof(source), "%s/%03zu-%s.cer", AGENT_CAPTURE_STORE_DIR, i,
                     cert->sha1);
            (void)proto_snapshot_add_error(snap, source, rc, "certificate not parsed: %s", why);
        }
        cert->store_index = snap->cert_count - 1;
        cert->has_private_key = keys_known && c->has_private_key;
        result = capture_apply_win(c, cert);
        if (result) {
            return result;
        }
    }
    return PROTO_OK;
}

enum proto_rc agent_capture_snapshot(const struct agent_capture *cap, struct proto_snapshot **out)
{
    enum proto_rc result = PROTO_OK;
    struct proto_snapshot *snap = NULL;
    char *text = NULL;
    size_t len = 0;
    enum proto_rc rc;

    if (cap == NULL || out == NULL) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    snap = proto_snapshot_create();
    if (snap == NULL) {
        return PROTO_ENOMEM;
    }
    unsigned oem_codepage = PROTO_CODEPAGE_DEFAULT_OEM;
    text = capture_text(cap, snap, AGENT_CAPTURE_HOST, oem_codepage, &len, &rc);
    if (text != NULL) {
        rc = proto_hostinfo_parse(text, len, &snap->host, &oem_codepage);
        if (rc && rc != PROTO_ENOMEM) {
            (void)proto_snapshot_add_error(snap, "host.txt", rc, "host.txt not understood: %s",
                                           proto_rc_str(rc));
        }
    }
    proto_free(text);
    text = NULL;
    if (rc == PROTO_ENOMEM) {
        result = rc;
        goto out;
    }
    capture_emit_notes(cap, snap, capture_files[AGENT_CAPTURE_HOST].name, false);

    result = capture_snapshot_store(cap, snap);
    if (result) {
        goto out;
    }
    for (size_t id = AGENT_CAPTURE_NETSH_CONSEC; id < AGENT_CAPTURE_FILE_COUNT; id++) {
        const struct agent_capture_file *f = &cap->files[id];
        /* reg-policyagent.txt is the agent's own addition: a capture without it (every bundle
         * capture.ps1 made) is not missing anything. */
        if (id == AGENT_CAPTURE_REG_POLICYAGENT && f->state.status == PROTO_ENOTFOUND &&
            f->state.why == NULL) {
            continue;
        }
        text = capture_text(cap, snap, (enum agent_capture_file_id)id, oem_codepage, &len, &rc);
        if (text != NULL) {
            rc = capture_files[id].parse(text, len, capture_files[id].name, snap);
            proto_free(text);
            text = NULL;
        }
        if (rc == PROTO_ENOMEM) {
            result = rc;
            goto out;
        }
        capture_emit_notes(cap, snap, capture_files[id].name, false);
    }
    proto_snapshot_derive(snap);
    *out = snap;
    snap = NULL;
out:
    proto_snapshot_destroy(snap);
    return result;
}

/* ---- capture -> bundle folder ------------------------------------------------------------ */

static enum proto_rc capture_count_entry(void *ctx, const char *name)
{
    (void)name;
    (*(size_t *)ctx)++;
    return PROTO_OK;
}

/* Makes `dir` (and its parents) unless it exists; refuses one that holds anything. */
static enum proto_rc capture_prepare_dir(const char *dir, char *why, size_t why_size)
{
    size_t entries = 0;
    enum proto_rc result = agent_os_mkdirs(dir);
    if (result) {
        proto_errf(why, why_size, "cannot create the folder %s: %s", dir,
                   result == PROTO_EIO ? "a part of it is not a folder" : proto_rc_str(result));
        return result;
    }
    result = agent_os_list(dir, capture_count_entry, &entries);
    if (result) {
        proto_errf(why, why_size, "cannot list %s: %s", dir, proto_rc_str(result));
        return result;
    }
    if (entries > 0) {
        proto_errf(why, why_size, "%s is not empty; choose a new folder so no old files mix in",
                   dir);
        return PROTO_EINVAL;
    }
    return PROTO_OK;
}

static enum proto_rc capture_write_file(const char *dir, const char *name,
                                        const unsigned char *bytes, size_t len, char *why,
                                        size_t why_size)
{
    char path[AGENT_OS_PATH_MAX];
    enum proto_rc result = agent_os_join(path, sizeof(path), dir, name);
    if (result == PROTO_OK) {
        result = agent_os_replace_file(path, bytes, len);
    }
    if (result) {
        proto_errf(why, why_size, "cannot write %s/%s: %s", dir, name, proto_rc_str(result));
    }
    return result;
}

static enum proto_rc capture_sha1_hex(const unsigned char *der, size_t len,
                                      char hex[PROTO_SHA1_HEX_LEN + 1])
{
    static const char digits[] = "0123456789ABCDEF";
    unsigned char digest[PROTO_SHA1_DIGEST_LEN];
    enum proto_rc result = proto_sha1(der, len, digest);
    if (result) {
        return result;
    }
    for (size_t i = 0; i < PROTO_SHA1_DIGEST_LEN; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 0x0F];
    }
    hex[PROTO_SHA1_HEX_LEN] = '\0';
    return PROTO_OK;
}

static enum proto_rc capture_write_store(const struct agent_capture *cap, const char *dir,
                                         char *why, size_t why_size)
{
    char store[AGENT_OS_PATH_MAX];
    struct proto_buf keys;
    enum proto_rc result = agent_os_join(store, sizeof(store), dir, AGENT_CAPTURE_STORE_DIR);
    if (result == PROTO_OK) {
        result = agent_os_mkdirs(store);
    }
    if (result) {
        proto_errf(why, why_size, "cannot create %s/%s: %s", dir, AGENT_CAPTURE_STORE_DIR,
                   proto_rc_str(result));
        return result;
    }
    /* 2000 thumbprints of 42 bytes each fit well under the text cap. */
    proto_buf_init(&keys, PROTO_MAX_TEXT_FILE_BYTES);
    for (size_t i = 0; i < cap->cert_count && result == PROTO_OK; i++) {
        const struct agent_capture_cert *c = &cap->certs[i];
        char sha1[PROTO_SHA1_HEX_LEN + 1];
        char name[CAPTURE_CERT_NAME_MAX];
        result = capture_sha1_hex(c->der, c->der_len, sha1);
        if (result) {
            proto_errf(why, why_size, "cannot hash certificate %zu", i);
            break;
        }
        snprintf(name, sizeof(name), "%03zu-%s.cer", i, sha1);
        result = capture_write_file(store, name, c->der, c->der_len, why, why_size);
        if (result == PROTO_OK && c->has_private_key) {
            result = proto_buf_appendf(&keys, "%s\r\n", sha1);
        }
    }
    if (result == PROTO_OK && cap->keys.status == PROTO_OK) {
        result = capture_write_file(store, "private-keys.txt", (const unsigned char *)keys.data,
                                    keys.len, why, why_size);
    }
    proto_buf_free(&keys);
    return result;
}

enum proto_rc agent_capture_write_bundle(const struct agent_capture *cap, const char *dir,
                                         char *why, size_t why_size)
{
    proto_errf(why, why_size, "%s", "");
    if (cap == NULL || dir == NULL || dir[0] == '\0') {
        proto_errf(why, why_size, "no folder given");
        return PROTO_EINVAL;
    }
    enum proto_rc result = capture_prepare_dir(dir, why, why_size);
    if (result) {
        return result;
    }
    for (size_t id = 0; id < AGENT_CAPTURE_FILE_COUNT && result == PROTO_OK; id++) {
        const struct agent_capture_file *f = &cap->files[id];
        if (f->state.status == PROTO_OK) {
            result =
                capture_write_file(dir, capture_files[id].name, f->bytes, f->len, why, why_size);
        }
    }
    if (result == PROTO_OK && cap->store.status == PROTO_OK) {
        result = capture_write_store(cap, dir, why, why_size);
    }
    return result;
}

/* ---- bundle folder -> capture ------------------------------------------------------------ */

static enum proto_rc capture_read_file(struct agent_capture *cap, const char *dir,
                                       enum agent_capture_file_id id)
{
    char path[AGENT_OS_PATH_MAX];
    unsigned char *bytes = NULL;
    size_t len = 0;
    struct agent_capture_file *f = &cap->files[id];
    int n = snprintf(path, sizeof(path), "%s/%s", dir, capture_files[id].name);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        return capture_file_fail(f, PROTO_ELIMIT, "path too long");
    }
    enum proto_rc rc = proto_file_read(path, PROTO_MAX_TEXT_FILE_BYTES, &bytes, &len);
    switch (rc) {
    case PROTO_OK:
        return capture_file_take(f, bytes, len);
    case PROTO_ENOTFOUND:
        return PROTO_OK; /* stays "not captured", worded as the bundle reader words it */
    case PROTO_ELIMIT:
        return capture_file_fail(f, rc, CAPTURE_MSG_TOO_BIG);
    case PROTO_ENOMEM:
        return rc;
    default:
        return capture_file_fail(f, rc, "cannot read file: %s", proto_rc_str(rc));
    }
}

/* The store as proto_bundle_read read it: certificates in order with their key flag, the key
 * list's error, and the store entries no re-derivation brings back (unreadable files, the
 * count cap, a misnamed file) as notes. */
static enum proto_rc capture_take_store(struct agent_capture *cap,
                                        const struct proto_snapshot *snap)
{
    static const char parse_prefix[] = "certificate not parsed:";
    enum proto_rc result = PROTO_OK;
    if (!snap->certs_available) {
        return PROTO_OK;
    }
    agent_capture_store_read(cap);
    for (size_t i = 0; i < snap->error_count && result == PROTO_OK; i++) {
        const struct proto_error *e = &snap->errors[i];
        size_t n = strlen(AGENT_CAPTURE_STORE_DIR);
        if (strncmp(e->source, AGENT_CAPTURE_STORE_DIR, n) != 0 ||
            (e->source[n] != '\0' && e->source[n] != '/')) {
            continue;
        }
        if (strcmp(e->source, AGENT_CAPTURE_KEYS_FILE) == 0) {
            result = agent_capture_fail(&cap->keys, e->code, "%s", e->message);
        } else if (strncmp(e->message, parse_prefix, sizeof(parse_prefix) - 1) != 0) {
            result = agent_capture_note(cap, e->source, e->code, "%s", e->message);
            result = result == PROTO_ELIMIT ? PROTO_OK : result;
        }
    }
    for (size_t i = 0; i < snap->cert_count && result == PROTO_OK; i++) {
        const struct proto_cert *c = &snap->certs[i];
        result = agent_capture_add_cert(cap, c->der, c->der_len, c->has_private_key, NULL);
    }
    return result;
}

enum proto_rc agent_capture_read_bundle(const char *dir, struct agent_capture **out)
{
    enum proto_rc result = PROTO_OK;
    struct proto_snapshot *snap = NULL;
    struct agent_capture *cap = NULL;

    if (dir == NULL || out == NULL) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    /* The bundle reader lists and orders the store; its certificates carry the DER. */
    result = proto_bundle_read(dir, &snap);
    if (result) {
        return result;
    }
    cap = agent_capture_create();
    if (cap == NULL) {
        result = PROTO_ENOMEM;
        goto out;
    }
    for (size_t id = 0; id < AGENT_CAPTURE_FILE_COUNT && result == PROTO_OK; id++) {
        result = capture_read_file(cap, dir, (enum agent_capture_file_id)id);
    }
    if (result == PROTO_OK) {
        result = capture_take_store(cap, snap);
    }
    if (result) {
        goto out;
    }
    *out = cap;
    cap = NULL;
out:
    agent_capture_destroy(cap);
    proto_snapshot_destroy(snap);
    return result;
}

#ifndef _WIN32
/* The live source is capture_win32.c; other builds have no live host to read. */
enum proto_rc agent_capture_live(const struct agent_capture_live_options *opts,
                                 struct agent_capture **out)
{
    (void)opts;
    if (out != NULL) {
        *out = NULL;
    }
    return PROTO_EUNSUPPORTED;
}
#endif
