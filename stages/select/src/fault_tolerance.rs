//! Stage 3: the sloppy-quorum coordinator, as a trait object despite its `async fn`s.

use fault_tolerance::{
    ConfigError, FaultConfig, Network, NodeId, Placement, SloppyCoordinator, SloppyError, Versioned,
};

use crate::quorum::LocalBoxFuture;

/// A stage-3 coordinator behind a trait object: the contract's async methods, boxed.
pub trait DynSloppy {
    /// The contract's `put`, boxed.
    fn put<'a>(
        &'a self,
        network: &'a Network,
        walk: &'a [NodeId],
        key: &'a str,
        versioned: Versioned,
    ) -> LocalBoxFuture<'a, Result<Placement, SloppyError>>;

    /// The contract's `handoff`, boxed.
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
    /// `new`: see the stage contract.
    pub new: fn(FaultConfig, usize) -> Result<Box<dyn DynSloppy>, ConfigError>,
}

impl SloppyImpl {
    /// The implementation of type `C` (or `R`, `C`+`S`), as function pointers.
    pub fn of<C: SloppyCoordinator + 'static>() -> Self {
        SloppyImpl {
            new: |config, nodes| C::new(config, nodes).map(|c| Box::new(c) as Box<dyn DynSloppy>),
        }
    }
}

/// The learner's implementation (`solution.rs`).
pub fn learner() -> SloppyImpl {
    SloppyImpl::of::<fault_tolerance::solution::Sloppy>()
}

/// The reference implementation (`reference/`).
pub fn reference() -> SloppyImpl {
    SloppyImpl::of::<reference::fault_tolerance::Sloppy>()
}
