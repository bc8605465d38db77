//! The Merkle tree over the trail's records, in the shape of RFC 6962 and RFC 9162: a leaf's
//! hash is SHA-256(0x00 || leaf), an inner node's SHA-256(0x01 || left || right), and a tree
//! of n leaves splits at the largest power of two below n.

use sha2::{Digest as _, Sha256};

use crate::record::Hash;

/// The leaf hash of a record: SHA-256(0x00 || sequence number (8 bytes, big endian) || its
/// JSON body as stored).
pub fn leaf_hash(seq: u64, body: &str) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(seq.to_be_bytes());
    hasher.update(body.as_bytes());
    hasher.finalize().into()
}

/// An inner node's hash: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The root of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The right edge of a tree: the roots of its perfect subtrees, largest first, one per set bit
/// of its size. Enough to extend the tree leaf by leaf and to compute its root, in
/// O(log n) space.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<Hash>,
}

impl Frontier {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A frontier as stored: its size and its nodes, largest subtree first. `None` when the
    /// number of nodes does not match the size.
    pub fn from_parts(size: u64, nodes: Vec<Hash>) -> Option<Self> {
        (nodes.len() == size.count_ones() as usize).then_some(Self { size, nodes })
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The perfect subtrees' roots, largest first.
    pub fn nodes(&self) -> &[Hash] {
        &self.nodes
    }

    /// Appends a leaf, given its leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut hash = leaf;
        let mut size = self.size;
        // Each trailing set bit of the old size is a perfect subtree the new leaf completes.
        while size & 1 == 1 {
            let Some(left) = self.nodes.pop() else { break };
            hash = node_hash(&left, &hash);
            size >>= 1;
        }
        self.nodes.push(hash);
        self.size += 1;
    }

    /// The tree's root (RFC 6962's MTH).
    pub fn root(&self) -> Hash {
        let mut nodes = self.nodes.iter().rev();
        let Some(last) = nodes.next() else {
            return empty_root();
        };
        nodes.fold(*last, |right, left| node_hash(left, &right))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6962's definition, recursively.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    #[test]
    fn frontier_root_is_the_rfc_tree_root_at_every_size() {
        let leaves: Vec<Hash> = (1..=70)
            .map(|n| leaf_hash(n, &format!("{{\"n\":{n}}}")))
            .collect();
        let mut frontier = Frontier::new();
        assert_eq!(frontier.root(), mth(&[]));
        for (i, leaf) in leaves.iter().enumerate() {
            frontier.push(*leaf);
            assert_eq!(frontier.root(), mth(&leaves[..=i]), "size {}", i + 1);
            let stored = Frontier::from_parts(frontier.size(), frontier.nodes().to_vec());
            assert_eq!(stored.as_ref(), Some(&frontier));
        }
    }

    #[test]
    fn leaf_and_node_hashes_are_domain_separated() {
        let leaf = leaf_hash(1, "{}");
        assert_ne!(leaf, node_hash(&leaf, &leaf));
        // Known value: SHA-256 of the empty string.
        let hex: String = empty_root().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(Frontier::from_parts(3, vec![leaf]).is_none());
    }
}
