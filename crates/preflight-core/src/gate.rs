//! The [`Gate`]: verify, ask a person when needed, record, then hand the side effect a
//! [`Permit`] — and only then.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::Instrument;

use crate::action::{Action, ActionDigest, ActionError};
use crate::approval::{Approval, ApprovalDecision, ApprovalRequest, Approver};
use crate::compose::verify_within;
use crate::effect::{Inspection, Inspector};
use crate::store::{AuditEvent, AuditKind, AuditSink, Outcome, StoreError};
use crate::time::{Timestamp, new_secret_id, new_shared_id};
use crate::verdict::{Decision, FailClosed, Verdict};
use crate::verifier::{BoxVerifier, Proposal, Verifier};

/// Why the gate could not do its job. The side effect has not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GateError {
    /// The action is malformed.
    #[error(transparent)]
    InvalidAction(#[from] ActionError),
    /// The audit record could not be written, so the side effect was not run.
    #[error("audit record could not be written, the action was not run: {0}")]
    Audit(#[from] StoreError),
}

/// Why a permit was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PermitError {
    /// It was already used, or was never issued by this gate.
    #[error("permit {0} was already used or was never issued")]
    AlreadyUsed(String),
    /// It expired.
    #[error("permit {0} has expired")]
    Expired(String),
    /// It was issued for another action.
    #[error("permit {0} was issued for a different action")]
    WrongAction(String),
}

#[derive(Debug)]
struct Issued {
    digest: ActionDigest,
    expires: Instant,
}

/// Permits issued and not yet used. Entries leave on use; expired ones are swept on issue.
#[derive(Debug, Default)]
struct Ledger {
    issued: Mutex<HashMap<Arc<str>, Issued, BuildIdHasher>>,
}

/// Hashes permit ids. The keys are random ids this gate issued, so no caller can choose them
/// to collide, and a redeemer's guess only costs a lookup: a keyed hash buys nothing here.
#[derive(Debug, Default, Clone, Copy)]
struct BuildIdHasher;

impl std::hash::BuildHasher for BuildIdHasher {
    type Hasher = IdHasher;
    fn build_hasher(&self) -> IdHasher {
        IdHasher(0)
    }
}

/// Folds eight bytes at a time with a multiply and a rotate.
#[derive(Debug)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
        let mut tail = [0u8; 8];
        tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.mix(u64::from_le_bytes(tail) ^ (bytes.len() as u64));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl IdHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0 ^ word)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
    }
}

impl Ledger {
    fn issue(&self, id: Arc<str>, digest: ActionDigest, expires: Instant) {
        let mut issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        if issued.len() >= 1024 && issued.len().is_power_of_two() {
            let now = Instant::now();
            issued.retain(|_, p| p.expires > now);
        }
        issued.insert(id, Issued { digest, expires });
    }

    fn redeem(&self, id: &str, digest: &ActionDigest) -> Result<(), PermitError> {
        let mut issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        let Some(entry) = issued.get(id) else {
            return Err(PermitError::AlreadyUsed(id.to_string()));
        };
        if entry.digest != *digest {
            return Err(PermitError::WrongAction(id.to_string()));
        }
        let expired = entry.expires <= Instant::now();
        issued.remove(id);
        if expired {
            return Err(PermitError::Expired(id.to_string()));
        }
        Ok(())
    }

    fn revoke(&self, id: &str) {
        let mut issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        issued.remove(id);
    }
}

/// The right to perform one side effect: created only by the [`Gate`], bound to the digest of
/// the exact action verified, usable once, and expiring.
///
/// Call [`Permit::redeem`] with the action you are about to perform, right before performing
/// it; it fails if the action differs in any field, if the permit was used, or if it expired.
pub struct Permit {
    id: Arc<str>,
    proposal_id: Arc<str>,
    digest: ActionDigest,
    expires_at: Timestamp,
    ledger: Arc<Ledger>,
    /// Handed across a process boundary as a token: dropping it must not revoke it.
    detached: bool,
}

impl Drop for Permit {
    fn drop(&mut self) {
        // A permit nobody holds can never be used: forget it now rather than at expiry.
        if !self.detached {
            self.ledger.revoke(&self.id);
        }
    }
}

impl fmt::Debug for Permit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("id", &self.id)
            .field("proposal_id", &self.proposal_id)
            .field("digest", &self.digest)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl Permit {
    /// The permit's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The proposal it was issued for.
    pub fn proposal_id(&self) -> &str {
        &self.proposal_id
    }

    /// The digest of the action it allows.
    pub fn digest(&self) -> ActionDigest {
        self.digest
    }

    /// When it expires.
    pub fn expires_at(&self) -> Timestamp {
        self.expires_at
    }

    /// Uses the permit for `action`: succeeds once, for exactly the verified action, before
    /// expiry.
    pub fn redeem(&self, action: &Action) -> Result<(), PermitError> {
        self.ledger.redeem(&self.id, &action.digest())
    }

    /// Turns the permit into its id, to hand to a process that redeems it later through
    /// [`Gate::redeem`] (for example an agent calling the HTTP service). The permit stays
    /// single use, bound to the action, and expiring.
    pub fn into_token(mut self) -> String {
        self.detached = true;
        self.id.to_string()
    }

    /// Uses the permit for an action known by its digest.
    pub fn redeem_digest(&self, digest: &ActionDigest) -> Result<(), PermitError> {
        self.ledger.redeem(&self.id, digest)
    }
}

/// What the gate decided about one action.
///
/// The strings, the inspection and the verdict are shared with the audit records.
#[derive(Debug)]
pub struct Checked {
    /// The proposal's id: the key of its audit records.
    pub proposal_id: Arc<str>,
    /// The action's digest.
    pub digest: ActionDigest,
    /// The proposing agent.
    pub agent: Option<Arc<str>>,
    /// The tool called.
    pub tool: Arc<str>,
    /// What inspection derived, when an inspector is configured.
    pub inspection: Option<Arc<Inspection>>,
    /// The verifiers' verdict.
    pub verdict: Arc<Verdict>,
    /// A person's decision, when one was asked.
    pub approval: Option<Approval>,
    /// The final decision: allow (with a permit), deny, or escalate where no person could be
    /// asked.
    pub decision: Decision,
    /// The reason for a refusal, for the agent.
    pub message: String,
    /// The permit, when allowed.
    pub permit: Option<Permit>,
}

impl Checked {
    /// Whether the action may run.
    pub fn is_allowed(&self) -> bool {
        self.permit.is_some()
    }
}

/// The result of [`Gate::run`].
#[derive(Debug)]
pub enum Gated<T, E> {
    /// The side effect ran.
    Ran {
        /// What it returned.
        output: Result<T, E>,
        /// Whether its outcome was recorded (the side effect has run either way).
        outcome_recorded: Result<(), StoreError>,
    },
    /// The action was refused; the side effect did not run.
    Refused(Box<Checked>),
}

impl<T, E> Gated<T, E> {
    /// Whether the side effect ran.
    pub fn ran(&self) -> bool {
        matches!(self, Gated::Ran { .. })
    }
}

/// Builds a [`Gate`].
#[derive(Debug)]
pub struct GateBuilder {
    verifier: BoxVerifier,
    inspector: Option<Box<dyn Inspector>>,
    approver: Option<Box<dyn Approver>>,
    audit: Option<Box<dyn AuditSink>>,
    permit_ttl: Duration,
    approval_ttl: Duration,
    deadline: Option<Duration>,
    on_failure: FailClosed,
    when_abstain: FailClosed,
}

impl GateBuilder {
    /// Derives effects with `inspector` before verification.
    pub fn with_inspector(mut self, inspector: impl Inspector + 'static) -> Self {
        self.inspector = Some(Box::new(inspector));
        self
    }

    /// Asks `approver` when the verdict is escalate. Without one, escalations are refused.
    pub fn with_approver(mut self, approver: impl Approver + 'static) -> Self {
        self.approver = Some(Box::new(approver));
        self
    }

    /// Records into `audit` (required).
    pub fn with_audit(mut self, audit: impl AuditSink + 'static) -> Self {
        self.audit = Some(Box::new(audit));
        self
    }

    /// How long a permit stays valid (default 60 s).
    pub fn with_permit_ttl(mut self, ttl: Duration) -> Self {
        self.permit_ttl = ttl;
        self
    }

    /// How long a person has to decide (default 10 minutes); then the request is denied.
    pub fn with_approval_ttl(mut self, ttl: Duration) -> Self {
        self.approval_ttl = ttl;
        self
    }

    /// A deadline for the whole verification; past it, the fail-closed verdict.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The verdict when verification fails (default deny).
    pub fn on_failure(mut self, on_failure: FailClosed) -> Self {
        self.on_failure = on_failure;
        self
    }

    /// The verdict when the verifier abstains (default deny).
    pub fn when_abstain(mut self, default: FailClosed) -> Self {
        self.when_abstain = default;
        self
    }

    /// Builds the gate. Fails without an audit sink: nothing runs unrecorded.
    pub fn build(self) -> Result<Gate, GateBuildError> {
        let audit = self.audit.ok_or(GateBuildError::NoAuditSink)?;
        Ok(Gate {
            inner: Arc::new(GateInner {
                verifier: self.verifier,
                inspector: self.inspector,
                approver: self.approver,
                audit,
                permit_ttl: self.permit_ttl,
                approval_ttl: self.approval_ttl,
                deadline: self.deadline,
                on_failure: self.on_failure,
                when_abstain: self.when_abstain,
                ledger: Arc::new(Ledger::default()),
            }),
        })
    }
}

/// Why a gate could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GateBuildError {
    /// No audit sink was given.
    #[error("a gate needs an audit sink: nothing may run unrecorded")]
    NoAuditSink,
}

/// What every audit record of one proposal repeats.
struct Trail {
    proposal_id: Arc<str>,
    digest: ActionDigest,
    agent: Option<Arc<str>>,
    tool: Arc<str>,
}

impl Trail {
    fn event(&self, kind: AuditKind, at: Timestamp) -> AuditEvent {
        AuditEvent {
            proposal_id: Arc::clone(&self.proposal_id),
            digest: self.digest,
            at,
            agent: self.agent.clone(),
            tool: Arc::clone(&self.tool),
            kind,
        }
    }
}

/// An action ready for verification, prepared outside the gate's future.
struct Prepared {
    proposal: Proposal,
    span: tracing::Span,
}

/// A verified action whose records are not yet appended.
struct Pending {
    trail: Trail,
    action: Arc<Action>,
    inspection: Option<Arc<Inspection>>,
    verdict: Arc<Verdict>,
    approval: Option<Approval>,
    events: Vec<AuditEvent>,
    verified_at: Timestamp,
}

impl Pending {
    fn new(proposal: Proposal, proposal_id: Arc<str>, verdict: Verdict) -> Self {
        let Proposal {
            action,
            digest,
            inspection,
        } = proposal;
        let trail = Trail {
            proposal_id,
            digest,
            agent: action.agent.id.as_deref().map(Arc::from),
            tool: Arc::from(action.tool.as_str()),
        };
        let inspection = inspection.map(Arc::new);
        let verdict = Arc::new(verdict);
        let verified_at = Timestamp::now();
        let mut events = Vec::with_capacity(4);
        events.push(trail.event(
            AuditKind::Proposed {
                action: Arc::clone(&action),
                inspection: inspection.clone(),
            },
            verified_at,
        ));
        events.push(trail.event(
            AuditKind::Verified {
                verdict: Arc::clone(&verdict),
            },
            verified_at,
        ));
        Self {
            trail,
            action,
            inspection,
            verdict,
            approval: None,
            events,
            verified_at,
        }
    }

    /// The final decision, with the permit when allowed, and the records that justify it.
    fn conclude(self, inner: &GateInner) -> (Checked, Vec<AuditEvent>) {
        let Pending {
            trail,
            action: _,
            inspection,
            verdict,
            approval,
            mut events,
            verified_at,
        } = self;
        let (decision, message) = match (verdict.decision, &approval) {
            (Decision::Allow, _) => (Decision::Allow, String::new()),
            (Decision::Deny | Decision::Abstain, _) => (Decision::Deny, verdict.summary()),
            (Decision::Escalate, None) => (
                Decision::Escalate,
                format!("{} (no approver is configured)", verdict.summary()),
            ),
            (Decision::Escalate, Some(answer)) => match answer.decision {
                ApprovalDecision::Approved => (Decision::Allow, String::new()),
                ApprovalDecision::Denied => (
                    Decision::Deny,
                    format!(
                        "denied by {}{}",
                        answer.approver,
                        answer
                            .comment
                            .as_deref()
                            .map(|c| format!(": {c}"))
                            .unwrap_or_default()
                    ),
                ),
            },
        };
        // An approval may have taken minutes: then the decision, and a permit's life, start now.
        let decided_at = if approval.is_some() {
            Timestamp::now()
        } else {
            verified_at
        };
        let permit = if decision == Decision::Allow {
            let permit = Permit {
                id: new_secret_id(),
                proposal_id: Arc::clone(&trail.proposal_id),
                digest: trail.digest,
                expires_at: decided_at.plus(inner.permit_ttl),
                ledger: Arc::clone(&inner.ledger),
                detached: false,
            };
            events.push(trail.event(
                AuditKind::Permitted {
                    permit_id: Arc::clone(&permit.id),
                    expires_at: permit.expires_at,
                },
                decided_at,
            ));
            Some(permit)
        } else {
            events.push(trail.event(
                AuditKind::Refused {
                    decision,
                    message: message.clone(),
                },
                decided_at,
            ));
            None
        };
        let Trail {
            proposal_id,
            digest,
            agent,
            tool,
        } = trail;
        let checked = Checked {
            proposal_id,
            digest,
            agent,
            tool,
            inspection,
            verdict,
            approval,
            decision,
            message,
            permit,
        };
        (checked, events)
    }
}

#[derive(Debug)]
struct GateInner {
    verifier: BoxVerifier,
    inspector: Option<Box<dyn Inspector>>,
    approver: Option<Box<dyn Approver>>,
    audit: Box<dyn AuditSink>,
    permit_ttl: Duration,
    approval_ttl: Duration,
    deadline: Option<Duration>,
    on_failure: FailClosed,
    when_abstain: FailClosed,
    ledger: Arc<Ledger>,
}

/// Verifies an action, asks a person where needed, records every step, and only then lets the
/// side effect run, with a [`Permit`] bound to the exact action.
///
/// Cheap to clone; clones share the verifier, the approver, the audit sink and the permits.
#[derive(Debug, Clone)]
pub struct Gate {
    inner: Arc<GateInner>,
}

/// How long a permit stays valid unless the gate is told otherwise
/// ([`GateBuilder::with_permit_ttl`]).
pub const DEFAULT_PERMIT_TTL: Duration = Duration::from_secs(60);

impl Gate {
    /// A gate around `verifier`; add an audit sink, and optionally an inspector and approver.
    pub fn builder(verifier: impl Verifier + 'static) -> GateBuilder {
        GateBuilder {
            verifier: Box::new(verifier),
            inspector: None,
            approver: None,
            audit: None,
            permit_ttl: DEFAULT_PERMIT_TTL,
            approval_ttl: Duration::from_secs(600),
            deadline: None,
            on_failure: FailClosed::Deny,
            when_abstain: FailClosed::Deny,
        }
    }

    /// Verifies `action` and, when it may run, records the decision and returns a permit.
    /// Escalations go to the approver. Every step is in the audit trail before this returns.
    pub fn check(
        &self,
        action: Action,
    ) -> impl Future<Output = Result<Checked, GateError>> + Send + '_ {
        // Prepared before the future exists, and the future kept small: an `async fn` would
        // carry the action in its state twice, and that state is copied on every move.
        self.check_prepared(self.prepare(action))
    }

    fn check_prepared(
        &self,
        prepared: Result<Prepared, GateError>,
    ) -> tracing::instrument::Instrumented<impl Future<Output = Result<Checked, GateError>> + '_>
    {
        let span = match &prepared {
            Ok(prepared) => prepared.span.clone(),
            Err(_) => tracing::Span::none(),
        };
        self.check_in(prepared).instrument(span)
    }

    fn prepare(&self, action: Action) -> Result<Prepared, GateError> {
        action.validate()?;
        let span = tracing::info_span!(
            "preflight.verify",
            proposal_id = tracing::field::Empty,
            agent = action.agent.id.as_deref().unwrap_or(""),
            tool = %action.tool,
            decision = tracing::field::Empty,
            verifier = tracing::field::Empty,
            latency_us = tracing::field::Empty,
        );
        let proposal = match &self.inner.inspector {
            Some(inspector) => Proposal::inspected(action, inspector.as_ref()),
            None => Proposal::new(action),
        };
        Ok(Prepared { proposal, span })
    }

    async fn check_in(&self, prepared: Result<Prepared, GateError>) -> Result<Checked, GateError> {
        let inner = &*self.inner;
        let Prepared { proposal, span } = prepared?;
        let proposal_id = new_shared_id();
        // Recording into a span nobody listens to still costs (tracing's `log` bridge).
        let listened = !span.is_disabled();
        if listened {
            span.record("proposal_id", &*proposal_id);
        }

        let verdict = self.verdict_for(&proposal).await;
        if listened {
            span.record("decision", verdict.decision.as_str());
            span.record("verifier", verdict.verifier.as_str());
            if let Some(latency_us) = verdict.latency_us {
                span.record("latency_us", latency_us);
            }
        }
        drop(span);

        let mut pending = Pending::new(proposal, proposal_id, verdict);
        if let (Decision::Escalate, Some(approver)) =
            (pending.verdict.decision, inner.approver.as_deref())
        {
            // Boxed: the rare path would otherwise make every check's future larger.
            let answer = Box::pin(self.escalate(approver, &mut pending)).await?;
            pending.approval = Some(answer);
        }
        let (checked, events) = pending.conclude(inner);

        // The decision is durable before the permit exists for the caller.
        // Through the trait object itself: the forwarding impl for `Box` would box the call's
        // future a second time.
        inner.audit.as_ref().append(&events).await?;
        if let Some(permit) = &checked.permit {
            inner.ledger.issue(
                Arc::clone(&permit.id),
                permit.digest,
                Instant::now() + inner.permit_ttl,
            );
        }
        Ok(checked)
    }

    /// Records the request, asks `approver`, and adds the answer to the pending records.
    async fn escalate(
        &self,
        approver: &dyn Approver,
        pending: &mut Pending,
    ) -> Result<Approval, GateError> {
        let inner = &*self.inner;
        let now = Timestamp::now();
        let request = ApprovalRequest {
            id: new_secret_id().to_string(),
            proposal_id: pending.trail.proposal_id.to_string(),
            digest: pending.trail.digest,
            action: Action::clone(&pending.action),
            inspection: pending.inspection.as_deref().cloned(),
            verdict: Verdict::clone(&pending.verdict),
            requested_at: now,
            expires_at: now.plus(inner.approval_ttl),
        };
        pending.events.push(pending.trail.event(
            AuditKind::ApprovalRequested {
                request_id: request.id.clone(),
                expires_at: request.expires_at,
            },
            now,
        ));
        // The request is on record before anyone is asked.
        inner
            .audit
            .as_ref()
            .append(&std::mem::take(&mut pending.events))
            .await?;
        let answer = ask(approver, &request, inner.approval_ttl).await;
        pending.events.push(pending.trail.event(
            AuditKind::ApprovalDecided {
                approval: answer.clone(),
            },
            Timestamp::now(),
        ));
        Ok(answer)
    }

    async fn verdict_for(&self, proposal: &Proposal) -> Verdict {
        let inner = &*self.inner;
        let verdict = match inner.deadline {
            // Boxed: a timer makes the future larger, and most gates have no deadline.
            Some(deadline) => {
                Box::pin(verify_within(
                    inner.verifier.as_ref(),
                    proposal,
                    deadline,
                    inner.on_failure,
                ))
                .await
            }
            None => {
                crate::verifier::verify_fail_closed(
                    inner.verifier.as_ref(),
                    proposal,
                    inner.on_failure,
                )
                .await
            }
        };
        crate::compose::apply_default(verdict, inner.when_abstain)
    }

    /// Verifies `action` and, when allowed, runs `side_effect` with the permit, then records
    /// its outcome. The side effect never runs when the action is refused or the decision
    /// could not be recorded.
    pub fn run<'a, F, Fut, T, E>(
        &'a self,
        action: Action,
        side_effect: F,
    ) -> impl Future<Output = Result<Gated<T, E>, GateError>> + 'a
    where
        F: FnOnce(Permit) -> Fut + 'a,
        Fut: Future<Output = Result<T, E>> + 'a,
        T: 'a,
        E: fmt::Display + 'a,
    {
        // Prepared here, so the action is not also carried in this future's state.
        self.run_prepared(self.prepare(action), side_effect)
    }

    async fn run_prepared<F, Fut, T, E>(
        &self,
        prepared: Result<Prepared, GateError>,
        side_effect: F,
    ) -> Result<Gated<T, E>, GateError>
    where
        F: FnOnce(Permit) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: fmt::Display,
    {
        let mut checked = self.check_prepared(prepared).await?;
        let Some(permit) = checked.permit.take() else {
            return Ok(Gated::Refused(Box::new(checked)));
        };
        let permit_id = Arc::clone(&permit.id);
        let started = Instant::now();
        let output = side_effect(permit).await;
        // Whether or not the closure redeemed it, the permit is spent.
        self.inner.ledger.revoke(&permit_id);
        let outcome = Outcome {
            success: output.is_ok(),
            error: output.as_ref().err().map(ToString::to_string),
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        let outcome_recorded = self.report_outcome(&checked, outcome).await;
        if let Err(error) = &outcome_recorded {
            tracing::error!(proposal_id = %checked.proposal_id, %error, "outcome not recorded");
        }
        Ok(Gated::Ran {
            output,
            outcome_recorded,
        })
    }

    /// Records the outcome of a side effect run outside [`Gate::run`] (for example by an agent
    /// that called the HTTP service).
    pub async fn report_outcome(
        &self,
        checked: &Checked,
        outcome: Outcome,
    ) -> Result<(), StoreError> {
        let event = AuditEvent {
            proposal_id: Arc::clone(&checked.proposal_id),
            digest: checked.digest,
            at: Timestamp::now(),
            agent: checked.agent.clone(),
            tool: Arc::clone(&checked.tool),
            kind: AuditKind::Completed { outcome },
        };
        self.inner.audit.as_ref().append(&[event]).await
    }

    /// Redeems a permit known only by its id (for permits handed across a process boundary).
    pub fn redeem(&self, permit_id: &str, action: &Action) -> Result<(), PermitError> {
        self.inner.ledger.redeem(permit_id, &action.digest())
    }

    /// Redeems a permit known only by its id, for the action whose digest is `digest`.
    pub fn redeem_digest(&self, permit_id: &str, digest: &ActionDigest) -> Result<(), PermitError> {
        self.inner.ledger.redeem(permit_id, digest)
    }
}

/// Asks `approver`, bounded by the request's lifetime; any failure, timeout or mismatched
/// answer becomes a denial recorded as such.
async fn ask(approver: &dyn Approver, request: &ApprovalRequest, ttl: Duration) -> Approval {
    let denial = |why: String| Approval {
        request_id: request.id.clone(),
        digest: request.digest,
        decision: ApprovalDecision::Denied,
        approver: format!("preflight ({})", approver.name()),
        comment: Some(why),
        decided_at: Timestamp::now(),
    };
    match tokio::time::timeout(ttl, approver.request(request)).await {
        Err(_) => denial("approval request expired without a decision".into()),
        Ok(Err(error)) => denial(error.to_string()),
        Ok(Ok(approval)) => match approval.binds_to(request) {
            Ok(()) => approval,
            Err(why) => denial(why),
        },
    }
}
