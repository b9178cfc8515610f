/*
 * api_ctx: the collector's long-lived state shared by every connection thread: configuration,
 * store, writer, metrics, the known-snapshot cache and the fleet policy. Created once by `serve`,
 * destroyed after the server has stopped and every connection thread has finished. Threads only
 * read the pointers.
 */
#ifndef COL_API_CTX_H
#define COL_API_CTX_H

#include "collector_config.h"
#include "diagnose.h"
#include "metrics.h"
#include "sign.h"
#include "snapcache.h"
#include "store.h"
#include "writer.h"

struct col_api_ctx {
    const struct col_config *config; /* borrowed */
    struct col_store *store;         /* owned by serve */
    struct col_writer *writer;       /* owned by serve */
    struct col_metrics *metrics;     /* owned by serve */
    struct col_snapcache *snapshots; /* owned by serve; NULL: every report decoded in full */
    struct proto_policy policy;      /* fleet policy for the diagnosis at ingest */
    /* Signs remediation profiles (profile_signing_key); owned by serve; NULL: remediation is
     * off and the profile endpoints answer 503. */
    struct proto_sign_key *signing_key;
};

#endif
