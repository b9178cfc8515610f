/*
 * spool: the agent's durable outbox of reports (agent/spool.h, docs/internals/spool.md).
 *
 * Owns the spool folder: one file per record (%020llu.rec), the "state" file (next sequence
 * number and the loss counters), the "lock" file and quarantine/. Every file is written
 * atomically (tmp-* file, fsync, rename, fsync of the folder), so a crash leaves the old file or
 * the new one, never a torn one; tmp-* leftovers are deleted at open. Keeps a sorted in-memory
 * index of (seq, size) so append and peek never rescan the folder. Must never trust a record's
 * bytes (each is checked, and a bad one is quarantined, never fatal), never under-report a loss,
 * and never call the OS but through agent_os.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_os.h"
#include "alloc.h"
#include "digest.h"
#include "spool.h"

/* Record header layout (all integers little-endian). */
#define SPOOL_VERSION 1u
#define SPOOL_MAGIC_LEN 8u
#define SPOOL_OFF_VERSION 8u
#define SPOOL_OFF_SEQ 12u
#define SPOOL_OFF_LEN 20u
#define SPOOL_OFF_SHA 28u
#define SPOOL_SHA_LEN 32u
_Static_assert(SPOOL_OFF_SHA + SPOOL_SHA_LEN == AGENT_SPOOL_HEADER_BYTES, "record header layout");

/* State file: magic, u32 version, u64 next_seq, u64 dropped, u64 quarantined, SHA-256 of the
 * 36 bytes before it. */
#define SPOOL_STATE_MAGIC "RRSTATE1"
#define SPOOL_STATE_VERSION 1u
#define SPOOL_STATE_SUMMED 36u
#define SPOOL_STATE_BYTES (SPOOL_STATE_SUMMED + SPOOL_SHA_LEN)

#define SPOOL_NAME_DIGITS 20u
#define SPOOL_NAME_LEN 24u /* 20 digits + ".rec" */
#define SPOOL_NAME_SIZE 32u
#define SPOOL_DIR_MAX 3800u /* leaves room for "/quarantine/<name>" inside SPOOL_PATH_SIZE */
#define SPOOL_PATH_SIZE 4096u
#define SPOOL_SCAN_SLACK 256u /* index entries scanned past max_records before trimming */

struct spool_entry {
    uint64_t seq;
    uint64_t size; /* the whole file: header + body */
};

struct agent_spool {
    char *dir;
    struct agent_os_file lock;
    struct agent_spool_limits limits;
    struct spool_entry *index; /* index[head .. head + count), ascending by seq */
    size_t head;
    size_t count;
    size_t cap;
    uint64_t bytes;
    uint64_t next_seq;
    uint64_t dropped;
    uint64_t quarantined;
    bool state_dirty; /* the state file lags the fields above (a best-effort save failed) */
};

/* ---- little-endian fields, byte by byte (no struct dumping: the format is the same on every
 * host) ---- */

static void spool_put_u32(unsigned char *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static void spool_put_u64(unsigned char *p, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static uint32_t spool_get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < 4; i++) {
        v |= (uint32_t)p[i] << (8 * i);
    }
    return v;
}

static uint64_t spool_get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

/* ---- names and paths ---- */

static enum proto_rc spool_path(const struct agent_spool *sp, const char *sub, const char *name,
                                char path[SPOOL_PATH_SIZE])
{
    int n = sub != NULL ? snprintf(path, SPOOL_PATH_SIZE, "%s/%s/%s", sp->dir, sub, name)
                        : snprintf(path, SPOOL_PATH_SIZE, "%s/%s", sp->dir, name);
    return n < 0 || (size_t)n >= SPOOL_PATH_SIZE ? PROTO_ELIMIT : PROTO_OK;
}

static void spool_record_name(uint64_t seq, char name[SPOOL_NAME_SIZE])
{
    /* Cannot truncate: 20 digits + ".rec" + NUL fit in SPOOL_NAME_SIZE. */
    (void)snprintf(name, SPOOL_NAME_SIZE, "%020llu.rec", (unsigned long long)seq);
}

/* True for exactly "<20 digits>.rec" naming a sequence number in 1 .. UINT64_MAX. */
static bool spool_parse_record_name(const char *name, uint64_t *seq)
{
    if (strlen(name) != SPOOL_NAME_LEN || strcmp(name + SPOOL_NAME_DIGITS, ".rec") != 0) {
        return false;
    }
    for (size_t i = 0; i < SPOOL_NAME_DIGITS; i++) {
        if (name[i] < '0' || name[i] > '9') {
            return false;
        }
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(name, &end, 10);
    if (errno != 0 || end != name + SPOOL_NAME_DIGITS || v == 0) {
        return false;
    }
    *seq = (uint64_t)v;
    return true;
}

/* ---- the record format (pure) ---- */

/* Checks the fixed fields of a header (not the length against a file, not the checksum). */
static enum proto_rc spool_header_parse(const unsigned char *h, uint64_t *seq, uint64_t *body_len)
{
    if (memcmp(h, AGENT_SPOOL_MAGIC, SPOOL_MAGIC_LEN) != 0 ||
        spool_get_u32(h + SPOOL_OFF_VERSION) != SPOOL_VERSION) {
        return PROTO_EPARSE;
    }
    uint64_t s = spool_get_u64(h + SPOOL_OFF_SEQ);
    if (s == 0 || s == UINT64_MAX) { /* 0 is never handed out; UINT64_MAX has no successor */
        return PROTO_EPARSE;
    }
    uint64_t n = spool_get_u64(h + SPOOL_OFF_LEN);
    if (n > AGENT_SPOOL_MAX_RECORD_BYTES) {
        return PROTO_ELIMIT;
    }
    *seq = s;
    *body_len = n;
    return PROTO_OK;
}

enum proto_rc agent_spool_record_check(const unsigned char *data, size_t len, uint64_t *seq,
                                       size_t *body_off, size_t *body_len)
{
    if (seq == NULL || body_off == NULL || body_len == NULL) {
        return PROTO_EINVAL;
    }
    if (len < AGENT_SPOOL_HEADER_BYTES) {
        return PROTO_EPARSE;
    }
    if (data == NULL) {
        return PROTO_EINVAL;
    }
    uint64_t s = 0, n = 0;
    enum proto_rc result = spool_header_parse(data, &s, &n);
    if (result != PROTO_OK) {
        return result;
    }
    /* The length field is only believed when the bytes agree with it exactly. */
    if (n != (uint64_t)(len - AGENT_SPOOL_HEADER_BYTES)) {
        return len - AGENT_SPOOL_HEADER_BYTES > AGENT_SPOOL_MAX_RECORD_BYTES ? PROTO_ELIMIT
                                                                             : PROTO_EPARSE;
    }
    unsigned char sha[SPOOL_SHA_LEN];
    result = proto_sha256(data + AGENT_SPOOL_HEADER_BYTES, (size_t)n, sha);
    if (result != PROTO_OK) {
        return result;
    }
    if (memcmp(sha, data + SPOOL_OFF_SHA, SPOOL_SHA_LEN) != 0) {
        return PROTO_EPARSE;
    }
    *seq = s;
    *body_off = AGENT_SPOOL_HEADER_BYTES;
    *body_len = (size_t)n;
    return PROTO_OK;
}

enum proto_rc agent_spool_record_encode(uint64_t seq, const char *body, size_t len,
                                        unsigned char **out, size_t *out_len)
{
    if (out == NULL || out_len == NULL || (body == NULL && len != 0) || seq == 0 ||
        seq == UINT64_MAX) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    *out_len = 0;
    if (len > AGENT_SPOOL_MAX_RECORD_BYTES) {
        return PROTO_ELIMIT;
    }
    size_t total = AGENT_SPOOL_HEADER_BYTES + len;
    unsigned char *rec = proto_malloc(total);
    if (rec == NULL) {
        return PROTO_ENOMEM;
    }
    memcpy(rec, AGENT_SPOOL_MAGIC, SPOOL_MAGIC_LEN);
    spool_put_u32(rec + SPOOL_OFF_VERSION, SPOOL_VERSION);
    spool_put_u64(rec + SPOOL_OFF_SEQ, seq);
    spool_put_u64(rec + SPOOL_OFF_LEN, (uint64_t)len);
    if (len != 0) {
        memcpy(rec + AGENT_SPOOL_HEADER_BYTES, body, len);
    }
    enum proto_rc result = proto_sha256(rec + AGENT_SPOOL_HEADER_BYTES, len, rec + SPOOL_OFF_SHA);
    if (result != PROTO_OK) {
        proto_free(rec);
        return result;
    }
    *out = rec;
    *out_len = total;
    return PROTO_OK;
}

/* ---- the state file ---- */

/* Writes next_seq and the counters atomically. Clears state_dirty on success, sets it on
 * failure; callers that cannot go on without it check the result. */
static enum proto_rc spool_state_save(struct agent_spool *sp)
{
    unsigned char buf[SPOOL_STATE_BYTES];
    char tmp[SPOOL_PATH_SIZE], final[SPOOL_PATH_SIZE];

    memcpy(buf, SPOOL_STATE_MAGIC, SPOOL_MAGIC_LEN);
    spool_put_u32(buf + 8, SPOOL_STATE_VERSION);
    spool_put_u64(buf + 12, sp->next_seq);
    spool_put_u64(buf + 20, sp->dropped);
    spool_put_u64(buf + 28, sp->quarantined);
    enum proto_rc result = proto_sha256(buf, SPOOL_STATE_SUMMED, buf + SPOOL_STATE_SUMMED);
    if (result == PROTO_OK) {
        result = spool_path(sp, NULL, "tmp-state", tmp);
    }
    if (result == PROTO_OK) {
        result = spool_path(sp, NULL, "state", final);
    }
    if (result == PROTO_OK) {
        result = agent_os_write_atomic(tmp, final, buf, sizeof(buf));
    }
    sp->state_dirty = result != PROTO_OK;
    return result;
}

/* Loads the state file into sp; false when it is missing or fails its checks (sp unchanged). */
static bool spool_state_load(struct agent_spool *sp)
{
    char path[SPOOL_PATH_SIZE];
    unsigned char buf[SPOOL_STATE_BYTES + 1];
    unsigned char sha[SPOOL_SHA_LEN];
    uint64_t size = 0;
    size_t got = 0;
    struct agent_os_file file = {-1};

    if (spool_path(sp, NULL, "state", path) != PROTO_OK ||
        agent_os_open_read(path, &file, &size) != PROTO_OK) {
        return false;
    }
    enum proto_rc rc = agent_os_read(&file, buf, sizeof(buf), &got);
    agent_os_close(&file);
    if (rc != PROTO_OK || got != SPOOL_STATE_BYTES ||
        memcmp(buf, SPOOL_STATE_MAGIC, SPOOL_MAGIC_LEN) != 0 ||
        spool_get_u32(buf + 8) != SPOOL_STATE_VERSION ||
        proto_sha256(buf, SPOOL_STATE_SUMMED, sha) != PROTO_OK ||
        memcmp(sha, buf + SPOOL_STATE_SUMMED, SPOOL_SHA_LEN) != 0) {
        return false;
    }
    sp->next_seq = spool_get_u64(buf + 12);
    sp->dropped = spool_get_u64(buf + 20);
    sp->quarantined = spool_get_u64(buf + 28);
    return true;
}

/* ---- the in-memory index ---- */

static struct spool_entry *spool_at(const struct agent_spool *sp, size_t i)
{
    return &sp->index[sp->head + i];
}

/* Room for `want` entries (grows, never moves entries out of order). Called before any side
 * effect so that running out of memory leaves the spool as it was. */
static enum proto_rc spool_reserve(struct agent_spool *sp, size_t want)
{
    if (want <= sp->cap) {
        return PROTO_OK;
    }
    size_t cap = sp->cap != 0 ? sp->cap : 16;
    while (cap < want) {
        cap *= 2; /* want <= AGENT_SPOOL_MAX_RECORDS + SPOOL_SCAN_SLACK: cannot overflow */
    }
    struct spool_entry *grown = proto_realloc(sp->index, cap * sizeof(*grown));
    if (grown == NULL) {
        return PROTO_ENOMEM;
    }
    sp->index = grown;
    sp->cap = cap;
    return PROTO_OK;
}

/* Adds an entry at the end; the caller reserved room for it. */
static void spool_push(struct agent_spool *sp, uint64_t seq, uint64_t size)
{
    if (sp->head + sp->count == sp->cap) {
        memmove(sp->index, sp->index + sp->head, sp->count * sizeof(*sp->index));
        sp->head = 0;
    }
    sp->index[sp->head + sp->count] = (struct spool_entry){.seq = seq, .size = size};
    sp->count++;
    sp->bytes += size;
}

static void spool_remove_at(struct agent_spool *sp, size_t i)
{
    sp->bytes -= spool_at(sp, i)->size;
    if (i == 0) {
        sp->head++;
    } else {
        memmove(spool_at(sp, i), spool_at(sp, i + 1), (sp->count - i - 1) * sizeof(*sp->index));
    }
    sp->count--;
    if (sp->count == 0) {
        sp->head = 0;
    }
}

static int spool_entry_cmp(const void *a, const void *b)
{
    uint64_t x = ((const struct spool_entry *)a)->seq;
    uint64_t y = ((const struct spool_entry *)b)->seq;
    return x < y ? -1 : x > y;
}

static bool spool_find(const struct agent_spool *sp, uint64_t seq, size_t *pos)
{
    size_t lo = 0, hi = sp->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t s = spool_at(sp, mid)->seq;
        if (s == seq) {
            *pos = mid;
            return true;
        }
        if (s < seq) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return false;
}

/* Removes the oldest record's file and entry (the caller counted it as dropped). */
static enum proto_rc spool_unlink_oldest(struct agent_spool *sp)
{
    char name[SPOOL_NAME_SIZE], path[SPOOL_PATH_SIZE];
    spool_record_name(spool_at(sp, 0)->seq, name);
    enum proto_rc result = spool_path(sp, NULL, name, path);
    if (result == PROTO_OK) {
        result = agent_os_remove(path, 0);
    }
    if (result != PROTO_OK && result != PROTO_ENOTFOUND) {
        return result;
    }
    spool_remove_at(sp, 0);
    return PROTO_OK;
}

/* Drops the oldest records (sorted index) until at most `max_count` remain and they fit in
 * max_bytes. The count is saved before the files go, so a crash over-reports, never hides, a
 * loss. */
static enum proto_rc spool_trim(struct agent_spool *sp, size_t max_count)
{
    size_t drops = 0;
    uint64_t bytes = sp->bytes;
    while (drops < sp->count && (sp->count - drops > max_count || bytes > sp->limits.max_bytes)) {
        bytes -= spool_at(sp, drops)->size;
        drops++;
    }
    if (drops == 0) {
        return PROTO_OK;
    }
    sp->dropped += drops;
    (void)spool_state_save(sp); /* best effort at open; retried by later saves */
    for (size_t i = 0; i < drops; i++) {
        enum proto_rc result = spool_unlink_oldest(sp);
        if (result != PROTO_OK) {
            return result;
        }
    }
    return PROTO_OK;
}

/* ---- quarantine ---- */

struct spool_qscan {
    uint64_t keep[AGENT_SPOOL_MAX_QUARANTINE]; /* the newest seqs seen, ascending */
    size_t kept;
    size_t total;
    uint64_t threshold; /* pass 2: names below this are removed */
    const struct agent_spool *sp;
};

static enum proto_rc spool_qscan_count(void *ctx, const char *name)
{
    struct spool_qscan *q = ctx;
    uint64_t seq;
    if (!spool_parse_record_name(name, &seq)) {
        return PROTO_OK;
    }
    q->total++;
    if (q->kept == AGENT_SPOOL_MAX_QUARANTINE) {
        if (seq <= q->keep[0]) {
            return PROTO_OK;
        }
        memmove(q->keep, q->keep + 1, (q->kept - 1) * sizeof(q->keep[0]));
        q->kept--;
    }
    size_t i = q->kept;
    while (i > 0 && q->keep[i - 1] > seq) {
        q->keep[i] = q->keep[i - 1];
        i--;
    }
    q->keep[i] = seq;
    q->kept++;
    return PROTO_OK;
}

static enum proto_rc spool_qscan_remove(void *ctx, const char *name)
{
    const struct spool_qscan *q = ctx;
    char path[SPOOL_PATH_SIZE];
    uint64_t seq;
    if (spool_parse_record_name(name, &seq) && seq < q->threshold &&
        spool_path(q->sp, "quarantine", name, path) == PROTO_OK) {
        (void)agent_os_remove(path, 0);
    }
    return PROTO_OK;
}

/* Keeps the AGENT_SPOOL_MAX_QUARANTINE highest-numbered files in quarantine/, without
 * allocating: one pass finds the cut-off, a second removes what is below it. Best effort. */
static void spool_quarantine_prune(const struct agent_spool *sp)
{
    struct spool_qscan q;
    char qdir[SPOOL_PATH_SIZE];
    memset(&q, 0, sizeof(q));
    q.sp = sp;
    if (spool_path(sp, NULL, "quarantine", qdir) != PROTO_OK ||
        agent_os_list(qdir, spool_qscan_count, &q) != PROTO_OK ||
        q.total <= AGENT_SPOOL_MAX_QUARANTINE) {
        return;
    }
    q.threshold = q.keep[0];
    (void)agent_os_list(qdir, spool_qscan_remove, &q);
}

/* Moves record file `name` (already out of the index) to quarantine/ and counts it. The count
 * is saved first (a crash may count it twice, never zero times). When it can be neither moved
 * nor removed it stays where it is, uncounted, and the next open looks at it again. */
static void spool_quarantine(struct agent_spool *sp, const char *name)
{
    char from[SPOOL_PATH_SIZE], qdir[SPOOL_PATH_SIZE], to[SPOOL_PATH_SIZE];
    if (spool_path(sp, NULL, name, from) != PROTO_OK ||
        spool_path(sp, NULL, "quarantine", qdir) != PROTO_OK ||
        spool_path(sp, "quarantine", name, to) != PROTO_OK) {
        return;
    }
    sp->quarantined++;
    (void)spool_state_save(sp);
    bool moved = agent_os_mkdirs(qdir) == PROTO_OK && agent_os_rename(from, to) == PROTO_OK;
    if (!moved && agent_os_remove(from, 0) != PROTO_OK) {
        sp->quarantined--;
        (void)spool_state_save(sp);
        return;
    }
    (void)agent_os_sync_dir(sp->dir);
    if (moved) {
        (void)agent_os_sync_dir(qdir);
        spool_quarantine_prune(sp);
    }
}

/* ---- open ---- */

/* Checks a record file's header against its name and size without reading the body (the body's
 * checksum is checked by peek). *size gets the file size. PROTO_EUNSUPPORTED: not a regular
 * file; PROTO_ENOTFOUND: gone; anything else: the record is bad. */
static enum proto_rc spool_check_head(const struct agent_spool *sp, const char *name,
                                      uint64_t name_seq, uint64_t *size)
{
    char path[SPOOL_PATH_SIZE];
    unsigned char head[AGENT_SPOOL_HEADER_BYTES];
    struct agent_os_file file = {-1};
    size_t got = 0;
    uint64_t seq = 0, body_len = 0;

    enum proto_rc result = spool_path(sp, NULL, name, path);
    if (result == PROTO_OK) {
        result = agent_os_open_read(path, &file, size);
    }
    if (result != PROTO_OK) {
        return result;
    }
    result = agent_os_read(&file, head, sizeof(head), &got);
    agent_os_close(&file);
    if (result != PROTO_OK) {
        return result;
    }
    if (got < sizeof(head)) {
        return PROTO_EPARSE;
    }
    result = spool_header_parse(head, &seq, &body_len);
    if (result != PROTO_OK) {
        return result;
    }
    if (seq != name_seq || body_len != *size - AGENT_SPOOL_HEADER_BYTES) {
        return PROTO_EPARSE;
    }
    return PROTO_OK;
}

/* One folder entry at open: tmp-* leftovers go, record files are checked and indexed. */
static enum proto_rc spool_scan_entry(void *ctx, const char *name)
{
    struct agent_spool *sp = ctx;
    char path[SPOOL_PATH_SIZE];
    uint64_t seq = 0, size = 0;

    if (strncmp(name, "tmp-", 4) == 0) {
        /* An interrupted write: it never became a record. */
        if (spool_path(sp, NULL, name, path) == PROTO_OK) {
            (void)agent_os_remove(path, 0);
        }
        return PROTO_OK;
    }
    if (!spool_parse_record_name(name, &seq)) {
        return PROTO_OK; /* lock, state, quarantine/, or not ours: left alone */
    }
    enum proto_rc result = spool_check_head(sp, name, seq, &size);
    if (result == PROTO_EUNSUPPORTED || result == PROTO_ENOTFOUND) {
        return PROTO_OK;
    }
    if (result != PROTO_OK) {
        spool_quarantine(sp, name);
        return PROTO_OK;
    }
    if (sp->count == sp->limits.max_records + SPOOL_SCAN_SLACK) {
        qsort(spool_at(sp, 0), sp->count, sizeof(*sp->index), spool_entry_cmp);
        result = spool_trim(sp, sp->limits.max_records);
        if (result != PROTO_OK) {
            return result;
        }
    }
    result = spool_reserve(sp, sp->count + 1);
    if (result != PROTO_OK) {
        return result;
    }
    spool_push(sp, seq, size);
    if (seq >= sp->next_seq) {
        sp->next_seq = seq + 1; /* seq < UINT64_MAX: spool_header_parse checked */
        sp->state_dirty = true;
    }
    return PROTO_OK;
}

/* Frees everything; `save` writes the state file first if it lags (never on a failed open
 * that does not hold the lock). */
static void spool_release(struct agent_spool *sp, bool save)
{
    if (sp == NULL) {
        return;
    }
    if (save && sp->state_dirty && sp->lock.handle != -1) {
        (void)spool_state_save(sp);
    }
    agent_os_unlock(&sp->lock);
    proto_free(sp->index);
    proto_free(sp->dir);
    proto_free(sp);
}

enum proto_rc agent_spool_open(const char *dir, const struct agent_spool_limits *limits,
                               struct agent_spool **out)
{
    struct agent_spool *sp = NULL;
    char path[SPOOL_PATH_SIZE];
    enum proto_rc result;

    if (out == NULL) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    if (dir == NULL || dir[0] == '\0' || limits == NULL || limits->max_records == 0 ||
        limits->max_records > AGENT_SPOOL_MAX_RECORDS || limits->max_bytes == 0) {
        return PROTO_EINVAL;
    }
    if (strlen(dir) > SPOOL_DIR_MAX) {
        return PROTO_ELIMIT;
    }
    sp = proto_calloc(1, sizeof(*sp));
    if (sp == NULL) {
        return PROTO_ENOMEM;
    }
    sp->lock.handle = -1;
    sp->limits = *limits;
    sp->next_seq = 1;
    sp->dir = proto_strdup(dir);
    if (sp->dir == NULL) {
        result = PROTO_ENOMEM;
        goto out;
    }
    /* Reports describe the host's security set-up: the folder is the agent's alone (0700;
     * SYSTEM and Administrators on Windows). */
    result = agent_os_mkdirs(dir);
    if (result == PROTO_OK) {
        result = agent_os_secure_dir(dir);
    }
    if (result != PROTO_OK) {
        goto out;
    }
    result = spool_path(sp, NULL, "lock", path);
    if (result == PROTO_OK) {
        result = agent_os_lock(path, &sp->lock);
    }
    if (result != PROTO_OK) {
        goto out;
    }
    if (!spool_state_load(sp)) {
        /* Missing or corrupt: next_seq comes from the records on disk, counters restart. */
        sp->next_seq = 1;
        sp->dropped = 0;
        sp->quarantined = 0;
        sp->state_dirty = true;
    }
    if (sp->next_seq == 0) {
        sp->next_seq = 1;
        sp->state_dirty = true;
    }
    result = agent_os_list(dir, spool_scan_entry, sp);
    if (result != PROTO_OK) {
        goto out;
    }
    if (sp->count > 1) {
        qsort(spool_at(sp, 0), sp->count, sizeof(*sp->index), spool_entry_cmp);
    }
    result = spool_trim(sp, sp->limits.max_records);
    if (result != PROTO_OK) {
        goto out;
    }
    if (sp->state_dirty) {
        (void)spool_state_save(sp); /* best effort: retried by the next save */
    }
    *out = sp;
    sp = NULL;
out:
    spool_release(sp, true);
    return result;
}

void agent_spool_close(struct agent_spool *sp)
{
    spool_release(sp, true);
}

uint64_t agent_spool_next_seq(const struct agent_spool *sp)
{
    return sp != NULL ? sp->next_seq : 0;
}

/* ---- append, peek, ack ---- */

enum proto_rc agent_spool_append(struct agent_spool *sp, const char *body, size_t len,
                                 uint64_t *seq_out)
{
    unsigned char *rec = NULL;
    size_t rec_len = 0;
    char name[SPOOL_NAME_SIZE], tmp_name[SPOOL_NAME_SIZE + 8];
    char path[SPOOL_PATH_SIZE], tmp[SPOOL_PATH_SIZE];
    enum proto_rc result;

    if (sp == NULL || (body == NULL && len != 0)) {
        return PROTO_EINVAL;
    }
    if (len > AGENT_SPOOL_MAX_RECORD_BYTES ||
        AGENT_SPOOL_HEADER_BYTES + (uint64_t)len > sp->limits.max_bytes ||
        sp->next_seq >= UINT64_MAX) {
        return PROTO_ELIMIT;
    }
    uint64_t seq = sp->next_seq;
    uint64_t size = AGENT_SPOOL_HEADER_BYTES + (uint64_t)len;

    /* How many of the oldest go so that the new record fits both caps. */
    size_t drops = 0;
    uint64_t bytes = sp->bytes;
    while (drops < sp->count &&
           (sp->count - drops >= sp->limits.max_records || bytes + size > sp->limits.max_bytes)) {
        bytes -= spool_at(sp, drops)->size;
        drops++;
    }
    /* Everything that can fail for lack of memory happens before the first change. */
    result = spool_reserve(sp, sp->count - drops + 1);
    if (result == PROTO_OK) {
        result = agent_spool_record_encode(seq, body, len, &rec, &rec_len);
    }
    if (result != PROTO_OK) {
        goto out;
    }
    spool_record_name(seq, name);
    (void)snprintf(tmp_name, sizeof(tmp_name), "tmp-%llu", (unsigned long long)seq);
    result = spool_path(sp, NULL, name, path);
    if (result == PROTO_OK) {
        result = spool_path(sp, NULL, tmp_name, tmp);
    }
    if (result != PROTO_OK) {
        goto out;
    }
    /* The state goes first: the sequence number is spent and the drops are counted before any
     * file changes, so a crash can waste a number or over-count a drop, never reuse or hide. */
    sp->next_seq = seq + 1;
    sp->dropped += drops;
    result = spool_state_save(sp);
    if (result != PROTO_OK) {
        sp->next_seq = seq;
        sp->dropped -= drops;
        goto out;
    }
    for (size_t i = 0; i < drops; i++) {
        result = spool_unlink_oldest(sp);
        if (result != PROTO_OK) {
            goto out;
        }
    }
    /* The compaction in spool_push needs no memory: sp->cap >= count + 1 was reserved. */
    result = agent_os_write_atomic(tmp, path, rec, rec_len);
    if (result != PROTO_OK) {
        goto out;
    }
    spool_push(sp, seq, size);
    if (seq_out != NULL) {
        *seq_out = seq;
    }
out:
    proto_free(rec);
    return result;
}

/* Reads the whole record file `name`: PROTO_ENOMEM and PROTO_ECRYPTO are ours; any other
 * failure means the record is unusable. On success *data (caller frees) has one spare byte. */
static enum proto_rc spool_read_record(const struct agent_spool *sp, const char *name,
                                       unsigned char **data, size_t *len)
{
    char path[SPOOL_PATH_SIZE];
    struct agent_os_file file = {-1};
    uint64_t size = 0;
    size_t got = 0;
    unsigned char *buf = NULL;

    enum proto_rc result = spool_path(sp, NULL, name, path);
    if (result == PROTO_OK) {
        result = agent_os_open_read(path, &file, &size);
    }
    if (result != PROTO_OK) {
        return result;
    }
    if (size < AGENT_SPOOL_HEADER_BYTES) {
        result = PROTO_EPARSE;
        goto out;
    }
    if (size > AGENT_SPOOL_HEADER_BYTES + (uint64_t)AGENT_SPOOL_MAX_RECORD_BYTES) {
        result = PROTO_ELIMIT;
        goto out;
    }
    buf = proto_malloc((size_t)size + 1);
    if (buf == NULL) {
        result = PROTO_ENOMEM;
        goto out;
    }
    result = agent_os_read(&file, buf, (size_t)size, &got);
    if (result == PROTO_OK && got != size) {
        result = PROTO_EPARSE; /* shrank under us */
    }
    if (result == PROTO_OK) {
        *data = buf;
        *len = got;
        buf = NULL;
    }
out:
    agent_os_close(&file);
    proto_free(buf);
    return result;
}

enum proto_rc agent_spool_peek(struct agent_spool *sp, uint64_t *seq, char **body, size_t *len)
{
    if (sp == NULL || seq == NULL || body == NULL || len == NULL) {
        return PROTO_EINVAL;
    }
    *body = NULL;
    *len = 0;
    enum proto_rc result = PROTO_ENOTFOUND;
    while (sp->count > 0) {
        struct spool_entry e = *spool_at(sp, 0);
        char name[SPOOL_NAME_SIZE];
        unsigned char *data = NULL;
        size_t n = 0, off = 0, body_len = 0;
        uint64_t rec_seq = 0;

        spool_record_name(e.seq, name);
        enum proto_rc rc = spool_read_record(sp, name, &data, &n);
        if (rc == PROTO_OK) {
            rc = agent_spool_record_check(data, n, &rec_seq, &off, &body_len);
            if (rc == PROTO_OK && rec_seq != e.seq) {
                rc = PROTO_EPARSE;
            }
        }
        if (rc == PROTO_OK) {
            memmove(data, data + off, body_len);
            data[body_len] = '\0';
            spool_at(sp, 0)->size = n;
            sp->bytes = sp->bytes - e.size + n;
            *seq = e.seq;
            *body = (char *)data;
            *len = body_len;
            result = PROTO_OK;
            break;
        }
        proto_free(data);
        if (rc == PROTO_ENOMEM || rc == PROTO_ECRYPTO) {
            result = rc; /* our failure, not the record's: it stays */
            break;
        }
        spool_remove_at(sp, 0);
        if (rc == PROTO_ENOTFOUND) {
            sp->quarantined++; /* removed behind our back: lost all the same */
            sp->state_dirty = true;
        } else {
            spool_quarantine(sp, name);
        }
    }
    if (sp->state_dirty) {
        (void)spool_state_save(sp);
    }
    return result;
}

enum proto_rc agent_spool_ack(struct agent_spool *sp, uint64_t seq)
{
    char name[SPOOL_NAME_SIZE], path[SPOOL_PATH_SIZE];
    size_t pos = 0;

    if (sp == NULL) {
        return PROTO_EINVAL;
    }
    if (!spool_find(sp, seq, &pos)) {
        return PROTO_ENOTFOUND;
    }
    spool_record_name(seq, name);
    enum proto_rc result = spool_path(sp, NULL, name, path);
    if (result == PROTO_OK) {
        result = agent_os_remove(path, 0);
    }
    if (result != PROTO_OK && result != PROTO_ENOTFOUND) {
        return result;
    }
    spool_remove_at(sp, pos);
    return agent_os_sync_dir(sp->dir);
}

void agent_spool_stats(const struct agent_spool *sp, struct agent_spool_stats *out)
{
    if (out == NULL) {
        return;
    }
    memset(out, 0, sizeof(*out));
    if (sp == NULL) {
        return;
    }
    out->records = sp->count;
    out->bytes = sp->bytes;
    out->next_seq = sp->next_seq;
    out->dropped = sp->dropped;
    out->quarantined = sp->quarantined;
}

enum proto_rc agent_spool_reset_loss(struct agent_spool *sp, uint64_t dropped, uint64_t quarantined)
{
    if (sp == NULL) {
        return PROTO_EINVAL;
    }
    if (dropped == 0 && quarantined == 0) {
        return PROTO_OK;
    }
    uint64_t old_dropped = sp->dropped, old_quarantined = sp->quarantined;
    bool old_dirty = sp->state_dirty;
    /* Subtract what the acknowledged report carried: losses counted since then stay. */
    sp->dropped -= dropped < sp->dropped ? dropped : sp->dropped;
    sp->quarantined -= quarantined < sp->quarantined ? quarantined : sp->quarantined;
    enum proto_rc result = spool_state_save(sp);
    if (result != PROTO_OK) {
        /* Unchanged, so the caller may simply retry with the same numbers. */
        sp->dropped = old_dropped;
        sp->quarantined = old_quarantined;
        sp->state_dirty = old_dirty;
    }
    return result;
}
