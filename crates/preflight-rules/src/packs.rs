//! The built-in policy packs, embedded in every build: `--policy builtin:NAME`, or
//! `extends = ["builtin:NAME"]` in a policy file.
//!
//! | pack | protects |
//! |---|---|
//! | `coding-agent` | everything below, and lets ordinary project work through: the default for a coding agent on a person's machine |
//! | `filesystem` | the home directory, system paths and raw disks; project files stay editable |
//! | `secrets` | credential files, the environment, credential stores and cloud metadata endpoints |
//! | `git` | history and uncommitted work: force pushes, hard resets, branch and worktree deletes |
//! | `network` | sending data out, downloads piped into a shell |
//! | `cloud-aws` | AWS: reads pass, changes ask, deletes and IAM are refused |
//! | `kubernetes` | clusters: reads pass, changes ask, deletes are refused |
//! | `databases` | SQL: reads pass, writes ask, drops and unbounded writes are refused |
//! | `containers` | docker: local work passes, pruning and privileged containers ask |

/// The prefix that names a built-in pack where a policy path is expected.
pub const PREFIX: &str = "builtin:";

const PACKS: &[(&str, &str)] = &[
    ("coding-agent", include_str!("../packs/coding-agent.toml")),
    ("filesystem", include_str!("../packs/filesystem.toml")),
    ("secrets", include_str!("../packs/secrets.toml")),
    ("git", include_str!("../packs/git.toml")),
    ("network", include_str!("../packs/network.toml")),
    ("cloud-aws", include_str!("../packs/cloud-aws.toml")),
    ("kubernetes", include_str!("../packs/kubernetes.toml")),
    ("databases", include_str!("../packs/databases.toml")),
    ("containers", include_str!("../packs/containers.toml")),
];

/// The pack called `name`, as its name and text.
pub fn builtin(name: &str) -> Option<(&'static str, &'static str)> {
    PACKS.iter().copied().find(|(pack, _)| *pack == name)
}

/// The names of every built-in pack.
pub fn names() -> impl Iterator<Item = &'static str> {
    PACKS.iter().map(|(name, _)| *name)
}
