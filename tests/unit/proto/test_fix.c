/*
 * Unit tests of proto/fix: the KB 2855053 resolution 2 profile built for each fixture bundle,
 * and the what-if verdict on it and on profiles that must be refused. Policy as the fixture
 * README states: expected CA corp-DC1-CA, now 2026-11-25T00:00:00Z, 30-day horizon.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <dirent.h>

#include "alloc.h"
#include "bundle.h"
#include "fix.h"
#include "json.h"
#include "testutil.h"
#include "whatif.h"

#define NOW 1795564800
#define CORP_CA "DC=com, DC=contoso, DC=corp, CN=corp-DC1-CA"
#define CORP_CA_DIALOG "CN=corp-DC1-CA, DC=corp, DC=contoso, DC=com"
#define PROFILE_ID "6f1c2a4e-8b3d-4c5e-9f70-1a2b3c4d5e6f"

/* Bundles whose store holds no usable certificate from the expected CA: no profile can give
 * them L2TP back, so the what-if must refuse it. */
static const char *const refused_bundles[] = {"manual-rule-cert-no-key", "no-eligible-cert"};

/* Bundles with an L2TP_CERT_* or MANUAL_* finding under the fixture policy: the fix clears it. */
static const char *const fixed_bundles[] = {
    "kb-787-wildcard-first",
    "half-applied-no-rule",
    "half-applied-rule-only",
    "manual-rule-wrong-ca",
    "cert-zoo",
    "iphttps-split",
    "prohibit-ipsec-zero",
    "not-an-l2tp-rule",
    "psk-rule",
};

static struct proto_policy policy_for(const char *ca)
{
    struct proto_policy p = {.now = NOW, .expiry_days = 30, .has_expected_ca = ca != NULL};
    if (ca != NULL) {
        assert_int_equal(proto_dn_parse(ca, &p.expected_ca), PROTO_OK);
    }
    return p;
}

static struct proto_fix_params params_for(const char *server_address)
{
    struct proto_fix_params params = {
        .server_address = server_address,
        .mode = PROTO_PROFILE_APPLY,
        .profile_id = PROFILE_ID,
        .serial = 7,
        .not_before = NOW,
        .expires = NOW + 72 * 3600,
    };
    return params;
}

static struct proto_snapshot *bundle(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "bundles/%s", name);
    struct proto_snapshot *snap = NULL;
    assert_int_equal(proto_bundle_read(testutil_fixture(rel), &snap), PROTO_OK);
    return snap;
}

static struct proto_profile *build(const struct proto_snapshot *snap,
                                   const struct proto_policy *policy, const char *server_address)
{
    struct proto_fix_params params = params_for(server_address);
    struct proto_profile *p = NULL;
    assert_int_equal(proto_fix_build(snap, policy, &params, &p), PROTO_OK);
    assert_non_null(p);
    return p;
}

static bool is_blocking(const char *id)
{
    return strncmp(id, "L2TP_CERT_", 10) == 0 || strncmp(id, "MANUAL_", 7) == 0;
}

static bool has_finding(const struct proto_diagnosis *d, const char *id)
{
    for (size_t i = 0; i < d->finding_count; i++) {
        if (strcmp(d->findings[i].id, id) == 0) {
            return true;
        }
    }
    return false;
}

static size_t count_actions(const struct proto_profile *p, enum proto_action_type type)
{
    size_t n = 0;
    for (size_t i = 0; i < p->action_count; i++) {
        n += p->actions[i].type == type;
    }
    return n;
}

static const struct proto_rule_spec *ensured_rule(const struct proto_profile *p)
{
    for (size_t i = 0; i < p->action_count; i++) {
        if (p->actions[i].type == PROTO_ACTION_IPSEC_RULE_ENSURE) {
            return &p->actions[i].u.rule;
        }
    }
    fail_msg("the profile ensures no rule");
    return NULL;
}

static bool sets_dword(const struct proto_profile *p, enum proto_dword_name name, uint32_t data)
{
    for (size_t i = 0; i < p->action_count; i++) {
        const struct proto_action *a = &p->actions[i];
        if (a->type == PROTO_ACTION_REGISTRY_DWORD_SET && a->u.dword.name == name &&
            a->u.dword.data == data) {
            return true;
        }
    }
    return false;
}

static bool is_refused_bundle(const char *name)
{
    for (size_t i = 0; i < sizeof(refused_bundles) / sizeof(refused_bundles[0]); i++) {
        if (strcmp(refused_bundles[i], name) == 0) {
            return true;
        }
    }
    return false;
}

static char *snapshot_json(const struct proto_snapshot *snap)
{
    cJSON *obj = proto_json_from_snapshot(snap);
    assert_non_null(obj);
    char *text = cJSON_PrintUnformatted(obj);
    assert_non_null(text);
    cJSON_Delete(obj);
    return text;
}

/* The profile as an agent receives it (encoded, then decoded) predicts the same post-state. */
static void check_wire_round_trip(const struct proto_snapshot *snap, const struct proto_profile *p,
                                  const struct proto_snapshot *post)
{
    char *encoded = NULL;
    size_t len = 0;
    assert_int_equal(proto_wire_encode_profile(p, &encoded, &len), PROTO_OK);
    struct proto_profile *decoded = NULL;
    assert_int_equal(proto_wire_decode_profile(encoded, len, &decoded, NULL), PROTO_OK);
    struct proto_snapshot *again = NULL;
    assert_int_equal(proto_whatif(snap, decoded, &again), PROTO_OK);
    char *a = snapshot_json(post), *b = snapshot_json(again);
    assert_string_equal(a, b);
    cJSON_free(a);
    cJSON_free(b);
    proto_snapshot_destroy(again);
    proto_wire_profile_destroy(decoded);
    proto_free(encoded);
}

/* ---- every fixture bundle ------------------------------------------------------------------ */

static void test_fix_for_every_bundle_with_an_l2tp_finding_clears_it_or_is_refused(void **state)
{
    (void)state;
    struct proto_policy policy = policy_for(CORP_CA);
    DIR *dir = opendir(testutil_fixture("bundles"));
    assert_non_null(dir);
    size_t fixed = 0, refused = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.' || strchr(de->d_name, '.') != NULL) {
            continue;
        }
        struct proto_snapshot *snap = bundle(de->d_name);
        struct proto_diagnosis *d = NULL;
        assert_int_equal(proto_diagnose(snap, &policy, &d), PROTO_OK);
        bool l2tp = false;
        for (size_t i = 0; i < d->finding_count; i++) {
            l2tp = l2tp || is_blocking(d->findings[i].id);
        }
        proto_diagnosis_destroy(d);
        if (!l2tp && !is_refused_bundle(de->d_name)) {
            proto_snapshot_destroy(snap);
            continue;
        }
        struct proto_profile *p = build(snap, &policy, "131.107.0.1");
        struct proto_fix_verdict v;
        assert_int_equal(proto_fix_judge(snap, &policy, p, &v), PROTO_OK);
        if (is_refused_bundle(de->d_name)) {
            if (v.acceptable || strstr(v.reason, "MANUAL_RULE_NO_CERT") == NULL) {
                fail_msg("%s: expected a refusal naming MANUAL_RULE_NO_CERT, got '%s'", de->d_name,
                         v.reason);
            }
            refused++;
        } else {
            if (!v.acceptable) {
                fail_msg("%s: fix refused: %s", de->d_name, v.reason);
            }
            for (size_t i = 0; i < v.after->finding_count; i++) {
                if (is_blocking(v.after->findings[i].id)) {
                    fail_msg("%s: %s remains after the fix", de->d_name, v.after->findings[i].id);
                }
            }
            /* Every L2TP finding it clears is named in the profile's reason. */
            for (size_t i = 0; i < v.before->finding_count; i++) {
                if (is_blocking(v.before->findings[i].id)) {
                    assert_true(proto_strv_contains(&p->reason, v.before->findings[i].id));
                }
            }
            bool listed = false;
            for (size_t i = 0; i < sizeof(fixed_bundles) / sizeof(fixed_bundles[0]); i++) {
                listed = listed || strcmp(fixed_bundles[i], de->d_name) == 0;
            }
            if (!listed) {
                fail_msg("%s: fixed, but not listed in fixed_bundles", de->d_name);
            }
            fixed++;
        }
        check_wire_round_trip(snap, p, v.post);
        proto_fix_verdict_clear(&v);
        proto_wire_profile_destroy(p);
        proto_snapshot_destroy(snap);
    }
    closedir(dir);
    /* A new bundle with an L2TP finding must join one of the two lists. */
    assert_int_equal(fixed, sizeof(fixed_bundles) / sizeof(fixed_bundles[0]));
    assert_int_equal(refused, sizeof(refused_bundles) / sizeof(refused_bundles[0]));
    proto_policy_clear(&policy);
}

/* ---- the profile --------------------------------------------------------------------------- */

static void test_fix_ensures_the_kb_rule_then_sets_prohibit_ipsec_and_restarts(void **state)
{
    (void)state;
    struct proto_policy policy = policy_for(CORP_CA);
    struct proto_snapshot *snap = bundle("kb-787-wildcard-first");
    struct proto_profile *p = build(snap, &policy, "131.107.0.1");

    assert_string_equal(p->profile_id, PROFILE_ID);
    assert_string_equal(p->target, "rras01.corp.contoso.com");
    assert_int_equal(p->serial, 7);
    assert_int_equal(p->mode, PROTO_PROFILE_APPLY);
    assert_int_equal(p->reason.count, 3);
    assert_true(proto_strv_contains(&p->reason, "L2TP_CERT_AMBIGUOUS"));
    assert_true(proto_strv_contains(&p->reason, "L2TP_CERT_WILDCARD"));
    assert_true(proto_strv_contains(&p->reason, "L2TP_CERT_WRONG_CA"));

    assert_int_equal(p->action_count, 3);
    assert_int_equal(p->actions[0].type, PROTO_ACTION_IPSEC_RULE_ENSURE);
    assert_int_equal(p->actions[1].type, PROTO_ACTION_REGISTRY_DWORD_SET);
    assert_int_equal(p->actions[1].u.dword.name, PROTO_DWORD_PROHIBIT_IPSEC);
    assert_int_equal(p->actions[1].u.dword.data, 1);
    assert_int_equal(p->actions[2].type, PROTO_ACTION_SERVICE_RESTART);
    assert_int_equal(p->actions[2].u.restart.service, PROTO_SERVICE_REMOTE_ACCESS);
    /* AllowL2TPWeakCrypto is 0x0 on this host: left alone. */
    assert_false(sets_dword(p, PROTO_DWORD_ALLOW_L2TP_WEAK_CRYPTO, 0));

    const struct proto_rule_spec *r = ensured_rule(p);
    assert_string_equal(r->name, PROTO_FIX_RULE_NAME);
    assert_true(r->enabled);
    assert_int_equal(r->profiles,
                     PROTO_FW_PROFILE_DOMAIN | PROTO_FW_PROFILE_PRIVATE | PROTO_FW_PROFILE_PUBLIC);
    assert_string_equal(r->endpoint1, "131.107.0.1");
    assert_string_equal(r->endpoint2, "Any");
    assert_int_equal(r->port1, 1701);
    assert_int_equal(r->port2, PROTO_RULE_PORT_ANY);
    assert_string_equal(r->auth1_ca_name, CORP_CA);
    assert_int_equal(r->auth1_cert_type, PROTO_CA_ROOT);
    assert_false(r->auth1_cert_mapping);
    assert_string_equal(r->quick_mode_pfs, "None");
    assert_true(r->main_mode_sec_methods.count >= 1);
    assert_string_equal(r->main_mode_sec_methods.items[0], "DHGroup14-AES256-SHA256");
    assert_string_equal(r->quick_mode_sec_methods.items[0], "ESP:SHA256-AES256+60min+100000kb");
    const struct proto_strv *lists[] = {&r->main_mode_sec_methods, &r->quick_mode_sec_methods};
    for (size_t l = 0; l < 2; l++) {
        for (size_t i = 0; i < lists[l]->count; i++) {
            const char *m = lists[l]->items[i];
            assert_null(strstr(m, "DHGroup1-"));
            assert_null(strstr(m, "DHGroup2-"));
            assert_null(strstr(m, "DES"));
            assert_null(strstr(m, "MD5"));
            assert_null(strstr(m, "None"));
        }
    }

    /* The post-state has no weak crypto either. */
    struct proto_fix_verdict v;
    assert_int_equal(proto_fix_judge(snap, &policy, p, &v), PROTO_OK);
    assert_true(v.acceptable);
    assert_string_equal(v.reason, "");
    assert_int_equal(v.after->finding_count, 0);
    assert_true(v.post->prohibit_ipsec.present && v.post->prohibit_ipsec.value == 1);
    proto_fix_verdict_clear(&v);
    proto_wire_profile_destroy(p);
    proto_snapshot_destroy(snap);
    proto_policy_clear(&policy);
}

static void test_fix_pins_the_ca_in_netsh_order_whatever_order_the_policy_uses(void **state)
{
    (void)state;
    struct proto_policy policy = policy_for(CORP_CA_DIALOG);
    struct proto_snapshot *snap = bundle("kb-787-wildcard-first");
    struct proto_profile *p = build(snap, &policy, NULL);
    assert_string_equal(ensured_rule(p)->auth1_ca_name, CORP_CA);
    proto_wire_profile_destroy(p);
    proto_policy_clear(&policy);

    policy = policy_for("C=US, O=Example Trust Inc, CN=Example Public TLS RSA CA G1");
    p = build(snap, &policy, NULL);
    assert_string_equal(ensured_rule(p)->auth1_ca_name,
                        "C=US, O=Example Trust Inc, CN=Example Public TLS RSA CA G1");
    proto_wire_profile_destroy(p);
    proto_policy_clear(&policy);
    proto_snapshot_destroy(snap);
}

static void test_fix_without_a_server_address_uses_any_for_endpoint1(void **state)
{
    (void)state;
    struct proto_policy policy = policy_for(CORP_CA);
    struct proto_snapshot *snap = bundle("kb-787-wildcard-first");
    struct proto_profile *p = build(snap, &policy, NULL);
    assert_string_equal(ensured_rule(p)->endpoint1, "Any");
    proto_wire_profile_destroy(p);
    p = build(snap, &policy, "");
    assert_string_equal(ensured_rule(p)->endpoint1, "Any");
    proto_wire_profile_destroy(p);
    proto_snapshot_destroy(snap);
    proto_policy_clear(&policy);
}

static void test_fix_resets_allow_l2tp_weak_crypto_only_where_it_is_1(void **state)
{
    (void)state;
    struct proto_policy policy = policy_for(CORP_CA);
    struct proto_snapshot *snap = bundle("weak-crypto-registry");
    struct proto_profile *p = build(snap, &policy, NULL);
    assert_true(sets_dword(p, PROTO_DWORD_ALLOW_L2TP_WEAK_CRYPTO, 0));
    assert_int_equal(p->actions[p->action_count - 1].type, PROTO_ACTION_SERVICE_RESTART);
    struct proto_fix_verdict v;
    assert_int_equal(proto_fix_judge(snap, &policy, p, &v), PROTO_OK);
    assert_true(v.acceptable);
    assert_false(has_finding(v.before, "L2TP_CERT_AMBIGUOUS"));
    assert_true(has_finding(v.before, "WEAK_IPSEC_CRYPTO"));
    assert_false(has_finding(v.after, "WEAK_IPSEC_CRYPTO"));
    assert_int_equal(v.post->allow_l2tp_weak_crypto.value, 0);
    proto_fix_verdict_clear(&v);
    proto_wire_profile_destroy(p);
    proto_snapshot_destroy(snap);
    proto_policy_clear(&policy);
}

static void test_fix_removes_enabled_l2tp_rules_pinned_to_another_ca_only(void **state)
{
    (void)state;
    struct proto_policy policy = policy_for(CORP_CA);
    struct proto_snapshot *snap = bundle("manual-rule-wrong-ca");
    struct proto_profile *p = build(snap, &policy, NULL);
    assert_int_equal(count_actions(p, PROTO_ACTION_IPSEC_RULE_REMOVE), 1);
    assert_int_equal(p->actions[1].type, PROTO_ACTION_IPSEC_RULE_REMOVE);
    assert_string_equal(p->actions[1].u.remove.name, "L2TP Manual Rule");
    assert_true(proto_strv_contains(&p->reason, "MANUAL_RULE_WRONG_CA"));
    struct proto_fix_verdict v;
    assert_int_equal(proto_fix_judge(snap, &policy, p, &v), PROTO_OK);
    assert_true(v.acceptable);
    assert_int_equal(v.post->rule_count, 1);
    assert_string_equal(v.post->rules[0].field[PROTO_RULE_NAME], PROTO_FIX_RULE_NAME);
    proto_fix_verdict_clear(&v);
    proto_wire_profile_destroy(p);
    proto_snapshot_destroy(snap);

    /* The enabled rule pinned to the expected CA and the disabled public-CA rule both stay. */
    snap = bundle("kb-fix-verbatim");
    p = build(snap, &policy, NULL);
    assert_int_equal(count_actions(p, PROTO_ACTION_IPSEC_RULE_REMOVE), 0);
    proto_wire_profile_destroy(p);
    proto_snapshot_destroy(snap);
    proto_policy_clear(&policy);
}

static void test_fix_on_a_host_already_at_prohibit_ipsec_1_does_not_restart(void **state)
{
    (void)state;
    struct proto_policy policy = policy_for(CORP_CA);
    struct proto_snapshot *snap = bundle("half-applied-no-rule");
    struct proto_profile *p = build(snap, &policy, NULL);
    assert_int_equal(count_actions(p, PROTO_ACTION_SERVICE_RESTART), 0);
    assert_true(sets_dword(p, PROTO_DWORD_PROHIBIT_IPSEC, 1));
    assert_int_equal(p->reason.count, 1);
    assert_string_equal(p->reason.items[0], "MANUAL_POLICY_NO_RULE");
    proto_wire_profile_destroy(p);
    proto_snapshot_destroy(snap);
    proto_policy_clear(&policy);
}

static void test_fix_replaces_an_earlier_rrasfleet_rule_instead_of_removing_it(void **state)
{
    (void)state;
    struct proto_policy policy = policy_for(CORP_CA);
    struct proto_snapshot *snap = bundle("half-applied-no-rule");
    /* A rule of ours from an earlier profile, now pinned to the wrong CA. */
    struct proto_policy other =
        policy_for("C=US, O=Example Trust Inc, CN=Example Public TLS RSA CA G1");
    struct proto_profile *old = build(snap, &other, NULL);
    struct proto_snapshot *mid = NULL;
    assert_int_equal(proto_whatif(snap, old, &mid), PROTO_OK);
    struct proto_profile *p = build(mid, &policy, NULL);
    assert_int_equal(count_actions(p, PROTO_ACTION_IPSEC_RULE_REMOVE), 0);
    struct proto_fix_verdict v;
    assert_int_equal(proto_fix_judge(mid, &policy, p, &v), PROTO_OK);
    assert_true(has_finding(v.before, "MANUAL_RULE_WRONG_CA"));
    assert_true(v.acceptable);
    assert_int_equal(v.post->rule_count, 1);
    assert_string_equal(v.post->rules[0].field[PROTO_RULE_AUTH1_CA_NAME], CORP_CA);
    proto_fix_verdict_clear(&v);
    proto_wire_profile_destroy(p);
    proto_wire_profile_destroy(old);
    proto_snapshot_destroy(mid);
    proto_snapshot_destroy(snap);
    proto_policy_clear(&other);
    proto_policy_clear(&policy);
}

/* ---- refusals ------------------------------------------------------------------------------ */

static void test_fix_without_an_expected_ca_or_with_bad_parameters_is_einval(void **state)
{
    (void)state;
    struct proto_snapshot *snap = bundle("kb-787-wildcard-first");
    struct proto_policy none = policy_for(NULL);
    struct proto_fix_params params = params_for(NULL);
    struct proto_profile *p = NULL;
    assert_int_equal(proto_fix_build(snap, &none, &params, &p), PROTO_EINVAL);
    assert_null(p);

    struct proto_policy policy = policy_for(CORP_CA);
    struct proto_fix_params bad = params_for(NULL);
    bad.profile_id = "not-a-uuid";
    assert_int_equal(proto_fix_build(snap, &policy, &bad, &p), PROTO_EINVAL);
    bad = params_for(NULL);
    bad.profile_id = NULL;
    assert_int_equal(proto_fix_build(snap, &policy, &bad, &p), PROTO_EINVAL);
    bad = params_for(NULL);
    bad.expires = bad.not_before;
    assert_int_equal(proto_fix_build(snap, &policy, &bad, &p), PROTO_EINVAL);
    bad = params_for(NULL);
    bad.serial = 0;
    assert_int_equal(proto_fix_build(snap, &policy, &bad, &p), PROTO_EINVAL);
    bad = params_for("vpn.contoso.com"); /* an address, not a name */
    assert_int_equal(proto_fix_build(snap, &policy, &bad, &p), PROTO_EINVAL);
    bad = params_for("10.0.0.1\" action=noauthentication");
    assert_int_equal(proto_fix_build(snap, &policy, &bad, &p), PROTO_EINVAL);
    assert_int_equal(proto_fix_build(snap, &policy, NULL, &p), PROTO_EINVAL);
    assert_null(p);

    proto_free(snap->host.fqdn);
    snap->host.fqdn = NULL;
    bad = params_for(NULL);
    assert_int_equal(proto_fix_build(snap, &policy, &bad, &p), PROTO_EINVAL);
    assert_null(p);
    proto_policy_clear(&policy);
    proto_snapshot_destroy(snap);
}

static void test_fix_for_a_host_without_a_usable_cert_from_the_ca_is_refused(void **state)
{
    (void)state;
    struct proto_policy policy = policy_for(CORP_CA);
    struct proto_snapshot *snap = bundle("manual-rule-cert-no-key");
    struct proto_profile *p = build(snap, &policy, NULL);
    assert_true(proto_strv_contains(&p->reason, "MANUAL_RULE_NO_CERT"));
    struct proto_fix_verdict v;
    assert_int_equal(proto_fix_judge(snap, &policy, p, &v), PROTO_OK);
    assert_false(v.acceptable);
    assert_non_null(strstr(v.reason, "MANUAL_RULE_NO_CERT"));
    assert_true(has_finding(v.after, "MANUAL_RULE_NO_CERT"));
    proto_fix_verdict_clear(&v);
    proto_wire_profile_destroy(p);
    proto_snapshot_destroy(snap);
    proto_policy_clear(&policy);
}

static void test_a_profile_that_only_sets_prohibit_ipsec_is_refused(void **state)
{
    (void)state;
    struct proto_policy policy = policy_for(CORP_CA);
    struct proto_snapshot *snap = bundle("kb-787-wildcard-first");
    struct proto_profile *p = proto_wire_profile_create();
    assert_non_null(p);
    struct proto_action *a = NULL;
    assert_int_equal(proto_wire_profile_add_action(p, PROTO_ACTION_REGISTRY_DWORD_SET, &a),
                     PROTO_OK);
    a->u.dword.name = PROTO_DWORD_PROHIBIT_IPSEC;
    a->u.dword.data = 1;
    struct proto_fix_verdict v;
    assert_int_equal(proto_fix_judge(snap, &policy, p, &v), PROTO_OK);
    assert_false(v.acceptable);
    assert_non_null(strstr(v.reason, "MANUAL_POLICY_NO_RULE"));
    assert_non_null(strstr(v.reason, "no enabled L2TP rule"));
    assert_true(has_finding(v.before, "L2TP_CERT_WILDCARD"));
    assert_false(has_finding(v.after, "L2TP_CERT_WILDCARD"));
    proto_fix_verdict_clear(&v);
    proto_wire_profile_destroy(p);
    proto_snapshot_destroy(snap);
    proto_policy_clear(&policy);
}

static void test_a_profile_that_only_ensures_the_rule_is_refused(void **state)
{
    (void)state;
    struct proto_policy policy = policy_for(CORP_CA);
    struct proto_snapshot *snap = bundle("kb-787-wildcard-first");
    struct proto_profile *p = build(snap, &policy, NULL);
    /* Keep only the ensure: RRAS would still apply its automatic policy. */
    for (size_t i = 1; i < p->action_count; i++) {
        assert_int_not_equal(p->actions[i].type, PROTO_ACTION_IPSEC_RULE_ENSURE);
    }
    size_t keep = p->action_count;
    p->action_count = 1;
    struct proto_fix_verdict v;
    assert_int_equal(proto_fix_judge(snap, &policy, p, &v), PROTO_OK);
    assert_false(v.acceptable);
    assert_non_null(strstr(v.reason, "L2TP_CERT_WILDCARD"));
    assert_non_null(strstr(v.reason, "L2TP_CERT_WRONG_CA"));
    proto_fix_verdict_clear(&v);
    p->action_count = keep;
    proto_wire_profile_destroy(p);
    proto_snapshot_destroy(snap);
    proto_policy_clear(&policy);
}

static void test_a_profile_for_a_host_whose_store_was_not_read_is_refused(void **state)
{
    (void)state;
    struct proto_policy policy = policy_for(CORP_CA);
    struct proto_snapshot *snap = bundle("missing-files");
    struct proto_profile *p = build(snap, &policy, NULL);
    struct proto_fix_verdict v;
    assert_int_equal(proto_fix_judge(snap, &policy, p, &v), PROTO_OK);
    assert_false(v.acceptable);
    assert_non_null(strstr(v.reason, "not read"));
    proto_fix_verdict_clear(&v);
    proto_wire_profile_destroy(p);
    proto_snapshot_destroy(snap);
    proto_policy_clear(&policy);
}

static void test_verdict_clear_accepts_a_zeroed_verdict_and_null(void **state)
{
    (void)state;
    struct proto_fix_verdict v;
    memset(&v, 0, sizeof(v));
    proto_fix_verdict_clear(&v);
    proto_fix_verdict_clear(NULL);
    assert_false(v.acceptable);
}

/* ---- out of memory ------------------------------------------------------------------------- */

static void test_out_of_memory_while_building_and_judging_fails_cleanly(void **state)
{
    (void)state;
    struct proto_policy policy = policy_for(CORP_CA);
    struct proto_snapshot *snap = bundle("manual-rule-wrong-ca");
    struct proto_fix_params params = params_for("131.107.0.7");
    enum proto_rc rc = PROTO_ENOMEM;
    unsigned long n;
    struct proto_profile *p = NULL;
    for (n = 1; rc == PROTO_ENOMEM && n < 100000; n++) {
        proto_alloc_fail_after(n);
        rc = proto_fix_build(snap, &policy, &params, &p);
        proto_alloc_fail_after(0);
        if (rc == PROTO_ENOMEM) {
            assert_null(p);
        }
    }
    assert_int_equal(rc, PROTO_OK);
    print_message("build survived %lu failing allocation points\n", n - 2);
    struct proto_fix_verdict v;
    rc = PROTO_ENOMEM;
    for (n = 1; rc == PROTO_ENOMEM && n < 100000; n++) {
        proto_alloc_fail_after(n);
        rc = proto_fix_judge(snap, &policy, p, &v);
        proto_alloc_fail_after(0);
        if (rc == PROTO_ENOMEM) {
            assert_null(v.before);
            assert_null(v.after);
            assert_null(v.post);
        }
    }
    assert_int_equal(rc, PROTO_OK);
    print_message("judge survived %lu failing allocation points\n", n - 2);
    assert_true(v.acceptable);
    proto_fix_verdict_clear(&v);
    proto_wire_profile_destroy(p);
    proto_snapshot_destroy(snap);
    proto_policy_clear(&policy);
}

int main(void)
{
    proto_alloc_install_cjson_hooks();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fix_for_every_bundle_with_an_l2tp_finding_clears_it_or_is_refused),
        cmocka_unit_test(test_fix_ensures_the_kb_rule_then_sets_prohibit_ipsec_and_restarts),
        cmocka_unit_test(test_fix_pins_the_ca_in_netsh_order_whatever_order_the_policy_uses),
        cmocka_unit_test(test_fix_without_a_server_address_uses_any_for_endpoint1),
        cmocka_unit_test(test_fix_resets_allow_l2tp_weak_crypto_only_where_it_is_1),
        cmocka_unit_test(test_fix_removes_enabled_l2tp_rules_pinned_to_another_ca_only),
        cmocka_unit_test(test_fix_on_a_host_already_at_prohibit_ipsec_1_does_not_restart),
        cmocka_unit_test(test_fix_replaces_an_earlier_rrasfleet_rule_instead_of_removing_it),
        cmocka_unit_test(test_fix_without_an_expected_ca_or_with_bad_parameters_is_einval),
        cmocka_unit_test(test_fix_for_a_host_without_a_usable_cert_from_the_ca_is_refused),
        cmocka_unit_test(test_a_profile_that_only_sets_prohibit_ipsec_is_refused),
        cmocka_unit_test(test_a_profile_that_only_ensures_the_rule_is_refused),
        cmocka_unit_test(test_a_profile_for_a_host_whose_store_was_not_read_is_refused),
        cmocka_unit_test(test_verdict_clear_accepts_a_zeroed_verdict_and_null),
        cmocka_unit_test(test_out_of_memory_while_building_and_judging_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
