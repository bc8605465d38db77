//! Glob patterns over resource URIs, tool names and attribute values.

use globset::{Glob, GlobBuilder, GlobMatcher};

const META: &[char] = &['*', '?', '[', ']', '{', '}', '\\'];

/// One compiled pattern. `*` stays within a path segment, `**` crosses segments, and a
/// trailing `/**` also matches the prefix itself (`file:///tmp/**` matches `file:///tmp`).
#[derive(Debug, Clone)]
pub(crate) enum Pattern {
    /// Matches exactly this text.
    Exact(Box<str>),
    /// `prefix/**` without other wildcards: the prefix itself or anything below it.
    Below(Box<str>),
    /// Anything else; the second matcher is the head of a `head/**` pattern.
    Glob(Box<LazyGlob>, Option<Box<LazyGlob>>),
}

/// A glob checked when the policy loads and compiled to its matcher the first time it is
/// matched: a hook process loads every rule but matches few, and compiling is the dear part.
#[derive(Debug, Clone)]
pub(crate) struct LazyGlob {
    glob: Glob,
    matcher: std::sync::OnceLock<GlobMatcher>,
}

impl LazyGlob {
    /// The glob as written.
    pub(crate) fn glob(&self) -> &Glob {
        &self.glob
    }

    /// Whether `text` matches, compiling the matcher on first use.
    pub(crate) fn is_match(&self, text: &str) -> bool {
        self.matcher
            .get_or_init(|| self.glob.compile_matcher())
            .is_match(text)
    }
}

impl Pattern {
    /// Compiles a path-like pattern (resources).
    pub(crate) fn path(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("empty pattern".into());
        }
        if !text.contains(META) {
            return Ok(Pattern::Exact(text.into()));
        }
        if let Some(head) = text.strip_suffix("/**") {
            if !head.contains(META) && !head.is_empty() {
                return Ok(Pattern::Below(head.into()));
            }
            let full = glob(text, true)?;
            let head = if head.is_empty() {
                None
            } else {
                Some(Box::new(glob(head, true)?))
            };
            return Ok(Pattern::Glob(Box::new(full), head));
        }
        Ok(Pattern::Glob(Box::new(glob(text, true)?), None))
    }

    /// Compiles a name pattern (tools, agents, rule ids, attribute values): `*` matches any
    /// text, `/` included.
    pub(crate) fn name(text: &str) -> Result<Self, String> {
        if !text.contains(META) {
            return Ok(Pattern::Exact(text.into()));
        }
        Ok(Pattern::Glob(Box::new(glob(text, false)?), None))
    }

    /// Whether `text` matches.
    pub(crate) fn is_match(&self, text: &str) -> bool {
        match self {
            Pattern::Exact(exact) => &**exact == text,
            Pattern::Below(prefix) => {
                text.strip_prefix(&**prefix)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
                    || (prefix.ends_with('/') && text.starts_with(&**prefix))
            }
            Pattern::Glob(full, head) => {
                full.is_match(text) || head.as_ref().is_some_and(|h| h.is_match(text))
            }
        }
    }

    /// The literal text every match starts with.
    pub(crate) fn literal_prefix(&self) -> &str {
        match self {
            Pattern::Exact(exact) => exact,
            Pattern::Below(prefix) => prefix,
            Pattern::Glob(full, _) => {
                let text = full.glob().glob();
                let end = text.find(META).unwrap_or(text.len());
                text.get(..end).unwrap_or("")
            }
        }
    }

    /// Whether the pattern is a plain literal.
    pub(crate) fn as_exact(&self) -> Option<&str> {
        match self {
            Pattern::Exact(exact) => Some(exact),
            _ => None,
        }
    }

    /// The text it was compiled from.
    pub(crate) fn source(&self) -> String {
        match self {
            Pattern::Exact(exact) => exact.to_string(),
            Pattern::Below(prefix) => format!("{prefix}/**"),
            Pattern::Glob(full, _) => full.glob().glob().to_string(),
        }
    }

    /// Whether every text `other` matches is matched by `self` too. Conservative: `false`
    /// when it cannot tell.
    pub(crate) fn covers(&self, other: &Pattern) -> bool {
        match (self, other) {
            (_, Pattern::Exact(text)) => self.is_match(text),
            (Pattern::Below(outer), Pattern::Below(inner)) => {
                self.is_match(inner) && (inner.len() > outer.len() || inner == outer)
            }
            (Pattern::Glob(outer, _), _) if outer.glob().glob() == "**" => true,
            (Pattern::Below(_), Pattern::Glob(..)) => {
                let prefix = other.literal_prefix();
                // `prefix` must already be below `outer`, past a segment boundary.
                match prefix.rfind('/') {
                    Some(i) => prefix.get(..i).is_some_and(|p| self.is_match(p)),
                    None => false,
                }
            }
            (Pattern::Glob(a, _), Pattern::Glob(b, _)) => a.glob().glob() == b.glob().glob(),
            _ => false,
        }
    }
}

fn glob(text: &str, literal_separator: bool) -> Result<LazyGlob, String> {
    GlobBuilder::new(text)
        .literal_separator(literal_separator)
        .backslash_escape(true)
        .build()
        .map(|glob| LazyGlob {
            glob,
            matcher: std::sync::OnceLock::new(),
        })
        .map_err(|e| format!("invalid glob `{text}`: {}", e.kind()))
}

/// Matches `text` against any of `patterns`; an empty list matches everything.
pub(crate) fn any_match(patterns: &[Pattern], text: &str) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| p.is_match(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_matches_prefix_and_descendants_only() {
        let p = Pattern::path("file:///workspace/app/**").unwrap();
        assert!(p.is_match("file:///workspace/app"));
        assert!(p.is_match("file:///workspace/app/src/main.rs"));
        assert!(!p.is_match("file:///workspace/apple"));
        assert!(!p.is_match("file:///workspace"));
        assert_eq!(p.literal_prefix(), "file:///workspace/app");
    }

    #[test]
    fn star_stays_in_a_segment() {
        let p = Pattern::path("k8s://*/_/namespace/*").unwrap();
        assert!(p.is_match("k8s://prod-cluster/_/namespace/payments"));
        assert!(!p.is_match("k8s://prod-cluster/_/namespace/payments/x"));
        let p = Pattern::path("**/.env").unwrap();
        assert!(p.is_match("file:///workspace/app/.env"));
        assert!(!p.is_match("file:///workspace/app/.envrc"));
        let p = Pattern::path("file:///workspace/*/build/**").unwrap();
        assert!(p.is_match("file:///workspace/app/build"));
        assert!(p.is_match("file:///workspace/app/build/x/y"));
        assert_eq!(p.literal_prefix(), "file:///workspace/");
    }

    #[test]
    fn names_and_errors() {
        assert!(
            Pattern::name("mcp__filesystem__*")
                .unwrap()
                .is_match("mcp__filesystem__read")
        );
        assert!(Pattern::name("{main,master}").unwrap().is_match("master"));
        assert!(Pattern::path("file:///[").is_err());
        assert!(Pattern::path("").is_err());
    }

    #[test]
    fn coverage_is_conservative() {
        let wide = Pattern::path("file:///workspace/**").unwrap();
        let narrow = Pattern::path("file:///workspace/app/**").unwrap();
        assert!(wide.covers(&narrow));
        assert!(!narrow.covers(&wide));
        assert!(wide.covers(&Pattern::path("file:///workspace/app/*.rs").unwrap()));
        assert!(Pattern::path("**").unwrap().covers(&narrow));
    }
}
