/*
 * rrasfleet-agent: command dispatch. Each command lives in its own module (cli.h); this file
 * only picks one and owns the top-level usage text.
 */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "cli.h"

static void agent_usage(FILE *to)
{
    fputs("usage: rrasfleet-agent COMMAND [options]\n"
          "commands:\n"
          "  check    diagnose a capture bundle (or, on Windows, this host) and print the "
          "findings\n"
          "  collect  print the report JSON the agent would send for a bundle (or this host)\n"
          "  capture  write a capture bundle of this host (Windows), or re-export one\n"
          "  run      collect, spool and send reports to the collector (--once: one round)\n"
          "  config   print the effective settings and where each came from\n"
          "  apply    check a signed remediation profile and dry-run or apply it to a bundle\n"
          "  service  install, start, stop or remove the Windows service (Windows)\n"
          "  version  print the version\n"
          "run `rrasfleet-agent COMMAND --help` for the options of a command\n",
          to);
}

int main(int argc, char **argv)
{
    proto_alloc_install_cjson_hooks();
    if (argc < 2) {
        agent_usage(stderr);
        return AGENT_EXIT_USAGE;
    }
    const char *command = argv[1];
    if (strcmp(command, "check") == 0) {
        return agent_cmd_check(argc - 1, argv + 1);
    }
    if (strcmp(command, "collect") == 0) {
        return agent_cmd_collect(argc - 1, argv + 1);
    }
    if (strcmp(command, "capture") == 0) {
        return agent_cmd_capture(argc - 1, argv + 1);
    }
    if (strcmp(command, "run") == 0) {
        return agent_cmd_run(argc - 1, argv + 1);
    }
    if (strcmp(command, "config") == 0) {
        return agent_cmd_config(argc - 1, argv + 1);
    }
    if (strcmp(command, "apply") == 0) {
        return agent_cmd_apply(argc - 1, argv + 1);
    }
    if (strcmp(command, "service") == 0) {
        return agent_cmd_service(argc - 1, argv + 1);
    }
    if (strcmp(command, "version") == 0 || strcmp(command, "--version") == 0) {
        printf("rrasfleet-agent %s\n", RRAS_VERSION);
        return AGENT_EXIT_OK;
    }
    if (strcmp(command, "help") == 0 || strcmp(command, "--help") == 0) {
        agent_usage(stdout);
        return AGENT_EXIT_OK;
    }
    fprintf(stderr, "rrasfleet-agent: unknown command: %s\n", command);
    agent_usage(stderr);
    return AGENT_EXIT_USAGE;
}
