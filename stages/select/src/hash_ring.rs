//! Stage 1: the consistent hash ring.

use hash_ring::{HashRing, RingError};

/// A stage-1 implementation, as function pointers.
#[derive(Clone, Copy)]
pub struct RingImpl {
    /// `new`: see the stage contract.
    pub new: fn(u32) -> Result<Box<dyn HashRing>, RingError>,
    /// `position`: see the stage contract.
    pub position: fn(&str) -> u64,
}

impl RingImpl {
    /// The implementation of type `C` (or `R`, `C`+`S`), as function pointers.
    pub fn of<R: HashRing + 'static>() -> Self {
        RingImpl {
            new: |vnodes| R::new(vnodes).map(|r| Box::new(r) as Box<dyn HashRing>),
            position: R::position,
        }
    }
}

/// The reference implementation (`reference/`).
pub fn reference() -> RingImpl {
    RingImpl::of::<reference::hash_ring::Ring>()
}
