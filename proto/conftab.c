/*
 * conftab: one declarative table drives defaults, the key=value file, flags, registry values,
 * `config --print` and the Markdown reference (STYLE rule 10).
 *
 * Owns the per-entry origin array and nothing else: values live in the caller's settings struct
 * (strings in fixed char arrays). A value is parsed completely before anything is stored, so a
 * rejected value leaves the previous one in place. Files are capped at CONF_MAX_FILE_BYTES and
 * lines at CONF_MAX_LINE_BYTES. Never allocates per value and never trusts the file: every
 * number is range-checked and every string length-checked.
 *
 * Result codes: proto_conf_set gives PROTO_ENOTFOUND for an unknown key, PROTO_EPARSE for a
 * value of the wrong form and PROTO_ELIMIT for one out of range or too long. In a file an unknown
 * key is PROTO_EPARSE, so that PROTO_ENOTFOUND from proto_conf_load_file means only "no file".
 */
#include "conftab.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "buf.h"

#define CONF_MAX_FILE_BYTES (1024u * 1024u) /* a configuration file */
#define CONF_MAX_LINE_BYTES 4096u           /* one line of it, without the line end */
#define CONF_MAX_KEY_BYTES 128u             /* a key or flag name */
#define CONF_SHOWN_VALUE_BYTES 64u          /* how much of a bad value an error message quotes */

/* A printable, truncated copy of an offending value for error messages: configuration text may
 * hold anything, and error messages end up on terminals and in logs. */
static void conf_shown(const char *value, char out[CONF_SHOWN_VALUE_BYTES + 4])
{
    size_t n = 0;
    for (; n < CONF_SHOWN_VALUE_BYTES && value[n] != '\0'; n++) {
        unsigned char c = (unsigned char)value[n];
        out[n] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (value[n] != '\0') {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

static bool conf_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Trims [*start, *end) of blanks on both sides. */
static void conf_trim(const char **start, const char **end)
{
    while (*start < *end && conf_is_space(**start)) {
        (*start)++;
    }
    while (*end > *start && conf_is_space((*end)[-1])) {
        (*end)--;
    }
}

static const struct proto_conf_entry *conf_find(const struct proto_conf *conf, const char *key,
                                                size_t key_len, size_t *index)
{
    for (size_t i = 0; i < conf->count; i++) {
        const char *k = conf->entries[i].key;
        if (strlen(k) == key_len && memcmp(k, key, key_len) == 0) {
            *index = i;
            return &conf->entries[i];
        }
    }
    return NULL;
}

static enum proto_rc conf_parse_uint(const struct proto_conf_entry *e, const char *text,
                                     unsigned long *out, char *err, size_t err_size)
{
    char shown[CONF_SHOWN_VALUE_BYTES + 4];
    /* strtoul would accept blanks, a sign (and negate!) and nothing at all: insist on digits. */
    if (!isdigit((unsigned char)text[0])) {
        conf_shown(text, shown);
        proto_errf(err, err_size, "'%s': expected an unsigned integer, got '%s'", e->key, shown);
        return PROTO_EPARSE;
    }
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (*end != '\0') {
        conf_shown(text, shown);
        proto_errf(err, err_size, "'%s': expected an unsigned integer, got '%s'", e->key, shown);
        return PROTO_EPARSE;
    }
    if (errno == ERANGE || v < e->min || v > e->max) {
        conf_shown(text, shown);
        proto_errf(err, err_size, "'%s': expected %lu..%lu, got %s", e->key, e->min, e->max, shown);
        return PROTO_ELIMIT;
    }
    *out = v;
    return PROTO_OK;
}

static enum proto_rc conf_parse_bool(const struct proto_conf_entry *e, const char *text, bool *out,
                                     char *err, size_t err_size)
{
    static const char *const yes[] = {"true", "yes", "1", "on"};
    static const char *const no[] = {"false", "no", "0", "off"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = true;
            return PROTO_OK;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = false;
            return PROTO_OK;
        }
    }
    char shown[CONF_SHOWN_VALUE_BYTES + 4];
    conf_shown(text, shown);
    proto_errf(err, err_size, "'%s': expected true/false, yes/no, 1/0 or on/off, got '%s'", e->key,
               shown);
    return PROTO_EPARSE;
}

/* Parses `text` (already trimmed and unquoted, NUL-terminated) and stores it. */
static enum proto_rc conf_store(const struct proto_conf_entry *e, void *settings, const char *text,
                                size_t len, char *err, size_t err_size)
{
    enum proto_rc result = PROTO_OK;
    unsigned char *field = (unsigned char *)settings + e->offset;
    switch (e->type) {
    case PROTO_CONF_STRING:
        if (e->size == 0 || len > e->size - 1) {
            proto_errf(err, err_size, "'%s': longer than %zu bytes", e->key,
                       e->size == 0 ? (size_t)0 : e->size - 1);
            return PROTO_ELIMIT;
        }
        memcpy(field, text, len);
        field[len] = '\0';
        return PROTO_OK;
    case PROTO_CONF_UINT: {
        unsigned long v = 0;
        result = conf_parse_uint(e, text, &v, err, err_size);
        if (result == PROTO_OK) {
            memcpy(field, &v, sizeof(v));
        }
        return result;
    }
    case PROTO_CONF_BOOL: {
        bool v = false;
        result = conf_parse_bool(e, text, &v, err, err_size);
        if (result == PROTO_OK) {
            memcpy(field, &v, sizeof(v));
        }
        return result;
    }
    }
    proto_errf(err, err_size, "'%s': unknown type", e->key);
    return PROTO_EINVAL;
}

/* Trims, strips one pair of surrounding quotes, and stores through a bounded copy. */
static enum proto_rc conf_set_entry(const struct proto_conf_entry *e, void *settings,
                                    const char *value, char *err, size_t err_size)
{
    const char *start = value;
    const char *end = value + strlen(value);
    conf_trim(&start, &end);
    if (end - start >= 2 && start[0] == '"' && end[-1] == '"') {
        start++;
        end--;
    }
    size_t len = (size_t)(end - start);
    /* The copy bounds the work: nothing a table can hold is anywhere near this long. */
    if (len > CONF_MAX_LINE_BYTES) {
        proto_errf(err, err_size, "'%s': value longer than %u bytes", e->key, CONF_MAX_LINE_BYTES);
        return PROTO_ELIMIT;
    }
    char text[CONF_MAX_LINE_BYTES + 1];
    memcpy(text, start, len);
    text[len] = '\0';
    return conf_store(e, settings, text, len, err, err_size);
}

enum proto_rc proto_conf_init(struct proto_conf *conf, const struct proto_conf_entry *entries,
                              size_t count, void *settings)
{
    if (conf == NULL || entries == NULL || settings == NULL || count == 0) {
        return PROTO_EINVAL;
    }
    conf->entries = entries;
    conf->count = count;
    conf->settings = settings;
    conf->origins = proto_calloc(count, sizeof(conf->origins[0]));
    if (conf->origins == NULL) {
        return PROTO_ENOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        const char *def = entries[i].default_value != NULL ? entries[i].default_value : "";
        if (conf_set_entry(&entries[i], settings, def, NULL, 0) != PROTO_OK) {
            proto_conf_free(conf);
            return PROTO_EINVAL;
        }
        conf->origins[i] = PROTO_CONF_FROM_DEFAULT;
    }
    return PROTO_OK;
}

void proto_conf_free(struct proto_conf *conf)
{
    if (conf == NULL) {
        return;
    }
    proto_free(conf->origins);
    conf->origins = NULL;
}

enum proto_rc proto_conf_set(struct proto_conf *conf, const char *key, const char *value,
                             enum proto_conf_origin origin, char *err, size_t err_size)
{
    proto_errf(err, err_size, "%s", "");
    if (conf == NULL || conf->origins == NULL || key == NULL || value == NULL) {
        proto_errf(err, err_size, "%s", "invalid arguments");
        return PROTO_EINVAL;
    }
    size_t index = 0;
    const struct proto_conf_entry *e = conf_find(conf, key, strlen(key), &index);
    if (e == NULL) {
        char shown[CONF_SHOWN_VALUE_BYTES + 4];
        conf_shown(key, shown);
        proto_errf(err, err_size, "unknown key '%s'", shown);
        return PROTO_ENOTFOUND;
    }
    enum proto_rc result = conf_set_entry(e, conf->settings, value, err, err_size);
    if (result == PROTO_OK) {
        conf->origins[index] = origin;
    }
    return result;
}

/* The value part of a line, [*start, *end) after '=': cuts a trailing comment. A value in
 * quotes ends at the first '"' followed only by blanks or a comment, so it may hold '#' and
 * '"'; an unquoted value ends at a '#' that follows a blank. The quotes are kept for
 * proto_conf_set to strip. */
static bool conf_cut_comment(const char **start, const char **end)
{
    conf_trim(start, end);
    const char *s = *start;
    const char *e = *end;
    if (s < e && *s == '"') {
        for (const char *q = s + 1; q < e; q++) {
            if (*q != '"') {
                continue;
            }
            const char *rest = q + 1;
            while (rest < e && conf_is_space(*rest)) {
                rest++;
            }
            if (rest == e || *rest == '#') {
                *end = q + 1;
                return true;
            }
        }
        return false; /* unterminated quote */
    }
    for (const char *p = s; p < e; p++) {
        if (*p == '#' && p > s && conf_is_space(p[-1])) {
            *end = p;
            break;
        }
    }
    conf_trim(start, end);
    return true;
}

/* One line without its line end. */
static enum proto_rc conf_load_line(struct proto_conf *conf, const char *path, size_t lineno,
                                    const char *line, size_t len, char *err, size_t err_size)
{
    const char *start = line;
    const char *end = line + len;
    conf_trim(&start, &end);
    if (start == end || *start == '#') {
        return PROTO_OK;
    }
    const char *eq = memchr(start, '=', (size_t)(end - start));
    if (eq == NULL) {
        proto_errf(err, err_size, "%s:%zu: expected 'key = value'", path, lineno);
        return PROTO_EPARSE;
    }
    const char *key_start = start;
    const char *key_end = eq;
    conf_trim(&key_start, &key_end);
    size_t key_len = (size_t)(key_end - key_start);
    if (key_len == 0) {
        proto_errf(err, err_size, "%s:%zu: missing key before '='", path, lineno);
        return PROTO_EPARSE;
    }
    char key[CONF_MAX_KEY_BYTES + 1];
    char shown[CONF_SHOWN_VALUE_BYTES + 4];
    size_t index = 0;
    const struct proto_conf_entry *e = NULL;
    if (key_len <= CONF_MAX_KEY_BYTES) {
        e = conf_find(conf, key_start, key_len, &index);
    }
    if (e == NULL) {
        size_t shown_len = key_len < CONF_MAX_KEY_BYTES ? key_len : CONF_MAX_KEY_BYTES;
        memcpy(key, key_start, shown_len);
        key[shown_len] = '\0';
        conf_shown(key, shown);
        proto_errf(err, err_size, "%s:%zu: unknown key '%s'", path, lineno, shown);
        return PROTO_EPARSE;
    }
    const char *value_start = eq + 1;
    const char *value_end = end;
    if (!conf_cut_comment(&value_start, &value_end)) {
        proto_errf(err, err_size,
                   "%s:%zu: '%s': unterminated quote, or text after the closing quote", path,
                   lineno, e->key);
        return PROTO_EPARSE;
    }
    size_t value_len = (size_t)(value_end - value_start);
    char value[CONF_MAX_LINE_BYTES + 1]; /* a line is at most this long */
    memcpy(value, value_start, value_len);
    value[value_len] = '\0';
    char why[256];
    enum proto_rc result = conf_set_entry(e, conf->settings, value, why, sizeof(why));
    if (result != PROTO_OK) {
        proto_errf(err, err_size, "%s:%zu: %s", path, lineno, why);
        return result;
    }
    conf->origins[index] = PROTO_CONF_FROM_FILE;
    return PROTO_OK;
}

/* Reads the whole file, refusing more than CONF_MAX_FILE_BYTES. Caller frees *out. */
static enum proto_rc conf_read_file(const char *path, char **out, size_t *out_len, char *err,
                                    size_t err_size)
{
    enum proto_rc result = PROTO_OK;
    struct proto_buf data;
    proto_buf_init(&data, CONF_MAX_FILE_BYTES);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        int saved = errno;
        proto_errf(err, err_size, "%s: %s", path, strerror(saved));
        return saved == ENOENT ? PROTO_ENOTFOUND : PROTO_EIO;
    }
    char chunk[4096];
    size_t n = 0;
    while (result == PROTO_OK && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        result = proto_buf_append(&data, chunk, n);
    }
    if (result == PROTO_ELIMIT) {
        proto_errf(err, err_size, "%s: larger than %u bytes", path, CONF_MAX_FILE_BYTES);
        goto out;
    }
    if (result == PROTO_ENOMEM) {
        proto_errf(err, err_size, "%s: out of memory", path);
        goto out;
    }
    if (ferror(f)) {
        proto_errf(err, err_size, "%s: read error", path);
        result = PROTO_EIO;
        goto out;
    }
    *out = proto_buf_detach(&data, out_len);
    if (*out == NULL) {
        proto_errf(err, err_size, "%s: out of memory", path);
        result = PROTO_ENOMEM;
    }
out:
    proto_buf_free(&data);
    fclose(f);
    return result;
}

enum proto_rc proto_conf_load_file(struct proto_conf *conf, const char *path, char *err,
                                   size_t err_size)
{
    proto_errf(err, err_size, "%s", "");
    if (conf == NULL || conf->origins == NULL || path == NULL) {
        proto_errf(err, err_size, "%s", "invalid arguments");
        return PROTO_EINVAL;
    }
    char *data = NULL;
    size_t len = 0;
    enum proto_rc result = conf_read_file(path, &data, &len, err, err_size);
    if (result != PROTO_OK) {
        return result;
    }
    size_t pos = 0;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
        pos = 3; /* Notepad's UTF-8 signature */
    }
    for (size_t lineno = 1; pos < len; lineno++) {
        const char *line = data + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t line_len = nl != NULL ? (size_t)(nl - line) : len - pos;
        pos += line_len + (nl != NULL ? 1 : 0);
        if (line_len > 0 && line[line_len - 1] == '\r') {
            line_len--;
        }
        if (line_len > CONF_MAX_LINE_BYTES) {
            proto_errf(err, err_size, "%s:%zu: line longer than %u bytes", path, lineno,
                       CONF_MAX_LINE_BYTES);
            result = PROTO_ELIMIT;
            goto out;
        }
        if (memchr(line, '\0', line_len) != NULL) {
            proto_errf(err, err_size, "%s:%zu: NUL byte in line", path, lineno);
            result = PROTO_EPARSE;
            goto out;
        }
        result = conf_load_line(conf, path, lineno, line, line_len, err, err_size);
        if (result != PROTO_OK) {
            goto out;
        }
    }
out:
    proto_free(data);
    return result;
}

enum proto_rc proto_conf_apply_flags(struct proto_conf *conf, int argc, char **argv, int first,
                                     int *argc_out, char *err, size_t err_size)
{
    proto_errf(err, err_size, "%s", "");
    if (conf == NULL || conf->origins == NULL || argv == NULL || argc_out == NULL || first < 0 ||
        first > argc) {
        proto_errf(err, err_size, "%s", "invalid arguments");
        return PROTO_EINVAL;
    }
    char shown[CONF_SHOWN_VALUE_BYTES + 4];
    int kept = first;
    bool only_positional = false;
    for (int i = first; i < argc; i++) {
        char *arg = argv[i];
        if (only_positional || strncmp(arg, "--", 2) != 0) {
            argv[kept++] = arg; /* kept <= i, so this never overwrites an unread argument */
            continue;
        }
        if (arg[2] == '\0') {
            only_positional = true; /* "--" ends the flags and is dropped */
            continue;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t name_len = eq != NULL ? (size_t)(eq - name) : strlen(name);
        char key[CONF_MAX_KEY_BYTES + 1];
        size_t index = 0;
        const struct proto_conf_entry *e = NULL;
        if (name_len <= CONF_MAX_KEY_BYTES) {
            for (size_t k = 0; k < name_len; k++) {
                key[k] = name[k] == '-' ? '_' : name[k];
            }
            key[name_len] = '\0';
            e = conf_find(conf, key, name_len, &index);
        }
        if (e == NULL) {
            conf_shown(arg, shown);
            proto_errf(err, err_size, "unknown flag '%s'", shown);
            return PROTO_ENOTFOUND;
        }
        const char *value = NULL;
        if (eq != NULL) {
            value = eq + 1;
        } else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
            value = argv[++i];
        } else {
            conf_shown(arg, shown);
            proto_errf(err, err_size, "%s: missing value", shown);
            return PROTO_EPARSE;
        }
        char why[256];
        enum proto_rc result = conf_set_entry(e, conf->settings, value, why, sizeof(why));
        if (result != PROTO_OK) {
            proto_errf(err, err_size, "--%.*s: %s", (int)name_len, name, why);
            return result;
        }
        conf->origins[index] = PROTO_CONF_FROM_FLAG;
    }
    if (kept < argc) {
        argv[kept] = NULL; /* keep argv[argc] == NULL true for the shortened vector */
    }
    *argc_out = kept;
    return PROTO_OK;
}

/* The value as it would be written in a file (strings quoted so that they load back). */
static void conf_format_value(const struct proto_conf_entry *e, const void *settings, char *out,
                              size_t out_size)
{
    const unsigned char *field = (const unsigned char *)settings + e->offset;
    int n = -1;
    switch (e->type) {
    case PROTO_CONF_STRING:
        n = snprintf(out, out_size, "\"%.*s\"", (int)strnlen((const char *)field, e->size),
                     (const char *)field);
        break;
    case PROTO_CONF_UINT: {
        unsigned long v = 0;
        memcpy(&v, field, sizeof(v));
        n = snprintf(out, out_size, "%lu", v);
        break;
    }
    case PROTO_CONF_BOOL: {
        bool v = false;
        memcpy(&v, field, sizeof(v));
        n = snprintf(out, out_size, "%s", v ? "true" : "false");
        break;
    }
    }
    if (n < 0 && out_size > 0) {
        out[0] = '\0';
    }
}

void proto_conf_print(const struct proto_conf *conf, FILE *to)
{
    if (conf == NULL || to == NULL) {
        return;
    }
    char value[CONF_MAX_LINE_BYTES + 4];
    size_t width = 0;
    for (size_t i = 0; i < conf->count; i++) {
        conf_format_value(&conf->entries[i], conf->settings, value, sizeof(value));
        size_t w = strlen(conf->entries[i].key) + 3 + strlen(value);
        width = w > width ? w : width;
    }
    for (size_t i = 0; i < conf->count; i++) {
        const struct proto_conf_entry *e = &conf->entries[i];
        conf_format_value(e, conf->settings, value, sizeof(value));
        size_t w = strlen(e->key) + 3 + strlen(value);
        fprintf(to, "%s = %s%*s   # %s\n", e->key, value, (int)(width - w), "",
                proto_conf_origin_str(conf->origins != NULL ? conf->origins[i]
                                                            : PROTO_CONF_FROM_DEFAULT));
    }
}

/* Writes `s` for a Markdown table cell: '|' escaped, line ends as blanks. */
static void conf_md_cell(const char *s, FILE *to)
{
    for (; *s != '\0'; s++) {
        if (*s == '|') {
            fputs("\\|", to);
        } else if (*s == '\n' || *s == '\r') {
            fputc(' ', to);
        } else {
            fputc(*s, to);
        }
    }
}

void proto_conf_markdown(const struct proto_conf_entry *entries, size_t count, FILE *to)
{
    if (entries == NULL || to == NULL) {
        return;
    }
    fputs("| Key | Flag | Type | Default | Limits | Description |\n", to);
    fputs("|---|---|---|---|---|---|\n", to);
    for (size_t i = 0; i < count; i++) {
        const struct proto_conf_entry *e = &entries[i];
        const char *def = e->default_value != NULL ? e->default_value : "";
        fprintf(to, "| `%s` | `--", e->key);
        for (const char *k = e->key; *k != '\0'; k++) {
            fputc(*k == '_' ? '-' : *k, to);
        }
        fputs("` | ", to);
        switch (e->type) {
        case PROTO_CONF_STRING:
            fputs("string | ", to);
            if (def[0] == '\0') {
                fputs("(empty)", to);
            } else {
                fputs("`", to);
                conf_md_cell(def, to);
                fputs("`", to);
            }
            fprintf(to, " | at most %zu bytes | ", e->size > 0 ? e->size - 1 : 0);
            break;
        case PROTO_CONF_UINT:
            fputs("unsigned | `", to);
            conf_md_cell(def, to);
            fprintf(to, "` | %lu..%lu | ", e->min, e->max);
            break;
        case PROTO_CONF_BOOL:
            fputs("boolean | `", to);
            conf_md_cell(def, to);
            fputs("` | true/false, yes/no, 1/0, on/off | ", to);
            break;
        }
        conf_md_cell(e->description != NULL ? e->description : "", to);
        fputs(" |\n", to);
    }
}

const char *proto_conf_origin_str(enum proto_conf_origin origin)
{
    switch (origin) {
    case PROTO_CONF_FROM_DEFAULT:
        return "default";
    case PROTO_CONF_FROM_FILE:
        return "file";
    case PROTO_CONF_FROM_REGISTRY:
        return "registry";
    case PROTO_CONF_FROM_FLAG:
        return "flag";
    case PROTO_CONF_FROM_INSTALLER:
        return "installer";
    }
    return "unknown";
}
