//! The table from "stage + implementation" to code.
//!
//! Stage contracts put constructors on the trait (`HashRing::new`) so learners write plain
//! `impl HashRing for Ring`. Here each implementation is turned into plain function pointers, so
//! the rest of the grader (and later stages that build a ring) never needs to be generic.

use std::future::Future;
use std::pin::Pin;

use hash_ring::{HashRing, RingError};
use quorum::{ConfigError, Coordinator, Network, NodeId, QuorumConfig, QuorumError, Versioned};

use crate::implementation::Implementation;
use crate::mutants;

/// A stage-1 implementation, as function pointers.
#[derive(Clone, Copy)]
pub struct RingImpl {
    pub new: fn(u32) -> Result<Box<dyn HashRing>, RingError>,
    pub position: fn(&str) -> u64,
}

impl RingImpl {
    pub fn of<R: HashRing + 'static>() -> Self {
        RingImpl {
            new: |vnodes| R::new(vnodes).map(|r| Box::new(r) as Box<dyn HashRing>),
            position: R::position,
        }
    }
}

/// The stage-1 implementation to use. Unknown mutant names were refused on the command line.
pub fn hash_ring(implementation: &Implementation) -> RingImpl {
    match implementation {
        Implementation::Learner => RingImpl::of::<hash_ring::solution::Ring>(),
        Implementation::Reference => RingImpl::of::<reference::hash_ring::Ring>(),
        Implementation::Mutant(name) => mutants::hash_ring::by_name(name)
            .unwrap_or_else(|| panic!("unknown hash-ring mutant `{name}`")),
    }
}

/// A stage-2 coordinator behind a trait object: the contract's async methods, boxed.
///
/// `Coordinator` has `async fn`s, so it cannot be a trait object itself; this blanket-implemented
/// twin can, which keeps the quorum plugin (and later stages) free of generics.
pub trait DynCoordinator {
    fn put<'a>(
        &'a self,
        network: &'a Network,
        preference: &'a [NodeId],
        key: &'a str,
        versioned: Versioned,
    ) -> LocalBoxFuture<'a, Result<(), QuorumError>>;

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
    pub new: fn(QuorumConfig, usize) -> Result<Box<dyn DynCoordinator>, ConfigError>,
}

impl QuorumImpl {
    pub fn of<C: Coordinator + 'static>() -> Self {
        QuorumImpl {
            new: |config, nodes| {
                C::new(config, nodes).map(|c| Box::new(c) as Box<dyn DynCoordinator>)
            },
        }
    }
}

/// The stage-2 implementation to use. Unknown mutant names were refused on the command line.
pub fn quorum(implementation: &Implementation) -> QuorumImpl {
    match implementation {
        Implementation::Learner => QuorumImpl::of::<quorum::solution::Quorum>(),
        Implementation::Reference => QuorumImpl::of::<reference::quorum::Quorum>(),
        Implementation::Mutant(name) => mutants::quorum::by_name(name)
            .unwrap_or_else(|| panic!("unknown quorum mutant `{name}`")),
    }
}
