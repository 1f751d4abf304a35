//! Stage 5: Merkle-tree replicas.

use anti_entropy::Replica;

/// A stage-5 implementation: a constructor for its replica.
#[derive(Clone, Copy)]
pub struct ReplicaImpl {
    /// `new`: see the stage contract.
    pub new: fn(u32) -> Box<dyn Replica>,
}

impl ReplicaImpl {
    /// The implementation of type `C` (or `R`, `C`+`S`), as function pointers.
    pub fn of<R: Replica + 'static>() -> Self {
        ReplicaImpl {
            new: |depth| Box::new(R::new(depth)),
        }
    }
}

/// The reference implementation (`reference/`).
pub fn reference() -> ReplicaImpl {
    ReplicaImpl::of::<reference::anti_entropy::MerkleReplica>()
}
