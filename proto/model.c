/* model: snapshot lifetime, bounded appenders and lookups. */
#include "model.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "caps.h"

const struct proto_rule_field_info proto_rule_fields[PROTO_RULE_FIELD_COUNT] = {
    [PROTO_RULE_NAME] = {"Rule Name", "name"},
    [PROTO_RULE_DESCRIPTION] = {"Description", "description"},
    [PROTO_RULE_ENABLED] = {"Enabled", "enabled"},
    [PROTO_RULE_PROFILES] = {"Profiles", "profiles"},
    [PROTO_RULE_TYPE] = {"Type", "type"},
    [PROTO_RULE_MODE] = {"Mode", "mode"},
    [PROTO_RULE_INTERFACE_TYPES] = {"InterfaceTypes", "interface_types"},
    [PROTO_RULE_ENDPOINT1] = {"Endpoint1", "endpoint1"},
    [PROTO_RULE_ENDPOINT2] = {"Endpoint2", "endpoint2"},
    [PROTO_RULE_LOCAL_TUNNEL_ENDPOINT] = {"LocalTunnelEndpoint", "local_tunnel_endpoint"},
    [PROTO_RULE_REMOTE_TUNNEL_ENDPOINT] = {"RemoteTunnelEndpoint", "remote_tunnel_endpoint"},
    [PROTO_RULE_PORT1] = {"Port1", "port1"},
    [PROTO_RULE_PORT2] = {"Port2", "port2"},
    [PROTO_RULE_PROTOCOL] = {"Protocol", "protocol"},
    [PROTO_RULE_ACTION] = {"Action", "action"},
    [PROTO_RULE_AUTH1] = {"Auth1", "auth1"},
    [PROTO_RULE_AUTH1_PSK] = {"Auth1PSK", "auth1_psk"},
    [PROTO_RULE_AUTH1_CA_NAME] = {"Auth1CAName", "auth1_ca_name"},
    [PROTO_RULE_AUTH1_CERT_MAPPING] = {"Auth1CertMapping", "auth1_cert_mapping"},
    [PROTO_RULE_AUTH1_EXCLUDE_CA_NAME] = {"Auth1ExcludeCAName", "auth1_exclude_ca_name"},
    [PROTO_RULE_AUTH1_CERT_TYPE] = {"Auth1CertType", "auth1_cert_type"},
    [PROTO_RULE_AUTH1_HEALTH_CERT] = {"Auth1HealthCert", "auth1_health_cert"},
    [PROTO_RULE_AUTH2] = {"Auth2", "auth2"},
    [PROTO_RULE_AUTH2_CA_NAME] = {"Auth2CAName", "auth2_ca_name"},
    [PROTO_RULE_MM_SEC_METHODS] = {"MainModeSecMethods", "main_mode_sec_methods"},
    [PROTO_RULE_MM_KEY_LIFETIME] = {"MainModeKeyLifetime", "main_mode_key_lifetime"},
    [PROTO_RULE_QM_SEC_METHODS] = {"QuickModeSecMethods", "quick_mode_sec_methods"},
    [PROTO_RULE_QM_PFS] = {"QuickModePFS", "quick_mode_pfs"},
    [PROTO_RULE_EXEMPT_IPSEC_PROTECTED] = {"ExemptIPsecProtectedConnections",
                                           "exempt_ipsec_protected_connections"},
    [PROTO_RULE_RULE_SOURCE] = {"Rule source", "rule_source"},
    [PROTO_RULE_APPLY_AUTHORIZATION] = {"ApplyAuthorization", "apply_authorization"},
};

int proto_rule_field_by_label(const char *label)
{
    for (int i = 0; i < PROTO_RULE_FIELD_COUNT; i++) {
        if (strcasecmp(proto_rule_fields[i].label, label) == 0) {
            return i;
        }
    }
    return -1;
}

int proto_rule_field_by_json_key(const char *key)
{
    for (int i = 0; i < PROTO_RULE_FIELD_COUNT; i++) {
        if (strcmp(proto_rule_fields[i].json_key, key) == 0) {
            return i;
        }
    }
    return -1;
}

bool proto_rule_field_host_owned(int field)
{
    return field == PROTO_RULE_MM_SEC_METHODS || field == PROTO_RULE_MM_KEY_LIFETIME ||
           field == PROTO_RULE_RULE_SOURCE;
}

static const char *const reg_type_names[] = {
    [PROTO_REG_SZ] = "REG_SZ",
    [PROTO_REG_EXPAND_SZ] = "REG_EXPAND_SZ",
    [PROTO_REG_MULTI_SZ] = "REG_MULTI_SZ",
    [PROTO_REG_DWORD] = "REG_DWORD",
    [PROTO_REG_QWORD] = "REG_QWORD",
    [PROTO_REG_BINARY] = "REG_BINARY",
    [PROTO_REG_NONE] = "REG_NONE",
    [PROTO_REG_OTHER] = "REG_OTHER",
};

const char *proto_reg_type_str(enum proto_reg_type type)
{
    if ((size_t)type < sizeof(reg_type_names) / sizeof(reg_type_names[0])) {
        return reg_type_names[type];
    }
    return "REG_OTHER";
}

enum proto_reg_type proto_reg_type_from_str(const char *s)
{
    for (size_t i = 0; i < sizeof(reg_type_names) / sizeof(reg_type_names[0]); i++) {
        if (strcmp(reg_type_names[i], s) == 0) {
            return (enum proto_reg_type)i;
        }
    }
    return PROTO_REG_OTHER;
}

struct proto_snapshot *proto_snapshot_create(void)
{
    return proto_calloc(1, sizeof(struct proto_snapshot));
}

void proto_cert_clear(struct proto_cert *cert)
{
    if (cert == NULL) {
        return;
    }
    proto_free(cert->serial);
    proto_dn_clear(&cert->subject);
    proto_dn_clear(&cert->issuer);
    proto_strv_clear(&cert->san_dns);
    proto_strv_clear(&cert->eku);
    proto_free(cert->der);
    proto_cert_win_clear(&cert->win);
    memset(cert, 0, sizeof(*cert));
}

void proto_cert_win_clear(struct proto_cert_win *win)
{
    if (win == NULL) {
        return;
    }
    proto_free(win->chain_root);
    proto_free(win->template_name);
    memset(win, 0, sizeof(*win));
}

enum proto_rc proto_cert_win_copy(const struct proto_cert_win *src, struct proto_cert_win *dst)
{
    *dst = *src;
    dst->chain_root = NULL;
    dst->template_name = NULL;
    if (src->chain_root != NULL && (dst->chain_root = proto_strdup(src->chain_root)) == NULL) {
        return PROTO_ENOMEM;
    }
    if (src->template_name != NULL &&
        (dst->template_name = proto_strdup(src->template_name)) == NULL) {
        return PROTO_ENOMEM;
    }
    return PROTO_OK;
}

void proto_rule_clear(struct proto_consec_rule *rule)
{
    if (rule == NULL) {
        return;
    }
    for (int i = 0; i < PROTO_RULE_FIELD_COUNT; i++) {
        proto_free(rule->field[i]);
    }
    for (size_t i = 0; i < rule->extra_count; i++) {
        proto_free(rule->extra[i].key);
        proto_free(rule->extra[i].value);
    }
    proto_free(rule->extra);
    memset(rule, 0, sizeof(*rule));
}

void proto_ssl_binding_clear(struct proto_ssl_binding *binding)
{
    if (binding == NULL) {
        return;
    }
    proto_free(binding->endpoint);
    proto_free(binding->kind);
    proto_free(binding->app_id);
    proto_free(binding->store_name);
    memset(binding, 0, sizeof(*binding));
}

void proto_reg_value_clear(struct proto_reg_value *value)
{
    if (value == NULL) {
        return;
    }
    proto_free(value->key);
    proto_free(value->name);
    proto_free(value->data);
    proto_free(value->bytes);
    proto_strv_clear(&value->multi);
    memset(value, 0, sizeof(*value));
}

void proto_host_clear(struct proto_host *host)
{
    if (host == NULL) {
        return;
    }
    proto_free(host->fqdn);
    proto_free(host->hostname);
    proto_free(host->os);
    proto_free(host->agent_version);
    memset(host, 0, sizeof(*host));
}

void proto_finding_clear(struct proto_finding *f)
{
    if (f == NULL) {
        return;
    }
    proto_free(f->id);
    proto_free(f->message);
    proto_strv_clear(&f->certs);
    proto_strv_clear(&f->rules);
    memset(f, 0, sizeof(*f));
}

void proto_snapshot_destroy(struct proto_snapshot *snap)
{
    if (snap == NULL) {
        return;
    }
    proto_host_clear(&snap->host);
    for (size_t i = 0; i < snap->cert_count; i++) {
        proto_cert_clear(&snap->certs[i]);
    }
    proto_free(snap->certs);
    for (size_t i = 0; i < snap->rule_count; i++) {
        proto_rule_clear(&snap->rules[i]);
    }
    proto_free(snap->rules);
    for (size_t i = 0; i < snap->ssl_binding_count; i++) {
        proto_ssl_binding_clear(&snap->ssl_bindings[i]);
    }
    proto_free(snap->ssl_bindings);
    for (size_t i = 0; i < snap->registry_count; i++) {
        proto_reg_value_clear(&snap->registry[i]);
    }
    proto_free(snap->registry);
    for (size_t i = 0; i < snap->error_count; i++) {
        proto_free(snap->errors[i].source);
        proto_free(snap->errors[i].message);
    }
    proto_free(snap->errors);
    proto_free(snap);
}

/* Grows *array (of *count elements of `size` bytes) by one zeroed element, up to `max`. The
 * capacity doubles; it is kept implicitly as the next power of two at or above count. */
static enum proto_rc model_grow(void **array, size_t *count, size_t size, size_t max,
                                void **element_out)
{
    if (*count >= max) {
        return PROTO_ELIMIT;
    }
    size_t n = *count;
    /* Reallocate only when n is 0 or a power of two: the array is then exactly full. */
    if (n == 0 || (n & (n - 1)) == 0) {
        size_t cap = n == 0 ? 1 : n * 2;
        void *grown = proto_realloc(*array, cap * size);
        if (grown == NULL) {
            return PROTO_ENOMEM;
        }
        *array = grown;
    }
    void *element = (char *)*array + n * size;
    memset(element, 0, size);
    *count = n + 1;
    *element_out = element;
    return PROTO_OK;
}

enum proto_rc proto_snapshot_add_cert(struct proto_snapshot *snap, struct proto_cert **out)
{
    void *element = NULL;
    enum proto_rc result = model_grow((void **)&snap->certs, &snap->cert_count,
                                      sizeof(*snap->certs), PROTO_MAX_CERTS, &element);
    *out = element;
    return result;
}

enum proto_rc proto_snapshot_add_rule(struct proto_snapshot *snap, struct proto_consec_rule **out)
{
    void *element = NULL;
    enum proto_rc result = model_grow((void **)&snap->rules, &snap->rule_count,
                                      sizeof(*snap->rules), PROTO_MAX_RULES, &element);
    *out = element;
    return result;
}

enum proto_rc proto_snapshot_add_ssl_binding(struct proto_snapshot *snap,
                                             struct proto_ssl_binding **out)
{
    void *element = NULL;
    enum proto_rc result =
        model_grow((void **)&snap->ssl_bindings, &snap->ssl_binding_count,
                   sizeof(*snap->ssl_bindings), PROTO_MAX_SSL_BINDINGS, &element);
    *out = element;
    return result;
}

enum proto_rc proto_snapshot_add_reg_value(struct proto_snapshot *snap,
                                           struct proto_reg_value **out)
{
    void *element = NULL;
    enum proto_rc result = model_grow((void **)&snap->registry, &snap->registry_count,
                                      sizeof(*snap->registry), PROTO_MAX_REG_VALUES, &element);
    *out = element;
    return result;
}

enum proto_rc proto_snapshot_add_error(struct proto_snapshot *snap, const char *source,
                                       enum proto_rc code, const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    if (n < 0) {
        message[0] = '\0';
    }
    void *element = NULL;
    enum proto_rc result = model_grow((void **)&snap->errors, &snap->error_count,
                                      sizeof(*snap->errors), PROTO_MAX_ERRORS, &element);
    if (result) {
        return result;
    }
    struct proto_error *error = element;
    error->code = code;
    error->source = proto_strdup(source);
    error->message = proto_strdup(message);
    if (error->source == NULL || error->message == NULL) {
        proto_free(error->source);
        proto_free(error->message);
        snap->error_count--;
        return PROTO_ENOMEM;
    }
    return PROTO_OK;
}

enum proto_rc proto_rule_add_extra(struct proto_consec_rule *rule, const char *key,
                                   const char *value)
{
    void *element = NULL;
    enum proto_rc result = model_grow((void **)&rule->extra, &rule->extra_count,
                                      sizeof(*rule->extra), PROTO_MAX_RULE_EXTRA, &element);
    if (result) {
        return result;
    }
    struct proto_kv *kv = element;
    kv->key = proto_strdup(key);
    kv->value = proto_strdup(value);
    if (kv->key == NULL || kv->value == NULL) {
        proto_free(kv->key);
        proto_free(kv->value);
        rule->extra_count--;
        return PROTO_ENOMEM;
    }
    return PROTO_OK;
}

long proto_snapshot_find_cert(const struct proto_snapshot *snap, const char *sha1_hex)
{
    if (sha1_hex == NULL || sha1_hex[0] == '\0') {
        return -1;
    }
    for (size_t i = 0; i < snap->cert_count; i++) {
        if (strcasecmp(snap->certs[i].sha1, sha1_hex) == 0) {
            return (long)i;
        }
    }
    return -1;
}

static bool model_ends_with_ci(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return lx <= ls && strcasecmp(s + ls - lx, suffix) == 0;
}

const struct proto_reg_value *proto_snapshot_find_reg(const struct proto_snapshot *snap,
                                                      const char *key_suffix, const char *name)
{
    for (size_t i = 0; i < snap->registry_count; i++) {
        const struct proto_reg_value *v = &snap->registry[i];
        if (v->key != NULL && v->name != NULL && model_ends_with_ci(v->key, key_suffix) &&
            strcasecmp(v->name, name) == 0) {
            return v;
        }
    }
    return NULL;
}

static const char *const severity_names[] = {"info", "low", "medium", "high", "critical"};

const char *proto_severity_str(enum proto_severity sev)
{
    if ((size_t)sev < sizeof(severity_names) / sizeof(severity_names[0])) {
        return severity_names[sev];
    }
    return "unknown";
}

enum proto_rc proto_severity_from_str(const char *s, enum proto_severity *out)
{
    for (size_t i = 0; i < sizeof(severity_names) / sizeof(severity_names[0]); i++) {
        if (strcmp(severity_names[i], s) == 0) {
            *out = (enum proto_severity)i;
            return PROTO_OK;
        }
    }
    return PROTO_EPARSE;
}
