//! Claude Code's `PreToolUse` hook (checked against `@anthropic-ai/claude-code` 2.1.332: the
//! settings and hook output schemas bundled in its binary).
//!
//! Claude Code sends `tool_name`, `tool_input`, `cwd`, `session_id`, `permission_mode` and
//! `hook_event_name` (`PreToolUse`) on standard input, with tool names the inspector models
//! natively. It reads `hookSpecificOutput.permissionDecision` (`allow`, `deny`, `ask`) with
//! `permissionDecisionReason` from standard output; no decision leaves the call to its own
//! permission rules; exit code 2 blocks the call with standard error as the reason.

use preflight_core::Action;
use serde_json::{Value, json};

use super::{HookDecision, Payload, Reply};
use crate::error::CliError;

/// Maps a `PreToolUse` payload to an action.
///
/// `tool_use_id` is left out: it differs on every call, and an approval binds to the digest
/// of the action, which must be the same when the agent retries the call.
pub fn action(payload: &Payload) -> Result<Action, CliError> {
    payload.expect_event("hook_event_name", &["PreToolUse"])?;
    let tool = payload.required_string("tool_name")?;
    let input = payload.required_object("tool_input")?;
    let mut action = Action::new(tool, Value::Object(input));
    action.agent.session = payload.optional_string("session_id")?;
    action.context.cwd = payload.optional_string("cwd")?;
    if let Some(mode) = payload.optional_string("permission_mode")? {
        action
            .context
            .labels
            .insert("claude_code.permission_mode".into(), mode);
    }
    Ok(action)
}

/// The answer Claude Code reads for `decision`.
pub fn answer(decision: &HookDecision) -> Reply {
    let (permission, reason) = match decision {
        // No permission decision: Claude Code applies its own rules and prompts as usual.
        // (`defer` is not that: it pauses headless runs for an SDK caller to resume.)
        HookDecision::NoOpinion => return Reply::silent(),
        HookDecision::Allow(reason) => ("allow", reason),
        HookDecision::Deny(reason) => ("deny", reason),
        HookDecision::Ask(reason) => ("ask", reason),
    };
    Reply::json(json!({
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": permission,
            "permissionDecisionReason": reason,
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hosts::Host;

    #[test]
    fn payload_fields_map_to_the_action() {
        let action = Host::ClaudeCode
            .parse(
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
                .get("claude_code.permission_mode")
                .map(String::as_str),
            Some("default")
        );
    }

    #[test]
    fn a_retried_call_has_the_same_digest() {
        let call = |id: &str| {
            Host::ClaudeCode
                .parse(
                    &json!({"session_id":"s1","cwd":"/repo","hook_event_name":"PreToolUse",
                        "tool_name":"Bash","tool_input":{"command":"rm -rf target"},
                        "tool_use_id": id})
                    .to_string(),
                    None,
                )
                .unwrap()
                .digest()
        };
        assert_eq!(call("toolu_1"), call("toolu_2"));
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
            let error = Host::ClaudeCode.parse(text, None).unwrap_err().to_string();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }

    #[test]
    fn decisions_map_to_claude_code_permissions() {
        let decision = |d: &HookDecision| {
            answer(d).stdout.map(|v| {
                v["hookSpecificOutput"]["permissionDecision"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
        };
        assert_eq!(
            decision(&HookDecision::Allow("r".into())).as_deref(),
            Some("allow")
        );
        assert_eq!(
            decision(&HookDecision::Deny("r".into())).as_deref(),
            Some("deny")
        );
        assert_eq!(
            decision(&HookDecision::Ask("r".into())).as_deref(),
            Some("ask")
        );
        assert_eq!(decision(&HookDecision::NoOpinion), None);
    }
}
