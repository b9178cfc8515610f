/*
 * store_facts: what the store derives from a report before writing it (decision 005).
 *
 * Where the snapshot's bytes are in the body and their SHA-256 (the key under which the
 * snapshot is stored once), and a digest of everything the diagnosis puts into the latest-state
 * rows, so the writer can tell "nothing changed" with two string compares. Pure computation,
 * done on the connection thread so that the single writer thread only writes. Never touches
 * the database.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "facts.h"

#include "alloc.h"
#include "digest.h"
#include "hex.h"
#include "json_span.h"
#include "store.h"

#define FACTS_SNAPSHOT_KEY "snapshot"

/* Every field is length-prefixed, so no two different diagnoses feed the same bytes. */
static void facts_feed_u64(struct proto_sha256_stream *ctx, uint64_t v)
{
    unsigned char b[8];
    for (size_t i = 0; i < 8; i++) {
        b[i] = (unsigned char)(v >> (8 * i));
    }
    proto_sha256_update(ctx, b, sizeof(b));
}

static void facts_feed_str(struct proto_sha256_stream *ctx, const char *s)
{
    size_t len = s != NULL ? strlen(s) : 0;
    facts_feed_u64(ctx, s != NULL ? (uint64_t)len + 1 : 0); /* NULL and "" differ */
    proto_sha256_update(ctx, (const unsigned char *)s, len);
}

static void facts_feed_strv(struct proto_sha256_stream *ctx, const struct proto_strv *v)
{
    facts_feed_u64(ctx, v->count);
    for (size_t i = 0; i < v->count; i++) {
        facts_feed_str(ctx, v->items[i]);
    }
}

static void facts_diagnosis_hash(const struct proto_diagnosis *d,
                                 char out[PROTO_SHA256_HEX_LEN + 1])
{
    unsigned char digest[32];
    struct proto_sha256_stream ctx;
    proto_sha256_init(&ctx);
    facts_feed_u64(&ctx, d->automatic_policy);
    facts_feed_u64(&ctx, (uint64_t)(int64_t)d->predicted);
    facts_feed_u64(&ctx, d->eligible_count);
    for (size_t i = 0; i < d->eligible_count; i++) {
        facts_feed_u64(&ctx, d->eligible[i]);
    }
    facts_feed_u64(&ctx, d->finding_count);
    for (size_t i = 0; i < d->finding_count; i++) {
        const struct proto_finding *f = &d->findings[i];
        facts_feed_str(&ctx, f->id);
        facts_feed_u64(&ctx, (uint64_t)f->severity);
        facts_feed_str(&ctx, f->message);
        facts_feed_strv(&ctx, &f->certs);
        facts_feed_strv(&ctx, &f->rules);
    }
    if (proto_sha256_final(&ctx, digest) != PROTO_OK) {
        out[0] = '\0'; /* no digest: the store then treats the diagnosis as changed */
        return;
    }
    proto_hex_encode(digest, sizeof(digest), false, out);
}

/* The body's own bytes when they can be found; else the snapshot printed again from a parse
 * (a client that escapes its top-level keys: rare, correct, just not byte-exact). */
static enum proto_rc facts_locate_snapshot(const struct col_ingest *in,
                                           struct col_ingest_facts *out)
{
    size_t off = 0;
    size_t len = 0;
    enum proto_rc rc =
        proto_json_member_span(in->body, in->body_len, FACTS_SNAPSHOT_KEY, &off, &len);
    if (rc == PROTO_OK && in->body[off] == '{') {
        col_ingest_facts_of_span(in->body, off, len, out);
        return PROTO_OK;
    }
    cJSON *doc = cJSON_ParseWithLength(in->body, in->body_len);
    const cJSON *snap = cJSON_GetObjectItemCaseSensitive(doc, FACTS_SNAPSHOT_KEY);
    enum proto_rc result = PROTO_EINVAL;
    if (cJSON_IsObject(snap)) {
        char *printed = cJSON_PrintUnformatted(snap);
        result = printed != NULL ? PROTO_OK : PROTO_ENOMEM;
        out->printed = printed;
        out->snapshot = printed;
        out->snapshot_len = printed != NULL ? strlen(printed) : 0;
        out->snapshot_offset = -1;
    } else if (doc == NULL && in->body_len > 0) {
        result = PROTO_ENOMEM; /* the body parsed before, so only memory can fail here */
    }
    cJSON_Delete(doc);
    return result;
}

void col_ingest_facts_of_span(const char *body, size_t off, size_t len,
                              struct col_ingest_facts *out)
{
    unsigned char digest[32];
    memset(out, 0, sizeof(*out));
    out->snapshot = body + off;
    out->snapshot_len = len;
    out->snapshot_offset = (int64_t)off;
    /* No digest leaves snapshot_hash empty, which the store refuses (never a wrong address). */
    if (proto_sha256(out->snapshot, len, digest) == PROTO_OK) {
        proto_hex_encode(digest, sizeof(digest), false, out->snapshot_hash);
    }
}

enum proto_rc col_ingest_facts_compute(const struct col_ingest *in, struct col_ingest_facts *out)
{
    if (out == NULL) {
        return PROTO_EINVAL;
    }
    memset(out, 0, sizeof(*out));
    out->snapshot_offset = -1;
    if (in == NULL || in->body == NULL || in->diagnosis == NULL) {
        return PROTO_EINVAL;
    }
    enum proto_rc result = facts_locate_snapshot(in, out);
    if (result) {
        col_ingest_facts_release(out);
        return result;
    }
    if (out->snapshot_hash[0] == '\0') { /* re-printed: not hashed yet */
        unsigned char digest[32];
        if (proto_sha256(out->snapshot, out->snapshot_len, digest) != PROTO_OK) {
            col_ingest_facts_release(out);
            return PROTO_ECRYPTO;
        }
        proto_hex_encode(digest, sizeof(digest), false, out->snapshot_hash);
    }
    facts_diagnosis_hash(in->diagnosis, out->diagnosis_hash);
    return PROTO_OK;
}

void col_ingest_facts_add_diagnosis(const struct proto_diagnosis *diagnosis,
                                    struct col_ingest_facts *facts)
{
    facts_diagnosis_hash(diagnosis, facts->diagnosis_hash);
}

void col_ingest_facts_release(struct col_ingest_facts *facts)
{
    if (facts == NULL) {
        return;
    }
    cJSON_free(facts->printed);
    memset(facts, 0, sizeof(*facts));
    facts->snapshot_offset = -1;
}
