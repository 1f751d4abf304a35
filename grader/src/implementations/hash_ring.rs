//! Stage 1: the consistent hash ring.

use hash_ring::{HashRing, RingError};

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
