//! One conformance suite, every backend: the same checks run on SQLite and on PostgreSQL.
//!
//! PostgreSQL needs `eval "$(scripts/postgres.sh)"` first (see the crate README).
// Test helpers outside #[test] functions may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use common::{TestDb, exec, open, proposal_events};
use preflight_audit::{AuditStore, Filter, SigningKey, Tamper};
use preflight_core::{
    ApprovalDecision, ApprovalStatus, ApprovalStore, AuditSink, Decision, Fixed, FleetLimits, Gate,
    QueueChange, StoreError, Timestamp,
};

on_every_backend!(
    workers = 4;
    records_round_trip_in_order,
    queries_filter_by_agent_tool_decision_and_time,
    keyed_queries_agree_however_far_the_key_index_has_come,
    export_is_otel_json_lines,
    concurrent_appends_stay_whole_and_chained,
    gate_records_before_the_permit,
    failed_batch_keeps_nothing_and_the_writer_recovers,
    stores_sharing_a_database_take_turns_on_the_chain,
    edited_field_is_located,
    edited_column_is_located,
    deleted_record_is_located,
    swapped_records_are_located,
    truncated_tail_is_detected_by_the_head,
    truncated_tail_with_forged_head_is_detected_by_signature,
    rewritten_chain_is_detected_by_signed_checkpoints,
    deleted_checkpoint_is_detected,
    approval_queue_contract,
    approval_changes_reach_other_instances,
    racing_decisions_admit_one,
    fleet_limit_holds_for_64_racing_agents,
    fleet_limit_window_slides,
);

async fn fill(store: &AuditStore, proposals: u64) -> Vec<preflight_core::AuditEvent> {
    let mut all = Vec::new();
    for n in 0..proposals {
        let decision = if n % 2 == 0 {
            Decision::Allow
        } else {
            Decision::Deny
        };
        let events = proposal_events("infra-bot", "Bash", n, decision);
        store.append(&events).await.unwrap();
        all.extend(events);
    }
    all
}

async fn records_round_trip_in_order(db: &TestDb) {
    let store = open(db).await;
    assert!(store.verify().await.unwrap().is_intact());
    store.append(&[]).await.unwrap();
    let written = fill(&store, 4).await;
    let outcome = common::outcome_event("infra-bot", false);
    store.append(std::slice::from_ref(&outcome)).await.unwrap();

    let all = store.query(&Filter::new()).await.unwrap();
    let read: Vec<_> = all.iter().map(|r| r.event.clone()).collect();
    let mut expected = written.clone();
    expected.push(outcome);
    assert_eq!(read, expected, "records come back exactly, in order");
    let seqs: Vec<u64> = all.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=13).collect::<Vec<_>>());
    for pair in all.windows(2) {
        assert_eq!(
            pair[1].prev_hash, pair[0].hash,
            "each record commits to the previous"
        );
    }

    let tail = store.tail(3).await.unwrap();
    assert_eq!(
        tail.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![11, 12, 13]
    );
    assert_eq!(store.tail(100).await.unwrap().len(), 13);

    // Reopening finds the same chain and goes on from its head.
    drop(store);
    let store = open(db).await;
    fill(&store, 1).await;
    let report = store.verify().await.unwrap();
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.records, 16);
}

async fn queries_filter_by_agent_tool_decision_and_time(db: &TestDb) {
    let store = open(db).await;
    let mut written = Vec::new();
    for (n, (agent, tool, decision)) in [
        ("infra-bot", "Bash", Decision::Allow),
        ("infra-bot", "aws.api", Decision::Deny),
        ("coder", "Bash", Decision::Escalate),
        ("coder", "sql", Decision::Allow),
        ("infra-bot", "Bash", Decision::Deny),
    ]
    .into_iter()
    .enumerate()
    {
        let events = proposal_events(agent, tool, n as u64, decision);
        store.append(&events).await.unwrap();
        written.extend(events);
    }
    let all = store.query(&Filter::new()).await.unwrap();
    let filters = [
        Filter::new().with_agent("infra-bot"),
        Filter::new().with_tool("Bash"),
        Filter::new().with_decision(Decision::Deny),
        Filter::new()
            .with_decision(Decision::Allow)
            .with_agent("coder"),
        Filter::new().with_kind("verified"),
        Filter::new().with_proposal(written[3].proposal_id.to_string()),
        Filter::new()
            .since(Timestamp(1_700_000_001_000))
            .until(Timestamp(1_700_000_003_000)),
        Filter::new().with_agent("nobody"),
        Filter::new().with_tool("Bash").with_limit(2),
    ];
    for filter in filters {
        let got = store.query(&filter).await.unwrap();
        let mut want: Vec<_> = all.iter().filter(|r| filter.matches(r)).cloned().collect();
        if let Some(limit) = filter.limit {
            want.truncate(limit);
        }
        assert_eq!(got, want, "filter {filter:?}");
    }
    // Spot checks that the filters select what they say.
    let denies = store
        .query(&Filter::new().with_decision(Decision::Deny))
        .await
        .unwrap();
    assert_eq!(
        denies.len(),
        4,
        "a verified and a refused record per denied proposal"
    );
    let window = store
        .query(
            &Filter::new()
                .since(Timestamp(1_700_000_001_000))
                .until(Timestamp(1_700_000_003_000)),
        )
        .await
        .unwrap();
    assert_eq!(window.len(), 6);
    assert!(window.iter().all(|r| r.event.agent.is_some()));
}

/// Every filter, with and without limits and paging, answers the same as testing each record,
/// whether the key index covers none, some or all of the records.
async fn keyed_queries_agree_however_far_the_key_index_has_come(db: &TestDb) {
    let store = open(db).await;
    let agents = ["infra-bot", "coder", "reviewer"];
    let tools = ["Bash", "sql", "aws.api"];
    let decisions = [Decision::Allow, Decision::Deny, Decision::Escalate];
    let mut n = 0u64;
    let mut append_some = async |count: u64| {
        for _ in 0..count {
            let events = proposal_events(
                agents[(n % 3) as usize],
                tools[(n / 3 % 3) as usize],
                n,
                decisions[(n / 2 % 3) as usize],
            );
            store.append(&events).await.unwrap();
            n += 1;
        }
    };
    let filters = [
        Filter::new().with_agent("coder"),
        Filter::new().with_tool("aws.api"),
        Filter::new().with_decision(Decision::Deny),
        Filter::new().with_agent("infra-bot").with_tool("sql"),
        Filter::new()
            .with_decision(Decision::Allow)
            .with_kind("permitted"),
        Filter::new()
            .with_agent("reviewer")
            .since(Timestamp(1_700_000_010_000)),
        Filter::new().with_agent("nobody"),
        Filter::new().with_agent("coder").with_limit(4),
        Filter::new().with_tool("Bash").with_limit(1_000),
    ];
    let check = async |stage: &str| {
        let all = store.query(&Filter::new()).await.unwrap();
        for filter in &filters {
            let mut want: Vec<_> = all.iter().filter(|r| filter.matches(r)).cloned().collect();
            if let Some(limit) = filter.limit {
                want.truncate(limit);
            }
            let got = store.query(filter).await.unwrap();
            assert_eq!(got, want, "{stage}: filter {filter:?}");
            // Paging three at a time crosses from keyed records to scanned ones.
            let mut paged = Vec::new();
            let mut page = filter.clone().with_limit(3);
            page.after_seq = None;
            loop {
                let got = store.query(&page).await.unwrap();
                let Some(last) = got.last() else { break };
                page.after_seq = Some(last.seq);
                paged.extend(got);
            }
            let unlimited: Vec<_> = all.iter().filter(|r| filter.matches(r)).cloned().collect();
            assert_eq!(paged, unlimited, "{stage}: paging filter {filter:?}");
        }
    };
    append_some(20).await;
    check("not yet keyed (or partly)").await;
    assert_eq!(store.index_keys().await.unwrap(), 60, "every record keyed");
    check("all keyed").await;
    append_some(25).await;
    check("keyed, then more").await;
    assert_eq!(store.index_keys().await.unwrap(), 135);
    check("all keyed again").await;
}

async fn export_is_otel_json_lines(db: &TestDb) {
    let store = open(db).await;
    fill(&store, 3).await;
    let mut out = Vec::new();
    let count = store.export_jsonl(&mut out, &Filter::new()).await.unwrap();
    assert_eq!(count, 9);
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 9);
    assert_eq!(lines[0]["event_name"], "preflight.proposed");
    assert_eq!(lines[0]["time_unix_nano"], "1700000000000000000");
    assert_eq!(lines[0]["attributes"]["gen_ai.agent.id"], "infra-bot");
    assert_eq!(lines[0]["attributes"]["gen_ai.tool.name"], "Bash");
    assert_eq!(lines[0]["attributes"]["preflight.audit.seq"], 1);
    assert_eq!(lines[1]["attributes"]["preflight.decision"], "allow");
    assert_eq!(
        lines[1]["body"]["verdict"]["parts"][1]["usage"]["input_tokens"],
        1234
    );
    assert_eq!(lines[5]["severity_text"], "WARN");
    assert_eq!(lines[5]["body"]["type"], "refused");

    let mut limited = Vec::new();
    let count = store
        .export_jsonl(
            &mut limited,
            &Filter::new().with_kind("refused").with_limit(5),
        )
        .await
        .unwrap();
    assert_eq!(count, 1);
}

async fn concurrent_appends_stay_whole_and_chained(db: &TestDb) {
    let store = open(db).await;
    let mut tasks = Vec::new();
    for agent in 0..64u64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..8u64 {
                let events = proposal_events(&format!("agent-{agent}"), "Bash", n, Decision::Allow);
                store.append(&events[..1 + (n % 3) as usize]).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let report = store.verify().await.unwrap();
    assert!(report.is_intact(), "{report}");
    let expected: u64 = 64 * (0..8u64).map(|n| 1 + n % 3).sum::<u64>();
    assert_eq!(report.records, expected);
    // Each append's records are adjacent: all-or-nothing, never interleaved.
    let all = store.query(&Filter::new()).await.unwrap();
    let mut seqs: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for record in &all {
        seqs.entry(record.event.proposal_id.to_string())
            .or_default()
            .push(record.seq);
    }
    assert_eq!(seqs.len(), 64 * 8);
    for run in seqs.values() {
        assert!(
            run.windows(2).all(|w| w[1] == w[0] + 1),
            "interleaved: {run:?}"
        );
    }
}

async fn gate_records_before_the_permit(db: &TestDb) {
    let store = open(db).await;
    let gate = Gate::builder(Fixed::new(Decision::Allow))
        .with_audit(store.clone())
        .build()
        .unwrap();
    let checked = gate.check(common::action("a", "Bash", 1)).await.unwrap();
    assert!(checked.is_allowed());
    // The moment check returns, the permit's record is in the database.
    let records = store
        .query(&Filter::new().with_proposal(checked.proposal_id.to_string()))
        .await
        .unwrap();
    let kinds: Vec<_> = records.iter().map(|r| r.event.kind.type_name()).collect();
    assert_eq!(kinds, ["proposed", "verified", "permitted"]);

    let deny = Gate::builder(Fixed::new(Decision::Deny))
        .with_audit(store.clone())
        .build()
        .unwrap();
    let refused = deny.check(common::action("a", "Bash", 2)).await.unwrap();
    assert!(!refused.is_allowed());
    let last = store.tail(1).await.unwrap();
    assert_eq!(last[0].event.kind.type_name(), "refused");
    assert_eq!(last[0].decision, Some(Decision::Deny));
}

async fn failed_batch_keeps_nothing_and_the_writer_recovers(db: &TestDb) {
    let store = open(db).await;
    fill(&store, 4).await;
    // A stray record where the next batch would start: its insert fails, both onto the head
    // the writer remembers and onto the head as stored.
    exec(
        &db.url,
        "INSERT INTO audit_records (seq, at_ms, proposal_id, digest, agent, tool, kind, \
         decision, body, prev_hash, hash) SELECT 13, at_ms, proposal_id, digest, agent, tool, \
         kind, decision, body, prev_hash, hash FROM audit_records WHERE seq = 12",
    )
    .await;
    let events = proposal_events("infra-bot", "Bash", 100, Decision::Allow);
    let error = store.append(&events).await.unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error}");
    assert_eq!(store.query(&Filter::new()).await.unwrap().len(), 13);
    // Without it, the writer takes a fresh connection and commits again.
    exec(&db.url, "DELETE FROM audit_records WHERE seq = 13").await;
    store.append(&events).await.unwrap();
    assert_eq!(store.query(&Filter::new()).await.unwrap().len(), 15);
    assert!(store.verify().await.unwrap().is_intact());
}

async fn stores_sharing_a_database_take_turns_on_the_chain(db: &TestDb) {
    // Two stores on one database stand for two processes: each writer's idea of the head
    // goes stale whenever the other commits.
    let stores = [open(db).await, open(db).await];
    let mut tasks = Vec::new();
    for agent in 0..16u64 {
        let store = stores[usize::try_from(agent % 2).unwrap()].clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..10u64 {
                let events = proposal_events(&format!("agent-{agent}"), "Bash", n, Decision::Allow);
                store.append(&events).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    for store in &stores {
        let report = store.verify().await.unwrap();
        assert!(report.is_intact(), "{report}");
        assert_eq!(report.records, 16 * 10 * 3);
    }
}

async fn edited_field_is_located(db: &TestDb) {
    let store = open(db).await;
    fill(&store, 6).await;
    let changed = exec(
        &db.url,
        "UPDATE audit_records SET body = replace(body, 'echo 2', 'echo 9') WHERE seq = 7",
    )
    .await;
    assert_eq!(changed, 1);
    let report = store.verify().await.unwrap();
    match report.problem {
        Some(Tamper::Altered { seq: 7, .. }) => {}
        other => panic!("expected record 7 altered, got {other:?}"),
    }
}

async fn edited_column_is_located(db: &TestDb) {
    let store = open(db).await;
    fill(&store, 6).await;
    // Hiding a denial from queries by editing only the indexed column.
    exec(
        &db.url,
        "UPDATE audit_records SET decision = 'allow' WHERE seq = 6",
    )
    .await;
    let report = store.verify().await.unwrap();
    match &report.problem {
        Some(Tamper::Altered { seq: 6, detail }) => {
            assert!(detail.contains("decision"), "{detail}")
        }
        other => panic!("expected record 6 altered, got {other:?}"),
    }
}

async fn deleted_record_is_located(db: &TestDb) {
    let store = open(db).await;
    fill(&store, 6).await;
    exec(&db.url, "DELETE FROM audit_records WHERE seq = 5").await;
    let report = store.verify().await.unwrap();
    assert_eq!(
        report.problem,
        Some(Tamper::Removed {
            seq: 5,
            next_present: 6
        })
    );
    // Removing a record and renumbering the rest still breaks the chain at that place.
    let renumber: String = (6..=18)
        .map(|s| format!("UPDATE audit_records SET seq = {} WHERE seq = {s};", s - 1))
        .collect();
    exec(&db.url, &renumber).await;
    let report = store.verify().await.unwrap();
    assert_eq!(report.problem, Some(Tamper::BrokenLink { seq: 5 }));
}

async fn swapped_records_are_located(db: &TestDb) {
    let store = open(db).await;
    fill(&store, 6).await;
    exec(
        &db.url,
        "UPDATE audit_records SET seq = -1 WHERE seq = 8; \
         UPDATE audit_records SET seq = 8 WHERE seq = 9; \
         UPDATE audit_records SET seq = 9 WHERE seq = -1;",
    )
    .await;
    let report = store.verify().await.unwrap();
    assert_eq!(
        report.problem,
        Some(Tamper::Reordered {
            seq: 8,
            links_to: 9
        })
    );
}

async fn truncated_tail_is_detected_by_the_head(db: &TestDb) {
    let store = open(db).await;
    fill(&store, 6).await;
    exec(&db.url, "DELETE FROM audit_records WHERE seq > 12").await;
    let report = store.verify().await.unwrap();
    assert_eq!(
        report.problem.as_ref().map(Tamper::seq),
        Some(13),
        "{report}"
    );
    assert!(
        matches!(
            report.problem,
            Some(Tamper::Truncated {
                last_present: 12,
                expected: 18,
                ..
            })
        ),
        "{report}"
    );
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

async fn signed(db: &TestDb) -> AuditStore {
    AuditStore::builder(&db.url)
        .with_signing_key(key(), 5)
        .build()
        .await
        .unwrap()
}

async fn truncated_tail_with_forged_head_is_detected_by_signature(db: &TestDb) {
    let store = signed(db).await;
    fill(&store, 6).await;
    assert!(store.verify().await.unwrap().is_intact());
    // Cut the tail and make the head agree, without the key.
    exec(&db.url, "DELETE FROM audit_records WHERE seq > 12").await;
    exec(
        &db.url,
        "UPDATE audit_head SET seq = 12, \
         hash = (SELECT hash FROM audit_records WHERE seq = 12) WHERE id = 1",
    )
    .await;
    exec(&db.url, "DELETE FROM audit_checkpoints WHERE seq > 12").await;
    let report = store.verify().await.unwrap();
    assert!(
        matches!(report.problem, Some(Tamper::BadCheckpoint { seq: 12, .. })),
        "{report}"
    );
    // A verifier that holds only the public key sees the same.
    let public = key().verifying_key();
    let report = open(db).await.verify_with_key(Some(&public)).await.unwrap();
    assert!(!report.is_intact());
}

async fn rewritten_chain_is_detected_by_signed_checkpoints(db: &TestDb) {
    let store = signed(db).await;
    fill(&store, 4).await;
    // Rewrite record 3 and recompute every later hash and the head, as someone with write
    // access but without the signing key could.
    exec(
        &db.url,
        "UPDATE audit_records SET body = replace(body, 'echo 0', 'echo 5') WHERE seq = 1",
    )
    .await;
    common::rechain(db, &store).await;
    // Without a key the rewrite is self-consistent...
    let unkeyed = open(db).await;
    exec(&db.url, "DELETE FROM audit_checkpoints").await;
    assert!(unkeyed.verify().await.unwrap().is_intact());
    // ...but the signed head and checkpoints expose it.
    let report = store.verify().await.unwrap();
    assert!(!report.is_intact(), "{report}");
}

async fn deleted_checkpoint_is_detected(db: &TestDb) {
    let store = signed(db).await;
    fill(&store, 6).await;
    let report = store.verify().await.unwrap();
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.checkpoints, 3);
    exec(&db.url, "DELETE FROM audit_checkpoints WHERE seq = 10").await;
    let report = store.verify().await.unwrap();
    assert!(
        matches!(report.problem, Some(Tamper::BadCheckpoint { seq: 10, .. })),
        "{report}"
    );
}

async fn approval_queue_contract(db: &TestDb) {
    let store = open(db).await;
    let first = common::request(Duration::from_secs(600));
    let mut second = common::request(Duration::from_secs(600));
    second.requested_at = Timestamp(first.requested_at.0 + 1);
    let expired = common::request(Duration::from_millis(0));
    store.enqueue(&first).await.unwrap();
    store.enqueue(&second).await.unwrap();
    store.enqueue(&expired).await.unwrap();
    assert!(matches!(
        store.enqueue(&first).await,
        Err(StoreError::Conflict(_))
    ));

    let pending = store.pending(Timestamp::now()).await.unwrap();
    let ids: Vec<_> = pending.iter().map(|q| q.request.id.clone()).collect();
    assert_eq!(
        ids,
        vec![first.id.clone(), second.id.clone()],
        "oldest first, expired left out"
    );
    assert_eq!(pending[0].request, first, "the request round-trips");

    let got = store.get(&expired.id).await.unwrap().unwrap();
    assert_eq!(got.status, ApprovalStatus::Expired);
    assert!(matches!(
        store.decide(&common::approve(&expired, "alice")).await,
        Err(StoreError::Conflict(_))
    ));

    // A decision for another action (digest differs) is refused.
    let mut wrong = common::approve(&first, "alice");
    wrong.digest = second.digest;
    wrong.digest.0[0] ^= 1;
    assert!(matches!(
        store.decide(&wrong).await,
        Err(StoreError::Conflict(_))
    ));

    let decided = store
        .decide(&common::approve(&first, "alice"))
        .await
        .unwrap();
    assert_eq!(decided.status, ApprovalStatus::Approved);
    let again = store.decide(&common::approve(&first, "bob")).await;
    assert!(
        matches!(again, Err(StoreError::Conflict(_))),
        "decided once"
    );
    let got = store.get(&first.id).await.unwrap().unwrap();
    assert_eq!(got.status, ApprovalStatus::Approved);
    assert_eq!(got.approval.unwrap().approver, "alice");

    let denial = preflight_core::Approval::new(&second, ApprovalDecision::Denied, "carol");
    assert_eq!(
        store.decide(&denial).await.unwrap().status,
        ApprovalStatus::Denied
    );
    assert!(store.pending(Timestamp::now()).await.unwrap().is_empty());
    assert!(store.get("no-such-request").await.unwrap().is_none());

    let history = store.history(10).await.unwrap();
    let statuses: HashSet<_> = history.iter().map(|q| q.status).collect();
    assert_eq!(history.len(), 3);
    assert_eq!(
        statuses,
        HashSet::from([
            ApprovalStatus::Approved,
            ApprovalStatus::Denied,
            ApprovalStatus::Expired
        ])
    );
    assert_eq!(store.history(1).await.unwrap().len(), 1);
}

async fn next_change(rx: &mut tokio::sync::broadcast::Receiver<QueueChange>) -> QueueChange {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("no queue change arrived")
        .unwrap()
}

async fn approval_changes_reach_other_instances(db: &TestDb) {
    let console = open(db).await;
    let agent_side = open(db).await;
    let mut changes = console.subscribe();
    let request = common::request(Duration::from_secs(600));
    agent_side.enqueue(&request).await.unwrap();
    assert_eq!(
        next_change(&mut changes).await,
        QueueChange::Enqueued {
            id: request.id.clone()
        }
    );
    // Subscribed late: the instance may still hear of the enqueue it made itself.
    let mut agent_changes = agent_side.subscribe();
    console
        .decide(&common::approve(&request, "alice"))
        .await
        .unwrap();
    let decided = QueueChange::Decided {
        id: request.id.clone(),
    };
    let mut heard = next_change(&mut agent_changes).await;
    if heard != decided {
        assert_eq!(
            heard,
            QueueChange::Enqueued {
                id: request.id.clone()
            }
        );
        heard = next_change(&mut agent_changes).await;
    }
    assert_eq!(heard, decided);
    assert_eq!(
        next_change(&mut changes).await,
        QueueChange::Decided { id: request.id }
    );
}

async fn racing_decisions_admit_one(db: &TestDb) {
    let a = open(db).await;
    let b = open(db).await;
    let request = common::request(Duration::from_secs(600));
    a.enqueue(&request).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        let approval = common::approve(&request, &format!("person-{i}"));
        tasks.push(tokio::spawn(async move { store.decide(&approval).await }));
    }
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => won += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    assert_eq!(won, 1);
}

async fn fleet_limit_holds_for_64_racing_agents(db: &TestDb) {
    let instances = [Arc::new(open(db).await), Arc::new(open(db).await)];
    let now = Timestamp::now();
    let barrier = Arc::new(tokio::sync::Barrier::new(64));
    let mut tasks = Vec::new();
    for agent in 0..64 {
        let store = Arc::clone(&instances[agent % 2]);
        let barrier = Arc::clone(&barrier);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            store
                .try_acquire("prod-delete", 3, Duration::from_secs(3600), now)
                .await
                .unwrap()
        }));
    }
    let mut admitted = 0;
    for task in tasks {
        if task.await.unwrap() {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 3, "exactly 3 of 64 racing agents admitted");
    // Another key is counted apart.
    assert!(
        instances[0]
            .try_acquire("staging-delete", 3, Duration::from_secs(3600), now)
            .await
            .unwrap()
    );
}

async fn fleet_limit_window_slides(db: &TestDb) {
    let store = open(db).await;
    let hour = Duration::from_secs(3600);
    let t0 = Timestamp(1_800_000_000_000);
    let at = |ms: u64| Timestamp(t0.0 + ms);
    assert!(store.try_acquire("k", 2, hour, at(0)).await.unwrap());
    assert!(store.try_acquire("k", 2, hour, at(1_000)).await.unwrap());
    assert!(!store.try_acquire("k", 2, hour, at(2_000)).await.unwrap());
    assert!(
        store
            .try_acquire("k", 2, hour, at(3_600_000))
            .await
            .unwrap()
    );
    assert!(
        !store
            .try_acquire("k", 2, hour, at(3_600_500))
            .await
            .unwrap()
    );
    assert!(
        store
            .try_acquire("k", 2, hour, at(3_601_001))
            .await
            .unwrap()
    );
    assert!(
        !store
            .try_acquire("k", 0, hour, at(9_999_999_999))
            .await
            .unwrap()
    );
}
