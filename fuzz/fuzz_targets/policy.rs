#![no_main]
//! The policy loader must never panic: any text either loads or is an error naming its
//! origin, a field and a position inside the text. A policy that loads can be linted,
//! explained and evaluated, and on a fixed action and on each of its own tests:
//!
//! - its index decides exactly as a scan of every rule does, and `decide` as `evaluate`;
//! - the order of its rules never changes a decision;
//! - in shadow mode it abstains.

use libfuzzer_sys::fuzz_target;
use preflight_core::{Action, Decision, Effect, Inspection, Operation};
use preflight_rules::{
    Policy, RulesError, explain_inspected, lint, lint_str, parse, run_policy_tests,
};

const ORIGIN: &str = "fuzz.toml";

fn fixed_case() -> Option<(Action, Inspection)> {
    let action = Action::from_json(r#"{"tool": "Bash", "input": {"n": 1}}"#).ok()?;
    let mut delete = Effect::new(Operation::Delete, "file:///workspace/app/src");
    delete.recursive = true;
    let mut prod = Effect::new(Operation::Update, "aws://prod/ec2/i-1");
    prod.environment = Some("prod".into());
    let inspection = Inspection {
        effects: vec![delete, prod, Effect::new(Operation::Read, "cmd://ls")],
        ..Inspection::default()
    };
    Some((action, inspection))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = lint_str(text, ORIGIN);
    match Policy::from_str(text, ORIGIN) {
        Ok(policy) => {
            let _ = lint(&policy);
            let _ = run_policy_tests(&policy);
            // The same rules in the opposite order.
            let Ok(mut file) = parse(text, ORIGIN) else {
                panic!("a policy that loads does not parse");
            };
            file.rules.reverse();
            let reversed = match Policy::from_parts(file, text, ORIGIN) {
                Ok(reversed) => reversed,
                Err(error) => panic!("the rules reversed do not compile: {error}"),
            };
            let mut cases: Vec<(Action, Inspection)> = fixed_case().into_iter().collect();
            for test in &policy.file().tests {
                let inspection = match &test.inspection {
                    Some(inspection) => inspection.clone(),
                    None => policy.inspect(&test.action),
                };
                cases.push((test.action.clone(), inspection));
            }
            for (action, inspection) in &cases {
                let indexed = policy.evaluate(action, inspection);
                let scanned = policy.evaluate_by_scan(action, inspection);
                assert_eq!(indexed.decision, scanned.decision, "index and scan differ");
                let decided = policy.decide(action, inspection);
                if !policy.file().shadow {
                    assert_eq!(decided, indexed.decision, "decide and evaluate differ");
                } else {
                    assert_eq!(indexed.decision, Decision::Abstain, "shadow policy decided");
                }
                let other = reversed.evaluate(action, inspection);
                assert_eq!(indexed.decision, other.decision, "rule order matters");
                let _ = explain_inspected(&policy, action, inspection).to_string();
            }
        }
        Err(RulesError::Invalid {
            origin,
            line,
            field,
            message,
            ..
        }) => {
            assert_eq!(origin, ORIGIN);
            assert!(!field.is_empty(), "no field: {message}");
            assert!(!message.is_empty(), "no message for {field}");
            assert!(
                line <= text.split('\n').count(),
                "line {line} is past the end ({field}: {message})"
            );
        }
        Err(_) => {}
    }
});
