/*
 * whatif: a pure function from a snapshot and a profile to the snapshot the host would report
 * after the profile is applied (DESIGN §8). The same model drives the simulated host
 * (agent/remediate/system_sim.c) and the refusal of a profile that would not fix the host
 * (fix.h), so the prediction and the simulation cannot drift apart.
 *
 * registry_dword_set sets the value among the snapshot's registry values (creating it as a
 * REG_DWORD under its allow-listed key) and re-derives the typed fields (derive.h);
 * ipsec_rule_ensure replaces every rule of that exact name by the rule the spec describes, or
 * appends it; ipsec_rule_remove drops every rule of that name; service_restart changes nothing
 * in a snapshot. Owns nothing; never reads the host, the clock or the disk.
 */
#ifndef PROTO_WHATIF_H
#define PROTO_WHATIF_H

#include "diagnose.h"
#include "model.h"
#include "wire_profile.h"

/* A deep copy of snap into *out (caller destroys). */
enum proto_rc proto_snapshot_clone(const struct proto_snapshot *snap, struct proto_snapshot **out);

/* Applies one action to snap in place (the step the simulated host takes). PROTO_EINVAL for
 * an action outside the closed list or its allow-lists; on any failure snap is unchanged. */
enum proto_rc proto_whatif_apply_action(struct proto_snapshot *snap,
                                        const struct proto_action *action);

/* The post-state of snap after every action of profile, in order, into *out (caller destroys);
 * snap is not changed. */
enum proto_rc proto_whatif(const struct proto_snapshot *snap, const struct proto_profile *profile,
                           struct proto_snapshot **out);

/* Fills *out with the connection-security rule as `netsh advfirewall consec show rule verbose`
 * would print it after `consec add rule` with spec's settings (the fields it leaves at their
 * defaults print as netsh's defaults). *out is overwritten, not freed first: pass a zeroed or
 * cleared rule; the caller frees it with proto_rule_clear. On failure *out is left zeroed. */
enum proto_rc proto_rule_from_spec(const struct proto_rule_spec *spec,
                                   struct proto_consec_rule *out);

#endif
