//! Group commit: one background writer chains every append waiting onto the head and commits
//! them in one transaction.

use ed25519_dalek::{Signer as _, SigningKey};
use sqlx::QueryBuilder;
use tokio::sync::{mpsc, oneshot, watch};

use super::Backend;
use super::sqlite::{Syncer, WalCheckpoints};
use super::transparency::witness_through;
use crate::error::AuditError;
use crate::record::{Hash, Prepared, chain_hash, checkpoint_message, to_hash};
use crate::witness::Witness;

/// The most rows in one multi-row insert (well under either database's limit on bound
/// parameters).
pub(super) const INSERT_CHUNK: usize = 64;

/// Splits `len` rows into chunks whose sizes are powers of two (64, 32, …, 1), so that only
/// seven distinct multi-row inserts exist (each also ending a SQLite batch with its commit)
/// and each is prepared once and then cached.
pub(crate) fn chunk_sizes(mut len: usize) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        if len == 0 {
            return None;
        }
        let size = if len >= INSERT_CHUNK {
            INSERT_CHUNK
        } else {
            1 << len.ilog2()
        };
        len -= size;
        Some(size)
    })
}

/// At most this many yields while the writer waits for more appends before a commit.
pub(super) const GATHER_YIELDS: usize = 8;

pub(super) struct Job {
    pub(super) records: Vec<Prepared>,
    pub(super) done: oneshot::Sender<Result<(), AuditError>>,
    /// Witness the head once every record committed so far is durable (no records then).
    pub(super) seal: bool,
}

/// The background writer: takes every append waiting, commits them in one transaction, then
/// answers each. Exits when the store is dropped, witnessing its last head first.
pub(super) async fn writer(
    backend: Backend,
    mut jobs: mpsc::Receiver<Job>,
    commits: watch::Sender<i64>,
    syncer: Option<Syncer>,
    writing: Writing,
    max_batch: usize,
) {
    // One connection, held: its page cache stays warm between batches, where a connection
    // taken from the pool each time would have to reread what the previous one wrote.
    let mut held: Option<Held> = None;
    // The head this writer last committed (see `commit`).
    let mut head: Option<(i64, Hash)> = None;
    // The last record this writer committed, and the tree head being witnessed, if one is.
    let mut committed: Option<i64> = None;
    let mut witnessing: Option<tokio::task::JoinHandle<()>> = None;
    let mut checkpoints = WalCheckpoints::default();
    while let Some(first) = jobs.recv().await {
        // The appenders the last commit answered are about to send their next records: let
        // them (a few yields, not a timer, and only while more keep arriving), rather than
        // commit the first few now and leave the rest waiting a whole batch.
        let mut waiting = jobs.len();
        for _ in 0..GATHER_YIELDS {
            tokio::task::yield_now().await;
            let now = jobs.len();
            if now == waiting {
                break;
            }
            waiting = now;
        }
        let mut count = first.records.len();
        let mut batch = vec![first];
        while count < max_batch {
            match jobs.try_recv() {
                Ok(job) => {
                    count += job.records.len();
                    batch.push(job);
                }
                Err(_) => break,
            }
        }
        let (seals, batch): (Vec<Job>, Vec<Job>) = batch.into_iter().partition(|job| job.seal);
        if let Some(failure) = syncer.as_ref().and_then(Syncer::failure) {
            for job in batch.into_iter().chain(seals) {
                let _ = job.done.send(Err(failure.clone()));
            }
            continue;
        }
        if !batch.is_empty() {
            let before = committed;
            let result = commit(&backend, &mut held, &mut head, &batch, &writing).await;
            if let Ok(seq) = result {
                checkpoints.after_commit(&backend);
                commits.send_replace(seq);
                committed = Some(seq);
                let idle = witnessing.as_ref().is_none_or(|task| task.is_finished());
                if writing.witness_due(before, seq) && idle {
                    witnessing = Some(tokio::spawn(witness(
                        backend.clone(),
                        syncer.as_ref().map(Syncer::flushed),
                        writing.clone(),
                        seq,
                    )));
                }
            }
            match (result, &syncer) {
                // Answered once on disk, while the next batch is written.
                (Ok(seq), Some(syncer)) => syncer.flush(batch, seq),
                (result, _) => {
                    let result = result.map(|_| ());
                    if let Err(error) = &result {
                        tracing::error!(%error, records = count, "audit batch not committed");
                    }
                    for job in batch {
                        let _ = job.done.send(result.clone());
                    }
                }
            }
        }
        if !seals.is_empty() {
            let result = match committed {
                Some(seq) => {
                    witness_durable(
                        &backend,
                        syncer.as_ref().map(Syncer::flushed),
                        &writing,
                        seq,
                    )
                    .await
                }
                None => Ok(()),
            };
            for job in seals {
                let _ = job.done.send(result.clone());
            }
        }
    }
    if let Some(seq) = committed {
        if let Err(error) = witness_durable(
            &backend,
            syncer.as_ref().map(Syncer::flushed),
            &writing,
            seq,
        )
        .await
        {
            tracing::warn!(%error, "the last tree head was not witnessed");
        }
    }
    // Not back to the pool: its commits are not flushed by SQLite itself.
    if let Some(connection) = held {
        connection.close().await;
    }
}

/// Witnesses the head through `seq` in the background (the cadence's heads).
async fn witness(
    backend: Backend,
    flushed: Option<watch::Receiver<(i64, bool)>>,
    writing: Writing,
    seq: i64,
) {
    if let Err(error) = witness_durable(&backend, flushed, &writing, seq).await {
        tracing::warn!(%error, "tree head not witnessed; the next one covers its records");
    }
}

/// Waits until record `seq` is on disk (when the syncer flushes), then witnesses the head
/// through it: a witness must never hold a head over records a crash could take back.
async fn witness_durable(
    backend: &Backend,
    flushed: Option<watch::Receiver<(i64, bool)>>,
    writing: &Writing,
    seq: i64,
) -> Result<(), AuditError> {
    let Some(witness) = &writing.witness else {
        return Ok(());
    };
    if let Some(mut flushed) = flushed {
        let reached = flushed
            .wait_for(|(through, failed)| *failed || *through >= seq)
            .await
            .map(|state| !state.1)
            .unwrap_or(false);
        if !reached {
            return Err(AuditError::NotDurable(
                "the records were not flushed, so their tree head is not witnessed".into(),
            ));
        }
    }
    witness_through(backend, witness, writing.signing_key.as_ref(), seq).await
}

/// How the writer writes: what it signs, whether the syncer flushes its commits, and where
/// and how often tree heads are witnessed.
#[derive(Clone)]
pub(super) struct Writing {
    pub(super) signing_key: Option<SigningKey>,
    pub(super) checkpoint_every: u64,
    pub(super) flushed_by_syncer: bool,
    pub(super) witness: Option<Witness>,
    pub(super) witness_every: u64,
}

impl Writing {
    /// Whether a commit taking the trail from `before` (this writer's previous commit, if
    /// any) to `seq` crosses a multiple of the witness cadence.
    fn witness_due(&self, before: Option<i64>, seq: i64) -> bool {
        let every = i64::try_from(self.witness_every.max(1)).unwrap_or(i64::MAX);
        self.witness.is_some() && before.is_none_or(|before| before / every != seq / every)
    }
}

/// Commits `batch` on the writer's connection (taking one if it has none), onto the head the
/// writer last committed when it knows it; returns the new head's sequence number.
///
/// A known head is only a guess: another process sharing the file may have appended since.
/// Its records then hold the sequence numbers this batch would take, the insert fails on
/// them and rolls the transaction back, and the batch is written again on a fresh connection
/// onto the head read under the write lock. After any failure the connection's state is
/// unknown, so it is closed.
pub(super) async fn commit(
    backend: &Backend,
    held: &mut Option<Held>,
    head: &mut Option<(i64, Hash)>,
    batch: &[Job],
    writing: &Writing,
) -> Result<i64, AuditError> {
    loop {
        let guessed = head.take();
        let mut connection = match held.take() {
            Some(connection) => connection,
            None => Held::acquire(backend, writing.flushed_by_syncer).await?,
        };
        match write_batch(&mut connection, batch, guessed, writing).await {
            Ok(written) => {
                *head = connection.writes_onto_known_head().then_some(written);
                *held = Some(connection);
                return Ok(written.0);
            }
            Err(error) => {
                connection.close().await;
                if guessed.is_none() {
                    return Err(error);
                }
                tracing::debug!(%error, "audit batch written again onto the head as stored");
            }
        }
    }
}

pub(super) struct Chained<'a> {
    pub(super) seq: i64,
    pub(super) record: &'a Prepared,
    pub(super) prev: Hash,
    pub(super) hash: Hash,
}

/// The writer's own connection. The SQLite one is detached from the pool: it commits without
/// flushing, and its transactions are opened by hand, so it must never go back to the pool;
/// dropped, it is closed (which rolls back whatever is open).
pub(super) enum Held {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqliteConnection),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::pool::PoolConnection<sqlx::Postgres>),
}

impl Held {
    /// Takes a connection for the writer; `flushed_by_syncer`: its commits do not flush the
    /// log, the [`Syncer`] does.
    async fn acquire(backend: &Backend, flushed_by_syncer: bool) -> Result<Self, AuditError> {
        Ok(match backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite(pool) => {
                let mut connection = pool.acquire().await?.detach();
                if flushed_by_syncer {
                    sqlx::query("PRAGMA synchronous = NORMAL")
                        .execute(&mut connection)
                        .await?;
                }
                Held::Sqlite(connection)
            }
            // PostgreSQL's commits are durable by themselves; no syncer runs for it.
            #[cfg(feature = "postgres")]
            Backend::Postgres(pool) => {
                let _ = flushed_by_syncer;
                Held::Postgres(pool.acquire().await?)
            }
        })
    }

    /// Whether batches on this connection start from the head the writer last committed
    /// (SQLite, where that saves a call to the connection's thread per batch); PostgreSQL's
    /// batches read the head as stored every time.
    fn writes_onto_known_head(&self) -> bool {
        match self {
            #[cfg(feature = "sqlite")]
            Held::Sqlite(_) => true,
            #[cfg(feature = "postgres")]
            Held::Postgres(_) => false,
        }
    }

    async fn close(self) {
        let closed = match self {
            #[cfg(feature = "sqlite")]
            Held::Sqlite(connection) => sqlx::Connection::close(connection).await,
            #[cfg(feature = "postgres")]
            Held::Postgres(connection) => connection.close().await,
        };
        if let Err(error) = closed {
            tracing::warn!(%error, "closing the audit writer's connection failed");
        }
    }
}

/// A batch chained onto the head: its rows, the checkpoints due in it, and the new head.
pub(super) struct Chain<'a> {
    pub(super) rows: Vec<Chained<'a>>,
    pub(super) checkpoints: Vec<(i64, Hash, [u8; 64])>,
    pub(super) head_seq: i64,
    pub(super) head_hash: Hash,
    pub(super) head_signature: Option<Vec<u8>>,
}

/// Chains `batch` onto the head `(head_seq, head_hash)`, signing checkpoints and the new head
/// when the writer has a key.
pub(super) fn chain<'a>(
    batch: &'a [Job],
    head_seq: i64,
    head_hash: &[u8],
    writing: &Writing,
) -> Result<Chain<'a>, AuditError> {
    let signing_key = writing.signing_key.as_ref();
    let checkpoint_every = writing.checkpoint_every;
    let mut prev = to_hash(head_hash).ok_or_else(|| AuditError::Unreadable {
        row: "head".into(),
        message: "the head hash is not 32 bytes long".into(),
    })?;
    let mut seq = head_seq;
    let mut rows = Vec::with_capacity(batch.iter().map(|j| j.records.len()).sum());
    let mut checkpoints = Vec::new();
    for record in batch.iter().flat_map(|job| job.records.iter()) {
        seq += 1;
        let position = u64::try_from(seq).unwrap_or(0);
        let hash = chain_hash(&prev, position, &record.body);
        if let Some(key) = signing_key {
            if checkpoint_every > 0 && position % checkpoint_every == 0 {
                let signature = key.sign(&checkpoint_message(position, &hash));
                checkpoints.push((seq, hash, signature.to_bytes()));
            }
        }
        rows.push(Chained {
            seq,
            record,
            prev,
            hash,
        });
        prev = hash;
    }
    let head_signature = signing_key.map(|key| {
        key.sign(&checkpoint_message(u64::try_from(seq).unwrap_or(0), &prev))
            .to_bytes()
            .to_vec()
    });
    Ok(Chain {
        rows,
        checkpoints,
        head_seq: seq,
        head_hash: prev,
        head_signature,
    })
}

/// Appends to `q` the insert of the checkpoints due in `chain`; false when none are.
pub(super) fn push_checkpoints<'q, Db>(
    q: &mut QueryBuilder<'q, Db>,
    chain: &'q Chain<'q>,
    signing_key: Option<&SigningKey>,
    now: i64,
) -> bool
where
    Db: sqlx::Database,
    i64: sqlx::Encode<'q, Db> + sqlx::Type<Db>,
    &'q [u8]: sqlx::Encode<'q, Db> + sqlx::Type<Db>,
    Vec<u8>: sqlx::Encode<'q, Db> + sqlx::Type<Db>,
{
    let Some(key) = signing_key.filter(|_| !chain.checkpoints.is_empty()) else {
        return false;
    };
    let public = key.verifying_key().to_bytes().to_vec();
    q.push("INSERT INTO audit_checkpoints (seq, hash, public_key, signature, at_ms) ");
    q.push_values(&chain.checkpoints, |mut row, (seq, hash, signature)| {
        row.push_bind(*seq)
            .push_bind(hash.as_slice())
            .push_bind(public.clone())
            .push_bind(signature.as_slice())
            .push_bind(now);
    });
    true
}

/// Commits `batch` on the writer's connection onto `head` if given, else onto the head as
/// stored; returns the new head.
///
/// A SQLite connection's statements run on a thread of its own, and each call costs a round
/// trip to it; so on SQLite the transaction opens with the first insert (or with the head's
/// read, when the head is not known), and the last insert, the head's update and the commit
/// go in one call: a batch of up to 64 records onto a known head takes one call. PostgreSQL
/// prepares one statement per call, and takes one per statement.
pub(super) async fn write_batch(
    held: &mut Held,
    batch: &[Job],
    head: Option<(i64, Hash)>,
    writing: &Writing,
) -> Result<(i64, Hash), AuditError> {
    match held {
        #[cfg(feature = "sqlite")]
        Held::Sqlite(connection) => {
            super::sqlite::write_batch_sqlite(connection, batch, head, writing).await
        }
        #[cfg(feature = "postgres")]
        Held::Postgres(connection) => {
            let _ = head;
            super::postgres::write_batch_postgres(connection, batch, writing).await
        }
    }
}

#[cfg(test)]
mod chunk_tests {
    use super::*;

    #[test]
    fn chunks_are_powers_of_two_covering_every_row() {
        for len in 0..300 {
            let sizes: Vec<usize> = chunk_sizes(len).collect();
            assert_eq!(sizes.iter().sum::<usize>(), len);
            assert!(
                sizes
                    .iter()
                    .all(|s| s.is_power_of_two() && *s <= INSERT_CHUNK)
            );
        }
    }
}
