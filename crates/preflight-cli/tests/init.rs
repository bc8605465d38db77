//! `preflight init`, run as the real binary on a fake home directory and project.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{Output, run};

/// The variables that would point the tools at the caller's own files.
const CLEAN_ENV: &[(&str, &str)] = &[
    ("KUBECONFIG", ""),
    ("AWS_CONFIG_FILE", ""),
    ("AWS_SHARED_CREDENTIALS_FILE", ""),
];

struct Machine {
    _dir: tempfile::TempDir,
    home: PathBuf,
    project: PathBuf,
}

impl Machine {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let project = dir.path().join("project");
        fs::create_dir_all(home.join(".aws")).unwrap();
        fs::create_dir_all(home.join(".kube")).unwrap();
        fs::write(
            home.join(".aws/config"),
            "[default]\nregion = eu-west-1\n\n[profile prod-admin]\nregion = us-east-1\nsso_account_id = 111111111111\n\n[profile staging]\nregion = eu-central-1\n",
        )
        .unwrap();
        fs::write(
            home.join(".aws/credentials"),
            "[default]\naws_access_key_id = AKIAFAKEFAKEFAKE\naws_secret_access_key = hunter2hunter2\n",
        )
        .unwrap();
        fs::write(
            home.join(".kube/config"),
            "apiVersion: v1\nkind: Config\ncontexts:\n- name: prod-cluster\n  context:\n    cluster: prod\n    user: admin\n- name: kind-dev\n  context:\n    cluster: kind-dev\n    user: kind\n",
        )
        .unwrap();
        fs::create_dir_all(project.join("terraform.tfstate.d/prod")).unwrap();
        fs::create_dir_all(project.join("terraform.tfstate.d/dev")).unwrap();
        fs::write(project.join(".env"), "DATABASE_URL=postgres://secret@x\n").unwrap();
        Self {
            _dir: dir,
            home,
            project,
        }
    }

    fn init(&self, extra: &[&str]) -> Output {
        let mut args = vec![
            "init",
            "--home",
            self.home.to_str().unwrap(),
            "--project",
            self.project.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        run(&args, "", CLEAN_ENV)
    }

    fn policy_path(&self) -> PathBuf {
        self.project.join(".preflight/policy.toml")
    }
}

fn environment<'a>(policy: &'a toml::Table, name: &str, field: &str) -> Vec<&'a str> {
    policy["environments"]
        .get(name)
        .and_then(|e| e.get(field))
        .and_then(toml::Value::as_array)
        .map(|a| a.iter().filter_map(toml::Value::as_str).collect())
        .unwrap_or_default()
}

fn never_leaks(text: &str) {
    for value in ["secret@x", "postgres://", "hunter2", "AKIAFAKE"] {
        assert!(!text.contains(value), "`{value}` leaked into:\n{text}");
    }
}

#[test]
fn init_declares_what_it_finds_and_guesses_production() {
    let machine = Machine::new();
    let out = machine.init(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = fs::read_to_string(machine.policy_path()).unwrap();
    assert!(
        text.starts_with("extends = [\"builtin:coding-agent\"]\n"),
        "{text}"
    );
    let policy: toml::Table = toml::from_str(&text).unwrap();

    assert_eq!(
        environment(&policy, "production", "aws_profiles"),
        ["prod-admin"]
    );
    assert_eq!(
        environment(&policy, "production", "aws_accounts"),
        ["111111111111"]
    );
    assert_eq!(
        environment(&policy, "production", "kube_contexts"),
        ["prod-cluster"]
    );
    assert_eq!(
        environment(&policy, "production", "terraform_workspaces"),
        ["prod"]
    );
    assert_eq!(environment(&policy, "staging", "aws_profiles"), ["staging"]);
    assert_eq!(environment(&policy, "dev", "kube_contexts"), ["kind-dev"]);
    assert_eq!(environment(&policy, "dev", "terraform_workspaces"), ["dev"]);
    assert_eq!(
        environment(&policy, "unclassified", "aws_profiles"),
        ["default"]
    );
    // Each marker is in one environment only, so a resource has one environment.
    let mut declared: Vec<&str> = Vec::new();
    for env in ["production", "staging", "dev", "unclassified"] {
        for field in ["aws_profiles", "kube_contexts", "terraform_workspaces"] {
            declared.extend(environment(&policy, env, field));
        }
    }
    for name in [
        "prod-admin",
        "prod-cluster",
        "kind-dev",
        "default",
        "staging",
    ] {
        assert_eq!(declared.iter().filter(|v| **v == name).count(), 1, "{name}");
    }

    // Each entry says where it was found and what was guessed.
    assert!(text.contains("GUESSED production"), "{text}");
    assert!(text.contains("~/.aws/config line 4"), "{text}");
    assert!(text.contains("~/.kube/config"), "{text}");
    assert!(text.contains("terraform.tfstate.d/prod"), "{text}");
    assert!(text.contains("deny"), "{text}");

    // The .env variable is named, its value never copied.
    assert!(text.contains("DATABASE_URL"), "{text}");
    never_leaks(&text);
    never_leaks(&out.stdout);
    never_leaks(&out.stderr);

    // The summary: what was found, what was guessed production, where it was written.
    assert!(
        out.stdout.contains("prod-admin (production)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("kind-dev (dev)"), "{}", out.stdout);
    assert!(out.stdout.contains("DATABASE_URL"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("guessed production: AWS profile prod-admin"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("wrote "), "{}", out.stdout);
    assert!(
        out.stdout.contains(machine.policy_path().to_str().unwrap()),
        "{}",
        out.stdout
    );
}

#[test]
fn a_rerun_shows_a_diff_and_leaves_the_file_and_force_keeps_a_backup() {
    let machine = Machine::new();
    assert_eq!(machine.init(&[]).code, 0);
    let path = machine.policy_path();
    let generated = fs::read_to_string(&path).unwrap();

    // Unchanged machine: nothing to do.
    let out = machine.init(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("up to date"), "{}", out.stdout);

    // An edited policy and a new context: the diff shows both ways, the file stays.
    let edited = generated.replace("\"kind-dev\",", "\"kind-dev\", \"my-own-context\",");
    assert_ne!(edited, generated);
    fs::write(&path, &edited).unwrap();
    let kubeconfig = machine.home.join(".kube/config");
    let mut config = fs::read_to_string(&kubeconfig).unwrap();
    config.push_str("- name: live-eu\n  context:\n    cluster: eu\n");
    fs::write(&kubeconfig, config).unwrap();

    let out = machine.init(&[]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("--- "), "{}", out.stdout);
    assert!(out.stdout.contains("+++ "), "{}", out.stdout);
    assert!(out.stdout.contains("@@ "), "{}", out.stdout);
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with('-') && l.contains("my-own-context")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with('+') && l.contains("\"live-eu\"")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("--force"), "{}", out.stdout);
    assert_eq!(fs::read_to_string(&path).unwrap(), edited);
    assert!(!backup(&path).exists());

    // --force replaces it and keeps the edited file as the backup.
    let out = machine.init(&["--force"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(fs::read_to_string(backup(&path)).unwrap(), edited);
    let replaced = fs::read_to_string(&path).unwrap();
    assert!(!replaced.contains("my-own-context"));
    let policy: toml::Table = toml::from_str(&replaced).unwrap();
    assert_eq!(
        environment(&policy, "production", "kube_contexts"),
        ["prod-cluster", "live-eu"]
    );
    assert!(out.stdout.contains(".bak"), "{}", out.stdout);
}

fn backup(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}.bak", path.display()))
}

#[test]
fn malformed_sources_are_warnings_naming_file_and_line() {
    let machine = Machine::new();
    fs::write(
        machine.home.join(".aws/config"),
        "[profile prod-admin]\nregion = us-east-1\nsso_account_id 111111111111\n",
    )
    .unwrap();
    fs::write(
        machine.home.join(".kube/config"),
        "contexts:\n- name: prod-cluster\n  context: {cluster: prod\n",
    )
    .unwrap();
    let out = machine.init(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let config = machine.home.join(".aws/config");
    assert!(
        out.stderr
            .contains(&format!("{}: line 3:", config.display())),
        "{}",
        out.stderr
    );
    // The line's text is never echoed: it may hold a secret.
    assert!(
        !out.stderr.contains("sso_account_id 1111"),
        "{}",
        out.stderr
    );
    let kubeconfig = machine.home.join(".kube/config");
    assert!(
        out.stderr
            .contains(&format!("{}: line ", kubeconfig.display())),
        "{}",
        out.stderr
    );
    // Those sources are skipped whole; the rest is still written.
    let text = fs::read_to_string(machine.policy_path()).unwrap();
    let policy: toml::Table = toml::from_str(&text).unwrap();
    assert_eq!(environment(&policy, "production", "kube_contexts"), [""; 0]);
    assert_eq!(
        environment(&policy, "unclassified", "aws_profiles"),
        ["default"]
    );
    assert_eq!(
        environment(&policy, "production", "terraform_workspaces"),
        ["prod"]
    );
}

#[test]
fn kubeconfig_comes_from_the_variable_when_set() {
    let machine = Machine::new();
    let other = machine.home.join("other-kubeconfig");
    fs::write(
        &other,
        "contexts:\n- name: prd-eks\n  context:\n    cluster: eks\n",
    )
    .unwrap();
    let list = format!(
        "{}:{}",
        other.display(),
        machine.home.join("missing").display()
    );
    let out = run(
        &[
            "init",
            "--home",
            machine.home.to_str().unwrap(),
            "--project",
            machine.project.to_str().unwrap(),
        ],
        "",
        &[
            ("KUBECONFIG", list.as_str()),
            ("AWS_CONFIG_FILE", ""),
            ("AWS_SHARED_CREDENTIALS_FILE", ""),
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let policy: toml::Table =
        toml::from_str(&fs::read_to_string(machine.policy_path()).unwrap()).unwrap();
    assert_eq!(
        environment(&policy, "production", "kube_contexts"),
        ["prd-eks"]
    );
}

#[test]
fn an_output_that_cannot_be_written_is_a_clear_error() {
    let machine = Machine::new();
    let blocker = machine.project.join("not-a-directory");
    fs::write(&blocker, "").unwrap();
    let output = blocker.join("policy.toml");
    let out = machine.init(&["--output", output.to_str().unwrap()]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(out.stderr.contains("not-a-directory"), "{}", out.stderr);
    assert!(out.stderr.contains("output directory"), "{}", out.stderr);

    let out = run(
        &[
            "init",
            "--home",
            machine.home.to_str().unwrap(),
            "--project",
            "/nonexistent/project/dir",
        ],
        "",
        CLEAN_ENV,
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("/nonexistent/project/dir"),
        "{}",
        out.stderr
    );
}

#[test]
fn output_goes_where_asked() {
    let machine = Machine::new();
    let output = machine.project.join("policies/agent.toml");
    let out = machine.init(&["--output", output.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(output.is_file());
    assert!(!machine.policy_path().exists());
}
