/*
 * peer: who is on the other end of a request, as the TLS layer established it.
 *
 * Filled by the server from the verified client certificate (agent listener) and handed to the
 * router read-only. `identity` is the certificate's first SAN DNS name, else its subject CN;
 * a wildcard name is never an identity (DESIGN §8): identity is then "" and agent endpoints
 * answer 403.
 */
#ifndef COL_PEER_H
#define COL_PEER_H

#include <stdbool.h>

enum col_listener_kind {
    COL_LISTENER_AGENT, /* mutual TLS required; agent endpoints */
    COL_LISTENER_ADMIN  /* server-auth TLS; bearer tokens; dashboard and admin API */
};

struct col_peer {
    enum col_listener_kind listener;
    bool has_client_cert; /* a client certificate chained to the client CA */
    char identity[256];   /* lower-case host name, "" when none usable */
    char subject[512];    /* the certificate subject as text, for logs and audit */
    char remote_addr[64]; /* "127.0.0.1:53122" */
};

#endif
