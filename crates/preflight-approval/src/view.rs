//! What a person is shown about a request, as plain text, shared by every approver.

use std::fmt::Write as _;

use preflight_core::{ApprovalRequest, BlastRadius, Effect, Reason, Timestamp};

/// Everything a person needs to decide on a request, as plain (unescaped) text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Summary {
    pub id: String,
    pub agent: String,
    pub on_behalf_of: Option<String>,
    pub tool: String,
    pub task: Option<String>,
    pub raw_input: String,
    pub effects: Vec<String>,
    pub notes: Vec<String>,
    pub declared_environment: Option<String>,
    pub derived_environments: Vec<String>,
    pub declared_blast: String,
    pub derived_blast: String,
    pub under_declared: bool,
    pub reasoning: Option<String>,
    pub confidence: Option<String>,
    pub decision: String,
    pub reasons: Vec<String>,
    pub suggestion: Option<String>,
    pub digest: String,
    pub requested_at: Timestamp,
    pub expires_at: Timestamp,
    /// Some text held control, format or bidirectional characters, now written out as
    /// `\u{…}`: the person is warned.
    pub hidden_characters: bool,
}

/// The warning shown above a request whose text held hidden characters.
pub(crate) const HIDDEN_WARNING: &str = "Warning: this request contains control, format or \
     direction characters that could make it read differently; they are shown as \\u{…}.";

impl Summary {
    pub(crate) fn of(request: &ApprovalRequest) -> Self {
        let mut summary = Self::as_written(request);
        summary.reveal();
        summary
    }

    /// Every text field with its hidden characters written out, and the flag set when there
    /// were any.
    fn reveal(&mut self) {
        let mut hidden = false;
        let mut show = |text: &mut String| {
            if preflight_core::visible::has_hidden(text) {
                hidden = true;
                *text = preflight_core::visible::visible(text).into_owned();
            }
        };
        show(&mut self.id);
        show(&mut self.agent);
        show(&mut self.tool);
        show(&mut self.raw_input);
        show(&mut self.decision);
        show(&mut self.digest);
        show(&mut self.declared_blast);
        show(&mut self.derived_blast);
        for text in [
            &mut self.on_behalf_of,
            &mut self.task,
            &mut self.declared_environment,
            &mut self.reasoning,
            &mut self.confidence,
            &mut self.suggestion,
        ]
        .into_iter()
        .flatten()
        {
            show(text);
        }
        for list in [
            &mut self.effects,
            &mut self.notes,
            &mut self.derived_environments,
            &mut self.reasons,
        ] {
            for text in list.iter_mut() {
                show(text);
            }
        }
        self.hidden_characters = hidden;
    }

    fn as_written(request: &ApprovalRequest) -> Self {
        let action = &request.action;
        let inspection = request.inspection.as_ref();
        let raw_input = serde_json::to_string_pretty(&action.input)
            .unwrap_or_else(|_| action.input.to_string());
        let declared = action.declared.blast_radius.as_ref();
        let derived = inspection.map(|i| &i.blast_radius);
        let under_declared = match (derived, declared) {
            (Some(derived), Some(declared)) => derived.exceeds(declared),
            _ => false,
        };
        let mut reasons: Vec<String> = request.verdict.reasons.iter().map(reason_line).collect();
        for part in &request.verdict.parts {
            for reason in &part.reasons {
                let line = reason_line(reason);
                if !reasons.contains(&line) {
                    reasons.push(line);
                }
            }
        }
        Summary {
            id: request.id.clone(),
            agent: action
                .agent
                .id
                .clone()
                .unwrap_or_else(|| "unknown agent".into()),
            on_behalf_of: action.agent.on_behalf_of.clone(),
            tool: action.tool.clone(),
            task: action.task.clone(),
            raw_input,
            effects: inspection
                .map(|i| i.effects.iter().map(effect_line).collect())
                .unwrap_or_default(),
            notes: inspection.map(|i| i.notes.clone()).unwrap_or_default(),
            declared_environment: action.declared.environment.clone(),
            derived_environments: inspection
                .map(|i| i.environments().into_iter().map(str::to_string).collect())
                .unwrap_or_default(),
            declared_blast: declared.map_or_else(|| "not declared".into(), blast_line),
            derived_blast: match (inspection, derived) {
                (Some(_), Some(derived)) => blast_line(derived),
                _ => "not inspected".into(),
            },
            under_declared,
            reasoning: action.reasoning.clone(),
            confidence: action.confidence.map(|c| format!("{:.0}%", c * 100.0)),
            decision: request.verdict.decision.to_string(),
            reasons,
            suggestion: request.verdict.suggestion.clone(),
            digest: request.digest.to_hex(),
            requested_at: request.requested_at,
            expires_at: request.expires_at,
            hidden_characters: false,
        }
    }

    /// The request as lines of text for a terminal or a chat message.
    pub(crate) fn to_text(&self, now: Timestamp) -> String {
        let mut out = String::new();
        let none = "none";
        if self.hidden_characters {
            let _ = writeln!(out, "{HIDDEN_WARNING}");
        }
        let _ = writeln!(out, "Approval request {}", self.id);
        let _ = write!(out, "  agent:        {}", self.agent);
        if let Some(who) = &self.on_behalf_of {
            let _ = write!(out, " (for {who})");
        }
        out.push('\n');
        let _ = writeln!(out, "  tool:         {}", self.tool);
        if let Some(task) = &self.task {
            let _ = writeln!(out, "  task:         {task}");
        }
        let _ = writeln!(
            out,
            "  environment:  declared {}; derived {}",
            self.declared_environment.as_deref().unwrap_or("none"),
            if self.derived_environments.is_empty() {
                none.to_string()
            } else {
                self.derived_environments.join(", ")
            }
        );
        let _ = writeln!(out, "  blast radius: declared {}", self.declared_blast);
        let _ = writeln!(
            out,
            "                derived  {}{}",
            self.derived_blast,
            if self.under_declared {
                "  (exceeds what was declared)"
            } else {
                ""
            }
        );
        let _ = writeln!(
            out,
            "  reasoning:    {}",
            self.reasoning.as_deref().unwrap_or("none given")
        );
        if let Some(confidence) = &self.confidence {
            let _ = writeln!(out, "  confidence:   {confidence}");
        }
        let _ = writeln!(out, "  effects:");
        if self.effects.is_empty() {
            let _ = writeln!(out, "    (none derived)");
        }
        for effect in &self.effects {
            let _ = writeln!(out, "    - {effect}");
        }
        for note in &self.notes {
            let _ = writeln!(out, "    note: {note}");
        }
        let _ = writeln!(out, "  verdict:      {}", self.decision);
        for reason in &self.reasons {
            let _ = writeln!(out, "    - {reason}");
        }
        if let Some(suggestion) = &self.suggestion {
            let _ = writeln!(out, "  suggestion:   {suggestion}");
        }
        let _ = writeln!(out, "  raw input:");
        for line in self.raw_input.lines() {
            let _ = writeln!(out, "    {line}");
        }
        let _ = writeln!(
            out,
            "  requested {} ago; expires in {}",
            duration_text(now.0.saturating_sub(self.requested_at.0)),
            duration_text(self.expires_at.0.saturating_sub(now.0))
        );
        let _ = writeln!(out, "  digest:       {}", self.digest);
        strip_controls(&out)
    }
}

/// Removes terminal control characters (escape sequences could rewrite what the person sees),
/// keeping newlines and tabs.
pub(crate) fn strip_controls(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

fn reason_line(reason: &Reason) -> String {
    let mut line = format!("{} by {}", reason.decision, reason.verifier);
    if let Some(rule) = &reason.rule {
        let _ = write!(line, " (rule {rule})");
    }
    let _ = write!(line, ": {}", reason.message);
    line
}

fn effect_line(effect: &Effect) -> String {
    let mut line = format!("{} {}", effect.operation, effect.resource);
    if let Some(env) = &effect.environment {
        let _ = write!(line, " [{env}]");
    }
    let flags: Vec<&str> = [
        (effect.recursive, "recursive"),
        (effect.forced, "forced"),
        (effect.unbounded, "unbounded"),
        (effect.opaque, "opaque"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .chain(effect.tags.iter().map(String::as_str))
    .collect();
    if !flags.is_empty() {
        let _ = write!(line, " ({})", flags.join(", "));
    }
    if let Some(evidence) = &effect.evidence {
        let _ = write!(line, " from: {evidence}");
    }
    line
}

fn blast_line(blast: &BlastRadius) -> String {
    let mut parts = Vec::new();
    if blast.unbounded {
        parts.push("unbounded".to_string());
    } else if let Some(n) = blast.resources {
        parts.push(format!("{n} resource{}", if n == 1 { "" } else { "s" }));
    }
    let flag = |name: &str, value: Option<bool>, yes: &str, no: &str| {
        value.map(|v| format!("{name}: {}", if v { yes } else { no }))
    };
    parts.extend(flag("reversible", blast.reversible, "yes", "no"));
    parts.extend(flag("data loss", blast.data_loss, "possible", "none"));
    parts.extend(flag("downtime", blast.downtime, "possible", "none"));
    if parts.is_empty() {
        "unknown".into()
    } else {
        parts.join(", ")
    }
}

/// `90` → `1m 30s`; whole seconds only.
pub(crate) fn duration_text(millis: u64) -> String {
    let secs = millis / 1000;
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m {}s", secs / 60, secs % 60),
        _ => format!("{}h {}m", secs / 3600, (secs % 3600) / 60),
    }
}

/// A timestamp as `2026-11-23 20:42:48 UTC`.
pub(crate) fn utc_text(at: Timestamp) -> String {
    let secs = at.0 / 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn unescape(text: &str) -> String {
        text.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    }

    proptest! {
        #[test]
        fn escaped_text_has_no_markup_and_round_trips(text in any::<String>()) {
            let escaped = escape(&text);
            prop_assert!(!escaped.contains(['<', '>', '"', '\'']));
            // Every `&` starts one of the five entities.
            for (i, _) in escaped.match_indices('&') {
                let rest = &escaped[i..];
                prop_assert!(["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                    .iter()
                    .any(|e| rest.starts_with(e)));
            }
            prop_assert_eq!(unescape(&escaped), text);
        }

        #[test]
        fn stripped_text_has_no_control_but_newline_and_tab(text in any::<String>()) {
            let stripped = strip_controls(&text);
            prop_assert!(stripped.chars().all(|c| !c.is_control() || c == '\n' || c == '\t'));
            prop_assert_eq!(stripped.chars().count(), text.chars().count());
        }
    }

    #[test]
    fn utc_text_matches_known_dates() {
        assert_eq!(utc_text(Timestamp(0)), "1970-01-01 00:00:00 UTC");
        assert_eq!(
            utc_text(Timestamp(951_782_400_000)),
            "2000-02-29 00:00:00 UTC"
        );
        assert_eq!(
            utc_text(Timestamp(1_795_466_568_000)),
            "2026-11-23 20:42:48 UTC"
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_text(999), "0s");
        assert_eq!(duration_text(90_000), "1m 30s");
        assert_eq!(duration_text(3_600_000 * 2 + 60_000), "2h 1m");
    }
}
