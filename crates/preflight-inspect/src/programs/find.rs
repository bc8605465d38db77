//! `find`: starting points, then an expression. Every primary is known with the number of
//! words it takes; an unknown one makes the command opaque. Actions act on everything below
//! the starting points: `-delete` deletes there, `-exec`/`-execdir`/`-ok` run their command
//! once with `{}` standing for any path below, `-fprint`/`-fls` write a file.

use preflight_core::Operation;

use super::{Call, Program, Unaccounted, Word};
use crate::paths::is_sweeping;

pub(super) const PROGRAMS: &[Program] = &[Program {
    names: &["find"],
    model: find,
}];

/// Primaries taking no word.
const NULLARY: &[&str] = &[
    "-print",
    "-print0",
    "-ls",
    "-prune",
    "-quit",
    "-follow",
    "-xdev",
    "-mount",
    "-depth",
    "-true",
    "-false",
    "-empty",
    "-readable",
    "-writable",
    "-executable",
    "-nouser",
    "-nogroup",
    "-daystart",
    "-noleaf",
    "-ignore_readdir_race",
    "-noignore_readdir_race",
    "-not",
    "!",
    "(",
    ")",
    "-a",
    "-and",
    "-o",
    "-or",
    ",",
    "-d",
    "-help",
    "--help",
    "-version",
    "--version",
];

/// Primaries taking one word that is not a path read or written.
const UNARY: &[&str] = &[
    "-name",
    "-iname",
    "-path",
    "-ipath",
    "-wholename",
    "-iwholename",
    "-regex",
    "-iregex",
    "-type",
    "-xtype",
    "-size",
    "-mtime",
    "-mmin",
    "-atime",
    "-amin",
    "-ctime",
    "-cmin",
    "-perm",
    "-user",
    "-group",
    "-uid",
    "-gid",
    "-maxdepth",
    "-mindepth",
    "-links",
    "-inum",
    "-lname",
    "-ilname",
    "-fstype",
    "-regextype",
    "-used",
    "-printf",
    "-context",
];

/// Primaries taking a file that is read.
const READS: &[&str] = &["-newer", "-anewer", "-cnewer", "-samefile", "-files0-from"];

fn find(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let args = call.args.to_vec();
    let mut i = 0;
    // Global options before the starting points.
    while let Some(word) = args.get(i) {
        match word.text.as_str() {
            "-H" | "-L" | "-P" => i += 1,
            "-D" => i += 2,
            text if text.starts_with("-O") => i += 1,
            _ => break,
        }
    }
    let mut starts: Vec<Word> = Vec::new();
    while let Some(word) = args.get(i) {
        if word.may_be_option() {
            return Err(Unaccounted(format!("`{}` may be a primary", word.text)));
        }
        if word.text.starts_with('-') || word.text == "(" || word.text == "!" {
            break;
        }
        starts.push(word.clone());
        i += 1;
    }
    if starts.is_empty() {
        starts.push(Word::literal("."));
    }
    // What `{}` stands for: any path below a starting point, computed once; past a few
    // starting points, any path at all, so the work stays linear in the words.
    let replacements: Vec<String> = if starts.len() <= 8 {
        starts
            .iter()
            .map(|start| {
                let base = call.path(start);
                if base == "/" {
                    "/**".to_string()
                } else {
                    format!("{base}/**")
                }
            })
            .collect()
    } else {
        vec!["/**".to_string()]
    };
    let mut acted = false;
    while i < args.len() {
        let word = &args[i];
        let text = word.text.as_str();
        if word.dynamic {
            return Err(Unaccounted(format!("`{text}` is only known at run time")));
        }
        i += 1;
        if NULLARY.contains(&text) {
            continue;
        }
        if UNARY.contains(&text) {
            args.get(i)
                .ok_or_else(|| Unaccounted(format!("`{text}` needs a value")))?;
            i += 1;
            continue;
        }
        if READS.contains(&text) {
            let file = args
                .get(i)
                .ok_or_else(|| Unaccounted(format!("`{text}` needs a file")))?
                .clone();
            call.push_file(Operation::Read, &file, false, false);
            i += 1;
            continue;
        }
        if text.starts_with("-newer") && text.len() == 8 {
            // `-newerXY reference`.
            i += 1;
            continue;
        }
        match text {
            "-delete" => {
                acted = true;
                for start in &starts {
                    let mut effect = call.file(Operation::Delete, start, true, false);
                    if is_sweeping(&call.path(start), call.walker.home.as_deref()) {
                        effect.unbounded = true;
                    }
                    call.push(effect);
                }
            }
            "-exec" | "-execdir" | "-ok" | "-okdir" => {
                acted = true;
                let end = args[i..]
                    .iter()
                    .position(|w| w.text == ";" || w.text == "+")
                    .map(|p| i + p)
                    .ok_or_else(|| Unaccounted(format!("`{text}` without its end")))?;
                let template: Vec<Word> = args[i..end].to_vec();
                if template.is_empty() {
                    return Err(Unaccounted(format!("`{text}` without a command")));
                }
                for replacement in &replacements {
                    let inner: Vec<Word> = template
                        .iter()
                        .map(|w| {
                            if w.text.contains("{}") {
                                Word {
                                    text: w.text.replace("{}", replacement),
                                    dynamic: true,
                                    glob: true,
                                }
                            } else {
                                w.clone()
                            }
                        })
                        .collect();
                    if text == "-execdir" || text == "-okdir" {
                        // Runs in each match's directory: relative paths mean anywhere below.
                        let mut state = call.state.clone();
                        state.cwd = Some(replacement.clone());
                        call.walker.nesting.push(format!("find {text}"));
                        super::dispatch(call.walker, &inner, call.run, &mut state);
                        call.walker.nesting.pop();
                    } else {
                        call.dispatch(&inner, &format!("find {text}"));
                    }
                }
                i = end + 1;
            }
            "-fprint" | "-fprint0" | "-fls" => {
                let file = args
                    .get(i)
                    .ok_or_else(|| Unaccounted(format!("`{text}` needs a file")))?
                    .clone();
                call.push_file(Operation::Update, &file, false, false);
                i += 1;
            }
            "-fprintf" => {
                let file = args
                    .get(i)
                    .ok_or_else(|| Unaccounted("`-fprintf` needs a file".into()))?
                    .clone();
                call.push_file(Operation::Update, &file, false, false);
                i += 2;
            }
            other => return Err(Unaccounted(format!("unknown primary `{other}`"))),
        }
    }
    if i > args.len() {
        return Err(Unaccounted("a primary without its value".into()));
    }
    if !acted {
        for start in &starts {
            call.push_file(Operation::Read, start, true, false);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::programs::tests::{effects_of, has, is_opaque};

    #[test]
    fn expressions() {
        let e = effects_of("find . -name -delete -print");
        assert!(
            !e.iter()
                .any(|e| e.operation == preflight_core::Operation::Delete),
            "{e:?}"
        );
        let e = effects_of("find / -name '*.log' -delete");
        assert!(has(&e, "delete file:/// +recursive +unbounded"), "{e:?}");
        let e = effects_of("find /home/alice -exec rm -rf {} +");
        assert!(has(&e, "delete file:///home/alice/** +recursive"), "{e:?}");
        let e = effects_of("find . -frobnicate");
        assert!(is_opaque(&e, "cmd://find"), "{e:?}");
    }
}
