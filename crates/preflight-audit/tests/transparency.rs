//! The trail as a transparency log: tree heads witnessed outside the database expose a
//! truncated tail, a wiped trail, a deleted file, a chain rewritten with recomputed hashes
//! and a replayed older head, on every backend.
// Test helpers outside #[test] functions may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use std::path::{Path, PathBuf};

use common::{TestDb, blob, exec, proposal_events};
use ed25519_dalek::Signer as _;
use preflight_audit::merkle::leaf_hash;
use preflight_audit::proof::InclusionProof;
use preflight_audit::{AuditError, AuditStore, Filter, SigningKey, Tamper, TreeHead};
use preflight_core::{AuditSink, Decision, to_hex};

on_every_backend!(
    workers = 2;
    witnessed_trail_verifies_with_its_tree,
    truncation_is_named_by_the_witness,
    wipe_is_named_by_the_witness,
    rewrite_with_recomputed_hashes_forks_from_the_witness,
    replayed_signed_head_in_the_database_is_named,
    replayed_head_in_the_witness_is_named,
    forged_head_in_the_witness_fails_its_signature,
    one_shot_appends_are_witnessed_and_indexed_on_the_next_open,
    proofs_from_the_records_check_against_the_witnessed_heads,
);

fn key() -> SigningKey {
    SigningKey::from_bytes(&[9u8; 32])
}

/// A witness file of its own for each test (PostgreSQL databases have no directory).
fn witness_path() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trail.heads");
    (dir, path)
}

async fn witnessed(db: &TestDb, witness: &Path, signed: bool) -> AuditStore {
    let mut builder = AuditStore::builder(&db.url).with_witness(witness, 6);
    if signed {
        builder = builder.with_signing_key(key(), 5);
    }
    builder.build().await.unwrap()
}

async fn fill(store: &AuditStore, from: u64, proposals: u64) {
    for n in from..from + proposals {
        store
            .append(&proposal_events("infra-bot", "Bash", n, Decision::Allow))
            .await
            .unwrap();
    }
}

fn heads(witness: &Path) -> Vec<TreeHead> {
    std::fs::read_to_string(witness)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

async fn witnessed_trail_verifies_with_its_tree(db: &TestDb) {
    let (_dir, witness) = witness_path();
    let store = witnessed(db, &witness, true).await;
    fill(&store, 0, 6).await;
    store.close().await.unwrap();
    let written = heads(&witness);
    assert_eq!(written.last().map(|h| h.tree_size), Some(18));
    assert!(written.windows(2).all(|w| w[0].tree_size < w[1].tree_size));
    let public = key().verifying_key();
    assert!(written.iter().all(|h| h.is_signed_by(&public)));
    let report = store.verify().await.unwrap();
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.witnessed_heads, written.len() as u64);
    assert_eq!(report.tree_root, written[written.len() - 1].root_hash);
    // One consistency proof between each two heads of consecutive sizes.
    assert_eq!(report.consistency_proofs, written.len() as u64 - 1);
}

async fn truncation_is_named_by_the_witness(db: &TestDb) {
    let (_dir, witness) = witness_path();
    let store = witnessed(db, &witness, false).await;
    fill(&store, 0, 6).await;
    store.close().await.unwrap();
    // The last records deleted and the head row moved back to agree.
    exec(&db.url, "DELETE FROM audit_records WHERE seq > 12").await;
    exec(
        &db.url,
        "UPDATE audit_head SET seq = 12, \
         hash = (SELECT hash FROM audit_records WHERE seq = 12) WHERE id = 1",
    )
    .await;
    let report = store.verify().await.unwrap();
    assert!(
        matches!(
            &report.problem,
            Some(Tamper::Truncated { last_present: 12, expected: 18, evidence })
                if evidence.contains("witness")
        ),
        "{report}"
    );
}

async fn wipe_is_named_by_the_witness(db: &TestDb) {
    let (_dir, witness) = witness_path();
    let store = witnessed(db, &witness, false).await;
    fill(&store, 0, 4).await;
    store.close().await.unwrap();
    exec(&db.url, "DELETE FROM audit_records").await;
    exec(&db.url, "DELETE FROM audit_checkpoints").await;
    exec(
        &db.url,
        &format!(
            "UPDATE audit_head SET seq = 0, hash = {}, signature = NULL WHERE id = 1",
            blob(&db.url, &[0u8; 32])
        ),
    )
    .await;
    let report = store.verify().await.unwrap();
    assert_eq!(report.records, 0);
    assert_eq!(
        report.problem,
        Some(Tamper::Wiped { witnessed: 12 }),
        "{report}"
    );
    assert!(report.to_string().contains("wiped"), "{report}");
}

async fn rewrite_with_recomputed_hashes_forks_from_the_witness(db: &TestDb) {
    let (_dir, witness) = witness_path();
    let store = witnessed(db, &witness, false).await;
    fill(&store, 0, 4).await;
    store.close().await.unwrap();
    exec(
        &db.url,
        "UPDATE audit_records SET body = replace(body, 'echo 0', 'echo 5') WHERE seq = 1",
    )
    .await;
    common::rechain(db, &store).await;
    // The chain alone is consistent again...
    let unwitnessed = AuditStore::open(&db.url).await.unwrap();
    assert!(unwitnessed.verify().await.unwrap().is_intact());
    // ...but not with the witnessed heads, and no proof from the records leads to them.
    let witnessed = heads(&witness);
    let last = witnessed.last().unwrap();
    let proof = store.inclusion_proof(1, last.tree_size).await.unwrap();
    assert!(proof.verify() && !proof.verify_against(last));
    let proof = store
        .consistency_proof(witnessed[0].tree_size, last.tree_size)
        .await
        .unwrap();
    assert!(proof.verify() && !proof.verify_between(&witnessed[0], last));
    let first = witnessed[0].tree_size;
    let report = store.verify().await.unwrap();
    assert!(
        matches!(report.problem, Some(Tamper::Forked { tree_size, .. }) if tree_size == first),
        "{report}"
    );
}

async fn replayed_signed_head_in_the_database_is_named(db: &TestDb) {
    let (_dir, witness) = witness_path();
    let store = witnessed(db, &witness, true).await;
    fill(&store, 0, 3).await;
    store.close().await.unwrap();
    let old_head = store.tail(1).await.unwrap().remove(0);
    assert_eq!(old_head.seq, 9);
    fill(&store, 3, 3).await;
    store.close().await.unwrap();
    // Back to the state at record 9, with the head row exactly as the store signed it then.
    let hash = preflight_core::from_hex(&old_head.hash).unwrap();
    let mut message = b"preflight-audit checkpoint v1\n".to_vec();
    message.extend_from_slice(&9u64.to_be_bytes());
    message.extend_from_slice(&hash);
    let signature = key().sign(&message).to_bytes();
    exec(&db.url, "DELETE FROM audit_records WHERE seq > 9").await;
    exec(&db.url, "DELETE FROM audit_checkpoints WHERE seq > 9").await;
    exec(
        &db.url,
        &format!(
            "UPDATE audit_head SET seq = 9, hash = {}, signature = {} WHERE id = 1",
            blob(&db.url, &hash),
            blob(&db.url, &signature)
        ),
    )
    .await;
    let public = key().verifying_key();
    // Without the witness, the older state is genuinely signed and verifies.
    let unwitnessed = AuditStore::open(&db.url).await.unwrap();
    let report = unwitnessed.verify_with_key(Some(&public)).await.unwrap();
    assert!(report.is_intact(), "{report}");
    let report = store.verify_with_key(Some(&public)).await.unwrap();
    assert!(
        matches!(
            report.problem,
            Some(Tamper::ReplayedHead {
                tree_size: 9,
                witnessed: 18,
                ..
            })
        ),
        "{report}"
    );
}

async fn replayed_head_in_the_witness_is_named(db: &TestDb) {
    let (_dir, witness) = witness_path();
    // Two sessions, each closing on a witnessed head: the first head is certainly older than
    // the last (the cadence's heads are written in the background and may be skipped).
    let earlier = witnessed(db, &witness, true).await;
    fill(&earlier, 0, 2).await;
    earlier.close().await.unwrap();
    drop(earlier);
    let store = witnessed(db, &witness, true).await;
    fill(&store, 2, 2).await;
    store.close().await.unwrap();
    let text = std::fs::read_to_string(&witness).unwrap();
    let first = text.lines().next().unwrap().to_string();
    let first_size = heads(&witness)[0].tree_size;
    assert!(first_size <= 6, "first head over {first_size} records");
    std::fs::write(&witness, format!("{text}{first}\n")).unwrap();
    let report = store.verify().await.unwrap();
    assert!(
        matches!(
            &report.problem,
            Some(Tamper::ReplayedHead { tree_size, witnessed: 12, evidence })
                if *tree_size == first_size && evidence.contains("witness")
        ),
        "{report}"
    );
}

async fn forged_head_in_the_witness_fails_its_signature(db: &TestDb) {
    let (_dir, witness) = witness_path();
    let store = witnessed(db, &witness, true).await;
    fill(&store, 0, 4).await;
    store.close().await.unwrap();
    let mut written = heads(&witness);
    let last = written.last_mut().unwrap();
    last.tree_size = 13;
    let lines: String = written
        .iter()
        .map(|h| format!("{}\n", serde_json::to_string(h).unwrap()))
        .collect();
    std::fs::write(&witness, lines).unwrap();
    let report = store.verify().await.unwrap();
    assert!(
        matches!(
            report.problem,
            Some(Tamper::BadTreeHead { tree_size: 13, .. })
        ),
        "{report}"
    );
}

async fn one_shot_appends_are_witnessed_and_indexed_on_the_next_open(db: &TestDb) {
    let (_dir, witness) = witness_path();
    for n in 0..3 {
        let store = AuditStore::builder(&db.url)
            .with_signing_key(key(), 5)
            .with_witness(&witness, 1_000)
            .one_shot()
            .build()
            .await
            .unwrap();
        store
            .append(&proposal_events("hook-bot", "Bash", n, Decision::Allow))
            .await
            .unwrap();
        // Every one-shot append is witnessed before it returns.
        assert_eq!(
            heads(&witness).last().map(|h| h.tree_size),
            Some(3 * (n + 1))
        );
    }
    let store = witnessed(db, &witness, true).await;
    let report = store.verify().await.unwrap();
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.witnessed_heads, 3);
    // The key index skipped by the one-shot stores catches up on a full open.
    assert_eq!(store.index_keys().await.unwrap(), 9);
    let keyed = store
        .query(&Filter::new().with_agent("hook-bot"))
        .await
        .unwrap();
    assert_eq!(keyed.len(), 9);
}

async fn proofs_from_the_records_check_against_the_witnessed_heads(db: &TestDb) {
    let (_dir, witness) = witness_path();
    let store = witnessed(db, &witness, true).await;
    fill(&store, 0, 5).await;
    store.close().await.unwrap();
    let written = store.witnessed_heads().unwrap();
    assert_eq!(written, heads(&witness));
    let last = written.last().unwrap();
    assert_eq!(last.tree_size, 15);
    let records = store.query(&Filter::new()).await.unwrap();
    for record in &records {
        let proof = store
            .inclusion_proof(record.seq, last.tree_size)
            .await
            .unwrap();
        assert!(proof.verify_against(last), "record {}", record.seq);
        // The leaf is the record as a third party reads it from an export.
        let body = serde_json::to_string(&record.event).unwrap();
        assert_eq!(proof.leaf_hash, to_hex(&leaf_hash(record.seq, &body)));
        // As JSON, as `preflight audit prove` prints it.
        let json = serde_json::to_string(&proof).unwrap();
        let read: InclusionProof = serde_json::from_str(&json).unwrap();
        assert!(read.verify_against(last));
        // Not against another head, nor for another record.
        let mut other = proof.clone();
        other.leaf_index = (other.leaf_index + 1) % last.tree_size;
        other.seq = other.leaf_index + 1;
        assert!(!other.verify_against(last));
        assert!(!proof.verify_against(&written[0]));
    }
    for pair in written.windows(2) {
        let proof = store
            .consistency_proof(pair[0].tree_size, pair[1].tree_size)
            .await
            .unwrap();
        assert!(proof.verify_between(&pair[0], &pair[1]));
        assert!(!proof.verify_between(&pair[1], &pair[0]));
    }
    let first = &written[0];
    let proof = store
        .consistency_proof(first.tree_size, last.tree_size)
        .await
        .unwrap();
    assert!(proof.verify_between(first, last));
    // Nothing to prove outside the trail.
    for (seq, size) in [(0, 15), (16, 15), (3, 16)] {
        let asked = store.inclusion_proof(seq, size).await;
        assert!(matches!(asked, Err(AuditError::NoProof(_))), "{asked:?}");
    }
    let asked = store.consistency_proof(15, 3).await;
    assert!(matches!(asked, Err(AuditError::NoProof(_))), "{asked:?}");
    let asked = store.consistency_proof(3, 16).await;
    assert!(matches!(asked, Err(AuditError::NoProof(_))), "{asked:?}");
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_trail_is_named_by_its_witness_and_never_recreated() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("audit.db");
    let url = format!("sqlite://{}", file.display());
    let witness = dir.path().join("audit.db.heads");
    {
        let store = AuditStore::builder(&url)
            .with_witness(&witness, 6)
            .build()
            .await
            .unwrap();
        fill(&store, 0, 2).await;
        store.close().await.unwrap();
    }
    for suffix in ["", "-wal", "-shm", "-keys", "-keys-wal", "-keys-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
    let opened = AuditStore::builder(&url)
        .with_witness(&witness, 6)
        .must_exist()
        .build()
        .await;
    assert!(
        matches!(&opened, Err(AuditError::Missing(message))
            if message.contains("the trail named by the witness is missing")),
        "{opened:?}"
    );
    assert!(!file.exists(), "opening to read created the trail");
    // Without a witness it is still an error, never an empty trail reported intact.
    std::fs::remove_file(&witness).unwrap();
    let opened = AuditStore::builder(&url).must_exist().build().await;
    assert!(
        matches!(&opened, Err(AuditError::Missing(message)) if message.contains("no audit trail")),
        "{opened:?}"
    );
    assert!(!file.exists());
}
