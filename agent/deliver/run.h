/*
 * run: the agent's delivery loop (DESIGN §3, §10a): collect -> diagnose -> report -> spool ->
 * send, then wait for the interval the collector named, with jitter.
 *
 * Owns the schedule (next collection, next send attempt), the backoff state, the drain rate
 * after an outage, and which spooled report carries the spool's loss counts. Borrows the spool,
 * the configuration and every system seam: the transport, the clocks, sleep and randomness are
 * function pointers, so tests drive the loop with no network and no real waiting. Never parses
 * command lines and never talks to libcurl directly.
 *
 * Remediation online (DESIGN §8; remediation_mode dry-run or apply): an acknowledgement naming
 * a pending_profile makes the loop fetch that envelope, run it through agent/remediate exactly
 * as `rrasfleet-agent apply` would, and append the result to the results spool
 * (state_dir/results-spool, docs/decisions/013), which drains before the report spool.
 *
 * Events (agent_events.h, docs/windows-events.md): besides its log lines the loop hands env.event
 * what an administrator should hear about, once per change and never once per round: start and
 * stop, a changed set of finding ids, a failing collection, a collector outage and its end,
 * lost reports, and each remediation profile's fate.
 */
#ifndef AGENT_RUN_H
#define AGENT_RUN_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "agent_config.h"
#include "backoff.h"
#include "agent_events.h"
#include "spool.h"
#include "transport.h"

/* The collector may name an interval; it is kept within these bounds (the same as the
 * interval_s setting's). */
#define AGENT_RUN_MIN_INTERVAL_S 10u
#define AGENT_RUN_MAX_INTERVAL_S 604800u
/* Reports carrying loss counts that may be pending at once; beyond it counts wait. */
#define AGENT_RUN_MAX_CARRIERS 64u

#define AGENT_RUN_EXIT_EMPTY 0   /* --once: the spool ended empty */
#define AGENT_RUN_EXIT_PENDING 1 /* --once: reports remain spooled (or collection failed) */
#define AGENT_RUN_EXIT_CONFIG 2  /* --once: the configuration cannot work (no such source) */

/* How the loop sends one body; agent_transport_send behind it in production. Must fill *res
 * whenever it returns PROTO_OK; any other return counts as "retry later". */
struct agent_run_transport {
    enum proto_rc (*send)(void *ctx, const char *body, size_t len, struct agent_send_result *res);
    /* POST /v1/results; like send. NULL: remediation results are never sent. */
    enum proto_rc (*send_result)(void *ctx, const char *body, size_t len,
                                 struct agent_send_result *res);
    /* GET /v1/profiles/{id}: on PROTO_OK with res ACKED, *body (caller frees with proto_free)
     * holds the envelope; see agent_transport_fetch_profile. NULL: profiles are ignored. */
    enum proto_rc (*fetch_profile)(void *ctx, const char *profile_id, char **body, size_t *len,
                                   struct agent_send_result *res);
    void *ctx;
};

struct agent_run_clock {
    int64_t (*now_s)(void *ctx);         /* wall clock, Unix seconds: collected_at, validity */
    uint64_t (*monotonic_ms)(void *ctx); /* schedule and drain rate */
    /* Waits up to ms; may return early once *stop is set (stop may be NULL). */
    void (*sleep_ms)(void *ctx, uint64_t ms, volatile sig_atomic_t *stop);
    void *ctx;
};

/* Receives the events of agent_events.h as they happen, on the loop's thread. `detail` (borrowed
 * for the call) is one line of at most AGENT_EVENT_DETAIL_BYTES - 1 bytes: what happened, with the
 * ids, counts and errors an administrator needs (docs/windows-events.md). */
typedef void (*agent_run_event_fn)(void *ctx, enum agent_event id, const char *detail);

struct agent_run_env {
    struct agent_run_transport transport;
    struct agent_run_clock clock; /* all NULL: agent_run_system_clock() */
    agent_random_fn random;       /* NULL: agent_backoff_random */
    void *random_ctx;
    volatile sig_atomic_t *stop; /* non-zero ends the loop between steps; may be NULL */
    FILE *log;                   /* NULL: stderr */
    /* The results spool (borrowed, like the report spool); NULL when remediation_mode is off:
     * pending profiles are then ignored. */
    struct agent_spool *results;
    /* Events for an administrator (the Windows service sends them to the Event Log); NULL:
     * none. The log lines are written either way. */
    agent_run_event_fn event;
    void *event_ctx;
};

struct agent_run_stats {
    uint64_t collected;        /* reports appended to the spool */
    uint64_t collect_failures; /* rounds where no report could be made */
    uint64_t attempts;         /* send attempts */
    uint64_t acked;            /* acknowledged (202 or 200 duplicate) */
    uint64_t duplicates;       /* of which the collector already had */
    uint64_t retries;          /* retry-later answers */
    uint64_t rejected;         /* refused for good, dropped from the spool and counted */
    uint64_t loss_resets;      /* loss counts cleared after an acknowledged carrier */
    uint64_t profiles_fetched; /* envelopes fetched and run (any outcome) */
    uint64_t results_spooled;  /* results appended to the results spool */
    uint64_t results_acked;    /* results the collector acknowledged (or had) */
    uint64_t results_rejected; /* results refused for good, dropped */
};

enum agent_drain_status {
    AGENT_DRAIN_EMPTY,   /* every record went out; the spool is empty */
    AGENT_DRAIN_BACKOFF, /* a retry-later answer: wait until the backoff delay passed */
    AGENT_DRAIN_STOPPED, /* the stop flag was set */
};

struct agent_run;

/* The production clock: time(), CLOCK_MONOTONIC and a sleep that wakes early on *stop. */
struct agent_run_clock agent_run_system_clock(void);

/* Borrows cfg (validated by agent_config_validate), spool and env until destroyed. */
enum proto_rc agent_run_create(const struct agent_config *cfg, struct agent_spool *spool,
                               const struct agent_run_env *env, struct agent_run **out);
void agent_run_destroy(struct agent_run *run); /* accepts NULL */

/* One snapshot from the source, diagnosed, encoded and appended to the spool. PROTO_ENOTFOUND
 * if the source folder does not exist; other failures are logged and returned. */
enum proto_rc agent_run_collect(struct agent_run *run);

/* Sends spooled results, then spooled reports, oldest first, until both spools are empty, a
 * retry-later answer, or stop. Permanently refused records are dropped and counted.
 * Rate-limited after an outage. A pending profile announced meanwhile is fetched and run, and
 * its result spooled and sent, before this returns. */
enum proto_rc agent_run_drain(struct agent_run *run, enum agent_drain_status *status);

/* `run --once`: one collection and one full drain attempt; returns an AGENT_RUN_EXIT_* code
 * (PENDING also when a result remains spooled). */
int agent_run_once(struct agent_run *run);

/* `run`: collects every interval (the collector's, else interval_s, +- jitter_percent) and
 * drains, backing off after failures, until *env->stop. PROTO_OK on a clean stop. */
enum proto_rc agent_run_loop(struct agent_run *run);

void agent_run_get_stats(const struct agent_run *run, struct agent_run_stats *out);

/* The interval now in force, in seconds (the collector's last next_interval_s, clamped). */
uint64_t agent_run_interval_s(const struct agent_run *run);

#endif
