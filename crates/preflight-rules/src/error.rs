//! The crate's error type.

/// Why a policy could not be loaded, tested or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    /// The policy text is invalid: names the file, line, column and field.
    #[error("{origin}:{line}:{column}: field `{field}`: {message}")]
    Invalid {
        /// The file (or other origin) read.
        origin: String,
        /// The line (1-based; 0 when unknown).
        line: usize,
        /// The column (1-based; 0 when unknown).
        column: usize,
        /// The field at fault, as a path (`rule[2].resources[0]`).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        message: String,
    },
    /// The policy's own tests failed while loading it.
    #[error("{origin}: {failed} of {total} policy tests failed: {first}")]
    TestsFailed {
        /// The file (or other origin) read.
        origin: String,
        /// How many tests failed.
        failed: usize,
        /// How many tests there are.
        total: usize,
        /// The first failure.
        first: String,
    },
    /// A corpus file could not be read.
    #[error("{0}")]
    Corpus(String),
}
