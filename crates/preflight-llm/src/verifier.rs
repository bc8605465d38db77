//! The LLM verifier and its builder.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use preflight_core::{
    Decision, Proposal, Reason, ReasonKind, Usage, Verdict, Verifier, VerifyError, async_trait,
};
use sha2::{Digest as _, Sha256};
use tracing::Instrument as _;
use tracing::field::Empty;

use crate::answer::ModelDecision;
use crate::cache::{CacheKey, VerdictCache};
use crate::error::{LlmError, config};
use crate::prompt::{Prompt, Templates, render_with_rules};
use crate::provider::{
    Provider, Reply, RequestSettings, StructuredOutput, endpoint_for, parse_reply, rejects_mode,
    request_body,
};
use crate::transport::{RetryPolicy, post_json};

/// The environment variable naming the provider: `openai` (any OpenAI-compatible server) or
/// `anthropic`.
pub const ENV_PROVIDER: &str = "PREFLIGHT_LLM_PROVIDER";
/// The environment variable holding the base URL (`http://localhost:11434/v1` for Ollama).
pub const ENV_BASE_URL: &str = "PREFLIGHT_LLM_BASE_URL";
/// The environment variable naming the model.
pub const ENV_MODEL: &str = "PREFLIGHT_LLM_MODEL";
/// The environment variable holding the API key.
pub const ENV_API_KEY: &str = "PREFLIGHT_LLM_API_KEY";
/// The environment variable holding the per-call deadline in milliseconds.
pub const ENV_DEADLINE_MS: &str = "PREFLIGHT_LLM_DEADLINE_MS";
/// The environment variable fixing how the verdict's structure is requested:
/// `json_schema`, `json_object`, `ollama`, `tool` or `none` (default: negotiated).
pub const ENV_STRUCTURED_OUTPUT: &str = "PREFLIGHT_LLM_STRUCTURED_OUTPUT";

/// Prices of a model, in US dollars per million tokens, for the cost estimate on verdicts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pricing {
    /// Dollars per million prompt tokens.
    pub input_per_million: f64,
    /// Dollars per million completion tokens.
    pub output_per_million: f64,
}

impl Pricing {
    fn cost(&self, input_tokens: u64, output_tokens: u64) -> f64 {
        (input_tokens as f64 * self.input_per_million
            + output_tokens as f64 * self.output_per_million)
            / 1_000_000.0
    }
}

/// Builds an [`LlmVerifier`]. Explicit settings win over the environment: [`from_env`]
/// fills only what is still unset.
///
/// [`from_env`]: LlmVerifierBuilder::from_env
#[derive(Clone)]
pub struct LlmVerifierBuilder {
    name: String,
    provider: Option<Provider>,
    base_url: Option<String>,
    model: Option<String>,
    api_key: Option<String>,
    envelope: Option<String>,
    policy_version: Option<String>,
    templates: Templates,
    deadline: Option<Duration>,
    retry: RetryPolicy,
    max_tokens: u32,
    temperature: Option<f64>,
    logprobs: bool,
    reasoning_model: bool,
    threshold: f64,
    samples: u32,
    agreement: f64,
    cache_ttl: Duration,
    cache_capacity: usize,
    pricing: Option<Pricing>,
    client: Option<reqwest::Client>,
    structured_output: Option<StructuredOutput>,
}

impl fmt::Debug for LlmVerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmVerifierBuilder")
            .field("name", &self.name)
            .field("provider", &self.provider)
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("policy_version", &self.policy_version)
            .field("deadline", &self.deadline)
            .field("threshold", &self.threshold)
            .field("samples", &self.samples)
            .field("structured_output", &self.structured_output)
            .finish_non_exhaustive()
    }
}

impl Default for LlmVerifierBuilder {
    fn default() -> Self {
        Self {
            name: "llm".into(),
            provider: None,
            base_url: None,
            model: None,
            api_key: None,
            envelope: None,
            policy_version: None,
            templates: Templates::default(),
            deadline: None,
            retry: RetryPolicy::default(),
            max_tokens: 1024,
            temperature: None,
            logprobs: false,
            reasoning_model: false,
            threshold: 0.7,
            samples: 1,
            agreement: 1.0,
            cache_ttl: Duration::from_secs(600),
            cache_capacity: 4096,
            pricing: None,
            client: None,
            structured_output: None,
        }
    }
}

impl LlmVerifierBuilder {
    /// A builder with the defaults: OpenAI-compatible, 30 s deadline, 4 retries, threshold
    /// 0.7, one sample, a 10-minute cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The verifier's name in verdicts (default `llm`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The wire format.
    pub fn provider(mut self, provider: Provider) -> Self {
        self.provider = Some(provider);
        self
    }

    /// The base URL: `https://api.openai.com/v1`, `http://localhost:11434/v1` (Ollama),
    /// `http://localhost:8000/v1` (vLLM), `https://api.anthropic.com`.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// The model.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// The API key (sent as a bearer token to OpenAI-compatible servers, as `x-api-key` to
    /// Anthropic). Never printed by `Debug`.
    pub fn api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = Some(api_key.into());
        self
    }

    /// The envelope the model judges against: the policy text or a description of the
    /// agent's design envelope. Required.
    pub fn envelope(mut self, envelope: impl Into<String>) -> Self {
        self.envelope = Some(envelope.into());
        self
    }

    /// The envelope's version, part of the cache key. Defaults to a digest of the envelope.
    pub fn policy_version(mut self, version: impl Into<String>) -> Self {
        self.policy_version = Some(version.into());
        self
    }

    /// Replaces the prompt templates.
    pub fn templates(mut self, templates: Templates) -> Self {
        self.templates = templates;
        self
    }

    /// The deadline of one verification, retries and samples included (default 30 s).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// How failed requests are retried within the deadline.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The most tokens the model may answer with (default 1024).
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = max_tokens;
        self
    }

    /// The sampling temperature (default 0 for one sample, 0.7 for several).
    pub fn temperature(mut self, temperature: f64) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Asks OpenAI-compatible servers for log-probabilities, so that the decision token's
    /// probability bounds the confidence (default off: some models refuse the parameter).
    pub fn logprobs(mut self, logprobs: bool) -> Self {
        self.logprobs = logprobs;
        self
    }

    /// For OpenAI reasoning models (o-series, GPT-5), which refuse sampling parameters: sends
    /// `max_completion_tokens` and no `temperature` or `logprobs` (default off).
    pub fn openai_reasoning_model(mut self, reasoning_model: bool) -> Self {
        self.reasoning_model = reasoning_model;
        self
    }

    /// An allow whose confidence is below `threshold` becomes an escalation (default 0.7).
    pub fn confidence_threshold(mut self, threshold: f64) -> Self {
        self.threshold = threshold;
        self
    }

    /// Self-consistency: asks `samples` times; the majority decides when at least
    /// `agreement` (0..=1, default 1 = unanimous) of the samples agree, otherwise the
    /// verdict is an escalation (a deny when the majority denies).
    pub fn self_consistency(mut self, samples: u32, agreement: f64) -> Self {
        self.samples = samples;
        self.agreement = agreement;
        self
    }

    /// How long a verdict is reused for the same action, policy version and model (default
    /// 10 minutes; zero disables the cache).
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// The model's prices, for the cost estimate on verdicts.
    pub fn pricing(mut self, pricing: Pricing) -> Self {
        self.pricing = Some(pricing);
        self
    }

    /// Fixes how the verdict's structure is requested, instead of negotiating it. A fixed
    /// mode the endpoint rejects fails every call (closed); a negotiated one moves on to the
    /// next mode once and remembers it (see [`StructuredOutput::negotiation_order`]).
    pub fn structured_output(mut self, mode: StructuredOutput) -> Self {
        self.structured_output = Some(mode);
        self
    }

    /// Uses this HTTP client instead of a new one.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Fills what is still unset from the process environment: [`ENV_PROVIDER`],
    /// [`ENV_BASE_URL`], [`ENV_MODEL`], [`ENV_API_KEY`], [`ENV_DEADLINE_MS`],
    /// [`ENV_STRUCTURED_OUTPUT`].
    pub fn from_env(self) -> Result<Self, LlmError> {
        self.from_lookup(|name| std::env::var(name).ok())
    }

    /// As [`from_env`](Self::from_env), reading variables through `lookup`.
    pub fn from_lookup(
        mut self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, LlmError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        if self.provider.is_none() {
            if let Some(text) = get(ENV_PROVIDER) {
                self.provider = Some(text.parse().map_err(|_| {
                    config(
                        ENV_PROVIDER,
                        format!("unknown provider `{text}`; expected openai or anthropic"),
                    )
                })?);
            }
        }
        if self.base_url.is_none() {
            self.base_url = get(ENV_BASE_URL);
        }
        if self.model.is_none() {
            self.model = get(ENV_MODEL);
        }
        if self.api_key.is_none() {
            self.api_key = get(ENV_API_KEY);
        }
        if self.structured_output.is_none() {
            if let Some(text) = get(ENV_STRUCTURED_OUTPUT) {
                self.structured_output = Some(
                    text.parse()
                        .map_err(|e: LlmError| config(ENV_STRUCTURED_OUTPUT, e.to_string()))?,
                );
            }
        }
        if self.deadline.is_none() {
            if let Some(text) = get(ENV_DEADLINE_MS) {
                let ms: u64 = text.trim().parse().map_err(|_| {
                    config(
                        ENV_DEADLINE_MS,
                        format!("`{text}` is not a number of milliseconds"),
                    )
                })?;
                self.deadline = Some(Duration::from_millis(ms));
            }
        }
        Ok(self)
    }

    /// Checks the settings and builds the verifier.
    pub fn build(self) -> Result<LlmVerifier, LlmError> {
        let provider = self.provider.unwrap_or_default();
        let model = self
            .model
            .filter(|m| !m.trim().is_empty())
            .ok_or_else(|| config("model", format!("no model given; set {ENV_MODEL}")))?;
        let envelope = self
            .envelope
            .filter(|e| !e.trim().is_empty())
            .ok_or_else(|| {
                config(
                    "envelope",
                    "no envelope given: the model needs the policy to judge against",
                )
            })?;
        let base_url = self
            .base_url
            .unwrap_or_else(|| provider.default_base_url().to_string());
        let parsed = reqwest::Url::parse(&base_url)
            .map_err(|e| config("base_url", format!("`{base_url}`: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(config(
                "base_url",
                format!("`{base_url}`: expected http or https"),
            ));
        }
        if !(0.0..=1.0).contains(&self.threshold) {
            return Err(config(
                "confidence_threshold",
                "must be a number from 0 to 1",
            ));
        }
        if self.samples == 0 || self.samples > 16 {
            return Err(config("samples", "must be from 1 to 16"));
        }
        if !(0.0..=1.0).contains(&self.agreement) {
            return Err(config("agreement", "must be a number from 0 to 1"));
        }
        if self.max_tokens == 0 {
            return Err(config("max_tokens", "must be positive"));
        }
        let deadline = self.deadline.unwrap_or(Duration::from_secs(30));
        if deadline.is_zero() {
            return Err(config("deadline", "must be positive"));
        }
        if let Some(mode) = self.structured_output {
            if !mode.supported_by(provider) {
                return Err(config(
                    "structured_output",
                    format!("{provider} endpoints cannot be asked for `{mode}`"),
                ));
            }
        }
        let modes: Vec<StructuredOutput> = match self.structured_output {
            Some(mode) => vec![mode],
            None => StructuredOutput::negotiation_order(provider).to_vec(),
        };
        let policy_version = self.policy_version.unwrap_or_else(|| {
            let digest = Sha256::digest(envelope.as_bytes());
            format!("sha256:{}", preflight_core::to_hex(&digest[..8]))
        });
        let client = match self.client {
            Some(client) => client,
            None => {
                install_crypto_provider();
                reqwest::Client::builder()
                    .connect_timeout(deadline)
                    .build()
                    .map_err(|e| config("http_client", e.to_string()))?
            }
        };
        let mut headers = Vec::new();
        match provider {
            Provider::OpenAi => {
                if let Some(key) = &self.api_key {
                    headers.push(("authorization".to_string(), format!("Bearer {key}")));
                }
            }
            Provider::Anthropic => {
                if let Some(key) = &self.api_key {
                    headers.push(("x-api-key".to_string(), key.clone()));
                }
                headers.push(("anthropic-version".to_string(), "2023-06-01".to_string()));
            }
        }
        let temperature = self
            .temperature
            .unwrap_or(if self.samples > 1 { 0.7 } else { 0.0 });
        Ok(LlmVerifier {
            inner: Arc::new(Inner {
                name: self.name,
                provider,
                endpoint: provider.endpoint(&base_url),
                base_url,
                modes,
                mode_index: AtomicUsize::new(0),
                model,
                headers,
                envelope,
                policy_version,
                templates: self.templates,
                deadline,
                retry: self.retry,
                max_tokens: self.max_tokens,
                temperature,
                logprobs: self.logprobs,
                reasoning_model: self.reasoning_model,
                threshold: self.threshold,
                samples: self.samples,
                agreement: self.agreement,
                cache: VerdictCache::new(self.cache_ttl, self.cache_capacity),
                pricing: self.pricing,
                client,
            }),
        })
    }
}

/// Whether inspection derived a wider blast radius than the agent declared.
fn under_declared(proposal: &Proposal) -> bool {
    match (&proposal.inspection, &proposal.action.declared.blast_radius) {
        (Some(inspection), Some(declared)) => inspection.blast_radius.exceeds(declared),
        _ => false,
    }
}

/// Makes ring the process's TLS crypto provider unless one is installed already.
fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // An error means another thread installed one first, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// The LLM-backed verifier: the tier that runs after the rules, in a
/// [`preflight_core::Stack`], on what they leave open.
///
/// It never abstains and never allows on failure: a transport error, a timeout, a refusal, a
/// truncated or malformed answer is an `Err` (which every caller treats as the fail-closed
/// verdict). Cheap to clone; clones share the cache and the HTTP client.
#[derive(Clone)]
pub struct LlmVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    provider: Provider,
    endpoint: String,
    base_url: String,
    /// The structured-output modes to use, in order; one when configured.
    modes: Vec<StructuredOutput>,
    /// The mode in use: an index into `modes` that only moves forward, once per rejection,
    /// and is shared by every clone for the verifier's lifetime.
    mode_index: AtomicUsize,
    model: String,
    headers: Vec<(String, String)>,
    envelope: String,
    policy_version: String,
    templates: Templates,
    deadline: Duration,
    retry: RetryPolicy,
    max_tokens: u32,
    temperature: f64,
    logprobs: bool,
    reasoning_model: bool,
    threshold: f64,
    samples: u32,
    agreement: f64,
    cache: VerdictCache,
    pricing: Option<Pricing>,
    client: reqwest::Client,
}

impl fmt::Debug for LlmVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmVerifier")
            .field("name", &self.inner.name)
            .field("provider", &self.inner.provider)
            .field("endpoint", &self.inner.endpoint)
            .field("model", &self.inner.model)
            .field("policy_version", &self.inner.policy_version)
            .finish_non_exhaustive()
    }
}

/// One sample's vote.
struct Vote {
    decision: ModelDecision,
    confidence: f64,
    reply: Reply,
}

impl LlmVerifier {
    /// A builder.
    pub fn builder() -> LlmVerifierBuilder {
        LlmVerifierBuilder::new()
    }

    /// The model judging.
    pub fn model(&self) -> &str {
        &self.inner.model
    }

    /// The envelope's version.
    pub fn policy_version(&self) -> &str {
        &self.inner.policy_version
    }

    /// The endpoint requests go to (in the structured-output mode in use).
    pub fn endpoint(&self) -> String {
        endpoint_for(
            self.inner.provider,
            self.structured_output(),
            &self.inner.base_url,
        )
    }

    /// How the verdict's structure is requested now: the configured mode, or the one
    /// negotiation has reached.
    pub fn structured_output(&self) -> StructuredOutput {
        let index = self.inner.mode_index.load(Ordering::Acquire);
        self.inner
            .modes
            .get(index)
            .or(self.inner.modes.last())
            .copied()
            .unwrap_or(StructuredOutput::None)
    }

    /// The prompt this verifier would send for `proposal` (with a fresh boundary).
    pub fn prompt(&self, proposal: &Proposal) -> Result<Prompt, LlmError> {
        self.prompt_with(proposal, None)
    }

    /// The prompt for `proposal` with the rules tier's verdict in the data block.
    pub fn prompt_with(
        &self,
        proposal: &Proposal,
        rules: Option<&Verdict>,
    ) -> Result<Prompt, LlmError> {
        render_with_rules(
            &self.inner.templates,
            &self.inner.envelope,
            &self.inner.policy_version,
            proposal,
            rules,
        )
    }

    /// Judges `proposal`, returning this crate's error on failure. [`Verifier::verify`] calls
    /// this and converts the error.
    pub async fn judge(&self, proposal: &Proposal) -> Result<Verdict, LlmError> {
        self.judge_with_rules(proposal, None).await
    }

    /// Judges `proposal` knowing what the rules tier found (`rules`, its verdict): the model
    /// sees which rules matched and which effects none covered.
    pub async fn judge_with_rules(
        &self,
        proposal: &Proposal,
        rules: Option<&Verdict>,
    ) -> Result<Verdict, LlmError> {
        let inner = &self.inner;
        let span = tracing::info_span!(
            "preflight_llm.verify",
            verifier = %inner.name,
            provider = %inner.provider,
            model = %inner.model,
            action = %proposal.digest,
            cached = Empty,
            decision = Empty,
            confidence = Empty,
            input_tokens = Empty,
            output_tokens = Empty,
            cost_usd = Empty,
            latency_us = Empty,
            attempts = Empty,
            error = Empty,
        );
        let started = std::time::Instant::now();
        let result = self
            .judge_uncached(proposal, rules, started, &span)
            .instrument(span.clone())
            .await;
        match &result {
            Ok(verdict) => {
                span.record("decision", verdict.decision.as_str());
                if let Some(confidence) = verdict.confidence {
                    span.record("confidence", confidence);
                }
                if let Some(usage) = &verdict.usage {
                    span.record("input_tokens", usage.input_tokens);
                    span.record("output_tokens", usage.output_tokens);
                    if let Some(cost) = usage.cost_usd {
                        span.record("cost_usd", cost);
                    }
                }
            }
            Err(error) => {
                span.record("error", tracing::field::display(error));
            }
        }
        span.record(
            "latency_us",
            u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        );
        result
    }

    async fn judge_uncached(
        &self,
        proposal: &Proposal,
        rules: Option<&Verdict>,
        started: std::time::Instant,
        span: &tracing::Span,
    ) -> Result<Verdict, LlmError> {
        let inner = &self.inner;
        let key = CacheKey {
            digest: proposal.digest,
            policy_version: inner.policy_version.clone(),
            model: inner.model.clone(),
        };
        if let Some(mut verdict) = inner.cache.get(&key) {
            span.record("cached", true);
            verdict.usage = Some(Usage::default());
            for reason in &mut verdict.reasons {
                if reason.kind == ReasonKind::Model && !reason.message.ends_with("(cached)") {
                    reason.message.push_str(" (cached)");
                }
            }
            return Ok(verdict.with_latency(started.elapsed()));
        }
        span.record("cached", false);
        let prompt = self.prompt_with(proposal, rules)?;
        let deadline = tokio::time::Instant::now() + inner.deadline;
        let deadline_ms = u64::try_from(inner.deadline.as_millis()).unwrap_or(u64::MAX);
        let mut votes = Vec::new();
        let mut attempts = 0;
        for _ in 0..inner.samples {
            let (mode, delivered) = self
                .post_negotiated(&prompt, deadline, deadline_ms, &mut attempts)
                .await;
            span.record("attempts", attempts);
            let delivered = delivered?;
            let reply = parse_reply(inner.provider, mode, &delivered.body)?;
            let stated = reply.answer.confidence;
            let confidence = match reply.decision_probability {
                Some(probability) => stated.min(probability),
                None => stated,
            };
            votes.push(Vote {
                decision: reply.answer.decision,
                confidence,
                reply,
            });
        }
        let mut verdict = self.combine(votes);
        if verdict.decision == Decision::Allow && under_declared(proposal) {
            verdict.decision = Decision::Escalate;
            verdict.reasons.insert(
                0,
                Reason {
                    kind: ReasonKind::Declaration,
                    verifier: inner.name.clone(),
                    rule: None,
                    decision: Decision::Escalate,
                    message: "the derived blast radius exceeds the one the agent declared".into(),
                },
            );
        }
        let verdict = verdict.with_latency(started.elapsed());
        inner.cache.insert(key, verdict.clone());
        Ok(verdict)
    }

    /// Posts the prompt in the mode in use. When the endpoint rejects that mode and it was
    /// negotiated (not configured), moves on to the next mode for good and posts again, within
    /// the same deadline.
    async fn post_negotiated(
        &self,
        prompt: &Prompt,
        deadline: tokio::time::Instant,
        deadline_ms: u64,
        attempts: &mut u32,
    ) -> (
        StructuredOutput,
        Result<crate::transport::Delivered, LlmError>,
    ) {
        let inner = &self.inner;
        loop {
            let index = inner.mode_index.load(Ordering::Acquire);
            let mode = inner
                .modes
                .get(index)
                .copied()
                .unwrap_or(StructuredOutput::None);
            let settings = RequestSettings {
                model: &inner.model,
                max_tokens: inner.max_tokens,
                temperature: inner.temperature,
                logprobs: inner.logprobs && inner.provider == Provider::OpenAi,
                reasoning_model: inner.reasoning_model,
                mode,
            };
            let body = request_body(inner.provider, prompt, &settings);
            let endpoint = endpoint_for(inner.provider, mode, &inner.base_url);
            let delivered = post_json(
                &inner.client,
                &endpoint,
                &inner.headers,
                &body,
                deadline,
                deadline_ms,
                &inner.retry,
                &|status, body| rejects_mode(mode, status, body),
            )
            .await;
            *attempts += match &delivered {
                Ok(delivered) => delivered.attempts,
                Err(LlmError::Deadline { attempts, .. }) => *attempts,
                Err(_) => 1,
            };
            if let Err(LlmError::Status { status, body, .. }) = &delivered {
                let next = index + 1;
                if next < inner.modes.len() && rejects_mode(mode, *status, body) {
                    // Only the caller that saw this mode rejected moves on; a concurrent one
                    // that already did is not skipped past.
                    let _ = inner.mode_index.compare_exchange(
                        index,
                        next,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    );
                    tracing::info!(
                        endpoint = %endpoint,
                        rejected = %mode,
                        next = %inner.modes[next],
                        "the endpoint rejects this structured output; using the next one from now on"
                    );
                    continue;
                }
            }
            return (mode, delivered);
        }
    }

    fn combine(&self, votes: Vec<Vote>) -> Verdict {
        let inner = &self.inner;
        let total = votes.len().max(1);
        let count = |d: ModelDecision| votes.iter().filter(|v| v.decision == d).count();
        // The most votes win; a tie goes to the stricter decision.
        let majority = [
            ModelDecision::Allow,
            ModelDecision::Escalate,
            ModelDecision::Deny,
        ]
        .into_iter()
        .max_by_key(|d| (count(*d), Decision::from(*d)))
        .unwrap_or(ModelDecision::Escalate);
        let agreeing: Vec<&Vote> = votes.iter().filter(|v| v.decision == majority).collect();
        let agreement = agreeing.len() as f64 / total as f64;
        let mean =
            agreeing.iter().map(|v| v.confidence).sum::<f64>() / agreeing.len().max(1) as f64;
        let confidence = (mean * agreement).clamp(0.0, 1.0);
        let model_decision = Decision::from(majority);
        let mut reasons = Vec::new();
        let mut decision = model_decision;
        if agreement + f64::EPSILON < inner.agreement {
            decision = model_decision.max(Decision::Escalate);
            let tally = [
                ModelDecision::Allow,
                ModelDecision::Escalate,
                ModelDecision::Deny,
            ]
            .into_iter()
            .filter(|d| count(*d) > 0)
            .map(|d| format!("{} {}", count(d), Decision::from(d)))
            .collect::<Vec<_>>()
            .join(", ");
            reasons.push(Reason {
                kind: ReasonKind::Model,
                verifier: inner.name.clone(),
                rule: None,
                decision,
                message: format!("the model's {total} samples disagree ({tally})"),
            });
        }
        if decision == Decision::Allow && confidence < inner.threshold {
            decision = Decision::Escalate;
            reasons.push(Reason {
                kind: ReasonKind::Model,
                verifier: inner.name.clone(),
                rule: None,
                decision,
                message: format!(
                    "the model's confidence {confidence:.2} is below the threshold {:.2}",
                    inner.threshold
                ),
            });
        }
        let lead = agreeing.first().map(|v| &v.reply.answer);
        if let Some(answer) = lead {
            reasons.push(Reason {
                kind: ReasonKind::Model,
                verifier: inner.name.clone(),
                rule: None,
                decision: model_decision,
                message: answer.reason.trim().to_string(),
            });
        }
        let input_tokens = votes.iter().map(|v| v.reply.input_tokens).sum();
        let output_tokens = votes.iter().map(|v| v.reply.output_tokens).sum();
        let usage = Usage {
            input_tokens,
            output_tokens,
            cost_usd: inner.pricing.map(|p| p.cost(input_tokens, output_tokens)),
        };
        let suggestion = lead
            .map(|a| a.suggestion.trim().to_string())
            .filter(|s| !s.is_empty() && decision != Decision::Allow);
        let mut verdict = Verdict::new(decision, inner.name.clone(), "");
        verdict.reasons = reasons;
        verdict.confidence = Some(confidence);
        verdict.suggestion = suggestion;
        verdict.usage = Some(usage);
        verdict
    }
}

#[async_trait]
impl Verifier for LlmVerifier {
    fn name(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.inner.name)
    }

    async fn verify(&self, proposal: &Proposal) -> Result<Verdict, VerifyError> {
        self.judge(proposal)
            .await
            .map_err(|e| e.into_verify_error(&self.inner.name))
    }
}
