//! Walking the chain and checking its head and signed checkpoints against it.

use ed25519_dalek::VerifyingKey;
use preflight_core::to_hex;

use super::rows::{PAGE, SELECT_RECORDS};
use super::transparency::TreeCheck;
use super::{AuditStore, Backend, on_pool};
use crate::error::AuditError;
use crate::record::{GENESIS, Hash, checkpoint_message, to_hash};
use crate::verify::{
    RawCheckpoint, RawRow, RowCheck, Tamper, VerifyReport, check_checkpoint, check_row,
    classify_unlinked,
};

impl AuditStore {
    /// Walks the whole chain and reports the first record altered, removed or reordered, and
    /// a truncated tail where the head or a signed checkpoint shows one. Signatures are
    /// checked against the store's own key when it has one.
    pub async fn verify(&self) -> Result<VerifyReport, AuditError> {
        self.verify_with_key(self.inner.verifying_key.as_ref())
            .await
    }

    /// Like [`AuditStore::verify`], checking signatures against `key` (when `None`, against
    /// the public key stored beside each checkpoint, which only shows accidental damage).
    pub async fn verify_with_key(
        &self,
        key: Option<&VerifyingKey>,
    ) -> Result<VerifyReport, AuditError> {
        let mut expected_seq: u64 = 1;
        let mut prev: Hash = GENESIS;
        let mut records: u64 = 0;
        let mut problem = None;
        let mut after = i64::MIN;
        let (mut tree, witness_problem) = TreeCheck::read(self.inner.witness.as_ref(), key)?;
        // Heads of the empty tree are met before any record.
        let mut tree_problem = witness_problem.or_else(|| tree.meet(&GENESIS));
        'walk: loop {
            let rows = self.rows_after(after, PAGE).await?;
            let Some(last) = rows.last() else { break };
            after = last.seq;
            for row in &rows {
                records += 1;
                match check_row(expected_seq, &prev, row) {
                    RowCheck::Ok(hash) => {
                        if tree_problem.is_none() {
                            tree_problem = tree.push(expected_seq, &row.body, &hash);
                        }
                        prev = hash;
                        expected_seq = expected_seq.saturating_add(1);
                    }
                    RowCheck::Problem(tamper) => {
                        problem = Some(tamper);
                        break 'walk;
                    }
                    RowCheck::Unlinked { prev: link } => {
                        let found = self.seq_with_hash(&link).await?;
                        problem = Some(classify_unlinked(row, found));
                        break 'walk;
                    }
                }
            }
        }
        let last_seq = expected_seq - 1;
        let (head_seq, head_hash, head_signature) = self.head().await?;
        if problem.is_none() {
            let head_signed = key.is_some_and(|key| {
                head_is_signed(key, head_seq, &head_hash, head_signature.as_deref())
            });
            problem = tree_problem.or_else(|| {
                tree.finish(last_seq, u64::try_from(head_seq).unwrap_or(0), head_signed)
            });
        }
        if problem.is_none() {
            problem = check_head(last_seq, &prev, head_seq, &head_hash, head_signature, key);
        }
        let checkpoints = self.checkpoints().await?;
        if problem.is_none() {
            problem = self.check_checkpoints(&checkpoints, last_seq, key).await?;
        }
        Ok(VerifyReport {
            records,
            last_seq,
            head_hash: (last_seq > 0).then(|| to_hex(&prev)),
            checkpoints: checkpoints.len() as u64,
            tree_root: to_hex(&tree.root()),
            witnessed_heads: tree.heads(),
            consistency_proofs: tree.consistency_proofs(),
            trusted_key: key.is_some(),
            problem,
        })
    }

    async fn check_checkpoints(
        &self,
        checkpoints: &[RawCheckpoint],
        last_seq: u64,
        key: Option<&VerifyingKey>,
    ) -> Result<Option<Tamper>, AuditError> {
        for checkpoint in checkpoints {
            let hash = self.hash_at(checkpoint.seq).await?;
            if let Some(tamper) = check_checkpoint(checkpoint, hash.as_deref(), last_seq, key) {
                return Ok(Some(tamper));
            }
        }
        // With the signing key at hand, every N-th record must carry a checkpoint.
        let every = self.inner.checkpoint_every;
        if key.is_some() && every > 0 {
            let mut expected = every;
            let mut present = checkpoints.iter().filter_map(|c| u64::try_from(c.seq).ok());
            let mut next = present.next();
            while expected <= last_seq {
                match next {
                    Some(seq) if seq == expected => next = present.next(),
                    Some(seq) if seq < expected => {
                        next = present.next();
                        continue;
                    }
                    _ => {
                        return Ok(Some(Tamper::BadCheckpoint {
                            seq: expected,
                            detail: "the checkpoint is missing".into(),
                        }));
                    }
                }
                expected += every;
            }
        }
        Ok(None)
    }

    async fn rows_after(&self, after: i64, limit: i64) -> Result<Vec<RawRow>, AuditError> {
        Ok(on_pool!(&self.inner.backend, pool => {
            sqlx::query_as(&format!(
                "{SELECT_RECORDS} FROM audit_records r WHERE r.seq > $1 ORDER BY r.seq LIMIT $2"
            ))
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }

    async fn seq_with_hash(&self, hash: &Hash) -> Result<Option<u64>, AuditError> {
        let seq: Option<i64> = on_pool!(&self.inner.backend, pool => {
            sqlx::query_scalar("SELECT seq FROM audit_records WHERE hash = $1 LIMIT 1")
                .bind(hash.to_vec())
                .fetch_optional(pool)
                .await?
        });
        Ok(seq.and_then(|s| u64::try_from(s).ok()))
    }

    async fn hash_at(&self, seq: i64) -> Result<Option<Vec<u8>>, AuditError> {
        Ok(on_pool!(&self.inner.backend, pool => {
            sqlx::query_scalar("SELECT hash FROM audit_records WHERE seq = $1")
                .bind(seq)
                .fetch_optional(pool)
                .await?
        }))
    }

    async fn head(&self) -> Result<(i64, Vec<u8>, Option<Vec<u8>>), AuditError> {
        let head: Option<(i64, Vec<u8>, Option<Vec<u8>>)> = on_pool!(&self.inner.backend, pool => {
            sqlx::query_as("SELECT seq, hash, signature FROM audit_head WHERE id = 1")
                .fetch_optional(pool)
                .await?
        });
        // A missing head row is itself tampering; report it as an empty head.
        Ok(head.unwrap_or((0, GENESIS.to_vec(), None)))
    }

    async fn checkpoints(&self) -> Result<Vec<RawCheckpoint>, AuditError> {
        Ok(on_pool!(&self.inner.backend, pool => {
            sqlx::query_as(
                "SELECT seq, hash, public_key, signature FROM audit_checkpoints ORDER BY seq",
            )
            .fetch_all(pool)
            .await?
        }))
    }
}

pub(super) fn check_head(
    last_seq: u64,
    last_hash: &Hash,
    head_seq: i64,
    head_hash: &[u8],
    head_signature: Option<Vec<u8>>,
    key: Option<&VerifyingKey>,
) -> Option<Tamper> {
    if let Some(key) = key {
        let signed = head_is_signed(key, head_seq, head_hash, head_signature.as_deref());
        let head_seq = u64::try_from(head_seq).unwrap_or(0);
        if !signed && head_seq > 0 {
            return Some(Tamper::BadCheckpoint {
                seq: head_seq,
                detail: "the head's signature does not verify".into(),
            });
        }
    }
    let head_seq = u64::try_from(head_seq).unwrap_or(0);
    if head_seq > last_seq {
        return Some(Tamper::Truncated {
            last_present: last_seq,
            expected: head_seq,
            evidence: "the chain's head".into(),
        });
    }
    if head_seq < last_seq {
        return Some(Tamper::Altered {
            seq: head_seq + 1,
            detail: "records follow the chain's recorded head".into(),
        });
    }
    if head_seq > 0 && head_hash != last_hash.as_slice() {
        return Some(Tamper::Altered {
            seq: head_seq,
            detail: "its hash differs from the chain's recorded head".into(),
        });
    }
    None
}

/// Whether the head row's signature is `key`'s over its sequence number and hash.
fn head_is_signed(
    key: &VerifyingKey,
    head_seq: i64,
    head_hash: &[u8],
    signature: Option<&[u8]>,
) -> bool {
    let head_seq = u64::try_from(head_seq).unwrap_or(0);
    signature
        .and_then(|s| ed25519_dalek::Signature::from_slice(s).ok())
        .zip(to_hash(head_hash))
        .is_some_and(|(signature, hash)| {
            key.verify_strict(&checkpoint_message(head_seq, &hash), &signature)
                .is_ok()
        })
}
