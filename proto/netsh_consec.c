/*
 * netsh_consec: reads `netsh advfirewall consec show rule name=all verbose` text into rules.
 *
 * A rule starts at the line before the 70-dash line (or at an English `Rule Name:` line); field
 * lines are `Label:` padded to column 38; any other non-blank line continues the value before it
 * and is appended raw (netsh wraps after a space and keeps it, and a wrap inside a token has no
 * space to restore, so concatenation is exact). Values lose trailing blanks when they end.
 * Auth1PSK values (and those of unknown labels naming a PSK or secret) and their continuations
 * are never copied. Past any cap the parse fails and discards the rules it added.
 * proto_netsh_consec_print is the inverse (the simulated host's writer): the same 38-column
 * labels, dashes and `Ok.`, and optionally netsh's wrapping, so print(parse(x)) == x for every
 * listing whose rules the parser keeps whole.
 */
#include "netsh_consec.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "buf.h"
#include "caps.h"
#include "text.h"

#define CONSEC_LABEL_COLUMN 38u
#define CONSEC_DASHES 70u

static const char consec_no_match[] = "No rules match the specified criteria.";

enum consec_target {
    CONSEC_TARGET_NONE,  /* continuation lines are ignored */
    CONSEC_TARGET_FIELD, /* value goes to rule->field[field] */
    CONSEC_TARGET_EXTRA, /* value goes to rule->extra under extra_key */
    CONSEC_TARGET_DROP,  /* a secret: value and continuations are never copied */
};

struct consec_parser {
    struct proto_snapshot *snap;
    size_t first_rule; /* snap->rule_count on entry, for rollback */
    bool have_rule;
    bool rule_localized; /* current rule's labels are not English: fields are ignored */
    bool awaiting_dash;  /* an English Rule Name line started the rule; its dash not yet seen */
    enum consec_target target;
    int field;
    char extra_key[CONSEC_LABEL_COLUMN + 1];
    struct proto_buf value;
    size_t localized_count;
    size_t extras_dropped;
    bool no_match;
    bool too_many_rules; /* proto_snapshot_add_rule hit PROTO_MAX_RULES */
};

struct consec_label {
    char text[CONSEC_LABEL_COLUMN + 1]; /* label without colon, trailing blanks trimmed */
    const char *value;                  /* after the colon and its padding */
    size_t value_len;
    int field; /* proto_rule_field_by_label(text) */
};

static bool consec_is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static void consec_trim(const char **s, size_t *len)
{
    while (*len > 0 && consec_is_blank((*s)[0])) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && consec_is_blank((*s)[*len - 1])) {
        (*len)--;
    }
}

static bool consec_is_dash_line(const char *s, size_t len)
{
    consec_trim(&s, &len);
    if (len != CONSEC_DASHES) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '-') {
            return false;
        }
    }
    return true;
}

static bool consec_equals_ci(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

/* Unknown labels that may name a secret are treated like Auth1PSK: better to lose a harmless
 * value than to send a key. */
static bool consec_names_secret(const char *label)
{
    static const char *const words[] = {"psk", "preshared", "pre-shared", "secret"};
    for (const char *p = label; *p != '\0'; p++) {
        for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
            if (strncasecmp(p, words[i], strlen(words[i])) == 0) {
                return true;
            }
        }
    }
    return false;
}

/*
 * A label line starts in column 0 with a label and a colon. Either the colon sits before
 * column 38 and only spaces follow it up to column 38 (or the line end), or the line starts
 * with a known English label immediately followed by a colon (a short, unpadded form such as
 * KB 949856's `Auth1PSK: 12345`).
 */
static bool consec_parse_label(const char *line, size_t len, struct consec_label *out)
{
    size_t colon = len;
    bool padded = false;

    if (len == 0 || consec_is_blank(line[0]) || line[0] == ':') {
        return false;
    }
    const char *c = memchr(line, ':', len < CONSEC_LABEL_COLUMN ? len : CONSEC_LABEL_COLUMN);
    if (c != NULL) {
        colon = (size_t)(c - line);
        size_t end = len < CONSEC_LABEL_COLUMN ? len : CONSEC_LABEL_COLUMN;
        padded = true;
        for (size_t i = colon + 1; i < end; i++) {
            if (line[i] != ' ') {
                padded = false;
                break;
            }
        }
    }
    if (!padded) {
        colon = len;
        for (int i = 0; i < PROTO_RULE_FIELD_COUNT; i++) {
            size_t n = strlen(proto_rule_fields[i].label);
            if (len > n && line[n] == ':' &&
                strncasecmp(line, proto_rule_fields[i].label, n) == 0) {
                colon = n;
                break;
            }
        }
        if (colon == len) {
            return false;
        }
    }
    size_t label_len = colon;
    while (label_len > 0 && consec_is_blank(line[label_len - 1])) {
        label_len--;
    }
    if (label_len == 0 || label_len > CONSEC_LABEL_COLUMN) {
        return false;
    }
    memcpy(out->text, line, label_len);
    out->text[label_len] = '\0';
    out->value = line + colon + 1;
    out->value_len = len - colon - 1;
    while (out->value_len > 0 && (out->value[0] == ' ' || out->value[0] == '\t')) {
        out->value++;
        out->value_len--;
    }
    out->field = proto_rule_field_by_label(out->text);
    return true;
}

static struct proto_consec_rule *consec_rule(struct consec_parser *p)
{
    return &p->snap->rules[p->snap->rule_count - 1];
}

/* Stores the value collected so far (trailing blanks trimmed) and forgets the target. */
static enum proto_rc consec_finish_value(struct consec_parser *p)
{
    enum proto_rc result = PROTO_OK;
    enum consec_target target = p->target;

    p->target = CONSEC_TARGET_NONE;
    if (target != CONSEC_TARGET_FIELD && target != CONSEC_TARGET_EXTRA) {
        goto out;
    }
    const char *v = proto_buf_str(&p->value);
    size_t n = p->value.len;
    while (n > 0 && consec_is_blank(v[n - 1])) {
        n--;
    }
    if (target == CONSEC_TARGET_FIELD) {
        char *copy = proto_strndup(v, n);
        if (copy == NULL) {
            result = PROTO_ENOMEM;
            goto out;
        }
        struct proto_consec_rule *rule = consec_rule(p);
        proto_free(rule->field[p->field]);
        rule->field[p->field] = copy;
    } else {
        char *copy = proto_strndup(v, n);
        if (copy == NULL) {
            result = PROTO_ENOMEM;
            goto out;
        }
        result = proto_rule_add_extra(consec_rule(p), p->extra_key, copy);
        proto_free(copy);
        if (result == PROTO_ELIMIT) {
            p->extras_dropped++;
            result = PROTO_OK;
        }
    }
out:
    proto_buf_reset(&p->value);
    return result;
}

static enum proto_rc consec_start_value(struct consec_parser *p, enum consec_target target,
                                        int field, const char *value, size_t len, size_t max)
{
    enum proto_rc result = consec_finish_value(p);
    if (result) {
        return result;
    }
    p->target = target;
    p->field = field;
    p->value.max = max;
    return proto_buf_append(&p->value, value, len);
}

static enum proto_rc consec_new_rule(struct consec_parser *p)
{
    struct proto_consec_rule *rule = NULL;
    enum proto_rc result = consec_finish_value(p);
    if (result) {
        return result;
    }
    result = proto_snapshot_add_rule(p->snap, &rule);
    if (result) {
        p->too_many_rules = result == PROTO_ELIMIT;
        return result;
    }
    p->have_rule = true;
    p->rule_localized = false;
    p->awaiting_dash = false;
    return PROTO_OK;
}

/* Rule name by position: text after the first colon (ASCII or full-width), else the line. */
static enum proto_rc consec_new_localized_rule(struct consec_parser *p, const char *line,
                                               size_t len)
{
    enum proto_rc result = consec_new_rule(p);
    if (result) {
        return result;
    }
    const char *name = line;
    size_t name_len = len;
    for (size_t i = 0; i < len; i++) {
        if (line[i] == ':') {
            name = line + i + 1;
            name_len = len - i - 1;
            break;
        }
        if (i + 2 < len && memcmp(line + i, "\xEF\xBC\x9A", 3) == 0) {
            name = line + i + 3;
            name_len = len - i - 3;
            break;
        }
    }
    consec_trim(&name, &name_len);
    if (name_len > PROTO_MAX_NAME) {
        return PROTO_ELIMIT;
    }
    struct proto_consec_rule *rule = consec_rule(p);
    rule->field[PROTO_RULE_NAME] = proto_strndup(name, name_len);
    if (rule->field[PROTO_RULE_NAME] == NULL) {
        return PROTO_ENOMEM;
    }
    rule->labels_unrecognised = true;
    p->rule_localized = true;
    p->localized_count++;
    return PROTO_OK;
}

/* A field line inside the current rule. */
static enum proto_rc consec_field_line(struct consec_parser *p, const struct consec_label *label)
{
    enum proto_rc result = consec_finish_value(p);
    if (result || !p->have_rule || p->rule_localized) {
        return result;
    }
    struct proto_consec_rule *rule = consec_rule(p);
    if (label->field == PROTO_RULE_AUTH1_PSK) {
        proto_free(rule->field[PROTO_RULE_AUTH1_PSK]);
        rule->field[PROTO_RULE_AUTH1_PSK] = proto_strdup(PROTO_REDACTED);
        if (rule->field[PROTO_RULE_AUTH1_PSK] == NULL) {
            return PROTO_ENOMEM;
        }
        rule->psk_redacted = true;
        p->target = CONSEC_TARGET_DROP;
        return PROTO_OK;
    }
    if (label->field < 0 && consec_names_secret(label->text)) {
        result = proto_rule_add_extra(rule, label->text, PROTO_REDACTED);
        if (result == PROTO_ELIMIT) {
            p->extras_dropped++;
            result = PROTO_OK;
        }
        rule->psk_redacted = true;
        p->target = CONSEC_TARGET_DROP;
        return result;
    }
    if (label->field < 0) {
        memcpy(p->extra_key, label->text, sizeof(p->extra_key));
        return consec_start_value(p, CONSEC_TARGET_EXTRA, -1, label->value, label->value_len,
                                  PROTO_MAX_STRING);
    }
    return consec_start_value(p, CONSEC_TARGET_FIELD, label->field, label->value, label->value_len,
                              PROTO_MAX_STRING);
}

/* Handles one line (CR already stripped). Sets *used_next when the following dash line
 * belonged to this line. */
static enum proto_rc consec_line(struct consec_parser *p, const char *line, size_t len,
                                 bool next_is_dash, bool *used_next)
{
    enum proto_rc result = PROTO_OK;
    struct consec_label label;
    const char *t = line;
    size_t t_len = len;

    *used_next = false;
    consec_trim(&t, &t_len);
    if (t_len == 0 || consec_is_dash_line(t, t_len) || consec_equals_ci(t, t_len, "Ok.")) {
        p->awaiting_dash = false;
        return consec_finish_value(p);
    }
    if (consec_equals_ci(t, t_len, consec_no_match)) {
        p->no_match = true;
        return consec_finish_value(p);
    }
    bool is_label = consec_parse_label(line, len, &label);
    if (next_is_dash) {
        if (!is_label && p->target == CONSEC_TARGET_DROP) {
            return PROTO_OK; /* never let a secret's continuation become a rule name */
        }
        if (is_label && label.field >= 0 && label.field != PROTO_RULE_NAME) {
            return consec_field_line(p, &label);
        }
        *used_next = true;
        if (is_label && label.field == PROTO_RULE_NAME) {
            result = consec_new_rule(p);
            if (result == PROTO_OK) {
                result = consec_start_value(p, CONSEC_TARGET_FIELD, PROTO_RULE_NAME, label.value,
                                            label.value_len, PROTO_MAX_NAME);
            }
            return result;
        }
        if (!is_label && p->awaiting_dash && p->target == CONSEC_TARGET_FIELD) {
            p->awaiting_dash = false;
            result = proto_buf_append(&p->value, line, len); /* wrapped rule name */
            return result ? result : consec_finish_value(p);
        }
        return consec_new_localized_rule(p, t, t_len);
    }
    if (is_label) {
        if (label.field == PROTO_RULE_NAME) {
            result = consec_new_rule(p);
            if (result == PROTO_OK) {
                p->awaiting_dash = true;
                result = consec_start_value(p, CONSEC_TARGET_FIELD, PROTO_RULE_NAME, label.value,
                                            label.value_len, PROTO_MAX_NAME);
            }
            return result;
        }
        p->awaiting_dash = false;
        return consec_field_line(p, &label);
    }
    if (p->target == CONSEC_TARGET_FIELD || p->target == CONSEC_TARGET_EXTRA) {
        return proto_buf_append(&p->value, line, len);
    }
    return PROTO_OK; /* stray text outside a value, or a secret's continuation */
}

static bool consec_all_blank(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!consec_is_blank(text[i])) {
            return false;
        }
    }
    return true;
}

enum proto_rc proto_netsh_consec_parse(const char *text, size_t len, const char *source,
                                       struct proto_snapshot *snap)
{
    enum proto_rc result = PROTO_OK;
    struct consec_parser p;
    size_t pos = 0, line_len = 0, line_no = 0;
    const char *line;

    if (snap == NULL || source == NULL || (text == NULL && len > 0)) {
        return PROTO_EINVAL;
    }
    memset(&p, 0, sizeof(p));
    p.snap = snap;
    p.first_rule = snap->rule_count;
    p.field = -1;
    proto_buf_init(&p.value, PROTO_MAX_STRING);

    if (text == NULL || consec_all_blank(text, len)) {
        result = PROTO_EUNAVAILABLE;
        (void)proto_snapshot_add_error(snap, source, result,
                                       "netsh produced no output (source unavailable)");
        goto out;
    }
    while ((line = proto_text_next_line(text, len, &pos, &line_len)) != NULL) {
        line_no++;
        if (line_len > PROTO_MAX_LINE_BYTES) {
            result = PROTO_ELIMIT;
            (void)proto_snapshot_add_error(snap, source, result, "line %zu is longer than %u bytes",
                                           line_no, PROTO_MAX_LINE_BYTES);
            goto out;
        }
        if (line_len > 0 && line[line_len - 1] == '\r') {
            line_len--;
        }
        size_t next_pos = pos, next_len = 0;
        const char *next = proto_text_next_line(text, len, &next_pos, &next_len);
        bool next_is_dash = next != NULL && consec_is_dash_line(next, next_len);
        bool used_next = false;
        result = consec_line(&p, line, line_len, next_is_dash, &used_next);
        if (result == PROTO_ELIMIT && p.too_many_rules) {
            (void)proto_snapshot_add_error(
                snap, source, result, "more than %u connection-security rules", PROTO_MAX_RULES);
            goto out;
        }
        if (result == PROTO_ELIMIT) {
            (void)proto_snapshot_add_error(snap, source, result,
                                           "value at line %zu is longer than the cap", line_no);
            goto out;
        }
        if (result) {
            goto out;
        }
        if (used_next) {
            pos = next_pos;
            line_no++;
        }
    }
    result = consec_finish_value(&p);
    if (result) {
        goto out;
    }
    if (snap->rule_count == p.first_rule && !p.no_match) {
        result = PROTO_EPARSE;
        (void)proto_snapshot_add_error(snap, source, result,
                                       "no rule blocks and no \"%s\" message: not a rule listing",
                                       consec_no_match);
        goto out;
    }
    snap->rules_available = true;
    if (p.localized_count > 0) {
        (void)proto_snapshot_add_error(snap, source, PROTO_EUNSUPPORTED,
                                       "%zu rule(s) with unrecognised (localized) labels: only "
                                       "their names were read",
                                       p.localized_count);
    }
    if (p.extras_dropped > 0) {
        (void)proto_snapshot_add_error(snap, source, PROTO_ELIMIT,
                                       "%zu unknown rule label(s) dropped past %u per rule",
                                       p.extras_dropped, PROTO_MAX_RULE_EXTRA);
    }
out:
    if (result) {
        if (result == PROTO_ENOMEM) {
            (void)proto_snapshot_add_error(snap, source, result, "out of memory");
        }
        while (snap->rule_count > p.first_rule) {
            proto_rule_clear(&snap->rules[snap->rule_count - 1]);
            snap->rule_count--;
        }
    }
    proto_buf_free(&p.value);
    return result;
}

/* Length in bytes of the first `chars` characters of s[0..len) (UTF-8; a stray byte counts as
 * one character). */
static size_t consec_char_count(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (((unsigned char)s[i] & 0xC0u) != 0x80u) {
            n++;
        }
    }
    return n;
}

/* Appends one printed line, wrapped the way netsh wraps when width > 0: while the line is
 * longer than width characters, break after the last space at character index first_min ..
 * width-1 (else after the last comma there); later pieces may break from index 1. */
static enum proto_rc consec_print_line(struct proto_buf *out, const char *line, size_t len,
                                       unsigned width, size_t first_min)
{
    enum proto_rc result = PROTO_OK;
    size_t min = first_min;

    while (width > 0 && consec_char_count(line, len) > width) {
        size_t cut_space = 0, cut_comma = 0, chars = 0;
        for (size_t i = 0; i < len && chars < width; i++) {
            if (((unsigned char)line[i] & 0xC0u) == 0x80u) {
                continue;
            }
            if (chars >= min && line[i] == ' ') {
                cut_space = i + 1;
            } else if (chars >= min && line[i] == ',') {
                cut_comma = i + 1;
            }
            chars++;
        }
        size_t cut = cut_space != 0 ? cut_space : cut_comma;
        if (cut == 0) {
            break; /* nothing to break at: netsh prints it whole */
        }
        result = proto_buf_append(out, line, cut);
        if (result == PROTO_OK) {
            result = proto_buf_append_byte(out, '\n');
        }
        if (result) {
            return result;
        }
        line += cut;
        len -= cut;
        min = 1;
    }
    result = proto_buf_append(out, line, len);
    return result ? result : proto_buf_append_byte(out, '\n');
}

/* `Label:` padded to column 38 and the value, or the bare `Label:` for an empty value. */
static enum proto_rc consec_print_field(struct proto_buf *out, struct proto_buf *line,
                                        const char *label, const char *value, unsigned width)
{
    enum proto_rc result = PROTO_OK;

    proto_buf_reset(line);
    result = proto_buf_appendf(line, "%s:", label);
    if (value[0] != '\0') {
        while (result == PROTO_OK && line->len < CONSEC_LABEL_COLUMN) {
            result = proto_buf_append_byte(line, ' ');
        }
        if (result == PROTO_OK) {
            result = proto_buf_append_str(line, value);
        }
    }
    if (result) {
        return result;
    }
    return consec_print_line(out, proto_buf_str(line), line->len, width, CONSEC_LABEL_COLUMN + 1);
}

enum proto_rc proto_netsh_consec_print(const struct proto_consec_rule *rules, size_t count,
                                       unsigned wrap_columns, struct proto_buf *out)
{
    enum proto_rc result = PROTO_OK;
    struct proto_buf line;
    char dashes[CONSEC_DASHES + 1];

    if (out == NULL || (rules == NULL && count > 0)) {
        return PROTO_EINVAL;
    }
    if (count == 0) {
        return proto_buf_appendf(out, "\n%s\n\n", consec_no_match);
    }
    for (size_t i = 0; i < count; i++) {
        if (rules[i].labels_unrecognised) {
            return PROTO_EUNSUPPORTED;
        }
    }
    memset(dashes, '-', CONSEC_DASHES);
    dashes[CONSEC_DASHES] = '\0';
    proto_buf_init(&line, PROTO_MAX_LINE_BYTES);
    for (size_t i = 0; i < count && result == PROTO_OK; i++) {
        const struct proto_consec_rule *rule = &rules[i];
        result = proto_buf_append_byte(out, '\n');
        for (int f = 0; f < PROTO_RULE_FIELD_COUNT && result == PROTO_OK; f++) {
            const char *value = rule->field[f];
            /* Unknown labels go where the captures we have print them: before the trailing
             * `Rule source` and `ApplyAuthorization`. */
            for (size_t e = 0; f == PROTO_RULE_RULE_SOURCE && e < rule->extra_count; e++) {
                const struct proto_kv *kv = &rule->extra[e];
                result = consec_print_field(out, &line, kv->key, kv->value != NULL ? kv->value : "",
                                            wrap_columns);
                if (result) {
                    break;
                }
            }
            if (result || (value == NULL && f != PROTO_RULE_NAME)) {
                continue;
            }
            result = consec_print_field(out, &line, proto_rule_fields[f].label,
                                        value != NULL ? value : "", wrap_columns);
            if (result == PROTO_OK && f == PROTO_RULE_NAME) {
                result = proto_buf_appendf(out, "%s\n", dashes);
            }
        }
    }
    if (result == PROTO_OK) {
        result = proto_buf_append_str(out, "Ok.\n\n");
    }
    proto_buf_free(&line);
    return result;
}
