/*
 * diagnose: the finding rules of DESIGN §6 over one snapshot.
 *
 * The model of RRAS's choice: IKE takes the first eligible certificate in LocalMachine\My store
 * order (KB 2855053). Windows' real enumeration order is undocumented, so ambiguity is reported
 * whatever the order. Findings about the automatic policy (L2TP_CERT_*) apply only while
 * ProhibitIpSec is not 1; once it is, the manual rule decides (MANUAL_*). No I/O, no clock.
 */
#include "diagnose.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "caps.h"
#include "printf_like.h"
#include "timefmt.h"
#include "x509.h"

#define DIAG_L2TP_PORT 1701L
#define DIAG_DAY_SECONDS 86400
#define DIAG_MAX_CHAIN_DEPTH 8
#define DIAG_FIX_KB                                                                                \
    "Fix (KB 2855053): use one certificate for IP-HTTPS and L2TP, or set ProhibitIpSec=1 and "     \
    "add a manual L2TP connection-security rule pinned to the expected root CA"

/* Findings under construction; `result` latches the first failure so callers can chain adds. */
/* What one rule CA name resolved to, kept so that hosts with many rules naming the same CA
 * (the usual case) walk the store once per CA, not once per rule. */
struct diag_ca_memo {
    const char *ca_text; /* borrowed from the rule */
    bool usable;         /* an eligible certificate chains to it */
    size_t *issued;      /* the non-CA certificates that chain to it, store order */
    size_t issued_count;
};

#define DIAG_CA_MEMO_MAX 16u

struct diag_ctx {
    const struct proto_snapshot *snap;
    const struct proto_policy *policy;
    struct proto_diagnosis *d;
    enum proto_rc result;
    /* parent[i]: the store index of the CA certificate that issued certificate i (the first by
     * subject name, store order), or SIZE_MAX; NULL until the first chain walk needs it. */
    size_t *parent;
    struct diag_ca_memo ca_memo[DIAG_CA_MEMO_MAX];
    size_t ca_memo_count;
};

void proto_policy_clear(struct proto_policy *policy)
{
    if (policy != NULL) {
        proto_dn_clear(&policy->expected_ca);
        policy->has_expected_ca = false;
    }
}

void proto_diagnosis_destroy(struct proto_diagnosis *d)
{
    if (d == NULL) {
        return;
    }
    for (size_t i = 0; i < d->finding_count; i++) {
        proto_finding_clear(&d->findings[i]);
    }
    proto_free(d->findings);
    proto_free(d->eligible);
    proto_free(d);
}

enum proto_severity proto_diagnosis_max_severity(const struct proto_diagnosis *d)
{
    enum proto_severity max = PROTO_SEV_INFO;
    for (size_t i = 0; i < d->finding_count; i++) {
        if (d->findings[i].severity > max) {
            max = d->findings[i].severity;
        }
    }
    return max;
}

const char *proto_diagnose_ineligible_reason(const struct proto_cert *cert, int64_t now)
{
    if (!cert->parsed) {
        return "certificate could not be parsed";
    }
    if (!cert->has_private_key) {
        return "no private key";
    }
    if (now < cert->not_before) {
        return "not yet valid";
    }
    if (now > cert->not_after) {
        return "expired";
    }
    if (cert->has_eku && !proto_strv_contains(&cert->eku, PROTO_OID_SERVER_AUTH) &&
        !proto_strv_contains(&cert->eku, PROTO_OID_IKE_INTERMEDIATE) &&
        !proto_strv_contains(&cert->eku, PROTO_OID_ANY_PURPOSE)) {
        return "EKU has neither Server Authentication nor IP security IKE intermediate";
    }
    return NULL;
}

/* The name people recognise a certificate by: subject CN, else first SAN, else thumbprint. */
static const char *diag_cert_label(const struct proto_cert *cert)
{
    const char *cn = proto_dn_get(&cert->subject, "CN");
    if (cn != NULL && cn[0] != '\0') {
        return cn;
    }
    if (cert->san_dns.count > 0) {
        return cert->san_dns.items[0];
    }
    return cert->sha1;
}

static struct proto_finding *diag_add(struct diag_ctx *ctx, const char *id,
                                      enum proto_severity severity, const char *fmt, ...)
    PROTO_PRINTF_LIKE(4, 5);

static struct proto_finding *diag_add(struct diag_ctx *ctx, const char *id,
                                      enum proto_severity severity, const char *fmt, ...)
{
    struct proto_diagnosis *d = ctx->d;
    if (ctx->result) {
        return NULL;
    }
    if (d->finding_count >= PROTO_MAX_FINDINGS) {
        ctx->result = PROTO_ELIMIT;
        return NULL;
    }
    struct proto_finding *grown =
        proto_realloc(d->findings, (d->finding_count + 1) * sizeof(*d->findings));
    if (grown == NULL) {
        ctx->result = PROTO_ENOMEM;
        return NULL;
    }
    d->findings = grown;
    struct proto_finding *f = &d->findings[d->finding_count];
    memset(f, 0, sizeof(*f));

    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    if (n < 0) {
        message[0] = '\0';
    }
    f->id = proto_strdup(id);
    f->message = proto_strdup(message);
    f->severity = severity;
    if (f->id == NULL || f->message == NULL) {
        proto_finding_clear(f);
        ctx->result = PROTO_ENOMEM;
        return NULL;
    }
    d->finding_count++;
    return f;
}

static void diag_ref_cert(struct diag_ctx *ctx, struct proto_finding *f, const struct proto_cert *c)
{
    if (f != NULL && !ctx->result && !proto_strv_contains(&f->certs, c->sha1)) {
        ctx->result = proto_strv_push(&f->certs, c->sha1, PROTO_MAX_CERTS);
    }
}

static void diag_ref_rule(struct diag_ctx *ctx, struct proto_finding *f, const char *name)
{
    if (f != NULL && !ctx->result) {
        ctx->result = proto_strv_push(&f->rules, name != NULL ? name : "", PROTO_MAX_RULES);
    }
}

/* ---- rule interpretation ------------------------------------------------------------------ */

static bool diag_field_is(const struct proto_consec_rule *r, enum proto_rule_field field,
                          const char *want)
{
    return r->field[field] != NULL && strcasecmp(r->field[field], want) == 0;
}

/* True when the comma-separated list (spaces allowed) contains `want`, case-insensitively. */
static bool diag_list_contains(const char *list, const char *want)
{
    if (list == NULL) {
        return false;
    }
    size_t want_len = strlen(want);
    const char *p = list;
    while (*p != '\0') {
        while (*p == ' ' || *p == ',') {
            p++;
        }
        const char *start = p;
        while (*p != '\0' && *p != ',') {
            p++;
        }
        const char *end = p;
        while (end > start && end[-1] == ' ') {
            end--;
        }
        if ((size_t)(end - start) == want_len && strncasecmp(start, want, want_len) == 0) {
            return true;
        }
    }
    return false;
}

/* True when a netsh port list ("1701", "500,1701", "1000-2000", "Any") names `port`. "Any"
 * does not count: a rule for every port is not an L2TP rule. */
static bool diag_ports_include(const char *list, long port)
{
    if (list == NULL) {
        return false;
    }
    const char *p = list;
    while (*p != '\0') {
        while (*p == ' ' || *p == ',') {
            p++;
        }
        char *end = NULL;
        long lo = strtol(p, &end, 10);
        if (end == p) {
            while (*p != '\0' && *p != ',') {
                p++;
            }
            continue;
        }
        long hi = lo;
        p = end;
        if (*p == '-') {
            hi = strtol(p + 1, &end, 10);
            if (end == p + 1) {
                hi = lo;
            }
            p = end;
        }
        if (port >= lo && port <= hi) {
            return true;
        }
        while (*p != '\0' && *p != ',') {
            p++;
        }
    }
    return false;
}

bool proto_diagnose_rule_is_l2tp_shaped(const struct proto_consec_rule *r)
{
    return (diag_field_is(r, PROTO_RULE_PROTOCOL, "UDP") ||
            diag_field_is(r, PROTO_RULE_PROTOCOL, "17")) &&
           (diag_ports_include(r->field[PROTO_RULE_PORT1], DIAG_L2TP_PORT) ||
            diag_ports_include(r->field[PROTO_RULE_PORT2], DIAG_L2TP_PORT)) &&
           diag_field_is(r, PROTO_RULE_MODE, "Transport") &&
           diag_list_contains(r->field[PROTO_RULE_AUTH1], "ComputerCert");
}

static bool diag_rule_is_l2tp(const struct proto_consec_rule *r)
{
    return diag_field_is(r, PROTO_RULE_ENABLED, "Yes") && proto_diagnose_rule_is_l2tp_shaped(r);
}

/* True when `text` holds a weak algorithm token: DHGroup1/2, DES, 3DES or MD5. Tokens are
 * separated by the punctuation netsh uses in its method lists (",", ":", "-", "+"). */
static bool diag_has_weak_token(const char *text)
{
    static const char *const weak[] = {"DHGroup1", "DHGroup2", "DES", "3DES", "MD5"};
    if (text == NULL) {
        return false;
    }
    const char *p = text;
    while (*p != '\0') {
        while (*p != '\0' && strchr(",:-+ ", *p) != NULL) {
            p++;
        }
        const char *start = p;
        while (*p != '\0' && strchr(",:-+ ", *p) == NULL) {
            p++;
        }
        size_t len = (size_t)(p - start);
        for (size_t i = 0; i < sizeof(weak) / sizeof(weak[0]); i++) {
            if (len > 0 && strlen(weak[i]) == len && strncasecmp(start, weak[i], len) == 0) {
                return true;
            }
        }
    }
    return false;
}

/* ---- certificate chains ------------------------------------------------------------------- */

/* Fills ctx->parent once: only CA certificates can be parents, and a store holds few of them,
 * so this costs certificates x CA certificates name comparisons, not certificates squared. */
static bool diag_parents(struct diag_ctx *ctx)
{
    const struct proto_snapshot *snap = ctx->snap;
    if (ctx->parent != NULL || snap->cert_count == 0) {
        return true;
    }
    size_t *parent = proto_calloc(snap->cert_count, sizeof(*parent));
    size_t *cas = proto_calloc(snap->cert_count, sizeof(*cas));
    if (parent == NULL || cas == NULL) {
        proto_free(parent);
        proto_free(cas);
        ctx->result = PROTO_ENOMEM;
        return false;
    }
    size_t ca_count = 0;
    for (size_t i = 0; i < snap->cert_count; i++) {
        if (snap->certs[i].parsed && snap->certs[i].is_ca) {
            cas[ca_count++] = i;
        }
    }
    for (size_t i = 0; i < snap->cert_count; i++) {
        parent[i] = SIZE_MAX;
        for (size_t k = 0; k < ca_count; k++) {
            if (cas[k] != i &&
                proto_dn_equal(&snap->certs[cas[k]].subject, &snap->certs[i].issuer)) {
                parent[i] = cas[k];
                break;
            }
        }
    }
    proto_free(cas);
    ctx->parent = parent;
    return true;
}

/* True when `expected` issued certificate `index`, directly or through CA certificates present
 * in the snapshot (a chain is followed by subject/issuer name, at most DIAG_MAX_CHAIN_DEPTH
 * links). */
static bool diag_issued_by_expected(struct diag_ctx *ctx, size_t index,
                                    const struct proto_dn *expected)
{
    if (!diag_parents(ctx)) {
        return false;
    }
    const struct proto_snapshot *snap = ctx->snap;
    size_t current = index;
    for (int depth = 0; depth < DIAG_MAX_CHAIN_DEPTH; depth++) {
        const struct proto_cert *c = &snap->certs[current];
        if (proto_dn_equal(&c->issuer, expected)) {
            return true;
        }
        if (proto_dn_equal(&c->issuer, &c->subject) || ctx->parent[current] == SIZE_MAX) {
            return false;
        }
        current = ctx->parent[current];
    }
    return false;
}

/* The memo for the CA the rule names (ca parsed from ca_text), made on first use; NULL when out
 * of memory (ctx->result says so) or the memo is full (the caller then has *scratch filled). */
static const struct diag_ca_memo *diag_ca_lookup(struct diag_ctx *ctx, const char *ca_text,
                                                 const struct proto_dn *ca,
                                                 struct diag_ca_memo *scratch)
{
    for (size_t i = 0; i < ctx->ca_memo_count; i++) {
        if (strcmp(ctx->ca_memo[i].ca_text, ca_text) == 0) {
            return &ctx->ca_memo[i];
        }
    }
    const struct proto_snapshot *snap = ctx->snap;
    struct diag_ca_memo *m =
        ctx->ca_memo_count < DIAG_CA_MEMO_MAX ? &ctx->ca_memo[ctx->ca_memo_count] : scratch;
    memset(m, 0, sizeof(*m));
    m->ca_text = ca_text;
    if (snap->cert_count > 0) {
        m->issued = proto_calloc(snap->cert_count, sizeof(*m->issued));
        if (m->issued == NULL) {
            ctx->result = PROTO_ENOMEM;
            return NULL;
        }
    }
    for (size_t i = 0; i < ctx->d->eligible_count && !m->usable; i++) {
        m->usable = diag_issued_by_expected(ctx, ctx->d->eligible[i], ca);
    }
    for (size_t i = 0; i < snap->cert_count; i++) {
        const struct proto_cert *c = &snap->certs[i];
        if (c->parsed && !c->is_ca && diag_issued_by_expected(ctx, i, ca)) {
            m->issued[m->issued_count++] = i;
        }
    }
    if (m != scratch) {
        ctx->ca_memo_count++;
    }
    return m;
}

static void diag_ctx_clear(struct diag_ctx *ctx)
{
    for (size_t i = 0; i < ctx->ca_memo_count; i++) {
        proto_free(ctx->ca_memo[i].issued);
    }
    ctx->ca_memo_count = 0;
    proto_free(ctx->parent);
    ctx->parent = NULL;
}

static char *diag_dn_text(const struct proto_dn *dn)
{
    char *text = NULL;
    if (proto_dn_format(dn, false, &text) != PROTO_OK) {
        return NULL;
    }
    return text;
}

/* ---- the rules ---------------------------------------------------------------------------- */

static bool diag_cert_is_bound(const struct proto_snapshot *snap, const struct proto_cert *c)
{
    return strcasecmp(snap->iphttps_cert_sha1, c->sha1) == 0 ||
           strcasecmp(snap->sstp_cert_sha1, c->sha1) == 0 ||
           strcasecmp(snap->sstp_cert_sha256, c->sha256) == 0;
}

static void diag_automatic_policy(struct diag_ctx *ctx)
{
    const struct proto_snapshot *snap = ctx->snap;
    struct proto_diagnosis *d = ctx->d;
    if (!d->automatic_policy || !snap->certs_available) {
        return;
    }
    if (d->predicted < 0) {
        diag_add(ctx, "L2TP_NO_CERT", PROTO_SEV_CRITICAL,
                 "No certificate in LocalMachine\\My is eligible for IKE (private key, valid now, "
                 "Server Authentication or IKE intermediate EKU): L2TP/IPsec clients cannot "
                 "authenticate this server (error 786/787). Fix: enrol a machine certificate "
                 "from the CA the clients trust");
        return;
    }
    const struct proto_cert *predicted = &snap->certs[d->predicted];
    const char *label = diag_cert_label(predicted);

    if (d->eligible_count > 1) {
        struct proto_finding *f =
            diag_add(ctx, "L2TP_CERT_AMBIGUOUS", PROTO_SEV_MEDIUM,
                     "%zu certificates are eligible for IKE and RRAS cannot be told which one to "
                     "use for L2TP (predicted: %s, the first in store order). %s",
                     d->eligible_count, label, DIAG_FIX_KB);
        for (size_t i = 0; i < d->eligible_count; i++) {
            diag_ref_cert(ctx, f, &snap->certs[d->eligible[i]]);
        }
    }
    if (predicted->wildcard) {
        struct proto_finding *f =
            diag_add(ctx, "L2TP_CERT_WILDCARD", PROTO_SEV_HIGH,
                     "The predicted L2TP certificate %s is a wildcard certificate: L2TP clients "
                     "fail with error 787. %s",
                     label, DIAG_FIX_KB);
        diag_ref_cert(ctx, f, predicted);
    }
    if (ctx->policy->has_expected_ca &&
        !diag_issued_by_expected(ctx, (size_t)d->predicted, &ctx->policy->expected_ca)) {
        char *issuer = diag_dn_text(&predicted->issuer);
        char *expected = diag_dn_text(&ctx->policy->expected_ca);
        struct proto_finding *f = diag_add(
            ctx, "L2TP_CERT_WRONG_CA", PROTO_SEV_HIGH,
            "The predicted L2TP certificate %s was issued by '%s', not by the expected CA '%s': "
            "clients that trust only the expected CA fail with error 787. %s",
            label, issuer ? issuer : "?", expected ? expected : "?", DIAG_FIX_KB);
        diag_ref_cert(ctx, f, predicted);
        proto_free(issuer);
        proto_free(expected);
    }
    long iphttps = proto_snapshot_find_cert(snap, snap->iphttps_cert_sha1);
    if (snap->iphttps_cert_sha1[0] != '\0' && iphttps != d->predicted) {
        const char *ip_label =
            iphttps >= 0 ? diag_cert_label(&snap->certs[iphttps]) : snap->iphttps_cert_sha1;
        struct proto_finding *f = diag_add(
            ctx, "IPHTTPS_L2TP_CERT_SPLIT", PROTO_SEV_LOW,
            "IP-HTTPS is bound to %s but L2TP would use %s: binding one certificate to both "
            "(KB 2855053 resolution 1) removes the ambiguity",
            ip_label, label);
        if (iphttps >= 0) {
            diag_ref_cert(ctx, f, &snap->certs[iphttps]);
        }
        diag_ref_cert(ctx, f, predicted);
    }
}

/* MANUAL_RULE_NO_CERT: under the manual policy the rule's Auth1CAName decides which certificate
 * IKE presents; when that CA issued no eligible certificate IKE has none to present. Judged only
 * when the store was read and the CA name reads as a DN (an unreadable one is left to
 * MANUAL_RULE_WRONG_CA). The CA's ineligible certificates are named: they are the usual cause
 * (the right certificate without its private key, expired, or with the wrong EKU). */
static void diag_rule_without_cert(struct diag_ctx *ctx, const struct proto_consec_rule *r)
{
    const struct proto_snapshot *snap = ctx->snap;
    const char *ca_text = r->field[PROTO_RULE_AUTH1_CA_NAME];
    struct proto_dn ca = {0};
    if (!snap->certs_available || ca_text == NULL || proto_dn_parse(ca_text, &ca) != PROTO_OK ||
        ca.count == 0) {
        proto_dn_clear(&ca);
        return;
    }
    struct diag_ca_memo scratch;
    const struct diag_ca_memo *m = diag_ca_lookup(ctx, ca_text, &ca, &scratch);
    if (m != NULL && !m->usable) {
        const struct proto_cert *first = m->issued_count > 0 ? &snap->certs[m->issued[0]] : NULL;
        const char *name = r->field[PROTO_RULE_NAME];
        char why[512] = "";
        if (first != NULL) {
            snprintf(why, sizeof(why), " (%s: %s)", diag_cert_label(first),
                     proto_diagnose_ineligible_reason(first, ctx->policy->now));
        }
        struct proto_finding *f = diag_add(
            ctx, "MANUAL_RULE_NO_CERT", PROTO_SEV_HIGH,
            "Connection-security rule '%s' makes IKE present a certificate issued by '%s', but no "
            "certificate from that CA in LocalMachine\\My is eligible (private key, valid now, "
            "Server Authentication or IKE intermediate EKU)%s: L2TP/IPsec clients fail (error "
            "786/787). Fix: enrol a machine certificate with its private key from that CA, or pin "
            "the rule to the CA that issued the server's certificate",
            name ? name : "", ca_text, why);
        diag_ref_rule(ctx, f, name);
        for (size_t i = 0; i < m->issued_count; i++) {
            diag_ref_cert(ctx, f, &snap->certs[m->issued[i]]);
        }
    }
    if (m == &scratch) {
        proto_free(scratch.issued);
    }
    proto_dn_clear(&ca);
}

static void diag_manual_policy(struct diag_ctx *ctx)
{
    const struct proto_snapshot *snap = ctx->snap;
    const struct proto_policy *policy = ctx->policy;
    bool any_l2tp_rule = false;
    bool any_unreadable_rule = false; /* localized netsh: fields unknown */
    char *expected = policy->has_expected_ca ? diag_dn_text(&policy->expected_ca) : NULL;

    for (size_t i = 0; i < snap->rule_count; i++) {
        const struct proto_consec_rule *r = &snap->rules[i];
        any_unreadable_rule = any_unreadable_rule || r->labels_unrecognised;
        if (!diag_rule_is_l2tp(r)) {
            continue;
        }
        any_l2tp_rule = true;
        const char *name = r->field[PROTO_RULE_NAME];
        const char *ca_text = r->field[PROTO_RULE_AUTH1_CA_NAME];
        if (policy->has_expected_ca) {
            struct proto_dn ca = {0};
            bool matches = ca_text != NULL && proto_dn_parse(ca_text, &ca) == PROTO_OK &&
                           proto_dn_equal(&ca, &policy->expected_ca);
            proto_dn_clear(&ca);
            if (!matches) {
                struct proto_finding *f = diag_add(
                    ctx, "MANUAL_RULE_WRONG_CA", PROTO_SEV_HIGH,
                    "Connection-security rule '%s' accepts L2TP certificates from '%s', not from "
                    "the expected CA '%s': clients fail with error 787. Fix: set the rule's "
                    "auth1ca to the expected root CA",
                    name ? name : "", ca_text && ca_text[0] ? ca_text : "(no CA named)",
                    expected ? expected : "?");
                diag_ref_rule(ctx, f, name);
            }
        }
        if (!ctx->d->automatic_policy) {
            diag_rule_without_cert(ctx, r);
        }
        if (diag_has_weak_token(r->field[PROTO_RULE_MM_SEC_METHODS]) ||
            diag_has_weak_token(r->field[PROTO_RULE_QM_SEC_METHODS]) ||
            diag_has_weak_token(r->field[PROTO_RULE_QM_PFS])) {
            struct proto_finding *f = diag_add(
                ctx, "WEAK_IPSEC_CRYPTO", PROTO_SEV_MEDIUM,
                "L2TP rule '%s' offers weak IPsec algorithms (DH group 1/2, DES/3DES or MD5). "
                "Fix: offer DHGroup14 or ECDH with AES and SHA-256 only",
                name ? name : "");
            diag_ref_rule(ctx, f, name);
        }
    }
    proto_free(expected);

    if (snap->prohibit_ipsec.present && snap->prohibit_ipsec.value == 1 && snap->rules_available &&
        !any_l2tp_rule && !any_unreadable_rule) {
        diag_add(ctx, "MANUAL_POLICY_NO_RULE", PROTO_SEV_CRITICAL,
                 "ProhibitIpSec=1 turns off RRAS's automatic L2TP policy, but no enabled "
                 "connection-security rule protects L2TP (UDP 1701, transport mode, computer "
                 "certificate): L2TP/IPsec clients fail. Fix: add the manual L2TP rule of "
                 "KB 2855053 pinned to the expected root CA, or remove ProhibitIpSec");
    }
    if (snap->allow_l2tp_weak_crypto.present && snap->allow_l2tp_weak_crypto.value == 1) {
        diag_add(ctx, "WEAK_IPSEC_CRYPTO", PROTO_SEV_MEDIUM,
                 "AllowL2TPWeakCrypto=1 lets L2TP/IPsec negotiate MD5 and DES. Fix: delete the "
                 "value (or set it to 0) under HKLM\\System\\CurrentControlSet\\Services\\Rasman"
                 "\\Parameters and restart Remote Access");
    }
}

static void diag_expiry(struct diag_ctx *ctx)
{
    const struct proto_snapshot *snap = ctx->snap;
    int64_t now = ctx->policy->now;
    int64_t horizon = now + (int64_t)ctx->policy->expiry_days * DIAG_DAY_SECONDS;
    for (size_t i = 0; i < snap->cert_count; i++) {
        const struct proto_cert *c = &snap->certs[i];
        if (!c->parsed) {
            continue;
        }
        bool in_use = diag_cert_is_bound(snap, c) || (long)i == ctx->d->predicted;
        char when[32];
        if (proto_time_format_rfc3339(c->not_after, when, sizeof(when)) != PROTO_OK) {
            snprintf(when, sizeof(when), "?");
        }
        when[10] = '\0'; /* the date is enough in a message */
        struct proto_finding *f = NULL;
        if (c->not_after < now) {
            f = diag_add(ctx, "CERT_EXPIRED", in_use ? PROTO_SEV_HIGH : PROTO_SEV_LOW,
                         "Certificate %s expired on %s%s. Fix: renew it or remove it from "
                         "LocalMachine\\My",
                         diag_cert_label(c), when,
                         in_use ? " and is still bound to a service" : "");
        } else if (c->not_after <= horizon) {
            long days = (long)((c->not_after - now) / DIAG_DAY_SECONDS);
            f = diag_add(ctx, "CERT_EXPIRING", in_use ? PROTO_SEV_MEDIUM : PROTO_SEV_LOW,
                         "Certificate %s expires on %s (in %ld days)%s. Fix: renew it before then",
                         diag_cert_label(c), when, days,
                         in_use ? "; it is in use for L2TP, IP-HTTPS or SSTP" : "");
        }
        diag_ref_cert(ctx, f, c);
    }
}

/* The earliest time after `now` at which any comparison of a time above changes its outcome:
 * not yet valid -> valid (not_before), valid -> expired (not_after + 1), entering the expiry
 * horizon (not_after - horizon), and, inside it, the next change of the day count. Every
 * rule that reads policy->now must add its boundaries here. */
static int64_t diag_stable_until(const struct proto_snapshot *snap,
                                 const struct proto_policy *policy)
{
    int64_t now = policy->now;
    int64_t horizon = (int64_t)policy->expiry_days * DIAG_DAY_SECONDS;
    int64_t until = INT64_MAX;
    for (size_t i = 0; i < snap->cert_count; i++) {
        const struct proto_cert *c = &snap->certs[i];
        if (!c->parsed) {
            continue; /* no rule reads the times of an unparsed certificate */
        }
        int64_t candidates[3] = {INT64_MAX, INT64_MAX, INT64_MAX};
        if (now < c->not_before) {
            candidates[0] = c->not_before;
        }
        if (now <= c->not_after) {
            candidates[1] = c->not_after == INT64_MAX ? INT64_MAX : c->not_after + 1;
            /* now <= not_after here, so not_after - now cannot overflow. */
            int64_t left = c->not_after - now;
            if (left > horizon) {
                candidates[2] = c->not_after - horizon;
            } else {
                candidates[2] = c->not_after - (left / DIAG_DAY_SECONDS) * DIAG_DAY_SECONDS + 1;
            }
        }
        for (size_t k = 0; k < 3; k++) {
            if (candidates[k] > now && candidates[k] < until) {
                until = candidates[k];
            }
        }
    }
    return until;
}

static int diag_finding_cmp(const void *a, const void *b)
{
    const struct proto_finding *fa = a, *fb = b;
    if (fa->severity != fb->severity) {
        return fa->severity > fb->severity ? -1 : 1;
    }
    int by_id = strcmp(fa->id, fb->id);
    if (by_id != 0) {
        return by_id;
    }
    const char *ca = fa->certs.count ? fa->certs.items[0] : "";
    const char *cb = fb->certs.count ? fb->certs.items[0] : "";
    return strcmp(ca, cb);
}

enum proto_rc proto_diagnose(const struct proto_snapshot *snap, const struct proto_policy *policy,
                             struct proto_diagnosis **out)
{
    *out = NULL;
    struct proto_diagnosis *d = proto_calloc(1, sizeof(*d));
    if (d == NULL) {
        return PROTO_ENOMEM;
    }
    struct diag_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.snap = snap;
    ctx.policy = policy;
    ctx.d = d;

    d->automatic_policy = !(snap->prohibit_ipsec.present && snap->prohibit_ipsec.value == 1);
    d->predicted = -1;
    if (snap->cert_count > 0) {
        d->eligible = proto_calloc(snap->cert_count, sizeof(*d->eligible));
        if (d->eligible == NULL) {
            proto_diagnosis_destroy(d);
            return PROTO_ENOMEM;
        }
    }
    for (size_t i = 0; i < snap->cert_count; i++) {
        if (proto_diagnose_ineligible_reason(&snap->certs[i], policy->now) == NULL) {
            d->eligible[d->eligible_count++] = i;
        }
    }
    if (d->eligible_count > 0) {
        d->predicted = (long)d->eligible[0];
    }

    diag_automatic_policy(&ctx);
    diag_manual_policy(&ctx);
    diag_expiry(&ctx);
    diag_ctx_clear(&ctx);
    if (ctx.result) {
        proto_diagnosis_destroy(d);
        return ctx.result;
    }
    if (d->finding_count > 1) {
        qsort(d->findings, d->finding_count, sizeof(*d->findings), diag_finding_cmp);
    }
    d->stable_until = diag_stable_until(snap, policy);
    *out = d;
    return PROTO_OK;
}
