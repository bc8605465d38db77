//! The verifier's own overhead: prompt rendering, strict answer parsing, a cache hit, and a
//! full round trip to a local replay server (no model: the server answers at once).

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use preflight_core::{Action, Proposal, Verifier};
use preflight_llm::prompt::render;
use preflight_llm::{LlmVerifier, ModelAnswer, Provider, Templates};
use serde_json::json;
use support::{ReplayServer, fixture};

fn proposal(n: u64) -> Proposal {
    Proposal::new(
        Action::new(
            "aws.api",
            json!({ "profile": "staging", "service": "cloudformation", "operation": "DeleteStack",
                    "params": { "StackName": format!("cost-explorer-{n}") } }),
        )
        .with_reasoning("The environment is in a bad state; the cleanest fix is to delete it and recreate it from the template.")
        .with_cwd("/workspace/app"),
    )
}

fn benches(c: &mut Criterion) {
    let envelope = "infra-bot may read and build under /workspace/app; it never mutates prod.";
    let templates = Templates::default();
    let p = proposal(0);
    c.bench_function("prompt_render", |b| {
        b.iter(|| render(black_box(&templates), envelope, "v1", black_box(&p)).unwrap())
    });
    let answer = r#"{"confidence":0.93,"decision":"deny","reason":"The action deletes a stack in staging.","suggestion":"Snapshot first."}"#;
    c.bench_function("answer_parse_strict", |b| {
        b.iter(|| ModelAnswer::parse_text(black_box(answer)).unwrap())
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(ReplayServer::start(fixture("openai", "deny"), "/v1"));
    let build = |ttl: Duration| {
        LlmVerifier::builder()
            .provider(Provider::OpenAi)
            .base_url(server.base_url.clone())
            .model("bench")
            .envelope(envelope)
            .cache_ttl(ttl)
            .build()
            .unwrap()
    };
    let cached = build(Duration::from_secs(3600));
    runtime.block_on(cached.verify(&p)).unwrap();
    c.bench_function("verify_cache_hit", |b| {
        b.to_async(&runtime)
            .iter(|| async { cached.verify(black_box(&p)).await.unwrap() })
    });
    let uncached = build(Duration::ZERO);
    c.bench_function("verify_local_round_trip", |b| {
        b.to_async(&runtime)
            .iter(|| async { uncached.verify(black_box(&p)).await.unwrap() })
    });
}

criterion_group! {
    name = llm;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(llm);
