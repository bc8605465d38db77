//! Scopes: sets of operations × resource patterns × environments, with limits.
//!
//! One type serves both sides of the question "does this change stay inside the envelope?":
//! the scope a change touches, and the scope an agent may touch. [`Scope::contains`] answers it.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::effect::{Effect, Operation};

/// A union of [`ScopeEntry`]s.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// The entries; the scope is their union.
    pub entries: Vec<ScopeEntry>,
}

/// Operations on resources in environments, with an optional limit on how many resources.
///
/// An empty `operations`, `resources` or `environments` set means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeEntry {
    /// The operations allowed; empty means any.
    #[serde(default)]
    pub operations: BTreeSet<Operation>,
    /// Resource patterns (see [`ResourcePattern`]); empty means any.
    #[serde(default)]
    pub resources: Vec<ResourcePattern>,
    /// Environment names; empty means any.
    #[serde(default)]
    pub environments: BTreeSet<String>,
    /// At most this many resources, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_resources: Option<u64>,
}

/// A resource URI pattern.
///
/// A `*` matches within one path segment (never a `/`); a trailing `/**` matches the prefix
/// itself and everything below it; anything else matches literally. Deliberately small, so
/// that containment between two patterns can be decided exactly.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct ResourcePattern(pub String);

impl ResourcePattern {
    /// A pattern from its text.
    pub fn new(pattern: impl Into<String>) -> Self {
        Self(pattern.into())
    }

    /// Whether the resource URI matches this pattern.
    pub fn matches(&self, resource: &str) -> bool {
        match self.0.strip_suffix("/**") {
            Some(prefix) => {
                segments_match(prefix, resource)
                    || resource
                        .char_indices()
                        .filter(|(_, c)| *c == '/')
                        .any(|(i, _)| segments_match(prefix, &resource[..i]))
            }
            None => segments_match(&self.0, resource),
        }
    }

    /// Whether every resource this pattern matches is matched by `outer` too.
    pub fn is_within(&self, outer: &ResourcePattern) -> bool {
        match (self.0.strip_suffix("/**"), outer.0.strip_suffix("/**")) {
            (_, None) if self.0.ends_with("/**") => false,
            (None, _) => {
                // A pattern with wildcards is within `outer` when `outer` matches it read
                // literally and `outer` has a wildcard wherever it has one.
                outer.matches(&self.0) && wildcards_covered(&self.0, outer)
            }
            (Some(inner), Some(prefix)) => {
                let outer_prefix = ResourcePattern(format!("{prefix}/**"));
                outer_prefix.matches(inner) && wildcards_covered(inner, &outer_prefix)
            }
            (Some(_), None) => false,
        }
    }
}

/// A `*` in `inner` stands for any segment text; `outer` must accept that by having a `*` or
/// `/**` at the same place.
fn wildcards_covered(inner: &str, outer: &ResourcePattern) -> bool {
    if !inner.contains('*') {
        return true;
    }
    // Replace each `*` with a character no literal segment of `outer` can contain at that
    // position unless it is itself a wildcard.
    let probe: String = inner.replace('*', "\u{0}");
    outer.matches(&probe)
}

/// Matches `text` against `pattern`, where `*` matches any run of characters other than `/`.
fn segments_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((star_p, star_t)) = star {
            if text[star_t] == '/' {
                return false;
            }
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    while p < pattern.len() && pattern[p] == '*' {
        p += 1;
    }
    p == pattern.len()
}

impl ScopeEntry {
    /// Whether this entry covers one effect.
    pub fn covers(&self, effect: &Effect) -> bool {
        (self.operations.is_empty() || self.operations.contains(&effect.operation))
            && (self.resources.is_empty()
                || self.resources.iter().any(|p| p.matches(&effect.resource)))
            && (self.environments.is_empty()
                || effect
                    .environment
                    .as_ref()
                    .is_some_and(|e| self.environments.contains(e)))
    }

    /// Whether every (operation, resource, environment) of `inner` is within this entry.
    pub fn contains(&self, inner: &ScopeEntry) -> bool {
        let operations = self.operations.is_empty()
            || (!inner.operations.is_empty() && inner.operations.is_subset(&self.operations));
        let environments = self.environments.is_empty()
            || (!inner.environments.is_empty() && inner.environments.is_subset(&self.environments));
        let resources = self.resources.is_empty()
            || (!inner.resources.is_empty()
                && inner
                    .resources
                    .iter()
                    .all(|r| self.resources.iter().any(|o| r.is_within(o))));
        let limit = match (self.max_resources, inner.max_resources) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(outer), Some(inner)) => inner <= outer,
        };
        operations && environments && resources && limit
    }
}

impl Scope {
    /// A scope of one entry.
    pub fn single(entry: ScopeEntry) -> Self {
        Self {
            entries: vec![entry],
        }
    }

    /// Whether every entry of `inner` lies within some entry of `self`.
    ///
    /// Conservative: an entry of `inner` split across two entries of `self` is reported as not
    /// contained, which can only cause an escalation, never an allow.
    pub fn contains(&self, inner: &Scope) -> bool {
        inner
            .entries
            .iter()
            .all(|i| self.entries.iter().any(|o| o.contains(i)))
    }

    /// Whether some entry covers `effect`.
    pub fn covers(&self, effect: &Effect) -> bool {
        self.entries.iter().any(|e| e.covers(effect))
    }

    /// The scope that exactly describes a list of effects.
    pub fn of_effects(effects: &[Effect]) -> Self {
        Self {
            entries: effects
                .iter()
                .map(|e| ScopeEntry {
                    operations: BTreeSet::from([e.operation]),
                    resources: vec![ResourcePattern(e.resource.clone())],
                    environments: e.environment.iter().cloned().collect(),
                    max_resources: None,
                })
                .collect(),
        }
    }
}
