/*
 * test_run: the agent's delivery loop (agent/run.c) with every seam replaced.
 *
 * A scripted transport answers each send with the next outcome of a list (and keeps a copy of
 * every body it was given); a fake clock advances only when the loop asks to sleep, and records
 * each requested delay; a fixed random source makes jitter and backoff exact. The spool is the
 * real one (agent/spool.c) in a temporary folder, and the source the real KB 2855053 bundle.
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
#include <unistd.h>

#include "agent_config.h"
#include "alloc.h"
#include "json.h"
#include "run.h"
#include "spool.h"
#include "testutil.h"

#define MAX_STEPS 32
#define MAX_SENT 32
#define MAX_SLEEPS 64
#define START_S 1764000000 /* 2025-11-24T16:00:00Z */

struct step {
    enum agent_send_outcome outcome;
    long status;
    uint64_t next_interval_s;
    uint64_t retry_after_s;
    bool duplicate;
    enum proto_rc rc; /* what send() returns */
};

struct fake {
    /* transport */
    struct step steps[MAX_STEPS];
    size_t step_count;
    size_t sends;
    char *bodies[MAX_SENT];
    size_t body_lens[MAX_SENT];
    uint64_t send_times_ms[MAX_SENT];
    /* clock */
    uint64_t mono_ms;
    uint64_t sleeps[MAX_SLEEPS];
    size_t sleep_count;
    size_t stop_after_sleeps; /* 0: never */
    volatile sig_atomic_t stop;
    /* random: returns bound * num / den */
    uint64_t rnd_num, rnd_den;
    /* the rest */
    char dir[64];
    char spool_dir[128];
    struct agent_config cfg;
    struct proto_conf conf;
    struct agent_spool *spool;
    struct agent_run *run;
    FILE *log;
    char *log_text;
    size_t log_size;
};

static enum proto_rc fake_send(void *ctx, const char *body, size_t len,
                               struct agent_send_result *res)
{
    struct fake *f = ctx;
    assert_true(f->sends < MAX_SENT);
    f->bodies[f->sends] = strndup(body, len); /* not proto_: allocation failures are injected */
    assert_non_null(f->bodies[f->sends]);
    f->body_lens[f->sends] = len;
    f->send_times_ms[f->sends] = f->mono_ms;
    struct step s = {AGENT_SEND_ACKED, 202, 0, 0, false, PROTO_OK};
    if (f->sends < f->step_count) {
        s = f->steps[f->sends];
    }
    f->sends++;
    memset(res, 0, sizeof(*res));
    res->outcome = s.outcome;
    res->http_status = s.status;
    res->next_interval_s = s.next_interval_s;
    res->retry_after_s = s.retry_after_s;
    res->duplicate = s.duplicate;
    if (s.outcome == AGENT_SEND_REJECTED) {
        memcpy(res->error, "snapshot.certs[0].der: bad base64", 34);
    } else if (s.outcome == AGENT_SEND_RETRY && s.status == 0) {
        memcpy(res->error, "curl 7: Couldn't connect to server", 35);
        res->curl_code = 7;
    }
    return s.rc;
}

static int64_t fake_now_s(void *ctx)
{
    struct fake *f = ctx;
    return START_S + (int64_t)(f->mono_ms / 1000u);
}

static uint64_t fake_mono_ms(void *ctx)
{
    struct fake *f = ctx;
    return f->mono_ms;
}

static void fake_sleep_ms(void *ctx, uint64_t ms, volatile sig_atomic_t *stop)
{
    struct fake *f = ctx;
    assert_ptr_equal(stop, &f->stop);
    assert_true(f->sleep_count < MAX_SLEEPS);
    f->sleeps[f->sleep_count++] = ms;
    f->mono_ms += ms;
    if (f->stop_after_sleeps != 0 && f->sleep_count >= f->stop_after_sleeps) {
        f->stop = 1;
    }
}

static uint64_t fake_random(void *ctx, uint64_t bound)
{
    struct fake *f = ctx;
    return f->rnd_num == 0 ? 0 : bound / f->rnd_den * f->rnd_num;
}

/* Removes a folder tree of at most `depth` levels (the spool has two: quarantine/). */
static void remove_tree(const char *path, int depth)
{
    DIR *dir = depth > 0 ? opendir(path) : NULL;
    if (dir != NULL) {
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
                continue;
            }
            char child[512];
            int n = snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
            if (n > 0 && (size_t)n < sizeof(child)) {
                remove_tree(child, depth - 1);
            }
        }
        closedir(dir);
    }
    remove(path);
}

static int setup(void **state)
{
    struct fake *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    memcpy(f->dir, "/tmp/test_run.XXXXXX", sizeof("/tmp/test_run.XXXXXX"));
    assert_non_null(mkdtemp(f->dir));
    int n = snprintf(f->spool_dir, sizeof(f->spool_dir), "%s/spool", f->dir);
    assert_true(n > 0 && (size_t)n < sizeof(f->spool_dir));
    assert_int_equal(agent_config_init(&f->cfg, &f->conf), PROTO_OK);
    char err[256];
    const char *bundle = testutil_fixture("bundles/kb-787-wildcard-first");
    assert_int_equal(
        proto_conf_set(&f->conf, "source", bundle, PROTO_CONF_FROM_FLAG, err, sizeof(err)),
        PROTO_OK);
    static const char *const settings[][2] = {
        {"collector_url", "https://localhost:8443"},
        {"ca_file", "/unused/ca.crt"},
#ifndef _WIN32 /* on Windows the certificate comes from LocalMachine\My */
        {"client_cert", "/unused/agent.crt"},
        {"client_key", "/unused/agent.key"},
#endif
        {"interval_s", "3600"},
        {"log_level", "debug"},
    };
    for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
        assert_int_equal(proto_conf_set(&f->conf, settings[i][0], settings[i][1],
                                        PROTO_CONF_FROM_FLAG, err, sizeof(err)),
                         PROTO_OK);
    }
    assert_int_equal(
        proto_conf_set(&f->conf, "spool_dir", f->spool_dir, PROTO_CONF_FROM_FLAG, err, sizeof(err)),
        PROTO_OK);
    f->rnd_num = 1;
    f->rnd_den = 2; /* jitter offset 0, backoff half the ceiling */
    f->log = open_memstream(&f->log_text, &f->log_size);
    assert_non_null(f->log);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fake *f = *state;
    agent_run_destroy(f->run);
    agent_spool_close(f->spool);
    for (size_t i = 0; i < f->sends; i++) {
        free(f->bodies[i]);
    }
    fclose(f->log);
    free(f->log_text);
    proto_conf_free(&f->conf);
    remove_tree(f->dir, 4);
    free(f);
    return 0;
}

/* Opens the spool and the run once the test has adjusted the settings. */
static void start(struct fake *f)
{
    char err[256];
    if (agent_config_validate(&f->cfg, err, sizeof(err)) != PROTO_OK) {
        fail_msg("settings: %s", err);
    }
    struct agent_spool_limits limits = {(size_t)f->cfg.spool_max_records, f->cfg.spool_max_bytes};
    assert_int_equal(agent_spool_open(f->spool_dir, &limits, &f->spool), PROTO_OK);
    struct agent_run_env env;
    memset(&env, 0, sizeof(env));
    env.transport.send = fake_send;
    env.transport.ctx = f;
    env.clock.now_s = fake_now_s;
    env.clock.monotonic_ms = fake_mono_ms;
    env.clock.sleep_ms = fake_sleep_ms;
    env.clock.ctx = f;
    env.random = fake_random;
    env.random_ctx = f;
    env.stop = &f->stop;
    env.log = f->log;
    assert_int_equal(agent_run_create(&f->cfg, f->spool, &env, &f->run), PROTO_OK);
}

static void set(struct fake *f, const char *key, const char *value)
{
    char err[256];
    if (proto_conf_set(&f->conf, key, value, PROTO_CONF_FROM_FLAG, err, sizeof(err)) != PROTO_OK) {
        fail_msg("%s", err);
    }
}

static void script(struct fake *f, const struct step *steps, size_t count)
{
    assert_true(count <= MAX_STEPS);
    memcpy(f->steps, steps, count * sizeof(*steps));
    f->step_count = count;
}

static struct agent_spool_stats spool_stats(const struct fake *f)
{
    struct agent_spool_stats st;
    agent_spool_stats(f->spool, &st);
    return st;
}

/* The report the transport was given as its n-th body (caller destroys). */
static struct proto_report *sent_report(const struct fake *f, size_t n)
{
    assert_true(n < f->sends);
    struct proto_report *report = NULL;
    struct proto_json_error err;
    if (proto_json_decode_report(f->bodies[n], f->body_lens[n], &report, &err) != PROTO_OK) {
        fail_msg("body %zu does not decode: %s: %s", n, err.field, err.message);
    }
    return report;
}

static const char *log_text(struct fake *f)
{
    fflush(f->log);
    return f->log_text != NULL ? f->log_text : "";
}

static void collect_n(struct fake *f, int n)
{
    for (int i = 0; i < n; i++) {
        assert_int_equal(agent_run_collect(f->run), PROTO_OK);
    }
}

#define ACK                                                                                        \
    {                                                                                              \
        AGENT_SEND_ACKED, 202, 0, 0, false, PROTO_OK                                               \
    }
#define RETRY                                                                                      \
    {                                                                                              \
        AGENT_SEND_RETRY, 0, 0, 0, false, PROTO_OK                                                 \
    }
#define REJECT                                                                                     \
    {                                                                                              \
        AGENT_SEND_REJECTED, 400, 0, 0, false, PROTO_OK                                            \
    }

/* ---- --once -------------------------------------------------------------------------------- */

static void test_once_collects_sends_and_ends_with_an_empty_spool(void **state)
{
    struct fake *f = *state;
    start(f);
    assert_int_equal(agent_run_once(f->run), AGENT_RUN_EXIT_EMPTY);
    assert_int_equal(f->sends, 1);
    assert_int_equal(spool_stats(f).records, 0);
    struct proto_report *r = sent_report(f, 0);
    assert_int_equal(r->seq, 1);
    assert_string_equal(r->snapshot->host.fqdn, "rras01.corp.contoso.com");
    assert_string_equal(r->snapshot->host.agent_version, RRAS_VERSION);
    assert_int_equal(r->snapshot->host.collected_at, START_S);
    assert_true(r->finding_count > 0); /* the wildcard-first bundle is at risk */
    assert_int_equal(r->spool_dropped, 0);
    assert_int_equal(r->spool_quarantined, 0);
    proto_report_destroy(r);
    assert_int_equal(f->sleep_count, 0);
    assert_non_null(strstr(log_text(f), "send seq=1 bytes="));
    assert_non_null(strstr(log_text(f), "status=202 result=ack"));
}

static void test_once_keeps_the_report_spooled_when_the_collector_is_unreachable(void **state)
{
    struct fake *f = *state;
    const struct step steps[] = {RETRY};
    script(f, steps, 1);
    start(f);
    assert_int_equal(agent_run_once(f->run), AGENT_RUN_EXIT_PENDING);
    assert_int_equal(f->sends, 1);
    assert_int_equal(spool_stats(f).records, 1);
    assert_int_equal(f->sleep_count, 0); /* --once never waits out a backoff */
    assert_non_null(strstr(log_text(f), "result=retry curl=7"));
    assert_non_null(strstr(log_text(f), "error=curl 7: Couldn't connect to server"));
}

static void test_once_with_a_missing_source_folder_is_a_configuration_error(void **state)
{
    struct fake *f = *state;
    set(f, "source", "bundle:/nonexistent/bundle");
    start(f);
    assert_int_equal(agent_run_once(f->run), AGENT_RUN_EXIT_CONFIG);
    assert_int_equal(f->sends, 0);
    assert_int_equal(spool_stats(f).records, 0);
    assert_non_null(strstr(log_text(f), "collect failed step=source"));
}

static void test_once_sends_the_backlog_oldest_first_after_an_outage(void **state)
{
    struct fake *f = *state;
    set(f, "drain_rate_per_s", "0");
    start(f);
    collect_n(f, 2); /* spooled while the collector was down */
    assert_int_equal(agent_run_once(f->run), AGENT_RUN_EXIT_EMPTY);
    assert_int_equal(f->sends, 3);
    for (size_t i = 0; i < 3; i++) {
        struct proto_report *r = sent_report(f, i);
        assert_int_equal(r->seq, i + 1);
        proto_report_destroy(r);
    }
}

static void test_fqdn_override_replaces_the_name_from_the_source(void **state)
{
    struct fake *f = *state;
    set(f, "fqdn_override", "agent-07.corp.contoso.com");
    start(f);
    assert_int_equal(agent_run_once(f->run), AGENT_RUN_EXIT_EMPTY);
    struct proto_report *r = sent_report(f, 0);
    assert_string_equal(r->snapshot->host.fqdn, "agent-07.corp.contoso.com");
    proto_report_destroy(r);
}

/* ---- drain outcomes -------------------------------------------------------------------------- */

static void test_retry_later_stops_the_drain_and_keeps_the_rest_in_order(void **state)
{
    struct fake *f = *state;
    set(f, "drain_rate_per_s", "0");
    const struct step steps[] = {ACK, RETRY};
    script(f, steps, 2);
    start(f);
    collect_n(f, 3);
    enum agent_drain_status status;
    assert_int_equal(agent_run_drain(f->run, &status), PROTO_OK);
    assert_int_equal(status, AGENT_DRAIN_BACKOFF);
    assert_int_equal(f->sends, 2);
    assert_int_equal(spool_stats(f).records, 2);
    uint64_t seq = 0;
    char *body = NULL;
    size_t len = 0;
    assert_int_equal(agent_spool_peek(f->spool, &seq, &body, &len), PROTO_OK);
    assert_int_equal(seq, 2); /* the one that failed is first in line */
    proto_free(body);
    struct agent_run_stats st;
    agent_run_get_stats(f->run, &st);
    assert_int_equal(st.acked, 1);
    assert_int_equal(st.retries, 1);
}

static void test_rejected_record_is_dropped_and_counted_without_blocking_the_rest(void **state)
{
    struct fake *f = *state;
    set(f, "drain_rate_per_s", "0");
    const struct step steps[] = {REJECT, ACK, ACK};
    script(f, steps, 3);
    start(f);
    collect_n(f, 3);
    enum agent_drain_status status;
    assert_int_equal(agent_run_drain(f->run, &status), PROTO_OK);
    assert_int_equal(status, AGENT_DRAIN_EMPTY);
    assert_int_equal(f->sends, 3);
    assert_int_equal(spool_stats(f).records, 0);
    struct agent_run_stats st;
    agent_run_get_stats(f->run, &st);
    assert_int_equal(st.rejected, 1);
    assert_int_equal(st.acked, 2);
    /* the next report tells the collector one was lost, and only that one */
    struct proto_report *second = sent_report(f, 1);
    assert_int_equal(second->seq, 2);
    assert_int_equal(second->spool_quarantined, 1);
    proto_report_destroy(second);
    struct proto_report *third = sent_report(f, 2);
    assert_int_equal(third->spool_quarantined, 0);
    proto_report_destroy(third);
    const char *log = log_text(f);
    assert_non_null(strstr(log, "send seq=1"));
    assert_non_null(strstr(log, "status=400 result=rejected action=dropped"));
    assert_non_null(strstr(log, "error=snapshot.certs[0].der: bad base64"));
}

static void test_a_duplicate_answer_removes_the_record(void **state)
{
    struct fake *f = *state;
    const struct step steps[] = {{AGENT_SEND_ACKED, 200, 300, 0, true, PROTO_OK}};
    script(f, steps, 1);
    start(f);
    assert_int_equal(agent_run_once(f->run), AGENT_RUN_EXIT_EMPTY);
    struct agent_run_stats st;
    agent_run_get_stats(f->run, &st);
    assert_int_equal(st.duplicates, 1);
    assert_non_null(strstr(log_text(f), "status=200 result=ack duplicate=yes"));
}

static void test_a_transport_that_fails_outright_counts_as_retry_later(void **state)
{
    struct fake *f = *state;
    const struct step steps[] = {{AGENT_SEND_ACKED, 0, 0, 0, false, PROTO_ENOMEM}};
    script(f, steps, 1);
    start(f);
    assert_int_equal(agent_run_once(f->run), AGENT_RUN_EXIT_PENDING);
    assert_int_equal(spool_stats(f).records, 1);
    assert_non_null(strstr(log_text(f), "error=transport: "));
}

/* ---- schedule: backoff, interval, drain rate ------------------------------------------------ */

static void test_loop_backs_off_exponentially_and_honours_retry_after(void **state)
{
    struct fake *f = *state;
    const struct step steps[] = {
        RETRY, RETRY, {AGENT_SEND_RETRY, 429, 0, 20, false, PROTO_OK}, RETRY, ACK};
    script(f, steps, 5);
    f->stop_after_sleeps = 5;
    start(f);
    assert_int_equal(agent_run_loop(f->run), PROTO_OK);
    /* half of 1 s, 2 s; then Retry-After 20 s over half of 4 s; then half of 8 s */
    assert_int_equal(f->sleep_count, 5);
    assert_int_equal(f->sleeps[0], 500);
    assert_int_equal(f->sleeps[1], 1000);
    assert_int_equal(f->sleeps[2], 20000);
    assert_int_equal(f->sleeps[3], 4000);
    /* success: the rest of the hour until the next collection */
    assert_int_equal(f->sleeps[4], 3600000 - 25500);
    assert_int_equal(f->sends, 5);
    assert_int_equal(spool_stats(f).records, 0);
    assert_non_null(strstr(log_text(f), "status=429 result=retry curl=0 retry_after_s=20 "
                                        "retry_in_ms=20000"));
}

static void test_backoff_ceiling_is_capped(void **state)
{
    struct fake *f = *state;
    set(f, "backoff_base_ms", "1000");
    set(f, "backoff_cap_ms", "3000");
    f->rnd_num = 1;
    f->rnd_den = 1; /* the top of each range */
    const struct step steps[] = {RETRY, RETRY, RETRY, RETRY, ACK};
    script(f, steps, 5);
    f->stop_after_sleeps = 4;
    start(f);
    assert_int_equal(agent_run_loop(f->run), PROTO_OK);
    assert_int_equal(f->sleeps[0], 1000);
    assert_int_equal(f->sleeps[1], 2000);
    assert_int_equal(f->sleeps[2], 3000);
    assert_int_equal(f->sleeps[3], 3000);
}

static void test_the_collectors_interval_sets_the_next_sleep(void **state)
{
    struct fake *f = *state;
    const struct step steps[] = {{AGENT_SEND_ACKED, 202, 600, 0, false, PROTO_OK}};
    script(f, steps, 1);
    f->stop_after_sleeps = 1;
    start(f);
    assert_int_equal(agent_run_loop(f->run), PROTO_OK);
    assert_int_equal(agent_run_interval_s(f->run), 600);
    assert_int_equal(f->sleep_count, 1);
    assert_int_equal(f->sleeps[0], 600000);
}

static void test_interval_jitter_spans_plus_and_minus_the_configured_share(void **state)
{
    struct fake *f = *state;
    set(f, "interval_s", "1000");
    set(f, "jitter_percent", "10");
    f->rnd_num = 0; /* the bottom of the range */
    f->stop_after_sleeps = 1;
    start(f);
    assert_int_equal(agent_run_loop(f->run), PROTO_OK);
    assert_int_equal(f->sleeps[0], 900000);

    f->rnd_num = 1;
    f->rnd_den = 1; /* the top */
    f->stop = 0;
    f->stop_after_sleeps = 2;
    assert_int_equal(agent_run_loop(f->run), PROTO_OK);
    assert_int_equal(f->sleeps[1], 1100000);
}

static void test_an_interval_from_the_collector_is_kept_within_bounds(void **state)
{
    struct fake *f = *state;
    const struct step steps[] = {{AGENT_SEND_ACKED, 202, 1, 0, false, PROTO_OK},
                                 {AGENT_SEND_ACKED, 202, 100000000, 0, false, PROTO_OK}};
    script(f, steps, 2);
    start(f);
    assert_int_equal(agent_run_once(f->run), AGENT_RUN_EXIT_EMPTY);
    assert_int_equal(agent_run_interval_s(f->run), AGENT_RUN_MIN_INTERVAL_S);
    assert_int_equal(agent_run_once(f->run), AGENT_RUN_EXIT_EMPTY);
    assert_int_equal(agent_run_interval_s(f->run), AGENT_RUN_MAX_INTERVAL_S);
}

static void test_loop_collects_again_each_interval(void **state)
{
    struct fake *f = *state;
    set(f, "jitter_percent", "0");
    f->stop_after_sleeps = 3;
    start(f);
    assert_int_equal(agent_run_loop(f->run), PROTO_OK);
    assert_int_equal(f->sleep_count, 3);
    assert_int_equal(f->sends, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(f->sleeps[i], 3600000);
        assert_int_equal(f->send_times_ms[i], i * 3600000);
        struct proto_report *r = sent_report(f, i);
        assert_int_equal(r->snapshot->host.collected_at, START_S + (int64_t)i * 3600);
        proto_report_destroy(r);
    }
}

static void test_drain_after_an_outage_is_rate_limited(void **state)
{
    struct fake *f = *state;
    set(f, "drain_rate_per_s", "2");
    start(f);
    collect_n(f, 4);
    enum agent_drain_status status;
    assert_int_equal(agent_run_drain(f->run, &status), PROTO_OK);
    assert_int_equal(status, AGENT_DRAIN_EMPTY);
    assert_int_equal(f->sends, 4);
    /* the first goes at once, then one every 500 ms */
    assert_int_equal(f->sleep_count, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(f->sleeps[i], 500);
    }
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(f->send_times_ms[i], i * 500);
    }
    assert_non_null(strstr(log_text(f), "drain backlog=4 rate_per_s=2"));
}

static void test_loop_drains_slowly_once_the_collector_comes_back(void **state)
{
    struct fake *f = *state;
    set(f, "drain_rate_per_s", "4");
    set(f, "interval_s", "10");
    set(f, "jitter_percent", "0");
    set(f, "backoff_base_ms", "30000");
    set(f, "backoff_cap_ms", "30000");
    f->rnd_num = 1;
    f->rnd_den = 1;
    /* down for the first report and two more collections, then back */
    const struct step steps[] = {RETRY, ACK, ACK, ACK};
    script(f, steps, 4);
    f->stop_after_sleeps = 6;
    start(f);
    assert_int_equal(agent_run_loop(f->run), PROTO_OK);
    /* t=0 collect + fail (retry at 30 s); t=10, t=20 collect only; t=30 collect, then the
     * backlog goes out at 4/s until the stop */
    assert_int_equal(f->sleeps[0], 10000);
    assert_int_equal(f->sleeps[1], 10000);
    assert_int_equal(f->sleeps[2], 10000);
    assert_int_equal(f->sleeps[3], 250);
    assert_int_equal(f->sleeps[4], 250);
    assert_int_equal(f->sends, 4);
    assert_int_equal(f->send_times_ms[1], 30000);
    assert_int_equal(f->send_times_ms[2], 30250);
    assert_int_equal(f->send_times_ms[3], 30500);
}

static void test_a_single_report_after_a_quiet_period_is_not_delayed(void **state)
{
    struct fake *f = *state;
    set(f, "drain_rate_per_s", "1");
    start(f);
    assert_int_equal(agent_run_once(f->run), AGENT_RUN_EXIT_EMPTY);
    assert_int_equal(agent_run_once(f->run), AGENT_RUN_EXIT_EMPTY);
    assert_int_equal(f->sleep_count, 0);
}

/* ---- loss accounting ------------------------------------------------------------------------- */

static void test_dropped_reports_ride_on_the_next_send_and_are_reset_after_ack(void **state)
{
    struct fake *f = *state;
    set(f, "spool_max_records", "2");
    set(f, "drain_rate_per_s", "0");
    start(f);
    collect_n(f, 4); /* the two oldest are dropped */
    assert_int_equal(spool_stats(f).dropped, 2);
    enum agent_drain_status status;
    assert_int_equal(agent_run_drain(f->run, &status), PROTO_OK);
    assert_int_equal(f->sends, 2);
    struct proto_report *first = sent_report(f, 0);
    assert_int_equal(first->seq, 3);
    assert_int_equal(first->spool_dropped, 2);
    assert_int_equal(first->spool_quarantined, 0);
    proto_report_destroy(first);
    struct proto_report *second = sent_report(f, 1);
    assert_int_equal(second->spool_dropped, 0);
    proto_report_destroy(second);
    assert_int_equal(spool_stats(f).dropped, 0);
    struct agent_run_stats st;
    agent_run_get_stats(f->run, &st);
    assert_int_equal(st.loss_resets, 1);
    assert_non_null(strstr(log_text(f), "spool-full dropped=1"));
    assert_non_null(strstr(log_text(f), "result=ack duplicate=no report_id=- next_interval_s=0 "
                                        "conn=reused dropped=2 quarantined=0"));
}

static void test_loss_counts_survive_a_failed_send_and_a_duplicate_answer(void **state)
{
    struct fake *f = *state;
    set(f, "spool_max_records", "1");
    set(f, "drain_rate_per_s", "0");
    const struct step steps[] = {RETRY, {AGENT_SEND_ACKED, 200, 0, 0, true, PROTO_OK}, ACK};
    script(f, steps, 3);
    start(f);
    collect_n(f, 2); /* one dropped */
    enum agent_drain_status status;
    assert_int_equal(agent_run_drain(f->run, &status), PROTO_OK);
    assert_int_equal(status, AGENT_DRAIN_BACKOFF);
    assert_int_equal(spool_stats(f).dropped, 1); /* not sent: still owed */
    assert_int_equal(agent_run_drain(f->run, &status), PROTO_OK);
    /* a duplicate: the collector kept an earlier copy, so the count is owed again */
    assert_int_equal(spool_stats(f).dropped, 1);
    assert_int_equal(spool_stats(f).records, 0);
    assert_int_equal(agent_run_once(f->run), AGENT_RUN_EXIT_EMPTY);
    assert_int_equal(f->sends, 3);
    for (size_t i = 0; i < 3; i++) {
        struct proto_report *r = sent_report(f, i);
        assert_int_equal(r->spool_dropped, 1);
        proto_report_destroy(r);
    }
    assert_int_equal(spool_stats(f).dropped, 0);
}

static void test_a_report_lost_after_a_failed_send_is_counted_by_the_next_one(void **state)
{
    struct fake *f = *state;
    set(f, "spool_max_records", "1");
    const struct step steps[] = {RETRY, ACK};
    script(f, steps, 2);
    start(f);
    collect_n(f, 1);
    enum agent_drain_status status;
    assert_int_equal(agent_run_drain(f->run, &status), PROTO_OK); /* fails, stays spooled */
    collect_n(f, 1);                                              /* pushes it out: 1 lost */
    assert_int_equal(agent_run_drain(f->run, &status), PROTO_OK);
    struct proto_report *a = sent_report(f, 0);
    struct proto_report *b = sent_report(f, 1);
    assert_string_not_equal(a->report_id, b->report_id);
    assert_int_equal(a->spool_dropped, 0);
    assert_int_equal(b->seq, 2);
    assert_int_equal(b->spool_dropped, 1);
    proto_report_destroy(a);
    proto_report_destroy(b);
}

static void test_a_resent_report_keeps_its_id_and_seq_when_loss_counts_are_added(void **state)
{
    struct fake *f = *state;
    set(f, "spool_max_records", "2");
    set(f, "drain_rate_per_s", "0");
    const struct step steps[] = {RETRY, ACK};
    script(f, steps, 2);
    start(f);
    collect_n(f, 3); /* the first is dropped */
    uint64_t seq = 0;
    char *spooled = NULL;
    size_t len = 0;
    assert_int_equal(agent_spool_peek(f->spool, &seq, &spooled, &len), PROTO_OK);
    struct proto_report *on_disk = NULL;
    assert_int_equal(proto_json_decode_report(spooled, len, &on_disk, NULL), PROTO_OK);
    proto_free(spooled);
    enum agent_drain_status status;
    assert_int_equal(agent_run_drain(f->run, &status), PROTO_OK);
    assert_int_equal(agent_run_drain(f->run, &status), PROTO_OK);
    struct proto_report *first = sent_report(f, 0);
    struct proto_report *again = sent_report(f, 1);
    /* the spool keeps the report as collected; the counts are added on the way out */
    assert_int_equal(on_disk->spool_dropped, 0);
    assert_int_equal(first->spool_dropped, 1);
    assert_int_equal(again->spool_dropped, 1);
    assert_string_equal(first->report_id, on_disk->report_id);
    assert_string_equal(again->report_id, on_disk->report_id);
    assert_int_equal(first->seq, on_disk->seq);
    assert_int_equal(first->finding_count, on_disk->finding_count);
    assert_int_equal(first->snapshot->cert_count, on_disk->snapshot->cert_count);
    proto_report_destroy(on_disk);
    proto_report_destroy(first);
    proto_report_destroy(again);
}

static void test_a_corrupted_record_is_quarantined_and_reported(void **state)
{
    struct fake *f = *state;
    set(f, "drain_rate_per_s", "0");
    start(f);
    collect_n(f, 2);
    /* flip one body byte of the oldest record: its checksum no longer matches */
    char path[256];
    int n = snprintf(path, sizeof(path), "%s/%020llu.rec", f->spool_dir, 1ull);
    assert_true(n > 0 && (size_t)n < sizeof(path));
    FILE *rec = fopen(path, "r+b");
    assert_non_null(rec);
    assert_int_equal(fseek(rec, AGENT_SPOOL_HEADER_BYTES + 10, SEEK_SET), 0);
    int c = fgetc(rec);
    assert_int_equal(fseek(rec, AGENT_SPOOL_HEADER_BYTES + 10, SEEK_SET), 0);
    assert_int_not_equal(fputc(c ^ 0x20, rec), EOF);
    assert_int_equal(fclose(rec), 0);

    enum agent_drain_status status;
    assert_int_equal(agent_run_drain(f->run, &status), PROTO_OK);
    assert_int_equal(status, AGENT_DRAIN_EMPTY);
    assert_int_equal(f->sends, 1);
    struct proto_report *r = sent_report(f, 0);
    assert_int_equal(r->seq, 2);
    assert_int_equal(r->spool_quarantined, 1);
    proto_report_destroy(r);
    assert_int_equal(spool_stats(f).quarantined, 0);
}

/* ---- stop ------------------------------------------------------------------------------------ */

static void test_stop_ends_the_loop_during_the_interval_sleep(void **state)
{
    struct fake *f = *state;
    f->stop_after_sleeps = 1;
    start(f);
    assert_int_equal(agent_run_loop(f->run), PROTO_OK);
    assert_int_equal(f->sends, 1);
    assert_int_equal(f->sleep_count, 1);
    assert_non_null(strstr(log_text(f), "info stop collected=1 acked=1"));
}

static void test_stop_before_the_drain_sends_nothing_and_keeps_the_spool(void **state)
{
    struct fake *f = *state;
    start(f);
    collect_n(f, 2);
    f->stop = 1;
    enum agent_drain_status status;
    assert_int_equal(agent_run_drain(f->run, &status), PROTO_OK);
    assert_int_equal(status, AGENT_DRAIN_STOPPED);
    assert_int_equal(f->sends, 0);
    assert_int_equal(spool_stats(f).records, 2);
}

static void test_stop_during_a_rate_limited_drain_ends_it_between_sends(void **state)
{
    struct fake *f = *state;
    set(f, "drain_rate_per_s", "1");
    f->stop_after_sleeps = 1;
    start(f);
    collect_n(f, 3);
    enum agent_drain_status status;
    assert_int_equal(agent_run_drain(f->run, &status), PROTO_OK);
    assert_int_equal(status, AGENT_DRAIN_STOPPED);
    assert_int_equal(f->sends, 1);
    assert_int_equal(spool_stats(f).records, 2);
}

/* ---- out of memory ---------------------------------------------------------------------- */

static void test_every_allocation_failure_in_collect_and_send_is_survived(void **state)
{
    struct fake *f = *state;
    set(f, "spool_max_records", "2");
    set(f, "drain_rate_per_s", "0");
    const struct step steps[] = {RETRY};
    script(f, steps, 1);
    start(f);
    collect_n(f, 2);
    enum agent_drain_status status = AGENT_DRAIN_EMPTY;
    assert_int_equal(agent_run_drain(f->run, &status), PROTO_OK); /* the fake's script: retry */
    unsigned long n = 1;
    enum proto_rc rc = PROTO_ENOMEM;
    for (; rc != PROTO_OK && n < 100000; n++) { /* pushes one out: a send then carries a count */
        proto_alloc_fail_after(n);
        rc = agent_run_collect(f->run);
        proto_alloc_fail_after(0);
    }
    assert_int_equal(rc, PROTO_OK);
    assert_true(n > 10);
    assert_int_equal(spool_stats(f).dropped, 1);
    bool sent = false;
    for (n = 1; !sent && n < 100000; n++) {
        proto_alloc_fail_after(n);
        rc = agent_run_drain(f->run, &status);
        proto_alloc_fail_after(0);
        sent = rc == PROTO_OK && status == AGENT_DRAIN_EMPTY;
    }
    assert_true(sent);
    assert_true(n > 10);
    assert_int_equal(spool_stats(f).records, 0);
    assert_int_equal(spool_stats(f).dropped, 0);
    /* the count went out once, on the first report acknowledged */
    size_t carried = 0;
    for (size_t i = 0; i < f->sends; i++) {
        struct proto_report *r = sent_report(f, i);
        carried += r->spool_dropped;
        proto_report_destroy(r);
    }
    assert_true(carried >= 1);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_once_collects_sends_and_ends_with_an_empty_spool),
        T(test_once_keeps_the_report_spooled_when_the_collector_is_unreachable),
        T(test_once_with_a_missing_source_folder_is_a_configuration_error),
        T(test_once_sends_the_backlog_oldest_first_after_an_outage),
        T(test_fqdn_override_replaces_the_name_from_the_source),
        T(test_retry_later_stops_the_drain_and_keeps_the_rest_in_order),
        T(test_rejected_record_is_dropped_and_counted_without_blocking_the_rest),
        T(test_a_duplicate_answer_removes_the_record),
        T(test_a_transport_that_fails_outright_counts_as_retry_later),
        T(test_loop_backs_off_exponentially_and_honours_retry_after),
        T(test_backoff_ceiling_is_capped),
        T(test_the_collectors_interval_sets_the_next_sleep),
        T(test_interval_jitter_spans_plus_and_minus_the_configured_share),
        T(test_an_interval_from_the_collector_is_kept_within_bounds),
        T(test_loop_collects_again_each_interval),
        T(test_drain_after_an_outage_is_rate_limited),
        T(test_loop_drains_slowly_once_the_collector_comes_back),
        T(test_a_single_report_after_a_quiet_period_is_not_delayed),
        T(test_dropped_reports_ride_on_the_next_send_and_are_reset_after_ack),
        T(test_loss_counts_survive_a_failed_send_and_a_duplicate_answer),
        T(test_a_report_lost_after_a_failed_send_is_counted_by_the_next_one),
        T(test_a_resent_report_keeps_its_id_and_seq_when_loss_counts_are_added),
        T(test_a_corrupted_record_is_quarantined_and_reported),
        T(test_stop_ends_the_loop_during_the_interval_sleep),
        T(test_stop_before_the_drain_sends_nothing_and_keeps_the_spool),
        T(test_stop_during_a_rate_limited_drain_ends_it_between_sends),
        T(test_every_allocation_failure_in_collect_and_send_is_survived),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
