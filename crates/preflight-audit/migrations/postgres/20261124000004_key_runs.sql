-- The key index stores runs of consecutive records sharing a key, `(field, value, first,
-- last)`, instead of one row per record and key (see the crate's `keys` module). Runs are
-- keyed by their last record, so that a query resuming after a record seeks to the first run
-- that reaches past it. The index is derived data: the new tables start empty, and the
-- background task rebuilds them from the records.
DROP TABLE audit_keys;
DROP TABLE audit_keys_state;
CREATE TABLE audit_key_runs (
    field     SMALLINT NOT NULL,
    value     TEXT     NOT NULL,
    last_seq  BIGINT   NOT NULL,
    first_seq BIGINT   NOT NULL,
    PRIMARY KEY (field, value, last_seq)
);
CREATE TABLE audit_key_runs_state (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    keyed BIGINT NOT NULL,
    hash  BYTEA  NOT NULL
);
INSERT INTO audit_key_runs_state (id, keyed, hash)
VALUES (1, 0, decode(repeat('00', 32), 'hex'));
