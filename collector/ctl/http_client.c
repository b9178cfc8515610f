/*
 * http_client: rrasfleetctl's one HTTPS request, on libcurl.
 *
 * Owns the curl easy handle for the length of a request. HTTPS only, TLS 1.2 or later, peer
 * and host verified (against --cacert when given), no redirects (the bearer token must not
 * follow one elsewhere), connect and total timeouts, and a capped response body. Never logs
 * or prints the token; error texts name the URL and curl's reason only.
 */
#include "ctl.h"

#include <string.h>

#include <curl/curl.h>

#include "alloc.h"

#define HTTP_CONNECT_TIMEOUT_MS 10000L
#define HTTP_TOTAL_TIMEOUT_MS 120000L
#define HTTP_MAX_URL (2048u + COL_CTL_MAX_PATH)

#ifndef RRAS_VERSION
#define RRAS_VERSION "dev"
#endif

struct http_sink {
    struct proto_buf *body;
    bool too_large;
    bool no_memory;
};

static size_t http_write(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct http_sink *sink = userdata;
    size_t n = size * nmemb;
    enum proto_rc result = proto_buf_append(sink->body, data, n);
    if (result != PROTO_OK) {
        sink->too_large = result == PROTO_ELIMIT;
        sink->no_memory = result == PROTO_ENOMEM;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    return n;
}

char *col_ctl_http_escape(void *ctx, const char *s)
{
    size_t len = strlen(s);
    if (len > COL_CTL_MAX_PATH) {
        len = COL_CTL_MAX_PATH; /* the path cap refuses the request anyway */
    }
    char *escaped = curl_easy_escape((CURL *)ctx, s, (int)len);
    if (escaped == NULL) {
        return NULL;
    }
    char *copy = proto_strdup(escaped);
    curl_free(escaped);
    return copy;
}

static enum proto_rc http_fail(enum proto_rc rc, char *err, size_t err_size, const char *what,
                               const char *why)
{
    if (err != NULL && err_size > 0) {
        int n = snprintf(err, err_size, "%s: %s", what, why);
        if (n < 0) {
            err[0] = '\0';
        }
    }
    return rc;
}

enum proto_rc col_ctl_http_perform(const struct col_ctl_settings *settings,
                                   const struct col_ctl_request *req, long *status,
                                   struct proto_buf *body, char *err, size_t err_size)
{
    enum proto_rc result = PROTO_OK;
    CURL *curl = NULL;
    struct curl_slist *headers = NULL;
    struct curl_slist *grown = NULL;
    char url[HTTP_MAX_URL];
    char auth[sizeof(settings->token) + 32];
    char curl_err[CURL_ERROR_SIZE] = "";
    struct http_sink sink = {body, false, false};
    *status = 0;

    int n = snprintf(url, sizeof(url), "%s%s", settings->url, req->path);
    int m = snprintf(auth, sizeof(auth), "Authorization: Bearer %s", settings->token);
    if (n < 0 || (size_t)n >= sizeof(url) || m < 0 || (size_t)m >= sizeof(auth)) {
        return http_fail(PROTO_ELIMIT, err, err_size, "request", "URL or token too long");
    }
    curl = curl_easy_init();
    if (curl == NULL) {
        return http_fail(PROTO_ENOMEM, err, err_size, "curl", "cannot create a handle");
    }
    const char *const lines[] = {
        auth, req->accept_csv ? "Accept: text/csv" : "Accept: application/json",
        req->body != NULL ? "Content-Type: application/json" : NULL,
        "Expect:", /* no 100-continue round trip for small bodies */
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        if (lines[i] == NULL) {
            continue;
        }
        grown = curl_slist_append(headers, lines[i]);
        if (grown == NULL) {
            result = http_fail(PROTO_ENOMEM, err, err_size, "curl", "out of memory");
            goto out;
        }
        headers = grown;
    }
    CURLcode rc = CURLE_OK;
#define HTTP_SET(opt, val)                                                                         \
    do {                                                                                           \
        if (rc == CURLE_OK) {                                                                      \
            rc = curl_easy_setopt(curl, opt, val);                                                 \
        }                                                                                          \
    } while (0)
    HTTP_SET(CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
    HTTP_SET(CURLOPT_PROTOCOLS_STR, "https");
#else
    HTTP_SET(CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
    HTTP_SET(CURLOPT_FOLLOWLOCATION, 0L);
    HTTP_SET(CURLOPT_NOSIGNAL, 1L);
    HTTP_SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    HTTP_SET(CURLOPT_SSL_VERIFYPEER, 1L);
    HTTP_SET(CURLOPT_SSL_VERIFYHOST, 2L);
    if (settings->cacert[0] != '\0') {
        HTTP_SET(CURLOPT_CAINFO, settings->cacert);
    }
    HTTP_SET(CURLOPT_CONNECTTIMEOUT_MS, HTTP_CONNECT_TIMEOUT_MS);
    HTTP_SET(CURLOPT_TIMEOUT_MS, HTTP_TOTAL_TIMEOUT_MS);
    HTTP_SET(CURLOPT_HTTPHEADER, headers);
    HTTP_SET(CURLOPT_USERAGENT, "rrasfleetctl/" RRAS_VERSION);
    HTTP_SET(CURLOPT_WRITEFUNCTION, http_write);
    HTTP_SET(CURLOPT_WRITEDATA, &sink);
    HTTP_SET(CURLOPT_ERRORBUFFER, curl_err);
    if (req->method == COL_CTL_POST) {
        HTTP_SET(CURLOPT_POSTFIELDS, req->body != NULL ? req->body : "");
        HTTP_SET(CURLOPT_POSTFIELDSIZE, (long)(req->body != NULL ? strlen(req->body) : 0));
    } else if (req->method == COL_CTL_DELETE) {
        HTTP_SET(CURLOPT_CUSTOMREQUEST, "DELETE");
    }
#undef HTTP_SET
    if (rc != CURLE_OK) {
        result = http_fail(PROTO_EIO, err, err_size, "curl option", curl_easy_strerror(rc));
        goto out;
    }
    rc = curl_easy_perform(curl);
    if (sink.too_large) {
        result = http_fail(PROTO_ELIMIT, err, err_size, settings->url,
                           "answer larger than the client's limit");
        goto out;
    }
    if (sink.no_memory) {
        result = http_fail(PROTO_ENOMEM, err, err_size, settings->url, "out of memory");
        goto out;
    }
    if (rc != CURLE_OK) {
        char why[CURL_ERROR_SIZE + 96];
        int k = snprintf(
            why, sizeof(why), "%s%s", curl_err[0] != '\0' ? curl_err : curl_easy_strerror(rc),
            rc == CURLE_PEER_FAILED_VERIFICATION ? " (is --cacert the CA of the admin listener?)"
                                                 : "");
        result = http_fail(PROTO_EIO, err, err_size, settings->url,
                           k > 0 ? why : curl_easy_strerror(rc));
        goto out;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
out:
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return result;
}
