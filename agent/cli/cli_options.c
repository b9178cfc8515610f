/* cli_options: parsing of the options shared by the offline commands. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "caps.h"
#include "source.h"
#include "timefmt.h"
#include "x509.h"

#define AGENT_MAX_EXPIRY_DAYS 3650L

static void cli_usage(const char *command, FILE *to)
{
    bool live = agent_source_live_available();
    fprintf(to,
            "usage: rrasfleet-agent %s %s [--expected-ca DN] [--now RFC3339]\n"
            "                              [--expiry-days N] [--json] [--pretty]\n"
            "  --bundle DIR        capture bundle made by deploy/windows/capture.ps1 or\n"
            "                      `rrasfleet-agent capture`%s\n"
            "  --expected-ca DN    CA that L2TP clients trust, e.g.\n"
            "                      \"DC=com, DC=contoso, DC=corp, CN=corp-DC1-CA\" (either order)\n"
            "  --now RFC3339       evaluate validity at this time instead of the clock\n"
            "  --expiry-days N     warn about certificates expiring within N days (default %u)\n"
            "  --json              machine-readable output\n",
            command, live ? "[--bundle DIR]" : "--bundle DIR",
            live ? "; without it, this host is read live" : "", PROTO_EXPIRY_DAYS_DEFAULT);
}

int agent_cli_parse(const char *command, int argc, char **argv, struct agent_cli_options *opts)
{
    static const struct option longopts[] = {
        {"bundle", required_argument, NULL, 'b'}, {"expected-ca", required_argument, NULL, 'c'},
        {"now", required_argument, NULL, 'n'},    {"expiry-days", required_argument, NULL, 'e'},
        {"json", no_argument, NULL, 'j'},         {"pretty", no_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    memset(opts, 0, sizeof(*opts));
    opts->policy.now = (int64_t)time(NULL);
    opts->policy.expiry_days = PROTO_EXPIRY_DAYS_DEFAULT;

    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'b':
            opts->bundle = optarg;
            break;
        case 'c':
            proto_dn_clear(&opts->policy.expected_ca);
            if (strlen(optarg) > PROTO_MAX_NAME ||
                proto_dn_parse(optarg, &opts->policy.expected_ca) != PROTO_OK) {
                fprintf(stderr, "rrasfleet-agent %s: --expected-ca: not a distinguished name: %s\n",
                        command, optarg);
                return AGENT_EXIT_USAGE;
            }
            opts->policy.has_expected_ca = true;
            break;
        case 'n':
            if (proto_time_parse_rfc3339(optarg, &opts->policy.now) != PROTO_OK) {
                fprintf(stderr,
                        "rrasfleet-agent %s: --now: expected an RFC 3339 time such as "
                        "2026-11-25T00:00:00Z, got: %s\n",
                        command, optarg);
                return AGENT_EXIT_USAGE;
            }
            break;
        case 'e': {
            char *end = NULL;
            errno = 0;
            long days = strtol(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || days < 0 ||
                days > AGENT_MAX_EXPIRY_DAYS) {
                fprintf(stderr, "rrasfleet-agent %s: --expiry-days: expected 0..%ld, got: %s\n",
                        command, AGENT_MAX_EXPIRY_DAYS, optarg);
                return AGENT_EXIT_USAGE;
            }
            opts->policy.expiry_days = (unsigned)days;
            break;
        }
        case 'j':
            opts->json = true;
            break;
        case 'p':
            opts->pretty = true;
            break;
        case 'h':
            cli_usage(command, stdout);
            return -1;
        default:
            fprintf(stderr, "rrasfleet-agent %s: unknown or incomplete option: %s\n", command,
                    argv[optind - 1]);
            cli_usage(command, stderr);
            return AGENT_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "rrasfleet-agent %s: unexpected argument: %s\n", command, argv[optind]);
        return AGENT_EXIT_USAGE;
    }
    if (opts->bundle == NULL && !agent_source_live_available()) {
        fprintf(stderr, "rrasfleet-agent %s: --bundle DIR is required\n", command);
        cli_usage(command, stderr);
        return AGENT_EXIT_USAGE;
    }
    return 0;
}
