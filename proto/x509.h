/*
 * x509: certificate facts through mbedTLS (DESIGN §4).
 *
 * Turns DER bytes into a proto_cert: SHA-1 and SHA-256 (upper-case hex), serial, subject and
 * issuer as RDN lists, SAN DNS names, wildcard flag, EKU OIDs (no EKU extension = any purpose),
 * key usage, validity, CA flag, self-signed. Never trusts the DER: unparseable input is an error
 * with a reason, the hashes are still filled so the certificate can be named.
 */
#ifndef PROTO_X509_H
#define PROTO_X509_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/*
 * Fills `cert` (which must be zeroed; store_index and has_private_key are left to the caller).
 * Copies the DER. On PROTO_EPARSE cert->parsed is false, sha1/sha256/der are set, and `why`
 * (if not NULL) receives a one-line reason. PROTO_ELIMIT past PROTO_MAX_CERT_DER_BYTES or the
 * per-certificate caps.
 */
enum proto_rc proto_x509_facts(const unsigned char *der, size_t len, struct proto_cert *cert,
                               char *why, size_t why_size);

#endif
