/*
 * wire_result: what an agent did with a profile, rrasfleet.result/1, the body of POST
 * /v1/results (DESIGN §7, §8); schema/json/result.schema.json describes it.
 *
 * A result names the profile (id and serial), the host, an outcome, one step per action tried
 * (with the state before and after, and whether it was undone) and the findings before and
 * after. result_id is the idempotency key of a resend. Decoding is strict: unknown members are
 * refused, every member is required. The result owns everything it points to. This module
 * never applies, plans or judges anything: it only carries the agent's account.
 */
#ifndef PROTO_WIRE_RESULT_H
#define PROTO_WIRE_RESULT_H

#include <stddef.h>
#include <stdint.h>

#include "caps.h"
#include "json.h"
#include "rc.h"
#include "strv.h"
#include "wire_profile.h"

#define PROTO_RESULT_SCHEMA "rrasfleet.result/1"

enum proto_result_outcome {
    PROTO_OUTCOME_APPLIED,     /* "applied": every action took effect */
    PROTO_OUTCOME_PLANNED,     /* "planned": a dry run; steps say what would change */
    PROTO_OUTCOME_REFUSED,     /* "refused": nothing was tried (signature, target, expiry...) */
    PROTO_OUTCOME_ROLLED_BACK, /* "rolled_back": a step failed and the earlier ones were undone */
    PROTO_OUTCOME_COUNT
};

enum proto_step_status {
    PROTO_STEP_OK,      /* "ok" */
    PROTO_STEP_FAILED,  /* "failed" */
    PROTO_STEP_SKIPPED, /* "skipped": not tried, or nothing to change */
    PROTO_STEP_UNDONE,  /* "undone": took effect, then rolled back */
    PROTO_STEP_STATUS_COUNT
};

struct proto_result_step {
    enum proto_action_type action;
    char *before; /* the state before, as text; may be "" */
    char *after;  /* the state after (or that would be, for a dry run); may be "" */
    enum proto_step_status status;
};

struct proto_result {
    char result_id[37];  /* UUID, lower-case: the idempotency key */
    char profile_id[37]; /* UUID, lower-case */
    uint64_t serial;     /* the profile's serial, 1..2^53-1; 0 only for "refused" when the profile
                            could not be read */
    char host[PROTO_MAX_FQDN + 1]; /* lower-case */
    enum proto_result_outcome outcome;
    char *reason;                      /* why, for people; may be "" */
    int64_t finished_at;               /* Unix seconds */
    struct proto_result_step *steps;   /* owned, room for PROTO_MAX_RESULT_STEPS */
    size_t step_count;                 /* 0..PROTO_MAX_RESULT_STEPS */
    struct proto_strv findings_before; /* finding ids, 0..PROTO_MAX_FINDINGS each */
    struct proto_strv findings_after;
};

/* NULL only on allocation failure; reason is NULL (encoded as "") until set. */
struct proto_result *proto_wire_result_create(void);
void proto_wire_result_destroy(struct proto_result *res); /* accepts NULL */

/* Appends a zeroed step owned by the result into *out (borrowed, valid until the result is
 * destroyed). PROTO_ELIMIT past PROTO_MAX_RESULT_STEPS, PROTO_ENOMEM. */
enum proto_rc proto_wire_result_add_step(struct proto_result *res, struct proto_result_step **out);

/* Wire names; borrowed static strings, "" for a value outside the enum. */
const char *proto_wire_outcome_str(enum proto_result_outcome outcome);
const char *proto_wire_step_status_str(enum proto_step_status status);

/* Compact JSON into *out (caller frees with proto_free). PROTO_EINVAL for a result the decoder
 * would refuse; PROTO_ELIMIT past PROTO_MAX_RESULT_BYTES. Ids and host are written lower-case;
 * NULL strings are written as "". */
enum proto_rc proto_wire_encode_result(const struct proto_result *res, char **out, size_t *out_len);

/* Strict decode of at most PROTO_MAX_RESULT_BYTES. *out is caller-owned
 * (proto_wire_result_destroy); NULL on failure, with err (may be NULL) naming the member. */
enum proto_rc proto_wire_decode_result(const char *text, size_t len, struct proto_result **out,
                                       struct proto_json_error *err);

#endif
