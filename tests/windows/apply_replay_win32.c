/*
 * apply_replay_win32: rrasfleet-apply-replay.exe, `rrasfleet-agent apply` on the live Windows
 * host with netsh replayed, for Wine, whose netsh.exe is a stub that prints nothing
 * (tests/integration/test_wine_remediate.sh; decision 015).
 *
 * It runs the shipped command's own code (agent_cli_apply_run, without --bundle: the live host,
 * system_win32.c), so the registry values and the service restart are real Wine calls, and only
 * the netsh runner is swapped for a replay (netsh_replay.h) whose rules come from a listing
 * file and go back to it when the apply ends. Options before "--" set up the replay; the rest
 * are apply's. It refuses to run outside Wine unless told to: on a real server it would change
 * the registry and restart RemoteAccess while pretending to change the firewall.
 */
#include <windows.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_os.h"
#include "alloc.h"
#include "buf.h"
#include "caps.h"
#include "cli_apply.h"
#include "netsh_replay.h"
#include "text.h"

#define REPLAY_EXIT_USAGE 2
#define REPLAY_EXIT_FAIL 1
#define REPLAY_MAX_ARGS 64

struct replay_options {
    const char *rules;     /* listing file: read first, written back at the end */
    const char *log;       /* one netsh call per line; NULL: none */
    const char *main_mode; /* the host's MainModeSecMethods; NULL: the listing's */
    const char *fail_verb; /* NULL: any call */
    unsigned long fail_nth;
    enum agent_netsh_replay_failure fail_how;
    bool allow_windows;
};

static void replay_usage(FILE *to)
{
    fputs("usage: rrasfleet-apply-replay.exe --replay FILE [--replay-log FILE]\n"
          "           [--replay-main-mode LIST] [--replay-fail [VERB:]N]\n"
          "           [--replay-fail-how exit|silent|no-start] [--allow-windows]\n"
          "           -- APPLY-OPTIONS (as `rrasfleet-agent apply`, without --bundle)\n"
          "  --replay FILE          the host's connection-security rules, as `netsh advfirewall\n"
          "                         consec show rule name=all verbose` prints them (missing:\n"
          "                         none); rewritten with the rules the apply left\n"
          "  --replay-log FILE      writes every netsh command the agent ran, one per line\n"
          "  --replay-main-mode L   the host's global main mode (every rule prints it)\n"
          "  --replay-fail [V:]N    the Nth netsh call (of verb V: show, add, delete) fails\n"
          "  --replay-fail-how H    exit: exit 1 with an error (default); silent: exit 0 and\n"
          "                         nothing printed (Wine's stub); no-start: cannot be started\n"
          "  --allow-windows        run even when not under Wine (changes the registry and\n"
          "                         restarts services for real!)\n",
          to);
}

/* Wine's ntdll exports wine_get_version; Windows' does not. */
static bool replay_is_wine(void)
{
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    return ntdll != NULL && GetProcAddress(ntdll, "wine_get_version") != NULL;
}

static bool replay_parse_fail(const char *arg, struct replay_options *o)
{
    static char verb[16];
    const char *colon = strchr(arg, ':');
    const char *number = arg;
    if (colon != NULL) {
        size_t n = (size_t)(colon - arg);
        if (n == 0 || n >= sizeof(verb)) {
            return false;
        }
        memcpy(verb, arg, n);
        verb[n] = '\0';
        o->fail_verb = verb;
        number = colon + 1;
    }
    char *end = NULL;
    unsigned long n = strtoul(number, &end, 10);
    if (end == number || *end != '\0' || n == 0 || n > 100000ul) {
        return false;
    }
    o->fail_nth = n;
    return true;
}

/* Parses the options before "--"; *rest is the index of the first apply option. */
static int replay_parse(int argc, char **argv, struct replay_options *o, int *rest)
{
    memset(o, 0, sizeof(*o));
    o->fail_how = AGENT_NETSH_REPLAY_FAIL_EXIT;
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--allow-windows") == 0) {
            o->allow_windows = true;
            continue;
        }
        if (strcmp(a, "--help") == 0) {
            replay_usage(stdout);
            return -1;
        }
        if (v == NULL) {
            fprintf(stderr, "rrasfleet-apply-replay: %s needs a value\n", a);
            return REPLAY_EXIT_USAGE;
        }
        i++;
        if (strcmp(a, "--replay") == 0) {
            o->rules = v;
        } else if (strcmp(a, "--replay-log") == 0) {
            o->log = v;
        } else if (strcmp(a, "--replay-main-mode") == 0) {
            o->main_mode = v;
        } else if (strcmp(a, "--replay-fail") == 0) {
            if (!replay_parse_fail(v, o)) {
                fprintf(stderr, "rrasfleet-apply-replay: --replay-fail: expected [VERB:]N\n");
                return REPLAY_EXIT_USAGE;
            }
        } else if (strcmp(a, "--replay-fail-how") == 0) {
            if (strcmp(v, "exit") == 0) {
                o->fail_how = AGENT_NETSH_REPLAY_FAIL_EXIT;
            } else if (strcmp(v, "silent") == 0) {
                o->fail_how = AGENT_NETSH_REPLAY_FAIL_SILENT;
            } else if (strcmp(v, "no-start") == 0) {
                o->fail_how = AGENT_NETSH_REPLAY_FAIL_NO_START;
            } else {
                fprintf(stderr, "rrasfleet-apply-replay: --replay-fail-how: expected exit, "
                                "silent or no-start\n");
                return REPLAY_EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "rrasfleet-apply-replay: unknown option: %s\n", a);
            replay_usage(stderr);
            return REPLAY_EXIT_USAGE;
        }
    }
    if (o->rules == NULL || i >= argc) {
        fputs("rrasfleet-apply-replay: --replay FILE and \"--\" before apply's options are "
              "required\n",
              stderr);
        replay_usage(stderr);
        return REPLAY_EXIT_USAGE;
    }
    *rest = i + 1;
    return 0;
}

/* Loads the listing file into the replay (a missing file: no rules). */
static int replay_load(struct agent_netsh_replay *r, const char *path)
{
    unsigned char *raw = NULL;
    char *text = NULL;
    size_t raw_len = 0, len = 0;
    char why[256];
    enum proto_rc rc = agent_os_read_file(path, PROTO_MAX_TEXT_FILE_BYTES, &raw, &raw_len);
    if (rc == PROTO_ENOTFOUND) {
        return 0;
    }
    if (rc == PROTO_OK) {
        rc = proto_text_decode(raw, raw_len, (unsigned)GetOEMCP(), &text, &len, NULL);
    }
    if (rc == PROTO_OK) {
        rc = agent_netsh_replay_load(r, text, len, why, sizeof(why));
    } else {
        snprintf(why, sizeof(why), "%s", proto_rc_str(rc));
    }
    proto_free(raw);
    proto_free(text);
    if (rc) {
        fprintf(stderr, "rrasfleet-apply-replay: %s: %s\n", path, why);
        return REPLAY_EXIT_FAIL;
    }
    return 0;
}

/* Writes the rules back, and the log. */
static int replay_save(struct agent_netsh_replay *r, const struct replay_options *o)
{
    struct proto_buf out;
    enum proto_rc rc;
    proto_buf_init(&out, 2u * PROTO_MAX_TEXT_FILE_BYTES);
    rc = agent_netsh_replay_listing(r, &out);
    if (rc == PROTO_OK) {
        rc = agent_os_replace_file(o->rules, out.data, out.len);
    }
    if (rc == PROTO_OK && o->log != NULL) {
        proto_buf_reset(&out);
        size_t count = agent_netsh_replay_call_count(r);
        for (size_t i = 0; i < count && rc == PROTO_OK; i++) {
            const char *call = agent_netsh_replay_call(r, i);
            if (call != NULL) {
                rc = proto_buf_appendf(&out, "%s\n", call);
            }
        }
        if (rc == PROTO_OK) {
            rc = agent_os_replace_file(o->log, out.data, out.len);
        }
    }
    proto_buf_free(&out);
    if (rc) {
        fprintf(stderr, "rrasfleet-apply-replay: cannot write the replay's files: %s\n",
                proto_rc_str(rc));
        return REPLAY_EXIT_FAIL;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct replay_options o;
    int rest = 0;
    char *apply_argv[REPLAY_MAX_ARGS + 1];

    proto_alloc_install_cjson_hooks();
    int parsed = replay_parse(argc, argv, &o, &rest);
    if (parsed != 0) {
        return parsed < 0 ? 0 : parsed;
    }
    if (!o.allow_windows && !replay_is_wine()) {
        fputs("rrasfleet-apply-replay: refusing to run outside Wine (--allow-windows): it changes "
              "the registry and services for real while netsh is only replayed\n",
              stderr);
        return REPLAY_EXIT_USAGE;
    }
    if (argc - rest + 1 > REPLAY_MAX_ARGS) {
        fputs("rrasfleet-apply-replay: too many apply options\n", stderr);
        return REPLAY_EXIT_USAGE;
    }
    struct agent_netsh_replay *r = agent_netsh_replay_create((unsigned)GetOEMCP());
    if (r == NULL) {
        fputs("rrasfleet-apply-replay: out of memory\n", stderr);
        return REPLAY_EXIT_FAIL;
    }
    int code = replay_load(r, o.rules);
    if (code == 0 && o.main_mode != NULL) {
        struct agent_netsh_rule_globals g = {o.main_mode, NULL, NULL};
        code = agent_netsh_replay_set_globals(r, &g) == PROTO_OK ? 0 : REPLAY_EXIT_FAIL;
    }
    if (code != 0) {
        agent_netsh_replay_destroy(r);
        return code;
    }
    if (o.fail_nth > 0) {
        agent_netsh_replay_fail(r, o.fail_verb, o.fail_nth, o.fail_how);
    }
    int n = 0;
    apply_argv[n++] = "apply";
    for (int i = rest; i < argc; i++) {
        apply_argv[n++] = argv[i];
    }
    apply_argv[n] = NULL;
    code = agent_cli_apply_run(n, apply_argv, agent_netsh_replay_runner(r));
    int saved = replay_save(r, &o);
    agent_netsh_replay_destroy(r);
    return saved != 0 && code == 0 ? saved : code;
}
