//! Shell builtins and programs with no file effect: `echo` and `printf` (whose text may be
//! piped into a shell), `cd` and variable assignments (which change what later words mean),
//! `trap` (whose command runs later), `date` (which may set the clock), `mktemp`, and the
//! programs that only print (`true`, `test`, `basename`, `whoami`, …).

use preflight_core::Operation;

use super::coreutils::{HELP, gnu};
use super::spec::{Spec, flag, optional, value};
use super::{Call, Program, Unaccounted, Word};
use crate::shell::Stdin;

pub(super) const PROGRAMS: &[Program] = &[
    Program {
        names: &[
            "true", "false", "test", "[", "basename", "dirname", "sleep", "whoami", "id", "uname",
            "seq", "yes", "expr", "nproc", "tty", "arch", "logname", "groups", "printenv",
            "uptime", "free", "ps", "pwd", "tput", "clear", "locale", "getconf", "jobs", "help",
            "wait", "exit", "return", "shift", "which", "type", "whereis", "hash", ":", "times",
        ],
        model: harmless,
    },
    Program {
        names: &["echo"],
        model: echo,
    },
    Program {
        names: &["printf"],
        model: printf,
    },
    Program {
        names: &["date"],
        model: date,
    },
    Program {
        names: &["cd", "pushd", "popd"],
        model: cd,
    },
    Program {
        names: &[
            "export", "declare", "typeset", "local", "readonly", "unset", "read", "set",
        ],
        model: variables,
    },
    Program {
        names: &["trap"],
        model: trap,
    },
    Program {
        names: &["mktemp"],
        model: mktemp,
    },
];

fn harmless(_call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    Ok(())
}

/// `echo`: prints its words; the text is known unless escapes may be interpreted.
fn echo(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let mut words = call.args.iter().peekable();
    let mut escapes = false;
    while let Some(word) = words.peek() {
        let text = word.text.as_str();
        if text.len() > 1 && text.starts_with('-') && text[1..].chars().all(|c| "neE".contains(c)) {
            escapes |= text.contains('e');
            words.next();
        } else {
            break;
        }
    }
    let rest: Vec<&Word> = words.collect();
    let dynamic = rest.iter().any(|w| w.dynamic);
    let text = rest
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    // `sh` may be dash, whose `echo` interprets backslashes even without `-e`.
    let known = !(dynamic || escapes || text.contains('\\'));
    call.out = Stdin {
        text: known.then_some(text),
        ..Stdin::default()
    };
    Ok(())
}

/// `printf FORMAT ARGS`: the text is known only for a format without directives or escapes.
fn printf(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let args = call.args.to_vec();
    let mut words = args.iter();
    let mut format = words.next();
    if format.is_some_and(|w| w.text == "-v") {
        // `printf -v NAME …` sets a variable.
        if let Some(name) = words.next() {
            call.state.vars.remove(&name.text);
        }
        call.out = Stdin::default();
        return Ok(());
    }
    if format.is_some_and(|w| w.text == "--") {
        format = words.next();
    }
    let known = format.filter(|f| !f.dynamic && !f.text.contains(['%', '\\']));
    call.out = Stdin {
        text: known.map(|f| f.text.clone()),
        ..Stdin::default()
    };
    Ok(())
}

fn date(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    const SPEC: Spec = gnu(&[
        HELP,
        flag(
            "flag",
            "RuI",
            &["rfc-email", "utc", "universal", "debug", "resolution"],
        ),
        optional("iso", "", &["iso-8601"]),
        value("value", "d", &["date", "rfc-3339"]),
        value("file", "fr", &["file", "reference"]),
    ]);
    let parsed = SPEC.scan(call.args)?;
    for word in parsed.values("file").cloned().collect::<Vec<_>>() {
        call.push_file(Operation::Read, &word, false, false);
    }
    if parsed.operands.iter().any(|w| !w.text.starts_with('+')) {
        return Err(Unaccounted("`date` given a time to set".into()));
    }
    Ok(())
}

fn cd(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let target = call
        .args
        .iter()
        .find(|w| !w.text.starts_with('-') || w.text == "-");
    call.state.cwd = match (call.name, target) {
        ("popd", _) => Some("/**".into()),
        (_, None) => call.walker.home.clone().or(Some("/**".into())),
        (_, Some(w)) if w.text == "-" => Some("/**".into()),
        (_, Some(w)) => Some(call.path(w)),
    };
    Ok(())
}

fn variables(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let args = call.args.to_vec();
    for word in &args {
        if word.text.starts_with('-') || word.text.starts_with('+') {
            continue;
        }
        match word.text.split_once('=') {
            Some((name, value)) if !word.dynamic && call.name != "read" => {
                call.state.vars.insert(name.to_string(), value.to_string());
            }
            Some((name, _)) => {
                call.state.vars.remove(name);
            }
            None if call.name == "read" || call.name == "unset" || call.name == "declare" => {
                call.state.vars.remove(&word.text);
            }
            None => {}
        }
    }
    if call.name == "set" && args.iter().any(|w| !w.text.starts_with(['-', '+'])) {
        // `set -- a b` changes the positional parameters, which are never known anyway.
    }
    Ok(())
}

/// `trap 'CMD' SIGNAL…`: the command runs later, in this shell.
fn trap(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let args = call.args.to_vec();
    let mut words = args.iter().skip_while(|w| w.text == "--");
    match words.next() {
        Some(w) if w.text.starts_with('-') => Ok(()),
        Some(w) if w.dynamic => Err(Unaccounted("a trap command only known at run time".into())),
        Some(w) => {
            if args.len() > 1 {
                call.nested(&w.text, "trap");
            }
            Ok(())
        }
        None => Ok(()),
    }
}

fn mktemp(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    const SPEC: Spec = gnu(&[
        HELP,
        flag("flag", "dqut", &["directory", "dry-run", "quiet"]),
        value("suffix", "", &["suffix"]),
        value("dir", "p", &[]),
        optional("dir", "", &["tmpdir"]),
    ]);
    let parsed = SPEC.scan(call.args)?;
    let dir = parsed
        .last("dir")
        .map(|w| w.text.clone())
        .or_else(|| call.run.env.get("TMPDIR").cloned())
        .unwrap_or_else(|| "/tmp".into());
    let in_dir = parsed.has("dir") || parsed.has("flag") || parsed.operands.is_empty();
    let template = parsed
        .operands
        .first()
        .map(|w| w.text.replace('X', "*"))
        .unwrap_or_else(|| "tmp.*".into());
    let path = if in_dir && !template.starts_with('/') {
        format!("{dir}/{template}")
    } else {
        template
    };
    let word = Word {
        text: path,
        dynamic: false,
        glob: true,
    };
    call.push_file(Operation::Create, &word, false, false);
    call.out = Stdin::default();
    Ok(())
}
