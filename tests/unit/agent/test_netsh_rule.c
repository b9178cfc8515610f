/*
 * test_netsh_rule: the Windows host's rule primitives without Windows. A parsed rule becomes
 * the words of `netsh advfirewall consec add rule` and comes back, through what a replayed
 * `show rule` prints, field for field (every rule of the fixtures that netsh could re-create);
 * what cannot be passed is refused with the field named; the replay runner answers like netsh
 * (no match, unavailable, injected failures); get/put/delete classify netsh's exits; and the
 * apply engine over a host whose rules go through netsh re-creates a rule it replaced with all
 * of its fields when a later step fails. Also the allow-list table and the service wait loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "allow_list.h"
#include "alloc.h"
#include "apply.h"
#include "buf.h"
#include "netsh.h"
#include "netsh_consec.h"
#include "netsh_replay.h"
#include "netsh_rule.h"
#include "service_wait.h"
#include "system.h"
#include "testutil.h"
#include "text.h"
#include "whatif.h"
#include "wire_profile.h"
#include "wire_result.h"

#define CORP_CA "DC=com, DC=contoso, DC=corp, CN=corp-DC1-CA"
#define WHY 512

/* ---- helpers -------------------------------------------------------------------------------- */

/* The snapshot of a netsh listing file (any encoding the bundles use). */
static struct proto_snapshot *listing_read(const char *relative)
{
    size_t raw_len = 0, len = 0;
    char *text = NULL;
    char *raw = testutil_read(testutil_fixture(relative), &raw_len);
    assert_non_null(raw);
    assert_int_equal(proto_text_decode((const unsigned char *)raw, raw_len, 437, &text, &len, NULL),
                     PROTO_OK);
    struct proto_snapshot *snap = proto_snapshot_create();
    assert_non_null(snap);
    enum proto_rc rc = proto_netsh_consec_parse(text, len, relative, snap);
    assert_true(rc == PROTO_OK || rc == PROTO_EUNAVAILABLE);
    proto_free(text);
    free(raw);
    return snap;
}

static char *listing_text(const char *relative, size_t *len)
{
    size_t raw_len = 0;
    char *text = NULL;
    char *raw = testutil_read(testutil_fixture(relative), &raw_len);
    assert_non_null(raw);
    assert_int_equal(proto_text_decode((const unsigned char *)raw, raw_len, 437, &text, len, NULL),
                     PROTO_OK);
    free(raw);
    return text;
}

/* The globals a host whose listing printed `rule` has. */
static struct agent_netsh_rule_globals globals_of(const struct proto_consec_rule *rule)
{
    struct agent_netsh_rule_globals g = agent_netsh_rule_default_globals;
    g.main_mode_sec_methods = rule->field[PROTO_RULE_MM_SEC_METHODS];
    g.main_mode_key_lifetime = rule->field[PROTO_RULE_MM_KEY_LIFETIME];
    return g;
}

static bool argv_has(const struct proto_strv *v, const char *word)
{
    for (size_t i = 0; i < v->count; i++) {
        if (strcmp(v->items[i], word) == 0) {
            return true;
        }
    }
    return false;
}

/* A rule with the fields of the KB sample (windows-sources §1.3, rule 1). */
static void kb_rule(struct proto_consec_rule *r)
{
    static const char *const fields[][2] = {
        {"Rule Name", "L2TP Manual Rule"},
        {"Description", "L2TP Manual Rule"},
        {"Enabled", "Yes"},
        {"Profiles", "Private,Public"},
        {"Type", "Dynamic"},
        {"Mode", "Transport"},
        {"InterfaceTypes", "Any"},
        {"Endpoint1", "Any"},
        {"Endpoint2", "131.107.0.2/32"},
        {"Port1", "Any"},
        {"Port2", "1701"},
        {"Protocol", "UDP"},
        {"Action", "RequireInRequireOut"},
        {"Auth1", "ComputerCert"},
        {"Auth1CAName", CORP_CA},
        {"Auth1CertMapping", "No"},
        {"Auth1ExcludeCAName", "No"},
        {"Auth1CertType", "Root"},
        {"Auth1HealthCert", "No"},
        {"MainModeSecMethods", "DHGroup2-AES128-SHA1,DHGroup2-3DES-SHA1"},
        {"MainModeKeyLifetime", "480min,0sess"},
        {"QuickModeSecMethods", "ESP:SHA1-None+60min+100000kb,ESP:SHA1-AES128+60min+100000kb,"
                                "ESP:SHA1-3DES+60min+100000kb,AH:SHA1+60min+100000kb"},
        {"QuickModePFS", "None"},
        {"Rule source", "Local Setting"},
        {"ApplyAuthorization", "No"},
    };
    memset(r, 0, sizeof(*r));
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        int f = proto_rule_field_by_label(fields[i][0]);
        assert_true(f >= 0);
        r->field[f] = proto_strdup(fields[i][1]);
        assert_non_null(r->field[f]);
    }
}

static void set_field(struct proto_consec_rule *r, int f, const char *v)
{
    proto_free(r->field[f]);
    r->field[f] = v != NULL ? proto_strdup(v) : NULL;
}

/* add args of r, then the rule those words make on a host with r's main mode, compared. */
static enum proto_rc round_trip(const struct proto_consec_rule *r, char *why)
{
    struct proto_strv args = {NULL, 0, 0};
    struct proto_consec_rule back;
    enum proto_rc rc = agent_netsh_rule_add_args(r, &args, why, WHY);
    if (rc) {
        return rc;
    }
    struct agent_netsh_rule_globals g = globals_of(r);
    rc = agent_netsh_rule_from_add_args((const char *const *)args.items, args.count, &g, &back, why,
                                        WHY);
    assert_int_equal(rc, PROTO_OK);
    rc = agent_netsh_rule_compare(&back, r, why, WHY);
    proto_rule_clear(&back);
    proto_strv_clear(&args);
    return rc;
}

/* ---- the builder ---------------------------------------------------------------------------- */

static void test_kb_rule_becomes_the_documented_add_rule(void **state)
{
    (void)state;
    struct proto_consec_rule r;
    struct proto_strv args = {NULL, 0, 0};
    char why[WHY];
    kb_rule(&r);
    assert_int_equal(agent_netsh_rule_add_args(&r, &args, why, sizeof(why)), PROTO_OK);
    static const char *const want[] = {
        "advfirewall",
        "consec",
        "add",
        "rule",
        "name=L2TP Manual Rule",
        "description=L2TP Manual Rule",
        "enable=yes",
        "profile=private,public",
        "type=dynamic",
        "mode=transport",
        "interfacetype=any",
        "endpoint1=any",
        "endpoint2=131.107.0.2/32",
        "port1=any",
        "port2=1701",
        "protocol=udp",
        "action=requireinrequireout",
        "auth1=computercert",
        "auth1ca=" CORP_CA " certmapping:no excludecaname:no catype:root",
        "auth1healthcert=no",
        "qmsecmethods=esp:sha1-none+60min+100000kb,esp:sha1-aes128+60min+100000kb,"
        "esp:sha1-3des+60min+100000kb,ah:sha1+60min+100000kb",
        "qmpfs=none",
    };
    assert_int_equal(args.count, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < args.count; i++) {
        assert_string_equal(args.items[i], want[i]);
    }
    /* The command line the runner gives CreateProcessW: each keyword=value one argument. */
    struct proto_buf cmd;
    proto_buf_init(&cmd, AGENT_NETSH_CMDLINE_MAX);
    assert_int_equal(agent_netsh_command_line("C:\\Windows\\System32\\netsh.exe",
                                              (const char *const *)args.items, args.count, &cmd),
                     PROTO_OK);
    assert_non_null(strstr(proto_buf_str(&cmd), " \"auth1ca=" CORP_CA
                                                " certmapping:no excludecaname:no catype:root\" "));
    assert_non_null(strstr(proto_buf_str(&cmd), " \"name=L2TP Manual Rule\" "));
    proto_buf_free(&cmd);
    assert_int_equal(round_trip(&r, why), PROTO_OK);
    proto_strv_clear(&args);
    proto_rule_clear(&r);
}

static void test_every_fixture_rule_netsh_can_make_comes_back_field_for_field(void **state)
{
    (void)state;
    static const char *const files[] = {
        "bundles/ca-reverse-order/netsh-consec.txt",
        "bundles/cert-zoo/netsh-consec.txt",
        "bundles/expiring-l2tp-cert/netsh-consec.txt",
        "bundles/half-applied-rule-only/netsh-consec.txt",
        "bundles/kb-fix-verbatim/netsh-consec.txt",
        "bundles/manual-rule-cert-no-key/netsh-consec.txt",
        "bundles/manual-rule-wrong-ca/netsh-consec.txt",
        "bundles/netsh-wrapped-lines/netsh-consec.txt",
        "bundles/not-an-l2tp-rule/netsh-consec.txt",
        "bundles/psk-rule/netsh-consec.txt",
        "bundles/resolution2-manual-rule/netsh-consec.txt",
        "bundles/utf16-capture/netsh-consec.txt",
        "bundles/localized-netsh-cp850/netsh-consec.txt",
        "text/consec-two-rules.txt",
        "text/consec-wrapped.txt",
        "text/consec-tunnel.txt",
        "text/consec-psk.txt",
        "text/consec-german-cp850.txt",
    };
    size_t made = 0, refused = 0;
    char why[WHY];
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        struct proto_snapshot *snap = listing_read(files[i]);
        for (size_t k = 0; k < snap->rule_count; k++) {
            const struct proto_consec_rule *r = &snap->rules[k];
            enum proto_rc rc = round_trip(r, why);
            if (r->psk_redacted || r->labels_unrecognised || r->extra_count > 0) {
                /* What the parser did not keep whole cannot be re-created: refused up front. */
                assert_int_equal(rc, PROTO_EUNSUPPORTED);
                assert_true(why[0] != '\0');
                refused++;
                continue;
            }
            if (r->field[PROTO_RULE_ENDPOINT1] == NULL || r->field[PROTO_RULE_ACTION] == NULL) {
                /* A fragment (text/consec-wrapped.txt): add rule needs endpoints and action. */
                assert_int_equal(rc, PROTO_EINVAL);
                refused++;
                continue;
            }
            if (rc != PROTO_OK) {
                fail_msg("%s rule \"%s\": %s", files[i], r->field[PROTO_RULE_NAME], why);
            }
            made++;
        }
        proto_snapshot_destroy(snap);
    }
    print_message("%u fixture rules re-created field for field, %u refused\n", (unsigned)made,
                  (unsigned)refused);
    assert_true(made >= 15);
    assert_true(refused >= 3);
}

static void test_quote_in_a_ca_name_is_written_as_backslash_apostrophe(void **state)
{
    (void)state;
    struct proto_consec_rule r;
    struct proto_strv args = {NULL, 0, 0};
    char why[WHY];
    kb_rule(&r);
    set_field(&r, PROTO_RULE_AUTH1_CA_NAME, "CN=Root, O=\"Contoso, Ltd\", C=US");
    set_field(&r, PROTO_RULE_AUTH1_CERT_TYPE, "Intermediate");
    set_field(&r, PROTO_RULE_AUTH1_CERT_MAPPING, "Yes");
    assert_int_equal(agent_netsh_rule_add_args(&r, &args, why, sizeof(why)), PROTO_OK);
    assert_true(argv_has(&args, "auth1ca=CN=Root, O=\\'Contoso, Ltd\\', C=US certmapping:yes "
                                "excludecaname:no catype:intermediate"));
    assert_int_equal(round_trip(&r, why), PROTO_OK);
    proto_strv_clear(&args);
    proto_rule_clear(&r);
}

static void test_tunnel_and_ecdsa_rules_use_their_own_keywords(void **state)
{
    (void)state;
    struct proto_consec_rule r;
    struct proto_strv args = {NULL, 0, 0};
    char why[WHY];
    kb_rule(&r);
    set_field(&r, PROTO_RULE_MODE, "Tunnel");
    set_field(&r, PROTO_RULE_LOCAL_TUNNEL_ENDPOINT, "131.107.0.21");
    set_field(&r, PROTO_RULE_REMOTE_TUNNEL_ENDPOINT, "Any");
    set_field(&r, PROTO_RULE_EXEMPT_IPSEC_PROTECTED, "Yes");
    set_field(&r, PROTO_RULE_APPLY_AUTHORIZATION, "Yes");
    set_field(&r, PROTO_RULE_AUTH1, "ComputerKerb,ComputerCertECDSAP256");
    set_field(&r, PROTO_RULE_AUTH1_HEALTH_CERT, "Yes");
    set_field(&r, PROTO_RULE_AUTH2, "UserCert");
    set_field(&r, PROTO_RULE_AUTH2_CA_NAME, "CN=Users CA");
    set_field(&r, PROTO_RULE_INTERFACE_TYPES, "LAN,RAS");
    set_field(&r, PROTO_RULE_PROTOCOL, "47");
    assert_int_equal(agent_netsh_rule_add_args(&r, &args, why, sizeof(why)), PROTO_OK);
    assert_true(argv_has(&args, "localtunnelendpoint=131.107.0.21"));
    assert_true(argv_has(&args, "remotetunnelendpoint=any"));
    assert_true(argv_has(&args, "exemptipsecprotectedconnections=yes"));
    assert_true(argv_has(&args, "applyauthz=yes"));
    assert_true(argv_has(&args, "auth1=computerkerb,computercertecdsap256"));
    assert_true(argv_has(&args, "auth1ecdsap256ca=" CORP_CA
                                " certmapping:no excludecaname:no catype:root"));
    assert_true(argv_has(&args, "auth1ecdsap256healthcert=yes"));
    assert_true(argv_has(&args, "auth2=usercert"));
    assert_true(argv_has(&args, "auth2ca=CN=Users CA"));
    assert_true(argv_has(&args, "interfacetype=lan,ras"));
    assert_true(argv_has(&args, "protocol=47"));
    assert_true(args.count <= AGENT_NETSH_MAX_ARGS);
    assert_int_equal(round_trip(&r, why), PROTO_OK);
    proto_strv_clear(&args);
    proto_rule_clear(&r);
}

/* One refusal: the field is changed to `value`, the builder refuses with `rc` naming `needle`. */
static void assert_refused(int field, const char *value, enum proto_rc rc, const char *needle)
{
    struct proto_consec_rule r;
    struct proto_strv args = {NULL, 0, 0};
    char why[WHY];
    kb_rule(&r);
    set_field(&r, field, value);
    assert_int_equal(agent_netsh_rule_add_args(&r, &args, why, sizeof(why)), rc);
    assert_int_equal(args.count, 0);
    if (strstr(why, needle) == NULL) {
        fail_msg("reason \"%s\" does not name \"%s\"", why, needle);
    }
    proto_rule_clear(&r);
}

static void test_values_netsh_cannot_be_given_are_refused_naming_the_field(void **state)
{
    (void)state;
    assert_refused(PROTO_RULE_DESCRIPTION, "two\nlines", PROTO_EUNSUPPORTED, "Description");
    assert_refused(PROTO_RULE_DESCRIPTION, "say \"hi\"", PROTO_EUNSUPPORTED, "Description");
    assert_refused(PROTO_RULE_AUTH1_CA_NAME, "CN=a\\b", PROTO_EUNSUPPORTED, "Auth1CAName");
    assert_refused(PROTO_RULE_AUTH1_CA_NAME, "CN=a|CN=b", PROTO_EUNSUPPORTED, "Auth1CAName");
    assert_refused(PROTO_RULE_AUTH1_CA_NAME, "CN=x catype:intermediate", PROTO_EUNSUPPORTED,
                   "catype:");
    assert_refused(PROTO_RULE_ENABLED, "Maybe", PROTO_EUNSUPPORTED, "Enabled");
    assert_refused(PROTO_RULE_PROFILES, "Private,Office", PROTO_EUNSUPPORTED, "Profiles");
    assert_refused(PROTO_RULE_ENDPOINT2, "vpn.contoso.com", PROTO_EUNSUPPORTED, "Endpoint2");
    assert_refused(PROTO_RULE_PORT2, "1701;1702", PROTO_EUNSUPPORTED, "Port2");
    assert_refused(PROTO_RULE_PROTOCOL, "256", PROTO_EUNSUPPORTED, "Protocol");
    assert_refused(PROTO_RULE_QM_SEC_METHODS, "ESP:SHA1 AES128", PROTO_EUNSUPPORTED,
                   "QuickModeSecMethods");
    assert_refused(PROTO_RULE_QM_PFS, "Keine", PROTO_EUNSUPPORTED, "QuickModePFS");
    assert_refused(PROTO_RULE_AUTH1, "ComputerCert,ComputerCertECDSAP384", PROTO_EUNSUPPORTED,
                   "more than one");
    assert_refused(PROTO_RULE_AUTH1, "ComputerKerb", PROTO_EUNSUPPORTED, "no certificate");
    assert_refused(PROTO_RULE_AUTH1_PSK, "(redacted)", PROTO_EUNSUPPORTED, "Auth1PSK");
    assert_refused(PROTO_RULE_LOCAL_TUNNEL_ENDPOINT, "10.0.0.1", PROTO_EUNSUPPORTED,
                   "LocalTunnelEndpoint");
    assert_refused(PROTO_RULE_NAME, "all", PROTO_EINVAL, "all");
    assert_refused(PROTO_RULE_NAME, "a*", PROTO_EINVAL, "a*");
    assert_refused(PROTO_RULE_ACTION, NULL, PROTO_EINVAL, "Action");

    struct proto_consec_rule r;
    struct proto_strv args = {NULL, 0, 0};
    char why[WHY];
    kb_rule(&r);
    assert_int_equal(proto_rule_add_extra(&r, "Auth2HealthCert", "No"), PROTO_OK);
    assert_int_equal(agent_netsh_rule_add_args(&r, &args, why, sizeof(why)), PROTO_EUNSUPPORTED);
    assert_non_null(strstr(why, "Auth2HealthCert"));
    proto_rule_clear(&r);
}

static void test_the_profiles_rule_round_trips_only_on_a_host_with_its_main_mode(void **state)
{
    (void)state;
    struct proto_rule_spec spec;
    struct proto_consec_rule want, back;
    struct proto_strv args = {NULL, 0, 0};
    char why[WHY];
    memset(&spec, 0, sizeof(spec));
    spec.name = "rrasfleet L2TP";
    spec.description = "L2TP/IPsec for RRAS (rrasfleet)";
    spec.enabled = true;
    spec.profiles = PROTO_FW_PROFILE_DOMAIN | PROTO_FW_PROFILE_PRIVATE | PROTO_FW_PROFILE_PUBLIC;
    spec.endpoint1 = "131.107.0.2";
    spec.endpoint2 = "Any";
    spec.port1 = 1701;
    spec.auth1_ca_name = CORP_CA;
    spec.quick_mode_pfs = "None";
    char *mm[] = {"DHGroup14-AES256-SHA256", "ECDHP256-AES128-SHA256"};
    char *qm[] = {"ESP:SHA256-AES256+60min+100000kb", "ESP:SHA1-AES128+60min+100000kb"};
    spec.main_mode_sec_methods.items = mm;
    spec.main_mode_sec_methods.count = 2;
    spec.quick_mode_sec_methods.items = qm;
    spec.quick_mode_sec_methods.count = 2;
    assert_int_equal(proto_rule_from_spec(&spec, &want), PROTO_OK);
    assert_int_equal(agent_netsh_rule_add_args(&want, &args, why, sizeof(why)), PROTO_OK);

    struct agent_netsh_rule_globals g = globals_of(&want);
    assert_int_equal(agent_netsh_rule_from_add_args((const char *const *)args.items, args.count, &g,
                                                    &back, why, sizeof(why)),
                     PROTO_OK);
    assert_int_equal(agent_netsh_rule_compare(&back, &want, why, sizeof(why)), PROTO_OK);
    proto_rule_clear(&back);

    /* On a host whose main mode is Windows' default the rule still reads back as the one
     * wanted: the main mode is the host's, not the rule's (decision 018). */
    assert_int_equal(agent_netsh_rule_from_add_args((const char *const *)args.items, args.count,
                                                    NULL, &back, why, sizeof(why)),
                     PROTO_OK);
    assert_string_not_equal(back.field[PROTO_RULE_MM_SEC_METHODS],
                            want.field[PROTO_RULE_MM_SEC_METHODS]);
    assert_int_equal(agent_netsh_rule_compare(&back, &want, why, sizeof(why)), PROTO_OK);
    /* A field the rule owns is still compared, and named. */
    proto_free(back.field[PROTO_RULE_PORT2]);
    back.field[PROTO_RULE_PORT2] = proto_strdup("1702");
    assert_int_equal(agent_netsh_rule_compare(&back, &want, why, sizeof(why)), PROTO_ECHANGED);
    assert_non_null(strstr(why, "Port2"));
    proto_rule_clear(&back);
    proto_rule_clear(&want);
    proto_strv_clear(&args);
}

static void test_words_netsh_refuses_are_refused_by_its_model(void **state)
{
    (void)state;
    struct proto_consec_rule back;
    char why[WHY];
    const char *unknown[] = {
        "advfirewall", "consec",        "add",           "rule",
        "name=x",      "endpoint1=any", "endpoint2=any", "action=requireinrequireout",
        "colour=blue"};
    assert_int_equal(agent_netsh_rule_from_add_args(unknown, 9, NULL, &back, why, sizeof(why)),
                     PROTO_EPARSE);
    assert_non_null(strstr(why, "colour=blue"));
    const char *missing[] = {"advfirewall", "consec",        "add",          "rule",
                             "name=x",      "endpoint1=any", "endpoint2=any"};
    assert_int_equal(agent_netsh_rule_from_add_args(missing, 7, NULL, &back, why, sizeof(why)),
                     PROTO_EPARSE);
    assert_non_null(strstr(why, "action"));
    const char *all[] = {
        "advfirewall", "consec",        "add",           "rule",
        "name=ALL",    "endpoint1=any", "endpoint2=any", "action=requireinrequireout"};
    assert_int_equal(agent_netsh_rule_from_add_args(all, 8, NULL, &back, why, sizeof(why)),
                     PROTO_EPARSE);
    const char *ca_without_cert[] = {"advfirewall",
                                     "consec",
                                     "add",
                                     "rule",
                                     "name=x",
                                     "endpoint1=any",
                                     "endpoint2=any",
                                     "action=requireinrequireout",
                                     "auth1=computerkerb",
                                     "auth1ca=CN=x"};
    assert_int_equal(
        agent_netsh_rule_from_add_args(ca_without_cert, 10, NULL, &back, why, sizeof(why)),
        PROTO_EPARSE);
    const char *twice[] = {"advfirewall",   "consec",        "add",
                           "rule",          "name=x",        "Name=y",
                           "endpoint1=any", "endpoint2=any", "action=requireinrequireout"};
    assert_int_equal(agent_netsh_rule_from_add_args(twice, 9, NULL, &back, why, sizeof(why)),
                     PROTO_EPARSE);
    /* Keywords and tokens in any case, as netsh reads them. */
    const char *upper[] = {
        "AdvFirewall", "CONSEC",        "Add",           "Rule",
        "NAME=x",      "Endpoint1=ANY", "endpoint2=Any", "ACTION=RequireInRequireOut"};
    assert_int_equal(agent_netsh_rule_from_add_args(upper, 8, NULL, &back, why, sizeof(why)),
                     PROTO_OK);
    assert_string_equal(back.field[PROTO_RULE_ACTION], "RequireInRequireOut");
    assert_string_equal(back.field[PROTO_RULE_ENDPOINT1], "Any");
    assert_string_equal(back.field[PROTO_RULE_PROFILES], "Domain,Private,Public");
    assert_string_equal(back.field[PROTO_RULE_TYPE], "Static");
    assert_string_equal(back.field[PROTO_RULE_RULE_SOURCE], "Local Setting");
    assert_null(back.field[PROTO_RULE_AUTH1_CA_NAME]);
    proto_rule_clear(&back);
}

/* ---- the replay runner ---------------------------------------------------------------------- */

struct ran {
    enum proto_rc rc;
    uint32_t exit_code;
    char *text;
    size_t len;
};

static struct ran run_words(struct agent_netsh_replay *r, const char *const *args, size_t count)
{
    struct ran out = {PROTO_OK, 0, NULL, 0};
    struct agent_netsh_output o;
    char why[WHY];
    const struct agent_netsh_runner *runner = agent_netsh_replay_runner(r);
    out.rc = runner->run(runner->ctx, args, count, 1u << 20, 1000, &o, why, sizeof(why));
    if (out.rc == PROTO_OK) {
        out.exit_code = o.exit_code;
        /* What netsh writes to a pipe: CRLF line ends. */
        if (o.len > 0) {
            assert_non_null(memchr(o.bytes, '\r', o.len));
        }
        assert_int_equal(proto_text_decode(o.bytes, o.len, 437, &out.text, &out.len, NULL),
                         PROTO_OK);
        proto_free(o.bytes);
    }
    return out;
}

static void test_the_replay_answers_show_add_and_delete_as_netsh_does(void **state)
{
    (void)state;
    struct agent_netsh_replay *r = agent_netsh_replay_create(437);
    assert_non_null(r);
    const char *show[] = {"advfirewall",           "consec", "show", "rule",
                          "name=L2TP Manual Rule", "verbose"};
    struct ran a = run_words(r, show, 6);
    assert_int_equal(a.rc, PROTO_OK);
    assert_int_equal(a.exit_code, 1);
    assert_non_null(strstr(a.text, "No rules match the specified criteria."));
    proto_free(a.text);

    struct proto_consec_rule kb;
    struct proto_strv args = {NULL, 0, 0};
    char why[WHY];
    kb_rule(&kb);
    assert_int_equal(agent_netsh_rule_add_args(&kb, &args, why, sizeof(why)), PROTO_OK);
    a = run_words(r, (const char *const *)args.items, args.count);
    assert_int_equal(a.exit_code, 0);
    assert_non_null(strstr(a.text, "Ok."));
    proto_free(a.text);
    a = run_words(r, show, 6);
    assert_int_equal(a.exit_code, 0);
    assert_non_null(strstr(a.text, "Auth1CAName:                          " CORP_CA "\n"));
    proto_free(a.text);

    const char *sslcert[] = {"http", "show", "sslcert"};
    a = run_words(r, sslcert, 3);
    assert_int_equal(a.exit_code, 0);
    assert_int_equal(a.len, 0); /* as Wine's stub */
    proto_free(a.text);
    const char *bogus[] = {"ras", "show", "all"};
    a = run_words(r, bogus, 3);
    assert_int_equal(a.exit_code, 1);
    proto_free(a.text);

    const char *del[] = {"advfirewall", "consec", "delete", "rule", "name=L2TP Manual Rule"};
    a = run_words(r, del, 5);
    assert_int_equal(a.exit_code, 0);
    assert_non_null(strstr(a.text, "Deleted 1 rule(s)."));
    proto_free(a.text);
    a = run_words(r, del, 5);
    assert_int_equal(a.exit_code, 1);
    assert_non_null(strstr(a.text, "No rules match"));
    proto_free(a.text);

    assert_int_equal(agent_netsh_replay_call_count(r), 7);
    assert_string_equal(agent_netsh_replay_call(r, 6),
                        "advfirewall consec delete rule name=L2TP Manual Rule");
    assert_null(agent_netsh_replay_call(r, 7));
    proto_strv_clear(&args);
    proto_rule_clear(&kb);
    agent_netsh_replay_destroy(r);
}

static void test_the_replay_loads_a_listing_and_prints_it_back(void **state)
{
    (void)state;
    size_t len = 0;
    char *text = listing_text("bundles/kb-fix-verbatim/netsh-consec.txt", &len);
    char why[WHY];
    struct agent_netsh_replay *r = agent_netsh_replay_create(437);
    assert_int_equal(agent_netsh_replay_load(r, text, len, why, sizeof(why)), PROTO_OK);
    struct proto_buf out;
    proto_buf_init(&out, 1u << 20);
    assert_int_equal(agent_netsh_replay_listing(r, &out), PROTO_OK);
    assert_int_equal(out.len, len);
    assert_memory_equal(out.data, text, len);
    proto_buf_free(&out);
    proto_free(text);

    text = listing_text("bundles/psk-rule/netsh-consec.txt", &len);
    assert_int_equal(agent_netsh_replay_load(r, text, len, why, sizeof(why)), PROTO_EPARSE);
    assert_non_null(strstr(why, "pre-shared key"));
    proto_free(text);
    assert_int_equal(agent_netsh_replay_load(r, "", 0, why, sizeof(why)), PROTO_OK);
    size_t count = 9;
    (void)agent_netsh_replay_rules(r, &count);
    assert_int_equal(count, 0);
    agent_netsh_replay_destroy(r);
}

/* ---- get, put, delete through a runner ------------------------------------------------------ */

struct host {
    struct agent_netsh_replay *replay;
    struct agent_netsh_rule_host netsh;
};

static void host_make(struct host *h, const char *listing)
{
    char why[WHY];
    h->replay = agent_netsh_replay_create(437);
    assert_non_null(h->replay);
    h->netsh.runner = agent_netsh_replay_runner(h->replay);
    h->netsh.oem_codepage = 437;
    h->netsh.timeout_ms = 0;
    if (listing != NULL) {
        size_t len = 0;
        char *text = listing_text(listing, &len);
        assert_int_equal(agent_netsh_replay_load(h->replay, text, len, why, sizeof(why)), PROTO_OK);
        proto_free(text);
    }
}

static void test_get_tells_absent_from_unavailable_and_from_a_failure(void **state)
{
    (void)state;
    struct host h;
    struct agent_rule_state st;
    char why[WHY];
    host_make(&h, "bundles/kb-fix-verbatim/netsh-consec.txt");

    assert_int_equal(agent_netsh_rule_get(&h.netsh, "no such rule", &st, why, sizeof(why)),
                     PROTO_OK);
    assert_int_equal(st.count, 0);

    assert_int_equal(agent_netsh_rule_get(&h.netsh, "L2TP Manual Rule", &st, why, sizeof(why)),
                     PROTO_OK);
    assert_int_equal(st.count, 1);
    assert_string_equal(st.rule.field[PROTO_RULE_AUTH1_CA_NAME], CORP_CA);
    agent_rule_state_clear(&st);

    /* Exit 0 and nothing printed (Wine's netsh): unknown, never "absent". */
    agent_netsh_replay_fail(h.replay, "show", 1, AGENT_NETSH_REPLAY_FAIL_SILENT);
    assert_int_equal(agent_netsh_rule_get(&h.netsh, "L2TP Manual Rule", &st, why, sizeof(why)),
                     PROTO_EUNAVAILABLE);
    assert_non_null(strstr(why, "source unavailable"));
    assert_int_equal(st.count, 0);

    agent_netsh_replay_fail(h.replay, "show", 1, AGENT_NETSH_REPLAY_FAIL_EXIT);
    assert_int_equal(agent_netsh_rule_get(&h.netsh, "L2TP Manual Rule", &st, why, sizeof(why)),
                     PROTO_EIO);
    assert_non_null(strstr(why, "exited 1"));

    agent_netsh_replay_fail(h.replay, NULL, 1, AGENT_NETSH_REPLAY_FAIL_NO_START);
    assert_int_equal(agent_netsh_rule_get(&h.netsh, "L2TP Manual Rule", &st, why, sizeof(why)),
                     PROTO_EIO);
    assert_non_null(strstr(why, "cannot start"));

    assert_int_equal(agent_netsh_rule_get(&h.netsh, "all", &st, why, sizeof(why)), PROTO_EINVAL);
    agent_netsh_replay_destroy(h.replay);
}

static void test_put_replaces_namesakes_and_reads_the_rule_back(void **state)
{
    (void)state;
    struct host h;
    struct agent_rule_state st;
    struct proto_consec_rule kb;
    char why[WHY];
    host_make(&h, "bundles/kb-fix-verbatim/netsh-consec.txt");
    kb_rule(&kb);
    set_field(&kb, PROTO_RULE_MM_SEC_METHODS,
              "DHGroup2-AES128-SHA256, DHGroup2-AES128-SHA1, DHGroup2-3DES-SHA1");
    set_field(&kb, PROTO_RULE_ENABLED, "No");
    /* Two namesakes on the host: the put leaves one, the one asked for. */
    assert_int_equal(agent_netsh_rule_put(&h.netsh, &kb, why, sizeof(why)), PROTO_OK);
    assert_int_equal(agent_netsh_rule_put(&h.netsh, &kb, why, sizeof(why)), PROTO_OK);
    assert_int_equal(agent_netsh_rule_get(&h.netsh, "L2TP Manual Rule", &st, why, sizeof(why)),
                     PROTO_OK);
    assert_int_equal(st.count, 1);
    assert_string_equal(st.rule.field[PROTO_RULE_ENABLED], "No");
    agent_rule_state_clear(&st);

    /* netsh refuses the add: the put fails and says how netsh exited. */
    agent_netsh_replay_fail(h.replay, "add", 1, AGENT_NETSH_REPLAY_FAIL_EXIT);
    assert_int_equal(agent_netsh_rule_put(&h.netsh, &kb, why, sizeof(why)), PROTO_EIO);
    assert_non_null(strstr(why, "consec add rule exited 1"));

    /* The add "succeeds" but prints nothing: unavailable, not success. */
    agent_netsh_replay_fail(h.replay, "add", 1, AGENT_NETSH_REPLAY_FAIL_SILENT);
    assert_int_equal(agent_netsh_rule_put(&h.netsh, &kb, why, sizeof(why)), PROTO_EUNAVAILABLE);

    /* A rule netsh cannot be given changes nothing: no netsh call at all. */
    size_t calls = agent_netsh_replay_call_count(h.replay);
    set_field(&kb, PROTO_RULE_DESCRIPTION, "bad\tvalue");
    assert_int_equal(agent_netsh_rule_put(&h.netsh, &kb, why, sizeof(why)), PROTO_EUNSUPPORTED);
    assert_int_equal(agent_netsh_replay_call_count(h.replay), calls);

    /* A main mode other than the host's is not the rule's to set: the put still succeeds. */
    set_field(&kb, PROTO_RULE_DESCRIPTION, "L2TP Manual Rule");
    set_field(&kb, PROTO_RULE_MM_SEC_METHODS, "DHGroup14-AES256-SHA256");
    assert_int_equal(agent_netsh_rule_put(&h.netsh, &kb, why, sizeof(why)), PROTO_OK);

    assert_int_equal(agent_netsh_rule_delete(&h.netsh, "L2TP Manual Rule", why, sizeof(why)),
                     PROTO_OK);
    assert_int_equal(agent_netsh_rule_delete(&h.netsh, "L2TP Manual Rule", why, sizeof(why)),
                     PROTO_OK); /* "No rules match": already absent */
    agent_netsh_replay_fail(h.replay, "delete", 1, AGENT_NETSH_REPLAY_FAIL_SILENT);
    assert_int_equal(agent_netsh_rule_delete(&h.netsh, "L2TP Manual Rule", why, sizeof(why)),
                     PROTO_EUNAVAILABLE);
    proto_rule_clear(&kb);
    agent_netsh_replay_destroy(h.replay);
}

static void test_put_fails_cleanly_at_every_allocation(void **state)
{
    (void)state;
    struct proto_consec_rule kb;
    char why[WHY];
    enum proto_rc rc = PROTO_ENOMEM;
    unsigned long n;
    kb_rule(&kb);
    struct agent_netsh_rule_globals g = globals_of(&kb);
    for (n = 1; n < 20000 && rc != PROTO_OK; n++) {
        struct host h;
        host_make(&h, NULL);
        assert_int_equal(agent_netsh_replay_set_globals(h.replay, &g), PROTO_OK);
        proto_alloc_fail_after(n);
        rc = agent_netsh_rule_put(&h.netsh, &kb, why, sizeof(why));
        proto_alloc_fail_after(0);
        agent_netsh_replay_destroy(h.replay);
    }
    assert_int_equal(rc, PROTO_OK);
    assert_true(n > 20);
    proto_rule_clear(&kb);
}

/* ---- the apply engine over a host whose rules go through netsh ---------------------------- */

struct fake_win {
    struct host h;
    struct agent_dword_state reg[PROTO_DWORD_NAME_COUNT];
    unsigned restarts;
    bool restart_fails;
};

static enum proto_rc fw_snapshot(struct agent_system *sys, struct proto_snapshot **out)
{
    (void)sys;
    *out = proto_snapshot_create();
    return *out != NULL ? PROTO_OK : PROTO_ENOMEM;
}

static enum proto_rc fw_dword_get(struct agent_system *sys, enum proto_dword_name name,
                                  struct agent_dword_state *out)
{
    struct fake_win *w = sys->ctx;
    *out = w->reg[name];
    return PROTO_OK;
}

static enum proto_rc fw_dword_set(struct agent_system *sys, enum proto_dword_name name,
                                  uint32_t value)
{
    struct fake_win *w = sys->ctx;
    w->reg[name].present = true;
    w->reg[name].value = value;
    return PROTO_OK;
}

static enum proto_rc fw_dword_delete(struct agent_system *sys, enum proto_dword_name name)
{
    struct fake_win *w = sys->ctx;
    memset(&w->reg[name], 0, sizeof(w->reg[name]));
    return PROTO_OK;
}

static enum proto_rc fw_rule_get(struct agent_system *sys, const char *name,
                                 struct agent_rule_state *out)
{
    struct fake_win *w = sys->ctx;
    return agent_netsh_rule_get(&w->h.netsh, name, out, sys->reason, sizeof(sys->reason));
}

static enum proto_rc fw_rule_put(struct agent_system *sys, const struct proto_consec_rule *rule,
                                 size_t position)
{
    struct fake_win *w = sys->ctx;
    (void)position;
    return agent_netsh_rule_put(&w->h.netsh, rule, sys->reason, sizeof(sys->reason));
}

static enum proto_rc fw_rule_delete(struct agent_system *sys, const char *name)
{
    struct fake_win *w = sys->ctx;
    return agent_netsh_rule_delete(&w->h.netsh, name, sys->reason, sizeof(sys->reason));
}

static enum proto_rc fw_rule_check(struct agent_system *sys, const struct proto_consec_rule *rule)
{
    struct proto_strv args = {NULL, 0, 0};
    enum proto_rc rc = agent_netsh_rule_add_args(rule, &args, sys->reason, sizeof(sys->reason));
    proto_strv_clear(&args);
    return rc;
}

static enum proto_rc fw_restart(struct agent_system *sys, enum proto_service service)
{
    struct fake_win *w = sys->ctx;
    (void)service;
    if (w->restart_fails) {
        snprintf(sys->reason, sizeof(sys->reason), "the service RemoteAccess is not installed");
        return PROTO_ENOTFOUND;
    }
    w->restarts++;
    return PROTO_OK;
}

static void fw_open(struct fake_win *w, struct agent_system *sys, const char *listing)
{
    memset(w, 0, sizeof(*w));
    memset(sys, 0, sizeof(*sys));
    host_make(&w->h, listing);
    snprintf(sys->id, sizeof(sys->id), "win32:");
    sys->ctx = w;
    sys->read_snapshot = fw_snapshot;
    sys->dword_get = fw_dword_get;
    sys->dword_set = fw_dword_set;
    sys->dword_delete = fw_dword_delete;
    sys->rule_get = fw_rule_get;
    sys->rule_put = fw_rule_put;
    sys->rule_delete = fw_rule_delete;
    sys->service_restart = fw_restart;
    sys->rule_check = fw_rule_check;
}

static char *dup_or_die(const char *s)
{
    char *d = proto_strdup(s);
    assert_non_null(d);
    return d;
}

/* ProhibitIpSec=1, then a rule named "L2TP Manual Rule" pinned to `ca`, then a restart: the
 * registry step comes first so that a failure at netsh has something to roll back. */
static struct proto_profile *profile_make(const char *ca)
{
    struct proto_profile *p = proto_wire_profile_create();
    struct proto_action *a = NULL;
    assert_non_null(p);
    snprintf(p->profile_id, sizeof(p->profile_id), "6f1c2a9e-0000-4000-8000-000000000001");
    p->serial = 1;
    snprintf(p->target, sizeof(p->target), "vpn1.corp.contoso.com");
    p->not_before = 0;
    p->expires = 4102444800;
    p->mode = PROTO_PROFILE_APPLY;
    assert_int_equal(proto_wire_profile_add_action(p, PROTO_ACTION_REGISTRY_DWORD_SET, &a),
                     PROTO_OK);
    a->u.dword.name = PROTO_DWORD_PROHIBIT_IPSEC;
    a->u.dword.data = 1;
    assert_int_equal(proto_wire_profile_add_action(p, PROTO_ACTION_IPSEC_RULE_ENSURE, &a),
                     PROTO_OK);
    struct proto_rule_spec *s = &a->u.rule;
    s->name = dup_or_die("L2TP Manual Rule");
    s->description = dup_or_die("L2TP (rrasfleet)");
    s->enabled = true;
    s->profiles = PROTO_FW_PROFILE_PRIVATE | PROTO_FW_PROFILE_PUBLIC;
    s->endpoint1 = dup_or_die("Any");
    s->endpoint2 = dup_or_die("Any");
    s->port1 = 1701;
    s->auth1_ca_name = dup_or_die(ca);
    s->quick_mode_pfs = dup_or_die("None");
    assert_int_equal(proto_strv_push(&s->main_mode_sec_methods, "DHGroup2-AES128-SHA1", 8),
                     PROTO_OK);
    assert_int_equal(proto_strv_push(&s->main_mode_sec_methods, "DHGroup2-3DES-SHA1", 8), PROTO_OK);
    assert_int_equal(
        proto_strv_push(&s->quick_mode_sec_methods, "ESP:SHA256-AES256+60min+100000kb", 8),
        PROTO_OK);
    assert_int_equal(proto_wire_profile_add_action(p, PROTO_ACTION_SERVICE_RESTART, &a), PROTO_OK);
    a->u.restart.service = PROTO_SERVICE_REMOTE_ACCESS;
    return p;
}

static struct proto_result *apply_profile(struct agent_system *sys, struct proto_profile *p,
                                          char *state_dir)
{
    struct proto_policy policy;
    memset(&policy, 0, sizeof(policy));
    policy.now = 1795564800;
    struct proto_result *res = proto_wire_result_create();
    assert_non_null(res);
    struct agent_apply_request req = {
        .profile = p,
        .host_mode = AGENT_REMEDIATION_APPLY,
        .state_dir = state_dir,
        .policy = &policy,
        .now = policy.now,
    };
    assert_int_equal(agent_apply_run(sys, &req, res), PROTO_OK);
    return res;
}

/* The host's rules now, as its listing parses. */
static struct proto_snapshot *fw_rules(struct fake_win *w)
{
    struct proto_buf text;
    proto_buf_init(&text, 1u << 20);
    assert_int_equal(agent_netsh_replay_listing(w->h.replay, &text), PROTO_OK);
    struct proto_snapshot *snap = proto_snapshot_create();
    assert_non_null(snap);
    assert_int_equal(proto_netsh_consec_parse(proto_buf_str(&text), text.len, "replay", snap),
                     PROTO_OK);
    proto_buf_free(&text);
    return snap;
}

/* A host as the KB leaves it (its rule, on a host whose main mode every rule prints) and a
 * second rule, put through netsh's add rule and read back. */
static struct proto_snapshot *fw_seed(struct fake_win *w)
{
    struct proto_consec_rule kb;
    char why[WHY];
    struct agent_netsh_rule_globals g = {"DHGroup2-AES128-SHA1,DHGroup2-3DES-SHA1", "480min,0sess",
                                         NULL};
    assert_int_equal(agent_netsh_replay_set_globals(w->h.replay, &g), PROTO_OK);
    kb_rule(&kb);
    assert_int_equal(agent_netsh_rule_put(&w->h.netsh, &kb, why, sizeof(why)), PROTO_OK);
    set_field(&kb, PROTO_RULE_NAME, "Old L2TP rule");
    set_field(&kb, PROTO_RULE_ENABLED, "No");
    set_field(&kb, PROTO_RULE_TYPE, "Static");
    assert_int_equal(agent_netsh_rule_put(&w->h.netsh, &kb, why, sizeof(why)), PROTO_OK);
    proto_rule_clear(&kb);
    return fw_rules(w);
}

/* Every rule of the host equals the one of the same name in `want`, field for field. */
static void assert_rules_are(struct fake_win *w, struct proto_snapshot *want)
{
    size_t count = 0;
    char why[WHY];
    const struct proto_consec_rule *have = agent_netsh_replay_rules(w->h.replay, &count);
    assert_int_equal(count, want->rule_count);
    for (size_t i = 0; i < count; i++) {
        /* Re-created rules come last: match by name. */
        const struct proto_consec_rule *match = NULL;
        for (size_t k = 0; k < count; k++) {
            if (strcmp(have[k].field[PROTO_RULE_NAME], want->rules[i].field[PROTO_RULE_NAME]) ==
                0) {
                match = &have[k];
            }
        }
        assert_non_null(match);
        if (agent_netsh_rule_compare(match, &want->rules[i], why, sizeof(why)) != PROTO_OK) {
            fail_msg("rule \"%s\" not restored: %s", want->rules[i].field[PROTO_RULE_NAME], why);
        }
    }
    proto_snapshot_destroy(want);
}

static void test_a_failed_restart_re_creates_the_replaced_rule_with_all_its_fields(void **state)
{
    (void)state;
    struct fake_win w;
    struct agent_system sys;
    char dir[] = "/tmp/rras-netsh-rule-XXXXXX";
    assert_non_null(mkdtemp(dir));
    fw_open(&w, &sys, NULL);
    struct proto_snapshot *before = fw_seed(&w);
    w.restart_fails = true;
    struct proto_profile *p = profile_make("DC=com, DC=contoso, CN=Other CA");
    struct proto_result *res = apply_profile(&sys, p, dir);
    assert_int_equal(res->outcome, PROTO_OUTCOME_ROLLED_BACK);
    assert_non_null(strstr(res->reason, "not installed"));
    assert_non_null(strstr(res->reason, "the earlier steps were undone"));
    assert_int_equal(res->steps[0].status, PROTO_STEP_UNDONE);
    assert_int_equal(res->steps[1].status, PROTO_STEP_UNDONE);
    assert_int_equal(res->steps[2].status, PROTO_STEP_FAILED);
    assert_false(w.reg[PROTO_DWORD_PROHIBIT_IPSEC].present);
    /* The KB's rule was replaced by the profile's and is back, every field as netsh printed it
     * (the description, type, endpoint, quick mode the profile's rule did not have). */
    assert_rules_are(&w, before);
    proto_wire_result_destroy(res);
    proto_wire_profile_destroy(p);
    agent_netsh_replay_destroy(w.h.replay);
    testutil_remove_tree(dir);
}

static void test_a_failed_rule_add_rolls_the_registry_back(void **state)
{
    (void)state;
    struct fake_win w;
    struct agent_system sys;
    char dir[] = "/tmp/rras-netsh-rule-XXXXXX";
    assert_non_null(mkdtemp(dir));
    fw_open(&w, &sys, NULL);
    struct proto_snapshot *before = fw_seed(&w);
    w.reg[PROTO_DWORD_PROHIBIT_IPSEC].present = true;
    w.reg[PROTO_DWORD_PROHIBIT_IPSEC].value = 0;
    agent_netsh_replay_fail(w.h.replay, "add", 1, AGENT_NETSH_REPLAY_FAIL_EXIT);
    struct proto_profile *p = profile_make(CORP_CA);
    struct proto_result *res = apply_profile(&sys, p, dir);
    assert_int_equal(res->outcome, PROTO_OUTCOME_ROLLED_BACK);
    assert_non_null(strstr(res->reason, "step 2 (ipsec_rule_ensure) failed"));
    assert_non_null(strstr(res->reason, "consec add rule exited 1"));
    assert_true(w.reg[PROTO_DWORD_PROHIBIT_IPSEC].present);
    assert_int_equal(w.reg[PROTO_DWORD_PROHIBIT_IPSEC].value, 0);
    assert_int_equal(w.restarts, 0);
    assert_rules_are(&w, before);
    proto_wire_result_destroy(res);
    proto_wire_profile_destroy(p);
    agent_netsh_replay_destroy(w.h.replay);
    testutil_remove_tree(dir);
}

static void test_an_apply_on_a_host_with_the_profiles_main_mode_holds(void **state)
{
    (void)state;
    struct fake_win w;
    struct agent_system sys;
    struct agent_rule_state st;
    struct proto_consec_rule want;
    char dir[] = "/tmp/rras-netsh-rule-XXXXXX";
    char why[WHY];
    assert_non_null(mkdtemp(dir));
    fw_open(&w, &sys, NULL);
    proto_snapshot_destroy(fw_seed(&w));
    struct proto_profile *p = profile_make(CORP_CA);
    struct proto_result *res = apply_profile(&sys, p, dir);
    if (res->outcome != PROTO_OUTCOME_APPLIED) {
        fail_msg("outcome %s: %s", proto_wire_outcome_str(res->outcome), res->reason);
    }
    assert_int_equal(w.reg[PROTO_DWORD_PROHIBIT_IPSEC].value, 1);
    assert_int_equal(w.restarts, 1);
    assert_int_equal(agent_netsh_rule_get(&w.h.netsh, "L2TP Manual Rule", &st, why, sizeof(why)),
                     PROTO_OK);
    assert_int_equal(st.count, 1);
    assert_int_equal(proto_rule_from_spec(&p->actions[1].u.rule, &want), PROTO_OK);
    assert_int_equal(agent_netsh_rule_compare(&st.rule, &want, why, sizeof(why)), PROTO_OK);
    proto_rule_clear(&want);
    agent_rule_state_clear(&st);
    proto_wire_result_destroy(res);
    proto_wire_profile_destroy(p);
    agent_netsh_replay_destroy(w.h.replay);
    testutil_remove_tree(dir);
}

static void test_a_rule_netsh_could_not_restore_is_left_alone(void **state)
{
    (void)state;
    struct fake_win w;
    struct agent_system sys;
    char dir[] = "/tmp/rras-netsh-rule-XXXXXX";
    char why[WHY];
    assert_non_null(mkdtemp(dir));
    fw_open(&w, &sys, NULL);
    /* A namesake the builder refuses (a description with a quote, as a hand-made rule may
     * have), put on the replay behind the agent's back. */
    struct proto_consec_rule odd;
    kb_rule(&odd);
    struct proto_strv args = {NULL, 0, 0};
    assert_int_equal(agent_netsh_rule_add_args(&odd, &args, why, sizeof(why)), PROTO_OK);
    for (size_t i = 0; i < args.count; i++) {
        if (strncmp(args.items[i], "description=", 12) == 0) {
            proto_free(args.items[i]);
            args.items[i] = dup_or_die("description=say \"hi\"");
        }
    }
    const struct agent_netsh_runner *runner = agent_netsh_replay_runner(w.h.replay);
    struct agent_netsh_output o;
    assert_int_equal(runner->run(runner->ctx, (const char *const *)args.items, args.count, 1u << 20,
                                 1000, &o, why, sizeof(why)),
                     PROTO_OK);
    assert_int_equal(o.exit_code, 0);
    proto_free(o.bytes);
    size_t calls = agent_netsh_replay_call_count(w.h.replay);

    struct proto_profile *p = profile_make(CORP_CA);
    struct proto_result *res = apply_profile(&sys, p, dir);
    assert_int_equal(res->outcome, PROTO_OUTCOME_ROLLED_BACK);
    assert_non_null(strstr(res->reason, "could not be restored on rollback"));
    assert_non_null(strstr(res->reason, "Description"));
    assert_false(w.reg[PROTO_DWORD_PROHIBIT_IPSEC].present);
    /* Only shows after the registry step: the rule was never deleted or added. */
    for (size_t i = calls; i < agent_netsh_replay_call_count(w.h.replay); i++) {
        assert_null(strstr(agent_netsh_replay_call(w.h.replay, i), " add "));
        assert_null(strstr(agent_netsh_replay_call(w.h.replay, i), " delete "));
    }
    proto_strv_clear(&args);
    proto_rule_clear(&odd);
    proto_wire_result_destroy(res);
    proto_wire_profile_destroy(p);
    agent_netsh_replay_destroy(w.h.replay);
    testutil_remove_tree(dir);
}

/* ---- the allow-list and the service wait ---------------------------------------------------- */

static void test_the_windows_allow_list_is_protos(void **state)
{
    (void)state;
    static const char hklm[] = "HKEY_LOCAL_MACHINE\\";
    for (int i = 0; i < PROTO_DWORD_NAME_COUNT; i++) {
        const struct agent_allow_dword *e = agent_allow_dword((enum proto_dword_name)i);
        assert_non_null(e);
        const struct proto_dword_info *info = &proto_dword_allow_list[i];
        assert_int_equal(strncmp(info->key, hklm, strlen(hklm)), 0);
        assert_int_equal(strcasecmp(info->key + strlen(hklm), e->subkey), 0);
        assert_string_equal(info->name, e->value);
    }
    assert_null(agent_allow_dword(PROTO_DWORD_NAME_COUNT));
    const struct agent_allow_service *s = agent_allow_service(PROTO_SERVICE_REMOTE_ACCESS);
    assert_non_null(s);
    assert_string_equal(s->name, "RemoteAccess");
    assert_true(s->stop_timeout_ms > 0 && s->start_timeout_ms > 0);
    assert_null(agent_allow_service(PROTO_SERVICE_COUNT));
}

/* A service that answers from a script and a clock that only moves when slept on. */
struct script {
    const struct agent_service_status *steps;
    size_t count;
    size_t at;
    uint64_t now;
    uint64_t slept[64];
    size_t sleeps;
};

static enum proto_rc script_query(void *ctx, struct agent_service_status *out, char *why,
                                  size_t why_size)
{
    struct script *s = ctx;
    (void)why;
    (void)why_size;
    *out = s->steps[s->at < s->count ? s->at : s->count - 1];
    s->at++;
    return PROTO_OK;
}

static uint64_t script_now(void *ctx)
{
    return ((struct script *)ctx)->now;
}

static void script_sleep(void *ctx, uint64_t ms)
{
    struct script *s = ctx;
    s->now += ms;
    if (s->sleeps < sizeof(s->slept) / sizeof(s->slept[0])) {
        s->slept[s->sleeps++] = ms;
    }
}

static void test_the_service_wait_looks_every_tenth_of_the_hint_within_the_limit(void **state)
{
    (void)state;
    char why[WHY];
    const struct agent_service_status stopping[] = {
        {AGENT_SERVICE_STOP_PENDING, 3000, 0},
        {AGENT_SERVICE_STOP_PENDING, 0, 0},
        {AGENT_SERVICE_STOP_PENDING, 60000, 0},
        {AGENT_SERVICE_STOPPED, 0, 0},
    };
    struct script s = {stopping, 4, 0, 1000, {0}, 0};
    struct agent_service_clock clock = {script_now, script_sleep, &s};
    struct agent_service_status last;
    assert_int_equal(agent_service_wait(script_query, &s, "RemoteAccess", AGENT_SERVICE_STOPPED,
                                        10000, &clock, &last, why, sizeof(why)),
                     PROTO_OK);
    assert_int_equal(last.state, AGENT_SERVICE_STOPPED);
    assert_int_equal(s.sleeps, 3);
    assert_int_equal(s.slept[0], 300);                       /* a tenth of the hint */
    assert_int_equal(s.slept[1], AGENT_SERVICE_POLL_MIN_MS); /* no hint */
    assert_int_equal(s.slept[2], AGENT_SERVICE_POLL_MAX_MS); /* a long hint */

    /* Stuck: ends at the limit, never sleeping past it, naming the state. */
    const struct agent_service_status stuck[] = {{AGENT_SERVICE_STOP_PENDING, 10000, 0}};
    struct script t = {stuck, 1, 0, 0, {0}, 0};
    clock.ctx = &t;
    assert_int_equal(agent_service_wait(script_query, &t, "RemoteAccess", AGENT_SERVICE_STOPPED,
                                        2500, &clock, NULL, why, sizeof(why)),
                     PROTO_EUNAVAILABLE);
    assert_int_equal(t.now, 2500);
    assert_non_null(strstr(why, "RemoteAccess did not reach STOPPED within 2 s"));
    assert_non_null(strstr(why, "STOP_PENDING"));

    /* Stopped while starting: at once, with its exit code. */
    const struct agent_service_status crashed[] = {{AGENT_SERVICE_START_PENDING, 0, 0},
                                                   {AGENT_SERVICE_STOPPED, 0, 1067}};
    struct script u = {crashed, 2, 0, 0, {0}, 0};
    clock.ctx = &u;
    assert_int_equal(agent_service_wait(script_query, &u, "RemoteAccess", AGENT_SERVICE_RUNNING,
                                        60000, &clock, NULL, why, sizeof(why)),
                     PROTO_EIO);
    assert_non_null(strstr(why, "stopped while starting (exit code 1067)"));
    assert_int_equal(u.sleeps, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kb_rule_becomes_the_documented_add_rule),
        cmocka_unit_test(test_every_fixture_rule_netsh_can_make_comes_back_field_for_field),
        cmocka_unit_test(test_quote_in_a_ca_name_is_written_as_backslash_apostrophe),
        cmocka_unit_test(test_tunnel_and_ecdsa_rules_use_their_own_keywords),
        cmocka_unit_test(test_values_netsh_cannot_be_given_are_refused_naming_the_field),
        cmocka_unit_test(test_the_profiles_rule_round_trips_only_on_a_host_with_its_main_mode),
        cmocka_unit_test(test_words_netsh_refuses_are_refused_by_its_model),
        cmocka_unit_test(test_the_replay_answers_show_add_and_delete_as_netsh_does),
        cmocka_unit_test(test_the_replay_loads_a_listing_and_prints_it_back),
        cmocka_unit_test(test_get_tells_absent_from_unavailable_and_from_a_failure),
        cmocka_unit_test(test_put_replaces_namesakes_and_reads_the_rule_back),
        cmocka_unit_test(test_put_fails_cleanly_at_every_allocation),
        cmocka_unit_test(test_a_failed_restart_re_creates_the_replaced_rule_with_all_its_fields),
        cmocka_unit_test(test_a_failed_rule_add_rolls_the_registry_back),
        cmocka_unit_test(test_an_apply_on_a_host_with_the_profiles_main_mode_holds),
        cmocka_unit_test(test_a_rule_netsh_could_not_restore_is_left_alone),
        cmocka_unit_test(test_the_windows_allow_list_is_protos),
        cmocka_unit_test(test_the_service_wait_looks_every_tenth_of_the_hint_within_the_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
