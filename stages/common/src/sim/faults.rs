//! Crashes, recoveries and partitions (stage 3), applied now or at a given simulated time.
//!
//! A crashed node keeps its store and its hints (Dynamo's failures are mostly transient, §4.6):
//! it only stops answering. A partition cuts a set of nodes off from everyone outside it, the
//! coordinator included; a message across the cut is lost and its sender times out, since no
//! refusal can cross a partition either.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use tokio::time::sleep_until;

use super::{Network, StoredObject};
use crate::NodeId;

/// Something that happens to the cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultEvent {
    /// The node goes down: it answers nothing until it recovers.
    Crash(NodeId),
    /// The node is back, with everything it held when it crashed.
    Recover(NodeId),
    /// These nodes are cut off from everyone else (replacing any earlier partition).
    Partition(BTreeSet<NodeId>),
    /// The partition heals: every node can reach every other again.
    Heal,
}

impl std::fmt::Display for FaultEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FaultEvent::Crash(n) => write!(f, "crash {n}"),
            FaultEvent::Recover(n) => write!(f, "recover {n}"),
            FaultEvent::Partition(ns) => {
                let ns: Vec<&str> = ns.iter().map(NodeId::as_str).collect();
                write!(f, "partition {{{}}}", ns.join(", "))
            }
            FaultEvent::Heal => f.write_str("heal"),
        }
    }
}

impl<O: StoredObject> Network<O> {
    /// Applies `event` now.
    pub fn apply(&self, event: &FaultEvent) {
        let mut s = self.lock();
        match event {
            FaultEvent::Crash(n) => {
                s.config.down.insert(n.clone());
            }
            FaultEvent::Recover(n) => {
                s.config.down.remove(n);
            }
            FaultEvent::Partition(ns) => s.config.partitioned = ns.clone(),
            FaultEvent::Heal => s.config.partitioned.clear(),
        }
    }

    /// Applies `event` at simulated time `at_ms` (now, if that has passed). The event happens
    /// while the runtime runs: during an operation, or while a case waits.
    pub fn schedule(&self, at_ms: u64, event: FaultEvent) {
        let net = self.clone();
        let at = self.at(at_ms);
        tokio::spawn(async move {
            sleep_until(at).await;
            net.apply(&event);
        });
    }

    /// Whether `node` is down right now.
    pub fn is_down(&self, node: &NodeId) -> bool {
        self.lock().config.down.contains(node)
    }

    /// The nodes cut off by the current partition (empty when there is none).
    pub fn partitioned(&self) -> BTreeSet<NodeId> {
        self.lock().config.partitioned.clone()
    }
}
