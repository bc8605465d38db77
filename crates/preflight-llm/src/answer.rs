//! The structured verdict the model must return, its JSON Schema, and strict parsing.

use preflight_core::Decision;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::LlmError;

/// The decision a model may give. A model never abstains: it is asked because the rules did
/// not decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelDecision {
    /// The action is within the envelope.
    Allow,
    /// A person must decide.
    Escalate,
    /// The action exceeds the envelope.
    Deny,
}

// A plain `enum` of strings: strict structured-output modes accept it everywhere, unlike the
// `oneOf` of constants that documented variants would derive.
impl JsonSchema for ModelDecision {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ModelDecision".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "enum": ["allow", "escalate", "deny"],
        })
    }
}

impl From<ModelDecision> for Decision {
    fn from(decision: ModelDecision) -> Self {
        match decision {
            ModelDecision::Allow => Decision::Allow,
            ModelDecision::Escalate => Decision::Escalate,
            ModelDecision::Deny => Decision::Deny,
        }
    }
}

/// The verdict a model returns, as JSON matching [`answer_schema`]. Parsed strictly: an unknown
/// or missing field, or a confidence outside 0..=1, makes the answer unusable.
///
/// The schema's descriptions are written for the model, not taken from these docs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(description = "Your verdict on the proposed action.")]
pub struct ModelAnswer {
    /// `allow`, `deny` or `escalate`.
    #[schemars(
        description = "allow: within the envelope; deny: exceeds it; escalate: a person must decide."
    )]
    pub decision: ModelDecision,
    /// How sure the model is of the decision, from 0 to 1.
    #[schemars(
        range(min = 0.0, max = 1.0),
        description = "How sure you are of the decision, from 0 to 1."
    )]
    pub confidence: f64,
    /// Why, in one or two sentences an operator can act on.
    #[schemars(description = "Why, in one or two sentences an operator can act on.")]
    pub reason: String,
    /// A safer alternative the agent could take instead, or an empty string.
    #[schemars(
        description = "A safer alternative the agent could take instead (a dry run, a snapshot first, a narrower target), or an empty string."
    )]
    pub suggestion: String,
}

/// The JSON Schema of [`ModelAnswer`], inlined and stripped of keywords that strict
/// structured-output modes reject (`$schema`, `title`, `format`).
pub fn answer_schema() -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .with(|settings| settings.inline_subschemas = true)
        .into_generator();
    let schema = generator.into_root_schema_for::<ModelAnswer>();
    let mut value = schema.to_value();
    strip(&mut value);
    value
}

fn strip(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("$schema");
            map.remove("title");
            // `format` is a keyword only where it holds a string; a property named `format`
            // would be an object and is kept.
            if map.get("format").is_some_and(Value::is_string) {
                map.remove("format");
            }
            map.values_mut().for_each(strip);
        }
        Value::Array(items) => items.iter_mut().for_each(strip),
        _ => {}
    }
}

impl ModelAnswer {
    /// Parses an answer from the model's text, strictly.
    pub fn parse_text(text: &str) -> Result<Self, LlmError> {
        let answer: ModelAnswer = serde_json::from_str(text.trim())
            .map_err(|e| LlmError::Malformed(format!("{e}; answer was {}", excerpt(text))))?;
        answer.validate()
    }

    /// Parses an answer from a JSON value (a tool call's input), strictly.
    pub fn parse_value(value: Value) -> Result<Self, LlmError> {
        let shown = excerpt(&value.to_string());
        let answer: ModelAnswer = serde_json::from_value(value)
            .map_err(|e| LlmError::Malformed(format!("{e}; answer was {shown}")))?;
        answer.validate()
    }

    fn validate(self) -> Result<Self, LlmError> {
        if !(0.0..=1.0).contains(&self.confidence) {
            return Err(LlmError::Malformed(format!(
                "confidence {} is outside 0..=1",
                self.confidence
            )));
        }
        if self.reason.trim().is_empty() {
            return Err(LlmError::Malformed("the reason is empty".into()));
        }
        Ok(self)
    }
}

/// At most 200 characters of `text`, for error messages.
pub(crate) fn excerpt(text: &str) -> String {
    const MAX: usize = 200;
    match text.char_indices().nth(MAX) {
        Some((index, _)) => format!("{}…", &text[..index]),
        None => text.to_string(),
    }
}

/// One token of a completion with its log-probability, as providers report them.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenLogprob {
    /// The token's text.
    pub token: String,
    /// Its natural-log probability.
    pub logprob: f64,
}

/// The probability of the token that carries the decision's value in `content`, or `None`
/// when the tokens do not spell `content` or carry no decision.
pub fn decision_token_probability(content: &str, tokens: &[TokenLogprob]) -> Option<f64> {
    let offset = decision_value_offset(content)?;
    // The tokens must spell the content exactly; otherwise their positions mean nothing.
    let spelled: String = tokens.iter().map(|t| t.token.as_str()).collect();
    if spelled != content {
        return None;
    }
    let mut start = 0;
    for token in tokens {
        let end = start + token.token.len();
        if offset >= start && offset < end {
            let probability = token.logprob.exp();
            return probability
                .is_finite()
                .then_some(probability.clamp(0.0, 1.0));
        }
        start = end;
    }
    None
}

/// The byte offset of the first character of the decision's value (after its opening quote).
fn decision_value_offset(content: &str) -> Option<usize> {
    let key = content.find("\"decision\"")?;
    let after_key = key + "\"decision\"".len();
    let rest = &content[after_key..];
    let colon = rest.find(':')?;
    let after_colon = &rest[colon + 1..];
    let quote = after_colon.find('"')?;
    if !after_colon[..quote].trim().is_empty() {
        return None;
    }
    Some(after_key + colon + 1 + quote + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_closed_and_requires_every_field() {
        let schema = answer_schema();
        assert_eq!(schema["additionalProperties"], Value::Bool(false));
        let required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        for field in ["decision", "confidence", "reason", "suggestion"] {
            assert!(required.contains(&field), "{field} not required: {schema}");
        }
        assert_eq!(
            schema["properties"]["decision"]["enum"],
            serde_json::json!(["allow", "escalate", "deny"])
        );
        let text = schema.to_string();
        assert!(!text.contains("$ref") && !text.contains("$schema") && !text.contains("format"));
    }

    #[test]
    fn strict_parsing_rejects_unknown_missing_and_out_of_range() {
        let ok = r#"{"decision":"deny","confidence":0.9,"reason":"prod delete","suggestion":""}"#;
        assert_eq!(
            ModelAnswer::parse_text(ok).unwrap().decision,
            ModelDecision::Deny
        );
        for bad in [
            r#"{"decision":"deny","confidence":0.9,"reason":"x","suggestion":"","extra":1}"#,
            r#"{"decision":"deny","confidence":0.9,"suggestion":""}"#,
            r#"{"decision":"maybe","confidence":0.9,"reason":"x","suggestion":""}"#,
            r#"{"decision":"allow","confidence":1.5,"reason":"x","suggestion":""}"#,
            r#"{"decision":"allow","confidence":0.5,"reason":"  ","suggestion":""}"#,
            r#"{"decision":"allow","confidence":0.9,"reason":"x","suggestion":""} trailing"#,
            "allow",
            "",
        ] {
            assert!(
                matches!(ModelAnswer::parse_text(bad), Err(LlmError::Malformed(_))),
                "{bad}"
            );
        }
    }

    proptest::proptest! {
        /// A cut answer never parses, wherever it is cut: truncation cannot become a verdict.
        #[test]
        fn every_strict_prefix_of_an_answer_is_rejected(
            confidence in 0.0f64..=1.0,
            reason in "[a-zA-Z .,]{1,40}",
            cut in 0usize..1000,
        ) {
            let full = serde_json::to_string(&ModelAnswer {
                decision: ModelDecision::Allow,
                confidence,
                reason: reason.clone(),
                suggestion: String::new(),
            })
            .unwrap();
            proptest::prop_assume!(!reason.trim().is_empty());
            let parsed = ModelAnswer::parse_text(&full).unwrap();
            proptest::prop_assert_eq!(parsed.decision, ModelDecision::Allow);
            let cut = cut % full.len();
            proptest::prop_assert!(ModelAnswer::parse_text(&full[..cut]).is_err());
        }
    }

    #[test]
    fn decision_token_probability_finds_the_value_token() {
        let content = r#"{"decision": "allow", "confidence": 0.9}"#;
        let pieces = [
            ("{\"", -0.01),
            ("decision", -0.01),
            ("\":", -0.01),
            (" \"", -0.01),
            ("allow", (0.6f64).ln()),
            ("\",", -0.01),
            (" \"confidence\": 0.9}", -0.01),
        ];
        let tokens: Vec<TokenLogprob> = pieces
            .iter()
            .map(|(t, l)| TokenLogprob {
                token: (*t).to_string(),
                logprob: *l,
            })
            .collect();
        let p = decision_token_probability(content, &tokens).unwrap();
        assert!((p - 0.6).abs() < 1e-9);
        // Tokens that do not spell the content are ignored.
        assert_eq!(decision_token_probability("{}", &tokens), None);
    }
}
