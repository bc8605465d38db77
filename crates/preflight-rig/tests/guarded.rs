//! A guarded rig tool runs only with a permit, exactly once, for exactly the verified
//! arguments; a refusal reaches the model as the tool's error text; every failure of the gate
//! keeps the body from running.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use preflight_core::testkit::{MemoryAuditSink, ScriptedAnswer, ScriptedApprover};
use preflight_core::{
    AuditKind, Decision, Gate, Proposal, Verdict, Verifier, VerifyError, async_trait,
};
use preflight_rig::Guard;
use rig_agent::AgentBuilder;
use rig_core::message::{Message, ToolName, ToolResultContent, UserContent};
use rig_core::test_utils::{MockCompletionModel, MockTurn};
use rig_core::tool::{DynamicTool, Tool, ToolContext, ToolExecutionError, ToolOutput};
use serde_json::{Value, json};

/// Decides by the `path` argument: `/srv/**` is denied (with a suggestion), `/staging/**`
/// escalated, anything else allowed.
#[derive(Debug)]
struct ByPath;

#[async_trait]
impl Verifier for ByPath {
    async fn verify(&self, proposal: &Proposal) -> Result<Verdict, VerifyError> {
        let path = proposal.action.input["path"].as_str().unwrap_or_default();
        Ok(if path.starts_with("/srv/") {
            Verdict::deny("by-path", "nothing under /srv is deleted")
                .with_rule("no-srv")
                .with_suggestion("delete a file under /tmp instead")
        } else if path.starts_with("/staging/") {
            Verdict::escalate("by-path", "staging needs a person").with_rule("ask-staging")
        } else {
            Verdict::allow("by-path", "fine")
        })
    }
}

/// Counts its runs.
#[derive(Debug, Clone, Default)]
struct Delete {
    runs: Arc<AtomicUsize>,
}

#[derive(Debug, serde::Deserialize)]
struct DeleteArgs {
    path: String,
}

impl Tool for Delete {
    const NAME: &'static str = "delete";
    type Args = DeleteArgs;
    type Output = String;
    type Error = ToolExecutionError;

    fn description(&self) -> String {
        "Deletes a path".into()
    }

    fn parameters(&self) -> Value {
        json!({"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]})
    }

    async fn call(&self, _: &mut ToolContext, args: DeleteArgs) -> Result<String, Self::Error> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        Ok(format!("deleted {}", args.path))
    }
}

struct Setup {
    guard: Guard,
    audit: Arc<MemoryAuditSink>,
    approver: Arc<ScriptedApprover>,
    tool: Delete,
}

fn setup(answers: Vec<ScriptedAnswer>) -> Setup {
    let audit = Arc::new(MemoryAuditSink::new());
    let approver = Arc::new(ScriptedApprover::new(answers));
    let gate = Gate::builder(ByPath)
        .with_approver(approver.clone())
        .with_audit(audit.clone())
        .build()
        .unwrap();
    let guard = Guard::new(gate)
        .with_agent("ops-agent")
        .with_session("s-1")
        .with_cwd("/workspace");
    Setup {
        guard,
        audit,
        approver,
        tool: Delete::default(),
    }
}

fn kinds(audit: &MemoryAuditSink) -> Vec<&'static str> {
    audit.events().iter().map(|e| e.kind.type_name()).collect()
}

#[tokio::test]
async fn a_refused_call_never_runs_its_body_and_the_model_reads_why() {
    let s = setup(vec![]);
    let tool = s.guard.tool(s.tool.clone());
    let error = tool
        .call(&mut ToolContext::new(), json!({"path": "/srv/data"}))
        .await
        .unwrap_err();

    assert_eq!(s.tool.runs.load(Ordering::SeqCst), 0);
    assert_eq!(error.code(), Some("preflight.deny"));
    let text = error.model_feedback().unwrap();
    assert!(text.contains("nothing under /srv is deleted"), "{text}");
    assert!(text.contains("[no-srv]"), "{text}");
    assert!(
        text.contains("suggestion: delete a file under /tmp instead"),
        "{text}"
    );
    assert_eq!(kinds(&s.audit), ["proposed", "verified", "refused"]);
    // The action carries the guard's identity and the model's arguments.
    let events = s.audit.events();
    let AuditKind::Proposed { action, .. } = &events[0].kind else {
        panic!("first record is not the proposal");
    };
    assert_eq!(action.tool, "delete");
    assert_eq!(action.input, json!({"path": "/srv/data"}));
    assert_eq!(action.agent.id.as_deref(), Some("ops-agent"));
    assert_eq!(action.agent.session.as_deref(), Some("s-1"));
    assert_eq!(action.context.cwd.as_deref(), Some("/workspace"));
}

#[tokio::test]
async fn an_allowed_call_runs_exactly_once_with_its_permit() {
    let s = setup(vec![]);
    let tool = s.guard.tool(s.tool.clone());
    let output = tool
        .call(&mut ToolContext::new(), json!({"path": "/tmp/x"}))
        .await
        .unwrap();

    assert_eq!(output.as_text(), Some("deleted /tmp/x"));
    assert_eq!(s.tool.runs.load(Ordering::SeqCst), 1);
    assert_eq!(
        kinds(&s.audit),
        ["proposed", "verified", "permitted", "completed"]
    );
    let events = s.audit.events();
    assert!(
        events
            .iter()
            .all(|e| e.proposal_id == events[0].proposal_id)
    );
    let AuditKind::Completed { outcome } = &events[3].kind else {
        panic!("no outcome");
    };
    assert!(outcome.success);
}

#[tokio::test]
async fn the_body_gets_the_permit_for_exactly_the_verified_action() {
    let s = setup(vec![]);
    let args = json!({"path": "/tmp/x"});
    let expected = s.guard.action("delete", args.clone()).digest();
    let runs = AtomicUsize::new(0);
    let digest = s
        .guard
        .run("delete", args, |permit| async {
            let permit = permit;
            runs.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ToolExecutionError>(permit.digest())
        })
        .await
        .unwrap();
    assert_eq!(digest, expected);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let permitted = s
        .audit
        .events()
        .iter()
        .filter(|e| matches!(e.kind, AuditKind::Permitted { .. }))
        .count();
    assert_eq!(permitted, 1);
}

#[tokio::test]
async fn an_argument_edited_after_approval_is_verified_and_asked_about_again() {
    let s = setup(vec![
        ScriptedAnswer::Approve("alice".into()),
        ScriptedAnswer::Deny("alice".into()),
    ]);
    let tool = s.guard.tool(s.tool.clone());

    let approved = tool
        .call(&mut ToolContext::new(), json!({"path": "/staging/cache"}))
        .await;
    assert!(approved.is_ok());
    assert_eq!(s.tool.runs.load(Ordering::SeqCst), 1);

    // The same call with one argument changed is a new action: a new digest, a new question.
    let edited = tool
        .call(&mut ToolContext::new(), json!({"path": "/staging/db"}))
        .await
        .unwrap_err();
    assert_eq!(s.tool.runs.load(Ordering::SeqCst), 1);
    assert_eq!(edited.code(), Some("preflight.deny"));
    assert!(edited.message().contains("denied by alice"), "{edited}");

    let asked = s.approver.asked();
    assert_eq!(asked.len(), 2);
    assert_ne!(asked[0].digest, asked[1].digest);
    assert_eq!(asked[1].action.input, json!({"path": "/staging/db"}));

    // And the approved arguments, proposed again, are asked about again: approvals are single
    // use. The script has no answer left, so the approver fails and that is a denial.
    let again = tool
        .call(&mut ToolContext::new(), json!({"path": "/staging/cache"}))
        .await;
    assert!(again.is_err());
    assert_eq!(s.approver.asked().len(), 3);
    assert_eq!(s.tool.runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_escalation_without_an_approver_is_refused() {
    let audit = Arc::new(MemoryAuditSink::new());
    let gate = Gate::builder(ByPath)
        .with_audit(audit.clone())
        .build()
        .unwrap();
    let delete = Delete::default();
    let error = Guard::new(gate)
        .tool(delete.clone())
        .call(&mut ToolContext::new(), json!({"path": "/staging/x"}))
        .await
        .unwrap_err();
    assert_eq!(delete.runs.load(Ordering::SeqCst), 0);
    assert_eq!(error.code(), Some("preflight.escalate"));
}

#[tokio::test]
async fn nothing_runs_when_the_decision_cannot_be_recorded() {
    let s = setup(vec![]);
    s.audit.set_failing(true);
    let error = s
        .guard
        .tool(s.tool.clone())
        .call(&mut ToolContext::new(), json!({"path": "/tmp/x"}))
        .await
        .unwrap_err();
    assert_eq!(s.tool.runs.load(Ordering::SeqCst), 0);
    assert_eq!(error.code(), Some("preflight.error"));
    assert!(error.message().contains("was not run"), "{error}");
}

#[tokio::test]
async fn nothing_runs_when_the_approver_fails_or_forges_an_answer() {
    let s = setup(vec![
        ScriptedAnswer::Fail("console down".into()),
        ScriptedAnswer::ApproveOtherAction("mallory".into()),
    ]);
    let tool = s.guard.tool(s.tool.clone());
    for _ in 0..2 {
        let error = tool
            .call(&mut ToolContext::new(), json!({"path": "/staging/x"}))
            .await
            .unwrap_err();
        assert_eq!(error.code(), Some("preflight.deny"));
    }
    assert_eq!(s.tool.runs.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn unreadable_arguments_are_refused_before_anything_is_proposed() {
    let s = setup(vec![]);
    let error = s
        .guard
        .tool(s.tool.clone())
        .call(&mut ToolContext::new(), json!({"path": 7}))
        .await
        .unwrap_err();
    assert_eq!(s.tool.runs.load(Ordering::SeqCst), 0);
    assert_eq!(error.kind(), rig_core::tool::ToolErrorKind::InvalidArgs);
    assert!(s.audit.events().is_empty());
}

fn counting_dynamic(name: &str, runs: Arc<AtomicUsize>) -> DynamicTool {
    DynamicTool::new(
        ToolName::new(name).unwrap(),
        "counts",
        json!({"type": "object"}),
        move |args| {
            let runs = Arc::clone(&runs);
            Box::pin(async move {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok(ToolOutput::json(args))
            })
        },
    )
}

#[tokio::test]
async fn a_guarded_set_of_dynamic_tools_runs_only_what_is_allowed() {
    let s = setup(vec![]);
    let runs = Arc::new(AtomicUsize::new(0));
    let set = s.guard.tools([
        counting_dynamic("rm", Arc::clone(&runs)),
        counting_dynamic("purge", Arc::clone(&runs)),
    ]);
    assert_eq!(set.len(), 2);
    assert_eq!(set[0].name().to_string(), "rm");

    let refused = set[0].execute(json!({"path": "/srv/a"})).await.unwrap_err();
    assert_eq!(refused.code(), Some("preflight.deny"));
    assert_eq!(runs.load(Ordering::SeqCst), 0);

    let ran = set[1].execute(json!({"path": "/tmp/a"})).await.unwrap();
    assert_eq!(ran.as_json(), Some(&json!({"path": "/tmp/a"})));
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    // A typed tool erased into the same list is guarded as well.
    let erased = s.guard.erase(s.tool.clone()).unwrap();
    assert!(erased.execute(json!({"path": "/srv/b"})).await.is_err());
    assert_eq!(s.tool.runs.load(Ordering::SeqCst), 0);
    assert!(erased.execute(json!({"path": "/tmp/b"})).await.is_ok());
    assert_eq!(s.tool.runs.load(Ordering::SeqCst), 1);

    let proposed: Vec<String> = s
        .audit
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            AuditKind::Proposed { action, .. } => Some(action.tool.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(proposed, ["rm", "purge", "delete", "delete"]);
}

/// The text of every tool result the model was sent.
fn tool_results(model: &MockCompletionModel) -> Vec<(bool, String)> {
    let mut results = Vec::new();
    if let Some(request) = model.requests().last() {
        for message in &request.chat_history {
            if let Message::User { content } = message {
                for item in content {
                    if let UserContent::ToolResult(result) = item {
                        let text = result
                            .content
                            .iter()
                            .filter_map(ToolResultContent::as_text)
                            .collect::<String>();
                        results.push((result.is_error, text));
                    }
                }
            }
        }
    }
    results
}

#[tokio::test]
async fn in_a_rig_agent_the_model_reads_the_refusal_and_its_narrower_call_runs() {
    let s = setup(vec![]);
    let model = MockCompletionModel::from_turns([
        MockTurn::tool_call("c1", "delete", json!({"path": "/srv/data"})),
        MockTurn::tool_call("c2", "delete", json!({"path": "/tmp/data"})),
        MockTurn::text("done"),
    ]);
    let agent = AgentBuilder::new(model.clone())
        .tool(s.guard.tool(s.tool.clone()))
        .build();
    let response = agent.prompt("clean up").max_turns(5).await.unwrap();

    assert_eq!(response.output(), "done");
    assert_eq!(s.tool.runs.load(Ordering::SeqCst), 1);
    let results = tool_results(&model);
    assert_eq!(results.len(), 2, "{results:?}");
    assert!(results[0].0, "the refusal is an error result");
    assert!(
        results[0].1.contains("nothing under /srv is deleted")
            && results[0].1.contains("delete a file under /tmp instead"),
        "{results:?}"
    );
    assert_eq!(results[1], (false, "deleted /tmp/data".to_string()));
    let decisions: Vec<Decision> = s
        .audit
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            AuditKind::Verified { verdict } => Some(verdict.decision),
            _ => None,
        })
        .collect();
    assert_eq!(decisions, [Decision::Deny, Decision::Allow]);
}
