//! Command knowledge as data: what a program does to its operands, which of its options take
//! a value, which flags make it recursive or forced. Adding a command is adding a row.

use preflight_core::Operation;

/// What a program does with its operands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Every operand is a path receiving `Operation`.
    Operands(Operation),
    /// The first operand is not a path (a mode, a pattern, a script); the rest receive
    /// `Operation`.
    SkipFirst(Operation),
    /// All operands but the last are sources (first `Operation`); the last is the
    /// destination (second `Operation`). A `-t DIR` option names the destination instead.
    SourcesDest(Operation, Operation),
}

/// One row of the file command table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FileCommand {
    /// Program names (basename) this row describes.
    pub names: &'static [&'static str],
    /// What happens to the operands.
    pub role: Role,
    /// Short option letters that take a value (`-n 5`, `-n5`).
    pub value_short: &'static str,
    /// Long options that take a value as the next argument.
    pub value_long: &'static [&'static str],
    /// Short letters meaning recursive.
    pub recursive_short: &'static str,
    /// Long options meaning recursive.
    pub recursive_long: &'static [&'static str],
    /// Short letters meaning forced.
    pub forced_short: &'static str,
    /// Long options meaning forced.
    pub forced_long: &'static [&'static str],
    /// Options whose presence turns the operation into `update` (`sed -i`); matched as a
    /// prefix, so `-i.bak` counts.
    pub update_options: &'static [&'static str],
    /// Options whose presence means the first operand is a path after all (`grep -e PAT`).
    pub no_skip_options: &'static [&'static str],
    /// Without operands the program works on the current directory.
    pub default_cwd: bool,
    /// A tag every effect of the program carries.
    pub tag: Option<&'static str>,
}

const BASE: FileCommand = FileCommand {
    names: &[],
    role: Role::Operands(Operation::Read),
    value_short: "",
    value_long: &[],
    recursive_short: "",
    recursive_long: &[],
    forced_short: "",
    forced_long: &[],
    update_options: &[],
    no_skip_options: &[],
    default_cwd: false,
    tag: None,
};

/// The file command table.
pub(crate) const FILE_COMMANDS: &[FileCommand] = &[
    FileCommand {
        names: &["rm", "srm"],
        role: Role::Operands(Operation::Delete),
        recursive_short: "rR",
        recursive_long: &["--recursive"],
        forced_short: "f",
        forced_long: &["--force"],
        ..BASE
    },
    FileCommand {
        names: &["rmdir", "unlink"],
        role: Role::Operands(Operation::Delete),
        ..BASE
    },
    FileCommand {
        names: &["shred"],
        role: Role::Operands(Operation::Delete),
        value_short: "ns",
        forced_short: "f",
        forced_long: &["--force"],
        ..BASE
    },
    FileCommand {
        names: &[
            "cat",
            "tac",
            "less",
            "more",
            "wc",
            "stat",
            "file",
            "strings",
            "xxd",
            "hexdump",
            "od",
            "nl",
            "bat",
            "base64",
            "readlink",
            "realpath",
            "diff",
            "cmp",
            "md5sum",
            "sha1sum",
            "sha256sum",
            "sha512sum",
            "cksum",
            "uniq",
            "view",
            "zcat",
        ],
        role: Role::Operands(Operation::Read),
        value_short: "",
        ..BASE
    },
    FileCommand {
        names: &["head", "tail"],
        role: Role::Operands(Operation::Read),
        value_short: "nc",
        value_long: &["--lines", "--bytes"],
        ..BASE
    },
    FileCommand {
        names: &["sort"],
        role: Role::Operands(Operation::Read),
        value_short: "kto",
        value_long: &["--key", "--field-separator", "--output"],
        ..BASE
    },
    FileCommand {
        names: &["cut"],
        role: Role::Operands(Operation::Read),
        value_short: "dfcb",
        ..BASE
    },
    FileCommand {
        names: &["ls", "ll", "du", "tree", "dir", "exa", "eza"],
        role: Role::Operands(Operation::Read),
        value_short: "IL",
        default_cwd: true,
        ..BASE
    },
    FileCommand {
        names: &["grep", "egrep", "fgrep", "rg", "ag", "ack"],
        role: Role::SkipFirst(Operation::Read),
        value_short: "efmABCgt",
        value_long: &["--regexp", "--file", "--max-count", "--glob", "--type"],
        recursive_short: "rR",
        recursive_long: &["--recursive"],
        no_skip_options: &["-e", "-f", "--regexp", "--file"],
        ..BASE
    },
    FileCommand {
        names: &["jq", "yq", "awk", "gawk", "mawk"],
        role: Role::SkipFirst(Operation::Read),
        value_short: "fFv",
        value_long: &["--arg", "--argjson", "--slurpfile", "--rawfile"],
        no_skip_options: &["-f"],
        ..BASE
    },
    FileCommand {
        names: &["sed"],
        role: Role::SkipFirst(Operation::Read),
        value_short: "ef",
        value_long: &["--expression", "--file"],
        update_options: &["-i", "--in-place"],
        no_skip_options: &["-e", "-f", "--expression", "--file"],
        ..BASE
    },
    FileCommand {
        names: &["touch", "mkdir", "mkfifo", "mknod"],
        role: Role::Operands(Operation::Create),
        value_short: "mdtr",
        value_long: &["--mode", "--date", "--reference"],
        ..BASE
    },
    FileCommand {
        names: &["tee"],
        role: Role::Operands(Operation::Update),
        ..BASE
    },
    FileCommand {
        names: &["truncate"],
        role: Role::Operands(Operation::Update),
        value_short: "sr",
        value_long: &["--size", "--reference"],
        ..BASE
    },
    FileCommand {
        names: &[
            "gzip", "gunzip", "bzip2", "bunzip2", "xz", "unxz", "zstd", "unzstd", "lz4",
        ],
        role: Role::Operands(Operation::Update),
        forced_short: "f",
        forced_long: &["--force"],
        recursive_short: "r",
        recursive_long: &["--recursive"],
        ..BASE
    },
    FileCommand {
        names: &["chmod", "chown", "chgrp", "chattr"],
        role: Role::SkipFirst(Operation::PermissionChange),
        value_long: &["--reference", "--from"],
        recursive_short: "R",
        recursive_long: &["--recursive"],
        no_skip_options: &["--reference"],
        ..BASE
    },
    FileCommand {
        names: &["setfacl"],
        role: Role::SkipFirst(Operation::PermissionChange),
        recursive_short: "R",
        recursive_long: &["--recursive"],
        ..BASE
    },
    FileCommand {
        names: &["cp"],
        role: Role::SourcesDest(Operation::Read, Operation::Create),
        value_short: "tS",
        value_long: &["--target-directory", "--suffix"],
        recursive_short: "rRa",
        recursive_long: &["--recursive", "--archive"],
        forced_short: "f",
        forced_long: &["--force"],
        ..BASE
    },
    FileCommand {
        names: &["mv"],
        role: Role::SourcesDest(Operation::Delete, Operation::Create),
        value_short: "tS",
        value_long: &["--target-directory", "--suffix"],
        forced_short: "f",
        forced_long: &["--force"],
        ..BASE
    },
    FileCommand {
        names: &["ln"],
        role: Role::SourcesDest(Operation::Read, Operation::Create),
        value_short: "tS",
        value_long: &["--target-directory", "--suffix"],
        forced_short: "f",
        forced_long: &["--force"],
        ..BASE
    },
    FileCommand {
        names: &["install"],
        role: Role::SourcesDest(Operation::Read, Operation::Create),
        value_short: "mogtS",
        value_long: &["--mode", "--owner", "--group", "--target-directory"],
        ..BASE
    },
    FileCommand {
        names: &["rsync"],
        role: Role::SourcesDest(Operation::Read, Operation::Update),
        value_short: "efT",
        value_long: &[
            "--exclude",
            "--include",
            "--filter",
            "--rsh",
            "--rsync-path",
        ],
        recursive_short: "ra",
        recursive_long: &["--recursive", "--archive"],
        forced_long: &["--force"],
        ..BASE
    },
    FileCommand {
        names: &["scp", "sftp"],
        role: Role::SourcesDest(Operation::Read, Operation::Update),
        value_short: "PiFlcoSJ",
        recursive_short: "r",
        ..BASE
    },
    FileCommand {
        names: &[
            "mkfs",
            "mkswap",
            "wipefs",
            "fdisk",
            "sfdisk",
            "cfdisk",
            "parted",
            "sgdisk",
            "gdisk",
            "blkdiscard",
            "mke2fs",
            "badblocks",
            "hdparm",
        ],
        role: Role::Operands(Operation::Update),
        value_short: "tLbcnm",
        forced_short: "f",
        forced_long: &["--force"],
        tag: Some("raw_disk_write"),
        ..BASE
    },
];

/// Looks up a program in the file command table; `mkfs.ext4` and friends match `mkfs`.
pub(crate) fn file_command(program: &str) -> Option<&'static FileCommand> {
    let base = program.split('.').next().unwrap_or(program);
    FILE_COMMANDS
        .iter()
        .find(|row| row.names.contains(&program) || row.names.contains(&base))
}

/// Programs that only run, read or print, with no effect beyond `execute`.
pub(crate) const HARMLESS: &[&str] = &[
    "echo", "printf", "true", "false", "test", "[", "pwd", "whoami", "id", "date", "env",
    "printenv", "which", "type", "hostname", "uname", "uptime", "sleep", "wait", "exit", "return",
    "read", "set", "unset", "shift", "export", "local", "declare", "typeset", "readonly", "trap",
    "alias", "unalias", "hash", "history", "jobs", "fg", "bg", "ps", "top", "htop", "df", "free",
    "basename", "dirname", "seq", "yes", "expr", "bc", "tr", "column", "fold", "rev", "paste",
    "join", "comm", "fmt", "tput", "clear", "man", "help", "cd", "pushd", "popd", "dirs", "umask",
    "getopts", "ulimit", "shopt", "compgen", "complete", "whereis", "locate", "lsblk", "lsof",
    "netstat", "ss", "ip", "ifconfig", "ping", "dig", "nslookup", "host", "tput", "stty", "sha256",
    "tsc", "rustc", "rustfmt", "gcc", "cc", "clang", "go", "javac", "black", "ruff", "eslint",
    "prettier", "pytest", "mypy", "jest", "vitest",
];

/// Build tools and script runners: code the inspector cannot read. They only count as
/// opaque when the command is given a known environment (`DATABASE_URL=…prod… npm run x`).
pub(crate) const RUNNERS: &[&str] = &[
    "npm",
    "npx",
    "yarn",
    "pnpm",
    "bun",
    "make",
    "just",
    "rake",
    "gradle",
    "gradlew",
    "mvn",
    "cargo",
    "go",
    "pip",
    "pip3",
    "poetry",
    "uv",
    "bundle",
    "rails",
    "composer",
    "dotnet",
    "mix",
    "deno",
    "tox",
    "nox",
    "task",
    "pytest",
    "jest",
    "vitest",
    "tsc",
    "node",
    "python",
    "python3",
    "ruby",
    "perl",
    "php",
    "docker",
    "docker-compose",
    "podman",
    "ansible-playbook",
    "pulumi",
    "serverless",
    "sls",
    "cdk",
    "prisma",
    "drizzle-kit",
    "knex",
    "sequelize",
    "alembic",
    "flyway",
    "liquibase",
    "diesel",
    "sqlx",
    "migrate",
];

/// Programs that take a subcommand as their first operand.
pub(crate) const WITH_SUBCOMMAND: &[&str] = &[
    "git",
    "npm",
    "yarn",
    "pnpm",
    "bun",
    "cargo",
    "go",
    "kubectl",
    "helm",
    "terraform",
    "tofu",
    "docker",
    "podman",
    "systemctl",
    "service",
    "pip",
    "pip3",
    "poetry",
    "uv",
    "gh",
    "make",
    "just",
    "brew",
    "apt",
    "apt-get",
    "dnf",
    "yum",
    "gcloud",
    "az",
    "aws",
];

/// Shells that run a script given with `-c`, a file, or their standard input.
pub(crate) const SHELLS: &[&str] = &[
    "sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "csh", "tcsh",
];

/// Interpreters whose inline code (`-c`, `-e`) the inspector cannot read.
pub(crate) const INTERPRETERS: &[(&str, &[&str])] = &[
    ("python", &["-c"]),
    ("python2", &["-c"]),
    ("python3", &["-c"]),
    ("pypy", &["-c"]),
    ("pypy3", &["-c"]),
    ("node", &["-e", "--eval", "-p", "--print"]),
    ("nodejs", &["-e", "--eval", "-p", "--print"]),
    ("deno", &["eval"]),
    ("bun", &["-e", "--eval"]),
    ("ruby", &["-e"]),
    ("perl", &["-e", "-E"]),
    ("php", &["-r"]),
    ("lua", &["-e"]),
    ("Rscript", &["-e"]),
    ("osascript", &["-e"]),
    ("pwsh", &["-c", "-Command", "-command", "-EncodedCommand"]),
    (
        "powershell",
        &["-c", "-Command", "-command", "-EncodedCommand"],
    ),
    ("tclsh", &[]),
    ("expect", &["-c"]),
];

/// Wrappers that run the rest of their arguments as a command: name, short options taking a
/// value, long options taking a value, leading positional arguments that are not the command.
pub(crate) const WRAPPERS: &[(&str, &str, &[&str], usize)] = &[
    ("command", "", &[], 0),
    ("builtin", "", &[], 0),
    ("exec", "a", &[], 0),
    ("nohup", "", &[], 0),
    ("time", "fo", &["--format", "--output"], 0),
    ("nice", "n", &["--adjustment"], 0),
    ("ionice", "cnp", &["--class", "--classdata", "--pid"], 0),
    ("timeout", "sk", &["--signal", "--kill-after"], 1),
    ("stdbuf", "ioe", &["--input", "--output", "--error"], 0),
    ("setsid", "", &[], 0),
    ("unbuffer", "", &[], 0),
    ("caffeinate", "tw", &[], 0),
    ("strace", "eopsu", &[], 0),
    ("ltrace", "eopsu", &[], 0),
    ("chronic", "", &[], 0),
    ("flock", "wEs", &["--timeout", "--conflict-exit-code"], 1),
    ("chroot", "", &["--userspec", "--groups"], 1),
    ("taskset", "", &[], 1),
    ("firejail", "", &[], 0),
    ("proxychains", "f", &[], 0),
    ("torsocks", "", &[], 0),
];

/// Wrappers that raise privileges: every effect of the wrapped command is tagged.
pub(crate) const PRIVILEGE: &[(&str, &str)] = &[
    ("sudo", "ugpCDhrtUT"),
    ("doas", "uC"),
    ("pkexec", ""),
    ("run0", ""),
];

/// Whether a path is a block device: writing it destroys a file system.
pub(crate) fn is_block_device(path: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "/dev/sd",
        "/dev/hd",
        "/dev/vd",
        "/dev/xvd",
        "/dev/nvme",
        "/dev/mmcblk",
        "/dev/disk",
        "/dev/mapper/",
        "/dev/md",
        "/dev/dm-",
        "/dev/loop",
        "/dev/rdisk",
        "/dev/root",
    ];
    PREFIXES.iter().any(|p| path.starts_with(p))
}

/// Device files whose writes go nowhere.
pub(crate) fn is_null_device(path: &str) -> bool {
    matches!(
        path,
        "/dev/null" | "/dev/stdout" | "/dev/stderr" | "/dev/tty" | "/dev/zero" | "/dev/stdin"
    ) || path.starts_with("/dev/fd/")
}

/// Kubernetes kinds by every name kubectl accepts, to their canonical singular name.
pub(crate) const KUBE_KINDS: &[(&str, &[&str])] = &[
    ("pod", &["po", "pods"]),
    ("deployment", &["deploy", "deployments"]),
    ("service", &["svc", "services"]),
    ("namespace", &["ns", "namespaces"]),
    ("node", &["no", "nodes"]),
    ("replicaset", &["rs", "replicasets"]),
    ("statefulset", &["sts", "statefulsets"]),
    ("daemonset", &["ds", "daemonsets"]),
    ("job", &["jobs"]),
    ("cronjob", &["cj", "cronjobs"]),
    ("configmap", &["cm", "configmaps"]),
    ("secret", &["secrets"]),
    ("ingress", &["ing", "ingresses"]),
    ("persistentvolume", &["pv", "persistentvolumes"]),
    ("persistentvolumeclaim", &["pvc", "persistentvolumeclaims"]),
    ("serviceaccount", &["sa", "serviceaccounts"]),
    ("role", &["roles"]),
    ("rolebinding", &["rolebindings"]),
    ("clusterrole", &["clusterroles"]),
    ("clusterrolebinding", &["clusterrolebindings"]),
    ("storageclass", &["sc", "storageclasses"]),
    (
        "customresourcedefinition",
        &["crd", "crds", "customresourcedefinitions"],
    ),
    (
        "horizontalpodautoscaler",
        &["hpa", "horizontalpodautoscalers"],
    ),
    ("networkpolicy", &["netpol", "networkpolicies"]),
    ("endpoints", &["ep"]),
    ("event", &["ev", "events"]),
    ("all", &[]),
];

/// Kinds that live outside any namespace.
pub(crate) const KUBE_CLUSTER_SCOPED: &[&str] = &[
    "namespace",
    "node",
    "persistentvolume",
    "clusterrole",
    "clusterrolebinding",
    "storageclass",
    "customresourcedefinition",
];

/// Kinds whose changes change who may do what.
pub(crate) const KUBE_RBAC: &[&str] = &[
    "role",
    "rolebinding",
    "clusterrole",
    "clusterrolebinding",
    "serviceaccount",
];

/// The canonical kind for a name kubectl accepts (`deploy` → `deployment`); unknown names
/// are kept, lowercased, with a trailing `s` dropped.
pub(crate) fn kube_kind(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let base = lower.split('.').next().unwrap_or(&lower).to_string();
    for (canonical, aliases) in KUBE_KINDS {
        if *canonical == base || aliases.contains(&base.as_str()) {
            return (*canonical).to_string();
        }
    }
    base.strip_suffix('s').map(str::to_string).unwrap_or(base)
}

/// AWS operation verbs → operation, checked as a prefix of the operation name in order.
pub(crate) const AWS_VERBS: &[(&str, Operation)] = &[
    ("Describe", Operation::Read),
    ("List", Operation::Read),
    ("Get", Operation::Read),
    ("Head", Operation::Read),
    ("Search", Operation::Read),
    ("Lookup", Operation::Read),
    ("Scan", Operation::Read),
    ("Query", Operation::Read),
    ("BatchGet", Operation::Read),
    ("Select", Operation::Read),
    ("Estimate", Operation::Read),
    ("Preview", Operation::Read),
    ("Validate", Operation::Read),
    ("Simulate", Operation::Read),
    ("Test", Operation::Read),
    ("Check", Operation::Read),
    ("Filter", Operation::Read),
    ("Download", Operation::Read),
    ("Create", Operation::Create),
    ("Put", Operation::Create),
    ("Run", Operation::Create),
    ("Start", Operation::Create),
    ("Import", Operation::Create),
    ("Register", Operation::Create),
    ("Upload", Operation::Create),
    ("Copy", Operation::Create),
    ("Allocate", Operation::Create),
    ("Request", Operation::Create),
    ("Launch", Operation::Create),
    ("BatchWrite", Operation::Create),
    ("Publish", Operation::NetworkSend),
    ("Send", Operation::NetworkSend),
    ("Update", Operation::Update),
    ("Modify", Operation::Update),
    ("Stop", Operation::Update),
    ("Reboot", Operation::Update),
    ("Attach", Operation::Update),
    ("Detach", Operation::Update),
    ("Associate", Operation::Update),
    ("Disassociate", Operation::Update),
    ("Enable", Operation::Update),
    ("Disable", Operation::Update),
    ("Set", Operation::Update),
    ("Change", Operation::Update),
    ("Reset", Operation::Update),
    ("Replace", Operation::Update),
    ("Tag", Operation::Update),
    ("Untag", Operation::Update),
    ("Restore", Operation::Update),
    ("Rotate", Operation::Update),
    ("Cancel", Operation::Update),
    ("Delete", Operation::Delete),
    ("BatchDelete", Operation::Delete),
    ("Terminate", Operation::Delete),
    ("Remove", Operation::Delete),
    ("Destroy", Operation::Delete),
    ("Deregister", Operation::Delete),
    ("Release", Operation::Delete),
    ("Purge", Operation::Delete),
    ("Empty", Operation::Delete),
    ("Deprovision", Operation::Delete),
];

/// Operation name fragments that change access, whatever the service.
pub(crate) const AWS_PERMISSION_MARKERS: &[&str] = &[
    "Policy",
    "Acl",
    "Permission",
    "Authorize",
    "Revoke",
    "Grant",
    "AccessKey",
    "LoginProfile",
];

/// Services whose mutations are identity and access changes.
pub(crate) const AWS_IAM_SERVICES: &[&str] =
    &["iam", "sso-admin", "identitystore", "organizations", "sts"];
