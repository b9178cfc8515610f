/*
 * netsh_win32: the real netsh runner (see netsh.h): starts GetSystemDirectoryW()\netsh.exe
 * with CreateProcessW and collects what it writes.
 *
 * No shell and no search path: the absolute path is both the application name and the quoted
 * first word of the command line. The child gets NUL as stdin and one pipe as stdout and stderr,
 * and inherits those two handles only (a handle list), so no other handle of the agent leaks
 * into it and no other child holds the pipe open. The parent drains the pipe while it waits
 * (a full pipe would otherwise block netsh and deadlock the wait) and stops the child when the
 * output passes its cap or the time runs out.
 */
#include <winsock2.h>
#include <windows.h>

#include <stdbool.h>
#include <string.h>

#include "alloc.h"
#include "netsh.h"

#define NETSH_CHUNK 4096u
/* Asked of CreatePipe, which may give less: most listings then fit whole, and netsh never waits
 * for us to read. */
#define NETSH_PIPE_BYTES (1024u * 1024u)
/* How long to wait for netsh between looks at the pipe: short while it is writing, longer when
 * it is quiet. */
#define NETSH_POLL_BUSY_MS 1u
#define NETSH_POLL_IDLE_MS 20u

static void netsh_why(char *why, size_t size, const char *what, DWORD error)
{
    proto_errf(why, size, "%s (Windows error %lu)", what, (unsigned long)error);
}

/* UTF-16 of NUL-terminated UTF-8 text into a new proto_malloc'd buffer, or NULL. */
static wchar_t *netsh_wide(const char *s, size_t max_units)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
    if (n <= 0 || (size_t)n > max_units) {
        return NULL;
    }
    wchar_t *w = proto_malloc((size_t)n * sizeof(wchar_t));
    if (w != NULL && MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) != n) {
        proto_free(w);
        w = NULL;
    }
    return w;
}

/* The UTF-8 path of netsh.exe in the system folder. */
static enum proto_rc netsh_program(char *out, size_t size, char *why, size_t why_size)
{
    wchar_t dir[MAX_PATH];
    UINT n = GetSystemDirectoryW(dir, MAX_PATH);
    if (n == 0 || n >= MAX_PATH) {
        netsh_why(why, why_size, "cannot find the system folder", GetLastError());
        return PROTO_EIO;
    }
    int len = WideCharToMultiByte(CP_UTF8, 0, dir, -1, out, (int)size, NULL, NULL);
    if (len <= 0 || (size_t)len + sizeof("\\netsh.exe") > size) {
        proto_errf(why, why_size, "the system folder's path is too long");
        return PROTO_ELIMIT;
    }
    memcpy(out + len - 1, "\\netsh.exe", sizeof("\\netsh.exe"));
    return PROTO_OK;
}

struct netsh_child {
    HANDLE read_end;
    HANDLE write_end;
    HANDLE nul;
    PROCESS_INFORMATION pi;
    LPPROC_THREAD_ATTRIBUTE_LIST attrs;
};

static void netsh_child_close(struct netsh_child *c)
{
    HANDLE *handles[] = {&c->read_end, &c->write_end, &c->nul, &c->pi.hProcess, &c->pi.hThread};
    for (size_t i = 0; i < sizeof(handles) / sizeof(handles[0]); i++) {
        if (*handles[i] != NULL && *handles[i] != INVALID_HANDLE_VALUE) {
            CloseHandle(*handles[i]);
        }
        *handles[i] = NULL;
    }
    if (c->attrs != NULL) {
        DeleteProcThreadAttributeList(c->attrs);
        proto_free(c->attrs);
        c->attrs = NULL;
    }
}

/* The attribute list that limits inheritance to stdin and the pipe; NULL when the system has
 * none (then plain inheritance, which the handles' own flags already restrict). */
static LPPROC_THREAD_ATTRIBUTE_LIST netsh_handle_list(HANDLE *handles, size_t count)
{
    SIZE_T size = 0;
    (void)InitializeProcThreadAttributeList(NULL, 1, 0, &size);
    if (size == 0) {
        return NULL;
    }
    LPPROC_THREAD_ATTRIBUTE_LIST attrs = proto_malloc(size);
    if (attrs == NULL) {
        return NULL;
    }
    if (!InitializeProcThreadAttributeList(attrs, 1, 0, &size)) {
        proto_free(attrs);
        return NULL;
    }
    if (!UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, handles,
                                   count * sizeof(HANDLE), NULL, NULL)) {
        DeleteProcThreadAttributeList(attrs);
        proto_free(attrs);
        return NULL;
    }
    return attrs;
}

static enum proto_rc netsh_start(struct netsh_child *c, const char *program, wchar_t *cmdline,
                                 char *why, size_t why_size)
{
    SECURITY_ATTRIBUTES sa;
    memset(&sa, 0, sizeof(sa));
    sa.nLength = sizeof(sa);
    sa.bInheritHandle = TRUE;
    if (!CreatePipe(&c->read_end, &c->write_end, &sa, NETSH_PIPE_BYTES)) {
        netsh_why(why, why_size, "cannot create a pipe", GetLastError());
        return PROTO_EIO;
    }
    if (!SetHandleInformation(c->read_end, HANDLE_FLAG_INHERIT, 0)) {
        netsh_why(why, why_size, "cannot set up the pipe", GetLastError());
        return PROTO_EIO;
    }
    c->nul = CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
                         OPEN_EXISTING, 0, NULL);
    if (c->nul == INVALID_HANDLE_VALUE) {
        netsh_why(why, why_size, "cannot open NUL", GetLastError());
        return PROTO_EIO;
    }
    wchar_t *app = netsh_wide(program, MAX_PATH);
    if (app == NULL) {
        proto_errf(why, why_size, "cannot convert the path of netsh.exe");
        return PROTO_EIO;
    }
    HANDLE inherit[2] = {c->nul, c->write_end};
    c->attrs = netsh_handle_list(inherit, 2);

    STARTUPINFOEXW si;
    memset(&si, 0, sizeof(si));
    si.StartupInfo.cb = c->attrs != NULL ? sizeof(si) : sizeof(si.StartupInfo);
    si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
    si.StartupInfo.hStdInput = c->nul;
    si.StartupInfo.hStdOutput = c->write_end;
    si.StartupInfo.hStdError = c->write_end;
    si.lpAttributeList = c->attrs;
    DWORD flags = CREATE_NO_WINDOW | CREATE_UNICODE_ENVIRONMENT |
                  (c->attrs != NULL ? EXTENDED_STARTUPINFO_PRESENT : 0);
    BOOL ok =
        CreateProcessW(app, cmdline, NULL, NULL, TRUE, flags, NULL, NULL, &si.StartupInfo, &c->pi);
    DWORD error = GetLastError();
    proto_free(app);
    /* The child has its copies now; ours would keep the pipe open after netsh ends. */
    CloseHandle(c->write_end);
    c->write_end = NULL;
    CloseHandle(c->nul);
    c->nul = NULL;
    if (!ok) {
        memset(&c->pi, 0, sizeof(c->pi));
        netsh_why(why, why_size, "cannot start netsh.exe", error);
        return PROTO_EIO;
    }
    return PROTO_OK;
}

/* Moves what the pipe holds now into out; *eof when the writer side is gone. */
static enum proto_rc netsh_drain(struct netsh_child *c, struct proto_buf *out, bool *eof,
                                 bool *got_any, char *why, size_t why_size)
{
    unsigned char chunk[NETSH_CHUNK];
    for (;;) {
        DWORD avail = 0;
        if (!PeekNamedPipe(c->read_end, NULL, 0, NULL, &avail, NULL)) {
            DWORD error = GetLastError();
            if (error == ERROR_BROKEN_PIPE) {
                *eof = true;
                return PROTO_OK;
            }
            netsh_why(why, why_size, "cannot read netsh's output", error);
            return PROTO_EIO;
        }
        if (avail == 0) {
            return PROTO_OK;
        }
        DWORD got = 0;
        DWORD want = avail < sizeof(chunk) ? avail : (DWORD)sizeof(chunk);
        if (!ReadFile(c->read_end, chunk, want, &got, NULL)) {
            DWORD error = GetLastError();
            if (error == ERROR_BROKEN_PIPE) {
                *eof = true;
                return PROTO_OK;
            }
            netsh_why(why, why_size, "cannot read netsh's output", error);
            return PROTO_EIO;
        }
        *got_any = *got_any || got > 0;
        enum proto_rc result = proto_buf_append(out, chunk, got);
        if (result == PROTO_ELIMIT) {
            proto_errf(why, why_size, "netsh wrote more than %zu bytes and was stopped", out->max);
        }
        if (result) {
            return result;
        }
    }
}

static enum proto_rc netsh_win32_run(void *ctx, const char *const *args, size_t arg_count,
                                     size_t max_bytes, uint32_t timeout_ms,
                                     struct agent_netsh_output *out, char *why, size_t why_size)
{
    enum proto_rc result = PROTO_OK;
    struct netsh_child c;
    struct proto_buf cmd, output;
    wchar_t *cmdline = NULL;
    char program[MAX_PATH * 3];
    (void)ctx;

    memset(&c, 0, sizeof(c));
    memset(out, 0, sizeof(*out));
    proto_errf(why, why_size, "%s", "");
    proto_buf_init(&cmd, AGENT_NETSH_CMDLINE_MAX);
    proto_buf_init(&output, max_bytes);
    result = netsh_program(program, sizeof(program), why, why_size);
    if (result) {
        goto out;
    }
    result = agent_netsh_command_line(program, args, arg_count, &cmd);
    if (result) {
        proto_errf(why, why_size, "cannot build netsh's command line: %s", proto_rc_str(result));
        goto out;
    }
    /* CreateProcessW may write into the command line: it must be a buffer of our own. */
    cmdline = netsh_wide(proto_buf_str(&cmd), AGENT_NETSH_CMDLINE_MAX);
    if (cmdline == NULL) {
        result = PROTO_EINVAL;
        proto_errf(why, why_size, "cannot convert netsh's command line");
        goto out;
    }
    result = netsh_start(&c, program, cmdline, why, why_size);
    if (result) {
        goto out;
    }
    ULONGLONG deadline = GetTickCount64() + timeout_ms;
    bool eof = false, exited = false;
    while (!eof) {
        bool got_any = false;
        result = netsh_drain(&c, &output, &eof, &got_any, why, why_size);
        if (result || eof) {
            break;
        }
        if (exited) {
            /* netsh is gone and the pipe is empty; a grandchild may still hold the write end,
             * which must not keep us here. */
            break;
        }
        ULONGLONG now = GetTickCount64();
        if (now >= deadline) {
            result = PROTO_EUNAVAILABLE;
            proto_errf(why, why_size, "netsh did not finish within %lu s and was stopped",
                       (unsigned long)(timeout_ms / 1000u));
            break;
        }
        ULONGLONG left = deadline - now;
        DWORD poll = got_any ? NETSH_POLL_BUSY_MS : NETSH_POLL_IDLE_MS;
        DWORD wait = left < poll ? (DWORD)left : poll;
        exited = WaitForSingleObject(c.pi.hProcess, wait) == WAIT_OBJECT_0;
    }
    if (result) {
        TerminateProcess(c.pi.hProcess, 1);
        WaitForSingleObject(c.pi.hProcess, 5000);
        goto out;
    }
    ULONGLONG now = GetTickCount64();
    DWORD left = now < deadline ? (DWORD)(deadline - now) : 0;
    if (WaitForSingleObject(c.pi.hProcess, left) != WAIT_OBJECT_0) {
        TerminateProcess(c.pi.hProcess, 1);
        WaitForSingleObject(c.pi.hProcess, 5000);
        result = PROTO_EUNAVAILABLE;
        proto_errf(why, why_size, "netsh closed its output but did not exit within %lu s",
                   (unsigned long)(timeout_ms / 1000u));
        goto out;
    }
    DWORD code = 0;
    if (!GetExitCodeProcess(c.pi.hProcess, &code)) {
        netsh_why(why, why_size, "cannot read netsh's exit code", GetLastError());
        result = PROTO_EIO;
        goto out;
    }
    out->exit_code = (uint32_t)code;
    out->len = output.len;
    if (output.len > 0) {
        out->bytes = (unsigned char *)proto_buf_detach(&output, NULL);
        result = out->bytes != NULL ? PROTO_OK : PROTO_ENOMEM;
    }
out:
    if (result) {
        proto_free(out->bytes);
        memset(out, 0, sizeof(*out));
    }
    netsh_child_close(&c);
    proto_free(cmdline);
    proto_buf_free(&cmd);
    proto_buf_free(&output);
    return result;
}

static const struct agent_netsh_runner netsh_system_runner = {netsh_win32_run, NULL};

const struct agent_netsh_runner *agent_netsh_system_runner(void)
{
    return &netsh_system_runner;
}
