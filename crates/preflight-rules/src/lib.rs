#![doc = include_str!("../README.md")]

mod condition;
mod corpus;
mod error;
mod eval;
mod extends;
mod file;
mod lint;
pub mod packs;
mod pattern;
mod places;
mod policy;
mod position;
mod tests;
mod verifier;

pub use corpus::{CaseResult, CorpusReport, evaluate_corpus, evaluate_corpus_file};
pub use error::RulesError;
pub use eval::{
    EffectCheck, Explanation, RuleTrace, UNKNOWN_ENVIRONMENT_RULE, explain, explain_inspected,
};
pub use file::{AgentEnvelope, FleetLimit, PolicyFile, PolicyTest, RuleEffect, RuleSpec};
pub use lint::{Finding, Severity, lint, lint_file, lint_str};
pub use policy::{Policy, parse};
pub use tests::{TestReport, TestResult, run_policy_tests};
pub use verifier::{PolicyVerifier, ReloadingVerifier, WatchHandle};

/// The JSON Schema of policy files, for editors and validators.
pub fn policy_schema() -> schemars::Schema {
    schemars::schema_for!(PolicyFile)
}
