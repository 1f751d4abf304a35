//! Builders that keep hand-written histories short: ids follow the order of the calls, which the
//! tests keep equal to invocation order.

use std::collections::BTreeMap;

use dynamo_checkers::{Clock, Event, History, Item, Op, OpResult};

/// A clock from `("A", 1)` pairs.
pub fn clock(entries: &[(&str, u64)]) -> Clock {
    entries.iter().map(|(a, c)| (a.to_string(), *c)).collect()
}

/// A live version.
pub fn item(value: &str, entries: &[(&str, u64)]) -> Item {
    Item {
        value: Some(value.to_string()),
        clock: clock(entries),
    }
}

/// A tombstone.
pub fn tombstone(entries: &[(&str, u64)]) -> Item {
    Item {
        value: None,
        clock: clock(entries),
    }
}

/// Final reads of one key.
pub fn finals(key: &str, items: Vec<Item>) -> BTreeMap<String, Vec<Item>> {
    BTreeMap::from([(key.to_string(), items)])
}

#[derive(Default)]
pub struct Builder {
    events: Vec<Event>,
}

impl Builder {
    fn push(
        &mut self,
        client: usize,
        key: &str,
        op: Op,
        at: (u64, u64),
        result: OpResult,
    ) -> usize {
        let id = self.events.len();
        let complete_ms = (result != OpResult::Pending).then_some(at.1);
        self.events.push(Event {
            id,
            client,
            node: ["A", "B", "C"][client % 3].to_string(),
            key: key.to_string(),
            op,
            invoke_ms: at.0,
            complete_ms,
            result,
        });
        id
    }

    /// An acknowledged put without context that created `created`.
    pub fn put(
        &mut self,
        client: usize,
        key: &str,
        value: &str,
        at: (u64, u64),
        created: &[(&str, u64)],
    ) -> usize {
        let op = Op::Put {
            value: value.to_string(),
            context: None,
        };
        self.push(
            client,
            key,
            op,
            at,
            OpResult::Written {
                clock: clock(created),
            },
        )
    }

    /// An acknowledged put after a read with context `ctx`.
    pub fn put_ctx(
        &mut self,
        client: usize,
        key: &str,
        value: &str,
        ctx: &[(&str, u64)],
        at: (u64, u64),
        created: &[(&str, u64)],
    ) -> usize {
        let op = Op::Put {
            value: value.to_string(),
            context: Some(clock(ctx)),
        };
        self.push(
            client,
            key,
            op,
            at,
            OpResult::Written {
                clock: clock(created),
            },
        )
    }

    /// A put that failed without a quorum.
    pub fn put_failed(&mut self, client: usize, key: &str, value: &str, at: (u64, u64)) -> usize {
        let op = Op::Put {
            value: value.to_string(),
            context: None,
        };
        self.push(client, key, op, at, OpResult::Failed)
    }

    /// An acknowledged delete with context `ctx` that created tombstone `created`.
    pub fn delete(
        &mut self,
        client: usize,
        key: &str,
        ctx: &[(&str, u64)],
        at: (u64, u64),
        created: &[(&str, u64)],
    ) -> usize {
        let op = Op::Delete {
            context: clock(ctx),
        };
        self.push(
            client,
            key,
            op,
            at,
            OpResult::Written {
                clock: clock(created),
            },
        )
    }

    /// A get that returned these live values (clocks do not matter to linearizability).
    pub fn get(&mut self, client: usize, key: &str, values: &[&str], at: (u64, u64)) -> usize {
        let values = values.iter().map(|v| item(v, &[])).collect();
        self.push(
            client,
            key,
            Op::Get,
            at,
            OpResult::Read {
                values,
                context: Clock::new(),
            },
        )
    }

    pub fn history(&self) -> History {
        History {
            events: self.events.clone(),
        }
    }
}
