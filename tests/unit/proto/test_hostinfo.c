/* test_hostinfo: host.txt parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "caps.h"
#include "hostinfo.h"
#include "testutil.h"

static enum proto_rc parse(const char *text, struct proto_host *host, unsigned *cp)
{
    return proto_hostinfo_parse(text, strlen(text), host, cp);
}

static void test_host_file_fills_every_known_member(void **state)
{
    (void)state;
    size_t len = 0;
    char *text = testutil_read(testutil_fixture("text/host.txt"), &len);
    struct proto_host host;
    memset(&host, 0, sizeof(host));
    unsigned cp = 437;
    assert_int_equal(proto_hostinfo_parse(text, len, &host, &cp), PROTO_OK);
    assert_string_equal(host.hostname, "RRAS01");
    assert_string_equal(host.fqdn, "rras01.corp.contoso.com");
    assert_string_equal(host.os, "Microsoft Windows Server 2019 Standard 10.0.17763");
    assert_string_equal(host.agent_version, "capture.ps1 1.0");
    assert_int_equal(host.collected_at, 1714558530); /* 2024-05-01T10:15:30Z */
    assert_int_equal(cp, 850);
    proto_host_clear(&host);
    free(text);
}

static void test_missing_codepage_leaves_the_callers_value(void **state)
{
    (void)state;
    struct proto_host host;
    memset(&host, 0, sizeof(host));
    unsigned cp = 437;
    assert_int_equal(parse("Hostname: A\n", &host, &cp), PROTO_OK);
    assert_int_equal(cp, 437);
    assert_int_equal(host.collected_at, 0);
    assert_null(host.fqdn);
    proto_host_clear(&host);
}

static void test_codepage_437_and_850_are_accepted_and_others_refused(void **state)
{
    (void)state;
    struct proto_host host;
    memset(&host, 0, sizeof(host));
    unsigned cp = 0;
    assert_int_equal(parse("OEMCodePage: 437\n", &host, &cp), PROTO_OK);
    assert_int_equal(cp, 437);
    assert_int_equal(parse("oemcodepage:850", &host, &cp), PROTO_OK);
    assert_int_equal(cp, 850);
    const char *bad[] = {"OEMCodePage: 1252\n", "OEMCodePage: 85O\n", "OEMCodePage:\n",
                         "OEMCodePage: -437\n", "OEMCodePage: 4370000000000000000000\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(bad[i], &host, &cp), PROTO_EPARSE);
        assert_int_equal(cp, 850);
    }
    proto_host_clear(&host);
}

static void test_keys_are_case_insensitive_and_values_trimmed(void **state)
{
    (void)state;
    struct proto_host host;
    memset(&host, 0, sizeof(host));
    assert_int_equal(parse("  hostNAME :\t rras02  \r\nfqdn:\r\n", &host, NULL), PROTO_OK);
    assert_string_equal(host.hostname, "rras02");
    assert_string_equal(host.fqdn, "");
    proto_host_clear(&host);
}

static void test_line_without_colon_fails_and_leaves_host_unchanged(void **state)
{
    (void)state;
    struct proto_host host;
    memset(&host, 0, sizeof(host));
    host.hostname = proto_strdup("OLD");
    host.collected_at = 7;
    unsigned cp = 437;
    assert_int_equal(parse("Hostname: NEW\nOEMCodePage: 850\nthis line has no colon\n", &host, &cp),
                     PROTO_EPARSE);
    assert_string_equal(host.hostname, "OLD");
    assert_int_equal(host.collected_at, 7);
    assert_int_equal(cp, 437);
    proto_host_clear(&host);
}

static void test_bad_collected_at_is_a_parse_error(void **state)
{
    (void)state;
    struct proto_host host;
    memset(&host, 0, sizeof(host));
    assert_int_equal(parse("CollectedAt: yesterday\n", &host, NULL), PROTO_EPARSE);
    assert_int_equal(parse("CollectedAt:\n", &host, NULL), PROTO_EPARSE);
    assert_int_equal(host.collected_at, 0);
    proto_host_clear(&host);
}

static void test_comments_blank_lines_and_unknown_keys_are_ignored(void **state)
{
    (void)state;
    struct proto_host host;
    memset(&host, 0, sizeof(host));
    assert_int_equal(parse("# no colon here\n\n   \nFuture: x\nOS: Windows\n", &host, NULL),
                     PROTO_OK);
    assert_string_equal(host.os, "Windows");
    assert_null(host.hostname);
    proto_host_clear(&host);
}

static void test_later_line_replaces_earlier_value(void **state)
{
    (void)state;
    struct proto_host host;
    memset(&host, 0, sizeof(host));
    host.hostname = proto_strdup("OLD");
    assert_int_equal(parse("Hostname: A\nHostname: B\n", &host, NULL), PROTO_OK);
    assert_string_equal(host.hostname, "B");
    proto_host_clear(&host);
}

static void test_value_over_the_name_cap_is_refused(void **state)
{
    (void)state;
    size_t len = PROTO_MAX_NAME + 20;
    char *text = malloc(len + 1);
    assert_non_null(text);
    memcpy(text, "OS: ", 4);
    memset(text + 4, 'x', len - 4);
    text[len] = '\0';
    struct proto_host host;
    memset(&host, 0, sizeof(host));
    assert_int_equal(proto_hostinfo_parse(text, len, &host, NULL), PROTO_ELIMIT);
    assert_null(host.os);
    free(text);
}

static void test_every_allocation_failure_is_reported_without_partial_host(void **state)
{
    (void)state;
    const char *text = "Hostname: A\nFQDN: a.b\nOS: W\nAgentVersion: 1\n";
    for (unsigned long n = 1; n < 50; n++) {
        struct proto_host host;
        memset(&host, 0, sizeof(host));
        proto_alloc_fail_after(n);
        enum proto_rc rc = parse(text, &host, NULL);
        proto_alloc_fail_after(0);
        if (rc == PROTO_OK) {
            assert_string_equal(host.agent_version, "1");
            proto_host_clear(&host);
            return;
        }
        assert_int_equal(rc, PROTO_ENOMEM);
        assert_null(host.hostname);
        assert_null(host.fqdn);
    }
    fail_msg("parse never succeeded");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_file_fills_every_known_member),
        cmocka_unit_test(test_missing_codepage_leaves_the_callers_value),
        cmocka_unit_test(test_codepage_437_and_850_are_accepted_and_others_refused),
        cmocka_unit_test(test_keys_are_case_insensitive_and_values_trimmed),
        cmocka_unit_test(test_line_without_colon_fails_and_leaves_host_unchanged),
        cmocka_unit_test(test_bad_collected_at_is_a_parse_error),
        cmocka_unit_test(test_comments_blank_lines_and_unknown_keys_are_ignored),
        cmocka_unit_test(test_later_line_replaces_earlier_value),
        cmocka_unit_test(test_value_over_the_name_cap_is_refused),
        cmocka_unit_test(test_every_allocation_failure_is_reported_without_partial_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
