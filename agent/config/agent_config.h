/*
 * agent_config: the agent's settings (DESIGN §11, STYLE rule 10) as one proto/conftab table.
 *
 * Owns the table (key, type, default, limits, description) and the checks that span several
 * keys (URL form, backoff base <= cap, a parsable expected CA). Precedence: flags > file >
 * (later) registry policy > defaults. Reads files only through conftab; never opens the
 * certificate or key files (the transport does) and never logs secrets.
 */
#ifndef AGENT_CONFIG_H
#define AGENT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "caps.h"
#include "conftab.h"
#include "diagnose.h"

/* The highest spool_max_records the table accepts: the spool's own cap (AGENT_SPOOL_MAX_RECORDS
 * in spool.h, which the deliver layer owns; test_agent_config checks they are equal). */
#define AGENT_CONFIG_MAX_SPOOL_RECORDS 1000000u

#define AGENT_CONFIG_PATH_BYTES 1024u /* a file or folder path, with its NUL */
#define AGENT_CONFIG_URL_BYTES 1024u
#define AGENT_CONFIG_LEVEL_BYTES 16u

/* Log levels, most severe first; a message is written when its level <= the configured one. */
enum agent_log_level { AGENT_LOG_ERROR, AGENT_LOG_WARN, AGENT_LOG_INFO, AGENT_LOG_DEBUG };

/* Every field is written by conftab through the table's offsets; strings are fixed arrays. */
struct agent_config {
    char source[AGENT_CONFIG_PATH_BYTES]; /* "bundle:DIR" or DIR */
    char fqdn_override[PROTO_MAX_NAME + 1];
    char collector_url[AGENT_CONFIG_URL_BYTES]; /* https://host:port */
    char ca_file[AGENT_CONFIG_PATH_BYTES];
    char client_cert[AGENT_CONFIG_PATH_BYTES];
    char client_key[AGENT_CONFIG_PATH_BYTES];
    char pinned_pubkey[AGENT_CONFIG_PATH_BYTES]; /* "" or sha256//BASE64[;sha256//...] */
    char proxy[AGENT_CONFIG_URL_BYTES];          /* "" = connect directly */
    char spool_dir[AGENT_CONFIG_PATH_BYTES];
    unsigned long spool_max_records;
    unsigned long spool_max_bytes;
    unsigned long connect_timeout_ms;
    unsigned long total_timeout_ms;
    unsigned long interval_s;
    unsigned long jitter_percent;
    unsigned long backoff_base_ms;
    unsigned long backoff_cap_ms;
    unsigned long drain_rate_per_s; /* 0 = no limit */
    char expected_ca[PROTO_MAX_NAME + 1];
    unsigned long expiry_days;
    char log_level[AGENT_CONFIG_LEVEL_BYTES];
    char profile_trust_key[AGENT_CONFIG_PATH_BYTES];      /* PEM public key */
    char profile_trust_next_key[AGENT_CONFIG_PATH_BYTES]; /* PEM public key, "" = none */
    char state_dir[AGENT_CONFIG_PATH_BYTES];              /* last serial, apply journal */
    char remediation_mode[AGENT_CONFIG_LEVEL_BYTES];      /* "off", "dry-run" or "apply" */
};

/* What this host lets a remediation profile do, least first (so min() is "as the host
 * allows"). */
enum agent_remediation_mode {
    AGENT_REMEDIATION_OFF,
    AGENT_REMEDIATION_DRY_RUN,
    AGENT_REMEDIATION_APPLY
};

/* The borrowed static table; *count gets its length. */
const struct proto_conf_entry *agent_config_table(size_t *count);

/* Fills `cfg` with the defaults and binds `conf` to it (origins: default). Caller frees
 * `conf` with proto_conf_free. PROTO_ENOMEM, or PROTO_EINVAL for a broken table. */
enum proto_rc agent_config_init(struct agent_config *cfg, struct proto_conf *conf);

/*
 * Loads `path` (may be NULL: no file), then the `--key value` flags in argv[first..argc), which
 * override the file. Non-flag arguments stay, compacted to argv[first..*argc_out). On failure
 * `err` says what and where ("FILE:LINE: unknown key 'x'", "--interval-s: ..."); a missing
 * file is PROTO_ENOTFOUND.
 */
enum proto_rc agent_config_load(struct proto_conf *conf, const char *path, int argc, char **argv,
                                int first, int *argc_out, char *err, size_t err_size);

/* A command's own on/off switch ("--once"), recognised beside the settings flags. */
struct agent_config_switch {
    const char *name; /* with its dashes */
    bool *seen;       /* set to true when given */
};

/*
 * A command line argv[1..argc) as the `run` and `config` commands take it: `--config FILE` (or
 * --config=FILE; *config_path borrows it, NULL when not given), the command's switches, and
 * `--KEY VALUE` settings. Initialises cfg/conf (caller frees conf with proto_conf_free, also on
 * failure), loads the file, then applies the flags over it. `err` says what was wrong.
 */
enum proto_rc agent_config_from_args(int argc, char **argv,
                                     const struct agent_config_switch *switches,
                                     size_t switch_count, struct agent_config *cfg,
                                     struct proto_conf *conf, const char **config_path, char *err,
                                     size_t err_size);

/* The checks one key alone cannot make, for `run`: source, collector_url (https://, no
 * user info), ca_file, client_cert/key, spool_dir set; pinned_pubkey form; base <= cap;
 * log_level known; expected_ca a DN. PROTO_EINVAL with `err` naming the key. */
enum proto_rc agent_config_validate(const struct agent_config *cfg, char *err, size_t err_size);

/* The bundle folder named by `source` ("bundle:DIR" or DIR), borrowed from cfg.
 * PROTO_EUNSUPPORTED for another source kind ("win32:", coming with the Windows source). */
enum proto_rc agent_config_bundle_dir(const struct agent_config *cfg, const char **dir);

/* expected_ca and expiry_days as a diagnosis policy evaluated at `now`. Caller clears it with
 * proto_policy_clear. PROTO_EPARSE if expected_ca is not a DN. */
enum proto_rc agent_config_policy(const struct agent_config *cfg, int64_t now,
                                  struct proto_policy *policy);

/* "off", "dry-run" or "apply" as the enum; PROTO_EPARSE for anything else. */
enum proto_rc agent_config_remediation_mode_parse(const char *text,
                                                  enum agent_remediation_mode *out);
/* The wire-style name of a mode ("off", "dry-run", "apply"); borrowed static string. */
const char *agent_config_remediation_mode_str(enum agent_remediation_mode mode);

/* log_level as an enum; AGENT_LOG_INFO for text validate would refuse. */
enum agent_log_level agent_config_log_level(const struct agent_config *cfg);

#endif
