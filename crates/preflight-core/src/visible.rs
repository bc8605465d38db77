//! Text an agent wrote, made safe to show a person: control, format and bidirectional
//! characters are written out as `\u{…}` instead of being acted on by the terminal or the
//! browser. `rm -rf …/build # <U+202E>; rm -rf …/src`, with a right-to-left override, reads
//! as if the second delete were commented out; shown visibly, it does not.

use std::borrow::Cow;

/// Whether a character changes how text around it is shown instead of being shown: a control
/// character (but a newline or a tab), a format character (bidirectional embeddings,
/// overrides and isolates, zero-width characters, the byte order mark, tag characters), or a
/// line or paragraph separator.
pub fn is_hidden(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(
            c,
            '\u{AD}'
                | '\u{600}'..='\u{605}'
                | '\u{61C}'
                | '\u{6DD}'
                | '\u{70F}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{110BD}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0001}'
                | '\u{E0020}'..='\u{E007F}'
        )
}

/// Whether `text` holds a character [`is_hidden`] reveals.
pub fn has_hidden(text: &str) -> bool {
    text.chars().any(is_hidden)
}

/// `text` with every hidden character written as `\u{XXXX}`; borrowed when there is none.
///
/// ```
/// use preflight_core::visible::visible;
/// assert_eq!(visible("rm -rf build # \u{202E}; rm -rf src"), "rm -rf build # \\u{202E}; rm -rf src");
/// assert_eq!(visible("ls\n"), "ls\n");
/// ```
pub fn visible(text: &str) -> Cow<'_, str> {
    if !has_hidden(text) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_hidden(c) {
            out.push_str(&format!("\\u{{{:04X}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_hidden_character_is_written_out() {
        for c in [
            '\u{1B}',
            '\r',
            '\u{7F}',
            '\u{9B}',
            '\u{202E}',
            '\u{2066}',
            '\u{200B}',
            '\u{FEFF}',
            '\u{2028}',
            '\u{E0041}',
            '\u{61C}',
        ] {
            let text = format!("a{c}b");
            assert!(has_hidden(&text), "{:04X}", u32::from(c));
            let shown = visible(&text);
            assert!(!has_hidden(&shown), "{shown}");
            assert!(shown.contains(&format!("{:04X}", u32::from(c))), "{shown}");
        }
    }

    #[test]
    fn ordinary_text_is_untouched() {
        for text in ["ls -la\n\tdone", "é ü ß 日本語 🙂", "שלום", ""] {
            assert!(matches!(visible(text), Cow::Borrowed(_)), "{text}");
        }
    }
}
