/*
 * service_win32: the service control manager's side of `rrasfleet-agent service` (service.h).
 *
 * install/uninstall/start/stop are short commands an administrator runs; `service run` is the
 * service itself: StartServiceCtrlDispatcherW calls service_main on a thread of its own, which
 * loads the settings as `run` does and runs agent_cli_run_with (cli.h) until the control
 * handler (the dispatcher's thread) sets the stop flag for SERVICE_CONTROL_STOP or SHUTDOWN.
 * A ticker thread raises the checkpoint of START_PENDING and STOP_PENDING every second, so
 * the SCM sees progress while libcurl set-up or an aborted transfer takes its time. Owns the
 * process-wide service state (one service per process); the only global state of the agent
 * apart from cli_run.c's signal flag.
 */
#include "service.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <windows.h>

#include "agent_config.h"
#include "agent_os.h"
#include "alloc.h"
#include "cli.h"
#include "eventlog.h"

#define SVC_WAIT_MS 60000u       /* how long start and stop wait for the state they asked for */
#define SVC_POLL_MS 250u         /* how often they look */
#define SVC_START_HINT_MS 30000u /* START_PENDING: the settings, the spools, libcurl */
#define SVC_STOP_HINT_MS                                                                           \
    15000u                   /* STOP_PENDING: the loop ends within a sleep slice or an aborted     \
                                transfer; a collection in progress finishes first */
#define SVC_TICK_MS 1000u    /* checkpoints while pending */
#define SVC_EXE_CHARS 32768u /* the longest path Windows has */
#define SVC_TYPES_SUPPORTED                                                                        \
    (EVENTLOG_ERROR_TYPE | EVENTLOG_WARNING_TYPE | EVENTLOG_INFORMATION_TYPE)

static WCHAR svc_name[] = L"" AGENT_SERVICE_NAME;

/* ---- text -------------------------------------------------------------------------------------
 */

/* UTF-8 to a new UTF-16 string (caller frees with proto_free); NULL if invalid or no memory. */
static WCHAR *svc_wide(const char *text)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, text, -1, NULL, 0);
    if (n <= 0) {
        return NULL;
    }
    WCHAR *w = proto_calloc((size_t)n, sizeof(WCHAR));
    if (w != NULL && MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, text, -1, w, n) != n) {
        proto_free(w);
        w = NULL;
    }
    return w;
}

/* UTF-16 to UTF-8 into out; false if it does not fit or is invalid. */
static bool svc_utf8(const WCHAR *w, char *out, size_t out_size)
{
    int n =
        WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, -1, out, (int)out_size, NULL, NULL);
    return n > 0;
}

/* "WHAT failed: TEXT (error N)" on stderr, TEXT being Windows' own words for the error. */
static void svc_errf(const char *action, const char *what, DWORD error)
{
    char text[256];
    DWORD n =
        FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, error,
                       MAKELANGID(LANG_ENGLISH, SUBLANG_DEFAULT), text, sizeof(text), NULL);
    while (n > 0 && (text[n - 1] == '\r' || text[n - 1] == '\n' || text[n - 1] == ' ' ||
                     text[n - 1] == '.')) {
        n--;
    }
    text[n] = '\0';
    fprintf(stderr, "rrasfleet-agent service %s: %s failed: %s (error %lu)%s\n", action, what,
            n > 0 ? text : "unknown error", (unsigned long)error,
            error == ERROR_ACCESS_DENIED ? "; run it as an Administrator" : "");
}

static const char *svc_state_str(DWORD state)
{
    switch (state) {
    case SERVICE_STOPPED:
        return "STOPPED";
    case SERVICE_START_PENDING:
        return "START_PENDING";
    case SERVICE_STOP_PENDING:
        return "STOP_PENDING";
    case SERVICE_RUNNING:
        return "RUNNING";
    case SERVICE_CONTINUE_PENDING:
        return "CONTINUE_PENDING";
    case SERVICE_PAUSE_PENDING:
        return "PAUSE_PENDING";
    case SERVICE_PAUSED:
        return "PAUSED";
    }
    return "UNKNOWN";
}

/* ---- the service control manager --------------------------------------------------------------
 */

/* Opens the SCM and the service with `access`. *scm and *svc are NULL on failure, which is
 * reported unless the service is simply not installed (*missing). */
static bool svc_open(const char *action, DWORD access, SC_HANDLE *scm, SC_HANDLE *svc,
                     bool *missing)
{
    *svc = NULL;
    *missing = false;
    *scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    if (*scm == NULL) {
        svc_errf(action, "OpenSCManagerW", GetLastError());
        return false;
    }
    *svc = OpenServiceW(*scm, svc_name, access);
    if (*svc == NULL) {
        DWORD error = GetLastError();
        if (error == ERROR_SERVICE_DOES_NOT_EXIST) {
            *missing = true;
        } else {
            svc_errf(action, "OpenServiceW", error);
        }
        CloseServiceHandle(*scm);
        *scm = NULL;
        return false;
    }
    return true;
}

static bool svc_query(SC_HANDLE svc, SERVICE_STATUS_PROCESS *st)
{
    DWORD needed = 0;
    return QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (LPBYTE)st, sizeof(*st), &needed) != 0;
}

/* Waits while the service is in `pending`, up to SVC_WAIT_MS; *st gets the last status. */
static bool svc_wait_leave(SC_HANDLE svc, DWORD pending, SERVICE_STATUS_PROCESS *st,
                           uint64_t *waited_ms)
{
    uint64_t start = agent_os_monotonic_ms();
    for (;;) {
        if (!svc_query(svc, st)) {
            return false;
        }
        *waited_ms = agent_os_monotonic_ms() - start;
        if (st->dwCurrentState != pending || *waited_ms >= SVC_WAIT_MS) {
            return true;
        }
        agent_os_sleep_ms(SVC_POLL_MS, NULL);
    }
}

/* Asks a running service to stop and waits until it has. 0 stopped, 1 not (reported). */
static int svc_stop_and_wait(const char *action, SC_HANDLE svc)
{
    SERVICE_STATUS_PROCESS st;
    if (!svc_query(svc, &st)) {
        svc_errf(action, "QueryServiceStatusEx", GetLastError());
        return AGENT_EXIT_FINDINGS;
    }
    if (st.dwCurrentState == SERVICE_STOPPED) {
        printf("service %s is not running\n", AGENT_SERVICE_NAME);
        return AGENT_EXIT_OK;
    }
    SERVICE_STATUS ignored;
    if (st.dwCurrentState != SERVICE_STOP_PENDING &&
        !ControlService(svc, SERVICE_CONTROL_STOP, &ignored)) {
        DWORD error = GetLastError();
        if (error != ERROR_SERVICE_NOT_ACTIVE && error != ERROR_SERVICE_CANNOT_ACCEPT_CTRL) {
            svc_errf(action, "ControlService(SERVICE_CONTROL_STOP)", error);
            return AGENT_EXIT_FINDINGS;
        }
        if (error == ERROR_SERVICE_CANNOT_ACCEPT_CTRL &&
            st.dwCurrentState == SERVICE_START_PENDING) {
            /* Still starting: wait for it to run, then ask again. */
            uint64_t waited = 0;
            if (svc_wait_leave(svc, SERVICE_START_PENDING, &st, &waited) &&
                st.dwCurrentState == SERVICE_RUNNING &&
                !ControlService(svc, SERVICE_CONTROL_STOP, &ignored)) {
                svc_errf(action, "ControlService(SERVICE_CONTROL_STOP)", GetLastError());
                return AGENT_EXIT_FINDINGS;
            }
        }
    }
    uint64_t waited = 0;
    if (!svc_wait_leave(svc, SERVICE_STOP_PENDING, &st, &waited)) {
        svc_errf(action, "QueryServiceStatusEx", GetLastError());
        return AGENT_EXIT_FINDINGS;
    }
    /* A service that answered STOP without STOP_PENDING may still say RUNNING for a moment. */
    while (st.dwCurrentState == SERVICE_RUNNING && waited < SVC_WAIT_MS) {
        agent_os_sleep_ms(SVC_POLL_MS, NULL);
        uint64_t more = 0;
        if (!svc_wait_leave(svc, SERVICE_STOP_PENDING, &st, &more)) {
            break;
        }
        waited += SVC_POLL_MS + more;
    }
    if (st.dwCurrentState != SERVICE_STOPPED) {
        fprintf(stderr, "rrasfleet-agent service %s: the service is still %s after %llu ms\n",
                action, svc_state_str(st.dwCurrentState), (unsigned long long)waited);
        return AGENT_EXIT_FINDINGS;
    }
    printf("service %s stopped in %llu ms\n", AGENT_SERVICE_NAME, (unsigned long long)waited);
    return AGENT_EXIT_OK;
}

/* ---- install ----------------------------------------------------------------------------------
 */

/* The absolute form of the settings file, checked to load as `run` loads it: a file that does
 * not parse is refused; settings `run` would refuse (perhaps completed later by the policy) are
 * a warning. */
static int svc_check_config(const char *config, char *abs, size_t abs_size)
{
    WCHAR *wconfig = svc_wide(config);
    WCHAR full[AGENT_CONFIG_PATH_BYTES];
    DWORD n = wconfig != NULL ? GetFullPathNameW(wconfig, AGENT_CONFIG_PATH_BYTES, full, NULL) : 0;
    proto_free(wconfig);
    if (n == 0 || n >= AGENT_CONFIG_PATH_BYTES || !svc_utf8(full, abs, abs_size)) {
        fprintf(stderr, "rrasfleet-agent service install: %s: not a usable path\n", config);
        return AGENT_EXIT_USAGE;
    }
    return AGENT_EXIT_OK;
}

/* Loads the settings (policy, the file) and warns when `run` would refuse them. */
static int svc_check_settings(const char *abs)
{
    char flag[] = "--config";
    char name[] = "install";
    char path[AGENT_CONFIG_PATH_BYTES];
    int n = snprintf(path, sizeof(path), "%s", abs != NULL ? abs : "");
    if (n < 0 || (size_t)n >= sizeof(path)) {
        return AGENT_EXIT_USAGE;
    }
    char *argv[] = {name, flag, path, NULL};
    struct agent_config cfg;
    struct proto_conf conf;
    const char *config_path = NULL;
    char err[512];
    memset(&conf, 0, sizeof(conf));
    int exit_code = AGENT_EXIT_OK;
    enum proto_rc rc = agent_config_from_args(abs != NULL ? 3 : 1, argv, NULL, 0, &cfg, &conf,
                                              &config_path, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "rrasfleet-agent service install: %s\n", err);
        exit_code = AGENT_EXIT_USAGE;
    } else if (agent_config_validate(&cfg, err, sizeof(err)) != PROTO_OK) {
        fprintf(stderr,
                "rrasfleet-agent service install: warning: %s: %s (the service will not start "
                "until this is fixed)\n",
                abs != NULL ? abs : AGENT_CONFIG_POLICY_KEY, err);
    }
    proto_conf_free(&conf);
    return exit_code;
}

/* One ChangeServiceConfig2W level. A level this Windows does not know, ERROR_INVALID_LEVEL
 * (Wine 8 knows neither FAILURE_ACTIONS_FLAG nor DELAYED_AUTO_START_INFO), is a warning when
 * `optional`: the service works, it only starts sooner or restarts less. */
static bool svc_config2(SC_HANDLE svc, DWORD level, void *info, const char *name, bool optional,
                        const char *without)
{
    if (ChangeServiceConfig2W(svc, level, info)) {
        return true;
    }
    DWORD error = GetLastError();
    if (optional && error == ERROR_INVALID_LEVEL) {
        fprintf(stderr,
                "rrasfleet-agent service install: warning: this system does not know %s; %s\n",
                name, without);
        return true;
    }
    char what[96];
    int n = snprintf(what, sizeof(what), "ChangeServiceConfig2W(%s)", name);
    svc_errf("install", n > 0 && (size_t)n < sizeof(what) ? what : name, error);
    return false;
}

/* Description, recovery, delayed start: what CreateServiceW cannot say. */
static bool svc_configure(SC_HANDLE svc)
{
    WCHAR description[] = L"" AGENT_SERVICE_DESCRIPTION;
    SERVICE_DESCRIPTIONW desc = {description};
    SC_ACTION actions[3] = {
        {SC_ACTION_RESTART, AGENT_SERVICE_RESTART_1_MS},
        {SC_ACTION_RESTART, AGENT_SERVICE_RESTART_2_MS},
        {SC_ACTION_RESTART, AGENT_SERVICE_RESTART_3_MS},
    };
    SERVICE_FAILURE_ACTIONSW failure;
    memset(&failure, 0, sizeof(failure));
    failure.dwResetPeriod = AGENT_SERVICE_RESET_S;
    failure.cActions = 3;
    failure.lpsaActions = actions;
    /* A stop with a non-zero exit code (settings refused) is a failure too, not only a crash. */
    SERVICE_FAILURE_ACTIONS_FLAG flag = {TRUE};
    SERVICE_DELAYED_AUTO_START_INFO delayed = {TRUE};
    return svc_config2(svc, SERVICE_CONFIG_DESCRIPTION, &desc, "SERVICE_CONFIG_DESCRIPTION", false,
                       NULL) &&
           svc_config2(svc, SERVICE_CONFIG_FAILURE_ACTIONS, &failure,
                       "SERVICE_CONFIG_FAILURE_ACTIONS", false, NULL) &&
           svc_config2(svc, SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, &flag,
                       "SERVICE_CONFIG_FAILURE_ACTIONS_FLAG", true,
                       "only a crash, not a stop with an error, restarts the service") &&
           svc_config2(svc, SERVICE_CONFIG_DELAYED_AUTO_START_INFO, &delayed,
                       "SERVICE_CONFIG_DELAYED_AUTO_START_INFO", true,
                       "the service starts with the other automatic services");
}

/* The Event Log source: the executable holds the messages. */
static bool svc_register_source(const WCHAR *exe)
{
    HKEY key = NULL;
    LSTATUS rc = RegCreateKeyExW(HKEY_LOCAL_MACHINE, L"" AGENT_SERVICE_EVENT_KEY, 0, NULL, 0,
                                 KEY_SET_VALUE | KEY_WOW64_64KEY, NULL, &key, NULL);
    if (rc != ERROR_SUCCESS) {
        svc_errf("install", "RegCreateKeyExW(HKLM\\" AGENT_SERVICE_EVENT_KEY ")", (DWORD)rc);
        return false;
    }
    DWORD types = SVC_TYPES_SUPPORTED;
    rc = RegSetValueExW(key, L"EventMessageFile", 0, REG_EXPAND_SZ, (const BYTE *)exe,
                        (DWORD)((wcslen(exe) + 1) * sizeof(WCHAR)));
    if (rc == ERROR_SUCCESS) {
        rc = RegSetValueExW(key, L"TypesSupported", 0, REG_DWORD, (const BYTE *)&types,
                            sizeof(types));
    }
    RegCloseKey(key);
    if (rc != ERROR_SUCCESS) {
        svc_errf("install", "RegSetValueExW(HKLM\\" AGENT_SERVICE_EVENT_KEY ")", (DWORD)rc);
        return false;
    }
    return true;
}

int agent_service_install(const char *config)
{
    WCHAR *exe = NULL;
    WCHAR *wcmd = NULL;
    SC_HANDLE scm = NULL;
    SC_HANDLE svc = NULL;
    char abs[AGENT_CONFIG_PATH_BYTES * 3];
    char exe8[SVC_EXE_CHARS * 3];
    char cmd[AGENT_SERVICE_CMDLINE_BYTES];
    int exit_code = AGENT_EXIT_USAGE;

    if (config != NULL) {
        exit_code = svc_check_config(config, abs, sizeof(abs));
        if (exit_code != AGENT_EXIT_OK) {
            goto out;
        }
    }
    exit_code = svc_check_settings(config != NULL ? abs : NULL);
    if (exit_code != AGENT_EXIT_OK) {
        goto out;
    }
    exit_code = AGENT_EXIT_FINDINGS;
    exe = proto_calloc(SVC_EXE_CHARS, sizeof(WCHAR));
    if (exe == NULL) {
        fputs("rrasfleet-agent service install: out of memory\n", stderr);
        goto out;
    }
    DWORD n = GetModuleFileNameW(NULL, exe, SVC_EXE_CHARS);
    if (n == 0 || n >= SVC_EXE_CHARS || !svc_utf8(exe, exe8, sizeof(exe8))) {
        svc_errf("install", "GetModuleFileNameW", GetLastError());
        goto out;
    }
    enum proto_rc rc =
        agent_service_command_line(exe8, config != NULL ? abs : NULL, cmd, sizeof(cmd));
    if (rc) {
        fprintf(stderr,
                "rrasfleet-agent service install: cannot put \"%s\"%s%s in the service's "
                "command line: %s\n",
                exe8, config != NULL ? " and " : "", config != NULL ? abs : "",
                rc == PROTO_ELIMIT ? "too long" : "a path holds '%', '\"' or a control character");
        exit_code = AGENT_EXIT_USAGE;
        goto out;
    }
    wcmd = svc_wide(cmd);
    if (wcmd == NULL) {
        fputs("rrasfleet-agent service install: out of memory\n", stderr);
        goto out;
    }
    scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT | SC_MANAGER_CREATE_SERVICE);
    if (scm == NULL) {
        svc_errf("install", "OpenSCManagerW", GetLastError());
        goto out;
    }
    /* SERVICE_START: failure actions that restart need it. */
    DWORD access = SERVICE_CHANGE_CONFIG | SERVICE_QUERY_CONFIG | SERVICE_START;
    bool updated = false;
    /* No account: LocalSystem. */
    svc = CreateServiceW(scm, svc_name, L"" AGENT_SERVICE_DISPLAY_NAME, access,
                         SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START, SERVICE_ERROR_NORMAL, wcmd,
                         NULL, NULL, NULL, NULL, NULL);
    if (svc == NULL && GetLastError() == ERROR_SERVICE_EXISTS) {
        svc = OpenServiceW(scm, svc_name, access);
        if (svc == NULL) {
            svc_errf("install", "OpenServiceW", GetLastError());
            goto out;
        }
        if (!ChangeServiceConfigW(svc, SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START,
                                  SERVICE_ERROR_NORMAL, wcmd, NULL, NULL, NULL, L"LocalSystem",
                                  NULL, L"" AGENT_SERVICE_DISPLAY_NAME)) {
            svc_errf("install", "ChangeServiceConfigW", GetLastError());
            goto out;
        }
        updated = true;
    } else if (svc == NULL) {
        svc_errf("install", "CreateServiceW", GetLastError());
        goto out;
    }
    if (!svc_configure(svc) || !svc_register_source(exe)) {
        goto out;
    }
    printf("service %s (%s) %s: %s\n", AGENT_SERVICE_NAME, AGENT_SERVICE_DISPLAY_NAME,
           updated ? "updated" : "installed", cmd);
    printf("event log source %s registered (Application log)\n", AGENT_SERVICE_EVENT_SOURCE);
    if (!updated) {
        printf("start it with: rrasfleet-agent service start\n");
    } else {
        printf("a running service uses the new settings after: rrasfleet-agent service stop, "
               "then start\n");
    }
    exit_code = AGENT_EXIT_OK;
out:
    if (svc != NULL) {
        CloseServiceHandle(svc);
    }
    if (scm != NULL) {
        CloseServiceHandle(scm);
    }
    proto_free(wcmd);
    proto_free(exe);
    return exit_code;
}

/* ---- uninstall, start, stop -------------------------------------------------------------------
 */

int agent_service_uninstall(void)
{
    SC_HANDLE scm = NULL;
    SC_HANDLE svc = NULL;
    bool missing = false;
    int exit_code = AGENT_EXIT_OK;
    if (svc_open("uninstall", SERVICE_STOP | SERVICE_QUERY_STATUS | DELETE, &scm, &svc, &missing)) {
        exit_code = svc_stop_and_wait("uninstall", svc);
        if (exit_code == AGENT_EXIT_OK) {
            if (DeleteService(svc)) {
                printf("service %s removed\n", AGENT_SERVICE_NAME);
            } else if (GetLastError() == ERROR_SERVICE_MARKED_FOR_DELETE) {
                printf("service %s was already marked for removal\n", AGENT_SERVICE_NAME);
            } else {
                svc_errf("uninstall", "DeleteService", GetLastError());
                exit_code = AGENT_EXIT_FINDINGS;
            }
        }
        CloseServiceHandle(svc);
        CloseServiceHandle(scm);
    } else if (missing) {
        printf("service %s is not installed\n", AGENT_SERVICE_NAME);
    } else {
        exit_code = AGENT_EXIT_FINDINGS;
    }
    if (exit_code != AGENT_EXIT_OK) {
        return exit_code; /* the messages stay while the service does */
    }
    LSTATUS rc =
        RegDeleteKeyExW(HKEY_LOCAL_MACHINE, L"" AGENT_SERVICE_EVENT_KEY, KEY_WOW64_64KEY, 0);
    if (rc == ERROR_SUCCESS) {
        printf("event log source %s removed\n", AGENT_SERVICE_EVENT_SOURCE);
    } else if (rc != ERROR_FILE_NOT_FOUND) {
        svc_errf("uninstall", "RegDeleteKeyExW(HKLM\\" AGENT_SERVICE_EVENT_KEY ")", (DWORD)rc);
        exit_code = AGENT_EXIT_FINDINGS;
    }
    return exit_code;
}

int agent_service_start(void)
{
    SC_HANDLE scm = NULL;
    SC_HANDLE svc = NULL;
    bool missing = false;
    if (!svc_open("start", SERVICE_START | SERVICE_QUERY_STATUS, &scm, &svc, &missing)) {
        if (missing) {
            fprintf(stderr,
                    "rrasfleet-agent service start: service %s is not installed "
                    "(rrasfleet-agent service install)\n",
                    AGENT_SERVICE_NAME);
        }
        return AGENT_EXIT_FINDINGS;
    }
    int exit_code = AGENT_EXIT_FINDINGS;
    if (!StartServiceW(svc, 0, NULL) && GetLastError() != ERROR_SERVICE_ALREADY_RUNNING) {
        svc_errf("start", "StartServiceW", GetLastError());
        goto out;
    }
    SERVICE_STATUS_PROCESS st;
    uint64_t waited = 0;
    if (!svc_wait_leave(svc, SERVICE_START_PENDING, &st, &waited)) {
        svc_errf("start", "QueryServiceStatusEx", GetLastError());
        goto out;
    }
    if (st.dwCurrentState == SERVICE_RUNNING) {
        printf("service %s running (process %lu) after %llu ms\n", AGENT_SERVICE_NAME,
               (unsigned long)st.dwProcessId, (unsigned long long)waited);
        exit_code = AGENT_EXIT_OK;
    } else if (st.dwCurrentState == SERVICE_STOPPED) {
        fprintf(stderr,
                "rrasfleet-agent service start: the service stopped again (exit code %lu, "
                "service-specific %lu); the Application event log (source %s) says why\n",
                (unsigned long)st.dwWin32ExitCode, (unsigned long)st.dwServiceSpecificExitCode,
                AGENT_SERVICE_EVENT_SOURCE);
    } else {
        fprintf(stderr, "rrasfleet-agent service start: the service is still %s after %llu ms\n",
                svc_state_str(st.dwCurrentState), (unsigned long long)waited);
    }
out:
    CloseServiceHandle(svc);
    CloseServiceHandle(scm);
    return exit_code;
}

int agent_service_stop(void)
{
    SC_HANDLE scm = NULL;
    SC_HANDLE svc = NULL;
    bool missing = false;
    if (!svc_open("stop", SERVICE_STOP | SERVICE_QUERY_STATUS, &scm, &svc, &missing)) {
        if (missing) {
            printf("service %s is not installed\n", AGENT_SERVICE_NAME);
            return AGENT_EXIT_OK;
        }
        return AGENT_EXIT_FINDINGS;
    }
    int exit_code = svc_stop_and_wait("stop", svc);
    CloseServiceHandle(svc);
    CloseServiceHandle(scm);
    return exit_code;
}

/* ---- the service ------------------------------------------------------------------------------
 */

/* The one service of this process. The control handler runs on the dispatcher's thread, the
 * ticker on its own, the loop on service_main's: `lock` guards status. */
static struct {
    SERVICE_STATUS_HANDLE handle;
    SERVICE_STATUS status;
    CRITICAL_SECTION lock;
    volatile sig_atomic_t stop;
    HANDLE done; /* set when the loop has returned */
    int argc;
    char **argv;
    int exit_code;
} svc_state;

/* Reports `state` (a pending one again: the next checkpoint). Nothing after STOPPED. */
static void svc_report(DWORD state, DWORD wait_hint)
{
    EnterCriticalSection(&svc_state.lock);
    SERVICE_STATUS *st = &svc_state.status;
    if (st->dwCurrentState != SERVICE_STOPPED) {
        bool pending = state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING;
        st->dwCheckPoint = !pending ? 0 : (st->dwCurrentState == state ? st->dwCheckPoint + 1 : 1);
        st->dwCurrentState = state;
        st->dwWaitHint = pending ? wait_hint : 0;
        st->dwControlsAccepted =
            state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
        (void)SetServiceStatus(svc_state.handle, st);
    }
    LeaveCriticalSection(&svc_state.lock);
}

/* The last report. Made outside the lock: once the SCM reads STOPPED the dispatcher returns
 * and the process may end, so nothing of ours may still be in use then. */
static void svc_report_stopped(int exit_code)
{
    EnterCriticalSection(&svc_state.lock);
    SERVICE_STATUS *st = &svc_state.status;
    st->dwCurrentState = SERVICE_STOPPED; /* svc_report sends nothing more */
    st->dwControlsAccepted = 0;
    st->dwCheckPoint = 0;
    st->dwWaitHint = 0;
    /* Non-zero: a failure, which the recovery actions answer (FAILURE_ACTIONS_FLAG). */
    st->dwWin32ExitCode = exit_code != 0 ? ERROR_SERVICE_SPECIFIC_ERROR : NO_ERROR;
    st->dwServiceSpecificExitCode = (DWORD)exit_code;
    SERVICE_STATUS last = *st;
    LeaveCriticalSection(&svc_state.lock);
    (void)SetServiceStatus(svc_state.handle, &last);
}

static DWORD WINAPI svc_control(DWORD control, DWORD type, LPVOID data, LPVOID ctx)
{
    (void)type;
    (void)data;
    (void)ctx;
    switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
        svc_state.stop = 1; /* the loop and a transfer in progress end (run.h, transport.h) */
        svc_report(SERVICE_STOP_PENDING, SVC_STOP_HINT_MS);
        return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
        return NO_ERROR;
    default:
        return ERROR_CALL_NOT_IMPLEMENTED;
    }
}

/* Raises the checkpoint of a pending state every SVC_TICK_MS until the loop has returned. */
static DWORD WINAPI svc_ticker(LPVOID arg)
{
    (void)arg;
    while (WaitForSingleObject(svc_state.done, SVC_TICK_MS) == WAIT_TIMEOUT) {
        EnterCriticalSection(&svc_state.lock);
        DWORD state = svc_state.status.dwCurrentState;
        LeaveCriticalSection(&svc_state.lock);
        if (state == SERVICE_START_PENDING) {
            svc_report(state, SVC_START_HINT_MS);
        } else if (state == SERVICE_STOP_PENDING) {
            svc_report(state, SVC_STOP_HINT_MS);
        }
    }
    return 0;
}

/* agent_cli_run_with's ready hook: set up, the first round comes next. */
static void svc_ready(void *ctx)
{
    (void)ctx;
    svc_report(SERVICE_RUNNING, 0);
}

static void WINAPI svc_main(DWORD argc, LPWSTR *argv)
{
    (void)argc; /* start parameters (sc start NAME ARGS): not used */
    (void)argv;
    svc_state.handle = RegisterServiceCtrlHandlerExW(svc_name, svc_control, NULL);
    if (svc_state.handle == NULL) {
        svc_state.exit_code = AGENT_EXIT_FINDINGS;
        return;
    }
    svc_state.status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    svc_report(SERVICE_START_PENDING, SVC_START_HINT_MS);
    struct agent_eventlog *log = agent_eventlog_open();
    svc_state.done = CreateEventW(NULL, TRUE, FALSE, NULL);
    HANDLE ticker =
        svc_state.done != NULL ? CreateThread(NULL, 0, svc_ticker, NULL, 0, NULL) : NULL;

    struct agent_cli_run_hooks hooks;
    memset(&hooks, 0, sizeof(hooks));
    hooks.who = "rrasfleet-agent service";
    hooks.stop = &svc_state.stop;
    hooks.event = agent_eventlog_report;
    hooks.event_ctx = log;
    hooks.ready = svc_ready;
    struct agent_config cfg;
    struct proto_conf conf;
    const char *config_path = NULL;
    memset(&conf, 0, sizeof(conf));
    int exit_code = agent_cli_run_settings(&hooks, svc_state.argc, svc_state.argv, NULL, 0, false,
                                           &cfg, &conf, &config_path, NULL);
    if (exit_code == 0) {
        exit_code = agent_cli_run_with(&cfg, &hooks);
    }
    proto_conf_free(&conf);

    if (svc_state.done != NULL) {
        SetEvent(svc_state.done);
    }
    if (ticker != NULL) {
        WaitForSingleObject(ticker, INFINITE);
        CloseHandle(ticker);
    }
    if (svc_state.done != NULL) {
        CloseHandle(svc_state.done);
        svc_state.done = NULL;
    }
    agent_eventlog_close(log);
    svc_state.exit_code = exit_code;
    /* The last call: the process may end once the SCM reads STOPPED. */
    svc_report_stopped(exit_code);
}

int agent_service_run(int argc, char **argv)
{
    SERVICE_TABLE_ENTRYW table[] = {{svc_name, svc_main}, {NULL, NULL}};
    memset(&svc_state, 0, sizeof(svc_state));
    InitializeCriticalSection(&svc_state.lock);
    svc_state.argc = argc;
    svc_state.argv = argv;
    if (!StartServiceCtrlDispatcherW(table)) {
        DWORD error = GetLastError();
        if (error == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
            fputs("rrasfleet-agent service run: this is the service's entry point, for the "
                  "service control manager; in a console use `rrasfleet-agent run --config "
                  "FILE`, or `rrasfleet-agent service start`\n",
                  stderr);
        } else {
            svc_errf("run", "StartServiceCtrlDispatcherW", error);
        }
        svc_state.exit_code = AGENT_EXIT_USAGE;
    }
    /* Nothing is torn down (the lock): the service thread may still be returning. */
    return svc_state.exit_code;
}
