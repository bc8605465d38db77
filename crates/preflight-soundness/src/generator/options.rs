//! Option syntax per program, and the rewrites it allows: clusters split, merged and
//! reordered (`-rf` ↔ `-r -f` ↔ `-fr`), values attached or not (`-d@x` ↔ `-d @x`,
//! `--opt=v` ↔ `--opt v`), short ↔ long names, unique abbreviations of long names
//! (`--recursive` → `--recur`), and `--` before the operands.

use super::lex::{Word, shell_word};
pub use super::specs::SPECS;

/// What the option parser of one program (or `git <subcommand>`) accepts.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// `rm`, `git clean`, `git worktree remove`.
    pub program: &'static str,
    /// Short options without a value.
    pub bools: &'static str,
    /// Short options with a required value (attached or in the next word).
    pub valued: &'static str,
    /// Short options with an optional attached value (`sed -i[SUFFIX]`).
    pub optional: &'static str,
    /// Every long option name, when the list is complete (abbreviations need it).
    pub longs: &'static [&'static str],
    /// Long options with a required value.
    pub long_valued: &'static [&'static str],
    /// Short letters and the long option each is the same as.
    pub short_long: &'static [(char, &'static str)],
    /// Unique prefixes of long options are accepted (GNU getopt_long, git parse-options).
    pub abbreviate: bool,
    /// `--opt=value` is accepted (curl does not).
    pub long_eq: bool,
    /// `--` may be put before the operands without changing their meaning.
    pub dashdash: bool,
    /// Option parsing stops at the first operand (`env`, `xargs`, `nice`).
    pub stop_at_operand: bool,
    /// The operands after this many are file paths (`chmod MODE FILE…`: 1).
    pub path_operands: Option<usize>,
}

/// The spec for the command whose words are `words`, and how many words name it.
pub fn spec_for(words: &[Word]) -> Option<(&'static Spec, usize)> {
    let names: Vec<&str> = words.iter().take(3).map_while(Word::value).collect();
    for take in (1..=names.len()).rev() {
        let program = names[..take].join(" ");
        if let Some(spec) = SPECS.iter().find(|s| s.program == program) {
            return Some((spec, take));
        }
    }
    None
}

/// One parsed argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// `-abc`, with the value of its last letter when that takes one.
    Short {
        /// The letters.
        letters: Vec<char>,
        /// The value of the last letter: attached (`-d@x`) or in the next word.
        value: Option<(bool, Word)>,
    },
    /// `--name`, `--name=value` (`true`) or `--name value` (`false`).
    Long {
        /// The name without dashes.
        name: String,
        /// The value and whether it was attached with `=`.
        value: Option<(bool, Word)>,
    },
    /// `--`.
    DashDash,
    /// An operand.
    Operand(Word),
    /// Something not understood; kept as it is.
    Unknown(Word),
}

/// Parses the arguments of a program (the words after its name).
pub fn parse(spec: &Spec, args: &[Word]) -> Vec<Item> {
    let mut items = Vec::new();
    let mut i = 0;
    let mut options_done = false;
    while i < args.len() {
        let word = &args[i];
        i += 1;
        if options_done {
            items.push(Item::Operand(word.clone()));
            continue;
        }
        let Some(value) = word.value() else {
            if word.raw.starts_with('-') {
                items.push(Item::Unknown(word.clone()));
            } else {
                items.push(Item::Operand(word.clone()));
                options_done = spec.stop_at_operand;
            }
            continue;
        };
        if value == "--" {
            items.push(Item::DashDash);
            options_done = true;
            continue;
        }
        if let Some(long) = value.strip_prefix("--") {
            let (name, attached) = match long.split_once('=') {
                Some((name, v)) => (name, Some(v)),
                None => (long, None),
            };
            let known = spec.long_valued.contains(&name)
                || spec.short_long.iter().any(|(_, l)| *l == name)
                || spec.longs.contains(&name);
            if !known || !word.raw.starts_with("--") || word.raw.contains(['\'', '"', '\\']) {
                items.push(Item::Unknown(word.clone()));
                continue;
            }
            let value = match attached {
                Some(v) => Some((true, Word::plain(v))),
                None if spec.long_valued.contains(&name) => match args.get(i) {
                    Some(next) => {
                        i += 1;
                        Some((false, next.clone()))
                    }
                    None => {
                        items.push(Item::Unknown(word.clone()));
                        continue;
                    }
                },
                None => None,
            };
            if attached.is_some() && (!spec.long_valued.contains(&name) || !is_plain(attached)) {
                items.push(Item::Unknown(word.clone()));
                continue;
            }
            items.push(Item::Long {
                name: name.to_string(),
                value,
            });
            continue;
        }
        if value.len() > 1 && value.starts_with('-') && word.raw == value {
            match parse_cluster(spec, &value[1..], args.get(i)) {
                Some((item, used_next)) => {
                    if used_next {
                        i += 1;
                    }
                    items.push(item);
                }
                None => items.push(Item::Unknown(word.clone())),
            }
            continue;
        }
        if value.starts_with('-') && value.len() > 1 {
            items.push(Item::Unknown(word.clone()));
            continue;
        }
        items.push(Item::Operand(word.clone()));
        options_done = spec.stop_at_operand;
    }
    items
}

fn is_plain(text: Option<&str>) -> bool {
    text.is_some_and(|t| {
        t.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+,".contains(c))
    })
}

fn parse_cluster(spec: &Spec, letters: &str, next: Option<&Word>) -> Option<(Item, bool)> {
    let mut out = Vec::new();
    for (index, letter) in letters.char_indices() {
        if spec.bools.contains(letter) {
            out.push(letter);
            continue;
        }
        let rest = &letters[index + letter.len_utf8()..];
        if spec.valued.contains(letter) {
            out.push(letter);
            if rest.is_empty() {
                let next = next?.clone();
                return Some((
                    Item::Short {
                        letters: out,
                        value: Some((false, next)),
                    },
                    true,
                ));
            }
            if !is_plain(Some(rest)) {
                return None;
            }
            return Some((
                Item::Short {
                    letters: out,
                    value: Some((true, Word::plain(rest))),
                },
                false,
            ));
        }
        if spec.optional.contains(letter) && rest.is_empty() {
            out.push(letter);
            return Some((
                Item::Short {
                    letters: out,
                    value: None,
                },
                false,
            ));
        }
        return None;
    }
    Some((
        Item::Short {
            letters: out,
            value: None,
        },
        false,
    ))
}

/// Renders parsed items back into words.
pub fn render(spec: &Spec, items: &[Item]) -> Vec<String> {
    let _ = spec;
    let mut out = Vec::new();
    for item in items {
        match item {
            Item::Short { letters, value } => {
                let mut text = String::from("-");
                text.extend(letters);
                match value {
                    Some((true, v)) => {
                        text.push_str(&v.raw);
                        out.push(text);
                    }
                    Some((false, v)) => {
                        out.push(text);
                        out.push(v.raw.clone());
                    }
                    None => out.push(text),
                }
            }
            Item::Long { name, value } => match value {
                Some((true, v)) => out.push(format!("--{name}={}", v.raw)),
                Some((false, v)) => {
                    out.push(format!("--{name}"));
                    out.push(v.raw.clone());
                }
                None => out.push(format!("--{name}")),
            },
            Item::DashDash => out.push("--".into()),
            Item::Operand(w) | Item::Unknown(w) => out.push(w.raw.clone()),
        }
    }
    out
}

/// Every option rewrite of `items`, each as a new argument list and the rewrite's name.
pub fn rewrites(spec: &Spec, items: &[Item]) -> Vec<(&'static str, Vec<Item>)> {
    let mut out: Vec<(&'static str, Vec<Item>)> = Vec::new();
    // Split clusters: `-rf` → `-r -f`.
    if items
        .iter()
        .any(|i| matches!(i, Item::Short { letters, .. } if letters.len() > 1))
    {
        let mut split = Vec::new();
        for item in items {
            match item {
                Item::Short { letters, value } if letters.len() > 1 => {
                    for (n, letter) in letters.iter().enumerate() {
                        let last = n + 1 == letters.len();
                        split.push(Item::Short {
                            letters: vec![*letter],
                            value: if last { value.clone() } else { None },
                        });
                    }
                }
                other => split.push(other.clone()),
            }
        }
        out.push(("opt-split", split));
        // Reorder the boolean letters: `-rf` → `-fr`.
        let reordered: Vec<Item> = items
            .iter()
            .map(|item| match item {
                Item::Short { letters, value } if letters.len() > 1 => {
                    let keep_last = value.is_some()
                        || letters.last().is_some_and(|l| spec.optional.contains(*l));
                    let mut letters = letters.clone();
                    let tail = if keep_last { letters.pop() } else { None };
                    letters.reverse();
                    letters.extend(tail);
                    Item::Short {
                        letters,
                        value: value.clone(),
                    }
                }
                other => other.clone(),
            })
            .collect();
        if reordered != items {
            out.push(("opt-reorder", reordered));
        }
    }
    // Merge adjacent single boolean letters: `-r -f` → `-rf`.
    let mut merged: Vec<Item> = Vec::new();
    let mut did_merge = false;
    for item in items {
        let mergeable = matches!(
            merged.last(),
            Some(Item::Short { letters, value: None })
                if !letters.iter().any(|l| spec.optional.contains(*l))
        );
        if let (
            true,
            Some(Item::Short {
                letters: previous, ..
            }),
            Item::Short { letters, value },
        ) = (mergeable, merged.last_mut(), item)
        {
            previous.extend(letters.iter().copied());
            if value.is_some() {
                if let Some(Item::Short { value: slot, .. }) = merged.last_mut() {
                    *slot = value.clone();
                }
            }
            did_merge = true;
            continue;
        }
        merged.push(item.clone());
    }
    if did_merge {
        out.push(("opt-merge", merged));
    }
    // Attach or detach short values: `-d @x` ↔ `-d@x`.
    if items
        .iter()
        .any(|i| matches!(i, Item::Short { value: Some((_, v)), .. } if !v.raw.is_empty() && !v.raw.starts_with('-')))
    {
        let toggled = items
            .iter()
            .map(|item| match item {
                Item::Short {
                    letters,
                    value: Some((attached, v)),
                } if !v.raw.is_empty() && !v.raw.starts_with('-') => Item::Short {
                    letters: letters.clone(),
                    value: Some((!attached, v.clone())),
                },
                other => other.clone(),
            })
            .collect();
        out.push(("opt-attach", toggled));
    }
    // Short → long: `-rf` → `--recursive --force`, `-d @x` → `--data @x`.
    let long = to_long(spec, items);
    if let Some(long) = &long {
        out.push(("opt-long", long.clone()));
        if spec.long_eq {
            out.push(("opt-long-eq", toggle_long_eq(spec, long, Some(true))));
        }
        if spec.abbreviate {
            for (name, abbreviated) in abbreviations(spec, long) {
                out.push((name, abbreviated));
            }
        }
    }
    // Long → short: `--force` → `-f`.
    let short: Vec<Item> = items
        .iter()
        .map(|item| match item {
            Item::Long { name, value } => match spec.short_long.iter().find(|(_, l)| l == name) {
                Some((letter, _))
                    if value.is_none() != spec.valued.contains(*letter)
                        && (value.is_some() || spec.bools.contains(*letter)) =>
                {
                    Item::Short {
                        letters: vec![*letter],
                        value: value.clone().map(|(_, v)| (false, v)),
                    }
                }
                _ => item.clone(),
            },
            other => other.clone(),
        })
        .collect();
    if short != items {
        out.push(("opt-short", short));
    }
    // `--opt=v` ↔ `--opt v`.
    if spec.long_eq
        && items
            .iter()
            .any(|i| matches!(i, Item::Long { value: Some(_), .. }))
    {
        out.push(("opt-long-eq", toggle_long_eq(spec, items, None)));
    }
    if spec.abbreviate && items.iter().any(|i| matches!(i, Item::Long { .. })) {
        for (name, abbreviated) in abbreviations(spec, items) {
            out.push((name, abbreviated));
        }
    }
    // `--` before the first operand.
    if spec.dashdash {
        if let Some(first) = items.iter().position(|i| matches!(i, Item::Operand(_))) {
            let safe = !items
                .iter()
                .any(|i| matches!(i, Item::DashDash | Item::Unknown(_)))
                && items[first..].iter().all(|i| match i {
                    Item::Operand(w) => !w.raw.starts_with('-'),
                    _ => false,
                });
            if safe {
                let mut with = items.to_vec();
                with.insert(first, Item::DashDash);
                out.push(("opt-dashdash", with));
            }
        }
    }
    out
}

fn to_long(spec: &Spec, items: &[Item]) -> Option<Vec<Item>> {
    let mut changed = false;
    let mut out = Vec::new();
    for item in items {
        match item {
            Item::Short { letters, value } => {
                let longs: Option<Vec<&str>> = letters
                    .iter()
                    .map(|l| {
                        spec.short_long
                            .iter()
                            .find(|(s, _)| s == l)
                            .map(|(_, n)| *n)
                    })
                    .collect();
                let Some(longs) = longs else {
                    out.push(item.clone());
                    continue;
                };
                changed = true;
                let count = longs.len();
                for (n, name) in longs.into_iter().enumerate() {
                    let value = if n + 1 == count {
                        value.clone().map(|(_, v)| (false, v))
                    } else {
                        None
                    };
                    // A value that starts with `-` could be read as an option: keep it glued.
                    if let Some((_, v)) = &value {
                        if v.raw.starts_with('-') && !spec.long_eq {
                            return None;
                        }
                    }
                    let value = value.map(|(eq, v)| (eq || v.raw.starts_with('-'), v));
                    if value.as_ref().is_some_and(|(eq, _)| *eq) && !spec.long_eq {
                        return None;
                    }
                    out.push(Item::Long {
                        name: name.to_string(),
                        value,
                    });
                }
            }
            other => out.push(other.clone()),
        }
    }
    changed.then_some(out)
}

fn toggle_long_eq(spec: &Spec, items: &[Item], force: Option<bool>) -> Vec<Item> {
    items
        .iter()
        .map(|item| match item {
            Item::Long {
                name,
                value: Some((eq, v)),
            } if spec.long_valued.contains(&name.as_str()) => {
                let eq = force.unwrap_or(!eq) || v.raw.starts_with('-') || v.raw.is_empty();
                Item::Long {
                    name: name.clone(),
                    value: Some((eq, v.clone())),
                }
            }
            other => other.clone(),
        })
        .collect()
}

/// The shortest unique prefix of every long option, and one halfway to the full name.
fn abbreviations(spec: &Spec, items: &[Item]) -> Vec<(&'static str, Vec<Item>)> {
    if spec.longs.is_empty() {
        return Vec::new();
    }
    let shortest = |name: &str| -> Option<usize> {
        (1..name.len()).find(|&n| {
            let prefix = &name[..n];
            spec.longs
                .iter()
                .filter(|l| l.starts_with(prefix))
                .all(|l| *l == name)
        })
    };
    let mut out = Vec::new();
    for (label, pick) in [("opt-abbrev-min", 0usize), ("opt-abbrev-mid", 1usize)] {
        let mut changed = false;
        let abbreviated: Vec<Item> = items
            .iter()
            .map(|item| match item {
                Item::Long { name, value } if spec.longs.contains(&name.as_str()) => {
                    match shortest(name) {
                        Some(min) => {
                            let len = if pick == 0 {
                                min.max(2)
                            } else {
                                (min + name.len()).div_ceil(2)
                            };
                            if len >= name.len() {
                                return item.clone();
                            }
                            changed = true;
                            Item::Long {
                                name: name[..len].to_string(),
                                value: value.clone(),
                            }
                        }
                        None => item.clone(),
                    }
                }
                other => other.clone(),
            })
            .collect();
        if changed && !out.iter().any(|(_, a)| *a == abbreviated) {
            out.push((label, abbreviated));
        }
    }
    out
}

/// The operands of parsed items that are file paths, by index into `items`.
pub fn path_operand_indices(spec: &Spec, items: &[Item]) -> Vec<usize> {
    let Some(skip) = spec.path_operands else {
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter(|(_, i)| matches!(i, Item::Operand(_)))
        .map(|(n, _)| n)
        .skip(skip)
        .collect()
}

/// A word from text written by the generator.
pub fn word(text: &str) -> Word {
    Word {
        raw: shell_word(text),
        value: Some(text.to_string()),
        glob: false,
        tilde: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::lex::lex;

    fn all(line: &str) -> Vec<String> {
        let lexed = lex(line).unwrap();
        let words = &lexed.segments[0].words;
        let (spec, take) = spec_for(words).unwrap();
        let items = parse(spec, &words[take..]);
        let head: Vec<String> = words[..take].iter().map(|w| w.raw.clone()).collect();
        rewrites(spec, &items)
            .into_iter()
            .map(|(_, items)| {
                let mut parts = head.clone();
                parts.extend(render(spec, &items));
                parts.join(" ")
            })
            .collect()
    }

    #[test]
    fn rm_clusters_longs_and_abbreviations() {
        let out = all("rm -rf /tmp/x");
        for expected in [
            "rm -r -f /tmp/x",
            "rm -fr /tmp/x",
            "rm --recursive --force /tmp/x",
            "rm --re --fo /tmp/x",
            "rm -rf -- /tmp/x",
        ] {
            assert!(out.contains(&expected.to_string()), "{expected} in {out:?}");
        }
        let out = all("rm -r -f x");
        assert!(out.contains(&"rm -rf x".to_string()), "{out:?}");
    }

    #[test]
    fn values_attach_and_detach() {
        let out = all("curl -X POST -d @x https://e.example");
        assert!(
            out.contains(&"curl -XPOST -d@x https://e.example".to_string()),
            "{out:?}"
        );
        assert!(
            out.contains(&"curl --request POST --data @x https://e.example".to_string()),
            "{out:?}"
        );
        assert!(
            !out.iter().any(|o| o.contains("--data=")),
            "curl has no `=`: {out:?}"
        );
        let out = all("env -uPATH git reset --hard");
        assert!(
            out.contains(&"env -u PATH git reset --hard".to_string()),
            "{out:?}"
        );
        assert!(
            out.contains(&"env --unset=PATH git reset --hard".to_string()),
            "{out:?}"
        );
        assert!(
            out.contains(&"env --unset PATH git reset --hard".to_string()),
            "{out:?}"
        );
    }

    #[test]
    fn unknown_words_stop_the_dashdash() {
        let out = all("chmod -x file");
        assert!(out.iter().all(|o| !o.contains("--")), "{out:?}");
        let out = all("git reset --hard origin/main");
        assert!(
            out.contains(&"git reset --ha origin/main".to_string()),
            "{out:?}"
        );
        assert!(!out.iter().any(|o| o.contains(" -- ")), "{out:?}");
    }

    #[test]
    fn stops_at_the_command_of_a_wrapper() {
        let lexed = lex("xargs -n1 rm -rf").unwrap();
        let words = &lexed.segments[0].words;
        let (spec, take) = spec_for(words).unwrap();
        let items = parse(spec, &words[take..]);
        assert!(matches!(items[1], Item::Operand(_)));
        assert!(matches!(items[2], Item::Operand(_)));
    }

    #[test]
    fn sed_in_place_is_never_clustered_with_a_suffix() {
        let out = all("sed -i 's/old/new/g' file.txt");
        assert!(
            out.contains(&"sed --in-place 's/old/new/g' file.txt".to_string()),
            "{out:?}"
        );
        assert!(
            out.contains(&"sed --in 's/old/new/g' file.txt".to_string()),
            "{out:?}"
        );
    }
}
