//! What the networked stages (2, 3 and 6) share: a paused tokio runtime per case, and the ring a
//! case builds, on first use, from stage 1's selected implementation.

use hash_ring::{HashRing, NodeId};
use tokio::runtime::{Builder, Runtime};

use crate::expect::{Mismatch, show_result};
use crate::implementations::RingImpl;

/// A current-thread runtime on tokio's paused clock: simulated time jumps ahead whenever every
/// task waits, so a 30 s timeout costs microseconds and every run gives the same times.
pub fn paused_runtime() -> Result<Runtime, Mismatch> {
    Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .map_err(|e| Mismatch::new("a tokio runtime", e.to_string()))
}

/// The cluster's ring, built the first time a step needs it, so cases about configuration alone
/// do not depend on stage 1.
pub struct LazyRing {
    implementation: RingImpl,
    vnodes: u32,
    nodes: Vec<NodeId>,
    ring: Option<Box<dyn HashRing>>,
}

impl LazyRing {
    pub fn new(implementation: RingImpl, vnodes: u32, nodes: Vec<NodeId>) -> Self {
        LazyRing {
            implementation,
            vnodes,
            nodes,
            ring: None,
        }
    }

    /// The ring with every node added; a stage-1 error is reported as this step's mismatch.
    pub fn get(&mut self) -> Result<&dyn HashRing, Mismatch> {
        if self.ring.is_none() {
            let vnodes = self.vnodes;
            let mut ring = (self.implementation.new)(vnodes).map_err(|e| {
                Mismatch::new(
                    format!("hash ring new({vnodes}) to succeed"),
                    show_result::<(), _>(&Err(e)),
                )
            })?;
            for node in &self.nodes {
                ring.add_node(node.clone()).map_err(|e| {
                    Mismatch::new(
                        format!("hash ring add_node({node}) to succeed"),
                        show_result::<(), _>(&Err(e)),
                    )
                })?;
            }
            self.ring = Some(ring);
        }
        match &self.ring {
            Some(ring) => Ok(ring.as_ref()),
            None => unreachable!("built above"),
        }
    }
}
