//! How long the per-key linearizability check takes on 200-event histories of one key.
//!
//! Run with `cargo bench -p dynamo-checkers --bench linearizability`. Histories come from
//! [`dynamo_checkers::generate`] with fixed seeds, so every run measures the same inputs:
//! - `linearizable_200`: 1, 4 and 8 clients (more clients, more overlap, more configurations),
//!   10% of writes failed (maybe applied). The search succeeds; this is the common case.
//! - `stale_read_200`: one client, one injected stale read. The search must exhaust every
//!   configuration and then shrink the history to its minimal core.
//! - `late_stale_read_200`: 4 and 8 clients, 10% failed writes, and the last get made to return
//!   the first value put: exhaustive search over overlapping operations plus the shrink, the
//!   worst case per key.

use divan::{Bencher, black_box};
use dynamo_checkers::generate::{Shape, register_history, with_late_stale_read, with_stale_read};
use dynamo_checkers::linearizable;

fn main() {
    divan::main();
}

fn shape(clients: usize, fail_percent: u64) -> Shape {
    Shape {
        key: "cart".to_string(),
        ops: 200,
        clients,
        fail_percent,
    }
}

#[divan::bench(args = [1, 4, 8])]
fn linearizable_200(bencher: Bencher, clients: usize) {
    let history = register_history(&shape(clients, 10), 7);
    assert!(
        linearizable(&history).is_empty(),
        "generated history must be linearizable"
    );
    bencher.bench(|| linearizable(black_box(&history)));
}

#[divan::bench]
fn stale_read_200(bencher: Bencher) {
    let (_, history) = with_stale_read(&register_history(&shape(1, 0), 7), 7)
        .expect("a 200-op history has a get after a write");
    assert_eq!(
        linearizable(&history).len(),
        1,
        "the stale read must be found"
    );
    bencher.bench(|| linearizable(black_box(&history)));
}

#[divan::bench(args = [4, 8])]
fn late_stale_read_200(bencher: Bencher, clients: usize) {
    let history = with_late_stale_read(&register_history(&shape(clients, 10), 7));
    assert_eq!(
        linearizable(&history).len(),
        1,
        "the stale read must be found"
    );
    bencher.bench(|| linearizable(black_box(&history)));
}
