/*
 * collector_config: the collector's settings table (STYLE rule 10) and its loader.
 *
 * col_config_table is the one place a setting is declared: key, type, default, limits and the
 * line of documentation that docs/collector-config.md is generated from. col_config_load
 * applies defaults, then the file, then the flags, then checks what a table cannot express
 * (log level words, HOST:PORT listeners, the expected CA as a DN). Whether the TLS files exist
 * is judged by `serve`, not here, so `config --print` works without them.
 */
#include "collector_config.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dn.h"

/* Offset and size of a member, so that an entry cannot drift away from its field. */
#define COL_OFF(member) offsetof(struct col_config, member)
#define COL_SIZE(member) sizeof(((struct col_config *)0)->member)

/* Fields: key, type, default, min, max, offset, size, description. */
const struct proto_conf_entry col_config_table[] = {
    {"listen", PROTO_CONF_STRING, "127.0.0.1:8443", 0, 0, COL_OFF(listen), COL_SIZE(listen),
     "Agent listener (mutual TLS), HOST:PORT; use [ADDR]:PORT for IPv6"},
    {"admin_listen", PROTO_CONF_STRING, "127.0.0.1:8444", 0, 0, COL_OFF(admin_listen),
     COL_SIZE(admin_listen), "Admin and dashboard listener (TLS, bearer tokens), HOST:PORT"},
    {"tls_cert", PROTO_CONF_STRING, "", 0, 0, COL_OFF(tls_cert), COL_SIZE(tls_cert),
     "PEM file with the server certificate (and chain); required by serve"},
    {"tls_key", PROTO_CONF_STRING, "", 0, 0, COL_OFF(tls_key), COL_SIZE(tls_key),
     "PEM file with the server's private key; required by serve"},
    {"client_ca", PROTO_CONF_STRING, "", 0, 0, COL_OFF(client_ca), COL_SIZE(client_ca),
     "PEM bundle of the CAs that agent client certificates must chain to; required by serve"},
    {"db", PROTO_CONF_STRING, "rrasfleet.db", 0, 0, COL_OFF(db), COL_SIZE(db),
     "SQLite database file (created mode 0600 and migrated at start; `<db>.lock` keeps a second "
     "collector off it)"},
    {"max_connections", PROTO_CONF_UINT, "4096", 1, 65536, COL_OFF(max_connections), 0,
     "Open connections beyond which new ones are refused"},
    {"max_body_bytes", PROTO_CONF_UINT, "4194304", 1024, 67108864, COL_OFF(max_body_bytes), 0,
     "Largest request body; larger ones are answered 413"},
    {"header_timeout_ms", PROTO_CONF_UINT, "10000", 100, 600000, COL_OFF(header_timeout_ms), 0,
     "Time allowed to receive a request's headers (answered 408 after)"},
    {"body_timeout_ms", PROTO_CONF_UINT, "30000", 100, 3600000, COL_OFF(body_timeout_ms), 0,
     "Time allowed to receive a request's body (answered 408 after)"},
    {"idle_timeout_ms", PROTO_CONF_UINT, "60000", 100, 3600000, COL_OFF(idle_timeout_ms), 0,
     "A keep-alive connection idle this long is closed"},
    {"handshake_timeout_ms", PROTO_CONF_UINT, "10000", 100, 600000, COL_OFF(handshake_timeout_ms),
     0, "Time allowed for the TLS handshake"},
    {"session_tickets", PROTO_CONF_BOOL, "true", 0, 0, COL_OFF(session_tickets), 0,
     "TLS session tickets, so returning agents resume without a full handshake"},
    {"ticket_key_file", PROTO_CONF_STRING, "", 0, 0, COL_OFF(ticket_key_file),
     COL_SIZE(ticket_key_file),
     "File (mode 0600, made at first start) keeping the agent listener's session-ticket keys, so "
     "agents resume their TLS sessions across a restart; empty: the db path + \"-tickets\""},
    {"event_keepalive", PROTO_CONF_BOOL, "true", 0, 0, COL_OFF(event_keepalive), 0,
     "Idle keep-alive agent connections wait on one event thread, which also reads and answers "
     "the reports that arrive whole on them (decision 008); false: each connection's own thread "
     "does"},
    {"expected_ca", PROTO_CONF_STRING, "", 0, 0, COL_OFF(expected_ca), COL_SIZE(expected_ca),
     "DN of the CA that L2TP clients trust (fleet policy); empty: not judged"},
    {"profile_signing_key", PROTO_CONF_STRING, "", 0, 0, COL_OFF(profile_signing_key),
     COL_SIZE(profile_signing_key),
     "Private key (PEM, ECDSA P-256; `keys init` makes one) that signs remediation profiles; "
     "empty: the profile endpoints answer 503 remediation_disabled"},
    {"expiry_days", PROTO_CONF_UINT, "30", 1, 3650, COL_OFF(expiry_days), 0,
     "Certificates expiring within this many days are reported"},
    {"next_interval_s", PROTO_CONF_UINT, "300", 30, 86400, COL_OFF(next_interval_s), 0,
     "Report interval (seconds) the collector asks agents to keep"},
    {"max_clock_skew_s", PROTO_CONF_UINT, "86400", 60, 31536000, COL_OFF(max_clock_skew_s), 0,
     "How far (seconds) a report's host.collected_at may be ahead of the collector's clock; a "
     "later one is refused (400, field host.collected_at)"},
    {"retention_days", PROTO_CONF_UINT, "90", 1, 36500, COL_OFF(retention_days), 0,
     "Raw reports older than this are pruned (latest state is kept)"},
    {"allow_readable_db", PROTO_CONF_BOOL, "false", 0, 0, COL_OFF(allow_readable_db), 0,
     "Serve a database that group or others may read (it holds token hashes and the audit "
     "trail); false: such a file stops the start"},
    {"db_max_mb", PROTO_CONF_UINT, "0", 0, 16777216, COL_OFF(db_max_mb), 0,
     "Largest database file (MiB); past it writes fail as on a full disk (503 with Retry-After); "
     "0: no limit"},
    {"writer_queue_max", PROTO_CONF_UINT, "10000", 1, 1000000, COL_OFF(writer_queue_max), 0,
     "Reports waiting for the writer beyond which ingest answers 429"},
    {"writer_batch_max", PROTO_CONF_UINT, "256", 1, 100000, COL_OFF(writer_batch_max), 0,
     "Reports committed per transaction (group commit)"},
    {"wal_checkpoint_pages", PROTO_CONF_UINT, "1000", 100, 1000000, COL_OFF(wal_checkpoint_pages),
     0, "WAL size (pages) at which the checkpointer thread copies it into the database"},
    {"known_snapshots", PROTO_CONF_UINT, "131072", 0, 16777216, COL_OFF(known_snapshots), 0,
     "Snapshots remembered by SHA-256 so an unchanged one is not decoded again (~96 bytes "
     "each; 0 turns it off)"},
    {"log_level", PROTO_CONF_STRING, "info", 0, 0, COL_OFF(log_level), COL_SIZE(log_level),
     "Log to stderr at: error, warn, info or debug"},
};

const size_t col_config_table_count = sizeof(col_config_table) / sizeof(col_config_table[0]);

static void config_errf(char *err, size_t err_size, const char *key, const char *what,
                        const char *value)
{
    if (err != NULL && err_size > 0) {
        int n = snprintf(err, err_size, "'%s': %s, got '%.64s'", key, what, value);
        if (n < 0) {
            err[0] = '\0';
        }
    }
}

/* HOST:PORT or [ADDR]:PORT with a port 0..65535 (0: the system picks one, as tests do); the
 * host itself is judged by the resolver. */
static bool config_listen_ok(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s || colon[1] == '\0') {
        return false;
    }
    if (s[0] == '[' && colon[-1] != ']') {
        return false;
    }
    for (const char *p = colon + 1; *p != '\0'; p++) {
        if (*p < '0' || *p > '9') {
            return false;
        }
    }
    char *end = NULL;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    return errno == 0 && *end == '\0' && port <= 65535;
}

static enum proto_rc config_check(const struct col_config *cfg, char *err, size_t err_size)
{
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    bool level_ok = false;
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        level_ok = level_ok || strcasecmp(cfg->log_level, levels[i]) == 0;
    }
    if (!level_ok) {
        config_errf(err, err_size, "log_level", "expected error, warn, info or debug",
                    cfg->log_level);
        return PROTO_EPARSE;
    }
    if (!config_listen_ok(cfg->listen)) {
        config_errf(err, err_size, "listen", "expected HOST:PORT", cfg->listen);
        return PROTO_EPARSE;
    }
    if (!config_listen_ok(cfg->admin_listen)) {
        config_errf(err, err_size, "admin_listen", "expected HOST:PORT", cfg->admin_listen);
        return PROTO_EPARSE;
    }
    if (cfg->expected_ca[0] != '\0') {
        struct proto_dn dn = {0};
        enum proto_rc result = proto_dn_parse(cfg->expected_ca, &dn);
        proto_dn_clear(&dn);
        if (result == PROTO_ENOMEM) {
            return result;
        }
        if (result != PROTO_OK) {
            config_errf(err, err_size, "expected_ca", "expected a DN like 'CN=Corp CA, O=Corp'",
                        cfg->expected_ca);
            return PROTO_EPARSE;
        }
    }
    return PROTO_OK;
}

enum proto_rc col_config_load(struct col_config *cfg, struct proto_conf *conf, const char *path,
                              int argc, char **argv, int first, int *argc_out, char *err,
                              size_t err_size)
{
    if (err != NULL && err_size > 0) {
        err[0] = '\0';
    }
    if (cfg == NULL || conf == NULL) {
        return PROTO_EINVAL;
    }
    memset(cfg, 0, sizeof(*cfg));
    enum proto_rc result = proto_conf_init(conf, col_config_table, col_config_table_count, cfg);
    if (result != PROTO_OK) {
        config_errf(err, err_size, "configuration table", "does not load", proto_rc_str(result));
        return result;
    }
    if (path != NULL) {
        result = proto_conf_load_file(conf, path, err, err_size);
        if (result != PROTO_OK) {
            return result;
        }
    }
    if (argv != NULL) {
        result = proto_conf_apply_flags(conf, argc, argv, first, argc_out, err, err_size);
        if (result != PROTO_OK) {
            return result;
        }
    } else if (argc_out != NULL) {
        *argc_out = argc;
    }
    return config_check(cfg, err, err_size);
}
