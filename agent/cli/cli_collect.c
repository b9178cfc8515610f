/* cli_collect: `rrasfleet-agent collect`: the report JSON the agent would send for a bundle, or
 * for this host read live. */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "cli.h"
#include "json.h"
#include "source.h"
#include "uuid.h"

/* Moves the diagnosis' findings into the report (the report then owns them). */
static void collect_take_findings(struct proto_report *report, struct proto_diagnosis *diag)
{
    report->findings = diag->findings;
    report->finding_count = diag->finding_count;
    diag->findings = NULL;
    diag->finding_count = 0;
}

int agent_cmd_collect(int argc, char **argv)
{
    struct agent_cli_options opts;
    struct proto_report *report = NULL;
    struct proto_diagnosis *diag = NULL;
    char *text = NULL;
    int exit_code = AGENT_EXIT_USAGE;

    int parsed = agent_cli_parse("collect", argc, argv, &opts);
    if (parsed != 0) {
        exit_code = parsed < 0 ? AGENT_EXIT_OK : parsed;
        goto out;
    }
    report = proto_report_create();
    if (report == NULL) {
        fputs("rrasfleet-agent collect: out of memory\n", stderr);
        goto out;
    }
    proto_snapshot_destroy(report->snapshot);
    report->snapshot = NULL;
    enum proto_rc rc = opts.bundle != NULL
                           ? agent_source_read_bundle(opts.bundle, &report->snapshot)
                           : agent_source_read_live(opts.policy.now, &report->snapshot);
    if (rc && opts.bundle != NULL) {
        fprintf(stderr, "rrasfleet-agent collect: cannot read bundle %s: %s\n", opts.bundle,
                rc == PROTO_ENOTFOUND ? "no such folder" : proto_rc_str(rc));
        goto out;
    }
    if (rc) {
        fprintf(stderr, "rrasfleet-agent collect: cannot read this host: %s\n", proto_rc_str(rc));
        goto out;
    }
    struct proto_host *host = &report->snapshot->host;
    if (host->fqdn == NULL && host->hostname != NULL) {
        host->fqdn = proto_strdup(host->hostname);
    }
    if (host->fqdn == NULL) {
        fprintf(stderr,
                "rrasfleet-agent collect: %s%s names no FQDN or Hostname; a report must say "
                "which host it describes\n",
                opts.bundle != NULL ? opts.bundle : "this host",
                opts.bundle != NULL ? "/host.txt" : "");
        goto out;
    }
    if (host->collected_at == 0) {
        host->collected_at = opts.policy.now;
    }
    proto_free(host->agent_version);
    host->agent_version = proto_strdup(RRAS_VERSION);
    rc = host->agent_version ? proto_uuid_v4(report->report_id) : PROTO_ENOMEM;
    if (rc == PROTO_OK) {
        rc = proto_diagnose(report->snapshot, &opts.policy, &diag);
    }
    if (rc == PROTO_OK) {
        collect_take_findings(report, diag);
        rc = proto_json_encode_report(report, opts.pretty, &text, NULL);
    }
    if (rc) {
        fprintf(stderr, "rrasfleet-agent collect: %s\n", proto_rc_str(rc));
        goto out;
    }
    puts(text);
    exit_code = AGENT_EXIT_OK;
out:
    proto_free(text);
    proto_diagnosis_destroy(diag);
    proto_report_destroy(report);
    proto_policy_clear(&opts.policy);
    return exit_code;
}
