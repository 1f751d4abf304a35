//! The recorded history: what every client asked, when, and what it was told.
//!
//! The host (the simulator or a real cluster's test) records one [`Event`] per client operation:
//! its invocation time, its completion time and its result. The checkers never see messages or
//! replicas' internals, only this outside view, which is what makes them usable on any Dynamo.
//!
//! Results follow the quorum rules of §4.5: a put or delete is [`OpResult::Written`] once W
//! replicas acknowledged it, a get is [`OpResult::Read`] once R replied. An operation that
//! [`Failed`](OpResult::Failed) or never completed ([`Pending`](OpResult::Pending)) is ambiguous:
//! a write may still have reached some replica and may surface later, so the checkers treat it as
//! "maybe applied", never as "not applied".

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::clock::{Clock, format_clock};

/// One version as a client or replica sees it. `value: None` is a tombstone (a delete).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Item {
    /// The value, or `None` for a tombstone.
    pub value: Option<String>,
    /// The version's vector clock.
    pub clock: Clock,
}

/// What a client asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Write `value`. Without a context the write is concurrent with whatever is stored.
    Put {
        /// The value written.
        value: String,
        /// The context of the read it follows (read-modify-write), if any.
        context: Option<Clock>,
    },
    /// Delete what `context` covers (Dynamo's delete is a put of a tombstone).
    Delete {
        /// The context of the read it follows.
        context: Clock,
    },
    /// Read every sibling.
    Get,
}

/// What the client was told.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpResult {
    /// A put/delete acknowledged by the quorum: the clock of the version it created.
    Written {
        /// The new version's clock.
        clock: Clock,
    },
    /// A get answered: the live siblings (tombstones hidden) and the context (merge of ALL
    /// versions incl. tombstones the coordinator saw).
    Read {
        /// The live siblings.
        values: Vec<Item>,
        /// The context to pass to a following put or delete.
        context: Clock,
    },
    /// Failed without a quorum: a failed write MAY still have been stored somewhere.
    Failed,
    /// Never answered before the history ended (treat like Failed: maybe applied).
    Pending,
}

/// One client operation from invocation to completion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Unique, in invocation order.
    pub id: usize,
    /// The client that issued it; a client has at most one operation outstanding.
    pub client: usize,
    /// The coordinator the client sent it to.
    pub node: String,
    /// The key it is about.
    pub key: String,
    /// What was asked.
    pub op: Op,
    /// When the client sent it (milliseconds, simulated or since start).
    pub invoke_ms: u64,
    /// When the client got its answer; `None` when Pending.
    pub complete_ms: Option<u64>,
    /// What the client was told.
    pub result: OpResult,
}

/// Everything the clients did, in invocation order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// The events, ids unique.
    pub events: Vec<Event>,
}

/// Final state after quiescence: key → replica node → the sibling set it stores (tombstones
/// included).
pub type ReplicaState = BTreeMap<String, BTreeMap<String, Vec<Item>>>;

impl History {
    /// The event with this id, if any.
    pub fn event(&self, id: usize) -> Option<&Event> {
        self.events.iter().find(|e| e.id == id)
    }

    /// One line per event of `ids`, in the order given, for reports:
    /// `[  120 ms -> 160 ms] client 2 via B: put cart=socks ctx {A:1} -> written {A:2}`.
    /// An id not in the history gets a line saying so.
    pub fn render(&self, ids: &[usize]) -> String {
        let by_id: BTreeMap<usize, &Event> = self.events.iter().map(|e| (e.id, e)).collect();
        let mut out = String::new();
        for id in ids {
            match by_id.get(id) {
                Some(event) => out.push_str(&render_event(event)),
                None => {
                    let _ = write!(out, "event {id}: not in the history");
                }
            }
            out.push('\n');
        }
        out
    }
}

/// Renders one event on one line (see [`History::render`]).
pub fn render_event(e: &Event) -> String {
    let complete = match e.complete_ms {
        Some(ms) => format!("{ms} ms"),
        None => "pending".to_string(),
    };
    let op = match &e.op {
        Op::Put { value, context } => {
            let ctx = context
                .as_ref()
                .map(|c| format!(" ctx {}", format_clock(c)))
                .unwrap_or_default();
            format!("put {}={value}{ctx}", e.key)
        }
        Op::Delete { context } => format!("delete {} ctx {}", e.key, format_clock(context)),
        Op::Get => format!("get {}", e.key),
    };
    format!(
        "[{:>5} ms -> {complete}] client {} via {}: {op} -> {}",
        e.invoke_ms,
        e.client,
        e.node,
        render_result(&e.result)
    )
}

fn render_result(result: &OpResult) -> String {
    match result {
        OpResult::Written { clock } => format!("written {}", format_clock(clock)),
        OpResult::Read { values, context } => {
            let items: Vec<String> = values.iter().map(render_item).collect();
            format!("read [{}] ctx {}", items.join(", "), format_clock(context))
        }
        OpResult::Failed => "failed".to_string(),
        OpResult::Pending => "pending".to_string(),
    }
}

/// Renders a version as `socks {A:2}`, a tombstone as `(deleted) {A:3}`.
pub fn render_item(item: &Item) -> String {
    let value = item.value.as_deref().unwrap_or("(deleted)");
    format!("{value} {}", format_clock(&item.clock))
}

/// The clock an acknowledged put or delete created, or `None` for anything else.
pub(crate) fn acked_write(e: &Event) -> Option<&Clock> {
    match (&e.op, &e.result) {
        (Op::Put { .. } | Op::Delete { .. }, OpResult::Written { clock }) => Some(clock),
        _ => None,
    }
}

/// A short description of a write for explanations: `put "socks"` or `delete`.
pub(crate) fn describe_write(e: &Event) -> String {
    match &e.op {
        Op::Put { value, .. } => format!("put {value:?} (event #{})", e.id),
        Op::Delete { .. } => format!("delete (event #{})", e.id),
        Op::Get => format!("get (event #{})", e.id),
    }
}
