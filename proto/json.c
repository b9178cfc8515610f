/*
 * json: the report wire format rrasfleet.report/1 (DESIGN §7) on cJSON: report lifetime,
 * encoder and strict decoder.
 *
 * Owns the mapping between the proto model and the document that schema/json/report.schema.json
 * describes; the two must change together. The decoder trusts nothing: size first, then the
 * text against RFC 8259 with depth cap, UTF-8, no \u0000 and no repeated member name
 * (json_check.h), then every member's type and every cap of caps.h, naming the first
 * offending member. It never re-parses certificate DER (the collector
 * does) and never re-derives typed fields the document carries. All memory goes through alloc.h.
 */
#include "json.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/base64.h>

#include "alloc.h"
#include "base64.h"
#include "buf.h"
#include "caps.h"
#include "json_check.h"
#include "printf_like.h"
#include "timefmt.h"
#include "x509.h"

/* 2^53: the largest integer a JSON number (an IEEE double) carries exactly. */
#define JSON_MAX_SAFE_INTEGER ((uint64_t)1 << 53)
/* Base64 text of the largest DER certificate accepted. */
#define JSON_MAX_DER_BASE64 (4u * ((PROTO_MAX_CERT_DER_BYTES + 2u) / 3u))
/* The RFC 3339 parser refuses anything longer. */
#define JSON_MAX_TIME_TEXT 64u
/* The range proto_time_format_rfc3339 can print: years 0000-9999. */
#define JSON_MIN_TIME (-62167219200LL)
#define JSON_MAX_TIME 253402300799LL
#define JSON_UUID_LEN 36u
/* proto_rc_str is probed up to this code when mapping error text back to a code. */
#define JSON_RC_PROBE_MAX 64

struct json_key_usage {
    unsigned bit;
    const char *name; /* RFC 5280 KeyUsage bit name */
};

static const struct json_key_usage json_key_usages[] = {
    {PROTO_KU_DIGITAL_SIGNATURE, "digitalSignature"},
    {PROTO_KU_NON_REPUDIATION, "nonRepudiation"},
    {PROTO_KU_KEY_ENCIPHERMENT, "keyEncipherment"},
    {PROTO_KU_DATA_ENCIPHERMENT, "dataEncipherment"},
    {PROTO_KU_KEY_AGREEMENT, "keyAgreement"},
    {PROTO_KU_KEY_CERT_SIGN, "keyCertSign"},
    {PROTO_KU_CRL_SIGN, "cRLSign"},
    {PROTO_KU_ENCIPHER_ONLY, "encipherOnly"},
    {PROTO_KU_DECIPHER_ONLY, "decipherOnly"},
};

#define JSON_KEY_USAGE_COUNT (sizeof(json_key_usages) / sizeof(json_key_usages[0]))

/* ---- shared helpers ---------------------------------------------------------------------- */

static bool json_is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static char json_upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static char json_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* 8-4-4-4-12 hexadecimal digits, any case (the version nibble is not checked). */
static bool json_uuid_valid(const char *s)
{
    if (strnlen(s, JSON_UUID_LEN + 1) != JSON_UUID_LEN) {
        return false;
    }
    for (size_t i = 0; i < JSON_UUID_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !json_is_hex(s[i])) {
            return false;
        }
    }
    return true;
}

/* ---- report lifetime --------------------------------------------------------------------- */

struct proto_report *proto_report_create(void)
{
    struct proto_report *report = proto_calloc(1, sizeof(*report));
    if (report == NULL) {
        return NULL;
    }
    report->snapshot = proto_snapshot_create();
    if (report->snapshot == NULL) {
        proto_free(report);
        return NULL;
    }
    return report;
}

void proto_report_destroy(struct proto_report *report)
{
    if (report == NULL) {
        return;
    }
    proto_snapshot_destroy(report->snapshot);
    for (size_t i = 0; i < report->finding_count; i++) {
        proto_finding_clear(&report->findings[i]);
    }
    proto_free(report->findings);
    proto_free(report);
}

/* ---- encoder ----------------------------------------------------------------------------- */

/* Adds `item` under `key`, deleting it if it cannot be added. False on allocation failure. */
static bool enc_add(cJSON *obj, const char *key, cJSON *item)
{
    if (item == NULL) {
        return false;
    }
    if (!cJSON_AddItemToObject(obj, key, item)) {
        cJSON_Delete(item);
        return false;
    }
    return true;
}

/* A required string member: a NULL model string is sent as "" so the document stays valid. */
static bool enc_add_str(cJSON *obj, const char *key, const char *s)
{
    return enc_add(obj, key, cJSON_CreateString(s != NULL ? s : ""));
}

/* An optional string member: absent when NULL. */
static bool enc_add_opt_str(cJSON *obj, const char *key, const char *s)
{
    return s == NULL || enc_add_str(obj, key, s);
}

static bool enc_add_bool(cJSON *obj, const char *key, bool b)
{
    return enc_add(obj, key, cJSON_CreateBool(b));
}

/* Only for values below 2^32 (see enc_add_big_uint). */
static bool enc_add_uint(cJSON *obj, const char *key, uint64_t v)
{
    return enc_add(obj, key, cJSON_CreateNumber((double)v));
}

/* An integer of up to 2^53 printed exactly. cJSON 1.7.15 prints numbers with "%1.15g" and keeps
 * that when it reads back "close enough", which drops the last digits of integers longer than
 * 15 digits (2^53 came out as 9007199254740990); so the digits are written here, as raw JSON. */
static bool enc_add_big_uint(cJSON *obj, const char *key, uint64_t v)
{
    char digits[24];
    int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)v);
    if (n <= 0 || (size_t)n >= sizeof(digits)) {
        return false;
    }
    return enc_add(obj, key, cJSON_CreateRaw(digits));
}

/* A hash that may be unknown: "" in the model is null on the wire. */
static bool enc_add_hash_or_null(cJSON *obj, const char *key, const char *hex)
{
    return enc_add(obj, key, hex[0] != '\0' ? cJSON_CreateString(hex) : cJSON_CreateNull());
}

static bool enc_add_dword_opt(cJSON *obj, const char *key, const struct proto_dword_opt *opt)
{
    return enc_add(obj, key,
                   opt->present ? cJSON_CreateNumber((double)opt->value) : cJSON_CreateNull());
}

/* Times outside years 0000-9999 cannot be written in RFC 3339; x509 never produces them, and
 * clamping keeps the encoder total (its only failure is allocation). */
static bool enc_add_time(cJSON *obj, const char *key, int64_t t)
{
    char text[32];
    if (t < JSON_MIN_TIME) {
        t = JSON_MIN_TIME;
    } else if (t > JSON_MAX_TIME) {
        t = JSON_MAX_TIME;
    }
    if (proto_time_format_rfc3339(t, text, sizeof(text)) != PROTO_OK) {
        text[0] = '\0';
    }
    return enc_add_str(obj, key, text);
}

/* Appends a new empty object to `array` and returns it (borrowed), or NULL. */
static cJSON *enc_push_object(cJSON *array)
{
    cJSON *obj = cJSON_CreateObject();
    if (obj != NULL && !cJSON_AddItemToArray(array, obj)) {
        cJSON_Delete(obj);
        obj = NULL;
    }
    return obj;
}

static bool enc_push_string(cJSON *array, const char *s)
{
    cJSON *item = cJSON_CreateString(s != NULL ? s : "");
    if (item != NULL && !cJSON_AddItemToArray(array, item)) {
        cJSON_Delete(item);
        item = NULL;
    }
    return item != NULL;
}

static cJSON *enc_strv(const struct proto_strv *v)
{
    cJSON *array = cJSON_CreateArray();
    for (size_t i = 0; array != NULL && i < v->count; i++) {
        if (!enc_push_string(array, v->items[i])) {
            cJSON_Delete(array);
            array = NULL;
        }
    }
    return array;
}

static cJSON *enc_dn(const struct proto_dn *dn)
{
    cJSON *array = cJSON_CreateArray();
    for (size_t i = 0; array != NULL && i < dn->count; i++) {
        const struct proto_dn_attr *attr = &dn->attrs[i];
        cJSON *obj = enc_push_object(array);
        if (obj == NULL || !enc_add_str(obj, "type", attr->type) ||
            !enc_add_str(obj, "value", attr->value) ||
            (attr->same_rdn_as_prev && !enc_add_bool(obj, "same_rdn_as_prev", true))) {
            cJSON_Delete(array);
            array = NULL;
        }
    }
    return array;
}

static cJSON *enc_key_usage(unsigned bits)
{
    cJSON *array = cJSON_CreateArray();
    for (size_t i = 0; array != NULL && i < JSON_KEY_USAGE_COUNT; i++) {
        if ((bits & json_key_usages[i].bit) != 0 &&
            !enc_push_string(array, json_key_usages[i].name)) {
            cJSON_Delete(array);
            array = NULL;
        }
    }
    return array;
}

static cJSON *enc_base64(const unsigned char *data, size_t len)
{
    if (len == 0) {
        return cJSON_CreateString("");
    }
    size_t need = 0;
    /* Asking with no buffer returns the size needed, terminating NUL included. */
    (void)mbedtls_base64_encode(NULL, 0, &need, data, len);
    unsigned char *text = proto_malloc(need);
    if (text == NULL) {
        return NULL;
    }
    size_t written = 0;
    cJSON *item = NULL;
    if (mbedtls_base64_encode(text, need, &written, data, len) == 0) {
        item = cJSON_CreateString((const char *)text);
    }
    proto_free(text);
    return item;
}

static cJSON *enc_rule(const struct proto_consec_rule *rule)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON *extra = NULL;
    if (obj == NULL) {
        return NULL;
    }
    for (int i = 0; i < PROTO_RULE_FIELD_COUNT; i++) {
        if (!enc_add_opt_str(obj, proto_rule_fields[i].json_key, rule->field[i])) {
            goto fail;
        }
    }
    if (rule->extra_count > 0) {
        extra = cJSON_CreateObject();
        if (!enc_add(obj, "extra", extra)) {
            goto fail;
        }
        for (size_t i = 0; i < rule->extra_count; i++) {
            const char *key = rule->extra[i].key != NULL ? rule->extra[i].key : "";
            if (!enc_add_str(extra, key, rule->extra[i].value)) {
                goto fail;
            }
        }
    }
    if (!enc_add_bool(obj, "psk_redacted", rule->psk_redacted) ||
        !enc_add_bool(obj, "labels_unrecognised", rule->labels_unrecognised)) {
        goto fail;
    }
    return obj;
fail:
    cJSON_Delete(obj);
    return NULL;
}

static cJSON *enc_ipsec(const struct proto_snapshot *snap)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON *rules = NULL;
    if (obj == NULL) {
        return NULL;
    }
    if (!enc_add_dword_opt(obj, "prohibit_ipsec", &snap->prohibit_ipsec) ||
        !enc_add_dword_opt(obj, "allow_l2tp_weak_crypto", &snap->allow_l2tp_weak_crypto) ||
        !enc_add_dword_opt(obj, "negotiate_dh2048_aes256", &snap->negotiate_dh2048_aes256) ||
        !enc_add_bool(obj, "rules_available", snap->rules_available)) {
        goto fail;
    }
    rules = cJSON_CreateArray();
    if (!enc_add(obj, "rules", rules)) {
        goto fail;
    }
    for (size_t i = 0; i < snap->rule_count; i++) {
        cJSON *rule = enc_rule(&snap->rules[i]);
        if (rule == NULL || !cJSON_AddItemToArray(rules, rule)) {
            cJSON_Delete(rule);
            goto fail;
        }
    }
    return obj;
fail:
    cJSON_Delete(obj);
    return NULL;
}

static cJSON *enc_bindings(const struct proto_snapshot *snap)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON *ssl = NULL;
    if (obj == NULL) {
        return NULL;
    }
    if (!enc_add_bool(obj, "ssl_available", snap->ssl_bindings_available)) {
        goto fail;
    }
    ssl = cJSON_CreateArray();
    if (!enc_add(obj, "ssl", ssl)) {
        goto fail;
    }
    for (size_t i = 0; i < snap->ssl_binding_count; i++) {
        const struct proto_ssl_binding *b = &snap->ssl_bindings[i];
        cJSON *item = enc_push_object(ssl);
        if (item == NULL || !enc_add_str(item, "endpoint", b->endpoint) ||
            !enc_add_str(item, "kind", b->kind) || !enc_add_str(item, "cert_hash", b->cert_hash) ||
            !enc_add_opt_str(item, "app_id", b->app_id) ||
            !enc_add_opt_str(item, "store_name", b->store_name)) {
            goto fail;
        }
    }
    if (!enc_add_hash_or_null(obj, "iphttps_cert_sha1", snap->iphttps_cert_sha1) ||
        !enc_add_hash_or_null(obj, "sstp_cert_sha1", snap->sstp_cert_sha1) ||
        !enc_add_hash_or_null(obj, "sstp_cert_sha256", snap->sstp_cert_sha256)) {
        goto fail;
    }
    return obj;
fail:
    cJSON_Delete(obj);
    return NULL;
}

static cJSON *enc_registry(const struct proto_snapshot *snap)
{
    cJSON *array = cJSON_CreateArray();
    for (size_t i = 0; array != NULL && i < snap->registry_count; i++) {
        const struct proto_reg_value *v = &snap->registry[i];
        cJSON *item = enc_push_object(array);
        /* Only the text reg.exe printed is sent; the decoder re-derives number, bytes and
         * items from it, so the two can never disagree on the wire. */
        if (item == NULL || !enc_add_str(item, "key", v->key) ||
            !enc_add_str(item, "name", v->name) ||
            !enc_add_str(item, "type", proto_reg_type_str(v->type)) ||
            !enc_add_str(item, "data", v->data)) {
            cJSON_Delete(array);
            array = NULL;
        }
    }
    return array;
}

static cJSON *enc_errors(const struct proto_snapshot *snap)
{
    cJSON *array = cJSON_CreateArray();
    for (size_t i = 0; array != NULL && i < snap->error_count; i++) {
        const struct proto_error *e = &snap->errors[i];
        cJSON *item = enc_push_object(array);
        if (item == NULL || !enc_add_str(item, "source", e->source) ||
            !enc_add_str(item, "code", proto_rc_str(e->code)) ||
            !enc_add_str(item, "message", e->message)) {
            cJSON_Delete(array);
            array = NULL;
        }
    }
    return array;
}

cJSON *proto_json_from_host(const struct proto_host *host)
{
    cJSON *obj = cJSON_CreateObject();
    if (obj == NULL) {
        return NULL;
    }
    if (!enc_add_str(obj, "fqdn", host->fqdn) ||
        !enc_add_opt_str(obj, "hostname", host->hostname) ||
        !enc_add_opt_str(obj, "os", host->os) ||
        !enc_add_opt_str(obj, "agent_version", host->agent_version) ||
        (host->collected_at != 0 && !enc_add_time(obj, "collected_at", host->collected_at))) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

/* The Windows-only facts of a certificate (the live source); optional members stay absent when
 * unknown. */
static cJSON *enc_cert_win(const struct proto_cert_win *win)
{
    cJSON *obj = cJSON_CreateObject();
    if (obj == NULL) {
        return NULL;
    }
    if (!enc_add_bool(obj, "eku_effective", win->eku_effective) ||
        (win->key_confirmed != PROTO_TRI_UNKNOWN &&
         !enc_add_bool(obj, "key_confirmed", win->key_confirmed == PROTO_TRI_YES)) ||
        !enc_add_opt_str(obj, "chain_root", win->chain_root) ||
        (win->has_chain_status &&
         !enc_add_uint(obj, "chain_error_status", win->chain_error_status)) ||
        !enc_add_opt_str(obj, "template", win->template_name) ||
        (win->has_template_version &&
         (!enc_add_uint(obj, "template_major", win->template_major) ||
          !enc_add_uint(obj, "template_minor", win->template_minor)))) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

cJSON *proto_json_from_cert(const struct proto_cert *cert)
{
    cJSON *obj = cJSON_CreateObject();
    if (obj == NULL) {
        return NULL;
    }
    if (!enc_add_uint(obj, "store_index", cert->store_index) ||
        !enc_add_bool(obj, "parsed", cert->parsed) || !enc_add_str(obj, "sha1", cert->sha1) ||
        !enc_add_str(obj, "sha256", cert->sha256) ||
        !enc_add_opt_str(obj, "serial", cert->serial) ||
        !enc_add(obj, "subject", enc_dn(&cert->subject)) ||
        !enc_add(obj, "issuer", enc_dn(&cert->issuer)) ||
        !enc_add(obj, "san_dns", enc_strv(&cert->san_dns)) ||
        !enc_add_bool(obj, "wildcard", cert->wildcard) ||
        /* null, not [], when the extension is absent: absent EKU means any purpose. */
        !enc_add(obj, "eku", cert->has_eku ? enc_strv(&cert->eku) : cJSON_CreateNull()) ||
        !enc_add(obj, "key_usage",
                 cert->has_key_usage ? enc_key_usage(cert->key_usage) : cJSON_CreateNull()) ||
        !enc_add_time(obj, "not_before", cert->not_before) ||
        !enc_add_time(obj, "not_after", cert->not_after) ||
        !enc_add_bool(obj, "is_ca", cert->is_ca) ||
        !enc_add_bool(obj, "self_signed", cert->self_signed) ||
        !enc_add_bool(obj, "has_private_key", cert->has_private_key) ||
        !enc_add(obj, "der", enc_base64(cert->der, cert->der_len)) ||
        (cert->win.present && !enc_add(obj, "windows", enc_cert_win(&cert->win)))) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

cJSON *proto_json_from_finding(const struct proto_finding *finding)
{
    cJSON *obj = cJSON_CreateObject();
    if (obj == NULL) {
        return NULL;
    }
    if (!enc_add_str(obj, "id", finding->id) ||
        !enc_add_str(obj, "severity", proto_severity_str(finding->severity)) ||
        !enc_add_str(obj, "message", finding->message) ||
        !enc_add(obj, "certs", enc_strv(&finding->certs)) ||
        !enc_add(obj, "rules", enc_strv(&finding->rules))) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

/* The certificates as one raw JSON array text, printed one certificate at a time, so a store of
 * a thousand certificates never exists as a cJSON tree (the tree costs several times the text).
 * The returned item owns the text. */
static cJSON *enc_certs_raw(const struct proto_snapshot *snap)
{
    struct proto_buf text;
    proto_buf_init(&text, PROTO_MAX_REPORT_BYTES);
    enum proto_rc result = proto_buf_append_byte(&text, '[');
    for (size_t i = 0; i < snap->cert_count && result == PROTO_OK; i++) {
        cJSON *cert = proto_json_from_cert(&snap->certs[i]);
        char *printed = cert != NULL ? cJSON_PrintUnformatted(cert) : NULL;
        cJSON_Delete(cert);
        if (printed == NULL) {
            result = PROTO_ENOMEM;
            break;
        }
        if (i > 0) {
            result = proto_buf_append_byte(&text, ',');
        }
        if (result == PROTO_OK) {
            result = proto_buf_append_str(&text, printed);
        }
        proto_free(printed);
    }
    if (result == PROTO_OK) {
        result = proto_buf_append_byte(&text, ']');
    }
    cJSON *raw = result == PROTO_OK ? cJSON_CreateRaw("") : NULL;
    if (raw == NULL) {
        proto_buf_free(&text);
        return NULL;
    }
    /* Hand the buffer to the item instead of copying it: cJSON frees valuestring with the
     * installed hooks, which are proto_free (or free, which proto_free is, without hooks). */
    proto_free(raw->valuestring);
    raw->valuestring = proto_buf_detach(&text, NULL);
    if (raw->valuestring == NULL) {
        cJSON_Delete(raw);
        return NULL;
    }
    return raw;
}

static cJSON *enc_snapshot(const struct proto_snapshot *snap, bool certs_as_raw_text)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON *certs = NULL;
    if (obj == NULL) {
        return NULL;
    }
    if (!enc_add_bool(obj, "certs_available", snap->certs_available)) {
        goto fail;
    }
    if (certs_as_raw_text) {
        if (!enc_add(obj, "certs", enc_certs_raw(snap))) {
            goto fail;
        }
    } else {
        certs = cJSON_CreateArray();
        if (!enc_add(obj, "certs", certs)) {
            goto fail;
        }
        for (size_t i = 0; i < snap->cert_count; i++) {
            cJSON *cert = proto_json_from_cert(&snap->certs[i]);
            if (cert == NULL || !cJSON_AddItemToArray(certs, cert)) {
                cJSON_Delete(cert);
                goto fail;
            }
        }
    }
    if (!enc_add(obj, "ipsec", enc_ipsec(snap)) || !enc_add(obj, "bindings", enc_bindings(snap)) ||
        !enc_add_bool(obj, "registry_available", snap->registry_available) ||
        !enc_add(obj, "registry", enc_registry(snap)) ||
        !enc_add(obj, "errors", enc_errors(snap))) {
        goto fail;
    }
    return obj;
fail:
    cJSON_Delete(obj);
    return NULL;
}

cJSON *proto_json_from_snapshot(const struct proto_snapshot *snap)
{
    return enc_snapshot(snap, false);
}

enum proto_rc proto_json_encode_report(const struct proto_report *report, int pretty, char **out,
                                       size_t *out_len)
{
    enum proto_rc result = PROTO_ENOMEM;
    cJSON *root = NULL;
    cJSON *findings = NULL;
    char *text = NULL;

    if (out == NULL) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    if (out_len != NULL) {
        *out_len = 0;
    }
    /* A document the decoder would refuse is a caller bug, not something to send. */
    if (report == NULL || report->snapshot == NULL || !json_uuid_valid(report->report_id) ||
        report->seq > JSON_MAX_SAFE_INTEGER || report->spool_dropped > JSON_MAX_SAFE_INTEGER ||
        report->spool_quarantined > JSON_MAX_SAFE_INTEGER ||
        (report->finding_count > 0 && report->findings == NULL)) {
        return PROTO_EINVAL;
    }
    root = cJSON_CreateObject();
    if (root == NULL || !enc_add_str(root, "schema", PROTO_REPORT_SCHEMA) ||
        !enc_add_str(root, "report_id", report->report_id) ||
        !enc_add_big_uint(root, "seq", report->seq) ||
        !enc_add(root, "host", proto_json_from_host(&report->snapshot->host)) ||
        !enc_add(root, "snapshot", enc_snapshot(report->snapshot, true))) {
        goto out;
    }
    findings = cJSON_CreateArray();
    if (!enc_add(root, "findings", findings)) {
        goto out;
    }
    for (size_t i = 0; i < report->finding_count; i++) {
        cJSON *finding = proto_json_from_finding(&report->findings[i]);
        if (finding == NULL || !cJSON_AddItemToArray(findings, finding)) {
            cJSON_Delete(finding);
            goto out;
        }
    }
    cJSON *spool = cJSON_CreateObject();
    if (!enc_add(root, "agent_spool", spool) ||
        !enc_add_big_uint(spool, "dropped", report->spool_dropped) ||
        !enc_add_big_uint(spool, "quarantined", report->spool_quarantined)) {
        goto out;
    }
    /* Printed into one buffer of the largest allowed size: cJSON's own printing grows its
     * buffer by doubling and then copies it, which costs up to three times the document in
     * peak memory; pages of this buffer that the text does not reach are never touched.
     * A document that does not fit is one the collector would answer 413. */
    text = proto_malloc(PROTO_MAX_REPORT_BYTES + 1);
    if (text == NULL) {
        goto out;
    }
    if (!cJSON_PrintPreallocated(root, text, (int)PROTO_MAX_REPORT_BYTES + 1, pretty != 0)) {
        /* cJSON says only "did not fit"; an allocation failure is not possible here because
         * printing into a preallocated buffer allocates nothing. */
        result = PROTO_ELIMIT;
        goto out;
    }
    size_t len = strlen(text);
    *out = text;
    text = NULL;
    if (out_len != NULL) {
        *out_len = len;
    }
    result = PROTO_OK;
out:
    proto_free(text);
    cJSON_Delete(root);
    return result;
}

/* ---- decoder ----------------------------------------------------------------------------- */

/* What a member lookup may find. */
enum json_presence { JSON_ABSENT, JSON_NULL, JSON_PRESENT };

#define JSON_OPTIONAL 0u
#define JSON_REQUIRED 1u
#define JSON_NULLABLE 2u

struct json_dec {
    struct proto_json_error *err;
    char path[sizeof(((struct proto_json_error *)0)->field)]; /* member being decoded */
    size_t len;
    bool envelope_only; /* the snapshot's content is not decoded (proto_json_decode_envelope) */
};

typedef enum proto_rc (*json_element_fn)(struct json_dec *d, const cJSON *element, size_t index,
                                         void *ctx);
typedef enum proto_rc (*json_members_fn)(struct json_dec *d, const cJSON *obj, void *ctx);

static enum proto_rc dec_fail(struct json_dec *d, enum proto_rc rc, const char *fmt, ...)
    PROTO_PRINTF_LIKE(3, 4);

static enum proto_rc dec_fail(struct json_dec *d, enum proto_rc rc, const char *fmt, ...)
{
    va_list ap;
    memcpy(d->err->field, d->path, sizeof(d->err->field));
    d->err->field[sizeof(d->err->field) - 1] = '\0';
    va_start(ap, fmt);
    int n = vsnprintf(d->err->message, sizeof(d->err->message), fmt, ap);
    va_end(ap);
    if (n < 0) {
        d->err->message[0] = '\0';
    }
    return rc;
}

static enum proto_rc dec_nomem(struct json_dec *d)
{
    return dec_fail(d, PROTO_ENOMEM, "out of memory");
}

/* Appends ".key" (or "key" at the top) to the path; a path too long for the buffer is cut. */
static size_t dec_enter_key(struct json_dec *d, const char *key)
{
    size_t saved = d->len;
    int n = snprintf(d->path + d->len, sizeof(d->path) - d->len, "%s%s", d->len ? "." : "", key);
    if (n > 0) {
        d->len += (size_t)n;
        if (d->len >= sizeof(d->path)) {
            d->len = sizeof(d->path) - 1;
        }
    }
    return saved;
}

static size_t dec_enter_index(struct json_dec *d, size_t index)
{
    size_t saved = d->len;
    int n = snprintf(d->path + d->len, sizeof(d->path) - d->len, "[%zu]", index);
    if (n > 0) {
        d->len += (size_t)n;
        if (d->len >= sizeof(d->path)) {
            d->len = sizeof(d->path) - 1;
        }
    }
    return saved;
}

static void dec_leave(struct json_dec *d, size_t saved)
{
    d->len = saved;
    d->path[saved] = '\0';
}

/* Looks `key` up in `obj`. Absent: PROTO_EMISSING if JSON_REQUIRED, else OK. JSON null counts as
 * present unless JSON_NULLABLE, so that the type check names it. */
static enum proto_rc dec_member(struct json_dec *d, const cJSON *obj, const char *key,
                                unsigned flags, const cJSON **item, enum json_presence *presence)
{
    *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    *presence = JSON_PRESENT;
    if (*item == NULL) {
        *presence = JSON_ABSENT;
        if (flags & JSON_REQUIRED) {
            size_t saved = dec_enter_key(d, key);
            enum proto_rc result = dec_fail(d, PROTO_EMISSING, "required member is missing");
            dec_leave(d, saved);
            return result;
        }
    } else if (cJSON_IsNull(*item) && (flags & JSON_NULLABLE)) {
        *presence = JSON_NULL;
    }
    return PROTO_OK;
}

/* ---- checks of one value; the path already names it ---- */

static enum proto_rc dec_check_object(struct json_dec *d, const cJSON *item)
{
    if (!cJSON_IsObject(item)) {
        return dec_fail(d, PROTO_ETYPE, "expected an object");
    }
    return PROTO_OK;
}

static enum proto_rc dec_check_str(struct json_dec *d, const cJSON *item, size_t max,
                                   const char **out)
{
    if (!cJSON_IsString(item) || item->valuestring == NULL) {
        return dec_fail(d, PROTO_ETYPE, "expected a string");
    }
    if (strnlen(item->valuestring, max + 1) > max) {
        return dec_fail(d, PROTO_ELIMIT, "expected a string of at most %zu bytes", max);
    }
    *out = item->valuestring;
    return PROTO_OK;
}

static enum proto_rc dec_check_uint(struct json_dec *d, const cJSON *item, uint64_t max,
                                    uint64_t *out)
{
    if (!cJSON_IsNumber(item)) {
        return dec_fail(d, PROTO_ETYPE, "expected an integer");
    }
    double v = item->valuedouble;
    if (!(v >= 0.0 && v <= (double)max)) {
        return dec_fail(d, PROTO_ELIMIT, "expected an integer from 0 to %llu",
                        (unsigned long long)max);
    }
    uint64_t u = (uint64_t)v;
    if ((double)u != v) {
        return dec_fail(d, PROTO_ETYPE, "expected an integer, not a fraction");
    }
    *out = u;
    return PROTO_OK;
}

/* Exactly `digits` hexadecimal digits (or "" when allow_empty), stored upper-case in out. */
static enum proto_rc dec_check_hex(struct json_dec *d, const cJSON *item, size_t digits,
                                   bool allow_empty, char *out)
{
    const char *s = NULL;
    enum proto_rc result = dec_check_str(d, item, PROTO_MAX_STRING, &s);
    if (result) {
        return result;
    }
    size_t len = strlen(s);
    bool ok = len == digits || (allow_empty && len == 0);
    for (size_t i = 0; ok && i < len; i++) {
        ok = json_is_hex(s[i]);
    }
    if (!ok) {
        return dec_fail(d, PROTO_EPARSE, "expected %s%zu hexadecimal digits",
                        allow_empty ? "\"\" or " : "", digits);
    }
    for (size_t i = 0; i < len; i++) {
        out[i] = json_upper(s[i]);
    }
    out[len] = '\0';
    return PROTO_OK;
}

static enum proto_rc dec_check_time(struct json_dec *d, const cJSON *item, int64_t *out)
{
    const char *s = NULL;
    char check[32];
    enum proto_rc result = dec_check_str(d, item, JSON_MAX_TIME_TEXT, &s);
    if (result) {
        return result;
    }
    /* The second step refuses offsets that push a time past 9999, which could not be sent on. */
    if (proto_time_parse_rfc3339(s, out) != PROTO_OK ||
        proto_time_format_rfc3339(*out, check, sizeof(check)) != PROTO_OK) {
        return dec_fail(d, PROTO_EPARSE,
                        "expected an RFC 3339 time like 2024-01-31T12:00:00Z (years 0000-9999)");
    }
    return PROTO_OK;
}

/* ---- keyed getters: look a member up, check it, name it on failure ---- */

/* Copies a string member into *out (caller-owned); leaves *out alone when absent. */
static enum proto_rc dec_str(struct json_dec *d, const cJSON *obj, const char *key, unsigned flags,
                             size_t max, char **out)
{
    const cJSON *item = NULL;
    const char *s = NULL;
    enum json_presence presence;
    enum proto_rc result = dec_member(d, obj, key, flags, &item, &presence);
    if (result || presence == JSON_ABSENT) {
        return result;
    }
    size_t saved = dec_enter_key(d, key);
    result = dec_check_str(d, item, max, &s);
    if (!result) {
        *out = proto_strdup(s);
        if (*out == NULL) {
            result = dec_nomem(d);
        }
    }
    dec_leave(d, saved);
    return result;
}

/* A string member borrowed from the tree (valid while the tree lives); NULL when absent. */
static enum proto_rc dec_str_ref(struct json_dec *d, const cJSON *obj, const char *key,
                                 unsigned flags, size_t max, const char **out)
{
    const cJSON *item = NULL;
    enum json_presence presence;
    *out = NULL;
    enum proto_rc result = dec_member(d, obj, key, flags, &item, &presence);
    if (result || presence == JSON_ABSENT) {
        return result;
    }
    size_t saved = dec_enter_key(d, key);
    result = dec_check_str(d, item, max, out);
    dec_leave(d, saved);
    return result;
}

static enum proto_rc dec_bool(struct json_dec *d, const cJSON *obj, const char *key, unsigned flags,
                              bool *out)
{
    const cJSON *item = NULL;
    enum json_presence presence;
    enum proto_rc result = dec_member(d, obj, key, flags, &item, &presence);
    if (result || presence == JSON_ABSENT) {
        return result;
    }
    if (!cJSON_IsBool(item)) {
        size_t saved = dec_enter_key(d, key);
        result = dec_fail(d, PROTO_ETYPE, "expected true or false");
        dec_leave(d, saved);
        return result;
    }
    *out = cJSON_IsTrue(item);
    return PROTO_OK;
}

static enum proto_rc dec_uint(struct json_dec *d, const cJSON *obj, const char *key, unsigned flags,
                              uint64_t max, uint64_t *out)
{
    const cJSON *item = NULL;
    enum json_presence presence;
    enum proto_rc result = dec_member(d, obj, key, flags, &item, &presence);
    if (result || presence == JSON_ABSENT) {
        return result;
    }
    size_t saved = dec_enter_key(d, key);
    result = dec_check_uint(d, item, max, out);
    dec_leave(d, saved);
    return result;
}

/* A required member that is null (absent DWORD) or an integer 0..2^32-1. */
static enum proto_rc dec_dword_opt(struct json_dec *d, const cJSON *obj, const char *key,
                                   struct proto_dword_opt *out)
{
    const cJSON *item = NULL;
    enum json_presence presence;
    uint64_t v = 0;
    enum proto_rc result = dec_member(d, obj, key, JSON_REQUIRED | JSON_NULLABLE, &item, &presence);
    if (result || presence == JSON_NULL) {
        return result;
    }
    size_t saved = dec_enter_key(d, key);
    if (!cJSON_IsNumber(item)) {
        result = dec_fail(d, PROTO_ETYPE, "expected null or an integer");
    } else {
        result = dec_check_uint(d, item, UINT32_MAX, &v);
    }
    dec_leave(d, saved);
    if (!result) {
        out->present = true;
        out->value = (uint32_t)v;
    }
    return result;
}

/* A hash member; with JSON_NULLABLE null stands for unknown and leaves out as "". */
static enum proto_rc dec_hex(struct json_dec *d, const cJSON *obj, const char *key, unsigned flags,
                             size_t digits, bool allow_empty, char *out)
{
    const cJSON *item = NULL;
    enum json_presence presence;
    enum proto_rc result = dec_member(d, obj, key, flags, &item, &presence);
    if (result || presence != JSON_PRESENT) {
        return result;
    }
    size_t saved = dec_enter_key(d, key);
    if (!cJSON_IsString(item)) {
        result = dec_fail(d, PROTO_ETYPE, "expected %sa string of %zu hexadecimal digits",
                          (flags & JSON_NULLABLE) ? "null or " : "", digits);
    } else {
        result = dec_check_hex(d, item, digits, allow_empty, out);
    }
    dec_leave(d, saved);
    return result;
}

static enum proto_rc dec_time(struct json_dec *d, const cJSON *obj, const char *key, unsigned flags,
                              int64_t *out)
{
    const cJSON *item = NULL;
    enum json_presence presence;
    enum proto_rc result = dec_member(d, obj, key, flags, &item, &presence);
    if (result || presence == JSON_ABSENT) {
        return result;
    }
    size_t saved = dec_enter_key(d, key);
    result = dec_check_time(d, item, out);
    dec_leave(d, saved);
    return result;
}

static enum proto_rc dec_object(struct json_dec *d, const cJSON *obj, const char *key,
                                unsigned flags, const cJSON **out)
{
    enum json_presence presence;
    enum proto_rc result = dec_member(d, obj, key, flags, out, &presence);
    if (result || presence == JSON_ABSENT) {
        return result;
    }
    size_t saved = dec_enter_key(d, key);
    result = dec_check_object(d, *out);
    dec_leave(d, saved);
    return result;
}

/* An array member of at most `max` elements, counted without walking past max + 1. *out is
 * NULL when absent or (with JSON_NULLABLE) null. */
static enum proto_rc dec_array(struct json_dec *d, const cJSON *obj, const char *key,
                               unsigned flags, size_t max, const cJSON **out, size_t *count)
{
    const cJSON *item = NULL;
    enum json_presence presence;
    *out = NULL;
    *count = 0;
    enum proto_rc result = dec_member(d, obj, key, flags, &item, &presence);
    if (result || presence != JSON_PRESENT) {
        return result;
    }
    size_t saved = dec_enter_key(d, key);
    if (!cJSON_IsArray(item)) {
        result = dec_fail(d, PROTO_ETYPE, "expected %san array",
                          (flags & JSON_NULLABLE) ? "null or " : "");
    } else {
        size_t n = 0;
        for (const cJSON *el = item->child; el != NULL && n <= max; el = el->next) {
            n++;
        }
        if (n > max) {
            result = dec_fail(d, PROTO_ELIMIT, "expected an array of at most %zu items", max);
        } else {
            *out = item;
            *count = n;
        }
    }
    dec_leave(d, saved);
    return result;
}

/* Calls fn on each element of `array` (the member `key`), naming it "key[i]" on failure. */
static enum proto_rc dec_elements(struct json_dec *d, const char *key, const cJSON *array,
                                  json_element_fn fn, void *ctx)
{
    enum proto_rc result = PROTO_OK;
    size_t saved = dec_enter_key(d, key);
    size_t index = 0;
    for (const cJSON *el = array->child; el != NULL && !result; el = el->next, index++) {
        size_t saved_index = dec_enter_index(d, index);
        result = fn(d, el, index, ctx);
        dec_leave(d, saved_index);
    }
    dec_leave(d, saved);
    return result;
}

/* dec_array then dec_elements. */
static enum proto_rc dec_each(struct json_dec *d, const cJSON *obj, const char *key, unsigned flags,
                              size_t max, json_element_fn fn, void *ctx,
                              enum json_presence *presence)
{
    const cJSON *array = NULL;
    size_t count = 0;
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    enum proto_rc result = dec_array(d, obj, key, flags, max, &array, &count);
    if (presence != NULL) {
        *presence = item == NULL ? JSON_ABSENT : array == NULL ? JSON_NULL : JSON_PRESENT;
    }
    if (result || array == NULL) {
        return result;
    }
    return dec_elements(d, key, array, fn, ctx);
}

/* ---- element decoders ---- */

struct json_strv_ctx {
    struct proto_strv *v;
    size_t max_count;
    size_t max_len;
    bool sha1; /* items are SHA-1 thumbprints: 40 hex digits, stored upper-case */
};

static enum proto_rc dec_strv_el(struct json_dec *d, const cJSON *el, size_t index, void *ctx)
{
    struct json_strv_ctx *c = ctx;
    const char *s = NULL;
    char hex[PROTO_SHA1_HEX_LEN + 1];
    enum proto_rc result;
    (void)index;
    if (c->sha1) {
        result = dec_check_hex(d, el, PROTO_SHA1_HEX_LEN, false, hex);
        s = hex;
    } else {
        result = dec_check_str(d, el, c->max_len, &s);
    }
    if (result) {
        return result;
    }
    result = proto_strv_push(c->v, s, c->max_count);
    if (result == PROTO_ENOMEM) {
        return dec_nomem(d);
    }
    if (result) {
        return dec_fail(d, result, "could not store the item");
    }
    return PROTO_OK;
}

static enum proto_rc dec_strv(struct json_dec *d, const cJSON *obj, const char *key, unsigned flags,
                              size_t max_count, size_t max_len, bool sha1, struct proto_strv *v,
                              enum json_presence *presence)
{
    struct json_strv_ctx ctx = {v, max_count, max_len, sha1};
    return dec_each(d, obj, key, flags, max_count, dec_strv_el, &ctx, presence);
}

static enum proto_rc dec_dn_el(struct json_dec *d, const cJSON *el, size_t index, void *ctx)
{
    struct proto_dn *dn = ctx;
    const char *type = NULL;
    const char *value = NULL;
    bool same = false;
    enum proto_rc result = dec_check_object(d, el);
    if (!result) {
        result = dec_str_ref(d, el, "type", JSON_REQUIRED, PROTO_MAX_NAME, &type);
    }
    if (!result) {
        result = dec_str_ref(d, el, "value", JSON_REQUIRED, PROTO_MAX_NAME, &value);
    }
    if (!result) {
        result = dec_bool(d, el, "same_rdn_as_prev", JSON_OPTIONAL, &same);
    }
    if (result) {
        return result;
    }
    if (same && index == 0) {
        size_t saved = dec_enter_key(d, "same_rdn_as_prev");
        result = dec_fail(d, PROTO_EPARSE, "the first attribute cannot continue an RDN");
        dec_leave(d, saved);
        return result;
    }
    result = proto_dn_append(dn, type, value, same);
    if (result == PROTO_ENOMEM) {
        return dec_nomem(d);
    }
    if (result == PROTO_EENCODING) {
        size_t saved = dec_enter_key(d, "value");
        result = dec_fail(d, result, "expected UTF-8 text");
        dec_leave(d, saved);
    } else if (result) {
        size_t saved = dec_enter_key(d, "type");
        result = dec_fail(d, result,
                          "expected an attribute short name (CN, O, ...) or a "
                          "dotted OID");
        dec_leave(d, saved);
    }
    return result;
}

static enum proto_rc dec_dn(struct json_dec *d, const cJSON *obj, const char *key,
                            struct proto_dn *dn)
{
    return dec_each(d, obj, key, JSON_REQUIRED, PROTO_MAX_DN_ATTRS, dec_dn_el, dn, NULL);
}

static enum proto_rc dec_ku_el(struct json_dec *d, const cJSON *el, size_t index, void *ctx)
{
    unsigned *bits = ctx;
    const char *s = NULL;
    (void)index;
    enum proto_rc result = dec_check_str(d, el, PROTO_MAX_NAME, &s);
    if (result) {
        return result;
    }
    for (size_t i = 0; i < JSON_KEY_USAGE_COUNT; i++) {
        if (strcmp(s, json_key_usages[i].name) == 0) {
            if (*bits & json_key_usages[i].bit) {
                return dec_fail(d, PROTO_EPARSE, "key usage \"%s\" is listed twice", s);
            }
            *bits |= json_key_usages[i].bit;
            return PROTO_OK;
        }
    }
    return dec_fail(d, PROTO_EPARSE,
                    "expected an RFC 5280 key usage name (digitalSignature ... decipherOnly)");
}

/* Strict base64 (RFC 4648 alphabet, padded, no whitespace) of at most PROTO_MAX_CERT_DER_BYTES. */
static enum proto_rc dec_der(struct json_dec *d, const cJSON *obj, struct proto_cert *cert)
{
    const cJSON *item = NULL;
    const char *s = NULL;
    enum json_presence presence;
    enum proto_rc result = dec_member(d, obj, "der", JSON_REQUIRED, &item, &presence);
    if (result) {
        return result;
    }
    size_t saved = dec_enter_key(d, "der");
    result = dec_check_str(d, item, JSON_MAX_DER_BASE64, &s);
    if (result) {
        goto out;
    }
    size_t len = strlen(s);
    size_t need = 0;
    /* The size comes from the length and padding alone; the one decoding pass checks the rest. */
    if (proto_base64_decoded_size(s, len, &need) != PROTO_OK) {
        result = dec_fail(d, PROTO_EPARSE, "expected padded base64 (RFC 4648) DER");
        goto out;
    }
    if (need > PROTO_MAX_CERT_DER_BYTES) {
        /* Malformed text says so before its size does, as it always has. */
        if (proto_base64_validate(s, len) != PROTO_OK) {
            result = dec_fail(d, PROTO_EPARSE, "expected padded base64 (RFC 4648) DER");
        } else {
            result = dec_fail(d, PROTO_ELIMIT, "expected a certificate of at most %u bytes",
                              PROTO_MAX_CERT_DER_BYTES);
        }
        goto out;
    }
    if (need == 0) {
        goto out;
    }
    cert->der = proto_malloc(need);
    if (cert->der == NULL) {
        result = dec_nomem(d);
        goto out;
    }
    if (proto_base64_decode(s, len, cert->der, need, &cert->der_len) != PROTO_OK) {
        proto_free(cert->der);
        cert->der = NULL;
        result = dec_fail(d, PROTO_EPARSE, "expected padded base64 (RFC 4648) DER");
    }
out:
    dec_leave(d, saved);
    return result;
}

/* The optional "windows" member of a certificate (the live Windows source's facts). */
static enum proto_rc dec_cert_win(struct json_dec *d, const cJSON *cert_obj,
                                  struct proto_cert_win *win)
{
    const cJSON *obj = NULL;
    uint64_t status = 0, major = 0, minor = 0;
    bool confirmed = false;
    enum proto_rc result = dec_object(d, cert_obj, "windows", JSON_OPTIONAL, &obj);
    if (result || obj == NULL) {
        return result;
    }
    size_t saved = dec_enter_key(d, "windows");
    bool has_confirmed = cJSON_GetObjectItemCaseSensitive(obj, "key_confirmed") != NULL;
    bool has_status = cJSON_GetObjectItemCaseSensitive(obj, "chain_error_status") != NULL;
    /* A template version is a pair: one half alone is refused, not guessed. */
    bool has_version = cJSON_GetObjectItemCaseSensitive(obj, "template_major") != NULL ||
                       cJSON_GetObjectItemCaseSensitive(obj, "template_minor") != NULL;
    unsigned version_flag = has_version ? JSON_REQUIRED : JSON_OPTIONAL;
    win->present = true;
    if ((result = dec_bool(d, obj, "eku_effective", JSON_REQUIRED, &win->eku_effective)) ||
        (result = dec_bool(d, obj, "key_confirmed", JSON_OPTIONAL, &confirmed)) ||
        (result = dec_str(d, obj, "chain_root", JSON_OPTIONAL, PROTO_MAX_NAME, &win->chain_root)) ||
        (result = dec_uint(d, obj, "chain_error_status", JSON_OPTIONAL, UINT32_MAX, &status)) ||
        (result =
             dec_str(d, obj, "template", JSON_OPTIONAL, PROTO_MAX_NAME, &win->template_name)) ||
        (result = dec_uint(d, obj, "template_major", version_flag, UINT32_MAX, &major)) ||
        (result = dec_uint(d, obj, "template_minor", version_flag, UINT32_MAX, &minor))) {
        goto out;
    }
    win->key_confirmed =
        has_confirmed ? (confirmed ? PROTO_TRI_YES : PROTO_TRI_NO) : PROTO_TRI_UNKNOWN;
    win->has_chain_status = has_status;
    win->chain_error_status = (uint32_t)status;
    win->has_template_version = has_version;
    win->template_major = (uint32_t)major;
    win->template_minor = (uint32_t)minor;
out:
    dec_leave(d, saved);
    return result;
}

static enum proto_rc dec_cert_el(struct json_dec *d, const cJSON *el, size_t index, void *ctx)
{
    struct proto_snapshot *snap = ctx;
    struct proto_cert *cert = NULL;
    uint64_t store_index = 0;
    enum json_presence presence;
    (void)index;
    enum proto_rc result = dec_check_object(d, el);
    if (result) {
        return result;
    }
    result = proto_snapshot_add_cert(snap, &cert);
    if (result) {
        return result == PROTO_ENOMEM ? dec_nomem(d) : dec_fail(d, result, "too many certs");
    }
    if ((result = dec_uint(d, el, "store_index", JSON_REQUIRED, UINT32_MAX, &store_index)) ||
        (result = dec_bool(d, el, "parsed", JSON_REQUIRED, &cert->parsed)) ||
        (result = dec_hex(d, el, "sha1", JSON_REQUIRED, PROTO_SHA1_HEX_LEN, false, cert->sha1)) ||
        (result =
             dec_hex(d, el, "sha256", JSON_REQUIRED, PROTO_SHA256_HEX_LEN, false, cert->sha256)) ||
        (result = dec_str(d, el, "serial", JSON_OPTIONAL, PROTO_MAX_NAME, &cert->serial)) ||
        (result = dec_dn(d, el, "subject", &cert->subject)) ||
        (result = dec_dn(d, el, "issuer", &cert->issuer)) ||
        (result = dec_strv(d, el, "san_dns", JSON_REQUIRED, PROTO_MAX_SAN_NAMES, PROTO_MAX_NAME,
                           false, &cert->san_dns, NULL)) ||
        (result = dec_bool(d, el, "wildcard", JSON_REQUIRED, &cert->wildcard)) ||
        (result = dec_strv(d, el, "eku", JSON_REQUIRED | JSON_NULLABLE, PROTO_MAX_EKUS,
                           PROTO_MAX_NAME, false, &cert->eku, &presence))) {
        return result;
    }
    cert->store_index = (size_t)store_index;
    cert->has_eku = presence == JSON_PRESENT;
    result = dec_each(d, el, "key_usage", JSON_REQUIRED | JSON_NULLABLE, JSON_KEY_USAGE_COUNT,
                      dec_ku_el, &cert->key_usage, &presence);
    if (result) {
        return result;
    }
    cert->has_key_usage = presence == JSON_PRESENT;
    if ((result = dec_time(d, el, "not_before", JSON_REQUIRED, &cert->not_before)) ||
        (result = dec_time(d, el, "not_after", JSON_REQUIRED, &cert->not_after)) ||
        (result = dec_bool(d, el, "is_ca", JSON_REQUIRED, &cert->is_ca)) ||
        (result = dec_bool(d, el, "self_signed", JSON_REQUIRED, &cert->self_signed)) ||
        (result = dec_bool(d, el, "has_private_key", JSON_REQUIRED, &cert->has_private_key)) ||
        (result = dec_der(d, el, cert)) || (result = dec_cert_win(d, el, &cert->win))) {
        return result;
    }
    return PROTO_OK;
}

static enum proto_rc dec_rule_extra(struct json_dec *d, const cJSON *rule_obj,
                                    struct proto_consec_rule *rule)
{
    const cJSON *extra = NULL;
    enum proto_rc result = dec_object(d, rule_obj, "extra", JSON_OPTIONAL, &extra);
    if (result || extra == NULL) {
        return result;
    }
    size_t saved = dec_enter_key(d, "extra");
    for (const cJSON *kv = extra->child; kv != NULL && !result; kv = kv->next) {
        const char *label = kv->string != NULL ? kv->string : "";
        const char *value = NULL;
        size_t saved_label = dec_enter_key(d, label);
        if (strnlen(label, PROTO_MAX_NAME + 1) > PROTO_MAX_NAME) {
            result =
                dec_fail(d, PROTO_ELIMIT, "expected a label of at most %u bytes", PROTO_MAX_NAME);
        } else {
            result = dec_check_str(d, kv, PROTO_MAX_STRING, &value);
        }
        if (!result) {
            result = proto_rule_add_extra(rule, label, value);
            if (result == PROTO_ENOMEM) {
                result = dec_nomem(d);
            } else if (result) {
                result =
                    dec_fail(d, result, "expected at most %u extra labels", PROTO_MAX_RULE_EXTRA);
            }
        }
        dec_leave(d, saved_label);
    }
    dec_leave(d, saved);
    return result;
}

static enum proto_rc dec_rule_el(struct json_dec *d, const cJSON *el, size_t index, void *ctx)
{
    struct proto_snapshot *snap = ctx;
    struct proto_consec_rule *rule = NULL;
    (void)index;
    enum proto_rc result = dec_check_object(d, el);
    if (result) {
        return result;
    }
    result = proto_snapshot_add_rule(snap, &rule);
    if (result) {
        return result == PROTO_ENOMEM ? dec_nomem(d) : dec_fail(d, result, "too many rules");
    }
    for (int i = 0; i < PROTO_RULE_FIELD_COUNT && !result; i++) {
        size_t max = i == PROTO_RULE_NAME ? PROTO_MAX_NAME : PROTO_MAX_STRING;
        result = dec_str(d, el, proto_rule_fields[i].json_key, JSON_OPTIONAL, max, &rule->field[i]);
    }
    if (result) {
        return result;
    }
    const char *psk = rule->field[PROTO_RULE_AUTH1_PSK];
    if (psk != NULL && strcmp(psk, PROTO_REDACTED) != 0) {
        size_t saved = dec_enter_key(d, proto_rule_fields[PROTO_RULE_AUTH1_PSK].json_key);
        result = dec_fail(d, PROTO_EPARSE,
                          "expected \"" PROTO_REDACTED "\": pre-shared keys never leave the host");
        dec_leave(d, saved);
        return result;
    }
    if ((result = dec_rule_extra(d, el, rule)) ||
        (result = dec_bool(d, el, "psk_redacted", JSON_REQUIRED, &rule->psk_redacted)) ||
        (result =
             dec_bool(d, el, "labels_unrecognised", JSON_REQUIRED, &rule->labels_unrecognised))) {
        return result;
    }
    return PROTO_OK;
}

static enum proto_rc dec_ssl_el(struct json_dec *d, const cJSON *el, size_t index, void *ctx)
{
    struct proto_snapshot *snap = ctx;
    struct proto_ssl_binding *b = NULL;
    (void)index;
    enum proto_rc result = dec_check_object(d, el);
    if (result) {
        return result;
    }
    result = proto_snapshot_add_ssl_binding(snap, &b);
    if (result) {
        return result == PROTO_ENOMEM ? dec_nomem(d) : dec_fail(d, result, "too many bindings");
    }
    if ((result = dec_str(d, el, "endpoint", JSON_REQUIRED, PROTO_MAX_NAME, &b->endpoint)) ||
        (result = dec_str(d, el, "kind", JSON_REQUIRED, PROTO_MAX_NAME, &b->kind)) ||
        (result =
             dec_hex(d, el, "cert_hash", JSON_REQUIRED, PROTO_SHA1_HEX_LEN, true, b->cert_hash)) ||
        (result = dec_str(d, el, "app_id", JSON_OPTIONAL, PROTO_MAX_NAME, &b->app_id)) ||
        (result = dec_str(d, el, "store_name", JSON_OPTIONAL, PROTO_MAX_NAME, &b->store_name))) {
        return result;
    }
    return PROTO_OK;
}

/* "0x" and 1+ hex digits with a value <= max, as reg.exe prints REG_DWORD and REG_QWORD data
 * (the rule regquery.c applies). */
static bool reg_parse_number(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    size_t len = strlen(s);
    if (len < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) {
        return false;
    }
    for (size_t i = 2; i < len; i++) {
        char c = json_lower(s[i]);
        if (!json_is_hex(c) || v > (max >> 4)) {
            return false;
        }
        v = (v << 4) | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    if (v > max) {
        return false;
    }
    *out = v;
    return true;
}

/* Contiguous hex pairs, as reg.exe prints REG_BINARY data. */
static enum proto_rc reg_parse_binary(const char *s, struct proto_reg_value *v)
{
    size_t len = strlen(s);
    if (len == 0 || len % 2 != 0) {
        return PROTO_OK;
    }
    for (size_t i = 0; i < len; i++) {
        if (!json_is_hex(s[i])) {
            return PROTO_OK;
        }
    }
    v->bytes = proto_malloc(len / 2);
    if (v->bytes == NULL) {
        return PROTO_ENOMEM;
    }
    for (size_t i = 0; i < len / 2; i++) {
        char hi = json_lower(s[2 * i]), lo = json_lower(s[2 * i + 1]);
        unsigned h = (unsigned)(hi <= '9' ? hi - '0' : hi - 'a' + 10);
        unsigned l = (unsigned)(lo <= '9' ? lo - '0' : lo - 'a' + 10);
        v->bytes[i] = (unsigned char)(h << 4 | l);
    }
    v->bytes_len = len / 2;
    return PROTO_OK;
}

/* Items joined by the two characters backslash-zero, as reg.exe prints REG_MULTI_SZ data. */
static enum proto_rc reg_parse_multi(const char *s, struct proto_reg_value *v)
{
    if (s[0] == '\0') {
        return PROTO_OK;
    }
    for (;;) {
        const char *sep = strstr(s, "\\0");
        size_t len = sep != NULL ? (size_t)(sep - s) : strlen(s);
        enum proto_rc result = proto_strv_pushn(&v->multi, s, len, PROTO_MAX_LIST_ITEMS);
        if (result || sep == NULL) {
            return result;
        }
        s = sep + 2;
    }
}

/*
 * Re-derives number, bytes and items from the type and the text, by reg query's rules. Data
 * that does not follow them leaves the derived fields empty rather than failing: the text is
 * what the host printed and stays authoritative.
 */
static enum proto_rc reg_derive(struct proto_reg_value *v)
{
    switch (v->type) {
    case PROTO_REG_DWORD:
        if (!reg_parse_number(v->data, UINT32_MAX, &v->number)) {
            v->number = 0;
        }
        return PROTO_OK;
    case PROTO_REG_QWORD:
        if (!reg_parse_number(v->data, UINT64_MAX, &v->number)) {
            v->number = 0;
        }
        return PROTO_OK;
    case PROTO_REG_BINARY:
        return reg_parse_binary(v->data, v);
    case PROTO_REG_MULTI_SZ:
        return reg_parse_multi(v->data, v);
    default:
        return PROTO_OK;
    }
}

static enum proto_rc dec_reg_el(struct json_dec *d, const cJSON *el, size_t index, void *ctx)
{
    struct proto_snapshot *snap = ctx;
    struct proto_reg_value *v = NULL;
    const char *type = NULL;
    (void)index;
    enum proto_rc result = dec_check_object(d, el);
    if (result) {
        return result;
    }
    result = proto_snapshot_add_reg_value(snap, &v);
    if (result) {
        return result == PROTO_ENOMEM ? dec_nomem(d) : dec_fail(d, result, "too many values");
    }
    if ((result = dec_str(d, el, "key", JSON_REQUIRED, PROTO_MAX_STRING, &v->key)) ||
        (result = dec_str(d, el, "name", JSON_REQUIRED, PROTO_MAX_NAME, &v->name)) ||
        (result = dec_str_ref(d, el, "type", JSON_REQUIRED, PROTO_MAX_NAME, &type)) ||
        (result = dec_str(d, el, "data", JSON_REQUIRED, PROTO_MAX_REG_DATA, &v->data))) {
        return result;
    }
    v->type = proto_reg_type_from_str(type);
    result = reg_derive(v);
    if (result) {
        size_t saved = dec_enter_key(d, "data");
        result = result == PROTO_ENOMEM
                     ? dec_nomem(d)
                     : dec_fail(d, result, "expected at most %u REG_MULTI_SZ items",
                                PROTO_MAX_LIST_ITEMS);
        dec_leave(d, saved);
    }
    return result;
}

/* Inverse of proto_rc_str; text no code produces maps to PROTO_EUNSUPPORTED. */
static enum proto_rc json_rc_from_str(const char *s)
{
    for (int i = 0; i < JSON_RC_PROBE_MAX; i++) {
        const char *text = proto_rc_str((enum proto_rc)i);
        if (strcmp(text, s) == 0 && strcmp(text, "unknown error") != 0) {
            return (enum proto_rc)i;
        }
    }
    return PROTO_EUNSUPPORTED;
}

static enum proto_rc dec_error_el(struct json_dec *d, const cJSON *el, size_t index, void *ctx)
{
    struct proto_snapshot *snap = ctx;
    struct proto_error *e = &snap->errors[index];
    const char *code = NULL;
    enum proto_rc result;
    if ((result = dec_check_object(d, el)) ||
        (result = dec_str(d, el, "source", JSON_REQUIRED, PROTO_MAX_STRING, &e->source)) ||
        (result = dec_str_ref(d, el, "code", JSON_REQUIRED, PROTO_MAX_NAME, &code)) ||
        (result = dec_str(d, el, "message", JSON_REQUIRED, PROTO_MAX_STRING, &e->message))) {
        return result;
    }
    e->code = json_rc_from_str(code);
    return PROTO_OK;
}

/* Capacity model.c's appenders assume for an array of n elements: the next power of two. */
static size_t json_pow2_capacity(size_t n)
{
    size_t cap = 1;
    while (cap < n) {
        cap *= 2;
    }
    return cap;
}

static enum proto_rc dec_errors(struct json_dec *d, const cJSON *obj, struct proto_snapshot *snap)
{
    const cJSON *array = NULL;
    size_t count = 0;
    enum proto_rc result =
        dec_array(d, obj, "errors", JSON_REQUIRED, PROTO_MAX_ERRORS, &array, &count);
    if (result || count == 0) {
        return result;
    }
    /* Not proto_snapshot_add_error: it would cut messages to its own buffer. */
    snap->errors = proto_calloc(json_pow2_capacity(count), sizeof(*snap->errors));
    if (snap->errors == NULL) {
        return dec_nomem(d);
    }
    snap->error_count = count;
    return dec_elements(d, "errors", array, dec_error_el, snap);
}

static enum proto_rc dec_host_fn(struct json_dec *d, const cJSON *obj, void *ctx)
{
    struct proto_host *host = ctx;
    enum proto_rc result;
    if ((result = dec_str(d, obj, "fqdn", JSON_REQUIRED, PROTO_MAX_NAME, &host->fqdn)) ||
        (result = dec_str(d, obj, "hostname", JSON_OPTIONAL, PROTO_MAX_NAME, &host->hostname)) ||
        (result = dec_str(d, obj, "os", JSON_OPTIONAL, PROTO_MAX_STRING, &host->os)) ||
        (result = dec_str(d, obj, "agent_version", JSON_OPTIONAL, PROTO_MAX_NAME,
                          &host->agent_version))) {
        return result;
    }
    return dec_time(d, obj, "collected_at", JSON_OPTIONAL, &host->collected_at);
}

static enum proto_rc dec_ipsec_fn(struct json_dec *d, const cJSON *obj, void *ctx)
{
    struct proto_snapshot *snap = ctx;
    enum proto_rc result;
    if ((result = dec_dword_opt(d, obj, "prohibit_ipsec", &snap->prohibit_ipsec)) ||
        (result = dec_dword_opt(d, obj, "allow_l2tp_weak_crypto", &snap->allow_l2tp_weak_crypto)) ||
        (result =
             dec_dword_opt(d, obj, "negotiate_dh2048_aes256", &snap->negotiate_dh2048_aes256)) ||
        (result = dec_bool(d, obj, "rules_available", JSON_REQUIRED, &snap->rules_available))) {
        return result;
    }
    return dec_each(d, obj, "rules", JSON_REQUIRED, PROTO_MAX_RULES, dec_rule_el, snap, NULL);
}

static enum proto_rc dec_bindings_fn(struct json_dec *d, const cJSON *obj, void *ctx)
{
    struct proto_snapshot *snap = ctx;
    enum proto_rc result;
    if ((result =
             dec_bool(d, obj, "ssl_available", JSON_REQUIRED, &snap->ssl_bindings_available)) ||
        (result = dec_each(d, obj, "ssl", JSON_REQUIRED, PROTO_MAX_SSL_BINDINGS, dec_ssl_el, snap,
                           NULL)) ||
        (result = dec_hex(d, obj, "iphttps_cert_sha1", JSON_REQUIRED | JSON_NULLABLE,
                          PROTO_SHA1_HEX_LEN, false, snap->iphttps_cert_sha1)) ||
        (result = dec_hex(d, obj, "sstp_cert_sha1", JSON_REQUIRED | JSON_NULLABLE,
                          PROTO_SHA1_HEX_LEN, false, snap->sstp_cert_sha1))) {
        return result;
    }
    return dec_hex(d, obj, "sstp_cert_sha256", JSON_REQUIRED | JSON_NULLABLE, PROTO_SHA256_HEX_LEN,
                   false, snap->sstp_cert_sha256);
}

/* Decodes the required object member `key` with fn, the path naming it meanwhile. */
static enum proto_rc dec_nested(struct json_dec *d, const cJSON *parent, const char *key,
                                json_members_fn fn, void *ctx)
{
    const cJSON *obj = NULL;
    enum proto_rc result = dec_object(d, parent, key, JSON_REQUIRED, &obj);
    if (result) {
        return result;
    }
    size_t saved = dec_enter_key(d, key);
    result = fn(d, obj, ctx);
    dec_leave(d, saved);
    return result;
}

static enum proto_rc dec_snapshot_fn(struct json_dec *d, const cJSON *obj, void *ctx)
{
    struct proto_snapshot *snap = ctx;
    enum proto_rc result;
    if ((result = dec_bool(d, obj, "certs_available", JSON_REQUIRED, &snap->certs_available)) ||
        (result =
             dec_each(d, obj, "certs", JSON_REQUIRED, PROTO_MAX_CERTS, dec_cert_el, snap, NULL)) ||
        (result = dec_nested(d, obj, "ipsec", dec_ipsec_fn, snap)) ||
        (result = dec_nested(d, obj, "bindings", dec_bindings_fn, snap)) ||
        (result =
             dec_bool(d, obj, "registry_available", JSON_OPTIONAL, &snap->registry_available)) ||
        (result = dec_each(d, obj, "registry", JSON_OPTIONAL, PROTO_MAX_REG_VALUES, dec_reg_el,
                           snap, NULL))) {
        return result;
    }
    return dec_errors(d, obj, snap);
}

static enum proto_rc dec_finding_el(struct json_dec *d, const cJSON *el, size_t index, void *ctx)
{
    struct proto_report *report = ctx;
    struct proto_finding *f = &report->findings[index];
    const char *severity = NULL;
    enum proto_rc result;
    if ((result = dec_check_object(d, el)) ||
        (result = dec_str(d, el, "id", JSON_REQUIRED, PROTO_MAX_NAME, &f->id)) ||
        (result = dec_str_ref(d, el, "severity", JSON_REQUIRED, PROTO_MAX_NAME, &severity))) {
        return result;
    }
    if (proto_severity_from_str(severity, &f->severity) != PROTO_OK) {
        size_t saved = dec_enter_key(d, "severity");
        result = dec_fail(d, PROTO_EPARSE,
                          "expected one of \"info\", \"low\", \"medium\", \"high\", \"critical\"");
        dec_leave(d, saved);
        return result;
    }
    if ((result = dec_str(d, el, "message", JSON_REQUIRED, PROTO_MAX_STRING, &f->message)) ||
        (result = dec_strv(d, el, "certs", JSON_REQUIRED, PROTO_MAX_CERTS, PROTO_SHA1_HEX_LEN, true,
                           &f->certs, NULL)) ||
        (result = dec_strv(d, el, "rules", JSON_REQUIRED, PROTO_MAX_RULES, PROTO_MAX_NAME, false,
                           &f->rules, NULL))) {
        return result;
    }
    return PROTO_OK;
}

static enum proto_rc dec_findings(struct json_dec *d, const cJSON *root,
                                  struct proto_report *report)
{
    const cJSON *array = NULL;
    size_t count = 0;
    enum proto_rc result =
        dec_array(d, root, "findings", JSON_REQUIRED, PROTO_MAX_FINDINGS, &array, &count);
    if (result || count == 0) {
        return result;
    }
    report->findings = proto_calloc(count, sizeof(*report->findings));
    if (report->findings == NULL) {
        return dec_nomem(d);
    }
    report->finding_count = count;
    return dec_elements(d, "findings", array, dec_finding_el, report);
}

/* "agent_spool" is optional (agents before it was added did not send it): absent reads as 0. */
static enum proto_rc dec_agent_spool(struct json_dec *d, const cJSON *root,
                                     struct proto_report *report)
{
    const cJSON *spool = NULL;
    enum proto_rc result = dec_object(d, root, "agent_spool", JSON_OPTIONAL, &spool);
    if (result || spool == NULL) {
        return result;
    }
    size_t saved = dec_enter_key(d, "agent_spool");
    if (!(result = dec_uint(d, spool, "dropped", JSON_REQUIRED, JSON_MAX_SAFE_INTEGER,
                            &report->spool_dropped))) {
        result = dec_uint(d, spool, "quarantined", JSON_REQUIRED, JSON_MAX_SAFE_INTEGER,
                          &report->spool_quarantined);
    }
    dec_leave(d, saved);
    return result;
}

static enum proto_rc dec_snapshot_or_skip(struct json_dec *d, const cJSON *root,
                                          struct proto_snapshot *snap)
{
    if (!d->envelope_only) {
        return dec_nested(d, root, "snapshot", dec_snapshot_fn, snap);
    }
    const cJSON *obj = NULL;
    return dec_object(d, root, "snapshot", JSON_REQUIRED, &obj);
}

static enum proto_rc dec_report(struct json_dec *d, const cJSON *root, struct proto_report *report)
{
    const char *schema = NULL;
    const char *report_id = NULL;
    enum proto_rc result = dec_check_object(d, root);
    if (result) {
        return result;
    }
    /* The version first: a later schema gets "unsupported", not a confusing member error. */
    result = dec_str_ref(d, root, "schema", JSON_REQUIRED, PROTO_MAX_NAME, &schema);
    if (result) {
        return result;
    }
    if (strcmp(schema, PROTO_REPORT_SCHEMA) != 0) {
        size_t saved = dec_enter_key(d, "schema");
        result = dec_fail(d, PROTO_EUNSUPPORTED, "expected \"" PROTO_REPORT_SCHEMA "\"");
        dec_leave(d, saved);
        return result;
    }
    result = dec_str_ref(d, root, "report_id", JSON_REQUIRED, PROTO_MAX_NAME, &report_id);
    if (result) {
        return result;
    }
    if (!json_uuid_valid(report_id)) {
        size_t saved = dec_enter_key(d, "report_id");
        result =
            dec_fail(d, PROTO_EPARSE, "expected a UUID like 0f8fad5b-d9cb-469f-a165-70867728950e");
        dec_leave(d, saved);
        return result;
    }
    /* One idempotency key per report, whatever case the agent wrote it in. */
    for (size_t i = 0; i <= JSON_UUID_LEN; i++) {
        report->report_id[i] = json_lower(report_id[i]);
    }
    if ((result = dec_uint(d, root, "seq", JSON_REQUIRED, JSON_MAX_SAFE_INTEGER, &report->seq)) ||
        (result = dec_nested(d, root, "host", dec_host_fn, &report->snapshot->host)) ||
        (result = dec_snapshot_or_skip(d, root, report->snapshot)) ||
        (result = dec_findings(d, root, report)) || (result = dec_agent_spool(d, root, report))) {
        return result;
    }
    return PROTO_OK;
}

/* What json_decode reads: a whole report, a report with its snapshot skipped, or a snapshot
 * alone (the "snapshot" member's value, as the collector stores it). */
enum json_doc_kind { JSON_DOC_REPORT, JSON_DOC_ENVELOPE, JSON_DOC_SNAPSHOT };

static enum proto_rc json_decode(const char *text, size_t len, enum json_doc_kind kind,
                                 struct proto_report **out, struct proto_json_error *err)
{
    struct proto_json_error ignored;
    struct json_dec dec;
    struct proto_report *report = NULL;
    cJSON *root = NULL;
    enum proto_rc result;

    if (err == NULL) {
        err = &ignored;
    }
    memset(err, 0, sizeof(*err));
    memset(&dec, 0, sizeof(dec));
    dec.err = err;
    dec.envelope_only = kind == JSON_DOC_ENVELOPE;
    if (out == NULL || (text == NULL && len > 0)) {
        return dec_fail(&dec, PROTO_EINVAL, "no output or no text");
    }
    *out = NULL;
    if (len > PROTO_MAX_REPORT_BYTES) {
        return dec_fail(&dec, PROTO_ELIMIT, "expected a document of at most %u bytes",
                        PROTO_MAX_REPORT_BYTES);
    }
    if (len == 0) {
        return dec_fail(&dec, PROTO_EPARSE, "expected a JSON object, got an empty body");
    }
    /* RFC 8259 and one reading for every reader (json_check.h): cJSON alone would take
     * leading zeros, raw control characters, invalid UTF-8, \u0000 and repeated names. */
    struct proto_json_check_error check;
    result = proto_json_parse_checked(text, len, PROTO_MAX_JSON_DEPTH, &root, &check);
    if (result == PROTO_ENOMEM) {
        return dec_nomem(&dec);
    }
    if (result) {
        memcpy(dec.path, check.member, sizeof(dec.path));
        dec.path[sizeof(dec.path) - 1] = '\0';
        dec.len = strlen(dec.path);
        return dec_fail(&dec, result, "%s", check.message);
    }
    report = proto_report_create();
    if (report == NULL) {
        result = dec_nomem(&dec);
        goto out;
    }
    if (kind == JSON_DOC_SNAPSHOT) {
        result = dec_check_object(&dec, root);
        if (!result) {
            result = dec_snapshot_fn(&dec, root, report->snapshot);
        }
    } else {
        result = dec_report(&dec, root, report);
    }
    if (result) {
        goto out;
    }
    *out = report;
    report = NULL;
out:
    proto_report_destroy(report);
    cJSON_Delete(root);
    return result;
}

enum proto_rc proto_json_decode_report(const char *text, size_t len, struct proto_report **out,
                                       struct proto_json_error *err)
{
    return json_decode(text, len, JSON_DOC_REPORT, out, err);
}

enum proto_rc proto_json_decode_envelope(const char *text, size_t len, struct proto_report **out,
                                         struct proto_json_error *err)
{
    return json_decode(text, len, JSON_DOC_ENVELOPE, out, err);
}

enum proto_rc proto_json_decode_snapshot(const char *text, size_t len, struct proto_snapshot **out,
                                         struct proto_json_error *err)
{
    struct proto_report *report = NULL;
    if (out == NULL) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    enum proto_rc result = json_decode(text, len, JSON_DOC_SNAPSHOT, &report, err);
    if (result) {
        return result;
    }
    *out = report->snapshot;
    report->snapshot = NULL;
    proto_report_destroy(report);
    return PROTO_OK;
}
