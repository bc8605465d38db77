//! `preflight serve` over real HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::serve::{Server, TOKEN, post, start, start_in, start_with};
use common::{POLICY, run};
use serde_json::{Value, json};

#[tokio::test]
async fn the_service_verifies_authenticates_and_names_bad_fields() {
    let server = start();

    let health = reqwest::get(format!("{}/healthz", server.base))
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let openapi: Value = reqwest::get(format!("{}/openapi.json", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(openapi["openapi"], "3.1.0");

    let read =
        json!({"tool": "Read", "input": {"file_path": "/work/project/src/main.rs"}}).to_string();

    // No token, a wrong token: 401, and nothing is recorded.
    let (status, body) = post(&server, "/v1/verify", None, &read).await;
    assert_eq!(status, 401);
    assert!(body["error"].as_str().unwrap().contains("bearer"), "{body}");
    let (status, _) = post(&server, "/v1/verify", Some("wrong-token-0123456789"), &read).await;
    assert_eq!(status, 401);

    // Bad JSON: 400 naming the field.
    let (status, body) = post(&server, "/v1/verify", Some(TOKEN), r#"{"tool": 5}"#).await;
    assert_eq!(status, 400);
    assert_eq!(body["field"], "tool", "{body}");
    let (status, body) = post(
        &server,
        "/v1/verify",
        Some(TOKEN),
        r#"{"tool": "Read", "input": {}, "confidence": "high"}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["field"], "confidence", "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("`confidence`"),
        "{body}"
    );
    let (status, body) = post(&server, "/v1/verify", Some(TOKEN), r#"{"tool": "Read", "#).await;
    assert_eq!(status, 400, "{body}");

    // An allowed action gets a permit; its outcome is recorded.
    let (status, body) = post(&server, "/v1/verify", Some(TOKEN), &read).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["decision"], "allow");
    assert_eq!(body["allowed"], true);
    assert!(body["permit_id"].is_string());
    assert_eq!(body["rules"], json!(["read-project"]));
    let proposal = body["proposal_id"].as_str().unwrap().to_string();

    let (status, body) = post(
        &server,
        "/v1/outcome",
        Some(TOKEN),
        &json!({"proposal_id": proposal, "success": "yes"}).to_string(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["field"], "success", "{body}");
    let (status, _) = post(
        &server,
        "/v1/outcome",
        Some(TOKEN),
        &json!({"proposal_id": proposal, "success": true, "duration_ms": 12}).to_string(),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = post(
        &server,
        "/v1/outcome",
        Some(TOKEN),
        &json!({"proposal_id": proposal, "success": true}).to_string(),
    )
    .await;
    assert_eq!(status, 404, "an outcome is reported once");

    // A denied action gets no permit.
    let (status, body) = post(
        &server,
        "/v1/verify",
        Some(TOKEN),
        &json!({"tool": "Write", "input": {"file_path": "/etc/passwd", "content": "x"}})
            .to_string(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["decision"], "deny");
    assert_eq!(body["allowed"], false);
    assert!(body.get("permit_id").is_none());

    // Everything is in the audit trail, and the chain is intact.
    let tail = run(
        &[
            "audit",
            "tail",
            "--audit",
            &server.audit,
            "-n",
            "100",
            "--json",
        ],
        "",
        &[],
    );
    let kinds: Vec<String> = tail
        .stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["event"]["kind"]["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "proposed",
            "verified",
            "permitted",
            "completed",
            "proposed",
            "verified",
            "refused"
        ]
    );
    let verify = run(&["audit", "verify", "--audit", &server.audit], "", &[]);
    assert_eq!(verify.code, 0, "{}", verify.stdout);
}

#[test]
fn serve_refuses_to_start_without_a_strong_token() {
    let out = run(&["serve", "--policy", POLICY, "--token", "short"], "", &[]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("16 characters"), "{}", out.stderr);
}

const ALICE: &str = "alice-token-0123456789abcdef";

/// Waits for one pending request in the console's queue; returns its id and digest.
async fn pending_request(server: &Server) -> (String, String) {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        let pending: Value = client
            .get(format!("{}/console/api/requests", server.base))
            .bearer_auth(ALICE)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(first) = pending.as_array().and_then(|p| p.first()) {
            let request = &first["request"];
            return (
                request["id"].as_str().unwrap().to_string(),
                request["digest"].as_str().unwrap().to_string(),
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no request reached the approval queue");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escalation_waits_for_the_console() {
    let server = start_with(
        &["--approver", "console"],
        Some(&format!("alice@example.com={ALICE}")),
    );
    let server = std::sync::Arc::new(server);
    let escalated =
        json!({"tool": "Bash", "input": {"command": "rm -rf /work/project/target"}}).to_string();

    for (decision, allowed) in [("approve", true), ("deny", false)] {
        let waiting = {
            let server = std::sync::Arc::clone(&server);
            let escalated = escalated.clone();
            tokio::spawn(async move { post(&server, "/v1/verify", Some(TOKEN), &escalated).await })
        };
        let (id, digest) = pending_request(&server).await;
        let (status, body) = post(
            &server,
            &format!("/console/api/requests/{id}/decision"),
            Some(ALICE),
            &json!({"decision": decision, "digest": digest, "comment": "checked"}).to_string(),
        )
        .await;
        assert!(status < 300, "{status} {body}");
        let (status, body) = waiting.await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["allowed"], allowed, "{body}");
        assert_eq!(body["verdict"]["decision"], "escalate", "{body}");
        if !allowed {
            assert!(
                body["message"]
                    .as_str()
                    .unwrap()
                    .contains("alice@example.com"),
                "{body}"
            );
        }
    }
}

fn claude_payload(tool: &str, input: Value) -> String {
    json!({
        "session_id": "s1", "cwd": "/work/project", "permission_mode": "default",
        "hook_event_name": "PreToolUse", "tool_name": tool, "tool_input": input,
        "tool_use_id": "toolu_1"
    })
    .to_string()
}

#[tokio::test]
async fn hooks_are_answered_over_http_as_the_command_answers_them() {
    let server = start();
    let write = claude_payload(
        "Write",
        json!({"file_path": "/etc/cron.d/backdoor", "content": "x"}),
    );

    let (status, _) = post(&server, "/v1/hooks/claude-code", None, &write).await;
    assert_eq!(status, 401, "authenticated like the other endpoints");

    let (status, body) = post(&server, "/v1/hooks/claude-code", Some(TOKEN), &write).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["hookSpecificOutput"]["permissionDecision"], "deny",
        "{body}"
    );
    let cli = run(&["hook", "claude-code", "--policy", POLICY], &write, &[]);
    let from_cli: Value = serde_json::from_str(&cli.stdout).unwrap();
    assert_eq!(
        body["hookSpecificOutput"]["permissionDecision"],
        from_cli["hookSpecificOutput"]["permissionDecision"]
    );

    // An allow defers: an empty body, Claude Code's own rules apply.
    let read = claude_payload("Read", json!({"file_path": "/work/project/src/main.rs"}));
    let (status, body) = post(&server, "/v1/hooks/claude-code", Some(TOKEN), &read).await;
    assert_eq!((status, body), (200, Value::Null));

    // An escalation asks.
    let delete = claude_payload("Bash", json!({"command": "rm -rf /work/project/target"}));
    let (_, body) = post(&server, "/v1/hooks/claude-code", Some(TOKEN), &delete).await;
    assert_eq!(
        body["hookSpecificOutput"]["permissionDecision"], "ask",
        "{body}"
    );

    // Codex cannot ask: the same call is denied.
    let (_, body) = post(&server, "/v1/hooks/codex", Some(TOKEN), &delete).await;
    assert_eq!(
        body["hookSpecificOutput"]["permissionDecision"], "deny",
        "{body}"
    );

    // A bad payload blocks in the body (an HTTP error would let the call run).
    let (status, body) = post(&server, "/v1/hooks/claude-code", Some(TOKEN), "{").await;
    assert_eq!(status, 200);
    assert_eq!(
        body["hookSpecificOutput"]["permissionDecision"], "deny",
        "{body}"
    );
    assert!(
        body["hookSpecificOutput"]["permissionDecisionReason"]
            .as_str()
            .unwrap()
            .contains("invalid JSON")
    );

    let (status, _) = post(&server, "/v1/hooks/emacs", Some(TOKEN), &read).await;
    assert_eq!(status, 404);
}

const INFRA: &str = "infra-bot-token-0123456789abcdef";
const REPORTER: &str = "reporter-token-0123456789abcdef";

fn agents_server() -> Server {
    start_in(
        tempfile::tempdir().unwrap(),
        &[],
        None,
        &[(
            "PREFLIGHT_AGENT_TOKENS",
            &format!("infra-bot={INFRA},reporter={REPORTER}"),
        )],
    )
}

fn read_action(agent: Option<&str>) -> String {
    let mut action = json!({"tool": "Read", "input": {"file_path": "/work/project/src/main.rs"}});
    if let Some(agent) = agent {
        action["agent"] = json!({ "id": agent });
    }
    action.to_string()
}

#[tokio::test]
async fn a_token_acts_as_its_own_agent_only() {
    let server = agents_server();
    let (status, body) = post(
        &server,
        "/v1/verify",
        Some(REPORTER),
        &read_action(Some("infra-bot")),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("`reporter`"),
        "{body}"
    );
    let (status, body) = post(
        &server,
        "/v1/verify",
        Some(INFRA),
        &read_action(Some("infra-bot")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // An action that names no agent is the token's agent's.
    let (status, body) = post(&server, "/v1/verify", Some(REPORTER), &read_action(None)).await;
    assert_eq!(status, 200, "{body}");
    let tail = run(
        &["audit", "tail", "--audit", &server.audit, "--json"],
        "",
        &[],
    );
    assert!(tail.stdout.contains("\"reporter\""), "{}", tail.stdout);
    // Another agent's proposal: its outcome cannot be reported by this token.
    let proposal = body["proposal_id"].as_str().unwrap();
    let report = json!({"proposal_id": proposal, "success": true}).to_string();
    let (status, body) = post(&server, "/v1/outcome", Some(INFRA), &report).await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = post(&server, "/v1/outcome", Some(REPORTER), &report).await;
    assert_eq!(status, 204);
}

#[tokio::test]
async fn a_permit_is_redeemed_once_for_exactly_its_action() {
    let server = agents_server();
    let action = read_action(None);
    let (status, body) = post(&server, "/v1/verify", Some(INFRA), &action).await;
    assert_eq!(status, 200, "{body}");
    let permit = body["permit_id"].as_str().unwrap().to_string();
    assert_eq!(permit.len(), 32);
    let path = format!("/v1/permits/{permit}/redeem");
    // Another action's digest: refused, and the permit is not used up by it.
    let other = json!({"action": {"tool": "Read", "input": {"file_path": "/etc/hostname"}}});
    let (status, body) = post(&server, &path, Some(INFRA), &other.to_string()).await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = post(&server, &path, Some(INFRA), r#"{"digest": "xyz"}"#).await;
    assert_eq!(status, 400, "{body}");
    // The verified action (its agent filled in from the token, as at verification).
    let mut exact: Value = serde_json::from_str(&action).unwrap();
    exact["agent"] = json!({"id": "infra-bot"});
    let redeem = json!({ "action": exact }).to_string();
    let (status, body) = post(&server, &path, Some(INFRA), &redeem).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["redeemed"], true);
    let (status, body) = post(&server, &path, Some(INFRA), &redeem).await;
    assert_eq!(status, 409, "used once: {body}");
    let (status, _) = post(
        &server,
        "/v1/permits/0123456789abcdef0123456789abcdef/redeem",
        Some(INFRA),
        &redeem,
    )
    .await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn an_outcome_reported_after_a_restart_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let tokens = format!("infra-bot={INFRA}");
    let env = [("PREFLIGHT_AGENT_TOKENS", tokens.as_str())];
    let first = start_in(dir, &[], None, &env);
    let (status, body) = post(&first, "/v1/verify", Some(INFRA), &read_action(None)).await;
    assert_eq!(status, 200, "{body}");
    let proposal = body["proposal_id"].as_str().unwrap().to_string();
    // The service stops; the directory is handed over to the next one.
    let dir = first.kill();
    assert_eq!(dir.path(), path);
    let second = start_in(dir, &[], None, &env);
    let report =
        json!({"proposal_id": proposal, "success": false, "error": "disk full"}).to_string();
    let (status, body) = post(&second, "/v1/outcome", Some(INFRA), &report).await;
    assert_eq!(status, 204, "{body}");
    let (status, _) = post(&second, "/v1/outcome", Some(INFRA), &report).await;
    assert_eq!(status, 404, "once");
    let tail = run(
        &["audit", "tail", "--audit", &second.audit, "--json"],
        "",
        &[],
    );
    assert!(tail.stdout.contains("disk full"), "{}", tail.stdout);
}

#[tokio::test]
async fn an_oversized_body_is_refused_naming_the_limit_and_recorded_by_its_digest() {
    let server = start();
    let sent = common::oversized_action();
    // Without a token: refused before the body is read, and not put on record.
    let (status, _) = post(&server, "/v1/verify", None, &sent).await;
    assert_eq!(status, 401);
    let (status, body) = post(&server, "/v1/verify", Some(TOKEN), &sent).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains(&format!(
            "the body is {} bytes, larger than the limit of 1048576 bytes",
            sent.len()
        )),
        "{body}"
    );
    common::assert_oversized_on_record(&server.audit, &sent, "serve /v1/verify");
}

#[test]
fn a_body_without_a_length_is_bounded_and_recorded_the_same_way() {
    use std::io::{Read as _, Write as _};
    let server = start();
    let sent = common::oversized_action();
    let address = server.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "POST /v1/verify HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n"
    )
    .unwrap();
    // Sent in chunks with no length announced: the service learns the size only by reading.
    for chunk in sent.as_bytes().chunks(64 * 1024) {
        write!(stream, "{:x}\r\n", chunk.len()).unwrap();
        stream.write_all(chunk).unwrap();
        stream.write_all(b"\r\n").unwrap();
    }
    stream.write_all(b"0\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(
        response.contains("larger than the limit of 1048576 bytes"),
        "{response}"
    );
    common::assert_oversized_on_record(&server.audit, &sent, "serve /v1/verify");
}
