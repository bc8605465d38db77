//! Cursor's `beforeShellExecution`, `beforeMCPExecution` and `beforeReadFile` hooks.
//!
//! Cursor sends `hook_event_name`, `conversation_id`, `generation_id`, `workspace_roots` and
//! per event: `command` and `cwd` (shell), `tool_name` and `tool_input` (a JSON string) with
//! the server's `url` or `command` (MCP), `file_path` and `content` (file read). It reads
//! `{"permission": "allow" | "deny" | "ask", "user_message", "agent_message"}`; exit code 2 is
//! a deny. A file read cannot be asked about. Cursor does not name the MCP server, so its MCP
//! tools are verified as `mcp__cursor__<tool>`.

use preflight_core::Action;
use serde_json::{Map, Value, json};

use super::{HookDecision, Payload, Reply};
use crate::error::CliError;

/// The events this hook answers.
pub const EVENTS: [&str; 3] = [
    "beforeShellExecution",
    "beforeMCPExecution",
    "beforeReadFile",
];

/// Maps a Cursor hook payload to an action.
pub fn action(payload: &Payload) -> Result<Action, CliError> {
    let event = payload
        .expect_event("hook_event_name", &EVENTS)?
        .ok_or_else(|| Payload::error("hook_event_name", "missing"))?;
    let mut cwd = None;
    let action = match event.as_str() {
        "beforeShellExecution" => {
            let command = payload.required_string("command")?;
            cwd = payload.optional_string("cwd")?;
            Action::new("Bash", json!({ "command": command }))
        }
        "beforeReadFile" => {
            let path = payload.required_string("file_path")?;
            Action::new("Read", json!({ "file_path": path }))
        }
        _ => {
            let tool = payload.required_string("tool_name")?;
            let input = payload.object_or_json_string("tool_input")?;
            Action::new(format!("mcp__cursor__{tool}"), Value::Object(input))
        }
    };
    let mut action = action;
    action.agent.session = payload.optional_string("conversation_id")?;
    action.context.cwd = match cwd.filter(|c| !c.is_empty()) {
        Some(cwd) => Some(cwd),
        None => first_workspace_root(payload),
    };
    Ok(action)
}

fn first_workspace_root(payload: &Payload) -> Option<String> {
    payload
        .raw("workspace_roots")
        .and_then(Value::as_array)
        .and_then(|roots| roots.first())
        .and_then(Value::as_str)
        .map(String::from)
}

/// The answer Cursor reads for `decision`.
pub fn answer(decision: &HookDecision) -> Reply {
    let (permission, reason) = match decision {
        // No permission: Cursor applies its own settings.
        HookDecision::NoOpinion => return Reply::json(Value::Object(Map::new())),
        HookDecision::Allow(reason) => ("allow", reason),
        HookDecision::Deny(reason) => ("deny", reason),
        HookDecision::Ask(reason) => ("ask", reason),
    };
    Reply::json(json!({
        "permission": permission,
        "user_message": reason,
        "agent_message": reason,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hosts::Host;

    #[test]
    fn each_event_maps_to_an_action() {
        let shell = Host::Cursor
            .parse(
                r#"{"hook_event_name":"beforeShellExecution","conversation_id":"c","generation_id":"g",
                    "command":"git status","cwd":"/repo","workspace_roots":["/repo"]}"#,
                None,
            )
            .unwrap();
        assert_eq!(
            (shell.tool.as_str(), &shell.input["command"]),
            ("Bash", &json!("git status"))
        );
        assert_eq!(shell.context.cwd.as_deref(), Some("/repo"));
        let read = Host::Cursor
            .parse(
                r#"{"hook_event_name":"beforeReadFile","file_path":"/repo/.env","content":"",
                    "workspace_roots":["/repo"]}"#,
                None,
            )
            .unwrap();
        assert_eq!(read.tool, "Read");
        assert_eq!(read.context.cwd.as_deref(), Some("/repo"));
        let mcp = Host::Cursor
            .parse(
                r#"{"hook_event_name":"beforeMCPExecution","tool_name":"query",
                    "tool_input":"{\"sql\":\"drop table t\"}","url":"http://db"}"#,
                None,
            )
            .unwrap();
        assert_eq!(mcp.tool, "mcp__cursor__query");
        assert_eq!(mcp.input["sql"], "drop table t");
    }

    #[test]
    fn bad_payloads_name_the_field() {
        for (text, field) in [
            (r#"{"command":"ls"}"#, "`hook_event_name`"),
            (
                r#"{"hook_event_name":"afterFileEdit"}"#,
                "`hook_event_name`",
            ),
            (r#"{"hook_event_name":"beforeShellExecution"}"#, "`command`"),
            (
                r#"{"hook_event_name":"beforeMCPExecution","tool_name":"q","tool_input":"{"}"#,
                "`tool_input`",
            ),
        ] {
            let error = Host::Cursor.parse(text, None).unwrap_err().to_string();
            assert!(error.contains(field), "{text}: {error}");
        }
    }
}
