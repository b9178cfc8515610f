/*
 * whatif: snapshot + profile -> the snapshot the host would report afterwards (DESIGN §8).
 *
 * The post-state is built on a deep copy made through model.h's appenders, so it keeps the
 * snapshot's caps and growth rules. Each action changes only what the host would change: a
 * registry value (then the typed fields are re-derived, as every source does), the list of
 * connection-security rules, or nothing (a service restart). A rule is written field by field
 * as `netsh advfirewall consec show rule verbose` prints one made by `consec add rule`, so the
 * diagnosis reads the prediction exactly as it will read the next collection. Whether a source
 * was readable (rules_available, registry_available) is the host's business and never changes
 * here. Pure: no clock, no I/O.
 */
#include "whatif.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "derive.h"

#define WHATIF_COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define WHATIF_HKLM_LONG "HKEY_LOCAL_MACHINE\\"
#define WHATIF_HKLM_SHORT "HKLM\\"

/* ---- deep copy ----------------------------------------------------------------------------- */

/* Copies src into *dst (NULL stays NULL). False only on allocation failure. */
static bool whatif_dup(const char *src, char **dst)
{
    *dst = NULL;
    if (src == NULL) {
        return true;
    }
    *dst = proto_strdup(src);
    return *dst != NULL;
}

static bool whatif_memdup(const unsigned char *src, size_t len, unsigned char **dst)
{
    *dst = NULL;
    if (src == NULL) {
        return true;
    }
    *dst = proto_malloc(len > 0 ? len : 1);
    if (*dst == NULL) {
        return false;
    }
    if (len > 0) {
        memcpy(*dst, src, len);
    }
    return true;
}

static enum proto_rc whatif_copy_host(const struct proto_host *src, struct proto_host *dst)
{
    dst->collected_at = src->collected_at;
    if (!whatif_dup(src->fqdn, &dst->fqdn) || !whatif_dup(src->hostname, &dst->hostname) ||
        !whatif_dup(src->os, &dst->os) || !whatif_dup(src->agent_version, &dst->agent_version)) {
        return PROTO_ENOMEM;
    }
    return PROTO_OK;
}

/* dst is a zeroed element owned by a snapshot: on failure the snapshot's destroy frees it. */
static enum proto_rc whatif_copy_cert(const struct proto_cert *src, struct proto_cert *dst)
{
    enum proto_rc result;
    dst->store_index = src->store_index;
    dst->parsed = src->parsed;
    memcpy(dst->sha1, src->sha1, sizeof(dst->sha1));
    memcpy(dst->sha256, src->sha256, sizeof(dst->sha256));
    dst->wildcard = src->wildcard;
    dst->has_eku = src->has_eku;
    dst->has_key_usage = src->has_key_usage;
    dst->key_usage = src->key_usage;
    dst->not_before = src->not_before;
    dst->not_after = src->not_after;
    dst->is_ca = src->is_ca;
    dst->self_signed = src->self_signed;
    dst->has_private_key = src->has_private_key;
    dst->der_len = src->der_len;
    if (!whatif_dup(src->serial, &dst->serial) ||
        !whatif_memdup(src->der, src->der_len, &dst->der)) {
        return PROTO_ENOMEM;
    }
    if ((result = proto_dn_copy(&src->subject, &dst->subject)) != PROTO_OK ||
        (result = proto_dn_copy(&src->issuer, &dst->issuer)) != PROTO_OK ||
        (result = proto_strv_copy(&src->san_dns, &dst->san_dns)) != PROTO_OK ||
        (result = proto_strv_copy(&src->eku, &dst->eku)) != PROTO_OK ||
        (result = proto_cert_win_copy(&src->win, &dst->win)) != PROTO_OK) {
        return result;
    }
    return PROTO_OK;
}

static enum proto_rc whatif_copy_rule(const struct proto_consec_rule *src,
                                      struct proto_consec_rule *dst)
{
    dst->psk_redacted = src->psk_redacted;
    dst->labels_unrecognised = src->labels_unrecognised;
    for (int i = 0; i < PROTO_RULE_FIELD_COUNT; i++) {
        if (!whatif_dup(src->field[i], &dst->field[i])) {
            return PROTO_ENOMEM;
        }
    }
    for (size_t i = 0; i < src->extra_count; i++) {
        enum proto_rc result = proto_rule_add_extra(dst, src->extra[i].key ? src->extra[i].key : "",
                                                    src->extra[i].value ? src->extra[i].value : "");
        if (result) {
            return result;
        }
    }
    return PROTO_OK;
}

static enum proto_rc whatif_copy_binding(const struct proto_ssl_binding *src,
                                         struct proto_ssl_binding *dst)
{
    memcpy(dst->cert_hash, src->cert_hash, sizeof(dst->cert_hash));
    if (!whatif_dup(src->endpoint, &dst->endpoint) || !whatif_dup(src->kind, &dst->kind) ||
        !whatif_dup(src->app_id, &dst->app_id) || !whatif_dup(src->store_name, &dst->store_name)) {
        return PROTO_ENOMEM;
    }
    return PROTO_OK;
}

static enum proto_rc whatif_copy_reg(const struct proto_reg_value *src, struct proto_reg_value *dst)
{
    dst->type = src->type;
    dst->number = src->number;
    dst->bytes_len = src->bytes_len;
    if (!whatif_dup(src->key, &dst->key) || !whatif_dup(src->name, &dst->name) ||
        !whatif_dup(src->data, &dst->data) ||
        !whatif_memdup(src->bytes, src->bytes_len, &dst->bytes)) {
        return PROTO_ENOMEM;
    }
    return proto_strv_copy(&src->multi, &dst->multi);
}

/* Errors go through the appender (it keeps the cap); the message is then replaced by an exact
 * copy, since the appender formats into a bounded buffer. */
static enum proto_rc whatif_copy_error(const struct proto_error *src, struct proto_snapshot *dst)
{
    enum proto_rc result =
        proto_snapshot_add_error(dst, src->source ? src->source : "", src->code, "%s", "");
    if (result) {
        return result;
    }
    struct proto_error *copy = &dst->errors[dst->error_count - 1];
    proto_free(copy->message);
    copy->message = NULL;
    if (src->source == NULL) {
        proto_free(copy->source);
        copy->source = NULL;
    }
    return whatif_dup(src->message, &copy->message) ? PROTO_OK : PROTO_ENOMEM;
}

enum proto_rc proto_snapshot_clone(const struct proto_snapshot *snap, struct proto_snapshot **out)
{
    enum proto_rc result = PROTO_ENOMEM;
    struct proto_snapshot *copy = NULL;

    if (out == NULL) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    if (snap == NULL) {
        return PROTO_EINVAL;
    }
    copy = proto_snapshot_create();
    if (copy == NULL) {
        goto out;
    }
    if ((result = whatif_copy_host(&snap->host, &copy->host)) != PROTO_OK) {
        goto out;
    }
    copy->certs_available = snap->certs_available;
    for (size_t i = 0; i < snap->cert_count; i++) {
        struct proto_cert *cert = NULL;
        if ((result = proto_snapshot_add_cert(copy, &cert)) != PROTO_OK ||
            (result = whatif_copy_cert(&snap->certs[i], cert)) != PROTO_OK) {
            goto out;
        }
    }
    copy->prohibit_ipsec = snap->prohibit_ipsec;
    copy->allow_l2tp_weak_crypto = snap->allow_l2tp_weak_crypto;
    copy->negotiate_dh2048_aes256 = snap->negotiate_dh2048_aes256;
    copy->rules_available = snap->rules_available;
    for (size_t i = 0; i < snap->rule_count; i++) {
        struct proto_consec_rule *rule = NULL;
        if ((result = proto_snapshot_add_rule(copy, &rule)) != PROTO_OK ||
            (result = whatif_copy_rule(&snap->rules[i], rule)) != PROTO_OK) {
            goto out;
        }
    }
    copy->ssl_bindings_available = snap->ssl_bindings_available;
    for (size_t i = 0; i < snap->ssl_binding_count; i++) {
        struct proto_ssl_binding *binding = NULL;
        if ((result = proto_snapshot_add_ssl_binding(copy, &binding)) != PROTO_OK ||
            (result = whatif_copy_binding(&snap->ssl_bindings[i], binding)) != PROTO_OK) {
            goto out;
        }
    }
    memcpy(copy->iphttps_cert_sha1, snap->iphttps_cert_sha1, sizeof(copy->iphttps_cert_sha1));
    memcpy(copy->sstp_cert_sha1, snap->sstp_cert_sha1, sizeof(copy->sstp_cert_sha1));
    memcpy(copy->sstp_cert_sha256, snap->sstp_cert_sha256, sizeof(copy->sstp_cert_sha256));
    copy->registry_available = snap->registry_available;
    for (size_t i = 0; i < snap->registry_count; i++) {
        struct proto_reg_value *value = NULL;
        if ((result = proto_snapshot_add_reg_value(copy, &value)) != PROTO_OK ||
            (result = whatif_copy_reg(&snap->registry[i], value)) != PROTO_OK) {
            goto out;
        }
    }
    for (size_t i = 0; i < snap->error_count; i++) {
        if ((result = whatif_copy_error(&snap->errors[i], copy)) != PROTO_OK) {
            goto out;
        }
    }
    *out = copy;
    copy = NULL;
    result = PROTO_OK;
out:
    proto_snapshot_destroy(copy);
    return result;
}

/* ---- the rule netsh would print ------------------------------------------------------------ */

static const char *whatif_yes_no(bool b)
{
    return b ? "Yes" : "No";
}

/* Appends `s` (len bytes) to the heap string *text, which may be NULL. */
static bool whatif_append(char **text, const char *s, size_t len)
{
    size_t old = *text != NULL ? strlen(*text) : 0;
    char *grown = proto_realloc(*text, old + len + 1);
    if (grown == NULL) {
        return false;
    }
    memcpy(grown + old, s, len);
    grown[old + len] = '\0';
    *text = grown;
    return true;
}

/* The firewall profiles as netsh lists them: "Domain,Private,Public" (a subset, that order). */
static char *whatif_profiles_text(unsigned bits)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {
        {PROTO_FW_PROFILE_DOMAIN, "Domain"},
        {PROTO_FW_PROFILE_PRIVATE, "Private"},
        {PROTO_FW_PROFILE_PUBLIC, "Public"},
    };
    char *text = proto_strdup("");
    for (size_t i = 0; text != NULL && i < WHATIF_COUNT(names); i++) {
        if ((bits & names[i].bit) == 0) {
            continue;
        }
        if ((text[0] != '\0' && !whatif_append(&text, ",", 1)) ||
            !whatif_append(&text, names[i].name, strlen(names[i].name))) {
            proto_free(text);
            text = NULL;
        }
    }
    return text;
}

/*
 * An endpoint as netsh prints it: "Any" as is; in a list of addresses, a single address gains
 * its host prefix (/32 for IPv4, /128 for IPv6) the way `consec add rule endpoint2=131.107.0.2`
 * prints `131.107.0.2/32` (windows-sources.md §1.3-1.4); subnets and ranges are kept.
 */
static char *whatif_endpoint_text(const char *spec)
{
    if (spec == NULL) {
        return NULL;
    }
    if (strcasecmp(spec, "Any") == 0) {
        return proto_strdup("Any");
    }
    char *text = proto_strdup("");
    const char *p = spec;
    while (text != NULL) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        bool single = memchr(p, '/', len) == NULL && memchr(p, '-', len) == NULL && len > 0;
        const char *suffix = "";
        if (single) {
            suffix = memchr(p, ':', len) != NULL ? "/128" : "/32";
        }
        if ((text[0] != '\0' && !whatif_append(&text, ",", 1)) || !whatif_append(&text, p, len) ||
            !whatif_append(&text, suffix, strlen(suffix))) {
            proto_free(text);
            return NULL;
        }
        if (end == NULL) {
            break;
        }
        p = end + 1;
    }
    return text;
}

static char *whatif_port_text(unsigned port)
{
    char text[16];
    if (port == PROTO_RULE_PORT_ANY) {
        return proto_strdup("Any");
    }
    snprintf(text, sizeof(text), "%u", port);
    return proto_strdup(text);
}

/* A method list as netsh prints it: the items in order, separated by "," (no space). */
static char *whatif_join(const struct proto_strv *v)
{
    char *text = proto_strdup("");
    for (size_t i = 0; text != NULL && i < v->count; i++) {
        if ((i > 0 && !whatif_append(&text, ",", 1)) ||
            !whatif_append(&text, v->items[i], strlen(v->items[i]))) {
            proto_free(text);
            text = NULL;
        }
    }
    return text;
}

enum proto_rc proto_rule_from_spec(const struct proto_rule_spec *spec,
                                   struct proto_consec_rule *out)
{
    if (out == NULL) {
        return PROTO_EINVAL;
    }
    memset(out, 0, sizeof(*out));
    if (spec == NULL || spec->name == NULL || spec->endpoint1 == NULL || spec->endpoint2 == NULL ||
        spec->auth1_ca_name == NULL || spec->quick_mode_pfs == NULL ||
        (unsigned)spec->auth1_cert_type > PROTO_CA_INTERMEDIATE) {
        return PROTO_EINVAL;
    }
    char **f = out->field;
    /* The settings `consec add rule` leaves at their defaults print as they are below: type
     * static, every interface type, the global main-mode lifetime, a local rule. */
    f[PROTO_RULE_NAME] = proto_strdup(spec->name);
    f[PROTO_RULE_DESCRIPTION] = proto_strdup(spec->description != NULL ? spec->description : "");
    f[PROTO_RULE_ENABLED] = proto_strdup(whatif_yes_no(spec->enabled));
    f[PROTO_RULE_PROFILES] = whatif_profiles_text(spec->profiles);
    f[PROTO_RULE_TYPE] = proto_strdup("Static");
    f[PROTO_RULE_MODE] = proto_strdup(PROTO_RULE_SPEC_MODE);
    f[PROTO_RULE_INTERFACE_TYPES] = proto_strdup("Any");
    f[PROTO_RULE_ENDPOINT1] = whatif_endpoint_text(spec->endpoint1);
    f[PROTO_RULE_ENDPOINT2] = whatif_endpoint_text(spec->endpoint2);
    f[PROTO_RULE_PORT1] = whatif_port_text(spec->port1);
    f[PROTO_RULE_PORT2] = whatif_port_text(spec->port2);
    f[PROTO_RULE_PROTOCOL] = proto_strdup(PROTO_RULE_SPEC_PROTOCOL);
    f[PROTO_RULE_ACTION] = proto_strdup(PROTO_RULE_SPEC_ACTION);
    f[PROTO_RULE_AUTH1] = proto_strdup(PROTO_RULE_SPEC_AUTH1);
    f[PROTO_RULE_AUTH1_CA_NAME] = proto_strdup(spec->auth1_ca_name);
    f[PROTO_RULE_AUTH1_CERT_MAPPING] = proto_strdup(whatif_yes_no(spec->auth1_cert_mapping));
    f[PROTO_RULE_AUTH1_EXCLUDE_CA_NAME] = proto_strdup("No");
    f[PROTO_RULE_AUTH1_CERT_TYPE] =
        proto_strdup(spec->auth1_cert_type == PROTO_CA_INTERMEDIATE ? "Intermediate" : "Root");
    f[PROTO_RULE_AUTH1_HEALTH_CERT] = proto_strdup("No");
    f[PROTO_RULE_MM_SEC_METHODS] = whatif_join(&spec->main_mode_sec_methods);
    f[PROTO_RULE_MM_KEY_LIFETIME] = proto_strdup("480min,0sess");
    f[PROTO_RULE_QM_SEC_METHODS] = whatif_join(&spec->quick_mode_sec_methods);
    f[PROTO_RULE_QM_PFS] = proto_strdup(spec->quick_mode_pfs);
    f[PROTO_RULE_RULE_SOURCE] = proto_strdup("Local Setting");
    f[PROTO_RULE_APPLY_AUTHORIZATION] = proto_strdup("No");

    static const enum proto_rule_field printed[] = {
        PROTO_RULE_NAME,
        PROTO_RULE_DESCRIPTION,
        PROTO_RULE_ENABLED,
        PROTO_RULE_PROFILES,
        PROTO_RULE_TYPE,
        PROTO_RULE_MODE,
        PROTO_RULE_INTERFACE_TYPES,
        PROTO_RULE_ENDPOINT1,
        PROTO_RULE_ENDPOINT2,
        PROTO_RULE_PORT1,
        PROTO_RULE_PORT2,
        PROTO_RULE_PROTOCOL,
        PROTO_RULE_ACTION,
        PROTO_RULE_AUTH1,
        PROTO_RULE_AUTH1_CA_NAME,
        PROTO_RULE_AUTH1_CERT_MAPPING,
        PROTO_RULE_AUTH1_EXCLUDE_CA_NAME,
        PROTO_RULE_AUTH1_CERT_TYPE,
        PROTO_RULE_AUTH1_HEALTH_CERT,
        PROTO_RULE_MM_SEC_METHODS,
        PROTO_RULE_MM_KEY_LIFETIME,
        PROTO_RULE_QM_SEC_METHODS,
        PROTO_RULE_QM_PFS,
        PROTO_RULE_RULE_SOURCE,
        PROTO_RULE_APPLY_AUTHORIZATION,
    };
    for (size_t i = 0; i < WHATIF_COUNT(printed); i++) {
        if (f[printed[i]] == NULL) {
            proto_rule_clear(out);
            return PROTO_ENOMEM;
        }
    }
    return PROTO_OK;
}

/* ---- the actions --------------------------------------------------------------------------- */

/* Registry key paths compare case-insensitively, with HKLM\ and HKEY_LOCAL_MACHINE\ alike. */
static const char *whatif_key_tail(const char *key)
{
    size_t long_len = strlen(WHATIF_HKLM_LONG), short_len = strlen(WHATIF_HKLM_SHORT);
    if (strncasecmp(key, WHATIF_HKLM_LONG, long_len) == 0) {
        return key + long_len;
    }
    if (strncasecmp(key, WHATIF_HKLM_SHORT, short_len) == 0) {
        return key + short_len;
    }
    return key;
}

static bool whatif_key_equal(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcasecmp(whatif_key_tail(a), whatif_key_tail(b)) == 0;
}

/* Makes v a REG_DWORD holding `data`, with its text as reg.exe prints it ("0x1"). */
static enum proto_rc whatif_set_dword(struct proto_reg_value *v, uint32_t data)
{
    char text[16];
    snprintf(text, sizeof(text), "0x%x", (unsigned)data);
    char *copy = proto_strdup(text);
    if (copy == NULL) {
        return PROTO_ENOMEM;
    }
    proto_free(v->data);
    proto_free(v->bytes);
    proto_strv_clear(&v->multi);
    v->data = copy;
    v->bytes = NULL;
    v->bytes_len = 0;
    v->type = PROTO_REG_DWORD;
    v->number = data;
    return PROTO_OK;
}

static enum proto_rc whatif_registry_dword_set(struct proto_snapshot *snap,
                                               enum proto_dword_name name, uint32_t data)
{
    if ((unsigned)name >= PROTO_DWORD_NAME_COUNT || data > proto_dword_allow_list[name].max_data) {
        return PROTO_EINVAL;
    }
    const struct proto_dword_info *info = &proto_dword_allow_list[name];
    const char *key_as_read = NULL; /* the key's spelling as the host printed it */
    bool found = false;
    for (size_t i = 0; i < snap->registry_count; i++) {
        struct proto_reg_value *v = &snap->registry[i];
        if (!whatif_key_equal(v->key, info->key)) {
            continue;
        }
        key_as_read = key_as_read != NULL ? key_as_read : v->key;
        if (v->name != NULL && strcasecmp(v->name, info->name) == 0) {
            enum proto_rc result = whatif_set_dword(v, data);
            if (result) {
                return result;
            }
            found = true;
        }
    }
    if (!found) {
        /* A new value is listed after the existing ones, under the key as already printed. */
        struct proto_reg_value *v = NULL;
        enum proto_rc result = proto_snapshot_add_reg_value(snap, &v);
        if (result) {
            return result;
        }
        v->key = proto_strdup(key_as_read != NULL ? key_as_read : info->key);
        v->name = proto_strdup(info->name);
        if (v->key == NULL || v->name == NULL || whatif_set_dword(v, data) != PROTO_OK) {
            proto_reg_value_clear(v);
            snap->registry_count--;
            return PROTO_ENOMEM;
        }
    }
    proto_snapshot_derive(snap);
    return PROTO_OK;
}

static bool whatif_rule_named(const struct proto_consec_rule *rule, const char *name)
{
    return rule->field[PROTO_RULE_NAME] != NULL && strcmp(rule->field[PROTO_RULE_NAME], name) == 0;
}

/* Drops every rule named `name` at or after index `from`, keeping the order of the others. */
static void whatif_drop_rules(struct proto_snapshot *snap, const char *name, size_t from)
{
    size_t kept = from;
    for (size_t i = from; i < snap->rule_count; i++) {
        if (whatif_rule_named(&snap->rules[i], name)) {
            proto_rule_clear(&snap->rules[i]);
            continue;
        }
        if (kept != i) {
            snap->rules[kept] = snap->rules[i];
            memset(&snap->rules[i], 0, sizeof(snap->rules[i]));
        }
        kept++;
    }
    snap->rule_count = kept;
}

/* netsh keeps rule names unique, so after ensure exactly one rule has the name: the first one of
 * that name is replaced where it stands and any later namesakes go; with none, it is appended. */
static enum proto_rc whatif_rule_ensure(struct proto_snapshot *snap,
                                        const struct proto_rule_spec *spec)
{
    struct proto_consec_rule rule;
    enum proto_rc result = proto_rule_from_spec(spec, &rule);
    if (result) {
        return result;
    }
    for (size_t i = 0; i < snap->rule_count; i++) {
        if (whatif_rule_named(&snap->rules[i], spec->name)) {
            proto_rule_clear(&snap->rules[i]);
            snap->rules[i] = rule;
            whatif_drop_rules(snap, spec->name, i + 1);
            return PROTO_OK;
        }
    }
    struct proto_consec_rule *slot = NULL;
    result = proto_snapshot_add_rule(snap, &slot);
    if (result) {
        proto_rule_clear(&rule);
        return result;
    }
    *slot = rule;
    return PROTO_OK;
}

enum proto_rc proto_whatif_apply_action(struct proto_snapshot *snap,
                                        const struct proto_action *action)
{
    if (snap == NULL || action == NULL) {
        return PROTO_EINVAL;
    }
    switch (action->type) {
    case PROTO_ACTION_REGISTRY_DWORD_SET:
        return whatif_registry_dword_set(snap, action->u.dword.name, action->u.dword.data);
    case PROTO_ACTION_IPSEC_RULE_ENSURE:
        return whatif_rule_ensure(snap, &action->u.rule);
    case PROTO_ACTION_IPSEC_RULE_REMOVE:
        if (action->u.remove.name == NULL) {
            return PROTO_EINVAL;
        }
        whatif_drop_rules(snap, action->u.remove.name, 0);
        return PROTO_OK;
    case PROTO_ACTION_SERVICE_RESTART:
        return (unsigned)action->u.restart.service < PROTO_SERVICE_COUNT ? PROTO_OK : PROTO_EINVAL;
    default:
        return PROTO_EINVAL;
    }
}

enum proto_rc proto_whatif(const struct proto_snapshot *snap, const struct proto_profile *profile,
                           struct proto_snapshot **out)
{
    struct proto_snapshot *post = NULL;
    enum proto_rc result;

    if (out == NULL) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    if (snap == NULL || profile == NULL ||
        (profile->action_count > 0 && profile->actions == NULL)) {
        return PROTO_EINVAL;
    }
    result = proto_snapshot_clone(snap, &post);
    if (result) {
        return result;
    }
    for (size_t i = 0; i < profile->action_count; i++) {
        result = proto_whatif_apply_action(post, &profile->actions[i]);
        if (result) {
            proto_snapshot_destroy(post);
            return result;
        }
    }
    *out = post;
    return PROTO_OK;
}
