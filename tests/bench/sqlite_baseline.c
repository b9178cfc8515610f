/*
 * sqlite_baseline: the raw-SQLite floor for the collector benchmark. Inserts the same report
 * bodies the load generator sends (same template, hosts and sizes) into one plain table,
 * reports(report_id, host, body), in transactions of a fixed batch size, with the durability
 * the collector uses (WAL, synchronous=FULL), and prints one RESULT line with rows/s.
 * No parsing, no diagnosis, no indexes beyond the primary key: what the disk and SQLite alone
 * allow. Benchmark tooling: never run by ctest; writes only the database file it is given.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "bench_common.h"

struct sb_opts {
    const char *template_path;
    const char *db_path;
    unsigned long hosts;
    unsigned long count;
    unsigned long batch;
};

static int sb_parse_args(int argc, char **argv, struct sb_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->hosts = 200;
    o->count = 3000;
    o->batch = 64;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i];
        const char *v = argv[i + 1];
        enum proto_rc rc = PROTO_OK;
        if (strcmp(k, "--template") == 0) {
            o->template_path = v;
        } else if (strcmp(k, "--db") == 0) {
            o->db_path = v;
        } else if (strcmp(k, "--hosts") == 0) {
            rc = bench_parse_uint(v, 1, BENCH_MAX_HOSTS, &o->hosts);
        } else if (strcmp(k, "--count") == 0) {
            rc = bench_parse_uint(v, 1, BENCH_MAX_COUNT, &o->count);
        } else if (strcmp(k, "--batch") == 0) {
            rc = bench_parse_uint(v, 1, 100000, &o->batch);
        } else {
            fprintf(stderr, "sqlite_baseline: unknown option %s\n", k);
            return -1;
        }
        if (rc) {
            fprintf(stderr, "sqlite_baseline: bad value for %s: %s\n", k, v);
            return -1;
        }
    }
    if (argc % 2 != 1 || o->template_path == NULL || o->db_path == NULL) {
        fprintf(stderr, "usage: sqlite_baseline --template FILE --db FILE [--hosts 200] "
                        "[--count 3000] [--batch 64]\n");
        return -1;
    }
    return 0;
}

static int sb_exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "sqlite_baseline: %s: %s\n", sql, err != NULL ? err : "?");
        sqlite3_free(err);
        return -1;
    }
    return 0;
}

/* The report_id as the body carries it (the 36 characters after "report_id":"). */
static int sb_report_id(const char *json, char out[37])
{
    const char *p = strstr(json, "\"report_id\":\"");
    if (p == NULL || strlen(p) < 13 + 36) {
        return -1;
    }
    memcpy(out, p + 13, 36);
    out[36] = '\0';
    return 0;
}

int main(int argc, char **argv)
{
    struct sb_opts o;
    struct bench_bodies b = {0};
    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL;
    int status = 2;

    if (sb_parse_args(argc, argv, &o) != 0) {
        return 2;
    }
    proto_alloc_install_cjson_hooks();
    if (bench_bodies_make(o.template_path, (unsigned)o.hosts, o.count, bench_nonce(), false, &b)) {
        fprintf(stderr, "sqlite_baseline: cannot make the report bodies\n");
        goto out;
    }
    unlink(o.db_path);
    if (sqlite3_open(o.db_path, &db) != SQLITE_OK) {
        fprintf(stderr, "sqlite_baseline: cannot open %s\n", o.db_path);
        goto out;
    }
    if (sb_exec(db, "PRAGMA journal_mode=WAL") || sb_exec(db, "PRAGMA synchronous=FULL") ||
        sb_exec(db, "CREATE TABLE reports(report_id TEXT PRIMARY KEY, host TEXT NOT NULL, "
                    "body TEXT NOT NULL)") ||
        sqlite3_prepare_v2(db, "INSERT INTO reports(report_id, host, body) VALUES (?1, ?2, ?3)", -1,
                           &ins, NULL) != SQLITE_OK) {
        goto out;
    }
    size_t commits = 0;
    double t0 = bench_now();
    for (size_t i = 0; i < b.count; i += o.batch) {
        if (sb_exec(db, "BEGIN IMMEDIATE")) {
            goto out;
        }
        for (size_t j = i; j < b.count && j < i + o.batch; j++) {
            char id[37];
            char host[BENCH_HOST_NAME_MAX];
            if (sb_report_id(b.bodies[j].json, id) != 0 ||
                bench_host_name(b.bodies[j].host, host, sizeof(host))) {
                fprintf(stderr, "sqlite_baseline: body %zu has no report_id\n", j);
                goto out;
            }
            sqlite3_bind_text(ins, 1, id, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(ins, 2, host, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(ins, 3, b.bodies[j].json, (int)b.bodies[j].len, SQLITE_STATIC);
            if (sqlite3_step(ins) != SQLITE_DONE) {
                fprintf(stderr, "sqlite_baseline: insert: %s\n", sqlite3_errmsg(db));
                goto out;
            }
            sqlite3_reset(ins);
            sqlite3_clear_bindings(ins);
        }
        if (sb_exec(db, "COMMIT")) {
            goto out;
        }
        commits++;
    }
    double elapsed = bench_now() - t0;
    printf(
        "RESULT label=sqlite mode=batch%lu rows=%zu commits=%zu elapsed_s=%.3f rows_per_s=%.1f\n",
        o.batch, b.count, commits, elapsed, elapsed > 0 ? (double)b.count / elapsed : 0.0);
    status = 0;
out:
    sqlite3_finalize(ins);
    sqlite3_close(db);
    bench_bodies_free(&b);
    return status;
}
