/*
 * apply: plan, dry-run, apply with read-back, rollback and crash recovery.
 *
 * The engine's one rule: before a step changes anything its pre-state is in the journal on
 * disk, and undoing a step means restoring that pre-state, which is harmless when the change
 * never happened. So a failure at any point, or a crash, is undone by restoring every journalled
 * pre-state, last first; a started step is undone too (its change may have landed). A rule
 * with namesakes is refused rather than replaced: only the first one could be restored.
 */
#include "apply.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "allow_list.h"
#include "buf.h"
#include "state.h"
#include "uuid.h"
#include "whatif.h"

#define APPLY_TEXT_MAX 2048u
#define APPLY_REASON_BYTES 1024u

static void apply_fmt(char *out, size_t size, const char *fmt, ...) PROTO_PRINTF_LIKE(3, 4);

static void apply_fmt(char *out, size_t size, const char *fmt, ...)
{
    if (out == NULL || size == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, size, fmt, ap);
    va_end(ap);
    if (n < 0) {
        out[0] = '\0';
    }
}

static enum proto_rc apply_set_reason(struct proto_result *res, const char *reason)
{
    char *copy = proto_strdup(reason != NULL ? reason : "");
    if (copy == NULL) {
        return PROTO_ENOMEM;
    }
    proto_free(res->reason);
    res->reason = copy;
    return PROTO_OK;
}

static enum proto_rc apply_add_step(struct proto_result *res, enum proto_action_type action,
                                    const char *before, const char *after,
                                    enum proto_step_status status, struct proto_result_step **out)
{
    struct proto_result_step *step = NULL;
    enum proto_rc result = proto_wire_result_add_step(res, &step);
    if (result) {
        return result;
    }
    step->action = action;
    step->status = status;
    step->before = proto_strdup(before != NULL ? before : "");
    step->after = proto_strdup(after != NULL ? after : "");
    if (step->before == NULL || step->after == NULL) {
        return PROTO_ENOMEM;
    }
    if (out != NULL) {
        *out = step;
    }
    return PROTO_OK;
}

static enum proto_rc apply_header(struct proto_result *res, const struct proto_profile *profile,
                                  const char *host, int64_t now)
{
    enum proto_rc result = proto_uuid_v4(res->result_id);
    if (result) {
        return result;
    }
    if (profile != NULL) {
        snprintf(res->profile_id, sizeof(res->profile_id), "%s", profile->profile_id);
        res->serial = profile->serial;
    }
    snprintf(res->host, sizeof(res->host), "%s",
             host != NULL ? host : (profile != NULL ? profile->target : ""));
    res->finished_at = now;
    return PROTO_OK;
}

enum proto_rc agent_apply_refuse(struct proto_result *res, const struct proto_profile *profile,
                                 const char *host, int64_t now, const char *reason)
{
    enum proto_rc result = apply_header(res, profile, host, now);
    res->outcome = PROTO_OUTCOME_REFUSED;
    return result ? result : apply_set_reason(res, reason);
}

/* ---- states and their text ------------------------------------------------------------------ */

static bool apply_same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Every field the rule owns equal (printed or not, and the same text) and no unknown labels:
 * the rule netsh would show is the one wanted. The host's main mode and the rule source are
 * not the rule's (decision 018). Appends the labels that differ to `diff` when given. */
static bool apply_rule_equal(const struct proto_consec_rule *have,
                             const struct proto_consec_rule *want, struct proto_buf *diff)
{
    bool equal = have->extra_count == want->extra_count;
    for (int f = 0; f < PROTO_RULE_FIELD_COUNT; f++) {
        if (proto_rule_field_host_owned(f)) {
            continue;
        }
        if (!apply_same(have->field[f], want->field[f])) {
            if (diff != NULL) {
                (void)proto_buf_appendf(diff, "%s%s", equal ? "" : ", ",
                                        proto_rule_fields[f].label);
            }
            equal = false;
        }
    }
    for (size_t e = 0; equal && e < have->extra_count; e++) {
        equal = apply_same(have->extra[e].key, want->extra[e].key) &&
                apply_same(have->extra[e].value, want->extra[e].value);
    }
    return equal;
}

static void apply_dword_text(char *out, size_t size, enum proto_dword_name name,
                             const struct agent_dword_state *s)
{
    if (s->present) {
        apply_fmt(out, size, "%s=0x%x", proto_dword_allow_list[name].name, (unsigned)s->value);
    } else {
        apply_fmt(out, size, "%s absent", proto_dword_allow_list[name].name);
    }
}

static void apply_rule_text(char *out, size_t size, const char *name,
                            const struct agent_rule_state *s, const struct proto_consec_rule *want)
{
    struct proto_buf diff;
    proto_buf_init(&diff, APPLY_TEXT_MAX / 2);
    if (s->count == 0) {
        apply_fmt(out, size, "rule \"%s\" absent", name);
    } else if (s->count > 1) {
        apply_fmt(out, size, "%zu rules named \"%s\"", s->count, name);
    } else if (want == NULL) {
        apply_fmt(out, size, "rule \"%s\" present (Enabled=%s, Auth1CAName=%s)", name,
                  s->rule.field[PROTO_RULE_ENABLED] ? s->rule.field[PROTO_RULE_ENABLED] : "",
                  s->rule.field[PROTO_RULE_AUTH1_CA_NAME] ? s->rule.field[PROTO_RULE_AUTH1_CA_NAME]
                                                          : "");
    } else if (apply_rule_equal(&s->rule, want, &diff)) {
        apply_fmt(out, size, "rule \"%s\" present, as intended", name);
    } else {
        apply_fmt(out, size, "rule \"%s\" present, differs in %s", name, proto_buf_str(&diff));
    }
    proto_buf_free(&diff);
}

static void apply_intended_rule_text(char *out, size_t size, const struct proto_consec_rule *r)
{
    const char *const *f = (const char *const *)r->field;
    apply_fmt(out, size,
              "rule \"%s\": Enabled=%s, Profiles=%s, Endpoint1=%s, Endpoint2=%s, Port1=%s, "
              "Port2=%s, Protocol=%s, Auth1CAName=%s (%s), MainModeSecMethods=%s, "
              "QuickModeSecMethods=%s, QuickModePFS=%s",
              f[PROTO_RULE_NAME], f[PROTO_RULE_ENABLED], f[PROTO_RULE_PROFILES],
              f[PROTO_RULE_ENDPOINT1], f[PROTO_RULE_ENDPOINT2], f[PROTO_RULE_PORT1],
              f[PROTO_RULE_PORT2], f[PROTO_RULE_PROTOCOL], f[PROTO_RULE_AUTH1_CA_NAME],
              f[PROTO_RULE_AUTH1_CERT_TYPE], f[PROTO_RULE_MM_SEC_METHODS],
              f[PROTO_RULE_QM_SEC_METHODS], f[PROTO_RULE_QM_PFS]);
}

/* One action's plan: its pre-state read from the host, the texts, whether it changes
 * anything, and the rule it would put (owned). */
struct apply_plan {
    struct agent_journal_step pre; /* action, dword/rule name, pre-state */
    struct proto_consec_rule want; /* ipsec_rule_ensure only */
    bool changes;
    bool unsupported; /* the host holds what the engine will not replace */
    char before[APPLY_TEXT_MAX];
    char after[APPLY_TEXT_MAX];
};

static void apply_plan_clear(struct apply_plan *p)
{
    proto_free(p->pre.rule_name);
    agent_rule_state_clear(&p->pre.rule_pre);
    proto_rule_clear(&p->want);
    memset(p, 0, sizeof(*p));
}

static const char *apply_service_name(enum proto_service s)
{
    const struct agent_allow_service *e = agent_allow_service(s);
    return e != NULL ? e->name : "";
}

/* Asks the host, before anything changes, whether it can put the rule the action wants and,
 * should the apply roll back, re-create the rule there is now exactly as it is (a host whose
 * rules go through netsh cannot set every field a listing shows). */
static void apply_plan_check_rules(struct agent_system *sys, struct apply_plan *p,
                                   const struct proto_consec_rule *want, const char *name)
{
    char why[AGENT_SYSTEM_REASON_BYTES];
    const struct agent_rule_state *s = &p->pre.rule_pre;
    if (sys->rule_check == NULL) {
        return;
    }
    if (want != NULL && sys->rule_check(sys, want) != PROTO_OK) {
        apply_fmt(why, sizeof(why), "%s", sys->reason);
        apply_fmt(sys->reason, sizeof(sys->reason), "rule \"%.64s\" cannot be made here: %s", name,
                  why);
        p->unsupported = true;
    } else if (s->count == 1 && sys->rule_check(sys, &s->rule) != PROTO_OK) {
        apply_fmt(why, sizeof(why), "%s", sys->reason);
        apply_fmt(sys->reason, sizeof(sys->reason),
                  "rule \"%.64s\" as it stands could not be restored on rollback, so it is not "
                  "changed: %s",
                  name, why);
        p->unsupported = true;
    }
}

/* Reads the action's current state and says what it would do. */
static enum proto_rc apply_plan_action(struct agent_system *sys, const struct proto_action *a,
                                       struct apply_plan *p)
{
    enum proto_rc result = PROTO_OK;
    memset(p, 0, sizeof(*p));
    p->pre.action = a->type;
    sys->reason[0] = '\0';
    switch (a->type) {
    case PROTO_ACTION_REGISTRY_DWORD_SET: {
        struct agent_dword_state want = {true, a->u.dword.data};
        p->pre.dword = a->u.dword.name;
        result = sys->dword_get(sys, a->u.dword.name, &p->pre.dword_pre);
        if (result) {
            return result;
        }
        apply_dword_text(p->before, sizeof(p->before), a->u.dword.name, &p->pre.dword_pre);
        apply_dword_text(p->after, sizeof(p->after), a->u.dword.name, &want);
        p->changes = !p->pre.dword_pre.present || p->pre.dword_pre.value != a->u.dword.data;
        return PROTO_OK;
    }
    case PROTO_ACTION_IPSEC_RULE_ENSURE:
    case PROTO_ACTION_IPSEC_RULE_REMOVE: {
        bool ensure = a->type == PROTO_ACTION_IPSEC_RULE_ENSURE;
        const char *name = ensure ? a->u.rule.name : a->u.remove.name;
        p->pre.rule_name = proto_strdup(name);
        if (p->pre.rule_name == NULL) {
            return PROTO_ENOMEM;
        }
        if (ensure) {
            result = proto_rule_from_spec(&a->u.rule, &p->want);
            if (result) {
                return result;
            }
        }
        result = sys->rule_get(sys, name, &p->pre.rule_pre);
        if (result) {
            return result;
        }
        const struct agent_rule_state *s = &p->pre.rule_pre;
        apply_rule_text(p->before, sizeof(p->before), name, s, ensure ? &p->want : NULL);
        if (ensure) {
            apply_intended_rule_text(p->after, sizeof(p->after), &p->want);
            p->changes = s->count != 1 || !apply_rule_equal(&s->rule, &p->want, NULL);
        } else {
            apply_fmt(p->after, sizeof(p->after), "rule \"%s\" absent", name);
            p->changes = s->count > 0;
        }
        if (s->count > 1) {
            p->unsupported = true;
            apply_fmt(sys->reason, sizeof(sys->reason),
                      "%zu rules are named \"%.64s\": only one could be restored on rollback, so "
                      "none is changed",
                      s->count, name);
        } else if (p->changes) {
            apply_plan_check_rules(sys, p, ensure ? &p->want : NULL, name);
        }
        return PROTO_OK;
    }
    case PROTO_ACTION_SERVICE_RESTART:
        apply_fmt(p->before, sizeof(p->before), "%s", apply_service_name(a->u.restart.service));
        apply_fmt(p->after, sizeof(p->after), "%s restarted",
                  apply_service_name(a->u.restart.service));
        p->changes = true;
        return PROTO_OK;
    default:
        return PROTO_EINVAL;
    }
}

/* The change itself. */
static enum proto_rc apply_change(struct agent_system *sys, const struct proto_action *a,
                                  const struct apply_plan *p)
{
    switch (a->type) {
    case PROTO_ACTION_REGISTRY_DWORD_SET:
        return sys->dword_set(sys, a->u.dword.name, a->u.dword.data);
    case PROTO_ACTION_IPSEC_RULE_ENSURE:
        return sys->rule_put(sys, &p->want, AGENT_SYSTEM_APPEND);
    case PROTO_ACTION_IPSEC_RULE_REMOVE:
        return sys->rule_delete(sys, a->u.remove.name);
    case PROTO_ACTION_SERVICE_RESTART:
        return sys->service_restart(sys, a->u.restart.service);
    default:
        return PROTO_EINVAL;
    }
}

/* Reads the state back: PROTO_ECHANGED (with sys->reason) when it is not what was wanted. */
static enum proto_rc apply_read_back(struct agent_system *sys, const struct proto_action *a,
                                     const struct apply_plan *p)
{
    enum proto_rc result = PROTO_OK;
    switch (a->type) {
    case PROTO_ACTION_REGISTRY_DWORD_SET: {
        struct agent_dword_state now;
        result = sys->dword_get(sys, a->u.dword.name, &now);
        if (result == PROTO_OK && (!now.present || now.value != a->u.dword.data)) {
            apply_fmt(sys->reason, sizeof(sys->reason), "read back: %s is not 0x%x",
                      proto_dword_allow_list[a->u.dword.name].name, (unsigned)a->u.dword.data);
            result = PROTO_ECHANGED;
        }
        return result;
    }
    case PROTO_ACTION_IPSEC_RULE_ENSURE:
    case PROTO_ACTION_IPSEC_RULE_REMOVE: {
        struct agent_rule_state now;
        bool ensure = a->type == PROTO_ACTION_IPSEC_RULE_ENSURE;
        const char *name = ensure ? a->u.rule.name : a->u.remove.name;
        result = sys->rule_get(sys, name, &now);
        if (result == PROTO_OK) {
            bool ok = ensure ? now.count == 1 && apply_rule_equal(&now.rule, &p->want, NULL)
                             : now.count == 0;
            if (!ok) {
                apply_fmt(sys->reason, sizeof(sys->reason), "read back: rule \"%.64s\" is %s", name,
                          ensure ? "not as intended" : "still present");
                result = PROTO_ECHANGED;
            }
        }
        agent_rule_state_clear(&now);
        return result;
    }
    default:
        return PROTO_OK;
    }
}

/* Restores one journalled pre-state and reads it back. */
static enum proto_rc apply_undo_step(struct agent_system *sys, const struct agent_journal_step *s)
{
    enum proto_rc result = PROTO_OK;
    sys->reason[0] = '\0';
    switch (s->action) {
    case PROTO_ACTION_REGISTRY_DWORD_SET: {
        struct agent_dword_state now;
        result = s->dword_pre.present ? sys->dword_set(sys, s->dword, s->dword_pre.value)
                                      : sys->dword_delete(sys, s->dword);
        if (result == PROTO_OK) {
            result = sys->dword_get(sys, s->dword, &now);
        }
        if (result == PROTO_OK && (now.present != s->dword_pre.present ||
                                   (now.present && now.value != s->dword_pre.value))) {
            apply_fmt(sys->reason, sizeof(sys->reason), "read back: %s not restored",
                      proto_dword_allow_list[s->dword].name);
            result = PROTO_ECHANGED;
        }
        return result;
    }
    case PROTO_ACTION_IPSEC_RULE_ENSURE:
    case PROTO_ACTION_IPSEC_RULE_REMOVE: {
        struct agent_rule_state now;
        memset(&now, 0, sizeof(now));
        result = s->rule_pre.count == 0
                     ? sys->rule_delete(sys, s->rule_name)
                     : sys->rule_put(sys, &s->rule_pre.rule, s->rule_pre.position);
        if (result == PROTO_OK) {
            result = sys->rule_get(sys, s->rule_name, &now);
        }
        if (result == PROTO_OK &&
            (now.count != (s->rule_pre.count > 0 ? 1u : 0u) ||
             (now.count == 1 && !apply_rule_equal(&now.rule, &s->rule_pre.rule, NULL)))) {
            apply_fmt(sys->reason, sizeof(sys->reason), "read back: rule \"%.64s\" not restored",
                      s->rule_name);
            result = PROTO_ECHANGED;
        }
        agent_rule_state_clear(&now);
        return result;
    }
    default:
        return PROTO_OK; /* a restart cannot be taken back, and needs not be */
    }
}

/* Undoes j's steps from the last to the first. *failed_at (1-based) names the first undo that
 * failed, 0 when all held; reason gets why. */
static enum proto_rc apply_undo_all(struct agent_system *sys, const struct agent_journal *j,
                                    size_t *failed_at, char *reason, size_t reason_size)
{
    enum proto_rc first = PROTO_OK;
    *failed_at = 0;
    for (size_t i = j->step_count; i-- > 0;) {
        enum proto_rc result = apply_undo_step(sys, &j->steps[i]);
        if (result && first == PROTO_OK) {
            first = result;
            *failed_at = i + 1;
            apply_fmt(reason, reason_size, "undo of step %zu (%s) failed: %s", i + 1,
                      proto_wire_action_type_str(j->steps[i].action),
                      sys->reason[0] ? sys->reason : proto_rc_str(result));
        }
    }
    return first;
}

/* The ids of d's findings into v. */
static enum proto_rc apply_finding_ids(const struct proto_diagnosis *d, struct proto_strv *v)
{
    enum proto_rc result = PROTO_OK;
    for (size_t i = 0; d != NULL && i < d->finding_count && result == PROTO_OK; i++) {
        result = proto_strv_push(v, d->findings[i].id, PROTO_MAX_FINDINGS);
    }
    return result;
}

/* Diagnoses snap into ids (nothing when snap is NULL). */
static enum proto_rc apply_diagnose(const struct proto_snapshot *snap,
                                    const struct proto_policy *policy, struct proto_strv *ids)
{
    struct proto_diagnosis *d = NULL;
    if (snap == NULL) {
        return PROTO_OK;
    }
    enum proto_rc result = proto_diagnose(snap, policy, &d);
    if (result == PROTO_OK) {
        result = apply_finding_ids(d, ids);
    }
    proto_diagnosis_destroy(d);
    return result;
}

/* The findings the host shows now, into res->findings_after. */
static enum proto_rc apply_findings_now(struct agent_system *sys, const struct proto_policy *policy,
                                        struct proto_result *res)
{
    struct proto_snapshot *snap = NULL;
    enum proto_rc result = sys->read_snapshot(sys, &snap);
    if (result == PROTO_OK) {
        result = apply_diagnose(snap, policy, &res->findings_after);
    }
    proto_snapshot_destroy(snap);
    return result == PROTO_ENOMEM ? result : PROTO_OK; /* an unreadable host lists none */
}

static enum proto_rc apply_dry_run(struct agent_system *sys, const struct agent_apply_request *req,
                                   const struct proto_snapshot *before, const char *note,
                                   struct proto_result *res)
{
    const struct proto_profile *profile = req->profile;
    struct proto_snapshot *post = NULL;
    struct apply_plan plan;
    char reason[APPLY_REASON_BYTES];
    size_t changes = 0, problems = 0;
    enum proto_rc result = PROTO_OK;

    for (size_t i = 0; i < profile->action_count && result == PROTO_OK; i++) {
        const struct proto_action *a = &profile->actions[i];
        result = apply_plan_action(sys, a, &plan);
        if (result == PROTO_ENOMEM) {
            break;
        }
        bool failed = result != PROTO_OK || plan.unsupported;
        if (result) {
            apply_fmt(plan.before, sizeof(plan.before), "cannot be read: %s",
                      sys->reason[0] ? sys->reason : proto_rc_str(result));
        } else if (plan.unsupported) {
            apply_fmt(plan.before + strlen(plan.before), sizeof(plan.before) - strlen(plan.before),
                      " (%s)", sys->reason);
        }
        result = apply_add_step(res, a->type, plan.before, plan.after,
                                failed ? PROTO_STEP_FAILED : PROTO_STEP_SKIPPED, NULL);
        changes += plan.changes && !failed ? 1 : 0;
        problems += failed ? 1 : 0;
        apply_plan_clear(&plan);
    }
    if (result == PROTO_OK && before != NULL) {
        result = proto_whatif(before, profile, &post);
        if (result == PROTO_OK) {
            result = apply_diagnose(post, req->policy, &res->findings_after);
        }
    }
    if (result == PROTO_OK) {
        res->outcome = PROTO_OUTCOME_PLANNED;
        apply_fmt(reason, sizeof(reason),
                  "dry run: %zu of %zu action(s) would change the host%s%s%s", changes,
                  profile->action_count,
                  problems > 0 ? "; some actions cannot be applied here (see their steps)" : "",
                  note[0] ? "; " : "", note);
        result = apply_set_reason(res, reason);
    }
    proto_snapshot_destroy(post);
    return result;
}

/* The apply proper. */
static enum proto_rc apply_for_real(struct agent_system *sys, const struct agent_apply_request *req,
                                    struct proto_result *res)
{
    const struct proto_profile *profile = req->profile;
    struct agent_journal j;
    struct apply_plan plan;
    struct proto_result_step *steps[PROTO_MAX_PROFILE_ACTIONS];
    char reason[APPLY_REASON_BYTES];
    char undo_reason[APPLY_REASON_BYTES];
    size_t failed_step = 0;
    enum proto_rc result = PROTO_OK;

    memset(&j, 0, sizeof(j));
    memset(&plan, 0, sizeof(plan));
    reason[0] = '\0';
    snprintf(j.system, sizeof(j.system), "%s", sys->id);
    snprintf(j.profile_id, sizeof(j.profile_id), "%s", profile->profile_id);
    j.serial = profile->serial;

    for (size_t i = 0; i < profile->action_count; i++) {
        const struct proto_action *a = &profile->actions[i];
        size_t k = i + 1;
        result = apply_plan_action(sys, a, &plan);
        if (result == PROTO_ENOMEM) {
            goto out;
        }
        if (result || plan.unsupported) {
            apply_fmt(reason, sizeof(reason), "step %zu (%s) failed: %s", k,
                      proto_wire_action_type_str(a->type),
                      sys->reason[0] ? sys->reason : proto_rc_str(result));
            failed_step = k;
            result =
                apply_add_step(res, a->type, plan.before, plan.after, PROTO_STEP_FAILED, &steps[i]);
            apply_plan_clear(&plan);
            break;
        }
        if (!plan.changes) {
            result = apply_add_step(res, a->type, plan.before, plan.after, PROTO_STEP_SKIPPED,
                                    &steps[i]);
            apply_plan_clear(&plan);
            if (result) {
                goto out;
            }
            if (req->crash_after_step == k) {
                result = PROTO_ECHANGED; /* the test hook: stop here, journal and all */
                goto out;
            }
            continue;
        }
        /* Journal first: the pre-state is on disk before the host changes. */
        struct agent_journal_step *js = &j.steps[j.step_count++];
        *js = plan.pre;
        memset(&plan.pre, 0, sizeof(plan.pre));
        js->done = false;
        result = agent_journal_write(req->state_dir, &j);
        if (result == PROTO_OK) {
            sys->reason[0] = '\0';
            result = apply_change(sys, a, &plan);
            if (result == PROTO_OK) {
                result = apply_read_back(sys, a, &plan);
            }
        } else {
            apply_fmt(sys->reason, sizeof(sys->reason), "cannot write the journal: %s",
                      proto_rc_str(result));
        }
        if (result == PROTO_OK) {
            js->done = true;
            result = agent_journal_write(req->state_dir, &j);
            if (result) {
                apply_fmt(sys->reason, sizeof(sys->reason), "cannot write the journal: %s",
                          proto_rc_str(result));
            }
        }
        enum proto_rc added = apply_add_step(res, a->type, plan.before, plan.after,
                                             result ? PROTO_STEP_FAILED : PROTO_STEP_OK, &steps[i]);
        apply_plan_clear(&plan);
        if (added) {
            result = added;
            goto out;
        }
        if (result) {
            apply_fmt(reason, sizeof(reason), "step %zu (%s) failed: %s", k,
                      proto_wire_action_type_str(a->type),
                      sys->reason[0] ? sys->reason : proto_rc_str(result));
            failed_step = k;
            break;
        }
        if (req->crash_after_step == k) {
            result = PROTO_ECHANGED; /* the test hook: stop here, journal and all */
            goto out;
        }
    }
    if (failed_step == 0 && result == PROTO_OK) {
        result = agent_journal_remove(req->state_dir);
        res->outcome = PROTO_OUTCOME_APPLIED;
        apply_fmt(reason, sizeof(reason), "applied %zu action(s)%s", profile->action_count,
                  result ? "; the journal could not be removed and will be undone at the next "
                           "start"
                         : "");
        result = apply_set_reason(res, reason);
        if (result == PROTO_OK) {
            result = apply_findings_now(sys, req->policy, res);
        }
        goto out;
    }
    if (result == PROTO_ENOMEM) {
        goto out;
    }
    /* Roll back: every journalled step, the failed one included. */
    size_t undo_failed = 0;
    undo_reason[0] = '\0';
    enum proto_rc undone = apply_undo_all(sys, &j, &undo_failed, undo_reason, sizeof(undo_reason));
    for (size_t i = 0; undone == PROTO_OK && i + 1 < failed_step; i++) {
        if (steps[i]->status == PROTO_STEP_OK) {
            steps[i]->status = PROTO_STEP_UNDONE;
        }
    }
    for (size_t i = failed_step; i < profile->action_count; i++) {
        result = apply_add_step(res, profile->actions[i].type, "", "", PROTO_STEP_SKIPPED, NULL);
        if (result) {
            goto out;
        }
    }
    if (undone == PROTO_OK) {
        (void)agent_journal_remove(req->state_dir);
    }
    res->outcome = PROTO_OUTCOME_ROLLED_BACK;
    char full[APPLY_REASON_BYTES * 2];
    apply_fmt(full, sizeof(full), "%s; %s", reason,
              undone == PROTO_OK ? "the earlier steps were undone"
                                 : "ROLLBACK INCOMPLETE, the journal is kept for recovery: ");
    if (undone) {
        size_t n = strlen(full);
        apply_fmt(full + n, sizeof(full) - n, "%s", undo_reason);
    }
    result = apply_set_reason(res, full);
    if (result == PROTO_OK) {
        result = apply_findings_now(sys, req->policy, res);
    }
out:
    apply_plan_clear(&plan);
    agent_journal_clear(&j);
    return result;
}

enum proto_rc agent_apply_run(struct agent_system *sys, const struct agent_apply_request *req,
                              struct proto_result *res)
{
    const struct proto_profile *profile = req != NULL ? req->profile : NULL;
    struct proto_snapshot *before = NULL;
    char note[APPLY_REASON_BYTES];
    enum proto_rc result;

    if (sys == NULL || profile == NULL || res == NULL || req->policy == NULL) {
        return PROTO_EINVAL;
    }
    note[0] = '\0';
    if (req->host_mode == AGENT_REMEDIATION_OFF) {
        return agent_apply_refuse(res, profile, NULL, req->now,
                                  "remediation_mode is off on this host: no profile is run");
    }
    bool apply = req->host_mode == AGENT_REMEDIATION_APPLY && profile->mode == PROTO_PROFILE_APPLY;
    if (profile->mode == PROTO_PROFILE_APPLY && !apply) {
        apply_fmt(note, sizeof(note),
                  "the profile asks for apply; this host allows dry-run, so it was only planned");
    }
    if (apply && (req->state_dir == NULL || req->state_dir[0] == '\0')) {
        return agent_apply_refuse(res, profile, NULL, req->now,
                                  "no state folder: the serial cannot be recorded");
    }
    result = apply_header(res, profile, NULL, req->now);
    if (result) {
        return result;
    }
    result = sys->read_snapshot(sys, &before);
    if (result == PROTO_ENOMEM) {
        return result;
    }
    if (result == PROTO_OK) {
        result = apply_diagnose(before, req->policy, &res->findings_before);
        if (result) {
            goto out;
        }
    }
    if (!apply) {
        result = apply_dry_run(sys, req, before, note, res);
        goto out;
    }
    /* The serial is spent before the first change: a crash cannot make it replayable. */
    result = agent_state_record_serial(req->state_dir, profile->target, profile->serial);
    if (result) {
        char why[APPLY_REASON_BYTES];
        apply_fmt(why, sizeof(why), "cannot record the serial in %s: %s", req->state_dir,
                  proto_rc_str(result));
        result = agent_apply_refuse(res, profile, NULL, req->now, why);
        goto out;
    }
    result = apply_for_real(sys, req, res);
out:
    proto_snapshot_destroy(before);
    return result;
}

enum proto_rc agent_apply_recover(struct agent_system *sys, const char *state_dir, bool *recovered,
                                  char *reason, size_t reason_size)
{
    struct agent_journal j;
    size_t failed_at = 0;
    char why[APPLY_REASON_BYTES];

    *recovered = false;
    apply_fmt(reason, reason_size, "%s", "");
    if (state_dir == NULL || state_dir[0] == '\0') {
        return PROTO_OK;
    }
    enum proto_rc result = agent_journal_read(state_dir, &j);
    if (result == PROTO_ENOTFOUND) {
        return PROTO_OK;
    }
    if (result) {
        apply_fmt(reason, reason_size, "the apply journal in %s cannot be read: %s", state_dir,
                  proto_rc_str(result));
        return result;
    }
    if (strcmp(j.system, sys->id) != 0) {
        apply_fmt(reason, reason_size, "the apply journal in %s belongs to %s, not %s", state_dir,
                  j.system, sys->id);
        agent_journal_clear(&j);
        return PROTO_EINVAL;
    }
    why[0] = '\0';
    result = apply_undo_all(sys, &j, &failed_at, why, sizeof(why));
    if (result == PROTO_OK) {
        result = agent_journal_remove(state_dir);
        *recovered = true;
        apply_fmt(reason, reason_size,
                  "recovered an interrupted apply of profile %s (serial %llu): %zu step(s) undone",
                  j.profile_id, (unsigned long long)j.serial, j.step_count);
    } else {
        apply_fmt(reason, reason_size,
                  "recovery of profile %s failed (%s); the journal is kept to try again",
                  j.profile_id, why);
        result = PROTO_EIO;
    }
    agent_journal_clear(&j);
    return result;
}
