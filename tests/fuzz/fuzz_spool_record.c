/*
 * fuzz_spool_record: agent_spool_record_check on arbitrary bytes (a spool file as found on
 * disk). What it accepts must describe a body inside the input that re-encodes to exactly the
 * same bytes (the format is canonical); abort() if not.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t seq = 0;
    size_t off = 0, len = 0;
    unsigned char *again = NULL;
    size_t again_len = 0;

    if (size > AGENT_SPOOL_HEADER_BYTES + AGENT_SPOOL_MAX_RECORD_BYTES + 16) {
        return 0;
    }
    enum proto_rc rc = agent_spool_record_check(data, size, &seq, &off, &len);
    if (rc != PROTO_OK) {
        if (rc != PROTO_EPARSE && rc != PROTO_ELIMIT) {
            abort();
        }
        return 0;
    }
    if (off != AGENT_SPOOL_HEADER_BYTES || off + len != size || seq == 0 || seq == UINT64_MAX ||
        len > AGENT_SPOOL_MAX_RECORD_BYTES) {
        abort();
    }
    if (agent_spool_record_encode(seq, (const char *)data + off, len, &again, &again_len) !=
            PROTO_OK ||
        again_len != size || memcmp(again, data, size) != 0) {
        abort();
    }
    proto_free(again);
    return 0;
}
