/*
 * log: leveled, timestamped log lines on stderr (see log.h).
 *
 * Owns only the threshold and the output fd, both atomics. One write(2) per line keeps lines
 * whole across threads (a write of < PIPE_BUF to a pipe is atomic; to a tty or file it is in
 * practice). Never allocates, so it is safe to call on out-of-memory paths.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

static _Atomic int col_log_level_value = COL_LOG_INFO;
static _Atomic int col_log_fd_value = 2;

static const char *const col_log_names[] = {"error", "warn", "info", "debug"};

void col_log_set_level(enum col_log_level level)
{
    if ((int)level < (int)COL_LOG_ERROR || level > COL_LOG_DEBUG) {
        return;
    }
    atomic_store(&col_log_level_value, (int)level);
}

enum proto_rc col_log_set_level_name(const char *name)
{
    if (name == NULL) {
        return PROTO_EINVAL;
    }
    for (size_t k = 0; k < sizeof(col_log_names) / sizeof(col_log_names[0]); k++) {
        if (strcasecmp(name, col_log_names[k]) == 0) {
            col_log_set_level((enum col_log_level)k);
            return PROTO_OK;
        }
    }
    return PROTO_EINVAL;
}

enum col_log_level col_log_get_level(void)
{
    return (enum col_log_level)atomic_load(&col_log_level_value);
}

bool col_log_enabled(enum col_log_level level)
{
    return (int)level <= atomic_load(&col_log_level_value);
}

const char *col_log_level_str(enum col_log_level level)
{
    if ((int)level < (int)COL_LOG_ERROR || level > COL_LOG_DEBUG) {
        return "?";
    }
    return col_log_names[level];
}

int col_log_set_fd(int fd)
{
    return atomic_exchange(&col_log_fd_value, fd);
}

/* RFC 3339 UTC with milliseconds: "2026-11-25T10:01:02.345Z". */
static size_t col_log_timestamp(char *out, size_t size)
{
    struct tm tm;
    int64_t now_ms = col_clock_system_now_ms();
    time_t seconds = (time_t)(now_ms / 1000);

    if (gmtime_r(&seconds, &tm) == NULL) {
        return 0;
    }
    size_t n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
    if (n == 0) {
        return 0;
    }
    int m = snprintf(out + n, size - n, ".%03ldZ", (long)(now_ms % 1000));
    if (m < 0 || (size_t)m >= size - n) {
        return 0;
    }
    return n + (size_t)m;
}

void col_log(enum col_log_level level, const char *fmt, ...)
{
    char line[COL_LOG_MAX_LINE];
    va_list ap;

    if (!col_log_enabled(level)) {
        return;
    }
    int saved_errno = errno;
    size_t len = col_log_timestamp(line, sizeof(line));
    int n = snprintf(line + len, sizeof(line) - len, " %-5s ", col_log_level_str(level));
    if (n < 0 || (size_t)n >= sizeof(line) - len) {
        goto out;
    }
    len += (size_t)n;
    size_t start = len;
    va_start(ap, fmt);
    n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        goto out;
    }
    if ((size_t)n >= sizeof(line) - len) {
        /* Truncated: mark it, keeping room for the newline. */
        len = sizeof(line) - 5;
        line[len - 3] = '.';
        line[len - 2] = '.';
        line[len - 1] = '.';
    } else {
        len += (size_t)n;
    }
    for (size_t k = start; k < len; k++) {
        unsigned char c = (unsigned char)line[k];
        if (c < 0x20 || c == 0x7f) {
            line[k] = '?';
        }
    }
    line[len++] = '\n';
    const char *p = line;
    int fd = atomic_load(&col_log_fd_value);
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            break;
        }
        p += w;
        len -= (size_t)w;
    }
out:
    errno = saved_errno;
}
