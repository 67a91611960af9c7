//! The RFC 6962/9162 Merkle tree over the log, with storage kept outside.
//!
//! Storage layout: the hash of every perfect subtree whose level is a multiple of
//! [`STORED_LEVEL_STRIDE`] (level 0 = the leaf hashes, then 16-leaf subtrees, 256-leaf
//! subtrees, ...), addressed by `(level, index)`. That is one stored node per 15 leaves
//! beyond the leaves themselves; any other node is recomputed from at most 16 stored ones.
//!
//! While appending, a [`Frontier`] holds the right edge of the tree in memory (fewer than 16
//! nodes per stored level), so an append needs no reads, and the root is always at hand.
//! Proofs take their node indices and verification from `ct-merkle` and read node hashes
//! through [`NodeStore`].

use crate::Hash;
use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
use sha2::{Digest, Sha256};

/// Stored levels are multiples of this (tlog "tiles" use 8; 4 keeps proof reads small).
pub const STORED_LEVEL_STRIDE: u32 = 4;
const GROUP: usize = 1 << STORED_LEVEL_STRIDE;

/// Reads stored perfect-subtree hashes. `level` is always a multiple of the stride.
pub trait NodeStore {
    type Error;
    /// The `count` stored nodes at `level` from `index` on (one range read, not `count`).
    fn stored_nodes(&mut self, level: u32, index: u64, count: u64) -> Result<Vec<Hash>, Self::Error>;
}

/// A node the caller must persist: the perfect subtree at `(level, index)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredNode {
    pub level: u32,
    pub index: u64,
    pub hash: Hash,
}

/// RFC 6962 interior node hash: `SHA-256(0x01 || left || right)`.
pub fn parent_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest(b"").into()
}

/// Hash of the perfect subtree at any level, from stored nodes.
pub fn perfect_node<S: NodeStore>(s: &mut S, level: u32, index: u64) -> Result<Hash, S::Error> {
    let base = level - level % STORED_LEVEL_STRIDE;
    let width = 1u64 << (level - base);
    let nodes = s.stored_nodes(base, index * width, width)?;
    Ok(perfect_of(&nodes))
}

/// RFC 6962 MTH of leaves `start..end`, where `start` is aligned as the tree's splits align it.
pub fn range_hash<S: NodeStore>(s: &mut S, start: u64, end: u64) -> Result<Hash, S::Error> {
    let n = end - start;
    assert!(n > 0, "range_hash of an empty range");
    if n.is_power_of_two() && start.is_multiple_of(n) {
        return perfect_node(s, n.trailing_zeros(), start >> n.trailing_zeros());
    }
    let k = 1u64 << (63 - (n - 1).leading_zeros());
    let left = range_hash(s, start, start + k)?;
    let right = range_hash(s, start + k, end)?;
    Ok(parent_hash(&left, &right))
}

/// The root of the tree of `size` leaves.
pub fn root<S: NodeStore>(s: &mut S, size: u64) -> Result<Hash, S::Error> {
    if size == 0 { Ok(empty_root()) } else { range_hash(s, 0, size) }
}

/// The hash of `ct-merkle`'s array-tree node `index` in a tree of `size` leaves
/// (RFC 9420 array-based trees: a node at level k has k trailing one bits).
fn array_node<S: NodeStore>(s: &mut S, size: u64, index: u64) -> Result<Hash, S::Error> {
    let level = index.trailing_ones();
    let start = (index >> (level + 1)) << level;
    let end = (start + (1u64 << level)).min(size);
    range_hash(s, start, end)
}

/// Proof that leaf `idx` is in the tree of `size` leaves. Panics if `idx >= size`.
pub fn inclusion_proof<S: NodeStore>(s: &mut S, size: u64, idx: u64) -> Result<Vec<Hash>, S::Error> {
    ct_merkle::indices_for_inclusion_proof(size, idx).into_iter().map(|i| array_node(s, size, i)).collect()
}

/// Proof that the tree of `old_size` leaves is a prefix of the tree of `new_size` leaves.
/// Panics if `old_size == 0` or `old_size > new_size`.
pub fn consistency_proof<S: NodeStore>(s: &mut S, old_size: u64, new_size: u64) -> Result<Vec<Hash>, S::Error> {
    ct_merkle::indices_for_consistency_proof(old_size, new_size - old_size)
        .into_iter()
        .map(|i| array_node(s, new_size, i))
        .collect()
}

fn ct_root(root: &Hash, size: u64) -> RootHash<Sha256> {
    RootHash::new((*root).into(), size)
}

/// Checks an inclusion proof for the entry bytes `leaf_bytes` (verification by `ct-merkle`).
pub fn verify_inclusion(root: &Hash, size: u64, idx: u64, leaf_bytes: &[u8], proof: &[Hash]) -> bool {
    let digests: Vec<_> = proof.iter().map(|h| (*h).into()).collect();
    let proof = InclusionProof::<Sha256>::from_digests(digests.iter());
    ct_root(root, size).verify_inclusion(&leaf_bytes, idx, &proof).is_ok()
}

/// Checks a consistency proof between two roots (verification by `ct-merkle`). The sizes
/// must come from signed checkpoints: the proof alone does not bind them.
pub fn verify_consistency(old_root: &Hash, old_size: u64, new_root: &Hash, new_size: u64, proof: &[Hash]) -> bool {
    if old_size == new_size {
        return old_root == new_root && proof.is_empty();
    }
    let digests: Vec<_> = proof.iter().map(|h| (*h).into()).collect();
    let proof = ConsistencyProof::<Sha256>::from_digests(digests.iter());
    ct_root(new_root, new_size).verify_consistency(&ct_root(old_root, old_size), &proof).is_ok()
}

/// The right edge of the tree: for each stored level, the fewer than 16 completed subtrees
/// not yet folded into a node of the next stored level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    pending: Vec<Vec<Hash>>,
}

impl Frontier {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Loads the frontier of a stored tree of `size` leaves (reads < 16 nodes per level).
    pub fn load<S: NodeStore>(s: &mut S, size: u64) -> Result<Self, S::Error> {
        let mut pending = Vec::new();
        let mut level = 0;
        while level < 64 && (size >> level) > 0 {
            let count = (size >> level) % GROUP as u64;
            let first = (size >> level) - count;
            let mut nodes = s.stored_nodes(level, first, count)?;
            nodes.reserve(GROUP);
            pending.push(nodes);
            level += STORED_LEVEL_STRIDE;
        }
        Ok(Frontier { size, pending })
    }

    /// Appends a leaf hash; returns the nodes above level 0 that it completed, to persist.
    pub fn push(&mut self, leaf: Hash) -> Vec<StoredNode> {
        self.size += 1;
        let mut out = Vec::new();
        let mut hash = leaf;
        let mut i = 0;
        loop {
            if self.pending.len() <= i {
                self.pending.push(Vec::with_capacity(GROUP));
            }
            self.pending[i].push(hash);
            if self.pending[i].len() < GROUP {
                break;
            }
            hash = perfect_of(&self.pending[i]);
            self.pending[i].clear();
            i += 1;
            let level = i as u32 * STORED_LEVEL_STRIDE;
            out.push(StoredNode { level, index: (self.size >> level) - 1, hash });
        }
        out
    }

    /// The current root.
    pub fn root(&self) -> Hash {
        let mut subtrees = Vec::new();
        for nodes in self.pending.iter().rev() {
            let mut rest = &nodes[..];
            while !rest.is_empty() {
                let take = 1usize << (usize::BITS - 1 - rest.len().leading_zeros());
                subtrees.push(perfect_of(&rest[..take]));
                rest = &rest[take..];
            }
        }
        let Some(mut acc) = subtrees.pop() else {
            return empty_root();
        };
        while let Some(left) = subtrees.pop() {
            acc = parent_hash(&left, &acc);
        }
        acc
    }
}

/// MTH of a power-of-two count of sibling perfect subtrees.
fn perfect_of(nodes: &[Hash]) -> Hash {
    debug_assert!(nodes.len().is_power_of_two());
    let mut level: Vec<Hash> = nodes.to_vec();
    while level.len() > 1 {
        level = level.chunks(2).map(|p| parent_hash(&p[0], &p[1])).collect();
    }
    level[0]
}

/// An in-memory [`NodeStore`], for tests and for verifying exported logs.
#[derive(Debug, Default, Clone)]
pub struct MemoryNodes {
    pub levels: std::collections::BTreeMap<(u32, u64), Hash>,
    pub frontier: Frontier,
}

impl MemoryNodes {
    pub fn push(&mut self, leaf: Hash) {
        let idx = self.frontier.size();
        self.levels.insert((0, idx), leaf);
        for n in self.frontier.push(leaf) {
            self.levels.insert((n.level, n.index), n.hash);
        }
    }
}

impl NodeStore for MemoryNodes {
    type Error = std::convert::Infallible;
    fn stored_nodes(&mut self, level: u32, index: u64, count: u64) -> Result<Vec<Hash>, Self::Error> {
        Ok((index..index + count).map(|i| *self.levels.get(&(level, i)).expect("node stored")).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leaf_hash;
    use ct_merkle::mem_backed_tree::MemoryBackedTree;
    use proptest::prelude::*;

    fn build(n: u64) -> (MemoryNodes, MemoryBackedTree<Sha256, Vec<u8>>) {
        let mut ours = MemoryNodes::default();
        let mut theirs = MemoryBackedTree::<Sha256, Vec<u8>>::new();
        for i in 0..n {
            let bytes = format!("entry {i}").into_bytes();
            ours.push(leaf_hash(&bytes));
            theirs.push(bytes);
        }
        (ours, theirs)
    }

    #[test]
    fn empty_tree_root_is_hash_of_empty_string() {
        assert_eq!(Frontier::new().root(), empty_root());
    }

    proptest! {
        /// Differential test: our stored-node tree gives ct-merkle's roots and proofs.
        #[test]
        fn roots_and_proofs_match_ct_merkle(n in 1u64..700, a in 0u64..700, b in 0u64..700) {
            let (mut ours, theirs) = build(n);
            let root: Hash = (*theirs.root().as_bytes()).into();
            prop_assert_eq!(ours.frontier.root(), root);
            prop_assert_eq!(super::root(&mut ours, n).unwrap(), root);
            let reloaded = Frontier::load(&mut ours, n).unwrap();
            prop_assert_eq!(&reloaded, &ours.frontier);

            let idx = a % n;
            let proof = inclusion_proof(&mut ours, n, idx).unwrap();
            let expected: Vec<u8> = theirs.prove_inclusion(idx as usize).as_bytes().to_vec();
            prop_assert_eq!(proof.concat(), expected);
            let bytes = format!("entry {idx}").into_bytes();
            prop_assert!(verify_inclusion(&root, n, idx, &bytes, &proof));
            prop_assert!(!verify_inclusion(&root, n, idx, b"forged", &proof));

            let old = 1 + b % n;
            let old_root = super::root(&mut ours, old).unwrap();
            let cproof = consistency_proof(&mut ours, old, n).unwrap();
            prop_assert!(verify_consistency(&old_root, old, &root, n, &cproof));
            let mut bad_root = old_root;
            bad_root[0] ^= 1;
            prop_assert!(!verify_consistency(&bad_root, old, &root, n, &cproof));
        }
    }
}
