/*
 * store: the collector's SQLite database (DESIGN §9).
 *
 * Owns the schema (schema/sql/NNN_*.sql, embedded at build time and applied by
 * PRAGMA user_version with a backup taken before and restored on failure), one write
 * connection used only by the writer thread, one admin connection for tokens, audit and prune
 * (serialized by a mutex), and a small pool of read connections for queries from connection
 * threads (WAL lets them run beside the writer). Every statement is prepared
 * with bound parameters; the SQL text lives in store_sql_int.h. It never decides policy: findings
 * arrive computed, and it never renders: reads come back as C structs and tables, JSON that the
 * store keeps (a snapshot, a finding's certificate list) as the stored text, for the API to
 * render. This header is independent of SQLite and of any JSON library.
 */
#ifndef COL_STORE_H
#define COL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diagnose.h"
#include "rc.h"

struct col_store;
struct col_metrics;  /* metrics.h: where the store counts its write failures */
struct proto_report; /* json.h: the decoded report the writer hands in */

/* How col_store_open_with treats the database file (decision 016). */
struct col_store_options {
    /* Open a database that group or others may read (allow_readable_db). Without it such a file
     * is refused: it holds token hashes and the audit trail. */
    bool allow_readable;
    /* Largest database file in bytes (db_max_mb); 0: no limit. Writes past it fail as a full
     * disk would (SQLITE_FULL): PRAGMA max_page_count on each read-write connection. */
    uint64_t max_bytes;
};

/*
 * Opens (creating if needed, mode 0600, and -wal/-shm with it) and migrates. PROTO_EUNSUPPORTED
 * for a database file (or its -wal/-shm) that group or others may read, unless
 * opt->allow_readable; opt NULL means all defaults. `err` gets a one-line reason on failure.
 */
enum proto_rc col_store_open_with(const char *path, const struct col_store_options *opt,
                                  struct col_store **out, char *err, size_t err_size);
/* col_store_open_with with the default options. */
enum proto_rc col_store_open(const char *path, struct col_store **out, char *err, size_t err_size);
void col_store_close(struct col_store *st); /* accepts NULL */

/* ---- health (any thread) -------------------------------------------------------------------- */

/* Why the latest write on the write connection failed; NONE once a commit that stored a
 * report has succeeded. */
enum col_store_fault {
    COL_STORE_FAULT_NONE,
    COL_STORE_FAULT_FULL,    /* SQLITE_FULL: the disk (or db_max_mb) is full */
    COL_STORE_FAULT_IO,      /* SQLITE_IOERR */
    COL_STORE_FAULT_CORRUPT, /* SQLITE_CORRUPT / SQLITE_NOTADB met while writing */
    COL_STORE_FAULT_COUNT
};

/* The integrity check (PRAGMA quick_check) started by col_store_check_start. */
enum col_store_check {
    COL_STORE_CHECK_NONE, /* not started */
    COL_STORE_CHECK_RUNNING,
    COL_STORE_CHECK_OK,
    COL_STORE_CHECK_FAILED
};

/* "none", "full", "io", "corrupt"; "none", "running", "ok", "failed". Static strings. */
const char *col_store_fault_str(enum col_store_fault fault);
const char *col_store_check_str(enum col_store_check check);

struct col_store_health {
    enum col_store_fault fault;
    enum col_store_check check;
    char check_message[256]; /* the check's first complaint when FAILED, else "" */
    bool has_commit;         /* a commit that stored a report succeeded since open */
    uint64_t last_commit_ms; /* col_clock_monotonic_ms() at that commit */
};

void col_store_health(struct col_store *st, struct col_store_health *out);

/* From now on, every write failure classified above counts in `m` (borrowed; must outlive the
 * store, or be detached with NULL). Call before the writer starts. */
void col_store_set_metrics(struct col_store *st, struct col_metrics *m);

/*
 * Runs PRAGMA quick_check on its own connection, now (col_store_quick_check: PROTO_OK when it
 * says "ok", PROTO_EIO with its first complaint in `message` otherwise) or on a thread of its
 * own (col_store_check_start: the health says RUNNING until it ends; then `done(ctx, ok)` is
 * called once on that thread, and must be quick). col_store_close interrupts a check still
 * running and waits for its thread. A check can start once per store.
 */
typedef void (*col_store_check_fn)(void *ctx, bool ok);
enum proto_rc col_store_quick_check(struct col_store *st, char *message, size_t message_size);
enum proto_rc col_store_check_start(struct col_store *st, col_store_check_fn done, void *ctx);

/* ---- writer side: call only from the writer thread ---------------------------------------- */

/* What the store derives from a report before writing it (decision 005). Pure computation, so
 * connection threads compute it in parallel and the single writer thread only writes. */
struct col_ingest_facts {
    const char *snapshot; /* the snapshot's JSON bytes: inside the body, or `printed` */
    size_t snapshot_len;
    int64_t snapshot_offset; /* where they start in the body; -1 when re-printed */
    char *printed;           /* owned: only when the body's own bytes could not be located */
    char snapshot_hash[PROTO_SHA256_HEX_LEN + 1];  /* SHA-256 of the snapshot bytes */
    char diagnosis_hash[PROTO_SHA256_HEX_LEN + 1]; /* of everything the diagnosis puts in rows */
};

struct col_ingest {
    const char *body; /* the report exactly as received */
    size_t body_len;
    const struct proto_report *report;       /* decoded from body */
    const struct proto_diagnosis *diagnosis; /* the collector's own, with the fleet policy */
    int64_t received_at;                     /* Unix seconds */
    const struct col_ingest_facts *facts;    /* required by the store (ingest/facts.h makes
                                              * them); the writer fills them in when NULL */
};

enum proto_rc col_store_begin(struct col_store *st);
/*
 * Stores one report inside the open transaction under a savepoint, so a failure leaves the
 * rest of the batch intact. A report_id this host already stored sets *duplicate and changes
 * nothing; one that another host stored is PROTO_ECONFLICT (nothing changes either).
 * A host's latest state comes from the report with the highest seq; collected_at only breaks
 * the case of an agent that started its sequence over (decision 016).
 */
enum proto_rc col_store_ingest(struct col_store *st, const struct col_ingest *in, bool *duplicate);
enum proto_rc col_store_commit(struct col_store *st);
void col_store_rollback(struct col_store *st);
/* True while the write connection holds an open transaction. The store may roll a transaction
 * back by itself on some errors (I/O, disk full, out of memory); the writer checks this after
 * a failed ingest to learn whether the batch so far is lost. */
bool col_store_in_transaction(struct col_store *st);
/* True while another connection of the store (prune, tokens, a checkpoint) waits for the write
 * lock: the writer then ends its transaction instead of keeping it open for more reports. */
bool col_store_other_writer_waiting(struct col_store *st);
/* Deletes raw bodies and reports older than `before` (latest state is kept). Unlike the
 * calls above it may be called from any thread: it runs on the store's admin connection in
 * short chunked transactions. *deleted counts report rows. */
enum proto_rc col_store_prune(struct col_store *st, int64_t before, int64_t *deleted);

/* ---- query side: thread-safe ---------------------------------------------------------------- */

enum col_cell_type { COL_CELL_TEXT, COL_CELL_INT, COL_CELL_BOOL, COL_CELL_TIME };

struct col_column {
    const char *name;
    enum col_cell_type type;
};

/* A result set that renders to JSON or CSV the same way. */
struct col_table {
    const struct col_column *columns; /* borrowed static */
    size_t ncols;
    char **cells; /* nrows * ncols, row-major; NULL = SQL NULL; numbers as decimal text */
    size_t nrows;
    size_t total; /* rows matching before limit/offset */
};

void col_table_destroy(struct col_table *t); /* accepts NULL */

/* The largest page a query may ask for: CSV exports take whole selections up to this. */
#define COL_QUERY_MAX_LIMIT 100000u

struct col_query {
    const char *finding;      /* finding id the host (or cert) must have, or NULL */
    int min_severity;         /* enum proto_severity, -1 for any */
    const char *name_pattern; /* host fqdn glob with '*', or NULL */
    int expiring_within_days; /* -1 for any; else not yet expired and ending within N days */
    const char *issuer;       /* substring of the issuer DN text, case-insensitive, or NULL */
    int64_t last_seen_before; /* 0 for any */
    const char *sort;         /* a column name of the result, or NULL for the default */
    bool descending;
    size_t limit; /* 1..COL_QUERY_MAX_LIMIT */
    size_t offset;
    int64_t now; /* for expiring_within_days */
};

/* Validates q->sort against the result's columns: PROTO_EINVAL names a bad sort column. */
enum proto_rc col_store_query_hosts(struct col_store *st, const struct col_query *q,
                                    struct col_table **out);
enum proto_rc col_store_query_certs(struct col_store *st, const struct col_query *q,
                                    struct col_table **out);
/* Hosts per finding id, for the summary. */
struct col_summary_finding {
    char *id;      /* owned by the summary */
    int64_t hosts; /* hosts that have a current finding with this id */
};

/* The fleet at a glance; every number from the same read transaction. */
struct col_summary {
    int64_t hosts;
    int64_t hosts_at_risk; /* hosts whose highest finding is high or critical */
    /* Hosts by their highest finding, indexed by enum proto_severity; hosts without findings
     * (or with a stored severity out of range) count in without_findings. */
    int64_t by_severity[PROTO_SEV_CRITICAL + 1];
    int64_t without_findings;
    struct col_summary_finding *by_finding; /* owned; sorted by id */
    size_t by_finding_count;
    int64_t reports;        /* rows in `reports` */
    bool has_last_report;   /* false while no report is stored */
    int64_t last_report_at; /* received_at of the latest report, Unix seconds */
};

/* Fills *out (caller frees with col_store_summary_destroy). */
enum proto_rc col_store_summary(struct col_store *st, struct col_summary **out);
void col_store_summary_destroy(struct col_summary *s); /* accepts NULL */

/* A current finding of a host. Strings are owned by the detail; NULL where the row holds NULL. */
struct col_host_finding {
    char *id;
    int severity; /* enum proto_severity as stored; out of range means unknown */
    char *message;
    char *certs_json; /* the stored JSON array of certificate SHA-1s, not parsed */
    char *rules_json; /* the stored JSON array of rule names, not parsed */
    int64_t first_seen;
    int64_t last_seen;
};

/* One row of a host's finding history, newest first. */
struct col_host_history {
    char *id;
    char *key; /* id | sorted cert SHA-1s | sorted rule names */
    int severity;
    int64_t first_seen;
    int64_t last_seen;
    bool resolved; /* false while the finding is current */
    int64_t resolved_at;
};

/* One host's latest state. Times are Unix seconds. Strings are owned by the detail and NULL
 * where the row holds NULL. */
struct col_host_detail {
    char *fqdn;
    char *hostname;
    char *os;
    char *agent_version;
    int64_t first_seen;
    int64_t last_seen;
    int64_t collected_at;
    char *last_report_id;
    int64_t last_seq;
    bool has_prohibit_ipsec; /* false: the snapshot did not say */
    int64_t prohibit_ipsec;
    bool automatic_policy;
    char *predicted_sha1;
    char *predicted_cn;
    int max_severity; /* enum proto_severity; -1 without findings */
    int64_t finding_count;
    int64_t spool_dropped;
    int64_t spool_quarantined;
    /* The latest report's "snapshot" JSON value exactly as stored (NUL-terminated), not parsed;
     * NULL when the store cannot find it. */
    char *snapshot_json;
    size_t snapshot_len;
    struct col_host_finding *findings; /* owned; severity descending, then id */
    size_t finding_rows;
    struct col_host_history *history; /* owned; newest first, at most COL_HOST_HISTORY_MAX */
    size_t history_rows;
};

#define COL_HOST_HISTORY_MAX 1000

/* PROTO_ENOTFOUND for an unknown host. Fills *out (caller frees with
 * col_store_host_detail_destroy). */
enum proto_rc col_store_host_detail(struct col_store *st, const char *fqdn,
                                    struct col_host_detail **out);
void col_store_host_detail_destroy(struct col_host_detail *d); /* accepts NULL */

/* All rows in `reports` (every report stored, duplicates excluded): for tests and metrics. */
enum proto_rc col_store_count_reports(struct col_store *st, int64_t *count);
enum proto_rc col_store_db_size(struct col_store *st, int64_t *bytes);

/* ---- tokens and audit (thread-safe; each write is its own transaction) ------------------- */

enum col_role { COL_ROLE_NONE = 0, COL_ROLE_VIEWER, COL_ROLE_OPERATOR, COL_ROLE_APPROVER };

const char *col_role_str(enum col_role role);
enum col_role col_role_from_str(const char *s); /* COL_ROLE_NONE when unknown */

#define COL_TOKEN_MAX 96

/* Creates a token; the secret is shown once in token_out and stored only as a salted hash.
 * Audited as `actor`. *id_out (may be NULL) gets the token's public id. */
enum proto_rc col_store_token_create(struct col_store *st, enum col_role role, const char *name,
                                     const char *actor, char token_out[COL_TOKEN_MAX],
                                     char id_out[32]);
/* PROTO_OK with *role and name when the token is valid and not revoked; PROTO_ENOTFOUND else.
 * Compares in constant time. */
enum proto_rc col_store_token_verify(struct col_store *st, const char *token, enum col_role *role,
                                     char name[128]);
enum proto_rc col_store_token_list(struct col_store *st, struct col_table **out);
enum proto_rc col_store_token_revoke(struct col_store *st, const char *id, const char *actor);

/* Appends to the audit table (append-only: triggers refuse UPDATE and DELETE). */
enum proto_rc col_store_audit(struct col_store *st, const char *actor, const char *action,
                              const char *target, const char *detail);

/* ---- remediation profiles and results (thread-safe; each write is its own transaction on the
 * admin connection, with its audit row) ------------------------------------------------------ */

enum col_profile_state {
    COL_PROFILE_CREATED,
    COL_PROFILE_ASSIGNED,
    COL_PROFILE_APPLIED,
    COL_PROFILE_PLANNED,
    COL_PROFILE_REFUSED,
    COL_PROFILE_ROLLED_BACK,
    COL_PROFILE_CANCELLED,
    COL_PROFILE_STATE_COUNT
};

/* Wire names ("created", "rolled_back"...); "" outside the enum. */
const char *col_profile_state_str(enum col_profile_state state);
/* false for a name that is not a state. */
bool col_profile_state_from_str(const char *s, enum col_profile_state *out);

/* One profile as stored. Strings are owned by it; NULL where the row holds NULL. */
struct col_profile {
    char profile_id[37];
    char *host;
    int64_t serial;
    char mode[16]; /* "apply" | "dry_run" */
    enum col_profile_state state;
    char *reason_json; /* JSON array of finding ids, as stored */
    char *envelope;    /* only when asked for (col_store_profile_get's with_envelope) */
    size_t envelope_len;
    int64_t not_before;
    int64_t expires;
    int64_t created_at;
    char *created_by;
    bool assigned;
    int64_t assigned_at;
    char *assigned_by;
    bool cancelled;
    int64_t cancelled_at;
    char *cancelled_by;
};

/* One result as stored; strings owned by it. */
struct col_profile_result {
    char result_id[37];
    char outcome[16];
    char *reason;
    int64_t finished_at;
    int64_t received_at;
    char *body; /* the rrasfleet.result/1 document as received */
    size_t body_len;
};

/* A profile with its results (oldest first). */
struct col_profile_detail {
    struct col_profile profile;
    struct col_profile_result *results; /* owned */
    size_t result_count;
};

#define COL_PROFILE_RESULTS_MAX 100u /* results kept in a detail; more are not listed */
#define COL_PROFILE_ENVELOPE_MAX (256u * 1024u)

/* What a new profile is made of; the serial comes from the store. */
struct col_profile_new {
    const char *profile_id;  /* UUID, lower-case */
    const char *host;        /* the target FQDN */
    const char *mode;        /* "apply" | "dry_run" */
    const char *reason_json; /* JSON array of finding ids */
    int64_t not_before;
    int64_t expires;
    const char *actor; /* audit principal, becomes created_by */
};

/* Signs the profile once the store knows its serial: fills *envelope (the store takes ownership
 * and frees it with proto_free). Called inside the store's transaction, so keep it short. */
typedef enum proto_rc (*col_profile_seal_fn)(void *ctx, int64_t serial, char **envelope,
                                             size_t *envelope_len);

/*
 * Creates a profile: in one transaction, refuses (PROTO_ECHANGED: a conflict) when the host has a
 * profile in created or assigned, takes serial = the highest ever given to the host + 1, calls
 * seal, and stores the profile in `created` with its audit row ("profile.create"). *serial_out (may
 * be NULL) gets the serial. seal's error is returned as is.
 */
enum proto_rc col_store_profile_create(struct col_store *st, const struct col_profile_new *in,
                                       col_profile_seal_fn seal, void *seal_ctx,
                                       int64_t *serial_out);

/* PROTO_ENOTFOUND for an unknown id. Fills *out (caller frees with
 * col_store_profile_detail_destroy); the envelope only when with_envelope. */
enum proto_rc col_store_profile_get(struct col_store *st, const char *profile_id,
                                    bool with_envelope, struct col_profile_detail **out);
void col_store_profile_detail_destroy(struct col_profile_detail *d); /* accepts NULL */

/* The host's profiles, newest first (at most `max`), each with its results. Caller frees with
 * col_store_profile_list_destroy. */
enum proto_rc col_store_profiles_of_host(struct col_store *st, const char *host, size_t max,
                                         struct col_profile_detail **out, size_t *count);
void col_store_profile_list_destroy(struct col_profile_detail *list, size_t count);

struct col_profile_query {
    const char *host; /* exact FQDN (case-insensitive), or NULL */
    int state;        /* enum col_profile_state, -1 for any */
    size_t limit;     /* 1..COL_QUERY_MAX_LIMIT */
    size_t offset;
};

/* The list document's rows: profile_id, host, serial, mode, state, reason, created_at,
 * created_by, assigned_at, expires, outcome, result_at (the latest result's). Newest first. */
enum proto_rc col_store_profile_list(struct col_store *st, const struct col_profile_query *q,
                                     struct col_table **out);

/*
 * Moves a profile to `to` by an operator: COL_PROFILE_ASSIGNED (from created only) or
 * COL_PROFILE_CANCELLED (from created or assigned), with its audit row ("profile.assign",
 * "profile.cancel"). PROTO_ENOTFOUND for an unknown id, PROTO_ECHANGED when the profile is not
 * in a state it may leave that way, PROTO_EINVAL for any other `to`.
 */
enum proto_rc col_store_profile_transition(struct col_store *st, const char *profile_id,
                                           enum col_profile_state to, const char *actor);

/* The profile the host should fetch: assigned, expires > now, no result yet. PROTO_OK with its
 * id, PROTO_ENOTFOUND when none. Cheap for a host without an assigned profile: an in-memory set
 * of the hosts that have one (refreshed by every change of an assigned profile) answers before
 * any SQL runs. */
enum proto_rc col_store_profile_pending(struct col_store *st, const char *host, int64_t now,
                                        char id_out[37]);

struct col_result_new {
    const char *result_id;  /* UUID, lower-case */
    const char *host;       /* the caller's identity, already checked against the body */
    const char *profile_id; /* UUID, lower-case */
    const char *outcome;    /* applied | planned | refused | rolled_back */
    const char *reason;
    int64_t finished_at;
    int64_t received_at;
    const char *body; /* the result as received */
    size_t body_len;
    const char *actor;
};

/*
 * Stores a result idempotently: *duplicate when this host already stored this result_id
 * (nothing changes); PROTO_ECHANGED when another host used the result_id; PROTO_ENOTFOUND when
 * the profile is not this host's (or unknown). An `assigned` profile moves to the outcome's
 * state (audit "profile.result"); in any other state the result is kept and the state stays.
 */
enum proto_rc col_store_result_insert(struct col_store *st, const struct col_result_new *in,
                                      bool *duplicate);

#endif
