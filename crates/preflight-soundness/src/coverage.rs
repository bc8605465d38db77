//! Whether inspection accounted for an observed effect: listed it, or covered it with an
//! opaque effect.

use preflight_core::{Effect, Operation};
use serde::Serialize;

use crate::observe::{Kind, Observed, Program, basename};

/// How an observed effect was covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cover {
    /// A listed effect on the path or program, with a fitting operation.
    Listed,
    /// An exec of an internal helper of a listed parent program (git's `git-*`, …).
    Helper,
    /// A listed network effect covers a connect.
    Network,
    /// The remote side of a push or fetch, which the sandbox keeps on a local path.
    RemoteSide,
    /// An opaque effect on a path or pattern covering the observed path.
    OpaqueFile,
    /// The effect happened under a program that inspection marked opaque.
    OpaqueProgram,
    /// An opaque effect covers the whole line (`unbounded`, or `cmd://sh`).
    OpaqueLine,
    /// The effect happened under a program a policy allows or refuses as a whole, by name:
    /// the project's own code (`project://PROGRAM/…`), or a program inspection has no model
    /// of (`execute cmd://NAME`, whatever it does).
    ByName,
    /// Git's own store (`.git/`) changed by git, for a command with git effects: the logical
    /// effects (`git://` refs, the repository) describe it.
    GitStore,
}

impl Cover {
    /// The snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Cover::Listed => "listed",
            Cover::Helper => "helper",
            Cover::Network => "network",
            Cover::RemoteSide => "remote_side",
            Cover::OpaqueFile => "opaque_file",
            Cover::OpaqueProgram => "opaque_program",
            Cover::OpaqueLine => "opaque_line",
            Cover::ByName => "by_name",
            Cover::GitStore => "git_store",
        }
    }
}

/// Programs that run internal helpers of their own; an exec of a helper by (a descendant of)
/// its parent is part of the parent's effect, not a separate program the line names.
///
/// | parent | helpers | why |
/// |---|---|---|
/// | `git` | `git`, `git-*` (and anything under a `git-core` directory), `sh`, `ssh` | sub-commands, transports and remote helpers (`git-receive-pack`, `git-remote-https`); `sh` runs a transport command line; `ssh` reaches `ssh://` remotes |
/// | `tar` | `sh`, `gzip`, `bzip2`, `xz`, `zstd`, `lzip`, `lzma`, `lzop`, `compress` | `-z`, `-j`, `-J`, `--zstd` filters, which tar starts through `sh -c` |
/// | `mkfs` | `mkfs.*` | the front end runs the file system's own `mkfs.TYPE` |
/// | `scp`, `rsync` | `ssh` | the transport |
pub fn is_helper(parent: &str, child: &Program) -> bool {
    match parent {
        "git" => {
            child.name == "git"
                || child.name.starts_with("git-")
                || child.path.contains("/git-core/")
                || child.name == "sh"
                || child.name == "ssh"
        }
        "tar" => matches!(
            child.name.as_str(),
            "sh" | "gzip" | "bzip2" | "xz" | "zstd" | "lzip" | "lzma" | "lzop" | "compress"
        ),
        "mkfs" => child.name.starts_with("mkfs."),
        "scp" | "rsync" => child.name == "ssh",
        _ => false,
    }
}

/// Helpers that serve the far end of a transport: what they write is the remote's state.
fn is_remote_side(program: &Program) -> bool {
    matches!(
        program.name.as_str(),
        "git-receive-pack" | "git-upload-pack" | "git-upload-archive"
    )
}

/// Resource schemes that are reached over the network or a daemon's socket.
const NETWORK_SCHEMES: [&str; 13] = [
    "http://",
    "https://",
    "git://",
    "ssh://",
    "ftp://",
    "sftp://",
    "rsync://",
    "sql://",
    "aws://",
    "k8s://",
    "terraform://",
    "mcp://",
    "docker://",
];

/// The path of a `file://` resource.
fn file_path(resource: &str) -> Option<&str> {
    resource.strip_prefix("file://")
}

/// The program of a `cmd://` resource.
fn command_name(resource: &str) -> Option<&str> {
    resource.strip_prefix("cmd://")
}

/// Whether the operation of an inspected effect fits an observed file effect. A removal of a
/// path that exists again after the command (`replaced`) is an update of it.
pub fn operation_fits(kind: Kind, replaced: bool, operation: Operation) -> bool {
    use Operation::{Create, Delete, PermissionChange, Update};
    if replaced && matches!(kind, Kind::Unlink | Kind::Rmdir | Kind::RenameSource) {
        return matches!(operation, Update | Delete);
    }
    match kind {
        Kind::Write | Kind::Create | Kind::Truncate | Kind::Mkdir => {
            matches!(operation, Create | Update | Delete)
        }
        Kind::Unlink | Kind::Rmdir | Kind::RenameSource => operation == Delete,
        Kind::RenameTarget | Kind::Link => matches!(operation, Create | Update | Delete),
        Kind::Chmod | Kind::Chown => matches!(operation, PermissionChange | Update),
        Kind::Exec | Kind::Connect => false,
    }
}

/// Whether `pattern` (a normalised path, possibly with `*`, `**`, `?`, `[…]`) covers `path`,
/// also as an ancestor when `recursive`.
pub fn path_covered(pattern: &str, recursive: bool, path: &str) -> bool {
    if glob_match(pattern, path) {
        return true;
    }
    if !recursive {
        return false;
    }
    let mut ancestor = path;
    while let Some(slash) = ancestor.rfind('/') {
        ancestor = if slash == 0 { "/" } else { &ancestor[..slash] };
        if glob_match(pattern, ancestor) {
            return true;
        }
        if ancestor == "/" {
            break;
        }
    }
    false
}

/// Matches a path against a glob, segment by segment: `**` is any number of segments, `*` any
/// characters but `/`, `?` one, `[…]` a class.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    if pattern == path {
        return true;
    }
    if !pattern.contains(['*', '?', '[']) {
        return false;
    }
    let pattern: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let path: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match_segments(&pattern, &path)
}

fn match_segments(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|skip| match_segments(rest, &path[skip..])),
        Some((first, rest)) => match path.split_first() {
            Some((segment, path_rest)) => {
                match_chars(
                    &first.chars().collect::<Vec<_>>(),
                    &segment.chars().collect::<Vec<_>>(),
                ) && match_segments(rest, path_rest)
            }
            None => false,
        },
    }
}

fn match_chars(pattern: &[char], text: &[char]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some(('*', rest)) => (0..=text.len()).any(|skip| match_chars(rest, &text[skip..])),
        Some(('?', rest)) => !text.is_empty() && match_chars(rest, &text[1..]),
        Some(('[', rest)) => {
            let Some(close) = rest.iter().skip(1).position(|&c| c == ']').map(|p| p + 1) else {
                return text.first() == Some(&'[') && match_chars(rest, &text[1..]);
            };
            let Some(&c) = text.first() else {
                return false;
            };
            let class = &rest[..close];
            let (negated, class) = match class.first() {
                Some('!' | '^') => (true, &class[1..]),
                _ => (false, class),
            };
            let mut found = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    found |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    found |= class[i] == c;
                    i += 1;
                }
            }
            found != negated && match_chars(&rest[close + 1..], &text[1..])
        }
        Some((p, rest)) => text.first() == Some(p) && match_chars(rest, &text[1..]),
    }
}

/// How `observed` is covered by `effects`, or `None` when it is not: a soundness failure.
pub fn coverage(observed: &Observed, effects: &[Effect]) -> Option<Cover> {
    if listed(observed, effects) {
        return Some(Cover::Listed);
    }
    if observed.kind == Kind::Exec {
        let program = Program {
            name: basename(&observed.target).to_string(),
            path: observed.target.clone(),
        };
        if helper_of_lineage(&program, &observed.lineage) {
            return Some(Cover::Helper);
        }
    }
    if observed.kind == Kind::Connect
        && effects.iter().any(|e| {
            e.operation == Operation::NetworkSend
                || NETWORK_SCHEMES.iter().any(|s| e.resource.starts_with(s))
        })
    {
        return Some(Cover::Network);
    }
    if observed.kind.is_file()
        && observed.lineage.iter().any(is_remote_side)
        && effects.iter().any(|e| e.resource.starts_with("git://"))
    {
        return Some(Cover::RemoteSide);
    }
    let mut lineage: Vec<&str> = observed.lineage.iter().map(|p| p.name.as_str()).collect();
    if observed.kind == Kind::Exec {
        lineage.push(basename(&observed.target));
    }
    if effects
        .iter()
        .any(|e| by_name(e).is_some_and(|name| lineage.iter().any(|p| program_matches(name, p))))
    {
        return Some(Cover::ByName);
    }
    if observed.kind.is_file()
        && in_git_store(&observed.target)
        && observed
            .lineage
            .iter()
            .any(|p| p.name == "git" || p.name.starts_with("git-"))
        && effects.iter().any(|e| {
            e.resource.starts_with("git://")
                || e.attributes.get("command").is_some_and(|c| c == "git")
        })
    {
        return Some(Cover::GitStore);
    }
    let opaque: Vec<&Effect> = effects.iter().filter(|e| e.opaque).collect();
    if opaque.is_empty() {
        return None;
    }
    if opaque
        .iter()
        .any(|e| e.unbounded || e.resource == "cmd://sh")
    {
        return Some(Cover::OpaqueLine);
    }
    if observed.kind == Kind::Connect {
        return Some(Cover::Network);
    }
    if observed.kind.is_file()
        && opaque.iter().any(|e| {
            file_path(&e.resource).is_some_and(|p| path_covered(p, e.recursive, &observed.target))
        })
    {
        return Some(Cover::OpaqueFile);
    }
    let opaque_programs: Vec<&str> = opaque
        .iter()
        .filter_map(|e| command_name(&e.resource))
        .collect();
    let mut programs: Vec<&str> = observed.lineage.iter().map(|p| p.name.as_str()).collect();
    let exec_name = basename(&observed.target);
    if observed.kind == Kind::Exec {
        programs.push(exec_name);
    }
    if programs
        .iter()
        .any(|p| opaque_programs.iter().any(|o| program_matches(o, p)))
    {
        return Some(Cover::OpaqueProgram);
    }
    None
}

/// The program an effect allows or refuses as a whole: `project://PROGRAM/…`, or a
/// non-opaque `execute cmd://NAME` of a program with no model.
fn by_name(effect: &Effect) -> Option<&str> {
    if effect.operation != Operation::Execute {
        return None;
    }
    if let Some(rest) = effect.resource.strip_prefix("project://") {
        return rest.split('/').next();
    }
    let name = command_name(&effect.resource)?;
    (!effect.opaque && !name.contains('/') && !preflight_inspect::is_modelled(name)).then_some(name)
}

/// Whether a path is inside a `.git` directory.
fn in_git_store(path: &str) -> bool {
    path.contains("/.git/") || path.ends_with("/.git")
}

/// Whether the program of a `cmd://` resource names `name`: the same base name, or a glob
/// matching it (`cmd://*` is a program whose name is only known at run time).
pub fn program_matches(program: &str, name: &str) -> bool {
    let base = basename(program);
    base == name
        || (base.contains(['*', '?', '['])
            && match_chars(
                &base.chars().collect::<Vec<_>>(),
                &name.chars().collect::<Vec<_>>(),
            ))
}

fn listed(observed: &Observed, effects: &[Effect]) -> bool {
    match observed.kind {
        Kind::Exec => {
            let name = basename(&observed.target);
            effects.iter().any(|e| {
                (e.operation == Operation::Execute || e.opaque)
                    && match command_name(&e.resource) {
                        Some(program) => {
                            program == observed.target || program_matches(program, name)
                        }
                        None => file_path(&e.resource) == Some(observed.target.as_str()),
                    }
            })
        }
        Kind::Connect => false,
        kind => effects.iter().any(|e| {
            operation_fits(kind, observed.replaced, e.operation)
                && file_path(&e.resource)
                    .is_some_and(|p| path_covered(p, e.recursive, &observed.target))
        }),
    }
}

/// Whether `program` is a helper of the nearest program in `lineage` that is not itself a
/// helper of the one before it.
fn helper_of_lineage(program: &Program, lineage: &[Program]) -> bool {
    let mut end = lineage.len();
    while end > 0 {
        let parent = &lineage[end - 1];
        if is_helper(&parent.name, program) {
            return true;
        }
        let parent_is_helper = end >= 2 && is_helper(&lineage[end - 2].name, parent);
        if !parent_is_helper {
            return false;
        }
        end -= 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn effect(operation: Operation, resource: &str) -> Effect {
        Effect::new(operation, resource)
    }

    fn observed(kind: Kind, target: &str, lineage: &[&str]) -> Observed {
        Observed {
            kind,
            syscall: "test".into(),
            target: target.into(),
            argv: Vec::new(),
            errno: None,
            process: Vec::new(),
            replaced: false,
            lineage: lineage
                .iter()
                .map(|n| Program {
                    name: basename(n).to_string(),
                    path: if n.starts_with('/') {
                        (*n).to_string()
                    } else {
                        format!("/usr/bin/{n}")
                    },
                })
                .collect(),
        }
    }

    #[test]
    fn globs() {
        assert!(glob_match("/tmp/*", "/tmp/x"));
        assert!(!glob_match("/tmp/*", "/tmp/x/y"));
        assert!(glob_match("/**/build", "/workspace/app/build"));
        assert!(glob_match("/**/build", "/build"));
        assert!(glob_match("/**", "/anything/at/all"));
        assert!(glob_match("/w/*.py[co]", "/w/a.pyc"));
        assert!(!glob_match("/w/*.py[!co]", "/w/a.pyc"));
        assert!(glob_match("/w/a?c", "/w/abc"));
        assert!(path_covered("/tmp/*", true, "/tmp/x/y/z"));
        assert!(path_covered("/", true, "/etc/passwd"));
        assert!(!path_covered("/tmp/x", false, "/tmp/x/y"));
        assert!(path_covered("/tmp/x", true, "/tmp/x/y"));
        assert!(!path_covered("/tmp/x", true, "/tmp/xy"));
    }

    #[test]
    fn file_effects_need_a_fitting_operation() {
        let delete = effect(Operation::Delete, "file:///workspace/app/a.txt");
        let read = effect(Operation::Read, "file:///workspace/app/a.txt");
        let unlink = observed(Kind::Unlink, "/workspace/app/a.txt", &["rm"]);
        assert_eq!(
            coverage(&unlink, std::slice::from_ref(&delete)),
            Some(Cover::Listed)
        );
        assert_eq!(coverage(&unlink, std::slice::from_ref(&read)), None);
        let update = effect(Operation::Update, "file:///workspace/app/a.txt");
        assert_eq!(coverage(&unlink, std::slice::from_ref(&update)), None);
        let write = observed(Kind::Write, "/workspace/app/a.txt", &[]);
        assert_eq!(
            coverage(&write, std::slice::from_ref(&update)),
            Some(Cover::Listed)
        );
        let chmod = observed(Kind::Chmod, "/workspace/app/a.txt", &["chmod"]);
        assert_eq!(coverage(&chmod, &[update]), Some(Cover::Listed));
        assert_eq!(coverage(&chmod, &[delete]), None);
        let mut recursive = effect(Operation::Delete, "file:///workspace/app");
        recursive.recursive = true;
        let mut replaced = observed(Kind::Unlink, "/workspace/app/a.txt", &["git"]);
        replaced.replaced = true;
        let update = effect(Operation::Update, "file:///workspace/app/a.txt");
        assert_eq!(coverage(&replaced, &[update]), Some(Cover::Listed));
        let deep = observed(Kind::Rmdir, "/workspace/app/src/legacy", &["rm"]);
        assert_eq!(coverage(&deep, &[recursive]), Some(Cover::Listed));
    }

    #[test]
    fn execs_by_name_path_or_helper() {
        let rm = observed(Kind::Exec, "/usr/bin/rm", &[]);
        assert_eq!(
            coverage(&rm, &[effect(Operation::Execute, "cmd://rm")]),
            Some(Cover::Listed)
        );
        assert_eq!(
            coverage(&rm, &[effect(Operation::Execute, "cmd:///usr/bin/rm")]),
            Some(Cover::Listed)
        );
        assert_eq!(
            coverage(&rm, &[effect(Operation::Delete, "cmd://rm")]),
            None
        );
        let helper = observed(
            Kind::Exec,
            "/usr/local/libexec/git-core/git-receive-pack",
            &["git", "sh"],
        );
        assert_eq!(
            coverage(&helper, &[effect(Operation::Execute, "cmd://git")]),
            Some(Cover::Helper)
        );
        let inner = observed(Kind::Exec, "/usr/bin/rm", &["xargs"]);
        assert_eq!(
            coverage(&inner, &[effect(Operation::Execute, "cmd://xargs")]),
            None
        );
        let gzip = observed(Kind::Exec, "/usr/bin/gzip", &["tar", "sh"]);
        assert_eq!(coverage(&gzip, &[]), Some(Cover::Helper));
        let mkfs = observed(Kind::Exec, "/usr/sbin/mkfs.ext4", &["mkfs"]);
        assert_eq!(coverage(&mkfs, &[]), Some(Cover::Helper));
        let mut unknown = effect(Operation::Execute, "cmd://*");
        unknown.opaque = true;
        assert_eq!(coverage(&rm, &[unknown.clone()]), Some(Cover::Listed));
        let below = observed(Kind::Unlink, "/x", &["sh"]);
        assert_eq!(coverage(&below, &[unknown]), Some(Cover::OpaqueProgram));
        let sh_elsewhere = observed(Kind::Exec, "/usr/bin/sh", &["find"]);
        assert_eq!(coverage(&sh_elsewhere, &[]), None);
    }

    #[test]
    fn connects_need_a_network_effect_or_an_opaque_one() {
        let connect = observed(Kind::Connect, "inet:1.2.3.4:443", &["curl"]);
        assert_eq!(
            coverage(&connect, &[effect(Operation::Execute, "cmd://curl")]),
            None
        );
        assert_eq!(
            coverage(
                &connect,
                &[effect(Operation::Read, "https://evil.example/")]
            ),
            Some(Cover::Network)
        );
        assert_eq!(
            coverage(&connect, &[effect(Operation::NetworkSend, "tool://x")]),
            Some(Cover::Network)
        );
        let mut opaque = effect(Operation::Execute, "cmd://python3");
        opaque.opaque = true;
        assert_eq!(coverage(&connect, &[opaque]), Some(Cover::Network));
    }

    #[test]
    fn opaque_coverage() {
        let mut python = effect(Operation::Execute, "cmd://python3");
        python.opaque = true;
        let unlink = observed(Kind::Unlink, "/home/alice/.bashrc", &["python3"]);
        assert_eq!(
            coverage(&unlink, &[python.clone()]),
            Some(Cover::OpaqueProgram)
        );
        let unrelated = observed(Kind::Unlink, "/home/alice/.bashrc", &["rm"]);
        assert_eq!(coverage(&unrelated, &[python]), None);
        let mut pattern = effect(Operation::Read, "file:///**");
        pattern.opaque = true;
        assert_eq!(coverage(&unrelated, &[pattern]), Some(Cover::OpaqueFile));
        let mut line = effect(Operation::Execute, "cmd://sh");
        line.opaque = true;
        assert_eq!(coverage(&unrelated, &[line]), Some(Cover::OpaqueLine));
        let mut unbounded = effect(Operation::Delete, "sql://db/app/users");
        unbounded.opaque = true;
        unbounded.unbounded = true;
        assert_eq!(coverage(&unrelated, &[unbounded]), Some(Cover::OpaqueLine));
    }

    #[test]
    fn the_remote_side_of_a_push() {
        let write = observed(
            Kind::RenameTarget,
            "/srv/remote.git/refs/heads/main",
            &["git", "/usr/local/libexec/git-core/git-receive-pack"],
        );
        assert_eq!(
            coverage(&write, &[effect(Operation::Update, "git://origin/main")]),
            Some(Cover::RemoteSide)
        );
        assert_eq!(
            coverage(&write, &[effect(Operation::Execute, "cmd://git")]),
            None
        );
    }
}
