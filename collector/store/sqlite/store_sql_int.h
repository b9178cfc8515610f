/*
 * store_sql: every SQL statement of the store in one place (STYLE rule 9).
 *
 * The schema itself lives in schema/sql/NNN_*.sql; this header holds the statements the store
 * prepares at run time: the writer's statements (an X-macro list that becomes an enum index
 * into a per-connection cache), the query fragments the dashboard filters compose, and the
 * token/audit statements. Every value is a bound parameter; the only text ever spliced into a
 * statement is a fragment from this header (filters, a sort expression chosen from a whitelist).
 */
#ifndef COL_STORE_SQL_H
#define COL_STORE_SQL_H

/* ---- connection setup and migrations ------------------------------------------------------ */

#define COL_SQL_PRAGMA_WAL "PRAGMA journal_mode = WAL"
#define COL_SQL_PRAGMA_SYNC_FULL "PRAGMA synchronous = FULL"
#define COL_SQL_PRAGMA_FOREIGN_KEYS "PRAGMA foreign_keys = ON"
/* Write connection only: checkpoints run on their own thread (checkpoint.c), not in COMMIT. */
#define COL_SQL_PRAGMA_NO_AUTOCHECKPOINT "PRAGMA wal_autocheckpoint = 0"
#define COL_SQL_USER_VERSION_GET "PRAGMA user_version"
/* user_version cannot be a bound parameter; the value is an int from the migration table. */
#define COL_SQL_USER_VERSION_SET_FMT "PRAGMA user_version = %d"
#define COL_SQL_SCHEMA_OBJECTS "SELECT count(*) FROM sqlite_master"
/* The value cannot be a bound parameter; it is an integer the store computes. */
#define COL_SQL_MAX_PAGE_COUNT_FMT "PRAGMA max_page_count = %llu"
#define COL_SQL_PAGE_SIZE "PRAGMA page_size"
/* Stops at the first complaint: enough to refuse the database, and faster on a bad one. */
#define COL_SQL_QUICK_CHECK "PRAGMA quick_check(1)"
#define COL_SQL_BEGIN_IMMEDIATE "BEGIN IMMEDIATE"
#define COL_SQL_BEGIN_READ "BEGIN"
#define COL_SQL_COMMIT "COMMIT"
#define COL_SQL_ROLLBACK "ROLLBACK"

/* ---- writer: cached on the write connection, indexed by enum col_wsql ---------------------- */

#define COL_WRITE_SQL(X)                                                                           \
    X(BEGIN, "BEGIN IMMEDIATE")                                                                    \
    X(COMMIT, "COMMIT")                                                                            \
    X(ROLLBACK, "ROLLBACK")                                                                        \
    X(SAVEPOINT, "SAVEPOINT col_ingest")                                                           \
    X(RELEASE, "RELEASE col_ingest")                                                               \
    X(ROLLBACK_TO, "ROLLBACK TO col_ingest")                                                       \
    /* hosts.fqdn is COLLATE NOCASE, so the comparison is too. */                                  \
    X(REPORT_EXISTS, "SELECT h.fqdn = ?2 FROM reports r JOIN hosts h ON h.id = r.host_id "         \
                     "WHERE r.report_id = ?1")                                                     \
    X(SNAPSHOT_INSERT, "INSERT OR IGNORE INTO snapshots (hash, body, size) VALUES (?1, ?2, ?3)")   \
    X(HOST_SELECT,                                                                                 \
      "SELECT id, collected_at, last_seq, snapshot_hash, diagnosis_hash, latest_received_at, "     \
      "fqdn FROM hosts WHERE fqdn = ?1")                                                           \
    X(HOST_INSERT,                                                                                 \
      "INSERT INTO hosts (fqdn, first_seen, last_seen, collected_at, last_report_id, last_seq, "   \
      "automatic_policy, spool_dropped, spool_quarantined) VALUES (?1, ?2, ?2, 0, '', -1, 1, ?3, " \
      "?4)")                                                                                       \
    X(HOST_TOUCH,                                                                                  \
      "UPDATE hosts SET last_seen = max(last_seen, ?2), spool_dropped = spool_dropped + ?3, "      \
      "spool_quarantined = spool_quarantined + ?4 WHERE id = ?1")                                  \
    X(REPORT_INSERT,                                                                               \
      "INSERT INTO reports (report_id, host_id, seq, collected_at, received_at, snapshot_hash, "   \
      "envelope, snapshot_offset, spool_dropped, spool_quarantined) "                              \
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")                                          \
    X(HOST_UPDATE_LATEST,                                                                          \
      "UPDATE hosts SET fqdn = ?2, hostname = ?3, os = ?4, agent_version = ?5, "                   \
      "collected_at = ?6, last_report_id = ?7, last_seq = ?8, prohibit_ipsec = ?9, "               \
      "automatic_policy = ?10, predicted_sha1 = ?11, predicted_cn = ?12, max_severity = ?13, "     \
      "finding_count = ?14, finding_ids = ?15, latest_body_hash = NULL, snapshot_hash = ?16, "     \
      "diagnosis_hash = ?17, latest_received_at = ?18 WHERE id = ?1")                              \
    /* The latest state is unchanged but for the envelope: same snapshot, same diagnosis. Current  \
     * findings and open history rows are last seen at latest_received_at: nothing to write. The   \
     * fqdn (?2) is left out: setting it rewrites its UNIQUE index entry, one more WAL page per    \
     * report; HOST_SET_FQDN follows a change of its case. */                                      \
    X(HOST_UPDATE_SEEN, "UPDATE hosts SET hostname = ?3, os = ?4, agent_version = ?5, "            \
                        "collected_at = ?6, "                                                      \
                        "last_report_id = ?7, last_seq = ?8, latest_received_at = ?9, "            \
                        "last_seen = max(last_seen, ?9), spool_dropped = spool_dropped + ?10, "    \
                        "spool_quarantined = spool_quarantined + ?11 WHERE id = ?1")               \
    X(HOST_SET_FQDN, "UPDATE hosts SET fqdn = ?2 WHERE id = ?1")                                   \
    X(CERTS_DELETE, "DELETE FROM certs WHERE host_id = ?1")                                        \
    X(CERT_INSERT,                                                                                 \
      "INSERT INTO certs (host_id, store_index, sha1, sha256, parsed, subject, subject_cn, "       \
      "issuer, issuer_cn, san, wildcard, eku, not_before, not_after, has_private_key, "            \
      "eligible, predicted) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "      \
      "?14, ?15, ?16, ?17)")                                                                       \
    X(RULES_DELETE, "DELETE FROM rules WHERE host_id = ?1")                                        \
    X(RULE_INSERT,                                                                                 \
      "INSERT INTO rules (host_id, rule_index, name, enabled, l2tp, auth1_ca_name, mode, "         \
      "protocol, port1, port2) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")                  \
    X(FINDINGS_MARK_STALE, "UPDATE findings SET stale = 1 WHERE host_id = ?1")                     \
    X(FINDING_UPSERT,                                                                              \
      "INSERT INTO findings (host_id, finding_key, finding_id, severity, message, certs, "         \
      "rules, first_seen, last_seen, stale) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, 0) "       \
      "ON CONFLICT (host_id, finding_key) DO UPDATE SET finding_id = excluded.finding_id, "        \
      "severity = excluded.severity, message = excluded.message, certs = excluded.certs, "         \
      "rules = excluded.rules, last_seen = excluded.last_seen, stale = 0")                         \
    X(HISTORY_UPSERT,                                                                              \
      "INSERT INTO finding_history (host_id, finding_key, finding_id, severity, first_seen, "      \
      "last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?5) "                                                \
      "ON CONFLICT (host_id, finding_key) WHERE resolved_at IS NULL DO UPDATE SET "                \
      "severity = max(severity, excluded.severity), last_seen = excluded.last_seen")               \
    /* A closed row was last seen with the report before this one (?3; NULL: keep its own). */     \
    X(HISTORY_RESOLVE,                                                                             \
      "UPDATE finding_history SET resolved_at = ?2, last_seen = coalesce(?3, last_seen) "          \
      "WHERE host_id = ?1 AND resolved_at IS NULL "                                                \
      "AND finding_key NOT IN (SELECT finding_key FROM findings WHERE host_id = ?1 "               \
      "AND stale = 0)")                                                                            \
    X(FINDINGS_DELETE_STALE, "DELETE FROM findings WHERE host_id = ?1 AND stale = 1")

/* ---- prune (admin connection; chunked so the writer is never locked out for long) ---------- */

#define COL_SQL_PRUNE_REPORTS                                                                      \
    "DELETE FROM reports WHERE id IN (SELECT r.id FROM reports r WHERE r.received_at < ?1 "        \
    "AND NOT EXISTS (SELECT 1 FROM hosts h WHERE h.id = r.host_id "                                \
    "AND h.last_report_id = r.report_id) LIMIT ?2)"
#define COL_SQL_PRUNE_BODIES                                                                       \
    "DELETE FROM report_bodies WHERE hash IN (SELECT b.hash FROM report_bodies b "                 \
    "WHERE NOT EXISTS (SELECT 1 FROM reports r WHERE r.body_hash = b.hash) "                       \
    "AND NOT EXISTS (SELECT 1 FROM hosts h WHERE h.latest_body_hash = b.hash) LIMIT ?1)"
#define COL_SQL_PRUNE_SNAPSHOTS                                                                    \
    "DELETE FROM snapshots WHERE hash IN (SELECT s.hash FROM snapshots s "                         \
    "WHERE NOT EXISTS (SELECT 1 FROM reports r WHERE r.snapshot_hash = s.hash) "                   \
    "AND NOT EXISTS (SELECT 1 FROM hosts h WHERE h.snapshot_hash = s.hash) LIMIT ?1)"

/* ---- simple reads ------------------------------------------------------------------------ */

#define COL_SQL_COUNT_REPORTS "SELECT count(*) FROM reports"
#define COL_SQL_DB_SIZE                                                                            \
    "SELECT p.page_count * s.page_size FROM pragma_page_count() p, pragma_page_size() s"

#define COL_SQL_SUMMARY_HOSTS "SELECT count(*), coalesce(sum(max_severity >= ?1), 0) FROM hosts"
#define COL_SQL_SUMMARY_BY_SEVERITY                                                                \
    "SELECT max_severity, count(*) FROM hosts GROUP BY max_severity ORDER BY max_severity"
#define COL_SQL_SUMMARY_BY_FINDING                                                                 \
    "SELECT finding_id, count(DISTINCT host_id) FROM findings GROUP BY finding_id "                \
    "ORDER BY finding_id"
#define COL_SQL_SUMMARY_REPORTS "SELECT count(*), max(received_at) FROM reports"

#define COL_SQL_HOST_DETAIL                                                                        \
    "SELECT h.id, h.fqdn, h.hostname, h.os, h.agent_version, h.first_seen, h.last_seen, "          \
    "h.collected_at, h.last_report_id, h.last_seq, h.prohibit_ipsec, h.automatic_policy, "         \
    "h.predicted_sha1, h.predicted_cn, h.max_severity, h.finding_count, b.body, s.body, "          \
    "h.spool_dropped, h.spool_quarantined FROM hosts h "                                           \
    "LEFT JOIN report_bodies b ON b.hash = h.latest_body_hash "                                    \
    "LEFT JOIN snapshots s ON s.hash = h.snapshot_hash WHERE h.fqdn = ?1"
/* A current finding was last seen with the host's latest report (version 1 rows: their own). */
#define COL_SQL_HOST_FINDINGS                                                                      \
    "SELECT f.finding_id, f.severity, f.message, f.certs, f.rules, f.first_seen, "                 \
    "coalesce(h.latest_received_at, f.last_seen) FROM findings f JOIN hosts h ON h.id = "          \
    "f.host_id "                                                                                   \
    "WHERE f.host_id = ?1 ORDER BY f.severity DESC, f.finding_id, f.finding_key"
#define COL_SQL_HOST_HISTORY                                                                       \
    "SELECT fh.finding_id, fh.finding_key, fh.severity, fh.first_seen, "                           \
    "CASE WHEN fh.resolved_at IS NULL THEN coalesce(h.latest_received_at, fh.last_seen) "          \
    "ELSE fh.last_seen END, fh.resolved_at FROM finding_history fh "                               \
    "JOIN hosts h ON h.id = fh.host_id WHERE fh.host_id = ?1 "                                     \
    "ORDER BY fh.first_seen DESC, fh.id DESC LIMIT ?2"

/* ---- composable dashboard queries --------------------------------------------------------- */

/* Result columns: X(name, enum col_cell_type, SQL expression). The name is also the only thing
 * a caller may sort by; the expression is what ORDER BY then uses. */
#define COL_HOSTS_COLUMNS(X)                                                                       \
    X("fqdn", COL_CELL_TEXT, "h.fqdn")                                                             \
    X("hostname", COL_CELL_TEXT, "h.hostname")                                                     \
    X("os", COL_CELL_TEXT, "h.os")                                                                 \
    X("last_seen", COL_CELL_TIME, "h.last_seen")                                                   \
    X("prohibit_ipsec", COL_CELL_INT, "h.prohibit_ipsec")                                          \
    X("predicted_cn", COL_CELL_TEXT, "h.predicted_cn")                                             \
    X("max_severity", COL_CELL_TEXT, "h.max_severity")                                             \
    X("finding_count", COL_CELL_INT, "h.finding_count")                                            \
    X("findings", COL_CELL_TEXT, "h.finding_ids")

#define COL_CERTS_COLUMNS(X)                                                                       \
    X("fqdn", COL_CELL_TEXT, "h.fqdn")                                                             \
    X("sha1", COL_CELL_TEXT, "c.sha1")                                                             \
    X("subject_cn", COL_CELL_TEXT, "c.subject_cn")                                                 \
    X("issuer_cn", COL_CELL_TEXT, "c.issuer_cn")                                                   \
    X("issuer", COL_CELL_TEXT, "c.issuer")                                                         \
    X("not_after", COL_CELL_TIME, "c.not_after")                                                   \
    X("days_left", COL_CELL_INT, "(c.not_after - :now) / 86400")                                   \
    X("has_private_key", COL_CELL_BOOL, "c.has_private_key")                                       \
    X("eligible", COL_CELL_BOOL, "c.eligible")                                                     \
    X("predicted", COL_CELL_BOOL, "c.predicted")                                                   \
    X("wildcard", COL_CELL_BOOL, "c.wildcard")                                                     \
    X("eku", COL_CELL_TEXT, "c.eku")

#define COL_SQL_SELECT_EXPR(name, type, expr) expr ", "

/* The window count gives the total before LIMIT/OFFSET in the same statement. */
#define COL_SQL_HOSTS_HEAD                                                                         \
    "SELECT " COL_HOSTS_COLUMNS(COL_SQL_SELECT_EXPR) "count(*) OVER () FROM hosts h WHERE 1"
#define COL_SQL_HOSTS_COUNT_HEAD "SELECT count(*) FROM hosts h WHERE 1"
#define COL_SQL_HOSTS_TIEBREAK ", h.fqdn"
#define COL_SQL_HOSTS_F_FINDING                                                                    \
    " AND EXISTS (SELECT 1 FROM findings f WHERE f.host_id = h.id AND f.finding_id = :finding)"
#define COL_SQL_HOSTS_F_SEVERITY " AND h.max_severity >= :min_severity"
#define COL_SQL_HOSTS_F_NAME " AND h.fqdn LIKE :name_pattern ESCAPE '\\'"
#define COL_SQL_HOSTS_F_EXPIRING                                                                   \
    " AND EXISTS (SELECT 1 FROM certs c WHERE c.host_id = h.id AND c.not_after > :now "            \
    "AND c.not_after <= :expires_before)"
#define COL_SQL_HOSTS_F_ISSUER                                                                     \
    " AND EXISTS (SELECT 1 FROM certs c WHERE c.host_id = h.id "                                   \
    "AND c.issuer LIKE :issuer ESCAPE '\\')"
#define COL_SQL_HOSTS_F_LAST_SEEN " AND h.last_seen < :last_seen_before"

#define COL_SQL_CERTS_HEAD                                                                         \
    "SELECT " COL_CERTS_COLUMNS(                                                                   \
        COL_SQL_SELECT_EXPR) "count(*) OVER () "                                                   \
                             "FROM certs c JOIN hosts h ON h.id = c.host_id WHERE 1"
#define COL_SQL_CERTS_COUNT_HEAD                                                                   \
    "SELECT count(*) FROM certs c JOIN hosts h ON h.id = c.host_id WHERE 1"
#define COL_SQL_CERTS_TIEBREAK ", h.fqdn, c.store_index"
#define COL_SQL_CERTS_F_FINDING                                                                    \
    " AND EXISTS (SELECT 1 FROM findings f, json_each(f.certs) j WHERE f.host_id = c.host_id "     \
    "AND f.finding_id = :finding AND j.value = c.sha1)"
#define COL_SQL_CERTS_F_SEVERITY                                                                   \
    " AND EXISTS (SELECT 1 FROM findings f, json_each(f.certs) j WHERE f.host_id = c.host_id "     \
    "AND f.severity >= :min_severity AND j.value = c.sha1)"
#define COL_SQL_CERTS_F_NAME COL_SQL_HOSTS_F_NAME
#define COL_SQL_CERTS_F_EXPIRING " AND c.not_after > :now AND c.not_after <= :expires_before"
#define COL_SQL_CERTS_F_ISSUER " AND c.issuer LIKE :issuer ESCAPE '\\'"
#define COL_SQL_CERTS_F_LAST_SEEN COL_SQL_HOSTS_F_LAST_SEEN

#define COL_SQL_ORDER_BY " ORDER BY "
#define COL_SQL_ASC " ASC"
#define COL_SQL_DESC " DESC"
#define COL_SQL_LIMIT " LIMIT :limit OFFSET :offset"

/* ---- tokens and audit --------------------------------------------------------------------- */

#define COL_SQL_TOKEN_INSERT                                                                       \
    "INSERT INTO tokens (id, name, role, salt, hash, created_at, created_by) "                     \
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
#define COL_SQL_TOKEN_LOOKUP "SELECT name, role, salt, hash, revoked_at FROM tokens WHERE id = ?1"
#define COL_SQL_TOKEN_LIST                                                                         \
    "SELECT id, name, role, created_at, created_by, revoked_at, count(*) OVER () FROM tokens "     \
    "ORDER BY created_at, id"
#define COL_SQL_TOKEN_REVOKE                                                                       \
    "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL"
#define COL_SQL_AUDIT_INSERT                                                                       \
    "INSERT INTO audit (at, actor, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)"

/* ---- remediation profiles and results (admin connection for writes) ---------------------- */

#define COL_SQL_PROFILE_ACTIVE                                                                     \
    "SELECT id FROM profiles WHERE host = ?1 AND state IN ('created', 'assigned')"
#define COL_SQL_SERIAL_HIGHEST "SELECT highest FROM profile_serials WHERE host = ?1"
#define COL_SQL_SERIAL_SET                                                                         \
    "INSERT INTO profile_serials (host, highest) VALUES (?1, ?2) "                                 \
    "ON CONFLICT (host) DO UPDATE SET highest = max(highest, excluded.highest)"
#define COL_SQL_PROFILE_INSERT                                                                     \
    "INSERT INTO profiles (id, host, serial, mode, state, reason, envelope, not_before, "          \
    "expires, created_at, created_by) VALUES (?1, ?2, ?3, ?4, 'created', ?5, ?6, ?7, ?8, ?9, "     \
    "?10)"
#define COL_SQL_PROFILE_COLS                                                                       \
    "p.id, p.host, p.serial, p.mode, p.state, p.reason, p.not_before, p.expires, p.created_at, "   \
    "p.created_by, p.assigned_at, p.assigned_by, p.cancelled_at, p.cancelled_by"
#define COL_SQL_PROFILE_GET                                                                        \
    "SELECT " COL_SQL_PROFILE_COLS ", CASE WHEN ?2 THEN p.envelope END FROM profiles p "           \
    "WHERE p.id = ?1"
#define COL_SQL_PROFILES_OF_HOST                                                                   \
    "SELECT " COL_SQL_PROFILE_COLS ", NULL FROM profiles p WHERE p.host = ?1 "                     \
    "ORDER BY p.serial DESC LIMIT ?2"
#define COL_SQL_PROFILE_RESULTS                                                                    \
    "SELECT result_id, outcome, reason, finished_at, received_at, body FROM profile_results "      \
    "WHERE profile_id = ?1 ORDER BY received_at, result_id LIMIT ?2"
#define COL_SQL_PROFILE_STATE "SELECT state, host FROM profiles WHERE id = ?1"
#define COL_SQL_PROFILE_ASSIGN                                                                     \
    "UPDATE profiles SET state = 'assigned', assigned_at = ?2, assigned_by = ?3 "                  \
    "WHERE id = ?1 AND state = 'created'"
#define COL_SQL_PROFILE_CANCEL                                                                     \
    "UPDATE profiles SET state = 'cancelled', cancelled_at = ?2, cancelled_by = ?3 "               \
    "WHERE id = ?1 AND state IN ('created', 'assigned')"
#define COL_SQL_PROFILE_SET_OUTCOME                                                                \
    "UPDATE profiles SET state = ?2 WHERE id = ?1 AND state = 'assigned'"
/* Uses profiles_active (host, where state is created or assigned). */
#define COL_SQL_PROFILE_PENDING                                                                    \
    "SELECT p.id FROM profiles p WHERE p.host = ?1 AND p.state IN ('created', 'assigned') "        \
    "AND p.state = 'assigned' AND p.expires > ?2 "                                                 \
    "AND NOT EXISTS (SELECT 1 FROM profile_results r WHERE r.profile_id = p.id)"
#define COL_SQL_PENDING_HOSTS                                                                      \
    "SELECT DISTINCT lower(host) FROM profiles WHERE state = 'assigned' ORDER BY 1"
#define COL_SQL_RESULT_LOOKUP "SELECT host FROM profile_results WHERE result_id = ?1"
#define COL_SQL_RESULT_INSERT                                                                      \
    "INSERT INTO profile_results (result_id, host, profile_id, outcome, reason, finished_at, "     \
    "received_at, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"

/* The profile list: columns as the contract names them; the filters are bound, NULL = any. */
#define COL_SQL_PROFILE_LIST                                                                       \
    "SELECT p.id, p.host, p.serial, p.mode, p.state, p.reason, p.created_at, p.created_by, "       \
    "p.assigned_at, p.expires, r.outcome, r.received_at, count(*) OVER () FROM profiles p "        \
    "LEFT JOIN profile_results r ON r.rowid = (SELECT r2.rowid FROM profile_results r2 "           \
    "WHERE r2.profile_id = p.id ORDER BY r2.received_at DESC, r2.rowid DESC LIMIT 1) "             \
    "WHERE (?1 IS NULL OR p.host = ?1) AND (?2 IS NULL OR p.state = ?2) "                          \
    "ORDER BY p.created_at DESC, p.host, p.serial DESC LIMIT ?3 OFFSET ?4"
#define COL_SQL_PROFILE_LIST_COUNT                                                                 \
    "SELECT count(*) FROM profiles p WHERE (?1 IS NULL OR p.host = ?1) "                           \
    "AND (?2 IS NULL OR p.state = ?2)"

#endif
