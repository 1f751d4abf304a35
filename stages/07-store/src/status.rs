//! What a node shows of itself: for dashboards, metrics and the grader's checkers.

use std::collections::BTreeMap;

use dynamo_common::NodeId;
use serde::{Deserialize, Serialize};

/// How a node's gossip sees a member.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Liveness {
    /// Its heartbeat advanced recently.
    Alive,
    /// Its heartbeat has not advanced for `suspect_after_ms`.
    Suspected,
    /// It left the cluster.
    Left,
}

/// A node's view of itself and the cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// Every member this node knows, with its liveness as this node's gossip sees it.
    pub members: BTreeMap<NodeId, Liveness>,
    /// How many keys this node stores (tombstones included).
    pub keys: usize,
    /// How many tombstones among them.
    pub tombstones: usize,
    /// Hints waiting, per primary they are for.
    pub hints: BTreeMap<NodeId, usize>,
}
