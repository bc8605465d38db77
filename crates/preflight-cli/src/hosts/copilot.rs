//! GitHub Copilot CLI's `preToolUse` hook.
//!
//! Copilot CLI sends `timestamp`, `cwd`, `toolName` and `toolArgs` (a JSON string), with its
//! own tool names (`bash`, `view`, `create`, `edit`, …), mapped here onto the inspector's. It
//! reads `{"permissionDecision": "allow" | "deny" | "ask", "permissionDecisionReason"}` from
//! standard output; no output lets its own permission rules decide.

use preflight_core::Action;
use serde_json::{Value, json};

use super::{HookDecision, Payload, Reply, rename_keys};
use crate::error::CliError;

/// Maps a `preToolUse` payload to an action.
pub fn action(payload: &Payload) -> Result<Action, CliError> {
    let tool = payload.required_string("toolName")?;
    let input = payload.object_or_json_string("toolArgs")?;
    let (tool, input) = match tool.as_str() {
        "bash" | "powershell" | "shell" => {
            let mut command = serde_json::Map::new();
            if let Some(text) = input.get("command") {
                command.insert("command".into(), text.clone());
            }
            ("Bash", command)
        }
        "view" | "read" => ("Read", rename_keys(input, &[("path", "file_path")])),
        "create" => (
            "Write",
            rename_keys(input, &[("path", "file_path"), ("file_text", "content")]),
        ),
        "edit" | "str_replace" | "str_replace_editor" => (
            "Edit",
            rename_keys(
                input,
                &[
                    ("path", "file_path"),
                    ("old_str", "old_string"),
                    ("new_str", "new_string"),
                ],
            ),
        ),
        _ => (tool.as_str(), input),
    };
    let mut action = Action::new(tool, Value::Object(input));
    action.context.cwd = payload.optional_string("cwd")?;
    Ok(action)
}

/// The answer Copilot CLI reads for `decision`.
pub fn answer(decision: &HookDecision) -> Reply {
    let (permission, reason) = match decision {
        HookDecision::NoOpinion => return Reply::silent(),
        HookDecision::Allow(reason) => ("allow", reason),
        HookDecision::Deny(reason) => ("deny", reason),
        HookDecision::Ask(reason) => ("ask", reason),
    };
    Reply::json(json!({
        "permissionDecision": permission,
        "permissionDecisionReason": reason,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hosts::Host;

    #[test]
    fn copilot_tools_map_to_the_inspectors_names() {
        let parse = |tool: &str, args: &str| {
            Host::Copilot
                .parse(
                    &json!({"timestamp": 1_704_614_600_000_u64, "cwd": "/repo",
                        "toolName": tool, "toolArgs": args})
                    .to_string(),
                    None,
                )
                .unwrap()
        };
        let bash = parse("bash", r#"{"command":"rm -rf dist","description":"Clean"}"#);
        assert_eq!(bash.tool, "Bash");
        assert_eq!(bash.input, json!({"command": "rm -rf dist"}));
        let create = parse("create", r#"{"path":"/repo/a.md","file_text":"x"}"#);
        assert_eq!(create.tool, "Write");
        assert_eq!(create.input["file_path"], "/repo/a.md");
        assert_eq!(create.input["content"], "x");
        assert_eq!(parse("view", r#"{"path":"/repo/a"}"#).tool, "Read");
    }

    #[test]
    fn tool_args_that_are_not_json_name_the_field() {
        let error = Host::Copilot
            .parse(r#"{"toolName":"bash","toolArgs":"{not json"}"#, None)
            .unwrap_err();
        assert!(error.to_string().contains("`toolArgs`"), "{error}");
    }
}
