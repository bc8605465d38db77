//! The shared corpus, judged by the reference envelope `examples/policies/infra-bot.toml`.

// Tests may unwrap and panic, helpers included.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use preflight_core::corpus::load_cases;
use preflight_rules::{Policy, PolicyVerifier, evaluate_corpus, run_policy_tests};

fn corpus_path() -> PathBuf {
    std::env::var_os("PREFLIGHT_CORPUS").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../corpus/actions.jsonl"
            ))
        },
        PathBuf::from,
    )
}

fn policy_path() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/policies/infra-bot.toml"
    ))
}

#[test]
fn reference_envelope_loads_and_its_tests_pass() {
    let policy = Policy::from_file(policy_path()).unwrap();
    let report = run_policy_tests(&policy);
    for result in &report.results {
        assert!(result.passed, "{}: {}", result.name, result.message);
    }
    assert!(report.passed >= 5);
}

#[tokio::test]
async fn shared_corpus_against_the_reference_envelope() {
    let path = corpus_path();
    let cases = load_cases(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the corpus at {} (set PREFLIGHT_CORPUS): {e}",
            path.display()
        )
    });
    let verifier = PolicyVerifier::new(Policy::from_file(policy_path()).unwrap());
    let report = evaluate_corpus(&verifier, &cases).await;
    if std::env::var_os("PREFLIGHT_CORPUS_VERBOSE").is_some() {
        for case in &cases {
            let inspection = verifier.policy().inspect(&case.action);
            println!("{} expect {}:", case.id, case.expect);
            for effect in &inspection.effects {
                println!("    {}", serde_json::to_string(effect).unwrap());
            }
        }
    }
    println!("{report}");
    assert_eq!(report.cases.len(), cases.len());
    assert_eq!(report.passed + report.failed, cases.len());
    let failures: Vec<String> = report
        .failures()
        .map(|c| {
            format!(
                "{} (expected {}, got {}: {})",
                c.id, c.expect, c.decision, c.summary
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
