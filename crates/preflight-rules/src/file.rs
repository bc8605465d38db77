//! The policy file format: what a person writes, in TOML or JSON.

use std::collections::BTreeMap;

use preflight_core::{Action, Decision, Inspection, Operation, corpus::Expect};
use preflight_inspect::Environments;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A scope policy as written in a file. Unknown fields are errors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// The format version; `1`.
    #[serde(default = "version_one")]
    pub version: u32,
    /// Policies this one builds on: `builtin:NAME` (a pack shipped with preflight) or a path
    /// relative to this file. Their rules apply as well as this file's; a rule here with the
    /// id of one of theirs replaces it. Whatever the order, the strictest decision wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extends: Vec<String>,
    /// What happens to an effect no rule matches. Deny unless said otherwise.
    #[serde(default)]
    pub default: RuleEffect,
    /// Shadow mode for the whole policy: evaluated and reported, but the verifier abstains.
    #[serde(default)]
    pub shadow: bool,
    /// The agent an action that names no agent is judged as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_agent: Option<String>,
    /// What a destructive (delete) effect on a cloud, Kubernetes, SQL or Terraform resource
    /// whose environment cannot be determined gets. Escalate unless said otherwise; `allow`
    /// turns the check off.
    #[serde(default = "escalate")]
    pub unknown_environment: RuleEffect,
    /// Agents and their envelopes, by agent id. When any agent is named, an action from an
    /// agent not named here (and no `default_agent`) is denied.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub agents: BTreeMap<String, AgentEnvelope>,
    /// Environments and what identifies each in a resource.
    #[serde(default)]
    pub environments: Environments,
    /// The rules. Their order never changes a decision.
    #[serde(default, rename = "rule", skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleSpec>,
    /// Test cases: an action and the verdict expected of it.
    #[serde(default, rename = "test", skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<PolicyTest>,
    /// Run the tests when the policy is loaded, and refuse to load it when one fails.
    #[serde(default)]
    pub test_on_load: bool,
}

fn version_one() -> u32 {
    1
}

fn escalate() -> RuleEffect {
    RuleEffect::Escalate
}

/// An agent's envelope.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentEnvelope {
    /// What the agent is for, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The home directory `~` and `$HOME` expand to, when the action does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home: Option<String>,
    /// A mutating action proposed with a confidence below this escalates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence_threshold: Option<f64>,
    /// Glob patterns of the rule ids that apply to this agent; empty means every rule.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
}

/// What a rule decides when it matches.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RuleEffect {
    /// The action may run.
    Allow,
    /// A person must approve it.
    Escalate,
    /// The action must not run.
    #[default]
    Deny,
}

impl RuleEffect {
    /// As a decision.
    pub fn decision(self) -> Decision {
        match self {
            RuleEffect::Allow => Decision::Allow,
            RuleEffect::Escalate => Decision::Escalate,
            RuleEffect::Deny => Decision::Deny,
        }
    }
}

/// One rule. Every filter left empty matches anything; a rule matches an effect when every
/// filter it sets matches.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// A unique id, named in every verdict this rule decides.
    pub id: String,
    /// What the rule decides.
    pub effect: RuleEffect,
    /// Glob patterns of agent ids the rule applies to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<String>,
    /// Glob patterns of tool names (`Bash`, `mcp__filesystem__*`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
    /// Operations the effect must have.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<Operation>,
    /// Glob patterns of resource URIs (`file:///workspace/app/**`, `aws://prod/**`). `*`
    /// stays within one path segment, `**` crosses them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// Glob patterns of resource URIs the rule never matches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub except_resources: Vec<String>,
    /// Environment names; `unknown` matches an effect whose environment cannot be determined.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environments: Vec<String>,
    /// Tags the effect must all carry (`secret`, `force_push`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Attributes the effect must have, each value a glob pattern (`branch = "{main,master}"`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// Whether the effect must (or must not) be recursive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recursive: Option<bool>,
    /// Whether the effect must (or must not) be forced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forced: Option<bool>,
    /// Whether the effect must (or must not) be unbounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unbounded: Option<bool>,
    /// Whether the effect must (or must not) be opaque.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opaque: Option<bool>,
    /// A CEL condition over `action`, `input` and `effect`, compiled at load (a built-in
    /// pack's when first evaluated: their tests compile each). An evaluation error counts as
    /// a match for deny and escalate rules and as no match for allow rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Why, shown to the agent and the operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A safer alternative, shown to the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
    /// Evaluated and reported, but never changes a decision.
    #[serde(default)]
    pub shadow: bool,
    /// A fleet-wide limit on how often this allow rule may allow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<FleetLimit>,
}

/// A fleet-wide rate limit on an allow rule, counted in a shared `FleetLimits` store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FleetLimit {
    /// At most this many allows in the window.
    pub max: u64,
    /// The window, in seconds.
    pub window_seconds: u64,
    /// The counter's key; the rule id unless said otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// What an action over the limit gets (escalate unless said otherwise).
    #[serde(default = "escalate")]
    pub over: RuleEffect,
}

/// A test case embedded in a policy: an action and the verdict expected of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyTest {
    /// The test's name.
    pub name: String,
    /// The expected verdict: `allow`, `deny`, `escalate`, or `block` (deny or escalate).
    pub expect: Expect,
    /// The action.
    pub action: Action,
    /// What inspection derives, when the test gives it; otherwise the policy's inspector runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspection: Option<Inspection>,
    /// Rule ids that must be among those that decide.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
}
