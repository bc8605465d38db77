//! In-memory implementations of the core traits, for tests and examples (feature
//! `test-util`). They keep everything in the process: nothing survives a restart.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use crate::approval::{
    Approval, ApprovalDecision, ApprovalError, ApprovalRequest, ApprovalStatus, ApprovalStore,
    Approver, QueueChange, QueuedApproval,
};
use crate::store::{AuditEvent, AuditSink, FleetLimits, StoreError};
use crate::time::Timestamp;

/// An audit sink that keeps records in memory, all of them or only the most recent. Can be
/// told to fail, to test that nothing runs unrecorded.
#[derive(Debug, Default)]
pub struct MemoryAuditSink {
    events: Mutex<VecDeque<AuditEvent>>,
    /// Keep at most this many records, dropping the oldest; `None` keeps all.
    limit: Option<usize>,
    failing: AtomicBool,
}

impl MemoryAuditSink {
    /// An empty sink that keeps every record.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty sink that keeps only the `limit` most recent records, for long-running
    /// processes (a bounded tail of recent activity) and benchmarks.
    pub fn keep_last(limit: usize) -> Self {
        Self {
            events: Mutex::new(VecDeque::with_capacity(limit)),
            limit: Some(limit),
            failing: AtomicBool::new(false),
        }
    }

    /// Every record kept, oldest first.
    pub fn events(&self) -> Vec<AuditEvent> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Makes every later `append` fail (or succeed again).
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

#[async_trait]
impl AuditSink for MemoryAuditSink {
    async fn append(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("memory sink set to fail".into()));
        }
        let mut kept = self.events.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(limit) = self.limit {
            let overflow = (kept.len() + events.len())
                .saturating_sub(limit)
                .min(kept.len());
            kept.drain(..overflow);
            let skip = events.len().saturating_sub(limit);
            kept.extend(events[skip..].iter().cloned());
        } else {
            kept.extend(events.iter().cloned());
        }
        Ok(())
    }
}

/// An approver that answers from a script: each request takes the next answer; when the
/// script is empty it fails (never approves by default).
#[derive(Debug, Default)]
pub struct ScriptedApprover {
    answers: Mutex<VecDeque<ScriptedAnswer>>,
    asked: Mutex<Vec<ApprovalRequest>>,
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum ScriptedAnswer {
    /// Approve as this person.
    Approve(String),
    /// Deny as this person.
    Deny(String),
    /// Answer for a different action (a forged or stale approval).
    ApproveOtherAction(String),
    /// Never answer.
    Hang,
    /// Fail.
    Fail(String),
}

impl ScriptedApprover {
    /// An approver with these answers, in order.
    pub fn new(answers: impl IntoIterator<Item = ScriptedAnswer>) -> Self {
        Self {
            answers: Mutex::new(answers.into_iter().collect()),
            asked: Mutex::new(Vec::new()),
        }
    }

    /// The requests it was asked, in order.
    pub fn asked(&self) -> Vec<ApprovalRequest> {
        self.asked.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[async_trait]
impl Approver for ScriptedApprover {
    async fn request(&self, request: &ApprovalRequest) -> Result<Approval, ApprovalError> {
        self.asked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(request.clone());
        let answer = self
            .answers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front();
        match answer {
            Some(ScriptedAnswer::Approve(who)) => {
                Ok(Approval::new(request, ApprovalDecision::Approved, who))
            }
            Some(ScriptedAnswer::Deny(who)) => {
                Ok(Approval::new(request, ApprovalDecision::Denied, who))
            }
            Some(ScriptedAnswer::ApproveOtherAction(who)) => {
                let mut approval = Approval::new(request, ApprovalDecision::Approved, who);
                approval.digest.0[0] ^= 0xff;
                Ok(approval)
            }
            Some(ScriptedAnswer::Hang) => {
                std::future::pending::<()>().await;
                Err(ApprovalError::Expired)
            }
            Some(ScriptedAnswer::Fail(why)) => Err(ApprovalError::Unavailable(why)),
            None => Err(ApprovalError::Unavailable("no scripted answer left".into())),
        }
    }
}

/// An approval queue in memory.
#[derive(Debug)]
pub struct MemoryApprovalStore {
    items: Mutex<Vec<QueuedApproval>>,
    changes: tokio::sync::broadcast::Sender<QueueChange>,
}

impl Default for MemoryApprovalStore {
    fn default() -> Self {
        Self {
            items: Mutex::new(Vec::new()),
            changes: tokio::sync::broadcast::channel(256).0,
        }
    }
}

impl MemoryApprovalStore {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }
}

fn with_expiry(mut item: QueuedApproval, now: Timestamp) -> QueuedApproval {
    if item.status == ApprovalStatus::Pending && item.request.is_expired(now) {
        item.status = ApprovalStatus::Expired;
    }
    item
}

#[async_trait]
impl ApprovalStore for MemoryApprovalStore {
    async fn enqueue(&self, request: &ApprovalRequest) -> Result<(), StoreError> {
        let mut items = self.items.lock().unwrap_or_else(|p| p.into_inner());
        if items.iter().any(|i| i.request.id == request.id) {
            return Err(StoreError::Conflict(format!(
                "request {} is already queued",
                request.id
            )));
        }
        items.push(QueuedApproval {
            request: request.clone(),
            status: ApprovalStatus::Pending,
            approval: None,
        });
        drop(items);
        let _ = self.changes.send(QueueChange::Enqueued {
            id: request.id.clone(),
        });
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<QueuedApproval>, StoreError> {
        let items = self.items.lock().unwrap_or_else(|p| p.into_inner());
        let now = Timestamp::now();
        Ok(items
            .iter()
            .find(|i| i.request.id == id)
            .cloned()
            .map(|i| with_expiry(i, now)))
    }

    async fn pending(&self, now: Timestamp) -> Result<Vec<QueuedApproval>, StoreError> {
        let items = self.items.lock().unwrap_or_else(|p| p.into_inner());
        let mut pending: Vec<QueuedApproval> = items
            .iter()
            .filter(|i| i.status == ApprovalStatus::Pending && !i.request.is_expired(now))
            .cloned()
            .collect();
        pending.sort_by_key(|i| i.request.requested_at);
        Ok(pending)
    }

    async fn history(&self, limit: usize) -> Result<Vec<QueuedApproval>, StoreError> {
        let items = self.items.lock().unwrap_or_else(|p| p.into_inner());
        let now = Timestamp::now();
        let mut done: Vec<QueuedApproval> = items
            .iter()
            .cloned()
            .map(|i| with_expiry(i, now))
            .filter(|i| i.status != ApprovalStatus::Pending)
            .collect();
        done.sort_by_key(|i| {
            std::cmp::Reverse(
                i.approval
                    .as_ref()
                    .map_or(i.request.expires_at, |a| a.decided_at),
            )
        });
        done.truncate(limit);
        Ok(done)
    }

    async fn decide(&self, approval: &Approval) -> Result<QueuedApproval, StoreError> {
        let mut items = self.items.lock().unwrap_or_else(|p| p.into_inner());
        let now = Timestamp::now();
        let Some(item) = items
            .iter_mut()
            .find(|i| i.request.id == approval.request_id)
        else {
            return Err(StoreError::Conflict(format!(
                "no request {}",
                approval.request_id
            )));
        };
        if item.status != ApprovalStatus::Pending {
            return Err(StoreError::Conflict(format!(
                "request {} is already {:?}",
                approval.request_id, item.status
            )));
        }
        if item.request.is_expired(now) {
            item.status = ApprovalStatus::Expired;
            return Err(StoreError::Conflict(format!(
                "request {} has expired",
                approval.request_id
            )));
        }
        approval
            .binds_to(&item.request)
            .map_err(StoreError::Conflict)?;
        item.status = match approval.decision {
            ApprovalDecision::Approved => ApprovalStatus::Approved,
            ApprovalDecision::Denied => ApprovalStatus::Denied,
        };
        item.approval = Some(approval.clone());
        let decided = item.clone();
        drop(items);
        let _ = self.changes.send(QueueChange::Decided {
            id: approval.request_id.clone(),
        });
        Ok(decided)
    }

    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<QueueChange> {
        self.changes.subscribe()
    }
}

/// Fleet limits in memory: a sliding window of timestamps per key.
#[derive(Debug, Default)]
pub struct MemoryFleetLimits {
    uses: Mutex<HashMap<String, VecDeque<Timestamp>>>,
}

impl MemoryFleetLimits {
    /// No uses yet.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl FleetLimits for MemoryFleetLimits {
    async fn try_acquire(
        &self,
        key: &str,
        max: u64,
        window: Duration,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut uses = self.uses.lock().unwrap_or_else(|p| p.into_inner());
        let entry = uses.entry(key.to_string()).or_default();
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        let since = now.0.saturating_sub(window_ms);
        while entry.front().is_some_and(|t| t.0 <= since) {
            entry.pop_front();
        }
        if (entry.len() as u64) < max {
            entry.push_back(now);
            Ok(true)
        } else {
            Ok(false)
        }
    }
}

/// A `tracing` subscriber that keeps every span's name and fields, as text, to check what a
/// verification records. Cloning it shares what it keeps, so a test can hand one clone to
/// `tracing::subscriber::with_default` and read the spans through another.
#[derive(Debug, Default, Clone)]
pub struct SpanRecorder {
    inner: std::sync::Arc<RecordedSpans>,
}

#[derive(Debug, Default)]
struct RecordedSpans {
    next: std::sync::atomic::AtomicU64,
    spans: Mutex<std::collections::BTreeMap<u64, RecordedSpan>>,
}

/// One span as recorded: its name, and each field's value as text (strings as they are,
/// anything else as `Debug` prints it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordedSpan {
    /// The span's name.
    pub name: String,
    /// Its fields, from its creation and every later `record`.
    pub fields: std::collections::BTreeMap<String, String>,
}

impl SpanRecorder {
    /// A recorder that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The spans named `name`, in the order they were created.
    pub fn named(&self, name: &str) -> Vec<RecordedSpan> {
        self.inner
            .spans
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|span| span.name == name)
            .cloned()
            .collect()
    }
}

struct FieldText<'a>(&'a mut std::collections::BTreeMap<String, String>);

impl tracing::field::Visit for FieldText<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
}

impl tracing::Subscriber for SpanRecorder {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attributes: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let id = self.inner.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut span = RecordedSpan {
            name: attributes.metadata().name().to_string(),
            fields: std::collections::BTreeMap::new(),
        };
        attributes.record(&mut FieldText(&mut span.fields));
        self.inner
            .spans
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, span);
        tracing::span::Id::from_u64(id)
    }
    fn record(&self, span: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut spans = self.inner.spans.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(span) = spans.get_mut(&span.into_u64()) {
            values.record(&mut FieldText(&mut span.fields));
        }
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::Action;
    use crate::store::{AuditKind, Outcome};

    fn record(n: u64) -> AuditEvent {
        let action = Action::new("Bash", serde_json::json!({ "n": n }));
        AuditEvent {
            proposal_id: format!("p{n}").into(),
            digest: action.digest(),
            at: Timestamp(n),
            agent: None,
            tool: "Bash".into(),
            kind: AuditKind::Completed {
                outcome: Outcome {
                    success: true,
                    error: None,
                    duration_ms: 0,
                },
            },
        }
    }

    fn ids(sink: &MemoryAuditSink) -> Vec<String> {
        sink.events()
            .iter()
            .map(|e| e.proposal_id.to_string())
            .collect()
    }

    #[tokio::test]
    async fn keep_last_drops_the_oldest_records_only() {
        let sink = MemoryAuditSink::keep_last(3);
        sink.append(&[record(1), record(2)]).await.unwrap();
        assert_eq!(ids(&sink), ["p1", "p2"]);
        sink.append(&[record(3), record(4)]).await.unwrap();
        assert_eq!(ids(&sink), ["p2", "p3", "p4"]);
        // A batch larger than the limit keeps its own tail.
        sink.append(&[record(5), record(6), record(7), record(8)])
            .await
            .unwrap();
        assert_eq!(ids(&sink), ["p6", "p7", "p8"]);

        let all = MemoryAuditSink::new();
        for n in 0..10 {
            all.append(&[record(n)]).await.unwrap();
        }
        assert_eq!(all.events().len(), 10);
    }
}
