-- 002_snapshot_dedup: store each distinct snapshot once (decision 005).
--
-- A report is an envelope (report_id, seq, host, the agent's findings, agent_spool: ~0.7 KB)
-- around a snapshot (certs, rules, bindings, registry: ~9 KB). A host's snapshot rarely changes
-- between two reports, so 001's "bodies deduplicated by SHA-256 of the whole body" never
-- deduplicated anything (the envelope differs every time). From this version:
--   snapshots        the "snapshot" member's bytes exactly as received, keyed by their SHA-256;
--   reports.envelope the body without those bytes; snapshot_offset is where they were cut out
--                    (NULL: the envelope is the whole body), so the body is rebuilt exactly;
--   hosts.snapshot_hash / diagnosis_hash say what the latest-state rows were made from, so a
--                    report whose snapshot and diagnosis did not change only moves the host row;
--   hosts.latest_received_at when the latest report arrived: a current finding (and an open
--                    history row) was last seen then, so those rows need no write per report
--                    (their own last_seen is kept for rows written before, and set when closed).
-- Reports stored by version 1 keep their full body in report_bodies (reports.body_hash).
-- agent_spool loss counts are kept per report and summed per host.

CREATE TABLE snapshots (
    hash TEXT PRIMARY KEY NOT NULL,          -- SHA-256 of body, lower-case hex
    body BLOB NOT NULL,                      -- the "snapshot" JSON value as received
    size INTEGER NOT NULL
);

CREATE TABLE reports_v2 (
    id INTEGER PRIMARY KEY,
    report_id TEXT NOT NULL UNIQUE,          -- the agent's idempotency key
    host_id INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    collected_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    body_hash TEXT REFERENCES report_bodies (hash),   -- version 1 rows only
    snapshot_hash TEXT REFERENCES snapshots (hash),
    envelope BLOB,                           -- the body without the snapshot's bytes
    snapshot_offset INTEGER,                 -- where they go back; NULL: envelope is the body
    spool_dropped INTEGER NOT NULL DEFAULT 0,
    spool_quarantined INTEGER NOT NULL DEFAULT 0,
    CHECK (body_hash IS NOT NULL OR (envelope IS NOT NULL AND snapshot_hash IS NOT NULL))
);
INSERT INTO reports_v2 (id, report_id, host_id, seq, collected_at, received_at, body_hash)
    SELECT id, report_id, host_id, seq, collected_at, received_at, body_hash FROM reports;
DROP TABLE reports;
ALTER TABLE reports_v2 RENAME TO reports;
CREATE INDEX reports_host ON reports (host_id, received_at);
CREATE INDEX reports_received_at ON reports (received_at);
CREATE INDEX reports_body_hash ON reports (body_hash) WHERE body_hash IS NOT NULL;
CREATE INDEX reports_snapshot_hash ON reports (snapshot_hash);

ALTER TABLE hosts ADD COLUMN snapshot_hash TEXT REFERENCES snapshots (hash);
ALTER TABLE hosts ADD COLUMN diagnosis_hash TEXT;
ALTER TABLE hosts ADD COLUMN spool_dropped INTEGER NOT NULL DEFAULT 0;
ALTER TABLE hosts ADD COLUMN spool_quarantined INTEGER NOT NULL DEFAULT 0;
ALTER TABLE hosts ADD COLUMN latest_received_at INTEGER;
CREATE INDEX hosts_snapshot_hash ON hosts (snapshot_hash);
-- Prune finds a host's latest report through the host's primary key instead.
DROP INDEX hosts_last_report_id;
