//! The throwaway sandbox: bubblewrap with the system read-only, a fresh copy of a template
//! (alice's home, a git repository with its origin, `/tmp`, `/var/tmp`) writable, no
//! network, and the command run as `bash -c` under `strace -f`.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::observe::{Observed, drop_ephemeral, mark_replaced, observe};
use crate::strace::parse_trace;

/// Where strace writes inside the sandbox: a file bound over a path no command has a reason
/// to touch (and as a mount point it cannot be unlinked).
pub const TRACE_PATH: &str = "/dev/.pf-trace";
/// The user's home.
pub const HOME: &str = "/home/alice";
/// The user.
pub const USER: &str = "alice";
/// The working directory of every command.
pub const CWD: &str = "/workspace/app";
/// `PATH` inside the sandbox.
pub const PATH_ENV: &str = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";
/// The directories searched for programs, for the generator.
pub const PATH_DIRS: [&str; 4] = ["/usr/local/bin", "/usr/bin", "/usr/local/sbin", "/usr/sbin"];
/// The writable trees: the path in the sandbox and the directory of a run's root it is.
pub const WRITABLE: [(&str, &str); 5] = [
    ("/home", "home"),
    ("/workspace", "workspace"),
    ("/srv", "srv"),
    ("/tmp", "tmp"),
    ("/var/tmp", "var_tmp"),
];
/// The system calls traced.
pub const TRACED: &str = "execve,execveat,open,openat,openat2,creat,unlink,unlinkat,rmdir,\
rename,renameat,renameat2,link,linkat,symlink,symlinkat,mkdir,mkdirat,mknod,mknodat,chmod,\
fchmod,fchmodat,chown,fchown,lchown,fchownat,truncate,ftruncate,connect,clone,clone3,fork,\
vfork,chdir,fchdir";
/// The largest file a command may write (`RLIMIT_FSIZE`), so a runaway `dd` cannot fill the
/// work directory.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
const TEMPLATE_SCRIPT: &str = include_str!("template.sh");

/// A sandbox failure (not a command's: those are outcomes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

fn io_error(context: &str, path: &Path, error: &std::io::Error) -> Error {
    Error(format!("{context} {}: {error}", path.display()))
}

/// The programs the sandbox needs, with the Debian package of each.
pub const REQUIRED: [(&str, &str); 4] = [
    ("bwrap", "bubblewrap"),
    ("strace", "strace"),
    ("prlimit", "util-linux"),
    ("git", "git"),
];

/// The required programs that are missing.
pub fn missing_tools() -> Vec<&'static str> {
    REQUIRED
        .iter()
        .filter(|(program, _)| {
            !std::env::var_os("PATH")
                .map(|p| std::env::split_paths(&p).any(|dir| dir.join(program).is_file()))
                .unwrap_or(false)
        })
        .map(|(program, _)| *program)
        .collect()
}

/// The result of one command.
#[derive(Debug, Clone)]
pub struct Run {
    /// The effects observed, ephemeral ones dropped.
    pub observed: Vec<Observed>,
    /// The command hit the time limit and was killed.
    pub timed_out: bool,
    /// The exit status of `bash -c`.
    pub status: Option<i32>,
    /// How many system calls were traced.
    pub calls: usize,
    /// Wall time, copy and cleanup included.
    pub elapsed: Duration,
}

/// A prepared sandbox: a template built once, copied for every command.
#[derive(Debug)]
pub struct Sandbox {
    workdir: PathBuf,
    template: PathBuf,
    etc: PathBuf,
    before: BTreeSet<String>,
    dirs: BTreeSet<String>,
    timeout: Duration,
}

impl Sandbox {
    /// Builds the template under `workdir` (created if needed); each command may run for
    /// `timeout`.
    pub fn prepare(workdir: &Path, timeout: Duration) -> Result<Self, Error> {
        let missing = missing_tools();
        if !missing.is_empty() {
            return Err(Error(format!("missing programs: {}", missing.join(", "))));
        }
        fs::create_dir_all(workdir).map_err(|e| io_error("creating", workdir, &e))?;
        let workdir = workdir
            .canonicalize()
            .map_err(|e| io_error("resolving", workdir, &e))?;
        let etc = workdir.join("etc");
        fs::create_dir_all(&etc).map_err(|e| io_error("creating", &etc, &e))?;
        write_identity(&etc)?;
        let template = workdir.join("template");
        force_remove(&template)?;
        for (_, dir) in WRITABLE {
            let path = template.join(dir);
            fs::create_dir_all(&path).map_err(|e| io_error("creating", &path, &e))?;
        }
        for inner in [&HOME[1..], &CWD[1..]] {
            let path = template.join(inner);
            fs::create_dir_all(&path).map_err(|e| io_error("creating", &path, &e))?;
        }
        for (_, dir) in WRITABLE {
            let path = template.join(dir);
            let mode = if dir == "tmp" || dir == "var_tmp" {
                0o1777
            } else {
                0o755
            };
            fs::set_permissions(&path, fs::Permissions::from_mode(mode))
                .map_err(|e| io_error("setting the mode of", &path, &e))?;
        }
        let mut sandbox = Self {
            workdir,
            template: template.clone(),
            etc,
            before: BTreeSet::new(),
            dirs: BTreeSet::new(),
            timeout,
        };
        let mut command = Command::new("bwrap");
        command.args(sandbox.bwrap_args(&template, None));
        command.args(["bash", "-c", TEMPLATE_SCRIPT]);
        let output = command
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Error(format!("running bwrap: {e}")))?;
        if !output.status.success() {
            return Err(Error(format!(
                "building the template failed ({}): {}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        let mut before = BTreeSet::new();
        let mut dirs = BTreeSet::new();
        snapshot(&template, &mut before, &mut dirs)?;
        sandbox.before = before;
        sandbox.dirs = dirs;
        Ok(sandbox)
    }

    /// Every path that exists before a command runs.
    pub fn before(&self) -> &BTreeSet<String> {
        &self.before
    }

    /// The directories among them.
    pub fn dirs(&self) -> &BTreeSet<String> {
        &self.dirs
    }

    /// The arguments of `bwrap` for a sandbox whose writable trees are under `root`.
    fn bwrap_args(&self, root: &Path, trace: Option<&Path>) -> Vec<OsString> {
        let mut args: Vec<OsString> = Vec::new();
        let mut push = |items: &[&str]| args.extend(items.iter().map(OsString::from));
        push(&[
            "--unshare-user",
            "--uid",
            "1000",
            "--gid",
            "1000",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--hostname",
            "devbox",
            "--die-with-parent",
            "--new-session",
            "--ro-bind",
            "/usr",
            "/usr",
        ]);
        for top in ["/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"] {
            let path = Path::new(top);
            if let Ok(target) = fs::read_link(path) {
                args.push("--symlink".into());
                args.push(target.into_os_string());
                args.push(top.into());
            } else if path.is_dir() {
                args.extend(["--ro-bind", top, top].map(OsString::from));
            }
        }
        let mut bind = |kind: &str, source: &Path, target: &str| {
            args.push(kind.into());
            args.push(source.as_os_str().to_owned());
            args.push(target.into());
        };
        bind("--ro-bind", Path::new("/etc"), "/etc");
        bind("--ro-bind", &self.etc.join("passwd"), "/etc/passwd");
        bind("--ro-bind", &self.etc.join("group"), "/etc/group");
        bind("--ro-bind", Path::new("/var"), "/var");
        for (target, dir) in WRITABLE {
            bind("--bind", &root.join(dir), target);
        }
        args.extend(["--proc", "/proc", "--dev", "/dev"].map(OsString::from));
        // Disks to aim at: writes fail at once with ENOSPC, nothing is destroyed.
        for disk in ["/dev/sda", "/dev/sda1", "/dev/nvme0n1"] {
            args.extend(["--dev-bind", "/dev/full", disk].map(OsString::from));
        }
        if let Some(trace) = trace {
            args.push("--bind".into());
            args.push(trace.as_os_str().to_owned());
            args.push(TRACE_PATH.into());
        }
        args.extend(
            [
                "--chdir",
                CWD,
                "--clearenv",
                "--setenv",
                "HOME",
                HOME,
                "--setenv",
                "USER",
                USER,
                "--setenv",
                "LOGNAME",
                USER,
                "--setenv",
                "PATH",
                PATH_ENV,
                "--setenv",
                "SHELL",
                "/bin/bash",
                "--setenv",
                "LANG",
                "C.UTF-8",
                "--setenv",
                "TERM",
                "dumb",
                "--",
            ]
            .map(OsString::from),
        );
        args
    }

    /// Runs `command` in a fresh copy of the template, in slot `slot` (one per worker).
    pub fn run(&self, slot: usize, command: &str) -> Result<Run, Error> {
        let started = Instant::now();
        let root = self.workdir.join(format!("run-{slot}"));
        force_remove(&root)?;
        copy_tree(&self.template, &root)?;
        let trace = self.workdir.join(format!("trace-{slot}"));
        fs::write(&trace, b"").map_err(|e| io_error("creating", &trace, &e))?;
        let mut process = Command::new("bwrap");
        process.args(self.bwrap_args(&root, Some(&trace)));
        process.args([
            "prlimit",
            &format!("--fsize={MAX_FILE_BYTES}"),
            "--core=0",
            "strace",
            "-f",
            "-qq",
            "-y",
            "-s",
            "4096",
            "--seccomp-bpf",
            "-e",
            "signal=none",
            "-e",
            &format!("trace={TRACED}"),
            "-o",
            TRACE_PATH,
            "bash",
            "-c",
            command,
        ]);
        let mut child = process
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Error(format!("running bwrap: {e}")))?;
        let deadline = Instant::now() + self.timeout;
        let mut timed_out = false;
        let mut pause = Duration::from_millis(1);
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status.code(),
                Ok(None) => {}
                Err(e) => return Err(Error(format!("waiting for bwrap: {e}"))),
            }
            if Instant::now() >= deadline {
                timed_out = true;
                // bwrap's child dies with it (--die-with-parent), and with it the whole PID
                // namespace.
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(10));
        };
        let text = fs::read(&trace).map_err(|e| io_error("reading", &trace, &e))?;
        let calls = parse_trace(&String::from_utf8_lossy(&text));
        let observed = observe(&calls, CWD);
        let mut after = BTreeSet::new();
        let mut after_dirs = BTreeSet::new();
        snapshot(&root, &mut after, &mut after_dirs)?;
        let mut observed = drop_ephemeral(observed, &self.before, &after, in_snapshot);
        mark_replaced(&mut observed, &after);
        force_remove(&root)?;
        Ok(Run {
            observed,
            timed_out,
            status,
            calls: calls.len(),
            elapsed: started.elapsed(),
        })
    }

    /// Removes the work directory's runs and template.
    pub fn cleanup(&self) -> Result<(), Error> {
        force_remove(&self.workdir)
    }
}

/// Whether a sandbox path is in one of the snapshotted (writable) trees.
pub fn in_snapshot(path: &str) -> bool {
    WRITABLE.iter().any(|(target, _)| {
        path == *target
            || path
                .strip_prefix(target)
                .is_some_and(|r| r.starts_with('/'))
    })
}

/// `passwd` and `group` of the host with alice as uid and gid 1000.
fn write_identity(etc: &Path) -> Result<(), Error> {
    let filter = |text: String, line: &str| -> String {
        let mut out: String = text
            .lines()
            .filter(|l| {
                let fields: Vec<&str> = l.split(':').collect();
                fields.first() != Some(&USER) && fields.get(2) != Some(&"1000")
            })
            .map(|l| format!("{l}\n"))
            .collect();
        out.push_str(line);
        out
    };
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    let group = fs::read_to_string("/etc/group").unwrap_or_default();
    let passwd = filter(
        passwd,
        &format!("{USER}:x:1000:1000:Alice Example:{HOME}:/bin/bash\n"),
    );
    let group = filter(group, &format!("{USER}:x:1000:\n"));
    for (name, text) in [("passwd", passwd), ("group", group)] {
        let path = etc.join(name);
        fs::write(&path, text).map_err(|e| io_error("writing", &path, &e))?;
    }
    Ok(())
}

/// Records every path of the writable trees under `root`, as sandbox paths.
fn snapshot(
    root: &Path,
    out: &mut BTreeSet<String>,
    dirs: &mut BTreeSet<String>,
) -> Result<(), Error> {
    for (target, dir) in WRITABLE {
        out.insert(target.to_string());
        dirs.insert(target.to_string());
        walk(&root.join(dir), target, out, dirs)?;
    }
    Ok(())
}

fn walk(
    host: &Path,
    sandbox: &str,
    out: &mut BTreeSet<String>,
    dirs: &mut BTreeSet<String>,
) -> Result<(), Error> {
    let Ok(entries) = fs::read_dir(host) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry.map_err(|e| io_error("listing", host, &e))?;
        let name = entry.file_name();
        let path = format!("{sandbox}/{}", name.to_string_lossy());
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        out.insert(path.clone());
        if is_dir {
            dirs.insert(path.clone());
            walk(&entry.path(), &path, out, dirs)?;
        }
    }
    Ok(())
}

/// Copies a tree, keeping modes, modification times and symbolic links.
pub fn copy_tree(from: &Path, to: &Path) -> Result<(), Error> {
    let metadata = fs::symlink_metadata(from).map_err(|e| io_error("reading", from, &e))?;
    let kind = metadata.file_type();
    if kind.is_symlink() {
        let target = fs::read_link(from).map_err(|e| io_error("reading", from, &e))?;
        symlink(&target, to).map_err(|e| io_error("linking", to, &e))?;
        return Ok(());
    }
    if kind.is_dir() {
        fs::create_dir(to).map_err(|e| io_error("creating", to, &e))?;
        let entries = fs::read_dir(from).map_err(|e| io_error("listing", from, &e))?;
        for entry in entries {
            let entry = entry.map_err(|e| io_error("listing", from, &e))?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
    } else if kind.is_file() {
        fs::copy(from, to).map_err(|e| io_error("copying", from, &e))?;
    } else {
        return Ok(());
    }
    fs::set_permissions(to, metadata.permissions())
        .map_err(|e| io_error("setting the mode of", to, &e))?;
    if let Ok(modified) = metadata.modified() {
        if let Ok(file) = fs::File::open(to) {
            let _ = file.set_modified(modified);
        }
    }
    Ok(())
}

/// Removes a tree whatever its modes (a command may have run `chmod -R 000`).
pub fn force_remove(path: &Path) -> Result<(), Error> {
    if fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    if fs::remove_dir_all(path).is_ok() {
        return Ok(());
    }
    open_up(path);
    fs::remove_dir_all(path).map_err(|e| io_error("removing", path, &e))
}

fn open_up(path: &Path) {
    let Ok(metadata) = fs::symlink_metadata(path) else {
        return;
    };
    if metadata.is_dir() {
        let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o700));
        if let Ok(entries) = fs::read_dir(path) {
            for entry in entries.flatten() {
                open_up(&entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_roots() {
        assert!(in_snapshot("/tmp"));
        assert!(in_snapshot("/home/alice/.bashrc"));
        assert!(in_snapshot("/var/tmp/x"));
        assert!(!in_snapshot("/tmpfoo"));
        assert!(!in_snapshot("/usr/bin/rm"));
        assert!(!in_snapshot("/var/log/syslog"));
    }

    #[test]
    fn copies_and_removes_trees() {
        let base = std::env::temp_dir().join(format!("pf-soundness-copy-{}", std::process::id()));
        let _ = force_remove(&base);
        let from = base.join("from");
        fs::create_dir_all(from.join("d")).unwrap();
        fs::write(from.join("d/f"), b"x").unwrap();
        symlink("d/f", from.join("link")).unwrap();
        fs::set_permissions(from.join("d"), fs::Permissions::from_mode(0o700)).unwrap();
        let to = base.join("to");
        copy_tree(&from, &to).unwrap();
        assert_eq!(fs::read(to.join("d/f")).unwrap(), b"x");
        assert_eq!(fs::read_link(to.join("link")).unwrap(), Path::new("d/f"));
        let mut paths = BTreeSet::new();
        let mut dirs = BTreeSet::new();
        walk(&to, "/x", &mut paths, &mut dirs).unwrap();
        assert!(paths.contains("/x/d/f") && dirs.contains("/x/d") && !dirs.contains("/x/link"));
        fs::set_permissions(to.join("d"), fs::Permissions::from_mode(0o000)).unwrap();
        force_remove(&base).unwrap();
        assert!(!base.exists());
    }
}
