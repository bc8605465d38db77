#![doc = include_str!("../README.md")]

use std::collections::BTreeMap;

use preflight_core::{Action, Inspection, Inspector};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
}

impl Inspector for ActionInspector {
    fn inspect(&self, _action: &Action) -> Inspection {
        Inspection::default()
    }
}
