//! The Claude Code `PreToolUse` hook: payload → action → verdict → permission decision.

use preflight_core::{Action, Decision};
use serde_json::{Map, Value, json};

use crate::engine::Decided;
use crate::error::CliError;

/// Maps a Claude Code `PreToolUse` payload to an action.
///
/// Reads `tool_name` (required, non-empty), `tool_input` (required, an object), `cwd`,
/// `session_id`, `tool_use_id`, `permission_mode` and `hook_event_name` (when present it must be
/// `PreToolUse`); other fields are ignored, as Claude Code adds fields over time. Errors name
/// the field at fault.
pub fn action_from_payload(text: &str, agent: Option<&str>) -> Result<Action, CliError> {
    if text.trim().is_empty() {
        return Err(CliError::Input(
            "hook payload: standard input is empty; expected a Claude Code PreToolUse payload"
                .into(),
        ));
    }
    let value: Value = serde_json::from_str(text).map_err(|e| {
        CliError::Input(format!(
            "hook payload: invalid JSON at line {}, column {}: {e}",
            e.line(),
            e.column()
        ))
    })?;
    let Value::Object(payload) = value else {
        return Err(CliError::Input(
            "hook payload: expected a JSON object".into(),
        ));
    };
    let field = |name: &str, message: &str| {
        CliError::Input(format!("hook payload: field `{name}`: {message}"))
    };
    let optional_string = |name: &str| -> Result<Option<String>, CliError> {
        match payload.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(field(name, "expected a string")),
        }
    };
    if let Some(event) = optional_string("hook_event_name")? {
        if event != "PreToolUse" {
            return Err(field(
                "hook_event_name",
                &format!("this hook answers PreToolUse only, not `{event}`"),
            ));
        }
    }
    let tool = optional_string("tool_name")?
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| field("tool_name", "missing or empty"))?;
    let input = match payload.get("tool_input") {
        Some(Value::Object(input)) => Value::Object(input.clone()),
        Some(_) => return Err(field("tool_input", "expected an object")),
        None => return Err(field("tool_input", "missing")),
    };
    let mut action = Action::new(tool, input);
    action.agent.id = Some(agent.unwrap_or("claude-code").to_string());
    action.agent.session = optional_string("session_id")?;
    action.context.cwd = optional_string("cwd")?;
    action.context.home = std::env::var("HOME").ok().filter(|h| !h.is_empty());
    let mut labels = std::collections::BTreeMap::new();
    for name in ["tool_use_id", "permission_mode"] {
        if let Some(value) = optional_string(name)? {
            labels.insert(format!("claude_code.{name}"), value);
        }
    }
    action.context.labels = labels;
    action
        .validate()
        .map_err(|e| CliError::Input(format!("hook payload: {e}")))?;
    Ok(action)
}

/// The permission decision Claude Code understands for a decision.
pub fn permission_decision(decision: Decision) -> &'static str {
    match decision {
        Decision::Allow => "allow",
        Decision::Escalate => "ask",
        // An abstention never reaches here (the engine turns it into the fail-closed deny);
        // should it, it is a deny.
        Decision::Deny | Decision::Abstain => "deny",
    }
}

/// The hook's answer on standard output.
pub fn answer(decided: &Decided) -> Value {
    let mut reason = format!("preflight: {}", decided.message);
    if let Some(suggestion) = &decided.suggestion {
        reason.push_str(&format!(" (suggestion: {suggestion})"));
    }
    let mut output = Map::new();
    output.insert("hookEventName".into(), json!("PreToolUse"));
    output.insert(
        "permissionDecision".into(),
        json!(permission_decision(decided.decision)),
    );
    output.insert("permissionDecisionReason".into(), json!(reason));
    json!({ "hookSpecificOutput": output })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_fields_map_to_the_action() {
        let action = action_from_payload(
            r#"{"session_id":"s1","transcript_path":"/t.jsonl","cwd":"/repo",
                "hook_event_name":"PreToolUse","tool_name":"Bash",
                "tool_input":{"command":"ls","description":"list"},"tool_use_id":"toolu_1",
                "permission_mode":"default"}"#,
            None,
        )
        .unwrap();
        assert_eq!(action.tool, "Bash");
        assert_eq!(action.input["command"], "ls");
        assert_eq!(action.context.cwd.as_deref(), Some("/repo"));
        assert_eq!(action.agent.session.as_deref(), Some("s1"));
        assert_eq!(action.agent.id.as_deref(), Some("claude-code"));
        assert_eq!(
            action
                .context
                .labels
                .get("claude_code.tool_use_id")
                .map(String::as_str),
            Some("toolu_1")
        );
    }

    #[test]
    fn bad_payloads_name_the_field() {
        let cases = [
            ("", "empty"),
            ("{", "invalid JSON"),
            ("[1]", "JSON object"),
            (r#"{"tool_input":{}}"#, "`tool_name`"),
            (r#"{"tool_name":"Bash"}"#, "`tool_input`"),
            (r#"{"tool_name":"Bash","tool_input":"ls"}"#, "`tool_input`"),
            (r#"{"tool_name":7,"tool_input":{}}"#, "`tool_name`"),
            (
                r#"{"hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{}}"#,
                "`hook_event_name`",
            ),
        ];
        for (text, expected) in cases {
            let error = action_from_payload(text, None).unwrap_err().to_string();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }

    #[test]
    fn decisions_map_to_claude_code_permissions() {
        assert_eq!(permission_decision(Decision::Allow), "allow");
        assert_eq!(permission_decision(Decision::Deny), "deny");
        assert_eq!(permission_decision(Decision::Escalate), "ask");
        assert_eq!(permission_decision(Decision::Abstain), "deny");
    }
}
