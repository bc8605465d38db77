//! Rules first, then the judge on what they leave open.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use preflight_core::compose::merge;
use preflight_core::{
    Decision, FailClosed, Inspector, Proposal, Reason, ReasonKind, Verdict, Verifier, VerifyError,
    async_trait, verify_fail_closed,
};

use crate::verifier::LlmVerifier;

/// How many proposals a [`RulesThenJudge`] saw, and how many of them reached the judge.
#[derive(Debug, Default)]
pub struct JudgeStats {
    checked: AtomicU64,
    judged: AtomicU64,
}

impl JudgeStats {
    /// Proposals checked.
    pub fn checked(&self) -> u64 {
        self.checked.load(Ordering::Relaxed)
    }

    /// Proposals the rules left open, sent to the judge.
    pub fn judged(&self) -> u64 {
        self.judged.load(Ordering::Relaxed)
    }
}

/// The rules tier, then the LLM judge on what the rules leave open.
///
/// The rules leave a proposal open when they have no opinion (abstain), when an effect matched
/// no rule (its decision is the policy default: a `default` reason), or when inspection could
/// not analyse an effect (`opaque`). Everything else is decided by the rules alone; a rules
/// failure stays the fail-closed verdict.
///
/// On an open proposal the judge sees the rules' findings, and:
/// - by default (`may_loosen(false)`) the result is the **stricter** of the rules' decision and
///   the judge's: the judge can turn a defaulted allow into an escalation or a deny, never a
///   deny into an allow;
/// - with `may_loosen(true)` the judge's decision replaces the policy default, but not what a
///   rule or a declaration check decided: the result is the stricter of the judge's decision
///   and the decisions of the non-default reasons.
///
/// A judge that fails (timeout, unusable answer) counts as `on_failure`, which is deny or
/// escalate; merged by strictness, it can never produce an allow.
#[derive(Debug)]
pub struct RulesThenJudge<R> {
    rules: R,
    judge: LlmVerifier,
    inspector: Option<Arc<dyn Inspector>>,
    may_loosen: bool,
    on_failure: FailClosed,
    name: String,
    stats: Arc<JudgeStats>,
}

impl<R: Verifier> RulesThenJudge<R> {
    /// `rules`, then `judge`; the judge may only tighten, failures deny.
    pub fn new(rules: R, judge: LlmVerifier) -> Self {
        Self {
            rules,
            judge,
            inspector: None,
            may_loosen: false,
            on_failure: FailClosed::Deny,
            name: "rules+llm".into(),
            stats: Arc::new(JudgeStats::default()),
        }
    }

    /// Inspects proposals that come without an inspection, so that opaque effects are seen
    /// and both tiers judge the same derived effects.
    pub fn with_inspector(mut self, inspector: Arc<dyn Inspector>) -> Self {
        self.inspector = Some(inspector);
        self
    }

    /// Whether the judge's decision may replace the policy default even when it is less
    /// strict (default `false`: the judge only tightens).
    pub fn may_loosen(mut self, may_loosen: bool) -> Self {
        self.may_loosen = may_loosen;
        self
    }

    /// What a failing tier counts as (default deny).
    pub fn on_failure(mut self, on_failure: FailClosed) -> Self {
        self.on_failure = on_failure;
        self
    }

    /// Renames the verifier (default `rules+llm`).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The counters of proposals checked and judged, shared with this verifier.
    pub fn stats(&self) -> Arc<JudgeStats> {
        Arc::clone(&self.stats)
    }
}

/// The judge, told what the rules found.
#[derive(Debug)]
struct WithRules<'a> {
    judge: &'a LlmVerifier,
    rules: &'a Verdict,
}

#[async_trait]
impl Verifier for WithRules<'_> {
    fn name(&self) -> Cow<'_, str> {
        self.judge.name()
    }

    async fn verify(&self, proposal: &Proposal) -> Result<Verdict, VerifyError> {
        let name = self.judge.name().into_owned();
        self.judge
            .judge_with_rules(proposal, Some(self.rules))
            .await
            .map_err(|e| e.into_verify_error(&name))
    }
}

/// Whether the rules leave `verdict` open for the judge.
fn open(verdict: &Verdict, proposal: &Proposal) -> bool {
    let failed = verdict
        .reasons
        .iter()
        .any(|r| r.kind == ReasonKind::Failure);
    let defaulted = verdict
        .reasons
        .iter()
        .any(|r| r.kind == ReasonKind::Default);
    let opaque = proposal
        .inspection
        .as_ref()
        .is_some_and(|i| i.effects.iter().any(|e| e.opaque));
    !failed && (verdict.decision == Decision::Abstain || defaulted || opaque)
}

/// The rules' decision without the policy default: the strictest decision a rule or a
/// declaration check argued for.
fn floor(verdict: &Verdict) -> Decision {
    verdict
        .reasons
        .iter()
        .filter(|r| !matches!(r.kind, ReasonKind::Default | ReasonKind::Shadow))
        .map(|r| r.decision)
        .max()
        .unwrap_or(Decision::Abstain)
}

#[async_trait]
impl<R: Verifier> Verifier for RulesThenJudge<R> {
    fn name(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.name)
    }

    async fn verify(&self, proposal: &Proposal) -> Result<Verdict, VerifyError> {
        self.stats.checked.fetch_add(1, Ordering::Relaxed);
        let inspected;
        let proposal = match (&proposal.inspection, &self.inspector) {
            (None, Some(inspector)) => {
                let mut with = proposal.clone();
                with.inspection = Some(inspector.inspect(&proposal.action));
                inspected = with;
                &inspected
            }
            _ => proposal,
        };
        let rules = verify_fail_closed(&self.rules, proposal, self.on_failure).await;
        if !open(&rules, proposal) || (!self.may_loosen && rules.decision == Decision::Deny) {
            // Decided by the rules; a deny cannot be tightened.
            return Ok(merge(&self.name, vec![rules]));
        }
        self.stats.judged.fetch_add(1, Ordering::Relaxed);
        let judge = WithRules {
            judge: &self.judge,
            rules: &rules,
        };
        let judged = verify_fail_closed(&judge, proposal, self.on_failure).await;
        let usage = judged.usage.clone();
        let mut verdict = if self.may_loosen {
            let floor = floor(&rules);
            let mut kept = rules.clone();
            kept.reasons.retain(|r| r.kind != ReasonKind::Default);
            kept.decision = floor;
            let mut verdict = merge(&self.name, vec![kept, judged]);
            verdict.parts.push(rules);
            verdict
        } else {
            merge(&self.name, vec![rules, judged])
        };
        if verdict.decision == Decision::Abstain {
            // The judge never abstains; should both parts have, nobody decided.
            verdict.decision = self.on_failure.decision();
            verdict.reasons.insert(
                0,
                Reason {
                    kind: ReasonKind::Default,
                    verifier: self.name.clone(),
                    rule: None,
                    decision: verdict.decision,
                    message: "neither the rules nor the judge decided".into(),
                },
            );
        }
        verdict.usage = usage;
        Ok(verdict)
    }
}
