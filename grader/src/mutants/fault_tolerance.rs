//! Faulty stage-3 coordinators. Each makes one mistake learners make; the reference's rounds and
//! configuration check are reused so each mutant breaks exactly one thing.

use fault_tolerance::{
    ConfigError, FaultConfig, Network, NodeId, Placement, SloppyCoordinator, SloppyError,
    StoredObject, Versioned,
};
use reference::fault_tolerance::round;
use reference::quorum::validate;

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
        let quorum = self.0.quorum;
        let n = quorum.n.min(walk.len());
        let primaries = &walk[..n];
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
        let acked = round(sends, self.timeout_ms()).await;
        let mut placement = Placement::new();
        let mut uncovered = Vec::new();
        for (primary, ok) in primaries.iter().zip(acked) {
            if ok {
                placement.insert(primary.clone(), None);
            } else {
                uncovered.push(primary.clone());
            }
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
            let acked = round(sends, self.timeout_ms()).await;
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
        if BUG == 0 {
            for hint in &hints {
                network.delete_hint(holder, &hint.primary, &hint.key);
            }
        }
        let sends = hints
            .iter()
            .map(|hint| {
                let (network, holder, hint) = (network.clone(), holder.clone(), hint.clone());
                let mut object = hint.object;
                // Stage 3's cases write `Versioned` values; the bug bumps their version.
                if BUG == 4
                    && let Some(v) =
                        (&mut object as &mut dyn std::any::Any).downcast_mut::<Versioned>()
                {
                    v.version += 1;
                }
                async move {
                    network
                        .send_handoff(&holder, &hint.primary, &hint.key, object)
                        .await
                }
            })
            .collect();
        let acked = round(sends, self.timeout_ms()).await;
        let mut delivered = 0;
        for (hint, ok) in hints.iter().zip(acked) {
            if ok && (BUG == 0 || network.delete_hint(holder, &hint.primary, &hint.key)) {
                delivered += 1;
            }
        }
        delivered
    }
}
