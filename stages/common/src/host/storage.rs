//! A node's local data: each key's stored object, and the hints it keeps for other nodes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::NodeId;
use crate::sim::Hint;

/// A node's local data. Every method returns once the change is durable on this host (in
/// memory for the simulator, committed to disk for a real node), so a node acknowledges a
/// write only after `put` returned. Keys and hints list in order, so results are deterministic.
///
/// Hints are kept apart from the node's own data, as Dynamo keeps them in a separate local
/// database (§4.6): a read of the node's data never sees them.
pub trait Storage<O>: Send {
    /// The object stored under `key`, if any.
    fn get(&self, key: &str) -> Option<O>;
    /// Stores `object` under `key`, replacing what was there.
    fn put(&mut self, key: &str, object: O);
    /// Removes `key` (tombstone reaping, or a range handed to a new owner); returns what was there.
    fn remove(&mut self, key: &str) -> Option<O>;
    /// Every key, sorted.
    fn keys(&self) -> Vec<String>;
    /// Every hint, ordered by (primary, key).
    fn hints(&self) -> Vec<Hint<O>>;
    /// Stores `hint`, replacing a hint already kept for the same (primary, key).
    fn put_hint(&mut self, hint: Hint<O>);
    /// Deletes the hint kept for `primary` under `key`; `false` when there was none.
    fn delete_hint(&mut self, primary: &NodeId, key: &str) -> bool;
}

/// Storage shared by a node's logic and its network handle (which reads the hints).
pub type SharedStorage<O> = Arc<Mutex<dyn Storage<O>>>;

/// [`Storage`] in memory: the simulator's, and the tests'.
#[derive(Clone, Debug)]
pub struct MemStorage<O> {
    data: BTreeMap<String, O>,
    hints: BTreeMap<(NodeId, String), O>,
}

impl<O> Default for MemStorage<O> {
    fn default() -> Self {
        Self {
            data: BTreeMap::new(),
            hints: BTreeMap::new(),
        }
    }
}

impl<O: Clone + Send + 'static> MemStorage<O> {
    /// An empty storage, ready to share.
    pub fn shared() -> SharedStorage<O> {
        Arc::new(Mutex::new(Self::default()))
    }
}

impl<O: Clone + Send> Storage<O> for MemStorage<O> {
    fn get(&self, key: &str) -> Option<O> {
        self.data.get(key).cloned()
    }

    fn put(&mut self, key: &str, object: O) {
        self.data.insert(key.to_string(), object);
    }

    fn remove(&mut self, key: &str) -> Option<O> {
        self.data.remove(key)
    }

    fn keys(&self) -> Vec<String> {
        self.data.keys().cloned().collect()
    }

    fn hints(&self) -> Vec<Hint<O>> {
        self.hints
            .iter()
            .map(|((primary, key), object)| Hint {
                primary: primary.clone(),
                key: key.clone(),
                object: object.clone(),
            })
            .collect()
    }

    fn put_hint(&mut self, hint: Hint<O>) {
        self.hints.insert((hint.primary, hint.key), hint.object);
    }

    fn delete_hint(&mut self, primary: &NodeId, key: &str) -> bool {
        self.hints
            .remove(&(primary.clone(), key.to_string()))
            .is_some()
    }
}
