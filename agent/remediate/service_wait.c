/*
 * service_wait: the polling loop of a service restart (see service_wait.h). The interval
 * follows Microsoft's guidance for SERVICE_STATUS.dwWaitHint (look again after a tenth of it),
 * clamped so that a service without a hint is still seen promptly.
 */
#include "service_wait.h"

#include <stdbool.h>

#include "agent_os.h"

static uint64_t wait_os_now(void *ctx)
{
    (void)ctx;
    return agent_os_monotonic_ms();
}

static void wait_os_sleep(void *ctx, uint64_t ms)
{
    (void)ctx;
    agent_os_sleep_ms(ms, NULL);
}

static const struct agent_service_clock wait_os_clock = {wait_os_now, wait_os_sleep, NULL};

const struct agent_service_clock *agent_service_os_clock(void)
{
    return &wait_os_clock;
}

const char *agent_service_state_str(uint32_t state)
{
    static const char *const names[] = {
        "UNKNOWN", "STOPPED",          "START_PENDING", "STOP_PENDING",
        "RUNNING", "CONTINUE_PENDING", "PAUSE_PENDING", "PAUSED",
    };
    return state < sizeof(names) / sizeof(names[0]) ? names[state] : names[0];
}

enum proto_rc agent_service_wait(agent_service_query_fn query, void *ctx, const char *name,
                                 uint32_t want, uint32_t timeout_ms,
                                 const struct agent_service_clock *clock,
                                 struct agent_service_status *last, char *why, size_t why_size)
{
    struct agent_service_status st = {0, 0, 0};
    proto_errf(why, why_size, "%s", "");
    if (query == NULL || clock == NULL || clock->now_ms == NULL || clock->sleep_ms == NULL) {
        return PROTO_EINVAL;
    }
    if (name == NULL) {
        name = "the service";
    }
    uint64_t deadline = clock->now_ms(clock->ctx) + timeout_ms;
    enum proto_rc result = PROTO_OK;
    for (;;) {
        result = query(ctx, &st, why, why_size);
        if (result || st.state == want) {
            break;
        }
        if (want == AGENT_SERVICE_RUNNING && st.state == AGENT_SERVICE_STOPPED) {
            proto_errf(why, why_size, "%s stopped while starting (exit code %lu)", name,
                       (unsigned long)st.exit_code);
            result = PROTO_EIO;
            break;
        }
        uint64_t now = clock->now_ms(clock->ctx);
        if (now >= deadline) {
            proto_errf(why, why_size, "%s did not reach %s within %lu s (it is %s)", name,
                       agent_service_state_str(want), (unsigned long)(timeout_ms / 1000u),
                       agent_service_state_str(st.state));
            result = PROTO_EUNAVAILABLE;
            break;
        }
        uint64_t step = st.wait_hint_ms / 10u;
        step = step < AGENT_SERVICE_POLL_MIN_MS   ? AGENT_SERVICE_POLL_MIN_MS
               : step > AGENT_SERVICE_POLL_MAX_MS ? AGENT_SERVICE_POLL_MAX_MS
                                                  : step;
        clock->sleep_ms(clock->ctx, step < deadline - now ? step : deadline - now);
    }
    if (last != NULL) {
        *last = st;
    }
    return result;
}
