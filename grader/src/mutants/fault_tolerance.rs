//! Faulty stage-3 coordinators. Each makes one mistake learners make; the reference's rounds and
//! configuration check are reused so each mutant breaks exactly one thing.

use std::sync::{Arc, Mutex, PoisonError};

use fault_tolerance::{
    ConfigError, FaultConfig, Network, NodeId, Placement, SloppyCoordinator, SloppyError,
    StoredObject, Versioned,
};
use reference::fault_tolerance::round;
use reference::quorum::validate;
use tokio::time::Duration;

use crate::implementations::SloppyImpl;

/// `(name, what it does wrong, misbehaves)`.
pub const MUTANTS: &[(&str, &str, bool)] = &[
    (
        "deletes-before-ack",
        "handoff deletes a hint before its primary acknowledged it, losing it when delivery fails",
        false,
    ),
    (
        "fallback-in-list",
        "a fallback is the next node of the walk after the failed primary, even one already in the list",
        false,
    ),
    (
        "wrong-primary",
        "every hint of a write names the first failed primary, not the one its fallback stands in for",
        false,
    ),
    (
        "strict-quorum",
        "put never uses fallbacks: a strict quorum over the first N nodes",
        false,
    ),
    (
        "handoff-bumps-version",
        "handoff delivers the hinted value with its version increased by one",
        false,
    ),
    (
        "no-timeout",
        "sends are not bounded by the coordinator's timeout: a silent replica costs the transport's",
        false,
    ),
    (
        "pairs-in-notice-order",
        "round 2 pairs failed primaries with candidates in the order their failures arrived, not in walk order",
        false,
    ),
    (
        "handoff-in-series",
        "handoff sends a holder's hints one after another, one round trip per hint",
        false,
    ),
    (
        "unbounded-hints",
        "the hints of rounds 2 and later are not bounded by the timeout: a silent fallback costs the transport's",
        false,
    ),
    (
        "handoff-zips-arrivals",
        "handoff matches the outcomes, in the order they arrived, with the hints in listing order, so it deletes the wrong hints",
        false,
    ),
    (
        "acks-against-r",
        "put compares its acks with R instead of W (and reports needed: R)",
        false,
    ),
    (
        "returns-at-w-acks",
        "put returns as soon as W primaries acked in round 1, without waiting to learn which failed",
        false,
    ),
];

/// The mutant called `name`.
pub fn by_name(name: &str) -> Option<SloppyImpl> {
    Some(match name {
        "deletes-before-ack" => SloppyImpl::of::<Mutant<0>>(),
        "fallback-in-list" => SloppyImpl::of::<Mutant<1>>(),
        "wrong-primary" => SloppyImpl::of::<Mutant<2>>(),
        "strict-quorum" => SloppyImpl::of::<Mutant<3>>(),
        "handoff-bumps-version" => SloppyImpl::of::<Mutant<4>>(),
        "no-timeout" => SloppyImpl::of::<Mutant<5>>(),
        "pairs-in-notice-order" => SloppyImpl::of::<Mutant<6>>(),
        "handoff-in-series" => SloppyImpl::of::<Mutant<7>>(),
        "unbounded-hints" => SloppyImpl::of::<Mutant<8>>(),
        "handoff-zips-arrivals" => SloppyImpl::of::<Mutant<9>>(),
        "acks-against-r" => SloppyImpl::of::<Mutant<10>>(),
        "returns-at-w-acks" => SloppyImpl::of::<Mutant<11>>(),
        _ => return None,
    })
}

/// The reference coordinator with bug number `BUG` (the index in [`MUTANTS`]).
pub struct Mutant<const BUG: u8>(FaultConfig);

/// The transport gives up after a minute of simulated time; "no timeout" waits for that.
const FOREVER_MS: u64 = u64::MAX / 4;

impl<const BUG: u8> Mutant<BUG> {
    fn timeout_ms(&self) -> u64 {
        if BUG == 5 {
            FOREVER_MS
        } else {
            self.0.timeout_ms
        }
    }
}

impl<const BUG: u8> Mutant<BUG> {
    /// Round 1 cut short: the sends at once, each bounded by the timeout, until `w` have acked
    /// (or every send has an outcome). Whether each acked, in the order given; a send still
    /// under way when the round stopped counts as failed.
    async fn first_acks<Fut>(sends: Vec<Fut>, w: usize, timeout_ms: u64) -> Vec<bool>
    where
        Fut: std::future::Future<Output = Result<fault_tolerance::Ack, fault_tolerance::NoReply>>
            + Send
            + 'static,
    {
        let mut acked = vec![false; sends.len()];
        let mut tasks = tokio::task::JoinSet::new();
        for (i, sent) in sends.into_iter().enumerate() {
            tasks.spawn(async move {
                let reply = tokio::time::timeout(Duration::from_millis(timeout_ms), sent).await;
                (i, matches!(reply, Ok(Ok(_))))
            });
        }
        let mut acks = 0;
        while let Some(Ok((i, ok))) = tasks.join_next().await {
            acked[i] = ok;
            acks += usize::from(ok);
            if acks >= w {
                break;
            }
        }
        acked
    }
}

impl<const BUG: u8> SloppyCoordinator for Mutant<BUG> {
    fn new(config: FaultConfig, cluster_size: usize) -> Result<Self, ConfigError> {
        validate(config.quorum, cluster_size).map(|()| Mutant(config))
    }

    async fn put<O: StoredObject>(
        &self,
        network: &Network<O>,
        walk: &[NodeId],
        key: &str,
        versioned: O,
    ) -> Result<Placement, SloppyError> {
        let mut quorum = self.0.quorum;
        if BUG == 10 {
            quorum.w = quorum.r;
        }
        let n = quorum.n.min(walk.len());
        let primaries = &walk[..n];
        // The order in which round-1 replies and refusals arrived (indices into `primaries`).
        let arrived = Arc::new(Mutex::new(Vec::new()));
        let sends = primaries
            .iter()
            .enumerate()
            .map(|(i, node)| {
                let (network, node, key, v, arrived) = (
                    network.clone(),
                    node.clone(),
                    key.to_string(),
                    versioned.clone(),
                    Arc::clone(&arrived),
                );
                async move {
                    let reply = network.send_put(&node, &key, v).await;
                    arrived
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(i);
                    reply
                }
            })
            .collect();
        let acked = if BUG == 11 {
            Self::first_acks(sends, quorum.w, self.timeout_ms()).await
        } else {
            round(sends, self.timeout_ms()).await
        };
        let arrived = arrived
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut placement = Placement::new();
        let mut uncovered = Vec::new();
        for (primary, ok) in primaries.iter().zip(acked) {
            if ok {
                placement.insert(primary.clone(), None);
            } else {
                uncovered.push(primary.clone());
            }
        }
        if BUG == 11 && placement.len() >= quorum.w {
            return Ok(placement);
        }
        if BUG == 6 {
            // Noticed first, paired first; timeouts (never arrived) last, in walk order.
            uncovered.sort_by_key(|p| {
                let i = primaries.iter().position(|x| x == p).unwrap_or(usize::MAX);
                arrived.iter().position(|&a| a == i).unwrap_or(usize::MAX)
            });
        }
        let mut candidates: Vec<NodeId> = if BUG == 1 {
            walk.iter()
                .filter(|x| !uncovered.contains(x))
                .cloned()
                .collect()
        } else {
            walk[n..].to_vec()
        };
        let first_failed = uncovered.first().cloned();
        while BUG != 3 && !uncovered.is_empty() && !candidates.is_empty() {
            let take = uncovered.len().min(candidates.len());
            let pairs: Vec<(NodeId, NodeId)> = uncovered
                .iter()
                .cloned()
                .zip(candidates.drain(..take))
                .collect();
            let sends = pairs
                .iter()
                .map(|(primary, fallback)| {
                    let named = match (&first_failed, BUG) {
                        (Some(first), 2) => first.clone(),
                        _ => primary.clone(),
                    };
                    let (network, fallback, key, v) = (
                        network.clone(),
                        fallback.clone(),
                        key.to_string(),
                        versioned.clone(),
                    );
                    async move { network.send_hint(&fallback, &named, &key, v).await }
                })
                .collect();
            let bound = if BUG == 8 {
                FOREVER_MS
            } else {
                self.timeout_ms()
            };
            let acked = round(sends, bound).await;
            let mut still = Vec::new();
            for ((primary, fallback), ok) in pairs.iter().zip(acked) {
                if ok {
                    placement.insert(fallback.clone(), Some(primary.clone()));
                } else {
                    still.push(primary.clone());
                }
            }
            still.extend(uncovered.into_iter().skip(take));
            uncovered = still;
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
        // The order in which the handoffs' acks and refusals arrived (indices into `hints`).
        let arrived = Arc::new(Mutex::new(Vec::new()));
        if BUG == 0 {
            for hint in &hints {
                network.delete_hint(holder, &hint.primary, &hint.key);
            }
        }
        let sends = hints
            .iter()
            .enumerate()
            .map(|(i, hint)| {
                let (network, holder, hint, arrived) = (
                    network.clone(),
                    holder.clone(),
                    hint.clone(),
                    Arc::clone(&arrived),
                );
                let mut object = hint.object;
                // Stage 3's cases write `Versioned` values; the bug bumps their version.
                if BUG == 4
                    && let Some(v) =
                        (&mut object as &mut dyn std::any::Any).downcast_mut::<Versioned>()
                {
                    v.version += 1;
                }
                async move {
                    let reply = network
                        .send_handoff(&holder, &hint.primary, &hint.key, object)
                        .await;
                    arrived
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(i);
                    reply
                }
            })
            .collect::<Vec<_>>();
        let acked = if BUG == 7 {
            let mut acked = Vec::new();
            for send in sends {
                acked.extend(round(vec![send], self.timeout_ms()).await);
            }
            acked
        } else {
            round(sends, self.timeout_ms()).await
        };
        let acked = if BUG == 9 {
            // Outcomes as they came (timeouts, which never came, last), zipped with the list.
            let mut order = arrived
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            let never: Vec<usize> = (0..acked.len()).filter(|i| !order.contains(i)).collect();
            order.extend(never);
            order.iter().map(|&i| acked[i]).collect()
        } else {
            acked
        };
        let mut delivered = 0;
        for (hint, ok) in hints.iter().zip(acked) {
            if ok && (BUG == 0 || network.delete_hint(holder, &hint.primary, &hint.key)) {
                delivered += 1;
            }
        }
        delivered
    }
}
