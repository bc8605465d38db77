//! Shell command lines: parsed with `brush-parser`, walked command by command.
//!
//! Every simple command of a compound line (`&&`, `||`, `;`, pipes, subshells, brace groups,
//! `if`/`for`/`while`/`case` bodies, function bodies, command and process substitutions) is
//! inspected, in order, with the working directory and variables the line itself sets
//! (`cd /`, `X=1`, `export X=1`). Its words are resolved as bash resolves them
//! ([`words`]) and handed to the model of its program ([`crate::programs`]), which accounts
//! for every word or makes the command opaque.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use brush_parser::ast::{self, Command, CommandPrefixOrSuffixItem, CompoundCommand, IoRedirect};
use brush_parser::{Parser, ParserOptions, SourceInfo};
use preflight_core::{Action, Effect, Inspection, Operation};

use crate::effects::{attr, clip, opaque, tag};
use crate::paths::{file_uri, is_secret_path, normalize_path};
use crate::{Environments, derive_blast_radius, programs, tables};

pub(crate) mod words;

pub(crate) use words::Word;

/// How deeply nested shells (`bash -c "bash -c '…'"`) are followed before giving up.
const MAX_DEPTH: usize = 8;
/// How many simple commands one line may hold before the rest is reported opaque.
const MAX_COMMANDS: usize = 512;
/// How many effects one line may yield before the rest is one opaque, unbounded effect.
pub(crate) const MAX_EFFECTS: usize = 1024;
/// How deeply brackets may nest in the text before the parser is not even tried.
const MAX_BRACKETS: usize = 24;
/// How many brackets may be left unclosed before the parser is not even tried: the parser
/// backtracks over every way to read each unclosed one, which costs time exponential in
/// their number (bash rejects such a line anyway).
const MAX_UNCLOSED_BRACKETS: usize = 8;

/// Where a shell command line runs: what relative paths, `~`, `$HOME` and variables mean.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShellContext {
    /// The working directory; relative paths resolve from it. Unknown: `/**`.
    pub cwd: Option<String>,
    /// The home directory `~` and `$HOME` expand to. Unknown: `/**`.
    pub home: Option<String>,
    /// Variables the line sees (`DATABASE_URL`, `AWS_PROFILE`, …).
    pub env: BTreeMap<String, String>,
}

impl ShellContext {
    /// A context with a working directory and a home.
    pub fn new(cwd: Option<&str>, home: Option<&str>) -> Self {
        Self {
            cwd: cwd.map(str::to_string),
            home: home.map(str::to_string),
            env: BTreeMap::new(),
        }
    }

    /// The context of an action: `context.cwd`, `context.home` (or `HOME` in
    /// `context.env`), `context.env`.
    pub fn from_action(action: &Action) -> Self {
        let home = action
            .context
            .home
            .clone()
            .or_else(|| action.context.env.get("HOME").cloned());
        Self {
            cwd: action.context.cwd.clone(),
            home,
            env: action.context.env.clone(),
        }
    }
}

/// Inspects a shell command line. Never fails: a line the parser rejects becomes one opaque
/// effect on `cmd://sh` with a note.
///
/// ```
/// use preflight_inspect::{Environments, ShellContext, inspect_shell};
/// let context = ShellContext::new(Some("/workspace/app"), Some("/home/alice"));
/// let inspection = inspect_shell("cd / && rm -rf home", &context, &Environments::default());
/// assert!(inspection.effects.iter().any(|e| e.resource == "file:///home" && e.recursive));
/// ```
pub fn inspect_shell(command: &str, context: &ShellContext, envs: &Environments) -> Inspection {
    let mut walker = Walker {
        envs,
        home: context.home.clone(),
        effects: Vec::new(),
        notes: Vec::new(),
        tags: Vec::new(),
        nesting: Vec::new(),
        commands: 0,
        capped: false,
    };
    let mut state = State {
        cwd: context.cwd.clone(),
        vars: context.env.clone(),
    };
    walker.script(command, &mut state, 0);
    walker.finish()
}

/// What the line has set so far.
#[derive(Debug, Clone)]
pub(crate) struct State {
    pub cwd: Option<String>,
    pub vars: BTreeMap<String, String>,
}

/// What a command sends down a pipe, as far as it is known.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stdin {
    /// Comes from a downloader (`curl`, `wget`).
    pub downloaded: bool,
    /// Literal text (`echo "…"`, a here-document): a shell reading it runs it.
    pub text: Option<String>,
    /// Something is piped in at all.
    pub piped: bool,
    /// An earlier stage of the pipeline printed the environment (`env`, `printenv`, `set`,
    /// `export`): whatever reads this may be reading its secrets.
    pub environment: bool,
}

/// What one simple command runs with.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    /// Every variable it sees.
    pub env: BTreeMap<String, String>,
    /// The variables given on its own line (`X=1 cmd`, `env X=1 cmd`).
    pub given: BTreeMap<String, String>,
    pub stdin: Stdin,
    pub evidence: String,
    pub depth: usize,
}

pub(crate) struct Walker<'a> {
    pub envs: &'a Environments,
    pub home: Option<String>,
    pub effects: Vec<Effect>,
    pub notes: Vec<String>,
    /// Tags every effect gets while set (`privilege_escalation` under `sudo`).
    pub tags: Vec<&'static str>,
    /// Where we are: `bash -c`, `$(…)`, `xargs`.
    pub nesting: Vec<String>,
    commands: usize,
    /// The effect cap was reached: one opaque effect stands for the rest.
    capped: bool,
}

impl Walker<'_> {
    fn finish(self) -> Inspection {
        let mut effects = self.effects;
        for effect in &mut effects {
            if effect.environment.is_none() {
                effect.environment = self.envs.of_resource(&effect.resource);
            }
        }
        Inspection {
            blast_radius: derive_blast_radius(&effects),
            effects,
            notes: self.notes,
        }
    }

    /// Whether the walk must stop (the effect cap was reached).
    pub(crate) fn full(&self) -> bool {
        self.capped
    }

    pub(crate) fn push(&mut self, mut effect: Effect, evidence: &str) {
        if self.capped {
            return;
        }
        if self.effects.len() >= MAX_EFFECTS {
            self.capped = true;
            let mut rest = opaque(Operation::Execute, "cmd://sh");
            rest.unbounded = true;
            attr(&mut rest, "command", "sh");
            rest.evidence = Some(format!(
                "more than {MAX_EFFECTS} effects: the rest is not inspected"
            ));
            self.notes.push(format!(
                "more than {MAX_EFFECTS} effects: {}",
                clip(evidence)
            ));
            self.effects.push(rest);
            return;
        }
        for t in &self.tags {
            tag(&mut effect, t);
        }
        if effect.evidence.is_none() {
            let mut text = clip(evidence);
            for place in self.nesting.iter().rev() {
                text.push_str(" (in ");
                text.push_str(place);
                text.push(')');
            }
            effect.evidence = Some(text);
        }
        self.effects.push(effect);
    }

    pub(crate) fn opaque_line(&mut self, text: &str, why: &str) {
        let mut effect = opaque(Operation::Execute, "cmd://sh");
        effect.unbounded = true;
        attr(&mut effect, "command", "sh");
        self.notes.push(format!("{why}: {}", clip(text)));
        self.push(effect, text);
    }

    /// Parses and walks a whole script.
    pub(crate) fn script(&mut self, text: &str, state: &mut State, depth: usize) {
        if depth > MAX_DEPTH {
            self.opaque_line(text, "shell nesting too deep to follow");
            return;
        }
        let brackets = brackets(text);
        if brackets.deepest > MAX_BRACKETS {
            self.opaque_line(text, "brackets nested too deeply to parse");
            return;
        }
        if has_empty_heredoc_tag(text) {
            // `cat <<"" x `: the parser's tokenizer never returns on some of these.
            self.opaque_line(text, "a here-document with an empty delimiter");
            return;
        }
        if has_heredoc_and_arithmetic(text) {
            // `cat <<EOF $((1)⏎EOF`: the parser's tokenizer panics when a here-document's
            // body starts inside an arithmetic expansion.
            self.opaque_line(text, "a here-document beside an arithmetic expansion");
            return;
        }
        if brackets.unclosed > MAX_UNCLOSED_BRACKETS {
            self.opaque_line(text, "too many brackets left unclosed to parse");
            return;
        }
        if has_huge_fd_number(text) {
            // `99999999999<file`: the parser cannot hold the descriptor number.
            self.opaque_line(text, "a redirection's descriptor number is out of range");
            return;
        }
        match parse(text) {
            Ok(Ok(program)) => {
                for list in &program.complete_commands {
                    self.compound_list(list, state, depth);
                }
            }
            Ok(Err(_)) if !text.contains('\n') && unclosed_quote(text).is_some() => {
                // The shell reads the whole line before running any of it, reaches the end
                // inside a quote, reports a syntax error and runs nothing.
                let mut effect = Effect::new(Operation::Execute, "cmd://sh");
                attr(&mut effect, "command", "sh");
                attr(&mut effect, "syntax_error", "true");
                self.notes.push(format!(
                    "a quote is never closed, so a shell runs nothing: {}",
                    clip(text)
                ));
                self.push(effect, text);
                // What the line does with the quote closed as well: whatever runs it may add
                // the quote (a wrapper, a retry, a host that quotes the line itself), and the
                // intent is plain either way.
                if let Some(quote) = unclosed_quote(text) {
                    if let Ok(Ok(program)) = parse(&format!("{text}{quote}")) {
                        for list in &program.complete_commands {
                            self.compound_list(list, &mut state.clone(), depth);
                        }
                    }
                }
            }
            Ok(Err(error)) => self.opaque_line(text, &format!("shell parse error ({error})")),
            Err(_) => self.opaque_line(text, "shell parser failed"),
        }
    }

    fn compound_list(&mut self, list: &ast::CompoundList, state: &mut State, depth: usize) {
        for ast::CompoundListItem(and_or, separator) in &list.0 {
            if matches!(separator, ast::SeparatorOperator::Async) {
                // `cmd &` runs in a subshell: its `cd` does not change the line's directory.
                let mut sub = state.clone();
                self.and_or(and_or, &mut sub, depth);
            } else {
                self.and_or(and_or, state, depth);
            }
        }
    }

    fn and_or(&mut self, and_or: &ast::AndOrList, state: &mut State, depth: usize) {
        self.pipeline(&and_or.first, state, depth);
        for next in &and_or.additional {
            match next {
                ast::AndOr::And(p) | ast::AndOr::Or(p) => self.pipeline(p, state, depth),
            }
        }
    }

    fn pipeline(&mut self, pipeline: &ast::Pipeline, state: &mut State, depth: usize) {
        let mut stdin = Stdin::default();
        let many = pipeline.seq.len() > 1;
        let mut environment = false;
        for command in &pipeline.seq {
            if self.capped {
                return;
            }
            // Once a stage prints the environment, every later stage may pass it on.
            environment |= many && prints_environment(command);
            // Every part of a multi-command pipeline runs in a subshell: `cd` there does not
            // change the line's directory.
            let out = if many {
                let mut sub = state.clone();
                self.command(command, &mut sub, depth, &stdin)
            } else {
                self.command(command, state, depth, &stdin)
            };
            stdin = Stdin {
                piped: true,
                environment,
                ..out
            };
        }
    }

    fn command(
        &mut self,
        command: &Command,
        state: &mut State,
        depth: usize,
        stdin: &Stdin,
    ) -> Stdin {
        match command {
            Command::Simple(simple) => self.simple(simple, state, depth, stdin),
            Command::Compound(compound, redirects) => {
                if let Some(redirects) = redirects {
                    for redirect in &redirects.0 {
                        self.redirect(redirect, state, depth, &compound.to_string());
                    }
                }
                self.compound(compound, state, depth, stdin);
                Stdin::default()
            }
            Command::Function(definition) => {
                // A function body may run any time later: inspect it now.
                self.nesting.push(format!("function {}", definition.fname));
                let mut sub = state.clone();
                self.compound(&definition.body.0, &mut sub, depth, &Stdin::default());
                self.nesting.pop();
                Stdin::default()
            }
            Command::ExtendedTest(test) => {
                // `[[ … ]]` only tests, but its words may hold command substitutions.
                let text = test.to_string();
                if text.contains("$(") || text.contains('`') || text.contains("<(") {
                    self.opaque_line(&text, "command substitution inside `[[ … ]]`");
                }
                Stdin::default()
            }
        }
    }

    fn compound(
        &mut self,
        compound: &CompoundCommand,
        state: &mut State,
        depth: usize,
        stdin: &Stdin,
    ) {
        match compound {
            CompoundCommand::BraceGroup(group) => {
                self.first_reads(stdin, &group.0, state, depth);
            }
            CompoundCommand::Subshell(sub) => {
                let mut inner = state.clone();
                self.first_reads(stdin, &sub.0, &mut inner, depth);
            }
            CompoundCommand::ForClause(clause) => {
                let mut values: Vec<Word> = Vec::new();
                match &clause.values {
                    Some(words) => {
                        for value in words {
                            values.extend(self.expand(&value.value, state, depth));
                        }
                    }
                    None => values.push(Word::unknown()),
                }
                // The body runs once per value, each seeing the variable set: inspect it
                // once per known value (bounded), else once with the variable unknown.
                let known = values.len() <= 16 && values.iter().all(|v| !v.dynamic && !v.glob);
                if known {
                    for value in values {
                        let mut inner = state.clone();
                        inner.vars.insert(clause.variable_name.clone(), value.text);
                        self.compound_list(&clause.body.0, &mut inner, depth);
                    }
                } else {
                    let mut inner = state.clone();
                    inner.vars.remove(&clause.variable_name);
                    self.compound_list(&clause.body.0, &mut inner, depth);
                }
            }
            CompoundCommand::ArithmeticForClause(clause) => {
                let mut inner = state.clone();
                self.compound_list(&clause.body.0, &mut inner, depth);
            }
            CompoundCommand::CaseClause(clause) => {
                for item in &clause.cases {
                    if let Some(list) = &item.cmd {
                        let mut inner = state.clone();
                        self.compound_list(list, &mut inner, depth);
                    }
                }
            }
            CompoundCommand::IfClause(clause) => {
                self.compound_list(&clause.condition, state, depth);
                let mut inner = state.clone();
                self.compound_list(&clause.then, &mut inner, depth);
                if let Some(elses) = &clause.elses {
                    for branch in elses {
                        let mut inner = state.clone();
                        if let Some(condition) = &branch.condition {
                            self.compound_list(condition, &mut inner, depth);
                        }
                        self.compound_list(&branch.body, &mut inner, depth);
                    }
                }
            }
            CompoundCommand::WhileClause(clause) | CompoundCommand::UntilClause(clause) => {
                // A loop may read lines from its input into variables: they are unknown.
                let mut inner = state.clone();
                if stdin.piped || stdin.text.is_some() {
                    inner.vars.clear();
                }
                self.compound_list(&clause.0, &mut inner, depth);
                self.compound_list(&clause.1.0, &mut inner, depth);
            }
            CompoundCommand::Arithmetic(_) => {}
        }
    }

    /// A group reading piped input: its first command sees what was piped.
    fn first_reads(
        &mut self,
        stdin: &Stdin,
        list: &ast::CompoundList,
        state: &mut State,
        depth: usize,
    ) {
        if stdin.piped && (stdin.downloaded || stdin.text.is_some()) {
            // `curl … | { sh; }`: whichever command reads the input may run it.
            let mut effect = opaque(Operation::Execute, "cmd://sh");
            attr(&mut effect, "command", "sh");
            if stdin.downloaded {
                tag(&mut effect, "remote_code");
            }
            self.push(effect, "a command group reading piped input");
        }
        self.compound_list(list, state, depth);
    }

    fn redirect(
        &mut self,
        redirect: &IoRedirect,
        state: &State,
        depth: usize,
        evidence: &str,
    ) -> Option<String> {
        let (operation, target) = match redirect {
            IoRedirect::File(_, kind, target) => {
                let operation = match kind {
                    ast::IoFileRedirectKind::Read => Operation::Read,
                    ast::IoFileRedirectKind::DuplicateInput => return None,
                    _ => Operation::Update,
                };
                match target {
                    ast::IoFileRedirectTarget::Filename(word) => (operation, word),
                    ast::IoFileRedirectTarget::Duplicate(word) => {
                        let text = word.value.trim_end_matches('-');
                        if text.is_empty() || text.chars().all(|c| c.is_ascii_digit()) {
                            return None;
                        }
                        (operation, word)
                    }
                    ast::IoFileRedirectTarget::ProcessSubstitution(_, sub) => {
                        let mut inner = state.clone();
                        self.compound_list(&sub.0, &mut inner, depth);
                        return None;
                    }
                    ast::IoFileRedirectTarget::Fd(_) => return None,
                }
            }
            IoRedirect::OutputAndError(word, _) => (Operation::Update, word),
            IoRedirect::HereDocument(_, doc) => {
                if doc.requires_expansion {
                    let expanded = self.expand_single(
                        &format!("\"{}\"", doc.doc.value.replace('"', "\\\"")),
                        state,
                        depth,
                    );
                    if expanded.dynamic {
                        return Some(String::from("\u{0}"));
                    }
                    return Some(expanded.text);
                }
                return Some(doc.doc.value.clone());
            }
            IoRedirect::HereString(_, word) => {
                let expanded = self.expand_single(&word.value, state, depth);
                if expanded.dynamic {
                    return Some(String::from("\u{0}"));
                }
                return Some(expanded.text);
            }
        };
        let word = self.expand_single(&target.value, state, depth);
        let path = self.path_of(&word, state);
        if tables::is_null_device(&path) {
            return None;
        }
        if let Some(endpoint) = path
            .strip_prefix("/dev/tcp/")
            .map(|e| ("tcp", e))
            .or_else(|| path.strip_prefix("/dev/udp/").map(|e| ("udp", e)))
        {
            // bash opens a connection for `/dev/tcp/HOST/PORT`.
            let (scheme, rest) = endpoint;
            let mut effect = opaque(
                Operation::NetworkSend,
                format!("{scheme}://{}", rest.replacen('/', ":", 1)),
            );
            tag(&mut effect, "remote_code");
            self.push(effect, evidence);
            return None;
        }
        let mut effect = Effect::new(operation, file_uri(&path));
        if operation == Operation::Update && tables::is_block_device(&path) {
            tag(&mut effect, "raw_disk_write");
        }
        if is_secret_path(&path) {
            tag(&mut effect, "secret");
        }
        effect.opaque = word.dynamic;
        self.push(effect, evidence);
        None
    }

    /// The normalised path a word names.
    pub(crate) fn path_of(&self, word: &Word, state: &State) -> String {
        let text = if word.dynamic && word.text.starts_with('*') {
            format!("/**{}", &word.text[1..])
        } else {
            word.text.clone()
        };
        normalize_path(&text, state.cwd.as_deref(), self.home.as_deref())
    }

    fn simple(
        &mut self,
        command: &ast::SimpleCommand,
        state: &mut State,
        depth: usize,
        stdin: &Stdin,
    ) -> Stdin {
        self.commands += 1;
        let evidence = command.to_string();
        if self.commands > MAX_COMMANDS {
            if self.commands == MAX_COMMANDS + 1 {
                self.opaque_line(&evidence, "too many commands to inspect");
            }
            return Stdin::default();
        }
        let mut assignments: Vec<(String, Word)> = Vec::new();
        let mut args: Vec<Word> = Vec::new();
        let mut heredoc: Option<String> = None;
        let mut redirects: Vec<&IoRedirect> = Vec::new();
        let mut items: Vec<(bool, Option<&CommandPrefixOrSuffixItem>)> = Vec::new();
        if let Some(prefix) = &command.prefix {
            items.extend(prefix.0.iter().map(|i| (true, Some(i))));
        }
        if command.word_or_name.is_some() {
            items.push((false, None));
        }
        if let Some(suffix) = &command.suffix {
            items.extend(suffix.0.iter().map(|i| (false, Some(i))));
        }
        for (in_prefix, item) in items {
            let Some(item) = item else {
                if let Some(name) = &command.word_or_name {
                    let words = self.expand(&name.value, state, depth);
                    args.extend(words);
                }
                continue;
            };
            match item {
                CommandPrefixOrSuffixItem::AssignmentWord(assignment, word) => {
                    if in_prefix && args.is_empty() {
                        let value = match &assignment.value {
                            ast::AssignmentValue::Scalar(w) => {
                                self.expand_single(&w.value, state, depth)
                            }
                            ast::AssignmentValue::Array(_) => Word::unknown(),
                        };
                        let value = if assignment.append {
                            match state.vars.get(&assignment.name.to_string()) {
                                Some(old) if !value.dynamic => {
                                    Word::literal(&format!("{old}{}", value.text))
                                }
                                _ => Word::unknown(),
                            }
                        } else {
                            value
                        };
                        assignments.push((assignment.name.to_string(), value));
                    } else {
                        args.extend(self.expand(&word.value, state, depth));
                    }
                }
                CommandPrefixOrSuffixItem::Word(word) => {
                    args.extend(self.expand(&word.value, state, depth));
                }
                CommandPrefixOrSuffixItem::IoRedirect(redirect) => redirects.push(redirect),
                CommandPrefixOrSuffixItem::ProcessSubstitution(_, sub) => {
                    let mut inner = state.clone();
                    self.compound_list(&sub.0, &mut inner, depth);
                    args.push(Word {
                        text: "/dev/fd/*".into(),
                        dynamic: true,
                        glob: false,
                    });
                }
            }
        }
        for redirect in redirects {
            if let Some(doc) = self.redirect(redirect, state, depth, &evidence) {
                heredoc = Some(doc);
            }
        }
        if args.is_empty() {
            // `X=1` alone sets a shell variable for the rest of the line.
            for (name, value) in assignments {
                if value.dynamic {
                    state.vars.remove(&name);
                } else {
                    state.vars.insert(name, value.text);
                }
            }
            return Stdin::default();
        }
        let mut env = state.vars.clone();
        let mut given: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in assignments {
            if !value.dynamic {
                env.insert(name.clone(), value.text.clone());
                given.insert(name, value.text);
            } else {
                env.remove(&name);
            }
        }
        let stdin = match heredoc {
            // A NUL marks a here-document whose text is only known at run time.
            Some(text) if text.contains('\u{0}') => Stdin {
                text: None,
                piped: true,
                downloaded: false,
                environment: false,
            },
            Some(text) => Stdin {
                text: Some(text),
                piped: true,
                downloaded: stdin.downloaded,
                environment: stdin.environment,
            },
            None => stdin.clone(),
        };
        let mut run = Run {
            env,
            given,
            stdin,
            evidence,
            depth,
        };
        programs::dispatch(self, &args, &mut run, state)
    }

    /// Inspects a script nested in a command (`bash -c`, `eval`, `su -c`).
    pub(crate) fn nested(&mut self, script: &str, place: &str, run: &Run, state: &State) {
        self.nesting.push(place.to_string());
        let mut inner = state.clone();
        inner.vars = run.env.clone();
        self.script(script, &mut inner, run.depth + 1);
        self.nesting.pop();
    }
}

/// Whether ten or more digits stand right before a `<` or `>`.
fn has_huge_fd_number(text: &str) -> bool {
    let mut digits = 0usize;
    for byte in text.bytes() {
        match byte {
            b'0'..=b'9' => digits += 1,
            b'<' | b'>' if digits >= 10 => return true,
            _ => digits = 0,
        }
    }
    false
}

/// The deepest nesting of brackets and quotes-free parentheses in `text`, counted cheaply.
/// Whether the text holds a here-document whose delimiter is empty (`<<""`, `<< ''`,
/// `<<-""""`), read byte by byte wherever it appears.
fn has_empty_heredoc_tag(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(found) = text.get(from..).and_then(|rest| rest.find("<<")) {
        let mut at = from + found + 2;
        from = at;
        if bytes.get(at) == Some(&b'-') {
            at += 1;
        }
        while matches!(bytes.get(at), Some(b' ' | b'\t')) {
            at += 1;
        }
        let mut pairs = 0;
        while let (Some(&open), Some(&close)) = (bytes.get(at), bytes.get(at + 1)) {
            if (open == b'"' || open == b'\'') && close == open {
                pairs += 1;
                at += 2;
            } else {
                break;
            }
        }
        let ends = bytes
            .get(at)
            .is_none_or(|b| b.is_ascii_whitespace() || b";&|<>()".contains(b));
        if pairs > 0 && ends {
            return true;
        }
    }
    false
}

/// Whether a multi-line script has both a here-document operator (`<<`, not `<<<`) and an
/// arithmetic expansion (`$((`). Over-broad on purpose (a shift inside `$((…))` counts): such
/// a script is opaque, never parsed.
fn has_heredoc_and_arithmetic(text: &str) -> bool {
    text.contains('\n')
        && text.contains("$((")
        && text
            .match_indices("<<")
            .any(|(at, _)| !text[at + 2..].starts_with('<') && !text[..at].ends_with('<'))
}

/// How brackets nest in the text, read byte by byte: a closer that does not match the
/// innermost opener closes nothing (`(]` leaves the `(` open).
struct Brackets {
    deepest: usize,
    unclosed: usize,
}

fn brackets(text: &str) -> Brackets {
    let mut open: Vec<u8> = Vec::new();
    let mut deepest = 0usize;
    for byte in text.bytes() {
        match byte {
            b'(' | b'{' | b'[' => {
                open.push(byte);
                deepest = deepest.max(open.len());
            }
            b')' | b'}' | b']' => {
                let opener = match byte {
                    b')' => b'(',
                    b'}' => b'{',
                    _ => b'[',
                };
                if open.last() == Some(&opener) {
                    open.pop();
                }
            }
            _ => {}
        }
    }
    Brackets {
        deepest,
        unclosed: open.len(),
    }
}

/// Whether a pipeline stage prints the environment: `env`, `printenv`, `set`, `export`,
/// `declare`, `typeset`, `compgen -v`, or reads `/proc/*/environ`, however it is given
/// arguments (over-approximated by the program's name).
fn prints_environment(command: &Command) -> bool {
    let text = command.to_string();
    if text.contains("environ") {
        return true;
    }
    let first = text
        .split_whitespace()
        .find(|word| !word.contains('='))
        .unwrap_or("");
    let name = first.rsplit('/').next().unwrap_or(first);
    matches!(
        name,
        "env" | "printenv" | "set" | "export" | "declare" | "typeset" | "compgen"
    )
}

/// Parses one line; a panic inside the parser is the outer `Err`.
fn parse(text: &str) -> std::thread::Result<Result<ast::Program, brush_parser::ParseError>> {
    let options = ParserOptions::default();
    let source = SourceInfo::default();
    catch_unwind(AssertUnwindSafe(|| {
        Parser::new(text.as_bytes(), &options, &source).parse_program()
    }))
}

/// The quote that closes a one-line script ending inside a quote that is never closed, read
/// as the shell reads quotes: `'…'` takes everything literally, `"…"` and `$'…'` honour
/// backslashes, `\` escapes outside quotes, and `#` at the start of a word comments out the
/// rest. A line with a command substitution, a backquote or a here-document is never claimed.
pub(crate) fn unclosed_quote(text: &str) -> Option<char> {
    if text.contains('\n') || text.contains("$(") || text.contains('`') || text.contains("<<") {
        return None;
    }
    #[derive(PartialEq)]
    enum Quote {
        None,
        Single,
        Double,
        AnsiC,
    }
    let mut quote = Quote::None;
    let mut chars = text.chars().peekable();
    let mut word_start = true;
    while let Some(c) = chars.next() {
        match quote {
            Quote::None => {
                match c {
                    '\\' => {
                        chars.next();
                    }
                    '\'' => quote = Quote::Single,
                    '"' => quote = Quote::Double,
                    '$' if chars.peek() == Some(&'\'') => {
                        chars.next();
                        quote = Quote::AnsiC;
                    }
                    '#' if word_start => return None,
                    _ => {}
                }
                word_start = c.is_whitespace() || ";&|()<>".contains(c);
            }
            Quote::Single => {
                if c == '\'' {
                    quote = Quote::None;
                }
            }
            Quote::Double | Quote::AnsiC => match c {
                '\\' => {
                    chars.next();
                }
                '"' if quote == Quote::Double => quote = Quote::None,
                '\'' if quote == Quote::AnsiC => quote = Quote::None,
                _ => {}
            },
        }
        if quote != Quote::None {
            word_start = false;
        }
    }
    match quote {
        Quote::None => None,
        Quote::Double => Some('"'),
        Quote::Single | Quote::AnsiC => Some('\''),
    }
}
