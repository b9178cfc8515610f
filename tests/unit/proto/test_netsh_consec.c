/* test_netsh_consec: `netsh advfirewall consec show rule name=all verbose` parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "caps.h"
#include "netsh_consec.h"
#include "testutil.h"
#include "text.h"

#define SOURCE "netsh-consec.txt"

/* Decodes a fixture as the bundle reader would, then parses it into a new snapshot. */
static struct proto_snapshot *parse_fixture(const char *name, unsigned codepage,
                                            enum proto_rc expected)
{
    size_t raw_len = 0, len = 0;
    char *raw = testutil_read(testutil_fixture(name), &raw_len);
    char *text = NULL;
    assert_int_equal(proto_text_decode((unsigned char *)raw, raw_len, codepage, &text, &len, NULL),
                     PROTO_OK);
    free(raw);
    struct proto_snapshot *snap = proto_snapshot_create();
    assert_non_null(snap);
    assert_int_equal(proto_netsh_consec_parse(text, len, SOURCE, snap), expected);
    proto_free(text);
    return snap;
}

static struct proto_snapshot *parse_text(const char *text, enum proto_rc expected)
{
    struct proto_snapshot *snap = proto_snapshot_create();
    assert_non_null(snap);
    assert_int_equal(proto_netsh_consec_parse(text, strlen(text), SOURCE, snap), expected);
    return snap;
}

static const char *field(const struct proto_snapshot *snap, size_t rule, enum proto_rule_field f)
{
    assert_true(rule < snap->rule_count);
    return snap->rules[rule].field[f];
}

static bool snapshot_mentions(const struct proto_snapshot *snap, const char *needle)
{
    for (size_t r = 0; r < snap->rule_count; r++) {
        const struct proto_consec_rule *rule = &snap->rules[r];
        for (int f = 0; f < PROTO_RULE_FIELD_COUNT; f++) {
            if (rule->field[f] != NULL && strstr(rule->field[f], needle) != NULL) {
                return true;
            }
        }
        for (size_t i = 0; i < rule->extra_count; i++) {
            if (strstr(rule->extra[i].key, needle) != NULL ||
                strstr(rule->extra[i].value, needle) != NULL) {
                return true;
            }
        }
    }
    for (size_t i = 0; i < snap->error_count; i++) {
        if (strstr(snap->errors[i].message, needle) != NULL) {
            return true;
        }
    }
    return false;
}

static void test_two_rule_sample_gives_every_field_of_both_rules(void **state)
{
    (void)state;
    struct proto_snapshot *snap = parse_fixture("text/consec-two-rules.txt", 437, PROTO_OK);
    assert_true(snap->rules_available);
    assert_int_equal(snap->rule_count, 2);
    assert_int_equal(snap->error_count, 0);

    assert_string_equal(field(snap, 0, PROTO_RULE_NAME), "L2TP Manual Rule");
    assert_string_equal(field(snap, 0, PROTO_RULE_DESCRIPTION), "L2TP Manual Rule");
    assert_string_equal(field(snap, 0, PROTO_RULE_ENABLED), "Yes");
    assert_string_equal(field(snap, 0, PROTO_RULE_PROFILES), "Private,Public");
    assert_string_equal(field(snap, 0, PROTO_RULE_TYPE), "Dynamic");
    assert_string_equal(field(snap, 0, PROTO_RULE_MODE), "Transport");
    assert_string_equal(field(snap, 0, PROTO_RULE_ENDPOINT2), "131.107.0.2/32");
    assert_string_equal(field(snap, 0, PROTO_RULE_PORT2), "1701");
    assert_string_equal(field(snap, 0, PROTO_RULE_PROTOCOL), "UDP");
    assert_string_equal(field(snap, 0, PROTO_RULE_ACTION), "RequireInRequireOut");
    assert_string_equal(field(snap, 0, PROTO_RULE_AUTH1), "ComputerCert");
    assert_string_equal(field(snap, 0, PROTO_RULE_AUTH1_CA_NAME),
                        "DC=com, DC=contoso, DC=corp, CN=corp-DC1-CA");
    assert_string_equal(field(snap, 0, PROTO_RULE_AUTH1_CERT_TYPE), "Root");
    assert_string_equal(field(snap, 0, PROTO_RULE_MM_SEC_METHODS),
                        "DHGroup2-AES128-SHA256, DHGroup2-AES128-SHA1, DHGroup2-3DES-SHA1");
    assert_string_equal(field(snap, 0, PROTO_RULE_MM_KEY_LIFETIME), "480min,0sess");
    assert_string_equal(field(snap, 0, PROTO_RULE_QM_SEC_METHODS),
                        "ESP:SHA1-None+60min+100000kb,ESP:SHA1-AES128+60min+100000kb,"
                        "ESP:SHA1-3DES+60min+100000kb,AH:SHA1+60min+100000kb");
    assert_string_equal(field(snap, 0, PROTO_RULE_QM_PFS), "None");
    assert_string_equal(field(snap, 0, PROTO_RULE_APPLY_AUTHORIZATION), "No");
    assert_null(field(snap, 0, PROTO_RULE_AUTH1_PSK));
    assert_null(field(snap, 0, PROTO_RULE_LOCAL_TUNNEL_ENDPOINT));
    assert_false(snap->rules[0].psk_redacted);
    assert_false(snap->rules[0].labels_unrecognised);
    assert_int_equal(snap->rules[0].extra_count, 0);

    assert_string_equal(field(snap, 1, PROTO_RULE_NAME), "Old L2TP rule (public CA)");
    assert_string_equal(field(snap, 1, PROTO_RULE_DESCRIPTION), ""); /* printed empty */
    assert_string_equal(field(snap, 1, PROTO_RULE_ENABLED), "No");
    assert_string_equal(field(snap, 1, PROTO_RULE_ACTION), "RequireInRequestOut");
    assert_string_equal(field(snap, 1, PROTO_RULE_AUTH1_CA_NAME),
                        "CN=Example Public TLS RSA CA G1, O=Example Trust Inc, C=US");
    assert_string_equal(field(snap, 1, PROTO_RULE_AUTH1_CERT_TYPE), "Intermediate");
    assert_string_equal(field(snap, 1, PROTO_RULE_QM_SEC_METHODS),
                        "ESP:SHA1-AES128+60min+100000kb");
    assert_string_equal(field(snap, 1, PROTO_RULE_APPLY_AUTHORIZATION), "No");
    assert_int_equal(snap->rules[1].extra_count, 0);
    proto_snapshot_destroy(snap);
}

static void test_rule_source_label_with_a_space_is_a_known_field(void **state)
{
    (void)state;
    struct proto_snapshot *snap = parse_fixture("text/consec-two-rules.txt", 437, PROTO_OK);
    assert_string_equal(field(snap, 0, PROTO_RULE_RULE_SOURCE), "Local Setting");
    assert_string_equal(field(snap, 1, PROTO_RULE_RULE_SOURCE), "Local Setting");
    proto_snapshot_destroy(snap);
}

static void test_wrapped_ca_name_is_joined_exactly(void **state)
{
    (void)state;
    struct proto_snapshot *snap = parse_fixture("text/consec-wrapped.txt", 437, PROTO_OK);
    assert_int_equal(snap->rule_count, 1);
    assert_string_equal(field(snap, 0, PROTO_RULE_AUTH1_CA_NAME),
                        "DC=com, DC=contoso, DC=corp, CN=corp-DC1-CA");
    assert_string_equal(field(snap, 0, PROTO_RULE_AUTH1_CERT_MAPPING), "No");
    assert_string_equal(field(snap, 0, PROTO_RULE_RULE_SOURCE), "Local Setting");
    proto_snapshot_destroy(snap);
}

static void test_value_wrapped_inside_a_token_is_concatenated(void **state)
{
    (void)state;
    struct proto_snapshot *snap = parse_fixture("text/consec-wrapped.txt", 437, PROTO_OK);
    assert_string_equal(field(snap, 0, PROTO_RULE_QM_SEC_METHODS),
                        "ESP:SHA1-None+60min+100000kb,ESP:SHA1-AES128+60min+100000kb");
    proto_snapshot_destroy(snap);
}

static void test_no_rules_match_is_an_available_empty_rule_list(void **state)
{
    (void)state;
    struct proto_snapshot *snap = parse_fixture("text/consec-no-match.txt", 437, PROTO_OK);
    assert_true(snap->rules_available);
    assert_int_equal(snap->rule_count, 0);
    assert_int_equal(snap->error_count, 0);
    proto_snapshot_destroy(snap);
}

static void test_empty_output_is_source_unavailable_never_no_rules(void **state)
{
    (void)state;
    const char *fixtures[] = {"text/consec-empty.txt", "text/consec-blank.txt"};
    for (size_t i = 0; i < 2; i++) {
        struct proto_snapshot *snap = parse_fixture(fixtures[i], 437, PROTO_EUNAVAILABLE);
        assert_false(snap->rules_available);
        assert_int_equal(snap->rule_count, 0);
        assert_int_equal(snap->error_count, 1);
        assert_int_equal(snap->errors[0].code, PROTO_EUNAVAILABLE);
        assert_string_equal(snap->errors[0].source, SOURCE);
        assert_string_equal(snap->errors[0].message,
                            "netsh produced no output (source unavailable)");
        proto_snapshot_destroy(snap);
    }
    struct proto_snapshot *snap = proto_snapshot_create();
    assert_int_equal(proto_netsh_consec_parse(NULL, 0, SOURCE, snap), PROTO_EUNAVAILABLE);
    proto_snapshot_destroy(snap);
}

static void test_psk_is_redacted_and_appears_nowhere_in_the_snapshot(void **state)
{
    (void)state;
    struct proto_snapshot *snap = parse_fixture("text/consec-psk.txt", 437, PROTO_OK);
    assert_int_equal(snap->rule_count, 2);
    for (size_t r = 0; r < 2; r++) {
        assert_true(snap->rules[r].psk_redacted);
        assert_string_equal(field(snap, r, PROTO_RULE_AUTH1_PSK), PROTO_REDACTED);
        assert_string_equal(field(snap, r, PROTO_RULE_AUTH1), "ComputerPSK");
        assert_int_equal(snap->rules[r].extra_count, 0);
    }
    /* The wrapped second line of the key is dropped, and the next field still parses. */
    assert_string_equal(field(snap, 0, PROTO_RULE_ACTION), "RequireInRequireOut");
    assert_string_equal(field(snap, 1, PROTO_RULE_RULE_SOURCE), "Local Setting");
    assert_false(snapshot_mentions(snap, "Sup3rS3cret"));
    assert_false(snapshot_mentions(snap, "12345"));
    assert_false(snapshot_mentions(snap, "AAAA"));
    assert_false(snapshot_mentions(snap, "CCCC"));
    proto_snapshot_destroy(snap);
}

static void test_psk_continuation_before_a_dash_line_never_becomes_a_rule_name(void **state)
{
    (void)state;
    const char *text = "Rule Name:                            A\n"
                       "----------------------------------------------------------------------\n"
                       "Auth1PSK:                             TopSecretHead \n"
                       "TopSecretTail\n"
                       "----------------------------------------------------------------------\n"
                       "Enabled:                              Yes\n";
    struct proto_snapshot *snap = parse_text(text, PROTO_OK);
    assert_int_equal(snap->rule_count, 1);
    assert_false(snapshot_mentions(snap, "TopSecret"));
    assert_string_equal(field(snap, 0, PROTO_RULE_ENABLED), "Yes");
    proto_snapshot_destroy(snap);
}

static void test_unknown_label_naming_a_psk_is_redacted_too(void **state)
{
    (void)state;
    const char *text = "Rule Name:                            A\n"
                       "----------------------------------------------------------------------\n"
                       "Auth2PSK:                             TopSecret\n"
                       "Enabled:                              Yes\n";
    struct proto_snapshot *snap = parse_text(text, PROTO_OK);
    assert_true(snap->rules[0].psk_redacted);
    assert_int_equal(snap->rules[0].extra_count, 1);
    assert_string_equal(snap->rules[0].extra[0].key, "Auth2PSK");
    assert_string_equal(snap->rules[0].extra[0].value, PROTO_REDACTED);
    assert_false(snapshot_mentions(snap, "TopSecret"));
    proto_snapshot_destroy(snap);
}

static void test_german_cp850_rules_are_named_by_position_only(void **state)
{
    (void)state;
    struct proto_snapshot *snap = parse_fixture("text/consec-german-cp850.txt", 850, PROTO_OK);
    assert_true(snap->rules_available);
    assert_int_equal(snap->rule_count, 2);
    assert_string_equal(field(snap, 0, PROTO_RULE_NAME), "L2TP-Regel f\xC3\xBCr VPN");
    assert_string_equal(field(snap, 1, PROTO_RULE_NAME), "Zweite Regel");
    for (size_t r = 0; r < 2; r++) {
        assert_true(snap->rules[r].labels_unrecognised);
        assert_int_equal(snap->rules[r].extra_count, 0);
        for (int f = 1; f < PROTO_RULE_FIELD_COUNT; f++) {
            assert_null(snap->rules[r].field[f]); /* even the English "Auth1CAName:" line */
        }
    }
    assert_int_equal(snap->error_count, 1);
    assert_int_equal(snap->errors[0].code, PROTO_EUNSUPPORTED);
    assert_non_null(strstr(snap->errors[0].message, "2 rule(s)"));
    proto_snapshot_destroy(snap);
}

static void test_utf16le_capture_parses_like_the_oem_one(void **state)
{
    (void)state;
    struct proto_snapshot *a = parse_fixture("text/consec-two-rules-utf16.txt", 437, PROTO_OK);
    struct proto_snapshot *b = parse_fixture("text/consec-two-rules.txt", 437, PROTO_OK);
    assert_int_equal(a->rule_count, 2);
    for (size_t r = 0; r < 2; r++) {
        for (int f = 0; f < PROTO_RULE_FIELD_COUNT; f++) {
            const char *x = a->rules[r].field[f], *y = b->rules[r].field[f];
            assert_true((x == NULL) == (y == NULL));
            if (x != NULL) {
                assert_string_equal(x, y);
            }
        }
    }
    proto_snapshot_destroy(a);
    proto_snapshot_destroy(b);
}

static void test_tunnel_rule_keeps_tunnel_endpoints_and_second_auth(void **state)
{
    (void)state;
    struct proto_snapshot *snap = parse_fixture("text/consec-tunnel.txt", 437, PROTO_OK);
    assert_int_equal(snap->rule_count, 1);
    assert_string_equal(field(snap, 0, PROTO_RULE_MODE), "Tunnel");
    assert_string_equal(field(snap, 0, PROTO_RULE_LOCAL_TUNNEL_ENDPOINT), "198.51.100.1");
    assert_string_equal(field(snap, 0, PROTO_RULE_REMOTE_TUNNEL_ENDPOINT), "203.0.113.9");
    assert_string_equal(field(snap, 0, PROTO_RULE_AUTH2), "UserCert");
    assert_string_equal(field(snap, 0, PROTO_RULE_AUTH2_CA_NAME), "CN=User CA");
    assert_string_equal(field(snap, 0, PROTO_RULE_EXEMPT_IPSEC_PROTECTED), "No");
    assert_string_equal(field(snap, 0, PROTO_RULE_APPLY_AUTHORIZATION), "No");
    proto_snapshot_destroy(snap);
}

static void test_unknown_labels_are_kept_verbatim_in_extra(void **state)
{
    (void)state;
    struct proto_snapshot *snap = parse_fixture("text/consec-tunnel.txt", 437, PROTO_OK);
    const struct proto_consec_rule *rule = &snap->rules[0];
    assert_int_equal(rule->extra_count, 2);
    assert_string_equal(rule->extra[0].key, "KeyModule");
    assert_string_equal(rule->extra[0].value, "IKEv2");
    assert_string_equal(rule->extra[1].key, "Grouping");
    assert_string_equal(rule->extra[1].value, "");
    assert_int_equal(snap->error_count, 0);
    proto_snapshot_destroy(snap);
}

static void test_extra_labels_beyond_the_cap_are_dropped_with_one_error(void **state)
{
    (void)state;
    struct proto_buf b;
    proto_buf_init(&b, 1u << 20);
    assert_int_equal(proto_buf_append_str(&b, "Rule Name:                            A\n"
                                              "-------------------------------------------"
                                              "---------------------------\n"),
                     PROTO_OK);
    for (unsigned i = 0; i < PROTO_MAX_RULE_EXTRA + 5; i++) {
        char label[32];
        int n = snprintf(label, sizeof(label), "Label%u:", i);
        assert_true(n > 0 && (size_t)n < sizeof(label));
        assert_int_equal(proto_buf_appendf(&b, "%-38sv%u\n", label, i), PROTO_OK);
    }
    struct proto_snapshot *snap = parse_text(proto_buf_str(&b), PROTO_OK);
    assert_int_equal(snap->rules[0].extra_count, PROTO_MAX_RULE_EXTRA);
    assert_int_equal(snap->error_count, 1);
    assert_int_equal(snap->errors[0].code, PROTO_ELIMIT);
    proto_snapshot_destroy(snap);
    proto_buf_free(&b);
}

static void test_text_that_is_not_a_rule_listing_is_a_parse_error(void **state)
{
    (void)state;
    struct proto_snapshot *snap = parse_fixture("text/consec-not-listing.txt", 437, PROTO_EPARSE);
    assert_false(snap->rules_available);
    assert_int_equal(snap->error_count, 1);
    assert_int_equal(snap->errors[0].code, PROTO_EPARSE);
    proto_snapshot_destroy(snap);
}

static void test_lone_psk_line_is_not_quoted_in_the_parse_error(void **state)
{
    (void)state;
    struct proto_snapshot *snap = parse_text("Auth1PSK: TopSecret\n", PROTO_EPARSE);
    assert_false(snapshot_mentions(snap, "TopSecret"));
    proto_snapshot_destroy(snap);
}

static void test_rule_without_dash_line_still_starts_at_rule_name(void **state)
{
    (void)state;
    struct proto_snapshot *snap = parse_text("Rule Name:                            A\n"
                                             "Enabled:                              Yes\n"
                                             "Rule Name:                            B\n"
                                             "Enabled:                              No\n",
                                             PROTO_OK);
    assert_int_equal(snap->rule_count, 2);
    assert_string_equal(field(snap, 0, PROTO_RULE_NAME), "A");
    assert_string_equal(field(snap, 1, PROTO_RULE_ENABLED), "No");
    proto_snapshot_destroy(snap);
}

static void test_wrapped_rule_name_before_the_dash_line_is_joined(void **state)
{
    (void)state;
    struct proto_snapshot *snap =
        parse_text("\nRule Name:                            A long rule name that wraps \n"
                   "past column eighty\n"
                   "----------------------------------------------------------------------\n"
                   "Enabled:                              Yes\n",
                   PROTO_OK);
    assert_int_equal(snap->rule_count, 1);
    assert_string_equal(field(snap, 0, PROTO_RULE_NAME),
                        "A long rule name that wraps past column eighty");
    assert_false(snap->rules[0].labels_unrecognised);
    assert_string_equal(field(snap, 0, PROTO_RULE_ENABLED), "Yes");
    proto_snapshot_destroy(snap);
}

static void test_short_unpadded_known_label_is_a_field(void **state)
{
    (void)state;
    struct proto_snapshot *snap =
        parse_text("Rule Name: A\n"
                   "----------------------------------------------------------------------\n"
                   "ExemptIPsecProtectedConnections: Yes\n"
                   "Description: note: keep\n",
                   PROTO_OK);
    assert_string_equal(field(snap, 0, PROTO_RULE_EXEMPT_IPSEC_PROTECTED), "Yes");
    assert_string_equal(field(snap, 0, PROTO_RULE_DESCRIPTION), "note: keep");
    proto_snapshot_destroy(snap);
}

static void test_more_rules_than_the_cap_fail_and_keep_none(void **state)
{
    (void)state;
    struct proto_buf b;
    proto_buf_init(&b, 1u << 24);
    for (unsigned i = 0; i < PROTO_MAX_RULES + 1; i++) {
        assert_int_equal(
            proto_buf_appendf(&b, "\nRule Name:                            R%u\n%s\n", i,
                              "----------------------------------------------------------------"
                              "------"),
            PROTO_OK);
    }
    struct proto_snapshot *snap = parse_text(proto_buf_str(&b), PROTO_ELIMIT);
    assert_false(snap->rules_available);
    assert_int_equal(snap->rule_count, 0);
    assert_int_equal(snap->error_count, 1);
    assert_int_equal(snap->errors[0].code, PROTO_ELIMIT);
    assert_non_null(strstr(snap->errors[0].message, "rules"));
    proto_snapshot_destroy(snap);
    proto_buf_free(&b);
}

static void test_line_over_the_cap_fails_and_keeps_earlier_rules_of_other_parses(void **state)
{
    (void)state;
    struct proto_snapshot *snap = parse_fixture("text/consec-two-rules.txt", 437, PROTO_OK);
    size_t len = PROTO_MAX_LINE_BYTES + 200;
    char *text = malloc(len + 1);
    assert_non_null(text);
    int n = snprintf(text, len + 1, "Rule Name:                            X\n%s\n",
                     "----------------------------------------------------------------------");
    assert_true(n > 0);
    memset(text + n, 'a', len - (size_t)n);
    text[len] = '\0';
    assert_int_equal(proto_netsh_consec_parse(text, len, SOURCE, snap), PROTO_ELIMIT);
    assert_int_equal(snap->rule_count, 2); /* the first parse's rules stay */
    assert_int_equal(snap->error_count, 1);
    assert_int_equal(snap->errors[0].code, PROTO_ELIMIT);
    free(text);
    proto_snapshot_destroy(snap);
}

static void test_value_longer_than_the_string_cap_fails(void **state)
{
    (void)state;
    struct proto_buf b;
    proto_buf_init(&b, 1u << 20);
    assert_int_equal(proto_buf_append_str(&b, "Rule Name:                            X\n"
                                              "Description:                          x\n"),
                     PROTO_OK);
    for (unsigned i = 0; i < PROTO_MAX_STRING / 64 + 1; i++) {
        assert_int_equal(proto_buf_appendf(&b, "%064u\n", i), PROTO_OK);
    }
    struct proto_snapshot *snap = parse_text(proto_buf_str(&b), PROTO_ELIMIT);
    assert_int_equal(snap->rule_count, 0);
    proto_snapshot_destroy(snap);
    proto_buf_free(&b);
}

static void test_every_allocation_failure_is_reported_and_keeps_no_rules(void **state)
{
    (void)state;
    size_t len = 0;
    char *text = testutil_read(testutil_fixture("text/consec-tunnel.txt"), &len);
    for (unsigned long n = 1; n < 500; n++) {
        struct proto_snapshot *snap = proto_snapshot_create();
        assert_non_null(snap);
        proto_alloc_fail_after(n);
        enum proto_rc rc = proto_netsh_consec_parse(text, len, SOURCE, snap);
        proto_alloc_fail_after(0);
        if (rc == PROTO_OK) {
            assert_int_equal(snap->rule_count, 1);
            proto_snapshot_destroy(snap);
            free(text);
            return;
        }
        assert_int_equal(rc, PROTO_ENOMEM);
        assert_int_equal(snap->rule_count, 0);
        assert_false(snap->rules_available);
        proto_snapshot_destroy(snap);
    }
    free(text);
    fail_msg("parse never succeeded");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_rule_sample_gives_every_field_of_both_rules),
        cmocka_unit_test(test_rule_source_label_with_a_space_is_a_known_field),
        cmocka_unit_test(test_wrapped_ca_name_is_joined_exactly),
        cmocka_unit_test(test_value_wrapped_inside_a_token_is_concatenated),
        cmocka_unit_test(test_no_rules_match_is_an_available_empty_rule_list),
        cmocka_unit_test(test_empty_output_is_source_unavailable_never_no_rules),
        cmocka_unit_test(test_psk_is_redacted_and_appears_nowhere_in_the_snapshot),
        cmocka_unit_test(test_psk_continuation_before_a_dash_line_never_becomes_a_rule_name),
        cmocka_unit_test(test_unknown_label_naming_a_psk_is_redacted_too),
        cmocka_unit_test(test_german_cp850_rules_are_named_by_position_only),
        cmocka_unit_test(test_utf16le_capture_parses_like_the_oem_one),
        cmocka_unit_test(test_tunnel_rule_keeps_tunnel_endpoints_and_second_auth),
        cmocka_unit_test(test_unknown_labels_are_kept_verbatim_in_extra),
        cmocka_unit_test(test_extra_labels_beyond_the_cap_are_dropped_with_one_error),
        cmocka_unit_test(test_text_that_is_not_a_rule_listing_is_a_parse_error),
        cmocka_unit_test(test_lone_psk_line_is_not_quoted_in_the_parse_error),
        cmocka_unit_test(test_rule_without_dash_line_still_starts_at_rule_name),
        cmocka_unit_test(test_wrapped_rule_name_before_the_dash_line_is_joined),
        cmocka_unit_test(test_short_unpadded_known_label_is_a_field),
        cmocka_unit_test(test_more_rules_than_the_cap_fail_and_keep_none),
        cmocka_unit_test(test_line_over_the_cap_fails_and_keeps_earlier_rules_of_other_parses),
        cmocka_unit_test(test_value_longer_than_the_string_cap_fails),
        cmocka_unit_test(test_every_allocation_failure_is_reported_and_keeps_no_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
