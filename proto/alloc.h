/*
 * alloc: the single allocation seam of librrasproto (STYLE rule 7).
 *
 * Everything in proto allocates through these functions, and proto_alloc_install_cjson_hooks()
 * routes cJSON through them too, so a test can make the Nth allocation fail and check that every
 * out-of-memory path cleans up. mbedTLS 2.28 as packaged by Debian is built without
 * MBEDTLS_PLATFORM_MEMORY, so its internal allocations cannot be routed here.
 */
#ifndef PROTO_ALLOC_H
#define PROTO_ALLOC_H

#include <stddef.h>

void *proto_malloc(size_t n);
void *proto_calloc(size_t count, size_t size);
void *proto_realloc(void *p, size_t n);
void proto_free(void *p);

/* Copies of strings; caller frees with proto_free. NULL on allocation failure or NULL input. */
char *proto_strdup(const char *s);
char *proto_strndup(const char *s, size_t n);

/* Routes cJSON's allocations through this seam. Call once at program start, before any
 * thread exists (cJSON keeps the hooks in globals). */
void proto_alloc_install_cjson_hooks(void);

/*
 * Test hook: the allocation with ordinal `n` (1-based, counted from this call) and every later
 * one fail; n == 0 turns failure injection off. Returns how many allocations were counted
 * (only while injection was on) since the previous call. For single-threaded tests.
 */
unsigned long proto_alloc_fail_after(unsigned long n);

#endif
