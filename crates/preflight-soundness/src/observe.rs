//! From system calls to observed effects: which process made each call (its exec lineage),
//! which absolute path it touched, and whether the call counts as an effect at all.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::Serialize;

use crate::strace::{Call, Outcome, annotation, string_array, unquote};

/// What an observed effect did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A file opened for writing (`O_WRONLY`, `O_RDWR`, `O_CREAT`, `O_TRUNC`, `O_APPEND`).
    Write,
    /// A file created by `creat` or `mknod`.
    Create,
    /// A file truncated by `truncate`/`ftruncate`.
    Truncate,
    /// A directory created.
    Mkdir,
    /// A file unlinked.
    Unlink,
    /// A directory removed.
    Rmdir,
    /// The old name of a rename.
    RenameSource,
    /// The new name of a rename.
    RenameTarget,
    /// The new name of a hard or symbolic link.
    Link,
    /// A mode change.
    Chmod,
    /// An owner change.
    Chown,
    /// A program executed.
    Exec,
    /// A socket connected.
    Connect,
}

impl Kind {
    /// Whether the effect is on a file path.
    pub fn is_file(self) -> bool {
        !matches!(self, Kind::Exec | Kind::Connect)
    }

    /// Whether a successful call of this kind leaves the path in existence (so a path that
    /// exists neither before nor after must have been made and removed by the same run).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Write => "write",
            Kind::Create => "create",
            Kind::Truncate => "truncate",
            Kind::Mkdir => "mkdir",
            Kind::Unlink => "unlink",
            Kind::Rmdir => "rmdir",
            Kind::RenameSource => "rename_source",
            Kind::RenameTarget => "rename_target",
            Kind::Link => "link",
            Kind::Chmod => "chmod",
            Kind::Chown => "chown",
            Kind::Exec => "exec",
            Kind::Connect => "connect",
        }
    }
}

/// A program exec'd in a process's ancestry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Program {
    /// The base name of the executed file (`rm`).
    pub name: String,
    /// The path as passed to `execve`, made absolute.
    pub path: String,
}

/// One effect seen while the command ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Observed {
    /// What it did.
    pub kind: Kind,
    /// The system call.
    pub syscall: String,
    /// The absolute path (file effects), the program's path (exec) or the address (connect).
    pub target: String,
    /// The argv of an exec.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub argv: Vec<String>,
    /// The errno when the attempt failed for a reason a real machine would not have.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errno: Option<String>,
    /// The argv of the process that made the call.
    pub process: Vec<String>,
    /// The programs exec'd in the process's ancestry, oldest first, the harness's own shell
    /// excluded. For an exec, the ancestry before it.
    pub lineage: Vec<Program>,
    /// A path removed (unlinked, rmdir'ed, renamed away) that exists again after the command:
    /// it was replaced, not lost (git rewrites a file by unlinking and creating it).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub replaced: bool,
}

impl Observed {
    /// Whether the call succeeded.
    pub fn succeeded(&self) -> bool {
        self.errno.is_none()
    }
}

/// The errors of attempts that count as effects: on a real machine, with the user's rights
/// and a writable system, the call would have succeeded.
pub const COUNTED_ERRORS: [&str; 4] = ["EACCES", "EPERM", "EROFS", "EBUSY"];

/// Paths that are never effects: the terminal, the bit bucket, kernel interfaces, and the
/// harness's own trace file.
pub fn is_ignored_path(path: &str) -> bool {
    const EXACT: [&str; 6] = [
        "/dev/null",
        "/dev/tty",
        "/dev/stdin",
        "/dev/stdout",
        "/dev/stderr",
        crate::sandbox::TRACE_PATH,
    ];
    const PREFIXES: [&str; 5] = ["/dev/pts/", "/dev/fd/", "/proc/", "/sys/", "/dev/tty"];
    EXACT.contains(&path)
        || path == "/proc"
        || path == "/sys"
        || PREFIXES.iter().any(|p| path.starts_with(p))
}

/// Unix sockets of name-service caches, contacted by any user lookup.
fn is_nameservice_socket(path: &str) -> bool {
    const SOCKETS: [&str; 6] = [
        "/var/run/nscd/socket",
        "/run/nscd/socket",
        "/run/systemd/userdb/",
        "/var/lib/sss/pipes/",
        "/run/systemd/resolve/",
        "/var/run/systemd/resolve/",
    ];
    SOCKETS.iter().any(|s| path == *s || path.starts_with(s))
}

#[derive(Debug, Clone)]
struct Process {
    cwd: String,
    argv: Vec<String>,
    lineage: Vec<Program>,
}

/// Turns a trace into the effects it shows, in order, without duplicates. `cwd` is where the
/// root process started; the root's first exec (the harness's `bash -c`) is not an effect.
pub fn observe(calls: &[Call], cwd: &str) -> Vec<Observed> {
    let mut parents: HashMap<u32, u32> = HashMap::new();
    for call in calls {
        if is_fork(&call.name) {
            if let Outcome::Ok { value, .. } = call.outcome {
                if let Ok(child) = u32::try_from(value) {
                    if child > 0 {
                        parents.entry(child).or_insert(call.pid);
                    }
                }
            }
        }
    }
    let root = calls.first().map_or(0, |c| c.pid);
    let mut table: HashMap<u32, Process> = HashMap::new();
    table.insert(
        root,
        Process {
            cwd: cwd.to_string(),
            argv: Vec::new(),
            lineage: Vec::new(),
        },
    );
    let mut harness_exec_seen = false;
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for call in calls {
        if !table.contains_key(&call.pid) {
            let state = parents
                .get(&call.pid)
                .and_then(|p| table.get(p))
                .cloned()
                .unwrap_or_else(|| Process {
                    cwd: cwd.to_string(),
                    argv: Vec::new(),
                    lineage: Vec::new(),
                });
            table.insert(call.pid, state);
        }
        let Some(process) = table.get_mut(&call.pid) else {
            continue;
        };
        // `-y` prints the working directory with every `AT_FDCWD`: the best source there is.
        for arg in &call.args {
            if arg.starts_with("AT_FDCWD<") {
                if let Some(dir) = annotation(arg) {
                    process.cwd = dir;
                }
            }
        }
        if is_fork(&call.name) {
            if let Outcome::Ok { value, .. } = call.outcome {
                if let Ok(child) = u32::try_from(value) {
                    if child > 0 && !table.contains_key(&child) {
                        if let Some(state) = table.get(&call.pid).cloned() {
                            table.insert(child, state);
                        }
                    }
                }
            }
            continue;
        }
        let process_view = process.clone();
        match call.name.as_str() {
            "chdir" => {
                if let (true, Some(path)) = (call.outcome.is_ok(), arg_string(call, 0)) {
                    process.cwd = join(&process.cwd, &path);
                }
                continue;
            }
            "fchdir" => {
                if let (true, Some(path)) = (call.outcome.is_ok(), arg_fd_path(call, 0)) {
                    process.cwd = path;
                }
                continue;
            }
            "execve" | "execveat" => {
                if !call.outcome.is_ok() {
                    continue;
                }
                let (path, argv) = if call.name == "execve" {
                    (
                        arg_string(call, 0).map(|p| join(&process.cwd, &p)),
                        call.args
                            .get(1)
                            .map(|a| string_array(a))
                            .unwrap_or_default(),
                    )
                } else {
                    (
                        at_path(call, 0, 1, &process.cwd),
                        call.args
                            .get(2)
                            .map(|a| string_array(a))
                            .unwrap_or_default(),
                    )
                };
                let Some(path) = path else { continue };
                process.argv = argv.clone();
                if call.pid == root && !harness_exec_seen {
                    harness_exec_seen = true;
                    continue;
                }
                let program = Program {
                    name: basename(&path).to_string(),
                    path: path.clone(),
                };
                process.lineage.push(program);
                let observed = Observed {
                    kind: Kind::Exec,
                    syscall: call.name.clone(),
                    target: path,
                    argv: argv.clone(),
                    errno: None,
                    process: argv,
                    lineage: process_view.lineage,
                    replaced: false,
                };
                push_unique(&mut out, &mut seen, observed);
                continue;
            }
            _ => {}
        }
        for (kind, target) in effects_of(call, &process_view.cwd) {
            let counted = match &call.outcome {
                Outcome::Ok { .. } => true,
                Outcome::Err(errno) => {
                    kind == Kind::Connect || COUNTED_ERRORS.contains(&errno.as_str())
                }
                Outcome::Unknown => kind == Kind::Connect,
            };
            if !counted {
                continue;
            }
            if kind.is_file() && (is_ignored_path(&target) || !target.starts_with('/')) {
                continue;
            }
            let observed = Observed {
                kind,
                syscall: call.name.clone(),
                target,
                argv: Vec::new(),
                errno: call.outcome.errno().map(str::to_string),
                process: process_view.argv.clone(),
                lineage: process_view.lineage.clone(),
                replaced: false,
            };
            push_unique(&mut out, &mut seen, observed);
        }
    }
    out
}

fn push_unique(
    out: &mut Vec<Observed>,
    seen: &mut HashSet<(Kind, String, Vec<String>)>,
    observed: Observed,
) {
    let key = (
        observed.kind,
        observed.target.clone(),
        observed.argv.clone(),
    );
    if seen.insert(key) {
        out.push(observed);
    }
}

fn is_fork(name: &str) -> bool {
    matches!(name, "clone" | "clone3" | "fork" | "vfork")
}

const WRITE_FLAGS: [&str; 5] = ["O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND"];

/// Whether `open` flags write. `O_TMPFILE` makes a file with no name, which is not an effect
/// (a later `linkat` giving it one is).
fn opens_for_writing(flags: &str) -> bool {
    let mut flags = flags.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
    let flags: Vec<&str> = flags.by_ref().collect();
    !flags.contains(&"O_TMPFILE") && flags.iter().any(|flag| WRITE_FLAGS.contains(flag))
}

/// The file or network effects of one call, with absolute targets.
fn effects_of(call: &Call, cwd: &str) -> Vec<(Kind, String)> {
    let one =
        |kind: Kind, target: Option<String>| target.map(|t| vec![(kind, t)]).unwrap_or_default();
    let path_arg = |index: usize| arg_string(call, index).map(|p| join(cwd, &p));
    match call.name.as_str() {
        "open" if call.args.get(1).is_some_and(|f| opens_for_writing(f)) => {
            one(Kind::Write, path_arg(0))
        }
        "openat" if call.args.get(2).is_some_and(|f| opens_for_writing(f)) => {
            one(Kind::Write, at_path(call, 0, 1, cwd))
        }
        "openat2" if call.args.get(2).is_some_and(|f| opens_for_writing(f)) => {
            one(Kind::Write, at_path(call, 0, 1, cwd))
        }
        "creat" => one(Kind::Create, path_arg(0)),
        "mknod" => one(Kind::Create, path_arg(0)),
        "mknodat" => one(Kind::Create, at_path(call, 0, 1, cwd)),
        "truncate" => one(Kind::Truncate, path_arg(0)),
        "ftruncate" => one(Kind::Truncate, arg_fd_path(call, 0)),
        "unlink" => one(Kind::Unlink, path_arg(0)),
        "rmdir" => one(Kind::Rmdir, path_arg(0)),
        "unlinkat" => {
            let kind = if call.args.get(2).is_some_and(|f| f.contains("AT_REMOVEDIR")) {
                Kind::Rmdir
            } else {
                Kind::Unlink
            };
            one(kind, at_path(call, 0, 1, cwd))
        }
        "rename" => pair(path_arg(0), path_arg(1)),
        "renameat" | "renameat2" => pair(at_path(call, 0, 1, cwd), at_path(call, 2, 3, cwd)),
        "link" => one(Kind::Link, path_arg(1)),
        "linkat" => one(Kind::Link, at_path(call, 2, 3, cwd)),
        "symlink" => one(Kind::Link, path_arg(1)),
        "symlinkat" => one(Kind::Link, at_path(call, 1, 2, cwd)),
        "mkdir" => one(Kind::Mkdir, path_arg(0)),
        "mkdirat" => one(Kind::Mkdir, at_path(call, 0, 1, cwd)),
        "chmod" => one(Kind::Chmod, path_arg(0)),
        "fchmod" => one(Kind::Chmod, arg_fd_path(call, 0)),
        "fchmodat" | "fchmodat2" => one(Kind::Chmod, at_path(call, 0, 1, cwd)),
        "chown" | "lchown" | "chown32" | "lchown32" => one(Kind::Chown, path_arg(0)),
        "fchown" | "fchown32" => one(Kind::Chown, arg_fd_path(call, 0)),
        "fchownat" => one(Kind::Chown, at_path(call, 0, 1, cwd)),
        "connect" => one(
            Kind::Connect,
            call.args.get(1).and_then(|a| socket_target(a)),
        ),
        _ => Vec::new(),
    }
}

fn pair(source: Option<String>, target: Option<String>) -> Vec<(Kind, String)> {
    let mut out = Vec::new();
    if let Some(source) = source {
        out.push((Kind::RenameSource, source));
    }
    if let Some(target) = target {
        out.push((Kind::RenameTarget, target));
    }
    out
}

fn arg_string(call: &Call, index: usize) -> Option<String> {
    call.args.get(index).and_then(|a| unquote(a))
}

fn arg_fd_path(call: &Call, index: usize) -> Option<String> {
    call.args
        .get(index)
        .and_then(|a| annotation(a))
        .filter(|p| p.starts_with('/'))
}

/// The path of an `*at` call: `path` (argument `path_index`) relative to the directory of
/// descriptor argument `dir_index`; an empty path (`AT_EMPTY_PATH`) is the descriptor itself.
fn at_path(call: &Call, dir_index: usize, path_index: usize, cwd: &str) -> Option<String> {
    let path = arg_string(call, path_index)?;
    let dir = call
        .args
        .get(dir_index)
        .and_then(|a| annotation(a))
        .filter(|d| d.starts_with('/'))
        .unwrap_or_else(|| cwd.to_string());
    if path.is_empty() {
        return Some(dir);
    }
    Some(join(&dir, &path))
}

/// The peer of a `connect`: `unix:/path`, `inet:1.2.3.4:53`, `inet6:[::1]:80`; `None` for a
/// name-service socket or an `AF_UNSPEC` disconnect.
pub fn socket_target(sockaddr: &str) -> Option<String> {
    let field = |name: &str| -> Option<String> {
        let start = sockaddr.find(name)? + name.len();
        let rest = &sockaddr[start..];
        let end = rest.find([',', '}']).unwrap_or(rest.len());
        Some(rest[..end].to_string())
    };
    if sockaddr.contains("AF_UNIX") || sockaddr.contains("AF_LOCAL") {
        let raw = field("sun_path=")?;
        let abstract_name = raw.starts_with('@');
        let path = unquote(raw.trim_start_matches('@')).unwrap_or(raw.clone());
        if !abstract_name && is_nameservice_socket(&path) {
            return None;
        }
        return Some(format!(
            "unix:{}{path}",
            if abstract_name { "@" } else { "" }
        ));
    }
    if sockaddr.contains("AF_INET6") {
        let port = field("sin6_port=htons(").map(|p| p.trim_end_matches(')').to_string());
        let addr = sockaddr
            .find("inet_pton(AF_INET6, ")
            .and_then(|i| unquote(&sockaddr[i + "inet_pton(AF_INET6, ".len()..]));
        return Some(format!(
            "inet6:[{}]:{}",
            addr.unwrap_or_default(),
            port.unwrap_or_default()
        ));
    }
    if sockaddr.contains("AF_INET") {
        let port = field("sin_port=htons(").map(|p| p.trim_end_matches(')').to_string());
        let addr = field("sin_addr=inet_addr(").and_then(|a| unquote(a.trim_end_matches(')')));
        return Some(format!(
            "inet:{}:{}",
            addr.unwrap_or_default(),
            port.unwrap_or_default()
        ));
    }
    if sockaddr.contains("AF_UNSPEC") {
        return None;
    }
    Some(sockaddr.to_string())
}

/// The last segment of a path.
pub fn basename(path: &str) -> &str {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(path)
}

/// `path` made absolute against `base`, normalised lexically (`.`, `..`, repeated `/`).
pub fn join(base: &str, path: &str) -> String {
    let joined = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{base}/{path}")
    };
    let mut segments: Vec<&str> = Vec::new();
    for segment in joined.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    if segments.is_empty() {
        return "/".to_string();
    }
    let mut out = String::with_capacity(joined.len());
    for segment in segments {
        out.push('/');
        out.push_str(segment);
    }
    out
}

/// Marks removals of paths that exist after the command as replacements.
pub fn mark_replaced(observed: &mut [Observed], after: &BTreeSet<String>) {
    for o in observed {
        if matches!(o.kind, Kind::Unlink | Kind::Rmdir | Kind::RenameSource)
            && o.succeeded()
            && after.contains(&o.target)
        {
            o.replaced = true;
        }
    }
}

/// Drops the ephemeral file effects: a successful call on a path inside the snapshotted trees
/// that existed neither before nor after the command (a temporary file made and removed, or
/// renamed away, by the same run). Failed attempts are never ephemeral.
pub fn drop_ephemeral(
    observed: Vec<Observed>,
    before: &BTreeSet<String>,
    after: &BTreeSet<String>,
    in_snapshot: impl Fn(&str) -> bool,
) -> Vec<Observed> {
    observed
        .into_iter()
        .filter(|o| {
            !(o.kind.is_file()
                && o.succeeded()
                && in_snapshot(&o.target)
                && !before.contains(&o.target)
                && !after.contains(&o.target))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strace::parse_trace;

    const TRACE: &str = r#"6     execve("/usr/bin/bash", ["bash", "-c", "echo hi > out.txt; rm -rf a.txt; mkdir -p d/e; (cd d && touch f); sed -i s/h/j/ out.txt"], 0x7ffc /* 3 vars */) = 0
6     openat(AT_FDCWD</workspace/app>, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 4</etc/ld.so.cache>
6     openat(AT_FDCWD</workspace/app>, "out.txt", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 4</workspace/app/out.txt>
6     openat(AT_FDCWD</workspace/app>, "/dev/null", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 4</dev/null>
6     clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f2f) = 9
9     execve("/usr/bin/rm", ["rm", "-rf", "a.txt"], 0x55f3 /* 5 vars */) = 0
9     unlinkat(AT_FDCWD</workspace/app>, "a.txt", 0) = 0
10    execve("/usr/bin/mkdir", ["mkdir", "-p", "d/e"], 0x55f3 /* 5 vars */) = 0
6     clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f2f) = 10
10    mkdir("d", 0777)                  = 0
10    openat(AT_FDCWD</workspace/app>, "d", O_RDONLY|O_NOCTTY|O_NONBLOCK|O_NOFOLLOW|O_DIRECTORY) = 4</workspace/app/d>
10    fchdir(4</workspace/app/d>)       = 0
10    mkdir("e", 0777)                  = 0
6     clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f2f) = 11
11    chdir("/workspace/app/d")         = 0
11    execve("/usr/bin/touch", ["touch", "f"], 0x55f3 /* 6 vars */) = 0
11    openat(AT_FDCWD</workspace/app/d>, "f", O_WRONLY|O_CREAT|O_NOCTTY|O_NONBLOCK, 0666) = 4</workspace/app/d/f>
6     clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f2f) = 12
12    execve("/usr/bin/sed", ["sed", "-i", "s/h/j/", "out.txt"], 0x55f3 /* 5 vars */) = 0
12    openat(AT_FDCWD</workspace/app>, "./sedPWHqrM", O_RDWR|O_CREAT|O_EXCL, 0600) = 5</workspace/app/sedPWHqrM>
12    fchown(5</workspace/app/sedPWHqrM>, 1000, 1000) = 0
12    rename("./sedPWHqrM", "out.txt")  = 0
6     openat(AT_FDCWD</workspace/app>, "/usr/x", O_WRONLY|O_CREAT|O_TRUNC, 0666) = -1 EROFS (Read-only file system)
6     openat(AT_FDCWD</workspace/app>, "/nope/x", O_WRONLY|O_CREAT|O_TRUNC, 0666) = -1 ENOENT (No such file or directory)
6     connect(4<socket:[1]>, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT (No such file or directory)
16    connect(8<socket:[2]>, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.255.255.53")}, 16) = -1 ENETUNREACH (Network is unreachable)
"#;

    fn summary(observed: &[Observed]) -> Vec<String> {
        observed
            .iter()
            .map(|o| format!("{} {}", o.kind.as_str(), o.target))
            .collect()
    }

    #[test]
    fn attributes_paths_and_processes() {
        let observed = observe(&parse_trace(TRACE), "/workspace/app");
        assert_eq!(
            summary(&observed),
            vec![
                "write /workspace/app/out.txt",
                "exec /usr/bin/rm",
                "unlink /workspace/app/a.txt",
                "exec /usr/bin/mkdir",
                "mkdir /workspace/app/d",
                "mkdir /workspace/app/d/e",
                "exec /usr/bin/touch",
                "write /workspace/app/d/f",
                "exec /usr/bin/sed",
                "write /workspace/app/sedPWHqrM",
                "chown /workspace/app/sedPWHqrM",
                "rename_source /workspace/app/sedPWHqrM",
                "rename_target /workspace/app/out.txt",
                "write /usr/x",
                "connect inet:10.255.255.53:53",
            ]
        );
        let rm = &observed[2];
        assert_eq!(rm.process, vec!["rm", "-rf", "a.txt"]);
        assert_eq!(rm.lineage.len(), 1);
        assert_eq!(rm.lineage[0].name, "rm");
        // The harness's own shell is not in any lineage, nor an effect.
        assert!(observed[0].lineage.is_empty());
        assert_eq!(observed[13].errno.as_deref(), Some("EROFS"));
    }

    #[test]
    fn ephemeral_files_are_dropped_but_failed_attempts_stay() {
        let observed = observe(&parse_trace(TRACE), "/workspace/app");
        let before: BTreeSet<String> = ["/workspace/app/out.txt", "/workspace/app/a.txt"]
            .map(String::from)
            .into();
        let after: BTreeSet<String> = [
            "/workspace/app/out.txt",
            "/workspace/app/d",
            "/workspace/app/d/e",
            "/workspace/app/d/f",
        ]
        .map(String::from)
        .into();
        let kept = drop_ephemeral(observed, &before, &after, |p| p.starts_with("/workspace/"));
        let summary = summary(&kept);
        assert!(!summary.iter().any(|s| s.contains("sedPWHqrM")));
        assert!(summary.contains(&"rename_target /workspace/app/out.txt".to_string()));
        assert!(summary.contains(&"unlink /workspace/app/a.txt".to_string()));
        assert!(summary.contains(&"write /usr/x".to_string()));
    }

    #[test]
    fn lineage_follows_exec_chains_and_forks() {
        let trace = r#"5 execve("/usr/bin/bash", ["bash", "-c", "x"], 0x1 /* 1 var */) = 0
5 execve("/usr/bin/nice", ["nice", "sh", "-c", "rm x; true"], 0x1 /* 1 var */) = 0
5 execve("/usr/bin/sh", ["sh", "-c", "rm x; true"], 0x1 /* 1 var */) = 0
5 clone(child_stack=NULL, flags=SIGCHLD) = 6
6 execve("/usr/bin/rm", ["rm", "x"], 0x1 /* 1 var */) = 0
6 unlinkat(AT_FDCWD</w>, "x", 0) = 0
"#;
        let observed = observe(&parse_trace(trace), "/w");
        let unlink = observed.last().expect("unlink");
        let names: Vec<&str> = unlink.lineage.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, vec!["nice", "sh", "rm"]);
        let rm_exec = &observed[2];
        assert_eq!(rm_exec.kind, Kind::Exec);
        let names: Vec<&str> = rm_exec.lineage.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, vec!["nice", "sh"]);
    }

    #[test]
    fn a_child_seen_before_its_clone_returns_inherits_its_parent() {
        let trace = r#"5 execve("/usr/bin/bash", ["bash", "-c", "x"], 0x1 /* 1 var */) = 0
5 execve("/usr/bin/git", ["git", "push"], 0x1 /* 1 var */) = 0
5 clone(child_stack=NULL, flags=SIGCHLD <unfinished ...>
7 execve("/usr/libexec/git-core/git-receive-pack", ["git-receive-pack", "/srv/r.git"], 0x1 /* 1 var */) = 0
5 <... clone resumed>) = 7
"#;
        let observed = observe(&parse_trace(trace), "/w");
        let helper = observed.last().expect("helper exec");
        assert_eq!(helper.lineage.len(), 1);
        assert_eq!(helper.lineage[0].name, "git");
    }

    #[test]
    fn anonymous_temporary_files_and_replacements() {
        assert!(!opens_for_writing("O_RDWR|O_EXCL|O_TMPFILE"));
        assert!(opens_for_writing("O_WRONLY|O_CREAT"));
        assert!(!opens_for_writing("O_RDONLY|O_CLOEXEC"));
        let trace = r#"5 execve("/usr/bin/bash", ["bash", "-c", "x"], 0x1 /* 1 var */) = 0
5 unlinkat(AT_FDCWD</w>, "a", 0) = 0
5 unlinkat(AT_FDCWD</w>, "b", 0) = 0
"#;
        let mut observed = observe(&parse_trace(trace), "/w");
        mark_replaced(&mut observed, &["/w/a".to_string()].into());
        assert!(observed[0].replaced && !observed[1].replaced);
    }

    #[test]
    fn ignores_kernel_and_terminal_paths() {
        assert!(is_ignored_path("/dev/null"));
        assert!(is_ignored_path("/dev/pts/0"));
        assert!(is_ignored_path("/proc/self/fd/1"));
        assert!(is_ignored_path("/dev/tty1"));
        assert!(!is_ignored_path("/dev/sda"));
        assert!(!is_ignored_path("/home/alice/.bashrc"));
    }

    #[test]
    fn reads_socket_peers() {
        assert_eq!(
            socket_target(r#"{sa_family=AF_UNIX, sun_path="/var/run/docker.sock"}"#).as_deref(),
            Some("unix:/var/run/docker.sock")
        );
        assert_eq!(
            socket_target(r#"{sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}"#),
            None
        );
        assert_eq!(
            socket_target(r#"{sa_family=AF_INET6, sin6_port=htons(8080), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}"#).as_deref(),
            Some("inet6:[::1]:8080")
        );
        assert_eq!(socket_target("{sa_family=AF_UNSPEC}"), None);
    }

    #[test]
    fn joins_paths_lexically() {
        assert_eq!(join("/workspace/app", "../x/./y"), "/workspace/x/y");
        assert_eq!(join("/a", "/b//c/"), "/b/c");
        assert_eq!(join("/", ".."), "/");
        assert_eq!(basename("/usr/bin/rm"), "rm");
    }
}
