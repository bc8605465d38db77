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

/// Every secret pattern holds one of these literals (each starting with `.`, `s`, `i` or
/// `g`): a path with none of them matches none, and most paths are decided without the glob
/// set.
const SECRET_LITERALS: &[&str] = &[
    ".aws",
    ".ssh",
    ".env",
    "shadow",
    "sudoers",
    ".pem",
    ".key",
    "id_",
    ".netrc",
    ".pgpass",
    ".git-credentials",
    ".docker",
    ".kube",
    ".gnupg",
    "gcloud",
    ".azure",
    "credentials",
    ".tfstate",
    ".npmrc",
    ".pypirc",
    "environ",
];

const SECRET_PATTERNS: &[&str] = &[
    "**/.aws",
    "**/.aws/**",
    "**/.ssh",
    "**/.ssh/**",
    "**/.gnupg",
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
    "**/credentials",
    "**/*_credentials",
    "**/*credentials*.{json,yml,yaml,toml,ini,csv,xml,txt,bak,conf,cfg,env,old,orig}",
    "**/*.tfstate",
    "**/*.tfstate.backup",
    "**/.npmrc",
    "**/.pypirc",
    "/proc/*/environ",
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
/// `id_rsa*`, …), `.netrc`, `.pgpass`, `.npmrc`, `.pypirc`, credentials files
/// (`credentials.json`, `aws_credentials.bak`; not source code such as `credentials.rs`),
/// Terraform state, cloud and cluster credentials. When the patterns
/// cannot be compiled, every path counts as secret (fail closed).
pub fn is_secret_path(path: &str) -> bool {
    let bytes = path.as_bytes();
    let literal_at = |i: usize| {
        matches!(bytes[i], b'.' | b's' | b'i' | b'g' | b'c' | b'e')
            && SECRET_LITERALS
                .iter()
                .any(|literal| bytes[i..].starts_with(literal.as_bytes()))
    };
    if !(0..bytes.len()).any(literal_at) {
        return false;
    }
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
        // A home is nearly always written normalised already.
        let normalised = home.starts_with('/')
            && (home.len() == 1 || !home.ends_with('/'))
            && !home.contains("//")
            && !home.contains("/.");
        let home: std::borrow::Cow<'_, str> = if normalised {
            home.into()
        } else {
            normalize_path(home, None, None).into()
        };
        if *home == *path
            || (home.len() > path.len()
                && home.starts_with(path)
                && home.as_bytes()[path.len()] == b'/')
        {
            return true;
        }
    }
    // `/home/<user>` and `/Users/<user>` are homes whoever the agent acts for.
    depth == 2 && (path.starts_with("/home/") || path.starts_with("/Users/"))
}

#[cfg(test)]
mod tests {
    use super::is_secret_path;

    #[test]
    fn credential_files_are_secret_and_code_is_not() {
        for path in [
            "/w/app/credentials.json",
            "/w/app/aws_credentials.bak",
            "/home/a/.aws/credentials",
            "/w/app/terraform.tfstate",
            "/home/a/.npmrc",
            "/proc/self/environ",
        ] {
            assert!(is_secret_path(path), "{path}");
        }
        for path in [
            "/w/app/src/credentials.rs",
            "/w/app/credentials_test.go",
            "/w/app/README.md",
        ] {
            assert!(!is_secret_path(path), "{path}");
        }
    }

    #[test]
    fn every_secret_pattern_holds_a_literal_of_the_prefilter() {
        for pattern in super::SECRET_PATTERNS {
            assert!(
                super::SECRET_LITERALS.iter().any(|l| pattern.contains(l)),
                "{pattern}"
            );
        }
        for literal in super::SECRET_LITERALS {
            assert!(
                matches!(
                    literal.as_bytes()[0],
                    b'.' | b's' | b'i' | b'g' | b'c' | b'e'
                ),
                "{literal}"
            );
        }
    }
}
