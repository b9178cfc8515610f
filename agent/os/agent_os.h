/*
 * agent_os: the only place the agent touches the operating system's files, clock and
 * randomness. os_posix.c implements it on Linux, os_win32.c on Windows (MoveFileExW with
 * MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH, FlushFileBuffers, LockFileEx,
 * FindFirstFileW, GetTickCount64), os.c what both share. Paths are UTF-8 and may use '/' on
 * both; the Windows side converts to UTF-16. Every function returns PROTO_OK or a proto_rc;
 * none keeps global state except the lock handle it returns.
 */
#ifndef AGENT_OS_H
#define AGENT_OS_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "rc.h"

#define AGENT_OS_PATH_MAX 4096

/* ---- files ---- */

/* Creates `path` and any missing parents; folders the agent creates are private (0700 on
 * POSIX; on Windows they inherit the parent's ACL unless agent_os_secure_dir is called).
 * PROTO_EIO when a component exists and is not a folder. */
enum proto_rc agent_os_mkdirs(const char *path);

/* Restricts `path` (a folder) to the agent's account: 0700 on POSIX; on Windows a protected
 * DACL granting full control to SYSTEM and Administrators only. */
enum proto_rc agent_os_secure_dir(const char *path);

/* Replaces `path` with data[0..len) atomically: `tmp` (beside it, same file system) is written,
 * flushed to disk, renamed over `path`, and the folder entry made durable where the OS allows.
 * `tmp` is never opened through a symbolic link and is removed on failure. */
enum proto_rc agent_os_write_atomic(const char *tmp, const char *path, const void *data,
                                    size_t len);

/* An open file or lock: a file descriptor on POSIX, a HANDLE on Windows; -1 when closed. */
struct agent_os_file {
    intptr_t handle;
};

/* Opens a regular file for reading; *size gets its length. PROTO_ENOTFOUND if absent,
 * PROTO_EUNSUPPORTED for anything but a regular file (a folder, a symbolic link). */
enum proto_rc agent_os_open_read(const char *path, struct agent_os_file *f, uint64_t *size);
/* Reads up to `n` bytes (fewer only at end of file); *got says how many. */
enum proto_rc agent_os_read(struct agent_os_file *f, void *buf, size_t n, size_t *got);
void agent_os_close(struct agent_os_file *f); /* accepts a closed file */

/* agent_os_write_atomic through the temporary file `path` + ".tmp". */
enum proto_rc agent_os_replace_file(const char *path, const void *data, size_t len);

/* The absolute, canonical form of folder `path` into out. PROTO_ENOTFOUND when `path` is not
 * an existing folder, PROTO_ELIMIT when the result does not fit. */
enum proto_rc agent_os_absolute_dir(const char *path, char *out, size_t out_size);

/* Reads a regular file whole, up to `max` bytes. *out is caller-freed with proto_free and
 * NUL-terminated past *len. PROTO_ENOTFOUND if absent, PROTO_EUNSUPPORTED for a non-regular
 * file (folder, link), PROTO_ELIMIT when larger than max, PROTO_EIO otherwise. */
enum proto_rc agent_os_read_file(const char *path, size_t max, unsigned char **out, size_t *len);

/* Removes a file; PROTO_ENOTFOUND when it was already gone. `sync_dir`: also make the removal
 * durable (folder fsync on POSIX; nothing more is possible on Windows). */
enum proto_rc agent_os_remove(const char *path, int sync_dir);

/* Renames a file within one folder tree, replacing the target. PROTO_ENOTFOUND when `from` is
 * gone. */
enum proto_rc agent_os_rename(const char *from, const char *to);

/* Makes the entries of folder `dir` durable (fsync of the folder on POSIX; a no-op on Windows,
 * where MOVEFILE_WRITE_THROUGH already did it). */
enum proto_rc agent_os_sync_dir(const char *dir);

/* Calls fn for every entry of `dir` except "." and ".."; stops at the first non-OK answer and
 * returns it. fn may remove or rename the entry it was given. */
typedef enum proto_rc (*agent_os_list_fn)(void *ctx, const char *name);
enum proto_rc agent_os_list(const char *dir, agent_os_list_fn fn, void *ctx);

/* An exclusive lock on file `path` (created if missing), held until agent_os_unlock.
 * PROTO_EUNAVAILABLE when another process holds it. */
enum proto_rc agent_os_lock(const char *path, struct agent_os_file *lock);
void agent_os_unlock(struct agent_os_file *lock); /* accepts a closed one */

/* "dir/name" into out; PROTO_ELIMIT when it does not fit. */
enum proto_rc agent_os_join(char *out, size_t out_size, const char *dir, const char *name);

/* ---- clock (the run loop's real clock; tests pass their own through agent_run_clock) ---- */

int64_t agent_os_now_s(void);         /* Unix seconds, UTC */
uint64_t agent_os_monotonic_ms(void); /* never goes back; 0 only on failure */
/* Sleeps `ms`, in slices, returning early once *stop becomes non-zero (stop may be NULL). */
void agent_os_sleep_ms(uint64_t ms, volatile sig_atomic_t *stop);

/* 64 bits from the OS's random source (/dev/urandom, BCryptGenRandom), falling back to time
 * and process id: a seed for spreading retries, never for secrets. */
uint64_t agent_os_random_seed(void);

#endif
