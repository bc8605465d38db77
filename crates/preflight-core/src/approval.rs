//! People in the loop: the [`Approver`] trait and the shared approval queue.

use std::borrow::Cow;
use std::fmt;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::action::{Action, ActionDigest};
use crate::effect::Inspection;
use crate::store::StoreError;
use crate::time::Timestamp;
use crate::verdict::Verdict;

/// An escalated action waiting for a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRequest {
    /// The request's identifier.
    pub id: String,
    /// The proposal it belongs to (the key of its audit records).
    pub proposal_id: String,
    /// The digest of the exact action; an approval binds to it.
    pub digest: ActionDigest,
    /// The action, with the agent's reasoning and declarations.
    pub action: Action,
    /// What inspection derived: effects, environments, blast radius.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspection: Option<Inspection>,
    /// The verifiers' verdict, with each one's reasons.
    pub verdict: Verdict,
    /// When it was asked.
    pub requested_at: Timestamp,
    /// After this, the request counts as denied.
    pub expires_at: Timestamp,
}

impl ApprovalRequest {
    /// Whether the request has expired at `now`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires_at
    }
}

/// A person's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalDecision {
    /// The action may run, once.
    Approved,
    /// The action must not run.
    Denied,
}

impl fmt::Display for ApprovalDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ApprovalDecision::Approved => "approved",
            ApprovalDecision::Denied => "denied",
        })
    }
}

/// A person's decision on one request, bound to the exact action's digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// The request decided.
    pub request_id: String,
    /// The digest of the action the person saw; must equal the request's.
    pub digest: ActionDigest,
    /// Approved or denied.
    pub decision: ApprovalDecision,
    /// Who decided (the identity behind the approver's token, a terminal user, …).
    pub approver: String,
    /// Their comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// When.
    pub decided_at: Timestamp,
}

impl Approval {
    /// A decision on `request` by `approver`, now.
    pub fn new(
        request: &ApprovalRequest,
        decision: ApprovalDecision,
        approver: impl Into<String>,
    ) -> Self {
        Self {
            request_id: request.id.clone(),
            digest: request.digest,
            decision,
            approver: approver.into(),
            comment: None,
            decided_at: Timestamp::now(),
        }
    }

    /// Adds a comment.
    pub fn with_comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }

    /// Checks that this approval answers `request` for exactly its action, in time.
    pub fn binds_to(&self, request: &ApprovalRequest) -> Result<(), String> {
        if self.request_id != request.id {
            return Err(format!(
                "approval answers request {} but {} was asked",
                self.request_id, request.id
            ));
        }
        if self.digest != request.digest {
            return Err("approval was given for a different action (digest differs)".into());
        }
        if self.decided_at > request.expires_at {
            return Err("approval came after the request expired".into());
        }
        Ok(())
    }
}

/// Why an approver could not obtain a decision. The gate treats every error as a denial.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    /// Nobody decided before the request expired.
    #[error("approval request expired without a decision")]
    Expired,
    /// The approver cannot reach a person (no terminal, console down, webhook failed).
    #[error("no person can be asked: {0}")]
    Unavailable(String),
    /// The approval store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Asks a person to approve or deny an escalated action.
///
/// # Contract
/// - Show the person everything in the request: tool, raw input, derived effects, environment,
///   declared and derived blast radius, reasoning, and each verifier's reasons.
/// - Return an [`Approval`] bound to the request's id and digest; the gate rejects any other.
/// - Return `Err` when no decision can be had; the gate treats it as a denial. Never approve by
///   default.
/// - The gate drops the future at the request's expiry; be cancel-safe.
#[async_trait]
pub trait Approver: Send + Sync + fmt::Debug {
    /// A short name for logs and the audit trail.
    fn name(&self) -> Cow<'_, str> {
        Cow::Borrowed("approver")
    }

    /// Obtains a person's decision on `request`.
    async fn request(&self, request: &ApprovalRequest) -> Result<Approval, ApprovalError>;
}

#[async_trait]
impl<T: Approver + ?Sized> Approver for std::sync::Arc<T> {
    fn name(&self) -> Cow<'_, str> {
        (**self).name()
    }
    async fn request(&self, request: &ApprovalRequest) -> Result<Approval, ApprovalError> {
        (**self).request(request).await
    }
}

#[async_trait]
impl<T: Approver + ?Sized> Approver for Box<T> {
    fn name(&self) -> Cow<'_, str> {
        (**self).name()
    }
    async fn request(&self, request: &ApprovalRequest) -> Result<Approval, ApprovalError> {
        (**self).request(request).await
    }
}

/// Where a queued request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStatus {
    /// Waiting for a person.
    Pending,
    /// Approved.
    Approved,
    /// Denied.
    Denied,
    /// Nobody decided in time: counts as denied.
    Expired,
}

/// A queued request and its decision, if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct QueuedApproval {
    /// The request.
    pub request: ApprovalRequest,
    /// Where it stands.
    pub status: ApprovalStatus,
    /// The decision, once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
}

/// A change in the queue, for live updates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QueueChange {
    /// A request was added.
    Enqueued {
        /// Its id.
        id: String,
    },
    /// A request was decided (or expired).
    Decided {
        /// Its id.
        id: String,
    },
}

/// The shared queue of approval requests: in memory for one process, or in the audit store so
/// that a restart loses none and several console instances serve one queue.
///
/// # Contract
/// - `decide` succeeds at most once per request: a second decision, a decision on an expired
///   request, or one whose digest differs from the request's is refused with
///   [`StoreError::Conflict`].
/// - `get` reports a pending request whose expiry has passed as [`ApprovalStatus::Expired`].
/// - `subscribe` delivers changes made through any instance sharing the store; a backend
///   without push may deliver them by polling, later but never never.
#[async_trait]
pub trait ApprovalStore: Send + Sync + fmt::Debug {
    /// Adds a pending request.
    async fn enqueue(&self, request: &ApprovalRequest) -> Result<(), StoreError>;
    /// One request and where it stands.
    async fn get(&self, id: &str) -> Result<Option<QueuedApproval>, StoreError>;
    /// Requests still pending and not expired at `now`, oldest first.
    async fn pending(&self, now: Timestamp) -> Result<Vec<QueuedApproval>, StoreError>;
    /// Decided or expired requests, newest first, at most `limit`.
    async fn history(&self, limit: usize) -> Result<Vec<QueuedApproval>, StoreError>;
    /// Records a decision (see the contract).
    async fn decide(&self, approval: &Approval) -> Result<QueuedApproval, StoreError>;
    /// Live changes.
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<QueueChange>;
}

#[async_trait]
impl<T: ApprovalStore + ?Sized> ApprovalStore for std::sync::Arc<T> {
    async fn enqueue(&self, request: &ApprovalRequest) -> Result<(), StoreError> {
        (**self).enqueue(request).await
    }
    async fn get(&self, id: &str) -> Result<Option<QueuedApproval>, StoreError> {
        (**self).get(id).await
    }
    async fn pending(&self, now: Timestamp) -> Result<Vec<QueuedApproval>, StoreError> {
        (**self).pending(now).await
    }
    async fn history(&self, limit: usize) -> Result<Vec<QueuedApproval>, StoreError> {
        (**self).history(limit).await
    }
    async fn decide(&self, approval: &Approval) -> Result<QueuedApproval, StoreError> {
        (**self).decide(approval).await
    }
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<QueueChange> {
        (**self).subscribe()
    }
}
