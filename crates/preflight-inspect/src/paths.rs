//! Lexical path normalisation and secret patterns. Nothing here touches the file system.
//!
//! A path whose base is unknown (a relative path without a working directory, `~` without a
//! home) is anchored at the placeholder segment `**`, which stands for "some directory":
//! `/**/.ssh/id_rsa`. `..` never climbs out of a `**`, so such a path stays visibly unknown.

use std::sync::OnceLock;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// The segment standing for an unknown directory.
pub const UNKNOWN_SEGMENT: &str = "**";

/// Normalises `path` lexically into an absolute path: `~` and `~/…` expand to `home`,
/// `~user` to `/home/user` (`/root` for `root`), a relative path is joined to `cwd`, and `.`,
/// `..`, repeated and trailing `/` are removed. The result starts with `/`, has no trailing
/// `/` (unless it is `/`) and never contains a `..` segment.
///
/// ```
/// use preflight_inspect::normalize_path;
/// assert_eq!(normalize_path("../../etc/cron.d/job", Some("/workspace/app"), None), "/etc/cron.d/job");
/// assert_eq!(normalize_path("~/.ssh/id_rsa", None, Some("/home/alice")), "/home/alice/.ssh/id_rsa");
/// assert_eq!(normalize_path("build", None, None), "/**/build");
/// ```
pub fn normalize_path(path: &str, cwd: Option<&str>, home: Option<&str>) -> String {
    let mut joined = String::with_capacity(path.len() + 32);
    if let Some(rest) = path.strip_prefix('~') {
        let (user, tail) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        match (user, home) {
            ("", Some(home)) => push_base(&mut joined, home, None),
            ("", None) => joined.push_str("/**"),
            ("root", _) => joined.push_str("/root"),
            (user, _) => {
                joined.push_str("/home/");
                joined.push_str(user);
            }
        }
        joined.push('/');
        joined.push_str(tail);
    } else if path.starts_with('/') {
        joined.push_str(path);
    } else {
        match cwd {
            Some(cwd) => push_base(&mut joined, cwd, home),
            None => joined.push_str("/**"),
        }
        joined.push('/');
        joined.push_str(path);
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in joined.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if segments.last().is_some_and(|s| *s != UNKNOWN_SEGMENT) {
                    segments.pop();
                }
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

/// A base directory (cwd or home) that is itself relative or `~`-prefixed is normalised
/// first, so a bad context cannot smuggle `..` through.
fn push_base(out: &mut String, base: &str, home: Option<&str>) {
    if base.starts_with('/') {
        out.push_str(base);
    } else if base.starts_with('~') && home.is_some_and(|h| h.starts_with('/')) {
        out.push_str(&normalize_path(base, None, home));
    } else {
        out.push_str("/**/");
        out.push_str(base);
    }
}

/// A `file://` URI for a normalised path.
pub fn file_uri(path: &str) -> String {
    format!("file://{path}")
}

const SECRET_PATTERNS: &[&str] = &[
    "**/.aws/**",
    "**/.ssh/**",
    "**/.env",
    "**/.env.*",
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/sudoers",
    "**/*.pem",
    "**/*.key",
    "**/id_rsa*",
    "**/id_dsa*",
    "**/id_ecdsa*",
    "**/id_ed25519*",
    "**/.netrc",
    "**/.pgpass",
    "**/.git-credentials",
    "**/.docker/config.json",
    "**/.kube/config",
    "**/.gnupg/**",
    "**/.config/gcloud/**",
    "**/.azure/**",
];

fn secret_set() -> Option<&'static GlobSet> {
    static SET: OnceLock<Option<GlobSet>> = OnceLock::new();
    SET.get_or_init(|| {
        let mut builder = GlobSetBuilder::new();
        for pattern in SECRET_PATTERNS {
            let glob = GlobBuilder::new(pattern)
                .literal_separator(true)
                .build()
                .ok()?;
            builder.add(glob);
        }
        builder.build().ok()
    })
    .as_ref()
}

/// Whether a normalised absolute path matches a secret pattern: `~/.aws/**`, `~/.ssh/**`
/// (of any home), `.env`, `.env.*`, `/etc/shadow`, private keys (`*.pem`, `*.key`,
/// `id_rsa*`, …), `.netrc`, `.pgpass`, cloud and cluster credentials. When the patterns
/// cannot be compiled, every path counts as secret (fail closed).
pub fn is_secret_path(path: &str) -> bool {
    match secret_set() {
        Some(set) => set.is_match(path),
        None => true,
    }
}

/// Whether a normalised path is `/`, a home directory, an ancestor of one, or a top-level
/// system directory: a recursive delete there has no bound.
pub fn is_sweeping(path: &str, home: Option<&str>) -> bool {
    if path == "/" || path.contains('*') {
        return true;
    }
    let depth = path.split('/').filter(|s| !s.is_empty()).count();
    if depth <= 1 {
        return true;
    }
    if let Some(home) = home {
        let home = normalize_path(home, None, None);
        if home == path || home.starts_with(&format!("{path}/")) {
            return true;
        }
    }
    // `/home/<user>` and `/Users/<user>` are homes whoever the agent acts for.
    depth == 2 && (path.starts_with("/home/") || path.starts_with("/Users/"))
}
