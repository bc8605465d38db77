//! A deliberately small lexer for the command lines the generator rewrites: a list of simple
//! commands joined by `;`, `&&`, `||`, `|`, `&` or newlines. Anything beyond that (subshells,
//! groups, here-documents, command substitution, reserved words, comments) makes it give up,
//! and the line is only rewritten as a whole. What it accepts, it reproduces exactly.

/// One word as written, with what is known about its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The word exactly as written.
    pub raw: String,
    /// Its value when it has no expansion at all (quotes and backslashes removed).
    pub value: Option<String>,
    /// It has an unquoted glob character (`*`, `?`, `[`).
    pub glob: bool,
    /// It starts with an unquoted `~`.
    pub tilde: bool,
}

impl Word {
    /// A plain word: its raw text is its value (no quoting needed).
    pub fn plain(text: &str) -> Self {
        Self {
            raw: text.to_string(),
            value: Some(text.to_string()),
            glob: false,
            tilde: false,
        }
    }

    /// The static value, when the word has one.
    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }
}

/// A simple command: `NAME=value… word… redirection…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Leading assignments, as written.
    pub assigns: Vec<String>,
    /// The command word and its arguments.
    pub words: Vec<Word>,
    /// Redirections, as written (`>/dev/null`, `2>&1`, `123>/dev/null`).
    pub redirs: Vec<String>,
}

impl Segment {
    /// The segment as shell text.
    pub fn render(&self) -> String {
        let mut parts: Vec<&str> = self.assigns.iter().map(String::as_str).collect();
        parts.extend(self.words.iter().map(|w| w.raw.as_str()));
        parts.extend(self.redirs.iter().map(String::as_str));
        parts.join(" ")
    }

    /// The static command name.
    pub fn name(&self) -> Option<&str> {
        self.words.first().and_then(Word::value)
    }
}

/// A lexed line: `segments[0] ops[0] segments[1] …`, and possibly a trailing operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The simple commands.
    pub segments: Vec<Segment>,
    /// The operator after each segment (`;`, `&&`, `||`, `|`, `|&`, `&`, `\n`), or empty for
    /// the last one.
    pub ops: Vec<String>,
}

impl Line {
    /// The line as shell text, with segment `index` replaced by `replacement`.
    pub fn render_with(&self, index: usize, replacement: &str) -> String {
        let mut out = String::new();
        for (i, segment) in self.segments.iter().enumerate() {
            if i == index {
                out.push_str(replacement);
            } else {
                out.push_str(&segment.render());
            }
            match self.ops.get(i).map(String::as_str) {
                Some("") | None => {}
                Some("\n") => out.push('\n'),
                Some(op) => {
                    out.push(' ');
                    out.push_str(op);
                    if i + 1 < self.segments.len() {
                        out.push(' ');
                    }
                }
            }
        }
        out
    }

    /// Whether segment `index` reads a pipe from the segment before it.
    pub fn receives_pipe(&self, index: usize) -> bool {
        index > 0
            && self
                .ops
                .get(index - 1)
                .is_some_and(|op| op == "|" || op == "|&")
    }

    /// Whether segment `index` runs in the background (`cmd &`) or in a pipeline, where a
    /// change to the shell's state would not last anyway.
    pub fn in_pipeline(&self, index: usize) -> bool {
        self.receives_pipe(index)
            || self
                .ops
                .get(index)
                .is_some_and(|op| op == "|" || op == "|&")
    }
}

const RESERVED: [&str; 21] = [
    "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac",
    "function", "select", "time", "[[", "]]", "!", "{", "}", "coproc",
];

/// Lexes `text`, or `None` when it uses anything beyond simple commands and operators.
pub fn lex(text: &str) -> Option<Line> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut segments = Vec::new();
    let mut ops = Vec::new();
    let mut current = Segment {
        assigns: Vec::new(),
        words: Vec::new(),
        redirs: Vec::new(),
    };
    loop {
        while i < chars.len() && (chars[i] == ' ' || chars[i] == '\t') {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        // Operators.
        let op: Option<(&str, usize)> = match (c, next) {
            ('&', Some('&')) => Some(("&&", 2)),
            ('|', Some('|')) => Some(("||", 2)),
            ('|', Some('&')) => Some(("|&", 2)),
            ('&', Some('>')) => None,
            ('&', _) => Some(("&", 1)),
            ('|', _) => Some(("|", 1)),
            (';', Some(';')) => return None,
            (';', _) => Some((";", 1)),
            ('\n', _) => Some(("\n", 1)),
            _ => None,
        };
        if let Some((op, len)) = op {
            if current.words.is_empty()
                && (current.assigns.is_empty() || !current.redirs.is_empty())
            {
                // `; ;`, a leading operator, or redirections alone: not simple.
                return None;
            }
            segments.push(std::mem::replace(
                &mut current,
                Segment {
                    assigns: Vec::new(),
                    words: Vec::new(),
                    redirs: Vec::new(),
                },
            ));
            ops.push(op.to_string());
            i += len;
            continue;
        }
        if matches!(c, '(' | ')' | '#' | '`') {
            return None;
        }
        if c == '<' || c == '>' || (c == '&' && next == Some('>')) {
            let (redir, end) = lex_redirection(&chars, i, "")?;
            current.redirs.push(redir);
            i = end;
            continue;
        }
        let (word, end) = lex_word(&chars, i)?;
        i = end;
        // `123>/dev/null`: digits glued to a redirection operator are its descriptor.
        if i < chars.len()
            && (chars[i] == '<' || chars[i] == '>')
            && !word.raw.is_empty()
            && word.raw.chars().all(|c| c.is_ascii_digit())
        {
            let (redir, end) = lex_redirection(&chars, i, &word.raw)?;
            current.redirs.push(redir);
            i = end;
            continue;
        }
        if current.words.is_empty() {
            if is_assignment(&word.raw) {
                if word.raw.contains("=(") {
                    return None;
                }
                current.assigns.push(word.raw);
                continue;
            }
            if RESERVED.contains(&word.raw.as_str()) || word.raw.starts_with("((") {
                return None;
            }
        }
        current.words.push(word);
    }
    if current.words.is_empty() && !current.assigns.is_empty() && current.redirs.is_empty() {
        segments.push(current);
        ops.push(String::new());
    } else if current.words.is_empty() {
        if !current.redirs.is_empty() {
            return None;
        }
        if let Some(last) = ops.last_mut() {
            if last == "\n" {
                return None;
            }
            // A trailing `&` or `;` stays as the last segment's operator.
        } else {
            return None;
        }
    } else {
        segments.push(current);
        ops.push(String::new());
    }
    if segments.is_empty() {
        return None;
    }
    Some(Line { segments, ops })
}

fn is_assignment(raw: &str) -> bool {
    let Some(eq) = raw.find('=') else {
        return false;
    };
    let name = raw[..eq].trim_end_matches('+');
    !name.is_empty()
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Lexes a redirection starting at `start` (its operator), with an optional descriptor prefix
/// already read; returns its text and the index after its target word.
fn lex_redirection(chars: &[char], start: usize, prefix: &str) -> Option<(String, usize)> {
    let mut i = start;
    let mut op = String::from(prefix);
    // Longest operators first.
    let rest: String = chars[i..chars.len().min(i + 3)].iter().collect();
    let operator = [
        "&>>", "<<<", ">>", "<&", ">&", ">|", "<>", "&>", "<<", "<", ">",
    ]
    .into_iter()
    .find(|o| rest.starts_with(o))?;
    if operator == "<<" {
        return None; // here-documents are not lexed
    }
    op.push_str(operator);
    i += operator.chars().count();
    if chars.get(i) == Some(&'(') {
        return None; // process substitution
    }
    while i < chars.len() && (chars[i] == ' ' || chars[i] == '\t') {
        i += 1;
    }
    let (target, end) = lex_word(chars, i)?;
    if target.raw.is_empty() {
        return None;
    }
    Some((format!("{op}{}", target.raw), end))
}

/// Lexes one word starting at `start`; `None` on a construct the lexer does not handle.
fn lex_word(chars: &[char], start: usize) -> Option<(Word, usize)> {
    let mut i = start;
    let mut value = String::new();
    let mut is_static = true;
    let mut glob = false;
    let tilde = chars.get(start) == Some(&'~');
    if tilde {
        is_static = false;
    }
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | ';' | '&' | '|' | '<' | '>' | '(' | ')' => break,
            '`' => return None,
            '\'' => {
                let end = chars[i + 1..].iter().position(|&c| c == '\'')? + i + 1;
                value.extend(&chars[i + 1..end]);
                i = end + 1;
            }
            '"' => {
                i += 1;
                loop {
                    let c = *chars.get(i)?;
                    match c {
                        '"' => break,
                        '\\' => {
                            let n = *chars.get(i + 1)?;
                            if matches!(n, '$' | '`' | '"' | '\\') {
                                value.push(n);
                            } else if n != '\n' {
                                value.push('\\');
                                value.push(n);
                            }
                            i += 2;
                        }
                        '`' => return None,
                        '$' => {
                            if chars.get(i + 1) == Some(&'(') {
                                return None;
                            }
                            is_static = false;
                            i += 1;
                        }
                        _ => {
                            value.push(c);
                            i += 1;
                        }
                    }
                }
                i += 1;
            }
            '\\' => {
                let n = *chars.get(i + 1)?;
                if n != '\n' {
                    value.push(n);
                }
                i += 2;
            }
            '$' => {
                match chars.get(i + 1) {
                    Some('(') => return None,
                    Some('\'') => {
                        // ANSI-C string: not decoded, but lexed to its end.
                        let mut j = i + 2;
                        loop {
                            match chars.get(j)? {
                                '\\' => j += 2,
                                '\'' => break,
                                _ => j += 1,
                            }
                        }
                        i = j + 1;
                        is_static = false;
                        continue;
                    }
                    Some('{') => {
                        let end = chars[i..].iter().position(|&c| c == '}')? + i;
                        i = end + 1;
                        is_static = false;
                        continue;
                    }
                    _ => {}
                }
                is_static = false;
                i += 1;
            }
            '*' | '?' | '[' => {
                glob = true;
                is_static = false;
                value.push(c);
                i += 1;
            }
            '{' => {
                // Brace expansion when a comma or `..` follows before the closing brace.
                let close = chars[i..].iter().position(|&c| c == '}');
                if let Some(close) = close {
                    let inner: String = chars[i + 1..i + close].iter().collect();
                    if inner.contains(',') || inner.contains("..") {
                        is_static = false;
                    }
                }
                value.push(c);
                i += 1;
            }
            _ => {
                value.push(c);
                i += 1;
            }
        }
    }
    let raw: String = chars[start..i].iter().collect();
    Some((
        Word {
            raw,
            value: is_static.then_some(value),
            glob,
            tilde,
        },
        i,
    ))
}

/// `text` in single quotes, each `'` written as `'\''`.
pub fn single_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// `text` in double quotes, with `\`, `"`, `$` and `` ` `` escaped.
pub fn double_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// `text` as a shell word: bare when it has only safe characters, else single-quoted.
pub fn shell_word(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c))
    {
        text.to_string()
    } else {
        single_quote(text)
    }
}

/// Whether `text` is only characters that need no quoting.
pub fn is_bare(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexes_simple_lines_and_renders_them_back() {
        let line = lex("FOO=1 rm -rf 123>/dev/null && echo 'a b' \"$HOME\" | wc -l").unwrap();
        assert_eq!(line.segments.len(), 3);
        assert_eq!(line.segments[0].assigns, vec!["FOO=1"]);
        assert_eq!(line.segments[0].redirs, vec!["123>/dev/null"]);
        assert_eq!(line.segments[0].name(), Some("rm"));
        assert_eq!(line.segments[1].words[1].value(), Some("a b"));
        assert_eq!(line.segments[1].words[2].value(), None);
        assert!(line.receives_pipe(2));
        assert_eq!(
            line.render_with(9, ""),
            "FOO=1 rm -rf 123>/dev/null && echo 'a b' \"$HOME\" | wc -l"
        );
    }

    #[test]
    fn marks_globs_tildes_and_braces() {
        let line = lex("rm -rf ~/x /tmp/* {a,b} r\\m").unwrap();
        let words = &line.segments[0].words;
        assert!(words[2].tilde && words[2].value.is_none());
        assert!(words[3].glob);
        assert!(words[4].value.is_none());
        assert_eq!(words[5].value(), Some("rm"));
    }

    #[test]
    fn gives_up_on_compound_syntax() {
        for text in [
            "(rm -rf /)",
            "echo $(git status)",
            "cat <<EOF\nx\nEOF",
            "if true; then rm x; fi",
            "echo `id`",
            "{ rm x; }",
            "diff <(ls) <(ls -a)",
            "echo 'unterminated",
            "ls # comment",
        ] {
            assert!(lex(text).is_none(), "{text}");
        }
    }

    #[test]
    fn keeps_a_trailing_background_operator() {
        let line = lex("sleep 1 &").unwrap();
        assert_eq!(line.render_with(9, ""), "sleep 1 &");
        let line = lex("git status\ngit reset --hard").unwrap();
        assert_eq!(line.render_with(1, "X"), "git status\nX");
    }

    #[test]
    fn quotes() {
        assert_eq!(single_quote("it's"), r"'it'\''s'");
        assert_eq!(double_quote("a\"$b"), r#""a\"\$b""#);
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("/x/y"), "/x/y");
    }
}
