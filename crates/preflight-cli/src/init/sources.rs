//! Reading what the machine and the project already name: AWS profiles, kube contexts,
//! Terraform workspaces and the names of `.env` variables.
//!
//! Only names and account ids are kept. Credentials, tokens and `.env` values are never
//! stored, and a malformed line is reported by its number alone, never quoted, since it may
//! hold a secret.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

/// Everything `init` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    /// AWS profiles, from the config and credentials files, by name.
    pub aws_profiles: Vec<AwsProfile>,
    /// Contexts of the kubeconfig.
    pub kube_contexts: Vec<KubeContext>,
    /// Terraform workspaces of the project.
    pub terraform_workspaces: Vec<Workspace>,
    /// Variable names of the project's `.env` files → the files defining each.
    pub env_variables: BTreeMap<String, Vec<String>>,
    /// Sources that were skipped, and why.
    pub warnings: Vec<String>,
}

/// One AWS CLI profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsProfile {
    /// The profile name (`default` for `[default]`).
    pub name: String,
    /// Its `region`.
    pub region: Option<String>,
    /// The account it acts in: from `role_arn`, `sso_account_id` or `aws_account_id`.
    pub account: Option<String>,
    /// Where it was found.
    pub origin: String,
}

/// One kubectl context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeContext {
    /// The context name (what `--context` and `k8s://CONTEXT/…` name).
    pub name: String,
    /// The cluster it points at.
    pub cluster: Option<String>,
    /// Where it was found.
    pub origin: String,
}

/// One Terraform workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    /// The workspace name.
    pub name: String,
    /// Where it was found.
    pub origin: String,
}

/// A file that cannot be read as its format: the line at fault and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// The line, from 1.
    pub line: usize,
    /// What is wrong, without quoting the line.
    pub message: String,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

fn malformed(line: usize, message: impl Into<String>) -> Malformed {
    Malformed {
        line,
        message: message.into(),
    }
}

/// Where to look. Each path is resolved already (flags, `$HOME`, `$KUBECONFIG`, …).
#[derive(Debug, Clone)]
pub struct Locations {
    /// The AWS CLI config file.
    pub aws_config: Option<PathBuf>,
    /// The AWS CLI credentials file.
    pub aws_credentials: Option<PathBuf>,
    /// The kubeconfig.
    pub kubeconfig: Option<PathBuf>,
    /// The project directory.
    pub project: PathBuf,
    /// The home directory, shown as `~` in comments.
    pub home: Option<PathBuf>,
}

impl Locations {
    /// How a path is shown: `~/…` under the home directory, relative under the project.
    pub fn show(&self, path: &Path) -> String {
        if let Ok(rest) = path.strip_prefix(&self.project) {
            if !rest.as_os_str().is_empty() {
                return rest.display().to_string();
            }
        }
        if let Some(home) = &self.home {
            if let Ok(rest) = path.strip_prefix(home) {
                return format!("~/{}", rest.display());
            }
        }
        path.display().to_string()
    }
}

/// Reads every source. A missing file is simply not there; a malformed one becomes a warning
/// and is skipped whole, so that a half-read file never yields a half-right policy.
pub fn discover(at: &Locations) -> Found {
    let mut found = Found::default();
    if let Some(path) = &at.aws_config {
        if let Some(text) = read_optional(path, at, &mut found.warnings) {
            match parse_aws_config(&text) {
                Ok(profiles) => {
                    for (mut profile, line) in profiles {
                        profile.origin = format!("{} line {line}", at.show(path));
                        merge_profile(&mut found.aws_profiles, profile);
                    }
                }
                Err(e) => found.warnings.push(format!(
                    "{}: {e}; its AWS profiles are left out",
                    path.display()
                )),
            }
        }
    }
    if let Some(path) = &at.aws_credentials {
        if let Some(text) = read_optional(path, at, &mut found.warnings) {
            match parse_aws_credentials(&text) {
                Ok(names) => {
                    for (name, line) in names {
                        merge_profile(
                            &mut found.aws_profiles,
                            AwsProfile {
                                name,
                                region: None,
                                account: None,
                                origin: format!("{} line {line}", at.show(path)),
                            },
                        );
                    }
                }
                Err(e) => found.warnings.push(format!(
                    "{}: {e}; its AWS profiles are left out",
                    path.display()
                )),
            }
        }
    }
    if let Some(path) = &at.kubeconfig {
        if let Some(text) = read_optional(path, at, &mut found.warnings) {
            match parse_kubeconfig(&text) {
                Ok(contexts) => {
                    for (mut context, line) in contexts {
                        context.origin = format!("{} line {line}", at.show(path));
                        if !found.kube_contexts.iter().any(|c| c.name == context.name) {
                            found.kube_contexts.push(context);
                        }
                    }
                }
                Err(e) => found.warnings.push(format!(
                    "{}: {e}; its kube contexts are left out",
                    path.display()
                )),
            }
        }
    }
    found.terraform_workspaces = terraform_workspaces(&at.project, &mut found.warnings);
    found.env_variables = env_variable_names(&at.project, &mut found.warnings);
    found
}

/// The text of a file that may be absent; other read errors are warnings.
fn read_optional(path: &Path, at: &Locations, warnings: &mut Vec<String>) -> Option<String> {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Some(text),
            Err(_) => {
                warnings.push(format!("{}: not UTF-8 text; skipped", at.show(path)));
                None
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            warnings.push(format!("{}: {e}; skipped", path.display()));
            None
        }
    }
}

/// A profile found twice (in config and credentials) is one profile.
fn merge_profile(profiles: &mut Vec<AwsProfile>, profile: AwsProfile) {
    match profiles.iter_mut().find(|p| p.name == profile.name) {
        Some(known) => {
            known.region = known.region.take().or(profile.region);
            known.account = known.account.take().or(profile.account);
            known.origin = format!("{}, {}", known.origin, profile.origin);
        }
        None => profiles.push(profile),
    }
}

/// One item of an INI-style AWS file.
enum IniItem<'a> {
    /// A `[section]` header: its name and line.
    Section(&'a str, usize),
    /// A `key = value` setting of the section above.
    Setting(&'a str, &'a str),
}

/// Splits an AWS CLI file into sections and settings, the way the CLI reads it: `#` and `;`
/// start comments, an indented line continues the setting above it (`s3 =` sub-settings).
fn scan_ini(text: &str) -> Result<Vec<IniItem<'_>>, Malformed> {
    let mut items = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let in_section = !items.is_empty();
        if raw.starts_with([' ', '\t']) {
            if !in_section {
                return Err(malformed(line, "an indented line before any `[section]`"));
            }
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix('[') {
            let Some((inner, after)) = rest.split_once(']') else {
                return Err(malformed(line, "a `[section]` header without its `]`"));
            };
            let after = after.trim();
            if !(after.is_empty() || after.starts_with('#') || after.starts_with(';')) {
                return Err(malformed(line, "text after a `[section]` header"));
            }
            if inner.trim().is_empty() {
                return Err(malformed(line, "a `[]` header without a name"));
            }
            items.push(IniItem::Section(inner.trim(), line));
            continue;
        }
        let Some((key, value)) = trimmed.split_once('=') else {
            return Err(malformed(line, "expected `[section]` or `key = value`"));
        };
        if !in_section {
            return Err(malformed(line, "a setting before any `[section]`"));
        }
        items.push(IniItem::Setting(key.trim(), value.trim()));
    }
    Ok(items)
}

/// The profiles of `~/.aws/config`, each with the line of its header: `[default]` and
/// `[profile NAME]`; `[sso-session …]`, `[services …]` and other sections are not profiles.
pub fn parse_aws_config(text: &str) -> Result<Vec<(AwsProfile, usize)>, Malformed> {
    let mut profiles: Vec<(AwsProfile, usize)> = Vec::new();
    let mut current: Option<usize> = None;
    for item in scan_ini(text)? {
        match item {
            IniItem::Section(name, line) => {
                let profile = if name == "default" {
                    Some("default")
                } else if name == "profile" {
                    Some("")
                } else {
                    name.strip_prefix("profile ").map(str::trim)
                };
                current = match profile {
                    Some("") => {
                        return Err(malformed(line, "a `[profile]` header without a name"));
                    }
                    Some(profile) => {
                        Some(match profiles.iter().position(|(p, _)| p.name == profile) {
                            Some(index) => index,
                            None => {
                                profiles.push((
                                    AwsProfile {
                                        name: profile.to_string(),
                                        region: None,
                                        account: None,
                                        origin: String::new(),
                                    },
                                    line,
                                ));
                                profiles.len() - 1
                            }
                        })
                    }
                    None => None,
                };
            }
            IniItem::Setting(key, value) => {
                let Some((profile, _)) = current.and_then(|i| profiles.get_mut(i)) else {
                    continue;
                };
                match key {
                    "region" if !value.is_empty() => profile.region = Some(value.to_string()),
                    // The role's account is where the profile acts, so it wins over the SSO
                    // account.
                    "role_arn" => {
                        if let Some(account) = arn_account(value) {
                            profile.account = Some(account);
                        }
                    }
                    "sso_account_id" | "aws_account_id" if is_account_id(value) => {
                        profile.account.get_or_insert_with(|| value.to_string());
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(profiles)
}

/// The profile names of `~/.aws/credentials`, with the line of each header. Nothing else of
/// the file is kept.
pub fn parse_aws_credentials(text: &str) -> Result<Vec<(String, usize)>, Malformed> {
    let mut names: Vec<(String, usize)> = Vec::new();
    for item in scan_ini(text)? {
        if let IniItem::Section(name, line) = item {
            if !names.iter().any(|(n, _)| n == name) {
                names.push((name.to_string(), line));
            }
        }
    }
    Ok(names)
}

fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// The account id in an ARN (`arn:aws:iam::111111111111:role/admin`).
fn arn_account(arn: &str) -> Option<String> {
    let account = arn.strip_prefix("arn:")?.split(':').nth(3)?;
    is_account_id(account).then(|| account.to_string())
}

/// The contexts of a kubeconfig, each with its line (an estimate: the line of its `name`).
pub fn parse_kubeconfig(text: &str) -> Result<Vec<(KubeContext, usize)>, Malformed> {
    let documents = YamlLoader::load_from_str(text)
        .map_err(|e| malformed(e.marker().line().max(1), format!("not YAML: {}", e.info())))?;
    let Some(document) = documents.first() else {
        return Ok(Vec::new());
    };
    match document {
        Yaml::Hash(_) => {}
        Yaml::Null | Yaml::BadValue => return Ok(Vec::new()),
        _ => return Err(malformed(1, "the document is not a mapping")),
    }
    let items = match &document["contexts"] {
        Yaml::Array(items) => items,
        Yaml::Null | Yaml::BadValue => return Ok(Vec::new()),
        _ => {
            return Err(malformed(
                line_of_key(text, "contexts", 0),
                "`contexts` is not a list",
            ));
        }
    };
    let start = line_of_key(text, "contexts", 0);
    let mut contexts = Vec::new();
    let mut search_from = start;
    for (index, item) in items.iter().enumerate() {
        let Some(name) = scalar(&item["name"]) else {
            return Err(malformed(
                line_of_key(text, "name", search_from).max(start),
                format!("context {} of `contexts` has no `name`", index + 1),
            ));
        };
        let line = line_of_key(text, "name", search_from).max(start);
        search_from = line;
        let cluster = scalar(&item["context"]["cluster"]);
        contexts.push((
            KubeContext {
                name,
                cluster,
                origin: String::new(),
            },
            line,
        ));
    }
    Ok(contexts)
}

/// A scalar as text: names may be written as numbers or booleans.
fn scalar(node: &Yaml) -> Option<String> {
    match node {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The first line after line `after` (from 1) holding `key:` as a mapping key; `after + 1`
/// when there is none. The parser keeps no positions, so this points a reader near the fault.
fn line_of_key(text: &str, key: &str, after: usize) -> usize {
    text.lines()
        .enumerate()
        .skip(after)
        .find(|(_, line)| {
            let line = line.trim_start().trim_start_matches("- ").trim_start();
            line.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map_or(after + 1, |(index, _)| index + 1)
}

/// The project's Terraform workspaces: the one selected in `.terraform/environment` and
/// those with state in `terraform.tfstate.d/`.
pub fn terraform_workspaces(project: &Path, warnings: &mut Vec<String>) -> Vec<Workspace> {
    let mut workspaces: Vec<Workspace> = Vec::new();
    let state = project.join("terraform.tfstate.d");
    match std::fs::read_dir(&state) {
        Ok(entries) => {
            let mut names: Vec<String> = entries
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .filter_map(|e| e.file_name().into_string().ok())
                .collect();
            names.sort();
            for name in names {
                workspaces.push(Workspace {
                    origin: format!("terraform.tfstate.d/{name}"),
                    name,
                });
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => warnings.push(format!("{}: {e}; skipped", state.display())),
    }
    let selected = project.join(".terraform").join("environment");
    match std::fs::read_to_string(&selected) {
        Ok(text) => {
            let name = text.trim();
            if !name.is_empty() && !workspaces.iter().any(|w| w.name == name) {
                workspaces.push(Workspace {
                    name: name.to_string(),
                    origin: ".terraform/environment".into(),
                });
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => warnings.push(format!("{}: {e}; skipped", selected.display())),
    }
    workspaces
}

/// The variable names defined in the project's `.env` and `.env.*` files, with the files
/// defining each.
pub fn env_variable_names(
    project: &Path,
    warnings: &mut Vec<String>,
) -> BTreeMap<String, Vec<String>> {
    let mut names: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut files: Vec<String> = match std::fs::read_dir(project) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|name| name == ".env" || name.starts_with(".env."))
            .collect(),
        Err(e) => {
            warnings.push(format!("{}: {e}; .env files skipped", project.display()));
            return names;
        }
    };
    files.sort();
    for file in files {
        let path = project.join(&file);
        let text = match std::fs::read(&path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => {
                warnings.push(format!("{}: {e}; skipped", path.display()));
                continue;
            }
        };
        for name in dotenv_names(&text) {
            let files = names.entry(name).or_default();
            if !files.contains(&file) {
                files.push(file.clone());
            }
        }
    }
    names
}

/// The names a `.env` file assigns (`NAME=…`, `export NAME=…`), in order, once each. A value
/// quoted across several lines is skipped whole, so none of its lines is taken for a name.
pub fn dotenv_names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut open_quote: Option<char> = None;
    for line in text.lines() {
        if let Some(quote) = open_quote {
            if closes(line, quote) {
                open_quote = None;
            }
            continue;
        }
        let trimmed = line.trim_start();
        if trimmed.starts_with('#') {
            continue;
        }
        let trimmed = trimmed
            .strip_prefix("export ")
            .map_or(trimmed, str::trim_start);
        let Some((name, value)) = trimmed.split_once('=') else {
            continue;
        };
        let name = name.trim_end();
        if !is_variable_name(name) {
            continue;
        }
        let value = value.trim_start();
        if let Some(quote) = value.chars().next().filter(|c| *c == '"' || *c == '\'') {
            if !closes(&value[quote.len_utf8()..], quote) {
                open_quote = Some(quote);
            }
        }
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    names
}

/// Whether `text` holds an unescaped `quote`.
fn closes(text: &str, quote: char) -> bool {
    let mut escaped = false;
    for c in text.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' && quote == '"' {
            escaped = true;
        } else if c == quote {
            return true;
        }
    }
    false
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const AWS_CONFIG: &str = "\
# comment
[default]
region = eu-west-1

[profile prod-admin]
region = us-east-1
role_arn = arn:aws:iam::111111111111:role/admin
source_profile = default
s3 =
    max_concurrent_requests = 20

[sso-session corp]
sso_region = us-east-1

[profile staging]
sso_account_id = 222222222222
sso_session = corp
; another comment
[profile staging]
region = eu-central-1
";

    #[test]
    fn aws_config_profiles_regions_and_accounts() {
        let profiles = parse_aws_config(AWS_CONFIG).unwrap();
        let summary: Vec<_> = profiles
            .iter()
            .map(|(p, line)| {
                (
                    p.name.as_str(),
                    p.region.as_deref(),
                    p.account.as_deref(),
                    *line,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("default", Some("eu-west-1"), None, 2),
                ("prod-admin", Some("us-east-1"), Some("111111111111"), 5),
                ("staging", Some("eu-central-1"), Some("222222222222"), 15),
            ]
        );
    }

    #[test]
    fn a_malformed_aws_file_names_the_line_without_quoting_it() {
        let err = parse_aws_config("[default]\nregion = x\nthis is not a setting\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(!err.to_string().contains("not a setting"), "{err}");
        assert_eq!(parse_aws_config("[profile x\n").unwrap_err().line, 1);
        assert_eq!(parse_aws_config("region = x\n").unwrap_err().line, 1);
        assert_eq!(parse_aws_config("[profile ]\n").unwrap_err().line, 1);
    }

    #[test]
    fn aws_credentials_keep_names_only() {
        let text = "[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = hunter2\n\n[ci]\naws_access_key_id = AKIAOTHER\n";
        let names = parse_aws_credentials(text).unwrap();
        assert_eq!(names, [("default".to_string(), 1), ("ci".to_string(), 5)]);
        let err = parse_aws_credentials("[x]\nhunter2\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn arn_accounts() {
        assert_eq!(
            arn_account("arn:aws:iam::111111111111:role/a").as_deref(),
            Some("111111111111")
        );
        assert_eq!(arn_account("arn:aws:iam::1111:role/a"), None);
        assert_eq!(arn_account("111111111111"), None);
    }

    const KUBECONFIG: &str = "\
apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://prod.example.com
contexts:
- name: prod-cluster
  context:
    cluster: prod
    user: admin
- context:
    cluster: kind-dev
  name: kind-dev
current-context: kind-dev
";

    #[test]
    fn kubeconfig_contexts_and_clusters() {
        let contexts = parse_kubeconfig(KUBECONFIG).unwrap();
        let summary: Vec<_> = contexts
            .iter()
            .map(|(c, line)| (c.name.as_str(), c.cluster.as_deref(), *line))
            .collect();
        assert_eq!(
            summary,
            [
                ("prod-cluster", Some("prod"), 8),
                ("kind-dev", Some("kind-dev"), 14)
            ]
        );
        assert!(parse_kubeconfig("").unwrap().is_empty());
        assert!(parse_kubeconfig("apiVersion: v1\n").unwrap().is_empty());
    }

    #[test]
    fn a_malformed_kubeconfig_names_the_line() {
        let err = parse_kubeconfig("contexts:\n- name: a\n  context: [unclosed\n").unwrap_err();
        assert!(err.line >= 3, "{err}");
        assert!(err.message.starts_with("not YAML"), "{err}");
        let err = parse_kubeconfig("kind: Config\ncontexts: oops\n").unwrap_err();
        assert_eq!(err.line, 2, "{err}");
        let err =
            parse_kubeconfig("kind: Config\ncontexts:\n- context:\n    cluster: x\n").unwrap_err();
        assert!(err.message.contains("no `name`"), "{err}");
        assert_eq!(parse_kubeconfig("- a\n- b\n").unwrap_err().line, 1);
    }

    #[test]
    fn dotenv_names_never_values() {
        let text = "\
# comment
DATABASE_URL=postgres://user:pw@db/app
export API_KEY = abc
EMPTY=
MULTI=\"line one
NOT_A_NAME=inside the quoted value
\"
AFTER='x'
lower_case=1
1BAD=2
not an assignment
DATABASE_URL=again
";
        assert_eq!(
            dotenv_names(text),
            [
                "DATABASE_URL",
                "API_KEY",
                "EMPTY",
                "MULTI",
                "AFTER",
                "lower_case"
            ]
        );
    }

    #[test]
    fn terraform_workspaces_from_state_and_selection() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("terraform.tfstate.d/prod")).unwrap();
        std::fs::create_dir_all(dir.path().join("terraform.tfstate.d/dev")).unwrap();
        std::fs::write(dir.path().join("terraform.tfstate.d/stray"), "").unwrap();
        std::fs::create_dir_all(dir.path().join(".terraform")).unwrap();
        std::fs::write(dir.path().join(".terraform/environment"), "blue\n").unwrap();
        let mut warnings = Vec::new();
        let names: Vec<String> = terraform_workspaces(dir.path(), &mut warnings)
            .into_iter()
            .map(|w| w.name)
            .collect();
        assert_eq!(names, ["dev", "prod", "blue"]);
        assert!(warnings.is_empty());
    }

    #[test]
    fn paths_are_shown_from_home_and_project() {
        let at = Locations {
            aws_config: None,
            aws_credentials: None,
            kubeconfig: None,
            project: PathBuf::from("/work/app"),
            home: Some(PathBuf::from("/home/me")),
        };
        assert_eq!(at.show(Path::new("/home/me/.aws/config")), "~/.aws/config");
        assert_eq!(at.show(Path::new("/work/app/.env")), ".env");
        assert_eq!(at.show(Path::new("/etc/kube")), "/etc/kube");
    }
}
