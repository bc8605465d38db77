//! Tokens, cost, latency and the decision are recorded on the `preflight_llm.verify` span.

// Test code may unwrap and panic (the workspace allows it only inside `#[test]` functions).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use preflight_core::testkit::SpanRecorder;
use preflight_core::{Action, Proposal, Verifier};
use preflight_llm::{LlmVerifier, Pricing, Provider};
use serde_json::json;
use support::{ReplayServer, fixture};

#[test]
fn the_verify_span_carries_usage_and_latency() {
    let recorder = SpanRecorder::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tracing::subscriber::with_default(recorder.clone(), || {
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
    let spans = recorder.named("preflight_llm.verify");
    assert_eq!(spans.len(), 1, "{spans:?}");
    let fields = &spans[0].fields;
    assert_eq!(fields["decision"], "deny");
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
