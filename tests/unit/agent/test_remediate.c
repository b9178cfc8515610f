/*
 * test_remediate: signed profiles applied to the simulated host (agent/remediate): every
 * refusal leaves the bundle byte-identical and says why; a failure injected at any step rolls
 * the earlier ones back byte for byte; a crash after any step is undone from the journal at the
 * next start; a dry run changes nothing and reports the what-if; an apply clears the L2TP
 * findings exactly as the what-if predicted. Keys are generated at test time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "apply.h"
#include "bundle.h"
#include "diagnose.h"
#include "dn.h"
#include "fix.h"
#include "sign.h"
#include "state.h"
#include "system.h"
#include "testutil.h"
#include "verify.h"
#include "whatif.h"
#include "wire_envelope.h"
#include "wire_profile.h"
#include "wire_result.h"

#define CORP_CA "DC=com, DC=contoso, DC=corp, CN=corp-DC1-CA"
#define NOW 1795564800 /* 2026-11-25T00:00:00Z, the fixtures' policy time */
#define HOUR 3600

struct keys {
    char root[256];
    struct proto_sign_key *sign[2];     /* the key and the next key */
    struct proto_verify_key *verify[2]; /* their public halves */
};

static struct keys K;

/* ---- files ---------------------------------------------------------------------------------- */

/* Every file of `a` is in `b` with the same bytes, and b has no other file. */
static void assert_same_tree(const char *a, const char *b)
{
    DIR *d = opendir(a);
    assert_non_null(d);
    size_t count_a = 0, count_b = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char pa[1024], pb[1024];
        struct stat st;
        if (e->d_name[0] == '.') {
            continue;
        }
        count_a++;
        snprintf(pa, sizeof(pa), "%s/%s", a, e->d_name);
        snprintf(pb, sizeof(pb), "%s/%s", b, e->d_name);
        assert_int_equal(stat(pa, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            assert_same_tree(pa, pb);
            continue;
        }
        size_t la = 0, lb = 0;
        char *da = testutil_read(pa, &la);
        char *db = testutil_read(pb, &lb);
        if (la != lb || memcmp(da, db, la) != 0) {
            fail_msg("%s differs from %s", pb, pa);
        }
        free(da);
        free(db);
    }
    closedir(d);
    d = opendir(b);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        count_b += e->d_name[0] != '.';
    }
    closedir(d);
    assert_int_equal(count_a, count_b);
}

/* A scratch copy of a fixture bundle plus a state folder. */
struct scratch {
    char dir[256];
    char bundle[300];
    char state[300];
    const char *fixture;
};

static void scratch_make(struct scratch *s, const char *fixture)
{
    snprintf(s->dir, sizeof(s->dir), "/tmp/rras-remediate-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    snprintf(s->bundle, sizeof(s->bundle), "%s/bundle", s->dir);
    snprintf(s->state, sizeof(s->state), "%s/state", s->dir);
    s->fixture = testutil_fixture(fixture);
    char from[1024];
    snprintf(from, sizeof(from), "%s", s->fixture);
    s->fixture = NULL;
    testutil_copy_tree(from, s->bundle);
}

static void scratch_assert_unchanged(const struct scratch *s, const char *fixture)
{
    char from[1024];
    snprintf(from, sizeof(from), "%s", testutil_fixture(fixture));
    assert_same_tree(from, s->bundle);
}

static void scratch_free(struct scratch *s)
{
    testutil_remove_tree(s->dir);
}

/* ---- profiles ------------------------------------------------------------------------------- */

static void policy_make(struct proto_policy *p)
{
    memset(p, 0, sizeof(*p));
    assert_int_equal(proto_dn_parse(CORP_CA, &p->expected_ca), PROTO_OK);
    p->has_expected_ca = true;
    p->now = NOW;
    p->expiry_days = 30;
}

/* The fix for the bundle at `dir` (the fixture policy at NOW). */
static struct proto_profile *profile_for(const char *dir, uint64_t serial,
                                         enum proto_profile_mode mode)
{
    return testutil_fix_profile(dir, mode, "0b6c1f2e-8a55-4f7e-9d38-1c2a3b4c5d6e", serial, NOW);
}

static char *seal(int key, const struct proto_profile *profile, size_t *len)
{
    char *out = NULL;
    assert_int_equal(proto_envelope_seal(K.sign[key], profile, &out, len), PROTO_OK);
    return out;
}

/* An envelope around payload bytes signed by `signer`, naming `named`'s key_id. */
static char *envelope_raw(const char *payload, size_t payload_len, int signer, int named,
                          size_t *len)
{
    unsigned char sig[PROTO_MAX_SIG_BYTES];
    size_t sig_len = 0;
    char key_id[PROTO_KEY_ID_LEN + 1];
    char *out = NULL;
    assert_int_equal(proto_sign(K.sign[signer], payload, payload_len, sig, &sig_len), PROTO_OK);
    proto_sign_key_id(K.sign[named], key_id);
    assert_int_equal(proto_wire_encode_envelope((const unsigned char *)payload, payload_len, key_id,
                                                sig, sig_len, &out, len),
                     PROTO_OK);
    return out;
}

/* The profile's payload JSON with `from` replaced by `to` (first occurrence). */
static char *payload_edit(const struct proto_profile *profile, const char *from, const char *to,
                          size_t *len)
{
    char *json = NULL;
    size_t json_len = 0;
    assert_int_equal(proto_wire_encode_profile(profile, &json, &json_len), PROTO_OK);
    char *at = strstr(json, from);
    assert_non_null(at);
    size_t out_len = json_len - strlen(from) + strlen(to);
    char *out = (char *)testutil_xalloc(out_len + 1);
    size_t head = (size_t)(at - json);
    memcpy(out, json, head);
    memcpy(out + head, to, strlen(to));
    memcpy(out + head + strlen(to), at + strlen(from), json_len - head - strlen(from));
    out[out_len] = '\0';
    *len = out_len;
    proto_free(json);
    return out;
}

/* ---- running a profile the way the agent does ----------------------------------------------- */

struct outcome {
    enum proto_rc verify_rc;
    char reason[1024];
    struct proto_result *res;
};

struct run {
    const struct proto_verify_key *trusted[2];
    size_t trusted_count;
    int64_t now;
    enum agent_remediation_mode mode;
    size_t crash_after_step;
};

static struct run run_default(void)
{
    struct run r;
    memset(&r, 0, sizeof(r));
    r.trusted[0] = K.verify[0];
    r.trusted_count = 1;
    r.now = NOW;
    r.mode = AGENT_REMEDIATION_APPLY;
    return r;
}

/* Verifies and runs an envelope on the scratch bundle; returns agent_apply_run's rc. */
static enum proto_rc run_envelope(const struct scratch *s, const char *env, size_t env_len,
                                  const struct run *r, struct outcome *o)
{
    struct agent_system *sys = NULL;
    struct proto_snapshot *snap = NULL;
    struct proto_profile *profile = NULL, *opened = NULL;
    struct proto_policy policy;
    enum proto_rc rc = PROTO_OK;
    bool recovered = false;

    memset(o, 0, sizeof(*o));
    o->res = proto_wire_result_create();
    assert_non_null(o->res);
    policy_make(&policy);
    policy.now = r->now;
    assert_int_equal(agent_system_sim_open(s->bundle, &sys), PROTO_OK);
    assert_int_equal(agent_apply_recover(sys, s->state, &recovered, o->reason, sizeof(o->reason)),
                     PROTO_OK);
    assert_int_equal(sys->read_snapshot(sys, &snap), PROTO_OK);
    struct agent_verify_request vr = {
        .envelope = env,
        .envelope_len = env_len,
        .trusted = r->trusted,
        .trusted_count = r->trusted_count,
        .host_fqdn = snap->host.fqdn,
        .now = r->now,
        .state_dir = s->state,
    };
    o->verify_rc = agent_verify_profile(&vr, &profile, &opened, o->reason, sizeof(o->reason));
    if (o->verify_rc) {
        assert_null(profile);
        assert_int_equal(agent_apply_refuse(o->res, opened, snap->host.fqdn, r->now, o->reason),
                         PROTO_OK);
    } else {
        struct agent_apply_request req = {
            .profile = profile,
            .host_mode = r->mode,
            .state_dir = s->state,
            .policy = &policy,
            .now = r->now,
            .crash_after_step = r->crash_after_step,
        };
        rc = agent_apply_run(sys, &req, o->res);
        snprintf(o->reason, sizeof(o->reason), "%s", o->res->reason ? o->res->reason : "");
    }
    proto_wire_profile_destroy(profile);
    proto_wire_profile_destroy(opened);
    proto_snapshot_destroy(snap);
    agent_system_destroy(sys);
    proto_policy_clear(&policy);
    return rc;
}

static void outcome_free(struct outcome *o)
{
    proto_wire_result_destroy(o->res);
}

static bool has_finding_prefix(const struct proto_strv *v, const char *prefix)
{
    for (size_t i = 0; i < v->count; i++) {
        if (strncmp(v->items[i], prefix, strlen(prefix)) == 0) {
            return true;
        }
    }
    return false;
}

/* ---- setup ---------------------------------------------------------------------------------- */

static int keys_setup(void **state)
{
    (void)state;
    snprintf(K.root, sizeof(K.root), "/tmp/rras-remediate-keys-XXXXXX");
    if (mkdtemp(K.root) == NULL) {
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        char *priv = NULL, *pub = NULL;
        char path[512];
        char err[256];
        if (proto_sign_key_generate(&priv, &pub) != PROTO_OK) {
            return -1;
        }
        snprintf(path, sizeof(path), "%s/key%d.pem", K.root, i);
        FILE *f = fopen(path, "wb");
        if (f == NULL) {
            return -1;
        }
        fputs(priv, f);
        fclose(f);
        if (proto_sign_key_load(path, &K.sign[i], err, sizeof(err)) != PROTO_OK ||
            proto_verify_key_from_pem(pub, strlen(pub), &K.verify[i], err, sizeof(err)) !=
                PROTO_OK) {
            return -1;
        }
        unlink(path);
        snprintf(path, sizeof(path), "%s/pub%d.pem", K.root, i);
        f = fopen(path, "wb");
        if (f == NULL) {
            return -1;
        }
        fputs(pub, f);
        fclose(f);
        proto_sign_pem_free(priv);
        proto_free(pub);
    }
    return 0;
}

static int keys_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < 2; i++) {
        proto_sign_key_destroy(K.sign[i]);
        proto_verify_key_destroy(K.verify[i]);
    }
    testutil_remove_tree(K.root);
    return 0;
}

/* ---- refusals ------------------------------------------------------------------------------- */

#define BUNDLE "kb-787-wildcard-first"
#define FIXTURE "bundles/" BUNDLE

/* Runs env on a fresh copy and checks: refused, the reason mentions `needle`, nothing changed. */
static void assert_refused(const char *env, size_t env_len, const struct run *r, const char *needle)
{
    struct scratch s;
    struct outcome o;
    scratch_make(&s, FIXTURE);
    assert_int_equal(run_envelope(&s, env, env_len, r, &o), PROTO_OK);
    assert_int_not_equal(o.verify_rc, PROTO_OK);
    assert_int_equal(o.res->outcome, PROTO_OUTCOME_REFUSED);
    if (strstr(o.reason, needle) == NULL) {
        fail_msg("refusal reason \"%s\" does not mention \"%s\"", o.reason, needle);
    }
    assert_string_equal(o.res->reason, o.reason);
    scratch_assert_unchanged(&s, FIXTURE);
    outcome_free(&o);
    scratch_free(&s);
}

static struct proto_profile *fixture_profile(uint64_t serial)
{
    return profile_for(testutil_fixture(FIXTURE), serial, PROTO_PROFILE_APPLY);
}

static void test_a_changed_payload_byte_is_refused_and_changes_nothing(void **state)
{
    (void)state;
    struct proto_profile *p = fixture_profile(5);
    char *json = NULL;
    size_t json_len = 0, len = 0;
    assert_int_equal(proto_wire_encode_profile(p, &json, &json_len), PROTO_OK);
    char *signed_env = envelope_raw(json, json_len, 0, 0, &len);
    /* The same signature over the payload with one byte changed (serial 5 -> 6). */
    struct proto_envelope e;
    assert_int_equal(proto_wire_decode_envelope(signed_env, len, &e, NULL), PROTO_OK);
    char *at = strstr((char *)e.payload, "\"serial\":5");
    assert_non_null(at);
    at[9] = '6';
    char *env = NULL;
    size_t env_len = 0;
    assert_int_equal(proto_wire_encode_envelope(e.payload, e.payload_len, e.key_id, e.sig,
                                                e.sig_len, &env, &env_len),
                     PROTO_OK);
    struct run r = run_default();
    assert_refused(env, env_len, &r, "bad signature");
    proto_wire_envelope_clear(&e);
    proto_free(env);
    proto_free(signed_env);
    proto_free(json);
    proto_wire_profile_destroy(p);
}

static void test_a_signature_by_another_key_is_refused(void **state)
{
    (void)state;
    struct proto_profile *p = fixture_profile(5);
    size_t len = 0;
    char *json = NULL;
    size_t json_len = 0;
    struct run r = run_default();
    /* Signed by an untrusted key under its own key_id: unknown key. */
    char *env = seal(1, p, &len);
    assert_refused(env, len, &r, "unknown signing key");
    proto_free(env);
    /* Signed by an untrusted key under the trusted key's id: the signature does not verify. */
    assert_int_equal(proto_wire_encode_profile(p, &json, &json_len), PROTO_OK);
    env = envelope_raw(json, json_len, 1, 0, &len);
    assert_refused(env, len, &r, "bad signature");
    proto_free(env);
    proto_free(json);
    proto_wire_profile_destroy(p);
}

static void test_an_envelope_without_signature_or_with_another_alg_is_refused(void **state)
{
    (void)state;
    struct proto_profile *p = fixture_profile(5);
    size_t len = 0;
    struct run r = run_default();
    char *env = seal(0, p, &len);
    /* No "sig" member. */
    char *no_sig = (char *)testutil_xalloc(len + 1);
    memcpy(no_sig, env, len + 1);
    char *sig = strstr(no_sig, ",\"sig\":");
    assert_non_null(sig);
    char *end = strchr(sig + 7, '"');
    end = strchr(end + 1, '"');
    memmove(sig, end + 1, strlen(end + 1) + 1);
    assert_refused(no_sig, strlen(no_sig), &r, "malformed envelope");
    /* alg RS256 (same length, so only the name differs). */
    char *rs = (char *)testutil_xalloc(len + 1);
    memcpy(rs, env, len + 1);
    char *alg = strstr(rs, "\"ES256\"");
    assert_non_null(alg);
    memcpy(alg + 1, "RS256", 5);
    assert_refused(rs, len, &r, "malformed envelope");
    proto_free(rs);
    proto_free(no_sig);
    proto_free(env);
    proto_wire_profile_destroy(p);
}

static void test_an_expired_or_not_yet_valid_profile_is_refused(void **state)
{
    (void)state;
    struct proto_profile *p = fixture_profile(5);
    size_t len = 0;
    char *env = seal(0, p, &len);
    struct run r = run_default();
    r.now = NOW + 72 * HOUR; /* expires is exclusive */
    assert_refused(env, len, &r, "expired");
    r.now = NOW - HOUR - 1;
    assert_refused(env, len, &r, "not yet valid");
    proto_free(env);
    proto_wire_profile_destroy(p);
}

static void test_a_replayed_or_lower_serial_is_refused(void **state)
{
    (void)state;
    struct scratch s;
    struct outcome o;
    size_t len = 0, len4 = 0;
    struct proto_profile *p5 = fixture_profile(5), *p4 = fixture_profile(4);
    char *env5 = seal(0, p5, &len), *env4 = seal(0, p4, &len4);
    struct run r = run_default();
    scratch_make(&s, FIXTURE);
    assert_int_equal(run_envelope(&s, env5, len, &r, &o), PROTO_OK);
    assert_int_equal(o.res->outcome, PROTO_OUTCOME_APPLIED);
    outcome_free(&o);
    /* Put the bundle back: only the state folder remembers serial 5. */
    char bundle_copy[400];
    snprintf(bundle_copy, sizeof(bundle_copy), "%s", s.bundle);
    testutil_remove_tree(bundle_copy);
    char from[1024];
    snprintf(from, sizeof(from), "%s", testutil_fixture(FIXTURE));
    testutil_copy_tree(from, s.bundle);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(run_envelope(&s, i == 0 ? env5 : env4, i == 0 ? len : len4, &r, &o),
                         PROTO_OK);
        assert_int_equal(o.res->outcome, PROTO_OUTCOME_REFUSED);
        assert_non_null(strstr(o.reason, "not greater than the last one applied here (5)"));
        scratch_assert_unchanged(&s, FIXTURE);
        outcome_free(&o);
    }
    scratch_free(&s);
    proto_free(env5);
    proto_free(env4);
    proto_wire_profile_destroy(p5);
    proto_wire_profile_destroy(p4);
}

static void test_another_hosts_profile_is_refused(void **state)
{
    (void)state;
    struct proto_profile *p = fixture_profile(5);
    snprintf(p->target, sizeof(p->target), "rras99.corp.contoso.com");
    size_t len = 0;
    char *env = seal(0, p, &len);
    struct run r = run_default();
    assert_refused(env, len, &r, "is for rras99.corp.contoso.com, not this host");
    proto_free(env);
    proto_wire_profile_destroy(p);
}

static void test_unknown_actions_and_values_outside_the_allow_list_are_refused(void **state)
{
    (void)state;
    struct proto_profile *p = fixture_profile(5);
    struct run r = run_default();
    static const struct {
        const char *from, *to;
    } edits[] = {
        {"\"registry_dword_set\"", "\"run_command\""},
        {"\"ProhibitIpSec\"", "\"NoDefaultExempt\""},
        {"\"service\":\"RemoteAccess\"", "\"service\":\"Spooler\""},
    };
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        size_t plen = 0, len = 0;
        char *payload = payload_edit(p, edits[i].from, edits[i].to, &plen);
        char *env = envelope_raw(payload, plen, 0, 0, &len);
        assert_refused(env, len, &r, "invalid profile");
        proto_free(env);
        proto_free(payload);
    }
    proto_wire_profile_destroy(p);
}

static void test_an_oversized_or_deeply_nested_profile_is_refused(void **state)
{
    (void)state;
    struct proto_profile *p = fixture_profile(5);
    struct run r = run_default();
    size_t plen = 0, len = 0;
    /* A payload nested 64 deep, signed. */
    char deep[200];
    size_t d = 4;
    memcpy(deep, "\"x\":", 4);
    for (int i = 0; i < 64; i++) {
        deep[d++] = '[';
    }
    for (int i = 0; i < 64; i++) {
        deep[d++] = ']';
    }
    memcpy(deep + d, ",\"serial\"", 10);
    deep[d + 10] = '\0';
    char *payload = payload_edit(p, "\"serial\"", deep, &plen);
    char *env = envelope_raw(payload, plen, 0, 0, &len);
    assert_refused(env, len, &r, "invalid profile");
    proto_free(env);
    proto_free(payload);
    /* A payload over PROTO_MAX_PROFILE_BYTES: the envelope is refused before any signature
     * check or parse (its base64 alone is too long). */
    size_t quads = PROTO_MAX_PROFILE_BYTES / 3 + 8;
    char key_id[PROTO_KEY_ID_LEN + 1];
    proto_sign_key_id(K.sign[0], key_id);
    size_t env_cap = quads * 4 + 256;
    char *big_env = (char *)testutil_xalloc(env_cap);
    int n = snprintf(big_env, env_cap, "{\"payload\":\"");
    for (size_t i = 0; i < quads; i++) {
        memcpy(big_env + n, "e30K", 4); /* "{}\n" */
        n += 4;
    }
    n += snprintf(big_env + n, env_cap - (size_t)n,
                  "\",\"alg\":\"ES256\",\"key_id\":\"%s\",\"sig\":\"AAAA\"}", key_id);
    assert_true(n > 0 && (size_t)n < env_cap);
    assert_refused(big_env, (size_t)n, &r, "malformed envelope");
    /* And a file over PROTO_MAX_ENVELOPE_BYTES is not even read. */
    char path[512], err[256];
    snprintf(path, sizeof(path), "%s/big.json", K.root);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < PROTO_MAX_ENVELOPE_BYTES + 1; i++) {
        fputc(' ', f);
    }
    fclose(f);
    char *text = NULL;
    size_t text_len = 0;
    assert_int_equal(agent_verify_read_envelope(path, &text, &text_len, err, sizeof(err)),
                     PROTO_ELIMIT);
    assert_non_null(strstr(err, "oversized"));
    proto_free(text);
    unlink(path);
    proto_free(big_env);
    proto_wire_profile_destroy(p);
}

static void test_the_next_key_is_accepted_and_a_removed_key_is_not(void **state)
{
    (void)state;
    struct proto_profile *p = fixture_profile(5);
    size_t len = 0;
    char *env = seal(1, p, &len); /* signed with the next key */
    struct run r = run_default();
    r.trusted[1] = K.verify[1];
    r.trusted_count = 2;
    r.mode = AGENT_REMEDIATION_DRY_RUN;
    struct scratch s;
    struct outcome o;
    scratch_make(&s, FIXTURE);
    assert_int_equal(run_envelope(&s, env, len, &r, &o), PROTO_OK);
    assert_int_equal(o.verify_rc, PROTO_OK);
    assert_int_equal(o.res->outcome, PROTO_OUTCOME_PLANNED);
    outcome_free(&o);
    scratch_free(&s);
    proto_free(env);
    /* The old key, once removed from the configuration, no longer opens a profile. */
    env = seal(0, p, &len);
    r.trusted[0] = K.verify[1];
    r.trusted_count = 1;
    assert_refused(env, len, &r, "unknown signing key");
    proto_free(env);
    proto_wire_profile_destroy(p);
}

static void test_remediation_off_refuses_every_profile(void **state)
{
    (void)state;
    struct proto_profile *p = fixture_profile(5);
    size_t len = 0;
    char *env = seal(0, p, &len);
    struct run r = run_default();
    r.mode = AGENT_REMEDIATION_OFF;
    struct scratch s;
    struct outcome o;
    scratch_make(&s, FIXTURE);
    assert_int_equal(run_envelope(&s, env, len, &r, &o), PROTO_OK);
    assert_int_equal(o.res->outcome, PROTO_OUTCOME_REFUSED);
    assert_non_null(strstr(o.reason, "off"));
    scratch_assert_unchanged(&s, FIXTURE);
    outcome_free(&o);
    scratch_free(&s);
    proto_free(env);
    proto_wire_profile_destroy(p);
}

/* ---- dry run, apply, rollback, recovery ----------------------------------------------------- */

static void test_a_dry_run_changes_nothing_and_reports_the_what_if(void **state)
{
    (void)state;
    struct proto_profile *p = fixture_profile(5);
    size_t len = 0;
    char *env = seal(0, p, &len);
    struct run r = run_default();
    r.mode = AGENT_REMEDIATION_DRY_RUN; /* the profile asks for apply: runs as the host allows */
    struct scratch s;
    struct outcome o;
    scratch_make(&s, FIXTURE);
    assert_int_equal(run_envelope(&s, env, len, &r, &o), PROTO_OK);
    assert_int_equal(o.res->outcome, PROTO_OUTCOME_PLANNED);
    assert_non_null(strstr(o.reason, "this host allows dry-run"));
    assert_int_equal(o.res->step_count, p->action_count);
    for (size_t i = 0; i < o.res->step_count; i++) {
        assert_int_equal(o.res->steps[i].status, PROTO_STEP_SKIPPED);
        assert_true(o.res->steps[i].after[0] != '\0');
    }
    assert_true(has_finding_prefix(&o.res->findings_before, "L2TP_CERT_"));
    assert_false(has_finding_prefix(&o.res->findings_after, "L2TP_CERT_"));
    scratch_assert_unchanged(&s, FIXTURE);
    struct stat st;
    assert_int_not_equal(stat(s.state, &st), 0); /* a dry run spends no serial */
    outcome_free(&o);
    scratch_free(&s);
    proto_free(env);
    proto_wire_profile_destroy(p);
}

/* Every bundle whose fix the what-if accepts: apply on a copy, and the host then shows what
 * the what-if said it would (no L2TP_CERT_*, no MANUAL_*), or, where the simulated host cannot
 * rewrite the capture, a rollback that leaves it byte-identical. */
static void test_every_acceptable_fix_applies_as_the_what_if_predicted(void **state)
{
    (void)state;
    static const char *const bundles[] = {
        "kb-787-wildcard-first",  "half-applied-no-rule",
        "half-applied-rule-only", "manual-rule-wrong-ca",
        "prohibit-ipsec-zero",    "iphttps-split",
        "kb-fix-verbatim",        "utf16-capture",
        "not-an-l2tp-rule",       "psk-rule",
        "weak-crypto-registry",   "netsh-wrapped-lines",
    };
    size_t applied = 0;
    for (size_t b = 0; b < sizeof(bundles) / sizeof(bundles[0]); b++) {
        char fixture[256];
        snprintf(fixture, sizeof(fixture), "bundles/%s", bundles[b]);
        struct proto_snapshot *snap = NULL;
        struct proto_policy policy;
        struct proto_fix_verdict verdict;
        memset(&verdict, 0, sizeof(verdict));
        assert_int_equal(proto_bundle_read(testutil_fixture(fixture), &snap), PROTO_OK);
        policy_make(&policy);
        struct proto_profile *p = profile_for(testutil_fixture(fixture), 7, PROTO_PROFILE_APPLY);
        assert_int_equal(proto_fix_judge(snap, &policy, p, &verdict), PROTO_OK);
        bool acceptable = verdict.acceptable;
        proto_fix_verdict_clear(&verdict);
        proto_policy_clear(&policy);
        proto_snapshot_destroy(snap);
        if (!acceptable) {
            proto_wire_profile_destroy(p);
            continue;
        }
        size_t len = 0;
        char *env = seal(0, p, &len);
        struct run r = run_default();
        struct scratch s;
        struct outcome dry, real;
        scratch_make(&s, fixture);
        r.mode = AGENT_REMEDIATION_DRY_RUN;
        assert_int_equal(run_envelope(&s, env, len, &r, &dry), PROTO_OK);
        r.mode = AGENT_REMEDIATION_APPLY;
        assert_int_equal(run_envelope(&s, env, len, &r, &real), PROTO_OK);
        if (real.res->outcome == PROTO_OUTCOME_ROLLED_BACK) {
            /* Only where the capture holds what the printer cannot reproduce. */
            if (strstr(real.reason, "cannot print back") == NULL) {
                fail_msg("%s rolled back: %s", bundles[b], real.reason);
            }
            scratch_assert_unchanged(&s, fixture);
        } else {
            if (real.res->outcome != PROTO_OUTCOME_APPLIED) {
                fail_msg("%s: %s", bundles[b], real.reason);
            }
            assert_false(has_finding_prefix(&real.res->findings_after, "L2TP_CERT_"));
            assert_false(has_finding_prefix(&real.res->findings_after, "MANUAL_"));
            assert_int_equal(real.res->findings_after.count, dry.res->findings_after.count);
            for (size_t i = 0; i < dry.res->findings_after.count; i++) {
                assert_string_equal(real.res->findings_after.items[i],
                                    dry.res->findings_after.items[i]);
            }
            applied++;
        }
        outcome_free(&dry);
        outcome_free(&real);
        scratch_free(&s);
        proto_free(env);
        proto_wire_profile_destroy(p);
    }
    assert_true(applied >= 5);
}

/* manual-rule-wrong-ca: the fix has the most steps (ensure, remove, registry, restart). */
#define MULTI "bundles/manual-rule-wrong-ca"

static void fail_each_step(const char *fixture, size_t min_changes)
{
    struct proto_profile *p = profile_for(testutil_fixture(fixture), 3, PROTO_PROFILE_APPLY);
    size_t len = 0;
    char *env = seal(0, p, &len);
    size_t k = 1;
    /* RRASFLEET_SIM_FAIL_STEP counts the host's changes (an action with nothing to change
     * makes none); one past the last change, the profile applies. */
    for (;; k++) {
        char value[16];
        snprintf(value, sizeof(value), "%zu", k);
        assert_int_equal(setenv("RRASFLEET_SIM_FAIL_STEP", value, 1), 0);
        struct run r = run_default();
        struct scratch s;
        struct outcome o;
        scratch_make(&s, fixture);
        assert_int_equal(run_envelope(&s, env, len, &r, &o), PROTO_OK);
        assert_int_equal(unsetenv("RRASFLEET_SIM_FAIL_STEP"), 0);
        if (o.res->outcome == PROTO_OUTCOME_APPLIED) {
            outcome_free(&o);
            scratch_free(&s);
            break;
        }
        assert_int_equal(o.res->outcome, PROTO_OUTCOME_ROLLED_BACK);
        assert_non_null(strstr(o.reason, "RRASFLEET_SIM_FAIL_STEP"));
        assert_non_null(strstr(o.reason, "the earlier steps were undone"));
        assert_int_equal(o.res->step_count, p->action_count);
        size_t failed = o.res->step_count, changed_before = 0;
        for (size_t i = 0; i < o.res->step_count; i++) {
            enum proto_step_status st = o.res->steps[i].status;
            if (st == PROTO_STEP_FAILED) {
                failed = i;
            } else if (failed == o.res->step_count) {
                assert_true(st == PROTO_STEP_UNDONE || st == PROTO_STEP_SKIPPED);
                changed_before += st == PROTO_STEP_UNDONE;
            } else {
                assert_int_equal(st, PROTO_STEP_SKIPPED); /* never tried */
            }
        }
        assert_true(failed < o.res->step_count);
        assert_int_equal(changed_before, k - 1);
        char step[32];
        snprintf(step, sizeof(step), "step %zu (", failed + 1);
        assert_non_null(strstr(o.reason, step));
        scratch_assert_unchanged(&s, fixture);
        char journal[512];
        snprintf(journal, sizeof(journal), "%s/%s", s.state, AGENT_STATE_JOURNAL_FILE);
        assert_int_not_equal(access(journal, F_OK), 0);
        outcome_free(&o);
        scratch_free(&s);
    }
    assert_true(k - 1 >= min_changes);
    proto_free(env);
    proto_wire_profile_destroy(p);
}

static void test_a_failure_at_each_step_rolls_back_the_earlier_ones(void **state)
{
    (void)state;
    fail_each_step(MULTI, 2);   /* ensure a rule, remove the wrong-CA one (in its place) */
    fail_each_step(FIXTURE, 3); /* ensure a rule, ProhibitIpSec=1, restart */
}

static void test_a_crash_after_each_step_is_undone_at_the_next_start(void **state)
{
    (void)state;
    struct proto_profile *p = profile_for(testutil_fixture(MULTI), 3, PROTO_PROFILE_APPLY);
    size_t len = 0;
    char *env = seal(0, p, &len);
    for (size_t k = 1; k <= p->action_count; k++) {
        struct run r = run_default();
        r.crash_after_step = k;
        struct scratch s;
        struct outcome o;
        scratch_make(&s, MULTI);
        assert_int_equal(run_envelope(&s, env, len, &r, &o), PROTO_ECHANGED);
        outcome_free(&o);
        struct agent_journal j;
        assert_int_equal(agent_journal_read(s.state, &j), PROTO_OK);
        assert_true(j.step_count >= 1);
        agent_journal_clear(&j);
        /* The next start: recovery undoes what the journal lists. */
        struct agent_system *sys = NULL;
        bool recovered = false;
        char reason[512];
        assert_int_equal(agent_system_sim_open(s.bundle, &sys), PROTO_OK);
        assert_int_equal(agent_apply_recover(sys, s.state, &recovered, reason, sizeof(reason)),
                         PROTO_OK);
        assert_true(recovered);
        agent_system_destroy(sys);
        scratch_assert_unchanged(&s, MULTI);
        assert_int_equal(agent_journal_read(s.state, &j), PROTO_ENOTFOUND);
        /* And the serial stays spent: the interrupted profile is not run again. */
        assert_int_equal(run_envelope(&s, env, len, &r, &o), PROTO_OK);
        assert_int_equal(o.res->outcome, PROTO_OUTCOME_REFUSED);
        outcome_free(&o);
        scratch_free(&s);
    }
    proto_free(env);
    proto_wire_profile_destroy(p);
}

static void test_a_journal_of_another_host_is_not_recovered_here(void **state)
{
    (void)state;
    struct scratch s;
    struct agent_journal j;
    scratch_make(&s, MULTI);
    memset(&j, 0, sizeof(j));
    snprintf(j.system, sizeof(j.system), "bundle:/nonexistent/elsewhere");
    snprintf(j.profile_id, sizeof(j.profile_id), "0b6c1f2e-8a55-4f7e-9d38-1c2a3b4c5d6e");
    j.serial = 1;
    assert_int_equal(agent_journal_write(s.state, &j), PROTO_OK);
    struct agent_system *sys = NULL;
    bool recovered = true;
    char reason[512];
    assert_int_equal(agent_system_sim_open(s.bundle, &sys), PROTO_OK);
    assert_int_equal(agent_apply_recover(sys, s.state, &recovered, reason, sizeof(reason)),
                     PROTO_EINVAL);
    assert_false(recovered);
    assert_non_null(strstr(reason, "/nonexistent/elsewhere"));
    agent_system_destroy(sys);
    scratch_assert_unchanged(&s, MULTI);
    scratch_free(&s);
}

static void test_the_simulated_host_restores_a_removed_rule_where_it_stood(void **state)
{
    (void)state;
    struct scratch s;
    struct agent_system *sys = NULL;
    struct agent_rule_state first, second;
    scratch_make(&s, "bundles/kb-fix-verbatim");
    assert_int_equal(agent_system_sim_open(s.bundle, &sys), PROTO_OK);
    assert_int_equal(sys->rule_get(sys, "L2TP Manual Rule", &first), PROTO_OK);
    assert_int_equal(first.count, 1);
    assert_int_equal(first.position, 0);
    assert_int_equal(sys->rule_delete(sys, "L2TP Manual Rule"), PROTO_OK);
    assert_int_equal(sys->rule_get(sys, "L2TP Manual Rule", &second), PROTO_OK);
    assert_int_equal(second.count, 0);
    assert_int_equal(sys->rule_put(sys, &first.rule, first.position), PROTO_OK);
    struct agent_dword_state d;
    assert_int_equal(sys->dword_get(sys, PROTO_DWORD_PROHIBIT_IPSEC, &d), PROTO_OK);
    assert_true(d.present);
    assert_int_equal(d.value, 1);
    assert_int_equal(sys->dword_delete(sys, PROTO_DWORD_PROHIBIT_IPSEC), PROTO_OK);
    assert_int_equal(sys->dword_get(sys, PROTO_DWORD_PROHIBIT_IPSEC, &d), PROTO_OK);
    assert_false(d.present);
    assert_int_equal(sys->dword_set(sys, PROTO_DWORD_PROHIBIT_IPSEC, 1), PROTO_OK);
    scratch_assert_unchanged(&s, "bundles/kb-fix-verbatim");
    agent_rule_state_clear(&first);
    agent_rule_state_clear(&second);
    agent_system_destroy(sys);
    scratch_free(&s);
}

static void test_the_serial_file_keeps_one_line_per_host(void **state)
{
    (void)state;
    struct scratch s;
    uint64_t v = 99;
    scratch_make(&s, MULTI);
    assert_int_equal(agent_state_last_serial(s.state, "a.example", &v), PROTO_OK);
    assert_int_equal(v, 0);
    assert_int_equal(agent_state_record_serial(s.state, "a.example", 3), PROTO_OK);
    assert_int_equal(agent_state_record_serial(s.state, "b.example", 9), PROTO_OK);
    assert_int_equal(agent_state_record_serial(s.state, "a.example", 4), PROTO_OK);
    assert_int_equal(agent_state_last_serial(s.state, "A.EXAMPLE", &v), PROTO_OK);
    assert_int_equal(v, 4);
    assert_int_equal(agent_state_last_serial(s.state, "b.example", &v), PROTO_OK);
    assert_int_equal(v, 9);
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", s.state, AGENT_STATE_SERIAL_FILE);
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    fputs("garbage\n", f);
    fclose(f);
    assert_int_equal(agent_state_last_serial(s.state, "a.example", &v), PROTO_EPARSE);
    scratch_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_changed_payload_byte_is_refused_and_changes_nothing),
        cmocka_unit_test(test_a_signature_by_another_key_is_refused),
        cmocka_unit_test(test_an_envelope_without_signature_or_with_another_alg_is_refused),
        cmocka_unit_test(test_an_expired_or_not_yet_valid_profile_is_refused),
        cmocka_unit_test(test_a_replayed_or_lower_serial_is_refused),
        cmocka_unit_test(test_another_hosts_profile_is_refused),
        cmocka_unit_test(test_unknown_actions_and_values_outside_the_allow_list_are_refused),
        cmocka_unit_test(test_an_oversized_or_deeply_nested_profile_is_refused),
        cmocka_unit_test(test_the_next_key_is_accepted_and_a_removed_key_is_not),
        cmocka_unit_test(test_remediation_off_refuses_every_profile),
        cmocka_unit_test(test_a_dry_run_changes_nothing_and_reports_the_what_if),
        cmocka_unit_test(test_every_acceptable_fix_applies_as_the_what_if_predicted),
        cmocka_unit_test(test_a_failure_at_each_step_rolls_back_the_earlier_ones),
        cmocka_unit_test(test_a_crash_after_each_step_is_undone_at_the_next_start),
        cmocka_unit_test(test_a_journal_of_another_host_is_not_recovered_here),
        cmocka_unit_test(test_the_simulated_host_restores_a_removed_rule_where_it_stood),
        cmocka_unit_test(test_the_serial_file_keeps_one_line_per_host),
    };
    return cmocka_run_group_tests(tests, keys_setup, keys_teardown);
}
