/*
 * apply: runs a verified remediation profile (verify.h) against a host (system.h), as the
 * host's remediation_mode allows (DESIGN §8).
 *
 * Dry-run: the plan (each action's current and intended state) and the what-if diagnosis
 * (proto_whatif); nothing changes. Apply: the serial is recorded first (no replay even after a
 * crash), then for each action: read the pre-state, journal it (state.h), change, read back and
 * verify, journal it done. On any failure every journalled step is undone, last first, each
 * undo read back, and the outcome is rolled_back naming the step and the reason. A journal left
 * by a crash is undone the same way by agent_apply_recover at the next start. The account is a
 * proto_result (wire_result.h). Never verifies signatures, never reads the clock.
 */
#ifndef AGENT_APPLY_H
#define AGENT_APPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent_config.h"
#include "diagnose.h"
#include "rc.h"
#include "system.h"
#include "wire_profile.h"
#include "wire_result.h"

struct agent_apply_request {
    const struct proto_profile *profile; /* borrowed: opened and checked by verify.h */
    enum agent_remediation_mode host_mode;
    const char *state_dir;             /* required for apply; may be NULL for a dry run */
    const struct proto_policy *policy; /* borrowed: the diagnosis policy (its now is used) */
    int64_t now;
    size_t crash_after_step; /* test hook: 0 = none; k: stop right after step k took effect and
                                was journalled, as a crash would (agent_apply_run returns
                                PROTO_ECHANGED and leaves the journal) */
};

/*
 * Runs the profile and fills `res` (created by the caller; result_id, profile_id, serial,
 * host, outcome, reason, steps, findings before and after). Returns PROTO_OK whenever res holds
 * an account (planned, applied, refused, rolled_back), PROTO_ECHANGED for the crash hook,
 * PROTO_ENOMEM. A mode of off refuses: nothing is read or changed.
 */
enum proto_rc agent_apply_run(struct agent_system *sys, const struct agent_apply_request *req,
                              struct proto_result *res);

/*
 * Recovers a journal a crash left in state_dir: undoes every step it lists on `sys` (whose id
 * must be the journal's), last first, reads each back, and removes the journal. *recovered says
 * whether there was one; reason (may be NULL) what was done or why not. PROTO_ENOTFOUND never:
 * no journal is PROTO_OK with *recovered false. PROTO_EINVAL when the journal was written for
 * another host id (reason names it), PROTO_EPARSE for a damaged journal, PROTO_EIO when an undo
 * failed (the journal is kept to try again).
 */
enum proto_rc agent_apply_recover(struct agent_system *sys, const char *state_dir, bool *recovered,
                                  char *reason, size_t reason_size);

/* Fills res as a refusal of `profile` (may be NULL when it could not be opened) at `now`:
 * nothing was tried. */
enum proto_rc agent_apply_refuse(struct proto_result *res, const struct proto_profile *profile,
                                 const char *host, int64_t now, const char *reason);

#endif
