//! The prompt: user-overridable templates, the data block and its random boundary.

use std::path::Path;

use preflight_core::{Action, Decision, Inspection, Proposal, Reason, Verdict};
use serde::Serialize;
use serde_json::Value;

use crate::error::LlmError;

const BUILTIN_SYSTEM: &str = include_str!("../prompts/system.txt");
const BUILTIN_USER: &str = include_str!("../prompts/user.txt");

/// The placeholders a template may use.
///
/// - `{{envelope}}`: the operators' envelope (policy text or description); trusted.
/// - `{{policy_version}}`: the envelope's version.
/// - `{{open}}` / `{{close}}`: the lines opening and closing the data block, each carrying
///   the per-request random boundary.
/// - `{{data}}`: the data block's content (user template only, exactly once, between
///   `{{open}}` and `{{close}}`).
pub const PLACEHOLDERS: [&str; 5] = ["envelope", "policy_version", "open", "close", "data"];

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Text(String),
    Slot(&'static str),
}

/// One parsed template.
#[derive(Debug, Clone, PartialEq)]
struct Template {
    segments: Vec<Segment>,
}

impl Template {
    fn parse(text: &str, origin: &str, field: &str) -> Result<Self, LlmError> {
        let error = |offset: usize, message: String| LlmError::Template {
            origin: origin.to_string(),
            line: text[..offset].matches('\n').count() + 1,
            field: field.to_string(),
            message,
        };
        let mut segments = Vec::new();
        let mut rest = 0;
        while let Some(found) = text[rest..].find("{{") {
            let start = rest + found;
            let Some(length) = text[start + 2..].find("}}") else {
                return Err(error(start, "unclosed `{{`".into()));
            };
            let name = text[start + 2..start + 2 + length].trim();
            let Some(slot) = PLACEHOLDERS.iter().find(|p| **p == name) else {
                return Err(error(
                    start,
                    format!(
                        "unknown placeholder `{name}`; expected one of {}",
                        PLACEHOLDERS.join(", ")
                    ),
                ));
            };
            if start > rest {
                segments.push(Segment::Text(text[rest..start].to_string()));
            }
            segments.push(Segment::Slot(slot));
            rest = start + 2 + length + 2;
        }
        if rest < text.len() {
            segments.push(Segment::Text(text[rest..].to_string()));
        }
        Ok(Self { segments })
    }

    fn slots(&self) -> Vec<&'static str> {
        self.segments
            .iter()
            .filter_map(|s| match s {
                Segment::Slot(name) => Some(*name),
                Segment::Text(_) => None,
            })
            .collect()
    }

    fn text(&self) -> String {
        self.segments
            .iter()
            .filter_map(|s| match s {
                Segment::Text(text) => Some(text.as_str()),
                Segment::Slot(_) => None,
            })
            .collect()
    }

    /// Renders in one pass: a value is never searched for placeholders again.
    fn render(&self, value: impl Fn(&str) -> String) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Text(text) => out.push_str(text),
                Segment::Slot(name) => out.push_str(&value(name)),
            }
        }
        out
    }
}

/// The system and user templates of the prompt. The built-in ones are in `prompts/` of this
/// crate; replace them with [`Templates::new`] or [`Templates::from_files`].
#[derive(Debug, Clone, PartialEq)]
pub struct Templates {
    system: Template,
    user: Template,
}

impl Default for Templates {
    fn default() -> Self {
        // The built-in templates are checked by a test; should they ever fail to parse, the
        // verifier would still never allow, because `build` checks them again.
        Self::new(BUILTIN_SYSTEM, BUILTIN_USER).unwrap_or(Self {
            system: Template {
                segments: vec![Segment::Slot("envelope")],
            },
            user: Template {
                segments: vec![
                    Segment::Slot("open"),
                    Segment::Slot("data"),
                    Segment::Slot("close"),
                ],
            },
        })
    }
}

impl Templates {
    /// Templates from text. See [`PLACEHOLDERS`]; the user template must hold `{{open}}`,
    /// `{{data}}` and `{{close}}` once each, in that order, and the system template must not
    /// hold `{{data}}`.
    pub fn new(system: &str, user: &str) -> Result<Self, LlmError> {
        Self::parse(system, "built-in", user, "built-in")
    }

    /// Templates read from two files.
    pub fn from_files(system: &Path, user: &Path) -> Result<Self, LlmError> {
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|e| LlmError::Template {
                origin: path.display().to_string(),
                line: 0,
                field: ".".into(),
                message: e.to_string(),
            })
        };
        Self::parse(
            &read(system)?,
            &system.display().to_string(),
            &read(user)?,
            &user.display().to_string(),
        )
    }

    fn parse(
        system: &str,
        system_origin: &str,
        user: &str,
        user_origin: &str,
    ) -> Result<Self, LlmError> {
        let system = Template::parse(system, system_origin, "system")?;
        let user = Template::parse(user, user_origin, "user")?;
        let invalid = |origin: &str, field: &str, message: &str| LlmError::Template {
            origin: origin.to_string(),
            line: 1,
            field: field.to_string(),
            message: message.to_string(),
        };
        if system.slots().contains(&"data") {
            return Err(invalid(
                system_origin,
                "system",
                "`{{data}}` belongs in the user template only",
            ));
        }
        let frame: Vec<&str> = user
            .slots()
            .into_iter()
            .filter(|s| matches!(*s, "open" | "data" | "close"))
            .collect();
        if frame != ["open", "data", "close"] {
            return Err(invalid(
                user_origin,
                "user",
                "must hold `{{open}}`, `{{data}}` and `{{close}}` once each, in that order",
            ));
        }
        Ok(Self { system, user })
    }
}

/// A rendered prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    /// The system message.
    pub system: String,
    /// The user message, holding the data block.
    pub user: String,
    /// The random boundary of this request.
    pub boundary: String,
    /// The data block's content, exactly as placed between the markers.
    pub data: String,
}

/// The marker line opening the data block.
pub fn open_marker(boundary: &str) -> String {
    format!("<<<DATA {boundary}>>>")
}

/// The marker line closing the data block.
pub fn close_marker(boundary: &str) -> String {
    format!("<<<END DATA {boundary}>>>")
}

/// A fresh random boundary: 128 bits from the operating system's generator, as hex.
pub fn random_boundary() -> String {
    let bytes: [u8; 16] = rand::random();
    preflight_core::to_hex(&bytes)
}

/// Renders the prompt for `proposal` with a fresh boundary that occurs neither in the data
/// nor in the envelope.
pub fn render(
    templates: &Templates,
    envelope: &str,
    policy_version: &str,
    proposal: &Proposal,
) -> Result<Prompt, LlmError> {
    render_with_rules(templates, envelope, policy_version, proposal, None)
}

/// As [`render`], with what the rules found (`rules`, the rules tier's verdict) in the data
/// block: which rules matched, which effects no rule covered, the declarations they checked.
pub fn render_with_rules(
    templates: &Templates,
    envelope: &str,
    policy_version: &str,
    proposal: &Proposal,
    rules: Option<&Verdict>,
) -> Result<Prompt, LlmError> {
    render_inner(
        templates,
        envelope,
        policy_version,
        &data_block_with_rules(proposal, rules),
        std::iter::repeat_with(random_boundary).take(16),
    )
}

/// As [`render`], taking boundaries from `candidates` until one does not occur in the data,
/// the envelope or the templates. Fails (closed) when every candidate collides.
pub fn render_with_boundaries(
    templates: &Templates,
    envelope: &str,
    policy_version: &str,
    proposal: &Proposal,
    candidates: impl IntoIterator<Item = String>,
) -> Result<Prompt, LlmError> {
    render_inner(
        templates,
        envelope,
        policy_version,
        &data_block(proposal),
        candidates,
    )
}

fn render_inner(
    templates: &Templates,
    envelope: &str,
    policy_version: &str,
    data: &str,
    candidates: impl IntoIterator<Item = String>,
) -> Result<Prompt, LlmError> {
    let data = data.to_string();
    let fixed = format!(
        "{}{}{envelope}{policy_version}",
        templates.system.text(),
        templates.user.text()
    );
    let boundary = candidates
        .into_iter()
        .find(|b| !b.is_empty() && !data.contains(b.as_str()) && !fixed.contains(b.as_str()))
        .ok_or_else(|| LlmError::Config {
            field: "boundary".into(),
            message: "every boundary candidate occurs in the prompt's data".into(),
        })?;
    let value = |name: &str| match name {
        "envelope" => envelope.to_string(),
        "policy_version" => policy_version.to_string(),
        "open" => open_marker(&boundary),
        "close" => close_marker(&boundary),
        "data" => data.clone(),
        _ => String::new(),
    };
    Ok(Prompt {
        system: templates.system.render(value),
        user: templates.user.render(value),
        boundary,
        data,
    })
}

/// What the rules tier found, as the model sees it.
#[derive(Serialize)]
struct RulesFound<'a> {
    /// The rules tier's decision before the judge.
    decision: Decision,
    /// Its reasons: `rule` (a rule matched), `default` (no rule covers an effect: the policy
    /// default applied), `declaration` (a check of what the agent declared).
    reasons: &'a [Reason],
}

/// What the model sees of a proposal. Everything here came from the agent or the world, or
/// was derived from what they wrote.
#[derive(Serialize)]
struct DataBlock<'a> {
    tool: &'a str,
    input: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    task: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning: Option<&'a str>,
    agent: &'a preflight_core::Agent,
    declared: &'a preflight_core::Declared,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_confidence: Option<f64>,
    context: preflight_core::Context,
    /// What inspection derived: effects, derived blast radius, notes. `null` when no inspector
    /// ran.
    derived: Option<&'a Inspection>,
    derived_environments: Vec<&'a str>,
    derived_exceeds_declared_blast_radius: Option<bool>,
    /// The rules' findings, when the rules ran first.
    #[serde(skip_serializing_if = "Option::is_none")]
    rules: Option<RulesFound<'a>>,
}

/// The data block's content: the proposal as pretty JSON. JSON escaping keeps every string of
/// the agent inside a JSON string; the boundary keeps the block's end unforgeable.
pub fn data_block(proposal: &Proposal) -> String {
    data_block_with_rules(proposal, None)
}

/// As [`data_block`], with the rules tier's findings.
pub fn data_block_with_rules(proposal: &Proposal, rules: Option<&Verdict>) -> String {
    let action: &Action = &proposal.action;
    let inspection = proposal.inspection.as_ref();
    let block = DataBlock {
        tool: &action.tool,
        input: &action.input,
        task: action.task.as_deref(),
        reasoning: action.reasoning.as_deref(),
        agent: &action.agent,
        declared: &action.declared,
        agent_confidence: action.confidence,
        context: redacted(&action.context),
        derived: inspection,
        derived_environments: inspection.map(Inspection::environments).unwrap_or_default(),
        derived_exceeds_declared_blast_radius: match (inspection, &action.declared.blast_radius) {
            (Some(inspection), Some(declared)) => Some(inspection.blast_radius.exceeds(declared)),
            _ => None,
        },
        rules: rules.map(|verdict| RulesFound {
            decision: verdict.decision,
            reasons: &verdict.reasons,
        }),
    };
    serde_json::to_string_pretty(&block).unwrap_or_else(|e| format!("unserializable action: {e}"))
}

/// Variable names whose values are never sent to a model.
const SECRET_MARKERS: [&str; 8] = [
    "KEY",
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "CREDENTIAL",
    "AUTH",
    "SESSION",
];

/// The context with the values of secret-looking environment variables replaced: the model
/// needs to know that `AWS_SECRET_ACCESS_KEY` is set, not its value.
fn redacted(context: &preflight_core::Context) -> preflight_core::Context {
    let mut context = context.clone();
    for (name, value) in &mut context.env {
        let upper = name.to_ascii_uppercase();
        if SECRET_MARKERS.iter().any(|m| upper.contains(m)) {
            *value = "<redacted>".into();
        }
    }
    context
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn proposal(text: &str) -> Proposal {
        Proposal::new(Action::new("Bash", json!({ "command": text })).with_reasoning(text))
    }

    #[test]
    fn builtin_templates_parse() {
        Templates::new(BUILTIN_SYSTEM, BUILTIN_USER).unwrap();
    }

    #[test]
    fn unknown_placeholder_names_the_line() {
        let error = Templates::new("a\nb {{nope}}", BUILTIN_USER).unwrap_err();
        assert_eq!(
            error,
            LlmError::Template {
                origin: "built-in".into(),
                line: 2,
                field: "system".into(),
                message: "unknown placeholder `nope`; expected one of envelope, policy_version, open, close, data".into(),
            }
        );
    }

    #[test]
    fn user_template_must_frame_the_data() {
        for user in [
            "{{data}}",
            "{{open}}{{data}}",
            "{{close}}{{data}}{{open}}",
            "{{open}}{{data}}{{close}}{{data}}",
        ] {
            assert!(Templates::new("s", user).is_err(), "{user}");
        }
        assert!(Templates::new("{{data}}", "{{open}}{{data}}{{close}}").is_err());
        Templates::new("s {{open}} {{close}}", "x {{open}}\n{{data}}\n{{close}} y").unwrap();
    }

    #[test]
    fn values_are_not_rendered_twice() {
        let templates = Templates::new("{{envelope}}", "{{open}}{{data}}{{close}}").unwrap();
        let prompt = render(&templates, "{{data}}", "v1", &proposal("{{envelope}}")).unwrap();
        assert_eq!(prompt.system, "{{data}}");
        assert!(prompt.user.contains("{{envelope}}"));
    }

    #[test]
    fn colliding_boundary_is_replaced() {
        let templates = Templates::default();
        let p = proposal("deadbeef");
        let prompt = render_with_boundaries(
            &templates,
            "env",
            "v1",
            &p,
            ["deadbeef".to_string(), "cafe0123".to_string()],
        )
        .unwrap();
        assert_eq!(prompt.boundary, "cafe0123");
        assert!(!prompt.data.contains(&prompt.boundary));
        let error = render_with_boundaries(&templates, "env", "v1", &p, ["deadbeef".to_string()]);
        assert!(error.is_err());
    }

    #[test]
    fn secret_environment_values_are_not_sent() {
        let mut action = Action::new("Bash", json!({ "command": "aws s3 ls" }));
        action
            .context
            .env
            .insert("AWS_PROFILE".into(), "prod".into());
        action
            .context
            .env
            .insert("AWS_SECRET_ACCESS_KEY".into(), "wJalrXUtnFEMI".into());
        action
            .context
            .env
            .insert("GITHUB_TOKEN".into(), "ghp_abc123".into());
        let data = data_block(&Proposal::new(action));
        assert!(data.contains("\"AWS_PROFILE\": \"prod\""));
        assert!(data.contains("AWS_SECRET_ACCESS_KEY"));
        assert!(!data.contains("wJalrXUtnFEMI") && !data.contains("ghp_abc123"));
    }

    #[test]
    fn random_boundaries_differ() {
        assert_ne!(random_boundary(), random_boundary());
        assert_eq!(random_boundary().len(), 32);
    }
}
