//! `git`: global options (`-C`, `-c`, `--git-dir`, …), then a subcommand.
//!
//! - Configuration given on the line (`-c core.fsmonitor=…`, `GIT_SSH_COMMAND=…`) can make
//!   git run any program: opaque, except for a few settings that only change output.
//! - Reading subcommands read the repository; the rest update it, with `discard_changes` when
//!   uncommitted work is thrown away (`reset --hard`, `checkout -f`, `switch -f`,
//!   `checkout -- path`, `restore`, `clean`, `stash drop`), `history_rewrite`, and
//!   `force_push` for pushes that overwrite.
//! - Subcommands that run commands (`submodule foreach`, `rebase -x`, `bisect run`,
//!   `difftool`, `mergetool`, `filter-branch`) and unknown ones (aliases) are opaque.

use preflight_core::{Effect, Operation};

use super::{Call, Program, Unaccounted, Word};
use crate::effects::{attr, tag};
use crate::shell::State;

pub(super) const PROGRAMS: &[Program] = &[Program {
    names: &["git"],
    model: git,
}];

/// Settings `-c` may give that only change how output looks.
const HARMLESS_CONFIG: &[&str] = &[
    "color.",
    "user.name",
    "user.email",
    "core.quotepath",
    "advice.",
    "init.defaultbranch",
    "log.",
    "pull.rebase",
    "pull.ff",
    "safe.directory",
    "column.",
    "diff.renames",
    "status.",
];

fn git(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    for name in call.run.given.keys() {
        if name.starts_with("GIT_") || ["PAGER", "EDITOR", "VISUAL"].contains(&name.as_str()) {
            return Err(Unaccounted(format!(
                "`{name}` given to git may run a program"
            )));
        }
    }
    let args = call.args.to_vec();
    let mut repo = call.state.clone();
    let mut i = 0;
    while let Some(word) = args.get(i) {
        let text = word.text.as_str();
        if word.may_be_option() {
            return Err(Unaccounted(format!("`{text}` may be an option")));
        }
        if !text.starts_with('-') {
            break;
        }
        i += 1;
        match text {
            "-C" => {
                let dir = args
                    .get(i)
                    .ok_or_else(|| Unaccounted("`-C` needs a directory".into()))?;
                repo.cwd = Some(call.walker.path_of(dir, &repo));
                i += 1;
            }
            "-c" => {
                let setting = args
                    .get(i)
                    .ok_or_else(|| Unaccounted("`-c` needs a setting".into()))?;
                let key = setting
                    .text
                    .split('=')
                    .next()
                    .unwrap_or("")
                    .to_ascii_lowercase();
                if setting.dynamic || !HARMLESS_CONFIG.iter().any(|h| key.starts_with(h)) {
                    return Err(Unaccounted(format!(
                        "`-c {}` may run a program",
                        setting.text
                    )));
                }
                i += 1;
            }
            "--work-tree" => {
                let dir = args
                    .get(i)
                    .ok_or_else(|| Unaccounted("`--work-tree` needs a directory".into()))?;
                repo.cwd = Some(call.walker.path_of(dir, &repo));
                i += 1;
            }
            t if t.starts_with("--work-tree=") => {
                let dir = Word::literal(t.trim_start_matches("--work-tree="));
                repo.cwd = Some(call.walker.path_of(&dir, &repo));
            }
            // Another repository's configuration may name programs and its own work tree.
            t if t == "--git-dir"
                || t.starts_with("--git-dir=")
                || t.starts_with("--exec-path=")
                || t == "--config-env"
                || t.starts_with("--config-env=") =>
            {
                return Err(Unaccounted(format!("git `{t}` may run another program")));
            }
            "--namespace" => i += 1,
            "--no-pager"
            | "--bare"
            | "--no-replace-objects"
            | "--literal-pathspecs"
            | "--glob-pathspecs"
            | "--noglob-pathspecs"
            | "--icase-pathspecs"
            | "--no-optional-locks"
            | "-P"
            | "--version"
            | "-v"
            | "--help"
            | "-h"
            | "-p"
            | "--paginate"
            | "--exec-path"
            | "--html-path"
            | "--man-path"
            | "--info-path"
            | "--no-lazy-fetch"
            | "--no-advice" => {}
            t if t.starts_with("--namespace=") => {}
            // Every global option git has is above: git refuses any other (`unknown option`,
            // usage, exit 129) before it runs a subcommand, so the line does nothing more.
            _ => return Ok(()),
        }
    }
    let Some(sub) = args.get(i).cloned() else {
        return Ok(());
    };
    if sub.dynamic {
        return Err(Unaccounted("a subcommand only known at run time".into()));
    }
    let sub = sub.text;
    call.subcommand(&sub);
    let rest: Vec<Word> = args[i + 1..].to_vec();
    if rest
        .first()
        .is_some_and(|w| !w.dynamic && w.text == "--help")
    {
        // `git SUB --help …` is `git help SUB …` before any subcommand runs: it shows the
        // manual, whatever follows.
        return Ok(());
    }
    if rest.iter().any(Word::may_be_option) {
        return Err(Unaccounted(
            "an argument only known at run time may be an option".into(),
        ));
    }
    let mut git = Git {
        call,
        repo,
        sub: sub.clone(),
        args: rest,
    };
    git.subcommand()
}

/// Whether `given` names the long option `full`: in full, or as a prefix of it (git's
/// parse-options accepts any unambiguous prefix; an ambiguous one fails, so reading it as
/// every option it may name over-approximates).
fn abbreviates(given: &str, full: &str) -> bool {
    !given.is_empty() && full.starts_with(given)
}

struct Git<'g, 'c, 'a> {
    call: &'g mut Call<'c, 'a>,
    repo: State,
    sub: String,
    args: Vec<Word>,
}

impl Git<'_, '_, '_> {
    /// Whether any of `flags` is given: exactly, with `=value`, or, for a long one, as an
    /// abbreviation git accepts (`--har` for `--hard`).
    fn has(&self, flags: &[&str]) -> bool {
        self.args.iter().any(|w| {
            let t = w.text.as_str();
            flags
                .iter()
                .any(|f| match (f.strip_prefix("--"), t.strip_prefix("--")) {
                    (Some(full), Some(given)) => {
                        let given = given.split('=').next().unwrap_or(given);
                        abbreviates(given, full)
                    }
                    _ => t == *f,
                })
        })
    }

    /// A short option letter, alone or in a cluster (`-qf`).
    fn short(&self, letter: char) -> bool {
        self.args.iter().any(|w| {
            let t = w.text.as_str();
            t.starts_with('-') && !t.starts_with("--") && t.len() > 1 && t[1..].contains(letter)
        })
    }

    /// The words that are not options: before `--`, those not starting with `-`; after it,
    /// every word.
    fn operands(&self) -> Vec<Word> {
        let mut after_dashdash = false;
        self.args
            .iter()
            .filter(|w| {
                if after_dashdash {
                    return true;
                }
                if w.text == "--" {
                    after_dashdash = true;
                    return false;
                }
                !w.text.starts_with('-')
            })
            .cloned()
            .collect()
    }

    fn effect(&self, operation: Operation, word: &Word, recursive: bool, forced: bool) -> Effect {
        let mut effect = super::file_effect(
            self.call.walker,
            &self.repo,
            operation,
            word,
            recursive,
            forced,
        );
        attr(&mut effect, "command", "git");
        attr(&mut effect, "subcommand", self.sub.clone());
        effect
    }

    /// An effect on the whole repository.
    fn repo(&mut self, operation: Operation, tags: &[&str], forced: bool) {
        let mut effect = self.effect(
            operation,
            &Word::literal("."),
            operation != Operation::Read,
            forced,
        );
        for t in tags {
            tag(&mut effect, t);
        }
        self.call.push(effect);
    }

    /// The subcommand rewrites the working tree: files it tracks may be deleted (a branch
    /// switch removes what the other branch does not have). `discard_changes` when
    /// uncommitted work goes too.
    fn worktree(&mut self, discards: bool) {
        let mut effect = self.effect(Operation::Delete, &Word::literal("."), true, discards);
        tag(&mut effect, "git_worktree");
        if discards {
            tag(&mut effect, "discard_changes");
        }
        self.call.push(effect);
    }

    fn opaque(&mut self, why: &str) -> Result<(), Unaccounted> {
        Err(Unaccounted(format!("`git {}` {why}", self.sub)))
    }

    fn subcommand(&mut self) -> Result<(), Unaccounted> {
        let sub = self.sub.clone();
        match sub.as_str() {
            "status" | "diff" | "log" | "show" | "blame" | "grep" | "ls-files" | "ls-tree"
            | "rev-parse" | "describe" | "shortlog" | "cat-file" | "rev-list" | "whatchanged"
            | "version" | "help" | "ls-remote" | "count-objects" | "fsck" | "check-ignore"
            | "name-rev" | "merge-base" | "show-ref" | "for-each-ref" | "reflog"
                if !(sub == "reflog" && self.has(&["expire", "delete"])) =>
            {
                if sub == "diff" && self.has(&["--ext-diff"]) {
                    return self.opaque("runs an external diff program");
                }
                if (sub == "log" || sub == "show") && self.has(&["--ext-diff"]) {
                    return self.opaque("runs an external diff program");
                }
                if self.args.iter().any(|w| w.text.starts_with("--output")) {
                    return self.opaque("writes a file");
                }
                self.repo(Operation::Read, &[], false);
            }
            "fetch" => {
                self.repo(Operation::Update, &[], false);
                self.remote_read();
            }
            "archive" | "format-patch" | "bundle" => {
                if self
                    .args
                    .iter()
                    .any(|w| w.text.starts_with("--exec") || w.text.starts_with("--remote"))
                {
                    return self.opaque("runs a remote command");
                }
                self.repo(Operation::Read, &[], false);
                // Writes its output where it is told (`-o`, `--output`), else to the working
                // directory or standard output.
                self.repo(Operation::Update, &[], false);
            }
            "push" => self.push(),
            "reset" => {
                if self.has(&["--hard", "--merge", "--keep"]) {
                    self.repo(Operation::Update, &["discard_changes"], true);
                    self.worktree(true);
                } else {
                    self.repo(Operation::Update, &[], false);
                }
            }
            "checkout" | "restore" | "switch" => self.checkout(),
            "clean" => self.clean(),
            "rm" => {
                let recursive = self.short('r');
                let forced = self.short('f') || self.has(&["--force"]);
                let cached = self.has(&["--cached"]);
                for path in self.operands() {
                    let op = if cached {
                        Operation::Update
                    } else {
                        Operation::Delete
                    };
                    let effect = self.effect(op, &path, recursive, forced);
                    self.call.push(effect);
                }
                self.repo(Operation::Update, &[], false);
            }
            "branch" => {
                if self.has(&["-d", "-D", "--delete"]) || self.short('d') || self.short('D') {
                    let forced =
                        self.has(&["-D", "--force", "-f"]) || self.short('D') || self.short('f');
                    for name in self.operands() {
                        let mut effect =
                            Effect::new(Operation::Delete, format!("git://local/{}", name.text));
                        effect.forced = forced;
                        effect.opaque = name.dynamic;
                        attr(&mut effect, "command", "git");
                        attr(&mut effect, "subcommand", "branch");
                        attr(&mut effect, "branch", name.text.clone());
                        if forced {
                            tag(&mut effect, "discard_changes");
                        }
                        self.call.push(effect);
                    }
                } else if self.has(&["-M", "-C", "-m", "-c", "-f", "--force"]) || self.short('M') {
                    self.repo(Operation::Update, &["discard_changes"], true);
                } else if self.args.iter().any(|w| !w.text.starts_with('-')) {
                    self.repo(Operation::Update, &[], false);
                } else {
                    self.repo(Operation::Read, &[], false);
                }
            }
            "stash" => {
                let verb = self
                    .args
                    .first()
                    .map(|w| w.text.clone())
                    .unwrap_or_else(|| "push".into());
                match verb.as_str() {
                    "list" | "show" => self.repo(Operation::Read, &[], false),
                    "drop" | "clear" => self.repo(Operation::Update, &["discard_changes"], false),
                    _ => {
                        self.repo(Operation::Update, &[], false);
                        self.worktree(false);
                    }
                }
            }
            "commit" | "rebase" | "replace" | "cherry-pick" | "revert" | "merge" | "am"
            | "pull" => {
                if sub == "rebase"
                    && (self.has(&["--exec", "-x", "-i", "--interactive"])
                        || self.short('x')
                        || self.short('i'))
                {
                    return self.opaque("runs commands or an editor");
                }
                let rewrite = sub == "rebase" || sub == "replace" || self.has(&["--amend"]);
                let tags: &[&str] = if rewrite { &["history_rewrite"] } else { &[] };
                self.repo(Operation::Update, tags, false);
                if sub != "commit" && sub != "replace" {
                    self.worktree(false);
                }
                if sub == "pull" {
                    self.remote_read();
                }
            }
            "tag" if self.has(&["-d", "--delete"]) => {
                // A deleted tag has no reflog: what it pointed at may be lost.
                for name in self.operands() {
                    let mut effect =
                        Effect::new(Operation::Delete, format!("git://local/tags/{}", name.text));
                    effect.forced = true;
                    attr(&mut effect, "command", "git");
                    attr(&mut effect, "subcommand", "tag");
                    self.call.push(effect);
                }
                self.repo(Operation::Update, &[], false);
            }
            "add" | "mv" | "apply" | "init" | "tag" | "notes" | "gc" | "prune" | "remote"
            | "update-index" | "sparse-checkout" | "maintenance" | "repack" | "update-ref"
            | "reflog" | "config" | "worktree" | "clone" => self.update_like()?,
            "submodule" => {
                if self.args.iter().any(|w| w.text == "foreach") {
                    return self.opaque("runs a command in every submodule");
                }
                self.repo(Operation::Update, &[], false);
                self.worktree(false);
            }
            "bisect" => {
                if self.args.iter().any(|w| w.text == "run") {
                    return self.opaque("runs a command");
                }
                self.repo(Operation::Update, &[], false);
            }
            "filter-branch" | "filter-repo" | "difftool" | "mergetool" | "send-email"
            | "instaweb" | "daemon" | "credential" | "lfs" | "svn" | "p4" => {
                self.opaque("runs other programs")?;
            }
            _ => self.opaque("is an alias or extension that may run anything")?,
        }
        Ok(())
    }

    fn update_like(&mut self) -> Result<(), Unaccounted> {
        let sub = self.sub.clone();
        match sub.as_str() {
            "config" => {
                if self.has(&["--get", "--list", "-l", "--get-all", "--get-regexp"]) {
                    self.repo(Operation::Read, &[], false);
                } else if self.has(&["--global", "--system", "--file", "-f"]) {
                    return self.opaque("changes configuration outside the repository");
                } else {
                    self.repo(Operation::Update, &[], false);
                }
            }
            "worktree" => {
                // Options end at `--`: `git worktree remove -- -f` removes a worktree named
                // `-f`, without force.
                let before_dashdash: Vec<Word> = self
                    .args
                    .iter()
                    .take_while(|w| w.text != "--")
                    .cloned()
                    .collect();
                let forced = before_dashdash.iter().any(|w| {
                    w.text == "--force"
                        || (w.text.len() > 2 && "--force".starts_with(w.text.as_str()))
                        || (w.text.starts_with('-')
                            && !w.text.starts_with("--")
                            && w.text.contains('f'))
                });
                if self
                    .args
                    .first()
                    .is_some_and(|w| w.text == "remove" || w.text == "prune")
                {
                    let paths: Vec<Word> = self.operands().into_iter().skip(1).collect();
                    for path in &paths {
                        let mut effect = self.effect(Operation::Delete, path, true, forced);
                        // Without force, git refuses to remove a worktree with changes: it
                        // only removes files it tracks, as switching branches does.
                        tag(
                            &mut effect,
                            if forced {
                                "discard_changes"
                            } else {
                                "git_worktree"
                            },
                        );
                        self.call.push(effect);
                    }
                    self.repo(Operation::Update, &[], forced);
                    return Ok(());
                }
                if self.args.first().is_some_and(|w| w.text == "add") {
                    for path in self.operands().into_iter().skip(1).take(1) {
                        let effect = self.effect(Operation::Create, &path, true, false);
                        self.call.push(effect);
                    }
                }
                self.repo(Operation::Update, &[], forced);
                self.worktree(forced);
            }
            "clone" => {
                if self.args.iter().any(|w| {
                    w.text.starts_with("--upload-pack")
                        || w.text == "-u"
                        || w.text.starts_with("--template")
                        || w.text.starts_with("--config")
                        || w.text == "-c"
                }) {
                    return self.opaque("runs a program or takes configuration");
                }
                let operands = self.operands();
                let Some(url) = operands.first() else {
                    return self.opaque("without a repository");
                };
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
                self.call.push(effect);
                let dest = operands.get(1).cloned().unwrap_or_else(|| {
                    let name = url
                        .text
                        .trim_end_matches('/')
                        .rsplit(['/', ':'])
                        .next()
                        .unwrap_or("repo");
                    Word::literal(name.trim_end_matches(".git"))
                });
                let effect = self.effect(Operation::Create, &dest, true, false);
                self.call.push(effect);
            }
            _ => {
                let history = (sub == "reflog" && self.has(&["expire", "delete"]))
                    || (sub == "update-ref" && self.has(&["-d"]));
                let tags: &[&str] = if history { &["history_rewrite"] } else { &[] };
                let forced = self.has(&["-f", "--force"]);
                self.repo(Operation::Update, tags, forced);
                if ["mv", "apply", "sparse-checkout", "am"].contains(&sub.as_str()) {
                    self.worktree(false);
                }
            }
        }
        Ok(())
    }

    fn checkout(&mut self) {
        let sub = self.sub.clone();
        let dashdash = self.args.iter().position(|w| w.text == "--");
        let staged_only =
            sub == "restore" && self.has(&["--staged", "-S"]) && !self.has(&["--worktree", "-W"]);
        let paths: Vec<Word> = match dashdash {
            Some(p) => self.args[p + 1..].to_vec(),
            None if sub == "restore" => self.operands(),
            // `-b NAME [START]` names a branch and a commit, never paths.
            None if sub == "checkout" && self.has(&["-b", "-B", "--orphan"]) => Vec::new(),
            None if sub == "checkout" => self
                .args
                .iter()
                .filter(|w| w.text == "." || w.text == ":/" || w.text.contains('/') || w.glob)
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        let forced = self.has(&["--force", "--discard-changes", "--overwrite-ignore"])
            || self.short('f')
            || (sub != "switch" && self.short('B'))
            || (sub == "switch" && self.short('C'));
        if staged_only {
            self.repo(Operation::Update, &[], false);
            return;
        }
        if forced {
            self.repo(Operation::Update, &["discard_changes"], true);
        }
        for path in &paths {
            let mut effect = self.effect(Operation::Update, path, true, forced);
            tag(&mut effect, "discard_changes");
            self.call.push(effect);
        }
        // Switching branches rewrites the working tree, keeping local changes unless forced.
        self.repo(Operation::Update, &[], false);
        self.worktree(forced || !paths.is_empty());
    }

    fn clean(&mut self) {
        if self.has(&["-n", "--dry-run"]) || self.short('n') {
            self.repo(Operation::Read, &[], false);
            return;
        }
        let forced = self.short('f') || self.has(&["--force"]);
        let ignored = self.short('x') || self.short('X');
        let paths: Vec<Word> = self
            .args
            .iter()
            .enumerate()
            .filter(|(i, w)| {
                let excluded =
                    *i > 0 && ["-e", "--exclude"].contains(&self.args[i - 1].text.as_str());
                !(w.text.starts_with('-') || excluded)
            })
            .map(|(_, w)| w.clone())
            .collect();
        let targets = if paths.is_empty() {
            vec![Word::literal(".")]
        } else {
            paths
        };
        for target in targets {
            // Untracked files anywhere below the target: the whole tree.
            let mut effect = self.effect(Operation::Delete, &target, true, forced);
            if ignored {
                attr(&mut effect, "ignored", "true");
            }
            tag(&mut effect, "discard_changes");
            self.call.push(effect);
        }
    }

    /// `fetch`/`pull` read a remote.
    fn remote_read(&mut self) {
        let remote = self
            .operands()
            .first()
            .map(|w| w.text.clone())
            .unwrap_or_else(|| "origin".into());
        let mut effect = Effect::new(Operation::Read, format!("git://{remote}"));
        attr(&mut effect, "command", "git");
        attr(&mut effect, "subcommand", self.sub.clone());
        attr(&mut effect, "remote", remote);
        self.call.push(effect);
    }

    fn push(&mut self) {
        let mut forced = false;
        let mut delete = false;
        let mut all = false;
        let mut positional: Vec<Word> = Vec::new();
        let args = self.args.clone();
        let mut i = 0;
        while i < args.len() {
            let text = args[i].text.as_str();
            i += 1;
            if text == "--" {
                positional.extend(args[i..].iter().cloned());
                break;
            }
            if let Some(long) = text.strip_prefix("--") {
                let name = long.split('=').next().unwrap_or(long);
                let is = |fulls: &[&str]| fulls.iter().any(|full| abbreviates(name, full));
                if is(&["force", "force-with-lease", "force-if-includes"]) {
                    forced = true;
                }
                if is(&["delete", "prune"]) {
                    delete = true;
                }
                if is(&["all", "mirror", "tags", "branches"]) {
                    all = true;
                }
                if is(&["repo", "receive-pack", "exec", "push-option", "signed"])
                    && !long.contains('=')
                {
                    i += 1;
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
                positional.push(args[i - 1].clone());
            }
        }
        if args
            .iter()
            .any(|w| w.text.starts_with("--receive-pack") || w.text.starts_with("--exec"))
        {
            self.call
                .push_opaque("cmd://git".into(), "`git push` runs a remote program");
        }
        let remote = positional
            .first()
            .map(|w| {
                if w.dynamic {
                    "*".to_string()
                } else {
                    w.text.clone()
                }
            })
            .unwrap_or_else(|| "origin".into());
        let mut refspecs: Vec<Word> = positional.iter().skip(1).cloned().collect();
        if refspecs.is_empty() {
            refspecs.push(Word::literal(if all { "*" } else { "HEAD" }));
        }
        for spec in refspecs {
            let plus = spec.text.starts_with('+');
            let text = spec.text.trim_start_matches('+');
            let (source, dest) = match text.split_once(':') {
                Some((s, d)) => (s, d),
                None => (text, text),
            };
            let branch = dest.trim_start_matches("refs/heads/").to_string();
            let deleting = delete || (source.is_empty() && text.contains(':'));
            let mut effect = Effect::new(
                if deleting {
                    Operation::Delete
                } else {
                    Operation::Update
                },
                format!("git://{remote}/{branch}"),
            );
            effect.forced = forced || plus;
            effect.opaque = spec.dynamic || positional.first().is_some_and(|w| w.dynamic);
            if effect.forced {
                tag(&mut effect, "force_push");
            }
            if all || spec.glob {
                effect.unbounded = true;
            }
            attr(&mut effect, "command", "git");
            attr(&mut effect, "subcommand", "push");
            attr(&mut effect, "remote", remote.clone());
            attr(&mut effect, "branch", branch);
            self.call.push(effect);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::programs::tests::{effects_of, has, is_opaque};

    #[test]
    fn discarding_work() {
        for line in [
            "git switch -f main",
            "git checkout -qf main",
            "git checkout --force main",
            "git reset --hard",
            "git reset --har",
            "git reset --qu --ha origin/main",
            "git checkout -- src/main.rs",
            "git restore src/main.rs",
            "git stash drop",
            "git clean -fdx",
        ] {
            let e = effects_of(line);
            assert!(
                e.iter().any(|e| e.has_tag("discard_changes")),
                "{line}: {e:?}"
            );
        }
        let e = effects_of("git branch -D feature");
        assert!(has(&e, "delete git://local/feature +forced"), "{e:?}");
    }

    #[test]
    fn code_on_the_line() {
        for line in [
            "git -c core.fsmonitor='rm -rf /home/alice' status",
            "git submodule foreach 'rm -rf /home/alice'",
            "GIT_SSH_COMMAND='rm -rf ~' git fetch",
            "git frobnicate",
            "git rebase -x 'make' main",
        ] {
            let e = effects_of(line);
            assert!(is_opaque(&e, "cmd://git"), "{line}: {e:?}");
        }
        let e = effects_of("git push origin feature/x");
        assert!(has(&e, "update git://origin/feature/x -forced"), "{e:?}");
        assert!(!e.iter().any(|e| e.opaque), "{e:?}");
    }

    /// `git SUB --help …` shows the manual and runs nothing (checked with git 2.39: a changed
    /// file stays changed after `git restore --help f`). `--help` later on the line is not
    /// trusted: the subcommand's own parser decides.
    #[test]
    fn help_right_after_the_subcommand_runs_nothing() {
        for line in [
            "git restore --help f",
            "git clean --help -fdx",
            "git push --help -f",
        ] {
            let e = effects_of(line);
            assert!(
                !e.iter().any(|e| e.has_tag("discard_changes") || e.forced),
                "{line}: {e:?}"
            );
        }
        let e = effects_of("git restore f --help");
        assert!(e.iter().any(|e| e.has_tag("discard_changes")), "{e:?}");
    }
}
