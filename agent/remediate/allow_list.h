/*
 * allow_list: where the closed action list (wire_profile.h) lands on a Windows host: each
 * allow-listed registry value's key under HKEY_LOCAL_MACHINE and value name, and each
 * allow-listed service's name and time limits, in one table per enum. system_win32.c opens
 * nothing else; the profile can name only an enum value, never a path or a service. The table
 * must agree with proto's allow-list (test_netsh_rule checks every entry). Owns static data only.
 */
#ifndef AGENT_ALLOW_LIST_H
#define AGENT_ALLOW_LIST_H

#include <stdint.h>

#include "wire_profile.h"

/* A registry DWORD of the allow-list: HKEY_LOCAL_MACHINE\<subkey>, value <value>, always read
 * and written in the 64-bit view (KEY_WOW64_64KEY). */
struct agent_allow_dword {
    const char *subkey; /* below HKEY_LOCAL_MACHINE, e.g. "SYSTEM\\...\\RasMan\\Parameters" */
    const char *value;  /* e.g. "ProhibitIpSec" */
};

/* A service of the allow-list and how long each half of a restart may take. */
struct agent_allow_service {
    const char *name; /* the service's key name, e.g. "RemoteAccess" */
    uint32_t stop_timeout_ms;
    uint32_t start_timeout_ms;
};

/* The entry for `name` (borrowed static), or NULL for a value outside the enum. */
const struct agent_allow_dword *agent_allow_dword(enum proto_dword_name name);

/* The entry for `service` (borrowed static), or NULL for a value outside the enum. */
const struct agent_allow_service *agent_allow_service(enum proto_service service);

#endif
