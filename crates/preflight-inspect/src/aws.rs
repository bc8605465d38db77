//! AWS: the `aws` CLI and the `aws.api` tool.

use std::collections::BTreeMap;

use preflight_core::{Effect, Inspection, Operation};
use serde_json::Value;

use crate::effects::{attr, opaque, tag};
use crate::tables::{AWS_IAM_SERVICES, AWS_PERMISSION_MARKERS, AWS_VERBS};
use crate::{Environments, derive_blast_radius};

/// One AWS API call, however it was expressed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsCall {
    /// The CLI profile, when known.
    pub profile: Option<String>,
    /// The account id, when known (from the input or an ARN).
    pub account: Option<String>,
    /// The service (`ec2`, `s3`, `iam`).
    pub service: String,
    /// The API operation in its canonical form (`TerminateInstances`).
    pub operation: String,
    /// The ids or names of the resources it names; empty when none is known.
    pub resources: Vec<String>,
    /// Applies to everything below a prefix (`s3 rm --recursive`).
    pub recursive: bool,
    /// Overrides a safety check (`--force`, `SkipFinalSnapshot`).
    pub forced: bool,
}

/// The operation class of an AWS operation name.
pub fn classify_operation(service: &str, operation: &str) -> Option<Operation> {
    let verb = AWS_VERBS
        .iter()
        .find(|(prefix, _)| {
            operation.starts_with(prefix)
                && operation[prefix.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| c.is_ascii_uppercase())
        })
        .map(|(_, op)| *op)?;
    if verb == Operation::Read {
        return Some(verb);
    }
    if AWS_IAM_SERVICES.contains(&service)
        || AWS_PERMISSION_MARKERS.iter().any(|m| operation.contains(m))
    {
        return Some(Operation::PermissionChange);
    }
    Some(verb)
}

impl AwsCall {
    /// The effects of the call.
    pub fn effects(&self, envs: &Environments) -> Vec<Effect> {
        let authority = self
            .profile
            .clone()
            .or_else(|| self.account.clone())
            .unwrap_or_else(|| "_".into());
        let environment = self
            .profile
            .as_deref()
            .and_then(|p| envs.of_aws_profile(p))
            .or_else(|| self.account.as_deref().and_then(|a| envs.of_aws_account(a)));
        let classified = classify_operation(&self.service, &self.operation);
        let operation = classified.unwrap_or(Operation::Execute);
        let iam = AWS_IAM_SERVICES.contains(&self.service.as_str());
        let names: Vec<String> = if self.resources.is_empty()
            || operation == Operation::Read && self.resources.is_empty()
        {
            vec![self.operation.clone()]
        } else {
            self.resources.clone()
        };
        names
            .into_iter()
            .map(|name| {
                let resource = format!("aws://{authority}/{}/{}", self.service, name);
                let mut effect = if classified.is_none() {
                    opaque(operation, resource)
                } else {
                    Effect::new(operation, resource)
                };
                effect.environment = environment.clone();
                effect.recursive = self.recursive;
                effect.forced = self.forced;
                if iam {
                    tag(&mut effect, "iam");
                }
                attr(&mut effect, "service", self.service.clone());
                attr(&mut effect, "aws_operation", self.operation.clone());
                if let Some(profile) = &self.profile {
                    attr(&mut effect, "profile", profile.clone());
                }
                if let Some(account) = &self.account {
                    attr(&mut effect, "account", account.clone());
                }
                effect
            })
            .collect()
    }
}

/// Parameter names that name the resource a call acts on, by suffix.
const ID_SUFFIXES: &[&str] = &["Identifier", "Ids", "Id", "Names", "Name", "Arn", "Arns"];

/// Inspects an `aws.api` call: `{"profile"|"account", "service", "operation", "params"}`.
pub fn inspect_aws_api(input: &Value, envs: &Environments) -> Inspection {
    let mut notes = Vec::new();
    let text = |key: &str| input.get(key).and_then(Value::as_str).map(str::to_string);
    let service = text("service").unwrap_or_default().to_ascii_lowercase();
    let operation = text("operation").unwrap_or_default();
    if service.is_empty() || operation.is_empty() {
        notes.push("aws.api call without `service` and `operation`".into());
        let effects = vec![opaque(Operation::Execute, "aws://_/*/*")];
        return Inspection {
            blast_radius: derive_blast_radius(&effects),
            effects,
            notes,
        };
    }
    let operation = pascal_case(&operation);
    let params = input.get("params").cloned().unwrap_or(Value::Null);
    let mut resources = Vec::new();
    let mut account = text("account").or_else(|| text("account_id"));
    if let Value::Object(map) = &params {
        let bucket = map.get("Bucket").and_then(Value::as_str);
        let key = map.get("Key").and_then(Value::as_str);
        if let Some(bucket) = bucket {
            resources.push(match key {
                Some(key) => format!("{bucket}/{key}"),
                None => bucket.to_string(),
            });
        }
        if resources.is_empty() {
            'outer: for suffix in ID_SUFFIXES {
                for (name, value) in map {
                    if name.ends_with(suffix) {
                        match value {
                            Value::String(s) => resources.push(s.clone()),
                            Value::Array(items) => resources
                                .extend(items.iter().filter_map(Value::as_str).map(str::to_string)),
                            _ => continue,
                        }
                        break 'outer;
                    }
                }
            }
        }
        if account.is_none() {
            account = map.values().filter_map(Value::as_str).find_map(arn_account);
        }
    }
    let forced = params
        .get("SkipFinalSnapshot")
        .and_then(Value::as_bool)
        .unwrap_or(false)
        || params
            .get("Force")
            .and_then(Value::as_bool)
            .unwrap_or(false)
        || params
            .get("ForceDelete")
            .and_then(Value::as_bool)
            .unwrap_or(false);
    let call = AwsCall {
        profile: text("profile"),
        account,
        service,
        operation,
        resources,
        recursive: false,
        forced,
    };
    let effects = call.effects(envs);
    Inspection {
        blast_radius: derive_blast_radius(&effects),
        effects,
        notes,
    }
}

/// The account id in an ARN (`arn:aws:iam::111111111111:user/bob`).
fn arn_account(text: &str) -> Option<String> {
    let parts: Vec<&str> = text.split(':').collect();
    (parts.len() >= 6 && parts[0] == "arn" && parts[4].len() == 12).then(|| parts[4].to_string())
}

/// `terminate-instances` → `TerminateInstances`.
fn pascal_case(text: &str) -> String {
    text.split(['-', '_'])
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// Global options of the CLI that take a value.
pub(crate) const GLOBAL_WITH_VALUE: &[&str] = &[
    "--profile",
    "--region",
    "--output",
    "--endpoint-url",
    "--query",
    "--cli-read-timeout",
    "--cli-connect-timeout",
    "--ca-bundle",
    "--color",
    "--cli-binary-format",
];

/// Options of the CLI that take no value.
const BOOLEAN_FLAGS: &[&str] = &[
    "--recursive",
    "--force",
    "--dryrun",
    "--dry-run",
    "--delete",
    "--quiet",
    "--debug",
    "--exact-timestamps",
    "--only-show-errors",
    "--skip-final-snapshot",
    "--force-delete",
    "--human-readable",
    "--summarize",
];

/// Inspects the arguments of the `aws` CLI (after the program name). The profile comes from
/// `--profile`, else `AWS_PROFILE`/`AWS_DEFAULT_PROFILE` in `env`.
pub(crate) fn inspect_aws_cli(
    args: &[String],
    env: &BTreeMap<String, String>,
    envs: &Environments,
) -> Vec<Effect> {
    let mut profile = env
        .get("AWS_PROFILE")
        .or_else(|| env.get("AWS_DEFAULT_PROFILE"))
        .cloned();
    let mut positional: Vec<&str> = Vec::new();
    let mut options: Vec<(String, Vec<String>)> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        i += 1;
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (format!("--{n}"), Some(v.to_string())),
                None => (arg.to_string(), None),
            };
            let mut values = Vec::new();
            if let Some(v) = inline {
                values.push(v);
            } else if BOOLEAN_FLAGS.contains(&name.as_str()) || name.starts_with("--no-") {
            } else if GLOBAL_WITH_VALUE.contains(&name.as_str()) {
                if let Some(v) = args.get(i) {
                    values.push(v.clone());
                    i += 1;
                }
            } else {
                while i < args.len() && !args[i].starts_with("--") {
                    // Values of an option, until the next option. For s3 commands the
                    // positional paths come first, so this only follows options.
                    if positional.len() >= 2
                        && positional[0] == "s3"
                        && args[i].starts_with("s3://")
                    {
                        break;
                    }
                    values.push(args[i].clone());
                    i += 1;
                }
            }
            if name == "--profile" {
                profile = values.first().cloned();
            }
            options.push((name, values));
        } else {
            positional.push(arg);
        }
    }
    let Some(service) = positional.first().map(|s| s.to_ascii_lowercase()) else {
        return Vec::new();
    };
    let Some(command) = positional.get(1).copied() else {
        return Vec::new();
    };
    let has = |name: &str| options.iter().any(|(n, _)| n == name);
    let all_values: Vec<&String> = options.iter().flat_map(|(_, v)| v.iter()).collect();
    let account = all_values.iter().find_map(|v| arn_account(v));
    if service == "s3" {
        return s3_command(
            command,
            &positional[2..],
            has("--recursive"),
            has("--force"),
            profile,
            account,
            has("--delete"),
            envs,
        );
    }
    let operation = pascal_case(command);
    let mut resources = Vec::new();
    for (name, values) in &options {
        let key = name.trim_start_matches("--");
        if key.ends_with("-id")
            || key.ends_with("-ids")
            || key.ends_with("-name")
            || key.ends_with("-names")
            || key.ends_with("-identifier")
            || key.ends_with("-arn")
            || key == "bucket"
        {
            resources.extend(values.iter().cloned());
            break;
        }
    }
    if operation.starts_with("Wait") || command == "wait" {
        return Vec::new();
    }
    let call = AwsCall {
        profile,
        account,
        service,
        operation,
        resources,
        recursive: false,
        forced: has("--force") || has("--skip-final-snapshot") || has("--force-delete"),
    };
    let mut effects = call.effects(envs);
    if has("--dry-run") {
        for effect in &mut effects {
            effect.operation = Operation::Read;
            attr(effect, "dry_run", "true");
        }
    }
    effects
}

#[allow(clippy::too_many_arguments)]
fn s3_command(
    command: &str,
    paths: &[&str],
    recursive: bool,
    forced: bool,
    profile: Option<String>,
    account: Option<String>,
    delete: bool,
    envs: &Environments,
) -> Vec<Effect> {
    let object = |p: &str| {
        p.strip_prefix("s3://")
            .map(|rest| rest.trim_end_matches('/').to_string())
    };
    let mut calls: Vec<(String, Operation, Vec<String>)> = Vec::new();
    match command {
        "ls" => calls.push((
            "ListObjectsV2".into(),
            Operation::Read,
            paths.iter().filter_map(|p| object(p)).collect(),
        )),
        "rm" => calls.push((
            "DeleteObjects".into(),
            Operation::Delete,
            paths.iter().filter_map(|p| object(p)).collect(),
        )),
        "rb" => calls.push((
            "DeleteBucket".into(),
            Operation::Delete,
            paths.iter().filter_map(|p| object(p)).collect(),
        )),
        "mb" => calls.push((
            "CreateBucket".into(),
            Operation::Create,
            paths.iter().filter_map(|p| object(p)).collect(),
        )),
        "cp" | "mv" | "sync" => {
            if let Some((dest, sources)) = paths.split_last() {
                let sources: Vec<String> = sources.iter().filter_map(|p| object(p)).collect();
                if !sources.is_empty() {
                    let op = if command == "mv" {
                        Operation::Delete
                    } else {
                        Operation::Read
                    };
                    let name = if command == "mv" {
                        "DeleteObjects"
                    } else {
                        "GetObject"
                    };
                    calls.push((name.into(), op, sources));
                }
                if let Some(dest) = object(dest) {
                    calls.push(("PutObject".into(), Operation::Create, vec![dest.clone()]));
                    if command == "sync" && delete {
                        calls.push(("DeleteObjects".into(), Operation::Delete, vec![dest]));
                    }
                }
            }
        }
        _ => calls.push((pascal_case(command), Operation::Execute, Vec::new())),
    }
    let mut effects = Vec::new();
    for (operation, class, resources) in calls {
        let call = AwsCall {
            profile: profile.clone(),
            account: account.clone(),
            service: "s3".into(),
            operation: operation.clone(),
            resources,
            recursive: recursive || command == "sync" || (command == "rb" && forced),
            forced,
        };
        for mut effect in call.effects(envs) {
            effect.operation = class;
            if class == Operation::Execute {
                effect.opaque = true;
            }
            attr(&mut effect, "subcommand", command.to_string());
            effects.push(effect);
        }
    }
    effects
}
