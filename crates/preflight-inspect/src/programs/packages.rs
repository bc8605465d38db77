//! Package managers, build tools and test runners.
//!
//! Running the project's own code (`cargo test`, `npm test`, `npm run build`, `make`,
//! `pytest`) is its own effect: `execute project://PROGRAM/SUBCOMMAND`, tagged
//! `project_code`, which a policy allows by name. Given variables that name an environment
//! (`DATABASE_URL=…prod… npm run migrate`) it is opaque instead.
//!
//! Other effects: `update pkg://MANAGER/global` (tag `package_global`) for installs and
//! removals outside the project (`npm i -g`, `cargo install`, `pip install`, `apt install`);
//! `network_send` to the registry for `publish`; `delete` of the build directory for
//! `cargo clean`. Running a package's binary (`npx`, `npm exec`, `yarn dlx`) and options
//! that bring configuration (`cargo --config`) are opaque.

use preflight_core::{Effect, Operation};

use super::{Call, Program, Unaccounted, Word};
use crate::effects::{attr, tag};

pub(super) const PROGRAMS: &[Program] = &[
    Program {
        names: &["npm", "yarn", "pnpm", "bun"],
        model: node_manager,
    },
    Program {
        names: &["npx", "bunx", "pnpx"],
        model: runs_a_package,
    },
    Program {
        names: &["cargo"],
        model: cargo,
    },
    Program {
        names: &["go"],
        model: go,
    },
    Program {
        names: &[
            "pip", "pip3", "uv", "poetry", "pipx", "gem", "bundle", "composer",
        ],
        model: language_manager,
    },
    Program {
        names: &[
            "apt", "apt-get", "dnf", "yum", "apk", "brew", "pacman", "snap", "zypper",
        ],
        model: system_manager,
    },
    Program {
        names: &[
            "make", "just", "rake", "gradle", "gradlew", "mvn", "dotnet", "mix", "tox", "nox",
            "pytest", "jest", "vitest", "tsc", "rustc", "gcc", "cc", "g++", "clang", "javac",
            "eslint", "prettier", "black", "ruff", "mypy", "rustfmt",
        ],
        model: project_tool,
    },
];

impl Call<'_, '_> {
    /// Runs the project's own code: allowable by name, unless an environment is named.
    pub(crate) fn project_code(&mut self, what: &str) {
        let what = if what.is_empty() { "_" } else { what };
        let mut effect = Effect::new(
            Operation::Execute,
            format!("project://{}/{}", self.name, what.trim_matches('/')),
        );
        tag(&mut effect, "project_code");
        attr(&mut effect, "command", self.name.to_string());
        if let Some(dir) = self.state.cwd.clone() {
            attr(&mut effect, "dir", dir);
        }
        if let Some(environment) = self.exec.environment.clone() {
            effect.opaque = true;
            effect.environment = Some(environment);
            self.exec.opaque = true;
        }
        self.push(effect);
    }

    fn global_packages(&mut self, manager: &str) {
        // Installing or removing a package runs its own scripts (maintainer scripts,
        // lifecycle scripts, build scripts).
        self.opaque_exec("a package manager changes packages and runs their scripts");
        let mut effect = Effect::new(Operation::Update, format!("pkg://{manager}/global"));
        tag(&mut effect, "package_global");
        attr(&mut effect, "command", self.name.to_string());
        self.push(effect);
    }

    fn publish(&mut self, registry: &str) {
        let mut effect = Effect::new(Operation::NetworkSend, registry.to_string());
        attr(&mut effect, "command", self.name.to_string());
        attr(&mut effect, "subcommand", "publish");
        self.push(effect);
    }
}

/// The first word, when it is a subcommand rather than an option.
fn first_word(args: &[Word]) -> Result<Option<&Word>, Unaccounted> {
    match args.first() {
        None => Ok(None),
        Some(w) if w.may_be_option() => {
            Err(Unaccounted("a subcommand only known at run time".into()))
        }
        Some(w) if w.text.starts_with('-') => Ok(Some(w)),
        Some(w) => Ok(Some(w)),
    }
}

fn is_version(args: &[Word]) -> bool {
    !args.is_empty()
        && args.iter().all(|w| {
            ["--version", "-v", "-V", "--help", "-h", "version", "help"].contains(&w.text.as_str())
        })
}

fn node_manager(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let args = call.args.to_vec();
    if is_version(&args) {
        return Ok(());
    }
    let Some(sub) = first_word(&args)? else {
        // `yarn` alone installs.
        call.project_code("install");
        return Ok(());
    };
    if sub.text.starts_with('-') {
        return Err(Unaccounted(format!(
            "option `{}` before the subcommand",
            sub.text
        )));
    }
    let sub = sub.text.clone();
    call.subcommand(&sub);
    let rest = &args[1..];
    let global = rest
        .iter()
        .any(|w| ["-g", "--global", "--location=global"].contains(&w.text.as_str()))
        || (call.name == "yarn" && sub == "global");
    match sub.as_str() {
        "ls" | "list" | "view" | "info" | "outdated" | "why" | "search" | "config"
            if !global && !rest.iter().any(|w| w.text == "set" || w.text == "delete") =>
        {
            Ok(())
        }
        "exec" | "x" | "dlx" | "create" | "init" => Err(Unaccounted(format!(
            "`{} {sub}` runs a package's program",
            call.name
        ))),
        "publish" => {
            call.project_code("publish");
            call.publish("https://registry.npmjs.org/");
            Ok(())
        }
        "install" | "i" | "add" | "uninstall" | "remove" | "rm" | "un" | "update" | "upgrade"
        | "link" | "unlink" | "ci"
            if global || sub == "link" =>
        {
            call.global_packages("npm");
            call.project_code(&sub);
            Ok(())
        }
        "run" | "run-script" => {
            let script = rest
                .iter()
                .find(|w| !w.text.starts_with('-'))
                .map(|w| w.text.clone())
                .unwrap_or_default();
            call.project_code(&format!("run/{script}"));
            Ok(())
        }
        _ => {
            call.project_code(&sub);
            Ok(())
        }
    }
}

fn runs_a_package(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    Err(Unaccounted(format!(
        "`{}` runs a package's program, possibly downloaded",
        call.name
    )))
}

fn cargo(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let args = call.args.to_vec();
    if is_version(&args) || args.iter().any(|w| w.text == "--list") && args.len() == 1 {
        return Ok(());
    }
    let mut i = 0;
    let mut dir = call.state.clone();
    while let Some(word) = args.get(i) {
        match word.text.as_str() {
            "-v" | "-vv" | "-q" | "--quiet" | "--verbose" | "--frozen" | "--locked"
            | "--offline" => i += 1,
            "--color" | "-Z" => i += 2,
            "-C" => {
                if let Some(d) = args.get(i + 1) {
                    dir.cwd = Some(call.walker.path_of(d, &dir));
                }
                i += 2;
            }
            t if t.starts_with("+") => i += 1,
            t if t.starts_with('-') => {
                return Err(Unaccounted(format!("cargo option `{t}`")));
            }
            _ => break,
        }
    }
    let Some(sub) = args.get(i) else {
        return Ok(());
    };
    if sub.dynamic {
        return Err(Unaccounted("a subcommand only known at run time".into()));
    }
    let sub = sub.text.clone();
    call.subcommand(&sub);
    if args[i..].iter().any(|w| w.text.starts_with("--config")) {
        return Err(Unaccounted("`--config` may run a program".into()));
    }
    match sub.as_str() {
        "tree" | "metadata" | "search" | "locate-project" | "pkgid" | "version"
        | "verify-project" | "help" => {}
        "install" | "uninstall" => call.global_packages("cargo"),
        "publish" => {
            call.project_code("publish");
            call.publish("https://crates.io/");
        }
        "login" | "logout" | "owner" | "yank" => {
            return Err(Unaccounted(format!(
                "`cargo {sub}` changes credentials or the registry"
            )));
        }
        "clean" => {
            let target = Word::literal("target");
            let effect =
                super::file_effect(call.walker, &dir, Operation::Delete, &target, true, false);
            call.push(effect);
        }
        "build" | "b" | "check" | "c" | "test" | "t" | "run" | "r" | "bench" | "doc" | "d"
        | "clippy" | "fmt" | "fix" | "update" | "fetch" | "add" | "remove" | "new" | "init"
        | "vendor" | "package" | "generate-lockfile" | "nextest" | "fuzz" | "miri" => {
            call.project_code(&sub);
        }
        // An external subcommand or an alias: any program named `cargo-NAME`.
        _ => return Err(Unaccounted(format!("`cargo {sub}` is an alias or plugin"))),
    }
    Ok(())
}

fn go(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let args = call.args.to_vec();
    let Some(sub) = first_word(&args)? else {
        return Ok(());
    };
    let sub = sub.text.clone();
    call.subcommand(&sub);
    match sub.as_str() {
        "version" | "env" | "list" | "doc" | "help" if !args.iter().any(|w| w.text == "-w") => {}
        "install" => call.global_packages("go"),
        "build" | "test" | "run" | "vet" | "generate" | "mod" | "get" | "fmt" | "work" | "tool"
        | "clean" => call.project_code(&sub),
        _ => return Err(Unaccounted(format!("`go {sub}`"))),
    }
    Ok(())
}

fn language_manager(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let args = call.args.to_vec();
    if is_version(&args) {
        return Ok(());
    }
    let mut words = args.iter().filter(|w| !w.text.starts_with('-'));
    let Some(sub) = words.next() else {
        return Err(Unaccounted("no subcommand".into()));
    };
    if sub.dynamic {
        return Err(Unaccounted("a subcommand only known at run time".into()));
    }
    let sub = if call.name == "uv" && sub.text == "pip" {
        words.next().map(|w| w.text.clone()).unwrap_or_default()
    } else {
        sub.text.clone()
    };
    call.subcommand(&sub);
    let manager = call.name.trim_end_matches('3').to_string();
    match sub.as_str() {
        "list" | "show" | "freeze" | "search" | "check" | "outdated" | "info" => {}
        "install" | "uninstall" | "remove" | "upgrade" | "update" | "add" | "sync" | "lock"
        | "download" => {
            if matches!(call.name, "pip" | "pip3" | "pipx" | "gem") {
                call.global_packages(&manager);
            }
            call.project_code(&sub);
        }
        "publish" | "push" | "upload" => {
            call.project_code(&sub);
            call.publish(&format!("https://{manager}.registry/"));
        }
        "run" | "exec" | "shell" | "x" | "tool" => {
            return Err(Unaccounted(format!("`{} {sub}` runs a program", call.name)));
        }
        _ => call.project_code(&sub),
    }
    Ok(())
}

fn system_manager(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let args = call.args.to_vec();
    let sub = args
        .iter()
        .find(|w| !w.text.starts_with('-'))
        .map(|w| w.text.clone())
        .unwrap_or_default();
    call.subcommand(&sub);
    match sub.as_str() {
        "list" | "search" | "show" | "info" | "policy" | "depends" | "rdepends" | "madison"
        | "doctor" | "config" | "" => Ok(()),
        _ => {
            let manager = call.name.to_string();
            call.global_packages(&manager);
            Ok(())
        }
    }
}

fn project_tool(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let args = call.args.to_vec();
    if is_version(&args) {
        return Ok(());
    }
    if matches!(call.name, "make" | "just" | "rake") {
        let mut i = 0;
        let mut targets = Vec::new();
        while let Some(word) = args.get(i) {
            let t = word.text.as_str();
            i += 1;
            match t {
                "-C" | "--directory" | "-f" | "--file" | "--makefile" | "-j" | "--jobs" | "-l"
                | "-o" | "-W" | "-I" => i += 1,
                _ if t.starts_with('-') || t.contains('=') => {}
                _ => targets.push(t.to_string()),
            }
        }
        let what = if targets.is_empty() {
            "_".to_string()
        } else {
            targets.join(",")
        };
        call.project_code(&what);
        return Ok(());
    }
    let sub = args
        .iter()
        .find(|w| !w.text.starts_with('-'))
        .map(|w| w.text.clone())
        .unwrap_or_default();
    call.project_code(&sub);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::programs::tests::{effects_of, has, is_opaque};

    #[test]
    fn project_code_and_global_state() {
        let e = effects_of("cargo test");
        assert!(
            has(&e, "execute project://cargo/test #project_code -opaque"),
            "{e:?}"
        );
        let e = effects_of("npm test");
        assert!(has(&e, "execute project://npm/test -opaque"), "{e:?}");
        let e = effects_of("npm uninstall -g typescript");
        assert!(has(&e, "update pkg://npm/global #package_global"), "{e:?}");
        let e = effects_of("DATABASE_URL=postgres://app@db.prod.internal/app npm run db:push");
        assert!(
            has(&e, "execute project://npm/run/db:push +opaque env=prod"),
            "{e:?}"
        );
        let e = effects_of("npx some-tool");
        assert!(is_opaque(&e, "cmd://npx"), "{e:?}");
    }
}
