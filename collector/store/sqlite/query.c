/*
 * store_query: the dashboard's reads: composable host and certificate lists, the fleet
 * summary and one host's detail (see store.h). Runs on the read-only pool, any thread. Returns
 * tables and structs; JSON the store keeps (snapshots, finding lists) goes back as the stored
 * bytes, unparsed: rendering is the API's.
 *
 * Owns the translation of struct col_query into one prepared statement: filter fragments and
 * the ORDER BY expression come only from store_sql_int.h (the sort column is looked up in the
 * result's column list, never copied from the request), every value is bound by name, and the
 * total before LIMIT/OFFSET comes from a window count in the same statement. Never writes.
 * "expiring_within_days" means not yet expired and not_after within the next N days; expired
 * certificates are what the CERT_EXPIRED finding is for.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "caps.h"
#include "json_span.h"
#include "store.h"
#include "store_int.h"
#include "x509.h"

#define QRY_LIMIT_MAX COL_QUERY_MAX_LIMIT
#define QRY_DAYS_MAX 36500
#define QRY_SQL_MAX (16u * 1024u)
#define QRY_DAY 86400

/* ---- tables ------------------------------------------------------------------------------- */

void col_table_destroy(struct col_table *t)
{
    if (t == NULL) {
        return;
    }
    if (t->cells != NULL) {
        for (size_t i = 0; i < t->nrows * t->ncols; i++) {
            proto_free(t->cells[i]);
        }
    }
    proto_free(t->cells);
    proto_free(t);
}

enum proto_rc col_store_table_from_stmt(sqlite3_stmt *stmt, const struct col_column *cols,
                                        size_t ncols, size_t total_col, struct col_table **out)
{
    enum proto_rc result = PROTO_OK;
    size_t cap = 0;
    struct col_table *t = proto_calloc(1, sizeof(*t));
    *out = NULL;
    if (t == NULL) {
        return PROTO_ENOMEM;
    }
    t->columns = cols;
    t->ncols = ncols;
    for (;;) {
        int rc = sqlite3_step(stmt);
        if (rc == SQLITE_DONE) {
            break;
        }
        if (rc != SQLITE_ROW) {
            result = col_store_rc(rc);
            result = result ? result : PROTO_EIO;
            goto out;
        }
        if (t->nrows >= COL_TABLE_MAX_ROWS) {
            result = PROTO_ELIMIT;
            goto out;
        }
        if (t->nrows == cap) {
            size_t ncap = cap == 0 ? 16 : cap * 2;
            char **cells = proto_realloc(t->cells, ncap * ncols * sizeof(*cells));
            if (cells == NULL) {
                result = PROTO_ENOMEM;
                goto out;
            }
            t->cells = cells;
            cap = ncap;
        }
        char **row = &t->cells[t->nrows * ncols];
        memset(row, 0, ncols * sizeof(*row));
        t->nrows++;
        for (size_t c = 0; c < ncols; c++) {
            if (sqlite3_column_type(stmt, (int)c) == SQLITE_NULL) {
                continue;
            }
            const unsigned char *text = sqlite3_column_text(stmt, (int)c);
            int len = sqlite3_column_bytes(stmt, (int)c);
            if (text == NULL || len < 0) {
                result = PROTO_ENOMEM;
                goto out;
            }
            row[c] = proto_strndup((const char *)text, (size_t)len);
            if (row[c] == NULL) {
                result = PROTO_ENOMEM;
                goto out;
            }
        }
        if (t->nrows == 1 && total_col != SIZE_MAX) {
            sqlite3_int64 total = sqlite3_column_int64(stmt, (int)total_col);
            t->total = total > 0 ? (size_t)total : 0;
        }
    }
    if (total_col == SIZE_MAX) {
        t->total = t->nrows;
    }
    *out = t;
    t = NULL;
out:
    col_table_destroy(t);
    return result;
}

/* ---- composable queries ------------------------------------------------------------------- */

#define QRY_COLUMN(name, type, expr) {name, type},
#define QRY_EXPR(name, type, expr) expr,

static const struct col_column qry_hosts_cols[] = {COL_HOSTS_COLUMNS(QRY_COLUMN)};
static const char *const qry_hosts_exprs[] = {COL_HOSTS_COLUMNS(QRY_EXPR)};
static const struct col_column qry_certs_cols[] = {COL_CERTS_COLUMNS(QRY_COLUMN)};
static const char *const qry_certs_exprs[] = {COL_CERTS_COLUMNS(QRY_EXPR)};

#define QRY_NCOLS(a) (sizeof(a) / sizeof((a)[0]))

struct qry_def {
    const char *head;       /* SELECT <columns>, count(*) OVER () FROM ... WHERE 1 */
    const char *count_head; /* SELECT count(*) FROM ... WHERE 1 */
    const char *tiebreak;   /* appended after the sort expression */
    const char *f_finding;
    const char *f_severity;
    const char *f_name;
    const char *f_expiring;
    const char *f_issuer;
    const char *f_last_seen;
    const struct col_column *cols;
    const char *const *exprs;
    size_t ncols;
    size_t severity_col; /* a column holding enum proto_severity to print by name */
};

static const struct qry_def qry_hosts = {
    COL_SQL_HOSTS_HEAD,
    COL_SQL_HOSTS_COUNT_HEAD,
    COL_SQL_HOSTS_TIEBREAK,
    COL_SQL_HOSTS_F_FINDING,
    COL_SQL_HOSTS_F_SEVERITY,
    COL_SQL_HOSTS_F_NAME,
    COL_SQL_HOSTS_F_EXPIRING,
    COL_SQL_HOSTS_F_ISSUER,
    COL_SQL_HOSTS_F_LAST_SEEN,
    qry_hosts_cols,
    qry_hosts_exprs,
    QRY_NCOLS(qry_hosts_cols),
    6,
};

static const struct qry_def qry_certs = {
    COL_SQL_CERTS_HEAD,
    COL_SQL_CERTS_COUNT_HEAD,
    COL_SQL_CERTS_TIEBREAK,
    COL_SQL_CERTS_F_FINDING,
    COL_SQL_CERTS_F_SEVERITY,
    COL_SQL_CERTS_F_NAME,
    COL_SQL_CERTS_F_EXPIRING,
    COL_SQL_CERTS_F_ISSUER,
    COL_SQL_CERTS_F_LAST_SEEN,
    qry_certs_cols,
    qry_certs_exprs,
    QRY_NCOLS(qry_certs_cols),
    SIZE_MAX,
};

/* The whitelist: index of the result column called `name`, or -1. */
static long qry_sort_column(const struct qry_def *def, const char *name)
{
    for (size_t i = 0; i < def->ncols; i++) {
        if (strcmp(def->cols[i].name, name) == 0) {
            return (long)i;
        }
    }
    return -1;
}

static bool qry_text_ok(const char *s)
{
    return s == NULL || strlen(s) <= PROTO_MAX_NAME;
}

static enum proto_rc qry_validate(const struct qry_def *def, const struct col_query *q,
                                  size_t *sort_col)
{
    if (q->limit < 1 || q->limit > QRY_LIMIT_MAX || q->offset > (size_t)INT64_MAX ||
        q->min_severity < -1 || q->min_severity > (int)PROTO_SEV_CRITICAL ||
        q->expiring_within_days < -1 || q->expiring_within_days > QRY_DAYS_MAX ||
        q->last_seen_before < 0 || !qry_text_ok(q->finding) || !qry_text_ok(q->name_pattern) ||
        !qry_text_ok(q->issuer) || !qry_text_ok(q->sort)) {
        return PROTO_EINVAL;
    }
    *sort_col = 0;
    if (q->sort != NULL) {
        long i = qry_sort_column(def, q->sort);
        if (i < 0) {
            return PROTO_EINVAL;
        }
        *sort_col = (size_t)i;
    }
    return PROTO_OK;
}

/* Escapes LIKE's own metacharacters with '\'; with `glob`, '*' becomes '%' and '?' '_'; with
 * `substring`, the pattern is wrapped in '%'. Caller frees *out. */
static enum proto_rc qry_like_pattern(const char *in, bool glob, bool substring, char **out)
{
    enum proto_rc result = PROTO_OK;
    struct proto_buf b;
    proto_buf_init(&b, 4 * PROTO_MAX_NAME + 8);
    *out = NULL;
    if (substring) {
        result = proto_buf_append_byte(&b, '%');
    }
    for (const char *p = in; !result && *p != '\0'; p++) {
        if (glob && *p == '*') {
            result = proto_buf_append_byte(&b, '%');
        } else if (glob && *p == '?') {
            result = proto_buf_append_byte(&b, '_');
        } else {
            if (*p == '%' || *p == '_' || *p == '\\') {
                result = proto_buf_append_byte(&b, '\\');
            }
            if (!result) {
                result = proto_buf_append_byte(&b, (unsigned char)*p);
            }
        }
    }
    if (!result && substring) {
        result = proto_buf_append_byte(&b, '%');
    }
    if (!result) {
        *out = proto_buf_detach(&b, NULL);
        result = *out == NULL ? PROTO_ENOMEM : PROTO_OK;
    }
    proto_buf_free(&b);
    return result;
}

static enum proto_rc qry_where(const struct qry_def *def, const struct col_query *q,
                               struct proto_buf *sql)
{
    enum proto_rc result = PROTO_OK;
    if (q->finding != NULL) {
        result = proto_buf_append_str(sql, def->f_finding);
    }
    if (!result && q->min_severity >= 0) {
        result = proto_buf_append_str(sql, def->f_severity);
    }
    if (!result && q->name_pattern != NULL) {
        result = proto_buf_append_str(sql, def->f_name);
    }
    if (!result && q->expiring_within_days >= 0) {
        result = proto_buf_append_str(sql, def->f_expiring);
    }
    if (!result && q->issuer != NULL) {
        result = proto_buf_append_str(sql, def->f_issuer);
    }
    if (!result && q->last_seen_before > 0) {
        result = proto_buf_append_str(sql, def->f_last_seen);
    }
    return result;
}

static void qry_bind_text(sqlite3_stmt *stmt, const char *name, const char *value)
{
    int i = sqlite3_bind_parameter_index(stmt, name);
    if (i > 0) {
        sqlite3_bind_text(stmt, i, value, -1, SQLITE_STATIC);
    }
}

static void qry_bind_int64(sqlite3_stmt *stmt, const char *name, int64_t value)
{
    int i = sqlite3_bind_parameter_index(stmt, name);
    if (i > 0) {
        sqlite3_bind_int64(stmt, i, value);
    }
}

/* Binds every parameter the statement names; fragments that are absent are simply skipped. */
static void qry_bind(sqlite3_stmt *stmt, const struct col_query *q, const char *name_like,
                     const char *issuer_like)
{
    qry_bind_text(stmt, ":finding", q->finding);
    qry_bind_int64(stmt, ":min_severity", q->min_severity);
    qry_bind_text(stmt, ":name_pattern", name_like);
    qry_bind_int64(stmt, ":now", q->now);
    if (q->expiring_within_days >= 0) {
        qry_bind_int64(stmt, ":expires_before",
                       q->now + (int64_t)q->expiring_within_days * QRY_DAY);
    }
    qry_bind_text(stmt, ":issuer", issuer_like);
    qry_bind_int64(stmt, ":last_seen_before", q->last_seen_before);
    qry_bind_int64(stmt, ":limit", (int64_t)q->limit);
    qry_bind_int64(stmt, ":offset", (int64_t)q->offset);
}

static enum proto_rc qry_prepare(sqlite3 *db, const struct proto_buf *sql, sqlite3_stmt **out)
{
    int rc = sqlite3_prepare_v2(db, proto_buf_str(sql), (int)sql->len, out, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(*out);
        *out = NULL;
        enum proto_rc result = col_store_rc(rc);
        return result ? result : PROTO_EIO;
    }
    return PROTO_OK;
}

/* The total when the page is empty because the offset is past the end. */
static enum proto_rc qry_count(sqlite3 *db, const struct qry_def *def, const struct col_query *q,
                               const char *name_like, const char *issuer_like, size_t *total)
{
    sqlite3_stmt *stmt = NULL;
    struct proto_buf sql;
    proto_buf_init(&sql, QRY_SQL_MAX);
    enum proto_rc result = proto_buf_append_str(&sql, def->count_head);
    if (!result) {
        result = qry_where(def, q, &sql);
    }
    if (!result) {
        result = qry_prepare(db, &sql, &stmt);
    }
    if (!result) {
        qry_bind(stmt, q, name_like, issuer_like);
        int rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW) {
            sqlite3_int64 n = sqlite3_column_int64(stmt, 0);
            *total = n > 0 ? (size_t)n : 0;
        } else {
            result = col_store_rc(rc);
            result = result ? result : PROTO_EIO;
        }
    }
    sqlite3_finalize(stmt);
    proto_buf_free(&sql);
    return result;
}

/* Replaces the integer severities of column `col` by their names. */
static void qry_severity_names(struct col_table *t, size_t col)
{
    for (size_t r = 0; r < t->nrows; r++) {
        char **cell = &t->cells[r * t->ncols + col];
        if (*cell == NULL) {
            continue;
        }
        char *end = NULL;
        long v = strtol(*cell, &end, 10);
        if (end == *cell || *end != '\0' || v < PROTO_SEV_INFO || v > PROTO_SEV_CRITICAL) {
            continue;
        }
        char *name = proto_strdup(proto_severity_str((enum proto_severity)v));
        if (name != NULL) {
            proto_free(*cell);
            *cell = name;
        }
    }
}

static enum proto_rc qry_run(struct col_store *st, const struct qry_def *def,
                             const struct col_query *q, struct col_table **out)
{
    enum proto_rc result = PROTO_OK;
    char *name_like = NULL;
    char *issuer_like = NULL;
    sqlite3_stmt *stmt = NULL;
    sqlite3 *db = NULL;
    struct col_table *t = NULL;
    size_t sort_col = 0;
    struct proto_buf sql;
    proto_buf_init(&sql, QRY_SQL_MAX);
    if (st == NULL || q == NULL || out == NULL) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    result = qry_validate(def, q, &sort_col);
    if (result) {
        goto out;
    }
    if (q->name_pattern != NULL) {
        result = qry_like_pattern(q->name_pattern, true, false, &name_like);
    }
    if (!result && q->issuer != NULL) {
        result = qry_like_pattern(q->issuer, false, true, &issuer_like);
    }
    if (!result) {
        result = proto_buf_append_str(&sql, def->head);
    }
    if (!result) {
        result = qry_where(def, q, &sql);
    }
    if (!result) {
        result = proto_buf_appendf(&sql, "%s%s%s%s%s", COL_SQL_ORDER_BY, def->exprs[sort_col],
                                   q->descending ? COL_SQL_DESC : COL_SQL_ASC, def->tiebreak,
                                   COL_SQL_LIMIT);
    }
    if (result) {
        goto out;
    }
    db = col_store_reader_acquire(st);
    result = qry_prepare(db, &sql, &stmt);
    if (result) {
        goto out;
    }
    qry_bind(stmt, q, name_like, issuer_like);
    result = col_store_table_from_stmt(stmt, def->cols, def->ncols, def->ncols, &t);
    if (!result && t->nrows == 0 && q->offset > 0) {
        result = qry_count(db, def, q, name_like, issuer_like, &t->total);
    }
    if (result) {
        goto out;
    }
    if (def->severity_col != SIZE_MAX) {
        qry_severity_names(t, def->severity_col);
    }
    *out = t;
    t = NULL;
out:
    sqlite3_finalize(stmt);
    if (db != NULL) {
        col_store_reader_release(st, db);
    }
    col_table_destroy(t);
    proto_buf_free(&sql);
    proto_free(name_like);
    proto_free(issuer_like);
    return result;
}

enum proto_rc col_store_query_hosts(struct col_store *st, const struct col_query *q,
                                    struct col_table **out)
{
    return qry_run(st, &qry_hosts, q, out);
}

enum proto_rc col_store_query_certs(struct col_store *st, const struct col_query *q,
                                    struct col_table **out)
{
    return qry_run(st, &qry_certs, q, out);
}

/* ---- summary and host detail ------------------------------------------------------------ */

static enum proto_rc qry_step_rc(int rc)
{
    enum proto_rc result = col_store_rc(rc);
    return result ? result : PROTO_EIO;
}

/* A copy of a text column, NULL for SQL NULL. False only when the copy cannot be allocated. */
static bool qry_text(sqlite3_stmt *stmt, int col, char **out)
{
    *out = NULL;
    if (sqlite3_column_type(stmt, col) == SQLITE_NULL) {
        return true;
    }
    const unsigned char *text = sqlite3_column_text(stmt, col);
    int len = sqlite3_column_bytes(stmt, col);
    if (text == NULL || len < 0) {
        return false;
    }
    *out = proto_strndup((const char *)text, (size_t)len);
    return *out != NULL;
}

/* A severity column as an int: -1 for SQL NULL. */
static int qry_severity(sqlite3_stmt *stmt, int col)
{
    return sqlite3_column_type(stmt, col) == SQLITE_NULL ? -1 : sqlite3_column_int(stmt, col);
}

/* Doubles the array *items (of `size`-byte elements) when it is full. */
static bool qry_grow(void **items, size_t size, size_t count, size_t *cap)
{
    if (count < *cap) {
        return true;
    }
    size_t ncap = *cap == 0 ? 8 : *cap * 2;
    void *grown = proto_realloc(*items, ncap * size);
    if (grown == NULL) {
        return false;
    }
    memset((char *)grown + *cap * size, 0, (ncap - *cap) * size);
    *items = grown;
    *cap = ncap;
    return true;
}

void col_store_summary_destroy(struct col_summary *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->by_finding_count; i++) {
        proto_free(s->by_finding[i].id);
    }
    proto_free(s->by_finding);
    proto_free(s);
}

static enum proto_rc qry_summary_by_finding(sqlite3 *db, struct col_summary *s)
{
    enum proto_rc result = PROTO_OK;
    sqlite3_stmt *stmt = NULL;
    size_t cap = 0;
    int rc = sqlite3_prepare_v2(db, COL_SQL_SUMMARY_BY_FINDING, -1, &stmt, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (s->by_finding_count >= COL_TABLE_MAX_ROWS) {
            result = PROTO_ELIMIT;
            goto out;
        }
        if (!qry_grow((void **)&s->by_finding, sizeof(*s->by_finding), s->by_finding_count, &cap)) {
            result = PROTO_ENOMEM;
            goto out;
        }
        struct col_summary_finding *f = &s->by_finding[s->by_finding_count];
        const char *id = (const char *)sqlite3_column_text(stmt, 0);
        f->id = proto_strdup(id != NULL ? id : "");
        if (f->id == NULL) {
            result = PROTO_ENOMEM;
            goto out;
        }
        f->hosts = sqlite3_column_int64(stmt, 1);
        s->by_finding_count++;
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_DONE) {
        result = qry_step_rc(rc);
    }
out:
    sqlite3_finalize(stmt);
    return result;
}

static enum proto_rc qry_summary_fill(sqlite3 *db, struct col_summary *s)
{
    enum proto_rc result = PROTO_OK;
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db, COL_SQL_SUMMARY_HOSTS, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int(stmt, 1, PROTO_SEV_HIGH);
        rc = sqlite3_step(stmt);
    }
    if (rc != SQLITE_ROW) {
        result = qry_step_rc(rc);
        goto out;
    }
    s->hosts = sqlite3_column_int64(stmt, 0);
    s->hosts_at_risk = sqlite3_column_int64(stmt, 1);
    sqlite3_finalize(stmt);
    stmt = NULL;

    rc = sqlite3_prepare_v2(db, COL_SQL_SUMMARY_BY_SEVERITY, -1, &stmt, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        int sev = qry_severity(stmt, 0);
        int64_t n = sqlite3_column_int64(stmt, 1);
        if (sev >= PROTO_SEV_INFO && sev <= PROTO_SEV_CRITICAL) {
            s->by_severity[sev] = n;
        } else {
            s->without_findings += n;
        }
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_DONE) {
        result = qry_step_rc(rc);
        goto out;
    }
    sqlite3_finalize(stmt);
    stmt = NULL;

    result = qry_summary_by_finding(db, s);
    if (result) {
        goto out;
    }

    rc = sqlite3_prepare_v2(db, COL_SQL_SUMMARY_REPORTS, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(stmt);
    }
    if (rc != SQLITE_ROW) {
        result = qry_step_rc(rc);
        goto out;
    }
    s->reports = sqlite3_column_int64(stmt, 0);
    s->has_last_report = sqlite3_column_type(stmt, 1) != SQLITE_NULL;
    s->last_report_at = s->has_last_report ? sqlite3_column_int64(stmt, 1) : 0;
out:
    sqlite3_finalize(stmt);
    return result;
}

/* A read transaction so that every number of the summary comes from the same snapshot. */
static enum proto_rc qry_read_tx(sqlite3 *db, bool begin)
{
    int rc = sqlite3_exec(db, begin ? COL_SQL_BEGIN_READ : COL_SQL_COMMIT, NULL, NULL, NULL);
    return col_store_rc(rc);
}

enum proto_rc col_store_summary(struct col_store *st, struct col_summary **out)
{
    if (st == NULL || out == NULL) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    struct col_summary *s = proto_calloc(1, sizeof(*s));
    if (s == NULL) {
        return PROTO_ENOMEM;
    }
    sqlite3 *db = col_store_reader_acquire(st);
    enum proto_rc result = qry_read_tx(db, true);
    if (!result) {
        result = qry_summary_fill(db, s);
        qry_read_tx(db, false);
    }
    col_store_reader_release(st, db);
    if (result) {
        col_store_summary_destroy(s);
        return result;
    }
    *out = s;
    return PROTO_OK;
}

void col_store_host_detail_destroy(struct col_host_detail *d)
{
    if (d == NULL) {
        return;
    }
    for (size_t i = 0; i < d->finding_rows; i++) {
        struct col_host_finding *f = &d->findings[i];
        proto_free(f->id);
        proto_free(f->message);
        proto_free(f->certs_json);
        proto_free(f->rules_json);
    }
    proto_free(d->findings);
    for (size_t i = 0; i < d->history_rows; i++) {
        proto_free(d->history[i].id);
        proto_free(d->history[i].key);
    }
    proto_free(d->history);
    proto_free(d->fqdn);
    proto_free(d->hostname);
    proto_free(d->os);
    proto_free(d->agent_version);
    proto_free(d->last_report_id);
    proto_free(d->predicted_sha1);
    proto_free(d->predicted_cn);
    proto_free(d->snapshot_json);
    proto_free(d);
}

/* The latest snapshot's bytes: stored on their own (column snapshot_col), or, for a host last
 * written by schema version 1, the "snapshot" member of the whole stored body (body_col),
 * located without parsing. Leaves d->snapshot_json NULL when neither is there. */
static enum proto_rc qry_snapshot_of(sqlite3_stmt *stmt, int body_col, int snapshot_col,
                                     struct col_host_detail *d)
{
    const char *text = sqlite3_column_blob(stmt, snapshot_col);
    int len = sqlite3_column_bytes(stmt, snapshot_col);
    size_t off = 0;
    size_t span = len > 0 ? (size_t)len : 0;
    if (text == NULL || len <= 0) {
        text = sqlite3_column_blob(stmt, body_col);
        len = sqlite3_column_bytes(stmt, body_col);
        if (text == NULL || len <= 0 ||
            proto_json_member_span(text, (size_t)len, "snapshot", &off, &span) != PROTO_OK) {
            return PROTO_OK;
        }
    }
    d->snapshot_json = proto_strndup(text + off, span);
    if (d->snapshot_json == NULL) {
        return PROTO_ENOMEM;
    }
    d->snapshot_len = span;
    return PROTO_OK;
}

static enum proto_rc qry_host_row(sqlite3_stmt *stmt, struct col_host_detail *d)
{
    if (!qry_text(stmt, 1, &d->fqdn) || !qry_text(stmt, 2, &d->hostname) ||
        !qry_text(stmt, 3, &d->os) || !qry_text(stmt, 4, &d->agent_version) ||
        !qry_text(stmt, 8, &d->last_report_id) || !qry_text(stmt, 12, &d->predicted_sha1) ||
        !qry_text(stmt, 13, &d->predicted_cn)) {
        return PROTO_ENOMEM;
    }
    d->first_seen = sqlite3_column_int64(stmt, 5);
    d->last_seen = sqlite3_column_int64(stmt, 6);
    d->collected_at = sqlite3_column_int64(stmt, 7);
    d->last_seq = sqlite3_column_int64(stmt, 9);
    d->has_prohibit_ipsec = sqlite3_column_type(stmt, 10) != SQLITE_NULL;
    d->prohibit_ipsec = sqlite3_column_int64(stmt, 10);
    d->automatic_policy = sqlite3_column_int(stmt, 11) != 0;
    d->max_severity = qry_severity(stmt, 14);
    d->finding_count = sqlite3_column_int64(stmt, 15);
    d->spool_dropped = sqlite3_column_int64(stmt, 18);
    d->spool_quarantined = sqlite3_column_int64(stmt, 19);
    return qry_snapshot_of(stmt, 16, 17, d);
}

static enum proto_rc qry_host_findings(sqlite3 *db, sqlite3_int64 host_id,
                                       struct col_host_detail *d)
{
    enum proto_rc result = PROTO_OK;
    sqlite3_stmt *stmt = NULL;
    size_t cap = 0;
    int rc = sqlite3_prepare_v2(db, COL_SQL_HOST_FINDINGS, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(stmt, 1, host_id);
    }
    while (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (d->finding_rows >= COL_TABLE_MAX_ROWS) {
            result = PROTO_ELIMIT;
            goto out;
        }
        if (!qry_grow((void **)&d->findings, sizeof(*d->findings), d->finding_rows, &cap)) {
            result = PROTO_ENOMEM;
            goto out;
        }
        /* Counted before it is filled, so that destroy frees what was copied on a failure. */
        struct col_host_finding *f = &d->findings[d->finding_rows++];
        if (!qry_text(stmt, 0, &f->id) || !qry_text(stmt, 2, &f->message) ||
            !qry_text(stmt, 3, &f->certs_json) || !qry_text(stmt, 4, &f->rules_json)) {
            result = PROTO_ENOMEM;
            goto out;
        }
        f->severity = qry_severity(stmt, 1);
        f->first_seen = sqlite3_column_int64(stmt, 5);
        f->last_seen = sqlite3_column_int64(stmt, 6);
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_DONE) {
        result = qry_step_rc(rc);
    }
out:
    sqlite3_finalize(stmt);
    return result;
}

static enum proto_rc qry_host_history(sqlite3 *db, sqlite3_int64 host_id, struct col_host_detail *d)
{
    enum proto_rc result = PROTO_OK;
    sqlite3_stmt *stmt = NULL;
    size_t cap = 0;
    int rc = sqlite3_prepare_v2(db, COL_SQL_HOST_HISTORY, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(stmt, 1, host_id);
        sqlite3_bind_int(stmt, 2, COL_HOST_HISTORY_MAX);
    }
    while (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (!qry_grow((void **)&d->history, sizeof(*d->history), d->history_rows, &cap)) {
            result = PROTO_ENOMEM;
            goto out;
        }
        struct col_host_history *h = &d->history[d->history_rows++];
        if (!qry_text(stmt, 0, &h->id) || !qry_text(stmt, 1, &h->key)) {
            result = PROTO_ENOMEM;
            goto out;
        }
        h->severity = qry_severity(stmt, 2);
        h->first_seen = sqlite3_column_int64(stmt, 3);
        h->last_seen = sqlite3_column_int64(stmt, 4);
        h->resolved = sqlite3_column_type(stmt, 5) != SQLITE_NULL;
        h->resolved_at = h->resolved ? sqlite3_column_int64(stmt, 5) : 0;
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_DONE) {
        result = qry_step_rc(rc);
    }
out:
    sqlite3_finalize(stmt);
    return result;
}

static enum proto_rc qry_host_detail(sqlite3 *db, const char *fqdn, struct col_host_detail *d)
{
    sqlite3_stmt *stmt = NULL;
    enum proto_rc result = PROTO_OK;
    sqlite3_int64 host_id = 0;
    int rc = sqlite3_prepare_v2(db, COL_SQL_HOST_DETAIL, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, fqdn, -1, SQLITE_STATIC);
        rc = sqlite3_step(stmt);
    }
    if (rc == SQLITE_DONE) {
        result = PROTO_ENOTFOUND;
        goto out;
    }
    if (rc != SQLITE_ROW) {
        result = qry_step_rc(rc);
        goto out;
    }
    host_id = sqlite3_column_int64(stmt, 0);
    result = qry_host_row(stmt, d);
    sqlite3_finalize(stmt);
    stmt = NULL;
    if (!result) {
        result = qry_host_findings(db, host_id, d);
    }
    if (!result) {
        result = qry_host_history(db, host_id, d);
    }
out:
    sqlite3_finalize(stmt);
    return result;
}

enum proto_rc col_store_host_detail(struct col_store *st, const char *fqdn,
                                    struct col_host_detail **out)
{
    if (st == NULL || fqdn == NULL || out == NULL) {
        return PROTO_EINVAL;
    }
    *out = NULL;
    if (fqdn[0] == '\0' || strlen(fqdn) > PROTO_MAX_NAME) {
        return PROTO_ENOTFOUND;
    }
    struct col_host_detail *d = proto_calloc(1, sizeof(*d));
    if (d == NULL) {
        return PROTO_ENOMEM;
    }
    sqlite3 *db = col_store_reader_acquire(st);
    enum proto_rc result = qry_read_tx(db, true);
    if (!result) {
        result = qry_host_detail(db, fqdn, d);
        qry_read_tx(db, false);
    }
    col_store_reader_release(st, db);
    if (result) {
        col_store_host_detail_destroy(d);
        return result;
    }
    *out = d;
    return PROTO_OK;
}
