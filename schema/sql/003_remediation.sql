-- 003_remediation: signed remediation profiles and the agents' results (DESIGN §8,
-- docs/remediation.md "Online").
--
-- profiles         one signed profile per row; envelope is the text the agent fetches, exactly
--                  as signed. state moves created -> assigned -> applied | planned | refused |
--                  rolled_back (a result arrived), created | assigned -> cancelled. At most one
--                  profile of a host is active (created or assigned): the partial unique index
--                  enforces it and is also how "the host's active profile" is found.
-- profile_results  what an agent reported, keyed by its result_id (the idempotency key of a
--                  resend); a result_id is unique across hosts, so another host's is a conflict.
-- profile_serials  the highest serial ever given to a host, kept apart from profiles so that a
--                  cancelled (or one day deleted) profile's serial is never given again.
-- Hosts are named by FQDN (case-insensitive) rather than hosts.id: a profile's target is a name
-- the signature covers. Times are Unix seconds (UTC).

CREATE TABLE profile_serials (
    host TEXT PRIMARY KEY NOT NULL COLLATE NOCASE,
    highest INTEGER NOT NULL CHECK (highest >= 1)
);

CREATE TABLE profiles (
    id TEXT PRIMARY KEY NOT NULL,            -- profile_id, UUID, lower-case
    host TEXT NOT NULL COLLATE NOCASE,
    serial INTEGER NOT NULL CHECK (serial >= 1),
    mode TEXT NOT NULL CHECK (mode IN ('apply', 'dry_run')),
    state TEXT NOT NULL CHECK (state IN ('created', 'assigned', 'applied', 'planned', 'refused',
                                         'rolled_back', 'cancelled')),
    reason TEXT NOT NULL,                    -- JSON array of the finding ids it addresses
    envelope TEXT NOT NULL,                  -- the signed envelope exactly as served
    not_before INTEGER NOT NULL,
    expires INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    assigned_at INTEGER,
    assigned_by TEXT,
    cancelled_at INTEGER,
    cancelled_by TEXT,
    UNIQUE (host, serial)
);
CREATE UNIQUE INDEX profiles_active ON profiles (host) WHERE state IN ('created', 'assigned');
CREATE INDEX profiles_state ON profiles (state, created_at);

CREATE TABLE profile_results (
    result_id TEXT PRIMARY KEY NOT NULL,     -- UUID, lower-case; unique across hosts
    host TEXT NOT NULL COLLATE NOCASE,
    profile_id TEXT NOT NULL REFERENCES profiles (id),
    outcome TEXT NOT NULL CHECK (outcome IN ('applied', 'planned', 'refused', 'rolled_back')),
    reason TEXT NOT NULL,
    finished_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    body TEXT NOT NULL,                      -- the result exactly as received
    UNIQUE (host, result_id)
);
CREATE INDEX profile_results_profile ON profile_results (profile_id, received_at);
