//! Inclusion and consistency proofs over the trail's Merkle tree, as RFC 9162 defines them
//! (§2.1.3 and §2.1.4, the same proofs as RFC 6962): with only a tree head, a third party can
//! check that a record is in the tree, and that a larger tree extends a smaller one.
//!
//! A proof is a list of subtree roots. Which subtrees depends on the sizes and the index alone
//! ([`inclusion_ranges`], [`consistency_ranges`]); their roots are computed from the leaf hashes,
//! all at once ([`inclusion_proof`], [`consistency_proof`]) or from leaves fed in order
//! (which the store does, so as to hold O(log n) hashes, never every leaf).

use std::ops::Range;

use ed25519_dalek::VerifyingKey;
use preflight_core::to_hex;
use serde::{Deserialize, Serialize};

use crate::merkle::{Frontier, empty_root, node_hash};
use crate::record::Hash;
use crate::witness::{TreeHead, hash_of};

/// The largest power of two strictly below `n` (`n` ≥ 2): where a tree of `n` leaves splits.
fn split_point(n: u64) -> u64 {
    1 << (u64::BITS - 1 - (n - 1).leading_zeros())
}

/// The subtrees (as ranges of leaf indexes) whose roots make up the inclusion proof of leaf
/// `index` in the tree of `size` leaves, the leaf's sibling first (RFC 9162's PATH). `None`
/// when the index is not below the size.
pub fn inclusion_ranges(index: u64, size: u64) -> Option<Vec<Range<u64>>> {
    if index >= size {
        return None;
    }
    let mut ranges = Vec::new();
    let (mut start, mut end) = (0, size);
    // From the root down: each level's sibling of the subtree holding the leaf.
    while end - start > 1 {
        let split = start + split_point(end - start);
        if index < split {
            ranges.push(split..end);
            end = split;
        } else {
            ranges.push(start..split);
            start = split;
        }
    }
    ranges.reverse();
    Some(ranges)
}

/// The subtrees whose roots make up the consistency proof from the tree of `old` leaves to the
/// tree of `new` leaves (RFC 9162's PROOF and SUBPROOF). Empty when `old` is 0 or equals
/// `new` (nothing to prove); `None` when `old` exceeds `new`.
pub fn consistency_ranges(old: u64, new: u64) -> Option<Vec<Range<u64>>> {
    if old > new {
        return None;
    }
    let mut ranges = Vec::new();
    if old == 0 {
        return Some(ranges);
    }
    let (mut start, mut end) = (0, new);
    // `old` counted from `start`; `whole`: the subtree is the full tree (SUBPROOF's b).
    let (mut old, mut whole) = (old, true);
    loop {
        if old == end - start {
            // The old tree's last subtree is a node of the new tree: the verifier needs it
            // unless it is the old tree itself, whose root it holds.
            if !whole {
                ranges.push(start..end);
            }
            break;
        }
        let split = start + split_point(end - start);
        if old <= split - start {
            ranges.push(split..end);
            end = split;
        } else {
            ranges.push(start..split);
            old -= split - start;
            start = split;
            whole = false;
        }
    }
    ranges.reverse();
    Some(ranges)
}

/// The root of the subtree over `leaves[range]` (RFC 6962's MTH). `None` when the range is
/// not within the leaves.
fn subtree_root(leaves: &[Hash], range: &Range<u64>) -> Option<Hash> {
    let start = usize::try_from(range.start).ok()?;
    let end = usize::try_from(range.end).ok()?;
    let mut frontier = Frontier::new();
    for leaf in leaves.get(start..end)? {
        frontier.push(*leaf);
    }
    Some(frontier.root())
}

/// The inclusion proof of leaf `index` in the tree of the first `size` of `leaves` (leaf
/// hashes). `None` when the index is not below the size or the size exceeds the leaves.
pub fn inclusion_proof(leaves: &[Hash], index: u64, size: u64) -> Option<Vec<Hash>> {
    inclusion_ranges(index, size)?
        .iter()
        .map(|range| subtree_root(leaves, range))
        .collect()
}

/// The consistency proof from the tree of the first `old` of `leaves` to the tree of the
/// first `new`. `None` when `old` exceeds `new` or `new` exceeds the leaves.
pub fn consistency_proof(leaves: &[Hash], old: u64, new: u64) -> Option<Vec<Hash>> {
    if usize::try_from(new).ok()? > leaves.len() {
        return None;
    }
    consistency_ranges(old, new)?
        .iter()
        .map(|range| subtree_root(leaves, range))
        .collect()
}

/// Whether `proof` shows the leaf hash `leaf` at `index` in the tree of `size` leaves whose
/// root is `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    // `position` and `last`: the index of the node reached and of the last node, at the
    // level reached.
    let (mut position, mut last) = (index, size - 1);
    let mut hash = *leaf;
    for sibling in proof {
        if last == 0 {
            return false;
        }
        if position & 1 == 1 || position == last {
            hash = node_hash(sibling, &hash);
            // A right edge node without a sibling at these levels is carried up as it is.
            if position & 1 == 0 {
                while position & 1 == 0 && position != 0 {
                    position >>= 1;
                    last >>= 1;
                }
            }
        } else {
            hash = node_hash(&hash, sibling);
        }
        position >>= 1;
        last >>= 1;
    }
    last == 0 && hash == *root
}

/// Whether `proof` shows that the tree of `new` leaves with root `new_root` extends the tree
/// of `old` leaves with root `old_root` (RFC 9162 §2.1.4.2). The empty tree is extended by
/// every tree, and a tree by itself, with an empty proof.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old > new {
        return false;
    }
    if old == 0 {
        return proof.is_empty() && *old_root == empty_root();
    }
    if old == new {
        return proof.is_empty() && old_root == new_root;
    }
    let Some((first, rest)) = proof.split_first() else {
        return false;
    };
    // When the old tree is a perfect subtree of the new one, the proof leaves out its root,
    // which the verifier holds.
    let (start, path) = if old.is_power_of_two() {
        (old_root, proof)
    } else {
        (first, rest)
    };
    let (mut position, mut last) = (old - 1, new - 1);
    while position & 1 == 1 {
        position >>= 1;
        last >>= 1;
    }
    // `old_hash` rebuilds the old root and `new_hash` the new one, from the same nodes.
    let (mut old_hash, mut new_hash) = (*start, *start);
    for node in path {
        if last == 0 {
            return false;
        }
        if position & 1 == 1 || position == last {
            old_hash = node_hash(node, &old_hash);
            new_hash = node_hash(node, &new_hash);
            if position & 1 == 0 {
                while position & 1 == 0 && position != 0 {
                    position >>= 1;
                    last >>= 1;
                }
            }
        } else {
            new_hash = node_hash(&new_hash, node);
        }
        position >>= 1;
        last >>= 1;
    }
    last == 0 && old_hash == *old_root && new_hash == *new_root
}

/// A proof's subtree roots, computed from leaves fed in order, holding O(log n) hashes.
#[derive(Debug, Clone)]
pub(crate) struct SubtreeRoots {
    /// The ranges still to compute, with their place in the proof, by start.
    todo: Vec<(Range<u64>, usize)>,
    /// The leaves of the range being computed.
    current: Frontier,
    roots: Vec<Option<Hash>>,
}

impl SubtreeRoots {
    /// The roots of `ranges`, taking those that are perfect subtrees of the tree `known` from
    /// its right edge; the others are computed from the leaves fed after it.
    pub fn new(ranges: Vec<Range<u64>>, known: &Frontier) -> Self {
        // The right edge's nodes cover the known tree from the left, largest first.
        let mut edge = Vec::with_capacity(known.nodes().len());
        let mut start = 0;
        for bit in (0..u64::BITS).rev().map(|b| 1u64 << b) {
            if known.size() & bit != 0 {
                edge.push(start..start + bit);
                start += bit;
            }
        }
        let mut roots = vec![None; ranges.len()];
        let mut todo = Vec::new();
        for (place, range) in ranges.into_iter().enumerate() {
            match edge.iter().position(|e| *e == range) {
                Some(node) => roots[place] = known.nodes().get(node).copied(),
                None => todo.push((range, place)),
            }
        }
        todo.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
        Self {
            todo,
            current: Frontier::new(),
            roots,
        }
    }

    /// Feeds leaf `index`; leaves must come in order, without gaps within a range.
    pub fn push(&mut self, index: u64, leaf: Hash) {
        let Some((range, place)) = self.todo.last() else {
            return;
        };
        if !range.contains(&index) || range.start + self.current.size() != index {
            return;
        }
        self.current.push(leaf);
        if index + 1 == range.end {
            self.roots[*place] = Some(self.current.root());
            self.current = Frontier::new();
            self.todo.pop();
        }
    }

    /// The proof, once every root is known.
    pub fn finish(self) -> Option<Vec<Hash>> {
        self.roots.into_iter().collect()
    }
}

/// An inclusion proof of one record, in the form a third party checks it offline: hashes as
/// 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// The record's sequence number (its leaf index plus one).
    pub seq: u64,
    /// The leaf's index in the tree, from 0.
    pub leaf_index: u64,
    /// The size of the tree the proof is for.
    pub tree_size: u64,
    /// The record's leaf hash: SHA-256(0x00 || seq (8 bytes, big endian) || its JSON body).
    pub leaf_hash: String,
    /// The root of the tree the proof leads to; compare it with a trusted tree head.
    pub root_hash: String,
    /// The subtree roots from the leaf's sibling up (RFC 9162's inclusion path).
    pub audit_path: Vec<String>,
}

impl InclusionProof {
    pub(crate) fn new(
        leaf_index: u64,
        tree_size: u64,
        leaf: &Hash,
        root: &Hash,
        path: &[Hash],
    ) -> Self {
        Self {
            seq: leaf_index + 1,
            leaf_index,
            tree_size,
            leaf_hash: to_hex(leaf),
            root_hash: to_hex(root),
            audit_path: path.iter().map(|h| to_hex(h)).collect(),
        }
    }

    /// Whether the audit path leads from the leaf hash to the root hash.
    pub fn verify(&self) -> bool {
        let path = self
            .audit_path
            .iter()
            .map(|h| hash_of(h))
            .collect::<Option<Vec<_>>>();
        match (hash_of(&self.leaf_hash), hash_of(&self.root_hash), path) {
            (Some(leaf), Some(root), Some(path)) => {
                self.seq == self.leaf_index + 1
                    && verify_inclusion(&leaf, self.leaf_index, self.tree_size, &path, &root)
            }
            _ => false,
        }
    }

    /// Whether the proof verifies and leads to `head`'s root (check `head`'s signature too).
    pub fn verify_against(&self, head: &TreeHead) -> bool {
        head.tree_size == self.tree_size
            && head.root_hash.eq_ignore_ascii_case(&self.root_hash)
            && self.verify()
    }

    /// Checks the proof against tree heads held apart from the trail (a copy of the witness):
    /// it must lead to the root of a head of its tree size, signed by `key` when one is given.
    /// Returns that head, or why the proof fails.
    pub fn check_against_heads<'h>(
        &self,
        heads: &'h [TreeHead],
        key: Option<&VerifyingKey>,
    ) -> Result<&'h TreeHead, String> {
        let mut sized = heads
            .iter()
            .filter(|head| head.tree_size == self.tree_size)
            .peekable();
        if sized.peek().is_none() {
            return Err(format!("no tree head of {} records", self.tree_size));
        }
        let head = sized
            .find(|head| key.is_none_or(|key| head.is_signed_by(key)))
            .ok_or_else(|| {
                format!(
                    "no tree head of {} records is signed by the public key",
                    self.tree_size
                )
            })?;
        if self.verify_against(head) {
            Ok(head)
        } else {
            Err(format!(
                "the proof does not lead record {} to the root of the tree head of {} records",
                self.seq, self.tree_size
            ))
        }
    }
}

/// A consistency proof between two tree sizes, hashes as 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// The smaller tree's size.
    pub old_size: u64,
    /// The larger tree's size.
    pub new_size: u64,
    /// The smaller tree's root.
    pub old_root: String,
    /// The larger tree's root.
    pub new_root: String,
    /// The subtree roots of the proof (RFC 9162's consistency path).
    pub path: Vec<String>,
}

impl ConsistencyProof {
    pub(crate) fn new(old: u64, new: u64, old_root: &Hash, new_root: &Hash, path: &[Hash]) -> Self {
        Self {
            old_size: old,
            new_size: new,
            old_root: to_hex(old_root),
            new_root: to_hex(new_root),
            path: path.iter().map(|h| to_hex(h)).collect(),
        }
    }

    /// Whether the path shows that the larger tree extends the smaller one.
    pub fn verify(&self) -> bool {
        let path = self
            .path
            .iter()
            .map(|h| hash_of(h))
            .collect::<Option<Vec<_>>>();
        match (hash_of(&self.old_root), hash_of(&self.new_root), path) {
            (Some(old_root), Some(new_root), Some(path)) => {
                verify_consistency(self.old_size, self.new_size, &old_root, &new_root, &path)
            }
            _ => false,
        }
    }

    /// Whether the proof verifies between the roots of `old` and `new` (check their
    /// signatures too).
    pub fn verify_between(&self, old: &TreeHead, new: &TreeHead) -> bool {
        old.tree_size == self.old_size
            && new.tree_size == self.new_size
            && old.root_hash.eq_ignore_ascii_case(&self.old_root)
            && new.root_hash.eq_ignore_ascii_case(&self.new_root)
            && self.verify()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use sha2::{Digest as _, Sha256};

    use super::*;

    fn leaves(n: u64) -> Vec<Hash> {
        (1..=n)
            .map(|seq| crate::merkle::leaf_hash(seq, &format!("{{\"n\":{seq}}}")))
            .collect()
    }

    /// RFC 6962's MTH, recursively, independent of `Frontier`.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    /// RFC 9162's PATH, recursively.
    fn path(index: usize, leaves: &[Hash]) -> Vec<Hash> {
        if leaves.len() <= 1 {
            return Vec::new();
        }
        let k = split_point(leaves.len() as u64) as usize;
        if index < k {
            let mut proof = path(index, &leaves[..k]);
            proof.push(mth(&leaves[k..]));
            proof
        } else {
            let mut proof = path(index - k, &leaves[k..]);
            proof.push(mth(&leaves[..k]));
            proof
        }
    }

    /// RFC 9162's SUBPROOF, recursively.
    fn subproof(old: usize, leaves: &[Hash], whole: bool) -> Vec<Hash> {
        if old == leaves.len() {
            return if whole { Vec::new() } else { vec![mth(leaves)] };
        }
        let k = split_point(leaves.len() as u64) as usize;
        if old <= k {
            let mut proof = subproof(old, &leaves[..k], whole);
            proof.push(mth(&leaves[k..]));
            proof
        } else {
            let mut proof = subproof(old - k, &leaves[k..], false);
            proof.push(mth(&leaves[..k]));
            proof
        }
    }

    fn hex(text: &str) -> Hash {
        hash_of(text).unwrap()
    }

    /// The test vectors of the certificate-transparency reference implementation: eight leaf
    /// inputs, the root at every size, and some proofs.
    #[test]
    fn known_answers_from_the_certificate_transparency_vectors() {
        let inputs: [&[u8]; 8] = [
            b"",
            b"\x00",
            b"\x10",
            b"\x20\x21",
            b"\x30\x31",
            b"\x40\x41\x42\x43",
            b"\x50\x51\x52\x53\x54\x55\x56\x57",
            b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
        ];
        let leaves: Vec<Hash> = inputs
            .iter()
            .map(|input| {
                let mut hasher = Sha256::new();
                hasher.update([0x00]);
                hasher.update(input);
                hasher.finalize().into()
            })
            .collect();
        let roots = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let mut frontier = Frontier::new();
        for (leaf, root) in leaves.iter().zip(roots) {
            frontier.push(*leaf);
            assert_eq!(to_hex(&frontier.root()), root, "size {}", frontier.size());
        }
        let root8 = hex(roots[7]);
        let inclusion = [
            (
                0,
                [
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                [
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
        ];
        for (index, expected) in inclusion {
            let proof = inclusion_proof(&leaves, index, 8).unwrap();
            let expected: Vec<Hash> = expected.iter().map(|h| hex(h)).collect();
            assert_eq!(proof, expected, "leaf {index}");
            assert!(verify_inclusion(
                &leaves[index as usize],
                index,
                8,
                &proof,
                &root8
            ));
        }
        let consistency: [(u64, u64, &[&str]); 4] = [
            (1, 1, &[]),
            (
                1,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (old, new, expected) in consistency {
            let proof = consistency_proof(&leaves, old, new).unwrap();
            let expected: Vec<Hash> = expected.iter().map(|h| hex(h)).collect();
            assert_eq!(proof, expected, "{old} to {new}");
            let (old_root, new_root) = (hex(roots[old as usize - 1]), hex(roots[new as usize - 1]));
            assert!(verify_consistency(old, new, &old_root, &new_root, &proof));
        }
    }

    /// Every proof of every tree up to 64 leaves is the RFC's recursive definition.
    #[test]
    fn every_proof_up_to_64_leaves_is_the_rfc_definition() {
        let all = leaves(64);
        for size in 1..=all.len() {
            let tree = &all[..size];
            for index in 0..size {
                let proof = inclusion_proof(&all, index as u64, size as u64);
                assert_eq!(proof, Some(path(index, tree)), "leaf {index} of {size}");
            }
            for old in 1..=size {
                let proof = consistency_proof(&all, old as u64, size as u64);
                assert_eq!(proof, Some(subproof(old, tree, true)), "{old} to {size}");
            }
        }
    }

    /// Every proof of every tree up to 200 leaves verifies against the root computed
    /// independently, which is also the `Frontier`'s root.
    #[test]
    fn every_proof_up_to_200_leaves_verifies() {
        let all = leaves(200);
        // Subtree roots are shared by many proofs: each is computed once.
        let mut memo = std::collections::HashMap::new();
        let mut root_of = |range: &Range<u64>| {
            *memo
                .entry(range.clone())
                .or_insert_with(|| mth(&all[range.start as usize..range.end as usize]))
        };
        let mut frontier = Frontier::new();
        for size in 1..=all.len() as u64 {
            frontier.push(all[size as usize - 1]);
            let root = root_of(&(0..size));
            assert_eq!(frontier.root(), root, "size {size}");
            for index in 0..size {
                let proof: Vec<Hash> = inclusion_ranges(index, size)
                    .unwrap()
                    .iter()
                    .map(&mut root_of)
                    .collect();
                let leaf = &all[index as usize];
                assert!(
                    verify_inclusion(leaf, index, size, &proof, &root),
                    "leaf {index} of {size}"
                );
            }
            for old in 0..=size {
                let proof: Vec<Hash> = consistency_ranges(old, size)
                    .unwrap()
                    .iter()
                    .map(&mut root_of)
                    .collect();
                let old_root = root_of(&(0..old));
                assert!(
                    verify_consistency(old, size, &old_root, &root, &proof),
                    "{old} to {size}"
                );
            }
        }
    }

    /// Proofs built from leaves fed in order, starting from a known tree's right edge, are the
    /// proofs built from every leaf.
    #[test]
    fn streamed_proofs_match_proofs_from_every_leaf() {
        let all = leaves(70);
        for new in 1..=all.len() as u64 {
            for old in 0..=new {
                let mut known = Frontier::new();
                all[..old as usize].iter().for_each(|l| known.push(*l));
                let mut roots = SubtreeRoots::new(consistency_ranges(old, new).unwrap(), &known);
                for index in old..new {
                    roots.push(index, all[index as usize]);
                }
                let streamed = roots.finish();
                assert_eq!(
                    streamed,
                    consistency_proof(&all, old, new),
                    "{old} to {new}"
                );
            }
            for index in 0..new {
                let mut roots =
                    SubtreeRoots::new(inclusion_ranges(index, new).unwrap(), &Frontier::new());
                for (i, leaf) in all[..new as usize].iter().enumerate() {
                    roots.push(i as u64, *leaf);
                }
                assert_eq!(roots.finish(), inclusion_proof(&all, index, new));
            }
        }
    }

    #[test]
    fn out_of_range_requests_have_no_proof() {
        let all = leaves(5);
        assert_eq!(inclusion_proof(&all, 5, 5), None);
        assert_eq!(inclusion_proof(&all, 0, 6), None);
        assert_eq!(consistency_proof(&all, 4, 3), None);
        assert_eq!(consistency_proof(&all, 3, 6), None);
        let root = mth(&all);
        assert!(!verify_inclusion(&all[0], 5, 5, &[], &root));
        assert!(!verify_consistency(5, 4, &root, &root, &[]));
        // The empty tree is extended by every tree, with nothing to show.
        assert!(verify_consistency(0, 5, &empty_root(), &root, &[]));
        assert!(!verify_consistency(0, 5, &root, &root, &[]));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Any changed hash, index, size or root makes an inclusion proof fail.
        #[test]
        fn a_changed_inclusion_proof_fails(
            size in 1u64..=200,
            index_seed in any::<u64>(),
            which in any::<prop::sample::Index>(),
            flip in 0u8..8,
            delta in 1u64..=200,
        ) {
            let all = leaves(size);
            let index = index_seed % size;
            let root = mth(&all);
            let leaf = all[index as usize];
            let proof = inclusion_proof(&all, index, size).unwrap();
            prop_assert!(verify_inclusion(&leaf, index, size, &proof, &root));
            if !proof.is_empty() {
                let mut changed = proof.clone();
                changed[which.index(proof.len())][0] ^= 1 << flip;
                prop_assert!(!verify_inclusion(&leaf, index, size, &changed, &root));
                // A proof cut short or made longer fails too.
                prop_assert!(!verify_inclusion(&leaf, index, size, &proof[1..], &root));
            }
            let mut longer = proof.clone();
            longer.push(root);
            prop_assert!(!verify_inclusion(&leaf, index, size, &longer, &root));
            let mut other_leaf = leaf;
            other_leaf[31] ^= 1 << flip;
            prop_assert!(!verify_inclusion(&other_leaf, index, size, &proof, &root));
            let mut other_root = root;
            other_root[0] ^= 1 << flip;
            prop_assert!(!verify_inclusion(&leaf, index, size, &proof, &other_root));
            let other_index = (index + delta) % size;
            if other_index != index {
                prop_assert!(!verify_inclusion(&leaf, other_index, size, &proof, &root));
            }
            // The proof does not lead to the root of a tree of another size.
            let other_size = (index + 1).max((size + delta) % 201);
            if other_size != size {
                let other_root = mth(&leaves(other_size));
                prop_assert!(!verify_inclusion(&leaf, index, other_size, &proof, &other_root));
            }
        }

        /// Any changed hash, size or root makes a consistency proof fail.
        #[test]
        fn a_changed_consistency_proof_fails(
            new in 2u64..=200,
            old_seed in any::<u64>(),
            which in any::<prop::sample::Index>(),
            flip in 0u8..8,
            delta in 1u64..=200,
        ) {
            let all = leaves(new);
            let old = 1 + old_seed % (new - 1);
            let (old_root, new_root) = (mth(&all[..old as usize]), mth(&all));
            let proof = consistency_proof(&all, old, new).unwrap();
            prop_assert!(verify_consistency(old, new, &old_root, &new_root, &proof));
            let mut changed = proof.clone();
            changed[which.index(proof.len())][0] ^= 1 << flip;
            prop_assert!(!verify_consistency(old, new, &old_root, &new_root, &changed));
            prop_assert!(!verify_consistency(old, new, &old_root, &new_root, &proof[1..]));
            let mut longer = proof.clone();
            longer.push(new_root);
            prop_assert!(!verify_consistency(old, new, &old_root, &new_root, &longer));
            let mut other = old_root;
            other[0] ^= 1 << flip;
            prop_assert!(!verify_consistency(old, new, &other, &new_root, &proof));
            let mut other = new_root;
            other[0] ^= 1 << flip;
            prop_assert!(!verify_consistency(old, new, &old_root, &other, &proof));
            // The roots swapped, or the proof presented for trees of other sizes.
            prop_assert!(!verify_consistency(old, new, &new_root, &old_root, &proof));
            let other_old = 1 + (old - 1 + delta) % (new - 1);
            if other_old != old {
                let other_root = mth(&all[..other_old as usize]);
                prop_assert!(!verify_consistency(other_old, new, &other_root, &new_root, &proof));
            }
            let other_new = old.max((new + delta) % 201);
            if other_new != new {
                let other_root = mth(&leaves(other_new));
                prop_assert!(!verify_consistency(old, other_new, &old_root, &other_root, &proof));
            }
        }
    }
}
