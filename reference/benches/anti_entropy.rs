//! What the Merkle tree buys: finding 16 differing keys among 1,000,000, by tree diff versus a
//! naive key-by-key comparison.
//!
//! Run with `cargo bench -p reference --bench anti_entropy`. Both replicas hold keys `key-0` …
//! `key-999999` (depth 16: 65,536 leaves of about 15 keys); the second then overwrites 16 of them
//! (every 62,500th key) with a newer version. Building the two trees is setup, done once and not
//! measured. Before the timings, the bench prints how many comparisons each method makes and the
//! ratio: the tree compares node hashes (at most 2 x 16 x 16 + 1 = 513), the naive method one
//! object per key. Everything is deterministic: fixed keys, fixed values, no randomness.

use std::sync::OnceLock;

use anti_entropy::{Diff, Replica, VectorClock, Version};
use divan::{Bencher, black_box};
use reference::anti_entropy::{MerkleReplica, diff_leaf};
use vector_clocks::{Entry, NodeId};

const KEYS: u64 = 1_000_000;
const DEPTH: u32 = 16;
const CHANGED: u64 = 16;

fn version(writer: &str, counter: u64, value: String) -> Vec<Version> {
    let clock: VectorClock = [(
        NodeId::new(writer),
        Entry {
            counter,
            timestamp: counter,
        },
    )]
    .into_iter()
    .collect();
    vec![Version { clock, value }]
}

/// The two replicas, built once.
fn replicas() -> &'static (MerkleReplica, MerkleReplica) {
    static PAIR: OnceLock<(MerkleReplica, MerkleReplica)> = OnceLock::new();
    PAIR.get_or_init(|| {
        let mut a = MerkleReplica::new(DEPTH);
        for i in 0..KEYS {
            a.insert(&format!("key-{i}"), version("W", 1, format!("value-{i}")));
        }
        let mut b = a.clone();
        for i in (0..KEYS).step_by((KEYS / CHANGED) as usize) {
            b.insert(&format!("key-{i}"), version("W", 2, format!("newer-{i}")));
        }
        (a, b)
    })
}

/// Key by key: every leaf's entries on both sides, joined and compared; one comparison per key.
fn naive(a: &dyn Replica, b: &dyn Replica) -> Diff {
    let mut diff = Diff::default();
    for segment in 0..1u64 << a.depth() {
        let (here, there) = (a.leaf(segment), b.leaf(segment));
        let mut keys: Vec<&String> = here.iter().chain(&there).map(|(k, _)| k).collect();
        keys.sort();
        keys.dedup();
        diff.comparisons += keys.len() as u64;
        diff.keys.extend(diff_leaf(&here, &there));
    }
    diff.keys.sort();
    diff
}

fn main() {
    let (a, b) = replicas();
    let tree = a.diff(b);
    let flat = naive(a, b);
    assert_eq!(tree.keys, flat.keys);
    assert_eq!(tree.keys.len() as u64, CHANGED);
    eprintln!(
        "{KEYS} keys, depth {DEPTH}, {CHANGED} differing: tree diff {} hash comparisons, naive {} \
         key comparisons, ratio {:.0}x",
        tree.comparisons,
        flat.comparisons,
        flat.comparisons as f64 / tree.comparisons as f64
    );
    divan::main();
}

#[divan::bench]
fn tree_diff(bencher: Bencher) {
    let (a, b) = replicas();
    bencher.bench(|| black_box(a).diff(black_box(b)));
}

#[divan::bench(sample_count = 10)]
fn naive_key_by_key(bencher: Bencher) {
    let (a, b) = replicas();
    bencher.bench(|| naive(black_box(a), black_box(b)));
}
