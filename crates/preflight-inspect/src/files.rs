//! File tools: `Read`, `Write`, `Edit`, `MultiEdit`, `NotebookEdit`, `Glob`, `Grep`, `LS`.

use preflight_core::{Action, Effect, Operation};
use serde_json::Value;

use crate::Environments;
use crate::effects::{attr, opaque, tag};
use crate::paths::{file_uri, is_secret_path, normalize_path};

/// A file effect on a path as a tool gave it, normalised against the action's context.
pub(crate) fn path_effect(
    operation: Operation,
    path: &str,
    action: &Action,
    envs: &Environments,
) -> Effect {
    let home = action
        .context
        .home
        .as_deref()
        .or_else(|| action.context.env.get("HOME").map(String::as_str));
    let normalised = normalize_path(path, action.context.cwd.as_deref(), home);
    let mut effect = Effect::new(operation, file_uri(&normalised));
    if is_secret_path(&normalised) {
        tag(&mut effect, "secret");
    }
    effect.environment = envs.of_path(&normalised);
    if normalised.contains('*') {
        effect.opaque = !path.contains('*');
    }
    effect
}

pub(crate) fn inspect_file_tool(
    action: &Action,
    envs: &Environments,
) -> (Vec<Effect>, Vec<String>) {
    let tool = action.tool.as_str();
    let input = &action.input;
    let text = |key: &str| input.get(key).and_then(Value::as_str);
    let (operation, path) = match tool {
        "Read" => (Operation::Read, text("file_path").or_else(|| text("path"))),
        "Write" => (
            Operation::Update,
            text("file_path").or_else(|| text("path")),
        ),
        "Edit" | "MultiEdit" => (
            Operation::Update,
            text("file_path").or_else(|| text("path")),
        ),
        "NotebookEdit" => (
            Operation::Update,
            text("notebook_path").or_else(|| text("file_path")),
        ),
        "Glob" | "Grep" | "LS" => (Operation::Read, text("path").or(Some("."))),
        _ => (Operation::Execute, None),
    };
    // `Glob` reads what its pattern names, which may leave the directory (`~/.ssh/*`,
    // `../../**`, `/etc/*`).
    let globbed = match (tool, text("pattern")) {
        ("Glob", Some(pattern)) if pattern.starts_with(['/', '~']) => Some(pattern.to_string()),
        ("Glob", Some(pattern)) => Some(format!("{}/{pattern}", path.unwrap_or("."))),
        _ => None,
    };
    let path = globbed.as_deref().or(path);
    match path {
        Some(path) => {
            let mut effect = path_effect(operation, path, action, envs);
            attr(&mut effect, "tool", tool);
            if matches!(tool, "Glob" | "Grep" | "LS") {
                effect.recursive = tool != "LS";
            }
            effect.evidence = Some(format!("{tool} {path}"));
            (vec![effect], Vec::new())
        }
        None => {
            let mut effect = opaque(operation, format!("tool://{tool}"));
            attr(&mut effect, "tool", tool);
            (vec![effect], vec![format!("{tool} without a path")])
        }
    }
}
