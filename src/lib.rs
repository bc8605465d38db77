#![doc = include_str!("../README.md")]

pub use preflight_core::*;

/// Derives what an action really does: shell, SQL, paths, HTTP, cloud CLIs, Terraform, kubectl.
#[cfg(feature = "inspect")]
pub use preflight_inspect as inspect;

/// The rule-based verifier: scope policies as files.
#[cfg(feature = "rules")]
pub use preflight_rules as rules;

/// The LLM-backed verifier.
#[cfg(feature = "llm")]
pub use preflight_llm as llm;

/// Human approvers: web console, terminal, webhook.
#[cfg(feature = "approval")]
pub use preflight_approval as approval;

/// The tamper-evident audit trail on SQLite and PostgreSQL.
#[cfg(feature = "audit")]
pub use preflight_audit as audit;

/// The MCP proxy.
#[cfg(feature = "mcp")]
pub use preflight_mcp as mcp;
