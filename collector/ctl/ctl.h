/*
 * ctl: the pieces of rrasfleetctl, the command-line client of the collector's admin API.
 *
 * args.c (command line -> options -> request), settings.c (URL/token/CA file from flags >
 * environment > config file) and output.c (API JSON -> aligned text) are pure or file-only and
 * never include curl, so tests/unit/collector/test_ctl.c compiles them in directly; http_client.c
 * is the only file that talks to the network and main.c only wires them together. rrasfleetctl
 * links rrasproto and libcurl only: nothing here may call the collector library.
 */
#ifndef COL_CTL_H
#define COL_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "rc.h"

/* Exit statuses. */
#define COL_CTL_EXIT_OK 0
#define COL_CTL_EXIT_API 1   /* the API answered 4xx/5xx, or it could not be reached */
#define COL_CTL_EXIT_USAGE 2 /* bad command line or missing URL/token */

#define COL_CTL_MAX_PATH 8192u                     /* path and query of one request */
#define COL_CTL_MAX_RESPONSE (64u * 1024u * 1024u) /* a response body */
#define COL_CTL_MAX_COLUMNS 64u                    /* columns shown in a table */
#define COL_CTL_MAX_CELL 60u                       /* characters shown per cell */

enum col_ctl_command {
    COL_CTL_CMD_NONE,
    COL_CTL_CMD_HELP,
    COL_CTL_CMD_VERSION,
    COL_CTL_CMD_SUMMARY,
    COL_CTL_CMD_HOSTS,
    COL_CTL_CMD_HOST,
    COL_CTL_CMD_CERTS,
    COL_CTL_CMD_TOKEN_CREATE,
    COL_CTL_CMD_TOKEN_LIST,
    COL_CTL_CMD_TOKEN_REVOKE,
    COL_CTL_CMD_PROFILE_CREATE,
    COL_CTL_CMD_PROFILE_SHOW,
    COL_CTL_CMD_PROFILE_LIST,
    COL_CTL_CMD_PROFILE_ASSIGN,
    COL_CTL_CMD_PROFILE_CANCEL
};

enum col_ctl_format { COL_CTL_FORMAT_TABLE, COL_CTL_FORMAT_JSON, COL_CTL_FORMAT_CSV };

/* The parsed command line. Every string is borrowed from argv. */
struct col_ctl_options {
    enum col_ctl_command command;
    enum col_ctl_format format;
    const char *url;    /* --url */
    const char *token;  /* --token */
    const char *cacert; /* --cacert */
    const char *config; /* --config */
    /* list filters (hosts, certs) */
    const char *finding;
    const char *severity;
    const char *name; /* hosts/certs: the host name glob; token create: the token's name */
    const char *expiring_within;
    const char *issuer;
    const char *last_seen_before;
    const char *sort;
    bool desc;
    const char *limit;
    const char *offset;
    /* command arguments */
    const char *fqdn;     /* host FQDN */
    const char *role;     /* token create --role */
    const char *token_id; /* token revoke ID */
    /* profiles */
    const char *profile_id;     /* profile show/assign/cancel ID */
    const char *for_host;       /* profile create --for FQDN */
    const char *server_address; /* profile create --server-address ADDR */
    const char *mode;           /* profile create --mode dry-run|apply */
    const char *expires_in;     /* profile create --expires-in 72h */
    unsigned long expires_in_s; /* --expires-in in seconds, 0 when not given */
    bool envelope;              /* profile show --envelope */
    const char *host;           /* profile list --host FQDN */
    const char *state;          /* profile list --state S */
};

/* Parses argv[1..argc). Global options may come before or after the command. On a usage
 * error returns PROTO_EPARSE with a one-line reason in err. */
enum proto_rc col_ctl_parse_args(int argc, char **argv, struct col_ctl_options *opts, char *err,
                                 size_t err_size);

/* Writes the usage text. */
void col_ctl_usage(FILE *to);

/* Percent-encodes s for a query value or path segment; the result is freed with proto_free.
 * NULL on allocation failure. rrasfleetctl passes a wrapper of curl_easy_escape. */
typedef char *(*col_ctl_escape_fn)(void *ctx, const char *s);

enum col_ctl_method { COL_CTL_GET, COL_CTL_POST, COL_CTL_DELETE };

struct col_ctl_request {
    enum col_ctl_method method;
    char *path;      /* owned: "/v1/hosts?severity=high&limit=10" */
    char *body;      /* owned JSON for POST, else NULL */
    bool accept_csv; /* send Accept: text/csv */
    bool list;       /* the answer is {"items": [...]} */
};

/* Builds the request for a parsed command (not HELP/VERSION). Caller frees with
 * col_ctl_request_free. */
enum proto_rc col_ctl_build_request(const struct col_ctl_options *opts, col_ctl_escape_fn escape,
                                    void *escape_ctx, struct col_ctl_request *req, char *err,
                                    size_t err_size);
void col_ctl_request_free(struct col_ctl_request *req); /* accepts a zeroed request */
const char *col_ctl_method_str(enum col_ctl_method method);

/* ---- settings.c ------------------------------------------------------------------------- */

struct col_ctl_settings {
    char url[2048]; /* https://host:port, no trailing '/' */
    char token[512];
    char cacert[1024];                  /* "" = the system trust store */
    bool token_file_readable_by_others; /* the token came from a group/world-readable file */
};

struct col_ctl_env {
    const char *url;            /* RRASFLEET_URL */
    const char *token;          /* RRASFLEET_TOKEN */
    const char *cacert;         /* RRASFLEET_CACERT */
    const char *default_config; /* used when --config is absent; may be missing or NULL */
};

/* Flags > environment > config file. PROTO_EMISSING when no URL or token results, PROTO_EPARSE
 * for a malformed value, and the conftab codes for a bad file; err says which. */
enum proto_rc col_ctl_settings_resolve(const struct col_ctl_options *opts,
                                       const struct col_ctl_env *env, struct col_ctl_settings *out,
                                       char *err, size_t err_size);

/* ---- http_client.c (the only file that uses libcurl) ----------------------------------- */

/* Performs the request against settings->url with the bearer token, the CA file if any and
 * bounded timeouts. PROTO_OK when an HTTP answer arrived, whatever its status: *status and
 * `body` (capped at COL_CTL_MAX_RESPONSE) hold it. PROTO_EIO (err says why: DNS, refused,
 * TLS verification...) when no answer arrived, PROTO_ELIMIT when it was too large. */
enum proto_rc col_ctl_http_perform(const struct col_ctl_settings *settings,
                                   const struct col_ctl_request *req, long *status,
                                   struct proto_buf *body, char *err, size_t err_size);

/* A col_ctl_escape_fn over curl_easy_escape; ctx is a CURL easy handle (or NULL). */
char *col_ctl_http_escape(void *ctx, const char *s);

/* ---- output.c --------------------------------------------------------------------------- */

/* Renders a successful JSON answer as text: {"items": [...]} as an aligned table with a
 * header row (columns = keys in order of first appearance), anything else as aligned
 * key/value lines with arrays of objects as titled tables. Server text is sanitized (control
 * characters and invalid UTF-8 become '?') so it cannot drive the terminal. `footer` gets
 * "showing 1-50 of 120" when the list is a page of a larger result, else "". PROTO_EPARSE if
 * the body is not JSON. */
enum proto_rc col_ctl_render(const char *body, size_t len, struct proto_buf *out, char *footer,
                             size_t footer_size);

/* Table of the array `items` (of objects, or of scalars as one "VALUE" column). */
enum proto_rc col_ctl_render_items(const cJSON *items, struct proto_buf *out);

/* The findings that would remain, from a 422 whatif_refused answer to profile create:
 * "findings that would remain: A B" (or "none"). PROTO_ENOTFOUND when the body has no
 * findings_after array. */
enum proto_rc col_ctl_whatif_refusal(const char *body, size_t len, char *out, size_t size);

/* Parses a duration "72h", "3d", "90m", "3600s" or "3600" (seconds) into *seconds.
 * PROTO_EPARSE for anything else or a value over 2^32 seconds. */
enum proto_rc col_ctl_parse_duration(const char *text, unsigned long *seconds);

/* "HTTP 404 not_found: host not known (field: fqdn)" from an error answer; falls back to the
 * status and a sanitized start of the body when it is not the API's error document. */
void col_ctl_error_message(long status, const char *body, size_t len, char *out, size_t size);

#endif
