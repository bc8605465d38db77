//! The console approver: queue the request, then wait for a person's decision.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use preflight_core::{
    Approval, ApprovalDecision, ApprovalError, ApprovalRequest, ApprovalStatus, ApprovalStore,
    Approver, QueueChange, StoreError, Timestamp, async_trait,
};
use tokio::sync::broadcast::error::RecvError;

use crate::webhook::Webhook;

/// Queues each request into an [`ApprovalStore`] and waits until a person decides it in the
/// web console (or through its API), or until it expires.
///
/// Waiting listens to the store's live changes and re-reads the request on each change that
/// names it, and every [`poll interval`](ConsoleApprover::with_poll_interval) as well, so a
/// store that delivers changes late (or a missed change) only delays the answer. An expired
/// request is an [`ApprovalError::Expired`], never an approval. Cancel-safe: dropping the
/// future leaves the request in the store, where it expires.
#[derive(Clone)]
pub struct ConsoleApprover {
    store: Arc<dyn ApprovalStore>,
    poll: Duration,
    webhook: Option<Webhook>,
}

impl fmt::Debug for ConsoleApprover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleApprover")
            .field("store", &self.store)
            .field("poll", &self.poll)
            .field("webhook", &self.webhook)
            .finish()
    }
}

impl ConsoleApprover {
    /// An approver queueing into `store`; serve the same store with a [`Console`](crate::Console).
    pub fn new(store: Arc<dyn ApprovalStore>) -> Self {
        Self {
            store,
            poll: Duration::from_secs(2),
            webhook: None,
        }
    }

    /// How often to re-read the request even without a change notice (default 2 s).
    pub fn with_poll_interval(mut self, poll: Duration) -> Self {
        self.poll = poll.max(Duration::from_millis(10));
        self
    }

    /// Also announces every request through `webhook`, with links back to the console.
    pub fn with_webhook(mut self, webhook: Webhook) -> Self {
        self.webhook = Some(webhook);
        self
    }

    /// The decision on `id`, if there is one yet.
    async fn settled(&self, request: &ApprovalRequest) -> Result<Option<Approval>, ApprovalError> {
        let Some(item) = self.store.get(&request.id).await? else {
            return Err(ApprovalError::Unavailable(
                "the request vanished from the approval store".into(),
            ));
        };
        match item.status {
            ApprovalStatus::Pending => {
                if request.is_expired(Timestamp::now()) {
                    Err(ApprovalError::Expired)
                } else {
                    Ok(None)
                }
            }
            ApprovalStatus::Expired => Err(ApprovalError::Expired),
            ApprovalStatus::Approved | ApprovalStatus::Denied => match item.approval {
                Some(approval) => {
                    let expected = match item.status {
                        ApprovalStatus::Approved => ApprovalDecision::Approved,
                        _ => ApprovalDecision::Denied,
                    };
                    if approval.decision != expected {
                        return Err(StoreError::Corrupt(
                            "the recorded decision disagrees with the request's status".into(),
                        )
                        .into());
                    }
                    Ok(Some(approval))
                }
                None => Err(StoreError::Corrupt("a decided request has no decision".into()).into()),
            },
        }
    }
}

#[async_trait]
impl Approver for ConsoleApprover {
    fn name(&self) -> Cow<'_, str> {
        if self.webhook.is_some() {
            Cow::Borrowed("webhook")
        } else {
            Cow::Borrowed("console")
        }
    }

    async fn request(&self, request: &ApprovalRequest) -> Result<Approval, ApprovalError> {
        // Subscribe first, so that no decision made right after the enqueue is missed.
        let mut changes = self.store.subscribe();
        self.store.enqueue(request).await?;
        if let Some(webhook) = &self.webhook {
            if let Err(error) = webhook.send(request).await {
                tracing::error!(request_id = %request.id, %error, "webhook not delivered");
                // Nobody was told: close the request so it cannot be approved unseen later.
                let denial =
                    Approval::new(request, ApprovalDecision::Denied, "preflight (webhook)")
                        .with_comment(format!("nobody could be notified: {error}"));
                if let Err(e) = self.store.decide(&denial).await {
                    tracing::warn!(request_id = %request.id, error = %e, "could not close request");
                }
                return Err(error.into());
            }
        }
        loop {
            if let Some(approval) = self.settled(request).await? {
                return Ok(approval);
            }
            let left = request.expires_at.0.saturating_sub(Timestamp::now().0);
            let wait = self.poll.min(Duration::from_millis(left));
            let _ = tokio::time::timeout(wait, async {
                loop {
                    match changes.recv().await {
                        Ok(QueueChange::Decided { id }) if id == request.id => return,
                        Ok(_) => {}
                        Err(RecvError::Lagged(_)) => return,
                        // No more notices: the timeout re-reads at each poll interval.
                        Err(RecvError::Closed) => std::future::pending::<()>().await,
                    }
                }
            })
            .await;
        }
    }
}
