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
