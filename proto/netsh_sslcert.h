/*
 * netsh_sslcert: parser of `netsh http show sslcert` output (http.sys SSL bindings).
 *
 * Bindings are blocks of 4-space-indented `Label : value` lines; the first line names the
 * endpoint (IP:port, Hostname:port, Central Certificate Store). Labels are matched
 * case-insensitively; certificate hashes are normalised to upper-case hex, app ids to lower case.
 */
#ifndef PROTO_NETSH_SSLCERT_H
#define PROTO_NETSH_SSLCERT_H

#include <stddef.h>

#include "model.h"

/* Same contract as proto_netsh_consec_parse: appends to snap->ssl_bindings and sets
 * ssl_bindings_available on success (an empty binding list is fine); errors get an entry. */
enum proto_rc proto_netsh_sslcert_parse(const char *text, size_t len, const char *source,
                                        struct proto_snapshot *snap);

#endif
