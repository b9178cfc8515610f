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

#include <signal.h>
#include <stdbool.h>

#include "agent_config.h"
#include "diagnose.h"
#include "run.h"

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
/*
 * What `run` and the Windows service (`service run`, service_win32.c) share: the settings and
 * everything after them (spool, results spool, libcurl, the loop), so the service runs exactly
 * the loop `run` runs. Errors go to stderr as "WHO: message" and, when `event` is set, to it as
 * AGENT_EVENT_CONFIG_ERROR (the service has no console).
 */
struct agent_cli_run_hooks {
    const char *who;             /* message prefix, e.g. "rrasfleet-agent run" */
    volatile sig_atomic_t *stop; /* ends the loop and aborts a transfer (signals, the SCM) */
    agent_run_event_fn event;    /* NULL: no events */
    void *event_ctx;             /* handed to event */
    void (*ready)(void *ctx);    /* once set up, just before the first round; may be NULL */
    void *ready_ctx;             /* handed to ready */
    bool once;                   /* one round (`run --once`), else the loop until *stop */
};

/*
 * The settings as `run` takes them (agent_config_from_args over argv[1..argc): the registry
 * policy on Windows, `--config FILE`, `--KEY VALUE` flags and the given switches), then
 * agent_config_validate. *config_path borrows argv (NULL when --config was not given), and
 * `--config FILE` is required when require_file. cfg/conf as agent_config_from_args says
 * (caller frees conf, also on failure). Returns 0, or AGENT_EXIT_USAGE after reporting why;
 * *usage_hint (may be NULL) is then set when the command's usage would help.
 */
int agent_cli_run_settings(const struct agent_cli_run_hooks *hooks, int argc, char **argv,
                           const struct agent_config_switch *switches, size_t switch_count,
                           bool require_file, struct agent_config *cfg, struct proto_conf *conf,
                           const char **config_path, bool *usage_hint);

/*
 * Opens the spools, sets up libcurl and runs the loop (run.h) with cfg (validated), until
 * *hooks->stop or, with hooks->once, for one round. Returns run's exit codes: 0 clean stop or
 * --once with the spools emptied, AGENT_RUN_EXIT_PENDING, AGENT_EXIT_USAGE when set-up failed
 * (reported). Not reentrant: libcurl's global init is made and undone here.
 */
int agent_cli_run_with(const struct agent_config *cfg, const struct agent_cli_run_hooks *hooks);

/* `config --print|--check|--markdown [--config FILE] [--KEY VALUE...]`. */
int agent_cmd_config(int argc, char **argv);
/* `apply --bundle DIR --profile FILE --trust PUBKEY [--trust-next PUBKEY] [--mode dry-run|apply]
 * [--state-dir DIR] [--now RFC3339] [--expected-ca DN] [--json]`: a signed remediation profile
 * on a capture bundle (the simulated host). Exit codes: 0 applied or planned,
 * AGENT_EXIT_REFUSED, AGENT_EXIT_ROLLED_BACK, AGENT_EXIT_USAGE. */
int agent_cmd_apply(int argc, char **argv);

/* `service install [--config FILE] | uninstall | start | stop | run [--config FILE]`: the
 * Windows service (cli_service.c, service_win32.c). Exit codes: 0 done, 1 the service control
 * manager refused or the service did not reach the state asked for, 2 usage, or any command on
 * a system other than Windows. */
int agent_cmd_service(int argc, char **argv);

#endif
