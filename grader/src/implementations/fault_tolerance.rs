//! Stage 3: the sloppy-quorum coordinator, as a trait object despite its `async fn`s.
//!
//! The reference's implementation comes from the `dynamo-select` crate (shared with `cluster/`), the
//! learner's from the table the case runner was built with (`super::learner`); this module adds the
//! grader's mutants.

pub use dynamo_select::fault_tolerance::{DynSloppy, SloppyImpl};

use crate::implementation::Implementation;
use crate::mutants;

/// The fault-tolerance implementation to use. Unknown mutant names were refused on the command line.
pub fn fault_tolerance(implementation: &Implementation) -> SloppyImpl {
    match implementation {
        Implementation::Learner => super::learner()
            .fault_tolerance
            .unwrap_or_else(|| super::not_built("fault-tolerance")),
        Implementation::Reference => dynamo_select::fault_tolerance::reference(),
        Implementation::Mutant(name) => mutants::fault_tolerance::by_name(name)
            .unwrap_or_else(|| panic!("unknown fault-tolerance mutant `{name}`")),
    }
}
