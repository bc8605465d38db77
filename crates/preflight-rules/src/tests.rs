//! Policy tests: cases embedded in the policy file, checked like `opa test`.

use preflight_core::{Decision, corpus::Expect};
use serde::Serialize;

use crate::policy::Policy;

/// The result of one policy test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestResult {
    /// The test's name.
    pub name: String,
    /// Line of the test in the policy file (0 when unknown).
    pub line: usize,
    /// What it expected.
    pub expect: Expect,
    /// What the policy decided.
    pub decision: Decision,
    /// The rules that decided.
    pub rules: Vec<String>,
    /// Whether the decision (and the deciding rules, when the test names some) was right.
    pub passed: bool,
    /// The verdict's summary, or what was wrong.
    pub message: String,
}

/// The results of a policy's tests.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TestReport {
    /// One result per test, in file order.
    pub results: Vec<TestResult>,
    /// How many passed.
    pub passed: usize,
    /// How many failed.
    pub failed: usize,
}

/// Runs the tests embedded in `policy`. A test that gives an inspection is judged on it;
/// otherwise the policy's inspector derives one.
pub fn run_policy_tests(policy: &Policy) -> TestReport {
    let mut report = TestReport::default();
    for (i, test) in policy.file.tests.iter().enumerate() {
        let inspection = match &test.inspection {
            Some(inspection) => inspection.clone(),
            None => policy.inspect(&test.action),
        };
        let verdict = policy.evaluate(&test.action, &inspection);
        let rules: Vec<String> = verdict
            .deciding_rules()
            .into_iter()
            .map(String::from)
            .collect();
        let missing: Vec<&str> = test
            .rules
            .iter()
            .filter(|r| !rules.contains(r))
            .map(String::as_str)
            .collect();
        let right = test.expect.accepts(verdict.decision);
        let passed = right && missing.is_empty();
        let message = if !right {
            format!("expected {}, got {}", test.expect, verdict.summary())
        } else if !missing.is_empty() {
            format!(
                "rules {} did not decide; {}",
                missing.join(", "),
                verdict.summary()
            )
        } else {
            verdict.summary()
        };
        let line = policy
            .positions
            .tests
            .get(i)
            .map_or(0, |&at| crate::position::line_column(&policy.text, at).0);
        if passed {
            report.passed += 1;
        } else {
            report.failed += 1;
        }
        report.results.push(TestResult {
            name: test.name.clone(),
            line,
            expect: test.expect,
            decision: verdict.decision,
            rules,
            passed,
            message,
        });
    }
    report
}
