/*
 * state: profile-serials and apply-journal.json in the state folder.
 *
 * Both are small files read whole (capped) and replaced atomically. Anything unexpected in them
 * is PROTO_EPARSE: the serial file decides whether a profile is a replay and the journal what
 * to undo, so a damaged one is never guessed at.
 */
#include "state.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "alloc.h"
#include "buf.h"
#include "bundle.h"
#include "agent_os.h"

#define STATE_PATH_BYTES 4096u
#define STATE_MAX_SERIAL 9007199254740991ull /* 2^53 - 1, as the profile allows */

/* ---- profile-serials ------------------------------------------------------------------------ */

/* Calls fn for each "HOST SERIAL" line; PROTO_EPARSE on a malformed line. */
static enum proto_rc state_read_serials(const char *state_dir, char **text_out, size_t *len_out)
{
    char path[STATE_PATH_BYTES];
    unsigned char *raw = NULL;
    size_t len = 0;
    enum proto_rc result = agent_os_join(path, sizeof(path), state_dir, AGENT_STATE_SERIAL_FILE);
    if (result == PROTO_OK) {
        result = proto_file_read(path, AGENT_STATE_MAX_FILE_BYTES, &raw, &len);
    }
    if (result == PROTO_ENOTFOUND) {
        raw = (unsigned char *)proto_strdup("");
        len = 0;
        result = raw == NULL ? PROTO_ENOMEM : PROTO_OK;
    }
    *text_out = (char *)raw;
    *len_out = len;
    return result;
}

/* Parses one line "HOST SERIAL" (no LF) into host (room for PROTO_MAX_FQDN + 1) and serial. */
static enum proto_rc state_parse_line(const char *line, size_t len, char *host, uint64_t *serial)
{
    const char *space = memchr(line, ' ', len);
    if (space == NULL || space == line || (size_t)(space - line) > PROTO_MAX_FQDN) {
        return PROTO_EPARSE;
    }
    size_t host_len = (size_t)(space - line);
    memcpy(host, line, host_len);
    host[host_len] = '\0';
    char digits[24];
    size_t dlen = len - host_len - 1;
    if (dlen == 0 || dlen >= sizeof(digits)) {
        return PROTO_EPARSE;
    }
    memcpy(digits, space + 1, dlen);
    digits[dlen] = '\0';
    for (size_t i = 0; i < dlen; i++) {
        if (digits[i] < '0' || digits[i] > '9') {
            return PROTO_EPARSE;
        }
    }
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(digits, &end, 10);
    if (errno != 0 || *end != '\0' || v > STATE_MAX_SERIAL) {
        return PROTO_EPARSE;
    }
    *serial = v;
    return PROTO_OK;
}

enum proto_rc agent_state_last_serial(const char *state_dir, const char *host, uint64_t *out)
{
    char *text = NULL;
    size_t len = 0, pos = 0, lines = 0;
    char name[PROTO_MAX_FQDN + 1];

    *out = 0;
    enum proto_rc result = state_read_serials(state_dir, &text, &len);
    while (result == PROTO_OK && pos < len) {
        const char *line = text + pos;
        const char *lf = memchr(line, '\n', len - pos);
        size_t line_len = lf != NULL ? (size_t)(lf - line) : len - pos;
        pos += line_len + (lf != NULL ? 1 : 0);
        uint64_t serial = 0;
        if (++lines > AGENT_STATE_MAX_HOSTS) {
            result = PROTO_EPARSE;
            break;
        }
        result = state_parse_line(line, line_len, name, &serial);
        if (result == PROTO_OK && strcasecmp(name, host) == 0) {
            *out = serial;
        }
    }
    proto_free(text);
    return result;
}

enum proto_rc agent_state_record_serial(const char *state_dir, const char *host, uint64_t serial)
{
    char *text = NULL;
    size_t len = 0, pos = 0, lines = 0;
    char name[PROTO_MAX_FQDN + 1];
    char path[STATE_PATH_BYTES];
    struct proto_buf out;

    if (host == NULL || host[0] == '\0' || strlen(host) > PROTO_MAX_FQDN ||
        strpbrk(host, " \n\r") != NULL) {
        return PROTO_EINVAL;
    }
    proto_buf_init(&out, AGENT_STATE_MAX_FILE_BYTES);
    enum proto_rc result = agent_os_mkdirs(state_dir);
    if (result == PROTO_OK) {
        result = state_read_serials(state_dir, &text, &len);
    }
    while (result == PROTO_OK && pos < len) {
        const char *line = text + pos;
        const char *lf = memchr(line, '\n', len - pos);
        size_t line_len = lf != NULL ? (size_t)(lf - line) : len - pos;
        pos += line_len + (lf != NULL ? 1 : 0);
        uint64_t old = 0;
        result = state_parse_line(line, line_len, name, &old);
        if (result == PROTO_OK && strcasecmp(name, host) != 0) {
            result = ++lines >= AGENT_STATE_MAX_HOSTS
                         ? PROTO_ELIMIT
                         : proto_buf_appendf(&out, "%s %" PRIu64 "\n", name, old);
        }
    }
    if (result == PROTO_OK) {
        result = proto_buf_appendf(&out, "%s %" PRIu64 "\n", host, serial);
    }
    if (result == PROTO_OK) {
        result = agent_os_join(path, sizeof(path), state_dir, AGENT_STATE_SERIAL_FILE);
    }
    if (result == PROTO_OK) {
        result = agent_os_replace_file(path, proto_buf_str(&out), out.len);
    }
    proto_free(text);
    proto_buf_free(&out);
    return result;
}

/* ---- apply-journal.json --------------------------------------------------------------------- */

void agent_journal_clear(struct agent_journal *j)
{
    if (j == NULL) {
        return;
    }
    for (size_t i = 0; i < j->step_count; i++) {
        proto_free(j->steps[i].rule_name);
        agent_rule_state_clear(&j->steps[i].rule_pre);
    }
    memset(j, 0, sizeof(*j));
}

static cJSON *state_rule_to_json(const struct agent_rule_state *pre)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *fields = cJSON_CreateObject();
    cJSON *extra = cJSON_CreateArray();
    bool ok = o != NULL && fields != NULL && extra != NULL;
    for (int f = 0; ok && f < PROTO_RULE_FIELD_COUNT; f++) {
        if (pre->rule.field[f] != NULL) {
            ok = cJSON_AddStringToObject(fields, proto_rule_fields[f].json_key,
                                         pre->rule.field[f]) != NULL;
        }
    }
    for (size_t e = 0; ok && e < pre->rule.extra_count; e++) {
        cJSON *kv = cJSON_CreateObject();
        ok = kv != NULL && cJSON_AddItemToArray(extra, kv) &&
             cJSON_AddStringToObject(kv, "key", pre->rule.extra[e].key) != NULL &&
             cJSON_AddStringToObject(kv, "value", pre->rule.extra[e].value) != NULL;
    }
    ok = ok && cJSON_AddNumberToObject(o, "count", (double)pre->count) != NULL &&
         cJSON_AddNumberToObject(o, "position", (double)pre->position) != NULL;
    if (ok) {
        ok = cJSON_AddItemToObject(o, "fields", fields);
        fields = NULL;
        ok = ok && cJSON_AddItemToObject(o, "extra", extra);
        extra = NULL;
    }
    cJSON_Delete(fields);
    cJSON_Delete(extra);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

enum proto_rc agent_journal_write(const char *state_dir, const struct agent_journal *j)
{
    char path[STATE_PATH_BYTES];
    char *text = NULL;
    enum proto_rc result = PROTO_ENOMEM;
    cJSON *doc = cJSON_CreateObject();
    cJSON *steps = cJSON_CreateArray();
    bool ok = doc != NULL && steps != NULL &&
              cJSON_AddStringToObject(doc, "schema", AGENT_STATE_JOURNAL_SCHEMA) != NULL &&
              cJSON_AddStringToObject(doc, "system", j->system) != NULL &&
              cJSON_AddStringToObject(doc, "profile_id", j->profile_id) != NULL &&
              cJSON_AddNumberToObject(doc, "serial", (double)j->serial) != NULL;
    if (ok) {
        ok = cJSON_AddItemToObject(doc, "steps", steps);
        if (!ok) {
            cJSON_Delete(steps);
        }
    } else {
        cJSON_Delete(steps);
    }
    for (size_t i = 0; ok && i < j->step_count; i++) {
        const struct agent_journal_step *s = &j->steps[i];
        cJSON *o = cJSON_CreateObject();
        ok = o != NULL && cJSON_AddItemToArray(steps, o) &&
             cJSON_AddStringToObject(o, "action", proto_wire_action_type_str(s->action)) != NULL &&
             cJSON_AddStringToObject(o, "state", s->done ? "done" : "started") != NULL;
        if (!ok) {
            break;
        }
        if (s->action == PROTO_ACTION_REGISTRY_DWORD_SET) {
            ok = cJSON_AddStringToObject(o, "value", proto_dword_allow_list[s->dword].name) !=
                     NULL &&
                 cJSON_AddBoolToObject(o, "present", s->dword_pre.present) != NULL &&
                 cJSON_AddNumberToObject(o, "data", (double)s->dword_pre.value) != NULL;
        } else if (s->action == PROTO_ACTION_IPSEC_RULE_ENSURE ||
                   s->action == PROTO_ACTION_IPSEC_RULE_REMOVE) {
            cJSON *rule = state_rule_to_json(&s->rule_pre);
            ok = rule != NULL && cJSON_AddStringToObject(o, "name", s->rule_name) != NULL;
            ok = ok && cJSON_AddItemToObject(o, "rule", rule);
            if (!ok) {
                cJSON_Delete(rule);
            }
        }
    }
    if (ok) {
        text = cJSON_PrintUnformatted(doc);
    }
    if (text != NULL) {
        result = agent_os_mkdirs(state_dir);
        if (result == PROTO_OK) {
            result = agent_os_join(path, sizeof(path), state_dir, AGENT_STATE_JOURNAL_FILE);
        }
        if (result == PROTO_OK) {
            result = agent_os_replace_file(path, text, strlen(text));
        }
    }
    cJSON_free(text);
    cJSON_Delete(doc);
    return result;
}

static const char *state_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool state_num(const cJSON *o, const char *key, double max, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > max ||
        v->valuedouble != (double)(uint64_t)v->valuedouble) {
        return false;
    }
    *out = v->valuedouble;
    return true;
}

static enum proto_rc state_rule_from_json(const cJSON *o, struct agent_rule_state *pre)
{
    double count = 0, position = 0;
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(o, "fields");
    const cJSON *extra = cJSON_GetObjectItemCaseSensitive(o, "extra");
    if (!cJSON_IsObject(o) || !state_num(o, "count", PROTO_MAX_RULES, &count) ||
        !state_num(o, "position", PROTO_MAX_RULES, &position) || !cJSON_IsObject(fields) ||
        !cJSON_IsArray(extra)) {
        return PROTO_EPARSE;
    }
    pre->count = (size_t)count;
    pre->position = (size_t)position;
    const cJSON *item;
    cJSON_ArrayForEach(item, fields)
    {
        int f = proto_rule_field_by_json_key(item->string);
        if (f < 0 || !cJSON_IsString(item) || pre->rule.field[f] != NULL) {
            return PROTO_EPARSE;
        }
        pre->rule.field[f] = proto_strdup(item->valuestring);
        if (pre->rule.field[f] == NULL) {
            return PROTO_ENOMEM;
        }
    }
    cJSON_ArrayForEach(item, extra)
    {
        const char *k = state_str(item, "key"), *v = state_str(item, "value");
        if (k == NULL || v == NULL) {
            return PROTO_EPARSE;
        }
        enum proto_rc result = proto_rule_add_extra(&pre->rule, k, v);
        if (result) {
            return result;
        }
    }
    return pre->count > 0 && pre->rule.field[PROTO_RULE_NAME] == NULL ? PROTO_EPARSE : PROTO_OK;
}

static enum proto_rc state_step_from_json(const cJSON *o, struct agent_journal_step *s)
{
    const char *action = state_str(o, "action"), *st = state_str(o, "state");
    if (action == NULL || st == NULL ||
        proto_wire_action_type_from_str(action, &s->action) != PROTO_OK) {
        return PROTO_EPARSE;
    }
    if (strcmp(st, "done") != 0 && strcmp(st, "started") != 0) {
        return PROTO_EPARSE;
    }
    s->done = strcmp(st, "done") == 0;
    if (s->action == PROTO_ACTION_REGISTRY_DWORD_SET) {
        const char *value = state_str(o, "value");
        const cJSON *present = cJSON_GetObjectItemCaseSensitive(o, "present");
        double data = 0;
        bool known = false;
        for (int i = 0; value != NULL && i < PROTO_DWORD_NAME_COUNT; i++) {
            if (strcmp(value, proto_dword_allow_list[i].name) == 0) {
                s->dword = (enum proto_dword_name)i;
                known = true;
            }
        }
        if (!known || !cJSON_IsBool(present) || !state_num(o, "data", UINT32_MAX, &data)) {
            return PROTO_EPARSE;
        }
        s->dword_pre.present = cJSON_IsTrue(present);
        s->dword_pre.value = (uint32_t)data;
        return PROTO_OK;
    }
    if (s->action == PROTO_ACTION_IPSEC_RULE_ENSURE ||
        s->action == PROTO_ACTION_IPSEC_RULE_REMOVE) {
        const char *name = state_str(o, "name");
        if (name == NULL || strlen(name) > PROTO_MAX_NAME) {
            return PROTO_EPARSE;
        }
        s->rule_name = proto_strdup(name);
        if (s->rule_name == NULL) {
            return PROTO_ENOMEM;
        }
        return state_rule_from_json(cJSON_GetObjectItemCaseSensitive(o, "rule"), &s->rule_pre);
    }
    return PROTO_OK;
}

enum proto_rc agent_journal_read(const char *state_dir, struct agent_journal *j)
{
    char path[STATE_PATH_BYTES];
    unsigned char *raw = NULL;
    size_t len = 0;
    cJSON *doc = NULL;
    double serial = 0;

    memset(j, 0, sizeof(*j));
    enum proto_rc result = agent_os_join(path, sizeof(path), state_dir, AGENT_STATE_JOURNAL_FILE);
    if (result == PROTO_OK) {
        result = proto_file_read(path, AGENT_STATE_MAX_FILE_BYTES, &raw, &len);
    }
    if (result) {
        goto out;
    }
    result = PROTO_EPARSE;
    doc = cJSON_ParseWithLength((const char *)raw, len);
    const char *schema = state_str(doc, "schema"), *system = state_str(doc, "system");
    const char *profile_id = state_str(doc, "profile_id");
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(doc, "steps");
    if (schema == NULL || strcmp(schema, AGENT_STATE_JOURNAL_SCHEMA) != 0 || system == NULL ||
        strlen(system) >= sizeof(j->system) || profile_id == NULL ||
        strlen(profile_id) >= sizeof(j->profile_id) ||
        !state_num(doc, "serial", (double)STATE_MAX_SERIAL, &serial) || !cJSON_IsArray(steps) ||
        (size_t)cJSON_GetArraySize(steps) > PROTO_MAX_PROFILE_ACTIONS) {
        goto out;
    }
    snprintf(j->system, sizeof(j->system), "%s", system);
    snprintf(j->profile_id, sizeof(j->profile_id), "%s", profile_id);
    j->serial = (uint64_t)serial;
    const cJSON *item;
    result = PROTO_OK;
    cJSON_ArrayForEach(item, steps)
    {
        result = state_step_from_json(item, &j->steps[j->step_count++]);
        if (result) {
            break;
        }
    }
out:
    cJSON_Delete(doc);
    proto_free(raw);
    if (result) {
        agent_journal_clear(j);
    }
    return result;
}

enum proto_rc agent_journal_remove(const char *state_dir)
{
    char path[STATE_PATH_BYTES];
    enum proto_rc result = agent_os_join(path, sizeof(path), state_dir, AGENT_STATE_JOURNAL_FILE);
    if (result == PROTO_OK) {
        result = agent_os_remove(path, 1);
    }
    return result == PROTO_ENOTFOUND ? PROTO_OK : result;
}
