/*
 * test_wire_profile: the remediation profile codec (proto/wire_profile.c) and its schema
 * (schema/json/profile.schema.json).
 *
 * Builds a profile with every action type, checks encode -> decode gives it back field for
 * field and that re-encoding is byte-identical, then breaks the encoded document one member at
 * a time and checks the decoder names that member: missing, mistyped, outside the closed lists,
 * unknown, twice, over a cap. Also OOM paths and the schema's caps. With RRAS_WRITE_WIRE=dir
 * set, only writes encoded profiles there (tests/integration/test_schema.sh validates them).
 */
#include "wire_test.h"

#include "caps.h"
#include "timefmt.h"
#include "wire_profile.h"

#define TEST_UUID "0f8fad5b-d9cb-469f-a165-70867728950e"
#define TEST_CA "DC=com, DC=contoso, DC=corp, CN=corp-DC1-CA"
#define TEST_NOT_BEFORE 1767225600 /* 2026-01-01T00:00:00Z */
#define TEST_EXPIRES 1767830400    /* 2026-01-08T00:00:00Z */

/* ---- fixture: a profile with every action type ----------------------------------------- */

static char *xstrdup(const char *s)
{
    char *copy = proto_strdup(s);
    assert_non_null(copy);
    return copy;
}

static void push(struct proto_strv *v, const char *s)
{
    assert_int_equal(proto_strv_push(v, s, 1000), PROTO_OK);
}

static struct proto_action *add(struct proto_profile *p, enum proto_action_type type)
{
    struct proto_action *action = NULL;
    assert_int_equal(proto_wire_profile_add_action(p, type, &action), PROTO_OK);
    assert_non_null(action);
    assert_int_equal(action->type, type);
    return action;
}

static void fill_rule(struct proto_rule_spec *rule)
{
    rule->name = xstrdup("rrasfleet L2TP/IPsec (certificate)");
    rule->description = xstrdup("L2TP from any client, machine certificate from corp CA");
    rule->enabled = true;
    rule->profiles = PROTO_FW_PROFILE_DOMAIN | PROTO_FW_PROFILE_PUBLIC;
    rule->endpoint1 = xstrdup("Any");
    rule->endpoint2 = xstrdup("10.0.0.0/24,fe80::1,192.168.1.10-192.168.1.20");
    rule->port1 = 1701;
    rule->port2 = PROTO_RULE_PORT_ANY;
    rule->auth1_ca_name = xstrdup(TEST_CA);
    rule->auth1_cert_type = PROTO_CA_INTERMEDIATE;
    rule->auth1_cert_mapping = true;
    push(&rule->main_mode_sec_methods, "DHGroup14-AES256-SHA256");
    push(&rule->main_mode_sec_methods, "ECDHP256-AES128-SHA256");
    push(&rule->quick_mode_sec_methods, "ESP:SHA256-AES256+60min+100000kb");
    rule->quick_mode_pfs = xstrdup("DHGroup14");
}

/* actions: [0] AllowL2TPWeakCrypto=0, [1] ensure rule, [2] remove rule, [3] restart,
 * [4] ProhibitIpSec=1. */
static struct proto_profile *full_profile(void)
{
    struct proto_profile *p = proto_wire_profile_create();
    assert_non_null(p);
    memcpy(p->profile_id, TEST_UUID, sizeof(TEST_UUID));
    p->serial = 42;
    memcpy(p->target, "vpn.contoso.com", 16);
    p->not_before = TEST_NOT_BEFORE;
    p->expires = TEST_EXPIRES;
    p->mode = PROTO_PROFILE_APPLY;
    push(&p->reason, "L2TP_CERT_WILDCARD");
    push(&p->reason, "L2TP_WEAK_CRYPTO");

    struct proto_action *a = add(p, PROTO_ACTION_REGISTRY_DWORD_SET);
    a->u.dword.name = PROTO_DWORD_ALLOW_L2TP_WEAK_CRYPTO;
    a->u.dword.data = 0;
    fill_rule(&add(p, PROTO_ACTION_IPSEC_RULE_ENSURE)->u.rule);
    add(p, PROTO_ACTION_IPSEC_RULE_REMOVE)->u.remove.name = xstrdup("Old L2TP rule (2019)");
    add(p, PROTO_ACTION_SERVICE_RESTART)->u.restart.service = PROTO_SERVICE_REMOTE_ACCESS;
    a = add(p, PROTO_ACTION_REGISTRY_DWORD_SET);
    a->u.dword.name = PROTO_DWORD_PROHIBIT_IPSEC;
    a->u.dword.data = 1;
    return p;
}

/* One action, no reason: the least a profile can be. */
static struct proto_profile *minimal_profile(void)
{
    struct proto_profile *p = proto_wire_profile_create();
    assert_non_null(p);
    memcpy(p->profile_id, TEST_UUID, sizeof(TEST_UUID));
    p->serial = 1;
    memcpy(p->target, "h", 2);
    p->not_before = 0;
    p->expires = 1;
    p->mode = PROTO_PROFILE_DRY_RUN;
    add(p, PROTO_ACTION_SERVICE_RESTART)->u.restart.service = PROTO_SERVICE_REMOTE_ACCESS;
    return p;
}

static char *encode(const struct proto_profile *p)
{
    char *text = NULL;
    size_t len = 0;
    enum proto_rc rc = proto_wire_encode_profile(p, &text, &len);
    if (rc != PROTO_OK) {
        fail_msg("encode: %s", proto_rc_str(rc));
    }
    assert_int_equal(strlen(text), len);
    return text;
}

static char *full_doc(void)
{
    struct proto_profile *p = full_profile();
    char *text = encode(p);
    proto_wire_profile_destroy(p);
    return text;
}

static struct proto_profile *decode_ok(const char *text)
{
    struct proto_profile *p = NULL;
    struct proto_json_error err;
    enum proto_rc rc = proto_wire_decode_profile(text, strlen(text), &p, &err);
    if (rc != PROTO_OK) {
        fail_msg("decode: %s at \"%s\": %s", proto_rc_str(rc), err.field, err.message);
    }
    return p;
}

static void expect_refused(const char *doc, enum proto_rc rc, const char *field)
{
    static struct proto_profile dummy;
    struct proto_profile *p = &dummy; /* must come back NULL */
    struct proto_json_error err;
    enum proto_rc got = proto_wire_decode_profile(doc, strlen(doc), &p, &err);
    if (got != rc || strcmp(err.field, field) != 0) {
        fail_msg("got %s at \"%s\" (%s), expected %s at \"%s\"", proto_rc_str(got), err.field,
                 err.message, proto_rc_str(rc), field);
    }
    assert_null(p);
    assert_true(err.message[0] != '\0');
}

/* The full profile with the member at path replaced by raw (deleted when NULL) is refused with
 * rc, naming field (path itself when field is NULL). */
static void expect_edit_refused(const char *path, const char *raw, enum proto_rc rc,
                                const char *field)
{
    char *doc = full_doc();
    char *edited = wire_test_edit(doc, path, raw);
    expect_refused(edited, rc, field != NULL ? field : path);
    proto_free(edited);
    proto_free(doc);
}

/* The full profile with the member at path replaced by raw decodes; caller destroys. */
static struct proto_profile *edit_ok(const char *path, const char *raw)
{
    char *doc = full_doc();
    char *edited = wire_test_edit(doc, path, raw);
    struct proto_profile *p = decode_ok(edited);
    proto_free(edited);
    proto_free(doc);
    return p;
}

static void assert_strv_equal(const struct proto_strv *a, const struct proto_strv *b)
{
    assert_int_equal(a->count, b->count);
    for (size_t i = 0; i < a->count; i++) {
        assert_string_equal(a->items[i], b->items[i]);
    }
}

static void assert_rule_equal(const struct proto_rule_spec *a, const struct proto_rule_spec *b)
{
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->description, b->description);
    assert_int_equal(a->enabled, b->enabled);
    assert_int_equal(a->profiles, b->profiles);
    assert_string_equal(a->endpoint1, b->endpoint1);
    assert_string_equal(a->endpoint2, b->endpoint2);
    assert_int_equal(a->port1, b->port1);
    assert_int_equal(a->port2, b->port2);
    assert_string_equal(a->auth1_ca_name, b->auth1_ca_name);
    assert_int_equal(a->auth1_cert_type, b->auth1_cert_type);
    assert_int_equal(a->auth1_cert_mapping, b->auth1_cert_mapping);
    assert_strv_equal(&a->main_mode_sec_methods, &b->main_mode_sec_methods);
    assert_strv_equal(&a->quick_mode_sec_methods, &b->quick_mode_sec_methods);
    assert_string_equal(a->quick_mode_pfs, b->quick_mode_pfs);
}

static void assert_profile_equal(const struct proto_profile *a, const struct proto_profile *b)
{
    assert_string_equal(a->profile_id, b->profile_id);
    assert_int_equal(a->serial, b->serial);
    assert_string_equal(a->target, b->target);
    assert_int_equal(a->not_before, b->not_before);
    assert_int_equal(a->expires, b->expires);
    assert_int_equal(a->mode, b->mode);
    assert_strv_equal(&a->reason, &b->reason);
    assert_int_equal(a->action_count, b->action_count);
    for (size_t i = 0; i < a->action_count; i++) {
        const struct proto_action *x = &a->actions[i], *y = &b->actions[i];
        assert_int_equal(x->type, y->type);
        switch (x->type) {
        case PROTO_ACTION_REGISTRY_DWORD_SET:
            assert_int_equal(x->u.dword.name, y->u.dword.name);
            assert_int_equal(x->u.dword.data, y->u.dword.data);
            break;
        case PROTO_ACTION_IPSEC_RULE_ENSURE:
            assert_rule_equal(&x->u.rule, &y->u.rule);
            break;
        case PROTO_ACTION_IPSEC_RULE_REMOVE:
            assert_string_equal(x->u.remove.name, y->u.remove.name);
            break;
        case PROTO_ACTION_SERVICE_RESTART:
            assert_int_equal(x->u.restart.service, y->u.restart.service);
            break;
        default:
            fail_msg("action type %d", (int)x->type);
        }
    }
}

/* ---- tests: encoding and round trips ------------------------------------------------------ */

static void test_full_profile_round_trips_field_for_field(void **state)
{
    (void)state;
    struct proto_profile *p = full_profile();
    char *text = encode(p);
    struct proto_profile *back = decode_ok(text);
    assert_profile_equal(p, back);
    char *again = encode(back);
    assert_string_equal(again, text);
    proto_free(again);
    proto_wire_profile_destroy(back);
    proto_wire_profile_destroy(p);
    proto_free(text);

    p = minimal_profile();
    text = encode(p);
    back = decode_ok(text);
    assert_profile_equal(p, back);
    proto_wire_profile_destroy(back);
    proto_wire_profile_destroy(p);
    proto_free(text);
}

static void test_encoding_writes_the_documented_members_in_order(void **state)
{
    (void)state;
    char *text = full_doc();
    assert_non_null(strstr(text, "{\"schema\":\"rrasfleet.profile/1\",\"profile_id\":\"" TEST_UUID
                                 "\",\"serial\":42,\"target\":\"vpn.contoso.com\","
                                 "\"not_before\":\"2026-01-01T00:00:00Z\","
                                 "\"expires\":\"2026-01-08T00:00:00Z\",\"mode\":\"apply\","
                                 "\"reason\":[\"L2TP_CERT_WILDCARD\",\"L2TP_WEAK_CRYPTO\"],"
                                 "\"actions\":[{\"type\":\"registry_dword_set\","
                                 "\"value\":\"AllowL2TPWeakCrypto\",\"data\":0},"));
    assert_non_null(strstr(text, "\"profiles\":[\"domain\",\"public\"]"));
    assert_non_null(strstr(text, "\"protocol\":\"UDP\",\"port1\":1701,\"port2\":\"Any\","
                                 "\"mode\":\"Transport\",\"action\":\"RequireInRequireOut\","
                                 "\"auth1\":\"ComputerCert\""));
    assert_non_null(strstr(text, "{\"type\":\"service_restart\",\"service\":\"RemoteAccess\"}"));
    proto_free(text);
}

static void test_target_and_ids_are_lower_cased_both_ways(void **state)
{
    (void)state;
    struct proto_profile *p = edit_ok("target", "\"VPN.Contoso.COM\"");
    assert_string_equal(p->target, "vpn.contoso.com");
    proto_wire_profile_destroy(p);
    p = edit_ok("profile_id", "\"0F8FAD5B-D9CB-469F-A165-70867728950E\"");
    assert_string_equal(p->profile_id, TEST_UUID);
    memcpy(p->target, "VPN.CONTOSO.COM", 16);
    char *text = encode(p);
    char *expected = full_doc();
    assert_string_equal(text, expected);
    proto_free(expected);
    proto_free(text);
    proto_wire_profile_destroy(p);
}

static void test_serial_keeps_every_digit_up_to_2_pow_53_minus_1(void **state)
{
    (void)state;
    struct proto_profile *p = full_profile();
    p->serial = ((uint64_t)1 << 53) - 1;
    char *text = encode(p);
    assert_non_null(strstr(text, "\"serial\":9007199254740991,"));
    struct proto_profile *back = decode_ok(text);
    assert_int_equal(back->serial, ((uint64_t)1 << 53) - 1);
    proto_wire_profile_destroy(back);
    proto_wire_profile_destroy(p);
    proto_free(text);
}

static void test_times_with_offsets_decode_to_utc(void **state)
{
    (void)state;
    struct proto_profile *p = edit_ok("not_before", "\"2026-01-01T02:00:00.5+02:00\"");
    assert_int_equal(p->not_before, TEST_NOT_BEFORE);
    proto_wire_profile_destroy(p);
}

static void test_encoder_refuses_a_profile_the_decoder_would_refuse(void **state)
{
    (void)state;
    char *text = (char *)"unchanged";
    size_t len = 9;
    struct proto_profile *p = NULL;
#define REFUSED(change)                                                                            \
    do {                                                                                           \
        p = full_profile();                                                                        \
        change;                                                                                    \
        assert_int_equal(proto_wire_encode_profile(p, &text, &len), PROTO_EINVAL);                 \
        assert_null(text);                                                                         \
        assert_int_equal(len, 0);                                                                  \
        proto_wire_profile_destroy(p);                                                             \
    } while (0)
    REFUSED(p->serial = 0);
    REFUSED(p->serial = (uint64_t)1 << 53);
    REFUSED(p->profile_id[3] = 'x');
    REFUSED(memcpy(p->target, "*.contoso.com", 14));
    REFUSED(p->target[0] = '\0');
    REFUSED(p->expires = p->not_before);
    REFUSED(p->not_before = INT64_MIN);
    REFUSED(p->mode = (enum proto_profile_mode)7);
    REFUSED(push(&p->reason, "lower_case"));
    REFUSED(p->actions[0].u.dword.data = 1); /* AllowL2TPWeakCrypto may only be 0 */
    REFUSED(p->actions[4].u.dword.data = 2);
    REFUSED(p->actions[0].u.dword.name = PROTO_DWORD_NAME_COUNT);
    REFUSED(p->actions[1].u.rule.profiles = 0);
    REFUSED(p->actions[1].u.rule.profiles = 8);
    REFUSED(p->actions[1].u.rule.port1 = 65536);
    REFUSED(p->actions[1].u.rule.auth1_ca_name[0] = '\0');
    REFUSED(memcpy(p->actions[1].u.rule.auth1_ca_name, "nonsense", 9));
    REFUSED(proto_strv_clear(&p->actions[1].u.rule.quick_mode_sec_methods));
    REFUSED(p->actions[1].u.rule.quick_mode_pfs[0] = ' ');
    REFUSED(p->actions[1].u.rule.endpoint2[0] = 'x');
    REFUSED(p->actions[1].u.rule.description[0] = '"');
    REFUSED(p->actions[2].u.remove.name[0] = '*');
    REFUSED(memcpy(p->actions[2].u.remove.name, "All", 4));
    REFUSED(p->actions[3].u.restart.service = PROTO_SERVICE_COUNT);
    REFUSED(p->actions[3].type = PROTO_ACTION_TYPE_COUNT);
#undef REFUSED
    p = minimal_profile();
    p->action_count = 0;
    assert_int_equal(proto_wire_encode_profile(p, &text, &len), PROTO_EINVAL);
    proto_wire_profile_destroy(p);
    p = full_profile();
    assert_int_equal(proto_wire_encode_profile(NULL, &text, &len), PROTO_EINVAL);
    assert_int_equal(proto_wire_encode_profile(p, NULL, &len), PROTO_EINVAL);
    proto_wire_profile_destroy(p);
}

static void test_actions_beyond_the_cap_cannot_be_added(void **state)
{
    (void)state;
    struct proto_profile *p = minimal_profile();
    struct proto_action *a = NULL;
    while (p->action_count < PROTO_MAX_PROFILE_ACTIONS) {
        add(p, PROTO_ACTION_SERVICE_RESTART);
    }
    assert_int_equal(proto_wire_profile_add_action(p, PROTO_ACTION_SERVICE_RESTART, &a),
                     PROTO_ELIMIT);
    assert_null(a);
    assert_int_equal(proto_wire_profile_add_action(p, PROTO_ACTION_TYPE_COUNT, &a), PROTO_EINVAL);
    /* Sixteen actions is the most a profile may have, and it round-trips. */
    char *text = encode(p);
    struct proto_profile *back = decode_ok(text);
    assert_int_equal(back->action_count, PROTO_MAX_PROFILE_ACTIONS);
    proto_wire_profile_destroy(back);
    proto_free(text);
    proto_wire_profile_destroy(p);
    proto_wire_profile_destroy(NULL);
}

static void test_names_of_the_closed_lists_are_stable(void **state)
{
    (void)state;
    enum proto_action_type type;
    assert_string_equal(proto_wire_action_type_str(PROTO_ACTION_IPSEC_RULE_REMOVE),
                        "ipsec_rule_remove");
    assert_string_equal(proto_wire_action_type_str(PROTO_ACTION_TYPE_COUNT), "");
    assert_string_equal(proto_wire_profile_mode_str(PROTO_PROFILE_DRY_RUN), "dry_run");
    assert_int_equal(proto_wire_action_type_from_str("service_restart", &type), PROTO_OK);
    assert_int_equal(type, PROTO_ACTION_SERVICE_RESTART);
    assert_int_equal(proto_wire_action_type_from_str("run_command", &type), PROTO_EUNSUPPORTED);
    assert_string_equal(proto_dword_allow_list[PROTO_DWORD_PROHIBIT_IPSEC].name, "ProhibitIpSec");
    assert_int_equal(proto_dword_allow_list[PROTO_DWORD_PROHIBIT_IPSEC].max_data, 1);
    assert_int_equal(proto_dword_allow_list[PROTO_DWORD_ALLOW_L2TP_WEAK_CRYPTO].max_data, 0);
    assert_non_null(strstr(proto_dword_allow_list[PROTO_DWORD_ALLOW_L2TP_WEAK_CRYPTO].key,
                           "\\Services\\RasMan\\Parameters"));
}

/* ---- tests: what the decoder refuses ------------------------------------------------------ */

static void test_each_missing_required_member_is_named(void **state)
{
    (void)state;
    static const char *const required[] = {
        "schema",
        "profile_id",
        "serial",
        "target",
        "not_before",
        "expires",
        "mode",
        "reason",
        "actions",
        "actions[0].type",
        "actions[0].value",
        "actions[0].data",
        "actions[1].rule",
        "actions[1].rule.name",
        "actions[1].rule.description",
        "actions[1].rule.enabled",
        "actions[1].rule.profiles",
        "actions[1].rule.endpoint1",
        "actions[1].rule.endpoint2",
        "actions[1].rule.protocol",
        "actions[1].rule.port1",
        "actions[1].rule.port2",
        "actions[1].rule.mode",
        "actions[1].rule.action",
        "actions[1].rule.auth1",
        "actions[1].rule.auth1_ca_name",
        "actions[1].rule.auth1_cert_type",
        "actions[1].rule.auth1_cert_mapping",
        "actions[1].rule.main_mode_sec_methods",
        "actions[1].rule.quick_mode_sec_methods",
        "actions[1].rule.quick_mode_pfs",
        "actions[2].name",
        "actions[3].service",
    };
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        expect_edit_refused(required[i], NULL, PROTO_EMISSING, NULL);
    }
}

static void test_wrong_member_types_are_named_with_their_path(void **state)
{
    (void)state;
    struct {
        const char *path;
        const char *raw;
    } cases[] = {
        {"schema", "1"},
        {"profile_id", "null"},
        {"serial", "\"42\""},
        {"serial", "4.5"},
        {"target", "[\"vpn.contoso.com\"]"},
        {"not_before", "1767225600"},
        {"mode", "true"},
        {"reason", "\"L2TP_CERT_WILDCARD\""},
        {"reason[0]", "7"},
        {"actions", "{}"},
        {"actions[0]", "\"registry_dword_set\""},
        {"actions[0].type", "0"},
        {"actions[0].data", "\"0\""},
        {"actions[0].data", "false"},
        {"actions[1].rule", "[]"},
        {"actions[1].rule.enabled", "\"yes\""},
        {"actions[1].rule.profiles", "\"domain\""},
        {"actions[1].rule.profiles[0]", "1"},
        {"actions[1].rule.port1", "true"},
        {"actions[1].rule.port1", "1701.5"},
        {"actions[1].rule.auth1_cert_mapping", "0"},
        {"actions[1].rule.main_mode_sec_methods", "\"DHGroup14-AES256-SHA256\""},
        {"actions[1].rule.quick_mode_sec_methods[0]", "{}"},
        {"actions[1].rule.quick_mode_pfs", "null"},
        {"actions[2].name", "[]"},
        {"actions[3].service", "1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        expect_edit_refused(cases[i].path, cases[i].raw, PROTO_ETYPE, NULL);
    }
}

static void test_profile_with_unknown_action_type_is_refused_naming_the_field(void **state)
{
    (void)state;
    expect_edit_refused("actions[2]", "{\"type\":\"run_command\",\"command\":\"cmd /c whoami\"}",
                        PROTO_EUNSUPPORTED, "actions[2].type");
    expect_edit_refused("actions[2].type", "\"Service_Restart\"", PROTO_EUNSUPPORTED, NULL);
    expect_edit_refused("actions[2].type", "\"\"", PROTO_EUNSUPPORTED, NULL);
}

static void test_registry_values_outside_the_allow_list_are_refused(void **state)
{
    (void)state;
    /* No other value, and never a path. */
    expect_edit_refused("actions[0].value", "\"NegotiateDH2048_AES256\"", PROTO_EUNSUPPORTED, NULL);
    expect_edit_refused("actions[0].value", "\"prohibitipsec\"", PROTO_EUNSUPPORTED, NULL);
    expect_edit_refused("actions[0].key", "\"HKLM\\\\SOFTWARE\\\\x\"", PROTO_EUNSUPPORTED, NULL);
    /* AllowL2TPWeakCrypto may only be turned off; ProhibitIpSec is 0 or 1. */
    expect_edit_refused("actions[0].data", "1", PROTO_ELIMIT, NULL);
    expect_edit_refused("actions[4].data", "2", PROTO_ELIMIT, NULL);
    expect_edit_refused("actions[4].data", "4294967296", PROTO_ELIMIT, NULL);
    expect_edit_refused("actions[4].data", "-1", PROTO_ELIMIT, NULL);
    struct proto_profile *p = edit_ok("actions[4].data", "0");
    assert_int_equal(p->actions[4].u.dword.data, 0);
    proto_wire_profile_destroy(p);
}

static void test_a_service_outside_the_allow_list_is_refused(void **state)
{
    (void)state;
    expect_edit_refused("actions[3].service", "\"Spooler\"", PROTO_EUNSUPPORTED, NULL);
    expect_edit_refused("actions[3].service", "\"remoteaccess\"", PROTO_EUNSUPPORTED, NULL);
    expect_edit_refused("actions[3].service", "\"RemoteAccess & calc\"", PROTO_EUNSUPPORTED, NULL);
}

static void test_unknown_members_are_refused_everywhere(void **state)
{
    (void)state;
    expect_edit_refused("comment", "\"hi\"", PROTO_EUNSUPPORTED, NULL);
    expect_edit_refused("actions[0].path", "\"HKLM\\\\x\"", PROTO_EUNSUPPORTED, NULL);
    expect_edit_refused("actions[1].rule.auth1_psk", "\"secret\"", PROTO_EUNSUPPORTED, NULL);
    expect_edit_refused("actions[1].name", "\"x\"", PROTO_EUNSUPPORTED, NULL);
    expect_edit_refused("actions[2].rule", "{}", PROTO_EUNSUPPORTED, NULL);
    expect_edit_refused("actions[3].arguments", "[]", PROTO_EUNSUPPORTED, NULL);
}

static void test_unknown_schema_is_unsupported_before_anything_else(void **state)
{
    (void)state;
    char *doc = full_doc();
    char *later = wire_test_edit(doc, "schema", "\"rrasfleet.profile/2\"");
    char *more = wire_test_edit(later, "new_member", "1");
    expect_refused(more, PROTO_EUNSUPPORTED, "schema");
    proto_free(more);
    proto_free(later);
    proto_free(doc);
}

static void test_a_member_given_twice_is_refused(void **state)
{
    (void)state;
    char *doc = full_doc();
    /* A signed profile must mean one thing to every reader. */
    char *twice = wire_test_prepend(doc, "\"serial\":43,");
    expect_refused(twice, PROTO_EPARSE, "serial");
    free(twice);
    char *action = wire_test_edit(doc, "actions[3]",
                                  "{\"type\":\"service_restart\",\"service\":\"RemoteAccess\","
                                  "\"service\":\"Spooler\"}");
    expect_refused(action, PROTO_EPARSE, "actions[3].service");
    proto_free(action);
    proto_free(doc);
}

static void test_the_rule_fixed_settings_allow_one_value_each(void **state)
{
    (void)state;
    expect_edit_refused("actions[1].rule.protocol", "\"TCP\"", PROTO_EUNSUPPORTED, NULL);
    expect_edit_refused("actions[1].rule.protocol", "\"udp\"", PROTO_EUNSUPPORTED, NULL);
    expect_edit_refused("actions[1].rule.mode", "\"Tunnel\"", PROTO_EUNSUPPORTED, NULL);
    expect_edit_refused("actions[1].rule.action", "\"RequestInRequestOut\"", PROTO_EUNSUPPORTED,
                        NULL);
    expect_edit_refused("actions[1].rule.auth1", "\"ComputerPSK\"", PROTO_EUNSUPPORTED, NULL);
    expect_edit_refused("actions[1].rule.auth1_cert_type", "\"Root\"", PROTO_EUNSUPPORTED, NULL);
}

static void test_rule_names_that_netsh_would_widen_are_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "\"all\"",    "\"ALL\"",       "\"aLl\"",       "\"L2TP*\"", "\"L2TP?\"",
        "\"[L2TP]\"", "\"a\\\"b\"",    "\" L2TP\"",     "\"L2TP \"", "\"a\\tb\"",
        "\"a\\nb\"",  "\"a\\u007fb\"", "\"a\\u0085b\"", "\"\"",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect_edit_refused("actions[2].name", bad[i], PROTO_EPARSE, NULL);
        expect_edit_refused("actions[1].rule.name", bad[i], PROTO_EPARSE, NULL);
    }
    struct proto_profile *p = edit_ok("actions[2].name", "\"all rules (old) \\u00e9\"");
    assert_string_equal(p->actions[2].u.remove.name, "all rules (old) \xC3\xA9");
    proto_wire_profile_destroy(p);
}

static void test_endpoints_ports_and_profiles_are_checked(void **state)
{
    (void)state;
    static const char *const bad_endpoints[] = {
        "\"\"",          "\"any\"",       "\"LocalSubnet\"",   "\"10.0.0.1,\"",
        "\",10.0.0.1\"", "\"10.0.0.1 \"", "\"10.0.0.1;calc\"",
    };
    for (size_t i = 0; i < sizeof(bad_endpoints) / sizeof(bad_endpoints[0]); i++) {
        expect_edit_refused("actions[1].rule.endpoint1", bad_endpoints[i], PROTO_EPARSE, NULL);
    }
    expect_edit_refused("actions[1].rule.port1", "0", PROTO_ELIMIT, NULL);
    expect_edit_refused("actions[1].rule.port1", "65536", PROTO_ELIMIT, NULL);
    expect_edit_refused("actions[1].rule.port2", "\"any\"", PROTO_EUNSUPPORTED, NULL);
    expect_edit_refused("actions[1].rule.port2", "\"1701\"", PROTO_EUNSUPPORTED, NULL);
    expect_edit_refused("actions[1].rule.profiles", "[]", PROTO_ELIMIT, NULL);
    expect_edit_refused("actions[1].rule.profiles",
                        "[\"domain\",\"private\",\"public\",\"domain\"]", PROTO_ELIMIT, NULL);
    expect_edit_refused("actions[1].rule.profiles", "[\"public\",\"public\"]", PROTO_EPARSE,
                        "actions[1].rule.profiles[1]");
    expect_edit_refused("actions[1].rule.profiles", "[\"work\"]", PROTO_EUNSUPPORTED,
                        "actions[1].rule.profiles[0]");

    struct proto_profile *p = edit_ok("actions[1].rule.port2", "65535");
    assert_int_equal(p->actions[1].u.rule.port2, 65535);
    proto_wire_profile_destroy(p);
    p = edit_ok("actions[1].rule.profiles", "[\"public\",\"private\",\"domain\"]");
    assert_int_equal(p->actions[1].u.rule.profiles, 0x7u);
    proto_wire_profile_destroy(p);
}

static void test_security_methods_and_the_ca_name_are_checked(void **state)
{
    (void)state;
    char *long_method = wire_test_repeat('A', PROTO_MAX_SEC_METHOD + 1);
    char raw[512];
    int n = snprintf(raw, sizeof(raw), "[\"%s\"]", long_method);
    assert_true(n > 0 && (size_t)n < sizeof(raw));
    expect_edit_refused("actions[1].rule.main_mode_sec_methods", raw, PROTO_ELIMIT,
                        "actions[1].rule.main_mode_sec_methods[0]");
    free(long_method);
    expect_edit_refused("actions[1].rule.main_mode_sec_methods", "[]", PROTO_ELIMIT, NULL);
    expect_edit_refused("actions[1].rule.quick_mode_sec_methods[0]", "\"ESP:SHA1 AES128\"",
                        PROTO_EPARSE, NULL);
    expect_edit_refused("actions[1].rule.quick_mode_sec_methods[0]", "\"a,b\"", PROTO_EPARSE, NULL);
    expect_edit_refused("actions[1].rule.quick_mode_pfs", "\"DH-14\"", PROTO_EPARSE, NULL);
    expect_edit_refused("actions[1].rule.auth1_ca_name", "\"not a DN\"", PROTO_EPARSE, NULL);
    expect_edit_refused("actions[1].rule.auth1_ca_name", "\"CN=a\\nCN=b\"", PROTO_EPARSE, NULL);
    expect_edit_refused("actions[1].rule.auth1_ca_name", "\"\"", PROTO_EPARSE, NULL);
    expect_edit_refused("actions[1].rule.description", "\"say \\\"hi\\\"\"", PROTO_EPARSE, NULL);

    /* A DN in the other order, with a quoted value, is a DN. */
    struct proto_profile *p =
        edit_ok("actions[1].rule.auth1_ca_name", "\"CN=\\\"Corp, Inc CA\\\", DC=corp, DC=com\"");
    proto_wire_profile_destroy(p);
    p = edit_ok("actions[1].rule.description", "\"\"");
    assert_string_equal(p->actions[1].u.rule.description, "");
    proto_wire_profile_destroy(p);
}

static void test_header_members_are_checked(void **state)
{
    (void)state;
    expect_edit_refused("serial", "0", PROTO_ELIMIT, NULL);
    /* 2^53 - 1 is the most: above it, a double cannot tell 2^53 from 2^53 + 1. */
    expect_edit_refused("serial", "9007199254740992", PROTO_ELIMIT, NULL);
    expect_edit_refused("serial", "9007199254740993", PROTO_ELIMIT, NULL);
    expect_edit_refused("serial", "-1", PROTO_ELIMIT, NULL);
    expect_edit_refused("profile_id", "\"0f8fad5b-d9cb-469f-a165-70867728950g\"", PROTO_EPARSE,
                        NULL);
    static const char *const bad_targets[] = {
        "\"*.contoso.com\"", "\"a..b\"", "\".a\"",  "\"a.\"", "\"-a.b\"",
        "\"a-.b\"",          "\"a b\"",  "\"a,b\"", "\"\"",
    };
    for (size_t i = 0; i < sizeof(bad_targets) / sizeof(bad_targets[0]); i++) {
        expect_edit_refused("target", bad_targets[i], PROTO_EPARSE, NULL);
    }
    char *label = wire_test_repeat('a', 64);
    char raw[128];
    int n = snprintf(raw, sizeof(raw), "\"%s.com\"", label);
    assert_true(n > 0 && (size_t)n < sizeof(raw));
    expect_edit_refused("target", raw, PROTO_EPARSE, NULL); /* a label of 64 */
    memmove(raw + 1, raw + 2, strlen(raw + 2) + 1);
    proto_wire_profile_destroy(edit_ok("target", raw)); /* 63 */
    free(label);
    expect_edit_refused("not_before", "\"2026-01-01\"", PROTO_EPARSE, NULL);
    expect_edit_refused("expires", "\"2026-13-01T00:00:00Z\"", PROTO_EPARSE, NULL);
    expect_edit_refused("expires", "\"2026-01-01T00:00:00Z\"", PROTO_EPARSE, NULL);
    expect_edit_refused("expires", "\"2025-12-31T23:59:59Z\"", PROTO_EPARSE, NULL);
    expect_edit_refused("mode", "\"Apply\"", PROTO_EUNSUPPORTED, NULL);
    expect_edit_refused("reason[0]", "\"l2tp_cert_wildcard\"", PROTO_EPARSE, NULL);
    expect_edit_refused("reason[0]", "\"1ABC\"", PROTO_EPARSE, NULL);
    expect_edit_refused("actions", "[]", PROTO_ELIMIT, NULL);
    struct proto_profile *p = edit_ok("reason", "[]");
    assert_int_equal(p->reason.count, 0);
    proto_wire_profile_destroy(p);
}

/* ---- tests: caps -------------------------------------------------------------------------- */

/* `[item,item,...]` with count copies of item; caller frees with free(). */
static char *repeat_array(const char *item, size_t count)
{
    size_t len = strlen(item);
    char *s = malloc(2 + count * (len + 1) + 1);
    assert_non_null(s);
    size_t at = 0;
    s[at++] = '[';
    for (size_t i = 0; i < count; i++) {
        if (i > 0) {
            s[at++] = ',';
        }
        memcpy(s + at, item, len);
        at += len;
    }
    s[at++] = ']';
    s[at] = '\0';
    return s;
}

static void test_arrays_longer_than_their_cap_are_refused(void **state)
{
    (void)state;
    struct {
        const char *path;
        const char *item;
        size_t cap;
    } caps[] = {
        {"actions", "{\"type\":\"service_restart\",\"service\":\"RemoteAccess\"}",
         PROTO_MAX_PROFILE_ACTIONS},
        {"reason", "\"L2TP_NO_CERT\"", PROTO_MAX_PROFILE_REASONS},
        {"actions[1].rule.main_mode_sec_methods", "\"DHGroup14-AES256-SHA256\"",
         PROTO_MAX_SEC_METHODS},
        {"actions[1].rule.quick_mode_sec_methods", "\"ESP:SHA256-AES256+60min+100000kb\"",
         PROTO_MAX_SEC_METHODS},
    };
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        char *at_cap = repeat_array(caps[i].item, caps[i].cap);
        struct proto_profile *p = edit_ok(caps[i].path, at_cap);
        proto_wire_profile_destroy(p);
        free(at_cap);
        char *over = repeat_array(caps[i].item, caps[i].cap + 1);
        expect_edit_refused(caps[i].path, over, PROTO_ELIMIT, NULL);
        free(over);
    }
}

static void test_strings_longer_than_their_cap_are_refused(void **state)
{
    (void)state;
    struct {
        const char *path;
        char fill;
        size_t cap;
    } caps[] = {
        {"actions[1].rule.name", 'n', PROTO_MAX_NAME},
        {"actions[2].name", 'n', PROTO_MAX_NAME},
        {"actions[1].rule.description", 'd', PROTO_MAX_STRING},
        {"actions[1].rule.endpoint2", '1', PROTO_MAX_NAME},
        {"actions[1].rule.quick_mode_pfs", 'P', PROTO_MAX_SEC_METHOD},
        {"reason[0]", 'R', PROTO_MAX_FINDING_ID},
    };
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        for (size_t extra = 0; extra <= 1; extra++) {
            char *s = wire_test_repeat(caps[i].fill, caps[i].cap + extra);
            char *raw = malloc(strlen(s) + 3);
            assert_non_null(raw);
            int n = snprintf(raw, strlen(s) + 3, "\"%s\"", s);
            assert_true(n > 0);
            if (extra == 0) {
                proto_wire_profile_destroy(edit_ok(caps[i].path, raw));
            } else {
                expect_edit_refused(caps[i].path, raw, PROTO_ELIMIT, NULL);
            }
            free(raw);
            free(s);
        }
    }
    /* The CA name's cap, with a DN that parses. */
    char *value = wire_test_repeat('c', PROTO_MAX_NAME - 2); /* "CN=" + this: one over */
    char raw[PROTO_MAX_NAME + 16];
    int n = snprintf(raw, sizeof(raw), "\"CN=%s\"", value);
    assert_true(n > 0 && (size_t)n < sizeof(raw));
    expect_edit_refused("actions[1].rule.auth1_ca_name", raw, PROTO_ELIMIT, NULL);
    raw[n - 2] = '"';
    raw[n - 1] = '\0';
    proto_wire_profile_destroy(edit_ok("actions[1].rule.auth1_ca_name", raw));
    free(value);
}

static void test_oversize_and_deep_documents_are_refused_before_parsing(void **state)
{
    (void)state;
    char *doc = full_doc();
    size_t len = strlen(doc);
    char *big = malloc(PROTO_MAX_PROFILE_BYTES + 2);
    assert_non_null(big);
    memcpy(big, doc, len);
    memset(big + len, ' ', PROTO_MAX_PROFILE_BYTES + 1 - len);
    big[PROTO_MAX_PROFILE_BYTES + 1] = '\0';
    proto_alloc_fail_after(1);
    expect_refused(big, PROTO_ELIMIT, "");
    proto_alloc_fail_after(0);
    big[PROTO_MAX_PROFILE_BYTES] = '\0';
    proto_wire_profile_destroy(decode_ok(big));
    free(big);

    /* Depth 8 is the most: root, actions, action, rule, then an array of depth 5 more. */
    char *deep = wire_test_edit(doc, "actions[1].rule.extra", "[[[[[1]]]]]");
    expect_refused(deep, PROTO_ELIMIT, "actions[1].rule.extra[0][0][0][0]");
    proto_free(deep);
    deep = wire_test_edit(doc, "actions[1].rule.extra", "[[[[1]]]]");
    expect_refused(deep, PROTO_EUNSUPPORTED, "actions[1].rule.extra");
    proto_free(deep);
    proto_free(doc);
}

/* ---- tests: out of memory ----------------------------------------------------------------- */

static void test_every_allocation_failure_is_reported_without_leaks(void **state)
{
    (void)state;
    struct proto_profile *p = full_profile();
    char *text = encode(p);
    unsigned long n;

    for (n = 1; n < 100000; n++) {
        struct proto_profile *back = NULL;
        struct proto_json_error err;
        proto_alloc_fail_after(n);
        enum proto_rc rc = proto_wire_decode_profile(text, strlen(text), &back, &err);
        proto_alloc_fail_after(0);
        if (rc == PROTO_OK) {
            assert_profile_equal(p, back);
            proto_wire_profile_destroy(back);
            break;
        }
        if (rc != PROTO_ENOMEM) {
            fail_msg("allocation %lu: %s at %s: %s", n, proto_rc_str(rc), err.field, err.message);
        }
        assert_null(back);
        assert_string_equal(err.message, "out of memory");
    }
    assert_true(n > 1 && n < 100000);

    for (n = 1; n < 100000; n++) {
        char *out = NULL;
        proto_alloc_fail_after(n);
        enum proto_rc rc = proto_wire_encode_profile(p, &out, NULL);
        proto_alloc_fail_after(0);
        if (rc == PROTO_OK) {
            assert_string_equal(out, text);
            proto_free(out);
            break;
        }
        assert_int_equal(rc, PROTO_ENOMEM);
        assert_null(out);
    }
    assert_true(n > 1 && n < 100000);

    for (n = 1; n < 100; n++) {
        proto_alloc_fail_after(n);
        struct proto_profile *fresh = proto_wire_profile_create();
        struct proto_action *a = NULL;
        enum proto_rc rc =
            fresh != NULL ? proto_wire_profile_add_action(fresh, PROTO_ACTION_SERVICE_RESTART, &a)
                          : PROTO_ENOMEM;
        proto_alloc_fail_after(0);
        proto_wire_profile_destroy(fresh);
        if (rc == PROTO_OK) {
            break;
        }
        assert_int_equal(rc, PROTO_ENOMEM);
    }
    assert_true(n > 1 && n < 100);
    proto_free(text);
    proto_wire_profile_destroy(p);
}

/* ---- tests: the schema file --------------------------------------------------------------- */

static void test_schema_repeats_the_caps_of_caps_h(void **state)
{
    (void)state;
    const struct wire_test_cap caps[] = {
        {"properties/serial/maximum", 9007199254740991.0},
        {"properties/reason/maxItems", PROTO_MAX_PROFILE_REASONS},
        {"properties/actions/minItems", 1},
        {"properties/actions/maxItems", PROTO_MAX_PROFILE_ACTIONS},
        {"$defs/fqdn/maxLength", PROTO_MAX_FQDN},
        {"$defs/finding_id/maxLength", PROTO_MAX_FINDING_ID},
        {"$defs/rule_name/maxLength", PROTO_MAX_NAME},
        {"$defs/endpoint/maxLength", PROTO_MAX_NAME},
        {"$defs/sec_methods/maxItems", PROTO_MAX_SEC_METHODS},
        {"$defs/sec_methods/items/maxLength", PROTO_MAX_SEC_METHOD},
        {"$defs/rule/properties/description/maxLength", PROTO_MAX_STRING},
        {"$defs/rule/properties/auth1_ca_name/maxLength", PROTO_MAX_NAME},
        {"$defs/rule/properties/quick_mode_pfs/maxLength", PROTO_MAX_SEC_METHOD},
        {"$defs/registry_dword_set/properties/data/maximum", 1},
    };
    wire_test_schema_caps("profile.schema.json", caps, sizeof(caps) / sizeof(caps[0]));
}

static void refuse_file(const char *name, const char *text, size_t len)
{
    struct proto_profile *p = NULL;
    struct proto_json_error err;
    if (proto_wire_decode_profile(text, len, &p, &err) == PROTO_OK) {
        proto_wire_profile_destroy(p);
        fail_msg("profile/%s decodes, but the schema refuses it", name);
    }
}

static void test_schema_counterexamples_are_refused_by_the_decoder(void **state)
{
    (void)state;
    assert_true(wire_test_each_counterexample("profile", refuse_file) >= 5);
}

static void test_encoded_profiles_are_written_for_the_schema_check(void **state)
{
    (void)state;
    struct proto_profile *p = full_profile();
    char *text = encode(p);
    wire_test_write("profile.json", text);
    proto_free(text);
    proto_wire_profile_destroy(p);
    p = minimal_profile();
    text = encode(p);
    wire_test_write("profile-minimal.json", text);
    proto_free(text);
    proto_wire_profile_destroy(p);
}

int main(void)
{
    const struct CMUnitTest write_only[] = {
        cmocka_unit_test(test_encoded_profiles_are_written_for_the_schema_check),
    };
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_profile_round_trips_field_for_field),
        cmocka_unit_test(test_encoding_writes_the_documented_members_in_order),
        cmocka_unit_test(test_target_and_ids_are_lower_cased_both_ways),
        cmocka_unit_test(test_serial_keeps_every_digit_up_to_2_pow_53_minus_1),
        cmocka_unit_test(test_times_with_offsets_decode_to_utc),
        cmocka_unit_test(test_encoder_refuses_a_profile_the_decoder_would_refuse),
        cmocka_unit_test(test_actions_beyond_the_cap_cannot_be_added),
        cmocka_unit_test(test_names_of_the_closed_lists_are_stable),
        cmocka_unit_test(test_each_missing_required_member_is_named),
        cmocka_unit_test(test_wrong_member_types_are_named_with_their_path),
        cmocka_unit_test(test_profile_with_unknown_action_type_is_refused_naming_the_field),
        cmocka_unit_test(test_registry_values_outside_the_allow_list_are_refused),
        cmocka_unit_test(test_a_service_outside_the_allow_list_is_refused),
        cmocka_unit_test(test_unknown_members_are_refused_everywhere),
        cmocka_unit_test(test_unknown_schema_is_unsupported_before_anything_else),
        cmocka_unit_test(test_a_member_given_twice_is_refused),
        cmocka_unit_test(test_the_rule_fixed_settings_allow_one_value_each),
        cmocka_unit_test(test_rule_names_that_netsh_would_widen_are_refused),
        cmocka_unit_test(test_endpoints_ports_and_profiles_are_checked),
        cmocka_unit_test(test_security_methods_and_the_ca_name_are_checked),
        cmocka_unit_test(test_header_members_are_checked),
        cmocka_unit_test(test_arrays_longer_than_their_cap_are_refused),
        cmocka_unit_test(test_strings_longer_than_their_cap_are_refused),
        cmocka_unit_test(test_oversize_and_deep_documents_are_refused_before_parsing),
        cmocka_unit_test(test_every_allocation_failure_is_reported_without_leaks),
        cmocka_unit_test(test_schema_repeats_the_caps_of_caps_h),
        cmocka_unit_test(test_schema_counterexamples_are_refused_by_the_decoder),
        cmocka_unit_test(test_encoded_profiles_are_written_for_the_schema_check),
    };
    proto_alloc_install_cjson_hooks();
    if (getenv("RRAS_WRITE_WIRE") != NULL) {
        return cmocka_run_group_tests_name("wire_profile_write", write_only, NULL, NULL);
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
