//! Stage 3: the sloppy-quorum coordinator, as a trait object despite its `async fn`s.

pub use fault_tolerance::DynSloppy;
use fault_tolerance::{ConfigError, FaultConfig, SloppyCoordinator, Versioned};
use read_repair::Siblings;

/// Stage 3's constructor, writing [`Versioned`] values.
pub type NewVersionedSloppy =
    fn(FaultConfig, usize) -> Result<Box<dyn DynSloppy<Versioned>>, ConfigError>;

/// A stage-3 implementation, as a function pointer.
#[derive(Clone, Copy)]
pub struct SloppyImpl {
    /// `new`, writing stage 3's [`Versioned`] values (the stage-3 cases).
    pub new: NewVersionedSloppy,
    /// `new`, writing stage 4's sibling sets (inside a stage-7 node).
    pub new_for_siblings: store::NewSloppy,
}

impl SloppyImpl {
    /// The implementation of type `C` (or `R`, `C`+`S`), as function pointers.
    pub fn of<C: SloppyCoordinator + 'static>() -> Self {
        SloppyImpl {
            new: |config, nodes| {
                C::new(config, nodes).map(|c| Box::new(c) as Box<dyn DynSloppy<Versioned>>)
            },
            new_for_siblings: |config, nodes| {
                C::new(config, nodes).map(|c| Box::new(c) as Box<dyn DynSloppy<Siblings>>)
            },
        }
    }
}

/// The reference implementation (`reference/`).
pub fn reference() -> SloppyImpl {
    SloppyImpl::of::<reference::fault_tolerance::Sloppy>()
}
