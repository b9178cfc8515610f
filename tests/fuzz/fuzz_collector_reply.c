/*
 * fuzz_collector_reply: the collector's answers are outside input to the agent. The first two
 * bytes pick the HTTP status (100..599), the third a Retry-After, the rest is the body (capped
 * like the transport caps it). Checks the classification's promises: an acknowledgement only
 * for 202 or 200, one printable NUL-terminated error line, a report id of 0 or 36 characters.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "transport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int hooks_installed;
    if (!hooks_installed) {
        proto_alloc_install_cjson_hooks();
        hooks_installed = 1;
    }
    if (size < 3) {
        return 0;
    }
    long status = 100 + (long)(((unsigned)data[0] << 8 | data[1]) % 500u);
    long retry_after = (long)data[2] - 1;
    const char *body = (const char *)data + 3;
    size_t len = size - 3;
    if (len > AGENT_TRANSPORT_MAX_RESPONSE) {
        len = AGENT_TRANSPORT_MAX_RESPONSE;
    }
    struct agent_send_result res;
    agent_transport_classify(status, body, len, retry_after, &res);
    if (res.outcome == AGENT_SEND_ACKED && status != 202 && status != 200) {
        abort();
    }
    if (res.outcome == AGENT_SEND_REJECTED && (status < 400 || status > 499)) {
        abort();
    }
    size_t elen = strnlen(res.error, sizeof(res.error));
    if (elen == sizeof(res.error)) {
        abort();
    }
    for (size_t i = 0; i < elen; i++) {
        if ((unsigned char)res.error[i] < 0x20 || res.error[i] == 0x7f) {
            abort();
        }
    }
    size_t idlen = strnlen(res.report_id, sizeof(res.report_id));
    if (idlen != 0 && idlen != sizeof(res.report_id) - 1) {
        abort();
    }
    if (res.next_interval_s > ((uint64_t)1 << 53)) {
        abort();
    }
    return 0;
}
