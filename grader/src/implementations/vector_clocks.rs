//! Stage 4: vector clocks and the sibling store.
//!
//! The implementations themselves live in the `dynamo-select` crate (shared with `cluster/`);
//! this module adds the grader's mutants.

pub use dynamo_select::vector_clocks::ClockImpl;

use crate::implementation::Implementation;
use crate::mutants;

/// The vector-clocks implementation to use. Unknown mutant names were refused on the command line.
pub fn vector_clocks(implementation: &Implementation) -> ClockImpl {
    match implementation {
        Implementation::Learner => dynamo_select::vector_clocks::learner(),
        Implementation::Reference => dynamo_select::vector_clocks::reference(),
        Implementation::Mutant(name) => mutants::vector_clocks::by_name(name)
            .unwrap_or_else(|| panic!("unknown vector-clocks mutant `{name}`")),
    }
}
