/*
 * cli_apply: `rrasfleet-agent apply` (cli.h's agent_cmd_apply) with the live host's netsh
 * runner as a parameter. The shipped command passes NULL (the real netsh.exe); the Wine test
 * program tests/windows/apply_replay_win32.c passes a replay (netsh_replay.h), so the registry
 * and the services change for real while netsh's answers are played back, and the shipped
 * binary carries no test hook. Same options, output and exit codes as agent_cmd_apply.
 */
#ifndef AGENT_CLI_APPLY_H
#define AGENT_CLI_APPLY_H

#include "netsh.h"

/* argv[0] is the command's name ("apply"); `netsh` is borrowed (NULL: the system's netsh) and
 * used only without --bundle, on Windows. */
int agent_cli_apply_run(int argc, char **argv, const struct agent_netsh_runner *netsh);

#endif
