//! Every verification through the gate is a `preflight.verify` span carrying the proposal id,
//! agent, tool, decision, verifier and latency.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use preflight_core::testkit::MemoryAuditSink;
use preflight_core::{Action, AuditKind, Decision, Fixed, Gate};
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// A span's name and its fields, as text.
type Recorded = (String, BTreeMap<String, String>);

/// Keeps every span's name and fields.
#[derive(Default)]
struct Spans {
    next: AtomicU64,
    spans: Arc<Mutex<BTreeMap<u64, Recorded>>>,
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl Subscriber for Spans {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attributes: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut fields = BTreeMap::new();
        attributes.record(&mut Fields(&mut fields));
        self.spans
            .lock()
            .unwrap()
            .insert(id, (attributes.metadata().name().to_string(), fields));
        Id::from_u64(id)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut spans = self.spans.lock().unwrap();
        let (_, fields) = spans.get_mut(&span.into_u64()).unwrap();
        values.record(&mut Fields(fields));
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn every_verification_is_a_span_with_its_outcome() {
    let subscriber = Spans::default();
    let spans = Arc::clone(&subscriber.spans);
    let sink = Arc::new(MemoryAuditSink::new());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        let gate = Gate::builder(Fixed::new(Decision::Deny))
            .with_audit(Arc::clone(&sink))
            .build()
            .unwrap();
        let action = Action::new("Bash", json!({ "command": "rm -rf /" })).with_agent("infra-bot");
        let checked = runtime.block_on(gate.check(action)).unwrap();
        assert_eq!(checked.decision, Decision::Deny);
    });

    let spans = spans.lock().unwrap();
    let verify: Vec<_> = spans
        .values()
        .filter(|(name, _)| name == "preflight.verify")
        .collect();
    assert_eq!(verify.len(), 1, "{spans:?}");
    let fields = &verify[0].1;
    let proposal_id = sink.events()[0].proposal_id.to_string();
    assert!(matches!(sink.events()[0].kind, AuditKind::Proposed { .. }));
    assert_eq!(fields["proposal_id"], proposal_id);
    assert_eq!(fields["agent"], "infra-bot");
    assert_eq!(fields["tool"], "Bash");
    assert_eq!(fields["decision"], "deny");
    assert_eq!(fields["verifier"], "fixed-deny");
    assert!(fields["latency_us"].parse::<u64>().is_ok(), "{fields:?}");
}
