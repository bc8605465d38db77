-- The audit trail: one row per record, chained by hash.
CREATE TABLE audit_records (
    seq         INTEGER PRIMARY KEY,
    at_ms       INTEGER NOT NULL,
    proposal_id TEXT    NOT NULL,
    digest      TEXT    NOT NULL,
    agent       TEXT,
    tool        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    decision    TEXT,
    body        TEXT    NOT NULL,
    prev_hash   BLOB    NOT NULL,
    hash        BLOB    NOT NULL
);
CREATE INDEX audit_records_agent ON audit_records (agent, seq);
CREATE INDEX audit_records_tool ON audit_records (tool, seq);
CREATE INDEX audit_records_decision ON audit_records (decision, seq);
CREATE INDEX audit_records_at ON audit_records (at_ms);
CREATE INDEX audit_records_proposal ON audit_records (proposal_id);
CREATE INDEX audit_records_hash ON audit_records (hash);

-- The chain's head; its row is also the lock that serializes writers.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash BLOB    NOT NULL,
    -- The signing key's signature over (seq, hash), when a key is configured.
    signature BLOB
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, zeroblob(32));

-- Signed checkpoints of the chain.
CREATE TABLE audit_checkpoints (
    seq        INTEGER PRIMARY KEY,
    hash       BLOB    NOT NULL,
    public_key BLOB    NOT NULL,
    signature  BLOB    NOT NULL,
    at_ms      INTEGER NOT NULL
);

-- The approval queue.
CREATE TABLE approvals (
    id           TEXT    PRIMARY KEY,
    proposal_id  TEXT    NOT NULL,
    requested_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    status       TEXT    NOT NULL,
    request      TEXT    NOT NULL,
    approval     TEXT,
    decided_at   INTEGER
);
CREATE INDEX approvals_status ON approvals (status, requested_at);

-- Queue changes, polled by every instance sharing the file.
CREATE TABLE approval_changes (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    id   TEXT NOT NULL
);

-- Fleet-wide limits: one lock row per key and one row per admitted use.
CREATE TABLE fleet_keys (
    key     TEXT    PRIMARY KEY,
    touched INTEGER NOT NULL
);
CREATE TABLE fleet_uses (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    key   TEXT    NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE INDEX fleet_uses_key ON fleet_uses (key, at_ms);
