/*
 * cmd_profile: `rrasfleet-collector profile build`, the offline path of remediation (DESIGN §8):
 * the fix for one capture bundle (air-gapped servers), judged by the what-if, signed with the
 * collector's key and written as an envelope. A profile the what-if refuses is never written.
 * Same code as the online path: proto/fix.h builds and judges, proto/sign.h seals.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "app.h"
#include "bundle.h"
#include "clock.h"
#include "diagnose.h"
#include "dn.h"
#include "fix.h"
#include "sign.h"
#include "uuid.h"

#define PROFILE_DEFAULT_EXPIRES_S (72 * 3600)
#define PROFILE_MAX_EXPIRES_S (90 * 86400) /* a signed fix should not outlive its snapshot long */
#define PROFILE_MAX_SERIAL 9007199254740991ull /* 2^53 - 1, what the wire carries */

struct profile_args {
    const char *bundle;
    const char *expected_ca;
    const char *server_address;
    const char *key;
    const char *out;
    unsigned long long serial;
    enum proto_profile_mode mode;
    long long expires_in_s;
};

static int profile_usage(void)
{
    fputs("usage: rrasfleet-collector profile build --bundle DIR --expected-ca DN "
          "--server-address ADDR\n"
          "         --key FILE --serial N [--mode dry-run|apply] [--expires-in 72h] -o FILE\n",
          stderr);
    return COL_APP_EXIT_USAGE;
}

/* "90m", "72h", "3d": seconds into *out; false for anything else or past the cap. */
static bool profile_parse_duration(const char *s, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (errno != 0 || end == s || n <= 0 || end[0] == '\0' || end[1] != '\0') {
        return false;
    }
    long long unit = end[0] == 'm' ? 60 : end[0] == 'h' ? 3600 : end[0] == 'd' ? 86400 : 0;
    if (unit == 0 || n > PROFILE_MAX_EXPIRES_S / unit) {
        return false;
    }
    *out = n * unit;
    return true;
}

static int profile_parse_args(int argc, char **argv, struct profile_args *a)
{
    memset(a, 0, sizeof(*a));
    a->mode = PROTO_PROFILE_APPLY;
    a->expires_in_s = PROFILE_DEFAULT_EXPIRES_S;
    bool have_serial = false;
    for (int i = 0; i < argc; i++) {
        const char *opt = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (val == NULL) {
            fprintf(stderr, "rrasfleet-collector profile build: %s needs a value\n", opt);
            return profile_usage();
        }
        i++;
        if (strcmp(opt, "--bundle") == 0) {
            a->bundle = val;
        } else if (strcmp(opt, "--expected-ca") == 0) {
            a->expected_ca = val;
        } else if (strcmp(opt, "--server-address") == 0) {
            a->server_address = val;
        } else if (strcmp(opt, "--key") == 0) {
            a->key = val;
        } else if (strcmp(opt, "-o") == 0 || strcmp(opt, "--out") == 0) {
            a->out = val;
        } else if (strcmp(opt, "--serial") == 0) {
            char *end = NULL;
            errno = 0;
            a->serial = strtoull(val, &end, 10);
            if (errno != 0 || end == val || *end != '\0' || val[0] == '-' || a->serial == 0 ||
                a->serial > PROFILE_MAX_SERIAL) {
                fputs("rrasfleet-collector profile build: --serial: expected a whole number "
                      "from 1 to 2^53-1\n",
                      stderr);
                return COL_APP_EXIT_USAGE;
            }
            have_serial = true;
        } else if (strcmp(opt, "--mode") == 0) {
            if (strcmp(val, "dry-run") == 0 || strcmp(val, "dry_run") == 0) {
                a->mode = PROTO_PROFILE_DRY_RUN;
            } else if (strcmp(val, "apply") == 0) {
                a->mode = PROTO_PROFILE_APPLY;
            } else {
                fputs("rrasfleet-collector profile build: --mode: expected dry-run or apply\n",
                      stderr);
                return COL_APP_EXIT_USAGE;
            }
        } else if (strcmp(opt, "--expires-in") == 0) {
            if (!profile_parse_duration(val, &a->expires_in_s)) {
                fputs("rrasfleet-collector profile build: --expires-in: expected N followed by "
                      "m, h or d, at most 90d\n",
                      stderr);
                return COL_APP_EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "rrasfleet-collector profile build: unknown option: %s\n", opt);
            return profile_usage();
        }
    }
    const char *missing = a->bundle == NULL           ? "--bundle"
                          : a->expected_ca == NULL    ? "--expected-ca"
                          : a->server_address == NULL ? "--server-address"
                          : a->key == NULL            ? "--key"
                          : !have_serial              ? "--serial"
                          : a->out == NULL            ? "-o"
                                                      : NULL;
    if (missing != NULL) {
        fprintf(stderr, "rrasfleet-collector profile build: %s is required\n", missing);
        return profile_usage();
    }
    return 0;
}

static void profile_print_findings(const char *label, const struct proto_diagnosis *d)
{
    printf("%s:", label);
    if (d == NULL || d->finding_count == 0) {
        fputs(" none", stdout);
    }
    for (size_t i = 0; d != NULL && i < d->finding_count; i++) {
        printf(" %s", d->findings[i].id);
    }
    putchar('\n');
}

static void profile_print_action(size_t n, const struct proto_action *a)
{
    printf("action %zu: %s", n, proto_wire_action_type_str(a->type));
    switch (a->type) {
    case PROTO_ACTION_REGISTRY_DWORD_SET:
        printf(" %s\\%s = %lu", proto_dword_allow_list[a->u.dword.name].key,
               proto_dword_allow_list[a->u.dword.name].name, (unsigned long)a->u.dword.data);
        break;
    case PROTO_ACTION_IPSEC_RULE_ENSURE:
        printf(" \"%s\" (endpoint1 %s, UDP %u, CA %s)", a->u.rule.name, a->u.rule.endpoint1,
               a->u.rule.port1, a->u.rule.auth1_ca_name);
        break;
    case PROTO_ACTION_IPSEC_RULE_REMOVE:
        printf(" \"%s\"", a->u.remove.name);
        break;
    case PROTO_ACTION_SERVICE_RESTART:
        fputs(" RemoteAccess", stdout);
        break;
    case PROTO_ACTION_TYPE_COUNT:
        break;
    }
    putchar('\n');
}

/* Writes the envelope through a temporary file and a rename: a reader never sees half of one. */
static int profile_write(const char *path, const char *text, size_t len)
{
    char tmp[4096];
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        fprintf(stderr, "rrasfleet-collector profile build: -o: path too long\n");
        return COL_APP_EXIT_USAGE;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "rrasfleet-collector profile build: cannot create %s: %s\n", tmp,
                strerror(errno));
        return 1;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, text + done, len - done);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            break;
        }
        done += (size_t)w;
    }
    bool ok = done == len && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "rrasfleet-collector profile build: cannot write %s: %s\n", path,
                strerror(errno));
        (void)unlink(tmp);
        return 1;
    }
    return 0;
}

static int profile_build(int argc, char **argv)
{
    struct profile_args a;
    int exit_code = profile_parse_args(argc, argv, &a);
    if (exit_code != 0) {
        return exit_code;
    }
    struct proto_snapshot *snap = NULL;
    struct proto_policy policy;
    struct proto_profile *profile = NULL;
    struct proto_sign_key *key = NULL;
    struct proto_fix_verdict verdict;
    char *envelope = NULL;
    size_t envelope_len = 0;
    char err[512] = "";
    char profile_id[37];

    memset(&policy, 0, sizeof(policy));
    memset(&verdict, 0, sizeof(verdict));
    exit_code = COL_APP_EXIT_USAGE;
    if (proto_dn_parse(a.expected_ca, &policy.expected_ca) != PROTO_OK) {
        fputs("rrasfleet-collector profile build: --expected-ca: not a distinguished name\n",
              stderr);
        goto out;
    }
    policy.has_expected_ca = true;
    policy.now = col_clock_now_s();
    policy.expiry_days = 30;
    enum proto_rc rc = proto_bundle_read(a.bundle, &snap);
    if (rc != PROTO_OK) {
        fprintf(stderr, "rrasfleet-collector profile build: --bundle %s: %s\n", a.bundle,
                rc == PROTO_ENOTFOUND ? "no such folder" : proto_rc_str(rc));
        goto out;
    }
    rc = proto_sign_key_load(a.key, &key, err, sizeof(err));
    if (rc != PROTO_OK) {
        fprintf(stderr, "rrasfleet-collector profile build: --key: %s\n", err);
        goto out;
    }
    exit_code = 1;
    if (proto_uuid_v4(profile_id) != PROTO_OK) {
        fputs("rrasfleet-collector profile build: no randomness for the profile id\n", stderr);
        goto out;
    }
    struct proto_fix_params params = {
        .server_address = a.server_address,
        .mode = a.mode,
        .profile_id = profile_id,
        .serial = a.serial,
        .not_before = policy.now,
        .expires = policy.now + a.expires_in_s,
    };
    rc = proto_fix_build(snap, &policy, &params, &profile);
    if (rc != PROTO_OK) {
        fprintf(stderr, "rrasfleet-collector profile build: cannot build the fix: %s\n",
                proto_rc_str(rc));
        goto out;
    }
    rc = proto_fix_judge(snap, &policy, profile, &verdict);
    if (rc != PROTO_OK) {
        fprintf(stderr, "rrasfleet-collector profile build: what-if failed: %s\n",
                proto_rc_str(rc));
        goto out;
    }
    printf("host: %s\nprofile: %s serial %llu, %s\n", profile->target, profile->profile_id,
           (unsigned long long)profile->serial, proto_wire_profile_mode_str(profile->mode));
    for (size_t i = 0; i < profile->action_count; i++) {
        profile_print_action(i + 1, &profile->actions[i]);
    }
    profile_print_findings("findings before", verdict.before);
    profile_print_findings("findings after (what-if)", verdict.after);
    if (!verdict.acceptable) {
        printf("refused: %s\nnothing written\n", verdict.reason);
        goto out;
    }
    rc = proto_envelope_seal(key, profile, &envelope, &envelope_len);
    if (rc != PROTO_OK) {
        fprintf(stderr, "rrasfleet-collector profile build: cannot sign: %s\n", proto_rc_str(rc));
        goto out;
    }
    exit_code = profile_write(a.out, envelope, envelope_len);
    if (exit_code == 0) {
        printf("written: %s\n", a.out);
    }
out:
    proto_free(envelope);
    proto_fix_verdict_clear(&verdict);
    proto_wire_profile_destroy(profile);
    proto_sign_key_destroy(key);
    proto_snapshot_destroy(snap);
    proto_policy_clear(&policy);
    return exit_code;
}

int col_app_profile(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "build") == 0) {
        return profile_build(argc - 1, argv + 1);
    }
    return profile_usage();
}
