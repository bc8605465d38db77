//! preflight-rules against cedar-policy, plain and with an index in front (one small policy
//! set per agent and tool, as Cedar's own benchmark harness does), on generated policies of
//! 10 to 10 000 rules. Prints one line per size and writes the table to
//! `benches/results/preflight-rules.md` (section "rules vs cedar").

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use cedar_policy::{Authorizer, Context, Decision, Entities, EntityUid, PolicySet, Request};
use criterion::{BenchmarkId, Criterion};
use preflight_core::{Action, Effect, Inspection, Operation};
use preflight_rules::Policy;
use rules_vs_cedar::{
    agent, cedar_denies, cedar_policy, cedar_rule, preflight_policy, query_resource, target, tool,
};

const SIZES: [usize; 4] = [10, 100, 1_000, 10_000];
const START: &str = "<!-- rules-vs-cedar:start -->";
const END: &str = "<!-- rules-vs-cedar:end -->";

struct Setup {
    n: usize,
    policy: Policy,
    action: Action,
    inspection: Inspection,
    cedar: PolicySet,
    cedar_index: HashMap<(String, String), PolicySet>,
    request: Request,
    key: (String, String),
}

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("benchmark setup failed: {message}");
    std::process::exit(1)
}

fn setup(n: usize) -> Setup {
    let policy =
        Policy::from_str(&preflight_policy(n), "generated.toml").unwrap_or_else(|e| fail(e));
    let t = target(n);
    let action = Action::from_value(serde_json::json!({
        "tool": tool(t),
        "agent": {"id": agent(t)},
        "input": {"amount": 42},
    }))
    .unwrap_or_else(|e| fail(e));
    let inspection = Inspection {
        effects: vec![Effect::new(Operation::Read, query_resource(n))],
        ..Inspection::default()
    };
    let cedar: PolicySet = cedar_policy(n).parse().unwrap_or_else(|e| fail(e));
    let mut grouped: HashMap<(String, String), String> = HashMap::new();
    for i in 0..n {
        grouped
            .entry((agent(i), tool(i)))
            .or_insert_with(cedar_denies)
            .push_str(&cedar_rule(i));
    }
    let cedar_index = grouped
        .into_iter()
        .map(|(key, text)| (key, text.parse().unwrap_or_else(|e| fail(e))))
        .collect();
    let uid = |text: String| -> EntityUid { text.parse().unwrap_or_else(|e| fail(e)) };
    let context = Context::from_json_value(
        serde_json::json!({
            "path": query_resource(n),
            "amount": 42,
            "secret": false,
            "operation": "read",
            "environment": "none",
        }),
        None,
    )
    .unwrap_or_else(|e| fail(e));
    let request = Request::new(
        uid(format!("Agent::\"{}\"", agent(t))),
        uid(format!("Action::\"{}\"", tool(t))),
        uid(format!("File::\"{}\"", query_resource(n))),
        context,
        None,
    )
    .unwrap_or_else(|e| fail(e));
    Setup {
        n,
        policy,
        action,
        inspection,
        cedar,
        cedar_index,
        request,
        key: (agent(t), tool(t)),
    }
}

fn cedar_indexed(setup: &Setup, authorizer: &Authorizer, entities: &Entities) -> Decision {
    match setup.cedar_index.get(&setup.key) {
        Some(set) => authorizer
            .is_authorized(&setup.request, set, entities)
            .decision(),
        None => Decision::Deny,
    }
}

/// The median time of one call, over `samples` batches sized to about 2 ms each.
fn median(mut f: impl FnMut(), samples: usize) -> Duration {
    let start = Instant::now();
    f();
    let once = start.elapsed().max(Duration::from_nanos(1));
    let batch = (Duration::from_millis(2).as_nanos() / once.as_nanos()).clamp(1, 1_000_000) as u32;
    let mut times: Vec<Duration> = (0..samples)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..batch {
                f();
            }
            start.elapsed() / batch
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn show(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.2} µs", ns / 1_000.0)
    } else {
        format!("{:.2} ms", ns / 1_000_000.0)
    }
}

fn main() {
    let authorizer = Authorizer::new();
    let entities = Entities::empty();
    let setups: Vec<Setup> = SIZES.iter().map(|&n| setup(n)).collect();
    for s in &setups {
        // The three engines agree on the query before anything is timed.
        assert_eq!(
            s.policy.decide(&s.action, &s.inspection),
            preflight_core::Decision::Allow
        );
        assert_eq!(
            authorizer
                .is_authorized(&s.request, &s.cedar, &entities)
                .decision(),
            Decision::Allow
        );
        assert_eq!(cedar_indexed(s, &authorizer, &entities), Decision::Allow);
    }

    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .configure_from_args();
    {
        let mut group = criterion.benchmark_group("rules_vs_cedar");
        for s in &setups {
            group.bench_with_input(BenchmarkId::new("preflight", s.n), s, |b, s| {
                b.iter(|| {
                    s.policy
                        .decide(black_box(&s.action), black_box(&s.inspection))
                })
            });
            group.bench_with_input(BenchmarkId::new("cedar", s.n), s, |b, s| {
                b.iter(|| authorizer.is_authorized(black_box(&s.request), &s.cedar, &entities))
            });
            group.bench_with_input(BenchmarkId::new("cedar_index", s.n), s, |b, s| {
                b.iter(|| cedar_indexed(black_box(s), &authorizer, &entities))
            });
        }
        group.finish();
    }

    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let mut table = String::from(
        "| rules | preflight (median) | cedar (median) | cedar+index (median) |\n|---:|---:|---:|---:|\n",
    );
    let mut first = None;
    for s in &setups {
        let ours = median(
            || {
                black_box(
                    s.policy
                        .decide(black_box(&s.action), black_box(&s.inspection)),
                );
            },
            31,
        );
        let cedar = median(
            || {
                black_box(authorizer.is_authorized(black_box(&s.request), &s.cedar, &entities));
            },
            if s.n >= 10_000 { 7 } else { 15 },
        );
        let indexed = median(
            || {
                black_box(cedar_indexed(black_box(s), &authorizer, &entities));
            },
            31,
        );
        println!(
            "rules@{}: preflight {}, cedar {}, cedar+index {}",
            s.n,
            show(ours),
            show(cedar),
            show(indexed)
        );
        table.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            s.n,
            show(ours),
            show(cedar),
            show(indexed)
        ));
        let base = *first.get_or_insert(ours);
        if s.n == 10_000 {
            println!(
                "growth 10 → 10 000 rules: {:.2}×",
                ours.as_nanos() as f64 / base.as_nanos().max(1) as f64
            );
        }
    }
    let out = concat!(env!("CARGO_MANIFEST_DIR"), "/../results/preflight-rules.md");
    let section = format!(
        "{START}\nMachine: {cores} cores, {cpu}. Median time of one decision on a query that matches \
         an allow rule near the end; `cargo bench -p rules-vs-cedar`.\n\n{table}{END}"
    );
    let report = match std::fs::read_to_string(out) {
        Ok(old) => match (old.find(START), old.find(END)) {
            (Some(a), Some(b)) if a < b => {
                format!("{}{section}{}", &old[..a], &old[b + END.len()..])
            }
            _ => format!("{old}\n## rules vs cedar\n\n{section}\n"),
        },
        Err(_) => format!("# preflight-rules benchmarks\n\n## rules vs cedar\n\n{section}\n"),
    };
    if let Err(e) = std::fs::write(out, &report) {
        eprintln!("could not write {out}: {e}");
    }
    println!("\n{table}");
}
