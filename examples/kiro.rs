//! An infrastructure agent proposes to "fix" a broken CloudFormation stack by deleting it and
//! recreating it from the template — in prod, staging and dev. A verifier written by hand
//! denies it in prod, escalates it in staging to a person, and allows it in dev; every step
//! lands in the audit trail (a SQLite file, the embedded default), printed and verified at the
//! end.
//!
//! Run with `cargo run --example kiro`. When standard input is a terminal you are asked to
//! approve the staging deletion; otherwise a scripted reviewer answers.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use preflight::{
    Action, Approval, ApprovalDecision, ApprovalError, ApprovalRequest, Approver, AuditKind, Gate,
    Gated, Proposal, Verdict, Verifier, VerifyError, async_trait,
};
use preflight_audit::AuditStore;
use serde_json::json;

/// The scope policy, written by hand: destructive CloudFormation calls are denied in prod,
/// need a person in staging, and are fine in dev.
#[derive(Debug)]
struct NoProdTeardown;

#[async_trait]
impl Verifier for NoProdTeardown {
    async fn verify(&self, proposal: &Proposal) -> Result<Verdict, VerifyError> {
        let input = &proposal.action.input;
        let operation = input["operation"].as_str().unwrap_or_default();
        if !operation.starts_with("Delete") {
            return Ok(Verdict::abstain("no-prod-teardown"));
        }
        let verdict = match input["profile"].as_str() {
            Some("prod") => Verdict::deny("no-prod-teardown", "deleting a stack in prod")
                .with_suggestion("fix the stack with an update, or open a change request"),
            Some("staging") => Verdict::escalate("no-prod-teardown", "deleting a stack in staging"),
            Some("dev") => Verdict::allow("no-prod-teardown", "dev is disposable"),
            _ => Verdict::escalate("no-prod-teardown", "unknown environment"),
        };
        Ok(verdict.with_rule("cloudformation-delete"))
    }
}

/// Asks on the terminal when there is one; otherwise answers from a script (and says so).
#[derive(Debug)]
struct PromptOrScript;

#[async_trait]
impl Approver for PromptOrScript {
    async fn request(&self, request: &ApprovalRequest) -> Result<Approval, ApprovalError> {
        let action = &request.action;
        println!("\n  approval needed: {} {}", action.tool, action.input);
        println!(
            "  reasoning: {}",
            action.reasoning.as_deref().unwrap_or("-")
        );
        println!("  verifier:  {}", request.verdict.summary());
        if std::io::stdin().is_terminal() {
            print!("  approve? [y/N] ");
            std::io::stdout()
                .flush()
                .map_err(|e| ApprovalError::Unavailable(e.to_string()))?;
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| ApprovalError::Unavailable(e.to_string()))?;
            let decision = if line.trim().eq_ignore_ascii_case("y") {
                ApprovalDecision::Approved
            } else {
                ApprovalDecision::Denied
            };
            let who = std::env::var("USER").unwrap_or_else(|_| "terminal".into());
            return Ok(Approval::new(request, decision, who));
        }
        println!("  (no terminal: the scripted reviewer approves)");
        Ok(
            Approval::new(request, ApprovalDecision::Approved, "scripted-reviewer")
                .with_comment("snapshot taken first"),
        )
    }
}

fn delete_stack(profile: &str) -> Action {
    let mut action = Action::new(
        "aws.api",
        json!({
            "profile": profile,
            "service": "cloudformation",
            "operation": "DeleteStack",
            "params": {"StackName": "cost-explorer"}
        }),
    )
    .with_agent("infra-bot")
    .with_reasoning(
        "The environment is in a bad state; the cleanest fix is to delete it and recreate it \
         from the template.",
    );
    action.agent.on_behalf_of = Some("alice@example.com".into());
    action
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("preflight-kiro-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let database = dir.join("audit.db");
    let audit = Arc::new(AuditStore::open(&format!("sqlite://{}", database.display())).await?);
    let gate = Gate::builder(NoProdTeardown)
        .with_approver(PromptOrScript)
        .with_audit(audit.clone())
        .build()?;

    for profile in ["prod", "staging", "dev"] {
        let result = gate
            .run(delete_stack(profile), |permit| async move {
                // The side effect: here the agent's AWS call would run.
                println!(
                    "  -> DeleteStack cost-explorer in {profile} (permit {})",
                    permit.id()
                );
                Ok::<_, std::io::Error>(())
            })
            .await?;
        match result {
            Gated::Ran { .. } => println!("{profile:>8}: ran"),
            Gated::Refused(checked) => println!("{profile:>8}: refused — {}", checked.message),
        }
    }

    println!("\naudit trail ({}):", database.display());
    for record in audit.tail(100).await? {
        let event = &record.event;
        let detail = match &event.kind {
            AuditKind::Proposed { action, .. } => format!("{} {}", action.tool, action.input),
            AuditKind::Verified { verdict } => verdict.summary(),
            AuditKind::ApprovalRequested { request_id, .. } => format!("request {request_id}"),
            AuditKind::ApprovalDecided { approval } => {
                format!("{} by {}", approval.decision, approval.approver)
            }
            AuditKind::Permitted { permit_id, .. } => format!("permit {permit_id}"),
            AuditKind::Refused { decision, message } => format!("{decision}: {message}"),
            AuditKind::Completed { outcome } => format!(
                "{} in {} ms",
                if outcome.success {
                    "succeeded"
                } else {
                    "failed"
                },
                outcome.duration_ms
            ),
        };
        println!(
            "  #{:<2} {} {:<18} {}… {}",
            record.seq,
            event.proposal_id.get(..8).unwrap_or_default(),
            event.kind.type_name(),
            event.digest.to_hex().get(..12).unwrap_or_default(),
            detail
        );
    }
    let report = audit.verify().await?;
    println!("\nchain: {report}");
    Ok(())
}
