//! [`AuditStore`]: the audit trail, the approval queue and the fleet limits in one database.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use preflight_core::{
    Approval, ApprovalDecision, ApprovalRequest, ApprovalStatus, ApprovalStore, AuditEvent,
    AuditSink, FleetLimits, QueueChange, QueuedApproval, StoreError, Timestamp, to_hex,
};
use sqlx::QueryBuilder;
use tokio::sync::{Notify, broadcast, mpsc, oneshot, watch};

use crate::error::AuditError;
use crate::keys::{key_indexer, key_of};
use crate::record::{
    Filter, GENESIS, Hash, Prepared, StoredRecord, chain_hash, checkpoint_message, to_hash,
};
use crate::verify::{
    RawCheckpoint, RawRow, RowCheck, Tamper, VerifyReport, check_checkpoint, check_row,
    classify_unlinked,
};

#[cfg(not(any(feature = "sqlite", feature = "postgres")))]
compile_error!("preflight-audit needs at least one backend: enable `sqlite` or `postgres`");

/// The PostgreSQL channel queue changes are announced on.
pub const NOTIFY_CHANNEL: &str = "preflight_approvals";

/// Rows read per round trip when walking or exporting the trail.
const PAGE: i64 = 2_000;

/// The most rows in one multi-row insert (well under either database's limit on bound
/// parameters).
const INSERT_CHUNK: usize = 64;

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

/// Which database a store uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BackendKind {
    /// A local SQLite file in WAL mode.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

#[derive(Clone)]
pub(crate) enum Backend {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
}

/// Runs `$body` with `$pool` bound to the backend's pool, `Db` to its database type,
/// `BEGIN` to the statement that opens a writing transaction (SQLite takes the write lock at
/// once so that a read inside the transaction can never go stale), `KEYS` and `KEYS_STATE`
/// to the key index's tables (see `keys`), and `KEYED` to the query of how far the key index
/// goes.
macro_rules! on_pool {
    ($backend:expr, $pool:ident => $body:expr) => {
        match $backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite($pool) => {
                #[allow(dead_code)]
                type Db = sqlx::Sqlite;
                #[allow(dead_code)]
                const BEGIN: &str = "BEGIN IMMEDIATE";
                #[allow(dead_code)]
                const IS_POSTGRES: bool = false;
                #[allow(dead_code)]
                const KEYS: &str = "keys.audit_key_runs";
                #[allow(dead_code)]
                const KEYS_STATE: &str = "keys.audit_key_runs_state";
                #[allow(dead_code)]
                const KEYED: &str = "SELECT keyed FROM keys.audit_key_runs_state WHERE id = 1";
                $body
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres($pool) => {
                #[allow(dead_code)]
                type Db = sqlx::Postgres;
                #[allow(dead_code)]
                const BEGIN: &str = "BEGIN";
                #[allow(dead_code)]
                const IS_POSTGRES: bool = true;
                #[allow(dead_code)]
                const KEYS: &str = "audit_key_runs";
                #[allow(dead_code)]
                const KEYS_STATE: &str = "audit_key_runs_state";
                #[allow(dead_code)]
                const KEYED: &str = "SELECT keyed FROM audit_key_runs_state WHERE id = 1";
                $body
            }
        }
    };
}
pub(crate) use on_pool;

/// Builds an [`AuditStore`]: the URL, and optionally a signing key for checkpoints.
pub struct AuditStoreBuilder {
    url: String,
    signing_key: Option<SigningKey>,
    checkpoint_every: u64,
    max_batch: usize,
    max_connections: u32,
    poll_interval: Duration,
}

impl fmt::Debug for AuditStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditStoreBuilder")
            .field("url", &redact(&self.url))
            .field("signing", &self.signing_key.is_some())
            .field("checkpoint_every", &self.checkpoint_every)
            .field("max_batch", &self.max_batch)
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

    /// Connects (creating a SQLite file when missing), brings the schema up to date and starts
    /// the background writer. Must be called within a Tokio runtime.
    pub async fn build(self) -> Result<AuditStore, AuditError> {
        let Connected {
            backend,
            keyed,
            wal,
        } = connect(&self.url, self.max_connections).await?;
        let (writer_tx, writer_rx) = mpsc::channel::<Job>(8_192);
        let (commits_tx, commits_rx) = watch::channel(0i64);
        let (changes, _) = broadcast::channel(1_024);
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let poke = Arc::new(Notify::new());
        let verifying_key = self.signing_key.as_ref().map(SigningKey::verifying_key);
        tokio::spawn(writer(
            backend.clone(),
            writer_rx,
            commits_tx,
            wal.map(Syncer::start),
            self.signing_key,
            self.checkpoint_every,
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
                keyed,
                writer: writer_tx,
                changes,
                poke,
                verifying_key,
                checkpoint_every: self.checkpoint_every,
                _shutdown: shutdown_tx,
            }),
        })
    }
}

struct Inner {
    backend: Backend,
    /// Connections that see the key index (on SQLite, with its file attached).
    keyed: Backend,
    writer: mpsc::Sender<Job>,
    changes: broadcast::Sender<QueueChange>,
    poke: Arc<Notify>,
    verifying_key: Option<VerifyingKey>,
    checkpoint_every: u64,
    /// Dropped with the store: stops the change feed.
    _shutdown: oneshot::Sender<()>,
}

/// The audit trail, the approval queue and the fleet-wide limits, in SQLite or PostgreSQL.
///
/// Implements [`AuditSink`], [`ApprovalStore`] and [`FleetLimits`]. Cheap to clone: clones
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

    /// Walks the whole chain and reports the first record altered, removed or reordered, and
    /// a truncated tail where the head or a signed checkpoint shows one. Signatures are
    /// checked against the store's own key when it has one.
    pub async fn verify(&self) -> Result<VerifyReport, AuditError> {
        self.verify_with_key(self.inner.verifying_key.as_ref())
            .await
    }

    /// Like [`AuditStore::verify`], checking signatures against `key` (when `None`, against
    /// the public key stored beside each checkpoint, which only shows accidental damage).
    pub async fn verify_with_key(
        &self,
        key: Option<&VerifyingKey>,
    ) -> Result<VerifyReport, AuditError> {
        let mut expected_seq: u64 = 1;
        let mut prev: Hash = GENESIS;
        let mut records: u64 = 0;
        let mut problem = None;
        let mut after = i64::MIN;
        'walk: loop {
            let rows = self.rows_after(after, PAGE).await?;
            let Some(last) = rows.last() else { break };
            after = last.seq;
            for row in &rows {
                records += 1;
                match check_row(expected_seq, &prev, row) {
                    RowCheck::Ok(hash) => {
                        prev = hash;
                        expected_seq = expected_seq.saturating_add(1);
                    }
                    RowCheck::Problem(tamper) => {
                        problem = Some(tamper);
                        break 'walk;
                    }
                    RowCheck::Unlinked { prev: link } => {
                        let found = self.seq_with_hash(&link).await?;
                        problem = Some(classify_unlinked(row, found));
                        break 'walk;
                    }
                }
            }
        }
        let last_seq = expected_seq - 1;
        let (head_seq, head_hash, head_signature) = self.head().await?;
        if problem.is_none() {
            problem = check_head(last_seq, &prev, head_seq, &head_hash, head_signature, key);
        }
        let checkpoints = self.checkpoints().await?;
        if problem.is_none() {
            problem = self.check_checkpoints(&checkpoints, last_seq, key).await?;
        }
        Ok(VerifyReport {
            records,
            last_seq,
            head_hash: (last_seq > 0).then(|| to_hex(&prev)),
            checkpoints: checkpoints.len() as u64,
            trusted_key: key.is_some(),
            problem,
        })
    }

    async fn check_checkpoints(
        &self,
        checkpoints: &[RawCheckpoint],
        last_seq: u64,
        key: Option<&VerifyingKey>,
    ) -> Result<Option<Tamper>, AuditError> {
        for checkpoint in checkpoints {
            let hash = self.hash_at(checkpoint.seq).await?;
            if let Some(tamper) = check_checkpoint(checkpoint, hash.as_deref(), last_seq, key) {
                return Ok(Some(tamper));
            }
        }
        // With the signing key at hand, every N-th record must carry a checkpoint.
        let every = self.inner.checkpoint_every;
        if key.is_some() && every > 0 {
            let mut expected = every;
            let mut present = checkpoints.iter().filter_map(|c| u64::try_from(c.seq).ok());
            let mut next = present.next();
            while expected <= last_seq {
                match next {
                    Some(seq) if seq == expected => next = present.next(),
                    Some(seq) if seq < expected => {
                        next = present.next();
                        continue;
                    }
                    _ => {
                        return Ok(Some(Tamper::BadCheckpoint {
                            seq: expected,
                            detail: "the checkpoint is missing".into(),
                        }));
                    }
                }
                expected += every;
            }
        }
        Ok(None)
    }

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
        let Some((field, value)) = key_of(filter) else {
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
        let rows: Vec<RawRow> = on_pool!(&self.inner.keyed, pool => {
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
        let keyed: i64 = on_pool!(&self.inner.keyed, pool => {
            sqlx::query_scalar(KEYED)
                .fetch_one(pool)
                .await?
        });
        Ok(u64::try_from(keyed).unwrap_or(0))
    }

    /// Brings the key index up to date now (a background task otherwise does so within
    /// moments of each commit); returns the sequence number it covers.
    pub async fn index_keys(&self) -> Result<u64, AuditError> {
        let keyed = crate::keys::catch_up(&self.inner.keyed).await?;
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
        let (done, answer) = oneshot::channel();
        self.inner
            .writer
            .send(Job { records, done })
            .await
            .map_err(|_| AuditError::WriterStopped)?;
        answer.await.map_err(|_| AuditError::WriterStopped)?
    }

    async fn rows_after(&self, after: i64, limit: i64) -> Result<Vec<RawRow>, AuditError> {
        Ok(on_pool!(&self.inner.backend, pool => {
            sqlx::query_as(&format!(
                "{SELECT_RECORDS} FROM audit_records r WHERE r.seq > $1 ORDER BY r.seq LIMIT $2"
            ))
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }

    async fn seq_with_hash(&self, hash: &Hash) -> Result<Option<u64>, AuditError> {
        let seq: Option<i64> = on_pool!(&self.inner.backend, pool => {
            sqlx::query_scalar("SELECT seq FROM audit_records WHERE hash = $1 LIMIT 1")
                .bind(hash.to_vec())
                .fetch_optional(pool)
                .await?
        });
        Ok(seq.and_then(|s| u64::try_from(s).ok()))
    }

    async fn hash_at(&self, seq: i64) -> Result<Option<Vec<u8>>, AuditError> {
        Ok(on_pool!(&self.inner.backend, pool => {
            sqlx::query_scalar("SELECT hash FROM audit_records WHERE seq = $1")
                .bind(seq)
                .fetch_optional(pool)
                .await?
        }))
    }

    async fn head(&self) -> Result<(i64, Vec<u8>, Option<Vec<u8>>), AuditError> {
        let head: Option<(i64, Vec<u8>, Option<Vec<u8>>)> = on_pool!(&self.inner.backend, pool => {
            sqlx::query_as("SELECT seq, hash, signature FROM audit_head WHERE id = 1")
                .fetch_optional(pool)
                .await?
        });
        // A missing head row is itself tampering; report it as an empty head.
        Ok(head.unwrap_or((0, GENESIS.to_vec(), None)))
    }

    async fn checkpoints(&self) -> Result<Vec<RawCheckpoint>, AuditError> {
        Ok(on_pool!(&self.inner.backend, pool => {
            sqlx::query_as(
                "SELECT seq, hash, public_key, signature FROM audit_checkpoints ORDER BY seq",
            )
            .fetch_all(pool)
            .await?
        }))
    }

    async fn announce_local(&self) {
        self.inner.poke.notify_one();
    }
}

fn check_head(
    last_seq: u64,
    last_hash: &Hash,
    head_seq: i64,
    head_hash: &[u8],
    head_signature: Option<Vec<u8>>,
    key: Option<&VerifyingKey>,
) -> Option<Tamper> {
    let head_seq = u64::try_from(head_seq).unwrap_or(0);
    if let Some(key) = key {
        let signed = head_signature
            .as_deref()
            .and_then(|s| ed25519_dalek::Signature::from_slice(s).ok())
            .zip(to_hash(head_hash))
            .is_some_and(|(signature, hash)| {
                key.verify_strict(&checkpoint_message(head_seq, &hash), &signature)
                    .is_ok()
            });
        if !signed && head_seq > 0 {
            return Some(Tamper::BadCheckpoint {
                seq: head_seq,
                detail: "the head's signature does not verify".into(),
            });
        }
    }
    if head_seq > last_seq {
        return Some(Tamper::Truncated {
            last_present: last_seq,
            expected: head_seq,
            evidence: "the chain's head".into(),
        });
    }
    if head_seq < last_seq {
        return Some(Tamper::Altered {
            seq: head_seq + 1,
            detail: "records follow the chain's recorded head".into(),
        });
    }
    if head_seq > 0 && head_hash != last_hash.as_slice() {
        return Some(Tamper::Altered {
            seq: head_seq,
            detail: "its hash differs from the chain's recorded head".into(),
        });
    }
    None
}

/// The columns of a record, from `audit_records` as `r`.
const SELECT_RECORDS: &str = "SELECT r.seq, r.at_ms, r.proposal_id, r.digest, r.agent, r.tool, \
     r.kind, r.decision, r.body, r.prev_hash, r.hash";

/// Adds `filter`'s conditions on `audit_records` as `r` (the same test as [`Filter::matches`]).
fn push_filters<'a, Db: sqlx::Database>(q: &mut QueryBuilder<'a, Db>, filter: &'a Filter)
where
    String: sqlx::Encode<'a, Db> + sqlx::Type<Db>,
    &'a str: sqlx::Encode<'a, Db> + sqlx::Type<Db>,
    i64: sqlx::Encode<'a, Db> + sqlx::Type<Db>,
{
    if let Some(agent) = &filter.agent {
        q.push(" AND r.agent = ").push_bind(agent.as_str());
    }
    if let Some(tool) = &filter.tool {
        q.push(" AND r.tool = ").push_bind(tool.as_str());
    }
    if let Some(decision) = filter.decision {
        q.push(" AND r.decision = ").push_bind(decision.as_str());
    }
    if let Some(kind) = &filter.kind {
        q.push(" AND r.kind = ").push_bind(kind.as_str());
    }
    if let Some(proposal) = &filter.proposal_id {
        q.push(" AND r.proposal_id = ").push_bind(proposal.as_str());
    }
    if let Some(since) = filter.since {
        q.push(" AND r.at_ms >= ").push_bind(millis(since));
    }
    if let Some(until) = filter.until {
        q.push(" AND r.at_ms < ").push_bind(millis(until));
    }
    if let Some(after) = filter.after_seq {
        q.push(" AND r.seq > ")
            .push_bind(i64::try_from(after).unwrap_or(i64::MAX));
    }
}

fn to_record(row: &RawRow) -> Result<StoredRecord, AuditError> {
    let unreadable = |message: String| AuditError::Unreadable {
        row: row.seq.to_string(),
        message,
    };
    let event: AuditEvent =
        serde_json::from_str(&row.body).map_err(|e| unreadable(e.to_string()))?;
    Ok(StoredRecord {
        seq: u64::try_from(row.seq).map_err(|e| unreadable(e.to_string()))?,
        hash: to_hex(&row.hash),
        prev_hash: to_hex(&row.prev_hash),
        decision: crate::record::decision_of(&event.kind),
        event,
    })
}

fn millis(at: Timestamp) -> i64 {
    i64::try_from(at.as_millis()).unwrap_or(i64::MAX)
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// The URL with any password removed, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(start), Some(at)) if at > start => {
            let credentials = &url[start + 3..at];
            let user = credentials.split(':').next().unwrap_or("");
            format!("{}://{}:***@{}", &url[..start], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// A store's connections.
struct Connected {
    /// The pool for everything.
    backend: Backend,
    /// The connections that see the key index (on SQLite a pool of its own, with the keys file
    /// attached).
    keyed: Backend,
    /// SQLite: the trail's write-ahead log, which the writer flushes itself (see `Syncer`).
    wal: Option<std::path::PathBuf>,
}

/// Connects to the database at `url`.
async fn connect(url: &str, max_connections: u32) -> Result<Connected, AuditError> {
    let invalid = |message: String| AuditError::InvalidUrl {
        url: redact(url),
        message,
    };
    if url.starts_with("sqlite:") {
        #[cfg(feature = "sqlite")]
        {
            use sqlx::sqlite::{
                SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
            };
            use std::str::FromStr as _;
            if url.contains(":memory:") || url.contains("mode=memory") {
                return Err(invalid(
                    "an in-memory database is not shared between connections: use a file".into(),
                ));
            }
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| invalid(e.to_string()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // FULL: a commit is on disk (not only in the OS cache) before append returns.
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(30))
                // A new trail only (an existing file keeps its own): a commit then writes
                // half as many pages to the log, each in two system calls.
                .page_size(8192)
                // A larger page cache and memory-mapped reads keep index inserts off the
                // system-call path as the trail grows.
                .pragma("cache_size", "-65536")
                .pragma("mmap_size", "268435456")
                // The writer has the WAL checkpointed from another connection, off the commit
                // path (see `WalCheckpoints`): an automatic checkpoint would hold up the commit
                // that triggers it, and every agent waiting on that batch.
                .pragma("wal_autocheckpoint", "0");
            let keys_file = format!("{}-keys", options.get_filename().display());
            let wal = std::path::PathBuf::from(format!("{}-wal", options.get_filename().display()));
            // These connections write only the keys file, which may checkpoint itself.
            let keyed_options = options.clone().pragma("wal_autocheckpoint", "1000");
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections)
                .connect_with(options)
                .await?;
            SQLITE_MIGRATOR.run(&pool).await?;
            checkpoint_a_long_log(&pool, &wal).await;
            let keyed = SqlitePoolOptions::new()
                .max_connections(max_connections.clamp(1, 4))
                .after_connect(move |connection, _| {
                    let keys_file = keys_file.clone();
                    Box::pin(async move {
                        sqlx::query("ATTACH DATABASE $1 AS keys")
                            .bind(keys_file)
                            .execute(&mut *connection)
                            .await?;
                        // Derived data, rebuilt from the trail: a power cut may cost its last
                        // rounds, which the next round redoes.
                        sqlx::query("PRAGMA keys.synchronous = NORMAL")
                            .execute(&mut *connection)
                            .await?;
                        Ok(())
                    })
                })
                .connect_with(keyed_options)
                .await?;
            sqlx::raw_sql(crate::keys::SQLITE_KEYS_SCHEMA)
                .execute(&keyed)
                .await?;
            return Ok(Connected {
                backend: Backend::Sqlite(pool),
                keyed: Backend::Sqlite(keyed),
                wal: Some(wal),
            });
        }
        #[cfg(not(feature = "sqlite"))]
        return Err(AuditError::BackendDisabled("sqlite".into()));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        {
            use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
            use std::str::FromStr as _;
            let options = PgConnectOptions::from_str(url).map_err(|e| invalid(e.to_string()))?;
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .connect_with(options)
                .await?;
            POSTGRES_MIGRATOR.run(&pool).await?;
            return Ok(Connected {
                backend: Backend::Postgres(pool.clone()),
                keyed: Backend::Postgres(pool),
                wal: None,
            });
        }
        #[cfg(not(feature = "postgres"))]
        return Err(AuditError::BackendDisabled("postgres".into()));
    }
    Err(invalid(
        "expected sqlite://path or postgres://user:password@host:port/database".into(),
    ))
}

#[cfg(feature = "sqlite")]
static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The write-ahead log length past which opening the store checkpoints it first.
#[cfg(feature = "sqlite")]
const LONG_LOG_BYTES: u64 = 4 << 20;

/// Checkpoints the log when it has grown long. The writer checkpoints every few commits, but a
/// process that records one action and exits (a hook) never gets there: without this the log
/// would grow by every such process, and every later open would read it all.
#[cfg(feature = "sqlite")]
async fn checkpoint_a_long_log(pool: &sqlx::SqlitePool, wal: &std::path::Path) {
    let long = std::fs::metadata(wal).is_ok_and(|meta| meta.len() > LONG_LOG_BYTES);
    if long {
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(pool)
            .await
        {
            tracing::warn!(%error, "WAL checkpoint failed; the next open retries");
        }
    }
}

#[cfg(feature = "postgres")]
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

// ---------------------------------------------------------------------------------------------
// Group commit

/// At most this many yields while the writer waits for more appends before a commit.
const GATHER_YIELDS: usize = 8;

struct Job {
    records: Vec<Prepared>,
    done: oneshot::Sender<Result<(), AuditError>>,
}

/// The background writer: takes every append waiting, commits them in one transaction, then
/// answers each. Exits when the store is dropped.
async fn writer(
    backend: Backend,
    mut jobs: mpsc::Receiver<Job>,
    commits: watch::Sender<i64>,
    syncer: Option<Syncer>,
    signing_key: Option<SigningKey>,
    checkpoint_every: u64,
    max_batch: usize,
) {
    // One connection, held: its page cache stays warm between batches, where a connection
    // taken from the pool each time would have to reread what the previous one wrote.
    let mut held: Option<Held> = None;
    // The head this writer last committed (see `commit`).
    let mut head: Option<(i64, Hash)> = None;
    let writing = Writing {
        signing_key,
        checkpoint_every,
        flushed_by_syncer: syncer.is_some(),
    };
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
        if let Some(failure) = syncer.as_ref().and_then(Syncer::failure) {
            for job in batch {
                let _ = job.done.send(Err(failure.clone()));
            }
            continue;
        }
        let result = match commit(&backend, &mut held, &mut head, &batch, &writing).await {
            Ok(seq) => {
                checkpoints.after_commit(&backend);
                commits.send_replace(seq);
                if let Some(syncer) = &syncer {
                    // Answered once on disk, while the next batch is written.
                    syncer.flush(batch);
                    continue;
                }
                Ok(())
            }
            Err(error) => Err(error),
        };
        if let Err(error) = &result {
            tracing::error!(%error, records = count, "audit batch not committed");
        }
        for job in batch {
            let _ = job.done.send(result.clone());
        }
    }
    // Not back to the pool: its commits are not flushed by SQLite itself.
    if let Some(connection) = held {
        connection.close().await;
    }
}

/// How the writer writes: what it signs, and whether the syncer flushes its commits.
struct Writing {
    signing_key: Option<SigningKey>,
    checkpoint_every: u64,
    flushed_by_syncer: bool,
}

/// Commits `batch` on the writer's connection (taking one if it has none), onto the head the
/// writer last committed when it knows it; returns the new head's sequence number.
///
/// A known head is only a guess: another process sharing the file may have appended since.
/// Its records then hold the sequence numbers this batch would take, the insert fails on
/// them and rolls the transaction back, and the batch is written again on a fresh connection
/// onto the head read under the write lock. After any failure the connection's state is
/// unknown, so it is closed.
async fn commit(
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

/// Flushes a SQLite trail's write-ahead log for the writer, and answers the batches each flush
/// made durable.
///
/// The writer's own connection commits with `synchronous = NORMAL`, which writes the log but
/// does not flush it; this thread then flushes it (`fdatasync`) and only then answers the
/// appenders. A batch is answered only after a flush that began once it was committed, so
/// what `FULL` promises holds (no acknowledged record is lost to a crash or a power cut),
/// while the next batch is written during the flush instead of after it. One flush answers
/// every batch committed before it began. Other connections keep `FULL`.
struct Syncer {
    batches: std::sync::mpsc::Sender<Vec<Job>>,
    failed: Arc<std::sync::Mutex<Option<AuditError>>>,
}

impl Syncer {
    fn start(wal: std::path::PathBuf) -> Self {
        let (batches, committed) = std::sync::mpsc::channel::<Vec<Job>>();
        let failed = Arc::new(std::sync::Mutex::new(None));
        let failure = Arc::clone(&failed);
        let spawned = std::thread::Builder::new()
            .name("preflight-audit-sync".into())
            .spawn(move || {
                let mut log = None;
                while let Ok(first) = committed.recv() {
                    let mut jobs = first;
                    while let Ok(more) = committed.try_recv() {
                        jobs.extend(more);
                    }
                    let result = flush(&wal, &mut log);
                    if let Err(error) = &result {
                        tracing::error!(%error, "audit trail not flushed; recording stops");
                        if let Ok(mut failed) = failure.lock() {
                            failed.get_or_insert_with(|| error.clone());
                        }
                    }
                    for job in jobs {
                        let _ = job.done.send(result.clone());
                    }
                }
            });
        if let Err(error) = spawned {
            // Without the thread nothing could be answered: fail every append instead.
            if let Ok(mut failed) = failed.lock() {
                *failed = Some(AuditError::NotDurable(format!(
                    "the flushing thread could not start: {error}"
                )));
            }
        }
        Self { batches, failed }
    }

    /// Hands a committed batch over to be flushed and answered.
    fn flush(&self, batch: Vec<Job>) {
        if let Err(std::sync::mpsc::SendError(batch)) = self.batches.send(batch) {
            for job in batch {
                let _ = job.done.send(Err(AuditError::NotDurable(
                    "the flushing thread has stopped".into(),
                )));
            }
        }
    }

    /// Why recording stopped, after a failed flush.
    fn failure(&self) -> Option<AuditError> {
        match self.failed.lock() {
            Ok(failed) => failed.clone(),
            Err(_) => Some(AuditError::NotDurable(
                "the flushing thread panicked".into(),
            )),
        }
    }
}

/// Flushes the write-ahead log `wal` to disk, opening it (and flushing its directory entry) the
/// first time.
fn flush(wal: &std::path::Path, log: &mut Option<std::fs::File>) -> Result<(), AuditError> {
    let not_durable = |what: &str, error: std::io::Error| {
        AuditError::NotDurable(format!("{what} {}: {error}", wal.display()))
    };
    if log.is_none() {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(wal)
            .map_err(|e| not_durable("opening", e))?;
        if let Some(dir) = wal.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| not_durable("flushing the directory of", e))?;
        }
        *log = Some(file);
    }
    match log {
        Some(file) => file.sync_data().map_err(|e| not_durable("flushing", e)),
        None => Ok(()),
    }
}

struct Chained<'a> {
    seq: i64,
    record: &'a Prepared,
    prev: Hash,
    hash: Hash,
}

/// Copies a SQLite WAL back into the database from a pool connection in the background, every
/// few commits, so that the WAL stays small while no commit waits for it. A passive checkpoint
/// never blocks the writer; one runs at a time.
#[derive(Default)]
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
struct WalCheckpoints {
    commits: u64,
    running: Arc<std::sync::atomic::AtomicBool>,
}

impl WalCheckpoints {
    /// Commits between checkpoints. A checkpoint ends by flushing the database file, which
    /// competes with the flushes of the log that appenders wait for: many small checkpoints
    /// hold those up far less than a few large ones (at 16 commits apart the slowest 1 % of
    /// appends took a third longer than at 4).
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    const EVERY: u64 = 4;

    fn after_commit(&mut self, backend: &Backend) {
        #[cfg(feature = "sqlite")]
        #[allow(irrefutable_let_patterns)]
        if let Backend::Sqlite(pool) = backend {
            self.start(pool);
        }
        #[cfg(not(feature = "sqlite"))]
        let _ = backend;
    }

    #[cfg(feature = "sqlite")]
    fn start(&mut self, pool: &sqlx::SqlitePool) {
        use std::sync::atomic::Ordering;
        self.commits += 1;
        if self.commits % Self::EVERY != 0 || self.running.swap(true, Ordering::AcqRel) {
            return;
        }
        let pool = pool.clone();
        let running = Arc::clone(&self.running);
        tokio::spawn(async move {
            if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
            {
                tracing::warn!(%error, "WAL checkpoint failed; the next one retries");
            }
            running.store(false, Ordering::Release);
        });
    }
}

/// The writer's own connection. The SQLite one is detached from the pool: it commits without
/// flushing, and its transactions are opened by hand, so it must never go back to the pool;
/// dropped, it is closed (which rolls back whatever is open).
enum Held {
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
struct Chain<'a> {
    rows: Vec<Chained<'a>>,
    checkpoints: Vec<(i64, Hash, [u8; 64])>,
    head_seq: i64,
    head_hash: Hash,
    head_signature: Option<Vec<u8>>,
}

/// Chains `batch` onto the head `(head_seq, head_hash)`, signing checkpoints and the new head
/// when the writer has a key.
fn chain<'a>(
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

/// Appends to `q` one multi-row insert of `rows` into the records table (SQLite; PostgreSQL
/// inserts any number of rows from one array per column).
#[cfg(feature = "sqlite")]
fn push_insert<'q>(q: &mut QueryBuilder<'q, sqlx::Sqlite>, rows: &'q [Chained<'q>]) {
    // A failed row rolls back the whole transaction, which is what the caller gets anyway,
    // and spares SQLite a statement journal for every insert.
    q.push(
        "INSERT OR ROLLBACK INTO audit_records (seq, at_ms, proposal_id, digest, agent, tool, \
         kind, decision, body, prev_hash, hash) ",
    );
    q.push_values(rows, |mut row, c| {
        row.push_bind(c.seq)
            .push_bind(c.record.at_ms)
            .push_bind(&*c.record.proposal_id)
            .push_bind(c.record.digest.as_str())
            .push_bind(c.record.agent.as_deref())
            .push_bind(&*c.record.tool)
            .push_bind(c.record.kind)
            .push_bind(c.record.decision)
            .push_bind(c.record.body.as_str())
            .push_bind(c.prev.as_slice())
            .push_bind(c.hash.as_slice());
    });
}

/// Appends to `q` the insert of the checkpoints due in `chain`; false when none are.
fn push_checkpoints<'q, Db>(
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
async fn write_batch(
    held: &mut Held,
    batch: &[Job],
    head: Option<(i64, Hash)>,
    writing: &Writing,
) -> Result<(i64, Hash), AuditError> {
    match held {
        #[cfg(feature = "sqlite")]
        Held::Sqlite(connection) => write_batch_sqlite(connection, batch, head, writing).await,
        #[cfg(feature = "postgres")]
        Held::Postgres(connection) => {
            let _ = head;
            write_batch_postgres(connection, batch, writing).await
        }
    }
}

/// The SQLite writer's batch, in as few calls as the statement cache allows. The transaction
/// is opened by hand, not by `sqlx`'s `Transaction`: after any failure the writer closes the
/// connection, which rolls back whatever is open.
#[cfg(feature = "sqlite")]
async fn write_batch_sqlite(
    connection: &mut sqlx::SqliteConnection,
    batch: &[Job],
    head: Option<(i64, Hash)>,
    writing: &Writing,
) -> Result<(i64, Hash), AuditError> {
    let signing_key = writing.signing_key.as_ref();
    let now = millis(Timestamp::now());
    let (head_seq, head_hash, opened) = match head {
        Some((seq, hash)) => (seq, hash.to_vec(), false),
        None => {
            // Takes the write lock and reads the head under it: writers in every process
            // sharing the file take turns here. (Bound, so that the statements stay prepared.)
            let (seq, hash): (i64, Vec<u8>) = sqlx::query_as(
                "BEGIN IMMEDIATE; \
                 UPDATE audit_head SET seq = seq WHERE id = $1 RETURNING seq, hash",
            )
            .bind(1_i64)
            .fetch_one(&mut *connection)
            .await?;
            (seq, hash, true)
        }
    };
    let chain = chain(batch, head_seq, &head_hash, writing)?;
    let mut rest = chain.rows.as_slice();
    let mut sizes = chunk_sizes(rest.len()).peekable();
    let mut first = !opened;
    while let Some(size) = sizes.next() {
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        // With a known head the transaction opens with the first insert, which fails on the
        // records of any other writer that appended since (see `commit`).
        let mut q: QueryBuilder<'_, sqlx::Sqlite> =
            QueryBuilder::new(if first { "BEGIN IMMEDIATE; " } else { "" });
        first = false;
        push_insert(&mut q, chunk);
        if sizes.peek().is_none() {
            q.push("; ");
            if push_checkpoints(&mut q, &chain, signing_key, now) {
                q.push("; ");
            }
            q.push("UPDATE audit_head SET seq = ")
                .push_bind(chain.head_seq)
                .push(", hash = ")
                .push_bind(chain.head_hash.as_slice())
                .push(", signature = ")
                .push_bind(chain.head_signature.as_deref())
                .push(" WHERE id = 1; COMMIT");
        }
        q.build().execute(&mut *connection).await?;
    }
    Ok((chain.head_seq, chain.head_hash))
}

#[cfg(feature = "postgres")]
async fn write_batch_postgres(
    connection: &mut sqlx::PgConnection,
    batch: &[Job],
    writing: &Writing,
) -> Result<(i64, Hash), AuditError> {
    use sqlx::Connection as _;
    let signing_key = writing.signing_key.as_ref();
    let now = millis(Timestamp::now());
    let mut tx = connection.begin().await?;
    // Locks the head row: writers in every process sharing the database take turns here.
    let (head_seq, head_hash): (i64, Vec<u8>) =
        sqlx::query_as("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash")
            .fetch_one(&mut *tx)
            .await?;
    let chain = chain(batch, head_seq, &head_hash, writing)?;
    // One statement for any number of rows, one array per column.
    let rows = &chain.rows;
    sqlx::query(
        "INSERT INTO audit_records (seq, at_ms, proposal_id, digest, agent, tool, kind, \
         decision, body, prev_hash, hash) SELECT * FROM UNNEST($1::bigint[], $2::bigint[], \
         $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], \
         $10::bytea[], $11::bytea[])",
    )
    .bind(rows.iter().map(|c| c.seq).collect::<Vec<_>>())
    .bind(rows.iter().map(|c| c.record.at_ms).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|c| &*c.record.proposal_id)
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|c| c.record.digest.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|c| c.record.agent.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|c| &*c.record.tool).collect::<Vec<_>>())
    .bind(rows.iter().map(|c| c.record.kind).collect::<Vec<_>>())
    .bind(rows.iter().map(|c| c.record.decision).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|c| c.record.body.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|c| c.prev.as_slice()).collect::<Vec<_>>())
    .bind(rows.iter().map(|c| c.hash.as_slice()).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;
    let mut q: QueryBuilder<'_, sqlx::Postgres> = QueryBuilder::new("");
    if push_checkpoints(&mut q, &chain, signing_key, now) {
        q.build().execute(&mut *tx).await?;
    }
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2, signature = $3 WHERE id = 1")
        .bind(chain.head_seq)
        .bind(chain.head_hash.as_slice())
        .bind(chain.head_signature.as_deref())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok((chain.head_seq, chain.head_hash))
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

#[cfg(test)]
mod syncer_tests {
    use super::*;

    fn job() -> (Job, oneshot::Receiver<Result<(), AuditError>>) {
        let (done, answer) = oneshot::channel();
        let job = Job {
            records: Vec::new(),
            done,
        };
        (job, answer)
    }

    #[test]
    fn a_failed_flush_fails_its_batches_and_stops_recording() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        // A log that cannot be opened: the flush fails as a failing disk would.
        let syncer = Syncer::start(dir.path().join("missing").join("trail.db-wal"));
        assert!(syncer.failure().is_none());
        let (first, first_answer) = job();
        let (second, second_answer) = job();
        syncer.flush(vec![first, second]);
        for answer in [first_answer, second_answer] {
            let result = answer.blocking_recv().unwrap_or_else(|e| panic!("{e}"));
            assert!(
                matches!(result, Err(AuditError::NotDurable(ref message)) if message.contains("trail.db-wal")),
                "{result:?}"
            );
        }
        // The writer asks before every batch, and refuses it from now on.
        assert!(matches!(syncer.failure(), Some(AuditError::NotDurable(_))));
    }

    #[test]
    fn a_flushed_log_answers_its_batches() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let wal = dir.path().join("trail.db-wal");
        std::fs::write(&wal, b"log").unwrap_or_else(|e| panic!("{e}"));
        let syncer = Syncer::start(wal);
        let (first, answer) = job();
        syncer.flush(vec![first]);
        assert!(matches!(answer.blocking_recv(), Ok(Ok(()))));
        assert!(syncer.failure().is_none());
    }
}

#[async_trait]
impl AuditSink for AuditStore {
    async fn append(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        self.append_events(events).await.map_err(StoreError::from)
    }
}

// ---------------------------------------------------------------------------------------------
// Approval queue

#[derive(sqlx::FromRow)]
struct ApprovalRow {
    id: String,
    expires_at: i64,
    status: String,
    request: String,
    approval: Option<String>,
}

const APPROVAL_COLUMNS: &str = "SELECT id, expires_at, status, request, approval FROM approvals";

fn status_name(status: ApprovalStatus) -> &'static str {
    match status {
        ApprovalStatus::Pending => "pending",
        ApprovalStatus::Approved => "approved",
        ApprovalStatus::Denied => "denied",
        ApprovalStatus::Expired => "expired",
    }
}

fn to_queued(row: &ApprovalRow, now: Timestamp) -> Result<QueuedApproval, AuditError> {
    let unreadable = |message: String| AuditError::Unreadable {
        row: row.id.clone(),
        message,
    };
    let request: ApprovalRequest =
        serde_json::from_str(&row.request).map_err(|e| unreadable(e.to_string()))?;
    let approval = row
        .approval
        .as_deref()
        .map(serde_json::from_str::<Approval>)
        .transpose()
        .map_err(|e| unreadable(e.to_string()))?;
    let mut status = match row.status.as_str() {
        "pending" => ApprovalStatus::Pending,
        "approved" => ApprovalStatus::Approved,
        "denied" => ApprovalStatus::Denied,
        "expired" => ApprovalStatus::Expired,
        other => return Err(unreadable(format!("unknown status `{other}`"))),
    };
    if status == ApprovalStatus::Pending && millis(now) >= row.expires_at {
        status = ApprovalStatus::Expired;
    }
    Ok(QueuedApproval {
        request,
        status,
        approval,
    })
}

fn change_payload(change: &QueueChange) -> String {
    serde_json::to_string(change).unwrap_or_default()
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}

/// Announces a queue change inside the transaction that makes it: NOTIFY on PostgreSQL
/// (delivered on commit), a row in `approval_changes` on SQLite (polled).
macro_rules! announce_in {
    ($tx:expr, $is_postgres:expr, $change:expr) => {{
        let change: &QueueChange = $change;
        if $is_postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(NOTIFY_CHANNEL)
                .bind(change_payload(change))
                .execute(&mut *$tx)
                .await
                .map(|_| ())
        } else {
            let (kind, id) = match change {
                QueueChange::Enqueued { id } => ("enqueued", id),
                QueueChange::Decided { id } => ("decided", id),
            };
            sqlx::query("INSERT INTO approval_changes (kind, id) VALUES ($1, $2)")
                .bind(kind)
                .bind(id.as_str())
                .execute(&mut *$tx)
                .await
                .map(|_| ())
        }
    }};
}

impl AuditStore {
    async fn get_row(&self, id: &str) -> Result<Option<ApprovalRow>, AuditError> {
        Ok(on_pool!(&self.inner.backend, pool => {
            sqlx::query_as(&format!("{APPROVAL_COLUMNS} WHERE id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        }))
    }

    async fn enqueue_request(&self, request: &ApprovalRequest) -> Result<(), AuditError> {
        let body = serde_json::to_string(request).map_err(|e| AuditError::Unreadable {
            row: request.id.clone(),
            message: e.to_string(),
        })?;
        let change = QueueChange::Enqueued {
            id: request.id.clone(),
        };
        let result: Result<(), sqlx::Error> = on_pool!(&self.inner.backend, pool => {
            async {
                let mut tx = pool.begin_with(BEGIN).await?;
                sqlx::query(
                    "INSERT INTO approvals (id, proposal_id, requested_at, expires_at, status, \
                     request) VALUES ($1, $2, $3, $4, 'pending', $5)",
                )
                .bind(&request.id)
                .bind(&request.proposal_id)
                .bind(millis(request.requested_at))
                .bind(millis(request.expires_at))
                .bind(&body)
                .execute(&mut *tx)
                .await?;
                announce_in!(tx, IS_POSTGRES, &change)?;
                tx.commit().await
            }.await
        });
        match result {
            Ok(()) => {
                self.announce_local().await;
                Ok(())
            }
            Err(error) if is_unique_violation(&error) => Err(AuditError::Conflict(format!(
                "request {} is already queued",
                request.id
            ))),
            Err(error) => Err(error.into()),
        }
    }

    async fn decide_request(&self, approval: &Approval) -> Result<QueuedApproval, AuditError> {
        let now = Timestamp::now();
        let Some(row) = self.get_row(&approval.request_id).await? else {
            return Err(AuditError::Conflict(format!(
                "no request {}",
                approval.request_id
            )));
        };
        let current = to_queued(&row, now)?;
        if current.status != ApprovalStatus::Pending {
            return Err(AuditError::Conflict(format!(
                "request {} is already {}",
                approval.request_id,
                status_name(current.status)
            )));
        }
        approval
            .binds_to(&current.request)
            .map_err(AuditError::Conflict)?;
        let status = match approval.decision {
            ApprovalDecision::Approved => ApprovalStatus::Approved,
            ApprovalDecision::Denied => ApprovalStatus::Denied,
        };
        let body = serde_json::to_string(approval).map_err(|e| AuditError::Unreadable {
            row: approval.request_id.clone(),
            message: e.to_string(),
        })?;
        let change = QueueChange::Decided {
            id: approval.request_id.clone(),
        };
        let updated: u64 = on_pool!(&self.inner.backend, pool => {
            let mut tx = pool.begin_with(BEGIN).await?;
            // Only a pending, unexpired request changes: of racing decisions one wins.
            let done = sqlx::query(
                "UPDATE approvals SET status = $1, approval = $2, decided_at = $3 \
                 WHERE id = $4 AND status = 'pending' AND expires_at > $5",
            )
            .bind(status_name(status))
            .bind(&body)
            .bind(millis(approval.decided_at))
            .bind(&approval.request_id)
            .bind(millis(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done == 1 {
                announce_in!(tx, IS_POSTGRES, &change)?;
            }
            tx.commit().await?;
            done
        });
        if updated != 1 {
            return Err(AuditError::Conflict(format!(
                "request {} was decided by someone else or expired",
                approval.request_id
            )));
        }
        self.announce_local().await;
        Ok(QueuedApproval {
            request: current.request,
            status,
            approval: Some(approval.clone()),
        })
    }
}

/// Feeds `subscribe()`: LISTEN on PostgreSQL, polling `approval_changes` on SQLite.
async fn start_change_feed(
    backend: &Backend,
    changes: broadcast::Sender<QueueChange>,
    mut shutdown: oneshot::Receiver<()>,
    poke: Arc<Notify>,
    interval: Duration,
) -> Result<(), AuditError> {
    match backend {
        #[cfg(feature = "sqlite")]
        Backend::Sqlite(pool) => {
            let pool = pool.clone();
            let mut last: i64 =
                sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM approval_changes")
                    .fetch_one(&pool)
                    .await?;
            let mut pruned_at = last;
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = &mut shutdown => break,
                        () = poke.notified() => {}
                        () = tokio::time::sleep(interval) => {}
                    }
                    let rows: Result<Vec<(i64, String, String)>, _> = sqlx::query_as(
                        "SELECT seq, kind, id FROM approval_changes WHERE seq > $1 ORDER BY seq",
                    )
                    .bind(last)
                    .fetch_all(&pool)
                    .await;
                    let Ok(rows) = rows else { continue };
                    if last - pruned_at > 10_000 {
                        // Keep the change log short; no instance lags this far behind.
                        pruned_at = last;
                        let _ = sqlx::query("DELETE FROM approval_changes WHERE seq < $1")
                            .bind(last - 100_000)
                            .execute(&pool)
                            .await;
                    }
                    for (seq, kind, id) in rows {
                        last = seq;
                        let change = if kind == "decided" {
                            QueueChange::Decided { id }
                        } else {
                            QueueChange::Enqueued { id }
                        };
                        let _ = changes.send(change);
                    }
                }
            });
            Ok(())
        }
        #[cfg(feature = "postgres")]
        Backend::Postgres(pool) => {
            let _ = (poke, interval);
            let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
            listener.listen(NOTIFY_CHANNEL).await?;
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = &mut shutdown => break,
                        received = listener.recv() => match received {
                            Ok(notification) => {
                                if let Ok(change) =
                                    serde_json::from_str::<QueueChange>(notification.payload())
                                {
                                    let _ = changes.send(change);
                                }
                            }
                            Err(error) => {
                                tracing::warn!(%error, "approval queue listener failed; retrying");
                                tokio::time::sleep(Duration::from_millis(500)).await;
                            }
                        }
                    }
                }
            });
            Ok(())
        }
    }
}

#[async_trait]
impl ApprovalStore for AuditStore {
    async fn enqueue(&self, request: &ApprovalRequest) -> Result<(), StoreError> {
        Ok(self.enqueue_request(request).await?)
    }

    async fn get(&self, id: &str) -> Result<Option<QueuedApproval>, StoreError> {
        let now = Timestamp::now();
        let row = self.get_row(id).await?;
        Ok(row.map(|r| to_queued(&r, now)).transpose()?)
    }

    async fn pending(&self, now: Timestamp) -> Result<Vec<QueuedApproval>, StoreError> {
        let rows: Vec<ApprovalRow> = on_pool!(&self.inner.backend, pool => {
            sqlx::query_as(&format!(
                "{APPROVAL_COLUMNS} WHERE status = 'pending' AND expires_at > $1 \
                 ORDER BY requested_at, id"
            ))
            .bind(millis(now))
            .fetch_all(pool)
            .await
            .map_err(AuditError::from)?
        });
        Ok(rows
            .iter()
            .map(|r| to_queued(r, now))
            .collect::<Result<_, _>>()?)
    }

    async fn history(&self, limit: usize) -> Result<Vec<QueuedApproval>, StoreError> {
        let now = Timestamp::now();
        let rows: Vec<ApprovalRow> = on_pool!(&self.inner.backend, pool => {
            sqlx::query_as(&format!(
                "{APPROVAL_COLUMNS} WHERE status <> 'pending' OR expires_at <= $1 \
                 ORDER BY COALESCE(decided_at, expires_at) DESC, id LIMIT $2"
            ))
            .bind(millis(now))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(pool)
            .await
            .map_err(AuditError::from)?
        });
        Ok(rows
            .iter()
            .map(|r| to_queued(r, now))
            .collect::<Result<_, _>>()?)
    }

    async fn decide(&self, approval: &Approval) -> Result<QueuedApproval, StoreError> {
        Ok(self.decide_request(approval).await?)
    }

    fn subscribe(&self) -> broadcast::Receiver<QueueChange> {
        self.inner.changes.subscribe()
    }
}

// ---------------------------------------------------------------------------------------------
// Fleet limits

#[async_trait]
impl FleetLimits for AuditStore {
    async fn try_acquire(
        &self,
        key: &str,
        max: u64,
        window: Duration,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        Ok(self.acquire(key, max, window, now).await?)
    }
}

impl AuditStore {
    async fn acquire(
        &self,
        key: &str,
        max: u64,
        window: Duration,
        now: Timestamp,
    ) -> Result<bool, AuditError> {
        if max == 0 {
            return Ok(false);
        }
        let at = millis(now);
        let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        let since = at.saturating_sub(window_ms);
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        Ok(on_pool!(&self.inner.backend, pool => {
            let mut tx = pool.begin_with(BEGIN).await?;
            // Locks the key's row: callers on one key, in any process, take turns.
            sqlx::query(
                "INSERT INTO fleet_keys (key, touched) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET touched = excluded.touched",
            )
            .bind(key)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM fleet_uses WHERE key = $1 AND at_ms <= $2")
                .bind(key)
                .bind(since)
                .execute(&mut *tx)
                .await?;
            let used: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM fleet_uses WHERE key = $1")
                .bind(key)
                .fetch_one(&mut *tx)
                .await?;
            let admitted = used < max;
            if admitted {
                sqlx::query("INSERT INTO fleet_uses (key, at_ms) VALUES ($1, $2)")
                    .bind(key)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            admitted
        }))
    }
}
