/*
 * fuzz_envelope_open: proto_envelope_open (proto/sign.c) on arbitrary bytes with one trusted key
 * (fuzz_envelope_open_key.h), the path every profile takes into the agent.
 *
 * The seeds are envelopes that key signed (a full and a minimal profile, a signed payload that is
 * no profile) and one it did not sign but that claims its key_id. Promises checked: PROTO_OK
 * exactly when the refusal is PROTO_OPEN_OK; a refusal leaves no profile and gives a reason; an
 * opened profile re-encodes. Anything else aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "fuzz_envelope_open_key.h"
#include "sign.h"
#include "wire_profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_fail(const char *what, enum proto_rc rc, enum proto_open_refusal why,
                      const char *err)
{
    fprintf(stderr, "fuzz_envelope_open: %s: %s (%s: %s)\n", what, proto_rc_str(rc),
            proto_open_refusal_str(why), err);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct proto_verify_key *key;
    struct proto_profile *profile = NULL;
    enum proto_open_refusal why = PROTO_OPEN_ERROR;
    char err[512];

    if (key == NULL) {
        proto_alloc_install_cjson_hooks();
        if (proto_verify_key_from_pem(fuzz_envelope_open_key_pem,
                                      sizeof(fuzz_envelope_open_key_pem) - 1, &key, err,
                                      sizeof(err)) != PROTO_OK) {
            fuzz_fail("the embedded key", PROTO_EPARSE, why, err);
        }
    }
    const struct proto_verify_key *trusted[] = {key};
    enum proto_rc rc =
        proto_envelope_open(trusted, 1, (const char *)data, size, &profile, &why, err, sizeof(err));
    if ((rc == PROTO_OK) != (why == PROTO_OPEN_OK)) {
        fuzz_fail("result and refusal disagree", rc, why, err);
    }
    if (rc != PROTO_OK) {
        if (profile != NULL || err[0] == '\0' || why == PROTO_OPEN_ERROR) {
            fuzz_fail("refusal left a profile, no reason, or was no refusal", rc, why, err);
        }
        return 0;
    }
    char *again = NULL;
    if (profile == NULL || (rc = proto_wire_encode_profile(profile, &again, NULL)) != PROTO_OK) {
        fuzz_fail("opened profile does not re-encode", rc, why, err);
    }
    proto_free(again);
    proto_wire_profile_destroy(profile);
    return 0;
}
