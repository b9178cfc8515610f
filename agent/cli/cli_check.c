/* cli_check: `rrasfleet-agent check`: diagnosis of a capture bundle, or of this host live. */
#include <stdio.h>
#include <stdlib.h>

#include "alloc.h"
#include "check_output.h"
#include "cli.h"
#include "source.h"

int agent_cmd_check(int argc, char **argv)
{
    struct agent_cli_options opts;
    struct proto_snapshot *snap = NULL;
    struct proto_diagnosis *diag = NULL;
    int exit_code = AGENT_EXIT_USAGE;

    int parsed = agent_cli_parse("check", argc, argv, &opts);
    if (parsed != 0) {
        exit_code = parsed < 0 ? AGENT_EXIT_OK : parsed;
        goto out;
    }
    enum proto_rc rc = opts.bundle != NULL ? agent_source_read_bundle(opts.bundle, &snap)
                                           : agent_source_read_live(opts.policy.now, &snap);
    if (rc && opts.bundle != NULL) {
        fprintf(stderr, "rrasfleet-agent check: cannot read bundle %s: %s\n", opts.bundle,
                rc == PROTO_ENOTFOUND ? "no such folder" : proto_rc_str(rc));
        goto out;
    }
    if (rc) {
        fprintf(stderr, "rrasfleet-agent check: cannot read this host: %s\n", proto_rc_str(rc));
        goto out;
    }
    rc = proto_diagnose(snap, &opts.policy, &diag);
    if (rc) {
        fprintf(stderr, "rrasfleet-agent check: diagnosis failed: %s\n", proto_rc_str(rc));
        goto out;
    }
    if (opts.json) {
        cJSON *doc = agent_check_to_json(snap, diag, &opts.policy);
        char *text = doc ? (opts.pretty ? cJSON_Print(doc) : cJSON_PrintUnformatted(doc)) : NULL;
        cJSON_Delete(doc);
        if (text == NULL) {
            fputs("rrasfleet-agent check: out of memory\n", stderr);
            goto out;
        }
        puts(text);
        proto_free(text);
    } else {
        agent_check_print_text(stdout, snap, diag, &opts.policy);
    }
    exit_code =
        proto_diagnosis_max_severity(diag) >= PROTO_SEV_HIGH ? AGENT_EXIT_FINDINGS : AGENT_EXIT_OK;
out:
    proto_diagnosis_destroy(diag);
    proto_snapshot_destroy(snap);
    proto_policy_clear(&opts.policy);
    return exit_code;
}
