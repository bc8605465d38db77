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
