//! The trail as a transparency log: tree heads written to the witness, and the checks of the
//! records against every head the witness holds.

use ed25519_dalek::{SigningKey, VerifyingKey};
use preflight_core::Timestamp;

use super::rows::{PAGE, millis};
use super::{Backend, on_pool};
use crate::error::AuditError;
use crate::merkle::{Frontier, leaf_hash};
use crate::proof::{SubtreeRoots, consistency_ranges, verify_consistency};
use crate::record::{GENESIS, Hash, to_hash};
use crate::verify::Tamper;
use crate::witness::{TreeHead, Witness};

/// Appends to `witness` a tree head covering records 1 to `through`, unless the witness already
/// covers them. The tree is extended from the right edge stored with the witness's last head,
/// reading only the records after it. Call only once those records are durable: a head must
/// never witness records a crash could still take back.
pub(crate) async fn witness_through(
    backend: &Backend,
    witness: &Witness,
    key: Option<&SigningKey>,
    through: i64,
) -> Result<(), AuditError> {
    let through = u64::try_from(through).unwrap_or(0);
    let last = witness.last()?;
    if last.as_ref().is_some_and(|head| head.tree_size >= through) {
        return Ok(());
    }
    // A witness without a usable right edge is extended from the first record.
    let mut frontier = last
        .as_ref()
        .and_then(TreeHead::frontier)
        .unwrap_or_default();
    let mut chain = last.as_ref().and_then(TreeHead::chain).unwrap_or(GENESIS);
    while frontier.size() < through {
        let after = i64::try_from(frontier.size()).unwrap_or(i64::MAX);
        let upto = i64::try_from(through).unwrap_or(i64::MAX);
        let rows = records_page(backend, after, upto).await?;
        if rows.is_empty() {
            return Err(missing(frontier.size() + 1));
        }
        for (seq, body, hash) in rows {
            let expected = frontier.size() + 1;
            if u64::try_from(seq).ok() != Some(expected) {
                return Err(missing(expected));
            }
            frontier.push(leaf_hash(expected, &body));
            chain = to_hash(&hash).ok_or_else(|| AuditError::Unreadable {
                row: seq.to_string(),
                message: "the stored hash is not 32 bytes long".into(),
            })?;
        }
    }
    let head = TreeHead::new(&frontier, &chain, millis(Timestamp::now()), key);
    // Another process may have witnessed as far meanwhile: heads only ever grow.
    witness.append_with(|last| {
        Ok(last
            .is_none_or(|l| l.tree_size < head.tree_size)
            .then_some(head))
    })
}

/// The records after `after` up to `upto`, at most a page of them, in order: each one's
/// sequence number, body and chain hash.
pub(super) async fn records_page(
    backend: &Backend,
    after: i64,
    upto: i64,
) -> Result<Vec<(i64, String, Vec<u8>)>, AuditError> {
    Ok(on_pool!(backend, pool => {
        sqlx::query_as(
            "SELECT seq, body, hash FROM audit_records WHERE seq > $1 AND seq <= $2 \
             ORDER BY seq LIMIT $3",
        )
        .bind(after)
        .bind(upto)
        .bind(PAGE)
        .fetch_all(pool)
        .await?
    }))
}

fn missing(seq: u64) -> AuditError {
    AuditError::Unreadable {
        row: seq.to_string(),
        message: "the record is missing, so no tree head is written over it".into(),
    }
}

/// What the witness says the trail must contain, checked as the records are walked.
pub(crate) struct TreeCheck {
    /// The heads in the order written.
    heads: Vec<TreeHead>,
    /// Indexes into `heads`, by size, of the heads still to meet in the walk.
    pending: Vec<usize>,
    frontier: Frontier,
    key: Option<VerifyingKey>,
    /// The consistency proof from the last head met to the next larger one, built as the
    /// records between them are walked.
    consistency: Option<Consistency>,
    /// Consistency proofs checked so far.
    proven: u64,
}

/// A consistency proof being built between two witnessed heads.
struct Consistency {
    old_size: u64,
    old_root: Hash,
    new_size: u64,
    roots: SubtreeRoots,
}

impl TreeCheck {
    /// Reads the witness and checks what needs no records: every line is a head, sizes never
    /// go back, and with `key` every head is signed by it.
    pub(crate) fn read(
        witness: Option<&Witness>,
        key: Option<&VerifyingKey>,
    ) -> Result<(Self, Option<Tamper>), AuditError> {
        let (heads, bad) = match witness {
            Some(witness) => witness.read()?,
            None => Default::default(),
        };
        let mut problem = bad.first().map(|line| Tamper::BadTreeHead {
            tree_size: 0,
            detail: format!(
                "line {} of the witness is not a tree head: {}",
                line.line, line.message
            ),
        });
        let mut largest: Option<&TreeHead> = None;
        for head in &heads {
            if problem.is_some() {
                break;
            }
            if let Some(key) = key {
                if !head.is_signed_by(key) {
                    problem = Some(Tamper::BadTreeHead {
                        tree_size: head.tree_size,
                        detail: "its signature does not verify with the public key".into(),
                    });
                    break;
                }
            }
            if head.root().is_none() || head.chain().is_none() {
                problem = Some(Tamper::BadTreeHead {
                    tree_size: head.tree_size,
                    detail: "a hash is not 64 hex digits".into(),
                });
                break;
            }
            match largest {
                Some(before) if head.tree_size < before.tree_size => {
                    problem = Some(Tamper::ReplayedHead {
                        tree_size: head.tree_size,
                        witnessed: before.tree_size,
                        evidence: "the witness, after a larger head".into(),
                    });
                }
                Some(before)
                    if head.tree_size == before.tree_size && head.root_hash != before.root_hash =>
                {
                    problem = Some(Tamper::Forked {
                        tree_size: head.tree_size,
                        detail: "the witness holds two different heads of this size".into(),
                    });
                }
                _ => largest = Some(head),
            }
        }
        let mut pending: Vec<usize> = (0..heads.len()).collect();
        // Largest last, so that the next to meet is popped from the end.
        pending.sort_by_key(|&i| std::cmp::Reverse(heads[i].tree_size));
        Ok((
            Self {
                heads,
                pending,
                frontier: Frontier::new(),
                key: key.copied(),
                consistency: None,
                proven: 0,
            },
            problem,
        ))
    }

    /// Heads read from the witness.
    pub(crate) fn heads(&self) -> u64 {
        self.heads.len() as u64
    }

    /// Consistency proofs checked between witnessed heads.
    pub(crate) fn consistency_proofs(&self) -> u64 {
        self.proven
    }

    /// The largest witnessed tree size.
    pub(crate) fn witnessed(&self) -> u64 {
        self.heads.iter().map(|h| h.tree_size).max().unwrap_or(0)
    }

    /// The root of the tree over the records walked so far.
    pub(crate) fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// Adds the next record and checks every head of the size the tree now has.
    pub(crate) fn push(&mut self, seq: u64, body: &str, chain: &Hash) -> Option<Tamper> {
        let leaf = leaf_hash(seq, body);
        if let Some(consistency) = &mut self.consistency {
            consistency.roots.push(self.frontier.size(), leaf);
        }
        self.frontier.push(leaf);
        self.meet(chain)
    }

    /// Checks the heads of the current size, and heads of size 0.
    pub(crate) fn meet(&mut self, chain: &Hash) -> Option<Tamper> {
        while let Some(&index) = self.pending.last() {
            let head = &self.heads[index];
            if head.tree_size > self.frontier.size() {
                break;
            }
            self.pending.pop();
            if head.tree_size < self.frontier.size() {
                continue;
            }
            let root = self.frontier.root();
            let chain = if head.tree_size == 0 { GENESIS } else { *chain };
            if head.root() != Some(root) || head.chain() != Some(chain) {
                return Some(Tamper::Forked {
                    tree_size: head.tree_size,
                    detail: "the records do not match the witnessed tree head: they were \
                             rewritten (hashes recomputed) after it was witnessed"
                        .into(),
                });
            }
            if let Some(problem) = self.prove_consistency(index) {
                return Some(problem);
            }
        }
        None
    }

    /// At the head `heads[index]`, which the records match: checks the consistency proof
    /// from the previous witnessed head, as a third party holding the two heads would, and
    /// starts the proof to the next larger head.
    fn prove_consistency(&mut self, index: usize) -> Option<Tamper> {
        let head = &self.heads[index];
        let root = head.root()?;
        if let Some(proof) = self
            .consistency
            .take_if(|proof| proof.new_size == head.tree_size)
        {
            let verifies = proof.roots.finish().is_some_and(|path| {
                verify_consistency(
                    proof.old_size,
                    proof.new_size,
                    &proof.old_root,
                    &root,
                    &path,
                )
            });
            if !verifies {
                return Some(Tamper::Forked {
                    tree_size: head.tree_size,
                    detail: format!(
                        "the consistency proof from the witnessed head of {} records does not \
                         verify",
                        proof.old_size
                    ),
                });
            }
            self.proven += 1;
        }
        let next = self.pending.last().map(|&next| self.heads[next].tree_size);
        if let Some(new_size) = next.filter(|&size| size > head.tree_size) {
            let ranges = consistency_ranges(head.tree_size, new_size).unwrap_or_default();
            self.consistency = Some(Consistency {
                old_size: head.tree_size,
                old_root: root,
                new_size,
                roots: SubtreeRoots::new(ranges, &self.frontier),
            });
        }
        None
    }

    /// After the walk: the records must reach every witnessed head. `head_signed`: the
    /// database's head row carries a valid signature by the trusted key, which tells an
    /// older genuine head presented as current from a head row someone moved back.
    pub(crate) fn finish(&self, last_seq: u64, head_seq: u64, head_signed: bool) -> Option<Tamper> {
        let witnessed = self.witnessed();
        if witnessed <= last_seq {
            return None;
        }
        if last_seq == 0 {
            return Some(Tamper::Wiped { witnessed });
        }
        if head_signed && self.key.is_some() && head_seq == last_seq {
            return Some(Tamper::ReplayedHead {
                tree_size: head_seq,
                witnessed,
                evidence: "the database's signed head".into(),
            });
        }
        Some(Tamper::Truncated {
            last_present: last_seq,
            expected: witnessed,
            evidence: "the witnessed tree head".into(),
        })
    }
}
