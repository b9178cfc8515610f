/*
 * test_wire_result: the result of a profile (proto/wire_result.c) and its schema
 * (schema/json/result.schema.json).
 *
 * Round trip of a result with every outcome and step status, then each member broken in turn:
 * missing, mistyped, outside its list, unknown, twice, over a cap. Also OOM paths and the
 * schema's caps. With RRAS_WRITE_WIRE=dir set, only writes encoded results there
 * (tests/integration/test_schema.sh validates them).
 */
#include "wire_test.h"

#include "caps.h"
#include "wire_result.h"

#define TEST_RESULT_ID "7c9e6679-7425-40de-944b-e07fc1f90ae7"
#define TEST_PROFILE_ID "0f8fad5b-d9cb-469f-a165-70867728950e"
#define TEST_FINISHED 1767312000 /* 2026-01-02T00:00:00Z */

static char *xstrdup(const char *s)
{
    char *copy = proto_strdup(s);
    assert_non_null(copy);
    return copy;
}

static void push(struct proto_strv *v, const char *s)
{
    assert_int_equal(proto_strv_push(v, s, PROTO_MAX_FINDINGS + 1), PROTO_OK);
}

static void add_step(struct proto_result *r, enum proto_action_type action, const char *before,
                     const char *after, enum proto_step_status status)
{
    struct proto_result_step *step = NULL;
    assert_int_equal(proto_wire_result_add_step(r, &step), PROTO_OK);
    step->action = action;
    step->before = before != NULL ? xstrdup(before) : NULL;
    step->after = after != NULL ? xstrdup(after) : NULL;
    step->status = status;
}

/* A rolled-back apply: every step status, every action type. */
static struct proto_result *full_result(void)
{
    struct proto_result *r = proto_wire_result_create();
    assert_non_null(r);
    memcpy(r->result_id, TEST_RESULT_ID, sizeof(TEST_RESULT_ID));
    memcpy(r->profile_id, TEST_PROFILE_ID, sizeof(TEST_PROFILE_ID));
    r->serial = 42;
    memcpy(r->host, "vpn.contoso.com", 16);
    r->outcome = PROTO_OUTCOME_ROLLED_BACK;
    r->reason = xstrdup("ipsec_rule_ensure failed: netsh exited 1 (\"The object already exists\")");
    r->finished_at = TEST_FINISHED;
    add_step(r, PROTO_ACTION_REGISTRY_DWORD_SET, "AllowL2TPWeakCrypto=1", "AllowL2TPWeakCrypto=0",
             PROTO_STEP_UNDONE);
    add_step(r, PROTO_ACTION_IPSEC_RULE_REMOVE, "", "", PROTO_STEP_SKIPPED);
    add_step(r, PROTO_ACTION_IPSEC_RULE_ENSURE, "absent", "\xC3\xA9t\xC3\xA9\n2 lines",
             PROTO_STEP_FAILED);
    add_step(r, PROTO_ACTION_SERVICE_RESTART, "Running", "Running", PROTO_STEP_OK);
    push(&r->findings_before, "L2TP_CERT_WILDCARD");
    push(&r->findings_before, "L2TP_WEAK_CRYPTO");
    push(&r->findings_after, "L2TP_CERT_WILDCARD");
    return r;
}

static char *encode(const struct proto_result *r)
{
    char *text = NULL;
    size_t len = 0;
    enum proto_rc rc = proto_wire_encode_result(r, &text, &len);
    if (rc != PROTO_OK) {
        fail_msg("encode: %s", proto_rc_str(rc));
    }
    assert_int_equal(strlen(text), len);
    return text;
}

static char *full_doc(void)
{
    struct proto_result *r = full_result();
    char *text = encode(r);
    proto_wire_result_destroy(r);
    return text;
}

static struct proto_result *decode_ok(const char *text)
{
    struct proto_result *r = NULL;
    struct proto_json_error err;
    enum proto_rc rc = proto_wire_decode_result(text, strlen(text), &r, &err);
    if (rc != PROTO_OK) {
        fail_msg("decode: %s at \"%s\": %s", proto_rc_str(rc), err.field, err.message);
    }
    return r;
}

static void expect_refused(const char *doc, enum proto_rc rc, const char *field)
{
    static struct proto_result dummy;
    struct proto_result *r = &dummy; /* must come back NULL */
    struct proto_json_error err;
    enum proto_rc got = proto_wire_decode_result(doc, strlen(doc), &r, &err);
    if (got != rc || strcmp(err.field, field) != 0) {
        fail_msg("got %s at \"%s\" (%s), expected %s at \"%s\"", proto_rc_str(got), err.field,
                 err.message, proto_rc_str(rc), field);
    }
    assert_null(r);
}

static void expect_edit_refused(const char *path, const char *raw, enum proto_rc rc,
                                const char *field)
{
    char *doc = full_doc();
    char *edited = wire_test_edit(doc, path, raw);
    expect_refused(edited, rc, field != NULL ? field : path);
    proto_free(edited);
    proto_free(doc);
}

static struct proto_result *edit_ok(const char *path, const char *raw)
{
    char *doc = full_doc();
    char *edited = wire_test_edit(doc, path, raw);
    struct proto_result *r = decode_ok(edited);
    proto_free(edited);
    proto_free(doc);
    return r;
}

static void assert_strv_equal(const struct proto_strv *a, const struct proto_strv *b)
{
    assert_int_equal(a->count, b->count);
    for (size_t i = 0; i < a->count; i++) {
        assert_string_equal(a->items[i], b->items[i]);
    }
}

static void assert_result_equal(const struct proto_result *a, const struct proto_result *b)
{
    assert_string_equal(a->result_id, b->result_id);
    assert_string_equal(a->profile_id, b->profile_id);
    assert_int_equal(a->serial, b->serial);
    assert_string_equal(a->host, b->host);
    assert_int_equal(a->outcome, b->outcome);
    assert_string_equal(a->reason != NULL ? a->reason : "", b->reason);
    assert_int_equal(a->finished_at, b->finished_at);
    assert_int_equal(a->step_count, b->step_count);
    for (size_t i = 0; i < a->step_count; i++) {
        assert_int_equal(a->steps[i].action, b->steps[i].action);
        assert_string_equal(a->steps[i].before != NULL ? a->steps[i].before : "",
                            b->steps[i].before);
        assert_string_equal(a->steps[i].after != NULL ? a->steps[i].after : "", b->steps[i].after);
        assert_int_equal(a->steps[i].status, b->steps[i].status);
    }
    assert_strv_equal(&a->findings_before, &b->findings_before);
    assert_strv_equal(&a->findings_after, &b->findings_after);
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_full_result_round_trips_field_for_field(void **state)
{
    (void)state;
    struct proto_result *r = full_result();
    char *text = encode(r);
    struct proto_result *back = decode_ok(text);
    assert_result_equal(r, back);
    char *again = encode(back);
    assert_string_equal(again, text);
    proto_free(again);
    proto_wire_result_destroy(back);
    proto_wire_result_destroy(r);
    proto_free(text);
}

static void test_an_empty_result_writes_empty_strings_and_arrays(void **state)
{
    (void)state;
    struct proto_result *r = proto_wire_result_create();
    assert_non_null(r);
    memcpy(r->result_id, TEST_RESULT_ID, sizeof(TEST_RESULT_ID));
    memcpy(r->profile_id, TEST_PROFILE_ID, sizeof(TEST_PROFILE_ID));
    memcpy(r->host, "h", 2);
    r->outcome = PROTO_OUTCOME_REFUSED;
    add_step(r, PROTO_ACTION_SERVICE_RESTART, NULL, NULL, PROTO_STEP_SKIPPED);
    char *text = encode(r);
    assert_string_equal(text, "{\"schema\":\"rrasfleet.result/1\",\"result_id\":\"" TEST_RESULT_ID
                              "\",\"profile_id\":\"" TEST_PROFILE_ID "\",\"serial\":0,"
                              "\"host\":\"h\",\"outcome\":\"refused\",\"reason\":\"\","
                              "\"finished_at\":\"1970-01-01T00:00:00Z\",\"steps\":[{\"action\":"
                              "\"service_restart\",\"before\":\"\",\"after\":\"\",\"status\":"
                              "\"skipped\"}],\"findings_before\":[],\"findings_after\":[]}");
    struct proto_result *back = decode_ok(text);
    assert_result_equal(r, back);
    proto_wire_result_destroy(back);
    proto_wire_result_destroy(r);
    proto_free(text);
}

static void test_serial_zero_is_only_for_a_refusal(void **state)
{
    (void)state;
    expect_edit_refused("serial", "0", PROTO_ELIMIT, NULL);
    struct proto_result *r = full_result();
    r->serial = 0;
    char *text = NULL;
    assert_int_equal(proto_wire_encode_result(r, &text, NULL), PROTO_EINVAL);
    r->outcome = PROTO_OUTCOME_REFUSED;
    text = encode(r);
    proto_free(text);
    proto_wire_result_destroy(r);
    expect_edit_refused("serial", "9007199254740992", PROTO_ELIMIT, NULL);
}

static void test_ids_and_host_are_lower_cased(void **state)
{
    (void)state;
    struct proto_result *r = edit_ok("host", "\"VPN.Contoso.com\"");
    assert_string_equal(r->host, "vpn.contoso.com");
    proto_wire_result_destroy(r);
    r = edit_ok("result_id", "\"7C9E6679-7425-40DE-944B-E07FC1F90AE7\"");
    assert_string_equal(r->result_id, TEST_RESULT_ID);
    proto_wire_result_destroy(r);
}

static void test_each_missing_required_member_is_named(void **state)
{
    (void)state;
    static const char *const required[] = {
        "schema",         "result_id",       "profile_id",      "serial",         "host",
        "outcome",        "reason",          "finished_at",     "steps",          "findings_before",
        "findings_after", "steps[0].action", "steps[0].before", "steps[0].after", "steps[0].status",
    };
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        expect_edit_refused(required[i], NULL, PROTO_EMISSING, NULL);
    }
}

static void test_wrong_member_types_are_named_with_their_path(void **state)
{
    (void)state;
    struct {
        const char *path;
        const char *raw;
    } cases[] = {
        {"result_id", "1"},          {"serial", "\"42\""},
        {"serial", "42.5"},          {"host", "null"},
        {"outcome", "[]"},           {"reason", "false"},
        {"finished_at", "0"},        {"steps", "{}"},
        {"steps[1]", "[]"},          {"steps[1].before", "1"},
        {"steps[1].status", "0"},    {"findings_before", "\"X\""},
        {"findings_after[0]", "{}"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        expect_edit_refused(cases[i].path, cases[i].raw, PROTO_ETYPE, NULL);
    }
}

static void test_values_outside_their_lists_are_refused(void **state)
{
    (void)state;
    expect_edit_refused("schema", "\"rrasfleet.result/2\"", PROTO_EUNSUPPORTED, NULL);
    expect_edit_refused("outcome", "\"partial\"", PROTO_EUNSUPPORTED, NULL);
    expect_edit_refused("steps[0].action", "\"run_command\"", PROTO_EUNSUPPORTED, NULL);
    expect_edit_refused("steps[0].status", "\"OK\"", PROTO_EUNSUPPORTED, NULL);
    expect_edit_refused("findings_after[0]", "\"l2tp\"", PROTO_EPARSE, NULL);
    expect_edit_refused("host", "\"*.contoso.com\"", PROTO_EPARSE, NULL);
    expect_edit_refused("finished_at", "\"yesterday\"", PROTO_EPARSE, NULL);
    expect_edit_refused("profile_id", "\"\"", PROTO_EPARSE, NULL);
}

static void test_unknown_or_repeated_members_are_refused(void **state)
{
    (void)state;
    expect_edit_refused("agent_version", "\"1.0\"", PROTO_EUNSUPPORTED, NULL);
    expect_edit_refused("steps[2].duration_ms", "12", PROTO_EUNSUPPORTED, NULL);
    char *doc = full_doc();
    char *twice = wire_test_prepend(doc, "\"outcome\":\"applied\",");
    expect_refused(twice, PROTO_EPARSE, "outcome");
    free(twice);
    proto_free(doc);
}

static void test_caps_on_steps_findings_and_text(void **state)
{
    (void)state;
    struct proto_result *r = full_result();
    struct proto_result_step *step = NULL;
    while (r->step_count < PROTO_MAX_RESULT_STEPS) {
        add_step(r, PROTO_ACTION_SERVICE_RESTART, "a", "b", PROTO_STEP_OK);
    }
    assert_int_equal(proto_wire_result_add_step(r, &step), PROTO_ELIMIT);
    assert_null(step);
    char *s = wire_test_repeat('x', PROTO_MAX_STRING);
    proto_free(r->reason);
    r->reason = xstrdup(s);
    while (r->findings_before.count < PROTO_MAX_FINDINGS) {
        push(&r->findings_before, "L2TP_NO_CERT");
    }
    char *text = encode(r);
    struct proto_result *back = decode_ok(text);
    assert_result_equal(r, back);
    proto_wire_result_destroy(back);

    /* One more of each is refused by both directions. */
    char *over = wire_test_edit(text, "steps[32]", "{}");
    expect_refused(over, PROTO_ELIMIT, "steps");
    proto_free(over);
    over = wire_test_edit(text, "findings_before[4096]", "\"A\"");
    expect_refused(over, PROTO_ELIMIT, "findings_before");
    proto_free(over);
    push(&r->findings_before, "L2TP_NO_CERT");
    char *out = NULL;
    assert_int_equal(proto_wire_encode_result(r, &out, NULL), PROTO_EINVAL);
    proto_free(text);
    free(s);

    s = wire_test_repeat('x', PROTO_MAX_STRING + 1);
    char *raw = malloc(strlen(s) + 3);
    assert_non_null(raw);
    int n = snprintf(raw, strlen(s) + 3, "\"%s\"", s);
    assert_true(n > 0);
    expect_edit_refused("reason", raw, PROTO_ELIMIT, NULL);
    expect_edit_refused("steps[3].after", raw, PROTO_ELIMIT, NULL);
    free(raw);
    free(s);
    s = wire_test_repeat('F', PROTO_MAX_FINDING_ID + 1);
    raw = malloc(strlen(s) + 3);
    assert_non_null(raw);
    n = snprintf(raw, strlen(s) + 3, "\"%s\"", s);
    assert_true(n > 0);
    expect_edit_refused("findings_after[0]", raw, PROTO_ELIMIT, NULL);
    free(raw);
    free(s);
    proto_wire_result_destroy(r);
}

static void test_encoder_refuses_a_result_the_decoder_would_refuse(void **state)
{
    (void)state;
    char *text = (char *)"unchanged";
    size_t len = 9;
    struct proto_result *r = NULL;
#define REFUSED(change)                                                                            \
    do {                                                                                           \
        r = full_result();                                                                         \
        change;                                                                                    \
        assert_int_equal(proto_wire_encode_result(r, &text, &len), PROTO_EINVAL);                  \
        assert_null(text);                                                                         \
        assert_int_equal(len, 0);                                                                  \
        proto_wire_result_destroy(r);                                                              \
    } while (0)
    REFUSED(r->result_id[0] = 'z');
    REFUSED(r->profile_id[8] = '_');
    REFUSED(memcpy(r->host, "a..b", 5));
    REFUSED(r->outcome = PROTO_OUTCOME_COUNT);
    REFUSED(r->finished_at = INT64_MAX);
    REFUSED(r->steps[0].action = PROTO_ACTION_TYPE_COUNT);
    REFUSED(r->steps[0].status = PROTO_STEP_STATUS_COUNT);
    REFUSED(r->steps[0].before[0] = (char)0xFF);
    REFUSED(push(&r->findings_after, "not an id"));
#undef REFUSED
    assert_int_equal(proto_wire_encode_result(NULL, &text, &len), PROTO_EINVAL);
}

static void test_names_of_outcomes_and_statuses_are_stable(void **state)
{
    (void)state;
    assert_string_equal(proto_wire_outcome_str(PROTO_OUTCOME_ROLLED_BACK), "rolled_back");
    assert_string_equal(proto_wire_outcome_str(PROTO_OUTCOME_COUNT), "");
    assert_string_equal(proto_wire_step_status_str(PROTO_STEP_UNDONE), "undone");
    assert_string_equal(proto_wire_step_status_str(PROTO_STEP_STATUS_COUNT), "");
}

static void test_every_allocation_failure_is_reported_without_leaks(void **state)
{
    (void)state;
    struct proto_result *r = full_result();
    char *text = encode(r);
    unsigned long n;
    for (n = 1; n < 100000; n++) {
        struct proto_result *back = NULL;
        struct proto_json_error err;
        proto_alloc_fail_after(n);
        enum proto_rc rc = proto_wire_decode_result(text, strlen(text), &back, &err);
        proto_alloc_fail_after(0);
        if (rc == PROTO_OK) {
            assert_result_equal(r, back);
            proto_wire_result_destroy(back);
            break;
        }
        assert_int_equal(rc, PROTO_ENOMEM);
        assert_null(back);
        assert_string_equal(err.message, "out of memory");
    }
    assert_true(n > 1 && n < 100000);
    for (n = 1; n < 100000; n++) {
        char *out = NULL;
        proto_alloc_fail_after(n);
        enum proto_rc rc = proto_wire_encode_result(r, &out, NULL);
        proto_alloc_fail_after(0);
        if (rc == PROTO_OK) {
            assert_string_equal(out, text);
            proto_free(out);
            break;
        }
        assert_int_equal(rc, PROTO_ENOMEM);
        assert_null(out);
    }
    assert_true(n > 1 && n < 100000);
    proto_free(text);
    proto_wire_result_destroy(r);
}

static void test_schema_repeats_the_caps_of_caps_h(void **state)
{
    (void)state;
    const struct wire_test_cap caps[] = {
        {"properties/serial/maximum", 9007199254740991.0},
        {"properties/host/maxLength", PROTO_MAX_FQDN},
        {"properties/steps/maxItems", PROTO_MAX_RESULT_STEPS},
        {"properties/findings_before/maxItems", PROTO_MAX_FINDINGS},
        {"properties/findings_after/maxItems", PROTO_MAX_FINDINGS},
        {"$defs/text/maxLength", PROTO_MAX_STRING},
        {"$defs/finding_id/maxLength", PROTO_MAX_FINDING_ID},
    };
    wire_test_schema_caps("result.schema.json", caps, sizeof(caps) / sizeof(caps[0]));
}

static void refuse_file(const char *name, const char *text, size_t len)
{
    struct proto_result *r = NULL;
    struct proto_json_error err;
    if (proto_wire_decode_result(text, len, &r, &err) == PROTO_OK) {
        proto_wire_result_destroy(r);
        fail_msg("result/%s decodes, but the schema refuses it", name);
    }
}

static void test_schema_counterexamples_are_refused_by_the_decoder(void **state)
{
    (void)state;
    assert_true(wire_test_each_counterexample("result", refuse_file) >= 5);
}

static void test_encoded_results_are_written_for_the_schema_check(void **state)
{
    (void)state;
    char *text = full_doc();
    wire_test_write("result.json", text);
    proto_free(text);
    struct proto_result *r = full_result();
    r->outcome = PROTO_OUTCOME_REFUSED;
    r->serial = 0;
    r->step_count = 0; /* the steps stay allocated and are freed by destroy */
    text = encode(r);
    r->step_count = 4;
    wire_test_write("result-refused.json", text);
    proto_free(text);
    proto_wire_result_destroy(r);
}

int main(void)
{
    const struct CMUnitTest write_only[] = {
        cmocka_unit_test(test_encoded_results_are_written_for_the_schema_check),
    };
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_result_round_trips_field_for_field),
        cmocka_unit_test(test_an_empty_result_writes_empty_strings_and_arrays),
        cmocka_unit_test(test_serial_zero_is_only_for_a_refusal),
        cmocka_unit_test(test_ids_and_host_are_lower_cased),
        cmocka_unit_test(test_each_missing_required_member_is_named),
        cmocka_unit_test(test_wrong_member_types_are_named_with_their_path),
        cmocka_unit_test(test_values_outside_their_lists_are_refused),
        cmocka_unit_test(test_unknown_or_repeated_members_are_refused),
        cmocka_unit_test(test_caps_on_steps_findings_and_text),
        cmocka_unit_test(test_encoder_refuses_a_result_the_decoder_would_refuse),
        cmocka_unit_test(test_names_of_outcomes_and_statuses_are_stable),
        cmocka_unit_test(test_every_allocation_failure_is_reported_without_leaks),
        cmocka_unit_test(test_schema_repeats_the_caps_of_caps_h),
        cmocka_unit_test(test_schema_counterexamples_are_refused_by_the_decoder),
        cmocka_unit_test(test_encoded_results_are_written_for_the_schema_check),
    };
    proto_alloc_install_cjson_hooks();
    if (getenv("RRAS_WRITE_WIRE") != NULL) {
        return cmocka_run_group_tests_name("wire_result_write", write_only, NULL, NULL);
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
