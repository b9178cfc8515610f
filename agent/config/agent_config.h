/*
 * agent_config: the agent's settings (DESIGN §11, STYLE rule 10) as one proto/conftab table.
 *
 * Owns the table (key, type, default, limits, description) and the checks that span several
 * keys (URL form, backoff base <= cap, a parsable expected CA, which client-certificate keys
 * each system takes). Precedence: flags > file > registry policy
 * (HKLM\SOFTWARE\Policies\rrasfleet\Agent, Windows only) > the installer's values
 * (HKLM\SOFTWARE\rrasfleet\Agent, Windows only) > defaults. Reads files only through conftab
 * and the registry only in config_registry_win32.c; never opens the certificate or key files
 * (the transport does) and never logs secrets. Also writes the Group Policy template of the
 * table (agent_config_admx), to streams its caller opens.
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
#define AGENT_CONFIG_THUMBPRINT_BYTES 128u /* 40 hex digits, with the separators people paste */
#define AGENT_CONFIG_TEMPLATE_BYTES 256u   /* a template OID or v1 template name, with its NUL */

/* The Group Policy key whose values are settings (what the ADMX template writes), as shown in
 * messages; config_registry_win32.c opens it in the 64-bit view. */
#define AGENT_CONFIG_POLICY_KEY "HKLM\\SOFTWARE\\Policies\\rrasfleet\\Agent"
/* The policy-free key whose values are settings too (what the MSI writes from its properties),
 * below the policy so that Group Policy overrides what was given at installation. */
#define AGENT_CONFIG_INSTALLER_KEY "HKLM\\SOFTWARE\\rrasfleet\\Agent"

/* Log levels, most severe first; a message is written when its level <= the configured one. */
enum agent_log_level { AGENT_LOG_ERROR, AGENT_LOG_WARN, AGENT_LOG_INFO, AGENT_LOG_DEBUG };

/* Every field is written by conftab through the table's offsets; strings are fixed arrays. */
struct agent_config {
    char source[AGENT_CONFIG_PATH_BYTES]; /* "bundle:DIR" or DIR */
    char fqdn_override[PROTO_MAX_NAME + 1];
    char collector_url[AGENT_CONFIG_URL_BYTES]; /* https://host:port */
    char ca_file[AGENT_CONFIG_PATH_BYTES];
    /* Windows: the collector's CA in LocalMachine\Root, instead of ca_file (cacert.h). */
    char ca_thumbprint[AGENT_CONFIG_THUMBPRINT_BYTES];
    char client_cert[AGENT_CONFIG_PATH_BYTES];
    char client_key[AGENT_CONFIG_PATH_BYTES];
    /* Windows: the certificate in LocalMachine\My (clientcert.h); "" picks one automatically. */
    char client_cert_thumbprint[AGENT_CONFIG_THUMBPRINT_BYTES];
    char client_cert_issuer[PROTO_MAX_NAME + 1];            /* a DN; "" = any issuer */
    char client_cert_template[AGENT_CONFIG_TEMPLATE_BYTES]; /* OID or v1 name; "" = any */
    char pinned_pubkey[AGENT_CONFIG_PATH_BYTES];            /* "" or sha256//BASE64[;sha256//...] */
    char proxy[AGENT_CONFIG_URL_BYTES];                     /* "" = connect directly */
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
 * failure), reads the installer's values (agent_config_load_installer), the registry policy over
 * them (agent_config_load_policy), loads the file over that, then applies the flags over all.
 * `err` says what was wrong.
 */
enum proto_rc agent_config_from_args(int argc, char **argv,
                                     const struct agent_config_switch *switches,
                                     size_t switch_count, struct agent_config *cfg,
                                     struct proto_conf *conf, const char **config_path, char *err,
                                     size_t err_size);

/* Where the client certificate comes from, which decides the keys `run` requires. */
enum agent_config_platform {
    AGENT_CONFIG_POSIX,  /* client_cert and client_key PEM files */
    AGENT_CONFIG_WINDOWS /* LocalMachine\My through Schannel; no certificate or key file */
};

#ifdef _WIN32
#define AGENT_CONFIG_THIS_PLATFORM AGENT_CONFIG_WINDOWS
#else
#define AGENT_CONFIG_THIS_PLATFORM AGENT_CONFIG_POSIX
#endif

/* The checks one key alone cannot make, for `run` on this system:
 * agent_config_validate_on(cfg, AGENT_CONFIG_THIS_PLATFORM, ...). */
enum proto_rc agent_config_validate(const struct agent_config *cfg, char *err, size_t err_size);

/*
 * The checks for `run` on `platform`: source, collector_url (https://, no user info), spool_dir
 * set; pinned_pubkey form; base <= cap; log_level known; expected_ca a DN. POSIX: ca_file,
 * client_cert and client_key set, ca_thumbprint and the client_cert_* keys empty (they name
 * Windows' stores). Windows: exactly one of ca_file and ca_thumbprint (40 hex digits), client_cert
 * and client_key empty (the key never leaves the machine store), client_cert_thumbprint 40 hex
 * digits when set, client_cert_issuer a DN, collector_url naming its host by DNS name (Schannel
 * matches no IP address against a certificate). PROTO_EINVAL with `err` naming the key.
 */
enum proto_rc agent_config_validate_on(const struct agent_config *cfg,
                                       enum agent_config_platform platform, char *err,
                                       size_t err_size);

/* A thumbprint as people copy it (`a1 b2 ...`, `A1:B2:...`, a dialog's invisible U+200E mark
 * first) as 40 upper-case hex digits in out[41]. PROTO_EPARSE for anything else. */
enum proto_rc agent_config_thumbprint(const char *text, char out[41]);

/* One setting from a source of name/value pairs (the registry policy key). */
struct agent_config_pair {
    const char *key;   /* the setting's key exactly as in the table */
    const char *value; /* its value as text */
    bool numeric;      /* the value came as a number (REG_DWORD): unsigned or boolean keys only */
};

/*
 * Applies pairs in order with `origin`, each as proto_conf_set does. `where` (the registry key
 * path) starts every message: "WHERE: unknown value 'x' ...", "WHERE: value 'k': ...". A pair
 * with an empty key and value (a key's empty default value) and Group Policy's deletion
 * markers ("**del.*", "**delvals.") are skipped; anything else unknown is refused, as in a
 * file. PROTO_EPARSE (unknown, numeric for a string key) or PROTO_ELIMIT; stops at the first.
 */
enum proto_rc agent_config_apply_pairs(struct proto_conf *conf, enum proto_conf_origin origin,
                                       const char *where, const struct agent_config_pair *pairs,
                                       size_t count, char *err, size_t err_size);

/* Windows: every value under AGENT_CONFIG_POLICY_KEY into conf, origin registry
 * (config_registry_win32.c); an absent key is no policy (PROTO_OK). Elsewhere: PROTO_OK,
 * nothing read. `err` names the value and the key on failure. */
enum proto_rc agent_config_load_policy(struct proto_conf *conf, char *err, size_t err_size);

/* The same for AGENT_CONFIG_INSTALLER_KEY, origin installer, read with the same rules; called
 * before agent_config_load_policy, whose values replace these. */
enum proto_rc agent_config_load_installer(struct proto_conf *conf, char *err, size_t err_size);

/* The default of entry `e` (of agent_config_table) in the builds for `platform`, borrowed
 * static text: the table holds this build's defaults, and `source` is "live" only on Windows.
 * The Group Policy template, generated on any build, states Windows' defaults. */
const char *agent_config_default_on(const struct proto_conf_entry *e,
                                    enum agent_config_platform platform);

/* The closed set of values a string setting takes (log_level, remediation_mode), as a borrowed
 * static NULL-terminated list; NULL for a setting that takes free text or a number. */
const char *const *agent_config_choices(const char *key);

/* The ADMX template's namespace; its file names are rrasfleet.admx and en-US/rrasfleet.adml. */
#define AGENT_CONFIG_ADMX_NAMESPACE "rrasfleet.Policies.Agent"

/*
 * The Group Policy template of the table: the ADMX to `admx`, its en-US ADML to `adml`
 * (config_admx.c). One category, one Machine policy per setting writing the value named as the
 * key under Software\Policies\rrasfleet\Agent: text (expandable, max length from the field),
 * decimal (min/max from the table), enum (agent_config_choices) or boolean. `revision` is
 * "MAJOR.MINOR" (the agent's version). Writes only to the streams; PROTO_EIO when a write fails,
 * PROTO_EINVAL for a revision not of that form.
 */
enum proto_rc agent_config_admx(FILE *admx, FILE *adml, const char *revision);

/* The `source` value that names the live Windows host (the default on Windows builds). */
#define AGENT_CONFIG_SOURCE_LIVE "live"

/* The bundle folder named by `source` ("bundle:DIR" or DIR), borrowed from cfg.
 * PROTO_EUNSUPPORTED for another source kind: "live", or "kind:..." ("bundle:live" names a
 * folder called live). */
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
