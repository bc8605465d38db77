//! The [`Verifier`] trait and the wrappers every verifier can be given.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::action::{Action, ActionDigest};
use crate::effect::{Inspection, Inspector};
use crate::verdict::{Decision, FailClosed, Verdict};

/// An action prepared for verification: the action, its digest, and what inspection derived.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    /// The action as proposed, shared with the audit records.
    pub action: Arc<Action>,
    /// The action's canonical digest.
    pub digest: ActionDigest,
    /// What inspection derived, when an inspector ran.
    pub inspection: Option<Inspection>,
}

impl Proposal {
    /// A proposal without inspection.
    pub fn new(action: Action) -> Self {
        let digest = action.digest();
        Self {
            action: Arc::new(action),
            digest,
            inspection: None,
        }
    }

    /// A proposal inspected by `inspector`.
    pub fn inspected(action: Action, inspector: &dyn Inspector) -> Self {
        let inspection = inspector.inspect(&action);
        Self {
            inspection: Some(inspection),
            ..Self::new(action)
        }
    }
}

impl From<Action> for Proposal {
    fn from(action: Action) -> Self {
        Self::new(action)
    }
}

/// Whether retrying a failed verification can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A passing condition: a timeout, an unreachable service, a rate limit.
    Transient,
    /// Retrying will fail the same way: bad configuration, an invalid answer.
    Permanent,
}

/// Why a verifier could not decide. Every caller treats it as the fail-closed verdict.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The verifier did not answer within its deadline.
    #[error("verifier `{verifier}` timed out after {elapsed_ms} ms")]
    Timeout {
        /// The verifier's name.
        verifier: String,
        /// How long it was given.
        elapsed_ms: u64,
    },
    /// The verifier panicked.
    #[error("verifier `{verifier}` panicked: {message}")]
    Panicked {
        /// The verifier's name.
        verifier: String,
        /// The panic message, when it was a string.
        message: String,
    },
    /// A service the verifier depends on could not be reached or answered with an error.
    #[error("verifier `{verifier}` could not reach its backend: {message}")]
    Unavailable {
        /// The verifier's name.
        verifier: String,
        /// What failed.
        message: String,
    },
    /// The verifier got an answer it could not use (malformed, truncated, refused).
    #[error("verifier `{verifier}` got an unusable answer: {message}")]
    InvalidAnswer {
        /// The verifier's name.
        verifier: String,
        /// What was wrong with it.
        message: String,
    },
    /// Anything else.
    #[error("verifier `{verifier}` failed: {message}")]
    Other {
        /// The verifier's name.
        verifier: String,
        /// What failed.
        message: String,
    },
}

impl VerifyError {
    /// A generic failure.
    pub fn other(verifier: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Other {
            verifier: verifier.into(),
            message: message.into(),
        }
    }

    /// Whether retrying can help.
    pub fn kind(&self) -> ErrorKind {
        match self {
            VerifyError::Timeout { .. } | VerifyError::Unavailable { .. } => ErrorKind::Transient,
            VerifyError::Panicked { .. }
            | VerifyError::InvalidAnswer { .. }
            | VerifyError::Other { .. } => ErrorKind::Permanent,
        }
    }
}

/// Decides whether a proposed action may run.
///
/// # Contract
/// - **A denial is a value.** Return `Ok` with a deny, escalate, allow or abstain verdict.
///   Return `Err` only when you could not decide; every caller treats `Err` as the fail-closed
///   verdict (deny or escalate), never as allow.
/// - **Abstain when you have no opinion**, so that the next tier decides. A stack whose
///   verifiers all abstain applies its default, which is never allow.
/// - **Name your reasons.** Every non-abstaining verdict carries at least one reason with an
///   operator-readable message (and a rule id where a rule decided).
/// - **Take `&self`**: one verifier serves many concurrent tasks. Keep per-call state local.
/// - **Be cancel-safe**: a verification may be dropped at its deadline.
/// - A panic inside `verify` is caught by the combinators and the gate and becomes the
///   fail-closed verdict, but do not rely on it.
#[async_trait]
pub trait Verifier: Send + Sync + fmt::Debug {
    /// A short name used in verdicts, logs and the audit trail.
    fn name(&self) -> Cow<'_, str> {
        Cow::Borrowed(short_type_name(std::any::type_name::<Self>()))
    }

    /// Judges one proposal.
    async fn verify(&self, proposal: &Proposal) -> Result<Verdict, VerifyError>;
}

fn short_type_name(full: &str) -> &str {
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

#[async_trait]
impl<T: Verifier + ?Sized> Verifier for &T {
    fn name(&self) -> Cow<'_, str> {
        (**self).name()
    }
    async fn verify(&self, proposal: &Proposal) -> Result<Verdict, VerifyError> {
        (**self).verify(proposal).await
    }
}

#[async_trait]
impl<T: Verifier + ?Sized> Verifier for Box<T> {
    fn name(&self) -> Cow<'_, str> {
        (**self).name()
    }
    async fn verify(&self, proposal: &Proposal) -> Result<Verdict, VerifyError> {
        (**self).verify(proposal).await
    }
}

#[async_trait]
impl<T: Verifier + ?Sized> Verifier for Arc<T> {
    fn name(&self) -> Cow<'_, str> {
        (**self).name()
    }
    async fn verify(&self, proposal: &Proposal) -> Result<Verdict, VerifyError> {
        (**self).verify(proposal).await
    }
}

/// A verifier behind a pointer, shareable across tasks.
pub type BoxVerifier = Box<dyn Verifier>;

/// Conveniences for every [`Verifier`]; implemented for all of them, implement none yourself.
pub trait VerifierExt: Verifier + Sized + 'static {
    /// Boxes the verifier.
    fn boxed(self) -> BoxVerifier {
        Box::new(self)
    }

    /// Gives every verification a deadline; past it, [`VerifyError::Timeout`].
    fn with_timeout(self, timeout: Duration) -> WithTimeout<Self> {
        WithTimeout {
            inner: self,
            timeout,
        }
    }

    /// Turns every `Err`, panic or timeout into the fail-closed verdict, with the cause in its
    /// reasons; the result never returns `Err`.
    fn fail_closed(self, on_failure: FailClosed) -> FailClosedVerifier<Self> {
        FailClosedVerifier {
            inner: self,
            on_failure,
        }
    }

    /// Renames the verifier.
    fn named(self, name: impl Into<String>) -> Named<Self> {
        Named {
            inner: self,
            name: name.into(),
        }
    }

    /// Runs `self`, then `other`, and merges: deny > escalate > allow > abstain.
    fn and<V: Verifier + 'static>(self, other: V) -> crate::compose::All {
        crate::compose::All::new(vec![self.boxed(), other.boxed()])
    }

    /// Escalates allows whose confidence is below `threshold`.
    fn min_confidence(self, threshold: f64) -> crate::compose::MinConfidence<Self> {
        crate::compose::MinConfidence::new(self, threshold)
    }

    /// Verifies an action directly (without inspection).
    fn verify_action(
        &self,
        action: Action,
    ) -> impl Future<Output = Result<Verdict, VerifyError>> + Send {
        async move { self.verify(&Proposal::new(action)).await }
    }
}

impl<V: Verifier + Sized + 'static> VerifierExt for V {}

/// See [`VerifierExt::with_timeout`].
#[derive(Debug)]
pub struct WithTimeout<V> {
    inner: V,
    timeout: Duration,
}

#[async_trait]
impl<V: Verifier> Verifier for WithTimeout<V> {
    fn name(&self) -> Cow<'_, str> {
        self.inner.name()
    }
    async fn verify(&self, proposal: &Proposal) -> Result<Verdict, VerifyError> {
        match tokio::time::timeout(self.timeout, self.inner.verify(proposal)).await {
            Ok(result) => result,
            Err(_) => Err(VerifyError::Timeout {
                verifier: self.inner.name().into_owned(),
                elapsed_ms: u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX),
            }),
        }
    }
}

/// See [`VerifierExt::named`].
#[derive(Debug)]
pub struct Named<V> {
    inner: V,
    name: String,
}

#[async_trait]
impl<V: Verifier> Verifier for Named<V> {
    fn name(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.name)
    }
    async fn verify(&self, proposal: &Proposal) -> Result<Verdict, VerifyError> {
        self.inner.verify(proposal).await.map(|mut verdict| {
            verdict.verifier.clone_from(&self.name);
            verdict
        })
    }
}

/// See [`VerifierExt::fail_closed`].
#[derive(Debug)]
pub struct FailClosedVerifier<V> {
    inner: V,
    on_failure: FailClosed,
}

#[async_trait]
impl<V: Verifier> Verifier for FailClosedVerifier<V> {
    fn name(&self) -> Cow<'_, str> {
        self.inner.name()
    }
    async fn verify(&self, proposal: &Proposal) -> Result<Verdict, VerifyError> {
        Ok(verify_fail_closed(&self.inner, proposal, self.on_failure).await)
    }
}

/// Runs `verifier`, measuring latency, and turns an `Err` or a panic into the fail-closed
/// verdict. Never returns an allow that the verifier did not give.
pub async fn verify_fail_closed(
    verifier: &dyn Verifier,
    proposal: &Proposal,
    on_failure: FailClosed,
) -> Verdict {
    let started = Instant::now();
    let outcome = CatchUnwind(verifier.verify(proposal)).await;
    let verdict = match outcome {
        Ok(Ok(verdict)) => verdict,
        Ok(Err(error)) => Verdict::failed(verifier.name(), on_failure, error),
        Err(message) => Verdict::failed(
            verifier.name(),
            on_failure,
            VerifyError::Panicked {
                verifier: verifier.name().into_owned(),
                message,
            },
        ),
    };
    let mut verdict = sanitize(verdict, on_failure);
    if verdict.latency_us.is_none() {
        verdict.latency_us = Some(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
    }
    verdict
}

/// A verdict that claims a confidence outside 0..=1 (or NaN) is malformed; fail closed.
fn sanitize(verdict: Verdict, on_failure: FailClosed) -> Verdict {
    match verdict.confidence {
        Some(c) if !(0.0..=1.0).contains(&c) => Verdict::failed(
            verdict.verifier.clone(),
            on_failure,
            format_args!("confidence {c} is outside 0..=1"),
        ),
        _ => verdict,
    }
}

/// Polls a future, turning a panic into `Err(message)`.
struct CatchUnwind<F>(F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Result<F::Output, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match std::panic::catch_unwind(AssertUnwindSafe(|| Pin::new(inner).poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Err(payload) => Poll::Ready(Err(panic_message(payload.as_ref()))),
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

/// A verifier that always returns the same decision; useful in tests, and as an explicit
/// final tier (`Fixed::new(Decision::Escalate)`).
#[derive(Debug, Clone)]
pub struct Fixed {
    decision: Decision,
    name: String,
    message: String,
}

impl Fixed {
    /// Always `decision`.
    pub fn new(decision: Decision) -> Self {
        Self {
            decision,
            name: format!("fixed-{decision}"),
            message: format!("fixed verdict: {decision}"),
        }
    }

    /// Renames it and sets its message.
    pub fn with_message(mut self, name: impl Into<String>, message: impl Into<String>) -> Self {
        self.name = name.into();
        self.message = message.into();
        self
    }
}

#[async_trait]
impl Verifier for Fixed {
    fn name(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.name)
    }
    async fn verify(&self, _: &Proposal) -> Result<Verdict, VerifyError> {
        if self.decision == Decision::Abstain {
            return Ok(Verdict::abstain(&self.name));
        }
        Ok(Verdict::new(self.decision, &self.name, &self.message))
    }
}
