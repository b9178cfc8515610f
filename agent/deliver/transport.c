/*
 * transport: libcurl easy handle configured once for mutual TLS to the collector.
 *
 * Keeping the one handle keeps curl's connection cache and TLS session cache, so a second
 * report within the server's keep-alive costs no handshake, and a later one at most a resumed
 * one. Every setting that makes the connection safe is set explicitly, even where it is curl's
 * default, so that a libcurl built differently (Schannel, another default CA path) behaves the
 * same: HTTPS only, TLS >= 1.2, peer and host verified, CAINFO set and CAPATH cleared (no
 * system store), no redirects, no proxy unless configured. CAINFO matters twice on Windows:
 * Wine's Schannel validates nothing by itself, and with CAINFO curl checks the chain itself.
 *
 * The client certificate: PEM files on POSIX; on Windows a certificate of LocalMachine\My,
 * chosen again before every request (clientcert.h), so that a renewed certificate is used as
 * soon as it is in the store and an expired one no longer is. A changed choice changes
 * CURLOPT_SSLCERT, which makes curl open a new connection rather than reuse one that
 * authenticated with the old certificate. On Windows the collector's CA may also come from
 * LocalMachine\Root by thumbprint (ca_thumbprint, cacert.h) as a PEM blob, loaded before the
 * first request; until it is, no request is made, so the system store is never what curl checks
 * against.
 */
#include "transport.h"

#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include <cjson/cJSON.h>

#include "alloc.h"
#include "backoff.h"
#include "cacert.h"
#include "clientcert.h"
#include "wire_reply.h"

#define TRANSPORT_USER_AGENT "rrasfleet-agent/" RRAS_VERSION

struct agent_transport {
    CURL *curl;
    struct curl_slist *headers;
    char *url;       /* the reports endpoint */
    char *base;      /* "https://host:port", no trailing '/' */
    char *other_url; /* the last results/profile URL (CURLOPT_URL keeps a copy, but be safe) */
    volatile sig_atomic_t *stop;
    struct agent_config *cfg; /* Windows: a copy, for choosing the certificate again */
    char cert_path[AGENT_CLIENTCERT_PATH_BYTES]; /* Windows: the store path given to curl */
    bool ca_loaded; /* Windows: ca_file given, or the ca_thumbprint blob set */
    char errbuf[CURL_ERROR_SIZE];
    size_t cap;            /* bytes of this answer's body to keep */
    size_t body_len;       /* bytes kept in body */
    size_t body_discarded; /* bytes beyond cap */
    char body[AGENT_TRANSPORT_MAX_FETCH + 1];
};

/* The buffer holds a fetched profile; a report's or a result's answer keeps less. */
_Static_assert(AGENT_TRANSPORT_MAX_FETCH >= AGENT_TRANSPORT_MAX_RESPONSE, "response buffer");

enum proto_rc agent_transport_global_init(void)
{
    CURLcode rc = curl_global_init_mem(CURL_GLOBAL_DEFAULT, proto_malloc, proto_free, proto_realloc,
                                       proto_strdup, proto_calloc);
    return rc == CURLE_OK ? PROTO_OK : PROTO_EUNAVAILABLE;
}

void agent_transport_global_cleanup(void)
{
    curl_global_cleanup();
}

const char *agent_send_outcome_str(enum agent_send_outcome outcome)
{
    switch (outcome) {
    case AGENT_SEND_ACKED:
        return "ack";
    case AGENT_SEND_RETRY:
        return "retry";
    case AGENT_SEND_REJECTED:
        return "rejected";
    }
    return "unknown";
}

/* Copies `s` into a one-line printable message: the collector's text ends up in logs. */
static void transport_copy_line(char *out, size_t out_size, const char *s)
{
    size_t n = 0;
    for (; s != NULL && s[n] != '\0' && n + 1 < out_size; n++) {
        unsigned char c = (unsigned char)s[n];
        out[n] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    out[n] = '\0';
}

static size_t transport_write(char *data, size_t size, size_t nmemb, void *userp)
{
    struct agent_transport *t = userp;
    size_t n = size * nmemb; /* curl promises size == 1 */
    size_t room = t->cap > t->body_len ? t->cap - t->body_len : 0;
    size_t keep = n < room ? n : room;
    memcpy(t->body + t->body_len, data, keep);
    t->body_len += keep;
    t->body_discarded += n - keep;
    t->body[t->body_len] = '\0';
    return n; /* read the rest too, so the connection stays usable */
}

static int transport_progress(void *userp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                              curl_off_t ulnow)
{
    struct agent_transport *t = userp;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return t->stop != NULL && *t->stop ? 1 : 0;
}

/* base (trailing '/' dropped) + path + tail (may be NULL); caller frees. */
static char *transport_endpoint(const char *base, const char *path, const char *tail)
{
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/') {
        n--;
    }
    size_t p = strlen(path);
    size_t tl = tail != NULL ? strlen(tail) : 0;
    char *url = proto_malloc(n + p + tl + 1);
    if (url == NULL) {
        return NULL;
    }
    memcpy(url, base, n);
    memcpy(url + n, path, p);
    if (tl > 0) {
        memcpy(url + n + p, tail, tl);
    }
    url[n + p + tl] = '\0';
    return url;
}

#define TRANSPORT_SET(t, opt, value)                                                               \
    do {                                                                                           \
        if (curl_easy_setopt((t)->curl, opt, value) != CURLE_OK) {                                 \
            return PROTO_EUNAVAILABLE;                                                             \
        }                                                                                          \
    } while (0)

static enum proto_rc transport_setup(struct agent_transport *t, const struct agent_config *cfg)
{
    TRANSPORT_SET(t, CURLOPT_URL, t->url);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85: CURLOPT_PROTOCOLS is deprecated */
    TRANSPORT_SET(t, CURLOPT_PROTOCOLS_STR, "https");
#else
    TRANSPORT_SET(t, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
    TRANSPORT_SET(t, CURLOPT_FOLLOWLOCATION, 0L);
    TRANSPORT_SET(t, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    TRANSPORT_SET(t, CURLOPT_SSL_VERIFYPEER, 1L);
    TRANSPORT_SET(t, CURLOPT_SSL_VERIFYHOST, 2L);
    /* NULL when unset (ca_thumbprint on Windows): curl would try to open a file named "". */
    TRANSPORT_SET(t, CURLOPT_CAINFO, cfg->ca_file[0] != '\0' ? cfg->ca_file : NULL);
    /* A TLS library with no CA folder (Schannel) answers NOT_BUILT_IN: nothing to clear. */
    CURLcode capath = curl_easy_setopt(t->curl, CURLOPT_CAPATH, (char *)NULL);
    if (capath != CURLE_OK && capath != CURLE_NOT_BUILT_IN) {
        return PROTO_EUNAVAILABLE;
    }
#ifdef _WIN32
    /* Schannel checks revocation of the whole chain by default, and fails when a private CA
     * publishes no CRL (status unknown) or its CRL is unreachable. Best effort still refuses
     * a certificate known to be revoked; the chain is pinned to ca_file either way. */
    TRANSPORT_SET(t, CURLOPT_SSL_OPTIONS, (long)CURLSSLOPT_REVOKE_BEST_EFFORT);
#endif
#ifndef _WIN32
    /* NULL, not "", when unset: curl would try to open a file named "". */
    TRANSPORT_SET(t, CURLOPT_SSLCERT, cfg->client_cert[0] != '\0' ? cfg->client_cert : NULL);
    TRANSPORT_SET(t, CURLOPT_SSLKEY, cfg->client_key[0] != '\0' ? cfg->client_key : NULL);
#endif
    if (cfg->pinned_pubkey[0] != '\0') {
        TRANSPORT_SET(t, CURLOPT_PINNEDPUBLICKEY, cfg->pinned_pubkey);
    }
    TRANSPORT_SET(t, CURLOPT_SSL_SESSIONID_CACHE, 1L);
    TRANSPORT_SET(t, CURLOPT_PROXY, cfg->proxy); /* "" disables proxies, even from the env */
    TRANSPORT_SET(t, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->connect_timeout_ms);
    TRANSPORT_SET(t, CURLOPT_TIMEOUT_MS, (long)cfg->total_timeout_ms);
    TRANSPORT_SET(t, CURLOPT_NOSIGNAL, 1L);
    TRANSPORT_SET(t, CURLOPT_TCP_KEEPALIVE, 1L);
    TRANSPORT_SET(t, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    TRANSPORT_SET(t, CURLOPT_USERAGENT, TRANSPORT_USER_AGENT);
    TRANSPORT_SET(t, CURLOPT_HTTPHEADER, t->headers);
    TRANSPORT_SET(t, CURLOPT_POST, 1L);
    TRANSPORT_SET(t, CURLOPT_ERRORBUFFER, t->errbuf);
    TRANSPORT_SET(t, CURLOPT_WRITEFUNCTION, transport_write);
    TRANSPORT_SET(t, CURLOPT_WRITEDATA, t);
    TRANSPORT_SET(t, CURLOPT_NOPROGRESS, 0L);
    TRANSPORT_SET(t, CURLOPT_XFERINFOFUNCTION, transport_progress);
    TRANSPORT_SET(t, CURLOPT_XFERINFODATA, t);
    return PROTO_OK;
}

enum proto_rc agent_transport_create(const struct agent_config *cfg, volatile sig_atomic_t *stop,
                                     struct agent_transport **out)
{
    enum proto_rc result = PROTO_ENOMEM;
    struct curl_slist *more = NULL;
    *out = NULL;
    if (cfg == NULL) {
        return PROTO_EINVAL;
    }
    curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
    if (info == NULL || (info->features & CURL_VERSION_SSL) == 0) {
        return PROTO_EUNAVAILABLE;
    }
    struct agent_transport *t = proto_calloc(1, sizeof(*t));
    if (t == NULL) {
        return PROTO_ENOMEM;
    }
    t->stop = stop;
#ifdef _WIN32
    t->cfg = proto_malloc(sizeof(*t->cfg));
    if (t->cfg == NULL) {
        goto out;
    }
    memcpy(t->cfg, cfg, sizeof(*t->cfg));
#endif
    t->url = transport_endpoint(cfg->collector_url, AGENT_REPORTS_PATH, NULL);
    t->base = transport_endpoint(cfg->collector_url, "", NULL);
    t->curl = curl_easy_init();
    if (t->url == NULL || t->base == NULL || t->curl == NULL) {
        goto out;
    }
    /* "Expect:" off: the collector answers at once, a 100-continue round trip only adds
     * latency to large bodies. */
    static const char *const headers[] = {"Content-Type: application/json",
                                          "Accept: application/json", "Expect:"};
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        more = curl_slist_append(t->headers, headers[i]);
        if (more == NULL) {
            goto out;
        }
        t->headers = more;
    }
    result = transport_setup(t, cfg);
    if (result == PROTO_OK) {
        *out = t;
        t = NULL;
    }
out:
    agent_transport_destroy(t);
    return result;
}

void agent_transport_destroy(struct agent_transport *t)
{
    if (t == NULL) {
        return;
    }
    if (t->curl != NULL) {
        curl_easy_cleanup(t->curl);
    }
    curl_slist_free_all(t->headers);
    proto_free(t->url);
    proto_free(t->base);
    proto_free(t->other_url);
    proto_free(t->cfg);
    proto_free(t);
}

const char *agent_transport_client_cert(const struct agent_transport *t)
{
    return t != NULL ? t->cert_path : "";
}

#ifdef _WIN32
/* Sets the collector's CA from LocalMachine\Root once, when ca_thumbprint names it. false, with
 * res saying why as a retry-later, while it is not there: Group Policy may yet bring it. */
static bool transport_ca(struct agent_transport *t, struct agent_send_result *res)
{
    char why[sizeof(res->error)];
    char *pem = NULL;
    size_t len = 0;
    if (t->ca_loaded || t->cfg->ca_file[0] != '\0') {
        t->ca_loaded = true;
        return true;
    }
    enum proto_rc rc = PROTO_EINVAL;
    why[0] = '\0';
    if (t->cfg->ca_thumbprint[0] != '\0') {
        rc = agent_cacert_root_pem(t->cfg->ca_thumbprint, &pem, &len, why, sizeof(why));
    }
    if (rc == PROTO_OK) {
        struct curl_blob blob = {pem, len, CURL_BLOB_COPY};
        rc = curl_easy_setopt(t->curl, CURLOPT_CAINFO_BLOB, &blob) == CURLE_OK ? PROTO_OK
                                                                               : PROTO_ENOMEM;
        proto_free(pem);
    }
    if (rc == PROTO_OK) {
        t->ca_loaded = true;
        return true;
    }
    res->outcome = AGENT_SEND_RETRY;
    char text[sizeof(res->error)];
    int n = snprintf(text, sizeof(text), "collector CA: %s",
                     why[0] != '\0' ? why : "neither ca_file nor ca_thumbprint is set");
    if (n < 0) {
        text[0] = '\0';
    }
    transport_copy_line(res->error, sizeof(res->error), text);
    return false;
}

/* Chooses the machine certificate for the next request. false, with res saying why as a
 * retry-later, when none qualifies now: enrolment may yet bring one. */
static bool transport_client_cert(struct agent_transport *t, struct agent_send_result *res)
{
    char path[AGENT_CLIENTCERT_PATH_BYTES];
    char why[sizeof(res->error)];
    if (!transport_ca(t, res)) {
        return false;
    }
    enum proto_rc rc = agent_clientcert_pick(t->cfg, path, why, sizeof(why));
    if (rc == PROTO_OK && strcmp(path, t->cert_path) != 0) {
        rc = curl_easy_setopt(t->curl, CURLOPT_SSLCERT, path) == CURLE_OK ? PROTO_OK : PROTO_ENOMEM;
        memcpy(t->cert_path, path, sizeof(path));
        if (rc) {
            t->cert_path[0] = '\0';
        }
    }
    if (rc == PROTO_OK) {
        return true;
    }
    res->outcome = AGENT_SEND_RETRY;
    char text[sizeof(res->error)];
    int n = snprintf(text, sizeof(text), "client certificate: %s",
                     why[0] != '\0' ? why : proto_rc_str(rc));
    if (n < 0) {
        text[0] = '\0';
    }
    transport_copy_line(res->error, sizeof(res->error), text);
    return false;
}
#endif

/* The collector's error document (proto/wire_reply.h); "HTTP <status>" when there is none. */
static void transport_error_text(const char *body, size_t len, long status,
                                 struct agent_send_result *res)
{
    struct proto_error_body error;
    char text[sizeof(res->error)];
    int n = -1;
    bool decoded =
        body != NULL && len > 0 && proto_wire_decode_error(body, len, &error, NULL) == PROTO_OK;
    if (decoded && error.message[0] != '\0' && error.field[0] != '\0') {
        n = snprintf(text, sizeof(text), "%s (field %s)", error.message, error.field);
    } else if (decoded && error.message[0] != '\0') {
        n = snprintf(text, sizeof(text), "%s", error.message);
    } else {
        n = snprintf(text, sizeof(text), "HTTP %ld", status);
    }
    if (n < 0) {
        text[0] = '\0';
    }
    transport_copy_line(res->error, sizeof(res->error), text);
}

void agent_transport_classify(long status, const char *body, size_t len, long retry_after_s,
                              struct agent_send_result *res)
{
    memset(res, 0, sizeof(*res));
    res->http_status = status;
    res->retry_after_s = retry_after_s > 0 ? (uint64_t)retry_after_s : 0;

    /* The acknowledgement through proto's strict decoder: a body it refuses carries nothing
     * (no interval, no id), and a 200 without a valid acknowledgement is not one. */
    struct proto_reply reply;
    bool replied = (status == 200 || status == 202) && body != NULL && len > 0 &&
                   proto_wire_decode_reply(body, len, &reply, NULL) == PROTO_OK;
    if (replied) {
        res->duplicate = reply.duplicate;
        res->next_interval_s = reply.next_interval_s;
        transport_copy_line(res->report_id, sizeof(res->report_id), reply.report_id);
        transport_copy_line(res->pending_profile, sizeof(res->pending_profile),
                            reply.pending_profile);
    }

    if (status == 202 || (status == 200 && replied && (reply.accepted || reply.duplicate))) {
        res->outcome = AGENT_SEND_ACKED;
    } else if (status == 408 || status == 429 || (status >= 500 && status <= 599)) {
        res->outcome = AGENT_SEND_RETRY;
        transport_error_text(body, len, status, res);
    } else if (status >= 400 && status <= 499) {
        res->outcome = AGENT_SEND_REJECTED;
        transport_error_text(body, len, status, res);
    } else {
        res->outcome = AGENT_SEND_RETRY;
        int n = snprintf(res->error, sizeof(res->error),
                         "unexpected HTTP %ld without an acknowledgement", status);
        if (n < 0) {
            res->error[0] = '\0';
        }
    }
}

typedef void (*transport_classify_fn)(long status, const char *body, size_t len, long retry_after_s,
                                      struct agent_send_result *res);

/* One request on the shared handle: POST body to url (body NULL: GET), keeping at most cap
 * bytes of the answer, classified by `classify`. PROTO_OK whenever res says what happened. */
static enum proto_rc transport_perform(struct agent_transport *t, const char *url, const char *body,
                                       size_t len, size_t cap, transport_classify_fn classify,
                                       struct agent_send_result *res)
{
    memset(res, 0, sizeof(*res));
    t->cap = cap;
    t->body_len = 0;
    t->body_discarded = 0;
    t->body[0] = '\0';
    t->errbuf[0] = '\0';
    if (curl_easy_setopt(t->curl, CURLOPT_URL, url) != CURLE_OK) {
        return PROTO_EINVAL;
    }
    if (body != NULL) {
        if (curl_easy_setopt(t->curl, CURLOPT_POST, 1L) != CURLE_OK ||
            curl_easy_setopt(t->curl, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
            curl_easy_setopt(t->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) != CURLE_OK) {
            return PROTO_EINVAL;
        }
    } else if (curl_easy_setopt(t->curl, CURLOPT_HTTPGET, 1L) != CURLE_OK) {
        return PROTO_EINVAL;
    }
#ifdef _WIN32
    if (!transport_client_cert(t, res)) {
        return PROTO_OK;
    }
#endif
    CURLcode rc = curl_easy_perform(t->curl);
    long status = 0;
    long connects = 0;
    (void)curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    (void)curl_easy_getinfo(t->curl, CURLINFO_NUM_CONNECTS, &connects);
    res->new_connections = connects;
    if (rc != CURLE_OK) {
        res->outcome = AGENT_SEND_RETRY;
        res->http_status = status;
        res->curl_code = (int)rc;
        char text[sizeof(res->error)];
        int n = snprintf(text, sizeof(text), "curl %d: %s", (int)rc,
                         t->errbuf[0] != '\0' ? t->errbuf : curl_easy_strerror(rc));
        if (n < 0) {
            text[0] = '\0';
        }
        transport_copy_line(res->error, sizeof(res->error), text);
        return PROTO_OK;
    }
    long retry_after = -1;
#if LIBCURL_VERSION_NUM >= 0x074200 /* 7.66: CURLINFO_RETRY_AFTER */
    curl_off_t ra = -1;
    if (curl_easy_getinfo(t->curl, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0) {
        curl_off_t max = (curl_off_t)(AGENT_BACKOFF_MAX_RETRY_AFTER_MS / 1000u);
        retry_after = (long)(ra > max ? max : ra);
    }
#endif
    classify(status, t->body, t->body_len, retry_after, res);
    res->new_connections = connects;
    return PROTO_OK;
}

enum proto_rc agent_transport_send(struct agent_transport *t, const char *body, size_t len,
                                   struct agent_send_result *res)
{
    if (t == NULL || body == NULL || res == NULL) {
        return PROTO_EINVAL;
    }
    return transport_perform(t, t->url, body, len, AGENT_TRANSPORT_MAX_RESPONSE,
                             agent_transport_classify, res);
}

/* True when obj has the member `name` and it is the boolean true. */
static bool transport_json_true(const cJSON *obj, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsTrue(item);
}

void agent_transport_classify_result(long status, const char *body, size_t len, long retry_after_s,
                                     struct agent_send_result *res)
{
    memset(res, 0, sizeof(*res));
    res->http_status = status;
    res->retry_after_s = retry_after_s > 0 ? (uint64_t)retry_after_s : 0;
    bool acknowledged = false;
    if ((status == 200 || status == 202) && body != NULL && len > 0 &&
        len <= PROTO_MAX_REPLY_BYTES) {
        cJSON *doc = cJSON_ParseWithLength(body, len);
        if (cJSON_IsObject(doc)) {
            res->duplicate = transport_json_true(doc, "duplicate");
            acknowledged = res->duplicate || transport_json_true(doc, "accepted");
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(doc, "result_id");
            if (cJSON_IsString(id) && strlen(id->valuestring) < sizeof(res->report_id)) {
                transport_copy_line(res->report_id, sizeof(res->report_id), id->valuestring);
            }
        }
        cJSON_Delete(doc);
    }
    if (status == 202 || (status == 200 && acknowledged)) {
        res->outcome = AGENT_SEND_ACKED;
    } else if (status == 408 || status == 429 || (status >= 500 && status <= 599)) {
        res->outcome = AGENT_SEND_RETRY;
        transport_error_text(body, len, status, res);
    } else if (status >= 400 && status <= 499) {
        res->outcome = AGENT_SEND_REJECTED;
        transport_error_text(body, len, status, res);
    } else {
        res->outcome = AGENT_SEND_RETRY;
        int n = snprintf(res->error, sizeof(res->error),
                         "unexpected HTTP %ld without an acknowledgement", status);
        if (n < 0) {
            res->error[0] = '\0';
        }
    }
}

enum proto_rc agent_transport_send_result(struct agent_transport *t, const char *body, size_t len,
                                          struct agent_send_result *res)
{
    if (t == NULL || body == NULL || res == NULL) {
        return PROTO_EINVAL;
    }
    char *url = transport_endpoint(t->base, AGENT_RESULTS_PATH, NULL);
    if (url == NULL) {
        return PROTO_ENOMEM;
    }
    proto_free(t->other_url);
    t->other_url = url;
    return transport_perform(t, url, body, len, AGENT_TRANSPORT_MAX_RESPONSE,
                             agent_transport_classify_result, res);
}

/* A fetch answer: 200 with a body is ACKED; otherwise as for results. */
static void transport_classify_fetch(long status, const char *body, size_t len, long retry_after_s,
                                     struct agent_send_result *res)
{
    if (status == 200 && body != NULL && len > 0) {
        memset(res, 0, sizeof(*res));
        res->http_status = status;
        res->outcome = AGENT_SEND_ACKED;
        return;
    }
    agent_transport_classify_result(status == 200 ? 0 : status, body, len, retry_after_s, res);
    res->http_status = status;
}

static bool transport_is_uuid(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        char c = s[n];
        bool dash = n == 8 || n == 13 || n == 18 || n == 23;
        bool ok = dash ? c == '-' : ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
        if (!ok || n >= 36) {
            return false;
        }
    }
    return n == 36;
}

enum proto_rc agent_transport_fetch_profile(struct agent_transport *t, const char *profile_id,
                                            char **body, size_t *len, struct agent_send_result *res)
{
    if (t == NULL || profile_id == NULL || body == NULL || len == NULL || res == NULL) {
        return PROTO_EINVAL;
    }
    *body = NULL;
    *len = 0;
    if (!transport_is_uuid(profile_id)) {
        return PROTO_EINVAL;
    }
    char *url = transport_endpoint(t->base, AGENT_PROFILES_PATH, profile_id);
    if (url == NULL) {
        return PROTO_ENOMEM;
    }
    proto_free(t->other_url);
    t->other_url = url;
    enum proto_rc result = transport_perform(t, url, NULL, 0, AGENT_TRANSPORT_MAX_FETCH,
                                             transport_classify_fetch, res);
    if (result || res->outcome != AGENT_SEND_ACKED) {
        return result;
    }
    if (t->body_discarded > 0) {
        res->outcome = AGENT_SEND_REJECTED;
        res->oversized = true;
        int n = snprintf(res->error, sizeof(res->error), "profile larger than %u bytes",
                         (unsigned)AGENT_TRANSPORT_MAX_FETCH);
        if (n < 0) {
            res->error[0] = '\0';
        }
        return PROTO_OK;
    }
    *body = proto_malloc(t->body_len + 1);
    if (*body == NULL) {
        return PROTO_ENOMEM;
    }
    memcpy(*body, t->body, t->body_len);
    (*body)[t->body_len] = '\0';
    *len = t->body_len;
    return PROTO_OK;
}
