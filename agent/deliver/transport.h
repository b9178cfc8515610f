/*
 * transport: POST /v1/reports and /v1/results, GET /v1/profiles/{id}, to the collector over mutual
 * TLS, with libcurl (DESIGN §7, §8).
 *
 * Owns one curl easy handle for the life of the agent, so the TCP/TLS connection and the TLS
 * session are reused from one report to the next. Always verifies the collector against the
 * configured CA file alone (never the system store), TLS 1.2 minimum, optional public-key pin.
 * Presents the client certificate from PEM files, or on Windows from LocalMachine\My
 * (clientcert.h: by thumbprint or picked automatically, chosen again before each request).
 * Turns every answer into one of three outcomes the spool acts on. Never retries by itself,
 * never sleeps, and never logs (the caller logs one line per attempt from the result).
 */
#ifndef AGENT_TRANSPORT_H
#define AGENT_TRANSPORT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent_config.h"
#include "caps.h"

#define AGENT_TRANSPORT_MAX_RESPONSE (64u * 1024u) /* response body kept; the rest is ignored */
#define AGENT_TRANSPORT_MAX_FETCH PROTO_MAX_ENVELOPE_BYTES /* a fetched profile; more: refused */
#define AGENT_REPORTS_PATH "/v1/reports"
#define AGENT_RESULTS_PATH "/v1/results"
#define AGENT_PROFILES_PATH "/v1/profiles/" /* + the profile's UUID */

enum agent_send_outcome {
    AGENT_SEND_ACKED,    /* 202, or 200 duplicate: the collector has it; remove from spool */
    AGENT_SEND_RETRY,    /* network/TLS error, 408, 429, 5xx, or an answer we cannot trust */
    AGENT_SEND_REJECTED, /* any other 4xx: this record will never be accepted */
};

struct agent_send_result {
    enum agent_send_outcome outcome;
    long http_status;         /* 0 when no HTTP answer came */
    int curl_code;            /* CURLcode; 0 when the transfer completed */
    long new_connections;     /* connections opened for this send: 0 = one was reused */
    bool duplicate;           /* the collector already had this report_id */
    uint64_t next_interval_s; /* from an acknowledgement; 0 when not given */
    uint64_t retry_after_s;   /* from Retry-After; 0 when not given */
    char report_id[37];       /* report_id (or result_id) echoed by the acknowledgement; "" when
                                 not given */
    char pending_profile[37]; /* the 202's pending_profile (a UUID); "" when none */
    bool oversized;           /* fetch: the body was over AGENT_TRANSPORT_MAX_FETCH */
    char error[256];          /* one printable line: curl's error or the collector's message */
};

struct agent_transport;

/* Global curl setup, allocations routed through proto's alloc seam. Call once at program
 * start, before any thread exists. PROTO_EUNAVAILABLE if libcurl cannot initialise. */
enum proto_rc agent_transport_global_init(void);
void agent_transport_global_cleanup(void);

/* Copies what it needs from cfg. `stop` (may be NULL) aborts a transfer in progress when it
 * becomes non-zero (SIGTERM). Caller destroys. PROTO_EUNAVAILABLE if curl lacks something
 * required (HTTPS, TLS 1.2). */
enum proto_rc agent_transport_create(const struct agent_config *cfg, volatile sig_atomic_t *stop,
                                     struct agent_transport **out);
void agent_transport_destroy(struct agent_transport *t); /* accepts NULL */

/* Windows: "LocalMachine\MY\<thumbprint>" of the certificate the last request presented ("" before
 * the first, and always on POSIX, where the files are). Borrowed, valid until the next request. */
const char *agent_transport_client_cert(const struct agent_transport *t);

/* Sends one report body. Fills *res; returns PROTO_OK whenever res says what happened
 * (including network failures), PROTO_ENOMEM / PROTO_EINVAL otherwise. */
enum proto_rc agent_transport_send(struct agent_transport *t, const char *body, size_t len,
                                   struct agent_send_result *res);

/* POST /v1/results with one result body (wire_result.h); fills *res like agent_transport_send,
 * classified by agent_transport_classify_result. */
enum proto_rc agent_transport_send_result(struct agent_transport *t, const char *body, size_t len,
                                          struct agent_send_result *res);

/*
 * GET /v1/profiles/{profile_id} over the same connection, certificates, pin and timeouts.
 * ACKED: a 200 whose body (at most AGENT_TRANSPORT_MAX_FETCH bytes) is in *body (caller frees
 * with proto_free, NUL-terminated past *len). REJECTED: a 4xx (404: not this host's, cancelled,
 * expired), or a body over the cap (res->oversized; nothing returned). RETRY: as for reports.
 * PROTO_EINVAL when profile_id is not a lower-case UUID (it goes into the URL).
 */
enum proto_rc agent_transport_fetch_profile(struct agent_transport *t, const char *profile_id,
                                            char **body, size_t *len,
                                            struct agent_send_result *res);

/* Pure: the answer to POST /v1/results: 202 -> ACKED; 200 -> ACKED only with "duplicate": true
 * or "accepted": true in a JSON object; 408, 429, 5xx, others -> RETRY; other 4xx -> REJECTED
 * with the error body's message. Reads result_id into res->report_id. */
void agent_transport_classify_result(long status, const char *body, size_t len, long retry_after_s,
                                     struct agent_send_result *res);

/*
 * Pure: classifies an HTTP answer (status, body, Retry-After seconds or -1) into *res.
 * 202 -> ACKED; 200 -> ACKED only when the body says accepted or duplicate (a 200 from
 * anything but the collector must not empty the spool); 408, 429, 5xx, 1xx, 3xx, other 2xx ->
 * RETRY; other 4xx -> REJECTED with the body's error.message (and error.field). Reads
 * next_interval_s, duplicate, report_id and pending_profile from a JSON body.
 */
void agent_transport_classify(long status, const char *body, size_t len, long retry_after_s,
                              struct agent_send_result *res);

const char *agent_send_outcome_str(enum agent_send_outcome outcome);

#endif
