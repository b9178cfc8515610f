/*
 * test_run_remediation: the run loop's remediation online (agent/run.c with agent/remediate):
 * an acknowledgement naming a pending profile is fetched, run on a scratch copy of the
 * kb-787-wildcard-first bundle (the simulated host) and its result spooled and sent.
 *
 * The transport is scripted (reports, results and the profile fetch), the clock is fixed, the
 * spools are the real ones in a temporary folder, and envelopes are sealed with keys made here.
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
#include <unistd.h>

#include "agent_config.h"
#include "alloc.h"
#include "bundle.h"
#include "fix.h"
#include "remediate.h"
#include "run.h"
#include "sign.h"
#include "spool.h"
#include "testutil.h"
#include "wire_envelope.h"
#include "wire_result.h"

#define NOW 1795564800 /* 2026-11-25T00:00:00Z */
#define HOUR 3600
#define CORP_CA "DC=com, DC=contoso, DC=corp, CN=corp-DC1-CA"
#define FIXTURE "bundles/kb-787-wildcard-first"
#define PROFILE_ID "0b6c1f2e-8a55-4f7e-9d38-1c2a3b4c5d6e"
#define MAX_CALLS 16

struct fake {
    char dir[64];
    char bundle[128];
    char state[128];
    char spool_dir[128];
    char results_dir[192];
    char pub[2][160];
    struct proto_sign_key *sign[2];
    /* transport script */
    const char *pending; /* every report acknowledgement names it ("" none) */
    size_t reports;
    size_t fetches;
    enum agent_send_outcome result_answers[MAX_CALLS];
    size_t result_sends;
    char *result_bodies[MAX_CALLS];
    char *envelope; /* what the fetch returns */
    size_t envelope_len;
    /* the rest */
    struct agent_config cfg;
    struct proto_conf conf;
    struct agent_spool *spool, *results;
    struct agent_run *run;
    FILE *log;
    char *log_text;
    size_t log_size;
};

static enum proto_rc fake_send(void *ctx, const char *body, size_t len,
                               struct agent_send_result *res)
{
    struct fake *f = ctx;
    (void)body;
    (void)len;
    f->reports++;
    memset(res, 0, sizeof(*res));
    res->outcome = AGENT_SEND_ACKED;
    res->http_status = 202;
    snprintf(res->pending_profile, sizeof(res->pending_profile), "%s", f->pending);
    return PROTO_OK;
}

static enum proto_rc fake_send_result(void *ctx, const char *body, size_t len,
                                      struct agent_send_result *res)
{
    struct fake *f = ctx;
    assert_true(f->result_sends < MAX_CALLS);
    f->result_bodies[f->result_sends] = strndup(body, len);
    enum agent_send_outcome o = f->result_answers[f->result_sends++];
    memset(res, 0, sizeof(*res));
    res->outcome = o;
    res->http_status = o == AGENT_SEND_ACKED ? 202 : o == AGENT_SEND_RETRY ? 503 : 404;
    return PROTO_OK;
}

static enum proto_rc fake_fetch(void *ctx, const char *id, char **body, size_t *len,
                                struct agent_send_result *res)
{
    struct fake *f = ctx;
    f->fetches++;
    assert_string_equal(id, PROFILE_ID);
    memset(res, 0, sizeof(*res));
    res->outcome = AGENT_SEND_ACKED;
    res->http_status = 200;
    *body = proto_malloc(f->envelope_len + 1);
    assert_non_null(*body);
    memcpy(*body, f->envelope, f->envelope_len + 1);
    *len = f->envelope_len;
    return PROTO_OK;
}

static int64_t fake_now_s(void *ctx)
{
    (void)ctx;
    return NOW;
}

static uint64_t fake_mono_ms(void *ctx)
{
    (void)ctx;
    return 1000;
}

static void fake_sleep_ms(void *ctx, uint64_t ms, volatile sig_atomic_t *stop)
{
    (void)ctx;
    (void)ms;
    (void)stop;
}

/* ---- files ---------------------------------------------------------------------------------- */

static bool same_file(const char *a, const char *b)
{
    size_t la = 0, lb = 0;
    char *da = testutil_read(a, &la);
    char *db = testutil_read(b, &lb);
    bool same = la == lb && memcmp(da, db, la) == 0;
    free(da);
    free(db);
    return same;
}

static bool bundle_unchanged(const struct fake *f, const char *name)
{
    char a[1024], b[1024];
    snprintf(a, sizeof(a), "%s/%s", testutil_fixture(FIXTURE), name);
    snprintf(b, sizeof(b), "%s/%s", f->bundle, name);
    return same_file(a, b);
}

/* ---- setup ---------------------------------------------------------------------------------- */

static void set(struct fake *f, const char *key, const char *value)
{
    char err[256];
    if (proto_conf_set(&f->conf, key, value, PROTO_CONF_FROM_FLAG, err, sizeof(err)) != PROTO_OK) {
        fail_msg("%s", err);
    }
}

static int setup(void **state)
{
    struct fake *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    memcpy(f->dir, "/tmp/test_runrem.XXXXXX", sizeof("/tmp/test_runrem.XXXXXX"));
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->bundle, sizeof(f->bundle), "%s/bundle", f->dir);
    snprintf(f->state, sizeof(f->state), "%s/state", f->dir);
    snprintf(f->spool_dir, sizeof(f->spool_dir), "%s/spool", f->dir);
    snprintf(f->results_dir, sizeof(f->results_dir), "%s/results-spool", f->state);
    testutil_copy_tree(testutil_fixture(FIXTURE), f->bundle);
    for (int i = 0; i < 2; i++) {
        char *priv = NULL, *pub = NULL;
        char path[256], err[256];
        assert_int_equal(proto_sign_key_generate(&priv, &pub), PROTO_OK);
        snprintf(path, sizeof(path), "%s/key%d.pem", f->dir, i);
        FILE *k = fopen(path, "wb");
        assert_non_null(k);
        fputs(priv, k);
        fclose(k);
        assert_int_equal(proto_sign_key_load(path, &f->sign[i], err, sizeof(err)), PROTO_OK);
        unlink(path);
        snprintf(f->pub[i], sizeof(f->pub[i]), "%s/pub%d.pem", f->dir, i);
        k = fopen(f->pub[i], "wb");
        assert_non_null(k);
        fputs(pub, k);
        fclose(k);
        proto_sign_pem_free(priv);
        proto_free(pub);
    }
    assert_int_equal(agent_config_init(&f->cfg, &f->conf), PROTO_OK);
    set(f, "source", f->bundle);
    set(f, "collector_url", "https://localhost:8443");
    set(f, "ca_file", "/unused/ca.crt");
#ifndef _WIN32 /* on Windows the certificate comes from LocalMachine\My */
    set(f, "client_cert", "/unused/agent.crt");
    set(f, "client_key", "/unused/agent.key");
#endif
    set(f, "log_level", "debug");
    set(f, "spool_dir", f->spool_dir);
    set(f, "expected_ca", CORP_CA);
    set(f, "state_dir", f->state);
    set(f, "profile_trust_key", f->pub[0]);
    f->pending = PROFILE_ID;
    f->log = open_memstream(&f->log_text, &f->log_size);
    assert_non_null(f->log);
    *state = f;
    return 0;
}

static void stop_run(struct fake *f)
{
    agent_run_destroy(f->run);
    agent_spool_close(f->results);
    agent_spool_close(f->spool);
    f->run = NULL;
    f->results = NULL;
    f->spool = NULL;
}

static int teardown(void **state)
{
    struct fake *f = *state;
    stop_run(f);
    for (size_t i = 0; i < f->result_sends; i++) {
        free(f->result_bodies[i]);
    }
    for (int i = 0; i < 2; i++) {
        proto_sign_key_destroy(f->sign[i]);
    }
    proto_free(f->envelope);
    fclose(f->log);
    free(f->log_text);
    proto_conf_free(&f->conf);
    testutil_remove_tree(f->dir);
    free(f);
    return 0;
}

/* Opens both spools and the run, as cli_run.c does (results spool only when remediating). */
static void start(struct fake *f, const char *mode)
{
    char err[256];
    set(f, "remediation_mode", mode);
    if (agent_config_validate(&f->cfg, err, sizeof(err)) != PROTO_OK) {
        fail_msg("settings: %s", err);
    }
    struct agent_spool_limits limits = {100, 16u * 1024u * 1024u};
    assert_int_equal(agent_spool_open(f->spool_dir, &limits, &f->spool), PROTO_OK);
    if (strcmp(mode, "off") != 0) {
        assert_int_equal(agent_spool_open(f->results_dir, &limits, &f->results), PROTO_OK);
    }
    struct agent_run_env env;
    memset(&env, 0, sizeof(env));
    env.transport.send = fake_send;
    env.transport.send_result = fake_send_result;
    env.transport.fetch_profile = fake_fetch;
    env.transport.ctx = f;
    env.clock.now_s = fake_now_s;
    env.clock.monotonic_ms = fake_mono_ms;
    env.clock.sleep_ms = fake_sleep_ms;
    env.log = f->log;
    env.results = f->results;
    assert_int_equal(agent_run_create(&f->cfg, f->spool, &env, &f->run), PROTO_OK);
}

/* Seals the fix for the bundle with key `key`. */
static void make_envelope(struct fake *f, int key, enum proto_profile_mode mode, uint64_t serial)
{
    struct proto_profile *profile = testutil_fix_profile(f->bundle, mode, PROFILE_ID, serial, NOW);
    proto_free(f->envelope);
    f->envelope = NULL;
    assert_int_equal(proto_envelope_seal(f->sign[key], profile, &f->envelope, &f->envelope_len),
                     PROTO_OK);
    proto_wire_profile_destroy(profile);
}

static struct proto_result *sent_result(const struct fake *f, size_t n)
{
    assert_true(n < f->result_sends);
    struct proto_result *res = NULL;
    struct proto_json_error err;
    const char *body = f->result_bodies[n];
    if (proto_wire_decode_result(body, strlen(body), &res, &err) != PROTO_OK) {
        fail_msg("result %zu does not decode: %s: %s", n, err.field, err.message);
    }
    return res;
}

static size_t results_spooled(const struct fake *f)
{
    struct agent_spool_stats st;
    agent_spool_stats(f->results, &st);
    return st.records;
}

static bool logged(const struct fake *f, const char *needle)
{
    fflush(f->log);
    return f->log_text != NULL && strstr(f->log_text, needle) != NULL;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_a_pending_profile_is_fetched_applied_and_its_result_sent(void **state)
{
    struct fake *f = *state;
    make_envelope(f, 0, PROTO_PROFILE_APPLY, 1);
    start(f, "apply");
    assert_int_equal(agent_run_once(f->run), AGENT_RUN_EXIT_EMPTY);
    assert_int_equal(f->fetches, 1);
    assert_int_equal(f->result_sends, 1);
    struct proto_result *res = sent_result(f, 0);
    assert_string_equal(proto_wire_outcome_str(res->outcome), "applied");
    assert_string_equal(res->profile_id, PROFILE_ID);
    assert_int_equal(res->serial, 1);
    assert_true(res->findings_before.count > 0);
    proto_wire_result_destroy(res);
    assert_false(bundle_unchanged(f, "reg-rasman.txt"));
    assert_false(bundle_unchanged(f, "netsh-consec.txt"));
    assert_int_equal(results_spooled(f), 0);
    assert_true(agent_remediate_result_spooled(f->state, PROFILE_ID));
    assert_true(
        logged(f, "remediate profile_id=" PROFILE_ID " serial=1 host_mode=apply outcome=applied"));
    assert_true(logged(f, "result-send seq=1"));
}

static void
test_a_result_survives_an_outage_with_its_result_id_and_the_profile_is_not_refetched(void **state)
{
    struct fake *f = *state;
    make_envelope(f, 0, PROTO_PROFILE_APPLY, 1);
    f->result_answers[0] = AGENT_SEND_RETRY;
    f->result_answers[1] = AGENT_SEND_ACKED;
    start(f, "apply");
    assert_int_equal(agent_run_once(f->run), AGENT_RUN_EXIT_PENDING);
    assert_int_equal(results_spooled(f), 1);
    /* A restart: the collector still offers the profile until the result arrives. */
    stop_run(f);
    start(f, "apply");
    assert_int_equal(agent_run_once(f->run), AGENT_RUN_EXIT_EMPTY);
    assert_int_equal(f->fetches, 1);
    assert_int_equal(f->result_sends, 2);
    assert_string_equal(f->result_bodies[0], f->result_bodies[1]);
    assert_int_equal(results_spooled(f), 0);
    assert_true(logged(f, "result-send seq=1 bytes="));
    assert_true(logged(f, "profile-skip profile_id=" PROFILE_ID));
}

static void test_results_go_out_before_the_next_report(void **state)
{
    struct fake *f = *state;
    make_envelope(f, 0, PROTO_PROFILE_APPLY, 1);
    f->result_answers[0] = AGENT_SEND_RETRY;
    f->result_answers[1] = AGENT_SEND_ACKED;
    start(f, "apply");
    (void)agent_run_once(f->run);
    size_t reports = f->reports;
    enum agent_drain_status status;
    assert_int_equal(agent_run_drain(f->run, &status), PROTO_OK);
    assert_int_equal(f->result_sends, 2);
    assert_int_equal(f->reports, reports); /* the report spool was already empty */
}

static void test_remediation_off_ignores_a_pending_profile(void **state)
{
    struct fake *f = *state;
    make_envelope(f, 0, PROTO_PROFILE_APPLY, 1);
    start(f, "off");
    assert_int_equal(agent_run_once(f->run), AGENT_RUN_EXIT_EMPTY);
    assert_int_equal(f->fetches, 0);
    assert_int_equal(f->result_sends, 0);
    assert_true(bundle_unchanged(f, "reg-rasman.txt"));
    assert_true(bundle_unchanged(f, "netsh-consec.txt"));
}

static void test_a_dry_run_host_plans_an_apply_profile_and_changes_nothing(void **state)
{
    struct fake *f = *state;
    make_envelope(f, 0, PROTO_PROFILE_APPLY, 1);
    start(f, "dry-run");
    assert_int_equal(agent_run_once(f->run), AGENT_RUN_EXIT_EMPTY);
    struct proto_result *res = sent_result(f, 0);
    assert_string_equal(proto_wire_outcome_str(res->outcome), "planned");
    assert_true(res->step_count > 0);
    proto_wire_result_destroy(res);
    assert_true(bundle_unchanged(f, "reg-rasman.txt"));
    assert_true(bundle_unchanged(f, "netsh-consec.txt"));
}

static void test_a_profile_signed_by_an_untrusted_key_is_refused_and_reported(void **state)
{
    struct fake *f = *state;
    make_envelope(f, 1, PROTO_PROFILE_APPLY, 1);
    start(f, "apply");
    assert_int_equal(agent_run_once(f->run), AGENT_RUN_EXIT_EMPTY);
    struct proto_result *res = sent_result(f, 0);
    assert_string_equal(proto_wire_outcome_str(res->outcome), "refused");
    assert_string_equal(res->profile_id, PROFILE_ID); /* named even though it did not open */
    assert_non_null(strstr(res->reason, "key"));
    proto_wire_result_destroy(res);
    assert_true(bundle_unchanged(f, "reg-rasman.txt"));
    assert_true(bundle_unchanged(f, "netsh-consec.txt"));
}

static void test_a_result_the_collector_refuses_for_good_is_dropped(void **state)
{
    struct fake *f = *state;
    make_envelope(f, 0, PROTO_PROFILE_APPLY, 1);
    f->result_answers[0] = AGENT_SEND_REJECTED;
    start(f, "apply");
    assert_int_equal(agent_run_once(f->run), AGENT_RUN_EXIT_EMPTY);
    assert_int_equal(results_spooled(f), 0);
    assert_true(logged(f, "result=rejected action=dropped"));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_a_pending_profile_is_fetched_applied_and_its_result_sent),
        T(test_a_result_survives_an_outage_with_its_result_id_and_the_profile_is_not_refetched),
        T(test_results_go_out_before_the_next_report),
        T(test_remediation_off_ignores_a_pending_profile),
        T(test_a_dry_run_host_plans_an_apply_profile_and_changes_nothing),
        T(test_a_profile_signed_by_an_untrusted_key_is_refused_and_reported),
        T(test_a_result_the_collector_refuses_for_good_is_dropped),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
