//! What a membership change moves, and what it leaves behind.
//!
//! Stage 1 names the ranges a join or leave moves between owners: a joining node's ranges come
//! from their old owners at once (a `transfer` as soon as a node's ring learns of the join), and
//! a leaving node sends its ranges to their new owners before it goes. But with N replicas the
//! node that *stops* replicating a key is not always the range's old owner: when F joins in
//! front of E, C, B, B (the old N-th replica) leaves the key's preference list. So every node
//! also checks, at each tick, which keys it stores but no longer replicates by its own ring (the
//! key's first N nodes do not include it) and hands each to all of the key's primaries; once every
//! one of them acknowledged, and the key has not changed meanwhile, the node drops it. Nothing
//! stays behind, and nothing is dropped that its new primaries do not hold.
//!
//! A primary acknowledges a `transfer` only for keys it replicates by its own ring (it stores the
//! rest too, and answers `Refused`): a node whose ring lags behind a change could otherwise
//! acknowledge keys it would itself hand off and drop, and two nodes could drop one key to each
//! other.

use std::collections::{BTreeMap, BTreeSet};

use store::{Body, MessageKind, NodeId, Siblings, Transfer};

use super::Node;
use crate::together::Together;

impl Node {
    /// The key's primaries by this node's ring: the first N of its walk.
    pub(super) fn primaries(&self, key: &str) -> Vec<NodeId> {
        let mut walk = self.walk(key);
        walk.truncate(self.config.quorum.n);
        walk
    }

    /// Whether this node is one of the key's primaries by its own ring.
    pub(super) fn replicates(&self, key: &str) -> bool {
        self.primaries(key).contains(&self.me())
    }

    /// Sends the keys this node holds in `transfer.range` to `transfer.to` (a node that joined,
    /// or this node's successor when it leaves); whether it acked. The sender keeps its copy:
    /// whether it still replicates the keys is [`Node::hand_off_strays`]'s question.
    pub(super) async fn send_range(&self, transfer: &Transfer) -> bool {
        let entries: Vec<(String, Siblings)> = {
            let storage = self.host.storage();
            storage
                .keys()
                .into_iter()
                .filter(|k| transfer.range.contains((self.stages.position)(k)))
                .filter_map(|k| storage.get(&k).map(|s| (k, s)))
                .collect()
        };
        if entries.is_empty() {
            return true;
        }
        let detail = format!("{} keys of {}", entries.len(), transfer.range);
        matches!(
            self.host
                .send(
                    &transfer.to,
                    MessageKind::Transfer,
                    detail,
                    Body::Entries(entries)
                )
                .await,
            Ok(Body::Ack)
        )
    }

    /// Hands every key this node stores but no longer replicates to all of its primaries (when
    /// gossip sees them all alive), one `transfer` per primary, and drops each key every one of
    /// its primaries acknowledged, unless it changed while the transfer was on its way.
    pub(super) async fn hand_off_strays(&self) {
        let me = self.me();
        let mut sent: BTreeMap<String, (Vec<NodeId>, Siblings)> = BTreeMap::new();
        let mut per_primary: BTreeMap<NodeId, Vec<(String, Siblings)>> = BTreeMap::new();
        let keys: Vec<String> = self.with_index(|index| index.strays.iter().cloned().collect());
        for key in keys {
            let primaries = self.primaries(&key);
            if primaries.is_empty()
                || primaries.contains(&me)
                || !primaries.iter().all(|p| self.alive(p))
            {
                continue;
            }
            let Some(set) = self.host.storage().get(&key) else {
                continue;
            };
            for p in &primaries {
                per_primary
                    .entry(p.clone())
                    .or_default()
                    .push((key.clone(), set.clone()));
            }
            sent.insert(key, (primaries, set));
        }
        if sent.is_empty() {
            return;
        }
        let sends = per_primary.into_iter().map(|(peer, entries)| {
            let host = self.host.clone();
            let detail = format!("{} keys handed off", entries.len());
            async move {
                let answer = host
                    .send(&peer, MessageKind::Transfer, detail, Body::Entries(entries))
                    .await;
                (peer, matches!(answer, Ok(Body::Ack)))
            }
        });
        let acked: BTreeSet<NodeId> = Together::new(sends)
            .all()
            .await
            .into_iter()
            .filter_map(|(peer, ok)| ok.then_some(peer))
            .collect();
        if self.quirks.keep_handed_off {
            return;
        }
        for (key, (primaries, set)) in sent {
            let enough = if self.quirks.drop_on_any_ack {
                primaries.iter().any(|p| acked.contains(p))
            } else {
                primaries.iter().all(|p| acked.contains(p))
            };
            if !enough {
                continue;
            }
            let removed = {
                let mut storage = self.host.storage();
                // A put that arrived meanwhile is not in what the primaries acknowledged.
                let unchanged = storage.get(&key).as_ref() == Some(&set);
                unchanged && storage.remove(&key).is_some()
            };
            if removed {
                self.note_removed(&key);
                self.state.borrow_mut().confirmed.remove(&key);
            }
        }
    }

    /// Leaves: tells every member (so their rings drop this node), sends each range stage 1 says
    /// this node gives up to its new owner, then hands every key it still holds to the key's new
    /// primaries, dropping what they acknowledged.
    pub(super) async fn on_leave(&self) {
        let me = self.me();
        let transfers = {
            let mut state = self.state.borrow_mut();
            state.leaving = true;
            Node::ring_changed(&mut state, &me);
            let transfers = state.ring.remove_node(&me).unwrap_or_default();
            state.in_ring.retain(|n| *n != me);
            let mine = state.view.0.entry(me.clone()).or_default();
            mine.left = true;
            mine.heartbeat += 1;
            transfers
        };
        self.gossip().await;
        for transfer in &transfers {
            self.send_range(transfer).await;
        }
        self.hand_off_strays().await;
    }
}
