/*
 * system_sim: the simulated host (DESIGN §5): a capture bundle whose reg-rasman.txt and
 * netsh-consec.txt change the way Windows would change them.
 *
 * Every call reads the file again (the disk is the host's state, so a second process or a
 * crash sees what the last write left), parses it with proto's parser, changes the model as
 * proto/whatif.c does (the same registry function; rules replaced in place, namesakes
 * dropped, new ones appended), prints it with proto's printer in the file's own encoding, line
 * ends and wrapping, and replaces the file atomically. A file the printer cannot reproduce (a
 * redacted PSK, localized labels) is never rewritten: the change fails instead of destroying
 * what the parser could not keep. Counting of changing calls drives the test hooks.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "buf.h"
#include "bundle.h"
#include "caps.h"
#include "agent_os.h"
#include "hostinfo.h"
#include "netsh_consec.h"
#include "regquery.h"
#include "source.h"
#include "system.h"
#include "text.h"
#include "whatif.h"

#define SIM_REG_FILE "reg-rasman.txt"
#define SIM_CONSEC_FILE "netsh-consec.txt"
#define SIM_PATH_BYTES 4096u

struct sim {
    char dir[SIM_PATH_BYTES];
    unsigned codepage;
    long fail_step;      /* 0: none */
    long crash_after;    /* 0: none */
    unsigned long calls; /* changing calls so far */
};

/* One of the two files, parsed, with what it takes to print it back the same way. */
struct sim_file {
    const char *name;
    struct proto_snapshot *snap;
    const char *encoding;
    bool crlf;
    unsigned wrap;
};

static void sim_reason(struct agent_system *sys, const char *fmt, ...) PROTO_PRINTF_LIKE(2, 3);

static void sim_reason(struct agent_system *sys, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(sys->reason, sizeof(sys->reason), fmt, ap);
    va_end(ap);
    if (n < 0) {
        sys->reason[0] = '\0';
    }
}

static long sim_env_step(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') {
        return 0;
    }
    char *end = NULL;
    errno = 0;
    long n = strtol(v, &end, 10);
    return errno != 0 || *end != '\0' || n < 0 ? 0 : n;
}

static void sim_file_clear(struct sim_file *f)
{
    proto_snapshot_destroy(f->snap);
    memset(f, 0, sizeof(*f));
}

/* Reads, decodes and parses one file of the bundle. */
static enum proto_rc sim_load(struct agent_system *sys, const char *name, struct sim_file *f)
{
    struct sim *sim = sys->ctx;
    char path[SIM_PATH_BYTES];
    unsigned char *raw = NULL;
    char *text = NULL;
    size_t raw_len = 0, len = 0;
    bool is_reg = strcmp(name, SIM_REG_FILE) == 0;
    enum proto_rc result = PROTO_OK;
    struct proto_buf printed;

    memset(f, 0, sizeof(*f));
    proto_buf_init(&printed, 2u * PROTO_MAX_TEXT_FILE_BYTES);
    f->name = name;
    result = agent_os_join(path, sizeof(path), sim->dir, name);
    if (result == PROTO_OK) {
        result = proto_file_read(path, PROTO_MAX_TEXT_FILE_BYTES, &raw, &raw_len);
    }
    if (result) {
        sim_reason(sys, "%s: %s", name,
                   result == PROTO_ENOTFOUND ? "no such file" : proto_rc_str(result));
        goto out;
    }
    result = proto_text_decode(raw, raw_len, sim->codepage, &text, &len, &f->encoding);
    if (result) {
        sim_reason(sys, "%s: %s", name, proto_rc_str(result));
        goto out;
    }
    f->crlf = memchr(raw, '\r', raw_len) != NULL;
    f->snap = proto_snapshot_create();
    if (f->snap == NULL) {
        result = PROTO_ENOMEM;
        goto out;
    }
    result = is_reg ? proto_regquery_parse(text, len, name, f->snap)
                    : proto_netsh_consec_parse(text, len, name, f->snap);
    if (result) {
        sim_reason(sys, "%s: cannot be read: %s", name,
                   f->snap->error_count > 0 ? f->snap->errors[0].message : proto_rc_str(result));
        goto out;
    }
    if (!is_reg) {
        /* Print it back the way it was printed: wrapped at 80 columns only if that is what
         * reproduces the file (netsh wraps in some captures, not in others). */
        if (proto_netsh_consec_print(f->snap->rules, f->snap->rule_count, 0, &printed) ==
                PROTO_OK &&
            (printed.len != len || memcmp(printed.data, text, len) != 0)) {
            proto_buf_reset(&printed);
            if (proto_netsh_consec_print(f->snap->rules, f->snap->rule_count,
                                         PROTO_NETSH_WRAP_COLUMNS, &printed) == PROTO_OK &&
                printed.len == len && memcmp(printed.data, text, len) == 0) {
                f->wrap = PROTO_NETSH_WRAP_COLUMNS;
            }
        }
    }
out:
    proto_buf_free(&printed);
    proto_free(raw);
    proto_free(text);
    if (result) {
        sim_file_clear(f);
    }
    return result;
}

/* Prints the file's model back and replaces the file. empty_key: the key to print when the
 * last registry value went. */
static enum proto_rc sim_store(struct agent_system *sys, struct sim_file *f, const char *empty_key)
{
    struct sim *sim = sys->ctx;
    char path[SIM_PATH_BYTES];
    struct proto_buf out;
    unsigned char *bytes = NULL;
    size_t bytes_len = 0;
    enum proto_rc result;

    proto_buf_init(&out, 2u * PROTO_MAX_TEXT_FILE_BYTES);
    if (strcmp(f->name, SIM_REG_FILE) == 0) {
        result = proto_regquery_print(empty_key, f->snap->registry, f->snap->registry_count, &out);
    } else {
        result = proto_netsh_consec_print(f->snap->rules, f->snap->rule_count, f->wrap, &out);
    }
    if (result == PROTO_OK) {
        result = proto_text_encode(proto_buf_str(&out), out.len, f->encoding, f->crlf, &bytes,
                                   &bytes_len);
    }
    if (result == PROTO_OK) {
        result = agent_os_join(path, sizeof(path), sim->dir, f->name);
    }
    if (result == PROTO_OK) {
        result = agent_os_replace_file(path, bytes, bytes_len);
    }
    if (result) {
        sim_reason(sys, "%s: cannot be written: %s", f->name, proto_rc_str(result));
    }
    proto_free(bytes);
    proto_buf_free(&out);
    return result;
}

/* Counts a changing call; fails it (before it changes anything) when it is the one the test
 * asked to fail. */
static enum proto_rc sim_begin_change(struct agent_system *sys)
{
    struct sim *sim = sys->ctx;
    sim->calls++;
    if (sim->fail_step > 0 && sim->calls == (unsigned long)sim->fail_step) {
        sim_reason(sys, "simulated failure of change %lu (RRASFLEET_SIM_FAIL_STEP)", sim->calls);
        return PROTO_EIO;
    }
    return PROTO_OK;
}

/* After a change took effect: the crash hook. */
static void sim_end_change(struct agent_system *sys)
{
    struct sim *sim = sys->ctx;
    if (sim->crash_after > 0 && sim->calls == (unsigned long)sim->crash_after) {
        fflush(NULL);
        _Exit(AGENT_SIM_CRASH_STATUS);
    }
}

static enum proto_rc sim_read_snapshot(struct agent_system *sys, struct proto_snapshot **out)
{
    struct sim *sim = sys->ctx;
    enum proto_rc result = agent_source_read_bundle(sim->dir, out);
    if (result) {
        sim_reason(sys, "cannot read bundle %s: %s", sim->dir, proto_rc_str(result));
    }
    return result;
}

/* The allow-listed value in the reg file's model: its index, or -1. The key is compared from
 * "SYSTEM\" on, case-insensitively, as reg.exe spells it either way. */
static long sim_find_dword(const struct proto_snapshot *snap, enum proto_dword_name name)
{
    const struct proto_dword_info *info = &proto_dword_allow_list[name];
    const char *suffix = strchr(info->key, '\\');
    const struct proto_reg_value *v =
        proto_snapshot_find_reg(snap, suffix != NULL ? suffix + 1 : info->key, info->name);
    return v == NULL ? -1 : (long)(v - snap->registry);
}

static enum proto_rc sim_dword_get(struct agent_system *sys, enum proto_dword_name name,
                                   struct agent_dword_state *out)
{
    struct sim_file f;
    memset(out, 0, sizeof(*out));
    if ((unsigned)name >= PROTO_DWORD_NAME_COUNT) {
        return PROTO_EINVAL;
    }
    enum proto_rc result = sim_load(sys, SIM_REG_FILE, &f);
    if (result) {
        return result;
    }
    long i = sim_find_dword(f.snap, name);
    if (i >= 0) {
        const struct proto_reg_value *v = &f.snap->registry[i];
        if (v->type != PROTO_REG_DWORD) {
            sim_reason(sys, "%s is %s, not REG_DWORD", v->name, proto_reg_type_str(v->type));
            result = PROTO_EUNSUPPORTED;
        } else {
            out->present = true;
            out->value = (uint32_t)v->number;
        }
    }
    sim_file_clear(&f);
    return result;
}

static enum proto_rc sim_dword_set(struct agent_system *sys, enum proto_dword_name name,
                                   uint32_t value)
{
    struct sim_file f;
    struct proto_action action;
    if ((unsigned)name >= PROTO_DWORD_NAME_COUNT) {
        return PROTO_EINVAL;
    }
    enum proto_rc result = sim_load(sys, SIM_REG_FILE, &f);
    if (result) {
        return result;
    }
    result = sim_begin_change(sys);
    if (result == PROTO_OK) {
        memset(&action, 0, sizeof(action));
        action.type = PROTO_ACTION_REGISTRY_DWORD_SET;
        action.u.dword.name = name;
        action.u.dword.data = value;
        result = proto_whatif_apply_action(f.snap, &action);
        if (result) {
            sim_reason(sys, "%s: cannot set %s: %s", SIM_REG_FILE,
                       proto_dword_allow_list[name].name, proto_rc_str(result));
        }
    }
    if (result == PROTO_OK) {
        result = sim_store(sys, &f, NULL);
    }
    sim_file_clear(&f);
    if (result == PROTO_OK) {
        sim_end_change(sys);
    }
    return result;
}

static enum proto_rc sim_dword_delete(struct agent_system *sys, enum proto_dword_name name)
{
    struct sim_file f;
    char *key = NULL;
    if ((unsigned)name >= PROTO_DWORD_NAME_COUNT) {
        return PROTO_EINVAL;
    }
    enum proto_rc result = sim_load(sys, SIM_REG_FILE, &f);
    if (result) {
        return result;
    }
    result = sim_begin_change(sys);
    long i;
    while (result == PROTO_OK && (i = sim_find_dword(f.snap, name)) >= 0) {
        struct proto_snapshot *s = f.snap;
        if (key == NULL) {
            key = s->registry[i].key; /* kept for printing a key left without values */
            s->registry[i].key = NULL;
        }
        proto_reg_value_clear(&s->registry[i]);
        memmove(&s->registry[i], &s->registry[i + 1],
                (s->registry_count - (size_t)i - 1) * sizeof(s->registry[0]));
        s->registry_count--;
        memset(&s->registry[s->registry_count], 0, sizeof(s->registry[0]));
    }
    if (result == PROTO_OK) {
        result = sim_store(sys, &f, key);
    }
    proto_free(key);
    sim_file_clear(&f);
    if (result == PROTO_OK) {
        sim_end_change(sys);
    }
    return result;
}

static bool sim_rule_named(const struct proto_consec_rule *rule, const char *name)
{
    return rule->field[PROTO_RULE_NAME] != NULL && strcmp(rule->field[PROTO_RULE_NAME], name) == 0;
}

/* A deep copy of src into *dst (zeroed first). */
static enum proto_rc sim_rule_copy(const struct proto_consec_rule *src,
                                   struct proto_consec_rule *dst)
{
    enum proto_rc result = PROTO_OK;
    memset(dst, 0, sizeof(*dst));
    for (int i = 0; i < PROTO_RULE_FIELD_COUNT && result == PROTO_OK; i++) {
        if (src->field[i] != NULL) {
            dst->field[i] = proto_strdup(src->field[i]);
            result = dst->field[i] == NULL ? PROTO_ENOMEM : PROTO_OK;
        }
    }
    for (size_t i = 0; i < src->extra_count && result == PROTO_OK; i++) {
        result = proto_rule_add_extra(dst, src->extra[i].key, src->extra[i].value);
    }
    dst->psk_redacted = src->psk_redacted;
    dst->labels_unrecognised = src->labels_unrecognised;
    if (result) {
        proto_rule_clear(dst);
    }
    return result;
}

static enum proto_rc sim_rule_get(struct agent_system *sys, const char *name,
                                  struct agent_rule_state *out)
{
    struct sim_file f;
    memset(out, 0, sizeof(*out));
    if (name == NULL) {
        return PROTO_EINVAL;
    }
    enum proto_rc result = sim_load(sys, SIM_CONSEC_FILE, &f);
    if (result) {
        return result;
    }
    for (size_t i = 0; i < f.snap->rule_count && result == PROTO_OK; i++) {
        if (!sim_rule_named(&f.snap->rules[i], name)) {
            continue;
        }
        if (out->count++ == 0) {
            out->position = i;
            result = sim_rule_copy(&f.snap->rules[i], &out->rule);
        }
    }
    sim_file_clear(&f);
    if (result) {
        agent_rule_state_clear(out);
    }
    return result;
}

/* Rules this host could not print back: rewriting the file would lose them. */
static enum proto_rc sim_check_printable(struct agent_system *sys, const struct sim_file *f)
{
    for (size_t i = 0; i < f->snap->rule_count; i++) {
        const struct proto_consec_rule *r = &f->snap->rules[i];
        if (r->psk_redacted || r->labels_unrecognised) {
            sim_reason(sys,
                       "%s: rule \"%.64s\" %s; the simulated host will not rewrite a file it "
                       "cannot print back",
                       f->name, r->field[PROTO_RULE_NAME] ? r->field[PROTO_RULE_NAME] : "",
                       r->psk_redacted ? "holds a pre-shared key the parser redacted"
                                       : "has labels the parser could not read");
            return PROTO_EUNSUPPORTED;
        }
    }
    return PROTO_OK;
}

/* Drops every rule named `name` at or after index `from` (as whatif does). */
static void sim_drop_rules(struct proto_snapshot *snap, const char *name, size_t from)
{
    size_t kept = from;
    for (size_t i = from; i < snap->rule_count; i++) {
        if (sim_rule_named(&snap->rules[i], name)) {
            proto_rule_clear(&snap->rules[i]);
            continue;
        }
        if (kept != i) {
            snap->rules[kept] = snap->rules[i];
            memset(&snap->rules[i], 0, sizeof(snap->rules[i]));
        }
        kept++;
    }
    snap->rule_count = kept;
}

static enum proto_rc sim_rule_put(struct agent_system *sys, const struct proto_consec_rule *rule,
                                  size_t position)
{
    struct sim_file f;
    struct proto_consec_rule copy;
    const char *name = rule != NULL ? rule->field[PROTO_RULE_NAME] : NULL;
    if (name == NULL) {
        return PROTO_EINVAL;
    }
    enum proto_rc result = sim_load(sys, SIM_CONSEC_FILE, &f);
    if (result) {
        return result;
    }
    result = sim_check_printable(sys, &f);
    if (result == PROTO_OK) {
        result = sim_begin_change(sys);
    }
    if (result == PROTO_OK) {
        result = sim_rule_copy(rule, &copy);
    }
    if (result == PROTO_OK) {
        struct proto_snapshot *s = f.snap;
        size_t at = s->rule_count;
        for (size_t i = 0; i < s->rule_count; i++) {
            if (sim_rule_named(&s->rules[i], name)) {
                at = i;
                break;
            }
        }
        if (at < s->rule_count) {
            proto_rule_clear(&s->rules[at]);
            s->rules[at] = copy;
            sim_drop_rules(s, name, at + 1);
        } else {
            struct proto_consec_rule *slot = NULL;
            result = proto_snapshot_add_rule(s, &slot);
            if (result) {
                proto_rule_clear(&copy);
                sim_reason(sys, "%s: cannot add a rule: %s", f.name, proto_rc_str(result));
            } else {
                size_t want = position < s->rule_count - 1 ? position : s->rule_count - 1;
                memmove(&s->rules[want + 1], &s->rules[want],
                        (s->rule_count - 1 - want) * sizeof(s->rules[0]));
                s->rules[want] = copy;
            }
        }
    }
    if (result == PROTO_OK) {
        result = sim_store(sys, &f, NULL);
    }
    sim_file_clear(&f);
    if (result == PROTO_OK) {
        sim_end_change(sys);
    }
    return result;
}

static enum proto_rc sim_rule_delete(struct agent_system *sys, const char *name)
{
    struct sim_file f;
    if (name == NULL) {
        return PROTO_EINVAL;
    }
    enum proto_rc result = sim_load(sys, SIM_CONSEC_FILE, &f);
    if (result) {
        return result;
    }
    result = sim_check_printable(sys, &f);
    if (result == PROTO_OK) {
        result = sim_begin_change(sys);
    }
    if (result == PROTO_OK) {
        sim_drop_rules(f.snap, name, 0);
        result = sim_store(sys, &f, NULL);
    }
    sim_file_clear(&f);
    if (result == PROTO_OK) {
        sim_end_change(sys);
    }
    return result;
}

static enum proto_rc sim_service_restart(struct agent_system *sys, enum proto_service service)
{
    if ((unsigned)service >= PROTO_SERVICE_COUNT) {
        return PROTO_EINVAL;
    }
    /* A capture bundle has no services: the restart only counts as a change. */
    enum proto_rc result = sim_begin_change(sys);
    if (result == PROTO_OK) {
        sim_end_change(sys);
    }
    return result;
}

static void sim_destroy(struct agent_system *sys)
{
    proto_free(sys->ctx);
    sys->ctx = NULL;
}

/* The OEM code page host.txt names (437 when it names none or cannot be read). */
static unsigned sim_codepage(const char *dir)
{
    char path[SIM_PATH_BYTES];
    unsigned char *raw = NULL;
    char *text = NULL;
    size_t raw_len = 0, len = 0;
    unsigned codepage = PROTO_CODEPAGE_DEFAULT_OEM;
    struct proto_host host;

    memset(&host, 0, sizeof(host));
    if (agent_os_join(path, sizeof(path), dir, "host.txt") == PROTO_OK &&
        proto_file_read(path, PROTO_MAX_TEXT_FILE_BYTES, &raw, &raw_len) == PROTO_OK &&
        proto_text_decode(raw, raw_len, codepage, &text, &len, NULL) == PROTO_OK) {
        (void)proto_hostinfo_parse(text, len, &host, &codepage);
    }
    proto_host_clear(&host);
    proto_free(raw);
    proto_free(text);
    return codepage;
}

enum proto_rc agent_system_sim_open(const char *dir, struct agent_system **out)
{
    struct agent_system *sys = NULL;
    struct sim *sim = NULL;
    char abs[SIM_PATH_BYTES];

    *out = NULL;
    if (dir == NULL) {
        return PROTO_EINVAL;
    }
    enum proto_rc found = agent_os_absolute_dir(dir, abs, sizeof(abs));
    if (found != PROTO_OK) {
        return found;
    }
    sys = proto_calloc(1, sizeof(*sys));
    sim = proto_calloc(1, sizeof(*sim));
    if (sys == NULL || sim == NULL) {
        proto_free(sys);
        proto_free(sim);
        return PROTO_ENOMEM;
    }
    int n = snprintf(sim->dir, sizeof(sim->dir), "%s", abs);
    int m = snprintf(sys->id, sizeof(sys->id), "bundle:%s", abs);
    if (n < 0 || (size_t)n >= sizeof(sim->dir) || m < 0 || (size_t)m >= sizeof(sys->id)) {
        proto_free(sys);
        proto_free(sim);
        return PROTO_ELIMIT;
    }
    sim->codepage = sim_codepage(abs);
    sim->fail_step = sim_env_step("RRASFLEET_SIM_FAIL_STEP");
    sim->crash_after = sim_env_step("RRASFLEET_SIM_CRASH_AFTER_STEP");
    sys->ctx = sim;
    sys->read_snapshot = sim_read_snapshot;
    sys->dword_get = sim_dword_get;
    sys->dword_set = sim_dword_set;
    sys->dword_delete = sim_dword_delete;
    sys->rule_get = sim_rule_get;
    sys->rule_put = sim_rule_put;
    sys->rule_delete = sim_rule_delete;
    sys->service_restart = sim_service_restart;
    sys->destroy = sim_destroy;
    *out = sys;
    return PROTO_OK;
}
