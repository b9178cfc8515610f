/*
 * test_wire_envelope: the signed profile envelope (proto/wire_envelope.c) and its schema
 * (schema/json/envelope.schema.json).
 *
 * The payload comes back as the exact bytes that went in, never parsed; everything about the
 * envelope itself is strict: four members, alg "ES256", key_id, canonical base64, caps. No
 * cryptography is involved: the "signature" here is just bytes. With RRAS_WRITE_WIRE=dir set,
 * only writes encoded envelopes there (tests/integration/test_schema.sh validates them).
 */
#include "wire_test.h"

#include "caps.h"
#include "wire_envelope.h"

#define TEST_KEY_ID "0123456789abcdef"

static const unsigned char test_sig[64] = {
    0x30, 0x44, 0x02, 0x20, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
    0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c,
    0x1d, 0x1e, 0x1f, 0x20, 0x02, 0x20, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0xf9, 0xf8, 0xf7, 0xf6,
    0xf5, 0xf4, 0xf3, 0xf2, 0xf1, 0xf0, 0xef, 0xee, 0xed, 0xec, 0xeb, 0xea, 0xe9, 0xe8, 0xe7, 0x00,
};

/* Not JSON on purpose: the envelope never looks inside. A NUL too. */
static const unsigned char test_payload[] = "{\"schema\":\"rrasfleet.profile/1\" \0\xff trailing";

static char *encode(const unsigned char *payload, size_t payload_len, const char *key_id,
                    const unsigned char *sig, size_t sig_len)
{
    char *text = NULL;
    size_t len = 0;
    enum proto_rc rc =
        proto_wire_encode_envelope(payload, payload_len, key_id, sig, sig_len, &text, &len);
    if (rc != PROTO_OK) {
        fail_msg("encode: %s", proto_rc_str(rc));
    }
    assert_int_equal(strlen(text), len);
    return text;
}

static char *test_doc(void)
{
    return encode(test_payload, sizeof(test_payload) - 1, TEST_KEY_ID, test_sig, sizeof(test_sig));
}

static void expect_refused(const char *doc, enum proto_rc rc, const char *field)
{
    struct proto_envelope env;
    struct proto_json_error err;
    memset(&env, 0x55, sizeof(env));
    enum proto_rc got = proto_wire_decode_envelope(doc, strlen(doc), &env, &err);
    if (got != rc || strcmp(err.field, field) != 0) {
        fail_msg("got %s at \"%s\" (%s), expected %s at \"%s\"", proto_rc_str(got), err.field,
                 err.message, proto_rc_str(rc), field);
    }
    assert_true(testutil_all_zero((const unsigned char *)&env, sizeof(env)));
}

static void expect_edit_refused(const char *path, const char *raw, enum proto_rc rc)
{
    char *doc = test_doc();
    char *edited = wire_test_edit(doc, path, raw);
    expect_refused(edited, rc, path);
    proto_free(edited);
    proto_free(doc);
}

static void test_payload_and_signature_come_back_byte_for_byte(void **state)
{
    (void)state;
    char *text = test_doc();
    struct proto_envelope env;
    struct proto_json_error err;
    assert_int_equal(proto_wire_decode_envelope(text, strlen(text), &env, &err), PROTO_OK);
    assert_int_equal(env.payload_len, sizeof(test_payload) - 1);
    assert_memory_equal(env.payload, test_payload, sizeof(test_payload) - 1);
    assert_int_equal(env.payload[env.payload_len], '\0');
    assert_int_equal(env.sig_len, sizeof(test_sig));
    assert_memory_equal(env.sig, test_sig, sizeof(test_sig));
    assert_string_equal(env.key_id, TEST_KEY_ID);
    char *again = encode(env.payload, env.payload_len, env.key_id, env.sig, env.sig_len);
    assert_string_equal(again, text);
    proto_free(again);
    proto_wire_envelope_clear(&env);
    assert_null(env.payload);
    proto_wire_envelope_clear(&env);
    proto_wire_envelope_clear(NULL);
    proto_free(text);
}

static void test_encoding_writes_the_four_members(void **state)
{
    (void)state;
    static const unsigned char payload[] = "hi";
    static const unsigned char sig[] = {0xfb, 0xff};
    char *text = encode(payload, 2, TEST_KEY_ID, sig, sizeof(sig));
    assert_string_equal(text, "{\"payload\":\"aGk=\",\"alg\":\"ES256\",\"key_id\":\"" TEST_KEY_ID
                              "\",\"sig\":\"+/8=\"}");
    proto_free(text);
}

static void test_each_missing_member_is_named(void **state)
{
    (void)state;
    static const char *const required[] = {"payload", "alg", "key_id", "sig"};
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        expect_edit_refused(required[i], NULL, PROTO_EMISSING);
    }
}

static void test_wrong_member_types_are_named(void **state)
{
    (void)state;
    expect_edit_refused("payload", "{}", PROTO_ETYPE);
    expect_edit_refused("alg", "null", PROTO_ETYPE);
    expect_edit_refused("key_id", "81985529216486895", PROTO_ETYPE);
    expect_edit_refused("sig", "[48,68]", PROTO_ETYPE);
    expect_refused("[]", PROTO_ETYPE, "");
}

static void test_an_algorithm_other_than_es256_is_unsupported(void **state)
{
    (void)state;
    expect_edit_refused("alg", "\"none\"", PROTO_EUNSUPPORTED);
    expect_edit_refused("alg", "\"es256\"", PROTO_EUNSUPPORTED);
    expect_edit_refused("alg", "\"HS256\"", PROTO_EUNSUPPORTED);
    /* Even with other changes: the algorithm is read first. */
    char *doc = test_doc();
    char *edited = wire_test_edit(doc, "alg", "\"ES384\"");
    char *more = wire_test_edit(edited, "x5c", "[]");
    expect_refused(more, PROTO_EUNSUPPORTED, "alg");
    proto_free(more);
    proto_free(edited);
    proto_free(doc);
}

static void test_unknown_or_repeated_members_are_refused(void **state)
{
    (void)state;
    expect_edit_refused("kid", "\"" TEST_KEY_ID "\"", PROTO_EUNSUPPORTED);
    expect_edit_refused("payload_json", "{}", PROTO_EUNSUPPORTED);
    char *doc = test_doc();
    char *twice = wire_test_prepend(doc, "\"payload\":\"aGk=\",");
    expect_refused(twice, PROTO_EPARSE, "payload");
    free(twice);
    proto_free(doc);
}

static void test_key_id_is_sixteen_lower_case_hex_digits(void **state)
{
    (void)state;
    expect_edit_refused("key_id", "\"0123456789ABCDEF\"", PROTO_EPARSE);
    expect_edit_refused("key_id", "\"0123456789abcde\"", PROTO_EPARSE);
    expect_edit_refused("key_id", "\"0123456789abcdef0\"", PROTO_ELIMIT);
    expect_edit_refused("key_id", "\"0123456789abcdeg\"", PROTO_EPARSE);
    expect_edit_refused("key_id", "\"\"", PROTO_EPARSE);
}

static void test_base64_must_be_canonical_padded_and_nonempty(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "\"\"",         /* nothing */
        "\"aGk\"",      /* no padding */
        "\"aGl=\"",     /* spare bits set: "hi" is aGk= */
        "\"QR==\"",     /* spare bits set: "A" is QQ== */
        "\"aG k=\"",    /* whitespace */
        "\"aGk=\\n\"",  /* a line break */
        "\"aGk*\"",     /* outside the alphabet */
        "\"a=Gk\"",     /* padding inside */
        "\"aGk=aGk=\"", /* padding in the middle */
        "\"aGk_\"",     /* base64url */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect_edit_refused("payload", bad[i], PROTO_EPARSE);
        expect_edit_refused("sig", bad[i], PROTO_EPARSE);
    }
    /* Both paddings, canonical. */
    char *doc = test_doc();
    char *edited = wire_test_edit(doc, "payload", "\"QQ==\"");
    char *edited2 = wire_test_edit(edited, "sig", "\"QUI=\"");
    struct proto_envelope env;
    assert_int_equal(proto_wire_decode_envelope(edited2, strlen(edited2), &env, NULL), PROTO_OK);
    assert_int_equal(env.payload_len, 1);
    assert_int_equal(env.payload[0], 'A');
    assert_int_equal(env.sig_len, 2);
    assert_memory_equal(env.sig, "AB", 2);
    proto_wire_envelope_clear(&env);
    proto_free(edited2);
    proto_free(edited);
    proto_free(doc);
}

static void test_payload_and_signature_sizes_are_capped(void **state)
{
    (void)state;
    unsigned char *payload = testutil_xalloc(PROTO_MAX_PROFILE_BYTES + 1);
    memset(payload, 'p', PROTO_MAX_PROFILE_BYTES + 1);
    unsigned char sig[PROTO_MAX_SIG_BYTES + 1];
    memset(sig, 0x5a, sizeof(sig));

    /* At the caps: the largest envelope fits its own cap and decodes. */
    char *text = encode(payload, PROTO_MAX_PROFILE_BYTES, TEST_KEY_ID, sig, PROTO_MAX_SIG_BYTES);
    assert_true(strlen(text) <= PROTO_MAX_ENVELOPE_BYTES);
    struct proto_envelope env;
    assert_int_equal(proto_wire_decode_envelope(text, strlen(text), &env, NULL), PROTO_OK);
    assert_int_equal(env.payload_len, PROTO_MAX_PROFILE_BYTES);
    assert_int_equal(env.sig_len, PROTO_MAX_SIG_BYTES);
    proto_wire_envelope_clear(&env);

    /* One byte over, each: 65537 bytes are 87384 characters, as many as 65536, so the decoded
     * size says it; 73 signature bytes take 100 characters, more than the text cap. */
    char raw_payload[4 * ((PROTO_MAX_PROFILE_BYTES + 1 + 2) / 3) + 3];
    memset(raw_payload, 'A', sizeof(raw_payload) - 1);
    raw_payload[0] = '"';
    memcpy(raw_payload + sizeof(raw_payload) - 5, "AA=\"", 5);
    char *edited = wire_test_edit(text, "payload", raw_payload);
    expect_refused(edited, PROTO_ELIMIT, "payload");
    proto_free(edited);
    char raw_sig[4 * ((PROTO_MAX_SIG_BYTES + 1 + 2) / 3) + 3];
    memset(raw_sig, 'A', sizeof(raw_sig) - 1);
    raw_sig[0] = '"';
    memcpy(raw_sig + sizeof(raw_sig) - 5, "AA=\"", 5);
    edited = wire_test_edit(text, "sig", raw_sig);
    expect_refused(edited, PROTO_ELIMIT, "sig");
    proto_free(edited);

    /* The encoder refuses what the decoder would. */
    char *out = (char *)"unchanged";
    size_t len = 3;
    assert_int_equal(proto_wire_encode_envelope(payload, PROTO_MAX_PROFILE_BYTES + 1, TEST_KEY_ID,
                                                sig, 8, &out, &len),
                     PROTO_EINVAL);
    assert_null(out);
    assert_int_equal(len, 0);
    assert_int_equal(proto_wire_encode_envelope(payload, 0, TEST_KEY_ID, sig, 8, &out, &len),
                     PROTO_EINVAL);
    assert_int_equal(proto_wire_encode_envelope(payload, 1, TEST_KEY_ID, sig,
                                                PROTO_MAX_SIG_BYTES + 1, &out, &len),
                     PROTO_EINVAL);
    assert_int_equal(proto_wire_encode_envelope(payload, 1, TEST_KEY_ID, sig, 0, &out, &len),
                     PROTO_EINVAL);
    assert_int_equal(proto_wire_encode_envelope(payload, 1, "0123456789ABCDEF", sig, 8, &out, &len),
                     PROTO_EINVAL);
    assert_int_equal(proto_wire_encode_envelope(payload, 1, "0123", sig, 8, &out, &len),
                     PROTO_EINVAL);
    assert_int_equal(proto_wire_encode_envelope(NULL, 1, TEST_KEY_ID, sig, 8, &out, &len),
                     PROTO_EINVAL);
    assert_int_equal(proto_wire_encode_envelope(payload, 1, NULL, sig, 8, &out, &len),
                     PROTO_EINVAL);
    assert_int_equal(proto_wire_encode_envelope(payload, 1, TEST_KEY_ID, NULL, 8, &out, &len),
                     PROTO_EINVAL);
    assert_int_equal(proto_wire_encode_envelope(payload, 1, TEST_KEY_ID, sig, 8, NULL, &len),
                     PROTO_EINVAL);

    /* A document over the envelope cap is refused before parsing. */
    char *big = malloc(PROTO_MAX_ENVELOPE_BYTES + 2);
    assert_non_null(big);
    memset(big, ' ', PROTO_MAX_ENVELOPE_BYTES + 1);
    memcpy(big, text, strlen(text));
    big[PROTO_MAX_ENVELOPE_BYTES + 1] = '\0';
    proto_alloc_fail_after(1);
    expect_refused(big, PROTO_ELIMIT, "");
    proto_alloc_fail_after(0);
    free(big);
    proto_free(text);
    proto_free(payload);
}

static void test_every_allocation_failure_is_reported_without_leaks(void **state)
{
    (void)state;
    char *text = test_doc();
    unsigned long n;
    for (n = 1; n < 10000; n++) {
        struct proto_envelope env;
        struct proto_json_error err;
        proto_alloc_fail_after(n);
        enum proto_rc rc = proto_wire_decode_envelope(text, strlen(text), &env, &err);
        proto_alloc_fail_after(0);
        if (rc == PROTO_OK) {
            assert_memory_equal(env.payload, test_payload, sizeof(test_payload) - 1);
            proto_wire_envelope_clear(&env);
            break;
        }
        assert_int_equal(rc, PROTO_ENOMEM);
        assert_null(env.payload);
        assert_string_equal(err.message, "out of memory");
    }
    assert_true(n > 1 && n < 10000);
    for (n = 1; n < 10000; n++) {
        char *out = NULL;
        proto_alloc_fail_after(n);
        enum proto_rc rc =
            proto_wire_encode_envelope(test_payload, sizeof(test_payload) - 1, TEST_KEY_ID,
                                       test_sig, sizeof(test_sig), &out, NULL);
        proto_alloc_fail_after(0);
        if (rc == PROTO_OK) {
            assert_string_equal(out, text);
            proto_free(out);
            break;
        }
        assert_int_equal(rc, PROTO_ENOMEM);
        assert_null(out);
    }
    assert_true(n > 1 && n < 10000);
    proto_free(text);
}

static void test_schema_repeats_the_caps_of_caps_h(void **state)
{
    (void)state;
    const struct wire_test_cap caps[] = {
        {"properties/payload/maxLength", 4.0 * ((PROTO_MAX_PROFILE_BYTES + 2u) / 3u)},
        {"properties/sig/maxLength", 4.0 * ((PROTO_MAX_SIG_BYTES + 2u) / 3u)},
        {"properties/payload/minLength", 4},
        {"properties/sig/minLength", 4},
    };
    wire_test_schema_caps("envelope.schema.json", caps, sizeof(caps) / sizeof(caps[0]));
}

static void refuse_file(const char *name, const char *text, size_t len)
{
    struct proto_envelope env;
    struct proto_json_error err;
    if (proto_wire_decode_envelope(text, len, &env, &err) == PROTO_OK) {
        proto_wire_envelope_clear(&env);
        fail_msg("envelope/%s decodes, but the schema refuses it", name);
    }
}

static void test_schema_counterexamples_are_refused_by_the_decoder(void **state)
{
    (void)state;
    assert_true(wire_test_each_counterexample("envelope", refuse_file) >= 5);
}

static void test_encoded_envelopes_are_written_for_the_schema_check(void **state)
{
    (void)state;
    char *text = test_doc();
    wire_test_write("envelope.json", text);
    proto_free(text);
    /* One of each padding, and none. */
    static const unsigned char one[] = {0xff};
    static const unsigned char three[] = {0xff, 0xfe, 0xfd};
    text = encode(one, 1, "ffffffffffffffff", three, 3);
    wire_test_write("envelope-pad2.json", text);
    proto_free(text);
    text = encode(three, 2, "0000000000000000", three, 3);
    wire_test_write("envelope-pad1.json", text);
    proto_free(text);
}

int main(void)
{
    const struct CMUnitTest write_only[] = {
        cmocka_unit_test(test_encoded_envelopes_are_written_for_the_schema_check),
    };
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_payload_and_signature_come_back_byte_for_byte),
        cmocka_unit_test(test_encoding_writes_the_four_members),
        cmocka_unit_test(test_each_missing_member_is_named),
        cmocka_unit_test(test_wrong_member_types_are_named),
        cmocka_unit_test(test_an_algorithm_other_than_es256_is_unsupported),
        cmocka_unit_test(test_unknown_or_repeated_members_are_refused),
        cmocka_unit_test(test_key_id_is_sixteen_lower_case_hex_digits),
        cmocka_unit_test(test_base64_must_be_canonical_padded_and_nonempty),
        cmocka_unit_test(test_payload_and_signature_sizes_are_capped),
        cmocka_unit_test(test_every_allocation_failure_is_reported_without_leaks),
        cmocka_unit_test(test_schema_repeats_the_caps_of_caps_h),
        cmocka_unit_test(test_schema_counterexamples_are_refused_by_the_decoder),
        cmocka_unit_test(test_encoded_envelopes_are_written_for_the_schema_check),
    };
    proto_alloc_install_cjson_hooks();
    if (getenv("RRAS_WRITE_WIRE") != NULL) {
        return cmocka_run_group_tests_name("wire_envelope_write", write_only, NULL, NULL);
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
