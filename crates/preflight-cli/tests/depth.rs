//! Deeply nested input never overflows a stack: shell, SQL and JSON nested 100 000 deep get an
//! answer (blocked), never a crash.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{POLICY, run};

fn check(action: &str) -> common::Output {
    run(&["check", "--policy", POLICY, "--action", "-"], action, &[])
}

#[test]
fn a_hundred_thousand_nested_brackets_get_an_answer() {
    const DEPTH: usize = 100_000;
    let shell = serde_json::json!({
        "tool": "Bash",
        "input": {"command": format!("echo {}", "(".repeat(DEPTH))},
    })
    .to_string();
    let sql = serde_json::json!({
        "tool": "sql.execute",
        "input": {"query": format!("SELECT {}1{}", "(".repeat(DEPTH), ")".repeat(DEPTH))},
    })
    .to_string();
    let json = format!(
        "{{\"tool\":\"Bash\",\"input\":{{\"command\":\"ls\",\"x\":{}{}}}}}",
        "[".repeat(DEPTH),
        "]".repeat(DEPTH)
    );
    for (what, action) in [("shell", shell), ("sql", sql), ("json", json)] {
        let out = check(&action);
        // Blocked (1 deny, 3 escalate) or refused as input (2): never allowed, never killed
        // by a signal (the code would be -1).
        assert!(
            [1, 2, 3].contains(&out.code),
            "{what}: exit {}: {}",
            out.code,
            out.stderr
        );
    }
}

#[test]
fn an_oversized_action_is_refused_naming_the_limit() {
    // 50 MB: refused unread past the first mebibyte, exit 2 (blocked).
    let big = format!(
        "{{\"tool\":\"Write\",\"input\":{{\"file_path\":\"/tmp/x\",\"content\":\"{}\"}}}}",
        "x".repeat(50 << 20)
    );
    let out = check(&big);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("limit of 1048576 bytes"),
        "{}",
        out.stderr
    );
    let payload = format!(
        "{{\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Write\",\"tool_input\":{{\"file_path\":\"/tmp/x\",\"content\":\"{}\"}}}}",
        "x".repeat(50 << 20)
    );
    let out = run(&["hook", "claude-code", "--policy", POLICY], &payload, &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("limit of 1048576 bytes"),
        "{}",
        out.stderr
    );
}
