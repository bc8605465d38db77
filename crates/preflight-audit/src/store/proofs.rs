//! Inclusion and consistency proofs computed from the stored records, for a third party who
//! holds tree heads but not the trail.

use super::AuditStore;
use super::transparency::records_page;
use crate::error::AuditError;
use crate::merkle::{Frontier, leaf_hash};
use crate::proof::{
    ConsistencyProof, InclusionProof, SubtreeRoots, consistency_ranges, inclusion_ranges,
};
use crate::record::Hash;
use crate::witness::TreeHead;

impl AuditStore {
    /// The tree heads the witness holds, in the order written (none without a witness).
    pub fn witnessed_heads(&self) -> Result<Vec<TreeHead>, AuditError> {
        match &self.inner.witness {
            Some(witness) => Ok(witness.read()?.0),
            None => Ok(Vec::new()),
        }
    }

    /// The inclusion proof of record `seq` in the tree of the first `tree_size` records,
    /// computed from the stored records (reading them once, holding O(log n) hashes). Its
    /// root is the stored records'; [`InclusionProof::verify_against`] a witnessed head shows
    /// whether they are the records that head covers.
    pub async fn inclusion_proof(
        &self,
        seq: u64,
        tree_size: u64,
    ) -> Result<InclusionProof, AuditError> {
        let index = seq.checked_sub(1).filter(|&index| index < tree_size);
        let ranges = index.and_then(|index| inclusion_ranges(index, tree_size));
        let (Some(index), Some(ranges)) = (index, ranges) else {
            return Err(AuditError::NoProof(format!(
                "record {seq} is not in the tree of {tree_size} records"
            )));
        };
        let mut roots = SubtreeRoots::new(ranges, &Frontier::new());
        let mut tree = Frontier::new();
        let mut leaf = None;
        self.each_leaf(tree_size, |i, hash| {
            roots.push(i, hash);
            tree.push(hash);
            if i == index {
                leaf = Some(hash);
            }
        })
        .await?;
        match (leaf, roots.finish()) {
            (Some(leaf), Some(path)) => Ok(InclusionProof::new(
                index,
                tree_size,
                &leaf,
                &tree.root(),
                &path,
            )),
            _ => Err(incomplete(tree_size)),
        }
    }

    /// The consistency proof from the tree of the first `old_size` records to the tree of the
    /// first `new_size`, computed from the stored records, with both roots.
    pub async fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<ConsistencyProof, AuditError> {
        let Some(ranges) = consistency_ranges(old_size, new_size) else {
            return Err(AuditError::NoProof(format!(
                "a tree of {old_size} records cannot extend to one of {new_size}"
            )));
        };
        let mut roots = SubtreeRoots::new(ranges, &Frontier::new());
        let mut tree = Frontier::new();
        let mut old_root = tree.root();
        self.each_leaf(new_size, |i, hash| {
            roots.push(i, hash);
            tree.push(hash);
            if tree.size() == old_size {
                old_root = tree.root();
            }
        })
        .await?;
        let path = roots.finish().ok_or_else(|| incomplete(new_size))?;
        Ok(ConsistencyProof::new(
            old_size,
            new_size,
            &old_root,
            &tree.root(),
            &path,
        ))
    }

    /// Calls `each` with the index and leaf hash of records 1 to `through`, in order, a page
    /// at a time. Fails when a record is missing.
    async fn each_leaf(
        &self,
        through: u64,
        mut each: impl FnMut(u64, Hash),
    ) -> Result<(), AuditError> {
        let mut next = 1u64;
        let upto = i64::try_from(through).unwrap_or(i64::MAX);
        while next <= through {
            let after = i64::try_from(next - 1).unwrap_or(i64::MAX);
            let rows = records_page(&self.inner.backend, after, upto).await?;
            if rows.is_empty() {
                return Err(incomplete(through));
            }
            for (seq, body, _) in rows {
                if u64::try_from(seq).ok() != Some(next) {
                    return Err(incomplete(through));
                }
                each(next - 1, leaf_hash(next, &body));
                next += 1;
            }
        }
        Ok(())
    }
}

fn incomplete(size: u64) -> AuditError {
    AuditError::NoProof(format!(
        "the trail does not hold every record of the tree of {size} records"
    ))
}
