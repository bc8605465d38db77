//! The two databases behind one store, and the URL that picks one.

use crate::error::AuditError;

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

/// The URL with any password removed, for messages.
pub(super) fn redact(url: &str) -> String {
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
pub(super) struct Connected {
    /// The pool for everything.
    pub(super) backend: Backend,
    /// The connections that see the key index (on SQLite a pool of its own, with the keys file
    /// attached); in a one-shot store, the pool for everything.
    pub(super) keyed: Backend,
    /// SQLite: the trail's write-ahead log, which the writer flushes itself (see `Syncer`).
    pub(super) wal: Option<std::path::PathBuf>,
}

/// How to connect.
pub(super) struct ConnectOptions<'a> {
    pub(super) max_connections: u32,
    /// Create a SQLite file when missing.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(super) create: bool,
    /// One connection, no key index, migrations only when the schema is behind.
    pub(super) one_shot: bool,
    /// The witness, named in the error when the trail it witnesses is missing.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(super) witness: Option<&'a crate::witness::Witness>,
}

/// Connects to the database at `url`.
pub(super) async fn connect(
    url: &str,
    options: &ConnectOptions<'_>,
) -> Result<Connected, AuditError> {
    let invalid = |message: String| AuditError::InvalidUrl {
        url: redact(url),
        message,
    };
    if url.starts_with("sqlite:") {
        #[cfg(feature = "sqlite")]
        return super::sqlite::connect(url, options, invalid).await;
        #[cfg(not(feature = "sqlite"))]
        return Err(AuditError::BackendDisabled("sqlite".into()));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        return super::postgres::connect(url, options, invalid).await;
        #[cfg(not(feature = "postgres"))]
        return Err(AuditError::BackendDisabled("postgres".into()));
    }
    Err(invalid(
        "expected sqlite://path or postgres://user:password@host:port/database".into(),
    ))
}
