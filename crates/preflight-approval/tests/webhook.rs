//! The webhook: the message, links back to the console, and failures that fail closed.
// Test code: helpers outside #[test] functions may panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use common::*;
use preflight_approval::Webhook;
use preflight_core::{ApprovalStatus, ApprovalStore, Approver};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// A receiver that records every message and answers with `status`.
async fn receiver(status: StatusCode) -> (String, mpsc::UnboundedReceiver<Value>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new()
        .route(
            "/hook",
            post(
                |State((tx, status)): State<(mpsc::UnboundedSender<Value>, StatusCode)>,
                 Json(body): Json<Value>| async move {
                    let _ = tx.send(body);
                    status
                },
            ),
        )
        .with_state((tx, status));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/hook"), rx)
}

#[tokio::test]
async fn the_message_links_to_the_console_where_the_decision_is_made() {
    let store = store();
    let base = serve(&console(store.clone())).await;
    let (hook, mut messages) = receiver(StatusCode::OK).await;
    let approver = Webhook::new(&hook, &format!("{base}/"))
        .unwrap()
        .approver(store.clone())
        .with_poll_interval(Duration::from_millis(200));
    assert_eq!(approver.name(), "webhook");
    let (gate, _) = gate(approver, Duration::from_secs(30));
    let ran = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&ran);
    let run = tokio::spawn(async move {
        gate.run(kiro_action(), move |_| async move {
            flag.store(true, Ordering::SeqCst);
            Ok::<_, String>(())
        })
        .await
        .unwrap()
    });

    let message = tokio::time::timeout(Duration::from_secs(5), messages.recv())
        .await
        .unwrap()
        .unwrap();
    let text = message["text"].as_str().unwrap();
    assert!(
        text.contains("`kiro` wants to run `aws.api` in *staging*"),
        "{text}"
    );
    assert!(
        text.contains("> The environment is in a bad state"),
        "{text}"
    );
    assert!(
        text.contains("delete aws://staging/cloudformation/stack/cost-explorer"),
        "{text}"
    );
    let id = message["request_id"].as_str().unwrap();
    assert!(text.contains(&format!(
        "<{base}/requests/{id}|Review and decide in the console>"
    )));
    assert_eq!(message["links"]["console"], format!("{base}/"));
    assert_eq!(message["request"]["action"]["tool"], "aws.api");
    assert!(!ran.load(Ordering::SeqCst));

    // The link opens the request in the console.
    let page = reqwest::Client::new()
        .get(message["links"]["request"].as_str().unwrap())
        .bearer_auth(ALICE.1)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("cost-explorer"));

    let decided = reqwest::Client::new()
        .post(message["links"]["api"].as_str().unwrap())
        .bearer_auth(ALICE.1)
        .json(&json!({"decision": "approve", "digest": message["digest"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(decided.status(), StatusCode::OK);
    let gated = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .unwrap()
        .unwrap();
    assert!(gated.ran() && ran.load(Ordering::SeqCst));
}

#[tokio::test]
async fn agent_text_cannot_forge_slack_links() {
    let webhook = Webhook::new("http://127.0.0.1:9/hook", "http://console.example").unwrap();
    let mut action = kiro_action();
    action.reasoning = Some("<https://evil.example|Approve here> <!channel>".into());
    let message = webhook.message(&request(action, Duration::from_secs(60)));
    let text = message["text"].as_str().unwrap();
    assert!(
        text.contains("&lt;https://evil.example|Approve here&gt; &lt;!channel&gt;"),
        "{text}"
    );
    assert_eq!(
        text.matches('<').count(),
        1,
        "only the console link: {text}"
    );
}

#[tokio::test]
async fn an_undelivered_webhook_fails_closed_and_closes_the_request() {
    for status in [StatusCode::INTERNAL_SERVER_ERROR, StatusCode::NOT_FOUND] {
        let store = store();
        let (hook, _messages) = receiver(status).await;
        let approver = Webhook::new(&hook, "http://console.example")
            .unwrap()
            .approver(store.clone());
        let request = request(kiro_action(), Duration::from_secs(60));
        let answer = approver.request(&request).await;
        assert!(answer.is_err(), "{answer:?}");
        let item = store.get(&request.id).await.unwrap().unwrap();
        assert_eq!(item.status, ApprovalStatus::Denied);
        assert!(
            store
                .pending(preflight_core::Timestamp::now())
                .await
                .unwrap()
                .is_empty()
        );
    }
    // Nobody listening at all.
    let store = store();
    let approver = Webhook::new("http://127.0.0.1:9/hook", "http://console.example")
        .unwrap()
        .with_timeout(Duration::from_secs(2))
        .unwrap()
        .approver(store.clone());
    let (gate, _) = gate(approver, Duration::from_secs(30));
    let gated = gate
        .run(kiro_action(), |_| async { Ok::<_, String>(()) })
        .await
        .unwrap();
    assert!(!gated.ran());
}

#[tokio::test]
async fn hidden_characters_in_a_message_are_shown_and_warned_about() {
    let webhook = Webhook::new("http://127.0.0.1:9/hook", "http://console.example").unwrap();
    let mut action = kiro_action();
    action.reasoning = Some("fixing \u{2066}the build\u{2069}".into());
    let message = webhook.message(&request(action, Duration::from_secs(60)));
    let text = message["text"].as_str().unwrap();
    assert!(text.contains("\\u{2066}"), "{text}");
    assert!(
        text.contains("Warning: this request contains control"),
        "{text}"
    );
    assert!(!preflight_core::visible::has_hidden(text), "{text:?}");
}
