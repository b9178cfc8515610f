/*
 * cli_service: `rrasfleet-agent service install [--config FILE] | uninstall | start | stop |
 * run [--config FILE]`, the portable half of the Windows service (service.h).
 *
 * Parses the command on every system, so a mistake reads the same everywhere, then hands the
 * action to service_win32.c; other systems answer "Windows only" (exit 2). Also builds the
 * service's command line (ImagePath), whose quoting is plain text work and is unit-tested on
 * every build.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "service.h"

static void service_usage(FILE *to)
{
    fputs("usage: rrasfleet-agent service install [--config FILE] | uninstall | start | stop\n"
          "  install        register the Windows service " AGENT_SERVICE_NAME " (LocalSystem,\n"
          "                 delayed automatic start, restarted 1, 5 and 15 minutes after a\n"
          "                 failure) and the Event Log source " AGENT_SERVICE_EVENT_SOURCE
          "; run again to\n"
          "                 update them\n"
          "  --config FILE  the settings file the service reads (stored as an absolute path);\n"
          "                 without it the service reads the registry policy\n"
          "                 " AGENT_CONFIG_POLICY_KEY " only\n"
          "  uninstall      stop and remove the service and the Event Log source\n"
          "  start          start the service and wait until it runs\n"
          "  stop           stop the service and wait until it has stopped\n"
          "  run            the service's own entry point (the service control manager runs it)\n"
          "Windows only. Events are listed in docs/windows-events.md.\n",
          to);
}

/* ---- the service's command line ------------------------------------------------------------ */

/* Appends n bytes to out[0..size) at *used, keeping room for the NUL. */
static bool service_put(char *out, size_t size, size_t *used, const char *text, size_t n)
{
    if (n >= size - *used) {
        return false;
    }
    memcpy(out + *used, text, n);
    *used += n;
    out[*used] = '\0';
    return true;
}

/* A path the service's command line may hold: not empty, no control character, no '%'. */
static bool service_path_ok(const char *path)
{
    if (path[0] == '\0') {
        return false;
    }
    for (const unsigned char *p = (const unsigned char *)path; *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '%') {
            return false;
        }
    }
    return true;
}

/* `"arg"` as the C runtime parses it back: 2n backslashes + \" for n backslashes before a
 * quote, 2n for n at the end (before the closing quote); others are literal. */
static bool service_put_quoted(char *out, size_t size, size_t *used, const char *arg)
{
    if (!service_put(out, size, used, "\"", 1)) {
        return false;
    }
    for (const char *p = arg;; p++) {
        size_t backslashes = 0;
        while (*p == '\\') {
            backslashes++;
            p++;
        }
        if (*p == '\0' || *p == '"') {
            /* Doubled: they precede a quote, ours or an escaped one. */
            for (size_t i = 0; i < 2 * backslashes; i++) {
                if (!service_put(out, size, used, "\\", 1)) {
                    return false;
                }
            }
            if (*p == '\0') {
                break;
            }
            if (!service_put(out, size, used, "\\\"", 2)) {
                return false;
            }
            continue;
        }
        for (size_t i = 0; i < backslashes; i++) {
            if (!service_put(out, size, used, "\\", 1)) {
                return false;
            }
        }
        if (!service_put(out, size, used, p, 1)) {
            return false;
        }
    }
    return service_put(out, size, used, "\"", 1);
}

enum proto_rc agent_service_command_line(const char *exe, const char *config, char *out,
                                         size_t out_size)
{
    if (out == NULL || out_size == 0) {
        return PROTO_EINVAL;
    }
    out[0] = '\0';
    if (exe == NULL || !service_path_ok(exe) || strchr(exe, '"') != NULL ||
        (config != NULL && !service_path_ok(config))) {
        return PROTO_EINVAL;
    }
    size_t used = 0;
    static const char run[] = " service run";
    static const char flag[] = " --config ";
    bool ok = service_put_quoted(out, out_size, &used, exe) &&
              service_put(out, out_size, &used, run, sizeof(run) - 1);
    if (ok && config != NULL) {
        ok = service_put(out, out_size, &used, flag, sizeof(flag) - 1) &&
             service_put_quoted(out, out_size, &used, config);
    }
    if (!ok) {
        out[0] = '\0';
        return PROTO_ELIMIT;
    }
    return PROTO_OK;
}

/* ---- the command ----------------------------------------------------------------------------- */

/* install's options: only --config FILE (or --config=FILE). */
static int service_install_args(int argc, char **argv, const char **config)
{
    *config = NULL;
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--config") == 0 && i + 1 < argc && *config == NULL) {
            *config = argv[++i];
        } else if (strncmp(arg, "--config=", 9) == 0 && *config == NULL) {
            *config = arg + 9;
        } else {
            fprintf(stderr, "rrasfleet-agent service install: unexpected argument: %s\n", arg);
            return AGENT_EXIT_USAGE;
        }
    }
    if (*config != NULL && (*config)[0] == '\0') {
        fputs("rrasfleet-agent service install: --config needs a file\n", stderr);
        return AGENT_EXIT_USAGE;
    }
    return AGENT_EXIT_OK;
}

int agent_cmd_service(int argc, char **argv)
{
    if (argc < 2) {
        service_usage(stderr);
        return AGENT_EXIT_USAGE;
    }
    const char *action = argv[1];
    if (strcmp(action, "--help") == 0 || strcmp(action, "-h") == 0 || strcmp(action, "help") == 0) {
        service_usage(stdout);
        return AGENT_EXIT_OK;
    }
    const char *config = NULL;
    bool install = strcmp(action, "install") == 0;
    bool run = strcmp(action, "run") == 0;
    if (install) {
        int rc = service_install_args(argc, argv, &config);
        if (rc != AGENT_EXIT_OK) {
            service_usage(stderr);
            return rc;
        }
    } else if (run) {
        /* The arguments are the settings' (agent_cli_run_settings checks them). */
    } else if (strcmp(action, "uninstall") == 0 || strcmp(action, "start") == 0 ||
               strcmp(action, "stop") == 0) {
        if (argc > 2) {
            fprintf(stderr, "rrasfleet-agent service %s: unexpected argument: %s\n", action,
                    argv[2]);
            service_usage(stderr);
            return AGENT_EXIT_USAGE;
        }
    } else {
        fprintf(stderr, "rrasfleet-agent service: unknown action: %s\n", action);
        service_usage(stderr);
        return AGENT_EXIT_USAGE;
    }
#ifdef _WIN32
    if (install) {
        return agent_service_install(config);
    }
    if (run) {
        return agent_service_run(argc - 1, argv + 1);
    }
    if (strcmp(action, "uninstall") == 0) {
        return agent_service_uninstall();
    }
    return strcmp(action, "start") == 0 ? agent_service_start() : agent_service_stop();
#else
    (void)config;
    fprintf(stderr,
            "rrasfleet-agent service %s: Windows only; on this system run the agent with "
            "`rrasfleet-agent run --config FILE` under the service manager (e.g. a systemd "
            "unit)\n",
            action);
    return AGENT_EXIT_USAGE;
#endif
}
