/*
 * fix: builds the KB 2855053 resolution 2 profile for one host and judges it by its what-if.
 *
 * The build reads only the snapshot and the policy; the verdict is the diagnosis of the
 * post-state that whatif.c predicts, so the refusal and the simulated host share one model.
 * The actions are ordered so that the host keeps working L2TP if any later step is never
 * reached: the new rule first (harmless while RRAS still applies its automatic policy), then
 * the removal of rules pinned to another CA, then the registry values, and the restart that
 * makes them count last. Pure: no clock, no I/O.
 */
#include "fix.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "dn.h"
#include "whatif.h"

#define FIX_L2TP_PORT 1701u
#define FIX_ENDPOINT_ANY "Any"
#define FIX_RULE_DESCRIPTION                                                                       \
    "L2TP/IPsec for RRAS, computer certificate from the expected CA (KB 2855053 resolution 2, "    \
    "rrasfleet)"

/*
 * Main mode: no DH group 1/2, DES/3DES or MD5 (WEAK_IPSEC_CRYPTO). DH group 14 with AES-256 is
 * what Windows L2TP clients offer once NegotiateDH2048_AES256 is set, so it comes first; the
 * ECDH suites serve clients that offer elliptic curves; DH group 14 with AES-256 and SHA-1 (an
 * HMAC, unbroken) comes last so that clients whose main mode still hashes with SHA-1 connect.
 * The exact offers of each Windows client release are not verified here (windows-sources.md
 * marks them inferred); a fleet that needs another list changes this one table.
 */
static const char *const fix_main_mode[] = {
    "DHGroup14-AES256-SHA256",
    "ECDHP256-AES128-SHA256",
    "ECDHP384-AES256-SHA384",
    "DHGroup14-AES256-SHA1",
};

/* Quick mode: ESP with AES only (no AH, no "None" encryption, no DES/3DES, no MD5), SHA-2
 * first, SHA-1 HMAC kept for older clients; the lifetimes netsh uses by default. */
static const char *const fix_quick_mode[] = {
    "ESP:SHA256-AES256+60min+100000kb",
    "ESP:SHA256-AES128+60min+100000kb",
    "ESP:SHA1-AES256+60min+100000kb",
    "ESP:SHA1-AES128+60min+100000kb",
};

/* Quick-mode PFS: the KB's own rule sets qmpfs=none (windows-sources.md §1.4), and the built-in
 * L2TP client is not known to offer quick-mode PFS, so requiring a group would risk error 788. */
#define FIX_QUICK_MODE_PFS "None"

#define FIX_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ------------------------------------------------------------------------------- */

/* Finding ids the fix is meant to clear: the automatic policy's certificate choice, the manual
 * rule's state and the IP-HTTPS/L2TP split (which the manual policy makes moot). */
static bool fix_is_l2tp_finding(const char *id)
{
    return strncmp(id, "L2TP_", 5) == 0 || strncmp(id, "MANUAL_", 7) == 0 ||
           strcmp(id, "IPHTTPS_L2TP_CERT_SPLIT") == 0;
}

/* Findings that make a profile unacceptable when they remain after it. */
static bool fix_is_blocking_finding(const char *id)
{
    return strncmp(id, "L2TP_CERT_", 10) == 0 || strncmp(id, "MANUAL_", 7) == 0 ||
           strcmp(id, "L2TP_NO_CERT") == 0;
}

/* How far from the top of the naming tree an attribute type sits: netsh prints the CA name
 * top first ("DC=com, DC=contoso, DC=corp, CN=corp-DC1-CA"), Windows dialogs bottom first. */
static int fix_dn_rank(const char *type)
{
    static const struct {
        const char *type;
        int rank;
    } ranks[] = {{"C", 0},  {"DC", 0}, {"ST", 1}, {"L", 2},    {"O", 3},
                 {"OU", 4}, {"CN", 5}, {"E", 6},  {"EMAIL", 6}};
    for (size_t i = 0; i < FIX_COUNT(ranks); i++) {
        if (strcasecmp(ranks[i].type, type) == 0) {
            return ranks[i].rank;
        }
    }
    return 3;
}

/* The DN as netsh prints an Auth1CAName: the policy's DN keeps the order it was written in, so
 * one written bottom first (CN first) is reversed. Caller frees *out. */
static enum proto_rc fix_ca_name_netsh(const struct proto_dn *dn, char **out)
{
    bool reverse = false;
    if (dn->count > 1) {
        reverse = fix_dn_rank(dn->attrs[0].type) > fix_dn_rank(dn->attrs[dn->count - 1].type);
    }
    return proto_dn_format(dn, reverse, out);
}

static bool fix_rule_is_enabled_l2tp(const struct proto_consec_rule *r)
{
    return r->field[PROTO_RULE_ENABLED] != NULL &&
           strcasecmp(r->field[PROTO_RULE_ENABLED], "Yes") == 0 &&
           proto_diagnose_rule_is_l2tp_shaped(r);
}

static bool fix_rule_pinned_to(const struct proto_consec_rule *r, const struct proto_dn *ca)
{
    const char *text = r->field[PROTO_RULE_AUTH1_CA_NAME];
    struct proto_dn dn = {NULL, 0};
    bool same = text != NULL && proto_dn_parse(text, &dn) == PROTO_OK && dn.count > 0 &&
                proto_dn_equal(&dn, ca);
    proto_dn_clear(&dn);
    return same;
}

static enum proto_rc fix_add_dword(struct proto_profile *p, enum proto_dword_name name,
                                   uint32_t data)
{
    struct proto_action *action = NULL;
    enum proto_rc result =
        proto_wire_profile_add_action(p, PROTO_ACTION_REGISTRY_DWORD_SET, &action);
    if (result) {
        return result;
    }
    action->u.dword.name = name;
    action->u.dword.data = data;
    return PROTO_OK;
}

static enum proto_rc fix_push_all(struct proto_strv *v, const char *const *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        enum proto_rc result = proto_strv_push(v, items[i], PROTO_MAX_SEC_METHODS);
        if (result) {
            return result;
        }
    }
    return PROTO_OK;
}

static enum proto_rc fix_add_rule(struct proto_profile *p, const struct proto_policy *policy,
                                  const char *server_address)
{
    struct proto_action *action = NULL;
    enum proto_rc result =
        proto_wire_profile_add_action(p, PROTO_ACTION_IPSEC_RULE_ENSURE, &action);
    if (result) {
        return result;
    }
    struct proto_rule_spec *rule = &action->u.rule;
    rule->enabled = true;
    rule->profiles = PROTO_FW_PROFILE_DOMAIN | PROTO_FW_PROFILE_PRIVATE | PROTO_FW_PROFILE_PUBLIC;
    /* Endpoint1/Port1 are the server's side, Endpoint2/Port2 any client (ca-reverse-order). */
    rule->port1 = FIX_L2TP_PORT;
    rule->port2 = PROTO_RULE_PORT_ANY;
    /* Root, as the KB's rule has it: the policy's expected CA is the CA the clients trust. */
    rule->auth1_cert_type = PROTO_CA_ROOT;
    rule->auth1_cert_mapping = false;
    rule->name = proto_strdup(PROTO_FIX_RULE_NAME);
    rule->description = proto_strdup(FIX_RULE_DESCRIPTION);
    rule->endpoint1 = proto_strdup(server_address);
    rule->endpoint2 = proto_strdup(FIX_ENDPOINT_ANY);
    rule->quick_mode_pfs = proto_strdup(FIX_QUICK_MODE_PFS);
    if (rule->name == NULL || rule->description == NULL || rule->endpoint1 == NULL ||
        rule->endpoint2 == NULL || rule->quick_mode_pfs == NULL) {
        return PROTO_ENOMEM;
    }
    if ((result = fix_ca_name_netsh(&policy->expected_ca, &rule->auth1_ca_name)) != PROTO_OK ||
        (result = fix_push_all(&rule->main_mode_sec_methods, fix_main_mode,
                               FIX_COUNT(fix_main_mode))) != PROTO_OK ||
        (result = fix_push_all(&rule->quick_mode_sec_methods, fix_quick_mode,
                               FIX_COUNT(fix_quick_mode))) != PROTO_OK) {
        return result;
    }
    return PROTO_OK;
}

/* Removes every other enabled L2TP rule pinned to another CA (or to none): left in place it
 * would still offer L2TP clients a certificate they do not trust. A name a profile cannot
 * carry is left alone; the verdict then names the MANUAL_RULE_WRONG_CA that remains. */
static enum proto_rc fix_add_removals(struct proto_profile *p, const struct proto_snapshot *snap,
                                      const struct proto_policy *policy)
{
    struct proto_strv removed = {NULL, 0, 0};
    enum proto_rc result = PROTO_OK;
    for (size_t i = 0; i < snap->rule_count && !result; i++) {
        const struct proto_consec_rule *r = &snap->rules[i];
        const char *name = r->field[PROTO_RULE_NAME];
        if (!fix_rule_is_enabled_l2tp(r) || fix_rule_pinned_to(r, &policy->expected_ca) ||
            !proto_wire_rule_name_ok(name) || strcmp(name, PROTO_FIX_RULE_NAME) == 0 ||
            proto_strv_contains(&removed, name)) {
            continue;
        }
        struct proto_action *action = NULL;
        result = proto_wire_profile_add_action(p, PROTO_ACTION_IPSEC_RULE_REMOVE, &action);
        if (!result) {
            action->u.remove.name = proto_strdup(name);
            result = action->u.remove.name == NULL
                         ? PROTO_ENOMEM
                         : proto_strv_push(&removed, name, PROTO_MAX_RULES);
        }
    }
    proto_strv_clear(&removed);
    return result;
}

static enum proto_rc fix_add_reasons(struct proto_profile *p, const struct proto_diagnosis *d)
{
    for (size_t i = 0; i < d->finding_count; i++) {
        const char *id = d->findings[i].id;
        if (!fix_is_l2tp_finding(id) || proto_strv_contains(&p->reason, id)) {
            continue;
        }
        enum proto_rc result = proto_strv_push(&p->reason, id, PROTO_MAX_PROFILE_REASONS);
        if (result) {
            return result;
        }
    }
    return PROTO_OK;
}

static bool fix_dword_is(struct proto_dword_opt opt, uint32_t value)
{
    return opt.present && opt.value == value;
}

/* ---- build --------------------------------------------------------------------------------- */

enum proto_rc proto_fix_build(const struct proto_snapshot *snap, const struct proto_policy *policy,
                              const struct proto_fix_params *params, struct proto_profile **out)
{
    struct proto_profile *p = NULL;
    struct proto_diagnosis *d = NULL;
    char *encoded = NULL;
    enum proto_rc result;

    if (out == NULL) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    if (snap == NULL || policy == NULL || params == NULL || !policy->has_expected_ca ||
        policy->expected_ca.count == 0 || params->profile_id == NULL ||
        strlen(params->profile_id) >= sizeof(p->profile_id) || snap->host.fqdn == NULL ||
        strlen(snap->host.fqdn) >= sizeof(p->target)) {
        return PROTO_EINVAL;
    }
    const char *server_address = params->server_address != NULL && params->server_address[0]
                                     ? params->server_address
                                     : FIX_ENDPOINT_ANY;

    result = PROTO_ENOMEM;
    p = proto_wire_profile_create();
    if (p == NULL) {
        goto out;
    }
    snprintf(p->profile_id, sizeof(p->profile_id), "%s", params->profile_id);
    for (size_t i = 0; snap->host.fqdn[i] != '\0'; i++) {
        char c = snap->host.fqdn[i];
        p->target[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    p->serial = params->serial;
    p->not_before = params->not_before;
    p->expires = params->expires;
    p->mode = params->mode;

    if ((result = proto_diagnose(snap, policy, &d)) != PROTO_OK ||
        (result = fix_add_reasons(p, d)) != PROTO_OK ||
        (result = fix_add_rule(p, policy, server_address)) != PROTO_OK ||
        (result = fix_add_removals(p, snap, policy)) != PROTO_OK) {
        goto out;
    }
    /* Only a value that is 1 is reset: absent already means 0 and needs no change. */
    bool weak = fix_dword_is(snap->allow_l2tp_weak_crypto, 1);
    if (weak && (result = fix_add_dword(p, PROTO_DWORD_ALLOW_L2TP_WEAK_CRYPTO, 0)) != PROTO_OK) {
        goto out;
    }
    if ((result = fix_add_dword(p, PROTO_DWORD_PROHIBIT_IPSEC, 1)) != PROTO_OK) {
        goto out;
    }
    /* RasMan reads both values when the service starts (windows-sources.md §1.4), so they count
     * only after a restart; a restart drops every VPN session, so only when a value changes. */
    if (weak || !fix_dword_is(snap->prohibit_ipsec, 1)) {
        struct proto_action *restart = NULL;
        result = proto_wire_profile_add_action(p, PROTO_ACTION_SERVICE_RESTART, &restart);
        if (result) {
            goto out;
        }
        restart->u.restart.service = PROTO_SERVICE_REMOTE_ACCESS;
    }
    /* The encoder refuses exactly what an agent's decoder would: a bad parameter (id, window,
     * serial, server address, host name) surfaces here as PROTO_EINVAL. */
    result = proto_wire_encode_profile(p, &encoded, NULL);
    if (result) {
        goto out;
    }
    *out = p;
    p = NULL;
out:
    proto_free(encoded);
    proto_diagnosis_destroy(d);
    proto_wire_profile_destroy(p);
    return result;
}

/* ---- judge --------------------------------------------------------------------------------- */

/* Appends "text" to the verdict's reason, separated by ", "; truncates silently at the end. */
static void fix_reason_add(struct proto_fix_verdict *v, const char *text)
{
    size_t used = strlen(v->reason);
    if (used + 1 >= sizeof(v->reason)) {
        return;
    }
    snprintf(v->reason + used, sizeof(v->reason) - used, "%s%s", used > 0 ? ", " : "", text);
}

/* L2TP still has a way to work in the post-state: under the automatic policy an eligible
 * certificate; under the manual policy an enabled L2TP rule and a store that was read (without
 * it, that the rule's CA issued a usable certificate cannot be known). */
static const char *fix_l2tp_unavailable(const struct proto_snapshot *post,
                                        const struct proto_diagnosis *after)
{
    if (after->automatic_policy) {
        return post->certs_available && after->predicted < 0 ? "no certificate is eligible for IKE"
                                                             : NULL;
    }
    bool any_rule = false;
    for (size_t i = 0; i < post->rule_count && !any_rule; i++) {
        any_rule = fix_rule_is_enabled_l2tp(&post->rules[i]);
    }
    if (!any_rule) {
        return "ProhibitIpSec=1 and no enabled L2TP rule";
    }
    if (!post->certs_available) {
        return "the certificate store was not read, so the rule's certificate is unknown";
    }
    return NULL;
}

enum proto_rc proto_fix_judge(const struct proto_snapshot *snap, const struct proto_policy *policy,
                              const struct proto_profile *profile, struct proto_fix_verdict *out)
{
    enum proto_rc result;

    if (out == NULL) {
        return PROTO_EINVAL;
    }
    memset(out, 0, sizeof(*out));
    if (snap == NULL || policy == NULL || profile == NULL) {
        return PROTO_EINVAL;
    }
    if ((result = proto_diagnose(snap, policy, &out->before)) != PROTO_OK ||
        (result = proto_whatif(snap, profile, &out->post)) != PROTO_OK ||
        (result = proto_diagnose(out->post, policy, &out->after)) != PROTO_OK) {
        proto_fix_verdict_clear(out);
        return result;
    }
    bool blocked = false;
    for (size_t i = 0; i < out->after->finding_count; i++) {
        const char *id = out->after->findings[i].id;
        if (!fix_is_blocking_finding(id)) {
            continue;
        }
        blocked = true;
        /* One mention per id: a finding repeated per rule says nothing new here. */
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) {
            seen = strcmp(out->after->findings[j].id, id) == 0;
        }
        if (!seen) {
            fix_reason_add(out, id);
        }
    }
    const char *unavailable = fix_l2tp_unavailable(out->post, out->after);
    if (unavailable != NULL) {
        blocked = true;
        fix_reason_add(out, unavailable);
    }
    out->acceptable = !blocked;
    return PROTO_OK;
}

void proto_fix_verdict_clear(struct proto_fix_verdict *v)
{
    if (v == NULL) {
        return;
    }
    proto_diagnosis_destroy(v->before);
    proto_diagnosis_destroy(v->after);
    proto_snapshot_destroy(v->post);
    memset(v, 0, sizeof(*v));
}
