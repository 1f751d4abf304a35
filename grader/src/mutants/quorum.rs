//! Faulty stage-2 coordinators. Each makes one mistake learners make; the reference's
//! configuration check is reused so each mutant breaks exactly one thing.

use quorum::{
    ConfigError, Coordinator, Network, NoReply, NodeId, QuorumConfig, QuorumError, Versioned,
};
use reference::quorum::validate;
use tokio::task::JoinSet;

use crate::implementations::QuorumImpl;

/// `(name, what it does wrong, misbehaves)`.
pub const MUTANTS: &[(&str, &str, bool)] = &[
    (
        "waits-for-all",
        "put waits for every replica's answer before returning, not just the first W acks",
        false,
    ),
    (
        "sequential",
        "put and get send to one replica at a time, awaiting each reply before the next send",
        false,
    ),
    (
        "first-reply",
        "get returns the first reply it receives instead of the highest version among R",
        false,
    ),
    (
        "no-fail-fast",
        "put and get keep waiting for every replica once the quorum is already out of reach",
        false,
    ),
    (
        "reads-one",
        "get returns after one reply whatever R is",
        false,
    ),
    ("no-validation", "new() accepts every configuration", false),
    (
        "rth-reply",
        "get returns the R-th reply it receives (the one that completed the quorum) instead of the highest version among R",
        false,
    ),
    (
        "put-fails-on-r",
        "put gives up once N - R + 1 sends failed (the read's threshold) instead of N - W + 1",
        false,
    ),
    (
        "none-is-failure",
        "get counts a replica's \"not found\" reply as a failed send, not as a reply",
        false,
    ),
    (
        "rejects-weak-quorum",
        "new() rejects R + W <= N as if a weak quorum were invalid",
        false,
    ),
];

/// The mutant called `name`.
pub fn by_name(name: &str) -> Option<QuorumImpl> {
    Some(match name {
        "waits-for-all" => QuorumImpl::of::<Mutant<0>>(),
        "sequential" => QuorumImpl::of::<Mutant<1>>(),
        "first-reply" => QuorumImpl::of::<Mutant<2>>(),
        "no-fail-fast" => QuorumImpl::of::<Mutant<3>>(),
        "reads-one" => QuorumImpl::of::<Mutant<4>>(),
        "no-validation" => QuorumImpl::of::<Mutant<5>>(),
        "rth-reply" => QuorumImpl::of::<Mutant<6>>(),
        "put-fails-on-r" => QuorumImpl::of::<Mutant<7>>(),
        "none-is-failure" => QuorumImpl::of::<Mutant<8>>(),
        "rejects-weak-quorum" => QuorumImpl::of::<Mutant<9>>(),
        _ => return None,
    })
}

/// The reference coordinator with bug number `BUG` (the index in [`MUTANTS`]).
pub struct Mutant<const BUG: u8>(QuorumConfig);

impl<const BUG: u8> Mutant<BUG> {
    /// The reference's gathering loop, with this mutant's bug.
    async fn gather<T: 'static>(
        mut tasks: JoinSet<Result<T, NoReply>>,
        needed: usize,
        tolerated: usize,
    ) -> Result<Vec<T>, QuorumError> {
        let mut ok = Vec::new();
        let mut failed = 0;
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Ok(value)) => {
                    ok.push(value);
                    if ok.len() == needed && BUG != 0 {
                        return Ok(ok);
                    }
                }
                Ok(Err(_)) | Err(_) => {
                    failed += 1;
                    if failed > tolerated && BUG != 0 && BUG != 3 {
                        break;
                    }
                }
            }
        }
        if ok.len() >= needed {
            ok.truncate(needed);
            return Ok(ok);
        }
        Err(QuorumError::NotEnoughReplicas {
            needed,
            got: ok.len(),
        })
    }
}

impl<const BUG: u8> Coordinator for Mutant<BUG> {
    fn new(config: QuorumConfig, cluster_size: usize) -> Result<Self, ConfigError> {
        if BUG != 5 {
            validate(config, cluster_size)?;
        }
        if BUG == 9 && config.r + config.w <= config.n {
            return Err(ConfigError::ReadQuorumOutOfRange {
                r: config.r,
                n: config.n,
            });
        }
        Ok(Mutant(config))
    }

    async fn put(
        &self,
        network: &Network,
        preference: &[NodeId],
        key: &str,
        versioned: Versioned,
    ) -> Result<(), QuorumError> {
        let needed = self.0.w;
        if BUG == 1 {
            let (mut acks, mut failed) = (0, 0);
            for node in preference {
                match network.send_put(node, key, versioned.clone()).await {
                    Ok(_) => acks += 1,
                    Err(_) => failed += 1,
                }
                if acks == needed {
                    return Ok(());
                }
                if failed > preference.len() - needed {
                    break;
                }
            }
            return Err(QuorumError::NotEnoughReplicas { needed, got: acks });
        }
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
        // The read's quorum where the write's belongs: `n - r` failures tolerated.
        let quorum = if BUG == 7 { self.0.r } else { needed };
        let tolerated = preference.len().saturating_sub(quorum);
        Self::gather(tasks, needed, tolerated).await.map(|_| ())
    }

    async fn get(
        &self,
        network: &Network,
        preference: &[NodeId],
        key: &str,
    ) -> Result<Option<Versioned>, QuorumError> {
        let needed = if BUG == 4 { 1 } else { self.0.r };
        let replies = if BUG == 1 {
            let (mut replies, mut failed) = (Vec::new(), 0);
            for node in preference {
                match network.send_get(node, key).await {
                    Ok(v) => replies.push(v),
                    Err(_) => failed += 1,
                }
                if replies.len() == needed || failed > preference.len() - needed {
                    break;
                }
            }
            if replies.len() < needed {
                return Err(QuorumError::NotEnoughReplicas {
                    needed,
                    got: replies.len(),
                });
            }
            replies
        } else {
            let mut tasks = JoinSet::new();
            for node in preference {
                let (network, node, key) = (network.clone(), node.clone(), key.to_string());
                tasks.spawn(async move {
                    match network.send_get(&node, &key).await {
                        // "I don't have it" taken for a replica that did not answer.
                        Ok(None) if BUG == 8 => Err(NoReply::Down { node }),
                        reply => reply,
                    }
                });
            }
            let tolerated = preference.len().saturating_sub(needed);
            Self::gather(tasks, needed, tolerated).await?
        };
        if BUG == 2 {
            return Ok(replies.into_iter().next().flatten());
        }
        if BUG == 6 {
            return Ok(replies.into_iter().last().flatten());
        }
        Ok(replies.into_iter().flatten().max_by_key(|v| v.version))
    }
}
