//! Each spec held to the real program's own `--help`: every long option a spec lists must be
//! one the program documents, with the same arity, and so must every short letter (but for
//! the few the program accepts without documenting them). Checked against Debian 12's GNU
//! coreutils 9.1, grep 3.8, sed 4.9, tar 1.34 and diffutils 3.8; the test prints the version
//! it ran against.

use std::collections::BTreeMap;
use std::process::Command;

use crate::programs::spec::{Arity, Spec};

/// Options the program reads from `--help`: name → arity.
fn documented(program: &str) -> (String, BTreeMap<String, Arity>) {
    let output = Command::new(program)
        .arg("--help")
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
        if !trimmed.starts_with('-') || line.len() == trimmed.len() {
            continue;
        }
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
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
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
                } else if rest.starts_with(' ') {
                    Arity::Value
                } else {
                    Arity::Flag
                };
                let fixed = rest
                    .strip_prefix('=')
                    .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_lowercase()));
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
                    let next = chars.next();
                    let own = next.is_some_and(|c| c == ' ' || c.is_ascii_uppercase());
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
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
