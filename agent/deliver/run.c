/*
 * run: the delivery loop: schedule, drain, backoff, drain rate and loss accounting.
 *
 * Loss counts travel with the report being SENT, not the one being built: spooled bodies carry
 * zeros and the oldest record is re-encoded with the spool's counters just before it goes out.
 * One send is in flight at a time, so each loss rides on exactly one acknowledged report, with
 * no memory needed across restarts. A fresh acknowledgement subtracts what it carried; a
 * duplicate answer does not (the collector kept an earlier copy with unknown counts): a lost
 * acknowledgement may count a loss twice, never hide one. Records refused for good are dropped
 * and reported as quarantined; that count lives in memory only.
 */
#include "run.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent_os.h"
#include "alloc.h"
#include "json.h"
#include "printf_like.h"
#include "remediate.h"
#include "source.h"
#include "timefmt.h"
#include "uuid.h"
#include "x509.h"

struct agent_run {
    const struct agent_config *cfg;
    struct agent_spool *spool;
    struct agent_run_env env;
    struct agent_backoff backoff;
    enum agent_log_level level;
    uint64_t interval_s;
    uint64_t pending_rejected; /* refused records not yet carried by an acknowledged report */
    bool outage;               /* a retry-later answer since the spool was last empty */
    uint64_t next_send_ms;     /* no send attempt before this (backoff) */
    bool remediation;          /* mode dry-run or apply, a results spool and both seams */
    char pending_profile[37];  /* announced by an acknowledgement, not yet handled */
    struct agent_run_stats stats;
    /* What the events compare with (agent_events.h): */
    struct proto_strv findings; /* sorted unique finding ids of the last report made */
    bool collect_failing;       /* the last collection failed (COLLECT_FAILED was sent) */
    bool unreachable;           /* a retry-later answer since the last acknowledgement */
    uint64_t unreachable_since_ms;
    uint64_t unreachable_failures;
    uint64_t seen_dropped, seen_quarantined, seen_rejected; /* loss counts last looked at */
};

/* ---- system clock ---------------------------------------------------------------------- */

static int64_t run_sys_now_s(void *ctx)
{
    (void)ctx;
    return agent_os_now_s();
}

static uint64_t run_sys_monotonic_ms(void *ctx)
{
    (void)ctx;
    return agent_os_monotonic_ms();
}

static void run_sys_sleep_ms(void *ctx, uint64_t ms, volatile sig_atomic_t *stop)
{
    (void)ctx;
    agent_os_sleep_ms(ms, stop);
}

struct agent_run_clock agent_run_system_clock(void)
{
    struct agent_run_clock clock = {run_sys_now_s, run_sys_monotonic_ms, run_sys_sleep_ms, NULL};
    return clock;
}

/* ---- helpers ----------------------------------------------------------------------------- */

static const char *run_level_str(enum agent_log_level level)
{
    switch (level) {
    case AGENT_LOG_ERROR:
        return "error";
    case AGENT_LOG_WARN:
        return "warn";
    case AGENT_LOG_INFO:
        return "info";
    case AGENT_LOG_DEBUG:
        return "debug";
    }
    return "info";
}

static void run_log(struct agent_run *run, enum agent_log_level level, const char *fmt, ...)
    PROTO_PRINTF_LIKE(3, 4);

/* One line: "rrasfleet-agent: TIME LEVEL EVENT key=value ...". */
static void run_log(struct agent_run *run, enum agent_log_level level, const char *fmt, ...)
{
    if (level > run->level) {
        return;
    }
    char when[40];
    if (proto_time_format_rfc3339(run->env.clock.now_s(run->env.clock.ctx), when, sizeof(when)) !=
        PROTO_OK) {
        when[0] = '-';
        when[1] = '\0';
    }
    fprintf(run->env.log, "rrasfleet-agent: %s %s ", when, run_level_str(level));
    va_list ap;
    va_start(ap, fmt);
    vfprintf(run->env.log, fmt, ap);
    va_end(ap);
    fputc('\n', run->env.log);
    fflush(run->env.log);
}

static void run_event(struct agent_run *run, enum agent_event id, const char *fmt, ...)
    PROTO_PRINTF_LIKE(3, 4);

/* Formats the detail and hands it to env.event; a detail too long is cut with "...". */
static void run_event(struct agent_run *run, enum agent_event id, const char *fmt, ...)
{
    if (run->env.event == NULL) {
        return;
    }
    char detail[AGENT_EVENT_DETAIL_BYTES];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    if (n < 0) {
        detail[0] = '\0';
    } else if ((size_t)n >= sizeof(detail)) {
        memcpy(detail + sizeof(detail) - 4, "...", 4);
    }
    run->env.event(run->env.event_ctx, id, detail);
}

static bool run_stopped(const struct agent_run *run)
{
    return run->env.stop != NULL && *run->env.stop != 0;
}

static uint64_t run_now_ms(const struct agent_run *run)
{
    return run->env.clock.monotonic_ms(run->env.clock.ctx);
}

static void run_sleep(struct agent_run *run, uint64_t ms)
{
    if (ms > 0 && !run_stopped(run)) {
        run->env.clock.sleep_ms(run->env.clock.ctx, ms, run->env.stop);
    }
}

static uint64_t run_clamp_interval(uint64_t s)
{
    if (s < AGENT_RUN_MIN_INTERVAL_S) {
        return AGENT_RUN_MIN_INTERVAL_S;
    }
    return s > AGENT_RUN_MAX_INTERVAL_S ? AGENT_RUN_MAX_INTERVAL_S : s;
}

/* interval +- jitter_percent, uniformly. */
static uint64_t run_jittered_interval_ms(struct agent_run *run)
{
    uint64_t base = run->interval_s * 1000u;
    uint64_t span = base / 100u * run->cfg->jitter_percent;
    if (span == 0) {
        return base;
    }
    uint64_t r = run->env.random(run->env.random_ctx, 2 * span);
    if (r > 2 * span) {
        r = 2 * span;
    }
    return base - span + r;
}

/* ---- events ------------------------------------------------------------------------------ */

/* Appends text to buf[0..size) at *used (size > 4); what does not fit is dropped and the cut
 * marked with "...", as run_event marks a detail too long. */
static void run_append(char *buf, size_t size, size_t *used, const char *text)
{
    size_t len = strlen(text);
    size_t room = size - 1 - *used;
    bool cut = len > room;
    if (cut) {
        len = room;
    }
    memcpy(buf + *used, text, len);
    *used += len;
    buf[*used] = '\0';
    if (cut) {
        memcpy(buf + size - 4, "...", 4);
    }
}

/* The ids of `v` that are not in `other`, joined by ", ", after `label`; nothing when none. */
static void run_append_diff(char *buf, size_t size, size_t *used, const char *label,
                            const struct proto_strv *v, const struct proto_strv *other)
{
    bool first = true;
    for (size_t i = 0; i < v->count; i++) {
        if (proto_strv_contains(other, v->items[i])) {
            continue;
        }
        run_append(buf, size, used, first ? label : ", ");
        run_append(buf, size, used, v->items[i]);
        first = false;
    }
}

static int run_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The sorted, de-duplicated ids of the report's findings into *out (empty on entry). */
static enum proto_rc run_finding_ids(const struct proto_report *report, struct proto_strv *out)
{
    if (report->finding_count == 0) {
        return PROTO_OK;
    }
    const char **ids = proto_calloc(report->finding_count, sizeof(*ids));
    if (ids == NULL) {
        return PROTO_ENOMEM;
    }
    for (size_t i = 0; i < report->finding_count; i++) {
        ids[i] = report->findings[i].id != NULL ? report->findings[i].id : "";
    }
    qsort(ids, report->finding_count, sizeof(*ids), run_cmp_str);
    enum proto_rc result = PROTO_OK;
    for (size_t i = 0; i < report->finding_count && result == PROTO_OK; i++) {
        if (i == 0 || strcmp(ids[i], ids[i - 1]) != 0) {
            result = proto_strv_push(out, ids[i], report->finding_count);
        }
    }
    proto_free(ids);
    return result;
}

/* FINDINGS_CHANGED when the report's set of finding ids differs from the last report's (the
 * first report is compared with none: a host with findings says so once after each start). */
static void run_note_findings(struct agent_run *run, const struct proto_report *report)
{
    struct proto_strv now;
    memset(&now, 0, sizeof(now));
    if (run_finding_ids(report, &now) != PROTO_OK) {
        proto_strv_clear(&now);
        run_log(run, AGENT_LOG_WARN, "findings-compare failed error=%s",
                proto_rc_str(PROTO_ENOMEM));
        return;
    }
    bool same = now.count == run->findings.count;
    for (size_t i = 0; same && i < now.count; i++) {
        same = strcmp(now.items[i], run->findings.items[i]) == 0;
    }
    if (!same) {
        char detail[AGENT_EVENT_DETAIL_BYTES];
        size_t used = 0;
        detail[0] = '\0';
        for (size_t i = 0; i < now.count; i++) {
            run_append(detail, sizeof(detail), &used, i == 0 ? "" : ", ");
            run_append(detail, sizeof(detail), &used, now.items[i]);
        }
        if (now.count == 0) {
            run_append(detail, sizeof(detail), &used, "none");
        }
        run_append_diff(detail, sizeof(detail), &used, "; new: ", &now, &run->findings);
        run_append_diff(detail, sizeof(detail), &used, "; resolved: ", &run->findings, &now);
        run_event(run, AGENT_EVENT_FINDINGS_CHANGED, "%s", detail);
    }
    proto_strv_clear(&run->findings);
    run->findings = now;
}

/* SPOOL_DROPPED when a loss count grew since last looked at: the spool's overflow drops and
 * quarantined records, and the reports the collector refused for good. Called after every
 * change to them, so a count that went down (sent to the collector and cleared) is only
 * remembered. */
static void run_note_losses(struct agent_run *run)
{
    struct agent_spool_stats st;
    agent_spool_stats(run->spool, &st);
    uint64_t dropped = st.dropped > run->seen_dropped ? st.dropped - run->seen_dropped : 0;
    uint64_t quarantined =
        st.quarantined > run->seen_quarantined ? st.quarantined - run->seen_quarantined : 0;
    uint64_t rejected =
        run->pending_rejected > run->seen_rejected ? run->pending_rejected - run->seen_rejected : 0;
    run->seen_dropped = st.dropped;
    run->seen_quarantined = st.quarantined;
    run->seen_rejected = run->pending_rejected;
    if (dropped > 0 || quarantined > 0 || rejected > 0) {
        run_event(run, AGENT_EVENT_SPOOL_DROPPED,
                  "dropped=%llu (spool full: max_records=%lu max_bytes=%lu) quarantined=%llu "
                  "(unreadable) rejected=%llu (refused by the collector) spooled=%zu",
                  (unsigned long long)dropped, run->cfg->spool_max_records,
                  run->cfg->spool_max_bytes, (unsigned long long)quarantined,
                  (unsigned long long)rejected, st.records);
    }
}

/* COLLECTOR_UNREACHABLE on the first retry-later answer after an acknowledgement (or since the
 * start), COLLECTOR_RECOVERED on the first answer after that which is not retry-later. */
static void run_note_answer(struct agent_run *run, const struct agent_send_result *res,
                            uint64_t retry_in_ms)
{
    if (res->outcome == AGENT_SEND_RETRY) {
        if (run_stopped(run)) {
            return; /* a transfer the stop request aborted says nothing of the collector */
        }
        run->unreachable_failures++;
        if (!run->unreachable) {
            run->unreachable = true;
            run->unreachable_since_ms = run_now_ms(run);
            char st[32];
            int n = res->http_status > 0 ? snprintf(st, sizeof(st), "%ld", res->http_status)
                                         : snprintf(st, sizeof(st), "none");
            if (n < 0) {
                st[0] = '\0';
            }
            run_event(run, AGENT_EVENT_COLLECTOR_UNREACHABLE,
                      "collector=%s status=%s curl=%d error=%s retry_in_ms=%llu",
                      run->cfg->collector_url, st, res->curl_code,
                      res->error[0] != '\0' ? res->error : "-", (unsigned long long)retry_in_ms);
        }
        return;
    }
    if (run->unreachable) {
        uint64_t now = run_now_ms(run);
        uint64_t down_s =
            now > run->unreachable_since_ms ? (now - run->unreachable_since_ms) / 1000u : 0;
        run_event(run, AGENT_EVENT_COLLECTOR_RECOVERED,
                  "collector=%s down_s=%llu failed_attempts=%llu", run->cfg->collector_url,
                  (unsigned long long)down_s, (unsigned long long)run->unreachable_failures);
        run->unreachable = false;
        run->unreachable_failures = 0;
    }
}

/* ---- lifetime ---------------------------------------------------------------------------- */

enum proto_rc agent_run_create(const struct agent_config *cfg, struct agent_spool *spool,
                               const struct agent_run_env *env, struct agent_run **out)
{
    if (out == NULL) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    if (cfg == NULL || spool == NULL || env == NULL || env->transport.send == NULL) {
        return PROTO_EINVAL;
    }
    struct agent_run *run = proto_calloc(1, sizeof(*run));
    if (run == NULL) {
        return PROTO_ENOMEM;
    }
    run->cfg = cfg;
    run->spool = spool;
    run->env = *env;
    if (run->env.clock.now_s == NULL || run->env.clock.monotonic_ms == NULL ||
        run->env.clock.sleep_ms == NULL) {
        run->env.clock = agent_run_system_clock();
    }
    if (run->env.random == NULL) {
        run->env.random = agent_backoff_random;
        run->env.random_ctx = NULL;
    }
    if (run->env.log == NULL) {
        run->env.log = stderr;
    }
    run->level = agent_config_log_level(cfg);
    enum agent_remediation_mode mode = AGENT_REMEDIATION_OFF;
    run->remediation =
        agent_config_remediation_mode_parse(cfg->remediation_mode, &mode) == PROTO_OK &&
        mode != AGENT_REMEDIATION_OFF && run->env.results != NULL &&
        run->env.transport.send_result != NULL && run->env.transport.fetch_profile != NULL;
    run->interval_s = run_clamp_interval(cfg->interval_s);
    agent_backoff_init(&run->backoff, cfg->backoff_base_ms, cfg->backoff_cap_ms, run->env.random,
                       run->env.random_ctx);
    /* Losses counted before this start are not news (SPOOL_DROPPED is about growth). */
    struct agent_spool_stats st;
    agent_spool_stats(spool, &st);
    run->seen_dropped = st.dropped;
    run->seen_quarantined = st.quarantined;
    *out = run;
    return PROTO_OK;
}

void agent_run_destroy(struct agent_run *run)
{
    if (run != NULL) {
        proto_strv_clear(&run->findings);
    }
    proto_free(run);
}

void agent_run_get_stats(const struct agent_run *run, struct agent_run_stats *out)
{
    *out = run->stats;
}

uint64_t agent_run_interval_s(const struct agent_run *run)
{
    return run->interval_s;
}

/* ---- collect ----------------------------------------------------------------------------- */

static void run_take_findings(struct proto_report *report, struct proto_diagnosis *diag)
{
    report->findings = diag->findings;
    report->finding_count = diag->finding_count;
    diag->findings = NULL;
    diag->finding_count = 0;
}

/* Names the host: fqdn_override, else the source's FQDN, else its host name. */
static enum proto_rc run_name_host(struct agent_run *run, struct proto_host *host)
{
    const char *name = run->cfg->fqdn_override[0] != '\0' ? run->cfg->fqdn_override : NULL;
    if (name == NULL && host->fqdn == NULL) {
        name = host->hostname;
    }
    if (name != NULL) {
        char *copy = proto_strdup(name);
        if (copy == NULL) {
            return PROTO_ENOMEM;
        }
        proto_free(host->fqdn);
        host->fqdn = copy;
    }
    return host->fqdn != NULL && host->fqdn[0] != '\0' ? PROTO_OK : PROTO_EMISSING;
}

enum proto_rc agent_run_collect(struct agent_run *run)
{
    struct proto_report *report = NULL;
    struct proto_diagnosis *diag = NULL;
    struct proto_policy policy;
    char *text = NULL;
    size_t len = 0;
    const char *step = "memory";
    enum proto_rc result = PROTO_OK;

    memset(&policy, 0, sizeof(policy));
    report = proto_report_create();
    if (report == NULL) {
        result = PROTO_ENOMEM;
        goto out;
    }
    proto_snapshot_destroy(report->snapshot);
    report->snapshot = NULL;
    step = "source";
    result = agent_source_read(run->cfg, &report->snapshot);
    if (result) {
        goto out;
    }
    step = "host name";
    struct proto_host *host = &report->snapshot->host;
    result = run_name_host(run, host);
    if (result) {
        goto out;
    }
    int64_t now = run->env.clock.now_s(run->env.clock.ctx);
    host->collected_at = now;
    proto_free(host->agent_version);
    host->agent_version = proto_strdup(RRAS_VERSION);
    step = "diagnosis";
    result =
        host->agent_version != NULL ? agent_config_policy(run->cfg, now, &policy) : PROTO_ENOMEM;
    if (result == PROTO_OK) {
        result = proto_diagnose(report->snapshot, &policy, &diag);
    }
    if (result) {
        goto out;
    }
    run_take_findings(report, diag);
    step = "report id";
    result = proto_uuid_v4(report->report_id);
    if (result) {
        goto out;
    }
    /* Loss counts are added when the record is sent (see the top of this file). */
    report->seq = agent_spool_next_seq(run->spool);
    step = "encode";
    result = proto_json_encode_report(report, 0, &text, &len);
    if (result) {
        goto out;
    }
    step = "spool";
    uint64_t seq = 0;
    struct agent_spool_stats before, after;
    agent_spool_stats(run->spool, &before);
    result = agent_spool_append(run->spool, text, len, &seq);
    if (result) {
        goto out;
    }
    agent_spool_stats(run->spool, &after);
    run->stats.collected++;
    run_log(run, AGENT_LOG_INFO,
            "collect seq=%llu report_id=%s fqdn=%s bytes=%zu findings=%zu spooled=%zu",
            (unsigned long long)seq, report->report_id, host->fqdn, len, report->finding_count,
            after.records);
    if (after.dropped > before.dropped) {
        run_log(run, AGENT_LOG_WARN, "spool-full dropped=%llu max_records=%lu max_bytes=%lu",
                (unsigned long long)(after.dropped - before.dropped), run->cfg->spool_max_records,
                run->cfg->spool_max_bytes);
    }
    run->collect_failing = false;
    run_note_findings(run, report);
    run_note_losses(run);
out:
    if (result) {
        const char *error = result == PROTO_ENOTFOUND && strcmp(step, "source") == 0
                                ? "no such folder"
                                : proto_rc_str(result);
        run->stats.collect_failures++;
        run_log(run, AGENT_LOG_ERROR, "collect failed step=%s source=%s error=%s", step,
                run->cfg->source, error);
        if (!run->collect_failing) {
            run->collect_failing = true;
            run_event(run, AGENT_EVENT_COLLECT_FAILED, "step=%s source=%s error=%s", step,
                      run->cfg->source, error);
        }
    }
    proto_free(text);
    proto_diagnosis_destroy(diag);
    proto_policy_clear(&policy);
    proto_report_destroy(report);
    return result;
}

/* ---- drain ------------------------------------------------------------------------------- */

/* The losses the next send carries. */
struct run_losses {
    uint64_t dropped;
    uint64_t quarantined; /* the spool's: corrupted records */
    uint64_t rejected;    /* ours: refused by the collector for good */
};

/* Re-encodes `body` with the loss counts. *out is NULL when there is nothing to add, or when
 * the record does not decode (it is then sent as it is: the collector judges it). */
static enum proto_rc run_add_losses(const char *body, size_t len, const struct run_losses *l,
                                    char **out, size_t *out_len)
{
    struct proto_report *report = NULL;
    *out = NULL;
    *out_len = 0;
    if (l->dropped == 0 && l->quarantined == 0 && l->rejected == 0) {
        return PROTO_OK;
    }
    enum proto_rc result = proto_json_decode_report(body, len, &report, NULL);
    if (result == PROTO_ENOMEM) {
        return result;
    }
    if (result == PROTO_OK) {
        report->spool_dropped = l->dropped;
        report->spool_quarantined = l->quarantined + l->rejected;
        result = proto_json_encode_report(report, 0, out, out_len);
    }
    proto_report_destroy(report);
    return result == PROTO_ENOMEM ? result : PROTO_OK;
}

static void run_log_send(struct agent_run *run, uint64_t seq, size_t len,
                         const struct agent_send_result *res, const struct run_losses *carried,
                         uint64_t retry_in_ms)
{
    char status[32];
    int n = res->http_status > 0 ? snprintf(status, sizeof(status), "%ld", res->http_status)
                                 : snprintf(status, sizeof(status), "none");
    if (n < 0) {
        status[0] = '\0';
    }
    const char *conn = res->http_status == 0 ? "none" : res->new_connections > 0 ? "new" : "reused";
    unsigned long long dropped = (unsigned long long)carried->dropped;
    unsigned long long quarantined = (unsigned long long)(carried->quarantined + carried->rejected);
    switch (res->outcome) {
    case AGENT_SEND_ACKED:
        run_log(run, AGENT_LOG_INFO,
                "send seq=%llu bytes=%zu status=%s result=ack duplicate=%s report_id=%s "
                "next_interval_s=%llu conn=%s dropped=%llu quarantined=%llu",
                (unsigned long long)seq, len, status, res->duplicate ? "yes" : "no",
                res->report_id[0] != '\0' ? res->report_id : "-",
                (unsigned long long)res->next_interval_s, conn, dropped, quarantined);
        break;
    case AGENT_SEND_RETRY:
        run_log(run, AGENT_LOG_WARN,
                "send seq=%llu bytes=%zu status=%s result=retry curl=%d retry_after_s=%llu "
                "retry_in_ms=%llu conn=%s error=%s",
                (unsigned long long)seq, len, status, res->curl_code,
                (unsigned long long)res->retry_after_s, (unsigned long long)retry_in_ms, conn,
                res->error);
        break;
    case AGENT_SEND_REJECTED:
        run_log(run, AGENT_LOG_ERROR,
                "send seq=%llu bytes=%zu status=%s result=rejected action=dropped conn=%s "
                "error=%s",
                (unsigned long long)seq, len, status, conn, res->error);
        break;
    }
}

/* A retry-later answer, or the spool failing: wait before the next attempt. */
static uint64_t run_back_off(struct agent_run *run, uint64_t retry_after_s)
{
    run->outage = true;
    uint64_t delay = agent_backoff_next(&run->backoff, retry_after_s * 1000u);
    run->next_send_ms = run_now_ms(run) + delay;
    return delay;
}

/* After an acknowledgement: the collector has the losses this send carried. */
static void run_settle_losses(struct agent_run *run, const struct agent_send_result *res,
                              const struct run_losses *carried)
{
    if (res->duplicate ||
        (carried->dropped == 0 && carried->quarantined == 0 && carried->rejected == 0)) {
        return;
    }
    run->pending_rejected -=
        carried->rejected <= run->pending_rejected ? carried->rejected : run->pending_rejected;
    enum proto_rc rc = agent_spool_reset_loss(run->spool, carried->dropped, carried->quarantined);
    if (rc) {
        run_log(run, AGENT_LOG_WARN,
                "spool-loss-reset failed error=%s (losses may be counted twice)", proto_rc_str(rc));
        return;
    }
    run->stats.loss_resets++;
}

/* Sends one record; *done tells the caller to stop draining for this round. */
static enum proto_rc run_send_one(struct agent_run *run, uint64_t seq, const char *body, size_t len,
                                  enum agent_drain_status *status, bool *done)
{
    struct agent_spool_stats st;
    agent_spool_stats(run->spool, &st);
    struct run_losses carried = {st.dropped, st.quarantined, run->pending_rejected};
    char *with_losses = NULL;
    size_t with_len = 0;
    enum proto_rc result = run_add_losses(body, len, &carried, &with_losses, &with_len);
    if (result) {
        return result;
    }
    if (with_losses == NULL) {
        memset(&carried, 0, sizeof(carried)); /* sent as spooled: it carries nothing */
    } else {
        body = with_losses;
        len = with_len;
    }

    struct agent_send_result res;
    memset(&res, 0, sizeof(res));
    run->stats.attempts++;
    enum proto_rc rc = run->env.transport.send(run->env.transport.ctx, body, len, &res);
    if (rc) {
        memset(&res, 0, sizeof(res));
        res.outcome = AGENT_SEND_RETRY;
        int n = snprintf(res.error, sizeof(res.error), "transport: %s", proto_rc_str(rc));
        if (n < 0) {
            res.error[0] = '\0';
        }
    }

    switch (res.outcome) {
    case AGENT_SEND_ACKED:
        run->stats.acked++;
        run->stats.duplicates += res.duplicate ? 1u : 0u;
        agent_backoff_reset(&run->backoff);
        if (res.next_interval_s > 0) {
            run->interval_s = run_clamp_interval(res.next_interval_s);
        }
        run_log_send(run, seq, len, &res, &carried, 0);
        run_note_answer(run, &res, 0);
        if (run->remediation && res.pending_profile[0] != '\0') {
            memcpy(run->pending_profile, res.pending_profile, sizeof(run->pending_profile));
        }
        result = agent_spool_ack(run->spool, seq);
        if (result == PROTO_OK) {
            run_settle_losses(run, &res, &carried);
            run_note_losses(run); /* remembers the counts that went down */
        }
        break;
    case AGENT_SEND_REJECTED:
        run->stats.rejected++;
        agent_backoff_reset(&run->backoff);
        run_log_send(run, seq, len, &res, &carried, 0);
        run_note_answer(run, &res, 0);
        /* It will never be accepted: keeping it would block every later report. */
        result = agent_spool_ack(run->spool, seq);
        if (result == PROTO_OK) {
            run->pending_rejected++;
            run_note_losses(run);
        }
        break;
    case AGENT_SEND_RETRY: {
        run->stats.retries++;
        uint64_t delay = run_back_off(run, res.retry_after_s);
        run_log_send(run, seq, len, &res, &carried, delay);
        run_note_answer(run, &res, delay);
        *status = AGENT_DRAIN_BACKOFF;
        *done = true;
        break;
    }
    }
    if (result) {
        /* Without removing it the same record would go out again at once, forever. */
        run_log(run, AGENT_LOG_ERROR, "spool-remove failed seq=%llu error=%s",
                (unsigned long long)seq, proto_rc_str(result));
        run_back_off(run, 0);
        *status = AGENT_DRAIN_BACKOFF;
        *done = true;
        result = PROTO_OK;
    }
    proto_free(with_losses);
    return result;
}

static enum proto_rc run_drain_reports(struct agent_run *run, enum agent_drain_status *status)
{
    struct agent_spool_stats st;
    agent_spool_stats(run->spool, &st);
    unsigned long rate = run->cfg->drain_rate_per_s;
    bool limited = rate > 0 && (run->outage || st.records > 1);
    uint64_t period_ms = limited ? (1000u + rate - 1u) / rate : 0;
    uint64_t last_send_ms = 0;
    bool sent_any = false;
    if (limited && st.records > 1) {
        run_log(run, AGENT_LOG_INFO, "drain backlog=%zu rate_per_s=%lu", st.records, rate);
    }
    *status = AGENT_DRAIN_EMPTY;
    for (;;) {
        if (run_stopped(run)) {
            *status = AGENT_DRAIN_STOPPED;
            return PROTO_OK;
        }
        uint64_t seq = 0;
        char *body = NULL;
        size_t len = 0;
        enum proto_rc rc = agent_spool_peek(run->spool, &seq, &body, &len);
        run_note_losses(run); /* peek quarantines the records it cannot read */
        if (rc == PROTO_ENOTFOUND) {
            run->outage = false;
            *status = AGENT_DRAIN_EMPTY;
            return PROTO_OK;
        }
        if (rc) {
            run_log(run, AGENT_LOG_ERROR, "spool-read failed error=%s", proto_rc_str(rc));
            run_back_off(run, 0);
            *status = AGENT_DRAIN_BACKOFF;
            return rc;
        }
        if (limited && sent_any) {
            uint64_t now = run_now_ms(run);
            if (now < last_send_ms + period_ms) {
                run_sleep(run, last_send_ms + period_ms - now);
            }
            if (run_stopped(run)) {
                proto_free(body);
                *status = AGENT_DRAIN_STOPPED;
                return PROTO_OK;
            }
        }
        last_send_ms = run_now_ms(run);
        sent_any = true;
        bool done = false;
        rc = run_send_one(run, seq, body, len, status, &done);
        proto_free(body);
        if (rc) {
            run_log(run, AGENT_LOG_ERROR, "send seq=%llu failed error=%s", (unsigned long long)seq,
                    proto_rc_str(rc));
            run_back_off(run, 0);
            *status = AGENT_DRAIN_BACKOFF;
            return rc;
        }
        if (done) {
            return PROTO_OK;
        }
    }
}

/* ---- remediation online ------------------------------------------------------------------ */

static const char *run_status_text(const struct agent_send_result *res, char *buf, size_t size)
{
    int n = res->http_status > 0 ? snprintf(buf, size, "%ld", res->http_status)
                                 : snprintf(buf, size, "none");
    if (n < 0) {
        buf[0] = '\0';
    }
    return buf;
}

/* Sends spooled results oldest first: a result is acknowledged before the next report goes, so
 * the collector stops offering its profile. */
static enum proto_rc run_drain_results(struct agent_run *run, enum agent_drain_status *status)
{
    *status = AGENT_DRAIN_EMPTY;
    if (run->env.results == NULL || run->env.transport.send_result == NULL) {
        return PROTO_OK;
    }
    for (;;) {
        if (run_stopped(run)) {
            *status = AGENT_DRAIN_STOPPED;
            return PROTO_OK;
        }
        uint64_t seq = 0;
        char *body = NULL;
        size_t len = 0;
        enum proto_rc rc = agent_spool_peek(run->env.results, &seq, &body, &len);
        if (rc == PROTO_ENOTFOUND) {
            return PROTO_OK;
        }
        if (rc) {
            run_log(run, AGENT_LOG_ERROR, "results-spool-read failed error=%s", proto_rc_str(rc));
            run_back_off(run, 0);
            *status = AGENT_DRAIN_BACKOFF;
            return rc;
        }
        struct agent_send_result res;
        memset(&res, 0, sizeof(res));
        rc = run->env.transport.send_result(run->env.transport.ctx, body, len, &res);
        proto_free(body);
        if (rc) {
            memset(&res, 0, sizeof(res));
            res.outcome = AGENT_SEND_RETRY;
            int n = snprintf(res.error, sizeof(res.error), "transport: %s", proto_rc_str(rc));
            if (n < 0) {
                res.error[0] = '\0';
            }
        }
        char st[32];
        const char *conn = res.http_status == 0      ? "none"
                           : res.new_connections > 0 ? "new"
                                                     : "reused";
        bool remove = false;
        switch (res.outcome) {
        case AGENT_SEND_ACKED:
            run->stats.results_acked++;
            agent_backoff_reset(&run->backoff);
            run_note_answer(run, &res, 0);
            run_log(run, AGENT_LOG_INFO,
                    "result-send seq=%llu bytes=%zu status=%s result=ack duplicate=%s "
                    "result_id=%s conn=%s",
                    (unsigned long long)seq, len, run_status_text(&res, st, sizeof(st)),
                    res.duplicate ? "yes" : "no", res.report_id[0] != '\0' ? res.report_id : "-",
                    conn);
            remove = true;
            break;
        case AGENT_SEND_REJECTED:
            run->stats.results_rejected++;
            agent_backoff_reset(&run->backoff);
            run_note_answer(run, &res, 0);
            run_log(run, AGENT_LOG_ERROR,
                    "result-send seq=%llu bytes=%zu status=%s result=rejected action=dropped "
                    "conn=%s error=%s",
                    (unsigned long long)seq, len, run_status_text(&res, st, sizeof(st)), conn,
                    res.error);
            remove = true; /* it will never be accepted */
            break;
        case AGENT_SEND_RETRY: {
            uint64_t delay = run_back_off(run, res.retry_after_s);
            run_log(run, AGENT_LOG_WARN,
                    "result-send seq=%llu bytes=%zu status=%s result=retry curl=%d "
                    "retry_in_ms=%llu conn=%s error=%s",
                    (unsigned long long)seq, len, run_status_text(&res, st, sizeof(st)),
                    res.curl_code, (unsigned long long)delay, conn, res.error);
            run_note_answer(run, &res, delay);
            *status = AGENT_DRAIN_BACKOFF;
            return PROTO_OK;
        }
        }
        if (remove) {
            rc = agent_spool_ack(run->env.results, seq);
            if (rc) {
                run_log(run, AGENT_LOG_ERROR, "results-spool-remove failed seq=%llu error=%s",
                        (unsigned long long)seq, proto_rc_str(rc));
                run_back_off(run, 0);
                *status = AGENT_DRAIN_BACKOFF;
                return PROTO_OK;
            }
        }
    }
}

/* Encodes res and appends it to the results spool, then records the profile as handled. */
static enum proto_rc run_spool_result(struct agent_run *run, const struct proto_result *res)
{
    char *text = NULL;
    size_t len = 0;
    uint64_t seq = 0;
    enum proto_rc result = proto_wire_encode_result(res, &text, &len);
    if (result == PROTO_OK) {
        result = agent_spool_append(run->env.results, text, len, &seq);
    }
    proto_free(text);
    if (result) {
        run_log(run, AGENT_LOG_ERROR, "result-spool failed profile_id=%s result_id=%s error=%s",
                res->profile_id, res->result_id, proto_rc_str(result));
        return result;
    }
    run->stats.results_spooled++;
    run_log(run, AGENT_LOG_INFO, "result-spool seq=%llu profile_id=%s result_id=%s bytes=%zu",
            (unsigned long long)seq, res->profile_id, res->result_id, len);
    /* After the append: a crash in between can fetch the profile once more (its serial is then
     * refused as a replay), never lose the result. */
    enum proto_rc rc = agent_remediate_record_spooled(run->cfg->state_dir, res->profile_id);
    if (rc) {
        run_log(run, AGENT_LOG_WARN, "result-spool record failed profile_id=%s error=%s",
                res->profile_id, proto_rc_str(rc));
    }
    return PROTO_OK;
}

/* PROFILE_APPLIED (applied, or planned in dry-run), PROFILE_REFUSED or PROFILE_ROLLED_BACK. */
static void run_note_outcome(struct agent_run *run, const char *id, const struct proto_result *res)
{
    enum agent_event ev = AGENT_EVENT_PROFILE_APPLIED;
    switch (res->outcome) {
    case PROTO_OUTCOME_REFUSED:
        ev = AGENT_EVENT_PROFILE_REFUSED;
        break;
    case PROTO_OUTCOME_ROLLED_BACK:
        ev = AGENT_EVENT_PROFILE_ROLLED_BACK;
        break;
    default:
        break;
    }
    run_event(run, ev,
              "profile_id=%s serial=%llu outcome=%s host_mode=%s steps=%zu findings_before=%zu "
              "findings_after=%zu result_id=%s reason=%s",
              id, (unsigned long long)res->serial, proto_wire_outcome_str(res->outcome),
              run->cfg->remediation_mode, res->step_count, res->findings_before.count,
              res->findings_after.count, res->result_id,
              res->reason != NULL && res->reason[0] != '\0' ? res->reason : "-");
}

/* Fetches the announced profile, runs it, spools the result. Failures are logged: the
 * collector offers the profile again with the next acknowledgement. */
static void run_remediate(struct agent_run *run)
{
    char id[37];
    memcpy(id, run->pending_profile, sizeof(id));
    run->pending_profile[0] = '\0';
    if (agent_remediate_result_spooled(run->cfg->state_dir, id)) {
        run_log(run, AGENT_LOG_DEBUG, "profile-skip profile_id=%s reason=result already spooled",
                id);
        return;
    }
    char *envelope = NULL;
    size_t len = 0;
    struct agent_send_result res;
    memset(&res, 0, sizeof(res));
    enum proto_rc rc =
        run->env.transport.fetch_profile(run->env.transport.ctx, id, &envelope, &len, &res);
    char st[32];
    if (rc) {
        run_log(run, AGENT_LOG_ERROR, "profile-fetch profile_id=%s failed error=%s", id,
                proto_rc_str(rc));
        proto_free(envelope);
        return;
    }
    if (res.outcome != AGENT_SEND_ACKED && !res.oversized) {
        run_log(run, res.outcome == AGENT_SEND_RETRY ? AGENT_LOG_WARN : AGENT_LOG_ERROR,
                "profile-fetch profile_id=%s status=%s result=%s curl=%d error=%s", id,
                run_status_text(&res, st, sizeof(st)), agent_send_outcome_str(res.outcome),
                res.curl_code, res.error);
        proto_free(envelope);
        return;
    }
    run_log(run, AGENT_LOG_INFO, "profile-fetch profile_id=%s status=%s result=ok bytes=%zu%s", id,
            run_status_text(&res, st, sizeof(st)), len, res.oversized ? " oversized=yes" : "");
    run->stats.profiles_fetched++;
    run_event(run, AGENT_EVENT_PROFILE_RECEIVED, "profile_id=%s bytes=%zu%s host_mode=%s", id, len,
              res.oversized ? " oversized=yes" : "", run->cfg->remediation_mode);
    struct proto_result *result = proto_wire_result_create();
    char note[AGENT_REMEDIATE_NOTE_BYTES];
    note[0] = '\0';
    if (result == NULL) {
        rc = PROTO_ENOMEM;
    } else {
        struct agent_remediate_request req = {
            .cfg = run->cfg,
            .profile_id = id,
            .envelope = res.oversized ? NULL : envelope,
            .envelope_len = res.oversized ? 0 : len,
            .now = run->env.clock.now_s(run->env.clock.ctx),
        };
        rc = agent_remediate_envelope(&req, result, note, sizeof(note));
    }
    proto_free(envelope);
    if (rc) {
        run_log(run, AGENT_LOG_ERROR, "remediate profile_id=%s failed error=%s note=%s", id,
                proto_rc_str(rc), note[0] != '\0' ? note : "-");
        run_event(run, AGENT_EVENT_PROFILE_REFUSED,
                  "profile_id=%s reason=this host cannot run profiles (error=%s note=%s); no "
                  "result was sent",
                  id, proto_rc_str(rc), note[0] != '\0' ? note : "-");
        proto_wire_result_destroy(result);
        return;
    }
    if (note[0] != '\0') {
        run_log(run, AGENT_LOG_WARN, "remediate profile_id=%s note=%s", id, note);
    }
    run_log(run,
            result->outcome == PROTO_OUTCOME_APPLIED || result->outcome == PROTO_OUTCOME_PLANNED
                ? AGENT_LOG_INFO
                : AGENT_LOG_WARN,
            "remediate profile_id=%s serial=%llu host_mode=%s outcome=%s steps=%zu "
            "findings_before=%zu findings_after=%zu result_id=%s reason=%s",
            id, (unsigned long long)result->serial, run->cfg->remediation_mode,
            proto_wire_outcome_str(result->outcome), result->step_count,
            result->findings_before.count, result->findings_after.count, result->result_id,
            result->reason != NULL && result->reason[0] != '\0' ? result->reason : "-");
    run_note_outcome(run, id, result);
    (void)run_spool_result(run, result);
    proto_wire_result_destroy(result);
}

enum proto_rc agent_run_drain(struct agent_run *run, enum agent_drain_status *status)
{
    enum proto_rc rc = run_drain_results(run, status);
    if (rc || *status != AGENT_DRAIN_EMPTY) {
        return rc;
    }
    rc = run_drain_reports(run, status);
    if (run->pending_profile[0] != '\0' && !run_stopped(run)) {
        run_remediate(run);
        if (*status == AGENT_DRAIN_EMPTY) {
            enum proto_rc rrc = run_drain_results(run, status);
            rc = rc ? rc : rrc;
        }
    }
    return rc;
}

/* Records waiting in both spools. */
static size_t run_spooled(const struct agent_run *run)
{
    struct agent_spool_stats st;
    agent_spool_stats(run->spool, &st);
    size_t n = st.records;
    if (run->env.results != NULL) {
        agent_spool_stats(run->env.results, &st);
        n += st.records;
    }
    return n;
}

/* ---- the two modes ----------------------------------------------------------------------- */

int agent_run_once(struct agent_run *run)
{
    enum proto_rc rc = agent_run_collect(run);
    if (rc == PROTO_ENOTFOUND || rc == PROTO_EUNSUPPORTED) {
        return AGENT_RUN_EXIT_CONFIG;
    }
    enum agent_drain_status status = AGENT_DRAIN_EMPTY;
    (void)agent_run_drain(run, &status);
    size_t spooled = run_spooled(run);
    if (run->remediation) {
        run_log(run, AGENT_LOG_INFO,
                "once collected=%llu sent=%llu acked=%llu retries=%llu rejected=%llu "
                "spooled=%zu profiles=%llu results_acked=%llu",
                (unsigned long long)run->stats.collected, (unsigned long long)run->stats.attempts,
                (unsigned long long)run->stats.acked, (unsigned long long)run->stats.retries,
                (unsigned long long)run->stats.rejected, spooled,
                (unsigned long long)run->stats.profiles_fetched,
                (unsigned long long)run->stats.results_acked);
    } else {
        run_log(run, AGENT_LOG_INFO,
                "once collected=%llu sent=%llu acked=%llu retries=%llu rejected=%llu spooled=%zu",
                (unsigned long long)run->stats.collected, (unsigned long long)run->stats.attempts,
                (unsigned long long)run->stats.acked, (unsigned long long)run->stats.retries,
                (unsigned long long)run->stats.rejected, spooled);
    }
    if (rc != PROTO_OK || spooled > 0) {
        return AGENT_RUN_EXIT_PENDING;
    }
    return AGENT_RUN_EXIT_EMPTY;
}

enum proto_rc agent_run_loop(struct agent_run *run)
{
    uint64_t next_collect_ms = run_now_ms(run);
    run->next_send_ms = next_collect_ms;
    run_log(run, AGENT_LOG_INFO, "start interval_s=%llu collector=%s spool=%s",
            (unsigned long long)run->interval_s, run->cfg->collector_url, run->cfg->spool_dir);
    run_event(run, AGENT_EVENT_STARTED,
              "version=%s interval_s=%llu collector=%s source=%s spool=%s remediation_mode=%s",
              RRAS_VERSION, (unsigned long long)run->interval_s, run->cfg->collector_url,
              run->cfg->source, run->cfg->spool_dir, run->cfg->remediation_mode);
    while (!run_stopped(run)) {
        uint64_t now = run_now_ms(run);
        bool collected = false;
        if (now >= next_collect_ms) {
            (void)agent_run_collect(run);
            collected = true;
        }
        if (run_stopped(run)) {
            break;
        }
        if (run_spooled(run) > 0 && run_now_ms(run) >= run->next_send_ms) {
            enum agent_drain_status status = AGENT_DRAIN_EMPTY;
            (void)agent_run_drain(run, &status);
        }
        if (collected) {
            /* After the drain, so that an interval the collector just named applies now. */
            next_collect_ms = now + run_jittered_interval_ms(run);
        }
        size_t spooled = run_spooled(run);
        uint64_t wake = next_collect_ms;
        if (spooled > 0 && run->next_send_ms < wake) {
            wake = run->next_send_ms;
        }
        now = run_now_ms(run);
        if (wake > now) {
            run_log(run, AGENT_LOG_DEBUG, "sleep ms=%llu spooled=%zu",
                    (unsigned long long)(wake - now), spooled);
            run_sleep(run, wake - now);
        }
    }
    run_log(run, AGENT_LOG_INFO, "stop collected=%llu acked=%llu retries=%llu rejected=%llu",
            (unsigned long long)run->stats.collected, (unsigned long long)run->stats.acked,
            (unsigned long long)run->stats.retries, (unsigned long long)run->stats.rejected);
    run_event(run, AGENT_EVENT_STOPPED,
              "collected=%llu acked=%llu retries=%llu rejected=%llu "
              "spooled=%zu",
              (unsigned long long)run->stats.collected, (unsigned long long)run->stats.acked,
              (unsigned long long)run->stats.retries, (unsigned long long)run->stats.rejected,
              run_spooled(run));
    return PROTO_OK;
}
