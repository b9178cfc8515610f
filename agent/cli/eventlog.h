/*
 * eventlog: the Windows service's event sink (run.h's agent_run_event_fn): each event goes to
 * the Application log under the source "rrasfleet" (service.h) with its id and severity from
 * rrasfleet-events.mc and the detail as insertion string %1, so Event Viewer shows the
 * message text of the executable's message table. eventlog_win32.c only: the console `run`
 * keeps its stderr log lines, and other systems have no Event Log. Never blocks the loop for
 * long and never fails it: an event that cannot be written is dropped.
 */
#ifndef AGENT_EVENTLOG_H
#define AGENT_EVENTLOG_H

#include "agent_events.h"

#ifdef _WIN32
struct agent_eventlog;

/* Opens the source (RegisterEventSourceW). NULL when it cannot be opened (events are then
 * dropped; agent_eventlog_report accepts NULL). Close with agent_eventlog_close. */
struct agent_eventlog *agent_eventlog_open(void);
void agent_eventlog_close(struct agent_eventlog *log); /* accepts NULL */

/* An agent_run_event_fn: ctx is the struct agent_eventlog (or NULL). */
void agent_eventlog_report(void *ctx, enum agent_event id, const char *detail);
#endif

#endif
