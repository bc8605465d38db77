//! The laws of composition and the gate, as properties.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use preflight_core::testkit::{MemoryAuditSink, ScriptedAnswer, ScriptedApprover};
use preflight_core::{
    Action, All, AuditKind, Continue, Decision, FailClosed, Fixed, Gate, Gated, PermitError,
    Proposal, Quorum, Stack, Verdict, Verifier, VerifierExt, VerifyError, async_trait, merge,
};
use proptest::prelude::*;
use serde_json::json;

fn decision() -> impl Strategy<Value = Decision> {
    prop_oneof![
        Just(Decision::Abstain),
        Just(Decision::Allow),
        Just(Decision::Escalate),
        Just(Decision::Deny),
    ]
}

/// A verifier that misbehaves in one of the ways a real one can.
#[derive(Debug, Clone, Copy)]
enum Misbehaviour {
    Error,
    Panic,
    Hang,
    BadConfidence,
}

#[derive(Debug)]
struct Broken(Misbehaviour);

#[async_trait]
impl Verifier for Broken {
    async fn verify(&self, _: &Proposal) -> Result<Verdict, VerifyError> {
        match self.0 {
            Misbehaviour::Error => Err(VerifyError::other("broken", "backend exploded")),
            Misbehaviour::Panic => panic!("verifier bug"),
            Misbehaviour::Hang => {
                std::future::pending::<()>().await;
                unreachable!()
            }
            Misbehaviour::BadConfidence => {
                Ok(Verdict::allow("broken", "sure").with_confidence(7.0))
            }
        }
    }
}

fn misbehaviour() -> impl Strategy<Value = Misbehaviour> {
    prop_oneof![
        Just(Misbehaviour::Error),
        Just(Misbehaviour::Panic),
        Just(Misbehaviour::Hang),
        Just(Misbehaviour::BadConfidence),
    ]
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

fn action() -> Action {
    Action::new(
        "aws.api",
        json!({"profile": "prod", "service": "cloudformation", "operation": "DeleteStack"}),
    )
}

fn verdicts(decisions: &[Decision]) -> Vec<Verdict> {
    decisions
        .iter()
        .enumerate()
        .map(|(i, d)| match d {
            Decision::Abstain => Verdict::abstain(format!("v{i}")),
            d => Verdict::new(*d, format!("v{i}"), format!("reason {i}")),
        })
        .collect()
}

proptest! {
    #[test]
    fn merge_is_independent_of_order(decisions in prop::collection::vec(decision(), 0..8), seed in any::<u64>()) {
        let forward = merge("m", verdicts(&decisions));
        let mut shuffled = decisions.clone();
        // A deterministic permutation from the seed.
        let len = shuffled.len();
        for i in 0..len {
            let j = (seed.wrapping_mul(i as u64 + 1).wrapping_add(17) % len as u64) as usize;
            shuffled.swap(i, j);
        }
        let backward = merge("m", verdicts(&shuffled));
        prop_assert_eq!(forward.decision, backward.decision);
        prop_assert_eq!(forward.reasons.len(), backward.reasons.len());
    }

    #[test]
    fn any_deny_is_deny(decisions in prop::collection::vec(decision(), 0..8), at in 0usize..8) {
        let mut decisions = decisions;
        let at = at.min(decisions.len());
        decisions.insert(at, Decision::Deny);
        prop_assert_eq!(merge("m", verdicts(&decisions)).decision, Decision::Deny);

        let stack = decisions.iter().fold(Stack::new().continue_on(Continue::Always), |s, d| s.tier(Fixed::new(*d)));
        let verdict = runtime().block_on(stack.verify(&Proposal::new(action()))).unwrap();
        // Tiers after an allow do not run under `OnAbstainOrEscalate`, but under `Always` every
        // tier runs until a deny, so the deny is always reached.
        prop_assert_eq!(verdict.decision, Decision::Deny);

        let all = All::new(decisions.iter().map(|d| Fixed::new(*d).boxed()).collect());
        let verdict = runtime().block_on(all.verify(&Proposal::new(action()))).unwrap();
        prop_assert_eq!(verdict.decision, Decision::Deny);
    }

    #[test]
    fn all_abstain_never_allows(count in 0usize..6, default in prop_oneof![Just(FailClosed::Deny), Just(FailClosed::Escalate)]) {
        let stack = (0..count).fold(Stack::new().when_all_abstain(default), |s, _| s.tier(Fixed::new(Decision::Abstain)));
        let verdict = runtime().block_on(stack.verify(&Proposal::new(action()))).unwrap();
        prop_assert_eq!(verdict.decision, default.decision());
        prop_assert_ne!(verdict.decision, Decision::Allow);
    }

    #[test]
    fn failures_never_allow(
        broken in misbehaviour(),
        others in prop::collection::vec(prop_oneof![Just(Decision::Allow), Just(Decision::Abstain)], 0..4),
        on_failure in prop_oneof![Just(FailClosed::Deny), Just(FailClosed::Escalate)],
    ) {
        let rt = runtime();
        // Inside a stack, next to verifiers that all allow.
        let mut stack = Stack::new().continue_on(Continue::Always).on_failure(on_failure);
        for d in &others {
            stack = stack.tier(Fixed::new(*d));
        }
        let stack = stack.tier(Broken(broken).with_timeout(Duration::from_millis(20)));
        let verdict = rt.block_on(stack.verify(&Proposal::new(action()))).unwrap();
        prop_assert_eq!(verdict.decision, on_failure.decision());

        // Alone, through the gate.
        let audit = std::sync::Arc::new(MemoryAuditSink::new());
        let gate = Gate::builder(Broken(broken))
            .with_audit(audit.clone())
            .with_deadline(Duration::from_millis(20))
            .on_failure(on_failure)
            .build()
            .unwrap();
        let ran = rt.block_on(gate.run(action(), |_permit| async { Ok::<_, String>(()) })).unwrap();
        prop_assert!(!ran.ran());
        let verified = audit.events().into_iter().find_map(|e| match e.kind {
            AuditKind::Verified { verdict } => Some(verdict),
            _ => None,
        }).unwrap();
        prop_assert_ne!(verified.decision, Decision::Allow);
        prop_assert!(verified.reasons.iter().any(|r| r.message.contains("could not decide")));
    }

    #[test]
    fn quorum_never_allows_on_deny_or_too_few(decisions in prop::collection::vec(decision(), 1..6), k in 1usize..6) {
        let quorum = Quorum::new(k, decisions.iter().map(|d| Fixed::new(*d).boxed()).collect());
        let verdict = runtime().block_on(quorum.verify(&Proposal::new(action()))).unwrap();
        let allows = decisions.iter().filter(|d| **d == Decision::Allow).count();
        if decisions.contains(&Decision::Deny) {
            prop_assert_eq!(verdict.decision, Decision::Deny);
        } else if verdict.decision == Decision::Allow {
            prop_assert!(allows >= k);
        }
        prop_assert_ne!(verdict.decision, Decision::Abstain);
    }
}

fn gate_with(audit: std::sync::Arc<MemoryAuditSink>, ttl: Duration) -> Gate {
    Gate::builder(Fixed::new(Decision::Allow))
        .with_audit(audit)
        .with_permit_ttl(ttl)
        .build()
        .unwrap()
}

#[tokio::test]
async fn permit_is_single_use_and_bound_to_the_action() {
    let audit = std::sync::Arc::new(MemoryAuditSink::new());
    let gate = gate_with(audit, Duration::from_secs(60));
    let verified = action();
    let checked = gate.check(verified.clone()).await.unwrap();
    let permit = checked.permit.unwrap();

    let mut edited = verified.clone();
    edited.input["profile"] = json!("dev");
    assert!(matches!(
        permit.redeem(&edited),
        Err(PermitError::WrongAction(_))
    ));
    // A refused attempt with another action does not spend the permit.
    permit.redeem(&verified).unwrap();
    assert!(matches!(
        permit.redeem(&verified),
        Err(PermitError::AlreadyUsed(_))
    ));
    assert!(matches!(
        gate.redeem(permit.id(), &verified),
        Err(PermitError::AlreadyUsed(_))
    ));
}

#[tokio::test]
async fn permit_expires() {
    let audit = std::sync::Arc::new(MemoryAuditSink::new());
    let gate = gate_with(audit, Duration::from_millis(5));
    let checked = gate.check(action()).await.unwrap();
    let permit = checked.permit.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(matches!(
        permit.redeem(&action()),
        Err(PermitError::Expired(_))
    ));
}

#[tokio::test]
async fn permit_from_run_cannot_be_reused_after_the_side_effect() {
    let audit = std::sync::Arc::new(MemoryAuditSink::new());
    let gate = gate_with(audit, Duration::from_secs(60));
    let mut kept = None;
    let result = gate
        .run(action(), |permit| {
            kept = Some(permit.id().to_string());
            async { Ok::<_, String>(()) }
        })
        .await
        .unwrap();
    assert!(result.ran());
    assert!(gate.redeem(&kept.unwrap(), &action()).is_err());
}

#[tokio::test]
async fn nothing_runs_when_the_audit_record_cannot_be_written() {
    let audit = std::sync::Arc::new(MemoryAuditSink::new());
    audit.set_failing(true);
    let gate = gate_with(audit, Duration::from_secs(60));
    let mut ran = false;
    let result = gate
        .run(action(), |_| {
            ran = true;
            async { Ok::<_, String>(()) }
        })
        .await;
    assert!(result.is_err());
    assert!(!ran);
}

#[tokio::test]
async fn escalation_asks_and_approval_binds_to_the_action() {
    let audit = std::sync::Arc::new(MemoryAuditSink::new());
    let approver = std::sync::Arc::new(ScriptedApprover::new([
        ScriptedAnswer::Approve("alice".into()),
        ScriptedAnswer::ApproveOtherAction("mallory".into()),
        ScriptedAnswer::Deny("bob".into()),
        ScriptedAnswer::Hang,
    ]));
    let gate = Gate::builder(Fixed::new(Decision::Escalate))
        .with_audit(audit.clone())
        .with_approver(approver.clone())
        .with_approval_ttl(Duration::from_millis(50))
        .build()
        .unwrap();

    let approved = gate
        .run(
            action(),
            |p| async move { Ok::<_, String>(p.id().to_string()) },
        )
        .await
        .unwrap();
    assert!(approved.ran());

    // An approval given for a different digest is refused.
    let forged = gate
        .run(action(), |_| async { Ok::<_, String>(String::new()) })
        .await
        .unwrap();
    assert!(!forged.ran());
    let Gated::Refused(checked) = forged else {
        unreachable!()
    };
    assert_eq!(checked.decision, Decision::Deny);
    assert!(
        checked
            .approval
            .unwrap()
            .comment
            .unwrap()
            .contains("different action")
    );

    let denied = gate
        .run(action(), |_| async { Ok::<_, String>(String::new()) })
        .await
        .unwrap();
    assert!(!denied.ran());

    // Nobody answers before expiry: denied.
    let expired = gate
        .run(action(), |_| async { Ok::<_, String>(String::new()) })
        .await
        .unwrap();
    let Gated::Refused(checked) = expired else {
        panic!("expired approval ran")
    };
    assert!(
        checked
            .approval
            .unwrap()
            .comment
            .unwrap()
            .contains("expired")
    );

    assert_eq!(approver.asked().len(), 4);
    // Every request was on record before it was asked.
    let kinds: Vec<&str> = audit.events().iter().map(|e| e.kind.type_name()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "approval_requested").count(),
        4
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "approval_decided").count(),
        4
    );
}

#[tokio::test]
async fn escalation_without_approver_is_refused() {
    let audit = std::sync::Arc::new(MemoryAuditSink::new());
    let gate = Gate::builder(Fixed::new(Decision::Escalate))
        .with_audit(audit)
        .build()
        .unwrap();
    let checked = gate.check(action()).await.unwrap();
    assert_eq!(checked.decision, Decision::Escalate);
    assert!(checked.permit.is_none());
}

#[tokio::test]
async fn abstaining_verifier_gets_the_gate_default() {
    let audit = std::sync::Arc::new(MemoryAuditSink::new());
    let gate = Gate::builder(Fixed::new(Decision::Abstain))
        .with_audit(audit)
        .when_abstain(FailClosed::Escalate)
        .build()
        .unwrap();
    let checked = gate.check(action()).await.unwrap();
    assert_eq!(checked.decision, Decision::Escalate);
}

#[test]
fn gate_needs_an_audit_sink() {
    assert!(Gate::builder(Fixed::new(Decision::Allow)).build().is_err());
}

#[tokio::test]
async fn a_dropped_permit_is_revoked_but_a_token_survives() {
    let audit = std::sync::Arc::new(MemoryAuditSink::new());
    let gate = gate_with(audit, Duration::from_secs(60));
    let dropped = gate.check(action()).await.unwrap().permit.unwrap();
    let dropped_id = dropped.id().to_string();
    drop(dropped);
    assert!(gate.redeem(&dropped_id, &action()).is_err());

    let token = gate
        .check(action())
        .await
        .unwrap()
        .permit
        .unwrap()
        .into_token();
    let mut edited = action();
    edited.tool = "aws.cli".into();
    assert!(matches!(
        gate.redeem(&token, &edited),
        Err(PermitError::WrongAction(_))
    ));
    gate.redeem(&token, &action()).unwrap();
    assert!(gate.redeem(&token, &action()).is_err());
}
