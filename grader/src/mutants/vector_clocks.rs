//! Faulty stage-4 clocks and stores.
//!
//! Each mutant's store runs on that mutant's clocks, as a learner's store runs on the learner's
//! clocks, so a clock bug also shows wherever the store compares or merges.

use reference::vector_clocks::Clocks;
use vector_clocks::{ClockOrder, NodeId, Value, VectorClock, VectorClocks, Version, VersionStore};

use crate::implementations::ClockImpl;

/// `(name, what it does wrong, misbehaves)`.
pub const MUTANTS: &[(&str, &str, bool)] = &[
    ("panics", "compare() panics", true),
    (
        "merge-sums",
        "merge adds the two counters of an actor instead of taking the larger",
        false,
    ),
    (
        "equal-is-before",
        "compare answers Before for clocks with equal counters",
        false,
    ),
    (
        "one-direction",
        "compare only checks whether every counter of a is at most b's, so it never answers Concurrent",
        false,
    ),
    (
        "ignores-missing-actors",
        "compare looks only at the actors of its first clock",
        false,
    ),
    (
        "merge-drops-one-sided",
        "merge keeps only the actors present in both clocks",
        false,
    ),
    (
        "timestamps-decide",
        "compare settles concurrent clocks by their latest timestamp (last writer wins)",
        false,
    ),
    (
        "u32-counters",
        "increment and compare keep counters in a u32, so counters past 2^32 wrap",
        false,
    ),
    (
        "truncate-drops-newest",
        "truncation drops the entry with the largest timestamp",
        false,
    ),
    (
        "truncate-ties-to-last-actor",
        "truncation breaks timestamp ties by dropping the larger actor name",
        false,
    ),
    (
        "drops-siblings",
        "the store keeps only the newest write: concurrent siblings are lost",
        false,
    ),
    (
        "ignores-context",
        "put increments the empty clock instead of the client's context",
        false,
    ),
    (
        "equal-replaces",
        "a version whose clock is Equal to a held one replaces it (the later write wins) instead of adding nothing",
        false,
    ),
    (
        "reconcile-truncates",
        "reconcile truncates incoming clocks to the store's threshold, as put does",
        false,
    ),
];

/// The mutant called `name`.
pub fn by_name(name: &str) -> Option<ClockImpl> {
    let bug = MUTANTS.iter().position(|(n, _, _)| *n == name)?;
    Some(match bug {
        0 => ClockImpl::of::<Mutant<0>, Store<0>>(),
        1 => ClockImpl::of::<Mutant<1>, Store<1>>(),
        2 => ClockImpl::of::<Mutant<2>, Store<2>>(),
        3 => ClockImpl::of::<Mutant<3>, Store<3>>(),
        4 => ClockImpl::of::<Mutant<4>, Store<4>>(),
        5 => ClockImpl::of::<Mutant<5>, Store<5>>(),
        6 => ClockImpl::of::<Mutant<6>, Store<6>>(),
        7 => ClockImpl::of::<Mutant<7>, Store<7>>(),
        8 => ClockImpl::of::<Mutant<8>, Store<8>>(),
        9 => ClockImpl::of::<Mutant<9>, Store<9>>(),
        10 => ClockImpl::of::<Mutant<10>, Store<10>>(),
        11 => ClockImpl::of::<Mutant<11>, Store<11>>(),
        12 => ClockImpl::of::<Mutant<12>, Store<12>>(),
        13 => ClockImpl::of::<Mutant<13>, Store<13>>(),
        _ => return None,
    })
}

/// The reference clock rules with bug number `BUG` (the index in [`MUTANTS`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct Mutant<const BUG: u8>;

fn latest(clock: &VectorClock) -> u64 {
    clock
        .entries
        .values()
        .map(|e| e.timestamp)
        .max()
        .unwrap_or(0)
}

impl<const BUG: u8> VectorClocks for Mutant<BUG> {
    fn increment(&self, clock: &VectorClock, actor: &NodeId, timestamp: u64) -> VectorClock {
        let mut next = Clocks.increment(clock, actor, timestamp);
        if BUG == 7
            && let Some(e) = next.entries.get_mut(actor)
        {
            e.counter = u64::from(e.counter as u32);
        }
        next
    }

    fn compare(&self, a: &VectorClock, b: &VectorClock) -> ClockOrder {
        let right = Clocks.compare(a, b);
        match BUG {
            0 => panic!("mutant: compare() panicked"),
            2 if right == ClockOrder::Equal => ClockOrder::Before,
            3 => {
                let at_most = a
                    .entries
                    .iter()
                    .all(|(actor, e)| e.counter <= b.entries.get(actor).map_or(0, |f| f.counter));
                match (at_most, right) {
                    (true, ClockOrder::Equal) => ClockOrder::Equal,
                    (true, _) => ClockOrder::Before,
                    (false, _) => ClockOrder::After,
                }
            }
            4 => {
                let only_a: VectorClock = b
                    .entries
                    .iter()
                    .filter(|(actor, _)| a.entries.contains_key(*actor))
                    .map(|(actor, e)| (actor.clone(), *e))
                    .collect();
                Clocks.compare(a, &only_a)
            }
            6 if right == ClockOrder::Concurrent => match latest(a).cmp(&latest(b)) {
                std::cmp::Ordering::Less => ClockOrder::Before,
                std::cmp::Ordering::Greater => ClockOrder::After,
                std::cmp::Ordering::Equal => right,
            },
            7 => {
                let narrow = |c: &VectorClock| -> VectorClock {
                    c.entries
                        .iter()
                        .filter(|(_, e)| e.counter as u32 != 0)
                        .map(|(actor, e)| {
                            let mut e = *e;
                            e.counter = u64::from(e.counter as u32);
                            (actor.clone(), e)
                        })
                        .collect()
                };
                Clocks.compare(&narrow(a), &narrow(b))
            }
            _ => right,
        }
    }

    fn merge(&self, a: &VectorClock, b: &VectorClock) -> VectorClock {
        let mut merged = Clocks.merge(a, b);
        match BUG {
            1 => {
                for (actor, e) in &mut merged.entries {
                    let side = |c: &VectorClock| c.entries.get(actor).map_or(0, |f| f.counter);
                    e.counter = side(a) + side(b);
                }
            }
            5 => merged
                .entries
                .retain(|actor, _| a.entries.contains_key(actor) && b.entries.contains_key(actor)),
            _ => {}
        }
        merged
    }

    fn truncate(&self, clock: &VectorClock, threshold: usize) -> VectorClock {
        let mut kept = clock.clone();
        while kept.entries.len() > threshold {
            let victim = match BUG {
                8 => kept.entries.iter().max_by_key(|(a, e)| (e.timestamp, *a)),
                9 => {
                    let oldest = kept.entries.values().map(|e| e.timestamp).min();
                    kept.entries
                        .iter()
                        .filter(|(_, e)| Some(e.timestamp) == oldest)
                        .max_by_key(|(a, _)| *a)
                }
                _ => return Clocks.truncate(clock, threshold),
            };
            let Some((actor, _)) = victim.map(|(a, e)| (a.clone(), *e)) else {
                break;
            };
            kept.entries.remove(&actor);
        }
        kept
    }
}

/// A sibling store on `Mutant<BUG>`'s clocks, with the store bugs of `BUG` 10 to 13.
pub struct Store<const BUG: u8> {
    threshold: usize,
    siblings: Vec<Version>,
}

impl<const BUG: u8> Store<BUG> {
    fn add(&mut self, version: Version) {
        let clocks = Mutant::<BUG>;
        if BUG == 10 {
            self.siblings = vec![version];
            return;
        }
        let before = self.siblings.len();
        let covered = self.siblings.iter().any(|held| {
            matches!(
                clocks.compare(&held.clock, &version.clock),
                ClockOrder::Equal | ClockOrder::After
            )
        });
        if covered && BUG == 12 {
            self.siblings
                .retain(|held| clocks.compare(&held.clock, &version.clock) != ClockOrder::Equal);
            if self.siblings.len() < before {
                self.siblings.push(version);
                self.siblings.sort();
            }
            return;
        }
        if covered {
            return;
        }
        self.siblings
            .retain(|held| clocks.compare(&held.clock, &version.clock) != ClockOrder::Before);
        self.siblings.push(version);
        self.siblings.sort();
    }
}

impl<const BUG: u8> VersionStore for Store<BUG> {
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
        let clocks = Mutant::<BUG>;
        let base = match (BUG, context) {
            (11, _) | (_, None) => VectorClock::new(),
            (_, Some(c)) => c.clone(),
        };
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
        let clocks = Mutant::<BUG>;
        self.siblings
            .iter()
            .fold(VectorClock::new(), |acc, v| clocks.merge(&acc, &v.clock))
    }

    fn reconcile(&mut self, incoming: Vec<Version>) {
        let clocks = Mutant::<BUG>;
        for mut version in incoming {
            if BUG == 13 {
                version.clock = clocks.truncate(&version.clock, self.threshold);
            }
            self.add(version);
        }
    }
}
