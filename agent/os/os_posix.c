/*
 * os_posix: agent_os.h on Linux and other POSIX systems (os.c holds what every OS shares).
 *
 * Files are opened with O_CLOEXEC and, where the agent writes or reads its own state, with
 * O_NOFOLLOW, so a planted symbolic link cannot redirect a write. Durability is fsync of the
 * file, rename, then fsync of the folder. The lock is an fcntl record lock, which belongs to
 * the process: one opener per process.
 */
#include "agent_os.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define OS_SLEEP_SLICE_MS 100u

static enum proto_rc os_errno_rc(int err)
{
    return err == ENOENT ? PROTO_ENOTFOUND : PROTO_EIO;
}

enum proto_rc agent_os_mkdirs(const char *path)
{
    char buf[AGENT_OS_PATH_MAX];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof(buf)) {
        return PROTO_EINVAL;
    }
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0') {
            continue;
        }
        char saved = buf[i];
        buf[i] = '\0';
        struct stat st;
        if (mkdir(buf, 0700) != 0 && errno != EEXIST &&
            (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))) {
            return os_errno_rc(errno);
        }
        buf[i] = saved;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        return os_errno_rc(errno);
    }
    return S_ISDIR(st.st_mode) ? PROTO_OK : PROTO_EIO;
}

enum proto_rc agent_os_secure_dir(const char *path)
{
    return chmod(path, 0700) == 0 ? PROTO_OK : os_errno_rc(errno);
}

enum proto_rc agent_os_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return os_errno_rc(errno);
    }
    /* Some file systems refuse fsync on a folder (EINVAL): nothing more can be done there. */
    int rc = fsync(fd) != 0 && errno != EINVAL ? -1 : 0;
    close(fd);
    return rc == 0 ? PROTO_OK : PROTO_EIO;
}

/* The folder part of path ("." when there is none) into out. */
static void os_dirname(const char *path, char *out, size_t out_size)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        snprintf(out, out_size, ".");
    } else if (slash == path) {
        snprintf(out, out_size, "/");
    } else {
        snprintf(out, out_size, "%.*s", (int)(slash - path), path);
    }
}

enum proto_rc agent_os_write_atomic(const char *tmp, const char *path, const void *data, size_t len)
{
    const unsigned char *p = data;
    if (tmp == NULL || path == NULL || (data == NULL && len > 0)) {
        return PROTO_EINVAL;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return PROTO_EIO;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, p + done, len - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            goto fail;
        }
        done += (size_t)n;
    }
    if (fsync(fd) != 0) {
        goto fail;
    }
    int closed = close(fd);
    fd = -1;
    if (closed != 0 || rename(tmp, path) != 0) {
        goto fail;
    }
    char dir[AGENT_OS_PATH_MAX];
    os_dirname(path, dir, sizeof(dir));
    return agent_os_sync_dir(dir);
fail:
    if (fd >= 0) {
        close(fd);
    }
    unlink(tmp);
    return PROTO_EIO;
}

enum proto_rc agent_os_absolute_dir(const char *path, char *out, size_t out_size)
{
    char abs[PATH_MAX];
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode) || realpath(path, abs) == NULL) {
        return PROTO_ENOTFOUND;
    }
    int n = snprintf(out, out_size, "%s", abs);
    return n < 0 || (size_t)n >= out_size ? PROTO_ELIMIT : PROTO_OK;
}

enum proto_rc agent_os_open_read(const char *path, struct agent_os_file *f, uint64_t *size)
{
    f->handle = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        return errno == ELOOP ? PROTO_EUNSUPPORTED : os_errno_rc(errno);
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return PROTO_EIO;
    }
    if (!S_ISREG(st.st_mode) || st.st_size < 0) {
        close(fd);
        return PROTO_EUNSUPPORTED;
    }
    f->handle = fd;
    *size = (uint64_t)st.st_size;
    return PROTO_OK;
}

enum proto_rc agent_os_read(struct agent_os_file *f, void *buf, size_t n, size_t *got)
{
    unsigned char *p = buf;
    size_t done = 0;
    while (done < n) {
        ssize_t r = read((int)f->handle, p + done, n - done);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            return PROTO_EIO;
        }
        if (r == 0) {
            break;
        }
        done += (size_t)r;
    }
    *got = done;
    return PROTO_OK;
}

void agent_os_close(struct agent_os_file *f)
{
    if (f->handle >= 0) {
        close((int)f->handle);
        f->handle = -1;
    }
}

enum proto_rc agent_os_remove(const char *path, int sync_dir)
{
    if (unlink(path) != 0) {
        return os_errno_rc(errno);
    }
    if (!sync_dir) {
        return PROTO_OK;
    }
    char dir[AGENT_OS_PATH_MAX];
    os_dirname(path, dir, sizeof(dir));
    return agent_os_sync_dir(dir);
}

enum proto_rc agent_os_rename(const char *from, const char *to)
{
    return rename(from, to) == 0 ? PROTO_OK : os_errno_rc(errno);
}

enum proto_rc agent_os_list(const char *dir, agent_os_list_fn fn, void *ctx)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        return os_errno_rc(errno);
    }
    enum proto_rc result = PROTO_OK;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (e == NULL) {
            if (errno != 0) {
                result = PROTO_EIO;
            }
            break;
        }
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        result = fn(ctx, e->d_name);
        if (result != PROTO_OK) {
            break;
        }
    }
    closedir(d);
    return result;
}

enum proto_rc agent_os_lock(const char *path, struct agent_os_file *lock)
{
    lock->handle = -1;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return PROTO_EIO;
    }
    struct flock fl;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = (short)F_WRLCK;
    fl.l_whence = (short)SEEK_SET;
    if (fcntl(fd, F_SETLK, &fl) != 0) {
        int err = errno;
        close(fd);
        return err == EACCES || err == EAGAIN ? PROTO_EUNAVAILABLE : PROTO_EIO;
    }
    lock->handle = fd;
    return PROTO_OK;
}

void agent_os_unlock(struct agent_os_file *lock)
{
    agent_os_close(lock); /* closing releases the fcntl lock */
}

int64_t agent_os_now_s(void)
{
    return (int64_t)time(NULL);
}

uint64_t agent_os_monotonic_ms(void)
{
    struct timespec ts = {0, 0};
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        return 0;
    }
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Slices, so that a SIGTERM arriving just before nanosleep still ends the wait promptly. */
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
        uint64_t slice = left < OS_SLEEP_SLICE_MS ? left : OS_SLEEP_SLICE_MS;
        struct timespec ts = {(time_t)(slice / 1000u), (long)(slice % 1000u) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR && (stop == NULL || !*stop)) {
        }
    }
}

uint64_t agent_os_random_seed(void)
{
    uint64_t seed = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    if (f != NULL) {
        size_t got = fread(&seed, 1, sizeof(seed), f);
        fclose(f);
        if (got == sizeof(seed)) {
            return seed;
        }
    }
    /* Agents started together still differ by pid; good enough to spread retries. */
    struct timespec ts = {0, 0};
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    seed = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec;
    return seed ^ ((uint64_t)getpid() << 32);
}
