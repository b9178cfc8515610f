/*
 * service_wait: waits for a service to reach a state by polling its status through the agent's
 * clock (STYLE rule 15): a look every tenth of the service's own wait hint, between 50 ms and
 * 1 s, never past the deadline, so a restart waits no longer than the service needs and a hung
 * one ends at its limit. The status comes from a callback (QueryServiceStatusEx on Windows, a
 * script in tests); the module never calls the operating system itself and owns nothing.
 */
#ifndef AGENT_SERVICE_WAIT_H
#define AGENT_SERVICE_WAIT_H

#include <stddef.h>
#include <stdint.h>

#include "rc.h"

/* Service states, numbered as Windows numbers them (SERVICE_STOPPED ... SERVICE_PAUSED). */
enum agent_service_state {
    AGENT_SERVICE_STOPPED = 1,
    AGENT_SERVICE_START_PENDING = 2,
    AGENT_SERVICE_STOP_PENDING = 3,
    AGENT_SERVICE_RUNNING = 4,
    AGENT_SERVICE_CONTINUE_PENDING = 5,
    AGENT_SERVICE_PAUSE_PENDING = 6,
    AGENT_SERVICE_PAUSED = 7,
};

#define AGENT_SERVICE_POLL_MIN_MS 50u
#define AGENT_SERVICE_POLL_MAX_MS 1000u

struct agent_service_status {
    uint32_t state;        /* enum agent_service_state */
    uint32_t wait_hint_ms; /* how long the service says its pending state may take; 0 unknown */
    uint32_t exit_code;    /* the service's Win32 exit code once stopped */
};

/* Reads the service's status now; on failure `why` gets one line. */
typedef enum proto_rc (*agent_service_query_fn)(void *ctx, struct agent_service_status *out,
                                                char *why, size_t why_size);

struct agent_service_clock {
    uint64_t (*now_ms)(void *ctx);            /* monotonic milliseconds */
    void (*sleep_ms)(void *ctx, uint64_t ms); /* waits that long */
    void *ctx;
};

/* The agent's own clock (agent_os_monotonic_ms, agent_os_sleep_ms); borrowed static. */
const struct agent_service_clock *agent_service_os_clock(void);

/* "STOPPED", "RUNNING", ...; "UNKNOWN" outside the enum. Borrowed static. */
const char *agent_service_state_str(uint32_t state);

/*
 * Polls until the service named `name` (for messages) is in state `want`. PROTO_OK when it is;
 * PROTO_EUNAVAILABLE when timeout_ms passed first (why names the state it is stuck in);
 * PROTO_EIO when it stopped while it was to reach RUNNING (why gives its exit code); the
 * query's own code when a query fails. *last (may be NULL) gets the last status read.
 */
enum proto_rc agent_service_wait(agent_service_query_fn query, void *ctx, const char *name,
                                 uint32_t want, uint32_t timeout_ms,
                                 const struct agent_service_clock *clock,
                                 struct agent_service_status *last, char *why, size_t why_size);

#endif
