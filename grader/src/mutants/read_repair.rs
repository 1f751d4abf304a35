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
        while let Some(joined) = gets.join_next().await {
            match joined {
                Ok((node, Ok(held))) => replies.push((node, held.unwrap_or_default())),
                Ok((_, Err(_))) | Err(_) => failed += 1,
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
                if BUG == 2 {
                    early.get_or_insert(answer);
                } else if let Some(client) = client.take() {
                    client.answer(answer);
                    if BUG == 3 {
                        break;
                    }
                }
            }
        }
        let result: Vec<Version> = reconcile(stage4, replies.iter().map(|(_, s)| s));
        let stale: Vec<NodeId> = replies
            .iter()
            .filter(|(_, held)| BUG == 0 || is_behind(stage4, held, &result))
            .map(|(node, _)| node.clone())
            .collect();
        let sent: Vec<Version> = if BUG == 1 {
            result.iter().max().cloned().into_iter().collect()
        } else {
            result.clone()
        };
        repair(network, key, stale.clone(), &sent).await;
        if BUG == 4 {
            repair(network, key, stale, &sent).await;
        }
        if let (Some(answer), Some(client)) = (early, client) {
            client.answer(answer);
        }
    }
}
