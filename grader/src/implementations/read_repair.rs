//! Stage 6: the read-repair coordinator, as a trait object despite its `async fn`.

use read_repair::{Client, Network, NodeId, ReadRepair, Stage4};

use super::quorum::LocalBoxFuture;
use crate::implementation::Implementation;
use crate::mutants;

/// A stage-6 coordinator behind a trait object: the contract's async method, boxed.
pub trait DynReadRepair {
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
    pub new: fn(usize) -> Box<dyn DynReadRepair>,
}

impl ReadRepairImpl {
    pub fn of<C: ReadRepair + 'static>() -> Self {
        ReadRepairImpl {
            new: |r| Box::new(C::new(r)),
        }
    }
}

/// The stage-6 implementation to use. Unknown mutant names were refused on the command line.
pub fn read_repair(implementation: &Implementation) -> ReadRepairImpl {
    match implementation {
        Implementation::Learner => ReadRepairImpl::of::<read_repair::solution::Coordinator>(),
        Implementation::Reference => ReadRepairImpl::of::<reference::read_repair::Coordinator>(),
        Implementation::Mutant(name) => mutants::read_repair::by_name(name)
            .unwrap_or_else(|| panic!("unknown read-repair mutant `{name}`")),
    }
}
