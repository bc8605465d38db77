//! OpenAI Codex CLI's `PreToolUse` hook (checked against `@openai/codex` 0.171.0: the JSON
//! schemas `pre-tool-use.command.input` and `pre-tool-use.command.output` embedded in its
//! binary, and `codex-rs/hooks/src/events/pre_tool_use.rs`).
//!
//! Codex sends `session_id`, `turn_id`, `transcript_path`, `cwd`, `hook_event_name`, `model`,
//! `permission_mode`, `tool_name`, `tool_input` and `tool_use_id`, with shell calls as `Bash
//! {command}`, file edits as `apply_patch {command: <patch>}`, and MCP tools as
//! `mcp__<server>__<tool>`. It blocks on `hookSpecificOutput.permissionDecision: "deny"` with
//! a non-empty reason, or on exit code 2 with the reason on standard error. It treats `allow`
//! without `updatedInput` and `ask` as a failed hook and runs the call, so an allow says
//! nothing and an escalation is a deny.

use preflight_core::Action;
use serde_json::{Map, Value, json};

use super::{HookDecision, Payload, Reply};
use crate::error::CliError;

/// Maps a `PreToolUse` payload to an action. `turn_id` and `tool_use_id` change on every call
/// and are left out, so that a retried call has the same digest.
pub fn action(payload: &Payload) -> Result<Action, CliError> {
    payload.expect_event("hook_event_name", &["PreToolUse"])?;
    let tool = payload.required_string("tool_name")?;
    let input = payload.required_object("tool_input")?;
    let (tool, input) = match tool.as_str() {
        "apply_patch" => patch_action(input),
        _ => (tool, input),
    };
    let mut action = Action::new(tool, Value::Object(input));
    action.agent.session = payload.optional_string("session_id")?;
    action.context.cwd = payload.optional_string("cwd")?;
    for name in ["permission_mode", "model"] {
        if let Some(value) = payload.optional_string(name)? {
            action.context.labels.insert(format!("codex.{name}"), value);
        }
    }
    Ok(action)
}

/// A patch that adds or updates one file is a `Write` or an `Edit` of it; anything else (a
/// deletion, a move, several files, text that is not a patch) stays `apply_patch`, opaque.
fn patch_action(input: Map<String, Value>) -> (String, Map<String, Value>) {
    let Some(patch) = input
        .get("command")
        .or_else(|| input.get("input"))
        .and_then(Value::as_str)
    else {
        return ("apply_patch".into(), input);
    };
    let mut files = Vec::new();
    let mut other_operation = false;
    for line in patch.lines() {
        if let Some(path) = line.strip_prefix("*** Add File: ") {
            files.push(("Write", path.trim().to_string()));
        } else if let Some(path) = line.strip_prefix("*** Update File: ") {
            files.push(("Edit", path.trim().to_string()));
        } else if line.starts_with("*** Delete File: ") || line.starts_with("*** Move to: ") {
            other_operation = true;
        }
    }
    match files.as_slice() {
        [(tool, path)] if !other_operation => {
            let mut mapped = Map::new();
            mapped.insert("file_path".into(), json!(path));
            if *tool == "Write" {
                let content: Vec<&str> = patch
                    .lines()
                    .filter_map(|line| line.strip_prefix('+'))
                    .collect();
                mapped.insert("content".into(), json!(content.join("\n")));
            } else {
                mapped.insert("patch".into(), json!(patch));
            }
            ((*tool).to_string(), mapped)
        }
        _ => ("apply_patch".into(), input),
    }
}

/// The answer Codex reads for `decision`.
pub fn answer(decision: &HookDecision) -> Reply {
    match decision {
        HookDecision::NoOpinion | HookDecision::Allow(_) => Reply::silent(),
        HookDecision::Deny(reason) | HookDecision::Ask(reason) => Reply::json(json!({
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": reason,
            }
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hosts::Host;

    fn parse(tool: &str, input: Value) -> Action {
        Host::Codex
            .parse(
                &json!({"session_id":"s","turn_id":"t","cwd":"/repo","hook_event_name":"PreToolUse",
                    "tool_name": tool, "tool_input": input, "tool_use_id": "call_1"})
                .to_string(),
                None,
            )
            .unwrap()
    }

    #[test]
    fn a_patch_to_one_file_is_an_edit_or_a_write() {
        let edit = parse(
            "apply_patch",
            json!({"command": "*** Begin Patch\n*** Update File: src/lib.rs\n@@\n-a\n+b\n*** End Patch\n"}),
        );
        assert_eq!(edit.tool, "Edit");
        assert_eq!(edit.input["file_path"], "src/lib.rs");
        let write = parse(
            "apply_patch",
            json!({"command": "*** Begin Patch\n*** Add File: notes.md\n+hello\n*** End Patch\n"}),
        );
        assert_eq!(write.tool, "Write");
        assert_eq!(write.input["content"], "hello");
    }

    #[test]
    fn other_patches_stay_opaque() {
        let patch = "*** Begin Patch\n*** Update File: a\n@@\n-a\n+b\n*** Update File: b\n@@\n-a\n+b\n*** End Patch\n";
        assert_eq!(
            parse("apply_patch", json!({"command": patch})).tool,
            "apply_patch"
        );
        let delete = "*** Begin Patch\n*** Delete File: a\n*** End Patch\n";
        assert_eq!(
            parse("apply_patch", json!({"command": delete})).tool,
            "apply_patch"
        );
    }

    #[test]
    fn only_a_deny_is_said() {
        assert_eq!(answer(&HookDecision::Allow("r".into())), Reply::silent());
        assert_eq!(answer(&HookDecision::NoOpinion), Reply::silent());
        let deny = answer(&HookDecision::Ask("r".into())).stdout.unwrap();
        assert_eq!(deny["hookSpecificOutput"]["permissionDecision"], "deny");
    }
}
