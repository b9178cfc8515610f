/*
 * test_http: the collector's strict HTTP/1.1 head parser (every refusal with its status), the
 * query helper's percent-decoding, and the response serializer and JSON error bodies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "http.h"
#include "wire_reply.h"

static struct col_http_request req; /* 18 KiB: keep it off the stack */

static enum col_http_parse_result parse(const char *text, size_t *head_len, int *status)
{
    const char *why = NULL;
    enum col_http_parse_result r =
        col_http_parse_head(text, strlen(text), &req, head_len, status, &why);
    assert_non_null(why);
    if (r == COL_HTTP_INVALID) {
        assert_true(why[0] != '\0');
    }
    return r;
}

static void parse_ok(const char *text)
{
    size_t head_len = 0;
    int status = 0;
    enum col_http_parse_result r = parse(text, &head_len, &status);
    if (r != COL_HTTP_COMPLETE) {
        fail_msg("expected a complete head, got %d (status %d) for: %s", (int)r, status, text);
    }
}

static int parse_status(const char *text)
{
    size_t head_len = 0;
    int status = 0;
    enum col_http_parse_result r = parse(text, &head_len, &status);
    if (r != COL_HTTP_INVALID) {
        fail_msg("expected a refusal, got %d for: %s", (int)r, text);
    }
    return status;
}

static void test_simple_get_is_complete_with_path_and_empty_query(void **state)
{
    (void)state;
    const char *text = "GET /v1/fleet/summary HTTP/1.1\r\nHost: x\r\n\r\n";
    size_t head_len = 0;
    int status = 0;
    assert_int_equal(parse(text, &head_len, &status), COL_HTTP_COMPLETE);
    assert_int_equal(head_len, strlen(text));
    assert_string_equal(req.method, "GET");
    assert_string_equal(req.path, "/v1/fleet/summary");
    assert_string_equal(req.query, "");
    assert_int_equal(req.version_minor, 1);
    assert_int_equal(req.header_count, 1);
    assert_false(req.has_content_length);
    assert_true(req.keep_alive);
    assert_null(req.body);
}

static void test_post_with_content_length_leaves_the_body_unread(void **state)
{
    (void)state;
    const char *text = "POST /v1/reports HTTP/1.1\r\nHost: c\r\nContent-Length: 7\r\n"
                       "Content-Type: application/json\r\n\r\n{\"a\":1}";
    size_t head_len = 0;
    int status = 0;
    assert_int_equal(parse(text, &head_len, &status), COL_HTTP_COMPLETE);
    assert_int_equal(head_len, strlen(text) - 7);
    assert_string_equal(req.method, "POST");
    assert_true(req.has_content_length);
    assert_int_equal(req.content_length, 7);
    assert_string_equal(col_http_header_get(&req, "content-type"), "application/json");
}

static void test_header_lookup_is_case_insensitive_and_values_are_trimmed(void **state)
{
    (void)state;
    parse_ok("GET / HTTP/1.1\r\nhOsT: a\r\nX-Thing: \t  spaced value \t\r\nX-Empty:\r\n\r\n");
    assert_string_equal(col_http_header_get(&req, "HOST"), "a");
    assert_string_equal(col_http_header_get(&req, "x-thing"), "spaced value");
    assert_string_equal(col_http_header_get(&req, "X-EMPTY"), "");
    assert_null(col_http_header_get(&req, "Authorization"));
}

static void test_keep_alive_follows_version_and_connection_tokens(void **state)
{
    (void)state;
    parse_ok("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_true(req.keep_alive);
    parse_ok("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    assert_false(req.keep_alive);
    parse_ok("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, CLOSE\r\n\r\n");
    assert_false(req.keep_alive);
    parse_ok("GET / HTTP/1.0\r\n\r\n");
    assert_int_equal(req.version_minor, 0);
    assert_false(req.keep_alive);
    parse_ok("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
    assert_true(req.keep_alive);
    parse_ok("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n");
    assert_false(req.keep_alive);
    parse_ok("GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n");
    assert_true(req.keep_alive);
}

static void test_incomplete_head_asks_for_more_bytes(void **state)
{
    (void)state;
    size_t head_len = 99;
    int status = 0;
    assert_int_equal(parse("", &head_len, &status), COL_HTTP_INCOMPLETE);
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\n", &head_len, &status),
                     COL_HTTP_INCOMPLETE);
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\n\r", &head_len, &status),
                     COL_HTTP_INCOMPLETE);
    assert_int_equal(head_len, 0);
}

static void test_head_over_16_kib_is_431(void **state)
{
    (void)state;
    static char big[COL_HTTP_MAX_HEAD + 200];
    int n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ");
    assert_true(n > 0);
    memset(big + n, 'a', sizeof(big) - (size_t)n - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(parse_status(big), 431);

    /* Exactly at the limit with its blank line is still fine. */
    size_t len = COL_HTTP_MAX_HEAD;
    memset(big + n, 'a', len - (size_t)n - 4);
    memcpy(big + len - 4, "\r\n\r\n", 5);
    assert_int_equal(strlen(big), COL_HTTP_MAX_HEAD);
    parse_ok(big);
    assert_int_equal(strlen(col_http_header_get(&req, "x-big")), len - (size_t)n - 4);
}

static void test_more_than_64_headers_is_431(void **state)
{
    (void)state;
    static char text[8192];
    size_t len = 0;
    int n = snprintf(text, sizeof(text), "GET / HTTP/1.1\r\nHost: a\r\n");
    len += (size_t)n;
    for (unsigned k = 1; k < COL_HTTP_MAX_HEADERS; k++) {
        n = snprintf(text + len, sizeof(text) - len, "X-%u: v\r\n", k);
        len += (size_t)n;
    }
    memcpy(text + len, "\r\n", 3);
    parse_ok(text);
    assert_int_equal(req.header_count, COL_HTTP_MAX_HEADERS);
    memcpy(text + len, "X-Last: v\r\n\r\n", 14);
    assert_int_equal(parse_status(text), 431);
}

static void test_malformed_request_lines_are_400(void **state)
{
    (void)state;
    assert_int_equal(parse_status("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    assert_int_equal(parse_status("GET /\r\nHost: a\r\n\r\n"), 400);
    assert_int_equal(parse_status(" GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    assert_int_equal(parse_status("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"), 400);
    assert_int_equal(parse_status("GET / HTTX/1.1\r\nHost: a\r\n\r\n"), 400);
    assert_int_equal(parse_status("GET / HTTP/1.10\r\nHost: a\r\n\r\n"), 400);
    assert_int_equal(parse_status("GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    assert_int_equal(parse_status("GET * HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    assert_int_equal(parse_status("GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    assert_int_equal(parse_status("GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    assert_int_equal(parse_status("G(T / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}

static void test_unsupported_version_is_505_and_unknown_method_501(void **state)
{
    (void)state;
    assert_int_equal(parse_status("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505);
    assert_int_equal(parse_status("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), 505);
    assert_int_equal(parse_status("GET / HTTP/0.9\r\nHost: a\r\n\r\n"), 505);
    assert_int_equal(parse_status("BREW / HTTP/1.1\r\nHost: a\r\n\r\n"), 501);
    assert_int_equal(parse_status("get / HTTP/1.1\r\nHost: a\r\n\r\n"), 501);
}

static void test_target_longer_than_2048_is_414(void **state)
{
    (void)state;
    static char text[COL_HTTP_MAX_TARGET + 100];
    memcpy(text, "GET /", 5);
    memset(text + 5, 'a', COL_HTTP_MAX_TARGET);
    int n = snprintf(text + 5 + COL_HTTP_MAX_TARGET, 40, " HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_true(n > 0);
    assert_int_equal(parse_status(text), 414);
}

static void test_chunked_upload_is_411_and_other_codings_501(void **state)
{
    (void)state;
    assert_int_equal(
        parse_status("POST /v1/reports HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"),
        411);
    assert_int_equal(parse_status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
                                  "Transfer-Encoding: gzip, Chunked\r\n\r\n"),
                     411);
    assert_int_equal(parse_status("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"),
                     501);
}

static void test_conflicting_content_lengths_are_400_and_equal_ones_accepted(void **state)
{
    (void)state;
    assert_int_equal(parse_status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                                  "content-length: 6\r\n\r\n"),
                     400);
    parse_ok("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 005\r\n\r\n");
    assert_int_equal(req.content_length, 5);
}

static void test_negative_signed_listed_or_overflowing_content_length_is_400(void **state)
{
    (void)state;
    const char *bad[] = {
        "-1", "+5", "5, 5", "", "0x10", "1 2", "99999999999999999999", "18446744073709551616"};
    char text[256];
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        int n = snprintf(text, sizeof(text),
                         "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %s\r\n\r\n", bad[k]);
        assert_true(n > 0);
        assert_int_equal(parse_status(text), 400);
    }
    parse_ok("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9999999999999999999\r\n\r\n");
    assert_true(req.content_length == UINT64_C(9999999999999999999));
    parse_ok("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
    assert_true(req.has_content_length);
    assert_int_equal(req.content_length, 0);
}

static void test_obs_fold_and_bad_field_names_are_400(void **state)
{
    (void)state;
    assert_int_equal(parse_status("GET / HTTP/1.1\r\nHost: a\r\nX-A: one\r\n two\r\n\r\n"), 400);
    assert_int_equal(parse_status("GET / HTTP/1.1\r\nHost: a\r\nX-A: one\r\n\ttwo\r\n\r\n"), 400);
    assert_int_equal(parse_status("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), 400);
    assert_int_equal(parse_status("GET / HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n"), 400);
    assert_int_equal(parse_status("GET / HTTP/1.1\r\nHost: a\r\nNo-Colon\r\n\r\n"), 400);
    assert_int_equal(parse_status("GET / HTTP/1.1\r\nHost: a\r\nX-A: a\x01"
                                  "b\r\n\r\n"),
                     400);
}

static void test_bare_lf_bare_cr_and_nul_are_400_before_the_head_ends(void **state)
{
    (void)state;
    assert_int_equal(parse_status("GET / HTTP/1.1\n"), 400);
    assert_int_equal(parse_status("GET / HTTP/1.1\rHost"), 400);
    const char with_nul[] = "GET / HT\0TP/1.1";
    size_t head_len = 0;
    int status = 0;
    const char *why = NULL;
    assert_int_equal(
        col_http_parse_head(with_nul, sizeof(with_nul) - 1, &req, &head_len, &status, &why),
        COL_HTTP_INVALID);
    assert_int_equal(status, 400);
}

static void test_host_is_required_once_in_http_1_1(void **state)
{
    (void)state;
    assert_int_equal(parse_status("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n"), 400);
    assert_int_equal(parse_status("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
    parse_ok("GET / HTTP/1.0\r\nAccept: */*\r\n\r\n");
}

static void test_leading_empty_lines_are_skipped_and_pipelined_bytes_kept(void **state)
{
    (void)state;
    const char *text = "\r\n\r\nGET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\n";
    size_t head_len = 0;
    int status = 0;
    assert_int_equal(parse(text, &head_len, &status), COL_HTTP_COMPLETE);
    assert_string_equal(req.path, "/a");
    assert_string_equal(text + head_len, "GET /b HTTP/1.1\r\n");
}

static void test_query_parameters_are_split_and_percent_decoded(void **state)
{
    (void)state;
    char value[64];
    parse_ok("GET /v1/hosts?finding=wrong%2Dcert&name=%2A.contoso.com&q=a+b%20c&flag&e=&"
             "na%6De=second HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_string_equal(req.path, "/v1/hosts");
    assert_true(col_http_query_get(&req, "finding", value, sizeof(value)));
    assert_string_equal(value, "wrong-cert");
    assert_true(col_http_query_get(&req, "name", value, sizeof(value)));
    assert_string_equal(value, "*.contoso.com"); /* the first of two "name"s */
    assert_true(col_http_query_get(&req, "q", value, sizeof(value)));
    assert_string_equal(value, "a b c");
    assert_true(col_http_query_get(&req, "flag", value, sizeof(value)));
    assert_string_equal(value, "");
    assert_true(col_http_query_get(&req, "e", value, sizeof(value)));
    assert_string_equal(value, "");
    assert_false(col_http_query_get(&req, "absent", value, sizeof(value)));
}

static void test_query_refuses_bad_escapes_encoded_nul_and_overlong_values(void **state)
{
    (void)state;
    char value[8];
    parse_ok("GET /x?a=%zz&b=%0&c=%00&d=12345678&e=1234567 HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_false(col_http_query_get(&req, "a", value, sizeof(value)));
    assert_false(col_http_query_get(&req, "b", value, sizeof(value)));
    assert_false(col_http_query_get(&req, "c", value, sizeof(value)));
    assert_false(col_http_query_get(&req, "d", value, sizeof(value)));
    assert_true(col_http_query_get(&req, "e", value, sizeof(value)));
    assert_string_equal(value, "1234567");
}

static const struct col_http_query_param check_params[] = {
    {"severity", 8},
    {"name", 16},
    {"limit", 4},
};
#define CHECK_PARAM_COUNT (sizeof(check_params) / sizeof(check_params[0]))

/* Parses "GET /x?<query>" and checks it; returns the named parameter ("" when the check passes). */
static const char *query_check(const char *query, const char **why)
{
    static char bad[64];
    static char head[4096];
    int n = snprintf(head, sizeof(head), "GET /x?%s HTTP/1.1\r\nHost: a\r\n\r\n", query);
    assert_true(n > 0 && (size_t)n < sizeof(head));
    parse_ok(head);
    bool ok = col_http_query_check(&req, check_params, CHECK_PARAM_COUNT, bad, sizeof(bad), why);
    assert_true(ok == (bad[0] == '\0'));
    if (ok) {
        assert_null(*why);
    } else {
        assert_non_null(*why);
    }
    return bad;
}

static void test_query_check_names_the_first_parameter_that_cannot_be_read(void **state)
{
    (void)state;
    const char *why = NULL;
    static const struct {
        const char *query;
        const char *bad;
        const char *why_has;
    } cases[] = {
        {"severity=%ZZ", "severity", "decoded"},        /* bad escape */
        {"severity=%4", "severity", "decoded"},         /* cut short */
        {"name=a%00b", "name", "decoded"},              /* encoded NUL */
        {"name=%C3%28", "name", "decoded"},             /* invalid UTF-8 once decoded */
        {"name=%ED%A0%80", "name", "decoded"},          /* a surrogate */
        {"name=a%0Ab", "name", "decoded"},              /* a control character */
        {"name=12345678901234567", "name", "too long"}, /* past its cap */
        {"limit=1&bogus=2", "bogus", "unknown"},        /* not a parameter of the route */
        {"severity=high&severity=low", "severity", "more than once"},
        {"%ZZ=1", "%ZZ", "name cannot"},     /* the name itself */
        {"na%C3=1", "na%C3", "name cannot"}, /* the name, not UTF-8 */
        {"limit", "", NULL},                 /* no '=': an empty value */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *bad = query_check(cases[i].query, &why);
        if (strcmp(bad, cases[i].bad) != 0 ||
            (cases[i].why_has != NULL && strstr(why, cases[i].why_has) == NULL)) {
            fail_msg("%s: named \"%s\" (%s), expected \"%s\"", cases[i].query, bad,
                     why != NULL ? why : "ok", cases[i].bad);
        }
    }
}

static void test_query_check_accepts_known_parameters_at_their_cap(void **state)
{
    (void)state;
    const char *why = NULL;
    assert_string_equal(query_check("", &why), "");
    assert_string_equal(query_check("severity=critical&name=Z%C3%BCrich+%2A&limit=1000", &why), "");
    assert_string_equal(query_check("name=1234567890123456&&limit=5&", &why), "");
    char value[64];
    assert_true(col_http_query_get(&req, "name", value, sizeof(value)));
    assert_string_equal(value, "1234567890123456");
}

static void test_serialize_writes_length_retry_after_and_connection_close(void **state)
{
    (void)state;
    struct col_http_response resp;
    struct proto_buf out;
    col_http_response_init(&resp);
    proto_buf_init(&out, 1 << 20);
    assert_int_equal(col_http_response_error(&resp, 429, "busy", "try later", NULL), PROTO_OK);
    resp.retry_after_s = 30;
    assert_int_equal(col_http_serialize(&resp, true, &out), PROTO_OK);
    const char *text = proto_buf_str(&out);
    assert_true(strncmp(text, "HTTP/1.1 429 Too Many Requests\r\n", 32) == 0);
    assert_non_null(strstr(text, "\r\nRetry-After: 30\r\n"));
    assert_non_null(strstr(text, "\r\nContent-Type: application/json\r\n"));
    assert_non_null(strstr(text, "\r\nConnection: keep-alive\r\n"));
    char length[64];
    snprintf(length, sizeof(length), "\r\nContent-Length: %zu\r\n", resp.body.len);
    assert_non_null(strstr(text, length));
    const char *body = strstr(text, "\r\n\r\n");
    assert_non_null(body);
    assert_string_equal(body + 4, resp.body.data);

    proto_buf_reset(&out);
    resp.retry_after_s = 0;
    resp.close = true;
    assert_int_equal(col_http_serialize(&resp, true, &out), PROTO_OK);
    assert_null(strstr(proto_buf_str(&out), "Retry-After"));
    assert_non_null(strstr(proto_buf_str(&out), "\r\nConnection: close\r\n"));

    proto_buf_reset(&out);
    col_http_response_free(&resp);
    col_http_response_init(&resp);
    resp.status = 204;
    assert_int_equal(col_http_serialize(&resp, false, &out), PROTO_OK);
    assert_null(strstr(proto_buf_str(&out), "Content-Length"));
    assert_non_null(strstr(proto_buf_str(&out), "HTTP/1.1 204 No Content\r\n"));

    resp.status = 42;
    assert_int_equal(col_http_serialize(&resp, false, &out), PROTO_EINVAL);
    col_http_response_free(&resp);
    proto_buf_free(&out);
}

static void test_serialize_adds_allow_and_bearer_challenge_only_when_set(void **state)
{
    (void)state;
    struct col_http_response resp;
    struct proto_buf out;
    col_http_response_init(&resp);
    proto_buf_init(&out, 1 << 20);
    assert_int_equal(col_http_serialize(&resp, true, &out), PROTO_OK);
    assert_null(strstr(proto_buf_str(&out), "Allow:"));
    assert_null(strstr(proto_buf_str(&out), "WWW-Authenticate"));

    proto_buf_reset(&out);
    assert_int_equal(col_http_response_error(&resp, 405, "method_not_allowed", NULL, NULL),
                     PROTO_OK);
    snprintf(resp.allow, sizeof(resp.allow), "GET, POST");
    resp.bearer_challenge = true;
    assert_int_equal(col_http_serialize(&resp, true, &out), PROTO_OK);
    assert_non_null(strstr(proto_buf_str(&out), "\r\nAllow: GET, POST\r\n"));
    assert_non_null(strstr(proto_buf_str(&out), "\r\nWWW-Authenticate: Bearer\r\n"));

    proto_buf_reset(&out);
    snprintf(resp.allow, sizeof(resp.allow), "GET\r\nX-Injected: 1");
    assert_int_equal(col_http_serialize(&resp, true, &out), PROTO_EINVAL);
    col_http_response_free(&resp);
    proto_buf_free(&out);
}

static void test_error_body_has_code_message_and_optional_field(void **state)
{
    (void)state;
    struct col_http_response resp;
    col_http_response_init(&resp);
    assert_int_equal(col_http_response_error(&resp, 400, "invalid_json", "expected a string",
                                             "snapshot.certs[3].sha1"),
                     PROTO_OK);
    assert_int_equal(resp.status, 400);
    assert_string_equal(resp.content_type, "application/json");
    assert_string_equal(resp.body.data,
                        "{\"error\":{\"code\":\"invalid_json\",\"message\":\"expected a string\","
                        "\"field\":\"snapshot.certs[3].sha1\"}}");
    assert_int_equal(col_http_response_error(&resp, 404, "not_found", NULL, NULL), PROTO_OK);
    assert_string_equal(resp.body.data,
                        "{\"error\":{\"code\":\"not_found\",\"message\":\"Not Found\"}}");
    assert_int_equal(col_http_response_json(&resp, 202, "{\"accepted\":true}"), PROTO_OK);
    assert_int_equal(resp.status, 202);
    assert_string_equal(resp.body.data, "{\"accepted\":true}");
    col_http_response_free(&resp);
}

static void test_error_body_escapes_quotes_controls_and_invalid_utf8(void **state)
{
    (void)state;
    struct col_http_response resp;
    col_http_response_init(&resp);
    assert_int_equal(
        col_http_response_error(&resp, 400, "bad", "a \"q\" \\ \n\x01 caf\xc3\xa9 \xff", "f\xc3"),
        PROTO_OK);
    /* proto's error encoder (wire_reply.h): JSON escapes, invalid UTF-8 as U+FFFD. */
    assert_string_equal(resp.body.data,
                        "{\"error\":{\"code\":\"bad\",\"message\":\"a \\\"q\\\" \\\\ \\n\\u0001 "
                        "caf\xc3\xa9 \xef\xbf\xbd\",\"field\":\"f\xef\xbf\xbd\"}}");
    struct proto_error_body back;
    assert_int_equal(proto_wire_decode_error(resp.body.data, resp.body.len, &back, NULL), PROTO_OK);
    assert_string_equal(back.message, "a \"q\" \\ \n\x01 caf\xc3\xa9 \xef\xbf\xbd");
    col_http_response_free(&resp);
}

static void test_reason_phrases_cover_our_statuses_and_are_never_null(void **state)
{
    (void)state;
    assert_string_equal(col_http_reason(411), "Length Required");
    assert_string_equal(col_http_reason(413), "Content Too Large");
    assert_string_equal(col_http_reason(431), "Request Header Fields Too Large");
    assert_string_equal(col_http_reason(505), "HTTP Version Not Supported");
    for (int s = 0; s < 1000; s++) {
        assert_non_null(col_http_reason(s));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_get_is_complete_with_path_and_empty_query),
        cmocka_unit_test(test_post_with_content_length_leaves_the_body_unread),
        cmocka_unit_test(test_header_lookup_is_case_insensitive_and_values_are_trimmed),
        cmocka_unit_test(test_keep_alive_follows_version_and_connection_tokens),
        cmocka_unit_test(test_incomplete_head_asks_for_more_bytes),
        cmocka_unit_test(test_head_over_16_kib_is_431),
        cmocka_unit_test(test_more_than_64_headers_is_431),
        cmocka_unit_test(test_malformed_request_lines_are_400),
        cmocka_unit_test(test_unsupported_version_is_505_and_unknown_method_501),
        cmocka_unit_test(test_target_longer_than_2048_is_414),
        cmocka_unit_test(test_chunked_upload_is_411_and_other_codings_501),
        cmocka_unit_test(test_conflicting_content_lengths_are_400_and_equal_ones_accepted),
        cmocka_unit_test(test_negative_signed_listed_or_overflowing_content_length_is_400),
        cmocka_unit_test(test_obs_fold_and_bad_field_names_are_400),
        cmocka_unit_test(test_bare_lf_bare_cr_and_nul_are_400_before_the_head_ends),
        cmocka_unit_test(test_host_is_required_once_in_http_1_1),
        cmocka_unit_test(test_leading_empty_lines_are_skipped_and_pipelined_bytes_kept),
        cmocka_unit_test(test_query_parameters_are_split_and_percent_decoded),
        cmocka_unit_test(test_query_refuses_bad_escapes_encoded_nul_and_overlong_values),
        cmocka_unit_test(test_query_check_names_the_first_parameter_that_cannot_be_read),
        cmocka_unit_test(test_query_check_accepts_known_parameters_at_their_cap),
        cmocka_unit_test(test_serialize_writes_length_retry_after_and_connection_close),
        cmocka_unit_test(test_serialize_adds_allow_and_bearer_challenge_only_when_set),
        cmocka_unit_test(test_error_body_has_code_message_and_optional_field),
        cmocka_unit_test(test_error_body_escapes_quotes_controls_and_invalid_utf8),
        cmocka_unit_test(test_reason_phrases_cover_our_statuses_and_are_never_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
