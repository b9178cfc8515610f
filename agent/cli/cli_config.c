/*
 * cli_config: `rrasfleet-agent config --print|--check|--markdown|--admx DIR [--config FILE]
 * [--KEY VALUE]`.
 *
 * --print shows every effective setting with its origin (default, installer, registry, file,
 * flag), --check says whether `run` would accept them, --markdown writes the settings reference
 * for docs/, --admx the Group Policy template (DIR/rrasfleet.admx, DIR/en-US/rrasfleet.adml).
 * Reads the same table and precedence as `run`, so what it prints is what `run` uses.
 */
#include <stdio.h>
#include <string.h>

#include "agent_config.h"
#include "agent_os.h"
#include "cli.h"

#define CONFIG_ADMX_PATH_BYTES 1024u
#define CONFIG_REVISION_BYTES 32u

/* The ADMX revision of this agent: the MAJOR.MINOR of its version. */
static void config_admx_revision(char out[CONFIG_REVISION_BYTES])
{
    const char *v = RRAS_VERSION;
    size_t major = strspn(v, "0123456789");
    size_t minor = v[major] == '.' ? strspn(v + major + 1, "0123456789") : 0;
    size_t n = minor > 0 ? major + 1 + minor : 0;
    if (n == 0 || n >= CONFIG_REVISION_BYTES) {
        memcpy(out, "0.0", 4);
        return;
    }
    memcpy(out, v, n);
    out[n] = '\0';
}

/* Writes DIR/rrasfleet.admx and DIR/en-US/rrasfleet.adml (DIR and en-US made if missing). */
static int config_write_admx(const char *dir)
{
    char admx_path[CONFIG_ADMX_PATH_BYTES];
    char lang_dir[CONFIG_ADMX_PATH_BYTES];
    char adml_path[CONFIG_ADMX_PATH_BYTES];
    char revision[CONFIG_REVISION_BYTES];
    FILE *admx = NULL;
    FILE *adml = NULL;
    int exit_code = AGENT_EXIT_USAGE;
    if (agent_os_join(admx_path, sizeof(admx_path), dir, "rrasfleet.admx") != PROTO_OK ||
        agent_os_join(lang_dir, sizeof(lang_dir), dir, "en-US") != PROTO_OK ||
        agent_os_join(adml_path, sizeof(adml_path), lang_dir, "rrasfleet.adml") != PROTO_OK) {
        fprintf(stderr, "rrasfleet-agent config: --admx: folder name too long\n");
        return AGENT_EXIT_USAGE;
    }
    if (agent_os_mkdirs(lang_dir) != PROTO_OK) {
        fprintf(stderr, "rrasfleet-agent config: --admx: cannot create %s\n", lang_dir);
        return AGENT_EXIT_USAGE;
    }
    /* Binary mode: the same bytes (LF line ends) on every system, as committed. */
    admx = fopen(admx_path, "wb");
    adml = fopen(adml_path, "wb");
    if (admx == NULL || adml == NULL) {
        fprintf(stderr, "rrasfleet-agent config: --admx: cannot write %s\n",
                admx == NULL ? admx_path : adml_path);
        goto out;
    }
    config_admx_revision(revision);
    enum proto_rc rc = agent_config_admx(admx, adml, revision);
    int closed_admx = fclose(admx);
    int closed_adml = fclose(adml);
    admx = NULL;
    adml = NULL;
    if (rc != PROTO_OK || closed_admx != 0 || closed_adml != 0) {
        fprintf(stderr, "rrasfleet-agent config: --admx: writing %s failed: %s\n", dir,
                proto_rc_str(rc != PROTO_OK ? rc : PROTO_EIO));
        goto out;
    }
    printf("wrote %s and %s\n", admx_path, adml_path);
    exit_code = AGENT_EXIT_OK;
out:
    if (admx != NULL) {
        fclose(admx);
    }
    if (adml != NULL) {
        fclose(adml);
    }
    return exit_code;
}

static void config_usage(FILE *to)
{
    fputs("usage: rrasfleet-agent config --print [--config FILE] [--KEY VALUE...]\n"
          "       rrasfleet-agent config --check --config FILE [--KEY VALUE...]\n"
          "       rrasfleet-agent config --markdown\n"
          "       rrasfleet-agent config --admx DIR\n"
          "  --print     every effective setting, `key = value   # origin` (default, installer,\n"
          "              registry, file, flag)\n"
          "  --check     exit 0 if `run` would accept the settings, else 2 with the reason\n"
          "  --markdown  the settings reference as a Markdown table\n"
          "  --admx DIR  the Group Policy template: DIR/rrasfleet.admx, DIR/en-US/rrasfleet.adml\n",
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
    /* --admx writes the table, not the settings: it takes no other argument. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--admx") != 0) {
            continue;
        }
        if (argc != 3 || i != 1 || argv[2][0] == '\0') {
            fputs("rrasfleet-agent config: --admx takes one folder and nothing else\n", stderr);
            config_usage(stderr);
            return AGENT_EXIT_USAGE;
        }
        return config_write_admx(argv[2]);
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
