/*
 * strv: a growable array of owned C strings (SAN names, EKU OIDs, finding references).
 *
 * The vector owns every string in it; pushing copies. A push beyond the caller's count cap
 * fails with PROTO_ELIMIT so lists read from outside input stay bounded.
 */
#ifndef PROTO_STRV_H
#define PROTO_STRV_H

#include <stdbool.h>
#include <stddef.h>

#include "rc.h"

struct proto_strv {
    char **items;
    size_t count;
    size_t cap;
};

/* Copies s. max_count is the largest count allowed after the push. */
enum proto_rc proto_strv_push(struct proto_strv *v, const char *s, size_t max_count);
enum proto_rc proto_strv_pushn(struct proto_strv *v, const char *s, size_t len, size_t max_count);
/* Frees every string and the array; leaves an empty vector. Accepts a zeroed vector. */
void proto_strv_clear(struct proto_strv *v);
enum proto_rc proto_strv_copy(const struct proto_strv *src, struct proto_strv *dst);
bool proto_strv_contains(const struct proto_strv *v, const char *s);

#endif
