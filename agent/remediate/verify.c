/*
 * verify: the agent's checks on a remediation profile, in the order DESIGN §8 fixes: signature
 * (inside proto_envelope_open, before the payload is parsed), then target, validity window and
 * serial. Key loading and the envelope file read live here too so that the CLI and the run loop
 * open profiles the same way.
 */
#include "verify.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "bundle.h"
#include "caps.h"
#include "state.h"
#include "timefmt.h"

static void verify_fmt(char *out, size_t size, const char *fmt, ...) PROTO_PRINTF_LIKE(3, 4);

static void verify_fmt(char *out, size_t size, const char *fmt, ...)
{
    if (out == NULL || size == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, size, fmt, ap);
    va_end(ap);
    if (n < 0) {
        out[0] = '\0';
    }
}

void agent_verify_keys_free(struct proto_verify_key *keys[AGENT_VERIFY_MAX_KEYS], size_t count)
{
    for (size_t i = 0; i < count && i < AGENT_VERIFY_MAX_KEYS; i++) {
        proto_verify_key_destroy(keys[i]);
        keys[i] = NULL;
    }
}

enum proto_rc agent_verify_load_keys(const char *key_path, const char *next_path,
                                     struct proto_verify_key *keys[AGENT_VERIFY_MAX_KEYS],
                                     size_t *count, char *err, size_t err_size)
{
    const char *paths[AGENT_VERIFY_MAX_KEYS] = {key_path, next_path};
    enum proto_rc result = PROTO_OK;

    *count = 0;
    if (key_path == NULL || key_path[0] == '\0') {
        verify_fmt(err, err_size, "no trusted key: profile_trust_key is not set");
        return PROTO_EINVAL;
    }
    for (size_t i = 0; i < AGENT_VERIFY_MAX_KEYS; i++) {
        if (paths[i] == NULL || paths[i][0] == '\0') {
            continue;
        }
        result = proto_verify_key_load(paths[i], &keys[*count], err, err_size);
        if (result) {
            agent_verify_keys_free(keys, *count);
            *count = 0;
            return result;
        }
        (*count)++;
    }
    return PROTO_OK;
}

enum proto_rc agent_verify_read_envelope(const char *path, char **text, size_t *len, char *err,
                                         size_t err_size)
{
    unsigned char *raw = NULL;
    enum proto_rc result = proto_file_read(path, PROTO_MAX_ENVELOPE_BYTES, &raw, len);
    *text = (char *)raw;
    if (result == PROTO_ELIMIT) {
        verify_fmt(err, err_size, "%s: larger than %u bytes: an oversized profile is not read",
                   path, PROTO_MAX_ENVELOPE_BYTES);
    } else if (result) {
        verify_fmt(err, err_size, "%s: %s", path,
                   result == PROTO_ENOTFOUND ? "no such file" : proto_rc_str(result));
    }
    return result;
}

enum proto_rc agent_verify_profile(const struct agent_verify_request *req,
                                   struct proto_profile **out, struct proto_profile **opened,
                                   char *reason, size_t reason_size)
{
    struct proto_profile *profile = NULL;
    enum proto_open_refusal why = PROTO_OPEN_ERROR;
    char err[512];
    char t1[32], t2[32];
    enum proto_rc result;

    *out = NULL;
    if (opened != NULL) {
        *opened = NULL;
    }
    verify_fmt(reason, reason_size, "%s", "");
    if (req == NULL || req->envelope == NULL) {
        return PROTO_EINVAL;
    }
    err[0] = '\0';
    result = proto_envelope_open(req->trusted, req->trusted_count, req->envelope, req->envelope_len,
                                 &profile, &why, err, sizeof(err));
    if (result != PROTO_OK || why != PROTO_OPEN_OK) {
        verify_fmt(reason, reason_size, "%s: %s", proto_open_refusal_str(why),
                   err[0] ? err : proto_rc_str(result));
        proto_wire_profile_destroy(profile);
        if (result == PROTO_ENOMEM) {
            return result;
        }
        return why == PROTO_OPEN_UNKNOWN_KEY || why == PROTO_OPEN_BAD_SIGNATURE ? PROTO_ECRYPTO
                                                                                : PROTO_EPARSE;
    }
    result = PROTO_EINVAL;
    if (req->host_fqdn == NULL || req->host_fqdn[0] == '\0') {
        verify_fmt(reason, reason_size,
                   "this host's FQDN is unknown: the target cannot be checked");
        goto refused;
    }
    if (strcasecmp(profile->target, req->host_fqdn) != 0) {
        verify_fmt(reason, reason_size, "the profile is for %s, not this host (%s)",
                   profile->target, req->host_fqdn);
        goto refused;
    }
    if (req->now < profile->not_before) {
        (void)proto_time_format_rfc3339(profile->not_before, t1, sizeof(t1));
        verify_fmt(reason, reason_size, "not yet valid: not_before is %s", t1);
        goto refused;
    }
    if (req->now >= profile->expires) {
        (void)proto_time_format_rfc3339(profile->expires, t2, sizeof(t2));
        verify_fmt(reason, reason_size, "expired at %s", t2);
        goto refused;
    }
    if (req->state_dir != NULL && req->state_dir[0] != '\0') {
        uint64_t last = 0;
        enum proto_rc rc = agent_state_last_serial(req->state_dir, profile->target, &last);
        if (rc) {
            verify_fmt(reason, reason_size,
                       "the last serial applied cannot be read from %s: %s (a replay cannot be "
                       "ruled out)",
                       req->state_dir, proto_rc_str(rc));
            result = rc == PROTO_ENOMEM ? rc : PROTO_EIO;
            goto refused;
        }
        if (profile->serial <= last) {
            verify_fmt(reason, reason_size,
                       "serial %" PRIu64 " is not greater than the last one applied here (%" PRIu64
                       "): a replayed or older profile",
                       profile->serial, last);
            goto refused;
        }
    }
    *out = profile;
    return PROTO_OK;
refused:
    if (opened != NULL) {
        *opened = profile;
    } else {
        proto_wire_profile_destroy(profile);
    }
    return result;
}
