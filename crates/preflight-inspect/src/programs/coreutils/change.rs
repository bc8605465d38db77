//! The tools that change files: delete, copy, move, link, create, write, change modes.

use preflight_core::Operation;

use super::{BACKUP, HELP, Role, TOOL, Tool, VERBOSE, gnu};
use crate::programs::spec::{flag, optional, value};

pub(super) const CHANGE: &[Tool] = &[
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
            flag(
                "flag",
                "dHlLnPpsTxZ",
                &[
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
                ],
            ),
            flag("force", "f", &["force", "remove-destination"]),
            flag("interactive", "i", &["interactive"]),
            optional("preserve", "", &["preserve", "reflink", "context"]),
            value("no-preserve", "", &["no-preserve", "sparse"]),
            flag("recursive", "rR", &["recursive"]),
            value("target", "t", &["target-directory"]),
            flag("update", "u", &["update"]),
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
            flag(
                "flag",
                "nTZ",
                &[
                    "no-clobber",
                    "strip-trailing-slashes",
                    "no-target-directory",
                    "context",
                ],
            ),
            flag("force", "f", &["force"]),
            flag("interactive", "i", &["interactive"]),
            value("target", "t", &["target-directory"]),
            flag("update", "u", &["update"]),
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
            flag(
                "flag",
                "dFiLnPrsT",
                &[
                    "directory",
                    "interactive",
                    "logical",
                    "no-dereference",
                    "physical",
                    "relative",
                    "symbolic",
                    "no-target-directory",
                ],
            ),
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
            flag(
                "flag",
                "cCDpsTZ",
                &[
                    "compare",
                    "preserve-timestamps",
                    "strip",
                    "no-target-directory",
                ],
            ),
            flag("directory", "d", &["directory"]),
            value("value", "gmo", &["group", "mode", "owner"]),
            optional("context", "", &["context"]),
            value("target", "t", &["target-directory"]),
        ]),
        role: Role::SourcesDest(Operation::Read, Operation::Create),
        ..TOOL
    },
    Tool {
        names: &["mkdir"],
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
        names: &["mkfifo"],
        spec: gnu(&[
            HELP,
            value("mode", "m", &["mode"]),
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
            flag(
                "flag",
                "cf",
                &[
                    "changes",
                    "silent",
                    "quiet",
                    "no-preserve-root",
                    "preserve-root",
                ],
            ),
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
            flag(
                "flag",
                "cfhHLP",
                &[
                    "changes",
                    "silent",
                    "quiet",
                    "dereference",
                    "no-dereference",
                    "no-preserve-root",
                    "preserve-root",
                ],
            ),
            value("reference", "", &["reference"]),
            flag("recursive", "R", &["recursive"]),
        ]),
        role: Role::SkipFirst(Operation::PermissionChange),
        recursive: &["recursive"],
        reads: &["reference"],
        no_skip: &["reference"],
        ..TOOL
    },
];
