//! The table from "stage + implementation" to code.
//!
//! Stage contracts put constructors on the trait (`HashRing::new`) so learners write plain
//! `impl HashRing for Ring`. Here each implementation is turned into plain function pointers, so
//! the rest of the grader (and later stages that build a ring) never needs to be generic.

use anti_entropy::Replica;
use hash_ring::{HashRing, RingError};
use vector_clocks::{VectorClocks, VersionStore};

use crate::implementation::Implementation;
use crate::mutants;

/// A stage-1 implementation, as function pointers.
#[derive(Clone, Copy)]
pub struct RingImpl {
    pub new: fn(u32) -> Result<Box<dyn HashRing>, RingError>,
    pub position: fn(&str) -> u64,
}

impl RingImpl {
    pub fn of<R: HashRing + 'static>() -> Self {
        RingImpl {
            new: |vnodes| R::new(vnodes).map(|r| Box::new(r) as Box<dyn HashRing>),
            position: R::position,
        }
    }
}

/// The stage-1 implementation to use. Unknown mutant names were refused on the command line.
pub fn hash_ring(implementation: &Implementation) -> RingImpl {
    match implementation {
        Implementation::Learner => RingImpl::of::<hash_ring::solution::Ring>(),
        Implementation::Reference => RingImpl::of::<reference::hash_ring::Ring>(),
        Implementation::Mutant(name) => mutants::hash_ring::by_name(name)
            .unwrap_or_else(|| panic!("unknown hash-ring mutant `{name}`")),
    }
}

/// A stage-4 implementation: its clock rules and a constructor for its sibling store.
///
/// Stages 5 and 6 reconcile siblings through these same two pointers, so they can run on the
/// learner's clocks or the reference's without knowing which.
#[derive(Clone, Copy)]
pub struct ClockImpl {
    pub clocks: fn() -> Box<dyn VectorClocks>,
    pub new_store: fn(usize) -> Box<dyn VersionStore>,
}

impl ClockImpl {
    pub fn of<C, S>() -> Self
    where
        C: VectorClocks + Default + 'static,
        S: VersionStore + 'static,
    {
        ClockImpl {
            clocks: || Box::new(C::default()),
            new_store: |threshold| Box::new(S::new(threshold)),
        }
    }
}

/// The stage-4 implementation to use. Unknown mutant names were refused on the command line.
pub fn vector_clocks(implementation: &Implementation) -> ClockImpl {
    match implementation {
        Implementation::Learner => {
            ClockImpl::of::<vector_clocks::solution::Clocks, vector_clocks::solution::Store>()
        }
        Implementation::Reference => {
            ClockImpl::of::<reference::vector_clocks::Clocks, reference::vector_clocks::Store>()
        }
        Implementation::Mutant(name) => mutants::vector_clocks::by_name(name)
            .unwrap_or_else(|| panic!("unknown vector-clocks mutant `{name}`")),
    }
}

/// A stage-5 implementation: a constructor for its replica.
#[derive(Clone, Copy)]
pub struct ReplicaImpl {
    pub new: fn(u32) -> Box<dyn Replica>,
}

impl ReplicaImpl {
    pub fn of<R: Replica + 'static>() -> Self {
        ReplicaImpl {
            new: |depth| Box::new(R::new(depth)),
        }
    }
}

/// The stage-5 implementation to use. Unknown mutant names were refused on the command line.
pub fn anti_entropy(implementation: &Implementation) -> ReplicaImpl {
    match implementation {
        Implementation::Learner => ReplicaImpl::of::<anti_entropy::solution::MerkleReplica>(),
        Implementation::Reference => ReplicaImpl::of::<reference::anti_entropy::MerkleReplica>(),
        Implementation::Mutant(name) => mutants::anti_entropy::by_name(name)
            .unwrap_or_else(|| panic!("unknown anti-entropy mutant `{name}`")),
    }
}
