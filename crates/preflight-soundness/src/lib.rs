#![doc = include_str!("../README.md")]

pub mod corpus;
pub mod coverage;
pub mod generator;
pub mod observe;
pub mod report;
pub mod sandbox;
pub mod strace;

use preflight_core::{Action, Inspection, Inspector};
use preflight_inspect::{ActionInspector, EnvironmentMarkers, Environments};
use serde_json::json;

use crate::coverage::{Cover, coverage};
use crate::observe::Observed;

/// The environments of the reference envelope (`corpus/ENVELOPE.md`), as the inspection
/// tests use them.
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

/// The action a command is inspected as: tool `Bash`, run in the sandbox's working directory
/// and home.
pub fn action_for(command: &str) -> Action {
    let mut action = Action::new("Bash", json!({ "command": command }));
    action.context.cwd = Some(sandbox::CWD.to_string());
    action.context.home = Some(sandbox::HOME.to_string());
    action
}

/// Inspects `command` as the oracle does.
pub fn inspect(inspector: &ActionInspector, command: &str) -> Inspection {
    inspector.inspect(&action_for(command))
}

/// Every observed effect with how inspection covered it (`None`: a soundness failure).
pub fn judge<'a>(
    observed: &'a [Observed],
    inspection: &Inspection,
) -> Vec<(&'a Observed, Option<Cover>)> {
    observed
        .iter()
        .map(|o| (o, coverage(o, &inspection.effects)))
        .collect()
}
