//! The audit trail and fleet-wide limits: traits implemented by storage backends.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::action::{Action, ActionDigest};
use crate::approval::Approval;
use crate::effect::Inspection;
use crate::time::Timestamp;
use crate::verdict::{Decision, Verdict};

/// Why a store could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The backend could not be reached or failed (I/O, connection, disk full).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The request conflicts with the stored state (already decided, expired, digest differs).
    #[error("conflict: {0}")]
    Conflict(String),
    /// Stored data is not what it should be (a broken chain, an unreadable row).
    #[error("corrupt store: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Whether retrying can help.
    pub fn kind(&self) -> crate::verifier::ErrorKind {
        match self {
            StoreError::Unavailable(_) => crate::verifier::ErrorKind::Transient,
            StoreError::Conflict(_) | StoreError::Corrupt(_) => {
                crate::verifier::ErrorKind::Permanent
            }
        }
    }
}

/// One record of the audit trail.
///
/// The strings and payloads are shared (`Arc`), because one action's records repeat its
/// proposal id, agent and tool, and a sink may keep the records it is given: cloning a record
/// copies no data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditEvent {
    /// The proposal this record belongs to; all records of one action share it.
    pub proposal_id: Arc<str>,
    /// The action's digest.
    pub digest: ActionDigest,
    /// When it happened.
    pub at: Timestamp,
    /// The proposing agent, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<Arc<str>>,
    /// The tool called.
    pub tool: Arc<str>,
    /// What happened.
    pub kind: AuditKind,
}

impl AuditEvent {
    /// The records of an action decided outside a gate (refused before any verifier saw it):
    /// its proposal, then `kinds`, all under one new proposal id, stamped now, naming the
    /// action's agent and tool.
    pub fn proposal(action: Action, kinds: impl IntoIterator<Item = AuditKind>) -> Vec<Self> {
        let proposal_id: Arc<str> = Arc::from(crate::time::new_id());
        let digest = action.digest();
        let agent: Option<Arc<str>> = action.agent.id.as_deref().map(Arc::from);
        let tool: Arc<str> = Arc::from(action.tool.as_str());
        let at = Timestamp::now();
        let event = |kind| Self {
            proposal_id: Arc::clone(&proposal_id),
            digest,
            at,
            agent: agent.clone(),
            tool: Arc::clone(&tool),
            kind,
        };
        let proposed = AuditKind::Proposed {
            action: Arc::new(action),
            inspection: None,
        };
        std::iter::once(proposed).chain(kinds).map(event).collect()
    }
}

/// What an audit record says happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuditKind {
    /// An agent proposed an action.
    Proposed {
        /// The action.
        action: Arc<Action>,
        /// What inspection derived.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        inspection: Option<Arc<Inspection>>,
    },
    /// The verifiers decided.
    Verified {
        /// Their verdict, with each verifier's part.
        verdict: Arc<Verdict>,
    },
    /// A person was asked.
    ApprovalRequested {
        /// The request's id.
        request_id: String,
        /// When it expires.
        expires_at: Timestamp,
    },
    /// A person decided (or nobody did in time).
    ApprovalDecided {
        /// The decision.
        approval: Approval,
    },
    /// A permit was handed out: the side effect may run once.
    Permitted {
        /// The permit's id.
        permit_id: Arc<str>,
        /// When it expires.
        expires_at: Timestamp,
    },
    /// The action was refused.
    Refused {
        /// Deny, or escalate where no person could be asked.
        decision: Decision,
        /// Why.
        message: String,
    },
    /// The side effect ran.
    Completed {
        /// How it went.
        outcome: Outcome,
    },
}

impl AuditKind {
    /// The record type's name, as serialized.
    pub fn type_name(&self) -> &'static str {
        match self {
            AuditKind::Proposed { .. } => "proposed",
            AuditKind::Verified { .. } => "verified",
            AuditKind::ApprovalRequested { .. } => "approval_requested",
            AuditKind::ApprovalDecided { .. } => "approval_decided",
            AuditKind::Permitted { .. } => "permitted",
            AuditKind::Refused { .. } => "refused",
            AuditKind::Completed { .. } => "completed",
        }
    }
}

/// How a side effect went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    /// Whether it succeeded.
    pub success: bool,
    /// The error, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How long it ran, in milliseconds.
    pub duration_ms: u64,
}

/// The append-only audit trail.
///
/// # Contract
/// - `append` is all-or-nothing, and durable when it returns `Ok`: the gate hands out a permit
///   only after the records that justify it are appended, so an acknowledged record must
///   survive a crash.
/// - Records are kept in the order appended; a tamper-evident backend chains them.
/// - On `Err` the gate does not run the side effect.
#[async_trait]
pub trait AuditSink: Send + Sync + fmt::Debug {
    /// Appends records, durably.
    async fn append(&self, events: &[AuditEvent]) -> Result<(), StoreError>;
}

#[async_trait]
impl<T: AuditSink + ?Sized> AuditSink for std::sync::Arc<T> {
    async fn append(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        (**self).append(events).await
    }
}

#[async_trait]
impl<T: AuditSink + ?Sized> AuditSink for Box<T> {
    async fn append(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        (**self).append(events).await
    }
}

/// Fleet-wide limits: atomic counters over a sliding window ("at most 3 production deletes an
/// hour across all agents").
///
/// # Contract
/// - `try_acquire` is atomic across every process sharing the store: of any number of
///   concurrent callers on one key, at most `max` are admitted within any window.
/// - An `Err` must be treated as "not admitted".
#[async_trait]
pub trait FleetLimits: Send + Sync + fmt::Debug {
    /// Counts one use of `key` at `now` if fewer than `max` uses happened in the `window`
    /// before it; returns whether it was admitted.
    async fn try_acquire(
        &self,
        key: &str,
        max: u64,
        window: Duration,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
}

#[async_trait]
impl<T: FleetLimits + ?Sized> FleetLimits for std::sync::Arc<T> {
    async fn try_acquire(
        &self,
        key: &str,
        max: u64,
        window: Duration,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        (**self).try_acquire(key, max, window, now).await
    }
}
