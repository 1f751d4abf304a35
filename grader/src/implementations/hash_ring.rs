//! Stage 1: the consistent hash ring.
//!
//! The reference's implementation comes from the `dynamo-select` crate (shared with `cluster/`), the
//! learner's from the table the case runner was built with (`super::learner`); this module adds the
//! grader's mutants.

pub use dynamo_select::hash_ring::RingImpl;

use crate::implementation::Implementation;
use crate::mutants;

/// The hash-ring implementation to use. Unknown mutant names were refused on the command line.
pub fn hash_ring(implementation: &Implementation) -> RingImpl {
    match implementation {
        Implementation::Learner => super::learner()
            .hash_ring
            .unwrap_or_else(|| super::not_built("hash-ring")),
        Implementation::Reference => dynamo_select::hash_ring::reference(),
        Implementation::Mutant(name) => mutants::hash_ring::by_name(name)
            .unwrap_or_else(|| panic!("unknown hash-ring mutant `{name}`")),
    }
}
