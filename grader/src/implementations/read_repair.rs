//! Stage 6: the read-repair coordinator, as a trait object despite its `async fn`.
//!
//! The implementations themselves live in the `dynamo-select` crate (shared with `cluster/`);
//! this module adds the grader's mutants.

pub use dynamo_select::read_repair::{DynReadRepair, ReadRepairImpl};

use crate::implementation::Implementation;
use crate::mutants;

/// The read-repair implementation to use. Unknown mutant names were refused on the command line.
pub fn read_repair(implementation: &Implementation) -> ReadRepairImpl {
    match implementation {
        Implementation::Learner => dynamo_select::read_repair::learner(),
        Implementation::Reference => dynamo_select::read_repair::reference(),
        Implementation::Mutant(name) => mutants::read_repair::by_name(name)
            .unwrap_or_else(|| panic!("unknown read-repair mutant `{name}`")),
    }
}
