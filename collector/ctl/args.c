/*
 * args: rrasfleetctl's command line -> struct col_ctl_options -> the API request to send.
 *
 * Owns the option table and the usage text. Pure: no I/O but the usage text, no network, no
 * curl (the percent-encoder is passed in), so the unit tests compile it directly. Judges what
 * the client can judge (option belongs to the command, numbers are numbers, times are RFC
 * 3339, roles exist) and leaves the rest (severity words, sort columns) to the server.
 */
#include "ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "timefmt.h"
#include "x509.h"

/* Where an option may be used. */
#define ARGS_GLOBAL 1u
#define ARGS_FILTER 2u  /* hosts, certs */
#define ARGS_CREATE 4u  /* token create */
#define ARGS_PCREATE 8u /* profile create */
#define ARGS_PSHOW 16u  /* profile show */
#define ARGS_PLIST 32u  /* profile list */

#define ARGS_MAX_POSITIONAL 3

struct args_option {
    const char *name;
    bool takes_value;
    size_t offset; /* of the const char * member, when takes_value */
    unsigned where;
};

#define ARGS_OFF(member) offsetof(struct col_ctl_options, member)

static const struct args_option args_options[] = {
    {"url", true, ARGS_OFF(url), ARGS_GLOBAL},
    {"token", true, ARGS_OFF(token), ARGS_GLOBAL},
    {"cacert", true, ARGS_OFF(cacert), ARGS_GLOBAL},
    {"config", true, ARGS_OFF(config), ARGS_GLOBAL},
    {"json", false, 0, ARGS_GLOBAL},
    {"csv", false, 0, ARGS_GLOBAL},
    {"help", false, 0, ARGS_GLOBAL},
    {"finding", true, ARGS_OFF(finding), ARGS_FILTER},
    {"severity", true, ARGS_OFF(severity), ARGS_FILTER},
    {"name", true, ARGS_OFF(name), ARGS_FILTER | ARGS_CREATE},
    {"expiring-within", true, ARGS_OFF(expiring_within), ARGS_FILTER},
    {"expiring", true, ARGS_OFF(expiring_within), ARGS_FILTER},
    {"issuer", true, ARGS_OFF(issuer), ARGS_FILTER},
    {"last-seen-before", true, ARGS_OFF(last_seen_before), ARGS_FILTER},
    {"sort", true, ARGS_OFF(sort), ARGS_FILTER},
    {"desc", false, 0, ARGS_FILTER},
    {"limit", true, ARGS_OFF(limit), ARGS_FILTER},
    {"offset", true, ARGS_OFF(offset), ARGS_FILTER},
    {"role", true, ARGS_OFF(role), ARGS_CREATE},
    {"for", true, ARGS_OFF(for_host), ARGS_PCREATE},
    {"server-address", true, ARGS_OFF(server_address), ARGS_PCREATE},
    {"mode", true, ARGS_OFF(mode), ARGS_PCREATE},
    {"expires-in", true, ARGS_OFF(expires_in), ARGS_PCREATE},
    {"envelope", false, 0, ARGS_PSHOW},
    {"host", true, ARGS_OFF(host), ARGS_PLIST},
    {"state", true, ARGS_OFF(state), ARGS_PLIST},
};

static const char args_usage[] =
    "usage: rrasfleetctl [global options] COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  summary                       fleet summary\n"
    "  hosts [filters]               hosts, one row each\n"
    "  host FQDN                     one host: latest snapshot, findings, history\n"
    "  certs [--expiring N] [filters] certificates across the fleet\n"
    "  token create --role R --name NAME   new API token (role viewer|operator|approver)\n"
    "  token list                    tokens (never their secrets)\n"
    "  token revoke ID               revoke a token\n"
    "  profile create --for FQDN [--server-address ADDR] [--mode dry-run|apply]\n"
    "                 [--expires-in 72h]   build, what-if and sign a remediation profile\n"
    "                                (exit 1 and the findings that would remain if refused)\n"
    "  profile show ID [--envelope]  one profile, its results (and the signed envelope)\n"
    "  profile list [--host FQDN] [--state S] [--csv]   profiles, one row each\n"
    "  profile assign ID             offer it to its host at the next check-in (approver)\n"
    "  profile cancel ID             withdraw a created or assigned profile\n"
    "  help | version\n"
    "\n"
    "filters (hosts, certs):\n"
    "  --finding ID  --severity LEVEL  --name GLOB  --expiring-within DAYS  --issuer TEXT\n"
    "  --last-seen-before RFC3339  --sort COL  --desc  --limit N  --offset N\n"
    "\n"
    "global options:\n"
    "  --url URL        admin API, https://HOST:PORT     (env RRASFLEET_URL)\n"
    "  --token TOKEN    bearer token                     (env RRASFLEET_TOKEN)\n"
    "  --cacert FILE    CA bundle for the admin listener (env RRASFLEET_CACERT)\n"
    "  --config FILE    key=value file with url, token, cacert\n"
    "                   (default $XDG_CONFIG_HOME/rrasfleet/rrasfleetctl.conf)\n"
    "  --json           print the API's JSON as received\n"
    "  --csv            ask for CSV (hosts, certs, token list, profile list)\n"
    "\n"
    "exit status: 0 ok, 1 API error or not found, 2 usage\n";

void col_ctl_usage(FILE *to)
{
    fputs(args_usage, to);
}

static enum proto_rc args_fail(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum proto_rc args_fail(char *err, size_t err_size, const char *fmt, ...)
{
    if (err != NULL && err_size > 0) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
        if (n < 0) {
            err[0] = '\0';
        }
    }
    return PROTO_EPARSE;
}

static const struct args_option *args_find(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(args_options) / sizeof(args_options[0]); i++) {
        if (strlen(args_options[i].name) == len && memcmp(args_options[i].name, name, len) == 0) {
            return &args_options[i];
        }
    }
    return NULL;
}

/* A decimal count without sign: what --limit, --offset and --expiring-within take. */
static bool args_is_count(const char *s)
{
    if (s[0] < '0' || s[0] > '9') {
        return false;
    }
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    (void)v;
    return errno == 0 && *end == '\0';
}

static enum proto_rc args_command(struct col_ctl_options *o, char **pos, int npos, char *err,
                                  size_t err_size)
{
    static const struct {
        const char *word;
        const char *sub;
        int args; /* positional arguments after the command words */
        enum col_ctl_command command;
    } commands[] = {
        {"help", NULL, 0, COL_CTL_CMD_HELP},
        {"version", NULL, 0, COL_CTL_CMD_VERSION},
        {"summary", NULL, 0, COL_CTL_CMD_SUMMARY},
        {"hosts", NULL, 0, COL_CTL_CMD_HOSTS},
        {"host", NULL, 1, COL_CTL_CMD_HOST},
        {"certs", NULL, 0, COL_CTL_CMD_CERTS},
        {"token", "create", 0, COL_CTL_CMD_TOKEN_CREATE},
        {"token", "list", 0, COL_CTL_CMD_TOKEN_LIST},
        {"token", "revoke", 1, COL_CTL_CMD_TOKEN_REVOKE},
        {"profile", "create", 0, COL_CTL_CMD_PROFILE_CREATE},
        {"profile", "show", 1, COL_CTL_CMD_PROFILE_SHOW},
        {"profile", "list", 0, COL_CTL_CMD_PROFILE_LIST},
        {"profile", "assign", 1, COL_CTL_CMD_PROFILE_ASSIGN},
        {"profile", "cancel", 1, COL_CTL_CMD_PROFILE_CANCEL},
    };
    if (npos == 0) {
        return args_fail(err, err_size, "missing command (try 'rrasfleetctl help')");
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(pos[0], commands[i].word) != 0) {
            continue;
        }
        int words = 1;
        if (commands[i].sub != NULL) {
            if (npos < 2) {
                return args_fail(err, err_size, "'%s' needs a subcommand: %s", pos[0],
                                 strcmp(pos[0], "token") == 0
                                     ? "create, list or revoke"
                                     : "create, show, list, assign or cancel");
            }
            if (strcmp(pos[1], commands[i].sub) != 0) {
                continue;
            }
            words = 2;
        }
        if (npos - words < commands[i].args) {
            return args_fail(err, err_size, "'%s%s%s' needs %s", pos[0], words == 2 ? " " : "",
                             words == 2 ? pos[1] : "",
                             commands[i].command == COL_CTL_CMD_HOST           ? "a host FQDN"
                             : commands[i].command == COL_CTL_CMD_TOKEN_REVOKE ? "a token ID"
                                                                               : "a profile ID");
        }
        if (npos - words > commands[i].args) {
            return args_fail(err, err_size, "unexpected argument '%s'",
                             pos[words + commands[i].args]);
        }
        o->command = commands[i].command;
        if (o->command == COL_CTL_CMD_HOST) {
            o->fqdn = pos[1];
        } else if (o->command == COL_CTL_CMD_TOKEN_REVOKE) {
            o->token_id = pos[2];
        } else if (commands[i].args == 1) {
            o->profile_id = pos[2];
        }
        return PROTO_OK;
    }
    if (strcmp(pos[0], "profile") == 0) {
        return args_fail(err, err_size,
                         "unknown profile subcommand '%s' (create, show, list, assign, cancel)",
                         pos[1]);
    }
    if (strcmp(pos[0], "token") == 0) {
        return args_fail(err, err_size, "unknown token subcommand '%s' (create, list, revoke)",
                         pos[1]);
    }
    return args_fail(err, err_size, "unknown command '%s' (try 'rrasfleetctl help')", pos[0]);
}

/* Options given must suit the command; values the client can judge are judged here. */
/* Options of the profile commands suit theirs; create's values are judged. */
static enum proto_rc args_check_profile(struct col_ctl_options *o, const char *seen,
                                        unsigned seen_where, char *err, size_t err_size)
{
    static const struct {
        enum col_ctl_command command;
        unsigned where;
        const char *name;
    } owners[] = {
        {COL_CTL_CMD_PROFILE_CREATE, ARGS_PCREATE, "profile create"},
        {COL_CTL_CMD_PROFILE_SHOW, ARGS_PSHOW, "profile show"},
        {COL_CTL_CMD_PROFILE_LIST, ARGS_PLIST, "profile list"},
    };
    for (size_t i = 0; seen != NULL && i < sizeof(owners) / sizeof(owners[0]); i++) {
        if (owners[i].where == seen_where && o->command != owners[i].command) {
            return args_fail(err, err_size, "--%s applies to %s only", seen, owners[i].name);
        }
    }
    if (o->command == COL_CTL_CMD_PROFILE_CREATE) {
        if (o->for_host == NULL) {
            return args_fail(err, err_size, "profile create needs --for FQDN");
        }
        if (o->mode != NULL && strcmp(o->mode, "dry-run") != 0 && strcmp(o->mode, "apply") != 0) {
            return args_fail(err, err_size, "--mode: expected dry-run or apply, got '%s'", o->mode);
        }
        if (o->expires_in != NULL &&
            col_ctl_parse_duration(o->expires_in, &o->expires_in_s) != PROTO_OK) {
            return args_fail(err, err_size,
                             "--expires-in: expected a duration like 72h, 3d, 90m or 3600s, got "
                             "'%s'",
                             o->expires_in);
        }
    }
    if (o->profile_id != NULL && o->profile_id[0] == '\0') {
        return args_fail(err, err_size, "the profile ID is empty");
    }
    return PROTO_OK;
}

enum proto_rc col_ctl_parse_duration(const char *text, unsigned long *seconds)
{
    if (text == NULL || seconds == NULL || text[0] < '0' || text[0] > '9') {
        return PROTO_EPARSE;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    unsigned long long unit = 1;
    if (errno != 0 || end == text) {
        return PROTO_EPARSE;
    }
    if (*end != '\0') {
        switch (*end) {
        case 's':
            unit = 1;
            break;
        case 'm':
            unit = 60;
            break;
        case 'h':
            unit = 3600;
            break;
        case 'd':
            unit = 86400;
            break;
        default:
            return PROTO_EPARSE;
        }
        if (end[1] != '\0') {
            return PROTO_EPARSE;
        }
    }
    if (v > 0xffffffffull / unit) {
        return PROTO_EPARSE;
    }
    *seconds = (unsigned long)(v * unit);
    return PROTO_OK;
}

static enum proto_rc args_check(struct col_ctl_options *o, const char *filter_seen,
                                const char *create_seen, char *err, size_t err_size)
{
    bool lists = o->command == COL_CTL_CMD_HOSTS || o->command == COL_CTL_CMD_CERTS;
    bool creates = o->command == COL_CTL_CMD_TOKEN_CREATE;
    if (filter_seen != NULL && !lists) {
        return args_fail(err, err_size, "--%s applies to hosts and certs only", filter_seen);
    }
    if (create_seen != NULL && !creates) {
        return args_fail(err, err_size, "--%s applies to token create only", create_seen);
    }
    if (o->name != NULL && !lists && !creates) {
        return args_fail(err, err_size, "--name applies to hosts, certs and token create only");
    }
    if (o->format == COL_CTL_FORMAT_CSV && !lists && o->command != COL_CTL_CMD_TOKEN_LIST &&
        o->command != COL_CTL_CMD_PROFILE_LIST) {
        return args_fail(err, err_size,
                         "--csv applies to hosts, certs, token list and profile list only");
    }
    if (creates) {
        if (o->role == NULL || o->name == NULL) {
            return args_fail(err, err_size, "token create needs --role R and --name NAME");
        }
        if (strcmp(o->role, "viewer") != 0 && strcmp(o->role, "operator") != 0 &&
            strcmp(o->role, "approver") != 0) {
            return args_fail(err, err_size,
                             "--role: expected viewer, operator or approver, got '%s'", o->role);
        }
    }
    const struct {
        const char *flag;
        const char *value;
    } counts[] = {
        {"limit", o->limit}, {"offset", o->offset}, {"expiring-within", o->expiring_within}};
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        if (counts[i].value != NULL && !args_is_count(counts[i].value)) {
            return args_fail(err, err_size, "--%s: expected a whole number, got '%s'",
                             counts[i].flag, counts[i].value);
        }
    }
    int64_t when = 0;
    if (o->last_seen_before != NULL &&
        proto_time_parse_rfc3339(o->last_seen_before, &when) != PROTO_OK) {
        return args_fail(
            err, err_size,
            "--last-seen-before: expected RFC 3339 like 2024-05-01T00:00:00Z, got '%s'",
            o->last_seen_before);
    }
    if (o->command == COL_CTL_CMD_HOST && o->fqdn[0] == '\0') {
        return args_fail(err, err_size, "host: the FQDN is empty");
    }
    if (o->command == COL_CTL_CMD_TOKEN_REVOKE && o->token_id[0] == '\0') {
        return args_fail(err, err_size, "token revoke: the ID is empty");
    }
    return PROTO_OK;
}

enum proto_rc col_ctl_parse_args(int argc, char **argv, struct col_ctl_options *opts, char *err,
                                 size_t err_size)
{
    if (opts == NULL || argv == NULL) {
        return PROTO_EINVAL;
    }
    memset(opts, 0, sizeof(*opts));
    if (err != NULL && err_size > 0) {
        err[0] = '\0';
    }
    char *pos[ARGS_MAX_POSITIONAL];
    int npos = 0;
    bool help = false, json = false, csv = false;
    const char *filter_seen = NULL, *create_seen = NULL, *profile_seen = NULL;
    unsigned profile_where = 0;
    bool only_positional = false;
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i];
        bool is_option = !only_positional && arg[0] == '-' && arg[1] != '\0';
        if (!is_option) {
            if (npos == ARGS_MAX_POSITIONAL) {
                return args_fail(err, err_size, "unexpected argument '%s'", arg);
            }
            pos[npos++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_positional = true;
            continue;
        }
        if (strcmp(arg, "-h") == 0) {
            help = true;
            continue;
        }
        if (arg[1] != '-') {
            return args_fail(err, err_size, "unknown option '%s'", arg);
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t name_len = eq != NULL ? (size_t)(eq - name) : strlen(name);
        const struct args_option *opt = args_find(name, name_len);
        if (opt == NULL) {
            return args_fail(err, err_size, "unknown option '--%.*s'", (int)name_len, name);
        }
        /* --name is shared by both, so it is judged on its own in args_check */
        if (opt->where == ARGS_FILTER && filter_seen == NULL) {
            filter_seen = opt->name;
        } else if (opt->where == ARGS_CREATE && create_seen == NULL) {
            create_seen = opt->name;
        } else if ((opt->where & (ARGS_PCREATE | ARGS_PSHOW | ARGS_PLIST)) != 0 &&
                   profile_seen == NULL) {
            profile_seen = opt->name;
            profile_where = opt->where;
        }
        if (!opt->takes_value) {
            if (eq != NULL) {
                return args_fail(err, err_size, "--%s takes no value", opt->name);
            }
            help = help || strcmp(opt->name, "help") == 0;
            json = json || strcmp(opt->name, "json") == 0;
            csv = csv || strcmp(opt->name, "csv") == 0;
            opts->desc = opts->desc || strcmp(opt->name, "desc") == 0;
            opts->envelope = opts->envelope || strcmp(opt->name, "envelope") == 0;
            continue;
        }
        const char *value = NULL;
        if (eq != NULL) {
            value = eq + 1;
        } else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
            value = argv[++i];
        } else {
            return args_fail(err, err_size, "--%s needs a value", opt->name);
        }
        if (value[0] == '\0') {
            return args_fail(err, err_size, "--%s: empty value", opt->name);
        }
        const char **slot = (const char **)(void *)((char *)opts + opt->offset);
        *slot = value;
    }
    if (help) {
        opts->command = COL_CTL_CMD_HELP;
        return PROTO_OK;
    }
    if (json && csv) {
        return args_fail(err, err_size, "--json and --csv exclude each other");
    }
    opts->format = json ? COL_CTL_FORMAT_JSON : csv ? COL_CTL_FORMAT_CSV : COL_CTL_FORMAT_TABLE;
    enum proto_rc result = args_command(opts, pos, npos, err, err_size);
    if (result != PROTO_OK) {
        return result;
    }
    result = args_check(opts, filter_seen, create_seen, err, err_size);
    if (result != PROTO_OK) {
        return result;
    }
    return args_check_profile(opts, profile_seen, profile_where, err, err_size);
}

/* Appends "?name=value" or "&name=value" with the value percent-encoded. */
static enum proto_rc args_query(struct proto_buf *path, bool *first, const char *name,
                                const char *value, col_ctl_escape_fn escape, void *ctx)
{
    if (value == NULL) {
        return PROTO_OK;
    }
    char *escaped = escape(ctx, value);
    if (escaped == NULL) {
        return PROTO_ENOMEM;
    }
    enum proto_rc result = proto_buf_appendf(path, "%c%s=%s", *first ? '?' : '&', name, escaped);
    proto_free(escaped);
    *first = false;
    return result;
}

static enum proto_rc args_filters(const struct col_ctl_options *o, struct proto_buf *path,
                                  col_ctl_escape_fn escape, void *ctx)
{
    const struct {
        const char *name;
        const char *value;
    } params[] = {
        {"finding", o->finding}, {"severity", o->severity},
        {"name", o->name},       {"expiring_within_days", o->expiring_within},
        {"issuer", o->issuer},   {"last_seen_before", o->last_seen_before},
        {"sort", o->sort},       {"order", o->desc ? "desc" : NULL},
        {"limit", o->limit},     {"offset", o->offset},
    };
    bool first = true;
    enum proto_rc result = PROTO_OK;
    for (size_t i = 0; result == PROTO_OK && i < sizeof(params) / sizeof(params[0]); i++) {
        result = args_query(path, &first, params[i].name, params[i].value, escape, ctx);
    }
    return result;
}

/* {"role": ..., "name": ...} as a proto_malloc'd string. */
static char *args_token_body(const struct col_ctl_options *o)
{
    char *body = NULL;
    char *printed = NULL;
    cJSON *doc = cJSON_CreateObject();
    if (doc == NULL || cJSON_AddStringToObject(doc, "role", o->role) == NULL ||
        cJSON_AddStringToObject(doc, "name", o->name) == NULL) {
        goto out;
    }
    printed = cJSON_PrintUnformatted(doc);
    if (printed != NULL) {
        body = proto_strdup(printed);
    }
out:
    cJSON_free(printed);
    cJSON_Delete(doc);
    return body;
}

/* {"host", "server_address"?, "mode"?, "expires_in_s"?} as a proto_malloc'd string. */
static char *args_profile_body(const struct col_ctl_options *o)
{
    char *body = NULL;
    char *printed = NULL;
    cJSON *doc = cJSON_CreateObject();
    if (doc == NULL || cJSON_AddStringToObject(doc, "host", o->for_host) == NULL) {
        goto out;
    }
    if (o->server_address != NULL &&
        cJSON_AddStringToObject(doc, "server_address", o->server_address) == NULL) {
        goto out;
    }
    if (o->mode != NULL &&
        cJSON_AddStringToObject(doc, "mode",
                                strcmp(o->mode, "dry-run") == 0 ? "dry_run" : "apply") == NULL) {
        goto out;
    }
    if (o->expires_in != NULL &&
        cJSON_AddNumberToObject(doc, "expires_in_s", (double)o->expires_in_s) == NULL) {
        goto out;
    }
    printed = cJSON_PrintUnformatted(doc);
    if (printed != NULL) {
        body = proto_strdup(printed);
    }
out:
    cJSON_free(printed);
    cJSON_Delete(doc);
    return body;
}

/* /v1/profiles/{id}[suffix], the id percent-encoded. */
static enum proto_rc args_profile_path(const struct col_ctl_options *o, struct proto_buf *path,
                                       const char *suffix, col_ctl_escape_fn escape, void *ctx)
{
    char *segment = escape(ctx, o->profile_id);
    if (segment == NULL) {
        return PROTO_ENOMEM;
    }
    enum proto_rc result = proto_buf_appendf(path, "/v1/profiles/%s%s", segment, suffix);
    proto_free(segment);
    return result;
}

enum proto_rc col_ctl_build_request(const struct col_ctl_options *opts, col_ctl_escape_fn escape,
                                    void *escape_ctx, struct col_ctl_request *req, char *err,
                                    size_t err_size)
{
    if (opts == NULL || escape == NULL || req == NULL) {
        return PROTO_EINVAL;
    }
    memset(req, 0, sizeof(*req));
    struct proto_buf path;
    proto_buf_init(&path, COL_CTL_MAX_PATH);
    enum proto_rc result = PROTO_OK;
    char *segment = NULL;
    req->method = COL_CTL_GET;
    req->accept_csv = opts->format == COL_CTL_FORMAT_CSV;
    switch (opts->command) {
    case COL_CTL_CMD_SUMMARY:
        result = proto_buf_append_str(&path, "/v1/fleet/summary");
        break;
    case COL_CTL_CMD_HOSTS:
    case COL_CTL_CMD_CERTS:
        req->list = true;
        result = proto_buf_append_str(&path, opts->command == COL_CTL_CMD_HOSTS ? "/v1/hosts"
                                                                                : "/v1/certs");
        if (result == PROTO_OK) {
            result = args_filters(opts, &path, escape, escape_ctx);
        }
        break;
    case COL_CTL_CMD_HOST:
    case COL_CTL_CMD_TOKEN_REVOKE:
        segment =
            escape(escape_ctx, opts->command == COL_CTL_CMD_HOST ? opts->fqdn : opts->token_id);
        if (segment == NULL) {
            result = PROTO_ENOMEM;
            break;
        }
        if (opts->command == COL_CTL_CMD_TOKEN_REVOKE) {
            req->method = COL_CTL_DELETE;
        }
        result = proto_buf_appendf(&path, "%s%s",
                                   opts->command == COL_CTL_CMD_HOST ? "/v1/hosts/" : "/v1/tokens/",
                                   segment);
        break;
    case COL_CTL_CMD_TOKEN_CREATE:
        req->method = COL_CTL_POST;
        req->body = args_token_body(opts);
        result = req->body == NULL ? PROTO_ENOMEM : proto_buf_append_str(&path, "/v1/tokens");
        break;
    case COL_CTL_CMD_TOKEN_LIST:
        req->list = true;
        result = proto_buf_append_str(&path, "/v1/tokens");
        break;
    case COL_CTL_CMD_PROFILE_CREATE:
        req->method = COL_CTL_POST;
        req->body = args_profile_body(opts);
        result = req->body == NULL ? PROTO_ENOMEM : proto_buf_append_str(&path, "/v1/profiles");
        break;
    case COL_CTL_CMD_PROFILE_SHOW:
        result =
            args_profile_path(opts, &path, opts->envelope ? "?envelope=1" : "", escape, escape_ctx);
        break;
    case COL_CTL_CMD_PROFILE_ASSIGN:
    case COL_CTL_CMD_PROFILE_CANCEL:
        req->method = COL_CTL_POST;
        req->body = proto_strdup("{}");
        result = req->body == NULL
                     ? PROTO_ENOMEM
                     : args_profile_path(opts, &path,
                                         opts->command == COL_CTL_CMD_PROFILE_ASSIGN ? "/assign"
                                                                                     : "/cancel",
                                         escape, escape_ctx);
        break;
    case COL_CTL_CMD_PROFILE_LIST: {
        req->list = true;
        bool first = true;
        result = proto_buf_append_str(&path, "/v1/profiles");
        if (result == PROTO_OK) {
            result = args_query(&path, &first, "host", opts->host, escape, escape_ctx);
        }
        if (result == PROTO_OK) {
            result = args_query(&path, &first, "state", opts->state, escape, escape_ctx);
        }
        if (result == PROTO_OK) {
            result =
                args_query(&path, &first, "format",
                           opts->format == COL_CTL_FORMAT_CSV ? "csv" : NULL, escape, escape_ctx);
        }
        break;
    }
    case COL_CTL_CMD_NONE:
    case COL_CTL_CMD_HELP:
    case COL_CTL_CMD_VERSION:
        result = PROTO_EINVAL;
        break;
    }
    if (result == PROTO_OK) {
        req->path = proto_buf_detach(&path, NULL);
        result = req->path == NULL ? PROTO_ENOMEM : PROTO_OK;
    }
    if (result == PROTO_ELIMIT) {
        args_fail(err, err_size, "the request is longer than %u bytes", COL_CTL_MAX_PATH);
    } else if (result == PROTO_ENOMEM) {
        args_fail(err, err_size, "out of memory");
    } else if (result != PROTO_OK) {
        args_fail(err, err_size, "no request for this command");
    }
    proto_free(segment);
    proto_buf_free(&path);
    if (result != PROTO_OK) {
        col_ctl_request_free(req);
    }
    return result;
}

void col_ctl_request_free(struct col_ctl_request *req)
{
    if (req == NULL) {
        return;
    }
    proto_free(req->path);
    proto_free(req->body);
    req->path = NULL;
    req->body = NULL;
}

const char *col_ctl_method_str(enum col_ctl_method method)
{
    switch (method) {
    case COL_CTL_GET:
        return "GET";
    case COL_CTL_POST:
        return "POST";
    case COL_CTL_DELETE:
        return "DELETE";
    }
    return "GET";
}
