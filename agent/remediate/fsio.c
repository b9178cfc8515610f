/*
 * fsio: atomic file replacement and the folder operations the remediation state needs.
 *
 * The temp file ("<target>.tmp", truncated if a crash left one) sits beside the target (same
 * file system, so the rename is atomic) and is never opened through a symbolic link; the folder
 * is fsynced after the rename so the new name survives a power cut.
 */
#include "fsio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The folder part of path ("." when there is none) into out. */
static void fsio_dirname(const char *path, char *out, size_t out_size)
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

static enum proto_rc fsio_sync_dir(const char *path)
{
    char dir[4096];
    fsio_dirname(path, dir, sizeof(dir));
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return PROTO_EIO;
    }
    /* Some file systems refuse fsync on a folder (EINVAL): nothing more can be done there. */
    int rc = fsync(fd) != 0 && errno != EINVAL ? -1 : 0;
    close(fd);
    return rc == 0 ? PROTO_OK : PROTO_EIO;
}

enum proto_rc agent_fsio_join(char *out, size_t out_size, const char *dir, const char *name)
{
    int n = snprintf(out, out_size, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= out_size ? PROTO_ELIMIT : PROTO_OK;
}

enum proto_rc agent_fsio_write_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
    char tmp[4096];
    const unsigned char *p = data;
    int fd = -1;

    if (path == NULL || (data == NULL && len > 0)) {
        return PROTO_EINVAL;
    }
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        return PROTO_ELIMIT;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, (mode_t)mode);
    if (fd < 0) {
        return PROTO_EIO;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, p + done, len - done);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            goto fail;
        }
        done += (size_t)w;
    }
    if (fsync(fd) != 0) {
        goto fail;
    }
    int closed = close(fd);
    fd = -1;
    if (closed != 0 || rename(tmp, path) != 0) {
        goto fail;
    }
    return fsio_sync_dir(path);
fail:
    if (fd >= 0) {
        close(fd);
    }
    unlink(tmp);
    return PROTO_EIO;
}

enum proto_rc agent_fsio_remove(const char *path)
{
    if (unlink(path) != 0) {
        return errno == ENOENT ? PROTO_OK : PROTO_EIO;
    }
    return fsio_sync_dir(path);
}

enum proto_rc agent_fsio_mkdir(const char *path)
{
    struct stat st;
    if (mkdir(path, 0700) == 0) {
        return PROTO_OK;
    }
    if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        return PROTO_OK;
    }
    return PROTO_EIO;
}
