//! Stage 2: the quorum coordinator, as a trait object despite its `async fn`s.
//!
//! The reference's implementation comes from the `dynamo-select` crate (shared with `cluster/`), the
//! learner's from the table the case runner was built with (`super::learner`); this module adds the
//! grader's mutants.

pub use dynamo_select::quorum::{DynCoordinator, QuorumImpl};

use crate::implementation::Implementation;
use crate::mutants;

/// The quorum implementation to use. Unknown mutant names were refused on the command line.
pub fn quorum(implementation: &Implementation) -> QuorumImpl {
    match implementation {
        Implementation::Learner => super::learner()
            .quorum
            .unwrap_or_else(|| super::not_built("quorum")),
        Implementation::Reference => dynamo_select::quorum::reference(),
        Implementation::Mutant(name) => mutants::quorum::by_name(name)
            .unwrap_or_else(|| panic!("unknown quorum mutant `{name}`")),
    }
}
