/*
 * test_sign: ES256 keys, signatures and the signed envelope (proto/sign.c).
 *
 * Keys are made at test time (proto_sign_key_generate, and OpenSSL for the interop and the keys
 * that must be refused); nothing private is committed. An envelope that is refused must come
 * back with the right refusal and no profile, and a payload is never parsed before its signature
 * holds. OpenSSL (/usr/bin/openssl, run with an argument vector, no shell) computes key_ids and
 * checks signatures both ways.
 */
#include "wire_test.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>

#include "../../fuzz/fuzz_envelope_open_key.h"
#include "caps.h"
#include "sign.h"
#include "wire_envelope.h"
#include "wire_profile.h"

#define OPENSSL "/usr/bin/openssl"

/* Three keys: A signs today, B is the next key, C is nobody's. */
struct test_key {
    char *private_pem;
    char *public_pem;
    char key_path[4200];
    char pub_path[4200];
    struct proto_sign_key *sign;
    struct proto_verify_key *verify;
};

static char test_dir[64];
static struct test_key key_a, key_b, key_c;
static char *profile_text; /* the corpus profile, re-encoded: the bytes a seal signs */

/* ---- helpers ------------------------------------------------------------------------------- */

static const char *tmp_path(const char *name)
{
    static char path[4200];
    int n = snprintf(path, sizeof(path), "%s/%s", test_dir, name);
    assert_true(n > 0 && (size_t)n < sizeof(path));
    return path;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Runs argv (argv[0] is the program's path) with stdout to `out` (or /dev/null); exit status. */
static int run(const char *const argv[], const char *out)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(out != NULL ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int null_fd = open("/dev/null", O_WRONLY);
        if (fd < 0 || null_fd < 0 || dup2(fd, 1) < 0 || dup2(null_fd, 2) < 0) {
            _exit(127);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void must_run(const char *const argv[], const char *out)
{
    int rc = run(argv, out);
    if (rc != 0) {
        fail_msg("%s %s %s: exit %d", argv[0], argv[1], argv[2] != NULL ? argv[2] : "", rc);
    }
}

/* The first 16 hex digits of SHA-256 of the DER of a public key PEM file, all by OpenSSL. */
static void openssl_key_id(const char *pub_pem_path, char out[PROTO_KEY_ID_LEN + 1])
{
    char der[4200], dgst[4200];
    snprintf(der, sizeof(der), "%s.der", pub_pem_path);
    snprintf(dgst, sizeof(dgst), "%s.sha256", pub_pem_path);
    const char *const to_der[] = {OPENSSL,    "pkey", "-pubin", "-in", pub_pem_path,
                                  "-outform", "DER",  "-out",   der,   NULL};
    must_run(to_der, NULL);
    const char *const hash[] = {OPENSSL, "dgst", "-sha256", "-r", der, NULL};
    must_run(hash, dgst);
    char *text = testutil_read(dgst, NULL);
    assert_true(strlen(text) > PROTO_KEY_ID_LEN);
    memcpy(out, text, PROTO_KEY_ID_LEN);
    out[PROTO_KEY_ID_LEN] = '\0';
    free(text);
}

static void key_make(struct test_key *k, const char *name)
{
    char err[256];
    assert_int_equal(proto_sign_key_generate(&k->private_pem, &k->public_pem), PROTO_OK);
    snprintf(k->key_path, sizeof(k->key_path), "%s/%s.key", test_dir, name);
    snprintf(k->pub_path, sizeof(k->pub_path), "%s/%s.pub", test_dir, name);
    write_file(k->key_path, k->private_pem, strlen(k->private_pem));
    write_file(k->pub_path, k->public_pem, strlen(k->public_pem));
    if (proto_sign_key_load(k->key_path, &k->sign, err, sizeof(err)) != PROTO_OK ||
        proto_verify_key_load(k->pub_path, &k->verify, err, sizeof(err)) != PROTO_OK) {
        fail_msg("%s: %s", name, err);
    }
}

static void key_drop(struct test_key *k)
{
    proto_sign_pem_free(k->private_pem);
    proto_free(k->public_pem);
    proto_sign_key_destroy(k->sign);
    proto_verify_key_destroy(k->verify);
    memset(k, 0, sizeof(*k));
}

static struct proto_profile *corpus_profile(void)
{
    char path[4096];
    size_t len = 0;
    struct proto_profile *p = NULL;
    struct proto_json_error err;
    snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/fuzz_wire_profile/profile.json",
             RRAS_SOURCE_DIR);
    char *text = testutil_read(path, &len);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r')) {
        len--;
    }
    if (proto_wire_decode_profile(text, len, &p, &err) != PROTO_OK) {
        fail_msg("%s: %s: %s", path, err.field, err.message);
    }
    free(text);
    return p;
}

static char *seal(const struct test_key *k)
{
    struct proto_profile *p = corpus_profile();
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(proto_envelope_seal(k->sign, p, &text, &len), PROTO_OK);
    assert_int_equal(strlen(text), len);
    proto_wire_profile_destroy(p);
    return text;
}

/* An envelope of raw payload bytes signed by `signer`, claiming `key_id`. */
static char *envelope_of(const struct test_key *signer, const char *key_id, const void *payload,
                         size_t len)
{
    unsigned char sig[PROTO_MAX_SIG_BYTES];
    size_t sig_len = 0;
    char *text = NULL;
    assert_int_equal(proto_sign(signer->sign, payload, len, sig, &sig_len), PROTO_OK);
    assert_int_equal(proto_wire_encode_envelope(payload, len, key_id, sig, sig_len, &text, NULL),
                     PROTO_OK);
    return text;
}

static void key_id_of(const struct test_key *k, char out[PROTO_KEY_ID_LEN + 1])
{
    proto_verify_key_id(k->verify, out);
}

static void expect_refused_by(const struct proto_verify_key *const *trusted, size_t n,
                              const char *text, size_t len, enum proto_open_refusal refusal,
                              enum proto_rc rc, const char *err_prefix)
{
    struct proto_profile *out = (struct proto_profile *)&out; /* not NULL: must be cleared */
    enum proto_open_refusal why = PROTO_OPEN_OK;
    char err[512];
    enum proto_rc got = proto_envelope_open(trusted, n, text, len, &out, &why, err, sizeof(err));
    if (got != rc || why != refusal) {
        fail_msg("got %s (%s), expected %s (%s): %s", proto_rc_str(got),
                 proto_open_refusal_str(why), proto_rc_str(rc), proto_open_refusal_str(refusal),
                 err);
    }
    assert_null(out);
    if (strncmp(err, err_prefix, strlen(err_prefix)) != 0) {
        fail_msg("reason \"%s\" does not start with \"%s\"", err, err_prefix);
    }
}

static void expect_refused(const char *text, enum proto_open_refusal refusal, enum proto_rc rc,
                           const char *err_prefix)
{
    const struct proto_verify_key *trusted[] = {key_a.verify, key_b.verify};
    expect_refused_by(trusted, 2, text, strlen(text), refusal, rc, err_prefix);
}

static struct proto_profile *open_ok(const struct proto_verify_key *const *trusted, size_t n,
                                     const char *text)
{
    struct proto_profile *out = NULL;
    enum proto_open_refusal why = PROTO_OPEN_ERROR;
    char err[512] = "x";
    enum proto_rc rc =
        proto_envelope_open(trusted, n, text, strlen(text), &out, &why, err, sizeof(err));
    if (rc != PROTO_OK) {
        fail_msg("open: %s (%s): %s", proto_rc_str(rc), proto_open_refusal_str(why), err);
    }
    assert_int_equal(why, PROTO_OPEN_OK);
    assert_string_equal(err, "");
    assert_non_null(out);
    return out;
}

static void assert_is_corpus_profile(const struct proto_profile *p)
{
    char *text = NULL;
    assert_int_equal(proto_wire_encode_profile(p, &text, NULL), PROTO_OK);
    assert_string_equal(text, profile_text);
    proto_free(text);
}

/* The envelope's payload and signature, decoded; clear with proto_wire_envelope_clear. */
static void decode_envelope(const char *text, struct proto_envelope *env)
{
    struct proto_json_error err;
    if (proto_wire_decode_envelope(text, strlen(text), env, &err) != PROTO_OK) {
        fail_msg("%s: %s", err.field, err.message);
    }
}

/* ---- setup --------------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    snprintf(test_dir, sizeof(test_dir), "/tmp/rras-test-sign.XXXXXX");
    if (mkdtemp(test_dir) == NULL) {
        return -1;
    }
    key_make(&key_a, "a");
    key_make(&key_b, "b");
    key_make(&key_c, "c");
    struct proto_profile *p = corpus_profile();
    assert_int_equal(proto_wire_encode_profile(p, &profile_text, NULL), PROTO_OK);
    proto_wire_profile_destroy(p);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    key_drop(&key_a);
    key_drop(&key_b);
    key_drop(&key_c);
    proto_free(profile_text);
    testutil_remove_flat_dir(test_dir);
    return 0;
}

/* ---- tests: sealing and opening ------------------------------------------------------------ */

static void test_a_sealed_profile_opens_to_the_same_profile(void **state)
{
    (void)state;
    char *text = seal(&key_a);
    const struct proto_verify_key *trusted[] = {key_a.verify};
    struct proto_profile *p = open_ok(trusted, 1, text);
    assert_is_corpus_profile(p);
    assert_int_equal(p->serial, 42);
    assert_string_equal(p->target, "vpn.contoso.com");
    proto_wire_profile_destroy(p);

    /* The envelope carries the encoder's exact bytes and the signer's key_id. */
    struct proto_envelope env;
    char id[PROTO_KEY_ID_LEN + 1];
    decode_envelope(text, &env);
    assert_int_equal(env.payload_len, strlen(profile_text));
    assert_memory_equal(env.payload, profile_text, env.payload_len);
    proto_sign_key_id(key_a.sign, id);
    assert_string_equal(env.key_id, id);
    assert_int_equal(proto_verify(key_a.verify, env.payload, env.payload_len, env.sig, env.sig_len),
                     PROTO_OK);
    proto_wire_envelope_clear(&env);
    proto_free(text);
}

static void test_the_next_key_is_accepted_beside_the_current_one(void **state)
{
    (void)state;
    char *text = seal(&key_b);
    const struct proto_verify_key *trusted[] = {key_a.verify, key_b.verify};
    proto_wire_profile_destroy(open_ok(trusted, 2, text));
    /* Whatever the order of the slots. */
    const struct proto_verify_key *swapped[] = {key_b.verify, key_a.verify};
    proto_wire_profile_destroy(open_ok(swapped, 2, text));
    proto_free(text);
}

static void test_a_key_no_longer_trusted_is_refused_as_unknown(void **state)
{
    (void)state;
    char *text = seal(&key_a);
    char id[PROTO_KEY_ID_LEN + 1], prefix[64];
    key_id_of(&key_a, id);
    snprintf(prefix, sizeof(prefix), "key_id: %s is not a trusted key", id);
    /* A rolled over to B: only B is configured now. */
    const struct proto_verify_key *trusted[] = {key_b.verify};
    expect_refused_by(trusted, 1, text, strlen(text), PROTO_OPEN_UNKNOWN_KEY, PROTO_ENOTFOUND,
                      prefix);
    expect_refused_by(NULL, 0, text, strlen(text), PROTO_OPEN_UNKNOWN_KEY, PROTO_ENOTFOUND, prefix);
    proto_free(text);
}

static void test_a_signature_by_an_untrusted_key_is_refused_as_unknown(void **state)
{
    (void)state;
    char *text = seal(&key_c);
    expect_refused(text, PROTO_OPEN_UNKNOWN_KEY, PROTO_ENOTFOUND, "key_id: ");
    proto_free(text);
}

static void test_a_forged_envelope_claiming_the_trusted_key_id_is_a_bad_signature(void **state)
{
    (void)state;
    char id[PROTO_KEY_ID_LEN + 1];
    key_id_of(&key_a, id);
    char *forged = envelope_of(&key_c, id, profile_text, strlen(profile_text));
    expect_refused(forged, PROTO_OPEN_BAD_SIGNATURE, PROTO_ECRYPTO, "sig: does not verify");
    proto_free(forged);

    /* B's genuine signature relabelled as A's does not pass either. */
    char *relabelled = envelope_of(&key_b, id, profile_text, strlen(profile_text));
    expect_refused(relabelled, PROTO_OPEN_BAD_SIGNATURE, PROTO_ECRYPTO, "sig: ");
    proto_free(relabelled);
}

static void test_every_changed_payload_byte_is_a_bad_signature(void **state)
{
    (void)state;
    char *text = seal(&key_a);
    struct proto_envelope env;
    decode_envelope(text, &env);
    /* Every position, including ones that leave valid JSON ("serial":42 -> 43). */
    for (size_t i = 0; i < env.payload_len; i += 7) {
        char *edited = NULL;
        env.payload[i] ^= 0x01;
        assert_int_equal(proto_wire_encode_envelope(env.payload, env.payload_len, env.key_id,
                                                    env.sig, env.sig_len, &edited, NULL),
                         PROTO_OK);
        expect_refused(edited, PROTO_OPEN_BAD_SIGNATURE, PROTO_ECRYPTO, "sig: ");
        proto_free(edited);
        env.payload[i] ^= 0x01;
    }
    /* One more byte at the end, and one byte fewer. */
    char *edited = NULL;
    unsigned char *longer = testutil_xalloc(env.payload_len + 1);
    memcpy(longer, env.payload, env.payload_len);
    longer[env.payload_len] = ' ';
    assert_int_equal(proto_wire_encode_envelope(longer, env.payload_len + 1, env.key_id, env.sig,
                                                env.sig_len, &edited, NULL),
                     PROTO_OK);
    expect_refused(edited, PROTO_OPEN_BAD_SIGNATURE, PROTO_ECRYPTO, "sig: ");
    proto_free(edited);
    assert_int_equal(proto_wire_encode_envelope(env.payload, env.payload_len - 1, env.key_id,
                                                env.sig, env.sig_len, &edited, NULL),
                     PROTO_OK);
    expect_refused(edited, PROTO_OPEN_BAD_SIGNATURE, PROTO_ECRYPTO, "sig: ");
    proto_free(edited);
    proto_free(longer);
    proto_wire_envelope_clear(&env);
    proto_free(text);
}

static void test_a_payload_that_is_not_even_json_is_refused_for_its_signature_first(void **state)
{
    (void)state;
    static const char junk[] = "{{{{ not json, never parsed";
    char id[PROTO_KEY_ID_LEN + 1];
    key_id_of(&key_a, id);
    char *forged = envelope_of(&key_c, id, junk, sizeof(junk) - 1);
    expect_refused(forged, PROTO_OPEN_BAD_SIGNATURE, PROTO_ECRYPTO, "sig: ");
    proto_free(forged);
}

static void test_every_changed_signature_byte_is_a_bad_signature(void **state)
{
    (void)state;
    char *text = seal(&key_a);
    struct proto_envelope env;
    decode_envelope(text, &env);
    for (size_t i = 0; i < env.sig_len; i++) {
        for (unsigned bit = 0x01; bit <= 0x80; bit <<= 3) {
            char *edited = NULL;
            env.sig[i] ^= (unsigned char)bit;
            assert_int_equal(proto_wire_encode_envelope(env.payload, env.payload_len, env.key_id,
                                                        env.sig, env.sig_len, &edited, NULL),
                             PROTO_OK);
            expect_refused(edited, PROTO_OPEN_BAD_SIGNATURE, PROTO_ECRYPTO, "sig: ");
            proto_free(edited);
            env.sig[i] ^= (unsigned char)bit;
        }
    }
    /* A valid signature with a byte after it, and a truncated one. A DER signature is 72 bytes,
     * the cap, about one time in four; the nonce is deterministic (RFC 6979), so find a payload
     * whose signature leaves room for one more byte. */
    char id[PROTO_KEY_ID_LEN + 1];
    unsigned char sig[PROTO_MAX_SIG_BYTES];
    size_t sig_len = PROTO_MAX_SIG_BYTES;
    char data[32];
    key_id_of(&key_a, id);
    for (unsigned i = 0; i < 100 && sig_len >= PROTO_MAX_SIG_BYTES; i++) {
        snprintf(data, sizeof(data), "payload %u", i);
        assert_int_equal(proto_sign(key_a.sign, data, strlen(data), sig, &sig_len), PROTO_OK);
    }
    assert_true(sig_len < PROTO_MAX_SIG_BYTES);
    assert_int_equal(proto_verify(key_a.verify, data, strlen(data), sig, sig_len), PROTO_OK);
    char *edited = NULL;
    sig[sig_len] = 0;
    assert_int_equal(proto_wire_encode_envelope((const unsigned char *)data, strlen(data), id, sig,
                                                sig_len + 1, &edited, NULL),
                     PROTO_OK);
    expect_refused(edited, PROTO_OPEN_BAD_SIGNATURE, PROTO_ECRYPTO, "sig: ");
    proto_free(edited);
    assert_int_equal(proto_wire_encode_envelope((const unsigned char *)data, strlen(data), id, sig,
                                                sig_len - 1, &edited, NULL),
                     PROTO_OK);
    expect_refused(edited, PROTO_OPEN_BAD_SIGNATURE, PROTO_ECRYPTO, "sig: ");
    proto_free(edited);
    proto_wire_envelope_clear(&env);
    proto_free(text);
}

static void test_a_missing_or_empty_signature_is_malformed(void **state)
{
    (void)state;
    char *text = seal(&key_a);
    char *edited = wire_test_edit(text, "sig", NULL);
    expect_refused(edited, PROTO_OPEN_MALFORMED, PROTO_EMISSING, "envelope: sig: ");
    proto_free(edited);
    edited = wire_test_edit(text, "sig", "\"\"");
    expect_refused(edited, PROTO_OPEN_MALFORMED, PROTO_EPARSE, "envelope: sig: ");
    proto_free(edited);
    edited = wire_test_edit(text, "sig", "null");
    expect_refused(edited, PROTO_OPEN_MALFORMED, PROTO_ETYPE, "envelope: sig: ");
    proto_free(edited);
    proto_free(text);
}

static void test_an_algorithm_other_than_es256_is_malformed(void **state)
{
    (void)state;
    char *text = seal(&key_a);
    static const char *const algs[] = {"\"none\"", "\"ES384\"", "\"es256\"", "\"HS256\"",
                                       "\"RS256\""};
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        char *edited = wire_test_edit(text, "alg", algs[i]);
        expect_refused(edited, PROTO_OPEN_MALFORMED, PROTO_EUNSUPPORTED, "envelope: alg: ");
        proto_free(edited);
    }
    char *edited = wire_test_edit(text, "alg", NULL);
    expect_refused(edited, PROTO_OPEN_MALFORMED, PROTO_EMISSING, "envelope: alg: ");
    proto_free(edited);
    proto_free(text);
}

static void test_malformed_base64_is_malformed(void **state)
{
    (void)state;
    char *text = seal(&key_a);
    static const struct {
        const char *member;
        const char *raw;
    } cases[] = {
        {"payload", "\"@@@@\""}, {"payload", "\"e30\""},
        {"payload", "\"e31=\""}, {"sig", "\"MEUC!!==\""},
        {"sig", "\"QR==\""},     {"sig", "\"MEU\\nCIQ==\""},
        {"key_id", "\"XYZ\""},   {"key_id", "\"0123456789ABCDEF\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *edited = wire_test_edit(text, cases[i].member, cases[i].raw);
        char prefix[64];
        snprintf(prefix, sizeof(prefix), "envelope: %s: ", cases[i].member);
        expect_refused(edited, PROTO_OPEN_MALFORMED, PROTO_EPARSE, prefix);
        proto_free(edited);
    }
    expect_refused("{\"payload\":", PROTO_OPEN_MALFORMED, PROTO_EPARSE, "envelope: ");
    expect_refused("", PROTO_OPEN_MALFORMED, PROTO_EPARSE, "envelope: ");
    proto_free(text);
}

static void test_an_oversized_envelope_is_refused_before_anything_else(void **state)
{
    (void)state;
    char *text = seal(&key_a);
    size_t len = strlen(text);
    char *big = malloc(PROTO_MAX_ENVELOPE_BYTES + 2);
    assert_non_null(big);
    memcpy(big, text, len);
    memset(big + len, ' ', PROTO_MAX_ENVELOPE_BYTES + 1 - len);
    big[PROTO_MAX_ENVELOPE_BYTES + 1] = '\0';
    expect_refused(big, PROTO_OPEN_MALFORMED, PROTO_ELIMIT, "envelope: ");
    /* Exactly at the cap, trailing spaces and all, it still opens. */
    big[PROTO_MAX_ENVELOPE_BYTES] = '\0';
    const struct proto_verify_key *trusted[] = {key_a.verify};
    proto_wire_profile_destroy(open_ok(trusted, 1, big));
    free(big);
    proto_free(text);
}

static void test_a_signed_payload_that_is_no_profile_is_a_bad_payload(void **state)
{
    (void)state;
    char id[PROTO_KEY_ID_LEN + 1];
    key_id_of(&key_a, id);
    static const char not_json[] = "not a profile";
    char *text = envelope_of(&key_a, id, not_json, sizeof(not_json) - 1);
    expect_refused(text, PROTO_OPEN_BAD_PAYLOAD, PROTO_EPARSE, "payload: ");
    proto_free(text);

    char *edited = wire_test_edit(profile_text, "actions[0].type", "\"run_command\"");
    text = envelope_of(&key_a, id, edited, strlen(edited));
    expect_refused(text, PROTO_OPEN_BAD_PAYLOAD, PROTO_EUNSUPPORTED, "payload: actions[0].type: ");
    proto_free(text);
    proto_free(edited);
}

static void test_a_key_configured_in_both_slots_still_verifies(void **state)
{
    (void)state;
    char *text = seal(&key_a);
    const struct proto_verify_key *twice[] = {key_a.verify, key_a.verify};
    proto_wire_profile_destroy(open_ok(twice, 2, text));
    proto_free(text);
}

static void test_open_refuses_null_arguments(void **state)
{
    (void)state;
    struct proto_profile *out = NULL;
    enum proto_open_refusal why = PROTO_OPEN_OK;
    const struct proto_verify_key *trusted[] = {key_a.verify};
    assert_int_equal(proto_envelope_open(trusted, 1, NULL, 5, &out, &why, NULL, 0), PROTO_EINVAL);
    assert_int_equal(why, PROTO_OPEN_ERROR);
    assert_int_equal(proto_envelope_open(NULL, 1, "{}", 2, &out, &why, NULL, 0), PROTO_EINVAL);
    assert_int_equal(proto_envelope_open(trusted, 1, "{}", 2, NULL, &why, NULL, 0), PROTO_EINVAL);
    assert_int_equal(proto_envelope_open(trusted, 1, "{}", 2, &out, NULL, NULL, 0), PROTO_EINVAL);
    assert_null(out);
}

static void test_refusals_have_distinct_names(void **state)
{
    (void)state;
    const char *seen[PROTO_OPEN_ERROR + 1];
    for (int i = PROTO_OPEN_OK; i <= PROTO_OPEN_ERROR; i++) {
        seen[i] = proto_open_refusal_str((enum proto_open_refusal)i);
        assert_true(seen[i][0] != '\0');
        for (int j = 0; j < i; j++) {
            assert_string_not_equal(seen[i], seen[j]);
        }
    }
    assert_non_null(proto_open_refusal_str((enum proto_open_refusal)99));
}

/* ---- tests: keys --------------------------------------------------------------------------- */

static void test_generated_keys_are_p256_pem_and_distinct(void **state)
{
    (void)state;
    assert_non_null(strstr(key_a.private_pem, "-----BEGIN EC PRIVATE KEY-----"));
    assert_non_null(strstr(key_a.public_pem, "-----BEGIN PUBLIC KEY-----"));
    assert_null(strstr(key_a.public_pem, "PRIVATE"));
    char a[PROTO_KEY_ID_LEN + 1], b[PROTO_KEY_ID_LEN + 1], s[PROTO_KEY_ID_LEN + 1];
    key_id_of(&key_a, a);
    key_id_of(&key_b, b);
    proto_sign_key_id(key_a.sign, s);
    assert_string_equal(a, s);
    assert_string_not_equal(a, b);
    assert_int_equal(strlen(a), PROTO_KEY_ID_LEN);
    assert_int_equal(strspn(a, "0123456789abcdef"), PROTO_KEY_ID_LEN);

    /* The same key from PEM text has the same id. */
    struct proto_verify_key *from_text = NULL;
    char t[PROTO_KEY_ID_LEN + 1];
    assert_int_equal(
        proto_verify_key_from_pem(key_a.public_pem, strlen(key_a.public_pem), &from_text, NULL, 0),
        PROTO_OK);
    proto_verify_key_id(from_text, t);
    assert_string_equal(a, t);
    proto_verify_key_destroy(from_text);
}

static void test_key_id_is_what_openssl_computes_from_the_public_der(void **state)
{
    (void)state;
    char ours[PROTO_KEY_ID_LEN + 1], theirs[PROTO_KEY_ID_LEN + 1];
    key_id_of(&key_a, ours);
    openssl_key_id(key_a.pub_path, theirs);
    assert_string_equal(ours, theirs);
    key_id_of(&key_b, ours);
    openssl_key_id(key_b.pub_path, theirs);
    assert_string_equal(ours, theirs);
}

static void test_an_openssl_pkcs8_key_loads_and_signs_under_its_key_id(void **state)
{
    (void)state;
    const char *key = tmp_path("ossl.key");
    char key_path[4200], pub_path[4200], err[256];
    snprintf(key_path, sizeof(key_path), "%s", key);
    snprintf(pub_path, sizeof(pub_path), "%s", tmp_path("ossl.pub"));
    const char *const gen[] = {OPENSSL, "genpkey",  "-algorithm",
                               "EC",    "-pkeyopt", "ec_paramgen_curve:P-256",
                               "-out",  key_path,   NULL};
    must_run(gen, NULL);
    const char *const pub[] = {OPENSSL, "pkey", "-in", key_path, "-pubout", "-out", pub_path, NULL};
    must_run(pub, NULL);
    char *pem = testutil_read(key_path, NULL);
    assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----")); /* PKCS#8 */
    free(pem);

    struct proto_sign_key *sk = NULL;
    struct proto_verify_key *vk = NULL;
    if (proto_sign_key_load(key_path, &sk, err, sizeof(err)) != PROTO_OK ||
        proto_verify_key_load(pub_path, &vk, err, sizeof(err)) != PROTO_OK) {
        fail_msg("%s", err);
    }
    char a[PROTO_KEY_ID_LEN + 1], b[PROTO_KEY_ID_LEN + 1], o[PROTO_KEY_ID_LEN + 1];
    proto_sign_key_id(sk, a);
    proto_verify_key_id(vk, b);
    openssl_key_id(pub_path, o);
    assert_string_equal(a, b);
    assert_string_equal(a, o);

    unsigned char sig[PROTO_MAX_SIG_BYTES];
    size_t sig_len = 0;
    assert_int_equal(proto_sign(sk, "x", 1, sig, &sig_len), PROTO_OK);
    assert_int_equal(proto_verify(vk, "x", 1, sig, sig_len), PROTO_OK);
    proto_sign_key_destroy(sk);
    proto_verify_key_destroy(vk);
}

static void test_our_signature_verifies_with_openssl_and_theirs_with_us(void **state)
{
    (void)state;
    char data_path[4200], sig_path[4200], osig_path[4200];
    snprintf(data_path, sizeof(data_path), "%s", tmp_path("data.bin"));
    snprintf(sig_path, sizeof(sig_path), "%s", tmp_path("data.sig"));
    snprintf(osig_path, sizeof(osig_path), "%s", tmp_path("data.osig"));
    unsigned char sig[PROTO_MAX_SIG_BYTES];
    size_t sig_len = 0;
    assert_int_equal(proto_sign(key_a.sign, profile_text, strlen(profile_text), sig, &sig_len),
                     PROTO_OK);
    assert_true(sig_len >= 8 && sig_len <= PROTO_MAX_SIG_BYTES);
    assert_int_equal(sig[0], 0x30); /* DER SEQUENCE */
    write_file(data_path, profile_text, strlen(profile_text));
    write_file(sig_path, sig, sig_len);
    const char *const verify[] = {OPENSSL,      "dgst",   "-sha256", "-verify", key_a.pub_path,
                                  "-signature", sig_path, data_path, NULL};
    must_run(verify, NULL);
    /* ... and OpenSSL says no to B's key. */
    const char *const wrong[] = {OPENSSL,      "dgst",   "-sha256", "-verify", key_b.pub_path,
                                 "-signature", sig_path, data_path, NULL};
    assert_int_not_equal(run(wrong, NULL), 0);

    /* OpenSSL signs with our key file; we verify. */
    const char *const sign[] = {OPENSSL, "dgst",    "-sha256", "-sign", key_a.key_path,
                                "-out",  osig_path, data_path, NULL};
    must_run(sign, NULL);
    size_t olen = 0;
    char *osig = testutil_read(osig_path, &olen);
    assert_int_equal(proto_verify(key_a.verify, profile_text, strlen(profile_text),
                                  (const unsigned char *)osig, olen),
                     PROTO_OK);
    assert_int_equal(proto_verify(key_b.verify, profile_text, strlen(profile_text),
                                  (const unsigned char *)osig, olen),
                     PROTO_ECRYPTO);
    free(osig);
}

static void test_empty_data_signs_and_other_data_does_not_verify(void **state)
{
    (void)state;
    unsigned char s1[PROTO_MAX_SIG_BYTES], s2[PROTO_MAX_SIG_BYTES];
    size_t l1 = 0, l2 = 0;
    assert_int_equal(proto_sign(key_a.sign, "", 0, s1, &l1), PROTO_OK);
    assert_int_equal(proto_sign(key_a.sign, NULL, 0, s2, &l2), PROTO_OK);
    assert_int_equal(proto_verify(key_a.verify, NULL, 0, s1, l1), PROTO_OK);
    /* mbedTLS derives the nonce from key and hash (RFC 6979): no weak random number can leak
     * the key, and the same data gives the same signature. */
    assert_int_equal(l1, l2);
    assert_memory_equal(s1, s2, l1);
    assert_int_equal(proto_verify(key_a.verify, "", 0, s2, l2), PROTO_OK);
    assert_int_equal(proto_verify(key_a.verify, "", 0, s1, 0), PROTO_ECRYPTO);
    assert_int_equal(proto_verify(key_a.verify, "x", 1, s1, l1), PROTO_ECRYPTO);
    assert_int_equal(proto_sign(NULL, "", 0, s1, &l1), PROTO_EINVAL);
    assert_int_equal(proto_sign(key_a.sign, NULL, 1, s1, &l1), PROTO_EINVAL);
    assert_int_equal(proto_verify(NULL, "", 0, s1, l1), PROTO_EINVAL);
}

static void expect_sign_load_refused(const char *path, enum proto_rc rc, const char *needle)
{
    struct proto_sign_key *k = (struct proto_sign_key *)&k;
    char err[512] = "";
    enum proto_rc got = proto_sign_key_load(path, &k, err, sizeof(err));
    if (got != rc || strstr(err, needle) == NULL || strstr(err, path) == NULL) {
        fail_msg("%s: got %s \"%s\", expected %s with \"%s\"", path, proto_rc_str(got), err,
                 proto_rc_str(rc), needle);
    }
    assert_null(k);
}

static void expect_verify_load_refused(const char *path, enum proto_rc rc, const char *needle)
{
    struct proto_verify_key *k = (struct proto_verify_key *)&k;
    char err[512] = "";
    enum proto_rc got = proto_verify_key_load(path, &k, err, sizeof(err));
    if (got != rc || strstr(err, needle) == NULL || strstr(err, path) == NULL) {
        fail_msg("%s: got %s \"%s\", expected %s with \"%s\"", path, proto_rc_str(got), err,
                 proto_rc_str(rc), needle);
    }
    assert_null(k);
}

static void test_rsa_keys_and_other_curves_are_refused_with_a_reason(void **state)
{
    (void)state;
    char rsa[4200], rsa_pub[4200], p384[4200], p384_pub[4200], enc[4200];
    snprintf(rsa, sizeof(rsa), "%s", tmp_path("rsa.key"));
    snprintf(rsa_pub, sizeof(rsa_pub), "%s", tmp_path("rsa.pub"));
    snprintf(p384, sizeof(p384), "%s", tmp_path("p384.key"));
    snprintf(p384_pub, sizeof(p384_pub), "%s", tmp_path("p384.pub"));
    snprintf(enc, sizeof(enc), "%s", tmp_path("enc.key"));
    const char *const gen_rsa[] = {OPENSSL, "genpkey",  "-algorithm",
                                   "RSA",   "-pkeyopt", "rsa_keygen_bits:1024",
                                   "-out",  rsa,        NULL};
    must_run(gen_rsa, NULL);
    const char *const pub_rsa[] = {OPENSSL, "pkey", "-in", rsa, "-pubout", "-out", rsa_pub, NULL};
    must_run(pub_rsa, NULL);
    const char *const gen_384[] = {OPENSSL, "genpkey",  "-algorithm",
                                   "EC",    "-pkeyopt", "ec_paramgen_curve:P-384",
                                   "-out",  p384,       NULL};
    must_run(gen_384, NULL);
    const char *const pub_384[] = {OPENSSL, "pkey", "-in", p384, "-pubout", "-out", p384_pub, NULL};
    must_run(pub_384, NULL);
    const char *const gen_enc[] = {OPENSSL,   "pkey",     "-in",         key_a.key_path,
                                   "-aes256", "-passout", "pass:secret", "-out",
                                   enc,       NULL};
    must_run(gen_enc, NULL);

    expect_sign_load_refused(rsa, PROTO_EPARSE, "type RSA; only ECDSA P-256");
    expect_verify_load_refused(rsa_pub, PROTO_EPARSE, "type RSA; only ECDSA P-256");
    expect_sign_load_refused(p384, PROTO_EPARSE, "curve secp384r1; only P-256");
    expect_verify_load_refused(p384_pub, PROTO_EPARSE, "curve secp384r1; only P-256");
    expect_sign_load_refused(enc, PROTO_EPARSE, "encrypted");
    /* A public key is no private key, and the other way round. */
    expect_sign_load_refused(key_a.pub_path, PROTO_EPARSE, "not a private key");
    expect_verify_load_refused(key_a.key_path, PROTO_EPARSE, "not a public key");
}

static void test_missing_oversized_and_non_pem_key_files_are_refused(void **state)
{
    (void)state;
    char path[4200];
    snprintf(path, sizeof(path), "%s", tmp_path("absent.key"));
    expect_sign_load_refused(path, PROTO_ENOTFOUND, "No such file");
    expect_verify_load_refused(path, PROTO_ENOTFOUND, "No such file");

    /* Exactly the cap is read (and then not a key); one byte more is refused unread. */
    char *big = malloc(PROTO_MAX_KEY_PEM_BYTES + 1);
    assert_non_null(big);
    memset(big, 'A', PROTO_MAX_KEY_PEM_BYTES + 1);
    snprintf(path, sizeof(path), "%s", tmp_path("big.key"));
    write_file(path, big, PROTO_MAX_KEY_PEM_BYTES + 1);
    expect_sign_load_refused(path, PROTO_ELIMIT, "larger than 16384 bytes");
    expect_verify_load_refused(path, PROTO_ELIMIT, "larger than 16384 bytes");
    write_file(path, big, PROTO_MAX_KEY_PEM_BYTES);
    expect_sign_load_refused(path, PROTO_EPARSE, "not PEM");
    struct proto_verify_key *k = NULL;
    assert_int_equal(proto_verify_key_from_pem(big, PROTO_MAX_KEY_PEM_BYTES + 1, &k, NULL, 0),
                     PROTO_ELIMIT);
    free(big);

    snprintf(path, sizeof(path), "%s", tmp_path("garbage.key"));
    static const char garbage[] = "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n";
    write_file(path, garbage, sizeof(garbage) - 1);
    expect_verify_load_refused(path, PROTO_EPARSE, "not a public key in PEM");
    char err[256];
    assert_int_equal(proto_verify_key_from_pem("", 0, &k, err, sizeof(err)), PROTO_EPARSE);
    assert_string_equal(err, "<pem>: not PEM text (no \"-----BEGIN\" line)");
    assert_null(k);
    /* Text that is not NUL-terminated is fine: only len bytes are read. */
    char *copy = malloc(strlen(key_a.public_pem) + 1);
    assert_non_null(copy);
    memcpy(copy, key_a.public_pem, strlen(key_a.public_pem));
    copy[strlen(key_a.public_pem)] = 'X';
    assert_int_equal(proto_verify_key_from_pem(copy, strlen(key_a.public_pem), &k, NULL, 0),
                     PROTO_OK);
    proto_verify_key_destroy(k);
    free(copy);
    proto_sign_key_destroy(NULL);
    proto_verify_key_destroy(NULL);
    proto_sign_pem_free(NULL);
}

/* A SEC1 key whose embedded public point belongs to another key: built with mbedTLS directly. */
static void test_a_private_key_with_a_foreign_public_half_is_refused(void **state)
{
    (void)state;
    mbedtls_pk_context a, b;
    unsigned char pem[1024];
    mbedtls_pk_init(&a);
    mbedtls_pk_init(&b);
    assert_int_equal(mbedtls_pk_parse_key(&a, (const unsigned char *)key_a.private_pem,
                                          strlen(key_a.private_pem) + 1, NULL, 0),
                     0);
    assert_int_equal(mbedtls_pk_parse_key(&b, (const unsigned char *)key_b.private_pem,
                                          strlen(key_b.private_pem) + 1, NULL, 0),
                     0);
    assert_int_equal(mbedtls_ecp_copy(&mbedtls_pk_ec(a)->Q, &mbedtls_pk_ec(b)->Q), 0);
    assert_int_equal(mbedtls_pk_write_key_pem(&a, pem, sizeof(pem)), 0);
    mbedtls_pk_free(&a);
    mbedtls_pk_free(&b);
    char path[4200];
    snprintf(path, sizeof(path), "%s", tmp_path("mismatch.key"));
    write_file(path, pem, strlen((const char *)pem));
    expect_sign_load_refused(path, PROTO_EPARSE, "public half does not match");
}

/* The fuzz target's seeds still reach the paths their names promise (a seed that no longer
 * verifies would leave the fuzzer stuck at the signature). */
static void test_the_fuzz_seeds_open_as_their_names_say(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        enum proto_open_refusal why;
    } seeds[] = {
        {"envelope-full.json", PROTO_OPEN_OK},
        {"envelope-minimal.json", PROTO_OPEN_OK},
        {"signed-not-a-profile.json", PROTO_OPEN_BAD_PAYLOAD},
        {"forged-trusted-key-id.json", PROTO_OPEN_BAD_SIGNATURE},
    };
    struct proto_verify_key *key = NULL;
    assert_int_equal(proto_verify_key_from_pem(fuzz_envelope_open_key_pem,
                                               sizeof(fuzz_envelope_open_key_pem) - 1, &key, NULL,
                                               0),
                     PROTO_OK);
    const struct proto_verify_key *trusted[] = {key};
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
        char path[4096], err[512];
        size_t len = 0;
        struct proto_profile *out = NULL;
        enum proto_open_refusal why = PROTO_OPEN_ERROR;
        snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/fuzz_envelope_open/%s", RRAS_SOURCE_DIR,
                 seeds[i].name);
        char *text = testutil_read(path, &len);
        proto_envelope_open(trusted, 1, text, len, &out, &why, err, sizeof(err));
        if (why != seeds[i].why) {
            fail_msg("%s: %s: %s", seeds[i].name, proto_open_refusal_str(why), err);
        }
        proto_wire_profile_destroy(out);
        free(text);
    }
    proto_verify_key_destroy(key);
}

/* ---- tests: out of memory ------------------------------------------------------------------ */

static void test_every_allocation_failure_in_open_is_reported_without_leaks(void **state)
{
    (void)state;
    char *text = seal(&key_a);
    const struct proto_verify_key *trusted[] = {key_b.verify, key_a.verify};
    unsigned long n;
    for (n = 1; n < 100000; n++) {
        struct proto_profile *out = NULL;
        enum proto_open_refusal why = PROTO_OPEN_OK;
        char err[512];
        proto_alloc_fail_after(n);
        enum proto_rc rc =
            proto_envelope_open(trusted, 2, text, strlen(text), &out, &why, err, sizeof(err));
        proto_alloc_fail_after(0);
        if (rc == PROTO_OK) {
            assert_is_corpus_profile(out);
            proto_wire_profile_destroy(out);
            break;
        }
        if (rc != PROTO_ENOMEM || why != PROTO_OPEN_ERROR) {
            fail_msg("allocation %lu: %s (%s): %s", n, proto_rc_str(rc),
                     proto_open_refusal_str(why), err);
        }
        assert_null(out);
    }
    assert_true(n > 2 && n < 100000);
    proto_free(text);
}

static void test_every_allocation_failure_in_seal_and_load_is_reported(void **state)
{
    (void)state;
    struct proto_profile *p = corpus_profile();
    unsigned long n;
    for (n = 1; n < 100000; n++) {
        char *out = (char *)&out;
        proto_alloc_fail_after(n);
        enum proto_rc rc = proto_envelope_seal(key_a.sign, p, &out, NULL);
        proto_alloc_fail_after(0);
        if (rc == PROTO_OK) {
            proto_free(out);
            break;
        }
        assert_int_equal(rc, PROTO_ENOMEM);
        assert_null(out);
    }
    assert_true(n > 1 && n < 100000);
    proto_wire_profile_destroy(p);

    for (n = 1; n < 100; n++) {
        struct proto_sign_key *sk = NULL;
        proto_alloc_fail_after(n);
        enum proto_rc rc = proto_sign_key_load(key_a.key_path, &sk, NULL, 0);
        proto_alloc_fail_after(0);
        if (rc == PROTO_OK) {
            proto_sign_key_destroy(sk);
            break;
        }
        assert_int_equal(rc, PROTO_ENOMEM);
        assert_null(sk);
    }
    assert_true(n > 1 && n < 100);

    for (n = 1; n < 100; n++) {
        struct proto_verify_key *vk = NULL;
        proto_alloc_fail_after(n);
        enum proto_rc rc =
            proto_verify_key_from_pem(key_a.public_pem, strlen(key_a.public_pem), &vk, NULL, 0);
        proto_alloc_fail_after(0);
        if (rc == PROTO_OK) {
            proto_verify_key_destroy(vk);
            break;
        }
        assert_int_equal(rc, PROTO_ENOMEM);
        assert_null(vk);
    }
    assert_true(n > 1 && n < 100);

    for (n = 1; n < 100; n++) {
        char *prv = (char *)&prv, *pub = (char *)&pub;
        proto_alloc_fail_after(n);
        enum proto_rc rc = proto_sign_key_generate(&prv, &pub);
        proto_alloc_fail_after(0);
        if (rc == PROTO_OK) {
            proto_sign_pem_free(prv);
            proto_free(pub);
            break;
        }
        assert_int_equal(rc, PROTO_ENOMEM);
        assert_null(prv);
        assert_null(pub);
    }
    assert_true(n > 1 && n < 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_sealed_profile_opens_to_the_same_profile),
        cmocka_unit_test(test_the_next_key_is_accepted_beside_the_current_one),
        cmocka_unit_test(test_a_key_no_longer_trusted_is_refused_as_unknown),
        cmocka_unit_test(test_a_signature_by_an_untrusted_key_is_refused_as_unknown),
        cmocka_unit_test(test_a_forged_envelope_claiming_the_trusted_key_id_is_a_bad_signature),
        cmocka_unit_test(test_every_changed_payload_byte_is_a_bad_signature),
        cmocka_unit_test(test_a_payload_that_is_not_even_json_is_refused_for_its_signature_first),
        cmocka_unit_test(test_every_changed_signature_byte_is_a_bad_signature),
        cmocka_unit_test(test_a_missing_or_empty_signature_is_malformed),
        cmocka_unit_test(test_an_algorithm_other_than_es256_is_malformed),
        cmocka_unit_test(test_malformed_base64_is_malformed),
        cmocka_unit_test(test_an_oversized_envelope_is_refused_before_anything_else),
        cmocka_unit_test(test_a_signed_payload_that_is_no_profile_is_a_bad_payload),
        cmocka_unit_test(test_a_key_configured_in_both_slots_still_verifies),
        cmocka_unit_test(test_open_refuses_null_arguments),
        cmocka_unit_test(test_refusals_have_distinct_names),
        cmocka_unit_test(test_generated_keys_are_p256_pem_and_distinct),
        cmocka_unit_test(test_key_id_is_what_openssl_computes_from_the_public_der),
        cmocka_unit_test(test_an_openssl_pkcs8_key_loads_and_signs_under_its_key_id),
        cmocka_unit_test(test_our_signature_verifies_with_openssl_and_theirs_with_us),
        cmocka_unit_test(test_empty_data_signs_and_other_data_does_not_verify),
        cmocka_unit_test(test_rsa_keys_and_other_curves_are_refused_with_a_reason),
        cmocka_unit_test(test_missing_oversized_and_non_pem_key_files_are_refused),
        cmocka_unit_test(test_a_private_key_with_a_foreign_public_half_is_refused),
        cmocka_unit_test(test_the_fuzz_seeds_open_as_their_names_say),
        cmocka_unit_test(test_every_allocation_failure_in_open_is_reported_without_leaks),
        cmocka_unit_test(test_every_allocation_failure_in_seal_and_load_is_reported),
    };
    proto_alloc_install_cjson_hooks();
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
