//! `preflight install` / `uninstall` in a temporary home.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{BIN, Output, POLICY, run};
use serde_json::{Value, json};

fn in_home(home: &Path, args: &[&str]) -> Output {
    let home = home.display().to_string();
    // No `claude` on PATH: the version is unknown.
    run(
        args,
        "",
        &[
            ("HOME", home.as_str()),
            ("XDG_STATE_HOME", ""),
            ("PATH", "/nonexistent"),
        ],
    )
}

fn install(home: &Path, host: &str) -> Output {
    in_home(
        home,
        &["install", host, "--policy", POLICY, "--agent", "infra-bot"],
    )
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn preflight_hooks(settings: &Value) -> Vec<Value> {
    settings["hooks"]["PreToolUse"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|group| group["hooks"].as_array().cloned().unwrap_or_default())
        .filter(|hook| {
            hook["command"]
                .as_str()
                .unwrap_or_default()
                .contains(" hook claude-code")
        })
        .collect()
}

/// Runs `command` with a shell, as Claude Code does, with `stdin`.
fn run_installed(command: &str, home: &Path, stdin: &str) -> Output {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("HOME", home)
        .env_remove("PREFLIGHT_CONFIG")
        .env_remove("PREFLIGHT_APPROVER")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), stdin.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    Output {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn claude_payload(command: &str) -> String {
    json!({
        "session_id": "s1", "cwd": "/work/project", "permission_mode": "default",
        "hook_event_name": "PreToolUse", "tool_name": "Bash",
        "tool_input": {"command": command}, "tool_use_id": "toolu_1"
    })
    .to_string()
}

#[test]
fn claude_code_install_writes_a_blocking_hook_that_works() {
    let home = tempfile::tempdir().unwrap();
    // As a new user runs it: the built-in coding-agent policy, no agent named.
    let out = in_home(home.path(), &["install", "claude-code"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("2.1.295"), "a warning: {}", out.stderr);
    let settings = read(&home.path().join(".claude/settings.json"));
    let hooks = preflight_hooks(&settings);
    assert_eq!(hooks.len(), 1, "{settings}");
    let hook = &hooks[0];
    assert_eq!(hook["onFailure"], "block");
    let timeout = hook["timeout"].as_u64().unwrap();
    let command = hook["command"].as_str().unwrap();
    assert!(
        command.starts_with(&format!("\"{BIN}\" hook claude-code")),
        "{command}"
    );
    assert!(
        command.contains(&format!("--host-timeout {timeout}")),
        "{command}"
    );
    assert!(command.contains("--audit sqlite://"), "{command}");
    assert!(
        command.contains("--policy builtin:coding-agent"),
        "{command}"
    );

    let denied = run_installed(command, home.path(), &claude_payload("rm -rf ~"));
    assert_eq!(denied.code, 0, "{}", denied.stderr);
    let answer: Value = serde_json::from_str(&denied.stdout).unwrap();
    assert_eq!(answer["hookSpecificOutput"]["permissionDecision"], "deny");

    // An allowed call is not blocked: no decision, Claude Code's own rules apply.
    let allowed = run_installed(command, home.path(), &claude_payload("cargo test"));
    assert_eq!(
        (allowed.code, allowed.stdout.as_str()),
        (0, ""),
        "{}",
        allowed.stderr
    );
}

#[test]
fn install_keeps_other_keys_backs_up_and_is_idempotent() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join(".claude/settings.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let original = json!({
        "model": "opus",
        "permissions": {"allow": ["Bash(ls:*)"]},
        "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "lint"}]}]}
    });
    std::fs::write(&path, original.to_string()).unwrap();

    assert_eq!(install(home.path(), "claude-code").code, 0);
    assert_eq!(install(home.path(), "claude-code").code, 0);
    let backup = home.path().join(".claude/settings.json.preflight-backup");
    assert_eq!(
        read(&backup),
        original,
        "the backup is the file before the first change"
    );
    let settings = read(&path);
    assert_eq!(preflight_hooks(&settings).len(), 1, "{settings}");
    assert_eq!(settings["model"], "opus");
    assert_eq!(settings["permissions"], original["permissions"]);

    let dry = in_home(home.path(), &["uninstall", "claude-code", "--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert_eq!(
        preflight_hooks(&read(&path)).len(),
        1,
        "a dry run writes nothing"
    );

    let out = in_home(home.path(), &["uninstall", "claude-code"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(read(&path), original, "only preflight's entry is removed");
}

#[test]
fn a_malformed_settings_file_is_named_and_left_alone() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join(".claude/settings.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "{\"model\": \"opus\",").unwrap();
    let out = install(home.path(), "claude-code");
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains(&path.display().to_string()),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\"model\": \"opus\","
    );
    assert!(
        !home
            .path()
            .join(".claude/settings.json.preflight-backup")
            .exists()
    );
}

#[test]
fn dry_run_prints_the_new_file_and_writes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let out = in_home(
        home.path(),
        &["install", "codex", "--dry-run", "--policy", POLICY],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("hook codex"), "{}", out.stdout);
    assert!(!home.path().join(".codex/hooks.json").exists());
}

#[test]
fn every_host_gets_its_own_file() {
    let home = tempfile::tempdir().unwrap();
    for (host, file) in [
        ("codex", ".codex/hooks.json"),
        ("gemini", ".gemini/settings.json"),
        ("cursor", ".cursor/hooks.json"),
        ("copilot", ".copilot/hooks/preflight.json"),
    ] {
        let out = install(home.path(), host);
        assert_eq!(out.code, 0, "{host}: {}", out.stderr);
        let text = std::fs::read_to_string(home.path().join(file)).unwrap();
        assert!(text.contains(&format!(" hook {host} ")), "{host}: {text}");
        let out = in_home(home.path(), &["uninstall", host]);
        assert_eq!(out.code, 0, "{host}: {}", out.stderr);
        let text = std::fs::read_to_string(home.path().join(file)).unwrap();
        assert!(!text.contains(" hook "), "{host}: {text}");
    }
}

/// The command and timeout preflight installed, checked to be what `hook HOST` runs with.
fn installed_command(entry: &Value, key: &str, host: &str) -> String {
    let command = entry[key].as_str().unwrap().to_string();
    assert!(
        command.starts_with(&format!("\"{BIN}\" hook {host} ")),
        "{command}"
    );
    command
}

#[test]
fn each_host_gets_exactly_its_own_format() {
    let home = tempfile::tempdir().unwrap();

    // Codex (0.171.0 `HooksFile`): matcher groups under `hooks.PreToolUse`, no matcher for
    // every tool, `timeout` in seconds.
    let out = install(home.path(), "codex");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("trust"), "{}", out.stderr);
    let codex = read(&home.path().join(".codex/hooks.json"));
    let entry = &codex["hooks"]["PreToolUse"][0]["hooks"][0];
    let command = installed_command(entry, "command", "codex");
    let timeout = entry["timeout"].as_u64().unwrap();
    assert!(
        command.contains(&format!("--host-timeout {timeout} ")),
        "{command}"
    );
    assert_eq!(
        codex,
        json!({"hooks": {"PreToolUse": [{"hooks": [
            {"type": "command", "command": command, "timeout": timeout}]}]}})
    );

    // Gemini CLI (0.61.0 `settings.json`): a regular-expression matcher, `timeout` in ms.
    assert_eq!(install(home.path(), "gemini").code, 0);
    let gemini = read(&home.path().join(".gemini/settings.json"));
    let entry = &gemini["hooks"]["BeforeTool"][0]["hooks"][0];
    let command = installed_command(entry, "command", "gemini");
    assert_eq!(
        gemini,
        json!({"hooks": {"BeforeTool": [{"matcher": ".*", "hooks": [{"type": "command",
            "command": command, "name": "preflight", "timeout": timeout * 1_000}]}]}})
    );

    // Copilot CLI (1.0.102, as its bundled plugins write `hooks.json`): `version` 1, flat
    // entries, `bash` and `timeoutSec`.
    assert_eq!(install(home.path(), "copilot").code, 0);
    let copilot = read(&home.path().join(".copilot/hooks/preflight.json"));
    let entry = &copilot["hooks"]["preToolUse"][0];
    let command = installed_command(entry, "bash", "copilot");
    assert_eq!(
        copilot,
        json!({"version": 1, "hooks": {"preToolUse": [
            {"type": "command", "bash": command, "timeoutSec": timeout}]}})
    );

    // Cursor: `version` 1, one flat entry per event.
    assert_eq!(install(home.path(), "cursor").code, 0);
    let cursor = read(&home.path().join(".cursor/hooks.json"));
    let entry = &cursor["hooks"]["beforeShellExecution"][0];
    let command = installed_command(entry, "command", "cursor");
    let flat = json!([{"command": command, "timeout": timeout}]);
    assert_eq!(
        cursor,
        json!({"version": 1, "hooks": {"beforeShellExecution": flat,
            "beforeMCPExecution": flat, "beforeReadFile": flat}})
    );

    // Uninstalling leaves no event behind (the `version` key of a file preflight created is
    // harmless and kept).
    for (host, file) in [
        ("codex", ".codex/hooks.json"),
        ("gemini", ".gemini/settings.json"),
        ("copilot", ".copilot/hooks/preflight.json"),
        ("cursor", ".cursor/hooks.json"),
    ] {
        assert_eq!(in_home(home.path(), &["uninstall", host]).code, 0, "{host}");
        let settings = read(&home.path().join(file));
        assert!(settings.get("hooks").is_none(), "{host}: {settings}");
    }
}

#[test]
fn an_installed_codex_hook_blocks_the_way_codex_reads_a_block() {
    let home = tempfile::tempdir().unwrap();
    assert_eq!(install(home.path(), "codex").code, 0);
    let codex = read(&home.path().join(".codex/hooks.json"));
    let command = codex["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
        .as_str()
        .unwrap()
        .to_string();
    let payload = |command: &str| {
        json!({"session_id": "s", "turn_id": "1", "transcript_path": null,
            "cwd": "/work/project", "hook_event_name": "PreToolUse", "model": "gpt-5",
            "permission_mode": "default", "tool_name": "Bash",
            "tool_input": {"command": command}, "tool_use_id": "call_1"})
        .to_string()
    };
    let denied = run_installed(&command, home.path(), &payload("rm -rf ~"));
    assert_eq!(denied.code, 0, "{}", denied.stderr);
    let answer: Value = serde_json::from_str(&denied.stdout).unwrap();
    assert_eq!(answer["hookSpecificOutput"]["permissionDecision"], "deny");
    let allowed = run_installed(&command, home.path(), &payload("cargo test"));
    assert_eq!(
        (allowed.code, allowed.stdout.as_str()),
        (0, ""),
        "{}",
        allowed.stderr
    );
    // A malformed payload: exit code 2 with a reason on standard error, which Codex
    // requires before it blocks.
    let broken = run_installed(&command, home.path(), "{");
    assert_eq!(broken.code, 2);
    assert!(!broken.stderr.trim().is_empty());
}
