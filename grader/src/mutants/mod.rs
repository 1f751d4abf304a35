//! Deliberately faulty implementations, selected with the hidden `--mutant STAGE=NAME` option.
//!
//! Two kinds live here. *Misbehaving* ones (panic, hang, stack overflow, abort, unbounded
//! allocation) prove that the grader survives whatever a learner's code does. *Buggy* ones make a
//! mistake learners really make; the course is sound only if some case of the stage catches each.
//! Every mutant wraps the reference and breaks exactly one thing.

pub mod anti_entropy;
pub mod fault_tolerance;
pub mod hash_ring;
pub mod quorum;
pub mod read_repair;
pub mod store;
pub mod vector_clocks;

use crate::stage::Stage;

/// Every mutant of a stage: `(name, what it gets wrong, misbehaves rather than being wrong)`.
pub fn list(stage: Stage) -> &'static [(&'static str, &'static str, bool)] {
    match stage {
        Stage::HashRing => hash_ring::MUTANTS,
        Stage::Quorum => quorum::MUTANTS,
        Stage::FaultTolerance => fault_tolerance::MUTANTS,
        Stage::VectorClocks => vector_clocks::MUTANTS,
        Stage::AntiEntropy => anti_entropy::MUTANTS,
        Stage::ReadRepair => read_repair::MUTANTS,
        Stage::Store => store::MUTANTS,
    }
}
