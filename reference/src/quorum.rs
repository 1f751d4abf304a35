//! Stage 2: quorum replication.
//!
//! Both operations have the same shape: spawn one task per replica into a `JoinSet`, then take
//! outcomes in the order they arrive, counting successes and failures, and stop at whichever
//! threshold is reached first: `needed` successes (done) or `n - needed + 1` failures (the quorum
//! is now out of reach). Returning drops the `JoinSet`, which abandons the remaining waits; the
//! messages themselves are already on the wire and land anyway.

use quorum::{
    ConfigError, Coordinator, Network, NoReply, NodeId, QuorumConfig, QuorumError, Versioned,
};
use tokio::task::JoinSet;

/// The reference coordinator.
#[derive(Clone, Copy, Debug)]
pub struct Quorum {
    config: QuorumConfig,
}

impl Quorum {
    /// The validated configuration.
    pub fn config(&self) -> QuorumConfig {
        self.config
    }
}

/// Checks N, R and W in the order the contract fixes.
pub fn validate(config: QuorumConfig, cluster_size: usize) -> Result<(), ConfigError> {
    let QuorumConfig { n, r, w } = config;
    if n == 0 {
        return Err(ConfigError::ZeroReplicas);
    }
    if n > cluster_size {
        return Err(ConfigError::MoreReplicasThanNodes {
            n,
            nodes: cluster_size,
        });
    }
    if !(1..=n).contains(&r) {
        return Err(ConfigError::ReadQuorumOutOfRange { r, n });
    }
    if !(1..=n).contains(&w) {
        return Err(ConfigError::WriteQuorumOutOfRange { w, n });
    }
    Ok(())
}

/// Waits for `needed` successes among `tasks`, failing once that is impossible. Returns the
/// successes in arrival order.
async fn gather<T: 'static>(
    mut tasks: JoinSet<Result<T, NoReply>>,
    needed: usize,
) -> Result<Vec<T>, QuorumError> {
    let total = tasks.len();
    let mut ok = Vec::with_capacity(needed);
    let mut failed = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(value)) => {
                ok.push(value);
                if ok.len() == needed {
                    return Ok(ok);
                }
            }
            // A task can only fail to join if it panicked; count it as a replica that failed.
            Ok(Err(_)) | Err(_) => {
                failed += 1;
                if failed > total - needed {
                    break;
                }
            }
        }
    }
    Err(QuorumError::NotEnoughReplicas {
        needed,
        got: ok.len(),
    })
}

impl Coordinator for Quorum {
    fn new(config: QuorumConfig, cluster_size: usize) -> Result<Self, ConfigError> {
        validate(config, cluster_size).map(|()| Quorum { config })
    }

    async fn put(
        &self,
        network: &Network,
        preference: &[NodeId],
        key: &str,
        versioned: Versioned,
    ) -> Result<(), QuorumError> {
        let mut tasks = JoinSet::new();
        for node in preference {
            let (network, node, key, v) = (
                network.clone(),
                node.clone(),
                key.to_string(),
                versioned.clone(),
            );
            tasks.spawn(async move { network.send_put(&node, &key, v).await });
        }
        gather(tasks, self.config.w).await.map(|_| ())
    }

    async fn get(
        &self,
        network: &Network,
        preference: &[NodeId],
        key: &str,
    ) -> Result<Option<Versioned>, QuorumError> {
        let mut tasks = JoinSet::new();
        for node in preference {
            let (network, node, key) = (network.clone(), node.clone(), key.to_string());
            tasks.spawn(async move { network.send_get(&node, &key).await });
        }
        let replies = gather(tasks, self.config.r).await?;
        Ok(replies.into_iter().flatten().max_by_key(|v| v.version))
    }
}
