//! The option table: what the option parser of each known program accepts. Only what is known
//! for sure is listed: an unlisted letter makes a word unknown, and unknown words are never
//! rewritten.

use super::options::Spec;

const fn spec(program: &'static str) -> Spec {
    Spec {
        program,
        bools: "",
        valued: "",
        optional: "",
        longs: &[],
        long_valued: &[],
        short_long: &[],
        abbreviate: false,
        long_eq: true,
        dashdash: false,
        stop_at_operand: false,
        path_operands: None,
    }
}

/// The programs whose options are rewritten.
#[rustfmt::skip]
pub static SPECS: &[Spec] = &[
    Spec {
        bools: "rRfIdv",
        longs: &["dir", "force", "help", "interactive", "no-preserve-root", "one-file-system",
            "preserve-root", "recursive", "verbose", "version"],
        short_long: &[('r', "recursive"), ('R', "recursive"), ('f', "force"), ('d', "dir"), ('v', "verbose")],
        abbreviate: true, dashdash: true, path_operands: Some(0),
        ..spec("rm")
    },
    Spec {
        bools: "pv", valued: "m",
        longs: &["context", "help", "mode", "parents", "verbose", "version"],
        long_valued: &["mode"],
        short_long: &[('p', "parents"), ('v', "verbose"), ('m', "mode")],
        abbreviate: true, dashdash: true, path_operands: Some(0),
        ..spec("mkdir")
    },
    Spec {
        bools: "pv",
        longs: &["help", "ignore-fail-on-non-empty", "parents", "verbose", "version"],
        short_long: &[('p', "parents"), ('v', "verbose")],
        abbreviate: true, dashdash: true, path_operands: Some(0),
        ..spec("rmdir")
    },
    Spec {
        bools: "acfhm", valued: "drt",
        longs: &["date", "help", "no-create", "no-dereference", "reference", "time", "version"],
        long_valued: &["date", "reference", "time"],
        short_long: &[('c', "no-create"), ('h', "no-dereference"), ('d', "date"), ('r', "reference")],
        abbreviate: true, dashdash: true, path_operands: Some(0),
        ..spec("touch")
    },
    Spec {
        bools: "aRrfivnlsxTPLHbpu", valued: "tS",
        longs: &["archive", "attributes-only", "backup", "context", "copy-contents", "dereference",
            "force", "help", "interactive", "link", "no-clobber", "no-dereference", "no-preserve",
            "no-target-directory", "one-file-system", "parents", "preserve", "recursive", "reflink",
            "remove-destination", "sparse", "strip-trailing-slashes", "suffix", "symbolic-link",
            "target-directory", "update", "verbose", "version"],
        long_valued: &["target-directory", "suffix", "no-preserve", "sparse"],
        short_long: &[('a', "archive"), ('R', "recursive"), ('r', "recursive"), ('f', "force"),
            ('i', "interactive"), ('v', "verbose"), ('n', "no-clobber"), ('l', "link"),
            ('s', "symbolic-link"), ('x', "one-file-system"), ('T', "no-target-directory"),
            ('P', "no-dereference"), ('L', "dereference"), ('t', "target-directory")],
        abbreviate: true, dashdash: true, path_operands: Some(0),
        ..spec("cp")
    },
    Spec {
        bools: "finuvT", valued: "tS",
        longs: &["backup", "context", "force", "help", "interactive", "no-clobber",
            "no-target-directory", "strip-trailing-slashes", "suffix", "target-directory", "update",
            "verbose", "version"],
        long_valued: &["target-directory", "suffix"],
        short_long: &[('f', "force"), ('i', "interactive"), ('n', "no-clobber"), ('v', "verbose"),
            ('T', "no-target-directory"), ('t', "target-directory")],
        abbreviate: true, dashdash: true, path_operands: Some(0),
        ..spec("mv")
    },
    Spec {
        bools: "Rvcf",
        longs: &["changes", "help", "no-preserve-root", "preserve-root", "quiet", "recursive",
            "reference", "silent", "verbose", "version"],
        long_valued: &["reference"],
        short_long: &[('R', "recursive"), ('v', "verbose"), ('c', "changes"), ('f', "silent")],
        abbreviate: true, dashdash: true, path_operands: Some(1),
        ..spec("chmod")
    },
    Spec {
        bools: "RvcfhHLP",
        longs: &["changes", "dereference", "from", "help", "no-dereference", "no-preserve-root",
            "preserve-root", "quiet", "recursive", "reference", "silent", "verbose", "version"],
        long_valued: &["from", "reference"],
        short_long: &[('R', "recursive"), ('v', "verbose"), ('c', "changes"), ('f', "silent"),
            ('h', "no-dereference")],
        abbreviate: true, dashdash: true, path_operands: Some(1),
        ..spec("chown")
    },
    Spec {
        bools: "sfnvrTLPi", valued: "tS",
        longs: &["backup", "directory", "force", "help", "interactive", "logical", "no-dereference",
            "no-target-directory", "physical", "relative", "suffix", "symbolic", "target-directory",
            "verbose", "version"],
        long_valued: &["target-directory", "suffix"],
        short_long: &[('s', "symbolic"), ('f', "force"), ('n', "no-dereference"), ('v', "verbose"),
            ('r', "relative"), ('T', "no-target-directory"), ('L', "logical"), ('P', "physical"),
            ('i', "interactive"), ('t', "target-directory")],
        abbreviate: true, dashdash: true, path_operands: Some(0),
        ..spec("ln")
    },
    Spec {
        bools: "co", valued: "rs",
        longs: &["help", "io-blocks", "no-create", "reference", "size", "version"],
        long_valued: &["reference", "size"],
        short_long: &[('c', "no-create"), ('o', "io-blocks"), ('r', "reference"), ('s', "size")],
        abbreviate: true, dashdash: true, path_operands: Some(0),
        ..spec("truncate")
    },
    Spec {
        bools: "fuvxz", valued: "ns",
        longs: &["exact", "force", "help", "iterations", "random-source", "remove", "size",
            "verbose", "version", "zero"],
        long_valued: &["iterations", "random-source", "size"],
        short_long: &[('f', "force"), ('u', "remove"), ('v', "verbose"), ('x', "exact"), ('z', "zero"),
            ('n', "iterations"), ('s', "size")],
        abbreviate: true, dashdash: true, path_operands: Some(0),
        ..spec("shred")
    },
    Spec {
        bools: "nrEsuz", valued: "efl", optional: "i",
        longs: &["debug", "expression", "file", "follow-symlinks", "help", "in-place", "line-length",
            "null-data", "posix", "quiet", "regexp-extended", "sandbox", "separate", "silent",
            "unbuffered", "version", "zero-terminated"],
        long_valued: &["expression", "file", "line-length"],
        short_long: &[('n', "quiet"), ('r', "regexp-extended"), ('E', "regexp-extended"),
            ('s', "separate"), ('u', "unbuffered"), ('z', "null-data"), ('e', "expression"),
            ('f', "file"), ('l', "line-length"), ('i', "in-place")],
        abbreviate: true, dashdash: true, path_operands: Some(1),
        ..spec("sed")
    },
    Spec {
        bools: "aip",
        longs: &["append", "help", "ignore-interrupts", "output-error", "version"],
        short_long: &[('a', "append"), ('i', "ignore-interrupts")],
        abbreviate: true, dashdash: true, path_operands: Some(0),
        ..spec("tee")
    },
    Spec {
        bools: "0prtxo", valued: "adEILnPs", optional: "eil",
        longs: &["arg-file", "delimiter", "eof", "exit", "help", "interactive", "max-args",
            "max-chars", "max-lines", "max-procs", "no-run-if-empty", "null", "open-tty",
            "process-slot-var", "replace", "show-limits", "verbose", "version"],
        long_valued: &["arg-file", "delimiter", "max-args", "max-procs", "max-chars", "process-slot-var"],
        short_long: &[('0', "null"), ('r', "no-run-if-empty"), ('t', "verbose"), ('p', "interactive"),
            ('x', "exit"), ('o', "open-tty"), ('a', "arg-file"), ('d', "delimiter"),
            ('n', "max-args"), ('P', "max-procs"), ('s', "max-chars")],
        abbreviate: true, stop_at_operand: true,
        ..spec("xargs")
    },
    Spec {
        bools: "i0v", valued: "uCS",
        longs: &["block-signal", "chdir", "debug", "default-signal", "help", "ignore-environment",
            "ignore-signal", "list-signal-handling", "null", "split-string", "unset", "version"],
        long_valued: &["chdir", "split-string", "unset"],
        short_long: &[('i', "ignore-environment"), ('0', "null"), ('v', "debug"), ('u', "unset"),
            ('C', "chdir"), ('S', "split-string")],
        abbreviate: true, stop_at_operand: true,
        ..spec("env")
    },
    Spec {
        valued: "n",
        longs: &["adjustment", "help", "version"],
        long_valued: &["adjustment"],
        short_long: &[('n', "adjustment")],
        abbreviate: true, stop_at_operand: true,
        ..spec("nice")
    },
    Spec {
        bools: "clmwL",
        longs: &["bytes", "chars", "files0-from", "help", "lines", "max-line-length", "version", "words"],
        short_long: &[('c', "bytes"), ('l', "lines"), ('m', "chars"), ('w', "words"), ('L', "max-line-length")],
        abbreviate: true, dashdash: true, path_operands: Some(0),
        ..spec("wc")
    },
    Spec {
        bools: "AbeEnstTuv",
        longs: &["help", "number", "number-nonblank", "show-all", "show-ends", "show-nonprinting",
            "show-tabs", "squeeze-blank", "version"],
        short_long: &[('A', "show-all"), ('b', "number-nonblank"), ('E', "show-ends"), ('n', "number"),
            ('s', "squeeze-blank"), ('T', "show-tabs"), ('v', "show-nonprinting")],
        abbreviate: true, dashdash: true, path_operands: Some(0),
        ..spec("cat")
    },
    Spec {
        bools: "qvz", valued: "cn",
        longs: &["bytes", "help", "lines", "quiet", "silent", "verbose", "version", "zero-terminated"],
        long_valued: &["bytes", "lines"],
        short_long: &[('q', "quiet"), ('v', "verbose"), ('z', "zero-terminated"), ('c', "bytes"), ('n', "lines")],
        abbreviate: true, dashdash: true, path_operands: Some(0),
        ..spec("head")
    },
    Spec {
        bools: "di", valued: "w",
        longs: &["decode", "help", "ignore-garbage", "version", "wrap"],
        long_valued: &["wrap"],
        short_long: &[('d', "decode"), ('i', "ignore-garbage"), ('w', "wrap")],
        abbreviate: true, dashdash: true, path_operands: Some(0),
        ..spec("base64")
    },
    Spec {
        bools: "rRnivlcEFwoshHqLxPzaIUZTb", valued: "efABCmdD",
        longs: &["after-context", "basic-regexp", "before-context", "binary", "binary-files",
            "byte-offset", "color", "colour", "context", "count", "dereference-recursive", "devices",
            "directories", "exclude", "exclude-dir", "exclude-from", "extended-regexp", "file",
            "files-with-matches", "files-without-match", "fixed-strings", "group-separator", "help",
            "ignore-case", "include", "initial-tab", "invert-match", "label", "line-buffered",
            "line-number", "line-regexp", "max-count", "no-filename", "no-group-separator",
            "no-ignore-case", "no-messages", "null", "null-data", "only-matching", "perl-regexp",
            "quiet", "recursive", "regexp", "silent", "text", "version", "with-filename",
            "word-regexp"],
        long_valued: &["after-context", "before-context", "context", "max-count", "regexp", "file",
            "exclude", "include", "exclude-dir", "devices", "directories", "binary-files"],
        short_long: &[('r', "recursive"), ('R', "dereference-recursive"), ('n', "line-number"),
            ('i', "ignore-case"), ('v', "invert-match"), ('l', "files-with-matches"), ('c', "count"),
            ('E', "extended-regexp"), ('F', "fixed-strings"), ('w', "word-regexp"),
            ('o', "only-matching"), ('s', "no-messages"), ('h', "no-filename"),
            ('H', "with-filename"), ('q', "quiet"), ('e', "regexp"), ('f', "file"),
            ('A', "after-context"), ('B', "before-context"), ('C', "context"), ('m', "max-count")],
        abbreviate: true,
        ..spec("grep")
    },
    Spec {
        bools: "laAhtrRS1dFiG",
        short_long: &[('a', "all"), ('A', "almost-all"), ('h', "human-readable"), ('r', "reverse"),
            ('R', "recursive"), ('d', "directory"), ('F', "classify"), ('i', "inode"), ('G', "no-group")],
        dashdash: true, path_operands: Some(0),
        ..spec("ls")
    },
    Spec {
        bools: "rnubfdgiMhRsVz", valued: "kotST",
        long_valued: &["key", "output", "field-separator"],
        short_long: &[('r', "reverse"), ('n', "numeric-sort"), ('u', "unique"), ('f', "ignore-case"),
            ('s', "stable"), ('k', "key"), ('o', "output"), ('t', "field-separator")],
        dashdash: true,
        ..spec("sort")
    },
    Spec {
        bools: "cdDiuz", valued: "fsw",
        short_long: &[('c', "count"), ('d', "repeated"), ('i', "ignore-case"), ('u', "unique")],
        dashdash: true,
        ..spec("uniq")
    },
    Spec {
        bools: "sSfLkvOIiGN", valued: "XdHoFTuAexwmr",
        long_valued: &["request", "data", "header", "output", "form", "upload-file", "user",
            "user-agent", "data-binary", "data-raw", "url"],
        short_long: &[('s', "silent"), ('S', "show-error"), ('f', "fail"), ('L', "location"),
            ('k', "insecure"), ('v', "verbose"), ('O', "remote-name"), ('I', "head"),
            ('X', "request"), ('d', "data"), ('H', "header"), ('o', "output"), ('F', "form"),
            ('T', "upload-file"), ('u', "user"), ('A', "user-agent")],
        long_eq: false,
        ..spec("curl")
    },
    Spec {
        bools: "qcNv", valued: "OoP",
        long_valued: &["output-document", "output-file", "directory-prefix"],
        short_long: &[('q', "quiet"), ('c', "continue"), ('N', "timestamping"), ('v', "verbose"),
            ('O', "output-document"), ('o', "output-file"), ('P', "directory-prefix")],
        ..spec("wget")
    },
    Spec {
        bools: "Aw", valued: "nlofc",
        long_valued: &["namespace", "context", "selector", "output", "filename", "replicas", "container"],
        short_long: &[('n', "namespace"), ('l', "selector"), ('o', "output"), ('f', "filename"),
            ('A', "all-namespaces"), ('c', "container")],
        ..spec("kubectl")
    },
    Spec {
        bools: "fdxXnqi", valued: "e",
        longs: &["dry-run", "no-dry-run", "force", "no-force", "interactive", "no-interactive",
            "quiet", "no-quiet", "exclude", "no-exclude"],
        long_valued: &["exclude"],
        short_long: &[('f', "force"), ('n', "dry-run"), ('q', "quiet"), ('i', "interactive"), ('e', "exclude")],
        abbreviate: true, dashdash: true,
        ..spec("git clean")
    },
    Spec {
        bools: "qpN",
        longs: &["intent-to-add", "no-intent-to-add", "patch", "no-patch", "pathspec-file-nul",
            "no-pathspec-file-nul", "pathspec-from-file", "no-pathspec-from-file", "quiet",
            "no-quiet", "recurse-submodules", "no-recurse-submodules", "hard", "keep", "merge",
            "mixed", "no-refresh", "refresh", "soft"],
        short_long: &[('q', "quiet")],
        abbreviate: true,
        ..spec("git reset")
    },
    Spec {
        bools: "fqvnud", valued: "o",
        longs: &["all", "no-all", "atomic", "no-atomic", "branches", "no-branches", "delete",
            "no-delete", "dry-run", "no-dry-run", "exec", "no-exec", "follow-tags", "no-follow-tags",
            "force", "no-force", "force-if-includes", "no-force-if-includes", "force-with-lease",
            "no-force-with-lease", "mirror", "no-mirror", "porcelain", "no-porcelain", "progress",
            "no-progress", "prune", "no-prune", "push-option", "no-push-option", "quiet", "no-quiet",
            "receive-pack", "no-receive-pack", "recurse-submodules", "no-recurse-submodules", "repo",
            "no-repo", "set-upstream", "no-set-upstream", "signed", "no-signed", "tags", "no-tags",
            "thin", "no-thin", "verbose", "no-verbose", "ipv4", "ipv6", "no-verify", "verify"],
        long_valued: &["push-option", "receive-pack", "repo"],
        short_long: &[('f', "force"), ('q', "quiet"), ('v', "verbose"), ('n', "dry-run"),
            ('u', "set-upstream"), ('d', "delete"), ('o', "push-option")],
        abbreviate: true,
        ..spec("git push")
    },
    Spec {
        bools: "dDfravqcCmM",
        short_long: &[('d', "delete"), ('f', "force"), ('r', "remotes"), ('a', "all"), ('v', "verbose"), ('q', "quiet")],
        ..spec("git branch")
    },
    Spec {
        bools: "fqtpm", valued: "bB",
        short_long: &[('f', "force"), ('q', "quiet"), ('m', "merge"), ('p', "patch")],
        ..spec("git checkout")
    },
    Spec {
        bools: "fqdm", valued: "cC",
        long_valued: &["create", "force-create"],
        short_long: &[('f', "force"), ('q', "quiet"), ('d', "detach"), ('m', "merge"), ('c', "create"), ('C', "force-create")],
        ..spec("git switch")
    },
    Spec {
        bools: "SWpqm", valued: "s",
        long_valued: &["source"],
        short_long: &[('S', "staged"), ('W', "worktree"), ('p', "patch"), ('q', "quiet"), ('m', "merge"), ('s', "source")],
        dashdash: true,
        ..spec("git restore")
    },
    Spec {
        bools: "f",
        short_long: &[('f', "force")],
        ..spec("git worktree remove")
    },
    Spec {
        bools: "dlfa", valued: "m",
        long_valued: &["message"],
        short_long: &[('d', "delete"), ('l', "list"), ('f', "force"), ('a', "annotate"), ('m', "message")],
        ..spec("git tag")
    },
    Spec {
        bools: "Afnuv",
        short_long: &[('A', "all"), ('f', "force"), ('n', "dry-run"), ('u', "update"), ('v', "verbose")],
        dashdash: true,
        ..spec("git add")
    },
    Spec {
        bools: "aqvsn", valued: "mF",
        long_valued: &["message", "file", "author", "date"],
        short_long: &[('a', "all"), ('q', "quiet"), ('v', "verbose"), ('s', "signoff"), ('m', "message"), ('F', "file")],
        ..spec("git commit")
    },
];
