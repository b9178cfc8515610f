/*
 * test_json: the report codec (proto/json.c) and its schema (schema/json/report.schema.json).
 *
 * Builds a report that uses every field, checks encode -> decode gives it back field for field
 * and that re-encoding is byte-identical, then breaks the encoded document one member at a time
 * and checks the decoder names that member. Also: caps of caps.h, depth, size, OOM paths, and
 * that the schema repeats caps.h. With RRAS_WRITE_REPORT=path set, only writes the encoded
 * report there (tests/integration/test_schema.sh validates it against the schema).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "caps.h"
#include "json.h"
#include "json_span.h"
#include "testutil.h"
#include "uuid.h"

#define TEST_UUID "0f8fad5b-d9cb-469f-a165-70867728950e"
#define TEST_SHA1_A "A94A8FE5CCB19BA61C4C0873D391E987982FBBD3"
#define TEST_SHA1_B "0123456789ABCDEF0123456789ABCDEF01234567"
#define TEST_SHA256_A "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"
#define TEST_SHA256_B "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
#define TEST_RASMAN "HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Services\\Rasman\\Parameters"

/* ---- fixture: a report that sets every field ------------------------------------------------ */

static char *xstrdup(const char *s)
{
    char *copy = proto_strdup(s);
    assert_non_null(copy);
    return copy;
}

static void add_reg(struct proto_snapshot *snap, const char *name, enum proto_reg_type type,
                    const char *data)
{
    struct proto_reg_value *v = NULL;
    assert_int_equal(proto_snapshot_add_reg_value(snap, &v), PROTO_OK);
    v->key = xstrdup(TEST_RASMAN);
    v->name = xstrdup(name);
    v->type = type;
    v->data = xstrdup(data);
}

static void fill_certs(struct proto_snapshot *snap)
{
    struct proto_cert *c = NULL;

    snap->certs_available = true;
    assert_int_equal(proto_snapshot_add_cert(snap, &c), PROTO_OK);
    c->store_index = 0;
    c->parsed = true;
    memcpy(c->sha1, TEST_SHA1_A, sizeof(c->sha1));
    memcpy(c->sha256, TEST_SHA256_A, sizeof(c->sha256));
    c->serial = xstrdup("1A2B3C4D5E6F");
    assert_int_equal(proto_dn_append(&c->subject, "DC", "com", false), PROTO_OK);
    assert_int_equal(proto_dn_append(&c->subject, "DC", "contoso", false), PROTO_OK);
    assert_int_equal(proto_dn_append(&c->subject, "CN", "*.contoso.com", false), PROTO_OK);
    assert_int_equal(proto_dn_append(&c->subject, "O", "Contoso \"VPN\", Ltd", true), PROTO_OK);
    assert_int_equal(proto_dn_append(&c->issuer, "DC", "com", false), PROTO_OK);
    assert_int_equal(proto_dn_append(&c->issuer, "CN", "corp-DC1-CA", false), PROTO_OK);
    assert_int_equal(proto_dn_append(&c->issuer, "1.2.3.4.5", "Zürich", false), PROTO_OK);
    assert_int_equal(proto_strv_push(&c->san_dns, "*.contoso.com", 8), PROTO_OK);
    assert_int_equal(proto_strv_push(&c->san_dns, "vpn.contoso.com", 8), PROTO_OK);
    c->wildcard = true;
    c->has_eku = true;
    assert_int_equal(proto_strv_push(&c->eku, PROTO_OID_SERVER_AUTH, 8), PROTO_OK);
    assert_int_equal(proto_strv_push(&c->eku, PROTO_OID_IKE_INTERMEDIATE, 8), PROTO_OK);
    c->has_key_usage = true;
    c->key_usage = PROTO_KU_DIGITAL_SIGNATURE | PROTO_KU_KEY_ENCIPHERMENT | PROTO_KU_DECIPHER_ONLY;
    c->not_before = -631152000; /* 1950-01-01: UTCTime's earliest year */
    c->not_after = 1893456000;  /* 2030-01-01 */
    c->is_ca = false;
    c->self_signed = false;
    c->has_private_key = true;
    c->der_len = 301; /* not a multiple of 3: exercises base64 padding */
    c->der = proto_malloc(c->der_len);
    assert_non_null(c->der);
    for (size_t i = 0; i < c->der_len; i++) {
        c->der[i] = (unsigned char)(i * 7 + 3);
    }
    /* The live Windows source's facts, every optional member set. */
    c->win.present = true;
    c->win.eku_effective = true;
    c->win.key_confirmed = PROTO_TRI_NO;
    c->win.chain_root = xstrdup("DC=com, DC=contoso, DC=corp, CN=corp-DC1-CA");
    c->win.has_chain_status = true;
    c->win.chain_error_status = 0x01000020u; /* partial chain | untrusted root */
    c->win.template_name = xstrdup("1.3.6.1.4.1.311.21.8.1.2.3.4");
    c->win.has_template_version = true;
    c->win.template_major = 100;
    c->win.template_minor = 4294967295u;

    /* An unparseable certificate: only hashes, DER and position. */
    assert_int_equal(proto_snapshot_add_cert(snap, &c), PROTO_OK);
    c->store_index = 1;
    c->parsed = false;
    memcpy(c->sha1, TEST_SHA1_B, sizeof(c->sha1));
    memcpy(c->sha256, TEST_SHA256_B, sizeof(c->sha256));
    c->has_eku = true; /* an EKU extension with no usages: [] not null */
    c->der_len = 2;
    c->der = proto_malloc(c->der_len);
    assert_non_null(c->der);
    c->der[0] = 0x30;
    c->der[1] = 0xff;
}

static void fill_rules(struct proto_snapshot *snap)
{
    struct proto_consec_rule *r = NULL;

    snap->prohibit_ipsec.present = true;
    snap->prohibit_ipsec.value = 1;
    snap->negotiate_dh2048_aes256.present = true;
    snap->negotiate_dh2048_aes256.value = 0;
    snap->rules_available = true;
    assert_int_equal(proto_snapshot_add_rule(snap, &r), PROTO_OK);
    r->field[PROTO_RULE_NAME] = xstrdup("L2TP Manual Rule");
    r->field[PROTO_RULE_ENABLED] = xstrdup("Yes");
    r->field[PROTO_RULE_MODE] = xstrdup("Transport");
    r->field[PROTO_RULE_ENDPOINT2] = xstrdup("131.107.0.2/32");
    r->field[PROTO_RULE_PORT2] = xstrdup("1701");
    r->field[PROTO_RULE_PROTOCOL] = xstrdup("UDP");
    r->field[PROTO_RULE_AUTH1] = xstrdup("ComputerPSK,ComputerCert");
    r->field[PROTO_RULE_AUTH1_PSK] = xstrdup(PROTO_REDACTED);
    r->field[PROTO_RULE_AUTH1_CA_NAME] = xstrdup("DC=com, DC=contoso, CN=corp-DC1-CA");
    r->field[PROTO_RULE_RULE_SOURCE] = xstrdup("Local Setting");
    r->psk_redacted = true;
    assert_int_equal(proto_rule_add_extra(r, "NewLabel2030", "some value"), PROTO_OK);
    assert_int_equal(proto_rule_add_extra(r, "Other", ""), PROTO_OK);

    assert_int_equal(proto_snapshot_add_rule(snap, &r), PROTO_OK);
    r->field[PROTO_RULE_NAME] = xstrdup("Regel 2");
    r->field[PROTO_RULE_DESCRIPTION] = xstrdup(""); /* printed empty */
    r->labels_unrecognised = true;
}

static void fill_bindings(struct proto_snapshot *snap)
{
    struct proto_ssl_binding *b = NULL;

    snap->ssl_bindings_available = true;
    assert_int_equal(proto_snapshot_add_ssl_binding(snap, &b), PROTO_OK);
    b->endpoint = xstrdup("0.0.0.0:443");
    b->kind = xstrdup("ipport");
    memcpy(b->cert_hash, TEST_SHA1_A, sizeof(b->cert_hash));
    b->app_id = xstrdup("{5d8e2743-ef20-4d38-8751-7e400f200e65}");
    b->store_name = xstrdup("MY");
    assert_int_equal(proto_snapshot_add_ssl_binding(snap, &b), PROTO_OK);
    b->endpoint = xstrdup("vpn.contoso.com:443");
    b->kind = xstrdup("hostnameport");
    memcpy(snap->iphttps_cert_sha1, TEST_SHA1_A, sizeof(snap->iphttps_cert_sha1));
    memcpy(snap->sstp_cert_sha256, TEST_SHA256_B, sizeof(snap->sstp_cert_sha256));
}

static void fill_registry(struct proto_snapshot *snap)
{
    snap->registry_available = true;
    add_reg(snap, "(Default)", PROTO_REG_SZ, "text with \\0 inside");
    add_reg(snap, "Path", PROTO_REG_EXPAND_SZ, "%SystemRoot%\\x");
    add_reg(snap, "List", PROTO_REG_MULTI_SZ, "a\\0\\0b c");
    assert_int_equal(proto_strv_push(&snap->registry[2].multi, "a", 8), PROTO_OK);
    assert_int_equal(proto_strv_push(&snap->registry[2].multi, "", 8), PROTO_OK);
    assert_int_equal(proto_strv_push(&snap->registry[2].multi, "b c", 8), PROTO_OK);
    add_reg(snap, "ProhibitIpSec", PROTO_REG_DWORD, "0x1");
    snap->registry[3].number = 1;
    add_reg(snap, "Big", PROTO_REG_QWORD, "0x100000000");
    snap->registry[4].number = 0x100000000ull;
    add_reg(snap, "SHA1CertificateHash", PROTO_REG_BINARY, "0AfF");
    snap->registry[5].bytes = proto_malloc(2);
    assert_non_null(snap->registry[5].bytes);
    snap->registry[5].bytes[0] = 0x0a;
    snap->registry[5].bytes[1] = 0xff;
    snap->registry[5].bytes_len = 2;
    add_reg(snap, "Nothing", PROTO_REG_NONE, "");
    add_reg(snap, "Link", PROTO_REG_OTHER, "whatever");
}

static struct proto_report *full_report(void)
{
    struct proto_report *report = proto_report_create();
    assert_non_null(report);
    struct proto_snapshot *snap = report->snapshot;

    memcpy(report->report_id, TEST_UUID, sizeof(report->report_id));
    report->seq = 9007199254740992ull; /* 2^53, the largest seq allowed */
    report->spool_dropped = 3;
    report->spool_quarantined = 4294967297ull; /* above 2^32: written as exact digits */
    snap->host.fqdn = xstrdup("rras01.corp.contoso.com");
    snap->host.hostname = xstrdup("RRAS01");
    snap->host.os = xstrdup("Windows Server 2019 Datacenter 10.0.17763");
    snap->host.agent_version = xstrdup("0.1.0");
    snap->host.collected_at = 1717243200; /* 2024-06-01T12:00:00Z */
    fill_certs(snap);
    fill_rules(snap);
    fill_bindings(snap);
    fill_registry(snap);
    assert_int_equal(proto_snapshot_add_error(snap, "netsh-http-sslcert.txt", PROTO_EUNAVAILABLE,
                                              "netsh printed nothing (\"%s\")", "exit 0"),
                     PROTO_OK);
    assert_int_equal(proto_snapshot_add_error(snap, "LocalMachine-My/002-x.cer", PROTO_EPARSE,
                                              "bad DER: tag 0x%02x", 0x31),
                     PROTO_OK);

    report->findings = proto_calloc(2, sizeof(*report->findings));
    assert_non_null(report->findings);
    report->finding_count = 2;
    report->findings[0].id = xstrdup("L2TP_CERT_WILDCARD");
    report->findings[0].severity = PROTO_SEV_HIGH;
    report->findings[0].message = xstrdup("The predicted L2TP certificate is a wildcard.");
    assert_int_equal(proto_strv_push(&report->findings[0].certs, TEST_SHA1_A, 8), PROTO_OK);
    report->findings[1].id = xstrdup("MANUAL_RULE_WRONG_CA");
    report->findings[1].severity = PROTO_SEV_MEDIUM;
    report->findings[1].message = xstrdup("Rule names the wrong CA.");
    assert_int_equal(proto_strv_push(&report->findings[1].certs, TEST_SHA1_B, 8), PROTO_OK);
    assert_int_equal(proto_strv_push(&report->findings[1].rules, "L2TP Manual Rule", 8), PROTO_OK);
    return report;
}

/* ---- comparison ---------------------------------------------------------------------------- */

static void assert_opt_str_equal(const char *a, const char *b)
{
    if (a == NULL || b == NULL) {
        assert_ptr_equal(a, b);
    } else {
        assert_string_equal(a, b);
    }
}

static void assert_strv_equal(const struct proto_strv *a, const struct proto_strv *b)
{
    assert_int_equal(a->count, b->count);
    for (size_t i = 0; i < a->count; i++) {
        assert_string_equal(a->items[i], b->items[i]);
    }
}

static void assert_dn_equal(const struct proto_dn *a, const struct proto_dn *b)
{
    assert_int_equal(a->count, b->count);
    for (size_t i = 0; i < a->count; i++) {
        assert_string_equal(a->attrs[i].type, b->attrs[i].type);
        assert_string_equal(a->attrs[i].value, b->attrs[i].value);
        assert_int_equal(a->attrs[i].same_rdn_as_prev, b->attrs[i].same_rdn_as_prev);
    }
}

static void assert_cert_equal(const struct proto_cert *a, const struct proto_cert *b)
{
    assert_int_equal(a->store_index, b->store_index);
    assert_int_equal(a->parsed, b->parsed);
    assert_string_equal(a->sha1, b->sha1);
    assert_string_equal(a->sha256, b->sha256);
    assert_opt_str_equal(a->serial, b->serial);
    assert_dn_equal(&a->subject, &b->subject);
    assert_dn_equal(&a->issuer, &b->issuer);
    assert_strv_equal(&a->san_dns, &b->san_dns);
    assert_int_equal(a->wildcard, b->wildcard);
    assert_int_equal(a->has_eku, b->has_eku);
    assert_strv_equal(&a->eku, &b->eku);
    assert_int_equal(a->has_key_usage, b->has_key_usage);
    assert_int_equal(a->key_usage, b->key_usage);
    assert_int_equal(a->not_before, b->not_before);
    assert_int_equal(a->not_after, b->not_after);
    assert_int_equal(a->is_ca, b->is_ca);
    assert_int_equal(a->self_signed, b->self_signed);
    assert_int_equal(a->has_private_key, b->has_private_key);
    assert_int_equal(a->der_len, b->der_len);
    assert_memory_equal(a->der, b->der, a->der_len);
    assert_int_equal(a->win.present, b->win.present);
    assert_int_equal(a->win.eku_effective, b->win.eku_effective);
    assert_int_equal(a->win.key_confirmed, b->win.key_confirmed);
    assert_opt_str_equal(a->win.chain_root, b->win.chain_root);
    assert_int_equal(a->win.has_chain_status, b->win.has_chain_status);
    assert_int_equal(a->win.chain_error_status, b->win.chain_error_status);
    assert_opt_str_equal(a->win.template_name, b->win.template_name);
    assert_int_equal(a->win.has_template_version, b->win.has_template_version);
    assert_int_equal(a->win.template_major, b->win.template_major);
    assert_int_equal(a->win.template_minor, b->win.template_minor);
}

static void assert_rule_equal(const struct proto_consec_rule *a, const struct proto_consec_rule *b)
{
    for (int i = 0; i < PROTO_RULE_FIELD_COUNT; i++) {
        assert_opt_str_equal(a->field[i], b->field[i]);
    }
    assert_int_equal(a->extra_count, b->extra_count);
    for (size_t i = 0; i < a->extra_count; i++) {
        assert_string_equal(a->extra[i].key, b->extra[i].key);
        assert_string_equal(a->extra[i].value, b->extra[i].value);
    }
    assert_int_equal(a->psk_redacted, b->psk_redacted);
    assert_int_equal(a->labels_unrecognised, b->labels_unrecognised);
}

static void assert_reg_equal(const struct proto_reg_value *a, const struct proto_reg_value *b)
{
    assert_string_equal(a->key, b->key);
    assert_string_equal(a->name, b->name);
    assert_int_equal(a->type, b->type);
    assert_string_equal(a->data, b->data);
    assert_int_equal(a->number, b->number);
    assert_int_equal(a->bytes_len, b->bytes_len);
    if (a->bytes_len > 0) {
        assert_memory_equal(a->bytes, b->bytes, a->bytes_len);
    }
    assert_strv_equal(&a->multi, &b->multi);
}

static void assert_report_equal(const struct proto_report *a, const struct proto_report *b)
{
    const struct proto_snapshot *sa = a->snapshot, *sb = b->snapshot;

    assert_string_equal(a->report_id, b->report_id);
    assert_int_equal(a->seq, b->seq);
    assert_int_equal(a->spool_dropped, b->spool_dropped);
    assert_int_equal(a->spool_quarantined, b->spool_quarantined);
    assert_opt_str_equal(sa->host.fqdn, sb->host.fqdn);
    assert_opt_str_equal(sa->host.hostname, sb->host.hostname);
    assert_opt_str_equal(sa->host.os, sb->host.os);
    assert_opt_str_equal(sa->host.agent_version, sb->host.agent_version);
    assert_int_equal(sa->host.collected_at, sb->host.collected_at);

    assert_int_equal(sa->certs_available, sb->certs_available);
    assert_int_equal(sa->cert_count, sb->cert_count);
    for (size_t i = 0; i < sa->cert_count; i++) {
        assert_cert_equal(&sa->certs[i], &sb->certs[i]);
    }
    assert_int_equal(sa->prohibit_ipsec.present, sb->prohibit_ipsec.present);
    assert_int_equal(sa->prohibit_ipsec.value, sb->prohibit_ipsec.value);
    assert_int_equal(sa->allow_l2tp_weak_crypto.present, sb->allow_l2tp_weak_crypto.present);
    assert_int_equal(sa->allow_l2tp_weak_crypto.value, sb->allow_l2tp_weak_crypto.value);
    assert_int_equal(sa->negotiate_dh2048_aes256.present, sb->negotiate_dh2048_aes256.present);
    assert_int_equal(sa->negotiate_dh2048_aes256.value, sb->negotiate_dh2048_aes256.value);
    assert_int_equal(sa->rules_available, sb->rules_available);
    assert_int_equal(sa->rule_count, sb->rule_count);
    for (size_t i = 0; i < sa->rule_count; i++) {
        assert_rule_equal(&sa->rules[i], &sb->rules[i]);
    }
    assert_int_equal(sa->ssl_bindings_available, sb->ssl_bindings_available);
    assert_int_equal(sa->ssl_binding_count, sb->ssl_binding_count);
    for (size_t i = 0; i < sa->ssl_binding_count; i++) {
        assert_string_equal(sa->ssl_bindings[i].endpoint, sb->ssl_bindings[i].endpoint);
        assert_string_equal(sa->ssl_bindings[i].kind, sb->ssl_bindings[i].kind);
        assert_string_equal(sa->ssl_bindings[i].cert_hash, sb->ssl_bindings[i].cert_hash);
        assert_opt_str_equal(sa->ssl_bindings[i].app_id, sb->ssl_bindings[i].app_id);
        assert_opt_str_equal(sa->ssl_bindings[i].store_name, sb->ssl_bindings[i].store_name);
    }
    assert_string_equal(sa->iphttps_cert_sha1, sb->iphttps_cert_sha1);
    assert_string_equal(sa->sstp_cert_sha1, sb->sstp_cert_sha1);
    assert_string_equal(sa->sstp_cert_sha256, sb->sstp_cert_sha256);
    assert_int_equal(sa->registry_available, sb->registry_available);
    assert_int_equal(sa->registry_count, sb->registry_count);
    for (size_t i = 0; i < sa->registry_count; i++) {
        assert_reg_equal(&sa->registry[i], &sb->registry[i]);
    }
    assert_int_equal(sa->error_count, sb->error_count);
    for (size_t i = 0; i < sa->error_count; i++) {
        assert_string_equal(sa->errors[i].source, sb->errors[i].source);
        assert_int_equal(sa->errors[i].code, sb->errors[i].code);
        assert_string_equal(sa->errors[i].message, sb->errors[i].message);
    }
    assert_int_equal(a->finding_count, b->finding_count);
    for (size_t i = 0; i < a->finding_count; i++) {
        assert_string_equal(a->findings[i].id, b->findings[i].id);
        assert_int_equal(a->findings[i].severity, b->findings[i].severity);
        assert_string_equal(a->findings[i].message, b->findings[i].message);
        assert_strv_equal(&a->findings[i].certs, &b->findings[i].certs);
        assert_strv_equal(&a->findings[i].rules, &b->findings[i].rules);
    }
}

/* ---- helpers for broken documents ---------------------------------------------------------- */

static char *encode(const struct proto_report *report, int pretty, size_t *len)
{
    char *text = NULL;
    assert_int_equal(proto_json_encode_report(report, pretty, &text, len), PROTO_OK);
    assert_non_null(text);
    return text;
}

/* The full report as a cJSON tree the test may edit; cJSON_Delete it. */
static cJSON *full_tree(void)
{
    struct proto_report *report = full_report();
    char *text = encode(report, 0, NULL);
    cJSON *root = cJSON_Parse(text);
    assert_non_null(root);
    /* cJSON would print the parsed seq (2^53) inexactly; keep its digits (see json.c). */
    cJSON *seq = cJSON_CreateRaw("9007199254740992");
    assert_non_null(seq);
    assert_true(cJSON_ReplaceItemInObjectCaseSensitive(root, "seq", seq));
    proto_free(text);
    proto_report_destroy(report);
    return root;
}

/* The node at a path like "snapshot.certs[1].sha1", or NULL. */
static cJSON *tree_at(cJSON *root, const char *path)
{
    cJSON *node = root;
    const char *p = path;
    while (node != NULL && *p != '\0') {
        if (*p == '[') {
            char *end = NULL;
            unsigned long index = strtoul(p + 1, &end, 10);
            assert_true(end != NULL && *end == ']');
            node = cJSON_GetArrayItem(node, (int)index);
            p = end + 1;
        } else {
            if (*p == '.') {
                p++;
            }
            size_t n = strcspn(p, ".[");
            char key[128];
            assert_true(n < sizeof(key));
            memcpy(key, p, n);
            key[n] = '\0';
            node = cJSON_GetObjectItemCaseSensitive(node, key);
            p += n;
        }
    }
    return node;
}

/* Replaces (or with replacement NULL deletes) the member at `path`; adds it when absent. */
static void tree_set(cJSON *root, const char *path, const char *replacement)
{
    char parent_path[256];
    const char *last = path;
    for (const char *p = path; *p != '\0'; p++) {
        if (*p == '.' || *p == '[') {
            last = p;
        }
    }
    size_t parent_len = (size_t)(last - path);
    assert_true(parent_len < sizeof(parent_path));
    memcpy(parent_path, path, parent_len);
    parent_path[parent_len] = '\0';
    cJSON *parent = tree_at(root, parent_path);
    assert_non_null(parent);
    cJSON *item = NULL;
    if (replacement != NULL) {
        item = cJSON_Parse(replacement);
        assert_non_null(item);
    }
    if (*last == '[') {
        char *end = NULL;
        long index = strtol(last + 1, &end, 10);
        assert_true(end != NULL && *end == ']' && index >= 0);
        if (item == NULL) {
            cJSON_DeleteItemFromArray(parent, (int)index);
        } else {
            assert_true(cJSON_ReplaceItemInArray(parent, (int)index, item));
        }
        return;
    }
    const char *key = *last == '.' ? last + 1 : last;
    if (item == NULL) {
        cJSON_DeleteItemFromObjectCaseSensitive(parent, key);
    } else if (cJSON_GetObjectItemCaseSensitive(parent, key) != NULL) {
        assert_true(cJSON_ReplaceItemInObjectCaseSensitive(parent, key, item));
    } else {
        assert_true(cJSON_AddItemToObject(parent, key, item));
    }
}

static enum proto_rc decode_tree(const cJSON *root, struct proto_json_error *err)
{
    char *text = cJSON_PrintUnformatted(root);
    assert_non_null(text);
    struct proto_report *report = NULL;
    enum proto_rc rc = proto_json_decode_report(text, strlen(text), &report, err);
    if (rc == PROTO_OK) {
        assert_non_null(report);
    } else {
        assert_null(report);
    }
    proto_report_destroy(report);
    cJSON_free(text);
    return rc;
}

/* Decodes the full report with the member at `path` replaced (NULL: deleted). */
static enum proto_rc decode_with(const char *path, const char *replacement,
                                 struct proto_json_error *err)
{
    cJSON *root = full_tree();
    tree_set(root, path, replacement);
    enum proto_rc rc = decode_tree(root, err);
    cJSON_Delete(root);
    return rc;
}

struct broken_case {
    const char *path;        /* member to change */
    const char *replacement; /* JSON text, or NULL to delete it */
    enum proto_rc rc;
    const char *field; /* expected err.field; NULL: same as path */
};

static void check_broken_cases(const struct broken_case *cases, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        struct proto_json_error err;
        const char *want = cases[i].field != NULL ? cases[i].field : cases[i].path;
        enum proto_rc rc = decode_with(cases[i].path, cases[i].replacement, &err);
        if (rc != cases[i].rc || strcmp(err.field, want) != 0) {
            fail_msg("%s = %s: got rc %d (%s) field \"%s\" message \"%s\"; want rc %d field "
                     "\"%s\"",
                     cases[i].path, cases[i].replacement ? cases[i].replacement : "(deleted)",
                     (int)rc, proto_rc_str(rc), err.field, err.message, (int)cases[i].rc, want);
        }
        if (rc != PROTO_OK) {
            assert_true(err.message[0] != '\0');
        }
    }
}

/* A JSON array of n copies of `element`; caller frees with free(). */
static char *repeat_array(const char *element, size_t n)
{
    size_t elen = strlen(element);
    char *text = malloc(n * (elen + 1) + 3);
    assert_non_null(text);
    size_t pos = 0;
    text[pos++] = '[';
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            text[pos++] = ',';
        }
        memcpy(text + pos, element, elen);
        pos += elen;
    }
    text[pos++] = ']';
    text[pos] = '\0';
    return text;
}

/* A JSON string of n copies of c; caller frees with free(). */
static char *long_string(char c, size_t n)
{
    char *text = malloc(n + 3);
    assert_non_null(text);
    text[0] = '"';
    memset(text + 1, c, n);
    text[n + 1] = '"';
    text[n + 2] = '\0';
    return text;
}

/* ---- tests: round trip --------------------------------------------------------------------- */

static void test_full_report_round_trips_field_for_field(void **state)
{
    (void)state;
    struct proto_report *report = full_report();
    struct proto_report *back = NULL;
    struct proto_json_error err;
    size_t len = 0;
    char *text = encode(report, 0, &len);
    assert_int_equal(len, strlen(text));

    assert_int_equal(proto_json_decode_report(text, len, &back, &err), PROTO_OK);
    assert_report_equal(report, back);

    proto_report_destroy(back);
    proto_free(text);
    proto_report_destroy(report);
}

static void test_snapshot_decode_reads_the_stored_snapshot_member_alone(void **state)
{
    (void)state;
    struct proto_report *report = full_report();
    struct proto_report *whole = NULL;
    struct proto_snapshot *snap = NULL;
    struct proto_json_error err;
    size_t len = 0;
    size_t off = 0;
    size_t span = 0;
    char *text = encode(report, 0, &len);
    assert_int_equal(proto_json_member_span(text, len, "snapshot", &off, &span), PROTO_OK);
    assert_int_equal(proto_json_decode_snapshot(text + off, span, &snap, &err), PROTO_OK);
    assert_int_equal(proto_json_decode_report(text, len, &whole, NULL), PROTO_OK);
    /* The host lives beside the snapshot, not in it: left for the caller. */
    assert_null(snap->host.fqdn);
    proto_free(snap->host.fqdn);
    snap->host.fqdn = proto_strdup(whole->snapshot->host.fqdn);
    assert_non_null(snap->host.fqdn);
    cJSON *a = proto_json_from_snapshot(snap);
    cJSON *b = proto_json_from_snapshot(whole->snapshot);
    char *at = cJSON_PrintUnformatted(a);
    char *bt = cJSON_PrintUnformatted(b);
    assert_string_equal(at, bt);
    assert_int_equal(snap->cert_count, report->snapshot->cert_count);
    assert_int_equal(snap->rule_count, report->snapshot->rule_count);
    cJSON_free(at);
    cJSON_free(bt);
    cJSON_Delete(a);
    cJSON_Delete(b);
    proto_snapshot_destroy(snap);
    snap = NULL;

    /* Strict like the report decoder: a bad member is named, and nothing is returned. */
    static const char bad[] = "{\"certs_available\":true,\"certs\":7}";
    assert_int_not_equal(proto_json_decode_snapshot(bad, strlen(bad), &snap, &err), PROTO_OK);
    assert_string_equal(err.field, "certs");
    assert_null(snap);
    assert_int_equal(proto_json_decode_snapshot("[]", 2, &snap, &err), PROTO_ETYPE);
    assert_null(snap);

    proto_report_destroy(whole);
    proto_free(text);
    proto_report_destroy(report);
}

static void test_envelope_decode_takes_everything_but_the_snapshot_content(void **state)
{
    (void)state;
    struct proto_report *report = full_report();
    struct proto_report *back = NULL;
    struct proto_json_error err;
    size_t len = 0;
    char *text = encode(report, 0, &len);
    /* A whole report read as an envelope: everything but the snapshot's content. */
    assert_int_equal(proto_json_decode_envelope(text, len, &back, &err), PROTO_OK);
    assert_string_equal(back->report_id, report->report_id);
    assert_int_equal(back->seq, report->seq);
    assert_string_equal(back->snapshot->host.fqdn, report->snapshot->host.fqdn);
    assert_int_equal(back->snapshot->cert_count, 0); /* not decoded */
    assert_int_equal(back->finding_count, report->finding_count);
    assert_int_equal(back->spool_dropped, report->spool_dropped);
    proto_report_destroy(back);
    back = NULL;

    static const char bad_snapshot[] =
        "{\"schema\":\"rrasfleet.report/1\",\"report_id\":\"0f8fad5b-d9cb-469f-a165-70867728950e\","
        "\"seq\":1,\"host\":{\"fqdn\":\"a.example.org\",\"hostname\":\"A\"},"
        "\"snapshot\":{\"certs\":7},\"findings\":[]}";
    assert_int_not_equal(proto_json_decode_report(bad_snapshot, strlen(bad_snapshot), &back, &err),
                         PROTO_OK);
    assert_int_equal(proto_json_decode_envelope(bad_snapshot, strlen(bad_snapshot), &back, &err),
                     PROTO_OK);
    proto_report_destroy(back);
    back = NULL;

    /* The envelope is still checked strictly, and the snapshot must still be an object. */
    static const char not_object[] =
        "{\"schema\":\"rrasfleet.report/1\",\"report_id\":\"0f8fad5b-d9cb-469f-a165-70867728950e\","
        "\"seq\":1,\"host\":{\"fqdn\":\"a.example.org\",\"hostname\":\"A\"},"
        "\"snapshot\":[],\"findings\":[]}";
    assert_int_equal(proto_json_decode_envelope(not_object, strlen(not_object), &back, &err),
                     PROTO_ETYPE);
    assert_string_equal(err.field, "snapshot");
    static const char bad_seq[] =
        "{\"schema\":\"rrasfleet.report/1\",\"report_id\":\"0f8fad5b-d9cb-469f-a165-70867728950e\","
        "\"seq\":-1,\"host\":{\"fqdn\":\"a.example.org\",\"hostname\":\"A\"},"
        "\"snapshot\":{},\"findings\":[]}";
    assert_int_not_equal(proto_json_decode_envelope(bad_seq, strlen(bad_seq), &back, &err),
                         PROTO_OK);
    assert_string_equal(err.field, "seq");
    assert_null(back);
    proto_free(text);
    proto_report_destroy(report);
}

static void test_reencoding_a_decoded_report_is_byte_identical(void **state)
{
    (void)state;
    struct proto_report *report = full_report();
    for (int pretty = 0; pretty <= 1; pretty++) {
        struct proto_report *back = NULL;
        size_t len = 0, len2 = 0;
        char *first = encode(report, pretty, &len);
        assert_int_equal(proto_json_decode_report(first, len, &back, NULL), PROTO_OK);
        char *second = encode(back, pretty, &len2);
        assert_int_equal(len, len2);
        assert_string_equal(first, second);
        proto_free(second);
        proto_free(first);
        proto_report_destroy(back);
    }
    proto_report_destroy(report);
}

static void test_encoding_writes_nulls_for_absent_eku_key_usage_and_dwords(void **state)
{
    (void)state;
    cJSON *root = full_tree();
    /* cert 1 has an empty EKU extension but no key usage extension. */
    assert_true(cJSON_IsArray(tree_at(root, "snapshot.certs[1].eku")));
    assert_int_equal(cJSON_GetArraySize(tree_at(root, "snapshot.certs[1].eku")), 0);
    assert_true(cJSON_IsNull(tree_at(root, "snapshot.certs[1].key_usage")));
    assert_null(tree_at(root, "snapshot.certs[1].serial"));
    assert_string_equal(cJSON_GetStringValue(tree_at(root, "snapshot.certs[0].key_usage[2]")),
                        "decipherOnly");
    assert_string_equal(cJSON_GetStringValue(tree_at(root, "snapshot.certs[0].not_before")),
                        "1950-01-01T00:00:00Z");
    assert_true(cJSON_IsTrue(tree_at(root, "snapshot.certs[0].subject[3].same_rdn_as_prev")));
    assert_null(tree_at(root, "snapshot.certs[0].subject[2].same_rdn_as_prev"));
    assert_true(cJSON_IsNull(tree_at(root, "snapshot.ipsec.allow_l2tp_weak_crypto")));
    assert_int_equal(cJSON_GetNumberValue(tree_at(root, "snapshot.ipsec.prohibit_ipsec")), 1);
    assert_true(cJSON_IsNull(tree_at(root, "snapshot.bindings.sstp_cert_sha1")));
    assert_null(tree_at(root, "snapshot.ipsec.rules[1].extra"));
    assert_null(tree_at(root, "snapshot.ipsec.rules[0].description"));
    assert_string_equal(
        cJSON_GetStringValue(tree_at(root, "snapshot.ipsec.rules[0].extra.NewLabel2030")),
        "some value");
    assert_string_equal(cJSON_GetStringValue(tree_at(root, "snapshot.errors[0].code")),
                        "source unavailable");
    assert_string_equal(cJSON_GetStringValue(tree_at(root, "snapshot.registry[7].type")),
                        "REG_OTHER");
    assert_string_equal(cJSON_GetStringValue(tree_at(root, "host.collected_at")),
                        "2024-06-01T12:00:00Z");
    assert_int_equal(cJSON_GetNumberValue(tree_at(root, "agent_spool.dropped")), 3);
    assert_int_equal(cJSON_GetNumberValue(tree_at(root, "agent_spool.quarantined")), 4294967297.0);
    cJSON_Delete(root);
}

static void test_spool_loss_counts_are_always_written_even_when_zero(void **state)
{
    (void)state;
    struct proto_report *report = full_report();
    report->spool_dropped = 0;
    report->spool_quarantined = 0;
    char *text = encode(report, 0, NULL);
    assert_non_null(strstr(text, "\"agent_spool\":{\"dropped\":0,\"quarantined\":0}"));
    proto_free(text);
    proto_report_destroy(report);
}

static void test_building_blocks_produce_the_members_of_the_report(void **state)
{
    (void)state;
    struct proto_report *report = full_report();
    cJSON *root = full_tree();
    cJSON *host = proto_json_from_host(&report->snapshot->host);
    cJSON *cert = proto_json_from_cert(&report->snapshot->certs[0]);
    cJSON *finding = proto_json_from_finding(&report->findings[1]);
    cJSON *snap = proto_json_from_snapshot(report->snapshot);
    assert_true(cJSON_Compare(host, tree_at(root, "host"), 1));
    assert_true(cJSON_Compare(cert, tree_at(root, "snapshot.certs[0]"), 1));
    assert_true(cJSON_Compare(finding, tree_at(root, "findings[1]"), 1));
    assert_true(cJSON_Compare(snap, tree_at(root, "snapshot"), 1));
    cJSON_Delete(host);
    cJSON_Delete(cert);
    cJSON_Delete(finding);
    cJSON_Delete(snap);
    cJSON_Delete(root);
    proto_report_destroy(report);
}

static void test_host_without_optional_members_omits_them(void **state)
{
    (void)state;
    struct proto_host host = {0};
    cJSON *obj = proto_json_from_host(&host);
    assert_non_null(obj);
    char *text = cJSON_PrintUnformatted(obj);
    assert_string_equal(text, "{\"fqdn\":\"\"}");
    cJSON_free(text);
    cJSON_Delete(obj);
}

static void test_encoder_refuses_a_report_the_decoder_would_refuse(void **state)
{
    (void)state;
    struct proto_report *report = full_report();
    char *text = NULL;
    size_t len = 7;
    memcpy(report->report_id, "not-a-uuid", sizeof("not-a-uuid"));
    assert_int_equal(proto_json_encode_report(report, 0, &text, &len), PROTO_EINVAL);
    assert_null(text);
    assert_int_equal(len, 0);
    memcpy(report->report_id, TEST_UUID, sizeof(report->report_id));
    report->seq = 9007199254740993ull;
    assert_int_equal(proto_json_encode_report(report, 0, &text, &len), PROTO_EINVAL);
    report->seq = 1;
    report->spool_dropped = 9007199254740993ull;
    assert_int_equal(proto_json_encode_report(report, 0, &text, &len), PROTO_EINVAL);
    report->spool_dropped = 0;
    report->spool_quarantined = UINT64_MAX;
    assert_int_equal(proto_json_encode_report(report, 0, &text, &len), PROTO_EINVAL);
    assert_int_equal(proto_json_encode_report(NULL, 0, &text, &len), PROTO_EINVAL);
    proto_report_destroy(report);
}

/* Writes the encoded full report where the schema check expects it (atomically, so a parallel
 * run of this test and tests/integration/test_schema.sh never sees half a file). */
static void test_encoded_report_is_written_for_the_schema_check(void **state)
{
    (void)state;
    char path[4096], tmp[4200];
    const char *env = getenv("RRAS_WRITE_REPORT");
    int n = env != NULL && env[0] != '\0'
                ? snprintf(path, sizeof(path), "%s", env)
                : snprintf(path, sizeof(path), "%s/test-report.json", RRAS_BINARY_DIR);
    assert_true(n > 0 && (size_t)n < sizeof(path));
    n = snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
    assert_true(n > 0 && (size_t)n < sizeof(tmp));

    struct proto_report *report = full_report();
    size_t len = 0;
    char *text = encode(report, 1, &len);
    FILE *f = fopen(tmp, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fputc('\n', f), '\n');
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(tmp, path), 0);
    proto_free(text);
    proto_report_destroy(report);
}

/* ---- tests: decoding what others may send -------------------------------------------------- */

static const char minimal_doc[] =
    "{\"schema\":\"rrasfleet.report/1\",\"report_id\":\"" TEST_UUID "\",\"seq\":0,"
    "\"host\":{\"fqdn\":\"h\"},"
    "\"snapshot\":{\"certs_available\":false,\"certs\":[],"
    "\"ipsec\":{\"prohibit_ipsec\":null,\"allow_l2tp_weak_crypto\":null,"
    "\"negotiate_dh2048_aes256\":null,\"rules_available\":false,\"rules\":[]},"
    "\"bindings\":{\"ssl_available\":false,\"ssl\":[],\"iphttps_cert_sha1\":null,"
    "\"sstp_cert_sha1\":null,\"sstp_cert_sha256\":null},\"errors\":[]},"
    "\"findings\":[]}";

static void test_minimal_document_decodes_to_an_empty_snapshot(void **state)
{
    (void)state;
    struct proto_report *report = NULL;
    struct proto_json_error err;
    assert_int_equal(proto_json_decode_report(minimal_doc, strlen(minimal_doc), &report, &err),
                     PROTO_OK);
    assert_string_equal(report->report_id, TEST_UUID);
    assert_string_equal(report->snapshot->host.fqdn, "h");
    assert_null(report->snapshot->host.hostname);
    assert_int_equal(report->snapshot->host.collected_at, 0);
    assert_false(report->snapshot->registry_available);
    assert_int_equal(report->snapshot->registry_count, 0);
    assert_false(report->snapshot->prohibit_ipsec.present);
    assert_string_equal(report->snapshot->iphttps_cert_sha1, "");
    assert_int_equal(report->finding_count, 0);
    assert_null(report->findings);
    assert_int_equal(report->spool_dropped, 0);
    assert_int_equal(report->spool_quarantined, 0);
    proto_report_destroy(report);
}

static void test_each_missing_required_member_is_named(void **state)
{
    (void)state;
    static const char *const required[] = {
        "schema",
        "report_id",
        "seq",
        "host",
        "host.fqdn",
        "snapshot",
        "snapshot.certs_available",
        "snapshot.certs",
        "snapshot.certs[0].store_index",
        "snapshot.certs[0].parsed",
        "snapshot.certs[0].sha1",
        "snapshot.certs[0].sha256",
        "snapshot.certs[0].subject",
        "snapshot.certs[0].subject[1].type",
        "snapshot.certs[0].subject[1].value",
        "snapshot.certs[0].issuer",
        "snapshot.certs[0].san_dns",
        "snapshot.certs[0].wildcard",
        "snapshot.certs[0].eku",
        "snapshot.certs[0].key_usage",
        "snapshot.certs[0].not_before",
        "snapshot.certs[0].not_after",
        "snapshot.certs[0].is_ca",
        "snapshot.certs[0].self_signed",
        "snapshot.certs[0].has_private_key",
        "snapshot.certs[1].der",
        "snapshot.certs[0].windows.eku_effective",
        "snapshot.ipsec",
        "snapshot.ipsec.prohibit_ipsec",
        "snapshot.ipsec.allow_l2tp_weak_crypto",
        "snapshot.ipsec.negotiate_dh2048_aes256",
        "snapshot.ipsec.rules_available",
        "snapshot.ipsec.rules",
        "snapshot.ipsec.rules[1].psk_redacted",
        "snapshot.ipsec.rules[0].labels_unrecognised",
        "snapshot.bindings",
        "snapshot.bindings.ssl_available",
        "snapshot.bindings.ssl",
        "snapshot.bindings.ssl[1].endpoint",
        "snapshot.bindings.ssl[0].kind",
        "snapshot.bindings.ssl[0].cert_hash",
        "snapshot.bindings.iphttps_cert_sha1",
        "snapshot.bindings.sstp_cert_sha1",
        "snapshot.bindings.sstp_cert_sha256",
        "snapshot.registry[3].key",
        "snapshot.registry[3].name",
        "snapshot.registry[3].type",
        "snapshot.registry[3].data",
        "snapshot.errors",
        "snapshot.errors[1].source",
        "snapshot.errors[1].code",
        "snapshot.errors[1].message",
        "findings",
        "findings[1].id",
        "findings[1].severity",
        "findings[1].message",
        "findings[1].certs",
        "findings[1].rules",
        "agent_spool.dropped",
        "agent_spool.quarantined",
    };
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        struct broken_case c = {required[i], NULL, PROTO_EMISSING, NULL};
        check_broken_cases(&c, 1);
    }
}

static void test_optional_members_may_be_left_out(void **state)
{
    (void)state;
    static const char *const optional[] = {
        "host.hostname",
        "host.os",
        "host.agent_version",
        "host.collected_at",
        "snapshot.certs[0].serial",
        "snapshot.certs[0].subject[3].same_rdn_as_prev",
        "snapshot.certs[0].windows.key_confirmed",
        "snapshot.certs[0].windows.chain_root",
        "snapshot.certs[0].windows.chain_error_status",
        "snapshot.certs[0].windows.template",
        "snapshot.certs[0].windows",
        "snapshot.ipsec.rules[0].name",
        "snapshot.ipsec.rules[0].extra",
        "snapshot.bindings.ssl[0].app_id",
        "snapshot.bindings.ssl[0].store_name",
        "snapshot.registry_available",
        "snapshot.registry",
        "agent_spool",
    };
    for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); i++) {
        struct proto_json_error err;
        if (decode_with(optional[i], NULL, &err) != PROTO_OK) {
            fail_msg("without %s: %s: %s", optional[i], err.field, err.message);
        }
    }
}

static void test_wrong_member_types_are_named_with_their_path(void **state)
{
    (void)state;
    static const struct broken_case cases[] = {
        {"schema", "1", PROTO_ETYPE, NULL},
        {"report_id", "null", PROTO_ETYPE, NULL},
        {"seq", "\"7\"", PROTO_ETYPE, NULL},
        {"seq", "1.5", PROTO_ETYPE, NULL},
        {"seq", "true", PROTO_ETYPE, NULL},
        {"host", "\"rras01\"", PROTO_ETYPE, NULL},
        {"host.fqdn", "true", PROTO_ETYPE, NULL},
        {"host.hostname", "null", PROTO_ETYPE, NULL},
        {"host.collected_at", "1717243200", PROTO_ETYPE, NULL},
        {"snapshot", "[]", PROTO_ETYPE, NULL},
        {"snapshot.certs_available", "1", PROTO_ETYPE, NULL},
        {"snapshot.certs", "{}", PROTO_ETYPE, NULL},
        {"snapshot.certs[1]", "\"cert\"", PROTO_ETYPE, NULL},
        {"snapshot.certs[1].store_index", "\"1\"", PROTO_ETYPE, NULL},
        {"snapshot.certs[1].parsed", "0", PROTO_ETYPE, NULL},
        {"snapshot.certs[1].sha1", "5", PROTO_ETYPE, NULL},
        {"snapshot.certs[0].serial", "42", PROTO_ETYPE, NULL},
        {"snapshot.certs[0].subject", "\"CN=x\"", PROTO_ETYPE, NULL},
        {"snapshot.certs[0].subject[2]", "[]", PROTO_ETYPE, NULL},
        {"snapshot.certs[0].subject[2].value", "7", PROTO_ETYPE, NULL},
        {"snapshot.certs[0].subject[3].same_rdn_as_prev", "\"yes\"", PROTO_ETYPE, NULL},
        {"snapshot.certs[0].san_dns[1]", "{}", PROTO_ETYPE, NULL},
        {"snapshot.certs[0].eku", "{}", PROTO_ETYPE, NULL},
        {"snapshot.certs[0].eku[0]", "1.3", PROTO_ETYPE, NULL},
        {"snapshot.certs[0].key_usage", "\"digitalSignature\"", PROTO_ETYPE, NULL},
        {"snapshot.certs[0].not_after", "null", PROTO_ETYPE, NULL},
        {"snapshot.certs[0].der", "[]", PROTO_ETYPE, NULL},
        {"snapshot.certs[0].windows", "true", PROTO_ETYPE, NULL},
        {"snapshot.certs[0].windows.eku_effective", "1", PROTO_ETYPE, NULL},
        {"snapshot.certs[0].windows.key_confirmed", "null", PROTO_ETYPE, NULL},
        {"snapshot.certs[0].windows.chain_root", "[]", PROTO_ETYPE, NULL},
        {"snapshot.certs[0].windows.chain_error_status", "\"0\"", PROTO_ETYPE, NULL},
        {"snapshot.certs[0].windows.template", "7", PROTO_ETYPE, NULL},
        {"snapshot.certs[0].windows.template_minor", "0.5", PROTO_ETYPE, NULL},
        {"snapshot.ipsec", "null", PROTO_ETYPE, NULL},
        {"snapshot.ipsec.prohibit_ipsec", "\"1\"", PROTO_ETYPE, NULL},
        {"snapshot.ipsec.rules[0]", "null", PROTO_ETYPE, NULL},
        {"snapshot.ipsec.rules[0].mode", "1", PROTO_ETYPE, NULL},
        {"snapshot.ipsec.rules[0].extra", "[]", PROTO_ETYPE, NULL},
        {"snapshot.ipsec.rules[0].extra.Other", "1", PROTO_ETYPE, NULL},
        {"snapshot.ipsec.rules[0].psk_redacted", "null", PROTO_ETYPE, NULL},
        {"snapshot.bindings.ssl", "{}", PROTO_ETYPE, NULL},
        {"snapshot.bindings.ssl[0].cert_hash", "null", PROTO_ETYPE, NULL},
        {"snapshot.bindings.ssl[1].app_id", "false", PROTO_ETYPE, NULL},
        {"snapshot.bindings.iphttps_cert_sha1", "0", PROTO_ETYPE, NULL},
        {"snapshot.registry", "{}", PROTO_ETYPE, NULL},
        {"snapshot.registry[2].data", "[\"a\",\"b\"]", PROTO_ETYPE, NULL},
        {"snapshot.registry_available", "\"true\"", PROTO_ETYPE, NULL},
        {"snapshot.errors[0].code", "3", PROTO_ETYPE, NULL},
        {"findings", "{}", PROTO_ETYPE, NULL},
        {"findings[0].severity", "3", PROTO_ETYPE, NULL},
        {"findings[0].certs[0]", "null", PROTO_ETYPE, NULL},
        {"findings[1].rules", "\"L2TP Manual Rule\"", PROTO_ETYPE, NULL},
        {"agent_spool", "null", PROTO_ETYPE, NULL},
        {"agent_spool", "[3, 0]", PROTO_ETYPE, NULL},
        {"agent_spool.dropped", "\"3\"", PROTO_ETYPE, NULL},
        {"agent_spool.quarantined", "0.5", PROTO_ETYPE, NULL},
    };
    check_broken_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_malformed_values_are_refused_with_their_path(void **state)
{
    (void)state;
    static const struct broken_case cases[] = {
        {"report_id", "\"0f8fad5b-d9cb-469f-a165-70867728950\"", PROTO_EPARSE, NULL},
        {"report_id", "\"0f8fad5bxd9cb-469f-a165-70867728950e\"", PROTO_EPARSE, NULL},
        {"report_id", "\"0f8fad5b-d9cb-469f-a165-70867728950g\"", PROTO_EPARSE, NULL},
        {"snapshot.certs[0].sha1", "\"A94A8FE5CCB19BA61C4C0873D391E987982FBBD\"", PROTO_EPARSE,
         NULL},
        {"snapshot.certs[0].sha1", "\"A94A8FE5CCB19BA61C4C0873D391E987982FBBD3A\"", PROTO_EPARSE,
         NULL},
        {"snapshot.certs[0].sha256", "\"" TEST_SHA1_A "\"", PROTO_EPARSE, NULL},
        {"snapshot.certs[0].sha256",
         "\"G F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A0\"", PROTO_EPARSE,
         NULL},
        {"snapshot.bindings.ssl[0].cert_hash", "\"ABC\"", PROTO_EPARSE, NULL},
        {"snapshot.bindings.iphttps_cert_sha1", "\"\"", PROTO_EPARSE, NULL},
        {"findings[0].certs[0]", "\"rras01\"", PROTO_EPARSE, NULL},
        {"findings[0].severity", "\"severe\"", PROTO_EPARSE, NULL},
        {"snapshot.certs[0].key_usage[1]", "\"keyencipherment\"", PROTO_EPARSE, NULL},
        {"snapshot.certs[0].key_usage[1]", "\"digitalSignature\"", PROTO_EPARSE, NULL},
        {"snapshot.certs[0].not_before", "\"2024-02-30T00:00:00Z\"", PROTO_EPARSE, NULL},
        {"snapshot.certs[0].not_before", "\"2024-01-01 00:00:00\"", PROTO_EPARSE, NULL},
        {"snapshot.certs[0].not_after", "\"9999-12-31T23:00:00-02:00\"", PROTO_EPARSE, NULL},
        {"host.collected_at", "\"yesterday\"", PROTO_EPARSE, NULL},
        {"snapshot.certs[0].der", "\"MIIB\\nAAAA\"", PROTO_EPARSE, NULL},
        {"snapshot.certs[0].der", "\"MIIBAA\"", PROTO_EPARSE, NULL},
        {"snapshot.certs[0].der", "\"MI=BAAAA\"", PROTO_EPARSE, NULL},
        {"snapshot.certs[0].der", "\"MIIB*AAA\"", PROTO_EPARSE, NULL},
        {"snapshot.certs[0].subject[0].same_rdn_as_prev", "true", PROTO_EPARSE, NULL},
        {"snapshot.certs[0].subject[1].type", "\"C N\"", PROTO_EPARSE, NULL},
        {"snapshot.certs[0].subject[1].type", "\"\"", PROTO_EPARSE, NULL},
        {"snapshot.certs[0].subject[1].value", "\"\\u00ff\"", PROTO_OK, ""},
        {"snapshot.certs[0].subject[1].value", "\"\xff\"", PROTO_EENCODING, NULL},
        {"snapshot.ipsec.rules[0].auth1_psk", "\"s3cret\"", PROTO_EPARSE, NULL},
    };
    check_broken_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_numbers_outside_their_range_are_refused(void **state)
{
    (void)state;
    static const struct broken_case cases[] = {
        {"seq", "-1", PROTO_ELIMIT, NULL},
        {"seq", "9007199254740994", PROTO_ELIMIT, NULL},
        {"seq", "1e300", PROTO_ELIMIT, NULL},
        {"seq", "9007199254740992", PROTO_OK, ""},
        {"seq", "0", PROTO_OK, ""},
        {"snapshot.ipsec.prohibit_ipsec", "4294967296", PROTO_ELIMIT, NULL},
        {"snapshot.ipsec.prohibit_ipsec", "4294967295", PROTO_OK, ""},
        {"snapshot.ipsec.prohibit_ipsec", "-1", PROTO_ELIMIT, NULL},
        {"snapshot.certs[0].store_index", "4294967296", PROTO_ELIMIT, NULL},
        {"snapshot.certs[0].windows.chain_error_status", "4294967296", PROTO_ELIMIT, NULL},
        {"snapshot.certs[0].windows.template_major", "-1", PROTO_ELIMIT, NULL},
        {"agent_spool.dropped", "-1", PROTO_ELIMIT, NULL},
        {"agent_spool.dropped", "9007199254740994", PROTO_ELIMIT, NULL},
        {"agent_spool.dropped", "9007199254740992", PROTO_OK, ""},
        {"agent_spool.quarantined", "-3", PROTO_ELIMIT, NULL},
    };
    check_broken_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_a_template_version_half_is_refused_and_windows_facts_are_optional(void **state)
{
    (void)state;
    static const struct broken_case cases[] = {
        {"snapshot.certs[0].windows.template_major", NULL, PROTO_EMISSING,
         "snapshot.certs[0].windows.template_major"},
        {"snapshot.certs[0].windows.template_minor", NULL, PROTO_EMISSING,
         "snapshot.certs[0].windows.template_minor"},
        {"snapshot.certs[0].windows", "{\"eku_effective\": false}", PROTO_OK, ""},
        {"snapshot.certs[0].windows.chain_root", "\"\"", PROTO_OK, ""},
    };
    check_broken_cases(cases, sizeof(cases) / sizeof(cases[0]));

    /* Absent members decode as unknown; a certificate without "windows" has none. */
    cJSON *root = full_tree();
    tree_set(root, "snapshot.certs[0].windows", "{\"eku_effective\": false}");
    char *text = cJSON_PrintUnformatted(root);
    assert_non_null(text);
    struct proto_report *report = NULL;
    struct proto_json_error err;
    assert_int_equal(proto_json_decode_report(text, strlen(text), &report, &err), PROTO_OK);
    const struct proto_cert *c = &report->snapshot->certs[0];
    assert_true(c->win.present);
    assert_false(c->win.eku_effective);
    assert_int_equal(c->win.key_confirmed, PROTO_TRI_UNKNOWN);
    assert_null(c->win.chain_root);
    assert_false(c->win.has_chain_status);
    assert_null(c->win.template_name);
    assert_false(c->win.has_template_version);
    assert_false(report->snapshot->certs[1].win.present);
    proto_report_destroy(report);
    cJSON_free(text);
    cJSON_Delete(root);
}

static void test_unknown_schema_is_unsupported(void **state)
{
    (void)state;
    static const struct broken_case cases[] = {
        {"schema", "\"rrasfleet.report/2\"", PROTO_EUNSUPPORTED, NULL},
        {"schema", "\"\"", PROTO_EUNSUPPORTED, NULL},
    };
    check_broken_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_unknown_members_are_ignored(void **state)
{
    (void)state;
    static const char *const places[] = {
        "future",
        "host.future",
        "snapshot.future",
        "snapshot.certs[0].future",
        "snapshot.certs[0].subject[0].future",
        "snapshot.ipsec.future",
        "snapshot.ipsec.rules[0].future",
        "snapshot.bindings.ssl[0].future",
        "snapshot.registry[0].future",
        "snapshot.errors[0].future",
        "findings[0].future",
        "agent_spool.future",
    };
    struct proto_report *expected = full_report();
    cJSON *root = full_tree();
    for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
        tree_set(root, places[i], "{\"nested\":[1,2,{\"x\":null}],\"s\":\"t\"}");
    }
    char *text = cJSON_PrintUnformatted(root);
    assert_non_null(text);
    struct proto_report *report = NULL;
    struct proto_json_error err;
    assert_int_equal(proto_json_decode_report(text, strlen(text), &report, &err), PROTO_OK);
    assert_report_equal(expected, report);
    proto_report_destroy(report);
    cJSON_free(text);
    cJSON_Delete(root);
    proto_report_destroy(expected);
}

static void test_hashes_are_upper_cased_and_report_id_lower_cased(void **state)
{
    (void)state;
    cJSON *root = full_tree();
    tree_set(root, "report_id", "\"0F8FAD5B-D9CB-469F-A165-70867728950E\"");
    tree_set(root, "snapshot.certs[0].sha1", "\"a94a8fe5ccb19ba61c4c0873d391e987982fbbd3\"");
    tree_set(root, "snapshot.bindings.ssl[0].cert_hash",
             "\"a94a8fe5ccb19ba61c4c0873d391e987982fbbd3\"");
    tree_set(root, "findings[0].certs[0]", "\"a94a8fe5ccb19ba61c4c0873d391e987982fbbd3\"");
    char *text = cJSON_PrintUnformatted(root);
    struct proto_report *report = NULL;
    assert_int_equal(proto_json_decode_report(text, strlen(text), &report, NULL), PROTO_OK);
    assert_string_equal(report->report_id, TEST_UUID);
    assert_string_equal(report->snapshot->certs[0].sha1, TEST_SHA1_A);
    assert_string_equal(report->snapshot->ssl_bindings[0].cert_hash, TEST_SHA1_A);
    assert_string_equal(report->findings[0].certs.items[0], TEST_SHA1_A);
    proto_report_destroy(report);
    cJSON_free(text);
    cJSON_Delete(root);
}

static void test_times_with_offsets_and_fractions_decode_to_utc(void **state)
{
    (void)state;
    cJSON *root = full_tree();
    tree_set(root, "host.collected_at", "\"2024-06-01T14:30:00.123+02:30\"");
    tree_set(root, "snapshot.certs[0].not_after", "\"0000-01-01T00:00:00Z\"");
    char *text = cJSON_PrintUnformatted(root);
    struct proto_report *report = NULL;
    assert_int_equal(proto_json_decode_report(text, strlen(text), &report, NULL), PROTO_OK);
    assert_int_equal(report->snapshot->host.collected_at, 1717243200);
    assert_int_equal(report->snapshot->certs[0].not_after, -62167219200LL);
    proto_report_destroy(report);
    cJSON_free(text);
    cJSON_Delete(root);
}

static void test_registry_numbers_bytes_and_items_are_rederived_from_the_text(void **state)
{
    (void)state;
    cJSON *root = full_tree();
    tree_set(
        root, "snapshot.registry[0]",
        "{\"key\":\"K\",\"name\":\"D\",\"type\":\"REG_DWORD\",\"data\":\"0x00000000ffffffff\"}");
    tree_set(root, "snapshot.registry[1]",
             "{\"key\":\"K\",\"name\":\"D\",\"type\":\"REG_DWORD\",\"data\":\"0x100000000\"}");
    tree_set(root, "snapshot.registry[2]",
             "{\"key\":\"K\",\"name\":\"M\",\"type\":\"REG_MULTI_SZ\",\"data\":\"\"}");
    tree_set(root, "snapshot.registry[5]",
             "{\"key\":\"K\",\"name\":\"B\",\"type\":\"REG_BINARY\",\"data\":\"ABC\"}");
    tree_set(root, "snapshot.registry[6]",
             "{\"key\":\"K\",\"name\":\"L\",\"type\":\"REG_LINK\",\"data\":\"x\"}");
    char *text = cJSON_PrintUnformatted(root);
    struct proto_report *report = NULL;
    assert_int_equal(proto_json_decode_report(text, strlen(text), &report, NULL), PROTO_OK);
    const struct proto_reg_value *reg = report->snapshot->registry;
    assert_int_equal(reg[0].number, 0xffffffffu);
    /* Data reg.exe could not have printed keeps its text and derives nothing. */
    assert_int_equal(reg[1].number, 0);
    assert_string_equal(reg[1].data, "0x100000000");
    assert_int_equal(reg[2].multi.count, 0);
    assert_int_equal(reg[3].number, 1);
    assert_int_equal(reg[4].number, 0x100000000ull);
    assert_null(reg[5].bytes);
    assert_int_equal(reg[6].type, PROTO_REG_OTHER);
    proto_report_destroy(report);
    cJSON_free(text);
    cJSON_Delete(root);
}

static void test_error_codes_map_back_and_unknown_text_is_unsupported(void **state)
{
    (void)state;
    cJSON *root = full_tree();
    tree_set(root, "snapshot.errors[0].code", "\"not found\"");
    tree_set(root, "snapshot.errors[1].code", "\"a code from the future\"");
    char *text = cJSON_PrintUnformatted(root);
    struct proto_report *report = NULL;
    assert_int_equal(proto_json_decode_report(text, strlen(text), &report, NULL), PROTO_OK);
    assert_int_equal(report->snapshot->errors[0].code, PROTO_ENOTFOUND);
    assert_int_equal(report->snapshot->errors[1].code, PROTO_EUNSUPPORTED);
    proto_report_destroy(report);
    cJSON_free(text);
    cJSON_Delete(root);
}

/* ---- tests: caps --------------------------------------------------------------------------- */

static void test_oversize_document_is_refused_before_parsing(void **state)
{
    (void)state;
    size_t len = PROTO_MAX_REPORT_BYTES + 1u;
    char *text = malloc(len);
    assert_non_null(text);
    memset(text, ' ', len);
    text[0] = '{';
    text[len - 1] = '}';
    struct proto_report *report = NULL;
    struct proto_json_error err;
    proto_alloc_fail_after(0);
    assert_int_equal(proto_json_decode_report(text, len, &report, &err), PROTO_ELIMIT);
    /* Refused before cJSON or anything else allocated. */
    assert_int_equal(proto_alloc_fail_after(0), 0);
    assert_null(report);
    assert_string_equal(err.field, "");
    free(text);
}

static void test_nesting_deeper_than_the_limit_is_refused(void **state)
{
    (void)state;
    /* The root object is level 1, so an unknown member may hold MAX - 1 levels. */
    for (unsigned levels = PROTO_MAX_JSON_DEPTH - 1u; levels <= PROTO_MAX_JSON_DEPTH; levels++) {
        char nested[64];
        assert_true(2u * levels < sizeof(nested));
        memset(nested, '[', levels);
        memset(nested + levels, ']', levels);
        nested[2u * levels] = '\0';
        /* The error names the member where the limit was crossed: future[0]...[0]. */
        char where[128] = "future";
        for (unsigned k = 1; k < levels; k++) {
            memcpy(where + 3 + 3 * k, "[0]", 4);
        }
        struct broken_case c = {"future", nested,
                                levels < PROTO_MAX_JSON_DEPTH ? PROTO_OK : PROTO_ELIMIT,
                                levels < PROTO_MAX_JSON_DEPTH ? "" : where};
        check_broken_cases(&c, 1);
    }
    /* Brackets inside strings do not count. */
    struct broken_case in_string = {"host.os", "\"[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{\\\"[[[[\"",
                                    PROTO_OK, ""};
    check_broken_cases(&in_string, 1);
    /* Far past cJSON's own limit: still the depth error, not a parse error. */
    size_t n = 5000;
    char *text = malloc(2 * n + 1);
    assert_non_null(text);
    memset(text, '[', n);
    memset(text + n, ']', n);
    struct proto_report *report = NULL;
    assert_int_equal(proto_json_decode_report(text, 2 * n, &report, NULL), PROTO_ELIMIT);
    free(text);
}

static void test_arrays_longer_than_their_cap_are_refused(void **state)
{
    (void)state;
    struct array_cap {
        const char *path;
        size_t cap;
        const char *element; /* any valid element, or junk: the cap is checked first */
    };
    static const struct array_cap caps[] = {
        {"snapshot.certs", PROTO_MAX_CERTS, "0"},
        {"snapshot.certs[0].subject", PROTO_MAX_DN_ATTRS, "0"},
        {"snapshot.certs[0].issuer", PROTO_MAX_DN_ATTRS, "0"},
        {"snapshot.certs[0].san_dns", PROTO_MAX_SAN_NAMES, "0"},
        {"snapshot.certs[0].eku", PROTO_MAX_EKUS, "0"},
        {"snapshot.certs[0].key_usage", 9, "0"},
        {"snapshot.ipsec.rules", PROTO_MAX_RULES, "0"},
        {"snapshot.bindings.ssl", PROTO_MAX_SSL_BINDINGS, "0"},
        {"snapshot.registry", PROTO_MAX_REG_VALUES, "0"},
        {"snapshot.errors", PROTO_MAX_ERRORS, "0"},
        {"findings", PROTO_MAX_FINDINGS, "0"},
        {"findings[0].certs", PROTO_MAX_CERTS, "0"},
        {"findings[0].rules", PROTO_MAX_RULES, "0"},
    };
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        char *over = repeat_array(caps[i].element, caps[i].cap + 1);
        struct broken_case c = {caps[i].path, over, PROTO_ELIMIT, NULL};
        check_broken_cases(&c, 1);
        free(over);
    }
}

static void test_arrays_at_their_cap_are_accepted(void **state)
{
    (void)state;
    char *san = repeat_array("\"x.contoso.com\"", PROTO_MAX_SAN_NAMES);
    char *certs = repeat_array("\"" TEST_SHA1_A "\"", PROTO_MAX_CERTS);
    char *errors =
        repeat_array("{\"source\":\"s\",\"code\":\"missing\",\"message\":\"m\"}", PROTO_MAX_ERRORS);
    struct broken_case cases[] = {
        {"snapshot.certs[0].san_dns", san, PROTO_OK, ""},
        {"findings[0].certs", certs, PROTO_OK, ""},
        {"snapshot.errors", errors, PROTO_OK, ""},
    };
    check_broken_cases(cases, sizeof(cases) / sizeof(cases[0]));
    free(san);
    free(certs);
    free(errors);
}

static void test_too_many_extra_labels_are_refused(void **state)
{
    (void)state;
    char extra[PROTO_MAX_RULE_EXTRA * 16 + 16];
    size_t pos = 0;
    extra[pos++] = '{';
    for (unsigned i = 0; i <= PROTO_MAX_RULE_EXTRA; i++) {
        int n = snprintf(extra + pos, sizeof(extra) - pos, "%s\"k%u\":\"v\"", i ? "," : "", i);
        assert_true(n > 0 && (size_t)n < sizeof(extra) - pos);
        pos += (size_t)n;
    }
    extra[pos++] = '}';
    extra[pos] = '\0';
    char field[64];
    snprintf(field, sizeof(field), "snapshot.ipsec.rules[0].extra.k%u", PROTO_MAX_RULE_EXTRA);
    struct broken_case c = {"snapshot.ipsec.rules[0].extra", extra, PROTO_ELIMIT, field};
    check_broken_cases(&c, 1);
}

static void test_strings_longer_than_their_cap_are_refused(void **state)
{
    (void)state;
    struct string_cap {
        const char *path;
        size_t cap;
    };
    static const struct string_cap caps[] = {
        {"host.fqdn", PROTO_MAX_NAME},
        {"host.os", PROTO_MAX_STRING},
        {"snapshot.certs[0].subject[0].value", PROTO_MAX_NAME},
        {"snapshot.certs[0].san_dns[0]", PROTO_MAX_NAME},
        {"snapshot.ipsec.rules[0].name", PROTO_MAX_NAME},
        {"snapshot.ipsec.rules[0].auth1_ca_name", PROTO_MAX_STRING},
        {"snapshot.ipsec.rules[0].extra.Other", PROTO_MAX_STRING},
        {"snapshot.registry[0].data", PROTO_MAX_REG_DATA},
        {"snapshot.errors[0].message", PROTO_MAX_STRING},
        {"findings[0].message", PROTO_MAX_STRING},
        {"findings[1].rules[0]", PROTO_MAX_NAME},
    };
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        char *at_cap = long_string('a', caps[i].cap);
        char *over = long_string('a', caps[i].cap + 1);
        struct broken_case cases[] = {
            {caps[i].path, at_cap, PROTO_OK, ""},
            {caps[i].path, over, PROTO_ELIMIT, NULL},
        };
        check_broken_cases(cases, 2);
        free(at_cap);
        free(over);
    }
}

static void test_der_larger_than_a_certificate_may_be_is_refused(void **state)
{
    (void)state;
    /* 87384 base64 characters without padding decode to 65538 bytes: within the text cap,
     * over the DER cap. */
    size_t chars = 4u * ((PROTO_MAX_CERT_DER_BYTES + 2u) / 3u);
    char *over = long_string('A', chars);
    char *text_over = long_string('A', chars + 4u);
    struct broken_case cases[] = {
        {"snapshot.certs[0].der", over, PROTO_ELIMIT, NULL},
        {"snapshot.certs[0].der", text_over, PROTO_ELIMIT, NULL},
        {"snapshot.certs[0].der", "\"\"", PROTO_OK, ""},
    };
    check_broken_cases(cases, sizeof(cases) / sizeof(cases[0]));
    free(over);
    free(text_over);
}

static void test_text_that_is_not_one_json_object_is_refused(void **state)
{
    (void)state;
    static const char *const texts[] = {"",    "   ",   "{",   "{\"a\":}",
                                        "nul", "{} {}", "{}x", "\xef\xbb"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct proto_report *report = NULL;
        struct proto_json_error err;
        assert_int_equal(proto_json_decode_report(texts[i], strlen(texts[i]), &report, &err),
                         PROTO_EPARSE);
        assert_null(report);
    }
    /* An embedded NUL would let two readers see two documents. */
    char with_nul[sizeof(minimal_doc) + 8];
    memcpy(with_nul, minimal_doc, sizeof(minimal_doc));
    with_nul[sizeof(minimal_doc) - 1] = '\0';
    memcpy(with_nul + sizeof(minimal_doc), "  ", 2);
    struct proto_report *report = NULL;
    assert_int_equal(proto_json_decode_report(with_nul, sizeof(minimal_doc) + 1, &report, NULL),
                     PROTO_EPARSE);
    /* Only the given length is read: no NUL terminator is needed, trailing space is fine. */
    char *copy = malloc(sizeof(minimal_doc) + 2);
    assert_non_null(copy);
    memcpy(copy, minimal_doc, sizeof(minimal_doc) - 1);
    memcpy(copy + sizeof(minimal_doc) - 1, " \n\xff", 3);
    assert_int_equal(proto_json_decode_report(copy, sizeof(minimal_doc) + 1, &report, NULL),
                     PROTO_OK);
    proto_report_destroy(report);
    free(copy);
    assert_int_equal(proto_json_decode_report(minimal_doc, 10, NULL, NULL), PROTO_EINVAL);
    /* The document itself must be an object. */
    struct proto_json_error err;
    assert_int_equal(proto_json_decode_report("[]", 2, &report, &err), PROTO_ETYPE);
    assert_string_equal(err.field, "");
    assert_int_equal(proto_json_decode_report("\"x\"", 3, &report, &err), PROTO_ETYPE);
}

/* ---- tests: RFC 8259 and one reading for every reader ------------------------------------- */

/* minimal_doc with "os":<value> added to the host, or with `before` in front of the document. */
static enum proto_rc decode_host_os(const char *before, const char *value,
                                    struct proto_json_error *err)
{
    static const char head[] =
        "{\"schema\":\"rrasfleet.report/1\",\"report_id\":\"" TEST_UUID "\",\"seq\":0,"
        "\"host\":{\"fqdn\":\"h\",\"os\":";
    const char *rest = strstr(minimal_doc, "},\"snapshot\"");
    assert_non_null(rest);
    size_t len = strlen(before) + strlen(head) + strlen(value) + strlen(rest);
    char *text = malloc(len + 1);
    assert_non_null(text);
    int n = snprintf(text, len + 1, "%s%s%s%s", before, head, value, rest);
    assert_int_equal((size_t)n, len);
    struct proto_report *report = NULL;
    enum proto_rc rc = proto_json_decode_report(text, len, &report, err);
    proto_report_destroy(report);
    free(text);
    return rc;
}

/* The 14 documents a JSONTestSuite-style run found acknowledged: cJSON reads them, RFC 8259
 * does not allow them. Each is refused with the member it sits in. */
static void test_documents_that_break_rfc_8259_are_refused_naming_the_member(void **state)
{
    (void)state;
    static const struct {
        const char *before; /* text in front of the document */
        const char *value;  /* the value of host.os */
        const char *field;
    } cases[] = {
        {"", "01", "host.os"},             /* leading zero */
        {"", "-01", "host.os"},            /* leading zero, negative */
        {"", "2.", "host.os"},             /* no digit after the point */
        {"", "-2.", "host.os"},            /* the same, negative */
        {"", ".5", "host.os"},             /* no digit before the point */
        {"", "-.5", "host.os"},            /* the same, negative */
        {"", "\"two\nlines\"", "host.os"}, /* unescaped newline in a string */
        {"", "\"a\tb\"", "host.os"},       /* unescaped tab in a string */
        {"", "\"a\x01z\"", "host.os"},     /* unescaped control character */
        {"", "\"\\u00G1\"", "host.os"},    /* \u escape without four hex digits */
        {"", "\"\\uD800\"", "host.os"},    /* lone high surrogate */
        {"", "\"\\uDC00x\"", "host.os"},   /* lone low surrogate */
        {"\f", "\"x\"", ""},               /* form feed as whitespace before the document */
        {"", "\f\"x\"", "host.os"},        /* form feed as whitespace between tokens */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct proto_json_error err;
        enum proto_rc rc = decode_host_os(cases[i].before, cases[i].value, &err);
        if (rc != PROTO_EPARSE || strcmp(err.field, cases[i].field) != 0) {
            fail_msg("case %zu: got rc %d (%s) field \"%s\" message \"%s\"; want EPARSE \"%s\"", i,
                     (int)rc, proto_rc_str(rc), err.field, err.message, cases[i].field);
        }
        assert_non_null(strstr(err.message, "offset"));
    }
    /* Their valid neighbours still decode. */
    struct proto_json_error err;
    assert_int_equal(decode_host_os(" \t\r\n", "\"a\\tb\\n\\u00e9\\uD83D\\uDE00\"", &err),
                     PROTO_OK);
}

/* cJSON's lookup takes the first of two equal names, other readers the last: the identity check
 * and the stored envelope could then disagree about the host. */
static void test_a_member_given_twice_is_refused_naming_it(void **state)
{
    (void)state;
    struct proto_json_error err;
    assert_int_equal(decode_host_os("", "\"x\",\"fqdn\":\"other\"", &err), PROTO_EPARSE);
    assert_string_equal(err.field, "host.fqdn");
    assert_non_null(strstr(err.message, "more than once"));

    /* At the top, and by every decoder that reads the envelope. */
    size_t len = strlen(minimal_doc) - 1;
    char *text = malloc(len + 64);
    assert_non_null(text);
    memcpy(text, minimal_doc, len);
    memcpy(text + len, ",\"host\":{\"fqdn\":\"evil\"}}", 25);
    len += 24;
    struct proto_report *report = NULL;
    assert_int_equal(proto_json_decode_report(text, len, &report, &err), PROTO_EPARSE);
    assert_string_equal(err.field, "host");
    assert_int_equal(proto_json_decode_envelope(text, len, &report, &err), PROTO_EPARSE);
    assert_string_equal(err.field, "host");
    assert_null(report);
    free(text);

    /* Unknown members too, and inside arrays: nobody may read two values for one name. */
    assert_int_equal(decode_host_os("", "{\"a\":[{\"b\":1,\"b\":2}]}", &err), PROTO_EPARSE);
    assert_string_equal(err.field, "host.os.a[0].b");
    /* A name written with an escape is the same name. */
    assert_int_equal(decode_host_os("", "\"x\",\"fq\\u0064n\":\"other\"", &err), PROTO_EPARSE);
    assert_string_equal(err.field, "host.fqdn");

    struct proto_snapshot *snap = NULL;
    static const char snap_doc[] = "{\"certs_available\":false,\"certs_available\":true}";
    assert_int_equal(proto_json_decode_snapshot(snap_doc, strlen(snap_doc), &snap, &err),
                     PROTO_EPARSE);
    assert_string_equal(err.field, "certs_available");
}

/* \u0000 would end the C string cJSON makes, so two readers would see two texts. */
static void test_an_escaped_nul_in_a_string_is_refused_naming_the_member(void **state)
{
    (void)state;
    struct proto_json_error err;
    assert_int_equal(decode_host_os("", "\"a\\u0000b\"", &err), PROTO_EPARSE);
    assert_string_equal(err.field, "host.os");
    assert_int_equal(decode_host_os("", "{\"k\\u0000\":1}", &err), PROTO_EPARSE);
    assert_string_equal(err.field, "host.os");
}

static void test_invalid_utf8_is_refused_naming_the_member(void **state)
{
    (void)state;
    static const char *const values[] = {
        "\"\xff\"",             /* never in UTF-8 */
        "\"\xc0\xaf\"",         /* overlong '/' */
        "\"\xed\xa0\x80\"",     /* a surrogate encoded as UTF-8 */
        "\"\xe2\x82\"",         /* truncated */
        "\"\xf4\x90\x80\x80\"", /* past U+10FFFF */
        "\"\x80\"",             /* a lone continuation byte */
    };
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        struct proto_json_error err;
        enum proto_rc rc = decode_host_os("", values[i], &err);
        if (rc != PROTO_EENCODING || strcmp(err.field, "host.os") != 0) {
            fail_msg("case %zu: got rc %d (%s) field \"%s\" message \"%s\"", i, (int)rc,
                     proto_rc_str(rc), err.field, err.message);
        }
    }
    struct proto_json_error err;
    assert_int_equal(decode_host_os("", "\"Z\xc3\xbcrich \xe2\x82\xac \xf0\x9f\x98\x80\"", &err),
                     PROTO_OK);
}

/* ---- tests: out of memory ------------------------------------------------------------------ */

static void test_every_allocation_failure_is_reported_without_leaks(void **state)
{
    (void)state;
    struct proto_report *report = full_report();
    size_t len = 0;
    char *text = encode(report, 0, &len);
    unsigned long n;

    for (n = 1; n < 100000; n++) {
        struct proto_report *back = NULL;
        struct proto_json_error err;
        proto_alloc_fail_after(n);
        enum proto_rc rc = proto_json_decode_report(text, len, &back, &err);
        proto_alloc_fail_after(0);
        if (rc == PROTO_OK) {
            assert_report_equal(report, back);
            proto_report_destroy(back);
            break;
        }
        assert_int_equal(rc, PROTO_ENOMEM);
        assert_null(back);
        assert_string_equal(err.message, "out of memory");
    }
    assert_true(n > 1 && n < 100000);

    for (n = 1; n < 100000; n++) {
        char *out = NULL;
        size_t out_len = 0;
        proto_alloc_fail_after(n);
        enum proto_rc rc = proto_json_encode_report(report, (int)(n % 2), &out, &out_len);
        proto_alloc_fail_after(0);
        if (rc == PROTO_OK) {
            if (n % 2 == 0) {
                assert_string_equal(out, text);
            }
            proto_free(out);
            break;
        }
        assert_int_equal(rc, PROTO_ENOMEM);
        assert_null(out);
    }
    assert_true(n > 1 && n < 100000);

    for (n = 1; n < 100000; n++) {
        proto_alloc_fail_after(n);
        cJSON *snap = proto_json_from_snapshot(report->snapshot);
        proto_alloc_fail_after(0);
        if (snap != NULL) {
            cJSON_Delete(snap);
            break;
        }
    }
    assert_true(n > 1 && n < 100000);
    proto_free(text);
    proto_report_destroy(report);
}

/* ---- tests: uuid --------------------------------------------------------------------------- */

static void test_uuid_v4_is_random_with_version_and_variant(void **state)
{
    (void)state;
    char a[37], b[37];
    assert_int_equal(proto_uuid_v4(a), PROTO_OK);
    assert_int_equal(proto_uuid_v4(b), PROTO_OK);
    assert_int_equal(strlen(a), 36);
    assert_string_not_equal(a, b);
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            assert_int_equal(a[i], '-');
        } else {
            assert_non_null(strchr("0123456789abcdef", a[i]));
        }
    }
    assert_int_equal(a[14], '4');
    assert_non_null(strchr("89ab", a[19]));

    /* A fresh id is what the encoder expects. */
    struct proto_report *report = full_report();
    memcpy(report->report_id, a, sizeof(a));
    char *text = encode(report, 0, NULL);
    proto_free(text);
    proto_report_destroy(report);
}

/* ---- tests: the schema file ---------------------------------------------------------------- */

static cJSON *load_schema(void)
{
    char *text = testutil_read(RRAS_SOURCE_DIR "/schema/json/report.schema.json", NULL);
    cJSON *schema = cJSON_Parse(text);
    free(text);
    assert_non_null(schema);
    return schema;
}

/* Number at a '/'-separated path of object keys in the schema. */
static double schema_number(cJSON *schema, const char *path)
{
    cJSON *node = schema;
    const char *p = path;
    while (node != NULL && *p != '\0') {
        size_t n = strcspn(p, "/");
        char key[64];
        assert_true(n < sizeof(key));
        memcpy(key, p, n);
        key[n] = '\0';
        node = cJSON_GetObjectItemCaseSensitive(node, key);
        p += n + (p[n] == '/' ? 1 : 0);
    }
    if (!cJSON_IsNumber(node)) {
        fail_msg("schema has no number at %s", path);
    }
    return cJSON_GetNumberValue(node);
}

static void test_schema_repeats_the_caps_of_limits_h(void **state)
{
    (void)state;
    struct schema_cap {
        const char *path;
        double value;
    };
    const struct schema_cap caps[] = {
        {"$defs/name/maxLength", PROTO_MAX_NAME},
        {"$defs/text/maxLength", PROTO_MAX_STRING},
        {"$defs/reg_value/properties/data/maxLength", PROTO_MAX_REG_DATA},
        {"$defs/cert/properties/der/maxLength", 4.0 * ((PROTO_MAX_CERT_DER_BYTES + 2u) / 3u)},
        {"$defs/cert/properties/san_dns/maxItems", PROTO_MAX_SAN_NAMES},
        {"$defs/cert/properties/eku/maxItems", PROTO_MAX_EKUS},
        {"$defs/dn/maxItems", PROTO_MAX_DN_ATTRS},
        {"$defs/rule/properties/extra/maxProperties", PROTO_MAX_RULE_EXTRA},
        {"$defs/rule/properties/extra/propertyNames/maxLength", PROTO_MAX_NAME},
        {"$defs/finding/properties/certs/maxItems", PROTO_MAX_CERTS},
        {"$defs/finding/properties/rules/maxItems", PROTO_MAX_RULES},
        {"properties/snapshot/properties/certs/maxItems", PROTO_MAX_CERTS},
        {"properties/snapshot/properties/ipsec/properties/rules/maxItems", PROTO_MAX_RULES},
        {"properties/snapshot/properties/bindings/properties/ssl/maxItems", PROTO_MAX_SSL_BINDINGS},
        {"properties/snapshot/properties/registry/maxItems", PROTO_MAX_REG_VALUES},
        {"properties/snapshot/properties/errors/maxItems", PROTO_MAX_ERRORS},
        {"properties/findings/maxItems", PROTO_MAX_FINDINGS},
        {"properties/seq/maximum", 9007199254740992.0},
        {"properties/agent_spool/properties/dropped/maximum", 9007199254740992.0},
        {"properties/agent_spool/properties/quarantined/maximum", 9007199254740992.0},
    };
    cJSON *schema = load_schema();
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        double got = schema_number(schema, caps[i].path);
        if (got < caps[i].value || got > caps[i].value) {
            fail_msg("%s is %.0f in the schema, %.0f in caps.h", caps[i].path, got, caps[i].value);
        }
    }
    cJSON_Delete(schema);
}

static void test_schema_names_every_rule_field(void **state)
{
    (void)state;
    cJSON *schema = load_schema();
    cJSON *rule_props = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(schema, "$defs"), "rule"),
        "properties");
    for (int i = 0; i < PROTO_RULE_FIELD_COUNT; i++) {
        if (cJSON_GetObjectItemCaseSensitive(rule_props, proto_rule_fields[i].json_key) == NULL) {
            fail_msg("schema $defs/rule lacks %s", proto_rule_fields[i].json_key);
        }
    }
    cJSON_Delete(schema);
}

/* Every document the schema calls invalid, the decoder refuses too. */
static void test_schema_counterexamples_are_refused_by_the_decoder(void **state)
{
    (void)state;
    const char *dir_path = RRAS_SOURCE_DIR "/tests/schema/invalid";
    DIR *dir = opendir(dir_path);
    assert_non_null(dir);
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        size_t n = strlen(entry->d_name);
        if (n < 6 || strcmp(entry->d_name + n - 5, ".json") != 0) {
            continue;
        }
        char path[4096];
        int w = snprintf(path, sizeof(path), "%s/%s", dir_path, entry->d_name);
        assert_true(w > 0 && (size_t)w < sizeof(path));
        size_t len = 0;
        char *text = testutil_read(path, &len);
        struct proto_report *report = NULL;
        struct proto_json_error err;
        enum proto_rc rc = proto_json_decode_report(text, len, &report, &err);
        if (rc == PROTO_OK) {
            fail_msg("%s decodes, but the schema refuses it", entry->d_name);
        }
        free(text);
        count++;
    }
    closedir(dir);
    assert_true(count >= 5);
}

int main(void)
{
    const struct CMUnitTest write_only[] = {
        cmocka_unit_test(test_encoded_report_is_written_for_the_schema_check),
    };
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_report_round_trips_field_for_field),
        cmocka_unit_test(test_envelope_decode_takes_everything_but_the_snapshot_content),
        cmocka_unit_test(test_snapshot_decode_reads_the_stored_snapshot_member_alone),
        cmocka_unit_test(test_reencoding_a_decoded_report_is_byte_identical),
        cmocka_unit_test(test_encoding_writes_nulls_for_absent_eku_key_usage_and_dwords),
        cmocka_unit_test(test_spool_loss_counts_are_always_written_even_when_zero),
        cmocka_unit_test(test_building_blocks_produce_the_members_of_the_report),
        cmocka_unit_test(test_host_without_optional_members_omits_them),
        cmocka_unit_test(test_encoder_refuses_a_report_the_decoder_would_refuse),
        cmocka_unit_test(test_encoded_report_is_written_for_the_schema_check),
        cmocka_unit_test(test_minimal_document_decodes_to_an_empty_snapshot),
        cmocka_unit_test(test_each_missing_required_member_is_named),
        cmocka_unit_test(test_optional_members_may_be_left_out),
        cmocka_unit_test(test_wrong_member_types_are_named_with_their_path),
        cmocka_unit_test(test_malformed_values_are_refused_with_their_path),
        cmocka_unit_test(test_numbers_outside_their_range_are_refused),
        cmocka_unit_test(test_a_template_version_half_is_refused_and_windows_facts_are_optional),
        cmocka_unit_test(test_unknown_schema_is_unsupported),
        cmocka_unit_test(test_unknown_members_are_ignored),
        cmocka_unit_test(test_hashes_are_upper_cased_and_report_id_lower_cased),
        cmocka_unit_test(test_times_with_offsets_and_fractions_decode_to_utc),
        cmocka_unit_test(test_registry_numbers_bytes_and_items_are_rederived_from_the_text),
        cmocka_unit_test(test_error_codes_map_back_and_unknown_text_is_unsupported),
        cmocka_unit_test(test_oversize_document_is_refused_before_parsing),
        cmocka_unit_test(test_nesting_deeper_than_the_limit_is_refused),
        cmocka_unit_test(test_arrays_longer_than_their_cap_are_refused),
        cmocka_unit_test(test_arrays_at_their_cap_are_accepted),
        cmocka_unit_test(test_too_many_extra_labels_are_refused),
        cmocka_unit_test(test_strings_longer_than_their_cap_are_refused),
        cmocka_unit_test(test_der_larger_than_a_certificate_may_be_is_refused),
        cmocka_unit_test(test_text_that_is_not_one_json_object_is_refused),
        cmocka_unit_test(test_documents_that_break_rfc_8259_are_refused_naming_the_member),
        cmocka_unit_test(test_a_member_given_twice_is_refused_naming_it),
        cmocka_unit_test(test_an_escaped_nul_in_a_string_is_refused_naming_the_member),
        cmocka_unit_test(test_invalid_utf8_is_refused_naming_the_member),
        cmocka_unit_test(test_every_allocation_failure_is_reported_without_leaks),
        cmocka_unit_test(test_uuid_v4_is_random_with_version_and_variant),
        cmocka_unit_test(test_schema_repeats_the_caps_of_limits_h),
        cmocka_unit_test(test_schema_names_every_rule_field),
        cmocka_unit_test(test_schema_counterexamples_are_refused_by_the_decoder),
    };
    /* The tests edit documents with cJSON; route it through the seam like the library does. */
    proto_alloc_install_cjson_hooks();
    if (getenv("RRAS_WRITE_REPORT") != NULL) {
        return cmocka_run_group_tests_name("json_write_report", write_only, NULL, NULL);
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
