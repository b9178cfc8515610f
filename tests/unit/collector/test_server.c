/*
 * test_server: the collector's TLS server end to end on 127.0.0.1 with a PKI made at test time
 * (tests/integration/pki.sh) and a stub handler: client-certificate refusals, identities,
 * keep-alive, session resumption (ticket and session ID), slow clients, size limits, 1,000
 * concurrent TLS connections, the connection cap, the pool of connection threads (reuse, peer
 * isolation across reused threads and TLS contexts, cap, expiry) and graceful stop. Clients are
 * libcurl (OpenSSL, like the agents on Linux) and, where a raw or old-protocol client is needed, an
 * mbedTLS client. Set RRAS_TEST_LOG=debug to see the server's log.
 *
 * No test waits a fixed time for something to happen: it waits for the event itself (a counter or
 * state the server exposes, polled with a generous cap), and timeouts are tested on a clock the
 * test drives (col_clock_set): it stands still unless a test moves it, so no deadline passes by
 * accident on a slow machine and none needs real seconds to pass.
 */
#define _GNU_SOURCE /* pthread_timedjoin_np, pthread_tryjoin_np */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "alloc.h"
#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "server.h"
#include "tls.h"

/* ---- PKI and processes ------------------------------------------------------------------- */

static char pki_dir[64];

static void run_argv(char *const argv[])
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static const char *pki_path(const char *name, const char *ext)
{
    static char paths[4][256];
    static unsigned next;
    char *out = paths[next++ % 4];
    int n = snprintf(out, sizeof(paths[0]), "%s/%s.%s", pki_dir, name, ext);
    assert_true(n > 0 && (size_t)n < sizeof(paths[0]));
    return out;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- waiting for events ------------------------------------------------------------------ */

/* How long a test waits for something that should happen at once before it fails: generous,
 * for sanitizers on a busy machine; a passing test never waits for it. */
#define WAIT_CAP_MS 20000.0

/* The pause between two looks at a condition: WAIT_FOR's, the only pause of these tests. */
static void wait_pause(void)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 1000000L};
    (void)nanosleep(&ts, NULL);
}

/* Returns as soon as `cond` holds; fails the test when WAIT_CAP_MS pass first. */
#define WAIT_FOR(cond)                                                                             \
    do {                                                                                           \
        double wait_start_ = now_ms();                                                             \
        while (!(cond)) {                                                                          \
            if (now_ms() - wait_start_ > WAIT_CAP_MS) {                                            \
                fail_msg("line %d: still waiting for %s", __LINE__, #cond);                        \
            }                                                                                      \
            wait_pause();                                                                          \
        }                                                                                          \
    } while (0)

/* ---- the test's clock -------------------------------------------------------------------- */

/*
 * The server's clock in every fixture: it stands still until tclock_advance. It records which
 * threads read it, so a test can wait until every connection thread (or the event thread) has
 * looked at it again after it moved (tclock_settle) before it checks that a deadline has not
 * passed too early: a blocked thread reads it at least every clock_recheck_ms.
 */
#define TCLOCK_READERS 4096
#define TCLOCK_SETTLE_CONN 5   /* reads: a deadline's set-up (<= 3 reads) plus a decision */
#define TCLOCK_SETTLE_EVENTS 3 /* the event thread: a deadline set, then two scans */

static struct {
    pthread_mutex_t lock;
    uint64_t mono_ms;
    int64_t base_s;
    struct {
        pid_t tid;
        unsigned reads;
    } readers[TCLOCK_READERS]; /* since the last tclock_settle */
    unsigned nreaders;
} tclock = {.lock = PTHREAD_MUTEX_INITIALIZER};

static uint64_t tclock_monotonic_ms(void *ctx)
{
    (void)ctx;
    pid_t tid = (pid_t)syscall(SYS_gettid);
    pthread_mutex_lock(&tclock.lock);
    uint64_t ms = tclock.mono_ms;
    unsigned k = 0;
    while (k < tclock.nreaders && tclock.readers[k].tid != tid) {
        k++;
    }
    if (k == tclock.nreaders && k < TCLOCK_READERS) {
        tclock.readers[k].tid = tid;
        tclock.readers[k].reads = 0;
        tclock.nreaders++;
    }
    if (k < tclock.nreaders) {
        tclock.readers[k].reads++;
    }
    pthread_mutex_unlock(&tclock.lock);
    return ms;
}

static int64_t tclock_now_s(void *ctx)
{
    (void)ctx;
    pthread_mutex_lock(&tclock.lock);
    int64_t s = tclock.base_s + (int64_t)(tclock.mono_ms / 1000u);
    pthread_mutex_unlock(&tclock.lock);
    return s;
}

static const struct col_clock tclock_clock = {
    .now_s = tclock_now_s, .monotonic_ms = tclock_monotonic_ms, .ctx = NULL};

/* Before the server is created (col_clock_set wants nothing else running). */
static void tclock_install(void)
{
    pthread_mutex_lock(&tclock.lock);
    tclock.mono_ms = 1000000u;
    tclock.base_s = col_clock_system_now_s();
    tclock.nreaders = 0;
    pthread_mutex_unlock(&tclock.lock);
    col_clock_set(&tclock_clock);
}

static void tclock_advance(uint64_t ms)
{
    pthread_mutex_lock(&tclock.lock);
    tclock.mono_ms += ms;
    pthread_mutex_unlock(&tclock.lock);
}

/* Whether every thread of this process named `name` (at least one) has read the clock `reads`
 * times since the last tclock_settle. */
static bool tclock_read_by(const char *name, unsigned reads)
{
    unsigned named = 0;
    bool all = true;
    DIR *dir = opendir("/proc/self/task");
    assert_non_null(dir);
    for (struct dirent *d = readdir(dir); d != NULL; d = readdir(dir)) {
        char path[320], comm[32] = "";
        if (d->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", d->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL) {
            continue; /* it has just exited */
        }
        bool got = fgets(comm, sizeof(comm), f) != NULL;
        fclose(f);
        comm[strcspn(comm, "\n")] = '\0';
        if (!got || strcmp(comm, name) != 0) {
            continue;
        }
        named++;
        pid_t tid = (pid_t)strtol(d->d_name, NULL, 10);
        unsigned seen = 0;
        pthread_mutex_lock(&tclock.lock);
        for (unsigned k = 0; k < tclock.nreaders; k++) {
            if (tclock.readers[k].tid == tid) {
                seen = tclock.readers[k].reads;
            }
        }
        pthread_mutex_unlock(&tclock.lock);
        all = all && seen >= reads;
    }
    closedir(dir);
    return named > 0 && all;
}

/*
 * Returns once every thread named `name` ("rras-conn", "rras-events") has read the clock
 * `reads` times from now on: one that was about to set a deadline has set it on the clock's
 * present time, and one that waits for a deadline has compared it with the present time.
 */
static void tclock_settle(const char *name, unsigned reads)
{
    pthread_mutex_lock(&tclock.lock);
    tclock.nreaders = 0;
    pthread_mutex_unlock(&tclock.lock);
    WAIT_FOR(tclock_read_by(name, reads));
}

/* ---- the stub handler -------------------------------------------------------------------- */

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned calls;
    char identity[256];
    bool has_client_cert;
    size_t body_len;
    bool slow_entered;
    bool slow_release; /* /slow waits for it: a request in flight for as long as a test needs */
    bool slow_done;
} seen = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void stub_handler(void *ctx, const struct col_http_request *req, const struct col_peer *peer,
                         struct col_http_response *resp)
{
    struct col_metrics *metrics = ctx;

    pthread_mutex_lock(&seen.lock);
    seen.calls++;
    snprintf(seen.identity, sizeof(seen.identity), "%s", peer->identity);
    seen.has_client_cert = peer->has_client_cert;
    seen.body_len = req->body_len;
    pthread_mutex_unlock(&seen.lock);

    if (strcmp(req->path, "/metrics") == 0) {
        assert_int_equal(col_metrics_render(metrics, 0, -1, &resp->body), PROTO_OK);
        resp->content_type = "text/plain; version=0.0.4";
        return;
    }
    if (strcmp(req->path, "/slow") == 0) {
        pthread_mutex_lock(&seen.lock);
        seen.slow_entered = true;
        pthread_cond_broadcast(&seen.cond);
        while (!seen.slow_release) {
            pthread_cond_wait(&seen.cond, &seen.lock);
        }
        seen.slow_done = true;
        pthread_mutex_unlock(&seen.lock);
    }
    char json[512];
    if (strcmp(req->path, "/whoami") == 0) {
        /* Who the server says is calling, and which (possibly pooled) thread is serving. */
        snprintf(json, sizeof(json), "{\"identity\":\"%s\",\"client_cert\":%s,\"thread\":%lu}",
                 peer->identity, peer->has_client_cert ? "true" : "false",
                 (unsigned long)pthread_self());
        assert_int_equal(col_http_response_json(resp, 200, json), PROTO_OK);
        return;
    }
    if (strcmp(req->path, "/digest") == 0) {
        /* What the handler really saw: the bytes (FNV-1a) and the NUL after them. */
        uint32_t fnv = 2166136261u;
        for (size_t k = 0; k < req->body_len; k++) {
            fnv = (fnv ^ (unsigned char)req->body[k]) * 16777619u;
        }
        bool nul = req->body_len == 0 ? req->body == NULL : req->body[req->body_len] == '\0';
        snprintf(json, sizeof(json), "{\"body_len\":%zu,\"fnv\":%u,\"nul\":%s}", req->body_len,
                 (unsigned)fnv, nul ? "true" : "false");
        assert_int_equal(col_http_response_json(resp, 200, json), PROTO_OK);
        return;
    }
    snprintf(json, sizeof(json), "{\"identity\":\"%s\",\"body_len\":%zu}", peer->identity,
             req->body_len);
    assert_int_equal(col_http_response_json(resp, 200, json), PROTO_OK);
}

static unsigned seen_calls(void)
{
    pthread_mutex_lock(&seen.lock);
    unsigned calls = seen.calls;
    pthread_mutex_unlock(&seen.lock);
    return calls;
}

/* ---- the non-blocking stub, for the event thread ---------------------------------------- */

/* RRAS_TEST_SERVER_EVENTS=1 (the second ctest entry) runs every test with the event thread on;
 * the tests of the event thread itself turn it on in either run. */
static bool events_mode;

/* More than the server's socket send buffer can hold (tcp_wmem allows up to 4 MiB) while the
 * client, with a small receive buffer, reads nothing. */
#define BIG_ANSWER_BYTES (8u * 1024u * 1024u)

/* A pending request: its answer is made at once; a completer thread (standing in for the
 * writer) says it is done, at once or, for /delayed, once the test releases it. */
struct stub_op {
    struct col_http_response resp;
    col_server_done_fn done;
    void *done_arg;
    bool held; /* /delayed: until completer_release */
    struct stub_op *next;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct stub_op *head;
    struct stub_op *tail;
    bool stop;
    bool release; /* held requests may complete */
    pthread_t thread;
    unsigned pending_begun; /* requests begun as PENDING, for tests that wait for one */
} completer = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void *completer_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&completer.lock);
    for (;;) {
        while (completer.head == NULL && !completer.stop) {
            pthread_cond_wait(&completer.cond, &completer.lock);
        }
        if (completer.head == NULL) {
            break;
        }
        struct stub_op *op = completer.head;
        while (op->held && !completer.release && !completer.stop) {
            pthread_cond_wait(&completer.cond, &completer.lock);
        }
        completer.head = op->next;
        if (completer.head == NULL) {
            completer.tail = NULL;
        }
        pthread_mutex_unlock(&completer.lock);
        op->done(op->done_arg);
        pthread_mutex_lock(&completer.lock);
    }
    pthread_mutex_unlock(&completer.lock);
    return NULL;
}

/* Whether held (/delayed) requests may complete from now on. */
static void completer_set_release(bool release)
{
    pthread_mutex_lock(&completer.lock);
    completer.release = release;
    pthread_cond_broadcast(&completer.cond);
    pthread_mutex_unlock(&completer.lock);
}

static unsigned completer_begun(void)
{
    pthread_mutex_lock(&completer.lock);
    unsigned n = completer.pending_begun;
    pthread_mutex_unlock(&completer.lock);
    return n;
}

static enum col_server_begin_result stub_begin(void *ctx, const struct col_http_request *req,
                                               const struct col_peer *peer,
                                               struct col_http_response *resp,
                                               col_server_done_fn done, void *done_arg, void **op)
{
    if (strcmp(req->path, "/slow") == 0 || strcmp(req->path, "/metrics") == 0) {
        return COL_SERVER_BEGIN_NOT_HERE; /* blocking work: the connection thread's */
    }
    if (strcmp(req->path, "/big") == 0) {
        /* An answer larger than the socket takes at once: byte k is (k * 7) % 251. */
        char *big = malloc(BIG_ANSWER_BYTES);
        if (big == NULL) {
            return COL_SERVER_BEGIN_NOT_HERE;
        }
        for (size_t k = 0; k < BIG_ANSWER_BYTES; k++) {
            big[k] = (char)((k * 7u) % 251u);
        }
        enum proto_rc rc = proto_buf_append(&resp->body, big, BIG_ANSWER_BYTES);
        free(big);
        if (rc != PROTO_OK) {
            return COL_SERVER_BEGIN_NOT_HERE;
        }
        resp->content_type = "application/octet-stream";
        return COL_SERVER_BEGIN_ANSWERED;
    }
    if (strcmp(req->path, "/now") == 0) {
        stub_handler(ctx, req, peer, resp);
        return COL_SERVER_BEGIN_ANSWERED;
    }
    struct stub_op *o = calloc(1, sizeof(*o));
    if (o == NULL) {
        return COL_SERVER_BEGIN_NOT_HERE;
    }
    col_http_response_init(&o->resp);
    stub_handler(ctx, req, peer, &o->resp);
    o->done = done;
    o->done_arg = done_arg;
    o->held = strcmp(req->path, "/delayed") == 0;
    *op = o;
    pthread_mutex_lock(&completer.lock);
    if (completer.tail != NULL) {
        completer.tail->next = o;
    } else {
        completer.head = o;
    }
    completer.tail = o;
    completer.pending_begun++;
    pthread_cond_broadcast(&completer.cond);
    pthread_mutex_unlock(&completer.lock);
    return COL_SERVER_BEGIN_PENDING;
}

static bool stub_finish(void *ctx, void *op, struct col_http_response *resp)
{
    (void)ctx;
    struct stub_op *o = op;
    col_http_response_free(resp);
    *resp = o->resp; /* the body's buffer moves with it */
    free(o);
    return true;
}

/* ---- the server under test --------------------------------------------------------------- */

struct fixture {
    struct col_metrics *metrics;
    struct col_server *server;
    pthread_t thread;
    enum proto_rc run_rc;
    bool running;
    unsigned agent_port;
    unsigned admin_port;
};

static struct col_server_config base_config(void)
{
    struct col_server_config cfg = {
        .agent_listen = "127.0.0.1:0",
        .admin_listen = "127.0.0.1:0",
        .tls_cert = NULL,
        .tls_key = NULL,
        .client_ca = NULL,
        .session_tickets = true,
        .max_connections = 64,
        .max_body_bytes = 1024 * 1024,
        .handshake_timeout_ms = 5000,
        .header_timeout_ms = 5000,
        .body_timeout_ms = 5000,
        .idle_timeout_ms = 5000,
        .stop_grace_ms = 5000,
        .clock_recheck_ms = 5, /* a blocked thread sees the moved clock within 5 ms */
        .handler = stub_handler,
    };
    if (events_mode) {
        cfg.begin = stub_begin;
        cfg.finish = stub_finish;
        cfg.event_keepalive = true;
    }
    return cfg;
}

/* The base configuration with the event thread on, whatever the run. */
static struct col_server_config events_config(void)
{
    struct col_server_config cfg = base_config();
    cfg.begin = stub_begin;
    cfg.finish = stub_finish;
    cfg.event_keepalive = true;
    return cfg;
}

static void *run_server(void *arg)
{
    struct fixture *f = arg;
    f->run_rc = col_server_run(f->server);
    return NULL;
}

static void fixture_start(struct fixture *f, struct col_server_config cfg)
{
    char err[256];
    memset(f, 0, sizeof(*f));
    f->metrics = col_metrics_create();
    assert_non_null(f->metrics);
    char cert[256], key[256], ca[256];
    snprintf(cert, sizeof(cert), "%s", pki_path("server", "crt"));
    snprintf(key, sizeof(key), "%s", pki_path("server", "key"));
    snprintf(ca, sizeof(ca), "%s", pki_path("ca", "crt"));
    cfg.tls_cert = cert;
    cfg.tls_key = key;
    cfg.client_ca = ca;
    cfg.metrics = f->metrics;
    cfg.handler_ctx = f->metrics;
    tclock_install();
    enum proto_rc rc = col_server_create(&cfg, &f->server, err, sizeof(err));
    if (rc != PROTO_OK) {
        fail_msg("col_server_create: %s: %s", proto_rc_str(rc), err);
    }
    f->agent_port = col_server_port(f->server, COL_LISTENER_AGENT);
    f->admin_port = col_server_port(f->server, COL_LISTENER_ADMIN);
    assert_true(f->agent_port > 0 && f->admin_port > 0 && f->agent_port != f->admin_port);
    assert_int_equal(pthread_create(&f->thread, NULL, run_server, f), 0);
    f->running = true;
}

/* Waits (at most WAIT_CAP_MS) for col_server_run to return; the milliseconds that took. */
static double join_run(struct fixture *f)
{
    double t0 = now_ms();
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until); /* pthread_timedjoin_np's clock */
    until.tv_sec += (time_t)(WAIT_CAP_MS / 1000);
    int rc = pthread_timedjoin_np(f->thread, NULL, &until);
    if (rc != 0) {
        fail_msg("col_server_run did not return: %s", strerror(rc));
    }
    f->running = false;
    assert_int_equal(f->run_rc, PROTO_OK);
    return now_ms() - t0;
}

static void fixture_stop(struct fixture *f)
{
    if (f->running) {
        col_server_stop(f->server);
        (void)join_run(f);
    }
    assert_int_equal(col_server_connections(f->server), 0);
    col_server_destroy(f->server);
    col_metrics_destroy(f->metrics);
    col_clock_set(NULL); /* nothing reads it any more: every server thread has ended */
    f->server = NULL;
    f->metrics = NULL;
}

/* A sample of the Prometheus text, e.g. "rrasfleet_connections_open". */
static unsigned long long metric(struct fixture *f, const char *sample)
{
    struct proto_buf out;
    char needle[160];
    proto_buf_init(&out, 1 << 20);
    assert_int_equal(col_metrics_render(f->metrics, 0, -1, &out), PROTO_OK);
    snprintf(needle, sizeof(needle), "\n%s ", sample);
    const char *hit = strstr(out.data, needle);
    if (hit == NULL) {
        fail_msg("no sample %s", sample);
    }
    unsigned long long value = strtoull(hit + strlen(needle), NULL, 10);
    proto_buf_free(&out);
    return value;
}

/* The server counts a handshake after the client's last flight: wait for it. */
static unsigned long long wait_metric_at_least(struct fixture *f, const char *sample,
                                               unsigned long long n)
{
    WAIT_FOR(metric(f, sample) >= n);
    return metric(f, sample);
}

#define HS_FULL "rrasfleet_tls_handshakes_total{result=\"full\"}"
#define HS_RESUMED "rrasfleet_tls_handshakes_total{result=\"resumed\"}"
#define HS_FAILED "rrasfleet_tls_handshakes_total{result=\"failed\"}"

/* Waits until the server has noticed closed connections. */
static void wait_connections_at_most(struct fixture *f, unsigned long n)
{
    WAIT_FOR(col_server_connections(f->server) <= n);
}

/* Whether fd has something to read, or the peer has closed it (without waiting). */
static bool fd_readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
    return poll(&p, 1, 0) != 0;
}

/* ---- libcurl client ---------------------------------------------------------------------- */

struct reply {
    CURLcode rc;
    long status;
    char body[8192];
    size_t len;
    long connects;
    double handshake_ms; /* appconnect - connect */
};

static size_t reply_write(char *data, size_t size, size_t n, void *user)
{
    struct reply *r = user;
    size_t len = size * n;
    size_t room = sizeof(r->body) - 1 - r->len;
    size_t take = len < room ? len : room;
    memcpy(r->body + r->len, data, take);
    r->len += take;
    r->body[r->len] = '\0';
    return len;
}

/* With file paths made beforehand: safe on client threads (pki_path is not). NULL cert: none.
 * Returns NULL on failure (no cmocka assert: client threads must not longjmp). */
static CURL *easy_new_files(const char *ca, const char *cert, const char *key)
{
    CURL *e = curl_easy_init();
    if (e == NULL) {
        return NULL;
    }
    curl_easy_setopt(e, CURLOPT_CAINFO, ca);
    curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 8000L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, reply_write);
    if (cert != NULL) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, cert);
        curl_easy_setopt(e, CURLOPT_SSLKEY, key);
    }
    return e;
}

static CURL *easy_new(const char *client)
{
    char ca[256], cert[256], key[256];
    snprintf(ca, sizeof(ca), "%s", pki_path("ca", "crt"));
    if (client != NULL) {
        snprintf(cert, sizeof(cert), "%s", pki_path(client, "crt"));
        snprintf(key, sizeof(key), "%s", pki_path(client, "key"));
    }
    CURL *e = easy_new_files(ca, client != NULL ? cert : NULL, key); /* curl copies strings */
    assert_non_null(e);
    return e;
}

static void easy_url(CURL *e, unsigned port, const char *path)
{
    char url[256];
    snprintf(url, sizeof(url), "https://127.0.0.1:%u%s", port, path);
    curl_easy_setopt(e, CURLOPT_URL, url);
}

static void easy_perform(CURL *e, struct reply *r)
{
    memset(r, 0, sizeof(*r));
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    r->rc = curl_easy_perform(e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &r->connects);
    curl_off_t connect_us = 0, app_us = 0;
    curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &connect_us);
    curl_easy_getinfo(e, CURLINFO_APPCONNECT_TIME_T, &app_us);
    r->handshake_ms = (double)(app_us - connect_us) / 1000.0;
}

static struct reply fetch(unsigned port, const char *path, const char *client)
{
    struct reply r;
    CURL *e = easy_new(client);
    easy_url(e, port, path);
    easy_perform(e, &r);
    curl_easy_cleanup(e);
    return r;
}

/* ---- mbedTLS client (raw requests, TLS 1.1, 1,000 connections) --------------------------- */

static mbedtls_entropy_context client_entropy;
static mbedtls_ctr_drbg_context client_drbg;
static mbedtls_x509_crt client_ca;
static mbedtls_x509_crt client_cert;
static mbedtls_pk_context client_key;

struct tclient {
    mbedtls_net_context net;
    mbedtls_ssl_context ssl;
    bool ssl_live;
};

/* A client config: `cert` adds host1's certificate; minor_max 2 = TLS 1.1 only. */
static void tconf_init(mbedtls_ssl_config *conf, bool cert, int minor_max, bool tickets)
{
    mbedtls_ssl_config_init(conf);
    assert_int_equal(mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_CLIENT,
                                                 MBEDTLS_SSL_TRANSPORT_STREAM,
                                                 MBEDTLS_SSL_PRESET_DEFAULT),
                     0);
    mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, &client_drbg);
    mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(conf, &client_ca, NULL);
    mbedtls_ssl_conf_read_timeout(conf, 5000);
    mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_1);
    mbedtls_ssl_conf_max_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, minor_max);
    mbedtls_ssl_conf_session_tickets(conf, tickets ? MBEDTLS_SSL_SESSION_TICKETS_ENABLED
                                                   : MBEDTLS_SSL_SESSION_TICKETS_DISABLED);
    if (cert) {
        assert_int_equal(mbedtls_ssl_conf_own_cert(conf, &client_cert, &client_key), 0);
    }
}

/* mbedtls_net_recv_timeout uses select(), which fails for fds >= 1024: poll instead. */
static int tclient_recv_timeout(void *ctx, unsigned char *buf, size_t len, uint32_t timeout)
{
    mbedtls_net_context *net = ctx;
    struct pollfd p = {.fd = net->fd, .events = POLLIN, .revents = 0};
    int rc = poll(&p, 1, timeout == 0 ? -1 : (int)timeout);
    if (rc == 0) {
        return MBEDTLS_ERR_SSL_TIMEOUT;
    }
    if (rc < 0) {
        return MBEDTLS_ERR_NET_RECV_FAILED;
    }
    return mbedtls_net_recv(ctx, buf, len);
}

/* > 0: the next tclient_open sets this SO_RCVBUF before it connects (no autotuning). */
static int tclient_rcvbuf;

/* Connects and handshakes; returns the mbedTLS result (0 on success). */
static int tclient_open(struct tclient *c, const mbedtls_ssl_config *conf, unsigned port,
                        const mbedtls_ssl_session *resume)
{
    char port_text[16];
    snprintf(port_text, sizeof(port_text), "%u", port);
    mbedtls_net_init(&c->net);
    mbedtls_ssl_init(&c->ssl);
    c->ssl_live = true;
    if (tclient_rcvbuf > 0) {
        c->net.fd = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(c->net.fd >= 0);
        assert_int_equal(
            setsockopt(c->net.fd, SOL_SOCKET, SO_RCVBUF, &tclient_rcvbuf, sizeof(tclient_rcvbuf)),
            0);
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(connect(c->net.fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    } else {
        assert_int_equal(
            mbedtls_net_connect(&c->net, "127.0.0.1", port_text, MBEDTLS_NET_PROTO_TCP), 0);
    }
    assert_int_equal(mbedtls_ssl_setup(&c->ssl, conf), 0);
    assert_int_equal(mbedtls_ssl_set_hostname(&c->ssl, "localhost"), 0);
    mbedtls_ssl_set_bio(&c->ssl, &c->net, mbedtls_net_send, NULL, tclient_recv_timeout);
    if (resume != NULL) {
        assert_int_equal(mbedtls_ssl_set_session(&c->ssl, resume), 0);
    }
    int ret;
    do {
        ret = mbedtls_ssl_handshake(&c->ssl);
    } while (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE);
    return ret;
}

/* Drops the TLS state but keeps the socket open (an idle client as the server sees it). */
static void tclient_forget_tls(struct tclient *c)
{
    if (c->ssl_live) {
        mbedtls_ssl_free(&c->ssl);
        c->ssl_live = false;
    }
}

static void tclient_close(struct tclient *c)
{
    tclient_forget_tls(c);
    mbedtls_net_free(&c->net);
}

static void tclient_send(struct tclient *c, const char *text)
{
    size_t len = strlen(text);
    const unsigned char *p = (const unsigned char *)text;
    while (len > 0) {
        int ret = mbedtls_ssl_write(&c->ssl, p, len);
        assert_true(ret > 0);
        p += ret;
        len -= (size_t)ret;
    }
}

/* Reads until the server closes (or 5 s pass): the whole answer. */
static size_t tclient_read_all(struct tclient *c, char *out, size_t size)
{
    size_t len = 0;
    while (len + 1 < size) {
        int ret = mbedtls_ssl_read(&c->ssl, (unsigned char *)out + len, size - 1 - len);
        if (ret <= 0) {
            break;
        }
        len += (size_t)ret;
    }
    out[len] = '\0';
    return len;
}

/* ---- group setup ------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    const char *events = getenv("RRAS_TEST_SERVER_EVENTS");
    events_mode = events != NULL && strcmp(events, "1") == 0;
    if (pthread_create(&completer.thread, NULL, completer_main, NULL) != 0) {
        return -1;
    }
    const char *level = getenv("RRAS_TEST_LOG");
    col_log_set_level(COL_LOG_WARN);
    if (level != NULL) {
        (void)col_log_set_level_name(level);
    }
    snprintf(pki_dir, sizeof(pki_dir), "/tmp/rras-test-server-XXXXXX");
    if (mkdtemp(pki_dir) == NULL) {
        return -1;
    }
    double t0 = now_ms();
    char *argv[] = {
        "/bin/sh",
        "-c",
        ". \"$1/tests/integration/pki.sh\" && pki_make \"$2\" &&"
        " pki_client \"$2\" Host1.Contoso.COM && pki_client \"$2\" srvonly serverAuth &&"
        " pki_client \"$2\" noeku none && pki_client_cn_only \"$2\" CnOnly.contoso.com",
        "sh",
        RRAS_SOURCE_DIR,
        pki_dir,
        NULL};
    run_argv(argv);
    print_message("test PKI made in %.0f ms\n", now_ms() - t0);

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return -1;
    }
    mbedtls_entropy_init(&client_entropy);
    mbedtls_ctr_drbg_init(&client_drbg);
    mbedtls_x509_crt_init(&client_ca);
    mbedtls_x509_crt_init(&client_cert);
    mbedtls_pk_init(&client_key);
    if (mbedtls_ctr_drbg_seed(&client_drbg, mbedtls_entropy_func, &client_entropy, NULL, 0) != 0 ||
        mbedtls_x509_crt_parse_file(&client_ca, pki_path("ca", "crt")) != 0 ||
        mbedtls_x509_crt_parse_file(&client_cert, pki_path("Host1.Contoso.COM", "crt")) != 0 ||
        mbedtls_pk_parse_keyfile(&client_key, pki_path("Host1.Contoso.COM", "key"), NULL) != 0) {
        return -1;
    }
    /* 1,000 client sockets plus 1,000 server sockets live in this one process. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096) {
        rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    pthread_mutex_lock(&completer.lock);
    completer.stop = true;
    pthread_cond_broadcast(&completer.cond);
    pthread_mutex_unlock(&completer.lock);
    pthread_join(completer.thread, NULL);
    mbedtls_pk_free(&client_key);
    mbedtls_x509_crt_free(&client_cert);
    mbedtls_x509_crt_free(&client_ca);
    mbedtls_ctr_drbg_free(&client_drbg);
    mbedtls_entropy_free(&client_entropy);
    curl_global_cleanup();
    char *argv[] = {"/bin/rm", "-rf", pki_dir, NULL};
    run_argv(argv);
    return 0;
}

/* ---- identity ---------------------------------------------------------------------------- */

static void identity_of(const char *name, char *out, size_t size)
{
    mbedtls_x509_crt crt;
    mbedtls_x509_crt_init(&crt);
    assert_int_equal(mbedtls_x509_crt_parse_file(&crt, pki_path(name, "crt")), 0);
    col_tls_identity(&crt, out, size);
    mbedtls_x509_crt_free(&crt);
}

static void test_identity_is_first_san_dns_lower_cased_else_cn_never_a_wildcard(void **state)
{
    (void)state;
    char id[256];
    identity_of("Host1.Contoso.COM", id, sizeof(id));
    assert_string_equal(id, "host1.contoso.com");
    identity_of("CnOnly.contoso.com", id, sizeof(id));
    assert_string_equal(id, "cnonly.contoso.com");
    identity_of("wildcard", id, sizeof(id));
    assert_string_equal(id, "");
    identity_of("Host1.Contoso.COM", id, 8); /* does not fit: no truncated identity */
    assert_string_equal(id, "");
    col_tls_identity(NULL, id, sizeof(id));
    assert_string_equal(id, "");
}

/* ---- client certificates on the agent listener ------------------------------------------- */

static void test_agent_port_refuses_a_client_without_a_certificate(void **state)
{
    (void)state;
    struct fixture f;
    fixture_start(&f, base_config());
    unsigned before = seen_calls();
    struct reply r = fetch(f.agent_port, "/echo", NULL);
    assert_int_not_equal(r.rc, CURLE_OK);
    assert_int_equal(seen_calls(), before);
    wait_connections_at_most(&f, 0);
    assert_int_equal(metric(&f, HS_FAILED), 1);
    assert_int_equal(metric(&f, HS_FULL), 0);
    fixture_stop(&f);
}

static void test_agent_port_refuses_a_certificate_from_a_rogue_ca(void **state)
{
    (void)state;
    struct fixture f;
    fixture_start(&f, base_config());
    unsigned before = seen_calls();
    struct reply r = fetch(f.agent_port, "/echo", "rogue");
    assert_int_not_equal(r.rc, CURLE_OK);
    assert_int_equal(seen_calls(), before);
    wait_connections_at_most(&f, 0);
    assert_int_equal(metric(&f, HS_FAILED), 1);
    fixture_stop(&f);
}

static void test_agent_port_refuses_a_certificate_without_client_auth_eku(void **state)
{
    (void)state;
    struct fixture f;
    fixture_start(&f, base_config());
    unsigned before = seen_calls();
    struct reply r = fetch(f.agent_port, "/echo", "srvonly");
    assert_int_not_equal(r.rc, CURLE_OK);
    assert_int_equal(seen_calls(), before);
    wait_connections_at_most(&f, 0);
    assert_int_equal(metric(&f, HS_FAILED), 1);
    fixture_stop(&f);
}

static void test_agent_handler_sees_the_identity_of_a_valid_certificate(void **state)
{
    (void)state;
    struct fixture f;
    fixture_start(&f, base_config());
    struct reply r = fetch(f.agent_port, "/echo", "Host1.Contoso.COM");
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"identity\":\"host1.contoso.com\",\"body_len\":0}");
    pthread_mutex_lock(&seen.lock);
    assert_true(seen.has_client_cert);
    pthread_mutex_unlock(&seen.lock);

    r = fetch(f.agent_port, "/echo", "noeku"); /* no EKU extension at all: allowed */
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"identity\":\"noeku\",\"body_len\":0}");
    assert_int_equal(metric(&f, HS_FAILED), 0);
    fixture_stop(&f);
}

static void test_wildcard_certificate_is_accepted_with_an_empty_identity(void **state)
{
    (void)state;
    struct fixture f;
    fixture_start(&f, base_config());
    struct reply r = fetch(f.agent_port, "/echo", "wildcard");
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"identity\":\"\",\"body_len\":0}");
    pthread_mutex_lock(&seen.lock);
    assert_true(seen.has_client_cert);
    assert_string_equal(seen.identity, "");
    pthread_mutex_unlock(&seen.lock);
    fixture_stop(&f);
}

static void test_admin_port_serves_without_a_client_certificate(void **state)
{
    (void)state;
    struct fixture f;
    fixture_start(&f, base_config());
    struct reply r = fetch(f.admin_port, "/echo", NULL);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    pthread_mutex_lock(&seen.lock);
    assert_false(seen.has_client_cert);
    assert_string_equal(seen.identity, "");
    pthread_mutex_unlock(&seen.lock);
    fixture_stop(&f);
}

static void test_tls_1_1_only_client_is_refused(void **state)
{
    (void)state;
    struct fixture f;
    mbedtls_ssl_config conf;
    struct tclient c;
    fixture_start(&f, base_config());
    tconf_init(&conf, true, MBEDTLS_SSL_MINOR_VERSION_2, true);
    int ret = tclient_open(&c, &conf, f.agent_port, NULL);
    assert_int_not_equal(ret, 0);
    tclient_close(&c);
    wait_connections_at_most(&f, 0);
    assert_int_equal(metric(&f, HS_FAILED), 1);

    /* The same client allowed TLS 1.2 gets in. */
    mbedtls_ssl_config_free(&conf);
    tconf_init(&conf, true, MBEDTLS_SSL_MINOR_VERSION_3, true);
    assert_int_equal(tclient_open(&c, &conf, f.agent_port, NULL), 0);
    assert_string_equal(mbedtls_ssl_get_version(&c.ssl), "TLSv1.2");
    assert_non_null(strstr(mbedtls_ssl_get_ciphersuite(&c.ssl), "ECDHE-ECDSA"));
    tclient_close(&c);
    mbedtls_ssl_config_free(&conf);
    fixture_stop(&f);
}

/* ---- keep-alive and resumption ----------------------------------------------------------- */

static void test_fifty_requests_share_one_keep_alive_connection(void **state)
{
    (void)state;
    struct fixture f;
    struct reply r;
    fixture_start(&f, base_config());
    unsigned before = seen_calls();
    CURL *e = easy_new("Host1.Contoso.COM");
    easy_url(e, f.agent_port, "/echo");
    long connects = 0;
    for (int k = 0; k < 50; k++) {
        easy_perform(e, &r);
        assert_int_equal(r.rc, CURLE_OK);
        assert_int_equal(r.status, 200);
        connects += r.connects;
    }
    curl_easy_cleanup(e);
    assert_int_equal(connects, 1);
    assert_int_equal(seen_calls() - before, 50);
    assert_int_equal(metric(&f, "rrasfleet_connections_total"), 1);
    assert_int_equal(metric(&f, HS_FULL), 1);
    fixture_stop(&f);
}

static void test_keep_alive_bodies_of_growing_and_shrinking_sizes_arrive_intact(void **state)
{
    (void)state;
    /* The body buffer is kept per connection, grown, and freed after requests over 256 KiB:
     * every size change must still hand the handler exactly this request's bytes. */
    static const size_t sizes[] = {1,      100,     5000, 20000, 300000, 10,     700000,
                                   3,      70000,   0,    4096,  4095,   262143, 262144,
                                   262145, 1048576, 17,   16384, 0,      2};
    struct fixture f;
    struct reply r;
    fixture_start(&f, base_config());
    unsigned char *body = malloc(1048576);
    assert_non_null(body);
    CURL *e = easy_new("Host1.Contoso.COM");
    easy_url(e, f.agent_port, "/digest");
    long connects = 0;
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        uint32_t fnv = 2166136261u;
        for (size_t i = 0; i < sizes[k]; i++) {
            body[i] = (unsigned char)(i * 31u + k * 7u + (i >> 8));
            fnv = (fnv ^ body[i]) * 16777619u;
        }
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, (const char *)body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)sizes[k]);
        easy_perform(e, &r);
        assert_int_equal(r.rc, CURLE_OK);
        assert_int_equal(r.status, 200);
        char want[128];
        snprintf(want, sizeof(want), "{\"body_len\":%zu,\"fnv\":%u,\"nul\":true}", sizes[k],
                 (unsigned)fnv);
        assert_string_equal(r.body, want);
        connects += r.connects;
    }
    curl_easy_cleanup(e);
    free(body);
    assert_int_equal(connects, 1);
    fixture_stop(&f);
}

/* `rounds` new connections, each its own easy handle; `share` lets them resume. */
static double handshake_median_ms(unsigned port, int rounds, CURLSH *share)
{
    double times[64];
    assert_true(rounds <= 64);
    for (int k = 0; k < rounds; k++) {
        struct reply r;
        CURL *e = easy_new("Host1.Contoso.COM");
        easy_url(e, port, "/echo");
        if (share != NULL) {
            curl_easy_setopt(e, CURLOPT_SHARE, share);
        }
        easy_perform(e, &r);
        assert_int_equal(r.rc, CURLE_OK);
        assert_int_equal(r.status, 200);
        times[k] = r.handshake_ms;
        curl_easy_cleanup(e);
    }
    for (int a = 1; a < rounds; a++) { /* insertion sort: tiny */
        for (int b = a; b > 0 && times[b - 1] > times[b]; b--) {
            double t = times[b];
            times[b] = times[b - 1];
            times[b - 1] = t;
        }
    }
    return times[rounds / 2];
}

static void resumption_case(bool tickets)
{
    struct fixture f;
    struct col_server_config cfg = base_config();
    cfg.session_tickets = tickets;
    fixture_start(&f, cfg);

    double full = handshake_median_ms(f.agent_port, 15, NULL);
    assert_int_equal(metric(&f, HS_RESUMED), 0);
    assert_int_equal(metric(&f, HS_FULL), 15);

    CURLSH *share = curl_share_init();
    assert_non_null(share);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    double resumed = handshake_median_ms(f.agent_port, 15, share);
    curl_share_cleanup(share);
    /* The first of the shared run is full; every later one resumes. */
    assert_int_equal(metric(&f, HS_FULL), 16);
    assert_int_equal(metric(&f, HS_RESUMED), 14);
    assert_int_equal(metric(&f, HS_FAILED), 0);
    print_message("mutual-TLS handshake via libcurl (%s): full %.2f ms, resumed %.2f ms (median)\n",
                  tickets ? "session ticket" : "session ID cache", full, resumed);
    fixture_stop(&f);
}

static void test_second_connection_resumes_by_session_ticket(void **state)
{
    (void)state;
    resumption_case(true);
}

static void test_second_connection_resumes_by_session_id_without_tickets(void **state)
{
    (void)state;
    resumption_case(false);
}

static void test_resumed_session_keeps_the_client_identity(void **state)
{
    (void)state;
    struct fixture f;
    mbedtls_ssl_config conf;
    mbedtls_ssl_session saved;
    struct tclient c;
    char answer[1024];
    fixture_start(&f, base_config());
    tconf_init(&conf, true, MBEDTLS_SSL_MINOR_VERSION_3, false);
    mbedtls_ssl_session_init(&saved);
    assert_int_equal(tclient_open(&c, &conf, f.agent_port, NULL), 0);
    assert_int_equal(mbedtls_ssl_get_session(&c.ssl, &saved), 0);
    tclient_close(&c);
    /* The server caches the session after it sent its Finished, which the client may see
     * first: wait until the server has counted the handshake, or the next one may be full. */
    assert_true(wait_metric_at_least(&f, HS_FULL, 1) >= 1);
    assert_int_equal(tclient_open(&c, &conf, f.agent_port, &saved), 0);
    tclient_send(&c, "GET /echo HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    tclient_read_all(&c, answer, sizeof(answer));
    tclient_close(&c);
    assert_non_null(strstr(answer, "\"identity\":\"host1.contoso.com\""));
    assert_int_equal(metric(&f, HS_RESUMED), 1);
    mbedtls_ssl_session_free(&saved);
    mbedtls_ssl_config_free(&conf);
    fixture_stop(&f);
}

/* ---- slow and bad clients ---------------------------------------------------------------- */

static int tcp_connect(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    return fd;
}

/* Milliseconds until the server closes fd (EOF or reset), at most limit_ms. */
static double wait_closed_ms(int fd, int limit_ms)
{
    double t0 = now_ms();
    char scratch[512];
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
        int rc = poll(&p, 1, limit_ms);
        if (rc <= 0) {
            return -1.0;
        }
        ssize_t n = recv(fd, scratch, sizeof(scratch), 0);
        if (n <= 0) {
            return now_ms() - t0;
        }
    }
}

static void
test_silent_client_is_closed_after_the_handshake_timeout_while_others_are_served(void **state)
{
    (void)state;
    struct fixture f;
    struct col_server_config cfg = base_config();
    cfg.handshake_timeout_ms = 400;
    fixture_start(&f, cfg);
    int fd = tcp_connect(f.admin_port);
    WAIT_FOR(col_server_connections(f.server) == 1); /* accepted: its 400 ms run from now */
    struct reply r = fetch(f.admin_port, "/echo", NULL);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    wait_connections_at_most(&f, 1);
    assert_false(fd_readable(fd)); /* served while the silent one waits */
    /* Not closed 1 ms before the timeout, once its thread has looked at the clock... */
    tclock_advance(399);
    tclock_settle("rras-conn", TCLOCK_SETTLE_CONN);
    assert_false(fd_readable(fd));
    assert_int_equal(col_server_connections(f.server), 1);
    /* ...and closed at the timeout. */
    tclock_advance(1);
    double closed = wait_closed_ms(fd, (int)WAIT_CAP_MS);
    close(fd);
    assert_true(closed >= 0);
    wait_connections_at_most(&f, 0);
    assert_int_equal(metric(&f, HS_FAILED), 1);
    fixture_stop(&f);
}

static void test_half_sent_head_is_answered_408_after_the_header_timeout(void **state)
{
    (void)state;
    struct fixture f;
    mbedtls_ssl_config conf;
    struct tclient c;
    char answer[2048];
    struct col_server_config cfg = base_config();
    cfg.header_timeout_ms = 400;
    fixture_start(&f, cfg);
    tconf_init(&conf, false, MBEDTLS_SSL_MINOR_VERSION_3, true);
    assert_int_equal(tclient_open(&c, &conf, f.admin_port, NULL), 0);
    tclient_send(&c, "GET /echo HTTP/1.1\r\nHost: a\r\nX-Slow: ");
    struct reply r = fetch(f.admin_port, "/echo", NULL);
    assert_int_equal(r.status, 200);
    /* The head's 400 ms run from the handshake (both counted now): once its thread has looked
     * at the clock since, its deadline is set. Nothing comes 1 ms before it... */
    wait_metric_at_least(&f, HS_FULL, 2);
    tclock_settle("rras-conn", TCLOCK_SETTLE_CONN);
    tclock_advance(399);
    tclock_settle("rras-conn", TCLOCK_SETTLE_CONN);
    assert_false(fd_readable(c.net.fd));
    /* ...and the 408 at it. */
    tclock_advance(1);
    tclient_read_all(&c, answer, sizeof(answer));
    tclient_close(&c);
    assert_true(strncmp(answer, "HTTP/1.1 408 Request Timeout\r\n", 30) == 0);
    assert_non_null(strstr(answer, "\"code\":\"request_timeout\""));
    mbedtls_ssl_config_free(&conf);
    fixture_stop(&f);
}

/* Sends `request` on a fresh admin connection and returns the server's whole answer. */
static void raw_exchange(struct fixture *f, const char *request, char *answer, size_t size)
{
    mbedtls_ssl_config conf;
    struct tclient c;
    tconf_init(&conf, false, MBEDTLS_SSL_MINOR_VERSION_3, true);
    assert_int_equal(tclient_open(&c, &conf, f->admin_port, NULL), 0);
    tclient_send(&c, request);
    tclient_read_all(&c, answer, size);
    tclient_close(&c);
    mbedtls_ssl_config_free(&conf);
}

static void test_oversize_content_length_is_413_before_the_body_is_read(void **state)
{
    (void)state;
    struct fixture f;
    char answer[2048];
    fixture_start(&f, base_config());
    unsigned before = seen_calls();
    /* No body is sent and the server's clock stands still: a server that waited for the body
     * (or its timeout) would never answer, and the client would read nothing. */
    raw_exchange(&f,
                 "POST /v1/reports HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000000000\r\n\r\n",
                 answer, sizeof(answer));
    assert_true(strncmp(answer, "HTTP/1.1 413 Content Too Large\r\n", 32) == 0);
    assert_non_null(strstr(answer, "Connection: close\r\n"));
    assert_non_null(strstr(answer, "{\"error\":{\"code\":\"body_too_large\",\"message\":"));

    /* libcurl announcing 2 MiB with Expect: 100-continue gets the 413 instead of a 100. */
    size_t big = 2u * 1024u * 1024u;
    char *body = calloc(1, big);
    assert_non_null(body);
    CURL *e = easy_new("Host1.Contoso.COM");
    easy_url(e, f.agent_port, "/v1/reports");
    struct curl_slist *headers = curl_slist_append(NULL, "Expect: 100-continue");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)big);
    struct reply r;
    easy_perform(e, &r);
    curl_easy_cleanup(e);
    curl_slist_free_all(headers);
    free(body);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 413);
    assert_non_null(strstr(r.body, "\"code\":\"body_too_large\""));
    assert_int_equal(seen_calls(), before);
    assert_int_equal(metric(&f, "rrasfleet_reports_rejected_total{reason=\"too_large\"}"), 1);
    fixture_stop(&f);
}

static void test_expect_100_continue_gets_a_prompt_interim_answer(void **state)
{
    (void)state;
    struct fixture f;
    fixture_start(&f, base_config());
    char body[10000];
    memset(body, 'x', sizeof(body));
    CURL *e = easy_new("Host1.Contoso.COM");
    easy_url(e, f.agent_port, "/echo");
    struct curl_slist *headers = curl_slist_append(NULL, "Expect: 100-continue");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    /* Without our 100 Continue curl would wait 60 s before it sent the body, and its 8 s
     * transfer timeout (easy_new) would fail the request first. */
    curl_easy_setopt(e, CURLOPT_EXPECT_100_TIMEOUT_MS, 60000L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)sizeof(body));
    struct reply r;
    easy_perform(e, &r);
    curl_easy_cleanup(e);
    curl_slist_free_all(headers);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"identity\":\"host1.contoso.com\",\"body_len\":10000}");
    fixture_stop(&f);
}

static void test_chunked_upload_is_411_and_malformed_head_400_as_json(void **state)
{
    (void)state;
    struct fixture f;
    char answer[2048];
    fixture_start(&f, base_config());
    unsigned before = seen_calls();
    raw_exchange(&f, "POST /v1/reports HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
                 answer, sizeof(answer));
    assert_true(strncmp(answer, "HTTP/1.1 411 Length Required\r\n", 30) == 0);
    assert_non_null(strstr(answer, "{\"error\":{\"code\":\"length_required\""));
    raw_exchange(&f, "GET /echo HTTP/1.1\nHost: a\n\n", answer, sizeof(answer));
    assert_true(strncmp(answer, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
    assert_non_null(strstr(answer, "Content-Type: application/json\r\n"));
    raw_exchange(&f, "GET /echo HTTP/3.0\r\nHost: a\r\n\r\n", answer, sizeof(answer));
    assert_true(strncmp(answer, "HTTP/1.1 505 ", 13) == 0);
    assert_int_equal(seen_calls(), before);
    fixture_stop(&f);
}

static void test_pipelined_requests_are_answered_in_order(void **state)
{
    (void)state;
    struct fixture f;
    char answer[4096];
    fixture_start(&f, base_config());
    raw_exchange(&f,
                 "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
                 "GET /echo HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                 answer, sizeof(answer));
    const char *first = strstr(answer, "\"body_len\":3}");
    const char *second = strstr(answer, "\"body_len\":0}");
    assert_non_null(first);
    assert_non_null(second);
    assert_true(first < second);
    fixture_stop(&f);
}

static void test_head_request_gets_the_length_but_no_body(void **state)
{
    (void)state;
    struct fixture f;
    char answer[2048];
    fixture_start(&f, base_config());
    raw_exchange(&f, "HEAD /echo HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", answer,
                 sizeof(answer));
    assert_true(strncmp(answer, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_non_null(strstr(answer, "\r\nContent-Length: 28\r\n"));
    const char *end = strstr(answer, "\r\n\r\n");
    assert_non_null(end);
    assert_string_equal(end + 4, "");
    fixture_stop(&f);
}

/* ---- scale and limits -------------------------------------------------------------------- */

#define MANY 1000

static void
test_a_thousand_concurrent_tls_connections_are_held_and_new_requests_still_work(void **state)
{
    (void)state;
    struct fixture f;
    mbedtls_ssl_config conf;
    mbedtls_ssl_session saved;
    struct col_server_config cfg = base_config();
    cfg.max_connections = MANY + 100;
    cfg.header_timeout_ms = 60000;
    cfg.clock_recheck_ms = 0; /* the default: 1,000 waiting threads need not look every 5 ms */
    fixture_start(&f, cfg);
    tconf_init(&conf, false, MBEDTLS_SSL_MINOR_VERSION_3, true);
    mbedtls_ssl_session_init(&saved);
    struct tclient *clients = calloc(MANY, sizeof(*clients));
    assert_non_null(clients);

    double t0 = now_ms();
    for (int k = 0; k < MANY; k++) {
        int ret = tclient_open(&clients[k], &conf, f.admin_port, k == 0 ? NULL : &saved);
        if (ret != 0) {
            fail_msg("connection %d: handshake -0x%04x", k, (unsigned)-ret);
        }
        if (k == 0) {
            assert_int_equal(mbedtls_ssl_get_session(&clients[0].ssl, &saved), 0);
        }
        tclient_forget_tls(&clients[k]);
    }
    double opened = now_ms() - t0;
    assert_true(col_server_connections(f.server) >= MANY);
    assert_true(metric(&f, "rrasfleet_connections_open") >= MANY);
    assert_int_equal(wait_metric_at_least(&f, HS_RESUMED, MANY - 1), MANY - 1);

    t0 = now_ms();
    struct reply r = fetch(f.admin_port, "/metrics", NULL);
    double served = now_ms() - t0;
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\nrrasfleet_connections_open 1001\n"));
    print_message("%d TLS connections opened in %.0f ms (resumed); a new request while they were "
                  "held took %.1f ms\n",
                  MANY, opened, served);

    for (int k = 0; k < MANY; k++) {
        tclient_close(&clients[k]);
    }
    free(clients);
    wait_connections_at_most(&f, 0);
    assert_int_equal(metric(&f, "rrasfleet_connections_refused_total"), 0);
    mbedtls_ssl_session_free(&saved);
    mbedtls_ssl_config_free(&conf);
    fixture_stop(&f);
}

static void test_connections_beyond_the_cap_are_closed_at_once_and_counted(void **state)
{
    (void)state;
    struct fixture f;
    struct col_server_config cfg = base_config();
    cfg.max_connections = 3;
    fixture_start(&f, cfg);
    int held[3];
    for (int k = 0; k < 3; k++) {
        held[k] = tcp_connect(f.admin_port);
    }
    WAIT_FOR(col_server_connections(f.server) == 3);
    /* The clock stands still, so no handshake timeout can close it: only the cap. */
    int extra = tcp_connect(f.admin_port);
    double closed = wait_closed_ms(extra, (int)WAIT_CAP_MS);
    assert_true(closed >= 0);
    close(extra);
    assert_int_equal(metric(&f, "rrasfleet_connections_refused_total"), 1);
    for (int k = 0; k < 3; k++) {
        close(held[k]);
    }
    wait_connections_at_most(&f, 0);
    struct reply r = fetch(f.admin_port, "/echo", NULL); /* room again */
    assert_int_equal(r.status, 200);
    fixture_stop(&f);
}

/* ---- the pool of connection threads ------------------------------------------------------ */

static struct col_server_pool_stats pool_stats(struct fixture *f)
{
    struct col_server_pool_stats st;
    col_server_pool_stats(f->server, &st);
    return st;
}

/* Waits (bounded) until no connection is open and every connection thread is idle in the pool:
 * the next connection then goes to the most recently idle thread. */
static bool pool_settled(struct fixture *f)
{
    struct col_server_pool_stats st = pool_stats(f);
    return col_server_connections(f->server) == 0 && st.threads_idle == st.threads_alive;
}

static void wait_pool_settled(struct fixture *f)
{
    WAIT_FOR(pool_settled(f));
}

/* Threads of this process right now. */
static unsigned task_count(void)
{
    unsigned n = 0;
    DIR *dir = opendir("/proc/self/task");
    assert_non_null(dir);
    for (struct dirent *d = readdir(dir); d != NULL; d = readdir(dir)) {
        if (d->d_name[0] != '.') {
            n++;
        }
    }
    closedir(dir);
    return n;
}

/* Checks a /whoami answer and returns the id of the server thread that served it. */
static unsigned long whoami_thread(const struct reply *r, const char *identity, bool cert,
                                   int which)
{
    char want[320];
    snprintf(want, sizeof(want), "{\"identity\":\"%s\",\"client_cert\":%s,\"thread\":", identity,
             cert ? "true" : "false");
    if (r->rc != CURLE_OK || r->status != 200 || strncmp(r->body, want, strlen(want)) != 0) {
        fail_msg("connection %d: want identity '%s': curl %d, status %ld, body %s", which, identity,
                 (int)r->rc, r->status, r->body);
    }
    return strtoul(r->body + strlen(want), NULL, 10);
}

static void
test_three_hundred_new_connections_alternating_two_certificates_each_see_their_own_identity(
    void **state)
{
    (void)state;
    enum { ROUNDS = 300 };
    static const char *const names[2] = {"Host1.Contoso.COM", "CnOnly.contoso.com"};
    static const char *const ids[2] = {"host1.contoso.com", "cnonly.contoso.com"};
    struct fixture f;
    CURLSH *shares[2];
    fixture_start(&f, base_config());
    for (int k = 0; k < 2; k++) { /* a session belongs to one client certificate */
        shares[k] = curl_share_init();
        assert_non_null(shares[k]);
        curl_share_setopt(shares[k], CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    }
    unsigned tasks_before = task_count();
    unsigned tasks_max = tasks_before;
    unsigned long first_thread = 0;
    for (int k = 0; k < ROUNDS; k++) {
        int who = k % 2;
        struct reply r;
        CURL *e = easy_new(names[who]);
        easy_url(e, f.agent_port, "/whoami");
        if (k % 10 != 9) { /* most resume by ticket, like agents; every tenth is a full one */
            curl_easy_setopt(e, CURLOPT_SHARE, shares[who]);
        }
        easy_perform(e, &r);
        curl_easy_cleanup(e);
        unsigned long thread = whoami_thread(&r, ids[who], true, k);
        if (k == 0) {
            first_thread = thread;
        }
        /* One thread, so each identity follows the other's on the same thread and context. */
        assert_true(thread == first_thread);
        unsigned tasks = task_count();
        tasks_max = tasks > tasks_max ? tasks : tasks_max;
        wait_pool_settled(&f);
    }
    for (int k = 0; k < 2; k++) {
        curl_share_cleanup(shares[k]);
    }
    struct col_server_pool_stats st = pool_stats(&f);
    print_message("%d new connections: %lu thread(s) started, %lu hand-offs, %u -> %u tasks "
                  "(max %u), %llu resumed\n",
                  ROUNDS, st.threads_started, st.handoffs, tasks_before, task_count(), tasks_max,
                  metric(&f, HS_RESUMED));
    assert_int_equal(st.threads_started, 1);
    assert_int_equal(st.handoffs, ROUNDS - 1);
    assert_int_equal(st.threads_alive, 1);
    assert_int_equal(st.threads_idle, 1);
    assert_true(tasks_max <= tasks_before + 1);
    assert_int_equal(metric(&f, HS_FULL) + metric(&f, HS_RESUMED), ROUNDS);
    assert_true(metric(&f, HS_RESUMED) >= ROUNDS * 8 / 10 - 2);
    assert_int_equal(metric(&f, HS_FAILED), 0);
    assert_int_equal(metric(&f, "rrasfleet_connections_total"), ROUNDS);
    assert_int_equal(metric(&f, "rrasfleet_connections_open"), 0);
    fixture_stop(&f);
}

struct burst_client {
    unsigned port;
    const char *name; /* client certificate */
    char ca[256];     /* file paths, made on the main thread */
    char cert[256];
    char key[256];
    const char *identity; /* what the server must see */
    int rounds;
    int wrong; /* answers with another identity, or failed */
    char first_wrong[256];
};

static void *burst_client_main(void *arg)
{
    struct burst_client *b = arg;
    CURLSH *share = curl_share_init();
    if (share == NULL) {
        b->wrong = b->rounds;
        return NULL;
    }
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    char want[320];
    snprintf(want, sizeof(want), "{\"identity\":\"%s\",\"client_cert\":true,", b->identity);
    for (int k = 0; k < b->rounds; k++) {
        struct reply r;
        CURL *e = easy_new_files(b->ca, b->cert, b->key);
        if (e == NULL) {
            b->wrong++;
            continue;
        }
        easy_url(e, b->port, "/whoami");
        curl_easy_setopt(e, CURLOPT_SHARE, share);
        easy_perform(e, &r);
        curl_easy_cleanup(e);
        if (r.rc != CURLE_OK || r.status != 200 || strncmp(r.body, want, strlen(want)) != 0) {
            if (b->wrong++ == 0) {
                snprintf(b->first_wrong, sizeof(b->first_wrong), "curl %d, status %ld: %.160s",
                         (int)r.rc, r.status, r.body);
            }
        }
    }
    curl_share_cleanup(share);
    return NULL;
}

static void
test_concurrent_new_connections_from_two_certificates_never_see_each_others_identity(void **state)
{
    (void)state;
    enum { CLIENTS = 4, ROUNDS = 60 };
    struct fixture f;
    struct burst_client clients[CLIENTS];
    pthread_t threads[CLIENTS];
    fixture_start(&f, base_config());
    for (int k = 0; k < CLIENTS; k++) {
        memset(&clients[k], 0, sizeof(clients[k]));
        clients[k].port = f.agent_port;
        clients[k].name = k % 2 == 0 ? "Host1.Contoso.COM" : "CnOnly.contoso.com";
        clients[k].identity = k % 2 == 0 ? "host1.contoso.com" : "cnonly.contoso.com";
        clients[k].rounds = ROUNDS;
        snprintf(clients[k].ca, sizeof(clients[k].ca), "%s", pki_path("ca", "crt"));
        snprintf(clients[k].cert, sizeof(clients[k].cert), "%s", pki_path(clients[k].name, "crt"));
        snprintf(clients[k].key, sizeof(clients[k].key), "%s", pki_path(clients[k].name, "key"));
        assert_int_equal(pthread_create(&threads[k], NULL, burst_client_main, &clients[k]), 0);
    }
    for (int k = 0; k < CLIENTS; k++) {
        assert_int_equal(pthread_join(threads[k], NULL), 0);
    }
    for (int k = 0; k < CLIENTS; k++) {
        if (clients[k].wrong != 0) {
            fail_msg("client %d (%s): %d wrong answers, first: %s", k, clients[k].name,
                     clients[k].wrong, clients[k].first_wrong);
        }
    }
    wait_connections_at_most(&f, 0);
    struct col_server_pool_stats st = pool_stats(&f);
    print_message("%d connections from %d concurrent clients: %lu threads started, %lu "
                  "hand-offs\n",
                  CLIENTS * ROUNDS, CLIENTS, st.threads_started, st.handoffs);
    assert_int_equal(st.threads_started + st.handoffs, CLIENTS * ROUNDS);
    assert_true(st.threads_started < CLIENTS * ROUNDS / 4);
    assert_int_equal(metric(&f, "rrasfleet_connections_total"), CLIENTS * ROUNDS);
    assert_int_equal(metric(&f, "rrasfleet_connections_open"), 0);
    assert_int_equal(metric(&f, HS_FAILED), 0);
    fixture_stop(&f);
}

/* Reads from c until `needle` has arrived (or the read fails); the text read so far. */
static void tclient_read_until(struct tclient *c, const char *needle, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    while (len + 1 < size && strstr(out, needle) == NULL) {
        int ret = mbedtls_ssl_read(&c->ssl, (unsigned char *)out + len, size - 1 - len);
        if (ret <= 0) {
            break;
        }
        len += (size_t)ret;
        out[len] = '\0';
    }
}

static void
test_a_client_that_sends_garbage_or_half_a_request_does_not_poison_the_next_one(void **state)
{
    (void)state;
    struct fixture f;
    struct reply r;
    mbedtls_ssl_config conf;
    struct tclient c;
    char answer[2048];
    fixture_start(&f, base_config());

    /* 1. Garbage instead of a client hello, then the client closes at once. */
    int fd = tcp_connect(f.agent_port);
    static const char junk[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n\x16\x03\x01\xff\xff";
    assert_int_equal(send(fd, junk, sizeof(junk) - 1, MSG_NOSIGNAL), (ssize_t)(sizeof(junk) - 1));
    close(fd);
    wait_metric_at_least(&f, HS_FAILED, 1);
    wait_pool_settled(&f);
    assert_int_equal(metric(&f, HS_FAILED), 1);

    /* 2. A good agent on the thread that saw the garbage. */
    r = fetch(f.agent_port, "/whoami", "Host1.Contoso.COM");
    unsigned long thread = whoami_thread(&r, "host1.contoso.com", true, 2);
    wait_pool_settled(&f);

    /* 3. host1 (mbedTLS client) sends a request and half of the next one, reads the answer and
     *    drops the connection without close_notify: the server holds a partial head. */
    tconf_init(&conf, true, MBEDTLS_SSL_MINOR_VERSION_3, true);
    assert_int_equal(tclient_open(&c, &conf, f.agent_port, NULL), 0);
    tclient_send(&c, "GET /whoami HTTP/1.1\r\nHost: a\r\n\r\nPOST /whoami HTTP/1.1\r\nContent-Le");
    tclient_read_until(&c, "}", answer, sizeof(answer));
    tclient_close(&c);
    mbedtls_ssl_config_free(&conf);
    assert_non_null(strstr(answer, "{\"identity\":\"host1.contoso.com\",\"client_cert\":true,"));
    wait_pool_settled(&f);

    /* 4. The admin listener (another TLS configuration) must not see host1's certificate. */
    r = fetch(f.admin_port, "/whoami", NULL);
    assert_true(whoami_thread(&r, "", false, 4) == thread);
    wait_pool_settled(&f);

    /* 5. Another agent: its whole request (no leftover bytes before it), its own identity. */
    r = fetch(f.agent_port, "/whoami", "CnOnly.contoso.com");
    assert_true(whoami_thread(&r, "cnonly.contoso.com", true, 5) == thread);
    wait_pool_settled(&f);

    /* 6. A malformed head over TLS: 400 and closed; then a good agent again. */
    raw_exchange(&f, "GET /whoami HTTP/1.1\nHost: a\n\n", answer, sizeof(answer));
    assert_true(strncmp(answer, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
    wait_pool_settled(&f);
    r = fetch(f.agent_port, "/whoami", "Host1.Contoso.COM");
    assert_true(whoami_thread(&r, "host1.contoso.com", true, 7) == thread);
    wait_pool_settled(&f);

    struct col_server_pool_stats st = pool_stats(&f);
    assert_int_equal(st.threads_started, 1);
    assert_int_equal(st.handoffs, 6);
    assert_int_equal(metric(&f, "rrasfleet_connections_total"), 7);
    assert_int_equal(metric(&f, "rrasfleet_connections_open"), 0);
    assert_int_equal(metric(&f, HS_FAILED), 1);
    fixture_stop(&f);
}

/* Opens n TLS connections on the admin port and holds them (n threads serving). */
static void hold_connections(struct fixture *f, mbedtls_ssl_config *conf, struct tclient *c, int n)
{
    for (int k = 0; k < n; k++) {
        assert_int_equal(tclient_open(&c[k], conf, f->admin_port, NULL), 0);
    }
    WAIT_FOR(col_server_connections(f->server) >= (unsigned long)n);
    assert_int_equal(col_server_connections(f->server), n);
}

static void test_idle_pooled_threads_are_capped_and_exit_after_the_idle_time(void **state)
{
    (void)state;
    enum { HELD = 10, CAP = 3 };
    struct fixture f;
    mbedtls_ssl_config conf;
    struct tclient c[HELD];
    struct col_server_config cfg = base_config();
    cfg.idle_threads_max = CAP;
    cfg.idle_thread_ms = 400;
    fixture_start(&f, cfg);
    unsigned tasks_before = task_count();
    tconf_init(&conf, false, MBEDTLS_SSL_MINOR_VERSION_3, true);
    hold_connections(&f, &conf, c, HELD);
    struct col_server_pool_stats st = pool_stats(&f);
    assert_int_equal(st.threads_alive, HELD);
    assert_int_equal(st.threads_idle, 0);
    for (int k = 0; k < HELD; k++) {
        tclient_close(&c[k]);
    }
    wait_connections_at_most(&f, 0);
    WAIT_FOR(pool_stats(&f).threads_alive <= CAP);
    st = pool_stats(&f);
    assert_int_equal(st.threads_alive, CAP); /* the rest exited when their connection ended */
    assert_int_equal(st.threads_idle, CAP);

    /* An idle one serves the next connection... */
    struct reply r = fetch(f.admin_port, "/whoami", NULL);
    (void)whoami_thread(&r, "", false, 0);
    wait_pool_settled(&f);
    st = pool_stats(&f);
    assert_int_equal(st.threads_started, HELD);
    assert_int_equal(st.handoffs, 1);

    /* ...and after idle_thread_ms with nothing to do they all exit: not 1 ms before it, once
     * each has looked at the clock, but at it. */
    tclock_settle("rras-conn", TCLOCK_SETTLE_CONN);
    tclock_advance(399);
    tclock_settle("rras-conn", TCLOCK_SETTLE_CONN);
    st = pool_stats(&f);
    assert_int_equal(st.threads_alive, CAP);
    assert_int_equal(st.threads_idle, CAP);
    tclock_advance(1);
    WAIT_FOR(pool_stats(&f).threads_alive == 0);
    st = pool_stats(&f);
    assert_int_equal(st.threads_alive, 0);
    assert_int_equal(st.threads_idle, 0);
    /* A detached thread is still unwinding after its last unlock. */
    WAIT_FOR(task_count() <= tasks_before);

    /* An empty pool still serves: a new thread. */
    r = fetch(f.admin_port, "/whoami", NULL);
    (void)whoami_thread(&r, "", false, 1);
    assert_int_equal(pool_stats(&f).threads_started, HELD + 1);
    mbedtls_ssl_config_free(&conf);
    fixture_stop(&f);
}

static void test_stop_with_idle_pooled_threads_returns_within_a_second(void **state)
{
    (void)state;
    enum { HELD = 8 };
    struct fixture f;
    mbedtls_ssl_config conf;
    struct tclient c[HELD];
    fixture_start(&f, base_config()); /* idle threads would wait 10 s for work */
    tconf_init(&conf, false, MBEDTLS_SSL_MINOR_VERSION_3, true);
    hold_connections(&f, &conf, c, HELD);
    for (int k = 0; k < HELD; k++) {
        tclient_close(&c[k]);
    }
    wait_pool_settled(&f);
    assert_int_equal(pool_stats(&f).threads_idle, HELD);

    /* The clock stands still, so only the stop can end the idle threads' wait. */
    col_server_stop(f.server);
    double stopped = join_run(&f);
    struct col_server_pool_stats st = pool_stats(&f);
    print_message("stop with %d idle pooled threads: %.1f ms\n", HELD, stopped);
    assert_int_equal(st.threads_alive, 0);
    assert_int_equal(st.threads_idle, 0);
    mbedtls_ssl_config_free(&conf);
    fixture_stop(&f);
}

/* ---- graceful stop ----------------------------------------------------------------------- */

struct slow_call {
    unsigned port;
    struct reply reply;
};

static void *slow_client(void *arg)
{
    struct slow_call *call = arg;
    call->reply = fetch(call->port, "/slow", NULL);
    return NULL;
}

static void test_graceful_stop_finishes_the_in_flight_request_and_closes_idle_ones(void **state)
{
    (void)state;
    struct fixture f;
    mbedtls_ssl_config conf;
    struct tclient idle;
    struct col_server_config cfg = base_config();
    cfg.idle_timeout_ms = 60000;
    cfg.header_timeout_ms = 60000;
    fixture_start(&f, cfg);
    pthread_mutex_lock(&seen.lock);
    seen.slow_entered = false;
    seen.slow_release = false;
    seen.slow_done = false;
    pthread_mutex_unlock(&seen.lock);

    tconf_init(&conf, false, MBEDTLS_SSL_MINOR_VERSION_3, true);
    assert_int_equal(tclient_open(&idle, &conf, f.admin_port, NULL), 0);

    struct slow_call call = {.port = f.admin_port};
    pthread_t client;
    assert_int_equal(pthread_create(&client, NULL, slow_client, &call), 0);
    pthread_mutex_lock(&seen.lock);
    while (!seen.slow_entered) {
        pthread_cond_wait(&seen.cond, &seen.lock);
    }
    pthread_mutex_unlock(&seen.lock);

    col_server_stop(f.server);
    /* The idle connection is closed at once (its 60 s cannot pass: the clock stands still)... */
    char answer[64];
    assert_int_equal(tclient_read_all(&idle, answer, sizeof(answer)), 0); /* closed */
    tclient_close(&idle);
    mbedtls_ssl_config_free(&conf);
    /* ...while run waits for the request in flight. */
    assert_int_equal(pthread_tryjoin_np(f.thread, NULL), EBUSY);
    pthread_mutex_lock(&seen.lock);
    seen.slow_release = true;
    pthread_cond_broadcast(&seen.cond);
    pthread_mutex_unlock(&seen.lock);
    (void)join_run(&f);
    pthread_mutex_lock(&seen.lock);
    assert_true(seen.slow_done); /* run returned only after the request finished */
    pthread_mutex_unlock(&seen.lock);

    assert_int_equal(pthread_join(client, NULL), 0);
    assert_int_equal(call.reply.rc, CURLE_OK);
    assert_int_equal(call.reply.status, 200);

    int fd = socket(AF_INET, SOCK_STREAM, 0); /* the listener is gone */
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f.admin_port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_not_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    close(fd);
    fixture_stop(&f);
}

/* ---- the event thread (decision 008) ------------------------------------------------------ */

/* Reads one whole answer (head + Content-Length body) into out; returns its length, 0 when the
 * connection ended first. *last is the last mbedTLS result. */
static size_t tclient_read_response(struct tclient *c, char *out, size_t size, int *last)
{
    size_t len = 0;
    *last = 0;
    for (;;) {
        const char *end = len > 0 ? strstr(out, "\r\n\r\n") : NULL;
        if (end != NULL) {
            const char *cl = strstr(out, "Content-Length: ");
            size_t body = cl != NULL ? strtoul(cl + 16, NULL, 10) : 0;
            size_t want = (size_t)(end + 4 - out) + body;
            if (len >= want) {
                return len;
            }
        }
        if (len + 1 >= size) {
            return 0;
        }
        int ret = mbedtls_ssl_read(&c->ssl, (unsigned char *)out + len, size - 1 - len);
        *last = ret;
        if (ret <= 0) {
            return 0;
        }
        len += (size_t)ret;
        out[len] = '\0';
    }
}

#define EV_EVENT "rrasfleet_http_requests_total{thread=\"event\"}"
#define EV_CONN "rrasfleet_http_requests_total{thread=\"connection\"}"

/* `count` small POSTs answered 200 on c (two park a connection: COL_CONN_PARK_AFTER). */
static void tclient_echo(struct tclient *c, int count, char *answer, size_t size)
{
    int last = 0;
    for (int k = 0; k < count; k++) {
        tclient_send(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
        assert_true(tclient_read_response(c, answer, size, &last) > 0);
        assert_non_null(strstr(answer, "HTTP/1.1 200 "));
    }
}

/* A mutual-TLS connection (host1) that has carried two requests, so the server has parked it
 * with the event thread. conf is initialized here; the caller frees it. */
static void tclient_open_parked(struct fixture *f, mbedtls_ssl_config *conf, struct tclient *c,
                                char *answer, size_t size)
{
    tconf_init(conf, true, MBEDTLS_SSL_MINOR_VERSION_3, true);
    assert_int_equal(tclient_open(c, conf, f->agent_port, NULL), 0);
    tclient_echo(c, 2, answer, size);
}

static void test_event_thread_serves_kept_connections_and_hands_other_requests_back(void **state)
{
    (void)state;
    struct fixture f;
    struct reply r;
    fixture_start(&f, events_config());
    /* One request per connection (agents at a 5-minute interval): never parked. */
    for (int k = 0; k < 5; k++) {
        r = fetch(f.agent_port, "/echo", "Host1.Contoso.COM");
        assert_int_equal(r.status, 200);
    }
    wait_connections_at_most(&f, 0);
    assert_int_equal(metric(&f, EV_EVENT), 0);
    assert_int_equal(col_server_events_handed_back(f.server, COL_SERVER_HANDBACK_END), 0);
    char body[9000];
    for (size_t k = 0; k < sizeof(body); k++) {
        body[k] = (char)('a' + k % 26);
    }
    CURL *e = easy_new("Host1.Contoso.COM");
    long connects = 0;
    /* 20 reports-like POSTs, a request the event thread hands back, 5 more, one answered at
     * once by `begin`, and a body larger than the read buffer (the thread reads it). */
    const char *paths[] = {"/digest", "/metrics", "/digest", "/now", "/digest"};
    const int counts[] = {20, 1, 5, 1, 1};
    const size_t sizes[] = {sizeof(body), 0, 100, 0, 0};
    for (int step = 0; step < 5; step++) {
        for (int k = 0; k < counts[step]; k++) {
            easy_url(e, f.agent_port, paths[step]);
            if (strcmp(paths[step], "/metrics") == 0) {
                curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
            } else {
                curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)sizes[step]);
            }
            easy_perform(e, &r);
            assert_int_equal(r.rc, CURLE_OK);
            assert_int_equal(r.status, 200);
            connects += r.connects;
            if (step == 0) {
                uint32_t fnv = 2166136261u;
                for (size_t i = 0; i < sizeof(body); i++) {
                    fnv = (fnv ^ (unsigned char)body[i]) * 16777619u;
                }
                char want[128];
                snprintf(want, sizeof(want), "{\"body_len\":%zu,\"fnv\":%u,\"nul\":true}",
                         sizeof(body), (unsigned)fnv);
                assert_string_equal(r.body, want);
            }
        }
    }
    char *large = malloc(40000);
    assert_non_null(large);
    memset(large, 'x', 40000);
    easy_url(e, f.agent_port, "/digest");
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, large);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)40000);
    easy_perform(e, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"body_len\":40000"));
    connects += r.connects;
    free(large);
    curl_easy_cleanup(e);
    assert_int_equal(connects, 1);
    /* The first two requests come before the connection is parked (COL_CONN_PARK_AFTER);
     * /metrics and the large body go back to the connection's thread; the other 18 /digest, 5
     * /digest, 1 /now and 1 empty /digest are the event thread's. */
    assert_int_equal(metric(&f, EV_EVENT), 25);
    assert_int_equal(metric(&f, EV_CONN), 5 + 4);
    assert_int_equal(col_server_events_handed_back(f.server, COL_SERVER_HANDBACK_DATA), 2);
    assert_int_equal(col_server_events_handed_back(f.server, COL_SERVER_HANDBACK_WRITE), 0);
    fixture_stop(&f);
}

static void test_parked_connection_is_closed_with_close_notify_after_the_idle_timeout(void **state)
{
    (void)state;
    struct fixture f;
    mbedtls_ssl_config conf;
    struct tclient c;
    char answer[1024];
    int last = 0;
    struct col_server_config cfg = events_config();
    cfg.idle_timeout_ms = 300;
    fixture_start(&f, cfg);
    tclient_open_parked(&f, &conf, &c, answer, sizeof(answer));
    tclient_echo(&c, 2, answer, sizeof(answer)); /* on the event thread */
    /* Idle from the last answer: once the event thread has set that deadline and looked at the
     * clock since, nothing comes 1 ms before it... */
    WAIT_FOR(metric(&f, EV_EVENT) == 2);
    tclock_settle("rras-events", TCLOCK_SETTLE_EVENTS);
    tclock_advance(299);
    tclock_settle("rras-events", TCLOCK_SETTLE_EVENTS);
    assert_false(fd_readable(c.net.fd));
    assert_int_equal(col_server_events_handed_back(f.server, COL_SERVER_HANDBACK_CLOSE), 0);
    /* ...and close_notify at it. */
    tclock_advance(1);
    assert_int_equal(tclient_read_response(&c, answer, sizeof(answer), &last), 0);
    assert_int_equal(last, MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY);
    wait_connections_at_most(&f, 0);
    assert_int_equal(metric(&f, EV_EVENT), 2);
    assert_int_equal(col_server_events_handed_back(f.server, COL_SERVER_HANDBACK_CLOSE), 1);
    tclient_close(&c);
    mbedtls_ssl_config_free(&conf);
    fixture_stop(&f);
}

static void
test_a_request_that_arrives_with_the_close_on_a_parked_connection_is_answered(void **state)
{
    (void)state;
    struct fixture f;
    mbedtls_ssl_config conf;
    struct tclient c;
    char answer[1024];
    int last = 0;
    fixture_start(&f, events_config());
    tclient_open_parked(&f, &conf, &c, answer, sizeof(answer));
    /* Corked: the request and close_notify leave in one segment, so the event thread reads the
     * whole request and then the close in one go. */
    int one = 1;
    int zero = 0;
    assert_int_equal(setsockopt(c.net.fd, IPPROTO_TCP, TCP_CORK, &one, sizeof(one)), 0);
    tclient_send(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
    assert_int_equal(mbedtls_ssl_close_notify(&c.ssl), 0);
    assert_int_equal(setsockopt(c.net.fd, IPPROTO_TCP, TCP_CORK, &zero, sizeof(zero)), 0);
    assert_true(tclient_read_response(&c, answer, sizeof(answer), &last) > 0);
    assert_non_null(strstr(answer, "HTTP/1.1 200 "));
    assert_int_equal(col_server_events_handed_back(f.server, COL_SERVER_HANDBACK_DATA), 1);
    tclient_close(&c);
    mbedtls_ssl_config_free(&conf);
    fixture_stop(&f);
}

static void test_half_sent_head_on_a_parked_connection_is_answered_408(void **state)
{
    (void)state;
    struct fixture f;
    mbedtls_ssl_config conf;
    struct tclient c;
    char answer[2048];
    int last = 0;
    struct col_server_config cfg = events_config();
    cfg.header_timeout_ms = 300;
    cfg.body_timeout_ms = 600;
    fixture_start(&f, cfg);
    tclient_open_parked(&f, &conf, &c, answer, sizeof(answer));
    /* Parked now: half a head, then nothing. Its 300 ms run from when the event thread read
     * it: nothing 1 ms before, the 408 at it. */
    tclient_send(&c, "POST /echo HTTP/1.1\r\nHost: x\r\n");
    WAIT_FOR(col_server_events_requests_seen(f.server) == 1);
    tclock_advance(299);
    tclock_settle("rras-events", TCLOCK_SETTLE_EVENTS);
    assert_false(fd_readable(c.net.fd));
    tclock_advance(1);
    assert_true(tclient_read_response(&c, answer, sizeof(answer), &last) > 0);
    assert_non_null(strstr(answer, "HTTP/1.1 408 "));
    assert_non_null(strstr(answer, "Connection: close"));
    tclient_close(&c);

    /* A whole head with half its body: the event thread holds it for the header timeout, then
     * the connection's thread gives the body its own timeout: 300 + 600 ms here. */
    assert_int_equal(tclient_open(&c, &conf, f.agent_port, NULL), 0);
    tclient_echo(&c, 2, answer, sizeof(answer));
    tclient_send(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
    WAIT_FOR(col_server_events_requests_seen(f.server) == 2);
    tclock_advance(299);
    tclock_settle("rras-events", TCLOCK_SETTLE_EVENTS);
    assert_int_equal(col_server_events_handed_back(f.server, COL_SERVER_HANDBACK_DATA), 1);
    tclock_advance(1);
    WAIT_FOR(col_server_events_handed_back(f.server, COL_SERVER_HANDBACK_DATA) == 2);
    tclock_settle("rras-conn", TCLOCK_SETTLE_CONN); /* the body's deadline is set */
    tclock_advance(599);
    tclock_settle("rras-conn", TCLOCK_SETTLE_CONN);
    assert_false(fd_readable(c.net.fd));
    tclock_advance(1);
    size_t n = tclient_read_response(&c, answer, sizeof(answer), &last);
    assert_true(n > 0);
    assert_non_null(strstr(answer, "HTTP/1.1 408 "));
    tclient_close(&c);
    mbedtls_ssl_config_free(&conf);
    assert_int_equal(metric(&f, EV_EVENT), 0);
    assert_int_equal(col_server_events_handed_back(f.server, COL_SERVER_HANDBACK_DATA), 2);
    fixture_stop(&f);
}

static void test_answer_too_big_for_the_socket_is_finished_by_the_connection_thread(void **state)
{
    (void)state;
    struct fixture f;
    mbedtls_ssl_config conf;
    struct tclient c;
    int last = 0;
    size_t size = BIG_ANSWER_BYTES + 4096;
    char *answer = malloc(size);
    assert_non_null(answer);
    fixture_start(&f, events_config());
    tclient_rcvbuf = 16384;
    tclient_open_parked(&f, &conf, &c, answer, size);
    tclient_rcvbuf = 0;
    /* Ask for 8 MiB and read nothing until the event thread has handed the half-written answer
     * back: more than the socket's buffers hold, so it must (a fixed wait was not enough under
     * ASan on a busy machine: the answer was still being made when the client began to read). */
    tclient_send(&c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    WAIT_FOR(col_server_events_handed_back(f.server, COL_SERVER_HANDBACK_WRITE) > 0);
    assert_int_equal(col_server_events_handed_back(f.server, COL_SERVER_HANDBACK_WRITE), 1);
    size_t n = tclient_read_response(&c, answer, size, &last);
    assert_true(n > BIG_ANSWER_BYTES);
    const char *body = strstr(answer, "\r\n\r\n") + 4;
    assert_int_equal(n - (size_t)(body - answer), BIG_ANSWER_BYTES);
    for (size_t k = 0; k < BIG_ANSWER_BYTES; k++) {
        if ((unsigned char)body[k] != (k * 7u) % 251u) {
            fail_msg("byte %zu of the big answer is wrong", k);
        }
    }
    /* The connection goes on, back on the event thread (the thread that finished the write
     * parked it again): /big and this one count as the event thread's; the two /echo before
     * parking as the connection thread's. */
    tclient_echo(&c, 1, answer, size);
    assert_int_equal(metric(&f, EV_EVENT), 2);
    assert_int_equal(metric(&f, EV_CONN), 2);
    assert_int_equal(col_server_events_handed_back(f.server, COL_SERVER_HANDBACK_WRITE), 1);
    tclient_close(&c);
    mbedtls_ssl_config_free(&conf);
    free(answer);
    fixture_stop(&f);
}

struct delayed_call {
    unsigned port;
    CURL *easy;
    struct reply reply;
    bool closed_by_server;
};

static size_t delayed_header(char *data, size_t size, size_t n, void *user)
{
    struct delayed_call *call = user;
    if (size * n >= 17 && strncasecmp(data, "Connection: close", 17) == 0) {
        call->closed_by_server = true;
    }
    return size * n;
}

static void *delayed_client(void *arg)
{
    struct delayed_call *call = arg;
    curl_easy_setopt(call->easy, CURLOPT_HEADERFUNCTION, delayed_header);
    curl_easy_setopt(call->easy, CURLOPT_HEADERDATA, call);
    char url[128];
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/delayed", call->port);
    curl_easy_setopt(call->easy, CURLOPT_URL, url);
    memset(&call->reply, 0, sizeof(call->reply));
    curl_easy_setopt(call->easy, CURLOPT_WRITEDATA, &call->reply);
    call->reply.rc = curl_easy_perform(call->easy);
    curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &call->reply.status);
    return NULL;
}

static void test_stop_answers_a_pending_request_with_close_and_ends_parked_connections(void **state)
{
    (void)state;
    struct fixture f;
    struct reply r;
    struct col_server_config cfg = events_config();
    cfg.idle_timeout_ms = 60000;
    fixture_start(&f, cfg);
    /* Two kept connections, parked after their first two requests. */
    CURL *idle = easy_new("Host1.Contoso.COM");
    easy_url(idle, f.agent_port, "/echo");
    struct delayed_call call = {.port = f.agent_port, .easy = easy_new("Host1.Contoso.COM")};
    easy_url(call.easy, f.agent_port, "/echo");
    for (int k = 0; k < 2; k++) {
        easy_perform(idle, &r);
        assert_int_equal(r.status, 200);
        easy_perform(call.easy, &r);
        assert_int_equal(r.status, 200);
    }
    wait_connections_at_most(&f, 2);

    unsigned begun = completer_begun();
    completer_set_release(false);
    pthread_t client;
    assert_int_equal(pthread_create(&client, NULL, delayed_client, &call), 0);
    WAIT_FOR(completer_begun() != begun);
    assert_int_equal(completer_begun(), begun + 1); /* pending on the event thread */
    col_server_stop(f.server);
    /* The idle one goes back at once (its 60 s cannot pass: the clock stands still), while run
     * waits for the pending one... */
    WAIT_FOR(col_server_events_handed_back(f.server, COL_SERVER_HANDBACK_CLOSE) == 1);
    assert_int_equal(pthread_tryjoin_np(f.thread, NULL), EBUSY);
    /* ...which is answered once its commit completes. */
    completer_set_release(true);
    (void)join_run(&f);
    assert_int_equal(pthread_join(client, NULL), 0);
    assert_int_equal(call.reply.rc, CURLE_OK);
    assert_int_equal(call.reply.status, 200); /* answered, after its completion ... */
    assert_true(call.closed_by_server);       /* ... with Connection: close */
    assert_int_equal(metric(&f, EV_EVENT), 1);
    /* The answered one and the idle one: both with close_notify. */
    assert_int_equal(col_server_events_handed_back(f.server, COL_SERVER_HANDBACK_CLOSE), 2);
    assert_int_equal(col_server_events_handed_back(f.server, COL_SERVER_HANDBACK_END), 0);
    curl_easy_cleanup(call.easy);
    curl_easy_cleanup(idle);
    fixture_stop(&f);
}

static void test_create_reports_a_missing_certificate_and_a_bad_address(void **state)
{
    (void)state;
    char err[256];
    struct col_server *server = NULL;
    struct col_server_config cfg = base_config();
    cfg.tls_cert = "/nonexistent/server.crt";
    cfg.tls_key = pki_path("server", "key");
    cfg.client_ca = pki_path("ca", "crt");
    assert_int_not_equal(col_server_create(&cfg, &server, err, sizeof(err)), PROTO_OK);
    assert_null(server);
    assert_non_null(strstr(err, "/nonexistent/server.crt"));

    cfg = base_config();
    char cert[256], key[256];
    snprintf(cert, sizeof(cert), "%s", pki_path("server", "crt"));
    snprintf(key, sizeof(key), "%s", pki_path("Host1.Contoso.COM", "key"));
    cfg.tls_cert = cert;
    cfg.tls_key = key; /* not the certificate's key */
    cfg.client_ca = pki_path("ca", "crt");
    assert_int_not_equal(col_server_create(&cfg, &server, err, sizeof(err)), PROTO_OK);
    assert_non_null(strstr(err, "does not match"));

    cfg.tls_key = pki_path("server", "key");
    cfg.agent_listen = "127.0.0.1";
    assert_int_equal(col_server_create(&cfg, &server, err, sizeof(err)), PROTO_EINVAL);
    assert_non_null(strstr(err, "HOST:PORT"));

    cfg.agent_listen = "127.0.0.1:0";
    cfg.client_ca = NULL;
    assert_int_equal(col_server_create(&cfg, &server, err, sizeof(err)), PROTO_EINVAL);
    assert_non_null(strstr(err, "client_ca"));
}

/* ---- the log ----------------------------------------------------------------------------- */

static size_t read_log(int fd, char *out, size_t size)
{
    ssize_t n = read(fd, out, size - 1);
    assert_true(n >= 0);
    out[n] = '\0';
    return (size_t)n;
}

static void test_log_lines_are_timestamped_leveled_filtered_and_defanged(void **state)
{
    (void)state;
    int fds[2];
    char line[COL_LOG_MAX_LINE + 64];
    enum col_log_level saved_level = col_log_get_level();
    assert_int_equal(pipe(fds), 0);
    int saved_fd = col_log_set_fd(fds[1]);

    assert_int_equal(col_log_set_level_name("WARN"), PROTO_OK);
    assert_int_equal(col_log_set_level_name("verbose"), PROTO_EINVAL);
    assert_int_equal(col_log_get_level(), COL_LOG_WARN);
    col_log(COL_LOG_INFO, "dropped");
    col_log(COL_LOG_WARN, "peer %s said\nforged %d", "CN=x", 7);
    size_t n = read_log(fds[0], line, sizeof(line));
    /* 2026-11-25T10:01:02.345Z warn  peer CN=x said?forged 7 */
    assert_true(n > 25);
    assert_true(line[4] == '-' && line[7] == '-' && line[10] == 'T' && line[13] == ':' &&
                line[16] == ':' && line[19] == '.' && line[23] == 'Z' && line[24] == ' ');
    assert_string_equal(line + 24, " warn  peer CN=x said?forged 7\n");

    char big[COL_LOG_MAX_LINE * 2];
    memset(big, 'b', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    col_log(COL_LOG_ERROR, "%s", big);
    n = read_log(fds[0], line, sizeof(line));
    assert_true(n <= COL_LOG_MAX_LINE);
    assert_string_equal(line + n - 4, "...\n");
    assert_string_equal(col_log_level_str(COL_LOG_DEBUG), "debug");

    col_log_set_fd(saved_fd);
    col_log_set_level(saved_level);
    close(fds[0]);
    close(fds[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_is_first_san_dns_lower_cased_else_cn_never_a_wildcard),
        cmocka_unit_test(test_agent_port_refuses_a_client_without_a_certificate),
        cmocka_unit_test(test_agent_port_refuses_a_certificate_from_a_rogue_ca),
        cmocka_unit_test(test_agent_port_refuses_a_certificate_without_client_auth_eku),
        cmocka_unit_test(test_agent_handler_sees_the_identity_of_a_valid_certificate),
        cmocka_unit_test(test_wildcard_certificate_is_accepted_with_an_empty_identity),
        cmocka_unit_test(test_admin_port_serves_without_a_client_certificate),
        cmocka_unit_test(test_tls_1_1_only_client_is_refused),
        cmocka_unit_test(test_fifty_requests_share_one_keep_alive_connection),
        cmocka_unit_test(test_keep_alive_bodies_of_growing_and_shrinking_sizes_arrive_intact),
        cmocka_unit_test(test_second_connection_resumes_by_session_ticket),
        cmocka_unit_test(test_second_connection_resumes_by_session_id_without_tickets),
        cmocka_unit_test(test_resumed_session_keeps_the_client_identity),
        cmocka_unit_test(
            test_silent_client_is_closed_after_the_handshake_timeout_while_others_are_served),
        cmocka_unit_test(test_half_sent_head_is_answered_408_after_the_header_timeout),
        cmocka_unit_test(test_oversize_content_length_is_413_before_the_body_is_read),
        cmocka_unit_test(test_expect_100_continue_gets_a_prompt_interim_answer),
        cmocka_unit_test(test_chunked_upload_is_411_and_malformed_head_400_as_json),
        cmocka_unit_test(test_pipelined_requests_are_answered_in_order),
        cmocka_unit_test(test_head_request_gets_the_length_but_no_body),
        cmocka_unit_test(
            test_a_thousand_concurrent_tls_connections_are_held_and_new_requests_still_work),
        cmocka_unit_test(test_connections_beyond_the_cap_are_closed_at_once_and_counted),
        cmocka_unit_test(
            test_three_hundred_new_connections_alternating_two_certificates_each_see_their_own_identity),
        cmocka_unit_test(
            test_concurrent_new_connections_from_two_certificates_never_see_each_others_identity),
        cmocka_unit_test(
            test_a_client_that_sends_garbage_or_half_a_request_does_not_poison_the_next_one),
        cmocka_unit_test(test_idle_pooled_threads_are_capped_and_exit_after_the_idle_time),
        cmocka_unit_test(test_stop_with_idle_pooled_threads_returns_within_a_second),
        cmocka_unit_test(test_graceful_stop_finishes_the_in_flight_request_and_closes_idle_ones),
        cmocka_unit_test(test_event_thread_serves_kept_connections_and_hands_other_requests_back),
        cmocka_unit_test(test_parked_connection_is_closed_with_close_notify_after_the_idle_timeout),
        cmocka_unit_test(
            test_a_request_that_arrives_with_the_close_on_a_parked_connection_is_answered),
        cmocka_unit_test(test_half_sent_head_on_a_parked_connection_is_answered_408),
        cmocka_unit_test(test_answer_too_big_for_the_socket_is_finished_by_the_connection_thread),
        cmocka_unit_test(
            test_stop_answers_a_pending_request_with_close_and_ends_parked_connections),
        cmocka_unit_test(test_create_reports_a_missing_certificate_and_a_bad_address),
        cmocka_unit_test(test_log_lines_are_timestamped_leveled_filtered_and_defanged),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
