//! The record of every message the network carried, in the order they were sent.
//!
//! It serializes (serde, JSON) as the sequence diagram of [`crate::diagram`] reads it; that
//! module documents the format.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::MessageKind;
use crate::NodeId;
use crate::request::RequestId;

/// What became of a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fate {
    /// Arrived at `at_ms`.
    Arrives {
        /// Simulated ms since the network started.
        at_ms: u64,
    },
    /// Arrived at `at_ms`, after the sender had stopped waiting (timed out or returned).
    ArrivesUnheard {
        /// Simulated ms since the network started.
        at_ms: u64,
    },
    /// The receiver is down.
    LostNodeDown,
    /// A drop rule or the drop rate took it.
    Dropped,
    /// A partition separates sender and receiver (stage 3).
    Partitioned,
}

/// One message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceEntry {
    /// When it was sent, in simulated ms since the network started.
    pub sent_ms: u64,
    /// Sender.
    pub from: NodeId,
    /// Receiver.
    pub to: NodeId,
    /// Put, ack, get or reply.
    pub kind: MessageKind,
    /// What it carries: `user-1 = blue@2`, `user-1`, `user-1 not found`.
    pub detail: String,
    /// What became of it.
    pub fate: Fate,
    /// The client request it belongs to (stage 7's hosts set it; see [`crate::request`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestId>,
}

impl fmt::Display for TraceEntry {
    /// `   20 ms  coordinator -> A  put user-1 = blue@2  arrives 30 ms`, and ` [A#3]` at the end
    /// when it belongs to client request `A#3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fate = match &self.fate {
            Fate::Arrives { at_ms } => format!("arrives {at_ms} ms"),
            Fate::ArrivesUnheard { at_ms } => format!("arrives {at_ms} ms, nobody waiting"),
            Fate::LostNodeDown => format!("lost: {} is down", self.to),
            Fate::Dropped => "lost: dropped".to_string(),
            Fate::Partitioned => "lost: partitioned".to_string(),
        };
        write!(
            f,
            "{:>5} ms  {} -> {}  {} {}  {fate}",
            self.sent_ms, self.from, self.to, self.kind, self.detail
        )?;
        match &self.request {
            Some(id) => write!(f, "  [{id}]"),
            None => Ok(()),
        }
    }
}

/// Every message, in send order (ties in time keep the order they were sent in, which the
/// single-threaded paused runtime makes the same on every run).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace(pub Vec<TraceEntry>);

impl Trace {
    /// One line per message.
    pub fn lines(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for entry in &self.0 {
            writeln!(f, "{entry}")?;
        }
        Ok(())
    }
}
