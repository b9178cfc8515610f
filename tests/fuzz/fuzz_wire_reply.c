/*
 * fuzz_wire_reply: the collector's answers (proto/wire_reply.c) on arbitrary bytes: each input is
 * decoded both as an acknowledgement and as an error body, plus the codec's round-trip promise.
 *
 * Whatever decodes must encode, decode to the same struct, and encode to the same bytes; on a
 * refusal the struct must be all zero and the error message set. Anything else aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "wire_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_fail(const char *what, enum proto_rc rc, const struct proto_json_error *err)
{
    fprintf(stderr, "fuzz_wire_reply: %s: %s (%s: %s)\n", what, proto_rc_str(rc),
            err != NULL ? err->field : "", err != NULL ? err->message : "");
    abort();
}

static int fuzz_all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        if (b[i] != 0) {
            return 0;
        }
    }
    return 1;
}

static void fuzz_reply(const char *text, size_t size)
{
    struct proto_reply first, second;
    struct proto_json_error err;
    char *once = NULL, *twice = NULL;
    size_t once_len = 0, twice_len = 0;
    enum proto_rc rc = proto_wire_decode_reply(text, size, &first, &err);
    if (rc != PROTO_OK) {
        if (!fuzz_all_zero(&first, sizeof(first)) || err.message[0] == '\0') {
            fuzz_fail("refused reply left data or no message", rc, &err);
        }
        return;
    }
    if ((rc = proto_wire_encode_reply(&first, &once, &once_len)) != PROTO_OK) {
        fuzz_fail("encode of a decoded reply", rc, NULL);
    }
    if ((rc = proto_wire_decode_reply(once, once_len, &second, &err)) != PROTO_OK) {
        fuzz_fail("decode of our own reply", rc, &err);
    }
    if (memcmp(&first, &second, sizeof(first)) != 0) {
        fuzz_fail("reply changed in a round trip", PROTO_OK, NULL);
    }
    if ((rc = proto_wire_encode_reply(&second, &twice, &twice_len)) != PROTO_OK ||
        twice_len != once_len || memcmp(once, twice, once_len) != 0) {
        fuzz_fail("reply re-encoding differs", rc, NULL);
    }
    proto_free(twice);
    proto_free(once);
}

static void fuzz_error(const char *text, size_t size)
{
    struct proto_error_body first, second;
    struct proto_json_error err;
    char *once = NULL, *twice = NULL;
    size_t once_len = 0, twice_len = 0;
    enum proto_rc rc = proto_wire_decode_error(text, size, &first, &err);
    if (rc != PROTO_OK) {
        if (!fuzz_all_zero(&first, sizeof(first)) || err.message[0] == '\0') {
            fuzz_fail("refused error body left data or no message", rc, &err);
        }
        return;
    }
    if ((rc = proto_wire_encode_error(&first, &once, &once_len)) != PROTO_OK) {
        fuzz_fail("encode of a decoded error body", rc, NULL);
    }
    if ((rc = proto_wire_decode_error(once, once_len, &second, &err)) != PROTO_OK) {
        fuzz_fail("decode of our own error body", rc, &err);
    }
    /* Valid text needs no repair: the encoder's fitting must change nothing. */
    if (strcmp(first.code, second.code) != 0 || strcmp(first.message, second.message) != 0 ||
        strcmp(first.field, second.field) != 0) {
        fuzz_fail("error body changed in a round trip", PROTO_OK, NULL);
    }
    if ((rc = proto_wire_encode_error(&second, &twice, &twice_len)) != PROTO_OK ||
        twice_len != once_len || memcmp(once, twice, once_len) != 0) {
        fuzz_fail("error body re-encoding differs", rc, NULL);
    }
    proto_free(twice);
    proto_free(once);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int hooks_installed;
    if (!hooks_installed) {
        proto_alloc_install_cjson_hooks();
        hooks_installed = 1;
    }
    fuzz_reply((const char *)data, size);
    fuzz_error((const char *)data, size);
    return 0;
}
