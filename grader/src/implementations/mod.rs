//! The table from "stage + implementation" to code, one module per stage.
//!
//! Stage contracts put constructors on the trait (`HashRing::new`) so learners write plain
//! `impl HashRing for Ring`. Here each implementation is turned into plain function pointers (or
//! trait objects), so the rest of the grader, and later stages that use earlier ones, never need
//! to be generic over who implements a stage.
//!
//! The grader's library never depends on the learner's code: the learner's implementations arrive
//! as a [`Learner`] table handed over by the binary that runs the case. The case runner
//! `grader-child` (package `grader/child`) links the learner's solution packages and passes their
//! table; the `grader` binary passes none and runs cases only for stages served by the reference
//! or a mutant (see `crate::build`).

mod anti_entropy;
mod fault_tolerance;
mod hash_ring;
mod quorum;
mod read_repair;
mod store;
mod vector_clocks;

pub use anti_entropy::{ReplicaImpl, anti_entropy};
pub use fault_tolerance::{DynSloppy, SloppyImpl, fault_tolerance};
pub use hash_ring::{RingImpl, hash_ring};
pub use quorum::{DynCoordinator, QuorumImpl, quorum};
pub use read_repair::{DynReadRepair, ReadRepairImpl, read_repair};
pub use store::store;
pub use vector_clocks::{ClockImpl, vector_clocks};

use std::sync::OnceLock;

use dynamo_select::Learner;

/// The learner's implementations linked into this process; empty until [`set_learner`].
static LEARNER: OnceLock<Learner> = OnceLock::new();

/// Installs the learner's implementations (once, at the start of a case process).
pub fn set_learner(learner: Learner) {
    let _ = LEARNER.set(learner);
}

/// The learner's implementations linked into this process (none in the `grader` binary).
pub fn learner() -> Learner {
    LEARNER.get().copied().unwrap_or_default()
}

/// A learner stage that this process does not contain. The parent never asks for one (it builds
/// the case runner with every learner stage a run reaches, and serves a stage that does not
/// compile from the reference), so reaching this is a grader bug, reported as a panic.
pub fn not_built(stage: &str) -> ! {
    panic!(
        "the grader's case process has no learner implementation of {stage} built in \
         (a grader bug: please report it)"
    )
}
