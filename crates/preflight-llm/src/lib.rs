#![doc = include_str!("../README.md")]

mod answer;
mod cache;
mod error;
pub mod eval;
mod judged;
pub mod prompt;
mod provider;
mod transport;
mod verifier;

pub use answer::{
    ModelAnswer, ModelDecision, TokenLogprob, answer_schema, decision_token_probability,
};
pub use cache::{CacheKey, VerdictCache};
pub use error::LlmError;
pub use judged::{JudgeStats, RulesThenJudge};
pub use prompt::{Prompt, Templates};
pub use provider::{Provider, StructuredOutput, VERDICT_TOOL};
pub use transport::RetryPolicy;
pub use verifier::{
    ENV_API_KEY, ENV_BASE_URL, ENV_DEADLINE_MS, ENV_MODEL, ENV_PROVIDER, ENV_STRUCTURED_OUTPUT,
    LlmVerifier, LlmVerifierBuilder, Pricing,
};
