-- The hash index cost every insert a random B-tree write; only `verify` looks records up by
-- hash, and only once it has found a broken link, so it scans instead.
DROP INDEX audit_records_hash;

-- Proposal ids are random: their index cost every insert a write to a random page. Queries by
-- proposal scan from the agent or time index instead (see `Filter`).
DROP INDEX audit_records_proposal;
