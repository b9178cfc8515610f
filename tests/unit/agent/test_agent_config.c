/*
 * test_agent_config: the agent's settings table (agent/config.c) on proto/conftab.
 *
 * Defaults, the key=value file, unknown keys with their line number, flags over the file,
 * origins as `config --print` shows them, and the cross-key checks `run` relies on. The
 * registry policy is fed as name/value pairs (what config_registry_win32.c reads), and the
 * Windows rules for the client certificate are checked through agent_config_validate_on, so
 * neither needs Windows. Files are written to a fresh temporary folder per test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_config.h"
#include "alloc.h"
#include "spool.h"
#include "testutil.h"

#define GOOD_SETTINGS                                                                              \
    "source = bundle:/var/lib/rrasfleet/bundle\n"                                                  \
    "collector_url = https://collector.corp.contoso.com:8443\n"                                    \
    "ca_file = /etc/rrasfleet/ca.crt\n"                                                            \
    "client_cert = /etc/rrasfleet/agent.crt\n"                                                     \
    "client_key = /etc/rrasfleet/agent.key\n"                                                      \
    "spool_dir = /var/lib/rrasfleet/spool\n"

struct fixture {
    char dir[64];
    char path[128];
    struct agent_config cfg;
    struct proto_conf conf;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    memcpy(f->dir, "/tmp/test_agent_config.XXXXXX", sizeof("/tmp/test_agent_config.XXXXXX"));
    assert_non_null(mkdtemp(f->dir));
    int n = snprintf(f->path, sizeof(f->path), "%s/agent.conf", f->dir);
    assert_true(n > 0 && (size_t)n < sizeof(f->path));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    proto_conf_free(&f->conf);
    unlink(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void write_file(const struct fixture *f, const char *text)
{
    FILE *out = fopen(f->path, "wb");
    assert_non_null(out);
    assert_int_equal(fwrite(text, 1, strlen(text), out), strlen(text));
    assert_int_equal(fclose(out), 0);
}

static enum proto_conf_origin origin_of(const struct fixture *f, const char *key)
{
    for (size_t i = 0; i < f->conf.count; i++) {
        if (strcmp(f->conf.entries[i].key, key) == 0) {
            return f->conf.origins[i];
        }
    }
    fail_msg("no key %s", key);
    return PROTO_CONF_FROM_DEFAULT;
}

/* Loads the file (when text is not NULL) and then the flags in args. */
static enum proto_rc load(struct fixture *f, const char *text, char **args, int nargs, char *err,
                          size_t err_size)
{
    assert_int_equal(agent_config_init(&f->cfg, &f->conf), PROTO_OK);
    if (text != NULL) {
        write_file(f, text);
    }
    int rest = 0;
    return agent_config_load(&f->conf, text != NULL ? f->path : NULL, nargs, args, 0, &rest, err,
                             err_size);
}

static void test_defaults_are_the_documented_values(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(agent_config_init(&f->cfg, &f->conf), PROTO_OK);
    const struct agent_config *c = &f->cfg;
#ifdef _WIN32
    assert_string_equal(c->source, "live");
#else
    assert_string_equal(c->source, "");
#endif
    assert_string_equal(c->collector_url, "");
    assert_string_equal(c->pinned_pubkey, "");
    assert_string_equal(c->proxy, "");
    assert_int_equal(c->spool_max_records, 1000);
    assert_int_equal(c->spool_max_bytes, 64ul * 1024 * 1024);
    assert_int_equal(c->connect_timeout_ms, 5000);
    assert_int_equal(c->total_timeout_ms, 30000);
    assert_int_equal(c->interval_s, 300);
    assert_int_equal(c->jitter_percent, 10);
    assert_int_equal(c->backoff_base_ms, 1000);
    assert_int_equal(c->backoff_cap_ms, 300000);
    assert_int_equal(c->drain_rate_per_s, 2);
    assert_string_equal(c->expected_ca, "");
    assert_int_equal(c->expiry_days, 30);
    assert_string_equal(c->log_level, "info");
    assert_int_equal(agent_config_log_level(c), AGENT_LOG_INFO);
    for (size_t i = 0; i < f->conf.count; i++) {
        assert_int_equal(f->conf.origins[i], PROTO_CONF_FROM_DEFAULT);
    }
}

static void test_the_table_has_every_key_the_agent_needs(void **state)
{
    (void)state;
    static const char *const keys[] = {
        "source",
        "collector_url",
        "ca_file",
        "client_cert",
        "client_key",
        "pinned_pubkey",
        "spool_dir",
        "spool_max_records",
        "spool_max_bytes",
        "connect_timeout_ms",
        "total_timeout_ms",
        "interval_s",
        "jitter_percent",
        "backoff_base_ms",
        "backoff_cap_ms",
        "drain_rate_per_s",
        "expected_ca",
        "expiry_days",
        "log_level",
        "client_cert_thumbprint",
        "client_cert_issuer",
        "client_cert_template",
    };
    size_t count = 0;
    const struct proto_conf_entry *table = agent_config_table(&count);
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        bool found = false;
        for (size_t i = 0; i < count; i++) {
            found = found || strcmp(table[i].key, keys[k]) == 0;
            assert_non_null(table[i].description);
            assert_true(table[i].description[0] != '\0');
        }
        if (!found) {
            fail_msg("the table lacks %s", keys[k]);
        }
    }
}

static void test_file_values_are_loaded_and_marked_as_from_the_file(void **state)
{
    struct fixture *f = *state;
    char err[256];
    assert_int_equal(load(f,
                          "# agent settings\n" GOOD_SETTINGS "interval_s = 60   # one minute\n"
                          "expected_ca = \"CN=corp-DC1-CA, DC=corp, DC=contoso, DC=com\"\n",
                          NULL, 0, err, sizeof(err)),
                     PROTO_OK);
    assert_string_equal(f->cfg.collector_url, "https://collector.corp.contoso.com:8443");
    assert_string_equal(f->cfg.spool_dir, "/var/lib/rrasfleet/spool");
    assert_int_equal(f->cfg.interval_s, 60);
    assert_string_equal(f->cfg.expected_ca, "CN=corp-DC1-CA, DC=corp, DC=contoso, DC=com");
    assert_int_equal(origin_of(f, "interval_s"), PROTO_CONF_FROM_FILE);
    assert_int_equal(origin_of(f, "ca_file"), PROTO_CONF_FROM_FILE);
    assert_int_equal(origin_of(f, "jitter_percent"), PROTO_CONF_FROM_DEFAULT);
}

static void test_unknown_key_in_the_file_is_refused_with_its_line_number(void **state)
{
    struct fixture *f = *state;
    char err[256];
    char want[256];
    enum proto_rc rc = load(f,
                            "source = /bundle\n"
                            "\n"
                            "colector_url = https://collector:8443\n",
                            NULL, 0, err, sizeof(err));
    assert_int_equal(rc, PROTO_EPARSE);
    int n = snprintf(want, sizeof(want), "%s:3: unknown key 'colector_url'", f->path);
    assert_true(n > 0 && (size_t)n < sizeof(want));
    assert_string_equal(err, want);
}

static void test_out_of_range_value_is_refused_with_key_and_limits(void **state)
{
    struct fixture *f = *state;
    char err[256];
    assert_int_equal(load(f, "jitter_percent = 80\n", NULL, 0, err, sizeof(err)), PROTO_ELIMIT);
    assert_non_null(strstr(err, ":1: 'jitter_percent': expected 0..50, got 80"));
    proto_conf_free(&f->conf);
    assert_int_equal(load(f, "interval_s = 5\n", NULL, 0, err, sizeof(err)), PROTO_ELIMIT);
    assert_non_null(strstr(err, "'interval_s': expected 10..604800"));
}

static void test_flags_override_the_file_and_are_marked_as_flags(void **state)
{
    struct fixture *f = *state;
    char err[256];
    char *args[] = {"--interval-s", "120", "--collector_url=https://other:9443", "--log-level",
                    "debug"};
    assert_int_equal(load(f, GOOD_SETTINGS "interval_s = 60\n", args, 5, err, sizeof(err)),
                     PROTO_OK);
    assert_int_equal(f->cfg.interval_s, 120);
    assert_string_equal(f->cfg.collector_url, "https://other:9443");
    assert_int_equal(agent_config_log_level(&f->cfg), AGENT_LOG_DEBUG);
    assert_int_equal(origin_of(f, "interval_s"), PROTO_CONF_FROM_FLAG);
    assert_int_equal(origin_of(f, "collector_url"), PROTO_CONF_FROM_FLAG);
    assert_int_equal(origin_of(f, "ca_file"), PROTO_CONF_FROM_FILE);
    assert_int_equal(origin_of(f, "backoff_cap_ms"), PROTO_CONF_FROM_DEFAULT);
}

static void test_unknown_flag_is_refused(void **state)
{
    struct fixture *f = *state;
    char err[256];
    char *args[] = {"--interval", "120"};
    assert_int_equal(load(f, NULL, args, 2, err, sizeof(err)), PROTO_ENOTFOUND);
    assert_string_equal(err, "unknown flag '--interval'");
}

static void test_print_shows_each_value_with_its_origin(void **state)
{
    struct fixture *f = *state;
    char err[256];
    char *args[] = {"--drain-rate-per-s", "5"};
    assert_int_equal(load(f, GOOD_SETTINGS, args, 2, err, sizeof(err)), PROTO_OK);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    proto_conf_print(&f->conf, out);
    assert_int_equal(fclose(out), 0);
    assert_non_null(strstr(text, "drain_rate_per_s = 5"));
    assert_non_null(strstr(text, "spool_dir = \"/var/lib/rrasfleet/spool\""));
    /* each line ends with its origin */
    const char *line = strstr(text, "drain_rate_per_s = 5");
    assert_true(strncmp(strchr(line, '#'), "# flag\n", 7) == 0);
    line = strstr(text, "ca_file = ");
    assert_true(strncmp(strchr(line, '#'), "# file\n", 7) == 0);
    line = strstr(text, "backoff_base_ms = 1000");
    assert_non_null(line);
    assert_true(strncmp(strchr(line, '#'), "# default\n", 10) == 0);
    free(text);
}

static void test_markdown_documents_every_key(void **state)
{
    (void)state;
    size_t count = 0;
    const struct proto_conf_entry *table = agent_config_table(&count);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    proto_conf_markdown(table, count, out);
    assert_int_equal(fclose(out), 0);
    for (size_t i = 0; i < count; i++) {
        char cell[80];
        int n = snprintf(cell, sizeof(cell), "| `%s` |", table[i].key);
        assert_true(n > 0 && (size_t)n < sizeof(cell));
        if (strstr(text, cell) == NULL) {
            fail_msg("markdown lacks %s", table[i].key);
        }
    }
    assert_non_null(strstr(text, "`--backoff-cap-ms`"));
    free(text);
}

static void test_from_args_takes_config_file_switches_and_flags(void **state)
{
    struct fixture *f = *state;
    char err[256];
    write_file(f, GOOD_SETTINGS "interval_s = 60\n");
    char config_eq[160];
    int n = snprintf(config_eq, sizeof(config_eq), "--config=%s", f->path);
    assert_true(n > 0 && (size_t)n < sizeof(config_eq));
    char *argv[] = {"run", "--once", config_eq, "--interval-s", "90", NULL};
    bool once = false;
    const struct agent_config_switch sw[] = {{"--once", &once}};
    const char *path = NULL;
    assert_int_equal(
        agent_config_from_args(5, argv, sw, 1, &f->cfg, &f->conf, &path, err, sizeof(err)),
        PROTO_OK);
    assert_true(once);
    assert_string_equal(path, f->path);
    assert_int_equal(f->cfg.interval_s, 90);
    assert_int_equal(origin_of(f, "interval_s"), PROTO_CONF_FROM_FLAG);
    assert_string_equal(f->cfg.client_key, "/etc/rrasfleet/agent.key");
    /* the caller's vector is left as it was */
    assert_string_equal(argv[3], "--interval-s");
}

static void test_from_args_refuses_stray_arguments_and_a_config_without_file(void **state)
{
    struct fixture *f = *state;
    char err[256];
    const char *path = NULL;
    char *stray[] = {"run", "extra", NULL};
    assert_int_equal(
        agent_config_from_args(2, stray, NULL, 0, &f->cfg, &f->conf, &path, err, sizeof(err)),
        PROTO_EPARSE);
    assert_string_equal(err, "unexpected argument 'extra'");
    proto_conf_free(&f->conf);
    char *missing[] = {"run", "--config", NULL};
    assert_int_equal(
        agent_config_from_args(2, missing, NULL, 0, &f->cfg, &f->conf, &path, err, sizeof(err)),
        PROTO_EPARSE);
    assert_string_equal(err, "--config: missing file name");
    proto_conf_free(&f->conf);
    char *absent[] = {"run", "--config", "/nonexistent/agent.conf", NULL};
    assert_int_equal(
        agent_config_from_args(3, absent, NULL, 0, &f->cfg, &f->conf, &path, err, sizeof(err)),
        PROTO_ENOTFOUND);
    assert_non_null(strstr(err, "/nonexistent/agent.conf"));
}

/* GOOD_SETTINGS use certificate files: the POSIX rules, on every build (the Windows rules have
 * their own cases below). */
static void test_complete_settings_validate(void **state)
{
    struct fixture *f = *state;
    char err[256];
    assert_int_equal(load(f,
                          GOOD_SETTINGS "pinned_pubkey = "
                                        "sha256//4clIKPmaXAYDGfaIUISojX9wrm1ImOEtPYBcLmweeAg=;"
                                        "sha256//AAAAKPmaXAYDGfaIUISojX9wrm1ImOEtPYBcLmweeAg=\n"
                                        "expected_ca = DC=com, DC=contoso, CN=corp-DC1-CA\n",
                          NULL, 0, err, sizeof(err)),
                     PROTO_OK);
    if (agent_config_validate_on(&f->cfg, AGENT_CONFIG_POSIX, err, sizeof(err)) != PROTO_OK) {
        fail_msg("refused: %s", err);
    }
}

static void test_validation_names_the_key_that_cannot_work(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *extra;
        const char *message;
    } cases[] = {
        {"collector_url = \"\"\n", "'collector_url' must be set"},
        {"spool_dir = \"\"\n", "'spool_dir' must be set"},
        {"collector_url = http://collector:8443\n", "'collector_url': must start with https://"},
        {"collector_url = https://user:pw@collector:8443\n",
         "'collector_url': must not carry a user name or password"},
        {"collector_url = https://collector:0\n", "'collector_url': has a port that is not"},
        {"collector_url = https://collector:65536\n", "'collector_url': has a port that is not"},
        {"collector_url = https://collector:84x3\n", "'collector_url': has a port that is not"},
        {"collector_url = https://\n", "'collector_url': names no host"},
        {"collector_url = https://collector/v1?x=1\n", "'collector_url': must not carry a query"},
        {"pinned_pubkey = sha1//abc\n", "'pinned_pubkey': expected sha256//"},
        {"pinned_pubkey = sha256//tooshort\n", "'pinned_pubkey': expected sha256//"},
        {"backoff_base_ms = 5000\nbackoff_cap_ms = 1000\n",
         "'backoff_base_ms' (5000) must not exceed 'backoff_cap_ms' (1000)"},
        {"connect_timeout_ms = 60000\ntotal_timeout_ms = 1000\n",
         "'connect_timeout_ms' (60000) must not exceed"},
        {"log_level = chatty\n", "'log_level': expected error, warn, info or debug"},
        {"expected_ca = not a dn\n", "'expected_ca': not a distinguished name"},
        {"source = win32:\n", "'source': only "},
        {"source = bundle:\n", "'source': names no folder"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[1024], err[256];
        int n = snprintf(text, sizeof(text), "%s%s", GOOD_SETTINGS, cases[i].extra);
        assert_true(n > 0 && (size_t)n < sizeof(text));
        assert_int_equal(load(f, text, NULL, 0, err, sizeof(err)), PROTO_OK);
        assert_int_equal(agent_config_validate_on(&f->cfg, AGENT_CONFIG_POSIX, err, sizeof(err)),
                         PROTO_EINVAL);
        if (strstr(err, cases[i].message) == NULL) {
            fail_msg("with %s: got \"%s\", want \"%s\"", cases[i].extra, err, cases[i].message);
        }
        proto_conf_free(&f->conf);
    }
}

static void test_source_names_a_bundle_folder_with_or_without_prefix(void **state)
{
    struct fixture *f = *state;
    const char *dir = NULL;
    assert_int_equal(agent_config_init(&f->cfg, &f->conf), PROTO_OK);
    memcpy(f->cfg.source, "bundle:/srv/b", sizeof("bundle:/srv/b"));
    assert_int_equal(agent_config_bundle_dir(&f->cfg, &dir), PROTO_OK);
    assert_string_equal(dir, "/srv/b");
    memcpy(f->cfg.source, "/srv/b", sizeof("/srv/b"));
    assert_int_equal(agent_config_bundle_dir(&f->cfg, &dir), PROTO_OK);
    assert_string_equal(dir, "/srv/b");
    memcpy(f->cfg.source, "C:\\bundles\\rras01", sizeof("C:\\bundles\\rras01"));
    assert_int_equal(agent_config_bundle_dir(&f->cfg, &dir), PROTO_OK);
    assert_string_equal(dir, "C:\\bundles\\rras01");
    memcpy(f->cfg.source, "win32:", sizeof("win32:"));
    assert_int_equal(agent_config_bundle_dir(&f->cfg, &dir), PROTO_EUNSUPPORTED);
}

static void test_policy_carries_expected_ca_expiry_days_and_now(void **state)
{
    struct fixture *f = *state;
    char err[256];
    assert_int_equal(load(f, "expected_ca = CN=corp-DC1-CA, DC=corp\nexpiry_days = 45\n", NULL, 0,
                          err, sizeof(err)),
                     PROTO_OK);
    struct proto_policy policy;
    assert_int_equal(agent_config_policy(&f->cfg, 1764000000, &policy), PROTO_OK);
    assert_true(policy.has_expected_ca);
    assert_int_equal(policy.expected_ca.count, 2);
    assert_int_equal(policy.expiry_days, 45);
    assert_int_equal(policy.now, 1764000000);
    proto_policy_clear(&policy);

    memcpy(f->cfg.expected_ca, "", 1);
    assert_int_equal(agent_config_policy(&f->cfg, 5, &policy), PROTO_OK);
    assert_false(policy.has_expected_ca);
    proto_policy_clear(&policy);
}

/* ---- registry policy (HKLM\SOFTWARE\Policies\rrasfleet\Agent) as name/value pairs ---- */

static enum proto_rc apply(struct fixture *f, const struct agent_config_pair *pairs, size_t n,
                           char *err, size_t err_size)
{
    return agent_config_apply_pairs(&f->conf, PROTO_CONF_FROM_REGISTRY, AGENT_CONFIG_POLICY_KEY,
                                    pairs, n, err, err_size);
}

static void test_registry_values_are_applied_and_printed_as_from_the_registry(void **state)
{
    struct fixture *f = *state;
    char err[256];
    assert_int_equal(agent_config_init(&f->cfg, &f->conf), PROTO_OK);
    const struct agent_config_pair pairs[] = {
        {"collector_url", "https://collector.corp.contoso.com:8443", false},
        {"interval_s", "600", true},     /* REG_DWORD */
        {"jitter_percent", "20", false}, /* a number as REG_SZ is fine too */
        {"client_cert_thumbprint", "a1 b2 c3 d4 e5 f6 07 18 29 3a 4b 5c 6d 7e 8f 90 01 12 23 34",
         false},
    };
    assert_int_equal(apply(f, pairs, 4, err, sizeof(err)), PROTO_OK);
    assert_string_equal(f->cfg.collector_url, "https://collector.corp.contoso.com:8443");
    assert_int_equal(f->cfg.interval_s, 600);
    assert_int_equal(f->cfg.jitter_percent, 20);
    assert_int_equal(origin_of(f, "interval_s"), PROTO_CONF_FROM_REGISTRY);
    assert_int_equal(origin_of(f, "client_cert_thumbprint"), PROTO_CONF_FROM_REGISTRY);
    assert_int_equal(origin_of(f, "spool_dir"), PROTO_CONF_FROM_DEFAULT);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    proto_conf_print(&f->conf, out);
    assert_int_equal(fclose(out), 0);
    const char *line = strstr(text, "interval_s = 600");
    assert_non_null(line);
    assert_true(strncmp(strchr(line, '#'), "# registry\n", 11) == 0);
    free(text);
}

static void test_the_file_and_flags_override_the_registry_policy(void **state)
{
    struct fixture *f = *state;
    char err[256];
    assert_int_equal(agent_config_init(&f->cfg, &f->conf), PROTO_OK);
    const struct agent_config_pair pairs[] = {
        {"interval_s", "600", true},
        {"jitter_percent", "20", true},
        {"log_level", "warn", false},
        {"expiry_days", "60", true},
    };
    assert_int_equal(apply(f, pairs, 4, err, sizeof(err)), PROTO_OK);
    /* Then what agent_config_from_args does next: the file, then the flags. */
    write_file(f, "interval_s = 120\nlog_level = debug\n");
    char *args[] = {"--log-level", "error", "--jitter-percent", "5"};
    int rest = 0;
    assert_int_equal(agent_config_load(&f->conf, f->path, 4, args, 0, &rest, err, sizeof(err)),
                     PROTO_OK);
    assert_int_equal(f->cfg.interval_s, 120); /* file > registry */
    assert_int_equal(origin_of(f, "interval_s"), PROTO_CONF_FROM_FILE);
    assert_string_equal(f->cfg.log_level, "error"); /* flag > file > registry */
    assert_int_equal(origin_of(f, "log_level"), PROTO_CONF_FROM_FLAG);
    assert_int_equal(f->cfg.jitter_percent, 5); /* flag > registry */
    assert_int_equal(origin_of(f, "jitter_percent"), PROTO_CONF_FROM_FLAG);
    assert_int_equal(f->cfg.expiry_days, 60); /* registry > default */
    assert_int_equal(origin_of(f, "expiry_days"), PROTO_CONF_FROM_REGISTRY);
}

static void test_from_args_reads_no_registry_outside_windows(void **state)
{
    struct fixture *f = *state;
    char err[256];
    const char *path = NULL;
    char *argv[] = {"config", "--interval-s", "90", NULL};
    assert_int_equal(
        agent_config_from_args(3, argv, NULL, 0, &f->cfg, &f->conf, &path, err, sizeof(err)),
        PROTO_OK);
    for (size_t i = 0; i < f->conf.count; i++) {
        assert_int_not_equal(f->conf.origins[i], PROTO_CONF_FROM_REGISTRY);
    }
    assert_int_equal(agent_config_load_policy(&f->conf, err, sizeof(err)), PROTO_OK);
    assert_string_equal(err, "");
}

static void test_an_unknown_registry_value_is_refused_naming_the_value_and_the_key(void **state)
{
    struct fixture *f = *state;
    char err[256];
    assert_int_equal(agent_config_init(&f->cfg, &f->conf), PROTO_OK);
    const struct agent_config_pair pairs[] = {
        {"interval_s", "600", true},
        {"CollectorUrl", "https://collector:8443", false},
    };
    assert_int_equal(apply(f, pairs, 2, err, sizeof(err)), PROTO_EPARSE);
    assert_string_equal(err, "HKLM\\SOFTWARE\\Policies\\rrasfleet\\Agent: unknown value "
                             "'CollectorUrl' (value names are the setting keys, as in the "
                             "configuration file)");
}

static void test_registry_values_are_checked_like_the_file(void **state)
{
    struct fixture *f = *state;
    char err[256];
    assert_int_equal(agent_config_init(&f->cfg, &f->conf), PROTO_OK);
    const struct agent_config_pair range[] = {{"jitter_percent", "80", true}};
    assert_int_equal(apply(f, range, 1, err, sizeof(err)), PROTO_ELIMIT);
    assert_string_equal(err, "HKLM\\SOFTWARE\\Policies\\rrasfleet\\Agent: value 'jitter_percent': "
                             "expected 0..50, got 80");
    assert_int_equal(f->cfg.jitter_percent, 10); /* the default stays */
    assert_int_equal(origin_of(f, "jitter_percent"), PROTO_CONF_FROM_DEFAULT);

    const struct agent_config_pair number_for_text[] = {{"spool_dir", "3", true}};
    assert_int_equal(apply(f, number_for_text, 1, err, sizeof(err)), PROTO_EPARSE);
    assert_non_null(strstr(err, "value 'spool_dir' is a number (REG_DWORD); this setting is text"));

    const struct agent_config_pair bad_number_text[] = {{"interval_s", "often", false}};
    assert_int_equal(apply(f, bad_number_text, 1, err, sizeof(err)), PROTO_EPARSE);
    assert_non_null(strstr(err, "'interval_s': expected an unsigned integer"));
}

static void test_group_policy_markers_and_an_empty_default_value_are_skipped(void **state)
{
    struct fixture *f = *state;
    char err[256];
    assert_int_equal(agent_config_init(&f->cfg, &f->conf), PROTO_OK);
    const struct agent_config_pair pairs[] = {
        {"", "", false},
        {"**del.proxy", " ", false},
        {"**delvals.", " ", false},
        {"expiry_days", "14", true},
    };
    assert_int_equal(apply(f, pairs, 4, err, sizeof(err)), PROTO_OK);
    assert_int_equal(f->cfg.expiry_days, 14);
    const struct agent_config_pair named_default[] = {{"", "https://x", false}};
    assert_int_equal(apply(f, named_default, 1, err, sizeof(err)), PROTO_EPARSE);
    assert_non_null(strstr(err, "unknown value ''"));
}

/* ---- the client certificate: files on POSIX, LocalMachine\My on Windows ---- */

#define WINDOWS_SETTINGS                                                                           \
    "source = bundle:C:/ProgramData/rrasfleet/bundle\n"                                            \
    "collector_url = https://collector.corp.contoso.com:8443\n"                                    \
    "ca_file = C:/ProgramData/rrasfleet/ca.crt\n"                                                  \
    "spool_dir = C:/ProgramData/rrasfleet/spool\n"

static void test_thumbprints_are_read_as_people_paste_them(void **state)
{
    (void)state;
    char out[41];
    static const char want[] = "A1B2C3D4E5F60718293A4B5C6D7E8F9001122334";
    static const char *const good[] = {
        "a1b2c3d4e5f60718293a4b5c6d7e8f9001122334",
        "A1 B2 C3 D4 E5 F6 07 18 29 3A 4B 5C 6D 7E 8F 90 01 12 23 34",
        "A1:B2:C3:D4:E5:F6:07:18:29:3A:4B:5C:6D:7E:8F:90:01:12:23:34",
        "\xE2\x80\x8E"
        "a1b2c3d4e5f60718293a4b5c6d7e8f9001122334", /* the dialog's U+200E */
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(agent_config_thumbprint(good[i], out), PROTO_OK);
        assert_string_equal(out, want);
    }
    static const char *const bad[] = {
        "",
        "a1b2c3d4e5f60718293a4b5c6d7e8f900112233",   /* 39 digits */
        "a1b2c3d4e5f60718293a4b5c6d7e8f90011223344", /* 41 */
        "g1b2c3d4e5f60718293a4b5c6d7e8f9001122334",
        "a1b2c3d4e5f60718293a4b5c6d7e8f9001122334\xE2\x80\x8E",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(agent_config_thumbprint(bad[i], out), PROTO_EPARSE);
        assert_string_equal(out, "");
    }
}

static void test_windows_needs_no_certificate_file(void **state)
{
    struct fixture *f = *state;
    char err[256];
    assert_int_equal(load(f, WINDOWS_SETTINGS, NULL, 0, err, sizeof(err)), PROTO_OK);
    if (agent_config_validate_on(&f->cfg, AGENT_CONFIG_WINDOWS, err, sizeof(err)) != PROTO_OK) {
        fail_msg("refused: %s", err);
    }
    proto_conf_free(&f->conf);
    assert_int_equal(load(f,
                          WINDOWS_SETTINGS
                          "client_cert_thumbprint = a1b2c3d4e5f60718293a4b5c6d7e8f9001122334\n"
                          "client_cert_issuer = CN=corp-DC1-CA, DC=corp, DC=contoso, DC=com\n"
                          "client_cert_template = 1.3.6.1.4.1.311.21.8.1.2\n",
                          NULL, 0, err, sizeof(err)),
                     PROTO_OK);
    if (agent_config_validate_on(&f->cfg, AGENT_CONFIG_WINDOWS, err, sizeof(err)) != PROTO_OK) {
        fail_msg("refused: %s", err);
    }
    /* The same settings are no use on Linux, which needs the files. */
    assert_int_equal(agent_config_validate_on(&f->cfg, AGENT_CONFIG_POSIX, err, sizeof(err)),
                     PROTO_EINVAL);
    assert_string_equal(err, "'client_cert' must be set");
}

static void test_each_system_refuses_the_other_systems_certificate_keys(void **state)
{
    struct fixture *f = *state;
    static const struct {
        enum agent_config_platform platform;
        const char *text;
        const char *message;
    } cases[] = {
        {AGENT_CONFIG_WINDOWS, WINDOWS_SETTINGS "client_cert = C:/agent.pfx\n",
         "'client_cert': on Windows the client certificate and its key stay in "
         "LocalMachine\\My"},
        {AGENT_CONFIG_WINDOWS, WINDOWS_SETTINGS "client_key = C:/agent.key\n",
         "'client_key': on Windows"},
        {AGENT_CONFIG_WINDOWS, WINDOWS_SETTINGS "client_cert_thumbprint = a1b2c3\n",
         "'client_cert_thumbprint': expected 40 hex digits"},
        {AGENT_CONFIG_WINDOWS, WINDOWS_SETTINGS "client_cert_issuer = corp CA\n",
         "'client_cert_issuer': not a distinguished name"},
        {AGENT_CONFIG_WINDOWS, WINDOWS_SETTINGS "collector_url = https://10.0.0.5:8443\n",
         "'collector_url': on Windows name the collector by its DNS name"},
        {AGENT_CONFIG_WINDOWS, WINDOWS_SETTINGS "collector_url = https://[::1]:8443\n",
         "'collector_url': on Windows name the collector by its DNS name"},
        {AGENT_CONFIG_POSIX,
         GOOD_SETTINGS "client_cert_thumbprint = a1b2c3d4e5f60718293a4b5c6d7e8f9001122334\n",
         "'client_cert_thumbprint' names a certificate in Windows' LocalMachine\\My"},
        {AGENT_CONFIG_POSIX, GOOD_SETTINGS "client_cert_issuer = CN=corp-DC1-CA\n",
         "'client_cert_issuer' names a certificate"},
        {AGENT_CONFIG_POSIX, GOOD_SETTINGS "client_cert_template = Machine\n",
         "'client_cert_template' names a certificate"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[256];
        assert_int_equal(load(f, cases[i].text, NULL, 0, err, sizeof(err)), PROTO_OK);
        assert_int_equal(agent_config_validate_on(&f->cfg, cases[i].platform, err, sizeof(err)),
                         PROTO_EINVAL);
        if (strstr(err, cases[i].message) == NULL) {
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, cases[i].message);
        }
        proto_conf_free(&f->conf);
    }
    /* An IP address stays fine on Linux, where OpenSSL matches IP SANs. */
    char err[256];
    assert_int_equal(load(f, GOOD_SETTINGS "collector_url = https://127.0.0.1:8443\n", NULL, 0, err,
                          sizeof(err)),
                     PROTO_OK);
    assert_int_equal(agent_config_validate_on(&f->cfg, AGENT_CONFIG_POSIX, err, sizeof(err)),
                     PROTO_OK);
}

/* The table's cap on spool_max_records is the spool's own: config sits below deliver and cannot
 * include spool.h, so the two constants are tied here. */
static void test_the_spool_record_cap_is_the_spools_own(void **state)
{
    (void)state;
    assert_int_equal(AGENT_CONFIG_MAX_SPOOL_RECORDS, AGENT_SPOOL_MAX_RECORDS);
}

/* ---- the installer's key (HKLM\SOFTWARE\rrasfleet\Agent), below the policy ---- */

/* The text a stream got, NUL-terminated; caller frees. The stream is closed. */
static char *read_back(FILE *stream)
{
    assert_int_equal(fseek(stream, 0, SEEK_END), 0);
    long size = ftell(stream);
    assert_true(size >= 0);
    rewind(stream);
    char *text = malloc((size_t)size + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)size, stream), (size_t)size);
    text[size] = '\0';
    assert_int_equal(fclose(stream), 0);
    return text;
}

static void
test_installer_values_give_way_to_the_policy_and_print_as_from_the_installer(void **state)
{
    struct fixture *f = *state;
    char err[256];
    assert_int_equal(agent_config_init(&f->cfg, &f->conf), PROTO_OK);
    /* What the MSI writes from its properties, then what Group Policy sets, in that order. */
    const struct agent_config_pair installer[] = {
        {"collector_url", "https://collector.corp.contoso.com:8443", false},
        {"ca_file", "C:\\Program Files\\rrasfleet\\ca.pem", false},
        {"remediation_mode", "dry-run", false},
        {"spool_dir", "C:\\ProgramData\\rrasfleet\\spool", false},
    };
    const struct agent_config_pair policy[] = {
        {"collector_url", "https://collector2.corp.contoso.com:8443", false},
        {"remediation_mode", "off", false},
    };
    assert_int_equal(agent_config_apply_pairs(&f->conf, PROTO_CONF_FROM_INSTALLER,
                                              AGENT_CONFIG_INSTALLER_KEY, installer, 4, err,
                                              sizeof(err)),
                     PROTO_OK);
    assert_int_equal(apply(f, policy, 2, err, sizeof(err)), PROTO_OK);
    assert_string_equal(f->cfg.collector_url, "https://collector2.corp.contoso.com:8443");
    assert_string_equal(f->cfg.remediation_mode, "off");
    assert_string_equal(f->cfg.ca_file, "C:\\Program Files\\rrasfleet\\ca.pem");
    assert_int_equal(origin_of(f, "collector_url"), PROTO_CONF_FROM_REGISTRY);
    assert_int_equal(origin_of(f, "ca_file"), PROTO_CONF_FROM_INSTALLER);
    assert_int_equal(origin_of(f, "spool_dir"), PROTO_CONF_FROM_INSTALLER);
    assert_int_equal(origin_of(f, "interval_s"), PROTO_CONF_FROM_DEFAULT);
    assert_string_equal(proto_conf_origin_str(PROTO_CONF_FROM_INSTALLER), "installer");
    FILE *out = fopen(f->path, "w+b");
    assert_non_null(out);
    proto_conf_print(&f->conf, out);
    char *text = read_back(out);
    const char *line = strstr(text, "ca_file = ");
    assert_non_null(line);
    assert_true(strncmp(strchr(line, '#'), "# installer\n", 12) == 0);
    line = strstr(text, "collector_url = ");
    assert_non_null(line);
    assert_true(strncmp(strchr(line, '#'), "# registry\n", 11) == 0);
    free(text);
    /* An unknown value there is refused like one in the policy, naming the installer's key. */
    const struct agent_config_pair unknown[] = {{"CollectorURL", "https://x", false}};
    assert_int_equal(agent_config_apply_pairs(&f->conf, PROTO_CONF_FROM_INSTALLER,
                                              AGENT_CONFIG_INSTALLER_KEY, unknown, 1, err,
                                              sizeof(err)),
                     PROTO_EPARSE);
    assert_non_null(strstr(err, "HKLM\\SOFTWARE\\rrasfleet\\Agent: unknown value 'CollectorURL'"));
}

static void test_from_args_reads_no_installer_key_outside_windows(void **state)
{
    struct fixture *f = *state;
    char err[256];
    char *argv[] = {"config", "--print", NULL};
    bool print = false;
    const struct agent_config_switch switches[] = {{"--print", &print}};
    const char *path = NULL;
    assert_int_equal(
        agent_config_from_args(2, argv, switches, 1, &f->cfg, &f->conf, &path, err, sizeof(err)),
        PROTO_OK);
    for (size_t i = 0; i < f->conf.count; i++) {
        assert_int_not_equal(f->conf.origins[i], PROTO_CONF_FROM_INSTALLER);
    }
    assert_int_equal(agent_config_load_installer(&f->conf, err, sizeof(err)), PROTO_OK);
}

static void test_ca_thumbprint_names_the_collector_ca_on_windows_instead_of_ca_file(void **state)
{
    struct fixture *f = *state;
    char err[256];
    static const char windows_no_ca_file[] =
        "source = bundle:C:/b\n"
        "collector_url = https://collector.corp.contoso.com:8443\n"
        "spool_dir = C:/ProgramData/rrasfleet/spool\n";
    assert_int_equal(
        load(f,
             "source = bundle:C:/b\n"
             "collector_url = https://collector.corp.contoso.com:8443\n"
             "spool_dir = C:/ProgramData/rrasfleet/spool\n"
             "ca_thumbprint = 0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9:00:11:22:33\n",
             NULL, 0, err, sizeof(err)),
        PROTO_OK);
    if (agent_config_validate_on(&f->cfg, AGENT_CONFIG_WINDOWS, err, sizeof(err)) != PROTO_OK) {
        fail_msg("refused: %s", err);
    }
    /* Linux has no LocalMachine\Root. */
    assert_int_equal(agent_config_validate_on(&f->cfg, AGENT_CONFIG_POSIX, err, sizeof(err)),
                     PROTO_EINVAL);
    assert_string_equal(err, "'ca_file' must be set");
    proto_conf_free(&f->conf);
    static const struct {
        const char *text;
        const char *message;
    } cases[] = {
        {"ca_file = C:/ca.pem\nca_thumbprint = 0a1b2c3d4e5f60718293a4b5c6d7e8f900112233\n",
         "'ca_file' and 'ca_thumbprint' are both set"},
        {"ca_thumbprint = 0a1b2c\n", "'ca_thumbprint': expected 40 hex digits"},
        {"", "'ca_file' must be set"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[512];
        int n = snprintf(text, sizeof(text), "%s%s", windows_no_ca_file, cases[i].text);
        assert_true(n > 0 && (size_t)n < sizeof(text));
        assert_int_equal(load(f, text, NULL, 0, err, sizeof(err)), PROTO_OK);
        assert_int_equal(agent_config_validate_on(&f->cfg, AGENT_CONFIG_WINDOWS, err, sizeof(err)),
                         PROTO_EINVAL);
        if (strstr(err, cases[i].message) == NULL) {
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, cases[i].message);
        }
        proto_conf_free(&f->conf);
    }
    assert_int_equal(
        load(f, GOOD_SETTINGS "ca_thumbprint = 0a1b2c3d4e5f60718293a4b5c6d7e8f900112233\n", NULL, 0,
             err, sizeof(err)),
        PROTO_OK);
    assert_int_equal(agent_config_validate_on(&f->cfg, AGENT_CONFIG_POSIX, err, sizeof(err)),
                     PROTO_EINVAL);
    assert_non_null(strstr(err, "'ca_thumbprint' names a CA in Windows' LocalMachine\\Root"));
}

static void test_the_closed_lists_are_exactly_what_validate_accepts(void **state)
{
    struct fixture *f = *state;
    char err[256];
    static const char *const keys[] = {"log_level", "remediation_mode"};
    for (size_t k = 0; k < 2; k++) {
        const char *const *choices = agent_config_choices(keys[k]);
        assert_non_null(choices);
        size_t n = 0;
        for (; choices[n] != NULL; n++) {
            char text[512];
            int len =
                snprintf(text, sizeof(text),
                         GOOD_SETTINGS "profile_trust_key = /k.pem\nstate_dir = /s\n%s = %s\n",
                         keys[k], choices[n]);
            assert_true(len > 0 && (size_t)len < sizeof(text));
            assert_int_equal(load(f, text, NULL, 0, err, sizeof(err)), PROTO_OK);
            if (agent_config_validate_on(&f->cfg, AGENT_CONFIG_POSIX, err, sizeof(err)) !=
                PROTO_OK) {
                fail_msg("%s = %s refused: %s", keys[k], choices[n], err);
            }
            proto_conf_free(&f->conf);
        }
        assert_int_equal(n, k == 0 ? 4 : 3);
    }
    assert_null(agent_config_choices("interval_s"));
    assert_null(agent_config_choices("collector_url"));
    assert_null(agent_config_choices(NULL));
}

static void test_the_group_policy_template_states_windows_defaults(void **state)
{
    (void)state;
    size_t count = 0;
    const struct proto_conf_entry *table = agent_config_table(&count);
    for (size_t i = 0; i < count; i++) {
        const char *def = table[i].default_value != NULL ? table[i].default_value : "";
        if (strcmp(table[i].key, "source") == 0) {
            assert_string_equal(agent_config_default_on(&table[i], AGENT_CONFIG_WINDOWS), "live");
            assert_string_equal(agent_config_default_on(&table[i], AGENT_CONFIG_POSIX), "");
        } else {
            assert_string_equal(agent_config_default_on(&table[i], AGENT_CONFIG_WINDOWS), def);
        }
    }
}

static void test_admx_has_one_policy_per_setting_and_refuses_a_bad_revision(void **state)
{
    struct fixture *f = *state;
    char adml_path[160];
    int n = snprintf(adml_path, sizeof(adml_path), "%s/rrasfleet.adml", f->dir);
    assert_true(n > 0 && (size_t)n < sizeof(adml_path));
    FILE *admx = fopen(f->path, "w+b");
    FILE *adml = fopen(adml_path, "w+b");
    assert_non_null(admx);
    assert_non_null(adml);
    assert_int_equal(agent_config_admx(admx, adml, "1"), PROTO_EINVAL);
    assert_int_equal(agent_config_admx(admx, adml, "1.x"), PROTO_EINVAL);
    assert_int_equal(agent_config_admx(admx, adml, "2.17"), PROTO_OK);
    char *admx_text = read_back(admx);
    char *adml_text = read_back(adml);
    assert_int_equal(unlink(adml_path), 0);
    assert_non_null(strstr(admx_text, "revision=\"2.17\""));
    assert_non_null(strstr(admx_text, "<resources minRequiredRevision=\"2.17\" />"));
    size_t count = 0;
    const struct proto_conf_entry *table = agent_config_table(&count);
    size_t policies = 0;
    for (const char *p = admx_text; (p = strstr(p, "<policy ")) != NULL; p++) {
        policies++;
    }
    assert_int_equal(policies, count);
    for (size_t i = 0; i < count; i++) {
        char want[160];
        n = snprintf(want, sizeof(want), "valueName=\"%s\"", table[i].key);
        assert_true(n > 0 && (size_t)n < sizeof(want));
        assert_non_null(strstr(admx_text, want));
        n = snprintf(want, sizeof(want), "<string id=\"%s_Help\">", table[i].key);
        assert_true(n > 0 && (size_t)n < sizeof(want));
        assert_non_null(strstr(adml_text, want));
    }
    /* Limits and lists from the table; text escaped for XML. */
    assert_non_null(strstr(admx_text, "<decimal id=\"jitter_percent\" valueName=\"jitter_percent\" "
                                      "required=\"true\" minValue=\"0\" maxValue=\"50\" />"));
    assert_non_null(strstr(admx_text, "<string>dry-run</string>"));
    assert_non_null(strstr(adml_text, "<string id=\"collector_url_Help\">The collector's agent "
                                      "endpoint, https://host:port."));
    free(admx_text);
    free(adml_text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults_are_the_documented_values, setup, teardown),
        cmocka_unit_test(test_the_table_has_every_key_the_agent_needs),
        cmocka_unit_test(test_the_spool_record_cap_is_the_spools_own),
        cmocka_unit_test_setup_teardown(test_file_values_are_loaded_and_marked_as_from_the_file,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_unknown_key_in_the_file_is_refused_with_its_line_number, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_range_value_is_refused_with_key_and_limits,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_flags_override_the_file_and_are_marked_as_flags, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unknown_flag_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_print_shows_each_value_with_its_origin, setup,
                                        teardown),
        cmocka_unit_test(test_markdown_documents_every_key),
        cmocka_unit_test_setup_teardown(test_from_args_takes_config_file_switches_and_flags, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_from_args_refuses_stray_arguments_and_a_config_without_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_complete_settings_validate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validation_names_the_key_that_cannot_work, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_source_names_a_bundle_folder_with_or_without_prefix,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_carries_expected_ca_expiry_days_and_now, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_registry_values_are_applied_and_printed_as_from_the_registry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_the_file_and_flags_override_the_registry_policy, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_from_args_reads_no_registry_outside_windows, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_an_unknown_registry_value_is_refused_naming_the_value_and_the_key, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_registry_values_are_checked_like_the_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_group_policy_markers_and_an_empty_default_value_are_skipped, setup, teardown),
        cmocka_unit_test(test_thumbprints_are_read_as_people_paste_them),
        cmocka_unit_test_setup_teardown(test_windows_needs_no_certificate_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_each_system_refuses_the_other_systems_certificate_keys,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_installer_values_give_way_to_the_policy_and_print_as_from_the_installer, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_from_args_reads_no_installer_key_outside_windows,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_ca_thumbprint_names_the_collector_ca_on_windows_instead_of_ca_file, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_the_closed_lists_are_exactly_what_validate_accepts,
                                        setup, teardown),
        cmocka_unit_test(test_the_group_policy_template_states_windows_defaults),
        cmocka_unit_test_setup_teardown(
            test_admx_has_one_policy_per_setting_and_refuses_a_bad_revision, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
