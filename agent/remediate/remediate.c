/*
 * remediate: the online path's wrapper around verify.h and apply.h, in the order cli_apply.c
 * uses offline: recover, keys, snapshot (the host's name), verify, apply. A refusal always
 * names the announced profile id, so the collector can file it even when the envelope did not
 * open.
 */
#include "remediate.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "apply.h"
#include "agent_os.h"
#include "system.h"
#include "verify.h"

static void remediate_note(char *note, size_t size, const char *text)
{
    if (note != NULL && size > 0) {
        int n = snprintf(note, size, "%s", text);
        if (n < 0) {
            note[0] = '\0';
        }
    }
}

/* This host's name as the report gives it: fqdn_override, else the snapshot's. */
static const char *remediate_host(const struct agent_config *cfg, const struct proto_snapshot *snap)
{
    if (cfg->fqdn_override[0] != '\0') {
        return cfg->fqdn_override;
    }
    if (snap == NULL) {
        return NULL;
    }
    return snap->host.fqdn != NULL ? snap->host.fqdn : snap->host.hostname;
}

enum proto_rc agent_remediate_open_system(const struct agent_config *cfg, struct agent_system **out,
                                          char *note, size_t note_size)
{
    const char *dir = NULL;
    *out = NULL;
    if (strcmp(cfg->source, AGENT_CONFIG_SOURCE_LIVE) == 0) {
        enum proto_rc result = agent_system_win32_open(NULL, out);
        if (result) {
            remediate_note(note, note_size,
                           result == PROTO_EUNSUPPORTED
                               ? "source live: this build has no live host to remediate"
                               : "cannot open this host for remediation");
        }
        return result;
    }
    enum proto_rc result = agent_config_bundle_dir(cfg, &dir);
    if (result == PROTO_OK) {
        result = agent_system_sim_open(dir, out);
    }
    if (result) {
        remediate_note(note, note_size, "cannot open the source bundle");
    }
    return result;
}

enum proto_rc agent_remediate_envelope(const struct agent_remediate_request *req,
                                       struct proto_result *res, char *note, size_t note_size)
{
    struct agent_system *sys = NULL;
    struct proto_snapshot *snap = NULL;
    struct proto_profile *profile = NULL, *opened = NULL;
    struct proto_verify_key *keys[AGENT_VERIFY_MAX_KEYS] = {NULL, NULL};
    size_t key_count = 0;
    struct proto_policy policy;
    enum agent_remediation_mode mode = AGENT_REMEDIATION_OFF;
    char err[AGENT_REMEDIATE_NOTE_BYTES];
    bool recovered = false;
    enum proto_rc result = PROTO_EINVAL;

    memset(&policy, 0, sizeof(policy));
    remediate_note(note, note_size, "");
    if (req == NULL || req->cfg == NULL || res == NULL) {
        return PROTO_EINVAL;
    }
    const struct agent_config *cfg = req->cfg;
    if (agent_config_remediation_mode_parse(cfg->remediation_mode, &mode) != PROTO_OK ||
        mode == AGENT_REMEDIATION_OFF) {
        remediate_note(note, note_size, "remediation_mode is off");
        return PROTO_EINVAL;
    }
    result = agent_remediate_open_system(cfg, &sys, note, note_size);
    if (result) {
        result = result == PROTO_ENOMEM ? result : PROTO_EINVAL;
        goto out;
    }
    /* An apply a crash interrupted is undone before anything else is looked at. */
    result = agent_apply_recover(sys, cfg->state_dir, &recovered, err, sizeof(err));
    if (result) {
        result = agent_apply_refuse(res, NULL, remediate_host(cfg, NULL), req->now, err);
        goto named;
    }
    if (recovered) {
        remediate_note(note, note_size, err);
    }
    result = agent_verify_load_keys(cfg->profile_trust_key, cfg->profile_trust_next_key, keys,
                                    &key_count, err, sizeof(err));
    if (result) {
        remediate_note(note, note_size, err);
        result = result == PROTO_ENOMEM ? result : PROTO_EINVAL;
        goto out;
    }
    result = sys->read_snapshot(sys, &snap);
    if (result == PROTO_ENOMEM) {
        goto out;
    }
    const char *host = remediate_host(cfg, result == PROTO_OK ? snap : NULL);
    if (req->envelope == NULL) {
        int n = snprintf(err, sizeof(err), "profile larger than %u bytes: refused unread",
                         (unsigned)PROTO_MAX_ENVELOPE_BYTES);
        if (n < 0) {
            err[0] = '\0';
        }
        result = agent_apply_refuse(res, NULL, host, req->now, err);
        goto named;
    }
    struct agent_verify_request vr = {
        .envelope = req->envelope,
        .envelope_len = req->envelope_len,
        .trusted = (const struct proto_verify_key *const *)keys,
        .trusted_count = key_count,
        .host_fqdn = host,
        .now = req->now,
        .state_dir = cfg->state_dir,
    };
    result = agent_verify_profile(&vr, &profile, &opened, err, sizeof(err));
    if (result == PROTO_ENOMEM) {
        goto out;
    }
    if (result) {
        result = agent_apply_refuse(res, opened, host, req->now, err);
        goto named;
    }
    result = agent_config_policy(cfg, req->now, &policy);
    if (result) {
        goto out;
    }
    struct agent_apply_request ar = {
        .profile = profile,
        .host_mode = mode,
        .state_dir = cfg->state_dir,
        .policy = &policy,
        .now = req->now,
    };
    result = agent_apply_run(sys, &ar, res);
named:
    if (result == PROTO_OK && res->profile_id[0] == '\0' && req->profile_id != NULL) {
        /* The envelope did not open: the refusal names the profile the collector offered. */
        snprintf(res->profile_id, sizeof(res->profile_id), "%s", req->profile_id);
    }
out:
    agent_verify_keys_free(keys, key_count);
    proto_wire_profile_destroy(profile);
    proto_wire_profile_destroy(opened);
    proto_snapshot_destroy(snap);
    agent_system_destroy(sys);
    proto_policy_clear(&policy);
    return result;
}

bool agent_remediate_result_spooled(const char *state_dir, const char *profile_id)
{
    char path[AGENT_CONFIG_PATH_BYTES + 64];
    char line[64];
    bool same = false;
    if (state_dir == NULL || state_dir[0] == '\0' || profile_id == NULL ||
        agent_os_join(path, sizeof(path), state_dir, AGENT_REMEDIATE_DONE_FILE) != PROTO_OK) {
        return false;
    }
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return false;
    }
    size_t n = fread(line, 1, sizeof(line) - 1, f);
    fclose(f);
    line[n] = '\0';
    size_t id_len = strlen(profile_id);
    same = n == id_len + 1 && line[id_len] == '\n' && memcmp(line, profile_id, id_len) == 0;
    return same;
}

enum proto_rc agent_remediate_record_spooled(const char *state_dir, const char *profile_id)
{
    char path[AGENT_CONFIG_PATH_BYTES + 64];
    char line[64];
    if (state_dir == NULL || state_dir[0] == '\0' || profile_id == NULL) {
        return PROTO_EINVAL;
    }
    int n = snprintf(line, sizeof(line), "%s\n", profile_id);
    if (n < 0 || (size_t)n >= sizeof(line)) {
        return PROTO_ELIMIT;
    }
    enum proto_rc result = agent_os_mkdirs(state_dir);
    if (result == PROTO_OK) {
        result = agent_os_join(path, sizeof(path), state_dir, AGENT_REMEDIATE_DONE_FILE);
    }
    return result ? result : agent_os_replace_file(path, line, (size_t)n);
}
