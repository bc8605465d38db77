//! Each spec held to the real program's own `--help`: every long option a spec lists must be
//! one the program documents, with the same arity, and so must every short letter (but for
//! the few the program accepts without documenting them). Checked against Debian 12's GNU
//! coreutils 9.1, grep 3.8, sed 4.9, tar 1.34, diffutils 3.8, curl 7.88, wget 1.21 and the
//! PostgreSQL 15 client tools; the test prints the version it ran against.

use std::collections::BTreeMap;
use std::process::Command;

use crate::programs::spec::{Arity, Spec};

/// Options the program reads from `--help`: name → arity.
fn documented(program: &str) -> (String, BTreeMap<String, Arity>) {
    // curl lists every option only with `--help all`.
    let args: &[&str] = if program == "curl" {
        &["--help", "all"]
    } else {
        &["--help"]
    };
    let output = Command::new(program)
        .args(args)
        .env("LC_ALL", "C")
        .output()
        .unwrap_or_else(|e| panic!("`{program} --help` did not run: {e}"));
    let version = Command::new(program)
        .arg("--version")
        .env("LC_ALL", "C")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .to_string()
        })
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    let mut options = BTreeMap::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        // Option lines are indented a little; a description's continuation much more.
        if !trimmed.starts_with('-') || indent == 0 || indent > 10 {
            continue;
        }
        // wget writes `-O,  --output-document=FILE`.
        let trimmed = &trimmed.replace(",  ", ", ");
        // The option part ends where the description starts (two spaces).
        let part = trimmed.split("  ").next().unwrap_or(trimmed);
        // A long option's arity; a short one takes a value only when the long one must.
        let mut long_arity: Option<Arity> = None;
        let mut longs = Vec::new();
        let mut shorts = Vec::new();
        for token in part.split(", ") {
            let token = token.trim();
            if let Some(long) = token.strip_prefix("--") {
                let name: String = long
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
                    .collect();
                let rest = &long[name.len()..];
                let arity = if rest.starts_with("[=") {
                    Arity::Optional
                } else if let Some(value) = rest.strip_prefix('=') {
                    // `--check=quiet` names one value of an option also given bare.
                    if value.starts_with(|c: char| c.is_ascii_lowercase())
                        && longs.contains(&format!("--{name}"))
                    {
                        Arity::Optional
                    } else {
                        Arity::Value
                    }
                } else if takes_word(rest) {
                    Arity::Value
                } else {
                    Arity::Flag
                };
                let fixed = rest.strip_prefix('=').is_some_and(is_literal);
                if !fixed || longs.contains(&format!("--{name}")) {
                    long_arity = Some(arity);
                }
                if !fixed {
                    longs.retain(|l| *l != format!("--{name}"));
                }
                // `--time` and `--time=WORD` on separate lines: an optional value.
                let arity = match (options.get(&format!("--{name}")), arity) {
                    (Some(Arity::Flag), Arity::Value) | (Some(Arity::Value), Arity::Flag) => {
                        Arity::Optional
                    }
                    _ => arity,
                };
                options.insert(format!("--{name}"), arity);
                longs.push(format!("--{name}"));
            } else if let Some(short) = token.strip_prefix('-') {
                let mut chars = short.chars();
                if let Some(letter) = chars.next() {
                    // In the option column, whatever follows the letter is its argument
                    // (`-e script`, `-n NUM`), but for an aside (`-1 ("one")`).
                    let rest = chars.as_str().trim();
                    let next = rest.chars().next();
                    let own = !rest.is_empty() && !rest.starts_with(['(', '[']);
                    shorts.push((format!("-{letter}"), own, next == Some('[')));
                }
            }
        }
        let names: Vec<(String, Arity)> = shorts
            .into_iter()
            .map(|(name, own, optional)| {
                let arity = if optional {
                    Arity::Optional
                } else if own || long_arity == Some(Arity::Value) {
                    Arity::Value
                } else {
                    Arity::Flag
                };
                (name, arity)
            })
            .collect();
        for (name, arity) in names {
            options.insert(name, arity);
        }
    }
    (version, options)
}

/// A spec shared by several programs: each option must be documented by at least one of
/// them, and none may document it with another arity.
fn check_union(programs: &[&str], spec: &Spec) -> Vec<String> {
    let helps: Vec<(&str, BTreeMap<String, Arity>)> = programs
        .iter()
        .map(|p| {
            let (version, options) = documented(p);
            eprintln!("{p}: {version}");
            (*p, options)
        })
        .collect();
    let mut problems = Vec::new();
    for (opt, name) in spec.names() {
        if name == "--help" || name == "--version" {
            continue;
        }
        let mut found = false;
        for (program, options) in &helps {
            if let Some(arity) = options.get(&name) {
                found = true;
                if *arity != opt.arity {
                    problems.push(format!(
                        "{program}: `{name}` is {:?} in the spec but {arity:?} in `--help`",
                        opt.arity
                    ));
                }
            }
        }
        if !found {
            problems.push(format!("`{name}` is in none of {programs:?}"));
        }
    }
    problems
}

/// `=quiet` in `--check=quiet`: one literal value, not a placeholder (`=WORD`, `=c|d|t`).
fn is_literal(value: &str) -> bool {
    let word: String = value.chars().take_while(|c| !c.is_whitespace()).collect();
    word.starts_with(|c: char| c.is_ascii_lowercase()) && !word.contains(['|', '<', '['])
}

/// Whether what follows an option's name is its argument (` <file>`, ` FILE`), not the
/// description (` Ignore session cookies`, ` ("one")`).
fn takes_word(rest: &str) -> bool {
    let Some(rest) = rest.strip_prefix(' ') else {
        return false;
    };
    if rest.starts_with(['<', '[']) {
        return true;
    }
    let word: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
    word.len() > 1 && word.chars().all(|c| c.is_ascii_uppercase() || c == '_')
}

fn check(program: &str, spec: &Spec, undocumented: &str) -> Vec<String> {
    // Real options `--help` describes only generically or on a line of another shape.
    const UNDOCUMENTED_LONG: &[&str] = &[
        "--old-line-format",
        "--new-line-format",
        "--unchanged-line-format",
        "--format",
    ];
    let (version, documented) = documented(program);
    eprintln!("{program}: {version}");
    let mut problems = Vec::new();
    for (opt, name) in spec.names() {
        if name == "--help" || name == "--version" {
            continue;
        }
        if UNDOCUMENTED_LONG.contains(&name.as_str()) || (program == "stat" && name == "-c") {
            continue;
        }
        if name.len() == 2 && undocumented.contains(&name[1..]) {
            continue;
        }
        match documented.get(&name) {
            None => problems.push(format!("{program}: `{name}` is not in `--help`")),
            Some(arity) if *arity != opt.arity => problems.push(format!(
                "{program}: `{name}` is {:?} in the spec but {:?} in `--help`",
                opt.arity, arity
            )),
            Some(_) => {}
        }
    }
    problems
}

#[test]
fn specs_match_the_programs_own_help() {
    let mut problems = Vec::new();
    for tool in super::tools() {
        for program in tool.names {
            // Not GNU programs, or not on every machine.
            if [
                "dir", "less", "more", "tree", "column", "rg", "egrep", "fgrep", "file",
            ]
            .contains(program)
            {
                continue;
            }
            let undocumented = match *program {
                "head" | "tail" => "0123456789",
                "chmod" => "rwxXstugoa",
                "grep" => "0123456789y",
                "ls" => "",
                _ => "",
            };
            problems.extend(check(program, &tool.spec, undocumented));
        }
    }
    problems.extend(check("sed", &crate::programs::sed::SPEC, ""));
    problems.extend(check("tar", &crate::programs::archives::TAR, ""));
    problems.extend(check("curl", &crate::programs::download::CURL, ""));
    problems.extend(check("wget", &crate::programs::download::WGET, ""));
    problems.extend(check("psql", &crate::programs::databases::PSQL, ""));
    problems.extend(check_union(
        &["pg_dump", "pg_dumpall", "pg_restore"],
        &crate::programs::databases::PG_DUMP,
    ));
    problems.extend(check_union(
        &[
            "dropdb",
            "createdb",
            "dropuser",
            "createuser",
            "vacuumdb",
            "reindexdb",
            "clusterdb",
            "pg_isready",
        ],
        &crate::programs::databases::PG_ADMIN,
    ));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
