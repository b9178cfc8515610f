/*
 * commands: the collector's commands other than serve: local token administration (the first
 * approver token is made here, before any API caller exists) and the settings reference, plus
 * the usage text and the settings loader they share with serve.
 */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "app.h"
#include "collector_config.h"
#include "render.h"
#include "store.h"

void col_app_usage(FILE *to)
{
    fputs("usage: rrasfleet-collector COMMAND [options]\n"
          "  serve [--config FILE] [--SETTING VALUE ...]  run the collector (foreground)\n"
          "  token create --db FILE --role viewer|operator|approver --name NAME\n"
          "  token list --db FILE\n"
          "  token revoke --db FILE ID\n"
          "  profile build --bundle DIR --expected-ca DN --server-address ADDR --key FILE\n"
          "                --serial N [--mode dry-run|apply] [--expires-in 72h] -o FILE\n"
          "  keys init --dir DIR   the profile-signing key pair (prints its key_id)\n"
          "  config [--config FILE] [--SETTING VALUE ...] --print | --markdown\n"
          "  version\n"
          "settings: see docs/collector-config.md or `rrasfleet-collector config --markdown`\n",
          to);
}

/* Pulls "--config FILE" out of argv (anywhere) so the rest can go to the config table. */
static const char *app_take_config_path(int *argc, char **argv)
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

int col_app_load_config(const char *command, int argc, char **argv, struct col_config *cfg,
                        struct proto_conf *conf, int *rest)
{
    char err[512] = "";
    const char *path = app_take_config_path(&argc, argv);
    enum proto_rc rc = col_config_load(cfg, conf, path, argc, argv, 0, rest, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "rrasfleet-collector %s: %s\n", command, err[0] ? err : proto_rc_str(rc));
        return COL_APP_EXIT_USAGE;
    }
    return 0;
}

/* token create|list|revoke --db FILE: local administration, for the first approver token. */
int col_app_token(int argc, char **argv)
{
    const char *db = NULL, *role_name = NULL, *name = NULL, *id = NULL;
    if (argc < 1) {
        col_app_usage(stderr);
        return COL_APP_EXIT_USAGE;
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
            return COL_APP_EXIT_USAGE;
        }
    }
    if (db == NULL) {
        fputs("rrasfleet-collector token: --db FILE is required\n", stderr);
        return COL_APP_EXIT_USAGE;
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
            exit_code = COL_APP_EXIT_USAGE;
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
        col_app_usage(stderr);
        exit_code = COL_APP_EXIT_USAGE;
    }
    col_store_close(st);
    return exit_code;
}

int col_app_config(int argc, char **argv)
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
        col_app_usage(stderr);
        return COL_APP_EXIT_USAGE;
    }
    struct col_config cfg;
    struct proto_conf conf = {0};
    int rest = 0;
    if (col_app_load_config("config", w, argv, &cfg, &conf, &rest) != 0) {
        return COL_APP_EXIT_USAGE;
    }
    proto_conf_print(&conf, stdout);
    proto_conf_free(&conf);
    return 0;
}
