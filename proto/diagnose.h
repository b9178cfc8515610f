/*
 * diagnose: snapshot + policy -> findings (DESIGN §6). A pure function: no clock, no I/O.
 *
 * Owns the eligibility model (which certificate IKE would take for L2TP) and the finding rules;
 * each finding carries the certificates and rules involved and a one-line explanation that
 * names the KB 2855053 fix. Must never read anything but its two inputs.
 */
#ifndef PROTO_DIAGNOSE_H
#define PROTO_DIAGNOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define PROTO_EXPIRY_DAYS_DEFAULT 30u

struct proto_policy {
    bool has_expected_ca;
    struct proto_dn expected_ca; /* the CA L2TP clients trust (root or issuing CA) */
    int64_t now;                 /* Unix seconds */
    unsigned expiry_days;        /* CERT_EXPIRING horizon */
};

struct proto_diagnosis {
    bool automatic_policy; /* ProhibitIpSec absent or not 1: RRAS picks the certificate */
    long predicted;        /* index into snapshot certs of the predicted L2TP cert, -1 if none */
    size_t *eligible;      /* indexes of IKE-eligible certs, store order */
    size_t eligible_count;
    struct proto_finding *findings; /* sorted by severity (highest first), then id */
    size_t finding_count;
    /* The same snapshot and policy give this very diagnosis for every policy.now in
     * [now, stable_until): the next certificate validity or expiry-horizon boundary (or the
     * next change of an "in N days" count) lies there. INT64_MAX when none lies ahead. Lets
     * the collector reuse a diagnosis of an unchanged snapshot (decision 005). */
    int64_t stable_until;
};

/* Why a certificate is or is not IKE-eligible: NULL when eligible, else a borrowed reason
 * ("no private key", "expired", "not yet valid", "EKU lacks Server Authentication", ...). */
const char *proto_diagnose_ineligible_reason(const struct proto_cert *cert, int64_t now);

/* True when the rule has the shape of an L2TP rule: protocol UDP (or 17), port 1701 in Port1 or
 * Port2 (lists and ranges count, "Any" does not), transport mode, ComputerCert among the Auth1
 * methods. Whether it is enabled is not judged here. */
bool proto_diagnose_rule_is_l2tp_shaped(const struct proto_consec_rule *rule);

/* Caller destroys *out with proto_diagnosis_destroy. */
enum proto_rc proto_diagnose(const struct proto_snapshot *snap, const struct proto_policy *policy,
                             struct proto_diagnosis **out);
void proto_diagnosis_destroy(struct proto_diagnosis *d); /* accepts NULL */

/* Frees policy->expected_ca. */
void proto_policy_clear(struct proto_policy *policy);

/* Highest severity among the findings; PROTO_SEV_INFO when there are none. */
enum proto_severity proto_diagnosis_max_severity(const struct proto_diagnosis *d);

#endif
