/*
 * snapcache: a fixed-size, set-associative map from snapshot SHA-256 to its diagnosis summary
 * (see snapcache.h). Keys are kept as 32 raw bytes; the first 8 pick the set, which is uniform
 * because they come from SHA-256.
 */
#include "snapcache.h"

#include <pthread.h>
#include <string.h>

#include "alloc.h"
#include "hex.h"

#define SNAP_WAYS 4u

struct snap_slot {
    unsigned char key[32];
    unsigned char diagnosis[32];
    uint64_t finding_count;
    int64_t computed_at;
    int64_t stable_until;
    bool used;
};

struct col_snapcache {
    pthread_mutex_t mu;
    struct snap_slot *slots;
    size_t sets;
    unsigned char *next_victim; /* per set, round robin */
};

/* A key is exactly 64 lower-case hex digits (the spelling store_facts writes). */
static bool snap_unhex(const char *hex, unsigned char out[32])
{
    return hex != NULL && strlen(hex) == PROTO_SHA256_HEX_LEN &&
           proto_hex_decode_lower(hex, out, 32);
}

static size_t snap_set(const struct col_snapcache *c, const unsigned char key[32])
{
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++) {
        v = v << 8 | key[i];
    }
    return (size_t)(v % c->sets);
}

enum proto_rc col_snapcache_create(size_t entries, struct col_snapcache **out)
{
    if (out == NULL) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    size_t sets = entries / SNAP_WAYS;
    if (sets == 0) {
        return PROTO_OK;
    }
    struct col_snapcache *c = proto_calloc(1, sizeof(*c));
    if (c == NULL) {
        return PROTO_ENOMEM;
    }
    c->sets = sets;
    c->slots = proto_calloc(sets * SNAP_WAYS, sizeof(*c->slots));
    c->next_victim = proto_calloc(sets, 1);
    if (c->slots == NULL || c->next_victim == NULL || pthread_mutex_init(&c->mu, NULL) != 0) {
        proto_free(c->slots);
        proto_free(c->next_victim);
        proto_free(c);
        return PROTO_ENOMEM;
    }
    *out = c;
    return PROTO_OK;
}

void col_snapcache_destroy(struct col_snapcache *c)
{
    if (c == NULL) {
        return;
    }
    pthread_mutex_destroy(&c->mu);
    proto_free(c->slots);
    proto_free(c->next_victim);
    proto_free(c);
}

bool col_snapcache_get(struct col_snapcache *c, const char *snapshot_hash, int64_t now,
                       struct col_snapcache_entry *out)
{
    unsigned char key[32];
    if (c == NULL || out == NULL || !snap_unhex(snapshot_hash, key)) {
        return false;
    }
    bool hit = false;
    struct snap_slot *set = &c->slots[snap_set(c, key) * SNAP_WAYS];
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < SNAP_WAYS; i++) {
        const struct snap_slot *s = &set[i];
        if (s->used && memcmp(s->key, key, sizeof(key)) == 0 && s->computed_at <= now &&
            now < s->stable_until) {
            memcpy(out->snapshot_hash, snapshot_hash, sizeof(out->snapshot_hash));
            proto_hex_encode(s->diagnosis, sizeof(s->diagnosis), false, out->diagnosis_hash);
            out->finding_count = (size_t)s->finding_count;
            out->computed_at = s->computed_at;
            out->stable_until = s->stable_until;
            hit = true;
            break;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return hit;
}

void col_snapcache_put(struct col_snapcache *c, const struct col_snapcache_entry *e)
{
    struct snap_slot slot = {.used = true};
    if (c == NULL || e == NULL || !snap_unhex(e->snapshot_hash, slot.key) ||
        !snap_unhex(e->diagnosis_hash, slot.diagnosis)) {
        return;
    }
    slot.finding_count = e->finding_count;
    slot.computed_at = e->computed_at;
    slot.stable_until = e->stable_until;
    size_t index = snap_set(c, slot.key);
    struct snap_slot *set = &c->slots[index * SNAP_WAYS];
    pthread_mutex_lock(&c->mu);
    size_t way = SNAP_WAYS;
    for (size_t i = 0; i < SNAP_WAYS && way == SNAP_WAYS; i++) {
        if (set[i].used && memcmp(set[i].key, slot.key, sizeof(slot.key)) == 0) {
            way = i; /* refresh in place */
        }
    }
    for (size_t i = 0; i < SNAP_WAYS && way == SNAP_WAYS; i++) {
        if (!set[i].used) {
            way = i;
        }
    }
    if (way == SNAP_WAYS) {
        way = c->next_victim[index];
        c->next_victim[index] = (unsigned char)((way + 1) % SNAP_WAYS);
    }
    set[way] = slot;
    pthread_mutex_unlock(&c->mu);
}
