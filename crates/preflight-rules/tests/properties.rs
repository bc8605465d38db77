//! Laws of the engine, on random policies and actions.

// Tests may unwrap and panic, helpers included.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use preflight_core::{Action, Decision, Effect, Inspection, Operation};
use preflight_inspect::{EnvironmentMarkers, Environments};
use preflight_rules::{Policy, PolicyFile, RuleEffect, RuleSpec};
use proptest::prelude::*;
use proptest::sample::subsequence;

const TOOLS: [&str; 4] = ["Bash", "Read", "aws.api", "mcp__fs__read"];
const TOOL_PATTERNS: [&str; 5] = ["Bash", "Read", "aws.api", "mcp__fs__*", "*"];
const RESOURCES: [&str; 7] = [
    "file:///a",
    "file:///a/b",
    "file:///a/q/c",
    "file:///z/x",
    "aws://prod/db",
    "aws://dev/db/1",
    "cmd://rm",
];
const RESOURCE_PATTERNS: [&str; 8] = [
    "file:///a/**",
    "file:///a/b",
    "file:///a/*/c",
    "**/x",
    "aws://prod/**",
    "aws://**",
    "cmd://*",
    "file:///**",
];
const ENVIRONMENTS: [&str; 3] = ["prod", "dev", "unknown"];
const CONDITIONS: [&str; 3] = ["input.n > 3", "effect.recursive", "input.missing == 1"];

fn operation() -> impl Strategy<Value = Operation> {
    prop::sample::select(Operation::ALL.to_vec())
}

fn flag() -> impl Strategy<Value = Option<bool>> {
    prop_oneof![Just(None), Just(Some(true)), Just(Some(false))]
}

fn strings(options: &'static [&'static str], max: usize) -> impl Strategy<Value = Vec<String>> {
    subsequence(options, 0..=max).prop_map(|v| v.into_iter().map(String::from).collect())
}

fn effect_kind() -> impl Strategy<Value = RuleEffect> {
    prop_oneof![
        Just(RuleEffect::Allow),
        Just(RuleEffect::Escalate),
        Just(RuleEffect::Deny)
    ]
}

fn rule() -> impl Strategy<Value = RuleSpec> {
    (
        effect_kind(),
        strings(&TOOL_PATTERNS, 2),
        prop::collection::vec(operation(), 0..3),
        strings(&RESOURCE_PATTERNS, 2),
        strings(&RESOURCE_PATTERNS, 1),
        strings(&ENVIRONMENTS, 2),
        prop::option::of(Just("secret".to_string())),
        (
            flag(),
            flag(),
            prop::option::of(prop::sample::select(CONDITIONS.to_vec())),
        ),
        any::<bool>(),
    )
        .prop_map(
            |(
                effect,
                tools,
                operations,
                resources,
                except,
                environments,
                tag,
                (recursive, forced, condition),
                attr,
            )| {
                let mut attributes = BTreeMap::new();
                if attr {
                    attributes.insert("branch".to_string(), "{main,master}".to_string());
                }
                RuleSpec {
                    id: String::new(),
                    effect,
                    tools,
                    operations,
                    resources,
                    except_resources: except,
                    environments,
                    tags: tag.into_iter().collect(),
                    attributes,
                    recursive,
                    forced,
                    condition: condition.map(String::from),
                    ..RuleSpec::default()
                }
            },
        )
}

fn rules() -> impl Strategy<Value = Vec<RuleSpec>> {
    prop::collection::vec(rule(), 0..12).prop_map(|mut rules| {
        for (i, rule) in rules.iter_mut().enumerate() {
            rule.id = format!("r{i}");
        }
        rules
    })
}

fn environments() -> Environments {
    let mut environments = BTreeMap::new();
    for name in ["prod", "dev"] {
        environments.insert(
            name.to_string(),
            EnvironmentMarkers {
                aws_profiles: vec![name.to_string()],
                ..EnvironmentMarkers::default()
            },
        );
    }
    Environments { environments }
}

fn compile(rules: Vec<RuleSpec>, default: RuleEffect) -> Policy {
    let file = PolicyFile {
        version: 1,
        default,
        unknown_environment: RuleEffect::Escalate,
        environments: environments(),
        rules,
        ..PolicyFile::default()
    };
    Policy::from_parts(file, "", "generated").unwrap()
}

fn an_effect() -> impl Strategy<Value = Effect> {
    (
        operation(),
        prop::sample::select(RESOURCES.to_vec()),
        prop::option::of(prop::sample::select(vec!["prod", "dev", "qa"])),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::option::of(prop::sample::select(vec!["main", "feature"])),
    )
        .prop_map(
            |(operation, resource, environment, recursive, forced, secret, branch)| {
                let mut effect = Effect::new(operation, resource);
                effect.environment = environment.map(String::from);
                effect.recursive = recursive;
                effect.forced = forced;
                if secret {
                    effect.tags.push("secret".into());
                }
                if let Some(branch) = branch {
                    effect.attributes.insert("branch".into(), branch.into());
                }
                effect
            },
        )
}

fn action_and_inspection() -> impl Strategy<Value = (Action, Inspection)> {
    (
        prop::sample::select(TOOLS.to_vec()),
        0..6i64,
        prop::option::of(prop::sample::select(vec!["prod", "dev"])),
        prop::collection::vec(an_effect(), 0..4),
    )
        .prop_map(|(tool, n, declared, effects)| {
            let mut value = serde_json::json!({"tool": tool, "input": {"n": n}});
            if let Some(env) = declared {
                value["declared"] = serde_json::json!({"environment": env});
            }
            let action = Action::from_value(value).unwrap();
            (
                action,
                Inspection {
                    effects,
                    ..Inspection::default()
                },
            )
        })
}

fn default_effect() -> impl Strategy<Value = RuleEffect> {
    effect_kind()
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids.dedup();
    ids
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The index is an optimisation: it decides exactly as checking every rule does.
    #[test]
    fn indexed_evaluation_equals_a_linear_scan(
        rules in rules(),
        default in default_effect(),
        (action, inspection) in action_and_inspection(),
    ) {
        let policy = compile(rules, default);
        let indexed = policy.evaluate(&action, &inspection);
        let scanned = policy.evaluate_by_scan(&action, &inspection);
        prop_assert_eq!(indexed.decision, scanned.decision);
        let by_index: Vec<String> = indexed.deciding_rules().into_iter().map(String::from).collect();
        let by_scan: Vec<String> = scanned.deciding_rules().into_iter().map(String::from).collect();
        prop_assert_eq!(sorted(by_index), sorted(by_scan));
        prop_assert_eq!(policy.decide(&action, &inspection), indexed.decision);
    }

    /// Adding a deny rule never makes a decision weaker (so never turns a deny into an allow).
    #[test]
    fn adding_a_deny_rule_never_weakens_a_decision(
        rules in rules(),
        extra in rule(),
        default in default_effect(),
        (action, inspection) in action_and_inspection(),
    ) {
        let before = compile(rules.clone(), default).decide(&action, &inspection);
        let mut more = rules;
        more.push(RuleSpec { id: "extra-deny".into(), effect: RuleEffect::Deny, ..extra });
        let after = compile(more, default).decide(&action, &inspection);
        prop_assert!(after >= before, "{before:?} became {after:?}");
        if before == Decision::Deny {
            prop_assert_eq!(after, Decision::Deny);
        }
    }

    /// The order of the rules in the file never changes a decision.
    #[test]
    fn rule_order_never_changes_a_decision(
        rules in rules(),
        default in default_effect(),
        seed in any::<u64>(),
        (action, inspection) in action_and_inspection(),
    ) {
        let before = compile(rules.clone(), default).evaluate(&action, &inspection);
        let mut shuffled = rules;
        let len = shuffled.len();
        let mut state = seed;
        for i in (1..len).rev() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let j = usize::try_from(state >> 33).unwrap() % (i + 1);
            shuffled.swap(i, j);
        }
        let after = compile(shuffled, default).evaluate(&action, &inspection);
        prop_assert_eq!(before.decision, after.decision);
        let a: Vec<String> = before.deciding_rules().into_iter().map(String::from).collect();
        let b: Vec<String> = after.deciding_rules().into_iter().map(String::from).collect();
        prop_assert_eq!(sorted(a), sorted(b));
    }

    /// Shadow rules are reported but never change a decision.
    #[test]
    fn shadow_rules_never_change_a_decision(
        rules in rules(),
        shadows in prop::collection::vec(rule(), 1..5),
        default in default_effect(),
        (action, inspection) in action_and_inspection(),
    ) {
        let before = compile(rules.clone(), default).evaluate(&action, &inspection);
        let mut more = rules;
        for (i, rule) in shadows.into_iter().enumerate() {
            more.push(RuleSpec { id: format!("shadow{i}"), shadow: true, ..rule });
        }
        let after = compile(more, default).evaluate(&action, &inspection);
        prop_assert_eq!(before.decision, after.decision);
        prop_assert_eq!(before.deciding_rules(), after.deciding_rules());
    }
}
