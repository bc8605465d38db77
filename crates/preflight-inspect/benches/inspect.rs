//! Inspection cost of a typical compound shell command, a multi-statement SQL string and a
//! 200-resource Terraform plan.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use preflight_core::{Action, Inspector};
use preflight_inspect::{
    ActionInspector, EnvironmentMarkers, Environments, ShellContext, inspect_shell, inspect_sql,
};
use serde_json::json;

fn environments() -> Environments {
    let markers = |name: &str| EnvironmentMarkers {
        aws_profiles: vec![name.into()],
        kube_contexts: vec![format!("{name}-cluster")],
        db_hosts: vec![format!("db.{name}.internal")],
        terraform_workspaces: vec![name.into()],
        ..EnvironmentMarkers::default()
    };
    Environments::from_markers([
        ("prod", markers("prod")),
        ("staging", markers("staging")),
        ("dev", markers("dev")),
    ])
}

const SHELL: &str = "cd /workspace/app && rm -rf build node_modules && \
                     npm ci && cargo test --all-features 2>&1 | tee /tmp/test.log";

const SQL: &str = "BEGIN; \
    UPDATE accounts SET balance = balance - 10 WHERE id = 1; \
    UPDATE accounts SET balance = balance + 10 WHERE id = 2; \
    INSERT INTO transfers (src, dst, amount) VALUES (1, 2, 10); \
    DELETE FROM holds WHERE expires_at < now(); \
    SELECT a.id, sum(t.amount) FROM accounts a JOIN transfers t ON t.src = a.id GROUP BY a.id; \
    COMMIT;";

fn plan(resources: usize) -> serde_json::Value {
    let actions = [
        json!(["create"]),
        json!(["update"]),
        json!(["delete"]),
        json!(["delete", "create"]),
        json!(["no-op"]),
    ];
    let changes: Vec<serde_json::Value> = (0..resources)
        .map(|i| {
            json!({
                "address": format!("aws_instance.node_{i}"),
                "type": "aws_instance",
                "name": format!("node_{i}"),
                "change": {"actions": actions[i % actions.len()], "before": {"ami": "ami-1"}, "after": {"ami": "ami-2"}}
            })
        })
        .collect();
    json!({"workspace": "staging", "plan": {"format_version": "1.2", "resource_changes": changes}})
}

/// Lines built to make inspection work hard, each under 256 KiB.
fn adversarial() -> Vec<(&'static str, String)> {
    let starts = "a ".repeat(2_000);
    let execs = "-exec rm {} + ".repeat(2_000);
    let kinds = (0..2_000)
        .map(|i| format!("k{i}"))
        .collect::<Vec<_>>()
        .join(",");
    let names = (0..2_000)
        .map(|i| format!("n{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    vec![
        ("2 000 simple commands", "rm -rf a; ".repeat(2_000)),
        (
            "find: 2 000 starts, 2 000 -exec",
            format!("find {starts}{execs}"),
        ),
        (
            "kubectl: 2 000 kinds x 2 000 names",
            format!("kubectl delete {kinds} {names}"),
        ),
        ("20 000 words", format!("rm {}", "x/y ".repeat(20_000))),
        (
            "nested bash -c",
            "bash -c 'bash -c \"bash -c ls\"' ".repeat(1_000),
        ),
        (
            "brace products",
            "echo {a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n} ".repeat(1_000),
        ),
        (
            "deep brackets",
            format!("{}true{}", "(".repeat(100), ")".repeat(100)),
        ),
    ]
}

fn benches(c: &mut Criterion) {
    let envs = environments();
    let context = ShellContext::new(Some("/workspace/app"), Some("/home/alice"));
    c.bench_function("shell: compound command", |b| {
        b.iter(|| inspect_shell(black_box(SHELL), &context, &envs))
    });
    c.bench_function("sql: 7 statements", |b| {
        b.iter(|| {
            inspect_sql(
                "postgres://app@db.staging.internal/app",
                black_box(SQL),
                &envs,
            )
        })
    });
    // Adversarial lines near the input cap (`MAX_INPUT_BYTES`, 256 KiB): the slowest is what
    // a hostile agent can make one inspection cost.
    let mut group = c.benchmark_group("shell: within the caps");
    group.sample_size(10);
    for (name, line) in adversarial() {
        let inspector = ActionInspector::new(envs.clone());
        let action = Action::new("Bash", json!({"command": line}));
        group.bench_function(name, |b| b.iter(|| inspector.inspect(black_box(&action))));
    }
    group.finish();
    let inspector = ActionInspector::new(envs.clone());
    let action = Action::new("terraform.apply", plan(200));
    c.bench_function("terraform: 200-resource plan", |b| {
        b.iter(|| inspector.inspect(black_box(&action)))
    });
}

criterion_group! {
    name = inspect;
    config = Criterion::default().sample_size(30).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2));
    targets = benches
}
criterion_main!(inspect);
