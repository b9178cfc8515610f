/*
 * timefmt: RFC 3339 timestamps <-> Unix seconds, for report times and certificate validity.
 * Pure functions; they own no memory and never read the clock or the TZ variable.
 */
#ifndef PROTO_TIMEFMT_H
#define PROTO_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#include "rc.h"

/* Converts "YYYY-MM-DDTHH:MM:SSZ" (RFC 3339, 'Z' or ±HH:MM offset) to Unix seconds. */
enum proto_rc proto_time_parse_rfc3339(const char *s, int64_t *out);
/* Formats Unix seconds as "YYYY-MM-DDTHH:MM:SSZ" into buf (at least 21 bytes). */
enum proto_rc proto_time_format_rfc3339(int64_t t, char *buf, size_t size);

#endif
