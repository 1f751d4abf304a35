//! Stage 3: failure detection, sloppy quorum and hinted handoff.
//!
//! A write runs in rounds, and every round has the same shape: send to a list of targets at
//! once, each send bounded by the coordinator's timeout, and wait for every outcome. Waiting for
//! the whole round (not just W acks) is what lets the coordinator know exactly which primaries
//! failed, so the pairing of failed primaries with fallbacks depends only on *which* nodes failed,
//! never on which failure was noticed first: the same cluster state gives the same hints.

use std::future::Future;

use fault_tolerance::{
    Ack, ConfigError, FaultConfig, Network, NoReply, NodeId, Placement, SloppyCoordinator,
    SloppyError, StoredObject,
};
use tokio::time::{Duration, timeout};

use crate::quorum::validate;
use crate::together::Together;

/// The reference sloppy-quorum coordinator.
#[derive(Clone, Copy, Debug)]
pub struct Sloppy {
    config: FaultConfig,
}

impl Sloppy {
    /// The validated configuration.
    pub fn config(&self) -> FaultConfig {
        self.config
    }
}

/// Runs `sends` at once, each bounded by `timeout_ms`, waits for every outcome, and returns
/// whether each was acknowledged, in the order given.
pub async fn round<Fut>(sends: Vec<Fut>, timeout_ms: u64) -> Vec<bool>
where
    Fut: Future<Output = Result<Ack, NoReply>> + Send + 'static,
{
    // The outcome is per send, in the order given, so the round needs no task per send.
    let bounded = sends.into_iter().map(|sent| async move {
        matches!(
            timeout(Duration::from_millis(timeout_ms), sent).await,
            Ok(Ok(_))
        )
    });
    Together::new(bounded).all().await
}

impl SloppyCoordinator for Sloppy {
    fn new(config: FaultConfig, cluster_size: usize) -> Result<Self, ConfigError> {
        validate(config.quorum, cluster_size).map(|()| Sloppy { config })
    }

    async fn put<O: StoredObject>(
        &self,
        network: &Network<O>,
        walk: &[NodeId],
        key: &str,
        versioned: O,
    ) -> Result<Placement, SloppyError> {
        let FaultConfig { quorum, timeout_ms } = self.config;
        let n = quorum.n.min(walk.len());
        let (primaries, candidates) = walk.split_at(n);
        let mut placement = Placement::new();
        let sends = primaries
            .iter()
            .map(|node| {
                let (network, node, key, v) = (
                    network.clone(),
                    node.clone(),
                    key.to_string(),
                    versioned.clone(),
                );
                async move { network.send_put(&node, &key, v).await }
            })
            .collect();
        let acked = round(sends, timeout_ms).await;
        let mut uncovered = Vec::new();
        for (primary, ok) in primaries.iter().zip(acked) {
            if ok {
                placement.insert(primary.clone(), None);
            } else {
                uncovered.push(primary.clone());
            }
        }
        let mut candidates = candidates.iter();
        while !uncovered.is_empty() {
            // Pair the uncovered primaries, in walk order, with the next unused candidates.
            let pairs: Vec<(NodeId, NodeId)> = uncovered
                .iter()
                .zip(candidates.by_ref())
                .map(|(p, c)| (p.clone(), c.clone()))
                .collect();
            if pairs.is_empty() {
                break;
            }
            let sends = pairs
                .iter()
                .map(|(primary, fallback)| {
                    let (network, primary, fallback, key, v) = (
                        network.clone(),
                        primary.clone(),
                        fallback.clone(),
                        key.to_string(),
                        versioned.clone(),
                    );
                    async move { network.send_hint(&fallback, &primary, &key, v).await }
                })
                .collect();
            let acked = round(sends, timeout_ms).await;
            let mut still = Vec::new();
            for ((primary, fallback), ok) in pairs.iter().zip(acked) {
                if ok {
                    placement.insert(fallback.clone(), Some(primary.clone()));
                } else {
                    still.push(primary.clone());
                }
            }
            // Primaries that found no candidate this round have none left to find.
            still.extend(uncovered.into_iter().skip(pairs.len()));
            uncovered = still;
            if candidates.len() == 0 {
                break;
            }
        }
        let got = placement.len();
        if got >= quorum.w {
            Ok(placement)
        } else {
            Err(SloppyError::NotEnoughReplicas {
                needed: quorum.w,
                got,
                stored: placement,
            })
        }
    }

    async fn handoff<O: StoredObject>(&self, network: &Network<O>, holder: &NodeId) -> usize {
        let hints = network.hints(holder);
        let sends = hints
            .iter()
            .map(|hint| {
                let (network, holder, hint) = (network.clone(), holder.clone(), hint.clone());
                async move {
                    network
                        .send_handoff(&holder, &hint.primary, &hint.key, hint.object)
                        .await
                }
            })
            .collect();
        let acked = round(sends, self.config.timeout_ms).await;
        let mut delivered = 0;
        for (hint, ok) in hints.iter().zip(acked) {
            // Only an acknowledged delivery may delete the hint: otherwise the write is lost.
            if ok && network.delete_hint(holder, &hint.primary, &hint.key) {
                delivered += 1;
            }
        }
        delivered
    }
}
