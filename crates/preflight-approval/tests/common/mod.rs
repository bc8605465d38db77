//! Shared fixtures: a console on a loopback port, the staging stack deletion, a gate.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use preflight_approval::{Console, ConsoleApprover};
use preflight_core::testkit::{MemoryApprovalStore, MemoryAuditSink};
use preflight_core::{
    Action, ApprovalRequest, ApprovalStore, Approver, BlastRadius, Decision, Effect, Gate,
    Inspection, Inspector, Operation, Proposal, Reason, ReasonKind, Timestamp, Verdict, Verifier,
    VerifyError, async_trait, new_id,
};
use serde_json::json;

pub const ALICE: (&str, &str) = ("alice@example.com", "alice-token-7f3a9c21d4e8b605");
pub const BOB: (&str, &str) = ("bob@example.com", "bob-token-0c5d2e9f6a1b4873aa");

pub fn store() -> Arc<MemoryApprovalStore> {
    Arc::new(MemoryApprovalStore::new())
}

pub fn console(store: Arc<dyn ApprovalStore>) -> Console {
    Console::builder(store)
        .with_token(ALICE.0, ALICE.1)
        .with_token(BOB.0, BOB.1)
        .build()
        .unwrap()
}

/// Serves `console` on a loopback port; returns its base URL (no trailing slash).
pub async fn serve(console: &Console) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = console.router();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

/// The AWS CloudFormation stack deletion of the corpus case `kiro-delete-stack-staging`.
pub fn kiro_action() -> Action {
    let mut action = Action::new(
        "aws.api",
        json!({
            "profile": "staging",
            "service": "cloudformation",
            "operation": "DeleteStack",
            "params": {"StackName": "cost-explorer"}
        }),
    );
    action.agent.id = Some("kiro".into());
    action.agent.on_behalf_of = Some("dana@example.com".into());
    action.task = Some("Fix the failing cost-explorer deployment in staging".into());
    action.reasoning = Some(
        "The environment is in a bad state; the cleanest fix is to delete it and recreate it \
         from the template."
            .into(),
    );
    action.context.cwd = Some("/workspace/app".into());
    action
}

/// Derives what an `aws.api` call touches, well enough for the fixtures.
#[derive(Debug)]
pub struct AwsInspector;

impl Inspector for AwsInspector {
    fn inspect(&self, action: &Action) -> Inspection {
        let input = &action.input;
        let profile = input["profile"].as_str().unwrap_or("unknown");
        let service = input["service"].as_str().unwrap_or("unknown");
        let operation = input["operation"].as_str().unwrap_or("");
        let stack = input["params"]["StackName"].as_str().unwrap_or("*");
        let mut effect = Effect::new(
            if operation.starts_with("Delete") {
                Operation::Delete
            } else {
                Operation::Update
            },
            format!("aws://{profile}/{service}/stack/{stack}"),
        );
        effect.environment = Some(profile.to_string());
        effect.recursive = true;
        effect.evidence = Some(format!("{service} {operation} {stack}"));
        effect
            .attributes
            .insert("operation".into(), operation.to_string());
        Inspection {
            effects: vec![effect],
            blast_radius: BlastRadius {
                resources: None,
                unbounded: false,
                reversible: Some(false),
                data_loss: Some(true),
                downtime: Some(true),
            },
            notes: Vec::new(),
        }
    }
}

/// Escalates every delete outside `dev`, as a scope policy would.
#[derive(Debug)]
pub struct DeleteOutsideDev;

#[async_trait]
impl Verifier for DeleteOutsideDev {
    fn name(&self) -> std::borrow::Cow<'_, str> {
        "rules".into()
    }

    async fn verify(&self, proposal: &Proposal) -> Result<Verdict, VerifyError> {
        Ok(Verdict::escalate(
            "rules",
            "deleting a CloudFormation stack outside dev needs a person",
        )
        .with_rule("aws.cloudformation.delete-outside-dev")
        .with_reason(Reason {
            kind: ReasonKind::Declaration,
            verifier: "declarations".into(),
            rule: None,
            decision: Decision::Escalate,
            message: format!(
                "the agent declared no blast radius; inspection derived {} effect(s), irreversible with data loss",
                proposal.inspection.as_ref().map_or(0, |i| i.effects.len())
            ),
        })
        .with_suggestion(
            "Inspect the stack first (aws cloudformation describe-stack-events) and update it \
             from the template instead of deleting it.",
        ))
    }
}

/// A gate escalating every action to `approver`, with a short approval TTL.
pub fn gate(approver: impl Approver + 'static, ttl: Duration) -> (Gate, Arc<MemoryAuditSink>) {
    let audit = Arc::new(MemoryAuditSink::new());
    let gate = Gate::builder(DeleteOutsideDev)
        .with_inspector(AwsInspector)
        .with_approver(approver)
        .with_audit(Arc::clone(&audit))
        .with_approval_ttl(ttl)
        .build()
        .unwrap();
    (gate, audit)
}

/// A console approver that notices decisions quickly.
pub fn approver(store: Arc<dyn ApprovalStore>) -> ConsoleApprover {
    ConsoleApprover::new(store).with_poll_interval(Duration::from_millis(200))
}

/// A request for `action`, as the gate would make it, expiring after `ttl`.
pub fn request(action: Action, ttl: Duration) -> ApprovalRequest {
    let inspection = AwsInspector.inspect(&action);
    let now = Timestamp::now();
    ApprovalRequest {
        id: new_id(),
        proposal_id: new_id(),
        digest: action.digest(),
        action,
        inspection: Some(inspection),
        verdict: Verdict::escalate("rules", "needs a person"),
        requested_at: now,
        expires_at: now.plus(ttl),
    }
}

/// Waits until the store holds a pending request; returns it.
pub async fn first_pending(store: &dyn ApprovalStore) -> ApprovalRequest {
    for _ in 0..500 {
        if let Some(item) = store
            .pending(Timestamp::now())
            .await
            .unwrap()
            .into_iter()
            .next()
        {
            return item.request;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no request was queued");
}
