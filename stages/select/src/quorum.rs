//! Stage 2: the quorum coordinator, as a trait object despite its `async fn`s.

use std::future::Future;
use std::pin::Pin;

use quorum::{ConfigError, Coordinator, Network, NodeId, QuorumConfig, QuorumError, Versioned};

/// A stage-2 coordinator behind a trait object: the contract's async methods, boxed.
///
/// `Coordinator` has `async fn`s, so it cannot be a trait object itself; this blanket-implemented
/// twin can, which keeps the quorum plugin (and later stages) free of generics.
pub trait DynCoordinator {
    /// The contract's `put`, boxed.
    fn put<'a>(
        &'a self,
        network: &'a Network,
        preference: &'a [NodeId],
        key: &'a str,
        versioned: Versioned,
    ) -> LocalBoxFuture<'a, Result<(), QuorumError>>;

    /// The contract's `get`, boxed.
    fn get<'a>(
        &'a self,
        network: &'a Network,
        preference: &'a [NodeId],
        key: &'a str,
    ) -> LocalBoxFuture<'a, Result<Option<Versioned>, QuorumError>>;
}

/// A boxed future that need not be `Send`: cases run on a current-thread runtime.
pub type LocalBoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

impl<C: Coordinator> DynCoordinator for C {
    fn put<'a>(
        &'a self,
        network: &'a Network,
        preference: &'a [NodeId],
        key: &'a str,
        versioned: Versioned,
    ) -> LocalBoxFuture<'a, Result<(), QuorumError>> {
        Box::pin(Coordinator::put(self, network, preference, key, versioned))
    }

    fn get<'a>(
        &'a self,
        network: &'a Network,
        preference: &'a [NodeId],
        key: &'a str,
    ) -> LocalBoxFuture<'a, Result<Option<Versioned>, QuorumError>> {
        Box::pin(Coordinator::get(self, network, preference, key))
    }
}

/// A stage-2 implementation, as a function pointer.
#[derive(Clone, Copy)]
pub struct QuorumImpl {
    /// `new`: see the stage contract.
    pub new: fn(QuorumConfig, usize) -> Result<Box<dyn DynCoordinator>, ConfigError>,
}

impl QuorumImpl {
    /// The implementation of type `C` (or `R`, `C`+`S`), as function pointers.
    pub fn of<C: Coordinator + 'static>() -> Self {
        QuorumImpl {
            new: |config, nodes| {
                C::new(config, nodes).map(|c| Box::new(c) as Box<dyn DynCoordinator>)
            },
        }
    }
}

/// The reference implementation (`reference/`).
pub fn reference() -> QuorumImpl {
    QuorumImpl::of::<reference::quorum::Quorum>()
}
