/*
 * fix: the KB's resolution 2 for one host, built from its latest snapshot and the fleet policy,
 * and the what-if verdict on it (DESIGN §8): ProhibitIpSec=1, AllowL2TPWeakCrypto=0 where it is
 * 1, and one L2TP connection-security rule (transport mode, UDP 1701 on the server's side,
 * RequireInRequireOut, computer certificate from the expected CA, no DHGroup1/2, DES/3DES or
 * MD5) ensured under a fixed name; an existing enabled L2TP rule pinned to another CA is removed.
 *
 * A profile is refused when its what-if leaves any L2TP_CERT_* or MANUAL_* finding, or leaves
 * the host without L2TP (ProhibitIpSec=1 and no enabled L2TP rule, or a rule whose CA issued no
 * usable certificate: MANUAL_RULE_NO_CERT). Pure: the caller passes the clock and ids.
 */
#ifndef PROTO_FIX_H
#define PROTO_FIX_H

#include <stdbool.h>
#include <stdint.h>

#include "diagnose.h"
#include "model.h"
#include "wire_profile.h"

#define PROTO_FIX_RULE_NAME "rrasfleet L2TP/IPsec (computer certificate)"

struct proto_fix_params {
    const char *server_address; /* Endpoint1 of the rule: the server's L2TP address, or "Any" */
    enum proto_profile_mode mode;
    const char *profile_id; /* UUID */
    uint64_t serial;
    int64_t not_before;
    int64_t expires;
};

/* Builds the profile for snap under policy (which must name the expected CA) into *out (caller
 * destroys with proto_wire_profile_destroy). Actions, in this order: ensure the rule; remove each
 * other enabled L2TP rule pinned to another CA (names a profile cannot carry are skipped, and
 * the verdict then names what remains); AllowL2TPWeakCrypto=0 when it is 1; ProhibitIpSec=1;
 * restart RemoteAccess when either value changes. `reason` = the host's current L2TP_*,
 * MANUAL_* and IPHTTPS_L2TP_CERT_SPLIT ids. PROTO_EINVAL when the policy has no expected CA,
 * the snapshot has no host FQDN, or a parameter is one the profile encoder would refuse. */
enum proto_rc proto_fix_build(const struct proto_snapshot *snap, const struct proto_policy *policy,
                              const struct proto_fix_params *params, struct proto_profile **out);

struct proto_fix_verdict {
    bool acceptable;                /* the what-if clears every L2TP finding and keeps L2TP */
    struct proto_diagnosis *before; /* owned: the diagnosis of snap */
    struct proto_diagnosis *after;  /* owned: the diagnosis of the post-state */
    struct proto_snapshot *post;    /* owned: the post-state */
    char reason[256];               /* when not acceptable: the findings that would remain */
};

/* Runs the what-if of profile on snap and judges it: acceptable only when the post-state has no
 * L2TP_CERT_*, L2TP_NO_CERT or MANUAL_* finding and L2TP still works (under ProhibitIpSec=1: an
 * enabled L2TP rule and a certificate store that was read). Caller clears the verdict; on an
 * error return it is already cleared. */
enum proto_rc proto_fix_judge(const struct proto_snapshot *snap, const struct proto_policy *policy,
                              const struct proto_profile *profile, struct proto_fix_verdict *out);
void proto_fix_verdict_clear(struct proto_fix_verdict *v); /* accepts a zeroed verdict */

#endif
