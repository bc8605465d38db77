//! Shell command lines: parsed with `brush-parser`, walked command by command.
//!
//! Every simple command of a compound line (`&&`, `||`, `;`, pipes, subshells, brace groups,
//! `if`/`for`/`while`/`case` bodies, function bodies, command and process substitutions) is
//! inspected, in order, with the working directory and variables the line itself sets
//! (`cd /`, `X=1`, `export X=1`). Wrappers (`env`, `sudo`, `xargs`, `nohup`, `timeout`, …) and
//! nested shells (`bash -c "…"`, `sh <<EOF`, `echo … | sh`) are unwrapped and inspected too.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use brush_parser::ast::{self, Command, CommandPrefixOrSuffixItem, CompoundCommand, IoRedirect};
use brush_parser::word::{Parameter, ParameterExpr, WordPiece, WordPieceWithSource};
use brush_parser::{Parser, ParserOptions, SourceInfo};
use preflight_core::{Action, Effect, Inspection, Operation};

use crate::effects::{attr, clip, opaque, tag};
use crate::paths::{file_uri, is_secret_path, is_sweeping, normalize_path};
use crate::tables::{
    self, FileCommand, HARMLESS, INTERPRETERS, PRIVILEGE, RUNNERS, Role, SHELLS, WITH_SUBCOMMAND,
    WRAPPERS,
};
use crate::{Environments, aws, derive_blast_radius, kubectl, sql, terraform};

/// How deeply nested shells (`bash -c "bash -c '…'"`) are followed before giving up.
const MAX_DEPTH: usize = 8;
/// How many simple commands one line may hold before the rest is reported opaque.
const MAX_COMMANDS: usize = 512;

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
    };
    let mut state = State {
        cwd: context.cwd.clone(),
        vars: context.env.clone(),
    };
    walker.script(command, &mut state, 0);
    walker.finish()
}

#[derive(Debug, Clone)]
struct State {
    cwd: Option<String>,
    vars: BTreeMap<String, String>,
}

/// What a command sends down a pipe, as far as it is known.
#[derive(Debug, Clone, Default)]
struct Stdin {
    /// Comes from a downloader (`curl`, `wget`).
    downloaded: bool,
    /// Literal text (`echo "…"`, a here-document): a shell reading it runs it.
    text: Option<String>,
    /// Something is piped in at all.
    piped: bool,
}

/// One expanded word.
#[derive(Debug, Clone, Default)]
struct Word {
    /// The text, with unknown parts (`$UNSET`, `$(…)`) replaced by `*`.
    text: String,
    /// Some part is only known at run time.
    dynamic: bool,
    /// Unquoted glob characters or braces.
    glob: bool,
}

impl Word {
    fn literal(text: &str) -> Self {
        Self {
            text: text.to_string(),
            ..Self::default()
        }
    }
}

struct Walker<'a> {
    envs: &'a Environments,
    home: Option<String>,
    effects: Vec<Effect>,
    notes: Vec<String>,
    /// Tags every effect gets while set (`privilege_escalation` under `sudo`).
    tags: Vec<&'static str>,
    /// Where we are: `bash -c`, `$(…)`, `xargs`.
    nesting: Vec<String>,
    commands: usize,
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

    fn push(&mut self, mut effect: Effect, evidence: &str) {
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

    fn opaque_line(&mut self, text: &str, why: &str) {
        let mut effect = opaque(Operation::Execute, "cmd://sh");
        attr(&mut effect, "command", "sh");
        self.notes.push(format!("{why}: {}", clip(text)));
        self.push(effect, text);
    }

    /// Parses and walks a whole script.
    fn script(&mut self, text: &str, state: &mut State, depth: usize) {
        if depth > MAX_DEPTH {
            self.opaque_line(text, "shell nesting too deep to follow");
            return;
        }
        let options = ParserOptions::default();
        let source = SourceInfo::default();
        let parsed = catch_unwind(AssertUnwindSafe(|| {
            Parser::new(text.as_bytes(), &options, &source).parse_program()
        }));
        let parsed = match parsed {
            Ok(parsed) => parsed,
            Err(_) => {
                self.opaque_line(text, "shell parser failed");
                return;
            }
        };
        match parsed {
            Ok(program) => {
                for list in &program.complete_commands {
                    self.compound_list(list, state, depth);
                }
            }
            Err(error) => self.opaque_line(text, &format!("shell parse error ({error})")),
        }
    }

    fn compound_list(&mut self, list: &ast::CompoundList, state: &mut State, depth: usize) {
        for ast::CompoundListItem(and_or, _separator) in &list.0 {
            self.pipeline(&and_or.first, state, depth);
            for next in &and_or.additional {
                match next {
                    ast::AndOr::And(p) | ast::AndOr::Or(p) => self.pipeline(p, state, depth),
                }
            }
        }
    }

    fn pipeline(&mut self, pipeline: &ast::Pipeline, state: &mut State, depth: usize) {
        let mut stdin = Stdin::default();
        let many = pipeline.seq.len() > 1;
        for command in &pipeline.seq {
            // Every part of a multi-command pipeline runs in a subshell: `cd` there does not
            // change the line's directory.
            let out = if many {
                let mut sub = state.clone();
                self.command(command, &mut sub, depth, &stdin)
            } else {
                self.command(command, state, depth, &stdin)
            };
            stdin = Stdin { piped: true, ..out };
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
            Command::ExtendedTest(_) => Stdin::default(),
        }
    }

    fn compound(
        &mut self,
        compound: &CompoundCommand,
        state: &mut State,
        depth: usize,
        stdin: &Stdin,
    ) {
        let _ = stdin;
        match compound {
            CompoundCommand::BraceGroup(group) => self.compound_list(&group.0, state, depth),
            CompoundCommand::Subshell(sub) => {
                let mut inner = state.clone();
                self.compound_list(&sub.0, &mut inner, depth);
            }
            CompoundCommand::ForClause(clause) => {
                if let Some(values) = &clause.values {
                    for value in values {
                        self.expand(&value.value, state, depth);
                    }
                }
                let mut inner = state.clone();
                inner.vars.remove(&clause.variable_name);
                self.compound_list(&clause.body.0, &mut inner, depth);
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
                let mut inner = state.clone();
                self.compound_list(&clause.0, &mut inner, depth);
                self.compound_list(&clause.1.0, &mut inner, depth);
            }
            CompoundCommand::Arithmetic(_) => {}
        }
    }

    /// Expands one word: quotes removed, `~` and known variables substituted, unknown parts
    /// replaced by `*`. Command substitutions inside are inspected as scripts.
    fn expand(&mut self, raw: &str, state: &State, depth: usize) -> Word {
        // Most words are plain: no quoting, expansion, escape or glob character. They need no
        // parser (and skip its global cache).
        if !raw.is_empty()
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+^".contains(c))
        {
            return Word::literal(raw);
        }
        let options = ParserOptions::default();
        let parsed = catch_unwind(AssertUnwindSafe(|| {
            brush_parser::word::parse(raw, &options)
        }));
        match parsed.ok().and_then(Result::ok) {
            Some(pieces) => {
                let mut word = Word::default();
                self.pieces(&pieces, state, depth, false, &mut word);
                word
            }
            None => Word {
                text: raw.replace(['"', '\''], ""),
                dynamic: true,
                glob: false,
            },
        }
    }

    fn pieces(
        &mut self,
        pieces: &[WordPieceWithSource],
        state: &State,
        depth: usize,
        quoted: bool,
        word: &mut Word,
    ) {
        for piece in pieces {
            match &piece.piece {
                WordPiece::Text(text) => {
                    if !quoted && text.contains(['*', '?', '[', '{']) {
                        word.glob = true;
                    }
                    word.text.push_str(text);
                }
                WordPiece::SingleQuotedText(text) | WordPiece::AnsiCQuotedText(text) => {
                    word.text.push_str(text);
                }
                WordPiece::DoubleQuotedSequence(inner)
                | WordPiece::GettextDoubleQuotedSequence(inner) => {
                    self.pieces(inner, state, depth, true, word);
                }
                WordPiece::TildePrefix(user) => {
                    if user.is_empty() {
                        match &self.home {
                            Some(home) => word.text.push_str(home),
                            None => {
                                word.text.push('*');
                                word.dynamic = true;
                            }
                        }
                    } else if user == "root" {
                        word.text.push_str("/root");
                    } else {
                        word.text.push_str("/home/");
                        word.text.push_str(user);
                    }
                }
                WordPiece::ParameterExpansion(expr) => match self.parameter(expr, state) {
                    Some(value) => word.text.push_str(&value),
                    None => {
                        word.text.push('*');
                        word.dynamic = true;
                    }
                },
                WordPiece::CommandSubstitution(script)
                | WordPiece::BackquotedCommandSubstitution(script) => {
                    self.nesting.push("$(…)".into());
                    let mut inner = state.clone();
                    self.script(script, &mut inner, depth + 1);
                    self.nesting.pop();
                    word.text.push('*');
                    word.dynamic = true;
                }
                WordPiece::EscapeSequence(text) => {
                    word.text.push_str(text.strip_prefix('\\').unwrap_or(text));
                }
                WordPiece::ArithmeticExpression(_) => {
                    word.text.push('*');
                    word.dynamic = true;
                }
            }
        }
    }

    fn parameter(&self, expr: &ParameterExpr, state: &State) -> Option<String> {
        let ParameterExpr::Parameter {
            parameter: Parameter::Named(name),
            indirect: false,
        } = expr
        else {
            return None;
        };
        if name == "HOME" {
            if let Some(home) = &self.home {
                return Some(home.clone());
            }
        }
        if name == "PWD" {
            return state.cwd.clone();
        }
        state.vars.get(name).cloned()
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
                return Some(doc.doc.value.clone());
            }
            IoRedirect::HereString(_, word) => {
                let expanded = self.expand(&word.value, state, depth);
                return Some(expanded.text);
            }
        };
        let word = self.expand(&target.value, state, depth);
        let path = self.path_of(&word, state);
        if tables::is_null_device(&path) {
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
    fn path_of(&self, word: &Word, state: &State) -> String {
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
                    let word = self.expand(&name.value, state, depth);
                    args.push(word);
                }
                continue;
            };
            match item {
                CommandPrefixOrSuffixItem::AssignmentWord(assignment, word) => {
                    if in_prefix {
                        let value = match &assignment.value {
                            ast::AssignmentValue::Scalar(w) => self.expand(&w.value, state, depth),
                            ast::AssignmentValue::Array(_) => Word {
                                text: "*".into(),
                                dynamic: true,
                                glob: false,
                            },
                        };
                        assignments.push((assignment.name.to_string(), value));
                    } else {
                        let expanded = self.expand(&word.value, state, depth);
                        args.push(expanded);
                    }
                }
                CommandPrefixOrSuffixItem::Word(word) => {
                    let expanded = self.expand(&word.value, state, depth);
                    args.push(expanded);
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
            Some(text) => Stdin {
                text: Some(text),
                piped: true,
                downloaded: stdin.downloaded,
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
        self.dispatch(&args, &mut run, state)
    }

    /// Runs one command given as expanded words.
    fn dispatch(&mut self, args: &[Word], run: &mut Run, state: &mut State) -> Stdin {
        let Some(first) = args.first() else {
            return Stdin::default();
        };
        let rest = &args[1..];
        if first.dynamic {
            let mut effect = opaque(Operation::Execute, format!("cmd://{}", first.text));
            attr(&mut effect, "command", first.text.clone());
            effect.environment = self.envs.of_variables(&run.env);
            self.notes.push(format!(
                "command name built at run time: {}",
                clip(&run.evidence)
            ));
            self.push(effect, &run.evidence.clone());
            return Stdin::default();
        }
        let program = program_name(&first.text);
        let texts: Vec<&str> = rest.iter().map(|w| w.text.as_str()).collect();
        let environment = self
            .envs
            .of_variables(&run.given)
            .or_else(|| self.envs.of_variables(&run.env));

        // The execute effect every simple command yields.
        let mut exec = Effect::new(Operation::Execute, format!("cmd://{program}"));
        attr(&mut exec, "command", program.clone());
        if WITH_SUBCOMMAND.contains(&program.as_str()) {
            if let Some(sub) = first_operand(&texts) {
                attr(&mut exec, "subcommand", sub);
            }
        }
        exec.environment = environment.clone();
        let known = is_known(&program);
        if environment.is_some() && (!known || RUNNERS.contains(&program.as_str())) {
            exec.opaque = true;
            exec.evidence = Some(format!(
                "{} (runs code the inspector cannot read against a known environment)",
                clip(&run.evidence)
            ));
        }
        if first.text.contains('/') && !known {
            attr(&mut exec, "path", self.path_of(first, state));
        }

        // Wrappers: hand the rest to `dispatch` again.
        if let Some((_, value_short, value_long, skip)) =
            WRAPPERS.iter().find(|(name, ..)| *name == program)
        {
            if program == "command" && texts.first().is_some_and(|t| *t == "-v" || *t == "-V") {
                self.push(exec, &run.evidence.clone());
                return Stdin::default();
            }
            self.push(exec, &run.evidence.clone());
            let start = skip_options(rest, value_short, value_long) + skip;
            return self.dispatch(rest.get(start..).unwrap_or(&[]), run, state);
        }
        if let Some((_, value_short)) = PRIVILEGE.iter().find(|(name, _)| *name == program) {
            tag(&mut exec, "privilege_escalation");
            self.push(exec, &run.evidence.clone());
            let start = skip_options(rest, value_short, &["--user", "--group"]);
            self.tags.push("privilege_escalation");
            let out = self.dispatch(rest.get(start..).unwrap_or(&[]), run, state);
            self.tags.pop();
            return out;
        }
        match program.as_str() {
            "su" => {
                tag(&mut exec, "privilege_escalation");
                self.push(exec, &run.evidence.clone());
                self.tags.push("privilege_escalation");
                match option_value(rest, &["-c", "--command"]) {
                    Some(script) => self.nested(&script, "su -c", run, state),
                    None => {
                        let mut effect = opaque(Operation::Execute, "cmd://su");
                        attr(&mut effect, "command", "su");
                        self.push(effect, &run.evidence.clone());
                    }
                }
                self.tags.pop();
                return Stdin::default();
            }
            "env" => {
                self.push(exec, &run.evidence.clone());
                let mut i = 0;
                while i < rest.len() {
                    let text = rest[i].text.as_str();
                    if text == "-u" || text == "--unset" {
                        if let Some(name) = rest.get(i + 1) {
                            run.env.remove(&name.text);
                        }
                        i += 2;
                    } else if text == "-C" || text == "--chdir" {
                        if let Some(dir) = rest.get(i + 1) {
                            state.cwd = Some(self.path_of(dir, state));
                        }
                        i += 2;
                    } else if text == "-S" || text == "--split-string" {
                        if let Some(script) = rest.get(i + 1) {
                            let script = script.text.clone();
                            self.nested(&script, "env -S", run, state);
                        }
                        return Stdin::default();
                    } else if text.starts_with('-') {
                        i += 1;
                    } else if let Some((name, value)) = text.split_once('=') {
                        if !rest[i].dynamic {
                            run.env.insert(name.to_string(), value.to_string());
                            run.given.insert(name.to_string(), value.to_string());
                        }
                        i += 1;
                    } else {
                        break;
                    }
                }
                return self.dispatch(rest.get(i..).unwrap_or(&[]), run, state);
            }
            "xargs" => {
                self.push(exec, &run.evidence.clone());
                let mut i = 0;
                let mut replace: Option<String> = None;
                while i < rest.len() {
                    let text = rest[i].text.as_str();
                    if text == "-I" || text == "-i" || text == "--replace" {
                        replace = rest
                            .get(i + 1)
                            .map(|w| w.text.clone())
                            .or(Some("{}".into()));
                        i += 2;
                    } else if let Some(r) = text.strip_prefix("-I") {
                        replace = Some(r.to_string());
                        i += 1;
                    } else if [
                        "-n",
                        "-P",
                        "-d",
                        "-L",
                        "-E",
                        "-s",
                        "-a",
                        "--max-args",
                        "--max-procs",
                        "--delimiter",
                        "--arg-file",
                    ]
                    .contains(&text)
                    {
                        i += 2;
                    } else if text.starts_with('-') {
                        i += 1;
                    } else {
                        break;
                    }
                }
                let unknown = Word {
                    text: "*".into(),
                    dynamic: true,
                    glob: true,
                };
                let mut inner: Vec<Word> = rest.get(i..).unwrap_or(&[]).to_vec();
                if inner.is_empty() {
                    inner.push(Word::literal("echo"));
                }
                match &replace {
                    Some(r) if !r.is_empty() => {
                        for word in inner.iter_mut().skip(1) {
                            if word.text.contains(r.as_str()) {
                                word.text = word.text.replace(r.as_str(), "*");
                                word.dynamic = true;
                                word.glob = true;
                            }
                        }
                    }
                    _ => inner.push(unknown),
                }
                self.nesting.push("xargs".into());
                let out = self.dispatch(&inner, run, state);
                self.nesting.pop();
                return out;
            }
            "cd" | "pushd" => {
                self.push(exec, &run.evidence.clone());
                let target = rest
                    .iter()
                    .find(|w| !w.text.starts_with('-') || w.text == "-");
                state.cwd = match target {
                    None => self.home.clone().or(Some("/**".into())),
                    Some(w) if w.text == "-" => Some("/**".into()),
                    Some(w) => Some(self.path_of(w, state)),
                };
                return Stdin::default();
            }
            "export" | "declare" | "typeset" | "local" | "readonly" => {
                self.push(exec, &run.evidence.clone());
                for word in rest {
                    if let Some((name, value)) = word.text.split_once('=') {
                        if word.dynamic {
                            state.vars.remove(name);
                        } else {
                            state.vars.insert(name.to_string(), value.to_string());
                        }
                    }
                }
                return Stdin::default();
            }
            "eval" => {
                exec.opaque = true;
                self.push(exec, &run.evidence.clone());
                let script = texts.join(" ");
                self.nested(&script, "eval", run, state);
                return Stdin::default();
            }
            "source" | "." => {
                exec.opaque = true;
                self.push(exec, &run.evidence.clone());
                if let Some(file) = rest.first() {
                    self.file_effect(Operation::Read, file, state, run, false, false);
                }
                return Stdin::default();
            }
            "watch" => {
                self.push(exec, &run.evidence.clone());
                let start = skip_options(rest, "nd", &["--interval"]);
                let script = rest
                    .get(start..)
                    .unwrap_or(&[])
                    .iter()
                    .map(|w| w.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                self.nested(&script, "watch", run, state);
                return Stdin::default();
            }
            "busybox" => {
                self.push(exec, &run.evidence.clone());
                return self.dispatch(rest, run, state);
            }
            _ => {}
        }
        if SHELLS.contains(&program.as_str()) {
            return self.shell_program(&program, exec, rest, run, state);
        }
        if let Some((_, inline)) = INTERPRETERS.iter().find(|(name, _)| {
            *name == program
                || program.starts_with(&format!("{name}."))
                || (program.starts_with("python3") && *name == "python3")
        }) {
            return self.interpreter(exec, inline, rest, run, state);
        }

        let out = Stdin {
            downloaded: false,
            text: match program.as_str() {
                "echo" | "printf" => Some(
                    texts
                        .iter()
                        .filter(|t| !t.starts_with('-'))
                        .copied()
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                "cat" if rest.is_empty() => run.stdin.text.clone(),
                _ => None,
            },
            piped: false,
        };
        if let Some(row) = tables::file_command(&program) {
            self.push(exec, &run.evidence.clone());
            self.file_command(row, &program, rest, run, state);
            return out;
        }
        match program.as_str() {
            "find" => {
                self.push(exec, &run.evidence.clone());
                self.find(rest, run, state);
            }
            "dd" => {
                self.push(exec, &run.evidence.clone());
                for word in rest {
                    if let Some(path) = word.text.strip_prefix("if=") {
                        let w = Word {
                            text: path.into(),
                            ..word.clone()
                        };
                        self.file_effect(Operation::Read, &w, state, run, false, false);
                    } else if let Some(path) = word.text.strip_prefix("of=") {
                        let w = Word {
                            text: path.into(),
                            ..word.clone()
                        };
                        self.file_effect(Operation::Update, &w, state, run, false, false);
                    }
                }
            }
            "tar" | "bsdtar" => {
                self.push(exec, &run.evidence.clone());
                self.tar(rest, run, state);
            }
            "unzip" => {
                self.push(exec, &run.evidence.clone());
                let dest = option_word(rest, &["-d"]);
                let dir = dest.unwrap_or_else(|| Word::literal("."));
                let forced = texts.contains(&"-o");
                if let Some(archive) = rest.iter().find(|w| {
                    !w.text.starts_with('-')
                        && Some(&w.text) != option_value(rest, &["-d"]).as_ref()
                }) {
                    self.file_effect(Operation::Read, archive, state, run, false, false);
                }
                let effect = self.file_effect_value(Operation::Create, &dir, state, true, forced);
                self.push(effect, &run.evidence.clone());
            }
            "curl" | "wget" | "http" | "https" | "xh" => {
                self.push(exec, &run.evidence.clone());
                return self.downloader(&program, rest, run, state);
            }
            "git" => {
                self.push(exec, &run.evidence.clone());
                self.git(rest, run, state);
            }
            "aws" => self.delegate(exec, rest, run, aws::inspect_aws_cli),
            "kubectl" | "oc" | "k" => self.delegate(exec, rest, run, kubectl::inspect_kubectl),
            "helm" => self.delegate(exec, rest, run, kubectl::inspect_helm),
            "terraform" | "tofu" | "terragrunt" => {
                self.delegate(exec, rest, run, terraform::inspect_terraform_cli)
            }
            "psql" | "mysql" | "mariadb" | "sqlite3" | "pgcli" | "mycli" => {
                self.push(exec, &run.evidence.clone());
                self.sql_client(&program, rest, run);
            }
            "systemctl" | "service" => {
                let verb = first_operand(&texts).unwrap_or_default();
                if [
                    "stop", "restart", "disable", "mask", "kill", "isolate", "poweroff", "reboot",
                    "halt",
                ]
                .contains(&verb.as_str())
                    || texts.iter().any(|t| ["stop", "restart"].contains(t))
                {
                    attr(&mut exec, "downtime", "true");
                }
                self.push(exec, &run.evidence.clone());
            }
            "shutdown" | "reboot" | "halt" | "poweroff" | "init" => {
                attr(&mut exec, "downtime", "true");
                self.push(exec, &run.evidence.clone());
            }
            "npm" | "yarn" | "pnpm" | "cargo" => {
                if first_operand(&texts).as_deref() == Some("publish") {
                    let registry = if program == "cargo" {
                        "https://crates.io/"
                    } else {
                        "https://registry.npmjs.org/"
                    };
                    let mut effect = Effect::new(Operation::NetworkSend, registry);
                    attr(&mut effect, "command", program.clone());
                    attr(&mut effect, "subcommand", "publish");
                    self.push(exec, &run.evidence.clone());
                    self.push(effect, &run.evidence.clone());
                } else {
                    self.push(exec, &run.evidence.clone());
                }
            }
            "ssh" | "mosh" => {
                let host = rest
                    .get(skip_options(rest, "bcDEeFIiJLlmOopQRSWw", &[]))
                    .map(|w| w.text.clone())
                    .unwrap_or_else(|| "*".into());
                let host = host.rsplit('@').next().unwrap_or(&host).to_string();
                let mut effect = opaque(Operation::Execute, format!("ssh://{host}"));
                attr(&mut effect, "host", host);
                self.push(exec, &run.evidence.clone());
                self.push(effect, &run.evidence.clone());
            }
            _ => self.push(exec, &run.evidence.clone()),
        }
        out
    }

    /// `bash -c "…"`, `bash script.sh`, `… | bash`, `bash <<EOF`.
    fn shell_program(
        &mut self,
        program: &str,
        mut exec: Effect,
        rest: &[Word],
        run: &mut Run,
        state: &mut State,
    ) -> Stdin {
        let mut i = 0;
        let mut script: Option<String> = None;
        while i < rest.len() {
            let text = rest[i].text.as_str();
            if text == "-c"
                || (text.starts_with('-') && !text.starts_with("--") && text.contains('c'))
            {
                script = rest.get(i + 1).map(|w| w.text.clone());
                if rest.get(i + 1).is_some_and(|w| w.dynamic) {
                    exec.opaque = true;
                }
                break;
            } else if text == "-o"
                || text == "+o"
                || text == "-O"
                || text == "+O"
                || text == "--rcfile"
                || text == "--init-file"
            {
                i += 2;
            } else if text.starts_with('-') || text.starts_with('+') {
                i += 1;
            } else {
                break;
            }
        }
        if let Some(script) = script {
            self.push(exec, &run.evidence.clone());
            self.nested(&script, &format!("{program} -c"), run, state);
            return Stdin::default();
        }
        if let Some(file) = rest.get(i) {
            exec.opaque = true;
            self.push(exec, &run.evidence.clone());
            self.file_effect(Operation::Read, file, state, run, false, false);
            return Stdin::default();
        }
        // Reads its script from standard input.
        if run.stdin.downloaded {
            exec.opaque = true;
            tag(&mut exec, "remote_code");
            self.push(exec, &run.evidence.clone());
            return Stdin::default();
        }
        match run.stdin.text.clone() {
            Some(text) => {
                self.push(exec, &run.evidence.clone());
                self.nested(&text, &format!("{program} reading its input"), run, state);
            }
            None => {
                if run.stdin.piped {
                    exec.opaque = true;
                    self.notes.push(format!(
                        "shell reads a script from a pipe: {}",
                        clip(&run.evidence)
                    ));
                }
                self.push(exec, &run.evidence.clone());
            }
        }
        Stdin::default()
    }

    fn interpreter(
        &mut self,
        mut exec: Effect,
        inline: &[&str],
        rest: &[Word],
        run: &mut Run,
        state: &mut State,
    ) -> Stdin {
        let inline_code = rest.iter().any(|w| {
            inline.contains(&w.text.as_str())
                || inline
                    .iter()
                    .any(|f| f.len() == 2 && w.text.starts_with(f) && !w.text.starts_with("--"))
        });
        let operand = rest.iter().find(|w| !w.text.starts_with('-'));
        if inline_code {
            exec.opaque = true;
            self.notes.push(format!(
                "inline code is not analysed: {}",
                clip(&run.evidence)
            ));
        } else if operand.is_none() || operand.is_some_and(|w| w.text == "-") {
            if run.stdin.piped || run.stdin.text.is_some() {
                exec.opaque = true;
                if run.stdin.downloaded {
                    tag(&mut exec, "remote_code");
                }
            }
        } else if let Some(script) = operand {
            if rest.iter().any(|w| w.text == "-m") {
                // `python -m module`: a module, not a file.
            } else {
                let script = script.clone();
                self.file_effect(Operation::Read, &script, state, run, false, false);
            }
        }
        self.push(exec, &run.evidence.clone());
        Stdin::default()
    }

    /// Inspects a script nested in a command (`bash -c`, `eval`, `su -c`).
    fn nested(&mut self, script: &str, place: &str, run: &Run, state: &State) {
        self.nesting.push(place.to_string());
        let mut inner = state.clone();
        inner.vars = run.env.clone();
        self.script(script, &mut inner, run.depth + 1);
        self.nesting.pop();
    }

    fn file_effect_value(
        &self,
        operation: Operation,
        word: &Word,
        state: &State,
        recursive: bool,
        forced: bool,
    ) -> Effect {
        let path = self.path_of(word, state);
        let mut effect = Effect::new(operation, file_uri(&path));
        effect.recursive = recursive;
        effect.forced = forced;
        effect.opaque = word.dynamic;
        if is_secret_path(&path) {
            tag(&mut effect, "secret");
        }
        if operation == Operation::Update && tables::is_block_device(&path) {
            tag(&mut effect, "raw_disk_write");
        }
        let glob = word.glob || word.dynamic;
        if operation.is_mutating()
            && operation != Operation::Create
            && (glob || (recursive && is_sweeping(&path, self.home.as_deref())))
            && (recursive || glob && operation == Operation::Delete)
        {
            effect.unbounded = true;
        }
        effect
    }

    fn file_effect(
        &mut self,
        operation: Operation,
        word: &Word,
        state: &State,
        run: &Run,
        recursive: bool,
        forced: bool,
    ) {
        let path = self.path_of(word, state);
        if tables::is_null_device(&path) && operation != Operation::Read {
            return;
        }
        let effect = self.file_effect_value(operation, word, state, recursive, forced);
        self.push(effect, &run.evidence.clone());
    }

    fn file_command(
        &mut self,
        row: &FileCommand,
        program: &str,
        rest: &[Word],
        run: &mut Run,
        state: &mut State,
    ) {
        let mut recursive = false;
        let mut forced = false;
        let mut update = false;
        let mut no_skip = false;
        let mut target: Option<Word> = None;
        let mut operands: Vec<&Word> = Vec::new();
        let mut options_done = false;
        let mut i = 0;
        while i < rest.len() {
            let word = &rest[i];
            let text = word.text.as_str();
            i += 1;
            if options_done || !text.starts_with('-') || text == "-" {
                operands.push(word);
                continue;
            }
            if text == "--" {
                options_done = true;
                continue;
            }
            if row.update_options.iter().any(|o| text.starts_with(o)) {
                update = true;
            }
            if row
                .no_skip_options
                .iter()
                .any(|o| text == *o || text.starts_with(&format!("{o}=")))
            {
                no_skip = true;
            }
            if let Some(long) = text.strip_prefix("--") {
                let name = format!("--{}", long.split('=').next().unwrap_or(long));
                if row.recursive_long.contains(&name.as_str()) {
                    recursive = true;
                }
                if row.forced_long.contains(&name.as_str()) {
                    forced = true;
                }
                if name == "--target-directory" {
                    target = match long.split_once('=') {
                        Some((_, v)) => Some(Word {
                            text: v.into(),
                            ..word.clone()
                        }),
                        None => rest.get(i).cloned(),
                    };
                }
                if program == "rsync" && name.starts_with("--delete") {
                    recursive = true;
                    update = true;
                    forced = true;
                }
                if !long.contains('=') && row.value_long.contains(&name.as_str()) {
                    i += 1;
                }
                continue;
            }
            // A cluster of short options: `-rf`, `-n5`, `-t dir`.
            for (index, c) in text[1..].char_indices() {
                if row.recursive_short.contains(c) {
                    recursive = true;
                }
                if row.forced_short.contains(c) {
                    forced = true;
                }
                if row.value_short.contains(c) {
                    let inline = &text[1 + index + c.len_utf8()..];
                    let value = if inline.is_empty() {
                        i += 1;
                        rest.get(i - 1).cloned()
                    } else {
                        Some(Word {
                            text: inline.into(),
                            ..word.clone()
                        })
                    };
                    if c == 't' && matches!(row.role, Role::SourcesDest(..)) {
                        target = value;
                    }
                    break;
                }
            }
        }
        if operands.is_empty() && row.default_cwd {
            let dot = Word::literal(".");
            let effect = self.file_effect_value(Operation::Read, &dot, state, recursive, forced);
            self.push(effect, &run.evidence.clone());
            return;
        }
        let emit = |walker: &mut Self, operation: Operation, word: &Word| {
            if remote_path(&word.text).is_some() {
                walker.remote(operation, &word.text, run);
                return;
            }
            let mut effect = walker.file_effect_value(operation, word, state, recursive, forced);
            if let Some(t) = row.tag {
                tag(&mut effect, t);
            }
            if operation == Operation::Read && tables::is_null_device(&walker.path_of(word, state))
            {
                return;
            }
            walker.push(effect, &run.evidence.clone());
        };
        match row.role {
            Role::Operands(operation) => {
                for word in operands {
                    emit(self, operation, word);
                }
            }
            Role::SkipFirst(operation) => {
                let operation = if update { Operation::Update } else { operation };
                let skip = if no_skip { 0 } else { 1 };
                if program == "awk" || program == "gawk" || program == "mawk" {
                    if let Some(prog) = operands.first().filter(|_| !no_skip) {
                        if prog.text.contains("system")
                            || prog.text.contains('|')
                            || prog.text.contains('>')
                        {
                            let mut effect = opaque(Operation::Execute, format!("cmd://{program}"));
                            attr(&mut effect, "command", program.to_string());
                            self.notes.push(format!(
                                "awk program runs commands or writes files: {}",
                                clip(&run.evidence)
                            ));
                            self.push(effect, &run.evidence.clone());
                        }
                    }
                }
                let paths: Vec<&Word> = operands.iter().skip(skip).copied().collect();
                if paths.is_empty() && row.recursive_short.contains('r') && recursive {
                    emit(self, operation, &Word::literal("."));
                }
                for word in paths {
                    emit(self, operation, word);
                }
            }
            Role::SourcesDest(source_op, dest_op) => {
                let dest_op = if update { Operation::Update } else { dest_op };
                let (sources, dest): (Vec<&Word>, Option<Word>) = match target {
                    Some(t) => (operands.clone(), Some(t)),
                    None if operands.len() >= 2 => (
                        operands[..operands.len() - 1].to_vec(),
                        operands.last().map(|w| (*w).clone()),
                    ),
                    None => (operands.clone(), None),
                };
                for word in sources {
                    emit(self, source_op, word);
                }
                if let Some(dest) = dest {
                    let op = if program == "rsync" && update {
                        Operation::Delete
                    } else {
                        dest_op
                    };
                    emit(self, op, &dest);
                }
            }
        }
    }

    /// A `host:path` operand of `scp`/`rsync`: data leaves the machine.
    fn remote(&mut self, operation: Operation, text: &str, run: &Run) {
        if let Some((host, path)) = remote_path(text) {
            let op = if operation == Operation::Read {
                Operation::Read
            } else {
                Operation::NetworkSend
            };
            let mut effect =
                Effect::new(op, format!("ssh://{host}/{}", path.trim_start_matches('/')));
            attr(&mut effect, "host", host);
            self.push(effect, &run.evidence.clone());
        }
    }

    fn find(&mut self, rest: &[Word], run: &mut Run, state: &mut State) {
        let split = rest
            .iter()
            .position(|w| w.text.starts_with('-') || w.text == "(" || w.text == "!")
            .unwrap_or(rest.len());
        let starts: Vec<Word> = if split == 0 {
            vec![Word::literal(".")]
        } else {
            rest[..split].to_vec()
        };
        let expression = &rest[split..];
        let mut acted = false;
        let mut i = 0;
        while i < expression.len() {
            let text = expression[i].text.as_str();
            match text {
                "-delete" => {
                    acted = true;
                    for start in &starts {
                        let mut effect =
                            self.file_effect_value(Operation::Delete, start, state, true, false);
                        if is_sweeping(&self.path_of(start, state), self.home.as_deref()) {
                            effect.unbounded = true;
                        }
                        self.push(effect, &run.evidence.clone());
                    }
                }
                "-exec" | "-execdir" | "-ok" | "-okdir" => {
                    acted = true;
                    let end = expression[i + 1..]
                        .iter()
                        .position(|w| w.text == ";" || w.text == "+")
                        .map(|p| i + 1 + p)
                        .unwrap_or(expression.len());
                    let inner_template: Vec<Word> = expression[i + 1..end].to_vec();
                    for start in &starts {
                        let base = self.path_of(start, state);
                        let below = if base == "/" {
                            "/**".to_string()
                        } else {
                            format!("{base}/**")
                        };
                        let inner: Vec<Word> = inner_template
                            .iter()
                            .map(|w| {
                                if w.text.contains("{}") {
                                    Word {
                                        text: w.text.replace("{}", &below),
                                        dynamic: true,
                                        glob: true,
                                    }
                                } else {
                                    w.clone()
                                }
                            })
                            .collect();
                        self.nesting.push("find -exec".into());
                        self.dispatch(&inner, run, state);
                        self.nesting.pop();
                    }
                    i = end;
                }
                "-fprint" | "-fprintf" | "-fls" | "-fprint0" => {
                    if let Some(file) = expression.get(i + 1) {
                        self.file_effect(Operation::Update, file, state, run, false, false);
                    }
                    i += 1;
                }
                _ => {}
            }
            i += 1;
        }
        if !acted {
            for start in &starts {
                let effect = self.file_effect_value(Operation::Read, start, state, true, false);
                self.push(effect, &run.evidence.clone());
            }
        }
    }

    fn tar(&mut self, rest: &[Word], run: &mut Run, state: &mut State) {
        let mut mode = ' ';
        let mut archive: Option<Word> = None;
        let mut dir: Option<Word> = None;
        let mut operands: Vec<Word> = Vec::new();
        let mut i = 0;
        while i < rest.len() {
            let word = &rest[i];
            let text = word.text.as_str();
            i += 1;
            if let Some(long) = text.strip_prefix("--") {
                let (name, value) = match long.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_string())),
                    None => (long, None),
                };
                match name {
                    "create" => mode = 'c',
                    "extract" | "get" => mode = 'x',
                    "list" => mode = 't',
                    "append" | "update" | "delete" => mode = 'r',
                    "file" | "directory" => {
                        let value = value
                            .map(|v| Word {
                                text: v,
                                ..word.clone()
                            })
                            .or_else(|| {
                                i += 1;
                                rest.get(i - 1).cloned()
                            });
                        if name == "file" {
                            archive = value
                        } else {
                            dir = value
                        }
                    }
                    "to-command"
                    | "use-compress-program"
                    | "checkpoint-action"
                    | "info-script"
                    | "new-volume-script" => {
                        let mut effect = opaque(Operation::Execute, "cmd://tar");
                        attr(&mut effect, "command", "tar");
                        self.push(effect, &run.evidence.clone());
                    }
                    _ => {}
                }
                continue;
            }
            let cluster = if let Some(c) = text.strip_prefix('-') {
                Some(c)
            } else if i == 1 && !text.contains('/') && !text.contains('.') {
                Some(text)
            } else {
                None
            };
            match cluster {
                Some(cluster) if !cluster.is_empty() => {
                    for c in cluster.chars() {
                        match c {
                            'c' | 'x' | 't' | 'r' | 'u' | 'A' => mode = c,
                            'f' => {
                                archive = rest.get(i).cloned();
                                i += 1;
                            }
                            'C' => {
                                dir = rest.get(i).cloned();
                                i += 1;
                            }
                            'I' => {
                                let mut effect = opaque(Operation::Execute, "cmd://tar");
                                attr(&mut effect, "command", "tar");
                                self.push(effect, &run.evidence.clone());
                            }
                            _ => {}
                        }
                    }
                }
                _ => operands.push(word.clone()),
            }
        }
        let dir_word = dir.clone().unwrap_or_else(|| Word::literal("."));
        let mut sub = state.clone();
        if dir.is_some() {
            sub.cwd = Some(self.path_of(&dir_word, state));
        }
        match mode {
            'x' => {
                if let Some(a) = &archive {
                    self.file_effect(Operation::Read, a, state, run, false, false);
                }
                let effect =
                    self.file_effect_value(Operation::Update, &dir_word, state, true, false);
                self.push(effect, &run.evidence.clone());
            }
            'c' | 'r' | 'u' | 'A' => {
                for word in &operands {
                    let effect = self.file_effect_value(Operation::Read, word, &sub, true, false);
                    self.push(effect, &run.evidence.clone());
                }
                if let Some(a) = &archive {
                    let op = if mode == 'c' {
                        Operation::Create
                    } else {
                        Operation::Update
                    };
                    self.file_effect(op, a, state, run, false, false);
                }
            }
            _ => {
                if let Some(a) = &archive {
                    self.file_effect(Operation::Read, a, state, run, false, false);
                }
            }
        }
    }

    fn downloader(
        &mut self,
        program: &str,
        rest: &[Word],
        run: &mut Run,
        state: &mut State,
    ) -> Stdin {
        let curl = program == "curl";
        let wget = program == "wget";
        let mut method: Option<String> = None;
        let mut sends = false;
        let mut urls: Vec<String> = Vec::new();
        let mut output: Option<Word> = None;
        let mut to_stdout = !wget;
        let mut i = 0;
        while i < rest.len() {
            let word = &rest[i];
            let text = word.text.as_str();
            i += 1;
            let (name, inline) = match text.split_once('=') {
                Some((n, v)) if text.starts_with("--") => (n.to_string(), Some(v.to_string())),
                _ => (text.to_string(), None),
            };
            let mut value = || -> Option<Word> {
                match &inline {
                    Some(v) => Some(Word {
                        text: v.clone(),
                        ..word.clone()
                    }),
                    None => {
                        i += 1;
                        rest.get(i - 1).cloned()
                    }
                }
            };
            if curl {
                match name.as_str() {
                    "-X" | "--request" => method = value().map(|w| w.text.to_ascii_uppercase()),
                    "-d" | "--data" | "--data-raw" | "--data-binary" | "--data-urlencode"
                    | "--json" | "-F" | "--form" | "--form-string" => {
                        sends = true;
                        if let Some(v) = value() {
                            if let Some(file) =
                                v.text.split('@').nth(1).filter(|_| v.text.contains('@'))
                            {
                                let f = Word {
                                    text: file.split(';').next().unwrap_or(file).into(),
                                    ..v.clone()
                                };
                                self.file_effect(Operation::Read, &f, state, run, false, false);
                            }
                        }
                    }
                    "-T" | "--upload-file" => {
                        sends = true;
                        method.get_or_insert_with(|| "PUT".into());
                        if let Some(v) = value() {
                            self.file_effect(Operation::Read, &v, state, run, false, false);
                        }
                    }
                    "-o" | "--output" => {
                        output = value();
                        to_stdout = false;
                    }
                    "-O" | "--remote-name" => to_stdout = false,
                    "-I" | "--head" => method = Some("HEAD".into()),
                    "--url" => {
                        if let Some(v) = value() {
                            urls.push(v.text);
                        }
                    }
                    "-H" | "--header" | "-u" | "--user" | "-A" | "--user-agent" | "-e"
                    | "--referer" | "-b" | "--cookie" | "-c" | "--cookie-jar" | "-K"
                    | "--config" | "-w" | "--write-out" | "-m" | "--max-time"
                    | "--connect-timeout" | "--retry" | "-x" | "--proxy" | "-r" | "--range"
                    | "-E" | "--cert" | "--key" | "--cacert" | "-C" | "--continue-at" | "-D"
                    | "--dump-header" | "--resolve" | "--limit-rate" | "-z" | "--time-cond"
                    | "--max-redirs" | "--retry-delay" | "--retry-max-time" | "-y" | "-Y" => {
                        value();
                    }
                    _ if text.starts_with('-') => {
                        // A short cluster such as `-fsSLo file`.
                        if !text.starts_with("--") {
                            if let Some(pos) = text.find('o') {
                                let inline = &text[pos + 1..];
                                output = if inline.is_empty() {
                                    i += 1;
                                    rest.get(i - 1).cloned()
                                } else {
                                    Some(Word {
                                        text: inline.into(),
                                        ..word.clone()
                                    })
                                };
                                to_stdout = false;
                            } else if text.contains('O') {
                                to_stdout = false;
                            }
                            if let Some(pos) = text.find('X') {
                                let inline = &text[pos + 1..];
                                method = if inline.is_empty() {
                                    i += 1;
                                    rest.get(i - 1).map(|w| w.text.to_ascii_uppercase())
                                } else {
                                    Some(inline.to_ascii_uppercase())
                                };
                            }
                        }
                    }
                    _ => urls.push(text.to_string()),
                }
            } else if wget {
                match name.as_str() {
                    "-O" | "--output-document" => {
                        let v = value();
                        if v.as_ref().is_some_and(|w| w.text == "-") {
                            to_stdout = true;
                        } else {
                            output = v;
                        }
                    }
                    "--post-data" | "--body-data" => {
                        sends = true;
                        value();
                    }
                    "--post-file" | "--body-file" => {
                        sends = true;
                        if let Some(v) = value() {
                            self.file_effect(Operation::Read, &v, state, run, false, false);
                        }
                    }
                    "--method" => method = value().map(|w| w.text.to_ascii_uppercase()),
                    "-P" | "--directory-prefix" | "-o" | "--output-file" | "-a"
                    | "--append-output" | "--header" | "-U" | "--user-agent" | "-t" | "--tries"
                    | "-T" | "--timeout" | "--user" | "--password" | "-e" | "--execute" => {
                        value();
                    }
                    _ if text.starts_with("-") => {
                        if text.ends_with("O-")
                            || text.ends_with("O") && rest.get(i).is_some_and(|w| w.text == "-")
                        {
                            if text.ends_with('O') {
                                i += 1;
                            }
                            to_stdout = true;
                        }
                    }
                    _ => urls.push(text.to_string()),
                }
            } else {
                // httpie / xh: `http [METHOD] URL [items]`.
                if text.starts_with('-') {
                    continue;
                }
                if urls.is_empty()
                    && method.is_none()
                    && text.chars().all(|c| c.is_ascii_uppercase())
                {
                    method = Some(text.to_string());
                } else if urls.is_empty() {
                    urls.push(text.to_string());
                } else if text.contains('=') || text.contains(':') {
                    sends = true;
                }
            }
        }
        let method = method.unwrap_or_else(|| if sends { "POST".into() } else { "GET".into() });
        let reads = matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS") && !sends;
        for url in &urls {
            let url = if url.contains("://") {
                url.clone()
            } else {
                format!("https://{url}")
            };
            let (resource, host) = crate::http::url_resource(&url);
            let mut effect = Effect::new(
                if reads {
                    Operation::Read
                } else {
                    Operation::NetworkSend
                },
                resource,
            );
            attr(&mut effect, "method", method.clone());
            if let Some(host) = host {
                attr(&mut effect, "host", host);
            }
            attr(&mut effect, "command", program.to_string());
            self.push(effect, &run.evidence.clone());
        }
        if let Some(out) = &output {
            self.file_effect(Operation::Update, out, state, run, false, false);
        } else if !to_stdout {
            for url in &urls {
                let name = url
                    .rsplit('/')
                    .next()
                    .filter(|n| !n.is_empty())
                    .unwrap_or("index.html");
                let w = Word::literal(name.split('?').next().unwrap_or(name));
                self.file_effect(Operation::Update, &w, state, run, false, false);
            }
        }
        Stdin {
            downloaded: to_stdout,
            text: None,
            piped: false,
        }
    }

    fn git(&mut self, rest: &[Word], run: &mut Run, state: &mut State) {
        let mut repo_state = state.clone();
        let mut i = 0;
        while i < rest.len() {
            let text = rest[i].text.as_str();
            if text == "-C" {
                if let Some(dir) = rest.get(i + 1) {
                    repo_state.cwd = Some(self.path_of(dir, state));
                }
                i += 2;
            } else if text == "-c"
                || text == "--git-dir"
                || text == "--work-tree"
                || text == "--namespace"
            {
                i += 2;
            } else if text.starts_with('-') {
                i += 1;
            } else {
                break;
            }
        }
        let Some(sub) = rest.get(i).map(|w| w.text.clone()) else {
            return;
        };
        let args = &rest[i + 1..];
        let texts: Vec<&str> = args.iter().map(|w| w.text.as_str()).collect();
        let has = |flags: &[&str]| {
            texts.iter().any(|t| {
                flags.contains(t)
                    || flags
                        .iter()
                        .any(|f| f.starts_with("--") && t.starts_with(&format!("{f}=")))
            })
        };
        let short = |c: char| {
            texts
                .iter()
                .any(|t| t.starts_with('-') && !t.starts_with("--") && t.contains(c))
        };
        let repo = Word::literal(".");
        let repo_effect = |walker: &mut Self, operation: Operation, tags: &[&str], forced: bool| {
            let mut effect = walker.file_effect_value(operation, &repo, &repo_state, false, forced);
            attr(&mut effect, "command", "git");
            attr(&mut effect, "subcommand", sub.clone());
            for t in tags {
                tag(&mut effect, t);
            }
            walker.push(effect, &run.evidence.clone());
        };
        match sub.as_str() {
            "status" | "diff" | "log" | "show" | "blame" | "grep" | "ls-files" | "ls-tree"
            | "rev-parse" | "describe" | "shortlog" | "fetch" | "cat-file" | "rev-list"
            | "whatchanged" | "version" | "help" | "ls-remote" | "count-objects" | "fsck"
            | "check-ignore" | "name-rev" | "merge-base" | "show-ref" | "for-each-ref"
            | "archive" | "format-patch" | "bisect" => {
                repo_effect(self, Operation::Read, &[], false);
            }
            "push" => self.git_push(args, run),
            "reset" => {
                if has(&["--hard", "--merge", "--keep"]) {
                    repo_effect(self, Operation::Update, &["discard_changes"], true);
                } else {
                    repo_effect(self, Operation::Update, &[], false);
                }
            }
            "checkout" | "restore" => {
                let dashdash = texts.iter().position(|t| *t == "--");
                let staged_only =
                    sub == "restore" && has(&["--staged", "-S"]) && !has(&["--worktree", "-W"]);
                let paths: Vec<&Word> = match dashdash {
                    Some(p) => args[p + 1..].iter().collect(),
                    None if sub == "restore" => {
                        args.iter().filter(|w| !w.text.starts_with('-')).collect()
                    }
                    None => args
                        .iter()
                        .filter(|w| w.text == "." || w.text == ":/")
                        .collect(),
                };
                let forced = has(&["-f", "--force"]);
                if (!paths.is_empty() || forced) && !staged_only {
                    if paths.is_empty() {
                        repo_effect(self, Operation::Update, &["discard_changes"], true);
                    }
                    for path in paths {
                        let mut effect = self.file_effect_value(
                            Operation::Update,
                            path,
                            &repo_state,
                            true,
                            forced,
                        );
                        attr(&mut effect, "command", "git");
                        attr(&mut effect, "subcommand", sub.clone());
                        tag(&mut effect, "discard_changes");
                        self.push(effect, &run.evidence.clone());
                    }
                } else {
                    repo_effect(self, Operation::Update, &[], false);
                }
            }
            "clean" => {
                if has(&["-n", "--dry-run"]) || short('n') {
                    repo_effect(self, Operation::Read, &[], false);
                    return;
                }
                let recursive = short('d');
                let forced = short('f') || has(&["--force"]);
                let paths: Vec<&Word> = args.iter().filter(|w| !w.text.starts_with('-')).collect();
                let targets: Vec<Word> = if paths.is_empty() {
                    vec![repo.clone()]
                } else {
                    paths.into_iter().cloned().collect()
                };
                for target in targets {
                    let mut effect = self.file_effect_value(
                        Operation::Delete,
                        &target,
                        &repo_state,
                        recursive,
                        forced,
                    );
                    attr(&mut effect, "command", "git");
                    attr(&mut effect, "subcommand", "clean");
                    if short('x') || short('X') {
                        attr(&mut effect, "ignored", "true");
                    }
                    tag(&mut effect, "discard_changes");
                    self.push(effect, &run.evidence.clone());
                }
            }
            "rm" => {
                let recursive = short('r');
                let forced = short('f') || has(&["--force"]);
                let cached = has(&["--cached"]);
                for path in args.iter().filter(|w| !w.text.starts_with('-')) {
                    let op = if cached {
                        Operation::Update
                    } else {
                        Operation::Delete
                    };
                    let mut effect =
                        self.file_effect_value(op, path, &repo_state, recursive, forced);
                    attr(&mut effect, "command", "git");
                    attr(&mut effect, "subcommand", "rm");
                    self.push(effect, &run.evidence.clone());
                }
            }
            "branch" => {
                let delete = has(&["-d", "-D", "--delete"]);
                if delete {
                    let forced = has(&["-D", "--force", "-f"]);
                    for name in args.iter().filter(|w| !w.text.starts_with('-')) {
                        let mut effect =
                            Effect::new(Operation::Delete, format!("git://local/{}", name.text));
                        effect.forced = forced;
                        attr(&mut effect, "command", "git");
                        attr(&mut effect, "subcommand", "branch");
                        attr(&mut effect, "branch", name.text.clone());
                        self.push(effect, &run.evidence.clone());
                    }
                } else if texts.iter().any(|t| !t.starts_with('-')) {
                    repo_effect(self, Operation::Update, &[], false);
                } else {
                    repo_effect(self, Operation::Read, &[], false);
                }
            }
            "stash" => {
                let verb = texts.first().copied().unwrap_or("push");
                match verb {
                    "list" | "show" => repo_effect(self, Operation::Read, &[], false),
                    "drop" | "clear" => {
                        repo_effect(self, Operation::Update, &["discard_changes"], false)
                    }
                    _ => repo_effect(self, Operation::Update, &[], false),
                }
            }
            "commit" | "rebase" | "filter-branch" | "filter-repo" | "replace" => {
                let rewrite = sub != "commit" || has(&["--amend"]);
                let tags: &[&str] = if rewrite { &["history_rewrite"] } else { &[] };
                let opaque_hooks = sub == "rebase" && (has(&["--exec", "-x"]) || short('x'));
                repo_effect(self, Operation::Update, tags, false);
                if sub == "filter-branch" || opaque_hooks {
                    let mut effect = opaque(Operation::Execute, "cmd://git");
                    attr(&mut effect, "command", "git");
                    attr(&mut effect, "subcommand", sub.clone());
                    self.push(effect, &run.evidence.clone());
                }
            }
            "add" | "mv" | "merge" | "cherry-pick" | "revert" | "pull" | "am" | "apply"
            | "switch" | "init" | "tag" | "notes" | "submodule" | "worktree" | "gc" | "prune"
            | "config" | "remote" | "update-index" | "sparse-checkout" | "lfs" | "maintenance"
            | "repack" | "update-ref" | "reflog" => {
                let tags: &[&str] = if (sub == "reflog" && has(&["expire", "delete"]))
                    || (sub == "update-ref" && has(&["-d"]))
                {
                    &["history_rewrite"]
                } else {
                    &[]
                };
                let operation = if sub == "config" && (has(&["--get", "--list", "-l", "--get-all"]))
                {
                    Operation::Read
                } else {
                    Operation::Update
                };
                repo_effect(self, operation, tags, has(&["-f", "--force"]));
            }
            "clone" => {
                let operands: Vec<&Word> =
                    args.iter().filter(|w| !w.text.starts_with('-')).collect();
                if let Some(url) = operands.first() {
                    let mut effect = Effect::new(
                        Operation::Read,
                        format!(
                            "git://{}",
                            url.text
                                .trim_start_matches("https://")
                                .trim_start_matches("git@")
                        ),
                    );
                    attr(&mut effect, "command", "git");
                    attr(&mut effect, "subcommand", "clone");
                    self.push(effect, &run.evidence.clone());
                    let dest = operands.get(1).map(|w| (*w).clone()).unwrap_or_else(|| {
                        let name = url
                            .text
                            .trim_end_matches('/')
                            .rsplit(['/', ':'])
                            .next()
                            .unwrap_or("repo");
                        Word::literal(name.trim_end_matches(".git"))
                    });
                    let effect =
                        self.file_effect_value(Operation::Create, &dest, &repo_state, true, false);
                    self.push(effect, &run.evidence.clone());
                }
            }
            _ => {
                // An alias or extension: it may run anything.
                let mut effect = opaque(Operation::Execute, "cmd://git");
                attr(&mut effect, "command", "git");
                attr(&mut effect, "subcommand", sub.clone());
                self.notes.push(format!(
                    "unknown git subcommand `{sub}` (an alias may run anything)"
                ));
                self.push(effect, &run.evidence.clone());
            }
        }
    }

    fn git_push(&mut self, args: &[Word], run: &Run) {
        let mut forced = false;
        let mut delete = false;
        let mut all = false;
        let mut positional: Vec<&str> = Vec::new();
        let mut i = 0;
        while i < args.len() {
            let text = args[i].text.as_str();
            i += 1;
            if text == "--" {
                positional.extend(args[i..].iter().map(|w| w.text.as_str()));
                break;
            }
            if let Some(long) = text.strip_prefix("--") {
                let name = long.split('=').next().unwrap_or(long);
                match name {
                    "force" | "force-with-lease" | "force-if-includes" => forced = true,
                    "delete" => delete = true,
                    "all" | "mirror" | "tags" | "branches" => all = true,
                    "repo" | "receive-pack" | "exec" | "push-option" | "signed"
                        if !long.contains('=') =>
                    {
                        i += 1
                    }
                    _ => {}
                }
            } else if let Some(cluster) = text.strip_prefix('-') {
                if cluster.contains('f') {
                    forced = true;
                }
                if cluster.contains('d') {
                    delete = true;
                }
                if cluster.contains('o') {
                    i += 1;
                }
            } else {
                positional.push(text);
            }
        }
        let remote = positional.first().copied().unwrap_or("origin").to_string();
        let mut refspecs: Vec<&str> = positional.iter().skip(1).copied().collect();
        if refspecs.is_empty() {
            refspecs.push(if all { "*" } else { "HEAD" });
        }
        for spec in refspecs {
            let plus = spec.starts_with('+');
            let spec = spec.trim_start_matches('+');
            let (source, dest) = match spec.split_once(':') {
                Some((s, d)) => (s, d),
                None => (spec, spec),
            };
            let branch = dest.trim_start_matches("refs/heads/").to_string();
            let deleting = delete || (source.is_empty() && spec.contains(':'));
            let mut effect = Effect::new(
                if deleting {
                    Operation::Delete
                } else {
                    Operation::Update
                },
                format!("git://{remote}/{branch}"),
            );
            effect.forced = forced || plus;
            if effect.forced {
                tag(&mut effect, "force_push");
            }
            if all {
                effect.unbounded = true;
            }
            attr(&mut effect, "command", "git");
            attr(&mut effect, "subcommand", "push");
            attr(&mut effect, "remote", remote.clone());
            attr(&mut effect, "branch", branch);
            self.push(effect, &run.evidence.clone());
        }
    }

    /// Records running the program, then the effects a tool-specific analyser derives from its
    /// arguments (aws, kubectl, helm, terraform all take the same inputs).
    fn delegate(&mut self, exec: Effect, rest: &[Word], run: &Run, analyser: CliAnalyser) {
        self.push(exec, &run.evidence);
        let args: Vec<String> = rest.iter().map(|w| w.text.clone()).collect();
        for effect in analyser(&args, &run.env, self.envs) {
            self.push(effect, &run.evidence);
        }
    }

    fn sql_client(&mut self, program: &str, rest: &[Word], run: &Run) {
        let mut url: Option<String> = None;
        let mut host: Option<String> = run.env.get("PGHOST").cloned();
        let mut db: Option<String> = run.env.get("PGDATABASE").cloned();
        let mut statements: Vec<String> = Vec::new();
        let mut from_file = false;
        let mut i = 0;
        while i < rest.len() {
            let text = rest[i].text.as_str();
            i += 1;
            let (name, inline) = match text.split_once('=') {
                Some((n, v)) if text.starts_with("--") => (n, Some(v.to_string())),
                _ => (text, None),
            };
            let mut value = || {
                inline.clone().or_else(|| {
                    i += 1;
                    rest.get(i - 1).map(|w| w.text.clone())
                })
            };
            match name {
                "-c" | "--command" | "-e" | "--execute" if program != "sqlite3" => {
                    statements.extend(value())
                }
                "-h" | "--host" => host = value(),
                "-d" | "--dbname" | "-D" | "--database" => {
                    let v = value();
                    if v.as_deref().is_some_and(|v| v.contains("://")) {
                        url = v
                    } else {
                        db = v
                    }
                }
                "-f" | "--file" => {
                    from_file = true;
                    value();
                }
                "-U" | "--username" | "-u" | "--user" | "-p" | "--port" | "-P" | "-v" | "--set"
                | "-o" | "--output" => {
                    if !(program == "mysql" && name == "-p") {
                        value();
                    }
                }
                _ if text.starts_with('-') => {}
                _ if text.contains("://") => url = Some(text.to_string()),
                _ if program == "sqlite3" && url.is_none() => {
                    url = Some(format!("sqlite:///{}", text.trim_start_matches('/')))
                }
                _ if program == "sqlite3" => statements.push(text.to_string()),
                _ => db = db.or(Some(text.to_string())),
            }
        }
        let scheme = match program {
            "mysql" | "mariadb" | "mycli" => "mysql",
            "sqlite3" => "sqlite",
            _ => "postgres",
        };
        let url = url.unwrap_or_else(|| {
            format!(
                "{scheme}://{}/{}",
                host.unwrap_or_else(|| "_".into()),
                db.unwrap_or_else(|| "_".into())
            )
        });
        if statements.is_empty() {
            if let Some(text) = run.stdin.text.clone() {
                statements.push(text);
            }
        }
        if statements.is_empty() || from_file {
            let (resource, environment) = sql::sql_target(&url, None, self.envs);
            let mut effect = opaque(Operation::Execute, resource);
            effect.environment = environment;
            attr(&mut effect, "command", program.to_string());
            self.push(effect, &run.evidence.clone());
        }
        for statement in statements {
            let inspection = sql::inspect_sql(&url, &statement, self.envs);
            self.notes.extend(inspection.notes);
            for effect in inspection.effects {
                self.push(effect, &run.evidence.clone());
            }
        }
    }
}

/// What a simple command runs with.
/// A command-line analyser: arguments, visible variables, known environments → effects.
type CliAnalyser = fn(&[String], &BTreeMap<String, String>, &Environments) -> Vec<Effect>;

struct Run {
    /// Every variable it sees.
    env: BTreeMap<String, String>,
    /// The variables given on its own line (`X=1 cmd`, `env X=1 cmd`).
    given: BTreeMap<String, String>,
    stdin: Stdin,
    evidence: String,
    depth: usize,
}

/// `/usr/bin/rm` → `rm`; `./deploy.sh` stays as written.
fn program_name(text: &str) -> String {
    let base = text.rsplit('/').next().unwrap_or(text);
    if text.contains('/') && !is_known(base) {
        return text.to_string();
    }
    base.to_string()
}

fn is_known(program: &str) -> bool {
    tables::file_command(program).is_some()
        || HARMLESS.contains(&program)
        || RUNNERS.contains(&program)
        || SHELLS.contains(&program)
        || WITH_SUBCOMMAND.contains(&program)
        || WRAPPERS.iter().any(|(n, ..)| *n == program)
        || PRIVILEGE.iter().any(|(n, _)| *n == program)
        || INTERPRETERS.iter().any(|(n, _)| *n == program)
        || [
            "find",
            "dd",
            "tar",
            "bsdtar",
            "unzip",
            "curl",
            "wget",
            "http",
            "https",
            "xh",
            "git",
            "aws",
            "kubectl",
            "oc",
            "helm",
            "terraform",
            "tofu",
            "terragrunt",
            "psql",
            "mysql",
            "mariadb",
            "sqlite3",
            "su",
            "xargs",
            "eval",
            "source",
            ".",
            "watch",
            "ssh",
            "systemctl",
            "service",
            "shutdown",
            "reboot",
            "halt",
            "poweroff",
            "busybox",
        ]
        .contains(&program)
}

/// The first operand, skipping options and the values of the global options of the
/// programs that take a subcommand (`aws --profile prod ec2 …` → `ec2`).
fn first_operand(texts: &[&str]) -> Option<String> {
    const GLOBAL_WITH_VALUE: &[&str] = &[
        "--profile",
        "--region",
        "--output",
        "--endpoint-url",
        "--query",
        "--context",
        "-n",
        "--namespace",
        "--kubeconfig",
        "-C",
        "-c",
        "--kube-context",
        "--cluster",
        "--user",
        "-s",
        "--server",
        "--git-dir",
        "--work-tree",
        "--prefix",
        "--manifest-path",
        "-p",
        "--package",
        "--project",
        "--directory",
    ];
    let mut i = 0;
    while i < texts.len() {
        let text = texts[i];
        if !text.starts_with('-') {
            return Some(text.to_string());
        }
        i += if GLOBAL_WITH_VALUE.contains(&text) {
            2
        } else {
            1
        };
    }
    None
}

/// The index of the first argument after the leading options.
fn skip_options(args: &[Word], value_short: &str, value_long: &[&str]) -> usize {
    let mut i = 0;
    while i < args.len() {
        let text = args[i].text.as_str();
        if text == "--" {
            return i + 1;
        }
        if !text.starts_with('-') || text == "-" {
            return i;
        }
        if text.starts_with("--") {
            i += if !text.contains('=') && value_long.contains(&text) {
                2
            } else {
                1
            };
            continue;
        }
        let last = text.chars().last().unwrap_or('-');
        i += if text.len() == 2 && value_short.contains(last) {
            2
        } else {
            1
        };
    }
    i
}

fn option_value(args: &[Word], names: &[&str]) -> Option<String> {
    option_word(args, names).map(|w| w.text)
}

fn option_word(args: &[Word], names: &[&str]) -> Option<Word> {
    let mut iter = args.iter();
    while let Some(word) = iter.next() {
        if names.contains(&word.text.as_str()) {
            return iter.next().cloned();
        }
        for name in names {
            if let Some(v) = word.text.strip_prefix(&format!("{name}=")) {
                return Some(Word {
                    text: v.into(),
                    ..word.clone()
                });
            }
        }
    }
    None
}

/// `user@host:path` or `host:path`, not a URL or an absolute path.
fn remote_path(text: &str) -> Option<(String, String)> {
    if text.contains("://") || text.starts_with('/') || text.starts_with('.') {
        return None;
    }
    let (host, path) = text.split_once(':')?;
    if host.is_empty() || host.contains('/') {
        return None;
    }
    let host = host.rsplit('@').next().unwrap_or(host).to_string();
    Some((host, path.to_string()))
}
