//! Shared test fixtures: the environments of the reference envelope and a small language for
//! expected effects.

// Helpers of the test binaries: a bad spec is a bug in the test and must stop it.
#![allow(dead_code, clippy::panic)]

use preflight_core::{Effect, Inspection};
use preflight_inspect::{EnvironmentMarkers, Environments};

/// The environments of `corpus/ENVELOPE.md`.
pub fn envelope_environments() -> Environments {
    let markers = |name: &str, account: &str| EnvironmentMarkers {
        aws_profiles: vec![name.into()],
        aws_accounts: vec![account.into()],
        kube_contexts: vec![format!("{name}-cluster")],
        db_hosts: vec![format!("db.{name}.internal")],
        terraform_workspaces: vec![name.into()],
        ..EnvironmentMarkers::default()
    };
    Environments::from_markers([
        ("prod", markers("prod", "111111111111")),
        ("staging", markers("staging", "222222222222")),
        ("dev", markers("dev", "333333333333")),
    ])
}

/// Checks that `inspection` has an effect matching `spec`:
/// `<operation> <resource> [env=<name>|env=-] [+recursive] [+forced] [+unbounded] [+opaque]
/// [-recursive] [-forced] [-unbounded] [-opaque] [#tag] [@key=value]`.
/// A `+flag`/`#tag` must be present, a `-flag` absent; `env=-` means no environment.
pub fn find_effect<'a>(inspection: &'a Inspection, spec: &str) -> Result<&'a Effect, String> {
    let mut parts = spec.split_whitespace();
    let operation = parts.next().unwrap_or_default();
    let resource = parts.next().unwrap_or_default();
    let conditions: Vec<&str> = parts.collect();
    let matches = |e: &Effect| -> bool {
        if e.operation.as_str() != operation || e.resource != resource {
            return false;
        }
        conditions.iter().all(|c| {
            if let Some(env) = c.strip_prefix("env=") {
                return if env == "-" {
                    e.environment.is_none()
                } else {
                    e.environment.as_deref() == Some(env)
                };
            }
            if let Some(flag) = c.strip_prefix('+') {
                return flag_of(e, flag);
            }
            if let Some(flag) = c.strip_prefix('-') {
                return !flag_of(e, flag);
            }
            if let Some(tag) = c.strip_prefix('#') {
                return e.has_tag(tag);
            }
            if let Some(kv) = c.strip_prefix('@') {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                return e.attributes.get(k).map(String::as_str) == Some(v);
            }
            panic!("bad condition `{c}` in spec `{spec}`")
        })
    };
    inspection
        .effects
        .iter()
        .find(|e| matches(e))
        .ok_or_else(|| {
            format!(
                "no effect matches `{spec}`; effects:\n{}",
                inspection
                    .effects
                    .iter()
                    .map(|e| serde_json::to_string(e).unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })
}

fn flag_of(e: &Effect, flag: &str) -> bool {
    match flag {
        "recursive" => e.recursive,
        "forced" => e.forced,
        "unbounded" => e.unbounded,
        "opaque" => e.opaque,
        other => panic!("unknown flag `{other}`"),
    }
}

/// Asserts `inspection` has an effect matching `spec`.
#[track_caller]
pub fn assert_effect(inspection: &Inspection, spec: &str) {
    if let Err(message) = find_effect(inspection, spec) {
        panic!("{message}");
    }
}
