/*
 * fuzz_agent_config: the agent's settings come from files and flags written by people. The
 * bytes, split on NUL, become the values of source, collector_url, pinned_pubkey, proxy,
 * expected_ca and log_level (through proto_conf_set, as a file or flag would set them), and
 * agent_config_validate then judges them: it must answer, never crash, and always write a
 * NUL-terminated reason when it refuses.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent_config.h"
#include "alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const keys[] = {"collector_url", "pinned_pubkey", "source",
                                       "proxy",         "expected_ca",   "log_level"};
    struct agent_config cfg;
    struct proto_conf conf;
    char err[256];
    if (size > 16384) {
        return 0;
    }
    char *text = malloc(size + 1);
    if (text == NULL || agent_config_init(&cfg, &conf) != PROTO_OK) {
        free(text);
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    /* the settings validate needs, so that the fuzzed ones are what it judges */
    proto_conf_set(&conf, "source", "/bundle", PROTO_CONF_FROM_FLAG, err, sizeof(err));
    proto_conf_set(&conf, "collector_url", "https://c:1", PROTO_CONF_FROM_FLAG, err, sizeof(err));
    proto_conf_set(&conf, "ca_file", "ca", PROTO_CONF_FROM_FLAG, err, sizeof(err));
    proto_conf_set(&conf, "client_cert", "c", PROTO_CONF_FROM_FLAG, err, sizeof(err));
    proto_conf_set(&conf, "client_key", "k", PROTO_CONF_FROM_FLAG, err, sizeof(err));
    proto_conf_set(&conf, "spool_dir", "s", PROTO_CONF_FROM_FLAG, err, sizeof(err));
    const char *p = text;
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]) && p <= text + size; k++) {
        proto_conf_set(&conf, keys[k], p, PROTO_CONF_FROM_FILE, err, sizeof(err));
        p += strlen(p) + 1;
    }
    err[0] = 'x';
    if (agent_config_validate(&cfg, err, sizeof(err)) != PROTO_OK &&
        strnlen(err, sizeof(err)) == sizeof(err)) {
        abort();
    }
    const char *dir = NULL;
    (void)agent_config_bundle_dir(&cfg, &dir);
    proto_conf_free(&conf);
    free(text);
    return 0;
}
