//! The policy as a [`Verifier`], fixed or reloaded from its file.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use preflight_core::{
    Decision, FleetLimits, Inspection, Proposal, Reason, ReasonKind, Timestamp, Verdict, Verifier,
    VerifyError, async_trait,
};

use crate::error::RulesError;
use crate::eval::Outcome;
use crate::file::RuleEffect;
use crate::policy::Policy;

/// A verifier that judges every proposal against one compiled [`Policy`].
///
/// When a proposal carries no inspection, the verifier inspects the action itself with the
/// policy's environments. Rules with a fleet limit consult the [`FleetLimits`] given with
/// [`PolicyVerifier::with_fleet_limits`]; without one, such a rule never allows (fail closed).
#[derive(Debug, Clone)]
pub struct PolicyVerifier {
    policy: Arc<Policy>,
    limits: Option<Arc<dyn FleetLimits>>,
    name: String,
}

impl PolicyVerifier {
    /// A verifier for `policy`, named `rules`.
    pub fn new(policy: impl Into<Arc<Policy>>) -> Self {
        Self {
            policy: policy.into(),
            limits: None,
            name: "rules".into(),
        }
    }

    /// Reads and compiles the policy at `path`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, RulesError> {
        Ok(Self::new(Policy::from_file(path)?))
    }

    /// Counts fleet-limited rules in `limits`.
    pub fn with_fleet_limits(mut self, limits: Arc<dyn FleetLimits>) -> Self {
        self.limits = Some(limits);
        self
    }

    /// Names the verifier in verdicts.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The policy.
    pub fn policy(&self) -> &Arc<Policy> {
        &self.policy
    }
}

#[async_trait]
impl Verifier for PolicyVerifier {
    fn name(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.name)
    }

    async fn verify(&self, proposal: &Proposal) -> Result<Verdict, VerifyError> {
        judge(&self.policy, self.limits.as_deref(), &self.name, proposal).await
    }
}

async fn judge(
    policy: &Policy,
    limits: Option<&dyn FleetLimits>,
    name: &str,
    proposal: &Proposal,
) -> Result<Verdict, VerifyError> {
    let started = Instant::now();
    let owned: Inspection;
    let inspection = match &proposal.inspection {
        Some(inspection) => inspection,
        None => {
            owned = policy.inspect(&proposal.action);
            &owned
        }
    };
    let outcome = policy.outcome(&proposal.action, inspection, false);
    let mut verdict = policy.verdict(&outcome, &proposal.action, inspection, name);
    apply_limits(policy, limits, name, &outcome, &mut verdict).await;
    Ok(verdict.with_latency(started.elapsed()))
}

/// Consults the fleet limits of the allow rules that decided an allow. Over the limit, a
/// missing store or a store error: the limit's `over` decision (never allow).
async fn apply_limits(
    policy: &Policy,
    limits: Option<&dyn FleetLimits>,
    name: &str,
    outcome: &Outcome,
    verdict: &mut Verdict,
) {
    if verdict.decision != Decision::Allow {
        return;
    }
    for &(r, _) in &outcome.matches {
        let Some(rule) = policy.rules.get(r as usize) else {
            continue;
        };
        let Some(limit) = &rule.limit else {
            continue;
        };
        let key = limit
            .key
            .clone()
            .unwrap_or_else(|| format!("rule:{}", rule.id));
        let window = Duration::from_secs(limit.window_seconds);
        let admitted = match limits {
            Some(store) => {
                store
                    .try_acquire(&key, limit.max, window, Timestamp::now())
                    .await
            }
            None => Ok(false),
        };
        let message = match admitted {
            Ok(true) => continue,
            Ok(false) if limits.is_none() => {
                "the rule has a fleet limit but no fleet counter is configured".to_string()
            }
            Ok(false) => format!(
                "fleet limit reached: at most {} in {} s",
                limit.max, limit.window_seconds
            ),
            Err(error) => format!("fleet limit could not be checked: {error}"),
        };
        let over = match limit.over {
            RuleEffect::Allow => Decision::Escalate,
            other => other.decision(),
        };
        verdict.decision = verdict.decision.max(over);
        verdict.reasons.insert(
            0,
            Reason {
                kind: ReasonKind::Rule,
                verifier: name.to_string(),
                rule: Some(rule.id.to_string()),
                decision: verdict.decision,
                message,
            },
        );
        verdict.suggestion = None;
    }
}

/// What a [`ReloadingVerifier`] last saw of its file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp {
        modified: meta.modified().ok(),
        len: meta.len(),
    })
}

/// A verifier that reads its policy from a file and reloads it when the file changes.
///
/// A new version that fails to load (or whose tests fail, with `test_on_load`) is reported
/// and the previous policy keeps running: the verifier is never without a policy. Reload
/// explicitly with [`ReloadingVerifier::reload`], when the file changed with
/// [`ReloadingVerifier::reload_if_changed`], or in the background with
/// [`ReloadingVerifier::watch`], which polls the file.
#[derive(Debug)]
pub struct ReloadingVerifier {
    path: PathBuf,
    current: ArcSwap<Policy>,
    last_error: Mutex<Option<RulesError>>,
    seen: Mutex<Option<Stamp>>,
    limits: Option<Arc<dyn FleetLimits>>,
    name: String,
}

impl ReloadingVerifier {
    /// Loads the policy at `path`; fails when the first version does not load.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, RulesError> {
        let path = path.into();
        let seen = stamp(&path);
        let policy = Policy::from_file(&path)?;
        Ok(Self {
            path,
            current: ArcSwap::from_pointee(policy),
            last_error: Mutex::new(None),
            seen: Mutex::new(seen),
            limits: None,
            name: "rules".into(),
        })
    }

    /// Counts fleet-limited rules in `limits`.
    pub fn with_fleet_limits(mut self, limits: Arc<dyn FleetLimits>) -> Self {
        self.limits = Some(limits);
        self
    }

    /// The policy in force.
    pub fn policy(&self) -> Arc<Policy> {
        self.current.load_full()
    }

    /// The error of the last failed reload, cleared by a successful one.
    pub fn last_error(&self) -> Option<RulesError> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }

    /// Reads the file again. On success the new policy is in force; on error the old one
    /// stays and the error is returned (and kept for [`ReloadingVerifier::last_error`]).
    pub fn reload(&self) -> Result<(), RulesError> {
        let seen = stamp(&self.path);
        if let Ok(mut slot) = self.seen.lock() {
            *slot = seen;
        }
        match Policy::from_file(&self.path) {
            Ok(policy) => {
                self.current.store(Arc::new(policy));
                if let Ok(mut slot) = self.last_error.lock() {
                    *slot = None;
                }
                tracing::info!(path = %self.path.display(), "policy reloaded");
                Ok(())
            }
            Err(error) => {
                tracing::warn!(path = %self.path.display(), %error, "policy reload failed; keeping the previous policy");
                if let Ok(mut slot) = self.last_error.lock() {
                    *slot = Some(error.clone());
                }
                Err(error)
            }
        }
    }

    /// Reloads when the file's modification time or size changed since the last look.
    /// Returns whether it tried.
    pub fn reload_if_changed(&self) -> Result<bool, RulesError> {
        let now = stamp(&self.path);
        let changed = self.seen.lock().map(|seen| *seen != now).unwrap_or(true);
        if !changed {
            return Ok(false);
        }
        self.reload().map(|()| true)
    }

    /// Polls the file every `interval` on a background thread, reloading on change, until
    /// the returned handle is dropped or the verifier is.
    pub fn watch(self: &Arc<Self>, interval: Duration) -> WatchHandle {
        let stop = Arc::new(AtomicBool::new(false));
        let weak: Weak<Self> = Arc::downgrade(self);
        let flag = Arc::clone(&stop);
        let spawned = std::thread::Builder::new()
            .name("preflight-policy-watch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(interval);
                    let Some(verifier) = weak.upgrade() else {
                        break;
                    };
                    let _ = verifier.reload_if_changed();
                }
            });
        if let Err(error) = &spawned {
            tracing::warn!(%error, "could not start the policy watcher");
        }
        WatchHandle { stop }
    }
}

/// Stops a [`ReloadingVerifier::watch`] thread when dropped.
#[derive(Debug)]
pub struct WatchHandle {
    stop: Arc<AtomicBool>,
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[async_trait]
impl Verifier for ReloadingVerifier {
    fn name(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.name)
    }

    async fn verify(&self, proposal: &Proposal) -> Result<Verdict, VerifyError> {
        let policy = self.current.load_full();
        judge(&policy, self.limits.as_deref(), &self.name, proposal).await
    }
}
