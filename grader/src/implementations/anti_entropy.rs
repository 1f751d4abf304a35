//! Stage 5: Merkle-tree replicas.
//!
//! The implementations themselves live in the `dynamo-select` crate (shared with `cluster/`);
//! this module adds the grader's mutants.

pub use dynamo_select::anti_entropy::ReplicaImpl;

use crate::implementation::Implementation;
use crate::mutants;

/// The anti-entropy implementation to use. Unknown mutant names were refused on the command line.
pub fn anti_entropy(implementation: &Implementation) -> ReplicaImpl {
    match implementation {
        Implementation::Learner => dynamo_select::anti_entropy::learner(),
        Implementation::Reference => dynamo_select::anti_entropy::reference(),
        Implementation::Mutant(name) => mutants::anti_entropy::by_name(name)
            .unwrap_or_else(|| panic!("unknown anti-entropy mutant `{name}`")),
    }
}
