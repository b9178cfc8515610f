/*
 * test_transport: how the agent reads the collector's answers (agent/transport.c).
 *
 * agent_transport_classify is pure, so every answer of the /v1/reports contract is checked
 * here: acknowledgements, duplicates, back-pressure with Retry-After, permanent refusals with
 * the collector's message, and answers that must not empty the spool. One test drives real
 * libcurl at a closed local port; TLS against a live collector is the integration tests' job.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "agent_config.h"
#include "alloc.h"
#include "transport.h"

#define ACK_BODY                                                                                   \
    "{\"accepted\":true,\"duplicate\":false,"                                                      \
    "\"report_id\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"next_interval_s\":900,"              \
    "\"findings\":2}"

static void classify(long status, const char *body, long retry_after, struct agent_send_result *res)
{
    memset(res, 0x5a, sizeof(*res)); /* every field must be written */
    agent_transport_classify(status, body, body != NULL ? strlen(body) : 0, retry_after, res);
}

static void test_202_is_an_acknowledgement_with_the_next_interval(void **state)
{
    (void)state;
    struct agent_send_result res;
    classify(202, ACK_BODY, -1, &res);
    assert_int_equal(res.outcome, AGENT_SEND_ACKED);
    assert_int_equal(res.http_status, 202);
    assert_false(res.duplicate);
    assert_int_equal(res.next_interval_s, 900);
    assert_int_equal(res.retry_after_s, 0);
    assert_string_equal(res.report_id, "0f8fad5b-d9cb-469f-a165-70867728950e");
    assert_string_equal(res.error, "");
    assert_int_equal(res.curl_code, 0);
}

static void test_202_without_a_readable_body_still_acknowledges(void **state)
{
    (void)state;
    struct agent_send_result res;
    classify(202, "not json", -1, &res);
    assert_int_equal(res.outcome, AGENT_SEND_ACKED);
    assert_int_equal(res.next_interval_s, 0);
    assert_string_equal(res.report_id, "");
}

static void test_200_duplicate_is_an_acknowledgement(void **state)
{
    (void)state;
    struct agent_send_result res;
    classify(200,
             "{\"accepted\":true,\"duplicate\":true,"
             "\"report_id\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"next_interval_s\":300,"
             "\"findings\":0}",
             -1, &res);
    assert_int_equal(res.outcome, AGENT_SEND_ACKED);
    assert_true(res.duplicate);
    assert_int_equal(res.next_interval_s, 300);
}

static void test_200_without_an_acknowledgement_does_not_empty_the_spool(void **state)
{
    (void)state;
    struct agent_send_result res;
    classify(200, "<html>captive portal</html>", -1, &res);
    assert_int_equal(res.outcome, AGENT_SEND_RETRY);
    assert_string_equal(res.error, "unexpected HTTP 200 without an acknowledgement");
    classify(200, "{\"accepted\":false}", -1, &res);
    assert_int_equal(res.outcome, AGENT_SEND_RETRY);
    classify(204, NULL, -1, &res);
    assert_int_equal(res.outcome, AGENT_SEND_RETRY);
}

static void test_back_pressure_and_server_errors_mean_retry_later(void **state)
{
    (void)state;
    static const long statuses[] = {408, 429, 500, 502, 503, 504, 599};
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        struct agent_send_result res;
        classify(statuses[i],
                 "{\"error\":{\"code\":\"busy\",\"message\":\"the collector is busy: retry "
                 "later\"}}",
                 -1, &res);
        assert_int_equal(res.outcome, AGENT_SEND_RETRY);
        assert_int_equal(res.http_status, statuses[i]);
        assert_string_equal(res.error, "the collector is busy: retry later");
    }
}

static void test_retry_after_is_passed_on(void **state)
{
    (void)state;
    struct agent_send_result res;
    classify(429, "{}", 30, &res);
    assert_int_equal(res.outcome, AGENT_SEND_RETRY);
    assert_int_equal(res.retry_after_s, 30);
    assert_string_equal(res.error, "HTTP 429");
    classify(503, NULL, 0, &res);
    assert_int_equal(res.retry_after_s, 0);
}

static void test_other_client_errors_are_permanent_with_the_collectors_message(void **state)
{
    (void)state;
    struct agent_send_result res;
    classify(400,
             "{\"error\":{\"code\":\"invalid\",\"message\":\"expected a string\","
             "\"field\":\"snapshot.certs[3].sha1\"}}",
             -1, &res);
    assert_int_equal(res.outcome, AGENT_SEND_REJECTED);
    assert_string_equal(res.error, "expected a string (field snapshot.certs[3].sha1)");
    static const long statuses[] = {401, 403, 404, 405, 409, 413, 415, 422, 499};
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        classify(statuses[i], "{\"error\":{\"code\":\"x\",\"message\":\"no\"}}", -1, &res);
        assert_int_equal(res.outcome, AGENT_SEND_REJECTED);
        assert_string_equal(res.error, "no");
    }
    classify(413, NULL, -1, &res);
    assert_string_equal(res.error, "HTTP 413");
}

static void test_redirects_and_informational_answers_mean_retry_later(void **state)
{
    (void)state;
    struct agent_send_result res;
    classify(301, NULL, -1, &res);
    assert_int_equal(res.outcome, AGENT_SEND_RETRY);
    classify(100, NULL, -1, &res);
    assert_int_equal(res.outcome, AGENT_SEND_RETRY);
}

static void test_collector_text_is_made_one_printable_line(void **state)
{
    (void)state;
    struct agent_send_result res;
    classify(400, "{\"error\":{\"code\":\"bad\",\"message\":\"line one\\nline two\\u0007\"}}", -1,
             &res);
    assert_string_equal(res.error, "line one line two ");
    static const char head[] = "{\"error\":{\"code\":\"bad\",\"message\":\"";
    char body[1024];
    memset(body, 0, sizeof(body));
    memcpy(body, head, sizeof(head) - 1);
    memset(body + sizeof(head) - 1, 'x', 600);
    memcpy(body + sizeof(head) - 1 + 600, "\"}}", 3);
    classify(400, body, -1, &res);
    assert_int_equal(strlen(res.error), sizeof(res.error) - 1);
}

static void test_odd_intervals_and_ids_in_an_acknowledgement_are_ignored(void **state)
{
    (void)state;
    struct agent_send_result res;
    classify(202, "{\"next_interval_s\":-5,\"report_id\":\"short\"}", -1, &res);
    assert_int_equal(res.next_interval_s, 0);
    assert_string_equal(res.report_id, "");
    classify(202, "{\"next_interval_s\":1e300}", -1, &res);
    assert_int_equal(res.next_interval_s, 0);
    classify(202, "{\"next_interval_s\":\"60\"}", -1, &res);
    assert_int_equal(res.next_interval_s, 0);
}

static void test_outcome_names_are_stable(void **state)
{
    (void)state;
    assert_string_equal(agent_send_outcome_str(AGENT_SEND_ACKED), "ack");
    assert_string_equal(agent_send_outcome_str(AGENT_SEND_RETRY), "retry");
    assert_string_equal(agent_send_outcome_str(AGENT_SEND_REJECTED), "rejected");
}

static void test_an_acknowledgement_names_the_pending_profile(void **state)
{
    (void)state;
    struct agent_send_result res;
    classify(202,
             "{\"accepted\":true,\"duplicate\":false,"
             "\"report_id\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"next_interval_s\":900,"
             "\"findings\":2,\"pending_profile\":\"0B6C1F2E-8A55-4F7E-9D38-1C2A3B4C5D6E\"}",
             -1, &res);
    assert_int_equal(res.outcome, AGENT_SEND_ACKED);
    assert_string_equal(res.pending_profile, "0b6c1f2e-8a55-4f7e-9d38-1c2a3b4c5d6e");
    classify(202, ACK_BODY, -1, &res);
    assert_string_equal(res.pending_profile, "");
}

static void result_classify(long status, const char *body, struct agent_send_result *res)
{
    agent_transport_classify_result(status, body, body != NULL ? strlen(body) : 0, -1, res);
}

static void test_results_are_acknowledged_by_202_or_a_200_duplicate_only(void **state)
{
    (void)state;
    struct agent_send_result res;
    result_classify(202,
                    "{\"accepted\":true,\"duplicate\":false,"
                    "\"result_id\":\"6f1d2c3b-4a59-4e8f-9a7b-0c1d2e3f4a5b\"}",
                    &res);
    assert_int_equal(res.outcome, AGENT_SEND_ACKED);
    assert_false(res.duplicate);
    assert_string_equal(res.report_id, "6f1d2c3b-4a59-4e8f-9a7b-0c1d2e3f4a5b");
    result_classify(200, "{\"accepted\":true,\"duplicate\":true,\"result_id\":\"x\"}", &res);
    assert_int_equal(res.outcome, AGENT_SEND_ACKED);
    assert_true(res.duplicate);
    result_classify(200, "<html>proxy</html>", &res);
    assert_int_equal(res.outcome, AGENT_SEND_RETRY);
    result_classify(200, NULL, &res);
    assert_int_equal(res.outcome, AGENT_SEND_RETRY);
}

static void test_result_refusals_are_permanent_and_outages_retry(void **state)
{
    (void)state;
    struct agent_send_result res;
    result_classify(404, "{\"error\":{\"code\":\"not_found\",\"message\":\"no such profile\"}}",
                    &res);
    assert_int_equal(res.outcome, AGENT_SEND_REJECTED);
    assert_string_equal(res.error, "no such profile");
    result_classify(409, NULL, &res);
    assert_int_equal(res.outcome, AGENT_SEND_REJECTED);
    result_classify(503, NULL, &res);
    assert_int_equal(res.outcome, AGENT_SEND_RETRY);
    result_classify(429, NULL, &res);
    assert_int_equal(res.outcome, AGENT_SEND_RETRY);
}

static void test_an_unreachable_collector_is_retry_later_with_curls_error(void **state)
{
    (void)state;
    struct agent_config cfg;
    struct proto_conf conf;
    char err[256];
    assert_int_equal(agent_config_init(&cfg, &conf), PROTO_OK);
    static const char *const settings[][2] = {
        {"collector_url", "https://127.0.0.1:1/"},
        {"ca_file", "/nonexistent/ca.crt"},
        {"client_cert", "/nonexistent/agent.crt"},
        {"client_key", "/nonexistent/agent.key"},
        {"connect_timeout_ms", "2000"},
        {"total_timeout_ms", "3000"},
        {"fqdn_override", "no-certificate-names.invalid"}, /* Windows: none in the store */
    };
    for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
        assert_int_equal(proto_conf_set(&conf, settings[i][0], settings[i][1], PROTO_CONF_FROM_FLAG,
                                        err, sizeof(err)),
                         PROTO_OK);
    }
    assert_int_equal(agent_transport_global_init(), PROTO_OK);
    struct agent_transport *t = NULL;
    assert_int_equal(agent_transport_create(&cfg, NULL, &t), PROTO_OK);
    /* Here the certificate is a file: there is no store path to show (Windows only). */
    assert_string_equal(agent_transport_client_cert(t), "");
    assert_string_equal(agent_transport_client_cert(NULL), "");
    struct agent_send_result res;
    for (int i = 0; i < 2; i++) { /* the handle stays usable after a failure */
        assert_int_equal(agent_transport_send(t, "{}", 2, &res), PROTO_OK);
        assert_int_equal(res.outcome, AGENT_SEND_RETRY);
        assert_int_equal(res.http_status, 0);
#ifdef _WIN32
        /* The certificate comes from LocalMachine\My, and none names this host: the send is
         * refused before any connection, as retry-later (enrolment may bring one). */
        assert_int_equal(res.curl_code, 0);
        assert_true(strncmp(res.error, "client certificate: no certificate in ", 38) == 0);
#else
        assert_int_not_equal(res.curl_code, 0);
        assert_true(strncmp(res.error, "curl ", 5) == 0);
#endif
    }
    assert_int_equal(agent_transport_send(NULL, "{}", 2, &res), PROTO_EINVAL);
    /* Results and profile fetches go over the same handle, and fail the same way. */
    assert_int_equal(agent_transport_send_result(t, "{}", 2, &res), PROTO_OK);
    assert_int_equal(res.outcome, AGENT_SEND_RETRY);
    char *body = NULL;
    size_t len = 0;
    assert_int_equal(
        agent_transport_fetch_profile(t, "0b6c1f2e-8a55-4f7e-9d38-1c2a3b4c5d6e", &body, &len, &res),
        PROTO_OK);
    assert_int_equal(res.outcome, AGENT_SEND_RETRY);
    assert_null(body);
    /* The id goes into the URL: anything but a lower-case UUID is refused unsent. */
    assert_int_equal(agent_transport_fetch_profile(t, "../reports", &body, &len, &res),
                     PROTO_EINVAL);
    assert_int_equal(
        agent_transport_fetch_profile(t, "0B6C1F2E-8A55-4F7E-9D38-1C2A3B4C5D6E", &body, &len, &res),
        PROTO_EINVAL);
    agent_transport_destroy(t);
    agent_transport_destroy(NULL);
    agent_transport_global_cleanup();
    proto_conf_free(&conf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_202_is_an_acknowledgement_with_the_next_interval),
        cmocka_unit_test(test_202_without_a_readable_body_still_acknowledges),
        cmocka_unit_test(test_200_duplicate_is_an_acknowledgement),
        cmocka_unit_test(test_200_without_an_acknowledgement_does_not_empty_the_spool),
        cmocka_unit_test(test_back_pressure_and_server_errors_mean_retry_later),
        cmocka_unit_test(test_retry_after_is_passed_on),
        cmocka_unit_test(test_other_client_errors_are_permanent_with_the_collectors_message),
        cmocka_unit_test(test_redirects_and_informational_answers_mean_retry_later),
        cmocka_unit_test(test_collector_text_is_made_one_printable_line),
        cmocka_unit_test(test_odd_intervals_and_ids_in_an_acknowledgement_are_ignored),
        cmocka_unit_test(test_outcome_names_are_stable),
        cmocka_unit_test(test_an_acknowledgement_names_the_pending_profile),
        cmocka_unit_test(test_results_are_acknowledged_by_202_or_a_200_duplicate_only),
        cmocka_unit_test(test_result_refusals_are_permanent_and_outages_retry),
        cmocka_unit_test(test_an_unreachable_collector_is_retry_later_with_curls_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
