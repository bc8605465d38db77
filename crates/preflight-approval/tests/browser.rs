//! End to end in a real headless Chromium, through WebDriver: the console as a person uses it.
//!
//! Needs `. scripts/chromium.sh` (exports `PREFLIGHT_CHROMEDRIVER`); with
//! `PREFLIGHT_SKIP_EXTERNAL=1` and no chromedriver, the tests say they were skipped.
// Test code: helpers outside #[test] functions may panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/browser.rs"]
mod browser;
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::*;
use fantoccini::Locator;
use preflight_core::{Approval, ApprovalDecision, ApprovalStatus, ApprovalStore, Gated, Timestamp};
use serde_json::json;
use tokio::task::JoinHandle;

/// One browser at a time: the machine running the suite may have two cores.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Starts the staging stack deletion through a gate whose approver is the console; returns
/// the running gate and the flag its side effect sets.
fn gated(
    store: Arc<dyn ApprovalStore>,
    ttl: Duration,
) -> (JoinHandle<Gated<(), String>>, Arc<AtomicBool>) {
    let (gate, _) = gate(approver(store), ttl);
    let ran = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&ran);
    let action = kiro_action();
    let run = tokio::spawn(async move {
        let checked = action.clone();
        gate.run(action, move |permit| async move {
            permit.redeem(&checked).map_err(|e| e.to_string())?;
            flag.store(true, Ordering::SeqCst);
            Ok(())
        })
        .await
        .unwrap()
    });
    (run, ran)
}

async fn decide_in_browser(decision: &str) -> (Gated<(), String>, bool, Arc<dyn ApprovalStore>) {
    let store: Arc<dyn ApprovalStore> = store();
    let base = serve(&console(Arc::clone(&store))).await;
    let browser = browser::start().await.unwrap();
    browser.sign_in(&base, ALICE.1).await;
    assert_eq!(
        browser.wait_for("#live.on").await.text().await.unwrap(),
        "live"
    );

    // The page is already open: the request must appear on it live.
    let (run, ran) = gated(Arc::clone(&store), Duration::from_secs(60));
    let card = browser.wait_for("article.card.status-pending").await;
    let text = card.text().await.unwrap();
    for expected in [
        "aws.api",
        "cost-explorer",
        "The environment is in a bad state",
        "staging",
    ] {
        assert!(text.contains(expected), "card lacks {expected:?}: {text}");
    }
    assert!(!ran.load(Ordering::SeqCst));
    card.find(Locator::Css("input[name=comment]"))
        .await
        .unwrap()
        .send_keys("looked at the stack events")
        .await
        .unwrap();
    card.find(Locator::Css(&format!("button.{decision}")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let gated = tokio::time::timeout(Duration::from_secs(15), run)
        .await
        .unwrap()
        .unwrap();
    let outcome = if decision == "approve" {
        "approved"
    } else {
        "denied"
    };
    let row = browser
        .wait_for(&format!("#history .outcome-{outcome}"))
        .await;
    assert_eq!(row.text().await.unwrap(), outcome);
    browser.wait_gone("article.card").await;
    browser.finish().await;
    let ran = ran.load(Ordering::SeqCst);
    (gated, ran, store)
}

#[tokio::test]
async fn approving_in_the_browser_runs_the_side_effect() {
    let _one = ONE_BROWSER.lock().await;
    if browser::chromedriver().is_none() && browser::start().await.is_none() {
        return;
    }
    let (gated, ran, store) = decide_in_browser("approve").await;
    assert!(gated.ran() && ran);
    let history = store.history(10).await.unwrap();
    let approval = history[0].approval.clone().unwrap();
    assert_eq!(approval.decision, ApprovalDecision::Approved);
    assert_eq!(approval.approver, ALICE.0);
    assert_eq!(
        approval.comment.as_deref(),
        Some("looked at the stack events")
    );
}

#[tokio::test]
async fn denying_in_the_browser_blocks_the_side_effect() {
    let _one = ONE_BROWSER.lock().await;
    if browser::chromedriver().is_none() && browser::start().await.is_none() {
        return;
    }
    let (gated, ran, _) = decide_in_browser("deny").await;
    assert!(!ran && !gated.ran());
    match gated {
        Gated::Refused(checked) => assert!(checked.message.contains("denied by alice@example.com")),
        Gated::Ran { .. } => panic!("the side effect ran after a denial"),
    }
}

#[tokio::test]
async fn hostile_arguments_show_as_text_and_run_no_script() {
    let _one = ONE_BROWSER.lock().await;
    let Some(browser) = browser::start().await else {
        return;
    };
    let store = store();
    let base = serve(&console(store.clone())).await;
    let hostile = |n: u32| {
        let mut action = kiro_action();
        action.tool = format!("<img src=x onerror=\"window.__pwned={n}\">");
        action.input = json!({
            "command": format!("echo '<script>window.__pwned={n}</script>'"),
            "html": "<img src=x onerror=\"window.__pwned=9\">"
        });
        action.reasoning = Some(format!("</blockquote><script>window.__pwned={n}</script>"));
        request(action, Duration::from_secs(120))
    };
    // One before the page loads (server-rendered), one after (inserted live).
    store.enqueue(&hostile(1)).await.unwrap();
    browser.sign_in(&base, ALICE.1).await;
    browser.wait_for("#live.on").await;
    store.enqueue(&hostile(2)).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while browser
        .client
        .find_all(Locator::Css("article.card"))
        .await
        .unwrap()
        .len()
        < 2
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the live card did not arrive"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Give any injected handler time to fire.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        browser.eval("return typeof window.__pwned").await,
        json!("undefined")
    );
    assert_eq!(
        browser
            .eval("return document.querySelectorAll('main img, main script').length")
            .await,
        json!(0)
    );
    for card in browser
        .client
        .find_all(Locator::Css("article.card"))
        .await
        .unwrap()
    {
        let tool = card
            .find(Locator::Css(".tool"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(tool.starts_with("<img src=x onerror="), "{tool}");
        let raw = card
            .find(Locator::Css("pre.raw"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(raw.contains("<script>window.__pwned="), "{raw}");
        let reasoning = card
            .find(Locator::Css("blockquote.reasoning"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            reasoning.starts_with("</blockquote><script>"),
            "{reasoning}"
        );
    }
    browser.finish().await;
}

#[tokio::test]
async fn an_expired_approval_cannot_be_used() {
    let _one = ONE_BROWSER.lock().await;
    let Some(browser) = browser::start().await else {
        return;
    };
    let store: Arc<dyn ApprovalStore> = store();
    let base = serve(&console(Arc::clone(&store))).await;
    browser.sign_in(&base, ALICE.1).await;
    let (run, ran) = gated(Arc::clone(&store), Duration::from_secs(3));
    browser.wait_for("article.card.status-pending").await;

    // Nobody decides: the gate denies at expiry and the page marks the card expired.
    let gated = tokio::time::timeout(Duration::from_secs(15), run)
        .await
        .unwrap()
        .unwrap();
    assert!(!gated.ran() && !ran.load(Ordering::SeqCst));
    let card = browser.wait_for("article.card.status-expired").await;
    let approve = card.find(Locator::Css("button.approve")).await.unwrap();
    assert!(!approve.is_enabled().await.unwrap());

    // Even a forced click on the stale form is refused by the server.
    browser
        .eval("document.querySelectorAll('button.approve').forEach(b => b.disabled = false)")
        .await;
    approve.click().await.unwrap();
    let message = browser.wait_for("#message").await.text().await.unwrap();
    assert!(message.contains("can no longer be decided"), "{message}");
    let request = store.history(1).await.unwrap()[0].request.clone();
    assert_eq!(
        store.get(&request.id).await.unwrap().unwrap().status,
        ApprovalStatus::Expired
    );
    assert!(!ran.load(Ordering::SeqCst));
    browser.finish().await;
}

/// Two console instances, each with its own connection to one SQLite queue (the audit store
/// of `preflight-audit`), as two processes would have.
async fn two_stores_on_one_file() -> (Arc<dyn ApprovalStore>, Arc<dyn ApprovalStore>) {
    let dir = std::env::temp_dir().join(format!("preflight-approval-{}", preflight_core::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("queue.db").display());
    let open = || async {
        preflight_audit::AuditStore::builder(url.clone())
            .with_poll_interval(Duration::from_millis(50))
            .build()
            .await
            .unwrap()
    };
    (Arc::new(open().await), Arc::new(open().await))
}

#[tokio::test]
async fn two_consoles_on_one_store_serve_the_same_queue() {
    let _one = ONE_BROWSER.lock().await;
    let Some(browser) = browser::start().await else {
        return;
    };
    let (store_a, store_b) = two_stores_on_one_file().await;
    let first = serve(&console(Arc::clone(&store_a))).await;
    // Another host name, so the browser keeps a separate session cookie for each instance.
    let second = serve(&console(Arc::clone(&store_b)))
        .await
        .replace("127.0.0.1", "localhost");
    // The agent's gate queues through the first instance's store.
    let (run, ran) = gated(Arc::clone(&store_a), Duration::from_secs(60));
    let request = first_pending(store_b.as_ref()).await;
    let card = format!("#req-{}", request.id);

    browser.sign_in(&second, BOB.1).await;
    browser.wait_for(&card).await;
    browser.sign_in(&first, ALICE.1).await;
    browser.wait_for(&card).await;
    browser.wait_for("#live.on").await;

    // Bob approves on the second instance (through its API); the first one, open in the
    // browser, drops the card and shows the decision live.
    let decided = reqwest::Client::new()
        .post(format!("{second}/api/requests/{}/decision", request.id))
        .bearer_auth(BOB.1)
        .json(&json!({"decision": "approve", "digest": request.digest.to_hex()}))
        .send()
        .await
        .unwrap();
    assert!(decided.status().is_success());
    browser.wait_gone(&card).await;
    let row = browser.wait_for(&format!("#hist-{}", request.id)).await;
    assert!(row.text().await.unwrap().contains("bob@example.com"));
    let gated = tokio::time::timeout(Duration::from_secs(15), run)
        .await
        .unwrap()
        .unwrap();
    assert!(gated.ran() && ran.load(Ordering::SeqCst));
    // A second decision on either instance is refused.
    let again = reqwest::Client::new()
        .post(format!("{first}/api/requests/{}/decision", request.id))
        .bearer_auth(ALICE.1)
        .json(&json!({"decision": "approve", "digest": request.digest.to_hex()}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), reqwest::StatusCode::CONFLICT);
    browser.finish().await;
}

#[tokio::test]
async fn a_long_queue_folds_and_unfolds_to_decide() {
    let _one = ONE_BROWSER.lock().await;
    let Some(browser) = browser::start().await else {
        return;
    };
    let store: Arc<dyn ApprovalStore> = store();
    let base = serve(&console(Arc::clone(&store))).await;
    let mut last = None;
    for n in 0..25 {
        let mut action = kiro_action();
        action.input["params"]["StackName"] = json!(format!("stack-{n}"));
        let request = request(action, Duration::from_secs(600));
        store.enqueue(&request).await.unwrap();
        last = Some(request);
    }
    let last = last.unwrap();
    browser.sign_in(&base, ALICE.1).await;
    assert_eq!(
        browser
            .client
            .find_all(Locator::Css("article.card"))
            .await
            .unwrap()
            .len(),
        25
    );
    assert_eq!(
        browser
            .client
            .find_all(Locator::Css("article.card.folded"))
            .await
            .unwrap()
            .len(),
        5
    );
    let card = format!("#req-{}", last.id);
    assert!(
        browser
            .client
            .find_all(Locator::Css(&format!("{card} button.approve")))
            .await
            .unwrap()
            .is_empty()
    );
    browser
        .wait_for(&format!("{card} summary"))
        .await
        .click()
        .await
        .unwrap();
    let raw = browser.wait_for(&format!("{card} pre.raw")).await;
    assert!(raw.text().await.unwrap().contains("stack-24"));
    browser
        .wait_for(&format!("{card} button.deny"))
        .await
        .click()
        .await
        .unwrap();
    browser.wait_for(&format!("#hist-{}", last.id)).await;
    assert_eq!(
        store.get(&last.id).await.unwrap().unwrap().status,
        ApprovalStatus::Denied
    );
    browser.finish().await;
}

/// Writes `docs/console.png`: the console with the staging stack deletion pending.
/// Run with `cargo test -p preflight-approval --test browser -- --ignored screenshot`.
#[tokio::test]
#[ignore = "writes docs/console.png"]
async fn screenshot() {
    let _one = ONE_BROWSER.lock().await;
    let Some(browser) = browser::start().await else {
        return;
    };
    let store: Arc<dyn ApprovalStore> = store();
    let base = serve(&console(Arc::clone(&store))).await;
    // Some history first.
    for (tool, input, decision, who, comment) in [
        (
            "Bash",
            json!({"command": "kubectl -n payments rollout restart deploy/api"}),
            ApprovalDecision::Approved,
            ALICE.0,
            "ok, off-peak",
        ),
        (
            "sql.execute",
            json!({"sql": "DELETE FROM users"}),
            ApprovalDecision::Denied,
            BOB.0,
            "no WHERE clause; use the archive job",
        ),
    ] {
        let mut action = preflight_core::Action::new(tool, input);
        action.agent.id = Some("ops-agent".into());
        let past = request(action, Duration::from_secs(600));
        store.enqueue(&past).await.unwrap();
        store
            .decide(&Approval::new(&past, decision, who).with_comment(comment))
            .await
            .unwrap();
    }
    let (run, _) = gated(Arc::clone(&store), Duration::from_secs(600));
    first_pending(store.as_ref()).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    browser.client.set_window_size(1200, 1150).await.unwrap();
    browser.sign_in(&base, ALICE.1).await;
    browser.wait_for("#live.on").await;
    let png = browser.client.screenshot().await.unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/console.png");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, png).unwrap();
    eprintln!("wrote {} at {}", path.display(), Timestamp::now());
    run.abort();
    browser.finish().await;
}
