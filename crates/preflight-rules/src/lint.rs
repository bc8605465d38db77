//! Lint: problems a policy loads with, and problems that stop it loading, with positions.

use serde::Serialize;

use crate::error::RulesError;
use crate::file::RuleEffect;
use crate::pattern::Pattern;
use crate::policy::{Policy, Rule, UNKNOWN_ENV_BIT};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// For information.
    Info,
    /// Probably a mistake.
    Warning,
    /// The policy does not load.
    Error,
}

/// One lint finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// How serious.
    pub severity: Severity,
    /// A stable code: `invalid`, `shadowed`, `unreachable_allow`, `unknown_environment`,
    /// `always_scanned`.
    pub code: &'static str,
    /// The file.
    pub origin: String,
    /// Line (1-based; 0 when unknown).
    pub line: usize,
    /// Column (1-based; 0 when unknown).
    pub column: usize,
    /// The rule concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let severity = match self.severity {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(
            f,
            "{}:{}:{}: {severity}[{}]: {}",
            self.origin, self.line, self.column, self.code, self.message
        )
    }
}

/// Lints policy text: every rule that does not compile (invalid glob, invalid CEL) is an
/// error; when the policy loads, the findings of [`lint`] follow.
pub fn lint_str(text: &str, origin: &str) -> Vec<Finding> {
    let file = match crate::policy::parse(text, origin) {
        Ok(file) => file,
        Err(error) => return vec![error_finding(&error, None)],
    };
    match Policy::from_parts(file.clone(), text, origin) {
        Ok(policy) => lint(&policy),
        Err(_) => {
            // Compile each rule alone so that every broken rule is reported, not the first.
            let mut findings = Vec::new();
            for (i, rule) in file.rules.iter().enumerate() {
                let mut single = file.clone();
                single.rules = vec![rule.clone()];
                single.tests.clear();
                single.default_agent = None;
                single.agents.clear();
                if let Err(error) = Policy::from_parts(single, text, origin) {
                    findings.push(error_finding(&reindex(error, i), Some(rule.id.clone())));
                }
            }
            if findings.is_empty() {
                if let Err(error) = Policy::from_parts(file, text, origin) {
                    findings.push(error_finding(&error, None));
                }
            }
            findings
        }
    }
}

/// Reads and lints a policy file.
pub fn lint_file(path: impl AsRef<std::path::Path>) -> Result<Vec<Finding>, RulesError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| RulesError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    Ok(lint_str(&text, &path.display().to_string()))
}

fn reindex(error: RulesError, index: usize) -> RulesError {
    match error {
        RulesError::Invalid {
            origin,
            line,
            column,
            field,
            message,
        } => RulesError::Invalid {
            origin,
            line,
            column,
            field: field.replacen("rule[0]", &format!("rule[{index}]"), 1),
            message,
        },
        other => other,
    }
}

fn error_finding(error: &RulesError, rule: Option<String>) -> Finding {
    match error {
        RulesError::Invalid {
            origin,
            line,
            column,
            field,
            message,
        } => Finding {
            severity: Severity::Error,
            code: "invalid",
            origin: origin.clone(),
            line: *line,
            column: *column,
            rule,
            message: format!("field `{field}`: {message}"),
        },
        other => Finding {
            severity: Severity::Error,
            code: "invalid",
            origin: String::new(),
            line: 0,
            column: 0,
            rule,
            message: other.to_string(),
        },
    }
}

/// Lints a loaded policy: rules shadowed by an earlier broader rule, allow rules a deny or
/// escalate rule makes unreachable, environment names the policy does not define, and the
/// size of the always-scanned list.
pub fn lint(policy: &Policy) -> Vec<Finding> {
    let mut findings = Vec::new();
    let finding =
        |severity, code, index: Option<usize>, at: Option<(usize, usize)>, message: String| {
            let (line, column) = at
                .or_else(|| index.map(|i| policy.rule_position(i)))
                .unwrap_or((0, 0));
            Finding {
                severity,
                code,
                origin: index.map_or_else(
                    || policy.origin.clone(),
                    |i| policy.rule_origin(i).to_string(),
                ),
                line,
                column,
                rule: index
                    .and_then(|i| policy.rules.get(i))
                    .map(|r| r.id.to_string()),
                message,
            }
        };
    let defined = &policy.file.environments.environments;
    for (i, spec) in policy.file.rules.iter().enumerate() {
        for name in &spec.environments {
            if name != "unknown" && !defined.contains_key(name) {
                findings.push(finding(
                    Severity::Warning,
                    "unknown_environment",
                    Some(i),
                    Some(policy.value_position(i, name)),
                    format!(
                        "rule `{}` names environment `{name}`, which the policy does not define",
                        spec.id
                    ),
                ));
            }
        }
    }
    for (later, rule) in policy.rules.iter().enumerate() {
        if rule.shadow {
            continue;
        }
        for other in policy.rules.iter().take(later) {
            if other.shadow || !covers(other, rule) {
                continue;
            }
            if other.decision == rule.decision {
                findings.push(finding(
                    Severity::Warning,
                    "shadowed",
                    Some(later),
                    None,
                    format!(
                        "rule `{}` is shadowed by the earlier, broader rule `{}` with the same effect; it never changes a decision",
                        rule.id, other.id
                    ),
                ));
                break;
            }
        }
        if rule.decision == preflight_core::Decision::Allow {
            if let Some((_, blocker)) = policy.rules.iter().enumerate().find(|(j, other)| {
                *j != later
                    && !other.shadow
                    && other.decision > rule.decision
                    && covers(other, rule)
            }) {
                findings.push(finding(
                    Severity::Warning,
                    "unreachable_allow",
                    Some(later),
                    None,
                    format!(
                        "allow rule `{}` can never allow: rule `{}` ({}) matches everything it matches",
                        rule.id, blocker.id, blocker.decision
                    ),
                ));
            }
        }
    }
    let mut scanned = policy.everyone.always_scanned();
    for agent in &policy.agents {
        scanned = scanned.max(agent.index.always_scanned());
    }
    findings.push(finding(
        Severity::Info,
        "always_scanned",
        None,
        Some((1, 1)),
        format!(
            "{scanned} of {} rules are checked for every effect (no tool or resource prefix to index them by)",
            policy.rules.len()
        ),
    ));
    if policy.file.default == RuleEffect::Allow {
        findings.push(finding(
            Severity::Warning,
            "default_allow",
            None,
            Some((1, 1)),
            "the default effect is allow: anything no rule covers runs".into(),
        ));
    }
    findings
}

/// Whether `outer` matches every (effect, action) that `inner` matches. Conservative.
fn covers(outer: &Rule, inner: &Rule) -> bool {
    if outer.condition.is_some() {
        return false;
    }
    if outer.operations & inner.operations != inner.operations {
        return false;
    }
    match (outer.environments, inner.environments) {
        (None, _) => {}
        (Some(_), None) => return false,
        (Some(o), Some(i)) => {
            if o & i != i || (i & UNKNOWN_ENV_BIT != 0 && o & UNKNOWN_ENV_BIT == 0) {
                return false;
            }
        }
    }
    if !patterns_cover(&outer.tools, &inner.tools)
        || !patterns_cover(&outer.agents, &inner.agents)
        || !patterns_cover(&outer.resources, &inner.resources)
    {
        return false;
    }
    if !outer.except_resources.is_empty() {
        return false;
    }
    let flag = |o: Option<bool>, i: Option<bool>| o.is_none() || o == i;
    if !flag(outer.recursive, inner.recursive)
        || !flag(outer.forced, inner.forced)
        || !flag(outer.unbounded, inner.unbounded)
        || !flag(outer.opaque, inner.opaque)
    {
        return false;
    }
    if !outer.tags.iter().all(|t| inner.tags.contains(t)) {
        return false;
    }
    outer.attributes.iter().all(|(key, pattern)| {
        inner
            .attributes
            .iter()
            .any(|(k, p)| k == key && pattern.covers(p))
    })
}

/// Whether the union of `outer` covers every pattern of `inner`; empty means "anything".
fn patterns_cover(outer: &[Pattern], inner: &[Pattern]) -> bool {
    if outer.is_empty() {
        return true;
    }
    if inner.is_empty() {
        return false;
    }
    inner.iter().all(|i| outer.iter().any(|o| o.covers(i)))
}
