//! Stage 4: vector clocks and the sibling store.

use vector_clocks::{VectorClocks, VersionStore};

use crate::implementation::Implementation;
use crate::mutants;

/// A stage-4 implementation: its clock rules and a constructor for its sibling store.
///
/// Stages 5 and 6 reconcile siblings through these same two pointers, so they can run on the
/// learner's clocks or the reference's without knowing which.
#[derive(Clone, Copy)]
pub struct ClockImpl {
    pub clocks: fn() -> Box<dyn VectorClocks>,
    pub new_store: fn(usize) -> Box<dyn VersionStore>,
}

impl ClockImpl {
    pub fn of<C, S>() -> Self
    where
        C: VectorClocks + Default + 'static,
        S: VersionStore + 'static,
    {
        ClockImpl {
            clocks: || Box::new(C::default()),
            new_store: |threshold| Box::new(S::new(threshold)),
        }
    }
}

/// The stage-4 implementation to use. Unknown mutant names were refused on the command line.
pub fn vector_clocks(implementation: &Implementation) -> ClockImpl {
    match implementation {
        Implementation::Learner => {
            ClockImpl::of::<vector_clocks::solution::Clocks, vector_clocks::solution::Store>()
        }
        Implementation::Reference => {
            ClockImpl::of::<reference::vector_clocks::Clocks, reference::vector_clocks::Store>()
        }
        Implementation::Mutant(name) => mutants::vector_clocks::by_name(name)
            .unwrap_or_else(|| panic!("unknown vector-clocks mutant `{name}`")),
    }
}
