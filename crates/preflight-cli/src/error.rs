//! The binary's one error type.

/// Why a command could not do its job. Every variant exits with code 2 ([`EXIT_ERROR`]).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The configuration (file, flags, environment) is incomplete or inconsistent.
    #[error("configuration: {0}")]
    Config(String),
    /// Input (an action, a hook payload, a request body) could not be read.
    #[error("{0}")]
    Input(String),
    /// The policy could not be loaded.
    #[error("{0}")]
    Policy(String),
    /// The audit store failed.
    #[error("audit store: {0}")]
    Audit(String),
    /// A verifier could not be built.
    #[error("verifier: {0}")]
    Verifier(String),
    /// The gate failed; nothing was allowed.
    #[error("{0}")]
    Gate(String),
    /// Reading or writing a file, a socket or a stream failed.
    #[error("{context}: {message}")]
    Io {
        /// What was being done.
        context: String,
        /// What failed.
        message: String,
    },
    /// The decision did not come in time.
    #[error("no decision within {0} ms")]
    Timeout(u64),
    /// An input past the size limit: refused, with what is kept of it for the audit trail.
    #[error("{}", input.message(what))]
    Oversized {
        /// What the input was (`standard input`, a file name, `the hook payload`).
        what: String,
        /// Its size, digest and preview.
        input: Box<crate::oversized::Oversized>,
    },
    /// The MCP proxy failed.
    #[error("mcp proxy: {0}")]
    Mcp(String),
}

impl CliError {
    /// An I/O error with what was being done.
    pub fn io(context: impl Into<String>, error: impl std::fmt::Display) -> Self {
        Self::Io {
            context: context.into(),
            message: error.to_string(),
        }
    }
}

/// Exit code: success; for `check`, the action is allowed.
pub const EXIT_OK: u8 = 0;
/// Exit code: `check` denied the action; `eval`, `policy test` or `audit verify` found a
/// failure; `policy lint` found an error.
pub const EXIT_DENY: u8 = 1;
/// Exit code: the command could not run (bad input, bad configuration, internal error,
/// timeout). The hook always uses it for errors: Claude Code then blocks the call.
pub const EXIT_ERROR: u8 = 2;
/// Exit code: `check` escalated the action to a person.
pub const EXIT_ESCALATE: u8 = 3;
