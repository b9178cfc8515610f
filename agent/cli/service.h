/*
 * service: the agent as a Windows service (`rrasfleet-agent service ...`).
 *
 * cli_service.c (portable) parses the command and builds the service's command line;
 * service_win32.c talks to the service control manager: it installs the service (LocalSystem,
 * delayed automatic start, restarted after failures) and the Event Log source, starts, stops
 * and removes them, and is the service's entry point, which runs exactly the loop of `run`
 * (cli.h's agent_cli_run_with) with the stop request as the stop flag and the Event Log
 * (eventlog.h) as the event sink. Other systems have only the portable part: the command says
 * "Windows only" there. Never runs a shell: the command line is stored in the service's
 * ImagePath, quoted here, and parsed by the C runtime when the service starts.
 */
#ifndef AGENT_SERVICE_H
#define AGENT_SERVICE_H

#include <stddef.h>

#include "rc.h"

#define AGENT_SERVICE_NAME "rrasfleet-agent"
#define AGENT_SERVICE_DISPLAY_NAME "rrasfleet agent"
#define AGENT_SERVICE_DESCRIPTION                                                                  \
    "Collects the certificate facts of this RRAS server and reports them to the rrasfleet "        \
    "collector over mutual TLS."
/* The Event Log source (HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\rrasfleet);
 * the messages are the executable's own (agent/cli/rrasfleet-events.mc). */
#define AGENT_SERVICE_EVENT_SOURCE "rrasfleet"
#define AGENT_SERVICE_EVENT_KEY                                                                    \
    "SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\" AGENT_SERVICE_EVENT_SOURCE

/* Recovery (SERVICE_CONFIG_FAILURE_ACTIONS): restart after 1, 5, then 15 minutes (the last
 * repeats), the count starting over after a day without failures. */
#define AGENT_SERVICE_RESTART_1_MS 60000u
#define AGENT_SERVICE_RESTART_2_MS 300000u
#define AGENT_SERVICE_RESTART_3_MS 900000u
#define AGENT_SERVICE_RESET_S 86400u

/* The longest command line built (ImagePath), with its NUL. */
#define AGENT_SERVICE_CMDLINE_BYTES 8192u

/*
 * The service's command line into out: `"EXE" service run` and, when config is not NULL,
 * ` --config "CONFIG"`, each quoted as the C runtime and CommandLineToArgvW parse it back
 * (backslashes before a quote and at the end doubled, quotes escaped). PROTO_EINVAL for an
 * empty path, a control character, a '"' in exe (the SCM splits the program name at quotes
 * only) or a '%' anywhere (ImagePath is REG_EXPAND_SZ: the SCM would expand %NAME%);
 * PROTO_ELIMIT when it does not fit.
 */
enum proto_rc agent_service_command_line(const char *exe, const char *config, char *out,
                                         size_t out_size);

#ifdef _WIN32
/* service_win32.c. Each prints what it did (stdout) or why not (stderr) and returns a
 * cli.h exit code. */

/* Creates the service, or updates an existing one's command line and settings; registers the
 * Event Log source. config (may be NULL: registry policy only) must load as `run` loads it
 * and is stored as an absolute path. */
int agent_service_install(const char *config);
/* Stops the service if it runs, deletes it and the Event Log source. Not installed: 0. */
int agent_service_uninstall(void);
/* Starts the service and waits until it runs (0) or stopped again (1). */
int agent_service_start(void);
/* Asks the service to stop and waits until it has (0). Not running: 0. */
int agent_service_stop(void);
/* `service run [--config FILE]` (argv[0] = "run"): hands the process to the service control
 * manager, which calls the service's main. From a console: 2, with a message saying so. */
int agent_service_run(int argc, char **argv);
#endif

#endif
