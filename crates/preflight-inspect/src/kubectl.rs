//! kubectl and helm.

use std::collections::BTreeMap;

use preflight_core::{Effect, Operation};

use crate::Environments;
use crate::effects::{attr, opaque};
use crate::tables::{KUBE_CLUSTER_SCOPED, KUBE_RBAC, kube_kind};

/// kubectl options that take a value (the value may also follow `=`).
const WITH_VALUE: &[&str] = &[
    "--context",
    "-n",
    "--namespace",
    "--kubeconfig",
    "--cluster",
    "--user",
    "-l",
    "--selector",
    "-f",
    "--filename",
    "-o",
    "--output",
    "-c",
    "--container",
    "--replicas",
    "--type",
    "-p",
    "--patch",
    "--field-selector",
    "--as",
    "--as-group",
    "--server",
    "-s",
    "--token",
    "--image",
    "--port",
    "--timeout",
    "--grace-period",
    "--since",
    "--tail",
    "-k",
    "--kustomize",
    "--current-replicas",
    "--resource-version",
    "--for",
    "--cascade",
    "--sort-by",
];

/// kubectl verbs that only read.
const READ_VERBS: &[&str] = &[
    "get",
    "describe",
    "logs",
    "top",
    "explain",
    "api-resources",
    "api-versions",
    "version",
    "cluster-info",
    "auth",
    "diff",
    "events",
    "wait",
    "config",
];
/// Verbs that change an existing object.
const UPDATE_VERBS: &[&str] = &[
    "scale",
    "rollout",
    "patch",
    "edit",
    "label",
    "annotate",
    "set",
    "autoscale",
    "replace",
    "cordon",
    "uncordon",
    "taint",
    "drain",
    "cp",
];
/// Verbs that create (or create-or-update).
const CREATE_VERBS: &[&str] = &["apply", "create", "run", "expose"];
/// Verbs that run code inside the cluster.
const EXEC_VERBS: &[&str] = &["exec", "attach", "debug", "port-forward", "proxy", "plugin"];

/// Inspects kubectl arguments (after the program name).
pub(crate) fn inspect_kubectl(
    args: &[String],
    env: &BTreeMap<String, String>,
    envs: &Environments,
) -> Vec<Effect> {
    let mut context: Option<String> = env.get("KUBE_CONTEXT").cloned();
    let mut namespace: Option<String> = None;
    let mut all_namespaces = false;
    let mut selector = false;
    let mut all = false;
    let mut forced = false;
    let mut files: Vec<String> = Vec::new();
    let mut replicas: Option<String> = None;
    let mut positional: Vec<String> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        i += 1;
        if arg == "--" {
            break;
        }
        if arg.starts_with('-') && arg != "-" {
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None if arg.len() > 2 && !arg.starts_with("--") => {
                    // `-npayments`
                    (arg[..2].to_string(), Some(arg[2..].to_string()))
                }
                None => (arg.to_string(), None),
            };
            let takes_value = WITH_VALUE.contains(&name.as_str());
            let value = if takes_value {
                inline.or_else(|| {
                    i += 1;
                    args.get(i - 1).cloned()
                })
            } else {
                inline
            };
            match name.as_str() {
                "--context" => context = value,
                "-n" | "--namespace" => namespace = value,
                "-A" | "--all-namespaces" => all_namespaces = true,
                "-l" | "--selector" | "--field-selector" => selector = true,
                "--all" => all = true,
                "--force" => forced = true,
                "--grace-period" if value.as_deref() == Some("0") => forced = true,
                "-f" | "--filename" | "-k" | "--kustomize" => files.extend(value),
                "--replicas" => replicas = value,
                _ => {}
            }
            continue;
        }
        positional.push(arg.to_string());
    }
    let Some(verb) = positional.first().cloned() else {
        return Vec::new();
    };
    let mut objects = &positional[1..];
    let mut subverb: Option<String> = None;
    if ["rollout", "set", "auth", "config", "top", "create"].contains(&verb.as_str())
        && !objects.is_empty()
        && (verb != "create" || is_create_subcommand(&objects[0]))
    {
        subverb = Some(objects[0].clone());
        objects = &objects[1..];
    }
    let operation = if READ_VERBS.contains(&verb.as_str())
        || (verb == "rollout" && matches!(subverb.as_deref(), Some("status" | "history")))
    {
        Some(Operation::Read)
    } else if verb == "delete" {
        Some(Operation::Delete)
    } else if UPDATE_VERBS.contains(&verb.as_str()) {
        Some(Operation::Update)
    } else if CREATE_VERBS.contains(&verb.as_str()) {
        Some(Operation::Create)
    } else {
        None
    };
    let context_name = context.clone().unwrap_or_else(|| "_".into());
    let environment = context.as_deref().and_then(|c| envs.of_kube_context(c));
    let mut targets: Vec<(String, String)> = Vec::new();
    // `kubectl create deployment web` uses the subverb as the kind.
    if verb == "create" {
        if let Some(kind) = &subverb {
            targets.push((
                kube_kind(kind),
                objects.first().cloned().unwrap_or_else(|| "_".into()),
            ));
        }
    } else if matches!(verb.as_str(), "drain" | "cordon" | "uncordon") {
        for name in objects {
            targets.push(("node".into(), name.clone()));
        }
    } else if verb == "logs" || verb == "exec" || verb == "attach" || verb == "port-forward" {
        if let Some(name) = objects.first() {
            match name.split_once('/') {
                Some((kind, name)) => targets.push((kube_kind(kind), name.to_string())),
                None => targets.push(("pod".into(), name.clone())),
            }
        }
    } else if let Some(first) = objects.first() {
        if first.contains('/') {
            for object in objects {
                if let Some((kind, name)) = object.split_once('/') {
                    targets.push((kube_kind(kind), name.to_string()));
                }
            }
        } else {
            let kinds: Vec<String> = first.split(',').map(kube_kind).collect();
            let names = &objects[1..];
            for kind in kinds {
                if names.is_empty() {
                    targets.push((kind, "_".into()));
                } else {
                    for name in names {
                        targets.push((kind.clone(), name.clone()));
                    }
                }
            }
        }
    }
    if !files.is_empty() && targets.is_empty() {
        for file in &files {
            let _ = file;
            targets.push(("_".into(), "_".into()));
        }
    }
    if targets.is_empty() {
        targets.push(("_".into(), "_".into()));
    }
    let mut effects = Vec::new();
    for (kind, name) in targets {
        let ns = if KUBE_CLUSTER_SCOPED.contains(&kind.as_str()) {
            "_".to_string()
        } else if all_namespaces {
            "*".to_string()
        } else {
            namespace.clone().unwrap_or_else(|| "default".into())
        };
        let name = if (selector || all) && name == "_" {
            "*".to_string()
        } else {
            name
        };
        let resource = format!("k8s://{context_name}/{ns}/{kind}/{name}");
        let mut operation_here = operation;
        if operation.is_some_and(|op| op != Operation::Read) && KUBE_RBAC.contains(&kind.as_str()) {
            operation_here = Some(Operation::PermissionChange);
        }
        let mut effect = match operation_here {
            Some(op) => Effect::new(op, resource),
            None => opaque(Operation::Execute, resource),
        };
        effect.environment = environment.clone();
        effect.forced = forced;
        if operation_here.is_some_and(|op| op.is_mutating())
            && (all_namespaces || all || (selector && name == "*") || kind == "all")
        {
            effect.unbounded = true;
        }
        if operation_here == Some(Operation::Delete) && kind == "namespace" {
            effect.recursive = true;
        }
        attr(&mut effect, "command", "kubectl");
        attr(&mut effect, "subcommand", verb.clone());
        attr(&mut effect, "kind", kind.clone());
        attr(&mut effect, "namespace", ns);
        attr(&mut effect, "context", context_name.clone());
        if let Some(sub) = &subverb {
            attr(&mut effect, "verb", sub.clone());
        }
        if let Some(r) = &replicas {
            attr(&mut effect, "replicas", r.clone());
            if r == "0" {
                attr(&mut effect, "downtime", "true");
            }
        }
        if verb == "drain" {
            attr(&mut effect, "downtime", "true");
        }
        if !files.is_empty() {
            attr(&mut effect, "file", files.join(","));
        }
        if EXEC_VERBS.contains(&verb.as_str()) {
            effect.opaque = true;
        }
        effects.push(effect);
    }
    effects
}

fn is_create_subcommand(word: &str) -> bool {
    [
        "deployment",
        "namespace",
        "secret",
        "configmap",
        "service",
        "job",
        "cronjob",
        "role",
        "rolebinding",
        "clusterrole",
        "clusterrolebinding",
        "serviceaccount",
        "ingress",
        "quota",
        "priorityclass",
        "poddisruptionbudget",
        "token",
    ]
    .contains(&word)
}

/// Inspects helm arguments (after the program name): releases are
/// `k8s://<context>/<namespace>/helm_release/<name>`.
pub(crate) fn inspect_helm(
    args: &[String],
    env: &BTreeMap<String, String>,
    envs: &Environments,
) -> Vec<Effect> {
    let mut context: Option<String> = env.get("HELM_KUBECONTEXT").cloned();
    let mut namespace: Option<String> = env.get("HELM_NAMESPACE").cloned();
    let mut positional: Vec<String> = Vec::new();
    let mut i = 0;
    let with_value = [
        "--kube-context",
        "-n",
        "--namespace",
        "-f",
        "--values",
        "--set",
        "--set-string",
        "--version",
        "--repo",
        "--kubeconfig",
        "--timeout",
        "-o",
        "--output",
    ];
    while i < args.len() {
        let arg = args[i].as_str();
        i += 1;
        if arg.starts_with('-') {
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (arg, None),
            };
            let value = if with_value.contains(&name) {
                inline.or_else(|| {
                    i += 1;
                    args.get(i - 1).cloned()
                })
            } else {
                inline
            };
            match name {
                "--kube-context" => context = value,
                "-n" | "--namespace" => namespace = value,
                _ => {}
            }
            continue;
        }
        positional.push(arg.to_string());
    }
    let Some(verb) = positional.first().cloned() else {
        return Vec::new();
    };
    let operation = match verb.as_str() {
        "list" | "ls" | "status" | "get" | "history" | "show" | "search" | "template" | "lint"
        | "version" | "env" | "diff" | "verify" => Some(Operation::Read),
        "install" => Some(Operation::Create),
        "upgrade" | "rollback" => Some(Operation::Update),
        "uninstall" | "delete" | "del" | "un" => Some(Operation::Delete),
        "repo" | "dependency" | "dep" | "package" | "pull" | "fetch" | "plugin" | "registry"
        | "create" | "completion" => return Vec::new(),
        _ => None,
    };
    let release = positional.get(1).cloned().unwrap_or_else(|| "_".into());
    let context_name = context.clone().unwrap_or_else(|| "_".into());
    let ns = namespace.unwrap_or_else(|| "default".into());
    let resource = format!("k8s://{context_name}/{ns}/helm_release/{release}");
    let mut effect = match operation {
        Some(op) => Effect::new(op, resource),
        None => opaque(Operation::Execute, resource),
    };
    effect.environment = context.as_deref().and_then(|c| envs.of_kube_context(c));
    attr(&mut effect, "command", "helm");
    attr(&mut effect, "subcommand", verb);
    attr(&mut effect, "kind", "helm_release");
    attr(&mut effect, "namespace", ns);
    attr(&mut effect, "context", context_name);
    vec![effect]
}
