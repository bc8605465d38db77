#![doc = include_str!("../README.md")]

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use preflight_core::{Action, Checked, Gate, Outcome};
use rmcp::model::{CallToolRequestParams, CallToolResult, ContentBlock, ListToolsResult};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

/// How long the server has to close its output once the client has closed its input.
const SERVER_GRACE: Duration = Duration::from_secs(5);

/// Why the proxy stopped abnormally. A refused tool call is not an error: the client receives
/// it as a tool result with `isError: true`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum McpError {
    /// The server process could not be started.
    #[error("could not start the mcp server `{command}`: {message}")]
    Spawn {
        /// The command line.
        command: String,
        /// What failed.
        message: String,
    },
    /// Reading from or writing to one side failed.
    #[error("i/o error on the {side} side: {message}")]
    Io {
        /// `client` or `server`.
        side: &'static str,
        /// What failed.
        message: String,
    },
}

/// The name under which a proxied tool is verified, as Claude Code names it:
/// `mcp__<server>__<tool>`.
pub fn tool_name(server: &str, tool: &str) -> String {
    format!("mcp__{server}__{tool}")
}

/// Converts the annotations an MCP server publishes for a tool into the core type carried in
/// [`preflight_core::Context::tool_annotations`].
pub fn core_annotations(
    annotations: &rmcp::model::ToolAnnotations,
) -> preflight_core::ToolAnnotations {
    preflight_core::ToolAnnotations {
        read_only_hint: annotations.read_only_hint,
        destructive_hint: annotations.destructive_hint,
        idempotent_hint: annotations.idempotent_hint,
        open_world_hint: annotations.open_world_hint,
    }
}

/// The action a `tools/call` proposes: tool `mcp__<server>__<tool>`, its arguments as input
/// (an empty object when there are none), and the server's annotations for the tool.
pub fn action_for_call(
    server: &str,
    params: &CallToolRequestParams,
    annotations: Option<preflight_core::ToolAnnotations>,
) -> Action {
    let input = params
        .arguments
        .clone()
        .map(Value::Object)
        .unwrap_or_else(|| Value::Object(serde_json::Map::new()));
    let mut action = Action::new(tool_name(server, &params.name), input);
    action.context.tool_annotations = annotations;
    action
}

/// A stdio MCP proxy between a client and one server.
///
/// Every message passes through unchanged, byte for byte, except `tools/call` requests, which
/// are first checked by the [`Gate`]:
/// - allowed: the request is forwarded as it came, and the outcome of the call is recorded;
/// - denied, escalated without an approver, or not verifiable (any error): the request never
///   reaches the server, and the client receives a tool result with `isError: true` saying why;
/// - escalated with an approver: the call waits for the person's decision.
///
/// Verification runs concurrently with other traffic, so a call waiting for approval does
/// not block the session. The server's tool annotations (read from `tools/list`, or asked for
/// before the first verification) become [`preflight_core::Context::tool_annotations`].
///
/// Batches (JSON arrays, allowed by older protocol versions) are split: each element is
/// handled as if it had arrived alone. A line that is not JSON is answered with a parse error
/// and never forwarded.
#[derive(Clone)]
pub struct McpProxy {
    gate: Gate,
    server: String,
    agent: Option<String>,
    cwd: Option<String>,
    annotation_timeout: Duration,
}

impl fmt::Debug for McpProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpProxy")
            .field("server", &self.server)
            .field("agent", &self.agent)
            .field("cwd", &self.cwd)
            .finish_non_exhaustive()
    }
}

impl McpProxy {
    /// A proxy for the server called `server` (the name in `mcp__<server>__<tool>`), checking
    /// every tool call with `gate`.
    pub fn new(server: impl Into<String>, gate: Gate) -> Self {
        Self {
            gate,
            server: server.into(),
            agent: None,
            cwd: None,
            annotation_timeout: Duration::from_secs(10),
        }
    }

    /// Names the agent behind the client, recorded on every action.
    pub fn with_agent(mut self, agent: impl Into<String>) -> Self {
        self.agent = Some(agent.into());
        self
    }

    /// Sets the working directory recorded on every action (relative paths resolve from it).
    pub fn with_cwd(mut self, cwd: impl Into<String>) -> Self {
        self.cwd = Some(cwd.into());
        self
    }

    /// How long to wait for the server's `tools/list` when the proxy asks for annotations
    /// itself (default 10 s). Past it the call is verified without annotations.
    pub fn with_annotation_timeout(mut self, timeout: Duration) -> Self {
        self.annotation_timeout = timeout;
        self
    }

    /// Starts `command` as the server and proxies this process's standard input and output to
    /// it. The server's standard error is inherited. Returns the server's exit status.
    pub async fn run_stdio(&self, command: Command) -> Result<ExitStatus, McpError> {
        self.run_command(command, tokio::io::stdin(), tokio::io::stdout())
            .await
    }

    /// Starts `command` as the server and proxies `client_in`/`client_out` to it. Returns the
    /// server's exit status once both sides are done.
    pub async fn run_command<CR, CW>(
        &self,
        mut command: Command,
        client_in: CR,
        client_out: CW,
    ) -> Result<ExitStatus, McpError>
    where
        CR: AsyncRead + Unpin + Send + 'static,
        CW: AsyncWrite + Unpin + Send + 'static,
    {
        let described = format!("{:?}", command.as_std());
        command
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|e| McpError::Spawn {
            command: described.clone(),
            message: e.to_string(),
        })?;
        let (Some(server_in), Some(server_out)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(McpError::Spawn {
                command: described,
                message: "its standard input or output could not be captured".into(),
            });
        };
        let result = self.run(client_in, client_out, server_out, server_in).await;
        let status = match tokio::time::timeout(Duration::from_secs(5), child.wait()).await {
            Ok(status) => status,
            Err(_) => {
                // The server ignored the end of its input; stop it.
                let _ = child.kill().await;
                child.wait().await
            }
        }
        .map_err(|e| McpError::Io {
            side: "server",
            message: e.to_string(),
        })?;
        result.map(|()| status)
    }

    /// Proxies between a client (`client_in`, `client_out`) and a server (`server_out`,
    /// `server_in`), newline-delimited JSON-RPC as MCP's stdio transport frames it. Returns when
    /// the server closes its output, or when the client closes its input and the server has
    /// finished answering.
    pub async fn run<CR, CW, SR, SW>(
        &self,
        client_in: CR,
        client_out: CW,
        server_out: SR,
        server_in: SW,
    ) -> Result<(), McpError>
    where
        CR: AsyncRead + Unpin + Send + 'static,
        CW: AsyncWrite + Unpin + Send + 'static,
        SR: AsyncRead + Unpin + Send + 'static,
        SW: AsyncWrite + Unpin + Send + 'static,
    {
        let (to_client, client_rx) = mpsc::unbounded_channel();
        let (to_server, server_rx) = mpsc::unbounded_channel();
        let client_writer = tokio::spawn(write_lines(client_rx, client_out, "client"));
        let server_writer = tokio::spawn(write_lines(server_rx, server_in, "server"));
        let shared = Arc::new(Shared {
            proxy: self.clone(),
            to_client,
            to_server,
            state: Mutex::new(State::default()),
            next_id: AtomicU64::new(1),
        });

        let mut calls = JoinSet::new();
        let mut client_lines = BufReader::new(client_in).lines();
        let mut server_lines = BufReader::new(server_out).lines();
        let mut client_open = true;
        let mut failure = None;
        // Once the client is gone, the server gets a few seconds to finish and close.
        let closing = tokio::time::sleep(Duration::MAX);
        tokio::pin!(closing);
        loop {
            tokio::select! {
                line = client_lines.next_line(), if client_open => match line {
                    Ok(Some(line)) => shared.on_client_line(&line, &mut calls),
                    Ok(None) => {
                        client_open = false;
                        // Nobody is left to answer: calls still being verified are dropped,
                        // never forwarded, and the server sees the end of its input.
                        calls.abort_all();
                        shared.to_server.send(None).ok();
                    }
                    Err(e) => {
                        failure = Some(McpError::Io { side: "client", message: e.to_string() });
                        client_open = false;
                        calls.abort_all();
                        shared.to_server.send(None).ok();
                    }
                },
                line = server_lines.next_line() => match line {
                    Ok(Some(line)) => shared.on_server_line(&line),
                    Ok(None) => break,
                    Err(e) => {
                        failure = Some(McpError::Io { side: "server", message: e.to_string() });
                        break;
                    }
                },
                Some(_) = calls.join_next(), if !calls.is_empty() => {}
                () = &mut closing, if !client_open => break,
            }
            if !client_open && closing.deadline() > tokio::time::Instant::now() + SERVER_GRACE {
                closing
                    .as_mut()
                    .reset(tokio::time::Instant::now() + SERVER_GRACE);
            }
        }
        calls.abort_all();
        shared.to_server.send(None).ok();
        shared.to_client.send(None).ok();
        for (writer, side) in [(client_writer, "client"), (server_writer, "server")] {
            match writer.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    failure.get_or_insert(e);
                }
                Err(e) => {
                    failure.get_or_insert(McpError::Io {
                        side,
                        message: e.to_string(),
                    });
                }
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Writes each line received, newline-terminated and flushed; stops at `None` or when every
/// sender is gone, then shuts the writer down (for a child's stdin: closes it).
async fn write_lines<W: AsyncWrite + Unpin>(
    mut rx: mpsc::UnboundedReceiver<Option<String>>,
    mut out: W,
    side: &'static str,
) -> Result<(), McpError> {
    let io = |e: std::io::Error| McpError::Io {
        side,
        message: e.to_string(),
    };
    while let Some(Some(line)) = rx.recv().await {
        out.write_all(line.as_bytes()).await.map_err(io)?;
        out.write_all(b"\n").await.map_err(io)?;
        out.flush().await.map_err(io)?;
    }
    out.shutdown().await.map_err(io)
}

/// A request of the client forwarded to the server, whose response the proxy reads.
enum Pending {
    ToolsList,
    ToolsCall {
        checked: Box<Checked>,
        started: Instant,
    },
}

#[derive(Default)]
struct State {
    /// Client requests awaiting the server's response, by id (as JSON text).
    pending: HashMap<String, Pending>,
    /// The proxy's own requests to the server.
    internal: HashMap<String, oneshot::Sender<Value>>,
    /// Tool calls being verified, and those of them the client cancelled.
    verifying: HashSet<String>,
    cancelled: HashSet<String>,
    /// Annotations per tool, and whether the full list has been read since it last changed.
    annotations: HashMap<String, rmcp::model::ToolAnnotations>,
    tools_known: bool,
}

struct Shared {
    proxy: McpProxy,
    to_client: mpsc::UnboundedSender<Option<String>>,
    to_server: mpsc::UnboundedSender<Option<String>>,
    state: Mutex<State>,
    next_id: AtomicU64,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn send_client(&self, value: &Value) {
        self.to_client.send(Some(value.to_string())).ok();
    }

    fn on_client_line(self: &Arc<Self>, line: &str, calls: &mut JoinSet<()>) {
        if line.trim().is_empty() {
            return;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(Value::Array(batch)) => {
                for message in batch {
                    let raw = message.to_string();
                    self.client_message(message, raw, calls);
                }
            }
            Ok(message) => self.client_message(message, line.to_string(), calls),
            Err(e) => self.send_client(&json!({
                "jsonrpc": "2.0",
                "id": null,
                "error": {"code": -32700, "message": format!("parse error: {e}")},
            })),
        }
    }

    fn client_message(self: &Arc<Self>, message: Value, raw: String, calls: &mut JoinSet<()>) {
        let method = message.get("method").and_then(Value::as_str);
        let id = message.get("id").filter(|id| !id.is_null()).cloned();
        match (method, id) {
            (Some("tools/call"), Some(id)) => {
                let key = id.to_string();
                self.state().verifying.insert(key);
                let shared = Arc::clone(self);
                calls.spawn(async move { shared.verify_call(message, id, raw).await });
            }
            (Some("tools/call"), None) => {
                // A tool call sent as a notification has nobody to answer; it is not run.
                tracing::warn!("dropped a tools/call without an id: it cannot be answered");
            }
            (Some("tools/list"), Some(id)) => {
                self.state()
                    .pending
                    .insert(id.to_string(), Pending::ToolsList);
                self.to_server.send(Some(raw)).ok();
            }
            (Some("notifications/cancelled"), _) => {
                if let Some(request) = message.pointer("/params/requestId") {
                    let key = request.to_string();
                    let mut state = self.state();
                    if state.verifying.contains(&key) {
                        state.cancelled.insert(key);
                    }
                }
                self.to_server.send(Some(raw)).ok();
            }
            _ => {
                self.to_server.send(Some(raw)).ok();
            }
        }
    }

    async fn verify_call(self: Arc<Self>, message: Value, id: Value, raw: String) {
        let key = id.to_string();
        let refusal = self.check_call(&message, &id, raw).await;
        let cancelled = {
            let mut state = self.state();
            state.verifying.remove(&key);
            state.cancelled.remove(&key)
        };
        if let Some(refusal) = refusal {
            if !cancelled {
                self.send_client(&refusal);
            }
        }
    }

    /// Verifies one call; forwards it when allowed and returns `None`, or returns the answer
    /// for the client.
    async fn check_call(&self, message: &Value, id: &Value, raw: String) -> Option<Value> {
        let params = message.get("params").cloned().unwrap_or(Value::Null);
        let params: CallToolRequestParams = match serde_json::from_value(params) {
            Ok(params) => params,
            Err(e) => {
                return Some(json!({
                    "jsonrpc": "2.0",
                    "id": id,
                    "error": {"code": -32602, "message": format!("invalid tools/call params: {e}")},
                }));
            }
        };
        let annotations = self.annotations_for(&params.name).await;
        let mut action = action_for_call(&self.proxy.server, &params, annotations);
        action.agent.id.clone_from(&self.proxy.agent);
        action.context.cwd.clone_from(&self.proxy.cwd);

        let mut checked = match self.proxy.gate.check(action.clone()).await {
            Ok(checked) => checked,
            Err(e) => {
                return Some(tool_error(
                    id,
                    &format!("preflight could not verify this call, so it was not run: {e}"),
                ));
            }
        };
        let Some(permit) = checked.permit.take() else {
            let mut text = format!("preflight refused this call: {}", checked.message);
            if let Some(suggestion) = &checked.verdict.suggestion {
                text.push_str(&format!("\nsuggestion: {suggestion}"));
            }
            return Some(tool_error(id, &text));
        };
        if self.state().cancelled.contains(&id.to_string()) {
            // The client gave up while the call was being verified: it is not run.
            return None;
        }
        if let Err(e) = permit.redeem(&action) {
            return Some(tool_error(id, &format!("preflight refused this call: {e}")));
        }
        self.state().pending.insert(
            id.to_string(),
            Pending::ToolsCall {
                checked: Box::new(checked),
                started: Instant::now(),
            },
        );
        self.to_server.send(Some(raw)).ok();
        None
    }

    async fn annotations_for(&self, tool: &str) -> Option<preflight_core::ToolAnnotations> {
        let known = {
            let state = self.state();
            match state.annotations.get(tool) {
                Some(annotations) => return Some(core_annotations(annotations)),
                None => state.tools_known,
            }
        };
        if !known {
            if let Err(e) = self.fetch_tools().await {
                tracing::warn!(error = %e, "could not read the server's tool annotations");
            }
        }
        self.state().annotations.get(tool).map(core_annotations)
    }

    /// Reads every page of the server's `tools/list` with the proxy's own requests.
    async fn fetch_tools(&self) -> Result<(), String> {
        let mut cursor: Option<String> = None;
        loop {
            let id = format!(
                "preflight-proxy-{}-{}",
                std::process::id(),
                self.next_id.fetch_add(1, Ordering::Relaxed)
            );
            let (tx, rx) = oneshot::channel();
            self.state()
                .internal
                .insert(Value::String(id.clone()).to_string(), tx);
            let params = match &cursor {
                Some(cursor) => json!({"cursor": cursor}),
                None => json!({}),
            };
            let request =
                json!({"jsonrpc": "2.0", "id": id, "method": "tools/list", "params": params});
            self.to_server.send(Some(request.to_string())).ok();
            let response = tokio::time::timeout(self.proxy.annotation_timeout, rx).await;
            let response = match response {
                Ok(Ok(response)) => response,
                Ok(Err(_)) => return Err("the server closed before answering".into()),
                Err(_) => {
                    self.state().internal.remove(&Value::String(id).to_string());
                    return Err("the server did not answer tools/list in time".into());
                }
            };
            let result = response
                .get("result")
                .cloned()
                .ok_or_else(|| format!("tools/list failed: {response}"))?;
            let list: ListToolsResult =
                serde_json::from_value(result).map_err(|e| format!("tools/list: {e}"))?;
            cursor = list.next_cursor.clone();
            self.remember_tools(list, cursor.is_none());
            if cursor.is_none() {
                return Ok(());
            }
        }
    }

    fn remember_tools(&self, list: ListToolsResult, complete: bool) {
        let mut state = self.state();
        for tool in list.tools {
            match tool.annotations {
                Some(annotations) => {
                    state
                        .annotations
                        .insert(tool.name.into_owned(), annotations);
                }
                None => {
                    state.annotations.remove(tool.name.as_ref());
                }
            }
        }
        if complete {
            state.tools_known = true;
        }
    }

    fn on_server_line(&self, line: &str) {
        let Ok(message) = serde_json::from_str::<Value>(line) else {
            self.to_client.send(Some(line.to_string())).ok();
            return;
        };
        let is_response = message.get("method").is_none()
            && (message.get("result").is_some() || message.get("error").is_some());
        if is_response {
            let key = message.get("id").map(Value::to_string).unwrap_or_default();
            let internal = self.state().internal.remove(&key);
            if let Some(tx) = internal {
                tx.send(message).ok();
                return;
            }
            let pending = self.state().pending.remove(&key);
            match pending {
                Some(Pending::ToolsList) => {
                    if let Some(result) = message.get("result").cloned() {
                        if let Ok(list) = serde_json::from_value::<ListToolsResult>(result) {
                            let complete = list.next_cursor.is_none();
                            self.remember_tools(list, complete);
                        }
                    }
                }
                Some(Pending::ToolsCall { checked, started }) => {
                    let outcome = outcome_of(&message, started.elapsed());
                    let gate = self.proxy.gate.clone();
                    tokio::spawn(async move {
                        if let Err(error) = gate.report_outcome(&checked, outcome).await {
                            tracing::error!(proposal_id = %checked.proposal_id, %error, "outcome not recorded");
                        }
                    });
                }
                None => {}
            }
        } else if message.get("method").and_then(Value::as_str)
            == Some("notifications/tools/list_changed")
        {
            let mut state = self.state();
            state.annotations.clear();
            state.tools_known = false;
        }
        self.to_client.send(Some(line.to_string())).ok();
    }
}

/// How a forwarded call went, read from the server's response.
fn outcome_of(response: &Value, elapsed: Duration) -> Outcome {
    let duration_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    if let Some(error) = response.get("error") {
        return Outcome {
            success: false,
            error: Some(error.to_string()),
            duration_ms,
        };
    }
    let is_error = response
        .pointer("/result/isError")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let error = is_error.then(|| {
        response
            .pointer("/result/content/0/text")
            .and_then(Value::as_str)
            .unwrap_or("the tool reported an error")
            .to_string()
    });
    Outcome {
        success: !is_error,
        error,
        duration_ms,
    }
}

/// A `tools/call` response carrying a tool error with `text`.
fn tool_error(id: &Value, text: &str) -> Value {
    let result = CallToolResult::error(vec![ContentBlock::text(text)]);
    let result = serde_json::to_value(result)
        .unwrap_or_else(|_| json!({"content": [{"type": "text", "text": text}], "isError": true}));
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names_follow_claude_code() {
        assert_eq!(tool_name("fs", "write_file"), "mcp__fs__write_file");
    }

    #[test]
    fn a_tool_error_is_a_result_flagged_as_error() {
        let answer = tool_error(&json!(7), "no");
        assert_eq!(answer["id"], json!(7));
        assert_eq!(answer["result"]["isError"], json!(true));
        assert_eq!(answer["result"]["content"][0]["text"], json!("no"));
        assert!(answer.get("error").is_none());
    }

    #[test]
    fn outcomes_read_tool_errors_and_protocol_errors() {
        let ok = outcome_of(&json!({"id": 1, "result": {"content": []}}), Duration::ZERO);
        assert!(ok.success);
        let tool = outcome_of(
            &json!({"id": 1, "result": {"isError": true, "content": [{"type": "text", "text": "boom"}]}}),
            Duration::ZERO,
        );
        assert!(!tool.success);
        assert_eq!(tool.error.as_deref(), Some("boom"));
        let protocol = outcome_of(
            &json!({"id": 1, "error": {"code": -1, "message": "x"}}),
            Duration::ZERO,
        );
        assert!(!protocol.success);
    }

    #[test]
    fn calls_map_to_actions_with_annotations() {
        let params: CallToolRequestParams = serde_json::from_value(json!({
            "name": "write_file", "arguments": {"path": "/tmp/x", "content": "y"}
        }))
        .unwrap();
        let hints = preflight_core::ToolAnnotations {
            destructive_hint: Some(true),
            ..Default::default()
        };
        let action = action_for_call("fs", &params, Some(hints.clone()));
        assert_eq!(action.tool, "mcp__fs__write_file");
        assert_eq!(action.input["path"], json!("/tmp/x"));
        assert_eq!(action.context.tool_annotations, Some(hints));
        let bare: CallToolRequestParams =
            serde_json::from_value(json!({"name": "list_allowed_directories"})).unwrap();
        assert_eq!(action_for_call("fs", &bare, None).input, json!({}));
    }
}
