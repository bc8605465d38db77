#![doc = include_str!("../README.md")]

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use preflight_core::{Action, BlastRadius, Effect, Inspection, Inspector, Operation};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod aws;
mod effects;
mod environment;
mod files;
mod http;
mod kubectl;
mod mcp;
pub mod paths;
mod programs;
mod shell;
mod sql;
mod tables;
mod terraform;

pub use aws::{AwsCall, inspect_aws_api};
pub use http::inspect_http;
pub use paths::{is_secret_path, normalize_path};
pub use programs::{is_modelled, modelled_programs};
pub use shell::{ShellContext, inspect_shell};
pub use sql::{inspect_sql, sql_target};
pub use terraform::inspect_terraform_plan;

/// The longest raw input inspected; anything longer becomes an opaque effect with a note.
pub const MAX_INPUT_BYTES: usize = 256 * 1024;

/// Named environments and what identifies each in a resource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Environments {
    /// Environment name (`prod`, `staging`, `dev`) → its markers.
    pub environments: BTreeMap<String, EnvironmentMarkers>,
}

/// What identifies one environment in a resource. Every list may be empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentMarkers {
    /// AWS CLI profiles (`--profile prod`, `AWS_PROFILE=prod`, `aws.api` `profile`).
    #[serde(default)]
    pub aws_profiles: Vec<String>,
    /// AWS account ids.
    #[serde(default)]
    pub aws_accounts: Vec<String>,
    /// kubectl contexts (`--context prod-cluster`).
    #[serde(default)]
    pub kube_contexts: Vec<String>,
    /// Database hosts (in `database_url`, `DATABASE_URL=`, `psql` URLs).
    #[serde(default)]
    pub db_hosts: Vec<String>,
    /// HTTP hosts.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Absolute path prefixes.
    #[serde(default)]
    pub path_prefixes: Vec<String>,
    /// Terraform workspaces.
    #[serde(default)]
    pub terraform_workspaces: Vec<String>,
}

/// The inspector for every tool preflight knows.
///
/// It dispatches on the tool name:
///
/// | tool | analysed as |
/// |---|---|
/// | `Bash`, `bash`, `shell`, `sh`, `shell.exec`, `terminal` | a shell command line (`command`) |
/// | `sql.execute`, `sql.query`, `sql` | SQL (`sql`) against `database_url` |
/// | `http.request`, `http`, `WebFetch` | an HTTP request (`method`, `url`, `body`) |
/// | `aws.api`, `aws` | an AWS API call (`profile`/`account`, `service`, `operation`, `params`) |
/// | `terraform.apply`, `terraform.plan`, `terraform.destroy` | a Terraform JSON plan |
/// | `Read`, `Write`, `Edit`, `MultiEdit`, `NotebookEdit`, `Glob`, `Grep`, `LS` | file tools |
/// | `mcp__<server>__<tool>` | an MCP tool, by its name, arguments and annotations |
/// | anything else | an opaque `tool://<name>` |
#[derive(Debug, Clone, Default)]
pub struct ActionInspector {
    environments: Environments,
}

impl ActionInspector {
    /// An inspector recognising `environments`.
    pub fn new(environments: Environments) -> Self {
        Self { environments }
    }

    /// The environments it recognises.
    pub fn environments(&self) -> &Environments {
        &self.environments
    }

    fn inspect_unguarded(&self, action: &Action) -> Inspection {
        let envs = &self.environments;
        let tool = action.tool.as_str();
        let mut notes = Vec::new();
        let effects = match tool_kind(tool) {
            ToolKind::Shell => match shell_command(&action.input) {
                Some(command) => {
                    let context = ShellContext::from_action(action);
                    let inspection = inspect_shell(command, &context, envs);
                    notes.extend(inspection.notes);
                    inspection.effects
                }
                None => {
                    notes.push("shell tool without a `command` string".into());
                    vec![effects::opaque(
                        Operation::Execute,
                        format!("tool://{tool}"),
                    )]
                }
            },
            ToolKind::Sql => {
                let url = action
                    .input
                    .get("database_url")
                    .or_else(|| action.input.get("url"))
                    .and_then(|v| v.as_str())
                    .or_else(|| action.context.env.get("DATABASE_URL").map(String::as_str))
                    .unwrap_or("");
                match action
                    .input
                    .get("sql")
                    .or_else(|| action.input.get("query"))
                    .and_then(|v| v.as_str())
                {
                    Some(text) => {
                        let inspection = inspect_sql(url, text, envs);
                        notes.extend(inspection.notes);
                        inspection.effects
                    }
                    None => {
                        notes.push("sql tool without a `sql` string".into());
                        let (resource, environment) = sql_target(url, None, envs);
                        let mut effect = effects::opaque(Operation::Execute, resource);
                        effect.environment = environment;
                        vec![effect]
                    }
                }
            }
            ToolKind::Http => {
                let inspection = inspect_http(&action.input, envs);
                notes.extend(inspection.notes);
                inspection.effects
            }
            ToolKind::Aws => {
                let inspection = inspect_aws_api(&action.input, envs);
                notes.extend(inspection.notes);
                inspection.effects
            }
            ToolKind::Terraform => {
                let destroy = tool.ends_with("destroy")
                    || action.input.get("destroy").and_then(|v| v.as_bool()) == Some(true);
                let inspection = inspect_terraform_plan(&action.input, destroy, envs);
                notes.extend(inspection.notes);
                inspection.effects
            }
            ToolKind::File => {
                let (effects, file_notes) = files::inspect_file_tool(action, envs);
                notes.extend(file_notes);
                effects
            }
            ToolKind::Mcp => {
                let (effects, mcp_notes) = mcp::inspect_mcp_tool(action, envs);
                notes.extend(mcp_notes);
                effects
            }
            ToolKind::Unknown => {
                let mut effect = effects::opaque(Operation::Execute, format!("tool://{tool}"));
                effect.attributes.insert("tool".into(), tool.to_string());
                effect.evidence = Some(format!("unknown tool `{tool}`"));
                vec![effect]
            }
        };
        let blast_radius = derive_blast_radius(&effects);
        Inspection {
            effects,
            blast_radius,
            notes,
        }
    }
}

impl Inspector for ActionInspector {
    /// Derives the effects of `action`. Never panics and never fails: a panic inside an
    /// analyser, an oversized input or an unknown tool becomes an opaque effect and a note.
    fn inspect(&self, action: &Action) -> Inspection {
        let size = action.input.to_string().len();
        if size > MAX_INPUT_BYTES {
            return opaque_inspection(
                &action.tool,
                format!("input of {size} bytes exceeds the {MAX_INPUT_BYTES} bytes inspected"),
            );
        }
        match catch_unwind(AssertUnwindSafe(|| self.inspect_unguarded(action))) {
            Ok(inspection) => inspection,
            Err(_) => opaque_inspection(&action.tool, "inspection failed internally".into()),
        }
    }
}

fn opaque_inspection(tool: &str, note: String) -> Inspection {
    let mut effect = effects::opaque(Operation::Execute, format!("tool://{tool}"));
    effect.unbounded = true;
    effect.evidence = Some(note.clone());
    let effects = vec![effect];
    Inspection {
        blast_radius: derive_blast_radius(&effects),
        effects,
        notes: vec![note],
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ToolKind {
    Shell,
    Sql,
    Http,
    Aws,
    Terraform,
    File,
    Mcp,
    Unknown,
}

fn tool_kind(tool: &str) -> ToolKind {
    if tool.starts_with("mcp__") {
        return ToolKind::Mcp;
    }
    match tool {
        "Bash" | "bash" | "shell" | "sh" | "shell.exec" | "terminal" | "run_shell_command" => {
            ToolKind::Shell
        }
        "sql.execute" | "sql.query" | "sql" => ToolKind::Sql,
        "http.request" | "http" | "WebFetch" | "web_fetch" => ToolKind::Http,
        "aws.api" | "aws" => ToolKind::Aws,
        "terraform.apply" | "terraform.plan" | "terraform.destroy" => ToolKind::Terraform,
        "Read" | "Write" | "Edit" | "MultiEdit" | "NotebookEdit" | "Glob" | "Grep" | "LS" => {
            ToolKind::File
        }
        _ => ToolKind::Unknown,
    }
}

fn shell_command(input: &serde_json::Value) -> Option<&str> {
    match input {
        serde_json::Value::String(text) => Some(text),
        other => other
            .get("command")
            .or_else(|| other.get("cmd"))
            .and_then(|v| v.as_str()),
    }
}

/// Derives the blast radius of a list of effects.
///
/// - `resources`: the distinct resources that effects other than `read` and `execute` touch
///   (an opaque effect counts whatever its operation).
/// - `unbounded`: any such effect is unbounded.
/// - `reversible: false` and `data_loss: true` when anything is deleted, a disk is written
///   raw, changes are discarded, history is force-pushed or a resource is replaced;
///   `reversible: true`, `data_loss: false` when nothing mutates at all.
/// - `downtime: true` where it is evident (a stopped service, a deleted or replaced cloud or
///   Kubernetes resource, a scale to zero).
pub fn derive_blast_radius(effects: &[Effect]) -> BlastRadius {
    let counted =
        |e: &&Effect| e.opaque || !matches!(e.operation, Operation::Read | Operation::Execute);
    let mut resources: Vec<&str> = effects
        .iter()
        .filter(counted)
        .map(|e| e.resource.as_str())
        .collect();
    resources.sort_unstable();
    resources.dedup();
    let unbounded = effects.iter().filter(counted).any(|e| e.unbounded);
    let lossy = effects.iter().any(|e| {
        e.operation == Operation::Delete
            || [
                "raw_disk_write",
                "discard_changes",
                "force_push",
                "replace",
                "destroy",
            ]
            .iter()
            .any(|t| e.has_tag(t))
    });
    let mutating = effects.iter().any(|e| counted(&e));
    let downtime = effects.iter().any(|e| {
        e.attributes.get("downtime").is_some_and(|v| v == "true")
            || (e.operation == Operation::Delete
                && ["aws://", "k8s://", "terraform://"]
                    .iter()
                    .any(|scheme| e.resource.starts_with(scheme)))
            || e.has_tag("replace")
    });
    BlastRadius {
        resources: Some(resources.len() as u64),
        unbounded,
        reversible: if lossy {
            Some(false)
        } else if !mutating {
            Some(true)
        } else {
            None
        },
        data_loss: if lossy {
            Some(true)
        } else if !mutating {
            Some(false)
        } else {
            None
        },
        downtime: if downtime { Some(true) } else { None },
    }
}
