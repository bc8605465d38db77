//! Agent hosts: how each one hands a tool call to its pre-tool-use hook, and how it reads the
//! hook's answer.
//!
//! Every adapter maps the host's payload onto the tool names the inspector models (`Bash
//! {command}`, `Read {file_path}`, `Write {file_path, content}`, `Edit {file_path, …}`,
//! `mcp__<server>__<tool>`); a tool it does not know passes through under its own name, where
//! it is opaque and the policy decides. Each adapter also says how the host reads a block, so
//! that every error, timeout and unreadable payload blocks the call.

pub mod claude_code;
pub mod codex;
pub mod copilot;
pub mod cursor;
pub mod gemini;
pub mod run;

use preflight_core::Action;
use preflight_core::visible::visible;
use serde_json::{Map, Value};

use crate::error::{CliError, EXIT_ERROR, EXIT_OK};

/// An agent host with a pre-tool-use hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Host {
    /// Claude Code: `PreToolUse` hooks in `~/.claude/settings.json`.
    ClaudeCode,
    /// OpenAI Codex CLI: `PreToolUse` hooks in `~/.codex/hooks.json`.
    Codex,
    /// Gemini CLI: `BeforeTool` hooks in `~/.gemini/settings.json`.
    Gemini,
    /// Cursor: `beforeShellExecution`, `beforeMCPExecution` and `beforeReadFile` hooks in
    /// `~/.cursor/hooks.json`.
    Cursor,
    /// GitHub Copilot CLI: `preToolUse` hooks in `~/.copilot/hooks/`.
    Copilot,
}

impl Host {
    /// The name on the command line and in URLs (`claude-code`, `codex`, …).
    pub fn name(self) -> &'static str {
        match self {
            Host::ClaudeCode => "claude-code",
            Host::Codex => "codex",
            Host::Gemini => "gemini",
            Host::Cursor => "cursor",
            Host::Copilot => "copilot",
        }
    }

    /// The host named `name`, as on the command line.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Host::ClaudeCode,
            Host::Codex,
            Host::Gemini,
            Host::Cursor,
            Host::Copilot,
        ]
        .into_iter()
        .find(|host| host.name() == name)
    }

    /// The agent id recorded when none is configured.
    pub fn default_agent(self) -> &'static str {
        self.name()
    }

    /// Whether the host can ask its user to confirm a call; where it cannot, an escalation is
    /// a block.
    pub fn can_ask(self, action: &Action) -> bool {
        match self {
            Host::ClaudeCode | Host::Copilot => true,
            // Codex refuses `ask` from a PreToolUse hook and then runs the call.
            Host::Codex | Host::Gemini => false,
            // Cursor asks before shell and MCP calls, not before a file read.
            Host::Cursor => action.tool != "Read",
        }
    }

    /// Maps the host's payload to an action; errors name the field at fault.
    pub fn parse(self, text: &str, agent: Option<&str>) -> Result<Action, CliError> {
        let payload = Payload::parse(text, self)?;
        let mut action = match self {
            Host::ClaudeCode => claude_code::action(&payload)?,
            Host::Codex => codex::action(&payload)?,
            Host::Gemini => gemini::action(&payload)?,
            Host::Cursor => cursor::action(&payload)?,
            Host::Copilot => copilot::action(&payload)?,
        };
        action.agent.id = Some(agent.unwrap_or(self.default_agent()).to_string());
        action.context.home = std::env::var("HOME").ok().filter(|h| !h.is_empty());
        action
            .validate()
            .map_err(|e| CliError::Input(format!("hook payload: {e}")))?;
        Ok(action)
    }

    /// The host's answer for `decision` on `action`.
    pub fn answer(self, decision: &HookDecision, action: &Action) -> Reply {
        let decision = match decision {
            HookDecision::Ask(reason) if !self.can_ask(action) => {
                HookDecision::Deny(reason.clone())
            }
            other => other.clone(),
        };
        match self {
            Host::ClaudeCode => claude_code::answer(&decision),
            Host::Codex => codex::answer(&decision),
            Host::Gemini => gemini::answer(&decision),
            Host::Cursor => cursor::answer(&decision),
            Host::Copilot => copilot::answer(&decision),
        }
    }

    /// The host's answer when no decision could be had: always a block, in the form the host
    /// reads as one.
    pub fn block(self, message: &str) -> Reply {
        let message = format!("preflight could not decide, so the call is blocked: {message}");
        match self {
            // These hosts read exit code 2 as a block, with the reason on standard error.
            Host::ClaudeCode | Host::Codex | Host::Gemini => Reply {
                stdout: None,
                stderr: Some(message),
                exit: EXIT_ERROR,
            },
            // Cursor reads exit code 2 as a deny as well; the JSON says so too, for versions
            // that read only the answer.
            Host::Cursor => Reply {
                stderr: Some(message.clone()),
                exit: EXIT_ERROR,
                ..cursor::answer(&HookDecision::Deny(message))
            },
            // Copilot CLI reads the JSON deny in every version, exit code 2 only from 1.0.70.
            Host::Copilot => Reply {
                stderr: Some(message.clone()),
                ..copilot::answer(&HookDecision::Deny(message))
            },
        }
    }
}

impl Reply {
    /// The answer over HTTP, where there is no exit code: a block becomes the host's deny in
    /// the body (an HTTP error would not block the call).
    pub fn over_http(self, host: Host) -> Self {
        if self.exit == EXIT_OK {
            return self;
        }
        let message = self
            .stderr
            .unwrap_or_else(|| "preflight could not decide".into());
        let any = Action::new("hook", Value::Object(Map::new()));
        host.answer(&HookDecision::Deny(message), &any)
    }
}

/// What the hook tells the host, before it is put in the host's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookDecision {
    /// Approve the call explicitly (`--allow-means allow`).
    Allow(String),
    /// No objection: the host's own permission rules decide (the default for an allow).
    NoOpinion,
    /// Block the call; the reason goes to the agent.
    Deny(String),
    /// Ask the host's user; where the host cannot ask, a block.
    Ask(String),
}

/// The hook's answer: what goes to standard output and standard error, and the exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The JSON document on standard output, if any.
    pub stdout: Option<Value>,
    /// A message on standard error, if any.
    pub stderr: Option<String>,
    /// The exit code.
    pub exit: u8,
}

impl Reply {
    /// An answer on standard output, exit code 0.
    pub fn json(value: Value) -> Self {
        Self {
            stdout: Some(value),
            stderr: None,
            exit: EXIT_OK,
        }
    }

    /// No output, exit code 0: the host goes on as it would without the hook.
    pub fn silent() -> Self {
        Self {
            stdout: None,
            stderr: None,
            exit: EXIT_OK,
        }
    }
}

/// A hook payload: a JSON object whose accessors name the field at fault.
#[derive(Debug, Clone)]
pub struct Payload {
    fields: Map<String, Value>,
}

impl Payload {
    /// Parses `text` as a JSON object.
    pub fn parse(text: &str, host: Host) -> Result<Self, CliError> {
        if text.trim().is_empty() {
            return Err(CliError::Input(format!(
                "hook payload: standard input is empty; expected a {} hook payload",
                host.name()
            )));
        }
        let value: Value = serde_json::from_str(text).map_err(|e| {
            CliError::Input(format!(
                "hook payload: invalid JSON at line {}, column {}: {e}",
                e.line(),
                e.column()
            ))
        })?;
        match value {
            Value::Object(fields) => Ok(Self { fields }),
            _ => Err(CliError::Input(
                "hook payload: expected a JSON object".into(),
            )),
        }
    }

    /// An error about field `name`.
    pub fn error(name: &str, message: &str) -> CliError {
        CliError::Input(format!("hook payload: field `{name}`: {message}"))
    }

    /// A field as sent.
    pub fn raw(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }

    /// A string field, when present and not null.
    pub fn optional_string(&self, name: &str) -> Result<Option<String>, CliError> {
        match self.fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(Self::error(name, "expected a string")),
        }
    }

    /// A string field that must be present and not blank.
    pub fn required_string(&self, name: &str) -> Result<String, CliError> {
        self.optional_string(name)?
            .filter(|text| !text.trim().is_empty())
            .ok_or_else(|| Self::error(name, "missing or empty"))
    }

    /// An object field that must be present.
    pub fn required_object(&self, name: &str) -> Result<Map<String, Value>, CliError> {
        match self.fields.get(name) {
            Some(Value::Object(object)) => Ok(object.clone()),
            Some(_) => Err(Self::error(name, "expected an object")),
            None => Err(Self::error(name, "missing")),
        }
    }

    /// An object field that hosts may send as an object or as a JSON string holding one.
    pub fn object_or_json_string(&self, name: &str) -> Result<Map<String, Value>, CliError> {
        match self.fields.get(name) {
            Some(Value::Object(object)) => Ok(object.clone()),
            Some(Value::String(text)) if text.trim().is_empty() => Ok(Map::new()),
            Some(Value::String(text)) => match serde_json::from_str(text) {
                Ok(Value::Object(object)) => Ok(object),
                Ok(_) => Err(Self::error(name, "expected a JSON object")),
                Err(e) => Err(Self::error(name, &format!("invalid JSON: {e}"))),
            },
            Some(_) => Err(Self::error(name, "expected an object")),
            None => Err(Self::error(name, "missing")),
        }
    }

    /// Checks that `hook_event_name` (or `field`), when present, is one of `expected`.
    pub fn expect_event(&self, field: &str, expected: &[&str]) -> Result<Option<String>, CliError> {
        match self.optional_string(field)? {
            Some(event) if !expected.contains(&event.as_str()) => Err(Self::error(
                field,
                &format!(
                    "this hook answers {} only, not `{event}`",
                    expected.join(", ")
                ),
            )),
            other => Ok(other),
        }
    }
}

/// Renames the keys of `input` per `renames` (`from`, `to`), keeping every other key; a key
/// already present under its new name is not overwritten.
pub fn rename_keys(mut input: Map<String, Value>, renames: &[(&str, &str)]) -> Map<String, Value> {
    for (from, to) in renames {
        if input.contains_key(*to) {
            continue;
        }
        if let Some(value) = input.remove(*from) {
            input.insert((*to).to_string(), value);
        }
    }
    input
}

/// The reason text shown to the agent and the user.
pub fn reason_text(message: &str, suggestion: Option<&str>) -> String {
    // The message quotes the agent's own words (a command, a path): the host shows it to the
    // person, so nothing in it may act on their terminal or reorder the text.
    let mut reason = format!("preflight: {}", visible(message));
    if let Some(suggestion) = suggestion {
        reason.push_str(&format!(" (suggestion: {})", visible(suggestion)));
    }
    reason
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_shows_hidden_characters() {
        let reason = reason_text("denied: rm -rf a # \u{202E} b\u{1B}[2K", Some("x\u{200B}"));
        assert!(!preflight_core::visible::has_hidden(&reason), "{reason:?}");
        assert!(
            reason.contains("\\u{202E}") && reason.contains("\\u{200B}"),
            "{reason}"
        );
    }

    const HOSTS: [Host; 5] = [
        Host::ClaudeCode,
        Host::Codex,
        Host::Gemini,
        Host::Cursor,
        Host::Copilot,
    ];

    /// JSON shaped like the hosts' payloads: their keys, any values, nested.
    fn payload_like() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let keys = prop::sample::select(vec![
            "hook_event_name",
            "hookEventName",
            "tool_name",
            "toolName",
            "tool_input",
            "toolArgs",
            "tool",
            "command",
            "cwd",
            "file_path",
            "content",
            "session_id",
            "arguments",
            "event",
            "x",
        ]);
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            prop::sample::select(vec![
                "PreToolUse",
                "BeforeTool",
                "preToolUse",
                "beforeShellExecution",
                "Bash",
                "run_shell_command",
                "shell",
                "bash",
                "rm -rf ~",
                "{\"command\":\"ls\"}",
                "",
            ])
            .prop_map(Value::from),
            ".{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(keys.clone(), inner, 0..6).prop_map(|map| {
                    Value::Object(map.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
                }),
            ]
        })
    }

    /// Whether `reply` blocks the call in its host's reading: exit code 2, or a deny.
    fn blocks(reply: &Reply) -> bool {
        reply.exit == EXIT_ERROR
            || reply
                .stdout
                .as_ref()
                .is_some_and(|out| out.to_string().contains("deny"))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Whatever a host (or anyone writing to the hook's input) sends, parsing never
        /// panics; what it cannot read is refused, and a refusal blocks in every host.
        #[test]
        fn any_payload_is_read_or_refused_and_a_refusal_blocks(payload in payload_like()) {
            for host in HOSTS {
                if let Err(error) = host.parse(&payload.to_string(), None) {
                    let reply = host.block(&error.to_string());
                    proptest::prop_assert!(blocks(&reply), "{host:?}: {reply:?}");
                }
            }
        }

        #[test]
        fn any_text_is_read_or_refused(text in "\\PC{0,200}") {
            for host in HOSTS {
                let _ = host.parse(&text, None);
            }
        }

        /// A deny, and an ask where the host cannot ask, block in every host, whatever the
        /// action.
        #[test]
        fn a_deny_always_blocks(
            tool in proptest::sample::select(vec![
                "Bash", "Write", "Edit", "Read", "mcp__fs__write_file", "run_shell_command",
                "shell", "unknown",
            ]),
            input in payload_like(),
            reason in ".{0,40}",
        ) {
            let action = Action::new(tool, input);
            for host in HOSTS {
                let reply = host.answer(&HookDecision::Deny(reason.clone()), &action);
                proptest::prop_assert!(blocks(&reply), "{host:?}: {reply:?}");
                if !host.can_ask(&action) {
                    let reply = host.answer(&HookDecision::Ask(reason.clone()), &action);
                    proptest::prop_assert!(blocks(&reply), "{host:?}: {reply:?}");
                }
            }
        }
    }

    #[test]
    fn host_names_round_trip() {
        for host in [
            Host::ClaudeCode,
            Host::Codex,
            Host::Gemini,
            Host::Cursor,
            Host::Copilot,
        ] {
            assert_eq!(Host::from_name(host.name()), Some(host));
        }
        assert_eq!(Host::from_name("emacs"), None);
    }

    #[test]
    fn an_ask_is_a_deny_where_the_host_cannot_ask() {
        let bash = Action::new("Bash", serde_json::json!({"command": "ls"}));
        let ask = HookDecision::Ask("r".into());
        let codex = Host::Codex.answer(&ask, &bash);
        assert_eq!(
            codex.stdout.unwrap()["hookSpecificOutput"]["permissionDecision"],
            "deny"
        );
        let gemini = Host::Gemini.answer(&ask, &bash);
        assert_eq!(gemini.stdout.unwrap()["decision"], "deny");
        let read = Action::new("Read", serde_json::json!({"file_path": "/a"}));
        assert_eq!(
            Host::Cursor.answer(&ask, &read).stdout.unwrap()["permission"],
            "deny"
        );
        assert_eq!(
            Host::Cursor.answer(&ask, &bash).stdout.unwrap()["permission"],
            "ask"
        );
    }

    #[test]
    fn every_host_blocks_when_it_cannot_decide() {
        for host in [Host::ClaudeCode, Host::Codex, Host::Gemini] {
            let reply = host.block("timeout");
            assert_eq!(reply.exit, EXIT_ERROR);
            assert!(reply.stdout.is_none());
            assert!(reply.stderr.unwrap().contains("timeout"));
        }
        let cursor = Host::Cursor.block("timeout");
        assert_eq!(cursor.exit, EXIT_ERROR);
        assert_eq!(cursor.stdout.unwrap()["permission"], "deny");
        let copilot = Host::Copilot.block("timeout");
        assert_eq!(copilot.stdout.unwrap()["permissionDecision"], "deny");
    }
}
