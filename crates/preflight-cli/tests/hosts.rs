//! Every host's hook, run as the real binary with the payloads the hosts document.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Output, POLICY, run};
use serde_json::Value;

fn fixture(host: &str, name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/hosts/{host}/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn hook(host: &str, name: &str, extra: &[&str]) -> Output {
    let mut args = vec!["hook", host, "--policy", POLICY];
    args.extend_from_slice(extra);
    run(&args, &fixture(host, name), &[])
}

fn json(out: &Output) -> Value {
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {:?}", out.stdout))
}

#[test]
fn claude_code_denies_a_write_outside_the_project() {
    let answer = json(&hook("claude-code", "write-outside", &[]));
    assert_eq!(answer["hookSpecificOutput"]["permissionDecision"], "deny");
}

#[test]
fn codex_says_nothing_for_an_allow_and_denies_the_rest() {
    let allowed = hook("codex", "bash-cargo-test", &["--allow-means", "allow"]);
    assert_eq!(
        (allowed.code, allowed.stdout.as_str()),
        (0, ""),
        "{}",
        allowed.stderr
    );
    let denied = json(&hook("codex", "bash-curl-exfiltrate", &[]));
    assert_eq!(denied["hookSpecificOutput"]["permissionDecision"], "deny");
    let patch = json(&hook("codex", "apply-patch-outside", &[]));
    assert_eq!(patch["hookSpecificOutput"]["permissionDecision"], "deny");
    let reason = patch["hookSpecificOutput"]["permissionDecisionReason"]
        .as_str()
        .unwrap();
    assert!(reason.contains("/etc/cron.d/backdoor"), "{reason}");
}

#[test]
fn gemini_maps_its_tools_and_cannot_ask() {
    let allowed = json(&hook(
        "gemini",
        "run-shell-command",
        &["--allow-means", "allow"],
    ));
    assert_eq!(allowed["decision"], "allow");
    let deferred = json(&hook("gemini", "run-shell-command", &[]));
    assert_eq!(deferred, serde_json::json!({}));
    let secret = json(&hook("gemini", "read-secret", &[]));
    assert_eq!(secret["decision"], "deny");
    assert!(secret["reason"].as_str().unwrap().contains("no-secrets"));
    // The policy escalates; Gemini CLI cannot ask, so it is a deny.
    let delete = json(&hook("gemini", "delete-project-files", &[]));
    assert_eq!(delete["decision"], "deny");
    assert!(delete["reason"].as_str().unwrap().contains("delete-asks"));
}

#[test]
fn cursor_asks_before_a_shell_call_and_denies_a_secret_read() {
    let shell = json(&hook("cursor", "before-shell-execution", &[]));
    assert_eq!(shell["permission"], "ask");
    let read = json(&hook("cursor", "before-read-file", &[]));
    assert_eq!(read["permission"], "deny");
    let mcp = json(&hook("cursor", "before-mcp-execution", &[]));
    assert_eq!(mcp["permission"], "deny");
    assert!(mcp["agent_message"].as_str().unwrap().contains("preflight"));
}

#[test]
fn copilot_maps_its_tools() {
    let delete = json(&hook("copilot", "bash-delete", &[]));
    assert_eq!(delete["permissionDecision"], "ask");
    let create = json(&hook("copilot", "create-outside", &[]));
    assert_eq!(create["permissionDecision"], "deny");
    let view = hook("copilot", "view-inside", &[]);
    assert_eq!(
        (view.code, view.stdout.as_str()),
        (0, ""),
        "{}",
        view.stderr
    );
    let view = json(&hook("copilot", "view-inside", &["--allow-means", "allow"]));
    assert_eq!(view["permissionDecision"], "allow");
}

#[test]
fn bad_input_blocks_the_way_each_host_reads_a_block() {
    let garbage = "{\"not\": ";
    for host in ["claude-code", "codex", "gemini"] {
        let out = run(&["hook", host, "--policy", POLICY], garbage, &[]);
        assert_eq!(out.code, 2, "{host}");
        assert!(out.stdout.is_empty(), "{host}: {}", out.stdout);
        assert!(
            out.stderr.contains("invalid JSON"),
            "{host}: {}",
            out.stderr
        );
    }
    let cursor = run(&["hook", "cursor", "--policy", POLICY], garbage, &[]);
    assert_eq!(cursor.code, 2);
    let answer: Value = serde_json::from_str(&cursor.stdout).unwrap();
    assert_eq!(answer["permission"], "deny");
    let copilot = run(
        &["hook", "copilot", "--policy", POLICY],
        r#"{"toolName":"bash"}"#,
        &[],
    );
    let answer = json(&copilot);
    assert_eq!(answer["permissionDecision"], "deny");
    assert!(
        answer["permissionDecisionReason"]
            .as_str()
            .unwrap()
            .contains("`toolArgs`")
    );
}

#[test]
fn codex_denies_an_mcp_write_outside_the_project() {
    let denied = json(&hook("codex", "mcp-write-outside", &[]));
    assert_eq!(denied["hookSpecificOutput"]["permissionDecision"], "deny");
    // Codex ignores a deny without a reason and runs the call.
    let reason = denied["hookSpecificOutput"]["permissionDecisionReason"]
        .as_str()
        .unwrap();
    assert!(reason.starts_with("preflight: "), "{reason}");
}

#[test]
fn gemini_names_mcp_tools_by_their_server() {
    // `mcp__fs__*` reads of the project are allowed: the call is deferred to Gemini CLI.
    let read = json(&hook("gemini", "mcp-read-project", &[]));
    assert_eq!(read, serde_json::json!({}));
    let write = json(&hook("gemini", "mcp-write-outside", &[]));
    assert_eq!(write["decision"], "deny");
}

#[test]
fn a_missing_field_blocks_for_every_host() {
    for (host, payload) in [
        (
            "codex",
            r#"{"hook_event_name":"PreToolUse","tool_name":"Bash"}"#,
        ),
        (
            "gemini",
            r#"{"hook_event_name":"BeforeTool","tool_input":{}}"#,
        ),
    ] {
        let out = run(&["hook", host, "--policy", POLICY], payload, &[]);
        // Exit code 2 with the reason on standard error: both hosts block on it.
        assert_eq!(out.code, 2, "{host}: {}", out.stdout);
        assert!(out.stdout.is_empty(), "{host}: {}", out.stdout);
        assert!(
            out.stderr.contains("field `tool_"),
            "{host}: {}",
            out.stderr
        );
    }
    let cursor = run(
        &["hook", "cursor", "--policy", POLICY],
        r#"{"hook_event_name":"beforeShellExecution"}"#,
        &[],
    );
    assert_eq!(cursor.code, 2);
    let answer: Value = serde_json::from_str(&cursor.stdout).unwrap();
    assert_eq!(answer["permission"], "deny");
}
