/*
 * tls: mbedTLS 2.28 server configuration and per-connection sessions (see tls.h).
 *
 * I/O goes through our own BIO callbacks instead of mbedtls_net_*: the socket is non-blocking
 * and each callback poll()s until the caller's deadline, so one rule bounds the handshake,
 * the request head, the body and writes to a client that stops reading. Deadlines are read on
 * the collector's clock (clock.h); a poll() sleeps at most clock_recheck_ms of real time
 * before it looks at that clock again. Resumption is detected
 * by wrapping the cache and ticket callbacks: mbedTLS 2.28 has no public "was this resumed"
 * query, and each connection runs on one thread, so a thread-local flag is exact (it is cleared
 * at the start of every handshake, so a pooled thread's previous connection cannot leak into it).
 * Owns all mbedTLS state; never closes the fds it borrows and never logs.
 */
#include "tls.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_cache.h>
#include <mbedtls/ssl_ticket.h>

#include "alloc.h"
#include "clock.h"
#include "digest.h"
#include "ticket_keys.h"

#define COL_TLS_LISTENERS 2

/* ECDHE key exchange, AEAD ciphers only; the server's order wins. ECDSA first: our certs. */
static const int col_tls_suites[] = {MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
                                     MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
                                     MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
                                     MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
                                     MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
                                     MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
                                     0};

/* mbedTLS 2.28 orders curves largest first (secp521r1): several times slower per handshake. */
static const mbedtls_ecp_group_id col_tls_curves[] = {
    MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_NONE};

static const unsigned char col_tls_personalization[] = "rrasfleet-collector tls";

struct col_tls_listener {
    mbedtls_ssl_config conf;
    mbedtls_ssl_cache_context cache;
    mbedtls_ssl_ticket_context ticket;
    struct col_ticket_keys *keys; /* NULL: mbedTLS's own keys, in memory only */
    bool ready;
};

struct col_tls {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt cert;
    mbedtls_pk_context key;
    mbedtls_x509_crt client_ca;
    bool has_client_ca;
    unsigned long clock_recheck_ms;
    struct col_tls_listener listeners[COL_TLS_LISTENERS]; /* by enum col_listener_kind */
};

struct col_tls_conn {
    struct col_tls *tls;
    enum col_listener_kind kind;
    int fd;
    int stop_fd;
    uint64_t deadline_ms;
    bool stoppable;
    enum col_tls_io io; /* why the last BIO call failed; OK when it did not */
    bool pristine;      /* set up or reset, and no I/O since: a reset has nothing to clear */
    bool nonblocking;   /* the BIO answers WANT_READ/WANT_WRITE instead of waiting */
    mbedtls_ssl_context ssl;
};

/* Set by the cache/ticket wrappers when this thread's current handshake resumes a session. */
static _Thread_local bool col_tls_resumed_here;

const char *col_tls_io_str(enum col_tls_io io)
{
    switch (io) {
    case COL_TLS_IO_OK:
        return "ok";
    case COL_TLS_IO_CLOSED:
        return "closed by peer";
    case COL_TLS_IO_TIMEOUT:
        return "timed out";
    case COL_TLS_IO_STOPPED:
        return "server stopping";
    case COL_TLS_IO_ERROR:
        return "error";
    case COL_TLS_IO_AGAIN:
        return "would block";
    }
    return "?";
}

static void col_tls_errf(char *err, size_t size, const char *what, const char *path, int ret)
{
    char text[128];
    mbedtls_strerror(ret, text, sizeof(text));
    if (err != NULL && size > 0) {
        int n = snprintf(err, size, "%s '%s': %s", what, path, text);
        if (n < 0) {
            err[0] = '\0';
        }
    }
}

static int col_tls_cache_get(void *ctx, mbedtls_ssl_session *session)
{
    int ret = mbedtls_ssl_cache_get(ctx, session);
    if (ret == 0) {
        col_tls_resumed_here = true;
    }
    return ret;
}

static int col_tls_cache_set(void *ctx, const mbedtls_ssl_session *session)
{
    return mbedtls_ssl_cache_set(ctx, session);
}

/* The ticket callbacks get the listener: persisted keys rotate (and are saved) before use. */
static int col_tls_ticket_write(void *ctx, const mbedtls_ssl_session *session, unsigned char *start,
                                const unsigned char *end, size_t *tlen, uint32_t *lifetime)
{
    struct col_tls_listener *l = ctx;
    if (l->keys != NULL) {
        (void)col_ticket_keys_refresh(l->keys); /* a failed save only costs resumption later */
    }
    return mbedtls_ssl_ticket_write(&l->ticket, session, start, end, tlen, lifetime);
}

static int col_tls_ticket_parse(void *ctx, mbedtls_ssl_session *session, unsigned char *buf,
                                size_t len)
{
    struct col_tls_listener *l = ctx;
    if (l->keys != NULL) {
        (void)col_ticket_keys_refresh(l->keys);
    }
    int ret = mbedtls_ssl_ticket_parse(&l->ticket, session, buf, len);
    if (ret == 0) {
        col_tls_resumed_here = true;
    }
    return ret;
}

/* SHA-256 over the DER of every client CA: a resumed session skips the client-certificate check,
 * so saved ticket keys are only used under the same trusted CAs (ticket_keys.h). */
static void col_tls_ca_digest(const mbedtls_x509_crt *chain, unsigned char out[32])
{
    struct proto_sha256_stream sha;
    proto_sha256_init(&sha);
    for (const mbedtls_x509_crt *c = chain; c != NULL; c = c->next) {
        proto_sha256_update(&sha, c->raw.p, c->raw.len);
    }
    /* A failure (impossible with the C implementation) leaves a zeroed digest: keys then just
     * rebind. */
    (void)proto_sha256_final(&sha, out);
}

/*
 * One listener's configuration. Each listener has its own cache and ticket key so that a
 * session made on the admin listener (no client certificate) can never be resumed on the agent
 * listener, where it would skip client authentication.
 */
static enum proto_rc col_tls_listener_setup(struct col_tls *tls, enum col_listener_kind kind,
                                            const struct col_tls_settings *s, char *err,
                                            size_t err_size)
{
    struct col_tls_listener *l = &tls->listeners[kind];
    unsigned long lifetime =
        s->session_lifetime_s ? s->session_lifetime_s : COL_TLS_DEFAULT_SESSION_LIFETIME;
    unsigned long cache_max =
        s->session_cache_max ? s->session_cache_max : COL_TLS_DEFAULT_CACHE_MAX;
    const char *name = kind == COL_LISTENER_AGENT ? "agent listener" : "admin listener";

    int ret = mbedtls_ssl_config_defaults(&l->conf, MBEDTLS_SSL_IS_SERVER,
                                          MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
    if (ret != 0) {
        col_tls_errf(err, err_size, "TLS configuration", name, ret);
        return PROTO_ECRYPTO;
    }
    mbedtls_ssl_conf_rng(&l->conf, mbedtls_ctr_drbg_random, &tls->drbg);
    mbedtls_ssl_conf_min_version(&l->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                 MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_max_version(&l->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                 MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_ciphersuites(&l->conf, col_tls_suites);
    mbedtls_ssl_conf_curves(&l->conf, col_tls_curves);
    ret = mbedtls_ssl_conf_own_cert(&l->conf, &tls->cert, &tls->key);
    if (ret != 0) {
        col_tls_errf(err, err_size, "TLS certificate", name, ret);
        return PROTO_ECRYPTO;
    }
    if (kind == COL_LISTENER_AGENT) {
        mbedtls_ssl_conf_authmode(&l->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
        mbedtls_ssl_conf_ca_chain(&l->conf, &tls->client_ca, NULL);
    } else {
        mbedtls_ssl_conf_authmode(&l->conf, MBEDTLS_SSL_VERIFY_NONE);
    }
    mbedtls_ssl_cache_set_max_entries(&l->cache, cache_max > 1000000ul ? 1000000 : (int)cache_max);
    mbedtls_ssl_cache_set_timeout(&l->cache, lifetime > 604800ul ? 604800 : (int)lifetime);
    mbedtls_ssl_conf_session_cache(&l->conf, &l->cache, col_tls_cache_get, col_tls_cache_set);
    if (s->session_tickets) {
        ret = mbedtls_ssl_ticket_setup(&l->ticket, mbedtls_ctr_drbg_random, &tls->drbg,
                                       MBEDTLS_CIPHER_AES_256_GCM,
                                       (uint32_t)(lifetime > 604800ul ? 604800ul : lifetime));
        if (ret != 0) {
            col_tls_errf(err, err_size, "TLS session tickets", name, ret);
            return PROTO_ECRYPTO;
        }
        /* Only the agent listener's keys are kept: that is where a restart would bring every
         * agent back with a full handshake; the admin listener's few clients do not matter. */
        if (kind == COL_LISTENER_AGENT && s->ticket_key_file != NULL &&
            s->ticket_key_file[0] != '\0') {
            unsigned char binding[COL_TICKET_KEYS_BINDING_LEN];
            col_tls_ca_digest(&tls->client_ca, binding);
            enum proto_rc result = col_ticket_keys_create(&l->ticket, s->ticket_key_file, binding,
                                                          &tls->drbg, &l->keys, err, err_size);
            if (result != PROTO_OK) {
                return result;
            }
        }
        mbedtls_ssl_conf_session_tickets_cb(&l->conf, col_tls_ticket_write, col_tls_ticket_parse,
                                            l);
    }
    l->ready = true;
    return PROTO_OK;
}

enum proto_rc col_tls_create(const struct col_tls_settings *s, struct col_tls **out, char *err,
                             size_t err_size)
{
    enum proto_rc result = PROTO_OK;
    struct col_tls *tls = NULL;
    int ret;

    *out = NULL;
    if (err != NULL && err_size > 0) {
        err[0] = '\0';
    }
    if (s == NULL || s->cert_file == NULL || s->key_file == NULL) {
        return PROTO_EINVAL;
    }
    tls = proto_calloc(1, sizeof(*tls));
    if (tls == NULL) {
        return PROTO_ENOMEM;
    }
    tls->clock_recheck_ms = s->clock_recheck_ms != 0 && s->clock_recheck_ms < 60000u
                                ? s->clock_recheck_ms
                                : COL_TLS_DEFAULT_CLOCK_RECHECK_MS;
    mbedtls_entropy_init(&tls->entropy);
    mbedtls_ctr_drbg_init(&tls->drbg);
    mbedtls_x509_crt_init(&tls->cert);
    mbedtls_pk_init(&tls->key);
    mbedtls_x509_crt_init(&tls->client_ca);
    for (int k = 0; k < COL_TLS_LISTENERS; k++) {
        mbedtls_ssl_config_init(&tls->listeners[k].conf);
        mbedtls_ssl_cache_init(&tls->listeners[k].cache);
        mbedtls_ssl_ticket_init(&tls->listeners[k].ticket);
    }

    ret = mbedtls_ctr_drbg_seed(&tls->drbg, mbedtls_entropy_func, &tls->entropy,
                                col_tls_personalization, sizeof(col_tls_personalization) - 1);
    if (ret != 0) {
        col_tls_errf(err, err_size, "random generator", "ctr_drbg", ret);
        result = PROTO_ECRYPTO;
        goto out;
    }
    ret = mbedtls_x509_crt_parse_file(&tls->cert, s->cert_file);
    if (ret != 0) {
        col_tls_errf(err, err_size, "tls_cert", s->cert_file, ret);
        result = PROTO_EIO;
        goto out;
    }
    ret = mbedtls_pk_parse_keyfile(&tls->key, s->key_file, NULL);
    if (ret != 0) {
        col_tls_errf(err, err_size, "tls_key", s->key_file, ret);
        result = PROTO_EIO;
        goto out;
    }
    ret = mbedtls_pk_check_pair(&tls->cert.pk, &tls->key);
    if (ret != 0) {
        col_tls_errf(err, err_size, "tls_key does not match tls_cert", s->key_file, ret);
        result = PROTO_ECRYPTO;
        goto out;
    }
    if (s->client_ca_file != NULL && s->client_ca_file[0] != '\0') {
        ret = mbedtls_x509_crt_parse_file(&tls->client_ca, s->client_ca_file);
        if (ret != 0) {
            /* > 0: some certificates of the bundle did not parse; refuse a half-read trust. */
            col_tls_errf(err, err_size, "client_ca", s->client_ca_file,
                         ret > 0 ? MBEDTLS_ERR_X509_INVALID_FORMAT : ret);
            result = PROTO_EIO;
            goto out;
        }
        tls->has_client_ca = true;
        result = col_tls_listener_setup(tls, COL_LISTENER_AGENT, s, err, err_size);
        if (result != PROTO_OK) {
            goto out;
        }
    }
    result = col_tls_listener_setup(tls, COL_LISTENER_ADMIN, s, err, err_size);
out:
    if (result != PROTO_OK) {
        col_tls_destroy(tls);
        tls = NULL;
    }
    *out = tls;
    return result;
}

void col_tls_destroy(struct col_tls *tls)
{
    if (tls == NULL) {
        return;
    }
    for (int k = 0; k < COL_TLS_LISTENERS; k++) {
        col_ticket_keys_destroy(tls->listeners[k].keys);
        mbedtls_ssl_ticket_free(&tls->listeners[k].ticket);
        mbedtls_ssl_cache_free(&tls->listeners[k].cache);
        mbedtls_ssl_config_free(&tls->listeners[k].conf);
    }
    mbedtls_x509_crt_free(&tls->client_ca);
    mbedtls_pk_free(&tls->key);
    mbedtls_x509_crt_free(&tls->cert);
    mbedtls_ctr_drbg_free(&tls->drbg);
    mbedtls_entropy_free(&tls->entropy);
    proto_free(tls);
}

bool col_tls_has_client_ca(const struct col_tls *tls)
{
    return tls != NULL && tls->has_client_ca;
}

/* Waits until fd is ready for `events`, the deadline passes or (if stoppable) stop_fd fires. */
static enum col_tls_io col_tls_wait(struct col_tls_conn *c, short events)
{
    struct pollfd fds[2];
    nfds_t n = 1;

    fds[0].fd = c->fd;
    fds[0].events = events;
    if (c->stoppable && c->stop_fd >= 0) {
        fds[1].fd = c->stop_fd;
        fds[1].events = POLLIN;
        n = 2;
    }
    for (;;) {
        uint64_t now = col_clock_monotonic_ms();
        if (now >= c->deadline_ms) {
            return COL_TLS_IO_TIMEOUT;
        }
        uint64_t left = c->deadline_ms - now;
        uint64_t slice = c->tls->clock_recheck_ms;
        int rc = poll(fds, n, (int)(left > slice ? slice : left));
        if (rc < 0) {
            if (errno == EINTR) {
                continue;
            }
            return COL_TLS_IO_ERROR;
        }
        if (rc == 0) {
            continue;
        }
        if (n == 2 && (fds[1].revents & POLLIN) != 0) {
            return COL_TLS_IO_STOPPED;
        }
        if (fds[0].revents != 0) {
            return COL_TLS_IO_OK; /* readable, writable or an error the next call reports */
        }
    }
}

static int col_tls_bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    struct col_tls_conn *c = ctx;

    for (;;) {
        ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0) {
            return (int)n;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            c->io = (errno == EPIPE || errno == ECONNRESET) ? COL_TLS_IO_CLOSED : COL_TLS_IO_ERROR;
            return MBEDTLS_ERR_NET_SEND_FAILED;
        }
        if (c->nonblocking) {
            return MBEDTLS_ERR_SSL_WANT_WRITE;
        }
        bool stoppable = c->stoppable;
        c->stoppable = false; /* a half-written record must finish or time out */
        enum col_tls_io io = col_tls_wait(c, POLLOUT);
        c->stoppable = stoppable;
        if (io != COL_TLS_IO_OK) {
            c->io = io;
            return MBEDTLS_ERR_SSL_TIMEOUT;
        }
    }
}

static int col_tls_bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    struct col_tls_conn *c = ctx;

    for (;;) {
        ssize_t n = recv(c->fd, buf, len, 0);
        if (n > 0) {
            c->stoppable = false; /* bytes of a request (or handshake) arrived: finish it */
            return (int)n;
        }
        if (n == 0) {
            c->io = COL_TLS_IO_CLOSED;
            return 0;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            c->io = errno == ECONNRESET ? COL_TLS_IO_CLOSED : COL_TLS_IO_ERROR;
            return MBEDTLS_ERR_NET_RECV_FAILED;
        }
        if (c->nonblocking) {
            return MBEDTLS_ERR_SSL_WANT_READ;
        }
        enum col_tls_io io = col_tls_wait(c, POLLIN);
        if (io != COL_TLS_IO_OK) {
            c->io = io;
            return MBEDTLS_ERR_SSL_TIMEOUT;
        }
    }
}

struct col_tls_conn *col_tls_conn_create(struct col_tls *tls, enum col_listener_kind kind, int fd,
                                         int stop_fd)
{
    if (tls == NULL || (kind != COL_LISTENER_AGENT && kind != COL_LISTENER_ADMIN) ||
        !tls->listeners[kind].ready) {
        return NULL;
    }
    struct col_tls_conn *c = proto_calloc(1, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    c->tls = tls;
    c->kind = kind;
    c->fd = fd;
    c->stop_fd = stop_fd;
    mbedtls_ssl_init(&c->ssl);
    if (mbedtls_ssl_setup(&c->ssl, &tls->listeners[kind].conf) != 0) {
        col_tls_conn_destroy(c);
        return NULL;
    }
    mbedtls_ssl_set_bio(&c->ssl, c, col_tls_bio_send, col_tls_bio_recv, NULL);
    c->pristine = true;
    return c;
}

enum proto_rc col_tls_conn_reset(struct col_tls_conn *c, enum col_listener_kind kind, int fd)
{
    int ret;

    if (c == NULL || (kind != COL_LISTENER_AGENT && kind != COL_LISTENER_ADMIN) ||
        !c->tls->listeners[kind].ready) {
        return PROTO_EINVAL;
    }
    if (c->pristine && kind == c->kind) {
        c->fd = fd; /* e.g. the server wiped it when the last connection ended */
        return PROTO_OK;
    }
    c->pristine = false;
    if (kind == c->kind) {
        /* Keeps the configuration, the BIO callbacks and both record buffers (zeroed); frees
         * the session with its peer certificate and verify result, the transform, the
         * handshake; resets the record counters, renegotiation state and read/write offsets. */
        ret = mbedtls_ssl_session_reset(&c->ssl);
    } else {
        /* A context is bound to one configuration (mbedtls_ssl_setup runs once per context). */
        mbedtls_ssl_free(&c->ssl);
        mbedtls_ssl_init(&c->ssl);
        ret = mbedtls_ssl_setup(&c->ssl, &c->tls->listeners[kind].conf);
    }
    c->kind = kind;
    c->fd = fd;
    c->deadline_ms = 0;
    c->stoppable = false;
    c->nonblocking = false;
    c->io = COL_TLS_IO_OK;
    if (ret != 0) {
        return ret == MBEDTLS_ERR_SSL_ALLOC_FAILED ? PROTO_ENOMEM : PROTO_ECRYPTO;
    }
    mbedtls_ssl_set_bio(&c->ssl, c, col_tls_bio_send, col_tls_bio_recv, NULL);
    c->pristine = true;
    return PROTO_OK;
}

void col_tls_conn_destroy(struct col_tls_conn *c)
{
    if (c == NULL) {
        return;
    }
    mbedtls_ssl_free(&c->ssl);
    proto_free(c);
}

static void col_tls_begin(struct col_tls_conn *c, uint64_t deadline_ms, bool stoppable)
{
    c->deadline_ms = deadline_ms;
    c->stoppable = stoppable;
    c->io = COL_TLS_IO_OK;
    c->pristine = false;
}

/* The outcome of a failed mbedTLS call: what the BIO saw, else the TLS-level meaning. */
static enum col_tls_io col_tls_failure(struct col_tls_conn *c, int ret)
{
    if (c->io != COL_TLS_IO_OK) {
        return c->io;
    }
    if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || ret == MBEDTLS_ERR_SSL_CONN_EOF ||
        ret == MBEDTLS_ERR_NET_CONN_RESET) {
        return COL_TLS_IO_CLOSED;
    }
    return COL_TLS_IO_ERROR;
}

static void col_tls_why(char *why, size_t size, const char *text)
{
    if (why != NULL && size > 0) {
        int n = snprintf(why, size, "%s", text);
        if (n < 0) {
            why[0] = '\0';
        }
    }
}

static bool col_tls_hostname_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
}

void col_tls_identity(const mbedtls_x509_crt *crt, char *out, size_t size)
{
    const unsigned char *name = NULL;
    size_t len = 0;

    if (size == 0) {
        return;
    }
    out[0] = '\0';
    if (crt == NULL) {
        return;
    }
    for (const mbedtls_x509_sequence *san = &crt->subject_alt_names; san != NULL; san = san->next) {
        if (san->buf.p != NULL &&
            san->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME)) {
            name = san->buf.p;
            len = san->buf.len;
            break;
        }
    }
    if (name == NULL) {
        for (const mbedtls_x509_name *n = &crt->subject; n != NULL; n = n->next) {
            if (n->oid.p != NULL && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0) {
                name = n->val.p;
                len = n->val.len;
                break;
            }
        }
    }
    if (name == NULL || len == 0 || len >= size) {
        return;
    }
    for (size_t k = 0; k < len; k++) {
        if (!col_tls_hostname_char(name[k])) {
            return; /* '*' of a wildcard lands here: never an identity */
        }
    }
    for (size_t k = 0; k < len; k++) {
        unsigned char c = name[k];
        out[k] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    out[len] = '\0';
}

/* After a successful agent handshake: the chain verified; enforce the EKU again (defence in
 * depth: mbedTLS checks it during the handshake, and a resumed session skips that check). */
static bool col_tls_check_client(struct col_tls_conn *c, const mbedtls_x509_crt **crt_out,
                                 char *why, size_t why_size)
{
    const mbedtls_x509_crt *crt = mbedtls_ssl_get_peer_cert(&c->ssl);
    if (crt == NULL) {
        col_tls_why(why, why_size, "no client certificate");
        return false;
    }
    if (mbedtls_ssl_get_verify_result(&c->ssl) != 0) {
        col_tls_why(why, why_size, "client certificate not verified");
        return false;
    }
    if (mbedtls_x509_crt_check_extended_key_usage(crt, MBEDTLS_OID_CLIENT_AUTH,
                                                  MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)) != 0) {
        col_tls_why(why, why_size, "client certificate lacks the Client Authentication EKU");
        return false;
    }
    *crt_out = crt;
    return true;
}

enum col_tls_io col_tls_conn_handshake(struct col_tls_conn *c, uint64_t deadline_ms, bool stoppable,
                                       struct col_peer *peer, bool *resumed, char *why,
                                       size_t why_size)
{
    int ret;

    col_tls_begin(c, deadline_ms, stoppable);
    col_tls_resumed_here = false;
    *resumed = false;
    if (why != NULL && why_size > 0) {
        why[0] = '\0';
    }
    do {
        ret = mbedtls_ssl_handshake(&c->ssl);
    } while (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE);
    if (ret != 0) {
        enum col_tls_io io = col_tls_failure(c, ret);
        if (io == COL_TLS_IO_ERROR) {
            char text[128];
            mbedtls_strerror(ret, text, sizeof(text));
            col_tls_why(why, why_size, text);
        } else {
            col_tls_why(why, why_size, col_tls_io_str(io));
        }
        return io;
    }
    *resumed = col_tls_resumed_here;
    peer->listener = c->kind;
    peer->has_client_cert = false;
    peer->identity[0] = '\0';
    peer->subject[0] = '\0';
    if (c->kind == COL_LISTENER_AGENT) {
        const mbedtls_x509_crt *crt = NULL;
        if (!col_tls_check_client(c, &crt, why, why_size)) {
            return COL_TLS_IO_ERROR;
        }
        peer->has_client_cert = true;
        col_tls_identity(crt, peer->identity, sizeof(peer->identity));
        if (mbedtls_x509_dn_gets(peer->subject, sizeof(peer->subject), &crt->subject) < 0) {
            peer->subject[0] = '\0';
        }
    }
    return COL_TLS_IO_OK;
}

enum col_tls_io col_tls_conn_read(struct col_tls_conn *c, void *buf, size_t size, size_t *got,
                                  uint64_t deadline_ms, bool stoppable)
{
    int ret;

    *got = 0;
    col_tls_begin(c, deadline_ms, stoppable);
    do {
        ret = mbedtls_ssl_read(&c->ssl, buf, size);
    } while (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE);
    if (ret > 0) {
        *got = (size_t)ret;
        return COL_TLS_IO_OK;
    }
    if (ret == 0) {
        return COL_TLS_IO_CLOSED;
    }
    return col_tls_failure(c, ret);
}

enum col_tls_io col_tls_conn_write(struct col_tls_conn *c, const void *data, size_t len,
                                   uint64_t deadline_ms)
{
    const unsigned char *p = data;

    col_tls_begin(c, deadline_ms, false);
    while (len > 0) {
        int ret = mbedtls_ssl_write(&c->ssl, p, len);
        if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
            continue;
        }
        if (ret <= 0) {
            return col_tls_failure(c, ret);
        }
        p += ret;
        len -= (size_t)ret;
    }
    return COL_TLS_IO_OK;
}

void col_tls_conn_set_nonblocking(struct col_tls_conn *c, bool on)
{
    c->nonblocking = on;
}

bool col_tls_conn_pending(struct col_tls_conn *c)
{
    return mbedtls_ssl_get_bytes_avail(&c->ssl) > 0 || mbedtls_ssl_check_pending(&c->ssl) != 0;
}

enum col_tls_io col_tls_conn_read_nb(struct col_tls_conn *c, void *buf, size_t size, size_t *got)
{
    *got = 0;
    col_tls_begin(c, 0, false);
    int ret = mbedtls_ssl_read(&c->ssl, buf, size);
    if (ret > 0) {
        *got = (size_t)ret;
        return COL_TLS_IO_OK;
    }
    if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
        return COL_TLS_IO_AGAIN;
    }
    if (ret == 0) {
        return COL_TLS_IO_CLOSED;
    }
    return col_tls_failure(c, ret);
}

enum col_tls_io col_tls_conn_write_nb(struct col_tls_conn *c, const void *data, size_t len,
                                      size_t *sent)
{
    const unsigned char *p = data;

    col_tls_begin(c, 0, false);
    while (*sent < len) {
        int ret = mbedtls_ssl_write(&c->ssl, p + *sent, len - *sent);
        if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
            return COL_TLS_IO_AGAIN;
        }
        if (ret <= 0) {
            return col_tls_failure(c, ret);
        }
        *sent += (size_t)ret;
    }
    return COL_TLS_IO_OK;
}

void col_tls_conn_close_notify(struct col_tls_conn *c, uint64_t deadline_ms)
{
    int ret;

    col_tls_begin(c, deadline_ms, false);
    do {
        ret = mbedtls_ssl_close_notify(&c->ssl);
    } while (ret == MBEDTLS_ERR_SSL_WANT_WRITE || ret == MBEDTLS_ERR_SSL_WANT_READ);
}
