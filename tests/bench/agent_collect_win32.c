/*
 * agent_collect_win32: the Windows half of the agent benchmark (agent_collect.h): the clock
 * (QueryPerformanceCounter), the peak working set (GetProcessMemoryInfo), and `live`: cycles of
 * the agent's live source exactly as agent_source_read_live runs it (agent_capture_live with the
 * key check, then agent_capture_snapshot), netsh's share timed through the runner seam; then a
 * few passes over LocalMachine\My that time crypt32's calls one kind at a time, since the
 * agent's own loop cannot be timed call by call. Only reads the host. Benchmark tooling, never
 * run by ctest, never shipped.
 */
#include <windows.h>

#include <direct.h>
#include <psapi.h>
#include <wincrypt.h>

#include <stdio.h>
#include <string.h>

#include "agent_collect.h"
#include "capture.h"
#include "netsh.h"

#define BENCH_PROBE_PASSES 3L

const char agent_bench_peak_key[] = "peak_ws_kb";

double agent_bench_now_ms(void)
{
    static double ms_per_tick;
    LARGE_INTEGER now;
    if (ms_per_tick == 0) {
        LARGE_INTEGER freq;
        QueryPerformanceFrequency(&freq);
        ms_per_tick = 1e3 / (double)freq.QuadPart;
    }
    QueryPerformanceCounter(&now);
    return (double)now.QuadPart * ms_per_tick;
}

unsigned long long agent_bench_peak_kb(void)
{
    PROCESS_MEMORY_COUNTERS pmc;
    memset(&pmc, 0, sizeof(pmc));
    pmc.cb = sizeof(pmc);
    if (!GetProcessMemoryInfo(GetCurrentProcess(), &pmc, sizeof(pmc))) {
        return 0;
    }
    return (unsigned long long)pmc.PeakWorkingSetSize / 1024u;
}

int agent_bench_mkdir(const char *path)
{
    return _mkdir(path);
}

/* ---- the live source --------------------------------------------------------------------- */

enum bench_live_extra {
    BENCH_LIVE_CAPTURE,  /* agent_capture_live: host, crypt32, registry, netsh */
    BENCH_LIVE_NETSH,    /* the netsh part of it: two child processes */
    BENCH_LIVE_SNAPSHOT, /* agent_capture_snapshot: the parsers, and freeing the capture */
    BENCH_LIVE_EXTRA_COUNT
};
static const char *const bench_live_keys[BENCH_LIVE_EXTRA_COUNT] = {"capture_ms", "netsh_ms",
                                                                    "snapshot_ms"};

struct bench_live {
    struct agent_netsh_runner timed;         /* the system runner behind a stopwatch */
    const struct agent_netsh_runner *system; /* agent_netsh_system_runner() */
    double netsh_ms;                         /* this cycle's */
};

static enum proto_rc bench_netsh_timed(void *ctx, const char *const *args, size_t arg_count,
                                       size_t max_bytes, uint32_t timeout_ms,
                                       struct agent_netsh_output *out, char *why, size_t why_size)
{
    struct bench_live *live = ctx;
    double start = agent_bench_now_ms();
    enum proto_rc rc = live->system->run(live->system->ctx, args, arg_count, max_bytes, timeout_ms,
                                         out, why, why_size);
    live->netsh_ms += agent_bench_now_ms() - start;
    return rc;
}

static int bench_read_live(void *ctx, struct proto_snapshot **out, double *extra_ms)
{
    struct bench_live *live = ctx;
    struct agent_capture *cap = NULL;
    /* agent_source_read_live's options, but for the runner. */
    struct agent_capture_live_options opts = {AGENT_BENCH_NOW, &live->timed, 0, true};
    live->netsh_ms = 0;
    double t0 = agent_bench_now_ms();
    enum proto_rc rc = agent_capture_live(&opts, &cap);
    double t1 = agent_bench_now_ms();
    if (rc == PROTO_OK) {
        rc = agent_capture_snapshot(cap, out);
    }
    agent_capture_destroy(cap);
    extra_ms[BENCH_LIVE_CAPTURE] += t1 - t0;
    extra_ms[BENCH_LIVE_NETSH] += live->netsh_ms;
    extra_ms[BENCH_LIVE_SNAPSHOT] += agent_bench_now_ms() - t1;
    if (rc != PROTO_OK) {
        fprintf(stderr, "agent_collect: the live source failed: %s\n", proto_rc_str(rc));
        return -1;
    }
    return 0;
}

/* ---- crypt32's calls, one kind at a time ------------------------------------------------- */

enum bench_probe {
    BENCH_PROBE_OPEN,     /* CertOpenStore + CertCloseStore */
    BENCH_PROBE_ENUM,     /* CertEnumCertificatesInStore */
    BENCH_PROBE_KEY_PROP, /* CERT_KEY_PROV_INFO_PROP_ID */
    BENCH_PROBE_EKU,      /* CertGetEnhancedKeyUsage, size then data */
    BENCH_PROBE_KEY_OPEN, /* CryptAcquireCertificatePrivateKey, certificates with a key */
    BENCH_PROBE_CHAIN,    /* CertGetCertificateChain + CertFreeCertificateChain */
    BENCH_PROBE_COUNT
};
static const char *const bench_probe_keys[BENCH_PROBE_COUNT] = {
    "store_open_ms", "store_enum_ms",    "store_keyprop_ms",
    "store_eku_ms",  "store_keyopen_ms", "store_chain_ms"};

static void bench_probe_cert(PCCERT_CONTEXT c, double *ms)
{
    DWORD cb = 0;
    double t0 = agent_bench_now_ms();
    BOOL has_key = CertGetCertificateContextProperty(c, CERT_KEY_PROV_INFO_PROP_ID, NULL, &cb);
    double t1 = agent_bench_now_ms();
    ms[BENCH_PROBE_KEY_PROP] += t1 - t0;

    static union {
        CERT_ENHKEY_USAGE usage;
        unsigned char bytes[4096];
    } eku;
    cb = 0;
    if (CertGetEnhancedKeyUsage(c, 0, NULL, &cb) && cb > 0 && cb <= sizeof(eku)) {
        CertGetEnhancedKeyUsage(c, 0, &eku.usage, &cb);
    }
    double t2 = agent_bench_now_ms();
    ms[BENCH_PROBE_EKU] += t2 - t1;

    if (has_key) {
        HCRYPTPROV_OR_NCRYPT_KEY_HANDLE key = 0;
        DWORD spec = 0;
        BOOL must_free = FALSE;
        if (CryptAcquireCertificatePrivateKey(
                c, CRYPT_ACQUIRE_SILENT_FLAG | CRYPT_ACQUIRE_ALLOW_NCRYPT_KEY_FLAG, NULL, &key,
                &spec, &must_free) &&
            must_free && spec != CERT_NCRYPT_KEY_SPEC) {
            CryptReleaseContext(key, 0);
        }
        /* A CNG key handle would need ncrypt; Wine 8 opens no machine key at all (README). */
    }
    double t3 = agent_bench_now_ms();
    ms[BENCH_PROBE_KEY_OPEN] += t3 - t2;

    CERT_CHAIN_PARA para;
    PCCERT_CHAIN_CONTEXT chain = NULL;
    memset(&para, 0, sizeof(para));
    para.cbSize = sizeof(para);
    if (CertGetCertificateChain(HCCE_LOCAL_MACHINE, c, NULL, NULL, &para,
                                CERT_CHAIN_CACHE_ONLY_URL_RETRIEVAL, NULL, &chain) &&
        chain != NULL) {
        CertFreeCertificateChain(chain);
    }
    ms[BENCH_PROBE_CHAIN] += agent_bench_now_ms() - t3;
}

/* One pass over LocalMachine\My with the calls capture_win32.c's store loop makes, each kind
 * timed apart; adds to ms[]. -1 when the store does not open. */
static int bench_probe_store(double *ms)
{
    double t0 = agent_bench_now_ms();
    HCERTSTORE store = CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0,
                                     CERT_SYSTEM_STORE_LOCAL_MACHINE | CERT_STORE_READONLY_FLAG |
                                         CERT_STORE_OPEN_EXISTING_FLAG,
                                     L"MY");
    ms[BENCH_PROBE_OPEN] += agent_bench_now_ms() - t0;
    if (store == NULL) {
        fprintf(stderr, "agent_collect: cannot open LocalMachine\\My (Windows error %lu)\n",
                (unsigned long)GetLastError());
        return -1;
    }
    PCCERT_CONTEXT c = NULL;
    for (;;) {
        double t1 = agent_bench_now_ms();
        c = CertEnumCertificatesInStore(store, c);
        ms[BENCH_PROBE_ENUM] += agent_bench_now_ms() - t1;
        if (c == NULL) {
            break;
        }
        bench_probe_cert(c, ms);
    }
    double t2 = agent_bench_now_ms();
    CertCloseStore(store, 0);
    ms[BENCH_PROBE_OPEN] += agent_bench_now_ms() - t2;
    return 0;
}

int agent_bench_live(long iterations)
{
    struct bench_live live = {{bench_netsh_timed, NULL}, agent_netsh_system_runner(), 0};
    live.timed.ctx = &live;
    struct agent_bench_source src = {bench_read_live, &live, bench_live_keys,
                                     BENCH_LIVE_EXTRA_COUNT};
    struct agent_bench_result res;
    if (agent_bench_run(&src, iterations, &res) != 0) {
        return 1;
    }
    /* After the cycles (and their peak): the probe's passes must not warm them. */
    double probe[BENCH_PROBE_COUNT] = {0};
    long passes = iterations < BENCH_PROBE_PASSES ? iterations : BENCH_PROBE_PASSES;
    for (long p = 0; p < passes; p++) {
        if (bench_probe_store(probe) != 0) {
            return 1;
        }
    }
    agent_bench_print(stdout, &src, &res);
    printf(" probe_passes=%ld", passes);
    for (int k = 0; k < BENCH_PROBE_COUNT; k++) {
        printf(" %s=%.2f", bench_probe_keys[k], probe[k] / (double)passes);
    }
    putchar('\n');
    return 0;
}
