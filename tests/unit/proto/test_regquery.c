/* test_regquery: `reg query` output parsing. */
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
#include "regquery.h"
#include "testutil.h"
#include "text.h"

#define SOURCE "reg-rasman.txt"
#define RASMAN "HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Services\\Rasman\\Parameters"
#define SSTP "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\SstpSvc\\Parameters"

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
    assert_int_equal(proto_regquery_parse(text, len, SOURCE, snap), expected);
    proto_free(text);
    return snap;
}

static const struct proto_reg_value *find(const struct proto_snapshot *snap, const char *name)
{
    for (size_t i = 0; i < snap->registry_count; i++) {
        if (strcmp(snap->registry[i].name, name) == 0) {
            return &snap->registry[i];
        }
    }
    fail_msg("no value %s", name);
    return NULL;
}

static void test_prohibit_ipsec_dword_is_read_as_number_one(void **state)
{
    (void)state;
    struct proto_snapshot *snap = parse_fixture("text/reg-rasman.txt", PROTO_OK);
    assert_true(snap->registry_available);
    assert_int_equal(snap->error_count, 0);
    const struct proto_reg_value *v = find(snap, "ProhibitIpSec");
    assert_string_equal(v->key, RASMAN);
    assert_int_equal(v->type, PROTO_REG_DWORD);
    assert_string_equal(v->data, "0x1");
    assert_int_equal(v->number, 1);
    assert_int_equal(find(snap, "AllowL2TPWeakCrypto")->number, 0);
    assert_int_equal(find(snap, "NegotiateDH2048_AES256")->number, 2);
    /* The model's lookup by key suffix finds it too. */
    assert_ptr_equal(proto_snapshot_find_reg(snap, "Services\\Rasman\\Parameters", "prohibitipsec"),
                     v);
    proto_snapshot_destroy(snap);
}

static void test_sz_name_and_data_with_spaces_are_kept_as_printed(void **state)
{
    (void)state;
    struct proto_snapshot *snap = parse_fixture("text/reg-rasman.txt", PROTO_OK);
    const struct proto_reg_value *v = find(snap, "Logon Message");
    assert_int_equal(v->type, PROTO_REG_SZ);
    assert_string_equal(v->data, "Remote access  server  ready");
    v = find(snap, "ServiceDll");
    assert_int_equal(v->type, PROTO_REG_EXPAND_SZ);
    assert_string_equal(v->data, "%SystemRoot%\\System32\\rasmans.dll");
    proto_snapshot_destroy(snap);
}

static void test_default_value_is_named_default(void **state)
{
    (void)state;
    struct proto_snapshot *snap = parse_fixture("text/reg-rasman.txt", PROTO_OK);
    assert_string_equal(snap->registry[0].name, "(Default)");
    assert_int_equal(snap->registry[0].type, PROTO_REG_SZ);
    assert_string_equal(snap->registry[0].data, "(value not set)");
    proto_snapshot_destroy(snap);
}

static void test_multi_sz_is_split_on_backslash_zero(void **state)
{
    (void)state;
    struct proto_snapshot *snap = parse_fixture("text/reg-rasman.txt", PROTO_OK);
    const struct proto_reg_value *v = find(snap, "RequiredPrivileges");
    assert_int_equal(v->type, PROTO_REG_MULTI_SZ);
    assert_int_equal(v->multi.count, 3);
    assert_string_equal(v->multi.items[0], "SeTcbPrivilege");
    assert_string_equal(v->multi.items[1], "SeAuditPrivilege");
    assert_string_equal(v->multi.items[2], "SeChangeNotifyPrivilege");
    assert_string_equal(v->data, "SeTcbPrivilege\\0SeAuditPrivilege\\0SeChangeNotifyPrivilege");
    v = find(snap, "EmptyList");
    assert_int_equal(v->multi.count, 0);
    assert_string_equal(v->data, "");
    proto_snapshot_destroy(snap);
}

static void test_empty_data_and_qword_are_read(void **state)
{
    (void)state;
    struct proto_snapshot *snap = parse_fixture("text/reg-rasman.txt", PROTO_OK);
    assert_string_equal(find(snap, "EmptyText")->data, "");
    const struct proto_reg_value *v = find(snap, "Counter");
    assert_int_equal(v->type, PROTO_REG_QWORD);
    assert_true(v->number == UINT64_MAX);
    proto_snapshot_destroy(snap);
}

static void test_subkey_lines_without_values_add_nothing(void **state)
{
    (void)state;
    struct proto_snapshot *snap = parse_fixture("text/reg-rasman.txt", PROTO_OK);
    assert_int_equal(snap->registry_count, 10);
    for (size_t i = 0; i < snap->registry_count; i++) {
        assert_string_equal(snap->registry[i].key, RASMAN);
    }
    proto_snapshot_destroy(snap);
}

static void test_binary_certificate_hash_is_decoded_to_bytes(void **state)
{
    (void)state;
    static const unsigned char sha1[20] = {0x3F, 0x1C, 0x9A, 0x0D, 0x5E, 0x7B, 0x2A,
                                           0x4C, 0x6D, 0x8E, 0x0F, 0x1A, 0x2B, 0x3C,
                                           0x4D, 0x5E, 0x6F, 0x70, 0x81, 0x92};
    struct proto_snapshot *snap = parse_fixture("text/reg-sstpsvc-s.txt", PROTO_OK);
    const struct proto_reg_value *v = find(snap, "SHA1CertificateHash");
    assert_int_equal(v->type, PROTO_REG_BINARY);
    assert_int_equal(v->bytes_len, 20);
    assert_memory_equal(v->bytes, sha1, 20);
    assert_string_equal(v->data, "3F1C9A0D5E7B2A4C6D8E0F1A2B3C4D5E6F708192");
    v = find(snap, "SHA256CertificateHash");
    assert_int_equal(v->bytes_len, 32);
    assert_int_equal(v->bytes[0], 0x01);
    assert_int_equal(v->bytes[31], 0x20);
    assert_int_equal(find(snap, "ListenerPort")->number, 443);
    proto_snapshot_destroy(snap);
}

static void test_values_under_a_subkey_carry_the_subkey(void **state)
{
    (void)state;
    struct proto_snapshot *snap = parse_fixture("text/reg-sstpsvc-s.txt", PROTO_OK);
    assert_int_equal(snap->registry_count, 7);
    assert_string_equal(find(snap, "UseHttps")->key, SSTP);
    assert_string_equal(find(snap, "Version")->key, SSTP "\\ConfigStore");
    const struct proto_reg_value *v = find(snap, "Blob");
    assert_int_equal(v->type, PROTO_REG_OTHER);
    assert_string_equal(v->data, "01ab");
    assert_int_equal(snap->error_count, 0);
    proto_snapshot_destroy(snap);
}

static void test_missing_key_is_not_found_with_an_error_entry(void **state)
{
    (void)state;
    struct proto_snapshot *snap = parse_fixture("text/reg-notfound.txt", PROTO_ENOTFOUND);
    assert_false(snap->registry_available);
    assert_int_equal(snap->registry_count, 0);
    assert_int_equal(snap->error_count, 1);
    assert_int_equal(snap->errors[0].code, PROTO_ENOTFOUND);
    assert_string_equal(snap->errors[0].source, SOURCE);
    assert_non_null(strstr(snap->errors[0].message, "unable to find"));
    proto_snapshot_destroy(snap);
}

static void test_empty_output_is_source_unavailable(void **state)
{
    (void)state;
    struct proto_snapshot *snap = proto_snapshot_create();
    assert_int_equal(proto_regquery_parse("", 0, SOURCE, snap), PROTO_EUNAVAILABLE);
    assert_int_equal(snap->error_count, 1);
    assert_int_equal(snap->errors[0].code, PROTO_EUNAVAILABLE);
    proto_snapshot_destroy(snap);
}

static void test_malformed_value_lines_are_skipped_with_one_error(void **state)
{
    (void)state;
    struct proto_snapshot *snap = parse_fixture("text/reg-malformed.txt", PROTO_OK);
    assert_true(snap->registry_available);
    assert_int_equal(snap->registry_count, 1);
    assert_string_equal(snap->registry[0].name, "ProhibitIpSec");
    assert_int_equal(snap->error_count, 1);
    assert_int_equal(snap->errors[0].code, PROTO_EPARSE);
    assert_non_null(strstr(snap->errors[0].message, "6 malformed"));
    assert_non_null(strstr(snap->errors[0].message, "line 2"));
    proto_snapshot_destroy(snap);
}

static void test_other_error_line_is_a_parse_error(void **state)
{
    (void)state;
    struct proto_snapshot *snap = proto_snapshot_create();
    const char *text = "ERROR: Invalid syntax.\r\nType \"REG QUERY /?\" for usage.\r\n";
    assert_int_equal(proto_regquery_parse(text, strlen(text), SOURCE, snap), PROTO_EPARSE);
    assert_non_null(strstr(snap->errors[0].message, "Invalid syntax"));
    proto_snapshot_destroy(snap);
}

static void test_text_without_a_key_line_is_a_parse_error(void **state)
{
    (void)state;
    struct proto_snapshot *snap = proto_snapshot_create();
    const char *text = "FEHLER: Der angegebene Registrierungsschl\xC3\xBCssel fehlt.\n";
    assert_int_equal(proto_regquery_parse(text, strlen(text), SOURCE, snap), PROTO_EPARSE);
    assert_false(snap->registry_available);
    proto_snapshot_destroy(snap);
}

static void test_abbreviated_root_is_a_key_line(void **state)
{
    (void)state;
    struct proto_snapshot *snap = proto_snapshot_create();
    const char *text = "HKLM\\System\\X\n    V    REG_DWORD    0xffffffff\n";
    assert_int_equal(proto_regquery_parse(text, strlen(text), SOURCE, snap), PROTO_OK);
    assert_int_equal(snap->registry_count, 1);
    assert_string_equal(snap->registry[0].key, "HKLM\\System\\X");
    assert_int_equal(snap->registry[0].number, 0xFFFFFFFFu);
    proto_snapshot_destroy(snap);
}

static void test_more_values_than_the_cap_fail_and_keep_none(void **state)
{
    (void)state;
    struct proto_buf b;
    proto_buf_init(&b, 1u << 24);
    assert_int_equal(proto_buf_append_str(&b, "HKEY_LOCAL_MACHINE\\X\n"), PROTO_OK);
    for (unsigned i = 0; i < PROTO_MAX_REG_VALUES + 1; i++) {
        assert_int_equal(proto_buf_appendf(&b, "    V%u    REG_DWORD    0x%x\n", i, i), PROTO_OK);
    }
    struct proto_snapshot *snap = proto_snapshot_create();
    assert_int_equal(proto_regquery_parse(b.data, b.len, SOURCE, snap), PROTO_ELIMIT);
    assert_int_equal(snap->registry_count, 0);
    assert_false(snap->registry_available);
    assert_int_equal(snap->errors[0].code, PROTO_ELIMIT);
    proto_snapshot_destroy(snap);
    proto_buf_free(&b);
}

static void test_every_allocation_failure_is_reported_and_keeps_no_values(void **state)
{
    (void)state;
    size_t len = 0;
    char *text = testutil_read(testutil_fixture("text/reg-rasman.txt"), &len);
    for (unsigned long n = 1; n < 500; n++) {
        struct proto_snapshot *snap = proto_snapshot_create();
        assert_non_null(snap);
        proto_alloc_fail_after(n);
        enum proto_rc rc = proto_regquery_parse(text, len, SOURCE, snap);
        proto_alloc_fail_after(0);
        if (rc == PROTO_OK) {
            assert_int_equal(snap->registry_count, 10);
            proto_snapshot_destroy(snap);
            free(text);
            return;
        }
        assert_int_equal(rc, PROTO_ENOMEM);
        assert_int_equal(snap->registry_count, 0);
        proto_snapshot_destroy(snap);
    }
    free(text);
    fail_msg("parse never succeeded");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prohibit_ipsec_dword_is_read_as_number_one),
        cmocka_unit_test(test_sz_name_and_data_with_spaces_are_kept_as_printed),
        cmocka_unit_test(test_default_value_is_named_default),
        cmocka_unit_test(test_multi_sz_is_split_on_backslash_zero),
        cmocka_unit_test(test_empty_data_and_qword_are_read),
        cmocka_unit_test(test_subkey_lines_without_values_add_nothing),
        cmocka_unit_test(test_binary_certificate_hash_is_decoded_to_bytes),
        cmocka_unit_test(test_values_under_a_subkey_carry_the_subkey),
        cmocka_unit_test(test_missing_key_is_not_found_with_an_error_entry),
        cmocka_unit_test(test_empty_output_is_source_unavailable),
        cmocka_unit_test(test_malformed_value_lines_are_skipped_with_one_error),
        cmocka_unit_test(test_other_error_line_is_a_parse_error),
        cmocka_unit_test(test_text_without_a_key_line_is_a_parse_error),
        cmocka_unit_test(test_abbreviated_root_is_a_key_line),
        cmocka_unit_test(test_more_values_than_the_cap_fail_and_keep_none),
        cmocka_unit_test(test_every_allocation_failure_is_reported_and_keeps_no_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
