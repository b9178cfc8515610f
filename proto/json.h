/*
 * json: the report wire format (DESIGN §7) on cJSON: encode, and strict decode.
 *
 * Decoding first holds the text to RFC 8259 with one reading for every reader (json_check.h:
 * UTF-8, no \u0000, no member name given twice at any depth), then checks every member's type
 * and the caps of caps.h (document size, depth, array lengths, string lengths), ignores unknown
 * members given once (forward compatibility) and names the first
 * offending member in `err->field` as a JSON-pointer-like path ("snapshot.certs[3].sha1").
 * Encode then decode gives back an equal report. The schema is schema/json/report.schema.json.
 */
#ifndef PROTO_JSON_H
#define PROTO_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "model.h"

#define PROTO_REPORT_SCHEMA "rrasfleet.report/1"

struct proto_report {
    char report_id[37]; /* UUID, lower-case, the idempotency key */
    uint64_t seq;
    struct proto_snapshot *snapshot; /* owned */
    struct proto_finding *findings;  /* owned: the agent's own diagnosis */
    size_t finding_count;
    /* Reports the agent lost before they were sent, attributed to this report: "agent_spool"
     * on the wire (always written; absent on decode reads as 0). Each loss is carried by one
     * acknowledged report, so the collector may sum them. At most 2^53. */
    uint64_t spool_dropped;     /* dropped, oldest first, when the spool was full */
    uint64_t spool_quarantined; /* corrupted on disk, or refused by the collector for good */
};

struct proto_json_error {
    char field[256];   /* path of the offending member, "" for the document itself */
    char message[256]; /* one line */
};

/* NULL only on allocation failure; the snapshot is created empty. */
struct proto_report *proto_report_create(void);
void proto_report_destroy(struct proto_report *report); /* accepts NULL */

/* Caller frees *out with proto_free. Compact JSON unless `pretty`. */
enum proto_rc proto_json_encode_report(const struct proto_report *report, int pretty, char **out,
                                       size_t *out_len);

/* Strict decode; *out is caller-owned (proto_report_destroy). On failure *out is NULL and err
 * says which member. */
enum proto_rc proto_json_decode_report(const char *text, size_t len, struct proto_report **out,
                                       struct proto_json_error *err);

/* As proto_json_decode_report, except that the "snapshot" member only has to be an object: its
 * content is neither checked nor decoded, and report->snapshot holds only the host. For the
 * collector, when the snapshot's bytes equal a snapshot it has already decoded (decision 005). */
enum proto_rc proto_json_decode_envelope(const char *text, size_t len, struct proto_report **out,
                                         struct proto_json_error *err);

/* Strict decode of a snapshot alone: the value of a report's "snapshot" member, as the
 * collector stores it. The host is not part of that value: snap->host is left empty for the
 * caller to fill. *out is caller-owned (proto_snapshot_destroy); NULL on failure, with err
 * naming the member. */
enum proto_rc proto_json_decode_snapshot(const char *text, size_t len, struct proto_snapshot **out,
                                         struct proto_json_error *err);

/* Building blocks for other documents (agent `check --json`, collector API). Each returns a new
 * cJSON tree the caller deletes with cJSON_Delete, or NULL on allocation failure. */
cJSON *proto_json_from_host(const struct proto_host *host);
cJSON *proto_json_from_cert(const struct proto_cert *cert);
cJSON *proto_json_from_finding(const struct proto_finding *finding);
cJSON *proto_json_from_snapshot(const struct proto_snapshot *snap);

#endif
