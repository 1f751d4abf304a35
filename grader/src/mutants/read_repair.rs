//! Faulty stage-6 coordinators. Each makes one mistake learners make; the reference's
//! reconciliation, staleness test and repair sending are reused so each breaks exactly one thing.

use read_repair::{Client, Network, NodeId, ReadError, ReadRepair, Siblings, Stage4, Version};
use reference::read_repair::{is_behind, reconcile, repair};
use tokio::task::JoinSet;

use crate::implementations::ReadRepairImpl;

/// `(name, what it does wrong, misbehaves)`.
pub const MUTANTS: &[(&str, &str, bool)] = &[
    (
        "repairs-up-to-date",
        "sends the result to every replica that replied, also those already up to date",
        false,
    ),
    (
        "newest-only",
        "repairs with the single greatest version instead of the whole reconciled sibling set",
        false,
    ),
    (
        "repairs-before-answering",
        "waits for every reply and sends the repairs before answering the client",
        false,
    ),
    (
        "ignores-late-replies",
        "stops listening once the client is answered, so replicas that reply later are never \
         repaired",
        false,
    ),
    (
        "repairs-twice",
        "sends each stale replica the same repair twice",
        false,
    ),
    (
        "fails-at-the-last-event",
        "when R cannot be met, answers the error only after every replica replied or failed, \
         counting every reply",
        false,
    ),
    (
        "stops-at-the-error",
        "once R is out of reach, answers the error and returns (stage 2's fail fast), so the \
         replicas that did reply are never repaired",
        false,
    ),
    (
        "repairs-silent",
        "treats a replica that did not reply (down, timed out) as holding nothing, and repairs it",
        false,
    ),
    (
        "compares-newest-only",
        "a replica is behind when its greatest version differs from the result's greatest, \
         comparing single versions instead of sets",
        false,
    ),
    (
        "returns-before-repairs-land",
        "sends the repairs from detached tasks and returns once they are sent, without waiting \
         for their acks",
        false,
    ),
];

/// The mutant called `name`.
pub fn by_name(name: &str) -> Option<ReadRepairImpl> {
    Some(match name {
        "repairs-up-to-date" => ReadRepairImpl::of::<Mutant<0>>(),
        "newest-only" => ReadRepairImpl::of::<Mutant<1>>(),
        "repairs-before-answering" => ReadRepairImpl::of::<Mutant<2>>(),
        "ignores-late-replies" => ReadRepairImpl::of::<Mutant<3>>(),
        "repairs-twice" => ReadRepairImpl::of::<Mutant<4>>(),
        "fails-at-the-last-event" => ReadRepairImpl::of::<Mutant<5>>(),
        "stops-at-the-error" => ReadRepairImpl::of::<Mutant<6>>(),
        "repairs-silent" => ReadRepairImpl::of::<Mutant<7>>(),
        "compares-newest-only" => ReadRepairImpl::of::<Mutant<8>>(),
        "returns-before-repairs-land" => ReadRepairImpl::of::<Mutant<9>>(),
        _ => return None,
    })
}

/// The reference coordinator with bug number `BUG` (the index in [`MUTANTS`]).
pub struct Mutant<const BUG: u8>(usize);

impl<const BUG: u8> ReadRepair for Mutant<BUG> {
    fn new(r: usize) -> Self {
        Mutant(r)
    }

    async fn read(
        &self,
        network: &Network,
        stage4: &Stage4,
        preference: &[NodeId],
        key: &str,
        client: Client,
    ) {
        let r = self.0;
        let mut gets = JoinSet::new();
        for node in preference {
            let (network, node, key) = (network.clone(), node.clone(), key.to_string());
            gets.spawn(async move {
                let reply = network.send_get(&node, &key).await;
                (node, reply)
            });
        }
        let total = preference.len();
        let mut replies: Vec<(NodeId, Siblings)> = Vec::new();
        let mut failed = 0;
        let mut client = Some(client);
        let mut early = None;
        let mut silent: Vec<NodeId> = Vec::new();
        while let Some(joined) = gets.join_next().await {
            match joined {
                Ok((node, Ok(held))) => replies.push((node, held.unwrap_or_default())),
                Ok((node, Err(_))) => {
                    failed += 1;
                    if BUG == 7 {
                        silent.push(node);
                    }
                }
                Err(_) => failed += 1,
            }
            let answer = if replies.len() == r {
                Some(Ok(reconcile(stage4, replies.iter().map(|(_, s)| s))))
            } else if failed > total.saturating_sub(r)
                && replies.len() < r
                && (BUG != 5 || replies.len() + failed == total)
            {
                Some(Err(ReadError::NotEnoughReplicas {
                    needed: r,
                    got: replies.len(),
                }))
            } else {
                None
            };
            if let Some(answer) = answer {
                let failed_read = answer.is_err();
                if BUG == 2 {
                    early.get_or_insert(answer);
                } else if let Some(client) = client.take() {
                    client.answer(answer);
                    if BUG == 3 {
                        break;
                    }
                    if BUG == 6 && failed_read {
                        return;
                    }
                }
            }
        }
        let result: Vec<Version> = reconcile(stage4, replies.iter().map(|(_, s)| s));
        let mut stale: Vec<NodeId> = replies
            .iter()
            .filter(|(_, held)| match BUG {
                0 => true,
                8 => held.0.iter().max() != result.iter().max(),
                _ => is_behind(stage4, held, &result),
            })
            .map(|(node, _)| node.clone())
            .collect();
        // A silent replica, taken for an empty one, is behind any non-empty result.
        if !result.is_empty() {
            stale.extend(silent);
        }
        let sent: Vec<Version> = if BUG == 1 {
            result.iter().max().cloned().into_iter().collect()
        } else {
            result.clone()
        };
        if BUG == 9 {
            for node in stale {
                let (network, key, set) =
                    (network.clone(), key.to_string(), Siblings(sent.clone()));
                tokio::spawn(async move { network.send_repair(&node, &key, set).await });
            }
            // Let the tasks send (a message is on its way once its task first runs).
            tokio::task::yield_now().await;
        } else {
            repair(network, key, stale.clone(), &sent).await;
            if BUG == 4 {
                repair(network, key, stale, &sent).await;
            }
        }
        if let (Some(answer), Some(client)) = (early, client) {
            client.answer(answer);
        }
    }
}
