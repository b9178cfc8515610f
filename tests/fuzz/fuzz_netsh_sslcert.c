/*
 * fuzz_netsh_sslcert: proto_netsh_sslcert_parse on arbitrary text. Checks that a failure
 * leaves no bindings, and that every kept hash is "" or 40 upper-case hex digits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "netsh_sslcert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proto_snapshot *snap = proto_snapshot_create();
    if (snap == NULL) {
        return 0;
    }
    enum proto_rc rc = proto_netsh_sslcert_parse((const char *)data, size, "fuzz", snap);
    if (rc != PROTO_OK && (snap->ssl_binding_count != 0 || snap->ssl_bindings_available)) {
        abort();
    }
    for (size_t i = 0; i < snap->ssl_binding_count; i++) {
        const struct proto_ssl_binding *b = &snap->ssl_bindings[i];
        size_t n = strlen(b->cert_hash);
        if (b->endpoint == NULL || b->kind == NULL || (n != 0 && n != PROTO_SHA1_HEX_LEN) ||
            strspn(b->cert_hash, "0123456789ABCDEF") != n) {
            abort();
        }
    }
    proto_snapshot_destroy(snap);
    return 0;
}
