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

/// Each pack: its name, its TOML (the source) and the same as JSON (converted at build time,
/// and read instead when a pack is loaded).
const PACKS: &[(&str, &str, &str)] = &[
    (
        "coding-agent",
        include_str!("../packs/coding-agent.toml"),
        include_str!(concat!(env!("OUT_DIR"), "/coding-agent.json")),
    ),
    (
        "filesystem",
        include_str!("../packs/filesystem.toml"),
        include_str!(concat!(env!("OUT_DIR"), "/filesystem.json")),
    ),
    (
        "secrets",
        include_str!("../packs/secrets.toml"),
        include_str!(concat!(env!("OUT_DIR"), "/secrets.json")),
    ),
    (
        "git",
        include_str!("../packs/git.toml"),
        include_str!(concat!(env!("OUT_DIR"), "/git.json")),
    ),
    (
        "network",
        include_str!("../packs/network.toml"),
        include_str!(concat!(env!("OUT_DIR"), "/network.json")),
    ),
    (
        "cloud-aws",
        include_str!("../packs/cloud-aws.toml"),
        include_str!(concat!(env!("OUT_DIR"), "/cloud-aws.json")),
    ),
    (
        "kubernetes",
        include_str!("../packs/kubernetes.toml"),
        include_str!(concat!(env!("OUT_DIR"), "/kubernetes.json")),
    ),
    (
        "databases",
        include_str!("../packs/databases.toml"),
        include_str!(concat!(env!("OUT_DIR"), "/databases.json")),
    ),
    (
        "containers",
        include_str!("../packs/containers.toml"),
        include_str!(concat!(env!("OUT_DIR"), "/containers.json")),
    ),
];

/// The pack called `name`, as its name and text.
pub fn builtin(name: &str) -> Option<(&'static str, &'static str)> {
    PACKS
        .iter()
        .find(|(pack, _, _)| *pack == name)
        .map(|(pack, text, _)| (*pack, *text))
}

/// The JSON of the pack that `text`, loaded as `origin`, is, when it is one unchanged.
pub(crate) fn shipped_json(origin: &str, text: &str) -> Option<&'static str> {
    let name = origin.strip_prefix(PREFIX)?;
    PACKS
        .iter()
        .find(|(pack, toml, _)| *pack == name && *toml == text)
        .map(|(_, _, json)| *json)
}

/// Whether `text`, loaded as `origin`, is the shipped pack of that name, unchanged.
pub(crate) fn is_shipped(origin: &str, text: &str) -> bool {
    shipped_json(origin, text).is_some()
}

/// The names of every built-in pack.
pub fn names() -> impl Iterator<Item = &'static str> {
    PACKS.iter().map(|(name, _, _)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::condition::Condition;

    /// The shipped packs' conditions are compiled when first evaluated, not at load: each
    /// must compile here, so that none ever fails in use.
    #[test]
    fn every_shipped_condition_compiles() {
        let mut conditions = 0;
        for (name, text, _) in PACKS {
            let file = crate::policy::parse(text, name).unwrap();
            for rule in &file.rules {
                if let Some(source) = &rule.condition {
                    conditions += 1;
                    if let Err(error) = Condition::compile(source) {
                        panic!("{name}: rule {}: {error}", rule.id);
                    }
                }
            }
        }
        assert!(conditions > 0);
    }

    #[test]
    fn each_pack_reads_the_same_from_its_json_as_from_its_toml() {
        for (name, toml, json) in PACKS {
            let from_toml = crate::policy::parse_toml_or_json(toml, name).unwrap();
            let from_json = crate::policy::parse_toml_or_json(json, name).unwrap();
            assert_eq!(from_toml, from_json, "{name}");
        }
    }

    #[test]
    fn only_the_unchanged_pack_text_counts_as_shipped() {
        let (_, text) = builtin("coding-agent").unwrap();
        assert!(is_shipped("builtin:coding-agent", text));
        assert!(!is_shipped("builtin:coding-agent", &format!("{text}\n")));
        assert!(!is_shipped("builtin:git", text));
        assert!(!is_shipped("coding-agent.toml", text));
    }
}
