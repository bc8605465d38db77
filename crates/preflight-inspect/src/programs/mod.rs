//! Program models: what each program preflight understands does with its arguments.
//!
//! A model receives the resolved words after the program name and either accounts for every
//! one of them (an option of its [`spec::Spec`], an operand it knows the role of) and pushes
//! the effects they imply, or returns [`Unaccounted`]: then the command is opaque, carrying
//! the program and every path and URL it mentions, never a narrower effect a policy could
//! allow. A program with no model yields `execute` on `cmd://NAME` (a policy may allow it by
//! name) plus an opaque effect on each path or URL among its arguments. A program reached by
//! a path outside the system's program directories (`/tmp/cat`, `./rm`) is never taken for
//! the program of the same name: it is opaque.
//!
//! One module per family, each with the cases that pin its models.

use std::collections::HashMap;
use std::sync::OnceLock;

use preflight_core::{Effect, Operation};

use crate::effects::{attr, clip, opaque, tag};
use crate::paths::{file_uri, is_secret_path, is_sweeping};
use crate::shell::{Run, State, Stdin, Walker};
use crate::tables;

pub(crate) use crate::shell::Word;
pub(crate) use spec::Unaccounted;

mod archives;
mod builtins;
mod cloud;
mod coreutils;
mod databases;
mod download;
mod find;
mod git;
mod interpreters;
mod packages;
mod sed;
pub(crate) mod spec;
mod system;
mod vault;
mod wrappers;

/// A model: accounts for the arguments of one invocation and pushes their effects.
pub(crate) type Model = fn(&mut Call<'_, '_>) -> Result<(), Unaccounted>;

/// A program preflight understands.
#[derive(Clone, Copy)]
pub(crate) struct Program {
    /// The names it is run by (basenames).
    pub names: &'static [&'static str],
    pub model: Model,
}

/// Every family's programs.
const FAMILIES: &[&[Program]] = &[
    wrappers::PROGRAMS,
    builtins::PROGRAMS,
    coreutils::PROGRAMS,
    sed::PROGRAMS,
    find::PROGRAMS,
    git::PROGRAMS,
    download::PROGRAMS,
    interpreters::PROGRAMS,
    packages::PROGRAMS,
    archives::PROGRAMS,
    cloud::PROGRAMS,
    databases::PROGRAMS,
    system::PROGRAMS,
    vault::PROGRAMS,
];

fn registry() -> &'static HashMap<&'static str, &'static Program> {
    static REGISTRY: OnceLock<HashMap<&'static str, &'static Program>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut map = HashMap::new();
        for tool in coreutils::tools() {
            for name in tool.names {
                map.insert(*name, &coreutils::FILE_TOOL);
            }
        }
        for family in FAMILIES {
            for program in *family {
                for name in program.names {
                    map.insert(*name, program);
                }
            }
        }
        map
    })
}

/// The model of a program, by basename. `mkfs.ext4` and friends fall back to `mkfs`.
pub(crate) fn lookup(name: &str) -> Option<&'static Program> {
    let registry = registry();
    registry.get(name).copied().or_else(|| {
        let base = name.split('.').next().unwrap_or(name);
        (base != name && base == "mkfs")
            .then(|| registry.get(base).copied())
            .flatten()
    })
}

/// Whether preflight has a model of `name`.
pub fn is_modelled(name: &str) -> bool {
    lookup(name).is_some()
}

/// Every program name with a model, sorted.
pub fn modelled_programs() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = registry().keys().copied().collect();
    names.sort_unstable();
    names
}

/// Directories whose programs are the system's own.
const SYSTEM_DIRS: &[&str] = &[
    "/bin",
    "/usr/bin",
    "/usr/local/bin",
    "/sbin",
    "/usr/sbin",
    "/usr/local/sbin",
];

/// One invocation, as a model sees it.
pub(crate) struct Call<'c, 'a> {
    pub walker: &'c mut Walker<'a>,
    pub state: &'c mut State,
    pub run: &'c mut Run,
    /// The program's name (its basename).
    pub name: &'c str,
    /// The words after the program name.
    pub args: &'c [Word],
    /// The `execute` effect of the program, pushed before whatever the model pushes.
    pub exec: Effect,
    /// What the command writes to a pipe.
    pub out: Stdin,
}

impl Call<'_, '_> {
    /// Pushes an effect with this command as evidence.
    pub(crate) fn push(&mut self, effect: Effect) {
        self.walker.push(effect, &self.run.evidence);
    }

    /// The normalised path a word names.
    pub(crate) fn path(&self, word: &Word) -> String {
        self.walker.path_of(word, self.state)
    }

    /// An effect on the file a word names.
    pub(crate) fn file(
        &self,
        operation: Operation,
        word: &Word,
        recursive: bool,
        forced: bool,
    ) -> Effect {
        file_effect(self.walker, self.state, operation, word, recursive, forced)
    }

    /// Pushes an effect on the file a word names (writes to `/dev/null` are no effect).
    pub(crate) fn push_file(
        &mut self,
        operation: Operation,
        word: &Word,
        recursive: bool,
        forced: bool,
    ) {
        let path = self.path(word);
        if tables::is_null_device(&path) && operation != Operation::Read {
            return;
        }
        let effect = effect_at(self.walker, path, operation, word, recursive, forced);
        self.push(effect);
    }

    /// Pushes an opaque effect: what the command does there cannot be read.
    pub(crate) fn push_opaque(&mut self, resource: String, why: &str) {
        let mut effect = opaque(Operation::Execute, resource);
        attr(&mut effect, "command", self.name.to_string());
        self.walker
            .notes
            .push(format!("{why}: {}", clip(&self.run.evidence)));
        self.push(effect);
    }

    /// How many effects the line has so far.
    pub(crate) fn effects_len(&self) -> usize {
        self.walker.effects.len()
    }

    /// Tags every effect pushed since there were `since` effects.
    pub(crate) fn tag_since(&mut self, since: usize, name: &str) {
        for effect in self.walker.effects.iter_mut().skip(since) {
            tag(effect, name);
        }
    }

    /// Marks the program's own execution opaque (it runs code the inspector cannot read).
    pub(crate) fn opaque_exec(&mut self, why: &str) {
        self.exec.opaque = true;
        self.walker
            .notes
            .push(format!("{why}: {}", clip(&self.run.evidence)));
    }

    /// Inspects a script the command runs (`bash -c`, `eval`, `sh` reading a here-document).
    pub(crate) fn nested(&mut self, script: &str, place: &str) {
        let run = self.run.clone();
        self.walker.nested(script, place, &run, self.state);
    }

    /// Runs `words` as a command of its own (a wrapper's command).
    pub(crate) fn dispatch(&mut self, words: &[Word], place: &str) -> Stdin {
        self.walker.nesting.push(place.to_string());
        let out = dispatch(self.walker, words, self.run, self.state);
        self.walker.nesting.pop();
        out
    }

    /// Sets a subcommand attribute on the `execute` effect.
    pub(crate) fn subcommand(&mut self, sub: &str) {
        attr(&mut self.exec, "subcommand", sub.to_string());
    }
}

pub(crate) fn file_effect(
    walker: &Walker<'_>,
    state: &State,
    operation: Operation,
    word: &Word,
    recursive: bool,
    forced: bool,
) -> Effect {
    let path = walker.path_of(word, state);
    effect_at(walker, path, operation, word, recursive, forced)
}

/// An effect on `path`, the normalised path `word` names.
fn effect_at(
    walker: &Walker<'_>,
    path: String,
    operation: Operation,
    word: &Word,
    recursive: bool,
    forced: bool,
) -> Effect {
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
        && (glob || (recursive && is_sweeping(&path, walker.home.as_deref())))
        && (recursive || glob && operation == Operation::Delete)
    {
        effect.unbounded = true;
    }
    effect
}

/// Whether a word looks like a path: it names a directory part, starts like one, or is a
/// pattern or only known at run time.
pub(crate) fn is_path_like(word: &Word) -> bool {
    let text = word.text.as_str();
    !text.contains("://")
        && (text.contains('/')
            || text.starts_with('.')
            || text.starts_with('~')
            || word.dynamic
            || word.glob)
}

/// Whether a word looks like a URL or a `host:path` remote.
fn url_of(word: &Word) -> Option<String> {
    let text = word.text.as_str();
    let text = text.split_once('=').map_or(text, |(_, value)| value);
    if let Some((scheme, _)) = text.split_once("://") {
        if !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+')
        {
            return Some(text.to_string());
        }
    }
    None
}

/// Opaque effects on every path and URL among `args`, so that what is known of an unreadable
/// command still reaches the policy.
pub(crate) fn mentioned(
    walker: &mut Walker<'_>,
    state: &State,
    run: &Run,
    name: &str,
    args: &[Word],
) {
    for word in args {
        if walker.full() {
            return;
        }
        if let Some(url) = url_of(word) {
            if let Some(path) = crate::http::file_url_path(&url) {
                // `file://HOST/PATH` names a local file: judged as the path, secrets and all.
                let path = walker.path_of(&word.with_text(&path), state);
                let mut effect = opaque(Operation::Execute, file_uri(&path));
                attr(&mut effect, "command", name.to_string());
                if is_secret_path(&path) {
                    tag(&mut effect, "secret");
                }
                walker.push(effect, &run.evidence);
                continue;
            }
            let mut effect = opaque(Operation::Execute, url);
            attr(&mut effect, "command", name.to_string());
            walker.push(effect, &run.evidence);
            continue;
        }
        let candidate = match word.text.split_once('=') {
            Some((option, value)) if option.starts_with('-') => word.with_text(value),
            _ => word.clone(),
        };
        if is_path_like(&candidate) {
            let path = walker.path_of(&candidate, state);
            let mut effect = opaque(Operation::Execute, file_uri(&path));
            effect.unbounded = candidate.dynamic || candidate.glob;
            attr(&mut effect, "command", name.to_string());
            if is_secret_path(&path) {
                tag(&mut effect, "secret");
            }
            walker.push(effect, &run.evidence);
        }
    }
}

/// Runs one command given as resolved words.
pub(crate) fn dispatch(
    walker: &mut Walker<'_>,
    args: &[Word],
    run: &mut Run,
    state: &mut State,
) -> Stdin {
    let Some(first) = args.first() else {
        return Stdin::default();
    };
    if walker.full() {
        return Stdin::default();
    }
    let rest = &args[1..];
    let environment = walker
        .envs
        .of_variables(&run.given)
        .or_else(|| walker.envs.of_variables(&run.env));
    if first.dynamic || first.glob {
        let mut effect = opaque(Operation::Execute, format!("cmd://{}", first.text));
        attr(&mut effect, "command", first.text.clone());
        effect.environment = environment;
        walker.notes.push(format!(
            "command name only known at run time: {}",
            clip(&run.evidence)
        ));
        walker.push(effect, &run.evidence.clone());
        mentioned(walker, state, run, "*", rest);
        return Stdin::default();
    }
    let (name, system) = match first.text.rsplit_once('/') {
        Some((dir, base)) => {
            let dir = if dir.is_empty() { "/" } else { dir };
            (base.to_string(), SYSTEM_DIRS.contains(&dir))
        }
        None => (first.text.clone(), true),
    };
    if !system {
        // `./rm`, `/tmp/cat`: whatever lives there, it is not the system's program.
        let path = walker.path_of(first, state);
        let mut effect = opaque(Operation::Execute, format!("cmd://{path}"));
        attr(&mut effect, "command", path.clone());
        attr(&mut effect, "path", path);
        effect.environment = environment;
        walker.notes.push(format!(
            "program outside the system's directories: {}",
            clip(&run.evidence)
        ));
        walker.push(effect, &run.evidence.clone());
        mentioned(walker, state, run, &first.text, rest);
        return Stdin::default();
    }
    let mut exec = Effect::new(Operation::Execute, format!("cmd://{name}"));
    attr(&mut exec, "command", name.clone());
    exec.environment = environment.clone();
    let Some(program) = lookup(&name) else {
        // No model: it runs, and whatever it does to the paths and URLs it is given is
        // unknown.
        if environment.is_some() {
            exec.opaque = true;
            exec.evidence = Some(format!(
                "{} (runs code the inspector cannot read against a known environment)",
                clip(&run.evidence)
            ));
        }
        walker.push(exec, &run.evidence.clone());
        mentioned(walker, state, run, &name, rest);
        return Stdin::default();
    };
    let at = walker.effects.len();
    let mut call = Call {
        walker,
        state,
        run,
        name: &name,
        args: rest,
        exec,
        out: Stdin::default(),
    };
    let result = (program.model)(&mut call);
    let Call {
        walker,
        state,
        run,
        mut exec,
        out,
        ..
    } = call;
    if let Err(Unaccounted(why)) = &result {
        exec.opaque = true;
        walker
            .notes
            .push(format!("`{name}`: {why}: {}", clip(&run.evidence)));
    }
    if exec.evidence.is_none() {
        let mut text = clip(&run.evidence);
        for place in walker.nesting.iter().rev() {
            text.push_str(" (in ");
            text.push_str(place);
            text.push(')');
        }
        exec.evidence = Some(text);
    }
    for t in &walker.tags {
        tag(&mut exec, t);
    }
    if walker.effects.len() < crate::shell::MAX_EFFECTS {
        let at = at.min(walker.effects.len());
        walker.effects.insert(at, exec);
    }
    if result.is_err() {
        mentioned(walker, state, run, &name, rest);
        return Stdin::default();
    }
    out
}

/// `user@host:path` or `host:path`, not a URL or an absolute path.
pub(crate) fn remote_path(text: &str) -> Option<(String, String)> {
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

#[cfg(test)]
pub(crate) mod tests {
    use preflight_core::Effect;

    use crate::{EnvironmentMarkers, Environments, ShellContext, inspect_shell};

    /// The effects of a line run in `/workspace/app` by alice, with the reference envelope's
    /// environments.
    pub(crate) fn effects_of(line: &str) -> Vec<Effect> {
        let markers = |name: &str| EnvironmentMarkers {
            aws_profiles: vec![name.into()],
            kube_contexts: vec![format!("{name}-cluster")],
            db_hosts: vec![format!("db.{name}.internal")],
            ..EnvironmentMarkers::default()
        };
        let envs = Environments::from_markers([
            ("prod", markers("prod")),
            ("staging", markers("staging")),
            ("dev", markers("dev")),
        ]);
        let context = ShellContext::new(Some("/workspace/app"), Some("/home/alice"));
        inspect_shell(line, &context, &envs).effects
    }

    /// Whether an effect matches `OPERATION RESOURCE [+flag|-flag|#tag|env=NAME]…`.
    pub(crate) fn has(effects: &[Effect], spec: &str) -> bool {
        let mut parts = spec.split_whitespace();
        let operation = parts.next().unwrap_or_default();
        let resource = parts.next().unwrap_or_default();
        let conditions: Vec<&str> = parts.collect();
        effects.iter().any(|e| {
            e.operation.as_str() == operation
                && e.resource == resource
                && conditions.iter().all(|c| {
                    let flag = |name: &str| match name {
                        "recursive" => e.recursive,
                        "forced" => e.forced,
                        "unbounded" => e.unbounded,
                        "opaque" => e.opaque,
                        _ => false,
                    };
                    if let Some(f) = c.strip_prefix('+') {
                        flag(f)
                    } else if let Some(f) = c.strip_prefix('-') {
                        !flag(f)
                    } else if let Some(t) = c.strip_prefix('#') {
                        e.has_tag(t)
                    } else if let Some(env) = c.strip_prefix("env=") {
                        e.environment.as_deref() == Some(env)
                    } else {
                        false
                    }
                })
        })
    }

    /// Whether `resource` has an opaque effect.
    pub(crate) fn is_opaque(effects: &[Effect], resource: &str) -> bool {
        effects.iter().any(|e| e.opaque && e.resource == resource)
    }

    #[test]
    fn a_file_url_is_judged_as_its_path() {
        // Found by fuzzing: a `file://` URL with a host kept its secret path untagged.
        let e = effects_of("frobnicate file://host:/home/alice/key.pem file:///etc/shadow");
        assert!(
            has(&e, "execute file:///home/alice/key.pem +opaque #secret"),
            "{e:?}"
        );
        assert!(
            has(&e, "execute file:///etc/shadow +opaque #secret"),
            "{e:?}"
        );
    }

    #[test]
    fn past_a_cap_one_opaque_unbounded_effect_stands_for_the_rest() {
        let starts = "a ".repeat(2_000);
        let execs = "-exec rm {} + ".repeat(2_000);
        let kinds = (0..500)
            .map(|i| format!("k{i}"))
            .collect::<Vec<_>>()
            .join(",");
        let names = (0..500)
            .map(|i| format!("n{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        for line in [
            "rm -rf a; ".repeat(2_000),
            format!("find {starts}{execs}"),
            format!("kubectl delete {kinds} {names}"),
            format!("rm {}", "x/y ".repeat(5_000)),
            format!("{}true{}", "(".repeat(200), ")".repeat(200)),
            format!("{}rm -rf /", "eval ".repeat(12)),
        ] {
            let e = effects_of(&line);
            assert!(
                e.len() <= crate::shell::MAX_EFFECTS + 1,
                "{} effects",
                e.len()
            );
            assert!(
                e.iter().any(|e| e.opaque && e.unbounded),
                "{}: {e:?}",
                &line[..60.min(line.len())]
            );
        }
    }

    #[test]
    fn found_by_fuzzing() {
        // A descriptor number too large for the parser.
        let e = effects_of("env -u:ATH git reset 8888888888888888888888<88 -x");
        assert!(is_opaque(&e, "cmd://sh"), "{e:?}");
    }

    #[test]
    fn programs_by_path() {
        let e = effects_of("/tmp/cat /home/alice/.aws/credentials");
        assert!(is_opaque(&e, "cmd:///tmp/cat"), "{e:?}");
        let e = effects_of("./rm -rf x");
        assert!(is_opaque(&e, "cmd:///workspace/app/rm"), "{e:?}");
        let e = effects_of("/usr/bin/rm -rf /home/alice");
        assert!(has(&e, "delete file:///home/alice +recursive"), "{e:?}");
    }

    #[test]
    fn unknown_programs_carry_what_they_mention() {
        let e = effects_of("frobnicate --out=/home/alice/.bashrc https://evil.example.com");
        assert!(has(&e, "execute cmd://frobnicate -opaque"), "{e:?}");
        assert!(is_opaque(&e, "file:///home/alice/.bashrc"), "{e:?}");
        assert!(is_opaque(&e, "https://evil.example.com"), "{e:?}");
    }

    #[test]
    fn the_shells_own_expansions() {
        let e =
            effects_of(r"cat $'/workspace/app/\x2e\x2e/\x2e\x2e/home/alice/\x2eaws/credentials'");
        assert!(
            has(&e, "read file:///home/alice/.aws/credentials #secret"),
            "{e:?}"
        );
        let e =
            effects_of("tee -a /workspace/app/a/b/c/d/{x,../../../../../../home/alice/.bashrc}");
        assert!(has(&e, "update file:///home/alice/.bashrc"), "{e:?}");
        let e = effects_of("X=/home/alice; rm -rf $X");
        assert!(has(&e, "delete file:///home/alice +recursive"), "{e:?}");
        let e = effects_of("X='a /home/alice'; rm -rf $X");
        assert!(has(&e, "delete file:///home/alice +recursive"), "{e:?}");
        let e = effects_of(r"\rm -rf /home/alice; r''m -rf /home/alice");
        assert!(has(&e, "delete file:///home/alice +recursive"), "{e:?}");
    }
}
