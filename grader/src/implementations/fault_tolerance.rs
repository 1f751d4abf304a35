//! Stage 3: the sloppy-quorum coordinator, as a trait object despite its `async fn`s.

use fault_tolerance::{
    ConfigError, FaultConfig, Network, NodeId, Placement, SloppyCoordinator, SloppyError, Versioned,
};

use super::quorum::LocalBoxFuture;
use crate::implementation::Implementation;
use crate::mutants;

/// A stage-3 coordinator behind a trait object: the contract's async methods, boxed.
pub trait DynSloppy {
    fn put<'a>(
        &'a self,
        network: &'a Network,
        walk: &'a [NodeId],
        key: &'a str,
        versioned: Versioned,
    ) -> LocalBoxFuture<'a, Result<Placement, SloppyError>>;

    fn handoff<'a>(&'a self, network: &'a Network, holder: &'a NodeId)
    -> LocalBoxFuture<'a, usize>;
}

impl<C: SloppyCoordinator> DynSloppy for C {
    fn put<'a>(
        &'a self,
        network: &'a Network,
        walk: &'a [NodeId],
        key: &'a str,
        versioned: Versioned,
    ) -> LocalBoxFuture<'a, Result<Placement, SloppyError>> {
        Box::pin(SloppyCoordinator::put(self, network, walk, key, versioned))
    }

    fn handoff<'a>(
        &'a self,
        network: &'a Network,
        holder: &'a NodeId,
    ) -> LocalBoxFuture<'a, usize> {
        Box::pin(SloppyCoordinator::handoff(self, network, holder))
    }
}

/// A stage-3 implementation, as a function pointer.
#[derive(Clone, Copy)]
pub struct SloppyImpl {
    pub new: fn(FaultConfig, usize) -> Result<Box<dyn DynSloppy>, ConfigError>,
}

impl SloppyImpl {
    pub fn of<C: SloppyCoordinator + 'static>() -> Self {
        SloppyImpl {
            new: |config, nodes| C::new(config, nodes).map(|c| Box::new(c) as Box<dyn DynSloppy>),
        }
    }
}

/// The stage-3 implementation to use. Unknown mutant names were refused on the command line.
pub fn fault_tolerance(implementation: &Implementation) -> SloppyImpl {
    match implementation {
        Implementation::Learner => SloppyImpl::of::<fault_tolerance::solution::Sloppy>(),
        Implementation::Reference => SloppyImpl::of::<reference::fault_tolerance::Sloppy>(),
        Implementation::Mutant(name) => mutants::fault_tolerance::by_name(name)
            .unwrap_or_else(|| panic!("unknown fault-tolerance mutant `{name}`")),
    }
}
