//! Stage 6: the read-repair coordinator, as a trait object despite its `async fn`.

use read_repair::{Client, Network, NodeId, ReadRepair, Stage4};

use crate::quorum::LocalBoxFuture;

/// A stage-6 coordinator behind a trait object: the contract's async method, boxed.
pub trait DynReadRepair {
    /// The contract's `read`, boxed.
    fn read<'a>(
        &'a self,
        network: &'a Network,
        stage4: &'a Stage4,
        preference: &'a [NodeId],
        key: &'a str,
        client: Client,
    ) -> LocalBoxFuture<'a, ()>;
}

impl<C: ReadRepair> DynReadRepair for C {
    fn read<'a>(
        &'a self,
        network: &'a Network,
        stage4: &'a Stage4,
        preference: &'a [NodeId],
        key: &'a str,
        client: Client,
    ) -> LocalBoxFuture<'a, ()> {
        Box::pin(ReadRepair::read(
            self, network, stage4, preference, key, client,
        ))
    }
}

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

/// The learner's implementation (`solution.rs`).
pub fn learner() -> ReadRepairImpl {
    ReadRepairImpl::of::<read_repair::solution::Coordinator>()
}

/// The reference implementation (`reference/`).
pub fn reference() -> ReadRepairImpl {
    ReadRepairImpl::of::<reference::read_repair::Coordinator>()
}
