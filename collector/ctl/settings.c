/*
 * settings: where rrasfleetctl finds the collector URL, its token and the CA file.
 *
 * Precedence flags > environment > config file (key=value: url, token, cacert, read by
 * proto's conftab, so the file rules match the collector's). Owns no memory past the call.
 * Refuses a URL that is not https:// (the token would travel in clear) and a token with
 * characters that could break the Authorization header. Never prints the token.
 */
#include "ctl.h"

#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "conftab.h"

#define SETTINGS_OFF(member) offsetof(struct col_ctl_settings, member)
#define SETTINGS_SIZE(member) sizeof(((struct col_ctl_settings *)0)->member)

static const struct proto_conf_entry settings_table[] = {
    {"url", PROTO_CONF_STRING, "", 0, 0, SETTINGS_OFF(url), SETTINGS_SIZE(url),
     "Admin API of the collector, https://HOST:PORT"},
    {"token", PROTO_CONF_STRING, "", 0, 0, SETTINGS_OFF(token), SETTINGS_SIZE(token),
     "Bearer token (keep the file readable only by you)"},
    {"cacert", PROTO_CONF_STRING, "", 0, 0, SETTINGS_OFF(cacert), SETTINGS_SIZE(cacert),
     "CA bundle that verifies the admin listener's certificate; empty: system store"},
};
#define SETTINGS_COUNT (sizeof(settings_table) / sizeof(settings_table[0]))
#define SETTINGS_TOKEN 1u /* index of "token" in settings_table */

static enum proto_rc settings_fail(enum proto_rc rc, char *err, size_t err_size, const char *fmt,
                                   ...) __attribute__((format(printf, 4, 5)));

static enum proto_rc settings_fail(enum proto_rc rc, char *err, size_t err_size, const char *fmt,
                                   ...)
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
    return rc;
}

/* Sets `key` when `value` is given; the conftab origin is not shown by ctl, so the
 * environment borrows PROTO_CONF_FROM_REGISTRY. */
static enum proto_rc settings_set(struct proto_conf *conf, const char *key, const char *value,
                                  enum proto_conf_origin origin, const char *source, char *err,
                                  size_t err_size)
{
    if (value == NULL || value[0] == '\0') {
        return PROTO_OK;
    }
    char why[256];
    enum proto_rc result = proto_conf_set(conf, key, value, origin, why, sizeof(why));
    if (result != PROTO_OK) {
        return settings_fail(result, err, err_size, "%s: %s", source, why);
    }
    return PROTO_OK;
}

static bool settings_token_ok(const char *t)
{
    for (; *t != '\0'; t++) {
        unsigned char c = (unsigned char)*t;
        if (c <= 0x20 || c >= 0x7f) {
            return false;
        }
    }
    return true;
}

static enum proto_rc settings_check(struct col_ctl_settings *out, char *err, size_t err_size)
{
    if (out->url[0] == '\0') {
        return settings_fail(PROTO_EMISSING, err, err_size,
                             "no collector URL: use --url, RRASFLEET_URL or url= in the config "
                             "file");
    }
    if (strncasecmp(out->url, "https://", 8) != 0 || out->url[8] == '\0') {
        return settings_fail(PROTO_EPARSE, err, err_size,
                             "the URL must start with https:// (the token is sent with it), got "
                             "'%.100s'",
                             out->url);
    }
    if (strpbrk(out->url, " \t\r\n?#") != NULL) {
        return settings_fail(PROTO_EPARSE, err, err_size,
                             "the URL must be https://HOST:PORT without spaces, query or "
                             "fragment");
    }
    size_t len = strlen(out->url);
    while (len > 8 && out->url[len - 1] == '/') {
        out->url[--len] = '\0';
    }
    if (out->token[0] == '\0') {
        return settings_fail(PROTO_EMISSING, err, err_size,
                             "no token: use --token, RRASFLEET_TOKEN or token= in the config file");
    }
    if (!settings_token_ok(out->token)) {
        return settings_fail(PROTO_EPARSE, err, err_size,
                             "the token holds blanks or control characters");
    }
    return PROTO_OK;
}

enum proto_rc col_ctl_settings_resolve(const struct col_ctl_options *opts,
                                       const struct col_ctl_env *env, struct col_ctl_settings *out,
                                       char *err, size_t err_size)
{
    if (opts == NULL || env == NULL || out == NULL) {
        return PROTO_EINVAL;
    }
    if (err != NULL && err_size > 0) {
        err[0] = '\0';
    }
    memset(out, 0, sizeof(*out));
    struct proto_conf conf = {0};
    enum proto_rc result = proto_conf_init(&conf, settings_table, SETTINGS_COUNT, out);
    if (result != PROTO_OK) {
        return settings_fail(result, err, err_size, "settings: %s", proto_rc_str(result));
    }
    const char *file = opts->config != NULL ? opts->config : env->default_config;
    if (file != NULL) {
        result = proto_conf_load_file(&conf, file, err, err_size);
        if (result == PROTO_ENOTFOUND && opts->config == NULL) {
            result = PROTO_OK; /* the default file is optional; a named one is not */
            if (err != NULL && err_size > 0) {
                err[0] = '\0';
            }
        } else if (result != PROTO_OK) {
            goto out;
        } else if (out->token[0] != '\0') {
            struct stat st;
            out->token_file_readable_by_others =
                stat(file, &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0;
        }
    }
    const struct {
        const char *key;
        const char *env_value;
        const char *env_name;
        const char *flag_value;
        const char *flag_name;
    } layers[] = {
        {"url", env->url, "RRASFLEET_URL", opts->url, "--url"},
        {"token", env->token, "RRASFLEET_TOKEN", opts->token, "--token"},
        {"cacert", env->cacert, "RRASFLEET_CACERT", opts->cacert, "--cacert"},
    };
    for (size_t i = 0; i < sizeof(layers) / sizeof(layers[0]); i++) {
        result = settings_set(&conf, layers[i].key, layers[i].env_value, PROTO_CONF_FROM_REGISTRY,
                              layers[i].env_name, err, err_size);
        if (result == PROTO_OK) {
            result = settings_set(&conf, layers[i].key, layers[i].flag_value, PROTO_CONF_FROM_FLAG,
                                  layers[i].flag_name, err, err_size);
        }
        if (result != PROTO_OK) {
            goto out;
        }
    }
    /* a token that no longer comes from the file is not the file's problem */
    if (conf.origins[SETTINGS_TOKEN] != PROTO_CONF_FROM_FILE) {
        out->token_file_readable_by_others = false;
    }
    result = settings_check(out, err, err_size);
out:
    proto_conf_free(&conf);
    return result;
}
