//! Every verification through the gate is a `preflight.verify` span carrying the proposal id,
//! agent, tool, decision, verifier and latency.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;

use preflight_core::testkit::{MemoryAuditSink, SpanRecorder};
use preflight_core::{Action, Decision, Fixed, Gate};
use serde_json::json;

#[test]
fn every_verification_is_a_span_with_its_outcome() {
    let recorder = SpanRecorder::new();
    let sink = Arc::new(MemoryAuditSink::new());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    tracing::subscriber::with_default(recorder.clone(), || {
        let gate = Gate::builder(Fixed::new(Decision::Deny))
            .with_audit(Arc::clone(&sink))
            .build()
            .unwrap();
        let action = Action::new("Bash", json!({ "command": "rm -rf /" })).with_agent("infra-bot");
        let checked = runtime.block_on(gate.check(action)).unwrap();
        assert_eq!(checked.decision, Decision::Deny);
    });

    let spans = recorder.named("preflight.verify");
    assert_eq!(spans.len(), 1, "{spans:?}");
    let fields = &spans[0].fields;
    assert_eq!(fields["proposal_id"], *sink.events()[0].proposal_id);
    assert_eq!(fields["agent"], "infra-bot");
    assert_eq!(fields["tool"], "Bash");
    assert_eq!(fields["decision"], "deny");
    assert_eq!(fields["verifier"], "fixed-deny");
    assert!(fields["latency_us"].parse::<u64>().is_ok(), "{fields:?}");
}
