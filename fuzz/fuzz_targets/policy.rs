#![no_main]
//! The policy loader must never panic: any text either loads or is an error naming a
//! position. A policy that loads can be linted, explained and evaluated, and its index
//! decides exactly as a scan of every rule does.

use libfuzzer_sys::fuzz_target;
use preflight_core::{Action, Effect, Inspection, Operation};
use preflight_rules::{Policy, RulesError, explain_inspected, lint, lint_str, run_policy_tests};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = lint_str(text, "fuzz.toml");
    match Policy::from_str(text, "fuzz.toml") {
        Ok(policy) => {
            let _ = lint(&policy);
            let _ = run_policy_tests(&policy);
            let Ok(action) = Action::from_json(r#"{"tool": "Bash", "input": {"n": 1}}"#) else {
                return;
            };
            let mut delete = Effect::new(Operation::Delete, "file:///workspace/app/src");
            delete.recursive = true;
            let mut prod = Effect::new(Operation::Update, "aws://prod/ec2/i-1");
            prod.environment = Some("prod".into());
            let inspection = Inspection {
                effects: vec![delete, prod, Effect::new(Operation::Read, "cmd://ls")],
                ..Inspection::default()
            };
            let indexed = policy.evaluate(&action, &inspection);
            let scanned = policy.evaluate_by_scan(&action, &inspection);
            assert_eq!(indexed.decision, scanned.decision);
            let _ = explain_inspected(&policy, &action, &inspection).to_string();
        }
        Err(RulesError::Invalid { origin, .. }) => assert_eq!(origin, "fuzz.toml"),
        Err(_) => {}
    }
});
