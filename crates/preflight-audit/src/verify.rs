//! Walking the chain: what `verify` checks and how it names what it finds.

use std::fmt;

use ed25519_dalek::{Signature, VerifyingKey};
use preflight_core::{AuditEvent, to_hex};
use serde::Serialize;

use crate::record::{Hash, Prepared, chain_hash, checkpoint_message, to_hash};

/// A record row as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct RawRow {
    pub seq: i64,
    pub at_ms: i64,
    pub proposal_id: String,
    pub digest: String,
    pub agent: Option<String>,
    pub tool: String,
    pub kind: String,
    pub decision: Option<String>,
    pub body: String,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

/// A checkpoint row as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct RawCheckpoint {
    pub seq: i64,
    pub hash: Vec<u8>,
    pub public_key: Vec<u8>,
    pub signature: Vec<u8>,
}

/// What `verify` found wrong, located at the first record concerned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Tamper {
    /// The record's content, hash or indexed columns were changed after it was written.
    Altered {
        /// The record.
        seq: u64,
        /// What does not match.
        detail: String,
    },
    /// The record is missing: the sequence jumps over it.
    Removed {
        /// The first missing record.
        seq: u64,
        /// The next record present.
        next_present: u64,
    },
    /// The record sits at the wrong place: it links to a record that is elsewhere in the trail.
    Reordered {
        /// Where the misplaced record was found.
        seq: u64,
        /// Where the record it links to sits now.
        links_to: u64,
    },
    /// The record does not link to the one before it: that one was rewritten (and its hash
    /// recomputed), or records between them were removed and the rest renumbered.
    BrokenLink {
        /// The record whose link is broken.
        seq: u64,
    },
    /// Records at the end are missing: the trail ends before a signed checkpoint or the head.
    Truncated {
        /// The last record present (0 when none is).
        last_present: u64,
        /// The trail reached at least this record.
        expected: u64,
        /// What proves it (a signed checkpoint, the head row).
        evidence: String,
    },
    /// Every record is gone while the witness holds a tree head over some.
    Wiped {
        /// The largest tree size the witness holds.
        witnessed: u64,
    },
    /// The records do not match a witnessed tree head of their size: they were rewritten,
    /// hashes recomputed, after the head was witnessed (or the witness holds two heads of one
    /// size).
    Forked {
        /// The size of the head that does not match.
        tree_size: u64,
        /// What does not match.
        detail: String,
    },
    /// An older head is presented as the latest: a head of `tree_size` records where one of
    /// `witnessed` records was already witnessed.
    ReplayedHead {
        /// The size of the older head.
        tree_size: u64,
        /// The larger size already witnessed.
        witnessed: u64,
        /// Where the older head was presented.
        evidence: String,
    },
    /// A witnessed tree head is unreadable, or its signature does not verify.
    BadTreeHead {
        /// The head's tree size (0 when unreadable).
        tree_size: u64,
        /// What is wrong.
        detail: String,
    },
    /// A checkpoint's signature does not verify, or it disagrees with the record it signs.
    BadCheckpoint {
        /// The record the checkpoint is for.
        seq: u64,
        /// What is wrong.
        detail: String,
    },
}

impl Tamper {
    /// The sequence number of the record the problem is located at.
    pub fn seq(&self) -> u64 {
        match self {
            Tamper::Altered { seq, .. }
            | Tamper::Removed { seq, .. }
            | Tamper::Reordered { seq, .. }
            | Tamper::BrokenLink { seq }
            | Tamper::BadCheckpoint { seq, .. } => *seq,
            Tamper::Truncated { last_present, .. } => last_present + 1,
            Tamper::Wiped { .. } => 1,
            Tamper::Forked { tree_size, .. } | Tamper::BadTreeHead { tree_size, .. } => *tree_size,
            Tamper::ReplayedHead { tree_size, .. } => tree_size + 1,
        }
    }
}

impl fmt::Display for Tamper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tamper::Altered { seq, detail } => write!(f, "record {seq} was altered: {detail}"),
            Tamper::Removed { seq, next_present } => {
                if *next_present == seq + 1 {
                    write!(f, "record {seq} was removed")
                } else {
                    write!(f, "records {seq} to {} were removed", next_present - 1)
                }
            }
            Tamper::Reordered { seq, links_to } => write!(
                f,
                "record {seq} is out of order: it follows the record now at {links_to}"
            ),
            Tamper::BrokenLink { seq } => write!(
                f,
                "record {seq} does not follow record {}: that record was rewritten, or records \
                 between them were removed",
                seq.saturating_sub(1)
            ),
            Tamper::Truncated {
                last_present,
                expected,
                evidence,
            } => write!(
                f,
                "the trail was truncated: it ends at record {last_present} but {evidence} \
                 shows record {expected}"
            ),
            Tamper::Wiped { witnessed } => write!(
                f,
                "the trail was wiped: it holds no record but the witness shows {witnessed}"
            ),
            Tamper::Forked { tree_size, detail } => {
                write!(
                    f,
                    "the tree of the first {tree_size} records differs: {detail}"
                )
            }
            Tamper::ReplayedHead {
                tree_size,
                witnessed,
                evidence,
            } => write!(
                f,
                "a replayed older head: {evidence} covers {tree_size} records, but a head of \
                 {witnessed} records was already witnessed"
            ),
            Tamper::BadTreeHead { tree_size, detail } => {
                write!(
                    f,
                    "the witnessed tree head of {tree_size} records is invalid: {detail}"
                )
            }
            Tamper::BadCheckpoint { seq, detail } => {
                write!(f, "checkpoint at record {seq} is invalid: {detail}")
            }
        }
    }
}

/// The result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Records read.
    pub records: u64,
    /// The last record's sequence number (0 when empty).
    pub last_seq: u64,
    /// The last record's hash, 64 hex digits.
    pub head_hash: Option<String>,
    /// Signed checkpoints checked.
    pub checkpoints: u64,
    /// The root of the Merkle tree over the records, 64 hex digits.
    pub tree_root: String,
    /// Tree heads read from the witness and checked against the records.
    pub witnessed_heads: u64,
    /// Consistency proofs, computed from the records, checked between consecutive witnessed
    /// heads of different sizes.
    pub consistency_proofs: u64,
    /// Whether checkpoint signatures were checked against a key given by the caller (or the
    /// store's own signing key) rather than the public key stored beside them.
    pub trusted_key: bool,
    /// The first problem found, if any.
    pub problem: Option<Tamper>,
}

impl VerifyReport {
    /// Whether the chain is intact.
    pub fn is_intact(&self) -> bool {
        self.problem.is_none()
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.problem {
            None => write!(
                f,
                "intact: {} records, {} signed checkpoints",
                self.records, self.checkpoints
            ),
            Some(problem) => write!(f, "tampered: {problem}"),
        }
    }
}

/// What one row says about the chain.
pub(crate) enum RowCheck {
    /// It links and hashes correctly; the chain goes on from this hash.
    Ok(Hash),
    /// A definite problem.
    Problem(Tamper),
    /// It does not link to the previous record: the caller looks up which record, if any,
    /// carries `prev` as its hash.
    Unlinked {
        /// The row's previous-hash field.
        prev: Hash,
    },
}

/// Checks one row against the walk so far.
pub(crate) fn check_row(expected_seq: u64, expected_prev: &Hash, row: &RawRow) -> RowCheck {
    let Ok(seq) = u64::try_from(row.seq) else {
        return RowCheck::Problem(Tamper::Altered {
            seq: expected_seq,
            detail: format!("sequence number {} is negative", row.seq),
        });
    };
    if seq > expected_seq {
        return RowCheck::Problem(Tamper::Removed {
            seq: expected_seq,
            next_present: seq,
        });
    }
    let altered = |detail: &str| {
        RowCheck::Problem(Tamper::Altered {
            seq,
            detail: detail.to_string(),
        })
    };
    let (Some(prev), Some(hash)) = (to_hash(&row.prev_hash), to_hash(&row.hash)) else {
        return altered("a stored hash is not 32 bytes long");
    };
    if prev != *expected_prev {
        return RowCheck::Unlinked { prev };
    }
    if chain_hash(&prev, seq, &row.body) != hash {
        return altered("its content does not match its hash");
    }
    match columns_match(row) {
        Ok(()) => RowCheck::Ok(hash),
        Err(detail) => altered(&detail),
    }
}

/// Classifies a row that does not link to its predecessor, given where (if anywhere) the
/// record it links to sits now.
pub(crate) fn classify_unlinked(row: &RawRow, found_at: Option<u64>) -> Tamper {
    let seq = u64::try_from(row.seq).unwrap_or(0);
    match found_at {
        Some(links_to) if links_to != seq.wrapping_sub(1) => Tamper::Reordered { seq, links_to },
        _ => Tamper::BrokenLink { seq },
    }
}

/// The indexed columns must say what the hashed body says.
fn columns_match(row: &RawRow) -> Result<(), String> {
    let event: AuditEvent = serde_json::from_str(&row.body)
        .map_err(|e| format!("its content is not a valid record: {e}"))?;
    let derived = Prepared::new(&event)?;
    let differs = |column: &str| Err(format!("column `{column}` differs from the hashed record"));
    if derived.at_ms != row.at_ms {
        return differs("at_ms");
    }
    if *derived.proposal_id != *row.proposal_id {
        return differs("proposal_id");
    }
    if derived.digest != row.digest {
        return differs("digest");
    }
    if derived.agent.as_deref() != row.agent.as_deref() {
        return differs("agent");
    }
    if *derived.tool != *row.tool {
        return differs("tool");
    }
    if derived.kind != row.kind {
        return differs("kind");
    }
    if derived.decision != row.decision.as_deref() {
        return differs("decision");
    }
    Ok(())
}

/// Checks one checkpoint: its signature (against `trusted` when given, else the stored public
/// key) and, when the record it signs is present, that record's hash.
pub(crate) fn check_checkpoint(
    checkpoint: &RawCheckpoint,
    record_hash: Option<&[u8]>,
    last_seq: u64,
    trusted: Option<&VerifyingKey>,
) -> Option<Tamper> {
    let seq = u64::try_from(checkpoint.seq).unwrap_or(0);
    let bad = |detail: &str| {
        Some(Tamper::BadCheckpoint {
            seq,
            detail: detail.to_string(),
        })
    };
    let Some(hash) = to_hash(&checkpoint.hash) else {
        return bad("its hash is not 32 bytes long");
    };
    let key = match trusted {
        Some(key) => *key,
        None => {
            let Ok(bytes) = <[u8; 32]>::try_from(checkpoint.public_key.as_slice()) else {
                return bad("its public key is not 32 bytes long");
            };
            match VerifyingKey::from_bytes(&bytes) {
                Ok(key) => key,
                Err(_) => return bad("its public key is invalid"),
            }
        }
    };
    let Ok(signature) = Signature::from_slice(&checkpoint.signature) else {
        return bad("its signature is malformed");
    };
    if key
        .verify_strict(&checkpoint_message(seq, &hash), &signature)
        .is_err()
    {
        return bad("its signature does not verify");
    }
    if seq > last_seq {
        return Some(Tamper::Truncated {
            last_present: last_seq,
            expected: seq,
            evidence: format!("a signed checkpoint (hash {})", &to_hex(&hash)[..16]),
        });
    }
    match record_hash {
        Some(stored) if stored == hash => None,
        Some(_) => Some(Tamper::Altered {
            seq,
            detail: "its hash differs from the signed checkpoint: the chain was rewritten".into(),
        }),
        None => Some(Tamper::Removed {
            seq,
            next_present: seq + 1,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::GENESIS;
    use preflight_core::{Action, AuditKind, Outcome, Timestamp};
    use proptest::prelude::*;

    fn event(agent: &str, n: u64, success: bool) -> AuditEvent {
        let action = Action::new("Bash", serde_json::json!({ "n": n })).with_agent(agent);
        AuditEvent {
            proposal_id: format!("p{n}").into(),
            digest: action.digest(),
            at: Timestamp(1_700_000_000_000 + n),
            agent: Some(agent.into()),
            tool: "Bash".into(),
            kind: AuditKind::Completed {
                outcome: Outcome {
                    success,
                    error: None,
                    duration_ms: n,
                },
            },
        }
    }

    fn chain(events: &[AuditEvent]) -> Vec<RawRow> {
        let mut prev = GENESIS;
        events
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let p = Prepared::new(e).unwrap();
                let seq = i as u64 + 1;
                let hash = chain_hash(&prev, seq, &p.body);
                let row = RawRow {
                    seq: seq as i64,
                    at_ms: p.at_ms,
                    proposal_id: p.proposal_id.to_string(),
                    digest: p.digest,
                    agent: p.agent.as_deref().map(String::from),
                    tool: p.tool.to_string(),
                    kind: p.kind.to_string(),
                    decision: p.decision.map(str::to_string),
                    body: p.body,
                    prev_hash: prev.to_vec(),
                    hash: hash.to_vec(),
                };
                prev = hash;
                row
            })
            .collect()
    }

    /// The walk `verify` does, over rows in memory.
    fn walk(rows: &[RawRow]) -> Option<Tamper> {
        let mut rows = rows.to_vec();
        rows.sort_by_key(|r| r.seq);
        let mut expected = 1u64;
        let mut prev = GENESIS;
        for row in &rows {
            match check_row(expected, &prev, row) {
                RowCheck::Ok(hash) => {
                    prev = hash;
                    expected += 1;
                }
                RowCheck::Problem(tamper) => return Some(tamper),
                RowCheck::Unlinked { prev: link } => {
                    let found = rows
                        .iter()
                        .find(|r| r.hash == link.to_vec())
                        .map(|r| r.seq as u64);
                    return Some(classify_unlinked(row, found));
                }
            }
        }
        None
    }

    fn events() -> impl Strategy<Value = Vec<AuditEvent>> {
        prop::collection::vec(("[a-z]{1,6}", any::<bool>()), 3..24).prop_map(|items| {
            items
                .iter()
                .enumerate()
                .map(|(n, (agent, ok))| event(agent, n as u64, *ok))
                .collect()
        })
    }

    proptest! {
        #[test]
        fn an_untouched_chain_verifies(events in events()) {
            prop_assert_eq!(walk(&chain(&events)), None);
        }

        #[test]
        fn an_edit_anywhere_is_located(events in events(), pick in any::<prop::sample::Index>(), byte in any::<prop::sample::Index>()) {
            let mut rows = chain(&events);
            let k = pick.index(rows.len());
            let body = rows[k].body.clone().into_bytes();
            let at = byte.index(body.len());
            let mut edited = body.clone();
            edited[at] = if body[at] == b'1' { b'2' } else { b'1' };
            prop_assume!(edited.is_ascii());
            rows[k].body = String::from_utf8(edited).unwrap();
            let problem = walk(&rows);
            prop_assert!(matches!(problem, Some(Tamper::Altered { seq, .. }) if seq == k as u64 + 1), "{:?}", problem);
        }

        #[test]
        fn a_removal_is_located(events in events(), pick in any::<prop::sample::Index>()) {
            let mut rows = chain(&events);
            // Removing the last record leaves a valid chain: the head and checkpoints catch
            // that (see the conformance suite).
            let k = pick.index(rows.len() - 1);
            rows.remove(k);
            let seq = k as u64 + 1;
            prop_assert_eq!(walk(&rows), Some(Tamper::Removed { seq, next_present: seq + 1 }));
        }

        #[test]
        fn a_swap_is_located(events in events(), pick in any::<prop::sample::Index>()) {
            let mut rows = chain(&events);
            let k = pick.index(rows.len() - 1);
            let (a, b) = (rows[k].seq, rows[k + 1].seq);
            rows[k].seq = b;
            rows[k + 1].seq = a;
            prop_assert_eq!(walk(&rows), Some(Tamper::Reordered { seq: a as u64, links_to: b as u64 }));
        }

        #[test]
        fn the_hash_commits_to_position_and_predecessor(body in ".{0,64}", seq in 1u64..1_000_000, bit in 0usize..256) {
            let base = chain_hash(&GENESIS, seq, &body);
            prop_assert_ne!(base, chain_hash(&GENESIS, seq + 1, &body));
            let mut prev = GENESIS;
            prev[bit / 8] ^= 1 << (bit % 8);
            prop_assert_ne!(base, chain_hash(&prev, seq, &body));
        }
    }

    #[test]
    fn a_checkpoint_must_be_signed_by_the_trusted_key() {
        use ed25519_dalek::{Signer as _, SigningKey};
        let key = SigningKey::from_bytes(&[1u8; 32]);
        let other = SigningKey::from_bytes(&[2u8; 32]);
        let hash = [9u8; 32];
        let checkpoint = |signer: &SigningKey| RawCheckpoint {
            seq: 10,
            hash: hash.to_vec(),
            public_key: signer.verifying_key().to_bytes().to_vec(),
            signature: signer
                .sign(&checkpoint_message(10, &hash))
                .to_bytes()
                .to_vec(),
        };
        let trusted = key.verifying_key();
        assert_eq!(
            check_checkpoint(&checkpoint(&key), Some(&hash), 12, Some(&trusted)),
            None
        );
        assert!(matches!(
            check_checkpoint(&checkpoint(&other), Some(&hash), 12, Some(&trusted)),
            Some(Tamper::BadCheckpoint { seq: 10, .. })
        ));
        // Signed by anyone, it at least shows a truncation past it.
        assert!(matches!(
            check_checkpoint(&checkpoint(&other), None, 8, None),
            Some(Tamper::Truncated {
                last_present: 8,
                expected: 10,
                ..
            })
        ));
        assert!(matches!(
            check_checkpoint(&checkpoint(&key), Some(&[0u8; 32]), 12, Some(&trusted)),
            Some(Tamper::Altered { seq: 10, .. })
        ));
    }
}
