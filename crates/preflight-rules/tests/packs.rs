//! The built-in packs, `extends`, and the `{project}` and `{home}` placeholders.

use preflight_core::{Action, Decision};
use preflight_rules::{Policy, RulesError, packs, run_policy_tests};

fn bash(command: &str) -> Action {
    let mut action = Action::new("Bash", serde_json::json!({ "command": command }));
    action.context.cwd = Some("/work/app".into());
    action.context.home = Some("/home/alice".into());
    action
}

fn decide(policy: &Policy, action: &Action) -> Decision {
    policy.evaluate(action, &policy.inspect(action)).decision
}

#[test]
fn every_pack_loads_lints_clean_and_passes_its_own_tests() {
    for name in packs::names() {
        let policy = Policy::load(&format!("builtin:{name}")).unwrap();
        let report = run_policy_tests(&policy);
        assert!(!report.results.is_empty(), "{name} has no tests");
        assert_eq!(report.failed, 0, "{name}: {:?}", report.results);
        let (_, text) = packs::builtin(name).unwrap();
        let errors: Vec<_> = preflight_rules::lint_str(text, name)
            .into_iter()
            .filter(|f| f.severity == preflight_rules::Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
    }
}

#[test]
fn an_unknown_pack_names_the_ones_there_are() {
    let error = Policy::load("builtin:nope").unwrap_err().to_string();
    assert!(error.contains("coding-agent"), "{error}");
    let error = Policy::from_str("extends = [\"builtin:nope\"]\n", "mine.toml")
        .unwrap_err()
        .to_string();
    assert!(error.contains("mine.toml:1"), "{error}");
    assert!(error.contains("extends[0]"), "{error}");
}

#[test]
fn a_policy_extends_a_pack_and_replaces_a_rule_by_id() {
    let base = Policy::load("builtin:coding-agent").unwrap();
    assert_eq!(
        decide(&base, &bash("git push --force origin feature")),
        Decision::Deny
    );
    assert_eq!(decide(&base, &bash("cargo test")), Decision::Allow);
    let mine = Policy::from_str(
        r#"
extends = ["builtin:coding-agent"]

[[rule]]
id = "git.force-push"
effect = "escalate"
tags = ["force_push"]
reason = "we review force pushes"

[[rule]]
id = "mine.no-cargo-publish"
effect = "deny"
resources = ["project://cargo/publish"]
"#,
        "mine.toml",
    )
    .unwrap();
    assert_eq!(
        decide(&mine, &bash("git push --force origin feature")),
        Decision::Escalate
    );
    assert_eq!(decide(&mine, &bash("cargo publish")), Decision::Deny);
    // Everything else is still the pack's: `default` comes from it too.
    assert_eq!(decide(&mine, &bash("rm -rf ~")), Decision::Deny);
    assert_eq!(decide(&mine, &bash("cargo test")), Decision::Allow);
    assert_eq!(mine.file().default, preflight_rules::RuleEffect::Escalate);
}

#[test]
fn an_allow_never_overrides_an_inherited_deny() {
    let mine = Policy::from_str(
        r#"
extends = ["builtin:coding-agent"]

[[rule]]
id = "mine.anything"
effect = "allow"
"#,
        "mine.toml",
    )
    .unwrap();
    assert_eq!(decide(&mine, &bash("rm -rf ~")), Decision::Deny);
    assert_eq!(decide(&mine, &bash("sudo ls")), Decision::Deny);
}

#[test]
fn a_relative_extends_reads_beside_the_file_and_cycles_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.toml");
    let mine = dir.path().join("mine.toml");
    std::fs::write(
        &base,
        "default = \"escalate\"\n[[rule]]\nid = \"base.read\"\neffect = \"allow\"\noperations = [\"read\"]\n",
    )
    .unwrap();
    std::fs::write(&mine, "extends = [\"base.toml\"]\n").unwrap();
    let policy = Policy::from_file(&mine).unwrap();
    assert!(policy.rule_ids().any(|id| id == "base.read"));
    assert_eq!(policy.file().default, preflight_rules::RuleEffect::Escalate);

    std::fs::write(&base, "extends = [\"mine.toml\"]\n").unwrap();
    let error = Policy::from_file(&mine).unwrap_err().to_string();
    assert!(error.contains("extends itself"), "{error}");

    let missing = dir.path().join("lonely.toml");
    std::fs::write(&missing, "extends = [\"gone.toml\"]\n").unwrap();
    let error = Policy::from_file(&missing).unwrap_err();
    assert!(
        matches!(&error, RulesError::Invalid { field, .. } if field == "extends[0]"),
        "{error}"
    );
}

#[test]
fn an_error_in_an_inherited_rule_names_its_own_file() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.toml");
    std::fs::write(
        &base,
        "[[rule]]\nid = \"bad\"\neffect = \"allow\"\nresources = [\"file:///[\"]\n",
    )
    .unwrap();
    let mine = dir.path().join("mine.toml");
    std::fs::write(&mine, "extends = [\"base.toml\"]\n").unwrap();
    let error = Policy::from_file(&mine).unwrap_err().to_string();
    // The file the rule was written in, the rule's line, and the field.
    assert!(error.contains("base.toml:2"), "{error}");
    assert!(error.contains("rule[0].resources[0]"), "{error}");
}

#[test]
fn the_project_is_the_working_directory_unless_it_covers_too_much() {
    let policy = Policy::load("builtin:coding-agent").unwrap();
    let mut edit = Action::new(
        "Write",
        serde_json::json!({ "file_path": "/work/app/src/lib.rs", "content": "" }),
    );
    edit.context.cwd = Some("/work/app".into());
    edit.context.home = Some("/home/alice".into());
    assert_eq!(decide(&policy, &edit), Decision::Allow);
    // Elsewhere, the same write asks.
    edit.context.cwd = Some("/work/other".into());
    assert_eq!(decide(&policy, &edit), Decision::Escalate);
    // A working directory of `/` or the home directory is no project.
    for cwd in ["/", "/home/alice", "/home"] {
        let mut action = bash("rm -rf /home/alice/notes");
        action.context.cwd = Some(cwd.into());
        assert_eq!(decide(&policy, &action), Decision::Deny, "{cwd}");
    }
}

#[test]
fn the_home_directory_is_protected_wherever_it_is() {
    let policy = Policy::load("builtin:coding-agent").unwrap();
    for (home, command) in [
        ("/home/alice", "rm -rf ~/Documents"),
        ("/Users/bob", "echo x >> ~/.zshrc"),
        ("/home/alice", "chmod -R 777 ~"),
    ] {
        let mut action = bash(command);
        action.context.home = Some(home.into());
        assert_eq!(decide(&policy, &action), Decision::Deny, "{command}");
    }
}
