//! `preflight install HOST` / `preflight uninstall HOST`: preflight's hook in an agent host's
//! user settings.
//!
//! The settings file is read as JSON and every key is kept; preflight's entry is found by its
//! command (`… hook <host> …` of a `preflight` executable), so installing twice leaves one
//! entry and uninstalling removes only it. The file is copied to `<file>.preflight-backup`
//! before the first change, and written whole to a temporary file that replaces it, so that a
//! failure leaves the old file. A file that is not valid JSON is never overwritten.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::config::Settings;
use crate::error::{CliError, EXIT_OK};
use crate::hosts::Host;

/// The policy installed when none is named.
pub const DEFAULT_POLICY: &str = "builtin:coding-agent";
/// The first Claude Code version that honours `"onFailure": "block"` on a hook.
const CLAUDE_ON_FAILURE_SINCE: (u64, u64, u64) = (2, 1, 295);
/// Seconds added to the approval wait and the verification deadline for the host's timeout.
const TIMEOUT_MARGIN_SECS: u64 = 5;

/// `preflight install`.
#[derive(Debug, clap::Args)]
pub struct InstallArgs {
    /// The agent host.
    #[arg(value_enum)]
    pub host: Host,
    /// Print the new settings file instead of writing it.
    #[arg(long)]
    pub dry_run: bool,
}

/// `preflight uninstall`.
#[derive(Debug, clap::Args)]
pub struct UninstallArgs {
    /// The agent host.
    #[arg(value_enum)]
    pub host: Host,
    /// Print the new settings file instead of writing it.
    #[arg(long)]
    pub dry_run: bool,
}

/// Where and how a host keeps its hooks.
struct Layout {
    /// The settings file, relative to `$HOME`.
    file: &'static str,
    /// The hook events preflight answers.
    events: &'static [&'static str],
    /// Matcher groups (`{matcher, hooks: [...]}`) or flat entries.
    grouped: bool,
}

fn layout(host: Host) -> Layout {
    match host {
        Host::ClaudeCode => Layout {
            file: ".claude/settings.json",
            events: &["PreToolUse"],
            grouped: true,
        },
        Host::Codex => Layout {
            file: ".codex/hooks.json",
            events: &["PreToolUse"],
            grouped: true,
        },
        Host::Gemini => Layout {
            file: ".gemini/settings.json",
            events: &["BeforeTool"],
            grouped: true,
        },
        Host::Cursor => Layout {
            file: ".cursor/hooks.json",
            events: &crate::hosts::cursor::EVENTS,
            grouped: false,
        },
        Host::Copilot => Layout {
            file: ".copilot/hooks/preflight.json",
            events: &["preToolUse"],
            grouped: false,
        },
    }
}

fn home() -> Result<PathBuf, CliError> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| CliError::Config("HOME is not set: cannot find the settings file".into()))
}

/// The hook's timeout in the host: the approval wait, the verification deadline and a margin.
pub fn host_timeout_secs(settings: &Settings) -> u64 {
    settings
        .approval_timeout_secs
        .saturating_add(settings.timeout_ms.div_ceil(1_000))
        .saturating_add(TIMEOUT_MARGIN_SECS)
}

/// Quotes `word` for a POSIX shell when it needs it.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@+,".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The command the host runs.
fn hook_command(host: Host, settings: &Settings, timeout: u64) -> Result<String, CliError> {
    let exe =
        std::env::current_exe().map_err(|e| CliError::io("finding the preflight executable", e))?;
    let policy = match &settings.policy {
        Some(path) if path.is_relative() && !path.starts_with("builtin:") => {
            std::env::current_dir()
                .map_err(|e| CliError::io("reading the current directory", e))?
                .join(path)
                .display()
                .to_string()
        }
        Some(path) => path.display().to_string(),
        None => DEFAULT_POLICY.to_string(),
    };
    let audit = match &settings.audit {
        Some(url) => url.clone(),
        None => format!("sqlite://{}", state_dir()?.join("audit.db").display()),
    };
    let mut command = format!(
        "\"{}\" hook {} --policy {} --host-timeout {timeout} --audit {}",
        exe.display(),
        host.name(),
        shell_word(&policy),
        shell_word(&audit)
    );
    if let Some(agent) = &settings.agent {
        command.push_str(&format!(" --agent {}", shell_word(agent)));
    }
    Ok(command)
}

/// `$XDG_STATE_HOME/preflight`, or `~/.local/state/preflight`.
fn state_dir() -> Result<PathBuf, CliError> {
    let base = match std::env::var_os("XDG_STATE_HOME").filter(|s| !s.is_empty()) {
        Some(state) => PathBuf::from(state),
        None => home()?.join(".local/state"),
    };
    Ok(base.join("preflight"))
}

/// The hook entry in the host's own format.
fn hook_entry(host: Host, command: &str, timeout: u64) -> Value {
    match host {
        // A hook that fails or times out blocks the call instead of letting it run.
        Host::ClaudeCode => json!({
            "type": "command", "command": command, "timeout": timeout, "onFailure": "block"
        }),
        Host::Codex => json!({"type": "command", "command": command, "timeout": timeout}),
        // Gemini CLI counts in milliseconds.
        Host::Gemini => json!({
            "type": "command", "command": command, "name": "preflight",
            "timeout": timeout.saturating_mul(1_000)
        }),
        Host::Cursor => json!({"command": command, "timeout": timeout}),
        Host::Copilot => json!({"type": "command", "bash": command, "timeoutSec": timeout}),
    }
}

/// Whether `entry` is preflight's hook for `host`.
fn is_ours(entry: &Value, host: Host) -> bool {
    let command = entry
        .get("command")
        .or_else(|| entry.get("bash"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    command.contains("preflight") && command.contains(&format!(" hook {}", host.name()))
}

/// Removes preflight's entries for `host` from `settings`; returns how many it removed.
fn remove_entries(
    settings: &mut Map<String, Value>,
    host: Host,
    origin: &Path,
) -> Result<usize, CliError> {
    let layout = layout(host);
    let Some(hooks) = settings.get_mut("hooks") else {
        return Ok(0);
    };
    let hooks = hooks
        .as_object_mut()
        .ok_or_else(|| field_error(origin, "hooks", "an object"))?;
    let mut removed = 0;
    for event in layout.events {
        let Some(list) = hooks.get_mut(*event) else {
            continue;
        };
        let list = list
            .as_array_mut()
            .ok_or_else(|| field_error(origin, &format!("hooks.{event}"), "an array"))?;
        let before = count_entries(list, layout.grouped);
        if layout.grouped {
            for group in list.iter_mut() {
                if let Some(inner) = group.get_mut("hooks").and_then(Value::as_array_mut) {
                    inner.retain(|entry| !is_ours(entry, host));
                }
            }
            list.retain(|group| {
                group
                    .get("hooks")
                    .and_then(Value::as_array)
                    .is_none_or(|inner| !inner.is_empty())
            });
        } else {
            list.retain(|entry| !is_ours(entry, host));
        }
        removed += before - count_entries(list, layout.grouped);
        if list.is_empty() {
            hooks.remove(*event);
        }
    }
    if hooks.is_empty() {
        settings.remove("hooks");
    }
    Ok(removed)
}

fn count_entries(list: &[Value], grouped: bool) -> usize {
    if grouped {
        list.iter()
            .filter_map(|group| group.get("hooks").and_then(Value::as_array))
            .map(Vec::len)
            .sum()
    } else {
        list.len()
    }
}

fn field_error(origin: &Path, field: &str, expected: &str) -> CliError {
    CliError::Config(format!(
        "{}: field `{field}` is not {expected}; fix the file by hand, it was not changed",
        origin.display()
    ))
}

/// Adds preflight's entry for `host` (after removing any earlier one).
fn add_entry(
    settings: &mut Map<String, Value>,
    host: Host,
    entry: &Value,
    origin: &Path,
) -> Result<(), CliError> {
    remove_entries(settings, host, origin)?;
    let layout = layout(host);
    if host == Host::Cursor || host == Host::Copilot {
        settings.entry("version").or_insert(json!(1));
    }
    let hooks = settings
        .entry("hooks")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| field_error(origin, "hooks", "an object"))?;
    for event in layout.events {
        let list = hooks
            .entry(*event)
            .or_insert_with(|| Value::Array(Vec::new()))
            .as_array_mut()
            .ok_or_else(|| field_error(origin, &format!("hooks.{event}"), "an array"))?;
        if layout.grouped {
            let mut group = Map::new();
            // Codex and Gemini read the matcher as a regular expression, Claude Code `*` as all.
            match host {
                Host::ClaudeCode => {
                    group.insert("matcher".into(), json!("*"));
                }
                Host::Gemini => {
                    group.insert("matcher".into(), json!(".*"));
                }
                _ => {}
            }
            group.insert("hooks".into(), json!([entry]));
            list.push(Value::Object(group));
        } else {
            list.push(entry.clone());
        }
    }
    Ok(())
}

/// Reads the settings file: an empty object when it does not exist, an error naming the file
/// when it is not a JSON object.
fn read_settings(path: &Path) -> Result<Option<Map<String, Value>>, CliError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(CliError::io(format!("reading {}", path.display()), e)),
    };
    if text.trim().is_empty() {
        return Ok(Some(Map::new()));
    }
    match serde_json::from_str(&text) {
        Ok(Value::Object(settings)) => Ok(Some(settings)),
        Ok(_) => Err(CliError::Config(format!(
            "{}: expected a JSON object; the file was not changed",
            path.display()
        ))),
        Err(e) => Err(CliError::Config(format!(
            "{}:{}:{}: not valid JSON ({e}); the file was not changed",
            path.display(),
            e.line(),
            e.column()
        ))),
    }
}

/// Writes `settings` to `path`: a backup of the old file first (once), then a temporary file
/// renamed over it.
fn write_settings(
    path: &Path,
    existed: bool,
    settings: &Map<String, Value>,
) -> Result<Option<PathBuf>, CliError> {
    let text = format!("{}\n", crate::engine::to_json(settings, true)?);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::io(format!("creating {}", dir.display()), e))?;
    }
    let mut backup = None;
    if existed {
        let copy = backup_path(path);
        if !copy.exists() {
            std::fs::copy(path, &copy).map_err(|e| {
                CliError::io(
                    format!("backing up {} to {}", path.display(), copy.display()),
                    e,
                )
            })?;
        }
        backup = Some(copy);
    }
    let temporary = path.with_extension("json.preflight-tmp");
    std::fs::write(&temporary, text)
        .map_err(|e| CliError::io(format!("writing {}", temporary.display()), e))?;
    std::fs::rename(&temporary, path)
        .map_err(|e| CliError::io(format!("replacing {}", path.display()), e))?;
    Ok(backup)
}

fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".preflight-backup");
    PathBuf::from(name)
}

/// Claude Code's version from `claude --version`, when `claude` runs.
fn claude_version() -> Option<(u64, u64, u64)> {
    let output = std::process::Command::new("claude")
        .arg("--version")
        .output()
        .ok()?;
    parse_version(&String::from_utf8_lossy(&output.stdout))
}

/// The first `X.Y.Z` in `text`.
fn parse_version(text: &str) -> Option<(u64, u64, u64)> {
    text.split_whitespace().find_map(|word| {
        let mut parts = word.trim_start_matches('v').split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch = parts
            .next()?
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()?;
        Some((major, minor, patch))
    })
}

/// `preflight install HOST`.
pub fn install(args: &InstallArgs, settings: &Settings) -> Result<u8, CliError> {
    let path = home()?.join(layout(args.host).file);
    let existing = read_settings(&path)?;
    let existed = existing.is_some();
    let mut document = existing.unwrap_or_default();
    let timeout = host_timeout_secs(settings);
    let command = hook_command(args.host, settings, timeout)?;
    add_entry(
        &mut document,
        args.host,
        &hook_entry(args.host, &command, timeout),
        &path,
    )?;
    if args.host == Host::ClaudeCode {
        match claude_version() {
            Some(version) if version >= CLAUDE_ON_FAILURE_SINCE => {}
            found => eprintln!(
                "preflight install: warning: Claude Code {} honours \"onFailure\": \"block\" only \
                 from 2.1.295; older versions let a call through when the hook fails or times out",
                found.map_or_else(
                    || "(version unknown)".to_string(),
                    |(a, b, c)| format!("{a}.{b}.{c}")
                )
            ),
        }
    }
    if args.dry_run {
        println!("# {} (not written)", path.display());
        println!("{}", crate::engine::to_json(&document, true)?);
        return Ok(EXIT_OK);
    }
    if settings.audit.is_none() {
        let dir = state_dir()?;
        std::fs::create_dir_all(&dir)
            .map_err(|e| CliError::io(format!("creating {}", dir.display()), e))?;
    }
    let backup = write_settings(&path, existed, &document)?;
    println!(
        "installed preflight's {} hook in {}{} (timeout {timeout} s)",
        args.host.name(),
        path.display(),
        backup
            .map(|b| format!(", backup in {}", b.display()))
            .unwrap_or_default()
    );
    if let Some(note) = host_note(args.host) {
        eprintln!("preflight install: note: {note}");
    }
    Ok(EXIT_OK)
}

/// What the user must know about `host` after the install: what it takes before the hook
/// runs, and where the host lets a call through that the hook did not answer.
fn host_note(host: Host) -> Option<&'static str> {
    match host {
        // Codex keeps a user's hook off until it is trusted (`[hooks.state]` in config.toml,
        // written by its review prompt), and runs the call when a hook times out or fails.
        Host::Codex => Some(
            "Codex runs a new or changed hook only once you trust it: start `codex` and choose              to trust it when it says hooks need review. Codex lets a call run when its hook              times out or crashes; preflight answers before the timeout, with a block.",
        ),
        // Gemini CLI runs the call when a hook times out or exits with code 1.
        Host::Gemini => Some(
            "Gemini CLI lets a call run when its hook times out or exits with code 1; preflight              answers before the timeout, and blocks with exit code 2.",
        ),
        Host::ClaudeCode | Host::Cursor | Host::Copilot => None,
    }
}

/// `preflight uninstall HOST`.
pub fn uninstall(args: &UninstallArgs) -> Result<u8, CliError> {
    let path = home()?.join(layout(args.host).file);
    let Some(mut document) = read_settings(&path)? else {
        println!("no preflight hook: {} does not exist", path.display());
        return Ok(EXIT_OK);
    };
    let removed = remove_entries(&mut document, args.host, &path)?;
    if removed == 0 {
        println!("no preflight hook in {}", path.display());
        return Ok(EXIT_OK);
    }
    if args.dry_run {
        println!("# {} (not written)", path.display());
        println!("{}", crate::engine::to_json(&document, true)?);
        return Ok(EXIT_OK);
    }
    write_settings(&path, true, &document)?;
    println!(
        "removed preflight's {} hook from {}",
        args.host.name(),
        path.display()
    );
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_claude_output() {
        assert_eq!(parse_version("2.1.300 (Claude Code)"), Some((2, 1, 300)));
        assert_eq!(parse_version("claude v2.0.1-beta"), Some((2, 0, 1)));
        assert_eq!(parse_version("unknown"), None);
        assert!(parse_version("2.1.294").unwrap() < CLAUDE_ON_FAILURE_SINCE);
    }

    #[test]
    fn words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("sqlite:///a/b.db"), "sqlite:///a/b.db");
        assert_eq!(shell_word("/a b/c"), "'/a b/c'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
    }

    #[test]
    fn entries_are_added_once_and_removed_alone() {
        let origin = Path::new("settings.json");
        let mut settings: Map<String, Value> = serde_json::from_value(json!({
            "model": "opus",
            "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "lint"}]}]}
        }))
        .unwrap();
        let entry = hook_entry(Host::ClaudeCode, "\"/bin/preflight\" hook claude-code", 615);
        add_entry(&mut settings, Host::ClaudeCode, &entry, origin).unwrap();
        add_entry(&mut settings, Host::ClaudeCode, &entry, origin).unwrap();
        assert_eq!(settings["hooks"]["PreToolUse"].as_array().unwrap().len(), 2);
        assert_eq!(
            remove_entries(&mut settings, Host::ClaudeCode, origin).unwrap(),
            1
        );
        assert_eq!(
            Value::Object(settings),
            json!({"model": "opus", "hooks": {"PreToolUse": [
                {"matcher": "Bash", "hooks": [{"type": "command", "command": "lint"}]}]}})
        );
    }
}
