/*
 * tls: the collector's TLS layer on mbedTLS 2.28: the shared server configuration and one
 * session per connection with deadline-bounded blocking I/O, or non-blocking I/O for the event
 * thread (col_tls_conn_set_nonblocking; the _nb calls only while it is set); a session context
 * can be reset and reused for the next connection (it keeps its record buffers, never the
 * previous peer's state).
 *
 * struct col_tls owns the random generator (seeded once), the server certificate and key, the
 * client CA bundle and, per listener, an mbedtls_ssl_config plus a session cache and a ticket
 * key; after col_tls_create they are only read (the cache, ticket and DRBG contexts lock
 * internally: Debian builds mbedTLS with MBEDTLS_THREADING_PTHREAD). The agent listener
 * requires a client certificate chained to the client CA with the Client Authentication EKU
 * (or none); the admin listener asks for none. TLS 1.2 only, ECDHE with AEAD only, X25519 and
 * P-256. A col_tls_conn borrows its fd and never closes it; it never logs key material.
 */
#ifndef COL_TLS_H
#define COL_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/x509_crt.h>

#include "peer.h"
#include "rc.h"

#define COL_TLS_DEFAULT_CACHE_MAX 10000u        /* sessions kept for clients without tickets */
#define COL_TLS_DEFAULT_SESSION_LIFETIME 86400u /* seconds a ticket or cache entry is valid */
#define COL_TLS_DEFAULT_CLOCK_RECHECK_MS 1000u

struct col_tls_settings {
    const char *cert_file;       /* PEM: server certificate (chain), leaf first */
    const char *key_file;        /* PEM: its unencrypted private key */
    const char *client_ca_file;  /* PEM bundle; NULL or "" leaves the agent config unset */
    bool session_tickets;        /* RFC 5077 tickets (a session cache is always on) */
    const char *ticket_key_file; /* agent listener's ticket keys (ticket_keys.h); NULL/"": memory */
    unsigned long session_cache_max;  /* 0: COL_TLS_DEFAULT_CACHE_MAX */
    unsigned long session_lifetime_s; /* 0: COL_TLS_DEFAULT_SESSION_LIFETIME */
    /* A blocked call poll()s at most this long (real time) before it reads the clock again, so
     * a clock a test moves forward is noticed within it. 0: COL_TLS_DEFAULT_CLOCK_RECHECK_MS. */
    unsigned long clock_recheck_ms;
};

struct col_tls;

/* Loads the files and builds both configurations. On failure *out is NULL and err says which
 * file and why. Caller destroys with col_tls_destroy, after every connection has ended. */
enum proto_rc col_tls_create(const struct col_tls_settings *settings, struct col_tls **out,
                             char *err, size_t err_size);
void col_tls_destroy(struct col_tls *tls); /* accepts NULL */

/* Whether a client CA was configured (the agent listener needs one). */
bool col_tls_has_client_ca(const struct col_tls *tls);

enum col_tls_io {
    COL_TLS_IO_OK,
    COL_TLS_IO_CLOSED,  /* the peer closed (close_notify, EOF or reset) */
    COL_TLS_IO_TIMEOUT, /* the deadline passed */
    COL_TLS_IO_STOPPED, /* the stop fd became readable while the call was stoppable */
    COL_TLS_IO_ERROR,   /* a TLS or socket error: the connection is unusable */
    COL_TLS_IO_AGAIN    /* non-blocking calls only: the socket would block, call again later */
};

const char *col_tls_io_str(enum col_tls_io io); /* borrowed static string */

struct col_tls_conn;

/* Every deadline_ms below is a reading of the collector's clock, col_clock_monotonic_ms()
 * (clock.h), plus a timeout. */

/*
 * A session on connected, non-blocking socket `fd` (borrowed). `stop_fd` (borrowed, or -1) is
 * polled by stoppable calls: once readable they return COL_TLS_IO_STOPPED. NULL on allocation
 * or setup failure. Caller destroys with col_tls_conn_destroy, then closes fd.
 */
struct col_tls_conn *col_tls_conn_create(struct col_tls *tls, enum col_listener_kind kind, int fd,
                                         int stop_fd);
void col_tls_conn_destroy(struct col_tls_conn *conn); /* accepts NULL */

/*
 * Makes conn ready for a new connection on `fd` (borrowed) on a listener of `kind`, as a new
 * col_tls_conn_create would, but keeps the allocation and mbedTLS's two record buffers: the
 * previous connection's session (peer certificate included), keys, handshake state, record
 * counters and buffered bytes are freed or zeroed (mbedtls_ssl_session_reset), as are our own
 * per-connection fields; for a listener of the other kind the mbedTLS context is set up again.
 * A context with no I/O since it was created or reset only takes the new fd, so resetting at the
 * end of a connection (to wipe the peer's state at once) and again before the next costs one
 * reset. stop_fd is kept. On failure (PROTO_ENOMEM, PROTO_ECRYPTO) conn is unusable: destroy it.
 */
enum proto_rc col_tls_conn_reset(struct col_tls_conn *conn, enum col_listener_kind kind, int fd);

/*
 * Runs the handshake until deadline_ms. On OK, fills peer->listener, has_client_cert, identity
 * and subject (remote_addr is left alone), and *resumed says whether a ticket or a cached
 * session was used. On failure `why` gets a short reason for the log (no secrets).
 */
enum col_tls_io col_tls_conn_handshake(struct col_tls_conn *conn, uint64_t deadline_ms,
                                       bool stoppable, struct col_peer *peer, bool *resumed,
                                       char *why, size_t why_size);

/* Reads 1..size application bytes into buf; *got is how many. */
enum col_tls_io col_tls_conn_read(struct col_tls_conn *conn, void *buf, size_t size, size_t *got,
                                  uint64_t deadline_ms, bool stoppable);

/* Writes all of data[0..len). */
enum col_tls_io col_tls_conn_write(struct col_tls_conn *conn, const void *data, size_t len,
                                   uint64_t deadline_ms);

/*
 * Non-blocking use, for the server's event thread (events.c). While set, the calls
 * below never wait: a socket that would block makes them return COL_TLS_IO_AGAIN. Clear it
 * before using the deadline-bounded calls above again.
 */
void col_tls_conn_set_nonblocking(struct col_tls_conn *conn, bool on);
/* Whether mbedTLS holds received bytes not yet returned (a readable socket is not needed). */
bool col_tls_conn_pending(struct col_tls_conn *conn);
/* Reads 1..size application bytes, or COL_TLS_IO_AGAIN when none are ready yet (a partly
 * received record stays buffered in the context). */
enum col_tls_io col_tls_conn_read_nb(struct col_tls_conn *conn, void *buf, size_t size,
                                     size_t *got);
/* Writes data[*sent..len), advancing *sent (start it at 0). On COL_TLS_IO_AGAIN a record may be
 * half sent: finish with col_tls_conn_write(conn, data + *sent, len - *sent, ...), which
 * completes it first, as mbedTLS requires (the same bytes passed again). */
enum col_tls_io col_tls_conn_write_nb(struct col_tls_conn *conn, const void *data, size_t len,
                                      size_t *sent);
/* Sends close_notify (best effort, bounded by deadline_ms). */
void col_tls_conn_close_notify(struct col_tls_conn *conn, uint64_t deadline_ms);

/*
 * The identity DESIGN §8 binds to a host: the first SAN dNSName, else the subject CN,
 * lower-cased. Only host-name characters (letters, digits, '-', '.', '_') are accepted, so a
 * wildcard ("*.contoso.com") or any other odd name yields "". out gets at most size - 1 chars;
 * a longer name also yields "".
 */
void col_tls_identity(const mbedtls_x509_crt *crt, char *out, size_t size);

#endif
