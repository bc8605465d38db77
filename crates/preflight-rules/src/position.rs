//! Positions in the policy text, for errors and lint findings.

/// Line and column (both 1-based) of byte `offset` in `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before
        .get(line_start..)
        .map_or(1, |s| s.chars().count() + 1);
    (line, column)
}

/// Where things are in the text, found by looking the written values up. Works for TOML and
/// JSON alike; falls back to the enclosing rule (or the top of the file) when a value was
/// written with escapes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Positions {
    /// Byte offset of each rule's id.
    pub(crate) rules: Vec<usize>,
    /// Byte offset of each test's name.
    pub(crate) tests: Vec<usize>,
}

impl Positions {
    pub(crate) fn find(text: &str, rule_ids: &[&str], test_names: &[&str]) -> Self {
        let mut cursor = 0;
        let mut rules = Vec::with_capacity(rule_ids.len());
        for id in rule_ids {
            let at = find_value(text, cursor, "id", id).unwrap_or(cursor);
            rules.push(at);
            cursor = next_char(text, at);
        }
        let mut cursor = 0;
        let mut tests = Vec::with_capacity(test_names.len());
        for name in test_names {
            let at = find_value(text, cursor, "name", name).unwrap_or(cursor);
            tests.push(at);
            cursor = next_char(text, at);
        }
        Self { rules, tests }
    }
}

/// The offset of the character after the one at `at` (a char boundary).
fn next_char(text: &str, at: usize) -> usize {
    text.get(at..)
        .and_then(|rest| rest.chars().next())
        .map_or(at.saturating_add(1), |c| at + c.len_utf8())
}

/// The offset of `key = "value"` / `"key": "value"` at or after `from`.
fn find_value(text: &str, from: usize, key: &str, value: &str) -> Option<usize> {
    let mut start = from;
    while let Some(found) = find_quoted(text, start, value) {
        let line_start = text
            .get(..found)
            .and_then(|s| s.rfind('\n'))
            .map_or(0, |i| i + 1);
        let head = text.get(line_start..found).unwrap_or("");
        let head = head.trim_start().trim_start_matches(['{', ',', ' ']);
        if head.starts_with(key) || head.starts_with(&format!("\"{key}\"")) || head.contains(key) {
            return Some(found);
        }
        start = found + 1;
    }
    None
}

/// The offset of `value` written as a quoted string at or after `from`.
pub(crate) fn find_quoted(text: &str, from: usize, value: &str) -> Option<usize> {
    let rest = text.get(from..)?;
    for quote in ['"', '\''] {
        let needle = format!("{quote}{value}{quote}");
        if let Some(i) = rest.find(&needle) {
            return Some(from + i);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let text = "a = 1\nbb = \"x\"\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        assert_eq!(line_column(text, 11), (2, 6));
    }

    #[test]
    fn finds_rule_ids_in_order() {
        let text = "[[rule]]\nid = \"a\"\n[[rule]]\nid = \"b\"\nreason = \"a\"\n";
        let positions = Positions::find(text, &["a", "b"], &[]);
        let same = Positions::find("id = \"é\"\nid = \"é\"\n", &["é", "é"], &[]);
        assert_eq!(same.rules, [5, 15]);
        assert_eq!(line_column(text, positions.rules[0]).0, 2);
        assert_eq!(line_column(text, positions.rules[1]).0, 4);
    }
}
