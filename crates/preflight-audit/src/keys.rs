//! The trail's secondary keys (agent, tool, decision), kept off the commit path.
//!
//! An index on `audit_records (agent, seq)` costs every commit one page per agent in the batch:
//! with 64 agents, most of what a commit writes. Instead a background task keys committed
//! records in bulk, a few commits at a time, so that each index page is written once for many
//! records. It stores runs, not single records: `(field, value, first, last)` says that every
//! record from `first` to `last` has that value. The records of one append are consecutive and
//! share their agent and tool (and, for a verdict and its permit, their decision), so a run
//! stands for two or three records, and a tool used by every agent for a whole round of them.
//! `keyed` in the state row says how far the task has come; a query looks the runs up to there
//! and scans the few records after it (see [`AuditStore::query`](crate::AuditStore::query)), so
//! results never depend on how far behind the task is.
//!
//! On SQLite the keys live in a file of their own beside the trail (`<file>-keys`), attached to
//! the connections that read or write them as `keys`: writing it never takes the trail's write
//! lock, so the writer is never held up by it. The file is derived data: when it is missing, or
//! belongs to another trail (a replaced or restored file), it is rebuilt from the records. On
//! PostgreSQL the keys are tables of the same database.

use std::time::Duration;

use tokio::sync::watch;

use crate::error::AuditError;
use crate::record::Filter;
use crate::store::{Backend, on_pool};

/// Records keyed in one transaction at most (a large backlog is caught up in rounds).
const ROUND: i64 = 20_000;

/// How long the task lets commits gather after one wakes it: one round then writes each
/// index page once for the keys of many commits, and its fixed costs are spread over them.
/// Each round takes CPU time from the writer and the agents; at 20 ms, rounds ran almost
/// back to back under load.
const GATHER: Duration = Duration::from_millis(100);

/// How often the task looks for records committed by other processes sharing the database.
const POLL: Duration = Duration::from_secs(1);

/// The keyed fields, as stored in `audit_keys.field`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyField {
    Agent = 1,
    Tool = 2,
    Decision = 3,
}

impl KeyField {
    pub(crate) fn code(self) -> i16 {
        self as i16
    }
}

/// The most selective keyed field `filter` names, and its value.
pub(crate) fn key_of(filter: &Filter) -> Option<(KeyField, String)> {
    if let Some(agent) = &filter.agent {
        return Some((KeyField::Agent, agent.clone()));
    }
    if let Some(tool) = &filter.tool {
        return Some((KeyField::Tool, tool.clone()));
    }
    filter
        .decision
        .map(|decision| (KeyField::Decision, decision.as_str().to_owned()))
}

/// The keys file's schema, created when missing (SQLite; PostgreSQL's is a migration). Runs
/// are keyed by their last record, so that a query resuming after a record seeks straight to
/// the first run that reaches past it. The tables of the earlier layout, one row per record,
/// are dropped: the file is derived data, rebuilt from the trail.
#[cfg(feature = "sqlite")]
pub(crate) const SQLITE_KEYS_SCHEMA: &str = "
PRAGMA keys.journal_mode = WAL;
DROP TABLE IF EXISTS keys.audit_keys;
DROP TABLE IF EXISTS keys.audit_keys_state;
CREATE TABLE IF NOT EXISTS keys.audit_key_runs (
    field     INTEGER NOT NULL,
    value     TEXT    NOT NULL,
    last_seq  INTEGER NOT NULL,
    first_seq INTEGER NOT NULL,
    PRIMARY KEY (field, value, last_seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS keys.audit_key_runs_state (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    keyed INTEGER NOT NULL,
    hash  BLOB    NOT NULL
);
INSERT OR IGNORE INTO keys.audit_key_runs_state (id, keyed, hash) VALUES (1, 0, zeroblob(32));
";

/// Keeps the key index up to date until the writer stops (it drops `commits`).
pub(crate) async fn key_indexer(keyed: Backend, mut commits: watch::Receiver<i64>) {
    loop {
        if let Err(error) = catch_up(&keyed).await {
            tracing::warn!(
                %error,
                "audit key index not brought up to date; queries scan the records after it"
            );
        }
        tokio::select! {
            changed = commits.changed() => {
                if changed.is_err() {
                    return;
                }
                tokio::time::sleep(GATHER).await;
            }
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

/// Keys every committed record; returns the sequence number keyed through.
pub(crate) async fn catch_up(keyed: &Backend) -> Result<i64, AuditError> {
    loop {
        let (head, done) = positions(keyed).await?;
        if head == done {
            return Ok(done);
        }
        let through = round(keyed).await?;
        if through >= head || through == done {
            return Ok(through);
        }
    }
}

/// The trail's head and how far the keys go.
async fn positions(keyed: &Backend) -> Result<(i64, i64), AuditError> {
    Ok(on_pool!(keyed, pool => {
        sqlx::query_as(&format!("SELECT (SELECT seq FROM audit_head WHERE id = 1), ({KEYED})"))
        .fetch_one(pool)
        .await?
    }))
}

/// The keyed columns of one record, as the indexer reads them.
type KeyedRow = (i64, Option<String>, String, Option<String>);

/// Every record from `first` to `last` has `value` in `field`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Run {
    pub field: KeyField,
    pub value: String,
    pub first: i64,
    pub last: i64,
}

/// The maximal runs of consecutive records (by sequence number) sharing a key, in `rows`
/// (ordered by sequence number), ordered as the index stores them: by field, value and last
/// record.
pub(crate) fn runs(rows: &[KeyedRow]) -> Vec<Run> {
    let mut done = Vec::new();
    let mut open: [Option<Run>; 3] = [None, None, None];
    for (seq, agent, tool, decision) in rows {
        let keys = [
            (KeyField::Agent, agent.as_deref()),
            (KeyField::Tool, Some(tool.as_str())),
            (KeyField::Decision, decision.as_deref()),
        ];
        for (slot, (field, value)) in open.iter_mut().zip(keys) {
            match (slot.as_mut(), value) {
                (Some(run), Some(value)) if run.value == value && run.last + 1 == *seq => {
                    run.last = *seq;
                }
                (_, value) => {
                    done.extend(slot.take());
                    *slot = value.map(|value| Run {
                        field,
                        value: value.to_owned(),
                        first: *seq,
                        last: *seq,
                    });
                }
            }
        }
    }
    done.extend(open.into_iter().flatten());
    done.sort_by(|a, b| {
        (a.field.code(), &a.value, a.last).cmp(&(b.field.code(), &b.value, b.last))
    });
    done
}

/// Keys the next records, at most [`ROUND`] of them, in one transaction; returns how far the
/// keys go now.
async fn round(keyed: &Backend) -> Result<i64, AuditError> {
    use sqlx::Connection as _;
    on_pool!(keyed, pool => {
        let mut connection = pool.acquire().await?;
        // Not `BEGIN IMMEDIATE`: on SQLite that would take the trail's write lock too. The
        // first statement writes the state row, which locks the keys alone.
        let mut tx = connection.begin_with("BEGIN").await?;
        let (mut done, done_hash): (i64, Vec<u8>) = sqlx::query_as(&format!(
            "UPDATE {KEYS_STATE} SET keyed = keyed WHERE id = 1 RETURNING keyed, hash"
        ))
        .fetch_one(&mut *tx)
        .await?;
        if done > 0 {
            let hash: Option<Vec<u8>> =
                sqlx::query_scalar("SELECT hash FROM audit_records WHERE seq = $1")
                    .bind(done)
                    .fetch_optional(&mut *tx)
                    .await?;
            if hash.as_deref() != Some(done_hash.as_slice()) {
                // Keys of another trail, or of records since removed: start over.
                tracing::warn!(keyed = done, "audit key index does not match the trail; rebuilding it");
                sqlx::query(&format!("DELETE FROM {KEYS}")).execute(&mut *tx).await?;
                done = 0;
            }
        }
        // One row holding them all: a row at a time, each would cross between the
        // connection's thread and this task on its own.
        let next = "(SELECT seq, agent, tool, decision FROM audit_records WHERE seq > $1 \
                    ORDER BY seq LIMIT $2) AS next";
        let rows: String = sqlx::query_scalar(&if IS_POSTGRES {
            format!(
                "SELECT COALESCE(json_agg(json_build_array(seq, agent, tool, decision) \
                 ORDER BY seq), '[]')::text FROM {next}"
            )
        } else {
            format!("SELECT json_group_array(json_array(seq, agent, tool, decision)) FROM {next}")
        })
        .bind(done)
        .bind(ROUND)
        .fetch_one(&mut *tx)
        .await?;
        let mut rows: Vec<KeyedRow> =
            serde_json::from_str(&rows).map_err(|error| AuditError::Unreadable {
                row: format!("records after {done}"),
                message: format!("their keys: {error}"),
            })?;
        rows.sort_unstable_by_key(|row| row.0);
        let through = rows.last().map_or(done, |row| row.0);
        let hash: Vec<u8> = if through > done {
            sqlx::query_scalar("SELECT hash FROM audit_records WHERE seq = $1")
                .bind(through)
                .fetch_one(&mut *tx)
                .await?
        } else {
            done_hash
        };
        let runs = runs(&rows);
        let mut rest = runs.as_slice();
        for size in crate::store::chunk_sizes(rest.len()) {
            let (chunk, tail) = rest.split_at(size);
            rest = tail;
            let mut q: sqlx::QueryBuilder<'_, Db> = sqlx::QueryBuilder::new(format!(
                "INSERT INTO {KEYS} (field, value, last_seq, first_seq) "
            ));
            q.push_values(chunk, |mut row, run| {
                row.push_bind(run.field.code())
                    .push_bind(run.value.as_str())
                    .push_bind(run.last)
                    .push_bind(run.first);
            });
            q.build().execute(&mut *tx).await?;
        }
        sqlx::query(&format!("UPDATE {KEYS_STATE} SET keyed = $1, hash = $2 WHERE id = 1"))
            .bind(through)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(through)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seq: i64, agent: &str, tool: &str, decision: Option<&str>) -> KeyedRow {
        (
            seq,
            Some(agent.into()),
            tool.into(),
            decision.map(Into::into),
        )
    }

    fn run(field: KeyField, value: &str, first: i64, last: i64) -> Run {
        Run {
            field,
            value: value.into(),
            first,
            last,
        }
    }

    #[test]
    fn consecutive_records_sharing_a_key_make_one_run() {
        let rows = [
            row(1, "a", "Bash", None),
            row(2, "a", "Bash", Some("allow")),
            row(3, "a", "Bash", Some("allow")),
            row(4, "b", "Bash", None),
            row(5, "b", "Bash", Some("deny")),
            row(6, "a", "Edit", Some("deny")),
        ];
        assert_eq!(
            runs(&rows),
            vec![
                run(KeyField::Agent, "a", 1, 3),
                run(KeyField::Agent, "a", 6, 6),
                run(KeyField::Agent, "b", 4, 5),
                run(KeyField::Tool, "Bash", 1, 5),
                run(KeyField::Tool, "Edit", 6, 6),
                run(KeyField::Decision, "allow", 2, 3),
                run(KeyField::Decision, "deny", 5, 6),
            ]
        );
    }

    #[test]
    fn a_gap_in_the_sequence_or_a_missing_value_ends_a_run() {
        let rows = [
            (1, None, "Bash".into(), Some("allow".into())),
            (2, Some("a".into()), "Bash".into(), Some("allow".into())),
            (4, Some("a".into()), "Bash".into(), Some("allow".into())),
        ];
        assert_eq!(
            runs(&rows),
            vec![
                run(KeyField::Agent, "a", 2, 2),
                run(KeyField::Agent, "a", 4, 4),
                run(KeyField::Tool, "Bash", 1, 2),
                run(KeyField::Tool, "Bash", 4, 4),
                run(KeyField::Decision, "allow", 1, 2),
                run(KeyField::Decision, "allow", 4, 4),
            ]
        );
    }

    #[test]
    fn every_keyed_value_of_every_record_is_in_exactly_one_run() {
        let agents = ["a", "b", "c"];
        let rows: Vec<KeyedRow> = (1..=200_i64)
            .filter(|seq| seq % 17 != 0)
            .map(|seq| {
                let agent = usize::try_from(seq * 7 % 3).unwrap_or(0);
                let decision = match seq % 4 {
                    0 => None,
                    1 => Some("allow".to_owned()),
                    _ => Some("deny".to_owned()),
                };
                (
                    seq,
                    Some(agents[agent].to_owned()),
                    "Bash".to_owned(),
                    decision,
                )
            })
            .collect();
        let runs = runs(&rows);
        for (seq, agent, tool, decision) in &rows {
            for (field, value) in [
                (KeyField::Agent, agent.clone()),
                (KeyField::Tool, Some(tool.clone())),
                (KeyField::Decision, decision.clone()),
            ] {
                let covering: Vec<&Run> = runs
                    .iter()
                    .filter(|r| r.field == field && r.first <= *seq && *seq <= r.last)
                    .collect();
                match value {
                    Some(value) => {
                        assert_eq!(covering.len(), 1, "{field:?} of {seq}");
                        assert_eq!(covering[0].value, value);
                    }
                    None => assert!(covering.is_empty(), "{field:?} of {seq}"),
                }
            }
        }
        // No run claims a record that is not there.
        for run in &runs {
            for seq in run.first..=run.last {
                assert!(rows.iter().any(|row| row.0 == seq), "{run:?} covers {seq}");
            }
        }
    }
}
