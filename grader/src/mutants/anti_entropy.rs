//! Faulty stage-5 replicas.
//!
//! A mutant keeps its data in one `BTreeMap` and rebuilds its whole tree (cached until the next
//! change) from the reference's hashing functions with exactly one of them broken. Slow, but
//! simple enough to trust: the only difference from the reference is the bug.

use std::cell::RefCell;
use std::collections::BTreeMap;

use anti_entropy::{
    Diff, Difference, Hash, Key, KeyDifference, Replica, SiblingStores, SyncReport, Version,
};
use reference::anti_entropy::{self as good, inner_hash, leaf_hash, object_digest, position};
use sha2::{Digest, Sha256};

use crate::implementations::ReplicaImpl;

/// `(name, what it does wrong, misbehaves)`.
pub const MUTANTS: &[(&str, &str, bool)] = &[
    ("panics", "node() panics", true),
    (
        "inner-right-left",
        "an inner node hashes right ‖ left instead of left ‖ right",
        false,
    ),
    (
        "visits-equal-subtrees",
        "diff descends into every child pair, equal or not",
        false,
    ),
    (
        "leaf-in-insertion-order",
        "a leaf hashes its entries in insertion order instead of key order",
        false,
    ),
    (
        "no-length-prefix",
        "a leaf entry is key ‖ digest, without the key's length in front",
        false,
    ),
    (
        "stale-after-delete",
        "delete removes the key but leaves the leaf's hash (and the path above it) unchanged",
        false,
    ),
    (
        "sync-overwrites",
        "sync copies this replica's siblings over the other's, dropping concurrent versions",
        false,
    ),
    (
        "swapped-orientation",
        "diff reports missing-here for keys only here, and missing-there for keys only there",
        false,
    ),
    (
        "low-bits-segment",
        "a key's segment is the low depth bits of its position instead of the top ones",
        false,
    ),
    (
        "naive-diff-claims-tree-cost",
        "diff lists every key of both replicas and compares them one by one, but reports the \
         comparison count a tree walk would have made",
        false,
    ),
    (
        "rebuilds-on-write",
        "every write rebuilds the whole tree (right hashes, but 2^(depth+1) - 1 of them per write)",
        false,
    ),
];

/// The mutant called `name`.
pub fn by_name(name: &str) -> Option<ReplicaImpl> {
    let bug = MUTANTS.iter().position(|(n, _, _)| *n == name)?;
    Some(match bug {
        0 => ReplicaImpl::of::<Mutant<0>>(),
        1 => ReplicaImpl::of::<Mutant<1>>(),
        2 => ReplicaImpl::of::<Mutant<2>>(),
        3 => ReplicaImpl::of::<Mutant<3>>(),
        4 => ReplicaImpl::of::<Mutant<4>>(),
        5 => ReplicaImpl::of::<Mutant<5>>(),
        6 => ReplicaImpl::of::<Mutant<6>>(),
        7 => ReplicaImpl::of::<Mutant<7>>(),
        8 => ReplicaImpl::of::<Mutant<8>>(),
        9 => ReplicaImpl::of::<Mutant<9>>(),
        10 => ReplicaImpl::of::<Mutant<10>>(),
        _ => return None,
    })
}

/// The reference replica's behaviour with bug number `BUG` (the index in [`MUTANTS`]).
pub struct Mutant<const BUG: u8> {
    depth: u32,
    data: BTreeMap<Key, Vec<Version>>,
    /// Keys in the order they were first inserted (bug 3).
    arrival: Vec<Key>,
    /// Leaf hashes frozen by a delete (bug 5).
    frozen: BTreeMap<u64, Hash>,
    tree: RefCell<Option<Vec<Vec<Hash>>>>,
}

impl<const BUG: u8> Mutant<BUG> {
    /// Every stored key by segment, each segment's keys in hashing order (key order; insertion
    /// order for bug 3): one pass, so a rebuild costs what a learner's would.
    fn by_segment(&self) -> BTreeMap<u64, Vec<&Key>> {
        let keys: Vec<&Key> = match BUG {
            3 => self.arrival.iter().collect(),
            _ => self.data.keys().collect(),
        };
        let mut by_segment: BTreeMap<u64, Vec<&Key>> = BTreeMap::new();
        for k in keys {
            if self.data.contains_key(k) {
                by_segment.entry(self.segment(k)).or_default().push(k);
            }
        }
        by_segment
    }

    fn leaf_hash(&self, segment: u64) -> Hash {
        let by_segment = self.by_segment();
        self.leaf_hash_of(segment, by_segment.get(&segment).map_or(&[], Vec::as_slice))
    }

    fn leaf_hash_of(&self, segment: u64, keys: &[&Key]) -> Hash {
        if let Some(h) = self.frozen.get(&segment) {
            return *h;
        }
        let digests: Vec<(&str, [u8; 32])> = keys
            .iter()
            .map(|k| (k.as_str(), object_digest(&self.data[k.as_str()])))
            .collect();
        if BUG == 4 {
            let mut h = Sha256::new();
            for (k, d) in &digests {
                h.update(k.as_bytes());
                h.update(d);
            }
            return Hash(h.finalize().into());
        }
        leaf_hash(digests.iter().map(|(k, d)| (*k, d)))
    }

    fn levels(&self) -> Vec<Vec<Hash>> {
        if let Some(t) = self.tree.borrow().as_ref() {
            return t.clone();
        }
        let by_segment = self.by_segment();
        let leaves: Vec<Hash> = (0..1u64 << self.depth)
            .map(|s| self.leaf_hash_of(s, by_segment.get(&s).map_or(&[], Vec::as_slice)))
            .collect();
        let mut levels = vec![leaves];
        while levels[0].len() > 1 {
            let above = levels[0]
                .chunks(2)
                .map(|pair| match BUG {
                    1 => inner_hash(&pair[1], &pair[0]),
                    _ => inner_hash(&pair[0], &pair[1]),
                })
                .collect();
            levels.insert(0, above);
        }
        *self.tree.borrow_mut() = Some(levels.clone());
        levels
    }
}

impl<const BUG: u8> Replica for Mutant<BUG> {
    fn new(depth: u32) -> Self {
        Mutant {
            depth,
            data: BTreeMap::new(),
            arrival: Vec::new(),
            frozen: BTreeMap::new(),
            tree: RefCell::new(None),
        }
    }

    fn depth(&self) -> u32 {
        self.depth
    }

    fn segment(&self, key: &str) -> u64 {
        match (BUG, self.depth) {
            (8, 0) => 0,
            (8, d) => position(key) & ((1u64 << d) - 1),
            _ => good::segment_of(position(key), self.depth),
        }
    }

    fn insert(&mut self, key: &str, mut siblings: Vec<Version>) {
        siblings.sort();
        if !self.data.contains_key(key) {
            self.arrival.push(key.to_string());
        }
        let segment = self.segment(key);
        self.frozen.remove(&segment);
        self.data.insert(key.to_string(), siblings);
        *self.tree.get_mut() = None;
    }

    fn delete(&mut self, key: &str) -> bool {
        let segment = self.segment(key);
        if BUG == 5 {
            let before = self.leaf_hash(segment);
            self.frozen.insert(segment, before);
        }
        let found = self.data.remove(key).is_some();
        self.arrival.retain(|k| k != key);
        *self.tree.get_mut() = None;
        found
    }

    fn get(&self, key: &str) -> Vec<Version> {
        self.data.get(key).cloned().unwrap_or_default()
    }

    fn keys(&self) -> Vec<Key> {
        self.data.keys().cloned().collect()
    }

    fn leaf(&self, segment: u64) -> Vec<(Key, Vec<Version>)> {
        self.data
            .iter()
            .filter(|(k, _)| self.segment(k) == segment)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    fn node(&self, level: u32, index: u64) -> Hash {
        if BUG == 0 {
            panic!("mutant: node() panicked");
        }
        self.levels()
            .get(level as usize)
            .and_then(|l| l.get(index as usize))
            .copied()
            .unwrap_or_default()
    }

    fn diff(&self, other: &dyn Replica) -> Diff {
        let mut diff = match BUG {
            2 => {
                let mut comparisons = 1;
                for level in 1..=self.depth {
                    for index in 0..1u64 << level {
                        comparisons += 1;
                        let _ = self.node(level, index) == other.node(level, index);
                    }
                }
                Diff {
                    comparisons,
                    ..good::diff(self, other)
                }
            }
            9 => {
                // The right keys, found the expensive way; the count is copied from a real walk.
                let claimed = good::diff(self, other).comparisons;
                let theirs = other.keys();
                let mut keys: Vec<KeyDifference> = Vec::new();
                for key in self.keys().iter().chain(&theirs) {
                    if keys.iter().any(|k| &k.key == key) {
                        continue;
                    }
                    let (mine, them) = (self.get(key), other.get(key));
                    let difference = match (mine.is_empty(), them.is_empty()) {
                        (true, _) => Difference::MissingHere,
                        (_, true) => Difference::MissingThere,
                        _ if mine != them => Difference::Different,
                        _ => continue,
                    };
                    keys.push(KeyDifference {
                        key: key.clone(),
                        difference,
                    });
                }
                keys.sort();
                Diff {
                    keys,
                    comparisons: claimed,
                }
            }
            _ => good::diff(self, other),
        };
        if BUG == 7 {
            for kd in &mut diff.keys {
                kd.difference = match kd.difference {
                    Difference::MissingHere => Difference::MissingThere,
                    Difference::MissingThere => Difference::MissingHere,
                    Difference::Different => Difference::Different,
                };
            }
        }
        diff
    }

    fn sync(&mut self, other: &mut dyn Replica, stores: &SiblingStores) -> SyncReport {
        if BUG != 6 {
            return good::sync(self, other, stores);
        }
        let found = self.diff(other);
        let mut report = SyncReport::default();
        for KeyDifference { key, difference } in found.keys {
            match difference {
                Difference::MissingHere => {
                    self.insert(&key, other.get(&key));
                    report.received.push(key);
                }
                Difference::MissingThere => {
                    other.insert(&key, self.get(&key));
                    report.sent.push(key);
                }
                Difference::Different => {
                    other.insert(&key, self.get(&key));
                    report.sent.push(key.clone());
                    report.received.push(key);
                }
            }
        }
        report
    }
}
