/*
 * netsh_replay: netsh's consec commands played against a rule list (see netsh_replay.h).
 *
 * The rules live in a proto_snapshot (its caps and appender); a command is recognised by its
 * first words, compared without regard to case as netsh does. Add goes through the same table
 * as the agent's builder (netsh_rule.c), so what the replay prints is what the agent's model of
 * netsh says Windows prints; a mismatch between the two can only be a bug in that one table.
 * Failures are decided before a command changes anything, so an injected failure never leaves
 * half a change behind.
 */
#include "netsh_replay.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "caps.h"
#include "netsh_consec.h"
#include "strv.h"
#include "text.h"

#define REPLAY_COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define REPLAY_WHY_BYTES 256u

enum replay_verb { REPLAY_SHOW, REPLAY_ADD, REPLAY_DELETE, REPLAY_OTHER, REPLAY_VERB_COUNT };

static const char *const replay_verbs[REPLAY_VERB_COUNT] = {"show", "add", "delete", ""};

struct agent_netsh_replay {
    struct agent_netsh_runner runner;
    struct proto_snapshot *snap; /* the rules */
    const char *encoding;        /* "cp437" or "cp850" */
    char *globals_text[3];       /* owned copies behind `globals` */
    struct agent_netsh_rule_globals globals;
    /* injected failure */
    int fail_verb; /* -1: any */
    unsigned long fail_nth;
    enum agent_netsh_replay_failure fail_how;
    unsigned long calls; /* over all verbs */
    unsigned long verb_calls[REPLAY_VERB_COUNT];
    struct proto_strv log;
};

/* ---- output ---------------------------------------------------------------------------------- */

/* Turns `text` (UTF-8, LF) into what netsh writes to a pipe into *out. */
static enum proto_rc replay_emit(const struct agent_netsh_replay *r, const char *text, size_t len,
                                 uint32_t exit_code, size_t max_bytes,
                                 struct agent_netsh_output *out, char *why, size_t why_size)
{
    unsigned char *bytes = NULL;
    size_t n = 0;
    enum proto_rc result = PROTO_OK;
    if (len > 0) {
        result = proto_text_encode(text, len, r->encoding, true, &bytes, &n);
    }
    if (result) {
        proto_errf(why, why_size, "replay: cannot encode the output: %s", proto_rc_str(result));
        return result;
    }
    if (n > max_bytes) {
        proto_free(bytes);
        proto_errf(why, why_size, "netsh wrote more than %zu bytes and was stopped", max_bytes);
        return PROTO_ELIMIT;
    }
    out->bytes = bytes;
    out->len = n;
    out->exit_code = exit_code;
    return PROTO_OK;
}

/* ---- the rules ------------------------------------------------------------------------------- */

static bool replay_named(const struct proto_consec_rule *rule, const char *name)
{
    const char *n = rule->field[PROTO_RULE_NAME];
    return n != NULL && (strcasecmp(name, "all") == 0 || strcmp(n, name) == 0);
}

/* The listing of the rules `name` selects ("all": every rule) into text. */
static enum proto_rc replay_show_text(const struct agent_netsh_replay *r, const char *name,
                                      struct proto_buf *text, size_t *shown)
{
    const struct proto_snapshot *s = r->snap;
    struct proto_consec_rule *subset = NULL;
    size_t count = 0;
    if (s->rule_count > 0) {
        /* Shallow copies: the printer only reads them. */
        subset = proto_calloc(s->rule_count, sizeof(*subset));
        if (subset == NULL) {
            return PROTO_ENOMEM;
        }
    }
    for (size_t i = 0; i < s->rule_count; i++) {
        if (replay_named(&s->rules[i], name)) {
            subset[count++] = s->rules[i];
        }
    }
    enum proto_rc result = proto_netsh_consec_print(subset, count, 0, text);
    proto_free(subset);
    *shown = count;
    return result;
}

/* Removes every rule named exactly `name`; how many went. */
static size_t replay_drop(struct agent_netsh_replay *r, const char *name)
{
    struct proto_snapshot *s = r->snap;
    size_t kept = 0, dropped = 0;
    for (size_t i = 0; i < s->rule_count; i++) {
        const char *n = s->rules[i].field[PROTO_RULE_NAME];
        if (n != NULL && strcmp(n, name) == 0) {
            proto_rule_clear(&s->rules[i]);
            dropped++;
            continue;
        }
        if (kept != i) {
            s->rules[kept] = s->rules[i];
            memset(&s->rules[i], 0, sizeof(s->rules[i]));
        }
        kept++;
    }
    s->rule_count = kept;
    return dropped;
}

/* The value of `keyword=` in args[from..count), or NULL; *other is set when a word is neither
 * that keyword nor one of `allowed`. */
static const char *replay_keyword(const char *const *args, size_t from, size_t count,
                                  const char *keyword, const char *allowed, bool *other)
{
    const char *value = NULL;
    size_t n = strlen(keyword);
    *other = false;
    for (size_t i = from; i < count; i++) {
        if (strncasecmp(args[i], keyword, n) == 0 && args[i][n] == '=') {
            value = args[i] + n + 1;
        } else if (allowed == NULL || strcasecmp(args[i], allowed) != 0) {
            *other = true;
        }
    }
    return value;
}

/* ---- the runner ------------------------------------------------------------------------------ */

static enum replay_verb replay_verb_of(const char *const *args, size_t count)
{
    if (count >= 4 && strcasecmp(args[0], "advfirewall") == 0 &&
        strcasecmp(args[1], "consec") == 0 && strcasecmp(args[3], "rule") == 0) {
        for (int v = 0; v < REPLAY_OTHER; v++) {
            if (strcasecmp(args[2], replay_verbs[v]) == 0) {
                return (enum replay_verb)v;
            }
        }
    }
    return REPLAY_OTHER;
}

static enum proto_rc replay_log(struct agent_netsh_replay *r, const char *const *args, size_t count)
{
    struct proto_buf line;
    enum proto_rc result = PROTO_OK;
    if (r->log.count >= AGENT_NETSH_REPLAY_MAX_LOG) {
        return PROTO_OK;
    }
    proto_buf_init(&line, AGENT_NETSH_CMDLINE_MAX);
    for (size_t i = 0; i < count && result == PROTO_OK; i++) {
        result = proto_buf_appendf(&line, "%s%s", i > 0 ? " " : "", args[i]);
    }
    if (result == PROTO_OK) {
        result = proto_strv_push(&r->log, proto_buf_str(&line), AGENT_NETSH_REPLAY_MAX_LOG);
    }
    proto_buf_free(&line);
    return result;
}

static enum proto_rc replay_run(void *ctx, const char *const *args, size_t count, size_t max_bytes,
                                uint32_t timeout_ms, struct agent_netsh_output *out, char *why,
                                size_t why_size)
{
    struct agent_netsh_replay *r = ctx;
    struct proto_buf text;
    char complaint[REPLAY_WHY_BYTES];
    uint32_t exit_code = 0;
    enum proto_rc result = PROTO_OK;
    (void)timeout_ms;

    memset(out, 0, sizeof(*out));
    proto_errf(why, why_size, "%s", "");
    if (r == NULL || (args == NULL && count > 0) || count > AGENT_NETSH_MAX_ARGS) {
        return PROTO_EINVAL;
    }
    for (size_t i = 0; i < count; i++) {
        if (args[i] == NULL) {
            return PROTO_EINVAL;
        }
    }
    enum replay_verb verb = replay_verb_of(args, count);
    r->calls++;
    r->verb_calls[verb]++;
    result = replay_log(r, args, count);
    if (result) {
        return result;
    }
    if (r->fail_nth > 0 &&
        (r->fail_verb < 0 ? r->calls : r->verb_calls[r->fail_verb]) == r->fail_nth &&
        (r->fail_verb < 0 || r->fail_verb == (int)verb)) {
        r->fail_nth = 0;
        switch (r->fail_how) {
        case AGENT_NETSH_REPLAY_FAIL_NO_START:
            proto_errf(why, why_size, "cannot start netsh.exe (replay: injected failure)");
            return PROTO_EIO;
        case AGENT_NETSH_REPLAY_FAIL_SILENT:
            return replay_emit(r, "", 0, 0, max_bytes, out, why, why_size);
        default: {
            static const char msg[] = "\nAn error occurred (replay: injected failure).\n\n";
            return replay_emit(r, msg, sizeof(msg) - 1, 1, max_bytes, out, why, why_size);
        }
        }
    }

    proto_buf_init(&text, 2u * PROTO_MAX_TEXT_FILE_BYTES);
    bool other = false;
    complaint[0] = '\0';
    switch (verb) {
    case REPLAY_SHOW: {
        const char *name = replay_keyword(args, 4, count, "name", "verbose", &other);
        size_t shown = 0;
        if (name == NULL || other) {
            proto_errf(complaint, sizeof(complaint),
                       "The replay takes `show rule name=NAME [verbose]` only.");
            break;
        }
        result = replay_show_text(r, name, &text, &shown);
        exit_code = shown > 0 ? 0 : 1;
        break;
    }
    case REPLAY_DELETE: {
        const char *name = replay_keyword(args, 4, count, "name", NULL, &other);
        if (name == NULL || other || strcasecmp(name, "all") == 0) {
            proto_errf(complaint, sizeof(complaint),
                       "The replay takes `delete rule name=NAME` only.");
            break;
        }
        size_t dropped = replay_drop(r, name);
        result = dropped > 0 ? proto_buf_appendf(&text, "\nDeleted %zu rule(s).\nOk.\n\n", dropped)
                             : proto_netsh_consec_print(NULL, 0, 0, &text);
        exit_code = dropped > 0 ? 0 : 1;
        break;
    }
    case REPLAY_ADD: {
        struct proto_consec_rule rule, *slot = NULL;
        result = agent_netsh_rule_from_add_args(args, count, &r->globals, &rule, complaint,
                                                sizeof(complaint));
        if (result == PROTO_EPARSE) {
            result = PROTO_OK;
            break;
        }
        if (result == PROTO_OK) {
            result = proto_snapshot_add_rule(r->snap, &slot);
            if (result) {
                proto_rule_clear(&rule);
            }
        }
        if (result == PROTO_ELIMIT) {
            result = PROTO_OK;
            proto_errf(complaint, sizeof(complaint), "The replay holds %u rules already.",
                       PROTO_MAX_RULES);
            break;
        }
        if (result == PROTO_OK) {
            *slot = rule;
            result = proto_buf_append_str(&text, "Ok.\n\n");
        }
        break;
    }
    default:
        if (count == 3 && strcasecmp(args[0], "http") == 0 && strcasecmp(args[1], "show") == 0 &&
            strcasecmp(args[2], "sslcert") == 0) {
            break; /* as Wine's stub: exit 0, nothing printed */
        }
        proto_errf(complaint, sizeof(complaint), "The following command was not found: %.64s %.64s",
                   count > 0 ? args[0] : "", count > 1 ? args[1] : "");
        break;
    }
    if (result == PROTO_OK && complaint[0] != '\0') {
        exit_code = 1;
        proto_buf_reset(&text);
        result = proto_buf_appendf(&text, "%s\n\n", complaint);
    }
    if (result == PROTO_OK) {
        result = replay_emit(r, proto_buf_str(&text), text.len, exit_code, max_bytes, out, why,
                             why_size);
    } else if (why != NULL && why[0] == '\0') {
        proto_errf(why, why_size, "replay: %s", proto_rc_str(result));
    }
    proto_buf_free(&text);
    return result;
}

/* ---- lifetime and set-up --------------------------------------------------------------------- */

struct agent_netsh_replay *agent_netsh_replay_create(unsigned oem_codepage)
{
    struct agent_netsh_replay *r = proto_calloc(1, sizeof(*r));
    if (r == NULL) {
        return NULL;
    }
    r->snap = proto_snapshot_create();
    if (r->snap == NULL) {
        proto_free(r);
        return NULL;
    }
    r->encoding = oem_codepage == 850u ? "cp850" : "cp437";
    r->globals = agent_netsh_rule_default_globals;
    r->fail_verb = -1;
    r->runner.run = replay_run;
    r->runner.ctx = r;
    return r;
}

void agent_netsh_replay_destroy(struct agent_netsh_replay *r)
{
    if (r == NULL) {
        return;
    }
    proto_snapshot_destroy(r->snap);
    for (size_t i = 0; i < REPLAY_COUNT(r->globals_text); i++) {
        proto_free(r->globals_text[i]);
    }
    proto_strv_clear(&r->log);
    proto_free(r);
}

enum proto_rc agent_netsh_replay_set_globals(struct agent_netsh_replay *r,
                                             const struct agent_netsh_rule_globals *globals)
{
    if (r == NULL || globals == NULL) {
        return PROTO_EINVAL;
    }
    const char *in[3] = {globals->main_mode_sec_methods, globals->main_mode_key_lifetime,
                         globals->quick_mode_sec_methods};
    const char **slot[3] = {&r->globals.main_mode_sec_methods, &r->globals.main_mode_key_lifetime,
                            &r->globals.quick_mode_sec_methods};
    for (size_t i = 0; i < 3; i++) {
        if (in[i] == NULL) {
            continue;
        }
        char *copy = proto_strdup(in[i]);
        if (copy == NULL) {
            return PROTO_ENOMEM;
        }
        proto_free(r->globals_text[i]);
        r->globals_text[i] = copy;
        *slot[i] = copy;
    }
    return PROTO_OK;
}

enum proto_rc agent_netsh_replay_load(struct agent_netsh_replay *r, const char *text, size_t len,
                                      char *why, size_t why_size)
{
    proto_errf(why, why_size, "%s", "");
    if (r == NULL || (text == NULL && len > 0)) {
        return PROTO_EINVAL;
    }
    struct proto_snapshot *snap = proto_snapshot_create();
    if (snap == NULL) {
        return PROTO_ENOMEM;
    }
    enum proto_rc result = proto_netsh_consec_parse(text, len, "replay", snap);
    if (result == PROTO_EUNAVAILABLE) {
        result = PROTO_OK; /* nothing: no rules (the parser's error entry is not used) */
    }
    if (result) {
        proto_errf(why, why_size, "the listing cannot be read: %s",
                   snap->error_count > 0 ? snap->errors[0].message : proto_rc_str(result));
        proto_snapshot_destroy(snap);
        return result == PROTO_ENOMEM ? result : PROTO_EPARSE;
    }
    for (size_t i = 0; i < snap->rule_count; i++) {
        const struct proto_consec_rule *rule = &snap->rules[i];
        if (rule->labels_unrecognised || rule->psk_redacted) {
            proto_errf(why, why_size, "rule \"%.64s\" cannot be printed back (%s)",
                       rule->field[PROTO_RULE_NAME] ? rule->field[PROTO_RULE_NAME] : "",
                       rule->psk_redacted ? "its pre-shared key was redacted" : "localized labels");
            proto_snapshot_destroy(snap);
            return PROTO_EPARSE;
        }
    }
    for (size_t i = 0; i < snap->rule_count; i++) {
        const char *mm = snap->rules[i].field[PROTO_RULE_MM_SEC_METHODS];
        if (mm != NULL) {
            struct agent_netsh_rule_globals g = {
                mm, snap->rules[i].field[PROTO_RULE_MM_KEY_LIFETIME], NULL};
            result = agent_netsh_replay_set_globals(r, &g);
            break;
        }
    }
    if (result) {
        proto_snapshot_destroy(snap);
        return result;
    }
    proto_snapshot_destroy(r->snap);
    r->snap = snap;
    return PROTO_OK;
}

void agent_netsh_replay_fail(struct agent_netsh_replay *r, const char *verb, unsigned long nth,
                             enum agent_netsh_replay_failure how)
{
    if (r == NULL) {
        return;
    }
    r->fail_verb = -1;
    for (int v = 0; verb != NULL && v < REPLAY_OTHER; v++) {
        if (strcasecmp(verb, replay_verbs[v]) == 0) {
            r->fail_verb = v;
        }
    }
    if (verb != NULL && r->fail_verb < 0) {
        r->fail_verb = REPLAY_OTHER;
    }
    /* The count starts now: "the 1st add" means the next one. */
    r->fail_nth = nth == 0 ? 0 : nth + (r->fail_verb < 0 ? r->calls : r->verb_calls[r->fail_verb]);
    r->fail_how = how;
}

const struct agent_netsh_runner *agent_netsh_replay_runner(struct agent_netsh_replay *r)
{
    return r != NULL ? &r->runner : NULL;
}

enum proto_rc agent_netsh_replay_listing(const struct agent_netsh_replay *r, struct proto_buf *out)
{
    if (r == NULL || out == NULL) {
        return PROTO_EINVAL;
    }
    return proto_netsh_consec_print(r->snap->rules, r->snap->rule_count, 0, out);
}

const struct proto_consec_rule *agent_netsh_replay_rules(const struct agent_netsh_replay *r,
                                                         size_t *count)
{
    *count = r != NULL ? r->snap->rule_count : 0;
    return r != NULL ? r->snap->rules : NULL;
}

size_t agent_netsh_replay_call_count(const struct agent_netsh_replay *r)
{
    return r != NULL ? (size_t)r->calls : 0;
}

const char *agent_netsh_replay_call(const struct agent_netsh_replay *r, size_t i)
{
    return r != NULL && i < r->log.count ? r->log.items[i] : NULL;
}
