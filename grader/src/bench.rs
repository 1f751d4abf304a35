//! The grader's benchmarks' way in (`grader/benches/store_sim.rs`): a benchmark can reach only
//! the library's public items, and it must time the simulator the grader really runs, not a copy
//! of it. So this runs one store case in this process exactly as a sweep part does (every stage
//! the reference, every seed's workload on a fresh simulated cluster, then quiescence and the
//! checkers), judged as the grader judges it. Hidden from the docs: it is not an interface for
//! anyone but the benchmarks.

use std::path::Path;

use crate::implementation::Selection;
use crate::snapshot::Snapshots;
use crate::stage::Stage;
use crate::stages::RunOptions;
use crate::stages::store::Seeds;

/// Runs the store case `text` (a case file's YAML, expectations included) under seeds 1..=`seeds`
/// with every stage the reference. Returns how many client operations its workloads ran (clients
/// times operations per client, per workload step and seed), or why it did not pass.
pub fn store_case(text: &str, seeds: u64) -> Result<u64, String> {
    let selection = Selection::default().with_reference_list("all")?;
    let options = RunOptions {
        seeds: Seeds::Sweep(seeds.max(1)),
    };
    let mut snapshots = Snapshots::Compare {
        dir: Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/snapshots")
            .join(Stage::Store.dir()),
        options,
    };
    let operations = crate::stages::store::client_operations(text)? * seeds.max(1);
    crate::stages::act(
        Stage::Store,
        text,
        &selection,
        &options,
        &mut snapshots,
        &mut |_, _, _| {},
    )?
    .map_err(|failure| {
        format!(
            "step {}: {}: expected {}, got {}",
            failure.step.map_or(0, |s| s + 1),
            failure.label,
            failure.mismatch.expected,
            failure.mismatch.actual
        )
    })?;
    Ok(operations)
}
