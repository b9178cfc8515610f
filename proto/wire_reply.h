/*
 * wire_reply: the collector's answers to POST /v1/reports (DESIGN §7): the acknowledgement
 * (schema/json/reply.schema.json) and the error body of a refusal (schema/json/error.schema.json).
 *
 * The collector encodes them, the agent decodes them. Decoding is strict about what it reads
 * (required members, types, ranges, ids, size cap, no member twice) and IGNORES members it does
 * not know, so a newer collector can add some without breaking older agents (forward
 * compatibility). Both messages decode into fixed-size structs: nothing to free. Never decides
 * what the agent does with an answer (agent/transport.c does).
 */
#ifndef PROTO_WIRE_REPLY_H
#define PROTO_WIRE_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "caps.h"
#include "json.h"
#include "rc.h"

/* 202 (or 200 for a duplicate): the report is stored. */
struct proto_reply {
    bool accepted;
    bool duplicate;                /* the collector already had this report_id */
    char report_id[37];            /* UUID, lower-case after decoding */
    unsigned long next_interval_s; /* 1..PROTO_MAX_NEXT_INTERVAL_S */
    size_t findings;               /* the collector's count for the host, 0..PROTO_MAX_FINDINGS */
    char pending_profile[37];      /* UUID of a profile to fetch; "" when none (member absent) */
};

/* 4xx/5xx: {"error":{"code":..,"message":..,"field":..}} as collector/http.c writes it. */
struct proto_error_body {
    char code[PROTO_MAX_ERROR_CODE + 1];       /* "invalid_report", "busy": [a-z][a-z0-9_]* */
    char message[PROTO_MAX_ERROR_MESSAGE + 1]; /* one line for people; may be "" */
    char field[PROTO_MAX_ERROR_FIELD + 1];     /* path of the offending member; "" when none */
};

/*
 * Compact JSON into *out (caller frees with proto_free). PROTO_EINVAL for a reply the decoder
 * would refuse (bad UUID, interval or count out of range). Ids are written lower-case.
 */
enum proto_rc proto_wire_encode_reply(const struct proto_reply *reply, char **out, size_t *out_len);

/* Strict decode of at most PROTO_MAX_REPLY_BYTES into *out (zeroed on failure); err (may be
 * NULL) names the offending member. */
enum proto_rc proto_wire_decode_reply(const char *text, size_t len, struct proto_reply *out,
                                      struct proto_json_error *err);

/*
 * Compact JSON into *out (caller frees with proto_free); "field" is left out when "". An error
 * body must always be sendable, so text is made fit rather than refused: invalid UTF-8 becomes
 * U+FFFD and text longer than its cap is cut at a character boundary. PROTO_EINVAL only for a
 * code outside [a-z][a-z0-9_]{0,63}.
 */
enum proto_rc proto_wire_encode_error(const struct proto_error_body *error, char **out,
                                      size_t *out_len);

/* Strict decode of at most PROTO_MAX_ERROR_BYTES into *out (zeroed on failure). */
enum proto_rc proto_wire_decode_error(const char *text, size_t len, struct proto_error_body *out,
                                      struct proto_json_error *err);

#endif
