//! The crate's one error type.

use preflight_core::{ErrorKind, StoreError};

/// Why the audit store could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// The store URL could not be understood.
    #[error("invalid store url `{url}`: {message}")]
    InvalidUrl {
        /// The URL given (any password removed).
        url: String,
        /// What is wrong with it.
        message: String,
    },
    /// The URL names a backend this build does not include.
    #[error("the `{0}` backend is not compiled in: enable the crate feature `{0}`")]
    BackendDisabled(String),
    /// The database failed or could not be reached.
    #[error("database error: {0}")]
    Database(String),
    /// The schema could not be brought up to date.
    #[error("migration failed: {0}")]
    Migration(String),
    /// A stored row could not be read back.
    #[error("unreadable row {row}: {message}")]
    Unreadable {
        /// The row (sequence number or request id).
        row: String,
        /// Why.
        message: String,
    },
    /// A request conflicts with the stored state.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Writing an export failed.
    #[error("export could not be written: {0}")]
    Io(String),
    /// The background writer stopped; nothing more can be recorded.
    #[error("the audit writer has stopped")]
    WriterStopped,
    /// Records were committed but could not be flushed to disk. Whether they survive a power
    /// cut is unknown, so the store records nothing more until it is opened again.
    #[error("the audit trail could not be flushed to disk: {0}")]
    NotDurable(String),
    /// The trail does not exist, and was not to be created (see
    /// `AuditStoreBuilder::must_exist`). The message says when a witness names it.
    #[error("{0}")]
    Missing(String),
    /// A signing key could not be used.
    #[error("invalid signing key: {0}")]
    Key(String),
    /// No proof exists for what was asked: a record outside the tree, a tree larger than the
    /// trail, or sizes in the wrong order.
    #[error("no proof: {0}")]
    NoProof(String),
}

impl AuditError {
    /// Whether retrying can help.
    pub fn kind(&self) -> ErrorKind {
        match self {
            AuditError::Database(_) | AuditError::Io(_) | AuditError::WriterStopped => {
                ErrorKind::Transient
            }
            AuditError::InvalidUrl { .. }
            | AuditError::BackendDisabled(_)
            | AuditError::Migration(_)
            | AuditError::Unreadable { .. }
            | AuditError::Conflict(_)
            | AuditError::NotDurable(_)
            | AuditError::Missing(_)
            | AuditError::Key(_)
            | AuditError::NoProof(_) => ErrorKind::Permanent,
        }
    }
}

impl From<sqlx::Error> for AuditError {
    fn from(error: sqlx::Error) -> Self {
        AuditError::Database(error.to_string())
    }
}

impl From<sqlx::migrate::MigrateError> for AuditError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        AuditError::Migration(error.to_string())
    }
}

impl From<AuditError> for StoreError {
    fn from(error: AuditError) -> Self {
        match error {
            AuditError::Conflict(message) => StoreError::Conflict(message),
            AuditError::Unreadable { .. } => StoreError::Corrupt(error.to_string()),
            other => StoreError::Unavailable(other.to_string()),
        }
    }
}
