//! The console over HTTP: authentication, CSRF, digest binding, single use, expiry, escaping,
//! and the console approver behind a real gate.
// Test code: helpers outside #[test] functions may panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::*;
use preflight_approval::{CONTENT_SECURITY_POLICY, Console};
use preflight_core::testkit::MemoryApprovalStore;
use preflight_core::{
    Action, Approval, ApprovalDecision, ApprovalError, ApprovalRequest, ApprovalStatus,
    ApprovalStore, Approver, AuditKind, Gated, QueueChange, QueuedApproval, StoreError, Timestamp,
    async_trait,
};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, COOKIE, LOCATION, SET_COOKIE};
use serde_json::json;

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Signs in with `token`; returns the session cookie and the page's CSRF token.
async fn sign_in(base: &str, token: &str) -> (String, String) {
    let response = http()
        .post(format!("{base}/login"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"));
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let page = http()
        .get(format!("{base}/"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();
    (cookie, csrf)
}

async fn status_of(store: &dyn ApprovalStore, id: &str) -> ApprovalStatus {
    store.get(id).await.unwrap().unwrap().status
}

#[tokio::test]
async fn unauthenticated_and_wrong_tokens_are_refused() {
    let store = store();
    let base = serve(&console(store.clone())).await;
    let browser = http()
        .get(format!("{base}/"))
        .header(ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(browser.status(), StatusCode::SEE_OTHER);
    assert_eq!(browser.headers()[LOCATION], "/login");
    for path in [
        "/",
        "/api/requests",
        "/events",
        "/requests/x",
        "/fragments/requests/x",
    ] {
        let anonymous = http().get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "{path}");
        let wrong = http()
            .get(format!("{base}{path}"))
            .header(AUTHORIZATION, bearer("alice-token-7f3a9c21d4e8b60X"))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let forged = http()
        .get(format!("{base}/"))
        .header(COOKIE, "preflight_session=0123456789abcdef")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    let bad_login = http()
        .post(format!("{base}/login"))
        .form(&[("token", "guess")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad_login.status(), StatusCode::UNAUTHORIZED);
    assert!(bad_login.headers().get(SET_COOKIE).is_none());
}

#[tokio::test]
async fn get_never_changes_state() {
    let store = store();
    let base = serve(&console(store.clone())).await;
    let request = request(kiro_action(), Duration::from_secs(60));
    store.enqueue(&request).await.unwrap();
    let digest = request.digest.to_hex();
    for path in [
        format!(
            "/requests/{}/decision?decision=approve&digest={digest}",
            request.id
        ),
        format!("/api/requests/{}/decision", request.id),
        format!("/requests/{}", request.id),
        format!("/fragments/requests/{}", request.id),
        "/logout".to_string(),
    ] {
        let response = http()
            .get(format!("{base}{path}"))
            .header(AUTHORIZATION, bearer(ALICE.1))
            .send()
            .await
            .unwrap();
        assert!(
            response.status() == StatusCode::METHOD_NOT_ALLOWED || response.status().is_success(),
            "{path}: {}",
            response.status()
        );
    }
    assert_eq!(
        status_of(store.as_ref(), &request.id).await,
        ApprovalStatus::Pending
    );
}

#[tokio::test]
async fn browser_decisions_need_the_session_csrf_token() {
    let store = store();
    let base = serve(&console(store.clone())).await;
    let request = request(kiro_action(), Duration::from_secs(60));
    store.enqueue(&request).await.unwrap();
    let (cookie, csrf) = sign_in(&base, ALICE.1).await;
    let url = format!("{base}/requests/{}/decision", request.id);
    let digest = request.digest.to_hex();

    type Attempt<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>);
    let attempts: [Attempt<'_>; 3] = [
        (&[("decision", "approve"), ("digest", &digest)], None),
        (
            &[
                ("decision", "approve"),
                ("digest", &digest),
                ("csrf", "0000"),
            ],
            None,
        ),
        (
            &[
                ("decision", "approve"),
                ("digest", &digest),
                ("csrf", &csrf),
            ],
            Some("cross-site"),
        ),
    ];
    for (form, site) in attempts {
        let mut post = http().post(&url).header(COOKIE, &cookie).form(form);
        if let Some(site) = site {
            post = post.header("sec-fetch-site", site);
        }
        assert_eq!(post.send().await.unwrap().status(), StatusCode::FORBIDDEN);
        assert_eq!(
            status_of(store.as_ref(), &request.id).await,
            ApprovalStatus::Pending
        );
    }

    let ok = http()
        .post(&url)
        .header(COOKIE, &cookie)
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("decision", "approve"),
            ("digest", &digest),
            ("csrf", &csrf),
            ("comment", "checked with the team"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let item = store.get(&request.id).await.unwrap().unwrap();
    assert_eq!(item.status, ApprovalStatus::Approved);
    let approval = item.approval.unwrap();
    assert_eq!(approval.approver, ALICE.0);
    assert_eq!(approval.comment.as_deref(), Some("checked with the team"));
    assert!(approval.binds_to(&request).is_ok());
}

#[tokio::test]
async fn the_api_refuses_cookie_sessions() {
    let store = store();
    let base = serve(&console(store.clone())).await;
    let request = request(kiro_action(), Duration::from_secs(60));
    store.enqueue(&request).await.unwrap();
    let (cookie, _) = sign_in(&base, BOB.1).await;
    let response = http()
        .post(format!("{base}/api/requests/{}/decision", request.id))
        .header(COOKIE, cookie)
        .json(&json!({"decision": "approve", "digest": request.digest.to_hex()}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        status_of(store.as_ref(), &request.id).await,
        ApprovalStatus::Pending
    );
}

async fn api_decide(base: &str, id: &str, decision: &str, digest: &str) -> reqwest::Response {
    http()
        .post(format!("{base}/api/requests/{id}/decision"))
        .header(AUTHORIZATION, bearer(BOB.1))
        .json(&json!({"decision": decision, "digest": digest, "comment": "via the API"}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_decision_binds_to_the_digest_and_is_single_use() {
    let store = store();
    let base = serve(&console(store.clone())).await;
    let request = request(kiro_action(), Duration::from_secs(60));
    store.enqueue(&request).await.unwrap();

    let mut edited = kiro_action();
    edited.input["profile"] = json!("prod");
    let other = edited.digest().to_hex();
    let response = api_decide(&base, &request.id, "approve", &other).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(
        status_of(store.as_ref(), &request.id).await,
        ApprovalStatus::Pending
    );

    let garbage = api_decide(&base, &request.id, "approve", "not-a-digest").await;
    assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
    assert!(garbage.text().await.unwrap().contains("field `digest`"));
    let unknown = api_decide(&base, &request.id, "maybe", &request.digest.to_hex()).await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    assert!(unknown.text().await.unwrap().contains("field `decision`"));

    let digest = request.digest.to_hex();
    let first = api_decide(&base, &request.id, "deny", &digest).await;
    assert_eq!(first.status(), StatusCode::OK);
    let done: QueuedApproval = first.json().await.unwrap();
    assert_eq!(done.status, ApprovalStatus::Denied);
    assert_eq!(done.approval.unwrap().approver, BOB.0);

    let second = api_decide(&base, &request.id, "approve", &digest).await;
    assert_eq!(second.status(), StatusCode::CONFLICT);
    assert_eq!(
        status_of(store.as_ref(), &request.id).await,
        ApprovalStatus::Denied
    );
}

#[tokio::test]
async fn an_expired_request_cannot_be_approved() {
    let store = store();
    let base = serve(&console(store.clone())).await;
    let request = request(kiro_action(), Duration::from_millis(300));
    let approver = approver(store.clone());
    let asked = approver.request(&request).await;
    assert_eq!(asked, Err(ApprovalError::Expired));
    let late = api_decide(&base, &request.id, "approve", &request.digest.to_hex()).await;
    assert_eq!(late.status(), StatusCode::CONFLICT);
    assert_eq!(
        status_of(store.as_ref(), &request.id).await,
        ApprovalStatus::Expired
    );
    let pending: Vec<QueuedApproval> = http()
        .get(format!("{base}/api/requests"))
        .header(AUTHORIZATION, bearer(ALICE.1))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(pending.is_empty());
}

/// Runs the staging stack deletion through a gate whose approver is the console; `decide`
/// answers through the API once the request is queued.
async fn gated_run(decision: &'static str) -> (Gated<&'static str, String>, bool, Vec<AuditKind>) {
    let store = store();
    let base = serve(&console(store.clone())).await;
    let (gate, audit) = gate(approver(store.clone()), Duration::from_secs(30));
    let ran = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&ran);
    let action = kiro_action();
    let checked_action = action.clone();
    let run = tokio::spawn(async move {
        gate.run(action, move |permit| async move {
            permit.redeem(&checked_action).map_err(|e| e.to_string())?;
            flag.store(true, Ordering::SeqCst);
            Ok::<_, String>("stack deleted")
        })
        .await
        .unwrap()
    });
    let request = first_pending(store.as_ref()).await;
    assert!(!ran.load(Ordering::SeqCst), "ran before anyone decided");
    let response = api_decide(&base, &request.id, decision, &request.digest.to_hex()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let gated = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .unwrap()
        .unwrap();
    let kinds = audit.events().into_iter().map(|e| e.kind).collect();
    (gated, ran.load(Ordering::SeqCst), kinds)
}

#[tokio::test]
async fn approving_in_the_console_runs_the_side_effect() {
    let (gated, ran, audit) = gated_run("approve").await;
    assert!(ran && gated.ran());
    let decided = audit
        .iter()
        .find_map(|k| match k {
            AuditKind::ApprovalDecided { approval } => Some(approval.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(decided.decision, ApprovalDecision::Approved);
    assert_eq!(decided.approver, BOB.0);
}

#[tokio::test]
async fn denying_in_the_console_blocks_the_side_effect() {
    let (gated, ran, _) = gated_run("deny").await;
    assert!(!ran);
    match gated {
        Gated::Refused(checked) => assert!(checked.message.contains("denied by bob@example.com")),
        Gated::Ran { .. } => panic!("the side effect ran after a denial"),
    }
}

#[tokio::test]
async fn everything_from_the_action_is_escaped_and_the_policy_is_strict() {
    let store = store();
    let base = serve(&console(store.clone())).await;
    let mut action = kiro_action();
    action.tool = "<img src=x onerror=alert(1)>".into();
    action.input = json!({"command": "echo '<script>alert(\"pwned\")</script>'"});
    action.reasoning = Some("</blockquote><script>alert(2)</script>".into());
    let request = request(action, Duration::from_secs(60));
    store.enqueue(&request).await.unwrap();
    for path in [
        "/".to_string(),
        format!("/requests/{}", request.id),
        format!("/fragments/requests/{}", request.id),
    ] {
        let response = http()
            .get(format!("{base}{path}"))
            .header(AUTHORIZATION, bearer(ALICE.1))
            .send()
            .await
            .unwrap();
        let headers = response.headers().clone();
        assert_eq!(headers["content-security-policy"], CONTENT_SECURITY_POLICY);
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["x-frame-options"], "DENY");
        let body = response.text().await.unwrap();
        assert!(!body.contains("<script>alert"), "{path}");
        assert!(!body.contains("<img src=x"), "{path}");
        assert!(
            body.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{path}"
        );
        assert!(
            body.contains("&lt;script&gt;alert(2)&lt;/script&gt;"),
            "{path}"
        );
        // The only script is the console's own file.
        assert_eq!(
            body.matches("<script").count(),
            usize::from(path != format!("/fragments/requests/{}", request.id)),
            "{path}"
        );
    }
    assert!(CONTENT_SECURITY_POLICY.contains("script-src 'self'"));
    assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
    let js = http()
        .get(format!("{base}/assets/console.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), StatusCode::OK);
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
}

#[tokio::test]
async fn the_page_shows_what_a_person_needs_to_decide() {
    let store = store();
    let base = serve(&console(store.clone())).await;
    let (gate, _) = gate(approver(store.clone()), Duration::from_secs(30));
    let run = tokio::spawn(async move { gate.check(kiro_action()).await });
    let request = first_pending(store.as_ref()).await;
    let page = http()
        .get(format!("{base}/"))
        .header(AUTHORIZATION, bearer(ALICE.1))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in [
        "kiro",
        "dana@example.com",
        "aws.api",
        "DeleteStack",
        "cost-explorer",
        "delete aws://staging/cloudformation/stack/cost-explorer [staging]",
        "declared none · derived staging",
        "not declared",
        "reversible: no, data loss: possible, downtime: possible",
        "The environment is in a bad state",
        "aws.cloudformation.delete-outside-dev",
        "the agent declared no blast radius",
        "describe-stack-events",
        "expires in",
        &request.digest.to_hex(),
    ] {
        assert!(page.contains(expected), "the page lacks {expected:?}");
    }
    run.abort();
}

#[test]
fn the_builder_refuses_unsafe_settings() {
    let store: Arc<dyn ApprovalStore> = Arc::new(MemoryApprovalStore::new());
    let none = Console::builder(Arc::clone(&store)).build().unwrap_err();
    assert!(none.to_string().contains("`tokens`"), "{none}");
    let short = Console::builder(Arc::clone(&store))
        .with_token("eve", "short")
        .build()
        .unwrap_err();
    assert!(short.to_string().contains("shorter than 16"), "{short}");
    let base = Console::builder(store)
        .with_token("eve", "a-long-enough-token-0001")
        .with_base_path("approvals\"")
        .build()
        .unwrap_err();
    assert!(base.to_string().contains("`base_path`"), "{base}");
}

/// A store that sends no change notices and can be made to fail.
#[derive(Debug)]
struct Quiet {
    inner: MemoryApprovalStore,
    failing: AtomicBool,
}

#[async_trait]
impl ApprovalStore for Quiet {
    async fn enqueue(&self, request: &ApprovalRequest) -> Result<(), StoreError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("disk full".into()));
        }
        self.inner.enqueue(request).await
    }
    async fn get(&self, id: &str) -> Result<Option<QueuedApproval>, StoreError> {
        self.inner.get(id).await
    }
    async fn pending(&self, now: Timestamp) -> Result<Vec<QueuedApproval>, StoreError> {
        self.inner.pending(now).await
    }
    async fn history(&self, limit: usize) -> Result<Vec<QueuedApproval>, StoreError> {
        self.inner.history(limit).await
    }
    async fn decide(&self, approval: &Approval) -> Result<QueuedApproval, StoreError> {
        self.inner.decide(approval).await
    }
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<QueueChange> {
        // The sender is dropped at once: no notice will ever come.
        tokio::sync::broadcast::channel(1).1
    }
}

#[tokio::test]
async fn without_change_notices_the_approver_still_sees_the_decision_by_polling() {
    let store = Arc::new(Quiet {
        inner: MemoryApprovalStore::new(),
        failing: AtomicBool::new(false),
    });
    let approver = approver(store.clone());
    let request = request(kiro_action(), Duration::from_secs(30));
    let asked = {
        let request = request.clone();
        tokio::spawn(async move { approver.request(&request).await })
    };
    let queued = first_pending(store.as_ref()).await;
    store
        .decide(&Approval::new(&queued, ApprovalDecision::Approved, "carol"))
        .await
        .unwrap();
    let approval = tokio::time::timeout(Duration::from_secs(5), asked)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(approval.decision, ApprovalDecision::Approved);
    assert!(approval.binds_to(&request).is_ok());
}

#[tokio::test]
async fn a_failing_store_fails_closed() {
    let store = Arc::new(Quiet {
        inner: MemoryApprovalStore::new(),
        failing: AtomicBool::new(true),
    });
    let answer = approver(store.clone())
        .request(&request(kiro_action(), Duration::from_secs(30)))
        .await;
    assert!(matches!(answer, Err(ApprovalError::Store(_))), "{answer:?}");

    let (gate, _) = gate(approver(store), Duration::from_secs(30));
    let gated = gate
        .run(kiro_action(), |_| async { Ok::<_, String>(()) })
        .await
        .unwrap();
    assert!(!gated.ran());
}

#[tokio::test]
async fn an_edited_action_needs_a_new_approval() {
    let store = store();
    let approver = approver(store.clone());
    let original = request(kiro_action(), Duration::from_secs(30));
    let asked = {
        let original = original.clone();
        let approver = approver.clone();
        tokio::spawn(async move { approver.request(&original).await })
    };
    let queued = first_pending(store.as_ref()).await;
    store
        .decide(&Approval::new(&queued, ApprovalDecision::Approved, "carol"))
        .await
        .unwrap();
    let approval = asked.await.unwrap().unwrap();
    let mut edited: Action = kiro_action();
    edited.input["params"]["StackName"] = json!("billing");
    let mut second = request(edited, Duration::from_secs(30));
    second.id = original.id.clone();
    assert!(approval.binds_to(&original).is_ok());
    assert!(approval.binds_to(&second).is_err());
}

/// Two console instances with their own connections to one SQLite queue (the audit store of
/// `preflight-audit`): both list the request the gate queued through a third connection, a
/// decision on one reaches the waiting gate, and the other refuses a second decision.
#[tokio::test]
async fn two_console_instances_share_one_sqlite_queue() {
    let dir = std::env::temp_dir().join(format!("preflight-approval-{}", preflight_core::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("queue.db").display());
    let open = || async {
        let store: Arc<dyn ApprovalStore> = Arc::new(
            preflight_audit::AuditStore::builder(url.clone())
                .with_poll_interval(Duration::from_millis(50))
                .build()
                .await
                .unwrap(),
        );
        store
    };
    let (agent_side, one, two) = (open().await, open().await, open().await);
    let first = serve(&console(one)).await;
    let second = serve(&console(two)).await;
    let (gate, _) = gate(approver(agent_side.clone()), Duration::from_secs(30));
    let run = tokio::spawn(async move {
        gate.run(kiro_action(), |_| async { Ok::<_, String>("deleted") })
            .await
            .unwrap()
    });
    let request = first_pending(agent_side.as_ref()).await;
    for base in [&first, &second] {
        let listed: Vec<QueuedApproval> = http()
            .get(format!("{base}/api/requests"))
            .header(AUTHORIZATION, bearer(ALICE.1))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(listed.len(), 1, "{base}");
        assert_eq!(listed[0].request.id, request.id);
        assert_eq!(listed[0].request.digest, request.digest);
    }
    let digest = request.digest.to_hex();
    assert_eq!(
        api_decide(&second, &request.id, "approve", &digest)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        api_decide(&first, &request.id, "deny", &digest)
            .await
            .status(),
        StatusCode::CONFLICT
    );
    let gated = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .unwrap()
        .unwrap();
    assert!(gated.ran());
    let _ = std::fs::remove_dir_all(dir);
}

/// The CLI mounts the console under a path: every link, redirect and cookie follows it.
#[tokio::test]
async fn the_console_mounts_under_a_base_path() {
    let store = store();
    let console = Console::builder(store.clone())
        .with_token(ALICE.0, ALICE.1)
        .with_base_path("/approvals")
        .build()
        .unwrap();
    let app = axum::Router::new().nest("/approvals", console.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let anonymous = http()
        .get(format!("{root}/approvals"))
        .header(ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.headers()[LOCATION], "/approvals/login");
    let login = http()
        .post(format!("{root}/approvals/login"))
        .form(&[("token", ALICE.1)])
        .send()
        .await
        .unwrap();
    assert_eq!(login.headers()[LOCATION], "/approvals");
    let set_cookie = login.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(set_cookie.contains("Path=/approvals;"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let page = http()
        .get(format!("{root}/approvals"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    for link in [
        "href=\"/approvals/assets/console.css\"",
        "src=\"/approvals/assets/console.js\"",
        "action=\"/approvals/logout\"",
        "data-base=\"/approvals\"",
    ] {
        assert!(page.contains(link), "missing {link}");
    }
    let css = http()
        .get(format!("{root}/approvals/assets/console.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), StatusCode::OK);
}

/// Law: a decision is recorded only for the exact digest of the queued action; any other
/// digest is refused and leaves the request pending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_exact_digest_can_decide() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let store = store();
    let base = serve(&console(store.clone())).await;
    let request = request(kiro_action(), Duration::from_secs(600));
    store.enqueue(&request).await.unwrap();
    let handle = tokio::runtime::Handle::current();
    let mut runner = TestRunner::new(Config::with_cases(32));
    let result = tokio::task::block_in_place(|| {
        runner.run(&(any::<[u8; 32]>(), prop::bool::ANY), |(bytes, approve)| {
            let digest = preflight_core::ActionDigest(bytes);
            prop_assume!(digest != request.digest);
            let decision = if approve { "approve" } else { "deny" };
            let status = handle.block_on(async {
                api_decide(&base, &request.id, decision, &digest.to_hex())
                    .await
                    .status()
            });
            prop_assert_eq!(status, StatusCode::CONFLICT);
            let now = handle.block_on(status_of(store.as_ref(), &request.id));
            prop_assert_eq!(now, ApprovalStatus::Pending);
            Ok(())
        })
    });
    result.unwrap();
    let exact = api_decide(&base, &request.id, "approve", &request.digest.to_hex()).await;
    assert_eq!(exact.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_console_shows_hidden_characters_and_what_approving_does() {
    let store = store();
    let console = Console::builder(store.clone() as Arc<dyn ApprovalStore>)
        .with_token(ALICE.0, ALICE.1)
        .with_permit_ttl(Duration::from_secs(45))
        .build()
        .unwrap();
    let base = serve(&console).await;
    let mut action = kiro_action();
    action.input = json!({
        "command": "rm -rf /workspace/app/build # \u{202E}; rm -rf /workspace/app/src"
    });
    let request = request(action, Duration::from_secs(60));
    store.enqueue(&request).await.unwrap();
    let page = http()
        .get(format!("{base}/requests/{}", request.id))
        .header(AUTHORIZATION, bearer(ALICE.1))
        .header(ACCEPT, "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !preflight_core::visible::has_hidden(&page),
        "raw hidden characters in the page"
    );
    assert!(page.contains("\\u{202E}"), "{page}");
    assert!(page.contains("hidden-characters"), "{page}");
    assert!(
        page.contains("single-use permit bound to its digest, valid for 45 seconds"),
        "{page}"
    );
}
