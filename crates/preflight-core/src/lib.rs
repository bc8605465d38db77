#![doc = include_str!("../README.md")]

mod action;
mod approval;
pub mod compose;
pub mod corpus;
mod effect;
mod gate;
mod scope;
mod store;
#[cfg(feature = "test-util")]
pub mod testkit;
mod time;
mod verdict;
mod verifier;
pub mod visible;

pub use action::field_name;
pub use action::{
    Action, ActionDigest, ActionError, Agent, BlastRadius, Context, Declared, ToolAnnotations,
};
pub use approval::{
    Approval, ApprovalDecision, ApprovalError, ApprovalRequest, ApprovalStatus, ApprovalStore,
    Approver, QueueChange, QueuedApproval,
};
pub use compose::{All, Continue, MinConfidence, Quorum, Stack, merge};
pub use effect::{Effect, Inspection, Inspector, Operation};
pub use gate::{
    Checked, DEFAULT_PERMIT_TTL, Gate, GateBuildError, GateBuilder, GateError, Gated, Permit,
    PermitError,
};
pub use scope::{ResourcePattern, Scope, ScopeEntry};
pub use store::{AuditEvent, AuditKind, AuditSink, FleetLimits, Outcome, StoreError};
pub use time::{Timestamp, from_hex, new_id, new_secret_id, same_secret, to_hex};
pub use verdict::{Decision, FailClosed, Reason, ReasonKind, Usage, Verdict};
pub use verifier::{
    BoxVerifier, ErrorKind, FailClosedVerifier, Fixed, Named, Proposal, Verifier, VerifierExt,
    VerifyError, WithTimeout, verify_fail_closed,
};

// Re-exported so that implementors use the same version as the trait.
pub use async_trait::async_trait;
