/*
 * store_fill: fills a collector database with N hosts through the store's own ingest, then
 * times the integrity check the collector runs at every start (PRAGMA quick_check, decision
 * 016). One report template (an agent report, e.g. `rrasfleet-agent collect --bundle ...`) is
 * decoded and diagnosed once; each host gets its own fqdn, report_id and snapshot row (its
 * snapshot hash is made unique, so the snapshots table grows as it would for a fleet of distinct
 * servers). Prints one RESULT line. Benchmark tooling: never run by ctest.
 *
 *   store_fill --template report.json --db /var/tmp/fill.db --hosts 100000 [--batch 1000]
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "bench_common.h"
#include "diagnose.h"
#include "digest.h"
#include "facts.h"
#include "hex.h"
#include "json.h"
#include "store.h"

#define FILL_MAX_HOSTS 10000000ul

struct fill_opts {
    const char *template_path;
    const char *db_path;
    unsigned long hosts;
    unsigned long batch;
};

static int fill_args(int argc, char **argv, struct fill_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->hosts = 1000;
    o->batch = 1000;
    for (int i = 1; i + 1 < argc; i += 2) {
        enum proto_rc rc = PROTO_OK;
        if (strcmp(argv[i], "--template") == 0) {
            o->template_path = argv[i + 1];
        } else if (strcmp(argv[i], "--db") == 0) {
            o->db_path = argv[i + 1];
        } else if (strcmp(argv[i], "--hosts") == 0) {
            rc = bench_parse_uint(argv[i + 1], 1, FILL_MAX_HOSTS, &o->hosts);
        } else if (strcmp(argv[i], "--batch") == 0) {
            rc = bench_parse_uint(argv[i + 1], 1, 100000, &o->batch);
        } else {
            fprintf(stderr, "store_fill: unknown option %s\n", argv[i]);
            return -1;
        }
        if (rc) {
            fprintf(stderr, "store_fill: bad value for %s\n", argv[i]);
            return -1;
        }
    }
    if (o->template_path == NULL || o->db_path == NULL) {
        fprintf(stderr, "usage: store_fill --template FILE --db FILE [--hosts N] [--batch N]\n");
        return -1;
    }
    return 0;
}

static char *fill_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    char *data = proto_malloc(4u * 1024u * 1024u + 1);
    size_t n = data != NULL ? fread(data, 1, 4u * 1024u * 1024u, f) : 0;
    fclose(f);
    if (data != NULL) {
        data[n] = '\0';
    }
    *len = n;
    return data;
}

int main(int argc, char **argv)
{
    struct fill_opts o;
    if (fill_args(argc, argv, &o) != 0) {
        return 2;
    }
    size_t len = 0;
    char *body = fill_read(o.template_path, &len);
    struct proto_report *rep = NULL;
    struct proto_diagnosis *diag = NULL;
    struct proto_policy policy = {0};
    struct col_store *st = NULL;
    char err[512] = "";
    if (body == NULL || proto_json_decode_report(body, len, &rep, NULL) != PROTO_OK) {
        fprintf(stderr, "store_fill: cannot read the template %s\n", o.template_path);
        return 1;
    }
    policy.expiry_days = 30;
    policy.now = rep->snapshot->host.collected_at;
    if (proto_diagnose(rep->snapshot, &policy, &diag) != PROTO_OK ||
        col_store_open(o.db_path, &st, err, sizeof(err)) != PROTO_OK) {
        fprintf(stderr, "store_fill: %s\n", err);
        return 1;
    }
    struct col_ingest in = {body, len, rep, diag, policy.now, NULL};
    struct col_ingest_facts facts;
    if (col_ingest_facts_compute(&in, &facts) != PROTO_OK) {
        return 1;
    }
    in.facts = &facts;
    char *template_fqdn = rep->snapshot->host.fqdn;
    char fqdn[128];
    rep->snapshot->host.fqdn = fqdn;
    double t0 = bench_now();
    for (unsigned long h = 0; h < o.hosts; h++) {
        if (h % o.batch == 0 && (h == 0 || col_store_commit(st) == PROTO_OK) &&
            col_store_begin(st) != PROTO_OK) {
            fprintf(stderr, "store_fill: cannot begin\n");
            return 1;
        }
        snprintf(fqdn, sizeof(fqdn), "rras-f%07lu.fill.contoso.com", h);
        snprintf(rep->report_id, sizeof(rep->report_id), "00000000-0000-4000-8000-%012lx",
                 h & 0xFFFFFFFFFFFFul);
        unsigned char digest[32];
        char seed[64];
        int n = snprintf(seed, sizeof(seed), "snapshot-%lu", h);
        if (proto_sha256(seed, (size_t)n, digest) != PROTO_OK) {
            return 1;
        }
        proto_hex_encode(digest, sizeof(digest), false, facts.snapshot_hash);
        bool dup = false;
        if (col_store_ingest(st, &in, &dup) != PROTO_OK) {
            fprintf(stderr, "store_fill: ingest of host %lu failed\n", h);
            return 1;
        }
    }
    if (col_store_commit(st) != PROTO_OK) {
        return 1;
    }
    double fill_s = bench_now() - t0;
    rep->snapshot->host.fqdn = template_fqdn;
    col_ingest_facts_release(&facts);
    col_store_close(st); /* checkpoints the WAL into the file */
    st = NULL;

    /* The check as `serve` runs it: a fresh open (cold connection), then quick_check. */
    if (col_store_open(o.db_path, &st, err, sizeof(err)) != PROTO_OK) {
        fprintf(stderr, "store_fill: reopen: %s\n", err);
        return 1;
    }
    char message[256];
    double t1 = bench_now();
    enum proto_rc rc = col_store_quick_check(st, message, sizeof(message));
    double check_s = bench_now() - t1;
    struct stat sb;
    long long size = stat(o.db_path, &sb) == 0 ? (long long)sb.st_size : -1;
    printf("RESULT hosts=%lu fill_s=%.1f db_bytes=%lld quick_check_s=%.3f result=%s %s\n", o.hosts,
           fill_s, size, check_s, rc == PROTO_OK ? "ok" : "failed", message);
    col_store_close(st);
    proto_diagnosis_destroy(diag);
    proto_policy_clear(&policy);
    proto_report_destroy(rep);
    proto_free(body);
    return rc == PROTO_OK ? 0 : 1;
}
