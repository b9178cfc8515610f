/*
 * fuzz_hostinfo: proto_hostinfo_parse on arbitrary text. Checks that the code page is only
 * ever set to 437 or 850 and that a failure leaves the host untouched.
 */
#include <stdint.h>
#include <stdlib.h>

#include "hostinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proto_host host = {0};
    unsigned cp = 1;
    enum proto_rc rc = proto_hostinfo_parse((const char *)data, size, &host, &cp);
    if (cp != 1 && cp != 437 && cp != 850) {
        abort();
    }
    if (rc != PROTO_OK &&
        (cp != 1 || host.hostname != NULL || host.fqdn != NULL || host.os != NULL ||
         host.agent_version != NULL || host.collected_at != 0)) {
        abort();
    }
    proto_host_clear(&host);
    return 0;
}
