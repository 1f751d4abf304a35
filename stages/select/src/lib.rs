//! Which implementation serves each stage: the one table both hosts use.
//!
//! Stage contracts put constructors on the trait (`HashRing::new`) so learners write plain
//! `impl HashRing for Ring`. Here each implementation is turned into plain function pointers (or
//! trait objects), so the grader, the real cluster (`cluster/`) and later stages that use earlier
//! ones never need to be generic over who implements a stage.
//!
//! Each module offers `learner()` (the learner's `solution.rs`) and `reference()` (the crate
//! `reference`). The grader adds its deliberately faulty mutants on top (`grader/src/mutants`);
//! they never ship to the cluster.

#![deny(missing_docs)]

pub mod anti_entropy;
pub mod fault_tolerance;
pub mod hash_ring;
pub mod quorum;
pub mod read_repair;
pub mod store;
pub mod vector_clocks;
