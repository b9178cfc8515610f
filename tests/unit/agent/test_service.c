/*
 * test_service: the portable half of `rrasfleet-agent service` (agent/cli/cli_service.c): the
 * service's command line (ImagePath) and its quoting, the command's usage errors, and the
 * "Windows only" answer elsewhere. The SCM side (service_win32.c) is tested under Wine by
 * tests/integration/test_wine_service.sh.
 *
 * Each quoted command line is also parsed back with the C runtime's documented rules
 * (backslashes count only before a quote), so a quoting mistake shows as a different argv.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "service.h"
#include "testutil.h"

#define MAX_ARGS 8
#define ARG_BYTES 512

struct argv_back {
    char args[MAX_ARGS][ARG_BYTES];
    size_t count;
};

/* Splits a command line as the C runtime does for main()'s argv (after the program name,
 * which is taken up to the closing quote). */
static void parse_back(const char *cmd, struct argv_back *out)
{
    memset(out, 0, sizeof(*out));
    const char *p = cmd;
    while (*p != '\0') {
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        assert_true(out->count < MAX_ARGS);
        char *arg = out->args[out->count++];
        size_t len = 0;
        bool quoted = false;
        bool first = out->count == 1;
        while (*p != '\0' && (quoted || (*p != ' ' && *p != '\t'))) {
            if (first) {
                /* The program name: quotes delimit, backslashes are literal. */
                if (*p == '"') {
                    quoted = !quoted;
                } else {
                    arg[len++] = *p;
                }
                p++;
                continue;
            }
            size_t backslashes = 0;
            while (*p == '\\') {
                backslashes++;
                p++;
            }
            if (*p == '"') {
                for (size_t i = 0; i < backslashes / 2; i++) {
                    arg[len++] = '\\';
                }
                if (backslashes % 2 == 1) {
                    arg[len++] = '"';
                } else {
                    quoted = !quoted;
                }
                p++;
            } else {
                for (size_t i = 0; i < backslashes; i++) {
                    arg[len++] = '\\';
                }
                if (*p != '\0' && (quoted || (*p != ' ' && *p != '\t'))) {
                    arg[len++] = *p++;
                }
            }
            assert_true(len < ARG_BYTES - 1);
        }
        arg[len] = '\0';
    }
}

static void assert_round_trip(const char *exe, const char *config)
{
    char cmd[AGENT_SERVICE_CMDLINE_BYTES];
    assert_int_equal(agent_service_command_line(exe, config, cmd, sizeof(cmd)), PROTO_OK);
    struct argv_back back;
    parse_back(cmd, &back);
    assert_int_equal(back.count, config != NULL ? 5 : 3);
    assert_string_equal(back.args[0], exe);
    assert_string_equal(back.args[1], "service");
    assert_string_equal(back.args[2], "run");
    if (config != NULL) {
        assert_string_equal(back.args[3], "--config");
        assert_string_equal(back.args[4], config);
    }
}

static void test_the_command_line_quotes_the_program_and_the_settings_file(void **state)
{
    (void)state;
    char cmd[AGENT_SERVICE_CMDLINE_BYTES];
    assert_int_equal(agent_service_command_line("C:\\Program Files\\rrasfleet\\rrasfleet-agent.exe",
                                                NULL, cmd, sizeof(cmd)),
                     PROTO_OK);
    assert_string_equal(cmd, "\"C:\\Program Files\\rrasfleet\\rrasfleet-agent.exe\" service run");
    assert_int_equal(agent_service_command_line("C:\\Program Files\\rrasfleet\\rrasfleet-agent.exe",
                                                "C:\\ProgramData\\rrasfleet\\agent.conf", cmd,
                                                sizeof(cmd)),
                     PROTO_OK);
    assert_string_equal(cmd, "\"C:\\Program Files\\rrasfleet\\rrasfleet-agent.exe\" service run "
                             "--config \"C:\\ProgramData\\rrasfleet\\agent.conf\"");
}

static void test_backslashes_before_a_quote_are_doubled_and_quotes_escaped(void **state)
{
    (void)state;
    char cmd[AGENT_SERVICE_CMDLINE_BYTES];
    assert_int_equal(agent_service_command_line("C:\\a.exe", "C:\\dir\\", cmd, sizeof(cmd)),
                     PROTO_OK);
    assert_string_equal(cmd, "\"C:\\a.exe\" service run --config \"C:\\dir\\\\\"");
    assert_int_equal(agent_service_command_line("C:\\a.exe", "a\\\\\"b", cmd, sizeof(cmd)),
                     PROTO_OK);
    assert_string_equal(cmd, "\"C:\\a.exe\" service run --config \"a\\\\\\\\\\\"b\"");
}

static void test_every_settings_path_reads_back_the_same(void **state)
{
    (void)state;
    static const char *const configs[] = {
        "C:\\ProgramData\\rrasfleet\\agent.conf",
        "C:\\Users\\Zo\xc3\xab\\agent settings.conf",
        "\\\\server\\share\\agent.conf",
        "C:\\trailing\\",
        "C:\\two\\\\",
        "with \"quotes\" inside",
        "back\\\"slash-quote",
        "many\\\\\\\"x\\\\",
        "Z:/forward/slashes.conf",
    };
    for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
        assert_round_trip("C:\\Program Files\\rrasfleet\\rrasfleet-agent.exe", configs[i]);
    }
    assert_round_trip("Z:\\work\\build\\agent\\rrasfleet-agent.exe", NULL);
}

static void test_paths_the_command_line_cannot_hold_are_refused(void **state)
{
    (void)state;
    char cmd[AGENT_SERVICE_CMDLINE_BYTES];
    /* ImagePath is REG_EXPAND_SZ: %NAME% would be expanded by the SCM. */
    assert_int_equal(
        agent_service_command_line("C:\\a.exe", "C:\\%TEMP%\\a.conf", cmd, sizeof(cmd)),
        PROTO_EINVAL);
    assert_string_equal(cmd, "");
    assert_int_equal(agent_service_command_line("C:\\100%\\a.exe", NULL, cmd, sizeof(cmd)),
                     PROTO_EINVAL);
    /* The SCM splits the program name at quotes only. */
    assert_int_equal(agent_service_command_line("C:\\a\"b.exe", NULL, cmd, sizeof(cmd)),
                     PROTO_EINVAL);
    assert_int_equal(agent_service_command_line("C:\\a.exe", "line\nbreak", cmd, sizeof(cmd)),
                     PROTO_EINVAL);
    assert_int_equal(agent_service_command_line("C:\\a.exe", "tab\there", cmd, sizeof(cmd)),
                     PROTO_EINVAL);
    assert_int_equal(agent_service_command_line("", NULL, cmd, sizeof(cmd)), PROTO_EINVAL);
    assert_int_equal(agent_service_command_line("C:\\a.exe", "", cmd, sizeof(cmd)), PROTO_EINVAL);
    assert_int_equal(agent_service_command_line(NULL, NULL, cmd, sizeof(cmd)), PROTO_EINVAL);
}

static void test_a_command_line_that_does_not_fit_is_refused_whole(void **state)
{
    (void)state;
    char cmd[64];
    assert_int_equal(agent_service_command_line("C:\\a.exe", NULL, cmd, sizeof(cmd)), PROTO_OK);
    assert_int_equal(agent_service_command_line("C:\\a.exe", "C:\\a rather long settings path.conf",
                                                cmd, sizeof(cmd)),
                     PROTO_ELIMIT);
    assert_string_equal(cmd, "");
    /* Exactly full: the NUL must still fit. */
    char exact[sizeof("\"C:\\a.exe\" service run")];
    assert_int_equal(agent_service_command_line("C:\\a.exe", NULL, exact, sizeof(exact)), PROTO_OK);
    assert_int_equal(agent_service_command_line("C:\\a.exe", NULL, exact, sizeof(exact) - 1),
                     PROTO_ELIMIT);
}

static int service(const char *a, const char *b, const char *c, const char *d)
{
    char *argv[6] = {"service", (char *)a, (char *)b, (char *)c, (char *)d, NULL};
    int argc = 1;
    while (argc < 5 && argv[argc] != NULL) {
        argc++;
    }
    return agent_cmd_service(argc, argv);
}

static void test_usage_mistakes_are_usage_errors_everywhere(void **state)
{
    (void)state;
    assert_int_equal(service(NULL, NULL, NULL, NULL), AGENT_EXIT_USAGE);
    assert_int_equal(service("restart", NULL, NULL, NULL), AGENT_EXIT_USAGE);
    assert_int_equal(service("install", "--bogus", NULL, NULL), AGENT_EXIT_USAGE);
    assert_int_equal(service("install", "--config", NULL, NULL), AGENT_EXIT_USAGE);
    assert_int_equal(service("install", "--config", "a", "--config"), AGENT_EXIT_USAGE);
    assert_int_equal(service("install", "--config=", NULL, NULL), AGENT_EXIT_USAGE);
    assert_int_equal(service("start", "now", NULL, NULL), AGENT_EXIT_USAGE);
    assert_int_equal(service("--help", NULL, NULL, NULL), AGENT_EXIT_OK);
}

static void test_elsewhere_than_windows_every_action_says_windows_only(void **state)
{
    (void)state;
#ifdef _WIN32
    skip(); /* here the actions are real: test_wine_service.sh runs them */
#else
    assert_int_equal(service("install", "--config", "/etc/rrasfleet/agent.conf", NULL),
                     AGENT_EXIT_USAGE);
    assert_int_equal(service("install", NULL, NULL, NULL), AGENT_EXIT_USAGE);
    assert_int_equal(service("uninstall", NULL, NULL, NULL), AGENT_EXIT_USAGE);
    assert_int_equal(service("start", NULL, NULL, NULL), AGENT_EXIT_USAGE);
    assert_int_equal(service("stop", NULL, NULL, NULL), AGENT_EXIT_USAGE);
    assert_int_equal(service("run", NULL, NULL, NULL), AGENT_EXIT_USAGE);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_command_line_quotes_the_program_and_the_settings_file),
        cmocka_unit_test(test_backslashes_before_a_quote_are_doubled_and_quotes_escaped),
        cmocka_unit_test(test_every_settings_path_reads_back_the_same),
        cmocka_unit_test(test_paths_the_command_line_cannot_hold_are_refused),
        cmocka_unit_test(test_a_command_line_that_does_not_fit_is_refused_whole),
        cmocka_unit_test(test_usage_mistakes_are_usage_errors_everywhere),
        cmocka_unit_test(test_elsewhere_than_windows_every_action_says_windows_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
