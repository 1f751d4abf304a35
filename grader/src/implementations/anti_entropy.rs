//! Stage 5: Merkle-tree replicas.

use anti_entropy::Replica;

use crate::implementation::Implementation;
use crate::mutants;

/// A stage-5 implementation: a constructor for its replica.
#[derive(Clone, Copy)]
pub struct ReplicaImpl {
    pub new: fn(u32) -> Box<dyn Replica>,
}

impl ReplicaImpl {
    pub fn of<R: Replica + 'static>() -> Self {
        ReplicaImpl {
            new: |depth| Box::new(R::new(depth)),
        }
    }
}

/// The stage-5 implementation to use. Unknown mutant names were refused on the command line.
pub fn anti_entropy(implementation: &Implementation) -> ReplicaImpl {
    match implementation {
        Implementation::Learner => ReplicaImpl::of::<anti_entropy::solution::MerkleReplica>(),
        Implementation::Reference => ReplicaImpl::of::<reference::anti_entropy::MerkleReplica>(),
        Implementation::Mutant(name) => mutants::anti_entropy::by_name(name)
            .unwrap_or_else(|| panic!("unknown anti-entropy mutant `{name}`")),
    }
}
