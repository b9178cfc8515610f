/*
 * serve: runs the collector in the foreground and owns the start and stop order:
 * database lock -> store -> retention and checkpointer -> writer -> server -> integrity check
 * (decision 016: a database that fails it stops the server and the exit status is 1). On
 * SIGTERM/SIGINT the server stops accepting and finishes in-flight requests, then the writer
 * drains, the checkpointer runs a last checkpoint and the store closes, so every report answered
 * 202 is committed before exit. This is the only file that knows every subsystem: it wires the
 * API's router into the server's handler seam (net never sees the API).
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "api_ctx.h"
#include "app.h"
#include "checkpoint.h"
#include "collector_config.h"
#include "dblock.h"
#include "log.h"
#include "retention.h"
#include "router.h"
#include "server.h"
#include "sign.h"
#include "version.h"

static struct col_server *running_server;
/* Set by the integrity check's thread when the database failed it (decision 016). */
static atomic_bool serve_db_corrupt;

static void serve_on_signal(int sig)
{
    (void)sig;
    if (running_server != NULL) {
        col_server_stop(running_server);
    }
}

/* The store's integrity check ended (on its thread): a database that failed it is not served. */
static void serve_on_check(void *ctx, bool ok)
{
    const struct col_config *cfg = ctx;
    if (ok) {
        return;
    }
    col_log(COL_LOG_ERROR,
            "database %s failed its integrity check (PRAGMA quick_check); refusing to serve it: "
            "stop, restore the database from a backup (or recover it with sqlite3 .recover), "
            "then start again",
            cfg->db);
    atomic_store(&serve_db_corrupt, true);
    if (running_server != NULL) {
        col_server_stop(running_server);
    }
}

static void serve_handle(void *ctx, const struct col_http_request *req, const struct col_peer *peer,
                         struct col_http_response *resp)
{
    col_router_handle(ctx, req, peer, resp);
}

/* The server's non-blocking seam, onto the router's: whatever route began the op finishes it. */
static enum col_server_begin_result serve_begin(void *ctx, const struct col_http_request *req,
                                                const struct col_peer *peer,
                                                struct col_http_response *resp,
                                                col_server_done_fn done, void *done_arg, void **op)
{
    struct col_api_op *api_op = NULL;
    enum col_api_begin_result r = col_router_begin(ctx, req, peer, resp, done, done_arg, &api_op);
    *op = api_op;
    switch (r) {
    case COL_API_PENDING:
        return COL_SERVER_BEGIN_PENDING;
    case COL_API_ANSWERED:
        return COL_SERVER_BEGIN_ANSWERED;
    case COL_API_NOT_HERE:
        break;
    }
    return COL_SERVER_BEGIN_NOT_HERE;
}

static bool serve_finish(void *ctx, void *op, struct col_http_response *resp)
{
    (void)ctx;
    return col_router_finish(op, resp);
}

int col_app_serve(int argc, char **argv)
{
    struct col_config cfg;
    struct proto_conf conf = {0};
    struct col_api_ctx app = {0};
    struct col_server *server = NULL;
    struct col_retention *retention = NULL;
    struct col_checkpoint *checkpoint = NULL;
    struct col_dblock *lock = NULL;
    struct col_server_config scfg;
    char err[512] = "";
    int rest = 0;
    int exit_code = 1;

    if (col_app_load_config("serve", argc, argv, &cfg, &conf, &rest) != 0) {
        return COL_APP_EXIT_USAGE;
    }
    if (rest != 0) {
        fprintf(stderr, "rrasfleet-collector serve: unexpected argument: %s\n", argv[0]);
        exit_code = COL_APP_EXIT_USAGE;
        goto out;
    }
    if (col_log_set_level_name(cfg.log_level) != PROTO_OK) {
        fprintf(stderr, "rrasfleet-collector serve: log_level: expected error|warn|info|debug\n");
        exit_code = COL_APP_EXIT_USAGE;
        goto out;
    }
    if (cfg.tls_cert[0] == '\0' || cfg.tls_key[0] == '\0' || cfg.client_ca[0] == '\0') {
        fprintf(stderr,
                "rrasfleet-collector serve: tls_cert, tls_key and client_ca are required\n");
        exit_code = COL_APP_EXIT_USAGE;
        goto out;
    }
    app.config = &cfg;
    app.policy.expiry_days = (unsigned)cfg.expiry_days;
    if (cfg.expected_ca[0] != '\0') {
        if (proto_dn_parse(cfg.expected_ca, &app.policy.expected_ca) != PROTO_OK) {
            fprintf(stderr, "rrasfleet-collector serve: expected_ca: not a distinguished name\n");
            exit_code = COL_APP_EXIT_USAGE;
            goto out;
        }
        app.policy.has_expected_ca = true;
    }
    if (cfg.profile_signing_key[0] != '\0' &&
        proto_sign_key_load(cfg.profile_signing_key, &app.signing_key, err, sizeof(err)) !=
            PROTO_OK) {
        fprintf(stderr, "rrasfleet-collector serve: profile_signing_key: %s\n", err);
        exit_code = COL_APP_EXIT_USAGE;
        goto out;
    }
    /* Before the store opens (and migrates): one collector per database. */
    if (col_dblock_take(cfg.db, &lock, err, sizeof(err)) != PROTO_OK) {
        col_log(COL_LOG_ERROR, "%s", err);
        goto out;
    }
    app.metrics = col_metrics_create();
    if (app.metrics == NULL) {
        col_log(COL_LOG_ERROR, "cannot allocate the metrics");
        goto out;
    }
    struct col_store_options sopt = {cfg.allow_readable_db,
                                     (uint64_t)cfg.db_max_mb * 1024u * 1024u};
    if (col_store_open_with(cfg.db, &sopt, &app.store, err, sizeof(err)) != PROTO_OK) {
        col_log(COL_LOG_ERROR, "cannot open the database %s: %s", cfg.db, err);
        goto out;
    }
    col_store_set_metrics(app.store, app.metrics);
    if (col_retention_start(app.store, cfg.retention_days, &retention) != PROTO_OK) {
        col_log(COL_LOG_ERROR, "cannot start the retention thread");
        goto out;
    }
    if (col_checkpoint_start(app.store, cfg.wal_checkpoint_pages, app.metrics, &checkpoint) !=
        PROTO_OK) {
        col_log(COL_LOG_ERROR, "cannot start the checkpoint thread");
        goto out;
    }
    if (col_snapcache_create((size_t)cfg.known_snapshots, &app.snapshots) != PROTO_OK) {
        col_log(COL_LOG_ERROR, "cannot allocate the known-snapshot cache");
        goto out;
    }
    struct col_writer_config wcfg = {cfg.writer_queue_max, cfg.writer_batch_max};
    if (col_writer_create(app.store, &wcfg, &app.writer) != PROTO_OK) {
        col_log(COL_LOG_ERROR, "cannot start the writer");
        goto out;
    }
    col_server_config_from(&scfg, &cfg);
    scfg.handler = serve_handle;
    scfg.begin = serve_begin;
    scfg.finish = serve_finish;
    scfg.handler_ctx = &app;
    scfg.metrics = app.metrics;
    if (col_server_create(&scfg, &server, err, sizeof(err)) != PROTO_OK) {
        col_log(COL_LOG_ERROR, "cannot start the server: %s", err);
        goto out;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = serve_on_signal;
    sigemptyset(&sa.sa_mask);
    running_server = server;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* In the background (decision 016: seconds at 100,000 hosts); /healthz answers 503 until
     * it passes, and a failure stops the server. */
    if (col_store_check_start(app.store, serve_on_check, &cfg) != PROTO_OK) {
        col_log(COL_LOG_ERROR, "cannot start the database integrity check");
        goto out;
    }

    col_log(COL_LOG_INFO,
            "rrasfleet-collector %s: agents on %s (port %u), admin on %s (port %u), db %s",
            col_version(), cfg.listen, col_server_port(server, COL_LISTENER_AGENT),
            cfg.admin_listen, col_server_port(server, COL_LISTENER_ADMIN), cfg.db);
    /* Test harnesses wait for this line on stdout to learn the ports. */
    printf("listening agent=%u admin=%u\n", col_server_port(server, COL_LISTENER_AGENT),
           col_server_port(server, COL_LISTENER_ADMIN));
    fflush(stdout);

    enum proto_rc rc = col_server_run(server);
    running_server = NULL;
    bool corrupt = atomic_load(&serve_db_corrupt);
    col_log(corrupt ? COL_LOG_ERROR : COL_LOG_INFO, "stopping: %s",
            rc        ? proto_rc_str(rc)
            : corrupt ? "the database failed its integrity check"
                      : "signal");
    exit_code = rc || corrupt ? 1 : 0;
out:
    col_server_destroy(server);
    col_retention_stop(retention);
    col_writer_destroy(app.writer);  /* drains the queue: committed before exit */
    col_checkpoint_stop(checkpoint); /* after the writer: a last checkpoint of what it wrote */
    col_metrics_destroy(app.metrics);
    col_snapcache_destroy(app.snapshots);
    col_store_close(app.store); /* interrupts an integrity check still running */
    col_dblock_release(lock);
    proto_policy_clear(&app.policy);
    proto_sign_key_destroy(app.signing_key);
    proto_conf_free(&conf);
    return exit_code;
}
