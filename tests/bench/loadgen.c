/*
 * loadgen: the benchmark's load generator. POSTs agent reports over mutual TLS to one URL (the
 * collector's /v1/reports, or nginx standing in for it) with the libcurl multi interface: N
 * transfers in flight, M simulated hosts each with its own client certificate and at most one
 * report in flight, bodies made in memory up front. Three connection modes: a new connection per
 * report with TLS session resumption, without it, and keep-alive. Prints one RESULT line.
 * Benchmark tooling: never run by ctest, never pointed at anything but this machine's loopback.
 */
#include <curl/curl.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "alloc.h"
#include "bench_common.h"
#include "buf.h"

#define LG_MAX_PIDS 8
#define LG_MAX_CONCURRENCY 1024u
#define LG_PATH_MAX 512
#define LG_RESP_MAX 256
#define LG_ERR_MAX 320
#define LG_METRICS_MAX (256u * 1024u)

enum lg_mode { LG_MODE_RESUME, LG_MODE_NORESUME, LG_MODE_KEEPALIVE };

struct lg_opts {
    const char *url;
    const char *cacert;
    const char *certdir;
    const char *template_path;
    const char *label;
    const char *ciphers;
    const char *metrics_url;
    const char *metrics_token;
    enum lg_mode mode;
    unsigned long hosts;
    unsigned long count;
    unsigned long concurrency;
    unsigned long timeout_s;
    unsigned long warmup; /* 1: one untimed report per host first */
    unsigned long nonce;
    bool nonce_set;
    bool preload; /* client keys parsed once, installed by SSL_CTX callback (new-conn modes) */
    bool new_snapshots; /* every report brings a snapshot never sent before */
    long pids[LG_MAX_PIDS];
    size_t npids;
};

struct lg_host {
    char cert[LG_PATH_MAX];
    char key[LG_PATH_MAX];
    X509_STORE *store; /* borrowed from lg_ctx */
    X509 *x509;        /* preloaded client certificate */
    EVP_PKEY *pkey;    /* preloaded client key */
    CURLSH *share;     /* resume mode: this host's TLS session cache */
    bool busy;
    size_t next; /* next body of this host (0 .. per_host) */
};

struct lg_xfer {
    CURL *easy;
    unsigned host;
    char resp[LG_RESP_MAX];
    size_t resp_len;
    bool in_use;
};

struct lg_stats {
    size_t done;
    size_t accepted;  /* 202 */
    size_t duplicate; /* 200 (the collector's answer to a repeated report_id) */
    size_t errors;
    long new_conns;
    double *lat_ms;
    char first_error[LG_ERR_MAX];
};

struct lg_ctx {
    const struct lg_opts *o;
    X509_STORE *store; /* preloaded CA */
    struct lg_host *hosts;
    struct lg_xfer *xfers;
    CURLM *multi;
    struct curl_slist *headers;
};

static const char *lg_mode_name(enum lg_mode m)
{
    switch (m) {
    case LG_MODE_RESUME:
        return "resume";
    case LG_MODE_NORESUME:
        return "noresume";
    case LG_MODE_KEEPALIVE:
        return "keepalive";
    }
    return "?";
}

static void lg_usage(void)
{
    fprintf(
        stderr,
        "usage: loadgen --url URL --cacert FILE --certdir DIR --template FILE\n"
        "               --mode resume|noresume|keepalive [--hosts 200] [--count 3000]\n"
        "               [--concurrency 32] [--warmup 0|1] [--timeout-s 120] [--nonce N]\n"
        "               [--label NAME] [--ciphers LIST] [--cpu-pid PID ...]\n"
        "               [--metrics-url URL --metrics-token TOKEN] [--client-tls preload|files]\n"
        "               [--snapshots same|new]\n"
        "Client certificates are DIR/<fqdn>.crt and DIR/<fqdn>.key, fqdn as bench_host_name.\n");
}

static enum proto_rc lg_parse_args(int argc, char **argv, struct lg_opts *o)
{
    const char *mode = NULL;
    memset(o, 0, sizeof(*o));
    o->hosts = 200;
    o->count = 3000;
    o->concurrency = 32;
    o->timeout_s = 120;
    o->warmup = 2; /* unset: decided by mode */
    o->label = "target";
    o->ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
    o->preload = true;
    /* Every option takes a value: "--key value" pairs. */
    for (int i = 1; i < argc; i += 2) {
        const char *k = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        enum proto_rc rc = PROTO_OK;
        if (v == NULL) {
            fprintf(stderr, "loadgen: %s needs a value\n", k);
            return PROTO_EINVAL;
        }
        if (strcmp(k, "--url") == 0) {
            o->url = v;
        } else if (strcmp(k, "--cacert") == 0) {
            o->cacert = v;
        } else if (strcmp(k, "--certdir") == 0) {
            o->certdir = v;
        } else if (strcmp(k, "--template") == 0) {
            o->template_path = v;
        } else if (strcmp(k, "--label") == 0) {
            o->label = v;
        } else if (strcmp(k, "--ciphers") == 0) {
            o->ciphers = v;
        } else if (strcmp(k, "--metrics-url") == 0) {
            o->metrics_url = v;
        } else if (strcmp(k, "--metrics-token") == 0) {
            o->metrics_token = v;
        } else if (strcmp(k, "--mode") == 0) {
            mode = v;
        } else if (strcmp(k, "--client-tls") == 0) {
            if (strcmp(v, "preload") == 0) {
                o->preload = true;
            } else if (strcmp(v, "files") == 0) {
                o->preload = false;
            } else {
                rc = PROTO_EINVAL;
            }
        } else if (strcmp(k, "--snapshots") == 0) {
            if (strcmp(v, "same") == 0 || strcmp(v, "new") == 0) {
                o->new_snapshots = strcmp(v, "new") == 0;
            } else {
                rc = PROTO_EINVAL;
            }
        } else if (strcmp(k, "--hosts") == 0) {
            rc = bench_parse_uint(v, 1, BENCH_MAX_HOSTS, &o->hosts);
        } else if (strcmp(k, "--count") == 0) {
            rc = bench_parse_uint(v, 1, BENCH_MAX_COUNT, &o->count);
        } else if (strcmp(k, "--concurrency") == 0) {
            rc = bench_parse_uint(v, 1, LG_MAX_CONCURRENCY, &o->concurrency);
        } else if (strcmp(k, "--timeout-s") == 0) {
            rc = bench_parse_uint(v, 1, 3600, &o->timeout_s);
        } else if (strcmp(k, "--warmup") == 0) {
            rc = bench_parse_uint(v, 0, 1, &o->warmup);
        } else if (strcmp(k, "--nonce") == 0) {
            rc = bench_parse_uint(v, 0, 0xffffffffu, &o->nonce);
            o->nonce_set = true;
        } else if (strcmp(k, "--cpu-pid") == 0) {
            unsigned long pid = 0;
            rc = bench_parse_uint(v, 1, 0x7fffffff, &pid);
            if (rc == PROTO_OK && o->npids == LG_MAX_PIDS) {
                rc = PROTO_ELIMIT;
            }
            if (rc == PROTO_OK) {
                o->pids[o->npids++] = (long)pid;
            }
        } else {
            fprintf(stderr, "loadgen: unknown option %s\n", k);
            return PROTO_EINVAL;
        }
        if (rc) {
            fprintf(stderr, "loadgen: bad value for %s: %s\n", k, v);
            return PROTO_EINVAL;
        }
    }
    if (o->url == NULL || o->cacert == NULL || o->certdir == NULL || o->template_path == NULL ||
        mode == NULL) {
        lg_usage();
        return PROTO_EINVAL;
    }
    if (strcmp(mode, "resume") == 0) {
        o->mode = LG_MODE_RESUME;
    } else if (strcmp(mode, "noresume") == 0) {
        o->mode = LG_MODE_NORESUME;
    } else if (strcmp(mode, "keepalive") == 0) {
        o->mode = LG_MODE_KEEPALIVE;
    } else {
        fprintf(stderr, "loadgen: unknown mode %s\n", mode);
        return PROTO_EINVAL;
    }
    if (o->mode == LG_MODE_KEEPALIVE) {
        /* libcurl tells connections apart by the client certificate file it was given; with
         * preloaded keys every host could be handed another host's connection. Keep-alive
         * makes its connections in the warm-up only, so the files cost nothing timed. */
        o->preload = false;
    }
    if (o->warmup == 2) {
        /* Resumption needs a session and keep-alive a connection: make them before timing. */
        o->warmup = o->mode == LG_MODE_NORESUME ? 0 : 1;
    }
    return PROTO_OK;
}

/* utime + stime of `pid` in seconds (all its threads), or -1 when it cannot be read. */
static double lg_proc_cpu(long pid)
{
    char path[64];
    char buf[1024];
    double result = -1.0;
    int n = snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        return -1.0;
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return -1.0;
    }
    size_t len = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[len] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold blanks and parentheses */
    if (p == NULL) {
        return -1.0;
    }
    /* After ") " come fields 3 (state) ...; utime and stime are fields 14 and 15. */
    p++;
    unsigned long long ticks = 0;
    for (int field = 3; field <= 15; field++) {
        while (*p == ' ') {
            p++;
        }
        char *end = NULL;
        if (field >= 14) {
            unsigned long long v = strtoull(p, &end, 10);
            if (end == p) {
                return -1.0;
            }
            ticks += v;
            p = end;
        } else {
            while (*p != ' ' && *p != '\0') {
                p++;
            }
        }
        if (*p == '\0' && field < 15) {
            return -1.0;
        }
    }
    long hz = sysconf(_SC_CLK_TCK);
    if (hz > 0) {
        result = (double)ticks / (double)hz;
    }
    return result;
}

static double lg_pids_cpu(const struct lg_opts *o)
{
    double sum = 0.0;
    for (size_t i = 0; i < o->npids; i++) {
        double c = lg_proc_cpu(o->pids[i]);
        if (c < 0) {
            return -1.0;
        }
        sum += c;
    }
    return sum;
}

static double lg_self_cpu(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        return 0.0;
    }
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---- /metrics: TLS handshake counters, requests answered by the event thread ------------------
 */

#define LG_COUNTERS 4 /* full, resumed and failed handshakes; event-thread answers */

struct lg_metrics_buf {
    struct proto_buf b;
};

static size_t lg_metrics_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct lg_metrics_buf *m = userdata;
    size_t n = size * nmemb;
    return proto_buf_append(&m->b, ptr, n) == PROTO_OK ? n : 0;
}

static long long lg_metric_value(const char *text, const char *name)
{
    const char *p = text;
    size_t nlen = strlen(name);
    while ((p = strstr(p, name)) != NULL) {
        if ((p == text || p[-1] == '\n') && p[nlen] == ' ') {
            char *end = NULL;
            long long v = strtoll(p + nlen + 1, &end, 10);
            return end == p + nlen + 1 ? -1 : v;
        }
        p += nlen;
    }
    return -1;
}

/*
 * Fetches the counters; all -1 when not configured or unavailable. The fetch makes its own
 * (full) TLS handshake on the admin listener, counted before the counters are rendered: with
 * `minus_own` it is taken off, so that after - before counts only the load.
 */
static void lg_metrics_fetch(const struct lg_opts *o, long long counters[LG_COUNTERS],
                             bool minus_own)
{
    static const char *names[LG_COUNTERS] = {"rrasfleet_tls_handshakes_total{result=\"full\"}",
                                             "rrasfleet_tls_handshakes_total{result=\"resumed\"}",
                                             "rrasfleet_tls_handshakes_total{result=\"failed\"}",
                                             "rrasfleet_http_requests_total{thread=\"event\"}"};
    char auth[512];
    struct lg_metrics_buf m;
    struct curl_slist *h = NULL;
    CURL *easy = NULL;
    for (int i = 0; i < LG_COUNTERS; i++) {
        counters[i] = -1;
    }
    if (o->metrics_url == NULL || o->metrics_token == NULL) {
        return;
    }
    proto_buf_init(&m.b, LG_METRICS_MAX);
    int n = snprintf(auth, sizeof(auth), "Authorization: Bearer %s", o->metrics_token);
    if (n < 0 || (size_t)n >= sizeof(auth)) {
        goto out;
    }
    h = curl_slist_append(NULL, auth);
    easy = curl_easy_init();
    if (h == NULL || easy == NULL) {
        goto out;
    }
    curl_easy_setopt(easy, CURLOPT_URL, o->metrics_url);
    curl_easy_setopt(easy, CURLOPT_CAINFO, o->cacert);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, lg_metrics_write);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &m);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    long code = 0;
    if (curl_easy_perform(easy) != CURLE_OK ||
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK || code != 200) {
        fprintf(stderr, "loadgen: cannot read %s (HTTP %ld)\n", o->metrics_url, code);
        goto out;
    }
    for (int i = 0; i < LG_COUNTERS; i++) {
        counters[i] = lg_metric_value(proto_buf_str(&m.b), names[i]);
    }
    long conns = 0;
    if (minus_own && counters[0] > 0 &&
        curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &conns) == CURLE_OK) {
        counters[0] -= conns;
    }
out:
    curl_easy_cleanup(easy);
    curl_slist_free_all(h);
    proto_buf_free(&m.b);
}

/* ---- transfers ------------------------------------------------------------------------------ */

static size_t lg_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct lg_xfer *x = userdata;
    size_t n = size * nmemb;
    size_t room = sizeof(x->resp) - 1 - x->resp_len;
    size_t take = n < room ? n : room;
    memcpy(x->resp + x->resp_len, ptr, take);
    x->resp_len += take;
    x->resp[x->resp_len] = '\0';
    return n;
}

/*
 * libcurl (7.88, OpenSSL) builds a new SSL_CTX for every connection and would read and decode
 * the CA file and the client key each time: about 1.5 ms of the load generator's CPU per
 * connection, on the same 2 cores as the server under test. With --client-tls preload they
 * are parsed once per host and installed here instead.
 */
static CURLcode lg_ssl_ctx(CURL *easy, void *sslctx, void *userptr)
{
    (void)easy;
    struct lg_host *h = userptr;
    SSL_CTX *ctx = sslctx;
    if (SSL_CTX_use_certificate(ctx, h->x509) != 1 || SSL_CTX_use_PrivateKey(ctx, h->pkey) != 1) {
        return CURLE_SSL_CERTPROBLEM;
    }
    SSL_CTX_set1_cert_store(ctx, h->store); /* takes a reference */
    return CURLE_OK;
}

static enum proto_rc lg_start(struct lg_ctx *c, struct lg_xfer *x, unsigned h,
                              const struct bench_body *body)
{
    const struct lg_opts *o = c->o;
    CURL *e = curl_easy_init();
    if (e == NULL) {
        return PROTO_ENOMEM;
    }
    x->easy = e;
    x->host = h;
    x->resp_len = 0;
    x->resp[0] = '\0';
    x->in_use = true;
    curl_easy_setopt(e, CURLOPT_URL, o->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body->json); /* not copied: bodies outlive runs */
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, lg_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    if (o->preload) {
        curl_easy_setopt(e, CURLOPT_CAINFO, NULL);
        curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
        curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, lg_ssl_ctx);
        curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, &c->hosts[h]);
    } else {
        curl_easy_setopt(e, CURLOPT_CAINFO, o->cacert);
        curl_easy_setopt(e, CURLOPT_SSLCERT, c->hosts[h].cert);
        curl_easy_setopt(e, CURLOPT_SSLKEY, c->hosts[h].key);
    }
    curl_easy_setopt(e, CURLOPT_SSLVERSION,
                     (long)(CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2));
    if (o->ciphers[0] != '\0') {
        curl_easy_setopt(e, CURLOPT_SSL_CIPHER_LIST, o->ciphers);
    }
    curl_easy_setopt(e, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 20L);
    switch (o->mode) {
    case LG_MODE_RESUME:
        curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
        curl_easy_setopt(e, CURLOPT_SHARE, c->hosts[h].share);
        break;
    case LG_MODE_NORESUME:
        curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
        curl_easy_setopt(e, CURLOPT_SSL_SESSIONID_CACHE, 0L);
        break;
    case LG_MODE_KEEPALIVE:
        break; /* the multi handle's connection cache keeps each host's connection */
    }
    if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        x->easy = NULL;
        x->in_use = false;
        return PROTO_EIO;
    }
    c->hosts[h].busy = true;
    return PROTO_OK;
}

/* Counts an error; the first one's text is kept ("curl error N: ..." or "HTTP N: body"). */
static void lg_error(struct lg_stats *s, bool is_curl, long code, const char *text)
{
    s->errors++;
    if (s->first_error[0] == '\0') {
        int n = snprintf(s->first_error, sizeof(s->first_error), "%s %ld: %s",
                         is_curl ? "curl error" : "HTTP", code, text);
        if (n < 0) {
            s->first_error[0] = '?';
            s->first_error[1] = '\0';
        }
    }
}

static void lg_finish(struct lg_ctx *c, CURLMsg *msg, struct lg_stats *s)
{
    char *priv = NULL;
    CURL *e = msg->easy_handle;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
    struct lg_xfer *x = (struct lg_xfer *)(void *)priv;
    long code = 0;
    long conns = 0;
    curl_off_t total_us = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &conns);
    curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &total_us);
    s->new_conns += conns;
    if (msg->data.result != CURLE_OK) {
        lg_error(s, true, (long)msg->data.result, curl_easy_strerror(msg->data.result));
    } else if (code == 202) {
        s->accepted++;
    } else if (code == 200) {
        s->duplicate++;
    } else {
        lg_error(s, false, code, x->resp);
    }
    s->lat_ms[s->done++] = (double)total_us / 1000.0;
    curl_multi_remove_handle(c->multi, e);
    curl_easy_cleanup(e);
    c->hosts[x->host].busy = false;
    x->easy = NULL;
    x->in_use = false;
}

/* Runs every body of `b` with at most `concurrency` in flight and one per host; fills `s`. */
static enum proto_rc lg_run(struct lg_ctx *c, const struct bench_bodies *b, struct lg_stats *s)
{
    const struct lg_opts *o = c->o;
    enum proto_rc result = PROTO_OK;
    size_t started = 0;
    size_t running = 0;
    unsigned rr = 0;
    double deadline = bench_now() + (double)o->timeout_s;

    memset(s, 0, sizeof(*s));
    s->lat_ms = proto_calloc(b->count, sizeof(*s->lat_ms));
    if (s->lat_ms == NULL) {
        return PROTO_ENOMEM;
    }
    for (unsigned h = 0; h < b->hosts; h++) {
        c->hosts[h].next = 0;
        c->hosts[h].busy = false;
    }
    while (s->done < b->count) {
        /* Fill free slots: next host round-robin that is idle and has reports left. */
        while (running < o->concurrency && started < b->count) {
            unsigned pick = b->hosts;
            for (unsigned tries = 0; tries < b->hosts; tries++) {
                unsigned h = (rr + tries) % b->hosts;
                if (!c->hosts[h].busy && c->hosts[h].next < b->per_host[h]) {
                    pick = h;
                    break;
                }
            }
            if (pick == b->hosts) {
                break; /* every host with work left is busy */
            }
            rr = (pick + 1) % b->hosts;
            struct lg_xfer *x = NULL;
            for (unsigned long i = 0; i < o->concurrency; i++) {
                if (!c->xfers[i].in_use) {
                    x = &c->xfers[i];
                    break;
                }
            }
            if (x == NULL) {
                break;
            }
            const struct bench_body *body = &b->bodies[b->first[pick] + c->hosts[pick].next];
            if ((result = lg_start(c, x, pick, body))) {
                goto out;
            }
            c->hosts[pick].next++;
            started++;
            running++;
        }
        int still = 0;
        if (curl_multi_perform(c->multi, &still) != CURLM_OK) {
            result = PROTO_EIO;
            goto out;
        }
        CURLMsg *msg;
        int left = 0;
        bool finished = false;
        while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
            if (msg->msg == CURLMSG_DONE) {
                lg_finish(c, msg, s);
                running--;
                finished = true;
            }
        }
        if (s->done >= b->count) {
            break;
        }
        if (finished && started < b->count) {
            continue; /* refill the freed slots now, not after the next poll timeout */
        }
        if (bench_now() > deadline) {
            fprintf(stderr, "loadgen: timed out after %lu s with %zu reports unanswered\n",
                    o->timeout_s, b->count - s->done);
            s->errors += b->count - s->done;
            if (s->first_error[0] == '\0') {
                snprintf(s->first_error, sizeof(s->first_error), "timed out");
            }
            break;
        }
        if (curl_multi_poll(c->multi, NULL, 0, 100, NULL) != CURLM_OK) {
            result = PROTO_EIO;
            goto out;
        }
    }
out:
    for (unsigned long i = 0; i < o->concurrency; i++) {
        if (c->xfers[i].in_use) {
            curl_multi_remove_handle(c->multi, c->xfers[i].easy);
            curl_easy_cleanup(c->xfers[i].easy);
            c->xfers[i].in_use = false;
            c->xfers[i].easy = NULL;
        }
    }
    return result;
}

/* Reads one PEM object of the given kind; NULL when the file cannot be read or parsed. */
static X509 *lg_read_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return NULL;
    }
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return x;
}

static EVP_PKEY *lg_read_key(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return NULL;
    }
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    return k;
}

static enum proto_rc lg_hosts_init(struct lg_ctx *c)
{
    const struct lg_opts *o = c->o;
    if (o->preload) {
        c->store = X509_STORE_new();
        if (c->store == NULL || X509_STORE_load_file(c->store, o->cacert) != 1) {
            fprintf(stderr, "loadgen: cannot load the CA file %s\n", o->cacert);
            return PROTO_EIO;
        }
    }
    for (unsigned h = 0; h < o->hosts; h++) {
        char fqdn[BENCH_HOST_NAME_MAX];
        struct lg_host *hp = &c->hosts[h];
        if (bench_host_name(h, fqdn, sizeof(fqdn))) {
            return PROTO_ELIMIT;
        }
        int n1 = snprintf(hp->cert, sizeof(hp->cert), "%s/%s.crt", o->certdir, fqdn);
        int n2 = snprintf(hp->key, sizeof(hp->key), "%s/%s.key", o->certdir, fqdn);
        if (n1 < 0 || (size_t)n1 >= sizeof(hp->cert) || n2 < 0 || (size_t)n2 >= sizeof(hp->key)) {
            return PROTO_ELIMIT;
        }
        if (access(hp->cert, R_OK) != 0 || access(hp->key, R_OK) != 0) {
            fprintf(stderr, "loadgen: missing client certificate %s or key\n", hp->cert);
            return PROTO_EMISSING;
        }
        if (o->preload) {
            hp->store = c->store;
            hp->x509 = lg_read_cert(hp->cert);
            hp->pkey = lg_read_key(hp->key);
            if (hp->x509 == NULL || hp->pkey == NULL ||
                X509_check_private_key(hp->x509, hp->pkey) != 1) {
                fprintf(stderr, "loadgen: cannot parse %s or its key\n", hp->cert);
                return PROTO_EPARSE;
            }
        }
        if (o->mode == LG_MODE_RESUME) {
            /* One cache per host: a session belongs to one client certificate. Single thread,
             * so no lock callbacks are needed. */
            hp->share = curl_share_init();
            if (hp->share == NULL || curl_share_setopt(hp->share, CURLSHOPT_SHARE,
                                                       CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
                return PROTO_ENOMEM;
            }
        }
    }
    return PROTO_OK;
}

static void lg_print_errors(const char *phase, const struct lg_stats *s)
{
    if (s->errors > 0) {
        fprintf(stderr, "loadgen: %s: %zu of %zu reports failed; first: %s\n", phase, s->errors,
                s->done, s->first_error);
    }
}

int main(int argc, char **argv)
{
    struct lg_opts o;
    struct lg_ctx c = {0};
    struct bench_bodies warm = {0};
    struct bench_bodies main_set = {0};
    struct lg_stats ws = {0};
    struct lg_stats ms = {0};
    int status = 2;

    if (lg_parse_args(argc, argv, &o)) {
        return 2;
    }
    proto_alloc_install_cjson_hooks();
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return 2;
    }
    c.o = &o;
    const curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
    if (o.preload && (vi->ssl_version == NULL || strncmp(vi->ssl_version, "OpenSSL", 7) != 0)) {
        o.preload = false; /* the SSL_CTX callback is OpenSSL's */
    }
    uint32_t nonce = o.nonce_set ? (uint32_t)o.nonce : bench_nonce();
    /* Warm-up ids differ from the timed ones in the nonce's top bit. */
    if (bench_bodies_make(o.template_path, (unsigned)o.hosts, o.count, nonce, o.new_snapshots,
                          &main_set) ||
        (o.warmup && bench_bodies_make(o.template_path, (unsigned)o.hosts, o.hosts,
                                       nonce ^ 0x80000000u, o.new_snapshots, &warm))) {
        fprintf(stderr, "loadgen: cannot make the report bodies from %s\n", o.template_path);
        goto out;
    }
    c.hosts = proto_calloc(o.hosts, sizeof(*c.hosts));
    c.xfers = proto_calloc(o.concurrency, sizeof(*c.xfers));
    c.multi = curl_multi_init();
    c.headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (c.headers != NULL) {
        /* No 100-continue round trip: agents send ~10 KB bodies straight away. */
        struct curl_slist *t = curl_slist_append(c.headers, "Expect:");
        c.headers = t != NULL ? t : c.headers;
    }
    if (c.hosts == NULL || c.xfers == NULL || c.multi == NULL || c.headers == NULL ||
        lg_hosts_init(&c)) {
        goto out;
    }
    /* Keep-alive: room for one idle connection per host in the cache. */
    curl_multi_setopt(c.multi, CURLMOPT_MAXCONNECTS, (long)(o.hosts + o.concurrency));

    if (o.warmup) {
        if (lg_run(&c, &warm, &ws)) {
            goto out;
        }
        lg_print_errors("warm-up", &ws);
    }
    long long hs0[LG_COUNTERS]; /* handshakes full, resumed, failed; event-thread answers */
    long long hs1[LG_COUNTERS];
    lg_metrics_fetch(&o, hs0, false);
    double cpu0 = lg_pids_cpu(&o);
    double self0 = lg_self_cpu();
    double t0 = bench_now();
    if (lg_run(&c, &main_set, &ms)) {
        goto out;
    }
    double elapsed = bench_now() - t0;
    double self1 = lg_self_cpu();
    double cpu1 = lg_pids_cpu(&o);
    lg_metrics_fetch(&o, hs1, true);
    lg_print_errors(lg_mode_name(o.mode), &ms);

    size_t ok = ms.accepted + ms.duplicate;
    double p50 = bench_percentile(ms.lat_ms, ms.done, 50.0);
    double p99 = bench_percentile(ms.lat_ms, ms.done, 99.0);
    double pmax = bench_percentile(ms.lat_ms, ms.done, 100.0);
    double server_cpu = cpu0 >= 0 && cpu1 >= 0 ? cpu1 - cpu0 : -1.0;
    size_t bytes = 0;
    for (size_t i = 0; i < main_set.count; i++) {
        bytes += main_set.bodies[i].len;
    }
    printf("RESULT label=%s mode=%s count=%zu ok=%zu accepted=%zu duplicate=%zu errors=%zu "
           "elapsed_s=%.3f rps=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f new_conns=%ld "
           "server_cpu_s=%.2f "
           "client_cpu_s=%.2f hs_full=%lld hs_resumed=%lld hs_failed=%lld warmup_errors=%zu "
           "body_bytes_avg=%zu event_answers=%lld\n",
           o.label, lg_mode_name(o.mode), main_set.count, ok, ms.accepted, ms.duplicate, ms.errors,
           elapsed, elapsed > 0 ? (double)ok / elapsed : 0.0, p50, p99, pmax, ms.new_conns,
           server_cpu, self1 - self0, hs0[0] >= 0 && hs1[0] >= 0 ? hs1[0] - hs0[0] : -1,
           hs0[1] >= 0 && hs1[1] >= 0 ? hs1[1] - hs0[1] : -1,
           hs0[2] >= 0 && hs1[2] >= 0 ? hs1[2] - hs0[2] : -1, ws.errors,
           main_set.count > 0 ? bytes / main_set.count : 0,
           hs0[3] >= 0 && hs1[3] >= 0 ? hs1[3] - hs0[3] : -1);
    status = ms.errors == 0 && ws.errors == 0 ? 0 : 1;
out:
    proto_free(ws.lat_ms);
    proto_free(ms.lat_ms);
    if (c.multi != NULL) {
        curl_multi_cleanup(c.multi);
    }
    if (c.hosts != NULL) {
        for (unsigned long h = 0; h < o.hosts; h++) {
            if (c.hosts[h].share != NULL) {
                curl_share_cleanup(c.hosts[h].share);
            }
            X509_free(c.hosts[h].x509);
            EVP_PKEY_free(c.hosts[h].pkey);
        }
    }
    proto_free(c.hosts);
    proto_free(c.xfers);
    X509_STORE_free(c.store);
    curl_slist_free_all(c.headers);
    bench_bodies_free(&warm);
    bench_bodies_free(&main_set);
    curl_global_cleanup();
    return status;
}
