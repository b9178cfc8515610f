/*
 * Unit tests of proto/whatif: the deep copy, each action of the closed list changing exactly
 * what it should (compared as JSON with everything else), and the rule netsh would print for a
 * profile's rule spec. Snapshots come from the capture-bundle fixtures.
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
#include "diagnose.h"
#include "json.h"
#include "testutil.h"
#include "whatif.h"

#define CORP_CA "DC=com, DC=contoso, DC=corp, CN=corp-DC1-CA"
#define RASMAN_AS_PRINTED                                                                          \
    "HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Services\\Rasman\\Parameters"

static struct proto_snapshot *bundle(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "bundles/%s", name);
    struct proto_snapshot *snap = NULL;
    assert_int_equal(proto_bundle_read(testutil_fixture(rel), &snap), PROTO_OK);
    assert_non_null(snap);
    return snap;
}

static struct proto_snapshot *clone_of(const struct proto_snapshot *snap)
{
    struct proto_snapshot *copy = NULL;
    assert_int_equal(proto_snapshot_clone(snap, &copy), PROTO_OK);
    assert_non_null(copy);
    return copy;
}

/* The snapshot as JSON, host included, with the members named in `drop` (paths like
 * "ipsec.rules" or "registry") removed so the rest can be compared. Caller frees. */
static char *json_without(const struct proto_snapshot *snap, const char *const *drop)
{
    cJSON *obj = proto_json_from_snapshot(snap);
    assert_non_null(obj);
    cJSON *host = proto_json_from_host(&snap->host);
    assert_non_null(host);
    assert_true(cJSON_AddItemToObject(obj, "host", host));
    for (size_t i = 0; drop != NULL && drop[i] != NULL; i++) {
        const char *dot = strchr(drop[i], '.');
        if (dot == NULL) {
            cJSON_DeleteItemFromObjectCaseSensitive(obj, drop[i]);
            continue;
        }
        char parent[64];
        snprintf(parent, sizeof(parent), "%.*s", (int)(dot - drop[i]), drop[i]);
        cJSON *p = cJSON_GetObjectItemCaseSensitive(obj, parent);
        assert_non_null(p);
        cJSON_DeleteItemFromObjectCaseSensitive(p, dot + 1);
    }
    char *text = cJSON_PrintUnformatted(obj);
    assert_non_null(text);
    cJSON_Delete(obj);
    return text;
}

static void assert_same_except(const struct proto_snapshot *a, const struct proto_snapshot *b,
                               const char *const *drop)
{
    char *ja = json_without(a, drop);
    char *jb = json_without(b, drop);
    assert_string_equal(ja, jb);
    cJSON_free(ja);
    cJSON_free(jb);
}

static const struct proto_reg_value *reg(const struct proto_snapshot *snap, const char *name)
{
    return proto_snapshot_find_reg(snap, "Services\\Rasman\\Parameters", name);
}

static void set_spec_strings(struct proto_rule_spec *r, const char *name, const char *ep1)
{
    r->name = proto_strdup(name);
    r->description = proto_strdup("test rule");
    r->endpoint1 = proto_strdup(ep1);
    r->endpoint2 = proto_strdup("Any");
    r->auth1_ca_name = proto_strdup(CORP_CA);
    r->quick_mode_pfs = proto_strdup("DHGroup14");
    assert_non_null(r->name);
    assert_non_null(r->description);
    assert_non_null(r->endpoint1);
    assert_non_null(r->endpoint2);
    assert_non_null(r->auth1_ca_name);
    assert_non_null(r->quick_mode_pfs);
    assert_int_equal(proto_strv_push(&r->main_mode_sec_methods, "DHGroup14-AES256-SHA256", 16),
                     PROTO_OK);
    assert_int_equal(proto_strv_push(&r->main_mode_sec_methods, "ECDHP256-AES128-SHA256", 16),
                     PROTO_OK);
    assert_int_equal(
        proto_strv_push(&r->quick_mode_sec_methods, "ESP:SHA256-AES256+60min+100000kb", 16),
        PROTO_OK);
}

/* A profile with one ensure action for an L2TP rule named `name` (server side port1 1701). */
static struct proto_profile *ensure_profile(const char *name, const char *ep1)
{
    struct proto_profile *p = proto_wire_profile_create();
    assert_non_null(p);
    struct proto_action *a = NULL;
    assert_int_equal(proto_wire_profile_add_action(p, PROTO_ACTION_IPSEC_RULE_ENSURE, &a),
                     PROTO_OK);
    struct proto_rule_spec *r = &a->u.rule;
    r->enabled = true;
    r->profiles = PROTO_FW_PROFILE_DOMAIN | PROTO_FW_PROFILE_PRIVATE | PROTO_FW_PROFILE_PUBLIC;
    r->port1 = 1701;
    r->port2 = PROTO_RULE_PORT_ANY;
    r->auth1_cert_type = PROTO_CA_ROOT;
    set_spec_strings(r, name, ep1);
    return p;
}

static struct proto_profile *one_action_profile(enum proto_action_type type)
{
    struct proto_profile *p = proto_wire_profile_create();
    assert_non_null(p);
    struct proto_action *a = NULL;
    assert_int_equal(proto_wire_profile_add_action(p, type, &a), PROTO_OK);
    return p;
}

static struct proto_snapshot *whatif(const struct proto_snapshot *snap,
                                     const struct proto_profile *p)
{
    struct proto_snapshot *post = NULL;
    assert_int_equal(proto_whatif(snap, p, &post), PROTO_OK);
    assert_non_null(post);
    return post;
}

static const char *field(const struct proto_consec_rule *r, enum proto_rule_field f)
{
    return r->field[f];
}

/* ---- clone --------------------------------------------------------------------------------- */

static void test_clone_of_every_bundle_encodes_exactly_like_the_original(void **state)
{
    (void)state;
    DIR *dir = opendir(testutil_fixture("bundles"));
    assert_non_null(dir);
    size_t checked = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.' || strchr(de->d_name, '.') != NULL) {
            continue;
        }
        struct proto_snapshot *snap = bundle(de->d_name);
        struct proto_snapshot *copy = clone_of(snap);
        assert_same_except(snap, copy, NULL);
        checked++;
        proto_snapshot_destroy(snap);
        proto_snapshot_destroy(copy);
    }
    closedir(dir);
    assert_true(checked >= 20);
}

static void test_clone_is_deep_and_owns_every_string(void **state)
{
    (void)state;
    struct proto_snapshot *snap = bundle("kb-fix-verbatim");
    assert_int_equal(proto_rule_add_extra(&snap->rules[0], "Grouping", "L2TP"), PROTO_OK);
    assert_int_equal(
        proto_snapshot_add_error(snap, "netsh-http-sslcert.txt", PROTO_EPARSE, "line %d", 7),
        PROTO_OK);
    struct proto_snapshot *copy = clone_of(snap);
    assert_same_except(snap, copy, NULL);
    assert_ptr_not_equal(copy->host.fqdn, snap->host.fqdn);
    assert_ptr_not_equal(copy->certs[0].der, snap->certs[0].der);
    assert_ptr_not_equal(copy->certs[0].subject.attrs, snap->certs[0].subject.attrs);
    assert_ptr_not_equal(copy->rules[0].field[PROTO_RULE_NAME],
                         snap->rules[0].field[PROTO_RULE_NAME]);
    assert_ptr_not_equal(copy->rules[0].extra[0].value, snap->rules[0].extra[0].value);
    assert_ptr_not_equal(copy->registry[0].key, snap->registry[0].key);
    assert_ptr_not_equal(copy->errors[0].message, snap->errors[0].message);
    assert_string_equal(copy->errors[copy->error_count - 1].message, "line 7");

    /* The original outlives its copy, and the copy grows like any snapshot. */
    char *before = json_without(snap, NULL);
    proto_snapshot_destroy(copy);
    copy = clone_of(snap);
    for (int i = 0; i < 9; i++) {
        struct proto_consec_rule *r = NULL;
        assert_int_equal(proto_snapshot_add_rule(copy, &r), PROTO_OK);
    }
    char *after = json_without(snap, NULL);
    assert_string_equal(before, after);
    cJSON_free(before);
    cJSON_free(after);
    proto_snapshot_destroy(copy);
    proto_snapshot_destroy(snap);
}

static void test_clone_of_an_empty_snapshot_is_empty(void **state)
{
    (void)state;
    struct proto_snapshot *snap = proto_snapshot_create();
    assert_non_null(snap);
    struct proto_snapshot *copy = clone_of(snap);
    assert_int_equal(copy->cert_count + copy->rule_count + copy->registry_count, 0);
    assert_null(copy->host.fqdn);
    assert_same_except(snap, copy, NULL);
    proto_snapshot_destroy(copy);
    proto_snapshot_destroy(snap);
    assert_int_equal(proto_snapshot_clone(NULL, &copy), PROTO_EINVAL);
    assert_null(copy);
}

/* ---- registry_dword_set -------------------------------------------------------------------- */

static void test_dword_set_changes_only_the_value_and_its_derived_field(void **state)
{
    (void)state;
    struct proto_snapshot *snap = bundle("weak-crypto-registry");
    assert_true(snap->allow_l2tp_weak_crypto.present && snap->allow_l2tp_weak_crypto.value == 1);
    struct proto_profile *p = one_action_profile(PROTO_ACTION_REGISTRY_DWORD_SET);
    p->actions[0].u.dword.name = PROTO_DWORD_ALLOW_L2TP_WEAK_CRYPTO;
    p->actions[0].u.dword.data = 0;
    struct proto_snapshot *post = whatif(snap, p);

    const char *const drop[] = {"registry", "ipsec.allow_l2tp_weak_crypto", NULL};
    assert_same_except(snap, post, drop);
    assert_int_equal(post->registry_count, snap->registry_count);
    assert_true(post->allow_l2tp_weak_crypto.present);
    assert_int_equal(post->allow_l2tp_weak_crypto.value, 0);
    const struct proto_reg_value *v = reg(post, "AllowL2TPWeakCrypto");
    assert_non_null(v);
    assert_int_equal(v->type, PROTO_REG_DWORD);
    assert_int_equal(v->number, 0);
    assert_string_equal(v->data, "0x0");
    /* Every other value is untouched and in place. */
    for (size_t i = 0; i < snap->registry_count; i++) {
        assert_string_equal(post->registry[i].name, snap->registry[i].name);
        if (&post->registry[i] != v) {
            assert_string_equal(post->registry[i].data, snap->registry[i].data);
        }
    }
    /* The input snapshot is not changed. */
    assert_int_equal(snap->allow_l2tp_weak_crypto.value, 1);
    proto_wire_profile_destroy(p);
    proto_snapshot_destroy(post);
    proto_snapshot_destroy(snap);
}

static void test_dword_set_creates_a_missing_value_under_the_key_as_printed(void **state)
{
    (void)state;
    struct proto_snapshot *snap = bundle("kb-787-wildcard-first");
    assert_false(snap->prohibit_ipsec.present);
    struct proto_profile *p = one_action_profile(PROTO_ACTION_REGISTRY_DWORD_SET);
    p->actions[0].u.dword.name = PROTO_DWORD_PROHIBIT_IPSEC;
    p->actions[0].u.dword.data = 1;
    struct proto_snapshot *post = whatif(snap, p);

    const char *const drop[] = {"registry", "ipsec.prohibit_ipsec", NULL};
    assert_same_except(snap, post, drop);
    assert_int_equal(post->registry_count, snap->registry_count + 1);
    const struct proto_reg_value *v = &post->registry[post->registry_count - 1];
    assert_string_equal(v->key, RASMAN_AS_PRINTED);
    assert_string_equal(v->name, "ProhibitIpSec");
    assert_int_equal(v->type, PROTO_REG_DWORD);
    assert_int_equal(v->number, 1);
    assert_string_equal(v->data, "0x1");
    assert_true(post->prohibit_ipsec.present);
    assert_int_equal(post->prohibit_ipsec.value, 1);
    proto_wire_profile_destroy(p);
    proto_snapshot_destroy(post);
    proto_snapshot_destroy(snap);
}

static void test_dword_set_on_a_host_without_registry_uses_the_allow_listed_key(void **state)
{
    (void)state;
    struct proto_snapshot *snap = bundle("missing-files");
    assert_int_equal(snap->registry_count, 0);
    struct proto_profile *p = one_action_profile(PROTO_ACTION_REGISTRY_DWORD_SET);
    p->actions[0].u.dword.name = PROTO_DWORD_PROHIBIT_IPSEC;
    p->actions[0].u.dword.data = 1;
    struct proto_snapshot *post = whatif(snap, p);
    assert_int_equal(post->registry_count, 1);
    assert_string_equal(post->registry[0].key,
                        proto_dword_allow_list[PROTO_DWORD_PROHIBIT_IPSEC].key);
    assert_true(post->prohibit_ipsec.present && post->prohibit_ipsec.value == 1);
    /* Readability is the host's business: the what-if does not claim the file was read. */
    assert_false(post->registry_available);
    proto_wire_profile_destroy(p);
    proto_snapshot_destroy(post);
    proto_snapshot_destroy(snap);
}

static void test_dword_set_outside_the_allow_list_is_refused_and_changes_nothing(void **state)
{
    (void)state;
    struct proto_snapshot *snap = bundle("weak-crypto-registry");
    struct proto_snapshot *copy = clone_of(snap);
    struct proto_action a = {.type = PROTO_ACTION_REGISTRY_DWORD_SET};
    a.u.dword.name = PROTO_DWORD_ALLOW_L2TP_WEAK_CRYPTO;
    a.u.dword.data = 1; /* only 0 is allowed */
    assert_int_equal(proto_whatif_apply_action(copy, &a), PROTO_EINVAL);
    a.u.dword.name = PROTO_DWORD_PROHIBIT_IPSEC;
    a.u.dword.data = 2;
    assert_int_equal(proto_whatif_apply_action(copy, &a), PROTO_EINVAL);
    a.u.dword.name = PROTO_DWORD_NAME_COUNT;
    a.u.dword.data = 0;
    assert_int_equal(proto_whatif_apply_action(copy, &a), PROTO_EINVAL);
    a.type = PROTO_ACTION_TYPE_COUNT;
    assert_int_equal(proto_whatif_apply_action(copy, &a), PROTO_EINVAL);
    assert_same_except(snap, copy, NULL);
    proto_snapshot_destroy(copy);
    proto_snapshot_destroy(snap);
}

/* ---- ipsec_rule_ensure / ipsec_rule_remove ------------------------------------------------- */

static void test_ensure_replaces_a_same_named_rule_in_place_and_keeps_the_others(void **state)
{
    (void)state;
    struct proto_snapshot *snap = bundle("kb-fix-verbatim");
    assert_int_equal(snap->rule_count, 2);
    assert_string_equal(snap->rules[0].field[PROTO_RULE_NAME], "L2TP Manual Rule");
    struct proto_profile *p = ensure_profile("L2TP Manual Rule", "131.107.0.2");
    struct proto_snapshot *post = whatif(snap, p);

    const char *const drop[] = {"ipsec.rules", NULL};
    assert_same_except(snap, post, drop);
    assert_int_equal(post->rule_count, 2);
    struct proto_consec_rule expected;
    assert_int_equal(proto_rule_from_spec(&p->actions[0].u.rule, &expected), PROTO_OK);
    for (int f = 0; f < PROTO_RULE_FIELD_COUNT; f++) {
        if (expected.field[f] == NULL) {
            assert_null(post->rules[0].field[f]);
        } else {
            assert_string_equal(post->rules[0].field[f], expected.field[f]);
        }
    }
    assert_string_equal(field(&post->rules[0], PROTO_RULE_MM_SEC_METHODS),
                        "DHGroup14-AES256-SHA256,ECDHP256-AES128-SHA256");
    proto_rule_clear(&expected);
    /* The other rule is exactly as it was. */
    for (int f = 0; f < PROTO_RULE_FIELD_COUNT; f++) {
        const char *a = snap->rules[1].field[f], *b = post->rules[1].field[f];
        if (a == NULL) {
            assert_null(b);
        } else {
            assert_string_equal(a, b);
        }
    }
    proto_wire_profile_destroy(p);
    proto_snapshot_destroy(post);
    proto_snapshot_destroy(snap);
}

static void test_ensure_leaves_one_rule_of_the_name_when_there_were_several(void **state)
{
    (void)state;
    struct proto_snapshot *snap = bundle("kb-fix-verbatim");
    /* A namesake after the other rule: [L2TP Manual Rule, Old..., L2TP Manual Rule]. */
    struct proto_consec_rule *dup = NULL;
    assert_int_equal(proto_snapshot_add_rule(snap, &dup), PROTO_OK);
    dup->field[PROTO_RULE_NAME] = proto_strdup("L2TP Manual Rule");
    assert_non_null(dup->field[PROTO_RULE_NAME]);
    struct proto_profile *p = ensure_profile("L2TP Manual Rule", "Any");
    struct proto_snapshot *post = whatif(snap, p);
    assert_int_equal(post->rule_count, 2);
    assert_string_equal(field(&post->rules[0], PROTO_RULE_NAME), "L2TP Manual Rule");
    assert_string_equal(field(&post->rules[0], PROTO_RULE_ENDPOINT1), "Any");
    assert_string_equal(field(&post->rules[1], PROTO_RULE_NAME), "Old L2TP rule (public CA)");
    proto_wire_profile_destroy(p);
    proto_snapshot_destroy(post);
    proto_snapshot_destroy(snap);
}

static void test_ensure_appends_a_rule_no_other_rule_is_named_like(void **state)
{
    (void)state;
    struct proto_snapshot *snap = bundle("kb-fix-verbatim");
    struct proto_profile *p = ensure_profile("rrasfleet L2TP", "131.107.0.2");
    struct proto_snapshot *post = whatif(snap, p);
    const char *const drop[] = {"ipsec.rules", NULL};
    assert_same_except(snap, post, drop);
    assert_int_equal(post->rule_count, 3);
    assert_string_equal(field(&post->rules[2], PROTO_RULE_NAME), "rrasfleet L2TP");
    assert_string_equal(field(&post->rules[0], PROTO_RULE_NAME), "L2TP Manual Rule");
    assert_string_equal(field(&post->rules[1], PROTO_RULE_NAME), "Old L2TP rule (public CA)");
    proto_wire_profile_destroy(p);
    proto_snapshot_destroy(post);
    proto_snapshot_destroy(snap);
}

static void test_ensure_on_a_host_without_rules_adds_the_first_one(void **state)
{
    (void)state;
    struct proto_snapshot *snap = bundle("half-applied-no-rule");
    assert_int_equal(snap->rule_count, 0);
    struct proto_profile *p = ensure_profile("L2TP", "Any");
    struct proto_snapshot *post = whatif(snap, p);
    assert_int_equal(post->rule_count, 1);
    assert_true(post->rules_available);
    proto_wire_profile_destroy(p);
    proto_snapshot_destroy(post);
    proto_snapshot_destroy(snap);
}

static void test_remove_drops_every_rule_of_that_exact_name_and_keeps_the_order(void **state)
{
    (void)state;
    struct proto_snapshot *snap = bundle("not-an-l2tp-rule");
    assert_int_equal(snap->rule_count, 4);
    struct proto_consec_rule *dup = NULL;
    assert_int_equal(proto_snapshot_add_rule(snap, &dup), PROTO_OK);
    dup->field[PROTO_RULE_NAME] = proto_strdup("L2TP in tunnel mode");
    assert_non_null(dup->field[PROTO_RULE_NAME]);
    struct proto_profile *p = one_action_profile(PROTO_ACTION_IPSEC_RULE_REMOVE);
    p->actions[0].u.remove.name = proto_strdup("L2TP in tunnel mode");
    assert_non_null(p->actions[0].u.remove.name);
    struct proto_snapshot *post = whatif(snap, p);
    const char *const drop[] = {"ipsec.rules", NULL};
    assert_same_except(snap, post, drop);
    assert_int_equal(post->rule_count, 3);
    assert_string_equal(field(&post->rules[0], PROTO_RULE_NAME), "L2TP Manual Rule");
    assert_string_equal(field(&post->rules[1], PROTO_RULE_NAME), "L2TP over TCP (typo)");
    assert_string_equal(field(&post->rules[2], PROTO_RULE_NAME),
                        snap->rules[3].field[PROTO_RULE_NAME]);
    proto_wire_profile_destroy(p);
    proto_snapshot_destroy(post);

    /* Another case of the name is another name: nothing goes. */
    p = one_action_profile(PROTO_ACTION_IPSEC_RULE_REMOVE);
    p->actions[0].u.remove.name = proto_strdup("l2tp manual rule");
    assert_non_null(p->actions[0].u.remove.name);
    post = whatif(snap, p);
    assert_same_except(snap, post, NULL);
    proto_wire_profile_destroy(p);
    proto_snapshot_destroy(post);
    proto_snapshot_destroy(snap);
}

static void test_service_restart_changes_nothing(void **state)
{
    (void)state;
    struct proto_snapshot *snap = bundle("resolution2-manual-rule");
    struct proto_profile *p = one_action_profile(PROTO_ACTION_SERVICE_RESTART);
    p->actions[0].u.restart.service = PROTO_SERVICE_REMOTE_ACCESS;
    struct proto_snapshot *post = whatif(snap, p);
    assert_same_except(snap, post, NULL);
    proto_snapshot_destroy(post);
    p->actions[0].u.restart.service = PROTO_SERVICE_COUNT;
    assert_int_equal(proto_whatif(snap, p, &post), PROTO_EINVAL);
    assert_null(post);
    proto_wire_profile_destroy(p);
    proto_snapshot_destroy(snap);
}

static void test_actions_apply_in_order(void **state)
{
    (void)state;
    struct proto_snapshot *snap = bundle("half-applied-no-rule");
    struct proto_profile *p = ensure_profile("L2TP", "Any");
    struct proto_action *a = NULL;
    assert_int_equal(proto_wire_profile_add_action(p, PROTO_ACTION_IPSEC_RULE_REMOVE, &a),
                     PROTO_OK);
    a->u.remove.name = proto_strdup("L2TP");
    assert_non_null(a->u.remove.name);
    struct proto_snapshot *post = whatif(snap, p);
    assert_int_equal(post->rule_count, 0); /* added, then removed */
    proto_snapshot_destroy(post);
    proto_wire_profile_destroy(p);
    proto_snapshot_destroy(snap);
}

/* ---- the rule netsh would print ------------------------------------------------------------ */

static void test_rule_from_spec_prints_every_field_as_netsh_shows_it(void **state)
{
    (void)state;
    struct proto_profile *p = ensure_profile("rrasfleet L2TP", "131.107.0.8");
    struct proto_rule_spec *spec = &p->actions[0].u.rule;
    struct proto_consec_rule r;
    assert_int_equal(proto_rule_from_spec(spec, &r), PROTO_OK);
    const struct {
        enum proto_rule_field field;
        const char *value;
    } want[] = {
        {PROTO_RULE_NAME, "rrasfleet L2TP"},
        {PROTO_RULE_DESCRIPTION, "test rule"},
        {PROTO_RULE_ENABLED, "Yes"},
        {PROTO_RULE_PROFILES, "Domain,Private,Public"},
        {PROTO_RULE_TYPE, "Static"},
        {PROTO_RULE_MODE, "Transport"},
        {PROTO_RULE_INTERFACE_TYPES, "Any"},
        {PROTO_RULE_ENDPOINT1, "131.107.0.8/32"},
        {PROTO_RULE_ENDPOINT2, "Any"},
        {PROTO_RULE_PORT1, "1701"},
        {PROTO_RULE_PORT2, "Any"},
        {PROTO_RULE_PROTOCOL, "UDP"},
        {PROTO_RULE_ACTION, "RequireInRequireOut"},
        {PROTO_RULE_AUTH1, "ComputerCert"},
        {PROTO_RULE_AUTH1_CA_NAME, CORP_CA},
        {PROTO_RULE_AUTH1_CERT_MAPPING, "No"},
        {PROTO_RULE_AUTH1_EXCLUDE_CA_NAME, "No"},
        {PROTO_RULE_AUTH1_CERT_TYPE, "Root"},
        {PROTO_RULE_AUTH1_HEALTH_CERT, "No"},
        {PROTO_RULE_MM_SEC_METHODS, "DHGroup14-AES256-SHA256,ECDHP256-AES128-SHA256"},
        {PROTO_RULE_MM_KEY_LIFETIME, "480min,0sess"},
        {PROTO_RULE_QM_SEC_METHODS, "ESP:SHA256-AES256+60min+100000kb"},
        {PROTO_RULE_QM_PFS, "DHGroup14"},
        {PROTO_RULE_RULE_SOURCE, "Local Setting"},
        {PROTO_RULE_APPLY_AUTHORIZATION, "No"},
    };
    size_t printed = 0;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_non_null(r.field[want[i].field]);
        assert_string_equal(r.field[want[i].field], want[i].value);
    }
    for (int f = 0; f < PROTO_RULE_FIELD_COUNT; f++) {
        printed += r.field[f] != NULL;
    }
    assert_int_equal(printed, sizeof(want) / sizeof(want[0])); /* no PSK, tunnel, Auth2 */
    assert_int_equal(r.extra_count, 0);
    assert_true(proto_diagnose_rule_is_l2tp_shaped(&r));
    proto_rule_clear(&r);

    spec->enabled = false;
    spec->profiles = PROTO_FW_PROFILE_PRIVATE | PROTO_FW_PROFILE_PUBLIC;
    spec->auth1_cert_type = PROTO_CA_INTERMEDIATE;
    spec->auth1_cert_mapping = true;
    spec->port1 = PROTO_RULE_PORT_ANY;
    spec->port2 = 1701;
    assert_int_equal(proto_rule_from_spec(spec, &r), PROTO_OK);
    assert_string_equal(r.field[PROTO_RULE_ENABLED], "No");
    assert_string_equal(r.field[PROTO_RULE_PROFILES], "Private,Public");
    assert_string_equal(r.field[PROTO_RULE_AUTH1_CERT_TYPE], "Intermediate");
    assert_string_equal(r.field[PROTO_RULE_AUTH1_CERT_MAPPING], "Yes");
    assert_string_equal(r.field[PROTO_RULE_PORT1], "Any");
    assert_string_equal(r.field[PROTO_RULE_PORT2], "1701");
    assert_true(proto_diagnose_rule_is_l2tp_shaped(&r));
    proto_rule_clear(&r);
    proto_wire_profile_destroy(p);
}

static void test_rule_from_spec_gives_single_addresses_their_host_prefix(void **state)
{
    (void)state;
    static const struct {
        const char *spec, *printed;
    } cases[] = {
        {"Any", "Any"},
        {"10.0.0.1", "10.0.0.1/32"},
        {"10.0.0.0/24", "10.0.0.0/24"},
        {"10.0.0.1-10.0.0.9", "10.0.0.1-10.0.0.9"},
        {"fe80::1", "fe80::1/128"},
        {"10.0.0.1,fe80::/64,10.0.0.3", "10.0.0.1/32,fe80::/64,10.0.0.3/32"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct proto_profile *p = ensure_profile("L2TP", cases[i].spec);
        struct proto_consec_rule r;
        assert_int_equal(proto_rule_from_spec(&p->actions[0].u.rule, &r), PROTO_OK);
        assert_string_equal(r.field[PROTO_RULE_ENDPOINT1], cases[i].printed);
        proto_rule_clear(&r);
        proto_wire_profile_destroy(p);
    }
}

static void test_an_ensured_enabled_rule_is_an_l2tp_rule_to_the_diagnosis(void **state)
{
    (void)state;
    struct proto_snapshot *snap = bundle("half-applied-no-rule");
    struct proto_policy policy = {.now = 1795564800, .expiry_days = 30, .has_expected_ca = true};
    assert_int_equal(proto_dn_parse(CORP_CA, &policy.expected_ca), PROTO_OK);
    struct proto_profile *p = ensure_profile("L2TP", "131.107.0.5");
    struct proto_snapshot *post = whatif(snap, p);
    struct proto_diagnosis *before = NULL, *after = NULL;
    assert_int_equal(proto_diagnose(snap, &policy, &before), PROTO_OK);
    assert_int_equal(proto_diagnose(post, &policy, &after), PROTO_OK);
    assert_int_equal(before->finding_count, 1);
    assert_string_equal(before->findings[0].id, "MANUAL_POLICY_NO_RULE");
    assert_int_equal(after->finding_count, 0);
    proto_diagnosis_destroy(before);
    proto_diagnosis_destroy(after);
    proto_snapshot_destroy(post);
    proto_wire_profile_destroy(p);
    proto_policy_clear(&policy);
    proto_snapshot_destroy(snap);
}

static void test_rule_from_spec_refuses_a_spec_without_its_strings(void **state)
{
    (void)state;
    struct proto_rule_spec spec;
    memset(&spec, 0, sizeof(spec));
    struct proto_consec_rule r;
    assert_int_equal(proto_rule_from_spec(&spec, &r), PROTO_EINVAL);
    for (int f = 0; f < PROTO_RULE_FIELD_COUNT; f++) {
        assert_null(r.field[f]);
    }
    assert_int_equal(proto_rule_from_spec(NULL, &r), PROTO_EINVAL);
}

/* ---- out of memory ------------------------------------------------------------------------- */

static void test_out_of_memory_at_any_allocation_fails_cleanly(void **state)
{
    (void)state;
    struct proto_snapshot *snap = bundle("kb-fix-verbatim");
    struct proto_profile *p = ensure_profile("rrasfleet L2TP", "131.107.0.2");
    struct proto_action *a = NULL;
    assert_int_equal(proto_wire_profile_add_action(p, PROTO_ACTION_REGISTRY_DWORD_SET, &a),
                     PROTO_OK);
    a->u.dword.name = PROTO_DWORD_PROHIBIT_IPSEC;
    a->u.dword.data = 0;
    assert_int_equal(proto_wire_profile_add_action(p, PROTO_ACTION_REGISTRY_DWORD_SET, &a),
                     PROTO_OK);
    a->u.dword.name = PROTO_DWORD_ALLOW_L2TP_WEAK_CRYPTO;
    a->u.dword.data = 0;
    char *want = NULL;
    struct proto_snapshot *post = whatif(snap, p);
    want = json_without(post, NULL);
    proto_snapshot_destroy(post);

    enum proto_rc rc = PROTO_ENOMEM;
    unsigned long n;
    for (n = 1; rc == PROTO_ENOMEM && n < 100000; n++) {
        post = NULL;
        proto_alloc_fail_after(n);
        rc = proto_whatif(snap, p, &post);
        proto_alloc_fail_after(0);
        if (rc == PROTO_ENOMEM) {
            assert_null(post);
        }
    }
    assert_int_equal(rc, PROTO_OK);
    print_message("what-if survived %lu failing allocation points\n", n - 2);
    char *got = json_without(post, NULL);
    assert_string_equal(got, want);
    cJSON_free(got);
    cJSON_free(want);
    proto_snapshot_destroy(post);
    proto_wire_profile_destroy(p);
    proto_snapshot_destroy(snap);
}

int main(void)
{
    proto_alloc_install_cjson_hooks();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clone_of_every_bundle_encodes_exactly_like_the_original),
        cmocka_unit_test(test_clone_is_deep_and_owns_every_string),
        cmocka_unit_test(test_clone_of_an_empty_snapshot_is_empty),
        cmocka_unit_test(test_dword_set_changes_only_the_value_and_its_derived_field),
        cmocka_unit_test(test_dword_set_creates_a_missing_value_under_the_key_as_printed),
        cmocka_unit_test(test_dword_set_on_a_host_without_registry_uses_the_allow_listed_key),
        cmocka_unit_test(test_dword_set_outside_the_allow_list_is_refused_and_changes_nothing),
        cmocka_unit_test(test_ensure_replaces_a_same_named_rule_in_place_and_keeps_the_others),
        cmocka_unit_test(test_ensure_leaves_one_rule_of_the_name_when_there_were_several),
        cmocka_unit_test(test_ensure_appends_a_rule_no_other_rule_is_named_like),
        cmocka_unit_test(test_ensure_on_a_host_without_rules_adds_the_first_one),
        cmocka_unit_test(test_remove_drops_every_rule_of_that_exact_name_and_keeps_the_order),
        cmocka_unit_test(test_service_restart_changes_nothing),
        cmocka_unit_test(test_actions_apply_in_order),
        cmocka_unit_test(test_rule_from_spec_prints_every_field_as_netsh_shows_it),
        cmocka_unit_test(test_rule_from_spec_gives_single_addresses_their_host_prefix),
        cmocka_unit_test(test_an_ensured_enabled_rule_is_an_l2tp_rule_to_the_diagnosis),
        cmocka_unit_test(test_rule_from_spec_refuses_a_spec_without_its_strings),
        cmocka_unit_test(test_out_of_memory_at_any_allocation_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
