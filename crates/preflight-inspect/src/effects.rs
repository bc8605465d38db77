//! Small helpers for building effects.

use preflight_core::{Effect, Operation};

/// An effect marked opaque.
pub(crate) fn opaque(operation: Operation, resource: impl Into<String>) -> Effect {
    let mut effect = Effect::new(operation, resource);
    effect.opaque = true;
    effect
}

/// Adds `tag` unless present.
pub(crate) fn tag(effect: &mut Effect, tag: &str) {
    if !effect.has_tag(tag) {
        effect.tags.push(tag.to_string());
    }
}

/// Sets an attribute.
pub(crate) fn attr(effect: &mut Effect, key: &str, value: impl Into<String>) {
    effect.attributes.insert(key.to_string(), value.into());
}

/// Shortens text for evidence.
pub(crate) fn clip(text: &str) -> String {
    const MAX: usize = 160;
    if text.len() <= MAX || text.chars().count() <= MAX {
        text.to_string()
    } else {
        let mut out: String = text.chars().take(MAX).collect();
        out.push('…');
        out
    }
}
