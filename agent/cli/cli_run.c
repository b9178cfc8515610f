/*
 * cli_run: `rrasfleet-agent run [--once] --config FILE [--KEY VALUE...]`.
 *
 * Wires the production seams together: settings (config.h), the spool folder and its lock,
 * libcurl (transport.h), the results spool when remediation is on, the system clock, and
 * SIGTERM/SIGINT as the stop flag, then hands over to run.h. Owns process-wide state only (signal
 * handlers, curl's global init). The Windows service (service_win32.c) runs the same code
 * through agent_cli_run_settings and agent_cli_run_with (cli.h), with the service control
 * manager's stop request as the flag and the Event Log as the event sink.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "agent_config.h"
#include "agent_os.h"
#include "cli.h"
#include "printf_like.h"
#include "run.h"
#include "spool.h"
#include "transport.h"

/* Results are few (one per profile) and small (at most PROTO_MAX_RESULT_BYTES). */
#define RUN_RESULTS_SPOOL "results-spool"
#define RUN_RESULTS_MAX_RECORDS 64u
#define RUN_RESULTS_MAX_BYTES (16u * 1024u * 1024u)

static volatile sig_atomic_t run_stop_flag;

static void run_on_signal(int sig)
{
    (void)sig;
    run_stop_flag = 1;
}

/* No SA_RESTART: a signal interrupts the sleep at once. */
static void run_install_signals(void)
{
#ifdef _WIN32
    signal(SIGINT, run_on_signal);
    signal(SIGTERM, run_on_signal);
#else
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = run_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* curl with CURLOPT_NOSIGNAL leaves SIGPIPE to us: a collector closing the connection must
     * become a send error, not the end of the agent. */
    struct sigaction ign;
    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, NULL);
#endif
}

static void run_usage(FILE *to)
{
    fputs("usage: rrasfleet-agent run [--once] --config FILE [--KEY VALUE...]\n"
          "  --once         collect one report, try once to send everything spooled, and exit:\n"
          "                 0 the spool is empty, 1 reports remain spooled, 2 configuration error\n"
          "  --config FILE  key = value settings (see `rrasfleet-agent config --markdown`)\n"
          "  --KEY VALUE    any setting, overriding the file (e.g. --interval-s 60)\n"
          "Logs go to stderr, one line per collection and per send attempt.\n",
          to);
}

static enum proto_rc run_transport_send(void *ctx, const char *body, size_t len,
                                        struct agent_send_result *res)
{
    return agent_transport_send(ctx, body, len, res);
}

static enum proto_rc run_transport_send_result(void *ctx, const char *body, size_t len,
                                               struct agent_send_result *res)
{
    return agent_transport_send_result(ctx, body, len, res);
}

static enum proto_rc run_transport_fetch(void *ctx, const char *profile_id, char **body,
                                         size_t *len, struct agent_send_result *res)
{
    return agent_transport_fetch_profile(ctx, profile_id, body, len, res);
}

/* The results spool beside the remediation state (docs/decisions/013-results-spool.md). */
static enum proto_rc run_open_results(const struct agent_config *cfg, struct agent_spool **out)
{
    char dir[AGENT_CONFIG_PATH_BYTES + 32];
    enum proto_rc rc = agent_os_join(dir, sizeof(dir), cfg->state_dir, RUN_RESULTS_SPOOL);
    if (rc == PROTO_OK) {
        rc = agent_os_mkdirs(cfg->state_dir);
    }
    if (rc) {
        return rc;
    }
    struct agent_spool_limits limits = {RUN_RESULTS_MAX_RECORDS, RUN_RESULTS_MAX_BYTES};
    return agent_spool_open(dir, &limits, out);
}

static bool run_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return true;
        }
    }
    return false;
}

static void run_fail(const struct agent_cli_run_hooks *hooks, const char *fmt, ...)
    PROTO_PRINTF_LIKE(2, 3);

/* "WHO: message" on stderr and, for the service, AGENT_EVENT_CONFIG_ERROR. */
static void run_fail(const struct agent_cli_run_hooks *hooks, const char *fmt, ...)
{
    char msg[AGENT_EVENT_DETAIL_BYTES];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0) {
        msg[0] = '\0';
    }
    fprintf(stderr, "%s: %s\n", hooks->who, msg);
    if (hooks->event != NULL) {
        hooks->event(hooks->event_ctx, AGENT_EVENT_CONFIG_ERROR, msg);
    }
}

int agent_cli_run_settings(const struct agent_cli_run_hooks *hooks, int argc, char **argv,
                           const struct agent_config_switch *switches, size_t switch_count,
                           bool require_file, struct agent_config *cfg, struct proto_conf *conf,
                           const char **config_path, bool *usage_hint)
{
    char err[512];
    if (usage_hint != NULL) {
        *usage_hint = false;
    }
    enum proto_rc rc = agent_config_from_args(argc, argv, switches, switch_count, cfg, conf,
                                              config_path, err, sizeof(err));
    if (rc) {
        run_fail(hooks, "%s", err);
        return AGENT_EXIT_USAGE;
    }
    if (require_file && *config_path == NULL) {
        run_fail(hooks, "--config FILE is required");
        if (usage_hint != NULL) {
            *usage_hint = true;
        }
        return AGENT_EXIT_USAGE;
    }
    if (agent_config_validate(cfg, err, sizeof(err)) != PROTO_OK) {
        run_fail(hooks, "%s: %s", *config_path != NULL ? *config_path : AGENT_CONFIG_POLICY_KEY,
                 err);
        return AGENT_EXIT_USAGE;
    }
    return 0;
}

int agent_cli_run_with(const struct agent_config *cfg, const struct agent_cli_run_hooks *hooks)
{
    struct agent_spool *spool = NULL;
    struct agent_spool *results = NULL;
    struct agent_transport *transport = NULL;
    struct agent_run *run = NULL;
    bool curl_ready = false;
    int exit_code = AGENT_EXIT_USAGE;

    if (agent_transport_global_init() != PROTO_OK) {
        run_fail(hooks, "libcurl could not be initialised");
        goto out;
    }
    curl_ready = true;
    struct agent_spool_limits limits = {(size_t)cfg->spool_max_records, cfg->spool_max_bytes};
    enum proto_rc rc = agent_spool_open(cfg->spool_dir, &limits, &spool);
    if (rc) {
        run_fail(hooks, "cannot open the spool %s: %s", cfg->spool_dir,
                 rc == PROTO_EUNAVAILABLE ? "another agent holds its lock" : proto_rc_str(rc));
        /* A busy spool is a running agent, not a configuration mistake. */
        exit_code = rc == PROTO_EUNAVAILABLE ? AGENT_RUN_EXIT_PENDING : AGENT_EXIT_USAGE;
        goto out;
    }
    enum agent_remediation_mode mode = AGENT_REMEDIATION_OFF;
    (void)agent_config_remediation_mode_parse(cfg->remediation_mode, &mode);
    if (mode != AGENT_REMEDIATION_OFF) {
        rc = run_open_results(cfg, &results);
        if (rc) {
            run_fail(hooks, "cannot open the results spool in %s: %s", cfg->state_dir,
                     rc == PROTO_EUNAVAILABLE ? "another agent holds its lock" : proto_rc_str(rc));
            exit_code = rc == PROTO_EUNAVAILABLE ? AGENT_RUN_EXIT_PENDING : AGENT_EXIT_USAGE;
            goto out;
        }
    }
    rc = agent_transport_create(cfg, hooks->stop, &transport);
    if (rc) {
        run_fail(hooks, "cannot set up HTTPS with libcurl: %s", proto_rc_str(rc));
        goto out;
    }
    struct agent_run_env env;
    memset(&env, 0, sizeof(env));
    env.transport.send = run_transport_send;
    env.transport.send_result = run_transport_send_result;
    env.transport.fetch_profile = run_transport_fetch;
    env.transport.ctx = transport;
    env.results = results;
    env.clock = agent_run_system_clock();
    env.stop = hooks->stop;
    env.log = stderr;
    env.event = hooks->event;
    env.event_ctx = hooks->event_ctx;
    rc = agent_run_create(cfg, spool, &env, &run);
    if (rc) {
        run_fail(hooks, "%s", proto_rc_str(rc));
        goto out;
    }
    if (hooks->ready != NULL) {
        hooks->ready(hooks->ready_ctx);
    }
    if (hooks->once) {
        exit_code = agent_run_once(run);
    } else {
        exit_code = agent_run_loop(run) == PROTO_OK ? AGENT_EXIT_OK : AGENT_RUN_EXIT_PENDING;
    }
out:
    agent_run_destroy(run);
    agent_transport_destroy(transport);
    agent_spool_close(results);
    agent_spool_close(spool);
    if (curl_ready) {
        agent_transport_global_cleanup();
    }
    return exit_code;
}

int agent_cmd_run(int argc, char **argv)
{
    struct agent_config cfg;
    struct proto_conf conf;
    bool once = false;
    const char *config_path = NULL;
    bool usage_hint = false;

    memset(&conf, 0, sizeof(conf));
    if (run_wants_help(argc, argv)) {
        run_usage(stdout);
        return AGENT_EXIT_OK;
    }
    struct agent_cli_run_hooks hooks;
    memset(&hooks, 0, sizeof(hooks));
    hooks.who = "rrasfleet-agent run";
    hooks.stop = &run_stop_flag;
    const struct agent_config_switch switches[] = {{"--once", &once}};
    int exit_code = agent_cli_run_settings(&hooks, argc, argv, switches, 1, true, &cfg, &conf,
                                           &config_path, &usage_hint);
    if (exit_code == 0) {
        hooks.once = once;
        run_install_signals();
        exit_code = agent_cli_run_with(&cfg, &hooks);
    } else if (usage_hint) {
        run_usage(stderr);
    }
    proto_conf_free(&conf);
    return exit_code;
}
