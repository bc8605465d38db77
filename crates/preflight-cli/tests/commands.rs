//! `check`, `eval`, `policy` and the configuration file, run as the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{POLICY, run};
use serde_json::Value;

const READ: &str = r#"{"tool":"Read","input":{"file_path":"/work/project/src/main.rs"},"context":{"cwd":"/work/project"}}"#;
const WRITE_ETC: &str = r#"{"tool":"Write","input":{"file_path":"/etc/passwd","content":"x"},"context":{"cwd":"/work/project"}}"#;
const RM_TARGET: &str = r#"{"tool":"Bash","input":{"command":"rm -rf /work/project/target"},"context":{"cwd":"/work/project"}}"#;

#[test]
fn check_prints_the_verdict_and_exits_per_decision() {
    for (action, decision, code) in [
        (READ, "allow", 0),
        (WRITE_ETC, "deny", 1),
        (RM_TARGET, "escalate", 3),
    ] {
        let out = run(&["check", "--policy", POLICY], action, &[]);
        assert_eq!(out.code, code, "{action}: {}", out.stderr);
        let verdict: Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(verdict["decision"], decision);
        assert!(verdict["effects"].as_array().is_some_and(|e| !e.is_empty()));
        assert!(verdict["verdict"]["reasons"].is_array());
    }
    let out = run(&["check", "--policy", POLICY], RM_TARGET, &[]);
    let verdict: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(verdict["rules"], serde_json::json!(["delete-asks"]));
}

#[test]
fn check_reads_an_action_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("action.json");
    std::fs::write(&path, READ).unwrap();
    let out = run(
        &[
            "check",
            "--policy",
            POLICY,
            "--action",
            path.to_str().unwrap(),
        ],
        "",
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn a_bad_action_names_the_field_and_exits_2() {
    let out = run(
        &["check", "--policy", POLICY],
        r#"{"tool":"Read","input":{},"confidence":"high"}"#,
        &[],
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("`confidence`"), "{}", out.stderr);
    let out = run(
        &["check", "--policy", POLICY],
        r#"{"tool":"Read","inptu":{}}"#,
        &[],
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("inptu"), "{}", out.stderr);
    let out = run(&["check", "--policy", POLICY], "", &[]);
    assert_eq!(out.code, 2);
}

#[test]
fn the_configuration_file_names_the_policy_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(POLICY, dir.path().join("envelope.toml")).unwrap();
    let config = dir.path().join("preflight.toml");
    std::fs::write(
        &config,
        "policy = \"envelope.toml\"\nverifiers = [\"rules\"]\n",
    )
    .unwrap();
    let out = run(&["check", "--config", config.to_str().unwrap()], READ, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // The environment names the configuration too; a flag overrides the file's policy.
    let out = run(
        &["check", "--policy", "/nonexistent.toml"],
        READ,
        &[("PREFLIGHT_CONFIG", config.to_str().unwrap())],
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("/nonexistent.toml"), "{}", out.stderr);
    // An unknown key is an error naming the file and line.
    std::fs::write(&config, "policy = \"envelope.toml\"\naudit_url = \"x\"\n").unwrap();
    let out = run(&["check", "--config", config.to_str().unwrap()], READ, &[]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("preflight.toml:2:"), "{}", out.stderr);
}

fn corpus(lines: &[(&str, &str, &str)]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cases.jsonl");
    let text: Vec<String> = lines
        .iter()
        .map(|(id, expect, action)| {
            let mut case: Value = serde_json::from_str(action).unwrap();
            case["id"] = Value::from(*id);
            case["expect"] = Value::from(*expect);
            case.to_string()
        })
        .collect();
    std::fs::write(&path, text.join("\n")).unwrap();
    let path = path.to_str().unwrap().to_string();
    (dir, path)
}

#[test]
fn eval_prints_each_case_and_ends_with_the_totals() {
    let (_dir, path) = corpus(&[
        ("read", "allow", READ),
        ("etc", "deny", WRITE_ETC),
        ("rm", "block", RM_TARGET),
    ]);
    let out = run(&["eval", "--policy", POLICY, "--corpus", &path], "", &[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 5);
    assert!(lines[0].starts_with("ok   read"), "{}", lines[0]);
    assert_eq!(
        lines[3],
        format!(
            "{path}: block cases blocked 2/2 (100.0 %), allow cases blocked 0/1 (0.0 %), \
             exact deny/escalate 1/1"
        )
    );
    assert_eq!(*lines.last().unwrap(), "3 passed, 0 failed");
    // Not a terminal: no progress bar on stderr.
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

#[test]
fn eval_scores_each_corpus_and_the_total_and_leaves_disputed_cases_out() {
    let (_one, first) = corpus(&[("read", "allow", READ), ("etc", "block", WRITE_ETC)]);
    let (_two, second) = corpus(&[("rm", "block", RM_TARGET), ("etc2", "allow", WRITE_ETC)]);
    // A disputed case is read but not scored, whatever it expects.
    let mut text = std::fs::read_to_string(&second).unwrap();
    let mut disputed: Value = serde_json::from_str(WRITE_ETC).unwrap();
    disputed["id"] = Value::from("argued");
    disputed["expect"] = Value::from("allow");
    disputed["peer_disagreement"] = Value::from("one peer allows it, one blocks it");
    text.push('\n');
    text.push_str(&disputed.to_string());
    std::fs::write(&second, text).unwrap();
    let out = run(
        &[
            "eval", "--policy", POLICY, "--corpus", &first, "--corpus", &second,
        ],
        "",
        &[],
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(!out.stdout.contains("argued"), "{}", out.stdout);
    assert!(
        out.stdout.contains(&format!(
            "{second}: block cases blocked 1/1 (100.0 %), allow cases blocked 1/1 (100.0 %), \
             1 disputed left out"
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "total: block cases blocked 2/2 (100.0 %), allow cases blocked 1/2 (50.0 %), \
             1 disputed left out"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn eval_fails_when_a_case_fails() {
    let (_dir, path) = corpus(&[("read", "allow", READ), ("etc", "allow", WRITE_ETC)]);
    let out = run(&["eval", "--policy", POLICY, "--corpus", &path], "", &[]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("FAIL etc"), "{}", out.stdout);
    assert_eq!(out.stdout.lines().last(), Some("1 passed, 1 failed"));

    let out = run(
        &["eval", "--policy", POLICY, "--corpus", &path, "--json"],
        "",
        &[],
    );
    assert_eq!(out.code, 1);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["passed"], 1);
    assert_eq!(report["failed"], 1);
    assert_eq!(report["cases"][1]["decision"], "deny");
}

#[test]
fn eval_names_the_line_of_a_bad_case() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.jsonl");
    std::fs::write(&path, format!("{}\n{{\"id\":\"x\",\"expect\":\"maybe\",\"tool\":\"Read\"}}\n",
        serde_json::json!({"id":"ok","expect":"allow","tool":"Read","input":{"file_path":"/work/project/a"}}))).unwrap();
    let out = run(
        &[
            "eval",
            "--policy",
            POLICY,
            "--corpus",
            path.to_str().unwrap(),
        ],
        "",
        &[],
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("bad.jsonl:2"), "{}", out.stderr);
    assert!(out.stderr.contains("`expect`"), "{}", out.stderr);
}

/// The issue's acceptance: the reference envelope passes the shared corpus.
#[test]
fn the_reference_policy_passes_the_shared_corpus() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let policy = format!("{root}/examples/policies/infra-bot.toml");
    let corpus = std::env::var("PREFLIGHT_CORPUS")
        .unwrap_or_else(|_| format!("{root}/corpus/actions.jsonl"));
    assert!(
        std::path::Path::new(&policy).exists(),
        "{policy} is missing (preflight-rules ships it)"
    );
    let out = run(&["eval", "--policy", &policy, "--corpus", &corpus], "", &[]);
    let last = out.stdout.lines().last().unwrap_or_default().to_string();
    assert_eq!(
        last, "70 passed, 0 failed",
        "{}\n{}",
        out.stdout, out.stderr
    );
    assert_eq!(out.code, 0);
}

#[test]
fn policy_subcommands_work_on_the_policy() {
    let out = run(&["policy", "lint", "--policy", POLICY], "", &[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .lines()
            .last()
            .unwrap()
            .ends_with("0 errors, 0 warnings")
            || out.stdout.contains(" errors, ")
    );

    let out = run(&["policy", "schema"], "", &[]);
    assert_eq!(out.code, 0);
    let schema: Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(schema["properties"]["rule"].is_object(), "{schema}");

    let out = run(
        &["policy", "explain", "--policy", POLICY, "--json"],
        RM_TARGET,
        &[],
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    let explanation: Value = serde_json::from_str(&out.stdout).unwrap();
    let rules = explanation["rules"].as_array().unwrap();
    assert!(
        rules
            .iter()
            .any(|r| r["id"] == "delete-asks" && r["matched"] == true)
    );
    assert!(
        rules
            .iter()
            .any(|r| r["id"] == "read-project" && r["matched"] == false)
    );

    let out = run(&["policy", "explain", "--policy", POLICY], RM_TARGET, &[]);
    assert!(
        out.stdout.starts_with("verdict: escalate"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("rule delete-asks"), "{}", out.stdout);
}

#[test]
fn policy_lint_and_test_report_failures() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.toml");
    std::fs::write(
        &path,
        "default = \"deny\"\n\n[[rule]]\nid = \"r\"\neffect = \"allow\"\nresources = [\"file:///a/[\"]\n",
    )
    .unwrap();
    let out = run(
        &["policy", "lint", "--policy", path.to_str().unwrap()],
        "",
        &[],
    );
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(
        format!("{}{}", out.stdout, out.stderr).contains("p.toml:"),
        "{}{}",
        out.stdout,
        out.stderr
    );

    std::fs::write(
        &path,
        format!(
            "{}\n[[test]]\nname = \"reading is denied (wrong on purpose)\"\nexpect = \"deny\"\naction = {{ tool = \"Read\", input = {{ file_path = \"/work/project/a\" }} }}\n",
            std::fs::read_to_string(POLICY).unwrap()
        ),
    )
    .unwrap();
    let out = run(
        &["policy", "test", "--policy", path.to_str().unwrap()],
        "",
        &[],
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("FAIL reading is denied"),
        "{}",
        out.stdout
    );
    assert_eq!(out.stdout.lines().last(), Some("0 passed, 1 failed"));
}

#[test]
fn audit_tail_shows_hidden_characters_visibly() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("audit.db").display());
    let action = serde_json::json!({
        "tool": "mcp__files__rm\u{202E}fdp.exe",
        "agent": {"id": "bot\u{1B}[2Jsneaky"},
        "input": {"path": "/tmp/x"},
    })
    .to_string();
    let out = run(
        &["check", "--policy", POLICY, "--audit", &url],
        &action,
        &[],
    );
    assert_ne!(out.code, 0, "{}", out.stderr);
    let tail = run(&["audit", "tail", "--audit", &url], "", &[]);
    assert_eq!(tail.code, 0, "{}", tail.stderr);
    assert!(!tail.stdout.is_empty());
    assert!(
        !preflight_core::visible::has_hidden(&tail.stdout),
        "{:?}",
        tail.stdout
    );
    assert!(tail.stdout.contains("\\u{202E}"), "{}", tail.stdout);
    assert!(tail.stdout.contains("\\u{001B}"), "{}", tail.stdout);
}

#[test]
fn an_oversized_action_is_refused_and_recorded_by_its_digest_not_its_content() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("audit.db").display());
    let sent = common::oversized_action();
    let out = run(&["check", "--policy", POLICY, "--audit", &url], &sent, &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "standard input is {} bytes, larger than the limit of 1048576 bytes",
            sent.len()
        )),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    common::assert_oversized_on_record(&url, &sent, "check");
}
