/*
 * test_x509: certificate facts from the fixtures made by tests/fixtures/x509/make.sh, checked
 * against openssl's own figures (<name>.txt) and against the dates and names make.sh fixes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "caps.h"
#include "dn.h"
#include "model.h"
#include "testutil.h"
#include "timefmt.h"
#include "x509.h"

static const char *const fixture_names[] = {
    "bmp",      "ca",    "clientauth", "cnwildcard", "ecroot",   "ike",
    "keyusage", "noeku", "samename",   "utf8",       "wildcard",
};

static unsigned char *read_der(const char *name, size_t *len)
{
    char rel[128];
    int n = snprintf(rel, sizeof(rel), "x509/%s.der", name);
    assert_true(n > 0 && (size_t)n < sizeof(rel));
    return (unsigned char *)testutil_read(testutil_fixture(rel), len);
}

/* The figure after "<prefix>=" in <name>.txt, colons removed, into out. */
static void openssl_figure(const char *name, const char *prefix, char *out, size_t size)
{
    char rel[128];
    int n = snprintf(rel, sizeof(rel), "x509/%s.txt", name);
    assert_true(n > 0 && (size_t)n < sizeof(rel));
    char *text = testutil_read(testutil_fixture(rel), NULL);
    char *line = strstr(text, prefix);
    assert_non_null(line);
    char *p = strchr(line, '=');
    assert_non_null(p);
    size_t k = 0;
    for (p++; *p != '\0' && *p != '\n' && *p != '\r'; p++) {
        if (*p != ':') {
            assert_true(k + 1 < size);
            out[k++] = *p;
        }
    }
    out[k] = '\0';
    free(text);
}

/* Parses a fixture that must parse; the caller clears the cert. */
static void facts_of(const char *name, struct proto_cert *cert)
{
    size_t len = 0;
    char why[256];
    unsigned char *der = read_der(name, &len);
    memset(cert, 0, sizeof(*cert));
    enum proto_rc rc = proto_x509_facts(der, len, cert, why, sizeof(why));
    if (rc != PROTO_OK) {
        fail_msg("%s: %s: %s", name, proto_rc_str(rc), why);
    }
    assert_true(cert->parsed);
    free(der);
}

/* Replaces the first occurrence of `from` in der with `to` (same length); fails if absent. */
static void patch(unsigned char *der, size_t len, const char *from, const char *to, size_t n)
{
    for (size_t i = 0; i + n <= len; i++) {
        if (memcmp(der + i, from, n) == 0) {
            memcpy(der + i, to, n);
            return;
        }
    }
    fail_msg("pattern not found in fixture");
}

static void assert_dn_text(const struct proto_dn *dn, bool reverse, const char *expected)
{
    char *text = NULL;
    assert_int_equal(proto_dn_format(dn, reverse, &text), PROTO_OK);
    assert_string_equal(text, expected);
    proto_free(text);
}

static void test_thumbprints_equal_openssl_fingerprints(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(fixture_names) / sizeof(fixture_names[0]); i++) {
        struct proto_cert cert;
        char sha1[128], sha256[128];
        facts_of(fixture_names[i], &cert);
        openssl_figure(fixture_names[i], "sha1 Fingerprint", sha1, sizeof(sha1));
        openssl_figure(fixture_names[i], "sha256 Fingerprint", sha256, sizeof(sha256));
        assert_int_equal(strlen(sha1), PROTO_SHA1_HEX_LEN);
        assert_string_equal(cert.sha1, sha1);
        assert_string_equal(cert.sha256, sha256);
        proto_cert_clear(&cert);
    }
}

static void test_der_is_copied_byte_for_byte(void **state)
{
    (void)state;
    size_t len = 0;
    unsigned char *der = read_der("ca", &len);
    struct proto_cert cert;
    memset(&cert, 0, sizeof(cert));
    assert_int_equal(proto_x509_facts(der, len, &cert, NULL, 0), PROTO_OK);
    assert_int_equal(cert.der_len, len);
    assert_ptr_not_equal(cert.der, der);
    assert_memory_equal(cert.der, der, len);
    proto_cert_clear(&cert);
    free(der);
}

static void test_serial_is_upper_hex_of_the_der_integer(void **state)
{
    (void)state;
    struct proto_cert cert;
    char serial[64];
    facts_of("ca", &cert);
    openssl_figure("ca", "serial", serial, sizeof(serial));
    assert_string_equal(cert.serial, "0A11CE0001");
    assert_string_equal(cert.serial, serial);
    proto_cert_clear(&cert);

    /* The DER integer keeps its sign byte, as Windows shows it; openssl drops it. */
    facts_of("ike", &cert);
    openssl_figure("ike", "serial", serial, sizeof(serial));
    assert_string_equal(serial, "C0FFEE01");
    assert_string_equal(cert.serial, "00C0FFEE01");
    proto_cert_clear(&cert);
}

static void test_ca_certificate_is_ca_and_self_signed(void **state)
{
    (void)state;
    struct proto_cert cert;
    struct proto_dn netsh = {0};
    facts_of("ca", &cert);
    assert_true(cert.is_ca);
    assert_true(cert.self_signed);
    assert_true(cert.has_key_usage);
    assert_int_equal(cert.key_usage, PROTO_KU_KEY_CERT_SIGN | PROTO_KU_CRL_SIGN);
    assert_false(cert.has_eku);
    assert_int_equal(cert.san_dns.count, 0);
    assert_false(cert.wildcard);
    assert_dn_text(&cert.subject, false, "DC=com, DC=contoso, DC=corp, CN=corp-DC1-CA");
    assert_dn_text(&cert.subject, true, "CN=corp-DC1-CA, DC=corp, DC=contoso, DC=com");
    assert_true(proto_dn_equal(&cert.subject, &cert.issuer));
    assert_int_equal(proto_dn_parse("DC=com, DC=contoso, DC=corp, CN=corp-DC1-CA", &netsh),
                     PROTO_OK);
    assert_true(proto_dn_equal(&cert.subject, &netsh));
    proto_dn_clear(&netsh);
    proto_cert_clear(&cert);
}

static void test_leaf_issued_by_the_ca_is_not_self_signed(void **state)
{
    (void)state;
    struct proto_cert ca, leaf;
    facts_of("ca", &ca);
    facts_of("noeku", &leaf);
    assert_false(leaf.self_signed);
    assert_false(leaf.is_ca);
    assert_true(proto_dn_equal(&leaf.issuer, &ca.subject));
    assert_false(proto_dn_equal(&leaf.subject, &ca.subject));
    assert_string_equal(proto_dn_get(&leaf.subject, "CN"), "rras01.corp.contoso.com");
    proto_cert_clear(&leaf);
    proto_cert_clear(&ca);
}

static void test_same_name_signed_by_another_key_is_not_self_signed(void **state)
{
    (void)state;
    struct proto_cert cert;
    facts_of("samename", &cert);
    assert_true(proto_dn_equal(&cert.subject, &cert.issuer));
    assert_false(cert.self_signed);
    proto_cert_clear(&cert);
}

static void test_ecdsa_root_verifies_its_own_signature(void **state)
{
    (void)state;
    struct proto_cert cert;
    facts_of("ecroot", &cert);
    assert_true(cert.self_signed);
    assert_true(cert.is_ca);
    assert_string_equal(proto_dn_get(&cert.subject, "CN"), "Contoso EC Root");
    proto_cert_clear(&cert);
}

static void test_wildcard_san_certificate_is_wildcard(void **state)
{
    (void)state;
    struct proto_cert cert;
    facts_of("wildcard", &cert);
    assert_true(cert.wildcard);
    assert_int_equal(cert.san_dns.count, 2);
    assert_string_equal(cert.san_dns.items[0], "*.contoso.com");
    assert_string_equal(cert.san_dns.items[1], "contoso.com");
    assert_string_equal(proto_dn_get(&cert.subject, "O"), "Contoso, Ltd");
    assert_dn_text(&cert.subject, true, "CN=*.contoso.com, O=Contoso\\, Ltd, C=US");
    proto_cert_clear(&cert);
}

static void test_subject_cn_wildcard_counts_only_without_san_dns(void **state)
{
    (void)state;
    struct proto_cert cert;
    facts_of("cnwildcard", &cert);
    assert_int_equal(cert.san_dns.count, 0);
    assert_true(cert.wildcard);
    proto_cert_clear(&cert);

    /* A SAN list without "*." wins over the subject. */
    facts_of("ike", &cert);
    assert_false(cert.wildcard);
    proto_cert_clear(&cert);
}

static void test_certificate_without_eku_extension_has_eku_false(void **state)
{
    (void)state;
    struct proto_cert cert;
    facts_of("noeku", &cert);
    assert_false(cert.has_eku);
    assert_int_equal(cert.eku.count, 0);
    assert_false(cert.has_key_usage);
    assert_int_equal(cert.key_usage, 0);
    assert_int_equal(cert.san_dns.count, 1);
    assert_string_equal(cert.san_dns.items[0], "rras01.corp.contoso.com");
    proto_cert_clear(&cert);
}

static void test_client_auth_only_certificate_lists_only_client_auth(void **state)
{
    (void)state;
    struct proto_cert cert;
    facts_of("clientauth", &cert);
    assert_true(cert.has_eku);
    assert_int_equal(cert.eku.count, 1);
    assert_string_equal(cert.eku.items[0], PROTO_OID_CLIENT_AUTH);
    assert_false(proto_strv_contains(&cert.eku, PROTO_OID_SERVER_AUTH));
    assert_int_equal(cert.key_usage, PROTO_KU_DIGITAL_SIGNATURE);
    proto_cert_clear(&cert);
}

static void test_server_auth_and_ike_intermediate_are_both_listed(void **state)
{
    (void)state;
    struct proto_cert cert;
    facts_of("ike", &cert);
    assert_true(cert.has_eku);
    assert_int_equal(cert.eku.count, 2);
    assert_string_equal(cert.eku.items[0], PROTO_OID_SERVER_AUTH);
    assert_string_equal(cert.eku.items[1], PROTO_OID_IKE_INTERMEDIATE);
    /* The IP address SAN is not a DNS name. */
    assert_int_equal(cert.san_dns.count, 2);
    assert_string_equal(cert.san_dns.items[0], "vpn.contoso.com");
    assert_string_equal(cert.san_dns.items[1], "rras01.corp.contoso.com");
    assert_true(cert.has_key_usage);
    assert_int_equal(cert.key_usage, PROTO_KU_DIGITAL_SIGNATURE | PROTO_KU_KEY_ENCIPHERMENT);
    proto_cert_clear(&cert);
}

static void test_key_usage_bits_match_the_extension(void **state)
{
    (void)state;
    struct proto_cert cert;
    facts_of("keyusage", &cert);
    assert_true(cert.has_key_usage);
    assert_int_equal(cert.key_usage, PROTO_KU_DIGITAL_SIGNATURE | PROTO_KU_NON_REPUDIATION |
                                         PROTO_KU_DATA_ENCIPHERMENT | PROTO_KU_KEY_AGREEMENT |
                                         PROTO_KU_ENCIPHER_ONLY | PROTO_KU_DECIPHER_ONLY);
    assert_false(cert.key_usage & PROTO_KU_KEY_ENCIPHERMENT);
    assert_false(cert.is_ca);
    proto_cert_clear(&cert);
}

static void test_validity_converts_to_exact_unix_seconds(void **state)
{
    (void)state;
    struct proto_cert cert;
    char text[32];

    facts_of("wildcard", &cert); /* UTCTime, on a leap day */
    assert_int_equal(cert.not_before, 1709210096);
    assert_int_equal(cert.not_after, 1772323200);
    assert_int_equal(proto_time_format_rfc3339(cert.not_before, text, sizeof(text)), PROTO_OK);
    assert_string_equal(text, "2024-02-29T12:34:56Z");
    proto_cert_clear(&cert);

    facts_of("ike", &cert); /* notAfter in 2060 is GeneralizedTime */
    assert_int_equal(cert.not_before, 1704067200);
    assert_int_equal(cert.not_after, 2840140800);
    proto_cert_clear(&cert);

    facts_of("ca", &cert);
    assert_int_equal(cert.not_before, 1577836800);
    assert_int_equal(cert.not_after, 2208988800);
    proto_cert_clear(&cert);
}

static void test_multi_valued_rdn_and_unknown_oid_are_kept_in_der_order(void **state)
{
    (void)state;
    struct proto_cert cert;
    facts_of("keyusage", &cert);
    assert_int_equal(cert.subject.count, 6);
    assert_string_equal(cert.subject.attrs[0].type, "DC");
    assert_string_equal(cert.subject.attrs[0].value, "com");
    /* DER sorts the SET: OU (shorter encoding) before CN. */
    assert_string_equal(cert.subject.attrs[2].type, "OU");
    assert_false(cert.subject.attrs[2].same_rdn_as_prev);
    assert_string_equal(cert.subject.attrs[3].type, "CN");
    assert_true(cert.subject.attrs[3].same_rdn_as_prev);
    assert_false(cert.subject.attrs[4].same_rdn_as_prev);
    assert_string_equal(cert.subject.attrs[4].type, "E");
    assert_string_equal(cert.subject.attrs[5].type, "1.2.3.4.5");
    assert_dn_text(&cert.subject, false,
                   "DC=com, DC=contoso, OU=VPN+CN=multi.contoso.com, E=vpn@contoso.com, "
                   "OID.1.2.3.4.5=custom");

    struct proto_dn windows = {0};
    assert_int_equal(proto_dn_parse("OID.1.2.3.4.5=custom, EMAIL=vpn@contoso.com, "
                                    "CN=multi.contoso.com + OU=VPN, DC=contoso, DC=com",
                                    &windows),
                     PROTO_OK);
    assert_true(proto_dn_equal(&cert.subject, &windows));
    proto_dn_clear(&windows);
    proto_cert_clear(&cert);
}

static void test_bmp_and_teletex_values_become_utf8(void **state)
{
    (void)state;
    struct proto_cert cert;
    facts_of("bmp", &cert);
    assert_string_equal(proto_dn_get(&cert.subject, "CN"), "\xC5\x81\xC3\xB3"
                                                           "d\xC5\xBA VPN");
    assert_string_equal(proto_dn_get(&cert.subject, "O"), "Z\xC3\xBCrich Stra\xC3\x9F"
                                                          "e AG");
    assert_string_equal(proto_dn_get(&cert.subject, "C"), "PL");
    proto_cert_clear(&cert);
}

static void test_utf8_subject_with_non_ascii_is_kept(void **state)
{
    (void)state;
    struct proto_cert cert;
    facts_of("utf8", &cert);
    assert_string_equal(proto_dn_get(&cert.subject, "CN"),
                        "Gr\xC3\xBC\xC3\x9F"
                        "e \xE6\x9D\xB1\xE4\xBA\xAC \xF0\x9F\x8C\x8D");
    assert_string_equal(proto_dn_get(&cert.subject, "O"),
                        "Soci\xC3\xA9t\xC3\xA9 G\xC3\xA9n\xC3\xA9rale");
    proto_cert_clear(&cert);
}

static void test_nul_inside_a_name_is_parse_error(void **state)
{
    (void)state;
    size_t len = 0;
    char why[256];
    unsigned char *der = read_der("bmp", &len);
    /* U+0141 (the first letter of the BMPString CN) becomes U+0000. */
    patch(der, len, "\x01\x41\x00\xF3", "\x00\x00\x00\xF3", 4);
    struct proto_cert cert;
    memset(&cert, 0, sizeof(cert));
    assert_int_equal(proto_x509_facts(der, len, &cert, why, sizeof(why)), PROTO_EPARSE);
    assert_false(cert.parsed);
    assert_non_null(strstr(why, "subject"));
    assert_int_equal(cert.subject.count, 0);
    assert_int_equal(strlen(cert.sha1), PROTO_SHA1_HEX_LEN);
    proto_cert_clear(&cert);
    free(der);
}

static void test_ill_formed_strings_become_replacement_characters(void **state)
{
    (void)state;
    size_t len = 0;
    unsigned char *der = read_der("bmp", &len);
    /* A lone high surrogate in the BMPString. */
    patch(der, len, "\x01\x41\x00\xF3", "\xD8\x00\x00\xF3", 4);
    struct proto_cert cert;
    memset(&cert, 0, sizeof(cert));
    assert_int_equal(proto_x509_facts(der, len, &cert, NULL, 0), PROTO_OK);
    assert_string_equal(proto_dn_get(&cert.subject, "CN"), "\xEF\xBF\xBD\xC3\xB3"
                                                           "d\xC5\xBA VPN");
    proto_cert_clear(&cert);
    free(der);

    der = read_der("utf8", &len);
    /* "\xC3\xA9" of Soci\xC3\xA9t\xC3\xA9 becomes a lead byte without its continuation. */
    patch(der, len, "Soci\xC3\xA9", "Soci\xC3(", 6);
    memset(&cert, 0, sizeof(cert));
    assert_int_equal(proto_x509_facts(der, len, &cert, NULL, 0), PROTO_OK);
    assert_string_equal(proto_dn_get(&cert.subject, "O"),
                        "Soci\xEF\xBF\xBD(t\xC3\xA9 G\xC3\xA9n\xC3\xA9rale");
    proto_cert_clear(&cert);
    free(der);
}

static void test_garbage_der_is_parse_error_with_hashes_filled(void **state)
{
    (void)state;
    static const char garbage[] = "this is not a certificate";
    struct proto_cert cert;
    char why[256];
    memset(&cert, 0, sizeof(cert));
    cert.store_index = 7;
    cert.has_private_key = true;
    assert_int_equal(
        proto_x509_facts((const unsigned char *)garbage, strlen(garbage), &cert, why, sizeof(why)),
        PROTO_EPARSE);
    assert_false(cert.parsed);
    assert_string_equal(cert.sha1, "A18CD0C8D82300589091658E4D7E4F6FE7D74A3D");
    assert_string_equal(cert.sha256,
                        "568EF0A5BFC43EFE50165F67A7B53E3870BEA1C4BD03904FEF10F3D28427E889");
    assert_int_equal(cert.der_len, strlen(garbage));
    assert_memory_equal(cert.der, garbage, strlen(garbage));
    assert_int_equal(cert.store_index, 7);
    assert_true(cert.has_private_key);
    assert_null(cert.serial);
    assert_int_equal(cert.subject.count, 0);
    assert_true(strlen(why) > 0);
    proto_cert_clear(&cert);
}

static void test_truncated_der_is_parse_error_and_keeps_nothing_else(void **state)
{
    (void)state;
    size_t len = 0;
    char why[256];
    char sha1[128];
    unsigned char *der = read_der("ike", &len);
    openssl_figure("ike", "sha1 Fingerprint", sha1, sizeof(sha1));
    for (size_t cut = 1; cut < len; cut += 37) {
        struct proto_cert cert;
        memset(&cert, 0, sizeof(cert));
        assert_int_equal(proto_x509_facts(der, len - cut, &cert, why, sizeof(why)), PROTO_EPARSE);
        assert_false(cert.parsed);
        assert_int_equal(cert.der_len, len - cut);
        assert_string_not_equal(cert.sha1, sha1);
        assert_int_equal(strlen(cert.sha1), PROTO_SHA1_HEX_LEN);
        assert_null(cert.serial);
        assert_int_equal(cert.san_dns.count, 0);
        assert_int_equal(cert.eku.count, 0);
        proto_cert_clear(&cert);
    }
    free(der);
}

static void test_trailing_bytes_after_the_certificate_are_parse_error(void **state)
{
    (void)state;
    size_t len = 0;
    char why[256];
    unsigned char *der = read_der("ca", &len);
    unsigned char *longer = malloc(len + 3);
    assert_non_null(longer);
    memcpy(longer, der, len);
    memset(longer + len, 0, 3);
    struct proto_cert cert;
    memset(&cert, 0, sizeof(cert));
    assert_int_equal(proto_x509_facts(longer, len + 3, &cert, why, sizeof(why)), PROTO_EPARSE);
    assert_non_null(strstr(why, "3 bytes after"));
    proto_cert_clear(&cert);
    free(longer);
    free(der);
}

static void test_empty_input_is_parse_error(void **state)
{
    (void)state;
    struct proto_cert cert;
    memset(&cert, 0, sizeof(cert));
    assert_int_equal(proto_x509_facts(NULL, 0, &cert, NULL, 0), PROTO_EPARSE);
    assert_string_equal(cert.sha1, "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709");
    assert_false(cert.parsed);
    proto_cert_clear(&cert);
}

static void test_oversize_der_is_limit_error_with_hashes(void **state)
{
    (void)state;
    size_t len = PROTO_MAX_CERT_DER_BYTES + 1;
    unsigned char *big = calloc(1, len);
    assert_non_null(big);
    struct proto_cert cert;
    char why[256];
    memset(&cert, 0, sizeof(cert));
    assert_int_equal(proto_x509_facts(big, len, &cert, why, sizeof(why)), PROTO_ELIMIT);
    assert_false(cert.parsed);
    assert_int_equal(strlen(cert.sha1), PROTO_SHA1_HEX_LEN);
    assert_null(cert.der);
    assert_non_null(strstr(why, "65537"));
    proto_cert_clear(&cert);
    free(big);
}

static void test_a_non_empty_cert_is_refused_as_a_caller_error(void **state)
{
    (void)state;
    size_t len = 0;
    unsigned char *der = read_der("ca", &len);
    struct proto_cert cert;
    memset(&cert, 0, sizeof(cert));
    assert_int_equal(proto_x509_facts(der, len, &cert, NULL, 0), PROTO_OK);
    assert_int_equal(proto_x509_facts(der, len, &cert, NULL, 0), PROTO_EINVAL);
    proto_cert_clear(&cert);
    free(der);
}

static void test_every_allocation_failure_is_reported_without_leaks(void **state)
{
    (void)state;
    size_t len = 0;
    unsigned char *der = read_der("keyusage", &len);
    enum proto_rc rc = PROTO_ENOMEM;
    unsigned long n;
    for (n = 1; n < 1000 && rc == PROTO_ENOMEM; n++) {
        struct proto_cert cert;
        memset(&cert, 0, sizeof(cert));
        proto_alloc_fail_after(n);
        rc = proto_x509_facts(der, len, &cert, NULL, 0);
        proto_alloc_fail_after(0);
        if (rc == PROTO_ENOMEM) {
            assert_false(cert.parsed);
        }
        proto_cert_clear(&cert);
    }
    assert_int_equal(rc, PROTO_OK);
    assert_true(n > 5);
    free(der);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thumbprints_equal_openssl_fingerprints),
        cmocka_unit_test(test_der_is_copied_byte_for_byte),
        cmocka_unit_test(test_serial_is_upper_hex_of_the_der_integer),
        cmocka_unit_test(test_ca_certificate_is_ca_and_self_signed),
        cmocka_unit_test(test_leaf_issued_by_the_ca_is_not_self_signed),
        cmocka_unit_test(test_same_name_signed_by_another_key_is_not_self_signed),
        cmocka_unit_test(test_ecdsa_root_verifies_its_own_signature),
        cmocka_unit_test(test_wildcard_san_certificate_is_wildcard),
        cmocka_unit_test(test_subject_cn_wildcard_counts_only_without_san_dns),
        cmocka_unit_test(test_certificate_without_eku_extension_has_eku_false),
        cmocka_unit_test(test_client_auth_only_certificate_lists_only_client_auth),
        cmocka_unit_test(test_server_auth_and_ike_intermediate_are_both_listed),
        cmocka_unit_test(test_key_usage_bits_match_the_extension),
        cmocka_unit_test(test_validity_converts_to_exact_unix_seconds),
        cmocka_unit_test(test_multi_valued_rdn_and_unknown_oid_are_kept_in_der_order),
        cmocka_unit_test(test_bmp_and_teletex_values_become_utf8),
        cmocka_unit_test(test_utf8_subject_with_non_ascii_is_kept),
        cmocka_unit_test(test_nul_inside_a_name_is_parse_error),
        cmocka_unit_test(test_ill_formed_strings_become_replacement_characters),
        cmocka_unit_test(test_garbage_der_is_parse_error_with_hashes_filled),
        cmocka_unit_test(test_truncated_der_is_parse_error_and_keeps_nothing_else),
        cmocka_unit_test(test_trailing_bytes_after_the_certificate_are_parse_error),
        cmocka_unit_test(test_empty_input_is_parse_error),
        cmocka_unit_test(test_oversize_der_is_limit_error_with_hashes),
        cmocka_unit_test(test_a_non_empty_cert_is_refused_as_a_caller_error),
        cmocka_unit_test(test_every_allocation_failure_is_reported_without_leaks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
