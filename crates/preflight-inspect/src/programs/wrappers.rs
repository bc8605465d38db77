//! Wrappers: programs that run another command given after their own options.
//!
//! | program | what it adds | the wrapped command |
//! |---|---|---|
//! | `env` | variables (`X=1`, `-u X`, `-i`), a directory (`-C`), a split string (`-S`) | inspected with them |
//! | `nice`, `nohup`, `timeout`, `stdbuf`, `ionice`, `setsid`, `command`, `builtin`, `exec`, `time` | nothing | inspected |
//! | `sudo`, `doas`, `su`, `pkexec`, `run0` | `privilege_escalation` on every effect | inspected (`su -c` as a script); a shell with no command is opaque |
//! | `xargs` | arguments read from its input, unknown | inspected with an unknown argument (or `{}` replaced) |
//! | `watch` | repetition | inspected as `sh -c` (or directly with `-x`) |
//! | `busybox` | nothing | the applet named first |
//! | `chroot` | another root: paths mean something else | opaque |
//!
//! A wrapper's options are read with its spec: an option it does not know makes the whole
//! command opaque, since it may have consumed the word that looked like the command.

use preflight_core::Operation;

use super::spec::{Spec, Style, flag, optional, value};
use super::{Call, Program, Unaccounted, Word, dispatch};

pub(super) const PROGRAMS: &[Program] = &[
    Program {
        names: &["env"],
        model: env,
    },
    Program {
        names: &["nice"],
        model: nice,
    },
    Program {
        names: &["nohup", "setsid", "builtin"],
        model: plain,
    },
    Program {
        names: &["timeout"],
        model: timeout,
    },
    Program {
        names: &["stdbuf"],
        model: stdbuf,
    },
    Program {
        names: &["ionice"],
        model: ionice,
    },
    Program {
        names: &["command"],
        model: command,
    },
    Program {
        names: &["exec"],
        model: exec,
    },
    Program {
        names: &["time"],
        model: time,
    },
    Program {
        names: &["sudo", "doas", "pkexec", "run0"],
        model: sudo,
    },
    Program {
        names: &["su"],
        model: su,
    },
    Program {
        names: &["xargs"],
        model: xargs,
    },
    Program {
        names: &["watch"],
        model: watch,
    },
    Program {
        names: &["busybox"],
        model: busybox,
    },
    Program {
        names: &[
            "chroot", "unshare", "nsenter", "flock", "taskset", "firejail",
        ],
        model: opaque_wrapper,
    },
];

const ENV: Spec = Spec {
    opts: &[
        flag("ignore", "i", &["ignore-environment"]),
        flag("null", "0", &["null"]),
        value("unset", "u", &["unset"]),
        value("chdir", "C", &["chdir"]),
        value("split", "S", &["split-string"]),
        flag("debug", "v", &["debug"]),
        optional(
            "signal",
            "",
            &["block-signal", "default-signal", "ignore-signal"],
        ),
        flag("list", "", &["list-signal-handling"]),
    ],
    style: Style::Posix,
};

fn env(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let args = call.args.to_vec();
    env_words(call, &args, 0)
}

fn env_words(call: &mut Call<'_, '_>, args: &[Word], depth: usize) -> Result<(), Unaccounted> {
    // `env -` is `env -i`.
    let args: Vec<Word> = args
        .iter()
        .map(|w| {
            if w.text == "-" {
                Word::literal("-i")
            } else {
                w.clone()
            }
        })
        .collect();
    let parsed = ENV.scan(&args)?;
    let mut inner = call.state.clone();
    for (key, value) in &parsed.opts {
        match (*key, value) {
            ("ignore", _) => {
                call.run.env.clear();
                call.run.given.clear();
            }
            ("unset", Some(name)) => {
                call.run.env.remove(&name.text);
                call.run.given.remove(&name.text);
            }
            ("chdir", Some(dir)) => inner.cwd = Some(call.path(dir)),
            _ => {}
        }
    }
    let mut rest: Vec<Word> = parsed.operands.clone();
    if let Some(split) = parsed.last("split") {
        // `-S 'a b c'`: the string is split into more arguments, options included.
        if depth > 4 || split.dynamic || split.text.contains(['\'', '"', '\\', '$', '#']) {
            return Err(Unaccounted(format!("`-S {}` is not split", split.text)));
        }
        let mut words: Vec<Word> = split.text.split_whitespace().map(Word::literal).collect();
        words.extend(rest);
        return env_words(call, &words, depth + 1);
    }
    let mut start = 0;
    while let Some(word) = rest.get(start) {
        let Some((name, value)) = word.text.split_once('=') else {
            break;
        };
        if word.may_be_option() || name.is_empty() {
            return Err(Unaccounted(format!(
                "`{}` is only known at run time",
                word.text
            )));
        }
        if word.dynamic {
            call.run.env.remove(name);
            call.run.given.remove(name);
        } else {
            call.run.env.insert(name.to_string(), value.to_string());
            call.run.given.insert(name.to_string(), value.to_string());
        }
        start += 1;
    }
    let command: Vec<Word> = rest.drain(start..).collect();
    if command.is_empty() {
        return Ok(());
    }
    let environment = call
        .walker
        .envs
        .of_variables(&call.run.given)
        .or_else(|| call.walker.envs.of_variables(&call.run.env));
    call.exec.environment = environment;
    call.walker.nesting.push("env".into());
    call.out = dispatch(call.walker, &command, call.run, &mut inner);
    call.walker.nesting.pop();
    Ok(())
}

/// Runs `words` as the wrapped command.
fn run_rest(call: &mut Call<'_, '_>, words: &[Word]) {
    if words.is_empty() {
        return;
    }
    let name = call.name.to_string();
    call.out = call.dispatch(words, &name);
}

fn plain(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    const SPEC: Spec = Spec {
        opts: &[],
        style: Style::Posix,
    };
    let parsed = SPEC.scan(call.args)?;
    run_rest(call, &parsed.operands);
    Ok(())
}

fn nice(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    const SPEC: Spec = Spec {
        opts: &[value("adjustment", "n", &["adjustment"])],
        style: Style::Posix,
    };
    // The obsolete `nice -10 cmd`.
    let args: Vec<Word> = call
        .args
        .iter()
        .enumerate()
        .filter(|(i, w)| {
            !(*i == 0
                && w.text.len() > 1
                && w.text.starts_with('-')
                && w.text[1..].chars().all(|c| c.is_ascii_digit()))
        })
        .map(|(_, w)| w.clone())
        .collect();
    let parsed = SPEC.scan(&args)?;
    run_rest(call, &parsed.operands);
    Ok(())
}

fn timeout(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    const SPEC: Spec = Spec {
        opts: &[
            value("signal", "s", &["signal"]),
            value("kill", "k", &["kill-after"]),
            flag("verbose", "v", &["verbose"]),
            flag("preserve", "", &["preserve-status"]),
            flag("foreground", "", &["foreground"]),
        ],
        style: Style::Posix,
    };
    let parsed = SPEC.scan(call.args)?;
    // The first operand is the duration.
    let command = parsed.operands.get(1..).unwrap_or(&[]).to_vec();
    run_rest(call, &command);
    Ok(())
}

fn stdbuf(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    const SPEC: Spec = Spec {
        opts: &[
            value("input", "i", &["input"]),
            value("output", "o", &["output"]),
            value("error", "e", &["error"]),
        ],
        style: Style::Posix,
    };
    let parsed = SPEC.scan(call.args)?;
    run_rest(call, &parsed.operands);
    Ok(())
}

fn ionice(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    const SPEC: Spec = Spec {
        opts: &[
            value("class", "c", &["class"]),
            value("data", "n", &["classdata"]),
            flag("pid", "p", &["pid"]),
            flag("pgid", "P", &["pgid"]),
            flag("uid", "u", &["uid"]),
            flag("ignore", "t", &["ignore"]),
        ],
        style: Style::Posix,
    };
    let parsed = SPEC.scan(call.args)?;
    if parsed.any(&["pid", "pgid", "uid"]) {
        // Changes the priority of running processes; runs nothing.
        return Ok(());
    }
    run_rest(call, &parsed.operands);
    Ok(())
}

fn command(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    const SPEC: Spec = Spec {
        opts: &[flag("path", "p", &[]), flag("describe", "vV", &[])],
        style: Style::Posix,
    };
    let parsed = SPEC.scan(call.args)?;
    if parsed.has("describe") {
        // `command -v git` only says where `git` is.
        return Ok(());
    }
    run_rest(call, &parsed.operands);
    Ok(())
}

fn exec(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    const SPEC: Spec = Spec {
        opts: &[
            flag("clear", "c", &[]),
            flag("login", "l", &[]),
            value("name", "a", &[]),
        ],
        style: Style::Posix,
    };
    let parsed = SPEC.scan(call.args)?;
    run_rest(call, &parsed.operands);
    Ok(())
}

fn time(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    const SPEC: Spec = Spec {
        opts: &[
            value("format", "f", &["format"]),
            value("output", "o", &["output"]),
            flag("append", "a", &["append"]),
            flag("verbose", "v", &["verbose"]),
            flag("portability", "p", &["portability"]),
            flag("quiet", "q", &["quiet"]),
        ],
        style: Style::Posix,
    };
    let parsed = SPEC.scan(call.args)?;
    if let Some(output) = parsed.last("output").cloned() {
        call.push_file(Operation::Update, &output, false, false);
    }
    run_rest(call, &parsed.operands);
    Ok(())
}

fn sudo(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    const SUDO: Spec = Spec {
        opts: &[
            flag(
                "flag",
                "AbEHinPSs",
                &[
                    "askpass",
                    "background",
                    "login",
                    "non-interactive",
                    "preserve-groups",
                    "stdin",
                    "shell",
                    "set-home",
                ],
            ),
            flag(
                "asks",
                "KklVv",
                &[
                    "remove-timestamp",
                    "reset-timestamp",
                    "list",
                    "version",
                    "validate",
                ],
            ),
            flag("edit", "e", &["edit"]),
            optional("preserve", "", &["preserve-env"]),
            value(
                "value",
                "ugpCDhrtTUR",
                &[
                    "user",
                    "group",
                    "prompt",
                    "close-from",
                    "chdir",
                    "host",
                    "role",
                    "type",
                    "command-timeout",
                    "other-user",
                    "chroot",
                ],
            ),
        ],
        style: Style::Posix,
    };
    const DOAS: Spec = Spec {
        opts: &[
            flag("flag", "ns", &[]),
            flag("asks", "L", &[]),
            value("value", "uC", &[]),
        ],
        style: Style::Posix,
    };
    const BARE: Spec = Spec {
        opts: &[],
        style: Style::Posix,
    };
    crate::effects::tag(&mut call.exec, "privilege_escalation");
    let spec = match call.name {
        "sudo" => SUDO,
        "doas" => DOAS,
        _ => BARE,
    };
    let parsed = spec.scan(call.args)?;
    if parsed.has("edit") {
        return Err(Unaccounted("`sudo -e` edits files as another user".into()));
    }
    if parsed.operands.is_empty() {
        if parsed.has("asks") {
            return Ok(());
        }
        // `sudo -s`, `sudo -i`, `sudo su`: an interactive root shell.
        call.opaque_exec("a privileged shell");
        return Ok(());
    }
    call.walker.tags.push("privilege_escalation");
    let name = call.name.to_string();
    let operands = parsed.operands;
    call.out = call.dispatch(&operands, &name);
    call.walker.tags.pop();
    Ok(())
}

fn su(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    const SPEC: Spec = Spec {
        opts: &[
            value("command", "c", &["command", "session-command"]),
            flag("login", "l", &["login"]),
            flag("flag", "mpfP", &["preserve-environment", "pty"]),
            value(
                "value",
                "sgGw",
                &["shell", "group", "supp-group", "whitelist-environment"],
            ),
        ],
        style: Style::Gnu,
    };
    crate::effects::tag(&mut call.exec, "privilege_escalation");
    let args: Vec<Word> = call
        .args
        .iter()
        .map(|w| {
            if w.text == "-" {
                Word::literal("-l")
            } else {
                w.clone()
            }
        })
        .collect();
    let parsed = SPEC.scan(&args)?;
    call.walker.tags.push("privilege_escalation");
    match parsed.last("command").cloned() {
        Some(script) if !script.dynamic => call.nested(&script.text, "su -c"),
        Some(_) => call.opaque_exec("`su -c` with a script only known at run time"),
        None => call.opaque_exec("an interactive shell as another user"),
    }
    call.walker.tags.pop();
    Ok(())
}

fn xargs(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    const SPEC: Spec = Spec {
        opts: &[
            flag("null", "0", &["null"]),
            value("file", "a", &["arg-file"]),
            value("delimiter", "d", &["delimiter"]),
            value("eof", "E", &[]),
            optional("eof", "e", &["eof"]),
            value("replace", "I", &[]),
            optional("replace_opt", "i", &["replace"]),
            value("lines", "L", &[]),
            optional("lines", "l", &["max-lines"]),
            value("args", "n", &["max-args"]),
            value("procs", "P", &["max-procs"]),
            flag("interactive", "p", &["interactive"]),
            flag("no_run", "r", &["no-run-if-empty"]),
            value("chars", "s", &["max-chars"]),
            flag("verbose", "t", &["verbose"]),
            flag("exit", "x", &["exit"]),
            flag("limits", "", &["show-limits"]),
            value("slot", "", &["process-slot-var"]),
            flag("tty", "o", &["open-tty"]),
        ],
        style: Style::Posix,
    };
    let parsed = SPEC.scan(call.args)?;
    if let Some(file) = parsed.last("file").cloned() {
        call.push_file(Operation::Read, &file, false, false);
    }
    let replace = if let Some(r) = parsed.last("replace") {
        Some(r.text.clone())
    } else if parsed.has("replace_opt") {
        Some(
            parsed
                .last("replace_opt")
                .map_or_else(|| "{}".to_string(), |w| w.text.clone()),
        )
    } else {
        None
    };
    let mut inner: Vec<Word> = parsed.operands;
    if inner.is_empty() {
        inner.push(Word::literal("echo"));
    }
    let mut replaced = false;
    if let Some(r) = replace.as_deref().filter(|r| !r.is_empty()) {
        for word in inner.iter_mut() {
            if word.text.contains(r) {
                word.text = word.text.replace(r, "*");
                word.dynamic = true;
                word.glob = true;
                replaced = true;
            }
        }
    }
    if !replaced {
        // The words read from the input are appended (and, with a replace string that does
        // not occur, assume they may be anyway).
        inner.push(Word::unknown());
    }
    call.out = call.dispatch(&inner, "xargs");
    Ok(())
}

fn watch(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    const SPEC: Spec = Spec {
        opts: &[
            value("interval", "n", &["interval"]),
            optional("differences", "d", &["differences"]),
            flag("exec", "x", &["exec"]),
            flag(
                "flag",
                "tbegcpwr",
                &[
                    "no-title", "beep", "errexit", "chgexit", "color", "precise", "no-wrap",
                    "no-rerun",
                ],
            ),
            value("equexit", "q", &["equexit"]),
        ],
        style: Style::Posix,
    };
    let parsed = SPEC.scan(call.args)?;
    if parsed.has("exec") {
        run_rest(call, &parsed.operands);
        return Ok(());
    }
    if parsed.operands.iter().any(|w| w.dynamic) {
        return Err(Unaccounted("a command only known at run time".into()));
    }
    let script = parsed
        .operands
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    call.nested(&script, "watch");
    Ok(())
}

fn busybox(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let args = call.args.to_vec();
    if args.first().is_some_and(|w| w.text.starts_with('-')) {
        return Err(Unaccounted("busybox options".into()));
    }
    run_rest(call, &args);
    Ok(())
}

fn opaque_wrapper(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    Err(Unaccounted(format!(
        "`{}` runs a command in a changed root, namespace or lock",
        call.name
    )))
}

#[cfg(test)]
mod tests {
    use crate::programs::tests::{effects_of, has, is_opaque};

    #[test]
    fn env_in_every_form() {
        let e = effects_of("env -C/home/alice rm -f .bashrc");
        assert!(has(&e, "delete file:///home/alice/.bashrc"), "{e:?}");
        let e = effects_of("env -S'rm -rf /home/alice'");
        assert!(has(&e, "delete file:///home/alice"), "{e:?}");
        let e = effects_of("env -i X=1 rm -rf /home/alice");
        assert!(has(&e, "delete file:///home/alice"), "{e:?}");
        let e = effects_of("env --frob rm -rf /home/alice");
        assert!(is_opaque(&e, "cmd://env"), "{e:?}");
    }

    #[test]
    fn xargs_reads_its_input() {
        let e = effects_of("echo / | xargs -i rm -rf");
        assert!(
            e.iter()
                .any(|e| e.resource.starts_with("file:///**") && e.opaque),
            "{e:?}"
        );
        let e = effects_of("ls | xargs -I{} rm -rf /home/alice/{}");
        assert!(has(&e, "delete file:///home/alice/*"), "{e:?}");
    }

    #[test]
    fn wrappers_hand_on_the_command() {
        for line in [
            "nice -n 5 rm -rf /home/alice",
            "nice -5 rm -rf /home/alice",
            "timeout -s KILL 5 rm -rf /home/alice",
            "nohup rm -rf /home/alice",
            "stdbuf -oL rm -rf /home/alice",
            "command rm -rf /home/alice",
            "sudo -u root rm -rf /home/alice",
            "su -c 'rm -rf /home/alice'",
            "watch -n1 rm -rf /home/alice",
            "busybox rm -rf /home/alice",
        ] {
            let e = effects_of(line);
            assert!(has(&e, "delete file:///home/alice"), "{line}: {e:?}");
        }
        let e = effects_of("command -v git");
        assert!(!e.iter().any(|e| e.opaque), "{e:?}");
    }
}
