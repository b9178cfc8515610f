/*
 * agent_events: what the run loop tells an administrator about, as numbered events (the Windows
 * Event Log's event ids; docs/windows-events.md lists each with its level, message and what to do).
 *
 * The numbers are a contract: agent/cli/rrasfleet-events.mc gives each one its Event Viewer
 * text under the same MessageId and Severity, eventlog_win32.c checks that at compile time
 * against the header windmc generates, and test_run_events checks it on the .mc text. Ids are
 * never renumbered or reused. Portable: this module knows nothing of where events go
 * (run.h's agent_run_env.event is the seam).
 */
#ifndef AGENT_EVENTS_H
#define AGENT_EVENTS_H

#include <stddef.h>

/* Grouped by hundreds: 1xx the service, 2xx collection, 3xx delivery, 4xx remediation. */
enum agent_event {
    AGENT_EVENT_STARTED = 100,               /* the delivery loop started */
    AGENT_EVENT_STOPPED = 101,               /* the delivery loop stopped cleanly */
    AGENT_EVENT_CONFIG_ERROR = 102,          /* settings or set-up refused: the agent cannot run */
    AGENT_EVENT_FINDINGS_CHANGED = 200,      /* the set of finding ids differs from last round's */
    AGENT_EVENT_COLLECT_FAILED = 201,        /* no report could be made (once per failure streak) */
    AGENT_EVENT_COLLECTOR_UNREACHABLE = 300, /* first retry-later answer of an outage */
    AGENT_EVENT_COLLECTOR_RECOVERED = 301,   /* the collector answered again after an outage */
    AGENT_EVENT_SPOOL_DROPPED = 302,         /* the loss counters grew: reports were lost */
    AGENT_EVENT_PROFILE_RECEIVED = 400,      /* a remediation profile was fetched */
    AGENT_EVENT_PROFILE_APPLIED = 401,       /* applied, or planned in dry-run mode */
    AGENT_EVENT_PROFILE_REFUSED = 402,       /* refused: nothing was changed */
    AGENT_EVENT_PROFILE_ROLLED_BACK = 403,   /* a step failed; the earlier ones were undone */
};

/* An event's level, as the Event Log's types (and the .mc file's Severity names). */
enum agent_event_level {
    AGENT_EVENT_INFO,    /* Severity=Informational, EVENTLOG_INFORMATION_TYPE */
    AGENT_EVENT_WARNING, /* Severity=Warning, EVENTLOG_WARNING_TYPE */
    AGENT_EVENT_ERROR,   /* Severity=Error, EVENTLOG_ERROR_TYPE */
};

/* The longest detail text the run loop hands over, with its NUL; longer ones are cut with
 * "...". The Event Log takes up to 31,839 characters per insertion string. */
#define AGENT_EVENT_DETAIL_BYTES 2048u

/* How many events there are, and the i-th (0 <= i < count) in id order: for tests and tables. */
size_t agent_event_count(void);
enum agent_event agent_event_at(size_t i);

/* The event's level; AGENT_EVENT_ERROR for a number that is no event. */
enum agent_event_level agent_event_level(enum agent_event id);

/* The event's symbolic name as in the .mc file ("RRAS_EVENT_STARTED"); borrowed static string,
 * NULL for a number that is no event. */
const char *agent_event_name(enum agent_event id);

#endif
