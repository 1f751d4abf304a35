//! Stage 7: the node.
//!
//! The implementations themselves live in the `dynamo-select` crate (shared with `cluster/`);
//! this module adds the grader's mutants.

pub use dynamo_select::store::NewNode;

use crate::implementation::Implementation;
use crate::mutants;

/// The store implementation to use. Unknown mutant names were refused on the command line.
pub fn store(implementation: &Implementation) -> NewNode {
    match implementation {
        Implementation::Learner => dynamo_select::store::learner(),
        Implementation::Reference => dynamo_select::store::reference(),
        Implementation::Mutant(name) => {
            mutants::store::by_name(name).unwrap_or_else(|| panic!("unknown store mutant `{name}`"))
        }
    }
}
