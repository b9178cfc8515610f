/*
 * http: a strict HTTP/1.1 request-head parser and a response serializer for the collector.
 *
 * The parser is a pure function over bytes already received: it copies the head into the
 * request (so header values are NUL-terminated and outlive the socket buffer), enforces
 * COL_HTTP_MAX_HEAD / COL_HTTP_MAX_HEADERS / COL_HTTP_MAX_TARGET, accepts only
 * Content-Length bodies (chunked uploads get 411), and never reads the body itself. It does no
 * I/O and is fuzzed (tests/fuzz/fuzz_http_request.c).
 */
#ifndef COL_HTTP_H
#define COL_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "rc.h"

#define COL_HTTP_MAX_HEAD 16384u /* request line + headers + blank line */
#define COL_HTTP_MAX_HEADERS 64u
#define COL_HTTP_MAX_TARGET 2048u
#define COL_HTTP_ALLOW_MAX 64u /* the Allow header of a 405 */

struct col_http_header {
    const char *name;  /* borrowed from the request's head copy, NUL-terminated */
    const char *value; /* trimmed */
};

struct col_http_request {
    char head[COL_HTTP_MAX_HEAD + 1]; /* owned copy of the head; names/values point into it */
    const char *method;               /* "GET", "POST", ... */
    const char *path;                 /* target before '?', percent-decoding NOT applied */
    const char *query;                /* after '?', "" when none */
    int version_minor;                /* HTTP/1.<minor>: 0 or 1 */
    struct col_http_header headers[COL_HTTP_MAX_HEADERS];
    size_t header_count;
    bool has_content_length;
    uint64_t content_length;
    bool keep_alive;  /* from version and Connection header */
    const char *body; /* set by the server once the body is read; borrowed */
    size_t body_len;
};

enum col_http_parse_result {
    COL_HTTP_INCOMPLETE, /* need more bytes (and fewer than COL_HTTP_MAX_HEAD so far) */
    COL_HTTP_COMPLETE,   /* *head_len bytes form the head */
    COL_HTTP_INVALID     /* answer *status (400, 411, 413?, 431, 501, 505) with *why, close */
};

/* Parses the head at the start of buf[0..len). `why` is a borrowed static string. */
enum col_http_parse_result col_http_parse_head(const char *buf, size_t len,
                                               struct col_http_request *req, size_t *head_len,
                                               int *status, const char **why);

/* Borrowed value of the first header called `name` (case-insensitive), or NULL. */
const char *col_http_header_get(const struct col_http_request *req, const char *name);

/* Value of query parameter `name` percent-decoded into buf; false if absent or too long. Use
 * it after col_http_query_check, so that "absent" is the only way to get false. */
bool col_http_query_get(const struct col_http_request *req, const char *name, char *buf,
                        size_t size);

/* A query parameter a route takes: its name and the most bytes its value may decode to. */
struct col_http_query_param {
    const char *name;
    size_t max_len;
};

#define COL_HTTP_MAX_QUERY_PARAMS 64u /* entries of one route's table */

/*
 * Checks every parameter of the query string against `params` (count <= 64): each must
 * percent-decode (no bad escape, no %00) to valid UTF-8, be one of `params`, appear once and
 * hold at most its max_len bytes. Empty segments ("a=1&&b=2", a trailing '&') are skipped.
 * False at the first that does not: *why (a static string) says what is wrong, and bad gets
 * the parameter's name (decoded, or as written when it does not decode), cut to bad_size.
 */
bool col_http_query_check(const struct col_http_request *req,
                          const struct col_http_query_param *params, size_t count, char *bad,
                          size_t bad_size, const char **why);

struct col_http_response {
    int status;
    const char *content_type;       /* borrowed static string; NULL for no body */
    struct proto_buf body;          /* owned */
    unsigned retry_after_s;         /* > 0 adds Retry-After */
    char allow[COL_HTTP_ALLOW_MAX]; /* e.g. "GET, POST": adds Allow when not empty (for 405) */
    bool bearer_challenge;          /* adds WWW-Authenticate: Bearer (for 401) */
    bool close;                     /* force Connection: close */
};

void col_http_response_init(struct col_http_response *resp);
void col_http_response_free(struct col_http_response *resp);
/* Replaces the body with {"error":{"code","message","field"?}} and sets status. `code` is a
 * stable machine word ("invalid_json", "forbidden", ...). */
enum proto_rc col_http_response_error(struct col_http_response *resp, int status, const char *code,
                                      const char *message, const char *field);
/* Sets a JSON body (copies). */
enum proto_rc col_http_response_json(struct col_http_response *resp, int status, const char *json);

/* Status line + headers + body into out (appended). `keep_alive` false adds Connection: close. */
enum proto_rc col_http_serialize(const struct col_http_response *resp, bool keep_alive,
                                 struct proto_buf *out);

/* "OK", "Bad Request", ...; never NULL. */
const char *col_http_reason(int status);

#endif
