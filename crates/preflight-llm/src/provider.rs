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

/// How the verdict's structure is requested from the endpoint, so that the server (not only
/// the prompt) holds the model to the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StructuredOutput {
    /// OpenAI's `response_format: {"type": "json_schema", "json_schema": {…, "strict": true}}`
    /// (OpenAI, vLLM, LM Studio, recent Ollama).
    JsonSchema,
    /// `response_format: {"type": "json_object", "schema": …}`, which llama.cpp's servers
    /// (llama-cpp-python, `llama-server`) turn into a grammar.
    JsonObject,
    /// Ollama's native `/api/chat` with `format: <schema>`; the base URL's `/v1` is dropped.
    Ollama,
    /// A forced call of the verdict tool: OpenAI `tools` + `tool_choice`, Anthropic tool use.
    Tool,
    /// Nothing the server enforces: the prompt carries the schema and the answer is parsed
    /// strictly.
    None,
}

impl StructuredOutput {
    /// Every mode, by its configuration name.
    pub const ALL: [StructuredOutput; 5] = [
        StructuredOutput::JsonSchema,
        StructuredOutput::JsonObject,
        StructuredOutput::Ollama,
        StructuredOutput::Tool,
        StructuredOutput::None,
    ];

    /// The name used in configuration: `json_schema`, `json_object`, `ollama`, `tool`, `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            StructuredOutput::JsonSchema => "json_schema",
            StructuredOutput::JsonObject => "json_object",
            StructuredOutput::Ollama => "ollama",
            StructuredOutput::Tool => "tool",
            StructuredOutput::None => "none",
        }
    }

    /// The modes tried in turn when none is configured: the strongest first, the strict
    /// parser last. Ollama's native API is not guessed (it needs another endpoint); its
    /// OpenAI-compatible endpoint takes `json_schema`.
    pub fn negotiation_order(provider: Provider) -> &'static [StructuredOutput] {
        match provider {
            Provider::OpenAi => &[
                StructuredOutput::JsonSchema,
                StructuredOutput::JsonObject,
                StructuredOutput::Tool,
                StructuredOutput::None,
            ],
            Provider::Anthropic => &[StructuredOutput::Tool, StructuredOutput::None],
        }
    }

    /// Whether `provider` can be asked this way.
    pub fn supported_by(self, provider: Provider) -> bool {
        match provider {
            Provider::OpenAi => true,
            Provider::Anthropic => matches!(self, StructuredOutput::Tool | StructuredOutput::None),
        }
    }

    /// Whether the schema goes into the system prompt too: where the server enforces no
    /// schema, or enforces it without showing the model the field descriptions.
    fn schema_in_prompt(self) -> bool {
        matches!(
            self,
            StructuredOutput::JsonObject | StructuredOutput::Ollama | StructuredOutput::None
        )
    }
}

impl fmt::Display for StructuredOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StructuredOutput {
    type Err = LlmError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wanted = text.trim().to_ascii_lowercase().replace('-', "_");
        StructuredOutput::ALL
            .into_iter()
            .find(|mode| mode.as_str() == wanted)
            .ok_or_else(|| {
                config(
                    "structured_output",
                    format!(
                        "unknown structured output `{text}`; expected json_schema, json_object, \
                         ollama, tool or none"
                    ),
                )
            })
    }
}

/// Whether an error answer says the endpoint does not take `mode`'s way of asking for a
/// structure (so that the next mode is tried), rather than failing for another reason.
/// llama-cpp-python answers `json_schema` with a 500 naming `response_format`.
pub(crate) fn rejects_mode(mode: StructuredOutput, status: u16, body: &str) -> bool {
    if mode == StructuredOutput::None || !matches!(status, 400 | 404 | 415 | 422 | 500 | 501) {
        return false;
    }
    let body = body.to_ascii_lowercase();
    let words: &[&str] = match mode {
        StructuredOutput::JsonSchema | StructuredOutput::JsonObject => {
            &["response_format", "json_schema", "json_object", "schema"]
        }
        StructuredOutput::Tool => &["tool", "function"],
        StructuredOutput::Ollama => &["format", "not found", "404"],
        StructuredOutput::None => &[],
    };
    words.iter().any(|w| body.contains(w))
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
    /// How the structure is requested.
    pub mode: StructuredOutput,
}

/// The endpoint a request in `mode` goes to.
pub(crate) fn endpoint_for(provider: Provider, mode: StructuredOutput, base_url: &str) -> String {
    if provider == Provider::OpenAi && mode == StructuredOutput::Ollama {
        let base = base_url.trim_end_matches('/');
        let base = base.strip_suffix("/v1").unwrap_or(base);
        return format!("{base}/api/chat");
    }
    provider.endpoint(base_url)
}

/// The system message, with the schema appended where the server will not show it.
fn system_text(prompt: &Prompt, mode: StructuredOutput, schema: &Value) -> String {
    if mode.schema_in_prompt() {
        format!(
            "{}\n\nAnswer with exactly one JSON object and nothing else (no prose, no code \
             fence), matching this JSON Schema:\n{schema}",
            prompt.system.trim_end()
        )
    } else {
        prompt.system.clone()
    }
}

/// The JSON body of one request.
pub(crate) fn request_body(
    provider: Provider,
    prompt: &Prompt,
    settings: &RequestSettings<'_>,
) -> Value {
    let schema = answer_schema();
    let mode = settings.mode;
    let system = system_text(prompt, mode, &schema);
    match provider {
        Provider::OpenAi if mode == StructuredOutput::Ollama => json!({
            "model": settings.model,
            "messages": [
                { "role": "system", "content": system },
                { "role": "user", "content": prompt.user },
            ],
            "stream": false,
            "format": schema,
            "options": {
                "temperature": settings.temperature,
                "num_predict": settings.max_tokens,
            },
        }),
        Provider::OpenAi => {
            let mut body = json!({
                "model": settings.model,
                "messages": [
                    { "role": "system", "content": system },
                    { "role": "user", "content": prompt.user },
                ],
                "temperature": settings.temperature,
                "max_tokens": settings.max_tokens,
            });
            match mode {
                StructuredOutput::JsonSchema => {
                    body["response_format"] = json!({
                        "type": "json_schema",
                        "json_schema": { "name": VERDICT_TOOL, "strict": true, "schema": schema },
                    });
                }
                StructuredOutput::JsonObject => {
                    body["response_format"] = json!({ "type": "json_object", "schema": schema });
                }
                StructuredOutput::Tool => {
                    body["tools"] = json!([{
                        "type": "function",
                        "function": {
                            "name": VERDICT_TOOL,
                            "description": "Record your verdict on the proposed action.",
                            "parameters": schema,
                        },
                    }]);
                    body["tool_choice"] =
                        json!({ "type": "function", "function": { "name": VERDICT_TOOL } });
                }
                StructuredOutput::Ollama | StructuredOutput::None => {}
            }
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
        Provider::Anthropic => {
            let mut body = json!({
                "model": settings.model,
                "max_tokens": settings.max_tokens,
                "temperature": settings.temperature,
                "system": system,
                "messages": [ { "role": "user", "content": prompt.user } ],
            });
            if mode == StructuredOutput::Tool {
                body["tools"] = json!([{
                    "name": VERDICT_TOOL,
                    "description": "Record your verdict on the proposed action.",
                    "input_schema": schema,
                }]);
                body["tool_choice"] = json!({ "type": "tool", "name": VERDICT_TOOL });
            }
            body
        }
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
pub(crate) fn usage_of(provider: Provider, mode: StructuredOutput, body: &Value) -> (u64, u64) {
    if provider == Provider::OpenAi && mode == StructuredOutput::Ollama {
        let get = |key: &str| body[key].as_u64().unwrap_or(0);
        return (get("prompt_eval_count"), get("eval_count"));
    }
    let usage = &body["usage"];
    let get = |key: &str| usage[key].as_u64().unwrap_or(0);
    match provider {
        Provider::OpenAi => (get("prompt_tokens"), get("completion_tokens")),
        Provider::Anthropic => (get("input_tokens"), get("output_tokens")),
    }
}

/// Parses a successful response body. Every problem is an error; nothing defaults to allow.
pub(crate) fn parse_reply(
    provider: Provider,
    mode: StructuredOutput,
    body: &[u8],
) -> Result<Reply, LlmError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        LlmError::Malformed(format!(
            "response is not JSON ({e}): {}",
            excerpt(&String::from_utf8_lossy(body))
        ))
    })?;
    let (input_tokens, output_tokens) = usage_of(provider, mode, &value);
    let (answer, decision_probability) = match (provider, mode) {
        (Provider::OpenAi, StructuredOutput::Ollama) => (parse_ollama(&value)?, None),
        (Provider::OpenAi, StructuredOutput::Tool) => (parse_openai_tool(&value)?, None),
        (Provider::OpenAi, _) => parse_openai(&value)?,
        (Provider::Anthropic, StructuredOutput::Tool) => (parse_anthropic(&value)?, None),
        (Provider::Anthropic, _) => (parse_anthropic_text(&value)?, None),
    };
    Ok(Reply {
        answer,
        decision_probability,
        input_tokens,
        output_tokens,
    })
}

fn parse_openai(value: &Value) -> Result<(ModelAnswer, Option<f64>), LlmError> {
    let choice = openai_choice(value)?;
    let message = &choice["message"];
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

/// The choice of an OpenAI-compatible reply, after the checks every mode shares: a refusal,
/// a cut or filtered answer is an error.
fn openai_choice(value: &Value) -> Result<&Value, LlmError> {
    let choice = value["choices"]
        .get(0)
        .ok_or_else(|| LlmError::Malformed("response has no choices".into()))?;
    if let Some(refusal) = choice["message"]["refusal"].as_str() {
        return Err(LlmError::Refused(excerpt(refusal)));
    }
    // Only a reason that says the answer ended of itself counts; anything else (a cut, a
    // filter, an unknown or missing reason) is not a finished verdict.
    match choice["finish_reason"].as_str() {
        Some("stop" | "tool_calls") => Ok(choice),
        Some("length") => Err(LlmError::Truncated("finish_reason length".into())),
        Some("content_filter") => Err(LlmError::Refused("finish_reason content_filter".into())),
        other => Err(LlmError::Malformed(format!(
            "unexpected finish_reason {}",
            other.map_or_else(|| "(none)".to_string(), |r| format!("`{}`", excerpt(r)))
        ))),
    }
}

fn parse_openai_tool(value: &Value) -> Result<ModelAnswer, LlmError> {
    let message = &openai_choice(value)?["message"];
    let calls: Vec<&Value> = message["tool_calls"]
        .as_array()
        .map(|calls| {
            calls
                .iter()
                .filter(|c| c["function"]["name"] == VERDICT_TOOL)
                .collect()
        })
        .unwrap_or_default();
    match calls.as_slice() {
        [] => Err(LlmError::Refused(format!(
            "the model answered without the verdict tool: {}",
            excerpt(message["content"].as_str().unwrap_or_default())
        ))),
        [call] => match &call["function"]["arguments"] {
            Value::String(text) => ModelAnswer::parse_text(text),
            // Some servers send the arguments as an object rather than as JSON text.
            other @ Value::Object(_) => ModelAnswer::parse_value(other.clone()),
            other => Err(LlmError::Malformed(format!(
                "the verdict tool's arguments are not an object: {}",
                excerpt(&other.to_string())
            ))),
        },
        _ => Err(LlmError::Malformed(
            "the model called the verdict tool twice".into(),
        )),
    }
}

fn parse_ollama(value: &Value) -> Result<ModelAnswer, LlmError> {
    if let Some(error) = value["error"].as_str() {
        return Err(LlmError::Malformed(format!(
            "error answer: {}",
            excerpt(error)
        )));
    }
    match value["done_reason"].as_str() {
        Some("stop") => {}
        Some("length") => return Err(LlmError::Truncated("done_reason length".into())),
        other => {
            return Err(LlmError::Malformed(format!(
                "unexpected done_reason {}",
                other.map_or_else(|| "(none)".to_string(), |r| format!("`{}`", excerpt(r)))
            )));
        }
    }
    let content = value["message"]["content"]
        .as_str()
        .ok_or_else(|| LlmError::Malformed("the message has no text content".into()))?;
    ModelAnswer::parse_text(content)
}

fn parse_anthropic_text(value: &Value) -> Result<ModelAnswer, LlmError> {
    match value["stop_reason"].as_str() {
        Some("max_tokens") => return Err(LlmError::Truncated("stop_reason max_tokens".into())),
        Some("refusal") => return Err(LlmError::Refused("stop_reason refusal".into())),
        _ => {}
    }
    let blocks = value["content"]
        .as_array()
        .ok_or_else(|| LlmError::Malformed("response has no content".into()))?;
    let texts: Vec<&str> = blocks.iter().filter_map(|b| b["text"].as_str()).collect();
    match texts.as_slice() {
        [text] => ModelAnswer::parse_text(text),
        _ => Err(LlmError::Malformed(format!(
            "expected one text block, got {}",
            texts.len()
        ))),
    }
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
