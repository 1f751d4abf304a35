//! The node's anti-entropy state per ring range, for [`NodeStatus`](store::NodeStatus): its
//! stage-5 Merkle root over each range it replicates, and its last sync there with each peer.
//!
//! Anti-entropy itself runs per peer (one tree over every key the two share, see `tick.rs`); a
//! range is what a reader compares, since a range's replicas are exactly the nodes that must hold
//! the same there. So the roots are built per range when the status is asked for (trees of the
//! node's Merkle depth over the keys of one range, cheap next to a sync), and an exchange with a
//! peer is recorded on every range the two replicate together.

use store::{NodeId, Range, RangeStatus, SyncOutcome, SyncRecord};

use super::{Node, State};

impl Node {
    /// Every range of the current ring (the arc ending at each token, in ring order) with its
    /// N primaries in walk order: the course's preference-list rule walked from that token.
    /// `f` of the ring's ranges, cached until the ring changes (`State::ranges`): syncs record
    /// on them every tick, so they are not rebuilt (nor cloned) each time.
    fn with_ranges<T>(&self, f: impl FnOnce(&[(Range, Vec<NodeId>)]) -> T) -> T {
        if self.state.borrow().ranges.is_none() {
            let ranges = self.compute_ranges();
            self.state.borrow_mut().ranges = Some(ranges);
        }
        let state = self.state.borrow();
        f(state.ranges.as_deref().unwrap_or_default())
    }

    fn compute_ranges(&self) -> Vec<(Range, Vec<NodeId>)> {
        let tokens = self.state.borrow().ring.tokens();
        let nodes: usize = {
            let mut names: Vec<&NodeId> = tokens.iter().map(|t| &t.node).collect();
            names.sort();
            names.dedup();
            names.len()
        };
        let n = self.config.quorum.n.min(nodes);
        let mut out = Vec::new();
        for (i, token) in tokens.iter().enumerate() {
            let previous = &tokens[(i + tokens.len() - 1) % tokens.len()];
            if tokens.len() > 1 && previous.position == token.position {
                // Two tokens at one position: the first owns every key there, the second an
                // empty arc.
                continue;
            }
            let mut replicas: Vec<NodeId> = Vec::new();
            for step in 0..tokens.len() {
                let node = &tokens[(i + step) % tokens.len()].node;
                if !replicas.contains(node) {
                    replicas.push(node.clone());
                    if replicas.len() == n {
                        break;
                    }
                }
            }
            let range = Range {
                start: previous.position,
                end: token.position,
            };
            out.push((range, replicas));
        }
        out
    }

    /// The ranges this node replicates, with their roots and last syncs.
    pub(super) fn range_status(&self) -> Vec<RangeStatus> {
        let me = self.me();
        let mine: Vec<(Range, Vec<NodeId>)> = self.with_ranges(|ranges| {
            ranges
                .iter()
                .filter(|(_, replicas)| replicas.contains(&me))
                .cloned()
                .collect()
        });
        let mut trees: Vec<_> = mine
            .iter()
            .map(|_| ((self.stages.replica)(self.config.merkle_depth), 0usize))
            .collect();
        {
            let storage = self.host.storage();
            for key in storage.keys() {
                let position = (self.stages.position)(&key);
                let Some(i) = mine.iter().position(|(r, _)| r.contains(position)) else {
                    continue;
                };
                if let Some(held) = storage.get(&key).filter(|s| !s.0.is_empty()) {
                    trees[i].0.insert(&key, held.0);
                    trees[i].1 += 1;
                }
            }
        }
        let state = self.state.borrow();
        mine.into_iter()
            .zip(trees)
            .map(|((range, replicas), (tree, keys))| {
                // Filed syncs of earlier rings, then this ring's.
                let mut synced = state.synced.get(&range).cloned().unwrap_or_default();
                for peer in &replicas {
                    if let Some(record) = state.synced_now.get(peer) {
                        synced.insert(peer.clone(), *record);
                    }
                }
                (range, replicas, tree, keys, synced)
            })
            .map(|(range, replicas, tree, keys, synced)| RangeStatus {
                synced,
                range,
                replicas,
                keys,
                root: tree.node(0, 0),
            })
            .collect()
    }

    /// Records an anti-entropy exchange with `peer` on every range the two replicate.
    ///
    /// Syncs happen every tick and the ring rarely changes, so the record is kept per peer
    /// (`State::synced_now`) and written onto the ranges only when the ring changes
    /// ([`Node::file_syncs`]) or a status is asked for.
    pub(super) fn record_sync(&self, peer: &NodeId, outcome: SyncOutcome) {
        // The ranges the record will be filed on are this ring's.
        self.with_ranges(|_| ());
        let record = SyncRecord {
            at_ms: self.host.now_ms(),
            outcome,
        };
        self.state
            .borrow_mut()
            .synced_now
            .insert(peer.clone(), record);
    }

    /// Files the syncs recorded since the last ring change onto the ranges of that ring, which
    /// is about to change.
    pub(super) fn file_syncs(state: &mut State, me: &NodeId) {
        let Some(ranges) = state.ranges.take() else {
            return;
        };
        let syncs = std::mem::take(&mut state.synced_now);
        for (range, replicas) in &ranges {
            if !replicas.contains(me) {
                continue;
            }
            for (peer, record) in syncs.iter().filter(|(p, _)| replicas.contains(p)) {
                state
                    .synced
                    .entry(*range)
                    .or_default()
                    .insert(peer.clone(), *record);
            }
        }
    }
}
