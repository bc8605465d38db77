//! `preflight mcp` and `preflight mcp-accept`: the MCP proxy and the acceptance of a changed
//! tool.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use preflight_mcp::pins::PinFile;
use preflight_rules::{Policy, RuleEffect, RuleSpec};

use crate::config::{Settings, Verifiers};
use crate::engine::{Engine, default_audit_url};
use crate::error::{CliError, EXIT_ERROR, EXIT_OK};

/// Options of `preflight mcp`.
#[derive(Debug, Args)]
pub struct McpArgs {
    /// The server's name in tool names (`mcp__<name>__<tool>`).
    #[arg(long)]
    pub server_name: String,
    /// The largest message the client may send, in bytes; a longer one is refused.
    #[arg(long, default_value_t = preflight_mcp::DEFAULT_MAX_MESSAGE_BYTES)]
    pub max_message_bytes: usize,
    /// The tool pins file (default: `mcp-pins.json` beside a SQLite audit trail, or in the
    /// state directory).
    #[arg(long)]
    pub pins: Option<PathBuf>,
    /// Leave out of `tools/list` the tools a deny rule of the policy refuses whatever their
    /// input. Every call is verified all the same.
    #[arg(long)]
    pub hide_denied_tools: bool,
    /// The server command and its arguments, after `--`.
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

/// Options of `preflight mcp-accept`.
#[derive(Debug, Args)]
pub struct AcceptArgs {
    /// The server's name, as given to `preflight mcp --server-name`.
    #[arg(long)]
    pub server: String,
    /// The tool whose new description and input schema are accepted; without it, the tools
    /// waiting for acceptance are listed.
    #[arg(long)]
    pub tool: Option<String>,
    /// The tool pins file (the default of `preflight mcp` when left out).
    #[arg(long)]
    pub pins: Option<PathBuf>,
}

/// The pins file: given, or beside the SQLite audit trail, or in the state directory.
fn pins_path(settings: &Settings, given: Option<&Path>) -> Result<PathBuf, CliError> {
    if let Some(path) = given {
        return Ok(path.to_path_buf());
    }
    let url = match &settings.audit {
        Some(url) => url.clone(),
        None => default_audit_url()?,
    };
    let beside = url
        .strip_prefix("sqlite://")
        .map(|rest| rest.split('?').next().unwrap_or(rest))
        .and_then(|file| Path::new(file).parent().map(Path::to_path_buf));
    match beside {
        Some(dir) if !dir.as_os_str().is_empty() => Ok(dir.join("mcp-pins.json")),
        _ => {
            let sqlite = default_audit_url()?;
            let file = sqlite.trim_start_matches("sqlite://");
            Ok(Path::new(file)
                .parent()
                .unwrap_or_else(|| Path::new("."))
                .join("mcp-pins.json"))
        }
    }
}

/// Runs the proxy.
pub async fn mcp(settings: &Settings, args: McpArgs) -> Result<u8, CliError> {
    let engine = Engine::build(settings, true).await?;
    let (Some(gate), Some(audit)) = (engine.gate.clone(), engine.audit.clone()) else {
        return Err(CliError::Config(
            "the MCP proxy needs an audit store".into(),
        ));
    };
    let Some((program, server_args)) = args.command.split_first() else {
        return Err(CliError::Config(
            "name the MCP server command after `--`".into(),
        ));
    };
    let mut server_command = tokio::process::Command::new(program);
    server_command.args(server_args);
    let mut proxy = preflight_mcp::McpProxy::new(args.server_name, gate)
        .with_audit(Arc::new(audit))
        .with_max_message_bytes(args.max_message_bytes)
        .with_pins(pins_path(settings, args.pins.as_deref())?);
    if let Some(agent) = &settings.agent {
        proxy = proxy.with_agent(agent);
    }
    if let Ok(cwd) = std::env::current_dir() {
        proxy = proxy.with_cwd(cwd.display().to_string());
    }
    if args.hide_denied_tools {
        match (&engine.policy, settings.verifiers) {
            (Some(policy), Verifiers::Rules | Verifiers::Both) => {
                let denied = denied_outright(policy, settings.agent.as_deref());
                proxy = proxy.hide_denied_tools(Arc::new(move |tool: &str| {
                    denied.iter().any(|pattern| glob_matches(pattern, tool))
                }));
            }
            _ => tracing::warn!("--hide-denied-tools needs the rules verifier: no tool is hidden"),
        }
    }
    let status = proxy
        .run_stdio(server_command)
        .await
        .map_err(|e| CliError::Mcp(e.to_string()))?;
    Ok(if status.success() {
        EXIT_OK
    } else {
        EXIT_ERROR
    })
}

/// Accepts a tool's changed description, or lists the tools waiting.
pub fn accept(settings: &Settings, args: &AcceptArgs) -> Result<u8, CliError> {
    let path = pins_path(settings, args.pins.as_deref())?;
    let mut pins = PinFile::load(&path).map_err(|e| CliError::Mcp(e.to_string()))?;
    let Some(tool) = &args.tool else {
        for tool in pins.changed(&args.server) {
            crate::print(tool)?;
        }
        return Ok(EXIT_OK);
    };
    let Some(pin) = pins.accept(&args.server, tool) else {
        return Err(CliError::Mcp(format!(
            "no pin for tool `{tool}` of server `{}` in {}",
            args.server,
            path.display()
        )));
    };
    let digest = pin.pinned.clone();
    pins.save(&path).map_err(|e| CliError::Mcp(e.to_string()))?;
    crate::print(&format!(
        "accepted tool `{tool}` of server `{}` as it is now (sha256 {digest})",
        args.server
    ))?;
    Ok(EXIT_OK)
}

/// The tool patterns of the policy's deny rules that hold for every input: no condition on
/// the effect, the agent or anything else, not shadowed. Rules of the policies it extends are
/// not read, so a tool they deny stays listed.
fn denied_outright(policy: &Policy, agent: Option<&str>) -> Vec<String> {
    let file = policy.file();
    if file.shadow {
        return Vec::new();
    }
    let applies = |rule: &RuleSpec| {
        rule.effect == RuleEffect::Deny
            && !rule.shadow
            && rule.operations.is_empty()
            && rule.resources.is_empty()
            && rule.except_resources.is_empty()
            && rule.environments.is_empty()
            && rule.tags.is_empty()
            && rule.attributes.is_empty()
            && rule.recursive.is_none()
            && rule.forced.is_none()
            && rule.unbounded.is_none()
            && rule.opaque.is_none()
            && rule.condition.is_none()
            && (rule.agents.is_empty()
                || agent.is_some_and(|a| rule.agents.iter().any(|p| glob_matches(p, a))))
    };
    file.rules
        .iter()
        .filter(|rule| applies(rule))
        .flat_map(|rule| rule.tools.iter().cloned())
        .collect()
}

/// `*` (any run of characters) and `?` (one character) over a name. A pattern with any other
/// glob syntax matches nothing here: hiding less is always safe.
fn glob_matches(pattern: &str, name: &str) -> bool {
    if pattern.contains(['[', ']', '{', '}', '\\']) {
        return false;
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(c) if *c == '?' || *c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_tool_names() {
        assert!(glob_matches("mcp__fs__*", "mcp__fs__write_file"));
        assert!(glob_matches("mcp__*__delete_*", "mcp__db__delete_rows"));
        assert!(glob_matches("mcp__fs__move_fil?", "mcp__fs__move_file"));
        assert!(!glob_matches("mcp__fs__*", "mcp__git__push"));
        assert!(!glob_matches("mcp__fs__{a,b}", "mcp__fs__a"));
        assert!(glob_matches("*", ""));
    }

    #[test]
    fn only_unconditional_deny_rules_hide_tools() {
        let policy = Policy::from_str(
            "[[rule]]\nid = \"no-push\"\neffect = \"deny\"\ntools = [\"mcp__git__push\"]\n\n\
             [[rule]]\nid = \"no-outside\"\neffect = \"deny\"\ntools = [\"mcp__fs__*\"]\n\
             resources = [\"file:///etc/**\"]\n\n\
             [[rule]]\nid = \"ci-only\"\neffect = \"deny\"\nagents = [\"ci-*\"]\n\
             tools = [\"mcp__fs__write_file\"]\n",
            "test",
        )
        .unwrap();
        assert_eq!(denied_outright(&policy, None), ["mcp__git__push"]);
        assert_eq!(
            denied_outright(&policy, Some("ci-bot")),
            ["mcp__git__push", "mcp__fs__write_file"]
        );
    }
}
