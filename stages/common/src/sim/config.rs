//! How a case shapes the network: latencies, links, down nodes, drops and the timeout.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::NodeId;

/// The kind of a message, as the trace shows it and as a [`DropRule`] selects it.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum MessageKind {
    /// A write request: store this object under this key.
    Put,
    /// Read repair (stage 6): the coordinator, unasked, sends a stale replica the reconciled
    /// object. The replica merges it as it would a put and answers with an ack.
    Repair,
    /// A replica's answer to a put: stored.
    Ack,
    /// A read request: what do you hold for this key?
    Get,
    /// A replica's answer to a get: the object it holds, or nothing.
    Reply,
    /// A sloppy write to a fallback (stage 3): keep this object as a hint for a down primary.
    Hint,
    /// A fallback delivering a hint to the primary it names (stage 3).
    Handoff,
    /// A node's view of the membership and its heartbeats, sent to a peer (stage 7).
    Gossip,
    /// Anti-entropy between two replicas of a range: Merkle hashes, then differing keys
    /// (stage 7, using stage 5).
    Sync,
    /// Keys handed to a node that joins, or by a node that leaves (stage 7, using stage 1).
    Transfer,
}

impl MessageKind {
    /// The kind of the envelope that answers a request of this kind: the one convention every
    /// host follows (the grader's simulator, its traces and message counts, and `cargo dynamo`'s
    /// peer protocol and dashboard). A get is answered by a reply; gossip and anti-entropy by
    /// their own kind (their answers carry a view, hashes or entries); everything else, writes
    /// and transfers alike, by an ack (a transfer's refusal is an ack-kind answer with a
    /// `Refused` body), so counting `transfer` messages counts the transfers sent.
    pub fn answer(self) -> MessageKind {
        match self {
            MessageKind::Get => MessageKind::Reply,
            MessageKind::Gossip | MessageKind::Sync => self,
            _ => MessageKind::Ack,
        }
    }
}

/// Parses the names [`MessageKind`]'s `Display` writes (`put`, `ack`, `transfer`, ...).
impl std::str::FromStr for MessageKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const ALL: [MessageKind; 10] = [
            MessageKind::Put,
            MessageKind::Repair,
            MessageKind::Ack,
            MessageKind::Get,
            MessageKind::Reply,
            MessageKind::Hint,
            MessageKind::Handoff,
            MessageKind::Gossip,
            MessageKind::Sync,
            MessageKind::Transfer,
        ];
        ALL.into_iter()
            .find(|kind| kind.to_string() == s)
            .ok_or_else(|| format!("unknown message kind `{s}`"))
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MessageKind::Put => "put",
            MessageKind::Repair => "repair",
            MessageKind::Ack => "ack",
            MessageKind::Get => "get",
            MessageKind::Reply => "reply",
            MessageKind::Hint => "hint",
            MessageKind::Handoff => "handoff",
            MessageKind::Gossip => "gossip",
            MessageKind::Sync => "sync",
            MessageKind::Transfer => "transfer",
        })
    }
}

/// A one-way link whose latency is set explicitly, overriding the sum of the two ends'.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// Sending end.
    pub from: NodeId,
    /// Receiving end.
    pub to: NodeId,
    /// One-way latency in simulated milliseconds.
    pub ms: u64,
}

/// Drops every message that matches all the fields given (a rule with no fields drops all).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DropRule {
    /// Only messages sent by this endpoint.
    #[serde(default)]
    pub from: Option<NodeId>,
    /// Only messages sent to this endpoint.
    #[serde(default)]
    pub to: Option<NodeId>,
    /// Only messages of this kind.
    #[serde(default)]
    pub kind: Option<MessageKind>,
}

impl DropRule {
    /// Whether the rule drops a message.
    pub fn matches(&self, from: &NodeId, to: &NodeId, kind: MessageKind) -> bool {
        self.from.as_ref().is_none_or(|f| f == from)
            && self.to.as_ref().is_none_or(|t| t == to)
            && self.kind.is_none_or(|k| k == kind)
    }
}

/// Everything that shapes a simulated network. `Default` is a perfect network: 10 ms per node,
/// nothing down, nothing dropped, a 1000 ms timeout.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// The coordinator's name in the trace.
    pub coordinator: NodeId,
    /// One-way latency of each node, in ms; nodes not listed have `default_latency_ms`.
    pub latency_ms: BTreeMap<NodeId, u64>,
    /// Latency of nodes not in `latency_ms` (the coordinator's is 0 unless listed).
    pub default_latency_ms: u64,
    /// Links whose one-way latency is set explicitly.
    pub links: Vec<Link>,
    /// Nodes that are down: they never answer.
    pub down: BTreeSet<NodeId>,
    /// Messages that are lost.
    pub drops: Vec<DropRule>,
    /// Every other message is also lost with this probability, drawn from `seed`.
    pub drop_rate: f64,
    /// Seed of the only random numbers in the network.
    pub seed: u64,
    /// How long a sender waits for a reply, in ms.
    pub timeout_ms: u64,
    /// Nodes cut off by a partition (stage 3): a message between a node inside and an endpoint
    /// outside (the coordinator included) is lost; messages within either side arrive.
    #[serde(default)]
    pub partitioned: BTreeSet<NodeId>,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            coordinator: NodeId::new("coordinator"),
            latency_ms: BTreeMap::new(),
            default_latency_ms: 10,
            links: Vec::new(),
            down: BTreeSet::new(),
            drops: Vec::new(),
            drop_rate: 0.0,
            seed: 0,
            timeout_ms: 1000,
            partitioned: BTreeSet::new(),
        }
    }
}

impl NetworkConfig {
    /// One-way latency of a message from `from` to `to`.
    pub fn delay(&self, from: &NodeId, to: &NodeId) -> u64 {
        if let Some(link) = self.links.iter().find(|l| l.from == *from && l.to == *to) {
            return link.ms;
        }
        self.latency_of(from) + self.latency_of(to)
    }

    /// Whether a partition separates `from` and `to`.
    pub fn cut(&self, from: &NodeId, to: &NodeId) -> bool {
        self.partitioned.contains(from) != self.partitioned.contains(to)
    }

    fn latency_of(&self, node: &NodeId) -> u64 {
        match self.latency_ms.get(node) {
            Some(ms) => *ms,
            None if *node == self.coordinator => 0,
            None => self.default_latency_ms,
        }
    }
}

#[cfg(test)]
mod kind_tests {
    use super::MessageKind;

    #[test]
    fn every_kind_parses_back_from_its_name() {
        for name in [
            "put", "repair", "ack", "get", "reply", "hint", "handoff", "gossip", "sync", "transfer",
        ] {
            let kind: MessageKind = name.parse().expect("a kind's name parses");
            assert_eq!(kind.to_string(), name);
        }
        assert!("puts".parse::<MessageKind>().is_err());
    }

    #[test]
    fn answers_follow_the_hosts_convention() {
        assert_eq!(MessageKind::Get.answer(), MessageKind::Reply);
        assert_eq!(MessageKind::Gossip.answer(), MessageKind::Gossip);
        assert_eq!(MessageKind::Sync.answer(), MessageKind::Sync);
        // Counting `transfer` messages counts the transfers sent, not their answers.
        assert_eq!(MessageKind::Transfer.answer(), MessageKind::Ack);
        assert_eq!(MessageKind::Put.answer(), MessageKind::Ack);
        assert_eq!(MessageKind::Hint.answer(), MessageKind::Ack);
    }
}
