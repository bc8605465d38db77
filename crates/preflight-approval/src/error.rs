//! The crate's error type.

use preflight_core::{ApprovalError, StoreError};

/// What can go wrong while asking a person.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting is missing or invalid; names the setting.
    #[error("invalid setting `{field}`: {message}")]
    Config {
        /// The setting at fault, such as `webhook.url` or `tokens`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The approval store failed.
    #[error("approval store: {0}")]
    Store(#[from] StoreError),
    /// The webhook could not be delivered.
    #[error("webhook to {url} failed: {message}")]
    Webhook {
        /// Where it was sent.
        url: String,
        /// Why it failed.
        message: String,
    },
    /// Reading from or writing to the terminal failed.
    #[error("terminal: {0}")]
    Terminal(String),
}

impl Error {
    pub(crate) fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Whether retrying the same operation can help.
    pub fn kind(&self) -> preflight_core::ErrorKind {
        match self {
            Error::Store(e) => e.kind(),
            Error::Webhook { .. } | Error::Terminal(_) => preflight_core::ErrorKind::Transient,
            Error::Config { .. } => preflight_core::ErrorKind::Permanent,
        }
    }
}

impl From<Error> for ApprovalError {
    fn from(error: Error) -> Self {
        match error {
            Error::Store(e) => ApprovalError::Store(e),
            other => ApprovalError::Unavailable(other.to_string()),
        }
    }
}
