/*
 * rrasfleet-collector: command dispatch only (the commands live in app/).
 *
 *   serve [--config FILE] [--<setting> VALUE ...]   run the collector in the foreground
 *   token create|list|revoke --db FILE ...          local token administration (bootstrap)
 *   config [--config FILE] [--print | --markdown]   effective settings, or the reference doc
 *   version
 */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "app.h"
#include "version.h"

int main(int argc, char **argv)
{
    proto_alloc_install_cjson_hooks();
    if (argc < 2) {
        col_app_usage(stderr);
        return COL_APP_EXIT_USAGE;
    }
    const char *command = argv[1];
    if (strcmp(command, "serve") == 0) {
        return col_app_serve(argc - 2, argv + 2);
    }
    if (strcmp(command, "token") == 0) {
        return col_app_token(argc - 2, argv + 2);
    }
    if (strcmp(command, "profile") == 0) {
        return col_app_profile(argc - 2, argv + 2);
    }
    if (strcmp(command, "keys") == 0) {
        return col_app_keys(argc - 2, argv + 2);
    }
    if (strcmp(command, "config") == 0) {
        return col_app_config(argc - 2, argv + 2);
    }
    if (strcmp(command, "version") == 0 || strcmp(command, "--version") == 0) {
        printf("rrasfleet-collector %s\n", col_version());
        return 0;
    }
    if (strcmp(command, "help") == 0 || strcmp(command, "--help") == 0) {
        col_app_usage(stdout);
        return 0;
    }
    fprintf(stderr, "rrasfleet-collector: unknown command: %s\n", command);
    col_app_usage(stderr);
    return COL_APP_EXIT_USAGE;
}
