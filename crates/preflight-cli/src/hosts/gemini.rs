//! Gemini CLI's `BeforeTool` hook (checked against `@google/gemini-cli` 0.61.0:
//! `bundle/docs/hooks/reference.md` and the hook runner in `bundle/chunk-JDPZ4CE3.js`).
//!
//! Gemini CLI sends `session_id`, `transcript_path`, `cwd`, `hook_event_name` (`BeforeTool`),
//! `timestamp`, `tool_name` and `tool_input`, with its own tool names (`run_shell_command`,
//! `read_file`, `write_file`, `replace`, …), mapped here onto the inspector's; an MCP tool
//! comes as `mcp_<server>_<tool>` with `mcp_context.server_name` and `mcp_context.tool_name`.
//! It reads `{"decision": "deny", "reason": …}` from standard output, or exit code 2 with the
//! reason on standard error; `{}` leaves the call to its own rules. Its undocumented
//! `"decision": "ask"` lets a tool without a confirmation dialog (a file read) run unasked,
//! so an escalation is a deny.

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
    // An MCP tool is named as Claude Code and the MCP proxy name it, so one policy serves all.
    let tool = mcp_tool_name(payload).unwrap_or_else(|| tool.to_string());
    let mut action = Action::new(tool, Value::Object(input));
    action.agent.session = payload.optional_string("session_id")?;
    action.context.cwd = cwd;
    Ok(action)
}

/// `mcp__<server>__<tool>` from `mcp_context`, which Gemini CLI sends with an MCP tool's call.
fn mcp_tool_name(payload: &Payload) -> Option<String> {
    let context = payload.raw("mcp_context")?.as_object()?;
    let server = context.get("server_name")?.as_str()?;
    let tool = context.get("tool_name")?.as_str()?;
    (!server.is_empty() && !tool.is_empty()).then(|| format!("mcp__{server}__{tool}"))
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
    fn an_mcp_tool_is_named_by_its_server() {
        let action = Host::Gemini
            .parse(
                &json!({"session_id":"s","cwd":"/repo","hook_event_name":"BeforeTool",
                    "tool_name":"mcp_fs_read_text_file","tool_input":{"path":"/repo/a"},
                    "mcp_context":{"server_name":"fs","tool_name":"read_text_file",
                        "command":"npx","args":["-y","@modelcontextprotocol/server-filesystem"]}})
                .to_string(),
                None,
            )
            .unwrap();
        assert_eq!(action.tool, "mcp__fs__read_text_file");
        assert_eq!(action.input["path"], "/repo/a");
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
