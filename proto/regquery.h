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

#include "buf.h"
#include "model.h"

/* Appends values to snap->registry and sets registry_available on success. Same error contract
 * as proto_netsh_consec_parse. */
enum proto_rc proto_regquery_parse(const char *text, size_t len, const char *source,
                                   struct proto_snapshot *snap);

/*
 * The inverse of the parser: appends to `out` what `reg query KEY` prints for `values`
 * (borrowed, count of them), as decoded text (UTF-8, LF; proto_text_encode makes the file
 * bytes): a blank line, the key line, one `    NAME    TYPE    DATA` line per value, a blank
 * line; a new key block whenever the key changes. Empty data prints the trailing separator
 * except for REG_MULTI_SZ (as reg.exe does). With no values, `empty_key` (may be NULL: nothing
 * but the blank lines) is printed as a key without values. Subkey lines and the "End of
 * search" line are not in the model and are not printed; a PROTO_REG_OTHER value prints as
 * "REG_OTHER". PROTO_ELIMIT past out->max.
 */
enum proto_rc proto_regquery_print(const char *empty_key, const struct proto_reg_value *values,
                                   size_t count, struct proto_buf *out);

#endif
