/*
 * wire_envelope: the signed profile envelope (DESIGN §8), schema/json/envelope.schema.json:
 * {"payload": base64, "alg": "ES256", "key_id": 16 lower-case hex digits, "sig": base64}.
 *
 * The decoder is strict (all four members, alg exactly "ES256", no unknown member, canonical
 * padded base64, size caps) and hands back the payload's exact BYTES without parsing them: the
 * caller verifies the signature over those bytes first and only then gives them to
 * proto_wire_decode_profile. This module does no cryptography at all: it neither signs, hashes
 * nor verifies, and it never interprets the payload.
 */
#ifndef PROTO_WIRE_ENVELOPE_H
#define PROTO_WIRE_ENVELOPE_H

#include <stddef.h>

#include "caps.h"
#include "json.h"
#include "rc.h"

#define PROTO_ENVELOPE_ALG "ES256"
#define PROTO_KEY_ID_HEX_LEN 16u

struct proto_envelope {
    unsigned char *payload; /* owned: the signed bytes, not parsed; NUL-terminated for convenience
                               (the NUL is not part of payload_len) */
    size_t payload_len;     /* 1..PROTO_MAX_PROFILE_BYTES */
    char key_id[PROTO_KEY_ID_HEX_LEN + 1]; /* which key signed: 16 lower-case hex digits */
    unsigned char sig[PROTO_MAX_SIG_BYTES];
    size_t sig_len; /* 1..PROTO_MAX_SIG_BYTES */
};

/* Frees the payload and zeroes env. Accepts a zeroed or cleared envelope. */
void proto_wire_envelope_clear(struct proto_envelope *env);

/*
 * Compact JSON into *out (caller frees with proto_free). All inputs are borrowed. PROTO_EINVAL
 * for what the decoder would refuse: an empty payload or one over PROTO_MAX_PROFILE_BYTES, a
 * key_id that is not 16 lower-case hex digits, a signature of 0 or more than PROTO_MAX_SIG_BYTES.
 */
enum proto_rc proto_wire_encode_envelope(const unsigned char *payload, size_t payload_len,
                                         const char *key_id, const unsigned char *sig,
                                         size_t sig_len, char **out, size_t *out_len);

/* Strict decode of at most PROTO_MAX_ENVELOPE_BYTES into *out (caller clears it with
 * proto_wire_envelope_clear; zeroed on failure). err (may be NULL) names the member. */
enum proto_rc proto_wire_decode_envelope(const char *text, size_t len, struct proto_envelope *out,
                                         struct proto_json_error *err);

#endif
