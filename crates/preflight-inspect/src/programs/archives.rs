//! Archives and compressors: `tar`, `zip`, `unzip`, `gzip` and friends.
//!
//! Extracting writes the whole tree below the target directory (anywhere, with `tar -P`);
//! creating reads the members and writes the archive; options that run a program
//! (`--to-command`, `-I`, `--use-compress-program`, `-F`, `zip -TT`) are opaque;
//! `--remove-files`, `zip -m` and compressing without `-k` delete the originals.

use preflight_core::Operation;

use super::spec::{Spec, Style, flag, optional, value};
use super::{Call, Program, Unaccounted, Word};

pub(super) const PROGRAMS: &[Program] = &[
    Program {
        names: &["tar", "bsdtar"],
        model: tar,
    },
    Program {
        names: &["zip"],
        model: zip,
    },
    Program {
        names: &["unzip"],
        model: unzip,
    },
    Program {
        names: &[
            "gzip", "gunzip", "bzip2", "bunzip2", "xz", "unxz", "zstd", "unzstd", "lz4",
        ],
        model: compressor,
    },
    Program {
        names: &["zcat", "bzcat", "xzcat", "zstdcat"],
        model: decompress_to_stdout,
    },
];

pub(super) const TAR: Spec = Spec {
    opts: &[
        flag("create", "c", &["create"]),
        flag("extract", "x", &["extract", "get"]),
        flag("list", "t", &["list"]),
        flag(
            "append",
            "rAu",
            &["append", "update", "catenate", "concatenate"],
        ),
        flag("delete", "", &["delete"]),
        flag("diff", "d", &["diff", "compare"]),
        value("file", "f", &["file"]),
        value("directory", "C", &["directory"]),
        value("from", "TX", &["files-from", "exclude-from"]),
        flag("absolute", "P", &["absolute-names"]),
        flag("remove", "", &["remove-files"]),
        value("writes", "g", &["listed-incremental"]),
        flag(
            "flag",
            "zjJavpkhmSUWwOBiMGlZ",
            &[
                "gzip",
                "gunzip",
                "bzip2",
                "xz",
                "lzma",
                "zstd",
                "auto-compress",
                "verbose",
                "preserve-permissions",
                "same-permissions",
                "keep-old-files",
                "dereference",
                "touch",
                "sparse",
                "unlink-first",
                "verify",
                "interactive",
                "to-stdout",
                "read-full-records",
                "ignore-zeros",
                "multi-volume",
                "incremental",
                "check-links",
                "no-same-owner",
                "same-owner",
                "numeric-owner",
                "overwrite",
                "skip-old-files",
                "keep-newer-files",
                "wildcards",
                "no-wildcards",
                "anchored",
                "no-anchored",
                "ignore-case",
                "recursion",
                "no-recursion",
                "xattrs",
                "acls",
                "selinux",
                "no-xattrs",
                "show-transformed-names",
                "full-time",
                "utc",
                "null",
                "no-null",
                "unquote",
                "no-unquote",
                "one-file-system",
                "delay-directory-restore",
                "no-overwrite-dir",
                "recursive-unlink",
                "help",
                "version",
                "show-defaults",
                "exclude-vcs",
                "exclude-vcs-ignores",
                "exclude-caches",
                "exclude-backups",
            ],
        ),
        value(
            "value",
            "bHLNV",
            &[
                "blocking-factor",
                "format",
                "tape-length",
                "newer",
                "after-date",
                "label",
                "exclude",
                "strip-components",
                "owner",
                "group",
                "mode",
                "mtime",
                "sort",
                "transform",
                "xform",
                "record-size",
                "newer-mtime",
                "hole-detection",
                "exclude-tag",
                "warning",
            ],
        ),
        optional("optional", "", &["checkpoint", "occurrence", "totals"]),
    ],
    style: Style::Gnu,
};

fn tar(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let mut args: Vec<Word> = call.args.to_vec();
    // Old style: `tar xzf archive` (the first word is a cluster without a dash).
    if let Some(first) = args.first_mut() {
        if !first.text.starts_with('-')
            && !first.dynamic
            && !first.text.is_empty()
            && first.text.chars().all(|c| c.is_ascii_alphabetic())
        {
            first.text = format!("-{}", first.text);
        }
    }
    let parsed = TAR.scan(&args)?;
    let archive = parsed.last("file").cloned();
    let dir = parsed.last("directory").cloned();
    for list in parsed.values("from").cloned().collect::<Vec<_>>() {
        call.push_file(Operation::Read, &list, false, false);
    }
    for file in parsed.values("writes").cloned().collect::<Vec<_>>() {
        call.push_file(Operation::Update, &file, false, false);
    }
    let mut inner = call.state.clone();
    if let Some(dir) = &dir {
        inner.cwd = Some(call.path(dir));
    }
    let archive_stdin = archive.as_ref().is_none_or(|a| a.text == "-");
    if parsed.has("extract") {
        if let Some(a) = archive.as_ref().filter(|_| !archive_stdin) {
            call.push_file(Operation::Read, a, false, false);
        }
        let target = if parsed.has("absolute") {
            Word::unknown()
        } else {
            dir.clone().unwrap_or_else(|| Word::literal("."))
        };
        let effect = call.file(Operation::Update, &target, true, false);
        call.push(effect);
        if parsed.has("absolute") {
            call.opaque_exec("`-P` extracts members to any absolute path");
        }
    } else if parsed.has("create") || parsed.has("append") || parsed.has("delete") {
        for word in &parsed.operands {
            let effect =
                super::file_effect(call.walker, &inner, Operation::Read, word, true, false);
            call.push(effect);
            if parsed.has("remove") {
                let effect =
                    super::file_effect(call.walker, &inner, Operation::Delete, word, true, false);
                call.push(effect);
            }
        }
        if let Some(a) = archive.filter(|_| !archive_stdin) {
            let operation = if parsed.has("create") {
                Operation::Create
            } else {
                Operation::Update
            };
            call.push_file(operation, &a, false, false);
            call.push_file(Operation::Update, &a, false, false);
        }
    } else if let Some(a) = archive.filter(|_| !archive_stdin) {
        call.push_file(Operation::Read, &a, false, false);
    }
    Ok(())
}

fn zip(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    const SPEC: Spec = Spec {
        opts: &[
            flag("recursive", "r", &["recurse-paths"]),
            flag("move", "m", &["move"]),
            flag("delete", "d", &["delete"]),
            flag(
                "flag",
                "qvjDXyuUfFTgAloJkS0123456789",
                &[
                    "quiet",
                    "verbose",
                    "junk-paths",
                    "symlinks",
                    "test",
                    "grow",
                    "update",
                    "freshen",
                ],
            ),
            value(
                "value",
                "xinbPtZ",
                &["exclude", "include", "password", "compression-method"],
            ),
        ],
        style: Style::Gnu,
    };
    if call
        .args
        .iter()
        .any(|w| w.text == "-TT" || w.text.starts_with("--unzip-command"))
    {
        return Err(Unaccounted("`-TT` runs a program".into()));
    }
    let parsed = SPEC.scan(call.args)?;
    let mut operands = parsed.operands.iter();
    let Some(archive) = operands.next().cloned() else {
        return Ok(());
    };
    call.push_file(Operation::Update, &archive, false, false);
    let recursive = parsed.has("recursive");
    for word in operands.cloned().collect::<Vec<_>>() {
        call.push_file(Operation::Read, &word, recursive, false);
        if parsed.has("move") {
            call.push_file(Operation::Delete, &word, recursive, false);
        }
    }
    Ok(())
}

fn unzip(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    const SPEC: Spec = Spec {
        opts: &[
            value("dir", "d", &[]),
            flag("list", "lZtvz", &[]),
            flag("pipe", "pc", &[]),
            flag("overwrite", "o", &[]),
            flag("flag", "nqjaCLUVXKMTb", &[]),
            value("password", "P", &[]),
        ],
        style: Style::Posix,
    };
    let args: Vec<Word> = call.args.to_vec();
    // `-x` starts a list of members to exclude.
    let cut = args
        .iter()
        .position(|w| w.text == "-x")
        .unwrap_or(args.len());
    let parsed = SPEC.scan(&args[..cut])?;
    let Some(archive) = parsed.operands.first().cloned() else {
        return Ok(());
    };
    call.push_file(Operation::Read, &archive, false, false);
    if parsed.has("list") || parsed.has("pipe") {
        return Ok(());
    }
    let dir = parsed
        .last("dir")
        .cloned()
        .unwrap_or_else(|| Word::literal("."));
    let effect = call.file(Operation::Update, &dir, true, parsed.has("overwrite"));
    call.push(effect);
    Ok(())
}

fn compressor(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    const SPEC: Spec = Spec {
        opts: &[
            flag("stdout", "c", &["stdout", "to-stdout"]),
            flag("keep", "k", &["keep"]),
            flag("test", "tl", &["test", "list"]),
            flag("decompress", "d", &["decompress", "uncompress"]),
            flag("recursive", "r", &["recursive"]),
            flag("force", "f", &["force"]),
            flag(
                "flag",
                "nNqvV0123456789e",
                &[
                    "no-name",
                    "name",
                    "quiet",
                    "verbose",
                    "best",
                    "fast",
                    "rsyncable",
                    "synchronous",
                    "help",
                    "version",
                ],
            ),
            value("value", "ST", &["suffix", "threads"]),
        ],
        style: Style::Gnu,
    };
    let parsed = SPEC.scan(call.args)?;
    if parsed.has("test") {
        for word in parsed.operands.clone() {
            call.push_file(Operation::Read, &word, false, false);
        }
        return Ok(());
    }
    let recursive = parsed.has("recursive");
    let forced = parsed.has("force");
    for word in parsed.operands.clone() {
        if word.text == "-" {
            continue;
        }
        call.push_file(Operation::Read, &word, recursive, forced);
        if !parsed.has("stdout") {
            // Writes FILE.gz (or FILE) beside it, and removes the original unless kept.
            let sibling =
                word.with_text(&format!("{}*", word.text.trim_end_matches(['.', 'g', 'z'])));
            let mut sibling = sibling;
            sibling.glob = true;
            call.push_file(Operation::Update, &sibling, recursive, forced);
            if !parsed.has("keep") {
                call.push_file(Operation::Delete, &word, recursive, forced);
            }
        }
    }
    Ok(())
}

fn decompress_to_stdout(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    const SPEC: Spec = Spec {
        opts: &[flag(
            "flag",
            "fqvhV",
            &["force", "quiet", "verbose", "help", "version"],
        )],
        style: Style::Gnu,
    };
    let parsed = SPEC.scan(call.args)?;
    for word in parsed.operands.clone() {
        call.push_file(Operation::Read, &word, false, false);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::programs::tests::{effects_of, has, is_opaque};

    #[test]
    fn archives() {
        let e = effects_of("tar xzf a.tgz -C /home/alice");
        assert!(has(&e, "update file:///home/alice +recursive"), "{e:?}");
        let e = effects_of("tar -czf /tmp/a.tgz src --remove-files");
        assert!(
            has(&e, "delete file:///workspace/app/src +recursive"),
            "{e:?}"
        );
        let e = effects_of("tar --to-command=sh -xf a.tar");
        assert!(is_opaque(&e, "cmd://tar"), "{e:?}");
        let e = effects_of("gzip notes.txt");
        assert!(has(&e, "delete file:///workspace/app/notes.txt"), "{e:?}");
    }
}
