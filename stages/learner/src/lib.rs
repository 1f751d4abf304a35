//! The learner's implementations, as the table both hosts use ([`dynamo_select::Learner`]).
//!
//! This is the only crate that depends on the learner's solution packages
//! (`stages/NN-*/solution`, each compiling one `src/solution.rs` against its stage's contract), and
//! it is kept tiny on purpose: an edit to a `solution.rs` recompiles that solution package, this
//! crate and the binary that links it (the grader's case runner `grader-child`, or `cargo dynamo`),
//! nothing else.
//!
//! Each stage is a cargo feature (all on by default). When a stage's `solution.rs` does not
//! compile, the grader rebuilds its case runner without that stage's feature, so every other stage
//! is still graded; the missing stage's entry is then `None`.

#![deny(missing_docs)]

use dynamo_select::Learner;
use dynamo_select::anti_entropy::ReplicaImpl;
use dynamo_select::fault_tolerance::SloppyImpl;
use dynamo_select::hash_ring::RingImpl;
use dynamo_select::quorum::QuorumImpl;
use dynamo_select::read_repair::ReadRepairImpl;
use dynamo_select::store::NewNode;
use dynamo_select::vector_clocks::ClockImpl;

/// The learner's implementation of every stage built in (see the crate docs).
pub fn table() -> Learner {
    Learner {
        hash_ring: hash_ring(),
        quorum: quorum(),
        fault_tolerance: fault_tolerance(),
        vector_clocks: vector_clocks(),
        anti_entropy: anti_entropy(),
        read_repair: read_repair(),
        store: store(),
    }
}

/// `fn $name() -> Option<$ty>`: `Some($built)` with the stage's feature on, `None` without it.
macro_rules! stage {
    ($name:ident, $feature:literal, $ty:ty, $built:expr) => {
        #[cfg(feature = $feature)]
        fn $name() -> Option<$ty> {
            Some($built)
        }

        #[cfg(not(feature = $feature))]
        fn $name() -> Option<$ty> {
            None
        }
    };
}

stage!(
    hash_ring,
    "hash-ring",
    RingImpl,
    RingImpl::of::<hash_ring_solution::solution::Ring>()
);
stage!(
    quorum,
    "quorum",
    QuorumImpl,
    QuorumImpl::of::<quorum_solution::solution::Quorum>()
);
stage!(
    fault_tolerance,
    "fault-tolerance",
    SloppyImpl,
    SloppyImpl::of::<fault_tolerance_solution::solution::Sloppy>()
);
stage!(
    vector_clocks,
    "vector-clocks",
    ClockImpl,
    ClockImpl::of::<
        vector_clocks_solution::solution::Clocks,
        vector_clocks_solution::solution::Store,
    >()
);
stage!(
    anti_entropy,
    "anti-entropy",
    ReplicaImpl,
    ReplicaImpl::of::<anti_entropy_solution::solution::MerkleReplica>()
);
stage!(
    read_repair,
    "read-repair",
    ReadRepairImpl,
    ReadRepairImpl::of::<read_repair_solution::solution::Coordinator>()
);
stage!(
    store,
    "store",
    NewNode,
    store::new_node::<store_solution::solution::Node>()
);
