/*
 * remediate: one fetched envelope run on this host exactly as `rrasfleet-agent apply` runs a
 * file (DESIGN §8), for the run loop (agent/deliver/run.c): the journal of a crashed apply is
 * recovered first, the trusted keys are the configuration's (profile_trust_key,
 * profile_trust_next_key), the signature is verified before the payload is parsed, then target,
 * window and serial (state_dir), then dry-run or apply as remediation_mode allows. The host is
 * the one `source` names: the simulated host over a capture bundle, or with source=live (Windows
 * builds) this host itself through system_win32.c.
 * Also keeps, in state_dir, the id of the last profile whose result was spooled, so the loop
 * never fetches a profile twice. Never talks to the network and never reads the clock.
 */
#ifndef AGENT_REMEDIATE_H
#define AGENT_REMEDIATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent_config.h"
#include "rc.h"
#include "wire_result.h"

#define AGENT_REMEDIATE_DONE_FILE "profile-result-spooled" /* one UUID and LF */
#define AGENT_REMEDIATE_NOTE_BYTES 512u

struct agent_remediate_request {
    const struct agent_config *cfg; /* borrowed; remediation_mode dry-run or apply */
    const char *profile_id;         /* the id the collector announced (names a refusal that
                                       could not open the envelope) */
    const char *envelope;           /* borrowed: the bytes as fetched; NULL when too large */
    size_t envelope_len;
    int64_t now; /* Unix seconds: the validity window, finished_at */
};

/*
 * Runs the envelope and fills `res` (created by the caller; result_id is fresh). PROTO_OK
 * whenever res holds an account (applied, planned, refused, rolled_back); `note` (may be NULL)
 * then says what else happened (a recovered journal) or is "". PROTO_ENOMEM, or PROTO_EINVAL
 * with note saying why when the host or the keys cannot be used at all (nothing is sent).
 */
enum proto_rc agent_remediate_envelope(const struct agent_remediate_request *req,
                                       struct proto_result *res, char *note, size_t note_size);

/*
 * The host cfg->source names, for remediation: source=live opens this Windows host
 * (agent_system_win32_open with the real netsh; PROTO_EUNSUPPORTED on other builds), anything
 * else the simulated host over the bundle (agent_system_sim_open). On failure `note` (may be
 * NULL) says why in one line. Caller destroys *out with agent_system_destroy.
 */
struct agent_system;
enum proto_rc agent_remediate_open_system(const struct agent_config *cfg, struct agent_system **out,
                                          char *note, size_t note_size);

/* Whether profile_id's result was already spooled here (the last one recorded). */
bool agent_remediate_result_spooled(const char *state_dir, const char *profile_id);

/* Records that profile_id's result is in the spool (atomic replace). */
enum proto_rc agent_remediate_record_spooled(const char *state_dir, const char *profile_id);

#endif
