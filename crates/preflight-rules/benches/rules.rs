//! Decision latency against policy size: generated policies of 10 to 10 000 rules of the
//! shape "agent A may use tool T on resources under prefix P, with a numeric limit in a
//! condition", plus a few deny rules, queried with an action matching a rule near the end.

// criterion's macros generate undocumented functions.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use preflight_core::{Action, Effect, Inspection, Operation};
use preflight_rules::Policy;

/// The policy text for `n` allow rules and three deny rules.
fn policy_text(n: usize) -> String {
    let mut text = String::from(
        "[environments.prod]\naws_profiles = [\"prod\"]\n\n\
         [[rule]]\nid = \"deny-secrets\"\neffect = \"deny\"\ntags = [\"secret\"]\n\n\
         [[rule]]\nid = \"deny-prod-deletes\"\neffect = \"deny\"\noperations = [\"delete\"]\nenvironments = [\"prod\"]\n\n\
         [[rule]]\nid = \"deny-root\"\neffect = \"deny\"\nresources = [\"file:///etc/**\"]\n\n",
    );
    for i in 0..n {
        text.push_str(&format!(
            "[[rule]]\nid = \"r{i}\"\neffect = \"allow\"\nagents = [\"agent-{}\"]\ntools = [\"tool-{}\"]\n\
             resources = [\"file:///data/tenant-{i}/**\"]\ncondition = \"input.amount <= {}\"\n\n",
            i % 100,
            (i / 100) % 100,
            100 + i % 7,
        ));
    }
    text
}

/// The query: rule `n - 2`'s agent, tool and prefix.
fn query(n: usize) -> (Action, Inspection) {
    let i = n - 2;
    let action = Action::from_value(serde_json::json!({
        "tool": format!("tool-{}", (i / 100) % 100),
        "agent": {"id": format!("agent-{}", i % 100)},
        "input": {"amount": 42, "path": format!("/data/tenant-{i}/reports/q3.csv")},
    }))
    .unwrap_or_else(|e| unreachable!("{e}"));
    let effect = Effect::new(
        Operation::Read,
        format!("file:///data/tenant-{i}/reports/q3.csv"),
    );
    let inspection = Inspection {
        effects: vec![effect],
        ..Inspection::default()
    };
    (action, inspection)
}

fn decide(c: &mut Criterion) {
    let mut group = c.benchmark_group("rules");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    for n in [10, 100, 1_000, 10_000] {
        let policy = Policy::from_str(&policy_text(n), "generated.toml")
            .unwrap_or_else(|e| unreachable!("{e}"));
        let (action, inspection) = query(n);
        assert_eq!(
            policy.decide(&action, &inspection),
            preflight_core::Decision::Allow
        );
        group.bench_with_input(BenchmarkId::new("decide", n), &n, |b, _| {
            b.iter(|| policy.decide(black_box(&action), black_box(&inspection)))
        });
        group.bench_with_input(BenchmarkId::new("verdict", n), &n, |b, _| {
            b.iter(|| policy.evaluate(black_box(&action), black_box(&inspection)))
        });
    }
    group.finish();
}

/// What a hook pays per process before it decides: loading the built-in pack (parsing nine
/// files, merging, compiling), and the first inspection and decision with it.
fn load(c: &mut Criterion) {
    let mut group = c.benchmark_group("packs");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    for name in ["builtin:coding-agent", "builtin:filesystem"] {
        group.bench_function(BenchmarkId::new("load", name), |b| {
            b.iter(|| Policy::load(black_box(name)).unwrap_or_else(|e| unreachable!("{e}")))
        });
    }
    let policy = Policy::load("builtin:coding-agent").unwrap_or_else(|e| unreachable!("{e}"));
    let mut action = Action::new(
        "Bash",
        serde_json::json!({"command": "cargo test --workspace && git status"}),
    );
    action.context.cwd = Some("/work/app".into());
    action.context.home = Some("/home/alice".into());
    group.bench_function("inspect and decide: coding-agent", |b| {
        b.iter(|| {
            let inspection = policy.inspect(black_box(&action));
            policy.decide(&action, &inspection)
        })
    });
    group.finish();
}

criterion_group!(benches, decide, load);
criterion_main!(benches);
