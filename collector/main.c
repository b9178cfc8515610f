/*
 * rrasfleet-collector: command dispatch and the `serve` lifecycle.
 *
 *   serve [--config FILE] [--<setting> VALUE ...]   run the collector in the foreground
 *   token create|list|revoke --db FILE ...          local token administration (bootstrap)
 *   config [--config FILE] [--print | --markdown]   effective settings, or the reference doc
 *   version
 *
 * `serve` owns the start and stop order: store -> retention and checkpointer -> writer ->
 * server; on SIGTERM/SIGINT the server stops accepting and finishes in-flight requests, then the
 * writer drains, the checkpointer runs a last checkpoint and the store closes, so every report
 * answered 202 is committed before exit.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "app.h"
#include "checkpoint.h"
#include "collector_config.h"
#include "log.h"
#include "retention.h"
#include "router.h"
#include "server.h"
#include "table_render.h"
#include "version.h"

#define EXIT_USAGE 2

static struct col_server *running_server;

static void main_on_signal(int sig)
{
    (void)sig;
    if (running_server != NULL) {
        col_server_stop(running_server);
    }
}

static void main_handle(void *ctx, const struct col_http_request *req, const struct col_peer *peer,
                        struct col_http_response *resp)
{
    col_router_handle(ctx, req, peer, resp);
}

static enum col_server_begin_result main_begin(void *ctx, const struct col_http_request *req,
                                               const struct col_peer *peer,
                                               struct col_http_response *resp,
                                               col_server_done_fn done, void *done_arg, void **op)
{
    struct col_api_report_op *report_op = NULL;
    enum col_api_begin_result r =
        col_router_begin(ctx, req, peer, resp, done, done_arg, &report_op);
    *op = report_op;
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

static bool main_finish(void *ctx, void *op, struct col_http_response *resp)
{
    (void)ctx;
    return col_router_finish(op, resp);
}

static void main_usage(FILE *to)
{
    fputs("usage: rrasfleet-collector COMMAND [options]\n"
          "  serve [--config FILE] [--SETTING VALUE ...]  run the collector (foreground)\n"
          "  token create --db FILE --role viewer|operator|approver --name NAME\n"
          "  token list --db FILE\n"
          "  token revoke --db FILE ID\n"
          "  config [--config FILE] [--SETTING VALUE ...] --print | --markdown\n"
          "  version\n"
          "settings: see docs/collector-config.md or `rrasfleet-collector config --markdown`\n",
          to);
}

/* Pulls "--config FILE" out of argv (anywhere) so the rest can go to the config table. */
static const char *main_take_config_path(int *argc, char **argv)
{
    const char *path = NULL;
    int w = 0;
    for (int r = 0; r < *argc; r++) {
        if (strcmp(argv[r], "--config") == 0 && r + 1 < *argc) {
            path = argv[++r];
        } else if (strncmp(argv[r], "--config=", 9) == 0) {
            path = argv[r] + 9;
        } else {
            argv[w++] = argv[r];
        }
    }
    *argc = w;
    return path;
}

static int main_load_config(const char *command, int argc, char **argv, struct col_config *cfg,
                            struct proto_conf *conf, int *rest)
{
    char err[512] = "";
    const char *path = main_take_config_path(&argc, argv);
    enum proto_rc rc = col_config_load(cfg, conf, path, argc, argv, 0, rest, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "rrasfleet-collector %s: %s\n", command, err[0] ? err : proto_rc_str(rc));
        return EXIT_USAGE;
    }
    return 0;
}

static int main_serve(int argc, char **argv)
{
    struct col_config cfg;
    struct proto_conf conf = {0};
    struct col_app app = {0};
    struct col_server *server = NULL;
    struct col_retention *retention = NULL;
    struct col_checkpoint *checkpoint = NULL;
    struct col_server_config scfg;
    char err[512] = "";
    int rest = 0;
    int exit_code = 1;

    if (main_load_config("serve", argc, argv, &cfg, &conf, &rest) != 0) {
        return EXIT_USAGE;
    }
    if (rest != 0) {
        fprintf(stderr, "rrasfleet-collector serve: unexpected argument: %s\n", argv[0]);
        exit_code = EXIT_USAGE;
        goto out;
    }
    if (col_log_set_level_name(cfg.log_level) != PROTO_OK) {
        fprintf(stderr, "rrasfleet-collector serve: log_level: expected error|warn|info|debug\n");
        exit_code = EXIT_USAGE;
        goto out;
    }
    if (cfg.tls_cert[0] == '\0' || cfg.tls_key[0] == '\0' || cfg.client_ca[0] == '\0') {
        fprintf(stderr,
                "rrasfleet-collector serve: tls_cert, tls_key and client_ca are required\n");
        exit_code = EXIT_USAGE;
        goto out;
    }
    app.config = &cfg;
    app.policy.expiry_days = (unsigned)cfg.expiry_days;
    if (cfg.expected_ca[0] != '\0') {
        if (proto_dn_parse(cfg.expected_ca, &app.policy.expected_ca) != PROTO_OK) {
            fprintf(stderr, "rrasfleet-collector serve: expected_ca: not a distinguished name\n");
            exit_code = EXIT_USAGE;
            goto out;
        }
        app.policy.has_expected_ca = true;
    }
    if (col_store_open(cfg.db, &app.store, err, sizeof(err)) != PROTO_OK) {
        col_log(COL_LOG_ERROR, "cannot open the database %s: %s", cfg.db, err);
        goto out;
    }
    app.metrics = col_metrics_create();
    if (app.metrics == NULL) {
        col_log(COL_LOG_ERROR, "cannot allocate the metrics");
        goto out;
    }
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
    scfg.handler = main_handle;
    scfg.begin = main_begin;
    scfg.finish = main_finish;
    scfg.handler_ctx = &app;
    scfg.metrics = app.metrics;
    if (col_server_create(&scfg, &server, err, sizeof(err)) != PROTO_OK) {
        col_log(COL_LOG_ERROR, "cannot start the server: %s", err);
        goto out;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = main_on_signal;
    sigemptyset(&sa.sa_mask);
    running_server = server;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

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
    col_log(COL_LOG_INFO, "stopping: %s", rc ? proto_rc_str(rc) : "signal");
    exit_code = rc ? 1 : 0;
out:
    col_server_destroy(server);
    col_retention_stop(retention);
    col_writer_destroy(app.writer);  /* drains the queue: committed before exit */
    col_checkpoint_stop(checkpoint); /* after the writer: a last checkpoint of what it wrote */
    col_metrics_destroy(app.metrics);
    col_snapcache_destroy(app.snapshots);
    col_store_close(app.store);
    proto_policy_clear(&app.policy);
    proto_conf_free(&conf);
    return exit_code;
}

/* token create|list|revoke --db FILE: local administration, for the first approver token. */
static int main_token(int argc, char **argv)
{
    const char *db = NULL, *role_name = NULL, *name = NULL, *id = NULL;
    if (argc < 1) {
        main_usage(stderr);
        return EXIT_USAGE;
    }
    const char *verb = argv[0];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
            db = argv[++i];
        } else if (strcmp(argv[i], "--role") == 0 && i + 1 < argc) {
            role_name = argv[++i];
        } else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc) {
            name = argv[++i];
        } else if (argv[i][0] != '-' && id == NULL) {
            id = argv[i];
        } else {
            fprintf(stderr, "rrasfleet-collector token: unexpected argument: %s\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (db == NULL) {
        fputs("rrasfleet-collector token: --db FILE is required\n", stderr);
        return EXIT_USAGE;
    }
    struct col_store *st = NULL;
    char err[512] = "";
    if (col_store_open(db, &st, err, sizeof(err)) != PROTO_OK) {
        fprintf(stderr, "rrasfleet-collector token: cannot open %s: %s\n", db, err);
        return 1;
    }
    int exit_code = 0;
    if (strcmp(verb, "create") == 0) {
        enum col_role role = role_name ? col_role_from_str(role_name) : COL_ROLE_NONE;
        if (role == COL_ROLE_NONE || name == NULL || name[0] == '\0') {
            fputs("rrasfleet-collector token create: --role viewer|operator|approver and --name "
                  "NAME are required\n",
                  stderr);
            exit_code = EXIT_USAGE;
        } else {
            char token[COL_TOKEN_MAX], token_id[32];
            if (col_store_token_create(st, role, name, "local:rrasfleet-collector", token,
                                       token_id) != PROTO_OK) {
                fputs("rrasfleet-collector token create: failed\n", stderr);
                exit_code = 1;
            } else {
                printf("%s\n", token);
                fprintf(stderr, "token %s (%s, %s) created; it is shown only once\n", token_id,
                        name, col_role_str(role));
            }
        }
    } else if (strcmp(verb, "list") == 0) {
        struct col_table *table = NULL;
        struct proto_buf out;
        proto_buf_init(&out, 16u * 1024u * 1024u);
        if (col_store_token_list(st, &table) != PROTO_OK ||
            col_table_render_csv(table, &out) != PROTO_OK) {
            fputs("rrasfleet-collector token list: failed\n", stderr);
            exit_code = 1;
        } else {
            fputs(proto_buf_str(&out), stdout);
        }
        col_table_destroy(table);
        proto_buf_free(&out);
    } else if (strcmp(verb, "revoke") == 0 && id != NULL) {
        enum proto_rc rc = col_store_token_revoke(st, id, "local:rrasfleet-collector");
        if (rc) {
            fprintf(stderr, "rrasfleet-collector token revoke: %s\n",
                    rc == PROTO_ENOTFOUND ? "no active token with that id" : proto_rc_str(rc));
            exit_code = 1;
        }
    } else {
        main_usage(stderr);
        exit_code = EXIT_USAGE;
    }
    col_store_close(st);
    return exit_code;
}

static int main_config(int argc, char **argv)
{
    bool print = false, markdown = false;
    int w = 0;
    for (int r = 0; r < argc; r++) {
        if (strcmp(argv[r], "--print") == 0) {
            print = true;
        } else if (strcmp(argv[r], "--markdown") == 0) {
            markdown = true;
        } else {
            argv[w++] = argv[r];
        }
    }
    if (markdown) {
        proto_conf_markdown(col_config_table, col_config_table_count, stdout);
        return 0;
    }
    if (!print) {
        main_usage(stderr);
        return EXIT_USAGE;
    }
    struct col_config cfg;
    struct proto_conf conf = {0};
    int rest = 0;
    if (main_load_config("config", w, argv, &cfg, &conf, &rest) != 0) {
        return EXIT_USAGE;
    }
    proto_conf_print(&conf, stdout);
    proto_conf_free(&conf);
    return 0;
}

int main(int argc, char **argv)
{
    proto_alloc_install_cjson_hooks();
    if (argc < 2) {
        main_usage(stderr);
        return EXIT_USAGE;
    }
    const char *command = argv[1];
    if (strcmp(command, "serve") == 0) {
        return main_serve(argc - 2, argv + 2);
    }
    if (strcmp(command, "token") == 0) {
        return main_token(argc - 2, argv + 2);
    }
    if (strcmp(command, "config") == 0) {
        return main_config(argc - 2, argv + 2);
    }
    if (strcmp(command, "version") == 0 || strcmp(command, "--version") == 0) {
        printf("rrasfleet-collector %s\n", col_version());
        return 0;
    }
    if (strcmp(command, "help") == 0 || strcmp(command, "--help") == 0) {
        main_usage(stdout);
        return 0;
    }
    fprintf(stderr, "rrasfleet-collector: unknown command: %s\n", command);
    main_usage(stderr);
    return EXIT_USAGE;
}
