//! Stage 7: the node, and the six stages it is composed of.

pub use store::NewNode;
use store::Stages;

use crate::anti_entropy::ReplicaImpl;
use crate::fault_tolerance::SloppyImpl;
use crate::hash_ring::RingImpl;
use crate::read_repair::ReadRepairImpl;
use crate::vector_clocks::ClockImpl;

/// The six stages a node is composed of, from the implementations chosen for each (stage 2 is
/// used through stage 3, which validates N/R/W as stage 2 does).
pub fn stages(
    ring: RingImpl,
    sloppy: SloppyImpl,
    clocks: ClockImpl,
    replica: ReplicaImpl,
    read_repair: ReadRepairImpl,
) -> Stages {
    Stages {
        ring: ring.new,
        position: ring.position,
        sloppy: sloppy.new_for_siblings,
        read_repair: read_repair.new,
        clocks: clocks.clocks,
        new_store: clocks.new_store,
        replica: replica.new,
    }
}

/// The reference node (`reference/src/store`).
pub fn reference() -> NewNode {
    store::new_node::<reference::store::Node>()
}
