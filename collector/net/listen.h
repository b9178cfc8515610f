/*
 * listen: the server's sockets as the operating system sees them: parsing a listen address and
 * binding a non-blocking listening socket to it, naming an accepted peer's address, and raising
 * the open-file limit so that max_connections sockets fit. Owns nothing: the listening socket it
 * opens is the caller's.
 */
#ifndef COL_LISTEN_H
#define COL_LISTEN_H

#include <stddef.h>
#include <sys/socket.h>

#include "rc.h"

/*
 * Binds and listens on addr ("host:port", "[v6]:port" or ":port" for any address). On success
 * *fd is the listening socket (non-blocking, close-on-exec; caller closes) and *port the bound
 * port (useful with port 0). On failure err says what (address, errno text).
 */
enum proto_rc col_listen_open(const char *addr, int *fd, unsigned *port, char *err,
                              size_t err_size);

/* "a.b.c.d:port" or "[v6]:port" of an accepted peer into out; "?" when it cannot be told. */
void col_listen_format_addr(const struct sockaddr_storage *ss, char *out, size_t size);

/* Each connection holds a socket: raises the soft fd limit to max_connections + 64 when the hard
 * limit allows, and warns when it cannot. */
void col_listen_raise_fd_limit(unsigned long max_connections);

#endif
