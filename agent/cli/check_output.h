/*
 * check_output: how `rrasfleet-agent check` presents a diagnosis, as text for an administrator
 * or as JSON for scripts. Reads the snapshot and diagnosis; never changes them.
 */
#ifndef AGENT_CHECK_OUTPUT_H
#define AGENT_CHECK_OUTPUT_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "diagnose.h"
#include "model.h"

/* Human output: host, store table in store order, predicted L2TP cert, findings, errors. */
void agent_check_print_text(FILE *to, const struct proto_snapshot *snap,
                            const struct proto_diagnosis *diag, const struct proto_policy *policy);

/* {"host", "policy", "certs", "l2tp": {"predicted", "eligible"}, "findings", "errors"}.
 * Caller deletes with cJSON_Delete; NULL on allocation failure. */
cJSON *agent_check_to_json(const struct proto_snapshot *snap, const struct proto_diagnosis *diag,
                           const struct proto_policy *policy);

#endif
