/* test_config: the collector's settings table, its defaults, its loader's checks, and the
 * generated reference doc staying in step with the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector_config.h"
#include "testutil.h"

struct fixture {
    struct col_config cfg;
    struct proto_conf conf;
    char err[256];
    char path[64];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    int n = snprintf(f->path, sizeof(f->path), "/tmp/test_config.%ld.conf", (long)getpid());
    assert_true(n > 0 && (size_t)n < sizeof(f->path));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    proto_conf_free(&f->conf);
    unlink(f->path);
    free(f);
    return 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
    assert_int_equal(fclose(fp), 0);
}

/* Loads with optional file text and flags (argv[0] is "serve"). */
static enum proto_rc load(struct fixture *f, const char *file_text, int argc, char **argv)
{
    if (file_text != NULL) {
        write_file(f->path, file_text);
    }
    int argc_out = -1;
    proto_conf_free(&f->conf);
    return col_config_load(&f->cfg, &f->conf, file_text != NULL ? f->path : NULL, argc, argv, 1,
                           &argc_out, f->err, sizeof(f->err));
}

static void test_defaults_are_the_documented_ones(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, NULL, 0, NULL), PROTO_OK);
    const struct col_config *c = &f->cfg;
    assert_string_equal(c->listen, "127.0.0.1:8443");
    assert_string_equal(c->admin_listen, "127.0.0.1:8444");
    assert_string_equal(c->tls_cert, "");
    assert_string_equal(c->tls_key, "");
    assert_string_equal(c->client_ca, "");
    assert_string_equal(c->db, "rrasfleet.db");
    assert_int_equal(c->max_connections, 4096);
    assert_int_equal(c->max_body_bytes, 4194304);
    assert_int_equal(c->header_timeout_ms, 10000);
    assert_int_equal(c->body_timeout_ms, 30000);
    assert_int_equal(c->idle_timeout_ms, 60000);
    assert_int_equal(c->handshake_timeout_ms, 10000);
    assert_true(c->session_tickets);
    assert_string_equal(c->expected_ca, "");
    assert_int_equal(c->expiry_days, 30);
    assert_int_equal(c->next_interval_s, 300);
    assert_int_equal(c->max_clock_skew_s, 86400);
    assert_false(c->allow_readable_db);
    assert_int_equal(c->db_max_mb, 0);
    assert_int_equal(c->retention_days, 90);
    assert_int_equal(c->writer_queue_max, 10000);
    assert_int_equal(c->writer_batch_max, 256);
    assert_int_equal(c->wal_checkpoint_pages, 1000);
    assert_int_equal(c->known_snapshots, 131072);
    assert_true(c->event_keepalive);
    assert_string_equal(c->profile_signing_key, "");
    assert_string_equal(c->log_level, "info");
}

static void test_table_has_one_entry_per_member_with_distinct_offsets(void **state)
{
    (void)state;
    assert_int_equal(col_config_table_count, 28);
    for (size_t i = 0; i < col_config_table_count; i++) {
        const struct proto_conf_entry *e = &col_config_table[i];
        assert_non_null(e->description);
        assert_true(strlen(e->description) > 10);
        assert_true(e->offset < sizeof(struct col_config));
        for (size_t j = 0; j < i; j++) {
            assert_true(col_config_table[j].offset != e->offset);
            assert_string_not_equal(col_config_table[j].key, e->key);
        }
        if (e->type == PROTO_CONF_UINT) {
            assert_true(e->min <= e->max);
        }
        if (e->type == PROTO_CONF_STRING) {
            assert_true(e->offset + e->size <= sizeof(struct col_config));
        }
    }
}

static void test_limits_of_connections_and_body_are_enforced(void **state)
{
    struct fixture *f = *state;
    char *a1[] = {"serve", "--max-connections", "0"};
    assert_int_equal(load(f, NULL, 3, a1), PROTO_ELIMIT);
    char *a2[] = {"serve", "--max-connections=65537"};
    assert_int_equal(load(f, NULL, 2, a2), PROTO_ELIMIT);
    assert_string_equal(f->err,
                        "--max-connections: 'max_connections': expected 1..65536, got 65537");
    char *a3[] = {"serve", "--max-connections=65536", "--max-body-bytes", "1024"};
    assert_int_equal(load(f, NULL, 4, a3), PROTO_OK);
    assert_int_equal(f->cfg.max_connections, 65536);
    assert_int_equal(f->cfg.max_body_bytes, 1024);
    char *a4[] = {"serve", "--max-body-bytes", "1023"};
    assert_int_equal(load(f, NULL, 3, a4), PROTO_ELIMIT);
    char *a5[] = {"serve", "--max-body-bytes", "67108865"};
    assert_int_equal(load(f, NULL, 3, a5), PROTO_ELIMIT);
}

static void test_flags_override_the_file_and_positional_arguments_survive(void **state)
{
    struct fixture *f = *state;
    char *argv[] = {"serve", "--db", "/var/lib/flag.db", "extra", "--log-level=debug", NULL};
    int argc_out = -1;
    write_file(f->path, "db = /var/lib/file.db\nmax_connections = 100\nlog_level = warn\n");
    assert_int_equal(
        col_config_load(&f->cfg, &f->conf, f->path, 5, argv, 1, &argc_out, f->err, sizeof(f->err)),
        PROTO_OK);
    assert_string_equal(f->cfg.db, "/var/lib/flag.db");
    assert_int_equal(f->cfg.max_connections, 100);
    assert_string_equal(f->cfg.log_level, "debug");
    assert_int_equal(argc_out, 2);
    assert_string_equal(argv[1], "extra");
    assert_int_equal(f->conf.origins[5], PROTO_CONF_FROM_FLAG);    /* db */
    assert_int_equal(f->conf.origins[6], PROTO_CONF_FROM_FILE);    /* max_connections */
    assert_int_equal(f->conf.origins[0], PROTO_CONF_FROM_DEFAULT); /* listen */
}

static void test_unknown_key_in_the_file_is_refused_with_its_line(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "listen = 0.0.0.0:443\nlisten_port = 8443\n", 0, NULL), PROTO_EPARSE);
    assert_non_null(strstr(f->err, ":2: unknown key 'listen_port'"));
}

/* tls_gcm_accel (decision 006, superseded) is gone: an old file that still sets it is refused
 * with the key and line, so the operator deletes the line instead of believing it still acts. */
static void test_the_removed_tls_gcm_accel_key_is_refused_with_its_line(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "tls_gcm_accel = true\n", 0, NULL), PROTO_EPARSE);
    assert_non_null(strstr(f->err, ":1: unknown key 'tls_gcm_accel'"));
}

static void test_a_named_config_file_that_is_missing_is_an_error(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(col_config_load(&f->cfg, &f->conf, "/nonexistent/collector.conf", 0, NULL, 0,
                                     NULL, f->err, sizeof(f->err)),
                     PROTO_ENOTFOUND);
    assert_non_null(strstr(f->err, "/nonexistent/collector.conf"));
}

static void test_log_level_must_be_a_known_word(void **state)
{
    struct fixture *f = *state;
    char *argv[] = {"serve", "--log-level", "verbose"};
    assert_int_equal(load(f, NULL, 3, argv), PROTO_EPARSE);
    assert_string_equal(f->err, "'log_level': expected error, warn, info or debug, got 'verbose'");
    static const char *const ok[] = {"error", "warn", "info", "debug"};
    for (size_t i = 0; i < 4; i++) {
        char *a[] = {"serve", "--log-level", (char *)ok[i]};
        assert_int_equal(load(f, NULL, 3, a), PROTO_OK);
    }
}

static void test_listen_addresses_need_host_and_port(void **state)
{
    struct fixture *f = *state;
    static const char *const bad[] = {"8443", ":8443", "host:", "host:65536", "h:84x", "[::1]8443"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *a[] = {"serve", "--listen", (char *)bad[i]};
        assert_int_equal(load(f, NULL, 3, a), PROTO_EPARSE);
        assert_non_null(strstr(f->err, "'listen': expected HOST:PORT"));
    }
    char *good[] = {"serve", "--listen", "[::1]:8443", "--admin-listen", "0.0.0.0:0"};
    assert_int_equal(load(f, NULL, 5, good), PROTO_OK);
    assert_string_equal(f->cfg.listen, "[::1]:8443");
    assert_string_equal(f->cfg.admin_listen, "0.0.0.0:0"); /* port 0: the system picks one */
    char *admin[] = {"serve", "--admin-listen", "nohost"};
    assert_int_equal(load(f, NULL, 3, admin), PROTO_EPARSE);
    assert_non_null(strstr(f->err, "'admin_listen'"));
}

static void test_expected_ca_must_parse_as_a_dn(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "expected_ca = \"CN=Corp Root CA, O=Corp, C=DE\"\n", 0, NULL),
                     PROTO_OK);
    assert_string_equal(f->cfg.expected_ca, "CN=Corp Root CA, O=Corp, C=DE");
    assert_int_equal(load(f, "expected_ca = just words\n", 0, NULL), PROTO_EPARSE);
    assert_non_null(strstr(f->err, "'expected_ca': expected a DN"));
}

static void test_session_tickets_can_be_turned_off(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "session_tickets = off\n", 0, NULL), PROTO_OK);
    assert_false(f->cfg.session_tickets);
}

static void test_reference_doc_holds_the_generated_table(void **state)
{
    (void)state;
    char *table = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&table, &len);
    assert_non_null(mem);
    proto_conf_markdown(col_config_table, col_config_table_count, mem);
    assert_int_equal(fclose(mem), 0);
    char *doc = testutil_read(RRAS_SOURCE_DIR "/docs/collector-config.md", NULL);
    if (strstr(doc, table) == NULL) {
        fail_msg("docs/collector-config.md is out of step with col_config_table; regenerate it "
                 "(see the note at the top of the doc). Expected table:\n%s",
                 table);
    }
    free(doc);
    free(table);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults_are_the_documented_ones, setup, teardown),
        cmocka_unit_test(test_table_has_one_entry_per_member_with_distinct_offsets),
        cmocka_unit_test_setup_teardown(test_limits_of_connections_and_body_are_enforced, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_flags_override_the_file_and_positional_arguments_survive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_key_in_the_file_is_refused_with_its_line,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_the_removed_tls_gcm_accel_key_is_refused_with_its_line,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_named_config_file_that_is_missing_is_an_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_level_must_be_a_known_word, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listen_addresses_need_host_and_port, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expected_ca_must_parse_as_a_dn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_tickets_can_be_turned_off, setup, teardown),
        cmocka_unit_test(test_reference_doc_holds_the_generated_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
