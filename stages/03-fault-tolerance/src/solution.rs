//! Your sloppy-quorum coordinator. This is the only file you edit in stage 3.
//!
//! Replace each `todo!()` with your code, then run `cargo grade fault-tolerance` and watch the
//! tracks turn green. The rules are in `stages/03-fault-tolerance/README.md`; every method's
//! contract is on the [`SloppyCoordinator`] trait in `src/lib.rs`.
//!
//! A good order: `new`, `put` with the timeout (track `failure-detection`), the fallback rounds
//! (`sloppy-quorum`), then `handoff` (`hinted-handoff`, `recovery`).

use crate::{
    ConfigError, FaultConfig, Network, NodeId, Placement, SloppyCoordinator, SloppyError,
    StoredObject,
};

/// Your coordinator. What does it need to remember between operations?
pub struct Sloppy {
    // TODO(README.md § "Your task"): add the fields your coordinator needs.
}

impl SloppyCoordinator for Sloppy {
    fn new(config: FaultConfig, cluster_size: usize) -> Result<Self, ConfigError> {
        // TODO(README.md § "Your task"): validate as in stage 2, keep the configuration.
        todo!("check {config:?} against a cluster of {cluster_size} nodes")
    }

    async fn put<O: StoredObject>(
        &self,
        network: &Network<O>,
        walk: &[NodeId],
        key: &str,
        versioned: O,
    ) -> Result<Placement, SloppyError> {
        // TODO(README.md § "Sloppy writes"): a round to the primaries (each send bounded by
        // tokio::time::timeout), then rounds of network.send_hint to the candidates past N.
        let _ = network;
        todo!("write {key:?} = {versioned} over the walk {walk:?}")
    }

    async fn handoff<O: StoredObject>(&self, network: &Network<O>, holder: &NodeId) -> usize {
        // TODO(README.md § "Hinted handoff"): network.hints(holder), network.send_handoff,
        // network.delete_hint only after the ack.
        let _ = network;
        todo!("hand {holder}'s hints to their primaries")
    }
}
