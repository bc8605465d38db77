#![doc = include_str!("../README.md")]

pub mod methods;
pub mod pins;

mod frame;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use preflight_core::{
    Action, ActionDigest, AuditEvent, AuditKind, AuditSink, Checked, Decision, Gate, Outcome,
    Timestamp,
};
use rmcp::model::{CallToolRequestParams, CallToolResult, ContentBlock, ListToolsResult};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::frame::{BoundedLines, Frame, Oversized};
use crate::pins::PinFile;

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

/// The default limit on the size of one message from the client: 1 MiB.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1 << 20;

/// The JSON-RPC error code of a request the proxy refused (other than a `tools/call`, which
/// is answered with a tool result flagged as an error).
pub const REFUSED: i64 = -32001;

/// The JSON-RPC error code of an invalid request (a batch that needs verification, a message
/// past the size limit, a message that is not a request).
pub const INVALID_REQUEST: i64 = -32600;

/// How many records one refused batch adds to the audit trail at most.
const MAX_BATCH_RECORDS: usize = 64;

/// Tool parameters recorded in the audit trail larger than this are replaced by their size,
/// digest and first bytes.
const MAX_RECORDED_PARAMS: usize = 64 * 1024;

/// A predicate on tool names (`mcp__<server>__<tool>`): true for a tool the policy denies
/// whatever its input.
pub type DeniedTools = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// A stdio MCP proxy between a client and one server.
///
/// Requests that can have side effects (`tools/call`, `resources/read`, `prompts/get`, …; see
/// [`methods::client_method`]) are checked by the [`Gate`] first:
/// - allowed: the request is forwarded as it came, and its outcome is recorded;
/// - denied, escalated without an approver, or not verifiable (any error): the request never
///   reaches the server, and the client receives a refusal saying why;
/// - escalated with an approver: the request waits for the person's decision.
///
/// Methods the proxy does not know are refused; notifications, listings and the protocol's
/// housekeeping pass through. Verification runs concurrently with other traffic, so a call
/// waiting for approval does not block the session. The server's tool annotations (read from
/// `tools/list`, or asked for before the first verification) become
/// [`preflight_core::Context::tool_annotations`], and each tool's description and input
/// schema are pinned (see [`McpProxy::with_pins`]).
///
/// A batch (a JSON array) holding anything that needs verification is refused whole; a
/// message past the size limit, a line that is not JSON, JSON nested deeper than 128 levels
/// and an object with a duplicate key are answered with an error and never forwarded.
#[derive(Clone)]
pub struct McpProxy {
    gate: Gate,
    server: String,
    agent: Option<String>,
    cwd: Option<String>,
    annotation_timeout: Duration,
    max_message_bytes: usize,
    audit: Option<Arc<dyn AuditSink>>,
    pins: Option<PathBuf>,
    denied_tools: Option<DeniedTools>,
}

impl fmt::Debug for McpProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpProxy")
            .field("server", &self.server)
            .field("agent", &self.agent)
            .field("cwd", &self.cwd)
            .field("max_message_bytes", &self.max_message_bytes)
            .field("pins", &self.pins)
            .field("hides_denied_tools", &self.denied_tools.is_some())
            .finish_non_exhaustive()
    }
}

impl McpProxy {
    /// A proxy for the server called `server` (the name in `mcp__<server>__<tool>`), checking
    /// every request with side effects with `gate`.
    pub fn new(server: impl Into<String>, gate: Gate) -> Self {
        Self {
            gate,
            server: server.into(),
            agent: None,
            cwd: None,
            annotation_timeout: Duration::from_secs(10),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            audit: None,
            pins: None,
            denied_tools: None,
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

    /// The largest message the client may send, in bytes (default
    /// [`DEFAULT_MAX_MESSAGE_BYTES`]). A longer one is refused while it is read, without
    /// being held in memory: the audit trail keeps its size, SHA-256 and first bytes.
    pub fn with_max_message_bytes(mut self, limit: usize) -> Self {
        self.max_message_bytes = limit.max(1);
        self
    }

    /// Where the proxy records what it refuses by itself (batches, oversized or unknown
    /// requests, changed tools) and the server's requests to the client. Use the gate's
    /// audit sink. Without one these are only logged.
    pub fn with_audit(mut self, audit: Arc<dyn AuditSink>) -> Self {
        self.audit = Some(audit);
        self
    }

    /// Keeps tool pins in the JSON file `path` (see [`pins::PinFile`]). Without a file, pins
    /// last as long as the proxy.
    ///
    /// The first `tools/list` pins each tool's description and input schema; when a later one
    /// shows another, calls to that tool are refused until a person accepts the change
    /// ([`pins::PinFile::accept`], `preflight mcp-accept`).
    pub fn with_pins(mut self, path: impl Into<PathBuf>) -> Self {
        self.pins = Some(path.into());
        self
    }

    /// Drops from the client's `tools/list` the tools `denied` names (by
    /// `mcp__<server>__<tool>`): tools the policy denies whatever their input, which the
    /// model need not be shown. Only a convenience: every call is verified all the same.
    pub fn hide_denied_tools(mut self, denied: DeniedTools) -> Self {
        self.denied_tools = Some(denied);
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
        let (to_audit, audit_rx) = mpsc::unbounded_channel();
        let client_writer = tokio::spawn(write_lines(client_rx, client_out, "client"));
        let server_writer = tokio::spawn(write_lines(server_rx, server_in, "server"));
        let recorder = tokio::spawn(record_events(audit_rx, self.audit.clone()));
        let mut state = State::default();
        if let Some(path) = &self.pins {
            match PinFile::load(path) {
                Ok(pins) => state.pins = pins,
                Err(e) => state.pin_error = Some(e.to_string()),
            }
        }
        let shared = Arc::new(Shared {
            proxy: self.clone(),
            to_client,
            to_server,
            to_audit: Mutex::new(Some(to_audit)),
            state: Mutex::new(state),
            next_id: AtomicU64::new(1),
        });

        let mut calls = JoinSet::new();
        let mut client_lines = BoundedLines::new(BufReader::new(client_in), self.max_message_bytes);
        // The server is not held to the client's limit: its answers (a file read) may be large.
        let mut server_lines = BoundedLines::new(BufReader::new(server_out), usize::MAX);
        let mut client_open = true;
        let mut failure = None;
        // Once the client is gone, the server gets a few seconds to finish and close.
        let closing = tokio::time::sleep(Duration::MAX);
        tokio::pin!(closing);
        loop {
            tokio::select! {
                frame = client_lines.next(), if client_open => match frame {
                    Ok(Some(frame)) => shared.on_client_frame(frame, &mut calls),
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
                frame = server_lines.next() => match frame {
                    Ok(Some(Frame::Line(line))) => shared.on_server_line(&line),
                    Ok(Some(_)) => tracing::warn!("dropped a message from the server that is not text"),
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
        // The recorder ends once its sender is gone; what it still holds is written first.
        drop(
            shared
                .to_audit
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(),
        );
        if tokio::time::timeout(SERVER_GRACE, recorder).await.is_err() {
            tracing::error!("the audit trail did not take the proxy's last records in time");
        }
        let client = client_writer.await;
        let server = server_writer.await;
        if let Some(failure) = failure {
            return Err(failure);
        }
        for (side, result) in [("client", client), ("server", server)] {
            match result {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(e),
                Err(e) => {
                    return Err(McpError::Io {
                        side,
                        message: e.to_string(),
                    });
                }
            }
        }
        Ok(())
    }
}

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

/// Appends the proxy's own records, in order.
async fn record_events(
    mut rx: mpsc::UnboundedReceiver<Vec<AuditEvent>>,
    audit: Option<Arc<dyn AuditSink>>,
) {
    while let Some(events) = rx.recv().await {
        let Some(audit) = &audit else {
            continue;
        };
        if let Err(error) = audit.append(&events).await {
            tracing::error!(%error, "the proxy's record was not written to the audit trail");
        }
    }
}

/// A request of the client forwarded to the server, whose response the proxy reads.
enum Pending {
    ToolsList,
    Verified {
        checked: Box<Checked>,
        started: Instant,
    },
}

/// A request of the server to the client, recorded when it passed.
struct Passed {
    proposal_id: Arc<str>,
    digest: ActionDigest,
    tool: Arc<str>,
    started: Instant,
}

#[derive(Default)]
struct State {
    /// Client requests awaiting the server's response, by id (as JSON text).
    pending: HashMap<String, Pending>,
    /// Server requests awaiting the client's response, by id.
    passed: HashMap<String, Passed>,
    /// The proxy's own requests to the server.
    internal: HashMap<String, oneshot::Sender<Value>>,
    /// Requests being verified, and those of them the client cancelled.
    verifying: HashSet<String>,
    cancelled: HashSet<String>,
    /// Annotations per tool, and whether the full list has been read since it last changed.
    annotations: HashMap<String, rmcp::model::ToolAnnotations>,
    tools_known: bool,
    /// The pins, each tool's digest in the latest list, and why pins cannot be trusted.
    pins: PinFile,
    digests: HashMap<String, String>,
    pin_error: Option<String>,
}

struct Shared {
    proxy: McpProxy,
    to_client: mpsc::UnboundedSender<Option<String>>,
    to_server: mpsc::UnboundedSender<Option<String>>,
    to_audit: Mutex<Option<mpsc::UnboundedSender<Vec<AuditEvent>>>>,
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

    /// An action the proxy saw, with the session's agent and working directory.
    fn situate(&self, mut action: Action) -> Action {
        action.agent.id.clone_from(&self.proxy.agent);
        action.context.cwd.clone_from(&self.proxy.cwd);
        action
    }

    /// Appends `kinds` as the records of `action`; returns its proposal id.
    fn record(&self, action: Action, kinds: Vec<AuditKind>) -> (Arc<str>, ActionDigest) {
        let events = AuditEvent::proposal(self.situate(action), kinds);
        let (proposal_id, digest) = (Arc::clone(&events[0].proposal_id), events[0].digest);
        if let Some(tx) = &*self.to_audit.lock().unwrap_or_else(|p| p.into_inner()) {
            tx.send(events).ok();
        }
        (proposal_id, digest)
    }

    /// Records that the proxy itself refused `action`, and why.
    fn record_refusal(&self, action: Action, message: &str) {
        tracing::warn!(tool = %action.tool, message, "refused by the proxy");
        self.record(
            action,
            vec![AuditKind::Refused {
                decision: Decision::Deny,
                message: message.to_string(),
            }],
        );
    }

    fn on_client_frame(self: &Arc<Self>, frame: Frame, calls: &mut JoinSet<()>) {
        match frame {
            Frame::Line(line) => self.on_client_line(&line, calls),
            Frame::NotText => self.send_client(&rpc_error(
                &Value::Null,
                -32700,
                "parse error: the message is not UTF-8",
            )),
            Frame::Oversized(oversized) => self.on_oversized(&oversized),
        }
    }

    /// Refuses a message past the size limit, from the little of it that was kept.
    fn on_oversized(&self, oversized: &Oversized) {
        let head = frame::scan_head(&oversized.head);
        let limit = self.proxy.max_message_bytes;
        let message = format!(
            "preflight refused this request: it is {} bytes, above the proxy's limit of {limit} \
             bytes per message (McpProxy::with_max_message_bytes, preflight mcp \
             --max-message-bytes)",
            oversized.size
        );
        let tool = match (head.method.as_deref(), head.name.as_deref()) {
            (Some("tools/call"), Some(name)) => name.to_string(),
            (Some(method), _) => {
                methods::method_tool(method).map_or_else(|| method.to_string(), str::to_string)
            }
            (None, _) => "unknown".to_string(),
        };
        let mut action = Action::new(
            tool_name(&self.proxy.server, &tool),
            json!({"oversized": {
                "size": oversized.size,
                "sha256": oversized.sha256,
                "preview": oversized.preview,
                "limit": limit,
            }}),
        );
        if let Some(method) = head.method {
            action.context.labels.insert("mcp.method".into(), method);
        }
        self.record_refusal(action, &message);
        self.send_client(&rpc_error(
            head.id.as_ref().unwrap_or(&Value::Null),
            INVALID_REQUEST,
            &message,
        ));
    }

    fn on_client_line(self: &Arc<Self>, line: &str, calls: &mut JoinSet<()>) {
        if line.trim().is_empty() {
            return;
        }
        match frame::parse_strict(line) {
            Ok(Value::Array(batch)) => self.client_batch(batch, line),
            Ok(message) => self.client_message(message, line.to_string(), calls),
            Err(e) => {
                // The id, when the start of the message names one, lets the client stop
                // waiting; nothing of the message is forwarded.
                let id = frame::scan_head(line.as_bytes()).id.unwrap_or(Value::Null);
                self.send_client(&rpc_error(&id, -32700, &format!("parse error: {e}")));
            }
        }
    }

    /// A batch is forwarded, split into single messages, only when none of its messages needs
    /// verification. Otherwise (and when it nests arrays, which JSON-RPC does not allow) the
    /// whole batch is refused: each request is answered with an error and nothing reaches the
    /// server.
    fn client_batch(self: &Arc<Self>, batch: Vec<Value>, line: &str) {
        let mut leaves = Vec::new();
        let mut nested = batch.is_empty();
        let mut pending = batch;
        while let Some(item) = pending.pop() {
            match item {
                Value::Array(items) => {
                    nested = true;
                    pending.extend(items);
                }
                other => leaves.push(other),
            }
        }
        leaves.reverse();
        let method_of = |m: &Value| m.get("method").and_then(Value::as_str).map(str::to_string);
        let needs_verification = leaves.iter().any(|m| match m {
            Value::Object(_) => match m.get("method") {
                Some(Value::String(method)) => {
                    methods::client_method(method) != methods::Handling::Forward
                }
                Some(_) => true,
                None => !is_response(m),
            },
            _ => true,
        });
        if !nested && !needs_verification {
            for message in leaves {
                let raw = message.to_string();
                // Calls cannot be in here: the join set is only for verification.
                let mut none = JoinSet::new();
                self.client_message(message, raw, &mut none);
            }
            return;
        }
        let why = if nested {
            "preflight refused this batch: batches may not nest, and nothing in it was run"
        } else {
            "preflight refused this batch: it holds requests that must be verified one at a \
             time; send each alone. Nothing in it was run"
        };
        let mut recorded = 0;
        for message in &leaves {
            let Some(method) = method_of(message) else {
                continue;
            };
            if methods::client_method(&method) == methods::Handling::Forward
                || recorded >= MAX_BATCH_RECORDS
            {
                continue;
            }
            recorded += 1;
            let params = message.get("params").cloned().unwrap_or(Value::Null);
            let action = self.request_action(&method, &params);
            self.record_refusal(action, why);
        }
        if recorded == 0 {
            let action = Action::new(
                tool_name(&self.proxy.server, "batch"),
                json!({"size": line.len(), "sha256": sha256_hex(line.as_bytes()),
                       "preview": preview(line)}),
            );
            self.record_refusal(action, why);
        }
        let answers: Vec<Value> = leaves
            .iter()
            .filter(|m| m.get("method").is_some())
            .filter_map(|m| m.get("id").filter(|id| !id.is_null()))
            .map(|id| rpc_error(id, INVALID_REQUEST, why))
            .collect();
        if answers.is_empty() {
            self.send_client(&rpc_error(&Value::Null, INVALID_REQUEST, why));
        } else {
            self.send_client(&Value::Array(answers));
        }
    }

    /// The action a request proposes, for the record of a refusal: the tool call's tool, the
    /// method's own name, or the method as written.
    fn request_action(&self, method: &str, params: &Value) -> Action {
        let server = &self.proxy.server;
        if method == "tools/call" {
            if let Ok(call) = serde_json::from_value::<CallToolRequestParams>(params.clone()) {
                return action_for_call(server, &call, None);
            }
        }
        if let Some(action) = methods::action_for_method(server, method, params) {
            return action;
        }
        let mut action = Action::new(tool_name(server, method), bounded_params(params));
        action
            .context
            .labels
            .insert("mcp.method".into(), method.to_string());
        action
    }

    fn client_message(self: &Arc<Self>, message: Value, raw: String, calls: &mut JoinSet<()>) {
        if !message.is_object() {
            self.send_client(&rpc_error(
                &Value::Null,
                INVALID_REQUEST,
                "invalid request: a message must be a JSON object",
            ));
            return;
        }
        let id = message.get("id").filter(|id| !id.is_null()).cloned();
        let method = match message.get("method") {
            Some(Value::String(method)) => method.clone(),
            None if is_response(&message) => {
                self.on_client_response(&message);
                self.to_server.send(Some(raw)).ok();
                return;
            }
            _ => {
                self.send_client(&rpc_error(
                    id.as_ref().unwrap_or(&Value::Null),
                    INVALID_REQUEST,
                    "invalid request: no method, and not a response",
                ));
                return;
            }
        };
        match (methods::client_method(&method), id) {
            (methods::Handling::Verify, Some(id)) => {
                let key = id.to_string();
                self.state().verifying.insert(key);
                let shared = Arc::clone(self);
                calls.spawn(async move { shared.verify_request(method, message, id, raw).await });
            }
            (methods::Handling::Verify | methods::Handling::Refuse, None) => {
                // Sent as a notification, it has nobody to answer; it is not run.
                let params = message.get("params").cloned().unwrap_or(Value::Null);
                let action = self.request_action(&method, &params);
                self.record_refusal(
                    action,
                    &format!(
                        "preflight dropped `{method}` sent without an id: it cannot be answered"
                    ),
                );
            }
            (methods::Handling::Refuse, Some(id)) => {
                let text = format!(
                    "preflight refused `{method}`: the proxy does not know what this method \
                     does, so it cannot verify it"
                );
                let params = message.get("params").cloned().unwrap_or(Value::Null);
                let action = self.request_action(&method, &params);
                self.record_refusal(action, &text);
                self.send_client(&rpc_error(&id, -32601, &text));
            }
            (methods::Handling::Forward, id) => {
                match (method.as_str(), id) {
                    ("tools/list", Some(id)) => {
                        self.state()
                            .pending
                            .insert(id.to_string(), Pending::ToolsList);
                    }
                    ("notifications/cancelled", _) => {
                        if let Some(request) = message.pointer("/params/requestId") {
                            let key = request.to_string();
                            let mut state = self.state();
                            if state.verifying.contains(&key) {
                                state.cancelled.insert(key);
                            }
                        }
                    }
                    _ => {}
                }
                self.to_server.send(Some(raw)).ok();
            }
        }
    }

    /// The client answered one of the server's requests: the outcome is recorded.
    fn on_client_response(&self, message: &Value) {
        let key = message.get("id").map(Value::to_string).unwrap_or_default();
        let Some(passed) = self.state().passed.remove(&key) else {
            return;
        };
        let outcome = outcome_of(message, passed.started.elapsed());
        let event = AuditEvent {
            proposal_id: passed.proposal_id,
            digest: passed.digest,
            at: Timestamp::now(),
            agent: self.proxy.agent.as_deref().map(Arc::from),
            tool: passed.tool,
            kind: AuditKind::Completed { outcome },
        };
        if let Some(tx) = &*self.to_audit.lock().unwrap_or_else(|p| p.into_inner()) {
            tx.send(vec![event]).ok();
        }
    }

    async fn verify_request(
        self: Arc<Self>,
        method: String,
        message: Value,
        id: Value,
        raw: String,
    ) {
        let key = id.to_string();
        let refusal = self.check_request(&method, &message, &id, raw).await;
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

    /// Verifies one request; forwards it when allowed and returns `None`, or returns the
    /// answer for the client.
    async fn check_request(
        &self,
        method: &str,
        message: &Value,
        id: &Value,
        raw: String,
    ) -> Option<Value> {
        let params = message.get("params").cloned().unwrap_or(Value::Null);
        let is_call = method == "tools/call";
        // A refused tool call is a tool result flagged as an error, which the model reads;
        // other requests are refused with a JSON-RPC error.
        let refuse = |text: &str| {
            if is_call {
                tool_error(id, text)
            } else {
                rpc_error(id, REFUSED, text)
            }
        };
        let action = if is_call {
            let call: CallToolRequestParams = match serde_json::from_value(params) {
                Ok(call) => call,
                Err(e) => {
                    return Some(rpc_error(
                        id,
                        -32602,
                        &format!("invalid tools/call params: {e}"),
                    ));
                }
            };
            if methods::is_reserved_tool(&call.name) {
                let text = format!(
                    "preflight refused this call: `{}` is the name under which preflight \
                     verifies an MCP method, so a tool of that name cannot be told apart from it",
                    call.name
                );
                self.record_refusal(action_for_call(&self.proxy.server, &call, None), &text);
                return Some(refuse(&text));
            }
            let annotations = self.annotations_for(&call.name).await;
            let action = action_for_call(&self.proxy.server, &call, annotations);
            if let Some(text) = self.pin_refusal(&call.name) {
                self.record_refusal(action, &text);
                return Some(refuse(&text));
            }
            action
        } else {
            match methods::action_for_method(&self.proxy.server, method, &params) {
                Some(action) => action,
                None => {
                    return Some(rpc_error(id, -32602, &format!("invalid {method} params")));
                }
            }
        };
        let action = self.situate(action);

        let mut checked = match self.proxy.gate.check(action.clone()).await {
            Ok(checked) => checked,
            Err(e) => {
                return Some(refuse(&format!(
                    "preflight could not verify this request, so it was not run: {e}"
                )));
            }
        };
        let Some(permit) = checked.permit.take() else {
            let mut text = format!("preflight refused this call: {}", checked.message);
            if let Some(suggestion) = &checked.verdict.suggestion {
                text.push_str(&format!("\nsuggestion: {suggestion}"));
            }
            return Some(refuse(&text));
        };
        if self.state().cancelled.contains(&id.to_string()) {
            // The client gave up while the request was being verified: it is not run.
            return None;
        }
        if let Err(e) = permit.redeem(&action) {
            return Some(refuse(&format!("preflight refused this call: {e}")));
        }
        self.state().pending.insert(
            id.to_string(),
            Pending::Verified {
                checked: Box::new(checked),
                started: Instant::now(),
            },
        );
        self.to_server.send(Some(raw)).ok();
        None
    }

    /// Why calls to `tool` are refused for its pin, if they are: its description or schema
    /// changed since pinned and nobody accepted the change, or the pins cannot be read.
    fn pin_refusal(&self, tool: &str) -> Option<String> {
        let server = self.proxy.server.clone();
        let mut state = self.state();
        if let Some(error) = &state.pin_error {
            return Some(format!(
                "preflight refused this call: the tool pins cannot be trusted ({error})"
            ));
        }
        let current = state.digests.get(tool)?.clone();
        let pinned = state.pins.get(&server, tool)?.pinned.clone();
        if pinned == current {
            return None;
        }
        // A person may have accepted the change since: the file says.
        if let Some(path) = &self.proxy.pins {
            match PinFile::load(path) {
                Ok(file) => {
                    if file.get(&server, tool).is_some_and(|p| p.pinned == current) {
                        state.pins = file;
                        return None;
                    }
                }
                Err(e) => {
                    return Some(format!(
                        "preflight refused this call: the tool pins cannot be read ({e})"
                    ));
                }
            }
        }
        Some(format!(
            "preflight refused this call: the description or input schema of tool `{tool}` \
             changed since it was pinned (pinned sha256 {pinned}, now {current}); a person must \
             review and accept the change: preflight mcp-accept --server {server} --tool {tool}"
        ))
    }

    async fn annotations_for(&self, tool: &str) -> Option<preflight_core::ToolAnnotations> {
        let known = {
            let state = self.state();
            match state.annotations.get(tool) {
                Some(annotations) if state.tools_known => {
                    return Some(core_annotations(annotations));
                }
                _ => state.tools_known,
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
                serde_json::from_value(result.clone()).map_err(|e| format!("tools/list: {e}"))?;
            cursor = list.next_cursor.clone();
            self.remember_tools(list, &result, cursor.is_none());
            if cursor.is_none() {
                return Ok(());
            }
        }
    }

    /// Keeps the annotations of a `tools/list` page and pins each tool's description and
    /// schema (`raw` is the page as the server sent it).
    fn remember_tools(&self, list: ListToolsResult, raw: &Value, complete: bool) {
        let server = self.proxy.server.clone();
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
        let tools = raw.get("tools").and_then(Value::as_array);
        let digests: Vec<(String, String)> = tools
            .into_iter()
            .flatten()
            .filter_map(|tool| {
                let name = tool.get("name")?.as_str()?;
                Some((name.to_string(), pins::tool_digest(tool)))
            })
            .collect();
        if let Some(path) = &self.proxy.pins {
            // Read again first: a person may have accepted a change since.
            match PinFile::load(path) {
                Ok(file) => state.pins = file,
                Err(e) => state.pin_error = Some(e.to_string()),
            }
        }
        for (name, digest) in digests {
            let pin = state.pins.observe(&server, &name, &digest);
            if pin.pinned != digest {
                tracing::warn!(tool = %name, "the tool's description or input schema changed since it was pinned");
            }
            state.digests.insert(name, digest);
        }
        if let (Some(path), None) = (&self.proxy.pins, &state.pin_error) {
            if let Err(e) = state.pins.save(path) {
                state.pin_error = Some(e.to_string());
            }
        }
        if complete {
            state.tools_known = true;
        }
    }

    fn on_server_line(&self, line: &str) {
        let Ok(parsed) = frame::parse_strict(line) else {
            // What the proxy cannot read it cannot record: it does not reach the client.
            tracing::warn!("dropped a message from the server that is not JSON");
            return;
        };
        let relay = match parsed {
            Value::Array(items) => {
                // A batch is forwarded as sent; its requests are recorded.
                for item in items {
                    self.server_message(item);
                }
                Relay::AsIs
            }
            message => self.server_message(message),
        };
        match relay {
            Relay::AsIs => {
                self.to_client.send(Some(line.to_string())).ok();
            }
            Relay::Replace(replacement) => self.send_client(&replacement),
            Relay::Drop => {}
        }
    }

    /// Reads one message of the server, and says what the client gets of it.
    fn server_message(&self, message: Value) -> Relay {
        if is_response(&message) {
            let key = message.get("id").map(Value::to_string).unwrap_or_default();
            let internal = self.state().internal.remove(&key);
            if let Some(tx) = internal {
                tx.send(message).ok();
                // The proxy's own request: the client never sees the answer.
                return Relay::Drop;
            }
            let pending = self.state().pending.remove(&key);
            match pending {
                Some(Pending::ToolsList) => {
                    let Some(result) = message.get("result") else {
                        return Relay::AsIs;
                    };
                    let Ok(list) = serde_json::from_value::<ListToolsResult>(result.clone()) else {
                        return Relay::AsIs;
                    };
                    let complete = list.next_cursor.is_none();
                    self.remember_tools(list, result, complete);
                    return self.hide_denied(message);
                }
                Some(Pending::Verified { checked, started }) => {
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
            return Relay::AsIs;
        }
        let Some(method) = message.get("method").and_then(Value::as_str) else {
            return Relay::AsIs;
        };
        if method == "notifications/tools/list_changed" {
            let mut state = self.state();
            state.annotations.clear();
            state.tools_known = false;
        }
        if let Some(id) = message.get("id").filter(|id| !id.is_null()) {
            // A request of the server to the client (sampling, elicitation, roots): it passes,
            // and is on record with the client's answer.
            let params = message.get("params").cloned().unwrap_or(Value::Null);
            let mut action = Action::new(
                tool_name(&self.proxy.server, method),
                bounded_params(&params),
            );
            action
                .context
                .labels
                .insert("mcp.method".into(), method.to_string());
            action
                .context
                .labels
                .insert("mcp.direction".into(), "server-to-client".into());
            let tool: Arc<str> = Arc::from(action.tool.as_str());
            let (proposal_id, digest) = self.record(action, Vec::new());
            self.state().passed.insert(
                id.to_string(),
                Passed {
                    proposal_id,
                    digest,
                    tool,
                    started: Instant::now(),
                },
            );
        }
        Relay::AsIs
    }

    /// The client's `tools/list` answer without the tools the policy denies outright.
    fn hide_denied(&self, mut message: Value) -> Relay {
        let Some(denied) = self.proxy.denied_tools.as_ref() else {
            return Relay::AsIs;
        };
        let Some(tools) = message
            .pointer_mut("/result/tools")
            .and_then(Value::as_array_mut)
        else {
            return Relay::AsIs;
        };
        let before = tools.len();
        tools.retain(|tool| {
            let name = tool.get("name").and_then(Value::as_str).unwrap_or_default();
            !denied(&tool_name(&self.proxy.server, name))
        });
        if tools.len() == before {
            Relay::AsIs
        } else {
            Relay::Replace(message)
        }
    }
}

/// What the client gets of a server's message.
enum Relay {
    /// The line as the server sent it.
    AsIs,
    /// Another message in its place.
    Replace(Value),
    /// Nothing.
    Drop,
}

/// Whether `message` is a JSON-RPC response (an id and a result or error, no method).
fn is_response(message: &Value) -> bool {
    message.get("method").is_none()
        && message.get("id").is_some()
        && (message.get("result").is_some() || message.get("error").is_some())
}

/// A JSON-RPC error answer.
fn rpc_error(id: &Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    preflight_core::to_hex(&sha2::Sha256::digest(bytes))
}

/// The first bytes of `text`, cut at a character boundary.
fn preview(text: &str) -> String {
    let mut end = text.len().min(frame::PREVIEW_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// `params` for the audit trail: as they are, or their size, digest and first bytes when large.
fn bounded_params(params: &Value) -> Value {
    let text = params.to_string();
    if text.len() <= MAX_RECORDED_PARAMS {
        return params.clone();
    }
    json!({"oversized": {"size": text.len(), "sha256": sha256_hex(text.as_bytes()),
                         "preview": preview(&text)}})
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
