//! The trail's secondary keys (agent, tool, decision), kept off the commit path.
//!
//! An index on `audit_records (agent, seq)` costs every commit one page per agent in the batch:
//! with 64 agents, most of what a commit writes. Instead a background task adds the keys of
//! committed records in bulk, a few commits at a time and in key order, so that each index page
//! is written once for many records. `keyed` in the state row says how far it has come; a
//! query looks the keys up to there and scans the few records after it (see
//! [`AuditStore::query`](crate::AuditStore::query)), so results never depend on how far
//! behind the task is.
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
/// index page once for the keys of many commits.
const GATHER: Duration = Duration::from_millis(20);

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

/// The keys file's schema, created when missing (SQLite; PostgreSQL's is a migration).
#[cfg(feature = "sqlite")]
pub(crate) const SQLITE_KEYS_SCHEMA: &str = "
PRAGMA keys.journal_mode = WAL;
CREATE TABLE IF NOT EXISTS keys.audit_keys (
    field INTEGER NOT NULL,
    value TEXT    NOT NULL,
    seq   INTEGER NOT NULL,
    PRIMARY KEY (field, value, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS keys.audit_keys_state (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    keyed INTEGER NOT NULL,
    hash  BLOB    NOT NULL
);
INSERT OR IGNORE INTO keys.audit_keys_state (id, keyed, hash) VALUES (1, 0, zeroblob(32));
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
        sqlx::query_as(&format!(
            "SELECT (SELECT seq FROM audit_head WHERE id = 1), \
             (SELECT keyed FROM {KEYS_STATE} WHERE id = 1)"
        ))
        .fetch_one(pool)
        .await?
    }))
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
        let last: Option<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT seq, hash FROM (SELECT seq, hash FROM audit_records WHERE seq > $1 \
             ORDER BY seq LIMIT $2) AS next ORDER BY seq DESC LIMIT 1",
        )
        .bind(done)
        .bind(ROUND)
        .fetch_optional(&mut *tx)
        .await?;
        let (through, hash) = last.unwrap_or((done, vec![0u8; 32]));
        if through > done {
            // In key order: each index page is then written once in this round.
            sqlx::query(&format!(
                "INSERT INTO {KEYS} (field, value, seq) \
                 SELECT field, value, seq FROM ( \
                 SELECT {agent} AS field, agent AS value, seq FROM audit_records \
                 WHERE seq > $1 AND seq <= $2 AND agent IS NOT NULL \
                 UNION ALL SELECT {tool}, tool, seq FROM audit_records \
                 WHERE seq > $1 AND seq <= $2 \
                 UNION ALL SELECT {decision}, decision, seq FROM audit_records \
                 WHERE seq > $1 AND seq <= $2 AND decision IS NOT NULL \
                 ) AS new_keys ORDER BY field, value, seq",
                agent = KeyField::Agent.code(),
                tool = KeyField::Tool.code(),
                decision = KeyField::Decision.code(),
            ))
            .bind(done)
            .bind(through)
            .execute(&mut *tx)
            .await?;
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
