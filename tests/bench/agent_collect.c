/*
 * agent_collect: the agent's per-report work (read a capture bundle, diagnose, encode the
 * report) on a synthetic large bundle against the 2-certificate KB bundle (issue 4 benchmark),
 * and on Windows the same for the live host (issue 13).
 *
 *   agent_collect make DIR CERTS RULES   write a synthetic bundle (distinct certificates made
 *                                        with mbedTLS, one key; RULES netsh consec rules)
 *   agent_collect run DIR ITERATIONS     time ITERATIONS collect+diagnose+encode cycles and
 *                                        print "certs=... wall_ms_median=... peak_rss_kb=..."
 *   agent_collect live ITERATIONS        the same with the live source (Windows builds only:
 *                                        agent_collect_win32.c), peak_ws_kb for the peak
 *   agent_collect idle                   print the peak of a process that did nothing (the
 *                                        floor the other peaks stand on)
 *
 * The peak is the process's own, so scripts/bench-agent.sh runs each bundle or store in a fresh
 * process. This file is portable: the clock, the peak and mkdir are the OS half's
 * (agent_collect.h), POSIX's at the end of this file. Benchmark tooling only, never run by ctest.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#endif

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/oid.h>
#include <mbedtls/sha1.h>
#include <mbedtls/x509_crt.h>

#include "agent_collect.h"
#include "alloc.h"
#include "bundle.h"
#include "diagnose.h"
#include "json.h"
#include "uuid.h"

#define BENCH_MAX_CERTS 2000L
#define BENCH_MAX_RULES 1000L

static int bench_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len) {
        if (f != NULL) {
            fclose(f);
        }
        fprintf(stderr, "agent_collect: cannot write %s\n", path);
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}

static long bench_arg(const char *text, long max)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < 1 || v > max) {
        fprintf(stderr, "agent_collect: expected a number 1..%ld, got %s\n", max, text);
        exit(2);
    }
    return v;
}

/* DER of extKeyUsage = { serverAuth } and of subjectAltName = { dNSName name }. */
static const unsigned char bench_eku_server_auth[] = {0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06,
                                                      0x01, 0x05, 0x05, 0x07, 0x03, 0x01};

static size_t bench_san(const char *name, unsigned char *out, size_t size)
{
    size_t n = strlen(name);
    if (n + 4 > size || n > 120) {
        return 0;
    }
    out[0] = 0x30;
    out[1] = (unsigned char)(n + 2);
    out[2] = 0x82; /* [2] dNSName */
    out[3] = (unsigned char)n;
    memcpy(out + 4, name, n);
    return n + 4;
}

static int bench_make_certs(const char *dir, long certs)
{
    int result = -1;
    mbedtls_pk_context key;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509write_cert crt;
    mbedtls_mpi serial;
    mbedtls_pk_init(&key);
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_mpi_init(&serial);
    static unsigned char der[4096];
    char path[4096];
    FILE *keys = NULL;

    if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0) != 0 ||
        mbedtls_pk_setup(&key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0 ||
        mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(key), mbedtls_ctr_drbg_random,
                            &drbg) != 0) {
        goto out;
    }
    snprintf(path, sizeof(path), "%s/LocalMachine-My/private-keys.txt", dir);
    keys = fopen(path, "w");
    if (keys == NULL) {
        goto out;
    }
    for (long i = 0; i < certs; i++) {
        char subject[160], name[128];
        unsigned char san[160];
        snprintf(name, sizeof(name), "host-%05ld.bench.contoso.com", i);
        snprintf(subject, sizeof(subject), "CN=%s,O=Contoso,C=US", name);
        mbedtls_x509write_crt_init(&crt);
        mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
        mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
        mbedtls_x509write_crt_set_subject_key(&crt, &key);
        mbedtls_x509write_crt_set_issuer_key(&crt, &key);
        size_t san_len = bench_san(name, san, sizeof(san));
        int rc =
            mbedtls_mpi_lset(&serial, i + 1) || mbedtls_x509write_crt_set_serial(&crt, &serial) ||
            mbedtls_x509write_crt_set_subject_name(&crt, subject) ||
            mbedtls_x509write_crt_set_issuer_name(&crt,
                                                  "DC=com,DC=contoso,DC=corp,CN=corp-DC1-CA") ||
            mbedtls_x509write_crt_set_validity(&crt, "20250101000000", "20300101000000") ||
            mbedtls_x509write_crt_set_extension(&crt, MBEDTLS_OID_EXTENDED_KEY_USAGE,
                                                MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0,
                                                bench_eku_server_auth,
                                                sizeof(bench_eku_server_auth)) ||
            mbedtls_x509write_crt_set_extension(&crt, MBEDTLS_OID_SUBJECT_ALT_NAME,
                                                MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0,
                                                san, san_len);
        int len =
            rc ? -1
               : mbedtls_x509write_crt_der(&crt, der, sizeof(der), mbedtls_ctr_drbg_random, &drbg);
        mbedtls_x509write_crt_free(&crt);
        if (len <= 0) {
            fprintf(stderr, "agent_collect: making certificate %ld failed\n", i);
            goto out;
        }
        const unsigned char *start = der + sizeof(der) - (size_t)len;
        unsigned char sha1[20];
        char hex[41];
        mbedtls_sha1_ret(start, (size_t)len, sha1);
        for (int b = 0; b < 20; b++) {
            snprintf(hex + 2 * b, 3, "%02X", sha1[b]);
        }
        snprintf(path, sizeof(path), "%s/LocalMachine-My/%03ld-%s.cer", dir, i, hex);
        if (bench_write(path, start, (size_t)len) != 0) {
            goto out;
        }
        if (i % 2 == 0) {
            fprintf(keys, "%s\r\n", hex);
        }
    }
    result = 0;
out:
    if (keys != NULL) {
        fclose(keys);
    }
    mbedtls_mpi_free(&serial);
    mbedtls_pk_free(&key);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
    return result;
}

static void bench_field(FILE *f, const char *label, const char *value)
{
    fprintf(f, "%-38s%s\r\n", label, value);
}

static int bench_make_rules(const char *dir, long rules)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/netsh-consec.txt", dir);
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        return -1;
    }
    for (long i = 0; i < rules; i++) {
        char name[64];
        snprintf(name, sizeof(name), "Bench rule %04ld", i);
        fputs("\r\n", f);
        bench_field(f, "Rule Name:", name);
        fputs("----------------------------------------------------------------------\r\n", f);
        bench_field(f, "Description:", "generated for the agent benchmark");
        bench_field(f, "Enabled:", i % 3 ? "Yes" : "No");
        bench_field(f, "Profiles:", "Domain,Private,Public");
        bench_field(f, "Type:", "Static");
        bench_field(f, "Mode:", "Transport");
        bench_field(f, "Endpoint1:", "Any");
        bench_field(f, "Endpoint2:", "10.0.0.0/8");
        bench_field(f, "Port1:", "Any");
        bench_field(f, "Port2:", i % 5 ? "500" : "1701");
        bench_field(f, "Protocol:", "UDP");
        bench_field(f, "Action:", "RequireInRequireOut");
        bench_field(f, "Auth1:", "ComputerCert");
        bench_field(f, "Auth1CAName:", "DC=com, DC=contoso, DC=corp, CN=corp-DC1-CA");
        bench_field(f, "Auth1CertMapping:", "No");
        bench_field(f, "Auth1ExcludeCAName:", "No");
        bench_field(f, "Auth1CertType:", "Root");
        bench_field(f, "Auth1HealthCert:", "No");
        bench_field(f, "MainModeSecMethods:", "DHGroup14-AES256-SHA256");
        bench_field(f, "MainModeKeyLifetime:", "480min,0sess");
        bench_field(f, "QuickModeSecMethods:", "ESP:SHA256-AES256+60min+100000kb");
        bench_field(f, "QuickModePFS:", "None");
        bench_field(f, "Rule source:", "Local Setting");
        bench_field(f, "ApplyAuthorization:", "No");
    }
    fputs("Ok.\r\n\r\n", f);
    return fclose(f) == 0 ? 0 : -1;
}

static int bench_make(const char *dir, long certs, long rules)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/LocalMachine-My", dir);
    if ((agent_bench_mkdir(dir) != 0 && errno != EEXIST) ||
        (agent_bench_mkdir(path) != 0 && errno != EEXIST)) {
        fprintf(stderr, "agent_collect: cannot create %s\n", path);
        return 1;
    }
    static const char host[] = "Hostname: BENCH01\r\nFQDN: bench01.corp.contoso.com\r\n"
                               "OS: Microsoft Windows Server 2022 Standard 10.0.20348\r\n"
                               "OEMCodePage: 437\r\nCollectedAt: 2026-11-25T00:00:00Z\r\n";
    static const char rasman[] =
        "\r\nHKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Services\\Rasman\\Parameters\r\n"
        "    ProhibitIpSec    REG_DWORD    0x1\r\n\r\n";
    snprintf(path, sizeof(path), "%s/host.txt", dir);
    if (bench_write(path, host, sizeof(host) - 1) != 0) {
        return 1;
    }
    snprintf(path, sizeof(path), "%s/reg-rasman.txt", dir);
    if (bench_write(path, rasman, sizeof(rasman) - 1) != 0) {
        return 1;
    }
    if (bench_make_certs(dir, certs) != 0 || bench_make_rules(dir, rules) != 0) {
        return 1;
    }
    printf("made %s: %ld certificates, %ld rules\n", dir, certs, rules);
    return 0;
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One agent cycle: what `rrasfleet-agent collect` does for a report. Puts this cycle's
 * milliseconds in phase_ms (read, diagnose, encode) and adds the source's own to extra_ms. */
static int bench_cycle(const struct agent_bench_source *src, struct agent_bench_result *res,
                       double *phase_ms, double *extra_ms)
{
    struct proto_report *report = proto_report_create();
    struct proto_diagnosis *diag = NULL;
    char *json = NULL;
    int result = -1;
    struct proto_policy policy = {.now = AGENT_BENCH_NOW, .expiry_days = 30};
    if (report == NULL) {
        return -1;
    }
    proto_snapshot_destroy(report->snapshot);
    report->snapshot = NULL;
    double t0 = agent_bench_now_ms();
    if (src->read(src->ctx, &report->snapshot, extra_ms) != 0 ||
        proto_uuid_v4(report->report_id) != PROTO_OK) {
        goto out;
    }
    double t1 = agent_bench_now_ms();
    if (proto_diagnose(report->snapshot, &policy, &diag) != PROTO_OK) {
        goto out;
    }
    double t2 = agent_bench_now_ms();
    report->findings = diag->findings;
    report->finding_count = diag->finding_count;
    diag->findings = NULL;
    diag->finding_count = 0;
    if (proto_json_encode_report(report, 0, &json, &res->report_bytes) != PROTO_OK) {
        goto out;
    }
    phase_ms[0] = t1 - t0;
    phase_ms[1] = t2 - t1;
    phase_ms[2] = agent_bench_now_ms() - t2;
    res->certs = report->snapshot->cert_count;
    res->rules = report->snapshot->rule_count;
    result = 0;
out:
    proto_free(json);
    proto_diagnosis_destroy(diag);
    proto_report_destroy(report);
    return result;
}

int agent_bench_run(const struct agent_bench_source *src, long iterations,
                    struct agent_bench_result *res)
{
    double *ms = calloc((size_t)iterations, sizeof(*ms));
    double phase_sum[3] = {0, 0, 0};
    memset(res, 0, sizeof(*res));
    if (ms == NULL || src->extra_count > AGENT_BENCH_MAX_EXTRA) {
        free(ms);
        return -1;
    }
    for (long i = 0; i < iterations; i++) {
        double phase[3] = {0, 0, 0};
        double start = agent_bench_now_ms();
        if (bench_cycle(src, res, phase, res->extra_ms) != 0) {
            fputs("agent_collect: a cycle failed\n", stderr);
            free(ms);
            return -1;
        }
        ms[i] = agent_bench_now_ms() - start;
        for (int p = 0; p < 3; p++) {
            phase_sum[p] += phase[p];
        }
    }
    res->peak_kb = agent_bench_peak_kb();
    res->iterations = iterations;
    res->first_ms = ms[0];
    qsort(ms, (size_t)iterations, sizeof(*ms), bench_cmp_double);
    res->median_ms = ms[iterations / 2];
    res->max_ms = ms[iterations - 1];
    res->read_ms = phase_sum[0] / (double)iterations;
    res->diagnose_ms = phase_sum[1] / (double)iterations;
    res->encode_ms = phase_sum[2] / (double)iterations;
    for (size_t e = 0; e < src->extra_count; e++) {
        res->extra_ms[e] /= (double)iterations;
    }
    free(ms);
    return 0;
}

void agent_bench_print(FILE *to, const struct agent_bench_source *src,
                       const struct agent_bench_result *res)
{
    fprintf(to,
            "certs=%zu rules=%zu report_bytes=%zu iterations=%ld wall_ms_median=%.2f "
            "wall_ms_first=%.2f wall_ms_max=%.2f %s=%llu read_ms=%.2f diagnose_ms=%.2f "
            "encode_ms=%.2f",
            res->certs, res->rules, res->report_bytes, res->iterations, res->median_ms,
            res->first_ms, res->max_ms, agent_bench_peak_key, res->peak_kb, res->read_ms,
            res->diagnose_ms, res->encode_ms);
    for (size_t e = 0; e < src->extra_count; e++) {
        fprintf(to, " %s=%.2f", src->extra_keys[e], res->extra_ms[e]);
    }
}

/* The bundle source: proto's bundle reader, as `rrasfleet-agent collect --bundle DIR`. */
static int bench_read_bundle(void *ctx, struct proto_snapshot **out, double *extra_ms)
{
    (void)extra_ms;
    return proto_bundle_read(ctx, out) == PROTO_OK ? 0 : -1;
}

static int bench_run(const char *dir, long iterations)
{
    struct agent_bench_source src = {bench_read_bundle, (void *)dir, NULL, 0};
    struct agent_bench_result res;
    if (agent_bench_run(&src, iterations, &res) != 0) {
        fprintf(stderr, "agent_collect: cannot time %s\n", dir);
        return 1;
    }
    agent_bench_print(stdout, &src, &res);
    putchar('\n');
    return 0;
}

int main(int argc, char **argv)
{
    proto_alloc_install_cjson_hooks();
    if (argc == 5 && strcmp(argv[1], "make") == 0) {
        return bench_make(argv[2], bench_arg(argv[3], BENCH_MAX_CERTS),
                          bench_arg(argv[4], BENCH_MAX_RULES));
    }
    if (argc == 4 && strcmp(argv[1], "run") == 0) {
        return bench_run(argv[2], bench_arg(argv[3], AGENT_BENCH_MAX_ITERATIONS));
    }
    if (argc == 2 && strcmp(argv[1], "idle") == 0) {
        printf("%s=%llu\n", agent_bench_peak_key, agent_bench_peak_kb());
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "live") == 0) {
        return agent_bench_live(bench_arg(argv[2], AGENT_BENCH_MAX_ITERATIONS));
    }
    fputs("usage: agent_collect make DIR CERTS RULES | run DIR ITERATIONS | live ITERATIONS | "
          "idle\n",
          stderr);
    return 2;
}

/* ---- the POSIX half (the Windows one is agent_collect_win32.c) ---------------------------- */
#ifndef _WIN32
const char agent_bench_peak_key[] = "peak_rss_kb";

double agent_bench_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

unsigned long long agent_bench_peak_kb(void)
{
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) != 0 || usage.ru_maxrss < 0) {
        return 0;
    }
    return (unsigned long long)usage.ru_maxrss;
}

int agent_bench_mkdir(const char *path)
{
    return mkdir(path, 0755);
}

int agent_bench_live(long iterations)
{
    (void)iterations;
    fputs("agent_collect: live reads a Windows host: run the Windows build's agent_collect.exe\n",
          stderr);
    return 2;
}
#endif
