/*
 * cli_capture: `rrasfleet-agent capture --out DIR`: writes a capture bundle (DESIGN §5), the
 * folder deploy/windows/capture.ps1 makes, from the live host on Windows, or re-exports the
 * bundle --bundle names (any OS; what tests and Linux hosts can exercise). Prints what was
 * written and warns about every part that could not be read, as capture.ps1 does.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "agent_os.h"
#include "capture.h"
#include "cli.h"
#include "source.h"
#include "timefmt.h"

#define CAPTURE_CLI_WHY_BYTES 1024u

struct capture_options {
    const char *out;
    const char *bundle;
    int64_t now;
};

static void capture_usage(FILE *to)
{
    fprintf(to,
            "usage: rrasfleet-agent capture --out DIR %s[--now RFC3339]\n"
            "  --out DIR       folder to write the bundle to (new, or an existing empty folder)\n"
            "  --bundle DIR    re-export this capture bundle instead%s\n"
            "  --now RFC3339   CollectedAt of a live capture (default: the clock)\n"
            "exit: 0 written, 2 usage or the bundle could not be read or written\n",
            agent_source_live_available() ? "[--bundle DIR] " : "--bundle DIR ",
            agent_source_live_available() ? " of reading this host live"
                                          : " (this build cannot read the live host)");
}

/* 0 ok, -1 help printed, AGENT_EXIT_USAGE on error. */
static int capture_parse(int argc, char **argv, struct capture_options *o)
{
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},
        {"bundle", required_argument, NULL, 'b'},
        {"now", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof(*o));
    o->now = agent_os_now_s();
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            o->out = optarg;
            break;
        case 'b':
            o->bundle = optarg;
            break;
        case 'n':
            if (proto_time_parse_rfc3339(optarg, &o->now) != PROTO_OK) {
                fprintf(stderr,
                        "rrasfleet-agent capture: --now: expected an RFC 3339 time, got: %s\n",
                        optarg);
                return AGENT_EXIT_USAGE;
            }
            break;
        case 'h':
            capture_usage(stdout);
            return -1;
        default:
            fprintf(stderr, "rrasfleet-agent capture: unknown or incomplete option: %s\n",
                    argv[optind - 1]);
            capture_usage(stderr);
            return AGENT_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "rrasfleet-agent capture: unexpected argument: %s\n", argv[optind]);
        return AGENT_EXIT_USAGE;
    }
    if (o->out == NULL) {
        fputs("rrasfleet-agent capture: --out DIR is required\n", stderr);
        capture_usage(stderr);
        return AGENT_EXIT_USAGE;
    }
    if (o->bundle == NULL && !agent_source_live_available()) {
        fputs("rrasfleet-agent capture: this build cannot read the live host (Windows builds "
              "do); give --bundle DIR to re-export a capture bundle\n",
              stderr);
        return AGENT_EXIT_USAGE;
    }
    return 0;
}

/* Warns about each part that was not written, and about empty tool output. */
static void capture_report(const struct agent_capture *cap, const char *out, bool live)
{
    size_t with_key = 0;
    for (size_t i = 0; i < cap->cert_count; i++) {
        with_key += cap->certs[i].has_private_key ? 1 : 0;
    }
    printf("Capture bundle written to %s\n", out);
    if (cap->store.status == PROTO_OK) {
        printf("  %zu certificate(s) from LocalMachine\\My, %zu with a private key\n",
               cap->cert_count, with_key);
    } else {
        fprintf(stderr, "warning: %s not written: %s\n", AGENT_CAPTURE_STORE_DIR,
                cap->store.why != NULL ? cap->store.why : "not in the source");
    }
    for (size_t id = 0; id < AGENT_CAPTURE_FILE_COUNT; id++) {
        const struct agent_capture_file *f = &cap->files[id];
        const char *name = agent_capture_file_name((enum agent_capture_file_id)id);
        if (f->state.status != PROTO_OK) {
            if (f->state.why != NULL || id != AGENT_CAPTURE_REG_POLICYAGENT) {
                fprintf(stderr, "warning: %s not written: %s\n", name,
                        f->state.why != NULL ? f->state.why : "not in the source");
            }
        } else if (f->len == 0) {
            fprintf(stderr,
                    "warning: %s is empty: the tool printed nothing (read as \"source "
                    "unavailable\")\n",
                    name);
        }
    }
    for (size_t i = 0; i < cap->note_count; i++) {
        fprintf(stderr, "warning: %s: %s\n", cap->notes[i].source, cap->notes[i].message);
    }
    if (live) {
        puts("  crypt32's own facts (effective EKU, chain, template) are reported by `collect`;"
             " a bundle holds the certificates' DER only");
    }
}

int agent_cmd_capture(int argc, char **argv)
{
    struct capture_options o;
    struct agent_capture *cap = NULL;
    char why[CAPTURE_CLI_WHY_BYTES] = "";
    int exit_code = AGENT_EXIT_USAGE;

    int parsed = capture_parse(argc, argv, &o);
    if (parsed != 0) {
        return parsed < 0 ? AGENT_EXIT_OK : parsed;
    }
    enum proto_rc rc;
    if (o.bundle != NULL) {
        rc = agent_capture_read_bundle(o.bundle, &cap);
        if (rc) {
            fprintf(stderr, "rrasfleet-agent capture: cannot read bundle %s: %s\n", o.bundle,
                    rc == PROTO_ENOTFOUND ? "no such folder" : proto_rc_str(rc));
            goto out;
        }
    } else {
        struct agent_capture_live_options live = {o.now, NULL, 0, true};
        rc = agent_capture_live(&live, &cap);
        if (rc) {
            fprintf(stderr, "rrasfleet-agent capture: cannot read this host: %s\n",
                    proto_rc_str(rc));
            goto out;
        }
    }
    rc = agent_capture_write_bundle(cap, o.out, why, sizeof(why));
    if (rc) {
        fprintf(stderr, "rrasfleet-agent capture: %s\n", why[0] != '\0' ? why : proto_rc_str(rc));
        goto out;
    }
    capture_report(cap, o.out, o.bundle == NULL);
    exit_code = AGENT_EXIT_OK;
out:
    agent_capture_destroy(cap);
    return exit_code;
}
