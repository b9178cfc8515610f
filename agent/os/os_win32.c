/*
 * os_win32: agent_os.h on Windows (os.c holds what every OS shares).
 *
 * Paths arrive as UTF-8 and are converted to UTF-16 for the W functions; '/' and '\' both
 * separate. Durability: FlushFileBuffers on the temporary file, then MoveFileExW with
 * MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH (Windows has no folder fsync; the
 * write-through move is the documented way to make the rename durable). Files are opened with
 * FILE_FLAG_OPEN_REPARSE_POINT so a planted link is seen as such, never followed. The lock is
 * LockFileEx on a handle, so unlike POSIX a second opener in the same process is refused too.
 */
#include <winsock2.h>
#include <windows.h>

#include <aclapi.h>
#include <bcrypt.h>
#include <sddl.h>

#include <stdio.h>
#include <string.h>

#include "agent_os.h"

#define OS_SLEEP_SLICE_MS 100u
/* 100-ns intervals between 1601-01-01 and 1970-01-01. */
#define OS_FILETIME_UNIX_EPOCH 116444736000000000ULL

static enum proto_rc os_error_rc(DWORD err)
{
    return err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND ? PROTO_ENOTFOUND : PROTO_EIO;
}

/* UTF-8 path -> UTF-16 with '\' separators. PROTO_ELIMIT when it does not fit. */
static enum proto_rc os_wide_path(const char *path, wchar_t *out, size_t out_len)
{
    if (path == NULL || path[0] == '\0') {
        return PROTO_EINVAL;
    }
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, out, (int)out_len);
    if (n <= 0) {
        return GetLastError() == ERROR_INSUFFICIENT_BUFFER ? PROTO_ELIMIT : PROTO_EINVAL;
    }
    for (wchar_t *p = out; *p != L'\0'; p++) {
        if (*p == L'/') {
            *p = L'\\';
        }
    }
    return PROTO_OK;
}

static HANDLE os_handle(const struct agent_os_file *f)
{
    return (HANDLE)f->handle;
}

enum proto_rc agent_os_mkdirs(const char *path)
{
    wchar_t buf[AGENT_OS_PATH_MAX];
    enum proto_rc result = os_wide_path(path, buf, AGENT_OS_PATH_MAX);
    if (result != PROTO_OK) {
        return result;
    }
    size_t len = wcslen(buf);
    /* Skip a drive ("C:\") or a UNC prefix ("\\server\share\"): those cannot be created. */
    size_t start = 1;
    if (len >= 2 && buf[1] == L':') {
        start = 3;
    } else if (len >= 2 && buf[0] == L'\\' && buf[1] == L'\\') {
        unsigned seps = 0;
        for (start = 2; start < len && seps < 2; start++) {
            if (buf[start] == L'\\') {
                seps++;
            }
        }
    }
    for (size_t i = start; i <= len; i++) {
        if (buf[i] != L'\\' && buf[i] != L'\0') {
            continue;
        }
        wchar_t saved = buf[i];
        buf[i] = L'\0';
        if (!CreateDirectoryW(buf, NULL)) {
            DWORD err = GetLastError();
            DWORD attrs = GetFileAttributesW(buf);
            if (err != ERROR_ALREADY_EXISTS && err != ERROR_ACCESS_DENIED) {
                return os_error_rc(err);
            }
            if (attrs == INVALID_FILE_ATTRIBUTES || !(attrs & FILE_ATTRIBUTE_DIRECTORY)) {
                return PROTO_EIO;
            }
        }
        buf[i] = saved;
    }
    DWORD attrs = GetFileAttributesW(buf);
    if (attrs == INVALID_FILE_ATTRIBUTES) {
        return os_error_rc(GetLastError());
    }
    return (attrs & FILE_ATTRIBUTE_DIRECTORY) ? PROTO_OK : PROTO_EIO;
}

enum proto_rc agent_os_secure_dir(const char *path)
{
    wchar_t wpath[AGENT_OS_PATH_MAX];
    enum proto_rc result = os_wide_path(path, wpath, AGENT_OS_PATH_MAX);
    if (result != PROTO_OK) {
        return result;
    }
    /* Protected (no inheritance from the parent), full control for SYSTEM and the
     * Administrators group, inherited by every file and folder below. */
    PSECURITY_DESCRIPTOR sd = NULL;
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(
            L"D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)", SDDL_REVISION_1, &sd, NULL)) {
        return PROTO_EIO;
    }
    BOOL present = FALSE, defaulted = FALSE;
    PACL dacl = NULL;
    if (!GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted) || !present) {
        LocalFree(sd);
        return PROTO_EIO;
    }
    DWORD rc = SetNamedSecurityInfoW(
        wpath, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
        NULL, NULL, dacl, NULL);
    LocalFree(sd);
    return rc == ERROR_SUCCESS ? PROTO_OK : PROTO_EIO;
}

enum proto_rc agent_os_sync_dir(const char *dir)
{
    (void)dir; /* MOVEFILE_WRITE_THROUGH made the entry durable already */
    return PROTO_OK;
}

enum proto_rc agent_os_write_atomic(const char *tmp, const char *path, const void *data, size_t len)
{
    wchar_t wtmp[AGENT_OS_PATH_MAX];
    wchar_t wpath[AGENT_OS_PATH_MAX];
    const unsigned char *p = data;
    if (tmp == NULL || path == NULL || (data == NULL && len > 0)) {
        return PROTO_EINVAL;
    }
    enum proto_rc result = os_wide_path(tmp, wtmp, AGENT_OS_PATH_MAX);
    if (result == PROTO_OK) {
        result = os_wide_path(path, wpath, AGENT_OS_PATH_MAX);
    }
    if (result != PROTO_OK) {
        return result;
    }
    HANDLE h = CreateFileW(wtmp, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                           FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        return PROTO_EIO;
    }
    size_t done = 0;
    while (done < len) {
        size_t chunk = len - done > 0x40000000u ? 0x40000000u : len - done;
        DWORD wrote = 0;
        if (!WriteFile(h, p + done, (DWORD)chunk, &wrote, NULL) || wrote == 0) {
            goto fail;
        }
        done += wrote;
    }
    if (!FlushFileBuffers(h)) {
        goto fail;
    }
    BOOL closed = CloseHandle(h);
    h = INVALID_HANDLE_VALUE;
    if (!closed || !MoveFileExW(wtmp, wpath, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
        goto fail;
    }
    return PROTO_OK;
fail:
    if (h != INVALID_HANDLE_VALUE) {
        CloseHandle(h);
    }
    DeleteFileW(wtmp);
    return PROTO_EIO;
}

enum proto_rc agent_os_absolute_dir(const char *path, char *out, size_t out_size)
{
    wchar_t wpath[AGENT_OS_PATH_MAX];
    wchar_t wabs[AGENT_OS_PATH_MAX];
    if (os_wide_path(path, wpath, AGENT_OS_PATH_MAX) != PROTO_OK) {
        return PROTO_ENOTFOUND;
    }
    DWORD attrs = GetFileAttributesW(wpath);
    if (attrs == INVALID_FILE_ATTRIBUTES || !(attrs & FILE_ATTRIBUTE_DIRECTORY)) {
        return PROTO_ENOTFOUND;
    }
    DWORD n = GetFullPathNameW(wpath, AGENT_OS_PATH_MAX, wabs, NULL);
    if (n == 0 || n >= AGENT_OS_PATH_MAX) {
        return PROTO_ELIMIT;
    }
    if (WideCharToMultiByte(CP_UTF8, 0, wabs, -1, out, (int)out_size, NULL, NULL) <= 0) {
        return PROTO_ELIMIT;
    }
    return PROTO_OK;
}

enum proto_rc agent_os_open_read(const char *path, struct agent_os_file *f, uint64_t *size)
{
    wchar_t wpath[AGENT_OS_PATH_MAX];
    f->handle = -1;
    enum proto_rc result = os_wide_path(path, wpath, AGENT_OS_PATH_MAX);
    if (result != PROTO_OK) {
        return result;
    }
    /* BACKUP_SEMANTICS lets a folder open, so it is refused below as "not a regular file"
     * rather than as an I/O error. */
    HANDLE h =
        CreateFileW(wpath, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
                    FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        return os_error_rc(GetLastError());
    }
    BY_HANDLE_FILE_INFORMATION info;
    if (!GetFileInformationByHandle(h, &info)) {
        CloseHandle(h);
        return PROTO_EIO;
    }
    if (info.dwFileAttributes & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_REPARSE_POINT)) {
        CloseHandle(h);
        return PROTO_EUNSUPPORTED;
    }
    f->handle = (intptr_t)h;
    *size = ((uint64_t)info.nFileSizeHigh << 32) | info.nFileSizeLow;
    return PROTO_OK;
}

enum proto_rc agent_os_read(struct agent_os_file *f, void *buf, size_t n, size_t *got)
{
    unsigned char *p = buf;
    size_t done = 0;
    while (done < n) {
        size_t chunk = n - done > 0x40000000u ? 0x40000000u : n - done;
        DWORD r = 0;
        if (!ReadFile(os_handle(f), p + done, (DWORD)chunk, &r, NULL)) {
            return PROTO_EIO;
        }
        if (r == 0) {
            break;
        }
        done += r;
    }
    *got = done;
    return PROTO_OK;
}

void agent_os_close(struct agent_os_file *f)
{
    if (f->handle != -1) {
        CloseHandle(os_handle(f));
        f->handle = -1;
    }
}

enum proto_rc agent_os_remove(const char *path, int sync_dir)
{
    wchar_t wpath[AGENT_OS_PATH_MAX];
    (void)sync_dir; /* a delete is as durable as Windows makes it */
    enum proto_rc result = os_wide_path(path, wpath, AGENT_OS_PATH_MAX);
    if (result != PROTO_OK) {
        return result;
    }
    return DeleteFileW(wpath) ? PROTO_OK : os_error_rc(GetLastError());
}

enum proto_rc agent_os_rename(const char *from, const char *to)
{
    wchar_t wfrom[AGENT_OS_PATH_MAX];
    wchar_t wto[AGENT_OS_PATH_MAX];
    enum proto_rc result = os_wide_path(from, wfrom, AGENT_OS_PATH_MAX);
    if (result == PROTO_OK) {
        result = os_wide_path(to, wto, AGENT_OS_PATH_MAX);
    }
    if (result != PROTO_OK) {
        return result;
    }
    return MoveFileExW(wfrom, wto, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)
               ? PROTO_OK
               : os_error_rc(GetLastError());
}

enum proto_rc agent_os_list(const char *dir, agent_os_list_fn fn, void *ctx)
{
    char pattern[AGENT_OS_PATH_MAX];
    wchar_t wpattern[AGENT_OS_PATH_MAX];
    enum proto_rc result = agent_os_join(pattern, sizeof(pattern), dir, "*");
    if (result == PROTO_OK) {
        result = os_wide_path(pattern, wpattern, AGENT_OS_PATH_MAX);
    }
    if (result != PROTO_OK) {
        return result;
    }
    WIN32_FIND_DATAW fd;
    HANDLE find = FindFirstFileW(wpattern, &fd);
    if (find == INVALID_HANDLE_VALUE) {
        DWORD err = GetLastError();
        return err == ERROR_FILE_NOT_FOUND ? PROTO_OK : os_error_rc(err);
    }
    do {
        if (wcscmp(fd.cFileName, L".") == 0 || wcscmp(fd.cFileName, L"..") == 0) {
            continue;
        }
        char name[MAX_PATH * 4];
        if (WideCharToMultiByte(CP_UTF8, 0, fd.cFileName, -1, name, (int)sizeof(name), NULL,
                                NULL) <= 0) {
            continue; /* not a name the agent wrote */
        }
        result = fn(ctx, name);
        if (result != PROTO_OK) {
            break;
        }
    } while (FindNextFileW(find, &fd));
    if (result == PROTO_OK && GetLastError() != ERROR_NO_MORE_FILES) {
        result = PROTO_EIO;
    }
    FindClose(find);
    return result;
}

enum proto_rc agent_os_lock(const char *path, struct agent_os_file *lock)
{
    wchar_t wpath[AGENT_OS_PATH_MAX];
    lock->handle = -1;
    enum proto_rc result = os_wide_path(path, wpath, AGENT_OS_PATH_MAX);
    if (result != PROTO_OK) {
        return result;
    }
    HANDLE h =
        CreateFileW(wpath, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                    OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        return GetLastError() == ERROR_SHARING_VIOLATION ? PROTO_EUNAVAILABLE : PROTO_EIO;
    }
    OVERLAPPED ov;
    memset(&ov, 0, sizeof(ov));
    if (!LockFileEx(h, LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ov)) {
        DWORD err = GetLastError();
        CloseHandle(h);
        return err == ERROR_LOCK_VIOLATION || err == ERROR_IO_PENDING ? PROTO_EUNAVAILABLE
                                                                      : PROTO_EIO;
    }
    lock->handle = (intptr_t)h;
    return PROTO_OK;
}

void agent_os_unlock(struct agent_os_file *lock)
{
    agent_os_close(lock); /* closing the handle releases the byte-range lock */
}

int64_t agent_os_now_s(void)
{
    FILETIME ft;
    GetSystemTimeAsFileTime(&ft);
    uint64_t t = ((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime;
    return (int64_t)((t - OS_FILETIME_UNIX_EPOCH) / 10000000u);
}

uint64_t agent_os_monotonic_ms(void)
{
    return (uint64_t)GetTickCount64();
}

void agent_os_sleep_ms(uint64_t ms, volatile sig_atomic_t *stop)
{
    uint64_t end = agent_os_monotonic_ms() + ms;
    for (;;) {
        if (stop != NULL && *stop) {
            return;
        }
        uint64_t now = agent_os_monotonic_ms();
        if (now >= end) {
            return;
        }
        uint64_t left = end - now;
        Sleep((DWORD)(left < OS_SLEEP_SLICE_MS ? left : OS_SLEEP_SLICE_MS));
    }
}

uint64_t agent_os_random_seed(void)
{
    uint64_t seed = 0;
    if (BCryptGenRandom(NULL, (PUCHAR)&seed, sizeof(seed), BCRYPT_USE_SYSTEM_PREFERRED_RNG) >= 0) {
        return seed;
    }
    /* Agents started together still differ by process id; good enough to spread retries. */
    LARGE_INTEGER now;
    QueryPerformanceCounter(&now);
    return (uint64_t)now.QuadPart ^ ((uint64_t)GetCurrentProcessId() << 32);
}
