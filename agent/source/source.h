/*
 * source: where the agent's snapshot comes from. Today a capture bundle (DESIGN §5), read by
 * proto's bundle reader on any OS; the live Windows host (crypt32, registry, netsh) plugs in
 * here as source_*_win32.c, so run and the commands never know which one they read. Returns a
 * new snapshot; never diagnoses, never sends.
 */
#ifndef AGENT_SOURCE_H
#define AGENT_SOURCE_H

#include "agent_config.h"
#include "model.h"
#include "rc.h"

/* The snapshot of the capture bundle in folder `dir`. Caller destroys *out with
 * proto_snapshot_destroy. PROTO_ENOTFOUND when dir is not a folder. */
enum proto_rc agent_source_read_bundle(const char *dir, struct proto_snapshot **out);

/* The snapshot the `source` setting names (bundle:DIR or DIR). PROTO_EUNSUPPORTED for a source
 * kind this build cannot read; otherwise as agent_source_read_bundle. */
enum proto_rc agent_source_read(const struct agent_config *cfg, struct proto_snapshot **out);

#endif
