/*
 * listen: listening sockets, peer addresses and the fd limit (see listen.h).
 */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "log.h"

/* "host:port", "[v6]:port" or ":port" into host (NULL for any) and port text. */
static bool col_listen_split_addr(const char *addr, char *host, size_t host_size, char *port,
                                  size_t port_size, bool *any)
{
    const char *colon;
    const char *host_start = addr;
    size_t host_len;

    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (close == NULL || close[1] != ':') {
            return false;
        }
        host_start = addr + 1;
        host_len = (size_t)(close - host_start);
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (colon == NULL) {
            return false;
        }
        host_len = (size_t)(colon - addr);
    }
    size_t port_len = strlen(colon + 1);
    if (host_len >= host_size || port_len == 0 || port_len >= port_size) {
        return false;
    }
    memcpy(host, host_start, host_len);
    host[host_len] = '\0';
    memcpy(port, colon + 1, port_len + 1);
    *any = host_len == 0;
    return true;
}

enum proto_rc col_listen_open(const char *addr, int *out_fd, unsigned *out_port, char *err,
                              size_t err_size)
{
    char host[128];
    char port[16];
    bool any = false;
    struct addrinfo hints;
    struct addrinfo *res = NULL;
    int fd = -1;
    int saved = 0;

    *out_fd = -1;
    *out_port = 0;
    if (!col_listen_split_addr(addr, host, sizeof(host), port, sizeof(port), &any)) {
        proto_errf(err, err_size, "listen address '%s': expected HOST:PORT", addr);
        return PROTO_EINVAL;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(any ? NULL : host, port, &hints, &res);
    if (gai != 0) {
        proto_errf(err, err_size, "listen address '%s': %s", addr, gai_strerror(gai));
        return PROTO_EINVAL;
    }
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1;
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0) {
            break;
        }
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        proto_errf(err, err_size, "listen on '%s': %s", addr, strerror(saved));
        return PROTO_EIO;
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    unsigned bound = 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET) {
            bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            bound = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
    }
    *out_fd = fd;
    *out_port = bound;
    return PROTO_OK;
}

void col_listen_format_addr(const struct sockaddr_storage *ss, char *out, size_t size)
{
    char host[INET6_ADDRSTRLEN];
    unsigned port = 0;
    int n = -1;

    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        if (inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host)) != NULL) {
            port = ntohs(in->sin_port);
            n = snprintf(out, size, "%s:%u", host, port);
        }
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        if (inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host)) != NULL) {
            port = ntohs(in6->sin6_port);
            n = snprintf(out, size, "[%s]:%u", host, port);
        }
    }
    if (n < 0 || (size_t)n >= size) {
        snprintf(out, size, "?");
    }
}

void col_listen_raise_fd_limit(unsigned long max_connections)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)max_connections + 64;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need) {
        return;
    }
    rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
    rlim_t old = rl.rlim_cur;
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || want < need) {
        col_log(COL_LOG_WARN,
                "open-file limit %llu (was %llu) is below max_connections + 64 = %llu",
                (unsigned long long)want, (unsigned long long)old, (unsigned long long)need);
    }
}
