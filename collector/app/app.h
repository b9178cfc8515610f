/*
 * app: the collector's commands behind main.c's dispatch: `serve` (the wiring of store, jobs,
 * writer, API and server, and their start and stop order), local token administration and the
 * settings reference. Each returns the process exit status (0, 1 failure, 2 usage).
 */
#ifndef COL_APP_H
#define COL_APP_H

#include <stdio.h>

#define COL_APP_EXIT_USAGE 2

/* serve [--config FILE] [--SETTING VALUE ...]: runs until SIGTERM/SIGINT. */
int col_app_serve(int argc, char **argv);
/* token create|list|revoke --db FILE ...: local administration, for the first approver token. */
int col_app_token(int argc, char **argv);
/* config [--config FILE] [--SETTING VALUE ...] --print | --markdown */
int col_app_config(int argc, char **argv);
/* profile build --bundle DIR ...: a signed fix for one capture bundle (cmd_profile.c). */
int col_app_profile(int argc, char **argv);
int col_app_keys(int argc, char **argv); /* keys init --dir DIR: the signing key (cmd_keys.c) */
void col_app_usage(FILE *to);

/* Loads the settings of `command` from "--config FILE" (anywhere in argv) and the flags; on
 * failure prints why to stderr and returns COL_APP_EXIT_USAGE. *rest: arguments left over. */
struct col_config;
struct proto_conf;
int col_app_load_config(const char *command, int argc, char **argv, struct col_config *cfg,
                        struct proto_conf *conf, int *rest);

#endif
