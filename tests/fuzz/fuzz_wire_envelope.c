/*
 * fuzz_wire_envelope: the signed-profile envelope decoder (proto/wire_envelope.c) on arbitrary
 * bytes, plus the codec's round-trip promise.
 *
 * Whatever decodes must re-encode (from the decoded payload, key id and signature) to a text that
 * decodes to the same bytes, and that text must be a fixed point of the codec. On a refusal the
 * envelope must be all zero. Anything else aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "caps.h"
#include "wire_envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_fail(const char *what, enum proto_rc rc, const struct proto_json_error *err)
{
    fprintf(stderr, "fuzz_wire_envelope: %s: %s (%s: %s)\n", what, proto_rc_str(rc),
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

static enum proto_rc fuzz_encode(const struct proto_envelope *env, char **out, size_t *len)
{
    return proto_wire_encode_envelope(env->payload, env->payload_len, env->key_id, env->sig,
                                      env->sig_len, out, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int hooks_installed;
    struct proto_envelope first, second;
    char *once = NULL, *twice = NULL;
    size_t once_len = 0, twice_len = 0;
    struct proto_json_error err;

    if (!hooks_installed) {
        proto_alloc_install_cjson_hooks();
        hooks_installed = 1;
    }
    enum proto_rc rc = proto_wire_decode_envelope((const char *)data, size, &first, &err);
    if (rc != PROTO_OK) {
        if (!fuzz_all_zero(&first, sizeof(first)) || err.message[0] == '\0') {
            fuzz_fail("refusal left data or no message", rc, &err);
        }
        return 0;
    }
    if (first.payload_len < 1 || first.payload_len > PROTO_MAX_PROFILE_BYTES || first.sig_len < 1 ||
        first.sig_len > PROTO_MAX_SIG_BYTES || first.payload[first.payload_len] != '\0') {
        fuzz_fail("decoded envelope breaks a promise", PROTO_OK, NULL);
    }
    if ((rc = fuzz_encode(&first, &once, &once_len)) != PROTO_OK) {
        fuzz_fail("encode of a decoded envelope", rc, NULL);
    }
    if ((rc = proto_wire_decode_envelope(once, once_len, &second, &err)) != PROTO_OK) {
        fuzz_fail("decode of our own encoding", rc, &err);
    }
    if (second.payload_len != first.payload_len ||
        memcmp(second.payload, first.payload, first.payload_len) != 0 ||
        second.sig_len != first.sig_len || memcmp(second.sig, first.sig, first.sig_len) != 0 ||
        strcmp(second.key_id, first.key_id) != 0) {
        fuzz_fail("envelope changed in a round trip", PROTO_OK, NULL);
    }
    if ((rc = fuzz_encode(&second, &twice, &twice_len)) != PROTO_OK || twice_len != once_len ||
        memcmp(once, twice, once_len) != 0) {
        fuzz_fail("re-encoding differs", rc, NULL);
    }
    proto_wire_envelope_clear(&second);
    proto_wire_envelope_clear(&first);
    proto_free(twice);
    proto_free(once);
    return 0;
}
