/* Unit tests of collector/store: ingest, latest state, findings history, queries, tokens, audit,
 * retention. Reports are built from the capture-bundle fixtures, diagnosed with the fixture
 * policy and encoded, as the collector would receive them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "alloc.h"
#include "bundle.h"
#include "clock.h"
#include "diagnose.h"
#include "facts.h"
#include "json.h"
#include "store.h"
#include "testutil.h"

#define NOW 1795564800 /* 2026-11-25T00:00:00Z, the fixtures' policy time */
#define DAY 86400
#define CORP_CA "DC=com, DC=contoso, DC=corp, CN=corp-DC1-CA"

#define HOST_A "rras-a.corp.contoso.com" /* kb-787-wildcard-first */
#define HOST_B "rras-b.corp.contoso.com" /* resolution1-single-cert */
#define HOST_C "vpn_c.example.org"       /* expiring-l2tp-cert */
#define HOST_D "vpnxc.example.org"       /* no-eligible-cert */
#define WILDCARD_SHA1 "6EFF9D7853FB6EDF9A1A232817DB34DA9334F296"

struct fx {
    char dir[64];
    char db[128];
    struct col_store *st;
};

/* ---- helpers ------------------------------------------------------------------------------ */

static void make_report(struct testutil_report *m, const char *bundle, const char *fqdn,
                        uint64_t seq, int64_t collected_at)
{
    testutil_report_make(m, bundle, fqdn, seq, collected_at, NOW);
}

static enum proto_rc ingest_one(struct col_store *st, const struct testutil_report *m,
                                int64_t received_at, bool *dup)
{
    struct col_ingest in = {m->body, m->len, m->rep, m->diag, received_at, NULL};
    struct col_ingest_facts facts;
    bool local = false;
    enum proto_rc rc = col_ingest_facts_compute(&in, &facts);
    if (rc) {
        return rc;
    }
    in.facts = &facts;
    rc = col_store_begin(st);
    if (!rc) {
        rc = col_store_ingest(st, &in, dup != NULL ? dup : &local);
        if (rc) {
            col_store_rollback(st);
        } else {
            rc = col_store_commit(st);
        }
    }
    col_ingest_facts_release(&facts);
    return rc;
}

/* The detail's snapshot bytes parsed (caller deletes), or NULL. */
static cJSON *parse_snapshot(const struct col_host_detail *d)
{
    return d->snapshot_json != NULL ? cJSON_ParseWithLength(d->snapshot_json, d->snapshot_len)
                                    : NULL;
}

/* Hosts counted for finding `id` in the summary; -1 when it is not listed. */
static int64_t summary_finding_hosts(const struct col_summary *s, const char *id)
{
    for (size_t i = 0; i < s->by_finding_count; i++) {
        if (strcmp(s->by_finding[i].id, id) == 0) {
            return s->by_finding[i].hosts;
        }
    }
    return -1;
}

/* Builds, ingests and frees one report. */
static void put(struct col_store *st, const char *bundle, const char *fqdn, uint64_t seq,
                int64_t collected_at, int64_t received_at)
{
    struct testutil_report m;
    make_report(&m, bundle, fqdn, seq, collected_at);
    bool dup = true;
    assert_int_equal(ingest_one(st, &m, received_at, &dup), PROTO_OK);
    assert_false(dup);
    testutil_report_free(&m);
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char err[256];
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof(f->db), "%s/collector.db", f->dir);
    assert_int_equal(col_store_open(f->db, &f->st, err, sizeof(err)), PROTO_OK);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    col_store_close(f->st);
    testutil_remove_flat_dir(f->dir);
    free(f);
    return 0;
}

static struct col_query query(void)
{
    struct col_query q = {0};
    q.min_severity = -1;
    q.expiring_within_days = -1;
    q.limit = 100;
    q.now = NOW;
    return q;
}

static const char *cell(const struct col_table *t, size_t row, const char *col)
{
    assert_true(row < t->nrows);
    for (size_t c = 0; c < t->ncols; c++) {
        if (strcmp(t->columns[c].name, col) == 0) {
            return t->cells[row * t->ncols + c];
        }
    }
    fail_msg("no column %s", col);
    return NULL;
}

/* True when some row's `col` equals `value`. */
static bool has_row(const struct col_table *t, const char *col, const char *value)
{
    for (size_t r = 0; r < t->nrows; r++) {
        const char *v = cell(t, r, col);
        if (v != NULL && strcmp(v, value) == 0) {
            return true;
        }
    }
    return false;
}

static struct col_table *hosts(struct col_store *st, const struct col_query *q)
{
    struct col_table *t = NULL;
    assert_int_equal(col_store_query_hosts(st, q, &t), PROTO_OK);
    return t;
}

static struct col_table *certs(struct col_store *st, const struct col_query *q)
{
    struct col_table *t = NULL;
    assert_int_equal(col_store_query_certs(st, q, &t), PROTO_OK);
    return t;
}

/* The four hosts the query tests use, each last seen a day apart. */
static void put_fleet(struct col_store *st)
{
    put(st, "kb-787-wildcard-first", HOST_A, 1, NOW - 3 * DAY, NOW - 3 * DAY);
    put(st, "resolution1-single-cert", HOST_B, 1, NOW - 2 * DAY, NOW - 2 * DAY);
    put(st, "expiring-l2tp-cert", HOST_C, 1, NOW - DAY, NOW - DAY);
    put(st, "no-eligible-cert", HOST_D, 1, NOW, NOW);
}

/* ---- ingest ------------------------------------------------------------------------------- */

static void test_ingest_stores_latest_state_of_a_host(void **state)
{
    struct fx *f = *state;
    put(f->st, "kb-787-wildcard-first", HOST_A, 1, NOW - DAY, NOW);
    struct col_query q = query();
    struct col_table *t = hosts(f->st, &q);
    assert_int_equal(t->nrows, 1);
    assert_int_equal(t->total, 1);
    assert_string_equal(cell(t, 0, "fqdn"), HOST_A);
    assert_string_equal(cell(t, 0, "hostname"), "RRAS01");
    assert_string_equal(cell(t, 0, "predicted_cn"), "*.contoso.com");
    assert_string_equal(cell(t, 0, "max_severity"), "high");
    assert_string_equal(cell(t, 0, "finding_count"), "3");
    assert_string_equal(cell(t, 0, "findings"),
                        "L2TP_CERT_AMBIGUOUS,L2TP_CERT_WILDCARD,L2TP_CERT_WRONG_CA");
    assert_null(cell(t, 0, "prohibit_ipsec"));
    char now_text[32];
    snprintf(now_text, sizeof(now_text), "%d", NOW);
    assert_string_equal(cell(t, 0, "last_seen"), now_text);
    col_table_destroy(t);

    t = certs(f->st, &q);
    assert_int_equal(t->nrows, 2);
    assert_string_equal(cell(t, 0, "sha1"), WILDCARD_SHA1);
    assert_string_equal(cell(t, 0, "predicted"), "1");
    assert_string_equal(cell(t, 0, "eligible"), "1");
    assert_string_equal(cell(t, 0, "wildcard"), "1");
    assert_string_equal(cell(t, 0, "issuer_cn"), "Example Public TLS RSA CA G1");
    assert_string_equal(cell(t, 1, "subject_cn"), "vpn.contoso.com");
    assert_string_equal(cell(t, 1, "predicted"), "0");
    assert_string_equal(cell(t, 1, "issuer"), "CN=corp-DC1-CA, DC=corp, DC=contoso, DC=com");
    col_table_destroy(t);

    int64_t n = 0;
    assert_int_equal(col_store_count_reports(f->st, &n), PROTO_OK);
    assert_int_equal(n, 1);
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM snapshots"), 1);
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM findings"), 3);
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM finding_history"), 3);
}

static void test_repeated_report_id_is_a_duplicate_and_adds_no_row(void **state)
{
    struct fx *f = *state;
    struct testutil_report m;
    bool dup = true;
    make_report(&m, "kb-787-wildcard-first", HOST_A, 1, NOW - DAY);
    assert_int_equal(ingest_one(f->st, &m, NOW, &dup), PROTO_OK);
    assert_false(dup);
    assert_int_equal(ingest_one(f->st, &m, NOW + 60, &dup), PROTO_OK);
    assert_true(dup);
    testutil_report_free(&m);
    int64_t n = 0;
    assert_int_equal(col_store_count_reports(f->st, &n), PROTO_OK);
    assert_int_equal(n, 1);
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM snapshots"), 1);
    /* The duplicate did not even refresh last_seen. */
    assert_int_equal(testutil_sql_int(f->db, "SELECT last_seen FROM hosts"), NOW);
}

static void test_newer_report_replaces_certs_rules_and_findings(void **state)
{
    struct fx *f = *state;
    put(f->st, "kb-787-wildcard-first", HOST_A, 1, NOW - 2 * DAY, NOW - 2 * DAY);
    put(f->st, "resolution1-single-cert", HOST_A, 2, NOW - DAY, NOW - DAY);
    struct col_query q = query();
    struct col_table *t = hosts(f->st, &q);
    assert_int_equal(t->nrows, 1);
    assert_string_equal(cell(t, 0, "predicted_cn"), "vpn.contoso.com");
    assert_string_equal(cell(t, 0, "finding_count"), "0");
    assert_null(cell(t, 0, "max_severity"));
    assert_null(cell(t, 0, "findings"));
    col_table_destroy(t);
    t = certs(f->st, &q);
    assert_int_equal(t->nrows, 1);
    assert_string_equal(cell(t, 0, "subject_cn"), "vpn.contoso.com");
    col_table_destroy(t);
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM findings"), 0);
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM reports"), 2);
}

static void test_older_report_is_stored_but_keeps_the_latest_state(void **state)
{
    struct fx *f = *state;
    put(f->st, "resolution1-single-cert", HOST_A, 7, NOW - DAY, NOW - DAY);
    /* Arrives later, collected earlier with a lower seq: kept as history only. */
    put(f->st, "kb-787-wildcard-first", HOST_A, 6, NOW - 2 * DAY, NOW);
    struct col_query q = query();
    struct col_table *t = hosts(f->st, &q);
    assert_int_equal(t->nrows, 1);
    assert_string_equal(cell(t, 0, "predicted_cn"), "vpn.contoso.com");
    assert_string_equal(cell(t, 0, "finding_count"), "0");
    char now_text[32];
    snprintf(now_text, sizeof(now_text), "%d", NOW);
    assert_string_equal(cell(t, 0, "last_seen"), now_text);
    col_table_destroy(t);
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM reports"), 2);
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM certs"), 1);
    assert_int_equal(testutil_sql_int(f->db, "SELECT last_seq FROM hosts"), 7);
}

static void test_reinstalled_agent_with_lower_seq_but_newer_collection_wins(void **state)
{
    struct fx *f = *state;
    put(f->st, "resolution1-single-cert", HOST_A, 500, NOW - 2 * DAY, NOW - 2 * DAY);
    put(f->st, "kb-787-wildcard-first", HOST_A, 1, NOW - DAY, NOW - DAY);
    assert_int_equal(testutil_sql_int(f->db, "SELECT finding_count FROM hosts"), 3);
    assert_int_equal(testutil_sql_int(f->db, "SELECT last_seq FROM hosts"), 1);
}

/* 9999-12-31T00:00:00Z: a report from a host whose clock (or agent) went wrong. */
#define YEAR_9999 253402214400LL

static void test_a_future_collected_at_does_not_freeze_the_host(void **state)
{
    struct fx *f = *state;
    put(f->st, "kb-787-wildcard-first", HOST_A, 1, YEAR_9999, NOW - DAY);
    /* The next report by seq is the latest state, whatever the previous one claimed. */
    put(f->st, "resolution1-single-cert", HOST_A, 2, NOW, NOW);
    assert_int_equal(testutil_sql_int(f->db, "SELECT last_seq FROM hosts"), 2);
    assert_int_equal(testutil_sql_int(f->db, "SELECT finding_count FROM hosts"), 0);
    assert_int_equal(testutil_sql_int(f->db, "SELECT collected_at FROM hosts"), NOW);
    put(f->st, "kb-787-wildcard-first", HOST_A, 3, NOW + 60, NOW + 60);
    assert_int_equal(testutil_sql_int(f->db, "SELECT last_seq FROM hosts"), 3);
    assert_int_equal(testutil_sql_int(f->db, "SELECT finding_count FROM hosts"), 3);
}

static void test_a_higher_seq_wins_even_when_collected_earlier(void **state)
{
    struct fx *f = *state;
    /* The agent's clock stepped back between two collections: seq says which came later. */
    put(f->st, "kb-787-wildcard-first", HOST_A, 1, NOW, NOW);
    put(f->st, "resolution1-single-cert", HOST_A, 2, NOW - DAY, NOW + 60);
    assert_int_equal(testutil_sql_int(f->db, "SELECT last_seq FROM hosts"), 2);
    assert_int_equal(testutil_sql_int(f->db, "SELECT finding_count FROM hosts"), 0);
}

static void test_report_id_of_another_host_is_a_conflict_not_a_duplicate(void **state)
{
    struct fx *f = *state;
    struct testutil_report a;
    struct testutil_report b;
    bool dup = true;
    make_report(&a, "kb-787-wildcard-first", HOST_A, 1, NOW);
    make_report(&b, "resolution1-single-cert", HOST_B, 1, NOW);
    assert_int_equal(ingest_one(f->st, &a, NOW, &dup), PROTO_OK);
    assert_false(dup);
    /* Host B reuses host A's report_id: neither acknowledged nor stored. */
    memcpy(b.rep->report_id, a.rep->report_id, sizeof(b.rep->report_id));
    dup = true;
    assert_int_equal(ingest_one(f->st, &b, NOW + 1, &dup), PROTO_ECONFLICT);
    assert_false(dup);
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM hosts"), 1);
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM reports"), 1);
    /* Host A's own resend is still a duplicate, whatever the case of its name. */
    testutil_report_free(&b);
    make_report(&b, "kb-787-wildcard-first", "RRAS-A.corp.contoso.com", 1, NOW);
    memcpy(b.rep->report_id, a.rep->report_id, sizeof(b.rep->report_id));
    assert_int_equal(ingest_one(f->st, &b, NOW + 2, &dup), PROTO_OK);
    assert_true(dup);
    testutil_report_free(&a);
    testutil_report_free(&b);
}

static void test_persisting_finding_keeps_first_seen_and_vanished_one_is_resolved(void **state)
{
    struct fx *f = *state;
    put(f->st, "kb-787-wildcard-first", HOST_A, 1, NOW - 3 * DAY, NOW - 3 * DAY);
    put(f->st, "kb-787-wildcard-first", HOST_A, 2, NOW - 2 * DAY, NOW - 2 * DAY);

    struct col_host_detail *d = NULL;
    assert_int_equal(col_store_host_detail(f->st, HOST_A, &d), PROTO_OK);
    assert_int_equal(d->finding_rows, 3);
    assert_int_equal(d->findings[0].first_seen, NOW - 3 * DAY);
    assert_int_equal(d->findings[0].last_seen, NOW - 2 * DAY);
    assert_int_equal(d->history_rows, 3);
    col_store_host_detail_destroy(d);

    /* Fixed: every finding closes in the history with the time of the report that shows it. */
    put(f->st, "resolution1-single-cert", HOST_A, 3, NOW - DAY, NOW - DAY);
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM findings"), 0);
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM finding_history"), 3);
    assert_int_equal(
        testutil_sql_int(f->db, "SELECT count(*) FROM finding_history WHERE resolved_at IS NULL"),
        0);
    assert_int_equal(testutil_sql_int(f->db, "SELECT min(resolved_at) FROM finding_history"),
                     NOW - DAY);
    assert_int_equal(testutil_sql_int(f->db, "SELECT min(first_seen) FROM finding_history"),
                     NOW - 3 * DAY);
    assert_int_equal(testutil_sql_int(f->db, "SELECT max(last_seen) FROM finding_history"),
                     NOW - 2 * DAY);

    /* Broken again: a new history row opens, the resolved ones stay. */
    put(f->st, "kb-787-wildcard-first", HOST_A, 4, NOW, NOW);
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM finding_history"), 6);
    assert_int_equal(
        testutil_sql_int(f->db, "SELECT count(*) FROM finding_history WHERE resolved_at IS NULL"),
        3);
    assert_int_equal(testutil_sql_int(f->db, "SELECT min(first_seen) FROM findings"), NOW);
}

static void test_finding_keys_name_id_certs_and_rules(void **state)
{
    struct fx *f = *state;
    put(f->st, "kb-787-wildcard-first", HOST_A, 1, NOW, NOW);
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM findings WHERE finding_key = "
                                             "'L2TP_CERT_WILDCARD|" WILDCARD_SHA1 "|'"),
                     1);
    assert_int_equal(
        testutil_sql_int(f->db,
                         "SELECT count(*) FROM findings f, json_each(f.certs) j WHERE "
                         "f.finding_id = 'L2TP_CERT_WILDCARD' AND j.value = '" WILDCARD_SHA1 "'"),
        1);
}

static void test_failed_ingest_leaves_the_rest_of_the_batch_intact(void **state)
{
    struct fx *f = *state;
    struct testutil_report a;
    struct testutil_report bad;
    struct testutil_report b;
    bool dup = false;
    make_report(&a, "kb-787-wildcard-first", HOST_A, 1, NOW);
    make_report(&bad, "resolution1-single-cert", "", 1, NOW);
    make_report(&b, "resolution1-single-cert", HOST_B, 1, NOW);
    struct col_ingest ia = {a.body, a.len, a.rep, a.diag, NOW, NULL};
    struct col_ingest ibad = {bad.body, bad.len, bad.rep, bad.diag, NOW, NULL};
    struct col_ingest ib = {b.body, b.len, b.rep, b.diag, NOW, NULL};
    struct col_ingest_facts fa, fbad, fb;
    assert_int_equal(col_ingest_facts_compute(&ia, &fa), PROTO_OK);
    assert_int_equal(col_ingest_facts_compute(&ibad, &fbad), PROTO_OK);
    assert_int_equal(col_ingest_facts_compute(&ib, &fb), PROTO_OK);
    ia.facts = &fa;
    ibad.facts = &fbad;
    ib.facts = &fb;
    assert_int_equal(col_store_ingest(f->st, &ia, &dup), PROTO_EINVAL); /* no transaction */
    assert_int_equal(col_store_begin(f->st), PROTO_OK);
    assert_int_equal(col_store_ingest(f->st, &ia, &dup), PROTO_OK);
    assert_int_equal(col_store_ingest(f->st, &ibad, &dup), PROTO_EINVAL);
    assert_int_equal(col_store_ingest(f->st, &ib, &dup), PROTO_OK);
    assert_int_equal(col_store_commit(f->st), PROTO_OK);
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM hosts"), 2);
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM reports"), 2);

    /* A rolled-back batch stores nothing. */
    col_ingest_facts_release(&fa);
    testutil_report_free(&a);
    make_report(&a, "kb-787-wildcard-first", "rras-z.corp.contoso.com", 1, NOW);
    ia.body = a.body;
    ia.body_len = a.len;
    ia.report = a.rep;
    ia.diagnosis = a.diag;
    ia.facts = NULL;
    assert_int_equal(col_ingest_facts_compute(&ia, &fa), PROTO_OK);
    ia.facts = &fa;
    assert_int_equal(col_store_begin(f->st), PROTO_OK);
    assert_int_equal(col_store_ingest(f->st, &ia, &dup), PROTO_OK);
    col_store_rollback(f->st);
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM hosts"), 2);
    testutil_report_free(&a);
    testutil_report_free(&bad);
    testutil_report_free(&b);
    col_ingest_facts_release(&fa);
    col_ingest_facts_release(&fbad);
    col_ingest_facts_release(&fb);
}

static void test_host_names_are_case_insensitive(void **state)
{
    struct fx *f = *state;
    put(f->st, "kb-787-wildcard-first", "RRAS-A.corp.contoso.com", 1, NOW - DAY, NOW - DAY);
    put(f->st, "kb-787-wildcard-first", HOST_A, 2, NOW, NOW);
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM hosts"), 1);
    struct col_host_detail *d = NULL;
    assert_int_equal(col_store_host_detail(f->st, "Rras-A.Corp.Contoso.Com", &d), PROTO_OK);
    assert_string_equal(d->fqdn, HOST_A);
    col_store_host_detail_destroy(d);
}

/* ---- snapshot dedup and the unchanged-report path (decision 005) ------------------------- */

static void sql_exec(const char *db_path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* Counts every row the latest-state tables lose, so a test can tell a rewrite from a touch. */
static void count_latest_state_rewrites(const char *db_path)
{
    sql_exec(db_path, "CREATE TABLE t_rewrites (what TEXT);"
                      "CREATE TRIGGER t_certs AFTER DELETE ON certs BEGIN "
                      "INSERT INTO t_rewrites VALUES ('certs'); END;"
                      "CREATE TRIGGER t_rules AFTER DELETE ON rules BEGIN "
                      "INSERT INTO t_rewrites VALUES ('rules'); END;"
                      "CREATE TRIGGER t_findings AFTER UPDATE ON findings BEGIN "
                      "INSERT INTO t_rewrites VALUES ('findings'); END;"
                      "CREATE TRIGGER t_history AFTER UPDATE ON finding_history BEGIN "
                      "INSERT INTO t_rewrites VALUES ('history'); END;");
}

/* The diagnosis the collector would make of the same snapshot at another time. */
static void rediagnose(struct testutil_report *m, int64_t now)
{
    struct proto_policy policy = {0};
    proto_diagnosis_destroy(m->diag);
    m->diag = NULL;
    policy.has_expected_ca = true;
    assert_int_equal(proto_dn_parse(CORP_CA, &policy.expected_ca), PROTO_OK);
    policy.now = now;
    policy.expiry_days = 30;
    assert_int_equal(proto_diagnose(m->rep->snapshot, &policy, &m->diag), PROTO_OK);
    proto_policy_clear(&policy);
}

static void test_unchanged_snapshot_is_stored_once_and_only_moves_times(void **state)
{
    struct fx *f = *state;
    put(f->st, "kb-787-wildcard-first", HOST_A, 1, NOW - DAY, NOW - DAY);
    count_latest_state_rewrites(f->db);
    struct testutil_report m;
    make_report(&m, "kb-787-wildcard-first", HOST_A, 2, NOW);
    bool dup = true;
    assert_int_equal(ingest_one(f->st, &m, NOW, &dup), PROTO_OK);
    assert_false(dup);

    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM reports"), 2);
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM snapshots"), 1);
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM t_rewrites"), 0);
    /* The envelope moved on ... */
    assert_int_equal(testutil_sql_int(f->db, "SELECT last_seq FROM hosts"), 2);
    assert_int_equal(testutil_sql_int(f->db, "SELECT collected_at FROM hosts"), NOW);
    assert_int_equal(testutil_sql_int(f->db, "SELECT last_seen FROM hosts"), NOW);
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM hosts WHERE last_report_id = '%s'",
             m.rep->report_id);
    assert_int_equal(testutil_sql_int(f->db, sql), 1);
    /* ... the findings were seen again (no row written: they follow the host's latest report),
     * and still date from the first report. */
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM findings"), 3);
    assert_int_equal(testutil_sql_int(f->db, "SELECT max(first_seen) FROM findings"), NOW - DAY);
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM certs"), 2);
    struct col_host_detail *d = NULL;
    assert_int_equal(col_store_host_detail(f->st, HOST_A, &d), PROTO_OK);
    assert_int_equal(d->finding_rows, 3);
    assert_int_equal(d->history_rows, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(d->findings[i].first_seen, NOW - DAY);
        assert_int_equal(d->findings[i].last_seen, NOW);
        assert_int_equal(d->history[i].first_seen, NOW - DAY);
        assert_int_equal(d->history[i].last_seen, NOW);
    }
    col_store_host_detail_destroy(d);
    testutil_report_free(&m);
}

static void test_same_snapshot_with_another_diagnosis_rewrites_the_latest_state(void **state)
{
    struct fx *f = *state;
    put(f->st, "kb-787-wildcard-first", HOST_A, 1, NOW - DAY, NOW - DAY);
    count_latest_state_rewrites(f->db);
    struct testutil_report m;
    make_report(&m, "kb-787-wildcard-first", HOST_A, 2, NOW);
    rediagnose(&m, NOW + 3650 * (int64_t)DAY); /* ten years on: every certificate expired */
    assert_int_equal(ingest_one(f->st, &m, NOW, NULL), PROTO_OK);
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM snapshots"), 1);
    assert_true(testutil_sql_int(f->db, "SELECT count(*) FROM t_rewrites WHERE what = 'certs'") >
                0);
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM findings"),
                     (int64_t)m.diag->finding_count);
    assert_true(testutil_sql_int(f->db, "SELECT count(*) FROM t_rewrites WHERE what = 'findings'") >
                0);
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM certs WHERE eligible = 1"), 0);
    testutil_report_free(&m);
}

static void test_envelope_and_snapshot_rebuild_the_body_exactly(void **state)
{
    struct fx *f = *state;
    struct testutil_report m;
    make_report(&m, "kb-787-wildcard-first", HOST_A, 1, NOW);
    assert_int_equal(ingest_one(f->st, &m, NOW, NULL), PROTO_OK);
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT r.envelope, r.snapshot_offset, s.body, s.size "
                                        "FROM reports r JOIN snapshots s ON s.hash = "
                                        "r.snapshot_hash",
                                        -1, &stmt, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    const char *env = sqlite3_column_blob(stmt, 0);
    size_t env_len = (size_t)sqlite3_column_bytes(stmt, 0);
    size_t off = (size_t)sqlite3_column_int64(stmt, 1);
    const char *snap = sqlite3_column_blob(stmt, 2);
    size_t snap_len = (size_t)sqlite3_column_bytes(stmt, 2);
    assert_int_equal(sqlite3_column_int64(stmt, 3), (int64_t)snap_len);
    assert_int_equal(env_len + snap_len, m.len);
    assert_true(env_len < 1024); /* the envelope is small; the snapshot is the bulk */
    assert_true(off <= env_len);
    assert_memory_equal(m.body, env, off);
    assert_memory_equal(m.body + off, snap, snap_len);
    assert_memory_equal(m.body + off + snap_len, env + off, env_len - off);
    assert_int_equal(snap[0], '{');
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    testutil_report_free(&m);
}

static void test_snapshot_behind_an_escaped_key_is_stored_reprinted(void **state)
{
    struct fx *f = *state;
    struct testutil_report m;
    make_report(&m, "kb-787-wildcard-first", HOST_A, 1, NOW);
    /* "\u0073napshot" is "snapshot" to a JSON reader but not byte for byte. */
    const char *key = strstr(m.body, "\"snapshot\":");
    assert_non_null(key);
    size_t at = (size_t)(key - m.body);
    size_t len = m.len + 5;
    char *body = proto_malloc(len + 1);
    assert_non_null(body);
    memcpy(body, m.body, at);
    memcpy(body + at, "\"\\u0073", 7);
    memcpy(body + at + 7, key + 2, m.len - at - 2);
    body[len] = '\0';
    struct col_ingest in = {body, len, m.rep, m.diag, NOW, NULL};
    struct col_ingest_facts facts;
    assert_int_equal(col_ingest_facts_compute(&in, &facts), PROTO_OK);
    in.facts = &facts;
    bool dup = true;
    assert_int_equal(col_store_begin(f->st), PROTO_OK);
    assert_int_equal(col_store_ingest(f->st, &in, &dup), PROTO_OK);
    assert_int_equal(col_store_commit(f->st), PROTO_OK);
    col_ingest_facts_release(&facts);
    /* The whole body is the envelope, and the snapshot is still there to be shown. */
    assert_int_equal(testutil_sql_int(f->db, "SELECT snapshot_offset IS NULL FROM reports"), 1);
    assert_int_equal(testutil_sql_int(f->db, "SELECT length(envelope) FROM reports"), (int64_t)len);
    struct col_host_detail *d = NULL;
    assert_int_equal(col_store_host_detail(f->st, HOST_A, &d), PROTO_OK);
    cJSON *snap = parse_snapshot(d);
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(snap, "certs")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(snap, "certs")), 2);
    cJSON_Delete(snap);
    col_store_host_detail_destroy(d);
    proto_free(body);
    testutil_report_free(&m);
}

static void test_spool_losses_are_kept_per_report_and_summed_per_host(void **state)
{
    struct fx *f = *state;
    struct testutil_report m;
    make_report(&m, "kb-787-wildcard-first", HOST_A, 1, NOW - DAY);
    m.rep->spool_dropped = 4;
    m.rep->spool_quarantined = 1;
    assert_int_equal(ingest_one(f->st, &m, NOW - DAY, NULL), PROTO_OK);
    testutil_report_free(&m);
    make_report(&m, "kb-787-wildcard-first", HOST_A, 2, NOW);
    m.rep->spool_dropped = 2;
    assert_int_equal(ingest_one(f->st, &m, NOW, NULL), PROTO_OK);
    testutil_report_free(&m);
    assert_int_equal(testutil_sql_int(f->db, "SELECT sum(spool_dropped) FROM reports"), 6);
    struct col_host_detail *d = NULL;
    assert_int_equal(col_store_host_detail(f->st, HOST_A, &d), PROTO_OK);
    assert_int_equal(d->spool_dropped, 6);
    assert_int_equal(d->spool_quarantined, 1);
    col_store_host_detail_destroy(d);
}

/* ---- queries ------------------------------------------------------------------------------ */

static void test_host_filter_by_finding(void **state)
{
    struct fx *f = *state;
    put_fleet(f->st);
    struct col_query q = query();
    q.finding = "L2TP_CERT_WILDCARD";
    struct col_table *t = hosts(f->st, &q);
    assert_int_equal(t->nrows, 1);
    assert_int_equal(t->total, 1);
    assert_string_equal(cell(t, 0, "fqdn"), HOST_A);
    col_table_destroy(t);
}

static void test_host_filter_by_minimum_severity(void **state)
{
    struct fx *f = *state;
    put_fleet(f->st);
    struct col_query q = query();
    q.min_severity = PROTO_SEV_HIGH;
    struct col_table *t = hosts(f->st, &q);
    assert_int_equal(t->nrows, 2);
    assert_true(has_row(t, "fqdn", HOST_A));
    assert_true(has_row(t, "fqdn", HOST_D));
    assert_true(has_row(t, "max_severity", "critical"));
    col_table_destroy(t);
}

static void test_host_filter_by_name_pattern_treats_underscore_literally(void **state)
{
    struct fx *f = *state;
    put_fleet(f->st);
    struct col_query q = query();
    q.name_pattern = "vpn_*";
    struct col_table *t = hosts(f->st, &q);
    assert_int_equal(t->nrows, 1);
    assert_string_equal(cell(t, 0, "fqdn"), HOST_C);
    col_table_destroy(t);

    q.name_pattern = "RRAS-*";
    t = hosts(f->st, &q);
    assert_int_equal(t->nrows, 2);
    assert_true(has_row(t, "fqdn", HOST_A));
    assert_true(has_row(t, "fqdn", HOST_B));
    col_table_destroy(t);

    q.name_pattern = "%";
    t = hosts(f->st, &q);
    assert_int_equal(t->nrows, 0);
    col_table_destroy(t);
}

static void test_host_filter_by_expiring_within_days(void **state)
{
    struct fx *f = *state;
    put_fleet(f->st);
    struct col_query q = query();
    q.expiring_within_days = 30;
    struct col_table *t = hosts(f->st, &q);
    /* C's certificate ends 2026-12-10; D's expired one is not "expiring". */
    assert_int_equal(t->nrows, 1);
    assert_string_equal(cell(t, 0, "fqdn"), HOST_C);
    col_table_destroy(t);
    q.expiring_within_days = 10;
    t = hosts(f->st, &q);
    assert_int_equal(t->nrows, 0);
    col_table_destroy(t);
}

static void test_host_filter_by_issuer_substring_ignores_case(void **state)
{
    struct fx *f = *state;
    put_fleet(f->st);
    struct col_query q = query();
    q.issuer = "example PUBLIC tls";
    struct col_table *t = hosts(f->st, &q);
    assert_int_equal(t->nrows, 1);
    assert_string_equal(cell(t, 0, "fqdn"), HOST_A);
    col_table_destroy(t);
    q.issuer = "corp-dc1-ca";
    t = hosts(f->st, &q);
    assert_int_equal(t->nrows, 4);
    col_table_destroy(t);
}

static void test_host_filter_by_last_seen_before(void **state)
{
    struct fx *f = *state;
    put_fleet(f->st);
    struct col_query q = query();
    q.last_seen_before = NOW - DAY;
    struct col_table *t = hosts(f->st, &q);
    assert_int_equal(t->nrows, 2);
    assert_true(has_row(t, "fqdn", HOST_A));
    assert_true(has_row(t, "fqdn", HOST_B));
    col_table_destroy(t);
}

static void test_host_filters_compose(void **state)
{
    struct fx *f = *state;
    put_fleet(f->st);
    struct col_query q = query();
    q.name_pattern = "*.example.org";
    q.min_severity = PROTO_SEV_MEDIUM;
    struct col_table *t = hosts(f->st, &q);
    assert_int_equal(t->nrows, 2);
    col_table_destroy(t);
    q.last_seen_before = NOW;
    t = hosts(f->st, &q);
    assert_int_equal(t->nrows, 1);
    assert_string_equal(cell(t, 0, "fqdn"), HOST_C);
    col_table_destroy(t);
    q.finding = "CERT_EXPIRING";
    q.expiring_within_days = 30;
    q.issuer = "corp";
    t = hosts(f->st, &q);
    assert_int_equal(t->nrows, 1);
    col_table_destroy(t);
    q.finding = "L2TP_CERT_WILDCARD";
    t = hosts(f->st, &q);
    assert_int_equal(t->nrows, 0);
    assert_int_equal(t->total, 0);
    col_table_destroy(t);
}

static void test_cert_filters_select_certificates(void **state)
{
    struct fx *f = *state;
    put_fleet(f->st);
    struct col_query q = query();
    struct col_table *t = certs(f->st, &q);
    assert_int_equal(t->total, 6);
    col_table_destroy(t);

    q.expiring_within_days = 30;
    t = certs(f->st, &q);
    assert_int_equal(t->nrows, 1);
    assert_string_equal(cell(t, 0, "fqdn"), HOST_C);
    assert_string_equal(cell(t, 0, "days_left"), "15");
    col_table_destroy(t);

    q = query();
    q.issuer = "EXAMPLE PUBLIC";
    t = certs(f->st, &q);
    assert_int_equal(t->nrows, 1);
    assert_string_equal(cell(t, 0, "sha1"), WILDCARD_SHA1);
    col_table_destroy(t);

    q = query();
    q.finding = "L2TP_CERT_WILDCARD";
    t = certs(f->st, &q);
    assert_int_equal(t->nrows, 1);
    assert_string_equal(cell(t, 0, "sha1"), WILDCARD_SHA1);
    col_table_destroy(t);

    q = query();
    q.finding = "CERT_EXPIRED";
    t = certs(f->st, &q);
    assert_int_equal(t->nrows, 1);
    assert_string_equal(cell(t, 0, "fqdn"), HOST_D);
    assert_string_equal(cell(t, 0, "subject_cn"), "vpn-2023.contoso.com");
    assert_true(strtol(cell(t, 0, "days_left"), NULL, 10) < 0);
    col_table_destroy(t);

    q = query();
    q.min_severity = PROTO_SEV_HIGH;
    t = certs(f->st, &q);
    assert_true(has_row(t, "sha1", WILDCARD_SHA1));
    assert_false(has_row(t, "fqdn", HOST_B));
    col_table_destroy(t);

    q = query();
    q.name_pattern = "rras-b*";
    t = certs(f->st, &q);
    assert_int_equal(t->nrows, 1);
    col_table_destroy(t);

    q = query();
    q.last_seen_before = NOW - 2 * DAY;
    t = certs(f->st, &q);
    assert_int_equal(t->nrows, 2);
    assert_string_equal(cell(t, 0, "fqdn"), HOST_A);
    col_table_destroy(t);

    q.issuer = "corp";
    t = certs(f->st, &q);
    assert_int_equal(t->nrows, 1);
    assert_string_equal(cell(t, 0, "subject_cn"), "vpn.contoso.com");
    col_table_destroy(t);
}

static void test_sort_column_outside_the_whitelist_is_rejected(void **state)
{
    struct fx *f = *state;
    put_fleet(f->st);
    struct col_query q = query();
    struct col_table *t = NULL;
    q.sort = "fqdn; DROP TABLE hosts";
    assert_int_equal(col_store_query_hosts(f->st, &q, &t), PROTO_EINVAL);
    assert_null(t);
    assert_int_equal(col_store_query_certs(f->st, &q, &t), PROTO_EINVAL);
    q.sort = "h.fqdn";
    assert_int_equal(col_store_query_hosts(f->st, &q, &t), PROTO_EINVAL);
    q.sort = "days_left"; /* a certs column, not a hosts one */
    assert_int_equal(col_store_query_hosts(f->st, &q, &t), PROTO_EINVAL);
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM hosts"), 4);
}

static void test_sort_by_a_result_column_in_either_direction(void **state)
{
    struct fx *f = *state;
    put_fleet(f->st);
    struct col_query q = query();
    q.sort = "last_seen";
    q.descending = true;
    struct col_table *t = hosts(f->st, &q);
    assert_int_equal(t->nrows, 4);
    assert_string_equal(cell(t, 0, "fqdn"), HOST_D);
    assert_string_equal(cell(t, 3, "fqdn"), HOST_A);
    col_table_destroy(t);
    q.sort = "max_severity"; /* by rank, not by name */
    t = hosts(f->st, &q);
    assert_string_equal(cell(t, 0, "max_severity"), "critical");
    assert_string_equal(cell(t, 1, "max_severity"), "high");
    assert_string_equal(cell(t, 2, "max_severity"), "medium");
    col_table_destroy(t);
    q.sort = "days_left";
    q.descending = false;
    t = certs(f->st, &q);
    assert_string_equal(cell(t, 0, "subject_cn"), "vpn-2023.contoso.com");
    col_table_destroy(t);
}

static void test_pagination_reports_the_total_before_limit_and_offset(void **state)
{
    struct fx *f = *state;
    put_fleet(f->st);
    struct col_query q = query();
    q.limit = 3;
    struct col_table *t = hosts(f->st, &q);
    assert_int_equal(t->nrows, 3);
    assert_int_equal(t->total, 4);
    assert_string_equal(cell(t, 0, "fqdn"), HOST_A);
    col_table_destroy(t);
    q.offset = 3;
    t = hosts(f->st, &q);
    assert_int_equal(t->nrows, 1);
    assert_int_equal(t->total, 4);
    assert_string_equal(cell(t, 0, "fqdn"), HOST_D);
    col_table_destroy(t);
    q.offset = 50;
    t = hosts(f->st, &q);
    assert_int_equal(t->nrows, 0);
    assert_int_equal(t->total, 4);
    col_table_destroy(t);
    q.limit = 0;
    assert_int_equal(col_store_query_hosts(f->st, &q, &t), PROTO_EINVAL);
    q.limit = COL_QUERY_MAX_LIMIT + 1;
    assert_int_equal(col_store_query_hosts(f->st, &q, &t), PROTO_EINVAL);
}

static void test_summary_counts_hosts_findings_and_reports(void **state)
{
    struct fx *f = *state;
    put_fleet(f->st);
    struct col_summary *s = NULL;
    assert_int_equal(col_store_summary(f->st, &s), PROTO_OK);
    assert_int_equal(s->hosts, 4);
    assert_int_equal(s->hosts_at_risk, 2);
    assert_int_equal(s->by_severity[PROTO_SEV_CRITICAL], 1);
    assert_int_equal(s->by_severity[PROTO_SEV_HIGH], 1);
    assert_int_equal(s->by_severity[PROTO_SEV_MEDIUM], 1);
    assert_int_equal(s->by_severity[PROTO_SEV_LOW], 0);
    assert_int_equal(s->by_severity[PROTO_SEV_INFO], 0);
    assert_int_equal(s->without_findings, 1);
    assert_int_equal(summary_finding_hosts(s, "L2TP_CERT_WILDCARD"), 1);
    assert_int_equal(summary_finding_hosts(s, "CERT_EXPIRING"), 1);
    for (size_t i = 1; i < s->by_finding_count; i++) {
        assert_true(strcmp(s->by_finding[i - 1].id, s->by_finding[i].id) < 0);
    }
    assert_int_equal(s->reports, 4);
    assert_true(s->has_last_report);
    assert_int_equal(s->last_report_at, NOW);
    col_store_summary_destroy(s);
}

static void test_summary_of_an_empty_store_has_no_last_report(void **state)
{
    struct fx *f = *state;
    struct col_summary *s = NULL;
    assert_int_equal(col_store_summary(f->st, &s), PROTO_OK);
    assert_int_equal(s->hosts, 0);
    assert_int_equal(s->hosts_at_risk, 0);
    assert_int_equal(s->without_findings, 0);
    assert_int_equal(s->by_finding_count, 0);
    assert_int_equal(s->reports, 0);
    assert_false(s->has_last_report);
    col_store_summary_destroy(s);
}

static void test_host_detail_returns_snapshot_findings_and_history(void **state)
{
    struct fx *f = *state;
    put_fleet(f->st);
    struct col_host_detail *d = NULL;
    assert_int_equal(col_store_host_detail(f->st, HOST_A, &d), PROTO_OK);
    assert_string_equal(d->fqdn, HOST_A);
    assert_string_equal(d->predicted_cn, "*.contoso.com");
    assert_int_equal(d->max_severity, PROTO_SEV_HIGH);
    assert_true(d->automatic_policy);
    /* The snapshot comes back as the bytes that were stored, and they are the report's. */
    assert_non_null(d->snapshot_json);
    assert_int_equal(strlen(d->snapshot_json), d->snapshot_len);
    cJSON *snap = parse_snapshot(d);
    assert_true(cJSON_IsObject(snap));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(snap, "certs")), 2);
    cJSON_Delete(snap);
    assert_int_equal(d->finding_rows, 3);
    assert_int_equal(d->findings[0].severity, PROTO_SEV_HIGH);
    for (size_t i = 1; i < d->finding_rows; i++) {
        assert_true(d->findings[i - 1].severity >= d->findings[i].severity);
    }
    cJSON *certs = cJSON_Parse(d->findings[0].certs_json);
    assert_true(cJSON_IsArray(certs));
    cJSON_Delete(certs);
    assert_int_equal(d->history_rows, 3);
    for (size_t i = 0; i < d->history_rows; i++) {
        assert_false(d->history[i].resolved);
        assert_non_null(d->history[i].key);
    }
    col_store_host_detail_destroy(d);
    assert_int_equal(col_store_host_detail(f->st, "nowhere.example", &d), PROTO_ENOTFOUND);
    assert_null(d);
}

/* The lists a finding names are stored as JSON text the store writes itself: escaped the way
 * rows written before were (cJSON's printer), so SQL's json_each and old rows agree. */
static void test_finding_lists_are_stored_as_escaped_json_arrays(void **state)
{
    struct fx *f = *state;
    struct testutil_report m;
    make_report(&m, "kb-787-wildcard-first", HOST_A, 1, NOW);
    assert_true(m.diag->finding_count > 0);
    static const char odd[] = "rule \"q\" \\ \b\f\n\r\t\x01\x1f\x7f caf\xc3\xa9 <&>";
    struct proto_finding *pf = &m.diag->findings[0]; /* the collector's diagnosis is stored */
    proto_strv_clear(&pf->rules);
    assert_int_equal(proto_strv_push(&pf->rules, odd, 8), PROTO_OK);
    assert_int_equal(proto_strv_push(&pf->rules, "", 8), PROTO_OK);
    cJSON *expected = cJSON_CreateArray();
    cJSON_AddItemToArray(expected, cJSON_CreateString(odd));
    cJSON_AddItemToArray(expected, cJSON_CreateString(""));
    char *want = cJSON_PrintUnformatted(expected);
    cJSON_Delete(expected);
    assert_int_equal(ingest_one(f->st, &m, NOW, NULL), PROTO_OK);
    testutil_report_free(&m);

    struct col_host_detail *d = NULL;
    assert_int_equal(col_store_host_detail(f->st, HOST_A, &d), PROTO_OK);
    bool found = false;
    for (size_t i = 0; i < d->finding_rows; i++) {
        if (strstr(d->findings[i].rules_json, "caf") != NULL) {
            assert_string_equal(d->findings[i].rules_json, want);
            found = true;
        }
    }
    assert_true(found);
    col_store_host_detail_destroy(d);
    cJSON_free(want);
}

/* ---- tokens and audit --------------------------------------------------------------------- */

static int64_t fixed_now_s(void *ctx)
{
    return *(const int64_t *)ctx;
}

/* Rows the store stamps itself take the collector's clock (clock.h), not time(). */
static void test_token_and_audit_rows_are_stamped_by_the_collector_clock(void **state)
{
    struct fx *f = *state;
    int64_t now = NOW - 7 * DAY;
    const struct col_clock clock = {fixed_now_s, NULL, &now};
    char token[COL_TOKEN_MAX];
    char id[32];
    col_clock_set(&clock);
    assert_int_equal(col_store_token_create(f->st, COL_ROLE_VIEWER, "dash", "admin", token, id),
                     PROTO_OK);
    now += DAY;
    assert_int_equal(col_store_token_revoke(f->st, id, "admin"), PROTO_OK);
    col_clock_set(NULL);
    assert_int_equal(testutil_sql_int(f->db, "SELECT created_at FROM tokens"), NOW - 7 * DAY);
    assert_int_equal(testutil_sql_int(f->db, "SELECT revoked_at FROM tokens"), NOW - 6 * DAY);
    assert_int_equal(testutil_sql_int(f->db, "SELECT min(at) FROM audit"), NOW - 7 * DAY);
    assert_int_equal(testutil_sql_int(f->db, "SELECT max(at) FROM audit"), NOW - 6 * DAY);
}

static void test_token_is_created_verified_and_revoked(void **state)
{
    struct fx *f = *state;
    char token[COL_TOKEN_MAX];
    char id[32];
    char name[128];
    enum col_role role = COL_ROLE_NONE;
    assert_int_equal(
        col_store_token_create(f->st, COL_ROLE_OPERATOR, "ops-laptop", "admin", token, id),
        PROTO_OK);
    assert_int_equal(strlen(token), 57);
    assert_memory_equal(token, "rft_", 4);
    assert_memory_equal(token + 4, id, 12);
    assert_int_equal(col_store_token_verify(f->st, token, &role, name), PROTO_OK);
    assert_int_equal(role, COL_ROLE_OPERATOR);
    assert_string_equal(name, "ops-laptop");

    /* The secret is not stored anywhere in the database. */
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM tokens WHERE instr(lower(hex(salt) || hex(hash) || name), "
             "'%s') > 0",
             token + 17);
    assert_int_equal(testutil_sql_int(f->db, sql), 0);

    struct col_table *t = NULL;
    assert_int_equal(col_store_token_list(f->st, &t), PROTO_OK);
    assert_int_equal(t->nrows, 1);
    assert_string_equal(cell(t, 0, "id"), id);
    assert_string_equal(cell(t, 0, "role"), "operator");
    assert_null(cell(t, 0, "revoked_at"));
    col_table_destroy(t);

    assert_int_equal(col_store_token_revoke(f->st, id, "admin"), PROTO_OK);
    assert_int_equal(col_store_token_verify(f->st, token, &role, name), PROTO_ENOTFOUND);
    assert_int_equal(role, COL_ROLE_NONE);
    assert_int_equal(col_store_token_revoke(f->st, id, "admin"), PROTO_ENOTFOUND);
    assert_int_equal(col_store_token_list(f->st, &t), PROTO_OK);
    assert_non_null(cell(t, 0, "revoked_at"));
    col_table_destroy(t);

    assert_int_equal(testutil_sql_int(f->db,
                                      "SELECT count(*) FROM audit WHERE action = 'token.create' "
                                      "AND actor = 'admin'"),
                     1);
    assert_int_equal(
        testutil_sql_int(f->db, "SELECT count(*) FROM audit WHERE action = 'token.revoke'"), 1);
}

static void test_wrong_secret_unknown_id_and_malformed_tokens_are_refused(void **state)
{
    struct fx *f = *state;
    char token[COL_TOKEN_MAX];
    char bad[COL_TOKEN_MAX + 2];
    enum col_role role = COL_ROLE_NONE;
    assert_int_equal(col_store_token_create(f->st, COL_ROLE_VIEWER, "dash", "admin", token, NULL),
                     PROTO_OK);
    /* Wrong secret, right id. */
    snprintf(bad, sizeof(bad), "%s", token);
    bad[56] = bad[56] == '0' ? '1' : '0';
    assert_int_equal(col_store_token_verify(f->st, bad, &role, NULL), PROTO_ENOTFOUND);
    /* Unknown id, right secret. */
    snprintf(bad, sizeof(bad), "%s", token);
    bad[4] = bad[4] == '0' ? '1' : '0';
    assert_int_equal(col_store_token_verify(f->st, bad, &role, NULL), PROTO_ENOTFOUND);
    /* Malformed. */
    assert_int_equal(col_store_token_verify(f->st, "", &role, NULL), PROTO_ENOTFOUND);
    assert_int_equal(col_store_token_verify(f->st, NULL, &role, NULL), PROTO_ENOTFOUND);
    snprintf(bad, sizeof(bad), "%sx", token);
    assert_int_equal(col_store_token_verify(f->st, bad, &role, NULL), PROTO_ENOTFOUND);
    snprintf(bad, sizeof(bad), "%s", token);
    bad[10] = 'G';
    assert_int_equal(col_store_token_verify(f->st, bad, &role, NULL), PROTO_ENOTFOUND);
    assert_int_equal(role, COL_ROLE_NONE);
    assert_int_equal(col_store_token_verify(f->st, token, &role, NULL), PROTO_OK);
    assert_int_equal(role, COL_ROLE_VIEWER);
    /* Bad arguments to create. */
    assert_int_equal(col_store_token_create(f->st, COL_ROLE_NONE, "x", "admin", token, NULL),
                     PROTO_EINVAL);
    assert_int_equal(col_store_token_create(f->st, COL_ROLE_VIEWER, "", "admin", token, NULL),
                     PROTO_EINVAL);
    assert_int_equal(col_store_token_revoke(f->st, "not-an-id", "admin"), PROTO_ENOTFOUND);
}

static void test_roles_convert_to_and_from_text(void **state)
{
    (void)state;
    assert_int_equal(col_role_from_str("viewer"), COL_ROLE_VIEWER);
    assert_int_equal(col_role_from_str("operator"), COL_ROLE_OPERATOR);
    assert_int_equal(col_role_from_str("approver"), COL_ROLE_APPROVER);
    assert_int_equal(col_role_from_str("root"), COL_ROLE_NONE);
    assert_int_equal(col_role_from_str(NULL), COL_ROLE_NONE);
    assert_string_equal(col_role_str(COL_ROLE_APPROVER), "approver");
}

static void test_audit_rows_cannot_be_updated_or_deleted(void **state)
{
    struct fx *f = *state;
    assert_int_equal(col_store_audit(f->st, "admin", "campaign.approve", "c-1", "{\"x\":1}"),
                     PROTO_OK);
    assert_int_equal(col_store_audit(f->st, "", "x", NULL, NULL), PROTO_EINVAL);
    sqlite3 *db = NULL;
    char *msg = NULL;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    int rc = sqlite3_exec(db, "UPDATE audit SET actor = 'mallory'", NULL, NULL, &msg);
    assert_int_equal(rc, SQLITE_CONSTRAINT);
    assert_non_null(strstr(msg, "append-only"));
    sqlite3_free(msg);
    msg = NULL;
    rc = sqlite3_exec(db, "DELETE FROM audit", NULL, NULL, &msg);
    assert_int_equal(rc, SQLITE_CONSTRAINT);
    sqlite3_free(msg);
    sqlite3_close(db);
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM audit WHERE actor = 'admin'"),
                     1);
}

/* ---- retention and size ------------------------------------------------------------------- */

static void test_prune_deletes_old_reports_but_keeps_each_hosts_latest(void **state)
{
    struct fx *f = *state;
    put(f->st, "kb-787-wildcard-first", HOST_A, 1, NOW - 3 * DAY, NOW - 3 * DAY);
    put(f->st, "kb-787-wildcard-first", HOST_A, 2, NOW - 2 * DAY, NOW - 2 * DAY);
    put(f->st, "resolution1-single-cert", HOST_A, 3, NOW - DAY, NOW - DAY);
    put(f->st, "expiring-l2tp-cert", HOST_C, 1, NOW - 3 * DAY, NOW - 3 * DAY);
    int64_t deleted = -1;
    assert_int_equal(col_store_prune(f->st, NOW - DAY, &deleted), PROTO_OK);
    assert_int_equal(deleted, 2);
    int64_t n = 0;
    assert_int_equal(col_store_count_reports(f->st, &n), PROTO_OK);
    assert_int_equal(n, 2);
    /* Host A's first snapshot went with its two reports; its latest one and C's stay. */
    assert_int_equal(testutil_sql_int(f->db, "SELECT count(*) FROM snapshots"), 2);
    /* The latest state and its snapshot are intact. */
    struct col_host_detail *d = NULL;
    assert_int_equal(col_store_host_detail(f->st, HOST_C, &d), PROTO_OK);
    cJSON *snap = parse_snapshot(d);
    assert_true(cJSON_IsObject(snap));
    cJSON_Delete(snap);
    col_store_host_detail_destroy(d);
    assert_int_equal(col_store_prune(f->st, NOW, &deleted), PROTO_OK);
    assert_int_equal(deleted, 0);
}

static void test_database_size_is_page_count_times_page_size(void **state)
{
    struct fx *f = *state;
    put_fleet(f->st);
    int64_t bytes = 0;
    assert_int_equal(col_store_db_size(f->st, &bytes), PROTO_OK);
    assert_true(bytes > 0);
    assert_int_equal(bytes % 512, 0);
}

static int file_mode(const char *path)
{
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    return (int)(sb.st_mode & 0777);
}

static void test_database_and_its_wal_are_created_owner_only(void **state)
{
    (void)state;
    char dir[64] = "/tmp/test_store_mode-XXXXXX";
    char db[128];
    char path[160];
    char err[256];
    struct col_store *st = NULL;
    assert_non_null(mkdtemp(dir));
    snprintf(db, sizeof(db), "%s/collector.db", dir);
    mode_t old = umask(022); /* the usual umask, which would give 0644 */
    assert_int_equal(col_store_open(db, &st, err, sizeof(err)), PROTO_OK);
    umask(old);
    put(st, "kb-787-wildcard-first", HOST_A, 1, NOW, NOW);
    assert_int_equal(file_mode(db), 0600);
    snprintf(path, sizeof(path), "%s-wal", db);
    assert_int_equal(file_mode(path), 0600);
    snprintf(path, sizeof(path), "%s-shm", db);
    assert_int_equal(file_mode(path), 0600);
    col_store_close(st);
    testutil_remove_flat_dir(dir);
}

static void test_in_memory_database_is_refused(void **state)
{
    (void)state;
    struct col_store *st = NULL;
    char err[128];
    assert_int_equal(col_store_open(":memory:", &st, err, sizeof(err)), PROTO_EINVAL);
    assert_null(st);
    col_store_close(NULL);
    col_table_destroy(NULL);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

int main(void)
{
    proto_alloc_install_cjson_hooks();
    const struct CMUnitTest tests[] = {
        T(test_ingest_stores_latest_state_of_a_host),
        T(test_repeated_report_id_is_a_duplicate_and_adds_no_row),
        T(test_newer_report_replaces_certs_rules_and_findings),
        T(test_older_report_is_stored_but_keeps_the_latest_state),
        T(test_reinstalled_agent_with_lower_seq_but_newer_collection_wins),
        T(test_a_future_collected_at_does_not_freeze_the_host),
        T(test_a_higher_seq_wins_even_when_collected_earlier),
        T(test_report_id_of_another_host_is_a_conflict_not_a_duplicate),
        T(test_persisting_finding_keeps_first_seen_and_vanished_one_is_resolved),
        T(test_finding_keys_name_id_certs_and_rules),
        T(test_failed_ingest_leaves_the_rest_of_the_batch_intact),
        T(test_host_names_are_case_insensitive),
        T(test_unchanged_snapshot_is_stored_once_and_only_moves_times),
        T(test_same_snapshot_with_another_diagnosis_rewrites_the_latest_state),
        T(test_envelope_and_snapshot_rebuild_the_body_exactly),
        T(test_snapshot_behind_an_escaped_key_is_stored_reprinted),
        T(test_spool_losses_are_kept_per_report_and_summed_per_host),
        T(test_host_filter_by_finding),
        T(test_host_filter_by_minimum_severity),
        T(test_host_filter_by_name_pattern_treats_underscore_literally),
        T(test_host_filter_by_expiring_within_days),
        T(test_host_filter_by_issuer_substring_ignores_case),
        T(test_host_filter_by_last_seen_before),
        T(test_host_filters_compose),
        T(test_cert_filters_select_certificates),
        T(test_sort_column_outside_the_whitelist_is_rejected),
        T(test_sort_by_a_result_column_in_either_direction),
        T(test_pagination_reports_the_total_before_limit_and_offset),
        T(test_summary_counts_hosts_findings_and_reports),
        T(test_summary_of_an_empty_store_has_no_last_report),
        T(test_host_detail_returns_snapshot_findings_and_history),
        T(test_finding_lists_are_stored_as_escaped_json_arrays),
        T(test_token_is_created_verified_and_revoked),
        T(test_token_and_audit_rows_are_stamped_by_the_collector_clock),
        T(test_wrong_secret_unknown_id_and_malformed_tokens_are_refused),
        cmocka_unit_test(test_roles_convert_to_and_from_text),
        T(test_audit_rows_cannot_be_updated_or_deleted),
        T(test_prune_deletes_old_reports_but_keeps_each_hosts_latest),
        T(test_database_size_is_page_count_times_page_size),
        cmocka_unit_test(test_database_and_its_wal_are_created_owner_only),
        cmocka_unit_test(test_in_memory_database_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
