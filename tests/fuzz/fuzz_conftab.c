/*
 * fuzz_conftab: configuration files are outside input. Feeds the bytes to proto_conf_load_file
 * (through a private temporary file, since the loader reads paths), then splits them on NUL
 * into an argument vector for proto_conf_apply_flags, and checks that every string setting
 * stays NUL-terminated inside its array whatever happens.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "conftab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_settings {
    char name[16];
    unsigned long count;
    unsigned long wide;
    bool enabled;
    char path[256];
};

static const struct proto_conf_entry fuzz_table[] = {
    {"name", PROTO_CONF_STRING, "n", 0, 0, offsetof(struct fuzz_settings, name),
     sizeof(((struct fuzz_settings *)0)->name), "d"},
    {"count", PROTO_CONF_UINT, "5", 1, 1000, offsetof(struct fuzz_settings, count), 0, "d"},
    {"wide", PROTO_CONF_UINT, "0", 0, (unsigned long)-1, offsetof(struct fuzz_settings, wide), 0,
     "d"},
    {"enabled", PROTO_CONF_BOOL, "no", 0, 0, offsetof(struct fuzz_settings, enabled), 0, "d"},
    {"path", PROTO_CONF_STRING, "", 0, 0, offsetof(struct fuzz_settings, path),
     sizeof(((struct fuzz_settings *)0)->path), "d"},
};
#define FUZZ_COUNT (sizeof(fuzz_table) / sizeof(fuzz_table[0]))
#define FUZZ_MAX_ARGS 64

static void fuzz_check(const struct fuzz_settings *s)
{
    if (memchr(s->name, '\0', sizeof(s->name)) == NULL ||
        memchr(s->path, '\0', sizeof(s->path)) == NULL || s->count < 1 || s->count > 1000) {
        abort();
    }
}

static char fuzz_path[64];

static void fuzz_cleanup(void)
{
    unlink(fuzz_path);
}

static void fuzz_file(const uint8_t *data, size_t size)
{
    char *path = fuzz_path;
    if (path[0] == '\0') {
        /* tmpfs when there is one: truncating a file on a disk costs ~0.3 ms per input */
        const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        int n = snprintf(path, sizeof(fuzz_path), "%s/fuzz_conftab.%ld", dir, (long)getpid());
        if (n < 0 || (size_t)n >= sizeof(fuzz_path)) {
            abort();
        }
        atexit(fuzz_cleanup);
    }
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        return;
    }
    size_t written = fwrite(data, 1, size, f);
    if (fclose(f) != 0 || written != size) {
        return;
    }
    struct fuzz_settings s;
    struct proto_conf conf;
    char err[256];
    if (proto_conf_init(&conf, fuzz_table, FUZZ_COUNT, &s) != PROTO_OK) {
        abort();
    }
    enum proto_rc rc = proto_conf_load_file(&conf, path, err, sizeof(err));
    if (rc != PROTO_OK && err[0] == '\0') {
        abort(); /* every failure must say why */
    }
    fuzz_check(&s);
    proto_conf_free(&conf);
}

static void fuzz_flags(const uint8_t *data, size_t size)
{
    char *copy = proto_malloc(size + 1);
    if (copy == NULL) {
        return;
    }
    memcpy(copy, data, size);
    copy[size] = '\0';
    char *argv[FUZZ_MAX_ARGS + 1];
    int argc = 0;
    argv[argc++] = "prog";
    for (size_t i = 0; i <= size && argc < FUZZ_MAX_ARGS;) {
        argv[argc++] = copy + i;
        i += strlen(copy + i) + 1;
    }
    argv[argc] = NULL;
    struct fuzz_settings s;
    struct proto_conf conf;
    char err[256];
    if (proto_conf_init(&conf, fuzz_table, FUZZ_COUNT, &s) != PROTO_OK) {
        abort();
    }
    int kept = -1;
    if (proto_conf_apply_flags(&conf, argc, argv, 1, &kept, err, sizeof(err)) == PROTO_OK) {
        if (kept < 1 || kept > argc) {
            abort();
        }
        for (int i = 1; i < kept; i++) {
            if (argv[i] == NULL) {
                abort();
            }
        }
    } else if (err[0] == '\0') {
        abort();
    }
    fuzz_check(&s);
    /* the same bytes as one value for every key */
    for (size_t k = 0; k < FUZZ_COUNT; k++) {
        (void)proto_conf_set(&conf, fuzz_table[k].key, copy, PROTO_CONF_FROM_REGISTRY, err,
                             sizeof(err));
        fuzz_check(&s);
    }
    proto_conf_free(&conf);
    proto_free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 2u * 1024u * 1024u) {
        return 0;
    }
    fuzz_file(data, size);
    fuzz_flags(data, size);
    return 0;
}
