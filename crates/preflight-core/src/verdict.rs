//! Verdicts: what a verifier decided, and why.

use std::fmt;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A verifier's decision.
///
/// Ordered from weakest to strictest, so that merging is `max`: deny overrides escalate,
/// escalate overrides allow, and any opinion overrides an abstention. Deliberately not
/// `#[non_exhaustive]`: a new variant must break every `match`, never fall into a `_ =>` arm
/// that lets an action through.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// No opinion: the next tier decides.
    Abstain,
    /// The action may run.
    Allow,
    /// A person must approve the action before it runs.
    Escalate,
    /// The action must not run.
    Deny,
}

impl Decision {
    /// The snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Abstain => "abstain",
            Decision::Allow => "allow",
            Decision::Escalate => "escalate",
            Decision::Deny => "deny",
        }
    }

    /// The stricter of two decisions.
    pub fn merge(self, other: Decision) -> Decision {
        self.max(other)
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verdict to use when a verifier could not decide: never allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema, Hash)]
#[serde(rename_all = "snake_case")]
pub enum FailClosed {
    /// Refuse outright.
    #[default]
    Deny,
    /// Ask a person.
    Escalate,
}

impl FailClosed {
    /// As a decision.
    pub fn decision(self) -> Decision {
        match self {
            FailClosed::Deny => Decision::Deny,
            FailClosed::Escalate => Decision::Escalate,
        }
    }
}

/// Where a reason comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReasonKind {
    /// A rule matched; `rule` names it.
    Rule,
    /// A model's answer.
    Model,
    /// A person's decision.
    Human,
    /// The verifier failed (error, panic, timeout, unparseable answer): the verdict is the
    /// fail-closed one.
    Failure,
    /// Nobody decided and the configured default applied.
    Default,
    /// A check of the agent's declarations (blast radius, confidence).
    Declaration,
    /// Reported by a shadow rule; did not change the decision.
    Shadow,
}

/// One reason behind a verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    /// Where it comes from.
    pub kind: ReasonKind,
    /// The verifier that gave it.
    pub verifier: String,
    /// The rule id, when a rule decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The decision this reason argues for.
    pub decision: Decision,
    /// A message an operator can act on.
    pub message: String,
}

/// Tokens, cost and time spent reaching a verdict.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Usage {
    /// Prompt tokens.
    #[serde(default)]
    pub input_tokens: u64,
    /// Completion tokens.
    #[serde(default)]
    pub output_tokens: u64,
    /// Estimated cost in US dollars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
}

/// What one verifier (or a combination of them) decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    /// The decision.
    pub decision: Decision,
    /// The verifier that reached it.
    pub verifier: String,
    /// Why; the reasons that argue for `decision` come first.
    #[serde(default)]
    pub reasons: Vec<Reason>,
    /// The verifier's confidence from 0 to 1; `None` for deterministic verifiers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// A safer alternative the agent could take instead (a dry run, a snapshot first, a
    /// narrower target).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
    /// Time spent deciding, in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_us: Option<u64>,
    /// Tokens and cost, for model-backed verifiers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// The verdicts this one was combined from, for combinators.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<Verdict>,
}

impl Verdict {
    /// A verdict with one reason.
    pub fn new(
        decision: Decision,
        verifier: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let verifier = verifier.into();
        let message = message.into();
        let reasons = if message.is_empty() {
            Vec::new()
        } else {
            vec![Reason {
                kind: ReasonKind::Rule,
                verifier: verifier.clone(),
                rule: None,
                decision,
                message,
            }]
        };
        Self {
            decision,
            verifier,
            reasons,
            confidence: None,
            suggestion: None,
            latency_us: None,
            usage: None,
            parts: Vec::new(),
        }
    }

    /// Allow, with a message.
    pub fn allow(verifier: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Decision::Allow, verifier, message)
    }

    /// Deny, with a message.
    pub fn deny(verifier: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Decision::Deny, verifier, message)
    }

    /// Escalate to a person, with a message.
    pub fn escalate(verifier: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Decision::Escalate, verifier, message)
    }

    /// No opinion.
    pub fn abstain(verifier: impl Into<String>) -> Self {
        Self::new(Decision::Abstain, verifier, "")
    }

    /// The fail-closed verdict for a verifier that could not decide.
    pub fn failed(
        verifier: impl Into<String>,
        on_failure: FailClosed,
        cause: impl fmt::Display,
    ) -> Self {
        let verifier = verifier.into();
        let decision = on_failure.decision();
        Self {
            reasons: vec![Reason {
                kind: ReasonKind::Failure,
                verifier: verifier.clone(),
                rule: None,
                decision,
                message: format!("verifier could not decide: {cause}"),
            }],
            ..Self::new(decision, verifier, "")
        }
    }

    /// Names the rule behind every reason that has none yet.
    pub fn with_rule(mut self, rule: impl Into<String>) -> Self {
        let rule = rule.into();
        for reason in &mut self.reasons {
            if reason.rule.is_none() {
                reason.rule = Some(rule.clone());
            }
        }
        self
    }

    /// Sets the suggestion for a safer alternative.
    pub fn with_suggestion(mut self, suggestion: impl Into<String>) -> Self {
        self.suggestion = Some(suggestion.into());
        self
    }

    /// Sets the confidence.
    pub fn with_confidence(mut self, confidence: f64) -> Self {
        self.confidence = Some(confidence);
        self
    }

    /// Adds a reason.
    pub fn with_reason(mut self, reason: Reason) -> Self {
        self.reasons.push(reason);
        self
    }

    /// The ids of the rules whose reasons argue for the decision.
    pub fn deciding_rules(&self) -> Vec<&str> {
        self.reasons
            .iter()
            .filter(|r| r.decision == self.decision && r.kind != ReasonKind::Shadow)
            .filter_map(|r| r.rule.as_deref())
            .collect()
    }

    /// The first message arguing for the decision, for one-line displays.
    pub fn summary(&self) -> String {
        let decisive = self
            .reasons
            .iter()
            .find(|r| r.decision == self.decision && r.kind != ReasonKind::Shadow)
            .or_else(|| self.reasons.first());
        match decisive {
            Some(reason) => match &reason.rule {
                Some(rule) => format!("{} [{}]: {}", self.decision, rule, reason.message),
                None => format!("{}: {}", self.decision, reason.message),
            },
            None => self.decision.to_string(),
        }
    }

    /// Records how long deciding took.
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency_us = Some(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
        self
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}
