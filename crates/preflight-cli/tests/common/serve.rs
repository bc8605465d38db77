//! Running `preflight serve` and talking to it over HTTP.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::{BIN, POLICY};

/// The token of the service's `--token` (`PREFLIGHT_TOKEN`), which belongs to no agent.
pub const TOKEN: &str = "test-token-0123456789abcdef";

/// A running service; dropping it kills the process (and removes its directory).
pub struct Server {
    pub child: Child,
    pub base: String,
    pub audit: String,
    dir: Option<tempfile::TempDir>,
}

impl Server {
    /// Kills the service with SIGKILL, as a crash would, and hands back its directory (the
    /// audit trail in it) for the next one.
    pub fn kill(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.dir.take().expect("the directory is taken once")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the service with its audit trail (`audit.db`) in a new directory.
pub fn start() -> Server {
    start_with(&[], None)
}

/// Starts the service with extra `args` and, when given, approver tokens for the console.
pub fn start_with(args: &[&str], approver_tokens: Option<&str>) -> Server {
    start_in(tempfile::tempdir().unwrap(), args, approver_tokens, &[])
}

/// Starts the service with its audit trail in `dir`, and `env` set.
pub fn start_in(
    dir: tempfile::TempDir,
    args: &[&str],
    approver_tokens: Option<&str>,
    env: &[(&str, &str)],
) -> Server {
    let audit = format!("sqlite://{}", dir.path().join("audit.db").display());
    let mut command = Command::new(BIN);
    command
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--policy",
            POLICY,
            "--audit",
            &audit,
        ])
        .args(args)
        .env("PREFLIGHT_TOKEN", TOKEN)
        .env_remove("PREFLIGHT_APPROVER_TOKENS")
        .env_remove("PREFLIGHT_APPROVER")
        .env_remove("PREFLIGHT_CONFIG")
        .env_remove("PREFLIGHT_AUDIT_SIGNING_KEY")
        .env_remove("PREFLIGHT_AUDIT_WITNESS");
    if let Some(tokens) = approver_tokens {
        command.env("PREFLIGHT_APPROVER_TOKENS", tokens);
    }
    command.env_remove("PREFLIGHT_AGENT_TOKENS");
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .rsplit(' ')
        .next()
        .filter(|u| u.starts_with("http://"))
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_string();
    Server {
        child,
        base,
        audit,
        dir: Some(dir),
    }
}

/// Posts `body` to `path`; the status and the body as JSON (a string when it is not JSON,
/// null when empty).
pub async fn post(server: &Server, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
    let client = reqwest::Client::new();
    let mut request = client
        .post(format!("{}{path}", server.base))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, value)
}
