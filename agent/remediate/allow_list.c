/*
 * allow_list: the Windows host's side of the closed action list (see allow_list.h).
 *
 * RemoteAccess stops within seconds on a healthy server but waits for its connections to
 * close; the limits leave room for that and still end a hung restart, which the apply then
 * reports and rolls back.
 */
#include "allow_list.h"

#include <stddef.h>

#define ALLOW_RASMAN_PARAMETERS "SYSTEM\\CurrentControlSet\\Services\\RasMan\\Parameters"

static const struct agent_allow_dword allow_dwords[PROTO_DWORD_NAME_COUNT] = {
    [PROTO_DWORD_PROHIBIT_IPSEC] = {ALLOW_RASMAN_PARAMETERS, "ProhibitIpSec"},
    [PROTO_DWORD_ALLOW_L2TP_WEAK_CRYPTO] = {ALLOW_RASMAN_PARAMETERS, "AllowL2TPWeakCrypto"},
};

static const struct agent_allow_service allow_services[PROTO_SERVICE_COUNT] = {
    [PROTO_SERVICE_REMOTE_ACCESS] = {"RemoteAccess", 120000u, 120000u},
};

const struct agent_allow_dword *agent_allow_dword(enum proto_dword_name name)
{
    return (unsigned)name < PROTO_DWORD_NAME_COUNT ? &allow_dwords[name] : NULL;
}

const struct agent_allow_service *agent_allow_service(enum proto_service service)
{
    return (unsigned)service < PROTO_SERVICE_COUNT ? &allow_services[service] : NULL;
}
