/*
 * system: what every implementation of the system interface shares: freeing a rule state and
 * the system itself. The implementations live in system_sim.c and (later) system_win32.c.
 */
#include "system.h"

#include <string.h>

#include "alloc.h"

void agent_rule_state_clear(struct agent_rule_state *state)
{
    if (state != NULL) {
        proto_rule_clear(&state->rule);
        memset(state, 0, sizeof(*state));
    }
}

void agent_system_destroy(struct agent_system *sys)
{
    if (sys == NULL) {
        return;
    }
    if (sys->destroy != NULL) {
        sys->destroy(sys);
    }
    proto_free(sys);
}
