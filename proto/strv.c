/* strv: growable array of owned strings. */
#include "strv.h"

#include <string.h>

#include "alloc.h"

enum proto_rc proto_strv_pushn(struct proto_strv *v, const char *s, size_t len, size_t max_count)
{
    if (v->count >= max_count) {
        return PROTO_ELIMIT;
    }
    if (v->count == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 4;
        char **grown = proto_realloc(v->items, cap * sizeof(*grown));
        if (grown == NULL) {
            return PROTO_ENOMEM;
        }
        v->items = grown;
        v->cap = cap;
    }
    char *copy = proto_strndup(s, len);
    if (copy == NULL) {
        return PROTO_ENOMEM;
    }
    v->items[v->count++] = copy;
    return PROTO_OK;
}

enum proto_rc proto_strv_push(struct proto_strv *v, const char *s, size_t max_count)
{
    return proto_strv_pushn(v, s, strlen(s), max_count);
}

void proto_strv_clear(struct proto_strv *v)
{
    if (v == NULL) {
        return;
    }
    for (size_t i = 0; i < v->count; i++) {
        proto_free(v->items[i]);
    }
    proto_free(v->items);
    v->items = NULL;
    v->count = 0;
    v->cap = 0;
}

enum proto_rc proto_strv_copy(const struct proto_strv *src, struct proto_strv *dst)
{
    for (size_t i = 0; i < src->count; i++) {
        enum proto_rc result = proto_strv_push(dst, src->items[i], src->count);
        if (result) {
            return result;
        }
    }
    return PROTO_OK;
}

bool proto_strv_contains(const struct proto_strv *v, const char *s)
{
    for (size_t i = 0; i < v->count; i++) {
        if (strcmp(v->items[i], s) == 0) {
            return true;
        }
    }
    return false;
}
