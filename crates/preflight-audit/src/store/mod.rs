//! [`AuditStore`]: the audit trail, the approval queue and the fleet limits in one database.
//!
//! One concern per module: `backend` (the two databases behind one type and the URL that picks
//! one), `sqlite` and `postgres` (each backend's connection and its write of a batch),
//! `writer` (group commit: chaining batches onto the head), `checkpoint` (walking and checking
//! the chain), `rows` (records as rows), `approvals`, `feed` (queue change announcements)
//! and `fleet`.

mod approvals;
mod backend;
mod checkpoint;
mod feed;
mod fleet;
mod one_shot;
mod postgres;
mod proofs;
mod rows;
mod sqlite;
mod transparency;
mod writer;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ed25519_dalek::{SigningKey, VerifyingKey};
use preflight_core::{AuditEvent, AuditSink, QueueChange, StoreError};
use sqlx::QueryBuilder;
use tokio::sync::{Notify, broadcast, mpsc, oneshot, watch};

use crate::error::AuditError;
use crate::keys::{key_indexer, key_of};
use crate::record::{Filter, Prepared, StoredRecord};
use crate::verify::RawRow;

pub use backend::BackendKind;
pub(crate) use backend::{Backend, on_pool};
use backend::{ConnectOptions, Connected, connect, redact};
pub use feed::NOTIFY_CHANNEL;
use feed::start_change_feed;
use one_shot::OneShot;
use preflight_core::from_hex;
use rows::{PAGE, SELECT_RECORDS, push_filters, to_record};
use sqlite::Syncer;
pub(crate) use writer::chunk_sizes;
use writer::{Job, Writing, writer};

use crate::witness::Witness;

#[cfg(not(any(feature = "sqlite", feature = "postgres")))]
compile_error!("preflight-audit needs at least one backend: enable `sqlite` or `postgres`");

/// Builds an [`AuditStore`]: the URL, and optionally a signing key for checkpoints.
pub struct AuditStoreBuilder {
    url: String,
    signing_key: Option<SigningKey>,
    checkpoint_every: u64,
    max_batch: usize,
    max_connections: u32,
    poll_interval: Duration,
    witness: Option<PathBuf>,
    witness_every: u64,
    one_shot: bool,
    must_exist: bool,
}

/// Tree heads are witnessed every this many records when the builder names no other cadence.
pub const DEFAULT_WITNESS_EVERY: u64 = 1_000;

impl fmt::Debug for AuditStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditStoreBuilder")
            .field("url", &redact(&self.url))
            .field("signing", &self.signing_key.is_some())
            .field("checkpoint_every", &self.checkpoint_every)
            .field("max_batch", &self.max_batch)
            .field("witness", &self.witness)
            .field("one_shot", &self.one_shot)
            .finish()
    }
}

impl AuditStoreBuilder {
    /// Signs a checkpoint of the chain every `every` records, and the chain's head after each
    /// commit, with `key`; `verify` then detects a truncated tail.
    pub fn with_signing_key(mut self, key: SigningKey, every: u64) -> Self {
        self.signing_key = Some(key);
        self.checkpoint_every = every;
        self
    }

    /// Reads a signing key from 64 hex digits (its 32-byte seed).
    pub fn with_signing_key_hex(self, hex: &str, every: u64) -> Result<Self, AuditError> {
        let bytes = from_hex(hex.trim())
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| AuditError::Key("expected 64 hexadecimal digits".into()))?;
        Ok(self.with_signing_key(SigningKey::from_bytes(&bytes), every))
    }

    /// At most this many records committed in one transaction (default 4096).
    pub fn with_max_batch(mut self, records: usize) -> Self {
        self.max_batch = records.max(1);
        self
    }

    /// At most this many database connections (default 8).
    pub fn with_max_connections(mut self, connections: u32) -> Self {
        self.max_connections = connections.max(2);
        self
    }

    /// How often a SQLite store looks for queue changes made by other processes (default
    /// 200 ms). PostgreSQL is told by NOTIFY instead.
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Writes signed tree heads to the witness file at `path`, an append-only file of JSON
    /// lines kept outside the database (see the crate docs): every `every` records (0: the
    /// default, [`DEFAULT_WITNESS_EVERY`]), at [`AuditStore::close`], and after every append
    /// of a [one-shot](AuditStoreBuilder::one_shot) store. `verify` checks the records
    /// against every head the file holds.
    pub fn with_witness(mut self, path: impl Into<PathBuf>, every: u64) -> Self {
        self.witness = Some(path.into());
        self.witness_every = if every == 0 {
            DEFAULT_WITNESS_EVERY
        } else {
            every
        };
        self
    }

    /// For a process that records one decision and exits (a hook): one connection, no change
    /// feed, no key indexer (the key index is derived data the next full open catches up
    /// on), the schema migrated only when its version is behind, and each append written by
    /// the caller in one transaction, durable (`synchronous = FULL` on SQLite) before it
    /// returns. `subscribe()` announces nothing.
    pub fn one_shot(mut self) -> Self {
        self.one_shot = true;
        self
    }

    /// Fails instead of creating the database when it does not exist: for reading a trail
    /// (verify, tail, export), where a missing trail is an error, not an empty one. Fails with
    /// [`AuditError::Missing`], which says so when a witness names the trail.
    pub fn must_exist(mut self) -> Self {
        self.must_exist = true;
        self
    }

    /// Connects (creating a SQLite file when missing, unless [`AuditStoreBuilder::must_exist`]),
    /// brings the schema up to date and starts the background writer. Must be called within a
    /// Tokio runtime.
    pub async fn build(self) -> Result<AuditStore, AuditError> {
        let witness = self.witness.clone().map(Witness::new);
        let options = ConnectOptions {
            max_connections: self.max_connections,
            create: !self.must_exist,
            one_shot: self.one_shot,
            witness: witness.as_ref(),
        };
        let Connected {
            backend,
            keyed,
            wal,
        } = connect(&self.url, &options).await?;
        let verifying_key = self.signing_key.as_ref().map(SigningKey::verifying_key);
        let writing = Writing {
            signing_key: self.signing_key,
            checkpoint_every: self.checkpoint_every,
            flushed_by_syncer: wal.is_some() && !self.one_shot,
            witness: witness.clone(),
            witness_every: self.witness_every,
        };
        if self.one_shot {
            let (changes, _) = broadcast::channel(1);
            let (shutdown_tx, _) = oneshot::channel::<()>();
            return Ok(AuditStore {
                inner: Arc::new(Inner {
                    backend,
                    keyed: None,
                    writer: None,
                    one_shot: Some(OneShot::new(writing)),
                    changes,
                    poke: Arc::new(Notify::new()),
                    verifying_key,
                    checkpoint_every: self.checkpoint_every,
                    witness,
                    _shutdown: shutdown_tx,
                }),
            });
        }
        let (writer_tx, writer_rx) = mpsc::channel::<Job>(8_192);
        let (commits_tx, commits_rx) = watch::channel(0i64);
        let (changes, _) = broadcast::channel(1_024);
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let poke = Arc::new(Notify::new());
        tokio::spawn(writer(
            backend.clone(),
            writer_rx,
            commits_tx,
            wal.map(Syncer::start),
            writing,
            self.max_batch,
        ));
        tokio::spawn(key_indexer(keyed.clone(), commits_rx));
        start_change_feed(
            &backend,
            changes.clone(),
            shutdown_rx,
            Arc::clone(&poke),
            self.poll_interval,
        )
        .await?;
        Ok(AuditStore {
            inner: Arc::new(Inner {
                backend,
                keyed: Some(keyed),
                writer: Some(writer_tx),
                one_shot: None,
                changes,
                poke,
                verifying_key,
                checkpoint_every: self.checkpoint_every,
                witness,
                _shutdown: shutdown_tx,
            }),
        })
    }
}

struct Inner {
    backend: Backend,
    /// Connections that see the key index (on SQLite, with its file attached); none in a
    /// one-shot store.
    keyed: Option<Backend>,
    /// The background writer; none in a one-shot store, whose appends write themselves.
    writer: Option<mpsc::Sender<Job>>,
    one_shot: Option<OneShot>,
    /// Where tree heads are witnessed, when they are.
    witness: Option<Witness>,
    changes: broadcast::Sender<QueueChange>,
    poke: Arc<Notify>,
    verifying_key: Option<VerifyingKey>,
    checkpoint_every: u64,
    /// Dropped with the store: stops the change feed.
    _shutdown: oneshot::Sender<()>,
}

/// The audit trail, the approval queue and the fleet-wide limits, in SQLite or PostgreSQL.
///
/// Implements [`AuditSink`], [`ApprovalStore`](preflight_core::ApprovalStore) and
/// [`FleetLimits`](preflight_core::FleetLimits). Cheap to clone: clones
/// share the connection pool and the background writer, which batches concurrent appends into
/// one transaction (group commit) and answers each only once its batch is committed.
#[derive(Clone)]
pub struct AuditStore {
    inner: Arc<Inner>,
}

impl fmt::Debug for AuditStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditStore")
            .field("backend", &self.backend())
            .field("signing", &self.inner.verifying_key.is_some())
            .finish()
    }
}

impl AuditStore {
    /// Opens the store at `url`: `sqlite://path/to/audit.db` (a file, created when missing,
    /// in WAL mode) or `postgres://user:password@host:port/database`.
    pub async fn open(url: &str) -> Result<Self, AuditError> {
        Self::builder(url).build().await
    }

    /// A builder for a store at `url`, to add a signing key or tune batching.
    pub fn builder(url: impl Into<String>) -> AuditStoreBuilder {
        AuditStoreBuilder {
            url: url.into(),
            signing_key: None,
            checkpoint_every: 0,
            max_batch: 4_096,
            max_connections: 8,
            poll_interval: Duration::from_millis(200),
            witness: None,
            witness_every: DEFAULT_WITNESS_EVERY,
            one_shot: false,
            must_exist: false,
        }
    }

    /// Which database this store uses.
    pub fn backend(&self) -> BackendKind {
        on_pool!(&self.inner.backend, _pool => {
            if IS_POSTGRES { BackendKind::Postgres } else { BackendKind::Sqlite }
        })
    }

    /// The key checkpoints are verified with, when the store signs them.
    pub fn verifying_key(&self) -> Option<VerifyingKey> {
        self.inner.verifying_key
    }
}

impl AuditStore {
    /// The last `n` records, oldest first.
    pub async fn tail(&self, n: usize) -> Result<Vec<StoredRecord>, AuditError> {
        let limit = i64::try_from(n).unwrap_or(i64::MAX);
        let mut rows: Vec<RawRow> = on_pool!(&self.inner.backend, pool => {
            sqlx::query_as(&format!(
                "{SELECT_RECORDS} FROM audit_records r ORDER BY r.seq DESC LIMIT $1"
            ))
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.reverse();
        rows.iter().map(to_record).collect()
    }

    /// The records passing `filter`, oldest first.
    ///
    /// A filter naming an agent, a tool or a decision looks it up in the key index as far as
    /// the index goes, and scans the records committed since (see the crate docs).
    pub async fn query(&self, filter: &Filter) -> Result<Vec<StoredRecord>, AuditError> {
        let limit = filter.limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX));
        let key = key_of(filter).zip(self.inner.keyed.as_ref());
        let Some(((field, value), keyed)) = key else {
            let rows: Vec<RawRow> = on_pool!(&self.inner.backend, pool => {
                let mut q: QueryBuilder<'_, Db> = QueryBuilder::new(SELECT_RECORDS);
                q.push(" FROM audit_records r WHERE 1 = 1");
                push_filters(&mut q, filter);
                q.push(" ORDER BY r.seq");
                if let Some(limit) = limit {
                    q.push(" LIMIT ").push_bind(limit);
                }
                q.build_query_as().fetch_all(pool).await?
            });
            return rows.iter().map(to_record).collect();
        };
        let rows: Vec<RawRow> = on_pool!(keyed, pool => {
            let mut connection = pool.acquire().await?;
            // Keys up to `keyed` are complete and never change; the records after it are
            // scanned. Both parts are bounded by it, so no snapshot needs to span them.
            let keyed: i64 =
                sqlx::query_scalar(KEYED)
                    .fetch_one(&mut *connection)
                    .await?;
            // Runs of one key never overlap, so in the order of their last records, and each
            // in sequence, they give the records in sequence.
            let mut q: QueryBuilder<'_, Db> = QueryBuilder::new(SELECT_RECORDS);
            q.push(format_args!(
                " FROM {KEYS} k JOIN audit_records r ON r.seq BETWEEN k.first_seq AND k.last_seq"
            ));
            q.push(" WHERE k.field = ").push_bind(field.code());
            q.push(" AND k.value = ").push_bind(value);
            q.push(" AND k.last_seq <= ").push_bind(keyed);
            if let Some(after) = filter.after_seq {
                q.push(" AND k.last_seq > ")
                    .push_bind(i64::try_from(after).unwrap_or(i64::MAX));
            }
            // The record itself is tested too: an index that does not match the trail can
            // leave records out, never let others in.
            push_filters(&mut q, filter);
            q.push(" ORDER BY k.last_seq, r.seq");
            if let Some(limit) = limit {
                q.push(" LIMIT ").push_bind(limit);
            }
            let mut rows: Vec<RawRow> = q.build_query_as().fetch_all(&mut *connection).await?;
            let left = limit.map(|limit| limit - i64::try_from(rows.len()).unwrap_or(i64::MAX));
            if left.is_none_or(|left| left > 0) {
                let mut q: QueryBuilder<'_, Db> = QueryBuilder::new(SELECT_RECORDS);
                q.push(" FROM audit_records r WHERE r.seq > ").push_bind(keyed);
                push_filters(&mut q, filter);
                q.push(" ORDER BY r.seq");
                if let Some(left) = left {
                    q.push(" LIMIT ").push_bind(left);
                }
                rows.extend(q.build_query_as::<RawRow>().fetch_all(&mut *connection).await?);
            }
            rows
        });
        rows.iter().map(to_record).collect()
    }

    /// How far the key index goes: records after this sequence number are scanned by a
    /// keyed query. It follows the head within moments; a lasting gap is worth an alert.
    pub async fn keys_indexed(&self) -> Result<u64, AuditError> {
        let Some(keyed) = &self.inner.keyed else {
            return Ok(0);
        };
        let keyed: i64 = on_pool!(keyed, pool => {
            sqlx::query_scalar(KEYED)
                .fetch_one(pool)
                .await?
        });
        Ok(u64::try_from(keyed).unwrap_or(0))
    }

    /// Brings the key index up to date now (a background task otherwise does so within
    /// moments of each commit); returns the sequence number it covers.
    pub async fn index_keys(&self) -> Result<u64, AuditError> {
        let Some(keyed) = &self.inner.keyed else {
            return Ok(0);
        };
        let keyed = crate::keys::catch_up(keyed).await?;
        Ok(u64::try_from(keyed).unwrap_or(0))
    }

    /// Writes the records passing `filter` to `writer` as JSON Lines, one OpenTelemetry-style
    /// log record per line (see [`StoredRecord::to_otel`]); returns how many were written.
    pub async fn export_jsonl<W: std::io::Write + Send>(
        &self,
        mut writer: W,
        filter: &Filter,
    ) -> Result<u64, AuditError> {
        let mut page = filter.clone();
        let mut left = filter.limit.unwrap_or(usize::MAX);
        let mut written = 0u64;
        while left > 0 {
            page.limit = Some(left.min(PAGE as usize));
            let records = self.query(&page).await?;
            let Some(last) = records.last() else { break };
            page.after_seq = Some(last.seq);
            left = left.saturating_sub(records.len());
            for record in &records {
                serde_json::to_writer(&mut writer, &record.to_otel())
                    .map_err(|e| AuditError::Io(e.to_string()))?;
                writer
                    .write_all(b"\n")
                    .map_err(|e| AuditError::Io(e.to_string()))?;
                written += 1;
            }
        }
        writer.flush().map_err(|e| AuditError::Io(e.to_string()))?;
        Ok(written)
    }

    /// Appends records and returns once they are committed; the same as
    /// [`AuditSink::append`] with this crate's error.
    pub async fn append_events(&self, events: &[AuditEvent]) -> Result<(), AuditError> {
        if events.is_empty() {
            return Ok(());
        }
        let records = events
            .iter()
            .map(Prepared::new)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|message| AuditError::Unreadable {
                row: "new record".into(),
                message,
            })?;
        if let Some(one_shot) = &self.inner.one_shot {
            return one_shot.append(&self.inner.backend, records).await;
        }
        self.send(records, false).await
    }

    /// Witnesses the tree head over every record this store has committed, if it has a
    /// witness and the witness does not cover them yet; returns once the head is on disk.
    /// Dropping the last clone of a store does the same in the background, as far as the
    /// process lets it.
    pub async fn close(&self) -> Result<(), AuditError> {
        if self.inner.one_shot.is_some() {
            // Its appends are witnessed as they are written.
            return Ok(());
        }
        self.send(Vec::new(), true).await
    }

    async fn send(&self, records: Vec<Prepared>, seal: bool) -> Result<(), AuditError> {
        let writer = self
            .inner
            .writer
            .as_ref()
            .ok_or(AuditError::WriterStopped)?;
        let (done, answer) = oneshot::channel();
        writer
            .send(Job {
                records,
                done,
                seal,
            })
            .await
            .map_err(|_| AuditError::WriterStopped)?;
        answer.await.map_err(|_| AuditError::WriterStopped)?
    }
}

#[async_trait]
impl AuditSink for AuditStore {
    async fn append(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        self.append_events(events).await.map_err(StoreError::from)
    }
}
