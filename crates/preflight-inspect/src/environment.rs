//! Recognising an environment from a resource, never from what the agent says.

use std::collections::BTreeMap;

use crate::{EnvironmentMarkers, Environments};

impl Environments {
    /// Environments from `(name, markers)` pairs.
    pub fn from_markers<I, S>(markers: I) -> Self
    where
        I: IntoIterator<Item = (S, EnvironmentMarkers)>,
        S: Into<String>,
    {
        Self {
            environments: markers.into_iter().map(|(n, m)| (n.into(), m)).collect(),
        }
    }

    fn find(&self, pick: impl Fn(&EnvironmentMarkers) -> bool) -> Option<String> {
        self.environments
            .iter()
            .find(|(_, markers)| pick(markers))
            .map(|(name, _)| name.clone())
    }

    /// The environment of an AWS CLI profile.
    pub fn of_aws_profile(&self, profile: &str) -> Option<String> {
        self.find(|m| m.aws_profiles.iter().any(|p| p == profile))
    }

    /// The environment of an AWS account id.
    pub fn of_aws_account(&self, account: &str) -> Option<String> {
        self.find(|m| m.aws_accounts.iter().any(|a| a == account))
    }

    /// The environment of a kubectl context.
    pub fn of_kube_context(&self, context: &str) -> Option<String> {
        self.find(|m| m.kube_contexts.iter().any(|c| c == context))
    }

    /// The environment of a database host (case-insensitive, exact).
    pub fn of_db_host(&self, host: &str) -> Option<String> {
        self.find(|m| m.db_hosts.iter().any(|h| h.eq_ignore_ascii_case(host)))
    }

    /// The environment of an HTTP host: the host itself or a subdomain of a listed host.
    pub fn of_host(&self, host: &str) -> Option<String> {
        let host = host.to_ascii_lowercase();
        self.find(|m| {
            m.hosts.iter().any(|h| {
                let h = h.to_ascii_lowercase();
                host == h || host.ends_with(&format!(".{h}"))
            })
        })
    }

    /// The environment of an absolute, normalised path: the longest matching prefix wins,
    /// matched on whole path segments.
    pub fn of_path(&self, path: &str) -> Option<String> {
        let mut best: Option<(usize, &String)> = None;
        for (name, markers) in &self.environments {
            for prefix in &markers.path_prefixes {
                let prefix = prefix.trim_end_matches('/');
                let matches = path == prefix
                    || prefix.is_empty()
                    || path
                        .strip_prefix(prefix)
                        .is_some_and(|rest| rest.starts_with('/'));
                if matches && best.is_none_or(|(len, _)| prefix.len() > len) {
                    best = Some((prefix.len(), name));
                }
            }
        }
        best.map(|(_, name)| name.clone())
    }

    /// The environment of a Terraform workspace.
    pub fn of_terraform_workspace(&self, workspace: &str) -> Option<String> {
        self.find(|m| m.terraform_workspaces.iter().any(|w| w == workspace))
    }

    /// The environment a URL points at: a database host or an HTTP host.
    pub fn of_url(&self, text: &str) -> Option<String> {
        let url = url::Url::parse(text).ok()?;
        let host = url.host_str()?;
        self.of_db_host(host).or_else(|| self.of_host(host))
    }

    /// The environment a set of environment variables points at: `AWS_PROFILE`,
    /// `AWS_DEFAULT_PROFILE`, `TF_WORKSPACE`, `PGHOST`, `KUBE_CONTEXT`, and any variable
    /// holding a URL with a known host (`DATABASE_URL=postgres://db.prod.internal/app`).
    pub fn of_variables(&self, variables: &BTreeMap<String, String>) -> Option<String> {
        for (name, value) in variables {
            let found = match name.as_str() {
                "AWS_PROFILE" | "AWS_DEFAULT_PROFILE" => self.of_aws_profile(value),
                "TF_WORKSPACE" => self.of_terraform_workspace(value),
                "PGHOST" | "MYSQL_HOST" | "DB_HOST" => self.of_db_host(value),
                "KUBE_CONTEXT" | "KUBECONTEXT" => self.of_kube_context(value),
                _ if value.contains("://") => self.of_url(value),
                _ => None,
            };
            if found.is_some() {
                return found;
            }
        }
        None
    }

    /// The environment of a resource URI, as documented in `docs/effects.md`:
    /// `file://` by path prefix, `aws://` by profile or account, `k8s://` by context,
    /// `sql://` by host, `http(s)://` by host, `terraform://` by workspace.
    pub fn of_resource(&self, resource: &str) -> Option<String> {
        let (scheme, rest) = resource.split_once("://")?;
        let authority = rest.split('/').next().unwrap_or("");
        match scheme {
            "file" => self.of_path(rest),
            "aws" => self
                .of_aws_profile(authority)
                .or_else(|| self.of_aws_account(authority)),
            "k8s" => self.of_kube_context(authority),
            "sql" => self.of_db_host(authority),
            "http" | "https" | "ws" | "wss" => {
                let host = authority.rsplit('@').next().unwrap_or(authority);
                let host = host.split(':').next().unwrap_or(host);
                self.of_host(host)
            }
            "terraform" => self.of_terraform_workspace(authority),
            _ => None,
        }
    }
}
