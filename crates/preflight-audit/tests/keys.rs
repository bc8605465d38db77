//! SQLite's files. The key index lives in a file beside the trail (`<file>-keys`). It is
//! derived data: a missing one, or one left by another trail at the same path, is rebuilt from
//! the records. A new trail has 8 KiB pages; an older one keeps its own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(feature = "sqlite")]

mod common;

use std::time::{Duration, Instant};

use common::{append_proposals, open};
use preflight_audit::Filter;
use preflight_core::Decision;

fn remove_trail(path: &str) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{path}{suffix}"));
    }
}

async fn agent_records(store: &preflight_audit::AuditStore, agent: &str) -> usize {
    store
        .query(&Filter::new().with_agent(agent))
        .await
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_of_another_trail_at_the_same_path_are_rebuilt() {
    let db = common::sqlite();
    let path = db.url.trim_start_matches("sqlite://").to_string();
    {
        let store = open(&db).await;
        append_proposals(&store, "old-agent", 10, Decision::Allow).await;
        assert_eq!(store.index_keys().await.unwrap(), 30);
    }
    assert!(std::path::Path::new(&format!("{path}-keys")).exists());
    // A new trail at the same path; the old keys file stays, claiming 30 keyed records.
    remove_trail(&path);
    let store = open(&db).await;
    append_proposals(&store, "new-agent", 2, Decision::Allow).await;
    assert_eq!(store.index_keys().await.unwrap(), 6);
    assert_eq!(agent_records(&store, "new-agent").await, 6);
    assert_eq!(agent_records(&store, "old-agent").await, 0);
    assert!(store.verify().await.unwrap().is_intact());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_keys_file_is_rebuilt() {
    let db = common::sqlite();
    let path = db.url.trim_start_matches("sqlite://").to_string();
    {
        let store = open(&db).await;
        append_proposals(&store, "infra-bot", 5, Decision::Deny).await;
        store.index_keys().await.unwrap();
    }
    for suffix in ["-keys", "-keys-wal", "-keys-shm"] {
        let _ = std::fs::remove_file(format!("{path}{suffix}"));
    }
    let store = open(&db).await;
    // Found by scanning before the index is rebuilt, and through the index after.
    assert_eq!(agent_records(&store, "infra-bot").await, 15);
    assert_eq!(store.index_keys().await.unwrap(), 15);
    assert_eq!(agent_records(&store, "infra-bot").await, 15);
    assert_eq!(
        store
            .query(&Filter::new().with_decision(Decision::Deny))
            .await
            .unwrap()
            .len(),
        10
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_index_follows_commits_by_itself() {
    let db = common::sqlite();
    let store = open(&db).await;
    append_proposals(&store, "infra-bot", 10, Decision::Allow).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.keys_indexed().await.unwrap() < 30 {
        assert!(
            Instant::now() < deadline,
            "the key index stayed at {} of 30 records",
            store.keys_indexed().await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keys_file_of_the_earlier_layout_is_replaced() {
    use sqlx::Connection as _;
    let db = common::sqlite();
    let path = db.url.trim_start_matches("sqlite://").to_string();
    let keys_url = format!("sqlite://{path}-keys");
    {
        let store = open(&db).await;
        append_proposals(&store, "infra-bot", 10, Decision::Allow).await;
        let head = store.tail(1).await.unwrap().remove(0);
        drop(store);
        // One row per record and key, and a state row claiming every record: what the
        // earlier layout left behind, with no keys in it.
        let mut keys = sqlx::SqliteConnection::connect(&keys_url).await.unwrap();
        sqlx::raw_sql(
            "DROP TABLE audit_key_runs; DROP TABLE audit_key_runs_state;
             CREATE TABLE audit_keys (field INTEGER NOT NULL, value TEXT NOT NULL,
                 seq INTEGER NOT NULL, PRIMARY KEY (field, value, seq)) WITHOUT ROWID;
             CREATE TABLE audit_keys_state (id INTEGER PRIMARY KEY, keyed INTEGER NOT NULL,
                 hash BLOB NOT NULL);",
        )
        .execute(&mut keys)
        .await
        .unwrap();
        sqlx::query("INSERT INTO audit_keys_state (id, keyed, hash) VALUES (1, 30, unhex($1))")
            .bind(&head.hash)
            .execute(&mut keys)
            .await
            .unwrap();
        keys.close().await.unwrap();
    }
    let store = open(&db).await;
    assert_eq!(agent_records(&store, "infra-bot").await, 30);
    assert_eq!(store.index_keys().await.unwrap(), 30);
    assert_eq!(agent_records(&store, "infra-bot").await, 30);
    let mut keys = sqlx::SqliteConnection::connect(&keys_url).await.unwrap();
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(&mut keys)
            .await
            .unwrap();
    assert_eq!(tables, ["audit_key_runs", "audit_key_runs_state"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_trail_has_8_kib_pages_and_an_older_one_keeps_its_own() {
    use sqlx::Connection as _;
    async fn page_size(url: &str) -> (i64, String) {
        let mut connection = sqlx::SqliteConnection::connect(url).await.unwrap();
        let size = sqlx::query_scalar("PRAGMA page_size")
            .fetch_one(&mut connection)
            .await
            .unwrap();
        let mode = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut connection)
            .await
            .unwrap();
        (size, mode)
    }
    let db = common::sqlite();
    {
        let store = open(&db).await;
        append_proposals(&store, "infra-bot", 2, Decision::Allow).await;
    }
    assert_eq!(page_size(&db.url).await, (8192, "wal".to_owned()));

    // A trail created with 4 KiB pages before.
    let older = common::sqlite();
    {
        let options = older
            .url
            .parse::<sqlx::sqlite::SqliteConnectOptions>()
            .unwrap();
        let mut connection =
            sqlx::SqliteConnection::connect_with(&options.create_if_missing(true).page_size(4096))
                .await
                .unwrap();
        sqlx::query("CREATE TABLE placeholder (id INTEGER)")
            .execute(&mut connection)
            .await
            .unwrap();
        connection.close().await.unwrap();
    }
    {
        let store = open(&older).await;
        append_proposals(&store, "infra-bot", 2, Decision::Allow).await;
        assert!(store.verify().await.unwrap().is_intact());
    }
    assert_eq!(page_size(&older.url).await, (4096, "wal".to_owned()));
}
