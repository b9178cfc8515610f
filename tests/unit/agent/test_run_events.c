/*
 * test_run_events: the administrator events of the delivery loop (agent/deliver/run.c,
 * agent_events.h): each fires exactly when it should, once per change and never once per round.
 *
 * As in test_run: a scripted transport answers each send with the next outcome of a list, a
 * fake clock advances only when the loop sleeps, and the spool is the real one in a temporary
 * folder; the event seam records every event. Remediation cases seal real envelopes with keys
 * made here and run them on a scratch copy of a bundle, as test_run_remediation does. The
 * last test checks that agent/cli/rrasfleet-events.mc (the Event Log's texts) gives every
 * event the same id, symbolic name and severity as agent_events.c. Portable C only: it runs under
 * Wine too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_config.h"
#include "alloc.h"
#include "bundle.h"
#include "agent_events.h"
#include "fix.h"
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
#define MAX_STEPS 32
#define MAX_EVENTS 64

struct step {
    enum agent_send_outcome outcome;
    long status;
    enum proto_rc rc; /* what send() returns */
    bool stop;        /* the stop request arrives during this send (and aborts it) */
};

struct event {
    enum agent_event id;
    char detail[AGENT_EVENT_DETAIL_BYTES];
};

struct fake {
    /* transport: reports follow the script, then are acknowledged */
    struct step steps[MAX_STEPS];
    size_t step_count;
    size_t sends;
    const char *pending; /* every report acknowledgement names it ("" none) */
    size_t fetches;
    char *envelope; /* what the profile fetch returns */
    size_t envelope_len;
    /* clock */
    uint64_t mono_ms;
    size_t sleep_count;
    size_t stop_after_sleeps; /* 0: never */
    volatile sig_atomic_t stop;
    /* events */
    struct event events[MAX_EVENTS];
    size_t event_count;
    /* the rest */
    char dir[64];
    char spool_dir[128];
    char bundle[128];
    char state[128];
    char results_dir[192];
    char pub[2][160];
    struct proto_sign_key *sign[2];
    struct agent_config cfg;
    struct proto_conf conf;
    struct agent_spool *spool, *results;
    struct agent_run *run;
    FILE *log;
};

/* ---- seams ---------------------------------------------------------------------------------- */

static enum proto_rc fake_send(void *ctx, const char *body, size_t len,
                               struct agent_send_result *res)
{
    struct fake *f = ctx;
    (void)body;
    (void)len;
    struct step s = {AGENT_SEND_ACKED, 202, PROTO_OK, false};
    if (f->sends < f->step_count) {
        s = f->steps[f->sends];
    }
    f->sends++;
    if (s.stop) {
        f->stop = 1;
    }
    memset(res, 0, sizeof(*res));
    res->outcome = s.outcome;
    res->http_status = s.status;
    if (s.outcome == AGENT_SEND_REJECTED) {
        snprintf(res->error, sizeof(res->error), "%s", "snapshot.certs[0].der: bad base64");
    } else if (s.outcome == AGENT_SEND_RETRY && s.status == 0) {
        snprintf(res->error, sizeof(res->error), "%s", "curl 7: Couldn't connect to server");
        res->curl_code = 7;
    }
    if (s.outcome == AGENT_SEND_ACKED && f->pending != NULL) {
        snprintf(res->pending_profile, sizeof(res->pending_profile), "%s", f->pending);
    }
    return s.rc;
}

static enum proto_rc fake_send_result(void *ctx, const char *body, size_t len,
                                      struct agent_send_result *res)
{
    (void)ctx;
    (void)body;
    (void)len;
    memset(res, 0, sizeof(*res));
    res->outcome = AGENT_SEND_ACKED;
    res->http_status = 202;
    return PROTO_OK;
}

static enum proto_rc fake_fetch(void *ctx, const char *id, char **body, size_t *len,
                                struct agent_send_result *res)
{
    struct fake *f = ctx;
    f->fetches++;
    assert_string_equal(id, PROFILE_ID);
    assert_non_null(f->envelope);
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
    struct fake *f = ctx;
    return NOW + (int64_t)(f->mono_ms / 1000u);
}

static uint64_t fake_mono_ms(void *ctx)
{
    struct fake *f = ctx;
    return f->mono_ms;
}

static void fake_sleep_ms(void *ctx, uint64_t ms, volatile sig_atomic_t *stop)
{
    struct fake *f = ctx;
    (void)stop;
    f->sleep_count++;
    f->mono_ms += ms;
    if (f->stop_after_sleeps != 0 && f->sleep_count >= f->stop_after_sleeps) {
        f->stop = 1;
    }
}

static uint64_t fake_random(void *ctx, uint64_t bound)
{
    (void)ctx;
    return bound / 2; /* jitter offset 0, backoff half the ceiling */
}

static void record_event(void *ctx, enum agent_event id, const char *detail)
{
    struct fake *f = ctx;
    assert_true(f->event_count < MAX_EVENTS);
    assert_non_null(detail);
    assert_true(strlen(detail) < AGENT_EVENT_DETAIL_BYTES);
    assert_null(strchr(detail, '\n')); /* one line */
    f->events[f->event_count].id = id;
    snprintf(f->events[f->event_count].detail, AGENT_EVENT_DETAIL_BYTES, "%s", detail);
    f->event_count++;
}

/* ---- helpers -------------------------------------------------------------------------------- */

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
    memcpy(f->dir, "/tmp/test_runev.XXXXXX", sizeof("/tmp/test_runev.XXXXXX"));
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->spool_dir, sizeof(f->spool_dir), "%s/spool", f->dir);
    snprintf(f->bundle, sizeof(f->bundle), "%s/bundle", f->dir);
    snprintf(f->state, sizeof(f->state), "%s/state", f->dir);
    snprintf(f->results_dir, sizeof(f->results_dir), "%s/results-spool", f->state);
    assert_int_equal(agent_config_init(&f->cfg, &f->conf), PROTO_OK);
    set(f, "source", testutil_fixture(FIXTURE));
    set(f, "collector_url", "https://localhost:8443");
    set(f, "ca_file", "/unused/ca.crt");
#ifndef _WIN32
    set(f, "client_cert", "/unused/agent.crt"); /* Windows: LocalMachine\My, no files */
    set(f, "client_key", "/unused/agent.key");
#endif
    set(f, "interval_s", "3600");
    set(f, "log_level", "debug");
    set(f, "spool_dir", f->spool_dir);
    char log[128];
    snprintf(log, sizeof(log), "%s/log.txt", f->dir);
    f->log = fopen(log, "w+");
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
    for (int i = 0; i < 2; i++) {
        proto_sign_key_destroy(f->sign[i]);
    }
    proto_free(f->envelope);
    fclose(f->log);
    proto_conf_free(&f->conf);
    testutil_remove_tree(f->dir);
    free(f);
    return 0;
}

/* Opens the spools and the run once the test has adjusted the settings. */
static void start(struct fake *f)
{
    char err[256];
    if (agent_config_validate(&f->cfg, err, sizeof(err)) != PROTO_OK) {
        fail_msg("settings: %s", err);
    }
    struct agent_spool_limits limits = {(size_t)f->cfg.spool_max_records, f->cfg.spool_max_bytes};
    assert_int_equal(agent_spool_open(f->spool_dir, &limits, &f->spool), PROTO_OK);
    if (strcmp(f->cfg.remediation_mode, "off") != 0) {
        struct agent_spool_limits rl = {100, 16u * 1024u * 1024u};
        assert_int_equal(agent_spool_open(f->results_dir, &rl, &f->results), PROTO_OK);
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
    env.clock.ctx = f;
    env.random = fake_random;
    env.random_ctx = f;
    env.stop = &f->stop;
    env.log = f->log;
    env.results = f->results;
    env.event = record_event;
    env.event_ctx = f;
    assert_int_equal(agent_run_create(&f->cfg, f->spool, &env, &f->run), PROTO_OK);
}

static void script(struct fake *f, const struct step *steps, size_t count)
{
    assert_true(count <= MAX_STEPS);
    memcpy(f->steps, steps, count * sizeof(*steps));
    f->step_count = count;
}

static size_t count_of(const struct fake *f, enum agent_event id)
{
    size_t n = 0;
    for (size_t i = 0; i < f->event_count; i++) {
        n += f->events[i].id == id ? 1u : 0u;
    }
    return n;
}

/* The detail of the nth (0-based) event `id`; fails the test when there is none. */
static const char *detail_of(const struct fake *f, enum agent_event id, size_t nth)
{
    for (size_t i = 0; i < f->event_count; i++) {
        if (f->events[i].id == id && nth-- == 0) {
            return f->events[i].detail;
        }
    }
    fail_msg("no event %d number %zu", (int)id, nth);
    return "";
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (strstr(haystack, needle) == NULL) {
        fail_msg("'%s' does not contain '%s'", haystack, needle);
    }
}

static void collect(struct fake *f)
{
    assert_int_equal(agent_run_collect(f->run), PROTO_OK);
}

static enum agent_drain_status drain(struct fake *f)
{
    enum agent_drain_status status = AGENT_DRAIN_EMPTY;
    (void)agent_run_drain(f->run, &status);
    return status;
}

/* ---- start and stop ------------------------------------------------------------------------- */

static void test_the_loop_reports_started_first_and_stopped_last(void **state)
{
    struct fake *f = *state;
    f->stop_after_sleeps = 1;
    start(f);
    assert_int_equal(agent_run_loop(f->run), PROTO_OK);
    assert_true(f->event_count >= 2);
    assert_int_equal(f->events[0].id, AGENT_EVENT_STARTED);
    assert_int_equal(f->events[f->event_count - 1].id, AGENT_EVENT_STOPPED);
    assert_int_equal(count_of(f, AGENT_EVENT_STARTED), 1);
    assert_int_equal(count_of(f, AGENT_EVENT_STOPPED), 1);
    assert_contains(detail_of(f, AGENT_EVENT_STARTED, 0), "collector=https://localhost:8443");
    assert_contains(detail_of(f, AGENT_EVENT_STARTED, 0), "interval_s=3600");
    assert_contains(detail_of(f, AGENT_EVENT_STOPPED, 0), "collected=1 acked=1");
}

static void test_run_once_reports_neither_start_nor_stop(void **state)
{
    struct fake *f = *state;
    start(f);
    assert_int_equal(agent_run_once(f->run), AGENT_RUN_EXIT_EMPTY);
    assert_int_equal(count_of(f, AGENT_EVENT_STARTED), 0);
    assert_int_equal(count_of(f, AGENT_EVENT_STOPPED), 0);
}

static void test_without_an_event_seam_the_loop_runs_as_before(void **state)
{
    struct fake *f = *state;
    start(f);
    /* A second run on the same spool with no event seam: nothing to call, nothing breaks. */
    struct agent_run_env env;
    memset(&env, 0, sizeof(env));
    env.transport.send = fake_send;
    env.transport.ctx = f;
    env.clock.now_s = fake_now_s;
    env.clock.monotonic_ms = fake_mono_ms;
    env.clock.sleep_ms = fake_sleep_ms;
    env.clock.ctx = f;
    env.log = f->log;
    struct agent_run *quiet = NULL;
    assert_int_equal(agent_run_create(&f->cfg, f->spool, &env, &quiet), PROTO_OK);
    assert_int_equal(agent_run_once(quiet), AGENT_RUN_EXIT_EMPTY);
    agent_run_destroy(quiet);
    assert_int_equal(f->event_count, 0);
}

/* ---- findings ------------------------------------------------------------------------------- */

static void test_the_first_report_with_findings_says_so_once(void **state)
{
    struct fake *f = *state;
    start(f);
    collect(f);
    collect(f);
    collect(f);
    assert_int_equal(count_of(f, AGENT_EVENT_FINDINGS_CHANGED), 1);
    /* Sorted, each id once (the bundle has several findings of one id). */
    assert_string_equal(detail_of(f, AGENT_EVENT_FINDINGS_CHANGED, 0),
                        "L2TP_CERT_AMBIGUOUS, L2TP_CERT_WILDCARD; new: L2TP_CERT_AMBIGUOUS, "
                        "L2TP_CERT_WILDCARD");
}

static void test_a_host_without_findings_raises_no_findings_event(void **state)
{
    struct fake *f = *state;
    set(f, "source", testutil_fixture("bundles/resolution1-single-cert"));
    start(f);
    collect(f);
    collect(f);
    assert_int_equal(count_of(f, AGENT_EVENT_FINDINGS_CHANGED), 0);
}

static void test_findings_changed_names_what_is_new_and_what_was_resolved(void **state)
{
    struct fake *f = *state;
    start(f);
    collect(f); /* L2TP_CERT_AMBIGUOUS, L2TP_CERT_WILDCARD */
    set(f, "source", testutil_fixture("bundles/iphttps-split"));
    collect(f);
    collect(f); /* the same set again: no event */
    set(f, "source", testutil_fixture("bundles/resolution1-single-cert"));
    collect(f);
    assert_int_equal(count_of(f, AGENT_EVENT_FINDINGS_CHANGED), 3);
    assert_string_equal(detail_of(f, AGENT_EVENT_FINDINGS_CHANGED, 1),
                        "IPHTTPS_L2TP_CERT_SPLIT, L2TP_CERT_AMBIGUOUS; new: "
                        "IPHTTPS_L2TP_CERT_SPLIT; resolved: L2TP_CERT_WILDCARD");
    assert_string_equal(detail_of(f, AGENT_EVENT_FINDINGS_CHANGED, 2),
                        "none; resolved: IPHTTPS_L2TP_CERT_SPLIT, L2TP_CERT_AMBIGUOUS");
}

static void test_a_restart_reports_the_findings_again(void **state)
{
    struct fake *f = *state;
    start(f);
    collect(f);
    stop_run(f);
    start(f);
    collect(f);
    assert_int_equal(count_of(f, AGENT_EVENT_FINDINGS_CHANGED), 2);
}

/* ---- collection failures -------------------------------------------------------------------- */

static void test_a_failing_collection_is_reported_once_per_streak(void **state)
{
    struct fake *f = *state;
    char missing[160];
    snprintf(missing, sizeof(missing), "%s/no-such-bundle", f->dir);
    start(f);
    set(f, "source", missing);
    assert_int_not_equal(agent_run_collect(f->run), PROTO_OK);
    assert_int_not_equal(agent_run_collect(f->run), PROTO_OK);
    assert_int_equal(count_of(f, AGENT_EVENT_COLLECT_FAILED), 1);
    assert_contains(detail_of(f, AGENT_EVENT_COLLECT_FAILED, 0), "step=source");
    assert_contains(detail_of(f, AGENT_EVENT_COLLECT_FAILED, 0), "error=no such folder");
    set(f, "source", testutil_fixture(FIXTURE));
    collect(f);
    set(f, "source", missing);
    assert_int_not_equal(agent_run_collect(f->run), PROTO_OK);
    assert_int_equal(count_of(f, AGENT_EVENT_COLLECT_FAILED), 2);
}

/* ---- the collector -------------------------------------------------------------------------- */

static void test_an_outage_is_reported_once_and_its_end_once(void **state)
{
    struct fake *f = *state;
    static const struct step steps[] = {
        {AGENT_SEND_RETRY, 0, PROTO_OK, false},   {AGENT_SEND_RETRY, 503, PROTO_OK, false},
        {AGENT_SEND_RETRY, 0, PROTO_EIO, false},  {AGENT_SEND_ACKED, 202, PROTO_OK, false},
        {AGENT_SEND_ACKED, 202, PROTO_OK, false}, {AGENT_SEND_RETRY, 0, PROTO_OK, false},
    };
    script(f, steps, sizeof(steps) / sizeof(steps[0]));
    start(f);
    collect(f);
    assert_int_equal(drain(f), AGENT_DRAIN_BACKOFF);
    assert_int_equal(count_of(f, AGENT_EVENT_COLLECTOR_UNREACHABLE), 1);
    assert_contains(detail_of(f, AGENT_EVENT_COLLECTOR_UNREACHABLE, 0),
                    "collector=https://localhost:8443 status=none curl=7 error=curl 7: "
                    "Couldn't connect to server");
    f->mono_ms += 5000;
    assert_int_equal(drain(f), AGENT_DRAIN_BACKOFF); /* 503 */
    f->mono_ms += 5000;
    assert_int_equal(drain(f), AGENT_DRAIN_BACKOFF); /* the transport failed */
    assert_int_equal(count_of(f, AGENT_EVENT_COLLECTOR_UNREACHABLE), 1);
    assert_int_equal(count_of(f, AGENT_EVENT_COLLECTOR_RECOVERED), 0);
    f->mono_ms += 20000;
    collect(f);
    assert_int_equal(drain(f), AGENT_DRAIN_EMPTY); /* both acknowledged */
    assert_int_equal(count_of(f, AGENT_EVENT_COLLECTOR_RECOVERED), 1);
    assert_string_equal(detail_of(f, AGENT_EVENT_COLLECTOR_RECOVERED, 0),
                        "collector=https://localhost:8443 down_s=30 failed_attempts=3");
    /* A new outage is news again. */
    collect(f);
    assert_int_equal(drain(f), AGENT_DRAIN_BACKOFF);
    assert_int_equal(count_of(f, AGENT_EVENT_COLLECTOR_UNREACHABLE), 2);
    assert_int_equal(count_of(f, AGENT_EVENT_COLLECTOR_RECOVERED), 1);
}

static void test_a_transfer_aborted_by_the_stop_request_is_no_outage(void **state)
{
    struct fake *f = *state;
    static const struct step steps[] = {{AGENT_SEND_RETRY, 0, PROTO_OK, true}};
    script(f, steps, 1);
    start(f);
    assert_int_equal(agent_run_loop(f->run), PROTO_OK);
    assert_int_equal(f->sends, 1);
    assert_int_equal(count_of(f, AGENT_EVENT_COLLECTOR_UNREACHABLE), 0);
    assert_int_equal(count_of(f, AGENT_EVENT_STOPPED), 1);
}

static void test_acknowledgements_without_an_outage_raise_nothing(void **state)
{
    struct fake *f = *state;
    start(f);
    collect(f);
    assert_int_equal(drain(f), AGENT_DRAIN_EMPTY);
    collect(f);
    assert_int_equal(drain(f), AGENT_DRAIN_EMPTY);
    assert_int_equal(count_of(f, AGENT_EVENT_COLLECTOR_UNREACHABLE), 0);
    assert_int_equal(count_of(f, AGENT_EVENT_COLLECTOR_RECOVERED), 0);
    assert_int_equal(count_of(f, AGENT_EVENT_SPOOL_DROPPED), 0);
}

static void test_a_refusal_ends_an_outage_and_counts_as_a_lost_report(void **state)
{
    struct fake *f = *state;
    static const struct step steps[] = {
        {AGENT_SEND_RETRY, 503, PROTO_OK, false},
        {AGENT_SEND_REJECTED, 400, PROTO_OK, false},
    };
    script(f, steps, 2);
    start(f);
    collect(f);
    assert_int_equal(drain(f), AGENT_DRAIN_BACKOFF);
    f->mono_ms += 2000;
    assert_int_equal(drain(f), AGENT_DRAIN_EMPTY);
    assert_int_equal(count_of(f, AGENT_EVENT_COLLECTOR_RECOVERED), 1);
    assert_int_equal(count_of(f, AGENT_EVENT_SPOOL_DROPPED), 1);
    assert_contains(detail_of(f, AGENT_EVENT_SPOOL_DROPPED, 0),
                    "dropped=0 (spool full: max_records=1000 max_bytes=67108864) quarantined=0 "
                    "(unreadable) rejected=1 (refused by the collector)");
}

/* ---- lost reports --------------------------------------------------------------------------- */

static void test_a_full_spool_reports_each_growth_of_its_drops(void **state)
{
    struct fake *f = *state;
    set(f, "spool_max_records", "1");
    start(f);
    collect(f);
    assert_int_equal(count_of(f, AGENT_EVENT_SPOOL_DROPPED), 0);
    collect(f); /* drops the first */
    assert_int_equal(count_of(f, AGENT_EVENT_SPOOL_DROPPED), 1);
    assert_contains(detail_of(f, AGENT_EVENT_SPOOL_DROPPED, 0), "dropped=1 (spool full");
    assert_contains(detail_of(f, AGENT_EVENT_SPOOL_DROPPED, 0), "spooled=1");
    collect(f);
    assert_int_equal(count_of(f, AGENT_EVENT_SPOOL_DROPPED), 2);
    assert_contains(detail_of(f, AGENT_EVENT_SPOOL_DROPPED, 1), "dropped=1 (spool full");
    /* The acknowledged report carried the count of 2 and cleared it: no growth, no event. */
    assert_int_equal(drain(f), AGENT_DRAIN_EMPTY);
    struct agent_spool_stats st;
    agent_spool_stats(f->spool, &st);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(count_of(f, AGENT_EVENT_SPOOL_DROPPED), 2);
    /* Growth after the reset is news again. */
    collect(f);
    collect(f);
    assert_int_equal(count_of(f, AGENT_EVENT_SPOOL_DROPPED), 3);
}

static void test_drops_counted_before_the_start_are_not_news(void **state)
{
    struct fake *f = *state;
    set(f, "spool_max_records", "1");
    start(f);
    collect(f);
    collect(f);
    assert_int_equal(count_of(f, AGENT_EVENT_SPOOL_DROPPED), 1);
    stop_run(f);
    start(f);
    assert_int_equal(drain(f), AGENT_DRAIN_EMPTY);
    assert_int_equal(count_of(f, AGENT_EVENT_SPOOL_DROPPED), 1);
}

static void test_a_record_lost_from_the_spool_folder_is_reported(void **state)
{
    struct fake *f = *state;
    start(f);
    collect(f);
    collect(f);
    char rec[192];
    snprintf(rec, sizeof(rec), "%s/%020llu.rec", f->spool_dir, 1ULL);
    assert_int_equal(remove(rec), 0);
    assert_int_equal(drain(f), AGENT_DRAIN_EMPTY);
    assert_int_equal(count_of(f, AGENT_EVENT_SPOOL_DROPPED), 1);
    assert_contains(detail_of(f, AGENT_EVENT_SPOOL_DROPPED, 0), "quarantined=1 (unreadable)");
}

/* ---- remediation ---------------------------------------------------------------------------- */

/* Two signing keys (0 trusted, 1 not), a scratch bundle, and the settings remediation needs. */
static void remediation_setup(struct fake *f, const char *mode)
{
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
        assert_int_equal(remove(path), 0);
        snprintf(f->pub[i], sizeof(f->pub[i]), "%s/pub%d.pem", f->dir, i);
        k = fopen(f->pub[i], "wb");
        assert_non_null(k);
        fputs(pub, k);
        fclose(k);
        proto_sign_pem_free(priv);
        proto_free(pub);
    }
    set(f, "source", f->bundle);
    set(f, "expected_ca", CORP_CA);
    set(f, "state_dir", f->state);
    set(f, "profile_trust_key", f->pub[0]);
    set(f, "remediation_mode", mode);
    f->pending = PROFILE_ID;
}

/* Seals the fix for the scratch bundle with key `key`. */
static void make_envelope(struct fake *f, int key, uint64_t serial)
{
    struct proto_profile *profile =
        testutil_fix_profile(f->bundle, PROTO_PROFILE_APPLY, PROFILE_ID, serial, NOW);
    proto_free(f->envelope);
    f->envelope = NULL;
    assert_int_equal(proto_envelope_seal(f->sign[key], profile, &f->envelope, &f->envelope_len),
                     PROTO_OK);
    proto_wire_profile_destroy(profile);
}

/* The profile events, in order, as a string of their ids ("400 401"). */
static void profile_events(const struct fake *f, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < f->event_count; i++) {
        if (f->events[i].id / 100 != 4) {
            continue;
        }
        int n =
            snprintf(out + used, size - used, "%s%d", used > 0 ? " " : "", (int)f->events[i].id);
        assert_true(n > 0 && (size_t)n < size - used);
        used += (size_t)n;
    }
}

static void test_an_applied_profile_is_received_then_applied(void **state)
{
    struct fake *f = *state;
    char seen[64];
    remediation_setup(f, "apply");
    make_envelope(f, 0, 1);
    start(f);
    assert_int_equal(agent_run_once(f->run), AGENT_RUN_EXIT_EMPTY);
    profile_events(f, seen, sizeof(seen));
    assert_string_equal(seen, "400 401");
    assert_contains(detail_of(f, AGENT_EVENT_PROFILE_RECEIVED, 0), "profile_id=" PROFILE_ID);
    assert_contains(detail_of(f, AGENT_EVENT_PROFILE_APPLIED, 0),
                    "profile_id=" PROFILE_ID " serial=1 outcome=applied host_mode=apply");
    /* Handled once: the next acknowledgement names it again, but its result is spooled. */
    assert_int_equal(agent_run_once(f->run), AGENT_RUN_EXIT_EMPTY);
    profile_events(f, seen, sizeof(seen));
    assert_string_equal(seen, "400 401");
}

static void test_a_dry_run_host_reports_the_profile_planned(void **state)
{
    struct fake *f = *state;
    char seen[64];
    remediation_setup(f, "dry-run");
    make_envelope(f, 0, 1);
    start(f);
    assert_int_equal(agent_run_once(f->run), AGENT_RUN_EXIT_EMPTY);
    profile_events(f, seen, sizeof(seen));
    assert_string_equal(seen, "400 401");
    assert_contains(detail_of(f, AGENT_EVENT_PROFILE_APPLIED, 0),
                    "outcome=planned host_mode=dry-run");
}

static void test_a_profile_from_an_untrusted_key_is_refused(void **state)
{
    struct fake *f = *state;
    char seen[64];
    remediation_setup(f, "apply");
    make_envelope(f, 1, 1);
    start(f);
    assert_int_equal(agent_run_once(f->run), AGENT_RUN_EXIT_EMPTY);
    profile_events(f, seen, sizeof(seen));
    assert_string_equal(seen, "400 402");
    assert_contains(detail_of(f, AGENT_EVENT_PROFILE_REFUSED, 0), "outcome=refused");
    assert_contains(detail_of(f, AGENT_EVENT_PROFILE_REFUSED, 0), "key");
}

static void test_a_profile_whose_step_fails_is_rolled_back(void **state)
{
    struct fake *f = *state;
    char seen[64];
    remediation_setup(f, "apply");
    make_envelope(f, 0, 1);
    start(f);
    assert_int_equal(setenv("RRASFLEET_SIM_FAIL_STEP", "2", 1), 0);
    int rc = agent_run_once(f->run);
    assert_int_equal(unsetenv("RRASFLEET_SIM_FAIL_STEP"), 0);
    assert_int_equal(rc, AGENT_RUN_EXIT_EMPTY);
    profile_events(f, seen, sizeof(seen));
    assert_string_equal(seen, "400 403");
    assert_contains(detail_of(f, AGENT_EVENT_PROFILE_ROLLED_BACK, 0), "outcome=rolled_back");
    assert_contains(detail_of(f, AGENT_EVENT_PROFILE_ROLLED_BACK, 0), "RRASFLEET_SIM_FAIL_STEP");
}

static void test_a_host_whose_trust_key_is_unusable_refuses_without_a_result(void **state)
{
    struct fake *f = *state;
    char seen[64];
    char missing[192];
    remediation_setup(f, "apply");
    make_envelope(f, 0, 1);
    snprintf(missing, sizeof(missing), "%s/no-such-key.pem", f->dir);
    set(f, "profile_trust_key", missing);
    start(f);
    (void)agent_run_once(f->run);
    profile_events(f, seen, sizeof(seen));
    assert_string_equal(seen, "400 402");
    assert_contains(detail_of(f, AGENT_EVENT_PROFILE_REFUSED, 0), "no result was sent");
}

/* ---- the Event Log's message file ----------------------------------------------------------- */

static enum agent_event_level level_of_severity(const char *severity)
{
    if (strcmp(severity, "Informational") == 0) {
        return AGENT_EVENT_INFO;
    }
    if (strcmp(severity, "Warning") == 0) {
        return AGENT_EVENT_WARNING;
    }
    if (strcmp(severity, "Error") == 0) {
        return AGENT_EVENT_ERROR;
    }
    fail_msg("rrasfleet-events.mc: unexpected Severity=%s", severity);
    return AGENT_EVENT_ERROR;
}

/* The value of "KEY=value" at the start of line, into out; false when the line is another. */
static bool mc_value(const char *line, const char *key, char *out, size_t size)
{
    size_t n = strlen(key);
    if (strncmp(line, key, n) != 0 || line[n] != '=') {
        return false;
    }
    const char *v = line + n + 1;
    size_t len = strcspn(v, "\r\n \t");
    assert_true(len < size);
    memcpy(out, v, len);
    out[len] = '\0';
    return true;
}

static void test_the_message_file_matches_the_event_table(void **state)
{
    (void)state;
    size_t len = 0;
    char *text = testutil_read(RRAS_SOURCE_DIR "/agent/cli/rrasfleet-events.mc", &len);
    size_t seen[MAX_EVENTS];
    memset(seen, 0, sizeof(seen));
    assert_true(agent_event_count() <= MAX_EVENTS);
    long id = -1;
    char severity[32] = "";
    char name[64];
    size_t messages = 0;
    for (char *line = text; line != NULL && *line != '\0';) {
        char *next = strchr(line, '\n');
        char value[64];
        if (mc_value(line, "MessageId", value, sizeof(value))) {
            char *end = NULL;
            id = strtol(value, &end, 10);
            assert_true(end != value && *end == '\0');
            severity[0] = '\0';
        } else if (mc_value(line, "Severity", value, sizeof(value))) {
            memcpy(severity, value, strlen(value) + 1);
        } else if (mc_value(line, "SymbolicName", name, sizeof(name))) {
            assert_true(id >= 0);
            assert_true(severity[0] != '\0'); /* Severity comes before SymbolicName here */
            const char *expected = agent_event_name((enum agent_event)id);
            if (expected == NULL) {
                fail_msg("rrasfleet-events.mc: MessageId=%ld is not in agent_events.h", id);
            }
            assert_string_equal(name, expected);
            assert_int_equal(level_of_severity(severity), agent_event_level((enum agent_event)id));
            for (size_t i = 0; i < agent_event_count(); i++) {
                if (agent_event_at(i) == (enum agent_event)id) {
                    seen[i]++;
                }
            }
            messages++;
            id = -1;
        }
        line = next != NULL ? next + 1 : NULL;
    }
    assert_int_equal(messages, agent_event_count());
    for (size_t i = 0; i < agent_event_count(); i++) {
        if (seen[i] != 1) {
            fail_msg("event %d has %zu messages in rrasfleet-events.mc", (int)agent_event_at(i),
                     seen[i]);
        }
    }
    free(text);
}

static void test_every_event_has_a_name_and_unknown_numbers_have_none(void **state)
{
    (void)state;
    for (size_t i = 0; i < agent_event_count(); i++) {
        enum agent_event id = agent_event_at(i);
        assert_non_null(agent_event_name(id));
        if (i > 0) {
            assert_true(agent_event_at(i - 1) < id); /* in id order, each once */
        }
    }
    assert_null(agent_event_name((enum agent_event)999));
    assert_int_equal(agent_event_level((enum agent_event)999), AGENT_EVENT_ERROR);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_the_loop_reports_started_first_and_stopped_last),
        T(test_run_once_reports_neither_start_nor_stop),
        T(test_without_an_event_seam_the_loop_runs_as_before),
        T(test_the_first_report_with_findings_says_so_once),
        T(test_a_host_without_findings_raises_no_findings_event),
        T(test_findings_changed_names_what_is_new_and_what_was_resolved),
        T(test_a_restart_reports_the_findings_again),
        T(test_a_failing_collection_is_reported_once_per_streak),
        T(test_an_outage_is_reported_once_and_its_end_once),
        T(test_a_transfer_aborted_by_the_stop_request_is_no_outage),
        T(test_acknowledgements_without_an_outage_raise_nothing),
        T(test_a_refusal_ends_an_outage_and_counts_as_a_lost_report),
        T(test_a_full_spool_reports_each_growth_of_its_drops),
        T(test_drops_counted_before_the_start_are_not_news),
        T(test_a_record_lost_from_the_spool_folder_is_reported),
        T(test_an_applied_profile_is_received_then_applied),
        T(test_a_dry_run_host_reports_the_profile_planned),
        T(test_a_profile_from_an_untrusted_key_is_refused),
        T(test_a_profile_whose_step_fails_is_rolled_back),
        T(test_a_host_whose_trust_key_is_unusable_refuses_without_a_result),
        T(test_the_message_file_matches_the_event_table),
        T(test_every_event_has_a_name_and_unknown_numbers_have_none),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
