//! Coreutils and the everyday file tools: one row per program, its whole option spec, and
//! what it does to its operands.
//!
//! | role | programs |
//! |---|---|
//! | delete operands | `rm`, `rmdir`, `unlink`, `shred` |
//! | sources → destination | `cp`, `mv`, `ln`, `install` |
//! | create or change operands | `mkdir`, `touch`, `tee`, `truncate`, `chmod`, `chown`, `chgrp` |
//! | read operands | `cat`, `head`, `tail`, `wc`, `ls`, `grep`, `rg`, `sort`, `cut`, `diff`, … |
//! | no file effect | `echo`, `printf`, `true`, `test`, `basename`, `sleep`, `date`, … |
//!
//! Options that write (`sort -o`, `uniq IN OUT`, `tee`), read (`grep -f`, `wc --files0-from`)
//! or run a program (`sort --compress-program`, `rg --pre`) are part of each model; an option
//! outside the spec makes the command opaque.

use preflight_core::Operation;

use super::spec::{Opt, Spec, Style, flag, optional, value};
use super::{Call, Program, Unaccounted, Word};

mod change;
#[cfg(test)]
mod help;
mod read;

pub(super) const PROGRAMS: &[Program] = &[Program {
    names: &["jq"],
    model: jq,
}];

/// The model every row of the tables shares.
pub(super) const FILE_TOOL: Program = Program {
    names: &[],
    model: file_tool,
};

/// Every row of the tables.
pub(super) fn tools() -> impl Iterator<Item = &'static Tool> {
    change::CHANGE.iter().chain(read::READ)
}

/// What a file tool does with its operands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// Every operand receives the operation.
    Operands(Operation),
    /// The first operand is not a path (a mode, a pattern, a set); the rest receive it.
    SkipFirst(Operation),
    /// All operands but the last are sources (first); the last, or `-t DIR`, is the
    /// destination (second).
    SourcesDest(Operation, Operation),
    /// `INPUT [OUTPUT]`: the first is read, the second written.
    InOut,
    /// No operand is a path.
    NoPaths,
}

/// One file tool.
pub(super) struct Tool {
    pub(super) names: &'static [&'static str],
    pub(super) spec: Spec,
    pub(super) role: Role,
    /// Keys meaning recursive.
    pub(super) recursive: &'static [&'static str],
    /// Keys meaning forced.
    pub(super) forced: &'static [&'static str],
    /// Keys whose value is a file written.
    pub(super) writes: &'static [&'static str],
    /// Keys whose value is a file read.
    pub(super) reads: &'static [&'static str],
    /// Keys meaning the first operand is a path after all (`grep -e PAT`, `chmod --reference`).
    pub(super) no_skip: &'static [&'static str],
    /// Keys turning the operation into `update`.
    pub(super) updates: &'static [&'static str],
    /// Without operands it reads the working directory.
    pub(super) default_cwd: bool,
}

pub(super) const TOOL: Tool = Tool {
    names: &[],
    spec: Spec {
        opts: &[],
        style: Style::Gnu,
    },
    role: Role::Operands(Operation::Read),
    recursive: &[],
    forced: &[],
    writes: &[],
    reads: &[],
    no_skip: &[],
    updates: &[],
    default_cwd: false,
};

pub(super) const fn gnu(opts: &'static [Opt]) -> Spec {
    Spec {
        opts,
        style: Style::Gnu,
    }
}

pub(super) const HELP: Opt = flag("help", "", &["help", "version"]);
pub(super) const VERBOSE: Opt = flag("verbose", "v", &["verbose"]);
pub(super) const BACKUP: [Opt; 3] = [
    optional("backup", "", &["backup"]),
    flag("backup", "b", &[]),
    value("suffix", "S", &["suffix"]),
];

fn tool(name: &str) -> Option<&'static Tool> {
    tools().find(|t| t.names.contains(&name))
}

fn file_tool(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let Some(tool) = tool(call.name) else {
        return Err(Unaccounted("no model".into()));
    };
    let parsed = tool.spec.scan(call.args)?;
    let recursive = parsed.any(tool.recursive);
    let forced = parsed.any(tool.forced);
    for key in tool.reads {
        for word in parsed.values(key).cloned().collect::<Vec<_>>() {
            call.push_file(Operation::Read, &word, false, false);
        }
    }
    for key in tool.writes {
        for word in parsed.values(key).cloned().collect::<Vec<_>>() {
            call.push_file(Operation::Update, &word, false, false);
        }
    }
    let mut operands: Vec<Word> = parsed.operands.clone();
    if operands.is_empty()
        && tool.default_cwd
        && (recursive || tool.role != Role::SkipFirst(Operation::Read))
    {
        operands.push(Word::literal("."));
    }
    let updates = parsed.any(tool.updates);
    match tool.role {
        Role::Operands(operation) => {
            for word in &operands {
                push(call, operation, word, recursive, forced);
            }
        }
        Role::SkipFirst(operation) => {
            let operation = if updates {
                Operation::Update
            } else {
                operation
            };
            let skip = usize::from(!parsed.any(tool.no_skip));
            let mut paths: Vec<Word> = operands.iter().skip(skip).cloned().collect();
            if paths.is_empty() && tool.default_cwd && recursive {
                paths.push(Word::literal("."));
            }
            for word in &paths {
                push(call, operation, word, recursive, forced);
            }
        }
        Role::SourcesDest(source, dest) => {
            let target = parsed.last("target").cloned();
            let directory = parsed.has("directory");
            let (sources, destination): (Vec<Word>, Option<Word>) = if directory {
                (Vec::new(), None)
            } else {
                match target {
                    Some(t) => (operands.clone(), Some(t)),
                    None if operands.len() >= 2 => (
                        operands[..operands.len() - 1].to_vec(),
                        operands.last().cloned(),
                    ),
                    None => (operands.clone(), None),
                }
            };
            if directory {
                for word in &operands {
                    push(call, Operation::Create, word, false, false);
                }
            }
            for word in &sources {
                push(call, source, word, recursive, forced);
            }
            if let Some(destination) = destination {
                // The destination may be a directory receiving the sources (a whole tree).
                let operation = if forced { Operation::Update } else { dest };
                push(call, operation, &destination, true, forced);
            }
        }
        Role::InOut => {
            if let Some(input) = operands.first() {
                push(call, Operation::Read, input, false, false);
            }
            if let Some(output) = operands.get(1) {
                push(call, Operation::Update, output, false, false);
            }
            if operands.len() > 2 {
                return Err(Unaccounted("more operands than `INPUT OUTPUT`".into()));
            }
        }
        Role::NoPaths => {}
    }
    Ok(())
}

fn push(call: &mut Call<'_, '_>, operation: Operation, word: &Word, recursive: bool, forced: bool) {
    if super::remote_path(&word.text).is_some() {
        return;
    }
    if operation == Operation::Read && word.text == "-" {
        return;
    }
    call.push_file(operation, word, recursive, forced);
}

/// `jq`: a filter, then files read. `--arg NAME VALUE` takes two words.
fn jq(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    const FLAGS: &[&str] = &[
        "-r",
        "-j",
        "-a",
        "-c",
        "-n",
        "-e",
        "-s",
        "-S",
        "-C",
        "-M",
        "-R",
        "--tab",
        "--seq",
        "--stream",
        "--raw-input",
        "--ascii-output",
        "--compact-output",
        "--null-input",
        "--exit-status",
        "--slurp",
        "--sort-keys",
        "--color-output",
        "--monochrome-output",
        "--raw-output",
        "--join-output",
        "--raw-output0",
        "--unbuffered",
        "--args",
        "--jsonargs",
        "-h",
        "--help",
        "-V",
        "--version",
    ];
    let args = call.args.to_vec();
    let mut operands: Vec<Word> = Vec::new();
    let mut filter_file = false;
    let mut i = 0;
    while i < args.len() {
        let word = &args[i];
        let text = word.text.as_str();
        i += 1;
        if word.may_be_option() {
            return Err(Unaccounted(format!("`{text}` may be an option")));
        }
        if text == "--" {
            operands.extend(args[i..].iter().cloned());
            break;
        }
        if !text.starts_with('-') || text == "-" {
            operands.push(word.clone());
            continue;
        }
        if FLAGS.contains(&text) {
            continue;
        }
        // Short flags clustered (`-rc`).
        if !text.starts_with("--") && text[1..].chars().all(|c| "rjacnesSCMR".contains(c)) {
            continue;
        }
        match text {
            "--indent" | "-L" => i += 1,
            "--arg" | "--argjson" => i += 2,
            "--slurpfile" | "--rawfile" => {
                if let Some(file) = args.get(i + 1).cloned() {
                    call.push_file(Operation::Read, &file, false, false);
                }
                i += 2;
            }
            "-f" | "--from-file" => {
                if let Some(file) = args.get(i).cloned() {
                    call.push_file(Operation::Read, &file, false, false);
                }
                filter_file = true;
                i += 1;
            }
            _ => return Err(Unaccounted(format!("unknown option `{text}`"))),
        }
    }
    if i > args.len() {
        return Err(Unaccounted("an option without its value".into()));
    }
    let skip = usize::from(!filter_file);
    for word in operands.iter().skip(skip) {
        push(call, Operation::Read, word, false, false);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::programs::tests::{effects_of, has, is_opaque};

    #[test]
    fn options_in_every_form() {
        for line in [
            "rm -rf /home/alice",
            "rm -r -f /home/alice",
            "rm -fr /home/alice",
            "rm --recursive --force /home/alice",
            "rm --recur --for /home/alice",
            "rm /home/alice -rf",
            "rm -rf -- /home/alice",
        ] {
            let e = effects_of(line);
            assert!(
                has(&e, "delete file:///home/alice +recursive"),
                "{line}: {e:?}"
            );
        }
        let e = effects_of("rm --frobnicate /home/alice");
        assert!(is_opaque(&e, "cmd://rm"), "{e:?}");
    }

    #[test]
    fn options_that_write() {
        let e = effects_of("sort -o /home/alice/.bashrc x");
        assert!(has(&e, "update file:///home/alice/.bashrc"), "{e:?}");
        let e = effects_of("sort --output=/home/alice/.bashrc x");
        assert!(has(&e, "update file:///home/alice/.bashrc"), "{e:?}");
        let e = effects_of("uniq a /home/alice/.bashrc");
        assert!(has(&e, "update file:///home/alice/.bashrc"), "{e:?}");
        let e = effects_of("sort --compress-program=sh x");
        assert!(is_opaque(&e, "cmd://sort"), "{e:?}");
    }

    #[test]
    fn benign_look_alikes() {
        let e = effects_of(r#"grep -r "rm -rf" ."#);
        assert!(
            !e.iter().any(|e| e.opaque
                || e.operation.is_mutating() && e.operation != preflight_core::Operation::Execute),
            "{e:?}"
        );
        let e = effects_of("chmod -x script.sh");
        assert!(
            has(&e, "permission_change file:///workspace/app/script.sh"),
            "{e:?}"
        );
    }
}
