/*
 * fuzz_regquery: proto_regquery_parse on arbitrary text. Checks that a failure leaves no
 * values, that DWORDs fit 32 bits and that BINARY bytes are half the printed hex.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "regquery.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proto_snapshot *snap = proto_snapshot_create();
    if (snap == NULL) {
        return 0;
    }
    enum proto_rc rc = proto_regquery_parse((const char *)data, size, "fuzz", snap);
    if (rc != PROTO_OK && (snap->registry_count != 0 || snap->registry_available)) {
        abort();
    }
    for (size_t i = 0; i < snap->registry_count; i++) {
        const struct proto_reg_value *v = &snap->registry[i];
        if (v->key == NULL || v->name == NULL || v->data == NULL) {
            abort();
        }
        if (v->type == PROTO_REG_DWORD && v->number > UINT32_MAX) {
            abort();
        }
        if (v->type == PROTO_REG_BINARY && v->bytes_len * 2 != strlen(v->data)) {
            abort();
        }
    }
    proto_snapshot_destroy(snap);
    return 0;
}
