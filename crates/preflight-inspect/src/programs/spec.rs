//! Option specs and the one scanner that turns a program's arguments into a typed invocation.
//!
//! A spec lists every option a model accounts for: short letters (clustered as `-rf`, with
//! attached values as `-n5` or `-d@file`), long names (`--name value`, `--name=value`, and, for
//! GNU programs, any unambiguous prefix such as `--recur`), and whether each takes a value.
//! Whatever the spec does not account for is an error, and the caller makes the command opaque:
//! an option read as a flag when it takes a value (or the reverse) would shift every later
//! word, so a guess is never made.

use super::Word;

/// How an option takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arity {
    /// No value.
    Flag,
    /// A value, attached (`-n5`, `--lines=5`) or the next word.
    Value,
    /// A value only when attached (`-i.bak`, `--color=auto`); otherwise none.
    Optional,
}

/// One option of a program.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Opt {
    /// The name models ask for (`"recursive"`).
    pub key: &'static str,
    /// Short letters meaning this option (`"rR"`).
    pub short: &'static str,
    /// Long names without the dashes (`&["recursive"]`).
    pub long: &'static [&'static str],
    /// Whether it takes a value.
    pub arity: Arity,
}

/// A flag: `flag("force", "f", &["force"])`.
pub(crate) const fn flag(
    key: &'static str,
    short: &'static str,
    long: &'static [&'static str],
) -> Opt {
    Opt {
        key,
        short,
        long,
        arity: Arity::Flag,
    }
}

/// An option with a value.
pub(crate) const fn value(
    key: &'static str,
    short: &'static str,
    long: &'static [&'static str],
) -> Opt {
    Opt {
        key,
        short,
        long,
        arity: Arity::Value,
    }
}

/// An option whose value must be attached.
pub(crate) const fn optional(
    key: &'static str,
    short: &'static str,
    long: &'static [&'static str],
) -> Opt {
    Opt {
        key,
        short,
        long,
        arity: Arity::Optional,
    }
}

/// How a program reads its command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// GNU `getopt_long`: options anywhere before `--`, long names may be abbreviated.
    Gnu,
    /// Like GNU, but long names must be written in full (curl, git subcommands' parse-options
    /// accept prefixes too, but most other tools do not).
    Exact,
    /// Options end at the first operand (POSIX `getopt`, and every program that runs a
    /// command given after its options: `env`, `nice`, `timeout`, `xargs`, `sudo`).
    Posix,
}

/// The options of a program.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spec {
    pub opts: &'static [Opt],
    pub style: Style,
}

/// An argument list as the program reads it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Parsed {
    /// Options in order, with their values.
    pub opts: Vec<(&'static str, Option<Word>)>,
    /// Operands in order.
    pub operands: Vec<Word>,
    /// With [`Style::Posix`], the index in the scanned words of the first operand.
    pub rest_at: usize,
}

impl Parsed {
    /// Whether option `key` was given.
    pub(crate) fn has(&self, key: &str) -> bool {
        self.opts.iter().any(|(k, _)| *k == key)
    }

    /// Whether any of `keys` was given.
    pub(crate) fn any(&self, keys: &[&str]) -> bool {
        self.opts.iter().any(|(k, _)| keys.contains(k))
    }

    /// The last value of option `key`.
    pub(crate) fn last(&self, key: &str) -> Option<&Word> {
        self.opts
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.as_ref())
    }

    /// Every value of option `key`.
    pub(crate) fn values<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Word> + 'a {
        self.opts
            .iter()
            .filter(move |(k, _)| *k == key)
            .filter_map(|(_, v)| v.as_ref())
    }
}

/// Why a scan failed: the word the spec does not account for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unaccounted(pub String);

impl Spec {
    /// Scans `args`. An option that is not in the spec, an ambiguous abbreviation, a missing
    /// value, or a word only known at run time where an option may stand: `Err`.
    pub(crate) fn scan(&self, args: &[Word]) -> Result<Parsed, Unaccounted> {
        let mut parsed = Parsed {
            rest_at: args.len(),
            ..Parsed::default()
        };
        let mut i = 0;
        while i < args.len() {
            let word = &args[i];
            let text = word.text.as_str();
            if word.may_be_option() {
                return Err(Unaccounted(format!(
                    "`{}` is only known at run time and may be an option",
                    word.text
                )));
            }
            if text == "--" {
                parsed.operands.extend(args[i + 1..].iter().cloned());
                if self.style == Style::Posix {
                    parsed.rest_at = i + 1;
                }
                return Ok(parsed);
            }
            if text.len() < 2 || !text.starts_with('-') {
                if self.style == Style::Posix {
                    parsed.rest_at = i;
                    parsed.operands.extend(args[i..].iter().cloned());
                    return Ok(parsed);
                }
                parsed.operands.push(word.clone());
                i += 1;
                continue;
            }
            i += 1;
            if let Some(long) = text.strip_prefix("--") {
                let (name, inline) = match long.split_once('=') {
                    Some((name, value)) => (name, Some(value)),
                    None => (long, None),
                };
                let opt = self.long(name)?;
                let value = match (opt.arity, inline) {
                    (Arity::Flag, Some(_)) => {
                        return Err(Unaccounted(format!("`--{name}` takes no value")));
                    }
                    (Arity::Flag, None) | (Arity::Optional, None) => None,
                    (_, Some(value)) => Some(word.with_text(value)),
                    (Arity::Value, None) => {
                        let next = args
                            .get(i)
                            .ok_or_else(|| Unaccounted(format!("`--{name}` needs a value")))?;
                        i += 1;
                        Some(next.clone())
                    }
                };
                parsed.opts.push((opt.key, value));
                continue;
            }
            // A cluster of short options.
            let cluster = &text[1..];
            for (at, letter) in cluster.char_indices() {
                let opt = self.short(letter).ok_or_else(|| {
                    Unaccounted(format!("unknown option `-{letter}` in `{text}`"))
                })?;
                let attached = &cluster[at + letter.len_utf8()..];
                match opt.arity {
                    Arity::Flag => parsed.opts.push((opt.key, None)),
                    Arity::Optional => {
                        let value = (!attached.is_empty()).then(|| word.with_text(attached));
                        parsed.opts.push((opt.key, value));
                        break;
                    }
                    Arity::Value => {
                        let value = if attached.is_empty() {
                            let next = args
                                .get(i)
                                .ok_or_else(|| Unaccounted(format!("`-{letter}` needs a value")))?;
                            i += 1;
                            next.clone()
                        } else {
                            word.with_text(attached)
                        };
                        parsed.opts.push((opt.key, Some(value)));
                        break;
                    }
                }
            }
        }
        Ok(parsed)
    }

    fn short(&self, letter: char) -> Option<&'static Opt> {
        self.opts.iter().find(|o| o.short.contains(letter))
    }

    fn long(&self, name: &str) -> Result<&'static Opt, Unaccounted> {
        if let Some(opt) = self.opts.iter().find(|o| o.long.contains(&name)) {
            return Ok(opt);
        }
        if self.style == Style::Gnu && !name.is_empty() {
            let mut found: Option<&'static Opt> = None;
            for opt in self.opts {
                if opt.long.iter().any(|l| l.starts_with(name)) {
                    if found.is_some_and(|f| f.key != opt.key) {
                        return Err(Unaccounted(format!("`--{name}` is ambiguous")));
                    }
                    found = Some(opt);
                }
            }
            if let Some(opt) = found {
                return Ok(opt);
            }
        }
        Err(Unaccounted(format!("unknown option `--{name}`")))
    }

    /// Every long name and short letter, for tests that compare a spec with `--help`.
    #[cfg(test)]
    pub(crate) fn names(&self) -> impl Iterator<Item = (&'static Opt, String)> + '_ {
        self.opts.iter().flat_map(|o| {
            o.short
                .chars()
                .map(move |c| (o, format!("-{c}")))
                .chain(o.long.iter().map(move |l| (o, format!("--{l}"))))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: Spec = Spec {
        opts: &[
            flag("recursive", "rR", &["recursive"]),
            flag("force", "f", &["force"]),
            value("target", "t", &["target-directory"]),
            optional("suffix", "i", &["in-place"]),
            flag("regex", "", &["regex-extended"]),
            flag("reverse", "", &["reverse"]),
        ],
        style: Style::Gnu,
    };

    fn words(line: &str) -> Vec<Word> {
        line.split_whitespace().map(Word::literal).collect()
    }

    fn keys(parsed: &Parsed) -> Vec<&str> {
        parsed.opts.iter().map(|(k, _)| *k).collect()
    }

    #[test]
    fn clusters_attached_values_and_permutation() {
        let parsed = SPEC.scan(&words("a -rf b -tdir c")).unwrap();
        assert_eq!(keys(&parsed), ["recursive", "force", "target"]);
        assert_eq!(parsed.last("target").unwrap().text, "dir");
        let operands: Vec<&str> = parsed.operands.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(operands, ["a", "b", "c"]);
    }

    #[test]
    fn values_in_every_form() {
        for line in [
            "-t x",
            "-tx",
            "--target-directory x",
            "--target-directory=x",
            "--tar x",
        ] {
            let parsed = SPEC.scan(&words(line)).unwrap();
            assert_eq!(parsed.last("target").unwrap().text, "x", "{line}");
            assert!(parsed.operands.is_empty(), "{line}");
        }
        let parsed = SPEC.scan(&words("-i file")).unwrap();
        assert!(parsed.last("suffix").is_none());
        assert_eq!(parsed.operands.len(), 1);
        let parsed = SPEC.scan(&words("-i.bak file")).unwrap();
        assert_eq!(parsed.last("suffix").unwrap().text, ".bak");
    }

    #[test]
    fn what_is_not_accounted_for_fails() {
        for line in [
            "-x",
            "-rx",
            "--nope",
            "--re",
            "--force=yes",
            "-t",
            "--target-directory",
        ] {
            assert!(SPEC.scan(&words(line)).is_err(), "{line}");
        }
        let exact = Spec {
            style: Style::Exact,
            ..SPEC
        };
        assert!(exact.scan(&words("--recur")).is_err());
        assert!(SPEC.scan(&words("--recur")).is_ok());
    }

    #[test]
    fn double_dash_and_posix_stop() {
        let parsed = SPEC.scan(&words("-- -rf")).unwrap();
        assert!(parsed.opts.is_empty());
        assert_eq!(parsed.operands[0].text, "-rf");
        let posix = Spec {
            style: Style::Posix,
            ..SPEC
        };
        let parsed = posix.scan(&words("-f cmd -rf")).unwrap();
        assert_eq!(keys(&parsed), ["force"]);
        assert_eq!(parsed.rest_at, 1);
    }

    #[test]
    fn run_time_words_where_an_option_may_stand() {
        let dynamic = Word {
            text: "*".into(),
            dynamic: true,
            glob: false,
        };
        assert!(SPEC.scan(std::slice::from_ref(&dynamic)).is_err());
        let after = [Word::literal("--"), dynamic];
        assert!(SPEC.scan(&after).is_ok());
    }
}
