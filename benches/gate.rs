//! Gate overhead around a no-op verifier with the in-memory audit sink: the cost preflight adds
//! to every action before any real verification. Goal: ≤ 2 µs median per action.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use preflight::testkit::MemoryAuditSink;
use preflight::{Action, Decision, Fixed, Gate, Proposal, Verifier};
use serde_json::json;

fn action() -> Action {
    Action::new(
        "Bash",
        json!({"command": "cargo test --workspace && git status"}),
    )
    .with_agent("infra-bot")
    .with_cwd("/workspace/app")
    .with_reasoning("run the tests before pushing")
}

/// The in-memory sink keeps every record; a bench run appends millions, so drain it.
#[derive(Debug, Default)]
struct DiscardSink;

#[preflight::async_trait]
impl preflight::AuditSink for DiscardSink {
    async fn append(&self, events: &[preflight::AuditEvent]) -> Result<(), preflight::StoreError> {
        black_box(events);
        Ok(())
    }
}

fn gate(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let noop = Fixed::new(Decision::Allow);
    let action = action();

    let mut group = c.benchmark_group("gate");
    group.bench_function("digest", |b| b.iter(|| black_box(action.digest())));
    group.bench_function("verify_noop", |b| {
        let proposal = Proposal::new(action.clone());
        b.iter(|| runtime.block_on(noop.verify(black_box(&proposal))))
    });
    let discard = Gate::builder(noop.clone())
        .with_audit(DiscardSink)
        .build()
        .unwrap();
    group.bench_function("check_noop_discard_sink", |b| {
        b.iter(|| runtime.block_on(discard.check(black_box(action.clone()))))
    });
    // A fresh sink for each sample, so that memory stays bounded over millions of records.
    group.bench_function("run_noop_memory_sink", |b| {
        b.iter_custom(|iterations| {
            let gate = Gate::builder(noop.clone())
                .with_audit(Arc::new(MemoryAuditSink::new()))
                .build()
                .unwrap();
            let started = Instant::now();
            for _ in 0..iterations {
                let _ =
                    runtime.block_on(gate.run(black_box(action.clone()), |permit| async move {
                        Ok::<_, std::convert::Infallible>(black_box(permit.id().len()))
                    }));
            }
            started.elapsed()
        })
    });
    group.finish();
}

criterion_group!(benches, gate);
criterion_main!(benches);
