//! The errors of this crate.

use preflight_core::{ErrorKind, VerifyError};

/// Why the LLM verifier could not be built or could not decide.
///
/// Every variant met during a verification becomes an `Err` of
/// [`Verifier::verify`](preflight_core::Verifier::verify), which every caller treats as the
/// fail-closed verdict: none of them is ever an allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    /// A setting is missing or invalid.
    #[error("invalid setting `{field}`: {message}")]
    Config {
        /// The setting (or environment variable) at fault.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A prompt template is invalid.
    #[error("{origin}:{line}: field `{field}`: {message}")]
    Template {
        /// The file (or `built-in`) the template came from.
        origin: String,
        /// The line of the template at fault (1-based).
        line: usize,
        /// The template (`system` or `user`) or placeholder at fault.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A dataset record could not be read.
    #[error("{origin}: record {record}: field `{field}`: {message}")]
    Dataset {
        /// The file (or other origin) read.
        origin: String,
        /// The record (1-based; 0 for the whole file).
        record: usize,
        /// The field at fault, or `.` for the whole record.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The endpoint could not be reached (connection refused, DNS, TLS, reset).
    #[error("could not reach {url}: {message}")]
    Connect {
        /// The endpoint.
        url: String,
        /// What failed.
        message: String,
    },
    /// The endpoint answered with an error status.
    #[error("{url} answered with status {status}: {body}")]
    Status {
        /// The endpoint.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the response body.
        body: String,
    },
    /// No usable answer arrived before the per-call deadline.
    #[error("no answer within the deadline of {deadline_ms} ms after {attempts} attempt(s)")]
    Deadline {
        /// The deadline.
        deadline_ms: u64,
        /// How many requests were sent.
        attempts: u32,
    },
    /// The answer is not a verdict: not JSON, a missing or unknown field, a value out of range.
    #[error("malformed answer: {0}")]
    Malformed(String),
    /// The answer was cut off by the token limit.
    #[error("truncated answer: the model hit its token limit ({0})")]
    Truncated(String),
    /// The model refused to answer, or answered without the verdict.
    #[error("refused answer: {0}")]
    Refused(String),
}

impl LlmError {
    /// Whether retrying the same request can help.
    pub fn kind(&self) -> ErrorKind {
        match self {
            LlmError::Connect { .. } | LlmError::Deadline { .. } => ErrorKind::Transient,
            LlmError::Status { status, .. } if *status == 429 || *status >= 500 => {
                ErrorKind::Transient
            }
            LlmError::Status { .. }
            | LlmError::Config { .. }
            | LlmError::Template { .. }
            | LlmError::Dataset { .. }
            | LlmError::Malformed(_)
            | LlmError::Truncated(_)
            | LlmError::Refused(_) => ErrorKind::Permanent,
        }
    }

    /// The core error this becomes, for the verifier named `verifier`.
    pub fn into_verify_error(self, verifier: &str) -> VerifyError {
        let verifier = verifier.to_string();
        match self {
            LlmError::Deadline { deadline_ms, .. } => VerifyError::Timeout {
                verifier,
                elapsed_ms: deadline_ms,
            },
            LlmError::Connect { .. } | LlmError::Status { .. } => VerifyError::Unavailable {
                verifier,
                message: self.to_string(),
            },
            LlmError::Malformed(_) | LlmError::Truncated(_) | LlmError::Refused(_) => {
                VerifyError::InvalidAnswer {
                    verifier,
                    message: self.to_string(),
                }
            }
            LlmError::Config { .. } | LlmError::Template { .. } | LlmError::Dataset { .. } => {
                VerifyError::Other {
                    verifier,
                    message: self.to_string(),
                }
            }
        }
    }
}

pub(crate) fn config(field: &str, message: impl Into<String>) -> LlmError {
    LlmError::Config {
        field: field.to_string(),
        message: message.into(),
    }
}
