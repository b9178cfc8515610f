/*
 * cli_config: `rrasfleet-agent config --print|--check|--markdown [--config FILE] [--KEY VALUE]`.
 *
 * --print shows every effective setting with its origin (default, registry, file, flag), --check says
 * whether `run` would accept them, --markdown writes the settings reference for docs/. Reads
 * the same table and precedence as `run`, so what it prints is what `run` uses.
 */
#include <stdio.h>
#include <string.h>

#include "agent_config.h"
#include "cli.h"

static void config_usage(FILE *to)
{
    fputs("usage: rrasfleet-agent config --print [--config FILE] [--KEY VALUE...]\n"
          "       rrasfleet-agent config --check --config FILE [--KEY VALUE...]\n"
          "       rrasfleet-agent config --markdown\n"
          "  --print     every effective setting, `key = value   # origin`\n"
          "  --check     exit 0 if `run` would accept the settings, else 2 with the reason\n"
          "  --markdown  the settings reference as a Markdown table\n",
          to);
}

int agent_cmd_config(int argc, char **argv)
{
    struct agent_config cfg;
    struct proto_conf conf;
    bool print = false, check = false, markdown = false, help = false;
    const char *config_path = NULL;
    char err[512];
    int exit_code = AGENT_EXIT_USAGE;

    memset(&conf, 0, sizeof(conf));
    for (int i = 1; i < argc; i++) {
        help = help || strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0;
    }
    if (help) {
        config_usage(stdout);
        return AGENT_EXIT_OK;
    }
    const struct agent_config_switch switches[] = {
        {"--print", &print}, {"--check", &check}, {"--markdown", &markdown}};
    enum proto_rc rc = agent_config_from_args(argc, argv, switches, 3, &cfg, &conf, &config_path,
                                              err, sizeof(err));
    if (rc) {
        fprintf(stderr, "rrasfleet-agent config: %s\n", err);
        goto out;
    }
    if ((int)print + (int)check + (int)markdown != 1) {
        fputs("rrasfleet-agent config: give one of --print, --check, --markdown\n", stderr);
        config_usage(stderr);
        goto out;
    }
    if (markdown) {
        size_t count = 0;
        const struct proto_conf_entry *table = agent_config_table(&count);
        proto_conf_markdown(table, count, stdout);
        exit_code = AGENT_EXIT_OK;
        goto out;
    }
    if (print) {
        proto_conf_print(&conf, stdout);
        exit_code = AGENT_EXIT_OK;
        goto out;
    }
    if (agent_config_validate(&cfg, err, sizeof(err)) != PROTO_OK) {
        fprintf(stderr, "rrasfleet-agent config: %s: %s\n",
                config_path != NULL ? config_path : "(no file)", err);
        goto out;
    }
    puts("ok");
    exit_code = AGENT_EXIT_OK;
out:
    proto_conf_free(&conf);
    return exit_code;
}
