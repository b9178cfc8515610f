/*
 * fuzz_clientcert: what the Windows client-certificate path reads from outside. The bytes are
 * decoded as both certificate-template extensions (DER from any certificate in the store),
 * read as a thumbprint, and, split on NUL, applied as registry policy name/value pairs
 * followed by the Windows and POSIX checks. Every answer must leave NUL-terminated text, a
 * thumbprint that is accepted must be 40 upper-case hex digits, and nothing may crash.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent_config.h"
#include "clientcert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_PAIRS 16

static void fuzz_templates(const uint8_t *data, size_t size)
{
    char out[AGENT_CONFIG_TEMPLATE_BYTES];
    char tiny[6];
    (void)agent_clientcert_template_oid(data, size, out, sizeof(out));
    if (strnlen(out, sizeof(out)) == sizeof(out)) {
        abort();
    }
    (void)agent_clientcert_template_oid(data, size, tiny, sizeof(tiny));
    (void)agent_clientcert_template_name(data, size, out, sizeof(out));
    if (strnlen(out, sizeof(out)) == sizeof(out)) {
        abort();
    }
    (void)agent_clientcert_template_name(data, size, tiny, sizeof(tiny));
    if (strnlen(tiny, sizeof(tiny)) == sizeof(tiny)) {
        abort();
    }
}

static void fuzz_thumbprint(const char *text)
{
    char out[41];
    if (agent_config_thumbprint(text, out) != PROTO_OK) {
        return;
    }
    if (strlen(out) != 40 || strspn(out, "0123456789ABCDEF") != 40) {
        abort();
    }
}

static void fuzz_pairs(const char *text, size_t size, bool numeric)
{
    struct agent_config cfg;
    struct proto_conf conf;
    struct agent_config_pair pairs[FUZZ_MAX_PAIRS];
    char err[256];
    size_t n = 0;
    const char *p = text;
    while (n < FUZZ_MAX_PAIRS && p < text + size) {
        const char *key = p;
        p += strlen(p) + 1;
        const char *value = p <= text + size ? p : "";
        p += p <= text + size ? strlen(p) + 1 : 0;
        pairs[n].key = key;
        pairs[n].value = value;
        pairs[n].numeric = numeric && (n % 2 == 0);
        n++;
    }
    if (agent_config_init(&cfg, &conf) != PROTO_OK) {
        return;
    }
    err[0] = 'x';
    (void)agent_config_apply_pairs(&conf, PROTO_CONF_FROM_REGISTRY, AGENT_CONFIG_POLICY_KEY, pairs,
                                   n, err, sizeof(err));
    if (strnlen(err, sizeof(err)) == sizeof(err)) {
        abort();
    }
    err[0] = 'x';
    (void)agent_config_validate_on(&cfg, AGENT_CONFIG_WINDOWS, err, sizeof(err));
    if (strnlen(err, sizeof(err)) == sizeof(err)) {
        abort();
    }
    (void)agent_config_validate_on(&cfg, AGENT_CONFIG_POSIX, err, sizeof(err));
    struct agent_clientcert_want want;
    if (agent_clientcert_want_init(&want, &cfg, "rras01.corp.contoso.com", 0) == PROTO_OK) {
        size_t chosen = 0;
        (void)agent_clientcert_choose(&want, NULL, 0, &chosen, err, sizeof(err));
        agent_clientcert_want_clear(&want);
    }
    proto_conf_free(&conf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384) {
        return 0;
    }
    fuzz_templates(data, size);
    char *text = malloc(size + 1);
    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    fuzz_thumbprint(text);
    fuzz_pairs(text, size, size > 0 && (data[0] & 1) != 0);
    free(text);
    return 0;
}
