//! SQLite: the writer has the WAL copied back into the database file while the store is open,
//! off the commit path, so the WAL does not grow without bound.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(feature = "sqlite")]

mod common;

use std::time::{Duration, Instant};

use common::{append_proposals, open};
use preflight_core::Decision;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_reach_the_database_file_while_the_store_is_open() {
    let db = common::sqlite();
    let path = db.url.trim_start_matches("sqlite://").to_string();
    let store = open(&db).await;
    let size = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let initial = size();
    // Automatic checkpoints are off: without the writer's own, the file would not grow until
    // the last connection closed.
    append_proposals(&store, "infra-bot", 64, Decision::Allow).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while size() <= initial {
        assert!(
            Instant::now() < deadline,
            "the database file stayed at {initial} bytes: the WAL was never checkpointed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        store
            .query(&preflight_audit::Filter::new())
            .await
            .unwrap()
            .len(),
        64 * 3
    );
    assert!(store.verify().await.unwrap().is_intact());
}
