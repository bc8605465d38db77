//! MCP tools: `mcp__<server>__<tool>`, by name, path arguments and annotations.

use preflight_core::{Action, Effect, Operation};
use serde_json::Value;

use crate::Environments;
use crate::effects::{attr, opaque};
use crate::files::path_effect;

/// Tool-name prefixes and the operation they mean.
const NAME_PREFIXES: &[(&str, Operation)] = &[
    ("read", Operation::Read),
    ("list", Operation::Read),
    ("get", Operation::Read),
    ("search", Operation::Read),
    ("find", Operation::Read),
    ("query", Operation::Read),
    ("describe", Operation::Read),
    ("directory_tree", Operation::Read),
    ("fetch", Operation::Read),
    ("view", Operation::Read),
    ("write", Operation::Update),
    ("edit", Operation::Update),
    ("update", Operation::Update),
    ("move", Operation::Update),
    ("copy", Operation::Create),
    ("append", Operation::Update),
    ("rename", Operation::Update),
    ("create", Operation::Create),
    ("add", Operation::Create),
    ("delete", Operation::Delete),
    ("remove", Operation::Delete),
    ("destroy", Operation::Delete),
    ("drop", Operation::Delete),
    ("purge", Operation::Delete),
];

/// Argument names that hold paths.
const PATH_KEYS: &[&str] = &["path", "file_path", "source", "destination", "directory"];

/// Splits `mcp__<server>__<tool>`.
pub(crate) fn split_name(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix("mcp__")?;
    let (server, tool) = rest.split_once("__")?;
    (!server.is_empty() && !tool.is_empty()).then_some((server, tool))
}

pub(crate) fn inspect_mcp_tool(action: &Action, envs: &Environments) -> (Vec<Effect>, Vec<String>) {
    let Some((server, tool)) = split_name(&action.tool) else {
        let mut effect = opaque(Operation::Execute, format!("tool://{}", action.tool));
        attr(&mut effect, "tool", action.tool.clone());
        return (
            vec![effect],
            vec![format!("malformed MCP tool name `{}`", action.tool)],
        );
    };
    let lower = tool.to_ascii_lowercase();
    let by_name = NAME_PREFIXES
        .iter()
        .find(|(prefix, _)| {
            lower == *prefix
                || lower.starts_with(&format!("{prefix}_"))
                || lower.starts_with(prefix)
        })
        .map(|(_, op)| *op);
    let annotations = action.context.tool_annotations.as_ref();
    let destructive = annotations.and_then(|a| a.destructive_hint) == Some(true);
    let read_only = annotations.and_then(|a| a.read_only_hint) == Some(true);
    // The name and the annotations are claims; the stronger one wins, and a claim of
    // read-only never overrides a name that says otherwise.
    let operation = match (by_name, destructive, read_only) {
        (_, true, _) => Some(Operation::Delete),
        (Some(op), _, _) => Some(op),
        (None, false, true) => Some(Operation::Read),
        (None, false, false) => None,
    };
    let mut paths: Vec<&str> = Vec::new();
    for key in PATH_KEYS {
        if let Some(p) = action.input.get(*key).and_then(Value::as_str) {
            paths.push(p);
        }
    }
    if let Some(list) = action.input.get("paths").and_then(Value::as_array) {
        paths.extend(list.iter().filter_map(Value::as_str));
    }
    let mut effects = Vec::new();
    let decorate = |effect: &mut Effect| {
        attr(effect, "server", server);
        attr(effect, "tool", tool);
        effect.evidence = Some(action.tool.clone());
    };
    if !paths.is_empty() && operation.is_some() {
        let op = operation.unwrap_or(Operation::Execute);
        let moving = lower.starts_with("move") || lower.starts_with("rename");
        let copying = lower.starts_with("copy");
        for (index, path) in paths.iter().enumerate() {
            // `move_file(source, destination)`: the source goes away, the destination appears.
            let op = match (moving, copying, index) {
                (true, _, 0) => Operation::Delete,
                (true, _, _) => Operation::Create,
                (_, true, 0) => Operation::Read,
                _ => op,
            };
            let mut effect = path_effect(op, path, action, envs);
            decorate(&mut effect);
            effects.push(effect);
        }
    } else {
        let resource = format!("mcp://{server}/{tool}");
        let mut effect = match operation {
            Some(op) => Effect::new(op, resource),
            None => opaque(Operation::Execute, resource),
        };
        decorate(&mut effect);
        effects.push(effect);
        // An unclassified tool given paths: whatever it does there is unknown.
        for path in &paths {
            let mut effect = path_effect(Operation::Execute, path, action, envs);
            effect.opaque = true;
            decorate(&mut effect);
            effects.push(effect);
        }
    }
    // Whatever else looks like a path or a URL, under any other argument name: what the tool
    // does with it is unknown, so it is opaque.
    let mut others = Vec::new();
    mentioned(&action.input, None, &mut others);
    for text in others {
        if paths.contains(&text) {
            continue;
        }
        let mut effect = if text.contains("://") {
            opaque(Operation::Execute, text.to_string())
        } else {
            let mut effect = path_effect(Operation::Execute, text, action, envs);
            effect.opaque = true;
            effect
        };
        decorate(&mut effect);
        effects.push(effect);
    }
    (effects, Vec::new())
}

/// Every string in the arguments that looks like a path or a URL, except under the path keys.
fn mentioned<'a>(value: &'a Value, key: Option<&str>, out: &mut Vec<&'a str>) {
    const MAX: usize = 256;
    if out.len() >= MAX {
        return;
    }
    match value {
        Value::String(text) => {
            if key.is_some_and(|k| PATH_KEYS.contains(&k) || k == "paths") {
                return;
            }
            let one_line = !text.contains('\n') && text.len() < 4096;
            let path_like = text.starts_with(['/', '~'])
                || text.starts_with("./")
                || text.starts_with("../")
                || (text.contains('/') && !text.contains(' '));
            if one_line && (path_like || text.contains("://")) {
                out.push(text);
            }
        }
        Value::Array(items) => {
            for item in items {
                mentioned(item, key, out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                mentioned(v, Some(k), out);
            }
        }
        _ => {}
    }
}
