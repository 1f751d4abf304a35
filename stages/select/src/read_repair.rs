//! Stage 6: the read-repair coordinator, as a trait object despite its `async fn`.

pub use read_repair::DynReadRepair;
use read_repair::ReadRepair;

/// A stage-6 implementation, as a function pointer.
#[derive(Clone, Copy)]
pub struct ReadRepairImpl {
    /// `new`: see the stage contract.
    pub new: fn(usize) -> Box<dyn DynReadRepair>,
}

impl ReadRepairImpl {
    /// The implementation of type `C` (or `R`, `C`+`S`), as function pointers.
    pub fn of<C: ReadRepair + 'static>() -> Self {
        ReadRepairImpl {
            new: |r| Box::new(C::new(r)),
        }
    }
}

/// The reference implementation (`reference/`).
pub fn reference() -> ReadRepairImpl {
    ReadRepairImpl::of::<reference::read_repair::Coordinator>()
}
