//! Escalated hook calls: the host's timeout, and approval from the terminal with a code.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{POLICY, run};
use serde_json::{Value, json};

/// A call the test policy escalates (deleting project files); `id` is Claude Code's per-call
/// id, which differs between a call and its retry.
fn delete_payload(id: &str) -> String {
    json!({
        "session_id": "s-approve",
        "cwd": "/work/project",
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": "rm -rf /work/project/target"},
        "tool_use_id": id
    })
    .to_string()
}

fn store() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("audit.db").display());
    (dir, url)
}

/// Runs the hook; returns the permission decision and its reason.
fn hook(url: &str, id: &str) -> (String, String) {
    let out = run(
        &["hook", "claude-code", "--policy", POLICY, "--audit", url],
        &delete_payload(id),
        &[],
    );
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    let answer: Value = serde_json::from_str(&out.stdout).unwrap();
    let output = &answer["hookSpecificOutput"];
    (
        output["permissionDecision"].as_str().unwrap().to_string(),
        output["permissionDecisionReason"]
            .as_str()
            .unwrap()
            .to_string(),
    )
}

fn code_in(reason: &str) -> String {
    let start = reason
        .find("preflight approve ")
        .unwrap_or_else(|| panic!("no code in {reason:?}"))
        + "preflight approve ".len();
    reason[start..start + 8].to_string()
}

#[test]
fn a_code_approves_the_identical_call_once() {
    let (_dir, url) = store();
    let (decision, reason) = hook(&url, "toolu_1");
    assert_eq!(decision, "ask");
    assert!(reason.contains("delete-asks"), "{reason}");
    let code = code_in(&reason);

    let approved = run(
        &["approve", &code, "--audit", &url],
        "",
        &[("USER", "alice")],
    );
    assert_eq!(approved.code, 0, "{}", approved.stderr);
    assert!(approved.stdout.contains("approved"), "{}", approved.stdout);

    // The retry (a new tool_use_id, the same call) goes through once.
    let (decision, reason) = hook(&url, "toolu_2");
    assert_eq!(decision, "allow", "{reason}");
    let (decision, reason) = hook(&url, "toolu_3");
    assert_eq!(decision, "ask", "{reason}");
    assert_ne!(code_in(&reason), code, "a new code");

    // The audit trail records who approved it.
    let tail = run(
        &["audit", "tail", "--audit", &url, "--json", "-n", "100"],
        "",
        &[],
    );
    assert_eq!(tail.code, 0, "{}", tail.stderr);
    let approvals: Vec<Value> = tail
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["event"]["kind"]["type"] == "approval_decided")
        .collect();
    assert!(
        approvals.iter().any(|r| {
            let approval = &r["event"]["kind"]["approval"];
            approval["decision"] == "approved"
                && approval["approver"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("alice")
        }),
        "{approvals:?}"
    );
}

#[test]
fn a_wrong_or_used_code_is_refused() {
    let (_dir, url) = store();
    let (_, reason) = hook(&url, "toolu_1");
    let code = code_in(&reason);

    let malformed = run(&["approve", "hello", "--audit", &url], "", &[]);
    assert_eq!(malformed.code, 2);
    assert!(
        malformed.stderr.contains("not an approval code"),
        "{}",
        malformed.stderr
    );

    let unknown = if code == "ABCDEFGH" {
        "ABCDEFGJ"
    } else {
        "ABCDEFGH"
    };
    let wrong = run(&["approve", unknown, "--audit", &url], "", &[]);
    assert_eq!(wrong.code, 2);
    assert!(wrong.stderr.contains("no call waits"), "{}", wrong.stderr);

    assert_eq!(run(&["approve", &code, "--audit", &url], "", &[]).code, 0);
    let again = run(&["approve", &code, "--audit", &url], "", &[]);
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("already used"), "{}", again.stderr);

    // An approval binds to the exact call: another command is not let through.
    let other = run(
        &["hook", "claude-code", "--policy", POLICY, "--audit", &url],
        &delete_payload("toolu_9").replace("target", "docs"),
        &[],
    );
    let answer: Value = serde_json::from_str(&other.stdout).unwrap();
    assert_eq!(answer["hookSpecificOutput"]["permissionDecision"], "ask");
}

#[test]
fn nobody_answering_the_console_blocks_before_the_host_gives_up() {
    let (_dir, url) = store();
    let started = Instant::now();
    let out = run(
        &[
            "hook",
            "claude-code",
            "--policy",
            POLICY,
            "--approver",
            "console",
            "--audit",
            &url,
            "--host-timeout",
            "20",
        ],
        &delete_payload("toolu_1"),
        &[],
    );
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    let answer: Value = serde_json::from_str(&out.stdout).unwrap();
    let decision = &answer["hookSpecificOutput"]["permissionDecision"];
    assert!(decision == "ask" || decision == "deny", "{answer}");
}
