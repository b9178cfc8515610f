/*
 * conftab: declarative configuration tables (STYLE rule 10).
 *
 * One table (key, type, default, limits, offset into the settings struct, description) drives
 * everything: defaults, the key=value file (unknown keys rejected with the line number), flags
 * and registry policy values (all through proto_conf_set), `config --print` with the origin of
 * each value, and the Markdown reference in docs/. Strings are stored in fixed char arrays of
 * the settings struct, so a settings struct needs no freeing.
 */
#ifndef PROTO_CONFTAB_H
#define PROTO_CONFTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "rc.h"

enum proto_conf_type {
    PROTO_CONF_STRING, /* char[size] at offset */
    PROTO_CONF_UINT,   /* unsigned long at offset, min..max */
    PROTO_CONF_BOOL    /* bool at offset; true/false, yes/no, 1/0, on/off */
};

/* Where a value came from, as `config --print` names it. The order says nothing about
 * precedence: the caller applies its sources lowest first. */
enum proto_conf_origin {
    PROTO_CONF_FROM_DEFAULT,
    PROTO_CONF_FROM_FILE,
    PROTO_CONF_FROM_REGISTRY, /* "registry": the agent's Group Policy key */
    PROTO_CONF_FROM_FLAG,
    PROTO_CONF_FROM_INSTALLER /* "installer": the agent's policy-free key, which its MSI writes */
};

struct proto_conf_entry {
    const char *key; /* snake_case; the flag is --key with '_' as '-' */
    enum proto_conf_type type;
    const char *default_value; /* as text, parsed like any other value */
    unsigned long min;         /* UINT only */
    unsigned long max;         /* UINT only */
    size_t offset;             /* offsetof(settings struct, member) */
    size_t size;               /* STRING: sizeof the char array */
    const char *description;   /* one line, for --print and the docs */
};

struct proto_conf {
    const struct proto_conf_entry *entries; /* borrowed static table */
    size_t count;
    void *settings;                  /* borrowed: the struct the offsets point into */
    enum proto_conf_origin *origins; /* owned: one per entry */
};

/* Applies every default. PROTO_EINVAL if a default does not parse (a programmer error). */
enum proto_rc proto_conf_init(struct proto_conf *conf, const struct proto_conf_entry *entries,
                              size_t count, void *settings);
void proto_conf_free(struct proto_conf *conf);

/* Sets one key from text. `err` gets "unknown key 'x'" or "'x': expected 1..100, got 0". */
enum proto_rc proto_conf_set(struct proto_conf *conf, const char *key, const char *value,
                             enum proto_conf_origin origin, char *err, size_t err_size);

/* Reads `key = value` lines ('#' comments, blank lines). Stops at the first bad line:
 * err says "FILE:LINE: ...". PROTO_ENOTFOUND when the file does not exist. */
enum proto_rc proto_conf_load_file(struct proto_conf *conf, const char *path, char *err,
                                   size_t err_size);

/* Consumes `--key value` and `--key=value` flags that name table keys ('-' or '_'), from
 * argv[first..argc). Leaves other arguments in place, compacted to the front of
 * argv[first..]; *argc_out is the new count. Unknown `--x` flags are errors. */
enum proto_rc proto_conf_apply_flags(struct proto_conf *conf, int argc, char **argv, int first,
                                     int *argc_out, char *err, size_t err_size);

/* "key = value   # origin" lines for every entry. */
void proto_conf_print(const struct proto_conf *conf, FILE *to);
/* A Markdown table of the entries (key, type, default, limits, description). */
void proto_conf_markdown(const struct proto_conf_entry *entries, size_t count, FILE *to);

const char *proto_conf_origin_str(enum proto_conf_origin origin);

#endif
