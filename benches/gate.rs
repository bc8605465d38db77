//! Gate overhead around a no-op verifier with the in-memory audit sink: the cost preflight adds
//! to every action before any real verification. Goal: ≤ 2 µs median per action.
//!
//! The gate is called the way an agent framework calls it, from inside an async task. Building
//! the action is the caller's work, not the gate's: the actions are cloned before the clock
//! starts. One variant also measures a `block_on` per action, as synchronous code would.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::future::Future;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use preflight::testkit::MemoryAuditSink;
use preflight::{Action, Decision, Fixed, Gate, Proposal, Verifier};
use serde_json::json;
use tokio::runtime::Runtime;

fn action() -> Action {
    Action::new(
        "Bash",
        json!({"command": "cargo test --workspace && git status"}),
    )
    .with_agent("infra-bot")
    .with_cwd("/workspace/app")
    .with_reasoning("run the tests before pushing")
}

/// A sink that keeps nothing: the gate alone, without the cost of storing records.
#[derive(Debug, Default)]
struct DiscardSink;

#[preflight::async_trait]
impl preflight::AuditSink for DiscardSink {
    async fn append(&self, events: &[preflight::AuditEvent]) -> Result<(), preflight::StoreError> {
        black_box(events);
        Ok(())
    }
}

/// Times `step` over `iterations` actions inside one async task. The actions are cloned in
/// batches outside the timed region.
fn per_action<F, Fut>(runtime: &Runtime, iterations: u64, action: &Action, mut step: F) -> Duration
where
    F: FnMut(Action) -> Fut,
    Fut: Future,
{
    runtime.block_on(async {
        let mut total = Duration::ZERO;
        let mut left = iterations;
        while left > 0 {
            let batch_len = left.min(64);
            let batch: Vec<Action> = (0..batch_len).map(|_| action.clone()).collect();
            let started = Instant::now();
            for action in batch {
                black_box(step(action).await);
            }
            total += started.elapsed();
            left -= batch_len;
        }
        total
    })
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
        b.iter_custom(|iterations| {
            per_action(&runtime, iterations, &action, |action| {
                discard.check(action)
            })
        })
    });
    // The in-memory sink keeps the most recent records, as a long-running process would: an
    // unbounded one would measure the allocator growing a vector of millions of records.
    let memory = Gate::builder(noop.clone())
        .with_audit(MemoryAuditSink::keep_last(64))
        .build()
        .unwrap();
    group.bench_function("run_noop_memory_sink", |b| {
        b.iter_custom(|iterations| {
            per_action(&runtime, iterations, &action, |action| {
                memory.run(action, |permit| async move {
                    Ok::<_, std::convert::Infallible>(black_box(permit.id().len()))
                })
            })
        })
    });
    group.bench_function("run_noop_memory_sink_block_on_each", |b| {
        b.iter_batched(
            || action.clone(),
            |action| {
                runtime.block_on(memory.run(action, |permit| async move {
                    Ok::<_, std::convert::Infallible>(black_box(permit.id().len()))
                }))
            },
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, gate);
criterion_main!(benches);
