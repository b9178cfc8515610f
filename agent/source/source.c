/*
 * source: the capture-bundle source (see source.h).
 */
#include "source.h"

#include "bundle.h"

enum proto_rc agent_source_read_bundle(const char *dir, struct proto_snapshot **out)
{
    return proto_bundle_read(dir, out);
}

enum proto_rc agent_source_read(const struct agent_config *cfg, struct proto_snapshot **out)
{
    const char *dir = NULL;
    *out = NULL;
    if (agent_config_bundle_dir(cfg, &dir) != PROTO_OK) {
        return PROTO_EUNSUPPORTED;
    }
    return agent_source_read_bundle(dir, out);
}
