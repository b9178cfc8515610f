/* test_netsh_sslcert: `netsh http show sslcert` parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "caps.h"
#include "netsh_sslcert.h"
#include "testutil.h"
#include "text.h"

#define SOURCE "netsh-http-sslcert.txt"

static struct proto_snapshot *parse_fixture(const char *name, enum proto_rc expected)
{
    size_t raw_len = 0, len = 0;
    char *raw = testutil_read(testutil_fixture(name), &raw_len);
    char *text = NULL;
    assert_int_equal(proto_text_decode((unsigned char *)raw, raw_len, 437, &text, &len, NULL),
                     PROTO_OK);
    free(raw);
    struct proto_snapshot *snap = proto_snapshot_create();
    assert_non_null(snap);
    assert_int_equal(proto_netsh_sslcert_parse(text, len, SOURCE, snap), expected);
    proto_free(text);
    return snap;
}

static void test_sample_gives_two_bindings_with_upper_case_hashes(void **state)
{
    (void)state;
    struct proto_snapshot *snap = parse_fixture("text/sslcert-sample.txt", PROTO_OK);
    assert_true(snap->ssl_bindings_available);
    assert_int_equal(snap->ssl_binding_count, 2);
    assert_int_equal(snap->error_count, 0);

    const struct proto_ssl_binding *b = &snap->ssl_bindings[0];
    assert_string_equal(b->kind, "ipport");
    assert_string_equal(b->endpoint, "0.0.0.0:443");
    assert_string_equal(b->cert_hash, "3F1C9A0D5E7B2A4C6D8E0F1A2B3C4D5E6F708192");
    assert_string_equal(b->app_id, "{ba195980-cd49-458b-9e23-c84ee0adcd75}");
    assert_string_equal(b->store_name, "MY");

    b = &snap->ssl_bindings[1];
    assert_string_equal(b->kind, "ipport");
    assert_string_equal(b->endpoint, "203.0.113.10:443");
    assert_string_equal(b->cert_hash, "A94A8FE5CCB19BA61C4C0873D391E987982FBBD3");
    assert_string_equal(b->app_id, "{5d8e2743-ef20-4d38-8751-7e400f200e65}");
    assert_string_equal(b->store_name, "MY");
    proto_snapshot_destroy(snap);
}

static void test_lower_case_ip_port_and_ipv6_endpoint_are_read(void **state)
{
    (void)state;
    struct proto_snapshot *snap = parse_fixture("text/sslcert-mixed.txt", PROTO_OK);
    const struct proto_ssl_binding *b = &snap->ssl_bindings[0];
    assert_string_equal(b->kind, "ipport");
    assert_string_equal(b->endpoint, "[::]:443");
    assert_string_equal(b->cert_hash, "3F1C9A0D5E7B2A4C6D8E0F1A2B3C4D5E6F708192");
    assert_string_equal(b->app_id, "{ba195980-cd49-458b-9e23-c84ee0adcd75}");
    assert_string_equal(b->store_name, "My");
    proto_snapshot_destroy(snap);
}

static void test_long_label_lines_do_not_disturb_the_binding(void **state)
{
    (void)state;
    /* "Verify Client Certificate Revocation : Enabled" sits between the fields we keep. */
    struct proto_snapshot *snap = parse_fixture("text/sslcert-mixed.txt", PROTO_OK);
    assert_int_equal(snap->ssl_binding_count, 4);
    assert_string_equal(snap->ssl_bindings[0].store_name, "My");
    assert_string_equal(snap->ssl_bindings[1].kind, "hostnameport");
    proto_snapshot_destroy(snap);
}

static void test_long_label_before_our_fields_splits_at_the_colon_before_a_space(void **state)
{
    (void)state;
    const char *text =
        "\nSSL Certificate bindings:\n-------------------------\n\n"
        "    IP:port                      : 0.0.0.0:443\n"
        "    Verify Revocation Using Cached Client Certificate Only : Disabled\n"
        "    Ctl Identifier               : (null)\n"
        "    Certificate Hash             : 0123456789abcdef0123456789ABCDEF01234567\n"
        "    Certificate Store Name       : MY\n";
    struct proto_snapshot *snap = proto_snapshot_create();
    assert_int_equal(proto_netsh_sslcert_parse(text, strlen(text), SOURCE, snap), PROTO_OK);
    assert_int_equal(snap->ssl_binding_count, 1);
    assert_string_equal(snap->ssl_bindings[0].endpoint, "0.0.0.0:443");
    assert_string_equal(snap->ssl_bindings[0].cert_hash,
                        "0123456789ABCDEF0123456789ABCDEF01234567");
    assert_string_equal(snap->ssl_bindings[0].store_name, "MY");
    assert_null(snap->ssl_bindings[0].app_id);
    proto_snapshot_destroy(snap);
}

static void test_hostname_port_binding_and_extended_properties(void **state)
{
    (void)state;
    struct proto_snapshot *snap = parse_fixture("text/sslcert-mixed.txt", PROTO_OK);
    const struct proto_ssl_binding *b = &snap->ssl_bindings[1];
    assert_string_equal(b->kind, "hostnameport");
    assert_string_equal(b->endpoint, "vpn.contoso.com:443");
    assert_string_equal(b->cert_hash, "A94A8FE5CCB19BA61C4C0873D391E987982FBBD3");
    assert_string_equal(b->store_name, "WebHosting");
    /* The second Extended Properties block after a blank line is not a binding. */
    assert_string_equal(snap->ssl_bindings[2].kind, "ccs");
    proto_snapshot_destroy(snap);
}

static void test_ccs_binding_without_hash_has_empty_hash_and_no_store(void **state)
{
    (void)state;
    struct proto_snapshot *snap = parse_fixture("text/sslcert-mixed.txt", PROTO_OK);
    const struct proto_ssl_binding *b = &snap->ssl_bindings[2];
    assert_string_equal(b->kind, "ccs");
    assert_string_equal(b->endpoint, "443");
    assert_string_equal(b->cert_hash, "");
    assert_null(b->store_name);
    proto_snapshot_destroy(snap);
}

static void test_malformed_hash_is_left_empty_with_one_error(void **state)
{
    (void)state;
    struct proto_snapshot *snap = parse_fixture("text/sslcert-mixed.txt", PROTO_OK);
    const struct proto_ssl_binding *b = &snap->ssl_bindings[3];
    assert_string_equal(b->endpoint, "192.0.2.7:8443");
    assert_string_equal(b->cert_hash, "");
    assert_null(b->store_name);
    assert_int_equal(snap->error_count, 1);
    assert_int_equal(snap->errors[0].code, PROTO_EPARSE);
    assert_non_null(strstr(snap->errors[0].message, "192.0.2.7:8443"));
    proto_snapshot_destroy(snap);
}

static void test_header_without_bindings_is_an_available_empty_list(void **state)
{
    (void)state;
    struct proto_snapshot *snap = parse_fixture("text/sslcert-header-only.txt", PROTO_OK);
    assert_true(snap->ssl_bindings_available);
    assert_int_equal(snap->ssl_binding_count, 0);
    assert_int_equal(snap->error_count, 0);
    proto_snapshot_destroy(snap);
}

static void test_empty_output_is_source_unavailable(void **state)
{
    (void)state;
    struct proto_snapshot *snap = proto_snapshot_create();
    assert_int_equal(proto_netsh_sslcert_parse("\r\n \n", 4, SOURCE, snap), PROTO_EUNAVAILABLE);
    assert_false(snap->ssl_bindings_available);
    assert_int_equal(snap->error_count, 1);
    assert_int_equal(snap->errors[0].code, PROTO_EUNAVAILABLE);
    assert_string_equal(snap->errors[0].source, SOURCE);
    proto_snapshot_destroy(snap);
}

static void test_single_line_error_message_is_a_parse_error_quoting_it(void **state)
{
    (void)state;
    struct proto_snapshot *snap = parse_fixture("text/sslcert-error.txt", PROTO_EPARSE);
    assert_false(snap->ssl_bindings_available);
    assert_int_equal(snap->error_count, 1);
    assert_int_equal(snap->errors[0].code, PROTO_EPARSE);
    assert_non_null(strstr(snap->errors[0].message, "The system cannot find the file"));
    proto_snapshot_destroy(snap);
}

static void test_more_bindings_than_the_cap_fail_and_keep_none(void **state)
{
    (void)state;
    struct proto_buf b;
    proto_buf_init(&b, 1u << 24);
    for (unsigned i = 0; i < PROTO_MAX_SSL_BINDINGS + 1; i++) {
        assert_int_equal(proto_buf_appendf(&b,
                                           "    IP:port                      : 10.0.%u.%u:443\n\n",
                                           i / 256, i % 256),
                         PROTO_OK);
    }
    struct proto_snapshot *snap = proto_snapshot_create();
    assert_int_equal(proto_netsh_sslcert_parse(b.data, b.len, SOURCE, snap), PROTO_ELIMIT);
    assert_int_equal(snap->ssl_binding_count, 0);
    assert_false(snap->ssl_bindings_available);
    assert_int_equal(snap->errors[0].code, PROTO_ELIMIT);
    proto_snapshot_destroy(snap);
    proto_buf_free(&b);
}

static void test_every_allocation_failure_is_reported_and_keeps_no_bindings(void **state)
{
    (void)state;
    size_t len = 0;
    char *text = testutil_read(testutil_fixture("text/sslcert-mixed.txt"), &len);
    for (unsigned long n = 1; n < 500; n++) {
        struct proto_snapshot *snap = proto_snapshot_create();
        assert_non_null(snap);
        proto_alloc_fail_after(n);
        enum proto_rc rc = proto_netsh_sslcert_parse(text, len, SOURCE, snap);
        proto_alloc_fail_after(0);
        if (rc == PROTO_OK) {
            assert_int_equal(snap->ssl_binding_count, 4);
            proto_snapshot_destroy(snap);
            free(text);
            return;
        }
        assert_int_equal(rc, PROTO_ENOMEM);
        assert_int_equal(snap->ssl_binding_count, 0);
        proto_snapshot_destroy(snap);
    }
    free(text);
    fail_msg("parse never succeeded");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_gives_two_bindings_with_upper_case_hashes),
        cmocka_unit_test(test_lower_case_ip_port_and_ipv6_endpoint_are_read),
        cmocka_unit_test(test_long_label_lines_do_not_disturb_the_binding),
        cmocka_unit_test(test_long_label_before_our_fields_splits_at_the_colon_before_a_space),
        cmocka_unit_test(test_hostname_port_binding_and_extended_properties),
        cmocka_unit_test(test_ccs_binding_without_hash_has_empty_hash_and_no_store),
        cmocka_unit_test(test_malformed_hash_is_left_empty_with_one_error),
        cmocka_unit_test(test_header_without_bindings_is_an_available_empty_list),
        cmocka_unit_test(test_empty_output_is_source_unavailable),
        cmocka_unit_test(test_single_line_error_message_is_a_parse_error_quoting_it),
        cmocka_unit_test(test_more_bindings_than_the_cap_fail_and_keep_none),
        cmocka_unit_test(test_every_allocation_failure_is_reported_and_keeps_no_bindings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
