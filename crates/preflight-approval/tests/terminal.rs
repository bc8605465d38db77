//! The terminal approver with injected input and output.
// Test code: helpers outside #[test] functions may panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Cursor, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use preflight_approval::TerminalApprover;
use preflight_core::{ApprovalDecision, ApprovalError, Approver};
use proptest::prelude::*;

/// A writer whose contents the test can read afterwards.
#[derive(Clone, Default)]
struct Screen(Arc<Mutex<Vec<u8>>>);

impl Write for Screen {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Screen {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

fn terminal(answer: &str) -> (TerminalApprover, Screen) {
    let screen = Screen::default();
    let approver = TerminalApprover::with_io(
        Cursor::new(answer.as_bytes().to_vec()),
        screen.clone(),
        true,
    )
    .with_identity("dana (terminal)");
    (approver, screen)
}

#[tokio::test]
async fn yes_approves_and_shows_everything() {
    let (approver, screen) = terminal("y\n");
    let request = request(kiro_action(), Duration::from_secs(60));
    let approval = approver.request(&request).await.unwrap();
    assert_eq!(approval.decision, ApprovalDecision::Approved);
    assert_eq!(approval.approver, "dana (terminal)");
    assert!(approval.binds_to(&request).is_ok());
    let shown = screen.text();
    for expected in [
        "agent:        kiro (for dana@example.com)",
        "tool:         aws.api",
        "\"operation\": \"DeleteStack\"",
        "delete aws://staging/cloudformation/stack/cost-explorer [staging] (recursive)",
        "environment:  declared none; derived staging",
        "blast radius: declared not declared",
        "derived  reversible: no, data loss: possible, downtime: possible",
        "reasoning:    The environment is in a bad state",
        "escalate by rules: needs a person",
        "Approve this action? [y/N]",
        &request.digest.to_hex(),
    ] {
        assert!(
            shown.contains(expected),
            "missing {expected:?} in:\n{shown}"
        );
    }
}

#[tokio::test]
async fn anything_but_yes_denies() {
    for answer in ["\n", "n\n", "NO\n", "sure\n", "yes please\n"] {
        let (approver, _) = terminal(answer);
        let request = request(kiro_action(), Duration::from_secs(60));
        let approval = approver.request(&request).await.unwrap();
        assert_eq!(approval.decision, ApprovalDecision::Denied, "{answer:?}");
    }
    let (approver, _) = terminal("YES\n");
    let approval = approver
        .request(&request(kiro_action(), Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(approval.decision, ApprovalDecision::Approved);
}

#[tokio::test]
async fn without_a_terminal_it_fails_closed_and_says_why() {
    let screen = Screen::default();
    let approver = TerminalApprover::with_io(Cursor::new(b"y\n".to_vec()), screen.clone(), false);
    let answer = approver
        .request(&request(kiro_action(), Duration::from_secs(60)))
        .await;
    match answer {
        Err(ApprovalError::Unavailable(why)) => assert!(why.contains("not interactive"), "{why}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // The queued `y` was never read: nobody was asked.
    assert!(screen.text().is_empty());

    let (gate, _) = gate(approver, Duration::from_secs(30));
    let gated = gate
        .run(kiro_action(), |_| async { Ok::<_, String>(()) })
        .await
        .unwrap();
    assert!(!gated.ran());
}

#[tokio::test]
async fn a_closed_terminal_is_not_an_answer() {
    let (approver, _) = terminal("");
    let answer = approver
        .request(&request(kiro_action(), Duration::from_secs(60)))
        .await;
    assert!(
        matches!(answer, Err(ApprovalError::Unavailable(_))),
        "{answer:?}"
    );
}

#[tokio::test]
async fn an_answer_after_expiry_is_refused() {
    let (approver, screen) = terminal("y\n");
    let mut request = request(kiro_action(), Duration::from_secs(60));
    request.expires_at = request.requested_at;
    assert_eq!(
        approver.request(&request).await,
        Err(ApprovalError::Expired)
    );
    // The person is told that the answer did not count.
    assert!(
        screen.text().contains("expired before the answer"),
        "{}",
        screen.text()
    );
}

#[tokio::test]
async fn the_gate_runs_the_side_effect_after_yes() {
    let (approver, _) = terminal("y\n");
    let (gate, _) = gate(approver, Duration::from_secs(30));
    let action = kiro_action();
    let gated = gate
        .run(action.clone(), |permit| async move {
            permit.redeem(&action).map_err(|e| e.to_string())
        })
        .await
        .unwrap();
    assert!(gated.ran());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever the agent writes, it cannot send control sequences to the person's terminal
    /// (to clear the screen or rewrite what they read).
    #[test]
    fn agent_text_reaches_the_terminal_without_control_characters(
        reasoning in any::<String>(),
        tool in "[\\x00-\\x7f]{1,20}",
        value in any::<String>(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (approver, screen) = terminal("n\n");
        let mut action = kiro_action();
        action.reasoning = Some(reasoning);
        action.tool = tool;
        action.input = serde_json::json!({ "value": value });
        let answer = runtime.block_on(approver.request(&request(action, Duration::from_secs(60))));
        prop_assert_eq!(answer.unwrap().decision, ApprovalDecision::Denied);
        let shown = screen.text();
        prop_assert!(shown.chars().all(|c| !c.is_control() || c == '\n' || c == '\t'));
    }
}

#[tokio::test]
async fn hidden_characters_are_shown_and_warned_about() {
    let (approver, screen) = terminal("n\n");
    let mut action = kiro_action();
    // A right-to-left override makes the second delete read as part of a comment.
    action.input = serde_json::json!({
        "command": "rm -rf /workspace/app/build # \u{202E}; rm -rf /workspace/app/src \u{1B}[2K"
    });
    action.reasoning = Some("cleaning up\u{200B}".into());
    approver
        .request(&request(action, Duration::from_secs(60)))
        .await
        .unwrap();
    let shown = screen.text();
    assert!(shown.contains("\\u{202E}"), "{shown}");
    assert!(shown.contains("\\u{200B}"), "{shown}");
    assert!(
        shown.contains("Warning: this request contains control"),
        "{shown}"
    );
    assert!(!preflight_core::visible::has_hidden(&shown), "{shown:?}");
}
