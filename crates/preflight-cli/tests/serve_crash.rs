//! `preflight serve` killed with SIGKILL while decisions are in flight, and restarted on the
//! same trail: every decision a client was answered is on record, the trail verifies after
//! every restart, and no permit can be redeemed without its record.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::run;
use common::serve::{Server, start_in};
use serde_json::{Value, json};

const INFRA: &str = "infra-bot-token-0123456789abcdef";
const REPORTER: &str = "reporter-token-0123456789abcdef";

/// Requests sent at once.
const WORKERS: usize = 8;
/// How many answers each cycle waits for before the kill: the first requests, a few, many
/// (the last cycle takes the trail past the 1,000 records after which a head is witnessed).
const KILL_AFTER_ANSWERS: [usize; 4] = [1, 7, 40, 400];

/// The `n`th action, by turns allowed (with a permit), denied and escalated (refused: no
/// person is asked); each names `n` so that its records can be found.
fn action(n: u64) -> Value {
    match n % 4 {
        0 | 1 => {
            json!({"tool": "Read", "input": {"file_path": format!("/work/project/crash/{n}.txt")}})
        }
        2 => {
            json!({"tool": "Write", "input": {"file_path": format!("/etc/crash-{n}"), "content": "x"}})
        }
        _ => {
            json!({"tool": "Bash", "input": {"command": format!("rm -rf /work/project/crash-{n}")}})
        }
    }
}

/// A decision the client received.
#[derive(Debug, Clone)]
struct Answered {
    proposal_id: String,
    decision: String,
    permit_id: Option<String>,
    /// The action as verified (with its agent), for redeeming the permit.
    action: Value,
    token: &'static str,
}

/// What the clients saw during one cycle.
#[derive(Default)]
struct Seen {
    answered: Mutex<Vec<Answered>>,
    /// Permits redeemed while the service that issued them still ran.
    redeemed: Mutex<Vec<String>>,
    answers: AtomicUsize,
    /// Set just before the kill.
    killed: AtomicBool,
    /// Requests sent before the kill that got no answer: the service died under them.
    cut_off: AtomicUsize,
}

impl Seen {
    /// Counts a request that got no answer, when it was sent before the kill.
    fn no_answer(&self, sent_before_kill: bool) {
        if sent_before_kill {
            self.cut_off.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Posts `body`; `None` when the service gave no answer (it was killed).
async fn try_post(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: String,
) -> Option<(u16, Value)> {
    let response = client
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    let text = response.text().await.ok()?;
    Some((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// Sends actions until the service stops answering; redeems some of the permits at once.
async fn worker(base: String, next: Arc<AtomicU64>, seen: Arc<Seen>) {
    let client = reqwest::Client::new();
    loop {
        let n = next.fetch_add(1, Ordering::Relaxed);
        let (token, agent) = if n % 2 == 0 {
            (INFRA, "infra-bot")
        } else {
            (REPORTER, "reporter")
        };
        let mut sent = action(n);
        let url = format!("{base}/v1/verify");
        let before_kill = !seen.killed.load(Ordering::SeqCst);
        let Some((status, body)) = try_post(&client, &url, token, sent.to_string()).await else {
            seen.no_answer(before_kill);
            return;
        };
        // Anything but a decision (a 503 from a store that could not record) carries no
        // permit and needs no record; the service never answers one here.
        assert_eq!(status, 200, "{body}");
        sent["agent"] = json!({ "id": agent });
        let answered = Answered {
            proposal_id: body["proposal_id"].as_str().unwrap().to_string(),
            decision: body["verdict"]["decision"].as_str().unwrap().to_string(),
            permit_id: body["permit_id"].as_str().map(String::from),
            action: sent,
            token,
        };
        assert_eq!(answered.permit_id.is_some(), body["allowed"] == true);
        seen.answered.lock().unwrap().push(answered.clone());
        seen.answers.fetch_add(1, Ordering::Relaxed);
        if let Some(permit) = answered.permit_id.as_deref().filter(|_| n % 8 == 0) {
            let url = format!("{base}/v1/permits/{permit}/redeem");
            let redeem = json!({ "action": answered.action }).to_string();
            let before_kill = !seen.killed.load(Ordering::SeqCst);
            match try_post(&client, &url, token, redeem).await {
                Some((200, _)) => seen.redeemed.lock().unwrap().push(permit.to_string()),
                Some((status, body)) => panic!("a fresh permit was refused: {status} {body}"),
                None => {
                    seen.no_answer(before_kill);
                    return;
                }
            }
        }
    }
}

/// The trail's records, by proposal: the kinds of its records, and every permit id on record.
fn trail(audit: &str) -> (HashMap<String, Vec<Value>>, HashSet<String>) {
    let tail = run(
        &["audit", "tail", "--audit", audit, "-n", "1000000", "--json"],
        "",
        &[],
    );
    assert_eq!(tail.code, 0, "{}", tail.stderr);
    let mut by_proposal: HashMap<String, Vec<Value>> = HashMap::new();
    let mut permits = HashSet::new();
    for line in tail.stdout.lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        let event = &record["event"];
        if let Some(permit) = event["kind"]["permit_id"].as_str() {
            permits.insert(permit.to_string());
        }
        by_proposal
            .entry(event["proposal_id"].as_str().unwrap().to_string())
            .or_default()
            .push(record);
    }
    (by_proposal, permits)
}

fn kinds(records: &[Value]) -> Vec<&str> {
    records
        .iter()
        .map(|r| r["event"]["kind"]["type"].as_str().unwrap())
        .collect()
}

fn assert_verifies(audit: &str, public_key: &str, when: &str) {
    let verify = run(
        &[
            "audit",
            "verify",
            "--audit",
            audit,
            "--public-key",
            public_key,
        ],
        "",
        &[],
    );
    assert_eq!(verify.code, 0, "{when}: {}{}", verify.stdout, verify.stderr);
}

/// Every answer is on record with its verdict and, for an allow, its permit; every permit on
/// record belongs to a whole decision. Returns how many decisions are on record.
fn assert_on_record(audit: &str, answered: &[Answered]) -> usize {
    let (by_proposal, permits) = trail(audit);
    for answer in answered {
        let records = by_proposal
            .get(&answer.proposal_id)
            .unwrap_or_else(|| panic!("answered but not on record: {answer:?}"));
        let kinds = kinds(records);
        assert!(
            kinds.contains(&"proposed") && kinds.contains(&"verified"),
            "{answer:?}: {kinds:?}"
        );
        let verified = records
            .iter()
            .find(|r| r["event"]["kind"]["type"] == "verified")
            .unwrap();
        assert_eq!(
            verified["event"]["kind"]["verdict"]["decision"], answer.decision,
            "{answer:?}"
        );
        match &answer.permit_id {
            Some(permit) => assert!(permits.contains(permit), "permit not on record: {answer:?}"),
            None => assert!(kinds.contains(&"refused"), "{answer:?}: {kinds:?}"),
        }
    }
    for (proposal, records) in &by_proposal {
        let kinds = kinds(records);
        if kinds.contains(&"permitted") {
            assert!(
                kinds.contains(&"proposed") && kinds.contains(&"verified"),
                "a permit without its decision, {proposal}: {kinds:?}"
            );
        }
    }
    by_proposal.len()
}

/// Tries every permit answered before the last kill on the restarted `server`: each is
/// refused, or redeemed once and never again (each is on record: checked after the kill).
async fn settle_earlier_permits(
    server: &Server,
    answered: &[Answered],
    redeemed: &mut HashSet<String>,
) {
    let client = reqwest::Client::new();
    for earlier in answered {
        let Some(permit) = &earlier.permit_id else {
            continue;
        };
        let url = format!("{}/v1/permits/{permit}/redeem", server.base);
        let redeem = json!({ "action": earlier.action }).to_string();
        let (status, body) = try_post(&client, &url, earlier.token, redeem)
            .await
            .unwrap();
        match status {
            200 => assert!(
                redeemed.insert(permit.clone()),
                "redeemed twice: {earlier:?}"
            ),
            _ => assert_eq!(status, 409, "{body}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_killed_mid_decision_loses_no_answered_record() {
    let mut dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("audit.key");
    let made = run(
        &["audit", "keygen", "--out", key.to_str().unwrap()],
        "",
        &[],
    );
    assert_eq!(made.code, 0, "{}", made.stderr);
    let public_key = format!("{}.pub", key.display());
    let tokens = format!("infra-bot={INFRA},reporter={REPORTER}");
    let signing_key = key.to_str().unwrap().to_string();
    let env = [
        ("PREFLIGHT_AGENT_TOKENS", tokens.as_str()),
        ("PREFLIGHT_AUDIT_SIGNING_KEY", signing_key.as_str()),
    ];
    let next = Arc::new(AtomicU64::new(0));
    let mut answered: Vec<Answered> = Vec::new();
    let mut redeemed: HashSet<String> = HashSet::new();
    let mut cut_off = 0;
    let mut on_record = 0;

    for (cycle, kill_after) in KILL_AFTER_ANSWERS.into_iter().enumerate() {
        let server: Server = start_in(dir, &[], None, &env);
        let audit = server.audit.clone();
        assert_verifies(&audit, &public_key, &format!("restart {cycle}"));

        settle_earlier_permits(&server, &answered, &mut redeemed).await;

        let seen = Arc::new(Seen::default());
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                tokio::spawn(worker(
                    server.base.clone(),
                    Arc::clone(&next),
                    Arc::clone(&seen),
                ))
            })
            .collect();
        while seen.answers.load(Ordering::Relaxed) < kill_after
            && !workers.iter().all(tokio::task::JoinHandle::is_finished)
        {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        // The crash: requests are in flight, some decided and recorded but not yet answered.
        seen.killed.store(true, Ordering::SeqCst);
        dir = server.kill();
        for worker in workers {
            worker.await.unwrap();
        }
        let seen = Arc::into_inner(seen).unwrap();
        let this_cycle = seen.answered.into_inner().unwrap();
        assert!(
            this_cycle.len() >= kill_after,
            "cycle {cycle}: {} answers before the kill",
            this_cycle.len()
        );
        cut_off += seen.cut_off.into_inner();
        answered.extend(this_cycle);
        redeemed.extend(seen.redeemed.into_inner().unwrap());

        assert_verifies(&audit, &public_key, &format!("after kill {cycle}"));
        on_record = assert_on_record(&audit, &answered);
    }
    eprintln!(
        "{} answered, {cut_off} cut off, {on_record} decisions on record",
        answered.len()
    );
    // Requests were in flight at the kills, or the test shows nothing.
    assert!(cut_off > 0, "no request was in flight at any kill");
    for decision in ["allow", "deny", "escalate"] {
        assert!(
            answered.iter().any(|a| a.decision == decision),
            "no {decision} was answered"
        );
    }
    assert!(!redeemed.is_empty(), "no permit was redeemed");
    // The signed heads were witnessed while the service ran, and verified with the trail.
    let heads = std::fs::read_to_string(dir.path().join("audit.db.heads")).unwrap();
    assert!(heads.lines().count() >= 1, "no head was witnessed");

    // The last restart: the trail still verifies and every permit from before is settled.
    let server = start_in(dir, &[], None, &env);
    assert_verifies(&server.audit, &public_key, "last restart");
    settle_earlier_permits(&server, &answered, &mut redeemed).await;
}
