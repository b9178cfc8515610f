/*
 * api_reports: the agent endpoints. POST /v1/reports validates the body strictly, binds the
 * report to the caller's certificate identity (an agent writes only its own host), recomputes
 * the findings with the fleet policy and answers only after the writer has committed. A
 * snapshot whose bytes the collector has decoded and diagnosed before is not decoded again
 * (decision 005): only the envelope is, and the writer checks the shortcut against the store.
 * POST /v1/reports has only the non-blocking form (begin/finish, api.h); the router waits for
 * it on the blocking path. The reply names the host's pending profile, if any (store.h:
 * col_store_profile_pending answers from memory for a host without an assigned one).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "api.h"
#include "api_op_int.h"
#include "caps.h"
#include "clock.h"
#include "facts.h"
#include "json.h"
#include "json_span.h"
#include "log.h"
#include "snapcache.h"
#include "wire_reply.h"
#include "writer.h"

/* Retry-After for an answer that says "try again in a moment" (out of memory, shutting down). */
#define API_RETRY_SOON_S 5
/* Retry-After when the database cannot be written (disk full, I/O error): an operator has to act,
 * so agents come back at a slower pace; their reports wait in their spools meanwhile. */
#define API_RETRY_STORAGE_S 60

static bool api_is_json(const struct col_http_request *req)
{
    const char *type = col_http_header_get(req, "Content-Type");
    return type != NULL && strncasecmp(type, "application/json", 16) == 0 &&
           (type[16] == '\0' || type[16] == ';' || type[16] == ' ');
}

static void api_reject(const struct col_api_call *call, struct col_http_response *resp,
                       enum col_reject_reason reason, int status, const char *code,
                       const char *message, const char *field)
{
    col_metrics_report_rejected(call->app->metrics, reason);
    col_http_response_error(resp, status, code, message, field);
}

/*
 * The shortcut of decision 005: when the snapshot's bytes are ones this collector decoded and
 * diagnosed before (the cache), decode only the envelope, with the snapshot's content left out.
 * False, with nothing allocated, when it does not apply; the full path then decides, and gives
 * any error message about the body as it is (offsets included).
 */
static bool api_decode_known_snapshot(const struct col_api_call *call, int64_t now,
                                      struct proto_report **report, struct col_ingest_facts *facts,
                                      size_t *finding_count)
{
    const struct col_http_request *req = call->req;
    size_t off = 0;
    size_t len = 0;
    struct col_snapcache_entry known;
    /* Over the document limit: the full path answers it as too large. */
    if (call->app->snapshots == NULL || req->body_len > PROTO_MAX_REPORT_BYTES ||
        proto_json_member_span(req->body, req->body_len, "snapshot", &off, &len) != PROTO_OK ||
        req->body[off] != '{') {
        return false;
    }
    col_ingest_facts_of_span(req->body, off, len, facts);
    if (!col_snapcache_get(call->app->snapshots, facts->snapshot_hash, now, &known)) {
        return false;
    }
    /* The envelope: the body with the snapshot's bytes replaced by an empty object. */
    size_t env_len = req->body_len - len + 2;
    char *envelope = proto_malloc(env_len + 1);
    if (envelope == NULL) {
        return false;
    }
    memcpy(envelope, req->body, off);
    memcpy(envelope + off, "{}", 2);
    memcpy(envelope + off + 2, req->body + off + len, req->body_len - off - len);
    envelope[env_len] = '\0';
    enum proto_rc rc = proto_json_decode_envelope(envelope, env_len, report, NULL);
    proto_free(envelope);
    if (rc) {
        return false;
    }
    memcpy(facts->diagnosis_hash, known.diagnosis_hash, sizeof(facts->diagnosis_hash));
    *finding_count = known.finding_count;
    return true;
}

/* The full path: strict decode of the whole body and the collector's own diagnosis. Answers
 * the error itself and returns false when the report cannot be taken. */
static bool api_decode_full(const struct col_api_call *call, struct col_http_response *resp,
                            int64_t now, struct proto_report **report,
                            struct proto_diagnosis **diag, struct col_ingest_facts *facts)
{
    const struct col_http_request *req = call->req;
    struct proto_json_error jerr = {"", ""};
    enum proto_rc rc = proto_json_decode_report(req->body, req->body_len, report, &jerr);
    if (rc == PROTO_ENOMEM) {
        api_reject(call, resp, COL_REJECT_INTERNAL, 503, "busy", "out of memory", NULL);
        resp->retry_after_s = API_RETRY_SOON_S;
        return false;
    }
    if (rc) {
        api_reject(call, resp, COL_REJECT_INVALID_REPORT, 400, "invalid_report",
                   jerr.message[0] ? jerr.message : proto_rc_str(rc),
                   jerr.field[0] ? jerr.field : NULL);
        return false;
    }
    /* The collector's own diagnosis with the fleet policy: agents may run older rules. */
    struct proto_policy policy = call->app->policy;
    policy.now = now;
    rc = proto_diagnose((*report)->snapshot, &policy, diag);
    if (!rc) {
        struct col_ingest in = {req->body, req->body_len, *report, *diag, now, NULL};
        if (facts->snapshot != NULL && facts->snapshot_offset >= 0) {
            /* The snapshot was located and hashed when the cache was asked: not twice. */
            col_ingest_facts_add_diagnosis(*diag, facts);
        } else {
            col_ingest_facts_release(facts);
            rc = col_ingest_facts_compute(&in, facts); /* hashing here keeps the writer free */
        }
    }
    if (rc) {
        api_reject(call, resp, COL_REJECT_INTERNAL, 503, "busy", "out of memory", NULL);
        resp->retry_after_s = API_RETRY_SOON_S;
        return false;
    }
    return true;
}

/*
 * A report's collected_at may be ahead of the collector's clock by at most max_clock_skew_s
 * (decision 016): one dated in the far future would otherwise claim to be the newest for years.
 * It is information (the store orders a host's reports by seq), but a wrong one is refused, so
 * the agent's operator learns of the clock. Answers the error itself when it returns false.
 */
static bool api_collected_at_ok(const struct col_api_call *call, struct col_http_response *resp,
                                const struct proto_report *report, int64_t now)
{
    int64_t collected_at = report->snapshot->host.collected_at;
    int64_t skew = (int64_t)call->app->config->max_clock_skew_s;
    if (collected_at == 0 || collected_at <= now || collected_at - now <= skew) {
        return true;
    }
    char message[256];
    snprintf(message, sizeof(message),
             "collected_at is %lld s ahead of the collector's clock (at most %lld allowed: "
             "max_clock_skew_s); check the agent host's clock",
             (long long)(collected_at - now), (long long)skew);
    api_reject(call, resp, COL_REJECT_INVALID_REPORT, 400, "invalid_report", message,
               "host.collected_at");
    return false;
}

static bool api_is_own_host(const struct col_api_call *call, struct col_http_response *resp,
                            const struct proto_report *report)
{
    const char *fqdn = report->snapshot->host.fqdn;
    if (fqdn != NULL && strcasecmp(fqdn, call->peer->identity) == 0) {
        return true;
    }
    char message[512];
    snprintf(message, sizeof(message),
             "this certificate speaks for %s only, not for the host in the report",
             call->peer->identity);
    col_log(COL_LOG_WARN, "report for %s refused: client certificate is %s", fqdn ? fqdn : "(none)",
            call->peer->identity);
    api_reject(call, resp, COL_REJECT_FORBIDDEN, 403, "forbidden", message, "host.fqdn");
    return false;
}

/* A report on its way through the writer (api.h): what the answer needs once it is stored. */
struct api_report_op {
    struct col_api_op op;     /* first: the router's view of it (api_op_int.h) */
    struct col_api_call call; /* req and peer stay borrowed from the server until the answer */
    struct proto_report *report;
    struct proto_diagnosis *diag; /* NULL on the known-snapshot path */
    struct col_ingest_facts facts;
    struct col_ingest in; /* what the writer borrows */
    size_t finding_count;
    bool known;
    int64_t now;          /* received_at, on the collector's wall clock */
    uint64_t started_ms;  /* on its monotonic clock, for the ingest latency */
    enum proto_rc result; /* from the writer (api_op_stored) */
    bool duplicate;
    col_api_done_fn done;
    void *done_arg;
};

_Static_assert(offsetof(struct api_report_op, op) == 0, "an api_report_op is its col_api_op");

static struct api_report_op *api_report_op_of(struct col_api_op *op)
{
    return (struct api_report_op *)(void *)op;
}

static void api_op_free(struct api_report_op *op)
{
    col_ingest_facts_release(&op->facts);
    proto_diagnosis_destroy(op->diag);
    proto_report_destroy(op->report);
    proto_free(op);
}

/* The writer's notification (on its thread): keep the outcome, tell the caller. */
static void api_op_stored(void *ctx, enum proto_rc result, bool duplicate)
{
    struct api_report_op *op = ctx;
    op->result = result;
    op->duplicate = duplicate;
    op->done(op->done_arg);
}

/* The answer for a writer outcome (also one refused at once). */
static void api_op_answer(struct api_report_op *op, enum proto_rc rc, bool duplicate,
                          struct col_http_response *resp)
{
    struct col_api_call *call = &op->call;
    if (rc == PROTO_ELIMIT || rc == PROTO_EUNAVAILABLE) {
        api_reject(call, resp, COL_REJECT_BUSY, rc == PROTO_ELIMIT ? 429 : 503, "busy",
                   rc == PROTO_ELIMIT ? "the collector is busy: retry later"
                                      : "the collector is shutting down: retry later",
                   NULL);
        resp->retry_after_s = call->app->config->next_interval_s > 60 ? 30 : API_RETRY_SOON_S;
        return;
    }
    if (rc == PROTO_ENOMEM) {
        /* Transient: the agent keeps the report in its spool and retries. */
        col_log(COL_LOG_ERROR, "storing report %s failed: %s", op->report->report_id,
                proto_rc_str(rc));
        api_reject(call, resp, COL_REJECT_INTERNAL, 503, "busy", "out of memory", NULL);
        resp->retry_after_s = API_RETRY_SOON_S;
        return;
    }
    if (rc == PROTO_ECONFLICT) {
        /* Never acknowledged: the agent would drop a report that was not stored. */
        col_log(COL_LOG_WARN, "report %s of %s refused: another host stored that report_id",
                op->report->report_id, call->peer->identity);
        api_reject(call, resp, COL_REJECT_INVALID_REPORT, 409, "conflict",
                   "this report_id was stored by another host; a report needs its own id",
                   "report_id");
        return;
    }
    if (rc == PROTO_EIO) {
        /* The store could not write (disk full, I/O error, corruption; its health says which
         * and the store counts it): transient for the agent, which keeps the report. */
        api_reject(call, resp, COL_REJECT_BUSY, 503, "storage_unavailable",
                   "the collector cannot write its database: retry later", NULL);
        resp->retry_after_s = API_RETRY_STORAGE_S;
        return;
    }
    if (rc) {
        col_log(COL_LOG_ERROR, "storing report %s failed: %s", op->report->report_id,
                proto_rc_str(rc));
        api_reject(call, resp, COL_REJECT_INTERNAL, 500, "internal", "the report was not stored",
                   NULL);
        return;
    }
    if (op->diag != NULL) {
        struct col_snapcache_entry entry = {"", "", op->diag->finding_count, op->now,
                                            op->diag->stable_until};
        memcpy(entry.snapshot_hash, op->facts.snapshot_hash, sizeof(entry.snapshot_hash));
        memcpy(entry.diagnosis_hash, op->facts.diagnosis_hash, sizeof(entry.diagnosis_hash));
        col_snapcache_put(call->app->snapshots, &entry);
    }
    uint64_t elapsed_ms = col_clock_monotonic_ms() - op->started_ms;
    col_metrics_report_accepted(call->app->metrics, duplicate, (double)elapsed_ms / 1000.0);
    col_metrics_snapshot_reused(call->app->metrics, op->known);

    struct proto_reply reply = {
        .accepted = true,
        .duplicate = duplicate,
        .next_interval_s = call->app->config->next_interval_s,
        .findings = op->finding_count,
    };
    char *answer = NULL;
    size_t answer_len = 0;
    /* Costs no SQL unless this host has an assigned profile (the store's in-memory set). A
     * failed lookup only delays the offer to the next report. */
    if (call->app->signing_key != NULL &&
        col_store_profile_pending(call->app->store, call->peer->identity, op->now,
                                  reply.pending_profile) != PROTO_OK) {
        reply.pending_profile[0] = '\0';
    }
    int n = snprintf(reply.report_id, sizeof(reply.report_id), "%s", op->report->report_id);
    if (n < 0 || (size_t)n >= sizeof(reply.report_id) ||
        proto_wire_encode_reply(&reply, &answer, &answer_len) != PROTO_OK ||
        col_http_response_json(resp, duplicate ? 200 : 202, answer) != PROTO_OK) {
        col_http_response_error(resp, 500, "internal", "the answer could not be written", NULL);
    }
    proto_free(answer);
}

/* Decodes what the known-snapshot path did not and hands the report to the writer. True when
 * the writer took it; false when resp holds the answer (an error). */
static bool api_op_submit(struct api_report_op *op, struct col_http_response *resp)
{
    struct col_api_call *call = &op->call;
    if (!op->known) {
        if (!api_decode_full(call, resp, op->now, &op->report, &op->diag, &op->facts)) {
            return false;
        }
        op->finding_count = op->diag->finding_count;
    }
    if (!api_is_own_host(call, resp, op->report) ||
        !api_collected_at_ok(call, resp, op->report, op->now)) {
        return false;
    }
    struct col_ingest in = {call->req->body, call->req->body_len, op->report, op->diag,
                            op->now,         &op->facts};
    op->in = in;
    enum proto_rc rc = col_writer_submit_async(call->app->writer, &op->in, api_op_stored, op);
    if (rc) {
        api_op_answer(op, rc, false, resp);
        return false;
    }
    return true;
}

enum col_api_begin_result col_api_reports_begin(const struct col_api_call *call,
                                                struct col_http_response *resp,
                                                col_api_done_fn done, void *done_arg,
                                                struct col_api_op **out)
{
    const struct col_http_request *req = call->req;

    *out = NULL;
    if (call->peer->identity[0] == '\0') {
        api_reject(call, resp, COL_REJECT_FORBIDDEN, 403, "forbidden",
                   "the client certificate names no single host (wildcard or no name)", NULL);
        return COL_API_ANSWERED;
    }
    if (!api_is_json(req)) {
        api_reject(call, resp, COL_REJECT_BAD_REQUEST, 415, "unsupported_media_type",
                   "reports are application/json", NULL);
        return COL_API_ANSWERED;
    }
    struct api_report_op *op = proto_calloc(1, sizeof(*op));
    if (op == NULL) {
        api_reject(call, resp, COL_REJECT_INTERNAL, 503, "busy", "out of memory", NULL);
        resp->retry_after_s = API_RETRY_SOON_S;
        return COL_API_ANSWERED;
    }
    op->call = *call;
    op->started_ms = col_clock_monotonic_ms();
    op->now = col_clock_now_s();
    op->done = done;
    op->done_arg = done_arg;
    op->known =
        api_decode_known_snapshot(&op->call, op->now, &op->report, &op->facts, &op->finding_count);
    if (!api_op_submit(op, resp)) {
        api_op_free(op);
        return COL_API_ANSWERED;
    }
    *out = &op->op;
    return COL_API_PENDING;
}

bool col_api_reports_finish(struct col_api_op *base, struct col_http_response *resp)
{
    struct api_report_op *op = api_report_op_of(base);
    if (op->result == PROTO_ECHANGED && op->known) {
        /* The host's latest state is not what the cache assumed: do the full work. */
        proto_report_destroy(op->report);
        op->report = NULL;
        op->known = false;
        if (api_op_submit(op, resp)) {
            return false;
        }
    } else {
        api_op_answer(op, op->result, op->duplicate, resp);
    }
    api_op_free(op);
    return true;
}
