//! How a node is set up: its name, the members, N/R/W, the mode and the timers.

use std::collections::BTreeSet;

use dynamo_common::NodeId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::QuorumConfig;

/// The consistency mode of the whole cluster.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Dynamo: sloppy quorum with fallbacks and hints, always writeable.
    #[default]
    Eventual,
    /// No fallbacks; a majority read before each write and a write-back before each read
    /// returns, so each key is linearizable.
    Strict,
}

/// A node's configuration. Every node of a cluster gets the same one, except `name`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// This node.
    pub name: NodeId,
    /// The members at start, this node included. A node that joins later lists the members
    /// it joins plus itself; the others learn of it by gossip.
    pub members: BTreeSet<NodeId>,
    /// N, R, W (W and R are ignored in strict mode, which uses a majority of N).
    pub quorum: QuorumConfig,
    /// The consistency mode.
    pub mode: Mode,
    /// Tokens per node on the ring (stage 1).
    pub vnodes: u32,
    /// How long a coordinator waits for one reply, in ms (stage 3's failure detector).
    pub timeout_ms: u64,
    /// The host calls `tick` this often, in ms.
    pub tick_ms: u64,
    /// Gossip suspects a member whose heartbeat has not advanced for this long, in ms.
    pub suspect_after_ms: u64,
    /// A tombstone held by every primary is reaped once this long has passed since it was
    /// written, in ms.
    pub tombstone_grace_ms: u64,
    /// Depth of the Merkle trees anti-entropy builds (stage 5).
    pub merkle_depth: u32,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            name: NodeId::new("A"),
            members: BTreeSet::from([NodeId::new("A")]),
            quorum: QuorumConfig { n: 1, r: 1, w: 1 },
            mode: Mode::Eventual,
            vnodes: 8,
            timeout_ms: 100,
            tick_ms: 100,
            suspect_after_ms: 500,
            tombstone_grace_ms: 1_000,
            merkle_depth: 4,
        }
    }
}

/// What a client may choose per request: its own read or write quorum (the paper's §4.5 lets
/// each request trade consistency for latency). `None` takes the node's configured R or W. The
/// host passes one with every client operation; [`NodeConfig::quorum_for`] turns it into the R
/// and W the operation uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestOptions {
    /// Replies a get waits for, instead of the configured R.
    #[serde(default)]
    pub r: Option<usize>,
    /// Acks a put or delete waits for, instead of the configured W.
    #[serde(default)]
    pub w: Option<usize>,
}

/// A configuration that cannot work.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigError {
    /// N, R or W is out of range (stage 2's rules).
    #[error(transparent)]
    Quorum(#[from] quorum::ConfigError),
    /// `name` is not among `members`.
    #[error("node {0} is not among its own members")]
    NotAMember(NodeId),
    /// A timer is 0.
    #[error("{0} must be at least 1 ms")]
    ZeroTimer(&'static str),
    /// The ring refused the setup (0 vnodes).
    #[error(transparent)]
    Ring(#[from] hash_ring::RingError),
    /// The Merkle depth is larger than stage 5's maximum.
    #[error("merkle depth {0} is larger than {max}", max = anti_entropy::MAX_DEPTH)]
    MerkleDepth(u32),
}

impl NodeConfig {
    /// Checks the configuration: N/R/W as stage 2 does against the members, the node among the
    /// members, timers at least 1 ms, vnodes at least 1, the Merkle depth within stage 5's.
    ///
    /// # Errors
    /// The first problem found, in that order.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let q = self.quorum;
        let nodes = self.members.len();
        if q.n == 0 {
            return Err(quorum::ConfigError::ZeroReplicas.into());
        }
        if q.n > nodes {
            return Err(quorum::ConfigError::MoreReplicasThanNodes { n: q.n, nodes }.into());
        }
        if q.r == 0 || q.r > q.n {
            return Err(quorum::ConfigError::ReadQuorumOutOfRange { r: q.r, n: q.n }.into());
        }
        if q.w == 0 || q.w > q.n {
            return Err(quorum::ConfigError::WriteQuorumOutOfRange { w: q.w, n: q.n }.into());
        }
        if !self.members.contains(&self.name) {
            return Err(ConfigError::NotAMember(self.name.clone()));
        }
        for (name, ms) in [
            ("timeout_ms", self.timeout_ms),
            ("tick_ms", self.tick_ms),
            ("suspect_after_ms", self.suspect_after_ms),
        ] {
            if ms == 0 {
                return Err(ConfigError::ZeroTimer(name));
            }
        }
        if self.vnodes == 0 {
            return Err(hash_ring::RingError::ZeroVnodes.into());
        }
        if self.merkle_depth > anti_entropy::MAX_DEPTH {
            return Err(ConfigError::MerkleDepth(self.merkle_depth));
        }
        Ok(())
    }

    /// The N, R and W one client request uses: `options`' R and W where set, the configured
    /// ones otherwise, each checked as stage 2 checks them (`1 <= R, W <= N`).
    ///
    /// # Errors
    /// [`ConfigError::Quorum`] naming the quorum out of range.
    pub fn quorum_for(&self, options: RequestOptions) -> Result<QuorumConfig, ConfigError> {
        let n = self.quorum.n;
        let r = options.r.unwrap_or(self.quorum.r);
        let w = options.w.unwrap_or(self.quorum.w);
        if r == 0 || r > n {
            return Err(quorum::ConfigError::ReadQuorumOutOfRange { r, n }.into());
        }
        if w == 0 || w > n {
            return Err(quorum::ConfigError::WriteQuorumOutOfRange { w, n }.into());
        }
        Ok(QuorumConfig { n, r, w })
    }

    /// A majority of N: strict mode's read and write quorum.
    pub fn majority(&self) -> usize {
        self.quorum.n / 2 + 1
    }
}
