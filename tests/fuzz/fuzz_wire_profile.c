/*
 * fuzz_wire_profile: the remediation profile decoder (proto/wire_profile.c) on arbitrary bytes,
 * plus the codec's round-trip promise.
 *
 * Whatever decodes must encode, decode again, and encode to the same bytes; the decoded profile
 * must respect the closed lists and caps. Encoding may only fail with PROTO_ELIMIT: numbers
 * written short ("9e15") come back long, which can push a near-limit document past the cap.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "caps.h"
#include "wire_profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_fail(const char *what, enum proto_rc rc, const struct proto_json_error *err)
{
    fprintf(stderr, "fuzz_wire_profile: %s: %s (%s: %s)\n", what, proto_rc_str(rc),
            err != NULL ? err->field : "", err != NULL ? err->message : "");
    abort();
}

/* What the decoder promises about any profile it returns. */
static void fuzz_check(const struct proto_profile *p)
{
    if (p->serial < 1 || p->action_count < 1 || p->action_count > PROTO_MAX_PROFILE_ACTIONS ||
        p->expires <= p->not_before || p->reason.count > PROTO_MAX_PROFILE_REASONS) {
        fuzz_fail("decoded profile breaks a promise", PROTO_OK, NULL);
    }
    for (size_t i = 0; i < p->action_count; i++) {
        const struct proto_action *a = &p->actions[i];
        if (a->type == PROTO_ACTION_REGISTRY_DWORD_SET &&
            a->u.dword.data > proto_dword_allow_list[a->u.dword.name].max_data) {
            fuzz_fail("registry data outside the allow-list", PROTO_OK, NULL);
        }
        if (a->type == PROTO_ACTION_IPSEC_RULE_REMOVE && strcmp(a->u.remove.name, "all") == 0) {
            fuzz_fail("a rule named all", PROTO_OK, NULL);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int hooks_installed;
    struct proto_profile *first = NULL, *second = NULL;
    char *once = NULL, *twice = NULL;
    size_t once_len = 0, twice_len = 0;
    struct proto_json_error err;

    if (!hooks_installed) {
        proto_alloc_install_cjson_hooks();
        hooks_installed = 1;
    }
    enum proto_rc rc = proto_wire_decode_profile((const char *)data, size, &first, &err);
    if (rc != PROTO_OK) {
        if (first != NULL || err.message[0] == '\0') {
            fuzz_fail("refusal left a profile or no message", rc, &err);
        }
        return 0;
    }
    fuzz_check(first);
    rc = proto_wire_encode_profile(first, &once, &once_len);
    if (rc == PROTO_ELIMIT) {
        goto out;
    }
    if (rc != PROTO_OK) {
        fuzz_fail("encode of a decoded profile", rc, NULL);
    }
    if ((rc = proto_wire_decode_profile(once, once_len, &second, &err)) != PROTO_OK) {
        fuzz_fail("decode of our own encoding", rc, &err);
    }
    if ((rc = proto_wire_encode_profile(second, &twice, &twice_len)) != PROTO_OK) {
        fuzz_fail("second encode", rc, NULL);
    }
    if (twice_len != once_len || memcmp(once, twice, once_len) != 0) {
        fprintf(stderr, "first:  %s\nsecond: %s\n", once, twice);
        fuzz_fail("re-encoding differs", PROTO_OK, NULL);
    }
out:
    proto_wire_profile_destroy(second);
    proto_wire_profile_destroy(first);
    proto_free(twice);
    proto_free(once);
    return 0;
}
