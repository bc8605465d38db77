//! Sustained verified and audited actions per second with 64 concurrent agents through
//! `preflight_core::Gate` (a no-op verifier), on SQLite and on PostgreSQL, and the p99 latency
//! of recording (one `append`, committed).
//!
//! `cargo bench -p preflight-audit --all-features --bench throughput`; PostgreSQL is measured
//! when `PREFLIGHT_TEST_PG_URL` is set (`eval "$(scripts/postgres.sh)"`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use preflight_audit::AuditStore;
use preflight_core::{Action, AuditEvent, AuditSink, Decision, Fixed, Gate, StoreError};
use serde_json::json;

const AGENTS: u64 = 64;

/// Times every append of the store it wraps.
#[derive(Debug)]
struct Timed {
    store: AuditStore,
    latencies: Arc<Mutex<Vec<Duration>>>,
}

#[preflight_core::async_trait]
impl AuditSink for Timed {
    async fn append(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        let started = Instant::now();
        let result = self.store.append(events).await;
        let elapsed = started.elapsed();
        self.latencies.lock().unwrap().push(elapsed);
        result
    }
}

fn action(agent: u64, n: u64) -> Action {
    Action::new(
        "Bash",
        json!({ "command": format!("kubectl get pods -n team-{agent}"), "n": n }),
    )
    .with_agent(format!("agent-{agent}"))
    .with_reasoning("list the pods to find the failing one")
}

async fn run_agents(gate: &Gate, total: u64) -> Duration {
    let per_agent = total.div_ceil(AGENTS);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for agent in 0..AGENTS {
        let gate = gate.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..per_agent {
                let checked = gate.check(action(agent, n)).await.unwrap();
                assert!(checked.is_allowed());
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    started.elapsed()
}

/// CPU time used by this process so far (user + system), from /proc/self/stat (Linux; clock
/// ticks of 10 ms).
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

#[cfg(feature = "postgres")]
async fn open_postgres(base: &str) -> String {
    use sqlx::Connection as _;
    let name = format!("pf_bench_{}", &preflight_core::new_id()[..16]);
    let mut admin = sqlx::PgConnection::connect(base).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    format!("{prefix}/{name}")
}

fn bench_backend(c: &mut Criterion, label: &str, url: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let store = runtime.block_on(AuditStore::open(url)).unwrap();
    let gate = Gate::builder(Fixed::new(Decision::Allow))
        .with_audit(Timed {
            store: store.clone(),
            latencies: Arc::clone(&latencies),
        })
        .build()
        .unwrap();

    let mut group = c.benchmark_group("gate_check_64_agents");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(6));
    group.bench_function(label, |b| {
        b.to_async(&runtime)
            .iter_custom(|iters| run_agents(&gate, iters.max(AGENTS)))
    });
    group.finish();

    // A sustained run for throughput and latency percentiles.
    latencies.lock().unwrap().clear();
    let actions = 32_000;
    let cpu_before = cpu_time();
    let elapsed = runtime.block_on(run_agents(&gate, actions));
    let cpu = cpu_time()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    let mut sorted = std::mem::take(&mut *latencies.lock().unwrap());
    sorted.sort();
    let head = runtime.block_on(store.tail(1)).unwrap()[0].seq;
    let lag = head - runtime.block_on(store.keys_indexed()).unwrap();
    let report = runtime.block_on(store.verify()).unwrap();
    assert!(report.is_intact(), "{report}");
    println!(
        "sustained {label}: {actions} actions ({} records) by {AGENTS} agents in {:.2} s = \
         {:.0} actions/s; record (append) latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; \
         process CPU {:.2} s = {:.0} actions per CPU second; key index {lag} records behind \
         at the end",
        actions * 3,
        elapsed.as_secs_f64(),
        actions as f64 / elapsed.as_secs_f64(),
        percentile(&sorted, 0.50).as_secs_f64() * 1e3,
        percentile(&sorted, 0.99).as_secs_f64() * 1e3,
        sorted.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        cpu.unwrap_or_default().as_secs_f64(),
        actions as f64 / cpu.unwrap_or_default().as_secs_f64().max(1e-9),
    );
}

fn throughput(c: &mut Criterion) {
    #[cfg(feature = "sqlite")]
    {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        bench_backend(c, "sqlite", &url);
    }

    #[cfg(feature = "postgres")]
    match std::env::var("PREFLIGHT_TEST_PG_URL") {
        Ok(base) if !base.is_empty() => {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            let url = runtime.block_on(open_postgres(&base));
            drop(runtime);
            bench_backend(c, "postgres", &url);
        }
        _ => println!(
            "postgres: skipped (PREFLIGHT_TEST_PG_URL is not set; run `eval \"$(scripts/postgres.sh)\"`)"
        ),
    }
}

// The macro generates an undocumented function.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, throughput);
}
use group::benches;
criterion_main!(benches);
