//! The periodic work: gossip and failure detection, hinted handoff, anti-entropy, handing off
//! what this node no longer replicates (`moves.rs`), reaping; and the membership changes gossip
//! brings (joins and leaves, with stage 1's transfers).

use store::{Body, MessageKind, NodeId, Payload, Siblings, SyncOutcome, Transfer};

use super::Node;
use crate::together::Together;

impl Node {
    pub(super) async fn on_tick(&self) {
        if self.state.borrow().leaving {
            return;
        }
        self.gossip().await;
        self.handoff().await;
        self.anti_entropy().await;
        self.hand_off_strays().await;
        self.reap();
    }

    /// Raises this node's heartbeat and swaps views with every member.
    pub(super) async fn gossip(&self) {
        let me = self.me();
        let now = self.host.now_ms();
        let (view, peers) = {
            let mut state = self.state.borrow_mut();
            let mine = state.view.0.entry(me.clone()).or_default();
            mine.heartbeat = now.max(mine.heartbeat + 1);
            let peers: Vec<NodeId> = state
                .view
                .0
                .iter()
                .filter(|(n, m)| **n != me && !m.left)
                .map(|(n, _)| n.clone())
                .collect();
            (state.view.clone(), peers)
        };
        let sends = peers.into_iter().map(|peer| {
            let (host, view) = (self.host.clone(), view.clone());
            async move {
                host.send(
                    &peer,
                    MessageKind::Gossip,
                    String::new(),
                    Body::Gossip(view),
                )
                .await
            }
        });
        // Each answer is merged as it comes (merging views is order-free).
        let mut sends = Together::new(sends);
        while let Some((_, answer)) = sends.next().await {
            if let Ok(Body::Gossip(theirs)) = answer {
                self.merge_view(&theirs).await;
            }
        }
    }

    /// Merges a gossiped view; applies the joins and leaves it brings.
    pub(super) async fn merge_view(&self, theirs: &store::Membership) {
        let now = self.host.now_ms();
        let me = self.me();
        let mut transfers: Vec<Transfer> = Vec::new();
        {
            let mut state = self.state.borrow_mut();
            let fresher = state.view.merge(theirs);
            for node in fresher {
                // Only the grader's `suspects-for-good` mutant looks up the old time here.
                let sticky = self.quirks.sticky_suspicion
                    && state
                        .fresh_at
                        .get(&node)
                        .is_some_and(|at| now.saturating_sub(*at) >= self.config.suspect_after_ms);
                if !sticky {
                    state.fresh_at.insert(node, now);
                }
            }
            // Every gossip exchange comes here, so this stays cheap: the ring's nodes are kept
            // in `in_ring` rather than found among its tokens.
            let changes: Vec<(NodeId, bool)> = state
                .view
                .0
                .iter()
                .filter(|(n, m)| {
                    let in_ring = state.in_ring.contains(n);
                    (m.left && in_ring && **n != me) || (!m.left && !in_ring)
                })
                .map(|(n, m)| (n.clone(), m.left))
                .collect();
            for (node, left) in changes {
                Node::ring_changed(&mut state, &me);
                if left {
                    // Whoever takes over from a leaver gets the keys from the leaver itself.
                    let _ = state.ring.remove_node(&node);
                    state.in_ring.retain(|n| *n != node);
                } else {
                    if let Ok(moved) = state.ring.add_node(node.clone()) {
                        transfers.extend(moved.into_iter().filter(|t| t.from == me));
                        state.in_ring.push(node.clone());
                    }
                    state.fresh_at.insert(node, now);
                }
            }
        }
        for transfer in transfers {
            self.send_range(&transfer).await;
        }
    }

    /// Stage 3's handoff, when some hint's primary is up again.
    ///
    /// A hint whose primary has left the cluster can never be delivered: it becomes this node's
    /// own copy of the key (merged with what it holds), and the membership hand-off (`moves.rs`)
    /// then moves it to the key's current primaries and drops it here, like any key this node
    /// holds but no longer replicates.
    async fn handoff(&self) {
        self.adopt_orphan_hints();
        let hints = self.host.storage().hints();
        if !hints.iter().any(|h| self.alive(&h.primary)) {
            return;
        }
        let config = self.fault_config(self.config.quorum.w);
        let size = self.state.borrow().view.0.len();
        if let Ok(sloppy) = (self.stages.sloppy)(config, size.max(config.quorum.n)) {
            sloppy.handoff(&self.network, &self.me()).await;
        }
    }

    /// Turns every hint for a member that left into this node's own copy of its key.
    fn adopt_orphan_hints(&self) {
        let orphans: Vec<_> = {
            let state = self.state.borrow();
            self.host
                .storage()
                .hints()
                .into_iter()
                .filter(|h| state.view.0.get(&h.primary).is_some_and(|m| m.left))
                .collect()
        };
        for hint in orphans {
            self.store_merge(&hint.key, hint.object.0);
            self.host.storage().delete_hint(&hint.primary, &hint.key);
        }
    }

    /// The number of changes this node made to its data so far: a stamp for [`Node::confirm`].
    pub(super) fn changes(&self) -> u64 {
        self.state.borrow().changes
    }

    /// Records that `peer` holds the same sets as this node for `keys`, as this node held them
    /// when it had made `since` changes: a key changed after that (while an exchange awaited its
    /// answer) is not confirmed, since the peer confirmed the set it had before.
    pub(super) fn confirm(&self, peer: &NodeId, keys: &[String], since: u64) {
        let mut state = self.state.borrow_mut();
        for key in keys {
            if state.changed_at.get(key).is_some_and(|&at| at > since) {
                continue;
            }
            state
                .confirmed
                .entry(key.clone())
                .or_default()
                .insert(peer.clone());
        }
    }

    /// One Merkle exchange (stage 5) with the next live peer in turn.
    async fn anti_entropy(&self) {
        let me = self.me();
        let peers: Vec<NodeId> = {
            let state = self.state.borrow();
            state
                .view
                .0
                .iter()
                .filter(|(n, m)| **n != me && !m.left)
                .map(|(n, _)| n.clone())
                .collect()
        };
        let peers: Vec<NodeId> = peers.into_iter().filter(|p| self.alive(p)).collect();
        if peers.is_empty() {
            return;
        }
        let peer = {
            let mut state = self.state.borrow_mut();
            state.turn = state.turn.wrapping_add(1);
            peers[state.turn % peers.len()].clone()
        };
        // The opener is one level of the tree the index keeps up to date (the leaves of a
        // shallow tree): no tree is built for an exchange that finds the two sides in sync, and
        // one that does not moves only the keys under the nodes that differ.
        let level = self.sync_level();
        let hashes = self.shared_level(&peer, level);
        let since = self.changes();
        let answer = self
            .host
            .send(
                &peer,
                MessageKind::Sync,
                format!("level {level}"),
                Body::SyncLevel { level, hashes },
            )
            .await;
        match answer {
            Ok(Body::InSync) => {
                self.confirm(&peer, &self.shared_outside(&peer, level, &[]), since);
                self.record_sync(&peer, SyncOutcome::InSync);
            }
            Ok(Body::Differing {
                level: answered,
                nodes,
                entries,
            }) if answered == level && nodes.iter().all(|&n| n < 1 << level) => {
                let depth = self.config.merkle_depth;
                // Keys under the nodes that matched are the same on both sides.
                self.confirm(&peer, &self.shared_outside(&peer, level, &nodes), since);
                let mut mine = (self.stages.replica)(depth);
                for (key, set) in self.shared_under(&peer, level, &nodes) {
                    mine.insert(&key, set);
                }
                let mut theirs = (self.stages.replica)(depth);
                for (key, siblings) in entries {
                    if !siblings.0.is_empty() {
                        theirs.insert(&key, siblings.0);
                    }
                }
                // A reaped tombstone must not come back: a key only one side holds, as nothing
                // but tombstones past their grace, was reaped by the other side (which held it,
                // or it could not have reaped). Leave it out of the exchange; the side still
                // holding it counts the other as confirmed and reaps it in turn.
                let mine_keys: Vec<String> = mine.keys();
                let their_keys: Vec<String> = theirs.keys();
                let mut reaped_there = Vec::new();
                for key in &mine_keys {
                    if their_keys.binary_search(key).is_err() && self.reapable(&mine.get(key)) {
                        mine.delete(key);
                        reaped_there.push(key.clone());
                    }
                }
                for key in &their_keys {
                    if mine_keys.binary_search(key).is_err() && self.reapable(&theirs.get(key)) {
                        theirs.delete(key);
                    }
                }
                self.confirm(&peer, &reaped_there, since);
                let report = mine.sync(theirs.as_mut(), &self.stages.sibling_stores());
                for key in &report.received {
                    self.store_merge(key, mine.get(key));
                }
                let back: Vec<(String, Siblings)> = report
                    .sent
                    .iter()
                    .map(|k| (k.clone(), Siblings(theirs.get(k))))
                    .collect();
                let all: Vec<String> = mine.keys();
                let repaired = SyncOutcome::Repaired {
                    sent: back.len(),
                    received: report.received.len(),
                };
                // What this node now holds for these keys is what it stored from the exchange.
                let since = self.changes();
                if back.is_empty() {
                    self.confirm(&peer, &all, since);
                    self.record_sync(&peer, repaired);
                } else {
                    let detail = format!("{} keys", back.len());
                    let acked = self
                        .host
                        .send(&peer, MessageKind::Sync, detail, Body::Entries(back))
                        .await;
                    if matches!(acked, Ok(Body::Ack)) {
                        self.confirm(&peer, &all, since);
                        self.record_sync(&peer, repaired);
                    } else {
                        self.record_sync(&peer, SyncOutcome::NoAnswer);
                    }
                }
            }
            _ => self.record_sync(&peer, SyncOutcome::NoAnswer),
        }
    }

    /// Whether a set is nothing but tombstones whose grace period has passed.
    fn reapable(&self, set: &[store::Version]) -> bool {
        let written = set
            .iter()
            .flat_map(|v| v.clock.entries.values().map(|e| e.timestamp))
            .max()
            .unwrap_or(0);
        !set.is_empty()
            && set.iter().all(Payload::is_tombstone)
            && (self.quirks.reap_early
                || self.host.now_ms().saturating_sub(written) >= self.config.tombstone_grace_ms)
    }

    /// Removes the tombstones every other primary confirmed holding, once their grace passed.
    fn reap(&self) {
        let me = self.me();
        let n = self.config.quorum.n;
        let keys: Vec<String> = self.with_index(|index| index.tombstones.iter().cloned().collect());
        for key in keys {
            let Some(held) = self.host.storage().get(&key) else {
                continue;
            };
            if !self.reapable(&held.0) {
                continue;
            }
            let walk = self.walk(&key);
            let primaries = &walk[..n.min(walk.len())];
            let confirmed = self
                .state
                .borrow()
                .confirmed
                .get(&key)
                .cloned()
                .unwrap_or_default();
            if self.quirks.reap_unconfirmed
                || primaries.iter().all(|p| *p == me || confirmed.contains(p))
            {
                self.host.storage().remove(&key);
                self.note_removed(&key);
                self.state.borrow_mut().confirmed.remove(&key);
            }
        }
    }
}
