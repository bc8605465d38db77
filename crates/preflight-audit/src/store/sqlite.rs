//! The SQLite backend: connecting, the writer's batch, and keeping the write-ahead log flushed
//! and short.

use std::sync::Arc;
#[cfg(feature = "sqlite")]
use std::time::Duration;

#[cfg(feature = "sqlite")]
use preflight_core::Timestamp;
#[cfg(feature = "sqlite")]
use sqlx::QueryBuilder;

use super::Backend;
#[cfg(feature = "sqlite")]
use super::backend::{ConnectOptions, Connected};
#[cfg(feature = "sqlite")]
use super::rows::millis;
use super::writer::Job;
#[cfg(feature = "sqlite")]
use super::writer::{Chained, Writing, chain, chunk_sizes, push_checkpoints};
use crate::error::AuditError;
#[cfg(feature = "sqlite")]
use crate::record::Hash;

/// Connects to the SQLite file named by `url`, creating it when missing if `options.create`.
#[cfg(feature = "sqlite")]
pub(crate) async fn connect(
    url: &str,
    options: &ConnectOptions<'_>,
    invalid: impl Fn(String) -> AuditError,
) -> Result<Connected, AuditError> {
    let max_connections = options.max_connections;
    let (one_shot, create, witness) = (options.one_shot, options.create, options.witness);
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
        .create_if_missing(create)
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
        .pragma("wal_autocheckpoint", "0")
        // When a writer starts the log over after a checkpoint, it cuts the file back to this
        // length: the file's length then says how much log the next open would read (see
        // `checkpoint_a_long_log`), rather than how long it once was.
        .pragma("journal_size_limit", LOG_KEPT_BYTES.to_string());
    let file = options.get_filename().to_path_buf();
    let exists = file.exists();
    if !create && !exists {
        return Err(AuditError::Missing(match witness.filter(|w| w.exists()) {
            Some(witness) => format!(
                "the trail named by the witness is missing: {} does not exist, but the \
                 witness {} holds its tree heads",
                file.display(),
                witness.path().display()
            ),
            None => format!("no audit trail at {}", file.display()),
        }));
    }
    if !exists {
        // Created once, here: every connection after this one only opens the trail, so that
        // a connection a pool opens later (or one still opening as the store is dropped)
        // can never recreate a trail that was deleted as an empty one.
        use sqlx::Connection as _;
        sqlx::SqliteConnection::connect_with(&options.clone().create_if_missing(true))
            .await?
            .close()
            .await?;
    }
    let options = options.create_if_missing(false);
    let keys_file = format!("{}-keys", options.get_filename().display());
    let wal = std::path::PathBuf::from(format!("{}-wal", options.get_filename().display()));
    // These connections write only the keys file, which may checkpoint itself.
    let keyed_options = options.clone().pragma("wal_autocheckpoint", "1000");
    if one_shot {
        // One decision reads a handful of pages: mapping the file costs more in page faults
        // than it saves. And each open reads the whole log to rebuild its index (no other
        // connection holds it): the log is kept short, checkpointed on open past a few
        // decisions' worth.
        let options = options
            .pragma("mmap_size", "0")
            .pragma("journal_size_limit", ONE_SHOT_LOG_KEPT_BYTES.to_string());
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        if schema_is_behind(&pool).await {
            SQLITE_MIGRATOR.run(&pool).await?;
        }
        checkpoint_a_long_log(&pool, &wal, ONE_SHOT_LONG_LOG_BYTES).await;
        return Ok(Connected {
            backend: Backend::Sqlite(pool.clone()),
            keyed: Backend::Sqlite(pool),
            wal: Some(wal),
        });
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(max_connections)
        .connect_with(options)
        .await?;
    SQLITE_MIGRATOR.run(&pool).await?;
    checkpoint_a_long_log(&pool, &wal, LONG_LOG_BYTES).await;
    let keyed = SqlitePoolOptions::new()
        .max_connections(max_connections.clamp(1, 4))
        .after_connect(move |connection, _| {
            let keys_file = keys_file.clone();
            Box::pin(async move {
                // The keys file is derived data and may be created; an existing empty file
                // is an empty database, which a connection not allowed to create attaches.
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&keys_file)
                    .map_err(sqlx::Error::Io)?;
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
    Ok(Connected {
        backend: Backend::Sqlite(pool),
        keyed: Backend::Sqlite(keyed),
        wal: Some(wal),
    })
}

/// Whether the schema lacks a migration this build ships (one query; the migrator itself takes
/// a lock and reads every applied migration). Unknown counts as behind.
#[cfg(feature = "sqlite")]
async fn schema_is_behind(pool: &sqlx::SqlitePool) -> bool {
    let latest = SQLITE_MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    let applied: Result<Option<i64>, _> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool)
            .await;
    !matches!(applied, Ok(Some(version)) if version >= latest)
}

#[cfg(feature = "sqlite")]
pub(super) static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The write-ahead log length past which opening the store checkpoints it first.
#[cfg(feature = "sqlite")]
const LONG_LOG_BYTES: u64 = 4 << 20;

/// The length a write-ahead log is cut back to when it starts over (`journal_size_limit`):
/// well under [`LONG_LOG_BYTES`], so that a log just started over is not checkpointed again.
#[cfg(feature = "sqlite")]
const LOG_KEPT_BYTES: u64 = 1 << 20;

/// [`LONG_LOG_BYTES`] for a one-shot store: about six decisions of a hook. Rebuilding the
/// log's index on open reads all of it, which a process making one decision pays every time;
/// a checkpoint every few decisions costs less.
#[cfg(feature = "sqlite")]
const ONE_SHOT_LONG_LOG_BYTES: u64 = 256 << 10;

/// [`LOG_KEPT_BYTES`] for a one-shot store.
#[cfg(feature = "sqlite")]
const ONE_SHOT_LOG_KEPT_BYTES: u64 = 64 << 10;

/// Checkpoints the log when it has grown long. The writer checkpoints every few commits, but a
/// process that records one action and exits (a hook) never gets there: without this the log
/// would grow by every such process, and every later open would read it all.
#[cfg(feature = "sqlite")]
async fn checkpoint_a_long_log(pool: &sqlx::SqlitePool, wal: &std::path::Path, long_past: u64) {
    let long = std::fs::metadata(wal).is_ok_and(|meta| meta.len() > long_past);
    if long {
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(pool)
            .await
        {
            tracing::warn!(%error, "WAL checkpoint failed; the next open retries");
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
pub(super) struct Syncer {
    batches: std::sync::mpsc::Sender<(Vec<Job>, i64)>,
    /// The last record flushed, and whether a flush failed.
    flushed: tokio::sync::watch::Sender<(i64, bool)>,
    failed: Arc<std::sync::Mutex<Option<AuditError>>>,
}

impl Syncer {
    pub(super) fn start(wal: std::path::PathBuf) -> Self {
        let (batches, committed) = std::sync::mpsc::channel::<(Vec<Job>, i64)>();
        let (flushed, _) = tokio::sync::watch::channel((0_i64, false));
        let announce = flushed.clone();
        let failed = Arc::new(std::sync::Mutex::new(None));
        let failure = Arc::clone(&failed);
        let spawned = std::thread::Builder::new()
            .name("preflight-audit-sync".into())
            .spawn(move || {
                let mut log = None;
                while let Ok((first, mut through)) = committed.recv() {
                    let mut jobs = first;
                    while let Ok((more, seq)) = committed.try_recv() {
                        jobs.extend(more);
                        through = through.max(seq);
                    }
                    let result = flush(&wal, &mut log);
                    announce.send_modify(|state| match &result {
                        Ok(()) => state.0 = state.0.max(through),
                        Err(_) => state.1 = true,
                    });
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
            flushed.send_modify(|state| state.1 = true);
            if let Ok(mut failed) = failed.lock() {
                *failed = Some(AuditError::NotDurable(format!(
                    "the flushing thread could not start: {error}"
                )));
            }
        }
        Self {
            batches,
            flushed,
            failed,
        }
    }

    /// Hands a committed batch over to be flushed and answered.
    pub(super) fn flush(&self, batch: Vec<Job>, through: i64) {
        if let Err(std::sync::mpsc::SendError((batch, _))) = self.batches.send((batch, through)) {
            for job in batch {
                let _ = job.done.send(Err(AuditError::NotDurable(
                    "the flushing thread has stopped".into(),
                )));
            }
        }
    }

    /// Follows the last record flushed (and whether a flush failed).
    pub(super) fn flushed(&self) -> tokio::sync::watch::Receiver<(i64, bool)> {
        self.flushed.subscribe()
    }

    /// Why recording stopped, after a failed flush.
    pub(super) fn failure(&self) -> Option<AuditError> {
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
pub(super) fn flush(
    wal: &std::path::Path,
    log: &mut Option<std::fs::File>,
) -> Result<(), AuditError> {
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

/// Copies a SQLite WAL back into the database from a pool connection in the background, every
/// few commits, so that the WAL stays small while no commit waits for it. A passive checkpoint
/// never blocks the writer; one runs at a time.
#[derive(Default)]
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(super) struct WalCheckpoints {
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

    pub(super) fn after_commit(&mut self, backend: &Backend) {
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

/// Appends to `q` one multi-row insert of `rows` into the records table (SQLite; PostgreSQL
/// inserts any number of rows from one array per column).
#[cfg(feature = "sqlite")]
pub(super) fn push_insert<'q>(q: &mut QueryBuilder<'q, sqlx::Sqlite>, rows: &'q [Chained<'q>]) {
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

/// The SQLite writer's batch, in as few calls as the statement cache allows. The transaction
/// is opened by hand, not by `sqlx`'s `Transaction`: after any failure the writer closes the
/// connection, which rolls back whatever is open.
#[cfg(feature = "sqlite")]
pub(super) async fn write_batch_sqlite(
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

#[cfg(test)]
mod syncer_tests {
    use super::*;
    use tokio::sync::oneshot;

    fn job() -> (Job, oneshot::Receiver<Result<(), AuditError>>) {
        let (done, answer) = oneshot::channel();
        let job = Job {
            records: Vec::new(),
            done,
            seal: false,
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
        syncer.flush(vec![first, second], 2);
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
        syncer.flush(vec![first], 1);
        assert!(matches!(answer.blocking_recv(), Ok(Ok(()))));
        assert!(syncer.failure().is_none());
    }
}
