/*
 * cli: the agent's commands: offline (`check`, `collect`, with shared options), delivery
 * (`run`, `config`, driven by the settings table of config.h) and remediation (`apply`).
 *
 * check and collect parse their own argv, read a capture bundle (--bundle) or, on Windows,
 * the live host, run proto's diagnosis and print; capture writes a capture bundle.
 * Exit codes are the contract scripts rely on: AGENT_EXIT_OK (no high/critical finding),
 * AGENT_EXIT_FINDINGS (at least one), AGENT_EXIT_USAGE (bad input or usage).
 */
#ifndef AGENT_CLI_H
#define AGENT_CLI_H

#include <stdbool.h>

#include "diagnose.h"

#define AGENT_EXIT_OK 0
#define AGENT_EXIT_FINDINGS 1
#define AGENT_EXIT_USAGE 2
#define AGENT_EXIT_REFUSED 3     /* apply: the profile was refused, nothing changed */
#define AGENT_EXIT_ROLLED_BACK 4 /* apply: a step failed and the earlier ones were undone */

struct agent_cli_options {
    const char *bundle; /* NULL: the live host (only where agent_source_live_available()) */
    bool json;
    bool pretty;
    struct proto_policy policy; /* owns expected_ca */
};

/*
 * Parses the options shared by check and collect (--bundle, --expected-ca, --now,
 * --expiry-days, --json, --pretty); --bundle is required on builds without a live source. On
 * error prints a message to stderr and returns
 * AGENT_EXIT_USAGE; returns -1 when --help was printed; 0 on success. Clear the policy with
 * proto_policy_clear() afterwards.
 */
int agent_cli_parse(const char *command, int argc, char **argv, struct agent_cli_options *opts);

int agent_cmd_check(int argc, char **argv);
int agent_cmd_collect(int argc, char **argv);
/* `capture --out DIR [--bundle DIR] [--now RFC3339]`: writes a capture bundle of the live host
 * (Windows), or re-exports the bundle --bundle names (any OS). Exit codes: 0 written,
 * AGENT_EXIT_USAGE for bad usage or a bundle that could not be read or written. */
int agent_cmd_capture(int argc, char **argv);

/* `run [--once] --config FILE [--KEY VALUE...]`: the delivery loop (run.h). Exit codes: 0 clean
 * stop, or --once with the spool emptied; 1 --once with reports still spooled; 2 usage or
 * configuration error. */
int agent_cmd_run(int argc, char **argv);
/* `config --print|--check|--markdown [--config FILE] [--KEY VALUE...]`. */
int agent_cmd_config(int argc, char **argv);
/* `apply --bundle DIR --profile FILE --trust PUBKEY [--trust-next PUBKEY] [--mode dry-run|apply]
 * [--state-dir DIR] [--now RFC3339] [--expected-ca DN] [--json]`: a signed remediation profile
 * on a capture bundle (the simulated host). Exit codes: 0 applied or planned,
 * AGENT_EXIT_REFUSED, AGENT_EXIT_ROLLED_BACK, AGENT_EXIT_USAGE. */
int agent_cmd_apply(int argc, char **argv);

#endif
