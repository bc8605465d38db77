//! Running the real `preflight` binary.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod serve;

use std::io::Write;
use std::process::{Command, Stdio};

/// The test policy (an envelope for a coding agent in /work/project).
pub const POLICY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/policy.toml");

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_preflight");

/// What a run produced.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the binary with `args`, writing `stdin`, with extra environment variables. Variables
/// of the caller's environment that would change the settings are removed.
pub fn run(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for name in [
        "PREFLIGHT_CONFIG",
        "PREFLIGHT_POLICY",
        "PREFLIGHT_VERIFIER",
        "PREFLIGHT_AGENT",
        "PREFLIGHT_AUDIT",
        "PREFLIGHT_APPROVER",
        "PREFLIGHT_TIMEOUT_MS",
    ] {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    // A process may stop reading on purpose (input past its limit): a closed pipe is fine.
    if let Err(error) = input.write_all(stdin.as_bytes()) {
        assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe, "{error}");
    }
    drop(input);
    let output = child.wait_with_output().unwrap();
    Output {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Checks that the trail at `audit` holds exactly the refusal of `sent`, an input past the
/// size limit that `source` received: its size, digest and a bounded preview, never the input
/// itself; and that the trail verifies.
pub fn assert_oversized_on_record(audit: &str, sent: &str, source: &str) {
    use sha2::Digest as _;
    let tail = run(&["audit", "tail", "--audit", audit, "--json"], "", &[]);
    assert_eq!(tail.code, 0, "{}", tail.stderr);
    assert!(
        tail.stdout.len() < 8 * 1024,
        "the records hold more than a preview: {} bytes",
        tail.stdout.len()
    );
    let records: Vec<serde_json::Value> = tail
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let kinds: Vec<&str> = records
        .iter()
        .map(|r| r["event"]["kind"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["proposed", "refused"], "{}", tail.stdout);
    let action = &records[0]["event"]["kind"]["action"];
    assert_eq!(action["context"]["labels"]["preflight.input"], source);
    let oversized = &action["input"]["oversized"];
    assert_eq!(oversized["size"], sent.len(), "{oversized}");
    assert_eq!(oversized["whole"], true, "{oversized}");
    assert_eq!(oversized["limit"], 1_048_576, "{oversized}");
    assert_eq!(
        oversized["sha256"],
        preflight_core::to_hex(&sha2::Sha256::digest(sent.as_bytes())),
    );
    let preview = oversized["preview"].as_str().unwrap();
    assert!(!preview.is_empty() && preview.len() <= 512, "{preview}");
    assert!(sent.starts_with(preview), "{preview}");
    let refused = &records[1];
    assert_eq!(refused["decision"], "deny", "{refused}");
    assert!(
        refused["event"]["kind"]["message"]
            .as_str()
            .unwrap()
            .contains("limit of 1048576 bytes"),
        "{refused}"
    );
    let verify = run(&["audit", "verify", "--audit", audit], "", &[]);
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
}

/// An action of about 2 MiB, twice the input limit.
pub fn oversized_action() -> String {
    serde_json::json!({
        "tool": "Write",
        "input": {"file_path": "/work/project/big.txt", "content": "x".repeat(2 << 20)},
    })
    .to_string()
}
