//! What the periodic work needs to know about the keys this node stores, kept up to date as the
//! data changes instead of recomputed at every tick.
//!
//! - each stored key's primaries under the current ring (its walk is a SHA-256 and a ring
//!   search, and a tick used to walk every key three times);
//! - per peer, one stage-5 Merkle replica of the keys the two replicate: anti-entropy's tree,
//!   which stage 5 updates along one path per changed key, so an exchange whose roots agree
//!   costs one comparison instead of a tree built from every shared key. Changes wait in
//!   `Index::pending` until the peer's tree is next read: a key written ten times between two
//!   exchanges is hashed in once;
//! - the keys stored here that this node does not replicate (what `moves.rs` hands off);
//! - the keys whose set is nothing but tombstones (what reaping looks at).
//!
//! Every change the node makes to its data reports here ([`Node::note_stored`],
//! [`Node::note_removed`]). A ring change drops the index ([`Node::ring_changed`]); its next use
//! rebuilds it from storage, as does a node that (re)starts on a storage that already holds data.

use std::collections::{BTreeMap, BTreeSet};

use store::{Hash, NodeId, Payload, Replica, Version};

/// The deepest level an anti-entropy exchange sends: 256 hashes (8 KiB), whatever the depth.
pub(super) const SYNC_LEVEL: u32 = 8;

use super::{Node, State};

/// The index; `State::index`, `None` until first used and after every ring change.
#[derive(Default)]
pub(super) struct Index {
    /// Each stored key's primaries, in walk order.
    primaries: BTreeMap<String, Vec<NodeId>>,
    /// Per peer, the keys both replicate, as a stage-5 replica. Read it through
    /// [`Index::tree`], which applies the peer's pending changes first.
    shared: BTreeMap<NodeId, Box<dyn Replica>>,
    /// Per peer, changes not yet applied to its tree: key -> its new set (`None`: the key left).
    /// A tree is brought up to date when it is next read (an exchange with that peer), so a key
    /// written many times between two exchanges is hashed into the tree once, not every time.
    pending: BTreeMap<NodeId, BTreeMap<String, Option<Vec<Version>>>>,
    /// Keys stored here whose primaries do not include this node.
    pub(super) strays: BTreeSet<String>,
    /// Keys whose set is nothing but tombstones.
    pub(super) tombstones: BTreeSet<String>,
}

impl Index {
    fn forget(&mut self, key: &str) {
        if let Some(primaries) = self.primaries.remove(key) {
            for peer in primaries {
                self.pending
                    .entry(peer)
                    .or_default()
                    .insert(key.to_string(), None);
            }
        }
        self.strays.remove(key);
        self.tombstones.remove(key);
    }

    /// The tree shared with `peer`, its pending changes applied (`make` builds a new tree).
    fn tree(&mut self, peer: &NodeId, make: &dyn Fn() -> Box<dyn Replica>) -> Option<&dyn Replica> {
        if let Some(changes) = self.pending.remove(peer) {
            let tree = self.shared.entry(peer.clone()).or_insert_with(make);
            for (key, set) in changes {
                match set {
                    Some(set) => tree.insert(&key, set),
                    None => {
                        tree.delete(&key);
                    }
                }
            }
        }
        self.shared.get(peer).map(|tree| &**tree)
    }

    /// Every tree brought up to date.
    fn flush(&mut self, make: &dyn Fn() -> Box<dyn Replica>) {
        let peers: Vec<NodeId> = self.pending.keys().cloned().collect();
        for peer in peers {
            self.tree(&peer, make);
        }
    }
}

/// Counts a change of `key`'s set (stored or removed) and records it as the key's last: what
/// `Node::confirm` checks a sync's confirmations against.
fn stamp(state: &mut State, key: &str) {
    state.changes += 1;
    let at = state.changes;
    // A key changes many times: its entry is overwritten in place, not re-allocated.
    match state.changed_at.get_mut(key) {
        Some(last) => *last = at,
        None => {
            state.changed_at.insert(key.to_string(), at);
        }
    }
}

/// The first N nodes of the key's walk under `state`'s ring (see [`Node::walk`]).
pub(super) fn primaries_in(state: &State, key: &str, n: usize) -> Vec<NodeId> {
    let size = state.view.0.values().filter(|m| !m.left).count().max(1);
    let mut walk = state.ring.preference_list(key, size).unwrap_or_default();
    walk.truncate(n);
    walk
}

impl Node {
    /// `f` of the index, built from storage first if the ring changed since it was last used.
    pub(super) fn with_index<T>(&self, f: impl FnOnce(&mut Index) -> T) -> T {
        if self.state.borrow().index.is_none() {
            let data: Vec<(String, Vec<Version>)> = {
                let storage = self.host.storage();
                storage
                    .keys()
                    .into_iter()
                    .filter_map(|k| storage.get(&k).map(|s| (k, s.0)))
                    .collect()
            };
            let mut state = self.state.borrow_mut();
            let mut index = Index::default();
            for (key, set) in data {
                self.index_one(&state, &mut index, &key, &set);
            }
            state.index = Some(index);
        }
        let mut state = self.state.borrow_mut();
        f(state.index.get_or_insert_with(Index::default))
    }

    /// Records `key`'s new set (stored by this node) in the index, and stamps the change.
    pub(super) fn note_stored(&self, key: &str, set: &[Version]) {
        let mut state = self.state.borrow_mut();
        stamp(&mut state, key);
        if let Some(mut index) = state.index.take() {
            self.index_one(&state, &mut index, key, set);
            state.index = Some(index);
        }
    }

    /// Records that `key` left this node's storage, and stamps the change.
    pub(super) fn note_removed(&self, key: &str) {
        let mut state = self.state.borrow_mut();
        stamp(&mut state, key);
        if let Some(index) = state.index.as_mut() {
            index.forget(key);
        }
    }

    /// The ring is about to change: every key's primaries may. The syncs recorded on the old
    /// ring are filed on its ranges first.
    pub(super) fn ring_changed(state: &mut State, me: &NodeId) {
        Node::file_syncs(state, me);
        state.ranges = None;
        state.index = None;
    }

    /// Indexes `key` with `set`, replacing what the index held for it.
    fn index_one(&self, state: &State, index: &mut Index, key: &str, set: &[Version]) {
        if set.is_empty() {
            index.forget(key);
            return;
        }
        // A stored key keeps its primaries until the ring changes (which drops the index): only
        // a key new to the index walks the ring. Its entries are updated in place, so a key
        // written again allocates nothing here but its set's copies.
        if !index.primaries.contains_key(key) {
            let primaries = primaries_in(state, key, self.config.quorum.n);
            index.primaries.insert(key.to_string(), primaries);
        }
        let Index {
            primaries,
            pending,
            strays,
            tombstones,
            ..
        } = index;
        let primaries = &primaries[key];
        if set.iter().all(Payload::is_tombstone) {
            if !tombstones.contains(key) {
                tombstones.insert(key.to_string());
            }
        } else {
            tombstones.remove(key);
        }
        let me = self.me();
        if primaries.contains(&me) {
            for peer in primaries.iter().filter(|p| **p != me) {
                let changes = match pending.get_mut(peer) {
                    Some(changes) => changes,
                    None => pending.entry(peer.clone()).or_default(),
                };
                match changes.get_mut(key) {
                    Some(change) => *change = Some(set.to_vec()),
                    None => {
                        changes.insert(key.to_string(), Some(set.to_vec()));
                    }
                }
            }
        } else if !strays.contains(key) {
            strays.insert(key.to_string());
        }
    }

    /// The keys this node and `peer` both replicate that are not under `nodes` (sorted) of
    /// `level`, in key order: all of them when `nodes` is empty.
    pub(super) fn shared_outside(&self, peer: &NodeId, level: u32, nodes: &[u64]) -> Vec<String> {
        let below = self.config.merkle_depth.saturating_sub(level);
        self.with_index(|index| {
            let Some(tree) = index.tree(peer, &|| self.new_tree()) else {
                return Vec::new();
            };
            let mut keys = tree.keys();
            if !nodes.is_empty() {
                keys.retain(|k| nodes.binary_search(&(tree.segment(k) >> below)).is_err());
            }
            keys
        })
    }

    /// The level an anti-entropy exchange compares: the leaves, or level [`SYNC_LEVEL`] of a
    /// deeper tree (its `2^level` hashes are what the opener sends).
    pub(super) fn sync_level(&self) -> u32 {
        self.config.merkle_depth.min(SYNC_LEVEL)
    }

    /// The hashes of level `level` of the tree over the keys this node and `peer` both
    /// replicate (the empty tree's when they share none).
    pub(super) fn shared_level(&self, peer: &NodeId, level: u32) -> Vec<Hash> {
        self.with_index(|index| {
            let empty;
            let tree = match index.tree(peer, &|| self.new_tree()) {
                Some(tree) => tree,
                None => {
                    empty = self.new_tree();
                    &*empty
                }
            };
            (0..1u64 << level).map(|i| tree.node(level, i)).collect()
        })
    }

    /// An empty stage-5 tree of this node's depth.
    fn new_tree(&self) -> Box<dyn Replica> {
        (self.stages.replica)(self.config.merkle_depth)
    }

    /// The entries of the tree shared with `peer` under `nodes` of `level`, in key order.
    pub(super) fn shared_under(
        &self,
        peer: &NodeId,
        level: u32,
        nodes: &[u64],
    ) -> Vec<(String, Vec<Version>)> {
        let depth = self.config.merkle_depth;
        let below = depth.saturating_sub(level);
        self.with_index(|index| {
            let Some(tree) = index.tree(peer, &|| self.new_tree()) else {
                return Vec::new();
            };
            nodes
                .iter()
                .flat_map(|&node| (node << below)..((node + 1) << below))
                .flat_map(|segment| tree.leaf(segment))
                .collect()
        })
    }
}

impl Node {
    /// Re-reads `key` from storage into the index, for code that changes this node's storage
    /// behind its back: the grader's mutants only (`grader/src/mutants/store.rs`).
    #[doc(hidden)]
    pub fn storage_changed(&self, key: &str) {
        let held = self.host.storage().get(key);
        match held {
            Some(set) => self.note_stored(key, &set.0),
            None => self.note_removed(key),
        }
    }
}

impl Node {
    /// Compares the index with one built afresh from storage; says what differs. For tests:
    /// the index is kept up to date change by change, and a change it missed would make
    /// anti-entropy trust a stale tree (`grader/src/stages/store/index_tests.rs`).
    #[doc(hidden)]
    pub fn check_index(&self) -> Result<(), String> {
        let Some(mut kept) = self.state.borrow_mut().index.take() else {
            return Ok(());
        };
        let mut fresh = self.with_index(std::mem::take);
        kept.flush(&|| self.new_tree());
        fresh.flush(&|| self.new_tree());
        let verdict = compare(&kept, &fresh);
        self.state.borrow_mut().index = Some(kept);
        verdict.map_err(|e| format!("{}: {e}", self.me()))
    }
}

fn compare(kept: &Index, fresh: &Index) -> Result<(), String> {
    if kept.primaries != fresh.primaries {
        return Err("the keys' primaries differ from storage's".into());
    }
    if kept.strays != fresh.strays {
        return Err(format!(
            "strays {:?}, storage has {:?}",
            kept.strays, fresh.strays
        ));
    }
    if kept.tombstones != fresh.tombstones {
        return Err(format!(
            "tombstones {:?}, storage has {:?}",
            kept.tombstones, fresh.tombstones
        ));
    }
    let peers: BTreeSet<&NodeId> = kept.shared.keys().chain(fresh.shared.keys()).collect();
    for peer in peers {
        let keys = |i: &Index| i.shared.get(peer).map(|t| t.keys()).unwrap_or_default();
        let root = |i: &Index| i.shared.get(peer).map(|t| t.node(0, 0));
        if keys(kept) != keys(fresh) {
            return Err(format!("the keys shared with {peer} differ from storage's"));
        }
        if !keys(kept).is_empty() && root(kept) != root(fresh) {
            return Err(format!("the tree shared with {peer} has a stale root"));
        }
    }
    Ok(())
}
