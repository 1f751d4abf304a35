//! Stage 5: Merkle-tree replicas.
//!
//! The reference's implementation comes from the `dynamo-select` crate (shared with `cluster/`), the
//! learner's from the table the case runner was built with (`super::learner`); this module adds the
//! grader's mutants.

pub use dynamo_select::anti_entropy::ReplicaImpl;

use crate::implementation::Implementation;
use crate::mutants;

/// The anti-entropy implementation to use. Unknown mutant names were refused on the command line.
pub fn anti_entropy(implementation: &Implementation) -> ReplicaImpl {
    match implementation {
        Implementation::Learner => super::learner()
            .anti_entropy
            .unwrap_or_else(|| super::not_built("anti-entropy")),
        Implementation::Reference => dynamo_select::anti_entropy::reference(),
        Implementation::Mutant(name) => mutants::anti_entropy::by_name(name)
            .unwrap_or_else(|| panic!("unknown anti-entropy mutant `{name}`")),
    }
}
