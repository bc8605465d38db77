//! Coreutils and the everyday file tools: one row per program, its whole option spec, and
//! what it does to its operands.
//!
//! | role | programs |
//! |---|---|
//! | delete operands | `rm`, `rmdir`, `unlink`, `shred` |
//! | sources → destination | `cp`, `mv`, `ln`, `install` |
//! | create or change operands | `mkdir`, `touch`, `tee`, `truncate`, `chmod`, `chown`, `chgrp` |
//! | read operands | `cat`, `head`, `tail`, `wc`, `ls`, `grep`, `rg`, `sort`, `cut`, `diff`, … |
//! | no file effect | `echo`, `printf`, `true`, `test`, `basename`, `sleep`, `date`, … |
//!
//! Options that write (`sort -o`, `uniq IN OUT`, `tee`), read (`grep -f`, `wc --files0-from`)
//! or run a program (`sort --compress-program`, `rg --pre`) are part of each model; an option
//! outside the spec makes the command opaque.

use preflight_core::Operation;

use super::spec::{Opt, Spec, Style, flag, optional, value};
use super::{Call, Program, Unaccounted, Word};
use crate::shell::Stdin;

pub(super) const PROGRAMS: &[Program] = &[
    Program {
        names: &[
            "rm", "rmdir", "unlink", "shred", "cp", "mv", "ln", "install", "mkdir", "touch", "tee",
            "truncate", "chmod", "chown", "chgrp", "cat", "tac", "head", "tail", "wc", "ls", "dir",
            "grep", "egrep", "fgrep", "rg", "sort", "uniq", "cut", "diff", "cmp", "stat", "file",
            "md5sum", "sha1sum", "sha256sum", "sha512sum", "cksum", "b2sum", "base64", "nl",
            "realpath", "readlink", "du", "df", "tr", "mkfifo", "od", "xxd", "hexdump", "strings",
            "less", "more", "tree", "paste", "comm", "fold", "rev", "column", "jq",
        ],
        model: file_tool,
    },
    Program {
        names: &[
            "true", "false", "test", "[", "basename", "dirname", "sleep", "whoami", "id", "uname",
            "seq", "yes", "expr", "nproc", "tty", "arch", "logname", "groups", "printenv",
            "uptime", "free", "ps", "pwd", "tput", "clear", "locale", "getconf", "jobs", "help",
            "wait", "exit", "return", "shift", "which", "type", "whereis", "hash", ":", "times",
        ],
        model: harmless,
    },
    Program {
        names: &["echo"],
        model: echo,
    },
    Program {
        names: &["printf"],
        model: printf,
    },
    Program {
        names: &["date"],
        model: date,
    },
    Program {
        names: &["cd", "pushd", "popd"],
        model: cd,
    },
    Program {
        names: &["export", "declare", "typeset", "local", "readonly", "unset", "read", "set"],
        model: variables,
    },
    Program {
        names: &["trap"],
        model: trap,
    },
    Program {
        names: &["mktemp"],
        model: mktemp,
    },
];

/// What a file tool does with its operands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Every operand receives the operation.
    Operands(Operation),
    /// The first operand is not a path (a mode, a pattern, a set); the rest receive it.
    SkipFirst(Operation),
    /// All operands but the last are sources (first); the last, or `-t DIR`, is the
    /// destination (second).
    SourcesDest(Operation, Operation),
    /// `INPUT [OUTPUT]`: the first is read, the second written.
    InOut,
    /// No operand is a path.
    NoPaths,
}

/// One file tool.
struct Tool {
    names: &'static [&'static str],
    spec: Spec,
    role: Role,
    /// Keys meaning recursive.
    recursive: &'static [&'static str],
    /// Keys meaning forced.
    forced: &'static [&'static str],
    /// Keys whose value is a file written.
    writes: &'static [&'static str],
    /// Keys whose value is a file read.
    reads: &'static [&'static str],
    /// Keys meaning the first operand is a path after all (`grep -e PAT`, `chmod --reference`).
    no_skip: &'static [&'static str],
    /// Keys turning the operation into `update`.
    updates: &'static [&'static str],
    /// Without operands it reads the working directory.
    default_cwd: bool,
}

const TOOL: Tool = Tool {
    names: &[],
    spec: Spec {
        opts: &[],
        style: Style::Gnu,
    },
    role: Role::Operands(Operation::Read),
    recursive: &[],
    forced: &[],
    writes: &[],
    reads: &[],
    no_skip: &[],
    updates: &[],
    default_cwd: false,
};

const fn gnu(opts: &'static [Opt]) -> Spec {
    Spec {
        opts,
        style: Style::Gnu,
    }
}

const HELP: Opt = flag("help", "", &["help", "version"]);
const VERBOSE: Opt = flag("verbose", "v", &["verbose"]);
const BACKUP: [Opt; 3] = [
    optional("backup", "", &["backup"]),
    flag("backup", "b", &[]),
    value("suffix", "S", &["suffix"]),
];

const TOOLS: &[Tool] = &[
    Tool {
        names: &["rm"],
        spec: gnu(&[
            HELP,
            VERBOSE,
            flag("force", "f", &["force"]),
            flag("interactive", "iI", &[]),
            optional("interactive", "", &["interactive"]),
            flag("fs", "", &["one-file-system", "no-preserve-root"]),
            optional("preserve", "", &["preserve-root"]),
            flag("recursive", "rR", &["recursive"]),
            flag("dir", "d", &["dir"]),
        ]),
        role: Role::Operands(Operation::Delete),
        recursive: &["recursive"],
        forced: &["force"],
        ..TOOL
    },
    Tool {
        names: &["rmdir"],
        spec: gnu(&[
            HELP,
            VERBOSE,
            flag("ignore", "", &["ignore-fail-on-non-empty"]),
            flag("parents", "p", &["parents"]),
        ]),
        role: Role::Operands(Operation::Delete),
        ..TOOL
    },
    Tool {
        names: &["unlink"],
        spec: gnu(&[HELP]),
        role: Role::Operands(Operation::Delete),
        ..TOOL
    },
    Tool {
        names: &["shred"],
        spec: gnu(&[
            HELP,
            VERBOSE,
            flag("force", "f", &["force"]),
            value("iterations", "n", &["iterations"]),
            value("random", "", &["random-source"]),
            value("size", "s", &["size"]),
            flag("remove", "u", &[]),
            optional("remove", "", &["remove"]),
            flag("exact", "x", &["exact"]),
            flag("zero", "z", &["zero"]),
        ]),
        role: Role::Operands(Operation::Delete),
        forced: &["force"],
        reads: &["random"],
        ..TOOL
    },
    Tool {
        names: &["cp"],
        spec: gnu(&[
            HELP,
            VERBOSE,
            BACKUP[0],
            BACKUP[1],
            BACKUP[2],
            flag("archive", "a", &["archive"]),
            flag("flag", "dHlLnPpsTxZ", &[
                "attributes-only",
                "copy-contents",
                "link",
                "dereference",
                "no-clobber",
                "no-dereference",
                "parents",
                "strip-trailing-slashes",
                "symbolic-link",
                "no-target-directory",
                "one-file-system",
                "debug",
                "keep-directory-symlink",
            ]),
            flag("force", "f", &["force", "remove-destination"]),
            flag("interactive", "i", &["interactive"]),
            optional("preserve", "", &["preserve", "reflink", "context"]),
            value("no-preserve", "", &["no-preserve", "sparse"]),
            flag("recursive", "rR", &["recursive"]),
            value("target", "t", &["target-directory"]),
            flag("update", "u", &[]),
            optional("update", "", &["update"]),
        ]),
        role: Role::SourcesDest(Operation::Read, Operation::Create),
        recursive: &["recursive", "archive"],
        forced: &["force"],
        ..TOOL
    },
    Tool {
        names: &["mv"],
        spec: gnu(&[
            HELP,
            VERBOSE,
            BACKUP[0],
            BACKUP[1],
            BACKUP[2],
            flag("flag", "nTZ", &[
                "debug",
                "exchange",
                "no-clobber",
                "no-copy",
                "strip-trailing-slashes",
                "no-target-directory",
                "context",
            ]),
            flag("force", "f", &["force"]),
            flag("interactive", "i", &["interactive"]),
            value("target", "t", &["target-directory"]),
            flag("update", "u", &[]),
            optional("update", "", &["update"]),
        ]),
        role: Role::SourcesDest(Operation::Delete, Operation::Create),
        forced: &["force"],
        ..TOOL
    },
    Tool {
        names: &["ln"],
        spec: gnu(&[
            HELP,
            VERBOSE,
            BACKUP[0],
            BACKUP[1],
            BACKUP[2],
            flag("flag", "dFiLnPrsT", &[
                "directory",
                "interactive",
                "logical",
                "no-dereference",
                "physical",
                "relative",
                "symbolic",
                "no-target-directory",
            ]),
            flag("force", "f", &["force"]),
            value("target", "t", &["target-directory"]),
        ]),
        role: Role::SourcesDest(Operation::Read, Operation::Create),
        forced: &["force"],
        ..TOOL
    },
    Tool {
        names: &["install"],
        spec: gnu(&[
            HELP,
            VERBOSE,
            BACKUP[0],
            BACKUP[1],
            BACKUP[2],
            flag("flag", "cCDpsTZ", &[
                "compare",
                "preserve-timestamps",
                "strip",
                "no-target-directory",
                "debug",
            ]),
            flag("directory", "d", &["directory"]),
            value("value", "gmo", &["group", "mode", "owner"]),
            optional("context", "", &["context"]),
            value("target", "t", &["target-directory"]),
        ]),
        role: Role::SourcesDest(Operation::Read, Operation::Create),
        ..TOOL
    },
    Tool {
        names: &["mkdir", "mkfifo"],
        spec: gnu(&[
            HELP,
            VERBOSE,
            value("mode", "m", &["mode"]),
            flag("parents", "p", &["parents"]),
            flag("selinux", "Z", &[]),
            optional("context", "", &["context"]),
        ]),
        role: Role::Operands(Operation::Create),
        ..TOOL
    },
    Tool {
        names: &["touch"],
        spec: gnu(&[
            HELP,
            flag("flag", "acfhm", &["no-create", "no-dereference"]),
            value("value", "dt", &["date", "time"]),
            value("reference", "r", &["reference"]),
        ]),
        role: Role::Operands(Operation::Update),
        reads: &["reference"],
        ..TOOL
    },
    Tool {
        names: &["tee"],
        spec: gnu(&[
            HELP,
            flag("flag", "aip", &["append", "ignore-interrupts"]),
            optional("error", "", &["output-error"]),
        ]),
        role: Role::Operands(Operation::Update),
        ..TOOL
    },
    Tool {
        names: &["truncate"],
        spec: gnu(&[
            HELP,
            flag("flag", "co", &["no-create", "io-blocks"]),
            value("reference", "r", &["reference"]),
            value("size", "s", &["size"]),
        ]),
        role: Role::Operands(Operation::Update),
        reads: &["reference"],
        ..TOOL
    },
    Tool {
        names: &["chmod"],
        spec: gnu(&[
            HELP,
            VERBOSE,
            flag("flag", "cf", &["changes", "silent", "quiet", "no-preserve-root", "preserve-root"]),
            value("reference", "", &["reference"]),
            flag("recursive", "R", &["recursive"]),
            // `chmod -x file`: a mode that looks like options.
            flag("mode", "rwxXstugoa", &[]),
        ]),
        role: Role::SkipFirst(Operation::PermissionChange),
        recursive: &["recursive"],
        reads: &["reference"],
        no_skip: &["reference", "mode"],
        ..TOOL
    },
    Tool {
        names: &["chown", "chgrp"],
        spec: gnu(&[
            HELP,
            VERBOSE,
            flag("flag", "cfhHLP", &[
                "changes",
                "silent",
                "quiet",
                "dereference",
                "no-dereference",
                "no-preserve-root",
                "preserve-root",
            ]),
            value("from", "", &["from"]),
            value("reference", "", &["reference"]),
            flag("recursive", "R", &["recursive"]),
        ]),
        role: Role::SkipFirst(Operation::PermissionChange),
        recursive: &["recursive"],
        reads: &["reference"],
        no_skip: &["reference"],
        ..TOOL
    },
    Tool {
        names: &["cat"],
        spec: gnu(&[
            HELP,
            flag("flag", "AbeEnstTuv", &[
                "show-all",
                "number-nonblank",
                "show-ends",
                "number",
                "squeeze-blank",
                "show-tabs",
                "show-nonprinting",
            ]),
        ]),
        ..TOOL
    },
    Tool {
        names: &["tac"],
        spec: gnu(&[
            HELP,
            flag("flag", "br", &["before", "regex"]),
            value("separator", "s", &["separator"]),
        ]),
        ..TOOL
    },
    Tool {
        names: &["head"],
        spec: gnu(&[
            HELP,
            value("count", "cn", &["bytes", "lines"]),
            flag("flag", "qvz0123456789", &["quiet", "silent", "verbose", "zero-terminated"]),
        ]),
        ..TOOL
    },
    Tool {
        names: &["tail"],
        spec: gnu(&[
            HELP,
            value("count", "cns", &["bytes", "lines", "sleep-interval", "max-unchanged-stats", "pid"]),
            flag("flag", "fFqvz0123456789", &["quiet", "silent", "verbose", "zero-terminated", "retry"]),
            optional("follow", "", &["follow"]),
        ]),
        ..TOOL
    },
    Tool {
        names: &["wc"],
        spec: gnu(&[
            HELP,
            flag("flag", "cmlLw", &["bytes", "chars", "lines", "max-line-length", "words"]),
            value("files", "", &["files0-from"]),
            value("total", "", &["total"]),
        ]),
        reads: &["files"],
        ..TOOL
    },
    Tool {
        names: &["ls", "dir"],
        spec: gnu(&[
            HELP,
            flag("flag", "aAbBcCdDfFgGhHiklLmnNopqQrRsStuUvxZ1", &[
                "all",
                "almost-all",
                "author",
                "escape",
                "ignore-backups",
                "directory",
                "dired",
                "file-type",
                "full-time",
                "group-directories-first",
                "no-group",
                "human-readable",
                "si",
                "dereference-command-line",
                "dereference-command-line-symlink-to-dir",
                "inode",
                "kibibytes",
                "dereference",
                "numeric-uid-gid",
                "literal",
                "hide-control-chars",
                "show-control-chars",
                "quote-name",
                "reverse",
                "recursive",
                "size",
                "context",
                "zero",
            ]),
            value("value", "ITw", &[
                "block-size",
                "hide",
                "ignore",
                "format",
                "indicator-style",
                "quoting-style",
                "sort",
                "time",
                "time-style",
                "tabsize",
                "width",
            ]),
            optional("color", "", &["color", "classify", "hyperlink"]),
        ]),
        default_cwd: true,
        ..TOOL
    },
    Tool {
        names: &["grep", "egrep", "fgrep"],
        spec: gnu(&[
            HELP,
            flag("flag", "EFGPivwxyclLoqsbHhnTZzaUIV", &[
                "extended-regexp",
                "fixed-strings",
                "basic-regexp",
                "perl-regexp",
                "ignore-case",
                "no-ignore-case",
                "invert-match",
                "word-regexp",
                "line-regexp",
                "count",
                "files-without-match",
                "files-with-matches",
                "only-matching",
                "quiet",
                "silent",
                "no-messages",
                "byte-offset",
                "with-filename",
                "no-filename",
                "line-number",
                "initial-tab",
                "null",
                "null-data",
                "text",
                "line-buffered",
                "binary",
            ]),
            value("pattern", "e", &["regexp"]),
            value("file", "f", &["file"]),
            optional("color", "", &["color", "colour"]),
            value("value", "mABCdD", &[
                "max-count",
                "label",
                "after-context",
                "before-context",
                "context",
                "binary-files",
                "devices",
                "directories",
                "exclude",
                "exclude-dir",
                "include",
            ]),
            value("exclude-from", "X", &["exclude-from"]),
            flag("recursive", "rR", &["recursive", "dereference-recursive"]),
            flag("digits", "0123456789", &[]),
        ]),
        role: Role::SkipFirst(Operation::Read),
        recursive: &["recursive"],
        reads: &["file", "exclude-from"],
        no_skip: &["pattern", "file"],
        default_cwd: true,
        ..TOOL
    },
    Tool {
        names: &["rg"],
        spec: Spec {
            opts: &[
                HELP,
                flag("flag", "iSsvwxclLnNHIFuUzaop0q", &[
                    "ignore-case",
                    "smart-case",
                    "case-sensitive",
                    "invert-match",
                    "word-regexp",
                    "line-regexp",
                    "count",
                    "files-with-matches",
                    "files-without-match",
                    "line-number",
                    "no-line-number",
                    "with-filename",
                    "no-filename",
                    "fixed-strings",
                    "hidden",
                    "no-ignore",
                    "no-ignore-vcs",
                    "multiline",
                    "search-zip",
                    "text",
                    "only-matching",
                    "pretty",
                    "null",
                    "quiet",
                    "json",
                    "follow",
                    "files",
                    "trim",
                    "vimgrep",
                    "no-heading",
                    "heading",
                    "column",
                    "stats",
                    "sort-files",
                    "no-messages",
                    "type-list",
                ]),
                value("pattern", "e", &["regexp"]),
                value("file", "f", &["file"]),
                value("value", "gtTABCmMjr", &[
                    "glob",
                    "iglob",
                    "type",
                    "type-not",
                    "after-context",
                    "before-context",
                    "context",
                    "max-count",
                    "max-columns",
                    "threads",
                    "replace",
                    "max-depth",
                    "sort",
                    "sortr",
                    "color",
                    "colors",
                    "encoding",
                    "max-filesize",
                ]),
            ],
            style: Style::Exact,
        },
        role: Role::SkipFirst(Operation::Read),
        reads: &["file"],
        no_skip: &["pattern", "file"],
        default_cwd: true,
        ..TOOL
    },
    Tool {
        names: &["sort"],
        spec: gnu(&[
            HELP,
            flag("flag", "bdfgiMhnRrVmsuzcC", &[
                "ignore-leading-blanks",
                "dictionary-order",
                "ignore-case",
                "general-numeric-sort",
                "ignore-nonprinting",
                "month-sort",
                "human-numeric-sort",
                "numeric-sort",
                "random-sort",
                "reverse",
                "version-sort",
                "merge",
                "stable",
                "unique",
                "zero-terminated",
                "debug",
            ]),
            optional("check", "", &["check"]),
            value("value", "kStT", &[
                "sort",
                "key",
                "buffer-size",
                "field-separator",
                "temporary-directory",
                "batch-size",
                "parallel",
            ]),
            value("random", "", &["random-source"]),
            value("files", "", &["files0-from"]),
            value("output", "o", &["output"]),
        ]),
        writes: &["output"],
        reads: &["random", "files"],
        ..TOOL
    },
    Tool {
        names: &["uniq"],
        spec: gnu(&[
            HELP,
            flag("flag", "cdDiuz", &["count", "repeated", "ignore-case", "unique", "zero-terminated"]),
            optional("group", "", &["all-repeated", "group"]),
            value("value", "fsw", &["skip-fields", "skip-chars", "check-chars"]),
        ]),
        role: Role::InOut,
        ..TOOL
    },
    Tool {
        names: &["cut"],
        spec: gnu(&[
            HELP,
            value("value", "bcdf", &["bytes", "characters", "delimiter", "fields", "output-delimiter"]),
            flag("flag", "nsz", &["complement", "only-delimited", "zero-terminated"]),
        ]),
        ..TOOL
    },
    Tool {
        names: &["tr"],
        spec: gnu(&[
            HELP,
            flag("flag", "cCdst", &["complement", "delete", "squeeze-repeats", "truncate-set1"]),
        ]),
        role: Role::NoPaths,
        ..TOOL
    },
    Tool {
        names: &["diff"],
        spec: gnu(&[
            HELP,
            flag("flag", "cuNqsiwbBEZaytTlpP", &[
                "brief",
                "report-identical-files",
                "new-file",
                "unidirectional-new-file",
                "ignore-case",
                "ignore-all-space",
                "ignore-space-change",
                "ignore-blank-lines",
                "ignore-tab-expansion",
                "ignore-trailing-space",
                "strip-trailing-cr",
                "text",
                "side-by-side",
                "expand-tabs",
                "initial-tab",
                "paginate",
                "show-c-function",
                "minimal",
                "speed-large-files",
                "suppress-common-lines",
                "left-column",
                "no-dereference",
                "normal",
                "ed",
                "rcs",
            ]),
            optional("context", "", &["context", "unified", "color"]),
            value("value", "CUWxIFSD", &[
                "width",
                "exclude",
                "ignore-matching-lines",
                "show-function-line",
                "starting-file",
                "ifdef",
                "label",
                "tabsize",
                "horizon-lines",
                "line-format",
                "old-line-format",
                "new-line-format",
                "unchanged-line-format",
                "from-file",
                "to-file",
            ]),
            value("exclude-from", "X", &["exclude-from"]),
            flag("recursive", "r", &["recursive"]),
        ]),
        recursive: &["recursive"],
        reads: &["exclude-from"],
        ..TOOL
    },
    Tool {
        names: &["cmp"],
        spec: gnu(&[
            HELP,
            flag("flag", "bls", &["print-bytes", "verbose", "quiet", "silent"]),
            value("value", "in", &["ignore-initial", "bytes"]),
        ]),
        ..TOOL
    },
    Tool {
        names: &["stat"],
        spec: gnu(&[
            HELP,
            flag("flag", "Lft", &["dereference", "file-system", "terse"]),
            value("format", "c", &["format", "printf", "cached"]),
        ]),
        ..TOOL
    },
    Tool {
        names: &["file"],
        spec: gnu(&[
            HELP,
            flag("flag", "bcEhiklLNnprsSz0", &[
                "brief",
                "no-dereference",
                "dereference",
                "mime",
                "mime-type",
                "mime-encoding",
                "keep-going",
                "no-pad",
                "no-buffer",
                "preserve-date",
                "raw",
                "special-files",
                "uncompress",
                "print0",
                "extension",
                "apple",
            ]),
            value("value", "eFmP", &["exclude", "exclude-quiet", "separator", "magic-file", "parameter"]),
            value("files", "f", &["files-from"]),
        ]),
        reads: &["files"],
        ..TOOL
    },
    Tool {
        names: &["md5sum", "sha1sum", "sha256sum", "sha512sum", "b2sum", "cksum"],
        spec: gnu(&[
            HELP,
            flag("flag", "bctwz", &[
                "binary",
                "check",
                "tag",
                "text",
                "zero",
                "ignore-missing",
                "quiet",
                "status",
                "strict",
                "warn",
                "raw",
                "untagged",
                "base64",
            ]),
            value("value", "la", &["length", "algorithm"]),
        ]),
        ..TOOL
    },
    Tool {
        names: &["base64", "nl", "od", "xxd", "hexdump", "strings", "paste", "comm", "fold", "rev"],
        spec: gnu(&[
            HELP,
            flag("flag", "dis", &["decode", "ignore-garbage", "serial", "spaces"]),
            value("value", "w", &["wrap", "width", "delimiters"]),
        ]),
        ..TOOL
    },
    Tool {
        names: &["realpath", "readlink"],
        spec: gnu(&[
            HELP,
            VERBOSE,
            flag("flag", "eLmnPqsfz", &[
                "canonicalize-existing",
                "logical",
                "canonicalize-missing",
                "no-newline",
                "physical",
                "quiet",
                "strip",
                "no-symlinks",
                "silent",
                "canonicalize",
                "zero",
            ]),
            value("value", "", &["relative-to", "relative-base"]),
        ]),
        ..TOOL
    },
    Tool {
        names: &["du", "df"],
        spec: gnu(&[
            HELP,
            flag("flag", "0abcDhHiklLmPsSxTv", &[
                "null",
                "all",
                "apparent-size",
                "bytes",
                "total",
                "dereference-args",
                "human-readable",
                "inodes",
                "dereference",
                "no-dereference",
                "separate-dirs",
                "summarize",
                "si",
                "one-file-system",
                "local",
                "portability",
                "print-type",
                "sync",
                "no-sync",
            ]),
            value("value", "BdtX", &[
                "block-size",
                "max-depth",
                "threshold",
                "time",
                "time-style",
                "exclude",
                "exclude-from",
                "output",
                "type",
                "exclude-type",
                "files0-from",
            ]),
        ]),
        ..TOOL
    },
    Tool {
        names: &["less", "more"],
        spec: gnu(&[
            HELP,
            flag("flag", "NnRrSsFXiIeEgGmMqQ", &[]),
        ]),
        ..TOOL
    },
    Tool {
        names: &["tree"],
        spec: Spec {
            opts: &[
                flag("flag", "adfilpsughDFqNQrtvxACJ", &["noreport", "dirsfirst", "du", "si", "prune"]),
                value("value", "LPIH", &["charset", "filelimit", "timefmt", "sort"]),
                value("output", "o", &[]),
            ],
            style: Style::Exact,
        },
        writes: &["output"],
        default_cwd: true,
        ..TOOL
    },
    Tool {
        names: &["column"],
        spec: gnu(&[
            HELP,
            flag("flag", "tnexJLR", &["table", "fillrows", "json", "keep-empty-lines"]),
            value("value", "scoNHOdW", &[
                "separator",
                "output-width",
                "output-separator",
                "table-columns",
                "table-hide",
                "table-order",
                "table-name",
                "table-wrap",
            ]),
        ]),
        ..TOOL
    },
];

fn tool(name: &str) -> Option<&'static Tool> {
    TOOLS.iter().find(|t| t.names.contains(&name))
}

fn file_tool(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    if call.name == "jq" {
        return jq(call);
    }
    let Some(tool) = tool(call.name) else {
        return Err(Unaccounted("no model".into()));
    };
    let parsed = tool.spec.scan(call.args)?;
    let recursive = parsed.any(tool.recursive);
    let forced = parsed.any(tool.forced);
    for key in tool.reads {
        for word in parsed.values(key).cloned().collect::<Vec<_>>() {
            call.push_file(Operation::Read, &word, false, false);
        }
    }
    for key in tool.writes {
        for word in parsed.values(key).cloned().collect::<Vec<_>>() {
            call.push_file(Operation::Update, &word, false, false);
        }
    }
    let mut operands: Vec<Word> = parsed.operands.clone();
    if operands.is_empty() && tool.default_cwd && (recursive || tool.role != Role::SkipFirst(Operation::Read)) {
        operands.push(Word::literal("."));
    }
    let updates = parsed.any(tool.updates);
    match tool.role {
        Role::Operands(operation) => {
            for word in &operands {
                push(call, operation, word, recursive, forced);
            }
        }
        Role::SkipFirst(operation) => {
            let operation = if updates { Operation::Update } else { operation };
            let skip = usize::from(!parsed.any(tool.no_skip));
            let mut paths: Vec<Word> = operands.iter().skip(skip).cloned().collect();
            if paths.is_empty() && tool.default_cwd && recursive {
                paths.push(Word::literal("."));
            }
            for word in &paths {
                push(call, operation, word, recursive, forced);
            }
        }
        Role::SourcesDest(source, dest) => {
            let target = parsed.last("target").cloned();
            let directory = parsed.has("directory");
            let (sources, destination): (Vec<Word>, Option<Word>) = if directory {
                (Vec::new(), None)
            } else {
                match target {
                    Some(t) => (operands.clone(), Some(t)),
                    None if operands.len() >= 2 => (
                        operands[..operands.len() - 1].to_vec(),
                        operands.last().cloned(),
                    ),
                    None => (operands.clone(), None),
                }
            };
            if directory {
                for word in &operands {
                    push(call, Operation::Create, word, false, false);
                }
            }
            for word in &sources {
                push(call, source, word, recursive, forced);
            }
            if let Some(destination) = destination {
                // The destination may be a directory receiving the sources (a whole tree).
                let operation = if forced { Operation::Update } else { dest };
                push(call, operation, &destination, true, forced);
            }
        }
        Role::InOut => {
            if let Some(input) = operands.first() {
                push(call, Operation::Read, input, false, false);
            }
            if let Some(output) = operands.get(1) {
                push(call, Operation::Update, output, false, false);
            }
            if operands.len() > 2 {
                return Err(Unaccounted("more operands than `INPUT OUTPUT`".into()));
            }
        }
        Role::NoPaths => {}
    }
    Ok(())
}

fn push(call: &mut Call<'_, '_>, operation: Operation, word: &Word, recursive: bool, forced: bool) {
    if super::remote_path(&word.text).is_some() {
        return;
    }
    if operation == Operation::Read && word.text == "-" {
        return;
    }
    call.push_file(operation, word, recursive, forced);
}

/// `jq`: a filter, then files read. `--arg NAME VALUE` takes two words.
fn jq(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    const FLAGS: &[&str] = &[
        "-r", "-j", "-a", "-c", "-n", "-e", "-s", "-S", "-C", "-M", "-R", "--tab", "--seq",
        "--stream", "--raw-input", "--ascii-output", "--compact-output", "--null-input",
        "--exit-status", "--slurp", "--sort-keys", "--color-output", "--monochrome-output",
        "--raw-output", "--join-output", "--raw-output0", "--unbuffered", "--args", "--jsonargs",
        "-h", "--help", "-V", "--version",
    ];
    let args = call.args.to_vec();
    let mut operands: Vec<Word> = Vec::new();
    let mut filter_file = false;
    let mut i = 0;
    while i < args.len() {
        let word = &args[i];
        let text = word.text.as_str();
        i += 1;
        if word.may_be_option() {
            return Err(Unaccounted(format!("`{text}` may be an option")));
        }
        if text == "--" {
            operands.extend(args[i..].iter().cloned());
            break;
        }
        if !text.starts_with('-') || text == "-" {
            operands.push(word.clone());
            continue;
        }
        if FLAGS.contains(&text) {
            continue;
        }
        // Short flags clustered (`-rc`).
        if !text.starts_with("--") && text[1..].chars().all(|c| "rjacnesSCMR".contains(c)) {
            continue;
        }
        match text {
            "--indent" | "-L" => i += 1,
            "--arg" | "--argjson" => i += 2,
            "--slurpfile" | "--rawfile" => {
                if let Some(file) = args.get(i + 1).cloned() {
                    call.push_file(Operation::Read, &file, false, false);
                }
                i += 2;
            }
            "-f" | "--from-file" => {
                if let Some(file) = args.get(i).cloned() {
                    call.push_file(Operation::Read, &file, false, false);
                }
                filter_file = true;
                i += 1;
            }
            _ => return Err(Unaccounted(format!("unknown option `{text}`"))),
        }
    }
    if i > args.len() {
        return Err(Unaccounted("an option without its value".into()));
    }
    let skip = usize::from(!filter_file);
    for word in operands.iter().skip(skip) {
        push(call, Operation::Read, word, false, false);
    }
    Ok(())
}

fn harmless(_call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    Ok(())
}

/// `echo`: prints its words; the text is known unless escapes may be interpreted.
fn echo(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let mut words = call.args.iter().peekable();
    let mut escapes = false;
    while let Some(word) = words.peek() {
        let text = word.text.as_str();
        if text.len() > 1 && text.starts_with('-') && text[1..].chars().all(|c| "neE".contains(c)) {
            escapes |= text.contains('e');
            words.next();
        } else {
            break;
        }
    }
    let rest: Vec<&Word> = words.collect();
    let dynamic = rest.iter().any(|w| w.dynamic);
    let text = rest.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ");
    // `sh` may be dash, whose `echo` interprets backslashes even without `-e`.
    let known = !dynamic && !(escapes || text.contains('\\'));
    call.out = Stdin {
        text: known.then_some(text),
        ..Stdin::default()
    };
    Ok(())
}

/// `printf FORMAT ARGS`: the text is known only for a format without directives or escapes.
fn printf(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let args = call.args.to_vec();
    let mut words = args.iter();
    let mut format = words.next();
    if format.is_some_and(|w| w.text == "-v") {
        // `printf -v NAME …` sets a variable.
        if let Some(name) = words.next() {
            call.state.vars.remove(&name.text);
        }
        call.out = Stdin::default();
        return Ok(());
    }
    if format.is_some_and(|w| w.text == "--") {
        format = words.next();
    }
    let known = format.filter(|f| !f.dynamic && !f.text.contains(['%', '\\']));
    call.out = Stdin {
        text: known.map(|f| f.text.clone()),
        ..Stdin::default()
    };
    Ok(())
}

fn date(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    const SPEC: Spec = gnu(&[
        HELP,
        flag("flag", "RuI", &["rfc-email", "utc", "universal", "debug", "resolution"]),
        optional("iso", "", &["iso-8601"]),
        value("value", "d", &["date", "rfc-3339"]),
        value("file", "fr", &["file", "reference"]),
    ]);
    let parsed = SPEC.scan(call.args)?;
    for word in parsed.values("file").cloned().collect::<Vec<_>>() {
        call.push_file(Operation::Read, &word, false, false);
    }
    if parsed.operands.iter().any(|w| !w.text.starts_with('+')) {
        return Err(Unaccounted("`date` given a time to set".into()));
    }
    Ok(())
}

fn cd(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let target = call
        .args
        .iter()
        .find(|w| !w.text.starts_with('-') || w.text == "-");
    call.state.cwd = match (call.name, target) {
        ("popd", _) => Some("/**".into()),
        (_, None) => call.walker.home.clone().or(Some("/**".into())),
        (_, Some(w)) if w.text == "-" => Some("/**".into()),
        (_, Some(w)) => Some(call.path(w)),
    };
    Ok(())
}

fn variables(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let args = call.args.to_vec();
    for word in &args {
        if word.text.starts_with('-') || word.text.starts_with('+') {
            continue;
        }
        match word.text.split_once('=') {
            Some((name, value)) if !word.dynamic && call.name != "read" => {
                call.state.vars.insert(name.to_string(), value.to_string());
            }
            Some((name, _)) => {
                call.state.vars.remove(name);
            }
            None if call.name == "read" || call.name == "unset" || call.name == "declare" => {
                call.state.vars.remove(&word.text);
            }
            None => {}
        }
    }
    if call.name == "set" && args.iter().any(|w| !w.text.starts_with(['-', '+'])) {
        // `set -- a b` changes the positional parameters, which are never known anyway.
    }
    Ok(())
}

/// `trap 'CMD' SIGNAL…`: the command runs later, in this shell.
fn trap(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    let args = call.args.to_vec();
    let mut words = args.iter().skip_while(|w| w.text == "--");
    match words.next() {
        Some(w) if w.text.starts_with('-') => Ok(()),
        Some(w) if w.dynamic => Err(Unaccounted("a trap command only known at run time".into())),
        Some(w) => {
            if args.len() > 1 {
                call.nested(&w.text, "trap");
            }
            Ok(())
        }
        None => Ok(()),
    }
}

fn mktemp(call: &mut Call<'_, '_>) -> Result<(), Unaccounted> {
    const SPEC: Spec = gnu(&[
        HELP,
        flag("flag", "dqut", &["directory", "dry-run", "quiet"]),
        value("suffix", "", &["suffix"]),
        value("dir", "p", &[]),
        optional("dir", "", &["tmpdir"]),
    ]);
    let parsed = SPEC.scan(call.args)?;
    let dir = parsed
        .last("dir")
        .map(|w| w.text.clone())
        .or_else(|| call.run.env.get("TMPDIR").cloned())
        .unwrap_or_else(|| "/tmp".into());
    let in_dir = parsed.has("dir") || parsed.has("flag") || parsed.operands.is_empty();
    let template = parsed
        .operands
        .first()
        .map(|w| w.text.replace('X', "*"))
        .unwrap_or_else(|| "tmp.*".into());
    let path = if in_dir && !template.starts_with('/') {
        format!("{dir}/{template}")
    } else {
        template
    };
    let word = Word {
        text: path,
        dynamic: false,
        glob: true,
    };
    call.push_file(Operation::Create, &word, false, false);
    call.out = Stdin::default();
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::programs::tests::{effects_of, has, is_opaque};

    #[test]
    fn options_in_every_form() {
        for line in [
            "rm -rf /home/alice",
            "rm -r -f /home/alice",
            "rm -fr /home/alice",
            "rm --recursive --force /home/alice",
            "rm --recur --for /home/alice",
            "rm /home/alice -rf",
            "rm -rf -- /home/alice",
        ] {
            let e = effects_of(line);
            assert!(has(&e, "delete file:///home/alice +recursive"), "{line}: {e:?}");
        }
        let e = effects_of("rm --frobnicate /home/alice");
        assert!(is_opaque(&e, "cmd://rm"), "{e:?}");
    }

    #[test]
    fn options_that_write() {
        let e = effects_of("sort -o /home/alice/.bashrc x");
        assert!(has(&e, "update file:///home/alice/.bashrc"), "{e:?}");
        let e = effects_of("sort --output=/home/alice/.bashrc x");
        assert!(has(&e, "update file:///home/alice/.bashrc"), "{e:?}");
        let e = effects_of("uniq a /home/alice/.bashrc");
        assert!(has(&e, "update file:///home/alice/.bashrc"), "{e:?}");
        let e = effects_of("sort --compress-program=sh x");
        assert!(is_opaque(&e, "cmd://sort"), "{e:?}");
    }

    #[test]
    fn benign_look_alikes() {
        let e = effects_of(r#"grep -r "rm -rf" ."#);
        assert!(!e.iter().any(|e| e.opaque || e.operation.is_mutating() && e.operation != preflight_core::Operation::Execute), "{e:?}");
        let e = effects_of("chmod -x script.sh");
        assert!(has(&e, "permission_change file:///workspace/app/script.sh"), "{e:?}");
    }
}
