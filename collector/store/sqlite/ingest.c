/*
 * store_ingest: writes one received report into the open write transaction, and prunes.
 *
 * Owns the meaning of "latest state": a host's hosts/certs/rules/findings rows come from the
 * report with the highest seq seen for it, the agent's own order of its reports, which no clock
 * can break (decision 016). collected_at (the snapshot's, or the receive time when the agent did
 * not say) is information, with one use: a report whose seq is not above the latest one's but
 * that was collected later is an agent that started its sequence over (reinstalled, spool
 * lost), and becomes the latest state. The API bounds collected_at by the collector's clock, so
 * a wrong agent clock can hold a reinstalled host back for at most that bound. An older report
 * that arrives late is stored (reports, report_bodies) and refreshes last_seen, but never
 * overwrites the latest state. A report_id is the idempotency key of one host: the same host's
 * resend is a duplicate, another host's use of it a conflict (PROTO_ECONFLICT).
 * Findings are reconciled by a stable key (id | sorted cert SHA-1s | sorted rule names): a key
 * that persists keeps its first_seen, a new key opens a history row, a vanished key closes its
 * history row (resolved_at). Never decides policy: the diagnosis arrives computed.
 * Storage (decision 005): the snapshot's bytes once per distinct SHA-256 (snapshots), the rest
 * of the body per report (reports.envelope). When a newer report brings the same snapshot and
 * the same diagnosis as the latest state, only the host's envelope fields and last_seen move.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "buf.h"
#include "caps.h"
#include "json.h" /* struct proto_report is declared there; nothing here parses JSON */
#include "json_span.h"
#include "json_text_int.h"
#include "store.h"
#include "store_int.h"

#define ING_LIST_MAX (1024u * 1024u) /* a joined SAN/EKU list or finding key */
#define ING_PRUNE_CHUNK 500

/* What the ingest learned about the report's host before writing. */
struct ing_host {
    sqlite3_int64 id;
    bool inserted;  /* new host: its row already has this report's last_seen and losses */
    bool newer;     /* this report becomes the host's latest state */
    bool unchanged; /* ... and brings the snapshot and diagnosis the latest state came from */
    bool has_previous;
    int64_t previous_received_at; /* when the report the latest state comes from arrived */
    bool same_fqdn;               /* the stored name is byte for byte the report's (case too) */
};

/* Steps a statement that returns no row and resets it. */
static enum proto_rc ing_done(sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    return rc == SQLITE_DONE ? PROTO_OK : col_store_rc(rc);
}

static enum proto_rc ing_stmt(struct col_store *st, enum col_wsql which, sqlite3_stmt **out)
{
    *out = col_store_wstmt(st, which);
    if (*out == NULL) {
        enum proto_rc result = col_store_rc(sqlite3_errcode(st->wdb));
        return result ? result : PROTO_EIO;
    }
    return PROTO_OK;
}

static int64_t ing_clamp_u64(uint64_t v)
{
    return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

static int ing_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Joins `items` with `sep`, optionally sorted and without repeats. *out is NULL when there are
 * no items; caller frees. */
static enum proto_rc ing_join(char *const *items, size_t count, bool sorted, const char *sep,
                              char **out)
{
    enum proto_rc result = PROTO_OK;
    const char **order = NULL;
    struct proto_buf b;
    proto_buf_init(&b, ING_LIST_MAX);
    *out = NULL;
    if (count == 0) {
        return PROTO_OK;
    }
    order = proto_malloc(count * sizeof(*order));
    if (order == NULL) {
        result = PROTO_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < count; i++) {
        order[i] = items[i] != NULL ? items[i] : "";
    }
    if (sorted) {
        qsort(order, count, sizeof(*order), ing_cmp_str);
    }
    for (size_t i = 0; i < count; i++) {
        if (sorted && i > 0 && strcmp(order[i], order[i - 1]) == 0) {
            continue;
        }
        if (b.len > 0) {
            result = proto_buf_append_str(&b, sep);
        }
        if (!result) {
            result = proto_buf_append_str(&b, order[i]);
        }
        if (result) {
            goto out;
        }
    }
    *out = proto_buf_detach(&b, NULL);
    if (*out == NULL) {
        result = PROTO_ENOMEM;
    }
out:
    proto_buf_free(&b);
    proto_free(order);
    return result;
}

/* ---- rules -------------------------------------------------------------------------------- */

static enum proto_rc ing_rules(struct col_store *st, sqlite3_int64 host_id,
                               const struct proto_snapshot *snap)
{
    sqlite3_stmt *stmt = NULL;
    enum proto_rc result = ing_stmt(st, COL_WSQL_RULES_DELETE, &stmt);
    if (result) {
        return result;
    }
    sqlite3_bind_int64(stmt, 1, host_id);
    result = ing_done(stmt);
    for (size_t i = 0; !result && i < snap->rule_count; i++) {
        const struct proto_consec_rule *r = &snap->rules[i];
        result = ing_stmt(st, COL_WSQL_RULE_INSERT, &stmt);
        if (result) {
            break;
        }
        sqlite3_bind_int64(stmt, 1, host_id);
        sqlite3_bind_int64(stmt, 2, (sqlite3_int64)i);
        sqlite3_bind_text(stmt, 3, r->field[PROTO_RULE_NAME], -1, SQLITE_STATIC);
        const char *enabled = r->field[PROTO_RULE_ENABLED];
        sqlite3_bind_int(stmt, 4, enabled != NULL && strcasecmp(enabled, "Yes") == 0);
        sqlite3_bind_int(stmt, 5, proto_diagnose_rule_is_l2tp_shaped(r));
        sqlite3_bind_text(stmt, 6, r->field[PROTO_RULE_AUTH1_CA_NAME], -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 7, r->field[PROTO_RULE_MODE], -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 8, r->field[PROTO_RULE_PROTOCOL], -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 9, r->field[PROTO_RULE_PORT1], -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 10, r->field[PROTO_RULE_PORT2], -1, SQLITE_STATIC);
        result = ing_done(stmt);
    }
    return result;
}

/* ---- certificates ------------------------------------------------------------------------- */

static enum proto_rc ing_cert(struct col_store *st, sqlite3_int64 host_id,
                              const struct proto_cert *c, size_t index, bool eligible,
                              bool predicted)
{
    enum proto_rc result = PROTO_OK;
    char *subject = NULL;
    char *issuer = NULL;
    char *san = NULL;
    char *eku = NULL;
    sqlite3_stmt *stmt = NULL;
    if (c->parsed) {
        result = proto_dn_format(&c->subject, true, &subject);
        if (!result) {
            result = proto_dn_format(&c->issuer, true, &issuer);
        }
        if (!result) {
            result = ing_join(c->san_dns.items, c->san_dns.count, false, ",", &san);
        }
        if (!result && c->has_eku) {
            result = ing_join(c->eku.items, c->eku.count, false, ",", &eku);
            if (!result && eku == NULL) {
                eku = proto_strdup(""); /* an empty EKU extension allows nothing */
                result = eku == NULL ? PROTO_ENOMEM : PROTO_OK;
            }
        }
        if (result) {
            goto out;
        }
    }
    result = ing_stmt(st, COL_WSQL_CERT_INSERT, &stmt);
    if (result) {
        goto out;
    }
    sqlite3_bind_int64(stmt, 1, host_id);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)index);
    sqlite3_bind_text(stmt, 3, c->sha1, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, c->sha256[0] != '\0' ? c->sha256 : NULL, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 5, c->parsed);
    sqlite3_bind_text(stmt, 6, subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 7, c->parsed ? proto_dn_get(&c->subject, "CN") : NULL, -1,
                      SQLITE_STATIC);
    sqlite3_bind_text(stmt, 8, issuer, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 9, c->parsed ? proto_dn_get(&c->issuer, "CN") : NULL, -1,
                      SQLITE_STATIC);
    sqlite3_bind_text(stmt, 10, san, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 11, c->wildcard);
    sqlite3_bind_text(stmt, 12, eku, -1, SQLITE_STATIC);
    if (c->parsed) {
        sqlite3_bind_int64(stmt, 13, c->not_before);
        sqlite3_bind_int64(stmt, 14, c->not_after);
    }
    sqlite3_bind_int(stmt, 15, c->has_private_key);
    sqlite3_bind_int(stmt, 16, eligible);
    sqlite3_bind_int(stmt, 17, predicted);
    result = ing_done(stmt);
out:
    proto_free(subject);
    proto_free(issuer);
    proto_free(san);
    proto_free(eku);
    return result;
}

static enum proto_rc ing_certs(struct col_store *st, sqlite3_int64 host_id,
                               const struct proto_snapshot *snap, const struct proto_diagnosis *d)
{
    enum proto_rc result = PROTO_OK;
    bool *eligible = NULL;
    sqlite3_stmt *stmt = NULL;
    if (snap->cert_count > 0) {
        eligible = proto_calloc(snap->cert_count, sizeof(*eligible));
        if (eligible == NULL) {
            return PROTO_ENOMEM;
        }
    }
    for (size_t i = 0; i < d->eligible_count; i++) {
        if (d->eligible[i] < snap->cert_count) {
            eligible[d->eligible[i]] = true;
        }
    }
    result = ing_stmt(st, COL_WSQL_CERTS_DELETE, &stmt);
    if (result) {
        goto out;
    }
    sqlite3_bind_int64(stmt, 1, host_id);
    result = ing_done(stmt);
    for (size_t i = 0; !result && i < snap->cert_count; i++) {
        result = ing_cert(st, host_id, &snap->certs[i], i, eligible[i],
                          d->predicted >= 0 && (size_t)d->predicted == i);
    }
out:
    proto_free(eligible);
    return result;
}

/* ---- findings ----------------------------------------------------------------------------- */

/* id '|' sorted cert SHA-1s ',' joined '|' sorted rule names ',' joined. */
static enum proto_rc ing_finding_key(const struct proto_finding *f, char **out)
{
    enum proto_rc result = PROTO_OK;
    char *certs = NULL;
    char *rules = NULL;
    struct proto_buf b;
    proto_buf_init(&b, ING_LIST_MAX);
    *out = NULL;
    result = ing_join(f->certs.items, f->certs.count, true, ",", &certs);
    if (!result) {
        result = ing_join(f->rules.items, f->rules.count, true, ",", &rules);
    }
    if (!result) {
        result = proto_buf_appendf(&b, "%s|%s|%s", f->id != NULL ? f->id : "",
                                   certs != NULL ? certs : "", rules != NULL ? rules : "");
    }
    if (!result) {
        *out = proto_buf_detach(&b, NULL);
        result = *out == NULL ? PROTO_ENOMEM : PROTO_OK;
    }
    proto_buf_free(&b);
    proto_free(certs);
    proto_free(rules);
    return result;
}

/* A JSON array of the strings; caller frees with proto_free. */
static enum proto_rc ing_json_strings(const struct proto_strv *v, char **out)
{
    return col_store_json_string_array((const char *const *)v->items, v->count, out);
}

static enum proto_rc ing_finding(struct col_store *st, sqlite3_int64 host_id,
                                 const struct proto_finding *f, int64_t now)
{
    enum proto_rc result = PROTO_OK;
    char *key = NULL;
    char *certs = NULL;
    char *rules = NULL;
    sqlite3_stmt *stmt = NULL;
    result = ing_finding_key(f, &key);
    if (!result) {
        result = ing_json_strings(&f->certs, &certs);
    }
    if (!result) {
        result = ing_json_strings(&f->rules, &rules);
    }
    if (!result) {
        result = ing_stmt(st, COL_WSQL_FINDING_UPSERT, &stmt);
    }
    if (result) {
        goto out;
    }
    sqlite3_bind_int64(stmt, 1, host_id);
    sqlite3_bind_text(stmt, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, f->id != NULL ? f->id : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 4, (int)f->severity);
    sqlite3_bind_text(stmt, 5, f->message != NULL ? f->message : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 6, certs, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 7, rules, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 8, now);
    result = ing_done(stmt);
    if (result) {
        goto out;
    }
    result = ing_stmt(st, COL_WSQL_HISTORY_UPSERT, &stmt);
    if (result) {
        goto out;
    }
    sqlite3_bind_int64(stmt, 1, host_id);
    sqlite3_bind_text(stmt, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, f->id != NULL ? f->id : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 4, (int)f->severity);
    sqlite3_bind_int64(stmt, 5, now);
    result = ing_done(stmt);
out:
    proto_free(key);
    proto_free(certs);
    proto_free(rules);
    return result;
}

static enum proto_rc ing_findings(struct col_store *st, sqlite3_int64 host_id,
                                  const struct proto_diagnosis *d, int64_t now,
                                  const struct ing_host *host)
{
    sqlite3_stmt *stmt = NULL;
    enum proto_rc result = ing_stmt(st, COL_WSQL_FINDINGS_MARK_STALE, &stmt);
    if (result) {
        return result;
    }
    sqlite3_bind_int64(stmt, 1, host_id);
    result = ing_done(stmt);
    for (size_t i = 0; !result && i < d->finding_count; i++) {
        result = ing_finding(st, host_id, &d->findings[i], now);
    }
    if (!result) {
        result = ing_stmt(st, COL_WSQL_HISTORY_RESOLVE, &stmt);
    }
    if (!result) {
        sqlite3_bind_int64(stmt, 1, host_id);
        sqlite3_bind_int64(stmt, 2, now);
        if (host->has_previous) {
            sqlite3_bind_int64(stmt, 3, host->previous_received_at);
        }
        result = ing_done(stmt);
    }
    if (!result) {
        result = ing_stmt(st, COL_WSQL_FINDINGS_DELETE_STALE, &stmt);
    }
    if (!result) {
        sqlite3_bind_int64(stmt, 1, host_id);
        result = ing_done(stmt);
    }
    return result;
}

/* ---- hosts -------------------------------------------------------------------------------- */

static bool ing_column_equals(sqlite3_stmt *stmt, int col, const char *text)
{
    const unsigned char *v = sqlite3_column_text(stmt, col);
    return v != NULL && strcmp((const char *)v, text) == 0;
}

static enum proto_rc ing_host_find(struct col_store *st, const struct col_ingest *in,
                                   const struct col_ingest_facts *facts, int64_t collected_at,
                                   int64_t seq, struct ing_host *h)
{
    const char *fqdn = in->report->snapshot->host.fqdn;
    sqlite3_stmt *stmt = NULL;
    enum proto_rc result = ing_stmt(st, COL_WSQL_HOST_SELECT, &stmt);
    if (result) {
        return result;
    }
    sqlite3_bind_text(stmt, 1, fqdn, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        h->id = sqlite3_column_int64(stmt, 0);
        int64_t latest_at = sqlite3_column_int64(stmt, 1);
        int64_t latest_seq = sqlite3_column_int64(stmt, 2);
        h->newer = seq > latest_seq || collected_at > latest_at;
        h->unchanged = ing_column_equals(stmt, 3, facts->snapshot_hash) &&
                       ing_column_equals(stmt, 4, facts->diagnosis_hash);
        h->has_previous = sqlite3_column_type(stmt, 5) != SQLITE_NULL;
        h->previous_received_at = sqlite3_column_int64(stmt, 5);
        h->same_fqdn = ing_column_equals(stmt, 6, fqdn);
        sqlite3_reset(stmt);
        return PROTO_OK;
    }
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) {
        return col_store_rc(rc);
    }
    result = ing_stmt(st, COL_WSQL_HOST_INSERT, &stmt);
    if (result) {
        return result;
    }
    sqlite3_bind_text(stmt, 1, fqdn, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, in->received_at);
    sqlite3_bind_int64(stmt, 3, ing_clamp_u64(in->report->spool_dropped));
    sqlite3_bind_int64(stmt, 4, ing_clamp_u64(in->report->spool_quarantined));
    result = ing_done(stmt);
    if (!result) {
        h->id = sqlite3_last_insert_rowid(st->wdb);
        h->inserted = true;
        h->newer = true;
    }
    return result;
}

/* last_seen and the loss counts, for a report that does not rewrite the host row otherwise. */
static enum proto_rc ing_host_touch(struct col_store *st, const struct col_ingest *in,
                                    sqlite3_int64 host_id)
{
    sqlite3_stmt *stmt = NULL;
    enum proto_rc result = ing_stmt(st, COL_WSQL_HOST_TOUCH, &stmt);
    if (!result) {
        sqlite3_bind_int64(stmt, 1, host_id);
        sqlite3_bind_int64(stmt, 2, in->received_at);
        sqlite3_bind_int64(stmt, 3, ing_clamp_u64(in->report->spool_dropped));
        sqlite3_bind_int64(stmt, 4, ing_clamp_u64(in->report->spool_quarantined));
        result = ing_done(stmt);
    }
    return result;
}

/* ?1..?8 of HOST_UPDATE_LATEST and HOST_UPDATE_SEEN: the host, then what the envelope says of
 * it (the fqdn too: its case may change) and which report the latest state comes from. */
static void ing_bind_envelope(sqlite3_stmt *stmt, const struct col_ingest *in,
                              sqlite3_int64 host_id, int64_t collected_at, int64_t seq)
{
    const struct proto_host *host = &in->report->snapshot->host;
    sqlite3_bind_int64(stmt, 1, host_id);
    sqlite3_bind_text(stmt, 2, host->fqdn, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, host->hostname, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, host->os, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 5, host->agent_version, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 6, collected_at);
    sqlite3_bind_text(stmt, 7, in->report->report_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 8, seq);
}

static enum proto_rc ing_host_latest(struct col_store *st, const struct col_ingest *in,
                                     const struct col_ingest_facts *facts, sqlite3_int64 host_id,
                                     int64_t collected_at, int64_t seq)
{
    const struct proto_snapshot *snap = in->report->snapshot;
    const struct proto_diagnosis *d = in->diagnosis;
    enum proto_rc result = PROTO_OK;
    char **ids = NULL;
    char *finding_ids = NULL;
    sqlite3_stmt *stmt = NULL;
    int max_sev = -1;

    if (d->finding_count > 0) {
        ids = proto_malloc(d->finding_count * sizeof(*ids));
        if (ids == NULL) {
            return PROTO_ENOMEM;
        }
    }
    for (size_t i = 0; i < d->finding_count; i++) {
        ids[i] = d->findings[i].id;
        if ((int)d->findings[i].severity > max_sev) {
            max_sev = (int)d->findings[i].severity;
        }
    }
    result = ing_join(ids, d->finding_count, true, ",", &finding_ids);
    if (!result) {
        result = ing_stmt(st, COL_WSQL_HOST_UPDATE_LATEST, &stmt);
    }
    if (result) {
        goto out;
    }
    const struct proto_cert *pred = NULL;
    if (d->predicted >= 0 && (size_t)d->predicted < snap->cert_count) {
        pred = &snap->certs[d->predicted];
    }
    ing_bind_envelope(stmt, in, host_id, collected_at, seq);
    if (snap->prohibit_ipsec.present) {
        sqlite3_bind_int64(stmt, 9, (sqlite3_int64)snap->prohibit_ipsec.value);
    }
    sqlite3_bind_int(stmt, 10, d->automatic_policy);
    if (pred != NULL) {
        sqlite3_bind_text(stmt, 11, pred->sha1, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 12, pred->parsed ? proto_dn_get(&pred->subject, "CN") : NULL, -1,
                          SQLITE_STATIC);
    }
    if (max_sev >= 0) {
        sqlite3_bind_int(stmt, 13, max_sev);
    }
    sqlite3_bind_int64(stmt, 14, (sqlite3_int64)d->finding_count);
    sqlite3_bind_text(stmt, 15, finding_ids, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 16, facts->snapshot_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 17, facts->diagnosis_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 18, in->received_at);
    result = ing_done(stmt);
out:
    proto_free(ids);
    proto_free(finding_ids);
    return result;
}

/* ---- ingest ------------------------------------------------------------------------------- */

static enum proto_rc ing_validate(const struct col_ingest *in)
{
    /* Without a diagnosis only a report whose facts were computed can come: one whose snapshot
     * the caller knows (decision 005). */
    if (in == NULL || in->body == NULL || in->report == NULL || in->report->snapshot == NULL ||
        (in->diagnosis == NULL && in->facts == NULL)) {
        return PROTO_EINVAL;
    }
    const struct proto_snapshot *snap = in->report->snapshot;
    const struct proto_diagnosis *d = in->diagnosis;
    const char *fqdn = snap->host.fqdn;
    if (fqdn == NULL || fqdn[0] == '\0' || strlen(fqdn) > PROTO_MAX_NAME ||
        in->report->report_id[0] == '\0' || in->body_len > PROTO_MAX_REPORT_BYTES) {
        return PROTO_EINVAL;
    }
    if (d == NULL) {
        return PROTO_OK;
    }
    if ((d->predicted >= 0 && (size_t)d->predicted >= snap->cert_count) ||
        (d->eligible_count > 0 && d->eligible == NULL) ||
        (d->finding_count > 0 && d->findings == NULL) || d->finding_count > PROTO_MAX_FINDINGS) {
        return PROTO_EINVAL;
    }
    return PROTO_OK;
}

/* A snapshot already stored under its hash is not written again. */
static enum proto_rc ing_snapshot(struct col_store *st, const struct col_ingest_facts *facts)
{
    sqlite3_stmt *stmt = NULL;
    enum proto_rc result = ing_stmt(st, COL_WSQL_SNAPSHOT_INSERT, &stmt);
    if (result) {
        return result;
    }
    sqlite3_bind_text(stmt, 1, facts->snapshot_hash, -1, SQLITE_STATIC);
    sqlite3_bind_blob64(stmt, 2, facts->snapshot, (sqlite3_uint64)facts->snapshot_len,
                        SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, (sqlite3_int64)facts->snapshot_len);
    return ing_done(stmt);
}

/* The body without the snapshot's bytes: what is left of a report once its snapshot is shared. */
static enum proto_rc ing_report_row(struct col_store *st, const struct col_ingest *in,
                                    const struct col_ingest_facts *facts, sqlite3_int64 host_id,
                                    int64_t collected_at, int64_t seq)
{
    const struct proto_report *rep = in->report;
    char *envelope = NULL;
    size_t envelope_len = in->body_len;
    const char *bytes = in->body;
    if (facts->snapshot_offset >= 0) {
        size_t off = (size_t)facts->snapshot_offset;
        envelope_len = in->body_len - facts->snapshot_len;
        envelope = proto_malloc(envelope_len + 1);
        if (envelope == NULL) {
            return PROTO_ENOMEM;
        }
        memcpy(envelope, in->body, off);
        memcpy(envelope + off, in->body + off + facts->snapshot_len,
               in->body_len - off - facts->snapshot_len);
        bytes = envelope;
    }
    sqlite3_stmt *stmt = NULL;
    enum proto_rc result = ing_stmt(st, COL_WSQL_REPORT_INSERT, &stmt);
    if (!result) {
        sqlite3_bind_text(stmt, 1, rep->report_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, host_id);
        sqlite3_bind_int64(stmt, 3, seq);
        sqlite3_bind_int64(stmt, 4, collected_at);
        sqlite3_bind_int64(stmt, 5, in->received_at);
        sqlite3_bind_text(stmt, 6, facts->snapshot_hash, -1, SQLITE_STATIC);
        sqlite3_bind_blob64(stmt, 7, bytes, (sqlite3_uint64)envelope_len, SQLITE_STATIC);
        if (facts->snapshot_offset >= 0) {
            sqlite3_bind_int64(stmt, 8, facts->snapshot_offset);
        }
        sqlite3_bind_int64(stmt, 9, ing_clamp_u64(rep->spool_dropped));
        sqlite3_bind_int64(stmt, 10, ing_clamp_u64(rep->spool_quarantined));
        result = ing_done(stmt);
    }
    proto_free(envelope);
    return result;
}

/* Same snapshot, same diagnosis: the envelope's host fields, the times and the loss counts
 * move, in one row; the findings' last_seen follows from latest_received_at. */
static enum proto_rc ing_host_seen(struct col_store *st, const struct col_ingest *in,
                                   const struct ing_host *host, int64_t collected_at, int64_t seq)
{
    sqlite3_stmt *stmt = NULL;
    enum proto_rc result = ing_stmt(st, COL_WSQL_HOST_UPDATE_SEEN, &stmt);
    if (result) {
        return result;
    }
    ing_bind_envelope(stmt, in, host->id, collected_at, seq);
    sqlite3_bind_int64(stmt, 9, in->received_at);
    sqlite3_bind_int64(stmt, 10, ing_clamp_u64(in->report->spool_dropped));
    sqlite3_bind_int64(stmt, 11, ing_clamp_u64(in->report->spool_quarantined));
    result = ing_done(stmt);
    if (result || host->same_fqdn) {
        return result;
    }
    /* The name's case changed (hosts match without case): keep the newest spelling. */
    result = ing_stmt(st, COL_WSQL_HOST_SET_FQDN, &stmt);
    if (!result) {
        sqlite3_bind_int64(stmt, 1, host->id);
        sqlite3_bind_text(stmt, 2, in->report->snapshot->host.fqdn, -1, SQLITE_STATIC);
        result = ing_done(stmt);
    }
    return result;
}

/* *exists when report_id is stored; then *own says whether by this host (names match without
 * case, as hosts do). */
static enum proto_rc ing_report_exists(struct col_store *st, const char *report_id,
                                       const char *fqdn, bool *exists, bool *own)
{
    sqlite3_stmt *stmt = NULL;
    enum proto_rc result = ing_stmt(st, COL_WSQL_REPORT_EXISTS, &stmt);
    if (result) {
        return result;
    }
    sqlite3_bind_text(stmt, 1, report_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, fqdn, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    *exists = rc == SQLITE_ROW;
    *own = rc == SQLITE_ROW && sqlite3_column_int(stmt, 0) != 0;
    sqlite3_reset(stmt);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? PROTO_OK : col_store_rc(rc);
}

static enum proto_rc ing_all(struct col_store *st, const struct col_ingest *in,
                             const struct col_ingest_facts *facts, bool *duplicate)
{
    const struct proto_report *rep = in->report;
    const struct proto_snapshot *snap = rep->snapshot;
    bool exists = false;
    bool own = false;
    enum proto_rc result = ing_report_exists(st, rep->report_id, snap->host.fqdn, &exists, &own);
    if (result) {
        return result;
    }
    if (exists) {
        *duplicate = own;
        return own ? PROTO_OK : PROTO_ECONFLICT;
    }
    int64_t collected_at = snap->host.collected_at != 0 ? snap->host.collected_at : in->received_at;
    int64_t seq = ing_clamp_u64(rep->seq);
    struct ing_host host = {0};
    result = ing_host_find(st, in, facts, collected_at, seq, &host);
    if (!result && !host.unchanged) {
        result = ing_snapshot(st, facts); /* unchanged: the host's latest state holds it */
    }
    if (!result) {
        result = ing_report_row(st, in, facts, host.id, collected_at, seq);
    }
    if (result) {
        return result;
    }
    if (host.newer && host.unchanged) {
        return ing_host_seen(st, in, &host, collected_at, seq);
    }
    if (host.newer && in->diagnosis == NULL) {
        return PROTO_ECHANGED; /* the latest state must be rewritten: that needs the full report */
    }
    if (!host.inserted) {
        result = ing_host_touch(st, in, host.id);
    }
    if (result || !host.newer) {
        return result;
    }
    result = ing_host_latest(st, in, facts, host.id, collected_at, seq);
    if (!result) {
        result = ing_certs(st, host.id, snap, in->diagnosis);
    }
    if (!result) {
        result = ing_rules(st, host.id, snap);
    }
    if (!result) {
        result = ing_findings(st, host.id, in->diagnosis, in->received_at, &host);
    }
    return result;
}

enum proto_rc col_store_ingest(struct col_store *st, const struct col_ingest *in, bool *duplicate)
{
    if (st == NULL || duplicate == NULL || !st->in_tx) {
        return PROTO_EINVAL;
    }
    *duplicate = false;
    enum proto_rc result = ing_validate(in);
    if (result) {
        return result;
    }
    const struct col_ingest_facts *facts = in->facts;
    if (facts == NULL) {
        return PROTO_EINVAL; /* the writer computes them when its submitter did not */
    }
    bool in_body = facts->snapshot_offset >= 0;
    if (facts->snapshot == NULL || strlen(facts->snapshot_hash) != PROTO_SHA256_HEX_LEN ||
        strlen(facts->diagnosis_hash) != PROTO_SHA256_HEX_LEN ||
        (in_body && ((uint64_t)facts->snapshot_offset > in->body_len ||
                     facts->snapshot_len > in->body_len - (size_t)facts->snapshot_offset))) {
        result = PROTO_EINVAL;
    }
    bool savepoint = false;
    if (!result) {
        result = col_store_wexec(st, COL_WSQL_SAVEPOINT);
        savepoint = result == PROTO_OK;
    }
    if (!result) {
        result = ing_all(st, in, facts, duplicate);
        if (result == PROTO_EIO) {
            /* Before the rollback below, which replaces the connection's error code. */
            col_store_note_write_error(st, sqlite3_extended_errcode(st->wdb));
        }
    }
    if (result) {
        *duplicate = false;
        if (savepoint && col_store_in_transaction(st)) {
            col_store_wexec(st, COL_WSQL_ROLLBACK_TO);
            col_store_wexec(st, COL_WSQL_RELEASE);
        }
        return result;
    }
    result = col_store_wexec(st, COL_WSQL_RELEASE);
    st->tx_wrote = st->tx_wrote || (result == PROTO_OK && !*duplicate);
    return result;
}

/* ---- retention ---------------------------------------------------------------------------- */

static enum proto_rc ing_prune_step(struct col_store *st, sqlite3 *db, const char *sql,
                                    int64_t before, int *changed)
{
    sqlite3_stmt *stmt = NULL;
    int rc = col_store_begin_other(st, db);
    if (rc == SQLITE_OK) {
        rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
    }
    if (rc == SQLITE_OK) {
        int n = 1;
        if (before != INT64_MIN) {
            sqlite3_bind_int64(stmt, n++, before);
        }
        sqlite3_bind_int(stmt, n, ING_PRUNE_CHUNK);
        rc = sqlite3_step(stmt);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    *changed = rc == SQLITE_OK ? sqlite3_changes(db) : 0;
    sqlite3_finalize(stmt);
    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(db, COL_SQL_COMMIT, NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK && !sqlite3_get_autocommit(db)) {
        sqlite3_exec(db, COL_SQL_ROLLBACK, NULL, NULL, NULL);
    }
    return col_store_rc(rc);
}

/*
 * Runs on the admin connection, not the writer's, so any thread may call it; it deletes in
 * chunks of ING_PRUNE_CHUNK, each its own short transaction, so the writer waits at most one
 * chunk for the write lock. *deleted counts report rows; bodies and snapshots that no report and no
 * host's latest state refer to any more go with them.
 */
enum proto_rc col_store_prune(struct col_store *st, int64_t before, int64_t *deleted)
{
    if (st == NULL) {
        return PROTO_EINVAL;
    }
    enum proto_rc result = PROTO_OK;
    int64_t total = 0;
    int changed = 0;
    pthread_mutex_lock(&st->admin_mu);
    do {
        result = ing_prune_step(st, st->adb, COL_SQL_PRUNE_REPORTS, before, &changed);
        total += changed;
    } while (!result && changed > 0);
    const char *orphans[] = {COL_SQL_PRUNE_SNAPSHOTS, COL_SQL_PRUNE_BODIES};
    for (size_t i = 0; !result && i < sizeof(orphans) / sizeof(orphans[0]); i++) {
        do {
            result = ing_prune_step(st, st->adb, orphans[i], INT64_MIN, &changed);
        } while (!result && changed > 0);
    }
    pthread_mutex_unlock(&st->admin_mu);
    if (deleted != NULL) {
        *deleted = total;
    }
    return result;
}
