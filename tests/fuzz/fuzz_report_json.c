/*
 * fuzz_report_json: the report decoder on arbitrary bytes, plus the codec's round-trip promise.
 *
 * Whatever decodes must encode, decode again, and encode to the same bytes (compact), and its
 * pretty form must decode too; anything else aborts. Encoding may only fail with PROTO_ELIMIT:
 * escapes and defaulted members can push a re-encoding of a near-limit body past the cap.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_fail(const char *what, enum proto_rc rc, const struct proto_json_error *err)
{
    fprintf(stderr, "fuzz_report_json: %s: %s (%s: %s)\n", what, proto_rc_str(rc),
            err != NULL ? err->field : "", err != NULL ? err->message : "");
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proto_report *first = NULL, *second = NULL, *pretty_back = NULL;
    char *compact = NULL, *again = NULL, *pretty = NULL;
    size_t compact_len = 0, again_len = 0, pretty_len = 0;
    struct proto_json_error err;

    if (proto_json_decode_report((const char *)data, size, &first, &err) != PROTO_OK) {
        return 0;
    }
    enum proto_rc rc = proto_json_encode_report(first, 0, &compact, &compact_len);
    if (rc == PROTO_ELIMIT) {
        goto out;
    }
    if (rc != PROTO_OK) {
        fuzz_fail("encode of a decoded report", rc, NULL);
    }
    rc = proto_json_decode_report(compact, compact_len, &second, &err);
    if (rc != PROTO_OK) {
        fuzz_fail("decode of our own encoding", rc, &err);
    }
    rc = proto_json_encode_report(second, 0, &again, &again_len);
    if (rc != PROTO_OK) {
        fuzz_fail("second encode", rc, NULL);
    }
    if (again_len != compact_len || memcmp(again, compact, compact_len) != 0) {
        fprintf(stderr, "first:  %s\nsecond: %s\n", compact, again);
        fuzz_fail("re-encoding differs", PROTO_OK, NULL);
    }
    rc = proto_json_encode_report(first, 1, &pretty, &pretty_len);
    if (rc == PROTO_OK) {
        rc = proto_json_decode_report(pretty, pretty_len, &pretty_back, &err);
        if (rc != PROTO_OK) {
            fuzz_fail("decode of our own pretty encoding", rc, &err);
        }
    } else if (rc != PROTO_ELIMIT) {
        fuzz_fail("pretty encode", rc, NULL);
    }
out:
    proto_report_destroy(pretty_back);
    proto_report_destroy(second);
    proto_report_destroy(first);
    proto_free(pretty);
    proto_free(again);
    proto_free(compact);
    return 0;
}
