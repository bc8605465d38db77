//! A verdict cache keyed by action digest, policy version and model, with a time to live.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use preflight_core::{ActionDigest, Verdict};

/// What a cached verdict is valid for: the same action, judged against the same policy
/// version by the same model.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// The action's canonical digest.
    pub digest: ActionDigest,
    /// The envelope's version.
    pub policy_version: String,
    /// The model that judged it.
    pub model: String,
}

/// An in-memory verdict cache. Entries expire after the time to live; the oldest entries are
/// dropped past the capacity. Only verdicts the model gave are cached, never failures.
#[derive(Debug)]
pub struct VerdictCache {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<CacheKey, (Instant, Verdict)>>,
}

impl VerdictCache {
    /// A cache whose entries live for `ttl`, holding at most `capacity` of them.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The verdict stored for `key`, if it has not expired.
    pub fn get(&self, key: &CacheKey) -> Option<Verdict> {
        let mut entries = self.entries.lock().ok()?;
        match entries.get(key) {
            Some((stored, verdict)) if stored.elapsed() < self.ttl => Some(verdict.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Stores `verdict` for `key`.
    pub fn insert(&self, key: CacheKey, verdict: Verdict) {
        if self.ttl.is_zero() || self.capacity == 0 {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        let ttl = self.ttl;
        entries.retain(|_, (stored, _)| stored.elapsed() < ttl);
        while entries.len() >= self.capacity {
            let oldest = entries
                .iter()
                .min_by_key(|(_, (stored, _))| *stored)
                .map(|(key, _)| key.clone());
            match oldest {
                Some(key) => entries.remove(&key),
                None => break,
            };
        }
        entries.insert(key, (Instant::now(), verdict));
    }

    /// How many entries are stored (expired ones included until touched).
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use preflight_core::Action;
    use serde_json::json;

    fn key(command: &str, version: &str, model: &str) -> CacheKey {
        CacheKey {
            digest: Action::new("Bash", json!({ "command": command })).digest(),
            policy_version: version.into(),
            model: model.into(),
        }
    }

    #[test]
    fn key_parts_all_matter() {
        let cache = VerdictCache::new(Duration::from_secs(3600), 16);
        cache.insert(key("ls", "v1", "m"), Verdict::allow("llm", "fine"));
        assert!(cache.get(&key("ls", "v1", "m")).is_some());
        assert!(cache.get(&key("ls -la", "v1", "m")).is_none());
        assert!(cache.get(&key("ls", "v2", "m")).is_none());
        assert!(cache.get(&key("ls", "v1", "other")).is_none());
    }

    #[test]
    fn zero_ttl_stores_nothing_and_capacity_is_kept() {
        let cache = VerdictCache::new(Duration::ZERO, 16);
        cache.insert(key("ls", "v1", "m"), Verdict::allow("llm", "fine"));
        assert!(cache.get(&key("ls", "v1", "m")).is_none());
        let cache = VerdictCache::new(Duration::from_secs(3600), 2);
        for command in ["a", "b", "c", "d"] {
            cache.insert(key(command, "v1", "m"), Verdict::allow("llm", "fine"));
        }
        assert_eq!(cache.len(), 2);
    }
}
