//! Simulated store operations per second of wall time, on the simulator the grader runs.
//!
//! Each benchmark runs one official stage-7 case the way a part of `cargo grade store --seeds N`
//! runs it (`grader::bench::store_case`): every stage the reference, each seed's workload on a
//! fresh 5-node cluster (N=3, R=2, W=2) with its fault schedule, then quiescence (every node
//! ticking: gossip, handoff, anti-entropy, reaping) and the checkers. The counter is the case's
//! client operations, so divan reports simulated operations per second of wall time, background
//! work and judging included; simulated time itself costs nothing.
//!
//! Run it with `cargo bench -p grader --bench store_sim`. The figure for the whole course is the
//! grader's own: `time cargo grade store --reference all --seeds 1000`.

use std::path::PathBuf;

use divan::Bencher;
use divan::counter::ItemsCount;

/// The case process's allocator (see `grader/src/main.rs`), so the figure is the grader's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Seeds per sample: enough that one sample is a few dozen workloads.
const SEEDS: u64 = 10;

fn main() {
    divan::main();
}

/// The text of the official store case `file` (in `tests/cases/07-store/`).
fn case(file: &str) -> String {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "tests",
        "cases",
        "07-store",
        file,
    ]
    .iter()
    .collect();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs `file` under seeds 1..=`SEEDS` per sample, counting its client operations.
fn bench_case(bencher: Bencher, file: &str) {
    let text = case(file);
    let operations = grader::bench::store_case(&text, SEEDS)
        .unwrap_or_else(|e| panic!("{file} fails on the reference: {e}"));
    bencher
        .counter(ItemsCount::new(operations))
        .bench_local(|| grader::bench::store_case(&text, SEEDS));
}

/// Four clients, 30 operations each, on 4 keys, no faults: the sweep's most expensive case.
#[divan::bench(sample_count = 10)]
fn concurrent_clients(bencher: Bencher) {
    bench_case(bencher, "05-concurrent-clients.yaml");
}

/// Crashes and recoveries under load: sloppy quorum, hints, handoff.
#[divan::bench(sample_count = 10)]
fn crash_recover(bencher: Bencher) {
    bench_case(bencher, "10-crash-recover-workload.yaml");
}

/// A node joins under load: transfers, ring changes, anti-entropy.
#[divan::bench(sample_count = 10)]
fn join_under_load(bencher: Bencher) {
    bench_case(bencher, "28-join-under-load.yaml");
}

/// Strict mode: read phases, write-backs, the linearizability checker.
#[divan::bench(sample_count = 10)]
fn strict_linearizable(bencher: Bencher) {
    bench_case(bencher, "30-strict-is-linearizable.yaml");
}
