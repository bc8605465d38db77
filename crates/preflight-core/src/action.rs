//! The proposed action: who proposes it, which tool with which input, why, and what the agent
//! declares it will touch.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::scope::Scope;

/// An action an agent proposes, before it has any side effect.
///
/// Deserializes from the case format of a corpus (`tool`, `input`, `context`, `reasoning`,
/// `declared`, `confidence`); unknown fields are errors. Use [`Action::from_json`] for an error
/// that names the offending field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// Who proposes the action and for whom.
    #[serde(default, skip_serializing_if = "Agent::is_empty")]
    pub agent: Agent,
    /// The tool the agent wants to call: `Bash`, `aws.api`, `mcp__filesystem__write_file`, …
    pub tool: String,
    /// The tool's raw input, exactly as the agent produced it.
    #[serde(default, serialize_with = "serialize_sorted")]
    pub input: Value,
    /// The agent's reasoning for this action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// The user task this action serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// What the agent declares about the action's reach.
    #[serde(default, skip_serializing_if = "Declared::is_empty")]
    pub declared: Declared,
    /// The agent's own confidence that the action is right, from 0 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// Where the action runs.
    #[serde(default, skip_serializing_if = "Context::is_empty")]
    pub context: Context,
}

/// The agent proposing an action and the person it acts for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Agent {
    /// A stable identifier of the agent, such as `infra-bot`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The person the agent acts for, such as `alice@example.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<String>,
    /// The agent's session or conversation, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

impl Agent {
    fn is_empty(&self) -> bool {
        self.id.is_none() && self.on_behalf_of.is_none() && self.session.is_none()
    }
}

/// What the agent declares about its action. Inspection compares this with what it derives
/// from the raw input; the derived facts win, and an under-declaration is itself a reason to
/// escalate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Declared {
    /// The environment the agent believes it acts in (`prod`, `staging`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The operations and resources the agent says the change touches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    /// The expected blast radius.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blast_radius: Option<BlastRadius>,
}

impl Declared {
    fn is_empty(&self) -> bool {
        self.environment.is_none() && self.scope.is_none() && self.blast_radius.is_none()
    }
}

/// How far an action reaches: declared by the agent, or derived by inspection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BlastRadius {
    /// How many resources are affected, when it is known and bounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<u64>,
    /// The action has no bound: a `DELETE` without `WHERE`, a recursive delete of a root, …
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unbounded: bool,
    /// Whether the change can be undone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reversible: Option<bool>,
    /// Whether data may be lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_loss: Option<bool>,
    /// Whether a service may go down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downtime: Option<bool>,
}

impl BlastRadius {
    /// Whether `self` (derived) reaches further than `declared`: more resources, unbounded
    /// where the declaration was bounded, irreversible or lossy where it claimed otherwise.
    pub fn exceeds(&self, declared: &BlastRadius) -> bool {
        if self.unbounded && !declared.unbounded {
            return true;
        }
        if let (Some(derived), Some(said)) = (self.resources, declared.resources) {
            if derived > said {
                return true;
            }
        }
        let claims_false = |derived: Option<bool>, said: Option<bool>| {
            derived == Some(true) && said == Some(false)
        };
        self.reversible == Some(false) && declared.reversible == Some(true)
            || claims_false(self.data_loss, declared.data_loss)
            || claims_false(self.downtime, declared.downtime)
    }
}

/// Where an action runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Context {
    /// The working directory relative paths resolve from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// The home directory `~` and `$HOME` expand to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home: Option<String>,
    /// Environment variables visible to the tool.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Free-form labels (team, ticket, run id) carried into the audit trail.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Hints an MCP server publishes about the tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_annotations: Option<ToolAnnotations>,
}

impl Context {
    fn is_empty(&self) -> bool {
        *self == Context::default()
    }
}

/// The hints an MCP server attaches to a tool (`readOnlyHint`, `destructiveHint`, …). They are
/// claims of the server, used as inputs to inspection, never as proof of harmlessness.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ToolAnnotations {
    /// The tool claims not to modify its environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only_hint: Option<bool>,
    /// The tool may perform destructive updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destructive_hint: Option<bool>,
    /// Calling the tool again with the same arguments has no further effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotent_hint: Option<bool>,
    /// The tool talks to an open world of external entities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_world_hint: Option<bool>,
}

/// Why an action could not be read. Names the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid action: field `{field}`: {message}")]
pub struct ActionError {
    /// The path of the offending field (`declared.blast_radius.resources`), or `.` for the whole
    /// document.
    pub field: String,
    /// What was wrong with it.
    pub message: String,
    /// The line in the input the error was found at, when known.
    pub line: Option<usize>,
    /// The column in the input the error was found at, when known.
    pub column: Option<usize>,
}

impl Action {
    /// An action calling `tool` with `input`; every other field empty.
    pub fn new(tool: impl Into<String>, input: Value) -> Self {
        Self {
            agent: Agent::default(),
            tool: tool.into(),
            input,
            reasoning: None,
            task: None,
            declared: Declared::default(),
            confidence: None,
            context: Context::default(),
        }
    }

    /// Sets the proposing agent's id.
    pub fn with_agent(mut self, id: impl Into<String>) -> Self {
        self.agent.id = Some(id.into());
        self
    }

    /// Sets the agent's reasoning.
    pub fn with_reasoning(mut self, reasoning: impl Into<String>) -> Self {
        self.reasoning = Some(reasoning.into());
        self
    }

    /// Sets the working directory.
    pub fn with_cwd(mut self, cwd: impl Into<String>) -> Self {
        self.context.cwd = Some(cwd.into());
        self
    }

    /// Parses an action from JSON, naming the field at fault on error.
    pub fn from_json(text: &str) -> Result<Self, ActionError> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let action: Action = serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|e| ActionError::from_path_error(&e))?;
        deserializer.end().map_err(|e| ActionError {
            field: ".".into(),
            message: e.to_string(),
            line: Some(e.line()),
            column: Some(e.column()),
        })?;
        action.validate()?;
        Ok(action)
    }

    /// Reads an action from a JSON value, naming the field at fault on error.
    pub fn from_value(value: Value) -> Result<Self, ActionError> {
        let action: Action = serde_path_to_error::deserialize(value)
            .map_err(|e| ActionError::from_path_error(&e))?;
        action.validate()?;
        Ok(action)
    }

    /// Checks what the types cannot: a tool name, a confidence within 0..=1.
    pub fn validate(&self) -> Result<(), ActionError> {
        let invalid = |field: &str, message: &str| ActionError {
            field: field.into(),
            message: message.into(),
            line: None,
            column: None,
        };
        if self.tool.trim().is_empty() {
            return Err(invalid("tool", "must not be empty"));
        }
        if let Some(confidence) = self.confidence {
            if !(0.0..=1.0).contains(&confidence) {
                return Err(invalid("confidence", "must be a number from 0 to 1"));
            }
        }
        Ok(())
    }

    /// The canonical digest of this action: SHA-256 over its canonical JSON (object keys
    /// sorted, no insignificant white space). Stable under field reordering; any change to
    /// any field changes it.
    pub fn digest(&self) -> ActionDigest {
        thread_local! {
            static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        // Struct fields serialize in declaration order and maps are sorted (see
        // `serialize_sorted`), so the bytes are canonical without an intermediate value. They
        // go to a reused buffer and are hashed in one call: feeding the hash fragment by
        // fragment costs more than the copy.
        BUFFER.with(|buffer| {
            let mut bytes = buffer.take();
            bytes.clear();
            // Serializing plain data into memory cannot fail.
            let _ = serde_json::to_writer(&mut bytes, self);
            let digest = ActionDigest(Sha256::digest(&bytes).into());
            if bytes.capacity() <= 64 * 1024 {
                buffer.replace(bytes);
            }
            digest
        })
    }

    /// Whether the agent declared a scope or blast radius at all.
    pub fn has_declarations(&self) -> bool {
        !self.declared.is_empty()
    }
}

impl ActionError {
    fn from_path_error<E: fmt::Display>(error: &serde_path_to_error::Error<E>) -> Self {
        let path = field_name(error.path());
        let inner = error.inner().to_string();
        // serde_json appends " at line L column C"; keep it as data, not text.
        let (message, line, column) = split_position(&inner);
        Self {
            field: path,
            message,
            line,
            column,
        }
    }
}

/// The path of the field at fault (`declared.scope.entries[0].operations`, `.` for the whole
/// document), as `serde_path_to_error` writes it, but with a key written as an empty string
/// named `""` rather than printed as nothing.
pub fn field_name(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut name = String::new();
    for segment in path {
        let key = match segment {
            Segment::Seq { index } => {
                name.push_str(&format!("[{index}]"));
                continue;
            }
            Segment::Map { key } | Segment::Enum { variant: key } => key.as_str(),
            Segment::Unknown => "?",
        };
        if !name.is_empty() {
            name.push('.');
        }
        name.push_str(if key.is_empty() { "\"\"" } else { key });
    }
    if name.is_empty() { ".".into() } else { name }
}

fn split_position(message: &str) -> (String, Option<usize>, Option<usize>) {
    if let Some(index) = message.rfind(" at line ") {
        let tail = &message[index + " at line ".len()..];
        let mut parts = tail.split(" column ");
        let line = parts.next().and_then(|l| l.trim().parse().ok());
        let column = parts.next().and_then(|c| c.trim().parse().ok());
        if line.is_some() {
            return (message[..index].to_string(), line, column);
        }
    }
    (message.to_string(), None, None)
}

/// Serializes a JSON value with object keys sorted by their UTF-8 bytes, whatever map
/// implementation `serde_json` was built with (`preserve_order` keeps insertion order).
fn serialize_sorted<S: serde::Serializer>(value: &Value, serializer: S) -> Result<S::Ok, S::Error> {
    Sorted(value).serialize(serializer)
}

struct Sorted<'a>(&'a Value);

impl Serialize for Sorted<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.0 {
            Value::Object(map) => {
                let mut out = serializer.serialize_map(Some(map.len()))?;
                // Without `preserve_order` the map is a B-tree and already sorted: no copy.
                let sorted = map
                    .keys()
                    .zip(map.keys().skip(1))
                    .all(|(a, b)| a.as_bytes() < b.as_bytes());
                if sorted {
                    for (key, item) in map {
                        out.serialize_entry(key, &Sorted(item))?;
                    }
                } else {
                    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                    entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
                    for (key, item) in entries {
                        out.serialize_entry(key, &Sorted(item))?;
                    }
                }
                out.end()
            }
            Value::Array(items) => {
                let mut out = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    out.serialize_element(&Sorted(item))?;
                }
                out.end()
            }
            scalar => scalar.serialize(serializer),
        }
    }
}

/// The SHA-256 digest identifying exactly one action. Displayed as 64 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ActionDigest(pub [u8; 32]);

impl ActionDigest {
    /// The digest as 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        crate::time::ascii_text(&self.hex_digits()).into_owned()
    }

    fn hex_digits(&self) -> [u8; 64] {
        let mut digits = [0u8; 64];
        crate::time::write_hex(&self.0, &mut digits);
        digits
    }

    /// Parses 64 hex digits.
    pub fn from_hex(text: &str) -> Option<Self> {
        crate::time::from_hex(text)?.try_into().ok().map(Self)
    }
}

impl fmt::Display for ActionDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::time::ascii_text(&self.hex_digits()))
    }
}

impl fmt::Debug for ActionDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ActionDigest({self})")
    }
}

impl Serialize for ActionDigest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&crate::time::ascii_text(&self.hex_digits()))
    }
}

impl<'de> Deserialize<'de> for ActionDigest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::from_hex(&text)
            .ok_or_else(|| serde::de::Error::custom("expected 64 hexadecimal digits"))
    }
}

impl JsonSchema for ActionDigest {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ActionDigest".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9a-f]{64}$",
            "description": "SHA-256 of the action's canonical JSON"
        })
    }
}
