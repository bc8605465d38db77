//! The `Approver` contract, run against every approver of this crate through
//! `Box<dyn Approver>`: a decision binds to the request, an expired request never yields an
//! approval, and dropping the future (the gate's timeout) leaves nothing that can be approved
//! afterwards.
// Test code: helpers outside #[test] functions may panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use preflight_approval::{TerminalApprover, Webhook};
use preflight_core::testkit::MemoryApprovalStore;
use preflight_core::{Approval, ApprovalDecision, ApprovalStore, Approver, StoreError, Timestamp};

#[derive(Debug, Clone, Copy)]
enum Kind {
    Terminal,
    Console,
    Webhook,
}

const KINDS: [Kind; 3] = [Kind::Terminal, Kind::Console, Kind::Webhook];

/// An approver of `kind` whose person answers yes; and the queue it uses, if any.
async fn approver_of(kind: Kind) -> (Box<dyn Approver>, Option<Arc<MemoryApprovalStore>>) {
    match kind {
        Kind::Terminal => (
            Box::new(TerminalApprover::with_io(
                Cursor::new(b"y\n".to_vec()),
                std::io::sink(),
                true,
            )),
            None,
        ),
        Kind::Console => {
            let store = store();
            (Box::new(approver(store.clone())), Some(store))
        }
        Kind::Webhook => {
            let store = store();
            // A receiver that accepts every message.
            let app = axum::Router::new().route("/hook", axum::routing::post(|| async { "ok" }));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}/hook", listener.local_addr().unwrap());
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            let approver = Webhook::new(&url, "http://console.example")
                .unwrap()
                .approver(store.clone())
                .with_poll_interval(Duration::from_millis(100));
            (Box::new(approver), Some(store))
        }
    }
}

/// A person who approves whatever appears in `store`.
fn approving_person(store: Arc<MemoryApprovalStore>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let request = first_pending(store.as_ref()).await;
        store
            .decide(&Approval::new(
                &request,
                ApprovalDecision::Approved,
                "carol",
            ))
            .await
            .unwrap();
    })
}

#[tokio::test]
async fn a_decision_binds_to_the_request() {
    for kind in KINDS {
        let (approver, store) = approver_of(kind).await;
        let person = store.map(approving_person);
        let request = request(kiro_action(), Duration::from_secs(30));
        let approval = tokio::time::timeout(Duration::from_secs(10), approver.request(&request))
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert_eq!(approval.decision, ApprovalDecision::Approved, "{kind:?}");
        assert_eq!(approval.request_id, request.id, "{kind:?}");
        assert_eq!(approval.digest, request.digest, "{kind:?}");
        assert!(approval.binds_to(&request).is_ok(), "{kind:?}");
        if let Some(person) = person {
            person.await.unwrap();
        }
    }
}

#[tokio::test]
async fn an_expired_request_never_yields_an_approval() {
    for kind in KINDS {
        let (approver, store) = approver_of(kind).await;
        let mut request = request(kiro_action(), Duration::from_secs(30));
        request.expires_at = request.requested_at;
        let person = store.clone().map(|store| {
            let request = request.clone();
            tokio::spawn(async move {
                // The person tries anyway, as soon as the request is queued.
                for _ in 0..200 {
                    if store.get(&request.id).await.unwrap().is_some() {
                        let tried = store
                            .decide(&Approval::new(
                                &request,
                                ApprovalDecision::Approved,
                                "carol",
                            ))
                            .await;
                        assert!(matches!(tried, Err(StoreError::Conflict(_))), "{tried:?}");
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
        });
        let answer = tokio::time::timeout(Duration::from_secs(10), approver.request(&request))
            .await
            .unwrap();
        match answer {
            Err(_) => {}
            Ok(approval) => {
                assert_ne!(approval.decision, ApprovalDecision::Approved, "{kind:?}");
            }
        }
        if let Some(person) = person {
            person.await.unwrap();
        }
    }
}

#[tokio::test]
async fn dropping_the_wait_leaves_nothing_to_approve_after_expiry() {
    for kind in [Kind::Console, Kind::Webhook] {
        let (approver, store) = approver_of(kind).await;
        let store = store.unwrap();
        let request = request(kiro_action(), Duration::from_millis(400));
        // The gate gives up first (its timeout drops the future).
        let waited =
            tokio::time::timeout(Duration::from_millis(100), approver.request(&request)).await;
        assert!(waited.is_err(), "{kind:?}: answered without a person");
        while !request.is_expired(Timestamp::now()) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let late = store
            .decide(&Approval::new(
                &request,
                ApprovalDecision::Approved,
                "carol",
            ))
            .await;
        assert!(
            matches!(late, Err(StoreError::Conflict(_))),
            "{kind:?}: {late:?}"
        );
        assert!(store.pending(Timestamp::now()).await.unwrap().is_empty());
    }
}
