/*
 * fuzz_http_request: col_http_parse_head on arbitrary bytes, as a client would send them.
 * Checks the parser's promises and abort()s on a broken one: a complete head lies within the
 * input and COL_HTTP_MAX_HEAD, every name and value is NUL-terminated inside req.head, counts
 * stay under their caps, refusals carry a reason and one of the documented statuses, and a
 * prefix of a complete head is never itself complete at a different length. The query helper
 * and the error serializer are exercised on whatever parsed.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct col_http_request req;

static bool fuzz_http_inside(const char *p)
{
    return p >= req.head && p < req.head + sizeof(req.head) &&
           memchr(p, '\0', (size_t)(req.head + sizeof(req.head) - p)) != NULL;
}

static void fuzz_http_check_complete(size_t size, size_t head_len)
{
    if (head_len == 0 || head_len > size || head_len > COL_HTTP_MAX_HEAD) {
        abort();
    }
    if (!fuzz_http_inside(req.method) || !fuzz_http_inside(req.path) ||
        !fuzz_http_inside(req.query) || req.path[0] != '/') {
        abort();
    }
    if (req.version_minor != 0 && req.version_minor != 1) {
        abort();
    }
    if (req.header_count > COL_HTTP_MAX_HEADERS || strlen(req.path) > COL_HTTP_MAX_TARGET) {
        abort();
    }
    for (size_t k = 0; k < req.header_count; k++) {
        if (!fuzz_http_inside(req.headers[k].name) || !fuzz_http_inside(req.headers[k].value) ||
            req.headers[k].name[0] == '\0' ||
            col_http_header_get(&req, req.headers[k].name) == NULL) {
            abort();
        }
    }
    if (req.version_minor == 1 && col_http_header_get(&req, "host") == NULL) {
        abort();
    }
    if (col_http_header_get(&req, "transfer-encoding") != NULL) {
        abort(); /* never accepted: 411 or 501 */
    }
    char value[64];
    const char *names[] = {"a", "name", "finding", ""};
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        if (col_http_query_get(&req, names[k], value, sizeof(value)) &&
            strlen(value) >= sizeof(value)) {
            abort();
        }
    }
}

static void fuzz_http_check_invalid(int status, const char *why)
{
    static const int allowed[] = {400, 411, 414, 431, 501, 505};
    bool ok = false;
    for (size_t k = 0; k < sizeof(allowed) / sizeof(allowed[0]); k++) {
        ok = ok || status == allowed[k];
    }
    if (!ok || why == NULL || why[0] == '\0') {
        abort();
    }
    struct col_http_response resp;
    struct proto_buf out;
    col_http_response_init(&resp);
    proto_buf_init(&out, 1 << 16);
    if (col_http_response_error(&resp, status, "bad_request", why, NULL) != PROTO_OK ||
        col_http_serialize(&resp, false, &out) != PROTO_OK) {
        abort();
    }
    col_http_response_free(&resp);
    proto_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t head_len = 0;
    int status = 0;
    const char *why = NULL;

    if (size > 2 * COL_HTTP_MAX_HEAD) {
        return 0;
    }
    /* An exact-size heap copy so ASan sees any read past the end. */
    char *buf = malloc(size ? size : 1);
    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size);
    enum col_http_parse_result r = col_http_parse_head(buf, size, &req, &head_len, &status, &why);
    if (r == COL_HTTP_COMPLETE) {
        fuzz_http_check_complete(size, head_len);
        /* The head alone parses to the same length; one byte less never completes. */
        size_t again = 0;
        if (col_http_parse_head(buf, head_len, &req, &again, &status, &why) != COL_HTTP_COMPLETE ||
            again != head_len ||
            col_http_parse_head(buf, head_len - 1, &req, &again, &status, &why) ==
                COL_HTTP_COMPLETE) {
            abort();
        }
    } else if (r == COL_HTTP_INVALID) {
        fuzz_http_check_invalid(status, why);
    } else if (r != COL_HTTP_INCOMPLETE || size >= COL_HTTP_MAX_HEAD) {
        abort();
    }
    free(buf);
    return 0;
}
