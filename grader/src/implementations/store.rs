//! Stage 7: the node.
//!
//! The reference's implementation comes from the `dynamo-select` crate (shared with `cluster/`), the
//! learner's from the table the case runner was built with (`super::learner`); this module adds the
//! grader's mutants.

pub use dynamo_select::store::NewNode;

use crate::implementation::Implementation;
use crate::mutants;

/// The store implementation to use. Unknown mutant names were refused on the command line.
pub fn store(implementation: &Implementation) -> NewNode {
    match implementation {
        Implementation::Learner => super::learner()
            .store
            .unwrap_or_else(|| super::not_built("store")),
        Implementation::Reference => dynamo_select::store::reference(),
        Implementation::Mutant(name) => {
            mutants::store::by_name(name).unwrap_or_else(|| panic!("unknown store mutant `{name}`"))
        }
    }
}
