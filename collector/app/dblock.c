/*
 * dblock: "<db>.lock", held with fcntl(F_SETLK) for the life of `serve` (see dblock.h).
 *
 * A classic record lock rather than flock() or an OFD lock because F_GETLK names the process
 * that holds it, which is what the second collector's message needs; the PID written into the
 * file is only a fallback for a holder on a file system that does not report it. Record locks
 * are per process and vanish when any descriptor of the file is closed, so this module is the
 * only code that opens the lock file.
 */
#include "dblock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"

#define DBLOCK_PATH_MAX 4096
#define DBLOCK_PID_MAX 32

struct col_dblock {
    int fd;
};

/* The PID the holder wrote into the file, or 0. */
static long dblock_read_pid(int fd)
{
    char text[DBLOCK_PID_MAX] = "";
    ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
    if (n <= 0) {
        return 0;
    }
    text[n] = '\0';
    char *end = NULL;
    errno = 0;
    long pid = strtol(text, &end, 10);
    return errno == 0 && end != text && pid > 0 ? pid : 0;
}

enum proto_rc col_dblock_take(const char *db_path, struct col_dblock **out, char *err,
                              size_t err_size)
{
    char path[DBLOCK_PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s.lock", db_path);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        proto_errf(err, err_size, "database path too long for its lock file");
        return PROTO_ELIMIT;
    }
    *out = NULL;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        proto_errf(err, err_size, "cannot open the lock file %s: %s", path, strerror(errno));
        return PROTO_EIO;
    }
    struct flock fl;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_SETLK, &fl) != 0) {
        int why = errno;
        if (why != EACCES && why != EAGAIN) {
            proto_errf(err, err_size, "cannot lock %s: %s", path, strerror(why));
            close(fd);
            return PROTO_EIO;
        }
        memset(&fl, 0, sizeof(fl));
        fl.l_type = F_WRLCK;
        fl.l_whence = SEEK_SET;
        long pid = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK ? (long)fl.l_pid : 0;
        if (pid <= 0) {
            pid = dblock_read_pid(fd);
        }
        close(fd);
        if (pid > 0) {
            proto_errf(err, err_size,
                       "another collector (pid %ld) is serving %s: it holds %s; stop it first", pid,
                       db_path, path);
        } else {
            proto_errf(err, err_size, "another collector is serving %s: it holds %s", db_path,
                       path);
        }
        return PROTO_EUNAVAILABLE;
    }
    char text[DBLOCK_PID_MAX];
    n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
    if (n < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)n, 0) != n) {
        /* The lock holds without it: the PID in the file is only for people. */
        col_log(COL_LOG_WARN, "cannot write the PID into %s: %s", path, strerror(errno));
    }
    struct col_dblock *lock = proto_calloc(1, sizeof(*lock));
    if (lock == NULL) {
        close(fd);
        return PROTO_ENOMEM;
    }
    lock->fd = fd;
    *out = lock;
    return PROTO_OK;
}

void col_dblock_release(struct col_dblock *lock)
{
    if (lock == NULL) {
        return;
    }
    /* Emptied so that a stale PID is not taken for a holder's; closing releases the lock (if
     * the truncation fails, F_GETLK still tells the next collector that nobody holds it). */
    int rc = ftruncate(lock->fd, 0);
    (void)rc;
    close(lock->fd);
    proto_free(lock);
}
