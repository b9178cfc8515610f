/*
 * system_posix: builds without a Windows host (see system.h): agent_system_win32_open refuses,
 * so the callers need no #ifdef and a Linux agent remediates capture bundles only.
 */
#include "system.h"

enum proto_rc agent_system_win32_open(const struct agent_netsh_runner *runner,
                                      struct agent_system **out)
{
    (void)runner;
    if (out != NULL) {
        *out = NULL;
    }
    return PROTO_EUNSUPPORTED;
}
