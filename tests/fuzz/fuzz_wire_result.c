/*
 * fuzz_wire_result: the profile-result decoder (proto/wire_result.c) on arbitrary bytes, plus the
 * codec's round-trip promise.
 *
 * Whatever decodes must encode, decode again, and encode to the same bytes. Encoding may only
 * fail with PROTO_ELIMIT: numbers written short ("9e15") come back long, which can push a
 * near-limit document past the cap.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "wire_result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_fail(const char *what, enum proto_rc rc, const struct proto_json_error *err)
{
    fprintf(stderr, "fuzz_wire_result: %s: %s (%s: %s)\n", what, proto_rc_str(rc),
            err != NULL ? err->field : "", err != NULL ? err->message : "");
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int hooks_installed;
    struct proto_result *first = NULL, *second = NULL;
    char *once = NULL, *twice = NULL;
    size_t once_len = 0, twice_len = 0;
    struct proto_json_error err;

    if (!hooks_installed) {
        proto_alloc_install_cjson_hooks();
        hooks_installed = 1;
    }
    enum proto_rc rc = proto_wire_decode_result((const char *)data, size, &first, &err);
    if (rc != PROTO_OK) {
        if (first != NULL || err.message[0] == '\0') {
            fuzz_fail("refusal left a result or no message", rc, &err);
        }
        return 0;
    }
    if (first->serial == 0 && first->outcome != PROTO_OUTCOME_REFUSED) {
        fuzz_fail("serial 0 outside a refusal", PROTO_OK, NULL);
    }
    rc = proto_wire_encode_result(first, &once, &once_len);
    if (rc == PROTO_ELIMIT) {
        goto out;
    }
    if (rc != PROTO_OK) {
        fuzz_fail("encode of a decoded result", rc, NULL);
    }
    if ((rc = proto_wire_decode_result(once, once_len, &second, &err)) != PROTO_OK) {
        fuzz_fail("decode of our own encoding", rc, &err);
    }
    if ((rc = proto_wire_encode_result(second, &twice, &twice_len)) != PROTO_OK) {
        fuzz_fail("second encode", rc, NULL);
    }
    if (twice_len != once_len || memcmp(once, twice, once_len) != 0) {
        fprintf(stderr, "first:  %s\nsecond: %s\n", once, twice);
        fuzz_fail("re-encoding differs", PROTO_OK, NULL);
    }
out:
    proto_wire_result_destroy(second);
    proto_wire_result_destroy(first);
    proto_free(twice);
    proto_free(once);
    return 0;
}
