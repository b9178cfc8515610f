/*
 * snapcache: snapshots this collector has already decoded, validated and diagnosed, found by
 * the SHA-256 of their bytes (decision 005).
 *
 * A report whose snapshot bytes hash to an entry needs only its envelope decoded: the entry
 * holds what the diagnosis produced, valid while the clock is between the time it was made and
 * its stable_until (a clock stepped back must not reuse a diagnosis made "later"). Fixed
 * memory (4-way set-associative, replaced round robin), one mutex, any thread. It only saves
 * work: the writer still compares with what the database holds and asks for the full work when
 * they differ. Never stores report content.
 */
#ifndef COL_SNAPCACHE_H
#define COL_SNAPCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "rc.h"

struct col_snapcache;

struct col_snapcache_entry {
    char snapshot_hash[PROTO_SHA256_HEX_LEN + 1];  /* the key: lower-case hex */
    char diagnosis_hash[PROTO_SHA256_HEX_LEN + 1]; /* as in struct col_ingest_facts */
    size_t finding_count;
    int64_t computed_at;  /* policy.now of the diagnosis */
    int64_t stable_until; /* the diagnosis holds for computed_at <= now < stable_until */
};

/* `entries` is rounded down to a multiple of 4; 0 gives a NULL cache, which every call below
 * accepts as "always a miss". About 96 bytes per entry. */
enum proto_rc col_snapcache_create(size_t entries, struct col_snapcache **out);
void col_snapcache_destroy(struct col_snapcache *c); /* accepts NULL */

/* True and *out filled when `snapshot_hash` is cached and computed_at <= now < stable_until. */
bool col_snapcache_get(struct col_snapcache *c, const char *snapshot_hash, int64_t now,
                       struct col_snapcache_entry *out);
/* Adds or refreshes an entry; a malformed hash is ignored. */
void col_snapcache_put(struct col_snapcache *c, const struct col_snapcache_entry *e);

#endif
