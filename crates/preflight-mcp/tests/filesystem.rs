//! The proxy in front of the real `@modelcontextprotocol/server-filesystem`, driven by rmcp's
//! MCP client. Needs `PREFLIGHT_MCP_FS_SERVER` (run `. scripts/mcp.sh`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use preflight_core::testkit::{MemoryAuditSink, ScriptedAnswer, ScriptedApprover};
use preflight_core::{AuditKind, Gate, Proposal, Verdict, Verifier, VerifyError, async_trait};
use preflight_mcp::McpProxy;
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService};
use serde_json::{Value, json};
use tokio::process::Command;

/// The entry script of the filesystem server, or `None` when external tests are skipped.
fn server_entry() -> Option<String> {
    // Where `scripts/mcp.sh` installs it; the variable only overrides.
    const INSTALLED: &str = "/tmp/preflight-mcp-servers/node_modules/@modelcontextprotocol/\
                             server-filesystem/dist/index.js";
    match std::env::var("PREFLIGHT_MCP_FS_SERVER") {
        Ok(path) => Some(path),
        Err(_) if Path::new(INSTALLED).is_file() => Some(INSTALLED.to_string()),
        Err(_) if std::env::var("PREFLIGHT_SKIP_EXTERNAL").as_deref() == Ok("1") => {
            eprintln!(
                "skipped: the MCP filesystem server is not installed (PREFLIGHT_SKIP_EXTERNAL=1)"
            );
            None
        }
        Err(_) => panic!(
            "the MCP filesystem server is not installed: run `scripts/mcp.sh`, set \
             PREFLIGHT_MCP_FS_SERVER, or set PREFLIGHT_SKIP_EXTERNAL=1 to skip this test"
        ),
    }
}

fn server_command(entry: &str, root: &Path) -> Command {
    let mut command = Command::new("node");
    command
        .arg(entry)
        .arg(root)
        .stderr(std::process::Stdio::null());
    command
}

/// A test envelope: file tools may touch paths under `root` only; `create_directory` must be
/// approved by a person. Reads of the tool annotations are checked by the tests through the
/// audit trail.
#[derive(Debug)]
struct Envelope {
    root: PathBuf,
}

#[async_trait]
impl Verifier for Envelope {
    fn name(&self) -> Cow<'_, str> {
        Cow::Borrowed("envelope")
    }

    async fn verify(&self, proposal: &Proposal) -> Result<Verdict, VerifyError> {
        let action = &proposal.action;
        let Some(tool) = action.tool.strip_prefix("mcp__fs__") else {
            return Ok(Verdict::deny("envelope", "only the fs server is in scope"));
        };
        let mut paths = Vec::new();
        for key in ["path", "source", "destination"] {
            if let Some(path) = action.input.get(key).and_then(Value::as_str) {
                paths.push(path.to_string());
            }
        }
        if let Some(list) = action.input.get("paths").and_then(Value::as_array) {
            paths.extend(list.iter().filter_map(Value::as_str).map(str::to_string));
        }
        for path in &paths {
            if !Path::new(path).starts_with(&self.root) || path.contains("..") {
                return Ok(Verdict::deny(
                    "envelope",
                    format!("{path} is outside the envelope {}", self.root.display()),
                ));
            }
        }
        if tool == "create_directory" {
            return Ok(Verdict::escalate(
                "envelope",
                "new directories need a person",
            ));
        }
        Ok(Verdict::allow("envelope", "inside the envelope"))
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    inside: PathBuf,
    outside: PathBuf,
    audit: Arc<MemoryAuditSink>,
    approver: Arc<ScriptedApprover>,
    client: RunningService<RoleClient, ()>,
    proxy: tokio::task::JoinHandle<Result<std::process::ExitStatus, preflight_mcp::McpError>>,
    entry: String,
    root: PathBuf,
}

async fn setup(answers: Vec<ScriptedAnswer>, audit_failing: bool) -> Option<Setup> {
    let entry = server_entry()?;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let inside = root.join("inside");
    let outside = root.join("outside");
    std::fs::create_dir_all(&inside).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(inside.join("hello.txt"), "hello from inside").unwrap();

    let audit = Arc::new(MemoryAuditSink::new());
    audit.set_failing(audit_failing);
    let approver = Arc::new(ScriptedApprover::new(answers));
    let gate = Gate::builder(Envelope {
        root: inside.clone(),
    })
    .with_audit(Arc::clone(&audit))
    .with_approver(Arc::clone(&approver))
    .build()
    .unwrap();

    let (client_side, proxy_side) = tokio::io::duplex(1 << 16);
    let (proxy_in, proxy_out) = tokio::io::split(proxy_side);
    let command = server_command(&entry, &root);
    let proxy = tokio::spawn(async move {
        McpProxy::new("fs", gate)
            .with_agent("test-agent")
            .run_command(command, proxy_in, proxy_out)
            .await
    });
    let client = ().serve(tokio::io::split(client_side)).await.unwrap();
    Some(Setup {
        _dir: dir,
        inside,
        outside,
        audit,
        approver,
        client,
        proxy,
        entry,
        root,
    })
}

fn call(tool: &str, arguments: Value) -> CallToolRequestParams {
    let Value::Object(arguments) = arguments else {
        panic!("arguments must be an object")
    };
    CallToolRequestParams::new(tool.to_string()).with_arguments(arguments)
}

fn text_of(result: &CallToolResult) -> String {
    serde_json::to_value(&result.content).unwrap()[0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn shut_down(setup: Setup) {
    setup.client.cancel().await.unwrap();
    let status = setup.proxy.await.unwrap().unwrap();
    // The server was told to stop by the end of its input, not killed.
    assert!(status.code().is_some(), "server status: {status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_list_is_unchanged_through_the_proxy() {
    let Some(setup) = setup(vec![], false).await else {
        return;
    };
    let through_proxy = setup.client.list_all_tools().await.unwrap();

    let mut server = server_command(&setup.entry, &setup.root);
    server
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = server.spawn().unwrap();
    let transport = (child.stdout.take().unwrap(), child.stdin.take().unwrap());
    let direct_client = ().serve(transport).await.unwrap();
    let direct = direct_client.list_all_tools().await.unwrap();
    direct_client.cancel().await.unwrap();

    assert!(!direct.is_empty());
    assert_eq!(
        serde_json::to_value(&through_proxy).unwrap(),
        serde_json::to_value(&direct).unwrap()
    );
    shut_down(setup).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_inside_the_envelope_returns_the_file() {
    let Some(setup) = setup(vec![], false).await else {
        return;
    };
    let path = setup.inside.join("hello.txt");
    let result = setup
        .client
        .call_tool(call("read_text_file", json!({"path": path})))
        .await
        .unwrap();
    assert_ne!(result.is_error, Some(true), "{result:?}");
    assert_eq!(text_of(&result), "hello from inside");

    // The proxy asked the server for annotations itself (the client never listed tools), and
    // the action carried them; the outcome was recorded after the call.
    let events = setup.audit.events();
    let proposed = events
        .iter()
        .find_map(|e| match &e.kind {
            AuditKind::Proposed { action, .. } => Some(action.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(proposed.tool, "mcp__fs__read_text_file");
    assert_eq!(proposed.agent.id.as_deref(), Some("test-agent"));
    let hints = proposed.context.tool_annotations.clone().unwrap();
    assert_eq!(hints.read_only_hint, Some(true));
    // The outcome is recorded right after the response is forwarded.
    let mut completed = false;
    for _ in 0..50 {
        completed = setup
            .audit
            .events()
            .iter()
            .any(|e| matches!(&e.kind, AuditKind::Completed { outcome } if outcome.success));
        if completed {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(completed, "no completed record: {:?}", setup.audit.events());
    shut_down(setup).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_outside_the_envelope_is_refused_and_never_reaches_the_server() {
    let Some(setup) = setup(vec![], false).await else {
        return;
    };
    let target = setup.outside.join("evil.txt");
    let result = setup
        .client
        .call_tool(call(
            "write_file",
            json!({"path": target, "content": "pwned"}),
        ))
        .await
        .unwrap();
    assert_eq!(result.is_error, Some(true));
    let text = text_of(&result);
    assert!(text.starts_with("preflight refused this call"), "{text}");
    assert!(text.contains("outside the envelope"), "{text}");
    assert!(!target.exists());
    let annotated = setup.audit.events().iter().any(|e| match &e.kind {
        AuditKind::Proposed { action, .. } => action
            .context
            .tool_annotations
            .as_ref()
            .is_some_and(|h| h.destructive_hint == Some(true)),
        _ => false,
    });
    assert!(
        annotated,
        "the write's destructive hint reached the verifier"
    );

    // The same write inside the envelope goes through: the refusal was the policy's.
    let allowed = setup.inside.join("fine.txt");
    let result = setup
        .client
        .call_tool(call(
            "write_file",
            json!({"path": allowed, "content": "ok"}),
        ))
        .await
        .unwrap();
    assert_ne!(result.is_error, Some(true), "{result:?}");
    assert_eq!(std::fs::read_to_string(&allowed).unwrap(), "ok");
    shut_down(setup).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escalated_call_waits_for_the_person() {
    let Some(setup) = setup(
        vec![
            ScriptedAnswer::Approve("alice".into()),
            ScriptedAnswer::Deny("bob".into()),
        ],
        false,
    )
    .await
    else {
        return;
    };
    let approved = setup.inside.join("approved");
    let result = setup
        .client
        .call_tool(call("create_directory", json!({"path": approved})))
        .await
        .unwrap();
    assert_ne!(result.is_error, Some(true), "{result:?}");
    assert!(approved.is_dir());

    let denied = setup.inside.join("denied");
    let result = setup
        .client
        .call_tool(call("create_directory", json!({"path": denied})))
        .await
        .unwrap();
    assert_eq!(result.is_error, Some(true));
    assert!(
        text_of(&result).contains("denied by bob"),
        "{}",
        text_of(&result)
    );
    assert!(!denied.exists());

    let asked = setup.approver.asked();
    assert_eq!(asked.len(), 2);
    assert_eq!(asked[0].action.tool, "mcp__fs__create_directory");
    shut_down(setup).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_audit_trail_fails_nothing_runs() {
    let Some(setup) = setup(vec![], true).await else {
        return;
    };
    let target = setup.inside.join("unrecorded.txt");
    let result = setup
        .client
        .call_tool(call("write_file", json!({"path": target, "content": "x"})))
        .await
        .unwrap();
    assert_eq!(result.is_error, Some(true));
    assert!(
        text_of(&result).contains("could not verify"),
        "{}",
        text_of(&result)
    );
    assert!(!target.exists());
    shut_down(setup).await;
}
