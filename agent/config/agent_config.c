/*
 * agent_config: the agent's settings table and the checks that span several keys.
 *
 * The table below is the single place a setting is declared: conftab parses the installer's
 * and the policy's registry values, the file and the flags with it, `config --print` shows it
 * with origins, `config --markdown` documents it and `config --admx` makes the Group Policy
 * template of it (config_admx.c).
 * Limits are chosen so that a mistyped value is refused rather than obeyed: an interval of
 * seconds, a jitter of at most half the interval, timeouts a collector can meet.
 */
#include "agent_config.h"

#include <ctype.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "dn.h"
#include "printf_like.h"

#define AGENT_DEFAULT_SPOOL_MAX_BYTES "67108864" /* 64 MiB */
#define AGENT_MAX_SPOOL_BYTES 1073741824ul       /* 1 GiB; fits a 32-bit unsigned long */
#define AGENT_MAX_EXPIRY_DAYS 3650ul

#define AGENT_STR(member, def, desc)                                                               \
    {                                                                                              \
#member, PROTO_CONF_STRING, def, 0, 0, offsetof(struct agent_config, member),              \
            sizeof(((struct agent_config *)0)->member), desc                                       \
    }
#define AGENT_UINT(member, def, lo, hi, desc)                                                      \
    {                                                                                              \
#member, PROTO_CONF_UINT, def, lo, hi, offsetof(struct agent_config, member), 0, desc      \
    }

#ifdef _WIN32
#define AGENT_CONFIG_SOURCE_DEFAULT AGENT_CONFIG_SOURCE_LIVE
#else
#define AGENT_CONFIG_SOURCE_DEFAULT ""
#endif

static const struct proto_conf_entry agent_config_entries[] = {
    AGENT_STR(source, AGENT_CONFIG_SOURCE_DEFAULT,
              "where snapshots come from: live (this Windows host; the default on Windows) or a "
              "capture bundle folder, as bundle:DIR or just DIR"),
    AGENT_STR(fqdn_override, "",
              "report this FQDN instead of the one the source names (simulations; it must match "
              "the client certificate); on Windows also the name the client certificate is "
              "picked for"),
    AGENT_STR(collector_url, "", "the collector's agent endpoint, https://host:port"),
    AGENT_STR(ca_file, "",
              "PEM file of the CA(s) the collector's certificate must chain to (no system store "
              "is trusted); on Windows ca_thumbprint may name the CA instead"),
    AGENT_STR(ca_thumbprint, "",
              "Windows: SHA-1 thumbprint (40 hex digits; blanks and ':' ignored) of the "
              "collector's CA in LocalMachine\\Root, trusted alone instead of ca_file (set one "
              "of the two); empty: ca_file"),
    AGENT_STR(client_cert, "",
              "PEM file of this agent's client certificate (not on Windows, where it comes from "
              "LocalMachine\\My)"),
    AGENT_STR(client_key, "", "PEM file of the client certificate's private key (not on Windows)"),
    AGENT_STR(client_cert_thumbprint, "",
              "Windows: SHA-1 thumbprint (40 hex digits; blanks and ':' ignored) of the client "
              "certificate in LocalMachine\\My; empty: picked automatically (Client "
              "Authentication, SAN = this host's FQDN, time-valid, with a private key, newest)"),
    AGENT_STR(client_cert_issuer, "",
              "Windows: use only a client certificate issued by this CA, a DN compared as a DN "
              "(either order; case and spacing ignored), not as a substring; empty: any issuer"),
    AGENT_STR(client_cert_template, "",
              "Windows: use only a client certificate of this certificate template: its OID "
              "(1.3.6.1.4.1.311.21.8...) or, for a v1 template, its name (e.g. Machine); empty: "
              "any"),
    AGENT_STR(pinned_pubkey, "",
              "optional pin of the collector's public key: sha256//BASE64 (several joined by ';')"),
    AGENT_STR(proxy, "",
              "HTTP proxy URL for the collector connection; empty connects directly and ignores "
              "proxy environment variables"),
    AGENT_STR(spool_dir, "", "folder of the on-disk spool of unsent reports"),
    AGENT_UINT(spool_max_records, "1000", 1, AGENT_CONFIG_MAX_SPOOL_RECORDS,
               "most reports kept in the spool; the oldest is dropped (and counted) beyond it"),
    AGENT_UINT(spool_max_bytes, AGENT_DEFAULT_SPOOL_MAX_BYTES, 4096, AGENT_MAX_SPOOL_BYTES,
               "most bytes of spool records; the oldest is dropped (and counted) beyond it"),
    AGENT_UINT(connect_timeout_ms, "5000", 100, 600000,
               "time allowed to connect and finish the TLS handshake"),
    AGENT_UINT(total_timeout_ms, "30000", 100, 3600000, "time allowed for one whole send"),
    AGENT_UINT(interval_s, "300", 10, 604800,
               "seconds between snapshots until the collector names another interval"),
    AGENT_UINT(jitter_percent, "10", 0, 50,
               "each interval is randomly lengthened or shortened by up to this share"),
    AGENT_UINT(backoff_base_ms, "1000", 1, 3600000,
               "first retry delay ceiling; doubles per failed attempt (full jitter)"),
    AGENT_UINT(backoff_cap_ms, "300000", 1, 86400000, "largest retry delay ceiling"),
    AGENT_UINT(drain_rate_per_s, "2", 0, 1000,
               "after an outage, send at most this many spooled reports per second (0: no limit)"),
    AGENT_STR(
        expected_ca, "",
        "DN of the CA that L2TP clients trust; empty: the certificate's issuer is not judged"),
    AGENT_UINT(expiry_days, "30", 0, AGENT_MAX_EXPIRY_DAYS,
               "warn about certificates expiring within this many days"),
    AGENT_STR(log_level, "info", "error, warn, info or debug (stderr)"),
    AGENT_STR(remediation_mode, "off",
              "what a signed remediation profile may do here: off (refuse every profile), dry-run "
              "(plan and report, change nothing) or apply; a profile asking for more runs as "
              "this allows"),
    AGENT_STR(profile_trust_key, "",
              "PEM file of the public key remediation profiles must be signed with (never taken "
              "from the collector)"),
    AGENT_STR(profile_trust_next_key, "",
              "PEM file of the next signing key, also trusted, so the signing key can roll over "
              "without redeploying; empty: none"),
    AGENT_STR(state_dir, "",
              "folder of the remediation state: the last profile serial applied (no replay) and "
              "the apply journal (crash recovery)"),
};

#define AGENT_CONFIG_COUNT (sizeof(agent_config_entries) / sizeof(agent_config_entries[0]))

/* NULL-terminated, so that agent_config_choices can hand them out as they are. */
static const char *const agent_log_levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const agent_remediation_modes[] = {
    [AGENT_REMEDIATION_OFF] = "off",
    [AGENT_REMEDIATION_DRY_RUN] = "dry-run",
    [AGENT_REMEDIATION_APPLY] = "apply",
    [AGENT_REMEDIATION_APPLY + 1] = NULL,
};
#define AGENT_LOG_LEVEL_COUNT (sizeof(agent_log_levels) / sizeof(agent_log_levels[0]) - 1)
#define AGENT_REMEDIATION_MODE_COUNT                                                               \
    (sizeof(agent_remediation_modes) / sizeof(agent_remediation_modes[0]) - 1)

static void config_errf(char *err, size_t err_size, const char *fmt, ...) PROTO_PRINTF_LIKE(3, 4);

static void config_errf(char *err, size_t err_size, const char *fmt, ...)
{
    if (err == NULL || err_size == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
    if (n < 0) {
        err[0] = '\0';
    }
}

const struct proto_conf_entry *agent_config_table(size_t *count)
{
    if (count != NULL) {
        *count = AGENT_CONFIG_COUNT;
    }
    return agent_config_entries;
}

enum proto_rc agent_config_init(struct agent_config *cfg, struct proto_conf *conf)
{
    if (cfg == NULL || conf == NULL) {
        return PROTO_EINVAL;
    }
    memset(cfg, 0, sizeof(*cfg));
    memset(conf, 0, sizeof(*conf));
    return proto_conf_init(conf, agent_config_entries, AGENT_CONFIG_COUNT, cfg);
}

enum proto_rc agent_config_load(struct proto_conf *conf, const char *path, int argc, char **argv,
                                int first, int *argc_out, char *err, size_t err_size)
{
    if (path != NULL) {
        enum proto_rc result = proto_conf_load_file(conf, path, err, err_size);
        if (result) {
            return result;
        }
    }
    if (argv == NULL && argc == first) {
        *argc_out = first; /* no flags at all */
        return PROTO_OK;
    }
    return proto_conf_apply_flags(conf, argc, argv, first, argc_out, err, err_size);
}

enum proto_rc agent_config_from_args(int argc, char **argv,
                                     const struct agent_config_switch *switches,
                                     size_t switch_count, struct agent_config *cfg,
                                     struct proto_conf *conf, const char **config_path, char *err,
                                     size_t err_size)
{
    static const char config_flag[] = "--config";
    enum proto_rc result = PROTO_OK;
    int kept_count = 0;
    int rest = 0;
    *config_path = NULL;
    config_errf(err, err_size, "%s", "");
    result = agent_config_init(cfg, conf);
    if (result) {
        config_errf(err, err_size, "%s", proto_rc_str(result));
        return result;
    }
    /* A copy of the vector: conftab compacts what it is given. */
    char **kept = proto_calloc((size_t)(argc > 0 ? argc : 0) + 1, sizeof(*kept));
    if (kept == NULL) {
        config_errf(err, err_size, "out of memory");
        return PROTO_ENOMEM;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, config_flag) == 0) {
            if (i + 1 >= argc) {
                config_errf(err, err_size, "--config: missing file name");
                result = PROTO_EPARSE;
                goto out;
            }
            *config_path = argv[++i];
            continue;
        }
        if (strncmp(arg, config_flag, sizeof(config_flag) - 1) == 0 &&
            arg[sizeof(config_flag) - 1] == '=') {
            *config_path = arg + sizeof(config_flag);
            continue;
        }
        bool matched = false;
        for (size_t k = 0; k < switch_count && !matched; k++) {
            if (strcmp(arg, switches[k].name) == 0) {
                *switches[k].seen = true;
                matched = true;
            }
        }
        if (!matched) {
            kept[kept_count++] = argv[i];
        }
    }
    /* Lowest first: the policy replaces what the installer wrote, the file and then the flags
     * replace the policy's value. */
    result = agent_config_load_installer(conf, err, err_size);
    if (result) {
        goto out;
    }
    result = agent_config_load_policy(conf, err, err_size);
    if (result) {
        goto out;
    }
    result = agent_config_load(conf, *config_path, kept_count, kept, 0, &rest, err, err_size);
    if (result == PROTO_OK && rest > 0) {
        config_errf(err, err_size, "unexpected argument '%.64s'", kept[0]);
        result = PROTO_EPARSE;
    }
out:
    proto_free(kept);
    return result;
}

/* Group Policy's registry.pol instructions ("delete value X", "delete all values") that a
 * policy key may still show; they are not settings. */
static bool config_is_gp_marker(const char *key)
{
    return strncasecmp(key, "**del.", 6) == 0 || strncasecmp(key, "**delvals", 9) == 0;
}

enum proto_rc agent_config_apply_pairs(struct proto_conf *conf, enum proto_conf_origin origin,
                                       const char *where, const struct agent_config_pair *pairs,
                                       size_t count, char *err, size_t err_size)
{
    config_errf(err, err_size, "%s", "");
    if (conf == NULL || conf->origins == NULL || where == NULL || (pairs == NULL && count > 0)) {
        config_errf(err, err_size, "invalid arguments");
        return PROTO_EINVAL;
    }
    for (size_t i = 0; i < count; i++) {
        const struct agent_config_pair *p = &pairs[i];
        if (p->key == NULL || p->value == NULL) {
            config_errf(err, err_size, "invalid arguments");
            return PROTO_EINVAL;
        }
        if ((p->key[0] == '\0' && p->value[0] == '\0') || config_is_gp_marker(p->key)) {
            continue;
        }
        const struct proto_conf_entry *e = NULL;
        for (size_t k = 0; k < conf->count && e == NULL; k++) {
            if (strcmp(conf->entries[k].key, p->key) == 0) {
                e = &conf->entries[k];
            }
        }
        if (e == NULL) {
            config_errf(err, err_size,
                        "%s: unknown value '%.64s%s' (value names are the setting keys, as in "
                        "the configuration file)",
                        where, p->key, strlen(p->key) > 64 ? "..." : "");
            return PROTO_EPARSE;
        }
        if (p->numeric && e->type == PROTO_CONF_STRING) {
            config_errf(err, err_size,
                        "%s: value '%s' is a number (REG_DWORD); this setting is text (REG_SZ)",
                        where, e->key);
            return PROTO_EPARSE;
        }
        char why[256];
        enum proto_rc result = proto_conf_set(conf, e->key, p->value, origin, why, sizeof(why));
        if (result) {
            config_errf(err, err_size, "%s: value %s", where, why);
            return result == PROTO_ENOTFOUND ? PROTO_EPARSE : result;
        }
    }
    return PROTO_OK;
}

#ifndef _WIN32
/* Only Windows has a registry; config_registry_win32.c reads it there. */
enum proto_rc agent_config_load_policy(struct proto_conf *conf, char *err, size_t err_size)
{
    (void)conf;
    config_errf(err, err_size, "%s", "");
    return PROTO_OK;
}

enum proto_rc agent_config_load_installer(struct proto_conf *conf, char *err, size_t err_size)
{
    (void)conf;
    config_errf(err, err_size, "%s", "");
    return PROTO_OK;
}
#endif

const char *agent_config_default_on(const struct proto_conf_entry *e,
                                    enum agent_config_platform platform)
{
    if (e == NULL) {
        return "";
    }
    if (strcmp(e->key, "source") == 0) {
        return platform == AGENT_CONFIG_WINDOWS ? AGENT_CONFIG_SOURCE_LIVE : "";
    }
    return e->default_value != NULL ? e->default_value : "";
}

const char *const *agent_config_choices(const char *key)
{
    if (key == NULL) {
        return NULL;
    }
    if (strcmp(key, "log_level") == 0) {
        return agent_log_levels;
    }
    if (strcmp(key, "remediation_mode") == 0) {
        return agent_remediation_modes;
    }
    return NULL;
}

enum proto_rc agent_config_thumbprint(const char *text, char out[41])
{
    static const char lrm[] = "\xE2\x80\x8E"; /* U+200E, which certificate dialogs prepend */
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    out[0] = '\0';
    if (text == NULL) {
        return PROTO_EPARSE;
    }
    const char *p = text;
    if (strncmp(p, lrm, sizeof(lrm) - 1) == 0) {
        p += sizeof(lrm) - 1;
    }
    for (; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == ' ' || c == ':' || c == '\t') {
            continue;
        }
        if (!isxdigit(c) || n == 40) {
            out[0] = '\0';
            return PROTO_EPARSE;
        }
        out[n++] = hex[isdigit(c) ? c - '0' : (toupper(c) - 'A' + 10)];
    }
    if (n != 40) {
        out[0] = '\0';
        return PROTO_EPARSE;
    }
    out[n] = '\0';
    return PROTO_OK;
}

static bool config_has_control(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            return true;
        }
    }
    return false;
}

/* https://HOST[:PORT][/path]: no user info (it would be a secret in a config file and logs),
 * no blanks, a port of digits. */
static bool config_url_ok(const char *url, char *why, size_t why_size)
{
    static const char scheme[] = "https://";
    if (strncasecmp(url, scheme, sizeof(scheme) - 1) != 0) {
        config_errf(why, why_size, "must start with https://");
        return false;
    }
    const char *host = url + sizeof(scheme) - 1;
    size_t authority = strcspn(host, "/?#");
    if (authority == 0) {
        config_errf(why, why_size, "names no host");
        return false;
    }
    for (size_t i = 0; i < authority; i++) {
        if (host[i] == '@') {
            config_errf(why, why_size, "must not carry a user name or password");
            return false;
        }
    }
    if (strchr(url, ' ') != NULL || config_has_control(url)) {
        config_errf(why, why_size, "must not contain blanks or control characters");
        return false;
    }
    if (strpbrk(host, "?#") != NULL) {
        config_errf(why, why_size, "must not carry a query or fragment");
        return false;
    }
    /* A port after the last ':' outside an IPv6 literal's brackets. */
    const char *close = memchr(host, ']', authority);
    const char *from = close != NULL ? close + 1 : host;
    const char *colon = memchr(from, ':', authority - (size_t)(from - host));
    if (colon != NULL) {
        const char *p = colon + 1;
        size_t digits = 0;
        unsigned long port = 0;
        while (p < host + authority && isdigit((unsigned char)*p) && digits < 6) {
            port = port * 10 + (unsigned long)(*p - '0');
            p++;
            digits++;
        }
        if (p != host + authority || digits == 0 || port == 0 || port > 65535) {
            config_errf(why, why_size, "has a port that is not 1..65535");
            return false;
        }
    }
    return true;
}

/* sha256//BASE64 items joined by ';' (the form CURLOPT_PINNEDPUBLICKEY takes for hashes). */
static bool config_pin_ok(const char *pin)
{
    static const char prefix[] = "sha256//";
    const char *p = pin;
    for (;;) {
        if (strncmp(p, prefix, sizeof(prefix) - 1) != 0) {
            return false;
        }
        p += sizeof(prefix) - 1;
        size_t n = 0;
        while (isalnum((unsigned char)p[n]) || p[n] == '+' || p[n] == '/' || p[n] == '=') {
            n++;
        }
        if (n != 44) { /* a SHA-256 in base64 */
            return false;
        }
        p += n;
        if (*p == '\0') {
            return true;
        }
        if (*p != ';') {
            return false;
        }
        p++;
    }
}

/* True when the URL's host is an IPv4 or IPv6 literal (curl reads digits-and-dots as IPv4). */
static bool config_url_host_is_ip(const char *url)
{
    const char *host = strstr(url, "://");
    host = host != NULL ? host + 3 : url;
    if (host[0] == '[') {
        return true;
    }
    size_t n = strcspn(host, ":/?#");
    return n > 0 && strspn(host, "0123456789.") == n;
}

/* The client-certificate keys: files on POSIX, LocalMachine\My on Windows. */
static enum proto_rc config_validate_client_cert(const struct agent_config *cfg,
                                                 enum agent_config_platform platform, char *err,
                                                 size_t err_size)
{
    if (platform == AGENT_CONFIG_POSIX) {
        if (cfg->ca_thumbprint[0] != '\0') {
            config_errf(err, err_size,
                        "'ca_thumbprint' names a CA in Windows' LocalMachine\\Root; here set "
                        "'ca_file' instead");
            return PROTO_EINVAL;
        }
        const char *windows_only[] = {"client_cert_thumbprint", "client_cert_issuer",
                                      "client_cert_template"};
        const char *values[] = {cfg->client_cert_thumbprint, cfg->client_cert_issuer,
                                cfg->client_cert_template};
        for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
            if (values[i][0] != '\0') {
                config_errf(err, err_size,
                            "'%s' names a certificate in Windows' LocalMachine\\My; here set "
                            "'client_cert' and 'client_key' instead",
                            windows_only[i]);
                return PROTO_EINVAL;
            }
        }
        return PROTO_OK;
    }
    if (cfg->client_cert[0] != '\0' || cfg->client_key[0] != '\0') {
        config_errf(err, err_size,
                    "'%s': on Windows the client certificate and its key stay in "
                    "LocalMachine\\My; set 'client_cert_thumbprint', or nothing to pick one "
                    "automatically",
                    cfg->client_cert[0] != '\0' ? "client_cert" : "client_key");
        return PROTO_EINVAL;
    }
    char thumbprint[41];
    if (cfg->ca_thumbprint[0] != '\0' && cfg->ca_file[0] != '\0') {
        /* Two trust anchors from two places is a mistake to report, not to guess about. */
        config_errf(err, err_size,
                    "'ca_file' and 'ca_thumbprint' are both set; set one (an empty value in a "
                    "higher layer clears the other)");
        return PROTO_EINVAL;
    }
    if (cfg->ca_thumbprint[0] != '\0' &&
        agent_config_thumbprint(cfg->ca_thumbprint, thumbprint) != PROTO_OK) {
        config_errf(err, err_size, "'ca_thumbprint': expected 40 hex digits (a SHA-1 thumbprint)");
        return PROTO_EINVAL;
    }
    if (cfg->client_cert_thumbprint[0] != '\0' &&
        agent_config_thumbprint(cfg->client_cert_thumbprint, thumbprint) != PROTO_OK) {
        config_errf(err, err_size,
                    "'client_cert_thumbprint': expected 40 hex digits (a SHA-1 thumbprint)");
        return PROTO_EINVAL;
    }
    if (cfg->client_cert_issuer[0] != '\0') {
        struct proto_dn dn = {0};
        enum proto_rc rc = proto_dn_parse(cfg->client_cert_issuer, &dn);
        proto_dn_clear(&dn);
        if (rc == PROTO_ENOMEM) {
            config_errf(err, err_size, "out of memory");
            return rc;
        }
        if (rc) {
            config_errf(err, err_size, "'client_cert_issuer': not a distinguished name");
            return PROTO_EINVAL;
        }
    }
    if (config_has_control(cfg->client_cert_template)) {
        config_errf(err, err_size, "'client_cert_template': must not contain control characters");
        return PROTO_EINVAL;
    }
    if (config_url_host_is_ip(cfg->collector_url)) {
        config_errf(err, err_size,
                    "'collector_url': on Windows name the collector by its DNS name, not an IP "
                    "address (Schannel matches only DNS names of the collector's certificate)");
        return PROTO_EINVAL;
    }
    return PROTO_OK;
}

enum proto_rc agent_config_validate(const struct agent_config *cfg, char *err, size_t err_size)
{
    return agent_config_validate_on(cfg, AGENT_CONFIG_THIS_PLATFORM, err, err_size);
}

enum proto_rc agent_config_validate_on(const struct agent_config *cfg,
                                       enum agent_config_platform platform, char *err,
                                       size_t err_size)
{
    char why[128];
    bool files = platform == AGENT_CONFIG_POSIX;
    struct {
        const char *key;
        const char *value;
    } required[] = {
        {"source", cfg->source},
        {"collector_url", cfg->collector_url},
        {"ca_file", files || cfg->ca_thumbprint[0] == '\0' ? cfg->ca_file : "-"},
        {"client_cert", files ? cfg->client_cert : "-"},
        {"client_key", files ? cfg->client_key : "-"},
        {"spool_dir", cfg->spool_dir},
    };
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        if (required[i].value[0] == '\0') {
            config_errf(err, err_size, "'%s' must be set", required[i].key);
            return PROTO_EINVAL;
        }
    }
    const char *dir = NULL;
    bool live = strcmp(cfg->source, AGENT_CONFIG_SOURCE_LIVE) == 0;
#ifndef _WIN32
    if (live) {
        config_errf(err, err_size,
                    "'source': live reads a Windows host; this build reads capture bundles only "
                    "(bundle:DIR or DIR)");
        return PROTO_EINVAL;
    }
#endif
    if (!live && agent_config_bundle_dir(cfg, &dir) != PROTO_OK) {
        config_errf(err, err_size,
                    "'source': only live and capture bundles (bundle:DIR or DIR) are supported");
        return PROTO_EINVAL;
    }
    if (!live && dir[0] == '\0') {
        config_errf(err, err_size, "'source': names no folder");
        return PROTO_EINVAL;
    }
    if (!config_url_ok(cfg->collector_url, why, sizeof(why))) {
        config_errf(err, err_size, "'collector_url': %s", why);
        return PROTO_EINVAL;
    }
    enum proto_rc cert_rc = config_validate_client_cert(cfg, platform, err, err_size);
    if (cert_rc) {
        return cert_rc;
    }
    if (cfg->proxy[0] != '\0' && config_has_control(cfg->proxy)) {
        config_errf(err, err_size, "'proxy': must not contain control characters");
        return PROTO_EINVAL;
    }
    if (cfg->pinned_pubkey[0] != '\0' && !config_pin_ok(cfg->pinned_pubkey)) {
        config_errf(err, err_size,
                    "'pinned_pubkey': expected sha256// and 44 base64 characters (several joined "
                    "by ';')");
        return PROTO_EINVAL;
    }
    if (cfg->backoff_base_ms > cfg->backoff_cap_ms) {
        config_errf(err, err_size, "'backoff_base_ms' (%lu) must not exceed 'backoff_cap_ms' (%lu)",
                    cfg->backoff_base_ms, cfg->backoff_cap_ms);
        return PROTO_EINVAL;
    }
    if (cfg->connect_timeout_ms > cfg->total_timeout_ms) {
        config_errf(err, err_size,
                    "'connect_timeout_ms' (%lu) must not exceed 'total_timeout_ms' (%lu)",
                    cfg->connect_timeout_ms, cfg->total_timeout_ms);
        return PROTO_EINVAL;
    }
    bool level_ok = false;
    for (size_t i = 0; i < AGENT_LOG_LEVEL_COUNT; i++) {
        level_ok = level_ok || strcmp(cfg->log_level, agent_log_levels[i]) == 0;
    }
    if (!level_ok) {
        config_errf(err, err_size, "'log_level': expected error, warn, info or debug");
        return PROTO_EINVAL;
    }
    enum agent_remediation_mode mode;
    if (agent_config_remediation_mode_parse(cfg->remediation_mode, &mode) != PROTO_OK) {
        config_errf(err, err_size, "'remediation_mode': expected off, dry-run or apply");
        return PROTO_EINVAL;
    }
    if (mode != AGENT_REMEDIATION_OFF &&
        (cfg->profile_trust_key[0] == '\0' || cfg->state_dir[0] == '\0')) {
        config_errf(err, err_size,
                    "'remediation_mode' %s needs 'profile_trust_key' and 'state_dir'",
                    cfg->remediation_mode);
        return PROTO_EINVAL;
    }
    if (cfg->fqdn_override[0] != '\0' && config_has_control(cfg->fqdn_override)) {
        config_errf(err, err_size, "'fqdn_override': must not contain control characters");
        return PROTO_EINVAL;
    }
    struct proto_policy policy;
    enum proto_rc rc = agent_config_policy(cfg, 0, &policy);
    proto_policy_clear(&policy);
    if (rc == PROTO_ENOMEM) {
        config_errf(err, err_size, "out of memory");
        return rc;
    }
    if (rc) {
        config_errf(err, err_size, "'expected_ca': not a distinguished name");
        return PROTO_EINVAL;
    }
    return PROTO_OK;
}

enum proto_rc agent_config_bundle_dir(const struct agent_config *cfg, const char **dir)
{
    static const char prefix[] = "bundle:";
    if (strncmp(cfg->source, prefix, sizeof(prefix) - 1) == 0) {
        *dir = cfg->source + sizeof(prefix) - 1;
        return PROTO_OK;
    }
    if (strcmp(cfg->source, AGENT_CONFIG_SOURCE_LIVE) == 0) {
        *dir = NULL;
        return PROTO_EUNSUPPORTED;
    }
    /* "kind:..." names another source; a single letter before ':' is a Windows drive. */
    size_t n = 0;
    while (isalnum((unsigned char)cfg->source[n])) {
        n++;
    }
    if (n > 1 && cfg->source[n] == ':') {
        *dir = NULL;
        return PROTO_EUNSUPPORTED;
    }
    *dir = cfg->source;
    return PROTO_OK;
}

enum proto_rc agent_config_policy(const struct agent_config *cfg, int64_t now,
                                  struct proto_policy *policy)
{
    memset(policy, 0, sizeof(*policy));
    policy->now = now;
    policy->expiry_days = (unsigned)cfg->expiry_days;
    if (cfg->expected_ca[0] == '\0') {
        return PROTO_OK;
    }
    enum proto_rc result = proto_dn_parse(cfg->expected_ca, &policy->expected_ca);
    if (result) {
        proto_dn_clear(&policy->expected_ca);
        return result;
    }
    policy->has_expected_ca = true;
    return PROTO_OK;
}

enum proto_rc agent_config_remediation_mode_parse(const char *text,
                                                  enum agent_remediation_mode *out)
{
    for (size_t i = 0; i < AGENT_REMEDIATION_MODE_COUNT; i++) {
        if (text != NULL && strcmp(text, agent_remediation_modes[i]) == 0) {
            *out = (enum agent_remediation_mode)i;
            return PROTO_OK;
        }
    }
    return PROTO_EPARSE;
}

const char *agent_config_remediation_mode_str(enum agent_remediation_mode mode)
{
    return (unsigned)mode <= AGENT_REMEDIATION_APPLY ? agent_remediation_modes[mode] : "";
}

enum agent_log_level agent_config_log_level(const struct agent_config *cfg)
{
    for (size_t i = 0; i < AGENT_LOG_LEVEL_COUNT; i++) {
        if (strcmp(cfg->log_level, agent_log_levels[i]) == 0) {
            return (enum agent_log_level)i;
        }
    }
    return AGENT_LOG_INFO;
}
