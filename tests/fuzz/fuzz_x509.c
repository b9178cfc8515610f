/*
 * fuzz_x509: proto_x509_facts on arbitrary bytes. Checks the contract on every outcome (hashes
 * always set; parsed only on success) and that the names it builds survive dn's own
 * format/parse round trip; abort() on any violation.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "caps.h"
#include "dn.h"
#include "model.h"
#include "timefmt.h"
#include "x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_x509_dn(const struct proto_dn *dn)
{
    char *text = NULL;
    struct proto_dn again = {0};

    if (proto_dn_format(dn, false, &text) != PROTO_OK) {
        abort();
    }
    if (dn->count > 0 && strlen(text) <= PROTO_MAX_NAME) {
        if (proto_dn_parse(text, &again) != PROTO_OK || !proto_dn_equal(dn, &again)) {
            abort();
        }
    }
    proto_dn_clear(&again);
    proto_free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proto_cert cert;
    char why[256];
    char when[32];

    memset(&cert, 0, sizeof(cert));
    enum proto_rc rc = proto_x509_facts(data, size, &cert, why, sizeof(why));
    if (strlen(cert.sha1) != PROTO_SHA1_HEX_LEN || strlen(cert.sha256) != PROTO_SHA256_HEX_LEN) {
        abort();
    }
    if (rc == PROTO_OK) {
        if (!cert.parsed || cert.serial == NULL || cert.der_len != size ||
            memcmp(cert.der, data, size) != 0) {
            abort();
        }
        if (proto_time_format_rfc3339(cert.not_before, when, sizeof(when)) != PROTO_OK ||
            proto_time_format_rfc3339(cert.not_after, when, sizeof(when)) != PROTO_OK) {
            abort();
        }
        if (cert.san_dns.count > PROTO_MAX_SAN_NAMES || cert.eku.count > PROTO_MAX_EKUS) {
            abort();
        }
        fuzz_x509_dn(&cert.subject);
        fuzz_x509_dn(&cert.issuer);
    } else {
        if (cert.parsed || cert.serial != NULL || cert.subject.count != 0 || why[0] == '\0') {
            abort();
        }
    }
    proto_cert_clear(&cert);
    return 0;
}
