/*
 * cli_apply: `rrasfleet-agent apply`: a signed remediation profile applied to a capture bundle
 * (the simulated host) or, on Windows without --bundle, to this host itself (system_win32.c),
 * with the same checks as online (DESIGN §8): trusted keys from the command line only, target =
 * the host's FQDN, window, serial, then dry-run or apply with rollback. A journal left by a
 * crash in the state folder is recovered first. The live host's netsh runner is a parameter
 * (cli_apply.h) so that a test program can replay netsh; the shipped command passes none.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "alloc.h"
#include "apply.h"
#include "caps.h"
#include "cli.h"
#include "cli_apply.h"
#include "source.h"
#include "system.h"
#include "timefmt.h"
#include "verify.h"

#define APPLY_ERR_BYTES 1024u

struct apply_options {
    const char *bundle;
    const char *profile;
    const char *trust;
    const char *trust_next;
    const char *state_dir;
    enum agent_remediation_mode mode;
    bool json;
    struct proto_policy policy; /* owns expected_ca */
};

static void apply_usage(FILE *to)
{
    fputs("usage: rrasfleet-agent apply [--bundle DIR] --profile FILE --trust PUBKEY\n"
          "                             [--trust-next PUBKEY] [--mode dry-run|apply]\n"
          "                             [--state-dir DIR] [--now RFC3339] [--expected-ca DN]\n"
          "                             [--json]\n"
          "  --bundle DIR         capture bundle acting as the host (its files are rewritten);\n"
          "                       without it (Windows only) the profile is run on this host\n"
          "  --profile FILE       signed profile envelope (rrasfleet-collector profile build)\n"
          "  --trust PUBKEY       PEM public key profiles must be signed with\n"
          "  --trust-next PUBKEY  the next signing key, also trusted\n"
          "  --mode MODE          what this host allows: dry-run (default) or apply\n"
          "  --state-dir DIR      last serial applied and the apply journal (required to apply)\n"
          "  --now RFC3339        check the validity window at this time instead of the clock\n"
          "  --expected-ca DN     CA that L2TP clients trust (for the findings before/after)\n"
          "  --json               machine-readable result\n"
          "exit: 0 applied or planned, 3 refused, 4 rolled back, 2 usage\n",
          to);
}

/* 0 ok, -1 help printed, AGENT_EXIT_USAGE on error. */
static int apply_parse(int argc, char **argv, struct apply_options *o)
{
    static const struct option longopts[] = {
        {"bundle", required_argument, NULL, 'b'},
        {"profile", required_argument, NULL, 'p'},
        {"trust", required_argument, NULL, 't'},
        {"trust-next", required_argument, NULL, 'T'},
        {"mode", required_argument, NULL, 'm'},
        {"state-dir", required_argument, NULL, 's'},
        {"now", required_argument, NULL, 'n'},
        {"expected-ca", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof(*o));
    o->mode = AGENT_REMEDIATION_DRY_RUN;
    o->policy.now = (int64_t)time(NULL);
    o->policy.expiry_days = PROTO_EXPIRY_DAYS_DEFAULT;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'b':
            o->bundle = optarg;
            break;
        case 'p':
            o->profile = optarg;
            break;
        case 't':
            o->trust = optarg;
            break;
        case 'T':
            o->trust_next = optarg;
            break;
        case 's':
            o->state_dir = optarg;
            break;
        case 'm':
            if (agent_config_remediation_mode_parse(optarg, &o->mode) != PROTO_OK ||
                o->mode == AGENT_REMEDIATION_OFF) {
                fprintf(stderr,
                        "rrasfleet-agent apply: --mode: expected dry-run or apply, got: %s\n",
                        optarg);
                return AGENT_EXIT_USAGE;
            }
            break;
        case 'n':
            if (proto_time_parse_rfc3339(optarg, &o->policy.now) != PROTO_OK) {
                fprintf(stderr,
                        "rrasfleet-agent apply: --now: expected an RFC 3339 time, got: %s\n",
                        optarg);
                return AGENT_EXIT_USAGE;
            }
            break;
        case 'c':
            proto_dn_clear(&o->policy.expected_ca);
            if (strlen(optarg) > PROTO_MAX_NAME ||
                proto_dn_parse(optarg, &o->policy.expected_ca) != PROTO_OK) {
                fprintf(stderr,
                        "rrasfleet-agent apply: --expected-ca: not a distinguished name: %s\n",
                        optarg);
                return AGENT_EXIT_USAGE;
            }
            o->policy.has_expected_ca = true;
            break;
        case 'j':
            o->json = true;
            break;
        case 'h':
            apply_usage(stdout);
            return -1;
        default:
            fprintf(stderr, "rrasfleet-agent apply: unknown or incomplete option: %s\n",
                    argv[optind - 1]);
            apply_usage(stderr);
            return AGENT_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "rrasfleet-agent apply: unexpected argument: %s\n", argv[optind]);
        return AGENT_EXIT_USAGE;
    }
    if (o->bundle == NULL && !agent_source_live_available()) {
        fputs("rrasfleet-agent apply: --bundle is required (this build has no live host)\n",
              stderr);
        apply_usage(stderr);
        return AGENT_EXIT_USAGE;
    }
    if (o->profile == NULL || o->trust == NULL) {
        fputs("rrasfleet-agent apply: --profile and --trust are required\n", stderr);
        apply_usage(stderr);
        return AGENT_EXIT_USAGE;
    }
    if (o->mode == AGENT_REMEDIATION_APPLY && (o->state_dir == NULL || o->state_dir[0] == '\0')) {
        fputs("rrasfleet-agent apply: --mode apply needs --state-dir (the serial and the journal "
              "live there)\n",
              stderr);
        return AGENT_EXIT_USAGE;
    }
    return 0;
}

static cJSON *apply_ids_json(const struct proto_strv *v)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a != NULL && i < v->count; i++) {
        cJSON *s = cJSON_CreateString(v->items[i]);
        if (s == NULL || !cJSON_AddItemToArray(a, s)) {
            cJSON_Delete(s);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

static cJSON *apply_result_json(const struct proto_result *res)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *steps = cJSON_CreateArray();
    cJSON *before = apply_ids_json(&res->findings_before);
    cJSON *after = apply_ids_json(&res->findings_after);
    bool ok =
        doc != NULL && steps != NULL && before != NULL && after != NULL &&
        cJSON_AddStringToObject(doc, "profile_id", res->profile_id) != NULL &&
        cJSON_AddNumberToObject(doc, "serial", (double)res->serial) != NULL &&
        cJSON_AddStringToObject(doc, "outcome", proto_wire_outcome_str(res->outcome)) != NULL &&
        cJSON_AddStringToObject(doc, "reason", res->reason ? res->reason : "") != NULL;
    for (size_t i = 0; ok && i < res->step_count; i++) {
        const struct proto_result_step *s = &res->steps[i];
        cJSON *o = cJSON_CreateObject();
        if (o == NULL || !cJSON_AddItemToArray(steps, o)) {
            cJSON_Delete(o);
            ok = false;
            break;
        }
        ok = cJSON_AddStringToObject(o, "action", proto_wire_action_type_str(s->action)) != NULL &&
             cJSON_AddStringToObject(o, "before", s->before ? s->before : "") != NULL &&
             cJSON_AddStringToObject(o, "after", s->after ? s->after : "") != NULL &&
             cJSON_AddStringToObject(o, "status", proto_wire_step_status_str(s->status)) != NULL;
    }
    if (ok) {
        ok = cJSON_AddItemToObject(doc, "steps", steps);
        steps = NULL;
        ok = ok && cJSON_AddItemToObject(doc, "findings_before", before);
        before = NULL;
        ok = ok && cJSON_AddItemToObject(doc, "findings_after", after);
        after = NULL;
    }
    cJSON_Delete(steps);
    cJSON_Delete(before);
    cJSON_Delete(after);
    if (!ok) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

static void apply_print_ids(const char *label, const struct proto_strv *v)
{
    printf("%s:", label);
    if (v->count == 0) {
        printf(" none");
    }
    for (size_t i = 0; i < v->count; i++) {
        printf(" %s", v->items[i]);
    }
    printf("\n");
}

static int apply_report(const struct proto_result *res, bool json)
{
    if (json) {
        cJSON *doc = apply_result_json(res);
        char *text = doc != NULL ? cJSON_PrintUnformatted(doc) : NULL;
        cJSON_Delete(doc);
        if (text == NULL) {
            fputs("rrasfleet-agent apply: out of memory\n", stderr);
            return AGENT_EXIT_USAGE;
        }
        puts(text);
        cJSON_free(text);
    } else {
        printf("profile %s serial %llu: %s\n", res->profile_id[0] ? res->profile_id : "-",
               (unsigned long long)res->serial, proto_wire_outcome_str(res->outcome));
        if (res->reason != NULL && res->reason[0] != '\0') {
            printf("reason: %s\n", res->reason);
        }
        for (size_t i = 0; i < res->step_count; i++) {
            const struct proto_result_step *s = &res->steps[i];
            printf("step %zu %s [%s]\n  before: %s\n  after:  %s\n", i + 1,
                   proto_wire_action_type_str(s->action), proto_wire_step_status_str(s->status),
                   s->before ? s->before : "", s->after ? s->after : "");
        }
        apply_print_ids("findings before", &res->findings_before);
        apply_print_ids("findings after", &res->findings_after);
    }
    switch (res->outcome) {
    case PROTO_OUTCOME_APPLIED:
    case PROTO_OUTCOME_PLANNED:
        return AGENT_EXIT_OK;
    case PROTO_OUTCOME_ROLLED_BACK:
        return AGENT_EXIT_ROLLED_BACK;
    default:
        return AGENT_EXIT_REFUSED;
    }
}

int agent_cmd_apply(int argc, char **argv)
{
    return agent_cli_apply_run(argc, argv, NULL);
}

int agent_cli_apply_run(int argc, char **argv, const struct agent_netsh_runner *netsh)
{
    struct apply_options o;
    struct agent_system *sys = NULL;
    struct proto_snapshot *snap = NULL;
    struct proto_result *res = NULL;
    struct proto_profile *profile = NULL, *opened = NULL;
    struct proto_verify_key *keys[AGENT_VERIFY_MAX_KEYS] = {NULL, NULL};
    size_t key_count = 0;
    char *envelope = NULL;
    size_t envelope_len = 0;
    char err[APPLY_ERR_BYTES];
    int exit_code = AGENT_EXIT_USAGE;
    bool recovered = false;

    int parsed = apply_parse(argc, argv, &o);
    if (parsed != 0) {
        exit_code = parsed < 0 ? AGENT_EXIT_OK : parsed;
        goto out;
    }
    res = proto_wire_result_create();
    if (res == NULL) {
        fputs("rrasfleet-agent apply: out of memory\n", stderr);
        goto out;
    }
    enum proto_rc rc = o.bundle != NULL ? agent_system_sim_open(o.bundle, &sys)
                                        : agent_system_win32_open(netsh, &sys);
    if (rc && o.bundle != NULL) {
        fprintf(stderr, "rrasfleet-agent apply: cannot open bundle %s: %s\n", o.bundle,
                rc == PROTO_ENOTFOUND ? "no such folder" : proto_rc_str(rc));
        goto out;
    }
    if (rc) {
        fprintf(stderr, "rrasfleet-agent apply: cannot open this host: %s\n", proto_rc_str(rc));
        goto out;
    }
    /* An apply a crash interrupted is undone before anything else is looked at. */
    rc = agent_apply_recover(sys, o.state_dir, &recovered, err, sizeof(err));
    if (rc) {
        agent_apply_refuse(res, NULL, NULL, o.policy.now, err);
        exit_code = apply_report(res, o.json);
        goto out;
    }
    if (recovered) {
        fprintf(stderr, "rrasfleet-agent apply: %s\n", err);
    }
    rc = agent_verify_load_keys(o.trust, o.trust_next, keys, &key_count, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "rrasfleet-agent apply: %s\n", err);
        goto out;
    }
    rc = sys->read_snapshot(sys, &snap);
    const char *fqdn = rc == PROTO_OK ? snap->host.fqdn : NULL;
    rc = agent_verify_read_envelope(o.profile, &envelope, &envelope_len, err, sizeof(err));
    if (rc == PROTO_ENOTFOUND || rc == PROTO_EIO) {
        fprintf(stderr, "rrasfleet-agent apply: %s\n", err);
        goto out;
    }
    if (rc == PROTO_OK) {
        struct agent_verify_request vr = {
            .envelope = envelope,
            .envelope_len = envelope_len,
            .trusted = (const struct proto_verify_key *const *)keys,
            .trusted_count = key_count,
            .host_fqdn = fqdn,
            .now = o.policy.now,
            .state_dir = o.state_dir,
        };
        rc = agent_verify_profile(&vr, &profile, &opened, err, sizeof(err));
    }
    if (rc) {
        if (agent_apply_refuse(res, opened, fqdn, o.policy.now, err) != PROTO_OK) {
            fputs("rrasfleet-agent apply: out of memory\n", stderr);
            goto out;
        }
        exit_code = apply_report(res, o.json);
        goto out;
    }
    struct agent_apply_request req = {
        .profile = profile,
        .host_mode = o.mode,
        .state_dir = o.state_dir,
        .policy = &o.policy,
        .now = o.policy.now,
    };
    rc = agent_apply_run(sys, &req, res);
    if (rc) {
        fprintf(stderr, "rrasfleet-agent apply: %s\n", proto_rc_str(rc));
        goto out;
    }
    exit_code = apply_report(res, o.json);
out:
    agent_verify_keys_free(keys, key_count);
    proto_free(envelope);
    proto_wire_profile_destroy(profile);
    proto_wire_profile_destroy(opened);
    proto_wire_result_destroy(res);
    proto_snapshot_destroy(snap);
    agent_system_destroy(sys);
    proto_policy_clear(&o.policy);
    return exit_code;
}
