/*
 * Reads every capture bundle under tests/fixtures/bundles and checks the diagnosis against the
 * bundle's EXPECTED.txt (predicted certificate CN, exact set of finding ids, error sources, and
 * secrets that must never appear in the report). Policy: expected CA corp-DC1-CA, now
 * 2026-11-25T00:00:00Z, 30-day horizon, as the fixture README states.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>

#include "alloc.h"
#include "bundle.h"
#include "diagnose.h"
#include "json.h"
#include "testutil.h"

#define NOW 1795564800
#define CORP_CA "DC=com, DC=contoso, DC=corp, CN=corp-DC1-CA"
#define MAX_EXPECT 32

struct expected {
    char predicted[256];
    char findings[MAX_EXPECT][64];
    size_t finding_count;
    char errors[MAX_EXPECT][128];
    size_t error_count;
    char secrets[MAX_EXPECT][128];
    size_t secret_count;
};

static void read_expected(const char *dir, struct expected *e)
{
    char path[8192];
    int n = snprintf(path, sizeof(path), "%s/EXPECTED.txt", dir);
    assert_true(n > 0 && (size_t)n < sizeof(path));
    memset(e, 0, sizeof(*e));
    char *text = testutil_read(path, NULL);
    char *save = NULL;
    for (char *line = strtok_r(text, "\r\n", &save); line != NULL;
         line = strtok_r(NULL, "\r\n", &save)) {
        if (strncmp(line, "predicted: ", 11) == 0) {
            snprintf(e->predicted, sizeof(e->predicted), "%s", line + 11);
        } else if (strncmp(line, "finding: ", 9) == 0 && e->finding_count < MAX_EXPECT) {
            snprintf(e->findings[e->finding_count++], 64, "%s", line + 9);
        } else if (strncmp(line, "error: ", 7) == 0 && e->error_count < MAX_EXPECT) {
            snprintf(e->errors[e->error_count++], 128, "%s", line + 7);
        } else if (strncmp(line, "secret: ", 8) == 0 && e->secret_count < MAX_EXPECT) {
            snprintf(e->secrets[e->secret_count++], 128, "%s", line + 8);
        }
    }
    free(text);
}

/* Every expected id is present and every present id is expected (ids may repeat per cert). */
static void check_findings(const char *name, const struct expected *e,
                           const struct proto_diagnosis *d)
{
    for (size_t i = 0; i < e->finding_count; i++) {
        bool seen = false;
        for (size_t j = 0; j < d->finding_count; j++) {
            seen = seen || strcmp(d->findings[j].id, e->findings[i]) == 0;
        }
        if (!seen) {
            fail_msg("%s: expected finding %s is missing", name, e->findings[i]);
        }
    }
    for (size_t j = 0; j < d->finding_count; j++) {
        bool expected = false;
        for (size_t i = 0; i < e->finding_count; i++) {
            expected = expected || strcmp(d->findings[j].id, e->findings[i]) == 0;
        }
        if (!expected) {
            fail_msg("%s: unexpected finding %s: %s", name, d->findings[j].id,
                     d->findings[j].message);
        }
    }
}

static void check_one_bundle(const char *name, const char *dir, const struct proto_policy *policy)
{
    struct expected e;
    read_expected(dir, &e);
    struct proto_snapshot *snap = NULL;
    assert_int_equal(proto_bundle_read(dir, &snap), PROTO_OK);
    struct proto_diagnosis *d = NULL;
    assert_int_equal(proto_diagnose(snap, policy, &d), PROTO_OK);

    if (strcmp(e.predicted, "none") == 0) {
        if (d->predicted >= 0) {
            fail_msg("%s: expected no predicted certificate", name);
        }
    } else {
        if (d->predicted < 0) {
            fail_msg("%s: expected predicted %s, got none", name, e.predicted);
        }
        const char *cn = proto_dn_get(&snap->certs[d->predicted].subject, "CN");
        if (cn == NULL || strcmp(cn, e.predicted) != 0) {
            fail_msg("%s: predicted %s, expected %s", name, cn ? cn : "(no CN)", e.predicted);
        }
    }
    check_findings(name, &e, d);
    for (size_t i = 0; i < e.error_count; i++) {
        bool seen = false;
        for (size_t j = 0; j < snap->error_count; j++) {
            seen = seen || strcmp(snap->errors[j].source, e.errors[i]) == 0;
        }
        if (!seen) {
            fail_msg("%s: expected an error entry for %s", name, e.errors[i]);
        }
    }

    /* Secrets: not in the report JSON, whatever field they might hide in. */
    struct proto_report *report = proto_report_create();
    assert_non_null(report);
    proto_snapshot_destroy(report->snapshot);
    report->snapshot = snap;
    snprintf(report->report_id, sizeof(report->report_id), "00000000-0000-4000-8000-000000000000");
    if (snap->host.fqdn == NULL) {
        snap->host.fqdn = proto_strdup("unknown.invalid");
    }
    char *json = NULL;
    assert_int_equal(proto_json_encode_report(report, 0, &json, NULL), PROTO_OK);
    for (size_t i = 0; i < e.secret_count; i++) {
        if (strstr(json, e.secrets[i]) != NULL) {
            fail_msg("%s: secret %s leaked into the report", name, e.secrets[i]);
        }
    }
    proto_free(json);
    proto_report_destroy(report);
    proto_diagnosis_destroy(d);
}

static void test_every_fixture_bundle_gives_its_expected_diagnosis(void **state)
{
    (void)state;
    struct proto_policy policy = {.now = NOW, .expiry_days = 30, .has_expected_ca = true};
    assert_int_equal(proto_dn_parse(CORP_CA, &policy.expected_ca), PROTO_OK);

    char root[4096];
    snprintf(root, sizeof(root), "%s", testutil_fixture("bundles"));
    DIR *dir = opendir(root);
    assert_non_null(dir);
    size_t checked = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }
        char path[4096 + 256];
        snprintf(path, sizeof(path), "%s/%s", root, de->d_name);
        char expected[sizeof(path) + 16];
        snprintf(expected, sizeof(expected), "%s/EXPECTED.txt", path);
        FILE *f = fopen(expected, "r");
        if (f == NULL) {
            continue;
        }
        fclose(f);
        check_one_bundle(de->d_name, path, &policy);
        checked++;
    }
    closedir(dir);
    print_message("checked %lu bundles\n", (unsigned long)checked);
    assert_true(checked >= 12);
    proto_policy_clear(&policy);
}

static void test_kb_bundle_predicts_the_wildcard(void **state)
{
    (void)state;
    struct proto_snapshot *snap = NULL;
    assert_int_equal(proto_bundle_read(testutil_fixture("bundles/kb-787-wildcard-first"), &snap),
                     PROTO_OK);
    assert_true(snap->cert_count >= 2);
    assert_true(snap->certs[0].wildcard);
    assert_true(snap->certs[0].has_private_key);
    assert_false(snap->prohibit_ipsec.present);
    assert_true(snap->rules_available);
    assert_int_equal(snap->rule_count, 0);
    assert_string_equal(snap->iphttps_cert_sha1, snap->certs[0].sha1);
    proto_snapshot_destroy(snap);
}

static void test_a_folder_that_does_not_exist_is_not_found(void **state)
{
    (void)state;
    struct proto_snapshot *snap = NULL;
    assert_int_equal(proto_bundle_read("/nonexistent/rrasfleet/bundle", &snap), PROTO_ENOTFOUND);
    assert_null(snap);
}

static void test_out_of_memory_while_reading_a_bundle_fails_cleanly(void **state)
{
    (void)state;
    const char *dir = testutil_fixture("bundles/kb-787-wildcard-first");
    enum proto_rc rc = PROTO_ENOMEM;
    unsigned long n;
    for (n = 1; rc != PROTO_OK && n < 100000; n++) {
        struct proto_snapshot *snap = NULL;
        proto_alloc_fail_after(n);
        rc = proto_bundle_read(dir, &snap);
        proto_alloc_fail_after(0);
        if (rc != PROTO_OK) {
            assert_int_equal(rc, PROTO_ENOMEM);
            assert_null(snap);
        }
        proto_snapshot_destroy(snap);
    }
    assert_int_equal(rc, PROTO_OK);
    print_message("bundle read survived %lu failing allocation points\n", n - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_fixture_bundle_gives_its_expected_diagnosis),
        cmocka_unit_test(test_kb_bundle_predicts_the_wildcard),
        cmocka_unit_test(test_a_folder_that_does_not_exist_is_not_found),
        cmocka_unit_test(test_out_of_memory_while_reading_a_bundle_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
