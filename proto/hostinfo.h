/*
 * hostinfo: parser of a bundle's host.txt: `Key: value` lines (Hostname, FQDN, OS,
 * OEMCodePage, CollectedAt). Keys are case-insensitive; unknown keys are ignored (forward
 * compatible); values are trimmed and capped at PROTO_MAX_NAME.
 */
#ifndef PROTO_HOSTINFO_H
#define PROTO_HOSTINFO_H

#include <stddef.h>

#include "model.h"

/* Fills host (replacing members it sets) and *oem_codepage when an OEMCodePage line is present
 * (left unchanged otherwise). host.txt is read before the other files so the code page applies
 * to them. CollectedAt is RFC 3339. PROTO_EPARSE on a line without a colon or a bad number. */
enum proto_rc proto_hostinfo_parse(const char *text, size_t len, struct proto_host *host,
                                   unsigned *oem_codepage);

#endif
