//! Words as bash resolves them: brace expansion, tilde expansion, parameter expansion where the
//! value is known, command substitution (inspected, its output unknown), ANSI-C decoding,
//! quote removal and field splitting of unquoted expansions.
//!
//! What cannot be resolved is kept as `*` and the word is marked dynamic, so that a model
//! never reads it as something narrower than it may be.

use std::panic::{AssertUnwindSafe, catch_unwind};

use brush_parser::ParserOptions;
use brush_parser::word::{Parameter, ParameterExpr, WordPiece, WordPieceWithSource};

use super::{State, Walker};

/// How many words one brace expansion may produce before the word is left unresolved.
const MAX_BRACE_WORDS: usize = 64;

/// One resolved word.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Word {
    /// The text, with unknown parts replaced by `*`.
    pub text: String,
    /// Some part is only known at run time.
    pub dynamic: bool,
    /// Unquoted glob characters.
    pub glob: bool,
}

impl Word {
    /// A word known exactly.
    pub(crate) fn literal(text: &str) -> Self {
        Self {
            text: text.to_string(),
            ..Self::default()
        }
    }

    /// A word nothing is known of.
    pub(crate) fn unknown() -> Self {
        Self {
            text: "*".into(),
            dynamic: true,
            glob: true,
        }
    }

    /// The same word with other text (an option's attached value).
    pub(crate) fn with_text(&self, text: &str) -> Self {
        Self {
            text: text.to_string(),
            ..self.clone()
        }
    }

    /// Its start is only known at run time, so it may turn out to be an option.
    pub(crate) fn may_be_option(&self) -> bool {
        self.dynamic && self.text.starts_with('*')
    }
}

/// Characters that never need the word parser.
fn is_plain(raw: &str) -> bool {
    !raw.is_empty()
        && raw
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-_./=:,@%+^".contains(&c))
}

impl Walker<'_> {
    /// Resolves one word of the command line into the fields it becomes.
    pub(crate) fn expand(&mut self, raw: &str, state: &State, depth: usize) -> Vec<Word> {
        if is_plain(raw) {
            return vec![Word::literal(raw)];
        }
        let mut out = Vec::new();
        match brace_expand(raw) {
            Some(words) => {
                for word in words {
                    self.expand_one(&word, state, depth, &mut out);
                }
            }
            None => {
                let mut word = Word::unknown();
                word.text = raw.to_string();
                out.push(word);
            }
        }
        out
    }

    /// Resolves a word that must stay one word (an assignment's value, a redirection target,
    /// a here-string): fields are joined with a space.
    pub(crate) fn expand_single(&mut self, raw: &str, state: &State, depth: usize) -> Word {
        let mut words = self.expand(raw, state, depth);
        if words.len() == 1 {
            return words.remove(0);
        }
        let mut joined = Word::default();
        for (i, word) in words.iter().enumerate() {
            if i > 0 {
                joined.text.push(' ');
            }
            joined.text.push_str(&word.text);
            joined.dynamic |= word.dynamic;
            joined.glob |= word.glob;
        }
        if words.is_empty() {
            joined.dynamic = false;
        }
        joined
    }

    fn expand_one(&mut self, raw: &str, state: &State, depth: usize, out: &mut Vec<Word>) {
        if is_plain(raw) {
            out.push(Word::literal(raw));
            return;
        }
        let options = ParserOptions::default();
        let parsed = catch_unwind(AssertUnwindSafe(|| {
            brush_parser::word::parse(raw, &options)
        }));
        match parsed.ok().and_then(Result::ok) {
            Some(pieces) => {
                let mut fields = Fields::default();
                self.pieces(&pieces, state, depth, false, &mut fields);
                fields.finish(out);
            }
            None => {
                let mut word = Word::unknown();
                word.text = raw.replace(['"', '\''], "");
                out.push(word);
            }
        }
    }

    fn pieces(
        &mut self,
        pieces: &[WordPieceWithSource],
        state: &State,
        depth: usize,
        quoted: bool,
        fields: &mut Fields,
    ) {
        for piece in pieces {
            match &piece.piece {
                WordPiece::Text(text) => {
                    if !quoted && text.contains(['*', '?', '[']) {
                        fields.current.glob = true;
                    }
                    fields.push_str(text);
                }
                WordPiece::SingleQuotedText(text) => fields.push_str(text),
                WordPiece::AnsiCQuotedText(text) => match decode_ansi_c(text) {
                    Some(decoded) => fields.push_str(&decoded),
                    None => fields.push_unknown(),
                },
                WordPiece::DoubleQuotedSequence(inner)
                | WordPiece::GettextDoubleQuotedSequence(inner) => {
                    fields.quoted_part = true;
                    self.pieces(inner, state, depth, true, fields);
                }
                WordPiece::TildePrefix(user) => match self.tilde(user, state) {
                    Some(path) => fields.push_str(&path),
                    None => fields.push_unknown(),
                },
                WordPiece::ParameterExpansion(expr) => match self.parameter(expr, state) {
                    Some(value) if quoted => fields.push_str(&value),
                    Some(value) => fields.push_split(&value),
                    None => fields.push_unknown(),
                },
                WordPiece::CommandSubstitution(script)
                | WordPiece::BackquotedCommandSubstitution(script) => {
                    self.nesting.push("$(…)".into());
                    let mut inner = state.clone();
                    self.script(script, &mut inner, depth + 1);
                    self.nesting.pop();
                    fields.push_unknown();
                }
                WordPiece::EscapeSequence(text) => {
                    fields.push_str(text.strip_prefix('\\').unwrap_or(text));
                }
                WordPiece::ArithmeticExpression(_) => fields.push_unknown(),
            }
        }
    }

    fn tilde(&self, user: &str, state: &State) -> Option<String> {
        match user {
            "" => self
                .home
                .clone()
                .or_else(|| state.vars.get("HOME").cloned()),
            "+" => state.cwd.clone(),
            "root" => Some("/root".into()),
            "-" => None,
            name if name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)) =>
            {
                Some(format!("/home/{name}"))
            }
            _ => None,
        }
    }

    pub(crate) fn parameter(&self, expr: &ParameterExpr, state: &State) -> Option<String> {
        let ParameterExpr::Parameter {
            parameter: Parameter::Named(name),
            indirect: false,
        } = expr
        else {
            return None;
        };
        if let Some(value) = state.vars.get(name) {
            return Some(value.clone());
        }
        match name.as_str() {
            "HOME" => self.home.clone(),
            "PWD" => state.cwd.clone(),
            _ => None,
        }
    }
}

/// The fields a word becomes while its pieces are resolved.
#[derive(Default)]
struct Fields {
    done: Vec<Word>,
    current: Word,
    /// The current field has a part in quotes, so it exists even when empty (`""`).
    quoted_part: bool,
    /// The current field has any text or part at all.
    started: bool,
}

impl Fields {
    fn push_str(&mut self, text: &str) {
        self.current.text.push_str(text);
        self.started = true;
    }

    fn push_unknown(&mut self) {
        self.current.text.push('*');
        self.current.dynamic = true;
        self.started = true;
    }

    /// An unquoted expansion: split on blanks, and its glob characters are live.
    fn push_split(&mut self, value: &str) {
        if value.contains(['*', '?', '[']) {
            self.current.glob = true;
        }
        let mut parts = value.split([' ', '\t', '\n']).peekable();
        let mut first = true;
        while let Some(part) = parts.next() {
            if !first {
                self.end_field();
            }
            first = false;
            if !part.is_empty() {
                self.push_str(part);
                if value.contains(['*', '?', '[']) {
                    self.current.glob = true;
                }
            }
            if parts.peek().is_none() {
                break;
            }
        }
    }

    fn end_field(&mut self) {
        if self.started && (!self.current.text.is_empty() || self.quoted_part) {
            self.done.push(std::mem::take(&mut self.current));
        } else {
            self.current = Word::default();
        }
        self.quoted_part = false;
        self.started = false;
    }

    fn finish(mut self, out: &mut Vec<Word>) {
        if !self.current.text.is_empty() || self.quoted_part {
            self.done.push(self.current);
        }
        out.extend(self.done);
    }
}

/// Decodes the inside of `$'…'`. `None` for an escape it does not know.
pub(crate) fn decode_ansi_c(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(escape) = chars.next() else {
            out.push('\\');
            break;
        };
        let simple = match escape {
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'e' | 'E' => Some('\u{1b}'),
            'f' => Some('\u{c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\u{b}'),
            '\\' => Some('\\'),
            '\'' => Some('\''),
            '"' => Some('"'),
            '?' => Some('?'),
            _ => None,
        };
        if let Some(decoded) = simple {
            out.push(decoded);
            continue;
        }
        let (radix, max) = match escape {
            'x' => (16, 2),
            'u' => (16, 4),
            'U' => (16, 8),
            '0'..='7' => (8, 2),
            'c' => {
                let control = chars.next()?;
                out.push(char::from((control as u8) & 0x1f));
                continue;
            }
            other => {
                out.push('\\');
                out.push(other);
                continue;
            }
        };
        let mut digits = String::new();
        if radix == 8 {
            digits.push(escape);
        }
        while digits.len() < max + usize::from(radix == 8) {
            match chars.peek() {
                Some(d) if d.is_digit(radix) => {
                    digits.push(*d);
                    chars.next();
                }
                _ => break,
            }
        }
        if digits.is_empty() {
            out.push('\\');
            out.push(escape);
            continue;
        }
        let code = u32::from_str_radix(&digits, radix).ok()?;
        if escape == 'x' || radix == 8 {
            // A byte: ASCII is the character; a high byte would be part of a UTF-8 sequence
            // the inspector does not reassemble.
            if code > 0x7f {
                return None;
            }
        }
        out.push(char::from_u32(code)?);
    }
    Some(out)
}

/// Brace expansion on the raw word: `a{b,c}d` → `abd`, `acd`; `{1..3}`. Quoted and escaped
/// braces, and braces of `${…}`, are left alone. `None` when it would make too many words.
pub(crate) fn brace_expand(raw: &str) -> Option<Vec<String>> {
    if !raw.contains('{') {
        return Some(vec![raw.to_string()]);
    }
    let mut out = Vec::new();
    expand_into(raw, &mut out, 0)?;
    Some(out)
}

fn expand_into(raw: &str, out: &mut Vec<String>, depth: usize) -> Option<()> {
    if depth > 16 {
        return None;
    }
    let Some((open, close, alternatives)) = first_brace(raw) else {
        out.push(raw.to_string());
        return Some(());
    };
    let prefix = &raw[..open];
    let suffix = &raw[close + 1..];
    for alternative in alternatives {
        if out.len() >= MAX_BRACE_WORDS {
            return None;
        }
        expand_into(&format!("{prefix}{alternative}{suffix}"), out, depth + 1)?;
    }
    if out.len() > MAX_BRACE_WORDS {
        return None;
    }
    Some(())
}

/// The first unquoted brace expression: its byte range and its alternatives.
fn first_brace(raw: &str) -> Option<(usize, usize, Vec<String>)> {
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'\'' => i = skip_until(bytes, i + 1, b'\'')? + 1,
            b'"' => i = skip_double(bytes, i + 1)? + 1,
            b'$' if bytes.get(i + 1) == Some(&b'{') => i = matching(bytes, i + 1)? + 1,
            b'$' if bytes.get(i + 1) == Some(&b'(') => i = matching(bytes, i + 1)? + 1,
            b'{' => {
                if let Some(close) = matching(bytes, i) {
                    if let Some(alternatives) = alternatives(&raw[i + 1..close]) {
                        return Some((i, close, alternatives));
                    }
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    None
}

fn skip_until(bytes: &[u8], from: usize, end: u8) -> Option<usize> {
    (from..bytes.len()).find(|&j| bytes[j] == end)
}

fn skip_double(bytes: &[u8], from: usize) -> Option<usize> {
    let mut j = from;
    while j < bytes.len() {
        match bytes[j] {
            b'\\' => j += 2,
            b'"' => return Some(j),
            _ => j += 1,
        }
    }
    None
}

/// The index of the bracket closing the one at `open` (`{`/`}` or `(`/`)`), skipping quotes.
fn matching(bytes: &[u8], open: usize) -> Option<usize> {
    let (opening, closing) = match bytes.get(open)? {
        b'{' => (b'{', b'}'),
        b'(' => (b'(', b')'),
        _ => return None,
    };
    let mut level = 0usize;
    let mut j = open;
    while j < bytes.len() {
        match bytes[j] {
            b'\\' => j += 1,
            b'\'' => j = skip_until(bytes, j + 1, b'\'')?,
            b'"' => j = skip_double(bytes, j + 1)?,
            c if c == opening => level += 1,
            c if c == closing => {
                level -= 1;
                if level == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
        j += 1;
    }
    None
}

/// The alternatives of a brace body: `a,b` (top-level commas) or a sequence `1..3[..1]`.
fn alternatives(body: &str) -> Option<Vec<String>> {
    let bytes = body.as_bytes();
    let mut parts = Vec::new();
    let mut start = 0;
    let mut j = 0;
    while j < bytes.len() {
        match bytes[j] {
            b'\\' => j += 1,
            b'\'' => j = skip_until(bytes, j + 1, b'\'')?,
            b'"' => j = skip_double(bytes, j + 1)?,
            b'{' | b'(' => j = matching(bytes, j)?,
            b',' => {
                parts.push(body[start..j].to_string());
                start = j + 1;
            }
            _ => {}
        }
        j += 1;
    }
    if !parts.is_empty() {
        parts.push(body[start..].to_string());
        return Some(parts);
    }
    sequence(body)
}

fn sequence(body: &str) -> Option<Vec<String>> {
    let mut pieces = body.split("..");
    let start = pieces.next()?;
    let end = pieces.next()?;
    let step: i64 = match pieces.next() {
        Some(step) => step.parse().ok()?,
        None => 1,
    };
    if pieces.next().is_some() {
        return None;
    }
    let step = step.unsigned_abs().max(1);
    if let (Ok(a), Ok(b)) = (start.parse::<i64>(), end.parse::<i64>()) {
        let count = a.abs_diff(b) / step + 1;
        if count > MAX_BRACE_WORDS as u64 {
            return Some(vec!["*".into()]);
        }
        let mut values = Vec::new();
        let mut value = a;
        for _ in 0..count {
            values.push(value.to_string());
            value = if a <= b {
                value + step as i64
            } else {
                value - step as i64
            };
        }
        return Some(values);
    }
    let (mut a, mut b) = (start.chars(), end.chars());
    let (Some(a), None, Some(b), None) = (a.next(), a.next(), b.next(), b.next()) else {
        return None;
    };
    if !a.is_ascii_alphabetic() || !b.is_ascii_alphabetic() {
        return None;
    }
    let (a, b) = (a as u8, b as u8);
    let range: Vec<u8> = if a <= b {
        (a..=b).step_by(step as usize).collect()
    } else {
        (b..=a).rev().step_by(step as usize).collect()
    };
    Some(
        range
            .into_iter()
            .map(|c| char::from(c).to_string())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansi_c() {
        assert_eq!(decode_ansi_c(r"\x2e\x2e/a").unwrap(), "../a");
        assert_eq!(decode_ansi_c(r"\162m").unwrap(), "rm");
        assert_eq!(decode_ansi_c(r"a\nb\u0041").unwrap(), "a\nbA");
        assert!(decode_ansi_c(r"\xff").is_none());
    }

    #[test]
    fn braces() {
        assert_eq!(brace_expand("a{b,c}d").unwrap(), ["abd", "acd"]);
        assert_eq!(brace_expand("{x,../y}").unwrap(), ["x", "../y"]);
        assert_eq!(brace_expand("f{1..3}").unwrap(), ["f1", "f2", "f3"]);
        assert_eq!(brace_expand("'{a,b}'").unwrap(), ["'{a,b}'"]);
        assert_eq!(brace_expand("${X}{a,b}").unwrap(), ["${X}a", "${X}b"]);
        assert_eq!(brace_expand("{a}").unwrap(), ["{a}"]);
        assert_eq!(brace_expand("{a,{b,c}}").unwrap(), ["a", "b", "c"]);
        assert!(brace_expand("{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}").is_none());
    }
}
