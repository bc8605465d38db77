//! Equivalent spellings of a path operand: absolute or relative, through `~`, `~alice`,
//! `$HOME`, `$PWD`, with `.`/`..`/`//` segments, quoted, escaped, brace-expanded, through a
//! variable, or as a glob that matches exactly that existing path.

use super::Context;
use super::forms::{SegmentForm, fresh};
use super::lex::{Word, double_quote, is_bare, single_quote};

/// Equivalent spellings of one path word: `(label, line prefix, new word)`.
pub(crate) fn path_forms(
    ctx: &Context,
    text: &str,
    word: &Word,
    first_segment: bool,
) -> Vec<SegmentForm> {
    let mut out = Vec::new();
    let none = String::new;
    // What the word stands for, when known.
    let (absolute, literal) = if let Some(value) = word.value() {
        if value.is_empty() {
            return out;
        }
        (Some(ctx.absolute(value)), Some(value.to_string()))
    } else if word.tilde && !word.glob && is_tilde_word(&word.raw) {
        (Some(ctx.expand_tilde(&word.raw)), None)
    } else {
        (None, None)
    };
    if word.glob && !word.tilde && is_glob_bare(&word.raw) {
        let raw = &word.raw;
        if !raw.starts_with('/') {
            out.push(("arg-glob-pwd", none(), format!("\"$PWD\"/{raw}")));
            if !raw.starts_with("./") {
                out.push(("arg-glob-dot", none(), format!("./{raw}")));
            }
        }
        if let Some(slash) = raw[..raw.find(['*', '?', '[']).unwrap_or(0)].rfind('/') {
            out.push((
                "arg-glob-quoted-prefix",
                none(),
                format!("\"{}\"{}", &raw[..=slash], &raw[slash + 1..]),
            ));
        }
        if let Some(rest) = raw.strip_prefix(&format!("{}/", ctx.home)) {
            out.push(("arg-glob-tilde", none(), format!("~/{rest}")));
        }
        let var = fresh(text, "_pf_g");
        out.push(("arg-glob-var", format!("{var}={raw}\n"), format!("${var}")));
        return out;
    }
    let Some(absolute) = absolute else {
        return out;
    };
    let original = literal.clone().unwrap_or_else(|| word.raw.clone());
    let mut push = |label: &'static str, prefix: String, form: String| {
        if form != word.raw {
            out.push((label, prefix, form));
        }
    };
    if is_bare(&absolute) {
        push("arg-absolute", none(), absolute.clone());
        if absolute.len() > 1 {
            push(
                "arg-double-slash",
                none(),
                absolute.replacen('/', "//", 2).replacen("//", "/", 1),
            );
            if let Some(slash) = absolute[1..].find('/') {
                let (head, tail) = absolute.split_at(slash + 1);
                push("arg-dot-segment", none(), format!("{head}/.{tail}"));
                let parent = super::parent_dir(head);
                let segment = &head[parent.len()..].trim_start_matches('/');
                if ctx.dirs.contains(head) && !segment.is_empty() {
                    push(
                        "arg-dotdot-segment",
                        none(),
                        format!("{head}/../{segment}{tail}"),
                    );
                }
            }
        }
        if ctx.dirs.contains(&absolute) && absolute != "/" {
            push("arg-trailing-slash", none(), format!("{absolute}/"));
        }
    }
    // Relative to the working directory.
    if let Some(relative) = absolute.strip_prefix(&format!("{}/", ctx.cwd)) {
        if is_bare(relative) {
            push("arg-relative", none(), relative.to_string());
            push("arg-dot-relative", none(), format!("./{relative}"));
            push(
                "arg-parent-relative",
                none(),
                format!("../{}/{relative}", super::base_name(&ctx.cwd)),
            );
            push("arg-pwd", none(), format!("\"$PWD\"/{relative}"));
            push("arg-pwd-subst", none(), format!("\"$(pwd)\"/{relative}"));
        }
    }
    // Under the home directory.
    let home_rest = if absolute == ctx.home {
        Some(String::new())
    } else {
        absolute
            .strip_prefix(&format!("{}/", ctx.home))
            .map(|r| format!("/{r}"))
    };
    if let Some(rest) = home_rest {
        if rest.is_empty() || is_bare(&rest) {
            push("arg-tilde", none(), format!("~{rest}"));
            push("arg-tilde-user", none(), format!("~{}{rest}", ctx.user));
            push("arg-home-var", none(), format!("$HOME{rest}"));
            push("arg-home-var-quoted", none(), format!("\"$HOME\"{rest}"));
            push("arg-home-var-braced", none(), format!("${{HOME}}{rest}"));
            push("arg-home-absolute", none(), absolute.clone());
            if rest.is_empty() {
                push("arg-tilde-slash", none(), "~/".to_string());
            }
        }
    }
    // Quoting and escapes of the word as written.
    if let Some(literal) = &literal {
        push("arg-squote", none(), single_quote(literal));
        push("arg-dquote", none(), double_quote(literal));
        if literal.chars().count() >= 2 && is_bare(literal) {
            let first: String = literal.chars().take(1).collect();
            let rest: String = literal.chars().skip(1).collect();
            push("arg-partial-quote", none(), format!("'{first}'{rest}"));
            push("arg-backslash", none(), format!("\\{first}{rest}"));
        }
        let hex: String = literal.bytes().map(|b| format!("\\x{b:02x}")).collect();
        push("arg-ansi-c", none(), format!("$'{hex}'"));
        if is_bare(literal) && !literal.contains(',') {
            push("arg-brace", none(), format!("{{{literal},}}"));
        }
        push(
            "arg-subst",
            none(),
            format!("\"$(printf %s {})\"", single_quote(literal)),
        );
    }
    // Through a variable set earlier on the line.
    let var = fresh(text, "_pf_p");
    let assigned = if literal.is_some() {
        single_quote(&original)
    } else {
        word.raw.clone()
    };
    push(
        "arg-var",
        format!("{var}={assigned}\n"),
        format!("\"${var}\""),
    );
    push(
        "arg-var-braced",
        format!("{var}={assigned}; "),
        format!("\"${{{var}}}\""),
    );
    if is_bare(&absolute) {
        push(
            "arg-var-unquoted",
            format!("{var}={assigned}\n"),
            format!("${var}"),
        );
    }
    // A glob that matches exactly this existing path, when the line has not yet run anything.
    if let (true, Some(literal)) = (first_segment && ctx.existing.contains(&absolute), &literal) {
        let name = super::base_name(&absolute);
        let parent = super::parent_dir(&absolute);
        if name.chars().count() >= 2
            && is_bare(name)
            && !name.starts_with('.')
            && literal.ends_with(name)
        {
            let stem = &literal[..literal.len() - name.len()];
            if stem.is_empty() || is_bare(stem) {
                let siblings = ctx.children(&parent);
                let chars: Vec<char> = name.chars().collect();
                let last = chars[chars.len() - 1];
                let head: String = chars[..chars.len() - 1].iter().collect();
                let visible = |s: &&String| !s.starts_with('.') && s.starts_with(head.as_str());
                let same_length = siblings
                    .iter()
                    .filter(visible)
                    .filter(|s| s.chars().count() == chars.len())
                    .count();
                if same_length == 1 {
                    push("arg-glob-question", none(), format!("{stem}{head}?"));
                }
                push("arg-glob-class", none(), format!("{stem}{head}[{last}]"));
                if siblings.iter().filter(visible).count() == 1 {
                    push("arg-glob-star", none(), format!("{stem}{head}*"));
                }
            }
        }
    }
    out
}

fn is_tilde_word(raw: &str) -> bool {
    let rest = raw.trim_start_matches('~');
    raw.starts_with('~') && (rest.is_empty() || is_bare(rest))
}

fn is_glob_bare(raw: &str) -> bool {
    raw.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,*?[]".contains(c))
}

#[cfg(test)]
mod tests {
    use crate::generator::forms::segment_forms;
    use crate::generator::tests::context;

    #[test]
    fn home_forms() {
        let ctx = context();
        let forms: Vec<String> = segment_forms(&ctx, "rm -rf ~/projects")
            .into_iter()
            .map(|(_, f)| f)
            .collect();
        for expected in [
            "rm -rf /home/alice/projects",
            "rm -rf ~alice/projects",
            "rm -rf $HOME/projects",
            "rm -rf ${HOME}/projects",
            "_pf_p0=~/projects\nrm -rf \"$_pf_p0\"",
        ] {
            assert!(
                forms.contains(&expected.to_string()),
                "missing {expected:?} in {forms:#?}"
            );
        }
    }
}
