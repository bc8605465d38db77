//! Loading a policy and compiling it into an index.

use std::collections::HashMap;

use rustc_hash::FxHashMap;
use std::path::Path;
use std::sync::Arc;

use preflight_core::{Decision, Operation};
use preflight_inspect::ActionInspector;
use smallvec::SmallVec;

use crate::condition::Condition;
use crate::error::RulesError;
use crate::file::{FleetLimit, PolicyFile, RuleSpec};
use crate::pattern::Pattern;
use crate::position::{Positions, find_quoted, line_column};

/// The environment bit meaning "no environment could be determined".
pub(crate) const UNKNOWN_ENV_BIT: u64 = 1 << 63;
/// The most environment names a policy may mention.
const MAX_ENVIRONMENTS: usize = 63;

/// One compiled rule.
#[derive(Debug)]
pub(crate) struct Rule {
    pub(crate) id: Box<str>,
    pub(crate) decision: Decision,
    pub(crate) shadow: bool,
    pub(crate) agents: Vec<Pattern>,
    pub(crate) tools: Vec<Pattern>,
    /// Bit `op as usize` set for every operation matched.
    pub(crate) operations: u8,
    pub(crate) resources: Vec<Pattern>,
    pub(crate) except_resources: Vec<Pattern>,
    /// `None`: any environment.
    pub(crate) environments: Option<u64>,
    pub(crate) tags: Vec<Box<str>>,
    pub(crate) attributes: Vec<(Box<str>, Pattern)>,
    pub(crate) recursive: Option<bool>,
    pub(crate) forced: Option<bool>,
    pub(crate) unbounded: Option<bool>,
    pub(crate) opaque: Option<bool>,
    pub(crate) condition: Option<Condition>,
    pub(crate) reason: Option<String>,
    pub(crate) suggestion: Option<String>,
    pub(crate) limit: Option<FleetLimit>,
}

pub(crate) fn op_bit(operation: Operation) -> u8 {
    1 << (operation as u8)
}

const ALL_OPS: u8 = 0x7f;

/// Rules whose resource patterns start with a literal prefix, found by looking each prefix
/// length of a resource up in a hash map, and the rest, scanned.
#[derive(Debug, Default)]
pub(crate) struct PrefixIndex {
    by_prefix: FxHashMap<Box<str>, SmallVec<[u32; 2]>>,
    /// The distinct prefix lengths, ascending.
    lengths: Vec<usize>,
    /// Rules with no resource filter or a pattern without a literal prefix.
    pub(crate) scanned: Vec<u32>,
}

impl PrefixIndex {
    fn insert(&mut self, rule: u32, prefix: Option<&str>) {
        match prefix {
            Some(prefix) if !prefix.is_empty() => {
                let entry = self.by_prefix.entry(prefix.into()).or_default();
                if entry.last() != Some(&rule) {
                    entry.push(rule);
                }
                if let Err(at) = self.lengths.binary_search(&prefix.len()) {
                    self.lengths.insert(at, prefix.len());
                }
            }
            _ => {
                if self.scanned.last() != Some(&rule) {
                    self.scanned.push(rule);
                }
            }
        }
    }

    /// Calls `visit` with every rule that may match `resource`.
    #[inline]
    pub(crate) fn candidates(&self, resource: &str, visit: &mut impl FnMut(u32)) {
        for &rule in &self.scanned {
            visit(rule);
        }
        for &length in &self.lengths {
            if length > resource.len() {
                break;
            }
            if let Some(key) = resource.get(..length) {
                if let Some(rules) = self.by_prefix.get(key) {
                    for &rule in rules {
                        visit(rule);
                    }
                }
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.by_prefix.is_empty() && self.scanned.is_empty()
    }
}

/// Rules keyed by operation, then by resource prefix.
#[derive(Debug, Default)]
pub(crate) struct Bucket {
    pub(crate) by_operation: [PrefixIndex; 7],
}

impl Bucket {
    fn insert(&mut self, rule_index: u32, rule: &Rule) {
        for operation in Operation::ALL {
            if rule.operations & op_bit(operation) == 0 {
                continue;
            }
            let index = &mut self.by_operation[operation as usize];
            if rule.resources.is_empty() {
                index.insert(rule_index, None);
            }
            for pattern in &rule.resources {
                index.insert(rule_index, Some(pattern.literal_prefix()));
            }
        }
    }
}

/// The rules that apply to one agent, indexed by tool, operation and resource prefix.
#[derive(Debug, Default)]
pub(crate) struct AgentIndex {
    /// The rules that apply, in file order (for explain and the reference scan).
    pub(crate) members: Vec<u32>,
    pub(crate) by_tool: FxHashMap<Box<str>, Bucket>,
    pub(crate) tool_globs: Vec<(Pattern, Bucket)>,
    pub(crate) any_tool: Bucket,
}

impl AgentIndex {
    fn build(rules: &[Rule], members: Vec<u32>) -> Self {
        let mut index = AgentIndex {
            members,
            ..AgentIndex::default()
        };
        for &i in &index.members {
            let Some(rule) = rules.get(i as usize) else {
                continue;
            };
            if rule.tools.is_empty() {
                index.any_tool.insert(i, rule);
            }
            for tool in &rule.tools {
                match tool.as_exact() {
                    Some(name) => index
                        .by_tool
                        .entry(name.into())
                        .or_default()
                        .insert(i, rule),
                    None => {
                        let source = tool.source();
                        match index
                            .tool_globs
                            .iter_mut()
                            .find(|(p, _)| p.source() == source)
                        {
                            Some((_, bucket)) => bucket.insert(i, rule),
                            None => {
                                let mut bucket = Bucket::default();
                                bucket.insert(i, rule);
                                index.tool_globs.push((tool.clone(), bucket));
                            }
                        }
                    }
                }
            }
        }
        index
    }

    /// Calls `visit` with every rule that may match an effect of `operation` on `resource`
    /// in an action of `tool`. A rule may be visited more than once.
    #[inline]
    pub(crate) fn candidates(
        &self,
        tool: &str,
        operation: Operation,
        resource: &str,
        visit: &mut impl FnMut(u32),
    ) {
        let op = operation as usize;
        // The keys come from the policy, so a fast hash is safe: a query cannot lengthen
        // the chains it probes.
        if let Some(bucket) = self.by_tool.get(tool) {
            bucket.by_operation[op].candidates(resource, visit);
        }
        for (pattern, bucket) in &self.tool_globs {
            let index = &bucket.by_operation[op];
            if !index.is_empty() && pattern.is_match(tool) {
                index.candidates(resource, visit);
            }
        }
        self.any_tool.by_operation[op].candidates(resource, visit);
    }

    /// The rules checked for every effect of some operation whatever its tool and resource.
    pub(crate) fn always_scanned(&self) -> usize {
        let mut rules: Vec<u32> = self
            .any_tool
            .by_operation
            .iter()
            .flat_map(|index| index.scanned.iter().copied())
            .collect();
        rules.sort_unstable();
        rules.dedup();
        rules.len()
    }
}

/// An agent named in the policy.
#[derive(Debug)]
pub(crate) struct CompiledAgent {
    pub(crate) id: String,
    pub(crate) home: Option<String>,
    pub(crate) confidence_threshold: Option<f64>,
    pub(crate) index: AgentIndex,
}

/// Where a rule inherited through `extends` was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Inherited {
    pub(crate) origin: Arc<str>,
    pub(crate) line: usize,
    pub(crate) column: usize,
}

/// A loaded, compiled scope policy. Cheap to share behind an [`Arc`]; immutable.
#[derive(Debug)]
pub struct Policy {
    pub(crate) origin: String,
    pub(crate) text: Arc<str>,
    pub(crate) file: PolicyFile,
    /// Positions of this file's own rules (those after the inherited ones) and tests.
    pub(crate) positions: Positions,
    /// Where each inherited rule was written; they are the first rules.
    pub(crate) inherited: Vec<Inherited>,
    pub(crate) rules: Vec<Rule>,
    /// Environment names, by bit.
    pub(crate) environments: Vec<String>,
    pub(crate) agents: Vec<CompiledAgent>,
    pub(crate) agent_ids: HashMap<String, usize>,
    /// Used when the policy names no agent.
    pub(crate) everyone: AgentIndex,
    pub(crate) inspector: ActionInspector,
    /// Some resource pattern names `{project}` or `{home}`.
    pub(crate) uses_places: bool,
}

impl Policy {
    /// Loads a policy by the name a user gives it: `builtin:NAME` for a pack shipped with
    /// preflight, anything else a file path.
    pub fn load(name: &str) -> Result<Self, RulesError> {
        match name.strip_prefix(crate::packs::PREFIX) {
            Some(pack) => {
                let (_, text) = crate::packs::builtin(pack).ok_or_else(|| RulesError::Io {
                    path: name.to_string(),
                    message: format!(
                        "no such built-in policy; the built-in policies are {}",
                        crate::packs::names().collect::<Vec<_>>().join(", ")
                    ),
                })?;
                Self::from_str(text, name)
            }
            None => Self::from_file(name),
        }
    }

    /// Reads and compiles a policy file: TOML, or JSON when the name ends in `.json`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, RulesError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| RulesError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::from_str(&text, &path.display().to_string())
    }

    /// Parses and compiles policy text; `origin` names it in errors (a file name). Text that
    /// starts with `{` is read as JSON, anything else as TOML.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(text: &str, origin: &str) -> Result<Self, RulesError> {
        Self::load_within(text, origin, &mut vec![origin.to_string()])
    }

    /// Parses, resolves `extends` and compiles; `chain` holds the policies being loaded.
    pub(crate) fn load_within(
        text: &str,
        origin: &str,
        chain: &mut Vec<String>,
    ) -> Result<Self, RulesError> {
        let file = parse(text, origin)?;
        let (file, inherited) = if file.extends.is_empty() {
            (file, Vec::new())
        } else {
            crate::extends::resolve(file, text, origin, chain)?
        };
        let policy = Self::compile(file, text, origin, inherited)?;
        if policy.file.test_on_load && !policy.file.tests.is_empty() {
            let report = crate::tests::run_policy_tests(&policy);
            if report.failed > 0 {
                let first = report
                    .results
                    .iter()
                    .find(|r| !r.passed)
                    .map(|r| format!("{}: {}", r.name, r.message))
                    .unwrap_or_default();
                return Err(RulesError::TestsFailed {
                    origin: origin.to_string(),
                    failed: report.failed,
                    total: report.results.len(),
                    first,
                });
            }
        }
        Ok(policy)
    }

    /// Compiles an already parsed policy; `text` and `origin` locate errors.
    /// A file that extends others is resolved first.
    pub fn from_parts(file: PolicyFile, text: &str, origin: &str) -> Result<Self, RulesError> {
        let (file, inherited) = if file.extends.is_empty() {
            (file, Vec::new())
        } else {
            crate::extends::resolve(file, text, origin, &mut vec![origin.to_string()])?
        };
        Self::compile(file, text, origin, inherited)
    }

    fn compile(
        file: PolicyFile,
        text: &str,
        origin: &str,
        inherited: Vec<Inherited>,
    ) -> Result<Self, RulesError> {
        let ids: Vec<&str> = file
            .rules
            .iter()
            .skip(inherited.len())
            .map(|r| r.id.as_str())
            .collect();
        let names: Vec<&str> = file.tests.iter().map(|t| t.name.as_str()).collect();
        let positions = Positions::find(text, &ids, &names);
        let locate = Locator {
            text,
            origin,
            positions: &positions,
            inherited: &inherited,
        };
        if file.version != 1 {
            return Err(locate.top("version", "unsupported version; expected 1"));
        }
        let mut environments: Vec<String> =
            file.environments.environments.keys().cloned().collect();
        for rule in &file.rules {
            for name in &rule.environments {
                if name != "unknown" && !environments.contains(name) {
                    environments.push(name.clone());
                }
            }
        }
        if environments.len() > MAX_ENVIRONMENTS {
            return Err(locate.top(
                "environments",
                &format!("at most {MAX_ENVIRONMENTS} environment names are supported"),
            ));
        }
        let mut seen = HashMap::new();
        let mut rules = Vec::with_capacity(file.rules.len());
        for (index, spec) in file.rules.iter().enumerate() {
            if spec.id.trim().is_empty() {
                return Err(locate.rule(index, "id", None, "must not be empty"));
            }
            if let Some(first) = seen.insert(spec.id.as_str(), index) {
                let _ = first;
                return Err(locate.rule(
                    index,
                    "id",
                    None,
                    &format!("duplicate rule id `{}`", spec.id),
                ));
            }
            rules.push(compile_rule(index, spec, &environments, &locate)?);
        }
        let mut agents = Vec::new();
        let mut agent_ids = HashMap::new();
        for (id, envelope) in &file.agents {
            let field = |f: &str| format!("agents.{id}.{f}");
            if let Some(threshold) = envelope.confidence_threshold {
                if !(0.0..=1.0).contains(&threshold) {
                    return Err(locate.near(
                        id,
                        &field("confidence_threshold"),
                        "must be a number from 0 to 1",
                    ));
                }
            }
            let mut selectors = Vec::new();
            for (i, glob) in envelope.rules.iter().enumerate() {
                let pattern = Pattern::name(glob)
                    .map_err(|e| locate.near(glob, &format!("{}[{i}]", field("rules")), &e))?;
                selectors.push(pattern);
            }
            let members = rules
                .iter()
                .enumerate()
                .filter(|(_, rule)| {
                    crate::pattern::any_match(&selectors, &rule.id)
                        && crate::pattern::any_match(&rule.agents, id)
                })
                .filter_map(|(i, _)| u32::try_from(i).ok())
                .collect();
            agent_ids.insert(id.clone(), agents.len());
            agents.push(CompiledAgent {
                id: id.clone(),
                home: envelope.home.clone(),
                confidence_threshold: envelope.confidence_threshold,
                index: AgentIndex::build(&rules, members),
            });
        }
        if let Some(default_agent) = &file.default_agent {
            if !file.agents.contains_key(default_agent) {
                return Err(locate.near(
                    default_agent,
                    "default_agent",
                    &format!("agent `{default_agent}` is not defined under [agents]"),
                ));
            }
        }
        let everyone = if agents.is_empty() {
            let members = (0..rules.len())
                .filter_map(|i| u32::try_from(i).ok())
                .collect();
            AgentIndex::build(&rules, members)
        } else {
            AgentIndex::default()
        };
        let inspector = ActionInspector::new(file.environments.clone());
        let uses_places = file.rules.iter().any(|rule| {
            rule.resources
                .iter()
                .chain(&rule.except_resources)
                .any(|pattern| crate::places::in_pattern(pattern) != pattern.as_str())
        });
        Ok(Self {
            origin: origin.to_string(),
            text: Arc::from(text),
            file,
            positions,
            inherited,
            rules,
            environments,
            agents,
            agent_ids,
            everyone,
            inspector,
            uses_places,
        })
    }

    /// Where the policy was read from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The policy as written.
    pub fn file(&self) -> &PolicyFile {
        &self.file
    }

    /// The ids of the rules, in file order.
    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| &*r.id)
    }

    /// The inspector built from the policy's environments.
    pub fn inspector(&self) -> &ActionInspector {
        &self.inspector
    }

    /// Line and column of rule number `index` (0-based) where it was written (for an inherited
    /// rule, in the policy it came from: see [`Policy::rule_origin`]).
    pub(crate) fn rule_position(&self, index: usize) -> (usize, usize) {
        if let Some(inherited) = self.inherited.get(index) {
            return (inherited.line, inherited.column);
        }
        self.positions
            .rules
            .get(index - self.inherited.len())
            .map_or((0, 0), |&at| line_column(&self.text, at))
    }

    /// The policy rule number `index` was written in: this one, or a base it extends.
    pub fn rule_origin(&self, index: usize) -> &str {
        self.inherited
            .get(index)
            .map_or(self.origin.as_str(), |inherited| &inherited.origin)
    }

    /// Line and column of `value` written in rule number `index`, or of the rule itself.
    pub(crate) fn value_position(&self, index: usize, value: &str) -> (usize, usize) {
        if index < self.inherited.len() {
            return self.rule_position(index);
        }
        let start = self
            .positions
            .rules
            .get(index - self.inherited.len())
            .copied()
            .unwrap_or(0);
        match find_quoted(&self.text, start, value) {
            Some(at) => line_column(&self.text, at),
            None => self.rule_position(index),
        }
    }
}

/// Parses policy text into its file form, naming line, column and field on error. A shipped
/// pack, unchanged, is read from its JSON form (the same file, parsed faster).
pub fn parse(text: &str, origin: &str) -> Result<PolicyFile, RulesError> {
    match crate::packs::shipped_json(origin, text) {
        Some(json) => parse_toml_or_json(json, origin),
        None => parse_toml_or_json(text, origin),
    }
}

/// [`parse`] of the text itself.
pub(crate) fn parse_toml_or_json(text: &str, origin: &str) -> Result<PolicyFile, RulesError> {
    if text.trim_start().starts_with('{') {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            let field = preflight_core::field_name(e.path());
            let inner = e.into_inner();
            RulesError::Invalid {
                origin: origin.to_string(),
                line: inner.line(),
                column: inner.column(),
                field,
                message: strip_position(&inner.to_string()),
            }
        })
    } else {
        let deserializer =
            toml::de::Deserializer::parse(text).map_err(|e| toml_error(text, origin, ".", &e))?;
        serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let field = preflight_core::field_name(e.path());
            toml_error(text, origin, &field, e.inner())
        })
    }
}

fn toml_error(text: &str, origin: &str, field: &str, error: &toml::de::Error) -> RulesError {
    let (line, column) = error
        .span()
        .map_or((0, 0), |span| line_column(text, span.start));
    RulesError::Invalid {
        origin: origin.to_string(),
        line,
        column,
        field: field.to_string(),
        message: error.message().trim().to_string(),
    }
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message.get(..i).unwrap_or(message).to_string(),
        None => message.to_string(),
    }
}

/// Builds errors that point into the text.
pub(crate) struct Locator<'a> {
    pub(crate) text: &'a str,
    pub(crate) origin: &'a str,
    pub(crate) positions: &'a Positions,
    pub(crate) inherited: &'a [Inherited],
}

impl Locator<'_> {
    /// Whether rule `index` was written in a pack shipped with preflight (inherited from one,
    /// or the pack itself loaded as the policy): its tests have compiled it.
    fn is_shipped(&self, index: usize) -> bool {
        match self.inherited.get(index) {
            Some(inherited) => inherited.origin.starts_with(crate::packs::PREFIX),
            None => crate::packs::is_shipped(self.origin, self.text),
        }
    }

    fn error(&self, at: usize, field: &str, message: &str) -> RulesError {
        let (line, column) = line_column(self.text, at);
        RulesError::Invalid {
            origin: self.origin.to_string(),
            line,
            column,
            field: field.to_string(),
            message: message.to_string(),
        }
    }

    fn top(&self, field: &str, message: &str) -> RulesError {
        let at = find_key(self.text, field).unwrap_or(0);
        self.error(at, field, message)
    }

    fn near(&self, value: &str, field: &str, message: &str) -> RulesError {
        let at = find_quoted(self.text, 0, value).unwrap_or(0);
        self.error(at, field, message)
    }

    pub(crate) fn rule(
        &self,
        index: usize,
        field: &str,
        value: Option<&str>,
        message: &str,
    ) -> RulesError {
        if let Some(inherited) = self.inherited.get(index) {
            return RulesError::Invalid {
                origin: inherited.origin.to_string(),
                line: inherited.line,
                column: inherited.column,
                field: format!("rule[{index}].{field}"),
                message: message.to_string(),
            };
        }
        let start = self
            .positions
            .rules
            .get(index - self.inherited.len())
            .copied()
            .unwrap_or(0);
        let at = value
            .and_then(|v| find_quoted(self.text, start, v))
            .unwrap_or(start);
        self.error(at, &format!("rule[{index}].{field}"), message)
    }
}

fn find_key(text: &str, key: &str) -> Option<usize> {
    text.find(key)
}

fn compile_rule(
    index: usize,
    spec: &RuleSpec,
    environments: &[String],
    locate: &Locator<'_>,
) -> Result<Rule, RulesError> {
    let patterns = |field: &str, list: &[String], path: bool| -> Result<Vec<Pattern>, RulesError> {
        list.iter()
            .enumerate()
            .map(|(i, text)| {
                let compiled = if path {
                    Pattern::path(&crate::places::in_pattern(text))
                } else {
                    Pattern::name(text)
                };
                compiled.map_err(|e| locate.rule(index, &format!("{field}[{i}]"), Some(text), &e))
            })
            .collect()
    };
    let agents = patterns("agents", &spec.agents, false)?;
    let tools = patterns("tools", &spec.tools, false)?;
    let resources = patterns("resources", &spec.resources, true)?;
    let except_resources = patterns("except_resources", &spec.except_resources, true)?;
    let operations = if spec.operations.is_empty() {
        ALL_OPS
    } else {
        spec.operations
            .iter()
            .fold(0, |mask, op| mask | op_bit(*op))
    };
    let environments = if spec.environments.is_empty() {
        None
    } else {
        let mut mask = 0u64;
        for name in &spec.environments {
            if name == "unknown" {
                mask |= UNKNOWN_ENV_BIT;
            } else if let Some(bit) = environments.iter().position(|e| e == name) {
                mask |= 1 << bit;
            }
        }
        Some(mask)
    };
    let mut attributes = Vec::with_capacity(spec.attributes.len());
    for (key, value) in &spec.attributes {
        let pattern = Pattern::name(value)
            .map_err(|e| locate.rule(index, &format!("attributes.{key}"), Some(value), &e))?;
        attributes.push((key.as_str().into(), pattern));
    }
    let condition = match &spec.condition {
        Some(source) if locate.is_shipped(index) => Some(Condition::deferred(source)),
        Some(source) => Some(
            Condition::compile(source)
                .map_err(|e| locate.rule(index, "condition", Some(source), &e))?,
        ),
        None => None,
    };
    if let Some(limit) = &spec.limit {
        if limit.max == 0 || limit.window_seconds == 0 {
            return Err(locate.rule(
                index,
                "limit",
                None,
                "max and window_seconds must be positive",
            ));
        }
        if spec.effect != crate::file::RuleEffect::Allow {
            return Err(locate.rule(
                index,
                "limit",
                None,
                "a limit only applies to an allow rule",
            ));
        }
    }
    Ok(Rule {
        id: spec.id.as_str().into(),
        decision: spec.effect.decision(),
        shadow: spec.shadow,
        agents,
        tools,
        operations,
        resources,
        except_resources,
        environments,
        tags: spec.tags.iter().map(|t| t.as_str().into()).collect(),
        attributes,
        recursive: spec.recursive,
        forced: spec.forced,
        unbounded: spec.unbounded,
        opaque: spec.opaque,
        condition,
        reason: spec.reason.clone(),
        suggestion: spec.suggestion.clone(),
        limit: spec.limit.clone(),
    })
}
