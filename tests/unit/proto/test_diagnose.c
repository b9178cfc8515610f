/* Unit tests of proto/diagnose: every finding id fires when it should and stays quiet when not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"
#include "diagnose.h"

#define NOW 1795564800 /* 2026-11-25T00:00:00Z */
#define DAY 86400
#define CORP_CA "DC=com, DC=contoso, DC=corp, CN=corp-DC1-CA"
#define PUBLIC_CA "C=US, O=Example Trust Inc, CN=Example Public TLS RSA CA G1"

static struct proto_snapshot *new_snapshot(void)
{
    struct proto_snapshot *snap = proto_snapshot_create();
    assert_non_null(snap);
    snap->certs_available = true;
    snap->rules_available = true;
    return snap;
}

/* Adds a parsed certificate. `ekus` is a comma-free list terminated by NULL, or NULL for a
 * certificate without an EKU extension. */
static struct proto_cert *add_cert(struct proto_snapshot *snap, const char *cn, const char *issuer,
                                   bool key, int64_t not_after, const char *const *ekus)
{
    struct proto_cert *c = NULL;
    assert_int_equal(proto_snapshot_add_cert(snap, &c), PROTO_OK);
    c->parsed = true;
    c->store_index = snap->cert_count - 1;
    snprintf(c->sha1, sizeof(c->sha1), "%040zu", snap->cert_count);
    snprintf(c->sha256, sizeof(c->sha256), "%064zu", snap->cert_count);
    assert_int_equal(proto_dn_append(&c->subject, "CN", cn, false), PROTO_OK);
    assert_int_equal(proto_dn_parse(issuer, &c->issuer), PROTO_OK);
    c->wildcard = strncmp(cn, "*.", 2) == 0;
    assert_int_equal(proto_strv_push(&c->san_dns, cn, 8), PROTO_OK);
    c->has_private_key = key;
    c->not_before = NOW - 365 * DAY;
    c->not_after = not_after;
    c->has_eku = ekus != NULL;
    for (size_t i = 0; ekus != NULL && ekus[i] != NULL; i++) {
        assert_int_equal(proto_strv_push(&c->eku, ekus[i], 8), PROTO_OK);
    }
    return c;
}

static const char *const SERVER_AUTH[] = {PROTO_OID_SERVER_AUTH, NULL};
static const char *const CLIENT_AUTH[] = {PROTO_OID_CLIENT_AUTH, NULL};
static const char *const IKE_ONLY[] = {PROTO_OID_IKE_INTERMEDIATE, NULL};
static const char *const WILDCARD_EKUS[] = {PROTO_OID_SERVER_AUTH, PROTO_OID_CLIENT_AUTH, NULL};

static struct proto_consec_rule *add_rule(struct proto_snapshot *snap, const char *name,
                                          const char *ca)
{
    struct proto_consec_rule *r = NULL;
    assert_int_equal(proto_snapshot_add_rule(snap, &r), PROTO_OK);
    const struct {
        enum proto_rule_field field;
        const char *value;
    } fields[] = {
        {PROTO_RULE_NAME, name},
        {PROTO_RULE_ENABLED, "Yes"},
        {PROTO_RULE_MODE, "Transport"},
        {PROTO_RULE_PORT1, "Any"},
        {PROTO_RULE_PORT2, "1701"},
        {PROTO_RULE_PROTOCOL, "UDP"},
        {PROTO_RULE_AUTH1, "ComputerCert"},
        {PROTO_RULE_AUTH1_CA_NAME, ca},
        {PROTO_RULE_MM_SEC_METHODS, "DHGroup14-AES256-SHA256"},
        {PROTO_RULE_QM_SEC_METHODS, "ESP:SHA256-AES256+60min+100000kb"},
        {PROTO_RULE_QM_PFS, "None"},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        r->field[fields[i].field] = proto_strdup(fields[i].value);
        assert_non_null(r->field[fields[i].field]);
    }
    return r;
}

static void set_field(struct proto_consec_rule *r, enum proto_rule_field field, const char *value)
{
    proto_free(r->field[field]);
    r->field[field] = proto_strdup(value);
    assert_non_null(r->field[field]);
}

static void set_prohibit_ipsec(struct proto_snapshot *snap, uint32_t value)
{
    snap->prohibit_ipsec.present = true;
    snap->prohibit_ipsec.value = value;
}

static struct proto_policy corp_policy(void)
{
    struct proto_policy p = {0};
    assert_int_equal(proto_dn_parse(CORP_CA, &p.expected_ca), PROTO_OK);
    p.has_expected_ca = true;
    p.now = NOW;
    p.expiry_days = 30;
    return p;
}

static struct proto_diagnosis *run(const struct proto_snapshot *snap,
                                   const struct proto_policy *policy)
{
    struct proto_diagnosis *d = NULL;
    assert_int_equal(proto_diagnose(snap, policy, &d), PROTO_OK);
    assert_non_null(d);
    return d;
}

static const struct proto_finding *find(const struct proto_diagnosis *d, const char *id)
{
    for (size_t i = 0; i < d->finding_count; i++) {
        if (strcmp(d->findings[i].id, id) == 0) {
            return &d->findings[i];
        }
    }
    return NULL;
}

static void done(struct proto_snapshot *snap, struct proto_diagnosis *d, struct proto_policy *p)
{
    proto_diagnosis_destroy(d);
    proto_snapshot_destroy(snap);
    proto_policy_clear(p);
}

/* The KB 2855053 scenario: a wildcard from a public CA enumerates before the corp cert. */
static struct proto_snapshot *kb_scenario(void)
{
    struct proto_snapshot *snap = new_snapshot();
    add_cert(snap, "*.contoso.com", PUBLIC_CA, true, NOW + 900 * DAY, WILDCARD_EKUS);
    add_cert(snap, "vpn.contoso.com", CORP_CA, true, NOW + 900 * DAY, SERVER_AUTH);
    return snap;
}

static void test_wildcard_first_in_store_is_predicted_for_l2tp(void **state)
{
    (void)state;
    struct proto_snapshot *snap = kb_scenario();
    struct proto_policy p = corp_policy();
    struct proto_diagnosis *d = run(snap, &p);

    assert_true(d->automatic_policy);
    assert_int_equal(d->predicted, 0);
    assert_int_equal(d->eligible_count, 2);
    const struct proto_finding *ambiguous = find(d, "L2TP_CERT_AMBIGUOUS");
    assert_non_null(ambiguous);
    assert_int_equal(ambiguous->certs.count, 2);
    const struct proto_finding *wildcard = find(d, "L2TP_CERT_WILDCARD");
    assert_non_null(wildcard);
    assert_int_equal(wildcard->severity, PROTO_SEV_HIGH);
    assert_string_equal(wildcard->certs.items[0], snap->certs[0].sha1);
    assert_non_null(strstr(wildcard->message, "KB 2855053"));
    const struct proto_finding *wrong_ca = find(d, "L2TP_CERT_WRONG_CA");
    assert_non_null(wrong_ca);
    assert_non_null(strstr(wrong_ca->message, "Example Public TLS RSA CA G1"));
    assert_int_equal(d->finding_count, 3);
    /* Sorted by severity: the two high findings come before the medium one. */
    assert_int_equal(d->findings[0].severity, PROTO_SEV_HIGH);
    assert_int_equal(d->findings[2].severity, PROTO_SEV_MEDIUM);
    assert_int_equal(proto_diagnosis_max_severity(d), PROTO_SEV_HIGH);
    done(snap, d, &p);
}

static void test_single_corp_cert_gives_no_findings(void **state)
{
    (void)state;
    struct proto_snapshot *snap = new_snapshot();
    add_cert(snap, "vpn.contoso.com", CORP_CA, true, NOW + 900 * DAY, SERVER_AUTH);
    struct proto_policy p = corp_policy();
    struct proto_diagnosis *d = run(snap, &p);
    assert_int_equal(d->predicted, 0);
    assert_int_equal(d->finding_count, 0);
    assert_int_equal(proto_diagnosis_max_severity(d), PROTO_SEV_INFO);
    done(snap, d, &p);
}

static void test_corp_cert_first_is_ambiguous_but_not_wildcard_or_wrong_ca(void **state)
{
    (void)state;
    struct proto_snapshot *snap = new_snapshot();
    add_cert(snap, "vpn.contoso.com", CORP_CA, true, NOW + 900 * DAY, SERVER_AUTH);
    add_cert(snap, "*.contoso.com", PUBLIC_CA, true, NOW + 900 * DAY, WILDCARD_EKUS);
    struct proto_policy p = corp_policy();
    struct proto_diagnosis *d = run(snap, &p);
    assert_non_null(find(d, "L2TP_CERT_AMBIGUOUS"));
    assert_null(find(d, "L2TP_CERT_WILDCARD"));
    assert_null(find(d, "L2TP_CERT_WRONG_CA"));
    done(snap, d, &p);
}

static void test_prohibit_ipsec_silences_the_automatic_policy_findings(void **state)
{
    (void)state;
    struct proto_snapshot *snap = kb_scenario();
    set_prohibit_ipsec(snap, 1);
    add_rule(snap, "L2TP Manual Rule", CORP_CA);
    struct proto_policy p = corp_policy();
    struct proto_diagnosis *d = run(snap, &p);
    assert_false(d->automatic_policy);
    assert_int_equal(d->finding_count, 0);
    done(snap, d, &p);
}

static void test_prohibit_ipsec_zero_keeps_the_automatic_policy(void **state)
{
    (void)state;
    struct proto_snapshot *snap = kb_scenario();
    set_prohibit_ipsec(snap, 0);
    struct proto_policy p = corp_policy();
    struct proto_diagnosis *d = run(snap, &p);
    assert_true(d->automatic_policy);
    assert_non_null(find(d, "L2TP_CERT_WILDCARD"));
    done(snap, d, &p);
}

static void test_wrong_ca_is_not_judged_without_an_expected_ca(void **state)
{
    (void)state;
    struct proto_snapshot *snap = kb_scenario();
    struct proto_policy p = {.now = NOW, .expiry_days = 30};
    struct proto_diagnosis *d = run(snap, &p);
    assert_null(find(d, "L2TP_CERT_WRONG_CA"));
    assert_non_null(find(d, "L2TP_CERT_WILDCARD"));
    done(snap, d, &p);
}

static void test_expected_ca_is_found_through_an_intermediate_in_the_store(void **state)
{
    (void)state;
    struct proto_snapshot *snap = new_snapshot();
    add_cert(snap, "vpn.contoso.com", "DC=com, DC=contoso, DC=corp, CN=corp-Issuing-CA", true,
             NOW + 900 * DAY, SERVER_AUTH);
    struct proto_cert *issuing =
        add_cert(snap, "corp-Issuing-CA", CORP_CA, false, NOW + 900 * DAY, NULL);
    proto_dn_clear(&issuing->subject);
    assert_int_equal(
        proto_dn_parse("DC=com, DC=contoso, DC=corp, CN=corp-Issuing-CA", &issuing->subject),
        PROTO_OK);
    issuing->is_ca = true;
    struct proto_policy p = corp_policy();
    struct proto_diagnosis *d = run(snap, &p);
    assert_int_equal(d->predicted, 0);
    assert_null(find(d, "L2TP_CERT_WRONG_CA"));
    done(snap, d, &p);
}

static void test_no_eligible_cert_is_critical(void **state)
{
    (void)state;
    struct proto_snapshot *snap = new_snapshot();
    add_cert(snap, "client.contoso.com", CORP_CA, true, NOW + 900 * DAY, CLIENT_AUTH);
    add_cert(snap, "old.contoso.com", CORP_CA, true, NOW - DAY, SERVER_AUTH);
    add_cert(snap, "nokey.contoso.com", CORP_CA, false, NOW + 900 * DAY, SERVER_AUTH);
    struct proto_policy p = corp_policy();
    struct proto_diagnosis *d = run(snap, &p);
    assert_int_equal(d->predicted, -1);
    const struct proto_finding *f = find(d, "L2TP_NO_CERT");
    assert_non_null(f);
    assert_int_equal(f->severity, PROTO_SEV_CRITICAL);
    done(snap, d, &p);
}

static void test_no_cert_is_not_claimed_when_the_store_was_unreadable(void **state)
{
    (void)state;
    struct proto_snapshot *snap = new_snapshot();
    snap->certs_available = false;
    struct proto_policy p = corp_policy();
    struct proto_diagnosis *d = run(snap, &p);
    assert_null(find(d, "L2TP_NO_CERT"));
    done(snap, d, &p);
}

static void test_eligibility_follows_key_validity_and_eku(void **state)
{
    (void)state;
    struct proto_snapshot *snap = new_snapshot();
    add_cert(snap, "nokey", CORP_CA, false, NOW + DAY, SERVER_AUTH);
    add_cert(snap, "client", CORP_CA, true, NOW + DAY, CLIENT_AUTH);
    struct proto_cert *future = add_cert(snap, "future", CORP_CA, true, NOW + 9 * DAY, SERVER_AUTH);
    future->not_before = NOW + DAY;
    add_cert(snap, "ekuless", CORP_CA, true, NOW + 900 * DAY, NULL);
    add_cert(snap, "ike", CORP_CA, true, NOW + 900 * DAY, IKE_ONLY);
    struct proto_policy p = corp_policy();
    assert_string_equal(proto_diagnose_ineligible_reason(&snap->certs[0], NOW), "no private key");
    assert_non_null(proto_diagnose_ineligible_reason(&snap->certs[1], NOW));
    assert_string_equal(proto_diagnose_ineligible_reason(&snap->certs[2], NOW), "not yet valid");
    assert_null(proto_diagnose_ineligible_reason(&snap->certs[3], NOW));
    assert_null(proto_diagnose_ineligible_reason(&snap->certs[4], NOW));
    struct proto_diagnosis *d = run(snap, &p);
    assert_int_equal(d->eligible_count, 2);
    assert_int_equal(d->predicted, 3);
    done(snap, d, &p);
}

static void test_prohibit_ipsec_without_a_rule_is_critical(void **state)
{
    (void)state;
    struct proto_snapshot *snap = kb_scenario();
    set_prohibit_ipsec(snap, 1);
    struct proto_policy p = corp_policy();
    struct proto_diagnosis *d = run(snap, &p);
    const struct proto_finding *f = find(d, "MANUAL_POLICY_NO_RULE");
    assert_non_null(f);
    assert_int_equal(f->severity, PROTO_SEV_CRITICAL);
    assert_null(find(d, "L2TP_CERT_AMBIGUOUS"));
    done(snap, d, &p);
}

static void test_rules_that_do_not_protect_l2tp_do_not_count(void **state)
{
    (void)state;
    struct {
        enum proto_rule_field field;
        const char *value;
    } spoilers[] = {
        {PROTO_RULE_ENABLED, "No"},        {PROTO_RULE_PORT2, "Any"},
        {PROTO_RULE_PROTOCOL, "TCP"},      {PROTO_RULE_MODE, "Tunnel"},
        {PROTO_RULE_AUTH1, "ComputerPSK"}, {PROTO_RULE_PORT2, "1700-1700"},
    };
    for (size_t i = 0; i < sizeof(spoilers) / sizeof(spoilers[0]); i++) {
        struct proto_snapshot *snap = kb_scenario();
        set_prohibit_ipsec(snap, 1);
        struct proto_consec_rule *r = add_rule(snap, "almost", CORP_CA);
        set_field(r, spoilers[i].field, spoilers[i].value);
        struct proto_policy p = corp_policy();
        struct proto_diagnosis *d = run(snap, &p);
        assert_non_null(find(d, "MANUAL_POLICY_NO_RULE"));
        done(snap, d, &p);
    }
}

static void test_port_lists_and_ranges_that_include_1701_count(void **state)
{
    (void)state;
    const char *ports[] = {"500,1701", "1000-2000", "1701"};
    for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
        struct proto_snapshot *snap = kb_scenario();
        set_prohibit_ipsec(snap, 1);
        struct proto_consec_rule *r = add_rule(snap, "l2tp", CORP_CA);
        set_field(r, PROTO_RULE_PORT2, "Any");
        set_field(r, PROTO_RULE_PORT1, ports[i]);
        set_field(r, PROTO_RULE_AUTH1, "ComputerKerb, ComputerCert");
        struct proto_policy p = corp_policy();
        struct proto_diagnosis *d = run(snap, &p);
        assert_null(find(d, "MANUAL_POLICY_NO_RULE"));
        done(snap, d, &p);
    }
}

static void test_missing_rule_is_not_claimed_when_rules_were_unreadable(void **state)
{
    (void)state;
    struct proto_snapshot *snap = kb_scenario();
    set_prohibit_ipsec(snap, 1);
    snap->rules_available = false;
    struct proto_policy p = corp_policy();
    struct proto_diagnosis *d = run(snap, &p);
    assert_null(find(d, "MANUAL_POLICY_NO_RULE"));
    done(snap, d, &p);
}

static void test_missing_rule_is_not_claimed_when_a_rule_is_localized(void **state)
{
    (void)state;
    struct proto_snapshot *snap = kb_scenario();
    set_prohibit_ipsec(snap, 1);
    struct proto_consec_rule *r = NULL;
    assert_int_equal(proto_snapshot_add_rule(snap, &r), PROTO_OK);
    r->field[PROTO_RULE_NAME] = proto_strdup("L2TP-Regel");
    r->labels_unrecognised = true;
    struct proto_policy p = corp_policy();
    struct proto_diagnosis *d = run(snap, &p);
    assert_null(find(d, "MANUAL_POLICY_NO_RULE"));
    done(snap, d, &p);
}

static void test_manual_rule_pinned_to_another_ca_is_reported(void **state)
{
    (void)state;
    struct proto_snapshot *snap = kb_scenario();
    set_prohibit_ipsec(snap, 1);
    add_rule(snap, "L2TP public", PUBLIC_CA);
    struct proto_policy p = corp_policy();
    struct proto_diagnosis *d = run(snap, &p);
    const struct proto_finding *f = find(d, "MANUAL_RULE_WRONG_CA");
    assert_non_null(f);
    assert_int_equal(f->rules.count, 1);
    assert_string_equal(f->rules.items[0], "L2TP public");
    assert_null(find(d, "MANUAL_POLICY_NO_RULE"));
    done(snap, d, &p);
}

static void test_manual_rule_ca_in_reverse_order_matches(void **state)
{
    (void)state;
    struct proto_snapshot *snap = kb_scenario();
    set_prohibit_ipsec(snap, 1);
    add_rule(snap, "L2TP", "CN=corp-DC1-CA,  DC=corp, dc=contoso, DC=COM");
    struct proto_policy p = corp_policy();
    struct proto_diagnosis *d = run(snap, &p);
    assert_null(find(d, "MANUAL_RULE_WRONG_CA"));
    assert_int_equal(d->finding_count, 0);
    done(snap, d, &p);
}

static void test_manual_rule_without_a_ca_name_is_wrong_ca(void **state)
{
    (void)state;
    struct proto_snapshot *snap = kb_scenario();
    set_prohibit_ipsec(snap, 1);
    struct proto_consec_rule *r = add_rule(snap, "L2TP", CORP_CA);
    set_field(r, PROTO_RULE_AUTH1_CA_NAME, "");
    struct proto_policy p = corp_policy();
    struct proto_diagnosis *d = run(snap, &p);
    assert_non_null(find(d, "MANUAL_RULE_WRONG_CA"));
    done(snap, d, &p);
}

static void test_manual_rule_whose_ca_certificate_has_no_key_has_no_cert(void **state)
{
    (void)state;
    struct proto_snapshot *snap = new_snapshot();
    add_cert(snap, "*.contoso.com", PUBLIC_CA, true, NOW + 900 * DAY, WILDCARD_EKUS);
    add_cert(snap, "vpn.contoso.com", CORP_CA, false, NOW + 900 * DAY, SERVER_AUTH);
    set_prohibit_ipsec(snap, 1);
    add_rule(snap, "L2TP", CORP_CA);
    struct proto_policy p = corp_policy();
    struct proto_diagnosis *d = run(snap, &p);
    const struct proto_finding *f = find(d, "MANUAL_RULE_NO_CERT");
    assert_non_null(f);
    assert_int_equal(f->severity, PROTO_SEV_HIGH);
    assert_int_equal(f->rules.count, 1);
    assert_string_equal(f->rules.items[0], "L2TP");
    /* The keyless corp certificate is named as the cause; the public wildcard is not. */
    assert_int_equal(f->certs.count, 1);
    assert_string_equal(f->certs.items[0], snap->certs[1].sha1);
    assert_non_null(strstr(f->message, "no private key"));
    assert_null(find(d, "MANUAL_RULE_WRONG_CA"));
    assert_int_equal(d->finding_count, 1);
    done(snap, d, &p);
}

static void test_manual_rule_with_a_usable_certificate_from_its_ca_has_a_cert(void **state)
{
    (void)state;
    struct proto_snapshot *snap = kb_scenario();
    set_prohibit_ipsec(snap, 1);
    add_rule(snap, "L2TP", "CN=corp-DC1-CA, DC=corp, DC=contoso, DC=com");
    struct proto_policy p = corp_policy();
    struct proto_diagnosis *d = run(snap, &p);
    assert_null(find(d, "MANUAL_RULE_NO_CERT"));
    done(snap, d, &p);
}

static void test_manual_rule_ca_reached_through_an_intermediate_has_a_cert(void **state)
{
    (void)state;
    static const char *const ISSUING = "DC=com, DC=contoso, CN=corp-Issuing-CA";
    struct proto_snapshot *snap = new_snapshot();
    add_cert(snap, "vpn.contoso.com", ISSUING, true, NOW + 900 * DAY, SERVER_AUTH);
    struct proto_cert *ca =
        add_cert(snap, "corp-Issuing-CA", CORP_CA, false, NOW + 900 * DAY, NULL);
    proto_dn_clear(&ca->subject);
    assert_int_equal(proto_dn_parse(ISSUING, &ca->subject), PROTO_OK);
    ca->is_ca = true;
    set_prohibit_ipsec(snap, 1);
    add_rule(snap, "L2TP", CORP_CA);
    struct proto_policy p = corp_policy();
    struct proto_diagnosis *d = run(snap, &p);
    assert_null(find(d, "MANUAL_RULE_NO_CERT"));
    done(snap, d, &p);
}

static void test_manual_rule_without_cert_is_not_judged_without_prohibit_ipsec(void **state)
{
    (void)state;
    struct proto_snapshot *snap = new_snapshot();
    add_cert(snap, "vpn.contoso.com", CORP_CA, true, NOW + 900 * DAY, SERVER_AUTH);
    add_rule(snap, "L2TP public", PUBLIC_CA);
    struct proto_policy p = corp_policy();
    struct proto_diagnosis *d = run(snap, &p);
    assert_null(find(d, "MANUAL_RULE_NO_CERT"));
    assert_non_null(find(d, "MANUAL_RULE_WRONG_CA"));
    done(snap, d, &p);
}

static void test_manual_rule_without_cert_is_not_claimed_when_the_store_is_unread(void **state)
{
    (void)state;
    struct proto_snapshot *snap = new_snapshot();
    snap->certs_available = false;
    set_prohibit_ipsec(snap, 1);
    add_rule(snap, "L2TP", CORP_CA);
    struct proto_policy p = corp_policy();
    struct proto_diagnosis *d = run(snap, &p);
    assert_null(find(d, "MANUAL_RULE_NO_CERT"));
    assert_int_equal(d->finding_count, 0);
    done(snap, d, &p);
}

static void test_each_l2tp_rule_whose_ca_has_no_cert_is_reported(void **state)
{
    (void)state;
    struct proto_snapshot *snap = new_snapshot();
    add_cert(snap, "vpn.contoso.com", CORP_CA, true, NOW + 900 * DAY, SERVER_AUTH);
    add_cert(snap, "old.contoso.com", PUBLIC_CA, true, NOW - DAY, SERVER_AUTH);
    set_prohibit_ipsec(snap, 1);
    add_rule(snap, "L2TP corp", CORP_CA);
    add_rule(snap, "L2TP public", PUBLIC_CA);
    struct proto_policy p = corp_policy();
    struct proto_diagnosis *d = run(snap, &p);
    const struct proto_finding *f = find(d, "MANUAL_RULE_NO_CERT");
    assert_non_null(f);
    assert_string_equal(f->rules.items[0], "L2TP public");
    assert_non_null(strstr(f->message, "expired"));
    size_t count = 0;
    for (size_t i = 0; i < d->finding_count; i++) {
        count += strcmp(d->findings[i].id, "MANUAL_RULE_NO_CERT") == 0;
    }
    assert_int_equal(count, 1);
    done(snap, d, &p);
}

static void test_iphttps_on_another_cert_than_l2tp_is_a_split(void **state)
{
    (void)state;
    struct proto_snapshot *snap = new_snapshot();
    add_cert(snap, "vpn.contoso.com", CORP_CA, true, NOW + 900 * DAY, SERVER_AUTH);
    add_cert(snap, "da.contoso.com", PUBLIC_CA, true, NOW + 900 * DAY, SERVER_AUTH);
    snprintf(snap->iphttps_cert_sha1, sizeof(snap->iphttps_cert_sha1), "%s", snap->certs[1].sha1);
    struct proto_policy p = corp_policy();
    struct proto_diagnosis *d = run(snap, &p);
    const struct proto_finding *f = find(d, "IPHTTPS_L2TP_CERT_SPLIT");
    assert_non_null(f);
    assert_int_equal(f->certs.count, 2);
    done(snap, d, &p);

    snap = new_snapshot();
    add_cert(snap, "vpn.contoso.com", CORP_CA, true, NOW + 900 * DAY, SERVER_AUTH);
    snprintf(snap->iphttps_cert_sha1, sizeof(snap->iphttps_cert_sha1), "%s", snap->certs[0].sha1);
    p = corp_policy();
    d = run(snap, &p);
    assert_null(find(d, "IPHTTPS_L2TP_CERT_SPLIT"));
    done(snap, d, &p);
}

static void test_expired_and_expiring_certs_are_reported_within_the_horizon(void **state)
{
    (void)state;
    struct proto_snapshot *snap = new_snapshot();
    add_cert(snap, "vpn.contoso.com", CORP_CA, true, NOW + 900 * DAY, SERVER_AUTH);
    add_cert(snap, "old", CORP_CA, false, NOW - 10 * DAY, SERVER_AUTH);
    add_cert(snap, "soon", CORP_CA, false, NOW + 15 * DAY, SERVER_AUTH);
    add_cert(snap, "edge", CORP_CA, false, NOW + 30 * DAY, SERVER_AUTH);
    add_cert(snap, "later", CORP_CA, false, NOW + 31 * DAY, SERVER_AUTH);
    struct proto_policy p = corp_policy();
    struct proto_diagnosis *d = run(snap, &p);
    size_t expiring = 0, expired = 0;
    for (size_t i = 0; i < d->finding_count; i++) {
        expiring += strcmp(d->findings[i].id, "CERT_EXPIRING") == 0;
        expired += strcmp(d->findings[i].id, "CERT_EXPIRED") == 0;
    }
    assert_int_equal(expired, 1);
    assert_int_equal(expiring, 2); /* soon and edge; later is past the 30-day horizon */
    assert_string_equal(find(d, "CERT_EXPIRED")->certs.items[0], snap->certs[1].sha1);
    done(snap, d, &p);

    snap = new_snapshot();
    add_cert(snap, "later", CORP_CA, true, NOW + 31 * DAY, SERVER_AUTH);
    p = corp_policy();
    p.expiry_days = 60;
    d = run(snap, &p);
    const struct proto_finding *f = find(d, "CERT_EXPIRING");
    assert_non_null(f);
    assert_int_equal(f->severity, PROTO_SEV_MEDIUM); /* it is the L2TP certificate */
    done(snap, d, &p);
}

/* ---- stable_until: the window in which the clock cannot change the diagnosis -------------- */

static bool strv_equal(const struct proto_strv *a, const struct proto_strv *b)
{
    if (a->count != b->count) {
        return false;
    }
    for (size_t i = 0; i < a->count; i++) {
        if (strcmp(a->items[i], b->items[i]) != 0) {
            return false;
        }
    }
    return true;
}

static bool diagnosis_equal(const struct proto_diagnosis *a, const struct proto_diagnosis *b)
{
    if (a->automatic_policy != b->automatic_policy || a->predicted != b->predicted ||
        a->eligible_count != b->eligible_count || a->finding_count != b->finding_count) {
        return false;
    }
    for (size_t i = 0; i < a->eligible_count; i++) {
        if (a->eligible[i] != b->eligible[i]) {
            return false;
        }
    }
    for (size_t i = 0; i < a->finding_count; i++) {
        const struct proto_finding *fa = &a->findings[i], *fb = &b->findings[i];
        if (strcmp(fa->id, fb->id) != 0 || fa->severity != fb->severity ||
            strcmp(fa->message, fb->message) != 0 || !strv_equal(&fa->certs, &fb->certs) ||
            !strv_equal(&fa->rules, &fb->rules)) {
            return false;
        }
    }
    return true;
}

/* Certificates whose every boundary (start, end, horizon entry, day counts) falls somewhere
 * in the next 70 days, plus one not yet valid. */
static struct proto_snapshot *boundary_scenario(void)
{
    struct proto_snapshot *snap = kb_scenario();
    add_cert(snap, "soon", CORP_CA, true, NOW + 15 * DAY + 3600, SERVER_AUTH);
    add_cert(snap, "edge", CORP_CA, false, NOW + 30 * DAY, SERVER_AUTH);
    add_cert(snap, "later", CORP_CA, true, NOW + 45 * DAY + 17, SERVER_AUTH);
    struct proto_cert *future =
        add_cert(snap, "future", CORP_CA, true, NOW + 400 * DAY, SERVER_AUTH);
    future->not_before = NOW + 20 * DAY + 5;
    return snap;
}

static void test_diagnosis_is_the_same_until_stable_until_and_changes_there(void **state)
{
    (void)state;
    struct proto_snapshot *snap = boundary_scenario();
    struct proto_policy p = corp_policy();
    int64_t now = NOW;
    size_t windows = 0;
    /* Walk from window to window for 70 days: inside each window (its first second, a few
     * seconds spread over it, its last second) the diagnosis is the one at its start; at
     * stable_until it is a new one. */
    while (now < NOW + 70 * DAY) {
        p.now = now;
        struct proto_diagnosis *start = run(snap, &p);
        int64_t until = start->stable_until;
        assert_true(until > now);
        assert_true(until != INT64_MAX);
        for (int k = 1; k <= 5; k++) {
            p.now = now + (until - 1 - now) * k / 5;
            struct proto_diagnosis *inside = run(snap, &p);
            assert_true(diagnosis_equal(start, inside));
            proto_diagnosis_destroy(inside);
        }
        p.now = until;
        struct proto_diagnosis *after = run(snap, &p);
        assert_false(diagnosis_equal(start, after));
        proto_diagnosis_destroy(after);
        proto_diagnosis_destroy(start);
        now = until;
        windows++;
    }
    /* Day counts of three expiring certs, two expiries, a horizon entry each, a start. */
    assert_true(windows > 40);
    done(snap, NULL, &p);
}

static void test_diagnosis_without_time_boundaries_ahead_is_stable_forever(void **state)
{
    (void)state;
    struct proto_snapshot *snap = new_snapshot();
    add_cert(snap, "old", CORP_CA, true, NOW - 10 * DAY, SERVER_AUTH);
    struct proto_policy p = corp_policy();
    struct proto_diagnosis *d = run(snap, &p);
    assert_true(d->stable_until == INT64_MAX);
    done(snap, d, &p);

    snap = kb_scenario(); /* both expire in 900 days: the window ends at the horizon entry */
    p = corp_policy();
    d = run(snap, &p);
    assert_true(d->stable_until == NOW + 870 * DAY);
    done(snap, d, &p);
}

static void test_weak_crypto_in_an_l2tp_rule_is_reported(void **state)
{
    (void)state;
    struct proto_snapshot *snap = kb_scenario();
    set_prohibit_ipsec(snap, 1);
    struct proto_consec_rule *r = add_rule(snap, "L2TP", CORP_CA);
    set_field(r, PROTO_RULE_MM_SEC_METHODS, "DHGroup2-AES128-SHA256, DHGroup2-3DES-SHA1");
    struct proto_policy p = corp_policy();
    struct proto_diagnosis *d = run(snap, &p);
    assert_non_null(find(d, "WEAK_IPSEC_CRYPTO"));
    done(snap, d, &p);

    snap = kb_scenario();
    set_prohibit_ipsec(snap, 1);
    r = add_rule(snap, "L2TP", CORP_CA);
    set_field(r, PROTO_RULE_QM_SEC_METHODS, "AH:MD5+60min+100000kb");
    p = corp_policy();
    d = run(snap, &p);
    assert_non_null(find(d, "WEAK_IPSEC_CRYPTO"));
    done(snap, d, &p);
}

static void test_strong_crypto_and_aes_names_are_not_weak(void **state)
{
    (void)state;
    struct proto_snapshot *snap = kb_scenario();
    set_prohibit_ipsec(snap, 1);
    struct proto_consec_rule *r = add_rule(snap, "L2TP", CORP_CA);
    set_field(r, PROTO_RULE_MM_SEC_METHODS, "DHGroup14-AES256-SHA256,ECDHP384-AES256-SHA384");
    set_field(r, PROTO_RULE_QM_PFS, "DHGroup14");
    struct proto_policy p = corp_policy();
    struct proto_diagnosis *d = run(snap, &p);
    assert_null(find(d, "WEAK_IPSEC_CRYPTO"));
    done(snap, d, &p);
}

static void test_allow_l2tp_weak_crypto_registry_value_is_reported(void **state)
{
    (void)state;
    struct proto_snapshot *snap = new_snapshot();
    add_cert(snap, "vpn.contoso.com", CORP_CA, true, NOW + 900 * DAY, SERVER_AUTH);
    snap->allow_l2tp_weak_crypto.present = true;
    snap->allow_l2tp_weak_crypto.value = 1;
    struct proto_policy p = corp_policy();
    struct proto_diagnosis *d = run(snap, &p);
    assert_non_null(find(d, "WEAK_IPSEC_CRYPTO"));
    assert_int_equal(d->finding_count, 1);
    done(snap, d, &p);
}

static void test_out_of_memory_at_any_allocation_fails_cleanly(void **state)
{
    (void)state;
    struct proto_snapshot *snap = kb_scenario();
    struct proto_policy p = corp_policy();
    enum proto_rc rc = PROTO_ENOMEM;
    unsigned long n;
    for (n = 1; rc == PROTO_ENOMEM && n < 10000; n++) {
        struct proto_diagnosis *d = NULL;
        proto_alloc_fail_after(n);
        rc = proto_diagnose(snap, &p, &d);
        proto_alloc_fail_after(0);
        if (rc == PROTO_OK) {
            assert_int_equal(d->finding_count, 3);
        } else {
            assert_int_equal(rc, PROTO_ENOMEM);
            assert_null(d);
        }
        proto_diagnosis_destroy(d);
    }
    assert_int_equal(rc, PROTO_OK);
    assert_true(n > 3);
    done(snap, NULL, &p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wildcard_first_in_store_is_predicted_for_l2tp),
        cmocka_unit_test(test_single_corp_cert_gives_no_findings),
        cmocka_unit_test(test_corp_cert_first_is_ambiguous_but_not_wildcard_or_wrong_ca),
        cmocka_unit_test(test_prohibit_ipsec_silences_the_automatic_policy_findings),
        cmocka_unit_test(test_prohibit_ipsec_zero_keeps_the_automatic_policy),
        cmocka_unit_test(test_wrong_ca_is_not_judged_without_an_expected_ca),
        cmocka_unit_test(test_expected_ca_is_found_through_an_intermediate_in_the_store),
        cmocka_unit_test(test_no_eligible_cert_is_critical),
        cmocka_unit_test(test_no_cert_is_not_claimed_when_the_store_was_unreadable),
        cmocka_unit_test(test_eligibility_follows_key_validity_and_eku),
        cmocka_unit_test(test_prohibit_ipsec_without_a_rule_is_critical),
        cmocka_unit_test(test_rules_that_do_not_protect_l2tp_do_not_count),
        cmocka_unit_test(test_port_lists_and_ranges_that_include_1701_count),
        cmocka_unit_test(test_missing_rule_is_not_claimed_when_rules_were_unreadable),
        cmocka_unit_test(test_missing_rule_is_not_claimed_when_a_rule_is_localized),
        cmocka_unit_test(test_manual_rule_pinned_to_another_ca_is_reported),
        cmocka_unit_test(test_manual_rule_ca_in_reverse_order_matches),
        cmocka_unit_test(test_manual_rule_without_a_ca_name_is_wrong_ca),
        cmocka_unit_test(test_manual_rule_whose_ca_certificate_has_no_key_has_no_cert),
        cmocka_unit_test(test_manual_rule_with_a_usable_certificate_from_its_ca_has_a_cert),
        cmocka_unit_test(test_manual_rule_ca_reached_through_an_intermediate_has_a_cert),
        cmocka_unit_test(test_manual_rule_without_cert_is_not_judged_without_prohibit_ipsec),
        cmocka_unit_test(test_manual_rule_without_cert_is_not_claimed_when_the_store_is_unread),
        cmocka_unit_test(test_each_l2tp_rule_whose_ca_has_no_cert_is_reported),
        cmocka_unit_test(test_iphttps_on_another_cert_than_l2tp_is_a_split),
        cmocka_unit_test(test_expired_and_expiring_certs_are_reported_within_the_horizon),
        cmocka_unit_test(test_diagnosis_is_the_same_until_stable_until_and_changes_there),
        cmocka_unit_test(test_diagnosis_without_time_boundaries_ahead_is_stable_forever),
        cmocka_unit_test(test_weak_crypto_in_an_l2tp_rule_is_reported),
        cmocka_unit_test(test_strong_crypto_and_aes_names_are_not_weak),
        cmocka_unit_test(test_allow_l2tp_weak_crypto_registry_value_is_reported),
        cmocka_unit_test(test_out_of_memory_at_any_allocation_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
