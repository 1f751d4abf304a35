//! Stage 4: vector clocks and the sibling store.

use vector_clocks::{VectorClocks, VersionStore};

/// A stage-4 implementation: its clock rules and a constructor for its sibling store.
///
/// Stages 5 and 6 reconcile siblings through these same two pointers, so they can run on the
/// learner's clocks or the reference's without knowing which.
#[derive(Clone, Copy)]
pub struct ClockImpl {
    /// `clocks`: see the stage contract.
    pub clocks: fn() -> Box<dyn VectorClocks>,
    /// `new_store`: see the stage contract.
    pub new_store: fn(usize) -> Box<dyn VersionStore>,
}

impl ClockImpl {
    /// The implementation of type `C` (or `R`, `C`+`S`), as function pointers.
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

/// The reference implementation (`reference/`).
pub fn reference() -> ClockImpl {
    ClockImpl::of::<reference::vector_clocks::Clocks, reference::vector_clocks::Store>()
}
