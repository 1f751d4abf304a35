//! Stage 5: anti-entropy with Merkle trees.
//!
//! The replica keeps its data bucketed by segment (one `BTreeMap` per leaf, so a leaf's entries
//! are already in key order) together with each object's digest, and the tree as one `Vec` of
//! hashes per level. An insert or delete rehashes its leaf from the bucket, then the `depth`
//! parents above it: `O(leaf size + depth)` hashing, never a rebuild.
//!
//! A new tree is not all zeros: every leaf is the empty-leaf hash, SHA-256(""), and every inner
//! node the hash of its two (equal) children, precomputed once per level.
//!
//! [`diff`] and [`sync`] are written against `&dyn Replica` only, so they work on any
//! implementation of the contract; the grader's faulty replicas reuse them.

use std::collections::BTreeMap;

use anti_entropy::{
    Diff, Difference, Hash, Key, KeyDifference, Replica, Sha256, SiblingStores, SyncReport, Version,
};

/// The ring position of `key`: the first 8 bytes of SHA-256(key), big-endian (stage 1's rule).
pub fn position(key: &str) -> u64 {
    let digest = Sha256::digest(key.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// The top `depth` bits of `position`; `0` for depth 0 (where `>> 64` would overflow).
pub fn segment_of(position: u64, depth: u32) -> u64 {
    if depth == 0 {
        0
    } else {
        position >> (64 - depth)
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The canonical encoding of a sibling set (sorted here, so the caller's order never matters):
/// `u64 count`, then per sibling `u64 entries`, per entry `str actor ‖ u64 counter ‖ u64
/// timestamp`, then `str value`; a `str` is its `u64` byte length then its bytes.
pub fn encode_object(siblings: &[Version]) -> Vec<u8> {
    let mut sorted: Vec<&Version> = siblings.iter().collect();
    sorted.sort();
    // Sized up front: one allocation, not one per doubling.
    let size: usize = sorted
        .iter()
        .map(|v| {
            let entries: usize = v.clock.entries.keys().map(|a| 24 + a.as_str().len()).sum();
            16 + entries + v.value.len()
        })
        .sum();
    let mut out = Vec::with_capacity(8 + size);
    out.extend_from_slice(&(sorted.len() as u64).to_be_bytes());
    for v in sorted {
        out.extend_from_slice(&(v.clock.entries.len() as u64).to_be_bytes());
        for (actor, e) in &v.clock.entries {
            put_bytes(&mut out, actor.as_str().as_bytes());
            out.extend_from_slice(&e.counter.to_be_bytes());
            out.extend_from_slice(&e.timestamp.to_be_bytes());
        }
        put_bytes(&mut out, v.value.as_bytes());
    }
    out
}

/// SHA-256 of [`encode_object`].
pub fn object_digest(siblings: &[Version]) -> [u8; 32] {
    Sha256::digest(encode_object(siblings))
}

/// SHA-256 over the entries in the order given (the caller passes key order): each
/// `u64 len(key) ‖ key ‖ digest`. No entries: SHA-256 of the empty string.
pub fn leaf_hash<'a>(entries: impl IntoIterator<Item = (&'a str, &'a [u8; 32])>) -> Hash {
    let mut h = Sha256::new();
    for (key, digest) in entries {
        h.update((key.len() as u64).to_be_bytes());
        h.update(key.as_bytes());
        h.update(digest);
    }
    Hash(h.finalize())
}

/// SHA-256(left ‖ right).
pub fn inner_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize())
}

/// The hash of an empty subtree at each level `0..=depth` of a tree of `depth`.
pub fn empty_hashes(depth: u32) -> Vec<Hash> {
    let mut by_level = vec![leaf_hash([]); depth as usize + 1];
    for level in (0..depth as usize).rev() {
        by_level[level] = inner_hash(&by_level[level + 1], &by_level[level + 1]);
    }
    by_level
}

/// One leaf's data: key → (sorted siblings, their object digest), in key order.
type Bucket = BTreeMap<Key, (Vec<Version>, [u8; 32])>;

/// The reference replica.
#[derive(Clone, Debug)]
pub struct MerkleReplica {
    depth: u32,
    /// Per segment: key → (sorted siblings, their digest).
    buckets: Vec<Bucket>,
    /// `levels[l][i]` is node `(l, i)`; `levels[depth]` are the leaves.
    levels: Vec<Vec<Hash>>,
}

impl MerkleReplica {
    /// Rehashes leaf `segment` from its bucket, then every node above it.
    fn rehash(&mut self, segment: u64) {
        let bucket = &self.buckets[segment as usize];
        let mut hash = leaf_hash(bucket.iter().map(|(k, (_, d))| (k.as_str(), d)));
        let mut index = segment as usize;
        for level in (0..=self.depth as usize).rev() {
            self.levels[level][index] = hash;
            if level == 0 {
                break;
            }
            let sibling = self.levels[level][index ^ 1];
            hash = if index.is_multiple_of(2) {
                inner_hash(&hash, &sibling)
            } else {
                inner_hash(&sibling, &hash)
            };
            index /= 2;
        }
    }
}

impl Replica for MerkleReplica {
    fn new(depth: u32) -> Self {
        let empty = empty_hashes(depth);
        MerkleReplica {
            depth,
            buckets: vec![BTreeMap::new(); 1 << depth],
            levels: (0..=depth)
                .map(|l| vec![empty[l as usize]; 1 << l])
                .collect(),
        }
    }

    fn depth(&self) -> u32 {
        self.depth
    }

    fn segment(&self, key: &str) -> u64 {
        segment_of(position(key), self.depth)
    }

    fn insert(&mut self, key: &str, mut siblings: Vec<Version>) {
        siblings.sort();
        let segment = self.segment(key);
        let digest = object_digest(&siblings);
        let bucket = &mut self.buckets[segment as usize];
        // A key already in the tree is updated in place, its key not copied again.
        match bucket.get_mut(key) {
            Some(entry) => *entry = (siblings, digest),
            None => {
                bucket.insert(key.to_string(), (siblings, digest));
            }
        }
        self.rehash(segment);
    }

    fn delete(&mut self, key: &str) -> bool {
        let segment = self.segment(key);
        let found = self.buckets[segment as usize].remove(key).is_some();
        if found {
            self.rehash(segment);
        }
        found
    }

    fn get(&self, key: &str) -> Vec<Version> {
        self.buckets[self.segment(key) as usize]
            .get(key)
            .map(|(siblings, _)| siblings.clone())
            .unwrap_or_default()
    }

    fn keys(&self) -> Vec<Key> {
        let mut keys: Vec<Key> = self
            .buckets
            .iter()
            .flat_map(|b| b.keys().cloned())
            .collect();
        keys.sort();
        keys
    }

    fn leaf(&self, segment: u64) -> Vec<(Key, Vec<Version>)> {
        self.buckets
            .get(segment as usize)
            .map(|b| b.iter().map(|(k, (s, _))| (k.clone(), s.clone())).collect())
            .unwrap_or_default()
    }

    fn node(&self, level: u32, index: u64) -> Hash {
        self.levels
            .get(level as usize)
            .and_then(|l| l.get(index as usize))
            .copied()
            .unwrap_or_default()
    }

    fn diff(&self, other: &dyn Replica) -> Diff {
        diff(self, other)
    }

    fn sync(&mut self, other: &mut dyn Replica, stores: &SiblingStores) -> SyncReport {
        sync(self, other, stores)
    }
}

/// The differing keys of two leaves' entries (both sorted by key), by one merge-join.
pub fn diff_leaf(
    here: &[(Key, Vec<Version>)],
    there: &[(Key, Vec<Version>)],
) -> Vec<KeyDifference> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    let mut push = |key: &Key, difference| {
        out.push(KeyDifference {
            key: key.clone(),
            difference,
        });
    };
    while i < here.len() || j < there.len() {
        match (here.get(i), there.get(j)) {
            (Some(a), Some(b)) if a.0 == b.0 => {
                if a.1 != b.1 {
                    push(&a.0, Difference::Different);
                }
                i += 1;
                j += 1;
            }
            (Some(a), Some(b)) if a.0 < b.0 => {
                push(&a.0, Difference::MissingThere);
                i += 1;
            }
            (Some(a), None) => {
                push(&a.0, Difference::MissingThere);
                i += 1;
            }
            (_, Some(b)) => {
                push(&b.0, Difference::MissingHere);
                j += 1;
            }
            (None, None) => break,
        }
    }
    out
}

/// Compares the roots, then level by level only the children of differing nodes; at the leaves
/// that differ, compares entries. One comparison per pair of node hashes looked at.
pub fn diff(here: &dyn Replica, there: &dyn Replica) -> Diff {
    let mut comparisons = 1;
    let mut differing = Vec::new();
    if here.node(0, 0) != there.node(0, 0) {
        differing.push(0u64);
    }
    for level in 1..=here.depth() {
        let mut next = Vec::new();
        for parent in differing {
            for child in [2 * parent, 2 * parent + 1] {
                comparisons += 1;
                if here.node(level, child) != there.node(level, child) {
                    next.push(child);
                }
            }
        }
        differing = next;
    }
    let mut keys: Vec<KeyDifference> = differing
        .into_iter()
        .flat_map(|s| diff_leaf(&here.leaf(s), &there.leaf(s)))
        .collect();
    keys.sort();
    Diff { keys, comparisons }
}

/// Stage 4's reconciliation of two sibling sets.
pub fn reconcile(stores: &SiblingStores, mine: Vec<Version>, theirs: Vec<Version>) -> Vec<Version> {
    let mut store = stores.new_store();
    store.reconcile(mine);
    store.reconcile(theirs);
    store.get()
}

/// Diffs, then gives both sides the reconciliation of each differing key's sibling sets.
pub fn sync(here: &mut dyn Replica, there: &mut dyn Replica, stores: &SiblingStores) -> SyncReport {
    let found = here.diff(there);
    let mut report = SyncReport::default();
    for KeyDifference { key, difference } in found.keys {
        let mine = here.get(&key);
        let theirs = there.get(&key);
        let merged = reconcile(stores, mine.clone(), theirs.clone());
        if merged != mine {
            here.insert(&key, merged.clone());
        }
        if merged != theirs {
            there.insert(&key, merged);
        }
        if difference != Difference::MissingHere {
            report.sent.push(key.clone());
        }
        if difference != Difference::MissingThere {
            report.received.push(key);
        }
    }
    report
}
