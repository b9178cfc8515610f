/*
 * store_profiles: remediation profiles, their states and the agents' results (DESIGN §8,
 * docs/remediation.md "Online").
 *
 * Every write runs on the admin connection under admin_mu, one transaction with its audit row,
 * announced to the writer as tokens are (store_int.h). A profile's serial is taken from
 * profile_serials inside the transaction that stores it, and the caller's seal callback signs
 * the profile in that transaction, so two creations never get one serial. Owns the in-memory
 * set of hosts with an assigned profile that keeps the report path free of SQL for every other
 * host. Never signs, judges or renders: it stores what the API gives it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "caps.h"
#include "store.h"
#include "store_int.h"

static const char *const prof_state_names[COL_PROFILE_STATE_COUNT] = {
    "created", "assigned", "applied", "planned", "refused", "rolled_back", "cancelled",
};

const char *col_profile_state_str(enum col_profile_state state)
{
    return (unsigned)state < COL_PROFILE_STATE_COUNT ? prof_state_names[state] : "";
}

bool col_profile_state_from_str(const char *s, enum col_profile_state *out)
{
    for (int i = 0; s != NULL && i < COL_PROFILE_STATE_COUNT; i++) {
        if (strcmp(s, prof_state_names[i]) == 0) {
            *out = (enum col_profile_state)i;
            return true;
        }
    }
    return false;
}

/* ---- small helpers ------------------------------------------------------------------------ */

static enum proto_rc prof_result(int rc)
{
    enum proto_rc result = col_store_rc(rc);
    return rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW && !result ? PROTO_EIO : result;
}

static enum proto_rc prof_exec(sqlite3 *db, const char *sql)
{
    return prof_result(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

static enum proto_rc prof_begin(struct col_store *st)
{
    return prof_result(col_store_begin_other(st, st->adb));
}

static enum proto_rc prof_finish(sqlite3 *db, enum proto_rc result)
{
    if (!result) {
        result = prof_exec(db, COL_SQL_COMMIT);
    }
    if (result && !sqlite3_get_autocommit(db)) {
        prof_exec(db, COL_SQL_ROLLBACK);
    }
    return result;
}

static bool prof_text_ok(const char *s, size_t max)
{
    return s != NULL && s[0] != '\0' && strlen(s) <= max;
}

static bool prof_uuid_ok(const char *s)
{
    if (s == NULL || strlen(s) != 36) {
        return false;
    }
    for (size_t i = 0; i < 36; i++) {
        char c = s[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

static enum proto_rc prof_audit(sqlite3 *db, const char *actor, const char *action,
                                const char *target, const char *detail)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db, COL_SQL_AUDIT_INSERT, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(stmt, 1, col_store_now());
        sqlite3_bind_text(stmt, 2, actor, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, action, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 4, target, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 5, detail, -1, SQLITE_STATIC);
        rc = sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? PROTO_OK : prof_result(rc);
}

/* A copy of column c, or NULL (for SQL NULL too); *ok false on allocation failure. */
static char *prof_col_dup(sqlite3_stmt *stmt, int c, bool *ok)
{
    if (sqlite3_column_type(stmt, c) == SQLITE_NULL) {
        return NULL;
    }
    const unsigned char *t = sqlite3_column_text(stmt, c);
    int len = sqlite3_column_bytes(stmt, c);
    char *copy = t != NULL && len >= 0 ? proto_strndup((const char *)t, (size_t)len) : NULL;
    if (copy == NULL) {
        *ok = false;
    }
    return copy;
}

static void prof_col_copy(sqlite3_stmt *stmt, int c, char *out, size_t size)
{
    const unsigned char *t = sqlite3_column_text(stmt, c);
    snprintf(out, size, "%s", t != NULL ? (const char *)t : "");
}

/* ---- the set of hosts with an assigned profile --------------------------------------------- */

static int prof_cmp_host(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void prof_hosts_free(char **hosts, size_t count)
{
    for (size_t i = 0; hosts != NULL && i < count; i++) {
        proto_free(hosts[i]);
    }
    proto_free(hosts);
}

enum proto_rc col_store_pending_refresh(struct col_store *st)
{
    char **hosts = NULL;
    size_t count = 0;
    size_t cap = 0;
    sqlite3_stmt *stmt = NULL;
    enum proto_rc result = PROTO_OK;
    int rc = sqlite3_prepare_v2(st->adb, COL_SQL_PENDING_HOSTS, -1, &stmt, NULL);
    while (stmt != NULL && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (count == cap) {
            size_t ncap = cap == 0 ? 16 : cap * 2;
            char **grown = proto_realloc(hosts, ncap * sizeof(*grown));
            if (grown == NULL) {
                result = PROTO_ENOMEM;
                goto out;
            }
            hosts = grown;
            cap = ncap;
        }
        bool ok = true;
        hosts[count] = prof_col_dup(stmt, 0, &ok);
        if (!ok) {
            result = PROTO_ENOMEM;
            goto out;
        }
        if (hosts[count] != NULL) {
            count++;
        }
    }
    if (rc != SQLITE_DONE) {
        result = prof_result(rc);
        result = result ? result : PROTO_EIO;
        goto out;
    }
    /* SQLite's lower() and ORDER BY agree with strcmp for ASCII names; sort to be sure. */
    if (count > 1) {
        qsort(hosts, count, sizeof(*hosts), prof_cmp_host);
    }
    pthread_mutex_lock(&st->pend_mu);
    char **old = st->pend_hosts;
    size_t old_count = st->pend_count;
    st->pend_hosts = hosts;
    st->pend_count = count;
    pthread_mutex_unlock(&st->pend_mu);
    hosts = old;
    count = old_count;
out:
    sqlite3_finalize(stmt);
    prof_hosts_free(hosts, count);
    return result;
}

void col_store_pending_free(struct col_store *st)
{
    prof_hosts_free(st->pend_hosts, st->pend_count);
    st->pend_hosts = NULL;
    st->pend_count = 0;
}

/* After a committed change of an assigned profile. When the set cannot be rebuilt (out of
 * memory) the old one may miss a host: it is dropped and every lookup asks SQL until the next
 * refresh succeeds. */
static void prof_refresh_after_commit(struct col_store *st)
{
    if (col_store_pending_refresh(st) != PROTO_OK) {
        pthread_mutex_lock(&st->pend_mu);
        prof_hosts_free(st->pend_hosts, st->pend_count);
        st->pend_hosts = NULL;
        st->pend_count = SIZE_MAX; /* unknown: ask SQL */
        pthread_mutex_unlock(&st->pend_mu);
    }
}

static bool prof_host_may_be_pending(struct col_store *st, const char *host)
{
    char key[PROTO_MAX_FQDN + 1];
    size_t n = strlen(host);
    if (n > PROTO_MAX_FQDN) {
        return true; /* not a name the set holds; let SQL answer */
    }
    for (size_t i = 0; i <= n; i++) {
        char c = host[i];
        key[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    const char *k = key;
    pthread_mutex_lock(&st->pend_mu);
    bool found = st->pend_count == SIZE_MAX ||
                 (st->pend_count > 0 && bsearch(&k, st->pend_hosts, st->pend_count, sizeof(char *),
                                                prof_cmp_host) != NULL);
    pthread_mutex_unlock(&st->pend_mu);
    return found;
}

/* ---- create ------------------------------------------------------------------------------- */

static enum proto_rc prof_step_int(sqlite3 *db, const char *sql, const char *host, bool *found,
                                   int64_t *value)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, host, -1, SQLITE_STATIC);
        rc = sqlite3_step(stmt);
    }
    *found = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW && value != NULL) {
        *value = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? PROTO_OK : prof_result(rc);
}

static enum proto_rc prof_insert(sqlite3 *db, const struct col_profile_new *in, int64_t serial,
                                 const char *envelope, size_t envelope_len)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db, COL_SQL_SERIAL_SET, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, in->host, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, serial);
        rc = sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
    stmt = NULL;
    if (rc != SQLITE_DONE) {
        return prof_result(rc);
    }
    rc = sqlite3_prepare_v2(db, COL_SQL_PROFILE_INSERT, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, in->profile_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, in->host, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 3, serial);
        sqlite3_bind_text(stmt, 4, in->mode, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 5, in->reason_json, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 6, envelope, (int)envelope_len, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 7, in->not_before);
        sqlite3_bind_int64(stmt, 8, in->expires);
        sqlite3_bind_int64(stmt, 9, col_store_now());
        sqlite3_bind_text(stmt, 10, in->actor, -1, SQLITE_STATIC);
        rc = sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
    if (rc == SQLITE_CONSTRAINT) {
        return PROTO_ECHANGED; /* another active profile, or the id is taken */
    }
    return rc == SQLITE_DONE ? PROTO_OK : prof_result(rc);
}

enum proto_rc col_store_profile_create(struct col_store *st, const struct col_profile_new *in,
                                       col_profile_seal_fn seal, void *seal_ctx,
                                       int64_t *serial_out)
{
    char *envelope = NULL;
    size_t envelope_len = 0;
    char detail[96];
    if (st == NULL || in == NULL || seal == NULL || !prof_uuid_ok(in->profile_id) ||
        !prof_text_ok(in->host, PROTO_MAX_FQDN) || in->mode == NULL ||
        (strcmp(in->mode, "apply") != 0 && strcmp(in->mode, "dry_run") != 0) ||
        !prof_text_ok(in->reason_json, PROTO_MAX_STRING) ||
        !prof_text_ok(in->actor, PROTO_MAX_NAME) || in->expires <= in->not_before) {
        return PROTO_EINVAL;
    }
    pthread_mutex_lock(&st->admin_mu);
    enum proto_rc result = prof_begin(st);
    if (result) {
        pthread_mutex_unlock(&st->admin_mu);
        return result;
    }
    bool found = false;
    int64_t highest = 0;
    result = prof_step_int(st->adb, COL_SQL_PROFILE_ACTIVE, in->host, &found, NULL);
    if (!result && found) {
        result = PROTO_ECHANGED;
    }
    if (!result) {
        result = prof_step_int(st->adb, COL_SQL_SERIAL_HIGHEST, in->host, &found, &highest);
    }
    int64_t serial = (found ? highest : 0) + 1;
    if (!result) {
        result = seal(seal_ctx, serial, &envelope, &envelope_len);
    }
    if (!result && (envelope == NULL || envelope_len > COL_PROFILE_ENVELOPE_MAX)) {
        result = envelope == NULL ? PROTO_EINVAL : PROTO_ELIMIT;
    }
    if (!result) {
        result = prof_insert(st->adb, in, serial, envelope, envelope_len);
    }
    if (!result) {
        snprintf(detail, sizeof(detail), "{\"serial\":%lld,\"mode\":\"%s\"}", (long long)serial,
                 in->mode);
        result = prof_audit(st->adb, in->actor, "profile.create", in->profile_id, detail);
    }
    result = prof_finish(st->adb, result);
    pthread_mutex_unlock(&st->admin_mu);
    proto_free(envelope);
    if (!result && serial_out != NULL) {
        *serial_out = serial;
    }
    return result;
}

/* ---- reads ------------------------------------------------------------------------------- */

static void prof_clear(struct col_profile *p)
{
    proto_free(p->host);
    proto_free(p->reason_json);
    proto_free(p->envelope);
    proto_free(p->created_by);
    proto_free(p->assigned_by);
    proto_free(p->cancelled_by);
    memset(p, 0, sizeof(*p));
}

static void prof_detail_clear(struct col_profile_detail *d)
{
    for (size_t i = 0; i < d->result_count; i++) {
        proto_free(d->results[i].reason);
        proto_free(d->results[i].body);
    }
    proto_free(d->results);
    prof_clear(&d->profile);
    d->results = NULL;
    d->result_count = 0;
}

void col_store_profile_detail_destroy(struct col_profile_detail *d)
{
    if (d == NULL) {
        return;
    }
    prof_detail_clear(d);
    proto_free(d);
}

void col_store_profile_list_destroy(struct col_profile_detail *list, size_t count)
{
    for (size_t i = 0; list != NULL && i < count; i++) {
        prof_detail_clear(&list[i]);
    }
    proto_free(list);
}

/* A row of COL_SQL_PROFILE_COLS (+ the envelope, column 14) into p. */
static enum proto_rc prof_from_row(sqlite3_stmt *stmt, struct col_profile *p)
{
    bool ok = true;
    memset(p, 0, sizeof(*p));
    prof_col_copy(stmt, 0, p->profile_id, sizeof(p->profile_id));
    p->host = prof_col_dup(stmt, 1, &ok);
    p->serial = sqlite3_column_int64(stmt, 2);
    prof_col_copy(stmt, 3, p->mode, sizeof(p->mode));
    enum col_profile_state state = COL_PROFILE_CREATED;
    (void)col_profile_state_from_str((const char *)sqlite3_column_text(stmt, 4), &state);
    p->state = state;
    p->reason_json = prof_col_dup(stmt, 5, &ok);
    p->not_before = sqlite3_column_int64(stmt, 6);
    p->expires = sqlite3_column_int64(stmt, 7);
    p->created_at = sqlite3_column_int64(stmt, 8);
    p->created_by = prof_col_dup(stmt, 9, &ok);
    p->assigned = sqlite3_column_type(stmt, 10) != SQLITE_NULL;
    p->assigned_at = sqlite3_column_int64(stmt, 10);
    p->assigned_by = prof_col_dup(stmt, 11, &ok);
    p->cancelled = sqlite3_column_type(stmt, 12) != SQLITE_NULL;
    p->cancelled_at = sqlite3_column_int64(stmt, 12);
    p->cancelled_by = prof_col_dup(stmt, 13, &ok);
    p->envelope = prof_col_dup(stmt, 14, &ok);
    p->envelope_len = p->envelope != NULL ? (size_t)sqlite3_column_bytes(stmt, 14) : 0;
    if (!ok) {
        prof_clear(p);
        return PROTO_ENOMEM;
    }
    return PROTO_OK;
}

static enum proto_rc prof_results(sqlite3 *db, struct col_profile_detail *d)
{
    sqlite3_stmt *stmt = NULL;
    enum proto_rc result = PROTO_OK;
    int rc = sqlite3_prepare_v2(db, COL_SQL_PROFILE_RESULTS, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, d->profile.profile_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, COL_PROFILE_RESULTS_MAX);
    }
    while (stmt != NULL && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (d->results == NULL) {
            d->results = proto_calloc(COL_PROFILE_RESULTS_MAX, sizeof(*d->results));
            if (d->results == NULL) {
                result = PROTO_ENOMEM;
                goto out;
            }
        }
        if (d->result_count >= COL_PROFILE_RESULTS_MAX) {
            break; /* NEVER: the LIMIT holds the count */
        }
        struct col_profile_result *r = &d->results[d->result_count++];
        bool ok = true;
        prof_col_copy(stmt, 0, r->result_id, sizeof(r->result_id));
        prof_col_copy(stmt, 1, r->outcome, sizeof(r->outcome));
        r->reason = prof_col_dup(stmt, 2, &ok);
        r->finished_at = sqlite3_column_int64(stmt, 3);
        r->received_at = sqlite3_column_int64(stmt, 4);
        r->body = prof_col_dup(stmt, 5, &ok);
        r->body_len = r->body != NULL ? (size_t)sqlite3_column_bytes(stmt, 5) : 0;
        if (!ok) {
            result = PROTO_ENOMEM;
            goto out;
        }
    }
    if (rc != SQLITE_DONE) {
        result = prof_result(rc);
        result = result ? result : PROTO_EIO;
    }
out:
    sqlite3_finalize(stmt);
    return result;
}

enum proto_rc col_store_profile_get(struct col_store *st, const char *profile_id,
                                    bool with_envelope, struct col_profile_detail **out)
{
    if (st == NULL || out == NULL) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    if (!prof_uuid_ok(profile_id)) {
        return PROTO_ENOTFOUND;
    }
    struct col_profile_detail *d = proto_calloc(1, sizeof(*d));
    if (d == NULL) {
        return PROTO_ENOMEM;
    }
    sqlite3 *db = col_store_reader_acquire(st);
    sqlite3_stmt *stmt = NULL;
    enum proto_rc result = PROTO_OK;
    int rc = prof_exec(db, COL_SQL_BEGIN_READ) ? SQLITE_ERROR : SQLITE_OK;
    if (rc == SQLITE_OK) {
        rc = sqlite3_prepare_v2(db, COL_SQL_PROFILE_GET, -1, &stmt, NULL);
    }
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, profile_id, -1, SQLITE_STATIC);
        sqlite3_bind_int(stmt, 2, with_envelope ? 1 : 0);
        rc = sqlite3_step(stmt);
    }
    if (rc == SQLITE_ROW) {
        result = prof_from_row(stmt, &d->profile);
    } else {
        result = rc == SQLITE_DONE ? PROTO_ENOTFOUND : prof_result(rc);
        result = result ? result : PROTO_EIO;
    }
    sqlite3_finalize(stmt);
    if (!result) {
        result = prof_results(db, d);
    }
    if (!sqlite3_get_autocommit(db)) {
        prof_exec(db, COL_SQL_COMMIT);
    }
    col_store_reader_release(st, db);
    if (result) {
        col_store_profile_detail_destroy(d);
        return result;
    }
    *out = d;
    return PROTO_OK;
}

enum proto_rc col_store_profiles_of_host(struct col_store *st, const char *host, size_t max,
                                         struct col_profile_detail **out, size_t *count)
{
    if (st == NULL || host == NULL || out == NULL || count == NULL || max == 0 ||
        max > COL_QUERY_MAX_LIMIT) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    *count = 0;
    struct col_profile_detail *list = NULL;
    size_t n = 0;
    size_t cap = 0;
    enum proto_rc result = PROTO_OK;
    sqlite3 *db = col_store_reader_acquire(st);
    sqlite3_stmt *stmt = NULL;
    int rc = prof_exec(db, COL_SQL_BEGIN_READ) ? SQLITE_ERROR : SQLITE_OK;
    if (rc == SQLITE_OK) {
        rc = sqlite3_prepare_v2(db, COL_SQL_PROFILES_OF_HOST, -1, &stmt, NULL);
    }
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, host, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, (sqlite3_int64)max);
    }
    while (stmt != NULL && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap == 0 ? 4 : cap * 2;
            struct col_profile_detail *grown = proto_realloc(list, ncap * sizeof(*grown));
            if (grown == NULL) {
                result = PROTO_ENOMEM;
                goto out;
            }
            memset(grown + cap, 0, (ncap - cap) * sizeof(*grown));
            list = grown;
            cap = ncap;
        }
        result = prof_from_row(stmt, &list[n].profile);
        if (result) {
            goto out;
        }
        n++;
    }
    if (rc != SQLITE_DONE) {
        result = prof_result(rc);
        result = result ? result : PROTO_EIO;
        goto out;
    }
    for (size_t i = 0; i < n && !result; i++) {
        result = prof_results(db, &list[i]);
    }
out:
    sqlite3_finalize(stmt);
    if (!sqlite3_get_autocommit(db)) {
        prof_exec(db, COL_SQL_COMMIT);
    }
    col_store_reader_release(st, db);
    if (result) {
        col_store_profile_list_destroy(list, n);
        return result;
    }
    *out = list;
    *count = n;
    return PROTO_OK;
}

static const struct col_column prof_list_cols[] = {
    {"profile_id", COL_CELL_TEXT}, {"host", COL_CELL_TEXT},       {"serial", COL_CELL_INT},
    {"mode", COL_CELL_TEXT},       {"state", COL_CELL_TEXT},      {"reason", COL_CELL_TEXT},
    {"created_at", COL_CELL_TIME}, {"created_by", COL_CELL_TEXT}, {"assigned_at", COL_CELL_TIME},
    {"expires", COL_CELL_TIME},    {"outcome", COL_CELL_TEXT},    {"result_at", COL_CELL_TIME},
};

enum proto_rc col_store_profile_list(struct col_store *st, const struct col_profile_query *q,
                                     struct col_table **out)
{
    if (st == NULL || q == NULL || out == NULL || q->limit == 0 || q->limit > COL_QUERY_MAX_LIMIT ||
        (q->state != -1 && (q->state < 0 || q->state >= COL_PROFILE_STATE_COUNT))) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    const size_t ncols = sizeof(prof_list_cols) / sizeof(prof_list_cols[0]);
    struct col_table *t = NULL;
    sqlite3 *db = col_store_reader_acquire(st);
    sqlite3_stmt *stmt = NULL;
    enum proto_rc result = PROTO_OK;
    int rc = sqlite3_prepare_v2(db, COL_SQL_PROFILE_LIST, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        if (q->host != NULL) {
            sqlite3_bind_text(stmt, 1, q->host, -1, SQLITE_STATIC);
        }
        if (q->state != -1) {
            sqlite3_bind_text(stmt, 2, col_profile_state_str((enum col_profile_state)q->state), -1,
                              SQLITE_STATIC);
        }
        sqlite3_bind_int64(stmt, 3, (sqlite3_int64)q->limit);
        sqlite3_bind_int64(stmt, 4, (sqlite3_int64)q->offset);
        result = col_store_table_from_stmt(stmt, prof_list_cols, ncols, ncols, &t);
    } else {
        result = prof_result(rc);
        result = result ? result : PROTO_EIO;
    }
    sqlite3_finalize(stmt);
    stmt = NULL;
    if (!result && t != NULL && t->nrows == 0 && q->offset > 0) {
        /* Past the end: the window count had no row to ride on. */
        rc = sqlite3_prepare_v2(db, COL_SQL_PROFILE_LIST_COUNT, -1, &stmt, NULL);
        if (rc == SQLITE_OK) {
            if (q->host != NULL) {
                sqlite3_bind_text(stmt, 1, q->host, -1, SQLITE_STATIC);
            }
            if (q->state != -1) {
                sqlite3_bind_text(stmt, 2, col_profile_state_str((enum col_profile_state)q->state),
                                  -1, SQLITE_STATIC);
            }
            rc = sqlite3_step(stmt);
        }
        if (rc == SQLITE_ROW) {
            sqlite3_int64 total = sqlite3_column_int64(stmt, 0);
            t->total = total > 0 ? (size_t)total : 0;
        } else {
            result = prof_result(rc);
            result = result ? result : PROTO_EIO;
        }
        sqlite3_finalize(stmt);
    }
    col_store_reader_release(st, db);
    if (result) {
        col_table_destroy(t);
        return result;
    }
    *out = t;
    return PROTO_OK;
}

/* ---- transitions ------------------------------------------------------------------------- */

/* The stored state of a profile; PROTO_ENOTFOUND when there is none. host (may be NULL) gets
 * its host. */
static enum proto_rc prof_state_of(sqlite3 *db, const char *profile_id,
                                   enum col_profile_state *state, char *host, size_t host_size)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db, COL_SQL_PROFILE_STATE, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, profile_id, -1, SQLITE_STATIC);
        rc = sqlite3_step(stmt);
    }
    enum proto_rc result = PROTO_OK;
    if (rc == SQLITE_ROW) {
        if (!col_profile_state_from_str((const char *)sqlite3_column_text(stmt, 0), state)) {
            result = PROTO_EIO; /* NEVER: the CHECK constraint holds the names */
        }
        if (host != NULL) {
            prof_col_copy(stmt, 1, host, host_size);
        }
    } else {
        result = rc == SQLITE_DONE ? PROTO_ENOTFOUND : prof_result(rc);
    }
    sqlite3_finalize(stmt);
    return result;
}

static enum proto_rc prof_update(sqlite3 *db, const char *sql, const char *id, int64_t at,
                                 const char *text)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
        if (at >= 0) {
            sqlite3_bind_int64(stmt, 2, at);
            sqlite3_bind_text(stmt, 3, text, -1, SQLITE_STATIC);
        } else {
            sqlite3_bind_text(stmt, 2, text, -1, SQLITE_STATIC);
        }
        rc = sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        return prof_result(rc);
    }
    return sqlite3_changes(db) == 1 ? PROTO_OK : PROTO_ECHANGED;
}

enum proto_rc col_store_profile_transition(struct col_store *st, const char *profile_id,
                                           enum col_profile_state to, const char *actor)
{
    if (st == NULL || !prof_text_ok(actor, PROTO_MAX_NAME) ||
        (to != COL_PROFILE_ASSIGNED && to != COL_PROFILE_CANCELLED)) {
        return PROTO_EINVAL;
    }
    if (!prof_uuid_ok(profile_id)) {
        return PROTO_ENOTFOUND;
    }
    enum col_profile_state from = COL_PROFILE_CREATED;
    char detail[96];
    pthread_mutex_lock(&st->admin_mu);
    enum proto_rc result = prof_begin(st);
    if (result) {
        pthread_mutex_unlock(&st->admin_mu);
        return result;
    }
    result = prof_state_of(st->adb, profile_id, &from, NULL, 0);
    if (!result) {
        result = prof_update(
            st->adb, to == COL_PROFILE_ASSIGNED ? COL_SQL_PROFILE_ASSIGN : COL_SQL_PROFILE_CANCEL,
            profile_id, col_store_now(), actor);
    }
    if (!result) {
        snprintf(detail, sizeof(detail), "{\"from\":\"%s\",\"to\":\"%s\"}",
                 col_profile_state_str(from), col_profile_state_str(to));
        result = prof_audit(st->adb, actor,
                            to == COL_PROFILE_ASSIGNED ? "profile.assign" : "profile.cancel",
                            profile_id, detail);
    }
    result = prof_finish(st->adb, result);
    if (!result) {
        prof_refresh_after_commit(st);
    }
    pthread_mutex_unlock(&st->admin_mu);
    return result;
}

enum proto_rc col_store_profile_pending(struct col_store *st, const char *host, int64_t now,
                                        char id_out[37])
{
    if (st == NULL || host == NULL || id_out == NULL) {
        return PROTO_EINVAL;
    }
    id_out[0] = '\0';
    if (!prof_host_may_be_pending(st, host)) {
        return PROTO_ENOTFOUND;
    }
    sqlite3 *db = col_store_reader_acquire(st);
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db, COL_SQL_PROFILE_PENDING, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, host, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, now);
        rc = sqlite3_step(stmt);
    }
    enum proto_rc result = PROTO_ENOTFOUND;
    if (rc == SQLITE_ROW) {
        prof_col_copy(stmt, 0, id_out, 37);
        result = PROTO_OK;
    } else if (rc != SQLITE_DONE) {
        result = prof_result(rc);
        result = result ? result : PROTO_EIO;
    }
    sqlite3_finalize(stmt);
    col_store_reader_release(st, db);
    return result;
}

/* ---- results ----------------------------------------------------------------------------- */

static enum proto_rc prof_result_insert(sqlite3 *db, const struct col_result_new *in)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db, COL_SQL_RESULT_INSERT, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, in->result_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, in->host, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, in->profile_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 4, in->outcome, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 5, in->reason != NULL ? in->reason : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 6, in->finished_at);
        sqlite3_bind_int64(stmt, 7, in->received_at);
        sqlite3_bind_text(stmt, 8, in->body, (int)in->body_len, SQLITE_STATIC);
        rc = sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? PROTO_OK : prof_result(rc);
}

enum proto_rc col_store_result_insert(struct col_store *st, const struct col_result_new *in,
                                      bool *duplicate)
{
    enum col_profile_state outcome_state;
    if (st == NULL || in == NULL || duplicate == NULL || !prof_uuid_ok(in->result_id) ||
        !prof_text_ok(in->host, PROTO_MAX_FQDN) || in->body == NULL ||
        in->body_len > PROTO_MAX_RESULT_BYTES || !prof_text_ok(in->actor, PROTO_MAX_NAME) ||
        !col_profile_state_from_str(in->outcome, &outcome_state) ||
        outcome_state < COL_PROFILE_APPLIED || outcome_state > COL_PROFILE_ROLLED_BACK) {
        return PROTO_EINVAL;
    }
    *duplicate = false;
    if (!prof_uuid_ok(in->profile_id)) {
        return PROTO_ENOTFOUND;
    }
    char stored_host[PROTO_MAX_FQDN + 1] = "";
    char detail[128];
    enum col_profile_state state = COL_PROFILE_CREATED;
    bool moved = false;
    pthread_mutex_lock(&st->admin_mu);
    enum proto_rc result = prof_begin(st);
    if (result) {
        pthread_mutex_unlock(&st->admin_mu);
        return result;
    }
    /* The result_id first: a resend is answered as such even if the profile changed since. */
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(st->adb, COL_SQL_RESULT_LOOKUP, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, in->result_id, -1, SQLITE_STATIC);
        rc = sqlite3_step(stmt);
    }
    if (rc == SQLITE_ROW) {
        prof_col_copy(stmt, 0, stored_host, sizeof(stored_host));
        if (strcasecmp(stored_host, in->host) == 0) {
            *duplicate = true;
        } else {
            result = PROTO_ECHANGED;
        }
    } else if (rc != SQLITE_DONE) {
        result = prof_result(rc);
        result = result ? result : PROTO_EIO;
    }
    sqlite3_finalize(stmt);
    if (!result && !*duplicate) {
        result = prof_state_of(st->adb, in->profile_id, &state, stored_host, sizeof(stored_host));
        if (!result && strcasecmp(stored_host, in->host) != 0) {
            result = PROTO_ENOTFOUND; /* not this host's: as if it did not exist */
        }
    }
    if (!result && !*duplicate) {
        result = prof_result_insert(st->adb, in);
    }
    if (!result && !*duplicate && state == COL_PROFILE_ASSIGNED) {
        result = prof_update(st->adb, COL_SQL_PROFILE_SET_OUTCOME, in->profile_id, -1, in->outcome);
        moved = !result;
    }
    if (!result && !*duplicate) {
        snprintf(detail, sizeof(detail),
                 "{\"result_id\":\"%s\",\"outcome\":\"%s\",\"from\":\"%s\",\"to\":\"%s\"}",
                 in->result_id, in->outcome, col_profile_state_str(state),
                 col_profile_state_str(moved ? outcome_state : state));
        result = prof_audit(st->adb, in->actor, "profile.result", in->profile_id, detail);
    }
    result = prof_finish(st->adb, result);
    if (!result && moved) {
        prof_refresh_after_commit(st);
    }
    pthread_mutex_unlock(&st->admin_mu);
    return result;
}
