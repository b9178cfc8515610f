/*
 * os: the parts of agent_os.h that are the same on every OS, built on the per-OS primitives of
 * os_posix.c and os_win32.c (open/read/close, write_atomic). Calls no OS function itself.
 */
#include <stdio.h>

#include "agent_os.h"
#include "alloc.h"

enum proto_rc agent_os_replace_file(const char *path, const void *data, size_t len)
{
    char tmp[AGENT_OS_PATH_MAX];
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        return PROTO_ELIMIT;
    }
    return agent_os_write_atomic(tmp, path, data, len);
}

enum proto_rc agent_os_read_file(const char *path, size_t max, unsigned char **out, size_t *len)
{
    struct agent_os_file f = {-1};
    uint64_t size = 0;
    unsigned char *data = NULL;
    *out = NULL;
    *len = 0;
    enum proto_rc result = agent_os_open_read(path, &f, &size);
    if (result != PROTO_OK) {
        return result;
    }
    if (size > max) {
        result = PROTO_ELIMIT;
        goto out;
    }
    /* One byte more than the size: a file that grew meanwhile is caught, not truncated. */
    data = proto_malloc((size_t)size + 2);
    if (data == NULL) {
        result = PROTO_ENOMEM;
        goto out;
    }
    size_t got = 0;
    result = agent_os_read(&f, data, (size_t)size + 1, &got);
    if (result != PROTO_OK) {
        goto out;
    }
    if (got > max) {
        result = PROTO_ELIMIT;
        goto out;
    }
    data[got] = '\0';
    *out = data;
    *len = got;
    data = NULL;
out:
    proto_free(data);
    agent_os_close(&f);
    return result;
}

enum proto_rc agent_os_join(char *out, size_t out_size, const char *dir, const char *name)
{
    int n = snprintf(out, out_size, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= out_size ? PROTO_ELIMIT : PROTO_OK;
}
