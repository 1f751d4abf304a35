//! Your quorum coordinator. This is the only file you edit in stage 2.
//!
//! Replace each `todo!()` with your code, then run `cargo grade quorum` and watch the tracks turn
//! green. The rules are in `stages/02-quorum/README.md`; every method's contract is on the
//! [`Coordinator`] trait in `src/lib.rs`.
//!
//! A good order: `new` (track `tunable-consistency`), `put` (`write-quorum`), `get`
//! (`read-quorum`), then failing fast (`tunable-consistency` again).

use crate::{ConfigError, Coordinator, Network, NodeId, QuorumConfig, QuorumError, Versioned};

/// Your coordinator. What does it need to remember between operations?
pub struct Quorum {
    // TODO(README.md § "Your task"): add the fields your coordinator needs.
}

impl Coordinator for Quorum {
    fn new(config: QuorumConfig, cluster_size: usize) -> Result<Self, ConfigError> {
        // TODO(README.md § "Choosing N, R and W")
        todo!("check {config:?} against a cluster of size {cluster_size}")
    }

    async fn put(
        &self,
        network: &Network,
        preference: &[NodeId],
        key: &str,
        versioned: Versioned,
    ) -> Result<(), QuorumError> {
        // TODO(README.md § "Writes"): one task per replica in a tokio::task::JoinSet, each calling
        // network.send_put; count acks and failures as they arrive.
        let _ = network;
        todo!("write {key:?} = {versioned} to {preference:?}")
    }

    async fn get(
        &self,
        network: &Network,
        preference: &[NodeId],
        key: &str,
    ) -> Result<Option<Versioned>, QuorumError> {
        // TODO(README.md § "Reads"): like put, with network.send_get; keep the highest version.
        let _ = network;
        todo!("read {key:?} from {preference:?}")
    }
}
