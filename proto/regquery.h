/*
 * regquery: parser of `reg query <key>` output.
 *
 * Lines: `HKEY_LOCAL_MACHINE\...` starts a key; `    <name>    <REG_TYPE>    <data>` is a value
 * (four-space separators; names may contain spaces; "(Default)"). REG_DWORD/REG_QWORD data are
 * 0x-hex, REG_BINARY hex pairs, REG_MULTI_SZ items joined by the two characters `\0`.
 * "ERROR: The system was unable to find the specified registry key or value." means the key is
 * absent: PROTO_ENOTFOUND, recorded as an error entry.
 */
#ifndef PROTO_REGQUERY_H
#define PROTO_REGQUERY_H

#include <stddef.h>

#include "model.h"

/* Appends values to snap->registry and sets registry_available on success. Same error contract
 * as proto_netsh_consec_parse. */
enum proto_rc proto_regquery_parse(const char *text, size_t len, const char *source,
                                   struct proto_snapshot *snap);

#endif
