//! Gemini CLI's `BeforeTool` hook.
//!
//! Gemini CLI sends `session_id`, `cwd`, `hook_event_name` (`BeforeTool`), `tool_name` and
//! `tool_input`, with its own tool names (`run_shell_command`, `read_file`, `write_file`,
//! `replace`, …), mapped here onto the inspector's. It reads `{"decision": "deny", "reason":
//! …}` from standard output, or exit code 2 with the reason on standard error; `{}` leaves
//! the call to its own rules. It cannot ask, so an escalation is a deny.

use preflight_core::Action;
use serde_json::{Map, Value, json};

use super::{HookDecision, Payload, Reply, rename_keys};
use crate::error::CliError;

/// Maps a `BeforeTool` payload to an action.
pub fn action(payload: &Payload) -> Result<Action, CliError> {
    payload.expect_event("hook_event_name", &["BeforeTool"])?;
    let tool = payload.required_string("tool_name")?;
    let input = payload.required_object("tool_input")?;
    let mut cwd = payload.optional_string("cwd")?;
    let (tool, input) = match tool.as_str() {
        "run_shell_command" => {
            // The command runs in `dir_path` (or `directory`) when given, relative to the
            // project.
            let dir = input
                .get("dir_path")
                .or_else(|| input.get("directory"))
                .and_then(Value::as_str);
            if let Some(dir) = dir {
                cwd = Some(match &cwd {
                    Some(base) if !dir.starts_with('/') => format!("{base}/{dir}"),
                    _ => dir.to_string(),
                });
            }
            ("Bash", only_command(&input))
        }
        "read_file" => (
            "Read",
            rename_keys(input, &[("absolute_path", "file_path")]),
        ),
        "write_file" => ("Write", input),
        "replace" => ("Edit", input),
        "list_directory" => ("LS", rename_keys(input, &[("dir_path", "path")])),
        "glob" => ("Glob", rename_keys(input, &[("dir_path", "path")])),
        "search_file_content" | "grep_search" => {
            ("Grep", rename_keys(input, &[("dir_path", "path")]))
        }
        _ => (tool.as_str(), input),
    };
    let mut action = Action::new(tool, Value::Object(input));
    action.agent.session = payload.optional_string("session_id")?;
    action.context.cwd = cwd;
    Ok(action)
}

/// The shell input the inspector reads: the command alone (its description is the model's
/// prose, and the directory went to the context).
fn only_command(input: &Map<String, Value>) -> Map<String, Value> {
    let mut command = Map::new();
    if let Some(text) = input.get("command") {
        command.insert("command".into(), text.clone());
    }
    command
}

/// The answer Gemini CLI reads for `decision`.
pub fn answer(decision: &HookDecision) -> Reply {
    match decision {
        HookDecision::NoOpinion => Reply::json(json!({})),
        HookDecision::Allow(reason) => Reply::json(json!({"decision": "allow", "reason": reason})),
        HookDecision::Deny(reason) | HookDecision::Ask(reason) => {
            Reply::json(json!({"decision": "deny", "reason": reason}))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hosts::Host;

    fn parse(tool: &str, input: Value) -> Action {
        Host::Gemini
            .parse(
                &json!({"session_id":"s","cwd":"/repo","hook_event_name":"BeforeTool",
                    "timestamp":"2026-01-01T00:00:00Z","tool_name": tool, "tool_input": input})
                .to_string(),
                None,
            )
            .unwrap()
    }

    #[test]
    fn gemini_tools_map_to_the_inspectors_names() {
        let shell = parse(
            "run_shell_command",
            json!({"command": "ls", "description": "list", "dir_path": "src"}),
        );
        assert_eq!(shell.tool, "Bash");
        assert_eq!(shell.input, json!({"command": "ls"}));
        assert_eq!(shell.context.cwd.as_deref(), Some("/repo/src"));
        let read = parse("read_file", json!({"absolute_path": "/repo/a"}));
        assert_eq!(
            (read.tool.as_str(), &read.input["file_path"]),
            ("Read", &json!("/repo/a"))
        );
        assert_eq!(
            parse("write_file", json!({"file_path": "/a", "content": ""})).tool,
            "Write"
        );
        assert_eq!(parse("replace", json!({"file_path": "/a"})).tool, "Edit");
        assert_eq!(
            parse("google_web_search", json!({"query": "x"})).tool,
            "google_web_search"
        );
    }

    #[test]
    fn the_event_must_be_before_tool() {
        let error = Host::Gemini
            .parse(
                r#"{"hook_event_name":"AfterTool","tool_name":"x","tool_input":{}}"#,
                None,
            )
            .unwrap_err();
        assert!(error.to_string().contains("`hook_event_name`"), "{error}");
    }
}
