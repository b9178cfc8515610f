/*
 * test_ctl: the pure parts of rrasfleetctl: command line -> request, flags/env/file settings,
 * and JSON answers -> aligned text.
 *
 * rrasfleetctl is an executable, not a library, and unit tests link libraries only, so this
 * test-only translation unit includes the curl-free ctl sources directly. Nothing else may do
 * this; http_client.c and main.c (libcurl) are left to the end-to-end tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../../collector/ctl/args.c"
#include "../../../collector/ctl/output.c"
#include "../../../collector/ctl/settings.c"

/* Stands in for curl_easy_escape: everything but ALPHA DIGIT - . _ ~ as %XX. */
static char *test_escape(void *ctx, const char *s)
{
    (void)ctx;
    static const char hex[] = "0123456789ABCDEF";
    char *out = proto_malloc(strlen(s) * 3 + 1);
    if (out == NULL) {
        return NULL;
    }
    char *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

/* ---- command line -> request ----------------------------------------------------------- */

struct built {
    struct col_ctl_options opts;
    struct col_ctl_request req;
    char err[256];
};

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void build_ok(struct built *b, int argc, char **argv)
{
    assert_int_equal(col_ctl_parse_args(argc, argv, &b->opts, b->err, sizeof(b->err)), PROTO_OK);
    assert_int_equal(
        col_ctl_build_request(&b->opts, test_escape, NULL, &b->req, b->err, sizeof(b->err)),
        PROTO_OK);
}

static void expect_usage(int argc, char **argv, const char *message)
{
    struct col_ctl_options opts;
    char err[256];
    assert_int_equal(col_ctl_parse_args(argc, argv, &opts, err, sizeof(err)), PROTO_EPARSE);
    assert_string_equal(err, message);
}

static void test_hosts_filters_become_query_parameters_in_a_fixed_order(void **state)
{
    (void)state;
    char *argv[] = {"rrasfleetctl",
                    "hosts",
                    "--offset",
                    "20",
                    "--limit",
                    "10",
                    "--severity",
                    "high",
                    "--finding",
                    "L2TP_CERT_WRONG_CA",
                    "--name",
                    "vpn*",
                    "--sort",
                    "fqdn",
                    "--desc",
                    "--expiring-within",
                    "30",
                    "--last-seen-before",
                    "2024-05-01T00:00:00Z",
                    "--issuer",
                    "Corp"};
    struct built b;
    build_ok(&b, ARGC(argv), argv);
    assert_int_equal(b.req.method, COL_CTL_GET);
    assert_true(b.req.list);
    assert_false(b.req.accept_csv);
    assert_null(b.req.body);
    assert_string_equal(b.req.path,
                        "/v1/hosts?finding=L2TP_CERT_WRONG_CA&severity=high&name=vpn%2A"
                        "&expiring_within_days=30&issuer=Corp"
                        "&last_seen_before=2024-05-01T00%3A00%3A00Z&sort=fqdn&order=desc"
                        "&limit=10&offset=20");
    col_ctl_request_free(&b.req);
}

static void test_query_values_are_percent_encoded(void **state)
{
    (void)state;
    char *argv[] = {"rrasfleetctl", "certs", "--issuer=CN=Corp CA, O=A&B #1"};
    struct built b;
    build_ok(&b, ARGC(argv), argv);
    assert_string_equal(b.req.path, "/v1/certs?issuer=CN%3DCorp%20CA%2C%20O%3DA%26B%20%231");
    col_ctl_request_free(&b.req);
}

static void test_lists_without_filters_have_no_query(void **state)
{
    (void)state;
    char *argv[] = {"rrasfleetctl", "hosts"};
    struct built b;
    build_ok(&b, ARGC(argv), argv);
    assert_string_equal(b.req.path, "/v1/hosts");
    col_ctl_request_free(&b.req);
}

static void test_certs_expiring_asks_for_expiring_within_days(void **state)
{
    (void)state;
    char *argv[] = {"rrasfleetctl", "certs", "--expiring", "30"};
    struct built b;
    build_ok(&b, ARGC(argv), argv);
    assert_string_equal(b.req.path, "/v1/certs?expiring_within_days=30");
    assert_true(b.req.list);
    col_ctl_request_free(&b.req);
}

static void test_summary_and_host_address_their_resources(void **state)
{
    (void)state;
    char *a1[] = {"rrasfleetctl", "summary"};
    struct built b;
    build_ok(&b, ARGC(a1), a1);
    assert_string_equal(b.req.path, "/v1/fleet/summary");
    assert_false(b.req.list);
    col_ctl_request_free(&b.req);
    char *a2[] = {"rrasfleetctl", "host", "vpn1.corp.example"};
    build_ok(&b, ARGC(a2), a2);
    assert_string_equal(b.req.path, "/v1/hosts/vpn1.corp.example");
    col_ctl_request_free(&b.req);
    char *a3[] = {"rrasfleetctl", "host", "a/../b?c"};
    build_ok(&b, ARGC(a3), a3);
    assert_string_equal(b.req.path, "/v1/hosts/a%2F..%2Fb%3Fc"); /* cannot leave the resource */
    col_ctl_request_free(&b.req);
}

static void test_token_commands_map_to_post_get_and_delete(void **state)
{
    (void)state;
    struct built b;
    char *create[] = {"rrasfleetctl", "token",  "create",      "--role",
                      "operator",     "--name", "ops \"desk\""};
    build_ok(&b, ARGC(create), create);
    assert_int_equal(b.req.method, COL_CTL_POST);
    assert_string_equal(b.req.path, "/v1/tokens");
    assert_string_equal(b.req.body, "{\"role\":\"operator\",\"name\":\"ops \\\"desk\\\"\"}");
    col_ctl_request_free(&b.req);
    char *list[] = {"rrasfleetctl", "token", "list", "--csv"};
    build_ok(&b, ARGC(list), list);
    assert_int_equal(b.req.method, COL_CTL_GET);
    assert_string_equal(b.req.path, "/v1/tokens");
    assert_true(b.req.list);
    assert_true(b.req.accept_csv);
    col_ctl_request_free(&b.req);
    char *revoke[] = {"rrasfleetctl", "token", "revoke", "tok_01"};
    build_ok(&b, ARGC(revoke), revoke);
    assert_int_equal(b.req.method, COL_CTL_DELETE);
    assert_string_equal(b.req.path, "/v1/tokens/tok_01");
    assert_string_equal(col_ctl_method_str(b.req.method), "DELETE");
    col_ctl_request_free(&b.req);
}

static void test_profile_create_posts_the_host_mode_and_expiry(void **state)
{
    (void)state;
    struct built b;
    char *create[] = {"rrasfleetctl",
                      "profile",
                      "create",
                      "--for",
                      "rras01.corp.contoso.com",
                      "--server-address",
                      "10.0.0.5",
                      "--mode",
                      "dry-run",
                      "--expires-in",
                      "72h"};
    build_ok(&b, ARGC(create), create);
    assert_int_equal(b.req.method, COL_CTL_POST);
    assert_string_equal(b.req.path, "/v1/profiles");
    assert_string_equal(b.req.body, "{\"host\":\"rras01.corp.contoso.com\","
                                    "\"server_address\":\"10.0.0.5\",\"mode\":\"dry_run\","
                                    "\"expires_in_s\":259200}");
    col_ctl_request_free(&b.req);
    char *plain[] = {"rrasfleetctl", "profile", "create", "--for", "vpn1"};
    build_ok(&b, ARGC(plain), plain);
    assert_string_equal(b.req.body, "{\"host\":\"vpn1\"}"); /* the server's defaults */
    col_ctl_request_free(&b.req);
}

static void test_profile_show_list_assign_and_cancel_address_their_resources(void **state)
{
    (void)state;
    struct built b;
    char *show[] = {"rrasfleetctl", "profile", "show", "0b6c1f2e-8a55", "--envelope"};
    build_ok(&b, ARGC(show), show);
    assert_int_equal(b.req.method, COL_CTL_GET);
    assert_string_equal(b.req.path, "/v1/profiles/0b6c1f2e-8a55?envelope=1");
    col_ctl_request_free(&b.req);
    char *show2[] = {"rrasfleetctl", "profile", "show", "a/b"};
    build_ok(&b, ARGC(show2), show2);
    assert_string_equal(b.req.path, "/v1/profiles/a%2Fb");
    col_ctl_request_free(&b.req);
    char *list[] = {"rrasfleetctl", "profile", "list",     "--host",
                    "vpn 1",        "--state", "assigned", "--csv"};
    build_ok(&b, ARGC(list), list);
    assert_string_equal(b.req.path, "/v1/profiles?host=vpn%201&state=assigned&format=csv");
    assert_true(b.req.list);
    assert_true(b.req.accept_csv);
    col_ctl_request_free(&b.req);
    char *all[] = {"rrasfleetctl", "profile", "list"};
    build_ok(&b, ARGC(all), all);
    assert_string_equal(b.req.path, "/v1/profiles");
    col_ctl_request_free(&b.req);
    char *assign[] = {"rrasfleetctl", "profile", "assign", "p1"};
    build_ok(&b, ARGC(assign), assign);
    assert_int_equal(b.req.method, COL_CTL_POST);
    assert_string_equal(b.req.path, "/v1/profiles/p1/assign");
    col_ctl_request_free(&b.req);
    char *cancel[] = {"rrasfleetctl", "profile", "cancel", "p1"};
    build_ok(&b, ARGC(cancel), cancel);
    assert_int_equal(b.req.method, COL_CTL_POST);
    assert_string_equal(b.req.path, "/v1/profiles/p1/cancel");
    col_ctl_request_free(&b.req);
}

static void test_profile_commands_check_their_options(void **state)
{
    (void)state;
    char *no_for[] = {"rrasfleetctl", "profile", "create"};
    expect_usage(ARGC(no_for), no_for, "profile create needs --for FQDN");
    char *mode[] = {"rrasfleetctl", "profile", "create", "--for", "h", "--mode", "yolo"};
    expect_usage(ARGC(mode), mode, "--mode: expected dry-run or apply, got 'yolo'");
    char *exp[] = {"rrasfleetctl", "profile", "create", "--for", "h", "--expires-in", "3w"};
    expect_usage(ARGC(exp), exp,
                 "--expires-in: expected a duration like 72h, 3d, 90m or 3600s, got '3w'");
    char *wrong[] = {"rrasfleetctl", "profile", "list", "--for", "h"};
    expect_usage(ARGC(wrong), wrong, "--for applies to profile create only");
    char *env[] = {"rrasfleetctl", "profile", "list", "--envelope"};
    expect_usage(ARGC(env), env, "--envelope applies to profile show only");
    char *state_opt[] = {"rrasfleetctl", "hosts", "--state", "applied"};
    expect_usage(ARGC(state_opt), state_opt, "--state applies to profile list only");
    char *no_id[] = {"rrasfleetctl", "profile", "assign"};
    expect_usage(ARGC(no_id), no_id, "'profile assign' needs a profile ID");
    char *sub[] = {"rrasfleetctl", "profile", "apply", "x"};
    expect_usage(ARGC(sub), sub,
                 "unknown profile subcommand 'apply' (create, show, list, assign, cancel)");
    char *csv[] = {"rrasfleetctl", "profile", "show", "x", "--csv"};
    expect_usage(ARGC(csv), csv, "--csv applies to hosts, certs, token list and profile list only");
}

static void test_durations_take_a_unit_or_seconds(void **state)
{
    (void)state;
    unsigned long s = 0;
    assert_int_equal(col_ctl_parse_duration("72h", &s), PROTO_OK);
    assert_int_equal(s, 259200);
    assert_int_equal(col_ctl_parse_duration("3d", &s), PROTO_OK);
    assert_int_equal(s, 259200);
    assert_int_equal(col_ctl_parse_duration("90m", &s), PROTO_OK);
    assert_int_equal(s, 5400);
    assert_int_equal(col_ctl_parse_duration("3600", &s), PROTO_OK);
    assert_int_equal(s, 3600);
    assert_int_equal(col_ctl_parse_duration("60s", &s), PROTO_OK);
    assert_int_equal(s, 60);
    assert_int_equal(col_ctl_parse_duration("-1h", &s), PROTO_EPARSE);
    assert_int_equal(col_ctl_parse_duration("1hh", &s), PROTO_EPARSE);
    assert_int_equal(col_ctl_parse_duration("h", &s), PROTO_EPARSE);
    assert_int_equal(col_ctl_parse_duration("99999999999d", &s), PROTO_EPARSE);
}

static void test_global_options_may_come_before_or_after_the_command(void **state)
{
    (void)state;
    char *argv[] = {"rrasfleetctl", "--url",    "https://a:1", "hosts",    "--token=T",
                    "--json",       "--cacert", "/ca.pem",     "--config", "/c.conf"};
    struct built b;
    build_ok(&b, ARGC(argv), argv);
    assert_int_equal(b.opts.command, COL_CTL_CMD_HOSTS);
    assert_string_equal(b.opts.url, "https://a:1");
    assert_string_equal(b.opts.token, "T");
    assert_string_equal(b.opts.cacert, "/ca.pem");
    assert_string_equal(b.opts.config, "/c.conf");
    assert_int_equal(b.opts.format, COL_CTL_FORMAT_JSON);
    col_ctl_request_free(&b.req);
}

static void test_csv_asks_with_the_accept_header(void **state)
{
    (void)state;
    char *argv[] = {"rrasfleetctl", "certs", "--csv", "--limit=5"};
    struct built b;
    build_ok(&b, ARGC(argv), argv);
    assert_true(b.req.accept_csv);
    assert_string_equal(b.req.path, "/v1/certs?limit=5");
    col_ctl_request_free(&b.req);
}

static void test_help_and_version_need_no_server(void **state)
{
    (void)state;
    struct col_ctl_options o;
    char err[128];
    char *a2[] = {"rrasfleetctl", "hosts", "--help"};
    assert_int_equal(col_ctl_parse_args(ARGC(a2), a2, &o, err, sizeof(err)), PROTO_OK);
    assert_int_equal(o.command, COL_CTL_CMD_HELP);
    char *a3[] = {"rrasfleetctl", "-h"};
    assert_int_equal(col_ctl_parse_args(ARGC(a3), a3, &o, err, sizeof(err)), PROTO_OK);
    assert_int_equal(o.command, COL_CTL_CMD_HELP);
    char *a4[] = {"rrasfleetctl", "version"};
    assert_int_equal(col_ctl_parse_args(ARGC(a4), a4, &o, err, sizeof(err)), PROTO_OK);
    assert_int_equal(o.command, COL_CTL_CMD_VERSION);
    struct col_ctl_request req;
    assert_int_equal(col_ctl_build_request(&o, test_escape, NULL, &req, err, sizeof(err)),
                     PROTO_EINVAL);
}

static void test_usage_errors_say_what_is_wrong(void **state)
{
    (void)state;
    char *none[] = {"rrasfleetctl"};
    expect_usage(ARGC(none), none, "missing command (try 'rrasfleetctl help')");
    char *cmd[] = {"rrasfleetctl", "hostz"};
    expect_usage(ARGC(cmd), cmd, "unknown command 'hostz' (try 'rrasfleetctl help')");
    char *opt[] = {"rrasfleetctl", "hosts", "--colour", "red"};
    expect_usage(ARGC(opt), opt, "unknown option '--colour'");
    char *single[] = {"rrasfleetctl", "hosts", "-v"};
    expect_usage(ARGC(single), single, "unknown option '-v'");
    char *value[] = {"rrasfleetctl", "hosts", "--limit"};
    expect_usage(ARGC(value), value, "--limit needs a value");
    char *flagval[] = {"rrasfleetctl", "hosts", "--sort", "--desc"};
    expect_usage(ARGC(flagval), flagval, "--sort needs a value");
    char *empty[] = {"rrasfleetctl", "hosts", "--name="};
    expect_usage(ARGC(empty), empty, "--name: empty value");
    char *novalue[] = {"rrasfleetctl", "hosts", "--desc=yes"};
    expect_usage(ARGC(novalue), novalue, "--desc takes no value");
    char *both[] = {"rrasfleetctl", "hosts", "--json", "--csv"};
    expect_usage(ARGC(both), both, "--json and --csv exclude each other");
    char *csv[] = {"rrasfleetctl", "summary", "--csv"};
    expect_usage(ARGC(csv), csv, "--csv applies to hosts, certs, token list and profile list only");
    char *filter[] = {"rrasfleetctl", "summary", "--severity", "high"};
    expect_usage(ARGC(filter), filter, "--severity applies to hosts and certs only");
    char *filter2[] = {"rrasfleetctl", "token", "create",  "--role", "viewer",
                       "--name",       "n",     "--limit", "3"};
    expect_usage(ARGC(filter2), filter2, "--limit applies to hosts and certs only");
    char *name[] = {"rrasfleetctl", "token", "list", "--name", "x"};
    expect_usage(ARGC(name), name, "--name applies to hosts, certs and token create only");
    char *role[] = {"rrasfleetctl", "hosts", "--role", "viewer"};
    expect_usage(ARGC(role), role, "--role applies to token create only");
}

static void test_commands_check_their_arguments(void **state)
{
    (void)state;
    char *host[] = {"rrasfleetctl", "host"};
    expect_usage(ARGC(host), host, "'host' needs a host FQDN");
    char *extra[] = {"rrasfleetctl", "host", "a", "b"};
    expect_usage(ARGC(extra), extra, "unexpected argument 'b'");
    char *sum[] = {"rrasfleetctl", "summary", "now"};
    expect_usage(ARGC(sum), sum, "unexpected argument 'now'");
    char *token[] = {"rrasfleetctl", "token"};
    expect_usage(ARGC(token), token, "'token' needs a subcommand: create, list or revoke");
    char *sub[] = {"rrasfleetctl", "token", "rotate"};
    expect_usage(ARGC(sub), sub, "unknown token subcommand 'rotate' (create, list, revoke)");
    char *revoke[] = {"rrasfleetctl", "token", "revoke"};
    expect_usage(ARGC(revoke), revoke, "'token revoke' needs a token ID");
    char *create[] = {"rrasfleetctl", "token", "create", "--role", "viewer"};
    expect_usage(ARGC(create), create, "token create needs --role R and --name NAME");
    char *badrole[] = {"rrasfleetctl", "token", "create", "--role", "admin", "--name", "x"};
    expect_usage(ARGC(badrole), badrole,
                 "--role: expected viewer, operator or approver, got 'admin'");
    char *limit[] = {"rrasfleetctl", "hosts", "--limit", "-5"};
    expect_usage(ARGC(limit), limit, "--limit: expected a whole number, got '-5'");
    char *offset[] = {"rrasfleetctl", "hosts", "--offset=ten"};
    expect_usage(ARGC(offset), offset, "--offset: expected a whole number, got 'ten'");
    char *days[] = {"rrasfleetctl", "certs", "--expiring", "99999999999999999999999"};
    expect_usage(ARGC(days), days,
                 "--expiring-within: expected a whole number, got '99999999999999999999999'");
    char *when[] = {"rrasfleetctl", "hosts", "--last-seen-before", "yesterday"};
    expect_usage(ARGC(when), when,
                 "--last-seen-before: expected RFC 3339 like 2024-05-01T00:00:00Z, got "
                 "'yesterday'");
    char *fqdn[] = {"rrasfleetctl", "host", ""};
    expect_usage(ARGC(fqdn), fqdn, "host: the FQDN is empty");
}

static void test_double_dash_makes_the_rest_positional(void **state)
{
    (void)state;
    char *argv[] = {"rrasfleetctl", "host", "--", "--odd-name"};
    struct built b;
    build_ok(&b, ARGC(argv), argv);
    assert_string_equal(b.req.path, "/v1/hosts/--odd-name");
    col_ctl_request_free(&b.req);
}

static void test_request_longer_than_the_path_cap_is_refused(void **state)
{
    (void)state;
    char issuer[4000];
    memset(issuer, ',', sizeof(issuer) - 1); /* each becomes %2C: 3 x 3999 > 8192 */
    issuer[sizeof(issuer) - 1] = '\0';
    char *argv[] = {"rrasfleetctl", "hosts", "--issuer", issuer};
    struct col_ctl_options o;
    struct col_ctl_request req;
    char err[128];
    assert_int_equal(col_ctl_parse_args(ARGC(argv), argv, &o, err, sizeof(err)), PROTO_OK);
    assert_int_equal(col_ctl_build_request(&o, test_escape, NULL, &req, err, sizeof(err)),
                     PROTO_ELIMIT);
    assert_string_equal(err, "the request is longer than 8192 bytes");
    assert_null(req.path);
}

static void test_build_request_survives_allocation_failures(void **state)
{
    (void)state;
    char *argv[] = {"rrasfleetctl", "token", "create", "--role", "viewer", "--name", "n"};
    struct col_ctl_options o;
    char err[128];
    assert_int_equal(col_ctl_parse_args(ARGC(argv), argv, &o, err, sizeof(err)), PROTO_OK);
    proto_alloc_install_cjson_hooks();
    for (unsigned long n = 1; n < 20; n++) {
        struct col_ctl_request req;
        proto_alloc_fail_after(n);
        enum proto_rc rc = col_ctl_build_request(&o, test_escape, NULL, &req, err, sizeof(err));
        proto_alloc_fail_after(0);
        if (rc == PROTO_OK) {
            col_ctl_request_free(&req);
            return;
        }
        assert_int_equal(rc, PROTO_ENOMEM);
        assert_null(req.path);
        assert_null(req.body);
    }
    fail_msg("never succeeded");
}

/* ---- settings ---------------------------------------------------------------------------- */

struct settings_fixture {
    char path[64];
    struct col_ctl_options opts;
    struct col_ctl_env env;
    struct col_ctl_settings s;
    char err[256];
};

static int settings_setup(void **state)
{
    struct settings_fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    int n = snprintf(f->path, sizeof(f->path), "/tmp/test_ctl.%ld.conf", (long)getpid());
    assert_true(n > 0 && (size_t)n < sizeof(f->path));
    *state = f;
    return 0;
}

static int settings_teardown(void **state)
{
    struct settings_fixture *f = *state;
    unlink(f->path);
    free(f);
    return 0;
}

static void write_conf(struct settings_fixture *f, const char *text, mode_t mode)
{
    FILE *fp = fopen(f->path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(chmod(f->path, mode), 0);
}

static enum proto_rc resolve(struct settings_fixture *f)
{
    return col_ctl_settings_resolve(&f->opts, &f->env, &f->s, f->err, sizeof(f->err));
}

static void test_file_supplies_url_token_and_cacert(void **state)
{
    struct settings_fixture *f = *state;
    write_conf(f, "url = https://collector:8444/\ntoken = file-token\ncacert = /etc/ca.pem\n",
               0600);
    f->opts.config = f->path;
    assert_int_equal(resolve(f), PROTO_OK);
    assert_string_equal(f->s.url, "https://collector:8444"); /* trailing '/' dropped */
    assert_string_equal(f->s.token, "file-token");
    assert_string_equal(f->s.cacert, "/etc/ca.pem");
    assert_false(f->s.token_file_readable_by_others);
}

static void test_environment_beats_file_and_flags_beat_both(void **state)
{
    struct settings_fixture *f = *state;
    write_conf(f, "url = https://file:1\ntoken = file-token\ncacert = /file.pem\n", 0600);
    f->env.default_config = f->path;
    f->env.url = "https://env:2";
    f->env.token = "env-token";
    f->opts.token = "flag-token";
    assert_int_equal(resolve(f), PROTO_OK);
    assert_string_equal(f->s.url, "https://env:2");
    assert_string_equal(f->s.token, "flag-token");
    assert_string_equal(f->s.cacert, "/file.pem");
    f->opts.url = "https://flag:3";
    f->env.cacert = "/env.pem";
    assert_int_equal(resolve(f), PROTO_OK);
    assert_string_equal(f->s.url, "https://flag:3");
    assert_string_equal(f->s.cacert, "/env.pem");
}

static void test_empty_environment_values_are_ignored(void **state)
{
    struct settings_fixture *f = *state;
    write_conf(f, "url = https://file:1\ntoken = t\n", 0600);
    f->env.default_config = f->path;
    f->env.url = "";
    assert_int_equal(resolve(f), PROTO_OK);
    assert_string_equal(f->s.url, "https://file:1");
}

static void test_missing_default_file_is_fine_but_a_named_one_is_not(void **state)
{
    struct settings_fixture *f = *state;
    f->env.default_config = "/nonexistent/rrasfleetctl.conf";
    f->opts.url = "https://x:1";
    f->opts.token = "t";
    assert_int_equal(resolve(f), PROTO_OK);
    f->opts.config = "/nonexistent/named.conf";
    assert_int_equal(resolve(f), PROTO_ENOTFOUND);
    assert_non_null(strstr(f->err, "/nonexistent/named.conf"));
}

static void test_missing_url_or_token_is_reported_with_where_to_set_it(void **state)
{
    struct settings_fixture *f = *state;
    assert_int_equal(resolve(f), PROTO_EMISSING);
    assert_string_equal(f->err,
                        "no collector URL: use --url, RRASFLEET_URL or url= in the config file");
    f->opts.url = "https://x:1";
    assert_int_equal(resolve(f), PROTO_EMISSING);
    assert_string_equal(f->err,
                        "no token: use --token, RRASFLEET_TOKEN or token= in the config file");
}

static void test_plain_http_and_odd_urls_are_refused(void **state)
{
    struct settings_fixture *f = *state;
    f->opts.token = "t";
    f->opts.url = "http://x:8444";
    assert_int_equal(resolve(f), PROTO_EPARSE);
    assert_non_null(strstr(f->err, "must start with https://"));
    f->opts.url = "https://";
    assert_int_equal(resolve(f), PROTO_EPARSE);
    f->opts.url = "https://x:1/?q=1";
    assert_int_equal(resolve(f), PROTO_EPARSE);
    f->opts.url = "HTTPS://x:1";
    assert_int_equal(resolve(f), PROTO_OK);
}

static void test_token_that_could_break_the_header_is_refused(void **state)
{
    struct settings_fixture *f = *state;
    f->opts.url = "https://x:1";
    f->opts.token = "abc\r\nX-Evil: 1";
    assert_int_equal(resolve(f), PROTO_EPARSE);
    assert_string_equal(f->err, "the token holds blanks or control characters");
    f->opts.token = "with space";
    assert_int_equal(resolve(f), PROTO_EPARSE);
}

static void test_token_in_a_file_readable_by_others_is_flagged(void **state)
{
    struct settings_fixture *f = *state;
    write_conf(f, "url = https://x:1\ntoken = secret\n", 0644);
    f->opts.config = f->path;
    assert_int_equal(resolve(f), PROTO_OK);
    assert_true(f->s.token_file_readable_by_others);
    f->opts.token = "from-flag"; /* the file's token is not used: no warning */
    assert_int_equal(resolve(f), PROTO_OK);
    assert_false(f->s.token_file_readable_by_others);
}

static void test_bad_config_file_line_is_reported(void **state)
{
    struct settings_fixture *f = *state;
    write_conf(f, "url = https://x:1\nserver = y\n", 0600);
    f->opts.config = f->path;
    assert_int_equal(resolve(f), PROTO_EPARSE);
    assert_non_null(strstr(f->err, ":2: unknown key 'server'"));
}

/* ---- output ------------------------------------------------------------------------------- */

static char *render(const char *json, char *footer, size_t footer_size, enum proto_rc expect)
{
    struct proto_buf out;
    proto_buf_init(&out, 1u << 20);
    char local[128];
    if (footer == NULL) {
        footer = local;
        footer_size = sizeof(local);
    }
    assert_int_equal(col_ctl_render(json, strlen(json), &out, footer, footer_size), expect);
    char *text = proto_buf_detach(&out, NULL);
    assert_non_null(text);
    return text;
}

static void test_items_become_an_aligned_table_with_keys_in_first_seen_order(void **state)
{
    (void)state;
    const char *json = "{\"items\":["
                       "{\"fqdn\":\"vpn1.corp.example\",\"certs\":12,\"at_risk\":true},"
                       "{\"fqdn\":\"vpn22\",\"certs\":3,\"at_risk\":false,\"site\":\"Berlin\"},"
                       "{\"certs\":null,\"fqdn\":\"x\"}"
                       "],\"total\":3,\"limit\":50,\"offset\":0}";
    char footer[128];
    char *text = render(json, footer, sizeof(footer), PROTO_OK);
    assert_string_equal(text, "FQDN               CERTS  AT_RISK  SITE\n"
                              "vpn1.corp.example  12     true     \n"
                              "vpn22              3      false    Berlin\n"
                              "x                  -               \n");
    assert_string_equal(footer, ""); /* the whole result is shown */
    proto_free(text);
}

static void test_numbers_nested_values_and_scalar_items_are_shown_plainly(void **state)
{
    (void)state;
    char *text =
        render("{\"items\":[{\"n\":1.5,\"big\":1e300,\"tags\":[\"a\",1],\"o\":{\"k\":2}}]}", NULL,
               0, PROTO_OK);
    assert_string_equal(text, "N    BIG                      TAGS     O\n"
                              "1.5  1.0000000000000001e+300  [\"a\",1]  {\"k\":2}\n");
    proto_free(text);
    text = render("[\"alpha\",2]", NULL, 0, PROTO_OK);
    assert_string_equal(text, "VALUE\nalpha\n2\n");
    proto_free(text);
}

static void test_empty_list_says_so(void **state)
{
    (void)state;
    char footer[128];
    char *text = render("{\"items\":[],\"total\":0,\"limit\":50,\"offset\":0}", footer,
                        sizeof(footer), PROTO_OK);
    assert_string_equal(text, "(no items)\n");
    assert_string_equal(footer, "");
    proto_free(text);
    text = render("{\"items\":[],\"total\":7,\"limit\":50,\"offset\":100}", footer, sizeof(footer),
                  PROTO_OK);
    assert_string_equal(footer, "showing none of 7 (offset 100)");
    proto_free(text);
}

static void test_a_page_of_a_larger_result_gets_a_footer(void **state)
{
    (void)state;
    char footer[128];
    char *text = render("{\"items\":[{\"a\":1},{\"a\":2}],\"total\":120,\"limit\":2,\"offset\":50}",
                        footer, sizeof(footer), PROTO_OK);
    assert_string_equal(footer, "showing 51-52 of 120");
    proto_free(text);
}

static void test_server_text_cannot_drive_the_terminal(void **state)
{
    (void)state;
    char *text = render("{\"items\":[{\"subject\":\"CN=\\u001b[31mred\\u0007\\n\\u009b2J\"}]}",
                        NULL, 0, PROTO_OK);
    assert_null(strchr(text, '\x1b'));
    assert_null(strchr(text, '\a'));
    assert_null(strstr(text, "\xC2\x9B"));
    assert_string_equal(text, "SUBJECT\nCN=?[31mred???2J\n");
    proto_free(text);
}

static void test_long_cells_are_cut_at_character_boundaries(void **state)
{
    (void)state;
    char json[512];
    char value[300];
    for (size_t i = 0; i < 70; i++) {
        memcpy(value + 2 * i, "\xC3\xA9", 2); /* e-acute, two bytes, one character */
    }
    value[140] = '\0';
    int n = snprintf(json, sizeof(json), "{\"items\":[{\"v\":\"%s\"}]}", value);
    assert_true(n > 0 && (size_t)n < sizeof(json));
    char *text = render(json, NULL, 0, PROTO_OK);
    char expected[512];
    n = snprintf(expected, sizeof(expected), "V\n%.*s...\n", 2 * (COL_CTL_MAX_CELL - 3), value);
    assert_true(n > 0 && (size_t)n < sizeof(expected));
    assert_string_equal(text, expected);
    proto_free(text);
}

static void test_summary_object_becomes_aligned_key_value_lines(void **state)
{
    (void)state;
    char *text = render("{\"hosts\":120,\"hosts_at_risk\":7,"
                        "\"by_severity\":{\"critical\":2,\"high\":5},"
                        "\"by_finding\":{},\"last_report_at\":null}",
                        NULL, 0, PROTO_OK);
    assert_string_equal(text, "hosts                 120\n"
                              "hosts_at_risk         7\n"
                              "by_severity.critical  2\n"
                              "by_severity.high      5\n"
                              "by_finding            {}\n"
                              "last_report_at        -\n");
    proto_free(text);
}

static void test_host_detail_shows_fields_then_tables_for_lists(void **state)
{
    (void)state;
    char *text = render("{\"host\":{\"fqdn\":\"vpn1\",\"os\":\"2019\"},"
                        "\"snapshot\":{\"certs\":[{\"sha1\":\"AB\"}],\"errors\":[],"
                        "\"rules\":[\"r1\",\"r2\"]},"
                        "\"findings\":[{\"id\":\"WRONG_CERT\",\"severity\":\"high\"}],"
                        "\"history\":[]}",
                        NULL, 0, PROTO_OK);
    assert_string_equal(text, "host.fqdn        vpn1\n"
                              "host.os          2019\n"
                              "snapshot.certs   [1 item]\n"
                              "snapshot.errors  -\n"
                              "snapshot.rules   r1, r2\n"
                              "history          -\n"
                              "\n"
                              "FINDINGS (1)\n"
                              "  ID          SEVERITY\n"
                              "  WRONG_CERT  high\n");
    proto_free(text);
}

static void test_host_with_profiles_shows_their_table_and_their_results(void **state)
{
    (void)state;
    char *text = render("{\"host\":{\"fqdn\":\"vpn1\"},"
                        "\"profiles\":[{\"profile_id\":\"p1\",\"serial\":1,\"mode\":\"apply\","
                        "\"state\":\"applied\",\"reason\":[\"A\",\"B\"],"
                        "\"results\":[{\"result_id\":\"r1\",\"outcome\":\"applied\","
                        "\"reason\":\"\",\"finished_at\":\"2026-01-01T00:00:00Z\","
                        "\"received_at\":\"x\",\"steps\":[],\"findings_before\":[\"A\",\"B\"],"
                        "\"findings_after\":[]}]}]}",
                        NULL, 0, PROTO_OK);
    assert_string_equal(text, "host.fqdn  vpn1\n"
                              "\n"
                              "PROFILES (1)\n"
                              "  PROFILE_ID  SERIAL  MODE   STATE    REASON\n"
                              "  p1          1       apply  applied  A B\n"
                              "\n"
                              "PROFILE_RESULTS (1)\n"
                              "  PROFILE_ID  RESULT_ID  OUTCOME  FINISHED_AT           REASON  "
                              "FINDINGS_BEFORE  FINDINGS_AFTER\n"
                              "  p1          r1         applied  2026-01-01T00:00:00Z          "
                              "A B              none\n");
    proto_free(text);
    /* Without the member nothing about profiles is printed. */
    text = render("{\"host\":{\"fqdn\":\"vpn1\"}}", NULL, 0, PROTO_OK);
    assert_string_equal(text, "host.fqdn  vpn1\n");
    proto_free(text);
}

static void test_a_refused_whatif_names_the_findings_that_would_remain(void **state)
{
    (void)state;
    char line[256];
    const char *body = "{\"error\":{\"code\":\"whatif_refused\",\"message\":\"would not clear\","
                       "\"field\":\"host\"},\"findings_after\":[\"MANUAL_RULE_NO_CERT\"]}";
    assert_int_equal(col_ctl_whatif_refusal(body, strlen(body), line, sizeof(line)), PROTO_OK);
    assert_string_equal(line, "findings that would remain: MANUAL_RULE_NO_CERT");
    const char *other = "{\"error\":{\"code\":\"not_found\",\"message\":\"no host\"}}";
    assert_int_equal(col_ctl_whatif_refusal(other, strlen(other), line, sizeof(line)),
                     PROTO_ENOTFOUND);
}

static void test_deep_objects_stop_flattening(void **state)
{
    (void)state;
    char *text = render("{\"a\":{\"b\":{\"c\":{\"d\":1}}}}", NULL, 0, PROTO_OK);
    assert_string_equal(text, "a.b.c  {\"d\":1}\n");
    proto_free(text);
}

static void test_answer_that_is_not_json_is_a_parse_error(void **state)
{
    (void)state;
    char *text = render("<html>oops</html>", NULL, 0, PROTO_EPARSE);
    assert_string_equal(text, "");
    proto_free(text);
}

static void test_render_survives_allocation_failures(void **state)
{
    (void)state;
    const char *json = "{\"items\":[{\"a\":\"x\",\"b\":[1,2]},{\"a\":\"y\"}],\"total\":9}";
    proto_alloc_install_cjson_hooks();
    for (unsigned long n = 1; n < 200; n++) {
        struct proto_buf out;
        proto_buf_init(&out, 4096);
        char footer[64];
        proto_alloc_fail_after(n);
        enum proto_rc rc = col_ctl_render(json, strlen(json), &out, footer, sizeof(footer));
        proto_alloc_fail_after(0);
        proto_buf_free(&out);
        if (rc == PROTO_OK) {
            return;
        }
        /* cJSON reports its own allocation failure as a parse failure */
        assert_true(rc == PROTO_ENOMEM || rc == PROTO_EPARSE);
    }
    fail_msg("never succeeded");
}

static void test_api_error_document_becomes_one_clear_line(void **state)
{
    (void)state;
    char msg[256];
    const char *body = "{\"error\":{\"code\":\"invalid_query\",\"message\":\"unknown sort column\","
                       "\"field\":\"sort\"}}";
    col_ctl_error_message(400, body, strlen(body), msg, sizeof(msg));
    assert_string_equal(msg, "HTTP 400 invalid_query: unknown sort column (field: sort)");
    body = "{\"error\":{\"code\":\"not_found\",\"message\":\"no host 'x'\"}}";
    col_ctl_error_message(404, body, strlen(body), msg, sizeof(msg));
    assert_string_equal(msg, "HTTP 404 not_found: no host 'x'");
}

static void test_other_error_bodies_are_shown_cleaned_and_short(void **state)
{
    (void)state;
    char msg[512];
    const char *body = "<html>\r\n<body>Bad Gateway\x1b[2J</body></html>";
    col_ctl_error_message(502, body, strlen(body), msg, sizeof(msg));
    assert_string_equal(msg, "HTTP 502: <html>  <body>Bad Gateway?[2J</body></html>");
    col_ctl_error_message(500, "", 0, msg, sizeof(msg));
    assert_string_equal(msg, "HTTP 500");
    char big[1000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    col_ctl_error_message(503, big, strlen(big), msg, sizeof(msg));
    assert_int_equal(strlen(msg), strlen("HTTP 503: ") + 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hosts_filters_become_query_parameters_in_a_fixed_order),
        cmocka_unit_test(test_query_values_are_percent_encoded),
        cmocka_unit_test(test_lists_without_filters_have_no_query),
        cmocka_unit_test(test_certs_expiring_asks_for_expiring_within_days),
        cmocka_unit_test(test_summary_and_host_address_their_resources),
        cmocka_unit_test(test_token_commands_map_to_post_get_and_delete),
        cmocka_unit_test(test_global_options_may_come_before_or_after_the_command),
        cmocka_unit_test(test_csv_asks_with_the_accept_header),
        cmocka_unit_test(test_help_and_version_need_no_server),
        cmocka_unit_test(test_usage_errors_say_what_is_wrong),
        cmocka_unit_test(test_commands_check_their_arguments),
        cmocka_unit_test(test_double_dash_makes_the_rest_positional),
        cmocka_unit_test(test_request_longer_than_the_path_cap_is_refused),
        cmocka_unit_test(test_build_request_survives_allocation_failures),
        cmocka_unit_test_setup_teardown(test_file_supplies_url_token_and_cacert, settings_setup,
                                        settings_teardown),
        cmocka_unit_test_setup_teardown(test_environment_beats_file_and_flags_beat_both,
                                        settings_setup, settings_teardown),
        cmocka_unit_test_setup_teardown(test_empty_environment_values_are_ignored, settings_setup,
                                        settings_teardown),
        cmocka_unit_test_setup_teardown(test_missing_default_file_is_fine_but_a_named_one_is_not,
                                        settings_setup, settings_teardown),
        cmocka_unit_test_setup_teardown(test_missing_url_or_token_is_reported_with_where_to_set_it,
                                        settings_setup, settings_teardown),
        cmocka_unit_test_setup_teardown(test_plain_http_and_odd_urls_are_refused, settings_setup,
                                        settings_teardown),
        cmocka_unit_test_setup_teardown(test_token_that_could_break_the_header_is_refused,
                                        settings_setup, settings_teardown),
        cmocka_unit_test_setup_teardown(test_token_in_a_file_readable_by_others_is_flagged,
                                        settings_setup, settings_teardown),
        cmocka_unit_test_setup_teardown(test_bad_config_file_line_is_reported, settings_setup,
                                        settings_teardown),
        cmocka_unit_test(test_items_become_an_aligned_table_with_keys_in_first_seen_order),
        cmocka_unit_test(test_numbers_nested_values_and_scalar_items_are_shown_plainly),
        cmocka_unit_test(test_empty_list_says_so),
        cmocka_unit_test(test_a_page_of_a_larger_result_gets_a_footer),
        cmocka_unit_test(test_server_text_cannot_drive_the_terminal),
        cmocka_unit_test(test_long_cells_are_cut_at_character_boundaries),
        cmocka_unit_test(test_summary_object_becomes_aligned_key_value_lines),
        cmocka_unit_test(test_host_detail_shows_fields_then_tables_for_lists),
        cmocka_unit_test(test_deep_objects_stop_flattening),
        cmocka_unit_test(test_answer_that_is_not_json_is_a_parse_error),
        cmocka_unit_test(test_render_survives_allocation_failures),
        cmocka_unit_test(test_profile_create_posts_the_host_mode_and_expiry),
        cmocka_unit_test(test_profile_show_list_assign_and_cancel_address_their_resources),
        cmocka_unit_test(test_profile_commands_check_their_options),
        cmocka_unit_test(test_durations_take_a_unit_or_seconds),
        cmocka_unit_test(test_host_with_profiles_shows_their_table_and_their_results),
        cmocka_unit_test(test_a_refused_whatif_names_the_findings_that_would_remain),
        cmocka_unit_test(test_api_error_document_becomes_one_clear_line),
        cmocka_unit_test(test_other_error_bodies_are_shown_cleaned_and_short),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
