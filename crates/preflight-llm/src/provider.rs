//! The wire formats: OpenAI-compatible Chat Completions and Anthropic Messages.

use std::fmt;
use std::str::FromStr;

use serde_json::{Value, json};

use crate::answer::{
    ModelAnswer, TokenLogprob, answer_schema, decision_token_probability, excerpt,
};
use crate::error::{LlmError, config};
use crate::prompt::Prompt;

/// The name of the structured output (OpenAI) and of the forced tool (Anthropic).
pub const VERDICT_TOOL: &str = "record_verdict";

/// Which wire format an endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Provider {
    /// OpenAI Chat Completions and the servers compatible with it (vLLM, Ollama, llama.cpp
    /// server, LM Studio). The verdict is requested as `response_format` `json_schema`.
    #[default]
    OpenAi,
    /// Anthropic Messages. The verdict is requested as a forced tool call.
    Anthropic,
}

impl Provider {
    /// The base URL used when none is configured.
    pub fn default_base_url(self) -> &'static str {
        match self {
            Provider::OpenAi => "https://api.openai.com/v1",
            Provider::Anthropic => "https://api.anthropic.com",
        }
    }

    /// The endpoint for `base_url`.
    pub fn endpoint(self, base_url: &str) -> String {
        let base = base_url.trim_end_matches('/');
        match self {
            Provider::OpenAi => format!("{base}/chat/completions"),
            Provider::Anthropic => format!("{base}/v1/messages"),
        }
    }

    /// The name used in configuration: `openai` or `anthropic`.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::Anthropic => "anthropic",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Provider {
    type Err = LlmError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "openai" | "openai-compatible" | "vllm" | "ollama" => Ok(Provider::OpenAi),
            "anthropic" => Ok(Provider::Anthropic),
            other => Err(config(
                "provider",
                format!("unknown provider `{other}`; expected openai or anthropic"),
            )),
        }
    }
}

/// Settings of one request.
#[derive(Debug, Clone)]
pub(crate) struct RequestSettings<'a> {
    pub model: &'a str,
    pub max_tokens: u32,
    pub temperature: f64,
    pub logprobs: bool,
    /// OpenAI reasoning models: `max_completion_tokens`, and no temperature or logprobs.
    pub reasoning_model: bool,
}

/// The JSON body of one request.
pub(crate) fn request_body(
    provider: Provider,
    prompt: &Prompt,
    settings: &RequestSettings<'_>,
) -> Value {
    let schema = answer_schema();
    match provider {
        Provider::OpenAi => {
            let mut body = json!({
                "model": settings.model,
                "messages": [
                    { "role": "system", "content": prompt.system },
                    { "role": "user", "content": prompt.user },
                ],
                "temperature": settings.temperature,
                "max_tokens": settings.max_tokens,
                "response_format": {
                    "type": "json_schema",
                    "json_schema": { "name": VERDICT_TOOL, "strict": true, "schema": schema },
                },
            });
            if settings.reasoning_model {
                if let Value::Object(map) = &mut body {
                    map.remove("temperature");
                    map.remove("max_tokens");
                    map.insert("max_completion_tokens".into(), settings.max_tokens.into());
                }
            } else if settings.logprobs {
                body["logprobs"] = Value::Bool(true);
            }
            body
        }
        Provider::Anthropic => json!({
            "model": settings.model,
            "max_tokens": settings.max_tokens,
            "temperature": settings.temperature,
            "system": prompt.system,
            "messages": [ { "role": "user", "content": prompt.user } ],
            "tools": [ {
                "name": VERDICT_TOOL,
                "description": "Record your verdict on the proposed action.",
                "input_schema": schema,
            } ],
            "tool_choice": { "type": "tool", "name": VERDICT_TOOL },
        }),
    }
}

/// One parsed reply.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reply {
    pub answer: ModelAnswer,
    /// The probability of the decision token, where the provider returned log-probabilities.
    pub decision_probability: Option<f64>,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// Token counts of a reply, readable even when the answer is not.
pub(crate) fn usage_of(provider: Provider, body: &Value) -> (u64, u64) {
    let usage = &body["usage"];
    let get = |key: &str| usage[key].as_u64().unwrap_or(0);
    match provider {
        Provider::OpenAi => (get("prompt_tokens"), get("completion_tokens")),
        Provider::Anthropic => (get("input_tokens"), get("output_tokens")),
    }
}

/// Parses a successful response body. Every problem is an error; nothing defaults to allow.
pub(crate) fn parse_reply(provider: Provider, body: &[u8]) -> Result<Reply, LlmError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        LlmError::Malformed(format!(
            "response is not JSON ({e}): {}",
            excerpt(&String::from_utf8_lossy(body))
        ))
    })?;
    let (input_tokens, output_tokens) = usage_of(provider, &value);
    let (answer, decision_probability) = match provider {
        Provider::OpenAi => parse_openai(&value)?,
        Provider::Anthropic => (parse_anthropic(&value)?, None),
    };
    Ok(Reply {
        answer,
        decision_probability,
        input_tokens,
        output_tokens,
    })
}

fn parse_openai(value: &Value) -> Result<(ModelAnswer, Option<f64>), LlmError> {
    let choice = value["choices"]
        .get(0)
        .ok_or_else(|| LlmError::Malformed("response has no choices".into()))?;
    let message = &choice["message"];
    if let Some(refusal) = message["refusal"].as_str() {
        return Err(LlmError::Refused(excerpt(refusal)));
    }
    match choice["finish_reason"].as_str() {
        Some("length") => return Err(LlmError::Truncated("finish_reason length".into())),
        Some("content_filter") => {
            return Err(LlmError::Refused("finish_reason content_filter".into()));
        }
        _ => {}
    }
    let content = message["content"]
        .as_str()
        .ok_or_else(|| LlmError::Malformed("the message has no text content".into()))?;
    let answer = ModelAnswer::parse_text(content)?;
    let tokens: Option<Vec<TokenLogprob>> = choice["logprobs"]["content"].as_array().map(|items| {
        items
            .iter()
            .filter_map(|item| {
                Some(TokenLogprob {
                    token: item["token"].as_str()?.to_string(),
                    logprob: item["logprob"].as_f64()?,
                })
            })
            .collect()
    });
    let probability = tokens.and_then(|tokens| decision_token_probability(content, &tokens));
    Ok((answer, probability))
}

fn parse_anthropic(value: &Value) -> Result<ModelAnswer, LlmError> {
    match value["stop_reason"].as_str() {
        Some("max_tokens") => return Err(LlmError::Truncated("stop_reason max_tokens".into())),
        Some("refusal") => return Err(LlmError::Refused("stop_reason refusal".into())),
        _ => {}
    }
    let blocks = value["content"]
        .as_array()
        .ok_or_else(|| LlmError::Malformed("response has no content".into()))?;
    let mut calls = blocks
        .iter()
        .filter(|b| b["type"] == "tool_use" && b["name"] == VERDICT_TOOL);
    let Some(call) = calls.next() else {
        let text: String = blocks
            .iter()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join(" ");
        return Err(LlmError::Refused(format!(
            "the model answered without the verdict tool: {}",
            excerpt(&text)
        )));
    };
    if calls.next().is_some() {
        return Err(LlmError::Malformed(
            "the model called the verdict tool twice".into(),
        ));
    }
    ModelAnswer::parse_value(call["input"].clone())
}
