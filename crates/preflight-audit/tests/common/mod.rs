//! Shared test support: a fresh database per test on each backend, raw SQL for tampering, and
//! record builders.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use preflight_audit::AuditStore;
use preflight_core::{
    Action, Approval, ApprovalDecision, ApprovalRequest, AuditEvent, AuditKind, Decision, Outcome,
    Reason, ReasonKind, Timestamp, Usage, Verdict, new_id,
};
use serde_json::json;

/// The variable naming the PostgreSQL server; `scripts/postgres.sh` prints it.
pub const PG_VAR: &str = "PREFLIGHT_TEST_PG_URL";

/// A database for one test, removed (SQLite) or left for the throwaway cluster (PostgreSQL).
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

pub fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("audit.db").display());
    TestDb {
        url,
        _dir: Some(dir),
    }
}

/// The PostgreSQL server's URL, or `None` (with a message) when external tests are skipped.
///
/// `PREFLIGHT_TEST_PG_URL` when set; otherwise the server `scripts/postgres.sh` starts: the URL
/// it recorded in its cluster directory (`$PREFLIGHT_PG_DIR`, default `/tmp/preflight-pg`), or
/// the one it would print (`127.0.0.1:$PREFLIGHT_PG_PORT`, default 54329). Fails the test when
/// no server answers there, unless `PREFLIGHT_SKIP_EXTERNAL=1` asks to skip.
pub fn postgres_base() -> Option<String> {
    if let Some(url) = std::env::var(PG_VAR).ok().filter(|url| !url.is_empty()) {
        return Some(url);
    }
    if std::env::var("PREFLIGHT_SKIP_EXTERNAL").as_deref() == Ok("1") {
        eprintln!("skipped: {PG_VAR} is not set and PREFLIGHT_SKIP_EXTERNAL=1");
        return None;
    }
    let url = script_url();
    let address = url
        .rsplit_once('@')
        .map_or(url.as_str(), |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let answers = std::net::ToSocketAddrs::to_socket_addrs(&address)
        .ok()
        .and_then(|mut addresses| addresses.next())
        .is_some_and(|address| {
            std::net::TcpStream::connect_timeout(&address, Duration::from_secs(2)).is_ok()
        });
    assert!(
        answers,
        "no PostgreSQL answers at {address} ({PG_VAR} is not set): run `scripts/postgres.sh` \
         to start the test server, or set {PG_VAR} to another one (or PREFLIGHT_SKIP_EXTERNAL=1 \
         to skip these tests)"
    );
    Some(url)
}

/// The URL `scripts/postgres.sh` recorded in its cluster directory, or else the one it would
/// print with the same defaults.
fn script_url() -> String {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let dir = var("PREFLIGHT_PG_DIR").unwrap_or_else(|| "/tmp/preflight-pg".into());
    if let Ok(recorded) = std::fs::read_to_string(std::path::Path::new(&dir).join("url")) {
        let recorded = recorded.trim();
        if !recorded.is_empty() {
            return recorded.to_string();
        }
    }
    let port = var("PREFLIGHT_PG_PORT").unwrap_or_else(|| "54329".into());
    // The script names the cluster's superuser after the user running it, or `postgres`
    // when that is root.
    let user = var("USER")
        .filter(|user| user != "root")
        .unwrap_or_else(|| "postgres".into());
    format!("postgres://{user}@127.0.0.1:{port}/preflight_test")
}

/// A fresh database on the PostgreSQL server, or `None` when skipped.
#[cfg(feature = "postgres")]
pub async fn postgres() -> Option<TestDb> {
    use sqlx::Connection as _;
    let base = postgres_base()?;
    let name = format!("pf_{}", &new_id()[..20]);
    let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    Some(TestDb {
        url: format!("{prefix}/{name}"),
        _dir: None,
    })
}

/// `bytes` as a blob literal in the test database's SQL.
pub fn blob(url: &str, bytes: &[u8]) -> String {
    let hex = preflight_core::to_hex(bytes);
    if url.starts_with("sqlite:") {
        format!("X'{hex}'")
    } else {
        format!("decode('{hex}', 'hex')")
    }
}

/// Recomputes every record's chain hash over its body as stored and moves the head to the last
/// one, unsigned: what someone with write access but no signing key can do after rewriting a
/// record.
pub async fn rechain(db: &TestDb, store: &AuditStore) {
    let records = store.query(&preflight_audit::Filter::new()).await.unwrap();
    let mut prev = [0u8; 32];
    let mut sql = String::new();
    for record in &records {
        let body = serde_json::to_string(&record.event).unwrap();
        let hash = preflight_audit::chain_hash(&prev, record.seq, &body);
        sql.push_str(&format!(
            "UPDATE audit_records SET prev_hash = {}, hash = {} WHERE seq = {};",
            blob(&db.url, &prev),
            blob(&db.url, &hash),
            record.seq
        ));
        prev = hash;
    }
    sql.push_str(&format!(
        "UPDATE audit_head SET hash = {}, signature = NULL WHERE id = 1;",
        blob(&db.url, &prev)
    ));
    exec(&db.url, &sql).await;
}

/// Runs raw SQL on the test database, as someone with write access to it would.
pub async fn exec(url: &str, sql: &str) -> u64 {
    if url.starts_with("sqlite:") {
        #[cfg(feature = "sqlite")]
        {
            use sqlx::Connection as _;
            let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
            let affected = sqlx::raw_sql(sql)
                .execute(&mut conn)
                .await
                .unwrap()
                .rows_affected();
            conn.close().await.unwrap();
            return affected;
        }
    }
    #[cfg(feature = "postgres")]
    {
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        let affected = sqlx::raw_sql(sql)
            .execute(&mut conn)
            .await
            .unwrap()
            .rows_affected();
        conn.close().await.unwrap();
        return affected;
    }
    #[allow(unreachable_code)]
    {
        panic!("no backend for {url}")
    }
}

pub async fn open(db: &TestDb) -> AuditStore {
    AuditStore::builder(&db.url)
        .with_poll_interval(Duration::from_millis(50))
        .build()
        .await
        .unwrap()
}

pub fn action(agent: &str, tool: &str, n: u64) -> Action {
    Action::new(tool, json!({ "command": format!("echo {n}"), "n": n }))
        .with_agent(agent)
        .with_reasoning("a test action")
}

/// Appends `count` proposals of `agent` through Bash, numbered from 0, each with `decision`.
pub async fn append_proposals(store: &AuditStore, agent: &str, count: u64, decision: Decision) {
    use preflight_core::AuditSink as _;
    for n in 0..count {
        store
            .append(&proposal_events(agent, "Bash", n, decision))
            .await
            .unwrap();
    }
}

/// The records of one proposal through the gate: proposed, verified, and permitted or refused.
pub fn proposal_events(agent: &str, tool: &str, n: u64, decision: Decision) -> Vec<AuditEvent> {
    let action = action(agent, tool, n);
    let proposal_id: Arc<str> = new_id().into();
    let at = Timestamp(1_700_000_000_000 + n * 1_000);
    let event = |kind: AuditKind| AuditEvent {
        proposal_id: Arc::clone(&proposal_id),
        digest: action.digest(),
        at,
        agent: Some(agent.into()),
        tool: tool.into(),
        kind,
    };
    let verdict = rich_verdict(decision);
    let last = match decision {
        Decision::Allow => AuditKind::Permitted {
            permit_id: new_id().into(),
            expires_at: at.plus(Duration::from_secs(60)),
        },
        other => AuditKind::Refused {
            decision: other,
            message: verdict.summary(),
        },
    };
    vec![
        event(AuditKind::Proposed {
            action: Arc::new(action.clone()),
            inspection: None,
        }),
        event(AuditKind::Verified {
            verdict: Arc::new(verdict),
        }),
        event(last),
    ]
}

/// A verdict with parts, reasons, latency and tokens, to check that all of it round-trips.
pub fn rich_verdict(decision: Decision) -> Verdict {
    let mut rules = Verdict::new(decision, "rules", "matched prod-delete").with_rule("prod-delete");
    rules.latency_us = Some(12);
    let mut judge = Verdict::new(decision, "llm", "the command deletes a production table")
        .with_confidence(0.87)
        .with_suggestion("take a snapshot first");
    judge.latency_us = Some(850_000);
    judge.usage = Some(Usage {
        input_tokens: 1_234,
        output_tokens: 56,
        cost_usd: Some(0.0031),
    });
    let mut all = Verdict::new(decision, "stack", "");
    all.reasons = vec![Reason {
        kind: ReasonKind::Model,
        verifier: "llm".into(),
        rule: None,
        decision,
        message: "the command deletes a production table".into(),
    }];
    all.parts = vec![rules, judge];
    all.latency_us = Some(850_100);
    all
}

pub fn outcome_event(agent: &str, success: bool) -> AuditEvent {
    let action = action(agent, "Bash", 0);
    AuditEvent {
        proposal_id: new_id().into(),
        digest: action.digest(),
        at: Timestamp::now(),
        agent: Some(agent.into()),
        tool: "Bash".into(),
        kind: AuditKind::Completed {
            outcome: Outcome {
                success,
                error: (!success).then(|| "exit status 1".to_string()),
                duration_ms: 42,
            },
        },
    }
}

pub fn request(ttl: Duration) -> ApprovalRequest {
    let action = action("infra-bot", "Bash", 7);
    let now = Timestamp::now();
    ApprovalRequest {
        id: new_id(),
        proposal_id: new_id(),
        digest: action.digest(),
        action,
        inspection: None,
        verdict: Verdict::escalate("rules", "production delete needs a person"),
        requested_at: now,
        expires_at: now.plus(ttl),
    }
}

pub fn approve(request: &ApprovalRequest, who: &str) -> Approval {
    Approval::new(request, ApprovalDecision::Approved, who).with_comment("looks fine")
}

/// One test per backend for each named `async fn(&Db)`: on SQLite, and on PostgreSQL (the
/// server [`postgres_base`] finds), in a runtime of `workers` threads.
#[allow(unused_macros)]
macro_rules! on_every_backend {
    (workers = $workers:tt; $($name:ident),* $(,)?) => {
        #[cfg(feature = "sqlite")]
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = $workers)]
                async fn $name() {
                    let db = crate::common::sqlite();
                    super::$name(&db).await;
                }
            )*
        }
        #[cfg(feature = "postgres")]
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = $workers)]
                async fn $name() {
                    let Some(db) = crate::common::postgres().await else { return };
                    super::$name(&db).await;
                }
            )*
        }
    };
}
