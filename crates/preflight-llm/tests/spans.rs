//! Tokens, cost, latency and the decision are recorded on the `preflight_llm.verify` span.

// Test code may unwrap and panic (the workspace allows it only inside `#[test]` functions).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use preflight_core::{Action, Proposal, Verifier};
use preflight_llm::{LlmVerifier, Pricing, Provider};
use serde_json::json;
use support::{ReplayServer, fixture};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

type Fields = Arc<Mutex<BTreeMap<String, String>>>;

/// Collects the fields of the span named `preflight_llm.verify`.
struct Collect {
    fields: Fields,
    next: AtomicU64,
    verify_spans: Mutex<Vec<u64>>,
}

struct Visitor<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Visitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
}

impl Subscriber for Collect {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::SeqCst) + 1;
        if span.metadata().name() == "preflight_llm.verify" {
            self.verify_spans.lock().unwrap().push(id);
            span.record(&mut Visitor(&mut self.fields.lock().unwrap()));
        }
        Id::from_u64(id)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        if self.verify_spans.lock().unwrap().contains(&span.into_u64()) {
            values.record(&mut Visitor(&mut self.fields.lock().unwrap()));
        }
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn the_verify_span_carries_usage_and_latency() {
    let fields: Fields = Arc::default();
    let subscriber = Collect {
        fields: fields.clone(),
        next: AtomicU64::new(0),
        verify_spans: Mutex::new(Vec::new()),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(async {
            let server = ReplayServer::start(fixture("openai", "deny"), "/v1").await;
            let verifier = LlmVerifier::builder()
                .provider(Provider::OpenAi)
                .base_url(server.base_url.clone())
                .model("judge-model")
                .envelope("e")
                .deadline(Duration::from_secs(5))
                .pricing(Pricing {
                    input_per_million: 2.0,
                    output_per_million: 8.0,
                })
                .build()
                .unwrap();
            let proposal = Proposal::new(Action::new("Bash", json!({ "command": "ls" })));
            verifier.verify(&proposal).await.unwrap();
        });
    });
    let fields = fields.lock().unwrap();
    assert_eq!(fields["decision"], "\"deny\"");
    assert_eq!(fields["model"], "judge-model");
    assert_eq!(fields["provider"], "openai");
    assert_eq!(fields["input_tokens"], "912");
    assert_eq!(fields["output_tokens"], "58");
    assert_eq!(fields["attempts"], "1");
    assert_eq!(fields["cached"], "false");
    let cost: f64 = fields["cost_usd"].parse().unwrap();
    assert!((cost - (912.0 * 2.0 + 58.0 * 8.0) / 1e6).abs() < 1e-12);
    assert!(fields["latency_us"].parse::<u64>().is_ok());
    assert!(fields.contains_key("confidence"));
}
