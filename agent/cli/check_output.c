/* check_output: text and JSON presentation of a diagnosis for `rrasfleet-agent check`. */
#include "check_output.h"

#include <string.h>

#include "alloc.h"
#include "json.h"
#include "timefmt.h"
#include "x509.h"

#define CHECK_COL_SUBJECT 26
#define CHECK_COL_ISSUER 26
#define CHECK_COL_EKU 22

static const char *check_cn(const struct proto_dn *dn)
{
    const char *cn = proto_dn_get(dn, "CN");
    return cn != NULL ? cn : (dn->count > 0 ? dn->attrs[dn->count - 1].value : "");
}

static const char *check_eku_name(const char *oid)
{
    static const struct {
        const char *oid;
        const char *name;
    } names[] = {
        {PROTO_OID_SERVER_AUTH, "ServerAuth"}, {PROTO_OID_CLIENT_AUTH, "ClientAuth"},
        {PROTO_OID_IKE_INTERMEDIATE, "IKE"},   {PROTO_OID_ANY_PURPOSE, "Any"},
        {"1.3.6.1.5.5.7.3.4", "Email"},        {"1.3.6.1.5.5.7.3.3", "CodeSign"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(names[i].oid, oid) == 0) {
            return names[i].name;
        }
    }
    return oid;
}

static void check_eku_text(const struct proto_cert *c, char *buf, size_t size)
{
    if (!c->has_eku) {
        snprintf(buf, size, "(any purpose)");
        return;
    }
    buf[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < c->eku.count && used < size; i++) {
        int n = snprintf(buf + used, size - used, "%s%s", i ? "," : "",
                         check_eku_name(c->eku.items[i]));
        if (n < 0) {
            break;
        }
        used += (size_t)n;
    }
}

/* Prints s in a column of `width`, cutting with "~" so the table stays aligned. */
static void check_cell(FILE *to, const char *s, int width)
{
    int len = (int)strlen(s);
    if (len <= width) {
        fprintf(to, "%-*s ", width, s);
    } else {
        fprintf(to, "%.*s~ ", width - 1, s);
    }
}

static void check_print_policy(FILE *to, const struct proto_snapshot *snap,
                               const struct proto_policy *policy)
{
    if (!snap->prohibit_ipsec.present) {
        fputs("L2TP policy:  automatic (ProhibitIpSec absent): RRAS picks the certificate\n", to);
    } else if (snap->prohibit_ipsec.value == 1) {
        fputs("L2TP policy:  manual (ProhibitIpSec=1): connection-security rules decide\n", to);
    } else {
        fprintf(to, "L2TP policy:  automatic (ProhibitIpSec=%u): RRAS picks the certificate\n",
                snap->prohibit_ipsec.value);
    }
    char *ca = NULL;
    if (policy->has_expected_ca && proto_dn_format(&policy->expected_ca, false, &ca) == PROTO_OK) {
        fprintf(to, "Expected CA:  %s\n", ca);
    } else {
        fputs("Expected CA:  (not set: use --expected-ca to check issuers)\n", to);
    }
    proto_free(ca);
}

static void check_print_store(FILE *to, const struct proto_snapshot *snap,
                              const struct proto_diagnosis *diag, int64_t now)
{
    fprintf(to, "\nLocalMachine\\My, in store order (%zu certificates):\n", snap->cert_count);
    fprintf(to, "  # %-40s %-*s %-*s %-*s %-10s %-3s %s\n", "Thumbprint", CHECK_COL_SUBJECT,
            "Subject", CHECK_COL_ISSUER, "Issuer", CHECK_COL_EKU, "EKU", "Expires", "Key",
            "IKE-eligible");
    for (size_t i = 0; i < snap->cert_count; i++) {
        const struct proto_cert *c = &snap->certs[i];
        char eku[128];
        char expires[32] = "?";
        check_eku_text(c, eku, sizeof(eku));
        if (c->parsed &&
            proto_time_format_rfc3339(c->not_after, expires, sizeof(expires)) == PROTO_OK) {
            expires[10] = '\0';
        }
        const char *why = proto_diagnose_ineligible_reason(c, now);
        fprintf(to, "%3zu %-40s ", c->store_index, c->sha1);
        check_cell(to, c->parsed ? check_cn(&c->subject) : "(unparsed)", CHECK_COL_SUBJECT);
        check_cell(to, c->parsed ? check_cn(&c->issuer) : "", CHECK_COL_ISSUER);
        check_cell(to, eku, CHECK_COL_EKU);
        fprintf(to, "%-10s %-3s ", expires, c->has_private_key ? "yes" : "no");
        if (why == NULL) {
            fputs((long)i == diag->predicted ? "yes  <- predicted L2TP certificate\n" : "yes\n",
                  to);
        } else {
            fprintf(to, "no (%s)\n", why);
        }
    }
}

void agent_check_print_text(FILE *to, const struct proto_snapshot *snap,
                            const struct proto_diagnosis *diag, const struct proto_policy *policy)
{
    const struct proto_host *h = &snap->host;
    fprintf(to, "Host:         %s", h->fqdn ? h->fqdn : (h->hostname ? h->hostname : "(unknown)"));
    if (h->os != NULL) {
        fprintf(to, " (%s)", h->os);
    }
    fputc('\n', to);
    check_print_policy(to, snap, policy);
    check_print_store(to, snap, diag, policy->now);

    fputs("\nPredicted L2TP certificate: ", to);
    if (!diag->automatic_policy) {
        fputs("not used (ProhibitIpSec=1: the manual rule decides)\n", to);
    } else if (diag->predicted < 0) {
        fputs("none\n", to);
    } else {
        const struct proto_cert *p = &snap->certs[diag->predicted];
        fprintf(to, "%s (%s)\n", check_cn(&p->subject), p->sha1);
    }
    if (snap->rules_available) {
        fprintf(to, "Connection-security rules: %zu\n", snap->rule_count);
    } else {
        fputs("Connection-security rules: unknown (source unavailable)\n", to);
    }

    fprintf(to, "\nFindings (%zu):\n", diag->finding_count);
    if (diag->finding_count == 0) {
        fputs("  none\n", to);
    }
    for (size_t i = 0; i < diag->finding_count; i++) {
        const struct proto_finding *f = &diag->findings[i];
        fprintf(to, "  [%s] %s\n      %s\n", proto_severity_str(f->severity), f->id, f->message);
    }
    if (snap->error_count > 0) {
        fprintf(to, "\nCould not read (%zu):\n", snap->error_count);
        for (size_t i = 0; i < snap->error_count; i++) {
            fprintf(to, "  %s: %s\n", snap->errors[i].source, snap->errors[i].message);
        }
    }
}

static cJSON *check_policy_json(const struct proto_policy *policy)
{
    cJSON *obj = cJSON_CreateObject();
    char now[32];
    char *ca = NULL;
    if (obj == NULL || proto_time_format_rfc3339(policy->now, now, sizeof(now)) != PROTO_OK) {
        cJSON_Delete(obj);
        return NULL;
    }
    if (policy->has_expected_ca && proto_dn_format(&policy->expected_ca, false, &ca) != PROTO_OK) {
        cJSON_Delete(obj);
        return NULL;
    }
    bool ok = cJSON_AddStringToObject(obj, "now", now) != NULL &&
              cJSON_AddNumberToObject(obj, "expiry_days", policy->expiry_days) != NULL &&
              (ca ? cJSON_AddStringToObject(obj, "expected_ca", ca)
                  : cJSON_AddNullToObject(obj, "expected_ca")) != NULL;
    proto_free(ca);
    if (!ok) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

static cJSON *check_l2tp_json(const struct proto_snapshot *snap, const struct proto_diagnosis *diag)
{
    cJSON *l2tp = cJSON_CreateObject();
    cJSON *eligible = cJSON_AddArrayToObject(l2tp, "eligible");
    if (l2tp == NULL || eligible == NULL ||
        cJSON_AddBoolToObject(l2tp, "automatic_policy", diag->automatic_policy) == NULL) {
        cJSON_Delete(l2tp);
        return NULL;
    }
    if (diag->predicted >= 0) {
        const struct proto_cert *p = &snap->certs[diag->predicted];
        cJSON *pred = cJSON_AddObjectToObject(l2tp, "predicted");
        if (pred == NULL || cJSON_AddStringToObject(pred, "sha1", p->sha1) == NULL ||
            cJSON_AddStringToObject(pred, "subject_cn", check_cn(&p->subject)) == NULL ||
            cJSON_AddNumberToObject(pred, "store_index", (double)p->store_index) == NULL) {
            cJSON_Delete(l2tp);
            return NULL;
        }
    } else if (cJSON_AddNullToObject(l2tp, "predicted") == NULL) {
        cJSON_Delete(l2tp);
        return NULL;
    }
    for (size_t i = 0; i < diag->eligible_count; i++) {
        cJSON *s = cJSON_CreateString(snap->certs[diag->eligible[i]].sha1);
        if (s == NULL || !cJSON_AddItemToArray(eligible, s)) {
            cJSON_Delete(s);
            cJSON_Delete(l2tp);
            return NULL;
        }
    }
    return l2tp;
}

static bool check_add(cJSON *obj, const char *key, cJSON *item)
{
    if (item == NULL) {
        return false;
    }
    if (!cJSON_AddItemToObject(obj, key, item)) {
        cJSON_Delete(item);
        return false;
    }
    return true;
}

cJSON *agent_check_to_json(const struct proto_snapshot *snap, const struct proto_diagnosis *diag,
                           const struct proto_policy *policy)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *snapshot = proto_json_from_snapshot(snap);
    /* Each step runs only if the previous ones worked; check_add frees what it cannot attach. */
    bool ok = root != NULL && snapshot != NULL;
    ok = ok && check_add(root, "host", proto_json_from_host(&snap->host));
    ok = ok && check_add(root, "policy", check_policy_json(policy));
    ok = ok && check_add(root, "certs", cJSON_DetachItemFromObject(snapshot, "certs"));
    ok = ok && check_add(root, "l2tp", check_l2tp_json(snap, diag));
    ok = ok && check_add(root, "findings", cJSON_CreateArray());
    ok = ok && check_add(root, "errors", cJSON_DetachItemFromObject(snapshot, "errors"));
    cJSON *findings = ok ? cJSON_GetObjectItemCaseSensitive(root, "findings") : NULL;
    for (size_t i = 0; ok && i < diag->finding_count; i++) {
        cJSON *f = proto_json_from_finding(&diag->findings[i]);
        ok = f != NULL && cJSON_AddItemToArray(findings, f);
        if (!ok) {
            cJSON_Delete(f);
        }
    }
    cJSON_Delete(snapshot);
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}
