//! Which implementation serves each stage: the one table both hosts use.
//!
//! Stage contracts put constructors on the trait (`HashRing::new`) so learners write plain
//! `impl HashRing for Ring`. Here each implementation is turned into plain function pointers (or
//! trait objects), so the grader, the real cluster (`cluster/`) and later stages that use earlier
//! ones never need to be generic over who implements a stage.
//!
//! Each module offers `reference()` (the crate `reference`); the learner's implementations come
//! as a [`Learner`] table filled by the small crate `dynamo-learner` (`stages/learner`), the only
//! crate that depends on the learner's solution packages (`stages/NN-*/solution`). So this crate,
//! the reference and the grader's bulk depend on the stage *contracts* only, and an edit to a
//! `solution.rs` never recompiles them. The grader adds its deliberately faulty mutants on top
//! (`grader/src/mutants`); they never ship to the cluster.

#![deny(missing_docs)]

pub mod anti_entropy;
pub mod fault_tolerance;
pub mod hash_ring;
pub mod quorum;
pub mod read_repair;
pub mod store;
pub mod vector_clocks;

/// The learner's implementations, one per stage: `None` for a stage that is not built in (its
/// `solution.rs` does not compile, so the grader left that stage's package out of the build).
#[derive(Clone, Copy, Default)]
pub struct Learner {
    /// Stage 1 (`stages/01-hash-ring/src/solution.rs`).
    pub hash_ring: Option<hash_ring::RingImpl>,
    /// Stage 2.
    pub quorum: Option<quorum::QuorumImpl>,
    /// Stage 3.
    pub fault_tolerance: Option<fault_tolerance::SloppyImpl>,
    /// Stage 4.
    pub vector_clocks: Option<vector_clocks::ClockImpl>,
    /// Stage 5.
    pub anti_entropy: Option<anti_entropy::ReplicaImpl>,
    /// Stage 6.
    pub read_repair: Option<read_repair::ReadRepairImpl>,
    /// Stage 7, the node.
    pub store: Option<store::NewNode>,
}
