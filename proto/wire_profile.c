/*
 * wire_profile: the remediation profile rrasfleet.profile/1: lifetime, encoder, strict decoder.
 *
 * Owns the mapping between struct proto_profile and schema/json/profile.schema.json; they change
 * together. One set of checks (the text kinds and profile_check) serves both directions, so the
 * encoder refuses exactly what the decoder would. Text that will reach netsh or PowerShell is
 * held to narrow alphabets: a rule name has no control characters, quotes or wildcards (* ? [ ]),
 * no space at either end, and is never "all" (netsh reads name=all as every rule); endpoints
 * are "Any" or address characters; method lists are netsh tokens. No cryptography here.
 */
#include "wire_profile.h"

#include <string.h>

#include "alloc.h"
#include "dn.h"
#include "wire.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define PROFILE_MAX_PORT 65535u
#define PROFILE_PORT_ANY "Any"
#define PROFILE_ENDPOINT_ANY "Any"

const struct proto_dword_info proto_dword_allow_list[PROTO_DWORD_NAME_COUNT] = {
    [PROTO_DWORD_PROHIBIT_IPSEC] = {"ProhibitIpSec",
                                    "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\"
                                    "RasMan\\Parameters",
                                    1},
    [PROTO_DWORD_ALLOW_L2TP_WEAK_CRYPTO] = {"AllowL2TPWeakCrypto",
                                            "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\"
                                            "Services\\RasMan\\Parameters",
                                            0},
};

static const char *const action_type_names[PROTO_ACTION_TYPE_COUNT] = {
    [PROTO_ACTION_REGISTRY_DWORD_SET] = "registry_dword_set",
    [PROTO_ACTION_IPSEC_RULE_ENSURE] = "ipsec_rule_ensure",
    [PROTO_ACTION_IPSEC_RULE_REMOVE] = "ipsec_rule_remove",
    [PROTO_ACTION_SERVICE_RESTART] = "service_restart",
};

static const char *const mode_names[] = {
    [PROTO_PROFILE_DRY_RUN] = "dry_run",
    [PROTO_PROFILE_APPLY] = "apply",
};

static const char *const dword_names[PROTO_DWORD_NAME_COUNT] = {
    [PROTO_DWORD_PROHIBIT_IPSEC] = "ProhibitIpSec",
    [PROTO_DWORD_ALLOW_L2TP_WEAK_CRYPTO] = "AllowL2TPWeakCrypto",
};

static const char *const service_names[PROTO_SERVICE_COUNT] = {
    [PROTO_SERVICE_REMOTE_ACCESS] = "RemoteAccess",
};

static const char *const ca_type_names[] = {
    [PROTO_CA_ROOT] = "root",
    [PROTO_CA_INTERMEDIATE] = "intermediate",
};

/* In the order the encoder writes them; bit i of proto_rule_spec.profiles is entry i. */
static const char *const fw_profile_names[] = {"domain", "private", "public"};

static const char *const profile_members[] = {
    "schema",  "profile_id", "serial", "target",  "not_before",
    "expires", "mode",       "reason", "actions",
};

static const char *const dword_members[] = {"type", "value", "data"};
static const char *const ensure_members[] = {"type", "rule"};
static const char *const remove_members[] = {"type", "name"};
static const char *const restart_members[] = {"type", "service"};

static const char *const rule_members[] = {
    "name",
    "description",
    "enabled",
    "profiles",
    "endpoint1",
    "endpoint2",
    "protocol",
    "port1",
    "port2",
    "mode",
    "action",
    "auth1",
    "auth1_ca_name",
    "auth1_cert_type",
    "auth1_cert_mapping",
    "main_mode_sec_methods",
    "quick_mode_sec_methods",
    "quick_mode_pfs",
};

/* ---- text kinds ---------------------------------------------------------------------------- */

static bool profile_is_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool profile_rule_name_ok(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || s[0] == ' ' || s[len - 1] == ' ' || !proto_wire_no_controls(s) ||
        strpbrk(s, "\"*?[]") != NULL) {
        return false;
    }
    return !(len == 3 && (s[0] | 0x20) == 'a' && (s[1] | 0x20) == 'l' && (s[2] | 0x20) == 'l');
}

static bool profile_description_ok(const char *s)
{
    return proto_wire_no_controls(s) && strchr(s, '"') == NULL;
}

/* "Any", or comma-separated items of address characters (IPv4, IPv6, /prefix, a-b ranges). */
static bool profile_endpoint_ok(const char *s)
{
    if (strcmp(s, PROFILE_ENDPOINT_ANY) == 0) {
        return true;
    }
    size_t item = 0;
    for (const char *p = s;; p++) {
        if (*p == ',' || *p == '\0') {
            if (item == 0) {
                return false;
            }
            if (*p == '\0') {
                return true;
            }
            item = 0;
        } else if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
                   (*p >= 'A' && *p <= 'F') || *p == '.' || *p == ':' || *p == '/' || *p == '-') {
            item++;
        } else {
            return false;
        }
    }
}

static bool profile_sec_method_ok(const char *s)
{
    for (; *s != '\0'; s++) {
        if (!profile_is_alnum(*s) && *s != ':' && *s != '+' && *s != '-') {
            return false;
        }
    }
    return true;
}

static bool profile_pfs_ok(const char *s)
{
    for (; *s != '\0'; s++) {
        if (!profile_is_alnum(*s)) {
            return false;
        }
    }
    return true;
}

static const struct proto_wire_text rule_name_text = {
    1, PROTO_MAX_NAME, profile_rule_name_ok,
    "expected a rule name without control characters, quotes or wildcards (* ? [ ]), no space "
    "at either end, and not \"all\""};
static const struct proto_wire_text description_text = {
    0, PROTO_MAX_STRING, profile_description_ok,
    "expected text without control characters or quotes"};
static const struct proto_wire_text endpoint_text = {
    1, PROTO_MAX_NAME, profile_endpoint_ok,
    "expected \"Any\" or comma-separated addresses (digits, hex, '.', ':', '/', '-')"};
static const struct proto_wire_text ca_name_text = {
    1, PROTO_MAX_NAME, proto_wire_no_controls,
    "expected a distinguished name without control characters"};
static const struct proto_wire_text sec_method_text = {
    1, PROTO_MAX_SEC_METHOD, profile_sec_method_ok,
    "expected a netsh security method like DHGroup14-AES256-SHA256 (letters, digits, ':', '+', "
    "'-')"};
static const struct proto_wire_text pfs_text = {1, PROTO_MAX_SEC_METHOD, profile_pfs_ok,
                                                "expected a PFS setting like None or DHGroup14"};

bool proto_wire_rule_name_ok(const char *name)
{
    return name != NULL && proto_wire_text_ok(&rule_name_text, name);
}

/* ---- lifetime ------------------------------------------------------------------------------ */

struct proto_profile *proto_wire_profile_create(void)
{
    return proto_calloc(1, sizeof(struct proto_profile));
}

static void profile_rule_clear(struct proto_rule_spec *rule)
{
    proto_free(rule->name);
    proto_free(rule->description);
    proto_free(rule->endpoint1);
    proto_free(rule->endpoint2);
    proto_free(rule->auth1_ca_name);
    proto_strv_clear(&rule->main_mode_sec_methods);
    proto_strv_clear(&rule->quick_mode_sec_methods);
    proto_free(rule->quick_mode_pfs);
    memset(rule, 0, sizeof(*rule));
}

static void profile_action_clear(struct proto_action *action)
{
    if (action->type == PROTO_ACTION_IPSEC_RULE_ENSURE) {
        profile_rule_clear(&action->u.rule);
    } else if (action->type == PROTO_ACTION_IPSEC_RULE_REMOVE) {
        proto_free(action->u.remove.name);
    }
    memset(action, 0, sizeof(*action));
}

void proto_wire_profile_destroy(struct proto_profile *profile)
{
    if (profile == NULL) {
        return;
    }
    for (size_t i = 0; i < profile->action_count; i++) {
        profile_action_clear(&profile->actions[i]);
    }
    proto_free(profile->actions);
    proto_strv_clear(&profile->reason);
    proto_free(profile);
}

enum proto_rc proto_wire_profile_add_action(struct proto_profile *profile,
                                            enum proto_action_type type, struct proto_action **out)
{
    if (profile == NULL || out == NULL || (unsigned)type >= PROTO_ACTION_TYPE_COUNT) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    if (profile->action_count >= PROTO_MAX_PROFILE_ACTIONS) {
        return PROTO_ELIMIT;
    }
    /* Room for the cap at once: the array is small, and *out stays valid. */
    if (profile->actions == NULL) {
        profile->actions = proto_calloc(PROTO_MAX_PROFILE_ACTIONS, sizeof(*profile->actions));
        if (profile->actions == NULL) {
            return PROTO_ENOMEM;
        }
    }
    struct proto_action *action = &profile->actions[profile->action_count++];
    memset(action, 0, sizeof(*action));
    action->type = type;
    *out = action;
    return PROTO_OK;
}

const char *proto_wire_action_type_str(enum proto_action_type type)
{
    return (unsigned)type < PROTO_ACTION_TYPE_COUNT ? action_type_names[type] : "";
}

const char *proto_wire_profile_mode_str(enum proto_profile_mode mode)
{
    return (unsigned)mode < COUNT(mode_names) ? mode_names[mode] : "";
}

enum proto_rc proto_wire_action_type_from_str(const char *s, enum proto_action_type *out)
{
    for (size_t i = 0; s != NULL && i < PROTO_ACTION_TYPE_COUNT; i++) {
        if (strcmp(s, action_type_names[i]) == 0) {
            *out = (enum proto_action_type)i;
            return PROTO_OK;
        }
    }
    return PROTO_EUNSUPPORTED;
}

/* ---- checks shared by both directions ------------------------------------------------------ */

/* The CA name must read as a DN (proto/dn.c's parser, which the what-if compares with).
 * PROTO_ENOMEM or PROTO_EPARSE. */
static enum proto_rc profile_ca_name_parses(const char *s)
{
    struct proto_dn dn = {NULL, 0};
    enum proto_rc result = proto_dn_parse(s, &dn);
    size_t count = dn.count;
    proto_dn_clear(&dn);
    if (result == PROTO_ENOMEM) {
        return result;
    }
    return result == PROTO_OK && count > 0 ? PROTO_OK : PROTO_EPARSE;
}

static bool profile_strv_ok(const struct proto_strv *v, size_t min, size_t max,
                            const struct proto_wire_text *kind)
{
    if (v->count < min || v->count > max) {
        return false;
    }
    for (size_t i = 0; i < v->count; i++) {
        if (!proto_wire_text_ok(kind, v->items[i])) {
            return false;
        }
    }
    return true;
}

static bool profile_port_ok(unsigned port)
{
    return port <= PROFILE_MAX_PORT;
}

static enum proto_rc profile_check_rule(const struct proto_rule_spec *rule)
{
    if (!proto_wire_text_ok(&rule_name_text, rule->name) ||
        !proto_wire_text_ok(&description_text, rule->description) || rule->profiles == 0 ||
        (rule->profiles & ~0x7u) != 0 || !proto_wire_text_ok(&endpoint_text, rule->endpoint1) ||
        !proto_wire_text_ok(&endpoint_text, rule->endpoint2) || !profile_port_ok(rule->port1) ||
        !profile_port_ok(rule->port2) || !proto_wire_text_ok(&ca_name_text, rule->auth1_ca_name) ||
        (unsigned)rule->auth1_cert_type >= COUNT(ca_type_names) ||
        !profile_strv_ok(&rule->main_mode_sec_methods, 1, PROTO_MAX_SEC_METHODS,
                         &sec_method_text) ||
        !profile_strv_ok(&rule->quick_mode_sec_methods, 1, PROTO_MAX_SEC_METHODS,
                         &sec_method_text) ||
        !proto_wire_text_ok(&pfs_text, rule->quick_mode_pfs)) {
        return PROTO_EINVAL;
    }
    enum proto_rc result = profile_ca_name_parses(rule->auth1_ca_name);
    return result == PROTO_EPARSE ? PROTO_EINVAL : result;
}

static enum proto_rc profile_check_action(const struct proto_action *action)
{
    switch (action->type) {
    case PROTO_ACTION_REGISTRY_DWORD_SET:
        return (unsigned)action->u.dword.name < PROTO_DWORD_NAME_COUNT &&
                       action->u.dword.data <= proto_dword_allow_list[action->u.dword.name].max_data
                   ? PROTO_OK
                   : PROTO_EINVAL;
    case PROTO_ACTION_IPSEC_RULE_ENSURE:
        return profile_check_rule(&action->u.rule);
    case PROTO_ACTION_IPSEC_RULE_REMOVE:
        return proto_wire_text_ok(&rule_name_text, action->u.remove.name) ? PROTO_OK : PROTO_EINVAL;
    case PROTO_ACTION_SERVICE_RESTART:
        return (unsigned)action->u.restart.service < PROTO_SERVICE_COUNT ? PROTO_OK : PROTO_EINVAL;
    default:
        return PROTO_EINVAL;
    }
}

/* PROTO_OK, PROTO_EINVAL (the decoder would refuse it) or PROTO_ENOMEM. */
static enum proto_rc profile_check(const struct proto_profile *p)
{
    if (!proto_wire_uuid_ok(p->profile_id) || p->serial < 1 || p->serial > PROTO_WIRE_MAX_INTEGER ||
        !proto_wire_fqdn_ok(p->target) || !proto_wire_time_ok(p->not_before) ||
        !proto_wire_time_ok(p->expires) || p->expires <= p->not_before ||
        (unsigned)p->mode >= COUNT(mode_names) ||
        !profile_strv_ok(&p->reason, 0, PROTO_MAX_PROFILE_REASONS, &proto_wire_finding_id_text) ||
        p->action_count < 1 || p->action_count > PROTO_MAX_PROFILE_ACTIONS || p->actions == NULL) {
        return PROTO_EINVAL;
    }
    for (size_t i = 0; i < p->action_count; i++) {
        enum proto_rc result = profile_check_action(&p->actions[i]);
        if (result) {
            return result;
        }
    }
    return PROTO_OK;
}

/* ---- encoder ------------------------------------------------------------------------------- */

static bool enc_port(cJSON *obj, const char *key, unsigned port)
{
    if (port == PROTO_RULE_PORT_ANY) {
        return proto_wire_enc_str(obj, key, PROFILE_PORT_ANY);
    }
    return proto_wire_enc_uint(obj, key, port);
}

static bool enc_fw_profiles(cJSON *obj, unsigned bits)
{
    cJSON *array = cJSON_CreateArray();
    if (!proto_wire_enc_add(obj, "profiles", array)) {
        return false;
    }
    for (size_t i = 0; i < COUNT(fw_profile_names); i++) {
        if ((bits & (1u << i)) == 0) {
            continue;
        }
        cJSON *item = cJSON_CreateString(fw_profile_names[i]);
        if (item == NULL || !cJSON_AddItemToArray(array, item)) {
            cJSON_Delete(item);
            return false;
        }
    }
    return true;
}

static bool enc_rule(cJSON *obj, const struct proto_rule_spec *rule)
{
    return proto_wire_enc_str(obj, "name", rule->name) &&
           proto_wire_enc_str(obj, "description", rule->description) &&
           proto_wire_enc_bool(obj, "enabled", rule->enabled) &&
           enc_fw_profiles(obj, rule->profiles) &&
           proto_wire_enc_str(obj, "endpoint1", rule->endpoint1) &&
           proto_wire_enc_str(obj, "endpoint2", rule->endpoint2) &&
           proto_wire_enc_str(obj, "protocol", PROTO_RULE_SPEC_PROTOCOL) &&
           enc_port(obj, "port1", rule->port1) && enc_port(obj, "port2", rule->port2) &&
           proto_wire_enc_str(obj, "mode", PROTO_RULE_SPEC_MODE) &&
           proto_wire_enc_str(obj, "action", PROTO_RULE_SPEC_ACTION) &&
           proto_wire_enc_str(obj, "auth1", PROTO_RULE_SPEC_AUTH1) &&
           proto_wire_enc_str(obj, "auth1_ca_name", rule->auth1_ca_name) &&
           proto_wire_enc_str(obj, "auth1_cert_type", ca_type_names[rule->auth1_cert_type]) &&
           proto_wire_enc_bool(obj, "auth1_cert_mapping", rule->auth1_cert_mapping) &&
           proto_wire_enc_strv(obj, "main_mode_sec_methods", &rule->main_mode_sec_methods) &&
           proto_wire_enc_strv(obj, "quick_mode_sec_methods", &rule->quick_mode_sec_methods) &&
           proto_wire_enc_str(obj, "quick_mode_pfs", rule->quick_mode_pfs);
}

static bool enc_action(cJSON *obj, const struct proto_action *action)
{
    if (!proto_wire_enc_str(obj, "type", action_type_names[action->type])) {
        return false;
    }
    switch (action->type) {
    case PROTO_ACTION_REGISTRY_DWORD_SET:
        return proto_wire_enc_str(obj, "value", dword_names[action->u.dword.name]) &&
               proto_wire_enc_uint(obj, "data", action->u.dword.data);
    case PROTO_ACTION_IPSEC_RULE_ENSURE: {
        cJSON *rule = cJSON_CreateObject();
        return proto_wire_enc_add(obj, "rule", rule) && enc_rule(rule, &action->u.rule);
    }
    case PROTO_ACTION_IPSEC_RULE_REMOVE:
        return proto_wire_enc_str(obj, "name", action->u.remove.name);
    case PROTO_ACTION_SERVICE_RESTART:
        return proto_wire_enc_str(obj, "service", service_names[action->u.restart.service]);
    default:
        return false;
    }
}

enum proto_rc proto_wire_encode_profile(const struct proto_profile *profile, char **out,
                                        size_t *out_len)
{
    char profile_id[37], target[PROTO_MAX_FQDN + 1];
    cJSON *root = NULL;
    cJSON *actions = NULL;
    enum proto_rc result;

    if (out == NULL) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    if (out_len != NULL) {
        *out_len = 0;
    }
    if (profile == NULL) {
        return PROTO_EINVAL;
    }
    result = profile_check(profile);
    if (result) {
        return result;
    }
    result = PROTO_ENOMEM;
    (void)proto_wire_lower_copy(profile->profile_id, profile_id, sizeof(profile_id));
    (void)proto_wire_lower_copy(profile->target, target, sizeof(target));
    root = cJSON_CreateObject();
    if (root == NULL || !proto_wire_enc_str(root, "schema", PROTO_PROFILE_SCHEMA) ||
        !proto_wire_enc_str(root, "profile_id", profile_id) ||
        !proto_wire_enc_uint(root, "serial", profile->serial) ||
        !proto_wire_enc_str(root, "target", target) ||
        !proto_wire_enc_time(root, "not_before", profile->not_before) ||
        !proto_wire_enc_time(root, "expires", profile->expires) ||
        !proto_wire_enc_str(root, "mode", mode_names[profile->mode]) ||
        !proto_wire_enc_strv(root, "reason", &profile->reason)) {
        goto out;
    }
    actions = cJSON_CreateArray();
    if (!proto_wire_enc_add(root, "actions", actions)) {
        goto out;
    }
    for (size_t i = 0; i < profile->action_count; i++) {
        cJSON *action = proto_wire_enc_push_object(actions);
        if (action == NULL || !enc_action(action, &profile->actions[i])) {
            goto out;
        }
    }
    result = proto_wire_enc_print(root, PROTO_MAX_PROFILE_BYTES, out, out_len);
out:
    cJSON_Delete(root);
    return result;
}

/* ---- decoder ------------------------------------------------------------------------------- */

/* "Any" or an integer 1..65535. */
static enum proto_rc dec_port(struct proto_wire_dec *d, const cJSON *obj, const char *key,
                              unsigned *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    uint64_t port = 0;
    if (item == NULL) {
        return proto_wire_dec_fail_at(d, key, PROTO_EMISSING, "required member is missing");
    }
    if (cJSON_IsString(item)) {
        enum proto_rc result = proto_wire_dec_const(d, obj, key, PROFILE_PORT_ANY);
        if (!result) {
            *out = PROTO_RULE_PORT_ANY;
        }
        return result;
    }
    if (!cJSON_IsNumber(item)) {
        return proto_wire_dec_fail_at(d, key, PROTO_ETYPE,
                                      "expected \"Any\" or an integer from 1 to 65535");
    }
    enum proto_rc result =
        proto_wire_dec_uint(d, obj, key, PROTO_WIRE_REQUIRED, 1, PROFILE_MAX_PORT, &port);
    if (!result) {
        *out = (unsigned)port;
    }
    return result;
}

static enum proto_rc dec_fw_profile_el(struct proto_wire_dec *d, const cJSON *el, size_t index,
                                       void *ctx)
{
    static const struct proto_wire_text any = {0, PROTO_MAX_NAME, NULL, ""};
    unsigned *bits = ctx;
    const char *s = NULL;
    (void)index;
    enum proto_rc result = proto_wire_check_text(d, el, &any, &s);
    if (result) {
        return result;
    }
    for (size_t i = 0; i < COUNT(fw_profile_names); i++) {
        if (strcmp(s, fw_profile_names[i]) == 0) {
            if (*bits & (1u << i)) {
                return proto_wire_dec_fail(d, PROTO_EPARSE, "\"%s\" is listed twice", s);
            }
            *bits |= 1u << i;
            return PROTO_OK;
        }
    }
    return proto_wire_dec_fail(d, PROTO_EUNSUPPORTED,
                               "expected one of \"domain\", \"private\", \"public\"");
}

static enum proto_rc dec_ca_name(struct proto_wire_dec *d, const cJSON *obj, char **out)
{
    enum proto_rc result =
        proto_wire_dec_text_copy(d, obj, "auth1_ca_name", PROTO_WIRE_REQUIRED, &ca_name_text, out);
    if (result) {
        return result;
    }
    result = profile_ca_name_parses(*out);
    if (result == PROTO_ENOMEM) {
        return proto_wire_dec_nomem(d);
    }
    if (result) {
        return proto_wire_dec_fail_at(d, "auth1_ca_name", PROTO_EPARSE,
                                      "expected a distinguished name like \"DC=com, DC=contoso, "
                                      "CN=contoso-CA\"");
    }
    return PROTO_OK;
}

static enum proto_rc dec_rule_fn(struct proto_wire_dec *d, const cJSON *obj,
                                 struct proto_rule_spec *rule)
{
    size_t ca_type = 0;
    enum proto_rc result;
    if ((result = proto_wire_dec_members(d, obj, rule_members, COUNT(rule_members), true)) ||
        (result = proto_wire_dec_text_copy(d, obj, "name", PROTO_WIRE_REQUIRED, &rule_name_text,
                                           &rule->name)) ||
        (result = proto_wire_dec_text_copy(d, obj, "description", PROTO_WIRE_REQUIRED,
                                           &description_text, &rule->description)) ||
        (result = proto_wire_dec_bool(d, obj, "enabled", PROTO_WIRE_REQUIRED, &rule->enabled)) ||
        (result =
             proto_wire_dec_each(d, obj, "profiles", PROTO_WIRE_REQUIRED, 1,
                                 COUNT(fw_profile_names), dec_fw_profile_el, &rule->profiles)) ||
        (result = proto_wire_dec_text_copy(d, obj, "endpoint1", PROTO_WIRE_REQUIRED, &endpoint_text,
                                           &rule->endpoint1)) ||
        (result = proto_wire_dec_text_copy(d, obj, "endpoint2", PROTO_WIRE_REQUIRED, &endpoint_text,
                                           &rule->endpoint2)) ||
        (result = proto_wire_dec_const(d, obj, "protocol", PROTO_RULE_SPEC_PROTOCOL)) ||
        (result = dec_port(d, obj, "port1", &rule->port1)) ||
        (result = dec_port(d, obj, "port2", &rule->port2)) ||
        (result = proto_wire_dec_const(d, obj, "mode", PROTO_RULE_SPEC_MODE)) ||
        (result = proto_wire_dec_const(d, obj, "action", PROTO_RULE_SPEC_ACTION)) ||
        (result = proto_wire_dec_const(d, obj, "auth1", PROTO_RULE_SPEC_AUTH1)) ||
        (result = dec_ca_name(d, obj, &rule->auth1_ca_name)) ||
        (result = proto_wire_dec_enum(d, obj, "auth1_cert_type", PROTO_WIRE_REQUIRED, ca_type_names,
                                      COUNT(ca_type_names), &ca_type)) ||
        (result = proto_wire_dec_bool(d, obj, "auth1_cert_mapping", PROTO_WIRE_REQUIRED,
                                      &rule->auth1_cert_mapping)) ||
        (result = proto_wire_dec_strv(d, obj, "main_mode_sec_methods", 1, PROTO_MAX_SEC_METHODS,
                                      &sec_method_text, &rule->main_mode_sec_methods)) ||
        (result = proto_wire_dec_strv(d, obj, "quick_mode_sec_methods", 1, PROTO_MAX_SEC_METHODS,
                                      &sec_method_text, &rule->quick_mode_sec_methods)) ||
        (result = proto_wire_dec_text_copy(d, obj, "quick_mode_pfs", PROTO_WIRE_REQUIRED, &pfs_text,
                                           &rule->quick_mode_pfs))) {
        return result;
    }
    rule->auth1_cert_type = (enum proto_ca_type)ca_type;
    return PROTO_OK;
}

static enum proto_rc dec_dword_action(struct proto_wire_dec *d, const cJSON *el,
                                      struct proto_action *action)
{
    size_t name = 0;
    uint64_t data = 0;
    enum proto_rc result;
    if ((result = proto_wire_dec_members(d, el, dword_members, COUNT(dword_members), true)) ||
        (result = proto_wire_dec_enum(d, el, "value", PROTO_WIRE_REQUIRED, dword_names,
                                      COUNT(dword_names), &name)) ||
        (result = proto_wire_dec_uint(d, el, "data", PROTO_WIRE_REQUIRED, 0, UINT32_MAX, &data))) {
        return result;
    }
    const struct proto_dword_info *info = &proto_dword_allow_list[name];
    if (data > info->max_data) {
        return proto_wire_dec_fail_at(d, "data", PROTO_ELIMIT, "%s may only be set to %s",
                                      info->name, info->max_data == 0 ? "0" : "0 or 1");
    }
    action->u.dword.name = (enum proto_dword_name)name;
    action->u.dword.data = (uint32_t)data;
    return PROTO_OK;
}

static enum proto_rc dec_ensure_action(struct proto_wire_dec *d, const cJSON *el,
                                       struct proto_action *action)
{
    const cJSON *rule = NULL;
    enum proto_rc result;
    if ((result = proto_wire_dec_members(d, el, ensure_members, COUNT(ensure_members), true)) ||
        (result = proto_wire_dec_object(d, el, "rule", PROTO_WIRE_REQUIRED, &rule))) {
        return result;
    }
    size_t saved = proto_wire_dec_enter_key(d, "rule");
    result = dec_rule_fn(d, rule, &action->u.rule);
    proto_wire_dec_leave(d, saved);
    return result;
}

static enum proto_rc dec_action_el(struct proto_wire_dec *d, const cJSON *el, size_t index,
                                   void *ctx)
{
    struct proto_profile *profile = ctx;
    struct proto_action *action = NULL;
    size_t type = 0, service = 0;
    (void)index;
    enum proto_rc result = proto_wire_check_object(d, el);
    if (result) {
        return result;
    }
    /* The type first: an unknown action is named as such, not as its unknown members. */
    result = proto_wire_dec_enum(d, el, "type", PROTO_WIRE_REQUIRED, action_type_names,
                                 PROTO_ACTION_TYPE_COUNT, &type);
    if (result) {
        return result;
    }
    result = proto_wire_profile_add_action(profile, (enum proto_action_type)type, &action);
    if (result) {
        return result == PROTO_ENOMEM ? proto_wire_dec_nomem(d)
                                      : proto_wire_dec_fail(d, result, "too many actions");
    }
    switch (action->type) {
    case PROTO_ACTION_REGISTRY_DWORD_SET:
        return dec_dword_action(d, el, action);
    case PROTO_ACTION_IPSEC_RULE_ENSURE:
        return dec_ensure_action(d, el, action);
    case PROTO_ACTION_IPSEC_RULE_REMOVE:
        if ((result = proto_wire_dec_members(d, el, remove_members, COUNT(remove_members), true))) {
            return result;
        }
        return proto_wire_dec_text_copy(d, el, "name", PROTO_WIRE_REQUIRED, &rule_name_text,
                                        &action->u.remove.name);
    case PROTO_ACTION_SERVICE_RESTART:
        if ((result =
                 proto_wire_dec_members(d, el, restart_members, COUNT(restart_members), true)) ||
            (result = proto_wire_dec_enum(d, el, "service", PROTO_WIRE_REQUIRED, service_names,
                                          COUNT(service_names), &service))) {
            return result;
        }
        action->u.restart.service = (enum proto_service)service;
        return PROTO_OK;
    default:
        return proto_wire_dec_fail(d, PROTO_EINVAL, "action type out of range");
    }
}

static enum proto_rc dec_profile(struct proto_wire_dec *d, const cJSON *root,
                                 struct proto_profile *p)
{
    size_t mode = 0;
    enum proto_rc result;
    /* The version first: a later schema gets "unsupported", not a confusing member error. */
    if ((result = proto_wire_dec_const(d, root, "schema", PROTO_PROFILE_SCHEMA)) ||
        (result = proto_wire_dec_members(d, root, profile_members, COUNT(profile_members), true)) ||
        (result = proto_wire_dec_uuid(d, root, "profile_id", PROTO_WIRE_REQUIRED, p->profile_id)) ||
        (result = proto_wire_dec_uint(d, root, "serial", PROTO_WIRE_REQUIRED, 1,
                                      PROTO_WIRE_MAX_INTEGER, &p->serial)) ||
        (result = proto_wire_dec_text_into(d, root, "target", PROTO_WIRE_REQUIRED,
                                           &proto_wire_fqdn_text, p->target, sizeof(p->target))) ||
        (result =
             proto_wire_dec_time(d, root, "not_before", PROTO_WIRE_REQUIRED, &p->not_before)) ||
        (result = proto_wire_dec_time(d, root, "expires", PROTO_WIRE_REQUIRED, &p->expires))) {
        return result;
    }
    if (p->expires <= p->not_before) {
        return proto_wire_dec_fail_at(d, "expires", PROTO_EPARSE,
                                      "expected a time after not_before");
    }
    /* Host names compare without case; keep one spelling. */
    (void)proto_wire_lower_copy(p->target, p->target, sizeof(p->target));
    if ((result = proto_wire_dec_enum(d, root, "mode", PROTO_WIRE_REQUIRED, mode_names,
                                      COUNT(mode_names), &mode)) ||
        (result = proto_wire_dec_strv(d, root, "reason", 0, PROTO_MAX_PROFILE_REASONS,
                                      &proto_wire_finding_id_text, &p->reason)) ||
        (result = proto_wire_dec_each(d, root, "actions", PROTO_WIRE_REQUIRED, 1,
                                      PROTO_MAX_PROFILE_ACTIONS, dec_action_el, p))) {
        return result;
    }
    p->mode = (enum proto_profile_mode)mode;
    return PROTO_OK;
}

enum proto_rc proto_wire_decode_profile(const char *text, size_t len, struct proto_profile **out,
                                        struct proto_json_error *err)
{
    struct proto_wire_dec dec;
    struct proto_profile *profile = NULL;
    cJSON *root = NULL;
    enum proto_rc result;

    proto_wire_dec_init(&dec, err);
    if (out == NULL) {
        return proto_wire_dec_fail(&dec, PROTO_EINVAL, "no output");
    }
    *out = NULL;
    result = proto_wire_dec_parse(&dec, text, len, PROTO_MAX_PROFILE_BYTES, &root);
    if (result) {
        goto out;
    }
    profile = proto_wire_profile_create();
    if (profile == NULL) {
        result = proto_wire_dec_nomem(&dec);
        goto out;
    }
    result = dec_profile(&dec, root, profile);
    if (result) {
        goto out;
    }
    *out = profile;
    profile = NULL;
out:
    proto_wire_profile_destroy(profile);
    cJSON_Delete(root);
    return result;
}
