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
    /// One append at a time: each reads the head under the write lock anyway.
    turn: Mutex<()>,
}

impl OneShot {
    pub(super) fn new(writing: Writing) -> Self {
        Self {
            writing,
            turn: Mutex::new(()),
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
        let _turn = self.turn.lock().await;
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
                let mut connection = pool.acquire().await?;
                match super::sqlite::write_batch_sqlite(
                    &mut connection,
                    &batch,
                    None,
                    &self.writing,
                )
                .await
                {
                    Ok((seq, _)) => seq,
                    Err(error) => {
                        // The transaction may still be open on it: close it, which rolls back.
                        connection.close_on_drop();
                        return Err(error);
                    }
                }
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
