//! Costs of the reference clock operations as clocks grow: 3 entries (a typical N = 3 key), 10
//! (the paper's truncation threshold) and 50 (no truncation, a long-lived hot key).
//!
//! Run with `cargo bench -p reference --bench vector_clocks`. Inputs are built deterministically
//! (actors `n0..`, fixed counters and timestamps); each pair overlaps in all but one actor per
//! side, so `compare` walks both clocks to the end and answers Concurrent, its worst case.

use divan::{Bencher, black_box};
use reference::vector_clocks::Clocks;
use vector_clocks::{Entry, NodeId, VectorClock, VectorClocks};

fn main() {
    divan::main();
}

/// Two clocks of `n` entries sharing `n - 1` actors, each ahead on the one it alone has.
fn pair(n: usize) -> (VectorClock, VectorClock) {
    let clock = |skip: usize| -> VectorClock {
        (0..=n)
            .filter(|&i| i != skip)
            .map(|i| {
                let e = Entry {
                    counter: 1 + (i as u64 * 7) % 5,
                    timestamp: i as u64,
                };
                (NodeId::new(format!("n{i:02}")), e)
            })
            .collect()
    };
    (clock(0), clock(n))
}

#[divan::bench(args = [3, 10, 50])]
fn compare(bencher: Bencher, n: usize) {
    let (a, b) = pair(n);
    bencher.bench(|| Clocks.compare(black_box(&a), black_box(&b)));
}

#[divan::bench(args = [3, 10, 50])]
fn merge(bencher: Bencher, n: usize) {
    let (a, b) = pair(n);
    bencher.bench(|| Clocks.merge(black_box(&a), black_box(&b)));
}
