//! Seeded random register histories, for this crate's tests and benchmarks (and any host that
//! wants a known-good history to test its recorder against).
//!
//! The generator builds histories that are linearizable *by construction*: every operation gets
//! a random invocation and completion, a linearization point is drawn between them, and the
//! results come from replaying a real register in the order of those points. Failed writes get a
//! point too and are applied or not at random, exactly the ambiguity a failed quorum write has.
//! [`with_stale_read`] then breaks such a history on purpose. Randomness is a tiny xorshift seeded
//! by the caller: the same seed gives the same history on every machine.

use std::collections::BTreeMap;

use crate::clock::Clock;
use crate::history::{Event, History, Item, Op, OpResult};

/// Marsaglia's xorshift64: tiny, seeded, good enough to shuffle test histories.
#[derive(Clone, Debug)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator from `seed` (0 is replaced: xorshift would stay at 0 forever).
    pub fn new(seed: u64) -> Self {
        XorShift(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// The shape of a generated history.
#[derive(Clone, Debug)]
pub struct Shape {
    /// The one key every operation is about.
    pub key: String,
    /// How many operations in all.
    pub ops: usize,
    /// How many clients issue them; 1 gives a sequential history (no overlap).
    pub clients: usize,
    /// Out of 100, how many writes fail (and then are applied or not, at random).
    pub fail_percent: u64,
}

/// A linearizable single-key history of `shape`, drawn from `seed`.
pub fn register_history(shape: &Shape, seed: u64) -> History {
    let mut rng = XorShift::new(seed);
    let clients = shape.clients.max(1);
    let mut free_at = vec![0u64; clients];
    // (event, linearization point, applied) in invocation order.
    let mut drafts: Vec<(Event, u64, bool)> = Vec::with_capacity(shape.ops);
    for id in 0..shape.ops {
        // The client that is free first issues next, so ids follow invocation order.
        let client = (0..clients).min_by_key(|&c| (free_at[c], c)).unwrap_or(0);
        let invoke = free_at[client] + 1 + rng.below(5);
        let complete = invoke + 1 + rng.below(20);
        free_at[client] = complete;
        let point = invoke + rng.below(complete - invoke + 1);
        let op = match rng.below(10) {
            0..=3 => Op::Put {
                value: format!("v{id}"),
                context: None,
            },
            4 => Op::Delete {
                context: Clock::new(),
            },
            _ => Op::Get,
        };
        let fails = !matches!(op, Op::Get) && rng.below(100) < shape.fail_percent;
        let applied = !fails || rng.below(2) == 0;
        let event = Event {
            id,
            client,
            node: ["A", "B", "C"][client % 3].to_string(),
            key: shape.key.clone(),
            op,
            invoke_ms: invoke,
            complete_ms: Some(complete),
            result: if fails {
                OpResult::Failed
            } else {
                OpResult::Pending
            },
        };
        drafts.push((event, point, applied));
    }
    // Replay a real register in linearization-point order to fill in the results.
    let mut order: Vec<usize> = (0..drafts.len()).collect();
    order.sort_by_key(|&i| (drafts[i].1, i));
    let mut state: Option<Item> = None;
    let mut counter = 0u64;
    for i in order {
        let (event, _, applied) = &mut drafts[i];
        if !*applied {
            continue;
        }
        match &event.op {
            Op::Get => {
                event.result = OpResult::Read {
                    values: state
                        .iter()
                        .filter(|s| s.value.is_some())
                        .cloned()
                        .collect(),
                    context: state.as_ref().map(|s| s.clock.clone()).unwrap_or_default(),
                };
            }
            Op::Put { value, .. } => {
                counter += 1;
                let clock: Clock = BTreeMap::from([("A".to_string(), counter)]);
                state = Some(Item {
                    value: Some(value.clone()),
                    clock: clock.clone(),
                });
                if event.result != OpResult::Failed {
                    event.result = OpResult::Written { clock };
                }
            }
            Op::Delete { .. } => {
                counter += 1;
                let clock: Clock = BTreeMap::from([("A".to_string(), counter)]);
                state = Some(Item {
                    value: None,
                    clock: clock.clone(),
                });
                if event.result != OpResult::Failed {
                    event.result = OpResult::Written { clock };
                }
            }
        }
    }
    History {
        events: drafts.into_iter().map(|(e, _, _)| e).collect(),
    }
}

/// Makes one get of a *sequential*, all-acknowledged history return an older state than the one
/// it must see, so the history is certainly not linearizable. Returns the id of the changed get
/// with the new history, or `None` if no get follows a change of state.
pub fn with_stale_read(history: &History, seed: u64) -> Option<(usize, History)> {
    let mut rng = XorShift::new(seed);
    // Replay in invocation order (the history is sequential), remembering every state so far.
    let mut states: Vec<Option<String>> = vec![None];
    let mut candidates: Vec<(usize, Vec<Option<String>>)> = Vec::new();
    for (index, event) in history.events.iter().enumerate() {
        match (&event.op, &event.result) {
            (Op::Put { value, .. }, OpResult::Written { .. }) => states.push(Some(value.clone())),
            (Op::Delete { .. }, OpResult::Written { .. }) => states.push(None),
            (Op::Get, OpResult::Read { .. }) => {
                let current = states.last().cloned().flatten();
                let mut stale: Vec<Option<String>> =
                    states.iter().filter(|s| **s != current).cloned().collect();
                stale.dedup();
                if !stale.is_empty() {
                    candidates.push((index, stale));
                }
            }
            _ => {}
        }
    }
    if candidates.is_empty() {
        return None;
    }
    let (index, stale) = &candidates[rng.below(candidates.len() as u64) as usize];
    let old = stale[rng.below(stale.len() as u64) as usize].clone();
    let mut history = history.clone();
    let event = &mut history.events[*index];
    event.result = OpResult::Read {
        values: old
            .map(|value| Item {
                value: Some(value),
                clock: Clock::new(),
            })
            .into_iter()
            .collect(),
        context: Clock::new(),
    };
    Some((event.id, history))
}

/// Makes the last get of `history` return the first value ever put: stale, and so not
/// linearizable, whenever a later write completed before that get began. Unlike
/// [`with_stale_read`] it works on concurrent histories; the caller checks the verdict.
pub fn with_late_stale_read(history: &History) -> History {
    let mut history = history.clone();
    let first = history.events.iter().find_map(|e| match &e.op {
        Op::Put { value, .. } => Some(value.clone()),
        _ => None,
    });
    let last = history
        .events
        .iter_mut()
        .rev()
        .find(|e| matches!(e.result, OpResult::Read { .. }));
    if let (Some(value), Some(get)) = (first, last) {
        get.result = OpResult::Read {
            values: vec![Item {
                value: Some(value),
                clock: Clock::new(),
            }],
            context: Clock::new(),
        };
    }
    history
}
