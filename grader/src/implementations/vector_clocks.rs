//! Stage 4: vector clocks and the sibling store.
//!
//! The reference's implementation comes from the `dynamo-select` crate (shared with `cluster/`), the
//! learner's from the table the case runner was built with (`super::learner`); this module adds the
//! grader's mutants.

pub use dynamo_select::vector_clocks::ClockImpl;

use crate::implementation::Implementation;
use crate::mutants;

/// The vector-clocks implementation to use. Unknown mutant names were refused on the command line.
pub fn vector_clocks(implementation: &Implementation) -> ClockImpl {
    match implementation {
        Implementation::Learner => super::learner()
            .vector_clocks
            .unwrap_or_else(|| super::not_built("vector-clocks")),
        Implementation::Reference => dynamo_select::vector_clocks::reference(),
        Implementation::Mutant(name) => mutants::vector_clocks::by_name(name)
            .unwrap_or_else(|| panic!("unknown vector-clocks mutant `{name}`")),
    }
}
