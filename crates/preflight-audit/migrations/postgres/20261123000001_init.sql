-- The audit trail: one row per record, chained by hash.
CREATE TABLE audit_records (
    seq         BIGINT PRIMARY KEY,
    at_ms       BIGINT NOT NULL,
    proposal_id TEXT   NOT NULL,
    digest      TEXT   NOT NULL,
    agent       TEXT,
    tool        TEXT   NOT NULL,
    kind        TEXT   NOT NULL,
    decision    TEXT,
    body        TEXT   NOT NULL,
    prev_hash   BYTEA  NOT NULL,
    hash        BYTEA  NOT NULL
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
    seq  BIGINT NOT NULL,
    hash BYTEA  NOT NULL,
    -- The signing key's signature over (seq, hash), when a key is configured.
    signature BYTEA
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));

-- Signed checkpoints of the chain.
CREATE TABLE audit_checkpoints (
    seq        BIGINT PRIMARY KEY,
    hash       BYTEA  NOT NULL,
    public_key BYTEA  NOT NULL,
    signature  BYTEA  NOT NULL,
    at_ms      BIGINT NOT NULL
);

-- The approval queue; changes are announced with NOTIFY preflight_approvals.
CREATE TABLE approvals (
    id           TEXT   PRIMARY KEY,
    proposal_id  TEXT   NOT NULL,
    requested_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    status       TEXT   NOT NULL,
    request      TEXT   NOT NULL,
    approval     TEXT,
    decided_at   BIGINT
);
CREATE INDEX approvals_status ON approvals (status, requested_at);

-- Kept for symmetry with SQLite (which polls it); PostgreSQL instances use LISTEN/NOTIFY.
CREATE TABLE approval_changes (
    seq  BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    id   TEXT NOT NULL
);

-- Fleet-wide limits: one lock row per key and one row per admitted use.
CREATE TABLE fleet_keys (
    key     TEXT   PRIMARY KEY,
    touched BIGINT NOT NULL
);
CREATE TABLE fleet_uses (
    id    BIGSERIAL PRIMARY KEY,
    key   TEXT   NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX fleet_uses_key ON fleet_uses (key, at_ms);
