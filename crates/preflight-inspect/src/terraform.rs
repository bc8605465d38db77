//! Terraform: the JSON plan of `terraform show -json`, and the CLI.

use std::collections::BTreeMap;

use preflight_core::{Effect, Inspection, Operation};
use serde_json::Value;

use crate::effects::{attr, opaque, tag};
use crate::{Environments, derive_blast_radius};

/// Inspects a `terraform.apply` input: `{"workspace", "plan": {"resource_changes": […]}}`
/// (the plan may also be a JSON string). One effect per changed resource,
/// `terraform://<workspace>/<address>`; no-op and read changes are skipped. With `destroy`,
/// every effect carries the tag `destroy`.
pub fn inspect_terraform_plan(input: &Value, destroy: bool, envs: &Environments) -> Inspection {
    let mut notes = Vec::new();
    let parsed;
    let plan = match input.get("plan") {
        Some(Value::String(text)) => {
            parsed = serde_json::from_str::<Value>(text).ok();
            parsed.as_ref()
        }
        Some(other) => Some(other),
        None if input.get("resource_changes").is_some() => Some(input),
        None => None,
    };
    let workspace = input
        .get("workspace")
        .and_then(Value::as_str)
        .or_else(|| {
            plan.and_then(|p| p.get("workspace"))
                .and_then(Value::as_str)
        })
        .unwrap_or("_")
        .to_string();
    let environment = envs.of_terraform_workspace(&workspace);
    let mut effects = Vec::new();
    let changes = plan
        .and_then(|p| p.get("resource_changes"))
        .and_then(Value::as_array);
    match changes {
        None => {
            notes.push("terraform input without a plan's `resource_changes`".into());
            let mut effect = opaque(Operation::Update, format!("terraform://{workspace}/*"));
            effect.unbounded = true;
            effect.environment = environment.clone();
            attr(&mut effect, "workspace", workspace.clone());
            if destroy {
                tag(&mut effect, "destroy");
                effect.operation = Operation::Delete;
            }
            effects.push(effect);
        }
        Some(changes) => {
            for change in changes {
                let address = change
                    .get("address")
                    .and_then(Value::as_str)
                    .unwrap_or("_")
                    .to_string();
                let actions: Vec<&str> = change
                    .get("change")
                    .and_then(|c| c.get("actions"))
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let (operation, replace) = match actions.as_slice() {
                    ["no-op"] | ["read"] => continue,
                    ["create"] => (Some(Operation::Create), false),
                    ["update"] => (Some(Operation::Update), false),
                    ["delete"] => (Some(Operation::Delete), false),
                    ["delete", "create"] | ["create", "delete"] => (Some(Operation::Delete), true),
                    _ => (None, false),
                };
                let resource = format!("terraform://{workspace}/{address}");
                let mut effect = match operation {
                    Some(op) => Effect::new(op, resource),
                    None => {
                        notes.push(format!(
                            "unknown terraform actions {actions:?} for {address}"
                        ));
                        opaque(Operation::Update, resource)
                    }
                };
                effect.environment = environment.clone();
                if replace {
                    tag(&mut effect, "replace");
                }
                if destroy {
                    tag(&mut effect, "destroy");
                }
                attr(&mut effect, "workspace", workspace.clone());
                if let Some(kind) = change.get("type").and_then(Value::as_str) {
                    attr(&mut effect, "type", kind.to_string());
                }
                attr(&mut effect, "actions", actions.join(","));
                effects.push(effect);
            }
        }
    }
    Inspection {
        blast_radius: derive_blast_radius(&effects),
        effects,
        notes,
    }
}

/// Inspects terraform CLI arguments (after the program name). `apply` without a saved plan
/// and `destroy` touch an unknown set of resources: `terraform://<workspace>/*`, unbounded.
pub(crate) fn inspect_terraform_cli(
    args: &[String],
    env: &BTreeMap<String, String>,
    envs: &Environments,
) -> Vec<Effect> {
    let workspace = env
        .get("TF_WORKSPACE")
        .cloned()
        .unwrap_or_else(|| "_".into());
    let positional: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let Some(verb) = positional.first().copied() else {
        return Vec::new();
    };
    let has = |flag: &str| {
        args.iter()
            .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
    };
    let auto = has("-auto-approve") || has("--auto-approve");
    let (operation, destroy) = match verb {
        "apply" if has("-destroy") => (Operation::Delete, true),
        "apply" => (Operation::Update, false),
        "destroy" => (Operation::Delete, true),
        "import" | "taint" | "untaint" | "state" | "force-unlock" => (Operation::Update, false),
        "workspace" if positional.get(1) == Some(&"delete") => (Operation::Delete, false),
        _ => return Vec::new(),
    };
    let target = args
        .iter()
        .find_map(|a| a.strip_prefix("-target=").map(str::to_string));
    let mut effect = Effect::new(
        operation,
        format!(
            "terraform://{workspace}/{}",
            target.clone().unwrap_or_else(|| "*".into())
        ),
    );
    effect.environment = envs.of_terraform_workspace(&workspace);
    effect.forced = auto;
    if target.is_none() {
        effect.unbounded = true;
        // What an apply without a plan changes cannot be known here.
        effect.opaque = verb == "apply" && positional.len() < 2;
    }
    if destroy {
        tag(&mut effect, "destroy");
    }
    attr(&mut effect, "command", "terraform");
    attr(&mut effect, "subcommand", verb.to_string());
    attr(&mut effect, "workspace", workspace);
    vec![effect]
}
