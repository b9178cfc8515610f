/*
 * bench_common: report bodies for the benchmarks and small helpers (see bench_common.h).
 * The template is parsed once with cJSON; each body is the template with report_id, seq,
 * host.fqdn, host.hostname and host.collected_at replaced, printed compactly, so every body
 * has the same size and shape as a real agent report. Never touches the network or a database.
 */
#include "bench_common.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"

enum proto_rc bench_host_name(unsigned h, char *out, size_t out_size)
{
    int n = snprintf(out, out_size, "rras-b%04u.bench.contoso.com", h);
    return n > 0 && (size_t)n < out_size ? PROTO_OK : PROTO_ELIMIT;
}

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum proto_rc bench_parse_uint(const char *s, unsigned long min, unsigned long max,
                               unsigned long *out)
{
    char *end = NULL;
    if (s == NULL || !isdigit((unsigned char)s[0])) {
        return PROTO_EPARSE;
    }
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0') {
        return PROTO_EPARSE;
    }
    if (v < min || v > max) {
        return PROTO_ELIMIT;
    }
    *out = v;
    return PROTO_OK;
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_percentile(double *v, size_t n, double p)
{
    if (n == 0) {
        return 0.0;
    }
    qsort(v, n, sizeof(*v), bench_cmp_double);
    double rank = p / 100.0 * (double)n;
    size_t idx = (size_t)rank;
    if ((double)idx < rank) {
        idx++; /* nearest rank: ceil(p/100 * n), 1-based */
    }
    if (idx == 0) {
        idx = 1;
    }
    if (idx > n) {
        idx = n;
    }
    return v[idx - 1];
}

uint32_t bench_nonce(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint32_t x = (uint32_t)ts.tv_sec * 2654435761u;
    x ^= (uint32_t)ts.tv_nsec;
    x ^= (uint32_t)getpid() << 16;
    return x;
}

static enum proto_rc bench_read_file(const char *path, char **out)
{
    enum proto_rc result = PROTO_EIO;
    char *data = NULL;
    size_t len = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "bench: cannot open %s\n", path);
        goto out;
    }
    data = proto_malloc(BENCH_MAX_TEMPLATE_BYTES + 1);
    if (data == NULL) {
        result = PROTO_ENOMEM;
        goto out;
    }
    len = fread(data, 1, BENCH_MAX_TEMPLATE_BYTES + 1, f);
    if (ferror(f)) {
        goto out;
    }
    if (len > BENCH_MAX_TEMPLATE_BYTES) {
        fprintf(stderr, "bench: %s is larger than %u bytes\n", path, BENCH_MAX_TEMPLATE_BYTES);
        result = PROTO_ELIMIT;
        goto out;
    }
    data[len] = '\0';
    *out = data;
    data = NULL;
    result = PROTO_OK;
out:
    if (f != NULL) {
        fclose(f);
    }
    proto_free(data);
    return result;
}

/* Replaces (or adds) obj[key] with a string. */
static enum proto_rc bench_set_str(cJSON *obj, const char *key, const char *value)
{
    cJSON *s = cJSON_CreateString(value);
    if (s == NULL) {
        return PROTO_ENOMEM;
    }
    if (cJSON_GetObjectItemCaseSensitive(obj, key) != NULL) {
        if (!cJSON_ReplaceItemInObjectCaseSensitive(obj, key, s)) {
            cJSON_Delete(s);
            return PROTO_ENOMEM;
        }
    } else if (!cJSON_AddItemToObject(obj, key, s)) {
        cJSON_Delete(s);
        return PROTO_ENOMEM;
    }
    return PROTO_OK;
}

static enum proto_rc bench_set_num(cJSON *obj, const char *key, double value)
{
    cJSON *n = cJSON_CreateNumber(value);
    if (n == NULL) {
        return PROTO_ENOMEM;
    }
    if (cJSON_GetObjectItemCaseSensitive(obj, key) != NULL) {
        if (!cJSON_ReplaceItemInObjectCaseSensitive(obj, key, n)) {
            cJSON_Delete(n);
            return PROTO_ENOMEM;
        }
    } else if (!cJSON_AddItemToObject(obj, key, n)) {
        cJSON_Delete(n);
        return PROTO_ENOMEM;
    }
    return PROTO_OK;
}

/* Fills one body: template with this host's names, a unique id and the given seq. */
static enum proto_rc bench_body_fill(cJSON *root, cJSON *host, cJSON *first_cert, unsigned h,
                                     uint32_t nonce, size_t index, size_t seq,
                                     const char *collected_at, struct bench_body *body)
{
    char fqdn[BENCH_HOST_NAME_MAX];
    char hostname[BENCH_HOST_NAME_MAX];
    char id[40];
    enum proto_rc result = bench_host_name(h, fqdn, sizeof(fqdn));
    if (result) {
        return result;
    }
    int n = snprintf(hostname, sizeof(hostname), "RRAS-B%04u", h);
    if (n < 0 || (size_t)n >= sizeof(hostname)) {
        return PROTO_ELIMIT;
    }
    /* A UUID-shaped id: nonce, then the body index; version 4 / variant 8 nibbles kept. */
    unsigned long long idx = (unsigned long long)index;
    n = snprintf(id, sizeof(id), "%08x-%04x-4%03x-8%03x-%012llx", (unsigned)nonce,
                 (unsigned)((idx >> 48) & 0xffffu), (unsigned)((idx >> 36) & 0xfffu),
                 (unsigned)((idx >> 24) & 0xfffu), idx & 0xffffffffffffull);
    if (n < 0 || (size_t)n >= sizeof(id)) {
        return PROTO_ELIMIT;
    }
    if ((result = bench_set_str(root, "report_id", id)) ||
        (result = bench_set_num(root, "seq", (double)seq)) ||
        (result = bench_set_str(host, "fqdn", fqdn)) ||
        (result = bench_set_str(host, "hostname", hostname)) ||
        (result = bench_set_str(host, "collected_at", collected_at))) {
        return result;
    }
    if (first_cert != NULL) {
        char serial[40];
        n = snprintf(serial, sizeof(serial), "%08X%016llX", (unsigned)nonce, idx);
        if (n < 0 || (size_t)n >= sizeof(serial)) {
            return PROTO_ELIMIT;
        }
        if ((result = bench_set_str(first_cert, "serial", serial))) {
            return result;
        }
    }
    body->json = cJSON_PrintUnformatted(root);
    if (body->json == NULL) {
        return PROTO_ENOMEM;
    }
    body->len = strlen(body->json);
    body->host = h;
    return PROTO_OK;
}

enum proto_rc bench_bodies_make(const char *template_path, unsigned hosts, size_t count,
                                uint32_t nonce, bool new_snapshots, struct bench_bodies *out)
{
    enum proto_rc result = PROTO_OK;
    char *text = NULL;
    cJSON *root = NULL;
    struct bench_bodies b = {0};
    char collected_at[32];

    memset(out, 0, sizeof(*out));
    if (hosts == 0 || hosts > BENCH_MAX_HOSTS || count == 0 || count > BENCH_MAX_COUNT) {
        return PROTO_EINVAL;
    }
    if ((result = bench_read_file(template_path, &text))) {
        goto out;
    }
    root = cJSON_Parse(text);
    cJSON *host = cJSON_GetObjectItemCaseSensitive(root, "host");
    if (root == NULL || !cJSON_IsObject(host)) {
        fprintf(stderr, "bench: %s is not an agent report (no host object)\n", template_path);
        result = PROTO_EPARSE;
        goto out;
    }
    cJSON *first_cert = NULL;
    if (new_snapshots) {
        cJSON *snap = cJSON_GetObjectItemCaseSensitive(root, "snapshot");
        first_cert = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(snap, "certs"), 0);
        if (!cJSON_IsObject(first_cert)) {
            fprintf(stderr, "bench: %s has no certificate to vary\n", template_path);
            result = PROTO_EPARSE;
            goto out;
        }
    }
    /* Now, so that each run's reports are the newest of their hosts (latest state updates). */
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm) == NULL ||
        strftime(collected_at, sizeof(collected_at), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        result = PROTO_EINVAL;
        goto out;
    }

    b.hosts = hosts;
    b.bodies = proto_calloc(count, sizeof(*b.bodies));
    b.first = proto_calloc(hosts, sizeof(*b.first));
    b.per_host = proto_calloc(hosts, sizeof(*b.per_host));
    if (b.bodies == NULL || b.first == NULL || b.per_host == NULL) {
        result = PROTO_ENOMEM;
        goto out;
    }
    /* Round-robin assignment, stored grouped by host. */
    for (unsigned h = 0; h < hosts; h++) {
        b.per_host[h] = count / hosts + (h < count % hosts ? 1 : 0);
        b.first[h] = h == 0 ? 0 : b.first[h - 1] + b.per_host[h - 1];
    }
    for (unsigned h = 0; h < hosts; h++) {
        for (size_t k = 0; k < b.per_host[h]; k++) {
            size_t index = b.first[h] + k;
            result = bench_body_fill(root, host, first_cert, h, nonce, index, k + 1, collected_at,
                                     &b.bodies[index]);
            if (result) {
                goto out;
            }
            b.count++;
        }
    }
    *out = b;
    memset(&b, 0, sizeof(b));
out:
    bench_bodies_free(&b);
    cJSON_Delete(root);
    proto_free(text);
    return result;
}

void bench_bodies_free(struct bench_bodies *b)
{
    if (b == NULL) {
        return;
    }
    for (size_t i = 0; i < b->count; i++) {
        cJSON_free(b->bodies[i].json);
    }
    proto_free(b->bodies);
    proto_free(b->first);
    proto_free(b->per_host);
    memset(b, 0, sizeof(*b));
}
