//! The whole path, through the umbrella crate: the reference policy and inspection decide, a
//! person approves what they escalate, the SQLite audit trail records every step before the side
//! effect runs, and its chain verifies afterwards.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use preflight::audit::AuditStore;
use preflight::rules::PolicyVerifier;
use preflight::testkit::{ScriptedAnswer, ScriptedApprover};
use preflight::{Action, Decision, Gate, Gated};
use serde_json::json;

fn policy_path() -> String {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/policies/infra-bot.toml"
    )
    .to_string()
}

fn delete_stack(profile: &str) -> Action {
    Action::new(
        "aws.api",
        json!({"profile": profile, "service": "cloudformation", "operation": "DeleteStack",
               "params": {"StackName": "cost-explorer"}}),
    )
    .with_agent("infra-bot")
    .with_cwd("/workspace/app")
    .with_reasoning("The environment is in a bad state; delete it and recreate it.")
}

#[tokio::test]
async fn policy_inspection_approval_and_audit_together() {
    let dir = std::env::temp_dir().join(format!("preflight-e2e-{}", preflight::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("audit.db").display());
    let store = Arc::new(AuditStore::open(&url).await.unwrap());

    let verifier = PolicyVerifier::from_file(policy_path()).unwrap();
    let inspector = verifier.policy().inspector().clone();
    let approver = Arc::new(ScriptedApprover::new([ScriptedAnswer::Approve(
        "alice@example.com".into(),
    )]));
    let gate = Gate::builder(verifier)
        .with_inspector(inspector)
        .with_approver(approver.clone())
        .with_audit(store.clone())
        .build()
        .unwrap();

    let ran = AtomicUsize::new(0);
    let mut decisions = Vec::new();
    for profile in ["prod", "staging", "dev"] {
        let action = delete_stack(profile);
        let outcome = gate
            .run(action.clone(), |permit| {
                permit.redeem(&action).unwrap();
                ran.fetch_add(1, Ordering::SeqCst);
                async { Ok::<_, String>(()) }
            })
            .await
            .unwrap();
        decisions.push(match outcome {
            Gated::Ran {
                outcome_recorded, ..
            } => {
                outcome_recorded.unwrap();
                "ran".to_string()
            }
            Gated::Refused(checked) => {
                assert_eq!(checked.decision, Decision::Deny);
                assert!(!checked.verdict.deciding_rules().is_empty());
                "refused".to_string()
            }
        });
    }
    assert_eq!(decisions, ["refused", "ran", "ran"]);
    assert_eq!(ran.load(Ordering::SeqCst), 2);

    // Only staging went to a person, and the person saw what inspection derived.
    let asked = approver.asked();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].action.input["profile"], "staging");
    let inspection = asked[0].inspection.as_ref().unwrap();
    assert_eq!(inspection.environments(), ["staging"]);

    // Every step is on record and the chain is intact.
    let report = store.verify().await.unwrap();
    assert!(report.is_intact(), "{report}");
    let records = store.tail(100).await.unwrap();
    let kinds: Vec<&str> = records.iter().map(|r| r.event.kind.type_name()).collect();
    for kind in [
        "proposed",
        "verified",
        "refused",
        "approval_requested",
        "approval_decided",
        "permitted",
        "completed",
    ] {
        assert!(kinds.contains(&kind), "no {kind} record in {kinds:?}");
    }
    assert_eq!(kinds.iter().filter(|k| **k == "completed").count(), 2);
    std::fs::remove_dir_all(dir).ok();
}
