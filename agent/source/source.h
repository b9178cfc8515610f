/*
 * source: where the agent's snapshot comes from: a capture bundle (DESIGN §5), read by proto's
 * bundle reader on any OS, or the live Windows host (crypt32, registry, netsh), captured by
 * capture_win32.c and derived by capture.c with the same parsers. run and the commands never
 * know which one they read. Returns a new snapshot; never diagnoses, never sends.
 */
#ifndef AGENT_SOURCE_H
#define AGENT_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "agent_config.h"
#include "model.h"
#include "rc.h"

/* The snapshot of the capture bundle in folder `dir`. Caller destroys *out with
 * proto_snapshot_destroy. PROTO_ENOTFOUND when dir is not a folder. */
enum proto_rc agent_source_read_bundle(const char *dir, struct proto_snapshot **out);

/* Whether this build can read the live host (Windows builds only). */
bool agent_source_live_available(void);

/* The snapshot of this host, read live; `now` is its collected_at (0: left unset for the
 * caller). What cannot be read is an error entry in the snapshot; the call fails only with
 * PROTO_ENOMEM, or PROTO_EUNSUPPORTED on a build without a live source. Caller destroys *out. */
enum proto_rc agent_source_read_live(int64_t now, struct proto_snapshot **out);

/* The snapshot the `source` setting names: "live", or a bundle (bundle:DIR or DIR).
 * PROTO_EUNSUPPORTED for a source kind this build cannot read; otherwise as the readers above.
 * A live snapshot's collected_at is left for the caller, which owns the clock. */
enum proto_rc agent_source_read(const struct agent_config *cfg, struct proto_snapshot **out);

#endif
