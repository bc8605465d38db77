//! What an action really does, as derived by inspection of its raw input.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::action::{Action, BlastRadius};

/// The kind of thing an effect does to a resource.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Reads without changing anything.
    Read,
    /// Creates a resource.
    Create,
    /// Changes an existing resource.
    Update,
    /// Deletes, terminates or destroys a resource.
    Delete,
    /// Runs a program or code.
    Execute,
    /// Changes who may do what: file modes, owners, IAM.
    PermissionChange,
    /// Sends data across the network.
    NetworkSend,
}

impl Operation {
    /// Every operation, in order.
    pub const ALL: [Operation; 7] = [
        Operation::Read,
        Operation::Create,
        Operation::Update,
        Operation::Delete,
        Operation::Execute,
        Operation::PermissionChange,
        Operation::NetworkSend,
    ];

    /// Whether the operation may change the world (everything but [`Operation::Read`]).
    pub fn is_mutating(self) -> bool {
        !matches!(self, Operation::Read)
    }

    /// The snake-case name used in policies and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Read => "read",
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Delete => "delete",
            Operation::Execute => "execute",
            Operation::PermissionChange => "permission_change",
            Operation::NetworkSend => "network_send",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Operation {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Operation::ALL
            .into_iter()
            .find(|op| op.as_str() == text)
            .ok_or_else(|| {
                format!(
                    "unknown operation `{text}`; expected one of {}",
                    Operation::ALL.map(Operation::as_str).join(", ")
                )
            })
    }
}

/// One thing an action does to one resource (or one pattern of resources).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Effect {
    /// What is done.
    pub operation: Operation,
    /// The normalised resource as a URI: `file:///abs/path`, `aws://prod/ec2/instance/i-1`,
    /// `k8s://prod-cluster/payments/namespace/payments`, `sql://db.prod.internal/app/users`,
    /// `https://host/path`, `cmd://cargo`.
    pub resource: String,
    /// The environment derived from the resource itself, when it can be recognised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The effect applies recursively (a directory tree, every object under a prefix).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recursive: bool,
    /// The effect overrides a safety check (`-f`, `--force`, `--yes`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forced: bool,
    /// The effect has no bound (a `DELETE` without `WHERE`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unbounded: bool,
    /// What the effect does could not be analysed (`python -c`, `eval`, an unknown program):
    /// never treat it as harmless.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub opaque: bool,
    /// Risk markers inspection recognised, such as `privilege_escalation`, `remote_code`,
    /// `raw_disk_write`, `secret`, `force_push`, `history_rewrite`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Facts a rule may test: `command`, `subcommand`, `branch`, `method`, `host`, `kind`, …
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// How inspection got there, for people: `rm -rf ~ (in bash -c)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

impl Effect {
    /// An effect with no flags, tags or attributes.
    pub fn new(operation: Operation, resource: impl Into<String>) -> Self {
        Self {
            operation,
            resource: resource.into(),
            environment: None,
            recursive: false,
            forced: false,
            unbounded: false,
            opaque: false,
            tags: Vec::new(),
            attributes: BTreeMap::new(),
            evidence: None,
        }
    }

    /// Whether the effect carries `tag`.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }
}

/// What inspection derived from an action.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Inspection {
    /// Every effect, in the order the action would cause them.
    pub effects: Vec<Effect>,
    /// The derived blast radius.
    #[serde(default)]
    pub blast_radius: BlastRadius,
    /// Problems met while inspecting (a parse error, a truncated input). Any note means some
    /// part of the action was not understood.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Inspection {
    /// Whether any effect is opaque.
    pub fn is_opaque(&self) -> bool {
        self.effects.iter().any(|e| e.opaque)
    }

    /// Whether any effect may change the world.
    pub fn is_mutating(&self) -> bool {
        self.effects
            .iter()
            .any(|e| e.operation.is_mutating() || e.opaque)
    }

    /// The distinct environments the effects touch, sorted.
    pub fn environments(&self) -> Vec<&str> {
        let mut environments: Vec<&str> = self
            .effects
            .iter()
            .filter_map(|e| e.environment.as_deref())
            .collect();
        environments.sort_unstable();
        environments.dedup();
        environments
    }
}

/// Turns a raw tool call into the effects it will have.
///
/// # Contract
/// - Inspection is pure and deterministic: no file system, network or clock.
/// - It never fails: what it cannot analyse becomes an opaque effect, and a problem becomes a
///   note; neither is ever a reason to allow.
pub trait Inspector: Send + Sync + fmt::Debug {
    /// Derives the effects of `action`.
    fn inspect(&self, action: &Action) -> Inspection;
}

impl<T: Inspector + ?Sized> Inspector for &T {
    fn inspect(&self, action: &Action) -> Inspection {
        (**self).inspect(action)
    }
}

impl<T: Inspector + ?Sized> Inspector for Box<T> {
    fn inspect(&self, action: &Action) -> Inspection {
        (**self).inspect(action)
    }
}

impl<T: Inspector + ?Sized> Inspector for std::sync::Arc<T> {
    fn inspect(&self, action: &Action) -> Inspection {
        (**self).inspect(action)
    }
}
