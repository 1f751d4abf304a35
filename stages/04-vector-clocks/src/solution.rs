//! Your vector clocks and sibling store. This is the only file you edit in stage 4.
//!
//! Replace each `todo!()` with your code, then run `cargo grade vector-clocks` and watch the
//! tracks turn green. The rules are in `stages/04-vector-clocks/README.md`; every method's
//! contract is on the [`VectorClocks`] and [`VersionStore`] traits in `src/lib.rs`.
//!
//! A good order: `increment`, `compare` and `merge` (track `causality`), then the store's `new`,
//! `put`, `get`, `context` and `reconcile` (`siblings`, then `shopping-cart`), then `truncate`
//! (`truncation`). Your store should use your own [`Clocks`]: `Clocks.compare(a, b)`.

use crate::{ClockOrder, NodeId, Value, VectorClock, VectorClocks, Version, VersionStore};

/// Your clock rules. It needs no fields: every operation gets all it needs as arguments.
#[derive(Clone, Copy, Debug, Default)]
pub struct Clocks;

impl VectorClocks for Clocks {
    fn increment(&self, clock: &VectorClock, actor: &NodeId, timestamp: u64) -> VectorClock {
        // TODO(README.md § "Increment")
        todo!("increment {actor} at time {timestamp} in {clock}")
    }

    fn compare(&self, a: &VectorClock, b: &VectorClock) -> ClockOrder {
        // TODO(README.md § "Compare"): look at every actor of both clocks.
        todo!("compare {a} with {b}")
    }

    fn merge(&self, a: &VectorClock, b: &VectorClock) -> VectorClock {
        // TODO(README.md § "Merge")
        todo!("merge {a} and {b}")
    }

    fn truncate(&self, clock: &VectorClock, threshold: usize) -> VectorClock {
        // TODO(README.md § "Truncation")
        todo!("truncate {clock} to at most threshold = {threshold} entries")
    }
}

/// Your store of one key's siblings. Choose its fields: what must `put` remember between calls?
pub struct Store {
    // TODO(README.md § "Your task"): add the fields your store needs.
}

impl VersionStore for Store {
    fn new(threshold: usize) -> Self {
        // TODO(README.md § "Siblings")
        todo!("create an empty store truncating clocks at threshold = {threshold}")
    }

    fn put(
        &mut self,
        context: Option<&VectorClock>,
        value: Value,
        actor: &NodeId,
        timestamp: u64,
    ) -> VectorClock {
        // TODO(README.md § "Siblings"): increment, truncate, then add by the sibling rule.
        let context = context.map_or("none".to_string(), |c| c.to_string());
        todo!("write {value:?} through {actor} at time {timestamp} with context {context}")
    }

    fn get(&self) -> Vec<Version> {
        // TODO(README.md § "Siblings"): sorted, so the order never depends on arrival.
        todo!("list the siblings")
    }

    fn context(&self) -> VectorClock {
        // TODO(README.md § "Siblings")
        todo!("merge the siblings' clocks")
    }

    fn reconcile(&mut self, incoming: Vec<Version>) {
        // TODO(README.md § "Syntactic reconciliation")
        todo!("reconcile {} incoming versions", incoming.len())
    }
}
