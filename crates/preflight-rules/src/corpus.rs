//! Evaluating a labelled corpus against any verifier.

use std::path::Path;

use preflight_core::corpus::{Case, Expect, load_cases};
use preflight_core::{Decision, Proposal, Verdict, Verifier};
use serde::Serialize;

use crate::error::RulesError;

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseResult {
    /// The case's id.
    pub id: String,
    /// Its line in the corpus file.
    pub line: usize,
    /// What it expected.
    pub expect: Expect,
    /// What the verifier decided (the fail-closed deny when it could not decide).
    pub decision: Decision,
    /// Whether the decision satisfies the expectation.
    pub passed: bool,
    /// The rules that decided.
    pub rules: Vec<String>,
    /// The verdict's one-line summary, or the verifier's error.
    pub summary: String,
}

/// The results of a corpus.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CorpusReport {
    /// One result per case, in order.
    pub cases: Vec<CaseResult>,
    /// How many passed.
    pub passed: usize,
    /// How many failed.
    pub failed: usize,
}

impl CorpusReport {
    /// The cases that failed.
    pub fn failures(&self) -> impl Iterator<Item = &CaseResult> {
        self.cases.iter().filter(|c| !c.passed)
    }
}

impl std::fmt::Display for CorpusReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for case in &self.cases {
            let mark = if case.passed { "ok  " } else { "FAIL" };
            writeln!(
                f,
                "{mark} {} (line {}): expected {}, got {} — {}",
                case.id, case.line, case.expect, case.decision, case.summary
            )?;
        }
        writeln!(
            f,
            "{} passed, {} failed, {} cases",
            self.passed,
            self.failed,
            self.cases.len()
        )
    }
}

/// Runs every case through `verifier` (a [`crate::PolicyVerifier`], a model-backed verifier,
/// a stack) and compares its decision with the expected one. The proposal carries no
/// inspection: the verifier inspects as it does in production. An error counts as the
/// fail-closed deny.
pub async fn evaluate_corpus<V: Verifier + ?Sized>(verifier: &V, cases: &[Case]) -> CorpusReport {
    let mut report = CorpusReport::default();
    for case in cases {
        let proposal = Proposal::new(case.action.clone());
        let (decision, rules, summary) = match verifier.verify(&proposal).await {
            Ok(verdict) => summarize(&verdict),
            Err(error) => (
                Decision::Deny,
                Vec::new(),
                format!("could not decide: {error}"),
            ),
        };
        let passed = case.expect.accepts(decision);
        if passed {
            report.passed += 1;
        } else {
            report.failed += 1;
        }
        report.cases.push(CaseResult {
            id: case.id.clone(),
            line: case.line,
            expect: case.expect,
            decision,
            passed,
            rules,
            summary,
        });
    }
    report
}

fn summarize(verdict: &Verdict) -> (Decision, Vec<String>, String) {
    let rules = verdict
        .deciding_rules()
        .into_iter()
        .map(String::from)
        .collect();
    (verdict.decision, rules, verdict.summary())
}

/// Reads the corpus file at `path` (JSON Lines, the format of `preflight_core::corpus`) and
/// evaluates it with [`evaluate_corpus`].
pub async fn evaluate_corpus_file<V: Verifier + ?Sized>(
    verifier: &V,
    path: &Path,
) -> Result<CorpusReport, RulesError> {
    let cases = load_cases(path).map_err(|e| RulesError::Corpus(e.to_string()))?;
    Ok(evaluate_corpus(verifier, &cases).await)
}
