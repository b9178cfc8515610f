/*
 * test_dn: distinguished names as netsh and Windows dialogs write them (DESIGN §6): parsing,
 * structural equality in either order, formatting that parses back, and the refusals.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "caps.h"
#include "dn.h"

static void parse_ok(const char *text, struct proto_dn *dn)
{
    memset(dn, 0, sizeof(*dn));
    enum proto_rc rc = proto_dn_parse(text, dn);
    if (rc != PROTO_OK) {
        fail_msg("parse of \"%s\": %s", text, proto_rc_str(rc));
    }
}

static bool texts_equal(const char *a, const char *b)
{
    struct proto_dn da, db;
    parse_ok(a, &da);
    parse_ok(b, &db);
    bool equal = proto_dn_equal(&da, &db);
    assert_true(proto_dn_equal(&db, &da) == equal);
    proto_dn_clear(&da);
    proto_dn_clear(&db);
    return equal;
}

static enum proto_rc parse_rc(const char *text)
{
    struct proto_dn dn = {0};
    enum proto_rc rc = proto_dn_parse(text, &dn);
    if (rc != PROTO_OK) {
        assert_int_equal(dn.count, 0);
        assert_null(dn.attrs);
    }
    proto_dn_clear(&dn);
    return rc;
}

static char *format(const struct proto_dn *dn, bool reverse)
{
    char *text = NULL;
    assert_int_equal(proto_dn_format(dn, reverse, &text), PROTO_OK);
    assert_non_null(text);
    return text;
}

static void test_netsh_order_equals_windows_dialog_order(void **state)
{
    (void)state;
    assert_true(texts_equal("DC=com, DC=contoso, DC=corp, CN=corp-DC1-CA",
                            "CN=corp-DC1-CA, DC=corp, DC=contoso, DC=com"));
    assert_true(texts_equal("DC=com, DC=contoso, DC=corp, CN=corp-DC1-CA",
                            "DC=com,DC=contoso,DC=corp,CN=corp-DC1-CA"));
}

static void test_attrs_are_kept_in_written_order_with_canonical_types(void **state)
{
    (void)state;
    struct proto_dn dn;
    parse_ok("dc=com, Dc=contoso, DC=corp, cn=corp-DC1-CA", &dn);
    assert_int_equal(dn.count, 4);
    assert_string_equal(dn.attrs[0].type, "DC");
    assert_string_equal(dn.attrs[0].value, "com");
    assert_string_equal(dn.attrs[3].type, "CN");
    assert_string_equal(dn.attrs[3].value, "corp-DC1-CA");
    for (size_t i = 0; i < dn.count; i++) {
        assert_false(dn.attrs[i].same_rdn_as_prev);
    }
    proto_dn_clear(&dn);
}

static void test_values_compare_ignoring_case_and_space_runs(void **state)
{
    (void)state;
    assert_true(texts_equal("CN=Corp  DC1   CA, O=Contoso", "cn=corp dc1 ca,o=CONTOSO"));
    assert_true(texts_equal("  CN =  corp-DC1-CA  ,   DC = corp ", "CN=corp-DC1-CA,DC=corp"));
    assert_true(texts_equal("CN=a\tb", "CN=a b"));
    /* Collapsing runs is not removing spaces. */
    assert_false(texts_equal("CN=corp DC1", "CN=corpDC1"));
}

static void test_a_quoted_value_keeps_its_comma(void **state)
{
    (void)state;
    struct proto_dn dn;
    parse_ok("CN=vpn, O=\"Contoso, Ltd\", C=US", &dn);
    assert_int_equal(dn.count, 3);
    assert_string_equal(dn.attrs[1].value, "Contoso, Ltd");
    assert_string_equal(proto_dn_get(&dn, "C"), "US");
    proto_dn_clear(&dn);

    /* Windows doubles a quote inside quotes; RFC 4514 escapes it. */
    parse_ok("O=\"Say \"\"hi\"\" \\\"there\\\"\"", &dn);
    assert_string_equal(dn.attrs[0].value, "Say \"hi\" \"there\"");
    proto_dn_clear(&dn);

    parse_ok("O=\"  padded  \"", &dn);
    assert_string_equal(dn.attrs[0].value, "  padded  ");
    proto_dn_clear(&dn);
}

static void test_escaped_characters_are_unescaped(void **state)
{
    (void)state;
    struct proto_dn dn;
    parse_ok("O=Contoso\\, Ltd, OU=a\\+b, CN=q\\\"\\\\\\=\\;\\<\\>\\#", &dn);
    assert_int_equal(dn.count, 3);
    assert_string_equal(dn.attrs[0].value, "Contoso, Ltd");
    assert_string_equal(dn.attrs[1].value, "a+b");
    assert_string_equal(dn.attrs[2].value, "q\"\\=;<>#");
    proto_dn_clear(&dn);

    parse_ok("CN=Z\\C3\\BCrich\\2c x\\20", &dn);
    assert_string_equal(dn.attrs[0].value, "Z\xC3\xBCrich, x ");
    proto_dn_clear(&dn);

    assert_true(texts_equal("O=Contoso\\, Ltd", "O=\"Contoso, Ltd\""));
}

static void test_plus_joins_attrs_into_one_rdn(void **state)
{
    (void)state;
    struct proto_dn dn;
    parse_ok("DC=com, OU=VPN + CN=rras01, C=US", &dn);
    assert_int_equal(dn.count, 4);
    assert_false(dn.attrs[1].same_rdn_as_prev);
    assert_true(dn.attrs[2].same_rdn_as_prev);
    assert_false(dn.attrs[3].same_rdn_as_prev);
    proto_dn_clear(&dn);

    /* A multi-valued RDN is a set: its attrs match in any order, in either DN order. */
    assert_true(texts_equal("DC=com, OU=VPN+CN=rras01", "CN=rras01+OU=VPN, DC=com"));
    assert_true(texts_equal("DC=com, OU=VPN+CN=rras01", "DC=com, CN=rras01+OU=VPN"));
    /* ... but it is not the same as two RDNs. */
    assert_false(texts_equal("DC=com, OU=VPN+CN=rras01", "DC=com, OU=VPN, CN=rras01"));
}

static void test_type_aliases_share_one_canonical_name(void **state)
{
    (void)state;
    assert_true(texts_equal("E=a@contoso.com", "EMAIL=a@contoso.com"));
    assert_true(texts_equal("E=a@contoso.com", "emailAddress=a@contoso.com"));
    assert_true(texts_equal("S=WA", "ST=WA"));
    assert_true(texts_equal("CN=x", "OID.2.5.4.3=x"));
    assert_true(texts_equal("CN=x", "2.5.4.3=x"));
    assert_true(texts_equal("cn=x", "oid.2.5.4.3=x"));
    assert_true(texts_equal("T=Boss", "TITLE=Boss"));
    assert_true(texts_equal("G=Ann", "GN=Ann"));
    assert_true(texts_equal("DC=corp", "0.9.2342.19200300.100.1.25=corp"));
    assert_true(texts_equal("SERIALNUMBER=42", "2.5.4.5=42"));
    assert_true(texts_equal("OID.1.2.3.4=x", "1.2.3.4=x"));
    assert_false(texts_equal("SN=Smith", "SERIALNUMBER=Smith"));
    assert_false(texts_equal("O=x", "OU=x"));

    struct proto_dn dn;
    parse_ok("Email=a@b, OID.1.2.3.4=x, street=Main, uid=ann", &dn);
    assert_string_equal(dn.attrs[0].type, "E");
    assert_string_equal(dn.attrs[1].type, "1.2.3.4");
    assert_string_equal(dn.attrs[2].type, "STREET");
    assert_string_equal(dn.attrs[3].type, "UID");
    proto_dn_clear(&dn);
}

static void test_different_dns_are_not_equal(void **state)
{
    (void)state;
    assert_false(texts_equal("CN=corp-DC1-CA, DC=corp, DC=contoso, DC=com",
                             "CN=corp-DC2-CA, DC=corp, DC=contoso, DC=com"));
    /* A prefix names a different (parent) entity. */
    assert_false(texts_equal("DC=com, DC=contoso", "DC=com, DC=contoso, DC=corp"));
    assert_false(texts_equal("DC=com, DC=contoso, DC=corp", "DC=com, DC=contoso"));
    /* Only the exact reverse matches, not any permutation. */
    assert_false(texts_equal("DC=com, DC=contoso, CN=x", "DC=contoso, DC=com, CN=x"));
    assert_false(texts_equal("CN=a", "CN=a b"));
}

static void test_two_empty_dns_are_equal(void **state)
{
    (void)state;
    struct proto_dn a = {0}, b = {0};
    assert_true(proto_dn_equal(&a, &b));
    struct proto_dn c;
    parse_ok("CN=x", &c);
    assert_false(proto_dn_equal(&a, &c));
    proto_dn_clear(&c);
}

static void test_malformed_text_is_refused(void **state)
{
    (void)state;
    assert_int_equal(parse_rc(""), PROTO_EPARSE);
    assert_int_equal(parse_rc("   \t "), PROTO_EPARSE);
    assert_int_equal(parse_rc("=value"), PROTO_EPARSE);    /* empty type */
    assert_int_equal(parse_rc("CN=a, =b"), PROTO_EPARSE);  /* empty type */
    assert_int_equal(parse_rc("CN=a,"), PROTO_EPARSE);     /* trailing separator */
    assert_int_equal(parse_rc("CN=a,,O=b"), PROTO_EPARSE); /* empty RDN */
    assert_int_equal(parse_rc("CN=a+"), PROTO_EPARSE);     /* dangling plus */
    assert_int_equal(parse_rc("CN"), PROTO_EPARSE);        /* missing '=' */
    assert_int_equal(parse_rc("CN a=b"), PROTO_EPARSE);    /* missing '=' */
    assert_int_equal(parse_rc("CN=a, O"), PROTO_EPARSE);   /* missing '=' */
    assert_int_equal(parse_rc("CN=\"abc"), PROTO_EPARSE);  /* unterminated quote */
    assert_int_equal(parse_rc("CN=\"a\"b"), PROTO_EPARSE); /* garbage after quote */
    assert_int_equal(parse_rc("CN=\"a\" b, O=c"), PROTO_EPARSE);
    assert_int_equal(parse_rc("CN=a\\"), PROTO_EPARSE);    /* lone backslash */
    assert_int_equal(parse_rc("CN=a\\q"), PROTO_EPARSE);   /* unknown escape */
    assert_int_equal(parse_rc("CN=a\\4"), PROTO_EPARSE);   /* half a hex pair */
    assert_int_equal(parse_rc("CN=a\\00b"), PROTO_EPARSE); /* NUL */
    assert_int_equal(parse_rc("C_N=a"), PROTO_EPARSE);     /* bad type character */
    assert_int_equal(parse_rc("1CN=a"), PROTO_EPARSE);     /* neither name nor OID */
    assert_int_equal(parse_rc("OID.=a"), PROTO_EPARSE);
    assert_int_equal(parse_rc("OID.2.5..4=a"), PROTO_EPARSE);
    assert_int_equal(parse_rc("2.05.4.3=a"), PROTO_EPARSE); /* leading zero */
    assert_int_equal(parse_rc("2=a"), PROTO_EPARSE);        /* one arc */
    assert_int_equal(parse_rc("CN=\xC3("), PROTO_EENCODING);
    assert_int_equal(parse_rc("CN=\\C3\\28"), PROTO_EENCODING);
}

static void test_limits_are_enforced(void **state)
{
    (void)state;
    char text[PROTO_MAX_NAME + 2];

    /* PROTO_MAX_DN_ATTRS attrs parse; one more does not. */
    size_t n = 0;
    for (unsigned i = 0; i < PROTO_MAX_DN_ATTRS; i++) {
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%sC=x", i ? "," : "");
    }
    assert_int_equal(parse_rc(text), PROTO_OK);
    n += (size_t)snprintf(text + n, sizeof(text) - n, ",C=x");
    assert_int_equal(parse_rc(text), PROTO_ELIMIT);

    /* PROTO_MAX_NAME bytes parse; one more does not. */
    memset(text, 'a', sizeof(text));
    memcpy(text, "CN=", 3);
    text[PROTO_MAX_NAME] = '\0';
    assert_int_equal(parse_rc(text), PROTO_OK);
    text[PROTO_MAX_NAME] = 'a';
    text[PROTO_MAX_NAME + 1] = '\0';
    assert_int_equal(parse_rc(text), PROTO_ELIMIT);

    /* The longest OID type kept still parses once format has put "OID." in front of it. */
    char oid[160] = "OID.1.2";
    while (strlen(oid) < 4 + 128) {
        strncat(oid, "9", sizeof(oid) - strlen(oid) - 1);
    }
    strncat(oid, "=x", sizeof(oid) - strlen(oid) - 1);
    struct proto_dn dn = {0}, again = {0};
    char *formatted = NULL;
    assert_int_equal(proto_dn_parse(oid, &dn), PROTO_OK);
    assert_int_equal(proto_dn_format(&dn, false, &formatted), PROTO_OK);
    assert_string_equal(formatted, oid);
    assert_int_equal(proto_dn_parse(formatted, &again), PROTO_OK);
    proto_free(formatted);
    proto_dn_clear(&again);
    proto_dn_clear(&dn);
    oid[strlen(oid) - 2] = '9'; /* one digit more */
    oid[strlen(oid) - 1] = '=';
    strncat(oid, "x", sizeof(oid) - strlen(oid) - 1);
    assert_int_equal(parse_rc(oid), PROTO_ELIMIT);

    for (unsigned i = 0; i < PROTO_MAX_DN_ATTRS; i++) {
        assert_int_equal(proto_dn_append(&dn, "CN", "x", false), PROTO_OK);
    }
    assert_int_equal(proto_dn_append(&dn, "CN", "x", false), PROTO_ELIMIT);
    assert_int_equal(dn.count, PROTO_MAX_DN_ATTRS);
    proto_dn_clear(&dn);
}

static void test_parse_refuses_a_dn_that_is_not_empty(void **state)
{
    (void)state;
    struct proto_dn dn;
    parse_ok("CN=x", &dn);
    assert_int_equal(proto_dn_parse("CN=y", &dn), PROTO_EINVAL);
    assert_string_equal(dn.attrs[0].value, "x");
    proto_dn_clear(&dn);
}

static void test_format_escapes_what_parse_would_read_as_syntax(void **state)
{
    (void)state;
    struct proto_dn dn = {0};
    assert_int_equal(proto_dn_append(&dn, "O", "Contoso, Ltd", false), PROTO_OK);
    assert_int_equal(proto_dn_append(&dn, "CN", " #a+b=c;\"<>\\ ", false), PROTO_OK);
    assert_int_equal(proto_dn_append(&dn, "OU", "tab\there", true), PROTO_OK);
    char *text = format(&dn, false);
    assert_string_equal(text,
                        "O=Contoso\\, Ltd, CN=\\ #a\\+b\\=c\\;\\\"\\<\\>\\\\\\ +OU=tab\\09here");
    proto_free(text);

    text = format(&dn, true);
    assert_string_equal(text,
                        "OU=tab\\09here+CN=\\ #a\\+b\\=c\\;\\\"\\<\\>\\\\\\ , O=Contoso\\, Ltd");
    proto_free(text);
    proto_dn_clear(&dn);

    assert_int_equal(proto_dn_append(&dn, "E", "#lead", false), PROTO_OK);
    assert_int_equal(proto_dn_append(&dn, "1.2.3.4", "x", false), PROTO_OK);
    text = format(&dn, false);
    assert_string_equal(text, "E=\\#lead, OID.1.2.3.4=x");
    proto_free(text);
    proto_dn_clear(&dn);
}

static void test_format_then_parse_gives_back_an_equal_dn(void **state)
{
    (void)state;
    static const char *const samples[] = {
        "DC=com, DC=contoso, DC=corp, CN=corp-DC1-CA",
        "CN=\"  spaced  \", O=\"Contoso, Ltd\", OU=a\\+b",
        "OU=VPN+CN=rras01+E=x@y, DC=com, OID.1.2.3=\\#x",
        "CN=Z\\C3\\BCrich \xE6\x9D\xB1\xE4\xBA\xAC, L=\\ \\ ",
        "CN=#not-hex, O=a=b, OU=<x>, ST=\"a;b\"",
        "CN=\"\"",
    };
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        struct proto_dn dn;
        parse_ok(samples[i], &dn);
        for (int reverse = 0; reverse <= 1; reverse++) {
            char *text = format(&dn, reverse != 0);
            struct proto_dn again;
            parse_ok(text, &again);
            assert_true(proto_dn_equal(&dn, &again));
            assert_int_equal(again.count, dn.count);
            for (size_t k = 0; k < dn.count; k++) {
                size_t j = reverse ? dn.count - 1 - k : k;
                /* Exact values, not just equal under folding. */
                assert_string_equal(again.attrs[k].value, dn.attrs[j].value);
                assert_string_equal(again.attrs[k].type, dn.attrs[j].type);
            }
            proto_dn_clear(&again);
            proto_free(text);
        }
        proto_dn_clear(&dn);
    }
}

static void test_get_returns_the_last_attr_of_a_type(void **state)
{
    (void)state;
    struct proto_dn dn;
    parse_ok("DC=com, DC=contoso, CN=first, CN=second, E=a@b", &dn);
    assert_string_equal(proto_dn_get(&dn, "CN"), "second");
    assert_string_equal(proto_dn_get(&dn, "cn"), "second");
    assert_string_equal(proto_dn_get(&dn, "2.5.4.3"), "second");
    assert_string_equal(proto_dn_get(&dn, "DC"), "contoso");
    assert_string_equal(proto_dn_get(&dn, "EMAIL"), "a@b");
    assert_null(proto_dn_get(&dn, "O"));
    assert_null(proto_dn_get(&dn, "not a type"));
    proto_dn_clear(&dn);
}

static void test_append_canonicalizes_and_validates(void **state)
{
    (void)state;
    struct proto_dn dn = {0};
    assert_int_equal(proto_dn_append(&dn, "2.5.4.3", "x", true), PROTO_OK);
    assert_string_equal(dn.attrs[0].type, "CN");
    assert_false(dn.attrs[0].same_rdn_as_prev); /* the first attr always opens an RDN */
    assert_int_equal(proto_dn_append(&dn, "emailAddress", "y", true), PROTO_OK);
    assert_string_equal(dn.attrs[1].type, "E");
    assert_true(dn.attrs[1].same_rdn_as_prev);
    assert_int_equal(proto_dn_append(&dn, "", "y", false), PROTO_EPARSE);
    assert_int_equal(proto_dn_append(&dn, "C N", "y", false), PROTO_EPARSE);
    assert_int_equal(proto_dn_append(&dn, "CN", "\xFF", false), PROTO_EENCODING);
    assert_int_equal(proto_dn_append(&dn, NULL, "y", false), PROTO_EINVAL);
    assert_int_equal(dn.count, 2);
    proto_dn_clear(&dn);
    proto_dn_clear(&dn); /* clearing twice is harmless */
    proto_dn_clear(NULL);
}

static void test_copy_is_deep_and_equal(void **state)
{
    (void)state;
    struct proto_dn dn, copy = {0};
    parse_ok("DC=com, OU=a+CN=b", &dn);
    assert_int_equal(proto_dn_copy(&dn, &copy), PROTO_OK);
    assert_true(proto_dn_equal(&dn, &copy));
    assert_ptr_not_equal(copy.attrs[0].value, dn.attrs[0].value);
    assert_true(copy.attrs[2].same_rdn_as_prev);
    assert_int_equal(proto_dn_copy(&dn, &copy), PROTO_EINVAL); /* dst must be empty */
    proto_dn_clear(&dn);
    proto_dn_clear(&copy);
}

static void test_every_allocation_failure_leaves_an_empty_dn(void **state)
{
    (void)state;
    enum proto_rc rc = PROTO_ENOMEM;
    unsigned long n;
    for (n = 1; n < 200 && rc == PROTO_ENOMEM; n++) {
        struct proto_dn dn = {0}, copy = {0};
        char *text = NULL;
        proto_alloc_fail_after(n);
        rc = proto_dn_parse("DC=com, DC=contoso, OU=a+CN=b", &dn);
        if (rc == PROTO_ENOMEM) {
            assert_int_equal(dn.count, 0);
        }
        if (rc == PROTO_OK) {
            rc = proto_dn_copy(&dn, &copy);
            if (rc == PROTO_ENOMEM) {
                assert_int_equal(copy.count, 0);
                assert_null(copy.attrs);
            }
        }
        if (rc == PROTO_OK) {
            rc = proto_dn_format(&dn, true, &text);
            if (rc == PROTO_ENOMEM) {
                assert_null(text);
            }
        }
        proto_alloc_fail_after(0);
        proto_free(text);
        proto_dn_clear(&dn);
        proto_dn_clear(&copy);
    }
    assert_int_equal(rc, PROTO_OK);
    assert_true(n > 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_netsh_order_equals_windows_dialog_order),
        cmocka_unit_test(test_attrs_are_kept_in_written_order_with_canonical_types),
        cmocka_unit_test(test_values_compare_ignoring_case_and_space_runs),
        cmocka_unit_test(test_a_quoted_value_keeps_its_comma),
        cmocka_unit_test(test_escaped_characters_are_unescaped),
        cmocka_unit_test(test_plus_joins_attrs_into_one_rdn),
        cmocka_unit_test(test_type_aliases_share_one_canonical_name),
        cmocka_unit_test(test_different_dns_are_not_equal),
        cmocka_unit_test(test_two_empty_dns_are_equal),
        cmocka_unit_test(test_malformed_text_is_refused),
        cmocka_unit_test(test_limits_are_enforced),
        cmocka_unit_test(test_parse_refuses_a_dn_that_is_not_empty),
        cmocka_unit_test(test_format_escapes_what_parse_would_read_as_syntax),
        cmocka_unit_test(test_format_then_parse_gives_back_an_equal_dn),
        cmocka_unit_test(test_get_returns_the_last_attr_of_a_type),
        cmocka_unit_test(test_append_canonicalizes_and_validates),
        cmocka_unit_test(test_copy_is_deep_and_equal),
        cmocka_unit_test(test_every_allocation_failure_leaves_an_empty_dn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
