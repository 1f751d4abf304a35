//! Per-key linearizability of a register, checked with the Wing & Gong / Lowe search.
//!
//! Dynamo does **not** promise this (§2.3: it trades consistency for availability; §4.5: its
//! "quorum-like" R + W > N does not make reads see the latest write once sloppy quorums and
//! failures come in). The checker exists to make that visible: in `eventual` mode it finds the
//! stale read a partition causes, and a `strict` configuration is held to it.
//!
//! **The model.** Each key is a register whose state is `Option<String>` (`None`: absent),
//! initially `None`. A put sets `Some(value)`, a delete sets `None`, and a get is legal in state
//! `s` iff its live values are exactly `[s]` (none when `s` is `None`; two siblings are never
//! legal for a register). A history is linearizable (Herlihy & Wing, 1990) if there is one order
//! of its operations that is legal for the register and respects real time: an operation that
//! completed before another was invoked comes first. Acknowledged operations take effect at some
//! instant between invocation and completion. A write that failed or never completed may have
//! reached a replica anyway, so, as Knossos does with "info" operations, it may take effect at any
//! instant after its invocation, or never. Failed and pending gets told the client nothing and are
//! ignored. (A put or delete with a `Read` result is treated as failed; a get with a `Written`
//! result is ignored.)
//!
//! **Per key.** Linearizability is compositional (Herlihy & Wing's locality; Lowe calls the
//! per-key split P-compositionality): a history is linearizable iff each key's sub-history is,
//! so keys are checked independently and a violation names one key.
//!
//! **The search** (Wing & Gong 1993, with Lowe's 2017 memoization). A configuration is the set of
//! operations already linearized and the register state. From it, an operation may be linearized
//! next if no other unlinearized, acknowledged operation completed before it was invoked. The
//! search succeeds when every acknowledged operation is linearized; failed writes may stay out.
//! Configurations already explored are remembered (bitset, state), which turns an exponential
//! search into one proportional to the reachable configurations: a history with little
//! concurrency has few. Two cheap reductions keep it that way: a get that is legal now and may be
//! linearized now is taken at once (it does not change the state and only frees others), and a
//! failed write whose value no get ever returned is dropped (it can never explain an
//! observation). Finding the next candidates looks only at a window: operations are sorted by
//! invocation, so the scan starts at the earliest unlinearized acknowledged operation and stops at
//! the first one invoked after the earliest pending completion. The search uses an explicit stack,
//! so long histories do not overflow.
//!
//! **Shrinking.** A violating key's history is reduced greedily: drop an operation, keep the drop
//! if what is left is still not linearizable, until no single drop keeps it so (first in halving
//! chunks, then one by one), gets first and then everything. One extra rule keeps the core
//! faithful: a drop is refused if it removes a write that could explain what a remaining get
//! returned (a put of that value, or a delete for an empty read, invoked before the get completed).
//! Without it the shrinker could drop the delete behind an empty read and "find" a stale read the
//! history never had, or shrink every stale read to a lone "get returned x" with no write of x in
//! sight. Dropping never moves the others in time, so the real-time order of what remains is the
//! original one. The result is a minimal core a learner can read in a few lines.

use std::collections::{BTreeMap, HashSet};

use crate::history::{Event, History, Op, OpResult};
use crate::violation::{self, Violation};

/// Checks each key's history against a register, and returns one violation per key that is not
/// linearizable, with a shrunk sub-history in `events`. Sorted by key.
pub fn linearizable(history: &History) -> Vec<Violation> {
    let mut by_key: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
    for event in &history.events {
        by_key.entry(&event.key).or_default().push(event);
    }
    let mut out = Vec::new();
    for (key, events) in by_key {
        let ops = KeyOps::new(&events);
        let all: Vec<usize> = (0..ops.ops.len()).collect();
        if ops.check(&all) {
            continue;
        }
        let core = ops.shrink(all);
        let mut core_events: Vec<&Event> = core.iter().map(|&i| events[ops.ops[i].event]).collect();
        core_events.sort_by_key(|e| (e.invoke_ms, e.id));
        out.push(Violation {
            checker: "linearizability",
            key: key.to_string(),
            explanation: explain(key, &core_events),
            events: core_events.iter().map(|e| e.id).collect(),
        });
    }
    violation::sort(&mut out);
    out
}

/// What the register state is: an index into the value table, `None` for absent.
type State = Option<u32>;

#[derive(Clone, Copy, Debug)]
enum Kind {
    /// Sets the state.
    Write(State),
    /// Legal only in this state; `None` inside `Some` means "absent"; `Impossible` for siblings.
    Read(Obs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Obs {
    Is(State),
    Impossible,
}

#[derive(Clone, Debug)]
struct KeyOp {
    /// Index into the key's events.
    event: usize,
    invoke: u64,
    /// `None`: may take effect any time after `invoke` (a failed or pending write).
    complete: Option<u64>,
    kind: Kind,
}

impl KeyOp {
    fn required(&self) -> bool {
        self.complete.is_some()
    }
}

/// One key's operations, sorted by invocation, in the form the search needs.
struct KeyOps {
    ops: Vec<KeyOp>,
}

impl KeyOps {
    fn new(events: &[&Event]) -> Self {
        let mut values: BTreeMap<String, u32> = BTreeMap::new();
        let mut intern = |v: &str| -> u32 {
            let next = values.len() as u32;
            *values.entry(v.to_string()).or_insert(next)
        };
        let mut ops = Vec::new();
        for (index, e) in events.iter().enumerate() {
            let acked = |done: Option<u64>| Some(done.unwrap_or(u64::MAX));
            let (kind, complete) = match (&e.op, &e.result) {
                (Op::Get, OpResult::Read { values, .. }) => {
                    let live: Vec<&str> =
                        values.iter().filter_map(|i| i.value.as_deref()).collect();
                    let obs = match live.as_slice() {
                        [] => Obs::Is(None),
                        [v] => Obs::Is(Some(intern(v))),
                        _ => Obs::Impossible,
                    };
                    (Kind::Read(obs), acked(e.complete_ms))
                }
                (Op::Get, _) => continue,
                (Op::Put { value, .. }, result) => {
                    let done = matches!(result, OpResult::Written { .. });
                    let complete = if done { acked(e.complete_ms) } else { None };
                    (Kind::Write(Some(intern(value))), complete)
                }
                (Op::Delete { .. }, result) => {
                    let done = matches!(result, OpResult::Written { .. });
                    let complete = if done { acked(e.complete_ms) } else { None };
                    (Kind::Write(None), complete)
                }
            };
            ops.push(KeyOp {
                event: index,
                invoke: e.invoke_ms,
                complete,
                kind,
            });
        }
        ops.sort_by_key(|o| (o.invoke, o.event));
        KeyOps { ops }
    }

    /// Is the sub-history made of `subset` (indices into `ops`, ascending) linearizable?
    fn check(&self, subset: &[usize]) -> bool {
        let observed: HashSet<Obs> = subset
            .iter()
            .filter_map(|&i| match self.ops[i].kind {
                Kind::Read(obs) => Some(obs),
                Kind::Write(_) => None,
            })
            .collect();
        // Failed writes nobody observed can never help explain a read: leave them out.
        let ops: Vec<&KeyOp> = subset
            .iter()
            .map(|&i| &self.ops[i])
            .filter(|o| match o.kind {
                Kind::Write(s) => o.required() || observed.contains(&Obs::Is(s)),
                Kind::Read(_) => true,
            })
            .collect();
        search(&ops)
    }

    /// Does `subset` keep, for every get in it, every write that could explain what the get saw
    /// (a write of the state it returned, invoked before the get completed; for an empty read,
    /// every delete)? Dropping reads only ever makes a history easier to linearize, but dropping
    /// the write behind a read can *create* a violation the full history does not have (a get
    /// that returned nothing after a delete would look stale once the delete is gone). Keeping
    /// every possible explanation means the core shows the history's own violation.
    fn grounded(&self, subset: &[usize]) -> bool {
        let mut kept = vec![false; self.ops.len()];
        for &i in subset {
            kept[i] = true;
        }
        subset.iter().all(|&r| {
            let (Kind::Read(Obs::Is(seen)), Some(done)) = (self.ops[r].kind, self.ops[r].complete)
            else {
                return true;
            };
            self.ops.iter().enumerate().all(|(w, op)| {
                kept[w] || op.invoke >= done || !matches!(op.kind, Kind::Write(s) if s == seen)
            })
        })
    }

    /// Greedy shrink of a non-linearizable subset to one where no single drop keeps it so.
    /// Gets go first: with fewer gets, fewer writes are pinned by [`Self::grounded`], and whole
    /// runs of writes can then go at once.
    fn shrink(&self, keep: Vec<usize>) -> Vec<usize> {
        let keep = self.drop_chunks(keep, &|o: &KeyOp| matches!(o.kind, Kind::Read(_)));
        self.drop_chunks(keep, &|_: &KeyOp| true)
    }

    /// Drops chunks of the operations `droppable` accepts (halving the chunk size down to one,
    /// then single drops to a fixpoint) while the rest stays grounded and not linearizable.
    fn drop_chunks(&self, mut keep: Vec<usize>, droppable: &dyn Fn(&KeyOp) -> bool) -> Vec<usize> {
        let count = keep.iter().filter(|&&i| droppable(&self.ops[i])).count();
        let mut chunk = (count / 2).max(1);
        loop {
            let mut changed = false;
            // Positions in `keep` of the droppable ops, taken `chunk` at a time.
            let mut start = 0;
            loop {
                let positions: Vec<usize> = (0..keep.len())
                    .filter(|&p| droppable(&self.ops[keep[p]]))
                    .skip(start)
                    .take(chunk)
                    .collect();
                if positions.is_empty() {
                    break;
                }
                let candidate: Vec<usize> = (0..keep.len())
                    .filter(|p| !positions.contains(p))
                    .map(|p| keep[p])
                    .collect();
                if !candidate.is_empty() && self.grounded(&candidate) && !self.check(&candidate) {
                    keep = candidate;
                    changed = true;
                } else {
                    start += positions.len();
                }
            }
            if chunk > 1 {
                chunk /= 2;
            } else if !changed {
                // Single drops reached a fixpoint.
                return keep;
            }
        }
    }
}

/// Bitset of linearized operations plus the state: one search configuration.
type Config = (Vec<u64>, State);

/// The WGL search over `ops` (sorted by invocation); true if a legal linearization exists.
fn search(ops: &[&KeyOp]) -> bool {
    let frontier = Frontier::new(ops);
    let required = ops.iter().filter(|o| o.required()).count();
    let mut seen: HashSet<Config> = HashSet::new();
    let mut candidates = Vec::new();
    // Each stack entry: configuration and how many required ops it has linearized.
    let mut stack: Vec<(Vec<u64>, State, usize)> = vec![(vec![0; frontier.words], None, 0)];
    while let Some((mut bits, state, mut count)) = stack.pop() {
        // Take every get that is legal now and may go now: it only frees others.
        loop {
            frontier.candidates(&bits, &mut candidates);
            let greedy = candidates
                .iter()
                .find(|&&i| matches!(ops[i].kind, Kind::Read(Obs::Is(s)) if s == state));
            match greedy {
                Some(&i) => {
                    set(&mut bits, i);
                    count += 1;
                }
                None => break,
            }
        }
        if count == required {
            return true;
        }
        // Membership only: the set's iteration order never reaches a result.
        if !seen.insert((bits.clone(), state)) {
            continue;
        }
        // Pushed in reverse so that the earliest-invoked candidate is tried first.
        for &i in candidates.iter().rev() {
            let next = match ops[i].kind {
                Kind::Write(s) => s,
                // Legal reads were taken greedily above; the rest are illegal here.
                Kind::Read(_) => continue,
            };
            let mut child = bits.clone();
            set(&mut child, i);
            stack.push((child, next, count + usize::from(ops[i].required())));
        }
    }
    false
}

fn set(bits: &mut [u64], i: usize) {
    bits[i / 64] |= 1 << (i % 64);
}

fn is_set(bits: &[u64], i: usize) -> bool {
    bits[i / 64] & (1 << (i % 64)) != 0
}

/// Finds which operations may be linearized next without scanning the whole history: only a
/// window around the earliest unlinearized acknowledged operation, plus the (few) failed writes.
struct Frontier<'a> {
    ops: &'a [&'a KeyOp],
    words: usize,
    /// Bit i set when op i is acknowledged (must be linearized, within its interval).
    required: Vec<u64>,
    /// Failed or pending writes: they never complete, so they may stay behind the window.
    info: Vec<usize>,
}

impl<'a> Frontier<'a> {
    fn new(ops: &'a [&'a KeyOp]) -> Self {
        let words = ops.len().div_ceil(64).max(1);
        let mut required = vec![0; words];
        let mut info = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            if op.required() {
                set(&mut required, i);
            } else {
                info.push(i);
            }
        }
        Frontier {
            ops,
            words,
            required,
            info,
        }
    }

    /// Fills `out` with the unlinearized operations that no other unlinearized acknowledged
    /// operation must precede (none completed before they were invoked), in invocation order.
    fn candidates(&self, bits: &[u64], out: &mut Vec<usize>) {
        out.clear();
        // The earliest unlinearized acknowledged operation; everything before it that is not
        // linearized is a failed write, and all of those are candidates (invoked earlier than
        // any acknowledged operation's completion).
        let first = self
            .required
            .iter()
            .zip(bits)
            .enumerate()
            .find(|(_, (r, b))| *r & !*b != 0)
            .map(|(w, (r, b))| w * 64 + (r & !b).trailing_zeros() as usize)
            .unwrap_or(self.ops.len());
        out.extend(
            self.info
                .iter()
                .copied()
                .filter(|&i| i < first && !is_set(bits, i)),
        );
        // The horizon is the earliest completion among unlinearized acknowledged operations; an
        // operation invoked after it must wait. Ops are sorted by invocation, so the scan stops
        // at the first one invoked after the running minimum.
        let start = out.len();
        let mut horizon = u64::MAX;
        let mut i = first;
        while i < self.ops.len() && self.ops[i].invoke <= horizon {
            if !is_set(bits, i) {
                if let Some(done) = self.ops[i].complete {
                    horizon = horizon.min(done);
                }
                out.push(i);
            }
            i += 1;
        }
        // The horizon may have dropped after some were pushed: drop those invoked after it.
        let mut k = start;
        for j in start..out.len() {
            if self.ops[out[j]].invoke <= horizon {
                out[k] = out[j];
                k += 1;
            }
        }
        out.truncate(k);
    }
}
/// One or two sentences on a minimal core.
fn explain(key: &str, core: &[&Event]) -> String {
    let reads: Vec<String> = core
        .iter()
        .filter_map(|e| match &e.result {
            OpResult::Read { values, .. } if matches!(e.op, Op::Get) => {
                let live: Vec<String> = values
                    .iter()
                    .filter_map(|i| i.value.as_ref().map(|v| format!("{v:?}")))
                    .collect();
                let saw = if live.is_empty() {
                    "nothing".to_string()
                } else {
                    live.join(" and ")
                };
                Some(format!("get #{} returned {saw}", e.id))
            }
            _ => None,
        })
        .collect();
    let what = if reads.is_empty() {
        String::new()
    } else {
        format!(" ({})", reads.join(", "))
    };
    let why = if reads.iter().any(|r| r.contains(" and ")) {
        "a register holds one value, never siblings"
    } else {
        "a read saw a value that was not the latest write at any instant it could take effect"
    };
    format!(
        "no single order of these {} operations on `{key}` respects both real time and a \
         register's rules{what}: {why}.",
        core.len()
    )
}
