//! Stage 4: vector clocks and sibling versions.
//!
//! Both operations that walk two clocks (`compare`, `merge`) do a single merge-join over the two
//! `BTreeMap`s, which are already sorted by actor: no lookups, no allocation for `compare`. The
//! store keeps its siblings in a sorted `Vec`: a key rarely has more than a handful of siblings,
//! so a linear scan beats any index, and `get` is a clone.

use std::cmp::Ordering;
use std::collections::btree_map;
use std::iter::Peekable;

use vector_clocks::{
    ClockOrder, Entry, NodeId, Value, VectorClock, VectorClocks, Version, VersionStore,
};

/// The reference clock rules.
#[derive(Clone, Copy, Debug, Default)]
pub struct Clocks;

/// One step of a merge-join over two clocks: an actor with its entry on each side (`None` when
/// the actor is missing there).
type Pair<'a> = (&'a NodeId, Option<&'a Entry>, Option<&'a Entry>);

/// Walks the actors of both clocks in order, pairing their entries.
struct Join<'a> {
    a: Peekable<btree_map::Iter<'a, NodeId, Entry>>,
    b: Peekable<btree_map::Iter<'a, NodeId, Entry>>,
}

fn join<'a>(a: &'a VectorClock, b: &'a VectorClock) -> Join<'a> {
    Join {
        a: a.entries.iter().peekable(),
        b: b.entries.iter().peekable(),
    }
}

impl<'a> Iterator for Join<'a> {
    type Item = Pair<'a>;

    fn next(&mut self) -> Option<Pair<'a>> {
        let order = match (self.a.peek(), self.b.peek()) {
            (None, None) => return None,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((x, _)), Some((y, _))) => x.cmp(y),
        };
        Some(match order {
            Ordering::Less => {
                let (actor, e) = self.a.next()?;
                (actor, Some(e), None)
            }
            Ordering::Greater => {
                let (actor, e) = self.b.next()?;
                (actor, None, Some(e))
            }
            Ordering::Equal => {
                let (actor, x) = self.a.next()?;
                let (_, y) = self.b.next()?;
                (actor, Some(x), Some(y))
            }
        })
    }
}

fn counter(entry: Option<&Entry>) -> u64 {
    entry.map_or(0, |e| e.counter)
}

impl VectorClocks for Clocks {
    fn increment(&self, clock: &VectorClock, actor: &NodeId, timestamp: u64) -> VectorClock {
        let mut next = clock.clone();
        let entry = next.entries.entry(actor.clone()).or_default();
        entry.counter += 1;
        entry.timestamp = timestamp;
        next
    }

    fn compare(&self, a: &VectorClock, b: &VectorClock) -> ClockOrder {
        let (mut a_ahead, mut b_ahead) = (false, false);
        for (_, x, y) in join(a, b) {
            match counter(x).cmp(&counter(y)) {
                Ordering::Greater => a_ahead = true,
                Ordering::Less => b_ahead = true,
                Ordering::Equal => {}
            }
            if a_ahead && b_ahead {
                return ClockOrder::Concurrent;
            }
        }
        match (a_ahead, b_ahead) {
            (false, false) => ClockOrder::Equal,
            (false, true) => ClockOrder::Before,
            (true, false) => ClockOrder::After,
            (true, true) => ClockOrder::Concurrent,
        }
    }

    fn merge(&self, a: &VectorClock, b: &VectorClock) -> VectorClock {
        join(a, b)
            .map(|(actor, x, y)| {
                let entry = match (x, y) {
                    // The larger counter wins; on a tie, the later timestamp. Entry's derived
                    // order is (counter, timestamp), exactly that.
                    (Some(x), Some(y)) => *x.max(y),
                    (Some(e), None) | (None, Some(e)) => *e,
                    (None, None) => Entry::default(),
                };
                (actor.clone(), entry)
            })
            .collect()
    }

    fn truncate(&self, clock: &VectorClock, threshold: usize) -> VectorClock {
        let excess = clock.entries.len().saturating_sub(threshold);
        if excess == 0 {
            return clock.clone();
        }
        let mut by_age: Vec<(u64, &NodeId)> = clock
            .entries
            .iter()
            .map(|(actor, e)| (e.timestamp, actor))
            .collect();
        by_age.sort_unstable();
        let mut kept = clock.clone();
        for (_, actor) in &by_age[..excess] {
            kept.entries.remove(*actor);
        }
        kept
    }
}

/// The reference sibling store.
#[derive(Clone, Debug)]
pub struct Store {
    threshold: usize,
    /// The siblings, sorted; no one `Equal` to or `Before` another.
    siblings: Vec<Version>,
}

impl Store {
    /// Adds `version` by the sibling rule: ignored when something held equals or descends from
    /// it, otherwise it replaces everything it descends from.
    fn add(&mut self, version: Version) {
        let clocks = Clocks;
        let covered = self.siblings.iter().any(|held| {
            matches!(
                clocks.compare(&held.clock, &version.clock),
                ClockOrder::Equal | ClockOrder::After
            )
        });
        if covered {
            return;
        }
        self.siblings
            .retain(|held| clocks.compare(&held.clock, &version.clock) != ClockOrder::Before);
        let at = self.siblings.partition_point(|held| *held < version);
        self.siblings.insert(at, version);
    }
}

impl VersionStore for Store {
    fn new(threshold: usize) -> Self {
        Self {
            threshold,
            siblings: Vec::new(),
        }
    }

    fn put(
        &mut self,
        context: Option<&VectorClock>,
        value: Value,
        actor: &NodeId,
        timestamp: u64,
    ) -> VectorClock {
        let clocks = Clocks;
        let base = context.cloned().unwrap_or_default();
        let clock = clocks.truncate(&clocks.increment(&base, actor, timestamp), self.threshold);
        self.add(Version {
            clock: clock.clone(),
            value,
        });
        clock
    }

    fn get(&self) -> Vec<Version> {
        self.siblings.clone()
    }

    fn context(&self) -> VectorClock {
        self.siblings
            .iter()
            .fold(VectorClock::new(), |acc, v| Clocks.merge(&acc, &v.clock))
    }

    fn reconcile(&mut self, incoming: Vec<Version>) {
        for version in incoming {
            self.add(version);
        }
    }
}
