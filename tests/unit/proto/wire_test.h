/*
 * wire_test: helpers shared by the tests of the wire_* codecs (test_wire_*.c): edit one member
 * of an encoded document, write a document for the schema check, read numbers out of a schema,
 * walk a folder of counterexamples. Test-only; fails the test rather than returning errors.
 * Header-only (static inline) because tests/CMakeLists.txt links each test with testutil.c alone.
 */
#ifndef RRAS_WIRE_TEST_H
#define RRAS_WIRE_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "alloc.h"
#include "testutil.h"

/* The node at a path of keys and indexes ("actions[2].rule.port1"); with `parent`, the node
 * that holds the last step, whose key or index go to *key / *index (index -1 for a key). */
static inline cJSON *wire_test_walk(cJSON *node, const char *path, bool parent, char *key,
                                    size_t key_size, int *index)
{
    const char *p = path;
    while (node != NULL && *p != '\0') {
        char step[128];
        int at = -1;
        if (*p == '[') {
            at = (int)strtol(p + 1, NULL, 10);
            p = strchr(p, ']');
            assert_non_null(p);
            p++;
            step[0] = '\0';
        } else {
            size_t n = strcspn(p, ".[");
            assert_true(n < sizeof(step));
            memcpy(step, p, n);
            step[n] = '\0';
            p += n;
        }
        if (*p == '.') {
            p++;
        }
        if (parent && *p == '\0') {
            assert_true(strlen(step) < key_size);
            memcpy(key, step, strlen(step) + 1);
            *index = at;
            return node;
        }
        node =
            at >= 0 ? cJSON_GetArrayItem(node, at) : cJSON_GetObjectItemCaseSensitive(node, step);
    }
    return node;
}

/*
 * A copy of `doc` with the member at `path` replaced by the JSON text `raw` (inserted verbatim,
 * so it may be anything), added if absent (an index past the end appends), or deleted when raw
 * is NULL. Caller frees with
 * proto_free.
 */
static inline char *wire_test_edit(const char *doc, const char *path, const char *raw)
{
    cJSON *root = cJSON_Parse(doc);
    char key[128];
    int index = -1;
    assert_non_null(root);
    cJSON *parent = wire_test_walk(root, path, true, key, sizeof(key), &index);
    if (parent == NULL) {
        fail_msg("no parent for %s", path);
    }
    if (raw == NULL) {
        if (index >= 0) {
            cJSON_DeleteItemFromArray(parent, index);
        } else {
            cJSON_DeleteItemFromObjectCaseSensitive(parent, key);
        }
    } else {
        cJSON *item = cJSON_CreateRaw(raw);
        assert_non_null(item);
        if (index >= 0 && cJSON_GetArrayItem(parent, index) == NULL) {
            assert_true(cJSON_AddItemToArray(parent, item)); /* past the end: appended */
        } else if (index >= 0) {
            assert_true(cJSON_ReplaceItemInArray(parent, index, item));
        } else if (cJSON_GetObjectItemCaseSensitive(parent, key) != NULL) {
            assert_true(cJSON_ReplaceItemInObjectCaseSensitive(parent, key, item));
        } else {
            assert_true(cJSON_AddItemToObject(parent, key, item));
        }
    }
    char *text = cJSON_PrintUnformatted(root);
    assert_non_null(text);
    cJSON_Delete(root);
    return text;
}

/* A copy of `doc` (an object) with `extra` inserted right after its opening brace, e.g.
 * "\"serial\":2," to give a member twice. Caller frees with free(). */
static inline char *wire_test_prepend(const char *doc, const char *extra)
{
    size_t a = strlen(doc), b = strlen(extra);
    char *out = malloc(a + b + 1);
    assert_non_null(out);
    assert_int_equal(doc[0], '{');
    out[0] = '{';
    memcpy(out + 1, extra, b);
    memcpy(out + 1 + b, doc + 1, a); /* with the NUL */
    return out;
}

/* With RRAS_WRITE_WIRE=dir set, writes text to dir/name (atomically, by rename, so a concurrent
 * run never leaves half a file). Does nothing otherwise. */
static inline void wire_test_write(const char *name, const char *text)
{
    const char *dir = getenv("RRAS_WRITE_WIRE");
    char path[4096], tmp[4200];
    if (dir == NULL || dir[0] == '\0') {
        return;
    }
    int n = snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_true(n > 0 && (size_t)n < sizeof(path));
    n = snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
    assert_true(n > 0 && (size_t)n < sizeof(tmp));
    FILE *f = fopen(tmp, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fputc('\n', f), '\n');
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(tmp, path), 0);
}

/* schema/json/<name>, parsed. Caller deletes. */
static inline cJSON *wire_test_load_schema(const char *name)
{
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/schema/json/%s", RRAS_SOURCE_DIR, name);
    assert_true(n > 0 && (size_t)n < sizeof(path));
    char *text = testutil_read(path, NULL);
    cJSON *schema = cJSON_Parse(text);
    free(text);
    assert_non_null(schema);
    return schema;
}

/* Number at a '/'-separated path of object keys in the schema. */
static inline double wire_test_schema_number(const cJSON *schema, const char *path)
{
    const cJSON *node = schema;
    const char *p = path;
    while (node != NULL && *p != '\0') {
        size_t n = strcspn(p, "/");
        char key[64];
        assert_true(n < sizeof(key));
        memcpy(key, p, n);
        key[n] = '\0';
        node = cJSON_GetObjectItemCaseSensitive(node, key);
        p += n + (p[n] == '/' ? 1 : 0);
    }
    if (!cJSON_IsNumber(node)) {
        fail_msg("schema has no number at %s", path);
    }
    return cJSON_GetNumberValue(node);
}

struct wire_test_cap {
    const char *path;
    double value;
};

/* Every path of caps holds its value in schema/json/<name>. */
static inline void wire_test_schema_caps(const char *name, const struct wire_test_cap *caps,
                                         size_t count)
{
    cJSON *schema = wire_test_load_schema(name);
    for (size_t i = 0; i < count; i++) {
        double got = wire_test_schema_number(schema, caps[i].path);
        if (got < caps[i].value || got > caps[i].value) {
            fail_msg("%s: %s is %.0f in the schema, %.0f in caps.h", name, caps[i].path, got,
                     caps[i].value);
        }
    }
    cJSON_Delete(schema);
}

typedef void (*wire_test_file_fn)(const char *name, const char *text, size_t len);

/* Calls fn on every *.json file of tests/schema/invalid/<folder>; returns how many. */
static inline int wire_test_each_counterexample(const char *folder, wire_test_file_fn fn)
{
    char dir_path[4096];
    int w =
        snprintf(dir_path, sizeof(dir_path), "%s/tests/schema/invalid/%s", RRAS_SOURCE_DIR, folder);
    assert_true(w > 0 && (size_t)w < sizeof(dir_path));
    DIR *dir = opendir(dir_path);
    assert_non_null(dir);
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        size_t n = strlen(entry->d_name);
        if (n < 6 || strcmp(entry->d_name + n - 5, ".json") != 0) {
            continue;
        }
        char path[8192];
        w = snprintf(path, sizeof(path), "%s/%s", dir_path, entry->d_name);
        assert_true(w > 0 && (size_t)w < sizeof(path));
        size_t len = 0;
        char *text = testutil_read(path, &len);
        fn(entry->d_name, text, len);
        free(text);
        count++;
    }
    closedir(dir);
    return count;
}

/* A string of n copies of c; caller frees with free(). */
static inline char *wire_test_repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

#endif
