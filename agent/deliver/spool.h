/*
 * spool: the agent's durable outbox of reports (DESIGN §10a).
 *
 * One file per report in the spool folder, named by its 20-digit sequence number, written
 * atomically (temporary file, fsync, rename, fsync of the folder) with a header that carries
 * a magic, the format version, the sequence number, the body length and a SHA-256 of the body.
 * A record leaves the spool only when the collector acknowledged it. The spool is capped by
 * count and bytes: on overflow the oldest record is dropped and counted. A record that fails its
 * checks is moved to quarantine/ and counted, never fatal. Drop and quarantine counts persist
 * in a small state file so the next report can say how many were lost. Single process: the
 * caller holds the spool's lock file for the whole run.
 */
#ifndef AGENT_SPOOL_H
#define AGENT_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "rc.h"

#define AGENT_SPOOL_MAGIC "RRSPOOL1"
#define AGENT_SPOOL_MAX_RECORD_BYTES (4u * 1024u * 1024u)
#define AGENT_SPOOL_HEADER_BYTES 60u     /* magic 8, version 4, seq 8, body length 8, SHA-256 32 */
#define AGENT_SPOOL_MAX_RECORDS 1000000u /* the highest max_records agent_spool_open accepts */
#define AGENT_SPOOL_MAX_QUARANTINE 100u  /* files kept in quarantine/ (the newest by seq) */

struct agent_spool;

struct agent_spool_limits {
    size_t max_records; /* >= 1 */
    uint64_t max_bytes; /* total of record files */
};

struct agent_spool_stats {
    size_t records;
    uint64_t bytes;
    uint64_t next_seq;    /* the sequence number the next appended record gets */
    uint64_t dropped;     /* records dropped on overflow, not yet reported */
    uint64_t quarantined; /* records moved to quarantine/, not yet reported */
};

/* Opens (creating) the folder, takes its lock (PROTO_EUNAVAILABLE when another process holds
 * it), scans the records, quarantines bad ones. Caller closes with agent_spool_close. */
enum proto_rc agent_spool_open(const char *dir, const struct agent_spool_limits *limits,
                               struct agent_spool **out);
void agent_spool_close(struct agent_spool *sp); /* accepts NULL */

/* The sequence number the next record will get (persisted: never reused, even after a
 * restart with an empty spool). */
uint64_t agent_spool_next_seq(const struct agent_spool *sp);

/* Appends `body` as record agent_spool_next_seq(); *seq_out gets it. Drops the oldest records
 * (counting them) until the new one fits. PROTO_ELIMIT if the body alone is over the caps. */
enum proto_rc agent_spool_append(struct agent_spool *sp, const char *body, size_t len,
                                 uint64_t *seq_out);

/* The oldest record: *body is caller-freed (proto_free), NUL-terminated past *len.
 * PROTO_ENOTFOUND when empty. A record that fails its checks is quarantined and the next one
 * returned. */
enum proto_rc agent_spool_peek(struct agent_spool *sp, uint64_t *seq, char **body, size_t *len);

/* Removes record `seq` after the collector acknowledged it. PROTO_ENOTFOUND when it is not in
 * the spool (e.g. dropped on overflow meanwhile): nothing left to do. */
enum proto_rc agent_spool_ack(struct agent_spool *sp, uint64_t seq);

void agent_spool_stats(const struct agent_spool *sp, struct agent_spool_stats *out);

/* Clears the dropped/quarantined counters once a report carrying them was acknowledged. */
enum proto_rc agent_spool_reset_loss(struct agent_spool *sp, uint64_t dropped,
                                     uint64_t quarantined);

/* Checks one record file's bytes: PROTO_OK with the body located at data+*body_off, or why
 * not (PROTO_EPARSE, PROTO_ELIMIT). Pure; the fuzz target calls it. */
enum proto_rc agent_spool_record_check(const unsigned char *data, size_t len, uint64_t *seq,
                                       size_t *body_off, size_t *body_len);

/* Encodes a record (header + body) for `seq` into a new buffer (caller frees). */
enum proto_rc agent_spool_record_encode(uint64_t seq, const char *body, size_t len,
                                        unsigned char **out, size_t *out_len);

#endif
