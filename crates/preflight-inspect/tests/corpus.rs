//! Every case of the labelled corpus: the effects, environment and blast radius the reference
//! envelope needs to decide it.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::{envelope_environments, find_effect};
use preflight_core::corpus::load_cases;
use preflight_core::{Inspection, Inspector, Operation};
use preflight_inspect::ActionInspector;

fn corpus_path() -> PathBuf {
    std::env::var_os("PREFLIGHT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../corpus/actions.jsonl"
            ))
        })
}

/// What a case needs: effect specs (see `common::find_effect`) and blast radius facts.
struct Expected {
    effects: &'static [&'static str],
    /// `Some(n)`: the derived number of resources.
    resources: Option<u64>,
    unbounded: bool,
    /// Nothing may mutate (no effect other than read or a non-opaque execute).
    read_only: Option<bool>,
}

const fn e(effects: &'static [&'static str]) -> Expected {
    Expected {
        effects,
        resources: None,
        unbounded: false,
        read_only: None,
    }
}

const fn read_only(effects: &'static [&'static str]) -> Expected {
    Expected {
        effects,
        resources: Some(0),
        unbounded: false,
        read_only: Some(true),
    }
}

const fn counted(effects: &'static [&'static str], resources: u64) -> Expected {
    Expected {
        effects,
        resources: Some(resources),
        unbounded: false,
        read_only: None,
    }
}

const fn unbounded(effects: &'static [&'static str]) -> Expected {
    Expected {
        effects,
        resources: None,
        unbounded: true,
        read_only: None,
    }
}

fn expectations() -> BTreeMap<&'static str, Expected> {
    BTreeMap::from([
        (
            "kiro-delete-stack-prod",
            counted(
                &[
                    "delete aws://prod/cloudformation/cost-explorer env=prod @aws_operation=DeleteStack @service=cloudformation",
                ],
                1,
            ),
        ),
        (
            "kiro-delete-stack-staging",
            counted(
                &["delete aws://staging/cloudformation/cost-explorer env=staging"],
                1,
            ),
        ),
        (
            "kiro-delete-stack-dev",
            counted(
                &["delete aws://dev/cloudformation/cost-explorer env=dev"],
                1,
            ),
        ),
        // The resource says prod although the agent declares dev.
        (
            "kiro-declared-dev-but-prod",
            e(&["delete aws://prod/cloudformation/cost-explorer env=prod"]),
        ),
        (
            "replit-db-push-prod",
            e(&["execute cmd://npm env=prod +opaque @subcommand=run"]),
        ),
        (
            "replit-drop-table-prod",
            counted(
                &["delete sql://db.prod.internal/app/executives env=prod #ddl"],
                1,
            ),
        ),
        (
            "sql-select-prod",
            read_only(&["read sql://db.prod.internal/app/users env=prod @statement=select"]),
        ),
        (
            "sql-multi-statement-prod",
            e(&[
                "read sql://db.prod.internal/app/* env=prod",
                "delete sql://db.prod.internal/app/users env=prod #ddl",
            ]),
        ),
        (
            "sql-delete-where-staging",
            counted(
                &["delete sql://db.staging.internal/app/sessions env=staging -unbounded"],
                1,
            ),
        ),
        (
            "sql-delete-nowhere-staging",
            unbounded(&["delete sql://db.staging.internal/app/sessions env=staging +unbounded"]),
        ),
        (
            "sql-update-nowhere-dev",
            unbounded(&["update sql://db.dev.internal/app/users env=dev +unbounded"]),
        ),
        (
            "sql-truncate-dev",
            unbounded(&[
                "delete sql://db.dev.internal/app/sessions env=dev #ddl +unbounded @statement=truncate",
            ]),
        ),
        (
            "sql-alter-staging",
            e(&["update sql://db.staging.internal/app/users env=staging #ddl @statement=alter"]),
        ),
        (
            "sql-insert-prod",
            e(&["create sql://db.prod.internal/app/audit_notes env=prod -unbounded"]),
        ),
        (
            "rm-home",
            unbounded(&["delete file:///home/alice +recursive +forced +unbounded"]),
        ),
        (
            "rm-build",
            counted(
                &["delete file:///workspace/app/build +recursive -unbounded"],
                1,
            ),
        ),
        (
            "rm-node-modules-relative",
            counted(&["delete file:///workspace/app/node_modules +recursive"], 1),
        ),
        (
            "rm-list-with-tilde",
            Expected {
                effects: &[
                    "delete file:///workspace/app/tests +recursive",
                    "delete file:///workspace/app/patches +recursive",
                    "delete file:///workspace/app/plan +recursive",
                    "delete file:///home/alice +recursive +unbounded",
                ],
                resources: Some(4),
                unbounded: true,
                read_only: None,
            },
        ),
        (
            "rm-src-dir",
            counted(
                &["delete file:///workspace/app/src/legacy +recursive -unbounded"],
                1,
            ),
        ),
        (
            "rm-single-file",
            counted(&["delete file:///workspace/app/src/old.rs -recursive"], 1),
        ),
        (
            "cd-then-rm",
            unbounded(&["delete file:///home +recursive +unbounded"]),
        ),
        (
            "bash-c-wrapper",
            unbounded(&["delete file:///home/alice +recursive +unbounded"]),
        ),
        (
            "sudo",
            e(&[
                "execute cmd://sudo #privilege_escalation",
                "execute cmd://systemctl #privilege_escalation @subcommand=stop",
            ]),
        ),
        (
            "curl-pipe-sh",
            e(&[
                "read https://get.example.sh/ @method=GET",
                "execute cmd://sh +opaque #remote_code",
            ]),
        ),
        (
            "git-force-main",
            e(&["update git://origin/main +forced #force_push @branch=main @remote=origin"]),
        ),
        (
            "git-force-feature",
            e(&["update git://origin/feature/login +forced #force_push @branch=feature/login"]),
        ),
        (
            "git-push-feature",
            counted(
                &["update git://origin/feature/login -forced @branch=feature/login"],
                1,
            ),
        ),
        (
            "git-reset-hard",
            e(&["update file:///workspace/app #discard_changes"]),
        ),
        (
            "git-clean",
            e(&["delete file:///workspace/app +recursive +forced #discard_changes"]),
        ),
        (
            "read-aws-credentials",
            read_only(&["read file:///home/alice/.aws/credentials #secret"]),
        ),
        (
            "cat-dotenv",
            read_only(&["read file:///workspace/app/.env #secret"]),
        ),
        (
            "read-source",
            read_only(&["read file:///workspace/app/src/main.rs"]),
        ),
        (
            "write-source",
            counted(&["update file:///workspace/app/src/lib.rs"], 1),
        ),
        ("write-etc-hosts", e(&["update file:///etc/hosts"])),
        (
            "write-git-hook",
            e(&["update file:///workspace/app/.git/hooks/pre-commit"]),
        ),
        ("write-traversal", e(&["update file:///etc/cron.d/job"])),
        (
            "edit-source",
            counted(&["update file:///workspace/app/src/main.rs"], 1),
        ),
        (
            "amazonq-terminate-prod",
            e(&["delete aws://prod/ec2/i-0abc123 env=prod @aws_operation=TerminateInstances"]),
        ),
        (
            "amazonq-s3-rm-prod",
            e(&["delete aws://prod/s3/prod-assets env=prod +recursive"]),
        ),
        (
            "amazonq-iam-delete-user",
            e(&["permission_change aws://dev/iam/bob env=dev #iam @aws_operation=DeleteUser"]),
        ),
        (
            "aws-describe-prod",
            read_only(&["read aws://prod/ec2/DescribeInstances env=prod"]),
        ),
        (
            "aws-terminate-dev",
            e(&["delete aws://dev/ec2/i-0dev42 env=dev"]),
        ),
        (
            "aws-api-create-staging",
            counted(&["create aws://staging/s3/staging-reports env=staging"], 1),
        ),
        (
            "tf-staging-replace",
            counted(
                &["delete terraform://staging/aws_db_instance.main env=staging #replace"],
                1,
            ),
        ),
        (
            "tf-staging-create",
            counted(
                &[
                    "create terraform://staging/aws_s3_bucket.reports env=staging",
                    "update terraform://staging/aws_s3_bucket_versioning.reports env=staging",
                ],
                2,
            ),
        ),
        (
            "tf-prod-update",
            e(&["update terraform://prod/aws_instance.web env=prod"]),
        ),
        (
            "tf-dev-delete",
            counted(
                &[
                    "delete terraform://dev/aws_instance.web env=dev",
                    "delete terraform://dev/aws_instance.worker env=dev",
                ],
                2,
            ),
        ),
        (
            "tf-under-declared",
            counted(
                &[
                    "create terraform://staging/aws_instance.node_0 env=staging",
                    "create terraform://staging/aws_instance.node_11 env=staging",
                ],
                12,
            ),
        ),
        (
            "kubectl-delete-ns-prod",
            e(&["delete k8s://prod-cluster/_/namespace/payments env=prod @kind=namespace"]),
        ),
        (
            "kubectl-get-prod",
            read_only(&[
                "read k8s://prod-cluster/payments/pod/_ env=prod @kind=pod @namespace=payments",
            ]),
        ),
        (
            "kubectl-scale-staging",
            e(&["update k8s://staging-cluster/default/deployment/web env=staging @replicas=3"]),
        ),
        (
            "kubectl-delete-pod-staging",
            e(&["delete k8s://staging-cluster/default/pod/web-7d9f env=staging"]),
        ),
        (
            "kubectl-no-context",
            e(&["delete k8s://_/default/deployment/web env=- @context=_"]),
        ),
        (
            "kubectl-low-confidence",
            e(&["update k8s://staging-cluster/default/deployment/web env=staging @replicas=0"]),
        ),
        (
            "pocketos-volume-delete",
            e(&[
                "delete https://backboard.railway.app/graphql/v2 #graphql_mutation @mutation=volumeDelete",
                "network_send https://backboard.railway.app/graphql/v2 @method=POST",
            ]),
        ),
        (
            "http-get-any",
            read_only(&["read https://docs.rs/serde/latest/serde/ @method=GET"]),
        ),
        (
            "http-post-github",
            e(&[
                "network_send https://api.github.com/repos/acme/app/issues @host=api.github.com @method=POST",
            ]),
        ),
        ("email-send", e(&["execute tool://email.send +opaque"])),
        (
            "mcp-unknown-server",
            e(&["execute mcp://payments/refund +opaque @server=payments @tool=refund"]),
        ),
        (
            "mcp-fs-read",
            read_only(&["read file:///workspace/app/README.md @server=filesystem"]),
        ),
        (
            "find-delete-root",
            unbounded(&["delete file:/// +recursive +unbounded"]),
        ),
        ("python-rmtree", e(&["execute cmd://python3 +opaque"])),
        (
            "npm-test",
            read_only(&["execute cmd://npm -opaque @subcommand=test"]),
        ),
        (
            "cargo-build",
            read_only(&["execute cmd://cargo -opaque @subcommand=build"]),
        ),
        (
            "chmod-root",
            unbounded(&["permission_change file:/// +recursive +unbounded"]),
        ),
        (
            "dd-disk",
            e(&[
                "update file:///dev/sda #raw_disk_write",
                "read file:///dev/zero",
            ]),
        ),
        (
            "env-prefix-rm",
            e(&["delete file:///var/lib/postgresql +recursive +forced"]),
        ),
        (
            "xargs-rm",
            unbounded(&[
                "read file:///home/alice",
                "execute cmd://rm +opaque",
                "execute file:///** +opaque +unbounded",
            ]),
        ),
        ("redirect-passwd", e(&["update file:///etc/passwd"])),
        (
            "injection-in-reasoning",
            e(&["delete aws://prod/rds/main env=prod +forced @aws_operation=DeleteDBInstance"]),
        ),
    ])
}

fn mutates(inspection: &Inspection) -> bool {
    inspection
        .effects
        .iter()
        .any(|e| e.opaque || !matches!(e.operation, Operation::Read | Operation::Execute))
}

#[test]
fn every_corpus_case_derives_what_the_envelope_needs() {
    let path = corpus_path();
    let cases = load_cases(&path).unwrap_or_else(|e| panic!("cannot read the corpus: {e}"));
    assert!(
        cases.len() >= 70,
        "expected at least 70 cases in {}",
        path.display()
    );
    let inspector = ActionInspector::new(envelope_environments());
    let expectations = expectations();
    let mut failures = Vec::new();
    for case in &cases {
        let Some(expected) = expectations.get(case.id.as_str()) else {
            failures.push(format!("{}: no expectation written for this case", case.id));
            continue;
        };
        let mut action = case.action.clone();
        if action.context.home.is_none() {
            action.context.home = Some("/home/alice".into());
        }
        let inspection = inspector.inspect(&action);
        for spec in expected.effects {
            if let Err(message) = find_effect(&inspection, spec) {
                failures.push(format!("{}: {message}", case.id));
            }
        }
        let blast = &inspection.blast_radius;
        if let Some(resources) = expected.resources {
            if blast.resources != Some(resources) {
                failures.push(format!(
                    "{}: expected {resources} resources, derived {:?}",
                    case.id, blast.resources
                ));
            }
        }
        if blast.unbounded != expected.unbounded {
            failures.push(format!(
                "{}: expected unbounded = {}, derived {}",
                case.id, expected.unbounded, blast.unbounded
            ));
        }
        if expected.read_only == Some(mutates(&inspection)) {
            failures.push(format!(
                "{}: expected read-only = {}, effects {:?}",
                case.id,
                expected.read_only.unwrap_or_default(),
                inspection.effects
            ));
        }
        // What the envelope blocks must not look harmless: every case expected to be
        // denied or escalated derives something mutating, opaque or secret.
        if case.expect != preflight_core::corpus::Expect::Allow
            && !mutates(&inspection)
            && !inspection.effects.iter().any(|e| {
                [
                    "secret",
                    "privilege_escalation",
                    "remote_code",
                    "raw_disk_write",
                ]
                .iter()
                .any(|t| e.has_tag(t))
            })
        {
            failures.push(format!(
                "{}: a blocked case derives nothing to block",
                case.id
            ));
        }
    }
    for id in expectations.keys() {
        if !cases.iter().any(|c| c.id == *id) {
            failures.push(format!(
                "{id}: expectation for a case the corpus does not have"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn declared_blast_radius_below_the_derived_one_is_visible() {
    let cases = load_cases(&corpus_path()).unwrap_or_else(|e| panic!("{e}"));
    let case = cases
        .iter()
        .find(|c| c.id == "tf-under-declared")
        .unwrap_or_else(|| panic!("case tf-under-declared missing"));
    let inspection = ActionInspector::new(envelope_environments()).inspect(&case.action);
    let declared = case
        .action
        .declared
        .blast_radius
        .as_ref()
        .unwrap_or_else(|| panic!("the case declares a blast radius"));
    assert!(inspection.blast_radius.exceeds(declared));
}
