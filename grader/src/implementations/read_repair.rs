//! Stage 6: the read-repair coordinator, as a trait object despite its `async fn`.
//!
//! The reference's implementation comes from the `dynamo-select` crate (shared with `cluster/`), the
//! learner's from the table the case runner was built with (`super::learner`); this module adds the
//! grader's mutants.

pub use dynamo_select::read_repair::{DynReadRepair, ReadRepairImpl};

use crate::implementation::Implementation;
use crate::mutants;

/// The read-repair implementation to use. Unknown mutant names were refused on the command line.
pub fn read_repair(implementation: &Implementation) -> ReadRepairImpl {
    match implementation {
        Implementation::Learner => super::learner()
            .read_repair
            .unwrap_or_else(|| super::not_built("read-repair")),
        Implementation::Reference => dynamo_select::read_repair::reference(),
        Implementation::Mutant(name) => mutants::read_repair::by_name(name)
            .unwrap_or_else(|| panic!("unknown read-repair mutant `{name}`")),
    }
}
