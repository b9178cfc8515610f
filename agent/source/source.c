/*
 * source: picks the capture-bundle or the live source (see source.h).
 */
#include "source.h"

#include <string.h>

#include "bundle.h"
#include "capture.h"

enum proto_rc agent_source_read_bundle(const char *dir, struct proto_snapshot **out)
{
    return proto_bundle_read(dir, out);
}

bool agent_source_live_available(void)
{
#ifdef _WIN32
    return true;
#else
    return false;
#endif
}

enum proto_rc agent_source_read_live(int64_t now, struct proto_snapshot **out)
{
    struct agent_capture *cap = NULL;
    struct agent_capture_live_options opts = {now, NULL, 0, true};
    *out = NULL;
    enum proto_rc result = agent_capture_live(&opts, &cap);
    if (result == PROTO_OK) {
        result = agent_capture_snapshot(cap, out);
    }
    agent_capture_destroy(cap);
    return result;
}

enum proto_rc agent_source_read(const struct agent_config *cfg, struct proto_snapshot **out)
{
    const char *dir = NULL;
    *out = NULL;
    if (strcmp(cfg->source, AGENT_CONFIG_SOURCE_LIVE) == 0) {
        return agent_source_read_live(0, out);
    }
    if (agent_config_bundle_dir(cfg, &dir) != PROTO_OK) {
        return PROTO_EUNSUPPORTED;
    }
    return agent_source_read_bundle(dir, out);
}
