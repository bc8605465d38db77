//! Crash test: a child process writing audited actions through the gate is killed with SIGKILL
//! mid-stream; every action it had been told was recorded is there, and the chain verifies.
// Test helpers outside #[test] functions may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Command, Stdio};

use preflight_audit::{AuditStore, Filter};
use preflight_core::{Decision, Fixed, Gate};

/// Set for the child: the store URL to write to.
const CHILD_VAR: &str = "PREFLIGHT_AUDIT_CRASH_CHILD_URL";

/// The child: 16 agents checking actions through a gate as fast as they can, each printing
/// `recorded <proposal id>` once the gate has returned (the records are then acknowledged).
/// Only does something when started by the crash tests below.
#[test]
#[ignore = "started as a child process by the crash tests"]
fn crash_child() {
    let Ok(url) = std::env::var(CHILD_VAR) else {
        eprintln!("crash_child does nothing unless started by a crash test");
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let store = AuditStore::open(&url).await.unwrap();
        let gate = Gate::builder(Fixed::new(Decision::Allow))
            .with_audit(store)
            .build()
            .unwrap();
        let mut agents = Vec::new();
        for agent in 0..16u64 {
            let gate = gate.clone();
            agents.push(tokio::spawn(async move {
                for n in 0.. {
                    let action = common::action(&format!("agent-{agent}"), "Bash", n);
                    let checked = gate.check(action).await.unwrap();
                    assert!(checked.is_allowed());
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "recorded {}", checked.proposal_id).unwrap();
                    out.flush().unwrap();
                }
            }));
        }
        for agent in agents {
            agent.await.unwrap();
        }
    });
}

/// Starts the child on `url`, kills it after `after` acknowledged actions, and returns the
/// proposal ids it had printed.
fn run_and_kill(url: &str, after: usize) -> Vec<String> {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_VAR, url)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut recorded = Vec::new();
    for line in lines.by_ref() {
        if let Some(id) = line.unwrap().strip_prefix("recorded ") {
            recorded.push(id.to_string());
            if recorded.len() >= after {
                break;
            }
        }
    }
    assert!(
        recorded.len() >= after,
        "the child stopped before {after} actions"
    );
    // SIGKILL, mid-stream: no destructor, no flush, no clean shutdown.
    child.kill().unwrap();
    // Whatever it printed before dying was acknowledged too.
    for line in lines {
        let Ok(line) = line else { break };
        if let Some(id) = line.strip_prefix("recorded ") {
            recorded.push(id.to_string());
        }
    }
    let status = child.wait().unwrap();
    assert!(!status.success(), "the child was killed");
    recorded
}

async fn check_survivors(url: &str, recorded: &[String]) {
    let store = AuditStore::open(url).await.unwrap();
    let report = store.verify().await.unwrap();
    assert!(report.is_intact(), "after the crash: {report}");
    let permitted: HashSet<String> = store
        .query(&Filter::new().with_kind("permitted"))
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.event.proposal_id.to_string())
        .collect();
    let lost: Vec<_> = recorded
        .iter()
        .filter(|id| !permitted.contains(*id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged actions lost: {lost:?}",
        lost.len()
    );
    // The store still takes records after the crash.
    let gate = Gate::builder(Fixed::new(Decision::Allow))
        .with_audit(store.clone())
        .build()
        .unwrap();
    gate.check(common::action("after", "Bash", 0))
        .await
        .unwrap();
    assert!(store.verify().await.unwrap().is_intact());
}

#[cfg(feature = "sqlite")]
#[test]
fn sigkill_loses_no_acknowledged_record_sqlite() {
    let db = common::sqlite();
    let recorded = run_and_kill(&db.url, 400);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(check_survivors(&db.url, &recorded));
}

#[cfg(feature = "postgres")]
#[test]
fn sigkill_loses_no_acknowledged_record_postgres() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(db) = runtime.block_on(common::postgres()) else {
        return;
    };
    let recorded = run_and_kill(&db.url, 400);
    runtime.block_on(check_survivors(&db.url, &recorded));
}
