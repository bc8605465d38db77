//! `sed`: the script is read, not trusted. Its `e` command and `s///e` flag run commands, its
//! `w`/`W` commands and `s///w` flag write files, `r`/`R` read them; `-i` rewrites the files
//! it is given. A script the reader cannot follow is opaque.

use preflight_core::Operation;

use super::spec::{Spec, Style, flag, optional, value};
use super::{Call, Program, Unaccounted, Word};

pub(super) const PROGRAMS: &[Program] = &[Program {
    names: &["sed", "gsed"],
    model: sed,
}];

pub(super) const SPEC: Spec = Spec {
    opts: &[
        flag("help", "", &["help", "version"]),
        flag(
            "flag",
            "nrEsuz",
            &[
                "quiet",
                "silent",
                "regexp-extended",
                "separate",
                "unbuffered",
                "null-data",
                "debug",
                "posix",
                "sandbox",
                "follow-symlinks",
            ],
        ),
        value("expression", "e", &["expression"]),
        value("file", "f", &["file"]),
        optional("in_place", "i", &["in-place"]),
        value("value", "l", &["line-length"]),
    ],
    style: Style::Gnu,
};

fn sed(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let parsed = SPEC.scan(call.args)?;
    let mut scripts: Vec<Word> = parsed.values("expression").cloned().collect();
    for file in parsed.values("file").cloned().collect::<Vec<_>>() {
        call.push_file(Operation::Read, &file, false, false);
        // The script is in a file the inspector does not read.
        call.opaque_exec("a sed script read from a file");
    }
    let mut operands = parsed.operands.clone();
    if scripts.is_empty() && !parsed.has("file") {
        if operands.is_empty() {
            return Err(Unaccounted("no script".into()));
        }
        scripts.push(operands.remove(0));
    }
    for script in &scripts {
        if script.dynamic {
            return Err(Unaccounted("a script only known at run time".into()));
        }
        let effects = script_effects(&script.text)?;
        for (operation, path) in effects {
            call.push_file(operation, &Word::literal(&path), false, false);
        }
    }
    let operation = if parsed.has("in_place") {
        Operation::Update
    } else {
        Operation::Read
    };
    for word in &operands {
        if word.text != "-" {
            call.push_file(operation, word, false, false);
        }
    }
    Ok(())
}

/// The files a sed script reads or writes; `Err` when it runs commands or cannot be followed.
pub(crate) fn script_effects(script: &str) -> Result<Vec<(Operation, String)>, Unaccounted> {
    let mut effects = Vec::new();
    let chars: Vec<char> = script.chars().collect();
    let mut i = 0;
    let rest_of_line = |i: &mut usize| -> String {
        let start = *i;
        while *i < chars.len() && chars[*i] != '\n' {
            *i += 1;
        }
        chars[start..*i]
            .iter()
            .collect::<String>()
            .trim()
            .to_string()
    };
    while i < chars.len() {
        let c = chars[i];
        // Addresses: numbers, `$`, `/re/`, `\cREc`, `first~step`, `addr1,+N`, `!`.
        match c {
            ' ' | '\t' | '\n' | ';' | '!' | ',' | '$' | '~' | '+' | '{' | '}' => {
                i += 1;
                continue;
            }
            '0'..='9' => {
                i += 1;
                continue;
            }
            '/' | '\\' => {
                let delimiter = if c == '\\' {
                    i += 1;
                    *chars
                        .get(i)
                        .ok_or_else(|| Unaccounted("unfinished address".into()))?
                } else {
                    '/'
                };
                i = skip_delimited(&chars, i + 1, delimiter)? + 1;
                while i < chars.len() && matches!(chars[i], 'I' | 'M') {
                    i += 1;
                }
                continue;
            }
            '#' | ':' => {
                // Comments and labels run to the end of the line.
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            'b' | 't' | 'T' => {
                // A branch's label runs to `;` or the end of the line.
                while i < chars.len() && !matches!(chars[i], '\n' | ';') {
                    i += 1;
                }
                continue;
            }
            '=' | 'd' | 'D' | 'g' | 'G' | 'h' | 'H' | 'l' | 'n' | 'N' | 'p' | 'P' | 'x' | 'z'
            | 'F' | 'q' | 'Q' | 'L' => {
                i += 1;
                // `q`/`Q`/`l`/`L` may take a number.
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                continue;
            }
            'a' | 'i' | 'c' => {
                // Text to the end of the line (with `\` continuations).
                i += 1;
                while i < chars.len() && chars[i] != '\n' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                continue;
            }
            'r' | 'R' => {
                i += 1;
                let path = rest_of_line(&mut i);
                effects.push((Operation::Read, path));
                continue;
            }
            'w' | 'W' => {
                i += 1;
                let path = rest_of_line(&mut i);
                effects.push((Operation::Update, path));
                continue;
            }
            'e' => {
                return Err(Unaccounted(
                    "the script's `e` command runs a command".into(),
                ));
            }
            'v' => {
                i += 1;
                while i < chars.len() && !matches!(chars[i], ';' | '\n') {
                    i += 1;
                }
                continue;
            }
            's' | 'y' => {
                let delimiter = *chars
                    .get(i + 1)
                    .ok_or_else(|| Unaccounted("unfinished command".into()))?;
                if delimiter == '\n' || delimiter == '\\' {
                    return Err(Unaccounted("an unusual delimiter".into()));
                }
                i = skip_delimited(&chars, i + 2, delimiter)?;
                i = skip_delimited(&chars, i + 1, delimiter)? + 1;
                if c == 'y' {
                    continue;
                }
                // Flags.
                while i < chars.len() {
                    match chars[i] {
                        'g' | 'p' | 'i' | 'I' | 'm' | 'M' | '0'..='9' => i += 1,
                        'e' => {
                            return Err(Unaccounted("the `e` flag runs the pattern space".into()));
                        }
                        'w' => {
                            i += 1;
                            let path = rest_of_line(&mut i);
                            effects.push((Operation::Update, path));
                            break;
                        }
                        _ => break,
                    }
                }
                continue;
            }
            other => {
                return Err(Unaccounted(format!(
                    "sed command `{other}` is not modelled"
                )));
            }
        }
    }
    Ok(effects)
}

fn skip_delimited(chars: &[char], mut i: usize, delimiter: char) -> Result<usize, Unaccounted> {
    while i < chars.len() {
        if chars[i] == '\\' {
            i += 2;
            continue;
        }
        if chars[i] == delimiter {
            return Ok(i);
        }
        i += 1;
    }
    Err(Unaccounted("unfinished expression".into()))
}

#[cfg(test)]
mod tests {
    use super::script_effects;
    use crate::programs::tests::{effects_of, has, is_opaque};

    #[test]
    fn scripts() {
        assert!(script_effects("s/a/b/g").unwrap().is_empty());
        assert!(script_effects("1,/x/d;$p").unwrap().is_empty());
        assert!(script_effects("1e rm -rf /").is_err());
        assert!(script_effects("s/x/rm -rf \\//e").is_err());
        assert_eq!(script_effects("w /home/alice/.bashrc").unwrap().len(), 1);
        assert_eq!(script_effects("s/a/b/w /tmp/out").unwrap().len(), 1);
    }

    #[test]
    fn commands() {
        let e = effects_of("sed -n '1e rm -rf /home/alice' f");
        assert!(is_opaque(&e, "cmd://sed"), "{e:?}");
        let e = effects_of("sed -i 's/a/b/' src/main.rs");
        assert!(has(&e, "update file:///workspace/app/src/main.rs"), "{e:?}");
        let e = effects_of("sed -i.bak -e 's/a/b/' src/main.rs");
        assert!(has(&e, "update file:///workspace/app/src/main.rs"), "{e:?}");
    }
}
