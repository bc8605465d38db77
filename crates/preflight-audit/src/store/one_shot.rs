//! The one-shot write path: the caller's own task writes its records in one durable
//! transaction, with no background writer, for a process that records one decision and exits.

use tokio::sync::{Mutex, oneshot};

use super::Backend;
use super::transparency::witness_through;
use super::writer::{Job, Writing};
use crate::error::AuditError;
use crate::record::Prepared;

/// A one-shot store's writing state.
pub(super) struct OneShot {
    writing: Writing,
    /// One append at a time (each reads the head under the write lock anyway), on a SQLite
    /// connection of its own once the first append took it out of the pool.
    turn: Mutex<Option<Held>>,
}

#[cfg(feature = "sqlite")]
type Held = sqlx::SqliteConnection;
#[cfg(not(feature = "sqlite"))]
type Held = ();

impl OneShot {
    pub(super) fn new(writing: Writing) -> Self {
        Self {
            writing,
            turn: Mutex::new(None),
        }
    }

    /// Writes `records` onto the head as stored, in one transaction that is on disk when it
    /// commits (`synchronous = FULL` on SQLite, `synchronous_commit` on PostgreSQL); then
    /// witnesses the new head when the store has a witness. Returns only after both.
    pub(super) async fn append(
        &self,
        backend: &Backend,
        records: Vec<Prepared>,
    ) -> Result<(), AuditError> {
        #[cfg_attr(not(feature = "sqlite"), allow(unused_mut, unused_variables))]
        let mut held = self.turn.lock().await;
        // The batch type the writer uses; nobody waits on its answer.
        let (done, _) = oneshot::channel();
        let batch = [Job {
            records,
            done,
            seal: false,
        }];
        let seq = match backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite(pool) => {
                let mut connection = match held.take() {
                    Some(connection) => connection,
                    None => pool.acquire().await?.detach(),
                };
                // After a failure the transaction may still be open on it: it is dropped
                // then, which closes it and rolls back.
                let (seq, _) =
                    super::sqlite::write_batch_sqlite(&mut connection, &batch, None, &self.writing)
                        .await?;
                *held = Some(connection);
                seq
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres(pool) => {
                let mut connection = pool.acquire().await?;
                super::postgres::write_batch_postgres(&mut connection, &batch, &self.writing)
                    .await?
                    .0
            }
        };
        if let Some(witness) = &self.writing.witness {
            witness_through(backend, witness, self.writing.signing_key.as_ref(), seq).await?;
        }
        Ok(())
    }
}

impl Drop for OneShot {
    /// The writing connection is left open until the process exits. Closed, the last
    /// connection to a SQLite file copies the write-ahead log into the database and flushes it:
    /// work (and a second flush) that a process recording one decision does not need, since
    /// its commit is already on disk and the next open reads the log. (One connection and its
    /// thread per one-shot store: meant for processes that exit.)
    fn drop(&mut self) {
        #[cfg(feature = "sqlite")]
        if let Some(connection) = self.turn.get_mut().take() {
            std::mem::forget(connection);
        }
    }
}
