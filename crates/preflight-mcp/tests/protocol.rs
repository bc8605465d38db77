//! Protocol edge cases, with an in-process server that records every line it receives: nothing
//! reaches the server unverified, whatever shape the client's message takes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use preflight_core::testkit::{MemoryAuditSink, ScriptedAnswer, ScriptedApprover};
use preflight_core::{
    Approval, ApprovalDecision, ApprovalError, ApprovalRequest, Approver, Gate, Proposal, Verdict,
    Verifier, VerifyError, async_trait,
};
use preflight_mcp::McpProxy;
use serde_json::{Value, json};
use tokio::io::{
    AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines, ReadHalf, WriteHalf,
};

/// Allows `safe`, escalates `slow`, denies everything else.
#[derive(Debug)]
struct ByName;

#[async_trait]
impl Verifier for ByName {
    async fn verify(&self, proposal: &Proposal) -> Result<Verdict, VerifyError> {
        Ok(match proposal.action.tool.as_str() {
            "mcp__t__safe" => Verdict::allow("by-name", "safe"),
            "mcp__t__slow" => Verdict::escalate("by-name", "a person decides"),
            other => Verdict::deny("by-name", format!("{other} is not allowed")),
        })
    }
}

type Received = Arc<Mutex<Vec<Value>>>;

/// Records every message; answers requests with a tool result naming the method.
async fn recording_server(stream: DuplexStream, received: Received) {
    let (read, mut write) = tokio::io::split(stream);
    let mut lines = BufReader::new(read).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let message: Value = serde_json::from_str(&line).unwrap();
        received.lock().unwrap().push(message.clone());
        let (Some(id), Some(method)) = (message.get("id"), message["method"].as_str()) else {
            continue;
        };
        let result = if method == "tools/list" {
            json!({"tools": [{"name": "safe", "inputSchema": {"type": "object"}}]})
        } else {
            json!({"content": [{"type": "text", "text": format!("ran {method}")}]})
        };
        let response = json!({"jsonrpc": "2.0", "id": id, "result": result});
        write
            .write_all(format!("{response}\n").as_bytes())
            .await
            .unwrap();
    }
}

struct Harness {
    lines: Lines<BufReader<ReadHalf<DuplexStream>>>,
    write: WriteHalf<DuplexStream>,
    received: Received,
}

impl Harness {
    fn new(answers: Vec<ScriptedAnswer>) -> Self {
        Self::with_approver(ScriptedApprover::new(answers))
    }

    fn with_approver(approver: impl Approver + 'static) -> Self {
        let (client, proxy_client_side) = tokio::io::duplex(1 << 16);
        let (proxy_server_side, server) = tokio::io::duplex(1 << 16);
        let received = Received::default();
        tokio::spawn(recording_server(server, Arc::clone(&received)));
        let gate = Gate::builder(ByName)
            .with_audit(MemoryAuditSink::new())
            .with_approver(approver)
            .build()
            .unwrap();
        let (client_in, client_out) = tokio::io::split(proxy_client_side);
        let (server_out, server_in) = tokio::io::split(proxy_server_side);
        tokio::spawn(async move {
            McpProxy::new("t", gate)
                .with_annotation_timeout(Duration::from_secs(2))
                .run(client_in, client_out, server_out, server_in)
                .await
        });
        let (read, write) = tokio::io::split(client);
        Self {
            lines: BufReader::new(read).lines(),
            write,
            received,
        }
    }

    async fn send(&mut self, line: &str) {
        self.write
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
    }

    async fn answer(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(10), self.lines.next_line())
            .await
            .expect("an answer in time")
            .unwrap()
            .unwrap();
        serde_json::from_str(&line).unwrap()
    }

    /// The `tools/call` requests the server received (the proxy's own `tools/list` aside).
    fn calls(&self) -> Vec<Value> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m["method"] == "tools/call")
            .cloned()
            .collect()
    }
}

fn call(id: Value, tool: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": tool, "arguments": {}}})
}

#[tokio::test]
async fn allowed_calls_pass_and_denied_ones_never_reach_the_server() {
    let mut h = Harness::new(vec![]);
    h.send(&call(json!(1), "safe").to_string()).await;
    let answer = h.answer().await;
    assert_eq!(answer["id"], 1);
    assert_eq!(answer["result"]["content"][0]["text"], "ran tools/call");

    h.send(&call(json!("two"), "rm_everything").to_string())
        .await;
    let answer = h.answer().await;
    assert_eq!(answer["id"], "two");
    assert_eq!(answer["result"]["isError"], true);
    assert!(
        answer["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("mcp__t__rm_everything is not allowed")
    );
    assert_eq!(h.calls().len(), 1);
    assert_eq!(h.calls()[0]["params"]["name"], "safe");
}

#[tokio::test]
async fn a_batch_cannot_smuggle_a_call_past_verification() {
    let mut h = Harness::new(vec![]);
    let batch = json!([
        {"jsonrpc": "2.0", "id": 10, "method": "ping"},
        call(json!(11), "rm_everything"),
        call(json!(12), "safe"),
    ]);
    h.send(&batch.to_string()).await;
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(h.answer().await);
    }
    let by_id = |id: i64| answers.iter().find(|a| a["id"] == id).unwrap().clone();
    assert_eq!(by_id(11)["result"]["isError"], true);
    assert_eq!(by_id(12)["result"]["content"][0]["text"], "ran tools/call");
    assert_eq!(by_id(10)["result"]["content"][0]["text"], "ran ping");
    let names: Vec<Value> = h
        .calls()
        .iter()
        .map(|c| c["params"]["name"].clone())
        .collect();
    assert_eq!(names, [json!("safe")]);
}

#[tokio::test]
async fn lines_that_are_not_json_and_calls_without_id_are_not_forwarded() {
    let mut h = Harness::new(vec![]);
    h.send(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"rm""#)
        .await;
    let answer = h.answer().await;
    assert_eq!(answer["error"]["code"], -32700);
    h.send(
        &json!({"jsonrpc": "2.0", "method": "tools/call",
                   "params": {"name": "safe", "arguments": {}}})
        .to_string(),
    )
    .await;
    h.send(r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"arguments":{}}}"#)
        .await;
    let answer = h.answer().await;
    assert_eq!(answer["id"], 3);
    assert_eq!(answer["error"]["code"], -32602);
    // Everything else still flows.
    h.send(r#"{"jsonrpc":"2.0","id":4,"method":"ping"}"#).await;
    assert_eq!(h.answer().await["id"], 4);
    assert!(h.calls().is_empty(), "{:?}", h.calls());
}

#[tokio::test]
async fn an_escalated_call_runs_only_once_approved() {
    let mut h = Harness::new(vec![
        ScriptedAnswer::Approve("alice".into()),
        ScriptedAnswer::Deny("bob".into()),
    ]);
    h.send(&call(json!(1), "slow").to_string()).await;
    assert_eq!(
        h.answer().await["result"]["content"][0]["text"],
        "ran tools/call"
    );
    h.send(&call(json!(2), "slow").to_string()).await;
    let answer = h.answer().await;
    assert_eq!(answer["result"]["isError"], true);
    assert!(
        answer["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("denied by bob")
    );
    assert_eq!(h.calls().len(), 1);
}

/// Approves, but only once released.
#[derive(Debug)]
struct LateApprover(Arc<tokio::sync::Notify>);

#[async_trait]
impl Approver for LateApprover {
    async fn request(&self, request: &ApprovalRequest) -> Result<Approval, ApprovalError> {
        self.0.notified().await;
        Ok(Approval::new(request, ApprovalDecision::Approved, "late"))
    }
}

#[tokio::test]
async fn a_call_cancelled_while_waiting_for_a_person_is_never_forwarded() {
    let release = Arc::new(tokio::sync::Notify::new());
    let mut h = Harness::with_approver(LateApprover(Arc::clone(&release)));
    h.send(&call(json!(1), "slow").to_string()).await;
    h.send(
        &json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                "params": {"requestId": 1, "reason": "user gave up"}})
        .to_string(),
    )
    .await;
    // A later request is answered: the waiting call does not block the session.
    h.send(r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#).await;
    assert_eq!(h.answer().await["id"], 2);
    // Now the person approves; the call was cancelled, so it must not run.
    release.notify_one();
    tokio::time::sleep(Duration::from_millis(200)).await;
    h.send(r#"{"jsonrpc":"2.0","id":3,"method":"ping"}"#).await;
    assert_eq!(
        h.answer().await["id"],
        3,
        "no answer for the cancelled call"
    );
    assert!(h.calls().is_empty(), "{:?}", h.calls());
    assert!(
        h.received
            .lock()
            .unwrap()
            .iter()
            .any(|m| m["method"] == "notifications/cancelled")
    );
}

#[tokio::test]
async fn an_approved_call_that_was_not_cancelled_runs() {
    let release = Arc::new(tokio::sync::Notify::new());
    let mut h = Harness::with_approver(LateApprover(Arc::clone(&release)));
    h.send(&call(json!(1), "slow").to_string()).await;
    release.notify_one();
    assert_eq!(h.answer().await["id"], 1);
    assert_eq!(h.calls().len(), 1);
}
