/*
 * test_capture: the in-memory capture (agent/source/capture.c) and the portable half of the live
 * source. Every fixture bundle read as a capture gives the snapshot proto_bundle_read gives,
 * and written back out reads as the same bundle; host facts and registry values rendered as the
 * tools print them parse back to the same facts; netsh replayed through an injected runner is
 * parsed, and netsh that exits 0 with no output is "source unavailable", never "no rules";
 * crypt32's facts replace the DER's EKU and ride on the certificate; the command line netsh is
 * started with quotes as Windows reads it back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent_config.h"
#include "alloc.h"
#include "bundle.h"
#include "capture.h"
#include "diagnose.h"
#include "json.h"
#include "netsh.h"
#include "source.h"
#include "testutil.h"

#define MAX_BUNDLES 64
#define NO_OUTPUT_MESSAGE "netsh produced no output (source unavailable)"

/* ---- helpers ----------------------------------------------------------------------------- */

/* The snapshot and its host as one JSON text (caller frees with proto_free). */
static char *snapshot_json(const struct proto_snapshot *snap)
{
    cJSON *doc = proto_json_from_snapshot(snap);
    assert_non_null(doc);
    cJSON *host = proto_json_from_host(&snap->host);
    assert_non_null(host);
    assert_true(cJSON_AddItemToObject(doc, "host", host));
    char *text = cJSON_PrintUnformatted(doc);
    assert_non_null(text);
    cJSON_Delete(doc);
    return text;
}

static void assert_same_snapshot(const char *what, const struct proto_snapshot *a,
                                 const struct proto_snapshot *b)
{
    char *ja = snapshot_json(a);
    char *jb = snapshot_json(b);
    if (strcmp(ja, jb) != 0) {
        fail_msg("%s: snapshots differ:\n%s\n%s", what, ja, jb);
    }
    proto_free(ja);
    proto_free(jb);
}

/* The fixture bundles with an EXPECTED.txt, by name. */
static size_t fixture_bundles(char names[][128], size_t max)
{
    char root[4096];
    snprintf(root, sizeof(root), "%s", testutil_fixture("bundles"));
    DIR *d = opendir(root);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < max) {
        char path[4400];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s/EXPECTED.txt", root, de->d_name);
        size_t len = strlen(de->d_name);
        if (de->d_name[0] != '.' && stat(path, &st) == 0 && len < 128) {
            memcpy(names[n++], de->d_name, len + 1);
        }
    }
    closedir(d);
    assert_true(n >= 10);
    return n;
}

static const char *bundle_path(const char *name)
{
    static char path[4096];
    char relative[256];
    snprintf(relative, sizeof(relative), "bundles/%s", name);
    snprintf(path, sizeof(path), "%s", testutil_fixture(relative));
    return path;
}

static void make_tmp(char *dir, size_t size)
{
    snprintf(dir, size, "/tmp/rras-test-capture-XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static void assert_same_file(const char *a_dir, const char *b_dir, const char *name)
{
    char a[4400], b[4400];
    size_t a_len = 0, b_len = 0;
    snprintf(a, sizeof(a), "%s/%s", a_dir, name);
    snprintf(b, sizeof(b), "%s/%s", b_dir, name);
    char *da = testutil_read(a, &a_len);
    char *db = testutil_read(b, &b_len);
    if (a_len != b_len || memcmp(da, db, a_len) != 0) {
        fail_msg("%s differs between %s and %s", name, a_dir, b_dir);
    }
    free(da);
    free(db);
}

static const struct proto_error *find_error(const struct proto_snapshot *snap, const char *source)
{
    for (size_t i = 0; i < snap->error_count; i++) {
        if (strcmp(snap->errors[i].source, source) == 0) {
            return &snap->errors[i];
        }
    }
    return NULL;
}

static const struct proto_reg_value *find_reg(const struct proto_snapshot *snap, const char *name)
{
    for (size_t i = 0; i < snap->registry_count; i++) {
        if (strcmp(snap->registry[i].name, name) == 0) {
            return &snap->registry[i];
        }
    }
    return NULL;
}

/* A recorded netsh: answers each command with a fixture file (or nothing), or fails. */
struct replay {
    const char *consec_file;  /* NULL: empty output */
    const char *sslcert_file; /* NULL: empty output */
    enum proto_rc rc;         /* what to answer instead of output, PROTO_OK for output */
    uint32_t exit_code;
    unsigned calls;
    char last_command[256];
};

static enum proto_rc replay_run(void *ctx, const char *const *args, size_t arg_count,
                                size_t max_bytes, uint32_t timeout_ms,
                                struct agent_netsh_output *out, char *why, size_t why_size)
{
    struct replay *r = ctx;
    size_t used = 0;
    r->calls++;
    r->last_command[0] = '\0';
    for (size_t i = 0; i < arg_count; i++) {
        int n = snprintf(r->last_command + used, sizeof(r->last_command) - used, "%s%s",
                         i ? " " : "", args[i]);
        assert_true(n > 0 && (size_t)n < sizeof(r->last_command) - used);
        used += (size_t)n;
    }
    assert_int_equal(max_bytes, PROTO_MAX_TEXT_FILE_BYTES);
    assert_true(timeout_ms > 0);
    memset(out, 0, sizeof(*out));
    if (r->rc != PROTO_OK) {
        snprintf(why, why_size, "replayed failure");
        return r->rc;
    }
    const char *file = NULL;
    if (strcmp(r->last_command, "advfirewall consec show rule name=all verbose") == 0) {
        file = r->consec_file;
    } else if (strcmp(r->last_command, "http show sslcert") == 0) {
        file = r->sslcert_file;
    } else {
        fail_msg("unexpected netsh command: %s", r->last_command);
    }
    if (file != NULL) {
        size_t len = 0;
        char *text = testutil_read(file, &len);
        out->bytes = proto_malloc(len > 0 ? len : 1);
        assert_non_null(out->bytes);
        memcpy(out->bytes, text, len);
        out->len = len;
        free(text);
    }
    out->exit_code = r->exit_code;
    return PROTO_OK;
}

static struct agent_capture *new_capture(void)
{
    struct agent_capture *cap = agent_capture_create();
    assert_non_null(cap);
    return cap;
}

static struct proto_snapshot *capture_snapshot(const struct agent_capture *cap)
{
    struct proto_snapshot *snap = NULL;
    assert_int_equal(agent_capture_snapshot(cap, &snap), PROTO_OK);
    assert_non_null(snap);
    return snap;
}

/* The DER of the first certificate of a fixture bundle (caller frees with free()). */
static unsigned char *fixture_der(const char *bundle, size_t *len)
{
    struct proto_snapshot *snap = NULL;
    assert_int_equal(proto_bundle_read(bundle_path(bundle), &snap), PROTO_OK);
    assert_true(snap->cert_count > 0);
    *len = snap->certs[0].der_len;
    unsigned char *der = malloc(*len);
    assert_non_null(der);
    memcpy(der, snap->certs[0].der, *len);
    proto_snapshot_destroy(snap);
    return der;
}

/* ---- a bundle read as a capture ---------------------------------------------------------- */

static void test_every_fixture_bundle_read_as_a_capture_gives_the_bundles_snapshot(void **state)
{
    (void)state;
    char names[MAX_BUNDLES][128];
    size_t count = fixture_bundles(names, MAX_BUNDLES);
    for (size_t i = 0; i < count; i++) {
        const char *dir = bundle_path(names[i]);
        struct proto_snapshot *direct = NULL;
        struct agent_capture *cap = NULL;
        assert_int_equal(proto_bundle_read(dir, &direct), PROTO_OK);
        assert_int_equal(agent_capture_read_bundle(dir, &cap), PROTO_OK);
        struct proto_snapshot *via = capture_snapshot(cap);
        assert_same_snapshot(names[i], direct, via);
        proto_snapshot_destroy(via);
        proto_snapshot_destroy(direct);
        agent_capture_destroy(cap);
    }
}

static void test_a_capture_written_out_reads_back_as_the_same_bundle(void **state)
{
    (void)state;
    static const char *const files[] = {"host.txt", "netsh-consec.txt", "netsh-http-sslcert.txt",
                                        "reg-rasman.txt", "reg-sstpsvc.txt"};
    char names[MAX_BUNDLES][128];
    size_t count = fixture_bundles(names, MAX_BUNDLES);
    for (size_t i = 0; i < count; i++) {
        const char *dir = bundle_path(names[i]);
        char fixture[4096];
        snprintf(fixture, sizeof(fixture), "%s", dir);
        char tmp[64], out[128];
        make_tmp(tmp, sizeof(tmp));
        /* A folder that does not exist yet is made. */
        snprintf(out, sizeof(out), "%s/bundle", tmp);
        struct agent_capture *cap = NULL;
        char why[512] = "";
        assert_int_equal(agent_capture_read_bundle(fixture, &cap), PROTO_OK);
        if (agent_capture_write_bundle(cap, out, why, sizeof(why)) != PROTO_OK) {
            fail_msg("%s: %s", names[i], why);
        }
        struct proto_snapshot *original = NULL, *copy = NULL;
        assert_int_equal(proto_bundle_read(fixture, &original), PROTO_OK);
        assert_int_equal(proto_bundle_read(out, &copy), PROTO_OK);
        assert_same_snapshot(names[i], original, copy);
        /* The text files are the fixture's bytes exactly (UTF-16, cp850, CRLF and all). */
        for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
            char path[4400];
            struct stat st;
            snprintf(path, sizeof(path), "%s/%s", fixture, files[f]);
            if (stat(path, &st) == 0) {
                assert_same_file(fixture, out, files[f]);
            }
        }
        proto_snapshot_destroy(original);
        proto_snapshot_destroy(copy);
        agent_capture_destroy(cap);
        testutil_remove_tree(tmp);
    }
}

static void test_a_bundle_is_never_written_into_a_folder_that_holds_anything(void **state)
{
    (void)state;
    char tmp[64], path[128], why[512] = "";
    make_tmp(tmp, sizeof(tmp));
    snprintf(path, sizeof(path), "%s/old.txt", tmp);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fclose(f);
    struct agent_capture *cap = new_capture();
    assert_int_equal(agent_capture_write_bundle(cap, tmp, why, sizeof(why)), PROTO_EINVAL);
    assert_non_null(strstr(why, "not empty"));
    agent_capture_destroy(cap);
    testutil_remove_tree(tmp);
}

/* ---- netsh through the runner ------------------------------------------------------------ */

static void test_netsh_exiting_0_with_no_output_is_source_unavailable_never_no_rules(void **state)
{
    (void)state;
    struct replay r = {NULL, NULL, PROTO_OK, 0, 0, ""};
    struct agent_netsh_runner runner = {replay_run, &r};
    struct agent_capture *cap = new_capture();
    assert_int_equal(agent_capture_run_netsh(cap, &runner, 0), PROTO_OK);
    assert_int_equal(r.calls, 2);
    assert_true(cap->files[AGENT_CAPTURE_NETSH_CONSEC].has_exit_code);
    assert_int_equal(cap->files[AGENT_CAPTURE_NETSH_CONSEC].len, 0);
    struct proto_snapshot *snap = capture_snapshot(cap);
    assert_false(snap->rules_available);
    assert_int_equal(snap->rule_count, 0);
    assert_false(snap->ssl_bindings_available);
    const char *sources[] = {"netsh-consec.txt", "netsh-http-sslcert.txt"};
    for (size_t i = 0; i < 2; i++) {
        const struct proto_error *e = find_error(snap, sources[i]);
        assert_non_null(e);
        assert_int_equal(e->code, PROTO_EUNAVAILABLE);
        assert_string_equal(e->message, NO_OUTPUT_MESSAGE);
    }
    /* The bundle path says the same of the 0-byte files netsh leaves under Wine. */
    struct proto_snapshot *bundle = NULL;
    assert_int_equal(proto_bundle_read(bundle_path("empty-netsh-output"), &bundle), PROTO_OK);
    for (size_t i = 0; i < 2; i++) {
        const struct proto_error *e = find_error(bundle, sources[i]);
        assert_non_null(e);
        assert_int_equal(e->code, find_error(snap, sources[i])->code);
        assert_string_equal(e->message, find_error(snap, sources[i])->message);
    }
    /* No diagnosis takes the unread rules for "no rules". */
    struct proto_policy policy;
    memset(&policy, 0, sizeof(policy));
    policy.now = 1795564800;
    policy.expiry_days = 30;
    struct proto_diagnosis *diag = NULL;
    assert_int_equal(proto_diagnose(snap, &policy, &diag), PROTO_OK);
    for (size_t i = 0; i < diag->finding_count; i++) {
        assert_string_not_equal(diag->findings[i].id, "MANUAL_POLICY_NO_RULE");
    }
    proto_diagnosis_destroy(diag);
    proto_snapshot_destroy(bundle);
    proto_snapshot_destroy(snap);
    agent_capture_destroy(cap);
}

static void test_recorded_netsh_output_is_replayed_through_the_runner_and_parsed(void **state)
{
    (void)state;
    char consec[4400], sslcert[4400];
    snprintf(consec, sizeof(consec), "%s/netsh-consec.txt", bundle_path("resolution2-manual-rule"));
    snprintf(sslcert, sizeof(sslcert), "%s/netsh-http-sslcert.txt",
             bundle_path("resolution2-manual-rule"));
    struct replay r = {consec, sslcert, PROTO_OK, 0, 0, ""};
    struct agent_netsh_runner runner = {replay_run, &r};
    struct agent_capture *cap = new_capture();
    assert_int_equal(agent_capture_run_netsh(cap, &runner, 5000), PROTO_OK);
    assert_string_equal(r.last_command, "http show sslcert");
    struct proto_snapshot *snap = capture_snapshot(cap);
    struct proto_snapshot *bundle = NULL;
    assert_int_equal(proto_bundle_read(bundle_path("resolution2-manual-rule"), &bundle), PROTO_OK);
    assert_true(snap->rules_available);
    assert_int_equal(snap->rule_count, bundle->rule_count);
    assert_true(snap->rule_count > 0);
    assert_string_equal(snap->rules[0].field[PROTO_RULE_NAME],
                        bundle->rules[0].field[PROTO_RULE_NAME]);
    assert_true(snap->ssl_bindings_available);
    assert_int_equal(snap->ssl_binding_count, bundle->ssl_binding_count);
    assert_string_equal(snap->iphttps_cert_sha1, bundle->iphttps_cert_sha1);
    assert_null(find_error(snap, "netsh-consec.txt"));
    proto_snapshot_destroy(bundle);
    proto_snapshot_destroy(snap);

    /* "No rules match" exits 1: the exit code is kept, the text is data. */
    snprintf(consec, sizeof(consec), "%s/netsh-consec.txt", bundle_path("half-applied-no-rule"));
    struct replay none = {consec, sslcert, PROTO_OK, 1, 0, ""};
    runner.ctx = &none;
    assert_int_equal(agent_capture_run_netsh(cap, &runner, 0), PROTO_OK);
    assert_int_equal(cap->files[AGENT_CAPTURE_NETSH_CONSEC].exit_code, 1);
    snap = capture_snapshot(cap);
    assert_true(snap->rules_available);
    assert_int_equal(snap->rule_count, 0);
    proto_snapshot_destroy(snap);
    agent_capture_destroy(cap);
}

static void test_a_netsh_run_that_did_not_end_normally_is_never_parsed(void **state)
{
    (void)state;
    static const enum proto_rc failures[] = {PROTO_EUNAVAILABLE, PROTO_ELIMIT, PROTO_EIO};
    for (size_t i = 0; i < sizeof(failures) / sizeof(failures[0]); i++) {
        struct replay r = {NULL, NULL, failures[i], 0, 0, ""};
        struct agent_netsh_runner runner = {replay_run, &r};
        struct agent_capture *cap = new_capture();
        assert_int_equal(agent_capture_run_netsh(cap, &runner, 0), PROTO_OK);
        assert_false(cap->files[AGENT_CAPTURE_NETSH_CONSEC].has_exit_code);
        struct proto_snapshot *snap = capture_snapshot(cap);
        assert_false(snap->rules_available);
        const struct proto_error *e = find_error(snap, "netsh-consec.txt");
        assert_non_null(e);
        assert_int_equal(e->code, failures[i]);
        assert_string_equal(
            e->message, "netsh advfirewall consec show rule name=all verbose: replayed failure");
        proto_snapshot_destroy(snap);

        /* A part not read is not written: the reader then names it missing. */
        char tmp[64], why[512] = "", path[256];
        struct stat st;
        make_tmp(tmp, sizeof(tmp));
        assert_int_equal(agent_capture_write_bundle(cap, tmp, why, sizeof(why)), PROTO_OK);
        snprintf(path, sizeof(path), "%s/netsh-consec.txt", tmp);
        assert_int_not_equal(stat(path, &st), 0);
        testutil_remove_tree(tmp);
        agent_capture_destroy(cap);
    }
    /* Without a runner there is no netsh to run. */
    struct agent_capture *cap = new_capture();
    assert_int_equal(agent_capture_run_netsh(cap, NULL, 0), PROTO_OK);
    struct proto_snapshot *snap = capture_snapshot(cap);
    assert_int_equal(find_error(snap, "netsh-http-sslcert.txt")->code, PROTO_EUNSUPPORTED);
    proto_snapshot_destroy(snap);
    agent_capture_destroy(cap);
}

static void test_the_command_line_quotes_as_windows_reads_it_back(void **state)
{
    (void)state;
    static const struct {
        const char *arg;
        const char *quoted;
    } cases[] = {
        {"name=all", "name=all"},
        {"", "\"\""},
        {"name=L2TP Manual Rule", "\"name=L2TP Manual Rule\""},
        {"a\"b", "\"a\\\"b\""},
        {"C:\\dir\\", "C:\\dir\\"},
        {"C:\\my dir\\", "\"C:\\my dir\\\\\""},
        {"x\\\\\"y z", "\"x\\\\\\\\\\\"y z\""},
        {"back\\slash", "back\\slash"},
        {"caf\xc3\xa9", "caf\xc3\xa9"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct proto_buf out;
        proto_buf_init(&out, AGENT_NETSH_CMDLINE_MAX);
        const char *args[] = {"advfirewall", cases[i].arg};
        assert_int_equal(
            agent_netsh_command_line("C:\\Windows\\system32\\netsh.exe", args, 2, &out), PROTO_OK);
        char want[256];
        snprintf(want, sizeof(want), "\"C:\\Windows\\system32\\netsh.exe\" advfirewall %s",
                 cases[i].quoted);
        assert_string_equal(proto_buf_str(&out), want);
        proto_buf_free(&out);
    }
    struct proto_buf out;
    proto_buf_init(&out, 64);
    const char *bad_arg[] = {"line\nbreak"};
    assert_int_equal(agent_netsh_command_line("netsh.exe", bad_arg, 1, &out), PROTO_EINVAL);
    assert_int_equal(agent_netsh_command_line("net\"sh.exe", NULL, 0, &out), PROTO_EINVAL);
    const char *many[AGENT_NETSH_MAX_ARGS + 1];
    for (size_t i = 0; i < AGENT_NETSH_MAX_ARGS + 1; i++) {
        many[i] = "x";
    }
    assert_int_equal(agent_netsh_command_line("netsh.exe", many, AGENT_NETSH_MAX_ARGS + 1, &out),
                     PROTO_EINVAL);
    const char *long_arg[] = {"0123456789012345678901234567890123456789012345678901234567890123"};
    assert_int_equal(agent_netsh_command_line("netsh.exe", long_arg, 1, &out), PROTO_ELIMIT);
    proto_buf_free(&out);
}

/* ---- host facts and registry values, rendered and parsed back ---------------------------- */

static void test_host_facts_render_to_a_host_txt_that_parses_back(void **state)
{
    (void)state;
    struct agent_capture *cap = new_capture();
    struct proto_host host;
    memset(&host, 0, sizeof(host));
    host.hostname = "RRAS01";
    host.fqdn = "rras01.corp.contoso.com";
    host.os = "Microsoft Windows Server 2022\r\nFQDN: evil.example";
    host.agent_version = "9.9.9";
    host.collected_at = 1795564800;
    assert_int_equal(agent_capture_set_host(cap, &host, 850), PROTO_OK);
    struct proto_snapshot *snap = capture_snapshot(cap);
    assert_string_equal(snap->host.hostname, "RRAS01");
    assert_string_equal(snap->host.fqdn, "rras01.corp.contoso.com");
    /* A control character cannot start a line of its own. */
    assert_string_equal(snap->host.os, "Microsoft Windows Server 2022??FQDN: evil.example");
    assert_string_equal(snap->host.agent_version, "9.9.9");
    assert_int_equal(snap->host.collected_at, 1795564800);
    assert_null(find_error(snap, "host.txt"));
    proto_snapshot_destroy(snap);

    /* A code page the reader does not decode is recorded where the reader ignores it, and a
     * value longer than the reader takes is cut so the file still parses. */
    char *long_os = malloc(PROTO_MAX_NAME + 100);
    assert_non_null(long_os);
    memset(long_os, 'x', PROTO_MAX_NAME + 99);
    long_os[PROTO_MAX_NAME + 99] = '\0';
    host.os = long_os;
    host.collected_at = 0;
    assert_int_equal(agent_capture_set_host(cap, &host, 866), PROTO_OK);
    const struct agent_capture_file *f = &cap->files[AGENT_CAPTURE_HOST];
    assert_non_null(strstr((const char *)f->bytes, "\r\nSystemOEMCodePage: 866\r\n"));
    assert_null(strstr((const char *)f->bytes, "CollectedAt"));
    snap = capture_snapshot(cap);
    assert_null(find_error(snap, "host.txt"));
    assert_int_equal(strlen(snap->host.os), PROTO_MAX_NAME);
    assert_int_equal(snap->host.collected_at, 0);
    proto_snapshot_destroy(snap);
    free(long_os);
    agent_capture_destroy(cap);
}

static void add_value(struct proto_reg_value *values, size_t *count, const char *key,
                      const char *name, enum proto_reg_type type, const void *data, size_t len)
{
    memset(&values[*count], 0, sizeof(values[*count]));
    assert_int_equal(agent_capture_reg_value(key, name, type, data, len, &values[*count]),
                     PROTO_OK);
    (*count)++;
}

static void test_registry_values_print_as_reg_query_and_parse_back(void **state)
{
    (void)state;
    struct agent_capture *cap = new_capture();
    struct proto_reg_value values[8];
    size_t count = 0;
    const unsigned char one[4] = {1, 0, 0, 0};
    const unsigned char big[8] = {0, 0, 0, 0, 1, 0, 0, 0};
    const unsigned char weak[4] = {0, 0, 0, 0};
    const char multi[] = "rastapi\0pptp\0"; /* two items and the list's end */
    add_value(values, &count, AGENT_CAPTURE_KEY_RASMAN, "ProhibitIpSec", PROTO_REG_DWORD, one, 4);
    add_value(values, &count, AGENT_CAPTURE_KEY_RASMAN, "AllowL2TPWeakCrypto", PROTO_REG_DWORD,
              weak, 4);
    add_value(values, &count, AGENT_CAPTURE_KEY_RASMAN, "Big", PROTO_REG_QWORD, big, 8);
    add_value(values, &count, AGENT_CAPTURE_KEY_RASMAN, "Medias", PROTO_REG_MULTI_SZ, multi,
              sizeof(multi) - 1);
    add_value(values, &count, AGENT_CAPTURE_KEY_RASMAN, "ServiceDll", PROTO_REG_EXPAND_SZ,
              "%SystemRoot%\\System32\\rasmans.dll", 33);
    add_value(values, &count, AGENT_CAPTURE_KEY_RASMAN, "", PROTO_REG_SZ, "two\nlines\0ignored",
              17);
    assert_int_equal(agent_capture_set_registry(cap, AGENT_CAPTURE_REG_RASMAN,
                                                AGENT_CAPTURE_KEY_RASMAN, values, count, NULL),
                     PROTO_OK);
    for (size_t i = 0; i < count; i++) {
        proto_reg_value_clear(&values[i]);
    }
    count = 0;
    const unsigned char sha1[20] = {0x6E, 0xFF, 0x9D, 0x78, 0x53, 0xFB, 0x6E, 0xDF, 0x9A, 0x1A,
                                    0x23, 0x28, 0x17, 0xDB, 0x34, 0xDA, 0x93, 0x34, 0xF2, 0x96};
    add_value(values, &count, AGENT_CAPTURE_KEY_SSTPSVC, "SHA1CertificateHash", PROTO_REG_BINARY,
              sha1, sizeof(sha1));
    assert_int_equal(agent_capture_set_registry(cap, AGENT_CAPTURE_REG_SSTPSVC,
                                                AGENT_CAPTURE_KEY_SSTPSVC, values, count, NULL),
                     PROTO_OK);
    proto_reg_value_clear(&values[0]);
    /* A PolicyAgent key without the value: the key is there, nothing under it. */
    assert_int_equal(agent_capture_set_registry(cap, AGENT_CAPTURE_REG_POLICYAGENT,
                                                AGENT_CAPTURE_KEY_POLICYAGENT, NULL, 0, NULL),
                     PROTO_OK);

    struct proto_snapshot *snap = capture_snapshot(cap);
    assert_true(snap->registry_available);
    assert_true(snap->prohibit_ipsec.present);
    assert_int_equal(snap->prohibit_ipsec.value, 1);
    assert_true(snap->allow_l2tp_weak_crypto.present);
    assert_int_equal(snap->allow_l2tp_weak_crypto.value, 0);
    assert_string_equal(find_reg(snap, "ProhibitIpSec")->data, "0x1");
    assert_string_equal(find_reg(snap, "Big")->data, "0x100000000");
    assert_int_equal(find_reg(snap, "Big")->number, 0x100000000ull);
    const struct proto_reg_value *m = find_reg(snap, "Medias");
    assert_string_equal(m->data, "rastapi\\0pptp");
    assert_int_equal(m->multi.count, 2);
    assert_string_equal(m->multi.items[1], "pptp");
    assert_string_equal(find_reg(snap, "ServiceDll")->data, "%SystemRoot%\\System32\\rasmans.dll");
    assert_string_equal(find_reg(snap, "(Default)")->data, "two?lines");
    assert_string_equal(find_reg(snap, "SHA1CertificateHash")->data,
                        "6EFF9D7853FB6EDF9A1A232817DB34DA9334F296");
    assert_string_equal(snap->sstp_cert_sha1, "6EFF9D7853FB6EDF9A1A232817DB34DA9334F296");
    assert_int_equal(snap->registry_count, 7);
    for (size_t i = 0; i < snap->error_count; i++) {
        if (strncmp(snap->errors[i].source, "reg-", 4) == 0) {
            fail_msg("unexpected error %s: %s", snap->errors[i].source, snap->errors[i].message);
        }
    }
    proto_snapshot_destroy(snap);
    agent_capture_destroy(cap);
}

static void test_a_missing_key_reads_as_reg_exe_says_it(void **state)
{
    (void)state;
    struct agent_capture *cap = new_capture();
    assert_int_equal(agent_capture_set_registry(cap, AGENT_CAPTURE_REG_SSTPSVC,
                                                AGENT_CAPTURE_KEY_SSTPSVC, NULL, 0,
                                                AGENT_CAPTURE_REG_NOT_FOUND),
                     PROTO_OK);
    struct proto_snapshot *snap = capture_snapshot(cap);
    struct proto_snapshot *bundle = NULL;
    assert_int_equal(proto_bundle_read(bundle_path("sstp-not-installed"), &bundle), PROTO_OK);
    const struct proto_error *live = find_error(snap, "reg-sstpsvc.txt");
    const struct proto_error *file = find_error(bundle, "reg-sstpsvc.txt");
    assert_non_null(live);
    assert_non_null(file);
    assert_int_equal(live->code, PROTO_ENOTFOUND);
    assert_int_equal(live->code, file->code);
    assert_string_equal(live->message, file->message);
    proto_snapshot_destroy(bundle);
    proto_snapshot_destroy(snap);
    agent_capture_destroy(cap);
}

static void test_a_value_too_long_for_one_line_is_refused_for_the_caller_to_note(void **state)
{
    (void)state;
    struct proto_reg_value v;
    memset(&v, 0, sizeof(v));
    unsigned char *data = calloc(1, 5000);
    assert_non_null(data);
    assert_int_equal(
        agent_capture_reg_value(AGENT_CAPTURE_KEY_RASMAN, "Blob", PROTO_REG_BINARY, data, 5000, &v),
        PROTO_ELIMIT);
    proto_reg_value_clear(&v);
    memset(&v, 0, sizeof(v));
    assert_int_equal(
        agent_capture_reg_value(AGENT_CAPTURE_KEY_RASMAN, "Blob", PROTO_REG_BINARY, data, 4000, &v),
        PROTO_OK);
    proto_reg_value_clear(&v);
    free(data);

    struct agent_capture *cap = new_capture();
    assert_int_equal(agent_capture_set_registry(cap, AGENT_CAPTURE_REG_RASMAN,
                                                AGENT_CAPTURE_KEY_RASMAN, NULL, 0, NULL),
                     PROTO_OK);
    assert_int_equal(agent_capture_note(cap, "reg-rasman.txt", PROTO_ELIMIT,
                                        "registry value %d is too long to print; skipped", 3),
                     PROTO_OK);
    struct proto_snapshot *snap = capture_snapshot(cap);
    const struct proto_error *e = find_error(snap, "reg-rasman.txt");
    assert_non_null(e);
    assert_string_equal(e->message, "registry value 3 is too long to print; skipped");
    assert_true(snap->registry_available);
    proto_snapshot_destroy(snap);
    agent_capture_destroy(cap);
}

/* ---- certificates and crypt32's facts ---------------------------------------------------- */

static void test_crypt32s_eku_replaces_the_ders_and_its_facts_ride_on_the_certificate(void **state)
{
    (void)state;
    size_t len = 0;
    /* vpn.contoso.com: Server Authentication, issued by corp-DC1-CA. */
    unsigned char *der = fixture_der("resolution1-single-cert", &len);
    struct agent_capture *cap = new_capture();
    agent_capture_store_read(cap);
    struct agent_capture_cert *c = NULL;
    /* 0: crypt32 says "no valid use" (an EKU property that excludes everything). */
    assert_int_equal(agent_capture_add_cert(cap, der, len, true, &c), PROTO_OK);
    c->win_eku_known = true;
    c->win.present = true;
    c->win.key_confirmed = PROTO_TRI_NO;
    c->win.chain_root = proto_strdup("DC=com, DC=contoso, DC=corp, CN=corp-DC1-CA");
    c->win.has_chain_status = true;
    c->win.chain_error_status = 0x20;
    c->win.template_name = proto_strdup("Machine");
    /* 1: crypt32 says "every use". */
    assert_int_equal(agent_capture_add_cert(cap, der, len, true, &c), PROTO_OK);
    c->win_eku_known = true;
    c->win_eku_any = true;
    /* 2: another certificate without Windows facts: the DER's EKU stands. */
    size_t other_len = 0;
    unsigned char *other = fixture_der("kb-787-wildcard-first", &other_len);
    assert_int_equal(agent_capture_add_cert(cap, other, other_len, false, &c), PROTO_OK);
    free(other);

    struct proto_snapshot *snap = capture_snapshot(cap);
    assert_int_equal(snap->cert_count, 3);
    const struct proto_cert *none = &snap->certs[0], *any = &snap->certs[1],
                            *plain = &snap->certs[2];
    assert_true(none->has_eku);
    assert_int_equal(none->eku.count, 0);
    assert_true(none->win.present);
    assert_true(none->win.eku_effective);
    assert_int_equal(none->win.key_confirmed, PROTO_TRI_NO);
    assert_string_equal(none->win.chain_root, "DC=com, DC=contoso, DC=corp, CN=corp-DC1-CA");
    assert_int_equal(none->win.chain_error_status, 0x20);
    assert_string_equal(none->win.template_name, "Machine");
    assert_non_null(proto_diagnose_ineligible_reason(none, 1795564800));
    assert_false(any->has_eku);
    assert_true(any->win.eku_effective);
    assert_false(plain->win.present);
    assert_true(plain->has_eku);
    assert_true(proto_strv_contains(&plain->eku, PROTO_OID_SERVER_AUTH));
    assert_false(plain->has_private_key);
    assert_int_equal(plain->store_index, 2);

    /* The report carries them under "windows", and only for the live source's certificates. */
    cJSON *doc = proto_json_from_cert(none);
    const cJSON *win = cJSON_GetObjectItemCaseSensitive(doc, "windows");
    assert_non_null(win);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(win, "key_confirmed")));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(win, "template")->valuestring, "Machine");
    cJSON_Delete(doc);
    doc = proto_json_from_cert(plain);
    assert_null(cJSON_GetObjectItemCaseSensitive(doc, "windows"));
    cJSON_Delete(doc);

    /* A bundle holds DER only: written out and read back, the DER's facts return. */
    char tmp[64], why[512] = "";
    make_tmp(tmp, sizeof(tmp));
    assert_int_equal(agent_capture_write_bundle(cap, tmp, why, sizeof(why)), PROTO_OK);
    struct proto_snapshot *back = NULL;
    assert_int_equal(proto_bundle_read(tmp, &back), PROTO_OK);
    assert_int_equal(back->cert_count, 3);
    assert_false(back->certs[0].win.present);
    assert_true(proto_strv_contains(&back->certs[0].eku, PROTO_OID_SERVER_AUTH));
    assert_true(back->certs[0].has_private_key);
    assert_false(back->certs[2].has_private_key);
    proto_snapshot_destroy(back);
    testutil_remove_tree(tmp);

    proto_snapshot_destroy(snap);
    agent_capture_destroy(cap);
    free(der);
}

static void test_an_empty_store_is_a_store_and_an_unread_one_is_an_error(void **state)
{
    (void)state;
    struct agent_capture *cap = new_capture();
    struct proto_snapshot *snap = capture_snapshot(cap);
    assert_false(snap->certs_available);
    assert_string_equal(find_error(snap, "LocalMachine-My")->message,
                        "certificate store folder not in the bundle");
    proto_snapshot_destroy(snap);
    assert_int_equal(agent_capture_fail(&cap->store, PROTO_EIO,
                                        "cannot open LocalMachine\\My (Windows error %d)", 5),
                     PROTO_OK);
    snap = capture_snapshot(cap);
    assert_string_equal(find_error(snap, "LocalMachine-My")->message,
                        "cannot open LocalMachine\\My (Windows error 5)");
    proto_snapshot_destroy(snap);
    agent_capture_store_read(cap);
    snap = capture_snapshot(cap);
    assert_true(snap->certs_available);
    assert_int_equal(snap->cert_count, 0);
    assert_null(find_error(snap, "LocalMachine-My"));
    assert_null(find_error(snap, "LocalMachine-My/private-keys.txt"));
    proto_snapshot_destroy(snap);
    agent_capture_destroy(cap);
}

/* ---- the source setting ------------------------------------------------------------------ */

static void test_live_is_a_source_kind_of_its_own_read_only_on_windows(void **state)
{
    (void)state;
    struct agent_config cfg;
    const char *dir = "unchanged";
    memset(&cfg, 0, sizeof(cfg));
    snprintf(cfg.source, sizeof(cfg.source), "%s", AGENT_CONFIG_SOURCE_LIVE);
    assert_int_equal(agent_config_bundle_dir(&cfg, &dir), PROTO_EUNSUPPORTED);
    assert_null(dir);
    snprintf(cfg.source, sizeof(cfg.source), "bundle:live");
    assert_int_equal(agent_config_bundle_dir(&cfg, &dir), PROTO_OK);
    assert_string_equal(dir, "live");
#ifndef _WIN32
    struct proto_snapshot *snap = NULL;
    assert_false(agent_source_live_available());
    assert_int_equal(agent_source_read_live(0, &snap), PROTO_EUNSUPPORTED);
    assert_null(snap);
    snprintf(cfg.source, sizeof(cfg.source), "%s", AGENT_CONFIG_SOURCE_LIVE);
    assert_int_equal(agent_source_read(&cfg, &snap), PROTO_EUNSUPPORTED);
    assert_null(snap);
    struct agent_capture *cap = NULL;
    struct agent_capture_live_options opts = {0, NULL, 0, false};
    assert_int_equal(agent_capture_live(&opts, &cap), PROTO_EUNSUPPORTED);
    assert_null(cap);
#else
    assert_true(agent_source_live_available());
#endif
}

/* ---- out of memory ----------------------------------------------------------------------- */

static void test_every_allocation_failure_is_reported(void **state)
{
    (void)state;
    const char *dir = bundle_path("kb-787-wildcard-first");
    for (unsigned long n = 1;; n++) {
        struct agent_capture *cap = NULL;
        struct proto_snapshot *snap = NULL;
        proto_alloc_fail_after(n);
        enum proto_rc rc = agent_capture_read_bundle(dir, &cap);
        if (rc == PROTO_OK) {
            rc = agent_capture_snapshot(cap, &snap);
        }
        proto_alloc_fail_after(0);
        agent_capture_destroy(cap);
        proto_snapshot_destroy(snap);
        if (rc == PROTO_OK) {
            break;
        }
        assert_int_equal(rc, PROTO_ENOMEM);
        assert_true(n < 100000);
    }
}

int main(void)
{
    proto_alloc_install_cjson_hooks();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_fixture_bundle_read_as_a_capture_gives_the_bundles_snapshot),
        cmocka_unit_test(test_a_capture_written_out_reads_back_as_the_same_bundle),
        cmocka_unit_test(test_a_bundle_is_never_written_into_a_folder_that_holds_anything),
        cmocka_unit_test(test_netsh_exiting_0_with_no_output_is_source_unavailable_never_no_rules),
        cmocka_unit_test(test_recorded_netsh_output_is_replayed_through_the_runner_and_parsed),
        cmocka_unit_test(test_a_netsh_run_that_did_not_end_normally_is_never_parsed),
        cmocka_unit_test(test_the_command_line_quotes_as_windows_reads_it_back),
        cmocka_unit_test(test_host_facts_render_to_a_host_txt_that_parses_back),
        cmocka_unit_test(test_registry_values_print_as_reg_query_and_parse_back),
        cmocka_unit_test(test_a_missing_key_reads_as_reg_exe_says_it),
        cmocka_unit_test(test_a_value_too_long_for_one_line_is_refused_for_the_caller_to_note),
        cmocka_unit_test(test_crypt32s_eku_replaces_the_ders_and_its_facts_ride_on_the_certificate),
        cmocka_unit_test(test_an_empty_store_is_a_store_and_an_unread_one_is_an_error),
        cmocka_unit_test(test_live_is_a_source_kind_of_its_own_read_only_on_windows),
        cmocka_unit_test(test_every_allocation_failure_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
