//! The rules engine on hand-built inspections: semantics, errors, explain, lint, policy
//! tests, fleet limits and hot reload.

// Tests may unwrap and panic, helpers included.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use preflight_core::testkit::MemoryFleetLimits;
use preflight_core::{
    Action, BlastRadius, Decision, Effect, Inspection, Operation, Proposal, ReasonKind, Verifier,
};
use preflight_rules::{
    Policy, PolicyVerifier, ReloadingVerifier, RulesError, Severity, explain_inspected, lint,
    lint_str, policy_schema, run_policy_tests,
};
use serde_json::json;

const ENVS: &str = r#"
[environments.prod]
aws_profiles = ["prod"]
[environments.dev]
aws_profiles = ["dev"]
"#;

fn policy(rules: &str) -> Policy {
    Policy::from_str(&format!("{ENVS}\n{rules}"), "test.toml").unwrap()
}

fn action(value: serde_json::Value) -> Action {
    Action::from_value(value).unwrap()
}

fn bash() -> Action {
    action(json!({"tool": "Bash", "input": {"command": "x"}}))
}

fn effect(operation: Operation, resource: &str, environment: Option<&str>) -> Effect {
    let mut effect = Effect::new(operation, resource);
    effect.environment = environment.map(String::from);
    effect
}

fn inspection(effects: Vec<Effect>) -> Inspection {
    Inspection {
        effects,
        ..Inspection::default()
    }
}

const LAYERED: &str = r#"
[[rule]]
id = "allow-files"
effect = "allow"
resources = ["file:///work/**"]

[[rule]]
id = "escalate-deletes"
effect = "escalate"
operations = ["delete"]
resources = ["file:///work/**"]
reason = "deletes need a person"

[[rule]]
id = "deny-secrets"
effect = "deny"
tags = ["secret"]
reason = "no secrets"
suggestion = "leave the secret alone"
"#;

#[test]
fn deny_beats_escalate_beats_allow_and_names_the_rules() {
    let policy = policy(LAYERED);
    let read = inspection(vec![effect(Operation::Read, "file:///work/a", None)]);
    let verdict = policy.evaluate(&bash(), &read);
    assert_eq!(verdict.decision, Decision::Allow);
    assert_eq!(verdict.deciding_rules(), ["allow-files"]);

    let delete = inspection(vec![effect(Operation::Delete, "file:///work/a", None)]);
    let verdict = policy.evaluate(&bash(), &delete);
    assert_eq!(verdict.decision, Decision::Escalate);
    assert_eq!(verdict.deciding_rules(), ["escalate-deletes"]);

    let mut secret = effect(Operation::Delete, "file:///work/.env", None);
    secret.tags.push("secret".into());
    let both = inspection(vec![
        effect(Operation::Read, "file:///work/a", None),
        secret,
    ]);
    let verdict = policy.evaluate(&bash(), &both);
    assert_eq!(verdict.decision, Decision::Deny);
    assert_eq!(verdict.deciding_rules(), ["deny-secrets"]);
    assert_eq!(
        verdict.suggestion.as_deref(),
        Some("leave the secret alone")
    );
    assert!(verdict.reasons[0].message.contains("no secrets"));
}

#[test]
fn uncovered_effects_get_the_default() {
    let policy = policy(LAYERED);
    let outside = inspection(vec![
        effect(Operation::Read, "file:///work/a", None),
        effect(Operation::Read, "file:///etc/passwd", None),
    ]);
    let verdict = policy.evaluate(&bash(), &outside);
    assert_eq!(verdict.decision, Decision::Deny);
    assert_eq!(verdict.reasons[0].kind, ReasonKind::Default);

    let lenient =
        Policy::from_str(&format!("default = \"escalate\"\n{LAYERED}"), "t.toml").unwrap();
    assert_eq!(lenient.decide(&bash(), &outside), Decision::Escalate);

    // An inspection with no effects is judged as one opaque effect naming the tool.
    assert_eq!(
        policy.decide(&bash(), &Inspection::default()),
        Decision::Deny
    );
}

#[test]
fn the_resource_environment_wins_over_the_declared_one() {
    let policy = policy(
        r#"
[[rule]]
id = "dev-deletes"
effect = "allow"
operations = ["delete"]
environments = ["dev"]
[[rule]]
id = "prod-deletes"
effect = "deny"
operations = ["delete"]
environments = ["prod"]
"#,
    );
    let declared_dev = action(json!({"tool": "aws.api", "declared": {"environment": "dev"}}));
    let prod = inspection(vec![effect(
        Operation::Delete,
        "aws://prod/x",
        Some("prod"),
    )]);
    assert_eq!(policy.decide(&declared_dev, &prod), Decision::Deny);
    // Without an environment from the resource, the claim is not a fact: the environment
    // is unknown, and no `dev` rule applies.
    let unknown = inspection(vec![effect(Operation::Delete, "file:///x", None)]);
    assert_eq!(policy.decide(&declared_dev, &unknown), Decision::Deny);
    // A declared environment that differs from the derived one escalates, even where the
    // derived one would be allowed.
    let declared_prod = action(json!({"tool": "aws.api", "declared": {"environment": "prod"}}));
    let dev = inspection(vec![effect(Operation::Delete, "aws://dev/x", Some("dev"))]);
    let verdict = policy.evaluate(&declared_prod, &dev);
    assert_eq!(verdict.decision, Decision::Escalate);
    assert!(
        verdict
            .reasons
            .iter()
            .any(|r| r.message.contains("declared environment `prod`")),
        "{verdict:?}"
    );
}

#[test]
fn a_change_outside_the_declared_scope_escalates() {
    let policy = policy(
        r#"
[[rule]]
id = "anything"
effect = "allow"
"#,
    );
    let claimed = action(json!({
        "tool": "Bash",
        "declared": {"scope": {"entries": [{"operations": ["delete"], "resources": ["file:///workspace/app/build/**"]}]}}
    }));
    let inside = inspection(vec![effect(
        Operation::Delete,
        "file:///workspace/app/build/x",
        None,
    )]);
    assert_eq!(policy.decide(&claimed, &inside), Decision::Allow);
    let outside = inspection(vec![
        effect(Operation::Delete, "file:///workspace/app/build/x", None),
        effect(Operation::Delete, "file:///workspace/app/src", None),
    ]);
    let verdict = policy.evaluate(&claimed, &outside);
    assert_eq!(verdict.decision, Decision::Escalate);
    assert!(
        verdict
            .reasons
            .iter()
            .any(|r| r.message.contains("outside the scope it declared")),
        "{verdict:?}"
    );
}

#[test]
fn a_declared_environment_never_stands_in_for_a_derived_one() {
    // The Kiro case: an `aws.api` DeleteStack with no profile, declared as dev.
    let policy = policy(
        r#"
[[rule]]
id = "dev-deletes"
effect = "allow"
operations = ["delete"]
resources = ["aws://**"]
environments = ["dev"]
"#,
    );
    let claimed = action(json!({"tool": "aws.api", "declared": {"environment": "dev"}}));
    let no_profile = inspection(vec![effect(
        Operation::Delete,
        "aws://_/cloudformation/stack/cost-explorer",
        None,
    )]);
    assert_ne!(policy.decide(&claimed, &no_profile), Decision::Allow);
}

#[test]
fn destructive_action_in_an_unknown_environment_escalates() {
    let rules = r#"
[[rule]]
id = "any-delete"
effect = "allow"
operations = ["delete"]
"#;
    let policy = policy(rules);
    let unknown = inspection(vec![effect(
        Operation::Delete,
        "k8s://_/default/pod/web",
        None,
    )]);
    let verdict = policy.evaluate(&bash(), &unknown);
    assert_eq!(verdict.decision, Decision::Escalate);
    assert_eq!(
        verdict.deciding_rules(),
        [preflight_rules::UNKNOWN_ENVIRONMENT_RULE]
    );
    let known = inspection(vec![effect(
        Operation::Delete,
        "k8s://dev/default/pod/web",
        Some("dev"),
    )]);
    assert_eq!(policy.decide(&bash(), &known), Decision::Allow);
    // A file has no environment to determine.
    let file = inspection(vec![effect(Operation::Delete, "file:///tmp/x", None)]);
    assert_eq!(policy.decide(&bash(), &file), Decision::Allow);
    let off = Policy::from_str(&format!("unknown_environment = \"allow\"\n{rules}"), "t").unwrap();
    assert_eq!(off.decide(&bash(), &unknown), Decision::Allow);
}

#[test]
fn declarations_escalate() {
    let policy = Policy::from_str(
        r#"
default_agent = "bot"
[agents.bot]
confidence_threshold = 0.5
[[rule]]
id = "all"
effect = "allow"
"#,
        "t.toml",
    )
    .unwrap();
    let mut derived = inspection(vec![
        effect(Operation::Update, "file:///a", None),
        effect(Operation::Update, "file:///b", None),
    ]);
    derived.blast_radius = BlastRadius {
        resources: Some(2),
        ..BlastRadius::default()
    };
    let honest = action(json!({"tool": "Write", "declared": {"blast_radius": {"resources": 2}}}));
    assert_eq!(policy.decide(&honest, &derived), Decision::Allow);
    let under = action(json!({"tool": "Write", "declared": {"blast_radius": {"resources": 1}}}));
    let verdict = policy.evaluate(&under, &derived);
    assert_eq!(verdict.decision, Decision::Escalate);
    assert_eq!(verdict.reasons[0].kind, ReasonKind::Declaration);

    let unsure = action(json!({"tool": "Write", "confidence": 0.3}));
    assert_eq!(policy.decide(&unsure, &derived), Decision::Escalate);
    let read = inspection(vec![effect(Operation::Read, "file:///a", None)]);
    assert_eq!(policy.decide(&unsure, &read), Decision::Allow);
    let sure = action(json!({"tool": "Write", "confidence": 0.9}));
    assert_eq!(policy.decide(&sure, &derived), Decision::Allow);
}

#[test]
fn agents_choose_their_rules_and_strangers_are_denied() {
    let policy = Policy::from_str(
        r#"
[agents.reader]
rules = ["read-*"]
[agents.writer]
[[rule]]
id = "read-all"
effect = "allow"
operations = ["read"]
[[rule]]
id = "write-all"
effect = "allow"
operations = ["update"]
[[rule]]
id = "writer-only"
effect = "allow"
agents = ["writer"]
operations = ["delete"]
"#,
        "t.toml",
    )
    .unwrap();
    let write = inspection(vec![effect(Operation::Update, "file:///a", None)]);
    let delete = inspection(vec![effect(Operation::Delete, "file:///a", None)]);
    let reader = action(json!({"tool": "Write", "agent": {"id": "reader"}}));
    let writer = action(json!({"tool": "Write", "agent": {"id": "writer"}}));
    let stranger = action(json!({"tool": "Write", "agent": {"id": "mallory"}}));
    let nobody = action(json!({"tool": "Write"}));
    assert_eq!(policy.decide(&reader, &write), Decision::Deny);
    assert_eq!(policy.decide(&writer, &write), Decision::Allow);
    assert_eq!(policy.decide(&writer, &delete), Decision::Allow);
    assert_eq!(policy.decide(&reader, &delete), Decision::Deny);
    assert_eq!(policy.decide(&stranger, &write), Decision::Deny);
    assert_eq!(policy.decide(&nobody, &write), Decision::Deny);
}

#[test]
fn shadow_rules_report_without_deciding() {
    let policy = policy(
        r#"
[[rule]]
id = "allow-all"
effect = "allow"
[[rule]]
id = "new-deny"
effect = "deny"
operations = ["delete"]
shadow = true
"#,
    );
    let delete = inspection(vec![effect(Operation::Delete, "file:///a", None)]);
    let verdict = policy.evaluate(&bash(), &delete);
    assert_eq!(verdict.decision, Decision::Allow);
    let shadow: Vec<_> = verdict
        .reasons
        .iter()
        .filter(|r| r.kind == ReasonKind::Shadow)
        .collect();
    assert_eq!(shadow.len(), 1);
    assert_eq!(shadow[0].rule.as_deref(), Some("new-deny"));
    assert_eq!(shadow[0].decision, Decision::Deny);

    let whole = Policy::from_str(
        "shadow = true\n[[rule]]\nid = \"d\"\neffect = \"deny\"\n",
        "t",
    )
    .unwrap();
    let verdict = whole.evaluate(&bash(), &delete);
    assert_eq!(verdict.decision, Decision::Abstain);
    assert!(verdict.reasons.iter().all(|r| r.kind == ReasonKind::Shadow));
    assert!(verdict.reasons[0].message.contains("would deny"));
}

#[test]
fn conditions_are_cel_and_fail_closed() {
    let policy = policy(
        r#"
[[rule]]
id = "small-refunds"
effect = "allow"
tools = ["pay.*"]
condition = "input.amount <= 100"
[[rule]]
id = "odd-input"
effect = "escalate"
tools = ["pay.*"]
condition = "input.flag == true"
"#,
    );
    let refund = |input: serde_json::Value| action(json!({"tool": "pay.refund", "input": input}));
    let effects = inspection(vec![effect(
        Operation::NetworkSend,
        "tool://pay.refund",
        None,
    )]);
    assert_eq!(
        policy.decide(&refund(json!({"amount": 50, "flag": false})), &effects),
        Decision::Allow
    );
    assert_eq!(
        policy.decide(&refund(json!({"amount": 500, "flag": false})), &effects),
        Decision::Deny
    );
    // `flag` missing: the escalate rule's condition cannot be evaluated, so it matches.
    let verdict = policy.evaluate(&refund(json!({"amount": 50})), &effects);
    assert_eq!(verdict.decision, Decision::Escalate);
    assert!(
        verdict
            .reasons
            .iter()
            .any(|r| r.kind == ReasonKind::Failure)
    );
    // `amount` missing: the allow rule does not match, and the default denies.
    assert_eq!(
        policy.decide(&refund(json!({"flag": false})), &effects),
        Decision::Deny
    );
}

fn invalid(result: Result<Policy, RulesError>) -> (usize, usize, String, String) {
    match result {
        Err(RulesError::Invalid {
            line,
            column,
            field,
            message,
            origin,
        }) => {
            assert_eq!(origin, "bad.toml");
            (line, column, field, message)
        }
        other => panic!("expected an invalid policy, got {other:?}"),
    }
}

#[test]
fn errors_name_line_column_and_field() {
    let text = "[[rule]]\nid = \"a\"\neffect = \"allow\"\nresourcez = [\"x\"]\n";
    let (line, column, field, message) = invalid(Policy::from_str(text, "bad.toml"));
    assert_eq!((line, column), (4, 1));
    assert!(field.starts_with("rule"), "{field}");
    assert!(message.contains("unknown field"), "{message}");

    let text = "[[rule]]\nid = \"a\"\neffect = \"perhaps\"\n";
    let (line, _, field, _) = invalid(Policy::from_str(text, "bad.toml"));
    assert_eq!(line, 3);
    assert_eq!(field, "rule[0].effect");

    let text = "[[rule]]\nid = \"a\"\neffect = \"allow\"\n\n[[rule]]\nid = \"b\"\neffect = \"deny\"\nresources = [\"file:///ok/**\", \"file:///[bad\"]\n";
    let (line, column, field, message) = invalid(Policy::from_str(text, "bad.toml"));
    assert_eq!((line, column), (8, 31));
    assert_eq!(field, "rule[1].resources[1]");
    assert!(message.contains("invalid glob"), "{message}");

    let text = "[[rule]]\nid = \"a\"\neffect = \"deny\"\ncondition = \"input.x >\"\n";
    let (line, _, field, message) = invalid(Policy::from_str(text, "bad.toml"));
    assert_eq!(line, 4);
    assert_eq!(field, "rule[0].condition");
    assert!(message.contains("invalid condition"), "{message}");

    let text = "[[rule]]\nid = \"a\"\neffect = \"deny\"\n[[rule]]\nid = \"a\"\neffect = \"deny\"\n";
    let (line, _, _, message) = invalid(Policy::from_str(text, "bad.toml"));
    assert_eq!(line, 5);
    assert!(message.contains("duplicate"));

    let json =
        "{\n  \"rule\": [\n    {\"id\": \"a\", \"effect\": \"allow\", \"tool\": [\"x\"]}\n  ]\n}";
    let (line, _, field, message) = invalid(Policy::from_str(json, "bad.toml"));
    assert_eq!(line, 3);
    assert_eq!(field, "rule[0].tool");
    assert!(message.contains("unknown field"));
}

// Found by fuzzing: an unknown key written as an empty string gave an error naming no field
// (JSON), or the whole document (TOML).
#[test]
fn an_empty_key_is_named() {
    for text in [
        r#"{"""#,
        "{\"rule\": [], \"\": 1}",
        "\"\" = 1\n",
        "[[rule]]\n\"\" = 1\n",
    ] {
        let (_, _, field, message) = invalid(Policy::from_str(text, "bad.toml"));
        assert!(field.ends_with(r#""""#), "{text}: {field}: {message}");
    }
}

#[test]
fn json_policies_load_too() {
    let json = r#"{"rule": [{"id": "r", "effect": "allow", "operations": ["read"]}]}"#;
    let policy = Policy::from_str(json, "p.json").unwrap();
    let read = inspection(vec![effect(Operation::Read, "file:///a", None)]);
    assert_eq!(policy.decide(&bash(), &read), Decision::Allow);
}

#[test]
fn explain_reports_every_rule_and_the_failing_field() {
    let policy = policy(LAYERED);
    let delete = inspection(vec![effect(Operation::Delete, "file:///work/a", None)]);
    let explanation = explain_inspected(&policy, &bash(), &delete);
    assert_eq!(explanation.verdict.decision, Decision::Escalate);
    let ids: Vec<&str> = explanation.rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["allow-files", "escalate-deletes", "deny-secrets"]);
    assert!(explanation.rules[0].matched && explanation.rules[1].matched);
    assert!(!explanation.rules[2].matched);
    assert_eq!(
        explanation.rules[2].checks[0].failed.as_deref(),
        Some("tags")
    );
    assert_eq!(explanation.rules[1].line, 14);
    let text = explanation.to_string();
    assert!(text.contains("tags did not match"), "{text}");
}

#[test]
fn lint_finds_shadowed_unreachable_and_unknown_names() {
    let text = r#"
[environments.prod]
aws_profiles = ["prod"]

[[rule]]
id = "wide"
effect = "allow"
resources = ["file:///work/**"]

[[rule]]
id = "narrow"
effect = "allow"
operations = ["read"]
resources = ["file:///work/src/**"]

[[rule]]
id = "deny-tmp"
effect = "deny"
resources = ["file:///tmp/**"]

[[rule]]
id = "allow-tmp-logs"
effect = "allow"
resources = ["file:///tmp/logs/*.log"]

[[rule]]
id = "typo"
effect = "deny"
environments = ["prdo"]
"#;
    let findings = lint_str(text, "p.toml");
    let find = |code: &str| {
        findings
            .iter()
            .find(|f| f.code == code)
            .unwrap_or_else(|| panic!("{code}: {findings:?}"))
    };
    let shadowed = find("shadowed");
    assert_eq!(shadowed.rule.as_deref(), Some("narrow"));
    assert_eq!((shadowed.line, shadowed.column), (11, 6));
    let unreachable = find("unreachable_allow");
    assert_eq!(unreachable.rule.as_deref(), Some("allow-tmp-logs"));
    let unknown = find("unknown_environment");
    assert_eq!(unknown.line, 29);
    assert!(unknown.message.contains("prdo"));
    assert!(find("always_scanned").message.starts_with("1 of 5"));
    assert!(unknown.to_string().starts_with("p.toml:29:"));

    let broken = "[[rule]]\nid = \"a\"\neffect = \"deny\"\nresources = [\"[x\"]\n[[rule]]\nid = \"b\"\neffect = \"deny\"\ncondition = \"((\"\n";
    let findings = lint_str(broken, "p.toml");
    let errors: Vec<_> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    assert_eq!(errors.len(), 2, "{findings:?}");
    assert_eq!(errors[0].line, 4);
    assert_eq!(errors[1].line, 8);
    assert!(errors[1].message.contains("rule[1].condition"));

    let clean = policy(LAYERED);
    assert!(lint(&clean).iter().all(|f| f.severity == Severity::Info));
}

#[test]
fn policy_tests_run_and_can_gate_loading() {
    let tests = r#"
[[rule]]
id = "reads"
effect = "allow"
operations = ["read"]

[[test]]
name = "reads pass"
expect = "allow"
action = { tool = "Read" }
inspection = { effects = [{ operation = "read", resource = "file:///a" }] }
rules = ["reads"]

[[test]]
name = "deletes are allowed (wrong)"
expect = "allow"
action = { tool = "Bash" }
inspection = { effects = [{ operation = "delete", resource = "file:///a" }] }
"#;
    let policy = Policy::from_str(tests, "t.toml").unwrap();
    let report = run_policy_tests(&policy);
    assert_eq!((report.passed, report.failed), (1, 1));
    assert_eq!(report.results[1].decision, Decision::Deny);
    assert_eq!(report.results[1].line, 15);
    assert!(report.results[1].message.contains("expected allow"));
    let gated = Policy::from_str(&format!("test_on_load = true\n{tests}"), "t.toml");
    assert!(
        matches!(
            gated,
            Err(RulesError::TestsFailed {
                failed: 1,
                total: 2,
                ..
            })
        ),
        "{gated:?}"
    );
}

#[tokio::test]
async fn fleet_limits_cap_an_allow_rule() {
    let policy = Arc::new(policy(
        r#"
[[rule]]
id = "deletes"
effect = "allow"
operations = ["delete"]
limit = { max = 2, window_seconds = 3600 }
"#,
    ));
    let proposal = Proposal {
        inspection: Some(inspection(vec![effect(
            Operation::Delete,
            "file:///a",
            None,
        )])),
        ..Proposal::new(bash())
    };
    let limits = Arc::new(MemoryFleetLimits::new());
    let verifier = PolicyVerifier::new(Arc::clone(&policy)).with_fleet_limits(limits);
    assert_eq!(
        verifier.verify(&proposal).await.unwrap().decision,
        Decision::Allow
    );
    assert_eq!(
        verifier.verify(&proposal).await.unwrap().decision,
        Decision::Allow
    );
    let third = verifier.verify(&proposal).await.unwrap();
    assert_eq!(third.decision, Decision::Escalate);
    assert_eq!(third.deciding_rules(), ["deletes"]);
    // Without a counter the limit cannot be checked: never allow.
    let unlimited = PolicyVerifier::new(policy);
    assert_eq!(
        unlimited.verify(&proposal).await.unwrap().decision,
        Decision::Escalate
    );
}

#[tokio::test]
async fn the_verifier_inspects_when_the_proposal_was_not() {
    let verifier = PolicyVerifier::new(policy(
        "[[rule]]\nid = \"reads\"\neffect = \"allow\"\noperations = [\"read\"]\nresources = [\"file:///work/**\"]\n",
    ));
    let read = action(json!({"tool": "Read", "input": {"file_path": "/work/src/main.rs"}}));
    let verdict = verifier.verify(&Proposal::new(read)).await.unwrap();
    assert_eq!(verdict.decision, Decision::Allow, "{verdict}");
    assert!(verdict.latency_us.is_some());
    let write = action(json!({"tool": "Write", "input": {"file_path": "/work/a", "content": ""}}));
    assert_eq!(
        verifier
            .verify(&Proposal::new(write))
            .await
            .unwrap()
            .decision,
        Decision::Deny
    );
}

fn temp_policy(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("preflight-rules-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("policy.toml");
    std::fs::write(&path, text).unwrap();
    path
}

const ALLOW_READS: &str = "[[rule]]\nid = \"reads\"\neffect = \"allow\"\noperations = [\"read\"]\n";
const DENY_ALL: &str = "[[rule]]\nid = \"none\"\neffect = \"deny\"\n";

#[tokio::test]
async fn reload_keeps_the_old_policy_when_the_new_one_is_broken() {
    let path = temp_policy("reload", ALLOW_READS);
    let verifier = ReloadingVerifier::open(&path).unwrap();
    let proposal = Proposal {
        inspection: Some(inspection(vec![effect(Operation::Read, "file:///a", None)])),
        ..Proposal::new(bash())
    };
    assert_eq!(
        verifier.verify(&proposal).await.unwrap().decision,
        Decision::Allow
    );
    assert!(!verifier.reload_if_changed().unwrap());

    std::fs::write(&path, "[[rule]]\nid = \"broken\"\neffect = \"maybe\"\n").unwrap();
    let error = verifier.reload().unwrap_err();
    assert!(error.to_string().contains("policy.toml:3:"), "{error}");
    assert_eq!(verifier.last_error(), Some(error));
    assert_eq!(
        verifier.verify(&proposal).await.unwrap().decision,
        Decision::Allow
    );

    std::fs::write(&path, DENY_ALL).unwrap();
    verifier.reload().unwrap();
    assert_eq!(verifier.last_error(), None);
    assert_eq!(
        verifier.verify(&proposal).await.unwrap().decision,
        Decision::Deny
    );
    assert_eq!(verifier.policy().rule_ids().collect::<Vec<_>>(), ["none"]);
    assert!(ReloadingVerifier::open(path.with_file_name("missing.toml")).is_err());
}

#[test]
fn watching_picks_up_a_changed_file() {
    let path = temp_policy("watch", ALLOW_READS);
    let verifier = Arc::new(ReloadingVerifier::open(&path).unwrap());
    let _watch = verifier.watch(Duration::from_millis(20));
    // A different size guarantees the change is seen even within one mtime tick.
    std::fs::write(&path, format!("{DENY_ALL}\n# changed\n")).unwrap();
    let mut seen = false;
    for _ in 0..500 {
        if verifier.policy().rule_ids().any(|id| id == "none") {
            seen = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(seen, "the watcher did not reload the policy");
}

#[test]
fn the_committed_schema_is_current() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/policies/policy.schema.json"
    );
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let current = serde_json::to_value(policy_schema()).unwrap();
    assert_eq!(
        committed, current,
        "regenerate examples/policies/policy.schema.json (PREFLIGHT_WRITE_SCHEMA=1 cargo test -p preflight-rules --test engine -- --ignored)"
    );
    let properties = current["properties"].as_object().unwrap();
    assert!(properties.contains_key("rule") && properties.contains_key("environments"));
}

#[test]
#[ignore = "writes the schema file; run with PREFLIGHT_WRITE_SCHEMA=1 and --ignored"]
fn write_schema() {
    if std::env::var_os("PREFLIGHT_WRITE_SCHEMA").is_some() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/policies/policy.schema.json"
        );
        let text = serde_json::to_string_pretty(&policy_schema()).unwrap();
        std::fs::write(path, text + "\n").unwrap();
    }
}
