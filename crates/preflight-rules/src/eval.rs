//! Deciding: the indexed evaluation, the reference scan, verdicts and explanations.

use std::borrow::Cow;

use preflight_core::{
    Action, Decision, Effect, Inspection, Operation, Reason, ReasonKind, Verdict,
};
use serde::Serialize;
use smallvec::SmallVec;

use crate::file::RuleEffect;
use crate::pattern::any_match;
use crate::places::Places;
use crate::policy::{AgentIndex, Policy, Rule, UNKNOWN_ENV_BIT, op_bit};

/// The rule id named when the unknown-environment check decides.
pub const UNKNOWN_ENVIRONMENT_RULE: &str = "policy.unknown_environment";
/// Resource schemes whose environment matters for the unknown-environment check.
const ENVIRONMENT_SCHEMES: [&str; 4] = ["aws://", "k8s://", "sql://", "terraform://"];

/// The outcome of checking one rule against one effect.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Check {
    Matched,
    /// The field that did not match.
    Failed(&'static str),
    /// The condition could not be evaluated: counts as a match for deny and escalate rules.
    ConditionError(String),
}

pub(crate) struct Subject<'a> {
    pub(crate) action: &'a Action,
    pub(crate) agent: &'a str,
    pub(crate) index: &'a AgentIndex,
    pub(crate) threshold: Option<f64>,
    /// The action's `{project}` and `{home}`, when the policy's patterns name them.
    pub(crate) places: Places,
}

/// What deciding found, without allocating on the common path.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub(crate) decision: Option<Decision>,
    /// (rule, effect) of every non-shadow match.
    pub(crate) matches: SmallVec<[(u32, u16); 4]>,
    pub(crate) shadow: SmallVec<[(u32, u16); 4]>,
    pub(crate) condition_errors: SmallVec<[(u32, u16, String); 1]>,
    pub(crate) defaulted: SmallVec<[u16; 2]>,
    pub(crate) unknown_env: SmallVec<[u16; 2]>,
    pub(crate) blast_radius: bool,
    /// The declared environment differs from one inspection derived.
    pub(crate) environment_mismatch: Option<String>,
    /// A derived change the declared scope does not cover.
    pub(crate) outside_scope: Option<String>,
    pub(crate) low_confidence: bool,
    pub(crate) unknown_agent: bool,
}

fn environment_bit(policy: &Policy, name: Option<&str>) -> u64 {
    match name {
        None => UNKNOWN_ENV_BIT,
        Some(name) => policy
            .environments
            .iter()
            .position(|e| e == name)
            .map_or(0, |bit| 1 << bit),
    }
}

/// Checks every filter of `rule` against `effect`, cheapest first.
pub(crate) fn check(
    rule: &Rule,
    subject: &Subject<'_>,
    effect: &Effect,
    alternates: &[String],
    environment: Option<&str>,
    environment_bit: u64,
) -> Check {
    if rule.operations & op_bit(effect.operation) == 0 {
        return Check::Failed("operations");
    }
    if let Some(mask) = rule.environments {
        if mask & environment_bit == 0 {
            return Check::Failed("environments");
        }
    }
    if !any_match(&rule.tools, &subject.action.tool) {
        return Check::Failed("tools");
    }
    if !any_match(&rule.agents, subject.agent) {
        return Check::Failed("agents");
    }
    if !any_match(&rule.resources, &effect.resource)
        && !alternates
            .iter()
            .any(|form| any_match(&rule.resources, form))
    {
        return Check::Failed("resources");
    }
    if rule
        .except_resources
        .iter()
        .any(|p| p.is_match(&effect.resource) || alternates.iter().any(|form| p.is_match(form)))
    {
        return Check::Failed("except_resources");
    }
    let flag = |want: Option<bool>, have: bool| want.is_none_or(|w| w == have);
    if !flag(rule.recursive, effect.recursive) {
        return Check::Failed("recursive");
    }
    if !flag(rule.forced, effect.forced) {
        return Check::Failed("forced");
    }
    if !flag(rule.unbounded, effect.unbounded) {
        return Check::Failed("unbounded");
    }
    if !flag(rule.opaque, effect.opaque) {
        return Check::Failed("opaque");
    }
    if !rule.tags.iter().all(|t| effect.has_tag(t)) {
        return Check::Failed("tags");
    }
    for (key, pattern) in &rule.attributes {
        if !effect
            .attributes
            .get(&**key)
            .is_some_and(|v| pattern.is_match(v))
        {
            return Check::Failed("attributes");
        }
    }
    if let Some(condition) = &rule.condition {
        return match condition.evaluate(subject.action, effect, environment) {
            Ok(true) => Check::Matched,
            Ok(false) => Check::Failed("condition"),
            Err(error) => Check::ConditionError(error),
        };
    }
    Check::Matched
}

/// The effects to judge: those inspection derived, or one opaque effect naming the tool when
/// it derived none (an action nobody understood is never harmless).
pub(crate) fn effects_of<'a>(action: &Action, inspection: &'a Inspection) -> Cow<'a, [Effect]> {
    if inspection.effects.is_empty() {
        let mut effect = Effect::new(Operation::Execute, format!("tool://{}", action.tool));
        effect.opaque = true;
        Cow::Owned(vec![effect])
    } else {
        Cow::Borrowed(&inspection.effects)
    }
}

impl Policy {
    pub(crate) fn subject<'a>(&'a self, action: &'a Action) -> Option<Subject<'a>> {
        let named = action.agent.id.as_deref();
        let places = |home: Option<&str>| {
            if self.uses_places {
                Places::of(action, home)
            } else {
                Places::default()
            }
        };
        if self.agents.is_empty() {
            return Some(Subject {
                action,
                agent: named.unwrap_or(""),
                index: &self.everyone,
                threshold: None,
                places: places(None),
            });
        }
        let id = named.or(self.file.default_agent.as_deref())?;
        let agent = self.agent_ids.get(id).and_then(|&i| self.agents.get(i))?;
        Some(Subject {
            action,
            agent: &agent.id,
            index: &agent.index,
            threshold: agent.confidence_threshold,
            places: places(agent.home.as_deref()),
        })
    }

    pub(crate) fn outcome(&self, action: &Action, inspection: &Inspection, scan: bool) -> Outcome {
        let mut out = Outcome::default();
        let Some(subject) = self.subject(action) else {
            out.unknown_agent = true;
            out.decision = Some(Decision::Deny);
            return out;
        };
        let effects = effects_of(action, inspection);
        // What the agent declares is compared with what inspection derived, never used in its
        // place: an effect whose environment cannot be derived is in an unknown environment.
        let declared = action.declared.environment.as_deref();
        for (e, effect) in effects.iter().enumerate() {
            let e = u16::try_from(e).unwrap_or(u16::MAX);
            let environment = effect.environment.as_deref();
            if let (Some(said), Some(derived)) = (declared, environment) {
                if said != derived && out.environment_mismatch.is_none() {
                    out.environment_mismatch = Some(format!(
                        "the agent declared environment `{said}`, but inspection derived `{derived}`"
                    ));
                }
            }
            let bit = environment_bit(self, environment);
            let alternates = subject.places.alternates(&effect.resource);
            let mut matched = false;
            let mut visit = |r: u32| {
                let Some(rule) = self.rules.get(r as usize) else {
                    return;
                };
                let hit = match check(rule, &subject, effect, &alternates, environment, bit) {
                    Check::Matched => true,
                    Check::Failed(_) => false,
                    Check::ConditionError(error) => {
                        if !out
                            .condition_errors
                            .iter()
                            .any(|(x, y, _)| (*x, *y) == (r, e))
                        {
                            out.condition_errors.push((r, e, error));
                        }
                        rule.decision != Decision::Allow
                    }
                };
                if !hit {
                    return;
                }
                let list = if rule.shadow {
                    &mut out.shadow
                } else {
                    matched = true;
                    &mut out.matches
                };
                if !list.contains(&(r, e)) {
                    list.push((r, e));
                }
            };
            if scan {
                for &r in &subject.index.members {
                    visit(r);
                }
            } else {
                subject.index.candidates(
                    &action.tool,
                    effect.operation,
                    &effect.resource,
                    &mut visit,
                );
                for form in &alternates {
                    subject
                        .index
                        .candidates(&action.tool, effect.operation, form, &mut visit);
                }
            }
            if self.file.unknown_environment != RuleEffect::Allow
                && effect.operation == Operation::Delete
                && environment.is_none()
                && ENVIRONMENT_SCHEMES
                    .iter()
                    .any(|s| effect.resource.starts_with(s))
            {
                out.unknown_env.push(e);
                matched = true;
            }
            if !matched {
                out.defaulted.push(e);
            }
        }
        if let Some(said) = &action.declared.blast_radius {
            out.blast_radius = inspection.blast_radius.exceeds(said);
        }
        if let Some(scope) = &action.declared.scope {
            // Every change inspection derived must be inside what the agent said it touches
            // (running a program is not itself a change; an opaque effect always is).
            out.outside_scope = effects
                .iter()
                .filter(|e| {
                    e.opaque
                        || (e.operation.is_mutating()
                            && !(e.operation == Operation::Execute
                                && (e.resource.starts_with("cmd://")
                                    || e.resource.starts_with("project://"))))
                })
                .find(|e| !scope.covers(e))
                .map(|e| {
                    format!(
                        "the action touches {} {}, outside the scope it declared",
                        e.operation, e.resource
                    )
                });
        }
        if let (Some(threshold), Some(confidence)) = (subject.threshold, action.confidence) {
            out.low_confidence = confidence < threshold
                && effects
                    .iter()
                    .any(|e| e.operation.is_mutating() || e.opaque);
        }
        let mut decision = Decision::Abstain;
        for &(r, _) in &out.matches {
            if let Some(rule) = self.rules.get(r as usize) {
                decision = decision.max(rule.decision);
            }
        }
        if !out.unknown_env.is_empty() {
            decision = decision.max(self.file.unknown_environment.decision());
        }
        if !out.defaulted.is_empty() {
            decision = decision.max(self.file.default.decision());
        }
        if out.blast_radius
            || out.low_confidence
            || out.environment_mismatch.is_some()
            || out.outside_scope.is_some()
        {
            decision = decision.max(Decision::Escalate);
        }
        out.decision = Some(decision);
        out
    }

    /// The decision for `action` given what inspection derived, through the index. The same
    /// as the decision of [`Policy::evaluate`], without building a verdict.
    pub fn decide(&self, action: &Action, inspection: &Inspection) -> Decision {
        self.outcome(action, inspection, false)
            .decision
            .unwrap_or(Decision::Deny)
    }

    /// The verdict for `action` given what inspection derived, through the index.
    pub fn evaluate(&self, action: &Action, inspection: &Inspection) -> Verdict {
        let outcome = self.outcome(action, inspection, false);
        self.verdict(&outcome, action, inspection, "rules")
    }

    /// The verdict reached by checking every rule in file order, without the index. Slower;
    /// the reference the index is tested against.
    pub fn evaluate_by_scan(&self, action: &Action, inspection: &Inspection) -> Verdict {
        let outcome = self.outcome(action, inspection, true);
        self.verdict(&outcome, action, inspection, "rules")
    }

    /// Inspects `action` with the policy's environments, filling in the agent's home
    /// directory when the action does not give one.
    pub fn inspect(&self, action: &Action) -> Inspection {
        use preflight_core::Inspector;
        let home = self
            .subject(action)
            .and_then(|s| self.agents.iter().find(|a| a.id == s.agent))
            .and_then(|a| a.home.as_ref());
        match home {
            Some(home) if action.context.home.is_none() => {
                let mut action = action.clone();
                action.context.home = Some(home.clone());
                self.inspector.inspect(&action)
            }
            _ => self.inspector.inspect(action),
        }
    }

    pub(crate) fn verdict(
        &self,
        outcome: &Outcome,
        action: &Action,
        inspection: &Inspection,
        verifier: &str,
    ) -> Verdict {
        let decision = outcome.decision.unwrap_or(Decision::Deny);
        let effects = effects_of(action, inspection);
        let describe = |e: u16| {
            effects
                .get(usize::from(e))
                .map_or_else(String::new, |effect| {
                    format!("{} {}", effect.operation, effect.resource)
                })
        };
        let reason = |kind, rule: Option<String>, decision, message: String| Reason {
            kind,
            verifier: verifier.to_string(),
            rule,
            decision,
            message,
        };
        let mut reasons = Vec::new();
        if outcome.unknown_agent {
            let agent = action.agent.id.as_deref().unwrap_or("(none)");
            reasons.push(reason(
                ReasonKind::Default,
                None,
                Decision::Deny,
                format!("agent `{agent}` is not named in the policy"),
            ));
        }
        for &(r, e) in &outcome.matches {
            if let Some(rule) = self.rules.get(r as usize) {
                let why = rule.reason.as_deref().unwrap_or("matched");
                reasons.push(reason(
                    ReasonKind::Rule,
                    Some(rule.id.to_string()),
                    rule.decision,
                    format!("{why} ({})", describe(e)),
                ));
            }
        }
        for &e in &outcome.unknown_env {
            reasons.push(reason(
                ReasonKind::Rule,
                Some(UNKNOWN_ENVIRONMENT_RULE.into()),
                self.file.unknown_environment.decision(),
                format!(
                    "destructive action in an unknown environment ({})",
                    describe(e)
                ),
            ));
        }
        for &e in &outcome.defaulted {
            reasons.push(reason(
                ReasonKind::Default,
                None,
                self.file.default.decision(),
                format!("no rule covers {}; the policy default applies", describe(e)),
            ));
        }
        for (r, e, error) in &outcome.condition_errors {
            if let Some(rule) = self.rules.get(*r as usize) {
                reasons.push(reason(
                    if rule.shadow {
                        ReasonKind::Shadow
                    } else {
                        ReasonKind::Failure
                    },
                    Some(rule.id.to_string()),
                    if rule.decision == Decision::Allow {
                        Decision::Abstain
                    } else {
                        rule.decision
                    },
                    format!("{error} ({})", describe(*e)),
                ));
            }
        }
        if outcome.blast_radius {
            reasons.push(reason(
                ReasonKind::Declaration,
                None,
                Decision::Escalate,
                "the declared blast radius is smaller than the one inspection derived".into(),
            ));
        }
        if let Some(outside) = &outcome.outside_scope {
            reasons.push(reason(
                ReasonKind::Declaration,
                None,
                Decision::Escalate,
                outside.clone(),
            ));
        }
        if let Some(mismatch) = &outcome.environment_mismatch {
            reasons.push(reason(
                ReasonKind::Declaration,
                None,
                Decision::Escalate,
                mismatch.clone(),
            ));
        }
        if outcome.low_confidence {
            reasons.push(reason(
                ReasonKind::Declaration,
                None,
                Decision::Escalate,
                format!(
                    "agent confidence {} is below the policy threshold for a mutating action",
                    action.confidence.unwrap_or_default()
                ),
            ));
        }
        for &(r, e) in &outcome.shadow {
            if let Some(rule) = self.rules.get(r as usize) {
                let why = rule.reason.as_deref().unwrap_or("matched");
                reasons.push(reason(
                    ReasonKind::Shadow,
                    Some(rule.id.to_string()),
                    rule.decision,
                    format!(
                        "shadow rule would {}: {why} ({})",
                        rule.decision,
                        describe(e)
                    ),
                ));
            }
        }
        let suggestion = outcome
            .matches
            .iter()
            .filter_map(|&(r, _)| self.rules.get(r as usize))
            .filter(|rule| rule.decision == decision)
            .find_map(|rule| rule.suggestion.clone());
        let final_decision = if self.file.shadow {
            for reason in &mut reasons {
                reason.kind = ReasonKind::Shadow;
                reason.message =
                    format!("policy in shadow mode would {decision}: {}", reason.message);
            }
            Decision::Abstain
        } else {
            decision
        };
        reasons.sort_by_key(|r| (r.decision != final_decision, r.kind == ReasonKind::Shadow));
        let mut verdict = Verdict::new(final_decision, verifier, "");
        verdict.reasons = reasons;
        verdict.suggestion = suggestion.filter(|_| final_decision != Decision::Abstain);
        verdict
    }
}

/// How one rule fared against one effect.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EffectCheck {
    /// The effect's position in the inspection.
    pub effect: usize,
    /// The effect, as `operation resource`.
    pub target: String,
    /// Whether the rule matched it.
    pub matched: bool,
    /// The first field that did not match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    /// More about a failure (a condition error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// One rule as considered for an action.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleTrace {
    /// The rule's id.
    pub id: String,
    /// What it decides.
    pub effect: RuleEffect,
    /// Whether it is a shadow rule.
    pub shadow: bool,
    /// Line and column of the rule in the policy file.
    pub line: usize,
    /// See `line`.
    pub column: usize,
    /// Whether it applies to the action's agent at all.
    pub applies: bool,
    /// Whether it matched any effect.
    pub matched: bool,
    /// Every effect checked.
    pub checks: Vec<EffectCheck>,
}

/// Why a policy reached its verdict on an action: every rule, matched or not, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// The verdict.
    pub verdict: Verdict,
    /// The agent the action was judged as.
    pub agent: Option<String>,
    /// The effects judged.
    pub effects: Vec<Effect>,
    /// Every rule, in file order.
    pub rules: Vec<RuleTrace>,
}

impl std::fmt::Display for Explanation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "verdict: {}", self.verdict.summary())?;
        for (i, effect) in self.effects.iter().enumerate() {
            let env = effect.environment.as_deref().unwrap_or("unknown");
            writeln!(
                f,
                "effect {i}: {} {} (environment {env})",
                effect.operation, effect.resource
            )?;
        }
        for rule in &self.rules {
            let shadow = if rule.shadow { " shadow" } else { "" };
            write!(
                f,
                "{}:{} rule `{}` ({:?}{shadow}): ",
                rule.line, rule.column, rule.id, rule.effect
            )?;
            if !rule.applies {
                writeln!(f, "does not apply to this agent")?;
                continue;
            }
            let parts: Vec<String> = rule
                .checks
                .iter()
                .map(|c| match (&c.failed, &c.detail) {
                    (_, Some(detail)) => format!("effect {}: {detail}", c.effect),
                    (None, None) => format!("effect {}: matched", c.effect),
                    (Some(field), None) => format!("effect {}: {field} did not match", c.effect),
                })
                .collect();
            writeln!(f, "{}", parts.join("; "))?;
        }
        Ok(())
    }
}

/// Explains the verdict `policy` reaches on `action`, inspecting it first.
pub fn explain(policy: &Policy, action: &Action) -> Explanation {
    let inspection = policy.inspect(action);
    explain_inspected(policy, action, &inspection)
}

/// Explains the verdict `policy` reaches on `action` given what inspection derived.
pub fn explain_inspected(policy: &Policy, action: &Action, inspection: &Inspection) -> Explanation {
    let verdict = policy.evaluate(action, inspection);
    let effects = effects_of(action, inspection).into_owned();
    let subject = policy.subject(action);
    let mut rules = Vec::with_capacity(policy.rules.len());
    for (index, (rule, spec)) in policy.rules.iter().zip(&policy.file.rules).enumerate() {
        let (line, column) = policy.rule_position(index);
        let applies = subject
            .as_ref()
            .is_some_and(|s| u32::try_from(index).is_ok_and(|i| s.index.members.contains(&i)));
        let mut checks = Vec::new();
        if let (true, Some(subject)) = (applies, subject.as_ref()) {
            for (e, effect) in effects.iter().enumerate() {
                let environment = effect.environment.as_deref();
                let bit = environment_bit(policy, environment);
                let target = format!("{} {}", effect.operation, effect.resource);
                let alternates = subject.places.alternates(&effect.resource);
                let check = match check(rule, subject, effect, &alternates, environment, bit) {
                    Check::Matched => EffectCheck {
                        effect: e,
                        target,
                        matched: true,
                        failed: None,
                        detail: None,
                    },
                    Check::Failed(field) => EffectCheck {
                        effect: e,
                        target,
                        matched: false,
                        failed: Some(field.to_string()),
                        detail: None,
                    },
                    Check::ConditionError(error) => EffectCheck {
                        effect: e,
                        target,
                        matched: rule.decision != Decision::Allow,
                        failed: Some("condition".into()),
                        detail: Some(error),
                    },
                };
                checks.push(check);
            }
        }
        rules.push(RuleTrace {
            id: rule.id.to_string(),
            effect: spec.effect,
            shadow: rule.shadow,
            line,
            column,
            applies,
            matched: checks.iter().any(|c| c.matched),
            checks,
        });
    }
    Explanation {
        verdict,
        agent: subject
            .map(|s| s.agent.to_string())
            .filter(|a| !a.is_empty()),
        effects,
        rules,
    }
}
