/*
 * test_clientcert: which certificate of LocalMachine\My the agent presents on Windows
 * (agent/deliver/clientcert.c), with made-up certificate facts, so no Windows is needed.
 *
 * Each refusal on its own, the any-purpose reading of "no EKU", the host-name comparison, the
 * thumbprint mode, the order among several good certificates (never the store's order), the
 * one-line explanation when none qualifies, and the two template extensions decoded from DER.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "agent_config.h"
#include "clientcert.h"
#include "dn.h"

#define NOW INT64_C(1767225600) /* 2026-01-01 */
#define DAY INT64_C(86400)
#define HOST "rras01.corp.contoso.com"
#define CORP_CA "CN=corp-DC1-CA, DC=corp, DC=contoso, DC=com"

/* A good client certificate for HOST: key, valid now, Client Authentication, from CORP_CA.
 * `hex` is one digit repeated into the thumbprint. */
static void good(struct agent_clientcert_candidate *c, char hex, int64_t not_before)
{
    memset(c, 0, sizeof(*c));
    c->cert.parsed = true;
    memset(c->cert.sha1, hex, PROTO_SHA1_HEX_LEN);
    c->cert.sha1[PROTO_SHA1_HEX_LEN] = '\0';
    c->cert.has_private_key = true;
    c->cert.not_before = not_before;
    c->cert.not_after = not_before + 365 * DAY;
    c->cert.has_eku = true;
    assert_int_equal(proto_strv_push(&c->cert.eku, PROTO_OID_CLIENT_AUTH, 8), PROTO_OK);
    assert_int_equal(proto_strv_push(&c->cert.san_dns, HOST, 8), PROTO_OK);
    assert_int_equal(proto_dn_parse(CORP_CA, &c->cert.issuer), PROTO_OK);
}

static void clear(struct agent_clientcert_candidate *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        agent_clientcert_candidate_clear(&c[i]);
    }
}

/* A want as agent_clientcert_want_init makes it from settings (text fields only). */
static void want_for(struct agent_clientcert_want *w, const char *settings_issuer,
                     const char *thumbprint, const char *template_id)
{
    struct agent_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    snprintf(cfg.client_cert_issuer, sizeof(cfg.client_cert_issuer), "%s", settings_issuer);
    snprintf(cfg.client_cert_thumbprint, sizeof(cfg.client_cert_thumbprint), "%s", thumbprint);
    snprintf(cfg.client_cert_template, sizeof(cfg.client_cert_template), "%s", template_id);
    assert_int_equal(agent_clientcert_want_init(w, &cfg, HOST, NOW), PROTO_OK);
}

static void test_a_good_certificate_for_this_host_is_chosen(void **state)
{
    (void)state;
    struct agent_clientcert_want w;
    struct agent_clientcert_candidate c[1];
    want_for(&w, "", "", "");
    good(&c[0], 'A', NOW - 10 * DAY);
    size_t chosen = 99;
    char why[256];
    assert_null(agent_clientcert_refusal(&w, &c[0]));
    assert_int_equal(agent_clientcert_choose(&w, c, 1, &chosen, why, sizeof(why)), PROTO_OK);
    assert_int_equal(chosen, 0);
    clear(c, 1);
    agent_clientcert_want_clear(&w);
}

static void test_each_requirement_refuses_with_its_own_reason(void **state)
{
    (void)state;
    struct agent_clientcert_want w;
    struct agent_clientcert_candidate c;
    want_for(&w, "", "", "");

    good(&c, 'A', NOW - DAY);
    c.cert.parsed = false;
    assert_string_equal(agent_clientcert_refusal(&w, &c), "cannot be parsed");
    clear(&c, 1);

    good(&c, 'A', NOW - DAY);
    c.cert.has_private_key = false;
    assert_string_equal(agent_clientcert_refusal(&w, &c), "no private key");
    clear(&c, 1);

    good(&c, 'A', NOW + DAY);
    assert_string_equal(agent_clientcert_refusal(&w, &c), "not yet valid");
    clear(&c, 1);

    good(&c, 'A', NOW - 400 * DAY);
    assert_string_equal(agent_clientcert_refusal(&w, &c), "expired");
    clear(&c, 1);

    good(&c, 'A', NOW - DAY);
    proto_strv_clear(&c.cert.eku);
    assert_int_equal(proto_strv_push(&c.cert.eku, PROTO_OID_SERVER_AUTH, 8), PROTO_OK);
    assert_string_equal(agent_clientcert_refusal(&w, &c), "not for client authentication (EKU)");
    clear(&c, 1);

    good(&c, 'A', NOW - DAY);
    proto_strv_clear(&c.cert.san_dns);
    assert_int_equal(proto_strv_push(&c.cert.san_dns, "rras02.corp.contoso.com", 8), PROTO_OK);
    assert_string_equal(agent_clientcert_refusal(&w, &c),
                        "no SAN DNS name equal to this host's FQDN");
    clear(&c, 1);

    /* A wildcard names many hosts, not this one: the collector refuses those identities. */
    good(&c, 'A', NOW - DAY);
    proto_strv_clear(&c.cert.san_dns);
    assert_int_equal(proto_strv_push(&c.cert.san_dns, "*.corp.contoso.com", 8), PROTO_OK);
    assert_string_equal(agent_clientcert_refusal(&w, &c),
                        "no SAN DNS name equal to this host's FQDN");
    clear(&c, 1);
    agent_clientcert_want_clear(&w);

    want_for(&w, "CN=other-CA, DC=contoso, DC=com", "", "");
    good(&c, 'A', NOW - DAY);
    assert_string_equal(agent_clientcert_refusal(&w, &c), "issuer is not client_cert_issuer");
    clear(&c, 1);
    agent_clientcert_want_clear(&w);

    want_for(&w, "", "", "RRASAgent");
    good(&c, 'A', NOW - DAY);
    assert_string_equal(agent_clientcert_refusal(&w, &c), "template is not client_cert_template");
    clear(&c, 1);
    agent_clientcert_want_clear(&w);

    struct agent_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    assert_int_equal(agent_clientcert_want_init(&w, &cfg, NULL, NOW), PROTO_OK);
    good(&c, 'A', NOW - DAY);
    assert_string_equal(agent_clientcert_refusal(&w, &c),
                        "this host's FQDN is unknown (set fqdn_override)");
    clear(&c, 1);
    agent_clientcert_want_clear(&w);
}

static void test_validity_bounds_are_inclusive(void **state)
{
    (void)state;
    struct agent_clientcert_want w;
    struct agent_clientcert_candidate c;
    want_for(&w, "", "", "");
    good(&c, 'A', NOW);
    assert_null(agent_clientcert_refusal(&w, &c));
    c.cert.not_before = NOW - 365 * DAY;
    c.cert.not_after = NOW;
    assert_null(agent_clientcert_refusal(&w, &c));
    clear(&c, 1);
    agent_clientcert_want_clear(&w);
}

static void test_no_eku_means_every_use_but_an_empty_eku_means_none(void **state)
{
    (void)state;
    struct agent_clientcert_want w;
    struct agent_clientcert_candidate c;
    want_for(&w, "", "", "");
    good(&c, 'A', NOW - DAY);
    proto_strv_clear(&c.cert.eku);
    c.cert.has_eku = false; /* CertGetEnhancedKeyUsage: CRYPT_E_NOT_FOUND */
    assert_null(agent_clientcert_refusal(&w, &c));
    c.cert.has_eku = true; /* zero identifiers, last error 0: no valid use */
    assert_string_equal(agent_clientcert_refusal(&w, &c), "not for client authentication (EKU)");
    assert_int_equal(proto_strv_push(&c.cert.eku, PROTO_OID_ANY_PURPOSE, 8), PROTO_OK);
    assert_null(agent_clientcert_refusal(&w, &c));
    clear(&c, 1);
    agent_clientcert_want_clear(&w);
}

static void test_host_names_match_without_case_or_a_final_dot(void **state)
{
    (void)state;
    struct agent_clientcert_want w;
    struct agent_clientcert_candidate c;
    want_for(&w, "", "", "");
    good(&c, 'A', NOW - DAY);
    proto_strv_clear(&c.cert.san_dns);
    assert_int_equal(proto_strv_push(&c.cert.san_dns, "rras01", 8), PROTO_OK);
    assert_int_equal(proto_strv_push(&c.cert.san_dns, "RRAS01.Corp.Contoso.COM.", 8), PROTO_OK);
    assert_null(agent_clientcert_refusal(&w, &c));
    proto_strv_clear(&c.cert.san_dns);
    assert_int_equal(proto_strv_push(&c.cert.san_dns, "rras01.corp.contoso.co", 8), PROTO_OK);
    assert_non_null(agent_clientcert_refusal(&w, &c));
    clear(&c, 1);
    agent_clientcert_want_clear(&w);
}

static void test_fqdn_override_names_the_host_instead_of_windows(void **state)
{
    (void)state;
    struct agent_config cfg;
    struct agent_clientcert_want w;
    memset(&cfg, 0, sizeof(cfg));
    memcpy(cfg.fqdn_override, "rras09.corp.contoso.com", sizeof("rras09.corp.contoso.com"));
    memcpy(cfg.client_cert_thumbprint, "aa:bb", sizeof("aa:bb"));
    assert_int_equal(agent_clientcert_want_init(&w, &cfg, HOST, NOW), PROTO_EINVAL);
    memcpy(cfg.client_cert_thumbprint, "", 1);
    assert_int_equal(agent_clientcert_want_init(&w, &cfg, HOST, NOW), PROTO_OK);
    assert_string_equal(w.fqdn, "rras09.corp.contoso.com");
    assert_int_equal(w.now, NOW);
    assert_string_equal(w.thumbprint, "");
    assert_int_equal(w.issuer.count, 0);
    agent_clientcert_want_clear(&w);
    memcpy(cfg.client_cert_issuer, "not a DN", sizeof("not a DN"));
    assert_int_equal(agent_clientcert_want_init(&w, &cfg, HOST, NOW), PROTO_EINVAL);
}

static void test_the_newest_good_certificate_wins_whatever_the_store_order(void **state)
{
    (void)state;
    struct agent_clientcert_want w;
    struct agent_clientcert_candidate c[5];
    want_for(&w, "", "", "");
    good(&c[0], '1', NOW - 300 * DAY);
    good(&c[1], '2', NOW - 20 * DAY); /* newest NotBefore, but expired: refused */
    c[1].cert.not_after = NOW - DAY;
    good(&c[2], '3', NOW - 30 * DAY); /* newest of the good ones */
    good(&c[3], '4', NOW - 60 * DAY);
    good(&c[4], '5', NOW - 10 * DAY); /* newest, but no key */
    c[4].cert.has_private_key = false;
    size_t chosen = 99;
    assert_int_equal(agent_clientcert_choose(&w, c, 5, &chosen, NULL, 0), PROTO_OK);
    assert_int_equal(chosen, 2);
    /* Reversed (Wine enumerates in reverse thumbprint order): the same certificate. */
    struct agent_clientcert_candidate r[5];
    for (size_t i = 0; i < 5; i++) {
        r[i] = c[4 - i];
    }
    assert_int_equal(agent_clientcert_choose(&w, r, 5, &chosen, NULL, 0), PROTO_OK);
    assert_int_equal(chosen, 2);
    assert_string_equal(r[chosen].cert.sha1, "3333333333333333333333333333333333333333");
    clear(c, 5);
    agent_clientcert_want_clear(&w);
}

static void test_ties_go_to_the_later_expiry_then_the_lower_thumbprint(void **state)
{
    (void)state;
    struct agent_clientcert_want w;
    struct agent_clientcert_candidate c[3];
    want_for(&w, "", "", "");
    good(&c[0], 'C', NOW - DAY);
    good(&c[1], 'B', NOW - DAY);
    good(&c[2], 'A', NOW - DAY);
    c[2].cert.not_after -= DAY;
    size_t chosen = 99;
    assert_int_equal(agent_clientcert_choose(&w, c, 3, &chosen, NULL, 0), PROTO_OK);
    assert_int_equal(chosen, 1); /* B: same dates as C, lower thumbprint; A expires sooner */
    c[0].cert.not_after += 1;
    assert_int_equal(agent_clientcert_choose(&w, c, 3, &chosen, NULL, 0), PROTO_OK);
    assert_int_equal(chosen, 0);
    clear(c, 3);
    agent_clientcert_want_clear(&w);
}

static void test_a_thumbprint_picks_that_certificate_whatever_its_names(void **state)
{
    (void)state;
    struct agent_clientcert_want w;
    struct agent_clientcert_candidate c[2];
    good(&c[0], 'A', NOW - DAY);
    good(&c[1], 'B', NOW - 100 * DAY);
    proto_strv_clear(&c[1].cert.san_dns); /* names another host: fine when chosen by hand */
    assert_int_equal(proto_strv_push(&c[1].cert.san_dns, "cluster.corp.contoso.com", 8), PROTO_OK);
    want_for(&w, "", "bb bb bb bb bb bb bb bb bb bb bb bb bb bb bb bb bb bb bb bb", "");
    size_t chosen = 99;
    char why[256];
    assert_int_equal(agent_clientcert_choose(&w, c, 2, &chosen, why, sizeof(why)), PROTO_OK);
    assert_int_equal(chosen, 1);
    /* ... but not without its key, in its validity, for client authentication. */
    c[1].cert.not_after = NOW - DAY;
    assert_int_equal(agent_clientcert_choose(&w, c, 2, &chosen, why, sizeof(why)), PROTO_ENOTFOUND);
    assert_string_equal(why, "certificate BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB in "
                             "LocalMachine\\MY: expired");
    agent_clientcert_want_clear(&w);
    /* The issuer restriction applies to a chosen thumbprint too. */
    c[1].cert.not_after = NOW + DAY;
    want_for(&w, "CN=other-CA", "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", "");
    assert_int_equal(agent_clientcert_choose(&w, c, 2, &chosen, why, sizeof(why)), PROTO_ENOTFOUND);
    assert_non_null(strstr(why, ": issuer is not client_cert_issuer"));
    agent_clientcert_want_clear(&w);
    want_for(&w, "", "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC", "");
    assert_int_equal(agent_clientcert_choose(&w, c, 2, &chosen, why, sizeof(why)), PROTO_ENOTFOUND);
    assert_string_equal(why, "certificate CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC "
                             "(client_cert_thumbprint) is not in LocalMachine\\MY");
    clear(c, 2);
    agent_clientcert_want_clear(&w);
}

static void test_when_none_qualifies_each_refusal_is_listed(void **state)
{
    (void)state;
    struct agent_clientcert_want w;
    struct agent_clientcert_candidate c[2];
    want_for(&w, "", "", "");
    good(&c[0], 'A', NOW - 400 * DAY);
    good(&c[1], 'B', NOW - DAY);
    c[1].cert.has_private_key = false;
    size_t chosen = 99;
    char why[512];
    assert_int_equal(agent_clientcert_choose(&w, c, 2, &chosen, why, sizeof(why)), PROTO_ENOTFOUND);
    assert_string_equal(why, "no certificate in LocalMachine\\MY qualifies as the client "
                             "certificate of 'rras01.corp.contoso.com' (2 examined): AAAAAAAA: "
                             "expired; BBBBBBBB: no private key");
    assert_int_equal(chosen, 99);
    /* A short buffer is cut, never overrun. */
    char small[24];
    assert_int_equal(agent_clientcert_choose(&w, c, 2, &chosen, small, sizeof(small)),
                     PROTO_ENOTFOUND);
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_int_equal(agent_clientcert_choose(&w, NULL, 0, &chosen, why, sizeof(why)),
                     PROTO_ENOTFOUND);
    assert_non_null(strstr(why, "(0 examined)"));
    clear(c, 2);
    agent_clientcert_want_clear(&w);
}

/* SEQUENCE { OID 1.3.6.1.4.1.311.21.8.1.2, INTEGER 100, INTEGER 3 } as a CA writes it. */
static const unsigned char template_v2[] = {0x30, 0x13, 0x06, 0x0b, 0x2b, 0x06, 0x01,
                                            0x04, 0x01, 0x82, 0x37, 0x15, 0x08, 0x01,
                                            0x02, 0x02, 0x01, 0x64, 0x02, 0x01, 0x03};
/* BMPString "Machine": the v1 Computer template's name extension. */
static const unsigned char template_v1[] = {0x1e, 0x0e, 0x00, 'M', 0x00, 'a', 0x00, 'c',
                                            0x00, 'h',  0x00, 'i', 0x00, 'n', 0x00, 'e'};

static void test_template_extensions_decode_to_an_oid_and_a_name(void **state)
{
    (void)state;
    char out[AGENT_CONFIG_TEMPLATE_BYTES];
    assert_int_equal(
        agent_clientcert_template_oid(template_v2, sizeof(template_v2), out, sizeof(out)),
        PROTO_OK);
    assert_string_equal(out, "1.3.6.1.4.1.311.21.8.1.2");
    assert_int_equal(
        agent_clientcert_template_name(template_v1, sizeof(template_v1), out, sizeof(out)),
        PROTO_OK);
    assert_string_equal(out, "Machine");
    static const unsigned char utf8[] = {0x0c, 0x04, 'U', 's', 'e', 'r'};
    assert_int_equal(agent_clientcert_template_name(utf8, sizeof(utf8), out, sizeof(out)),
                     PROTO_OK);
    assert_string_equal(out, "User");
}

static void test_broken_template_extensions_are_refused(void **state)
{
    (void)state;
    char out[AGENT_CONFIG_TEMPLATE_BYTES];
    /* Length past the end, trailing bytes, wrong tags, odd BMP length, a control char. */
    static const unsigned char long_seq[] = {0x30, 0x7f, 0x06, 0x01, 0x2b};
    static const unsigned char not_oid[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    static const unsigned char odd_bmp[] = {0x1e, 0x03, 0x00, 'M', 0x00};
    static const unsigned char ctl_bmp[] = {0x1e, 0x02, 0x00, 0x07};
    static const unsigned char int_tag[] = {0x02, 0x01, 0x01};
    assert_int_equal(agent_clientcert_template_oid(long_seq, sizeof(long_seq), out, sizeof(out)),
                     PROTO_EPARSE);
    assert_int_equal(agent_clientcert_template_oid(not_oid, sizeof(not_oid), out, sizeof(out)),
                     PROTO_EPARSE);
    assert_int_equal(
        agent_clientcert_template_oid(template_v2, sizeof(template_v2) - 1, out, sizeof(out)),
        PROTO_EPARSE);
    assert_int_equal(agent_clientcert_template_oid(template_v2, sizeof(template_v2), out, 8),
                     PROTO_ELIMIT);
    assert_int_equal(agent_clientcert_template_name(odd_bmp, sizeof(odd_bmp), out, sizeof(out)),
                     PROTO_EPARSE);
    assert_int_equal(agent_clientcert_template_name(ctl_bmp, sizeof(ctl_bmp), out, sizeof(out)),
                     PROTO_EPARSE);
    assert_int_equal(agent_clientcert_template_name(int_tag, sizeof(int_tag), out, sizeof(out)),
                     PROTO_EPARSE);
    assert_int_equal(agent_clientcert_template_name(template_v1, sizeof(template_v1), out, 4),
                     PROTO_ELIMIT);
    assert_string_equal(out, "");
}

static void test_a_template_matches_by_oid_or_by_v1_name(void **state)
{
    (void)state;
    struct agent_clientcert_want w;
    struct agent_clientcert_candidate c;
    good(&c, 'A', NOW - DAY);
    memcpy(c.template_oid, "1.3.6.1.4.1.311.21.8.1.2", sizeof("1.3.6.1.4.1.311.21.8.1.2"));
    want_for(&w, CORP_CA, "", "1.3.6.1.4.1.311.21.8.1.2");
    assert_null(agent_clientcert_refusal(&w, &c));
    agent_clientcert_want_clear(&w);
    want_for(&w, "", "", "1.3.6.1.4.1.311.21.8.1");
    assert_non_null(agent_clientcert_refusal(&w, &c)); /* no prefix match */
    agent_clientcert_want_clear(&w);
    memcpy(c.template_name, "Machine", sizeof("Machine"));
    want_for(&w, "", "", "machine");
    assert_null(agent_clientcert_refusal(&w, &c));
    clear(&c, 1);
    agent_clientcert_want_clear(&w);
}

static void test_the_issuer_is_compared_as_a_dn_in_either_order(void **state)
{
    (void)state;
    struct agent_clientcert_want w;
    struct agent_clientcert_candidate c;
    good(&c, 'A', NOW - DAY);
    want_for(&w, "dc=com,dc=contoso,dc=corp,cn=CORP-dc1-ca", "", "");
    assert_null(agent_clientcert_refusal(&w, &c));
    agent_clientcert_want_clear(&w);
    want_for(&w, "CN=corp-DC1-CA", "", ""); /* a part of the DN is not the DN */
    assert_string_equal(agent_clientcert_refusal(&w, &c), "issuer is not client_cert_issuer");
    clear(&c, 1);
    agent_clientcert_want_clear(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_good_certificate_for_this_host_is_chosen),
        cmocka_unit_test(test_each_requirement_refuses_with_its_own_reason),
        cmocka_unit_test(test_validity_bounds_are_inclusive),
        cmocka_unit_test(test_no_eku_means_every_use_but_an_empty_eku_means_none),
        cmocka_unit_test(test_host_names_match_without_case_or_a_final_dot),
        cmocka_unit_test(test_fqdn_override_names_the_host_instead_of_windows),
        cmocka_unit_test(test_the_newest_good_certificate_wins_whatever_the_store_order),
        cmocka_unit_test(test_ties_go_to_the_later_expiry_then_the_lower_thumbprint),
        cmocka_unit_test(test_a_thumbprint_picks_that_certificate_whatever_its_names),
        cmocka_unit_test(test_when_none_qualifies_each_refusal_is_listed),
        cmocka_unit_test(test_template_extensions_decode_to_an_oid_and_a_name),
        cmocka_unit_test(test_broken_template_extensions_are_refused),
        cmocka_unit_test(test_a_template_matches_by_oid_or_by_v1_name),
        cmocka_unit_test(test_the_issuer_is_compared_as_a_dn_in_either_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
