/*
 * verify: opens a remediation profile as the agent must (DESIGN §8): the envelope's signature is
 * verified with the keys of the agent's OWN configuration (profile_trust_key and
 * profile_trust_next_key; never a key from the server) BEFORE the payload is parsed
 * (proto_envelope_open), then the profile must name this host, be inside its validity window
 * (not_before <= now < expires) and carry a serial greater than the last one applied here
 * (state.h). The closed action list, the allow-lists and the size and depth caps are the
 * decoders' (wire_envelope, wire_profile). Any failure: refused with a one-line reason, and
 * nothing is changed. Never applies anything.
 */
#ifndef AGENT_VERIFY_H
#define AGENT_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "rc.h"
#include "sign.h"
#include "wire_profile.h"

#define AGENT_VERIFY_MAX_KEYS 2u /* the key and the next key */

/* The trusted keys of the configuration: `key_path` (required) and `next_path` (may be NULL or
 * ""). keys[0..*count) are caller-destroyed with proto_verify_key_destroy (or
 * agent_verify_keys_free). err gets a reason naming the file. */
enum proto_rc agent_verify_load_keys(const char *key_path, const char *next_path,
                                     struct proto_verify_key *keys[AGENT_VERIFY_MAX_KEYS],
                                     size_t *count, char *err, size_t err_size);
void agent_verify_keys_free(struct proto_verify_key *keys[AGENT_VERIFY_MAX_KEYS], size_t count);

/* Reads an envelope file, at most PROTO_MAX_ENVELOPE_BYTES (PROTO_ELIMIT beyond: an oversized
 * profile is refused unread). *text is caller-freed with proto_free. */
enum proto_rc agent_verify_read_envelope(const char *path, char **text, size_t *len, char *err,
                                         size_t err_size);

struct agent_verify_request {
    const char *envelope; /* the envelope's bytes (borrowed) */
    size_t envelope_len;
    const struct proto_verify_key *const *trusted; /* borrowed */
    size_t trusted_count;
    const char *host_fqdn; /* this host: the profile's target must be it */
    int64_t now;
    const char *state_dir; /* the last serial applied; NULL or "": none is known (dry runs) */
};

/*
 * Opens and checks the envelope. PROTO_OK with *out (caller destroys with
 * proto_wire_profile_destroy); otherwise *out is NULL and reason says why it was refused:
 * PROTO_ECRYPTO (unknown key, bad signature), PROTO_EPARSE (not an envelope, not a valid
 * profile), PROTO_EINVAL (another host, outside its window, a serial not above the last one),
 * PROTO_EIO (the state folder cannot be read), PROTO_ENOMEM. *opened (may be NULL) gets the
 * profile even when a check after the signature refused it, so the refusal can name it
 * (caller destroys; NULL when the envelope did not open).
 */
enum proto_rc agent_verify_profile(const struct agent_verify_request *req,
                                   struct proto_profile **out, struct proto_profile **opened,
                                   char *reason, size_t reason_size);

#endif
