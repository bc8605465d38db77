-- The agent, tool and decision indexes cost every commit a page per agent and tool in the
-- batch. Their keys now live in `audit_keys`, added in bulk after the commit by a background
-- task (see the crate's `keys` module); `audit_keys_state` says how far they go.
CREATE TABLE audit_keys (
    field SMALLINT NOT NULL,
    value TEXT     NOT NULL,
    seq   BIGINT   NOT NULL,
    PRIMARY KEY (field, value, seq)
);
CREATE TABLE audit_keys_state (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    keyed BIGINT NOT NULL,
    hash  BYTEA  NOT NULL
);
INSERT INTO audit_keys_state (id, keyed, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));
DROP INDEX audit_records_agent;
DROP INDEX audit_records_tool;
DROP INDEX audit_records_decision;
