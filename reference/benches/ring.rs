//! Stage 1 benchmark: owner lookup and preference list (N = 3) on 100 nodes x 256 vnodes, side
//! by side with the `hashring` crate from crates.io on the same keys.
//!
//! Run with `cargo bench -p reference --bench ring`. Both rings are built once per benchmark;
//! each iteration looks up the next of 1,024 fixed keys, so caches see a realistic spread.
//! The two differ in what they promise, which the numbers must be read with: the reference hashes
//! keys with SHA-256 (the course's rule) and returns distinct physical nodes; `hashring` hashes
//! with SipHash and returns the next vnodes, repeats included, after cloning its ring.
//! `owner_hashring_crate_sha256` gives the crate the same SHA-256 positions, so the two ring
//! structures can be compared on equal hashing.

use std::hint::black_box;

use divan::Bencher;
use hash_ring::{HashRing, NodeId};
use reference::hash_ring::Ring;

const NODES: u32 = 100;
const VNODES: u32 = 256;
const KEYS: usize = 1024;

fn main() {
    divan::main();
}

fn keys() -> Vec<String> {
    (0..KEYS).map(|i| format!("user-{i}")).collect()
}

fn reference_ring() -> Ring {
    let mut ring = Ring::new(VNODES).expect("vnodes > 0");
    for n in 0..NODES {
        ring.add_node(NodeId::new(format!("node-{n}")))
            .expect("distinct nodes");
    }
    ring
}

/// A `hashring` ring point: one vnode of one node.
#[derive(Clone, Debug, Hash, PartialEq)]
struct VNode {
    node: u32,
    vnode: u32,
}

/// A `Hasher` that buffers its input and finishes with the course's rule (the first 8 bytes of
/// SHA-256, big-endian), so the `hashring` crate can be measured with the same hash function.
#[derive(Default)]
struct Sha256Hasher(Vec<u8>);

impl std::hash::Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }

    fn finish(&self) -> u64 {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(&self.0);
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first)
    }
}

type Sha256Build = std::hash::BuildHasherDefault<Sha256Hasher>;

fn other_ring_sha256() -> hashring::HashRing<VNode, Sha256Build> {
    let mut ring = hashring::HashRing::with_hasher(Sha256Build::default());
    ring.batch_add(
        (0..NODES)
            .flat_map(|node| (0..VNODES).map(move |vnode| VNode { node, vnode }))
            .collect(),
    );
    ring
}

fn other_ring() -> hashring::HashRing<VNode> {
    let mut ring = hashring::HashRing::new();
    ring.batch_add(
        (0..NODES)
            .flat_map(|node| (0..VNODES).map(move |vnode| VNode { node, vnode }))
            .collect(),
    );
    ring
}

#[divan::bench]
fn owner_reference(b: Bencher) {
    let (ring, keys) = (reference_ring(), keys());
    let mut i = 0;
    b.bench_local(|| {
        i = (i + 1) % KEYS;
        ring.owner(black_box(&keys[i]))
    });
}

#[divan::bench]
fn owner_hashring_crate(b: Bencher) {
    let (ring, keys) = (other_ring(), keys());
    let mut i = 0;
    b.bench_local(|| {
        i = (i + 1) % KEYS;
        ring.get(black_box(&keys[i])).map(|v| v.node)
    });
}

/// The same crate with the course's SHA-256 positions: the ring structures compared alone.
#[divan::bench]
fn owner_hashring_crate_sha256(b: Bencher) {
    let (ring, keys) = (other_ring_sha256(), keys());
    let mut i = 0;
    b.bench_local(|| {
        i = (i + 1) % KEYS;
        ring.get(black_box(&keys[i])).map(|v| v.node)
    });
}

#[divan::bench]
fn preference_list_n3_reference(b: Bencher) {
    let (ring, keys) = (reference_ring(), keys());
    let mut i = 0;
    b.bench_local(|| {
        i = (i + 1) % KEYS;
        ring.preference_list(black_box(&keys[i]), 3)
    });
}

#[divan::bench]
fn preference_list_n3_hashring_crate(b: Bencher) {
    let (ring, keys) = (other_ring(), keys());
    let mut i = 0;
    b.bench_local(|| {
        i = (i + 1) % KEYS;
        ring.get_with_replicas(black_box(&keys[i]), 2)
    });
}

/// The key's SHA-256 alone, to see how much of a lookup is hashing.
#[divan::bench]
fn position_only_reference(b: Bencher) {
    let keys = keys();
    let mut i = 0;
    b.bench_local(|| {
        i = (i + 1) % KEYS;
        reference::hash_ring::position(black_box(&keys[i]))
    });
}
