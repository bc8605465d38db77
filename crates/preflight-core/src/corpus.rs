//! Labelled cases: an action and the verdict expected of it, one JSON object a line.
//!
//! The format of a case is an [`Action`] with four more fields: `id`, `expect` (`allow`,
//! `deny`, `escalate`, or `block` — deny or escalate, the action must not run without a
//! person), and optionally `source` and `why`.

use std::fmt;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::action::Action;
use crate::verdict::Decision;

/// The verdict a case expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// Must be allowed.
    Allow,
    /// Must be denied.
    Deny,
    /// Must be escalated to a person.
    Escalate,
    /// Must not run without a person: deny or escalate.
    Block,
}

impl Expect {
    /// Whether `decision` satisfies the expectation.
    pub fn accepts(self, decision: Decision) -> bool {
        match self {
            Expect::Allow => decision == Decision::Allow,
            Expect::Deny => decision == Decision::Deny,
            Expect::Escalate => decision == Decision::Escalate,
            Expect::Block => matches!(decision, Decision::Deny | Decision::Escalate),
        }
    }
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expect::Allow => "allow",
            Expect::Deny => "deny",
            Expect::Escalate => "escalate",
            Expect::Block => "block",
        })
    }
}

/// One labelled case.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// The case's id.
    pub id: String,
    /// Where it comes from (an incident, "common").
    pub source: Option<String>,
    /// The expected verdict.
    pub expect: Expect,
    /// Why that verdict.
    pub why: Option<String>,
    /// The action.
    pub action: Action,
    /// The line of the file it was read from (1-based).
    pub line: usize,
    /// The sources disagree on the expected verdict (`peer_disagreement`): left out of
    /// scores.
    pub disputed: bool,
    /// A note on the case (`envelope_note`), for people.
    pub note: Option<String>,
}

/// Why a corpus could not be read. Names the file, line and field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}:{line}: field `{field}`: {message}")]
pub struct CorpusError {
    /// The file (or other origin) read.
    pub origin: String,
    /// The line (1-based).
    pub line: usize,
    /// The field at fault, or `.` for the whole line.
    pub field: String,
    /// What was wrong.
    pub message: String,
}

/// Reads the cases of a JSON Lines file.
pub fn load_cases(path: &Path) -> Result<Vec<Case>, CorpusError> {
    let text = std::fs::read_to_string(path).map_err(|e| CorpusError {
        origin: path.display().to_string(),
        line: 0,
        field: ".".into(),
        message: e.to_string(),
    })?;
    parse_cases(&text, &path.display().to_string())
}

/// Parses cases from JSON Lines text; `origin` names it in errors. Blank lines and lines
/// starting with `#` are skipped.
pub fn parse_cases(text: &str, origin: &str) -> Result<Vec<Case>, CorpusError> {
    let mut cases = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        cases.push(parse_case(trimmed, origin, index + 1)?);
    }
    Ok(cases)
}

/// Parses one case from one line of JSON.
pub fn parse_case(text: &str, origin: &str, line: usize) -> Result<Case, CorpusError> {
    let error = |field: &str, message: String| CorpusError {
        origin: origin.to_string(),
        line,
        field: field.to_string(),
        message,
    };
    let value: Value = serde_json::from_str(text).map_err(|e| error(".", e.to_string()))?;
    let Value::Object(mut object) = value else {
        return Err(error(".", "expected a JSON object".into()));
    };
    let mut take_string = |field: &str, required: bool| -> Result<Option<String>, CorpusError> {
        match object.remove(field) {
            Some(Value::String(text)) => Ok(Some(text)),
            Some(other) => Err(error(field, format!("expected a string, found {other}"))),
            None if required => Err(error(field, "missing field".into())),
            None => Ok(None),
        }
    };
    let id = take_string("id", true)?.unwrap_or_default();
    let source = take_string("source", false)?;
    let why = take_string("why", false)?;
    let expect_text = take_string("expect", true)?.unwrap_or_default();
    let note = take_string("envelope_note", false)?;
    let disputed = match object.remove("peer_disagreement") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(flag)) => flag,
        // A reason, or the sources that disagree, written instead of `true`.
        Some(Value::String(_) | Value::Array(_)) => true,
        Some(other) => {
            return Err(error(
                "peer_disagreement",
                format!("expected true, false or a reason, found {other}"),
            ));
        }
    };
    let expect: Expect =
        serde_json::from_value(Value::String(expect_text.clone())).map_err(|_| {
            error(
                "expect",
                format!("unknown verdict `{expect_text}`; expected allow, deny, escalate or block"),
            )
        })?;
    let action =
        Action::from_value(Value::Object(object)).map_err(|e| error(&e.field, e.message))?;
    Ok(Case {
        id,
        source,
        expect,
        why,
        action,
        line,
        disputed,
        note,
    })
}
