-- The agent, tool and decision indexes cost every commit a page per agent and tool in the
-- batch. Their keys now live in a file of their own beside the trail (`<file>-keys`), added
-- in bulk after the commit by a background task (see the crate's `keys` module).
DROP INDEX audit_records_agent;
DROP INDEX audit_records_tool;
DROP INDEX audit_records_decision;
