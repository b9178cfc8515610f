-- 001_init: the collector's first schema (DESIGN §9).
--
-- Latest-state tables (hosts, certs, rules, findings) answer the dashboard fast; reports and
-- report_bodies keep what agents sent (bodies deduplicated by SHA-256); finding_history keeps
-- when each finding was first seen, last seen and resolved; tokens and audit serve the admin
-- API. Times are Unix seconds (UTC). Severities are enum proto_severity (0 info .. 4 critical).
-- Applied once by the store in a transaction; PRAGMA user_version records it.

CREATE TABLE report_bodies (
    hash TEXT PRIMARY KEY NOT NULL,          -- SHA-256 of the body, lower-case hex
    body BLOB NOT NULL,                      -- the report exactly as received
    size INTEGER NOT NULL
);

CREATE TABLE hosts (
    id INTEGER PRIMARY KEY,
    fqdn TEXT NOT NULL UNIQUE COLLATE NOCASE,
    hostname TEXT,
    os TEXT,
    agent_version TEXT,
    first_seen INTEGER NOT NULL,             -- received_at of the first report
    last_seen INTEGER NOT NULL,              -- received_at of the most recently received report
    collected_at INTEGER NOT NULL,           -- of the report the latest state comes from
    last_report_id TEXT NOT NULL,            -- that report
    last_seq INTEGER NOT NULL,
    prohibit_ipsec INTEGER,                  -- NULL: value absent
    automatic_policy INTEGER NOT NULL,
    predicted_sha1 TEXT,                     -- NULL: no eligible certificate
    predicted_cn TEXT,
    max_severity INTEGER,                    -- NULL: no findings
    finding_count INTEGER NOT NULL DEFAULT 0,
    finding_ids TEXT,                        -- sorted distinct ids, comma-separated
    latest_body_hash TEXT REFERENCES report_bodies (hash)
);
CREATE INDEX hosts_last_seen ON hosts (last_seen);
CREATE INDEX hosts_max_severity ON hosts (max_severity);
CREATE INDEX hosts_last_report_id ON hosts (last_report_id);
CREATE INDEX hosts_latest_body_hash ON hosts (latest_body_hash);

CREATE TABLE reports (
    id INTEGER PRIMARY KEY,
    report_id TEXT NOT NULL UNIQUE,          -- the agent's idempotency key
    host_id INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    collected_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    body_hash TEXT NOT NULL REFERENCES report_bodies (hash)
);
CREATE INDEX reports_host ON reports (host_id, received_at);
CREATE INDEX reports_received_at ON reports (received_at);
CREATE INDEX reports_body_hash ON reports (body_hash);

-- The latest snapshot's LocalMachine\My, in store order.
CREATE TABLE certs (
    host_id INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    store_index INTEGER NOT NULL,
    sha1 TEXT NOT NULL,
    sha256 TEXT,
    parsed INTEGER NOT NULL,
    subject TEXT,                            -- RFC 4514 order (CN first)
    subject_cn TEXT,
    issuer TEXT,
    issuer_cn TEXT,
    san TEXT,                                -- DNS names, comma-separated
    wildcard INTEGER NOT NULL,
    eku TEXT,                                -- OIDs, comma-separated; NULL = any purpose
    not_before INTEGER,
    not_after INTEGER,
    has_private_key INTEGER NOT NULL,
    eligible INTEGER NOT NULL,               -- IKE-eligible by the collector's diagnosis
    predicted INTEGER NOT NULL,              -- the certificate L2TP is predicted to present
    PRIMARY KEY (host_id, store_index)
) WITHOUT ROWID;
CREATE INDEX certs_not_after ON certs (not_after);
CREATE INDEX certs_sha1 ON certs (sha1);

-- The latest snapshot's connection-security rules, in netsh order.
CREATE TABLE rules (
    host_id INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    rule_index INTEGER NOT NULL,
    name TEXT,
    enabled INTEGER NOT NULL,
    l2tp INTEGER NOT NULL,                   -- UDP 1701, transport mode, ComputerCert
    auth1_ca_name TEXT,
    mode TEXT,
    protocol TEXT,
    port1 TEXT,
    port2 TEXT,
    PRIMARY KEY (host_id, rule_index)
) WITHOUT ROWID;

-- Current findings per host. finding_key = id '|' sorted cert SHA-1s '|' sorted rule names.
CREATE TABLE findings (
    host_id INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    finding_key TEXT NOT NULL,
    finding_id TEXT NOT NULL,
    severity INTEGER NOT NULL,
    message TEXT NOT NULL,
    certs TEXT NOT NULL,                     -- JSON array of SHA-1 thumbprints
    rules TEXT NOT NULL,                     -- JSON array of rule names
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    stale INTEGER NOT NULL DEFAULT 0,        -- only inside an ingest: not in the new report
    PRIMARY KEY (host_id, finding_key)
) WITHOUT ROWID;
CREATE INDEX findings_finding_id ON findings (finding_id, host_id);

CREATE TABLE finding_history (
    id INTEGER PRIMARY KEY,
    host_id INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    finding_key TEXT NOT NULL,
    finding_id TEXT NOT NULL,
    severity INTEGER NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    resolved_at INTEGER                      -- NULL while the finding is current
);
CREATE UNIQUE INDEX finding_history_open ON finding_history (host_id, finding_key)
    WHERE resolved_at IS NULL;
CREATE INDEX finding_history_host ON finding_history (host_id, first_seen);

CREATE TABLE tokens (
    id TEXT PRIMARY KEY NOT NULL,            -- public part of the token, 12 hex digits
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'approver')),
    salt BLOB NOT NULL CHECK (length(salt) = 16),
    hash BLOB NOT NULL CHECK (length(hash) = 32), -- SHA-256(salt || secret)
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT
);
CREATE INDEX audit_at ON audit (at);

-- The audit table is append-only.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit is append-only');
END;
