//! Stage 1: the consistent hash ring.
//!
//! The implementations themselves live in the `dynamo-select` crate (shared with `cluster/`);
//! this module adds the grader's mutants.

pub use dynamo_select::hash_ring::RingImpl;

use crate::implementation::Implementation;
use crate::mutants;

/// The hash-ring implementation to use. Unknown mutant names were refused on the command line.
pub fn hash_ring(implementation: &Implementation) -> RingImpl {
    match implementation {
        Implementation::Learner => dynamo_select::hash_ring::learner(),
        Implementation::Reference => dynamo_select::hash_ring::reference(),
        Implementation::Mutant(name) => mutants::hash_ring::by_name(name)
            .unwrap_or_else(|| panic!("unknown hash-ring mutant `{name}`")),
    }
}
