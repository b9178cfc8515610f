/* alloc: malloc wrappers with an injectable failure point for out-of-memory tests. */
#include "alloc.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* Atomics: the collector allocates from many threads; with injection off (fail_at == 0) the
 * counter is not even touched, so production pays one relaxed load per allocation. */
static unsigned long alloc_count;
static unsigned long alloc_fail_at;

static int alloc_should_fail(void)
{
    unsigned long fail_at = __atomic_load_n(&alloc_fail_at, __ATOMIC_RELAXED);
    if (fail_at == 0) {
        return 0;
    }
    return __atomic_add_fetch(&alloc_count, 1, __ATOMIC_RELAXED) >= fail_at;
}

unsigned long proto_alloc_fail_after(unsigned long n)
{
    unsigned long ran = __atomic_exchange_n(&alloc_count, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&alloc_fail_at, n, __ATOMIC_RELAXED);
    return ran;
}

void *proto_malloc(size_t n)
{
    if (alloc_should_fail()) {
        return NULL;
    }
    return malloc(n ? n : 1);
}

void *proto_calloc(size_t count, size_t size)
{
    if (alloc_should_fail()) {
        return NULL;
    }
    if (count == 0 || size == 0) {
        count = 1;
        size = 1;
    }
    return calloc(count, size);
}

void *proto_realloc(void *p, size_t n)
{
    if (alloc_should_fail()) {
        return NULL;
    }
    return realloc(p, n ? n : 1);
}

void proto_free(void *p)
{
    free(p);
}

char *proto_strndup(const char *s, size_t n)
{
    if (s == NULL) {
        return NULL;
    }
    size_t len = strnlen(s, n);
    char *copy = proto_malloc(len + 1);
    if (copy == NULL) {
        return NULL;
    }
    memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}

char *proto_strdup(const char *s)
{
    if (s == NULL) {
        return NULL;
    }
    return proto_strndup(s, strlen(s));
}

void proto_alloc_install_cjson_hooks(void)
{
    cJSON_Hooks hooks = {proto_malloc, proto_free};
    cJSON_InitHooks(&hooks);
}
