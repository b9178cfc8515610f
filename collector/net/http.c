/*
 * http: the strict HTTP/1.1 request-head parser and response serializer (see http.h).
 *
 * Owns nothing beyond the request/response structs handed to it. The parser accepts exactly
 * RFC 9112 syntax minus the legacy forms (obs-fold, bare LF/CR, absolute-form targets) and
 * answers every deviation with a status and a static reason; it never reads a body and never
 * does I/O. Lengths are never trusted: Content-Length is parsed digit by digit with an
 * overflow check and every structure is bounded by the COL_HTTP_MAX_* constants.
 */
#include "http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "text.h"
#include "wire_reply.h"

#define COL_HTTP_MAX_METHOD 16u
#define COL_HTTP_MAX_CL_DIGITS 19u                  /* 10^19 - 1 < 2^64 */
#define COL_HTTP_MAX_RESPONSE (64u * 1024u * 1024u) /* a response body (CSV exports) */
#define COL_HTTP_MAX_QUERY_NAME 128u

static const char *const col_http_methods[] = {"GET",    "HEAD",  "POST",   "PUT",
                                               "DELETE", "PATCH", "OPTIONS"};

static bool col_http_is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return true;
    }
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static enum col_http_parse_result col_http_invalid(int *status, const char **why, int code,
                                                   const char *text)
{
    *status = code;
    *why = text;
    return COL_HTTP_INVALID;
}

/* Whether comma-separated list `value` holds `token` (case-insensitive, OWS trimmed). */
static bool col_http_list_has(const char *value, const char *token)
{
    size_t tlen = strlen(token);
    const char *p = value;

    while (*p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        const char *start = p;
        while (*p != '\0' && *p != ',') {
            p++;
        }
        const char *end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t')) {
            end--;
        }
        if ((size_t)(end - start) == tlen && strncasecmp(start, token, tlen) == 0) {
            return true;
        }
    }
    return false;
}

/* Content-Length = 1*DIGIT, at most COL_HTTP_MAX_CL_DIGITS digits (no sign, no list). */
static bool col_http_parse_length(const char *value, uint64_t *out)
{
    uint64_t n = 0;
    size_t digits = 0;

    for (const char *p = value; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || ++digits > COL_HTTP_MAX_CL_DIGITS) {
            return false;
        }
        n = n * 10u + (uint64_t)(*p - '0');
    }
    if (digits == 0) {
        return false;
    }
    *out = n;
    return true;
}

static bool col_http_method_known(const char *method)
{
    for (size_t k = 0; k < sizeof(col_http_methods) / sizeof(col_http_methods[0]); k++) {
        if (strcmp(method, col_http_methods[k]) == 0) {
            return true;
        }
    }
    return false;
}

/*
 * Finds the end of the head in buf[start..len) and rejects bytes that can never become valid
 * (NUL, bare LF, bare CR) as soon as they arrive, so a broken client gets its 400 at once
 * instead of at the header timeout. Returns COMPLETE with *end just past the blank line.
 */
static enum col_http_parse_result col_http_scan(const char *buf, size_t start, size_t len,
                                                size_t *end, int *status, const char **why)
{
    size_t limit = len < COL_HTTP_MAX_HEAD ? len : COL_HTTP_MAX_HEAD;

    for (size_t i = start; i < limit; i++) {
        char c = buf[i];
        if (c == '\0') {
            return col_http_invalid(status, why, 400, "NUL byte in the request head");
        }
        if (c == '\r' && i + 1 < limit && buf[i + 1] != '\n') {
            return col_http_invalid(status, why, 400, "bare CR in the request head");
        }
        if (c != '\n') {
            continue;
        }
        if (i == start || buf[i - 1] != '\r') {
            return col_http_invalid(status, why, 400, "bare LF in the request head");
        }
        if (i >= start + 3 && buf[i - 2] == '\n') {
            *end = i + 1;
            return COL_HTTP_COMPLETE;
        }
    }
    if (len >= COL_HTTP_MAX_HEAD) {
        return col_http_invalid(status, why, 431, "request head larger than 16384 bytes");
    }
    return COL_HTTP_INCOMPLETE;
}

/* Request line in place: METHOD SP origin-form SP HTTP/1.x (already NUL-terminated). */
static enum col_http_parse_result col_http_request_line(struct col_http_request *req, char *line,
                                                        int *status, const char **why)
{
    char *p = line;

    while (col_http_is_tchar((unsigned char)*p)) {
        p++;
    }
    if (p == line || *p != ' ') {
        return col_http_invalid(status, why, 400, "malformed request line");
    }
    size_t method_len = (size_t)(p - line);
    *p++ = '\0';
    char *target = p;
    while ((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f) {
        p++;
    }
    size_t target_len = (size_t)(p - target);
    if (*p != ' ' || target_len == 0) {
        return col_http_invalid(status, why, 400, "malformed request line");
    }
    *p++ = '\0';
    char *version = p;
    if (strlen(version) != 8 || strncmp(version, "HTTP/", 5) != 0 || version[5] < '0' ||
        version[5] > '9' || version[6] != '.' || version[7] < '0' || version[7] > '9') {
        return col_http_invalid(status, why, 400, "malformed HTTP version");
    }
    if (version[5] != '1' || version[7] > '1') {
        return col_http_invalid(status, why, 505, "only HTTP/1.0 and HTTP/1.1 are supported");
    }
    if (method_len > COL_HTTP_MAX_METHOD || !col_http_method_known(line)) {
        return col_http_invalid(status, why, 501, "method not implemented");
    }
    if (target_len > COL_HTTP_MAX_TARGET) {
        return col_http_invalid(status, why, 414, "request target longer than 2048 bytes");
    }
    if (target[0] != '/' || strchr(target, '#') != NULL) {
        return col_http_invalid(status, why, 400, "request target must be an absolute path");
    }
    req->method = line;
    req->version_minor = version[7] - '0';
    req->path = target;
    char *q = strchr(target, '?');
    if (q != NULL) {
        *q = '\0';
        req->query = q + 1;
    } else {
        req->query = target + target_len; /* the NUL after the target: "" */
    }
    return COL_HTTP_COMPLETE;
}

/* One header field line in place: name ":" OWS value OWS. */
static enum col_http_parse_result col_http_header_line(struct col_http_request *req, char *line,
                                                       int *status, const char **why)
{
    if (line[0] == ' ' || line[0] == '\t') {
        return col_http_invalid(status, why, 400, "obsolete line folding in a header");
    }
    char *p = line;
    while (col_http_is_tchar((unsigned char)*p)) {
        p++;
    }
    if (p == line || *p != ':') {
        return col_http_invalid(status, why, 400, "malformed header field name");
    }
    *p++ = '\0';
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    char *value = p;
    char *end = value;
    for (; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return col_http_invalid(status, why, 400, "control character in a header value");
        }
        if (c != ' ' && c != '\t') {
            end = p + 1;
        }
    }
    *end = '\0';
    if (req->header_count >= COL_HTTP_MAX_HEADERS) {
        return col_http_invalid(status, why, 431, "more than 64 header fields");
    }
    req->headers[req->header_count].name = line;
    req->headers[req->header_count].value = value;
    req->header_count++;
    return COL_HTTP_COMPLETE;
}

/* Framing and connection semantics once every field is known. */
static enum col_http_parse_result col_http_semantics(struct col_http_request *req, int *status,
                                                     const char **why)
{
    size_t hosts = 0;
    bool close = false;
    bool keep_alive = false;

    for (size_t k = 0; k < req->header_count; k++) {
        const char *name = req->headers[k].name;
        const char *value = req->headers[k].value;
        if (strcasecmp(name, "Transfer-Encoding") == 0) {
            if (col_http_list_has(value, "chunked")) {
                return col_http_invalid(status, why, 411,
                                        "chunked request bodies are not supported: "
                                        "send Content-Length");
            }
            return col_http_invalid(status, why, 501, "transfer coding not implemented");
        }
        if (strcasecmp(name, "Content-Length") == 0) {
            uint64_t n = 0;
            if (!col_http_parse_length(value, &n)) {
                return col_http_invalid(status, why, 400, "invalid Content-Length");
            }
            if (req->has_content_length && n != req->content_length) {
                return col_http_invalid(status, why, 400, "conflicting Content-Length fields");
            }
            req->has_content_length = true;
            req->content_length = n;
        } else if (strcasecmp(name, "Host") == 0) {
            hosts++;
        } else if (strcasecmp(name, "Connection") == 0) {
            close = close || col_http_list_has(value, "close");
            keep_alive = keep_alive || col_http_list_has(value, "keep-alive");
        }
    }
    if (hosts > 1 || (hosts == 0 && req->version_minor == 1)) {
        return col_http_invalid(status, why, 400, "exactly one Host field is required");
    }
    req->keep_alive = !close && (req->version_minor == 1 || keep_alive);
    return COL_HTTP_COMPLETE;
}

enum col_http_parse_result col_http_parse_head(const char *buf, size_t len,
                                               struct col_http_request *req, size_t *head_len,
                                               int *status, const char **why)
{
    size_t start = 0;
    size_t end = 0;

    *status = 0;
    *why = "";
    *head_len = 0;
    req->head[0] = '\0';
    req->method = NULL;
    req->path = NULL;
    req->query = NULL;
    req->version_minor = 0;
    req->header_count = 0;
    req->has_content_length = false;
    req->content_length = 0;
    req->keep_alive = false;
    req->body = NULL;
    req->body_len = 0;

    /* RFC 9112 §2.2: ignore empty lines before the request line (a stray CRLF after a body). */
    while (start + 1 < len && start + 1 < COL_HTTP_MAX_HEAD && buf[start] == '\r' &&
           buf[start + 1] == '\n') {
        start += 2;
    }
    enum col_http_parse_result result = col_http_scan(buf, start, len, &end, status, why);
    if (result != COL_HTTP_COMPLETE) {
        return result;
    }
    /* end - start <= COL_HTTP_MAX_HEAD; drop the final CRLF so every line ends in CRLF. */
    size_t copy = end - start - 2;
    memcpy(req->head, buf + start, copy);
    req->head[copy] = '\0';

    char *line = req->head;
    char *eol = strstr(line, "\r\n");
    *eol = '\0';
    result = col_http_request_line(req, line, status, why);
    if (result != COL_HTTP_COMPLETE) {
        return result;
    }
    for (line = eol + 2; *line != '\0'; line = eol + 2) {
        eol = strstr(line, "\r\n");
        *eol = '\0';
        result = col_http_header_line(req, line, status, why);
        if (result != COL_HTTP_COMPLETE) {
            return result;
        }
    }
    result = col_http_semantics(req, status, why);
    if (result != COL_HTTP_COMPLETE) {
        return result;
    }
    *head_len = end;
    return COL_HTTP_COMPLETE;
}

const char *col_http_header_get(const struct col_http_request *req, const char *name)
{
    for (size_t k = 0; k < req->header_count; k++) {
        if (strcasecmp(req->headers[k].name, name) == 0) {
            return req->headers[k].value;
        }
    }
    return NULL;
}

static int col_http_hex(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Percent-decodes s[0..n) ('+' is a space, as HTML forms send it) into out (NUL-terminated).
 * False on a bad escape, an encoded NUL or when it does not fit. */
static bool col_http_pct_decode(const char *s, size_t n, char *out, size_t size)
{
    size_t o = 0;

    if (size == 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= n) {
                return false;
            }
            int hi = col_http_hex(s[i + 1]);
            int lo = col_http_hex(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                return false;
            }
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (o + 1 >= size) {
            return false;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return true;
}

bool col_http_query_get(const struct col_http_request *req, const char *name, char *buf,
                        size_t size)
{
    char decoded[COL_HTTP_MAX_QUERY_NAME];

    if (req->query == NULL) {
        return false;
    }
    const char *p = req->query;
    while (*p != '\0') {
        const char *amp = strchr(p, '&');
        size_t pair_len = amp != NULL ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', pair_len);
        size_t name_len = eq != NULL ? (size_t)(eq - p) : pair_len;
        if (col_http_pct_decode(p, name_len, decoded, sizeof(decoded)) &&
            strcmp(decoded, name) == 0) {
            if (eq == NULL) {
                return col_http_pct_decode("", 0, buf, size);
            }
            return col_http_pct_decode(eq + 1, pair_len - name_len - 1, buf, size);
        }
        if (amp == NULL) {
            break;
        }
        p = amp + 1;
    }
    return false;
}

/* Valid UTF-8 without C0 controls or DEL (a parameter is text, never a control sequence). */
static bool col_http_text_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p != '\0') {
        if (*p < 0x20 || *p == 0x7f) {
            return false;
        }
        if (*p < 0x80) {
            p++;
            continue;
        }
        size_t n = proto_utf8_decode(p, 4, NULL);
        if (n == 0) {
            return false;
        }
        p += n;
    }
    return true;
}

/* Copies the raw text s[0..n) into bad (NUL-terminated, cut to size). */
static void col_http_copy_raw(const char *s, size_t n, char *bad, size_t size)
{
    if (size == 0) {
        return;
    }
    if (n >= size) {
        n = size - 1;
    }
    memcpy(bad, s, n);
    bad[n] = '\0';
}

bool col_http_query_check(const struct col_http_request *req,
                          const struct col_http_query_param *params, size_t count, char *bad,
                          size_t bad_size, const char **why)
{
    /* A query is part of a target of at most COL_HTTP_MAX_TARGET bytes, so any name or value
     * decodes into these. */
    char name[COL_HTTP_MAX_TARGET + 1];
    char value[COL_HTTP_MAX_TARGET + 1];
    uint64_t seen = 0;

    if (bad_size > 0) {
        bad[0] = '\0';
    }
    *why = NULL;
    if (count > COL_HTTP_MAX_QUERY_PARAMS) {
        *why = "the route takes too many parameters"; /* a programmer error */
        return false;
    }
    const char *p = req->query != NULL ? req->query : "";
    while (*p != '\0') {
        const char *amp = strchr(p, '&');
        size_t pair_len = amp != NULL ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', pair_len);
        size_t name_len = eq != NULL ? (size_t)(eq - p) : pair_len;
        if (pair_len > 0) {
            if (!col_http_pct_decode(p, name_len, name, sizeof(name)) || !col_http_text_ok(name)) {
                col_http_copy_raw(p, name_len, bad, bad_size);
                *why = "the parameter name cannot be decoded (a bad %-escape, %00 or not UTF-8)";
                return false;
            }
            col_http_copy_raw(name, strlen(name), bad, bad_size);
            size_t k = 0;
            while (k < count && strcmp(params[k].name, name) != 0) {
                k++;
            }
            if (k == count) {
                *why = "unknown parameter for this endpoint";
                return false;
            }
            if (seen & ((uint64_t)1 << k)) {
                *why = "the parameter is given more than once";
                return false;
            }
            seen |= (uint64_t)1 << k;
            const char *raw = eq != NULL ? eq + 1 : "";
            size_t raw_len = eq != NULL ? pair_len - name_len - 1 : 0;
            if (!col_http_pct_decode(raw, raw_len, value, sizeof(value)) ||
                !col_http_text_ok(value)) {
                *why = "the value cannot be decoded (a bad %-escape, %00, a control character "
                       "or not UTF-8)";
                return false;
            }
            if (strlen(value) > params[k].max_len) {
                *why = "the value is too long";
                return false;
            }
        }
        if (amp == NULL) {
            break;
        }
        p = amp + 1;
    }
    if (bad_size > 0) {
        bad[0] = '\0';
    }
    return true;
}

void col_http_response_init(struct col_http_response *resp)
{
    resp->status = 200;
    resp->content_type = NULL;
    proto_buf_init(&resp->body, COL_HTTP_MAX_RESPONSE);
    resp->retry_after_s = 0;
    resp->allow[0] = '\0';
    resp->bearer_challenge = false;
    resp->close = false;
}

void col_http_response_free(struct col_http_response *resp)
{
    if (resp == NULL) {
        return;
    }
    proto_buf_free(&resp->body);
}

/* The error body is proto's (wire_reply.h): the agent decodes it with the same module. */
enum proto_rc col_http_response_error(struct col_http_response *resp, int status, const char *code,
                                      const char *message, const char *field)
{
    struct proto_error_body error;
    char *text = NULL;
    size_t len = 0;

    if (code == NULL || status < 100 || status > 599) {
        return PROTO_EINVAL;
    }
    memset(&error, 0, sizeof(error));
    /* Cut to the body's caps here; the encoder mends a character cut in half (U+FFFD). */
    snprintf(error.code, sizeof(error.code), "%s", code);
    snprintf(error.message, sizeof(error.message), "%s",
             message != NULL ? message : col_http_reason(status));
    snprintf(error.field, sizeof(error.field), "%s", field != NULL ? field : "");
    proto_buf_reset(&resp->body);
    enum proto_rc result = proto_wire_encode_error(&error, &text, &len);
    if (result == PROTO_OK) {
        result = proto_buf_append(&resp->body, text, len);
    }
    proto_free(text);
    if (result != PROTO_OK) {
        proto_buf_reset(&resp->body);
    }
    resp->status = status;
    resp->content_type = "application/json";
    return result;
}

enum proto_rc col_http_response_json(struct col_http_response *resp, int status, const char *json)
{
    if (json == NULL || status < 100 || status > 599) {
        return PROTO_EINVAL;
    }
    proto_buf_reset(&resp->body);
    enum proto_rc result = proto_buf_append_str(&resp->body, json);
    if (result != PROTO_OK) {
        proto_buf_reset(&resp->body);
    }
    resp->status = status;
    resp->content_type = "application/json";
    return result;
}

enum proto_rc col_http_serialize(const struct col_http_response *resp, bool keep_alive,
                                 struct proto_buf *out)
{
    enum proto_rc result;
    int status = resp->status;
    bool bodyless = status < 200 || status == 204 || status == 304;

    if (status < 100 || status > 599) {
        return PROTO_EINVAL;
    }
    result = proto_buf_appendf(out, "HTTP/1.1 %d %s\r\n", status, col_http_reason(status));
    if (result == PROTO_OK && resp->content_type != NULL && !bodyless) {
        result = proto_buf_appendf(out, "Content-Type: %s\r\n", resp->content_type);
    }
    if (result == PROTO_OK && !bodyless) {
        result = proto_buf_appendf(out, "Content-Length: %zu\r\n", resp->body.len);
    }
    if (result == PROTO_OK && resp->retry_after_s > 0) {
        result = proto_buf_appendf(out, "Retry-After: %u\r\n", resp->retry_after_s);
    }
    if (result == PROTO_OK && resp->allow[0] != '\0') {
        /* A handler-built string: refuse anything that could end the header line. */
        size_t n = strnlen(resp->allow, sizeof(resp->allow));
        for (size_t k = 0; k < n; k++) {
            if ((unsigned char)resp->allow[k] < 0x20 || resp->allow[k] == 0x7f) {
                return PROTO_EINVAL;
            }
        }
        result = proto_buf_appendf(out, "Allow: %.*s\r\n", (int)n, resp->allow);
    }
    if (result == PROTO_OK && resp->bearer_challenge) {
        result = proto_buf_append_str(out, "WWW-Authenticate: Bearer\r\n");
    }
    if (result == PROTO_OK && status >= 200) {
        result = proto_buf_append_str(out, "Cache-Control: no-store\r\n"
                                           "X-Content-Type-Options: nosniff\r\n");
    }
    if (result == PROTO_OK && status >= 200) {
        bool close = !keep_alive || resp->close;
        result = proto_buf_append_str(out, close ? "Connection: close\r\n"
                                                 : "Connection: keep-alive\r\n");
    }
    if (result == PROTO_OK) {
        result = proto_buf_append_str(out, "\r\n");
    }
    if (result == PROTO_OK && !bodyless && resp->body.len > 0) {
        result = proto_buf_append(out, resp->body.data, resp->body.len);
    }
    return result;
}

const char *col_http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 417:
        return "Expectation Failed";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        break;
    }
    if (status >= 500) {
        return "Server Error";
    }
    if (status >= 400) {
        return "Client Error";
    }
    if (status >= 300) {
        return "Redirection";
    }
    if (status >= 200) {
        return "Success";
    }
    return "Informational";
}
