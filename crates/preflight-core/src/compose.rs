//! Combining verifiers.
//!
//! Every combinator implements [`Verifier`] itself, runs its parts through
//! [`verify_fail_closed`] (so an `Err`, panic or timeout of a part is its fail-closed verdict),
//! and merges with one law: **deny > escalate > allow > abstain**.

use std::borrow::Cow;
use std::time::Duration;

use async_trait::async_trait;

use crate::verdict::{Decision, FailClosed, Reason, ReasonKind, Verdict};
use crate::verifier::{BoxVerifier, Proposal, Verifier, VerifyError, verify_fail_closed};

/// Merges verdicts: the strictest decision wins; the reasons arguing for it come first.
/// The result is the same whatever the order of `parts` (up to the order of reasons).
pub fn merge(name: &str, parts: Vec<Verdict>) -> Verdict {
    let decision = parts
        .iter()
        .map(|v| v.decision)
        .max()
        .unwrap_or(Decision::Abstain);
    let mut deciding = Vec::new();
    let mut others = Vec::new();
    for part in &parts {
        for reason in &part.reasons {
            if reason.decision == decision && part.decision == decision {
                deciding.push(reason.clone());
            } else {
                others.push(reason.clone());
            }
        }
    }
    deciding.extend(others);
    let suggestion = parts
        .iter()
        .filter(|v| v.decision == decision)
        .find_map(|v| v.suggestion.clone());
    // The combined confidence is the weakest stated by a part that agrees with the decision.
    let confidence = parts
        .iter()
        .filter(|v| v.decision == decision)
        .filter_map(|v| v.confidence)
        .reduce(f64::min);
    Verdict {
        decision,
        verifier: name.to_string(),
        reasons: deciding,
        confidence,
        suggestion,
        latency_us: None,
        usage: None,
        parts,
    }
}

/// Runs every verifier in turn, each failing closed.
async fn verify_each(
    verifiers: &[BoxVerifier],
    proposal: &Proposal,
    on_failure: FailClosed,
) -> Vec<Verdict> {
    let mut parts = Vec::with_capacity(verifiers.len());
    for verifier in verifiers {
        parts.push(verify_fail_closed(verifier.as_ref(), proposal, on_failure).await);
    }
    parts
}

/// Replaces a final abstention by `default`, with a reason saying so.
pub(crate) fn apply_default(mut verdict: Verdict, default: FailClosed) -> Verdict {
    if verdict.decision == Decision::Abstain {
        let decision = default.decision();
        verdict.decision = decision;
        verdict.reasons.insert(
            0,
            Reason {
                kind: ReasonKind::Default,
                verifier: verdict.verifier.clone(),
                rule: None,
                decision,
                message: "no verifier had an opinion; the default applies".into(),
            },
        );
    }
    verdict
}

/// Runs every verifier and merges their verdicts. Order-independent.
#[derive(Debug)]
pub struct All {
    verifiers: Vec<BoxVerifier>,
    on_failure: FailClosed,
    name: String,
}

impl All {
    /// All of `verifiers`, failing closed with deny.
    pub fn new(verifiers: Vec<BoxVerifier>) -> Self {
        Self {
            verifiers,
            on_failure: FailClosed::Deny,
            name: "all".into(),
        }
    }

    /// What a failing part counts as.
    pub fn on_failure(mut self, on_failure: FailClosed) -> Self {
        self.on_failure = on_failure;
        self
    }
}

#[async_trait]
impl Verifier for All {
    fn name(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.name)
    }
    async fn verify(&self, proposal: &Proposal) -> Result<Verdict, VerifyError> {
        let parts = verify_each(&self.verifiers, proposal, self.on_failure).await;
        Ok(merge(&self.name, parts))
    }
}

/// When a [`Stack`] moves on to its next tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Continue {
    /// Only when every tier so far abstained: later, costlier tiers judge only what earlier
    /// ones leave open.
    OnAbstain,
    /// When every tier so far abstained or escalated: a later tier may still deny an
    /// escalation (it can never turn it into an allow).
    #[default]
    OnAbstainOrEscalate,
    /// Always run every tier (a deny still stops: nothing can override it).
    Always,
}

/// Tiers of verifiers, cheapest first. Each tier runs only if the merged verdict so far calls
/// for it (see [`Continue`]); a deny always stops. When every tier abstains, the stack's
/// default applies, which is deny or escalate, never allow.
#[derive(Debug)]
pub struct Stack {
    tiers: Vec<BoxVerifier>,
    continue_on: Continue,
    when_all_abstain: FailClosed,
    on_failure: FailClosed,
    name: String,
}

impl Stack {
    /// An empty stack; add tiers with [`Stack::tier`].
    pub fn new() -> Self {
        Self {
            tiers: Vec::new(),
            continue_on: Continue::default(),
            when_all_abstain: FailClosed::Deny,
            on_failure: FailClosed::Deny,
            name: "stack".into(),
        }
    }

    /// Adds a tier after the existing ones.
    pub fn tier(mut self, verifier: impl Verifier + 'static) -> Self {
        self.tiers.push(Box::new(verifier));
        self
    }

    /// When to move on to the next tier.
    pub fn continue_on(mut self, continue_on: Continue) -> Self {
        self.continue_on = continue_on;
        self
    }

    /// The decision when every tier abstains.
    pub fn when_all_abstain(mut self, default: FailClosed) -> Self {
        self.when_all_abstain = default;
        self
    }

    /// What a failing tier (error, panic) counts as.
    pub fn on_failure(mut self, on_failure: FailClosed) -> Self {
        self.on_failure = on_failure;
        self
    }

    /// Renames the stack.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
}

impl Default for Stack {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Verifier for Stack {
    fn name(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.name)
    }
    async fn verify(&self, proposal: &Proposal) -> Result<Verdict, VerifyError> {
        let mut parts = Vec::with_capacity(self.tiers.len());
        let mut so_far = Decision::Abstain;
        for tier in &self.tiers {
            let go_on = match (self.continue_on, so_far) {
                (_, Decision::Deny) => false,
                (_, Decision::Abstain) => true,
                (Continue::OnAbstain, _) => false,
                (Continue::OnAbstainOrEscalate, Decision::Escalate) => true,
                (Continue::OnAbstainOrEscalate, Decision::Allow) => false,
                (Continue::Always, _) => true,
            };
            if !go_on {
                break;
            }
            let verdict = verify_fail_closed(tier.as_ref(), proposal, self.on_failure).await;
            so_far = so_far.merge(verdict.decision);
            parts.push(verdict);
        }
        Ok(apply_default(
            merge(&self.name, parts),
            self.when_all_abstain,
        ))
    }
}

/// k of n: allow when at least `k` verifiers allow and none denies; deny when any denies;
/// otherwise escalate (not enough agreement to act without a person).
#[derive(Debug)]
pub struct Quorum {
    verifiers: Vec<BoxVerifier>,
    required: usize,
    on_failure: FailClosed,
    name: String,
}

impl Quorum {
    /// `required` allows out of `verifiers`.
    pub fn new(required: usize, verifiers: Vec<BoxVerifier>) -> Self {
        Self {
            verifiers,
            required: required.max(1),
            on_failure: FailClosed::Deny,
            name: format!("quorum-{}", required.max(1)),
        }
    }

    /// What a failing member counts as.
    pub fn on_failure(mut self, on_failure: FailClosed) -> Self {
        self.on_failure = on_failure;
        self
    }
}

#[async_trait]
impl Verifier for Quorum {
    fn name(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.name)
    }
    async fn verify(&self, proposal: &Proposal) -> Result<Verdict, VerifyError> {
        let parts = verify_each(&self.verifiers, proposal, self.on_failure).await;
        let allows = parts
            .iter()
            .filter(|v| v.decision == Decision::Allow)
            .count();
        let mut verdict = merge(&self.name, parts);
        if verdict.decision == Decision::Allow && allows < self.required
            || verdict.decision == Decision::Abstain
        {
            verdict.decision = Decision::Escalate;
            verdict.reasons.insert(
                0,
                Reason {
                    kind: ReasonKind::Default,
                    verifier: self.name.clone(),
                    rule: None,
                    decision: Decision::Escalate,
                    message: format!(
                        "only {allows} of the {} required verifiers allowed",
                        self.required
                    ),
                },
            );
        }
        Ok(verdict)
    }
}

/// Escalates an allow whose confidence is below a threshold. Verdicts without a confidence
/// (deterministic verifiers) pass unchanged.
#[derive(Debug)]
pub struct MinConfidence<V> {
    inner: V,
    threshold: f64,
}

impl<V> MinConfidence<V> {
    /// Wraps `inner`.
    pub fn new(inner: V, threshold: f64) -> Self {
        Self { inner, threshold }
    }
}

#[async_trait]
impl<V: Verifier> Verifier for MinConfidence<V> {
    fn name(&self) -> Cow<'_, str> {
        self.inner.name()
    }
    async fn verify(&self, proposal: &Proposal) -> Result<Verdict, VerifyError> {
        let mut verdict = self.inner.verify(proposal).await?;
        if let Some(confidence) = verdict.confidence {
            // A NaN confidence is below every threshold.
            let below = confidence.is_nan() || confidence < self.threshold;
            if verdict.decision == Decision::Allow && below {
                verdict.decision = Decision::Escalate;
                verdict.reasons.insert(
                    0,
                    Reason {
                        kind: ReasonKind::Declaration,
                        verifier: verdict.verifier.clone(),
                        rule: None,
                        decision: Decision::Escalate,
                        message: format!(
                            "confidence {confidence:.2} is below the threshold {:.2}",
                            self.threshold
                        ),
                    },
                );
            }
        }
        Ok(verdict)
    }
}

/// A deadline for a whole combination, as a plain function: returns the fail-closed verdict
/// when `verifier` does not answer in time.
pub async fn verify_within(
    verifier: &dyn Verifier,
    proposal: &Proposal,
    deadline: Duration,
    on_failure: FailClosed,
) -> Verdict {
    match tokio::time::timeout(deadline, verify_fail_closed(verifier, proposal, on_failure)).await {
        Ok(verdict) => verdict,
        Err(_) => Verdict::failed(
            verifier.name(),
            on_failure,
            VerifyError::Timeout {
                verifier: verifier.name().into_owned(),
                elapsed_ms: u64::try_from(deadline.as_millis()).unwrap_or(u64::MAX),
            },
        ),
    }
}
