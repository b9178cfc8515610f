/*
 * system_win32: the system interface on the Windows host itself (see system.h).
 *
 * Only the calls into Windows live here: the registry (allow_list.h names the one key and
 * value per enum, always in the 64-bit view), the service control manager, the live
 * collection, and the OEM code page netsh writes in. Everything netsh does goes through
 * netsh_rule.c with the injected runner, so the rule logic is the portable, unit-tested one and
 * a test can replay netsh (netsh_replay.h) while the registry and services here run for real.
 * Never starts a shell, never takes a path, value name or service name from a profile.
 */
#include <winsock2.h>
#include <windows.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "allow_list.h"
#include "capture.h"
#include "netsh.h"
#include "netsh_rule.h"
#include "service_wait.h"
#include "system.h"

_Static_assert(AGENT_SERVICE_STOPPED == SERVICE_STOPPED &&
                   AGENT_SERVICE_RUNNING == SERVICE_RUNNING &&
                   AGENT_SERVICE_START_PENDING == SERVICE_START_PENDING &&
                   AGENT_SERVICE_STOP_PENDING == SERVICE_STOP_PENDING &&
                   AGENT_SERVICE_PAUSED == SERVICE_PAUSED,
               "service_wait.h numbers states as winsvc.h does");

#define WIN_ID "win32:"

struct win32 {
    struct agent_netsh_rule_host netsh;
};

static void win_reason(struct agent_system *sys, const char *fmt, ...) PROTO_PRINTF_LIKE(2, 3);

static void win_reason(struct agent_system *sys, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(sys->reason, sizeof(sys->reason), fmt, ap);
    va_end(ap);
    if (n < 0) {
        sys->reason[0] = '\0';
    }
}

/* UTF-16 of a UTF-8 string into a new buffer (caller frees with proto_free), or NULL. */
static wchar_t *win_wide(const char *s)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
    if (n <= 0) {
        return NULL;
    }
    wchar_t *w = proto_malloc((size_t)n * sizeof(wchar_t));
    if (w != NULL && MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) != n) {
        proto_free(w);
        w = NULL;
    }
    return w;
}

static enum proto_rc win_read_snapshot(struct agent_system *sys, struct proto_snapshot **out)
{
    struct win32 *w = sys->ctx;
    struct agent_capture *cap = NULL;
    struct agent_capture_live_options opts = {0, w->netsh.runner, w->netsh.timeout_ms, true};
    *out = NULL;
    enum proto_rc result = agent_capture_live(&opts, &cap);
    if (result == PROTO_OK) {
        result = agent_capture_snapshot(cap, out);
    }
    agent_capture_destroy(cap);
    if (result) {
        win_reason(sys, "cannot read this host: %s", proto_rc_str(result));
    }
    return result;
}

/* ---- registry ---------------------------------------------------------------------------------
 */

/* The allow-listed value's key and name in UTF-16; PROTO_EINVAL outside the enum. */
static enum proto_rc win_dword_names(struct agent_system *sys, enum proto_dword_name name,
                                     const struct agent_allow_dword **entry, wchar_t **subkey,
                                     wchar_t **value)
{
    *subkey = NULL;
    *value = NULL;
    *entry = agent_allow_dword(name);
    if (*entry == NULL) {
        win_reason(sys, "registry value %d is not on the allow-list", (int)name);
        return PROTO_EINVAL;
    }
    *subkey = win_wide((*entry)->subkey);
    *value = win_wide((*entry)->value);
    if (*subkey == NULL || *value == NULL) {
        proto_free(*subkey);
        proto_free(*value);
        *subkey = NULL;
        *value = NULL;
        return PROTO_ENOMEM;
    }
    return PROTO_OK;
}

static enum proto_rc win_dword_get(struct agent_system *sys, enum proto_dword_name name,
                                   struct agent_dword_state *out)
{
    const struct agent_allow_dword *e = NULL;
    wchar_t *subkey = NULL, *value = NULL;
    HKEY key = NULL;
    memset(out, 0, sizeof(*out));
    enum proto_rc result = win_dword_names(sys, name, &e, &subkey, &value);
    if (result) {
        return result;
    }
    LONG rc = RegOpenKeyExW(HKEY_LOCAL_MACHINE, subkey, 0, KEY_QUERY_VALUE | KEY_WOW64_64KEY, &key);
    if (rc == ERROR_FILE_NOT_FOUND) {
        goto out; /* no key: the value is absent */
    }
    if (rc != ERROR_SUCCESS) {
        win_reason(sys, "cannot open HKLM\\%s (Windows error %ld)", e->subkey, (long)rc);
        result = PROTO_EIO;
        goto out;
    }
    DWORD data = 0, size = sizeof(data), type = 0;
    rc = RegGetValueW(key, NULL, value, RRF_RT_REG_DWORD, &type, &data, &size);
    if (rc == ERROR_SUCCESS) {
        out->present = true;
        out->value = (uint32_t)data;
    } else if (rc == ERROR_UNSUPPORTED_TYPE) {
        win_reason(sys, "%s is not a REG_DWORD (type %lu)", e->value, (unsigned long)type);
        result = PROTO_EUNSUPPORTED;
    } else if (rc != ERROR_FILE_NOT_FOUND) {
        win_reason(sys, "cannot read %s (Windows error %ld)", e->value, (long)rc);
        result = PROTO_EIO;
    }
out:
    if (key != NULL) {
        RegCloseKey(key);
    }
    proto_free(subkey);
    proto_free(value);
    return result;
}

static enum proto_rc win_dword_set(struct agent_system *sys, enum proto_dword_name name,
                                   uint32_t data)
{
    const struct agent_allow_dword *e = NULL;
    wchar_t *subkey = NULL, *value = NULL;
    HKEY key = NULL;
    enum proto_rc result = win_dword_names(sys, name, &e, &subkey, &value);
    if (result) {
        return result;
    }
    LONG rc = RegCreateKeyExW(HKEY_LOCAL_MACHINE, subkey, 0, NULL, REG_OPTION_NON_VOLATILE,
                              KEY_SET_VALUE | KEY_WOW64_64KEY, NULL, &key, NULL);
    if (rc != ERROR_SUCCESS) {
        win_reason(sys, "cannot open HKLM\\%s for writing (Windows error %ld)", e->subkey,
                   (long)rc);
        result = PROTO_EIO;
        goto out;
    }
    DWORD dw = (DWORD)data;
    rc = RegSetValueExW(key, value, 0, REG_DWORD, (const BYTE *)&dw, sizeof(dw));
    if (rc != ERROR_SUCCESS) {
        win_reason(sys, "cannot set %s (Windows error %ld)", e->value, (long)rc);
        result = PROTO_EIO;
    }
out:
    if (key != NULL) {
        RegCloseKey(key);
    }
    proto_free(subkey);
    proto_free(value);
    return result;
}

static enum proto_rc win_dword_delete(struct agent_system *sys, enum proto_dword_name name)
{
    const struct agent_allow_dword *e = NULL;
    wchar_t *subkey = NULL, *value = NULL;
    HKEY key = NULL;
    enum proto_rc result = win_dword_names(sys, name, &e, &subkey, &value);
    if (result) {
        return result;
    }
    /* RegOpenKeyExW + RegDeleteValueW rather than RegDeleteKeyValueW, which takes no view
     * flag: the value is deleted in the 64-bit view like every other access here. */
    LONG rc = RegOpenKeyExW(HKEY_LOCAL_MACHINE, subkey, 0, KEY_SET_VALUE | KEY_WOW64_64KEY, &key);
    if (rc == ERROR_FILE_NOT_FOUND) {
        goto out;
    }
    if (rc != ERROR_SUCCESS) {
        win_reason(sys, "cannot open HKLM\\%s for writing (Windows error %ld)", e->subkey,
                   (long)rc);
        result = PROTO_EIO;
        goto out;
    }
    rc = RegDeleteValueW(key, value);
    if (rc != ERROR_SUCCESS && rc != ERROR_FILE_NOT_FOUND) {
        win_reason(sys, "cannot delete %s (Windows error %ld)", e->value, (long)rc);
        result = PROTO_EIO;
    }
out:
    if (key != NULL) {
        RegCloseKey(key);
    }
    proto_free(subkey);
    proto_free(value);
    return result;
}

/* ---- rules: netsh through the runner ------------------------------------------------------- */

static enum proto_rc win_rule_get(struct agent_system *sys, const char *name,
                                  struct agent_rule_state *out)
{
    struct win32 *w = sys->ctx;
    return agent_netsh_rule_get(&w->netsh, name, out, sys->reason, sizeof(sys->reason));
}

static enum proto_rc win_rule_put(struct agent_system *sys, const struct proto_consec_rule *rule,
                                  size_t position)
{
    struct win32 *w = sys->ctx;
    (void)position; /* Windows orders rules itself */
    return agent_netsh_rule_put(&w->netsh, rule, sys->reason, sizeof(sys->reason));
}

static enum proto_rc win_rule_delete(struct agent_system *sys, const char *name)
{
    struct win32 *w = sys->ctx;
    return agent_netsh_rule_delete(&w->netsh, name, sys->reason, sizeof(sys->reason));
}

static enum proto_rc win_rule_check(struct agent_system *sys, const struct proto_consec_rule *rule)
{
    struct proto_strv args = {NULL, 0, 0};
    enum proto_rc result = agent_netsh_rule_add_args(rule, &args, sys->reason, sizeof(sys->reason));
    proto_strv_clear(&args);
    return result;
}

/* ---- services ---------------------------------------------------------------------------------
 */

struct win_service {
    SC_HANDLE handle;
};

static enum proto_rc win_service_query(void *ctx, struct agent_service_status *out, char *why,
                                       size_t why_size)
{
    struct win_service *s = ctx;
    SERVICE_STATUS_PROCESS sp;
    DWORD needed = 0;
    memset(&sp, 0, sizeof(sp));
    if (!QueryServiceStatusEx(s->handle, SC_STATUS_PROCESS_INFO, (LPBYTE)&sp, sizeof(sp),
                              &needed)) {
        proto_errf(why, why_size, "cannot query the service (Windows error %lu)",
                   (unsigned long)GetLastError());
        return PROTO_EIO;
    }
    out->state = (uint32_t)sp.dwCurrentState;
    out->wait_hint_ms = (uint32_t)sp.dwWaitHint;
    out->exit_code =
        (uint32_t)(sp.dwWin32ExitCode == ERROR_SERVICE_SPECIFIC_ERROR ? sp.dwServiceSpecificExitCode
                                                                      : sp.dwWin32ExitCode);
    return PROTO_OK;
}

/*
 * Stop, wait for STOPPED, start, wait for RUNNING, as Restart-Service does: a service found
 * stopped is started, since the restart is there so that the service runs with the values the
 * profile set. A service in the middle of starting is let finish first (it takes no stop
 * then). Each wait is bounded by allow_list.h's limits.
 */
static enum proto_rc win_service_restart(struct agent_system *sys, enum proto_service service)
{
    const struct agent_allow_service *e = agent_allow_service(service);
    const struct agent_service_clock *clock = agent_service_os_clock();
    struct win_service s = {NULL};
    struct agent_service_status st = {0, 0, 0};
    SC_HANDLE scm = NULL;
    wchar_t *wname = NULL;
    char why[AGENT_SYSTEM_REASON_BYTES];
    enum proto_rc result = PROTO_OK;

    if (e == NULL) {
        win_reason(sys, "service %d is not on the allow-list", (int)service);
        return PROTO_EINVAL;
    }
    wname = win_wide(e->name);
    if (wname == NULL) {
        return PROTO_ENOMEM;
    }
    scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    if (scm == NULL) {
        win_reason(sys, "cannot open the service control manager (Windows error %lu)",
                   (unsigned long)GetLastError());
        result = PROTO_EIO;
        goto out;
    }
    s.handle = OpenServiceW(scm, wname, SERVICE_QUERY_STATUS | SERVICE_STOP | SERVICE_START);
    if (s.handle == NULL) {
        DWORD err = GetLastError();
        if (err == ERROR_SERVICE_DOES_NOT_EXIST) {
            win_reason(sys, "the service %s is not installed on this host", e->name);
            result = PROTO_ENOTFOUND;
        } else {
            win_reason(sys, "cannot open the service %s (Windows error %lu)", e->name,
                       (unsigned long)err);
            result = PROTO_EIO;
        }
        goto out;
    }
    result = win_service_query(&s, &st, why, sizeof(why));
    if (result == PROTO_OK &&
        (st.state == AGENT_SERVICE_START_PENDING || st.state == AGENT_SERVICE_CONTINUE_PENDING)) {
        result = agent_service_wait(win_service_query, &s, e->name, AGENT_SERVICE_RUNNING,
                                    e->start_timeout_ms, clock, &st, why, sizeof(why));
    }
    if (result == PROTO_OK && st.state != AGENT_SERVICE_STOPPED) {
        SERVICE_STATUS ss;
        memset(&ss, 0, sizeof(ss));
        if (st.state != AGENT_SERVICE_STOP_PENDING &&
            !ControlService(s.handle, SERVICE_CONTROL_STOP, &ss)) {
            DWORD err = GetLastError();
            if (err == ERROR_DEPENDENT_SERVICES_RUNNING) {
                proto_errf(why, sizeof(why),
                           "%s was not stopped: services that depend on it are running", e->name);
                result = PROTO_EIO;
            } else if (err != ERROR_SERVICE_NOT_ACTIVE && err != ERROR_SERVICE_CANNOT_ACCEPT_CTRL) {
                /* Not active: stopped meanwhile. Cannot accept: already stopping. Both are
                 * waited out below; anything else is a failure. */
                proto_errf(why, sizeof(why), "%s could not be stopped (Windows error %lu)", e->name,
                           (unsigned long)err);
                result = PROTO_EIO;
            }
        }
        if (result == PROTO_OK) {
            result = agent_service_wait(win_service_query, &s, e->name, AGENT_SERVICE_STOPPED,
                                        e->stop_timeout_ms, clock, &st, why, sizeof(why));
        }
    }
    if (result == PROTO_OK && !StartServiceW(s.handle, 0, NULL)) {
        DWORD err = GetLastError();
        if (err == ERROR_SERVICE_DISABLED) {
            proto_errf(why, sizeof(why), "%s is disabled and cannot be started; it is stopped now",
                       e->name);
            result = PROTO_EIO;
        } else if (err != ERROR_SERVICE_ALREADY_RUNNING) {
            proto_errf(why, sizeof(why),
                       "%s could not be started (Windows error %lu); it is stopped now", e->name,
                       (unsigned long)err);
            result = PROTO_EIO;
        }
    }
    if (result == PROTO_OK) {
        result = agent_service_wait(win_service_query, &s, e->name, AGENT_SERVICE_RUNNING,
                                    e->start_timeout_ms, clock, &st, why, sizeof(why));
    }
    if (result) {
        win_reason(sys, "restart of %s: %s", e->name, why);
    }
out:
    if (s.handle != NULL) {
        CloseServiceHandle(s.handle);
    }
    if (scm != NULL) {
        CloseServiceHandle(scm);
    }
    proto_free(wname);
    return result;
}

static void win_destroy(struct agent_system *sys)
{
    proto_free(sys->ctx);
    sys->ctx = NULL;
}

enum proto_rc agent_system_win32_open(const struct agent_netsh_runner *runner,
                                      struct agent_system **out)
{
    if (out == NULL) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    struct agent_system *sys = proto_calloc(1, sizeof(*sys));
    struct win32 *w = proto_calloc(1, sizeof(*w));
    if (sys == NULL || w == NULL) {
        proto_free(sys);
        proto_free(w);
        return PROTO_ENOMEM;
    }
    w->netsh.runner = runner != NULL ? runner : agent_netsh_system_runner();
    w->netsh.oem_codepage = (unsigned)GetOEMCP();
    w->netsh.timeout_ms = 0;
    snprintf(sys->id, sizeof(sys->id), "%s", WIN_ID);
    sys->ctx = w;
    sys->read_snapshot = win_read_snapshot;
    sys->dword_get = win_dword_get;
    sys->dword_set = win_dword_set;
    sys->dword_delete = win_dword_delete;
    sys->rule_get = win_rule_get;
    sys->rule_put = win_rule_put;
    sys->rule_delete = win_rule_delete;
    sys->service_restart = win_service_restart;
    sys->rule_check = win_rule_check;
    sys->destroy = win_destroy;
    *out = sys;
    return PROTO_OK;
}
