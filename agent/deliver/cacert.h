/*
 * cacert: the collector's CA named by thumbprint in Windows' LocalMachine\Root (the
 * `ca_thumbprint` setting), handed to curl as PEM text (CURLOPT_CAINFO_BLOB) in place of a
 * ca_file, so that a machine whose CA arrives by Group Policy needs no file on disk.
 *
 * Only that one certificate is trusted, exactly as with a ca_file: curl checks the chain
 * itself against it, and the rest of the Root store is never consulted. Reads the store,
 * never writes it, and never logs.
 */
#ifndef AGENT_CACERT_H
#define AGENT_CACERT_H

#include <stddef.h>

#include "rc.h"

#define AGENT_CACERT_MAX_PEM 65536u /* a CA certificate as PEM; real ones are 1-3 KB */

/*
 * Windows (cacert_win32.c): the certificate of LocalMachine\Root whose SHA-1 thumbprint is
 * `thumbprint` (any form agent_config_thumbprint reads), as NUL-terminated PEM in *pem
 * (caller frees with proto_free) of *len bytes. PROTO_EPARSE for a malformed thumbprint,
 * PROTO_ENOTFOUND when the store holds no such certificate, PROTO_EIO when the store cannot be
 * opened or the certificate not encoded, PROTO_ELIMIT beyond AGENT_CACERT_MAX_PEM, PROTO_ENOMEM;
 * `why` says which in one line. Not built elsewhere (validate refuses ca_thumbprint there).
 */
enum proto_rc agent_cacert_root_pem(const char *thumbprint, char **pem, size_t *len, char *why,
                                    size_t why_size);

#endif
