/*
 * rrasfleetctl: command-line client of the collector's admin API.
 *
 * Wires the pieces of ctl.h together: parse the command line, find URL/token/CA (flags >
 * environment > config file), build the request, send it, print the answer (aligned text,
 * --json as received, --csv as received). Exit 0 ok, 1 API or network error, 2 usage.
 * Owns nothing beyond one run; never prints the token except the one token create returns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "alloc.h"
#include "ctl.h"

#ifndef RRAS_VERSION
#define RRAS_VERSION "dev"
#endif

/* $XDG_CONFIG_HOME/rrasfleet/rrasfleetctl.conf, else ~/.config/...; "" when neither is set. */
static void ctl_default_config(char *out, size_t size)
{
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    int n = -1;
    if (xdg != NULL && xdg[0] == '/') {
        n = snprintf(out, size, "%s/rrasfleet/rrasfleetctl.conf", xdg);
    } else if (home != NULL && home[0] == '/') {
        n = snprintf(out, size, "%s/.config/rrasfleet/rrasfleetctl.conf", home);
    }
    if (n < 0 || (size_t)n >= size) {
        out[0] = '\0';
    }
}

static int ctl_write(const char *data, size_t len, bool newline)
{
    if (len > 0 && fwrite(data, 1, len, stdout) != len) {
        return COL_CTL_EXIT_API;
    }
    if (newline && (len == 0 || data[len - 1] != '\n')) {
        fputc('\n', stdout);
    }
    return fflush(stdout) == 0 ? COL_CTL_EXIT_OK : COL_CTL_EXIT_API;
}

static int ctl_print_answer(const struct col_ctl_options *opts, const struct proto_buf *body)
{
    const char *text = proto_buf_str(body);
    if (opts->format != COL_CTL_FORMAT_TABLE) {
        return ctl_write(text, body->len, opts->format == COL_CTL_FORMAT_JSON);
    }
    struct proto_buf out;
    proto_buf_init(&out, COL_CTL_MAX_RESPONSE);
    char footer[128];
    enum proto_rc result = col_ctl_render(text, body->len, &out, footer, sizeof(footer));
    int status = COL_CTL_EXIT_OK;
    if (result == PROTO_EPARSE) {
        status = ctl_write(text, body->len, true); /* not JSON: show what came */
    } else if (result != PROTO_OK) {
        fprintf(stderr, "rrasfleetctl: cannot format the answer: %s (try --json)\n",
                proto_rc_str(result));
        status = COL_CTL_EXIT_API;
    } else {
        status = ctl_write(proto_buf_str(&out), out.len, false);
        if (footer[0] != '\0') {
            fprintf(stderr, "%s\n", footer);
        }
        if (opts->command == COL_CTL_CMD_TOKEN_CREATE) {
            fputs("rrasfleetctl: store the token now; it cannot be shown again\n", stderr);
        }
    }
    proto_buf_free(&out);
    return status;
}

int main(int argc, char **argv)
{
    int status = COL_CTL_EXIT_API;
    struct col_ctl_options opts;
    struct col_ctl_settings settings;
    struct col_ctl_request req = {0};
    struct proto_buf body;
    CURL *escaper = NULL;
    char err[512];
    char default_config[1024];
    long http_status = 0;
    bool curl_ready = false;
    struct col_ctl_env env = {0};
    enum proto_rc result = PROTO_OK;

    proto_alloc_install_cjson_hooks();
    proto_buf_init(&body, COL_CTL_MAX_RESPONSE);
    if (col_ctl_parse_args(argc, argv, &opts, err, sizeof(err)) != PROTO_OK) {
        fprintf(stderr, "rrasfleetctl: %s\n", err);
        status = COL_CTL_EXIT_USAGE;
        goto out;
    }
    if (opts.command == COL_CTL_CMD_HELP) {
        col_ctl_usage(stdout);
        status = COL_CTL_EXIT_OK;
        goto out;
    }
    if (opts.command == COL_CTL_CMD_VERSION) {
        printf("rrasfleetctl %s\n", RRAS_VERSION);
        status = COL_CTL_EXIT_OK;
        goto out;
    }
    ctl_default_config(default_config, sizeof(default_config));
    env.url = getenv("RRASFLEET_URL");
    env.token = getenv("RRASFLEET_TOKEN");
    env.cacert = getenv("RRASFLEET_CACERT");
    env.default_config = default_config[0] != '\0' ? default_config : NULL;
    result = col_ctl_settings_resolve(&opts, &env, &settings, err, sizeof(err));
    if (result != PROTO_OK) {
        fprintf(stderr, "rrasfleetctl: %s\n", err);
        status = result == PROTO_ENOMEM ? COL_CTL_EXIT_API : COL_CTL_EXIT_USAGE;
        goto out;
    }
    if (settings.token_file_readable_by_others) {
        fputs("rrasfleetctl: warning: the config file holding the token is readable by others "
              "(chmod 600 it)\n",
              stderr);
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fputs("rrasfleetctl: cannot initialise libcurl\n", stderr);
        goto out;
    }
    curl_ready = true;
    escaper = curl_easy_init();
    if (escaper == NULL) {
        fputs("rrasfleetctl: cannot initialise libcurl\n", stderr);
        goto out;
    }
    result = col_ctl_build_request(&opts, col_ctl_http_escape, escaper, &req, err, sizeof(err));
    if (result != PROTO_OK) {
        fprintf(stderr, "rrasfleetctl: %s\n", err);
        status = result == PROTO_ELIMIT ? COL_CTL_EXIT_USAGE : COL_CTL_EXIT_API;
        goto out;
    }
    result = col_ctl_http_perform(&settings, &req, &http_status, &body, err, sizeof(err));
    if (result != PROTO_OK) {
        fprintf(stderr, "rrasfleetctl: %s\n", err);
        goto out;
    }
    if (http_status < 200 || http_status > 299) {
        col_ctl_error_message(http_status, proto_buf_str(&body), body.len, err, sizeof(err));
        fprintf(stderr, "rrasfleetctl: %s\n", err);
        if (opts.command == COL_CTL_CMD_PROFILE_CREATE && http_status == 422 &&
            col_ctl_whatif_refusal(proto_buf_str(&body), body.len, err, sizeof(err)) == PROTO_OK) {
            printf("%s\n", err);
        }
        goto out;
    }
    status = ctl_print_answer(&opts, &body);
out:
    col_ctl_request_free(&req);
    proto_buf_free(&body);
    if (escaper != NULL) {
        curl_easy_cleanup(escaper);
    }
    if (curl_ready) {
        curl_global_cleanup();
    }
    return status;
}
